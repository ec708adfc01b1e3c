"""The default backend: where new tensors are created.

The backend of an op comes from its inputs; the default only matters when
creating tensors. It is a ContextVar changed through [`set_backend`][minigrad.set_backend] or the
[`use_backend`][minigrad.use_backend] context manager, and starts as ``$MINIGRAD_BACKEND`` (or
``"numpy"``).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

import backends
from backends import Backend

ENV_VAR = "MINIGRAD_BACKEND"

_default: ContextVar[str | None] = ContextVar("minigrad_default_backend", default=None)


def get_backend(name: str | Backend | None = None, who: str | None = None) -> Backend:
    """The backend called ``name``, or the default backend when ``name`` is None.

    Args:
        name: a backend name, a [`Backend`][backends.Backend] (returned as is) or None.
        who: the function the user called, to start the error message with.

    Raises:
        ValueError: ``name`` (or ``$MINIGRAD_BACKEND``) is not a registered backend; the
            message lists the registered names.
        RuntimeError: the backend is registered but cannot run here; the message says why.
    """
    if isinstance(name, Backend):
        return name
    if name is None:
        name = _default.get()
        if not name and os.environ.get(ENV_VAR):
            return backends.get(os.environ[ENV_VAR], who=f"${ENV_VAR}")
        name = name or "numpy"
    return backends.get(name, who=who)


def default_backend_name() -> str:
    """The name of the backend new tensors are created on."""
    return get_backend().name


def set_backend(name: str) -> None:
    """Make ``name`` the default backend for new tensors (checked now, not at first use).

    Raises:
        ValueError: ``name`` is not a registered backend (the message lists them).
        RuntimeError: the backend cannot run here (the message says why).
    """
    _default.set(get_backend(name, who="set_backend").name)


@contextmanager
def use_backend(name: str) -> Iterator[Backend]:
    """Create tensors on backend ``name`` inside the block, then restore the previous default.

    Raises:
        ValueError: ``name`` is not a registered backend (the message lists them).
        RuntimeError: the backend cannot run here (the message says why).
    """
    token = _default.set(get_backend(name, who="use_backend").name)
    try:
        yield get_backend()
    finally:
        _default.reset(token)


def backend_of(op: str, tensors: tuple) -> Backend:
    """The one backend shared by ``tensors``; a clear error when they mix backends."""
    backend = tensors[0].backend
    for t in tensors[1:]:
        if t.backend is not backend:
            raise RuntimeError(
                f"{op}: inputs live on different backends ({backend.name!r} and {t.backend.name!r}); "
                f"move one with .to({backend.name!r}) or .to({t.backend.name!r})"
            )
    return backend
