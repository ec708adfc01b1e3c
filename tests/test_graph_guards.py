"""Graph lifetime and size: the warning for a tensor whose graph an earlier backward freed (a hidden state
carried across batches without detach), and ``mg.graph_stats``."""

from __future__ import annotations

import math
import sys
import warnings

import pytest
from conftest import gc_disabled

import minigrad as mg
import minigrad.nn.functional as F
from minigrad.autograd import STALE_GRAPH_MESSAGE
from minigrad.nn.utils import detach_state


def _next_line() -> int:
    return sys._getframe(1).f_lineno + 1


def _lstm_batches():
    mg.manual_seed(0)
    return mg.nn.LSTM(3, 5), [mg.randn(2, 4, 3) for _ in range(2)]


# -- a graph freed by an earlier backward ---------------------------------------------


def test_carrying_the_lstm_state_without_detach_warns_at_the_users_line(impl):
    lstm, batches = _lstm_batches()
    output, state = lstm(batches[0])
    output.sum().backward()  # frees the graph that state (h_n, c_n) comes from
    with pytest.warns(UserWarning, match="detach") as record:
        line = _next_line()
        output, state = lstm(batches[1], state)
    message = str(record[0].message)
    assert "h = h.detach()" in message and "detach_state" in message
    assert "already freed by an earlier backward()" in message
    assert (record[0].filename, record[0].lineno) == (__file__, line)
    with pytest.raises(RuntimeError, match="already freed"):  # what the warning foretold
        output.sum().backward()


def test_carrying_the_lstm_state_with_detach_does_not_warn(impl):
    lstm, batches = _lstm_batches()
    state = None
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for x in batches:
            output, state = lstm(x, state)
            output.sum().backward()
            state = detach_state(state)
        h = state[0]
        output, (h, c) = lstm(batches[0], (h.detach(), state[1]))
        output.sum().backward()


def test_a_state_whose_own_node_was_freed_warns_too(impl):
    # the loss reads h_n itself (a classifier on the last state), so h_n's own node is released
    lstm, batches = _lstm_batches()
    _, (h_n, c_n) = lstm(batches[0])
    h_n[-1].sum().backward()
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        line = _next_line()
        lstm(batches[1], (h_n, c_n))
    # the fused kernel meets h_0 and c_0 together; the composed loop meets h in h @ W_hh^T and c in f * c
    assert len(record) == (1 if impl.startswith("fused") else 2)
    assert all(w.message.args[0] == STALE_GRAPH_MESSAGE and w.lineno == line for w in record)


def test_values_read_from_a_freed_graph_do_not_warn_until_they_meet_a_live_one():
    mg.manual_seed(0)
    head = mg.nn.Linear(3, 2)
    logits = head(mg.randn(4, 3))
    loss = logits.sum()
    loss.backward()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        probs = F.softmax(logits, axis=-1)  # a metric after backward(): only the freed graph is involved
        confidence = probs.max(axis=-1).mean()
    assert 0.5 < confidence.item() < 1
    with pytest.warns(UserWarning, match="already freed"):
        probs * head.bias  # the freed graph meets a live parameter: a backward() through this would fail


def test_retain_graph_and_no_grad_do_not_warn():
    lstm, batches = _lstm_batches()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        output, state = lstm(batches[0])
        output.sum().backward(retain_graph=True)  # the graph is kept: using state again is fine
        output, state = lstm(batches[1], state)
        output.sum().backward()
        with mg.no_grad():  # nothing recorded, nothing to backpropagate through
            lstm(batches[1], state)


def test_a_graph_used_again_after_an_unrelated_backward_does_not_warn():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    kept = (x * 2).exp()  # never backpropagated through: its graph is intact
    other = (x * 3).sum()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        other.backward()  # frees only other's graph
        (kept * other.detach()).sum().backward()
    # other = 9 gives x.grad 3; then d/dx sum(exp(2x) * 9) = 18 exp(2x)
    assert x.grad.tolist() == pytest.approx([3 + 18 * math.exp(2), 3 + 18 * math.exp(4)], rel=1e-5)


def test_the_warning_shows_once_per_line_under_pythons_default_filter():
    x = mg.tensor([1.0], requires_grad=True)
    w = mg.tensor([3.0], requires_grad=True)
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("default")
        for _ in range(3):
            h = x * 2.0
            h.sum().backward()
            h * w  # a stale h each time, at the same line
    assert len(record) == 1 and record[0].message.args[0] == STALE_GRAPH_MESSAGE


