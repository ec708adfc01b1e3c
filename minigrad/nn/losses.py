"""Loss functions as modules, thin wrappers over [`minigrad.nn.functional`][minigrad.nn.functional].

Shape legend: N batch, T time, C classes; ``...`` any leading dimensions.

``reduction`` is one of ``'mean'`` (default), ``'sum'`` or ``'none'`` and is
checked when the module is built.
"""

from __future__ import annotations

from typing import Any

from backends.choices import did_you_mean
from minigrad.backend import backend_of
from minigrad.nn import functional as F
from minigrad.nn.module import Module
from minigrad.tensor import Tensor


def _check_reduction(loss: str, reduction: Any, valid: tuple = F.REDUCTIONS) -> str:
    if reduction not in valid:
        raise ValueError(f"{loss}: reduction must be one of {valid}, got {reduction!r}"
                         + did_you_mean(reduction, valid))
    return reduction


def _as_tensor_like(loss: str, value: Any, like: Tensor) -> Tensor:
    """``value`` as a tensor on ``like``'s backend (arrays and lists take ``like``'s dtype)."""
    if isinstance(value, Tensor):
        backend_of(loss, (like, value))
        return value
    return Tensor(value, dtype=like.dtype, backend=like.backend)


class MSELoss(Module):
    """Mean squared error ``(input - target)^2``, reduced; ``input`` and ``target`` have the same shape."""

    def __init__(self, reduction: str = "mean") -> None:
        super().__init__()
        self.reduction = _check_reduction("MSELoss", reduction)

    def forward(self, input: Tensor, target: Any) -> Tensor:
        return F.mse_loss(input, target, reduction=self.reduction)

    def extra_repr(self) -> str:
        return f"reduction={self.reduction!r}"


class BCEWithLogitsLoss(Module):
    """Binary cross-entropy on raw scores (a sigmoid folded in, numerically stable).

    loss = -w [p y log s(x) + (1 - y) log(1 - s(x))], with s the sigmoid.

    Args:
        weight: optional rescaling of each element's loss, broadcast to the
            input's shape (the mean stays a plain mean over elements, as in PyTorch).
        reduction: ``'mean'``, ``'sum'`` or ``'none'``.
        pos_weight: optional weight ``p`` of the positive term, broadcast over
            the last axis (e.g. ``(C,)`` for C independent labels).

    Shapes:
        logits ``(...)``, target ``(...)`` of probabilities in [0, 1].
    """

    def __init__(self, weight: Any = None, reduction: str = "mean", pos_weight: Any = None) -> None:
        super().__init__()
        self.weight = weight
        self.reduction = _check_reduction("BCEWithLogitsLoss", reduction)
        self.pos_weight = pos_weight

    def forward(self, logits: Tensor, target: Any) -> Tensor:
        pos_weight = None if self.pos_weight is None else _as_tensor_like("BCEWithLogitsLoss", self.pos_weight, logits)
        weight = None if self.weight is None else _as_tensor_like("BCEWithLogitsLoss", self.weight, logits)
        return F.binary_cross_entropy_with_logits(logits, target, self.reduction, pos_weight, weight)

    def extra_repr(self) -> str:
        return f"reduction={self.reduction!r}"


class CrossEntropyLoss(Module):
    """Softmax cross-entropy between logits and integer class targets, **class axis last**.

    Logits ``(..., C)`` pair with targets ``(...)``: ``(N, C)`` with ``(N,)``
    and ``(N, T, C)`` with ``(N, T)``, the output of a ``batch_first``
    recurrent layer with no transpose. (PyTorch puts the classes on axis 1,
    ``(N, C, T)``; move them with ``logits.transpose(0, 2, 1)`` when porting.)

    Args:
        weight: optional per-class weights ``(C,)``; the mean is then weighted:
            sum(w[t] * loss) / sum(w[t]).
        ignore_index: a target value that contributes no loss or gradient (e.g.
            padding); the mean is over the other positions. The default is
            None (ignore nothing), unlike PyTorch's -100: a target of -100 is
            then an error rather than silently skipped. Pass
            ``ignore_index=-100`` to get PyTorch's behaviour.
        reduction: ``'mean'``, ``'sum'`` or ``'none'``.
    """

    def __init__(self, weight: Any = None, ignore_index: int | None = None, reduction: str = "mean") -> None:
        super().__init__()
        if ignore_index is not None and (isinstance(ignore_index, bool) or not isinstance(ignore_index, int)):
            raise ValueError(f"CrossEntropyLoss: ignore_index must be an int or None, got {ignore_index!r}")
        self.weight = weight
        self.ignore_index = ignore_index
        self.reduction = _check_reduction("CrossEntropyLoss", reduction)

    def forward(self, logits: Tensor, target: Any) -> Tensor:
        weight = None if self.weight is None else _as_tensor_like("CrossEntropyLoss", self.weight, logits)
        return F.cross_entropy(logits, target, ignore_index=self.ignore_index, reduction=self.reduction, weight=weight)

    def extra_repr(self) -> str:
        parts = [] if self.ignore_index is None else [f"ignore_index={self.ignore_index}"]
        return ", ".join(parts + [f"reduction={self.reduction!r}"])


def _check_real(loss: str, name: str, value: Any, minimum: float, strict: bool) -> float:
    """``value`` as a float, checked to be > ``minimum`` (``strict``) or >= it."""
    ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    ok = ok and (value > minimum if strict else value >= minimum)
    if not ok:
        raise ValueError(f"{loss}: {name} must be a number {'>' if strict else '>='} {minimum}, got {value!r}")
    return float(value)


