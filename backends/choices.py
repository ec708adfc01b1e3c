"""Errors for a name that is not one of a fixed set: say which names exist and suggest the closest.

The lowest layer of the project (``backends`` never imports ``minigrad``), so
every module can use it::

    >>> from backends.choices import did_you_mean, quoted
    >>> known = ["cupy", "numpy"]
    >>> f"unknown backend 'cupyy'; known backends: {quoted(known)}{did_you_mean('cupyy', known)}"
    "unknown backend 'cupyy'; known backends: 'cupy', 'numpy'; did you mean 'cupy'?"
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import Any

__all__ = ["did_you_mean", "quoted"]


def did_you_mean(name: Any, choices: Iterable[Any]) -> str:
    """``"; did you mean 'x'?"`` for the choice closest to ``name`` (ignoring case), else ``""``.

    Empty when ``name`` is not a string or nothing is close enough (difflib's
    similarity ratio below 0.6).
    """
    if not isinstance(name, str):
        return ""
    by_lower: dict[str, str] = {}
    for choice in choices:
        by_lower.setdefault(str(choice).lower(), str(choice))
    close = difflib.get_close_matches(name.lower(), list(by_lower), n=1)
    return f"; did you mean {by_lower[close[0]]!r}?" if close else ""


def quoted(choices: Iterable[Any]) -> str:
    """The choices quoted and comma-separated: ``'mean', 'sum', 'none'``."""
    return ", ".join(repr(c) for c in choices)
