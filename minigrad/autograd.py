"""Reverse-mode differentiation: grad mode, the op node, and the backward loop.

Every differentiable op is a :class:`Function` subclass with ``forward`` on
backend arrays and ``backward`` from the output gradient ``gy`` to one gradient
per input. A node keeps its inputs (``parents``) and what its backward needs,
never its own output, so the graph holds no reference cycles and is freed by
reference counting alone.

``backward`` orders the graph by an iterative depth-first search (no
recursion: an LSTM unrolled over thousands of steps is a graph hundreds of
thousands of nodes deep) and pushes gradients from the output to the leaves.
"""

from __future__ import annotations

import functools
import inspect
from contextvars import ContextVar
from typing import Any

_grad_enabled: ContextVar[bool] = ContextVar("minigrad_grad_enabled", default=True)


def is_grad_enabled() -> bool:
    """True unless inside :class:`no_grad`."""
    return _grad_enabled.get()


class _GradMode:
    """Base of :class:`no_grad` and :class:`enable_grad`: a context manager and a decorator.

    As a decorator (bare ``@no_grad`` or called ``@no_grad()``) it switches grad
    mode while the decorated code runs. For a generator function that is
    whenever its body runs, that is inside every ``next()``, ``send()``,
    ``throw()`` and ``close()``; at each ``yield`` the caller gets its own
    mode back, and the body gets the mode it had when it yielded (so a ``with``
    block in the body that spans a ``yield`` keeps holding). The generator's
    return value is kept. Coroutine functions are decorated around the
    ``await``; async generator functions raise a TypeError (use the context
    manager inside their body).
    """

    mode = True

    def __new__(cls, fn: Any = None):
        self = super().__new__(cls)
        return self(fn) if fn is not None else self  # bare @no_grad works too

    def __enter__(self) -> None:
        self._tokens = getattr(self, "_tokens", [])
        self._tokens.append(_grad_enabled.set(self.mode))

    def __exit__(self, *exc: Any) -> None:
        _grad_enabled.reset(self._tokens.pop())

    def __call__(self, fn):  # a fresh instance per call keeps nested/recursive use safe
        if inspect.isasyncgenfunction(fn):
            raise TypeError(
                f"{type(self).__name__}: cannot decorate the async generator function {fn.__qualname__}; "
                f"use 'with {type(self).__name__}():' inside its body"
            )
        if inspect.isgeneratorfunction(fn):
            return _generator_in_mode(fn, self.mode)
        if inspect.iscoroutinefunction(fn):

            @functools.wraps(fn)
            async def coroutine(*args, **kwargs):
                with type(self)():  # grad mode is a ContextVar: each asyncio task has its own
                    return await fn(*args, **kwargs)

            return coroutine

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with type(self)():
                return fn(*args, **kwargs)

        return wrapper


def _generator_in_mode(fn: Any, mode: bool) -> Any:
    """Wrap generator function ``fn`` so that its body runs with grad mode ``mode`` (see :class:`_GradMode`)."""

    @functools.wraps(fn)
    def generator(*args, **kwargs):
        gen = fn(*args, **kwargs)
        body_mode = mode  # the mode the body had when it last yielded

        def resume(method: Any, *arg: Any) -> Any:
            nonlocal body_mode
            token = _grad_enabled.set(body_mode)
            try:
                return method(*arg)
            finally:
                body_mode = _grad_enabled.get()
                _grad_enabled.reset(token)

        try:
            value = resume(gen.send, None)
            while True:
                try:
                    sent = yield value
                except GeneratorExit:
                    resume(gen.close)
                    raise
                except BaseException as e:
                    value = resume(gen.throw, e)
                else:
                    value = resume(gen.send, sent)
        except StopIteration as e:
            return e.value

    return generator


class no_grad(_GradMode):
    """Context manager and decorator: ops inside record no graph (evaluation, updates).

    >>> with no_grad():
    ...     y = model(x)   # y.requires_grad is False

    ``@no_grad`` (or ``@no_grad()``) on a function, method, generator or
    coroutine function runs its body without grad mode; a generator's caller
    keeps its own mode between ``next()`` calls.

    Raises:
        TypeError: when decorating an async generator function.
    """

    mode = False


class enable_grad(_GradMode):
    """Context manager and decorator: record the graph again inside a :class:`no_grad` block.

    As a decorator it behaves like :class:`no_grad`'s, with grad mode on.

    Raises:
        TypeError: when decorating an async generator function.
    """

    mode = True


