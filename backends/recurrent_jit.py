"""Compiled time loops of the fused recurrent kernels, for NumPy on the CPU (optional: numba).

The same loops as [`minigrad.ops.recurrent`][minigrad.ops.recurrent] with the gate arithmetic of
`backends.recurrent`, compiled by numba into machine code without the GIL:
no Python loop and no per-call overhead of the dozens of small ufunc calls per
step, and both directions of a bidirectional layer can run in two threads.
Each step's matrix product still goes to BLAS (``np.dot`` with an output
array; numba reaches BLAS through SciPy). Installed with
``pip install "minigrad[jit]"``; without numba and SciPy the NumPy loops run
instead, with the same results (the tests compare them).

Arrays: time-major, contiguous, one float dtype. Shape legend: T time steps,
N batch, H hidden units, G gates * H. ``mask (T, N)`` is True at real steps
(ignored unless ``has_mask``); ``W (H, G)`` is W_hh^T and ``WT (G, H)`` is W_hh.
The state before step t is that of the step processed before it (t - 1, or
t + 1 when ``reverse``), or the initial state for the first step.

The pointwise loops are written so that LLVM vectorises them: one simple
loop per row and block of gates, no call into libm (the exp below), a
branch per row (padded or not) rather than per element, and float32
constants, so that float32 arithmetic stays float32.

Exp, sigmoid and tanh: ``math.exp`` inside a loop is a call per element, which
keeps the loop scalar (several times slower than NumPy's vectorised ufuncs at
a few thousand values per step). The exp here is plain arithmetic:

    x = n ln 2 + r,  n = round(x / ln 2),  |r| <= ln(2) / 2          (Cody and Waite's reduction)
    e^x = 2^n e^r,   e^r = 1 + r + r^2 p(r)                          (a polynomial, Horner's rule)

with ``ln 2`` split in a high part exact in a few bits and a low part, so that
``x - n ln 2`` loses nothing, and ``2^n`` built from its exponent bits in two
halves (``2^(n//2) 2^(n - n//2)``) so that the largest and the subnormal results
come out right. float32 uses the minimax polynomial of Cephes' ``expf``
(S. L. Moshier); float64 the Taylor series of e^r to r^13, whose remainder is
below 2e-16 on |r| <= ln(2) / 2. At most 0.54 ulp (float32) and 1 ulp (float64)
from NumPy's exp over the whole range (the tests check it); ``inf`` above the
largest finite result, 0 below the smallest subnormal, ``nan`` kept. Then

    sigmoid(x) = 1 / (1 + e^-x)          tanh(x) = 1 - 2 / (1 + e^2x) = 2 sigmoid(2x) - 1

exact in their tails (an overflowing exp gives 0, -1 or 1), with an absolute
error of a few ulp of 1 near zero.
"""

from __future__ import annotations

import math

import numba
import numpy as np
from llvmlite import ir
from numba import types
from numba.extending import intrinsic, overload

# NumPy's error model (x / 0 is inf or nan, never an exception) and no fast-math flag that assumes
# finite numbers or reorders sums: a nan propagates as through the NumPy loops, and the Cody-Waite
# reduction is computed exactly as written.
FASTMATH = {"contract", "arcp"}
jit = numba.njit(cache=True, nogil=True, error_model="numpy", fastmath=FASTMATH)

# -- exp, sigmoid, tanh ------------------------------------------------------------
@intrinsic
def _float32_from_bits(typingctx, bits):
    """The float32 whose IEEE 754 bit pattern is the int32 ``bits``."""
    return types.float32(types.int32), lambda context, builder, sig, args: builder.bitcast(args[0], ir.FloatType())


@intrinsic
def _float64_from_bits(typingctx, bits):
    """The float64 whose IEEE 754 bit pattern is the int64 ``bits``."""
    return types.float64(types.int64), lambda context, builder, sig, args: builder.bitcast(args[0], ir.DoubleType())


LOG2E = 1.4426950408889634


@intrinsic
def _float32_from_bits(typingctx, bits):
    """The float32 whose IEEE 754 bit pattern is the int32 ``bits``."""
    return types.float32(types.int32), lambda context, builder, sig, args: builder.bitcast(args[0], ir.FloatType())


@intrinsic
def _float64_from_bits(typingctx, bits):
    """The float64 whose IEEE 754 bit pattern is the int64 ``bits``."""
    return types.float64(types.int64), lambda context, builder, sig, args: builder.bitcast(args[0], ir.DoubleType())


