"""Matrix product with broadcast batch dimensions."""

from __future__ import annotations

from minigrad.autograd import Function, unbroadcast


class MatMul(Function):
    """C = A @ B for ``A (..., n, k)`` and ``B (..., k, m)``.

    dL/dA = dL/dC @ B^T and dL/dB = A^T @ dL/dC, each summed over broadcast
    batch dimensions.
    """

    def forward(self, a, b):
        self.a, self.b = a, b
        return a @ b

    def backward(self, gy):
        a, b = self.a, self.b
        ga = unbroadcast(gy @ b.swapaxes(-1, -2), a.shape) if self.needs_input_grad[0] else None
        gb = unbroadcast(a.swapaxes(-1, -2) @ gy, b.shape) if self.needs_input_grad[1] else None
        return ga, gb
