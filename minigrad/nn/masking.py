"""Padded batches: checking ``lengths``, the step mask, and reversing within each length.

Shape legend: N batch, T time steps. One module for the rules that both twins
of every recurrent layer (the composed loop and the fused kernel) and
[`Bidirectional`][minigrad.nn.Bidirectional] follow: a row of length n has real steps
0 .. n-1; at a padded step the state is carried and the output is zero.
"""

from __future__ import annotations

import operator
from typing import Any

from minigrad.tensor import Tensor


def check_lengths(lengths: Any, batch: int, steps: int, who: str) -> list[int]:
    """``lengths`` as a list of ints, each in [1, steps], one per batch row; a clear error otherwise."""
    if isinstance(lengths, Tensor) or hasattr(lengths, "tolist"):
        lengths = lengths.tolist()
    try:
        values = list(lengths)
    except TypeError:
        raise TypeError(f"{who}: lengths must be a sequence of ints, got {type(lengths).__name__}") from None
    if len(values) != batch:
        raise ValueError(f"{who}: got {len(values)} lengths for a batch of {batch} sequences")
    for i, n in enumerate(values):
        if isinstance(n, bool) or not hasattr(n, "__index__") or getattr(getattr(n, "dtype", None), "kind", "") == "b":
            raise TypeError(f"{who}: lengths[{i}] = {n!r} is not an int")
        values[i] = n = operator.index(n)  # NumPy integers are ints
        if not 1 <= n <= steps:
            raise ValueError(f"{who}: lengths[{i}] = {n} is outside [1, {steps}] (T = {steps} time steps)")
    return values


def step_mask(lengths: list[int] | None, steps: int, backend: Any) -> Any:
    """Boolean ``(N, T, 1)`` array, True at real steps; None when no row is padded."""
    if lengths is None or min(lengths) == steps:
        return None
    xp = backend.xp
    n = xp.asarray(lengths).reshape(-1, 1)
    return (xp.arange(steps).reshape(1, -1) < n)[:, :, None]


def reverse_padded(x: Tensor, lengths: list[int] | None, time_axis: int = 1) -> Tensor:
    """Reverse ``x`` along ``time_axis`` within each row's length (padding stays in place).

    Args:
        x: ``(N, T, ...)`` if ``time_axis == 1``, ``(T, N, ...)`` if ``time_axis == 0``.
        lengths: N ints, or None for all rows of length T.
    """
    T = x.shape[time_axis]
    if lengths is None:
        return x[(slice(None),) * time_axis + (slice(None, None, -1),)]
    xp = x.backend.xp
    t = xp.arange(T).reshape(1, -1)
    n = xp.asarray(lengths).reshape(-1, 1)
    src = xp.where(t < n, n - 1 - t, t)  # (N, T): the step each position reads
    rows = xp.arange(len(lengths)).reshape(-1, 1)
    return x[rows, src] if time_axis == 1 else x[src.T, rows.T]


__all__ = ["check_lengths", "reverse_padded", "step_mask"]
