"""Broadcasting to a larger shape (``expand``, ``broadcast_to``, ``repeat``)."""

from __future__ import annotations

from minigrad.autograd import Function, unbroadcast


class BroadcastTo(Function):
    """A read-only view of ``x`` stretched to ``shape`` (NumPy broadcasting rules).

    Backward sums ``gy`` over the stretched and added axes, through
    `unbroadcast`.
    """

    def forward(self, x, shape):
        self.shape = x.shape
        return self.xp.broadcast_to(x, shape)

    def backward(self, gy):
        return (unbroadcast(gy, self.shape),)
