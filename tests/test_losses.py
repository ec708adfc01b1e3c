"""Loss modules: reduction checks, NumPy references, PyTorch parity of values and gradients."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import requires_torch

import minigrad as mg
from minigrad import nn
from minigrad.nn import functional as F

REDUCTIONS = ["mean", "sum", "none"]


def _rng(seed=0):
    return np.random.default_rng(seed)


def _backward(out, seed=1):
    """Backward with a random upstream gradient (works for every reduction); returns it."""
    g = _rng(seed).standard_normal(out.shape)
    out.backward(g)
    return g


# -- construction ------------------------------------------------------------------------
@pytest.mark.parametrize("cls", [nn.MSELoss, nn.BCEWithLogitsLoss, nn.CrossEntropyLoss])
def test_reduction_is_validated_at_construction(cls):
    with pytest.raises(ValueError, match=r"reduction must be one of .*'mean'.*got 'avg'"):
        cls(reduction="avg")
    for r in REDUCTIONS:
        assert cls(reduction=r).reduction == r


def test_cross_entropy_ignore_index_must_be_int():
    with pytest.raises(ValueError, match="ignore_index"):
        nn.CrossEntropyLoss(ignore_index=1.5)


def test_loss_modules_exported_and_repr():
    for name in ["MSELoss", "BCEWithLogitsLoss", "CrossEntropyLoss"]:
        assert name in nn.__all__
    assert repr(nn.MSELoss(reduction="sum")) == "MSELoss(reduction='sum')"
    assert repr(nn.CrossEntropyLoss(ignore_index=0)) == "CrossEntropyLoss(ignore_index=0, reduction='mean')"


# -- NumPy references (run without torch) -----------------------------------------------------
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_mse_loss_against_numpy(backend, reduction):
    x_np, t_np = _rng().standard_normal((4, 3)), _rng(1).standard_normal((4, 3))
    x = mg.tensor(x_np, requires_grad=True)
    out = nn.MSELoss(reduction=reduction)(x, mg.tensor(t_np))
    sq = (x_np - t_np) ** 2
    expected = {"mean": sq.mean(), "sum": sq.sum(), "none": sq}[reduction]
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-12)
    g = _backward(out)
    scale = {"mean": 1 / sq.size, "sum": 1.0, "none": 1.0}[reduction]
    np.testing.assert_allclose(x.grad.numpy(), 2 * (x_np - t_np) * g * scale, rtol=1e-12)


def test_cross_entropy_against_numpy(backend):
    logits_np = _rng().standard_normal((2, 5, 4))
    target_np = _rng(1).integers(0, 4, (2, 5))
    target_np[0, 1] = 3
    target_np[1, 4] = 3
    log_p = logits_np - np.log(np.exp(logits_np).sum(-1, keepdims=True))
    nll = -np.take_along_axis(log_p, target_np[..., None], -1)[..., 0]
    out = nn.CrossEntropyLoss()(mg.tensor(logits_np), mg.tensor(target_np))
    np.testing.assert_allclose(out.numpy(), nll.mean(), rtol=1e-12)
    keep = target_np != 3
    out = nn.CrossEntropyLoss(ignore_index=3)(mg.tensor(logits_np), target_np)
    np.testing.assert_allclose(out.numpy(), nll[keep].mean(), rtol=1e-12)


def test_bce_with_logits_against_numpy(backend):
    x_np = _rng().standard_normal((6, 3)) * 4
    y_np = (_rng(1).random((6, 3)) > 0.5).astype("float64")
    p = np.array([0.5, 2.0, 3.0])
    s = 1 / (1 + np.exp(-x_np))
    expected = -(p * y_np * np.log(s) + (1 - y_np) * np.log(1 - s))
    out = nn.BCEWithLogitsLoss(reduction="none", pos_weight=p)(mg.tensor(x_np), mg.tensor(y_np))
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-10)


def test_loss_modules_equal_functional_forms():
    x = mg.randn(3, 4, dtype="float64")
    t = mg.tensor(_rng().integers(0, 4, 3))
    w = mg.tensor([1.0, 2.0, 0.5, 1.0], dtype="float64")
    np.testing.assert_array_equal(
        nn.CrossEntropyLoss(weight=w, reduction="sum")(x, t).numpy(),
        F.cross_entropy(x, t, reduction="sum", weight=w).numpy(),
    )
    y = mg.rand(3, 4, dtype="float64")
    np.testing.assert_array_equal(
        nn.BCEWithLogitsLoss()(x, y).numpy(), F.binary_cross_entropy_with_logits(x, y).numpy()
    )


def test_cross_entropy_default_does_not_ignore_minus_100():
    logits = mg.randn(3, 4, dtype="float64")
    target = [1, -100, 2]
    with pytest.raises(IndexError, match=r"\[0, 4\)"):
        nn.CrossEntropyLoss()(logits, target)
    out = nn.CrossEntropyLoss(ignore_index=-100)(logits, target)
    expected = nn.CrossEntropyLoss()(logits[np.array([0, 2])], [1, 2])
    np.testing.assert_allclose(out.numpy(), expected.numpy(), rtol=1e-12)


def test_cross_entropy_weight_shape_is_checked():
    with pytest.raises(ValueError, match=r"weight must have shape \(C,\) = \(4,\).*got \(3,\)"):
        nn.CrossEntropyLoss(weight=[1.0, 1.0, 1.0])(mg.randn(2, 4), [0, 1])


def test_loss_weight_given_as_list_takes_the_logits_dtype_and_backend(backend):
    logits = mg.randn(5, 3, dtype="float64", requires_grad=True)
    out = nn.CrossEntropyLoss(weight=[1.0, 2.0, 3.0])(logits, [0, 1, 2, 1, 0])
    assert out.dtype == np.float64 and out.backend.name == backend
    out = nn.BCEWithLogitsLoss(pos_weight=[1.0, 2.0, 3.0], weight=[1.0, 0.0, 1.0])(
        logits, mg.rand(5, 3, dtype="float64")
    )
    assert out.dtype == np.float64
    out.backward()
    assert np.all(logits.grad.numpy()[:, 1] == 0)  # zero element weight stops the gradient


# -- PyTorch parity ------------------------------------------------------------------------------------
@requires_torch
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_mse_loss_matches_torch(reduction):
    import torch

    x_np, t_np = _rng().standard_normal((3, 4, 2)), _rng(1).standard_normal((3, 4, 2))
    xt = torch.tensor(x_np, requires_grad=True)
    x = mg.tensor(x_np, requires_grad=True)
    ref = torch.nn.MSELoss(reduction=reduction)(xt, torch.tensor(t_np))
    out = nn.MSELoss(reduction=reduction)(x, mg.tensor(t_np))
    np.testing.assert_allclose(out.numpy(), ref.detach().numpy(), rtol=1e-7)
    g = _backward(out)
    ref.backward(torch.tensor(g))
    np.testing.assert_allclose(x.grad.numpy(), xt.grad.numpy(), rtol=1e-7)


@requires_torch
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("with_weight", [False, True])
def test_bce_with_logits_pos_weight_matches_torch(reduction, with_weight):
    import torch

    x_np = _rng().standard_normal((5, 4)) * 3
    y_np = _rng(1).random((5, 4))
    pw_np = np.array([0.5, 1.0, 2.0, 4.0])
    w_np = _rng(2).random((5, 1)) if with_weight else None
    xt = torch.tensor(x_np, requires_grad=True)
    x = mg.tensor(x_np, requires_grad=True)
    ref = torch.nn.BCEWithLogitsLoss(
        weight=None if w_np is None else torch.tensor(w_np), reduction=reduction, pos_weight=torch.tensor(pw_np)
    )(xt, torch.tensor(y_np))
    loss = nn.BCEWithLogitsLoss(
        weight=None if w_np is None else mg.tensor(w_np), reduction=reduction, pos_weight=mg.tensor(pw_np)
    )
    out = loss(x, mg.tensor(y_np))
    np.testing.assert_allclose(out.numpy(), ref.detach().numpy(), rtol=1e-7)
    g = _backward(out)
    ref.backward(torch.tensor(g))
    np.testing.assert_allclose(x.grad.numpy(), xt.grad.numpy(), rtol=1e-7)


@requires_torch
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("use_weight", [False, True])
@pytest.mark.parametrize("ignore_index", [None, 2])
def test_cross_entropy_2d_matches_torch(reduction, use_weight, ignore_index):
    import torch

    logits_np = _rng().standard_normal((8, 5))
    target_np = _rng(1).integers(0, 5, 8)
    target_np[[1, 6]] = 2
    w_np = np.array([1.0, 0.5, 2.0, 3.0, 0.25])
    xt = torch.tensor(logits_np, requires_grad=True)
    x = mg.tensor(logits_np, requires_grad=True)
    kw = {"reduction": reduction, "weight": torch.tensor(w_np) if use_weight else None}
    if ignore_index is not None:
        kw["ignore_index"] = ignore_index
    ref = torch.nn.CrossEntropyLoss(**kw)(xt, torch.tensor(target_np))
    loss = nn.CrossEntropyLoss(
        weight=mg.tensor(w_np) if use_weight else None, ignore_index=ignore_index, reduction=reduction
    )
    out = loss(x, mg.tensor(target_np))
    np.testing.assert_allclose(out.numpy(), ref.detach().numpy(), rtol=1e-7)
    g = _backward(out)
    ref.backward(torch.tensor(g))
    np.testing.assert_allclose(x.grad.numpy(), xt.grad.numpy(), rtol=1e-7, atol=1e-15)


@requires_torch
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_3d_class_last_matches_torch_class_axis_1(reduction):
    import torch

    N, T, C, pad = 3, 6, 7, 0
    logits_np = _rng().standard_normal((N, T, C))
    target_np = _rng(1).integers(1, C, (N, T))
    target_np[0, 4:] = pad
    target_np[2, 2:] = pad
    w_np = _rng(2).random(C) + 0.1
    xt = torch.tensor(logits_np, requires_grad=True)
    x = mg.tensor(logits_np, requires_grad=True)
    ref = torch.nn.CrossEntropyLoss(weight=torch.tensor(w_np), ignore_index=pad, reduction=reduction)(
        xt.permute(0, 2, 1), torch.tensor(target_np)
    )
    out = nn.CrossEntropyLoss(weight=w_np, ignore_index=pad, reduction=reduction)(x, target_np)
    assert out.shape == tuple(ref.shape)
    np.testing.assert_allclose(out.numpy(), ref.detach().numpy(), rtol=1e-7)
    g = _backward(out)
    ref.backward(torch.tensor(g))
    np.testing.assert_allclose(x.grad.numpy(), xt.grad.numpy(), rtol=1e-7, atol=1e-15)
    assert np.all(x.grad.numpy()[target_np == pad] == 0)


@requires_torch
def test_cross_entropy_ignore_minus_100_matches_torch_default():
    import torch

    logits_np = _rng().standard_normal((4, 3))
    target_np = np.array([0, -100, 2, -100])
    ref = torch.nn.CrossEntropyLoss()(torch.tensor(logits_np), torch.tensor(target_np))
    out = nn.CrossEntropyLoss(ignore_index=-100)(mg.tensor(logits_np), target_np)
    np.testing.assert_allclose(out.numpy(), ref.numpy(), rtol=1e-7)


def test_nll_loss_errors_name_nll_loss():
    """Errors name the function the user called, not the one it shares code with."""
    with pytest.raises(ValueError, match="^nll_loss: log_probs"):
        F.nll_loss(mg.zeros(3, 4), [0, 1])
    with pytest.raises(IndexError, match="^nll_loss: target values"):
        F.nll_loss(mg.zeros(2, 4), [0, 7])
    with pytest.raises(ValueError, match="^cross_entropy: logits"):
        F.cross_entropy(mg.zeros(3, 4), [0, 1])


@pytest.mark.parametrize("fn", ["cross_entropy", "nll_loss"])
@pytest.mark.parametrize("weight", [np.ones(7), np.ones(3), np.ones((5, 2))], ids=["long", "short", "2d"])
def test_functional_class_weights_are_checked_like_the_module(fn, weight):
    """A weight of the wrong shape is a ValueError naming it, never a silent loss or a NumPy error."""
    import minigrad.nn.functional as F

    logits = mg.tensor(np.random.default_rng(0).standard_normal((4, 5)))
    target = mg.tensor(np.array([0, 2, 4, 2]))
    shape = str(weight.shape).replace("(", r"\(").replace(")", r"\)")
    with pytest.raises(ValueError, match=rf"{fn}: weight must have shape \(C,\) = \(5,\).*got {shape}"):
        getattr(F, fn)(logits, target, weight=mg.tensor(weight))


def test_functional_class_weights_may_be_lists_and_match_torch():
    torch = pytest.importorskip("torch")
    import minigrad.nn.functional as F

    rng = np.random.default_rng(1)
    logits, target, weight = rng.standard_normal((6, 3)), np.array([0, 1, 2, 2, 1, 0]), [0.5, 2.0, 1.0]
    got = F.cross_entropy(mg.tensor(logits), mg.tensor(target), weight=weight).item()
    want = torch.nn.functional.cross_entropy(torch.tensor(logits), torch.tensor(target),
                                             weight=torch.tensor(weight, dtype=torch.float64)).item()
    assert got == pytest.approx(want, rel=1e-12)


def test_bce_with_logits_weight_in_the_function_matches_torch():
    torch = pytest.importorskip("torch")
    import minigrad.nn.functional as F

    rng = np.random.default_rng(2)
    x, y, w = rng.standard_normal((4, 3)), rng.random((4, 3)), rng.random(3)
    got = F.binary_cross_entropy_with_logits(mg.tensor(x), mg.tensor(y), weight=mg.tensor(w)).item()
    want = torch.nn.functional.binary_cross_entropy_with_logits(torch.tensor(x), torch.tensor(y),
                                                                weight=torch.tensor(w)).item()
    assert got == pytest.approx(want, rel=1e-12)
