"""``Tensor``: one backend array plus the graph that produced it.

Every operator and method here is a thin call into a primitive op from
`minigrad.ops` (or a one-line composition of them), recorded in the graph
when grad mode is on and an input requires grad.
"""

from __future__ import annotations

import operator
import threading
import warnings
from collections.abc import Iterable, Sequence
from typing import Any

import backends
from backends import Backend
from minigrad import autograd, ops
from minigrad.anomaly import _anomaly_mode, check_forward
from minigrad.autograd import Function, _grad_enabled, check_freed, run_backward
from minigrad.backend import backend_of, get_backend
from minigrad.dtypes import result_type
from minigrad.graph_scope import _scope

DEFAULT_FLOAT = "float32"

_BASIC_INDEX_TYPES = (int, slice, type(None), type(Ellipsis))


def _apply(fn_cls: type, *parents: "Tensor", **options: Any) -> "Tensor":
    """Run op ``fn_cls`` forward on the parents' arrays and record it for backward.

    Warns (UserWarning) when recording on a tensor whose graph an earlier backward freed
    (see ``check_freed``); in anomaly mode, notes where the op was created and checks its output.
    """
    backend = parents[0].backend
    for p in parents:
        if p.backend is not backend:
            backend_of(fn_cls.__name__.lower(), parents)  # raises, naming both backends
    needs = tuple([p.requires_grad for p in parents])
    record = True in needs and _grad_enabled.get()
    fn = fn_cls(backend, parents if record else (), needs)
    if record:  # a parent recorded before the latest releasing backward may have lost its graph
        scope = _scope.get()
        if scope is not None:  # inside record_scopes (minigrad.viz): where in the network this op ran
            fn.scope = scope
        count = fn.checked_at = autograd._releases
        for p in parents:
            ctx = p._ctx
            if ctx is not None and ctx.checked_at != count:
                check_freed(fn, parents, count)
                break
    try:
        y = fn.forward(*[p.data for p in parents], **options)
    except (ValueError, IndexError, TypeError) as e:
        shapes = ", ".join(str(tuple(p.shape)) for p in parents)
        message = f"{fn_cls.__name__.lower()}: input shapes {shapes}, dtypes {[str(p.dtype) for p in parents]}: {e}"
        try:
            error = type(e)(message)
        except TypeError:  # an exception class with another constructor (NumPy's ufunc errors)
            error = next(cls(message) for cls in (IndexError, TypeError, ValueError) if isinstance(e, cls))
        raise error from None
    anomaly = _anomaly_mode.get()
    if anomaly is not None:
        check_forward(fn, parents, y, record, anomaly)
    return Tensor._wrap(y, backend, fn if record else None)


def apply(fn: type, *inputs: "Tensor", **options: Any) -> "Tensor":
    """Run the op ``fn``, a [`Function`][minigrad.Function] subclass, on ``inputs`` and record it for backward.

    The way to call an op of your own (PyTorch's ``MyFunction.apply(x)``):
    ``fn.forward`` receives the inputs' arrays and the keyword ``options``,
    and the result is a tensor whose ``backward()`` calls ``fn.backward``.
    All inputs must be tensors of one backend; wrap constants with
    [`tensor`][minigrad.creation.tensor] first. See the page *Autograd from scratch*.

        >>> y = mg.apply(Square, x)        # class Square(mg.Function): ...

    Raises:
        TypeError: ``fn`` is not a `Function` subclass, or an input is not a Tensor.
        RuntimeError: the inputs live on different backends (the message names both and the fix).
    """
    if not (isinstance(fn, type) and issubclass(fn, Function)):
        raise TypeError(f"apply: expected a subclass of minigrad.Function, got {fn!r}")
    if not inputs:
        raise TypeError(f"apply: {fn.__name__} needs at least one input tensor")
    for i, x in enumerate(inputs):
        if not isinstance(x, Tensor):
            raise TypeError(f"apply: input {i} of {fn.__name__} is a {type(x).__name__}, expected a Tensor "
                            f"(wrap it with minigrad.tensor(...))")
    return _apply(fn, *inputs, **options)


def _normalize_axis(op: str, axis: int | Sequence[int] | None, ndim: int) -> tuple | None:
    """``axis`` as a sorted tuple of non-negative ints (None stays None: every axis).

    A 0-d tensor follows PyTorch's rule: axis 0 and -1 name the tensor itself
    and give ``()`` (nothing to reduce or move). Raises ValueError naming ``op``
    for an axis out of range or repeated.
    """
    if axis is None:
        return None
    axes = tuple(axis) if isinstance(axis, (tuple, list)) else (axis,)
    out = []
    for given in axes:
        a = _as_index(given)  # NumPy ints are ints; floats and bools are not
        if a is None:
            raise TypeError(f"{op}: axis must be an int or a tuple of ints, got {given!r}")
        if not -max(ndim, 1) <= a < max(ndim, 1):
            valid = "0 or -1 (a 0-d tensor)" if ndim == 0 else f"in [{-ndim}, {ndim - 1}]"
            raise ValueError(f"{op}: axis {a!r} is out of range for a tensor with {ndim} dimensions; valid: {valid}")
        out.append(a % max(ndim, 1))
    if len(set(out)) != len(out):
        raise ValueError(f"{op}: repeated axis in {axis!r}")
    return () if ndim == 0 else tuple(sorted(out))


def _as_index(value: Any) -> int | None:
    """``value`` as a Python int when it is an integer (``int``, NumPy integer, 0-d integer array), else None."""
    if isinstance(value, bool) or getattr(value, "dtype", None) is not None and value.dtype.kind == "b":
        return None
    try:
        return operator.index(value)
    except TypeError:
        return None


def _check_numeric(dtype: Any, given: str) -> None:
    if dtype.kind not in "biuf":
        raise TypeError(
            f"tensor: data of dtype {dtype} ({given}) is not numeric; tensors hold bool, integer or "
            "floating-point numbers"
        )


def _ragged_problem(data: Any) -> str | None:
    """Where nested sequences ``data`` (lists, tuples, arrays) are ragged, e.g. ``"row [1][0] has 1 element,
    row [0][0] has 2"``: the first position, level by level, whose length differs from the first row's at
    that level; None if they are not ragged."""

    def items(x: Any) -> list | None:
        if isinstance(x, (list, tuple)):
            return list(x)
        if getattr(x, "ndim", 0) >= 1 and hasattr(x, "__len__"):  # a NumPy array inside a list
            return list(x)
        return None

    def describe(x: Any) -> str:
        inner = items(x)
        if inner is None:
            return "is a number"
        return f"has {len(inner)} element" + ("" if len(inner) == 1 else "s")

    def name(path: tuple) -> str:
        return "row " + ("".join(f"[{k}]" for k in path) if len(path) > 1 else str(path[0]))

    level = [((), data)]  # (path, value) of every position at this depth
    while level:
        first_path, first = level[0]
        for path, value in level[1:]:
            if describe(value) != describe(first):
                return f"{name(path)} {describe(value)}, {name(first_path)} {describe(first)}"
        level = [((*path, k), v) for path, value in level for k, v in enumerate(items(value) or [])]
    return None


def _host_array(who: str, data: Any) -> Any:
    """Python data (nested lists, tuples, scalars) as a NumPy array.

    Raises:
        TypeError: ``data`` holds tensors in a tuple (the ``(output, h_n)`` pair of a recurrent layer).
        ValueError: the nested sequences are ragged (the message names the first uneven row).
    """
    if isinstance(data, tuple) and any(isinstance(x, (Tensor, tuple)) for x in data):
        raise TypeError(f"{who}: got a tuple of tensors, not data{_RNN_HINT}")
    try:
        return get_backend("numpy").asarray(data)
    except ValueError as e:
        problem = _ragged_problem(data)
        if problem is None:
            raise
        raise ValueError(
            f"{who}: ragged nested sequence: {problem} (pad them, e.g. minigrad.data.pad_sequences)"
        ) from e


