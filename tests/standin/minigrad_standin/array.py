"""The stand-in's device array: a NumPy array behind a wall that behaves like ``cupy.ndarray``'s.

What CuPy refuses, this refuses (CuPy 13/14, ``cupy/_core/core.pyx``):

- implicit conversion to NumPy: ``numpy.asarray(a)``, ``numpy.array(a)`` raise ``TypeError``
  (``__array__`` refuses; there is no buffer, ``__array_interface__`` or ``__index__``);
- mixing with NumPy arrays: ``a + numpy_array``, ``numpy_array * a``, ``xp.where(numpy_mask, a, 0)``
  and ``out=numpy_array`` raise ``TypeError`` (``Unsupported type <class 'numpy.ndarray'>``);
  assigning a NumPy array or a list into a device array raises as well (CuPy's gh-2079);
- ``bool()`` of an array with more than one element, as NumPy.

What CuPy allows but costs a trip to the host is allowed and counted (`events`):
``.get()``, ``xp.asnumpy``, ``float()``/``int()``/``complex()``/``bool()``, ``.item()``,
``.tolist()``, ``repr``/``str``/``format``, pickling, and the ops whose result size depends on
the data (boolean-mask indexing, ``nonzero``) which read a count back. Host data becoming
device data (``xp.asarray`` of NumPy arrays, lists or scalars; host index arrays) is counted
as ``to_device``. NumPy functions called with device arrays dispatch to the stand-in's own
(``__array_ufunc__``/``__array_function__``), as they do to CuPy's.
"""

from __future__ import annotations

import operator
from typing import Any

import numpy as np

from minigrad_standin import events
from minigrad_standin.events import TO_DEVICE, TO_HOST, count

SCALARS = (int, float, bool, complex, np.generic)

# cupy.ndarray's methods (cupy/_core/core.pyx), those NumPy has too; the others raise AttributeError
METHODS = frozenset(str.split(
    "all any argmax argmin argpartition argsort astype choose clip compress conj conjugate copy cumprod cumsum "
    "diagonal dot fill flatten max mean min partition prod ptp put ravel repeat reshape round searchsorted sort "
    "squeeze std sum swapaxes take trace transpose var view"
))
DEVICE_DTYPE_KINDS = "biufc"  # CuPy has no object, string, datetime or void dtypes


def unsupported(value: Any, where: str) -> TypeError:
    """CuPy's error for a host array given where a device array or a scalar must be."""
    return TypeError(
        f"Unsupported type {type(value)} in {where}: the stand-in (like CuPy) does not mix host and device "
        "arrays; move it with xp.asarray(...) or bring the device array back with .get()"
    )


def new(a: np.ndarray) -> "ndarray":
    """Wrap a NumPy array (owned from now on by the device side) without copying."""
    obj = object.__new__(ndarray)
    obj._a = a
    events.queued = True  # the op that made it is device work
    return obj


def wrap(r: Any) -> Any:
    """Results of NumPy as device values: arrays and NumPy scalars (as 0-d arrays, like CuPy), also in tuples."""
    t = type(r)
    if t is np.ndarray:
        return new(r)
    if isinstance(r, np.generic):
        return new(np.asarray(r))
    if t is tuple or t is list:
        return t([wrap(v) for v in r])
    if isinstance(r, tuple):  # named results (linalg.qr's QRResult, unique_all's ...)
        return t(*(wrap(v) for v in r))
    return r


PASS = frozenset([int, float, bool, type(None), str, slice, type(Ellipsis), np.dtype])  # never arrays: fast path


def dev(x: Any, where: str) -> Any:
    """The NumPy array behind a device argument; scalars and others pass; host arrays are refused."""
    t = type(x)
    if t is ndarray:
        return x._a
    if t in PASS:
        return x
    if t is tuple or t is list:
        return t([dev(v, where) for v in x])
    if isinstance(x, np.ndarray):
        raise unsupported(x, where)
    return x


