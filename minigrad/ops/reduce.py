"""Reductions over axes: sum and max (mean is sum divided by a count)."""

from __future__ import annotations

from minigrad.autograd import Function


def _keepdims_shape(shape: tuple, axis: tuple | None) -> tuple:
    """``shape`` with the reduced axes kept as 1, so a gradient broadcasts back."""
    if axis is None:
        return (1,) * len(shape)
    return tuple(1 if i in axis else n for i, n in enumerate(shape))


class Sum(Function):
    """y = sum of x over ``axis`` (normalised tuple of non-negative ints, or None for all)."""

    def forward(self, x, axis, keepdims):
        self.shape, self.axis = x.shape, axis
        return x.sum(axis=axis, keepdims=keepdims)

    def backward(self, gy):
        gx = self.xp.empty(self.shape, dtype=gy.dtype)  # contiguous, so a following matmul stays on BLAS
        gx[...] = gy.reshape(_keepdims_shape(self.shape, self.axis))
        return (gx,)


class Max(Function):
    """y = max of x over ``axis``; ties share the gradient equally (like ``torch.amax``)."""

    def forward(self, x, axis, keepdims):
        y = x.max(axis=axis, keepdims=True)
        self.mask = x == y
        self.axis = axis
        return y if keepdims else y.reshape(_squeeze(x.shape, axis))

    def backward(self, gy):
        mask = self.mask
        gy = gy.reshape(_keepdims_shape(mask.shape, self.axis))
        count = mask.sum(axis=self.axis, keepdims=True)
        return (mask * (gy / count),)


def _squeeze(shape: tuple, axis: tuple | None) -> tuple:
    if axis is None:
        return ()
    return tuple(n for i, n in enumerate(shape) if i not in axis)
