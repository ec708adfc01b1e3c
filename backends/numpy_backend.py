"""The CPU backend: NumPy arrays."""

from __future__ import annotations

import numpy as np

from backends.base import Backend


def create() -> Backend:
    """The NumPy backend (always available)."""
    return Backend("numpy", np)
