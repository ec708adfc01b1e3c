"""Functions that create tensors: from data, filled, ranges and random."""

from __future__ import annotations

import numbers
from typing import Any

import backends
from minigrad.backend import get_backend
from minigrad.tensor import DEFAULT_FLOAT, Tensor


def _shape(shape: tuple) -> tuple:
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    if not all(isinstance(n, int) and n >= 0 for n in shape):
        raise ValueError(f"shape must be non-negative ints, got {shape}")
    return tuple(shape)


def _make(array: Any, be: Any, requires_grad: bool) -> Tensor:
    t = Tensor._wrap(array, be)
    return t.requires_grad_(True) if requires_grad else t


def tensor(data: Any, requires_grad: bool = False, dtype: Any = None, backend: Any = None) -> Tensor:
    """A tensor holding a copy of ``data`` (lists, scalars, NumPy/CuPy arrays, tensors).

    ``dtype=None`` keeps an array's dtype and makes Python floats float32.
    """
    src = data.data if isinstance(data, Tensor) else data
    t = Tensor(src, dtype=dtype, backend=backend or (data.backend if isinstance(data, Tensor) else None))
    if t.data is src:
        t.data = t.backend.xp.array(src, copy=True)
    return t.requires_grad_(True) if requires_grad else t


def full(shape: Any, fill_value: float, dtype: Any = None, backend: Any = None, requires_grad: bool = False) -> Tensor:
    """A tensor of ``shape`` filled with ``fill_value`` (float32 for floats, int64 for ints)."""
    be = get_backend(backend)
    shape = _shape(shape if isinstance(shape, (tuple, list)) else (shape,))
    is_int = isinstance(fill_value, int) and not isinstance(fill_value, bool)
    dt = be.dtype(dtype or ("int64" if is_int else DEFAULT_FLOAT))
    return _make(be.xp.full(shape, fill_value, dtype=dt), be, requires_grad)


def zeros(*shape: Any, dtype: Any = None, backend: Any = None, requires_grad: bool = False) -> Tensor:
    """A tensor of zeros (float32 unless ``dtype`` says otherwise)."""
    return full(_shape(shape), 0.0, dtype=dtype, backend=backend, requires_grad=requires_grad)


def ones(*shape: Any, dtype: Any = None, backend: Any = None, requires_grad: bool = False) -> Tensor:
    """A tensor of ones (float32 unless ``dtype`` says otherwise)."""
    return full(_shape(shape), 1.0, dtype=dtype, backend=backend, requires_grad=requires_grad)


def arange(start: float, stop: float | None = None, step: float = 1, dtype: Any = None, backend: Any = None) -> Tensor:
    """Evenly spaced values in [start, stop); int64 for int arguments, else float32."""
    if stop is None:
        start, stop = 0, start
    be = get_backend(backend)
    ints = all(isinstance(v, int) for v in (start, stop, step))
    dt = be.dtype(dtype or ("int64" if ints else DEFAULT_FLOAT))
    return Tensor._wrap(be.xp.arange(start, stop, step, dtype=dt), be)


def randn(*shape: Any, dtype: Any = None, backend: Any = None, requires_grad: bool = False) -> Tensor:
    """Standard normal samples, seeded by [`manual_seed`][minigrad.manual_seed]."""
    be = get_backend(backend)
    return _make(be.randn(_shape(shape), be.dtype(dtype or DEFAULT_FLOAT)), be, requires_grad)


def rand(*shape: Any, dtype: Any = None, backend: Any = None, requires_grad: bool = False) -> Tensor:
    """Uniform samples in [0, 1), seeded by [`manual_seed`][minigrad.manual_seed]."""
    be = get_backend(backend)
    return _make(be.rand(_shape(shape), be.dtype(dtype or DEFAULT_FLOAT)), be, requires_grad)


def _like(fn: Any, t: Tensor, dtype: Any, requires_grad: bool, *args: Any) -> Tensor:
    return fn(t.shape, *args, dtype=dtype or t.dtype, backend=t.backend, requires_grad=requires_grad)


def zeros_like(t: Tensor, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    return _like(zeros, t, dtype, requires_grad)


def ones_like(t: Tensor, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    return _like(ones, t, dtype, requires_grad)


def full_like(t: Tensor, fill_value: float, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    return _like(full, t, dtype, requires_grad, fill_value)


def randn_like(t: Tensor, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    return _like(randn, t, dtype, requires_grad)


def rand_like(t: Tensor, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    return _like(rand, t, dtype, requires_grad)


def manual_seed(seed: int) -> None:
    """Seed every backend's random generator (same seed, same numbers on every backend).

    Any int is a seed, as in PyTorch: a negative one, or one above 2**64 - 1, is
    taken modulo 2**64 (so -1 seeds as 2**64 - 1).

    Raises:
        TypeError: ``seed`` is not an int (a float, a string, a bool, None).
    """
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise TypeError(f"manual_seed: seed must be an int, got {seed!r} ({type(seed).__name__})")
    backends.seed_all(int(seed) % 2**64)
