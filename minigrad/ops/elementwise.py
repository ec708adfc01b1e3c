"""Elementwise ops: forward and backward side by side.

Binary ops broadcast like NumPy; their backward hands each gradient to
`unbroadcast`, the one place that undoes broadcasting.
Unary ops save only what their derivative needs (the output for exp, tanh,
sigmoid, sqrt; the input for log, abs, relu, clip).
"""

from __future__ import annotations

import functools
import math

from minigrad.autograd import Function, unbroadcast


class Add(Function):
    def forward(self, a, b):
        self.shapes = a.shape, b.shape
        return a + b

    def backward(self, gy):
        sa, sb = self.shapes
        return unbroadcast(gy, sa), unbroadcast(gy, sb)


class Sub(Function):
    def forward(self, a, b):
        self.shapes = a.shape, b.shape
        return a - b

    def backward(self, gy):
        sa, sb = self.shapes
        return unbroadcast(gy, sa), (unbroadcast(-gy, sb) if self.needs_input_grad[1] else None)


class Mul(Function):
    def forward(self, a, b):
        self.a, self.b = a, b
        return a * b

    def backward(self, gy):
        a, b = self.a, self.b
        ga = unbroadcast(gy * b, a.shape) if self.needs_input_grad[0] else None
        gb = unbroadcast(gy * a, b.shape) if self.needs_input_grad[1] else None
        return ga, gb


class Div(Function):
    def forward(self, a, b):
        self.a, self.b = a, b
        return a / b

    def backward(self, gy):
        a, b = self.a, self.b
        ga = unbroadcast(gy / b, a.shape) if self.needs_input_grad[0] else None
        gb = unbroadcast(-gy * a / (b * b), b.shape) if self.needs_input_grad[1] else None
        return ga, gb


class Pow(Function):
    """``a ** b`` for two arrays: d/da = b a^(b-1), d/db = a^b log a.

    At the boundary points the closed forms read 0 * inf; PyTorch's rules
    apply instead: d/da = 0 where b == 0, and d/db = 0 where a == 0 and b >= 0.
    """

    def forward(self, a, b):
        self.a, self.b = a, b
        self.y = a**b
        return self.y

    def backward(self, gy):
        a, b, xp = self.a, self.b, self.xp
        ga = gb = None
        if self.needs_input_grad[0]:
            ga = unbroadcast(xp.where(b == 0, 0, gy * b * a ** (b - 1)), a.shape)
        if self.needs_input_grad[1]:
            gb = unbroadcast(gy * xp.where((a == 0) & (b >= 0), 0, self.y * xp.log(a)), b.shape)
        return ga, gb


class PowScalar(Function):
    """``x ** p`` for a constant exponent: d/dx = p x^(p-1), and 0 for p == 0 (PyTorch's rule).

    ``p == 0.5`` is a square root, with the square root's derivative 1 / (2 y)
    (so -0.0 gives -inf, as in PyTorch).
    """

    def forward(self, x, p):
        self.x, self.p = x, p
        self.y = x**p
        return self.y

    def backward(self, gy):
        p = self.p
        if p == 0:
            return (self.xp.zeros_like(gy),)
        if p == 0.5:
            return (gy / (2 * self.y),)
        return (gy * p * self.x ** (p - 1),)


class Neg(Function):
    def forward(self, x):
        return -x

    def backward(self, gy):
        return (-gy,)


class Exp(Function):
    def forward(self, x):
        self.y = self.xp.exp(x)
        return self.y

    def backward(self, gy):
        return (gy * self.y,)


class Log(Function):
    def forward(self, x):
        self.x = x
        return self.xp.log(x)

    def backward(self, gy):
        return (gy / self.x,)


class Sqrt(Function):
    def forward(self, x):
        self.y = self.xp.sqrt(x)
        return self.y

    def backward(self, gy):
        return (gy / (2 * self.y),)


