"""``Tensor``: one backend array plus the graph that produced it.

Every operator and method here is a thin call into a primitive op from
:mod:`minigrad.ops` (or a one-line composition of them), recorded in the graph
when grad mode is on and an input requires grad.
"""

from __future__ import annotations

import operator
from collections.abc import Iterable, Sequence
from typing import Any

import backends
from backends import Backend
from minigrad import ops
from minigrad.autograd import _grad_enabled, run_backward
from minigrad.backend import backend_of, get_backend

DEFAULT_FLOAT = "float32"

_BASIC_INDEX_TYPES = (int, slice, type(None), type(Ellipsis))


def _apply(fn_cls: type, *parents: "Tensor", **options: Any) -> "Tensor":
    """Run op ``fn_cls`` forward on the parents' arrays and record it for backward."""
    backend = parents[0].backend
    for p in parents:
        if p.backend is not backend:
            backend_of(fn_cls.__name__.lower(), parents)  # raises, naming both backends
    needs = tuple([p.requires_grad for p in parents])
    record = True in needs and _grad_enabled.get()
    fn = fn_cls(backend, parents if record else (), needs)
    try:
        y = fn.forward(*[p.data for p in parents], **options)
    except (ValueError, IndexError, TypeError) as e:
        shapes = ", ".join(str(tuple(p.shape)) for p in parents)
        raise type(e)(f"{fn_cls.__name__.lower()}: input shapes {shapes}: {e}") from None
    return Tensor._wrap(y, backend, fn if record else None)


def _normalize_axis(op: str, axis: int | Sequence[int] | None, ndim: int) -> tuple | None:
    """``axis`` as a sorted tuple of non-negative ints (None stays None: every axis).

    A 0-d tensor follows PyTorch's rule: axis 0 and -1 name the tensor itself
    and give ``()`` (nothing to reduce or move). Raises ValueError naming ``op``
    for an axis out of range or repeated.
    """
    if axis is None:
        return None
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    out = []
    for a in axes:
        if isinstance(a, bool) or not isinstance(a, int) or not -max(ndim, 1) <= a < max(ndim, 1):
            valid = "0 or -1 (a 0-d tensor)" if ndim == 0 else f"in [{-ndim}, {ndim - 1}]"
            raise ValueError(f"{op}: axis {a!r} is out of range for a tensor with {ndim} dimensions; valid: {valid}")
        out.append(a % max(ndim, 1))
    if len(set(out)) != len(out):
        raise ValueError(f"{op}: repeated axis in {axis!r}")
    return () if ndim == 0 else tuple(sorted(out))


