"""Recurrent cells (RNNCell, LSTMCell, GRUCell): gradcheck, PyTorch and NumPy
parity, unbatched input, argument checks, names and initialisation, and
agreement with the multi-step layers."""

from __future__ import annotations

import contextlib
import math
import re

import numpy as np
import pytest
from conftest import requires_torch

import minigrad as mg
from minigrad.nn import Parameter
from minigrad.tensor import Tensor

try:
    import torch
except ImportError:  # the torch tests are skipped by requires_torch
    torch = None

# mode -> (cell class name, nonlinearity or None)
MODES = {
    "rnn_tanh": ("RNNCell", "tanh"),
    "rnn_relu": ("RNNCell", "relu"),
    "rnn_sigmoid": ("RNNCell", "sigmoid"),
    "lstm": ("LSTMCell", None),
    "gru": ("GRUCell", None),
}
TORCH_MODES = ["rnn_tanh", "rnn_relu", "lstm", "gru"]


def make_cell(mode, input_size, hidden_size, **kwargs):
    kind, nonlinearity = MODES[mode]
    if nonlinearity is not None:
        kwargs["nonlinearity"] = nonlinearity
    return getattr(mg.nn, kind)(input_size, hidden_size, dtype="float64", **kwargs)


def make_torch_cell(mode, input_size, hidden_size, **kwargs):
    kind, nonlinearity = MODES[mode]
    if nonlinearity is not None:
        kwargs["nonlinearity"] = nonlinearity
    return getattr(torch.nn, kind)(input_size, hidden_size, **kwargs).double()


def as_list(state):
    return list(state) if isinstance(state, tuple) else [state]


def close(actual, expected, rtol=1e-6, atol=1e-10):
    np.testing.assert_allclose(np.asarray(actual), np.asarray(expected), rtol=rtol, atol=atol)


@contextlib.contextmanager
def swapped_parameters(module, tensors: dict):
    """The given tensors in place of the module's parameters (registration bypassed), restored after."""
    saved = [(name, getattr(module, name)) for name in tensors]
    for name, t in tensors.items():
        object.__setattr__(module, name, t)
    try:
        yield
    finally:
        for name, original in saved:
            object.__setattr__(module, name, original)


def sigmoid(a):
    return 1 / (1 + np.exp(-a))


def numpy_cell(mode, x, state, p):
    """The cell equations in NumPy, written independently of minigrad. Returns the new state(s)."""
    b_ih = p.get("bias_ih", 0.0)
    b_hh = p.get("bias_hh", 0.0)
    if mode.startswith("rnn"):
        f = {"rnn_tanh": np.tanh, "rnn_relu": lambda a: np.maximum(a, 0), "rnn_sigmoid": sigmoid}[mode]
        return [f(x @ p["weight_ih"].T + b_ih + state[0] @ p["weight_hh"].T + b_hh)]
    if mode == "lstm":
        h, c = state
        gi, gf, gg, go = np.split(x @ p["weight_ih"].T + b_ih + h @ p["weight_hh"].T + b_hh, 4, axis=-1)
        c2 = sigmoid(gf) * c + sigmoid(gi) * np.tanh(gg)
        return [sigmoid(go) * np.tanh(c2), c2]
    (h,) = state
    xr, xz, xn = np.split(x @ p["weight_ih"].T + b_ih, 3, axis=-1)
    hr, hz, hn = np.split(h @ p["weight_hh"].T + b_hh, 3, axis=-1)
    r, z = sigmoid(xr + hr), sigmoid(xz + hz)
    n = np.tanh(xn + r * hn)
    return [(1 - z) * n + z * h]


def call_cell(cell, mode, x, state):
    """``cell(x, state)`` with state a list of tensors (or None); the new state as a list."""
    if state is None:
        return as_list(cell(x))
    return as_list(cell(x, tuple(state) if mode == "lstm" else state[0]))


# -- gradcheck ---------------------------------------------------------------------


