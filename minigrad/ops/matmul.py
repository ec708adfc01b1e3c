"""Matrix products: with broadcast batch dimensions, and the affine map of a linear layer."""

from __future__ import annotations

import math

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
            return (_rows(a) @ b).reshape(a.shape[:-1] + (b.shape[-1],))
        if a.ndim == 2 and b.ndim == 2:
            return _product(a, b)
        return a @ b

    def backward(self, gy):
        a, b = self.a, self.b
        ga = unbroadcast(gy @ b.swapaxes(-1, -2), a.shape) if self.needs_input_grad[0] else None
        gb = None
        if self.needs_input_grad[1]:
            if a.ndim > 2 and b.ndim == 2:  # sum over batch dims as one product: (N*T, k)^T @ (N*T, m)
                gb = _rows(a).T @ _rows(gy)
            else:
                gb = unbroadcast(a.swapaxes(-1, -2) @ gy, b.shape)
        return ga, gb


class Linear(Function):
    """y = x W^T + b for ``x (..., I)``, ``W (O, I)``, ``b (O,)`` (optional): PyTorch's ``F.linear``.

    One output array, with the bias added in place: a chain ``x @ W.T + b``
    would keep both ``x W^T`` and the sum alive in the graph until backward,
    twice the memory for the input projection of a whole sequence.
    Backward: dx = dy W, dW = dy^T x and db = dy summed over all leading axes,
    each one product over the flattened leading axes.
    """

    def forward(self, x, W, b=None):
        self.x, self.W, self.has_bias = x, W, b is not None
        y = _product(x, W.T) if x.ndim == 2 else (_rows(x) @ W.T).reshape(x.shape[:-1] + (W.shape[0],))
        if b is not None:
            y += b
        return y

    def backward(self, gy):
        x, W = self.x, self.W
        g2 = _rows(gy)
        gx = (g2 @ W).reshape(x.shape) if self.needs_input_grad[0] else None
        gW = g2.T @ _rows(x) if self.needs_input_grad[1] else None
        if not self.has_bias:
            return gx, gW
        return gx, gW, (g2.sum(axis=0) if self.needs_input_grad[2] else None)


def _product(a, b):
    """``a (n, k) @ b (k, m)``, as ``(b^T a^T)^T`` when b is a transposed matrix and n < m (a result in
    column-major order).

    OpenBLAS is slow at few rows times a transposed matrix: ``h @ W_hh.T`` of a composed LSTM step
    (32 x 128 times 128 x 512, one thread) took 71-83 us, the same product the other way round
    47-51 us; 64 x 256 times 256 x 1024: 437-451 against 342 us. With more rows than columns the
    other way is slower (512 x 128 times 128 x 32: 47 against 72 us), so it is used only for n < m.
    """
    if a.shape[0] < b.shape[1] and b.flags.f_contiguous and not b.flags.c_contiguous:
        return (b.T @ a.T).T
    return a @ b


def _rows(a):
    """``a (..., k)`` as a matrix ``(rows, k)`` (also when some size is 0, where -1 cannot be inferred)."""
    return a.reshape(math.prod(a.shape[:-1]), a.shape[-1])
