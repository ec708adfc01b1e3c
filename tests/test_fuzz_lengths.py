"""Property-based tests of padded batches: random ``lengths`` through the recurrent layers.

A padded batch run with ``lengths`` must give, for every row, exactly what that sequence gives alone, unpadded,
through the same layer: the output at its real steps (zero at the padded ones), the final states, and the
gradients of the input, the initial state and every parameter. Random batch sizes, lengths (unsorted, as lists,
tuples, NumPy arrays or tensors), cells, directions (built in or the ``Bidirectional`` wrapper), layouts, stacked
layers, initial states and both twins (``"fused"``, ``"composed"``) are drawn; the padded steps hold garbage
(inf and nan included), which must reach nothing. Invalid ``lengths`` raise the documented errors, naming
``lengths``.

Every test is derandomized, so a run is the same on every machine.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

import minigrad as mg

FUZZ = settings(max_examples=300, deadline=None, derandomize=True, database=None)
ERRORS = settings(max_examples=200, deadline=None, derandomize=True, database=None)

CELLS = {"RNN": mg.nn.RNN, "LSTM": mg.nn.LSTM, "GRU": mg.nn.GRU}
TOL = {"rtol": 1e-9, "atol": 1e-12}


@st.composite
def padded_batches(draw):
    N, T = draw(st.integers(1, 5)), draw(st.integers(1, 6))
    return {
        "N": N,
        "T": T,
        "lengths": draw(st.lists(st.integers(1, T), min_size=N, max_size=N)),
        "as": draw(st.sampled_from(["list", "tuple", "int64 array", "int32 array", "tensor"])),
        "cell": draw(st.sampled_from(sorted(CELLS))),
        "nonlinearity": draw(st.sampled_from(["tanh", "relu"])),
        "direction": draw(st.sampled_from(["forward", "bidirectional", "wrapper"])),
        "num_layers": draw(st.integers(1, 2)),
        "batch_first": draw(st.booleans()),
        "impl": draw(st.sampled_from(["fused", "composed"])),
        "hx": draw(st.booleans()),
        "sizes": (draw(st.integers(1, 3)), draw(st.integers(1, 3))),
        "garbage": draw(st.sampled_from([0.0, 1e3, np.inf, np.nan])),
        "seed": draw(st.integers(0, 2**16)),
    }


def _layer(case):
    I, H = case["sizes"]
    cls = CELLS[case["cell"]]
    kwargs = {"num_layers": case["num_layers"], "batch_first": case["batch_first"], "dtype": "float64"}
    if case["cell"] == "RNN":
        kwargs["nonlinearity"] = case["nonlinearity"]
    mg.manual_seed(case["seed"])
    if case["direction"] == "wrapper":
        return mg.nn.Bidirectional(cls(I, H, **kwargs))
    return cls(I, H, bidirectional=case["direction"] == "bidirectional", **kwargs)


def _states(case, rng, N):
    """Random initial states in the layer's own structure, batch axis 1 (None without ``hx``)."""
    if not case["hx"]:
        return None
    D = 2 if case["direction"] == "bidirectional" else 1
    shape = (D * case["num_layers"], N, case["sizes"][1])

    def one():
        h = mg.tensor(rng.standard_normal(shape), dtype="float64", requires_grad=True)
        return (h, mg.tensor(rng.standard_normal(shape), dtype="float64", requires_grad=True)) \
            if case["cell"] == "LSTM" else h

    return (one(), one()) if case["direction"] == "wrapper" else one()


def _flat(state) -> list:
    """The tensors of a state structure, in order: ``h``, ``(h, c)``, or a pair of those (the wrapper)."""
    if state is None:
        return []
    if isinstance(state, mg.Tensor):
        return [state]
    return [t for part in state for t in _flat(part)]


def _select(state, i: int):
    """Row ``i`` of every tensor of a state structure, keeping the batch axis (1) with size 1."""
    if state is None:
        return None
    if isinstance(state, mg.Tensor):
        return state[:, i : i + 1]
    return tuple(_select(part, i) for part in state)


def _lengths_as(lengths: list[int], kind: str):
    if kind == "tuple":
        return tuple(lengths)
    if kind == "int64 array":
        return np.array(lengths, dtype=np.int64)
    if kind == "int32 array":
        return np.array(lengths, dtype=np.int32)
    if kind == "tensor":
        return mg.tensor(lengths)
    return list(lengths)


def _run(layer, x, hx, lengths=None):
    out, state = layer(x, hx) if lengths is None else layer(x, hx, lengths=lengths)
    return out, state


@FUZZ
@given(case=padded_batches())
@example(case={"N": 3, "T": 4, "lengths": [4, 1, 2], "as": "list", "cell": "LSTM", "nonlinearity": "tanh",
               "direction": "bidirectional", "num_layers": 2, "batch_first": True, "impl": "fused", "hx": True,
               "sizes": (2, 3), "garbage": np.nan, "seed": 0})
