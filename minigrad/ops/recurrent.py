"""Fused sequence kernels: a whole RNN, LSTM or GRU layer direction as one op.

Each class is the twin of a composed layer in [`minigrad.nn.rnn`][minigrad.nn.rnn] (the
readable loop of cell steps, whose graph is differentiated op by op): its
forward runs every time step, and its backward is backpropagation through
time written out by hand from the same equations. The tests compare the
twins on outputs and every gradient.

Inputs are time-major. Shape legend: T time steps, N batch, H hidden units,
G = gates * H.

- ``xw (T, N, G)``: the input projection of every step, ``x W_ih^T + b_ih``
  (plus ``b_hh`` for RNN and LSTM, which fold it in), computed by the layer
  as one matrix product;
- ``h0 (N, H)`` (and ``c0 (N, H)`` for LSTM): the initial state;
- ``W (H, G)``: the recurrent weight, transposed (``W_hh^T``);
- ``b_hh (G,)`` for GRU only, when the layer has biases (it sits inside
  ``r * (W_hn h + b_hn)``).

Options: ``mask``, a boolean ``(T, N, 1)`` array, False at padded steps (the
state is carried unchanged and the output is zero there), or None; and
``reverse``, walking from T-1 down to 0.

The output is one array: ``(T + 1, N, H)``, the T outputs and then the final
hidden state (``(T + 2, N, H)`` for LSTM, with the final cell state last),
written into ``out`` when given.

[`BidirectionalSequence`][minigrad.ops.recurrent.BidirectionalSequence] runs both directions of a layer as one op,
in two threads when the time loops are compiled (they hold no GIL).

Each step is one small matrix product plus the gate arithmetic of
`backends.recurrent` into preallocated buffers; in backward, the weight
gradient is one large product over all steps. With numba installed (the
``jit`` extra), the same time loops run compiled and without the GIL
(`backends.recurrent_jit`), and the tests compare both loops too.
"""

from __future__ import annotations

import contextvars
import functools
import os
from concurrent.futures import ThreadPoolExecutor

from minigrad.autograd import Function
from minigrad.ops.matmul import Linear

_KINDS = {"tanh": 0, "relu": 1, "sigmoid": 2}  # the compiled loops' code for an RNN's nonlinearity


def _c(xp, a):
    """``a`` as a C-contiguous array (no copy when it already is)."""
    return xp.ascontiguousarray(a)


class _Sequence(Function):
    """The time loop and bookkeeping shared by the three kernels."""

    def _setup(self, xw, h0, mask, reverse):
        """Record the sizes and options; the caller makes ``xw`` and the states contiguous."""
        T, N = xw.shape[0], xw.shape[1]
        H = h0.shape[-1]
        self.T, self.N, self.H, self.mask, self.reverse = T, N, H, mask, reverse
        # which steps have a padded row (one host transfer per sequence): the others skip the masking
        self.partial = [False] * T if mask is None else self.backend.to_numpy(~mask.all(axis=(1, 2))).tolist()
        self.order = range(T - 1, -1, -1) if reverse else range(T)
        return T, N, H

    def _mask_args(self):
        """``(mask (T, N), has_mask)`` for the compiled loops (a dummy mask when there is none)."""
        if self.mask is None:
            return self.xp.ones((1, 1), dtype=bool), False
        return self.mask[..., 0], True

    def _step_mask(self, t):
        """Step t's ``(N, 1)`` mask when some row is padded there, else None (every row is real)."""
        return self.mask[t] if self.partial[t] else None

    def _previous(self, states, t, initial):
        """The state before step ``t``: the state of the step processed just before it, or ``initial``."""
        first = self.T - 1 if self.reverse else 0
        if t == first:
            return initial
        return states[t + 1] if self.reverse else states[t - 1]

    def _finish(self, out, hs):
        """Write the outputs (zero at padded steps) and the final state into ``out``."""
        T = self.T
        if any(self.partial):
            self.xp.multiply(hs, self.mask.astype(hs.dtype), out=out[:T])
        out[T] = hs[self.order[-1]]

    def _weight_grad(self, hs, h0, da):
        """sum over steps of h_prev^T da: the recurrent weight's gradient as two products over all steps."""
        T = self.T
        flat = lambda v: v.reshape(-1, v.shape[-1])  # noqa: E731
        if T == 1:
            return h0.T @ da[0]
        if self.reverse:  # h_prev of step t is the state of step t + 1 (h0 for t = T - 1)
            return flat(hs[1:]).T @ flat(da[:-1]) + h0.T @ da[-1]
        return flat(hs[:-1]).T @ flat(da[1:]) + h0.T @ da[0]


