"""One backend implementation for every NumPy-compatible array module.

A backend is a small object: a ``name``, an array module ``xp`` (``numpy``,
``cupy`` or a third party's with the same API) and the few things on which
array libraries differ: host transfer, ``scatter_add``, random numbers and
``synchronize``. Ops use common NumPy functions through ``xp`` and everything
else through this object, so no op is ever written twice per device.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from backends.choices import did_you_mean
from backends.recurrent import RecurrentPointwise

DTYPES = (
    "float16", "float32", "float64",
    "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
    "bool",
)  # the dtype names a tensor can have: floating point, integer and boolean


def is_device_array(a: Any) -> bool:
    """True for an array of a device library (CuPy's or a third party's): not a NumPy array, it has
    CuPy's explicit host transfer ``get()`` and a ``__cuda_array_interface__`` or a ``shape`` and ``dtype``."""
    return not isinstance(a, np.ndarray) and callable(getattr(a, "get", None)) and (
        hasattr(a, "__cuda_array_interface__") or hasattr(a, "shape") and hasattr(a, "dtype")
    )


class Backend:
    """A named array module plus the primitives on which array libraries differ.

    Args:
        name: the registry name (``"numpy"``, ``"cupy"``, ...).
        xp: a module with NumPy's array API.

    Random numbers come from a host-side ``numpy.random.Generator`` and are
    moved to the device, so the same seed gives the same numbers on every
    backend (parameters initialised on the CPU and on the GPU agree).
    """

    def __init__(self, name: str, xp: Any) -> None:
        self.name = name
        self.xp = xp
        self._rng = np.random.default_rng()

    def __repr__(self) -> str:
        return f"Backend({self.name!r})"

    def __deepcopy__(self, memo: dict) -> "Backend":
        return self  # one object per backend: copies of tensors share it

    def __copy__(self) -> "Backend":
        return self

    # -- dtypes -------------------------------------------------------------
    def dtype(self, spec: Any, who: str = "dtype") -> np.dtype:
        """Normalise a dtype given as a string, a NumPy dtype or a type.

        Args:
            spec: one of `DTYPES` or another NumPy spelling of a float, int
                or bool dtype (``np.float32``, ``"f4"``, ``float``).
            who: the function the user called, to start the error message with.

        Raises:
            TypeError: ``spec`` is not a float, int or bool dtype (the message
                lists the accepted names and suggests the closest).
        """
        try:
            dt = np.dtype(spec)
        except (TypeError, ValueError):
            dt = None
        if dt is None or dt.kind not in "fiub":
            raise TypeError(
                f"{who}: {spec!r} is not a float, int or bool dtype; accepted dtypes: {', '.join(DTYPES)}"
                + did_you_mean(spec, DTYPES)
            )
        return dt

    # -- host transfer ------------------------------------------------------
    def asarray(self, data: Any, dtype: Any = None) -> Any:
        """An array of this backend holding ``data`` (host data, or another backend's array)."""
        if is_device_array(data) and not self.is_array(data):
            data = data.get()  # another device's array comes through the host, explicitly
        return self.xp.asarray(data, dtype=dtype)

    def scalar(self, value: Any, dtype: Any) -> Any:
        """A 0-d array holding the Python number ``value``, made where the arrays live.

        On a device it is filled there (``full``: the number travels as a kernel
        argument), so an op with a Python number moves no data from the host.
        """
        if self.xp is np:
            return np.asarray(value, dtype=dtype)
        return self.xp.full((), value, dtype=dtype)

    def to_numpy(self, a: Any) -> np.ndarray:
        """A host (NumPy) copy of a backend array."""
        return np.array(a, copy=True)

    def is_array(self, a: Any) -> bool:
        """True when ``a`` is an array of this backend."""
        return isinstance(a, self.xp.ndarray)

    # -- primitives that differ between array libraries ---------------------
    def scatter_add(self, target: Any, index: Any, values: Any) -> None:
        """In place ``target[index] += values``, accumulating repeated indices."""
        np.add.at(target, index, values)

    def ignore_fp_errors(self) -> Any:
        """A context manager that silences floating-point warnings (log(0), inf - inf) on the host.

        For ops whose infinite or nan results are intended (PyTorch's values at
        -inf inputs); device libraries do not warn, so this only affects NumPy.
        """
        return np.errstate(divide="ignore", invalid="ignore", over="ignore")

    @property
    def recurrent(self) -> RecurrentPointwise:
        """The gate arithmetic of the fused recurrent kernels (see `backends.recurrent`)."""
        kernels = self.__dict__.get("_recurrent")
        if kernels is None:
            kernels = self.__dict__["_recurrent"] = RecurrentPointwise(self.xp)
        return kernels

    def synchronize(self) -> None:
        """Wait for queued device work (a no-op on the CPU); needed for honest timings."""

    # -- random numbers -----------------------------------------------------
    def manual_seed(self, seed: int) -> None:
        """Reset this backend's generator so random ops repeat exactly."""
        self._rng = np.random.default_rng(seed)

    def randn(self, shape: Sequence[int], dtype: Any) -> Any:
        """Standard normal samples of ``shape``."""
        return self.asarray(self._rng.standard_normal(tuple(shape)), dtype=dtype)

    def rand(self, shape: Sequence[int], dtype: Any) -> Any:
        """Uniform samples in [0, 1) of ``shape``."""
        return self.asarray(self._rng.random(tuple(shape)), dtype=dtype)

    def uniform(self, low: float, high: float, shape: Sequence[int], dtype: Any) -> Any:
        """Uniform samples in [low, high) of ``shape``."""
        return self.asarray(self._rng.uniform(low, high, tuple(shape)), dtype=dtype)

    def normal(self, mean: float, std: float, shape: Sequence[int], dtype: Any) -> Any:
        """Normal samples with ``mean`` and ``std`` of ``shape``."""
        return self.asarray(self._rng.normal(mean, std, tuple(shape)), dtype=dtype)

    def permutation(self, n: int) -> np.ndarray:
        """A random permutation of ``range(n)`` as a host array (for shuffling data)."""
        return self._rng.permutation(n)
