"""Grad mode: ``no_grad`` / ``enable_grad`` as context managers and as decorators.

As a decorator the mode holds whenever the decorated body runs: for a
generator function that is inside each ``next()``/``send()``/``throw()``/
``close()``, and the caller has its own mode back at every ``yield``
(PyTorch's ``_DecoratorContextManager``). The autouse fixture in conftest
fails any test here that leaks grad mode.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc

import pytest

import minigrad as mg
from minigrad.autograd import _grad_enabled

# (decorator as written, the mode the body must see)
DECORATORS = [
    pytest.param(mg.no_grad, False, id="@no_grad"),
    pytest.param(mg.no_grad(), False, id="@no_grad()"),
    pytest.param(mg.enable_grad, True, id="@enable_grad"),
    pytest.param(mg.enable_grad(), True, id="@enable_grad()"),
]


def caller_mode(outer: bool):
    """The caller's context: grad mode ``outer``."""
    return contextlib.nullcontext() if outer else mg.no_grad()


def modes_gen():
    """Yields grad mode, receives values, returns what it was sent."""
    got = []
    got.append((yield mg.is_grad_enabled()))
    got.append((yield mg.is_grad_enabled()))
    return got


# -- plain functions (the decorator worked for these before; kept as a reference) -----------------


@pytest.mark.parametrize("outer", [True, False], ids=["caller-on", "caller-off"])
@pytest.mark.parametrize("decorator,mode", DECORATORS)
def test_function(decorator, mode, outer):
    @decorator
    def f(x):
        """doc"""
        return mg.is_grad_enabled(), x

    with caller_mode(outer):
        assert f(3) == (mode, 3)
        assert mg.is_grad_enabled() is outer
    assert f.__name__ == "f" and f.__doc__ == "doc"


def test_function_exception_restores_mode():
    @mg.no_grad
    def f():
        assert not mg.is_grad_enabled()
        raise KeyError("boom")

    with pytest.raises(KeyError):
        f()
    assert mg.is_grad_enabled()


def test_recursive_function():
    @mg.no_grad
    def depth(n):
        assert not mg.is_grad_enabled()
        return 0 if n == 0 else 1 + depth(n - 1)

    assert depth(5) == 5 and mg.is_grad_enabled()


# -- generators ------------------------------------------------------------------------------------


@pytest.mark.parametrize("outer", [True, False], ids=["caller-on", "caller-off"])
@pytest.mark.parametrize("decorator,mode", DECORATORS)
def test_generator_body_runs_in_decorator_mode_caller_keeps_its_own(decorator, mode, outer):
    gen_fn = decorator(modes_gen)
    assert gen_fn.__name__ == "modes_gen" and gen_fn.__wrapped__ is modes_gen
    with caller_mode(outer):
        gen = gen_fn()
        assert mg.is_grad_enabled() is outer  # creating it runs nothing
        assert next(gen) is mode
        assert mg.is_grad_enabled() is outer  # between next() calls: the caller's mode
        assert gen.send("a") is mode
        assert mg.is_grad_enabled() is outer
        with pytest.raises(StopIteration) as stop:
            gen.send("b")
        assert stop.value.value == ["a", "b"]  # send() forwarded, return value kept
        assert mg.is_grad_enabled() is outer


@pytest.mark.parametrize("decorator,mode", DECORATORS)
def test_generator_in_for_loop_and_list(decorator, mode):
    @decorator
    def count(n):
        for i in range(n):
            yield i, mg.is_grad_enabled()

    assert list(count(3)) == [(0, mode), (1, mode), (2, mode)]
    for _, body in count(2):
        assert body is mode and mg.is_grad_enabled()


def test_no_grad_generator_records_no_graph_and_caller_still_does():
    w = mg.tensor([1.0, 2.0], requires_grad=True)

    @mg.no_grad
    def scaled():
        for k in (2.0, 3.0):
            yield w * k

    for y in scaled():
        assert not y.requires_grad
        z = w * 2.0  # the caller's own ops between next() calls are recorded
        assert z.requires_grad


def test_enable_grad_generator_inside_no_grad_block():
    w = mg.tensor([1.0], requires_grad=True)

    @mg.enable_grad
    def steps():
        yield mg.is_grad_enabled(), w * 2.0
        yield mg.is_grad_enabled(), w * 3.0

    with mg.no_grad():
        for body, y in steps():
            assert body is True and y.requires_grad
            assert not mg.is_grad_enabled() and not (w * 2.0).requires_grad


def test_nested_decorators_innermost_wins():
    outer_first = mg.no_grad(mg.enable_grad(modes_gen))
    inner_off = mg.enable_grad(mg.no_grad(modes_gen))
    assert next(outer_first()) is True
    assert next(inner_off()) is False


def test_decorated_generator_calling_another():
    @mg.enable_grad
    def inner():
        yield mg.is_grad_enabled()

    @mg.no_grad
    def outer():
        yield mg.is_grad_enabled()
        yield from inner()  # the inner decorator switches back on for its body only
        yield mg.is_grad_enabled()

    assert list(outer()) == [False, True, False]


def test_recursive_generator():
    @mg.no_grad
    def walk(n):
        yield mg.is_grad_enabled()
        if n:
            yield from walk(n - 1)
        yield mg.is_grad_enabled()

    assert list(walk(3)) == [False] * 8
    assert mg.is_grad_enabled()


