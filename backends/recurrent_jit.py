"""Compiled time loops of the fused recurrent kernels, for NumPy on the CPU (optional: numba).

The same loops as [`minigrad.ops.recurrent`][minigrad.ops.recurrent] with the gate arithmetic of
`backends.recurrent`, compiled by numba into machine code: at small sizes
the Python loop and NumPy's per-call overhead (dozens of small ufunc calls
per step) cost more than the arithmetic. Each step's matrix product still
goes to BLAS (``np.dot`` with an output array; numba reaches BLAS through
SciPy). Installed with ``pip install "minigrad[jit]"``; without numba and SciPy
the NumPy loops run instead, with the same results (the tests compare them).

Arrays: time-major, contiguous, one float dtype. Shape legend: T time steps,
N batch, H hidden units, G gates * H. ``mask (T, N)`` is True at real steps
(ignored unless ``has_mask``); ``W (H, G)`` is W_hh^T and ``WT (G, H)`` is W_hh.
The state before step t is that of the step processed before it (t - 1, or
t + 1 when ``reverse``), or the initial state for the first step.
"""

from __future__ import annotations

import math

import numba
import numpy as np

# NumPy's error model (x / 0 is inf or nan, never an exception) and no fast-math flag that assumes
# finite numbers: a nan propagates through the compiled loops exactly as through the NumPy ones.
jit = numba.njit(cache=True, nogil=True, error_model="numpy", fastmath={"contract", "arcp", "reassoc"})


@jit
def _step(T, k, reverse):
    """``(t, t_prev)``: the time of the k-th processed step and of the one before it (-1: none)."""
    t = T - 1 - k if reverse else k
    if k == 0:
        return t, -1
    return t, (t + 1 if reverse else t - 1)


@jit
def _sigmoid(x):
    return 1.0 / (1.0 + math.exp(-x))


@jit
def _tanh(x):
    """tanh x = 1 - 2 / (1 + e^(2x)): one exp, five times faster here than libm's tanh. Its error is
    absolute (below 2e-16), so relative only for |x| < 1e-7, far below float32's resolution of a gate."""
    return 1.0 - 2.0 / (1.0 + math.exp(2.0 * x))


@jit
def _activate(x, kind):
    """kind 0: tanh, 1: relu, 2: sigmoid."""
    if kind == 0:
        return _tanh(x)
    if kind == 1:
        return 0.0 if x <= 0.0 else x  # relu, nan kept (as np.maximum does)
    return _sigmoid(x)


@jit
def _activation_grad(h, kind):
    if kind == 0:
        return 1.0 - h * h
    if kind == 1:
        return 1.0 if h > 0.0 else 0.0
    return h * (1.0 - h)


# -- RNN ------------------------------------------------------------------------
@jit
def rnn_forward(xw, h0, W, mask, has_mask, reverse, kind, hs):
    T, N, H = xw.shape
    for k in range(T):
        t, tp = _step(T, k, reverse)
        h_prev = h0 if tp < 0 else hs[tp]
        np.dot(h_prev, W, hs[t])
        for n in range(N):
            real = not has_mask or mask[t, n]
            for j in range(H):
                hs[t, n, j] = _activate(hs[t, n, j] + xw[t, n, j], kind) if real else h_prev[n, j]


@jit
def rnn_backward(gy, WT, mask, has_mask, reverse, kind, hs, da, dh, tmp):
    """``dh`` holds dL/dh of the final state on entry and dL/dh0 on exit; ``da`` gets dL/dxw."""
    T, N, H = da.shape
    for k in range(T - 1, -1, -1):
        t, _ = _step(T, k, reverse)
        for n in range(N):
            real = not has_mask or mask[t, n]
            for j in range(H):
                if real:
                    da[t, n, j] = (dh[n, j] + gy[t, n, j]) * _activation_grad(hs[t, n, j], kind)
                else:
                    da[t, n, j] = 0.0
        np.dot(da[t], WT, tmp)
        for n in range(N):
            if not has_mask or mask[t, n]:
                for j in range(H):
                    dh[n, j] = tmp[n, j]


# -- LSTM -----------------------------------------------------------------------
@jit
def lstm_forward(xw, h0, c0, W, mask, has_mask, reverse, hs, cs, tanh_cs, gates):
    T, N, G = xw.shape
    H = G // 4
    for k in range(T):
        t, tp = _step(T, k, reverse)
        h_prev = h0 if tp < 0 else hs[tp]
        c_prev = c0 if tp < 0 else cs[tp]
        a = gates[t]
        np.dot(h_prev, W, a)
        for n in range(N):
            real = not has_mask or mask[t, n]
            for j in range(H):
                i = _sigmoid(a[n, j] + xw[t, n, j])
                f = _sigmoid(a[n, H + j] + xw[t, n, H + j])
                g = _tanh(a[n, 2 * H + j] + xw[t, n, 2 * H + j])
                o = _sigmoid(a[n, 3 * H + j] + xw[t, n, 3 * H + j])
                a[n, j], a[n, H + j], a[n, 2 * H + j], a[n, 3 * H + j] = i, f, g, o
                if real:
                    c = f * c_prev[n, j] + i * g
                    tc = _tanh(c)
                    cs[t, n, j], tanh_cs[t, n, j], hs[t, n, j] = c, tc, o * tc
                else:
                    cs[t, n, j], tanh_cs[t, n, j], hs[t, n, j] = c_prev[n, j], 0.0, h_prev[n, j]


