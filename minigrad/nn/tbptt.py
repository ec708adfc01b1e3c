"""Truncated backpropagation through time: carry the state, cut the graph.

A long sequence is cut into chunks of ``k`` steps. The hidden state flows from
one chunk into the next, but gradients stop at the chunk boundary, so each
``backward()`` walks at most ``k`` steps and memory stays bounded:

    state = None
    for x, y in time_chunks(inputs, targets, size=k):  # x (N, k, I), y (N, k)
        out, state = lstm(x, state)
        loss = F.cross_entropy(head(out), y)
        opt.zero_grad(); loss.backward(); opt.step()
        state = detach_state(state)                # keep the values, drop the graph
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from minigrad.tensor import Tensor


def detach_state(state: Any) -> Any:
    """The same state outside the graph: a tensor, or a tuple/list of them (LSTM's ``(h, c)``), or None."""
    if state is None:
        return None
    if isinstance(state, Tensor):
        return state.detach()
    if isinstance(state, (tuple, list)):
        return type(state)(detach_state(s) for s in state)
    raise TypeError(f"detach_state: expected a Tensor, a tuple of Tensors or None, got {type(state).__name__}")


def time_chunks(*sequences: Tensor, size: int, axis: int = 1) -> Iterator[tuple[Tensor, ...]]:
    """Cut tensors sharing a time axis into consecutive chunks of ``size`` steps (the last may be shorter).

    Args:
        sequences: e.g. inputs ``(N, T, I)`` and targets ``(N, T)``.
        size: steps per chunk (the truncation length k).
        axis: the time axis (1 for batch-first tensors).
    """
    if size < 1:
        raise ValueError(f"time_chunks: size must be >= 1, got {size}")
    T = sequences[0].shape[axis]
    for s in sequences[1:]:
        if s.shape[axis] != T:
            raise ValueError(f"time_chunks: time axis {axis} differs: {sequences[0].shape} and {s.shape}")
    lead = (slice(None),) * axis
    for start in range(0, T, size):
        yield tuple(s[lead + (slice(start, start + size),)] for s in sequences)
