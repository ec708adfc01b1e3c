"""Gradient checking: autograd against central finite differences in float64."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from minigrad.autograd import enable_grad
from minigrad.tensor import Tensor


class GradcheckError(AssertionError):
    """Autograd and finite differences disagree; the message shows both values."""


def _named_inputs(inputs: Any) -> list[tuple[str, Tensor]]:
    if isinstance(inputs, Tensor):
        return [("input 0", inputs)]
    if isinstance(inputs, Mapping):
        return list(inputs.items())
    return [(f"input {i}", t) for i, t in enumerate(inputs)]


def gradcheck(
    fn: Callable[..., Tensor],
    inputs: Sequence[Tensor] | Mapping[str, Tensor] | Tensor,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
) -> bool:
    """Check ``fn``'s gradients against central differences, in float64.

    ``fn(*inputs)`` (or ``fn(**inputs)`` for a mapping) returns a tensor. Its
    output is projected on a fixed vector ``w`` of varied weights so one scalar
    ``L = sum(w * fn(...))`` tests every output element; each floating input is
    converted to float64, and each element is perturbed by +-eps:
    dL/dx ~ (L(x + eps) - L(x - eps)) / (2 eps). Integer inputs are passed unchanged.

    Returns:
        True when ``|analytic - numeric| <= atol + rtol * |numeric|`` everywhere.

    Raises:
        GradcheckError: naming the input, its shape, the worst element and both values.
    """
    named = _named_inputs(inputs)
    is_mapping = isinstance(inputs, Mapping)
    args = []
    for name, t in named:
        if not isinstance(t, Tensor):
            raise TypeError(f"gradcheck: {name} is a {type(t).__name__}, expected a Tensor")
        if t.dtype.kind == "f":
            t = Tensor(t.data.astype("float64"), backend=t.backend).requires_grad_()
        args.append(t)

    def call(xs: list[Tensor]) -> Tensor:
        return fn(**dict(zip([n for n, _ in named], xs))) if is_mapping else fn(*xs)

    with enable_grad():
        y = call(args)
    if not isinstance(y, Tensor):
        raise TypeError(f"gradcheck: fn must return a Tensor, got {type(y).__name__}")
    backend = y.backend
    xp = backend.xp
    # fixed, varied, non-zero weights with both signs (no random numbers drawn)
    k = xp.arange(y.data.size, dtype="float64")
    w = ((k * 0.6180339887 % 1.0 + 0.5) * (1 - 2 * (k % 2))).reshape(y.shape)

    def loss(xs: list[Tensor]) -> float:
        with enable_grad():
            out = call(xs)
        return float((out.data.astype("float64") * w).sum())

    if not y.requires_grad:
        raise GradcheckError("gradcheck: the output does not depend on any floating-point input")
    y.backward(Tensor._wrap(w.astype(y.dtype), backend))

    for (name, _), x in zip(named, args):
        if x.dtype.kind != "f":
            continue
        analytic = x.grad.data if x.grad is not None else xp.zeros(x.shape, dtype="float64")
        numeric = xp.zeros(x.shape, dtype="float64")
        # perturb through a full index, never through a reshaped view: reshape copies a
        # transposed, Fortran-ordered or strided array, and the perturbation would be lost
        for idx in itertools.product(*(range(n) for n in x.shape)):
            orig = float(x.data[idx])
            x.data[idx] = orig + eps
            plus = loss(args)
            x.data[idx] = orig - eps
            minus = loss(args)
            x.data[idx] = orig
            numeric[idx] = (plus - minus) / (2 * eps)
        err = xp.abs(analytic - numeric) - (atol + rtol * xp.abs(numeric))
        err = xp.where(xp.isnan(analytic) & xp.isnan(numeric), 0.0, err)  # both nan: they agree
        err = xp.where(xp.isnan(err), xp.inf, err)  # one nan (or inf against a finite value): they do not
        if x.numel() and float(err.max()) > 0:
            worst = int(err.reshape(-1).argmax())
            idx = tuple(int(v) for v in xp.unravel_index(worst, x.shape)) if x.ndim else ()
            raise GradcheckError(
                f"gradcheck: {name} of shape {x.shape}: gradient mismatch at index {idx}: "
                f"autograd {float(analytic.reshape(-1)[worst]):.10g} vs "
                f"finite difference {float(numeric.reshape(-1)[worst]):.10g} "
                f"(atol={atol}, rtol={rtol}, eps={eps})"
            )
    return True
