"""``mg.nn.BPTTInspector``: per-step hidden states, gates and gradient norms of
every recurrent layer, checked against the same network unrolled by hand with
cells; the vanishing-gradient plot; nothing recorded outside the block."""

from __future__ import annotations

import numpy as np
import pytest

import minigrad as mg
from minigrad.nn.inspector import active_inspector

CELLS = {"rnn_tanh": "RNNCell", "lstm": "LSTMCell", "gru": "GRUCell"}
LAYERS = {"rnn_tanh": "RNN", "lstm": "LSTM", "gru": "GRU"}
GATES = {"rnn_tanh": set(), "lstm": {"i", "f", "g", "o"}, "gru": {"r", "z", "n"}}


def close(actual, expected, rtol=1e-9, atol=1e-12):
    np.testing.assert_allclose(np.asarray(actual), np.asarray(expected), rtol=rtol, atol=atol)


def sigmoid(a):
    return 1 / (1 + np.exp(-a))


def numpy_gates(mode, x_t, h_prev, p):
    """Gate activations of one step from the equations, in NumPy."""
    xw = x_t @ p["weight_ih"].T + p["bias_ih"]
    hw = h_prev @ p["weight_hh"].T + p["bias_hh"]
    if mode == "lstm":
        i, f, g, o = np.split(xw + hw, 4, axis=-1)
        return {"i": sigmoid(i), "f": sigmoid(f), "g": np.tanh(g), "o": sigmoid(o)}
    if mode == "gru":
        xr, xz, xn = np.split(xw, 3, axis=-1)
        hr, hz, hn = np.split(hw, 3, axis=-1)
        r = sigmoid(xr + hr)
        return {"r": r, "z": sigmoid(xz + hz), "n": np.tanh(xn + r * hn)}
    return {}