@example(case={"N": 2, "T": 3, "lengths": [1, 3], "as": "tensor", "cell": "GRU", "nonlinearity": "tanh",
               "direction": "wrapper", "num_layers": 1, "batch_first": False, "impl": "composed", "hx": True,
               "sizes": (1, 2), "garbage": np.inf, "seed": 1})
def test_padded_batch_equals_each_sequence_alone(case):
    N, T, lengths = case["N"], case["T"], case["lengths"]
    I = case["sizes"][0]
    rng = np.random.default_rng(case["seed"])
    layer = _layer(case)
    data = rng.standard_normal((N, T, I))
    for i, n in enumerate(lengths):
        data[i, n:] = case["garbage"]  # padding must reach no output and no gradient
    time_major = not case["batch_first"]
    x = mg.tensor(data.transpose(1, 0, 2) if time_major else data, dtype="float64", requires_grad=True)
    hx = _states(case, rng, N)

    with mg.nn.recurrent_impl(case["impl"]):
        out, state = _run(layer, x, hx, _lengths_as(lengths, case["as"]))
        out_bt = out.transpose(1, 0, 2) if time_major else out  # (N, T, F)
        w_out = rng.standard_normal(out_bt.shape)
        w_states = [rng.standard_normal(s.shape) for s in _flat(state)]
        loss = (out_bt * mg.tensor(w_out)).sum()
        for s, w in zip(_flat(state), w_states):
            loss = loss + (s * mg.tensor(w)).sum()
        layer.zero_grad()
        loss.backward()
        batch_param_grads = [p.grad.numpy().copy() for p in layer.parameters()]
        batch_x_grad = x.grad.numpy()
        batch_state_grads = [h.grad.numpy() for h in _flat(hx)]

        param_sums = [np.zeros_like(g) for g in batch_param_grads]
        for i, n in enumerate(lengths):
            xi = mg.tensor(data[i : i + 1, :n], dtype="float64", requires_grad=True)
            if time_major:
                xi = mg.tensor(data[i : i + 1, :n].transpose(1, 0, 2), dtype="float64", requires_grad=True)
            hi = _select(hx, i)
            hi = None if hi is None else _detached_copy(hi)
            ref_out, ref_state = _run(layer, xi, hi)
            ref_bt = ref_out.transpose(1, 0, 2) if time_major else ref_out
            np.testing.assert_allclose(out_bt.numpy()[i, :n], ref_bt.numpy()[0], **TOL)
            assert not out_bt.numpy()[i, n:].any(), "the output at padded steps must be zero"
            for s, r in zip(_flat(state), _flat(ref_state)):
                np.testing.assert_allclose(s.numpy()[:, i], r.numpy()[:, 0], **TOL)

            ref_loss = (ref_bt * mg.tensor(w_out[i : i + 1, :n])).sum()
            for r, w in zip(_flat(ref_state), w_states):
                ref_loss = ref_loss + (r * mg.tensor(w[:, i : i + 1])).sum()
            layer.zero_grad()
            ref_loss.backward()
            for total, p in zip(param_sums, layer.parameters()):
                total += p.grad.numpy()
            ref_x_grad = xi.grad.numpy().transpose(1, 0, 2) if time_major else xi.grad.numpy()
            got_x_grad = batch_x_grad.transpose(1, 0, 2) if time_major else batch_x_grad
            np.testing.assert_allclose(got_x_grad[i, :n], ref_x_grad[0], **TOL)
            assert not got_x_grad[i, n:].any(), "padded inputs must get no gradient"
            for g, h in zip(batch_state_grads, _flat(hi)):
                np.testing.assert_allclose(g[:, i], h.grad.numpy()[:, 0], **TOL)
    for got, expected in zip(batch_param_grads, param_sums):
        np.testing.assert_allclose(got, expected, **TOL)


def _detached_copy(state):
    """A fresh leaf copy of every tensor of a state structure (its gradient is the sequence's own)."""
    if isinstance(state, mg.Tensor):
        return mg.tensor(state.numpy(), dtype="float64", requires_grad=True)
    return tuple(_detached_copy(part) for part in state)


@FUZZ
@given(N=st.integers(1, 5), T=st.integers(1, 6), data=st.data())
def test_full_lengths_change_nothing(N, T, data):
    """``lengths`` all equal to T gives exactly the unpadded batch's numbers."""
    cell = data.draw(st.sampled_from(sorted(CELLS)))
    impl = data.draw(st.sampled_from(["fused", "composed"]))
    mg.manual_seed(data.draw(st.integers(0, 2**16)))
    layer = CELLS[cell](2, 3, bidirectional=data.draw(st.booleans()), dtype="float64")
    x = mg.tensor(np.random.default_rng(0).standard_normal((N, T, 2)), dtype="float64")
    with mg.nn.recurrent_impl(impl):
        out, state = layer(x)
        out_l, state_l = layer(x, lengths=[T] * N)
    np.testing.assert_array_equal(out.numpy(), out_l.numpy())
    for a, b in zip(_flat(state), _flat(state_l)):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


