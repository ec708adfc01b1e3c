"""The compiled loops' exp, sigmoid and tanh (backends.recurrent_jit) against NumPy's, value by value."""

import numpy as np
import pytest

recurrent_jit = pytest.importorskip("backends.recurrent_jit", reason="numba (the jit extra)")

# (dtype, grid covering underflow to overflow, ulp allowed)
CASES = [(np.float32, (-110.0, 95.0), 1.0), (np.float64, (-760.0, 720.0), 1.0)]
SPECIALS = [np.nan, np.inf, -np.inf, 0.0, -0.0, 1e-30, -1e-30, 1000.0, -1000.0]


def _ulp_error(got, want):
    spacing = np.maximum(np.spacing(np.abs(want).astype(want.dtype)), np.finfo(want.dtype).smallest_subnormal)
    return np.abs(got.astype(np.float64) - want.astype(np.float64)) / spacing


@pytest.mark.parametrize("dtype, span, ulps", CASES, ids=["float32", "float64"])
def test_exp_is_within_one_ulp_of_the_correctly_rounded_value(dtype, span, ulps):
    x = np.linspace(*span, 2_000_001).astype(dtype)
    got = np.empty_like(x)
    recurrent_jit.exp_array(x, got)
    with np.errstate(over="ignore", under="ignore"):
        want = np.exp(x.astype(np.longdouble)).astype(dtype)  # rounded once, from extended precision
    finite = np.isfinite(want) & (want > 0)
    assert _ulp_error(got[finite], want[finite]).max() <= ulps
    assert np.isinf(got[np.isinf(want)]).all()  # overflow: inf, as NumPy's
    # underflow: 0 below the smallest subnormal (at most one subnormal step off at the boundary)
    assert (got[want == 0] <= np.finfo(dtype).smallest_subnormal).all()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_exp_keeps_nan_inf_and_exact_values(dtype):
    x = np.array(SPECIALS, dtype=dtype)
    got = np.empty_like(x)
    recurrent_jit.exp_array(x, got)
    with np.errstate(over="ignore"):
        np.testing.assert_array_equal(got, np.exp(x))


def _gate_functions(dtype):
    """sigmoid and tanh of the compiled loops, through an RNN forward (kind 2 and 0) over one step."""

    def run(kind, values):
        xw = np.asarray(values, dtype=dtype).reshape(1, 1, -1)
        hs = np.empty_like(xw)
        h0 = np.zeros((1, xw.shape[-1]), dtype=dtype)
        W = np.zeros((xw.shape[-1], xw.shape[-1]), dtype=dtype)
        mask = np.ones((1, 1), dtype=bool)
        recurrent_jit.rnn_forward(xw, h0, W, mask, False, False, kind, hs)
        return hs.ravel()

    return lambda v: run(2, v), lambda v: run(0, v)


@pytest.mark.parametrize("dtype, rtol", [(np.float32, 4e-7), (np.float64, 1e-15)], ids=["float32", "float64"])
def test_sigmoid_and_tanh_match_numpy_over_the_whole_range(dtype, rtol):
    sigmoid, tanh = _gate_functions(dtype)
    x = np.concatenate([np.linspace(-120, 120, 40_001), [np.inf, -np.inf, 0.0]]).astype(dtype)
    with np.errstate(over="ignore"):
        want_sigmoid = (1 / (1 + np.exp(-x.astype(np.longdouble)))).astype(dtype)
    # relatively exact in both tails, down to where e^-x overflows (the NumPy twin's 1 / (1 + e^-x) gives 0 there too)
    np.testing.assert_allclose(sigmoid(x), want_sigmoid, rtol=rtol, atol=np.finfo(dtype).tiny)
    eps = np.finfo(dtype).eps
    np.testing.assert_allclose(tanh(x), np.tanh(x), rtol=0, atol=4 * eps)  # absolutely exact near 0
    assert np.isnan(sigmoid([np.nan])).all() and np.isnan(tanh([np.nan])).all()
    assert tanh([200.0, -200.0]).tolist() == [1.0, -1.0] and sigmoid([-200.0, 200.0]).tolist()[1] == 1.0