def unroll_with_cells(mode, layer, x, weights_out, weights_h):
    """The layer's network rebuilt from cells with the same weights, unrolled by hand.

    Returns ``{(layer, direction, t): h_t}`` (gradients retained, after backward),
    the per-(layer, direction) parameters, and each layer's input.
    """
    sd = layer.state_dict()
    D = 2 if layer.bidirectional else 1
    T = x.shape[1]
    hs, params, inputs, finals = {}, {}, {}, []
    inp = x
    for lay in range(layer.num_layers):
        inputs[lay] = inp.numpy()
        outs = []
        for d in range(D):
            sfx = f"_l{lay}" + ("_reverse" if d else "")
            p = {k: sd[k + sfx] for k in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")}
            params[(lay, d)] = p
            cell = getattr(mg.nn, CELLS[mode])(p["weight_ih"].shape[1], layer.hidden_size, dtype="float64")
            cell.load_state_dict(p)
            state, seq = None, [None] * T
            for t in (reversed(range(T)) if d else range(T)):
                state = cell(inp[:, t]) if state is None else cell(inp[:, t], state)
                h = state[0] if mode == "lstm" else state
                h.retain_grad()
                hs[(lay, d, t)] = seq[t] = h
            outs.append(mg.stack(seq, axis=1))
            finals.append(state[0] if mode == "lstm" else state)
        inp = outs[0] if D == 1 else mg.concat(outs, axis=-1)
    loss = (inp * mg.tensor(weights_out)).sum() + (mg.stack(finals) * mg.tensor(weights_h)).sum()
    loss.backward()
    return hs, params, inputs


@pytest.mark.parametrize(
    "mode,num_layers,bidirectional",
    [("rnn_tanh", 1, False), ("rnn_tanh", 2, True), ("lstm", 1, False), ("lstm", 2, True), ("gru", 2, True)],
)
def test_traces_match_a_network_unrolled_by_hand(backend, mode, num_layers, bidirectional):
    N, T, I, H = 2, 6, 3, 4
    D = 2 if bidirectional else 1
    mg.manual_seed(0)
    layer = getattr(mg.nn, LAYERS[mode])(I, H, num_layers=num_layers, bidirectional=bidirectional,
                                         dtype="float64")
    rng = np.random.default_rng(1)
    x_np = rng.standard_normal((N, T, I))
    w_out = rng.standard_normal((N, T, D * H))
    w_h = rng.standard_normal((D * num_layers, N, H))

    assert active_inspector() is None
    with mg.nn.BPTTInspector(layer) as insp:
        assert active_inspector() is insp
        out, state = layer(mg.tensor(x_np))
        h_n = state[0] if mode == "lstm" else state
        ((out * mg.tensor(w_out)).sum() + (h_n * mg.tensor(w_h)).sum()).backward()
    assert active_inspector() is None

    hs, params, inputs = unroll_with_cells(mode, layer, mg.tensor(x_np), w_out, w_h)

    assert len(insp.traces) == num_layers * D
    for lay in range(num_layers):
        for d in range(D):
            trace = insp.trace(layer=lay, direction=d)
            assert (trace.layer, trace.direction) == (lay, d)
            assert f"layer {lay} {'reverse' if d else 'forward'}" in trace.name
            assert trace.steps == list(range(T))
            # hidden states
            hidden = trace.hidden_states().numpy()
            assert hidden.shape == (T, N, H)
            for t in range(T):
                close(hidden[t], hs[(lay, d, t)].numpy())
            # gates, from the equations with the previous state in the direction of travel
            assert GATES[mode] <= set(trace.gates[0])
            for t in range(T):
                t_prev = t + 1 if d else t - 1
                h_prev = hs[(lay, d, t_prev)].numpy() if 0 <= t_prev < T else np.zeros((N, H))
                expected = numpy_gates(mode, inputs[lay][:, t], h_prev, params[(lay, d)])
                for name, value in expected.items():
                    close(trace.gates[t][name].numpy(), value)
            for name in GATES[mode]:
                assert trace.gate(name).shape == (T, N, H)
            # gradient norms, against ||h_t.grad|| of the hand-unrolled network
            norms = trace.grad_norms()
            by_hand = [float(np.linalg.norm(hs[(lay, d, t)].grad.numpy())) for t in range(T)]
            assert len(norms) == T
            close(norms, by_hand)
            assert min(by_hand) > 0


def test_rnn_grad_norms_match_rnncell_unrolled_by_hand(backend):
    """The reference: a one-layer tanh RNN against RNNCell steps with retained h_t gradients."""
    mg.manual_seed(3)
    rnn = mg.nn.RNN(2, 5, dtype="float64")
    cell = mg.nn.RNNCell(2, 5, dtype="float64")
    cell.load_state_dict({k.removesuffix("_l0"): v for k, v in rnn.state_dict().items()})
    x = mg.tensor(np.random.default_rng(3).standard_normal((3, 8, 2)))
    y = mg.tensor(np.random.default_rng(4).standard_normal((3, 5)))

    with mg.nn.BPTTInspector() as insp:
        out, _ = rnn(x)
        ((out[:, -1] - y) ** 2).mean().backward()
    h, hs = None, []
    for t in range(8):
        h = cell(x[:, t], h) if h is not None else cell(x[:, t])
        hs.append(h.retain_grad())
    ((h - y) ** 2).mean().backward()
    close(insp.trace().grad_norms(), [float(np.sqrt((g.grad.numpy() ** 2).sum())) for g in hs])


def test_every_recurrent_layer_of_a_model_is_recorded(backend):
    class Seq2Seq(mg.nn.Module):
        def __init__(self):
            super().__init__()
            self.encoder = mg.nn.LSTM(2, 3, bidirectional=True, dtype="float64")
            self.decoder = mg.nn.GRU(6, 3, num_layers=2, dtype="float64")

        def forward(self, x):
            enc, _ = self.encoder(x)
            dec, _ = self.decoder(enc)
            return dec

    model = Seq2Seq()
    x = mg.tensor(np.random.default_rng(5).standard_normal((2, 4, 2)))
    with mg.nn.BPTTInspector(model) as insp:
        model(x).sum().backward()
    names = sorted(tr.name for tr in insp.traces)
    assert names == sorted([
        "encoder (LSTM) layer 0 forward", "encoder (LSTM) layer 0 reverse",
        "decoder (GRU) layer 0 forward", "decoder (GRU) layer 1 forward",
    ])
    enc = insp.trace(0, 0, module=model.encoder)
    assert {"i", "f", "g", "o"} <= set(enc.gates[0])
    assert {"r", "z", "n"} <= set(insp.trace(1, 0, module=model.decoder).gates[3])
    with pytest.raises(KeyError, match="module="):
        insp.trace(0, 0)  # two layers have a layer 0 forward: ambiguous
    for tr in insp.traces:
        assert len(tr.grad_norms()) == 4 and all(n > 0 for n in tr.grad_norms())
    table = insp.table()
    assert len(table.splitlines()) == 1 + 4 and "encoder" in table


def test_padded_steps_carry_the_state(backend):
    layer = mg.nn.GRU(2, 3, bidirectional=True, dtype="float64")
    x = mg.tensor(np.random.default_rng(6).standard_normal((2, 5, 2)))
    with mg.nn.BPTTInspector() as insp:
        out, h_n = layer(x, lengths=[5, 2])
        out.sum().backward()
    fwd, rev = insp.trace(0, 0).hidden_states().numpy(), insp.trace(0, 1).hidden_states().numpy()
    for t in range(2, 5):  # row 1 is padded from t = 2: forward keeps its state, reverse is still at zero
        close(fwd[t, 1], fwd[1, 1], rtol=0, atol=0)
        assert np.all(rev[t, 1] == 0.0)
    close(fwd[4], h_n.numpy()[0], rtol=0, atol=0)
    close(rev[0], h_n.numpy()[1], rtol=0, atol=0)


def test_vanishing_gradient_plot_sigmoid_rnn_vs_lstm(backend, tmp_path):
    mg.manual_seed(0)
    rnn = mg.nn.RNN(2, 8, nonlinearity="sigmoid", dtype="float64")
    lstm = mg.nn.LSTM(2, 8, dtype="float64")
    x = mg.tensor(np.random.default_rng(0).standard_normal((1, 50, 2)))
    with mg.nn.BPTTInspector() as insp:
        out, _ = rnn(x)
        out[:, -1].sum().backward()
        out, _ = lstm(x)
        out[:, -1].sum().backward()
    path = tmp_path / "x.png"
    assert insp.plot(path) == path
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 1000

    sig = insp.trace(module=rnn).grad_norms()
    mem = insp.trace(module=lstm).grad_norms()
    assert len(sig) == len(mem) == 50
    assert all(n > 0 for n in sig + mem)
    assert sig[0] < 1e-3 * sig[49]  # vanishes by orders of magnitude over 50 steps
    decay_sig = np.log10(sig[49] / sig[0])
    decay_lstm = np.log10(mem[49] / mem[0])
    assert decay_lstm < 0.5 * decay_sig  # the LSTM loses far fewer orders of magnitude
    assert mem[0] / mem[49] > 1e6 * (sig[0] / sig[49])


def test_nothing_is_recorded_outside_the_block(backend):
    layer = mg.nn.LSTM(2, 3, dtype="float64")
    x = mg.tensor(np.random.default_rng(7).standard_normal((2, 4, 2)))
    idle = mg.nn.BPTTInspector(layer)  # never entered
    layer(x)
    assert idle.traces == [] and active_inspector() is None

    with mg.nn.BPTTInspector(layer) as insp:
        first, _ = layer(x)
        first.sum().backward()
    recorded = {t: h for t, h in insp.trace().hidden.items()}
    norms = insp.trace().grad_norms()

    x2 = mg.tensor(np.random.default_rng(8).standard_normal((2, 4, 2)), requires_grad=True)
    out, _ = layer(x2)  # after the block: not recorded
    out.sum().backward()
    assert active_inspector() is None
    assert len(insp.traces) == 1
    assert all(insp.trace().hidden[t] is h for t, h in recorded.items())
    close(insp.trace().hidden_states().numpy()[-1], first[:, -1].numpy(), rtol=0, atol=0)
    assert insp.trace().grad_norms() == norms


def test_a_layer_called_twice_keeps_its_latest_call(backend):
    layer = mg.nn.RNN(2, 3, dtype="float64")
    rng = np.random.default_rng(9)
    with mg.nn.BPTTInspector() as insp:
        layer(mg.tensor(rng.standard_normal((1, 6, 2))))
        second, _ = layer(mg.tensor(rng.standard_normal((1, 4, 2))))
    trace = insp.trace()
    assert trace.steps == [0, 1, 2, 3]
    close(trace.hidden_states().numpy()[:, 0], second.numpy()[0], rtol=0, atol=0)


def test_grad_norms_before_backward_is_a_clear_error(backend):
    layer = mg.nn.GRU(2, 3, dtype="float64")
    with mg.nn.BPTTInspector() as insp:
        layer(mg.tensor(np.ones((1, 3, 2))))
    with pytest.raises(RuntimeError, match="backward"):
        insp.trace().grad_norms()


def test_inspector_leaves_results_unchanged(backend):
    layer = mg.nn.LSTM(2, 3, num_layers=2, dtype="float64")
    x_np = np.random.default_rng(10).standard_normal((2, 5, 2))

    def run():
        layer.zero_grad()
        x = mg.tensor(x_np, requires_grad=True)
        out, _ = layer(x)
        out.sum().backward()
        return out.numpy(), x.grad.numpy(), [p.grad.numpy() for p in layer.parameters()]

    with mg.nn.recurrent_impl("composed"):  # what the inspector records: bitwise the same numbers
        plain = run()
    fused = run()
    with mg.nn.BPTTInspector(layer):
        assert not layer.runs_fused(mg.nn.inspector.active_inspector())
        watched = run()
    np.testing.assert_array_equal(plain[0], watched[0])
    np.testing.assert_array_equal(plain[1], watched[1])
    for a, b in zip(plain[2], watched[2]):
        np.testing.assert_array_equal(a, b)
    for a, b in zip([fused[0], fused[1], *fused[2]], [plain[0], plain[1], *plain[2]]):  # the fused twin, to rounding
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-14)