@pytest.mark.parametrize("batched", [True, False], ids=["batched", "unbatched"])
@pytest.mark.parametrize("with_state", [True, False], ids=["state", "nostate"])
@pytest.mark.parametrize("bias", [True, False], ids=["bias", "nobias"])
@pytest.mark.parametrize("mode", list(MODES))
def test_cell_gradcheck(backend, mode, bias, with_state, batched):
    N, I, H = 2, 3, 2
    rng = np.random.default_rng(len(mode) * 8 + 4 * bias + 2 * with_state + batched)
    mg.manual_seed(1)
    cell = make_cell(mode, I, H, bias=bias)
    lead = (N,) if batched else ()
    inputs = {"x": mg.tensor(rng.standard_normal(lead + (I,)))}
    if with_state:
        inputs["h"] = mg.tensor(rng.standard_normal(lead + (H,)))
        if mode == "lstm":
            inputs["c"] = mg.tensor(rng.standard_normal(lead + (H,)))
    if mode == "rnn_relu":  # positive inputs, unit 0 alive and unit 1 dead: both sides of the kink
        sign = np.array([[1.0], [-1.0]])
        for p in cell.parameters():
            p.data = p.backend.asarray(sign.reshape((2,) + (1,) * (p.ndim - 1)) * (abs(p.numpy()) + 0.1))
        for k in ("x", "h"):
            if k in inputs:
                inputs[k] = mg.tensor(abs(inputs[k].numpy()) + 0.1)
    names = [n for n, _ in cell.named_parameters()]
    first: dict = {}

    def fn(**kw):
        if not first:
            first.update(kw)
        with swapped_parameters(cell, {n: kw[n] for n in names}):
            state = [kw[k] for k in ("h", "c") if k in kw] or None
            out = call_cell(cell, mode, kw["x"], state)
        assert all(o.shape == lead + (H,) for o in out)
        return mg.concat([o.reshape(-1) for o in out])

    assert mg.gradcheck(fn, {**dict(cell.named_parameters()), **inputs})
    # not vacuous: every input got a non-zero analytic gradient (but weight_hh when the
    # state is zero: h W_hh^T is then 0 whatever W_hh), the real parameters none
    for name, t in first.items():
        assert t.grad is not None, name
        assert (np.abs(t.grad.numpy()).max() > 0) == (with_state or name != "weight_hh"), name
    assert all(p.grad is None for p in cell.parameters())
    assert all(isinstance(getattr(cell, n), Parameter) for n in names)


# -- parity --------------------------------------------------------------------------


@pytest.mark.parametrize("batched", [True, False], ids=["batched", "unbatched"])
@pytest.mark.parametrize("with_state", [True, False], ids=["state", "nostate"])
@pytest.mark.parametrize("mode", list(MODES))
def test_cell_matches_numpy_equations(backend, mode, with_state, batched):
    N, I, H = 3, 4, 5
    rng = np.random.default_rng(2)
    cell = make_cell(mode, I, H)
    params = cell.state_dict()
    lead = (N,) if batched else ()
    x = rng.standard_normal(lead + (I,))
    n_states = 2 if mode == "lstm" else 1
    state = [rng.standard_normal(lead + (H,)) for _ in range(n_states)] if with_state else None
    ours = call_cell(cell, mode, mg.tensor(x), None if state is None else [mg.tensor(s) for s in state])
    ref = numpy_cell(mode, x, state or [np.zeros(lead + (H,))] * n_states, params)
    assert len(ours) == n_states
    for a, b in zip(ours, ref):
        assert a.shape == lead + (H,)
        close(a.numpy(), b, rtol=1e-12)


@requires_torch
@pytest.mark.parametrize("bias", [True, False], ids=["bias", "nobias"])
@pytest.mark.parametrize("batched", [True, False], ids=["batched", "unbatched"])
@pytest.mark.parametrize("with_state", [True, False], ids=["state", "nostate"])
@pytest.mark.parametrize("mode", TORCH_MODES)
def test_cell_matches_torch(backend, mode, with_state, batched, bias):
    N, I, H = 3, 4, 5
    torch.manual_seed(0)
    tcell = make_torch_cell(mode, I, H, bias=bias)
    cell = make_cell(mode, I, H, bias=bias)
    cell.load_state_dict({k: v.detach().numpy() for k, v in tcell.state_dict().items()})
    rng = np.random.default_rng(3)
    lead = (N,) if batched else ()
    x_np = rng.standard_normal(lead + (I,))
    n_states = 2 if mode == "lstm" else 1
    s_np = [rng.standard_normal(lead + (H,)) for _ in range(n_states)] if with_state else None
    w_np = [rng.standard_normal(lead + (H,)) for _ in range(n_states)]

    tx = torch.tensor(x_np, requires_grad=True)
    ts = None if s_np is None else [torch.tensor(s, requires_grad=True) for s in s_np]
    tout = as_list(tcell(tx) if ts is None else tcell(tx, tuple(ts) if mode == "lstm" else ts[0]))
    sum((o * torch.tensor(w)).sum() for o, w in zip(tout, w_np)).backward()

    x = mg.tensor(x_np, requires_grad=True)
    s = None if s_np is None else [mg.tensor(v, requires_grad=True) for v in s_np]
    out = call_cell(cell, mode, x, s)
    loss = (out[0] * mg.tensor(w_np[0])).sum()
    for o, w in zip(out[1:], w_np[1:]):
        loss = loss + (o * mg.tensor(w)).sum()
    loss.backward()

    assert len(out) == len(tout)
    for a, b in zip(out, tout):
        assert a.shape == tuple(b.shape)
        close(a.numpy(), b.detach().numpy())
    close(x.grad.numpy(), tx.grad.numpy())
    for a, b in zip(s or [], ts or []):
        close(a.grad.numpy(), b.grad.numpy())
    theirs = dict(tcell.named_parameters())
    assert [n for n, _ in cell.named_parameters()] == list(theirs)
    for name, p in cell.named_parameters():
        close(p.grad.numpy(), theirs[name].grad.numpy())


# -- the cells are the layers' steps ------------------------------------------------------