def test_with_block_in_body_spanning_a_yield_keeps_holding():
    @mg.no_grad
    def gen():
        with mg.enable_grad():
            yield mg.is_grad_enabled()
            yield mg.is_grad_enabled()  # still inside the with block after resuming
        yield mg.is_grad_enabled()  # back to the decorator's mode

    g = gen()
    assert next(g) is True and mg.is_grad_enabled()
    with mg.no_grad():
        assert next(g) is True and not mg.is_grad_enabled()
    assert next(g) is False and mg.is_grad_enabled()
    with pytest.raises(StopIteration):
        next(g)


def test_throw_is_forwarded_and_handled_in_body_mode():
    seen = []

    @mg.no_grad
    def gen():
        while True:
            try:
                yield "ready"
            except ValueError as e:
                seen.append((str(e), mg.is_grad_enabled()))

    g = gen()
    next(g)
    assert g.throw(ValueError("x")) == "ready"
    assert seen == [("x", False)] and mg.is_grad_enabled()
    g.close()


@pytest.mark.parametrize("outer", [True, False], ids=["caller-on", "caller-off"])
def test_unhandled_throw_propagates_and_restores_caller_mode(outer):
    @mg.enable_grad
    def gen():
        yield 1
        yield 2

    with caller_mode(outer):
        g = gen()
        next(g)
        with pytest.raises(KeyError, match="boom"):
            g.throw(KeyError("boom"))
        assert mg.is_grad_enabled() is outer
        with pytest.raises(StopIteration):
            next(g)  # the generator is finished


def test_exception_raised_by_body_restores_caller_mode():
    @mg.no_grad
    def gen():
        yield 1
        raise RuntimeError("inside")

    g = gen()
    assert next(g) == 1
    with pytest.raises(RuntimeError, match="inside"):
        next(g)
    assert mg.is_grad_enabled()


def test_close_runs_cleanup_in_body_mode():
    seen = []

    @mg.no_grad
    def gen():
        try:
            yield 1
            yield 2
        finally:
            seen.append(mg.is_grad_enabled())

    g = gen()
    next(g)
    g.close()
    assert seen == [False] and mg.is_grad_enabled()
    g.close()  # closing again is a no-op, as for any generator


def test_generator_closed_by_garbage_collection_leaves_mode_alone():
    seen = []

    @mg.enable_grad
    def gen():
        try:
            yield 1
        finally:
            seen.append(mg.is_grad_enabled())

    with mg.no_grad():
        g = gen()
        next(g)
        del g
        gc.collect()
        assert seen == [True] and not mg.is_grad_enabled()


def test_generator_ignoring_close_raises_like_a_plain_generator():
    @mg.no_grad
    def stubborn():
        ignored = False
        while True:
            try:
                yield 1
            except GeneratorExit:
                if ignored:  # the second close (at garbage collection) ends it
                    raise
                ignored = True

    g = stubborn()
    next(g)
    with pytest.raises(RuntimeError, match="ignored GeneratorExit"):
        g.close()
    assert mg.is_grad_enabled()


def test_generator_methods():
    class Model:
        def __init__(self):
            self.w = mg.tensor([1.0], requires_grad=True)

        @mg.no_grad
        def predictions(self, n):
            for i in range(n):
                yield (self.w * i).requires_grad

        @mg.no_grad()
        def predict(self):
            return (self.w * 2).requires_grad

    m = Model()
    assert list(m.predictions(2)) == [False, False]
    assert m.predict() is False
    assert (m.w * 2).requires_grad


def test_the_mode_is_exact_not_toggled():
    """The caller's value comes back exactly: the ContextVar is reset, not set to ``not mode``."""

    @mg.no_grad
    def gen():
        yield
        yield

    before = _grad_enabled.get()
    g = gen()
    next(g)
    assert _grad_enabled.get() is before
    with mg.no_grad():
        next(g)
        assert _grad_enabled.get() is False
    assert _grad_enabled.get() is before


# -- async ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("decorator,mode", DECORATORS)
def test_coroutine_function(decorator, mode):
    @decorator
    async def f(x):
        await asyncio.sleep(0)
        return mg.is_grad_enabled(), x

    async def main():
        got = await f(1)
        return got, mg.is_grad_enabled()

    assert asyncio.run(main()) == ((mode, 1), True)


def test_async_generator_function_is_refused():
    async def agen():
        yield 1

    with pytest.raises(TypeError, match=r"no_grad: cannot decorate the async generator function .*agen"):
        mg.no_grad(agen)
    with pytest.raises(TypeError, match="enable_grad: cannot decorate the async generator"):
        mg.enable_grad()(agen)


# -- context managers ------------------------------------------------------------------------------------


def test_context_managers_nest_and_restore():
    with mg.no_grad():
        assert not mg.is_grad_enabled()
        with mg.enable_grad():
            assert mg.is_grad_enabled()
        assert not mg.is_grad_enabled()
    assert mg.is_grad_enabled()
    ctx = mg.no_grad()
    with ctx:
        with ctx:  # the same instance entered twice
            assert not mg.is_grad_enabled()
        assert not mg.is_grad_enabled()
    assert mg.is_grad_enabled()
