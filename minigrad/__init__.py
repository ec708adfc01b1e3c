"""minigrad: a readable autograd engine for learning and prototyping recurrent networks.

    >>> import minigrad as mg
    >>> x = mg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    >>> (x * x).sum().backward()
    >>> x.grad.tolist()
    [2.0, 4.0, 6.0]
"""

from minigrad import data, malloc, nn, optim, viz
from minigrad.anomaly import AnomalyError, detect_anomaly, is_anomaly_enabled
from minigrad.autograd import Function, GraphStats, enable_grad, graph_stats, is_grad_enabled, no_grad
from minigrad.backend import default_backend_name, get_backend, set_backend, use_backend
from minigrad.creation import (
    arange,
    full,
    full_like,
    manual_seed,
    ones,
    ones_like,
    rand,
    rand_like,
    randn,
    randn_like,
    tensor,
    zeros,
    zeros_like,
)
from minigrad.gradcheck import GradcheckError, gradcheck
from minigrad.io import load, save
from minigrad.tensor import Tensor, apply, argmax, argmin, broadcast_to, concat, matmul, maximum, minimum, stack, where

malloc.tune_malloc()  # freed large arrays keep their pages for the next batch (MINIGRAD_MALLOPT=0: not)

__version__ = "0.1.0"

__all__ = [
    "AnomalyError",
    "Function",
    "GradcheckError",
    "GraphStats",
    "Tensor",
    "apply",
    "arange",
    "argmax",
    "argmin",
    "broadcast_to",
    "concat",
    "data",
    "default_backend_name",
    "detect_anomaly",
    "enable_grad",
    "full",
    "full_like",
    "get_backend",
    "gradcheck",
    "graph_stats",
    "is_anomaly_enabled",
    "is_grad_enabled",
    "load",
    "manual_seed",
    "matmul",
    "maximum",
    "minimum",
    "nn",
    "no_grad",
    "ones",
    "ones_like",
    "optim",
    "rand",
    "rand_like",
    "randn",
    "randn_like",
    "save",
    "set_backend",
    "stack",
    "tensor",
    "use_backend",
    "viz",
    "where",
    "zeros",
    "zeros_like",
]
