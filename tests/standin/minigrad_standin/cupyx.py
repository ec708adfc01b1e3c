"""The stand-in's ``cupyx``: the one function the CuPy backend takes from it."""

from __future__ import annotations

from typing import Any

from minigrad_standin.array import ndarray, unsupported
from minigrad_standin.xp import add


def scatter_add(a: Any, slices: Any, value: Any) -> None:
    """``cupyx.scatter_add``: ``a[slices] += value`` accumulating repeated indices, on a device array."""
    if type(a) is not ndarray:
        raise unsupported(a, "cupyx.scatter_add")
    add.at(a, slices, value)
