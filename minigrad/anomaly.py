"""Anomaly mode: find the op that first produced a nan or an inf, and the line of code that called it.

Inside ``with mg.detect_anomaly():`` every op notes the line of *your* code
that created it (the innermost frame outside the ``minigrad`` and
``backends`` packages) and checks its values; the first nan or inf raises
[`AnomalyError`][minigrad.AnomalyError] naming the op, its inputs and that line. Outside the
mode nothing is recorded or checked: an op pays for one ContextVar read.

PyTorch's ``torch.autograd.detect_anomaly`` checks only the gradients of
backward; this mode checks both directions, and the first non-finite value
wins:

- **forward**: the output of every op (also under ``no_grad``);
- **backward**: the gradient given to ``backward()``, and every gradient an
  op's backward returns for one of its inputs (checked when the mode is on
  while ``backward()`` runs; the line is known when it was on in forward too).

Infinities that are meant (a score masked with ``-inf`` before a softmax)
raise as well inside the mode.
"""

from __future__ import annotations

import functools
import linecache
import os
import sys
from contextvars import ContextVar
from typing import Any

import backends

# None: off; True: record where each op was created and check its values; False: record only
_anomaly_mode: ContextVar[bool | None] = ContextVar("minigrad_anomaly_mode", default=None)

# frames in these folders are the library's; the first frame outside them is the user's
_LIBRARY_DIRS = tuple(os.path.dirname(os.path.abspath(path)) + os.sep for path in (__file__, backends.__file__))


class AnomalyError(FloatingPointError):
    """An op produced a nan or an inf inside [`detect_anomaly`][minigrad.detect_anomaly] (the message names the op and
    the line)."""


class detect_anomaly:
    """Context manager: raise [`AnomalyError`][minigrad.AnomalyError] at the first op that produces a nan or an inf.

    Follows ``torch.autograd.detect_anomaly(check_nan=True)``: while active, each
    op records the line of user code that created it, and every gradient a
    backward step returns is checked. Unlike PyTorch, every op's forward output
    is checked too, so an overflow in the forward pass (an exploding RNN) is
    caught where it happens rather than as a nan gradient later. The first
    non-finite value wins; the message says whether it was the forward output
    or the gradient of input ``k``, gives the op's input shapes and dtypes, the
    file, line and source of the call that created it, and which inputs were
    already non-finite (a leaf such as the data or a parameter, or a tensor
    computed before the mode was entered).

        >>> with mg.detect_anomaly():
        ...     loss = model(x)
        ...     loss.backward()

    The checks read every array once more and record a stack frame per op, so
    use it for debugging only. The mode is a ContextVar: it ends when the block
    exits, also by an exception, and each thread or asyncio task has its own.

    Args:
        check_nan: check values (the default). ``False`` only records the lines,
            as PyTorch's flag does.

    Raises:
        AnomalyError: (a ``FloatingPointError``) inside the block, at the first nan or inf.
    """

    def __init__(self, check_nan: bool = True) -> None:
        self.check_nan = bool(check_nan)
        self._tokens: list = []

    def __enter__(self) -> None:
        self._tokens.append(_anomaly_mode.set(self.check_nan))

    def __exit__(self, *exc: Any) -> None:
        _anomaly_mode.reset(self._tokens.pop())


def is_anomaly_enabled() -> bool:
    """True inside [`detect_anomaly`][minigrad.detect_anomaly] (``torch.is_anomaly_enabled``)."""
    return _anomaly_mode.get() is not None


# -- where an op was created ---------------------------------------------------


@functools.cache
def _in_library(filename: str) -> bool:
    return os.path.abspath(filename).startswith(_LIBRARY_DIRS)


def user_stacklevel() -> int:
    """The ``stacklevel`` for ``warnings.warn`` called by this function's caller that points at user code.

    Counts the frames from the caller out to the innermost one outside the
    ``minigrad`` and ``backends`` packages (the outermost frame if all are inside).
    """
    frame, level = sys._getframe(1), 1
    while frame.f_back is not None and _in_library(frame.f_code.co_filename):
        frame, level = frame.f_back, level + 1
    return level


def creation_site() -> tuple[str, int, str]:
    """``(filename, line number, function)`` of the innermost frame outside minigrad and backends."""
    frame = sys._getframe(1)
    while frame.f_back is not None and _in_library(frame.f_code.co_filename):
        frame = frame.f_back
    return frame.f_code.co_filename, frame.f_lineno, frame.f_code.co_name


def _describe_site(site: tuple[str, int, str] | None) -> str:
    if site is None:
        return "created outside detect_anomaly(): run the forward pass inside it too to see the line that created it"
    filename, lineno, function = site
    source = linecache.getline(filename, lineno).strip()
    return f"created at {filename}:{lineno}, in {function}:\n    {source}"


# -- the checks ----------------------------------------------------------------


def _nonfinite(xp: Any, array: Any) -> str | None:
    """``'nan'`` or ``'inf'`` when ``array`` holds one (nan first), else None; integers and booleans are finite."""
    if array.dtype.kind not in "fc" or bool(xp.isfinite(array).all()):
        return None
    return "nan" if bool(xp.isnan(array).any()) else "inf"


def _inputs(parents: tuple) -> str:
    return ", ".join(f"{tuple(p.shape)} {p.dtype}" for p in parents)


def check_forward(fn: Any, parents: tuple, y: Any, record: bool, check: bool) -> None:
    """Called by ``_apply`` in anomaly mode after ``fn.forward`` gave ``y``: note the creation site, check ``y``.

    Raises:
        AnomalyError: ``y`` holds a nan or an inf (and ``check`` is True).
    """
    if record:
        fn.anomaly_site = creation_site()
    kind = _nonfinite(fn.xp, y) if check else None
    if kind is None:
        return
    site = fn.anomaly_site if record else creation_site()
    blame = []
    for k, p in enumerate(parents):
        bad = _nonfinite(fn.xp, p.data)
        if bad is not None:
            origin = ("a leaf tensor: the data or a parameter" if p._ctx is None
                      else "computed before detect_anomaly() was entered")
            blame.append(f"\n  input {k} already holds {bad} ({origin})")
    raise AnomalyError(
        f"detect_anomaly: {fn.name} produced {kind} in its forward output; inputs: {_inputs(parents)}"
        + "".join(blame) + "\n  " + _describe_site(site)
    )


def check_backward(ctx: Any, gxs: list) -> None:
    """Called by the backward loop in anomaly mode with the gradients ``ctx.backward`` returned, one per input
    (an array or None; for an ``IndexGrad``, its ``values``).

    Raises:
        AnomalyError: one of them holds a nan or an inf.
    """
    for k, gx in enumerate(gxs):
        if gx is None:
            continue
        kind = _nonfinite(ctx.xp, gx)
        if kind is not None:
            raise AnomalyError(
                f"detect_anomaly: {ctx.name} produced {kind} in the gradient of input {k} in backward; "
                f"inputs: {_inputs(ctx.parents)}\n  " + _describe_site(getattr(ctx, "anomaly_site", None))
            )


def check_seed(root: Any, gy: Any) -> None:
    """Check the gradient handed to ``backward()``.

    Raises:
        AnomalyError: it holds a nan or an inf.
    """
    kind = _nonfinite(root.backend.xp, gy)
    if kind is not None:
        raise AnomalyError(f"detect_anomaly: the gradient given to backward() holds {kind}")