def test_the_freed_graph_check_walks_a_deep_graph_without_recursion():
    x = mg.tensor(1.0, requires_grad=True)
    y = x
    with gc_disabled():
        for _ in range(50_000):
            y = y * 1.0
        x.sum().backward()  # an unrelated backward: every node of y's graph is walked once at the next use
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            z = y + 1.0
        assert y._ctx.checked_at == z._ctx.checked_at  # found intact, stamped: later uses cost one comparison


# -- graph_stats ------------------------------------------------------------------------


def test_graph_stats_of_a_tiny_graph():
    x = mg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    stats = mg.graph_stats((x * 2 + 1).sum())
    # mul -> add -> sum; the values held: x*2 (3 float32 = 12 bytes), x*2+1 (12), the sum (4); mul saves x and
    # the constant 2, which are leaves (not counted), add and sum save only shapes
    assert stats == mg.GraphStats(nodes=3, depth=3, leaves=1, bytes=28)


def test_graph_stats_counts_each_array_once_and_a_view_as_its_array():
    x = mg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    # two muls side by side then one on top: depth 2; the top mul saves its inputs, the values already counted
    assert mg.graph_stats((x * 2) * (x * 3)) == mg.GraphStats(nodes=3, depth=2, leaves=1, bytes=36)
    # (x * 2)[1:] is a view of x * 2 (12 bytes); the sum adds 4
    assert mg.graph_stats((x * 2)[1:].sum()) == mg.GraphStats(nodes=3, depth=3, leaves=1, bytes=16)
    # a transpose of a parameter is a view of the parameter's array, which exists without the graph
    w = mg.nn.Parameter(mg.randn(3, 4).data)
    assert mg.graph_stats(w.T) == mg.GraphStats(nodes=1, depth=1, leaves=1, bytes=0)


def test_graph_stats_of_leaves_and_of_a_freed_graph():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    assert mg.graph_stats(x) == mg.GraphStats(nodes=0, depth=0, leaves=1, bytes=0)
    assert mg.graph_stats(mg.tensor([1.0])) == mg.GraphStats(nodes=0, depth=0, leaves=0, bytes=0)
    loss = (x * x).sum()
    assert mg.graph_stats(loss).bytes == 8 + 4
    loss.backward()
    assert mg.graph_stats(loss) == mg.GraphStats(nodes=1, depth=1, leaves=0, bytes=0)  # only the released root


def test_graph_stats_on_a_100_step_lstm_unroll_matches_a_hand_count():
    mg.manual_seed(0)
    cell = mg.nn.LSTMCell(3, 5)
    x = mg.randn(2, 3)
    # One LSTMCell step, from its code (minigrad/nn/cells.py):
    #   _project:   weight_ih.T, x @ ..., + bias_ih                                 transpose, matmul, add    3
    #   lstm_step:  weight_hh.T, h @ ..., xw + ..., + b_hh                          transpose, matmul, 2 add  4
    #               four gate slices; sigmoid i, f, o; tanh g                       4 getitem, 3 sigmoid, tanh 8
    #               c = f * c + i * g                                               2 mul, add                3
    #               h = o * c.tanh()                                                tanh, mul                 2
    per_step = 3 + 4 + 8 + 3 + 2
    state = None
    for _ in range(100):
        state = cell(x, state)
    loss = state[0].sum()
    stats = mg.graph_stats(loss)
    assert stats.nodes == 100 * per_step + 1  # + the sum
    # Longest path: h_t = mul(o, tanh(c_t)) -> tanh -> add (c_t) -> mul (f * c) -> sigmoid (f) -> getitem
    # -> add (+ b_hh) -> add (xw + h W) -> matmul (h_{t-1} W) -> h_{t-1}: 9 ops per step. The first step ends
    # in add (+ b_ih) -> matmul (x W_ih^T) -> transpose -> weight_ih instead: 11 ops.
    assert stats.depth == 99 * 9 + 11 + 1
    assert stats.leaves == 4  # weight_ih, weight_hh, bias_ih, bias_hh (x and the zero state need no grad)
    one_step = mg.graph_stats(cell(x, tuple(s.detach() for s in state))[0])
    assert (one_step.nodes, one_step.depth) == (per_step, 11)
    assert stats.bytes == 100 * one_step.bytes + 4  # every step holds the same arrays; the sum is one float32


def test_graph_stats_on_a_100k_op_chain():
    x = mg.tensor(0.5, dtype="float64", requires_grad=True)
    y = x
    with gc_disabled():
        for _ in range(100_000):
            y = y * 1.0
        stats = mg.graph_stats(y)  # must not raise RecursionError
    assert (stats.nodes, stats.depth, stats.leaves) == (100_000, 100_000, 1)
    assert stats.bytes == 100_000 * 8
