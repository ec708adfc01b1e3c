"""Compositions of primitive ops: softmax, losses, one-hot, dropout.

No backward code lives here: each function is a few tensor operations, so its
gradient comes from the primitives. Available as ``minigrad.nn.functional``
(conventionally ``import minigrad.nn.functional as F``).

Shape legend: N batch, C classes; ``...`` any leading dimensions.

Every function raises a TypeError when its first argument is not a Tensor
(naming the function and the argument; a tuple such as a recurrent layer's
``(output, h_n)`` gets a hint to take its output), and every loss when its
``target`` is a tuple of tensors.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from backends.choices import did_you_mean
from minigrad import ops
from minigrad.backend import backend_of
from minigrad.tensor import Tensor, _apply, _normalize_axis, check_float_input, check_input, concat, promote, where

REDUCTIONS = ("mean", "sum", "none")


def _reduce(loss: Tensor, reduction: str, op: str) -> Tensor:
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    if reduction == "none":
        return loss
    raise ValueError(f"{op}: reduction must be one of {REDUCTIONS}, got {reduction!r}")


def _check_target(op: str, target: Any) -> None:
    """Raise a TypeError for a tuple of tensors given as ``target`` (a recurrent layer's ``(output, h_n)``)."""
    if isinstance(target, tuple) and any(isinstance(t, (Tensor, tuple)) for t in target):
        raise TypeError(f"{op}: target must be a Tensor or array, got a tuple of tensors")


def _check_same_shape(op: str, input: Tensor, target: Tensor) -> None:
    if input.shape != target.shape:
        raise ValueError(f"{op}: input shape {input.shape} and target shape {target.shape} differ")


def linear(x: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """The affine map y = x W^T + b, as in PyTorch: ``x (..., I)``, ``weight (O, I)``, ``bias (O,)`` -> ``(..., O)``.

    One op (one output array), so the graph keeps only ``x`` and ``W`` for backward.

    Raises:
        TypeError: ``x`` or ``weight`` is not a Tensor, or ``x`` is a bool or integer tensor.
        ValueError: the shapes do not fit (naming them).
    """
    x = check_input("linear", x, "x")
    weight = check_input("linear", weight, "weight")
    check_float_input("linear", x, "x")
    if x.ndim == 0 or weight.ndim != 2 or x.shape[-1] != weight.shape[1]:
        raise ValueError(f"linear: input {x.shape} and weight {weight.shape} do not fit (need (..., I) and (O, I))")
    if bias is not None and bias.shape != (weight.shape[0],):
        raise ValueError(f"linear: bias must have shape ({weight.shape[0]},), got {bias.shape}")
    x, weight = promote("linear", x, weight)
    if bias is None:
        return _apply(ops.Linear, x, weight)
    return _apply(ops.Linear, x, weight, bias._as_dtype(x.dtype))


def _along(op: str, x: Tensor, axis: int):
    """``(x, axis, undo)`` for the softmax family: ``x`` as floating point (bool and integer tensors
    become float32), a 0-d ``x`` viewed as 1-D (PyTorch: axis 0 and -1 of a 0-d tensor are itself)."""
    x = x._floating()
    if isinstance(axis, (tuple, list)):
        raise TypeError(f"{op}: axis must be an int, got {axis!r}")
    if x.ndim == 0:
        _normalize_axis(op, axis, 0)
        return x.reshape(1), 0, lambda y: y.reshape(())
    return x, _normalize_axis(op, axis, x.ndim)[0], lambda y: y


def logsumexp(x: Tensor, axis: int | Sequence[int] = -1, keepdims: bool = False) -> Tensor:
    """log(sum(exp(x))) over ``axis`` (an int or a tuple of ints, as in PyTorch), removed unless ``keepdims``.

    Computed as m + log1p(sum of the other exp(x - m)) with m the maximum, so no
    exp overflows and float32 keeps its relative precision. Infinite entries
    give PyTorch's values: a row of -inf gives -inf, a row with +inf gives +inf,
    and an empty axis gives -inf. The gradient is softmax(x).

    Raises:
        ValueError: an axis is out of range or repeated.
    """
    x = check_input("logsumexp", x, "x")
    if isinstance(axis, (tuple, list)):  # several axes: moved to the end and merged into one
        x = x._floating()
        axes = _normalize_axis("logsumexp", axis, x.ndim) or ()
        rest = [a for a in range(x.ndim) if a not in axes]
        merged = x.transpose(rest + list(axes)).reshape(tuple(x.shape[a] for a in rest) + (-1,))
        out = logsumexp(merged, -1)
        if keepdims:
            out = out.reshape(tuple(1 if a in axes else n for a, n in enumerate(x.shape)))
        return out
    x, ax, undo = _along("logsumexp", x, axis)
    if x.shape[ax] == 0:  # the log of an empty sum
        return x.sum(axis=ax, keepdims=keepdims) + float("-inf")
    out = _apply(ops.LogSumExp, x, axis=ax, keepdims=keepdims)
    return undo(out) if not keepdims else out.reshape(()) if undo(x).ndim == 0 else out


def log_softmax(x: Tensor, axis: int = -1) -> Tensor:
    """log(softmax(x)) along ``axis``, same shape as ``x``.

    Computed as (x - m) - log1p(sum of the other exp(x - m)) with m the row
    maximum: finite for any finite logits, exact in float32 for the winning
    class (x - logsumexp(x) would cancel two numbers of size |m|). A -inf entry
    (a masked score) gives -inf with a finite gradient, as in PyTorch.
    """
    x = check_input("log_softmax", x, "x")
    x, ax, undo = _along("log_softmax", x, axis)
    if x.shape[ax] == 0:
        return undo(x * 1.0)
    return undo(_apply(ops.LogSoftmax, x, axis=ax))


def softmax(x: Tensor, axis: int = -1) -> Tensor:
    """exp(x_i) / sum_j exp(x_j) along ``axis``, shifted by the maximum for stability.

    A -inf entry (a masked score) gets probability 0 and a finite gradient; a
    row of -inf gives nan, as in PyTorch.
    """
    x = check_input("softmax", x, "x")
    x, ax, undo = _along("softmax", x, axis)
    if x.shape[ax] == 0:
        return undo(x * 1.0)
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
    logits = check_input("cross_entropy", logits, "logits")
    _check_target("cross_entropy", target)
    return _nll(log_softmax(logits, axis=-1), target, ignore_index, reduction, weight, op="cross_entropy")


def nll_loss(
    log_probs: Tensor,
    target: Any,
    ignore_index: int | None = None,
    reduction: str = "mean",
    weight: Tensor | None = None,
) -> Tensor:
    """Negative log-likelihood ``-log_probs[..., target]`` for ``log_probs (..., C)``, ``target (...)``."""
    log_probs = check_input("nll_loss", log_probs, "log_probs")
    _check_target("nll_loss", target)
    return _nll(log_probs, target, ignore_index, reduction, weight, op="nll_loss")


def _nll(log_probs: Tensor, target: Any, ignore_index: Any, reduction: str, weight: Any, op: str) -> Tensor:
    """The loss of `nll_loss`; ``op`` is the function the user called, for error messages."""
    target = _as_index_tensor(op, target, log_probs)
    if log_probs.ndim < 1 or log_probs.shape[:-1] != target.shape:
        raise ValueError(
            f"{op}: {'logits' if op == 'cross_entropy' else 'log_probs'} {log_probs.shape} need target shape "
            f"{log_probs.shape[:-1]} (class axis last), got {target.shape}"
        )
    C = log_probs.shape[-1]
    if weight is not None:  # checked here, so the functions and the modules refuse the same weights
        if isinstance(weight, Tensor):
            backend_of(op, (log_probs, weight))
        else:
            weight = Tensor(weight, dtype=log_probs.dtype, backend=log_probs.backend)
        if weight.shape != (C,):
            raise ValueError(f"{op}: weight must have shape (C,) = ({C},), one per class of "
                             f"{'logits' if op == 'cross_entropy' else 'log_probs'} {log_probs.shape}, "
                             f"got {weight.shape}")
    t = target.data.reshape(-1)
    keep = None
    if ignore_index is not None:
        keep = t != ignore_index
        t = t * keep  # any valid index: the loss there is weighted by 0 below
    bad = (t < 0) | (t >= C)
    if bool(bad.any()):
        raise IndexError(f"{op}: target values must be in [0, {C}), got {int(t[bad][0])}")
    rows = log_probs.backend.xp.arange(t.shape[0])
    nll = -log_probs.reshape(-1, C)[rows, t]
    w = None if weight is None else weight.data[t]
    if keep is not None:
        nll = where(keep, nll, 0.0)  # an ignored position adds nothing, even where its scores are inf or nan
        w = keep if w is None else w * keep
    if w is None:
        return _reduce(nll.reshape(target.shape) if reduction == "none" else nll, reduction, op)
    w = Tensor._wrap(w.astype(log_probs.dtype), log_probs.backend)
    nll = nll * w
    if reduction == "mean":  # nan when every position is ignored, as in PyTorch, with a zero gradient
        xp = log_probs.backend.xp
        total = w.data.sum()
        none = total == 0
        denominator = Tensor._wrap(xp.where(none, 1, total).astype(w.dtype), log_probs.backend)
        nan_if_none = Tensor._wrap(xp.where(none, xp.nan, 0).astype(w.dtype), log_probs.backend)
        return nll.sum() / denominator + nan_if_none
    return _reduce(nll.reshape(target.shape) if reduction == "none" else nll, reduction, op)


def binary_cross_entropy_with_logits(
    logits: Tensor, target: Any, reduction: str = "mean", pos_weight: Any = None, weight: Any = None
) -> Tensor:
    """Binary cross-entropy on raw scores ``x`` with targets ``y`` in [0, 1], same shapes.

    loss = p y softplus(-x) + (1 - y) softplus(x), with ``p = pos_weight`` (1
    by default), which is -[p y log sigmoid(x) + (1 - y) log(1 - sigmoid(x))]
    written without a sigmoid: softplus(t) = log(1 + e^t) is finite for any t
    and keeps float32's relative precision (the loss of a confident right
    answer, ~e^-|x|, does not round to 0). The gradient is
    (1 - y) sigmoid(x) - p y sigmoid(-x), exact everywhere. ``weight``, broadcast
    to the input's shape, rescales each element's loss (the mean stays a plain
    mean over elements), as in PyTorch.

    Raises:
        ValueError: the shapes differ, or ``reduction`` is unknown.
    """
    logits = check_input("binary_cross_entropy_with_logits", logits, "logits")
    _check_target("binary_cross_entropy_with_logits", target)
    target = logits._lift(target)._as_dtype(logits.dtype)
    _check_same_shape("binary_cross_entropy_with_logits", logits, target)
    positive = target if pos_weight is None else logits._lift(pos_weight) * target
    loss = (1 - target) * _apply(ops.Softplus, logits) + positive * _apply(ops.Softplus, -logits)
    if weight is not None:
        loss = loss * logits._lift(weight)
    return _reduce(loss, reduction, "binary_cross_entropy_with_logits")


def mse_loss(input: Tensor, target: Any, reduction: str = "mean") -> Tensor:
    """Mean squared error: mean((input - target)^2); shapes must match."""
    input = check_input("mse_loss", input, "input")
    _check_target("mse_loss", target)
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
    backend's generator, so [`minigrad.manual_seed`][minigrad.manual_seed] makes it repeatable.
    """
    x = check_input("dropout", x, "x")
    if not 0 <= p <= 1:
        raise ValueError(f"dropout: p must be in [0, 1], got {p}")
    if not training or p == 0:
        return x
    if p == 1:
        return x * 0.0
    keep = x.backend.rand(x.shape, x.dtype) >= p
    mask = Tensor._wrap(keep.astype(x.dtype) / (1 - p), x.backend)
    return x * mask


PAD_MODES = ("constant", "reflect", "replicate", "circular")


def pad(input: Tensor, pad: tuple[int, ...] | list[int], mode: str = "constant", value: float | None = None) -> Tensor:
    """Pad (or, with negative amounts, crop) the last axes of ``input``, as ``torch.nn.functional.pad``.

    ``pad`` lists (before, after) amounts from the last axis backwards:
    ``(left, right)`` pads the last axis, ``(left, right, top, bottom)`` the
    last two. ``x (N, T, F)``, ``pad(x, (0, 0, 2, 0))`` adds two steps of
    zeros before each sequence: ``(N, T + 2, F)``.

    Modes: ``"constant"`` fills with ``value`` (0 by default); ``"reflect"``
    mirrors without repeating the edge (``[1, 2, 3]`` padded by 2 on the left
    gives ``[3, 2, 1, 2, 3]``); ``"replicate"`` repeats the edge;
    ``"circular"`` wraps around. Unlike PyTorch, every mode pads any number of
    axes of a tensor of any number of dimensions. Gradients flow to the kept
    elements (for the copying modes, summed over their copies).

    Raises:
        ValueError: an odd-length ``pad``, more pairs than dimensions, a
            negative resulting size, an unknown ``mode``, a ``value`` with a
            copying mode, or a reflect/circular pad too large for its axis.
    """
    input = check_input("pad", input, "input")
    amounts = tuple(int(p) for p in pad)
    if len(amounts) % 2:
        raise ValueError(f"pad: the pad tuple needs (before, after) pairs, got odd length {len(amounts)}: {amounts}")
    if len(amounts) // 2 > input.ndim:
        raise ValueError(f"pad: {amounts} pads {len(amounts) // 2} axes, but the input has shape {input.shape}")
    if mode not in PAD_MODES:
        raise ValueError(f"pad: mode must be one of {PAD_MODES}, got {mode!r}")
    if mode != "constant" and value is not None:
        raise ValueError(f"pad: mode {mode!r} takes no value (got {value!r})")
    pairs = {input.ndim - 1 - i: (amounts[2 * i], amounts[2 * i + 1]) for i in range(len(amounts) // 2)}
    for axis, (before, after) in pairs.items():
        if input.shape[axis] + before + after < 0:
            raise ValueError(
                f"pad: ({before}, {after}) on axis {axis} of shape {input.shape} "
                f"leaves {input.shape[axis] + before + after} elements"
            )
    if mode == "constant":
        return _pad_constant(input, pairs, 0 if value is None else value)
    out, xp = input, input.backend.xp
    for axis, (before, after) in pairs.items():  # copying modes: pick a source position for each output position
        n = input.shape[axis]
        if before == after == 0:
            continue
        j = xp.arange(-before, n + after)
        if mode == "replicate":
            if n == 0:
                raise ValueError(f"pad: replicate needs a non-empty axis {axis}, got shape {input.shape}")
            j = xp.clip(j, 0, n - 1)
        elif mode == "reflect":
            if max(before, after) >= n:
                raise ValueError(
                    f"pad: reflect amounts ({before}, {after}) must be less than the size {n} of axis {axis} "
                    f"of shape {input.shape}"
                )
            j = xp.abs(j)
            j = xp.where(j > n - 1, 2 * (n - 1) - j, j)
        else:  # PyTorch crops first, then wraps around what is left
            lo, m = max(-before, 0), n + min(before, 0) + min(after, 0)
            if max(before, after) > m:
                raise ValueError(
                    f"pad: circular amounts ({before}, {after}) can be at most the size {m} of axis {axis} "
                    f"of shape {input.shape} (after cropping)"
                )
            j = lo + xp.arange(-max(before, 0), m + max(after, 0)) % max(m, 1)
        out = out[(slice(None),) * axis + (j,)]
    return out


def _pad_constant(x: Tensor, pairs: dict, value: float) -> Tensor:
    """Crop the negative amounts of ``pairs`` (axis: (before, after)), then join blocks of ``value``."""
    if any(min(p) < 0 for p in pairs.values()):
        keep = [slice(None)] * x.ndim
        for axis, (before, after) in pairs.items():
            keep[axis] = slice(max(-before, 0), x.shape[axis] - max(-after, 0))
        x = x[tuple(keep)]
    for axis, (before, after) in pairs.items():
        if before > 0 or after > 0:
            blocks = []
            for k in (before, after):
                shape = x.shape[:axis] + (max(k, 0),) + x.shape[axis + 1 :]
                blocks.append(Tensor._wrap(x.backend.xp.full(shape, value, dtype=x.dtype), x.backend))
            x = concat([blocks[0], x, blocks[1]], axis)
    return x


# ---------------------------------------------------------------------------
# activations: thin calls of the primitives in minigrad.ops.activation
# ---------------------------------------------------------------------------
GELU_APPROXIMATIONS = ("none", "tanh")


def softplus(x: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """Softplus, a smooth ReLU: (1/beta) log(1 + exp(beta x)), and x where beta x > threshold.

    Computed as::

        softplus(x) = max(x, 0) + log1p(exp(-|x|)),    d/dx = sigmoid(x)

    which keeps full relative precision in float32 for every x (the value is
    e^x for very negative x, where log(1 + e^x) would round to 0).

    With the defaults (``beta=1, threshold=20``) this is one primitive op,
    `Softplus`, and the threshold is not applied: beyond
    x = 20 the exact value exceeds PyTorch's ``x`` by less than 2.1e-9, which
    float32 cannot represent there (the results are equal) and which is below
    1e-10 relative in float64. Other values follow PyTorch exactly: ``x``
    where ``beta * x > threshold``, else ``softplus(beta * x) / beta``.

    Args:
        x: input ``(...)``.
        beta: the sharpness, nonzero; a negative beta mirrors the curve, as in PyTorch.
        threshold: where ``beta * x`` exceeds it, the result is ``x`` itself.

    Returns:
        A tensor of ``x``'s shape and dtype.

    Raises:
        ValueError: ``beta`` is 0 (PyTorch returns inf there).
    """
    x = check_input("softplus", x, "x")
    x = x._floating()  # bool and integer tensors become float32, as for every float-only function
    if beta == 1 and threshold == 20:
        return _apply(ops.Softplus, x)
    if beta == 0:
        raise ValueError("softplus: beta must be nonzero, got 0")
    bx = x * beta
    return where(bx > threshold, x, _apply(ops.Softplus, bx) / beta)


def log_sigmoid(x: Tensor) -> Tensor:
    """log(sigmoid(x)) = -softplus(-x), PyTorch's ``F.logsigmoid`` (also available under that name).

    Computed as::

        log_sigmoid(x) = min(x, 0) - log1p(exp(-|x|)),    d/dx = sigmoid(-x)

    one primitive op (`LogSigmoid`) with full relative
    precision in float32 for every x (the value is -e^-x for large x).

    Args:
        x: input ``(...)``; the result has its shape and dtype.
    """
    x = check_input("log_sigmoid", x, "x")
    return _apply(ops.LogSigmoid, x._floating())


logsigmoid = log_sigmoid  # PyTorch's spelling


def leaky_relu(x: Tensor, negative_slope: float = 0.01) -> Tensor:
    """x where x > 0, ``negative_slope * x`` elsewhere.

    The derivative is 1 where x > 0 and ``negative_slope`` elsewhere, including
    x = 0 (PyTorch's choice).

    Args:
        x: input ``(...)``; the result has its shape and dtype.
        negative_slope: the slope for x <= 0.
    """
    x = check_input("leaky_relu", x, "x")
    return _apply(ops.LeakyRelu, x._floating(), negative_slope=negative_slope)


def elu(x: Tensor, alpha: float = 1.0) -> Tensor:
    """Exponential linear unit: x where x > 0, ``alpha * (exp(x) - 1)`` elsewhere.

    The negative branch uses expm1, exact for x near 0. The derivative is 1
    where x > 0 and ``alpha * exp(x)`` elsewhere, ``alpha`` at x = 0 (as in PyTorch).

    Args:
        x: input ``(...)``; the result has its shape and dtype.
        alpha: the value approached as x -> -inf is ``-alpha``.
    """
    x = check_input("elu", x, "x")
    return _apply(ops.Elu, x._floating(), alpha=alpha)


def gelu(x: Tensor, approximate: str = "none") -> Tensor:
    """Gaussian error linear unit: x Phi(x), Phi the standard normal CDF.

    ::

        gelu(x) = x Phi(x) = x erfc(-x / sqrt 2) / 2,          d/dx = Phi(x) + x phi(x)
        approximate="tanh":  x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) / 2

    Both are computed without the ``1 + erf`` or ``1 + tanh`` of the textbook
    forms, so negative x keep their relative precision in float32; erfc is
    W. J. Cody's rational approximation (`minigrad.ops.activation.erfc`).
    The derivative at x = +-inf is 1 and 0 (PyTorch: nan, from inf * 0).

    Args:
        x: input ``(...)``; the result has its shape and dtype.
        approximate: ``"none"`` (exact, PyTorch's default) or ``"tanh"``.

    Raises:
        ValueError: ``approximate`` is neither ``"none"`` nor ``"tanh"``.
    """
    x = check_input("gelu", x, "x")
    if approximate not in GELU_APPROXIMATIONS:
        raise ValueError(f"gelu: approximate must be one of {GELU_APPROXIMATIONS}, got {approximate!r}"
                         + did_you_mean(approximate, GELU_APPROXIMATIONS))
    return _apply(ops.Gelu, x._floating(), approximate=approximate)


def relu(x: Tensor) -> Tensor:
    """max(x, 0), elementwise (PyTorch's ``F.relu``); the derivative at 0 is 0.

    Args:
        x: input ``(...)``; the result has its shape and dtype.

    Raises:
        TypeError: ``x`` is not a Tensor.
    """
    x = check_input("relu", x, "x")
    return x.relu()


def tanh(x: Tensor) -> Tensor:
    """tanh(x), elementwise (PyTorch's ``F.tanh``); bool and integer tensors become float32.

    Args:
        x: input ``(...)``; the result has its shape.

    Raises:
        TypeError: ``x`` is not a Tensor.
    """
    x = check_input("tanh", x, "x")
    return x.tanh()


def sigmoid(x: Tensor) -> Tensor:
    """1 / (1 + exp(-x)), elementwise (PyTorch's ``F.sigmoid``); bool and integer tensors become float32.

    Args:
        x: input ``(...)``; the result has its shape.

    Raises:
        TypeError: ``x`` is not a Tensor.
    """
    x = check_input("sigmoid", x, "x")
    return x.sigmoid()


# ---------------------------------------------------------------------------
# more losses (PyTorch's names, arguments and reductions)
# ---------------------------------------------------------------------------
KL_REDUCTIONS = ("mean", "batchmean", "sum", "none")


def _like(value: Any, input: Tensor) -> Tensor:
    """``value`` as a tensor on ``input``'s backend: arrays, lists and numbers take ``input``'s dtype."""
    if isinstance(value, Tensor):
        return value
    return Tensor(value, dtype=input.dtype, backend=input.backend)


def _check_probabilities(op: str, name: str, t: Tensor) -> None:
    bad = ~((t.data >= 0) & (t.data <= 1))  # nan is outside too, as in PyTorch
    if bool(bad.any()):
        raise ValueError(f"{op}: all elements of {name} should be between 0 and 1, got {float(t.data[bad][0])!r}")


def binary_cross_entropy(input: Tensor, target: Any, weight: Any = None, reduction: str = "mean") -> Tensor:
    """Binary cross-entropy between probabilities ``p = input`` and targets ``y`` in [0, 1]::

        loss = -w [y log p + (1 - y) log(1 - p)]

    As in PyTorch each log is clamped at -100, so p exactly 0 or 1 gives a
    finite loss (100 per element that is confidently wrong), and the gradient
    is PyTorch's ``(p - y) / max(p (1 - p), 1e-12)``: finite at p = 0 and 1
    (e.g. -1e12 at p = 0, y = 1). The target's gradient is
    ``log(1 - p) - log(p)``, infinite at p = 0 and 1 as in PyTorch. One
    primitive op, `BinaryCrossEntropy`. For raw scores use
    `binary_cross_entropy_with_logits`, which needs no clamp.

    Args:
        input: probabilities ``(...)``.
        target: ``(...)``, the same shape, values in [0, 1] (numbers and
            arrays take ``input``'s dtype).
        weight: optional rescaling of each element's loss, broadcast to
            ``input``'s shape; the mean stays a plain mean over elements, as in PyTorch.
        reduction: ``'mean'``, ``'sum'`` or ``'none'``.

    Raises:
        ValueError: the shapes differ, an element of ``input`` or ``target`` is
            outside [0, 1] (or nan), or ``reduction`` is unknown.
    """
    input = check_input("binary_cross_entropy", input, "input")
    _check_target("binary_cross_entropy", target)
    target = _like(target, input)
    _check_same_shape("binary_cross_entropy", input, target)
    _check_probabilities("binary_cross_entropy", "input", input)
    _check_probabilities("binary_cross_entropy", "target", target)
    if target.dtype != input.dtype:
        target = target.to(dtype=input.dtype)
    loss = _apply(ops.BinaryCrossEntropy, input, target)
    if weight is not None:
        loss = loss * _like(weight, input)
    return _reduce(loss, reduction, "binary_cross_entropy")


def l1_loss(input: Tensor, target: Any, reduction: str = "mean") -> Tensor:
    """Mean absolute error ``|input - target|``, reduced; shapes must match.

    The gradient where ``input == target`` is 0 (sign(0)), as in PyTorch.

    Raises:
        ValueError: the shapes differ, or ``reduction`` is not ``'mean'``, ``'sum'`` or ``'none'``.
    """
    input = check_input("l1_loss", input, "input")
    _check_target("l1_loss", target)
    target = _like(target, input)
    _check_same_shape("l1_loss", input, target)
    return _reduce((input - target).abs(), reduction, "l1_loss")


def smooth_l1_loss(input: Tensor, target: Any, reduction: str = "mean", beta: float = 1.0) -> Tensor:
    """Smooth L1 loss: quadratic for small errors, linear for large ones. With d = input - target::

        loss = 0.5 d^2 / beta    if |d| < beta
               |d| - 0.5 beta    otherwise

    Continuous with its derivative (d / beta, then sign(d)); the gradient is
    +-1 at |d| == beta and 0 at d == 0, as in PyTorch. ``beta=0`` is
    `l1_loss`. ``huber_loss(delta=b) == b * smooth_l1_loss(beta=b)``.

    Args:
        input: ``(...)``.
        target: ``(...)``, the same shape.
        reduction: ``'mean'``, ``'sum'`` or ``'none'``.
        beta: where the loss turns from quadratic to linear, >= 0.

    Raises:
        ValueError: ``beta`` is negative, the shapes differ, or ``reduction`` is unknown.
    """
    input = check_input("smooth_l1_loss", input, "input")
    _check_target("smooth_l1_loss", target)
    if beta < 0:
        raise ValueError(f"smooth_l1_loss: beta must be >= 0, got {beta!r}")
    target = _like(target, input)
    _check_same_shape("smooth_l1_loss", input, target)
    d = input - target
    if beta == 0:
        return _reduce(d.abs(), reduction, "smooth_l1_loss")
    z = d.abs()
    dc = d.clip(-beta, beta)  # the quadratic branch sees a finite d: no 0 * inf in the branch not taken
    return _reduce(where(z < beta, 0.5 * dc * dc / beta, z - 0.5 * beta), reduction, "smooth_l1_loss")


def huber_loss(input: Tensor, target: Any, reduction: str = "mean", delta: float = 1.0) -> Tensor:
    """Huber loss: quadratic for small errors, linear (slope ``delta``) for large ones. With d = input - target::

        loss = 0.5 d^2                   if |d| < delta
               delta (|d| - 0.5 delta)   otherwise

    The gradient is d, then delta sign(d): +-delta at |d| == delta, as in PyTorch.

    Args:
        input: ``(...)``.
        target: ``(...)``, the same shape.
        reduction: ``'mean'``, ``'sum'`` or ``'none'``.
        delta: where the loss turns from quadratic to linear, > 0.

    Raises:
        ValueError: ``delta`` is not positive, the shapes differ, or ``reduction`` is unknown.
    """
    input = check_input("huber_loss", input, "input")
    _check_target("huber_loss", target)
    if not delta > 0:
        raise ValueError(f"huber_loss: delta must be > 0, got {delta!r}")
    target = _like(target, input)
    _check_same_shape("huber_loss", input, target)
    d = input - target
    z = d.abs()
    dc = d.clip(-delta, delta)
    return _reduce(where(z < delta, 0.5 * dc * dc, delta * (z - 0.5 * delta)), reduction, "huber_loss")


def kl_div(input: Tensor, target: Any, reduction: str = "mean", log_target: bool = False) -> Tensor:
    """Kullback-Leibler divergence KL(target || q) pointwise, with ``input = log q`` (log-probabilities)::

        loss = y (log y - x)      0 where y == 0         (log_target=False)
        loss = e^y (y - x)        y = log-probabilities   (log_target=True)

    PyTorch's pointwise terms; the gradient with respect to ``input`` is -y
    (-e^y). Reductions, as in PyTorch:

    * ``'batchmean'``: the sum divided by the batch size ``input.shape[0]``
      (the sum for a 0-d input): the KL divergence per sample. Use this one.
    * ``'mean'``: the mean over **all** elements, i.e. also divided by the
      number of classes; not the KL divergence (PyTorch warns about it).
    * ``'sum'``, ``'none'``.

    Args:
        input: log-probabilities ``(N, ...)``, e.g. the output of `log_softmax`.
        target: probabilities (or log-probabilities with ``log_target``), the same shape.
        reduction: one of ``'mean'``, ``'batchmean'``, ``'sum'``, ``'none'``.
        log_target: ``target`` holds log-probabilities.

    Raises:
        ValueError: ``reduction`` is unknown (the message lists the valid ones), or the shapes differ.
    """
    input = check_input("kl_div", input, "input")
    _check_target("kl_div", target)
    if reduction not in KL_REDUCTIONS:
        raise ValueError(f"kl_div: reduction must be one of {KL_REDUCTIONS}, got {reduction!r}"
                         + did_you_mean(reduction, KL_REDUCTIONS))
    target = _like(target, input)
    _check_same_shape("kl_div", input, target)
    if log_target:
        loss = target.exp() * (target - input)
    else:
        nonzero = target != 0
        y_log_y = where(nonzero, target * where(nonzero, target, 1.0).log(), 0.0)  # xlogy(y, y): 0 at y == 0
        loss = y_log_y - target * input
    if reduction == "batchmean":
        return loss.sum() / input.shape[0] if input.ndim else loss.sum()
    return _reduce(loss, reduction, "kl_div")


__all__ = [
    "binary_cross_entropy_with_logits",
    "cross_entropy",
    "dropout",
    "log_softmax",
    "logsumexp",
    "mse_loss",
    "nll_loss",
    "one_hot",
    "pad",
    "relu",
    "sigmoid",
    "softmax",
    "tanh",
    "where",
    # activations and losses under PyTorch's names
    "binary_cross_entropy",
    "elu",
    "gelu",
    "huber_loss",
    "kl_div",
    "linear",
    "l1_loss",
    "leaky_relu",
    "log_sigmoid",
    "logsigmoid",
    "smooth_l1_loss",
    "softplus",
]
