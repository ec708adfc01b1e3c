"""Multi-step recurrent layers (RNN, LSTM, GRU): BPTT gradcheck, PyTorch parity,
exact padded batches, argument checks, dropout between layers, stateless
modules, very long sequences, and PyTorch's parameter names and initialisation."""

from __future__ import annotations

import contextlib
import itertools
import math
import re
import zlib

import numpy as np
import pytest
from conftest import gc_disabled, requires_torch

import minigrad as mg
from minigrad.nn import Parameter
from minigrad.tensor import Tensor

# every test runs on each twin of the layers: composed, fused, fused with compiled loops
pytestmark = pytest.mark.usefixtures("impl")

try:
    import torch
    from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence
except ImportError:  # the torch tests are skipped by requires_torch
    torch = None

# mode -> (layer class name, nonlinearity or None)
MODES = {
    "rnn_tanh": ("RNN", "tanh"),
    "rnn_relu": ("RNN", "relu"),
    "rnn_sigmoid": ("RNN", "sigmoid"),
    "lstm": ("LSTM", None),
    "gru": ("GRU", None),
}
TORCH_MODES = ["rnn_tanh", "rnn_relu", "lstm", "gru"]
KINDS = ["rnn_tanh", "lstm", "gru"]  # one mode per layer class


# -- helpers -------------------------------------------------------------------


def make_layer(mode: str, input_size: int, hidden_size: int, **kwargs) -> mg.nn.Module:
    kind, nonlinearity = MODES[mode]
    if nonlinearity is not None:
        kwargs["nonlinearity"] = nonlinearity
    return getattr(mg.nn, kind)(input_size, hidden_size, dtype="float64", **kwargs)


def make_torch_layer(mode: str, input_size: int, hidden_size: int, **kwargs):
    kind, nonlinearity = MODES[mode]
    if nonlinearity is not None:
        kwargs["nonlinearity"] = nonlinearity
    return getattr(torch.nn, kind)(input_size, hidden_size, **kwargs).double()


def load_from_torch(layer, torch_layer) -> None:
    layer.load_state_dict({k: v.detach().numpy() for k, v in torch_layer.state_dict().items()})


def states(state) -> list:
    """``h_n`` or ``(h_n, c_n)`` as a list."""
    return list(state) if isinstance(state, tuple) else [state]


def flatten_result(output: Tensor, state) -> Tensor:
    """Output and every final state in one vector, so gradcheck checks them all."""
    return mg.concat([output.reshape(-1)] + [s.reshape(-1) for s in states(state)])


def close(actual, expected, rtol=1e-6, atol=1e-10) -> None:
    np.testing.assert_allclose(np.asarray(actual), np.asarray(expected), rtol=rtol, atol=atol)


@contextlib.contextmanager
def swapped_parameters(module, tensors: dict):
    """Put ``tensors`` (keyed by dotted parameter name) in place of the module's parameters.

    ``object.__setattr__`` skips Module's registration, so ``named_parameters()``
    still lists the originals while ``forward`` (which reads the attributes)
    uses the given tensors, and the graph runs from them. Restored afterwards.
    """
    saved = []
    for name, t in tensors.items():
        *path, attr = name.split(".")
        owner = module
        for part in path:
            owner = getattr(owner, part)
        saved.append((owner, attr, getattr(owner, attr)))
        object.__setattr__(owner, attr, t)
    try:
        yield
    finally:
        for owner, attr, original in reversed(saved):
            object.__setattr__(owner, attr, original)


def gradcheck_module(module, run, inputs: dict) -> None:
    """``mg.gradcheck`` of ``run(**inputs)`` with every parameter of ``module`` as an input too.

    Also checks that the check is not vacuous: each differentiated tensor got a
    non-zero analytic gradient, and the module's own parameters got none (so
    the forward really read the gradcheck-provided tensors).
    """
    names = [n for n, _ in module.named_parameters()]
    assert not set(names) & set(inputs)
    first_call: dict = {}

    def fn(**kw):
        if not first_call:
            first_call.update(kw)
        with swapped_parameters(module, {n: kw[n] for n in names}):
            return run(**{k: v for k, v in kw.items() if k not in names})

    module.zero_grad()
    assert mg.gradcheck(fn, {**dict(module.named_parameters()), **inputs})
    assert set(first_call) == set(names) | set(inputs)
    for name, t in first_call.items():
        assert t.grad is not None, f"{name} got no gradient"
        assert np.abs(t.grad.numpy()).max() > 0, f"{name} got an all-zero gradient"
    assert all(p.grad is None for p in module.parameters())
    for name, p in module.named_parameters():  # the parameters are back in place
        *path, attr = name.split(".")
        owner = module
        for part in path:
            owner = getattr(owner, part)
        assert getattr(owner, attr) is p