@jit
def lstm_backward(gy, WT, c0, mask, has_mask, reverse, cs, tanh_cs, gates, da, dh, dc, tmp):
    """``dh``/``dc`` hold dL/d(final h, c) on entry and dL/d(h0, c0) on exit; ``da`` gets dL/dxw."""
    T, N, G = da.shape
    H = G // 4
    for k in range(T - 1, -1, -1):
        t, tp = _step(T, k, reverse)
        c_prev = c0 if tp < 0 else cs[tp]
        a = gates[t]
        for n in range(N):
            real = not has_mask or mask[t, n]
            for j in range(H):
                if not real:
                    da[t, n, j] = da[t, n, H + j] = da[t, n, 2 * H + j] = da[t, n, 3 * H + j] = 0.0
                    continue
                i, f, g, o = a[n, j], a[n, H + j], a[n, 2 * H + j], a[n, 3 * H + j]
                tc = tanh_cs[t, n, j]
                dh_t = dh[n, j] + gy[t, n, j]
                dc_t = dc[n, j] + dh_t * o * (1.0 - tc * tc)
                da[t, n, j] = dc_t * g * i * (1.0 - i)
                da[t, n, H + j] = dc_t * c_prev[n, j] * f * (1.0 - f)
                da[t, n, 2 * H + j] = dc_t * i * (1.0 - g * g)
                da[t, n, 3 * H + j] = dh_t * tc * o * (1.0 - o)
                dc[n, j] = dc_t * f
        np.dot(da[t], WT, tmp)
        for n in range(N):
            if not has_mask or mask[t, n]:
                for j in range(H):
                    dh[n, j] = tmp[n, j]


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
            real = not has_mask or mask[t, n]
            for j in range(H):
                r = _sigmoid(xw[t, n, j] + hw[n, j] + b_hh[j])
                z = _sigmoid(xw[t, n, H + j] + hw[n, H + j] + b_hh[H + j])
                hn = hw[n, 2 * H + j] + b_hh[2 * H + j]
                nn = _tanh(xw[t, n, 2 * H + j] + r * hn)
                gates[t, n, j], gates[t, n, H + j], gates[t, n, 2 * H + j], hw_n[t, n, j] = r, z, nn, hn
                hs[t, n, j] = nn + z * (h_prev[n, j] - nn) if real else h_prev[n, j]


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
            real = not has_mask or mask[t, n]
            for j in range(H):
                if not real:
                    dhw[t, n, j] = dhw[t, n, H + j] = dhw[t, n, 2 * H + j] = dn[t, n, j] = 0.0
                    continue
                r, z, nn, hn = gates[t, n, j], gates[t, n, H + j], gates[t, n, 2 * H + j], hw_n[t, n, j]
                dh_t = dh[n, j] + gy[t, n, j]
                dn_t = dh_t * (1.0 - z) * (1.0 - nn * nn)
                dhw[t, n, j] = dn_t * hn * r * (1.0 - r)
                dhw[t, n, H + j] = dh_t * (h_prev[n, j] - nn) * z * (1.0 - z)
                dhw[t, n, 2 * H + j] = dn_t * r
                dn[t, n, j] = dn_t
                dh[n, j] = dh_t * z
        np.dot(dhw[t], WT, tmp)
        for n in range(N):
            if not has_mask or mask[t, n]:
                for j in range(H):
                    dh[n, j] += tmp[n, j]


# -- one step's pointwise backward (no transcendental functions: the loops vectorise) ---------
@jit
def lstm_backward_step(a, c_prev, tanh_c, dh, dc, da):
    """`backends.recurrent.RecurrentPointwise.lstm_backward` in one pass."""
    N, H = dh.shape
    for n in range(N):
        for j in range(H):
            i, f, g, o = a[n, j], a[n, H + j], a[n, 2 * H + j], a[n, 3 * H + j]
            tc = tanh_c[n, j]
            dc_t = dc[n, j] + dh[n, j] * o * (1.0 - tc * tc)
            da[n, j] = dc_t * g * i * (1.0 - i)
            da[n, H + j] = dc_t * c_prev[n, j] * f * (1.0 - f)
            da[n, 2 * H + j] = dc_t * i * (1.0 - g * g)
            da[n, 3 * H + j] = dh[n, j] * tc * o * (1.0 - o)
            dc[n, j] = dc_t * f


@jit
def gru_backward_step(a, hw_n, h_prev, dh, dhw, dn):
    """`backends.recurrent.RecurrentPointwise.gru_backward` in one pass."""
    N, H = dh.shape
    for n in range(N):
        for j in range(H):
            r, z, nn, hn = a[n, j], a[n, H + j], a[n, 2 * H + j], hw_n[n, j]
            dn_t = dh[n, j] * (1.0 - z) * (1.0 - nn * nn)
            dhw[n, j] = dn_t * hn * r * (1.0 - r)
            dhw[n, H + j] = dh[n, j] * (h_prev[n, j] - nn) * z * (1.0 - z)
            dhw[n, 2 * H + j] = dn_t * r
            dn[n, j] = dn_t
            dh[n, j] *= z


def available() -> bool:
    """True when SciPy is importable too (numba's ``np.dot`` calls BLAS through it)."""
    try:
        import scipy.linalg.cython_blas  # noqa: F401
    except ImportError:
        return False
    return True
