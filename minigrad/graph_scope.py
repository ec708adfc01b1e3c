"""Where in the network an op was recorded: module, layer, direction and time step.

Inside [`record_scopes`][minigrad.graph_scope.record_scopes] every recorded op keeps
the *scope* open when it ran, and the recurrent layers open one scope per layer,
direction and time step, so the renderer
([`draw_graph`][minigrad.viz.draw_graph]) can group the unrolled graph by them.

Outside that block nothing is recorded: the current scope is None, a module call
and a time step each cost one ContextVar read and nothing more.

A scope is a tuple of frames ``(kind, value)``, outermost first, with kind one of
``"module"`` (a [`Module`][minigrad.nn.Module]), ``"layer"`` (int), ``"direction"``
(0 forward, 1 reverse), ``"t"`` (time step) and ``"name"`` (a label of your own).

    >>> with mg.viz.record_scopes():
    ...     for t in range(T):
    ...         with mg.viz.graph_scope(t=t):     # your own loop over a cell
    ...             h = cell(x[:, t], h)

Both names are re-exported by [`minigrad.viz`][minigrad.viz].
"""

from __future__ import annotations

import contextlib
from contextvars import ContextVar
from typing import Any

Scope = tuple  # of (kind, value) frames, outermost first

_scope: ContextVar["Scope | None"] = ContextVar("minigrad_graph_scope", default=None)

_NULL = contextlib.nullcontext()


def current_scope() -> "Scope | None":
    """The scope ops are recorded in now; None outside [`record_scopes`][minigrad.graph_scope.record_scopes]."""
    return _scope.get()


class _Push:
    """Open ``scope`` for the duration of a ``with`` block."""

    __slots__ = ("scope", "token")

    def __init__(self, scope: Scope) -> None:
        self.scope = scope

    def __enter__(self) -> Scope:
        self.token = _scope.set(self.scope)
        return self.scope

    def __exit__(self, *exc: Any) -> None:
        _scope.reset(self.token)


def record_scopes() -> contextlib.AbstractContextManager:
    """Context manager: ops recorded inside keep their scope (for [`draw_graph`][minigrad.viz.draw_graph]).

    Nested inside another ``record_scopes`` block it keeps the outer scope.

        >>> with mg.viz.record_scopes():
        ...     output, h_n = rnn(x)
        >>> mg.viz.draw_graph(output.sum(), "rnn.svg", model=rnn)
    """
    return _NULL if _scope.get() is not None else _Push(())


def graph_scope(name: str | None = None, *, layer: int | None = None, direction: int | None = None,
                t: int | None = None) -> contextlib.AbstractContextManager:
    """Context manager: ops recorded inside belong to this scope, nested in the current one.

    Records nothing outside [`record_scopes`][minigrad.graph_scope.record_scopes]
    (the arguments are still checked). The
    recurrent layers call it for every layer, direction and step; call it in a
    loop of your own (a decoder, a cell called step by step) to group its steps
    the same way.

    Args:
        name: a label of your own (a cluster of its own in the drawing).
        layer: layer index ($\\ge 0$).
        direction: 0 forward, 1 reverse.
        t: time step ($\\ge 0$).

    Raises:
        TypeError: ``name`` is not a string or an index is not an int.
        ValueError: an index is negative or ``direction`` is not 0 or 1.
    """
    frames = []
    if name is not None:
        if not isinstance(name, str):
            raise TypeError(f"graph_scope: name must be a string, got {type(name).__name__}")
        frames.append(("name", name))
    for kind, value in (("layer", layer), ("direction", direction), ("t", t)):
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"graph_scope: {kind} must be an int, got {value!r}")
        if value < 0 or (kind == "direction" and value > 1):
            raise ValueError(f"graph_scope: {kind} must be " + ("0 or 1" if kind == "direction" else ">= 0")
                             + f", got {value}")
        frames.append((kind, value))
    outer = _scope.get()
    return _NULL if outer is None else _Push(outer + tuple(frames))


def step_scope(t: int) -> contextlib.AbstractContextManager:
    """``graph_scope(t=t)`` without the checks, for the recurrent layers' time loop."""
    outer = _scope.get()
    return _NULL if outer is None else _Push(outer + (("t", t),))


def module_scope(module: Any) -> contextlib.AbstractContextManager:
    """The scope of one module call (used by ``Module.__call__`` while scopes are recorded)."""
    outer = _scope.get()
    return _NULL if outer is None else _Push(outer + (("module", module),))