# -- gradcheck -------------------------------------------------------------------

_FOUR = ["rnn_tanh", "rnn_relu", "lstm", "gru"]
# every combination of (num_layers, bidirectional, lengths, hx), for every mode
_ALL = list(itertools.product([1, 2], [False, True], [False, True], [False, True]))
GRADCHECK_CONFIGS = (
    [(m, *c) for m in _FOUR for c in _ALL]
    + [("rnn_sigmoid", 1, False, False, False), ("rnn_sigmoid", 1, True, True, True)]
)


@pytest.mark.parametrize(
    "mode,num_layers,bidirectional,use_lengths,use_hx",
    GRADCHECK_CONFIGS,
    ids=[f"{m}-L{n}-{'bi' if b else 'uni'}-{'len' if ln else 'full'}-{'hx' if h else 'nohx'}"
         for m, n, b, ln, h in GRADCHECK_CONFIGS],
)
def test_layer_gradcheck(backend, mode, num_layers, bidirectional, use_lengths, use_hx):
    N, T, I, H = 2, 3, 2, 2
    D = 2 if bidirectional else 1
    rng = np.random.default_rng(zlib.crc32(repr((mode, num_layers, bidirectional, use_lengths, use_hx)).encode()))
    mg.manual_seed(3)
    layer = make_layer(mode, I, H, num_layers=num_layers, bidirectional=bidirectional)
    if mode == "rnn_relu":  # positive biases keep units alive, so no gradient is legitimately all zero
        for name, p in layer.named_parameters():
            if name.startswith("bias"):
                p.data = abs(p.data) + 0.3
    lengths = [3, 2] if use_lengths else None
    inputs = {"x": mg.tensor(rng.standard_normal((N, T, I)))}
    if use_hx:
        inputs["h0"] = mg.tensor(rng.standard_normal((D * num_layers, N, H)))
        if mode == "lstm":
            inputs["c0"] = mg.tensor(rng.standard_normal((D * num_layers, N, H)))

    def run(x, h0=None, c0=None):
        hx = None if h0 is None else ((h0, c0) if c0 is not None else h0)
        output, state = layer(x, hx, lengths=lengths)
        return flatten_result(output, state)

    gradcheck_module(layer, run, inputs)


def test_gradcheck_helper_detects_a_wrong_gradient(backend):
    """The swap helper is not vacuous: a gradient error in the forward is caught."""
    layer = make_layer("rnn_tanh", 2, 2)
    x = mg.tensor(np.random.default_rng(0).standard_normal((2, 3, 2)))

    def run(x):
        output, _ = layer(x)
        w = layer.weight_hh_l0
        # w.detach() * w: the true gradient is 2w, autograd sees only w
        return output.reshape(-1).sum() * (w.detach() * w).sum()

    with pytest.raises(mg.GradcheckError, match="weight_hh_l0"):
        gradcheck_module(layer, run, {"x": x})
    assert isinstance(layer.weight_hh_l0, Parameter)  # restored after the failure


# -- parity with torch.nn -------------------------------------------------------