class Abs(Function):
    def forward(self, x):
        self.x = x
        return self.xp.abs(x)

    def backward(self, gy):
        x = self.x  # d|x|/dx = sign(x), and 0 at x = 0 and at nan (PyTorch's rule)
        return (gy * self.xp.where(x > 0, 1, self.xp.where(x < 0, -1, 0)).astype(gy.dtype),)


class Tanh(Function):
    """y = tanh x, dy/dx = 1 - y^2 = 1 / cosh^2 x.

    The derivative is computed as (1 / cosh x) / cosh x, which keeps its
    relative precision where y is within rounding of +-1 (|x| > 9 in
    float32), where 1 - y^2 would be 0; cosh overflowing gives 0, and the true
    value is then below float32's smallest normal number anyway.
    """

    def forward(self, x):
        self.x = x
        return self.xp.tanh(x)

    def backward(self, gy):
        with self.backend.ignore_fp_errors():
            c = self.xp.cosh(self.x)
        return (gy * (1 / c / c),)


class Sigmoid(Function):
    """y = 1 / (1 + e) with e = exp(-x); dy/dx = y (1 - y) = e y^2.

    Both forms keep float32's relative precision over its whole range, with
    no subtraction: through tanh, or as y (1 - y), the tails cancel to 0 (the
    value below x = -17, the derivative above x = 17). x is clipped below at
    -log(largest float) so that e stays finite; y there is below the smallest
    normal number anyway.
    """

    def forward(self, x):
        xp = self.xp
        e, y = xp.empty_like(x), xp.empty_like(x)  # two buffers, updated in place (also for 0-d arrays)
        xp.maximum(x, _exp_floor(xp, x.dtype), out=e)
        xp.negative(e, out=e)
        xp.exp(e, out=e)
        xp.add(e, 1, out=y)
        xp.reciprocal(y, out=y)
        self.e, self.y = e, y
        return y

    def backward(self, gy):
        d = self.e * self.y
        d *= self.y
        return (gy * d,)


@functools.cache
def _exp_floor(xp, dtype):
    """The most negative x whose exp(-x) is finite in ``dtype`` (with a margin of 0.01), as a Python float
    (a weak scalar: it keeps the array's dtype), computed once per dtype."""
    return 0.01 - math.log(float(xp.finfo(dtype).max))


class Relu(Function):
    def forward(self, x):
        self.mask = ~(x <= 0)  # PyTorch's rule: the gradient passes unless x <= 0 (so also at nan)
        return self.xp.maximum(x, self.xp.zeros((), dtype=x.dtype))  # a zero of x's dtype: bool stays bool

    def backward(self, gy):
        return (gy * self.mask,)


class Clip(Function):
    """Clamp to [lo, hi]; the gradient passes where lo <= x <= hi (as in PyTorch)."""

    def forward(self, x, lo, hi):
        xp = self.xp
        self.mask = xp.ones(x.shape, dtype=bool)
        if lo is not None:
            self.mask &= x >= lo
        if hi is not None:
            self.mask &= x <= hi
        return xp.clip(x, lo, hi)

    def backward(self, gy):
        return (gy * self.mask,)


class Where(Function):
    """``cond ? a : b`` elementwise; ``cond`` is a boolean array that gets no gradient."""

    def forward(self, a, b, cond):
        self.cond, self.shapes = cond, (a.shape, b.shape)
        return self.xp.where(cond, a, b)

    def backward(self, gy):
        zero = self.xp.zeros((), dtype=gy.dtype)
        sa, sb = self.shapes
        ga = unbroadcast(self.xp.where(self.cond, gy, zero), sa) if self.needs_input_grad[0] else None
        gb = unbroadcast(self.xp.where(self.cond, zero, gy), sb) if self.needs_input_grad[1] else None
        return ga, gb


class Cast(Function):
    """Change dtype; the gradient is cast back to the input's dtype."""

    def forward(self, x, dtype):
        self.dtype = x.dtype
        return x.astype(dtype)

    def backward(self, gy):
        return (gy.astype(self.dtype),)
