"""Matrix product with broadcast batch dimensions."""

from __future__ import annotations

from minigrad.autograd import Function, unbroadcast


class MatMul(Function):
    """C = A @ B for ``A (..., n, k)`` and ``B (..., k, m)``.

    dL/dA = dL/dC @ B^T and dL/dB = A^T @ dL/dC, each summed over broadcast
    batch dimensions. When B is a plain matrix (a layer's weight applied to
    every time step of ``(N, T, k)`` inputs), the batch dimensions of A are
    folded into its rows, so forward and both gradients are single
    matrix products instead of N small ones.
    """

    def forward(self, a, b):
        self.a, self.b = a, b
        if a.ndim > 2 and b.ndim == 2:
            return (a.reshape(-1, a.shape[-1]) @ b).reshape(a.shape[:-1] + (b.shape[-1],))
        return a @ b

    def backward(self, gy):
        a, b = self.a, self.b
        ga = unbroadcast(gy @ b.swapaxes(-1, -2), a.shape) if self.needs_input_grad[0] else None
        gb = None
        if self.needs_input_grad[1]:
            if a.ndim > 2 and b.ndim == 2:  # sum over batch dims as one product: (N*T, k)^T @ (N*T, m)
                gb = a.reshape(-1, a.shape[-1]).T @ gy.reshape(-1, gy.shape[-1])
            else:
                gb = unbroadcast(a.swapaxes(-1, -2) @ gy, b.shape)
        return ga, gb