def run_torch_layer(tlayer, x_np, hx_np, lengths, batch_first, weights):
    """Forward + backward of a torch layer; returns outputs, states and gradients as NumPy."""
    x = torch.tensor(x_np, requires_grad=True)
    hx = None if hx_np is None else tuple(torch.tensor(h, requires_grad=True) for h in hx_np)
    arg = None if hx is None else (hx if len(hx) == 2 else hx[0])
    if lengths is None:
        out, state = tlayer(x, arg)
    else:
        T = x_np.shape[1 if batch_first else 0]
        packed = pack_padded_sequence(x, torch.tensor(lengths), batch_first=batch_first, enforce_sorted=False)
        out, state = tlayer(packed, arg)
        out, _ = pad_packed_sequence(out, batch_first=batch_first, total_length=T)
    parts = states(state)
    loss = (out * torch.tensor(weights[0])).sum()
    for s, w in zip(parts, weights[1:]):
        loss = loss + (s * torch.tensor(w)).sum()
    loss.backward()
    return {
        "output": out.detach().numpy(),
        "states": [s.detach().numpy() for s in parts],
        "x_grad": x.grad.numpy(),
        "hx_grads": [] if hx is None else [h.grad.numpy() for h in hx],
        "param_grads": {n: p.grad.numpy() for n, p in tlayer.named_parameters()},
    }


def run_mg_layer(layer, x_np, hx_np, lengths, weights):
    x = mg.tensor(x_np, requires_grad=True)
    hx = None if hx_np is None else tuple(mg.tensor(h, requires_grad=True) for h in hx_np)
    arg = None if hx is None else (hx if len(hx) == 2 else hx[0])
    layer.zero_grad()
    out, state = layer(x, arg, lengths=lengths)
    parts = states(state)
    loss = (out * mg.tensor(weights[0])).sum()
    for s, w in zip(parts, weights[1:]):
        loss = loss + (s * mg.tensor(w)).sum()
    loss.backward()
    return {
        "output": out.numpy(),
        "states": [s.numpy() for s in parts],
        "x_grad": x.grad.numpy(),
        "hx_grads": [] if hx is None else [h.grad.numpy() for h in hx],
        "param_grads": {n: p.grad.numpy() for n, p in layer.named_parameters()},
    }


def assert_same_results(ours: dict, ref: dict) -> None:
    close(ours["output"], ref["output"])
    assert len(ours["states"]) == len(ref["states"])
    for a, b in zip(ours["states"], ref["states"]):
        close(a, b)
    close(ours["x_grad"], ref["x_grad"])
    assert len(ours["hx_grads"]) == len(ref["hx_grads"])
    for a, b in zip(ours["hx_grads"], ref["hx_grads"]):
        close(a, b)
    assert list(ours["param_grads"]) == list(ref["param_grads"])
    for name in ref["param_grads"]:
        close(ours["param_grads"][name], ref["param_grads"][name])


# (num_layers, bidirectional, batch_first, lengths, hx): batch first with every
# combination; time first (PyTorch's default layout) on the extremes.
TORCH_CONFIGS = [(L, bi, True, ln, hx) for L, bi in [(1, False), (1, True), (2, False), (2, True)]
                 for ln in (False, True) for hx in (False, True)] + [
    (L, bi, False, ln, hx) for L, bi in [(1, False), (2, True)] for ln, hx in [(False, False), (True, True)]
]


@requires_torch
@pytest.mark.parametrize(
    "num_layers,bidirectional,batch_first,use_lengths,use_hx",
    TORCH_CONFIGS,
    ids=[f"L{n}-{'bi' if b else 'uni'}-{'bf' if f else 'tf'}-{'len' if ln else 'full'}-{'hx' if h else 'nohx'}"
         for n, b, f, ln, h in TORCH_CONFIGS],
)
@pytest.mark.parametrize("mode", TORCH_MODES)
def test_layer_matches_torch(backend, mode, num_layers, bidirectional, batch_first, use_lengths, use_hx):
    N, T, I, H = 3, 4, 3, 4
    D = 2 if bidirectional else 1
    torch.manual_seed(0)
    tlayer = make_torch_layer(mode, I, H, num_layers=num_layers, bidirectional=bidirectional,
                              batch_first=batch_first)
    layer = make_layer(mode, I, H, num_layers=num_layers, bidirectional=bidirectional, batch_first=batch_first)
    load_from_torch(layer, tlayer)
    rng = np.random.default_rng(1)
    x_np = rng.standard_normal((N, T, I) if batch_first else (T, N, I))
    # unsorted, and the longest shorter than T, so total_length matters
    lengths = [3, 1, 2] if use_lengths else None
    n_states = 2 if mode == "lstm" else 1
    hx_np = [rng.standard_normal((D * num_layers, N, H)) for _ in range(n_states)] if use_hx else None
    out_shape = (N, T, D * H) if batch_first else (T, N, D * H)
    weights = [rng.standard_normal(out_shape)] + [rng.standard_normal((D * num_layers, N, H)) for _ in range(n_states)]
    ref = run_torch_layer(tlayer, x_np, hx_np, lengths, batch_first, weights)
    ours = run_mg_layer(layer, x_np, hx_np, lengths, weights)
    assert ours["output"].shape == out_shape
    assert_same_results(ours, ref)
    if use_lengths:  # and padded steps really are zero (torch pads with zeros too)
        pad = ours["output"][:, 3] if batch_first else ours["output"][3]
        assert np.all(pad == 0)


