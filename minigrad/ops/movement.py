"""Ops that move or select elements: reshape, transpose, indexing, concat, stack."""

from __future__ import annotations

from minigrad.autograd import Function, IndexGrad


class Reshape(Function):
    def forward(self, x, shape):
        self.shape = x.shape
        return x.reshape(shape)

    def backward(self, gy):
        return (gy.reshape(self.shape),)


class Transpose(Function):
    """Permute axes; the backward applies the inverse permutation."""

    def forward(self, x, axes):
        self.inverse = tuple(sorted(range(len(axes)), key=axes.__getitem__))
        return x.transpose(axes)

    def backward(self, gy):
        return (gy.transpose(self.inverse),)


class GetItem(Function):
    """``x[index]`` for basic slices and integer (or boolean) arrays.

    Backward hands back ``gy`` placed at ``index`` (an `IndexGrad`),
    which the engine adds into one zero buffer per input; with integer arrays
    it accumulates, so an index repeated k times receives k gradients.
    """

    def forward(self, x, index, basic):
        self.shape, self.dtype, self.index, self.basic = x.shape, x.dtype, index, basic
        return x[index]

    def backward(self, gy):
        return (IndexGrad(self.shape, self.dtype, self.index, gy, self.basic),)


class Concat(Function):
    """Join arrays along ``axis``; backward slices ``gy`` back into pieces."""

    def forward(self, *arrays, axis):
        self.axis = axis
        self.bounds = []
        start = 0
        for a in arrays:
            self.bounds.append((start, start + a.shape[axis]))
            start += a.shape[axis]
        return self.xp.concatenate(arrays, axis=axis)

    def backward(self, gy):
        lead = (slice(None),) * self.axis
        return tuple(gy[lead + (slice(lo, hi),)] for lo, hi in self.bounds)


class Stack(Function):
    """Stack same-shaped arrays along a new ``axis``; backward selects each slice."""

    def forward(self, *arrays, axis):
        self.axis, self.n = axis, len(arrays)
        return self.xp.stack(arrays, axis=axis)

    def backward(self, gy):
        lead = (slice(None),) * self.axis
        return tuple(gy[lead + (i,)] for i in range(self.n))
