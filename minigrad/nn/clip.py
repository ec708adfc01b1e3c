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
from collections.abc import Iterable
from typing import Any

from minigrad.tensor import Tensor


def _with_grads(who: str, parameters: Tensor | Iterable[Tensor]) -> list[Tensor]:
    """The tensors among ``parameters`` that have a gradient."""
    params = [parameters] if isinstance(parameters, Tensor) else list(parameters)
    for i, p in enumerate(params):
        if not isinstance(p, Tensor):
            raise TypeError(f"{who}: parameter {i} is a {type(p).__name__}, expected a Tensor")
    return [p for p in params if p.grad is not None]


def _norm_order(norm_type: Any) -> float:
    order = float(norm_type)  # also accepts the string "inf", as PyTorch does
    if not order > 0:
        raise ValueError(f"clip_grad_norm_: norm_type must be > 0 or inf, got {norm_type!r}")
    return order


def clip_grad_norm_(
    parameters: Tensor | Iterable[Tensor],
    max_norm: float,
    norm_type: float | str = 2.0,
    error_if_nonfinite: bool = False,
) -> float:
    r"""Scale the gradients together so that their joint norm is at most ``max_norm``.

    The total norm is the norm of all gradients taken as one vector,
    :math:`\|g\| = (\sum_i \|g_i\|_p^p)^{1/p}` (the largest absolute element for
    ``inf``). Every gradient is multiplied by
    :math:`\min(1, \text{max\_norm} / (\|g\| + 10^{-6}))`, as in PyTorch.
    Parameters without a gradient are ignored.

    Args:
        parameters: tensors (e.g. ``model.parameters()``) or a single tensor.
        max_norm: the largest allowed total norm.
        norm_type: :math:`p` of the p-norm; ``float("inf")`` or ``"inf"`` for the max norm.
        error_if_nonfinite: raise when the total norm is nan or inf (otherwise
            the gradients are scaled by 0, or become nan).

    Returns:
        The total norm before clipping, as a Python float (0.0 when no parameter has a gradient).
    """
    order = _norm_order(norm_type)
    params = _with_grads("clip_grad_norm_", parameters)
    if not params:
        return 0.0
    names = {p.grad.backend.name for p in params}
    if len(names) > 1:
        raise ValueError(
            f"clip_grad_norm_: gradients live on several backends ({', '.join(sorted(names))}); "
            "move the model to one backend with .to()"
        )
    xp = params[0].grad.backend.xp
    norms = xp.stack([xp.linalg.norm(p.grad.data.ravel(), ord=order) for p in params])
    total = float(xp.linalg.norm(norms, ord=order))
    if error_if_nonfinite and not math.isfinite(total):
        raise RuntimeError(
            f"clip_grad_norm_: the total norm of order {norm_type} of the gradients is {total}, so they cannot be "
            "clipped; pass error_if_nonfinite=False to scale them anyway"
        )
    coef = min(max_norm / (total + 1e-6), 1.0)
    if coef < 1.0:
        for p in params:
            p.grad.data = p.grad.data * coef
    return total


def clip_grad_value_(parameters: Tensor | Iterable[Tensor], clip_value: float) -> None:
    """Clamp every gradient element to ``[-clip_value, clip_value]``.

    Args:
        parameters: tensors (e.g. ``model.parameters()``) or a single tensor.
        clip_value: the largest allowed absolute value (>= 0).
    """
    clip_value = float(clip_value)
    if not clip_value >= 0:
        raise ValueError(f"clip_grad_value_: clip_value must be >= 0, got {clip_value!r}")
    for p in _with_grads("clip_grad_value_", parameters):
        p.grad.data = p.backend.xp.clip(p.grad.data, -clip_value, clip_value)