class RNNSequence(_Sequence):
    """Elman RNN over a sequence: h_t = f(xw_t + h_{t-1} W), f = tanh, relu or sigmoid.

    Backward: da_t = (dh_t + da_{t+1} W^T) * f'(a_t), and dW = sum_t h_{t-1}^T da_t.
    """

    def forward(self, xw, h0, W, mask, reverse, nonlinearity, out=None):
        xp = self.xp
        xw, h0, W = _c(xp, xw), _c(xp, h0), _c(xp, W)  # a contiguous W makes every step's product faster
        T, N, H = self._setup(xw, h0, mask, reverse)
        kernels = self.backend.recurrent
        out = xp.empty((T + 1, N, H), dtype=xw.dtype) if out is None else out
        hs = out[:T] if mask is None else xp.empty((T, N, H), dtype=xw.dtype)  # the state after each step
        loops = self.loops = kernels.compiled(xw.dtype)
        with self.backend.ignore_fp_errors():
            if loops is not None:
                loops.rnn_forward(xw, h0, W, *self._mask_args(), reverse, _KINDS[nonlinearity], hs)
            for t in self.order if loops is None else ():
                h_prev = self._previous(hs, t, h0)
                xp.matmul(h_prev, W, out=hs[t])
                hs[t] += xw[t]
                kernels.activation_(hs[t], nonlinearity)
                if self.partial[t]:
                    xp.copyto(hs[t], h_prev, where=~mask[t])
        self._finish(out, hs)
        self.hs, self.h0, self.W, self.nonlinearity = hs, h0, W, nonlinearity
        return out

    def backward(self, gy):
        xp, kernels, T = self.xp, self.backend.recurrent, self.T
        hs, WT = self.hs, _c(self.xp, self.W.T)  # W_hh itself, contiguous
        # dL/d(pre-activation) of every step = dL/dxw: written over gy when no one else sees gy
        gy = _c(xp, gy)
        da = gy[:T] if self.owns_gy and gy.base is None else xp.empty_like(gy[:T])
        dh = gy[T].copy()  # dL/dh flowing back from later steps, starting with the final state's
        if self.loops is not None:
            self.loops.rnn_backward(gy, WT, *self._mask_args(), self.reverse,
                                    _KINDS[self.nonlinearity], hs, da, dh, xp.empty_like(dh))
        for t in reversed(self.order) if self.loops is None else ():
            g, real = da[t], self._step_mask(t)
            xp.add(dh, gy[t] if real is None else gy[t] * real, out=g)
            kernels.activation_grad_(g, hs[t], self.nonlinearity)
            if real is None:
                dh = g @ WT
            else:
                g *= real
                dh = g @ WT + dh * ~real  # a padded step passes dh through unchanged
        gW = self._weight_grad(hs, self.h0, da) if self.needs_input_grad[2] else None
        return da, dh, gW