@requires_torch
@pytest.mark.parametrize("bias", [True, False], ids=["bias", "nobias"])
@pytest.mark.parametrize("mode", TORCH_MODES)
def test_layer_without_bias_matches_torch(backend, mode, bias):
    torch.manual_seed(1)
    tlayer = make_torch_layer(mode, 2, 3, num_layers=2, bias=bias, batch_first=True)
    layer = make_layer(mode, 2, 3, num_layers=2, bias=bias)
    load_from_torch(layer, tlayer)
    rng = np.random.default_rng(2)
    x_np = rng.standard_normal((2, 5, 2))
    n = 2 if mode == "lstm" else 1
    weights = [rng.standard_normal((2, 5, 3))] + [rng.standard_normal((2, 2, 3)) for _ in range(n)]
    assert_same_results(run_mg_layer(layer, x_np, None, [5, 3], weights),
                        run_torch_layer(tlayer, x_np, None, [5, 3], True, weights))


@requires_torch
@pytest.mark.parametrize("use_hx", [False, True], ids=["nohx", "hx"])
@pytest.mark.parametrize("num_layers,bidirectional", [(1, False), (2, True)], ids=["L1-uni", "L2-bi"])
@pytest.mark.parametrize("mode", TORCH_MODES)
def test_unbatched_input_matches_torch(backend, mode, num_layers, bidirectional, use_hx):
    T, I, H = 4, 3, 2
    D = 2 if bidirectional else 1
    torch.manual_seed(2)
    tlayer = make_torch_layer(mode, I, H, num_layers=num_layers, bidirectional=bidirectional)
    layer = make_layer(mode, I, H, num_layers=num_layers, bidirectional=bidirectional)
    load_from_torch(layer, tlayer)
    rng = np.random.default_rng(3)
    x_np = rng.standard_normal((T, I))
    n = 2 if mode == "lstm" else 1
    hx_np = [rng.standard_normal((D * num_layers, H)) for _ in range(n)] if use_hx else None
    weights = [rng.standard_normal((T, D * H))] + [rng.standard_normal((D * num_layers, H)) for _ in range(n)]
    ours = run_mg_layer(layer, x_np, hx_np, None, weights)
    assert ours["output"].shape == (T, D * H)
    assert all(s.shape == (D * num_layers, H) for s in ours["states"])
    assert_same_results(ours, run_torch_layer(tlayer, x_np, hx_np, None, True, weights))


def numpy_elman(x, params, num_layers, directions, f):
    """Reference Elman network in plain NumPy (N, T, I) -> outputs, h_n."""
    N, T, _ = x.shape
    finals = []
    for layer in range(num_layers):
        outs = []
        for d in range(directions):
            sfx = f"_l{layer}" + ("_reverse" if d else "")
            w_ih, w_hh = params["weight_ih" + sfx], params["weight_hh" + sfx]
            b = params["bias_ih" + sfx] + params["bias_hh" + sfx]
            h = np.zeros((N, w_hh.shape[1]))
            out = np.zeros((N, T, w_hh.shape[1]))
            for t in (reversed(range(T)) if d else range(T)):
                h = f(x[:, t] @ w_ih.T + h @ w_hh.T + b)
                out[:, t] = h
            outs.append(out)
            finals.append(h)
        x = np.concatenate(outs, axis=-1)
    return x, np.stack(finals)