@pytest.mark.parametrize("mode", list(MODES))
def test_unrolled_cell_equals_one_layer(backend, mode):
    kind, nonlinearity = MODES[mode]
    layer_kind = kind.removesuffix("Cell")
    kwargs = {} if nonlinearity is None else {"nonlinearity": nonlinearity}
    layer = getattr(mg.nn, layer_kind)(3, 4, dtype="float64", **kwargs)
    cell = make_cell(mode, 3, 4)
    cell.load_state_dict({k.removesuffix("_l0"): v for k, v in layer.state_dict().items()})
    x = mg.tensor(np.random.default_rng(4).standard_normal((2, 6, 3)))
    out, _ = layer(x)
    state = None
    for t in range(6):
        state = cell(x[:, t]) if state is None else cell(x[:, t], state)
        h = state[0] if mode == "lstm" else state
        close(h.numpy(), out[:, t].numpy(), rtol=1e-12)


# -- checks ----------------------------------------------------------------------------


@pytest.mark.parametrize("mode", list(MODES))
def test_wrong_input_size_names_expected_shape(backend, mode):
    cell = make_cell(mode, 3, 4)
    for shape in [(2, 5), (5,), (2, 3, 1), (1, 2, 3)]:
        with pytest.raises(ValueError, match=re.escape("(N, 3)")) as info:
            cell(mg.zeros(*shape, dtype="float64"))
        assert str(shape) in str(info.value)


@pytest.mark.parametrize("mode", list(MODES))
def test_wrong_state_shape_names_expected_shape(backend, mode):
    cell = make_cell(mode, 3, 4)
    x = mg.zeros(2, 3, dtype="float64")
    good = mg.zeros(2, 4, dtype="float64")
    for bad_shape in [(2, 5), (3, 4), (4,), (1, 2, 4)]:
        bad = mg.zeros(*bad_shape, dtype="float64")
        states = [(bad, good), (good, bad)] if mode == "lstm" else [bad]
        for state in states:
            with pytest.raises(ValueError, match=re.escape("(2, 4)")) as info:
                cell(x, state)
            assert str(bad_shape) in str(info.value)
    # unbatched input wants an unbatched state
    with pytest.raises(ValueError, match=re.escape("(4,)")):
        xu = mg.zeros(3, dtype="float64")
        cell(xu, (good, good) if mode == "lstm" else good)


def test_bad_cell_arguments():
    with pytest.raises(ValueError, match="nonlinearity"):
        mg.nn.RNNCell(2, 3, nonlinearity="gelu")
    for cls in (mg.nn.RNNCell, mg.nn.LSTMCell, mg.nn.GRUCell):
        with pytest.raises(ValueError):
            cls(0, 3)
        with pytest.raises(ValueError):
            cls(2, 0)


# -- parameters -------------------------------------------------------------------------


@requires_torch
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("mode", TORCH_MODES)
def test_cell_parameter_names_and_shapes_match_torch(mode, bias):
    ours = [(n, p.shape) for n, p in make_cell(mode, 3, 5, bias=bias).named_parameters()]
    theirs = [(n, tuple(p.shape)) for n, p in make_torch_cell(mode, 3, 5, bias=bias).named_parameters()]
    assert ours == theirs


@pytest.mark.parametrize("mode", list(MODES))
def test_cell_parameters_without_torch(mode):
    gates = {"lstm": 4, "gru": 3}.get(mode, 1)
    cell = make_cell(mode, 3, 5)
    assert [(n, p.shape) for n, p in cell.named_parameters()] == [
        ("weight_ih", (5 * gates, 3)), ("weight_hh", (5 * gates, 5)), ("bias_ih", (5 * gates,)),
        ("bias_hh", (5 * gates,)),
    ]
    assert [n for n, _ in make_cell(mode, 3, 5, bias=False).named_parameters()] == ["weight_ih", "weight_hh"]


@pytest.mark.parametrize("mode", list(MODES))
def test_cell_initialisation(backend, mode):
    H = 25
    k = 1 / math.sqrt(H)
    cell = make_cell(mode, 7, H)
    v = np.concatenate([p.numpy().ravel() for p in cell.parameters()])
    assert np.all(np.abs(v) <= k)
    assert v.max() > 0.95 * k and v.min() < -0.95 * k
    assert abs(v.mean()) < 5 * k / math.sqrt(3 * len(v))
    assert len(np.unique(v)) == len(v)


@pytest.mark.parametrize("mode", list(MODES))
def test_cell_keeps_no_state(backend, mode):
    cell = make_cell(mode, 3, 4)
    x = mg.tensor(np.random.default_rng(5).standard_normal((2, 3)))
    a = as_list(cell(x))
    h = mg.tensor(np.ones((2, 4)))
    cell(x, (h, h) if mode == "lstm" else h)
    b = as_list(cell(x))
    for s, t in zip(a, b):
        np.testing.assert_array_equal(s.numpy(), t.numpy())
    for name, value in vars(cell).items():
        if isinstance(value, Tensor):
            assert cell._parameters.get(name) is value, name
