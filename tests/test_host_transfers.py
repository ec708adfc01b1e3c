"""No host transfer inside the time loop: a training step of every recurrent layer, on both paths.

On the strict stand-in (`tests/standin`) every device -> host and host -> device
transfer is counted. A time loop that moved data once per step would make a step
of a longer sequence move more; so a training step (forward, loss, backward,
gradient clipping, optimizer step, zero_grad) at T = 3 and at T = 9 must move
exactly as much, and only a few arrays at all (a bound per layer-direction).
"""

from __future__ import annotations

import pytest
from minigrad_standin import events

import minigrad as mg

LAYERS = {  # name: (a fresh layer, how many layer-directions it runs)
    "RNN": (lambda: mg.nn.RNN(3, 4, num_layers=2), 2),
    "RNN-relu": (lambda: mg.nn.RNN(3, 4, nonlinearity="relu"), 1),
    "LSTM": (lambda: mg.nn.LSTM(3, 4, num_layers=2), 2),
    "GRU": (lambda: mg.nn.GRU(3, 4, num_layers=2), 2),
    "LSTM-bidirectional": (lambda: mg.nn.LSTM(3, 4, bidirectional=True), 2),
    "GRU-bidirectional": (lambda: mg.nn.GRU(3, 4, bidirectional=True), 2),
    "RNN-bidirectional": (lambda: mg.nn.RNN(3, 4, bidirectional=True), 2),
    "Bidirectional(LSTM)": (lambda: mg.nn.Bidirectional(mg.nn.LSTM(3, 4)), 2),
    "Bidirectional(GRU)": (lambda: mg.nn.Bidirectional(mg.nn.GRU(3, 4), merge_mode="sum"), 2),
}


def _allowed(units):
    """Transfers a step may make, whatever T: the loss and the gradient norm read back, and per
    layer-direction the lengths sent to the device (again by the reversal in `Bidirectional`) and the
    steps that need masking read back, once each."""
    return 2 + 3 * units


def _training_step(make, T, padded):
    """The events of one training step of a fresh layer on a batch of 3 sequences of T steps."""
    mg.manual_seed(0)
    with mg.use_backend("standin"):
        layer = make()
        opt = mg.optim.Adam(layer.parameters(), lr=1e-3)
        x = mg.randn(3, T, 3)
        lengths = [T, T - 1, 2] if padded else None
        with events.recording() as seen:
            out, _ = layer(x, lengths=lengths) if padded else layer(x)
            loss = (out * out).mean()
            loss.backward()
            mg.nn.utils.clip_grad_norm_(layer.parameters(), 1.0)
            opt.step()
            opt.zero_grad()
            value = loss.item()
    assert value == value  # the step computed a number (not nan)
    return seen


def _transfers(seen):
    return [e for e in seen if e.kind in (events.TO_HOST, events.TO_DEVICE)]


@pytest.mark.parametrize("padded", [False, True], ids=["full", "padded"])
@pytest.mark.parametrize("kind", list(LAYERS))
def test_a_training_step_moves_no_data_inside_the_time_loop(kind, padded, impl):
    make, units = LAYERS[kind]
    short = _transfers(_training_step(make, 3, padded))
    long = _transfers(_training_step(make, 9, padded))
    extra = "\n  ".join(str(e) for e in long[len(short):]) or "(none)"
    assert len(long) == len(short), (
        f"{kind} ({impl}): {len(short)} transfers at T=3 but {len(long)} at T=9, so some step of the time loop "
        f"moves data; the last ones at T=9:\n  {extra}"
    )
    assert len(long) <= _allowed(units), "\n  ".join(["more transfers than expected:", *map(str, long)])


def test_the_count_sees_a_transfer_per_step():
    """The check above can fail: a loop that reads one value back per step is seen, with its place."""

    def leaky_step(T):
        with mg.use_backend("standin"), events.recording() as seen:
            h = mg.zeros(2, 4)
            for _ in range(T):
                h = (h + 1).tanh()
                _ = float(h.data[0, 0])  # the kind of mistake the test is for
        return _transfers(seen)

    short, long = leaky_step(3), leaky_step(9)
    assert len(long) - len(short) == 6
    assert all(e.kind == events.TO_HOST and "float()" in e.why for e in long)
    assert all(e.where.endswith(".py:" + e.where.rsplit(":", 1)[1]) and "test_host_transfers.py" in e.where
               for e in long)
