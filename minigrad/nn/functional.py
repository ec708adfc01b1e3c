"""Compositions of primitive ops: softmax, losses, one-hot, dropout.

No backward code lives here: each function is a few tensor operations, so its
gradient comes from the primitives. Available as ``minigrad.nn.functional``
(conventionally ``import minigrad.nn.functional as F``).

Shape legend: N batch, C classes; ``...`` any leading dimensions.
"""

from __future__ import annotations

from typing import Any

from minigrad import ops
from minigrad.tensor import Tensor, _apply, _normalize_axis, where

REDUCTIONS = ("mean", "sum", "none")


def _reduce(loss: Tensor, reduction: str, op: str) -> Tensor:
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    if reduction == "none":
        return loss
    raise ValueError(f"{op}: reduction must be one of {REDUCTIONS}, got {reduction!r}")


def _check_same_shape(op: str, input: Tensor, target: Tensor) -> None:
    if input.shape != target.shape:
        raise ValueError(f"{op}: input shape {input.shape} and target shape {target.shape} differ")


def _along(op: str, x: Tensor, axis: int):
    """``(x, axis, undo)``: a 0-d ``x`` viewed as 1-D (PyTorch treats axis 0 and -1 of a 0-d tensor as itself)."""
    if x.ndim == 0:
        _normalize_axis(op, axis, 0)
        return x.reshape(1), 0, lambda y: y.reshape(())
    return x, _normalize_axis(op, axis, x.ndim)[0], lambda y: y


def logsumexp(x: Tensor, axis: int = -1, keepdims: bool = False) -> Tensor:
    """log(sum(exp(x))) over ``axis``: ``x (..., C, ...)`` -> the same shape without ``axis``.

    Computed as m + log1p(sum of the other exp(x - m)) with m the maximum, so no
    exp overflows and float32 keeps its relative precision. Infinite entries
    give PyTorch's values: a row of -inf gives -inf, a row with +inf gives +inf.
    The gradient is softmax(x).
    """
    x, ax, undo = _along("logsumexp", x, axis)
    out = _apply(ops.LogSumExp, x, axis=ax, keepdims=keepdims)
    return undo(out) if not keepdims else out.reshape(()) if undo(x).ndim == 0 else out


def log_softmax(x: Tensor, axis: int = -1) -> Tensor:
    """log(softmax(x)) along ``axis``, same shape as ``x``.

    Computed as (x - m) - log1p(sum of the other exp(x - m)) with m the row
    maximum: finite for any finite logits, exact in float32 for the winning
    class (x - logsumexp(x) would cancel two numbers of size |m|). A -inf entry
    (a masked score) gives -inf with a finite gradient, as in PyTorch.
    """
    x, ax, undo = _along("log_softmax", x, axis)
    return undo(_apply(ops.LogSoftmax, x, axis=ax))


def softmax(x: Tensor, axis: int = -1) -> Tensor:
    """exp(x_i) / sum_j exp(x_j) along ``axis``, shifted by the maximum for stability.

    A -inf entry (a masked score) gets probability 0 and a finite gradient; a
    row of -inf gives nan, as in PyTorch.
    """
    x, ax, undo = _along("softmax", x, axis)
    return undo(_apply(ops.Softmax, x, axis=ax))


def _as_index_tensor(op: str, target: Any, like: Tensor) -> Tensor:
    target = target if isinstance(target, Tensor) else Tensor(target, backend=like.backend)
    if target.dtype.kind not in "iu":
        raise TypeError(f"{op}: target must hold integer class indices, got dtype {target.dtype}")
    return target


def cross_entropy(
    logits: Tensor,
    target: Any,
    ignore_index: int | None = None,
    reduction: str = "mean",
    weight: Tensor | None = None,
) -> Tensor:
    """Softmax cross-entropy between ``logits (..., C)`` and class indices ``target (...)``.

    The class axis is the last one, so ``(N, T, V)`` outputs of a ``batch_first``
    recurrent layer need no transpose (PyTorch puts classes on axis 1).
    Positions whose target equals ``ignore_index`` (padding) contribute nothing,
    and the mean is taken over the other positions only.

    Args:
        weight: optional per-class weights ``(C,)``; the mean is then weighted
            (sum of w[t] * loss over sum of w[t], as in PyTorch).
    """
    return nll_loss(log_softmax(logits, axis=-1), target, ignore_index, reduction, weight)