@pytest.mark.parametrize("nonlinearity", ["sigmoid", "relu", "tanh"])
def test_rnn_nonlinearities_match_numpy_reference(backend, nonlinearity):
    """The sigmoid RNN has no torch counterpart: check all three against NumPy."""
    f = {"tanh": np.tanh, "relu": lambda a: np.maximum(a, 0), "sigmoid": lambda a: 1 / (1 + np.exp(-a))}[nonlinearity]
    layer = make_layer("rnn_" + nonlinearity, 3, 4, num_layers=2, bidirectional=True)
    x = np.random.default_rng(4).standard_normal((2, 5, 3))
    out, h_n = layer(mg.tensor(x))
    ref_out, ref_h = numpy_elman(x, layer.state_dict(), 2, 2, f)
    close(out.numpy(), ref_out, rtol=1e-12)
    close(h_n.numpy(), ref_h, rtol=1e-12)


# -- padded batches -------------------------------------------------------------


def padded_case(mode, seed=5):
    N, T, I, H, L = 3, 5, 2, 3, 2
    lengths = [5, 2, 4]
    mg.manual_seed(seed)
    layer = make_layer(mode, I, H, num_layers=L, bidirectional=True)
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((N, T, I))
    n = 2 if mode == "lstm" else 1
    hx = [rng.standard_normal((2 * L, N, H)) for _ in range(n)]
    weights = [rng.standard_normal((N, T, 2 * H))] + [rng.standard_normal((2 * L, N, H)) for _ in range(n)]
    return layer, lengths, x, hx, weights


@pytest.mark.parametrize("mode", KINDS)
def test_padded_batch_equals_each_sequence_alone(backend, mode):
    layer, lengths, x_np, hx_np, weights = padded_case(mode)
    for i, n in enumerate(lengths):
        x_np[i, n:] = 7.0  # padding the layer must ignore
    batch = run_mg_layer(layer, x_np, hx_np, lengths, weights)

    param_sum = {k: np.zeros_like(v) for k, v in batch["param_grads"].items()}
    for i, n in enumerate(lengths):
        w_i = [weights[0][i : i + 1, :n]] + [w[:, i : i + 1] for w in weights[1:]]
        alone = run_mg_layer(layer, x_np[i : i + 1, :n], [h[:, i : i + 1] for h in hx_np], None, w_i)
        close(batch["output"][i, :n], alone["output"][0], rtol=1e-10)
        assert np.all(batch["output"][i, n:] == 0.0)
        for a, b in zip(batch["states"], alone["states"]):
            close(a[:, i], b[:, 0], rtol=1e-10)
        close(batch["x_grad"][i, :n], alone["x_grad"][0], rtol=1e-10)
        assert np.all(batch["x_grad"][i, n:] == 0.0)
        for a, b in zip(batch["hx_grads"], alone["hx_grads"]):
            close(a[:, i], b[:, 0], rtol=1e-10)
        for k, g in alone["param_grads"].items():
            param_sum[k] += g
    for k, g in batch["param_grads"].items():
        close(g, param_sum[k], rtol=1e-10)


@pytest.mark.parametrize("mode", KINDS)
def test_garbage_in_padding_changes_nothing(backend, mode):
    layer, lengths, x_np, hx_np, weights = padded_case(mode, seed=6)
    clean, dirty = x_np.copy(), x_np.copy()
    for i, n in enumerate(lengths):
        clean[i, n:] = 0.0
        dirty[i, n:] = 1e6
        dirty[i, n + 1 :: 2] = np.nan
    assert np.isnan(dirty).any()
    a = run_mg_layer(layer, clean, hx_np, lengths, weights)
    b = run_mg_layer(layer, dirty, hx_np, lengths, weights)
    np.testing.assert_array_equal(a["output"], b["output"])
    for s, t in zip(a["states"], b["states"]):
        np.testing.assert_array_equal(s, t)
    np.testing.assert_array_equal(a["x_grad"], b["x_grad"])
    for s, t in zip(a["hx_grads"], b["hx_grads"]):
        np.testing.assert_array_equal(s, t)
    for k in a["param_grads"]:
        np.testing.assert_array_equal(a["param_grads"][k], b["param_grads"][k])
        assert np.isfinite(b["param_grads"][k]).all()
    for i, n in enumerate(lengths):
        assert np.all(b["output"][i, n:] == 0.0)
        assert np.all(b["x_grad"][i, n:] == 0.0)