@jit
def _exp32(x):
    lo, hi = np.float32(-103.972), np.float32(88.72283)  # e^x is below the smallest subnormal / above the largest
    xc = x if x > lo else lo
    xc = xc if xc < hi else hi
    n = math.floor(xc * np.float32(LOG2E) + np.float32(0.5))
    r = xc - n * np.float32(0.693359375)  # ln 2 = 0.693359375 - 2.12194440e-4 (the first exact in 9 bits)
    r = r - n * np.float32(-2.12194440e-4)
    p = np.float32(1.9875691500e-4)
    p = p * r + np.float32(1.3981999507e-3)
    p = p * r + np.float32(8.3334519073e-3)
    p = p * r + np.float32(4.1665795894e-2)
    p = p * r + np.float32(1.6666665459e-1)
    p = p * r + np.float32(5.0000001201e-1)
    y = p * (r * r) + r + np.float32(1.0)
    k = np.int32(n)
    k1 = k >> np.int32(1)
    y = y * _float32_from_bits((k1 + np.int32(127)) << np.int32(23))  # 2^k1, then 2^(k - k1)
    y = y * _float32_from_bits((k - k1 + np.int32(127)) << np.int32(23))
    y = y if x < hi else np.float32(np.inf)
    y = y if x > lo else np.float32(0.0)
    return y if x == x else x  # nan in, nan out


@jit
def _exp64(x):
    lo, hi = -745.2, 709.782712893384
    xc = x if x > lo else lo
    xc = xc if xc < hi else hi
    n = math.floor(xc * LOG2E + 0.5)
    r = xc - n * 6.93147180369123816490e-01  # ln 2 split as in fdlibm: the high part has 32 bits
    r = r - n * 1.90821492927058770002e-10
    p = 1.0 / 6227020800.0  # 1/13!, then Horner down to 1/2!
    p = p * r + 1.0 / 479001600.0
    p = p * r + 1.0 / 39916800.0
    p = p * r + 1.0 / 3628800.0
    p = p * r + 1.0 / 362880.0
    p = p * r + 1.0 / 40320.0
    p = p * r + 1.0 / 5040.0
    p = p * r + 1.0 / 720.0
    p = p * r + 1.0 / 120.0
    p = p * r + 1.0 / 24.0
    p = p * r + 1.0 / 6.0
    p = p * r + 0.5
    y = p * (r * r) + r + 1.0
    k = np.int64(n)
    k1 = k >> np.int64(1)
    y = y * _float64_from_bits((k1 + np.int64(1023)) << np.int64(52))
    y = y * _float64_from_bits((k - k1 + np.int64(1023)) << np.int64(52))
    y = y if x < hi else np.inf
    y = y if x > lo else 0.0
    return y if x == x else x


def exp(x):  # pragma: no cover - replaced by the overload below inside compiled code
    """e^x in compiled code, in the dtype of ``x`` (float32 or float64)."""
    raise NotImplementedError("backends.recurrent_jit.exp runs inside numba-compiled code only")


@overload(exp, jit_options={"nogil": True, "error_model": "numpy", "fastmath": FASTMATH})
def _exp_overload(x):
    if x == types.float32:
        return lambda x: _exp32(x)
    if x == types.float64:
        return lambda x: _exp64(x)
    return None


# The constants are float32, exact in either dtype: float32 arithmetic stays float32 (twice the
# values per vector instruction) and float64 arithmetic promotes them exactly.
ONE, TWO = np.float32(1.0), np.float32(2.0)


@jit
def sigmoid(x):
    return ONE / (ONE + exp(-x))


@jit
def tanh(x):
    return ONE - TWO / (ONE + exp(x + x))



ZERO = np.float32(0.0)


@jit
def _step(T, k, reverse):
    """``(t, t_prev)``: the time of the k-th processed step and of the one before it (-1: none)."""
    t = T - 1 - k if reverse else k
    if k == 0:
        return t, -1
    return t, (t + 1 if reverse else t - 1)


@jit
def _activate_row(h, xw, kind):
    """``h <- f(h + xw)`` along one row, f by kind (0: tanh, 1: relu, 2: sigmoid); one loop per kind,
    so that each vectorises."""
    if kind == 0:
        for j in range(h.shape[0]):
            h[j] = tanh(h[j] + xw[j])
    elif kind == 1:
        for j in range(h.shape[0]):
            a = h[j] + xw[j]
            h[j] = ZERO if a <= ZERO else a  # relu, nan kept (as np.maximum does)
    else:
        for j in range(h.shape[0]):
            h[j] = sigmoid(h[j] + xw[j])


