"""Compiled time loops of the fused recurrent kernels, for NumPy on the CPU (optional: numba).

The same loops as [`minigrad.ops.recurrent`][minigrad.ops.recurrent] with the gate arithmetic of
`backends.recurrent`, compiled by numba into machine code without the GIL:
no Python loop and no per-call overhead of the dozens of small ufunc calls per
step, and both directions of a bidirectional layer can run in two threads.
Each step's matrix product goes to NumPy's own BLAS: its ``cblas_?gemm``,
called through the function's address (`gemm`), so the compiled loops and
NumPy's large products share one library and one thread pool (numba's own
``np.dot`` would call SciPy's BLAS, a second pool that took turns with
NumPy's on the same cores). Installed with ``pip install "minigrad[jit]"``;
without numba, or where NumPy's BLAS has no ``cblas_?gemm`` to find, the
NumPy loops run instead, with the same results (the tests compare them).

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
below 2e-16 on |r| <= ln(2) / 2. float32 is computed in float32 throughout (a
vector instruction then holds twice the values). At most 1 ulp from the correctly
rounded value over the whole range (the tests check it against NumPy's exp in extended
precision; measured worst: 0.99 ulp in float32, where NumPy's own vectorised
float32 exp is up to 2.4 ulp off); ``inf`` above the
largest finite result, 0 below the smallest subnormal, ``nan`` kept. Then

    sigmoid(x) = 1 / (1 + e^-x)          tanh(x) = 1 - 2 / (1 + e^2x) = 2 sigmoid(2x) - 1

exact in their tails (an overflowing exp gives 0, -1 or 1), with an absolute
error of a few ulp of 1 near zero.
"""

from __future__ import annotations

import ctypes
import functools
import math
from typing import Any

import numba
import numpy as np
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic, overload

# NumPy's error model (x / 0 is inf or nan, never an exception) and no fast-math flag that assumes
# finite numbers or reorders sums: a nan propagates as through the NumPy loops, and the Cody-Waite
# reduction is computed exactly as written.
FASTMATH = {"contract", "arcp"}
jit = numba.njit(cache=True, nogil=True, error_model="numpy", fastmath=FASTMATH)


# -- each step's product: NumPy's BLAS --------------------------------------------
CBLAS_ROW_MAJOR, CBLAS_NO_TRANS = 101, 111  # cblas.h


@intrinsic
def gemm(typingctx, address, ints, a, b, c):
    """``c = a @ b`` for C-contiguous 2-D arrays ``a (M, K)``, ``b (K, N)``, ``c (M, N)`` of float32 or
    float64, by the ``cblas_sgemm`` or ``cblas_dgemm`` at ``address``; ``ints`` (an empty array) has the
    dtype of that BLAS's integers (int64 for an ILP64 build)."""
    arrays = (a, b, c)
    if not all(isinstance(t, types.Array) and t.ndim == 2 and t.layout == "C" for t in arrays):
        return None
    if a.dtype not in (types.float32, types.float64) or not a.dtype == b.dtype == c.dtype:
        return None

    def codegen(context, builder, signature, args):
        blas_int = ir.IntType(ints.dtype.bitwidth)
        real = context.get_value_type(a.dtype)
        i32, pointer = ir.IntType(32), ir.IntType(8).as_pointer()
        fn_type = ir.FunctionType(ir.VoidType(), [i32, i32, i32, blas_int, blas_int, blas_int, real, pointer,
                                                  blas_int, pointer, blas_int, real, pointer, blas_int])
        fn = builder.inttoptr(args[0], fn_type.as_pointer())
        A, B, C = (context.make_array(t)(context, builder, v) for t, v in zip(arrays, args[2:]))
        as_blas_int = lambda d: builder.trunc(d, blas_int) if blas_int.width < 64 else d  # noqa: E731
        M, K = (as_blas_int(d) for d in cgutils.unpack_tuple(builder, A.shape))
        N = as_blas_int(cgutils.unpack_tuple(builder, B.shape)[1])
        data = [builder.bitcast(X.data, pointer) for X in (A, B, C)]
        builder.call(fn, [i32(CBLAS_ROW_MAJOR), i32(CBLAS_NO_TRANS), i32(CBLAS_NO_TRANS), M, N, K, real(1.0),
                          data[0], K, data[1], N, real(0.0), data[2], N])
        return context.get_dummy_value()

    return types.void(address, ints, a, b, c), codegen


# (prefix, suffix, integer dtype) of cblas_?gemm's name in the builds NumPy ships or links: NumPy 2's
# wheels (scipy-openblas64), NumPy 1's (openblas64_), then a plain LP64 BLAS (OpenBLAS, MKL, BLIS)
GEMM_NAMES = (("scipy_", "64_", np.int64), ("", "64_", np.int64), ("scipy_", "", np.int32), ("", "", np.int32))