@pytest.mark.parametrize("mode", KINDS)
def test_lengths_all_full_equals_no_lengths(backend, mode):
    layer, _, x_np, hx_np, weights = padded_case(mode, seed=8)
    a = run_mg_layer(layer, x_np, hx_np, None, weights)
    b = run_mg_layer(layer, x_np, hx_np, np.array([5, 5, 5]), weights)
    close(a["output"], b["output"], rtol=1e-12)
    close(a["x_grad"], b["x_grad"], rtol=1e-12)


# -- argument checks ---------------------------------------------------------------


@pytest.mark.parametrize(
    "lengths",
    [[3], [3, 2, 1], [3, 0], [3, -1], [3, 4], [3.0, 2.0], np.array([3.0, 2.0]), "ab", "abc", 3, [3, None],
     [True, 2]],
    ids=["too-few", "too-many", "zero", "negative", "longer-than-T", "floats", "float-array", "string",
         "string-3", "scalar", "none-item", "bool"],
)
@pytest.mark.parametrize("mode", KINDS)
def test_bad_lengths_raise_clear_errors(backend, mode, lengths):
    layer = make_layer(mode, 2, 3)
    x = mg.zeros(2, 3, 2, dtype="float64")
    with pytest.raises((ValueError, TypeError), match="lengths"):
        layer(x, lengths=lengths)


def test_lengths_accepts_int_arrays_and_tensors(backend):
    layer = make_layer("gru", 2, 3)
    x = mg.tensor(np.random.default_rng(0).standard_normal((2, 3, 2)))
    ref, _ = layer(x, lengths=[3, 2])
    for lengths in (np.array([3, 2]), mg.tensor([3, 2]), (3, 2)):
        out, _ = layer(x, lengths=lengths)
        np.testing.assert_array_equal(out.numpy(), ref.numpy())


@pytest.mark.parametrize("batch_first", [True, False])
@pytest.mark.parametrize("mode", KINDS)
def test_wrong_input_size_names_expected_shape(backend, mode, batch_first):
    layer = make_layer(mode, 3, 4, batch_first=batch_first)
    for shape in [(2, 5, 4), (5, 2), (2, 5, 3, 1), (3,)]:
        with pytest.raises(ValueError, match=re.escape("I = 3")) as info:
            layer(mg.zeros(*shape, dtype="float64"))
        assert str(shape) in str(info.value)
        assert ("(N, T, I)" if batch_first else "(T, N, I)") in str(info.value)


def test_non_tensor_input_is_a_type_error(backend):
    with pytest.raises(TypeError, match="Tensor"):
        make_layer("rnn_tanh", 2, 3)(np.zeros((1, 2, 2)))


@pytest.mark.parametrize("num_layers,bidirectional", [(1, False), (2, True)])
@pytest.mark.parametrize("mode", KINDS)
def test_wrong_hx_shape_names_expected_shape(backend, mode, num_layers, bidirectional):
    N, H = 2, 4
    D = 2 if bidirectional else 1
    layer = make_layer(mode, 3, H, num_layers=num_layers, bidirectional=bidirectional)
    x = mg.zeros(N, 5, 3, dtype="float64")
    expected = (D * num_layers, N, H)
    good = mg.zeros(*expected, dtype="float64")
    for bad_shape in [(D * num_layers, N, H + 1), (D * num_layers + 1, N, H), (N, H), (D * num_layers, N + 1, H)]:
        bad = mg.zeros(*bad_shape, dtype="float64")
        hxs = [(bad, good), (good, bad)] if mode == "lstm" else [bad]
        for hx in hxs:
            with pytest.raises(ValueError, match=re.escape(str(expected))) as info:
                layer(x, hx)
            assert str(bad_shape) in str(info.value)
    if mode == "lstm":
        with pytest.raises(TypeError, match="hx"):
            layer(x, good)
    # and the right shape works
    layer(x, (good, good) if mode == "lstm" else good)


