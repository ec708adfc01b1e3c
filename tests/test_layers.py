"""Linear, Embedding, Dropout and activation modules: shapes, init, gradients, PyTorch parity."""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import requires_torch

import minigrad as mg
from minigrad import nn


def call_with(module, params, *args):
    """Run ``module(*args)`` with some parameters swapped for other tensors (for gradcheck)."""
    saved = {k: getattr(module, k) for k in params}
    try:
        for k, v in params.items():
            object.__setattr__(module, k, v)
        return module(*args)
    finally:
        for k, v in saved.items():
            object.__setattr__(module, k, v)


# -- Linear -------------------------------------------------------------------------
def test_linear_shapes_names_and_forward(backend):
    mg.manual_seed(0)
    lin = nn.Linear(5, 3)
    assert [n for n, _ in lin.named_parameters()] == ["weight", "bias"]
    assert lin.weight.shape == (3, 5) and lin.bias.shape == (3,)
    assert lin.weight.dtype == np.float32 and lin.weight.backend.name == backend
    for shape in [(5,), (4, 5), (2, 3, 5)]:
        x = mg.randn(*shape)
        y = lin(x)
        assert y.shape == shape[:-1] + (3,)
        expected = x.numpy() @ lin.weight.numpy().T + lin.bias.numpy()
        np.testing.assert_allclose(y.numpy(), expected, rtol=1e-5, atol=1e-6)


def test_linear_without_bias(backend):
    lin = nn.Linear(4, 2, bias=False, dtype="float64")
    assert lin.bias is None
    assert list(lin.state_dict()) == ["weight"]
    x = mg.randn(3, 4, dtype="float64")
    np.testing.assert_allclose(lin(x).numpy(), x.numpy() @ lin.weight.numpy().T, rtol=1e-12)


def test_linear_default_init_is_uniform_one_over_sqrt_in(backend):
    mg.manual_seed(0)
    lin = nn.Linear(400, 300, dtype="float64")
    bound = 1 / math.sqrt(400)
    for p in (lin.weight, lin.bias):
        a = np.abs(p.numpy())
        assert a.max() <= bound
        assert a.max() > 0.95 * bound
    assert lin.weight.numpy().std() == pytest.approx(bound / math.sqrt(3), rel=0.02)


def test_linear_init_is_reproducible_with_manual_seed():
    mg.manual_seed(7)
    a = nn.Linear(6, 4).state_dict()
    mg.manual_seed(7)
    b = nn.Linear(6, 4).state_dict()
    for k in a:
        np.testing.assert_array_equal(a[k], b[k])


def test_linear_wrong_in_features_is_a_clear_error():
    lin = nn.Linear(5, 3)
    with pytest.raises(ValueError, match=r"in_features=5.*got shape \(2, 4\)"):
        lin(mg.randn(2, 4))
    with pytest.raises(ValueError, match=r"in_features=5.*got shape \(\)"):
        lin(mg.tensor(1.0))


def test_linear_rejects_bad_sizes():
    with pytest.raises(ValueError, match="in_features must be a non-negative int, got -1"):
        nn.Linear(-1, 3)
    with pytest.raises(ValueError, match="out_features"):
        nn.Linear(3, 2.5)


def test_linear_gradcheck(backend):
    mg.manual_seed(0)
    lin = nn.Linear(4, 3, dtype="float64")
    x = mg.randn(2, 3, 4, dtype="float64")
    assert mg.gradcheck(lambda x, w, b: call_with(lin, {"weight": w, "bias": b}, x), [x, lin.weight, lin.bias])


def test_linear_repr():
    assert repr(nn.Linear(5, 3)) == "Linear(in_features=5, out_features=3, bias=True)"
    assert "bias=False" in repr(nn.Linear(5, 3, bias=False))


@requires_torch
def test_linear_matches_torch():
    import torch

    torch.manual_seed(0)
    ref = torch.nn.Linear(6, 4).double()
    lin = nn.Linear(6, 4, dtype="float64")
    lin.load_state_dict({k: v.detach().numpy() for k, v in ref.state_dict().items()})
    x_np = np.random.default_rng(0).standard_normal((3, 5, 6))
    xt = torch.tensor(x_np, requires_grad=True)
    x = mg.tensor(x_np, requires_grad=True)
    yt, y = ref(xt), lin(x)
    np.testing.assert_allclose(y.numpy(), yt.detach().numpy(), rtol=1e-7)
    g = np.random.default_rng(1).standard_normal(yt.shape)
    yt.backward(torch.tensor(g))
    y.backward(g)
    np.testing.assert_allclose(x.grad.numpy(), xt.grad.numpy(), rtol=1e-7)
    for name, p in lin.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), getattr(ref, name).grad.numpy(), rtol=1e-7, err_msg=name)
    assert repr(lin) == repr(ref)