@functools.cache
def numpy_gemm() -> dict | None:
    """``{dtype: (address, ints)}`` of NumPy's own BLAS's ``cblas_sgemm`` and ``cblas_dgemm`` for `gemm`,
    or None when that library or those functions are not found, or a test product disagrees with NumPy's."""
    from backends.recurrent import _numpy_blas

    blas = _numpy_blas()
    if blas is None:
        return None
    try:
        lib = ctypes.CDLL(blas.filepath)
    except OSError:
        return None
    for prefix, suffix, ints in GEMM_NAMES:
        try:
            fns = {np.dtype(dt): getattr(lib, f"{prefix}cblas_{letter}gemm{suffix}") for dt, letter in
                   (("float32", "s"), ("float64", "d"))}
        except AttributeError:
            continue
        found = {dt: (ctypes.cast(fn, ctypes.c_void_p).value, np.empty(0, ints)) for dt, fn in fns.items()}
        return found if _agrees_with_numpy(found) else None
    return None


def _agrees_with_numpy(found: dict) -> bool:
    """One small product per dtype through `gemm`, against NumPy's ``@`` (the wrong integer width would
    read wrong sizes)."""
    rng = np.random.default_rng(0)
    for dtype, (address, ints) in found.items():
        a, b = rng.standard_normal((3, 5)).astype(dtype), rng.standard_normal((5, 4)).astype(dtype)
        c = np.full((3, 4), np.nan, dtype)
        _gemm_for_check(address, ints, a, b, c)
        if not np.allclose(c, a @ b, rtol=1e-5, atol=1e-6):
            return False
    return True


@jit
def _gemm_for_check(address, ints, a, b, c):
    gemm(address, ints, a, b, c)


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


@jit
def _exp32(x):
    lo, hi = np.float32(-103.972), np.float32(88.72283)  # e^x is below the smallest subnormal / above the largest
    xc = x if x > lo else lo
    xc = xc if xc < hi else hi
    n = np.floor(xc * np.float32(LOG2E) + np.float32(0.5))  # a float32 (math.floor's int would promote to float64)
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
def _rnn_forward(xw, h0, W, mask, has_mask, reverse, kind, hs, address, ints):
    T, N, H = xw.shape
    for k in range(T):
        t, tp = _step(T, k, reverse)
        h_prev = h0 if tp < 0 else hs[tp]
        gemm(address, ints, h_prev, W, hs[t])
        for n in range(N):
            if not has_mask or mask[t, n]:
                _activate_row(hs[t, n], xw[t, n], kind)
            else:  # a padded step carries the state
                for j in range(H):
                    hs[t, n, j] = h_prev[n, j]


@jit
def _rnn_backward(gy, WT, mask, has_mask, reverse, kind, hs, da, dh, tmp, address, ints):
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
        gemm(address, ints, da[t], WT, tmp)
        for n in range(N):
            if not has_mask or mask[t, n]:  # a padded step passes dh through unchanged
                for j in range(H):
                    dh[n, j] = tmp[n, j]


# -- LSTM -----------------------------------------------------------------------
@jit
def _lstm_forward(xw, h0, c0, W, mask, has_mask, reverse, hs, cs, tanh_cs, gates, address, ints):
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
        gemm(address, ints, h_prev, W, a)
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
def _lstm_backward(gy, WT, c0, mask, has_mask, reverse, cs, tanh_cs, gates, da, dh, dc, tmp, address, ints):
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
        gemm(address, ints, da[t], WT, tmp)
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
def _gru_forward(xw, h0, W, b_hh, mask, has_mask, reverse, hs, gates, hw_n, hw, address, ints):
    T, N, G = xw.shape
    H = G // 3
    for k in range(T):
        t, tp = _step(T, k, reverse)
        h_prev = h0 if tp < 0 else hs[tp]
        gemm(address, ints, h_prev, W, hw)
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
def _gru_backward(gy, WT, h0, mask, has_mask, reverse, hs, gates, hw_n, dhw, dn, dh, tmp, address, ints):
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
        gemm(address, ints, dhw[t], WT, tmp)
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


def _with_numpy_gemm(loop: Any) -> Any:
    """``loop(*arrays)`` with the address of NumPy's gemm for the arrays' dtype added at the end (an
    argument, not a global, so that the compiled code stays in numba's cache across processes)."""

    @functools.wraps(loop)
    def call(*args: Any) -> None:
        loop(*args, *numpy_gemm()[args[0].dtype])

    return call


rnn_forward, rnn_backward = _with_numpy_gemm(_rnn_forward), _with_numpy_gemm(_rnn_backward)
lstm_forward, lstm_backward = _with_numpy_gemm(_lstm_forward), _with_numpy_gemm(_lstm_backward)
gru_forward, gru_backward = _with_numpy_gemm(_gru_forward), _with_numpy_gemm(_gru_backward)


def available() -> bool:
    """True when NumPy's BLAS gemm was found and computes a test product right (`numpy_gemm`)."""
    return numpy_gemm() is not None