class LSTMSequence(_Sequence):
    """LSTM over a sequence (equations in [`minigrad.nn.cells.lstm_step`][minigrad.nn.cells.lstm_step]).

    Backward per step, latest first, with dh and dc flowing back from later steps::

        dc += dh * o * (1 - tanh(c)^2)
        da = [dc g i(1-i), dc c_prev f(1-f), dc i (1-g^2), dh tanh(c) o(1-o)]
        dh_prev = da W^T;   dc_prev = dc * f;   dW = sum_t h_{t-1}^T da_t
    """

    def forward(self, xw, h0, c0, W, mask, reverse, out=None):
        xp = self.xp
        xw, h0, c0, W = _c(xp, xw), _c(xp, h0), _c(xp, c0), _c(xp, W)
        T, N, H = self._setup(xw, h0, mask, reverse)
        kernels = self.backend.recurrent
        out = xp.empty((T + 2, N, H), dtype=xw.dtype) if out is None else out
        hs = out[:T] if mask is None else xp.empty((T, N, H), dtype=xw.dtype)
        cs, tanh_cs = xp.empty((T, N, H), dtype=xw.dtype), xp.empty((T, N, H), dtype=xw.dtype)
        gates = xp.empty((T, N, 4 * H), dtype=xw.dtype)  # the activations i, f, g, o of every step
        loops = self.loops = kernels.compiled(xw.dtype)
        with self.backend.ignore_fp_errors():
            if loops is not None:
                loops.lstm_forward(xw, h0, c0, W, *self._mask_args(), reverse, hs, cs, tanh_cs, gates)
            for t in self.order if loops is None else ():
                h_prev, c_prev = self._previous(hs, t, h0), self._previous(cs, t, c0)
                a = gates[t]
                xp.matmul(h_prev, W, out=a)
                a += xw[t]
                kernels.lstm_forward(a, c_prev, cs[t], tanh_cs[t], hs[t])
                if self.partial[t]:
                    padded = ~mask[t]
                    xp.copyto(hs[t], h_prev, where=padded)
                    xp.copyto(cs[t], c_prev, where=padded)
        self._finish(out, hs)
        out[T + 1] = cs[self.order[-1]]
        self.hs, self.cs, self.tanh_cs, self.gates, self.h0, self.c0, self.W = hs, cs, tanh_cs, gates, h0, c0, W
        return out

    def backward(self, gy):
        xp, kernels, T = self.xp, self.backend.recurrent, self.T
        cs, WT = self.cs, _c(self.xp, self.W.T)
        # dL/dxw of every step, written over the gates of the same step once they are read (when the
        # graph is released after this backward: the gates are then needed no more)
        da = self.gates if self.final_backward else xp.empty_like(self.gates)
        dh, dc = gy[T].copy(), gy[T + 1].copy()
        if self.loops is not None:
            self.loops.lstm_backward(_c(xp, gy), WT, self.c0, *self._mask_args(), self.reverse, cs,
                                     self.tanh_cs, self.gates, da, dh, dc, xp.empty_like(dh))
        for t in reversed(self.order) if self.loops is None else ():
            real = self._step_mask(t)
            dh_t = dh + (gy[t] if real is None else gy[t] * real)
            dc_t = dc.copy()
            c_prev = self._previous(cs, t, self.c0)
            kernels.lstm_backward(self.gates[t], c_prev, self.tanh_cs[t], dh_t, dc_t, da[t])
            if real is None:
                dh, dc = da[t] @ WT, dc_t
            else:
                da[t] *= real
                dh = da[t] @ WT + dh * ~real
                dc = xp.where(real, dc_t, dc)
        gW = self._weight_grad(self.hs, self.h0, da) if self.needs_input_grad[3] else None
        return da, dh, dc, gW


