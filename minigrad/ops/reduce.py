"""Reductions over axes: sum and max (mean is sum divided by a count)."""

from __future__ import annotations

from minigrad.autograd import Function


def _keepdims_shape(shape: tuple, axis: tuple | None) -> tuple:
    """``shape`` with the reduced axes kept as 1, so a gradient broadcasts back."""
    if axis is None:
        return (1,) * len(shape)
    return tuple(1 if i in axis else n for i, n in enumerate(shape))


def sum_dtype(dtype) -> str | None:
    """The dtype a sum of ``dtype`` accumulates in: int64 for every bool and integer dtype (PyTorch's rule; NumPy
    gives uint64 for unsigned integers), else None (the input's own floating dtype)."""
    return "int64" if dtype.kind in "biu" else None


class Sum(Function):
    """y = sum of x over ``axis`` (normalised tuple of non-negative ints, or None for all).

    Bool and integer tensors sum to int64, as in PyTorch.
    """

    def forward(self, x, axis, keepdims):
        self.shape, self.axis = x.shape, axis
        return x.sum(axis=axis, keepdims=keepdims, dtype=sum_dtype(x.dtype))

    def backward(self, gy):
        gx = self.xp.empty(self.shape, dtype=gy.dtype)  # contiguous, so a following matmul stays on BLAS
        gx[...] = gy.reshape(_keepdims_shape(self.shape, self.axis))
        return (gx,)


class Max(Function):
    """y = max of x over ``axis`` (the min with ``lowest=True``); ties share the gradient equally (like
    ``torch.amax`` and ``torch.amin``).

    The min is taken directly, not as ``-max(-x)``: negation wraps around for unsigned integers and for the most
    negative signed integer (int8's -128), and is refused for bool.
    """

    def forward(self, x, axis, keepdims, lowest=False):
        y = x.min(axis=axis, keepdims=True) if lowest else x.max(axis=axis, keepdims=True)
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