@jit
def _activation_grad_row(da, dh, gy, h, kind):
    """``da <- (dh + gy) f'(a)`` along one row, with f' written with the output h = f(a)."""
    if kind == 0:
        for j in range(h.shape[0]):
            da[j] = (dh[j] + gy[j]) * (ONE - h[j] * h[j])
    elif kind == 1:
        for j in range(h.shape[0]):
            da[j] = (dh[j] + gy[j]) * (ONE if h[j] > ZERO else ZERO)  # a nan gradient stays nan
    else:
        for j in range(h.shape[0]):
            da[j] = (dh[j] + gy[j]) * (h[j] * (ONE - h[j]))


# -- RNN ------------------------------------------------------------------------
@jit
def rnn_forward(xw, h0, W, mask, has_mask, reverse, kind, hs):
    T, N, H = xw.shape
    for k in range(T):
        t, tp = _step(T, k, reverse)
        h_prev = h0 if tp < 0 else hs[tp]
        np.dot(h_prev, W, hs[t])
        for n in range(N):
            if not has_mask or mask[t, n]:
                _activate_row(hs[t, n], xw[t, n], kind)
            else:  # a padded step carries the state
                for j in range(H):
                    hs[t, n, j] = h_prev[n, j]


@jit
def rnn_backward(gy, WT, mask, has_mask, reverse, kind, hs, da, dh, tmp):
    """``dh`` holds dL/dh of the final state on entry and dL/dh0 on exit; ``da`` gets dL/dxw."""
    T, N, H = da.shape
    for k in range(T - 1, -1, -1):
        t, _ = _step(T, k, reverse)
        for n in range(N):
            if not has_mask or mask[t, n]:
                _activation_grad_row(da[t, n], dh[n], gy[t, n], hs[t, n], kind)
            else:
                for j in range(H):
                    da[t, n, j] = ZERO
        np.dot(da[t], WT, tmp)
        for n in range(N):
            if not has_mask or mask[t, n]:  # a padded step passes dh through unchanged
                for j in range(H):
                    dh[n, j] = tmp[n, j]


# -- LSTM -----------------------------------------------------------------------
@jit
def lstm_forward(xw, h0, c0, W, mask, has_mask, reverse, hs, cs, tanh_cs, gates):
    T, N, G = xw.shape
    H = G // 4
    # per gate column: sigmoid(a) for i, f, o is s(1 a) - 0; tanh(a) for g is 2 s(2 a) - 1
    scale = np.ones(G, dtype=xw.dtype)
    scale[2 * H : 3 * H] = TWO
    for k in range(T):
        t, tp = _step(T, k, reverse)
        h_prev = h0 if tp < 0 else hs[tp]
        c_prev = c0 if tp < 0 else cs[tp]
        a = gates[t]
        np.dot(h_prev, W, a)
        for n in range(N):
            for q in range(G):  # i, f, g, o
                s = scale[q]
                a[n, q] = s * sigmoid(s * (a[n, q] + xw[t, n, q])) - (s - ONE)
            if not has_mask or mask[t, n]:
                for j in range(H):  # c = f c_prev + i g;  h = o tanh(c)
                    c = a[n, H + j] * c_prev[n, j] + a[n, j] * a[n, 2 * H + j]
                    tc = tanh(c)
                    cs[t, n, j] = c
                    tanh_cs[t, n, j] = tc
                    hs[t, n, j] = a[n, 3 * H + j] * tc
            else:
                for j in range(H):
                    cs[t, n, j] = c_prev[n, j]
                    tanh_cs[t, n, j] = ZERO
                    hs[t, n, j] = h_prev[n, j]


@jit
def lstm_backward(gy, WT, c0, mask, has_mask, reverse, cs, tanh_cs, gates, da, dh, dc, tmp):
    """``dh``/``dc`` hold dL/d(final h, c) on entry and dL/d(h0, c0) on exit; ``da`` gets dL/dxw.
    ``da`` may be ``gates`` itself: each step's gates are read before its ``da`` is written."""
    T, N, G = da.shape
    H = G // 4
    for k in range(T - 1, -1, -1):
        t, tp = _step(T, k, reverse)
        c_prev = c0 if tp < 0 else cs[tp]
        for n in range(N):
            if not has_mask or mask[t, n]:
                for j in range(H):
                    dh[n, j] += gy[t, n, j]
                _lstm_row_backward(gates[t, n], c_prev[n], tanh_cs[t, n], dh[n], dc[n], da[t, n])
            else:
                for q in range(G):
                    da[t, n, q] = ZERO
        np.dot(da[t], WT, tmp)
        for n in range(N):
            if not has_mask or mask[t, n]:  # a padded step passes dh and dc through unchanged
                for j in range(H):
                    dh[n, j] = tmp[n, j]