class GRUSequence(_Sequence):
    """GRU over a sequence (equations in [`minigrad.nn.cells.gru_step`][minigrad.nn.cells.gru_step]).

    Backward per step, latest first, with dh flowing back from later steps::

        dn = dh (1 - z) (1 - n^2);  dz = dh (h_prev - n) z (1 - z);  dr = dn hw_n r (1 - r)
        dxw = [dr, dz, dn];  dhw = [dr, dz, dn r];  dh_prev = dh z + dhw W^T
        dW = sum_t h_{t-1}^T dhw_t;  db_hh = sum_t dhw_t

    ``dxw`` differs from ``dhw`` only in its last block, so backward keeps ``dhw`` and ``dn`` of
    every step and turns ``dhw`` into ``dxw`` after the weight gradient.
    """

    def forward(self, xw, h0, W, b_hh=None, *, mask, reverse, out=None):
        xp = self.xp
        xw, h0, W = _c(xp, xw), _c(xp, h0), _c(xp, W)
        T, N, H = self._setup(xw, h0, mask, reverse)
        kernels = self.backend.recurrent
        out = xp.empty((T + 1, N, H), dtype=xw.dtype) if out is None else out
        hs = out[:T] if mask is None else xp.empty((T, N, H), dtype=xw.dtype)
        gates = xp.empty((T, N, 3 * H), dtype=xw.dtype)  # r, z, n of every step
        hw_n = xp.empty((T, N, H), dtype=xw.dtype)  # W_hn h_prev + b_hn, needed for dr
        hw = xp.empty((N, 3 * H), dtype=xw.dtype)
        loops = self.loops = kernels.compiled(xw.dtype)
        with self.backend.ignore_fp_errors():
            if loops is not None:
                bias = xp.zeros(3 * H, dtype=xw.dtype) if b_hh is None else b_hh
                loops.gru_forward(xw, h0, W, bias, *self._mask_args(), reverse, hs, gates, hw_n, hw)
            for t in self.order if loops is None else ():
                h_prev = self._previous(hs, t, h0)
                xp.matmul(h_prev, W, out=hw)
                if b_hh is not None:
                    hw += b_hh
                kernels.gru_forward(xw[t], hw, h_prev, gates[t], hs[t])
                hw_n[t] = hw[:, 2 * H :]
                if self.partial[t]:
                    xp.copyto(hs[t], h_prev, where=~mask[t])
        self._finish(out, hs)
        self.hs, self.gates, self.hw_n, self.h0, self.W, self.has_bias = hs, gates, hw_n, h0, W, b_hh is not None
        return out

    def backward(self, gy):
        xp, kernels, T, H = self.xp, self.backend.recurrent, self.T, self.H
        hs, WT = self.hs, _c(self.xp, self.W.T)
        # written over the gates and hw_n of the same step once they are read, when the graph is
        # released after this backward (they are then needed no more)
        dhw = self.gates if self.final_backward else xp.empty_like(self.gates)  # [dr, dz, dn r] per step
        dn = self.hw_n if self.final_backward else xp.empty_like(self.hw_n)
        dh = gy[T].copy()
        if self.loops is not None:
            self.loops.gru_backward(_c(xp, gy), WT, self.h0, *self._mask_args(), self.reverse, hs,
                                    self.gates, self.hw_n, dhw, dn, dh, xp.empty_like(dh))
        for t in reversed(self.order) if self.loops is None else ():
            real = self._step_mask(t)
            dh_t = dh + (gy[t] if real is None else gy[t] * real)
            h_prev = self._previous(hs, t, self.h0)
            kernels.gru_backward(self.gates[t], self.hw_n[t], h_prev, dh_t, dhw[t], dn[t])
            if real is None:
                dh = dh_t + dhw[t] @ WT
            else:
                dhw[t] *= real
                dn[t] *= real
                dh = dh_t * real + dhw[t] @ WT + dh * ~real
        gW = self._weight_grad(hs, self.h0, dhw) if self.needs_input_grad[2] else None
        gb = dhw.sum(axis=(0, 1)) if self.has_bias and self.needs_input_grad[3] else None
        dxw = dhw
        dxw[..., 2 * H :] = dn  # [dr, dz, dn r] -> [dr, dz, dn]
        return (dxw, dh, gW, gb) if self.has_bias else (dxw, dh, gW)


