"""The twins: fused sequence kernels against the composed layers they replace.

For the full product of configurations (cell, nonlinearity, layers,
directions, lengths, initial state, bias, layout, unbatched input, dropout),
the fused kernels (with Python time loops, and with compiled loops where numba
is installed) give the composed loop's outputs, final states and every
gradient (input, initial state, each parameter) in float64 to rtol 1e-9.
PyTorch parity of both paths is in test_rnn.py, which runs on every twin.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from conftest import _impl_params, compiled_loops

import minigrad as mg
from minigrad import ops

CELLS = [("RNN", {"nonlinearity": "tanh"}), ("RNN", {"nonlinearity": "relu"}), ("RNN", {"nonlinearity": "sigmoid"}),
         ("LSTM", {}), ("GRU", {})]
CONFIGS = list(itertools.product(
    range(len(CELLS)),
    [(1, False), (2, False), (1, True), (2, True)],  # (num_layers, bidirectional)
    [None, [5, 2, 5, 1]],  # lengths
    [False, True],  # initial state given
))
FUSED = [p for p in _impl_params() if p.id != "composed"]
RTOL, ATOL = 1e-9, 1e-12


def _run(net, x_data, lengths, hx_data, impl, seed=0):
    """Outputs, final states and every gradient of one forward and weighted backward."""
    mg.manual_seed(seed)
    net.zero_grad()
    x = mg.tensor(x_data, requires_grad=True)
    hx = None
    if hx_data is not None:
        hx = tuple(mg.tensor(h, requires_grad=True) for h in hx_data)
        hx = hx if isinstance(net, mg.nn.LSTM) else hx[0]
    with mg.nn.recurrent_impl(impl):
        out, state = net(x, hx, lengths=lengths)
    states = state if isinstance(state, tuple) else (state,)
    w = np.linspace(-1.0, 1.5, out.numel()).reshape(out.shape)
    loss = (out * mg.tensor(w)).sum() + sum((s * s * (k + 1.3)).sum() for k, s in enumerate(states))
    loss.backward()
    grads = [x.grad.numpy()] + [p.grad.numpy() for p in net.parameters()]
    if hx is not None:
        grads += [h.grad.numpy() for h in (hx if isinstance(hx, tuple) else (hx,))]
    return [out.numpy()] + [s.numpy() for s in states] + grads


def _compare(fused, composed):
    assert len(fused) == len(composed)
    for k, (a, b) in enumerate(zip(fused, composed)):
        assert a.shape == b.shape, k
        np.testing.assert_allclose(a, b, rtol=RTOL, atol=ATOL, err_msg=f"array {k}")


@pytest.mark.parametrize("fused", FUSED)
@pytest.mark.parametrize("config", CONFIGS, ids=lambda c: f"{CELLS[c[0]][0]}{CELLS[c[0]][1].get('nonlinearity', '')}"
                         f"-L{c[1][0]}{'-bi' if c[1][1] else ''}{'-len' if c[2] else ''}{'-hx' if c[3] else ''}")
def test_fused_equals_composed(backend, fused, config):
    cell, (layers, bi), lengths, use_hx = config
    kind, kwargs = CELLS[cell]
    mg.manual_seed(1)
    net = getattr(mg.nn, kind)(3, 4, num_layers=layers, bidirectional=bi, dtype="float64", **kwargs)
    rng = np.random.default_rng(cell * 100 + layers)
    x = rng.standard_normal((4, 5, 3))
    hx = None
    if use_hx:
        shape = (layers * (2 if bi else 1), 4, 4)
        hx = (rng.standard_normal(shape), rng.standard_normal(shape))
    with compiled_loops(fused == "fused-compiled"):
        got = _run(net, x, lengths, hx, "fused")
    _compare(got, _run(net, x, lengths, hx, "composed"))


@pytest.mark.parametrize("fused", FUSED)
@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
@pytest.mark.parametrize("variant", ["time_major", "no_bias", "unbatched", "dropout", "float32"])
def test_fused_equals_composed_variants(backend, fused, kind, variant):
    mg.manual_seed(2)
    kwargs = {"num_layers": 2, "bidirectional": True, "dtype": "float64"}
    x = np.random.default_rng(3).standard_normal((4, 6, 3))
    lengths = [6, 3, 1, 4]
    if variant == "time_major":
        kwargs["batch_first"] = False
        x = x.transpose(1, 0, 2).copy()
    elif variant == "no_bias":
        kwargs["bias"] = False
    elif variant == "unbatched":
        x, lengths = x[0], None
    elif variant == "dropout":
        kwargs["dropout"] = 0.4  # same seed, same masks: both paths draw them in the same order
    elif variant == "float32":
        kwargs["dtype"] = "float32"
        x = x.astype(np.float32)
    net = getattr(mg.nn, kind)(3, 4, **kwargs)
    with compiled_loops(fused == "fused-compiled"):
        got = _run(net, x, lengths, None, "fused")
    want = _run(net, x, lengths, None, "composed")
    if variant == "float32":
        for a, b in zip(got, want):
            np.testing.assert_allclose(a, b, rtol=2e-5, atol=2e-6)
    else:
        _compare(got, want)


@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
def test_the_fused_kernel_runs_by_default_and_not_when_asked(backend, kind, monkeypatch):
    """A spy on the kernel's forward proves which twin ran."""
    kernel = {"RNN": ops.RNNSequence, "LSTM": ops.LSTMSequence, "GRU": ops.GRUSequence}[kind]
    calls = []
    original = kernel.forward
    monkeypatch.setattr(kernel, "forward", lambda self, *a, **k: calls.append(1) or original(self, *a, **k))
    net = getattr(mg.nn, kind)(3, 4, num_layers=2, bidirectional=True)
    x = mg.randn(2, 5, 3)
    net(x)
    assert len(calls) == 4  # one kernel per layer and direction
    with mg.nn.recurrent_impl("composed"):
        net(x)
    assert len(calls) == 4
    getattr(mg.nn, kind)(3, 4, impl="composed")(x)
    assert len(calls) == 4
    with mg.nn.recurrent_impl("composed"):
        getattr(mg.nn, kind)(3, 4, impl="fused")(x)  # the layer's own choice wins
    assert len(calls) == 5
    with mg.nn.BPTTInspector():
        net(x)  # the inspector reads each step's gates: the composed loop runs
    assert len(calls) == 5


