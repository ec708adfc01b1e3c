"""Scans along an axis: the cumulative sum."""

from __future__ import annotations

from minigrad.autograd import Function
from minigrad.ops.reduce import sum_dtype


class CumSum(Function):
    """y_i = x_0 + ... + x_i along ``axis``; backward is the cumulative sum of ``gy`` taken from the end.

    dL/dx_i = sum over j >= i of dL/dy_j, i.e. ``flip(cumsum(flip(gy)))``.
    """

    def forward(self, x, axis):
        self.axis = axis
        return self.xp.cumsum(x, axis=axis, dtype=sum_dtype(x.dtype))  # int64 for bool and integer tensors

    def backward(self, gy):
        xp, axis = self.xp, self.axis
        return (xp.flip(xp.cumsum(xp.flip(gy, axis), axis=axis), axis),)