@jit
def _lstm_row_backward(a, c_prev, tanh_c, dh, dc, da):
    """One row of `backends.recurrent.RecurrentPointwise.lstm_backward` (1-D arrays); ``dc`` becomes dL/dc_prev."""
    H = dh.shape[0]
    for j in range(H):
        i, f, g, o = a[j], a[H + j], a[2 * H + j], a[3 * H + j]
        tc = tanh_c[j]
        dc_t = dc[j] + dh[j] * o * (ONE - tc * tc)
        da[j] = dc_t * g * i * (ONE - i)
        da[H + j] = dc_t * c_prev[j] * f * (ONE - f)
        da[2 * H + j] = dc_t * i * (ONE - g * g)
        da[3 * H + j] = dh[j] * tc * o * (ONE - o)
        dc[j] = dc_t * f


# -- GRU ------------------------------------------------------------------------
@jit
def gru_forward(xw, h0, W, b_hh, mask, has_mask, reverse, hs, gates, hw_n, hw):
    T, N, G = xw.shape
    H = G // 3
    for k in range(T):
        t, tp = _step(T, k, reverse)
        h_prev = h0 if tp < 0 else hs[tp]
        np.dot(h_prev, W, hw)
        for n in range(N):
            for q in range(2 * H):  # r, z
                gates[t, n, q] = sigmoid(xw[t, n, q] + hw[n, q] + b_hh[q])
            for j in range(H):  # n = tanh(xw_n + r (W_hn h_prev + b_hn))
                hn = hw[n, 2 * H + j] + b_hh[2 * H + j]
                hw_n[t, n, j] = hn
                gates[t, n, 2 * H + j] = tanh(xw[t, n, 2 * H + j] + gates[t, n, j] * hn)
            if not has_mask or mask[t, n]:
                for j in range(H):  # h = n + z (h_prev - n)
                    nn = gates[t, n, 2 * H + j]
                    hs[t, n, j] = nn + gates[t, n, H + j] * (h_prev[n, j] - nn)
            else:
                for j in range(H):
                    hs[t, n, j] = h_prev[n, j]


@jit
def gru_backward(gy, WT, h0, mask, has_mask, reverse, hs, gates, hw_n, dhw, dn, dh, tmp):
    """``dh`` holds dL/dh of the final state on entry and dL/dh0 on exit; ``dhw`` gets the gradient
    of the recurrent projection and ``dn`` that of the n gate's pre-activation. ``dhw`` and ``dn``
    may be ``gates`` and ``hw_n`` themselves: each element is read before it is written."""
    T, N, G = dhw.shape
    H = G // 3
    for k in range(T - 1, -1, -1):
        t, tp = _step(T, k, reverse)
        h_prev = h0 if tp < 0 else hs[tp]
        for n in range(N):
            if not has_mask or mask[t, n]:
                for j in range(H):
                    dh[n, j] += gy[t, n, j]
                _gru_row_backward(gates[t, n], hw_n[t, n], h_prev[n], dh[n], dhw[t, n], dn[t, n])
            else:
                for q in range(G):
                    dhw[t, n, q] = ZERO
                for j in range(H):
                    dn[t, n, j] = ZERO
        np.dot(dhw[t], WT, tmp)
        for n in range(N):
            if not has_mask or mask[t, n]:
                for j in range(H):
                    dh[n, j] += tmp[n, j]


@jit
def _gru_row_backward(a, hw_n, h_prev, dh, dhw, dn):
    """One row of `backends.recurrent.RecurrentPointwise.gru_backward` (1-D arrays); ``dh`` becomes dh * z."""
    H = dh.shape[0]
    for j in range(H):
        r, z, nn, hn = a[j], a[H + j], a[2 * H + j], hw_n[j]
        dn_t = dh[j] * (ONE - z) * (ONE - nn * nn)
        dhw[j] = dn_t * hn * r * (ONE - r)
        dhw[H + j] = dh[j] * (h_prev[j] - nn) * z * (ONE - z)
        dhw[2 * H + j] = dn_t * r
        dn[j] = dn_t
        dh[j] *= z


@jit
def exp_array(x, out):
    """``out[...] = e^x`` elementwise (1-D arrays), for the tests."""
    for k in range(x.shape[0]):
        out[k] = exp(x[k])


def available() -> bool:
    """True when SciPy is importable too (numba's ``np.dot`` calls BLAS through it)."""
    try:
        import scipy.linalg.cython_blas  # noqa: F401
    except ImportError:
        return False
    return True
