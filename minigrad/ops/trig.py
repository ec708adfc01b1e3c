"""Trigonometric functions: sin and cos (each saves its input for the derivative)."""

from __future__ import annotations

from minigrad.autograd import Function


class Sin(Function):
    """y = sin x, dy/dx = cos x."""

    def forward(self, x):
        self.x = x
        return self.xp.sin(x)

    def backward(self, gy):
        return (gy * self.xp.cos(self.x),)


class Cos(Function):
    """y = cos x, dy/dx = -sin x."""

    def forward(self, x):
        self.x = x
        return self.xp.cos(x)

    def backward(self, gy):
        return (-gy * self.xp.sin(self.x),)
