"""Normalising reductions along one axis: logsumexp, log_softmax and softmax.

All three shift by the row maximum m before exponentiating, so no exp
overflows. Masked scores set to -inf give PyTorch's values: a -inf entry has
probability 0 and a finite gradient; a row of -inf has logsumexp -inf (its
infinite maximum is replaced by 0) and softmax nan.

float32 precision: the largest entry contributes exactly exp(0) = 1 to the sum,
so log(sum) is computed as log1p(s) with s the sum of the *other* terms.
log(1 + s) would round to 0 once s < 6e-8 and lose the whole value of
log_softmax at the winning class (-2.1e-9 for logits [20, 0]).
"""

from __future__ import annotations

from minigrad.autograd import Function


def _log_normaliser(xp, x, axis, zero_infinite_max):
    """``(m, x - m, log(sum(exp(x - m))), is_top, others)`` along ``axis``.

    ``m`` is the row maximum (with ``zero_infinite_max``, 0 where it is
    infinite or nan: logsumexp's rule in PyTorch; softmax and log_softmax
    subtract it as it is, so a row with +inf is nan), ``is_top`` marks
    the first position of each row's maximum and ``others`` is the sum of
    exp(x - m) over the rest of the row.
    """
    m = x.max(axis=axis, keepdims=True)
    finite = xp.isfinite(m)
    if zero_infinite_max:
        m = xp.where(finite, m, 0).astype(x.dtype)
    shifted = x - m
    e = xp.exp(shifted)
    n = x.shape[axis]
    position = xp.arange(n).reshape((n,) + (1,) * (x.ndim - 1 - axis))
    is_top = position == xp.argmax(x, axis=axis).reshape(m.shape)
    others = xp.where(is_top, 0, e).sum(axis=axis, keepdims=True)
    with_top = e.sum(axis=axis, keepdims=True)
    log_z = xp.where(finite, xp.log1p(others), xp.log(with_top))
    return m, shifted, log_z, is_top, others


class LogSumExp(Function):
    """y = log(sum_j exp(x_j)) along ``axis``; dy/dx = softmax(x)."""

    def forward(self, x, axis, keepdims):
        with self.backend.ignore_fp_errors():
            m, _, log_z, _, _ = _log_normaliser(self.xp, x, axis, zero_infinite_max=True)
        y = log_z + m
        self.x, self.y, self.axis = x, y, axis
        return y if keepdims else y.squeeze(axis)

    def backward(self, gy):
        gy = self.xp.expand_dims(gy, self.axis) if gy.ndim < self.x.ndim else gy
        with self.backend.ignore_fp_errors():
            return (gy * self.xp.exp(self.x - self.y),)


class LogSoftmax(Function):
    """y = x - logsumexp(x) along ``axis``; dx = gy - softmax(x) * sum(gy).

    At the maximum, 1 - softmax is taken as s / (1 + s) (s: the other terms)
    rather than computed by subtraction, so the gradient keeps its relative
    precision when one class dominates.
    """

    def forward(self, x, axis):
        with self.backend.ignore_fp_errors():
            _, shifted, log_z, is_top, others = _log_normaliser(self.xp, x, axis, zero_infinite_max=False)
            y = shifted - log_z
        self.y, self.axis, self.is_top, self.top_rest = y, axis, is_top, others / (1 + others)
        return y

    def backward(self, gy):
        xp = self.xp
        p = xp.exp(self.y)
        one_minus_p = xp.where(self.is_top, self.top_rest, 1 - p)
        rest = gy.sum(axis=self.axis, keepdims=True) - gy
        return (gy * one_minus_p - p * rest,)


class Softmax(Function):
    """y = exp(x_i) / sum_j exp(x_j) along ``axis``; dx = y (gy - sum(gy y))."""

    def forward(self, x, axis):
        xp = self.xp
        with self.backend.ignore_fp_errors():  # a row with an infinite maximum is nan, as in PyTorch
            e = xp.exp(x - x.max(axis=axis, keepdims=True))
            self.y, self.axis = e / e.sum(axis=axis, keepdims=True), axis
        return self.y

    def backward(self, gy):
        y = self.y
        return (y * (gy - (gy * y).sum(axis=self.axis, keepdims=True)),)
