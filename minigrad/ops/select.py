"""Selecting elements along one axis by an index array (``take_along_axis``, ``gather``)."""

from __future__ import annotations

from minigrad.autograd import Function, IndexGrad


class TakeAlongAxis(Function):
    """``y = take_along_axis(x, indices, axis)`` (NumPy's): ``y[..., j, ...] = x[..., indices[..., j, ...], ...]``.

    ``indices`` (an integer array with ``x``'s number of dimensions) broadcasts
    against ``x`` on every other axis and gets no gradient. Backward adds ``gy``
    into zeros at the same positions (an `IndexGrad` through the backend's
    ``scatter_add``), so an index repeated k times receives k gradients.
    """

    def forward(self, x, indices, axis):
        xp = self.xp
        # the full index NumPy builds: an arange on every other axis, ``indices`` on ``axis``
        self.index = tuple(
            indices if d == axis else xp.arange(n).reshape((1,) * d + (n,) + (1,) * (x.ndim - d - 1))
            for d, n in enumerate(x.shape)
        )
        self.shape, self.dtype = x.shape, x.dtype
        return x[self.index]

    def backward(self, gy):
        return (IndexGrad(self.shape, self.dtype, self.index, gy, basic=False),)