_RNN_HINT = " (an RNN returns (output, h_n), an LSTM (output, (h_n, c_n)): take output)"


def check_input(who: str, x: Any, name: str = "input") -> "Tensor":
    """``x`` itself when it is a Tensor; else a TypeError that names ``who``, ``name`` and what ``x`` is.

    The entry check of the modules' ``forward`` and the functions of ``minigrad.nn.functional``:
    a tuple (the ``(output, h_n)`` of a recurrent layer passed on whole) gets a hint to take its
    output, other data a hint to make a tensor.

    Raises:
        TypeError: ``x`` is not a Tensor.
    """
    if isinstance(x, Tensor):
        return x
    kind = type(x).__name__
    if isinstance(x, tuple):
        raise TypeError(f"{who}: {name} must be a Tensor, got tuple{_RNN_HINT}")
    hint = " (make one with minigrad.tensor(...))" if isinstance(x, (list, int, float)) or hasattr(x, "dtype") else ""
    raise TypeError(f"{who}: {name} must be a Tensor, got {kind}{hint}")


def check_float_input(who: str, x: "Tensor", name: str = "input") -> "Tensor":
    """``x`` when it is floating point; else a TypeError naming ``who``, the dtype and the fix.

    For layers whose input is a quantity (``Linear``, the recurrent layers and cells): integer
    input is usually token ids, which need an ``Embedding``; bool input a ``.float()``.

    Raises:
        TypeError: ``x`` is a bool or integer tensor.
    """
    if x.dtype.kind != "f":
        raise TypeError(
            f"{who}: {name} has dtype {x.dtype}, expected floating point; token ids go through an "
            f"nn.Embedding first, other data can be converted with .float()"
        )
    return x


# held while a leaf's .grad is read and replaced: backward() may run in several threads at once
_GRAD_LOCK = threading.Lock()


