"""Piecewise-constant ops: sign, floor, ceil, round.

Their derivative is zero wherever it exists, and, as in PyTorch, backward
hands back zeros everywhere (also at the jumps), so a gradient reaches the
input as zeros rather than not at all. Integer inputs pass through unchanged
(PyTorch keeps their dtype; NumPy's floor would make them float).
"""

from __future__ import annotations

from minigrad.autograd import Function


class _PiecewiseConstant(Function):
    """Base class: backward is zero."""

    def backward(self, gy):
        return (self.xp.zeros_like(gy),)


class Sign(_PiecewiseConstant):
    """-1, 0 or 1 by the sign of x; sign(nan) is 0, as in PyTorch (NumPy gives nan)."""

    def forward(self, x):
        xp = self.xp
        if x.dtype.kind == "b":  # the sign of True is True, of False False (PyTorch)
            return x.copy()
        y = xp.sign(x)
        if x.dtype.kind == "f":
            y = xp.where(xp.isnan(x), xp.zeros((), dtype=x.dtype), y)
        return y


class Floor(_PiecewiseConstant):
    def forward(self, x):
        return self.xp.floor(x) if x.dtype.kind == "f" else x.copy()


class Ceil(_PiecewiseConstant):
    def forward(self, x):
        return self.xp.ceil(x) if x.dtype.kind == "f" else x.copy()


class Round(_PiecewiseConstant):
    """Round half to even (0.5 -> 0, 1.5 -> 2) to ``decimals`` places, like ``torch.round``."""

    def forward(self, x, decimals):
        return self.xp.round(x, decimals) if x.dtype.kind == "f" else x.copy()
