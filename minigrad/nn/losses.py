"""Loss functions as modules, thin wrappers over :mod:`minigrad.nn.functional`.

Shape legend: N batch, T time, C classes; ``...`` any leading dimensions.

``reduction`` is one of ``'mean'`` (default), ``'sum'`` or ``'none'`` and is
checked when the module is built.
"""

from __future__ import annotations

from typing import Any

from minigrad.backend import backend_of
from minigrad.nn import functional as F
from minigrad.nn.module import Module
from minigrad.tensor import Tensor


def _check_reduction(loss: str, reduction: Any) -> str:
    if reduction not in F.REDUCTIONS:
        raise ValueError(f"{loss}: reduction must be one of {F.REDUCTIONS}, got {reduction!r}")
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
        pos_weight = None
        if self.pos_weight is not None:
            pos_weight = _as_tensor_like("BCEWithLogitsLoss", self.pos_weight, logits)
        if self.weight is None:
            return F.binary_cross_entropy_with_logits(logits, target, self.reduction, pos_weight)
        loss = F.binary_cross_entropy_with_logits(logits, target, "none", pos_weight)
        loss = loss * _as_tensor_like("BCEWithLogitsLoss", self.weight, logits)
        return F._reduce(loss, self.reduction, "binary_cross_entropy_with_logits")

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
        weight = None
        if self.weight is not None:
            weight = _as_tensor_like("CrossEntropyLoss", self.weight, logits)
            if logits.ndim and weight.shape != (logits.shape[-1],):
                raise ValueError(
                    f"CrossEntropyLoss: weight must have shape (C,) = ({logits.shape[-1]},) for logits "
                    f"{logits.shape}, got {weight.shape}"
                )
        return F.cross_entropy(logits, target, ignore_index=self.ignore_index, reduction=self.reduction, weight=weight)

    def extra_repr(self) -> str:
        parts = [] if self.ignore_index is None else [f"ignore_index={self.ignore_index}"]
        return ", ".join(parts + [f"reduction={self.reduction!r}"])


__all__ = ["BCEWithLogitsLoss", "CrossEntropyLoss", "MSELoss"]