# -- Embedding -----------------------------------------------------------------------------
def test_embedding_lookup_any_id_container_and_shape(backend):
    mg.manual_seed(0)
    emb = nn.Embedding(10, 4)
    w = emb.weight.numpy()
    assert emb.weight.shape == (10, 4) and emb.weight.backend.name == backend
    ids_np = np.array([[1, 3, 3], [9, 0, 2]])
    for ids in (ids_np.tolist(), ids_np, mg.tensor(ids_np)):
        y = emb(ids)
        assert y.shape == (2, 3, 4)
        np.testing.assert_array_equal(y.numpy(), w[ids_np])
    np.testing.assert_array_equal(emb(5).numpy(), w[5])
    assert emb(np.zeros((2, 0, 3), dtype="int64")).shape == (2, 0, 3, 4)
    assert emb([]).shape == (0, 4)


def test_embedding_init_is_standard_normal():
    mg.manual_seed(0)
    w = nn.Embedding(1000, 200, dtype="float64").weight.numpy()
    assert w.mean() == pytest.approx(0.0, abs=0.01)
    assert w.std() == pytest.approx(1.0, rel=0.01)


def test_embedding_repeated_ids_accumulate_gradient(backend):
    emb = nn.Embedding(6, 3, dtype="float64")
    ids = [[1, 1, 4], [1, 0, 4]]
    emb(ids).sum().backward()
    counts = np.bincount(np.ravel(ids), minlength=6)
    np.testing.assert_array_equal(emb.weight.grad.numpy(), np.repeat(counts[:, None], 3, axis=1).astype("float64"))


@pytest.mark.parametrize("padding_idx", [0, 2, -1])
def test_embedding_padding_row_is_zero_and_gets_exactly_zero_grad(backend, padding_idx):
    mg.manual_seed(0)
    emb = nn.Embedding(5, 3, padding_idx=padding_idx, dtype="float64")
    pad = padding_idx % 5
    assert emb.padding_idx == pad
    np.testing.assert_array_equal(emb.weight.numpy()[pad], np.zeros(3))
    assert np.all(np.delete(emb.weight.numpy(), pad, axis=0) != 0)
    ids = np.array([[pad, 1, pad], [3, pad, 1]]) if pad != 1 else np.array([[1, 0, 1], [3, 1, 0]])
    y = emb(ids)
    g = mg.randn(*y.shape, dtype="float64")
    (y * g).sum().backward()
    grad = emb.weight.grad.numpy()
    assert np.all(grad[pad] == 0.0)
    # every other row gets the summed output gradient of its positions
    for row in range(5):
        if row != pad:
            expected = g.numpy()[ids == row].sum(axis=0)
            np.testing.assert_allclose(grad[row], expected, rtol=1e-12)
    assert np.any(grad[1] != 0)


def test_embedding_padding_row_output_follows_its_current_value():
    emb = nn.Embedding(4, 2, padding_idx=0, dtype="float64")
    emb.load_state_dict({"weight": np.arange(8.0).reshape(4, 2)})
    y = emb([0, 3])
    np.testing.assert_array_equal(y.numpy(), [[0.0, 1.0], [6.0, 7.0]])


def test_embedding_errors():
    emb = nn.Embedding(10, 3)
    with pytest.raises(TypeError, match="integers.*float"):
        emb([0.0, 1.0])
    with pytest.raises(IndexError, match=r"\[0, 10\).*\[2, 10\]"):
        emb([2, 10])
    with pytest.raises(IndexError, match=r"\[0, 10\).*\[-1, 3\]"):
        emb([3, -1])
    with pytest.raises(ValueError, match=r"padding_idx must be an int in \[-10, 10\), got 10"):
        nn.Embedding(10, 3, padding_idx=10)
    with pytest.raises(ValueError, match="padding_idx"):
        nn.Embedding(10, 3, padding_idx=-11)


@pytest.mark.parametrize("padding_idx", [None, 1])
def test_embedding_gradcheck(backend, padding_idx):
    mg.manual_seed(0)
    emb = nn.Embedding(5, 3, padding_idx=padding_idx, dtype="float64")
    ids = np.array([[0, 1, 1], [4, 2, 1]])
    # the padding row is frozen by design (finite differences would see it), so
    # the outputs at padding positions are masked out of the checked function
    keep = mg.tensor((ids != padding_idx)[..., None].astype("float64"))
    assert mg.gradcheck(lambda w: call_with(emb, {"weight": w}, ids) * keep, [emb.weight])


def test_embedding_from_pretrained():
    table = np.arange(12.0).reshape(4, 3)
    emb = nn.Embedding.from_pretrained(table)
    np.testing.assert_array_equal(emb([2]).numpy(), table[[2]])
    assert not emb.weight.requires_grad
    assert emb.weight.dtype == np.float64
    assert nn.Embedding.from_pretrained(table, freeze=False).weight.requires_grad
    table[2] = -1  # a copy: the module does not alias the input
    assert emb([2]).numpy()[0, 0] == 6.0


