"""Primitive differentiable ops, each a :class:`~minigrad.autograd.Function`.

Everything else (mean, softmax, losses, recurrent cells) is composed from these.
"""

from minigrad.ops.elementwise import (
    Abs,
    Add,
    Cast,
    Clip,
    Div,
    Exp,
    Log,
    Mul,
    Neg,
    Pow,
    PowScalar,
    Relu,
    Sigmoid,
    Sqrt,
    Sub,
    Tanh,
    Where,
)
from minigrad.ops.matmul import MatMul
from minigrad.ops.movement import Concat, GetItem, Reshape, Stack, Transpose
from minigrad.ops.reduce import Max, Sum
from minigrad.ops.softmax import LogSoftmax, LogSumExp, Softmax

__all__ = [
    "Abs", "Add", "Cast", "Clip", "Concat", "Div", "Exp", "GetItem", "Log", "LogSoftmax", "LogSumExp", "MatMul", "Max",
    "Mul",
    "Neg", "Pow", "PowScalar", "Relu", "Reshape", "Sigmoid", "Softmax", "Sqrt", "Stack", "Sub", "Sum", "Tanh",
    "Transpose", "Where",
]
