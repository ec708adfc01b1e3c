"""Op table for the activations and losses PyTorch users reach for, plus their precision and modules.

Rows are named after the op's Function class (``softplus_...``, ``log_sigmoid_...``,
``binary_cross_entropy_...``) so that ``test_op_coverage.py`` finds them. The
activations are ``elementwise`` rows: they also run on 0-d inputs and at the
special points (+-inf, +-0, nan, +-1e300, ...) against PyTorch. Loss rows cover
every reduction, with constant targets, and special rows at the boundaries
(BCE at probabilities 0 and 1, smooth L1 / Huber at |d| == beta, KL with
target 0).

After the table: a float32 precision sweep (every activation keeps its
relative precision over x in [-88, 88]), Cody's erf/erfc against ``math``,
the module forms against the functional ones, and argument errors.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from conftest import HAVE_TORCH, requires_torch
from optable import (
    Table,
    avoiding,
    axis_tests,
    const,
    normal,
    positive,
    tt,
)

import minigrad as mg
import minigrad.nn as nn
import minigrad.nn.functional as F
from minigrad.ops.activation import erf, erfc

if HAVE_TORCH:
    import torch
    import torch.nn.functional as TF
else:  # the torch references are only called by tests that are skipped then
    torch = TF = None

CASES = Table()
case = CASES.case

_erf = np.vectorize(math.erf, otypes=[float])
_erfc = np.vectorize(math.erfc, otypes=[float])
_K = math.sqrt(2 / math.pi)
REDUCE = {"mean": np.mean, "sum": np.sum, "none": lambda v: v}


# ---------------------------------------------------------------------------
# activations (elementwise rows: also 0-d and the special points against torch)
# ---------------------------------------------------------------------------
def np_softplus(x, beta=1.0, threshold=None):
    v = np.logaddexp(0, beta * x) / beta
    return v if threshold is None else np.where(beta * x > threshold, x, v)


def np_gelu(x):
    return 0.5 * x * (1 + _erf(x / math.sqrt(2)))


def np_gelu_tanh(x):
    return 0.5 * x * (1 + np.tanh(_K * (x + 0.044715 * x**3)))


def np_elu(x, alpha=1.0):
    return np.where(x > 0, x, alpha * (np.exp(np.minimum(x, 0)) - 1))


_TAILS = const([[-60.0, -30.0, -20.5, -5.0, -1e-3], [1e-3, 5.0, 19.5, 20.5, 60.0]])

case("softplus_default", lambda x: F.softplus(x), [normal(3, 4, scale=4.0)], np_softplus,
     lambda x: TF.softplus(x), elementwise=True)
case("softplus_tails", lambda x: F.softplus(x), [_TAILS], np_softplus, lambda x: TF.softplus(x))
case("softplus_beta2_threshold3", lambda x: F.softplus(x, beta=2.0, threshold=3.0),
     [avoiding(3, 4, points=(1.5,), lo=-4.0, hi=4.0)], lambda x: np_softplus(x, 2.0, 3.0),
     lambda x: TF.softplus(x, beta=2.0, threshold=3.0), elementwise=True)
case("softplus_negative_beta", lambda x: F.softplus(x, beta=-1.0, threshold=2.0),
     [avoiding(3, 4, points=(-2.0,), lo=-4.0, hi=4.0)], lambda x: np_softplus(x, -1.0, 2.0),
     lambda x: TF.softplus(x, beta=-1.0, threshold=2.0), elementwise=True)
case("softplus_beta_default_threshold", lambda x: F.softplus(x, beta=0.5), [normal(2, 5, scale=20.0)],
     lambda x: np_softplus(x, 0.5, 20.0), lambda x: TF.softplus(x, beta=0.5), elementwise=True)
case("log_sigmoid", lambda x: F.log_sigmoid(x), [normal(3, 4, scale=4.0)], lambda x: -np.logaddexp(0, -x),
     lambda x: TF.logsigmoid(x), elementwise=True)
case("log_sigmoid_tails", lambda x: F.logsigmoid(x), [_TAILS], lambda x: -np.logaddexp(0, -x),
     lambda x: TF.logsigmoid(x))
case("leaky_relu_default", lambda x: F.leaky_relu(x), [avoiding(3, 4)], lambda x: np.where(x > 0, x, 0.01 * x),
     lambda x: TF.leaky_relu(x), elementwise=True)
case("leaky_relu_slope", lambda x: F.leaky_relu(x, negative_slope=0.2), [avoiding(3, 4)],
     lambda x: np.where(x > 0, x, 0.2 * x), lambda x: TF.leaky_relu(x, negative_slope=0.2), elementwise=True)
case("leaky_relu_steep_slope", lambda x: F.leaky_relu(x, 3.0), [avoiding(3, 4)],
     lambda x: np.where(x > 0, x, 3.0 * x), lambda x: TF.leaky_relu(x, 3.0), elementwise=True)
# with alpha = 1 elu has a continuous derivative at 0: no need to avoid it
case("elu_default", lambda x: F.elu(x), [normal(3, 4, scale=2.0)], np_elu, lambda x: TF.elu(x), elementwise=True)
case("elu_alpha", lambda x: F.elu(x, alpha=0.5), [avoiding(3, 4, lo=-3.0, hi=3.0)], lambda x: np_elu(x, 0.5),
     lambda x: TF.elu(x, alpha=0.5), elementwise=True)
case("elu_tails", lambda x: F.elu(x, 2.0), [_TAILS], lambda x: np_elu(x, 2.0), lambda x: TF.elu(x, 2.0))
case("gelu_none", lambda x: F.gelu(x), [normal(3, 4, scale=3.0)], np_gelu, lambda x: TF.gelu(x), elementwise=True)
case("gelu_tanh", lambda x: F.gelu(x, approximate="tanh"), [normal(3, 4, scale=3.0)], np_gelu_tanh,
     lambda x: TF.gelu(x, approximate="tanh"), elementwise=True)
case("gelu_none_tails", lambda x: F.gelu(x), [_TAILS], np_gelu, lambda x: TF.gelu(x))
case("gelu_tanh_tails", lambda x: F.gelu(x, "tanh"), [_TAILS], np_gelu_tanh, lambda x: TF.gelu(x, approximate="tanh"))
case("gelu_then_softplus_chain", lambda x: F.softplus(F.gelu(x) * 2.0) + F.log_sigmoid(x), [normal(2, 3)],
     lambda x: np_softplus(np_gelu(x) * 2.0) - np.logaddexp(0, -x),
     lambda x: TF.softplus(TF.gelu(x) * 2.0) + TF.logsigmoid(x))


# ---------------------------------------------------------------------------
# losses: every reduction, constant targets, boundary rows
# ---------------------------------------------------------------------------
_rng = np.random.default_rng(2024)
_Y = _rng.random((3, 4))  # soft targets in [0, 1)
_W = np.array([0.5, 1.0, 2.0, 0.0])  # per-column weights, one of them 0
_T = _rng.standard_normal((3, 4))  # regression targets
_PROBS = np.array([[0.5, 0.0, 0.25, 0.25], [0.0, 0.0, 1.0, 0.0], [0.1, 0.2, 0.3, 0.4]])  # with zeros
_LOG_PROBS = np.log(np.array([[0.5, 0.1, 0.2, 0.2], [0.05, 0.05, 0.8, 0.1], [0.1, 0.2, 0.3, 0.4]]))


def np_bce(p, y, w=None, reduction="mean"):
    loss = -(y * np.maximum(np.log(p), -100) + (1 - y) * np.maximum(np.log1p(-p), -100))
    return REDUCE[reduction](loss if w is None else loss * w)


def np_smooth_l1(d, beta):
    z = np.abs(d)
    return np.where(z < beta, 0.5 * z * z / beta, z - 0.5 * beta)


def np_huber(d, delta):
    z = np.abs(d)
    return np.where(z < delta, 0.5 * z * z, delta * (z - 0.5 * delta))


def np_kl(x, y, reduction, log_target=False):
    if log_target:
        loss = np.exp(y) * (y - x)
    else:
        loss = np.where(y > 0, y * np.log(np.where(y > 0, y, 1.0)), 0.0) - y * x
    if reduction == "batchmean":
        return loss.sum() / x.shape[0] if x.ndim else loss.sum()
    return REDUCE[reduction](loss)


def torch_kl(x, y, **kw):
    with warnings.catch_warnings():  # torch warns that reduction='mean' is not the KL divergence
        warnings.simplefilter("ignore", UserWarning)
        return TF.kl_div(x, y, **kw)


def near(target, maker):
    """``target`` plus the draws of ``maker``: inputs at controlled distances from a constant target."""
    return lambda rng: target + maker(rng)


for _red in ("mean", "sum", "none"):
    case(f"binary_cross_entropy_{_red}", lambda p, r=_red: F.binary_cross_entropy(p, _Y, reduction=r),
         [positive(3, 4, lo=0.05, hi=0.95)], lambda p, r=_red: np_bce(p, _Y, reduction=r),
         lambda p, r=_red: TF.binary_cross_entropy(p, tt(_Y), reduction=r), special=None)  # probabilities: rows below
    case(f"binary_cross_entropy_weight_{_red}",
         lambda p, r=_red: F.binary_cross_entropy(p, _Y, weight=mg.tensor(_W, dtype="float64"), reduction=r),
         [positive(3, 4, lo=0.05, hi=0.95)], lambda p, r=_red: np_bce(p, _Y, _W, reduction=r),
         lambda p, r=_red: TF.binary_cross_entropy(p, tt(_Y), weight=tt(_W), reduction=r), special=None)
    case(f"l1_loss_{_red}", lambda x, r=_red: F.l1_loss(x, _T, reduction=r), [near(_T, avoiding(3, 4))],
         lambda x, r=_red: REDUCE[r](np.abs(x - _T)), lambda x, r=_red: TF.l1_loss(x, tt(_T), reduction=r))
    case(f"smooth_l1_loss_{_red}", lambda x, r=_red: F.smooth_l1_loss(x, _T, reduction=r),
         [near(_T, normal(3, 4, scale=1.5))], lambda x, r=_red: REDUCE[r](np_smooth_l1(x - _T, 1.0)),
         lambda x, r=_red: TF.smooth_l1_loss(x, tt(_T), reduction=r))
    case(f"huber_loss_{_red}", lambda x, r=_red: F.huber_loss(x, _T, reduction=r),
         [near(_T, normal(3, 4, scale=1.5))], lambda x, r=_red: REDUCE[r](np_huber(x - _T, 1.0)),
         lambda x, r=_red: TF.huber_loss(x, tt(_T), reduction=r))
for _red in ("mean", "batchmean", "sum", "none"):
    case(f"kl_div_{_red}", lambda x, r=_red: F.kl_div(x, _PROBS, reduction=r), [normal(3, 4)],
         lambda x, r=_red: np_kl(x, _PROBS, r), lambda x, r=_red: torch_kl(x, tt(_PROBS), reduction=r))
    case(f"kl_div_log_target_{_red}", lambda x, r=_red: F.kl_div(x, _LOG_PROBS, reduction=r, log_target=True),
         [normal(3, 4)], lambda x, r=_red: np_kl(x, _LOG_PROBS, r, log_target=True),
         lambda x, r=_red: torch_kl(x, tt(_LOG_PROBS), reduction=r, log_target=True))

# both inputs differentiable: the target's gradient too
case("binary_cross_entropy_target_grad", lambda p, y: F.binary_cross_entropy(p, y),
     [positive(3, 4, lo=0.05, hi=0.95), positive(3, 4, lo=0.0, hi=1.0)], np_bce,
     lambda p, y: TF.binary_cross_entropy(p, y), special=None)  # probabilities: the rows at 0 and 1 below
case("kl_div_target_grad", lambda x, y: F.kl_div(x, y, reduction="batchmean"),
     [normal(3, 4), positive(3, 4, lo=0.05, hi=1.0)], lambda x, y: np_kl(x, y, "batchmean"),
     lambda x, y: torch_kl(x, y, reduction="batchmean"))
case("kl_div_log_target_target_grad", lambda x, y: F.kl_div(x, y, reduction="sum", log_target=True),
     [normal(3, 4), normal(3, 4)], lambda x, y: np_kl(x, y, "sum", log_target=True),
     lambda x, y: torch_kl(x, y, reduction="sum", log_target=True))
case("kl_div_0d_batchmean", lambda x: F.kl_div(x, 0.3, reduction="batchmean"), [normal()],
     lambda x: np_kl(x, np.float64(0.3), "batchmean"), lambda x: torch_kl(x, tt(0.3), reduction="batchmean"))
case("smooth_l1_loss_beta_half", lambda x: F.smooth_l1_loss(x, _T, beta=0.5), [near(_T, normal(3, 4))],
     lambda x: np.mean(np_smooth_l1(x - _T, 0.5)), lambda x: TF.smooth_l1_loss(x, tt(_T), beta=0.5))
case("smooth_l1_loss_beta_zero_is_l1", lambda x: F.smooth_l1_loss(x, _T, "sum", beta=0.0),
     [near(_T, avoiding(3, 4))], lambda x: np.abs(x - _T).sum(),
     lambda x: TF.smooth_l1_loss(x, tt(_T), reduction="sum", beta=0.0))
case("huber_loss_delta_2", lambda x: F.huber_loss(x, _T, "sum", delta=2.0), [near(_T, normal(3, 4, scale=3.0))],
     lambda x: np_huber(x - _T, 2.0).sum(), lambda x: TF.huber_loss(x, tt(_T), "sum", delta=2.0))

# boundary points, against torch: probabilities exactly 0 and 1 (and nearly), |d| == beta, target 0
_P_EDGE = np.array([0.0, 0.0, 1.0, 1.0, 0.0, 1.0, 1e-50, 1 - 1e-16, 1e-13])
_Y_EDGE = np.array([0.0, 1.0, 0.0, 1.0, 0.3, 0.7, 1.0, 0.0, 1.0])
_P_INSIDE = const(np.linspace(0.1, 0.9, 9))
for _red in ("mean", "sum", "none"):
    case(f"binary_cross_entropy_at_0_and_1_{_red}",
         lambda p, r=_red: F.binary_cross_entropy(p, _Y_EDGE, reduction=r), [_P_INSIDE],
         lambda p, r=_red: np_bce(p, _Y_EDGE, reduction=r),
         lambda p, r=_red: TF.binary_cross_entropy(p, tt(_Y_EDGE), reduction=r), special=[[_P_EDGE]])
case("binary_cross_entropy_both_at_0_and_1", lambda p, y: F.binary_cross_entropy(p, y, reduction="none"),
     [_P_INSIDE, const(np.linspace(0.05, 0.95, 9))], lambda p, y: np_bce(p, y, reduction="none"),
     lambda p, y: TF.binary_cross_entropy(p, y, reduction="none"), special=[[_P_EDGE, _Y_EDGE]])

_T_GRID = np.array([0.0, 0.25, -0.5, 1.0, 0.75, -1.25, 2.0, 0.5, 0.0, 0.0])  # exact in binary
_D_INSIDE = const(_T_GRID + np.array([0.3, -0.2, 0.1, 0.7, -0.9, 1.1, -0.05, 2.0, 0.4, -0.3]))
_AT_BETA = _T_GRID + np.array([0.5, -0.5, 0.0, 0.25, -1.0, 1.0, np.inf, -np.inf, -0.0, 0.5])  # beta = 0.5
for _red in ("mean", "none"):
    case(f"smooth_l1_loss_at_beta_{_red}", lambda x, r=_red: F.smooth_l1_loss(x, _T_GRID, r, beta=0.5), [_D_INSIDE],
         lambda x, r=_red: REDUCE[r](np_smooth_l1(x - _T_GRID, 0.5)),
         lambda x, r=_red: TF.smooth_l1_loss(x, tt(_T_GRID), reduction=r, beta=0.5), special=[[_AT_BETA]])
    case(f"huber_loss_at_delta_{_red}", lambda x, r=_red: F.huber_loss(x, _T_GRID, r, delta=0.5), [_D_INSIDE],
         lambda x, r=_red: REDUCE[r](np_huber(x - _T_GRID, 0.5)),
         lambda x, r=_red: TF.huber_loss(x, tt(_T_GRID), reduction=r, delta=0.5), special=[[_AT_BETA]])
    case(f"l1_loss_at_zero_{_red}", lambda x, r=_red: F.l1_loss(x, _T_GRID, r), [_D_INSIDE],
         lambda x, r=_red: REDUCE[r](np.abs(x - _T_GRID)), lambda x, r=_red: TF.l1_loss(x, tt(_T_GRID), reduction=r),
         special=[[_AT_BETA], [_T_GRID]])

_KL_TARGET = np.array([0.0, 0.0, 0.0, 0.5, 0.2, 0.3, 1.0])
_KL_AT = np.array([0.3, -np.inf, np.inf, -0.0, 0.0, -2.0, np.nan])  # target 0 with finite, -inf, +inf inputs
for _red in ("none", "sum", "batchmean"):
    case(f"kl_div_target_zero_{_red}", lambda x, r=_red: F.kl_div(x, _KL_TARGET, reduction=r),
         [normal(7)], lambda x, r=_red: np_kl(x, _KL_TARGET, r),
         lambda x, r=_red: torch_kl(x, tt(_KL_TARGET), reduction=r), special=[[_KL_AT], [np.zeros(7)]])

CASE_IDS = [c.name for c in CASES]


# ---------------------------------------------------------------------------
# the table-driven tests
# ---------------------------------------------------------------------------
globals().update(axis_tests(CASES))  # value and gradcheck, torch, non-contiguous, 0-d, special


# ---------------------------------------------------------------------------
# float32: relative precision over float32's range
# ---------------------------------------------------------------------------
X32 = np.linspace(-88, 88, 20001).astype(np.float32)
TINY32 = np.finfo(np.float32).tiny


def _sigmoid64(x):
    return np.exp(x - np.logaddexp(0, x))  # 1 / (1 + e^-x), via logaddexp: independent of the ops


def _gelu_tanh_parts64(x):
    with np.errstate(over="ignore"):
        s = 1 / (1 + np.exp(-2 * _K * (x + 0.044715 * x**3)))
        s_neg = 1 / (1 + np.exp(2 * _K * (x + 0.044715 * x**3)))
    slope = x * s * s_neg * 2 * _K * (1 + 3 * 0.044715 * x * x)
    return x * s, s + slope, s + np.abs(slope)


def _gelu_parts64(x):
    cdf, x_pdf = 0.5 * _erfc(-x / math.sqrt(2)), x * np.exp(-0.5 * x * x) / math.sqrt(2 * math.pi)
    return x * cdf, cdf + x_pdf, cdf + np.abs(x_pdf)


# name: (function, float64 value, float64 derivative, scale of the derivative's terms or None)
SWEEPS = {
    "softplus": (F.softplus, lambda x: np.logaddexp(0, x), _sigmoid64, None),
    "log_sigmoid": (F.log_sigmoid, lambda x: -np.logaddexp(0, -x), lambda x: _sigmoid64(-x), None),
    "elu": (lambda x: F.elu(x, 1.5), lambda x: np.where(x > 0, x, 1.5 * np.expm1(np.minimum(x, 0))),
            lambda x: np.where(x > 0, 1.0, 1.5 * np.exp(np.minimum(x, 0))), None),
    "leaky_relu": (F.leaky_relu, lambda x: np.where(x > 0, x, 0.01 * x), lambda x: np.where(x > 0, 1.0, 0.01), None),
    # gelu's derivative (two terms) has a root near x = -0.75: there it is precise relative to its terms
    "gelu": (F.gelu, lambda x: _gelu_parts64(x)[0], lambda x: _gelu_parts64(x)[1], lambda x: _gelu_parts64(x)[2]),
    "gelu_tanh": (lambda x: F.gelu(x, "tanh"), lambda x: _gelu_tanh_parts64(x)[0],
                  lambda x: _gelu_tanh_parts64(x)[1], lambda x: _gelu_tanh_parts64(x)[2]),
}


def assert_relative(got, ref, x, what, tol=1e-5, scale=None):
    """|got - ref| <= tol |ref| wherever the true value is a normal float32 number (``scale`` instead of |ref|)."""
    got = np.asarray(got, dtype=np.float64)
    scale = np.abs(ref) if scale is None else scale
    normal = np.abs(ref) >= TINY32
    err = np.abs(got - ref)[normal] / scale[normal]
    worst = int(np.argmax(err))
    assert err[worst] <= tol, (f"{what}: relative error {err[worst]:.3g} at x = {x[normal][worst]!r} "
                               f"(got {got[normal][worst]!r}, expected {ref[normal][worst]!r})")


@pytest.mark.parametrize("name", list(SWEEPS))
def test_float32_relative_precision_over_the_range(backend, name):
    fn, value, derivative, scale = SWEEPS[name]
    x = mg.tensor(X32, requires_grad=True)
    y = fn(x)
    assert y.dtype == np.float32
    y.sum().backward()
    assert x.grad.dtype == np.float32
    x64 = X32.astype(np.float64)
    assert_relative(y.numpy(), value(x64), X32, f"{name}(x)")
    assert_relative(x.grad.numpy(), derivative(x64), X32, f"{name}'(x)", scale=None if scale is None else scale(x64))


def test_float32_softplus_tails_are_exact():
    x = mg.tensor(np.array([-87.0, -50.0, -20.0, 20.0, 50.0, 87.0], dtype=np.float32), requires_grad=True)
    y = F.softplus(x)
    y.sum().backward()
    np.testing.assert_allclose(y.numpy(), np.logaddexp(0, x.numpy().astype(np.float64)), rtol=2e-7)
    np.testing.assert_allclose(x.grad.numpy(), _sigmoid64(x.numpy().astype(np.float64)), rtol=2e-7)
    assert y.numpy()[0] > 0 and x.grad.numpy()[0] > 0  # e^-87 ~ 1.6e-38: not flushed to 0


# ---------------------------------------------------------------------------
# Cody's erf and erfc against the C library
# ---------------------------------------------------------------------------
_ERF_X = np.concatenate([np.linspace(-30, 30, 60001), np.geomspace(1e-300, 30, 3001), -np.geomspace(1e-300, 30, 3001),
                         [0.0, -0.0, 0.46875, -0.46875, 4.0, -4.0, 26.5, 27.0, 1e300, -1e300]])


@pytest.mark.parametrize("name, fn, ref", [("erf", erf, math.erf), ("erfc", erfc, math.erfc)])
def test_erf_matches_math_to_float64_rounding(name, fn, ref):
    got = fn(np, _ERF_X)
    expected = np.array([ref(v) for v in _ERF_X])
    normal = np.abs(expected) >= np.finfo(np.float64).tiny
    rel = np.abs(got - expected)[normal] / np.abs(expected[normal])
    assert rel.max() <= 1e-15, f"{name}: relative error {rel.max():.3g} at x = {_ERF_X[normal][np.argmax(rel)]}"
    # erfc's subnormal tail (x > 26.5) to within a few units of the smallest subnormal, 0 beyond 27.3
    np.testing.assert_allclose(got[~normal], expected[~normal], rtol=0, atol=2e-323)


@pytest.mark.parametrize("name, fn, at_inf", [("erf", erf, (1.0, -1.0)), ("erfc", erfc, (0.0, 2.0))])
def test_erf_at_infinities_and_nan(name, fn, at_inf):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no floating-point warnings either
        got = fn(np, np.array([np.inf, -np.inf, np.nan]))
    assert got[:2].tolist() == list(at_inf) and np.isnan(got[2])


def test_erf_float32_stays_float32_and_precise():
    x = np.linspace(-10, 10, 4001).astype(np.float32)
    x64 = x.astype(np.float64)
    for fn, ref in ((erf, _erf), (erfc, _erfc)):
        got = fn(np, x)
        assert got.dtype == np.float32
        assert_relative(got, ref(x64), x, fn.__name__, tol=2e-6)


# ---------------------------------------------------------------------------
# module forms
# ---------------------------------------------------------------------------
_XS = np.random.default_rng(5).standard_normal((4, 3)) * 3
_PS = np.random.default_rng(6).uniform(0.02, 0.98, (4, 3))
_YS = np.random.default_rng(7).random((4, 3))

MODULES = [
    (nn.Softplus(), lambda x: F.softplus(x)),
    (nn.Softplus(beta=2.0, threshold=1.0), lambda x: F.softplus(x, 2.0, 1.0)),
    (nn.LogSigmoid(), F.log_sigmoid),
    (nn.LeakyReLU(), lambda x: F.leaky_relu(x)),
    (nn.LeakyReLU(0.3), lambda x: F.leaky_relu(x, 0.3)),
    (nn.ELU(), lambda x: F.elu(x)),
    (nn.ELU(alpha=0.7), lambda x: F.elu(x, 0.7)),
    (nn.GELU(), lambda x: F.gelu(x)),
    (nn.GELU(approximate="tanh"), lambda x: F.gelu(x, "tanh")),
]
LOSS_MODULES = [
    (nn.BCELoss(), lambda p, y: F.binary_cross_entropy(p, y)),
    (nn.BCELoss(weight=[1.0, 2.0, 0.5], reduction="sum"),
     lambda p, y: F.binary_cross_entropy(p, y, weight=mg.tensor([1.0, 2.0, 0.5], dtype="float64"), reduction="sum")),
    (nn.L1Loss(reduction="none"), lambda p, y: F.l1_loss(p, y, "none")),
    (nn.SmoothL1Loss(beta=0.3), lambda p, y: F.smooth_l1_loss(p, y, beta=0.3)),
    (nn.HuberLoss(reduction="sum", delta=0.2), lambda p, y: F.huber_loss(p, y, "sum", delta=0.2)),
    (nn.KLDivLoss(reduction="batchmean"), lambda p, y: F.kl_div(p, y, "batchmean")),
    (nn.KLDivLoss(log_target=True), lambda p, y: F.kl_div(p, y, log_target=True)),
]


def _same_value_and_grad(a_fn, b_fn, *arrays):
    outs, grads = [], []
    for fn in (a_fn, b_fn):
        x = mg.tensor(arrays[0], dtype="float64", requires_grad=True)
        out = fn(x, *arrays[1:])
        (out * mg.tensor(np.linspace(0.5, 1.5, out.numel()).reshape(out.shape))).sum().backward()
        outs.append(out.numpy())
        grads.append(x.grad.numpy())
    np.testing.assert_array_equal(outs[0], outs[1])
    np.testing.assert_array_equal(grads[0], grads[1])


@pytest.mark.parametrize("module, fn", MODULES, ids=[repr(m) for m, _ in MODULES])
def test_activation_module_equals_functional(backend, module, fn):
    _same_value_and_grad(module, fn, _XS)


@pytest.mark.parametrize("module, fn", LOSS_MODULES, ids=[repr(m) for m, _ in LOSS_MODULES])
def test_loss_module_equals_functional(backend, module, fn):
    _same_value_and_grad(module, fn, _PS, _YS)


def test_module_reprs_follow_pytorch():
    assert repr(nn.Softplus()) == "Softplus(beta=1.0, threshold=20.0)"
    assert repr(nn.LeakyReLU()) == "LeakyReLU(negative_slope=0.01)"
    assert repr(nn.ELU()) == "ELU(alpha=1.0)"
    assert repr(nn.GELU()) == "GELU(approximate='none')"
    assert repr(nn.LogSigmoid()) == "LogSigmoid()"
    assert repr(nn.KLDivLoss(reduction="batchmean")) == "KLDivLoss(reduction='batchmean', log_target=False)"


@requires_torch
def test_modules_match_torch_modules():
    x = torch.tensor(_XS, requires_grad=True)
    for ours, theirs in [(nn.Softplus(beta=2.0, threshold=1.0), torch.nn.Softplus(beta=2.0, threshold=1.0)),
                         (nn.GELU("tanh"), torch.nn.GELU("tanh")), (nn.ELU(0.5), torch.nn.ELU(0.5)),
                         (nn.LeakyReLU(0.2), torch.nn.LeakyReLU(0.2)), (nn.LogSigmoid(), torch.nn.LogSigmoid())]:
        np.testing.assert_allclose(ours(mg.tensor(_XS)).numpy(), theirs(x).detach().numpy(), rtol=1e-12)
    p, y = mg.tensor(_PS), mg.tensor(_YS)
    tp, ty = torch.tensor(_PS), torch.tensor(_YS)
    for ours, theirs in [(nn.BCELoss(reduction="sum"), torch.nn.BCELoss(reduction="sum")),
                         (nn.L1Loss(), torch.nn.L1Loss()), (nn.SmoothL1Loss(beta=0.3), torch.nn.SmoothL1Loss(beta=0.3)),
                         (nn.HuberLoss(delta=0.2), torch.nn.HuberLoss(delta=0.2)),
                         (nn.KLDivLoss(reduction="batchmean"), torch.nn.KLDivLoss(reduction="batchmean"))]:
        np.testing.assert_allclose(ours(p, y).numpy(), theirs(tp, ty).numpy(), rtol=1e-12)


# ---------------------------------------------------------------------------
# errors: unknown names list the valid ones
# ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    "make, names",
    [
        (lambda: nn.BCELoss(reduction="avg"), ("'mean'", "'sum'", "'none'")),
        (lambda: nn.L1Loss(reduction="avg"), ("'mean'", "'sum'", "'none'")),
        (lambda: nn.SmoothL1Loss(reduction="batchmean"), ("'mean'", "'sum'", "'none'")),
        (lambda: nn.HuberLoss(reduction="total"), ("'mean'", "'sum'", "'none'")),
        (lambda: nn.KLDivLoss(reduction="batch_mean"), ("'mean'", "'batchmean'", "'sum'", "'none'")),
        (lambda: nn.GELU(approximate="bad"), ("'none'", "'tanh'")),
    ],
    ids=["BCELoss", "L1Loss", "SmoothL1Loss", "HuberLoss", "KLDivLoss", "GELU"],
)
def test_bad_constructor_names_list_the_valid_ones(make, names):
    with pytest.raises(ValueError) as info:
        make()
    msg = str(info.value)
    assert all(n in msg for n in names), msg


@pytest.mark.parametrize(
    "make",
    [
        lambda: nn.Softplus(beta=0),
        lambda: nn.Softplus(beta="1"),
        lambda: nn.Softplus(threshold=float("nan")),
        lambda: nn.LeakyReLU(negative_slope=None),
        lambda: nn.ELU(alpha=True),
        lambda: nn.SmoothL1Loss(beta=-0.5),
        lambda: nn.HuberLoss(delta=0.0),
        lambda: nn.HuberLoss(delta=-1.0),
    ],
    ids=["softplus-beta-0", "softplus-beta-str", "softplus-threshold-nan", "leaky-slope-none", "elu-alpha-bool",
         "smooth-l1-negative-beta", "huber-delta-0", "huber-negative-delta"],
)
def test_bad_constructor_numbers_raise(make):
    with pytest.raises(ValueError):
        make()


@pytest.mark.parametrize(
    "call, words",
    [
        (lambda x: F.gelu(x, approximate="erf"), ("gelu", "'none'", "'tanh'", "'erf'")),
        (lambda x: F.kl_div(x, np.ones(3), reduction="batch"), ("kl_div", "'batchmean'", "'batch'")),
        (lambda x: F.l1_loss(x, np.ones(3), reduction="batchmean"), ("l1_loss", "'mean'", "'batchmean'")),
        (lambda x: F.binary_cross_entropy(x, np.ones(3), reduction="avg"), ("binary_cross_entropy", "'avg'")),
        (lambda x: F.smooth_l1_loss(x, np.ones(3), beta=-1.0), ("smooth_l1_loss", "beta", "-1.0")),
        (lambda x: F.huber_loss(x, np.ones(3), delta=0.0), ("huber_loss", "delta")),
        (lambda x: F.softplus(x, beta=0), ("softplus", "beta")),
        (lambda x: F.l1_loss(x, np.ones(4)), ("l1_loss", "(3,)", "(4,)")),
        (lambda x: F.kl_div(x, np.ones((3, 1))), ("kl_div", "(3,)", "(3, 1)")),
        (lambda x: F.binary_cross_entropy(x, np.ones(4)), ("binary_cross_entropy", "(3,)", "(4,)")),
    ],
    ids=["gelu-approximate", "kl-reduction", "l1-reduction", "bce-reduction", "smooth-l1-beta", "huber-delta",
         "softplus-beta", "l1-shape", "kl-shape", "bce-shape"],
)
def test_functional_errors_name_the_op_and_the_choices(backend, call, words):
    x = mg.tensor([0.2, 0.5, 0.9], dtype="float64")
    with pytest.raises(ValueError) as info:
        call(x)
    msg = str(info.value)
    assert all(w in msg for w in words), msg


@pytest.mark.parametrize(
    "p, y, bad",
    [([0.5, 1.5], [0.0, 1.0], "input"), ([0.5, -0.1], [0.0, 1.0], "input"), ([0.5, float("nan")], [0.0, 1.0], "input"),
     ([0.5, 0.5], [0.0, 2.0], "target")],
)
def test_binary_cross_entropy_rejects_values_outside_0_1(backend, p, y, bad):
    with pytest.raises(ValueError, match=f"binary_cross_entropy: all elements of {bad} should be between 0 and 1"):
        F.binary_cross_entropy(mg.tensor(p), y)


def test_binary_cross_entropy_float32_at_0_and_1_is_finite():
    p = mg.tensor(np.array([0.0, 1.0, 0.5], dtype=np.float32), requires_grad=True)
    loss = F.binary_cross_entropy(p, [1.0, 0.0, 1.0], reduction="sum")
    assert loss.dtype == np.float32
    loss.backward()
    np.testing.assert_allclose(loss.item(), 200 + math.log(2), rtol=1e-6)
    np.testing.assert_allclose(p.grad.numpy(), [-1e12, 1e12, -2.0], rtol=1e-6)


def test_kl_div_batchmean_is_the_kl_divergence_per_sample(backend):
    p = np.array([[0.2, 0.8], [0.5, 0.5]])
    q = np.array([[0.4, 0.6], [0.9, 0.1]])
    expected = np.sum(p * np.log(p / q)) / 2
    got = F.kl_div(mg.tensor(np.log(q), dtype="float64"), p, reduction="batchmean")
    np.testing.assert_allclose(got.item(), expected, rtol=1e-12)
    mean = F.kl_div(mg.tensor(np.log(q), dtype="float64"), p, reduction="mean")
    np.testing.assert_allclose(mean.item(), expected / 2, rtol=1e-12)  # divided by the 2 classes as well


def test_huber_is_delta_times_smooth_l1(backend):
    x = mg.tensor(_XS, dtype="float64")
    np.testing.assert_allclose(F.huber_loss(x, _YS, "none", delta=0.7).numpy(),
                               0.7 * F.smooth_l1_loss(x, _YS, "none", beta=0.7).numpy(), rtol=1e-14)