class Function:
    """One recorded operation.

    Subclasses implement ``forward(*arrays, **options) -> array`` and
    ``backward(gy) -> tuple`` with one gradient array (or None) per input,
    saving on ``self`` only what backward needs. ``self.xp`` is the array
    module and ``self.backend`` the backend of the inputs;
    ``self.needs_input_grad[i]`` says whether input ``i`` wants a gradient.
    ``self.final_backward`` is True during a backward after which the graph is
    released (no ``retain_graph``): backward may then reuse the arrays it saved
    as buffers for its gradients (as the fused recurrent kernels do), and, when
    ``self.owns_gy`` is also True, the incoming gradient ``gy`` itself (a buffer
    the engine allocated, seen by no one else).
    """

    final_backward = False
    owns_gy = False

    def __init__(self, backend: Any, parents: tuple, needs_input_grad: tuple) -> None:
        self.backend = backend
        self.xp = backend.xp
        self.parents = parents
        self.needs_input_grad = needs_input_grad

    @property
    def name(self) -> str:
        return type(self).__name__.lower()

    def forward(self, *arrays: Any, **options: Any) -> Any:  # pragma: no cover - interface
        raise NotImplementedError

    def backward(self, gy: Any) -> tuple:  # pragma: no cover - interface
        raise NotImplementedError

    def release(self) -> None:
        """Drop inputs and saved arrays; a later backward through this node raises."""
        self.__dict__.clear()


def unbroadcast(g: Any, shape: tuple) -> Any:
    """Sum ``g`` over the axes that broadcasting added or stretched, giving ``shape``.

    The one place that undoes broadcasting in backward: for ``z = x + y`` with
    ``x (3, 1)`` and ``y (4,)``, ``gz (3, 4)`` becomes ``gx = gz.sum(1, keepdims)``
    and ``gy = gz.sum(0)``.
    """
    if g.shape == shape:
        return g
    lead = g.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(
        lead + i for i, n in enumerate(shape) if n == 1 and g.shape[lead + i] != 1
    )
    return g.sum(axis=axes).reshape(shape)


class IndexGrad:
    """A gradient that is zero except at ``index``: what indexing hands back.

    Accumulated into one buffer per input, so slicing a ``(N, T, G)`` tensor
    at every one of T time steps costs O(N T G) in backward, not O(N T^2 G).
    """

    __slots__ = ("shape", "dtype", "index", "values", "basic")

    def __init__(self, shape: tuple, dtype: Any, index: Any, values: Any, basic: bool) -> None:
        self.shape, self.dtype, self.index, self.values, self.basic = shape, dtype, index, values, basic

    def add_to(self, dense: Any, backend: Any) -> Any:
        """``dense[index] += values`` in place (repeated integer indices accumulate)."""
        if self.basic:
            dense[self.index] += self.values
        else:
            backend.scatter_add(dense, self.index, self.values)
        return dense

    def dense(self, backend: Any) -> Any:
        return self.add_to(backend.xp.zeros(self.shape, dtype=self.dtype), backend)


def _topological_order(root: Any) -> list:
    """Graph nodes (tensors with a ``_ctx``) reachable from ``root``, inputs before outputs."""
    order: list = []
    seen: set[int] = set()
    stack: list = [(root, False)]
    while stack:
        t, expanded = stack.pop()
        if expanded:
            order.append(t)
            continue
        if id(t) in seen:
            continue
        seen.add(id(t))
        stack.append((t, True))
        for p in getattr(t._ctx, "parents", ()):
            if p._ctx is not None and id(p) not in seen:
                stack.append((p, False))
    return order


FREED_MESSAGE = (
    "backward: the graph through {op} was already freed by an earlier backward(); "
    "call backward(retain_graph=True) the first time to backpropagate through it again"
)


def run_backward(root: Any, gy: Any, retain_graph: bool = False) -> None:
    """Accumulate d(root)/d(leaf) * gy into ``.grad`` of every leaf that requires grad."""
    order = _topological_order(root)
    grads: dict[int, Any] = {id(root): gy}
    owned: set[int] = set()  # keys whose buffer was allocated here, so may be updated in place
    while order:
        t = order.pop()  # outputs before inputs; the list then holds only the nodes still to come
        g = grads.pop(id(t), None)
        if g is None:
            continue
        fresh = isinstance(g, IndexGrad) or id(t) in owned  # allocated here, not another op's output
        owned.discard(id(t))
        if isinstance(g, IndexGrad):
            g = g.dense(t.backend)
        if t._retains_grad:
            t._accumulate_grad(g)
        ctx = t._ctx
        if not hasattr(ctx, "parents"):
            raise RuntimeError(FREED_MESSAGE.format(op=type(ctx).__name__.lower()))
        ctx.final_backward = not retain_graph
        ctx.owns_gy = fresh and not retain_graph and not t._retains_grad
        # backward needs the node's function, not its value: when the user holds no reference to the
        # tensor, its array (an intermediate activation) is freed now rather than after the whole pass
        del t
        gxs = ctx.backward(g)
        del g
        for p, gx in zip(ctx.parents, gxs):
            if gx is None or not p.requires_grad:
                continue
            if p._ctx is None:
                p._accumulate_grad(gx.dense(p.backend) if isinstance(gx, IndexGrad) else gx)
                continue
            key = id(p)
            prev = grads.get(key)
            if prev is None:
                grads[key] = gx
            elif isinstance(gx, IndexGrad):
                if isinstance(prev, IndexGrad):
                    prev = prev.dense(p.backend)
                elif key not in owned:
                    prev = prev.copy()
                grads[key] = gx.add_to(prev, p.backend)
                owned.add(key)
            else:
                grads[key] = (prev.dense(p.backend) if isinstance(prev, IndexGrad) else prev) + gx
                owned.add(key)
        del gxs
        if not retain_graph:
            ctx.release()