class Tensor:
    """An n-dimensional array on one backend that records the ops applied to it.

    Args:
        data: nested lists, scalars, a NumPy/CuPy array or a Tensor.
        requires_grad: accumulate ``d(output)/d(self)`` into ``.grad`` on ``backward()``.
        dtype: e.g. ``"float32"`` or ``numpy.float64``; None keeps an array's dtype
            and makes Python floats float32, Python ints int64.
        backend: backend name (or object); None uses the default backend.
    """

    __slots__ = ("data", "grad", "requires_grad", "backend", "_ctx", "_retains_grad", "__weakref__")
    __array_ufunc__ = None  # make NumPy defer to Tensor's reflected operators

    def __init__(self, data: Any, requires_grad: bool = False, dtype: Any = None, backend: Any = None) -> None:
        if isinstance(data, Tensor):
            backend = backend or data.backend
            data = data.data
        be = get_backend(backend)
        if dtype is not None:
            array = be.asarray(data, dtype=be.dtype(dtype))
        else:
            array = be.asarray(data)
            if array.dtype.kind == "f" and not hasattr(data, "dtype"):
                array = array.astype(DEFAULT_FLOAT)
        self.data = array
        self.backend = be
        self.grad = None
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
        t.grad = None
        t._ctx = ctx
        t._retains_grad = False
        t.requires_grad = ctx is not None
        return t

    # -- attributes ---------------------------------------------------------
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

    def numel(self) -> int:
        return int(self.data.size)

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
        """
        if target is not None:
            if isinstance(target, Backend) or (isinstance(target, str) and target in backends.names()):
                backend = target
            else:
                dtype = target
        out = self
        if dtype is not None:
            dt = self.backend.dtype(dtype)
            if dt != self.dtype:
                out = _apply(ops.Cast, out, dtype=dt)
        if backend is not None:
            be = get_backend(backend)
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
        if g.dtype != self.dtype:
            g = g.astype(self.dtype)
        if self.grad is None:  # own the memory: ops may hand the same array to several inputs
            self.grad = Tensor._wrap(self.backend.xp.array(g, copy=True), self.backend)
        else:
            self.grad = Tensor._wrap(self.grad.data + g, self.backend)

    # -- arithmetic ---------------------------------------------------------
    def _lift(self, other: Any) -> "Tensor":
        """``other`` as a tensor on this tensor's backend; Python scalars take this dtype."""
        if isinstance(other, Tensor):
            return other
        if isinstance(other, (int, float, bool)):
            floaty = isinstance(other, float) and self.dtype.kind != "f"
            dtype = DEFAULT_FLOAT if floaty else self.dtype
            return Tensor._wrap(self.backend.xp.asarray(other, dtype=dtype), self.backend)
        return Tensor(other, backend=self.backend)

    def __add__(self, other: Any) -> "Tensor":
        return _apply(ops.Add, self, self._lift(other))

    def __radd__(self, other: Any) -> "Tensor":
        return _apply(ops.Add, self._lift(other), self)

    def __sub__(self, other: Any) -> "Tensor":
        return _apply(ops.Sub, self, self._lift(other))

    def __rsub__(self, other: Any) -> "Tensor":
        return _apply(ops.Sub, self._lift(other), self)

    def __mul__(self, other: Any) -> "Tensor":
        return _apply(ops.Mul, self, self._lift(other))

    def __rmul__(self, other: Any) -> "Tensor":
        return _apply(ops.Mul, self._lift(other), self)

    def __truediv__(self, other: Any) -> "Tensor":
        return _apply(ops.Div, self, self._lift(other))

    def __rtruediv__(self, other: Any) -> "Tensor":
        return _apply(ops.Div, self._lift(other), self)

    def __pow__(self, other: Any) -> "Tensor":
        if isinstance(other, (int, float)):
            return _apply(ops.PowScalar, self, p=other)
        return _apply(ops.Pow, self, self._lift(other))

    def __rpow__(self, other: Any) -> "Tensor":
        return _apply(ops.Pow, self._lift(other), self)

    def __neg__(self) -> "Tensor":
        return _apply(ops.Neg, self)

    def __matmul__(self, other: Any) -> "Tensor":
        return matmul(self, self._lift(other))

    def __rmatmul__(self, other: Any) -> "Tensor":
        return matmul(self._lift(other), self)

    # comparisons give boolean tensors outside the graph (for masks and where)
    def _compare(self, other: Any, op: Any) -> "Tensor":
        other = self._lift(other)
        backend_of(op.__name__, (self, other))
        return Tensor._wrap(op(self.data, other.data), self.backend)

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
        return _apply(ops.Exp, self)

    def log(self) -> "Tensor":
        return _apply(ops.Log, self)

    def sqrt(self) -> "Tensor":
        return _apply(ops.Sqrt, self)

    def abs(self) -> "Tensor":
        return _apply(ops.Abs, self)

    def tanh(self) -> "Tensor":
        return _apply(ops.Tanh, self)

    def sigmoid(self) -> "Tensor":
        return _apply(ops.Sigmoid, self)

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
        axes = _normalize_axis("mean", axis, self.ndim)
        count = self.numel() if axes is None else _prod(self.shape[a] for a in axes)
        return _apply(ops.Sum, self, axis=axes, keepdims=keepdims) / count

    def max(self, axis: int | Sequence[int] | None = None, keepdims: bool = False) -> "Tensor":
        """Maximum over ``axis``; tied maxima share the gradient equally (like ``torch.amax``)."""
        return self._extremum("max", axis, keepdims)

    def min(self, axis: int | Sequence[int] | None = None, keepdims: bool = False) -> "Tensor":
        """Minimum over ``axis``; tied minima share the gradient equally (like ``torch.amin``)."""
        return -((-self)._extremum("min", axis, keepdims))

    def _extremum(self, op: str, axis: Any, keepdims: bool) -> "Tensor":
        axes = _normalize_axis(op, axis, self.ndim)
        if self.numel() == 0:
            raise ValueError(f"{op}: empty tensor of shape {self.shape} has no {op}imum")
        if axes is not None and any(self.shape[a] == 0 for a in axes):
            raise ValueError(f"{op}: axis {axis!r} of shape {self.shape} is empty; it has no {op}imum")
        return _apply(ops.Max, self, axis=axes, keepdims=keepdims)

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
        axis = _normalize_axis("unsqueeze", axis, self.ndim + 1)[0]
        return self.reshape(self.shape[:axis] + (1,) + self.shape[axis:])

    def squeeze(self, axis: int) -> "Tensor":
        axes = _normalize_axis("squeeze", axis, self.ndim)
        if not axes:  # a 0-d tensor
            return self.reshape(())
        axis = axes[0]
        if self.shape[axis] != 1:
            raise ValueError(f"squeeze: axis {axis} of shape {self.shape} has size {self.shape[axis]}, not 1")
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

    def __getitem__(self, index: Any) -> "Tensor":
        index, basic = self._index(index)
        return _apply(ops.GetItem, self, index=index, basic=basic)

    def _index(self, index: Any) -> tuple[Any, bool]:
        """Backend-ready index and whether it is basic (ints and slices only)."""
        items = index if isinstance(index, tuple) else (index,)
        out = []
        for item in items:
            if isinstance(item, Tensor):
                item = item.data
            elif isinstance(item, (list, range)) or (hasattr(item, "dtype") and not self.backend.is_array(item)):
                item = self.backend.asarray(item)
            if hasattr(item, "dtype") and item.dtype.kind not in "iub":
                raise IndexError(f"index: index arrays must have an integer or bool dtype, got {item.dtype}")
            if isinstance(item, float):
                raise IndexError(f"index: {item!r} is a float; indices must be integers or slices")
            out.append(item)
        basic = all(isinstance(i, _BASIC_INDEX_TYPES) for i in out)
        return (tuple(out) if isinstance(index, tuple) else out[0]), basic


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


def where(cond: Any, a: Any, b: Any) -> Tensor:
    """Elementwise ``a`` where ``cond`` is true, else ``b``; ``cond`` gets no gradient."""
    ref = next((x for x in (a, b, cond) if isinstance(x, Tensor)), None)
    ref = ref if ref is not None else Tensor(a)
    a, b = ref._lift(a), ref._lift(b)
    cond = cond.data if isinstance(cond, Tensor) else ref.backend.asarray(cond)
    if cond.dtype.kind != "b":
        cond = cond != 0
    return _apply(ops.Where, a, b, cond=cond)