def test_wrong_hx_shape_for_unbatched_input_names_unbatched_shape(backend):
    layer = make_layer("gru", 3, 4)
    x = mg.zeros(5, 3, dtype="float64")
    layer(x, mg.zeros(1, 4, dtype="float64"))  # the right shape works
    with pytest.raises(ValueError) as info:
        layer(x, mg.zeros(1, 1, 4, dtype="float64"))
    assert "(1, 4)" in str(info.value) and "(1, 1, 4)" in str(info.value)
    assert "(1, 1, 1, 4)" not in str(info.value)


@pytest.mark.parametrize("kwargs", [{"input_size": 0}, {"hidden_size": 0}, {"num_layers": 0},
                                    {"dropout": 1.0}, {"dropout": -0.1}])
def test_bad_constructor_arguments(kwargs):
    args = {"input_size": 2, "hidden_size": 3}
    args.update(kwargs)
    with pytest.raises(ValueError):
        mg.nn.LSTM(**args)


def test_bad_nonlinearity():
    with pytest.raises(ValueError, match="nonlinearity"):
        mg.nn.RNN(2, 3, nonlinearity="softplus")


# -- dropout between stacked layers ---------------------------------------------------


@pytest.mark.parametrize("mode", KINDS)
def test_dropout_between_layers(backend, mode):
    layer = make_layer(mode, 3, 4, num_layers=2, dropout=0.5)
    plain = make_layer(mode, 3, 4, num_layers=2, dropout=0.0)
    plain.load_state_dict(layer.state_dict())
    x = mg.tensor(np.random.default_rng(9).standard_normal((2, 6, 3)))

    def call(model, seed):
        mg.manual_seed(seed)
        out, state = model(x)
        return out.numpy(), states(state)[0].numpy()

    # train mode: the mask depends on the seed; repeatable with the same seed
    (a, ha), (b, hb), (a2, _) = call(layer, 1), call(layer, 2), call(layer, 1)
    assert not np.allclose(a, b)
    np.testing.assert_array_equal(a, a2)
    # between layers only: layer 0's final state never sees dropout, layer 1's does
    (p, hp) = call(plain, 1)
    close(ha[0], hp[0], rtol=1e-12)
    close(hb[0], hp[0], rtol=1e-12)
    assert not np.allclose(ha[1], hb[1])
    assert not np.allclose(a, p)
    # dropout=0 in train mode: no randomness at all
    np.testing.assert_array_equal(call(plain, 1)[0], call(plain, 2)[0])
    # eval mode: deterministic and equal to the dropout-free model with the same weights
    layer.eval()
    (e1, he1), (e2, _) = call(layer, 1), call(layer, 2)
    np.testing.assert_array_equal(e1, e2)
    close(e1, p, rtol=1e-12)
    close(he1, hp, rtol=1e-12)
    layer.train()
    assert not np.allclose(call(layer, 1)[0], call(layer, 2)[0])


def test_dropout_with_one_layer_does_nothing(backend):
    layer = make_layer("lstm", 3, 4, num_layers=1, dropout=0.5)
    x = mg.tensor(np.random.default_rng(10).standard_normal((2, 6, 3)))
    mg.manual_seed(1)
    a, _ = layer(x)
    mg.manual_seed(2)
    b, _ = layer(x)
    np.testing.assert_array_equal(a.numpy(), b.numpy())


# -- state is returned, never stored ----------------------------------------------------


def assert_no_tensor_attributes(module) -> None:
    for m in module.modules():
        for name, value in vars(m).items():
            if isinstance(value, Tensor):
                assert isinstance(value, Parameter) and m._parameters.get(name) is value, (
                    f"{type(m).__name__}.{name} holds a tensor that is not a registered parameter"
                )


@pytest.mark.parametrize("mode", KINDS)
def test_hidden_state_is_not_kept_on_the_module(backend, mode):
    layer = make_layer(mode, 3, 4, num_layers=2, bidirectional=True)
    before = {id(v) for v in vars(layer).values()}
    rng = np.random.default_rng(11)
    x = mg.tensor(rng.standard_normal((2, 5, 3)), requires_grad=True)
    n = 2 if mode == "lstm" else 1
    hx = tuple(mg.tensor(rng.standard_normal((4, 2, 4))) for _ in range(n))
    out1, s1 = layer(x)
    out1.sum().backward()
    # a call with a non-zero initial state must not leak into the next call
    layer(x, hx if n == 2 else hx[0], lengths=[5, 3])
    out2, s2 = layer(x)
    np.testing.assert_array_equal(out1.numpy(), out2.numpy())
    for a, b in zip(states(s1), states(s2)):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert {id(v) for v in vars(layer).values()} == before
    assert_no_tensor_attributes(layer)


