"""Type promotion: the dtype of an op on tensors and Python scalars (PyTorch's rules).

Dtypes fall in three ordered categories, bool < integer < floating. An op
with several operands computes in one dtype, chosen in three groups:

1. tensors with at least one dimension ("dimensioned"),
2. 0-d tensors,
3. Python scalars, which stand for their category's default dtype
   (``bool``, ``int64``, and ``float32`` for floats).

Within a group the usual promotion applies (``int32`` and ``int64`` give
``int64``; ``float32`` and ``float64`` give ``float64``; an integer and a
floating dtype give the floating one). Across groups, a later group only
matters when it is of a *higher category*: ``int64_tensor * 2.5`` is
``float32``, but ``float32_tensor * 2.5`` stays ``float32`` and
``float32_tensor + float64_0d_tensor`` stays ``float32``. So ``mask * 2`` of
a boolean ``mask`` is ``int64`` (``[0, 2]``, not ``[False, True]``), and true
division of integers gives ``float32``.

Source: PyTorch's ``torch.result_type`` (``c10/core/ScalarType.h``
``promoteTypes`` and ATen's ``ResultTypeState``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

DEFAULT_FLOAT = np.dtype("float32")
DEFAULT_INT = np.dtype("int64")
BOOL = np.dtype("bool")

_CATEGORY = {"b": 0, "u": 1, "i": 1, "f": 2}


def category(dtype: Any) -> int:
    """0 for bool, 1 for integers, 2 for floating point."""
    return _CATEGORY[np.dtype(dtype).kind]


def promote_types(a: Any, b: Any) -> np.dtype:
    """The smallest dtype that holds both ``a`` and ``b``, PyTorch's lattice.

    Unlike NumPy, a floating dtype absorbs any integer (``int64`` and
    ``float32`` give ``float32``, NumPy says ``float64``).
    """
    a, b = np.dtype(a), np.dtype(b)
    ca, cb = category(a), category(b)
    if ca != cb:
        return a if ca > cb else b
    return np.promote_types(a, b)


def _scalar_dtype(value: Any) -> np.dtype:
    if isinstance(value, bool):
        return BOOL
    if isinstance(value, int):
        return DEFAULT_INT
    if isinstance(value, float):
        return DEFAULT_FLOAT
    raise TypeError(f"type promotion: {type(value).__name__} is not a tensor or a Python number")


def _combine(higher: np.dtype | None, lower: np.dtype | None) -> np.dtype | None:
    """Let ``lower`` (a later group) change ``higher`` only when its category is above."""
    if higher is None:
        return lower
    if lower is None or category(lower) <= category(higher):
        return higher
    return promote_types(higher, lower)


def result_type(*operands: Any) -> np.dtype:
    """The dtype an op on ``operands`` (tensors, arrays or Python numbers) computes in.

    Raises:
        TypeError: an operand is neither a tensor/array nor a Python number.
    """
    groups: list[np.dtype | None] = [None, None, None]  # dimensioned, 0-d, Python scalars
    for x in operands:
        if hasattr(x, "dtype") and hasattr(x, "ndim"):
            group, dt = (0 if x.ndim else 1), np.dtype(x.dtype)
        else:
            group, dt = 2, _scalar_dtype(x)
        groups[group] = dt if groups[group] is None else promote_types(groups[group], dt)
    return _combine(groups[0], _combine(groups[1], groups[2]))


__all__ = ["DEFAULT_FLOAT", "category", "promote_types", "result_type"]
