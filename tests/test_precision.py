"""float32 precision of the saturating functions, swept over [-88, 88].

Each function's float32 value and gradient are compared with an independent
float64 reference; the relative error must stay below 1e-5 wherever the true
value is a normal float32 number (|v| >= 1.2e-38). Computing sigmoid through
tanh, log(1 + tiny) or 1 - (something near 1) fails this by up to 100%.
"""

from __future__ import annotations

import numpy as np
import pytest

import minigrad as mg
import minigrad.nn.functional as F

X64 = np.linspace(-88.0, 88.0, 20001)
X32 = X64.astype(np.float32)
TINY = np.finfo(np.float32).tiny
REL = 1e-5


def _sigmoid64(x):
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e))


def _dsigmoid64(x):
    e = np.exp(-np.abs(x))
    return e / (1 + e) ** 2


def _dtanh64(x):
    return 1 / np.cosh(x) ** 2


def _log_softmax_first(x):
    return F.log_softmax(mg.stack([x, mg.zeros_like(x)], axis=-1), axis=-1)[:, 0]


def _bce(target):
    def fn(x):
        return F.binary_cross_entropy_with_logits(x, np.full(x.shape, target, np.float32), reduction="none")

    return fn


# name: (minigrad function of a 1-D tensor, float64 value, float64 derivative)
FUNCTIONS = {
    "sigmoid": (lambda x: x.sigmoid(), _sigmoid64, _dsigmoid64),
    "tanh": (lambda x: x.tanh(), np.tanh, _dtanh64),
    "softplus": (lambda x: F.softplus(x), lambda x: np.logaddexp(0, x), _sigmoid64),
    "log_sigmoid": (lambda x: F.log_sigmoid(x), lambda x: -np.logaddexp(0, -x), lambda x: _sigmoid64(-x)),
    # log_softmax([x, 0])[0] = log sigmoid(x), the log-probability of the first of two classes
    "log_softmax": (_log_softmax_first, lambda x: -np.logaddexp(0, -x), lambda x: _sigmoid64(-x)),
    "bce_with_logits_target_1": (_bce(1.0), lambda x: np.logaddexp(0, -x), lambda x: -_sigmoid64(-x)),
    "bce_with_logits_target_0": (_bce(0.0), lambda x: np.logaddexp(0, x), _sigmoid64),
}


def _relative_error(got, want):
    normal = np.abs(want) >= TINY
    return np.abs(got.astype(np.float64)[normal] - want[normal]) / np.abs(want[normal]), normal


@pytest.mark.parametrize("name", list(FUNCTIONS))
def test_float32_value_and_gradient_keep_relative_precision(backend, name):
    fn, value64, grad64 = FUNCTIONS[name]
    x = mg.tensor(X32, requires_grad=True)
    y = fn(x)
    assert y.dtype == np.float32
    y.sum().backward()
    assert x.grad.dtype == np.float32
    for what, got, want in [("value", y.numpy(), value64(X32.astype(np.float64))),
                            ("gradient", x.grad.numpy(), grad64(X32.astype(np.float64)))]:
        err, normal = _relative_error(got, want)
        worst = int(np.argmax(err))
        assert err[worst] <= REL, (
            f"{name} {what} at x = {X32[normal][worst]}: float32 {got[normal][worst]!r}, "
            f"float64 {want[normal][worst]!r}, relative error {err[worst]:.3g}"
        )


def test_reported_sigmoid_example():
    assert mg.tensor([-20.0]).sigmoid().item() == pytest.approx(2.0611536e-09, rel=1e-6)
    for x in (-11.0, -17.0, -87.0):
        assert mg.tensor([x]).sigmoid().item() == pytest.approx(float(_sigmoid64(np.float64(x))), rel=1e-6)


def test_lstm_gates_see_the_precise_sigmoid(backend):
    """The gates of the recurrent cells go through the same sigmoid: an input gate of -20 is 2e-9, not 0."""
    cell = mg.nn.LSTMCell(1, 1)
    with mg.no_grad():
        for p in cell.parameters():
            p.data[...] = 0.0
        cell.bias_ih.data[:] = cell.bias_ih.backend.asarray([-20.0, 0.0, 1.0, 0.0])  # i, f, g, o pre-activations
    h, c = cell(mg.zeros(1, 1), (mg.zeros(1, 1), mg.zeros(1, 1)))
    expected_c = _sigmoid64(np.float64(-20.0)) * np.tanh(1.0)
    assert c.item() == pytest.approx(float(expected_c), rel=1e-5)
