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

from backends import Backend
from backends.cupy_backend import CupyBackend
from minigrad_standin import cupyx, events, xp
from minigrad_standin.array import ndarray

__all__ = ["NAME", "StandinBackend", "create", "cupyx", "events", "ndarray", "xp"]

NAME = "standin"


class StandinBackend(CupyBackend):
    """minigrad's CuPy backend itself, on the stand-in's ``cupy`` and ``cupyx``: the CuPy-only code
    (``asnumpy``, ``cupyx.scatter_add``, stream synchronisation) runs here as it would on a GPU."""

    def __init__(self) -> None:
        super().__init__(xp, cupyx, name=NAME)


def create() -> Backend:
    """The ``minigrad.backends`` entry point: a new stand-in backend."""
    return StandinBackend()