# -- very long sequences -------------------------------------------------------------------


def test_lstm_over_5000_steps_backward_without_recursion_error(backend):
    mg.manual_seed(12)
    layer = make_layer("lstm", 2, 4)
    x = mg.tensor(np.random.default_rng(12).standard_normal((1, 5000, 2)), requires_grad=True)
    with gc_disabled():  # only for speed: the cyclic GC would rescan the growing graph
        out, (_h, c) = layer(x)
        loss = out[:, -1].sum() + out[:, 0].sum() + c.sum()
        loss.backward()  # must not raise RecursionError
    assert out.shape == (1, 5000, 4)
    assert np.isfinite(x.grad.numpy()).all()
    assert np.abs(x.grad.numpy()[0, 0]).max() > 0  # the first step gets a gradient through out[:, 0]
    for name, p in layer.named_parameters():
        g = p.grad.numpy()
        assert np.isfinite(g).all() and np.abs(g).max() > 0, name


# -- parameter names, shapes, initialisation -------------------------------------------------

NAME_CONFIGS = [(m, L, bi, bias) for m in TORCH_MODES for L in (1, 2, 3) for bi in (False, True)
                for bias in (True, False)]


@requires_torch
@pytest.mark.parametrize("mode,num_layers,bidirectional,bias", NAME_CONFIGS)
def test_parameter_names_order_and_shapes_match_torch(mode, num_layers, bidirectional, bias):
    kw = {"num_layers": num_layers, "bidirectional": bidirectional, "bias": bias}
    tlayer = make_torch_layer(mode, 3, 5, **kw)
    layer = make_layer(mode, 3, 5, **kw)
    ours = [(n, p.shape) for n, p in layer.named_parameters()]
    theirs = [(n, tuple(p.shape)) for n, p in tlayer.named_parameters()]
    assert ours == theirs
    assert list(layer.state_dict()) == list(tlayer.state_dict())


def test_parameter_names_without_torch():
    layer = mg.nn.LSTM(3, 5, num_layers=2, bidirectional=True)
    suffixes = ["_l0", "_l0_reverse", "_l1", "_l1_reverse"]
    expected = [f"{w}{s}" for s in suffixes for w in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
    assert [n for n, _ in layer.named_parameters()] == expected
    shapes = {n: p.shape for n, p in layer.named_parameters()}
    assert shapes["weight_ih_l0"] == (20, 3)
    assert shapes["weight_ih_l1_reverse"] == (20, 10)
    assert shapes["weight_hh_l1"] == (20, 5)
    assert shapes["bias_hh_l0_reverse"] == (20,)


@pytest.mark.parametrize("mode", TORCH_MODES)
def test_initialisation_is_uniform_in_plus_minus_one_over_sqrt_h(backend, mode):
    H = 16
    k = 1 / math.sqrt(H)
    layer = make_layer(mode, 5, H, num_layers=2, bidirectional=True)
    everything = []
    for name, p in layer.named_parameters():
        v = p.numpy()
        assert np.all(np.abs(v) <= k), name
        everything.append(v.ravel())
    v = np.concatenate(everything)
    assert v.max() > 0.95 * k and v.min() < -0.95 * k  # spans the interval
    assert abs(v.mean()) < 5 * k / math.sqrt(3 * len(v))  # centred (5 standard errors)
    assert len(np.unique(v)) == len(v)  # no two parameters initialised alike


def test_default_dtype_is_float32_and_batch_first_is_true(backend):
    layer = mg.nn.GRU(2, 3)
    assert layer.batch_first is True
    assert all(p.dtype == np.float32 for p in layer.parameters())
    out, h = layer(mg.zeros(4, 7, 2))
    assert out.shape == (4, 7, 3) and h.shape == (1, 4, 3)