class BidirectionalSequence(Function):
    """Both directions of a bidirectional layer as one op, each with its input projection:
    ``xw_d = x W_ih_d^T + b_d`` (`minigrad.ops.Linear`), then ``kernel`` (`RNNSequence`,
    `LSTMSequence` or `GRUSequence`) over ``xw_0`` forwards and over ``xw_1`` backwards.

    Inputs: ``x (T, N, I)``, then for each direction ``linear_inputs`` arrays (``W_ih``, and the
    bias when the layer has one) and ``kernel_inputs`` arrays (the kernel's inputs after ``xw``:
    the initial state(s), ``W_hh^T``, and ``b_hh`` for GRU). ``options`` are the kernel's (``mask``,
    and ``nonlinearity`` for RNN). Output: ``(2, T + 1 or T + 2, N, H)``, the two kernels' outputs,
    direction 0 (forward) first. dL/dx is the sum of the two projections' input gradients.

    The directions are independent until the layer joins their outputs, so when the time loops
    are compiled (numba; they run without the GIL) and the process may use two CPUs
    (`backends.recurrent.RecurrentPointwise.directions_at_once`), direction 1 (its projection,
    its time loop, and in backward its BPTT and its weight gradients) runs in a worker thread
    while direction 0 runs in the calling one, with NumPy's BLAS at one thread per call meanwhile:
    PyTorch's inter-op parallelism, for the one place it pays here. Otherwise they run one after
    the other.
    Results are the same either way: each direction computes alone. The forward and backward of
    each part are those of `Linear` and of the kernel themselves, run inside this node.
    """

    def forward(self, x, *arrays, kernel, linear_inputs, kernel_inputs, **options):
        xp = self.xp
        x = xp.ascontiguousarray(x)  # read by both projections
        per = linear_inputs + kernel_inputs
        needs = self.needs_input_grad
        self.kernel, self.linear_inputs, self.kernel_inputs = kernel, linear_inputs, kernel_inputs
        self.linears, self.parts, inputs = [], [], []
        for d in (0, 1):
            own = arrays[d * per : (d + 1) * per]
            own_needs = needs[1 + d * per : 1 + (d + 1) * per]
            linear_needs = (needs[0], *own_needs[:linear_inputs])
            self.linears.append(Linear(self.backend, (), linear_needs))
            self.parts.append(kernel(self.backend, (), (any(linear_needs), *own_needs[linear_inputs:])))
            inputs.append((own[:linear_inputs], own[linear_inputs:]))
        (T, N, _), H = x.shape, inputs[0][1][0].shape[-1]  # h0 (N, H) is the kernel's first input after xw
        finals = 2 if kernel is LSTMSequence else 1  # h_T, and c_T for LSTM
        out = xp.empty((2, T + finals, N, H), dtype=x.dtype)
        self.parallel = self.backend.recurrent.directions_at_once(x.dtype)

        def run(d):
            linear, rest = inputs[d]
            xw = self.linears[d].forward(x, *linear)
            self.parts[d].forward(xw, *rest, reverse=bool(d), out=out[d], **options)

        _run_both(run, self.parallel, self.backend.recurrent.one_blas_thread)
        return out

    def backward(self, gy):
        grads = [None, None]
        for part in (*self.linears, *self.parts):
            part.final_backward, part.owns_gy = self.final_backward, False

        def run(d):
            dxw, *rest = self.parts[d].backward(gy[d])
            linear = self.linears[d].backward(dxw) if dxw is not None else (None,) * (1 + self.linear_inputs)
            grads[d] = (linear[0], (*linear[1:], *rest))

        _run_both(run, self.parallel, self.backend.recurrent.one_blas_thread)
        (gx0, own0), (gx1, own1) = grads
        gx = None if gx0 is None else gx0 + gx1
        return (gx, *own0, *own1)


@functools.cache
def _direction_worker() -> ThreadPoolExecutor:
    """The one worker thread that runs a layer's second direction (started on first use; a forked
    child, which inherits the executor but not its thread, starts its own)."""
    return ThreadPoolExecutor(max_workers=1, thread_name_prefix="minigrad-direction")


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_direction_worker.cache_clear)


def _run_both(run, parallel: bool, one_blas_thread) -> None:
    """``run(0)`` and ``run(1)``: at once (1 in the worker, with this thread's context) inside
    ``one_blas_thread()``, or in turn."""
    if not parallel:
        run(0)
        run(1)
        return
    with one_blas_thread():
        future = _direction_worker().submit(contextvars.copy_context().run, run, 1)
        try:
            run(0)
        finally:
            error = future.exception()  # waits: the worker never outlives the op's arrays
    if error is not None:
        raise error
