"""Elementwise ops: forward and backward side by side.

Binary ops broadcast like NumPy; their backward hands each gradient to
:func:`~minigrad.autograd.unbroadcast`, the one place that undoes broadcasting.
Unary ops save only what their derivative needs (the output for exp, tanh,
sigmoid, sqrt; the input for log, abs, relu, clip).
"""

from __future__ import annotations

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
    """``a ** b`` for two arrays: d/da = b a^(b-1), d/db = a^b log a."""

    def forward(self, a, b):
        self.a, self.b = a, b
        self.y = a**b
        return self.y

    def backward(self, gy):
        a, b, xp = self.a, self.b, self.xp
        ga = unbroadcast(gy * b * a ** (b - 1), a.shape) if self.needs_input_grad[0] else None
        gb = unbroadcast(gy * self.y * xp.log(a), b.shape) if self.needs_input_grad[1] else None
        return ga, gb


class PowScalar(Function):
    """``x ** p`` for a constant exponent: d/dx = p x^(p-1)."""

    def forward(self, x, p):
        self.x, self.p = x, p
        return x**p

    def backward(self, gy):
        return (gy * self.p * self.x ** (self.p - 1),)


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
        return (gy * self.xp.sign(self.x),)


class Tanh(Function):
    """y = tanh x, dy/dx = 1 - y^2."""

    def forward(self, x):
        self.y = self.xp.tanh(x)
        return self.y

    def backward(self, gy):
        return (gy * (1 - self.y * self.y),)


class Sigmoid(Function):
    """y = 1 / (1 + e^-x), dy/dx = y (1 - y); computed as (1 + tanh(x/2)) / 2, stable for any x."""

    def forward(self, x):
        self.y = (self.xp.tanh(x * 0.5) + 1) * 0.5
        return self.y

    def backward(self, gy):
        return (gy * self.y * (1 - self.y),)


class Relu(Function):
    def forward(self, x):
        self.mask = x > 0
        return self.xp.maximum(x, 0)

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
