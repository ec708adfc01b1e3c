"""Reverse-mode differentiation: grad mode, the op node, and the backward loop.

Every differentiable op is a `Function` subclass with ``forward`` on
backend arrays and ``backward`` from the output gradient ``gy`` to one gradient
per input. A node keeps its inputs (``parents``) and what its backward needs,
never its own output, so the graph holds no reference cycles and is freed by
reference counting alone.

``backward`` orders the graph by an iterative depth-first search (no
recursion: an LSTM unrolled over thousands of steps is a graph hundreds of
thousands of nodes deep) and pushes gradients from the output to the leaves.
Every walk over the graph here (``graph_stats``, the freed-graph check) is
iterative for the same reason.
"""

from __future__ import annotations

import functools
import inspect
import warnings
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from minigrad.anomaly import _anomaly_mode, check_backward, check_seed, user_stacklevel

_grad_enabled: ContextVar[bool] = ContextVar("minigrad_grad_enabled", default=True)


def is_grad_enabled() -> bool:
    """True unless inside [`no_grad`][minigrad.no_grad]."""
    return _grad_enabled.get()


class _GradMode:
    """Base of [`no_grad`][minigrad.no_grad] and [`enable_grad`][minigrad.enable_grad]: a context manager and a
    decorator.

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
    """Wrap generator function ``fn`` so that its body runs with grad mode ``mode`` (see `_GradMode`)."""

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
    """Context manager and decorator: record the graph again inside a [`no_grad`][minigrad.no_grad] block.

    As a decorator it behaves like [`no_grad`][minigrad.no_grad]'s, with grad mode on.

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
    checked_at = -1  # the count of releasing backward passes when recorded or last found intact (_STALE: freed)

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

    @property
    def released(self) -> bool:
        """True once `release` has run (its backward has been used up)."""
        return "parents" not in self.__dict__


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


# -- graphs freed by an earlier backward ------------------------------------------

# How many backward passes have released (part of) a graph. A node recorded, or found intact,
# since the last of them cannot have a freed ancestor, so ``_apply`` checks an input with one comparison.
_releases = 0
_STALE = -2  # ``Function.checked_at`` of a node known to have a freed graph behind it (see ``check_freed``)


def check_freed(fn: Function, parents: tuple, count: int) -> None:
    """Warn when the op ``fn`` being recorded joins a graph freed by an earlier ``backward()`` to a live one.

    Called by ``_apply`` when an input's node is older than the latest backward
    that released a graph (``checked_at != count``, the number of such passes).
    An input that requires grad is *stale* when a node behind it was released,
    *live* otherwise (a parameter, or an intact graph). A stale input next to a
    live one is the mistake of a hidden state carried from one batch to the next
    without ``detach()``: a backward through the result will fail with
    ``FREED_MESSAGE`` (PyTorch fails only there). Stale inputs alone (a metric
    computed from the logits after ``backward()``) are not warned about; the new
    node is marked stale so that the warning comes where it meets a live input.

    The walk visits only nodes recorded before that pass, each at most once per
    pass: the ones found intact are stamped with ``count``.

    Warns:
        UserWarning: ``STALE_GRAPH_MESSAGE``, pointing at the user's line (Python's
            default filter then shows it once per line).
    """
    stale = live = False
    for p in parents:
        if p.requires_grad:
            if p._ctx is not None and _freed_ancestor(p._ctx, count):
                stale = True
            else:
                live = True
    if stale and live:
        warnings.warn(STALE_GRAPH_MESSAGE, UserWarning, stacklevel=user_stacklevel())
    elif stale:
        fn.checked_at = _STALE


def _freed_ancestor(ctx: Function, count: int) -> bool:
    """True when a node in the graph from ``ctx`` back was released; else stamp the nodes walked with ``count``."""
    walked: list = []
    stack = [ctx]
    while stack:
        ctx = stack.pop()
        if ctx.released or ctx.checked_at == _STALE:
            for node in walked:  # not known intact after all: walk them again next time
                node.checked_at = -1
            return True
        if ctx.checked_at == count:  # recorded since the last release, or already walked: intact
            continue
        ctx.checked_at = count  # stamped on the way, so a node shared by several paths is walked once
        walked.append(ctx)
        stack.extend(p._ctx for p in ctx.parents if p._ctx is not None)
    return False


STALE_GRAPH_MESSAGE = (  # one text, so that Python's default filter shows it once per line of user code
    "an op joins a tensor whose graph was already freed by an earlier backward() to tensors that require grad, "
    "so a backward() through the result will fail. A hidden state carried over from the previous batch must be "
    "cut from its graph: h = h.detach(), or state = minigrad.nn.utils.detach_state(state) for an LSTM's (h, c) "
    "(the truncated-BPTT helper); or keep the graph with backward(retain_graph=True) the first time"
)


