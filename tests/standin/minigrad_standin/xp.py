"""The stand-in's array module (the ``xp`` of its backend): CuPy's names, computed by NumPy on the CPU.

Only names that CuPy's top-level module has exist here (`NAMES`, taken from CuPy's
``cupy/__init__.py``), so code that reaches for a NumPy-only function
(``xp.errstate``, ``xp.nditer``) fails here as it would on a GPU. Functions take
device arrays (`minigrad_standin.array.ndarray`) and scalars and refuse NumPy arrays,
except the entry points from the host (``asarray``, ``array``, ``asanyarray``), which count a
``to_device`` transfer; ``asnumpy`` is the explicit way back. Ufuncs keep CuPy's limits:
``reduce``/``accumulate`` only for ``add`` and ``multiply``, ``at`` only for the scatter ops.
"""

from __future__ import annotations

import types
from typing import Any

import numpy as np

from minigrad_standin import events
from minigrad_standin.array import DEVICE_DTYPE_KINDS, dev, dev_args, dev_kwargs, index, ndarray, new, unsupported, wrap
from minigrad_standin.events import SYNC, TO_DEVICE, TO_HOST, count

__all__ = ["NAMES", "asarray", "asnumpy", "cuda", "ndarray"]

# the public names of cupy/__init__.py in CuPy 13.0 (the oldest the cuda extra allows) that NumPy also has;
# everything else is an AttributeError here
NAMES = frozenset(str.split("""
abs absolute add all allclose amax amin angle any append arange arccos arccosh arcsin arcsinh arctan arctan2 arctanh
argmax argmin argpartition argsort argwhere around array array_equal array_equiv array_split asanyarray asarray
ascontiguousarray asfortranarray atleast_1d atleast_2d atleast_3d average bartlett bincount bitwise_and bitwise_not
bitwise_or bitwise_xor blackman bool_ broadcast broadcast_arrays broadcast_shapes broadcast_to byte can_cast cbrt
cdouble ceil choose clip column_stack common_type complex128 complex64 complexfloating compress concatenate conj
conjugate convolve copy copysign copyto corrcoef correlate cos cosh count_nonzero cov cross csingle cumprod cumsum
deg2rad degrees delete diag diag_indices diag_indices_from diagflat diagonal diff digitize divide divmod dot double
dsplit dstack dtype e ediff1d einsum empty empty_like equal exp exp2 expand_dims expm1 extract eye fabs
fill_diagonal finfo fix flatnonzero flip fliplr flipud float16 float32 float64 float_power floating floor
floor_divide fmax fmin fmod frexp full full_like gcd generic gradient greater greater_equal half hamming hanning
heaviside histogram hsplit hstack hypot i0 identity iinfo imag indices inexact inf inner int16 int32 int64 int8 int_
intc integer interp intersect1d intp invert isclose iscomplex iscomplexobj isfinite isfortran isin isinf isnan
isneginf isposinf isreal isrealobj isscalar issubdtype iterable ix_ kaiser kron lcm ldexp left_shift less less_equal
lexsort linspace log log10 log1p log2 logaddexp logaddexp2 logical_and logical_not logical_or logical_xor logspace
longlong matmul max maximum may_share_memory mean median meshgrid min min_scalar_type minimum mod modf moveaxis
multiply nan nan_to_num nanargmax nanargmin nancumprod nancumsum nanmax nanmean nanmedian nanmin nanprod nanstd
nansum nanvar ndim negative newaxis nextafter nonzero not_equal number ones ones_like outer packbits pad partition
percentile pi piecewise place poly polyadd polyfit polymul polysub polyval positive power promote_types ptp put
putmask quantile rad2deg radians ravel ravel_multi_index real real_if_close reciprocal remainder repeat require
reshape resize result_type right_shift rint roll rollaxis roots rot90 round searchsorted select setdiff1d setxor1d
shape shares_memory short sign signbit signedinteger sin sinc single sinh size sort sort_complex split sqrt square
squeeze stack std subtract sum swapaxes take take_along_axis tan tanh tensordot tile trace transpose tri tril
tril_indices tril_indices_from trim_zeros triu triu_indices triu_indices_from true_divide trunc typename ubyte ufunc
uint uint16 uint32 uint64 uint8 uintc uintp ulonglong union1d unique unpackbits unravel_index unsignedinteger unwrap
ushort vander var vdot vsplit vstack where zeros zeros_like
"""))
LINALG_NAMES = frozenset(str.split(
    "cholesky det eigh eigvalsh inv lstsq matrix_power matrix_rank norm pinv qr slogdet solve svd "
    "tensorinv tensorsolve"
))
# functions whose result size depends on the data: CuPy reads a count back from the device
SIZE_FROM_DATA = frozenset(str.split(
    "argwhere compress extract flatnonzero intersect1d nonzero setdiff1d setxor1d trim_zeros union1d unique bincount"
))
SCATTER_UFUNCS = frozenset(["add", "subtract", "maximum", "minimum", "bitwise_and", "bitwise_or", "bitwise_xor"])
REDUCING_UFUNCS = frozenset(["add", "multiply"])


