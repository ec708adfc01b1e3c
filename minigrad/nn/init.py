"""In-place parameter initialisers with PyTorch's names and conventions.

Each function fills a tensor (usually a [`Parameter`][minigrad.nn.Parameter]) in
place and returns it. It replaces ``t.data`` with a new array of the same
shape, dtype and backend, outside the graph, so it works with or without
``no_grad()``. Random numbers come from the tensor's backend generator, so
[`minigrad.manual_seed`][minigrad.manual_seed] makes every initialisation repeatable (and the
same on every backend).

Fan conventions follow PyTorch: a weight has shape ``(out, in, *kernel)``,
so ``fan_in = in * prod(kernel)`` and ``fan_out = out * prod(kernel)``.

    >>> import minigrad as mg
    >>> w = mg.nn.Parameter(mg.zeros(64, 32))
    >>> _ = mg.nn.init.xavier_uniform_(w)
"""

from __future__ import annotations

import math
from typing import Any

from backends.choices import did_you_mean
from minigrad.tensor import Tensor

_LINEAR_LIKE = (
    "linear",
    "identity",
    "conv1d",
    "conv2d",
    "conv3d",
    "conv_transpose1d",
    "conv_transpose2d",
    "conv_transpose3d",
    "sigmoid",
)
NONLINEARITIES = _LINEAR_LIKE + ("tanh", "relu", "leaky_relu", "selu")  # what calculate_gain accepts
FAN_MODES = ("fan_in", "fan_out")


def _check_tensor(op: str, t: Any, floating: bool = True) -> Tensor:
    if not isinstance(t, Tensor):
        raise TypeError(f"{op}: expected a Tensor or Parameter, got {type(t).__name__}")
    if floating and t.dtype.kind != "f":
        raise TypeError(f"{op}: needs a floating-point tensor, got dtype {t.dtype}")
    return t


def _set(t: Tensor, array: Any) -> Tensor:
    """Replace ``t``'s values with ``array`` (cast to ``t``'s dtype), outside the graph."""
    t.data = array.astype(t.dtype, copy=False).reshape(t.shape)
    return t


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """The recommended gain for weights followed by ``nonlinearity`` (one of
    [`NONLINEARITIES`][minigrad.nn.init.NONLINEARITIES]).

    | nonlinearity                        | gain                                                        |
    | ----------------------------------- | ----------------------------------------------------------- |
    | linear, conv*, identity, sigmoid    | 1                                                           |
    | tanh                                | 5/3                                                         |
    | relu                                | sqrt(2)                                                     |
    | leaky_relu                          | sqrt(2 / (1 + slope^2)), slope = ``param`` (default 0.01)   |
    | selu                                | 3/4                                                         |

    Raises:
        ValueError: ``nonlinearity`` is not one of [`NONLINEARITIES`][minigrad.nn.init.NONLINEARITIES] (the message
            lists them and suggests the closest); ``param`` is not a number.
    """
    return _gain("calculate_gain", nonlinearity, param)


def _gain(op: str, nonlinearity: str, param: float | None) -> float:
    """[`calculate_gain`][minigrad.nn.init.calculate_gain] for ``op``, whose name starts the error messages."""
    if nonlinearity in _LINEAR_LIKE:
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3.0
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = 0.01
        elif isinstance(param, (int, float)) and not isinstance(param, bool):
            slope = float(param)
        else:
            raise ValueError(f"{op}: negative_slope must be a number, got {param!r}")
        return math.sqrt(2.0 / (1.0 + slope**2))
    if nonlinearity == "selu":
        return 3.0 / 4.0
    raise ValueError(f"{op}: unsupported nonlinearity {nonlinearity!r}; expected one of {NONLINEARITIES}"
                     + did_you_mean(nonlinearity, NONLINEARITIES))


def _fan_in_and_fan_out(t: Tensor) -> tuple[int, int]:
    """``(fan_in, fan_out)`` of a weight shaped ``(out, in, *kernel)``."""
    if t.ndim < 2:
        raise ValueError(
            f"fan in and fan out need a tensor with at least 2 dimensions (out, in, ...), got shape {t.shape}"
        )
    receptive = 1
    for n in t.shape[2:]:
        receptive *= n
    return t.shape[1] * receptive, t.shape[0] * receptive


def _fan(op: str, t: Tensor, mode: str) -> int:
    if mode not in FAN_MODES:
        raise ValueError(f"{op}: mode must be 'fan_in' or 'fan_out', got {mode!r}" + did_you_mean(mode, FAN_MODES))
    fan_in, fan_out = _fan_in_and_fan_out(t)
    return fan_in if mode == "fan_in" else fan_out


# -- constants -----------------------------------------------------------------
def constant_(t: Tensor, val: float) -> Tensor:
    """Fill ``t`` with ``val``."""
    _check_tensor("constant_", t, floating=False)
    return _set(t, t.backend.xp.full(t.shape, val, dtype=t.dtype))


def zeros_(t: Tensor) -> Tensor:
    """Fill ``t`` with zeros."""
    return constant_(t, 0)


def ones_(t: Tensor) -> Tensor:
    """Fill ``t`` with ones."""
    return constant_(t, 1)


# -- plain distributions -------------------------------------------------------
def uniform_(t: Tensor, a: float = 0.0, b: float = 1.0) -> Tensor:
    """Fill ``t`` with samples of U(a, b)."""
    _check_tensor("uniform_", t)
    if a > b:
        raise ValueError(f"uniform_: needs a <= b, got a={a}, b={b}")
    return _set(t, t.backend.uniform(a, b, t.shape, t.dtype))


