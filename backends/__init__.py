"""Array backends for minigrad: the interface, NumPy, CuPy and a registry.

    >>> import backends
    >>> backends.get("numpy").xp.__name__
    'numpy'

Third-party packages add a backend through the ``minigrad.backends`` entry-point
group: the entry point names a zero-argument callable returning a
[`Backend`][backends.Backend] (or raising an error that says why it cannot).
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import metadata

from backends import cupy_backend, numpy_backend
from backends.base import Backend
from backends.choices import did_you_mean

__all__ = ["Backend", "available", "get", "names", "register", "seed_all", "unavailable_reason"]

ENTRY_POINT_GROUP = "minigrad.backends"

_factories: dict[str, Callable[[], Backend]] = {
    "numpy": numpy_backend.create,
    "cupy": cupy_backend.create,
}
_instances: dict[str, Backend] = {}
_errors: dict[str, str] = {}
_seed: list[int] = []  # the last seed given to seed_all, for backends created later
_entry_points_loaded = False


def _load_entry_points() -> None:
    global _entry_points_loaded
    if _entry_points_loaded:
        return
    _entry_points_loaded = True
    for ep in metadata.entry_points(group=ENTRY_POINT_GROUP):
        if ep.name not in _factories:
            _factories[ep.name] = lambda ep=ep: ep.load()()


def register(name: str, factory: Callable[[], Backend]) -> None:
    """Register a backend factory under ``name`` (replacing any earlier one)."""
    _factories[name] = factory
    _instances.pop(name, None)
    _errors.pop(name, None)


def names() -> list[str]:
    """Every registered backend name, available or not."""
    _load_entry_points()
    return list(_factories)


def get(name: str, who: str | None = None) -> Backend:
    """The backend called ``name``.

    Args:
        name: a registered name (see [`names`][backends.names]), or a [`Backend`][backends.Backend], returned as is.
        who: the function the user called, to start the error message with (e.g. ``"set_backend"``).

    Raises:
        ValueError: ``name`` is not registered (the message lists the known names and suggests the closest).
        RuntimeError: the backend is registered but cannot run here (the message says why).
    """
    if isinstance(name, Backend):
        return name
    backend = _instances.get(name) if isinstance(name, str) else None
    if backend is not None:
        return backend
    _load_entry_points()
    if not isinstance(name, str) or name not in _factories:
        known = sorted(_factories)
        raise ValueError(
            f"{who + ': ' if who else ''}unknown backend {name!r}; known backends: {', '.join(known)}"
            + did_you_mean(name, known)
        )
    if name in _errors:
        raise RuntimeError(_errors[name])
    try:
        backend = _factories[name]()
    except Exception as e:
        msg = str(e)
        _errors[name] = msg if msg.startswith("backend ") else f"backend {name!r} is not available: {msg}"
        raise RuntimeError(_errors[name]) from e
    if _seed:
        backend.manual_seed(_seed[-1])
    _instances[name] = backend
    return backend


def unavailable_reason(name: str) -> str | None:
    """Why backend ``name`` cannot be used here, or None when it can."""
    try:
        get(name)
    except (RuntimeError, ValueError) as e:
        return str(e)
    return None


def available() -> list[str]:
    """Names of the backends that work on this machine (NumPy always; CuPy with a GPU)."""
    return [n for n in names() if unavailable_reason(n) is None]


def seed_all(seed: int) -> None:
    """Seed the random generator of every backend, including ones created later."""
    _seed[:] = [seed]
    for backend in _instances.values():
        backend.manual_seed(seed)
