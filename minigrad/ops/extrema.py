"""Elementwise maximum and minimum of two broadcast arrays.

On ties the gradient is split half and half between the inputs, and where
either input is nan (the result is nan) both inputs receive the full gradient:
PyTorch 2.x's rule (``where(a == b, gy / 2, gy)``, zeroed where the input lost).
"""

from __future__ import annotations

from minigrad.autograd import Function, unbroadcast


def _winner_grads(fn: Function, gy, a_lost, b_lost) -> tuple:
    """``gy`` halved where ``a == b``, zero where an input lost, summed back to each input's shape."""
    xp, (a, b) = fn.xp, fn.ab
    zero = xp.zeros((), dtype=gy.dtype)
    shared = xp.where(a == b, gy * 0.5, gy)
    ga = unbroadcast(xp.where(a_lost, zero, shared), a.shape) if fn.needs_input_grad[0] else None
    gb = unbroadcast(xp.where(b_lost, zero, shared), b.shape) if fn.needs_input_grad[1] else None
    return ga, gb


class Maximum(Function):
    """y = max(a, b) elementwise (nan if either is nan); dy/da = 1 where a > b, 1/2 where a == b."""

    def forward(self, a, b):
        self.ab = a, b
        return self.xp.maximum(a, b)

    def backward(self, gy):
        a, b = self.ab
        return _winner_grads(self, gy, a < b, a > b)


class Minimum(Function):
    """y = min(a, b) elementwise (nan if either is nan); dy/da = 1 where a < b, 1/2 where a == b."""

    def forward(self, a, b):
        self.ab = a, b
        return self.xp.minimum(a, b)

    def backward(self, gy):
        a, b = self.ab
        return _winner_grads(self, gy, a > b, a < b)