def _upload(obj: Any, dtype: Any, copy: bool, who: str) -> ndarray:
    """Host data (NumPy array, nested lists, scalars) as a new device array."""
    a = np.array(obj, dtype=dtype, copy=True, order="K") if copy else np.asarray(obj, dtype=dtype)
    if a.dtype.kind not in DEVICE_DTYPE_KINDS:
        raise ValueError(f"{who}: Unsupported dtype {a.dtype} (device arrays hold only numbers and booleans)")
    count(TO_DEVICE, who)
    if a is obj:
        a = a.copy(order="K")  # the device copy must not share memory with the host array
    return new(a)


def asarray(a: Any, dtype: Any = None, order: Any = None, *, blocking: bool = False) -> ndarray:
    """A device array of ``a``: the same object for a device array of that dtype, else a transfer to the device."""
    if type(a) is ndarray:
        return a if dtype is None or np.dtype(dtype) == a.dtype else new(a._a.astype(dtype))
    return _upload(a, dtype, False, "xp.asarray")


asanyarray = asarray


def array(obj: Any, dtype: Any = None, copy: bool = True, order: str = "K", subok: bool = False,
          ndmin: int = 0, *, blocking: bool = False) -> ndarray:
    """A device array of ``obj`` (copied unless ``copy=False`` and nothing changes)."""
    if type(obj) is ndarray:
        return new(np.array(obj._a, dtype=dtype, copy=copy, order=order, ndmin=ndmin))
    out = _upload(obj, dtype, True, "xp.array")
    return new(out._a.reshape((1,) * (ndmin - out.ndim) + out.shape)) if ndmin > out.ndim else out


def asnumpy(a: Any, stream: Any = None, order: str = "C", out: Any = None, blocking: bool = True) -> np.ndarray:
    """A host copy of a device array (CuPy's explicit transfer); host data passes through ``numpy.asarray``."""
    if type(a) is ndarray:
        return a.get(order=order, out=out)
    return np.asarray(a, order=order)


def get_array_module(*args: Any) -> types.ModuleType:
    """This module if any argument is a device array, else NumPy (``cupy.get_array_module``)."""
    import sys

    return sys.modules[__name__] if any(type(a) is ndarray for a in args) else np


class ufunc:  # noqa: N801 (CuPy's name)
    """A NumPy ufunc on device arrays, with CuPy's limits on its methods."""

    def __init__(self, f: np.ufunc) -> None:
        self._f = f
        self.__name__ = f.__name__
        self.nin, self.nout, self.nargs, self.identity = f.nin, f.nout, f.nargs, f.identity
        self._where = f"xp.{f.__name__}"

    def __repr__(self) -> str:
        return f"<ufunc 'cupy_{self.__name__}' (stand-in)>"

    def __call__(self, *args: Any, out: Any = None, **kwargs: Any) -> Any:
        where = self._where
        if out is None and not kwargs:
            return wrap(self._f(*dev_args(args, where)))
        if type(out) is tuple:
            if len(out) != 1:
                raise ValueError("The 'out' parameter must have exactly one array value")
            out = out[0]
        if out is None:
            return wrap(self._f(*dev_args(args, where), **dev_kwargs(kwargs, where)))
        if type(out) is not ndarray:
            raise unsupported(out, f"{where}(out=...)")
        self._f(*dev_args(args, where), out=out._a, **dev_kwargs(kwargs, where))
        events.queued = True
        return out

    def _reducing(self, method: str) -> None:
        if self.__name__ not in REDUCING_UFUNCS:
            raise NotImplementedError(f"`cupy_{self.__name__}.{method}` is not supported yet")

    def reduce(self, array: Any, axis: Any = 0, dtype: Any = None, out: Any = None, keepdims: bool = False) -> Any:
        self._reducing("reduce")
        return _reduction(self._f.reduce, array, out, self._where, axis=axis, dtype=dtype, keepdims=keepdims)

    def accumulate(self, array: Any, axis: int = 0, dtype: Any = None, out: Any = None) -> Any:
        self._reducing("accumulate")
        return _reduction(self._f.accumulate, array, out, self._where, axis=axis, dtype=dtype)

    def reduceat(self, array: Any, indices: Any, axis: int = 0, dtype: Any = None, out: Any = None) -> Any:
        if self.__name__ != "add":
            raise NotImplementedError(f"`cupy_{self.__name__}.reduceat` is not supported yet")
        return _reduction(self._f.reduceat, array, out, self._where, indices=dev(indices, self._where), axis=axis,
                          dtype=dtype)

    def outer(self, A: Any, B: Any, **kwargs: Any) -> Any:
        return wrap(self._f.outer(dev(A, self._where), dev(B, self._where), **dev_kwargs(kwargs, self._where)))

    def at(self, a: Any, indices: Any, b: Any = None) -> None:
        if self.__name__ not in SCATTER_UFUNCS:
            raise NotImplementedError(f"`cupy_{self.__name__}.at` is not supported yet")
        if type(a) is not ndarray:
            raise unsupported(a, f"{self._where}.at")
        self._f.at(a._a, index(indices), dev(b, f"{self._where}.at"))
        events.queued = True


