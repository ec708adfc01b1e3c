"""What the stand-in counts: host transfers (both ways) and synchronisations, with where each happened.

Counting is always on and costs an integer increment; the place of each event
(the first frame outside this package) is looked up only inside `recording`,
so a failing assertion can say which line of minigrad moved data.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

HERE = str(Path(__file__).resolve().parent)

TO_HOST = "to_host"  # device -> host: .get(), asnumpy, float()/int()/bool(), item(), tolist(), repr, mask sizes
TO_DEVICE = "to_device"  # host -> device: asarray of host data, host index arrays, .set()
SYNC = "sync"  # an explicit wait for queued device work (Backend.synchronize, Stream.synchronize)
KINDS = (TO_HOST, TO_DEVICE, SYNC)


@dataclass
class Event:
    """One transfer or synchronisation: its kind, why it happened and the user's ``file:line``."""

    kind: str
    why: str
    where: str

    def __str__(self) -> str:
        return f"{self.kind} ({self.why}) at {self.where}"


@dataclass
class Counts:
    """Running totals per kind, and the events seen while `recording` is active."""

    totals: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    events: list[Event] | None = None  # None: not recording

    def add(self, kind: str, why: str) -> None:
        self.totals[kind] += 1
        if self.events is not None:
            self.events.append(Event(kind, why, _caller()))


COUNTS = Counts()
# device work queued since the last wait: set by every op, cleared by a synchronisation or a read back
# (both wait for the queue, as on a GPU); a clock read while it is set times the launch, not the work
queued = False


def count(kind: str, why: str) -> None:
    """Record one event of ``kind`` (one of `KINDS`)."""
    global queued
    COUNTS.add(kind, why)
    if kind != TO_DEVICE:
        queued = False


def _caller() -> str:
    """``file:line`` of the innermost frame outside the stand-in package, and of its caller."""
    frame = sys._getframe(2)
    while frame is not None and frame.f_code.co_filename.startswith(HERE):
        frame = frame.f_back
    if frame is None:
        return "?"
    where, outer = f"{frame.f_code.co_filename}:{frame.f_lineno}", frame.f_back
    return where if outer is None else f"{where} (from {outer.f_code.co_filename}:{outer.f_lineno})"


@contextlib.contextmanager
def recording() -> Iterator[list[Event]]:
    """Collect every transfer and synchronisation made inside the block (the list fills as it runs).

    Nested blocks each see the events of their own span; the outer list is restored afterwards.
    """
    outer = COUNTS.events
    events: list[Event] = []
    COUNTS.events = events
    try:
        yield events
    finally:
        COUNTS.events = outer
        if outer is not None:
            outer.extend(events)