def test_embedding_repr():
    assert repr(nn.Embedding(10, 3)) == "Embedding(10, 3)"
    assert repr(nn.Embedding(10, 3, padding_idx=-1)) == "Embedding(10, 3, padding_idx=9)"


@requires_torch
@pytest.mark.parametrize("padding_idx", [None, 0, -2])
def test_embedding_matches_torch(padding_idx):
    import torch

    torch.manual_seed(0)
    ref = torch.nn.Embedding(7, 4, padding_idx=padding_idx).double()
    emb = nn.Embedding(7, 4, padding_idx=padding_idx, dtype="float64")
    assert emb.padding_idx == ref.padding_idx
    assert repr(emb) == repr(ref)
    emb.load_state_dict({k: v.detach().numpy() for k, v in ref.state_dict().items()})
    ids = np.array([[0, 5, 5, 2], [6, 0, 1, 5]])
    yt, y = ref(torch.tensor(ids)), emb(ids)
    np.testing.assert_allclose(y.numpy(), yt.detach().numpy(), rtol=1e-7)
    g = np.random.default_rng(0).standard_normal(yt.shape)
    yt.backward(torch.tensor(g))
    y.backward(g)
    np.testing.assert_allclose(emb.weight.grad.numpy(), ref.weight.grad.numpy(), rtol=1e-7, atol=0)


@requires_torch
def test_embedding_then_linear_grads_match_torch():
    import torch

    torch.manual_seed(1)
    ref = torch.nn.Sequential(torch.nn.Embedding(6, 5, padding_idx=0), torch.nn.Tanh(), torch.nn.Linear(5, 2)).double()
    net = nn.Sequential(nn.Embedding(6, 5, padding_idx=0), nn.Tanh(), nn.Linear(5, 2)).double()
    net.load_state_dict({k: v.detach().numpy() for k, v in ref.state_dict().items()})
    ids = np.array([[1, 2, 0], [5, 0, 0]])
    ref(torch.tensor(ids)).pow(2).sum().backward()
    (net(ids) ** 2).sum().backward()
    for name, p in net.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), ref.get_parameter(name).grad.numpy(), rtol=1e-7, err_msg=name)


# -- Dropout -----------------------------------------------------------------------------------
def test_dropout_train_vs_eval(backend):
    mg.manual_seed(0)
    p = 0.3
    drop = nn.Dropout(p)
    assert drop.training
    x = mg.ones(200, 200)
    y = drop(x).numpy()
    zero_frac = float((y == 0).mean())
    assert zero_frac == pytest.approx(p, abs=0.01)
    np.testing.assert_allclose(y[y != 0], 1 / (1 - p), rtol=1e-6)
    drop.eval()
    np.testing.assert_array_equal(drop(x).numpy(), x.numpy())
    drop.train()
    assert np.any(drop(x).numpy() == 0)


def test_dropout_inside_sequential_follows_eval_and_seed():
    mg.manual_seed(3)
    net = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Dropout(0.5))
    x = mg.randn(16, 4)
    mg.manual_seed(5)
    a = net(x).numpy()
    mg.manual_seed(5)
    b = net(x).numpy()
    np.testing.assert_array_equal(a, b)
    net.eval()
    assert not net[2].training
    np.testing.assert_array_equal(net(x).numpy(), net[1](net[0](x)).numpy())


def test_dropout_rejects_bad_p():
    with pytest.raises(ValueError, match=r"p must be a probability in \[0, 1\], got 1.5"):
        nn.Dropout(1.5)
    assert repr(nn.Dropout(0.25)) == "Dropout(p=0.25)"


# -- activations ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "module, ref",
    [
        (nn.Tanh, np.tanh),
        (nn.ReLU, lambda a: np.maximum(a, 0)),
        (nn.Sigmoid, lambda a: 1 / (1 + np.exp(-a))),
        (nn.Identity, lambda a: a),
    ],
)
def test_activation_modules(backend, module, ref):
    x = mg.randn(3, 4, dtype="float64", requires_grad=True)
    y = module()(x)
    np.testing.assert_allclose(y.numpy(), ref(x.numpy()), rtol=1e-12)
    assert mg.gradcheck(module(), [x])


def test_flatten():
    x = mg.randn(2, 3, 4, 5)
    assert nn.Flatten()(x).shape == (2, 60)
    assert nn.Flatten(0, 1)(x).shape == (6, 4, 5)
    assert nn.Flatten(1, 2)(x).shape == (2, 12, 5)
    assert nn.Flatten()(mg.zeros(2, 0, 3)).shape == (2, 0)
    with pytest.raises(ValueError, match="start_dim"):
        nn.Flatten(3, 1)(x)


def test_layers_exported():
    for name in ["Linear", "Embedding", "Dropout", "Tanh", "ReLU", "Sigmoid", "Identity", "Flatten"]:
        assert name in nn.__all__ and hasattr(mg.nn, name)
