"""minigrad.nn.functional beyond the op table in test_ops.py: numerical stability
with huge logits, one_hot, dropout statistics and determinism, and error messages.

The values and gradients of softmax, log_softmax, logsumexp and the losses on
ordinary inputs are checked (gradcheck and torch) in the table of test_ops.py.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import HAVE_TORCH

import minigrad as mg
import minigrad.nn.functional as F

if HAVE_TORCH:
    import torch
    import torch.nn.functional as TF

# ---------------------------------------------------------------------------
# numerical stability: logits of magnitude 1e4 (exp would overflow)
# ---------------------------------------------------------------------------
BIG = np.array([[1e4, -1e4, 0.0, 5e3], [-1e4, -1e4, 1e4, 1e4], [3e3, -2e3, 1e4 - 1.0, -1e4]])
BIG_TARGET = np.array([0, 1, 2])


def _np_log_softmax(x):
    m = x.max(-1, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(-1, keepdims=True))


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_softmax_family_finite_and_correct_for_huge_logits(backend, dtype):
    ref_logp = _np_log_softmax(BIG)
    for name, fn, expected in [
        ("softmax", F.softmax, np.exp(ref_logp)),
        ("log_softmax", F.log_softmax, ref_logp),
        ("logsumexp", F.logsumexp, (BIG - ref_logp)[:, 0]),
    ]:
        x = mg.tensor(BIG, dtype=dtype, requires_grad=True)
        y = fn(x)
        w = np.linspace(-1.0, 1.0, y.numel()).reshape(y.shape)
        (y * mg.tensor(w, dtype=dtype)).sum().backward()
        assert np.all(np.isfinite(y.numpy())), name
        assert np.all(np.isfinite(x.grad.numpy())), name
        rtol = 1e-12 if dtype == "float64" else 1e-6
        np.testing.assert_allclose(y.numpy(), expected, rtol=rtol, atol=rtol, err_msg=name)
        if HAVE_TORCH and dtype == "float64":
            t = torch.tensor(BIG, requires_grad=True)
            ty = {"softmax": lambda v: torch.softmax(v, -1), "log_softmax": lambda v: torch.log_softmax(v, -1),
                  "logsumexp": lambda v: torch.logsumexp(v, -1)}[name](t)
            (ty * torch.as_tensor(w)).sum().backward()
            np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), rtol=1e-7, atol=1e-12, err_msg=name)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_cross_entropy_finite_and_correct_for_huge_logits(backend, dtype):
    x = mg.tensor(BIG, dtype=dtype, requires_grad=True)
    loss = F.cross_entropy(x, BIG_TARGET, reduction="none")
    ref = -_np_log_softmax(BIG)[np.arange(3), BIG_TARGET]
    assert np.all(np.isfinite(loss.numpy()))
    np.testing.assert_allclose(loss.numpy(), ref, rtol=1e-6)
    loss.sum().backward()
    # d/dlogits of -log softmax[target] = softmax - one_hot(target)
    expected_grad = np.exp(_np_log_softmax(BIG)) - np.eye(4)[BIG_TARGET]
    assert np.all(np.isfinite(x.grad.numpy()))
    np.testing.assert_allclose(x.grad.numpy(), expected_grad, atol=1e-6)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_bce_with_logits_finite_and_correct_for_huge_logits(backend, dtype):
    logits = np.array([1e4, -1e4, 1e4, -1e4, 0.0, 5e3])
    target = np.array([1.0, 1.0, 0.0, 0.0, 1.0, 0.25])
    pos_weight = 2.0
    x = mg.tensor(logits, dtype=dtype, requires_grad=True)
    loss = F.binary_cross_entropy_with_logits(x, target.astype(dtype), reduction="none", pos_weight=pos_weight)
    # -(p y log sigmoid(x) + (1 - y) log(1 - sigmoid(x))) with log sigmoid(x) = -logaddexp(0, -x)
    ref = pos_weight * target * np.logaddexp(0, -logits) + (1 - target) * np.logaddexp(0, logits)
    assert np.all(np.isfinite(loss.numpy()))
    np.testing.assert_allclose(loss.numpy(), ref, rtol=1e-6)
    loss.sum().backward()
    sig = np.exp(-np.logaddexp(0, -logits))  # stable sigmoid
    expected_grad = -pos_weight * target * (1 - sig) + (1 - target) * sig
    assert np.all(np.isfinite(x.grad.numpy()))
    np.testing.assert_allclose(x.grad.numpy(), expected_grad, rtol=1e-6, atol=1e-12)
    if HAVE_TORCH and dtype == "float64":
        t = torch.tensor(logits, requires_grad=True)
        tl = TF.binary_cross_entropy_with_logits(t, torch.tensor(target), reduction="none",
                                                 pos_weight=torch.tensor(pos_weight))
        tl.sum().backward()
        np.testing.assert_allclose(loss.numpy(), tl.detach().numpy(), rtol=1e-7, atol=1e-12)
        np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), rtol=1e-7, atol=1e-12)


def test_bce_with_logits_gradient_at_zero_logit(backend):
    """At x = 0 the loss is smooth: d/dx = sigmoid(0) - y = 0.5 - y (abs/relu kinks must not leak)."""
    target = np.array([1.0, 0.0, 0.3])
    x = mg.tensor(np.zeros(3), dtype="float64", requires_grad=True)
    F.binary_cross_entropy_with_logits(x, target, reduction="sum").backward()
    np.testing.assert_allclose(x.grad.numpy(), 0.5 - target, rtol=1e-12)


# ---------------------------------------------------------------------------
# one_hot
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("indices", [[0, 2, 1, 2], [[3, 0], [1, 1]], 2])
def test_one_hot_values(backend, indices):
    out = F.one_hot(mg.tensor(indices), 4)
    idx = np.asarray(indices)
    expected = np.eye(4)[idx]
    assert out.shape == idx.shape + (4,)
    assert out.dtype == np.float32
    assert not out.requires_grad
    np.testing.assert_array_equal(out.numpy(), expected)
    assert np.all(out.numpy().sum(-1) == 1)
    np.testing.assert_array_equal(out.numpy().argmax(-1), idx)


def test_one_hot_dtype_and_errors(backend):
    assert F.one_hot(mg.tensor([1, 0]), 3, dtype="float64").dtype == np.float64
    with pytest.raises(IndexError, match=r"\[0, 3\)"):
        F.one_hot(mg.tensor([0, 3]), 3)
    with pytest.raises(IndexError):
        F.one_hot(mg.tensor([-1, 0]), 3)
    with pytest.raises(TypeError, match="integers"):
        F.one_hot(mg.tensor([0.0, 1.0]), 3)


# ---------------------------------------------------------------------------
# dropout
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("p", [0.1, 0.3, 0.5, 0.8])
def test_dropout_statistics(backend, p):
    mg.manual_seed(1234)
    n = 200_000
    x = mg.tensor(np.random.default_rng(0).uniform(1.0, 2.0, n), dtype="float64")
    y = F.dropout(x, p=p).numpy()
    xs = x.numpy()
    zeroed = y == 0
    # binomial std of the fraction is sqrt(p (1-p) / n) < 1.2e-3; allow 5 sigma
    assert abs(zeroed.mean() - p) < 5 * np.sqrt(p * (1 - p) / n)
    np.testing.assert_allclose(y[~zeroed], xs[~zeroed] / (1 - p), rtol=1e-12)
    # inverted dropout keeps the expectation
    assert abs(y.mean() - xs.mean()) < 0.02 * xs.mean()


def test_dropout_identity_when_not_training(backend):
    x = mg.tensor(np.random.default_rng(1).standard_normal((4, 5)), dtype="float64", requires_grad=True)
    for p in (0.0, 0.5):
        y = F.dropout(x, p=p, training=p == 0.0)
        np.testing.assert_array_equal(y.numpy(), x.numpy())
    y = F.dropout(x, p=0.5, training=False)
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.ones((4, 5)))


def test_dropout_p_one_zeros_and_bad_p(backend):
    x = mg.ones(3, 4, dtype="float64", requires_grad=True)
    np.testing.assert_array_equal(F.dropout(x, p=1.0).numpy(), np.zeros((3, 4)))
    for p in (-0.1, 1.5):
        with pytest.raises(ValueError, match="dropout"):
            F.dropout(x, p=p)


def test_dropout_same_seed_same_mask(backend):
    x = mg.ones(50, 40, dtype="float64")
    mg.manual_seed(7)
    a = F.dropout(x, p=0.5).numpy()
    b = F.dropout(x, p=0.5).numpy()
    mg.manual_seed(7)
    c = F.dropout(x, p=0.5).numpy()
    np.testing.assert_array_equal(a, c)
    assert not np.array_equal(a, b)  # the generator advances between calls


def test_dropout_gradient_equals_mask(backend):
    mg.manual_seed(3)
    p = 0.4
    data = np.random.default_rng(2).uniform(0.5, 1.5, (30, 20))
    x = mg.tensor(data, dtype="float64", requires_grad=True)
    y = F.dropout(x, p=p)
    w = np.random.default_rng(5).standard_normal((30, 20))
    (y * mg.tensor(w)).sum().backward()
    mask = (y.numpy() != 0) / (1 - p)  # inputs are nonzero, so zeros of y are exactly the dropped ones
    np.testing.assert_allclose(x.grad.numpy(), w * mask, rtol=1e-12)
    np.testing.assert_allclose(y.numpy(), data * mask, rtol=1e-12)


# ---------------------------------------------------------------------------
# error messages
# ---------------------------------------------------------------------------
def test_cross_entropy_target_shape_mismatch_names_shapes(backend):
    logits = mg.zeros(4, 3, dtype="float64", requires_grad=True)
    with pytest.raises(ValueError) as info:
        F.cross_entropy(logits, np.array([0, 1, 2, 0, 1]))
    msg = str(info.value)
    assert "(4, 3)" in msg and "(5,)" in msg and "(4,)" in msg
    with pytest.raises(ValueError) as info:
        F.cross_entropy(mg.zeros(2, 5, 3), np.zeros((5, 2), dtype=np.int64))
    assert "(2, 5, 3)" in str(info.value) and "(5, 2)" in str(info.value)


def test_cross_entropy_bad_targets(backend):
    logits = mg.zeros(2, 3, dtype="float64")
    with pytest.raises(IndexError, match=r"\[0, 3\)"):
        F.cross_entropy(logits, np.array([0, 3]))
    with pytest.raises(TypeError, match="integer"):
        F.cross_entropy(logits, np.array([0.0, 1.0]))
    with pytest.raises(ValueError, match="reduction"):
        F.cross_entropy(logits, np.array([0, 1]), reduction="avg")


def test_cross_entropy_all_ignored_is_nan_like_torch(backend):
    logits = mg.zeros(2, 3, dtype="float64", requires_grad=True)
    with np.errstate(invalid="ignore"):  # 0 / 0 on the NumPy backend
        loss = F.cross_entropy(logits, np.array([1, 1]), ignore_index=1)
    assert np.isnan(loss.item())
    total = F.cross_entropy(logits, np.array([1, 1]), ignore_index=1, reduction="sum")
    assert total.item() == 0.0


@pytest.mark.parametrize(
    "fn",
    [
        pytest.param(lambda x: F.binary_cross_entropy_with_logits(x, np.zeros((3, 2))), id="bce"),
        pytest.param(lambda x: F.mse_loss(x, np.zeros((3, 2))), id="mse"),
    ],
)
def test_elementwise_loss_shape_mismatch_names_shapes(backend, fn):
    with pytest.raises(ValueError) as info:
        fn(mg.zeros(2, 3, dtype="float64"))
    assert "(2, 3)" in str(info.value) and "(3, 2)" in str(info.value)
