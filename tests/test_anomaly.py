"""Anomaly mode (``mg.detect_anomaly``): the first nan or inf, in forward or backward, raises at its op with
the user's line; outside the mode nothing is checked."""

from __future__ import annotations

import contextvars
import re
import sys

import numpy as np
import pytest

import minigrad as mg
from minigrad.anomaly import _anomaly_mode

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")  # NumPy's overflow / divide-by-zero notes


def _next_line() -> int:
    """The number of the caller's next line."""
    return sys._getframe(1).f_lineno + 1


def exploding_relu_rnn() -> mg.nn.RNN:
    """A relu RNN whose weights are ~1e6: h grows ~1e6 times per step, past float32's 3.4e38 within a few."""
    mg.manual_seed(0)
    rnn = mg.nn.RNN(4, 8, nonlinearity="relu")
    for p in rnn.parameters():
        p.data = p.data * np.float32(1e6)
    return rnn


def test_exploding_relu_rnn_raises_at_the_first_non_finite_op_with_the_users_line(backend, impl):
    rnn = exploding_relu_rnn()
    x = mg.randn(2, 40, 4)
    with pytest.raises(FloatingPointError) as info, mg.detect_anomaly():
        line = _next_line()
        output, h_n = rnn(x)  # the line the message must show
    assert isinstance(info.value, mg.AnomalyError)
    message = str(info.value)
    assert f"{__file__}:{line}, in {sys._getframe().f_code.co_name}" in message
    assert "output, h_n = rnn(x)  # the line the message must show" in message
    if impl == "composed":
        # one of the cell's ops; the inputs it got were finite (every earlier op's output was checked)
        assert re.match(r"detect_anomaly: (matmul|add|relu) produced (inf|nan) in its forward output", message)
        assert "already holds" not in message
    else:
        # the whole layer direction is one op, whose inputs are the projection (T, N, H), h0 and W_hh^T
        assert message.startswith("detect_anomaly: rnnsequence produced")
        assert "inputs: (40, 2, 8) float32, (2, 8) float32, (8, 8) float32" in message
    assert not mg.is_anomaly_enabled()  # restored although the block ended with an exception


def test_the_same_rnn_outside_the_mode_overflows_silently():
    rnn = exploding_relu_rnn()
    output, _ = rnn(mg.randn(2, 40, 4))
    assert not np.isfinite(output.numpy()).all()


def test_a_gradient_made_non_finite_is_blamed_on_its_op_and_line(backend):
    x = mg.tensor([0.0, 4.0], requires_grad=True)
    with mg.detect_anomaly():
        line = _next_line()
        y = x.sqrt()  # finite forward: sqrt(0) = 0
        loss = (y * 3.0).sum()
        with pytest.raises(mg.AnomalyError) as info:
            loss.backward()  # d sqrt(x)/dx = 1 / (2 sqrt(x)) is inf at 0
    message = str(info.value)
    assert message.startswith("detect_anomaly: sqrt produced inf in the gradient of input 0 in backward")
    assert "inputs: (2,) float32" in message
    assert f"{__file__}:{line}," in message and "y = x.sqrt()  # finite forward" in message
    assert x.grad is None  # raised before reaching the leaf


def test_the_message_names_nan_or_inf_and_the_input_index():
    a = mg.tensor([1.0], requires_grad=True)
    b = mg.tensor([1e-30], requires_grad=True)
    # a / b = 1e30 is finite in float32, d/da = 1 / b too, but d/db = -a / b**2 underflows to -1 / 0
    with mg.detect_anomaly(), pytest.raises(mg.AnomalyError, match="div produced inf in the gradient of input 1"):
        (a / b).sum().backward()
    with mg.detect_anomaly(), pytest.raises(mg.AnomalyError, match="sqrt produced nan in the gradient of input 0"):
        (mg.tensor([0.0], requires_grad=True).sqrt() * 0.0).sum().backward()  # 0 / (2 * 0) = nan


def test_forward_blames_a_non_finite_input_on_where_it_came_from():
    bad = mg.tensor([1.0, float("nan")], requires_grad=True)
    with mg.detect_anomaly(), pytest.raises(mg.AnomalyError) as info:
        bad * 2.0
    assert "mul produced nan in its forward output" in str(info.value)
    assert "input 0 already holds nan (a leaf tensor: the data or a parameter)" in str(info.value)
    early = mg.tensor([-1.0], requires_grad=True).log()  # nan, made before the mode was entered
    with mg.detect_anomaly(), pytest.raises(mg.AnomalyError, match="computed before detect_anomaly"):
        early + 1.0


def test_forward_is_checked_under_no_grad_too():
    with mg.detect_anomaly(), mg.no_grad(), pytest.raises(mg.AnomalyError, match="log produced nan"):
        mg.tensor([-1.0]).log()


def test_nothing_is_checked_or_recorded_outside_the_mode():
    x = mg.tensor([0.0, -1.0], requires_grad=True)
    y = x.sqrt()  # nan at -1: passes silently, as before
    assert np.isnan(y.numpy()[1])
    assert "anomaly_site" not in vars(y._ctx)
    y.sum().backward()
    assert not np.isfinite(x.grad.numpy()).any()


def test_backward_is_checked_when_the_mode_is_on_during_backward():
    x = mg.tensor([0.0], requires_grad=True)
    loss = x.sqrt().sum()  # forward outside the mode: no line recorded
    with mg.detect_anomaly(), pytest.raises(mg.AnomalyError) as info:
        loss.backward()
    assert "sqrt produced inf" in str(info.value)
    assert "run the forward pass inside it too" in str(info.value)
    x = mg.tensor([0.0], requires_grad=True)
    with mg.detect_anomaly():
        loss = x.sqrt().sum()
    loss.backward()  # backward outside the mode: not checked
    assert np.isinf(x.grad.numpy()).all()


def test_the_gradient_given_to_backward_is_checked():
    y = mg.tensor([1.0, 2.0], requires_grad=True) * 2.0
    with mg.detect_anomaly(), pytest.raises(mg.AnomalyError, match="gradient given to backward"):
        y.backward(mg.tensor([1.0, float("inf")]))


def test_check_nan_false_records_lines_but_does_not_raise():
    x = mg.tensor([-1.0], requires_grad=True)
    with mg.detect_anomaly(check_nan=False):
        line = _next_line()
        y = x.log()
        assert mg.is_anomaly_enabled()
    filename, lineno, _ = y._ctx.anomaly_site
    assert (filename, lineno) == (__file__, line)
    assert np.isnan(y.numpy()).all()


def test_integer_and_finite_values_pass():
    with mg.detect_anomaly():
        x = mg.tensor([[1.0, -2.0]], requires_grad=True)
        loss = (x.relu() * mg.arange(2)).sum() + x.tanh().mean()
        loss.backward()
    assert np.isfinite(x.grad.numpy()).all()


def test_the_mode_nests_restores_and_stays_in_its_context():
    assert not mg.is_anomaly_enabled()
    mode = mg.detect_anomaly()
    with mode:
        with mg.detect_anomaly(check_nan=False):
            assert _anomaly_mode.get() is False
        assert _anomaly_mode.get() is True
        with mode:  # the same object re-entered
            assert mg.is_anomaly_enabled()
        assert mg.is_anomaly_enabled()
        assert contextvars.Context().run(mg.is_anomaly_enabled) is False  # another context: off
    assert not mg.is_anomaly_enabled()
    with pytest.raises(KeyError), mg.detect_anomaly():
        raise KeyError("any exception")
    assert not mg.is_anomaly_enabled()