class Tensor:
    """An n-dimensional array on one backend that records the ops applied to it.

    Args:
        data: nested lists, scalars, a NumPy/CuPy array or a Tensor.
        requires_grad: accumulate ``d(output)/d(self)`` into ``.grad`` on ``backward()``.
        dtype: e.g. ``"float32"`` or ``numpy.float64``; None keeps an array's dtype
            and makes Python floats float32, Python ints int64.
        backend: backend name (or object); None uses the default backend.
    """

    __slots__ = ("data", "_grad", "requires_grad", "backend", "_ctx", "_retains_grad", "__weakref__")
    __array_ufunc__ = None  # make NumPy defer to Tensor's reflected operators

    def __init__(self, data: Any, requires_grad: bool = False, dtype: Any = None, backend: Any = None) -> None:
        if isinstance(data, Tensor):
            backend = backend or data.backend
            data = data.data
        be = get_backend(backend)
        given, python_data = type(data).__name__, not hasattr(data, "dtype")
        if python_data:  # lists and scalars become a host array first, checked before moving to a device
            data = _host_array("tensor", data)
            _check_numeric(data.dtype, given)
        if dtype is not None:
            array = be.asarray(data, dtype=be.dtype(dtype))
        else:
            array = be.asarray(data)
            if array.dtype.kind == "f" and python_data:
                array = array.astype(DEFAULT_FLOAT)
        _check_numeric(array.dtype, given)
        self.data = array
        self.backend = be
        self._grad = None
        self._ctx = None
        self._retains_grad = False
        self.requires_grad = False
        if requires_grad:
            self.requires_grad_(True)

    @classmethod
    def _wrap(cls, array: Any, backend: Backend, ctx: Any = None) -> "Tensor":
        """A tensor around an existing backend array (no copy, no checks)."""
        t = object.__new__(cls)
        t.data = array
        t.backend = backend
        t._grad = None
        t._ctx = ctx
        t._retains_grad = False
        t.requires_grad = ctx is not None
        return t

    # -- attributes ---------------------------------------------------------
    @property
    def grad(self) -> "Tensor | None":
        """The gradient accumulated by ``backward()``: set on leaves that require grad, and on other
        tensors only after ``retain_grad()``. Reading it on any other non-leaf warns (as PyTorch does)
        and gives None."""
        if self._grad is None and self._ctx is not None and not self._retains_grad:
            warnings.warn("the .grad of a tensor that is not a leaf is not filled by backward(); call "
                          ".retain_grad() on it before backward() to keep its gradient", UserWarning, stacklevel=2)
        return self._grad

    @grad.setter
    def grad(self, value: "Tensor | None") -> None:
        self._grad = value

    @property
    def shape(self) -> tuple:
        return tuple(self.data.shape)

    @property
    def dtype(self) -> Any:
        return self.data.dtype

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def is_leaf(self) -> bool:
        """True for tensors not produced by a recorded op (inputs and parameters)."""
        return self._ctx is None

    @property
    def grad_fn(self) -> Any:
        """The recorded op that produced this tensor (a [`Function`][minigrad.Function]), None for a leaf.

        Its ``parents`` are the op's input tensors, so walking them from a loss
        visits the whole graph, as PyTorch's ``grad_fn.next_functions`` does.
        """
        return self._ctx

    def numel(self) -> int:
        return int(self.data.size)

    def size(self, dim: int | None = None) -> Any:
        """The shape as a tuple, or the length of axis ``dim`` (negative counts from the end), as
        PyTorch's ``Tensor.size``.

        Raises:
            IndexError: ``dim`` is out of range (the message gives the valid range).
            TypeError: ``dim`` is not an integer.
        """
        if dim is None:
            return self.shape
        axis = _as_index(dim)
        if axis is None:
            raise TypeError(f"size: dim must be an int, got {dim!r}")
        if not -max(self.ndim, 1) <= axis < max(self.ndim, 1) or self.ndim == 0:
            valid = "none (a 0-d tensor has no axes)" if self.ndim == 0 else f"[{-self.ndim}, {self.ndim - 1}]"
            raise IndexError(f"size: dim {axis} is out of range for a tensor with {self.ndim} dimensions; valid: "
                             f"{valid}")
        return self.shape[axis]

    def dim(self) -> int:
        """The number of axes, ``ndim`` (PyTorch's ``Tensor.dim``)."""
        return self.ndim

    def __len__(self) -> int:
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.data.shape[0]

    def numpy(self) -> Any:
        """A host (NumPy) copy of the data."""
        return self.backend.to_numpy(self.data)

    def tolist(self) -> Any:
        return self.numpy().tolist()

    def item(self) -> float | int | bool:
        """The value of a one-element tensor as a Python number."""
        if self.data.size != 1:
            raise ValueError(f"item: only one-element tensors convert to a Python number, got shape {self.shape}")
        return self.numpy().reshape(()).item()

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __bool__(self) -> bool:
        return bool(self.item())

    def __repr__(self) -> str:
        grad = ", requires_grad=True" if self.requires_grad else ""
        body = repr(self.numpy()).removeprefix("array(").rstrip(")")
        body = body.split(", dtype=")[0]
        return f"tensor({body}, dtype={self.dtype}, backend={self.backend.name!r}{grad})"

    def __hash__(self) -> int:
        return id(self)

    # -- graph control ------------------------------------------------------
    def requires_grad_(self, requires_grad: bool = True) -> "Tensor":
        """Set ``requires_grad`` in place on a leaf tensor; returns self."""
        if requires_grad and self.dtype.kind != "f":
            raise TypeError(f"requires_grad: only floating-point tensors can require gradients, got {self.dtype}")
        if not self.is_leaf and not requires_grad:
            raise RuntimeError("requires_grad_: use .detach() to stop gradients of a non-leaf tensor")
        self.requires_grad = requires_grad
        return self

    def retain_grad(self) -> "Tensor":
        """Keep ``.grad`` on this non-leaf tensor after ``backward()`` (e.g. dL/dh_t)."""
        if not self.requires_grad:
            raise RuntimeError("retain_grad: the tensor does not require grad")
        self._retains_grad = True
        return self

    def detach(self) -> "Tensor":
        """The same data outside the graph: no gradient flows back through it."""
        return Tensor._wrap(self.data, self.backend)

    def to(self, target: Any = None, *, dtype: Any = None, backend: Any = None) -> "Tensor":
        """A copy on another backend and/or with another dtype.

        ``t.to("cupy")``, ``t.to("float64")``, ``t.to(backend="numpy", dtype="float32")``.
        A dtype change is differentiable; a backend change gives a new leaf
        (with the same ``requires_grad``).

        Raises:
            TypeError: ``target`` is neither a backend name nor a dtype, or ``dtype`` is not a
                float, int or bool dtype (the message lists the backends and dtypes).
            ValueError: ``backend`` is not a registered backend (the message lists them).
            RuntimeError: the backend is registered but cannot run here (the message says why).
        """
        if target is not None:
            if isinstance(target, Backend) or (isinstance(target, str) and target in backends.names()):
                backend = target
            else:
                try:
                    dtype = self.backend.dtype(target, who="Tensor.to")
                except TypeError:
                    names, dtypes = backends.names(), backends.base.DTYPES
                    raise TypeError(
                        f"Tensor.to: {target!r} is neither a backend nor a dtype; backends: {', '.join(names)}; "
                        f"dtypes: {', '.join(dtypes)}" + backends.choices.did_you_mean(target, [*names, *dtypes])
                    ) from None
        out = self
        if dtype is not None:
            dt = self.backend.dtype(dtype, who="Tensor.to")
            if dt != self.dtype:
                out = _apply(ops.Cast, out, dtype=dt)
        if backend is not None:
            be = get_backend(backend, who="Tensor.to")
            if be is not self.backend:
                array = be.asarray(self.backend.to_numpy(out.data))
                out = Tensor._wrap(array, be)
                out.requires_grad = self.requires_grad
        return out

    def float(self) -> "Tensor":
        return self.to(dtype="float32")

    def double(self) -> "Tensor":
        return self.to(dtype="float64")

    def backward(self, grad: Any = None, retain_graph: bool = False) -> None:
        """Accumulate the gradient of this tensor into ``.grad`` of every leaf it depends on.

        Args:
            grad: d(something)/d(self), same shape as self; implicit 1 for a scalar.
            retain_graph: keep the graph so backward can run through it again.
        """
        if not self.requires_grad:
            raise RuntimeError(
                "backward: this tensor does not require grad: none of its inputs has "
                "requires_grad=True, or it was computed under no_grad()"
            )
        if grad is None:
            if self.data.size != 1:
                raise RuntimeError(
                    f"backward: grad can be implicitly 1 only for a scalar output, got shape {self.shape}; "
                    "pass grad= with the same shape or reduce first (e.g. loss.sum())"
                )
            g = self.backend.xp.ones(self.data.shape, dtype=self.dtype)
        else:
            g = grad.data if isinstance(grad, Tensor) else self.backend.asarray(grad, dtype=self.dtype)
            if tuple(g.shape) != self.shape:
                raise ValueError(f"backward: grad has shape {tuple(g.shape)} but the tensor has shape {self.shape}")
        if self._ctx is None:
            self._accumulate_grad(g)
        else:
            run_backward(self, g, retain_graph)

    def _accumulate_grad(self, g: Any) -> None:
        """``.grad += g``; atomic, so backward passes in several threads sum every gradient (as PyTorch's)."""
        if g.dtype != self.dtype:
            g = g.astype(self.dtype)
        with _GRAD_LOCK:
            if self.grad is None:  # own the memory: ops may hand the same array to several inputs
                self.grad = Tensor._wrap(self.backend.xp.array(g, copy=True), self.backend)
            else:
                self.grad = Tensor._wrap(self.grad.data + g, self.backend)

    # -- arithmetic ---------------------------------------------------------
    # Operands are first brought to one dtype by PyTorch's promotion rules
    # (minigrad.dtypes): ``bool_mask * 2`` is int64, ``int_tensor / 2`` float32.
    def _lift(self, other: Any) -> "Tensor":
        """``other`` as a tensor on this tensor's backend; Python scalars take this dtype."""
        if isinstance(other, Tensor):
            return other
        if isinstance(other, (int, float, bool)):
            return _scalar(self.backend, other, result_type(self, other), "tensor")
        return Tensor(other, backend=self.backend)

    def _binary(self, fn_cls: type, other: Any, reflected: bool = False) -> "Tensor":
        a, b = promote(fn_cls.__name__.lower(), self, other)
        return _apply(fn_cls, b, a) if reflected else _apply(fn_cls, a, b)

    def __add__(self, other: Any) -> "Tensor":
        return self._binary(ops.Add, other)

    def __radd__(self, other: Any) -> "Tensor":
        return self._binary(ops.Add, other, reflected=True)

    def __sub__(self, other: Any) -> "Tensor":
        self._check_no_bool_sub(other)
        return self._binary(ops.Sub, other)

    def __rsub__(self, other: Any) -> "Tensor":
        self._check_no_bool_sub(other)
        return self._binary(ops.Sub, other, reflected=True)

    def _check_no_bool_sub(self, other: Any) -> None:
        """PyTorch refuses ``-`` with a bool operand: it is almost always a mask meant to be inverted."""
        if self.dtype.kind == "b" or isinstance(other, bool) or (isinstance(other, Tensor) and other.dtype.kind == "b"):
            raise TypeError(
                "sub: subtraction with a bool operand is not supported; invert a mask with mg.where(mask, 0, 1) "
                "or convert it first with .to('int64') or .float()"
            )

    def __mul__(self, other: Any) -> "Tensor":
        return self._binary(ops.Mul, other)

    def __rmul__(self, other: Any) -> "Tensor":
        return self._binary(ops.Mul, other, reflected=True)

    def __truediv__(self, other: Any) -> "Tensor":
        a, b = promote("div", self, other, floating=True)
        return _apply(ops.Div, a, b)

    def __rtruediv__(self, other: Any) -> "Tensor":
        a, b = promote("div", self, other, floating=True)
        return _apply(ops.Div, b, a)

    def __pow__(self, other: Any) -> "Tensor":
        if isinstance(other, (int, float)) and not isinstance(other, bool):
            x = self._as_dtype(result_type(self, other))
            return _apply(ops.PowScalar, x, p=other)
        return self._binary(ops.Pow, other)

    def __rpow__(self, other: Any) -> "Tensor":
        return self._binary(ops.Pow, other, reflected=True)

    def __neg__(self) -> "Tensor":
        if self.dtype.kind == "b":
            raise TypeError("neg: negation of a bool tensor is not supported; use ~mask or mask.logical_not()")
        return _apply(ops.Neg, self)

    def __matmul__(self, other: Any) -> "Tensor":
        return matmul(*promote("matmul", self, other))

    def __rmatmul__(self, other: Any) -> "Tensor":
        a, b = promote("matmul", self, other)
        return matmul(b, a)

    def _as_dtype(self, dtype: Any) -> "Tensor":
        """This tensor in ``dtype`` (differentiable; itself when the dtype already matches)."""
        return self if self.dtype == dtype else _apply(ops.Cast, self, dtype=self.backend.dtype(dtype))

    def _floating(self) -> "Tensor":
        """This tensor as floating point (bool and integer tensors become float32, as in PyTorch)."""
        return self if self.dtype.kind == "f" else self._as_dtype(DEFAULT_FLOAT)

    # comparisons give boolean tensors outside the graph (for masks and where)
    def _compare(self, other: Any, op: Any) -> "Tensor":
        if other is None or isinstance(other, (str, bytes)):
            return NotImplemented  # Python's answer: == is False, != True, < a TypeError
        a, b = promote(op.__name__, self, other)
        return Tensor._wrap(op(a.data, b.data), self.backend)

    def __lt__(self, other: Any) -> "Tensor":
        return self._compare(other, operator.lt)

    def __le__(self, other: Any) -> "Tensor":
        return self._compare(other, operator.le)

    def __gt__(self, other: Any) -> "Tensor":
        return self._compare(other, operator.gt)

    def __ge__(self, other: Any) -> "Tensor":
        return self._compare(other, operator.ge)

    def __eq__(self, other: Any) -> "Tensor":  # type: ignore[override]
        return self._compare(other, operator.eq)

    def __ne__(self, other: Any) -> "Tensor":  # type: ignore[override]
        return self._compare(other, operator.ne)

    # -- elementwise functions -------------------------------------------------
    def exp(self) -> "Tensor":
        return _apply(ops.Exp, self._floating())

    def log(self) -> "Tensor":
        return _apply(ops.Log, self._floating())

    def sqrt(self) -> "Tensor":
        return _apply(ops.Sqrt, self._floating())

    def abs(self) -> "Tensor":
        return _apply(ops.Abs, self)

    def tanh(self) -> "Tensor":
        return _apply(ops.Tanh, self._floating())

    def sigmoid(self) -> "Tensor":
        return _apply(ops.Sigmoid, self._floating())

    def relu(self) -> "Tensor":
        return _apply(ops.Relu, self)

    def clip(self, lo: float | None = None, hi: float | None = None) -> "Tensor":
        """Clamp every element to [lo, hi] (either bound may be None)."""
        if lo is None and hi is None:
            raise ValueError("clip: give at least one of lo and hi")
        return _apply(ops.Clip, self, lo=lo, hi=hi)

    # -- reductions ---------------------------------------------------------
    def sum(self, axis: int | Sequence[int] | None = None, keepdims: bool = False) -> "Tensor":
        return _apply(ops.Sum, self, axis=_normalize_axis("sum", axis, self.ndim), keepdims=keepdims)

    def mean(self, axis: int | Sequence[int] | None = None, keepdims: bool = False) -> "Tensor":
        """Mean over ``axis`` (all axes when None) of a floating-point tensor.

        The mean of no elements (an empty tensor or axis) is nan, as in PyTorch.

        Raises:
            TypeError: the tensor is not floating point (PyTorch's rule; use ``x.float().mean()``).
        """
        if self.dtype.kind != "f":
            raise TypeError(f"mean: the input must be floating point, got {self.dtype}; use x.float().mean()")
        axes = _normalize_axis("mean", axis, self.ndim)
        count = self.numel() if axes is None else _prod(self.shape[a] for a in axes)
        total = _apply(ops.Sum, self, axis=axes, keepdims=keepdims)
        if count == 0:  # the mean of no elements is nan, as in PyTorch, without NumPy's 0/0 warning
            return total * float("nan")
        return total / count

    def max(self, axis: int | Sequence[int] | None = None, keepdims: bool = False) -> "Tensor":
        """Maximum over ``axis``; tied maxima share the gradient equally (like ``torch.amax``)."""
        return self._extremum("max", axis, keepdims)

    def min(self, axis: int | Sequence[int] | None = None, keepdims: bool = False) -> "Tensor":
        """Minimum over ``axis``; tied minima share the gradient equally (like ``torch.amin``)."""
        return self._extremum("min", axis, keepdims)

    def _extremum(self, op: str, axis: Any, keepdims: bool) -> "Tensor":
        axes = _normalize_axis(op, axis, self.ndim)
        if axes is None and self.numel() == 0:
            raise ValueError(f"{op}: empty tensor of shape {self.shape} has no {op}imum")
        if axes is not None and any(self.shape[a] == 0 for a in axes):
            raise ValueError(f"{op}: axis {axis!r} of shape {self.shape} is empty; it has no {op}imum")
        return _apply(ops.Max, self, axis=axes, keepdims=keepdims, lowest=op == "min")

    # -- shape ----------------------------------------------------------------
    def reshape(self, *shape: Any) -> "Tensor":
        """The same elements in ``shape`` (one entry may be -1)."""
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        return _apply(ops.Reshape, self, shape=tuple(shape))

    def flatten(self, start_axis: int = 0) -> "Tensor":
        """Merge the axes from ``start_axis`` on into one (a 0-d tensor becomes shape ``(1,)``, as in PyTorch)."""
        if self.ndim == 0:
            _normalize_axis("flatten", start_axis, 0)
            return self.reshape(1)
        start = _normalize_axis("flatten", start_axis, self.ndim)[0]
        return self.reshape(self.shape[:start] + (-1,))

    def unsqueeze(self, axis: int) -> "Tensor":
        """Insert a size-1 axis at ``axis`` (in [-ndim - 1, ndim])."""
        n = self.ndim + 1
        axis = _as_index(axis) if _as_index(axis) is not None else axis
        if isinstance(axis, bool) or not isinstance(axis, int) or not -n <= axis < n:
            raise ValueError(
                f"unsqueeze: axis {axis!r} is out of range for a tensor with {self.ndim} dimensions; "
                f"valid: in [{-n}, {n - 1}]"
            )
        axis %= n
        return self.reshape(self.shape[:axis] + (1,) + self.shape[axis:])

    def squeeze(self, axis: int | Sequence[int] | None = None) -> "Tensor":
        """Remove size-1 axes: ``axis`` (an int, or a tuple of them), or every size-1 axis when None.

        As in PyTorch, a named axis whose size is not 1 is left in place (no error).
        """
        axis = _as_index(axis) if _as_index(axis) is not None else axis
        if axis is None or not isinstance(axis, int):
            return self._squeeze_axes(axis)
        axes = _normalize_axis("squeeze", axis, self.ndim)
        if not axes:  # a 0-d tensor
            return self.reshape(())
        axis = axes[0]
        if self.shape[axis] != 1:  # PyTorch's rule: an axis of another size is left alone
            return self
        return self.reshape(self.shape[:axis] + self.shape[axis + 1 :])

    def transpose(self, *axes: Any) -> "Tensor":
        """Permute axes; no arguments reverses them."""
        if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
            axes = tuple(axes[0])
        if not axes:
            axes = tuple(reversed(range(self.ndim)))
        if sorted(a % max(self.ndim, 1) for a in axes) != list(range(self.ndim)):
            raise ValueError(f"transpose: axes {axes} are not a permutation of the {self.ndim} axes of {self.shape}")
        return _apply(ops.Transpose, self, axes=tuple(a % self.ndim for a in axes))

    def swapaxes(self, a: int, b: int) -> "Tensor":
        """Exchange axes ``a`` and ``b`` (a 0-d tensor accepts 0 and -1 and stays itself)."""
        for ax in (a, b):
            _normalize_axis("swapaxes", ax, self.ndim)
        if self.ndim == 0:
            return self.reshape(())
        axes = list(range(self.ndim))
        axes[a], axes[b] = axes[b], axes[a]
        return self.transpose(axes)

    @property
    def T(self) -> "Tensor":
        return self.transpose()

    # -- more ops (PyTorch names) ---------------------------------------------
    # argmax/argmin, expand/broadcast_to, flip, split/chunk, gather/take_along_axis,
    # repeat/tile/repeat_interleave, cumsum, var/std, sign/floor/ceil/round, sin/cos.
    # Free functions (argmax, maximum, broadcast_to, ...) are at the end of the file.
    def argmax(self, axis: int | None = None, keepdims: bool = False) -> "Tensor":
        """Index of the largest element along ``axis`` (of the flattened tensor when None), as int64.

        Ties give the first occurrence, and nan counts as larger than any number
        (the first nan wins), as in PyTorch. The result is outside the graph.

        Args:
            axis: the axis to reduce; None flattens first.
            keepdims: keep the reduced axis (every axis when ``axis`` is None) as size 1.

        Returns:
            An int64 tensor: the shape without ``axis``; ``()`` for ``axis=None``.

        Raises:
            ValueError: ``axis`` is out of range, or the reduced axis (or the tensor) is empty.
        """
        return self._arg_extremum("argmax", axis, keepdims)

    def argmin(self, axis: int | None = None, keepdims: bool = False) -> "Tensor":
        """Index of the smallest element along ``axis``, as int64; see [`argmax`][minigrad.Tensor.argmax] (nan wins here
        too)."""
        return self._arg_extremum("argmin", axis, keepdims)

    def _arg_extremum(self, op: str, axis: int | None, keepdims: bool) -> "Tensor":
        if axis is not None and _as_index(axis) is None:
            raise TypeError(f"{op}: axis must be an int or None, got {axis!r}")
        axes = _normalize_axis(op, axis, self.ndim)
        xp = self.backend.xp
        if (self.numel() == 0 and axes is None) or (axes and self.shape[axes[0]] == 0):
            what = "tensor" if axes is None else f"axis {axis} of the tensor"
            raise ValueError(f"{op}: the {what} of shape {self.shape} is empty; it has no {op[3:]}imum")
        if self.ndim == 0:  # PyTorch: the one element is at index 0
            return Tensor._wrap(xp.zeros((), dtype="int64"), self.backend)
        found = getattr(xp, op)(self.data, axis=None if axes is None else axes[0], keepdims=keepdims)
        return Tensor._wrap(xp.asarray(found, dtype="int64"), self.backend)

    def expand(self, *sizes: int | Sequence[int]) -> "Tensor":
        """A view stretched to ``sizes``: size-1 axes repeat, new axes are added in front.

        ``-1`` keeps an existing axis's size (PyTorch): ``x (3, 1)``,
        ``x.expand(-1, 4)`` is ``(3, 4)`` and ``x.expand(2, 3, 4)`` is ``(2, 3, 4)``.
        No data is copied; the gradient sums over the stretched axes.

        Raises:
            ValueError: fewer sizes than dimensions, ``-1`` for a new axis, or an
                axis of size other than 1 asked to change size.
        """
        return _apply(ops.BroadcastTo, self, shape=_target_shape("expand", self.shape, _sizes(sizes, "expand")))

    def broadcast_to(self, shape: Sequence[int]) -> "Tensor":
        """This tensor broadcast to ``shape`` (NumPy's rules; ``-1`` keeps a size as in PyTorch); see
        [`expand`][minigrad.Tensor.expand]."""
        target = _target_shape("broadcast_to", self.shape, _sizes((shape,), "broadcast_to"))
        return _apply(ops.BroadcastTo, self, shape=target)

    def _squeeze_axes(self, axis: Sequence[int] | None) -> "Tensor":
        """``squeeze()``: drop every size-1 axis; ``squeeze((a, b))``: each axis as ``squeeze(a)`` would."""
        if axis is None:
            return self.reshape(tuple(n for n in self.shape if n != 1))
        axes = _normalize_axis("squeeze", axis, self.ndim)
        out = self.reshape(self.shape)
        for a in reversed(axes):  # from the last, so the earlier axes keep their numbers
            out = out.squeeze(a)
        return out

    def flip(self, axis: int | Sequence[int] | None) -> "Tensor":
        """Reverse the order of the elements along ``axis`` (an int or a tuple; None reverses every axis).

        Raises:
            ValueError: an axis is out of range or repeated.
        """
        axes = _normalize_axis("flip", axis, self.ndim)
        axes = range(self.ndim) if axes is None else axes
        if self.ndim == 0:
            return self.reshape(())
        reverse = slice(None, None, -1)
        return self[tuple(reverse if d in axes else slice(None) for d in range(self.ndim))]

    def split(self, split_size_or_sections: int | Sequence[int], axis: int = 0) -> tuple["Tensor", ...]:
        """Cut into pieces along ``axis``, as ``torch.split``.

        An int ``k`` gives pieces of length ``k`` (the last one shorter when
        ``k`` does not divide the length); a list gives the length of each
        piece, which must add up to the length of ``axis``.
        ``x (5, 2)``: ``x.split(2)`` is ``(2, 2), (2, 2), (1, 2)``; ``x.split([1, 4])``
        is ``(1, 2), (4, 2)``.

        Returns:
            A tuple of tensors (slices of this one in the graph).

        Raises:
            ValueError: a 0-d tensor, a negative or zero size (zero only fits an
                empty axis), or sizes that do not add up to the length.
        """
        axis = _split_axis("split", self.shape, axis)
        n = self.shape[axis]
        if _as_index(split_size_or_sections) is not None:
            k = _as_index(split_size_or_sections)
            if k < 0 or (k == 0 and n != 0):
                raise ValueError(
                    f"split: split size must be positive (0 only for an empty axis), got {k} "
                    f"for axis {axis} of shape {self.shape}"
                )
            sizes = [min(k, n - start) for start in range(0, n, k)] if n else [0]
        else:
            sizes = [int(s) for s in split_size_or_sections]
            if any(s < 0 for s in sizes) or sum(sizes) != n:
                raise ValueError(
                    f"split: sizes {sizes} must be non-negative and add up to {n}, the length of axis {axis} "
                    f"of shape {self.shape}"
                )
        return self._pieces(axis, sizes)

    def chunk(self, chunks: int, axis: int = 0) -> tuple["Tensor", ...]:
        """Cut into at most ``chunks`` pieces of equal length ``ceil(n / chunks)`` along ``axis``, as ``torch.chunk``.

        The last piece is shorter when the length ``n`` does not divide
        evenly, and there are fewer pieces when ``n`` is small:
        ``(6,)`` in 4 chunks gives three pieces of 2.

        Raises:
            ValueError: ``chunks`` is not positive, or the tensor is 0-d.
        """
        axis = _split_axis("chunk", self.shape, axis)
        if _as_index(chunks) is None or _as_index(chunks) <= 0:
            raise ValueError(f"chunk: chunks must be a positive int, got {chunks!r}")
        chunks = _as_index(chunks)
        n = self.shape[axis]
        if n == 0:
            return self._pieces(axis, [0] * chunks)
        return self.split(-(-n // chunks), axis)

    def _pieces(self, axis: int, sizes: Sequence[int]) -> tuple["Tensor", ...]:
        lead, start, pieces = (slice(None),) * axis, 0, []
        for k in sizes:
            pieces.append(self[lead + (slice(start, start + k),)])
            start += k
        return tuple(pieces)

    def gather(self, axis: int, index: Any) -> "Tensor":
        """``out[i][j][k] = x[i][index[i][j][k]][k]`` for ``axis=1``: ``torch.gather``.

        ``index`` (integers, the input's number of dimensions) gives the shape
        of the result; outside ``axis`` it may be smaller than the input, never
        larger, and it does not broadcast. Repeated indices accumulate their
        gradients.

        Args:
            axis: the axis to pick along.
            index: integer tensor, array or nested list, values in [0, length of ``axis``).

        Raises:
            TypeError: ``index`` does not hold integers.
            ValueError: ``index`` has another number of dimensions, or is larger outside ``axis``.
            IndexError: an index is out of range.
        """
        index = _as_indices("gather", self, index)
        if index.ndim != self.ndim:
            raise ValueError(
                f"gather: index must have the input's {self.ndim} dimensions, got index shape "
                f"{tuple(index.shape)} for input shape {self.shape}"
            )
        axes = _normalize_axis("gather", axis, self.ndim)
        if not axes:  # 0-d input and index
            return self.reshape(1).gather(0, index.reshape(1)).reshape(())
        axis = axes[0]
        others = [d for d in range(self.ndim) if d != axis]
        if any(index.shape[d] > self.shape[d] for d in others):
            raise ValueError(
                f"gather: index shape {tuple(index.shape)} must be no larger than input shape {self.shape} "
                f"outside axis {axis}"
            )
        _check_index_range("gather", index, self.shape, axis, negative=False)
        x = self
        if any(index.shape[d] < self.shape[d] for d in others):
            x = self[tuple(slice(None) if d == axis else slice(0, index.shape[d]) for d in range(self.ndim))]
        return _apply(ops.TakeAlongAxis, x, indices=index, axis=axis)

    def take_along_axis(self, indices: Any, axis: int | None) -> "Tensor":
        """Pick along ``axis`` by ``indices``, as ``numpy.take_along_axis`` (``torch.take_along_dim``).

        ``indices`` has the input's number of dimensions and broadcasts against
        it outside ``axis``; negative indices count from the end. With
        ``axis=None`` both are flattened first. Repeated indices accumulate
        their gradients. ``x (N, C)``, ``x.take_along_axis(t[:, None], 1)`` is ``(N, 1)``.

        Raises:
            TypeError: ``indices`` does not hold integers.
            ValueError: another number of dimensions, or shapes that do not broadcast outside ``axis``.
            IndexError: an index is out of range.
        """
        indices = _as_indices("take_along_axis", self, indices)
        if axis is None:
            return self.reshape(-1).take_along_axis(indices.reshape(-1), 0)
        if indices.ndim != self.ndim:
            raise ValueError(
                f"take_along_axis: indices must have the input's {self.ndim} dimensions, got indices shape "
                f"{tuple(indices.shape)} for input shape {self.shape}"
            )
        axes = _normalize_axis("take_along_axis", axis, self.ndim)
        if not axes:  # 0-d input and indices
            return self.reshape(1).take_along_axis(indices.reshape(1), 0).reshape(())
        axis = axes[0]
        if any(a != b and 1 not in (a, b) for d, (a, b) in enumerate(zip(indices.shape, self.shape)) if d != axis):
            raise ValueError(
                f"take_along_axis: indices shape {tuple(indices.shape)} does not broadcast against input shape "
                f"{self.shape} outside axis {axis}"
            )
        _check_index_range("take_along_axis", indices, self.shape, axis, negative=True)
        return _apply(ops.TakeAlongAxis, self, indices=indices, axis=axis)

    def repeat(self, *sizes: int | Sequence[int]) -> "Tensor":
        """Tile the whole tensor ``sizes[i]`` times along axis ``i``: PyTorch's ``Tensor.repeat`` (NumPy's ``tile``).

        There must be at least one count per dimension; extra counts add
        leading axes. ``x (2, 3)``, ``x.repeat(2, 1, 2)`` is ``(2, 2, 6)``.
        For NumPy's ``repeat`` (each element in turn) see [`repeat_interleave`][minigrad.Tensor.repeat_interleave].

        Raises:
            ValueError: fewer counts than dimensions, or a negative count.
        """
        reps = _sizes(sizes, "repeat")
        if len(reps) < self.ndim:
            raise ValueError(
                f"repeat: got {len(reps)} counts {reps} for shape {self.shape}; give one per dimension "
                "at least (tile accepts fewer)"
            )
        if any(r < 0 for r in reps):
            raise ValueError(f"repeat: counts must be non-negative, got {reps}")
        shape = (1,) * (len(reps) - self.ndim) + self.shape
        # (r0, r1) x (n0, n1): view as (1, n0, 1, n1), broadcast to (r0, n0, r1, n1), merge pairs
        pairs = tuple(v for n in shape for v in (1, n))
        stretched = tuple(v for r, n in zip(reps, shape) for v in (r, n))
        return self.reshape(pairs).broadcast_to(stretched).reshape(tuple(r * n for r, n in zip(reps, shape)))

    def tile(self, reps: int | Sequence[int]) -> "Tensor":
        """Like [`repeat`][minigrad.Tensor.repeat], but fewer counts than dimensions are padded with leading 1s
        (``torch.tile``)."""
        reps = _sizes((reps,), "tile")
        return self.repeat((1,) * (self.ndim - len(reps)) + reps)

    def repeat_interleave(self, repeats: int | Sequence[int] | "Tensor", axis: int | None = None) -> "Tensor":
        """Repeat each element (each slice along ``axis``) ``repeats`` times in place: NumPy's ``repeat``.

        ``[1, 2].repeat_interleave(2)`` is ``[1, 1, 2, 2]``. ``repeats`` is an
        int, or one count per slice (a list or integer tensor of the length
        of ``axis``, or of length 1). ``axis=None`` flattens first (a 0-d
        tensor is always flattened; PyTorch raises there).

        Raises:
            ValueError: a negative count, or counts of the wrong length.
        """
        _normalize_axis("repeat_interleave", axis, self.ndim)  # a bad axis names the op (0-d: only 0 or -1)
        x, axis = (self.reshape(-1), 0) if axis is None or self.ndim == 0 else (self, axis)
        axis = _normalize_axis("repeat_interleave", axis, x.ndim)[0]
        n = x.shape[axis]
        if isinstance(repeats, int):
            if repeats < 0:
                raise ValueError(f"repeat_interleave: repeats must be non-negative, got {repeats}")
            stretched = x.shape[: axis + 1] + (repeats,) + x.shape[axis + 1 :]
            merged = x.shape[:axis] + (n * repeats,) + x.shape[axis + 1 :]
            return x.unsqueeze(axis + 1).expand(stretched).reshape(merged)
        xp = self.backend.xp
        counts = self.backend.to_numpy(_as_indices("repeat_interleave", self, repeats)).reshape(-1).tolist()
        if len(counts) not in (1, n) or min(counts, default=0) < 0:
            raise ValueError(
                f"repeat_interleave: repeats must be {n} (or 1) non-negative counts for axis {axis} "
                f"of shape {x.shape}, got {counts}"
            )
        index = xp.repeat(xp.arange(n), counts if len(counts) == n else counts[0])  # a host list suits CuPy too
        return x[(slice(None),) * axis + (index,)]

    def cumsum(self, axis: int) -> "Tensor":
        """Cumulative sum along ``axis``: ``y_i = x_0 + ... + x_i``; integer and bool tensors give int64.

        Raises:
            ValueError: ``axis`` is out of range.
        """
        if _as_index(axis) is None:
            raise TypeError(f"cumsum: axis must be an int, got {axis!r}")
        axes = _normalize_axis("cumsum", axis, self.ndim)
        if not axes:  # 0-d: the sum of one element
            return self.reshape(())
        return _apply(ops.CumSum, self, axis=axes[0])

    def var(
        self,
        axis: int | Sequence[int] | None = None,
        correction: float = 1,
        keepdims: bool = False,
        *,
        unbiased: bool | None = None,
    ) -> "Tensor":
        """Variance over ``axis``: ``sum((x - mean)^2) / max(0, n - correction)``, as in PyTorch 2.

        The default ``correction=1`` is the unbiased (sample) variance;
        ``correction=0`` the population variance. ``unbiased=True/False`` is the
        older spelling of ``correction=1/0`` (so is a bool second argument,
        ``x.var(1, False)``). ``n - correction <= 0`` gives inf or nan, as in
        PyTorch. The gradient is ``2 (x - mean) / (n - correction)``.

        Raises:
            TypeError: the tensor is not floating point.
            ValueError: ``axis`` is out of range, or both ``correction`` and ``unbiased`` are given.
        """
        return self._var("var", axis, _correction("var", correction, unbiased), keepdims)

    def _var(self, op: str, axis: int | Sequence[int] | None, correction: float, keepdims: bool) -> "Tensor":
        if self.dtype.kind != "f":
            raise TypeError(f"{op}: the input must be floating point, got {self.dtype}; use x.float().{op}()")
        axes = _normalize_axis(op, axis, self.ndim)
        n = self.numel() if axes is None else _prod(self.shape[a] for a in axes)
        # the mean is held constant: its derivative term, sum(x - mean) / n, is exactly zero
        dev = self - self.detach().mean(axes, keepdims=True)
        return (dev * dev).sum(axes, keepdims) / max(0, n - correction)

    def std(
        self,
        axis: int | Sequence[int] | None = None,
        correction: float = 1,
        keepdims: bool = False,
        *,
        unbiased: bool | None = None,
    ) -> "Tensor":
        """Standard deviation ``sqrt(var)`` over ``axis``; arguments as in [`var`][minigrad.Tensor.var].

        Where the standard deviation is 0 (constant input) the gradient is 0, as
        in PyTorch, not the 0 * inf of the chain rule through sqrt.

        Raises:
            TypeError: the tensor is not floating point.
            ValueError: ``axis`` is out of range, or both ``correction`` and ``unbiased`` are given.
        """
        v = self._var("std", axis, _correction("std", correction, unbiased), keepdims)
        zero = v.detach() == 0
        # sqrt only where v != 0 (nan and inf included), so no 1 / (2 sqrt(0)) reaches the gradient
        return where(zero, 0.0, where(zero, 1.0, v).sqrt())

    def sign(self) -> "Tensor":
        """-1, 0 or 1 by the sign of each element; ``sign(nan)`` is 0 and the gradient is 0, as in PyTorch."""
        return _apply(ops.Sign, self)

    def floor(self) -> "Tensor":
        """Round down to an integer value (same dtype); the gradient is 0, as in PyTorch."""
        return _apply(ops.Floor, self)

    def ceil(self) -> "Tensor":
        """Round up to an integer value (same dtype); the gradient is 0, as in PyTorch."""
        return _apply(ops.Ceil, self)

    def round(self, decimals: int = 0) -> "Tensor":
        """Round to ``decimals`` places, halves to even (``0.5 -> 0``, ``2.5 -> 2``); the gradient is 0.

        Raises:
            TypeError: ``decimals`` is not 0 for an integer tensor (as in PyTorch).
        """
        if decimals != 0 and self.dtype.kind != "f":
            raise TypeError(f"round: decimals needs a floating-point tensor, got {self.dtype}")
        return _apply(ops.Round, self, decimals=decimals)

    def sin(self) -> "Tensor":
        """Sine, elementwise (integer tensors become float32)."""
        return _apply(ops.Sin, self._floating())

    def cos(self) -> "Tensor":
        """Cosine, elementwise (integer tensors become float32)."""
        return _apply(ops.Cos, self._floating())

    def __getitem__(self, index: Any) -> "Tensor":
        """``x[index]`` with PyTorch's semantics (differentiable).

        Ints, slices, ``None`` and ``...`` select as in NumPy; integer or
        boolean index arrays gather (repeated indices accumulate gradients).
        When ints are mixed with index arrays, the ints select first, as in
        PyTorch: on a ``(3, 4, 5)`` tensor ``x[1, :, [0, 2]]`` has shape
        ``(4, 2)`` (NumPy would move the gathered axis first and give ``(2, 4)``).
        """
        index, basic = self._index(index)
        if not basic and isinstance(index, tuple):
            ints_first = _split_int_selection(index)
            if ints_first is not None:
                selected = _apply(ops.GetItem, self, index=ints_first[0], basic=True)
                return _apply(ops.GetItem, selected, index=ints_first[1], basic=False)
        return _apply(ops.GetItem, self, index=index, basic=basic)

    def _index(self, index: Any) -> tuple[Any, bool]:
        """Backend-ready index and whether it is basic (ints and slices only)."""
        items = index if isinstance(index, tuple) else (index,)
        out = []
        for item in items:
            if isinstance(item, Tensor):
                item = item.data
            elif isinstance(item, (list, range)) and len(item) == 0:
                item = self.backend.xp.zeros(0, dtype="int64")  # an empty list selects nothing
            elif isinstance(item, (list, range)) or (hasattr(item, "dtype") and not self.backend.is_array(item)):
                item = self.backend.asarray(item)
            if getattr(item, "ndim", None) == 0 and item.dtype.kind in "iu":
                item = int(item)  # a NumPy or 0-d tensor int is an int, as in PyTorch (it selects first)
            if hasattr(item, "dtype") and item.dtype.kind not in "iub":
                raise IndexError(f"index: index arrays must have an integer or bool dtype, got {item.dtype}")
            if isinstance(item, float):
                raise IndexError(f"index: {item!r} is a float; indices must be integers or slices")
            out.append(item)
        basic = all(isinstance(i, _BASIC_INDEX_TYPES) for i in out)
        return (tuple(out) if isinstance(index, tuple) else out[0]), basic


def _is_int(item: Any) -> bool:
    return isinstance(item, int) and not isinstance(item, bool)


def _split_int_selection(index: tuple) -> tuple[tuple, tuple] | None:
    """``(ints, rest)`` for an index mixing ints with index arrays, so that
    ``x[index] == x[ints][rest]`` as in PyTorch; None when there is no such mix.

    ``ints`` keeps each int and puts a full slice on every other axis an item
    consumes (a boolean mask consumes its ndim axes, ``None`` none); ``rest``
    is the index without the ints.
    """
    if not any(_is_int(i) for i in index):
        return None
    ints: list = []
    for item in index:
        if _is_int(item) or item is Ellipsis:
            ints.append(item)
        elif item is None:
            continue
        elif hasattr(item, "dtype") and item.dtype.kind == "b":
            ints.extend([slice(None)] * max(item.ndim, 1))
        else:
            ints.append(slice(None))
    return tuple(ints), tuple(i for i in index if not _is_int(i))


def _prod(values: Iterable[int]) -> int:
    n = 1
    for v in values:
        n *= v
    return n


def matmul(a: Tensor, b: Tensor) -> Tensor:
    """Matrix product ``a @ b``: 2-D, batched ``(..., n, k) @ (..., k, m)`` with broadcast batch dims.

    1-D operands are treated like NumPy (a vector is a row on the left, a column on the right).
    """
    if a.ndim == 0 or b.ndim == 0:
        raise ValueError(f"matmul: {a.shape} @ {b.shape}: operands must have at least 1 dimension")
    if a.ndim == 1:  # vector @ vector is a 0-d scalar: squeeze the last remaining axis
        out = matmul(a.reshape(1, -1), b)
        return out.squeeze(-2) if b.ndim > 1 else out.squeeze(-1)
    if b.ndim == 1:
        return matmul(a, b.reshape(-1, 1)).squeeze(-1)
    if a.shape[-1] != b.shape[-2]:
        raise ValueError(
            f"matmul: {a.shape} @ {b.shape}: inner dimensions {a.shape[-1]} and {b.shape[-2]} differ"
        )
    return _apply(ops.MatMul, a, b)


def concat(tensors: Sequence[Tensor], axis: int = 0) -> Tensor:
    """Join tensors along an existing ``axis``; all other dimensions must agree."""
    tensors = list(tensors)
    if not tensors:
        raise ValueError("concat: needs at least one tensor")
    ndim = tensors[0].ndim
    if any(t.ndim == 0 for t in tensors):
        shapes = ", ".join(str(x.shape) for x in tensors)
        raise ValueError(f"concat: 0-d tensors have no axis to join along (shapes {shapes}); use mg.stack")
    axis = _normalize_axis("concat", axis, ndim)[0]
    for t in tensors[1:]:
        if t.ndim != ndim or any(t.shape[i] != tensors[0].shape[i] for i in range(ndim) if i != axis):
            shapes = ", ".join(str(x.shape) for x in tensors)
            raise ValueError(f"concat: shapes {shapes} differ outside axis {axis}")
    return _apply(ops.Concat, *tensors, axis=axis)


def stack(tensors: Sequence[Tensor], axis: int = 0) -> Tensor:
    """Stack same-shaped tensors along a new ``axis``."""
    tensors = list(tensors)
    if not tensors:
        raise ValueError("stack: needs at least one tensor")
    if any(t.shape != tensors[0].shape for t in tensors):
        shapes = ", ".join(str(x.shape) for x in tensors)
        raise ValueError(f"stack: all tensors must have the same shape, got {shapes}")
    axis = _normalize_axis("stack", axis, tensors[0].ndim + 1)[0]
    return _apply(ops.Stack, *tensors, axis=axis)


def promote(op: str, *operands: Any, floating: bool = False) -> list[Tensor]:
    """``operands`` (tensors, arrays, lists or Python numbers) as tensors of one dtype and backend.

    The dtype follows PyTorch's promotion rules ([`minigrad.dtypes`][minigrad.dtypes]);
    ``floating=True`` turns a bool or integer result into float32 (true
    division). Python numbers become 0-d tensors; tensors are cast
    differentiably, so a float32 input of a float64 op gets a float32 gradient.

    Raises:
        RuntimeError: the tensors live on different backends (naming ``op``).
    """
    if len(operands) == 2 and not floating:  # fast paths: the common cases of the recurrent layers
        a, b = operands
        if type(a) is Tensor and type(b) is Tensor and a.dtype == b.dtype and a.backend is b.backend:
            return [a, b]
        if type(a) is Tensor and type(b) in (int, float) and a.dtype.kind == "f":
            return [a, Tensor._wrap(a.backend.scalar(b, a.dtype), a.backend)]
    tensors = [x for x in operands if isinstance(x, Tensor)]
    backend = tensors[0].backend if tensors else get_backend()
    if len(tensors) > 1:
        backend_of(op, tuple(tensors))
    items = [x if isinstance(x, (Tensor, int, float, bool)) else Tensor(x, backend=backend) for x in operands]
    dtype = result_type(*items)
    if floating and dtype.kind != "f":
        dtype = backend.dtype(DEFAULT_FLOAT)
    return [x._as_dtype(dtype) if isinstance(x, Tensor) else _scalar(backend, x, dtype, op) for x in items]


def _scalar(backend: Backend, value: int | float | bool, dtype: Any, op: str) -> Tensor:
    """A Python number as a 0-d tensor of ``dtype``.

    An int outside the range of an integer ``dtype`` wraps around (two's complement), as in PyTorch:
    ``uint8_tensor + -1`` adds 255, ``int8_tensor * 1000`` multiplies by -24.

    Raises:
        ValueError: an int that fits in neither int64 nor uint64 meets an integer dtype (naming ``op``).
    """
    dt = backend.dtype(dtype)
    if type(value) is int and dt.kind in "iu":
        if not -(2**63) <= value < 2**64:
            raise ValueError(f"{op}: a Python int of {value.bit_length()} bits fits in neither int64 nor uint64")
        bits = 8 * dt.itemsize
        value %= 2**bits
        if dt.kind == "i" and value >= 2 ** (bits - 1):
            value -= 2**bits
    return Tensor._wrap(backend.scalar(value, dt), backend)


def where(cond: Any, a: Any, b: Any) -> Tensor:
    """Elementwise ``a`` where ``cond`` is true, else ``b``; ``cond`` gets no gradient.

    ``a`` and ``b`` (tensors or Python numbers) are promoted to one dtype by
    PyTorch's rules: ``where(mask, 4, 2)`` is int64, ``where(mask, x, 0)``
    keeps ``x``'s dtype.
    """
    ref = next((x for x in (a, b, cond) if isinstance(x, Tensor)), None)
    backend = ref.backend if ref is not None else get_backend()
    a, b = promote("where", a, b)
    cond = cond.data if isinstance(cond, Tensor) else backend.asarray(cond)
    if cond.dtype.kind != "b":
        cond = cond != 0
    return _apply(ops.Where, a, b, cond=cond)


# -- more ops (PyTorch names): free functions and helpers ----------------------
def argmax(x: Tensor, axis: int | None = None, keepdims: bool = False) -> Tensor:
    """Index of the largest element of ``x`` along ``axis`` (flattened when None), as int64:
    [`Tensor.argmax`][minigrad.Tensor.argmax]."""
    return x.argmax(axis, keepdims)


def argmin(x: Tensor, axis: int | None = None, keepdims: bool = False) -> Tensor:
    """Index of the smallest element of ``x`` along ``axis`` (flattened when None), as int64:
    [`Tensor.argmin`][minigrad.Tensor.argmin]."""
    return x.argmin(axis, keepdims)


def maximum(a: Any, b: Any) -> Tensor:
    """Elementwise larger of ``a`` and ``b`` (tensors or numbers), broadcast like NumPy.

    nan in either gives nan. On ties each input receives half the gradient,
    and where the result is nan both receive all of it (PyTorch 2.x).

    Raises:
        ValueError: the shapes do not broadcast (naming both).
    """
    return _apply(ops.Maximum, *promote("maximum", a, b))


def minimum(a: Any, b: Any) -> Tensor:
    """Elementwise smaller of ``a`` and ``b``, broadcast like NumPy; ties and nan as in [`maximum`][minigrad.maximum].

    Raises:
        ValueError: the shapes do not broadcast (naming both).
    """
    return _apply(ops.Minimum, *promote("minimum", a, b))


def broadcast_to(x: Tensor, shape: Sequence[int]) -> Tensor:
    """``x`` broadcast to ``shape`` without copying (``-1`` keeps a size); see
    [`Tensor.expand`][minigrad.Tensor.expand].

    Raises:
        ValueError: ``x``'s shape does not broadcast to ``shape``.
    """
    return x.broadcast_to(shape)


def _sizes(args: tuple, op: str = "sizes") -> tuple:
    """``f(2, 3)``, ``f((2, 3))`` and ``f([2, 3])`` alike as ``(2, 3)``; an int alone as ``(n,)``."""
    if len(args) == 1 and _as_index(args[0]) is None:
        args = tuple(args[0])
    sizes = tuple(_as_index(s) for s in args)
    if any(s is None for s in sizes):
        raise TypeError(f"{op}: sizes must be ints, got {args!r}")
    return sizes


def _target_shape(op: str, shape: tuple, sizes: tuple) -> tuple:
    """The shape ``expand``/``broadcast_to`` make of ``shape``: ``-1`` keeps a size; only size-1 axes change."""
    new = len(sizes) - len(shape)
    if new < 0:
        raise ValueError(f"{op}: {sizes} has fewer dimensions than the tensor's shape {shape}")
    out = []
    for i, s in enumerate(sizes):
        n = shape[i - new] if i >= new else None
        if s == -1 and n is not None:
            s = n
        if s < 0 or (n is not None and n != 1 and n != s):
            why = "-1 only keeps an existing size" if s == -1 else f"axis of size {n} can only stay {n}"
            raise ValueError(f"{op}: cannot broadcast shape {shape} to {sizes}: size {s} at position {i} ({why})")
        out.append(s)
    return tuple(out)


def _split_axis(op: str, shape: tuple, axis: int) -> int:
    if not shape:
        raise ValueError(f"{op}: needs a tensor with at least 1 dimension, got a 0-d tensor (shape ())")
    return _normalize_axis(op, axis, len(shape))[0]


def _as_indices(op: str, x: Tensor, indices: Any) -> Any:
    """``indices`` (a tensor, array or nested list) as an integer array on ``x``'s backend."""
    if isinstance(indices, Tensor):
        backend_of(op, (x, indices))
        indices = indices.data
    else:
        indices = x.backend.asarray(indices)
    if indices.dtype.kind not in "iu":
        raise TypeError(f"{op}: indices must be integers, got dtype {indices.dtype}")
    return indices


def _check_index_range(op: str, index: Any, shape: tuple, axis: int, negative: bool) -> None:
    """Raise IndexError unless every index is in [0, n), or [-n, n) when ``negative`` is allowed."""
    n = shape[axis]
    if index.size == 0:
        return
    lo, hi = int(index.min()), int(index.max())
    if lo < (-n if negative else 0) or hi >= n:
        bad = lo if lo < (-n if negative else 0) else hi
        valid = f"[{-n}, {n})" if negative else f"[0, {n})"
        raise IndexError(f"{op}: index {bad} is out of range {valid} for axis {axis} of shape {shape}")


def _correction(op: str, correction: float, unbiased: bool | None) -> float:
    if unbiased is not None:
        if correction != 1:
            raise ValueError(f"{op}: give correction or unbiased, not both (got {correction!r} and {unbiased!r})")
        return 1 if unbiased else 0
    return int(correction) if isinstance(correction, bool) else correction
