"""A strict CPU stand-in for CuPy, registered as the minigrad backend ``standin`` (test-only).

The test suite runs its CuPy column on this backend when no GPU is usable. Its
arrays (`minigrad_standin.array.ndarray`) refuse what CuPy refuses (implicit
conversion to NumPy, mixing with NumPy arrays) and count what costs a trip
between host and device, so a test can assert that a training step moves no
data inside its time loop::

    from minigrad_standin import events
    with events.recording() as seen:
        loss.backward()
    assert [e for e in seen if e.kind == events.TO_HOST] == []

It is a third-party backend in every respect: this folder holds a
distribution (``minigrad_standin-1.0.dist-info``) whose ``entry_points.txt``
names `create` in the ``minigrad.backends`` group, and ``tests/conftest.py``
only puts the folder on ``sys.path``; minigrad finds it as it would find an
installed package.
"""

from __future__ import annotations

from typing import Any

from backends import Backend
from minigrad_standin import events, xp
from minigrad_standin.array import ndarray, unsupported
from minigrad_standin.events import SYNC, count

__all__ = ["NAME", "StandinBackend", "create", "events", "ndarray", "xp"]

NAME = "standin"


class StandinBackend(Backend):
    """The shared `backends.Backend` on the stand-in's array module, with CuPy's own primitives mirrored."""

    def __init__(self) -> None:
        super().__init__(NAME, xp)

    def to_numpy(self, a: Any) -> Any:
        return xp.asnumpy(a)

    def scatter_add(self, target: Any, index: Any, values: Any) -> None:
        """``cupyx.scatter_add``: device target, device (or scalar) values; indices may be host or device."""
        if type(target) is not ndarray:
            raise unsupported(target, "scatter_add")
        xp.add.at(target, index, values)

    def synchronize(self) -> None:
        count(SYNC, "Backend.synchronize")


def create() -> Backend:
    """The ``minigrad.backends`` entry point: a new stand-in backend."""
    return StandinBackend()