class BCELoss(Module):
    """Binary cross-entropy on probabilities, ``-w [y log p + (1 - y) log(1 - p)]``, reduced.

    Each log is clamped at -100 as in PyTorch, so p exactly 0 or 1 gives a
    finite loss and gradient; see `minigrad.nn.functional.binary_cross_entropy`.
    Prefer [`BCEWithLogitsLoss`][minigrad.nn.BCEWithLogitsLoss] on raw scores.

    Args:
        weight: optional rescaling of each element's loss, broadcast to the
            input's shape (the mean stays a plain mean over elements, as in PyTorch).
        reduction: ``'mean'``, ``'sum'`` or ``'none'``.

    Shapes:
        input ``(...)`` of probabilities in [0, 1], target ``(...)`` in [0, 1].
    """

    def __init__(self, weight: Any = None, reduction: str = "mean") -> None:
        super().__init__()
        self.weight = weight
        self.reduction = _check_reduction("BCELoss", reduction)

    def forward(self, input: Tensor, target: Any) -> Tensor:
        weight = None if self.weight is None else _as_tensor_like("BCELoss", self.weight, input)
        return F.binary_cross_entropy(input, target, weight=weight, reduction=self.reduction)

    def extra_repr(self) -> str:
        return f"reduction={self.reduction!r}"


class L1Loss(Module):
    """Mean absolute error ``|input - target|``, reduced; ``input`` and ``target`` have the same shape."""

    def __init__(self, reduction: str = "mean") -> None:
        super().__init__()
        self.reduction = _check_reduction("L1Loss", reduction)

    def forward(self, input: Tensor, target: Any) -> Tensor:
        return F.l1_loss(input, target, reduction=self.reduction)

    def extra_repr(self) -> str:
        return f"reduction={self.reduction!r}"


class SmoothL1Loss(Module):
    """Smooth L1 loss: ``0.5 d^2 / beta`` where ``|d| < beta``, else ``|d| - 0.5 beta``, d = input - target.

    See `minigrad.nn.functional.smooth_l1_loss`.

    Args:
        reduction: ``'mean'``, ``'sum'`` or ``'none'``.
        beta: where the loss turns from quadratic to linear, >= 0 (0 gives [`L1Loss`][minigrad.nn.L1Loss]).

    Raises:
        ValueError: an unknown ``reduction`` or a negative ``beta``.
    """

    def __init__(self, reduction: str = "mean", beta: float = 1.0) -> None:
        super().__init__()
        self.reduction = _check_reduction("SmoothL1Loss", reduction)
        self.beta = _check_real("SmoothL1Loss", "beta", beta, 0.0, strict=False)

    def forward(self, input: Tensor, target: Any) -> Tensor:
        return F.smooth_l1_loss(input, target, reduction=self.reduction, beta=self.beta)

    def extra_repr(self) -> str:
        return f"reduction={self.reduction!r}, beta={self.beta}"


class HuberLoss(Module):
    """Huber loss: ``0.5 d^2`` where ``|d| < delta``, else ``delta (|d| - 0.5 delta)``, d = input - target.

    See `minigrad.nn.functional.huber_loss`.

    Args:
        reduction: ``'mean'``, ``'sum'`` or ``'none'``.
        delta: where the loss turns from quadratic to linear, > 0.

    Raises:
        ValueError: an unknown ``reduction`` or a ``delta`` that is not positive.
    """

    def __init__(self, reduction: str = "mean", delta: float = 1.0) -> None:
        super().__init__()
        self.reduction = _check_reduction("HuberLoss", reduction)
        self.delta = _check_real("HuberLoss", "delta", delta, 0.0, strict=True)

    def forward(self, input: Tensor, target: Any) -> Tensor:
        return F.huber_loss(input, target, reduction=self.reduction, delta=self.delta)

    def extra_repr(self) -> str:
        return f"reduction={self.reduction!r}, delta={self.delta}"


class KLDivLoss(Module):
    """Kullback-Leibler divergence ``y (log y - x)`` between targets y and log-probabilities x.

    Use ``reduction='batchmean'`` for the KL divergence per sample; ``'mean'``
    (the default, as in PyTorch) also divides by the number of classes. See
    `minigrad.nn.functional.kl_div`.

    Args:
        reduction: ``'mean'``, ``'batchmean'``, ``'sum'`` or ``'none'``.
        log_target: the targets are log-probabilities.

    Shapes:
        input ``(N, ...)`` log-probabilities, target the same shape.

    Raises:
        ValueError: an unknown ``reduction`` (the message lists the valid ones).
    """

    def __init__(self, reduction: str = "mean", log_target: bool = False) -> None:
        super().__init__()
        self.reduction = _check_reduction("KLDivLoss", reduction, F.KL_REDUCTIONS)
        self.log_target = bool(log_target)

    def forward(self, input: Tensor, target: Any) -> Tensor:
        return F.kl_div(input, target, reduction=self.reduction, log_target=self.log_target)

    def extra_repr(self) -> str:
        return f"reduction={self.reduction!r}, log_target={self.log_target}"


__all__ = [
    "BCELoss", "BCEWithLogitsLoss", "CrossEntropyLoss", "HuberLoss", "KLDivLoss", "L1Loss", "MSELoss", "SmoothL1Loss",
]