def dev_args(args: tuple, where: str) -> list:
    """`dev` of each positional argument (the hot path of every function and ufunc call)."""
    out = []
    for x in args:
        t = type(x)
        if t is ndarray:
            out.append(x._a)
        elif t in PASS:
            out.append(x)
        else:
            out.append(dev(x, where))
    return out


def dev_kwargs(kwargs: dict, where: str) -> dict:
    return {k: dev(v, where) for k, v in kwargs.items()} if kwargs else kwargs


def operand(x: Any, where: str) -> Any:
    """The other operand of an arithmetic operator: device array or scalar; NotImplemented for others."""
    t = type(x)
    if t is ndarray:
        return x._a
    if isinstance(x, SCALARS):
        return x
    if isinstance(x, np.ndarray):
        raise unsupported(x, where)
    return NotImplemented


def index(key: Any) -> Any:
    """An index into a device array: device arrays unwrap; host arrays and lists are uploaded (as CuPy does)."""
    t = type(key)
    if t is ndarray:
        a = key._a
        if a.dtype == np.bool_ and a.ndim:
            count(TO_HOST, "boolean-mask indexing reads the number of selected elements")
        return a
    if t in PASS:
        return key
    if t is tuple:
        return tuple([index(k) for k in key])
    if t is list or isinstance(key, np.ndarray):
        a = np.asarray(key)
        count(TO_DEVICE, "host index array")
        if a.dtype == np.bool_ and a.ndim:
            count(TO_HOST, "boolean-mask indexing reads the number of selected elements")
        return a
    return key


def _binary(fn: Any, name: str, reflected: bool = False) -> Any:
    where = f"ndarray.{name}"

    def op(self: "ndarray", other: Any) -> Any:
        o = operand(other, where)
        if o is NotImplemented:
            return NotImplemented
        return wrap(fn(o, self._a) if reflected else fn(self._a, o))

    op.__name__ = name
    return op


def _inplace(fn: Any, name: str) -> Any:
    where = f"ndarray.{name}"

    def op(self: "ndarray", other: Any) -> Any:
        o = operand(other, where)
        if o is NotImplemented:
            return NotImplemented
        fn(self._a, o)
        events.queued = True
        return self

    op.__name__ = name
    return op


def _to_host(self: "ndarray", why: str) -> np.ndarray:
    count(TO_HOST, why)
    return self._a