FREED_MESSAGE = (
    "backward: the graph through {op} was already freed by an earlier backward(); "
    "call backward(retain_graph=True) the first time to backpropagate through it again"
)


def run_backward(root: Any, gy: Any, retain_graph: bool = False) -> None:
    """Accumulate d(root)/d(leaf) * gy into ``.grad`` of every leaf that requires grad.

    Inside [`detect_anomaly`][minigrad.detect_anomaly], ``gy`` and every gradient an op returns are checked.

    Raises:
        RuntimeError: part of the graph was freed by an earlier backward (``FREED_MESSAGE``).
        AnomalyError: in anomaly mode, at the first gradient holding a nan or an inf.
    """
    global _releases
    if not retain_graph:
        _releases += 1  # nodes recorded before this pass may lose their graph: check them when used again
    check = bool(_anomaly_mode.get())
    if check:
        check_seed(root, gy)
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
        if check:
            check_backward(ctx, [gx.values if isinstance(gx, IndexGrad) else gx for gx in gxs])
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


# -- graph statistics ------------------------------------------------------------


@dataclass(frozen=True)
class GraphStats:
    """What [`graph_stats`][minigrad.graph_stats] counts in the graph behind a tensor.

    Attributes:
        nodes: recorded ops (each non-leaf tensor is the output of one).
        depth: ops on the longest path from the tensor to a leaf (0 for a leaf).
        leaves: distinct leaf tensors that require grad (those ``backward()`` fills ``.grad`` of).
        bytes: bytes of the distinct arrays the graph keeps alive: the value of every
            non-leaf tensor in it (the tensor itself included) and every array an op
            saved for its backward. A view counts as the whole array it views, once;
            arrays that belong to leaf tensors (data, parameters) are not counted, as
            they exist without the graph. A freed graph holds nothing.
    """

    nodes: int
    depth: int
    leaves: int
    bytes: int


def graph_stats(t: Any) -> GraphStats:
    """Size of the graph recorded behind ``t``: ops, longest path, leaves and memory (see
    [`GraphStats`][minigrad.GraphStats]).

    A walk over the graph like ``torch.autograd.graph``'s ``grad_fn.next_functions``
    (iterative, so graphs of millions of ops are fine); it changes nothing.

        >>> mg.graph_stats((x * 2 + 1).sum())     # mul, add, sum
        GraphStats(nodes=3, depth=3, leaves=1, bytes=28)
    """
    if t._ctx is None:
        return GraphStats(nodes=0, depth=0, leaves=int(t.requires_grad), bytes=0)
    order = _topological_order(t)  # inputs before outputs
    depth: dict[int, int] = {}
    leaves: set[int] = set()
    leaf_buffers: set[int] = set()
    held: dict[int, int] = {}  # id of a buffer -> its size
    for node in order:
        ctx = node._ctx
        parents = getattr(ctx, "parents", ())
        depth[id(node)] = 1 + max((depth[id(p)] for p in parents if p._ctx is not None), default=0)
        for p in parents:
            if p._ctx is None:
                leaf_buffers.add(id(_buffer(p.data)))
                if p.requires_grad:
                    leaves.add(id(p))
        if not ctx.released:  # a released node holds nothing
            for a in [node.data, *_saved_arrays(ctx)]:
                base = _buffer(a)
                held[id(base)] = base.nbytes
    for key in leaf_buffers:
        held.pop(key, None)
    return GraphStats(nodes=len(order), depth=depth[id(t)], leaves=len(leaves), bytes=sum(held.values()))


def _buffer(a: Any) -> Any:
    """The array that owns ``a``'s memory: ``a`` itself, or the array it is a view of."""
    base = getattr(a, "base", None)
    while isinstance(base, type(a)) and base is not a:
        a, base = base, getattr(base, "base", None)
    return a


def _saved_arrays(ctx: Function) -> list:
    """The arrays saved on ``ctx`` for backward: its attributes that are arrays, also inside tuples and
    lists, and those of the Functions it runs inside (``BidirectionalSequence``'s two kernels)."""
    array_type = ctx.xp.ndarray
    found = []
    for name, value in vars(ctx).items():
        if name == "parents":
            continue
        for v in value if isinstance(value, (tuple, list)) else (value,):
            if isinstance(v, array_type):
                found.append(v)
            elif isinstance(v, Function) and v is not ctx:
                found.extend(_saved_arrays(v))
    return found
