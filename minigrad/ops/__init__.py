"""Primitive differentiable ops, each a `Function`.

Everything else (mean, softmax, losses, recurrent cells) is composed from these.
"""

from minigrad.ops.activation import Elu, Gelu, LeakyRelu, LogSigmoid, Softplus
from minigrad.ops.broadcast import BroadcastTo
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
from minigrad.ops.extrema import Maximum, Minimum
from minigrad.ops.loss import BinaryCrossEntropy
from minigrad.ops.matmul import Linear, MatMul
from minigrad.ops.movement import Concat, GetItem, Reshape, Stack, Transpose
from minigrad.ops.recurrent import BidirectionalSequence, GRUSequence, LSTMSequence, RNNSequence
from minigrad.ops.reduce import Max, Sum
from minigrad.ops.rounding import Ceil, Floor, Round, Sign
from minigrad.ops.scan import CumSum
from minigrad.ops.select import TakeAlongAxis
from minigrad.ops.softmax import LogSoftmax, LogSumExp, Softmax
from minigrad.ops.trig import Cos, Sin

__all__ = [
    "Abs", "Add", "Cast", "Clip", "Concat", "Div", "Exp", "GetItem", "Log", "Linear", "LogSoftmax", "LogSumExp",
    "MatMul", "Max", "Mul", "Neg", "Pow", "PowScalar", "Relu", "Reshape", "Sigmoid", "Softmax", "Sqrt", "Stack",
    "Sub", "Sum", "Tanh", "Transpose", "Where",
    # fused sequence kernels, the twins of the composed recurrent layers (tests/test_fused.py)
    "BidirectionalSequence", "GRUSequence", "LSTMSequence", "RNNSequence",
    # more ops under PyTorch names
    "BroadcastTo", "Ceil", "Cos", "CumSum", "Floor", "Maximum", "Minimum", "Round", "Sign", "Sin", "TakeAlongAxis",
    # activations and a loss primitive (minigrad.ops.activation, minigrad.ops.loss)
    "BinaryCrossEntropy", "Elu", "Gelu", "LeakyRelu", "LogSigmoid", "Softplus",
]