class ndarray:  # noqa: N801 (the name CuPy and NumPy give it)
    """A device array of the stand-in: ``ndarray(shape, dtype=float)`` as ``cupy.ndarray``."""

    __slots__ = ("_a", "__weakref__")
    __hash__ = None  # type: ignore[assignment]

    def __init__(self, shape: Any, dtype: Any = float, order: str = "C") -> None:
        self._a = np.empty(shape, dtype=dtype, order=order)

    # -- attributes -----------------------------------------------------------------------------------
    shape = property(lambda self: self._a.shape)
    dtype = property(lambda self: self._a.dtype)
    ndim = property(lambda self: self._a.ndim)
    size = property(lambda self: self._a.size)
    itemsize = property(lambda self: self._a.itemsize)
    nbytes = property(lambda self: self._a.nbytes)
    strides = property(lambda self: self._a.strides)
    flags = property(lambda self: self._a.flags)
    T = property(lambda self: new(self._a.T))
    mT = property(lambda self: new(np.swapaxes(self._a, -1, -2)))
    real = property(lambda self: new(self._a.real))
    imag = property(lambda self: new(self._a.imag))
    base = property(lambda self: None if self._a.base is None else new(self._a.base))
    device = property(lambda self: "standin:0")

    def __getattr__(self, name: str) -> Any:
        if name in METHODS:
            method = getattr(self._a, name)
            where = f"ndarray.{name}"

            def call(*args: Any, **kwargs: Any) -> Any:
                r = method(*dev_args(args, where), **dev_kwargs(kwargs, where))
                return self if r is self._a else wrap(r)

            call.__name__ = name
            return call
        raise AttributeError(f"'cupy.ndarray' (stand-in) object has no attribute {name!r}")

    # -- explicit transfers ---------------------------------------------------------------------------
    def get(self, stream: Any = None, order: str = "C", out: Any = None, blocking: bool = True) -> np.ndarray:
        """A host copy (CuPy's explicit device -> host transfer)."""
        a = np.array(_to_host(self, "ndarray.get"), order=order)
        if out is not None:
            out[...] = a
            return out
        return a

    def set(self, arr: np.ndarray, stream: Any = None) -> None:
        """Copy host data of the same shape and dtype in (CuPy's explicit host -> device transfer)."""
        if not isinstance(arr, np.ndarray) or arr.shape != self.shape or arr.dtype != self.dtype:
            raise ValueError("ndarray.set: a host array of the same shape and dtype is needed")
        count(TO_DEVICE, "ndarray.set")
        self._a[...] = arr

    def item(self) -> Any:
        if self._a.size != 1:
            raise ValueError("can only convert an array of size 1 to a Python scalar")
        return _to_host(self, "ndarray.item").item()

    def tolist(self) -> Any:
        return _to_host(self, "ndarray.tolist").tolist()

    def tobytes(self, order: str = "C") -> bytes:
        return _to_host(self, "ndarray.tobytes").tobytes(order)

    def nonzero(self) -> tuple:
        count(TO_HOST, "nonzero reads the number of non-zero elements")
        return wrap(self._a.nonzero())

    def fill(self, value: Any) -> None:
        if isinstance(value, np.ndarray) and value.ndim:
            raise ValueError("non-scalar numpy.ndarray cannot be used for fill")
        self._a.fill(value._a if type(value) is ndarray else value)

    def astype(self, dtype: Any, order: str = "K", casting: Any = None, subok: Any = None, copy: bool = True) -> Any:
        r = self._a.astype(dtype, order=order, copy=copy) if casting is None else self._a.astype(
            dtype, order=order, casting=casting, copy=copy)
        return self if r is self._a else new(r)

    def reshape(self, *shape: Any, order: str = "C") -> "ndarray":
        return new(self._a.reshape(*shape, order=order))

    def copy(self, order: str = "C") -> "ndarray":
        return new(self._a.copy(order=order))

    def __copy__(self) -> "ndarray":
        return new(self._a.copy())

    def __deepcopy__(self, memo: dict) -> "ndarray":
        return new(self._a.copy())

    def __reduce__(self) -> tuple:
        return new, (np.array(_to_host(self, "pickling a device array")),)

    # -- what CuPy refuses ----------------------------------------------------------------------------
    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        raise TypeError(
            "Implicit conversion to a NumPy array is not allowed. Please use `.get()` to construct a NumPy "
            "array explicitly."
        )

    def __array_ufunc__(self, ufunc: np.ufunc, method: str, *inputs: Any, **kwargs: Any) -> Any:
        from minigrad_standin import xp  # the module is built on this class

        mirror = getattr(xp, ufunc.__name__, None)
        if mirror is None:
            return NotImplemented
        return getattr(mirror, method)(*inputs, **kwargs) if method != "__call__" else mirror(*inputs, **kwargs)

    def __array_function__(self, func: Any, types: Any, args: Any, kwargs: Any) -> Any:
        from minigrad_standin import xp

        module = xp
        for part in func.__module__.split(".")[1:]:
            module = getattr(module, part, None)
            if module is None:
                return NotImplemented
        mirror = getattr(module, func.__name__, None)
        if mirror is None or mirror is func:
            return NotImplemented
        return mirror(*args, **kwargs)

    # -- conversions that transfer --------------------------------------------------------------------
    def __bool__(self) -> bool:
        return bool(_to_host(self, "bool() of a device array"))

    def __float__(self) -> float:
        return float(_to_host(self, "float() of a device array"))

    def __int__(self) -> int:
        return int(_to_host(self, "int() of a device array"))

    def __complex__(self) -> complex:
        return complex(_to_host(self, "complex() of a device array"))

    def __repr__(self) -> str:
        return repr(_to_host(self, "repr of a device array"))

    def __str__(self) -> str:
        return str(_to_host(self, "str of a device array"))

    def __format__(self, spec: str) -> str:
        return format(_to_host(self, "format of a device array"), spec)

    # -- container ------------------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self._a)

    def __iter__(self) -> Any:
        if self._a.ndim == 0:
            raise TypeError("iteration over a 0-d array")
        return (wrap(self._a[i]) for i in range(len(self._a)))

    def __getitem__(self, key: Any) -> "ndarray":
        return wrap(self._a[index(key)])

    def __setitem__(self, key: Any, value: Any) -> None:
        t = type(value)
        if t is ndarray:
            value = value._a
        elif t is list or t is tuple or isinstance(value, np.ndarray) and value.ndim:
            raise ValueError(  # CuPy's fill() refuses host data that is not a scalar (gh-2079)
                f"non-scalar numpy.ndarray cannot be used for fill (a host {t.__name__} assigned into a device "
                "array); move it with xp.asarray(...) first"
            )
        self._a[index(key)] = value
        events.queued = True

    # -- arithmetic -----------------------------------------------------------------------------------
    def __neg__(self) -> "ndarray":
        return new(np.negative(self._a))

    def __pos__(self) -> "ndarray":
        return new(np.positive(self._a))

    def __abs__(self) -> "ndarray":
        return new(np.absolute(self._a))

    def __invert__(self) -> "ndarray":
        return new(np.invert(self._a))

    __add__, __radd__, __iadd__ = _binary(operator.add, "__add__"), _binary(
        operator.add, "__radd__", True), _inplace(operator.iadd, "__iadd__")
    __sub__, __rsub__, __isub__ = _binary(operator.sub, "__sub__"), _binary(
        operator.sub, "__rsub__", True), _inplace(operator.isub, "__isub__")
    __mul__, __rmul__, __imul__ = _binary(operator.mul, "__mul__"), _binary(
        operator.mul, "__rmul__", True), _inplace(operator.imul, "__imul__")
    __truediv__, __rtruediv__, __itruediv__ = _binary(operator.truediv, "__truediv__"), _binary(
        operator.truediv, "__rtruediv__", True), _inplace(operator.itruediv, "__itruediv__")
    __floordiv__, __rfloordiv__, __ifloordiv__ = _binary(operator.floordiv, "__floordiv__"), _binary(
        operator.floordiv, "__rfloordiv__", True), _inplace(operator.ifloordiv, "__ifloordiv__")
    __mod__, __rmod__, __imod__ = _binary(operator.mod, "__mod__"), _binary(
        operator.mod, "__rmod__", True), _inplace(operator.imod, "__imod__")
    __pow__, __rpow__, __ipow__ = _binary(operator.pow, "__pow__"), _binary(
        operator.pow, "__rpow__", True), _inplace(operator.ipow, "__ipow__")
    __matmul__, __rmatmul__ = _binary(operator.matmul, "__matmul__"), _binary(operator.matmul, "__rmatmul__", True)
    __and__, __rand__, __iand__ = _binary(operator.and_, "__and__"), _binary(
        operator.and_, "__rand__", True), _inplace(operator.iand, "__iand__")
    __or__, __ror__, __ior__ = _binary(operator.or_, "__or__"), _binary(
        operator.or_, "__ror__", True), _inplace(operator.ior, "__ior__")
    __xor__, __rxor__, __ixor__ = _binary(operator.xor, "__xor__"), _binary(
        operator.xor, "__rxor__", True), _inplace(operator.ixor, "__ixor__")
    __lshift__, __rshift__ = _binary(operator.lshift, "__lshift__"), _binary(operator.rshift, "__rshift__")
    __divmod__ = _binary(divmod, "__divmod__")
    __eq__, __ne__ = _binary(operator.eq, "__eq__"), _binary(operator.ne, "__ne__")
    __lt__, __le__ = _binary(operator.lt, "__lt__"), _binary(operator.le, "__le__")
    __gt__, __ge__ = _binary(operator.gt, "__gt__"), _binary(operator.ge, "__ge__")