def _reduction(method: Any, array: Any, out: Any, where: str, **kwargs: Any) -> Any:
    if type(array) is not ndarray:
        raise unsupported(array, where)
    if out is None:
        return wrap(method(array._a, **kwargs))
    if type(out) is not ndarray:
        raise unsupported(out, f"{where}(out=...)")
    method(array._a, out=out._a, **kwargs)
    events.queued = True
    return out


def _function(f: Any, name: str) -> Any:
    where = f"xp.{name}"
    reads_size = name in SIZE_FROM_DATA

    def call(*args: Any, **kwargs: Any) -> Any:
        if reads_size or (name == "where" and len(args) == 1):
            count(TO_HOST, f"{where} reads the size of its result")
        out = kwargs.get("out")
        r = f(*dev_args(args, where), **dev_kwargs(kwargs, where))
        events.queued = True  # copyto and other functions that write in place
        return out if type(out) is ndarray and r is out._a else wrap(r)

    call.__name__ = call.__qualname__ = name
    call.__doc__ = f"``numpy.{name}`` on device arrays (the stand-in's ``cupy.{name}``)."
    return call


def _mirror(source: Any, name: str) -> Any:
    obj = getattr(source, name)
    if isinstance(obj, np.ufunc):
        return ufunc(obj)
    if isinstance(obj, type) or not callable(obj):
        return obj  # dtypes, scalar types, finfo/iinfo, constants: CuPy re-exports NumPy's
    return _function(obj, name)


class _Namespace(types.SimpleNamespace):
    """A submodule (``linalg``) whose functions are mirrored on first use."""

    def __init__(self, source: Any, names: frozenset, qualname: str) -> None:
        super().__init__()
        self.__dict__.update(_source=source, _names=names, __name__=qualname)

    def __getattr__(self, name: str) -> Any:
        if name not in self._names:
            raise AttributeError(f"module {self.__name__!r} (stand-in for CuPy) has no attribute {name!r}")
        value = self.__dict__[name] = _mirror(self._source, name)
        return value


linalg = _Namespace(np.linalg, LINALG_NAMES, __name__ + ".linalg")


class _Stream:
    """``cupy.cuda.Stream``'s one method the project needs."""

    def synchronize(self) -> None:
        count(SYNC, "Stream.synchronize")


class _Device:
    def __init__(self, device: int = 0) -> None:
        self.id = device

    def synchronize(self) -> None:
        count(SYNC, "Device.synchronize")


cuda = types.SimpleNamespace(
    get_current_stream=lambda: _Stream(),
    Stream=_Stream,
    Device=_Device,
    runtime=types.SimpleNamespace(getDeviceCount=lambda: 1, deviceSynchronize=lambda: count(SYNC, "deviceSynchronize")),
)


def __getattr__(name: str) -> Any:
    """CuPy's names, built from NumPy's on first use and kept."""
    if name not in NAMES:
        raise AttributeError(f"module 'cupy' (stand-in) has no attribute {name!r}: CuPy does not provide it")
    value = globals()[name] = _mirror(np, name)
    return value