def nll_loss(
    log_probs: Tensor,
    target: Any,
    ignore_index: int | None = None,
    reduction: str = "mean",
    weight: Tensor | None = None,
) -> Tensor:
    """Negative log-likelihood ``-log_probs[..., target]`` for ``log_probs (..., C)``, ``target (...)``."""
    target = _as_index_tensor("nll_loss", target, log_probs)
    if log_probs.ndim < 1 or log_probs.shape[:-1] != target.shape:
        raise ValueError(
            f"cross_entropy: logits {log_probs.shape} need target shape {log_probs.shape[:-1]} "
            f"(class axis last), got {target.shape}"
        )
    C = log_probs.shape[-1]
    t = target.data.reshape(-1)
    keep = None
    if ignore_index is not None:
        keep = t != ignore_index
        t = t * keep  # any valid index: the loss there is weighted by 0 below
    bad = (t < 0) | (t >= C)
    if bool(bad.any()):
        raise IndexError(f"cross_entropy: target values must be in [0, {C}), got {int(t[bad][0])}")
    rows = log_probs.backend.xp.arange(t.shape[0])
    nll = -log_probs.reshape(-1, C)[rows, t]
    w = None if weight is None else weight.data[t]
    if keep is not None:
        w = keep if w is None else w * keep
    if w is None:
        return _reduce(nll.reshape(target.shape) if reduction == "none" else nll, reduction, "cross_entropy")
    w = Tensor._wrap(w.astype(log_probs.dtype), log_probs.backend)
    nll = nll * w
    if reduction == "mean":
        return nll.sum() / w.sum()  # NaN when every position is ignored, as in PyTorch
    return _reduce(nll.reshape(target.shape) if reduction == "none" else nll, reduction, "cross_entropy")


def binary_cross_entropy_with_logits(
    logits: Tensor, target: Any, reduction: str = "mean", pos_weight: Any = None
) -> Tensor:
    """Binary cross-entropy on raw scores ``x`` with targets ``y`` in [0, 1], same shapes.

    loss = (1 - y) x + (1 + (p - 1) y) log(1 + e^-x), with ``p = pos_weight``
    (1 by default); log(1 + e^-x) is computed as m + log(e^-m + e^(-x-m)) with
    m = max(-x, 0) held constant, finite for any x and with the exact gradient
    -sigmoid(-x) everywhere (also at x = 0, where abs and relu have no derivative).
    """
    target = logits._lift(target)
    _check_same_shape("binary_cross_entropy_with_logits", logits, target)
    m = (-logits.detach()).relu()
    softplus_neg = ((-m).exp() + (-logits - m).exp()).log() + m
    weight = 1 if pos_weight is None else 1 + (logits._lift(pos_weight) - 1) * target
    loss = (1 - target) * logits + weight * softplus_neg
    return _reduce(loss, reduction, "binary_cross_entropy_with_logits")


def mse_loss(input: Tensor, target: Any, reduction: str = "mean") -> Tensor:
    """Mean squared error: mean((input - target)^2); shapes must match."""
    target = input._lift(target)
    _check_same_shape("mse_loss", input, target)
    return _reduce((input - target) ** 2, reduction, "mse_loss")


def one_hot(indices: Any, num_classes: int, dtype: Any = "float32") -> Tensor:
    """``indices (...)`` as one-hot vectors ``(..., num_classes)`` (a constant: no gradient)."""
    ref = indices if isinstance(indices, Tensor) else Tensor(indices)
    if ref.dtype.kind not in "iu":
        raise TypeError(f"one_hot: indices must be integers, got dtype {ref.dtype}")
    xp = ref.backend.xp
    if ref.numel() and (int(ref.data.min()) < 0 or int(ref.data.max()) >= num_classes):
        raise IndexError(
            f"one_hot: indices must be in [0, {num_classes}), got values in "
            f"[{int(ref.data.min())}, {int(ref.data.max())}]"
        )
    eye = xp.eye(num_classes, dtype=ref.backend.dtype(dtype))
    return Tensor._wrap(eye[ref.data], ref.backend)


def dropout(x: Tensor, p: float = 0.5, training: bool = True) -> Tensor:
    """Inverted dropout: zero each element with probability ``p``, scale the rest by 1/(1-p).

    Identity when not ``training`` or ``p == 0``; the mask comes from the
    backend's generator, so :func:`minigrad.manual_seed` makes it repeatable.
    """
    if not 0 <= p <= 1:
        raise ValueError(f"dropout: p must be in [0, 1], got {p}")
    if not training or p == 0:
        return x
    if p == 1:
        return x * 0.0
    keep = x.backend.rand(x.shape, x.dtype) >= p
    mask = Tensor._wrap(keep.astype(x.dtype) / (1 - p), x.backend)
    return x * mask


__all__ = [
    "binary_cross_entropy_with_logits",
    "cross_entropy",
    "dropout",
    "log_softmax",
    "logsumexp",
    "mse_loss",
    "nll_loss",
    "one_hot",
    "softmax",
    "where",
]
