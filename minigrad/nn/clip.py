"""Gradient clipping: rescale all gradients to a maximum norm, or clamp each element.

Exploding gradients are the classic failure of recurrent networks trained
with backpropagation through time: a long product of Jacobians can grow
without bound. Clip after ``backward()`` and before ``optimizer.step()``::

    loss.backward()
    clip_grad_norm_(model.parameters(), max_norm=1.0)
    opt.step()
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable
from typing import Any

from minigrad.tensor import Tensor


def _with_grads(who: str, parameters: Tensor | Iterable[Tensor]) -> list[tuple[int, Tensor]]:
    """``(position, tensor)`` for the tensors among ``parameters`` that have a gradient."""
    params = [parameters] if isinstance(parameters, Tensor) else list(parameters)
    for i, p in enumerate(params):
        if not isinstance(p, Tensor):
            raise TypeError(f"{who}: parameter {i} is a {type(p).__name__}, expected a Tensor")
    return [(i, p) for i, p in enumerate(params) if p.grad is not None]


def _norm_order(who: str, norm_type: Any) -> float:
    try:
        order = float(norm_type)  # also accepts the string "inf", as PyTorch does
    except (TypeError, ValueError):
        order = math.nan
    if not order > 0:
        raise ValueError(f"{who}: norm_type must be > 0 or inf (a number or the string 'inf'), got {norm_type!r}")
    return order


def _vector_norm(xp: Any, a: Any, order: float) -> Any:
    r"""The ``order``-norm of all elements of array ``a``, as a float64 0-d array of ``xp``.

    It neither overflows nor underflows where the true norm is finite and
    non-zero, for every float dtype and every ``p`` (squaring a float32 element
    above 1.8e19 gives inf in float32, below 1e-23 zero): the max norm takes no
    arithmetic; the 1-norm is a float64 sum of positive terms, none larger than
    the total; the 2-norm of float16/float32 is ``sqrt(sum(a^2))`` in float64,
    whose range holds every such square; every other case (float64 with p = 2,
    any other p) is \(m (\sum_i (|a_i| / m)^p)^{1/p}\) with
    \(m = \max_i |a_i|\). nan when an element is nan, else inf when one is
    inf; 0 for an empty array. No host synchronisation.
    """
    a = a.ravel()
    if a.size == 0:
        return xp.zeros((), dtype=xp.float64)
    if order == math.inf:
        return xp.maximum(a.max(), -a.min()).astype(xp.float64)  # nan if any element is nan
    a64 = a.astype(xp.float64)  # a copy, also of a float64 array: scaled in place below
    if order == 1:
        return xp.abs(a64, out=a64).sum()
    if order == 2 and a.dtype.itemsize < 8:
        return xp.sqrt(a64 @ a64)
    xp.abs(a64, out=a64)
    m = a64.max()  # nan if any element is nan
    ok = (m > 0) & (m < math.inf)  # else the norm is m itself: 0, inf or nan
    a64 /= xp.where(ok, m, 1.0)
    s = a64 @ a64 if order == 2 else (a64**order).sum()
    return xp.where(ok, m * s ** (1.0 / order), m)


def _backend_of_grads(who: str, tensors: list[Tensor]) -> Any:
    names = {t.backend.name for t in tensors}
    if len(names) > 1:
        raise ValueError(
            f"{who}: gradients live on several backends ({', '.join(sorted(names))}); "
            "move the model to one backend with .to()"
        )
    return tensors[0].backend


def _total_norm(who: str, tensors: list[tuple[int, Tensor]], order: float, norm_type: Any,
                error_if_nonfinite: str | None) -> float:
    """The joint norm of the ``(position, tensor)`` pairs.

    ``error_if_nonfinite``: None, or the message of the RuntimeError raised when the norm is nan or
    inf, formatted with ``total``, ``i`` (the position of the first tensor whose norm is non-finite)
    and ``what`` (its shape, dtype and norm).
    """
    if not tensors:
        return 0.0
    xp = _backend_of_grads(who, [t for _, t in tensors]).xp
    norms = xp.stack([_vector_norm(xp, t.data, order) for _, t in tensors])
    total = float(_vector_norm(xp, norms, order))
    if error_if_nonfinite and not math.isfinite(total):
        first = [math.isfinite(float(n)) for n in norms].index(False)
        i, t = tensors[first]
        what = f"(shape {t.shape}, dtype {t.dtype}) has norm {float(norms[first])}"
        raise RuntimeError(f"{who}: the total norm of order {norm_type} of the " +
                           error_if_nonfinite.format(total=total, i=i, what=what))
    return total


def get_total_norm(
    tensors: Tensor | Iterable[Tensor],
    norm_type: float | str = 2.0,
    error_if_nonfinite: bool = False,
) -> float:
    r"""The p-norm of all ``tensors`` taken as one vector (PyTorch's ``torch.nn.utils.get_total_norm``).

    \(\|x\| = (\sum_i \|x_i\|_p^p)^{1/p}\), the largest absolute element
    for ``inf``. Unlike PyTorch, which computes in the tensors' dtype, the norm
    is computed in float64, scaled by the largest absolute element where powers
    could leave float64's range, so it is finite whenever the true norm is (a
    float32 ``[3e19, 4e19]`` has norm ``5e19``, not inf) and not zero for tiny
    non-zero values.

    Args:
        tensors: tensors (e.g. gradients) or a single tensor, all on one backend.
        norm_type: \(p\) of the p-norm; ``float("inf")`` or ``"inf"`` for the max norm.
        error_if_nonfinite: raise when the norm is nan or inf.

    Returns:
        The norm as a Python float (0.0 for no tensors).

    Raises:
        TypeError: an entry of ``tensors`` is not a Tensor.
        ValueError: ``norm_type`` is not a number > 0 or ``'inf'``; the tensors live on several backends.
        RuntimeError: ``error_if_nonfinite`` and the norm is nan or inf (the message names the first
            tensor, by position, whose norm is non-finite).
    """
    who = "get_total_norm"
    order = _norm_order(who, norm_type)
    items = [tensors] if isinstance(tensors, Tensor) else list(tensors)
    for i, t in enumerate(items):
        if not isinstance(t, Tensor):
            raise TypeError(f"{who}: tensor {i} is a {type(t).__name__}, expected a Tensor")
    message = "tensors is {total}: tensor {i} {what}" if error_if_nonfinite else None
    return _total_norm(who, list(enumerate(items)), order, norm_type, message)


def clip_grad_norm_(
    parameters: Tensor | Iterable[Tensor],
    max_norm: float,
    norm_type: float | str = 2.0,
    error_if_nonfinite: bool = False,
) -> float:
    r"""Scale the gradients together so that their joint norm is at most ``max_norm``.

    The total norm is the norm of all gradients taken as one vector,
    \(\|g\| = (\sum_i \|g_i\|_p^p)^{1/p}\) (the largest absolute element for
    ``inf``), computed as [`get_total_norm`][minigrad.nn.clip.get_total_norm] does, in float64 and scaled
    where needed, so it does not overflow where the true norm is finite
    (PyTorch computes in the gradients' dtype: a float32 gradient ``[3e19, 4e19]``
    gives it an inf norm and zero gradients; here the norm is 5e19 and the
    gradients are scaled to norm ``max_norm``). Every gradient is multiplied by
    \(\min(1, \text{max\_norm} / (\|g\| + 10^{-6}))\), as in PyTorch, keeping its dtype.
    Parameters without a gradient are ignored.

    A non-finite total norm, with ``error_if_nonfinite=False``, is handled as in
    PyTorch 2.13: a nan norm (some gradient has a nan) makes the factor nan, so
    *every* gradient becomes nan (clipping is never silently skipped; the next
    optimizer step makes the failure visible); an inf norm makes the factor 0, so
    every gradient becomes 0, except inf elements, which become nan.

    Args:
        parameters: tensors (e.g. ``model.parameters()``) or a single tensor.
        max_norm: the largest allowed total norm.
        norm_type: \(p\) of the p-norm; ``float("inf")`` or ``"inf"`` for the max norm.
        error_if_nonfinite: raise when the total norm is nan or inf, instead of scaling by it.

    Returns:
        The total norm before clipping, as a Python float (0.0 when no parameter has a gradient).

    Raises:
        TypeError: an entry of ``parameters`` is not a Tensor.
        ValueError: ``max_norm`` is negative, nan or not a number; ``norm_type`` is not a number > 0 or
            ``'inf'``; the gradients live on several backends.
        RuntimeError: ``error_if_nonfinite`` and the total norm is nan or inf; the message names the
            first parameter (by position in ``parameters``) whose gradient is non-finite.
    """
    who = "clip_grad_norm_"
    if not isinstance(max_norm, (bool, numbers.Number)) and getattr(max_norm, "ndim", None) == 0:
        max_norm = max_norm.item()  # a 0-d tensor or array, as PyTorch accepts
    if isinstance(max_norm, bool) or not isinstance(max_norm, numbers.Real) or not max_norm >= 0:
        raise ValueError(f"{who}: max_norm must be >= 0, got {max_norm!r}")
    max_norm = float(max_norm)
    order = _norm_order(who, norm_type)
    params = _with_grads(who, parameters)
    message = (
        "gradients is {total}, so they cannot be clipped: the gradient of parameter {i} {what}; "
        "pass error_if_nonfinite=False to scale them anyway"
    ) if error_if_nonfinite else None
    total = _total_norm(who, [(i, p.grad) for i, p in params], order, norm_type, message)
    coef = max_norm / (total + 1e-6)
    if not coef >= 1.0:  # also when coef is nan: nan then reaches every gradient, as in PyTorch
        for _, p in params:
            p.grad.data = _scaled(p.grad.backend.xp, p.grad.data, coef)
    return total


def _scaled(xp: Any, g: Any, coef: float) -> Any:
    """``g * coef`` in ``g``'s dtype, multiplied in at least float32 (float64 where ``coef`` is subnormal there)
    so that a small factor neither flushes a float16 gradient to zero nor loses its digits."""
    dt = xp.result_type(g.dtype, xp.float32)
    if 0 < coef < xp.finfo(dt).tiny:
        dt = xp.float64
    return (g.astype(dt, copy=False) * xp.asarray(coef, dtype=dt)).astype(g.dtype, copy=False)


def clip_grad_value_(parameters: Tensor | Iterable[Tensor], clip_value: float) -> None:
    """Clamp every gradient element to ``[-clip_value, clip_value]``, keeping each gradient's dtype.

    Args:
        parameters: tensors (e.g. ``model.parameters()``) or a single tensor.
        clip_value: the largest allowed absolute value (>= 0).

    Raises:
        TypeError: an entry of ``parameters`` is not a Tensor.
        ValueError: ``clip_value`` is negative, nan or not a number.
    """
    if isinstance(clip_value, Tensor) and clip_value.ndim == 0:
        clip_value = clip_value.item()
    if isinstance(clip_value, bool) or not isinstance(clip_value, numbers.Real) or not clip_value >= 0:
        raise ValueError(f"clip_grad_value_: clip_value must be >= 0, got {clip_value!r}")
    clip_value = float(clip_value)
    for _, p in _with_grads("clip_grad_value_", parameters):
        g = p.grad.data
        p.grad.data = p.grad.backend.xp.clip(g, -clip_value, clip_value).astype(g.dtype, copy=False)