def normal_(t: Tensor, mean: float = 0.0, std: float = 1.0) -> Tensor:
    """Fill ``t`` with samples of N(mean, std^2)."""
    _check_tensor("normal_", t)
    if std < 0:
        raise ValueError(f"normal_: std must be non-negative, got {std}")
    return _set(t, t.backend.normal(mean, std, t.shape, t.dtype))


# -- scaled by fan -------------------------------------------------------------
def xavier_uniform_(t: Tensor, gain: float = 1.0) -> Tensor:
    """Glorot & Bengio (2010): U(-a, a) with a = gain * sqrt(6 / (fan_in + fan_out))."""
    _check_tensor("xavier_uniform_", t)
    fan_in, fan_out = _fan_in_and_fan_out(t)
    if t.numel() == 0:
        return t
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return _set(t, t.backend.uniform(-bound, bound, t.shape, t.dtype))


def xavier_normal_(t: Tensor, gain: float = 1.0) -> Tensor:
    """Glorot & Bengio (2010): N(0, std^2) with std = gain * sqrt(2 / (fan_in + fan_out))."""
    _check_tensor("xavier_normal_", t)
    fan_in, fan_out = _fan_in_and_fan_out(t)
    if t.numel() == 0:
        return t
    std = gain * math.sqrt(2.0 / (fan_in + fan_out))
    return _set(t, t.backend.normal(0.0, std, t.shape, t.dtype))


glorot_uniform_ = xavier_uniform_
glorot_normal_ = xavier_normal_


def kaiming_uniform_(t: Tensor, a: float = 0.0, mode: str = "fan_in", nonlinearity: str = "leaky_relu") -> Tensor:
    """He et al. (2015): U(-bound, bound) with bound = gain * sqrt(3 / fan).

    ``gain = calculate_gain(nonlinearity, a)``; ``a`` is the negative slope of
    a leaky ReLU. ``a = sqrt(5)`` gives PyTorch's default for linear layers,
    bound = 1 / sqrt(fan_in).

    Raises:
        ValueError: ``mode`` is not ``'fan_in'`` or ``'fan_out'``; ``nonlinearity`` is not one of
            [`NONLINEARITIES`][minigrad.nn.init.NONLINEARITIES] (the messages list the accepted names); ``t`` has fewer
            than 2 dimensions.
        TypeError: ``t`` is not a floating-point tensor.
    """
    _check_tensor("kaiming_uniform_", t)
    fan = _fan("kaiming_uniform_", t, mode)
    gain = _gain("kaiming_uniform_", nonlinearity, a)
    if t.numel() == 0:
        return t
    bound = gain * math.sqrt(3.0 / fan)
    return _set(t, t.backend.uniform(-bound, bound, t.shape, t.dtype))


def kaiming_normal_(t: Tensor, a: float = 0.0, mode: str = "fan_in", nonlinearity: str = "leaky_relu") -> Tensor:
    """He et al. (2015): N(0, std^2) with std = gain / sqrt(fan), gain = calculate_gain(nonlinearity, a).

    Raises:
        ValueError: ``mode`` is not ``'fan_in'`` or ``'fan_out'``; ``nonlinearity`` is not one of
            [`NONLINEARITIES`][minigrad.nn.init.NONLINEARITIES] (the messages list the accepted names); ``t`` has fewer
            than 2 dimensions.
        TypeError: ``t`` is not a floating-point tensor.
    """
    _check_tensor("kaiming_normal_", t)
    fan = _fan("kaiming_normal_", t, mode)
    gain = _gain("kaiming_normal_", nonlinearity, a)
    if t.numel() == 0:
        return t
    std = gain / math.sqrt(fan)
    return _set(t, t.backend.normal(0.0, std, t.shape, t.dtype))


# -- orthogonal ----------------------------------------------------------------
def orthogonal_(t: Tensor, gain: float = 1.0) -> Tensor:
    """Saxe et al. (2013): a (semi-)orthogonal matrix times ``gain``, often used for ``weight_hh``.

    ``t`` is viewed as ``(rows, cols) = (shape[0], numel / shape[0])``. A
    standard normal matrix is factored as Q R; multiplying Q's columns by the
    signs of R's diagonal makes Q uniformly distributed over orthogonal
    matrices. Then ``W W^T = gain^2 I`` when rows <= cols, else ``W^T W = gain^2 I``.
    The factorisation runs in float64 and is cast to ``t``'s dtype.
    """
    _check_tensor("orthogonal_", t)
    if t.ndim < 2:
        raise ValueError(f"orthogonal_: needs a tensor with at least 2 dimensions, got shape {t.shape}")
    if t.numel() == 0:
        return t
    xp = t.backend.xp
    rows = t.shape[0]
    cols = t.numel() // rows
    a = t.backend.normal(0.0, 1.0, (rows, cols), "float64")
    if rows < cols:
        a = a.T
    q, r = xp.linalg.qr(a)
    signs = xp.where(xp.diagonal(r) < 0, -1.0, 1.0)
    q = q * signs  # scales column j by sign(R_jj)
    if rows < cols:
        q = q.T
    return _set(t, q * gain)


__all__ = [
    "calculate_gain",
    "constant_",
    "glorot_normal_",
    "glorot_uniform_",
    "kaiming_normal_",
    "kaiming_uniform_",
    "normal_",
    "ones_",
    "orthogonal_",
    "uniform_",
    "xavier_normal_",
    "xavier_uniform_",
    "zeros_",
]