@FUZZ
@given(T=st.integers(1, 6), data=st.data())
def test_unbatched_input_with_one_length(T, data):
    """An unbatched ``(T, I)`` input takes one length, and gives what its first ``n`` steps give alone."""
    n = data.draw(st.integers(1, T))
    cell = data.draw(st.sampled_from(sorted(CELLS)))
    mg.manual_seed(data.draw(st.integers(0, 2**16)))
    layer = CELLS[cell](2, 3, bidirectional=data.draw(st.booleans()), dtype="float64")
    x = np.random.default_rng(n).standard_normal((T, 2))
    x[n:] = np.nan
    with mg.nn.recurrent_impl(data.draw(st.sampled_from(["fused", "composed"]))):
        out, state = layer(mg.tensor(x), lengths=[n])
        ref_out, ref_state = layer(mg.tensor(x[:n]))
    np.testing.assert_allclose(out.numpy()[:n], ref_out.numpy(), **TOL)
    assert not out.numpy()[n:].any()
    for a, b in zip(_flat(state), _flat(ref_state)):
        np.testing.assert_allclose(a.numpy(), b.numpy(), **TOL)


# ---------------------------------------------------------------------------
# invalid lengths
# ---------------------------------------------------------------------------
def _first_bad(values: list, T: int) -> tuple[int, str] | None:
    """The index and kind (``"type"`` or ``"range"``) of the first invalid length, as ``check_lengths`` finds it."""
    for i, v in enumerate(values):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
            return i, "type"
        if not 1 <= v <= T:
            return i, "range"
    return None


BAD_VALUES = [0, -1, -7, 7, 100, 2.5, 2.0, float("nan"), True, False, "2", None, [1], np.float64(1.0),
              np.bool_(True)]


@pytest.mark.parametrize(("lengths", "error", "message"), [
    ([5], ValueError, r"^LSTM: got 1 lengths for a batch of 2 sequences$"),
    ([6, 2], ValueError, r"^LSTM: lengths\[0\] = 6 is outside \[1, 5\] \(T = 5 time steps\)$"),
    ([2.5, 2], TypeError, r"^LSTM: lengths\[0\] = 2.5 is not an int$"),
])
def test_documented_lengths_errors(lengths, error, message):
    """The examples of docs/guides/bad-input.md, word for word."""
    with pytest.raises(error, match=message):
        mg.nn.LSTM(2, 3)(mg.zeros(2, 5, 2), lengths=lengths)


@ERRORS
@given(N=st.integers(1, 5), T=st.integers(1, 6), data=st.data(), cell=st.sampled_from([*sorted(CELLS), "wrapper"]))
def test_invalid_lengths_raise_the_documented_errors(N, T, data, cell):
    layer = mg.nn.Bidirectional(mg.nn.GRU(2, 3)) if cell == "wrapper" else CELLS[cell](2, 3)
    name = "Bidirectional" if cell == "wrapper" else cell
    x = mg.zeros(N, T, 2)
    kind = data.draw(st.sampled_from(["count", "values", "not a sequence", "float array"]))
    if kind == "count":
        count = data.draw(st.integers(0, 8).filter(lambda k: k != N))
        with pytest.raises(ValueError, match=rf"^{name}: got {count} lengths for a batch of {N} sequences$"):
            layer(x, lengths=[1] * count)
    elif kind == "values":
        good = st.integers(1, T)
        values = data.draw(st.lists(st.one_of(good, st.sampled_from(BAD_VALUES)), min_size=N, max_size=N))
        bad = _first_bad(values, T)
        if bad is None:  # all valid after all: the layer runs
            out, _ = layer(x, lengths=values)
            assert out.shape[:2] == (N, T)
            return
        i, what = bad
        if what == "type":
            with pytest.raises(TypeError, match=rf"^{name}: lengths\[{i}\] = .* is not an int$"):
                layer(x, lengths=values)
        else:
            with pytest.raises(ValueError, match=rf"^{name}: lengths\[{i}\] = -?\d+ is outside \[1, {T}\] "
                                                 rf"\(T = {T} time steps\)$"):
                layer(x, lengths=values)
    elif kind == "not a sequence":
        value = data.draw(st.sampled_from([3, 2.5, object()]))
        with pytest.raises(TypeError, match=rf"^{name}: lengths must be a sequence of ints, got "):
            layer(x, lengths=value)
    else:
        with pytest.raises(TypeError, match=rf"^{name}: lengths\[0\] = .* is not an int$"):
            layer(x, lengths=np.full(N, float(T)))