def test_the_compiled_loops_run_when_installed(backend, monkeypatch):
    from backends import recurrent

    loops = recurrent._compiled_loops()
    if loops is None:
        pytest.skip("numba is not installed (the jit extra)")
    calls = []
    original = loops.lstm_forward
    monkeypatch.setattr(loops, "lstm_forward", lambda *a: calls.append(1) or original(*a))
    with compiled_loops(True):
        mg.nn.LSTM(3, 4)(mg.randn(2, 5, 3))
        if backend != "numpy":  # the compiled loops are for NumPy arrays: device arrays never reach them
            assert calls == []
            return
        assert len(calls) == 1
        big = mg.nn.LSTM(3, 64)  # large steps too: the compiled loops vectorise
        big(mg.randn(32, 2, 3))
        assert len(calls) == 2
    with compiled_loops(False):
        mg.nn.LSTM(3, 4)(mg.randn(2, 5, 3))
    assert len(calls) == 2


@pytest.mark.parametrize("bad", ["cudnn", "Fused", 1])
def test_unknown_impl_lists_the_valid_ones(bad):
    with pytest.raises(ValueError, match="fused.*composed"):
        mg.nn.LSTM(3, 4, impl=bad)
    with pytest.raises(ValueError, match="recurrent_impl: impl must be one of"), mg.nn.recurrent_impl(bad):
        pass


def test_long_sequence_fused_backward(backend):
    """5000 steps in one kernel: no recursion, and the same gradient as two chunks of truncated BPTT would not be."""
    net = mg.nn.LSTM(2, 3, dtype="float64")
    x = mg.tensor(np.random.default_rng(0).standard_normal((1, 5000, 2)), requires_grad=True)
    out, _ = net(x)
    out[:, -1].sum().backward()
    assert np.isfinite(x.grad.numpy()).all()
    assert np.abs(x.grad.numpy()[0, -1]).sum() > 0


@pytest.mark.parametrize("impl", _impl_params())
@pytest.mark.parametrize("kind", ["RNN-tanh", "RNN-relu", "RNN-sigmoid", "LSTM", "GRU"])
def test_every_twin_promotes_dtypes_and_propagates_nan(backend, impl, kind):
    """A float64 input into a float32 layer computes in float64 (the composed twin's promotion), and a
    nan in the input reaches every later output of its row, on every path (as in PyTorch)."""
    name, _, nonlinearity = kind.partition("-")
    kwargs = {"nonlinearity": nonlinearity} if nonlinearity else {}
    with mg.nn.recurrent_impl(impl.split("-")[0]), compiled_loops(impl == "fused-compiled"):
        net = getattr(mg.nn, name)(3, 4, **kwargs)
        out, _ = net(mg.tensor(np.random.default_rng(0).standard_normal((2, 5, 3))))
        assert out.dtype == np.float64
        x = np.random.default_rng(1).standard_normal((2, 5, 3)).astype(np.float32)
        x[0, 1, 0] = np.nan
        out, _ = net(mg.tensor(x))
    out = out.numpy()
    assert np.isnan(out[0, 1:]).all() and np.isfinite(out[0, 0]).all() and np.isfinite(out[1]).all()


@pytest.mark.parametrize("fused", FUSED)
@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
@pytest.mark.parametrize("lengths", [None, [7, 2, 5]], ids=["full", "lengths"])
def test_retained_graph_backward_twice_doubles_every_gradient(backend, fused, kind, lengths):
    """The last backward through a kernel writes its gradients over the arrays it saved; with
    retain_graph=True it must not, so a second backward adds exactly the same gradients again."""
    mg.manual_seed(4)
    net = getattr(mg.nn, kind)(3, 4, bidirectional=True, dtype="float64")
    x = mg.tensor(np.random.default_rng(5).standard_normal((3, 7, 3)), requires_grad=True)
    with compiled_loops(fused == "fused-compiled"):
        out, _ = net(x, lengths=lengths)
        loss = (out * mg.tensor(np.linspace(-1, 1, out.numel()).reshape(out.shape))).sum()
        loss.backward(retain_graph=True)
        once = [x.grad.numpy().copy()] + [p.grad.numpy().copy() for p in net.parameters()]
        loss.backward()
        twice = [x.grad.numpy()] + [p.grad.numpy() for p in net.parameters()]
    for a, b in zip(once, twice):
        np.testing.assert_allclose(b, 2 * a, rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("fused", FUSED)
@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
def test_fused_equals_composed_at_a_large_step(backend, fused, kind):
    """N * H = 1280 values per step, rows padded at different steps: every vectorised loop of the
    compiled kernels runs its full vector body and its remainder."""
    hidden, batch = 40, 32
    mg.manual_seed(6)
    net = getattr(mg.nn, kind)(3, hidden, dtype="float64")
    x = np.random.default_rng(7).standard_normal((batch, 4, 3))
    lengths = [4, 1, 3] + [4] * (batch - 3)
    with compiled_loops(fused == "fused-compiled"):
        got = _run(net, x, lengths, None, "fused")
    _compare(got, _run(net, x, lengths, None, "composed"))
