"""The autograd engine: deep graphs, graph release, accumulation, grad mode,
tensor attributes, creation functions and gradcheck."""

from __future__ import annotations

import gc
import re
import warnings
import weakref

import numpy as np
import pytest
from conftest import gc_disabled

import minigrad as mg
from minigrad.autograd import Function
from minigrad.tensor import Tensor, _apply


def graph_objects(root: Tensor) -> list:
    """Every tensor and op node reachable from ``root`` through the recorded graph."""
    out, seen, stack = [], set(), [root]
    while stack:
        t = stack.pop()
        if id(t) in seen:
            continue
        seen.add(id(t))
        out.append(t)
        if t._ctx is not None:
            out.append(t._ctx)
            stack.extend(getattr(t._ctx, "parents", ()))
    return out


# -- deep graphs ---------------------------------------------------------------


def test_backward_through_100k_op_chain():
    c = 1.0 + 2.0**-20  # exactly representable, so the expected value is exact up to rounding
    x0 = 0.75
    x = mg.tensor(x0, dtype="float64", requires_grad=True)
    y = x
    pairs = 50_000
    with gc_disabled():  # only for speed: the cyclic GC would scan the growing graph repeatedly
        for _ in range(pairs):  # 100,000 ops: y <- y * c + x
            y = y * c
            y = y + x
    # y_n = c y_{n-1} + x with y_0 = x  =>  y_n = x (c^n + (c^n - 1) / (c - 1)), dy_n/dx = y_n / x
    cn = c**pairs
    expected_grad = cn + (cn - 1.0) / (c - 1.0)
    y.backward()  # must not raise RecursionError
    assert y.item() == pytest.approx(x0 * expected_grad, rel=1e-9)
    assert x.grad.item() == pytest.approx(expected_grad, rel=1e-9)


def test_dropping_a_deep_graph_without_backward_is_fine():
    x = mg.tensor(1.0, dtype="float64", requires_grad=True)
    y = x
    with gc_disabled():
        for _ in range(50_000):
            y = y * 1.0
        ref = weakref.ref(y._ctx)
        del y  # freeing 50,000 nested nodes must not overflow the C stack
        assert ref() is None


# -- graph release -------------------------------------------------------------


def _small_graph(x):
    a = x * 2.0
    b = a + 1.0
    c = b.exp()
    out = (c * a).sum()
    # d out / dx = sum over elements of 2 * (exp(2x + 1) * 2x + exp(2x + 1))
    xn = x.numpy().astype(np.float64)
    grad = 2.0 * np.exp(2 * xn + 1) * (2 * xn + 1)
    return out, [a, b, c], grad


def test_backward_frees_the_graph_without_cyclic_gc():
    x = mg.tensor([0.1, -0.2, 0.3], dtype="float64", requires_grad=True)
    with gc_disabled():
        out, inter, grad = _small_graph(x)
        refs = [weakref.ref(t) for t in inter] + [weakref.ref(t._ctx) for t in inter]
        del inter
        assert all(r() is not None for r in refs), "the graph must keep intermediates alive before backward"
        out.backward()
        dead = [r() is None for r in refs]
        assert all(dead), f"intermediates still alive after backward: {dead}"
    np.testing.assert_allclose(x.grad.numpy(), grad, rtol=1e-12)


def test_backward_frees_an_intermediate_value_before_the_backward_of_the_op_that_made_it(monkeypatch):
    """An activation no op saved and the user does not hold is freed as soon as backward reaches it,
    not at the end of the pass: the peak memory of a backward is then that of the saved values."""
    from minigrad.ops import Add

    x = mg.tensor(np.ones(1000), requires_grad=True)
    a = x + 1  # Add saves nothing: only the tensor a holds this array
    alive = weakref.ref(a.data)
    loss = (a + 2).sum()
    del a
    seen = []
    original = Add.backward
    monkeypatch.setattr(Add, "backward", lambda self, gy: seen.append(alive() is not None) or original(self, gy))
    loss.backward()
    assert seen == [True, False]  # (a + 2)'s backward runs while a lives (loss's graph holds it), x + 1's after
    np.testing.assert_array_equal(x.grad.numpy(), np.ones(1000))


def test_retained_graph_keeps_intermediate_values():
    x = mg.tensor(np.ones(10), requires_grad=True)
    a = x + 1
    alive = weakref.ref(a.data)
    loss = (a * a).sum()  # Mul saves a
    del a
    loss.backward(retain_graph=True)
    assert alive() is not None
    loss.backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.full(10, 8.0))


def test_retain_graph_keeps_intermediates_and_accumulates():
    x = mg.tensor([0.5, 1.5], dtype="float64", requires_grad=True)
    with gc_disabled():
        out, inter, grad = _small_graph(x)
        refs = [weakref.ref(t) for t in inter]
        del inter
        out.backward(retain_graph=True)
        assert all(r() is not None for r in refs)
        np.testing.assert_allclose(x.grad.numpy(), grad, rtol=1e-12)
        out.backward()  # second pass through the retained graph, now freeing it
        np.testing.assert_allclose(x.grad.numpy(), 2 * grad, rtol=1e-12)
        assert all(r() is None for r in refs)
    with pytest.raises(RuntimeError) as info:
        out.backward()
    msg = str(info.value)
    assert "freed" in msg and "retain_graph" in msg
    np.testing.assert_allclose(x.grad.numpy(), 2 * grad, rtol=1e-12)  # the failed call added nothing


def test_second_backward_without_retain_graph_raises():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match=r"(?s)freed.*retain_graph"):
        y.backward()


def test_graph_has_no_reference_cycles():
    gc.collect()
    saved_flags = gc.get_debug()
    with gc_disabled():
        x = mg.tensor([[0.5, -1.0, 2.0], [0.3, 0.2, -0.7]], dtype="float64", requires_grad=True)
        w = mg.tensor([[1.0], [2.0], [-1.0]], dtype="float64", requires_grad=True)
        h = (x @ w).tanh() + x[:, :1].sigmoid() * 2 - x.sum(axis=1, keepdims=True) / 3
        h = mg.concat([h, h.exp()], axis=1).reshape(-1).max() + mg.stack([x, x]).T.mean()
        h = mg.where(x > 0, x, x * 0.5).to("float32").sum() + h
        y = h * 1.0
        objs = graph_objects(y)
        assert len(objs) > 20
        refs = [weakref.ref(o) for o in objs]
        del objs, h
        y.backward()
        assert x.grad is not None and w.grad is not None
        del x, w, y
        alive = [r() for r in refs if r() is not None]
        assert not alive, f"{len(alive)} graph objects survived without the cyclic GC: {alive[:3]}"
        # and the collector finds no engine object in cyclic garbage either
        gc.set_debug(gc.DEBUG_SAVEALL)
        try:
            gc.collect()
            leaked = [o for o in gc.garbage if isinstance(o, (Tensor, Function))]
        finally:
            gc.set_debug(saved_flags)
            gc.garbage.clear()
        assert leaked == []


def test_graph_dropped_without_backward_is_freed_without_cyclic_gc():
    with gc_disabled():
        x = mg.tensor([1.0, 2.0, 3.0], requires_grad=True)
        y = ((x * 3).exp() + x).sum()
        refs = [weakref.ref(o) for o in graph_objects(y) if o is not x]
        del y
        assert all(r() is None for r in refs)


# -- accumulation --------------------------------------------------------------


def test_reused_node_accumulates():
    xv = np.array([0.5, -2.0, 3.0])
    x = mg.tensor(xv, requires_grad=True)
    y = x * x + x
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * xv + 1, rtol=1e-12)


def test_diamond_graph():
    xv = np.array([0.1, 0.7])
    x = mg.tensor(xv, requires_grad=True)
    a = x * 2.0
    b = a.exp()
    c = a * 3.0
    d = b + c
    d.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * (np.exp(2 * xv) + 3), rtol=1e-12)


def test_leaf_grad_accumulates_across_backward_calls():
    xv = np.array([1.0, 2.0, -3.0])
    x = mg.tensor(xv, requires_grad=True)
    (x * x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * xv)
    (x * 5.0).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * xv + 5)


def test_retain_grad_on_non_leaf():
    xv = np.array([1.0, -2.0])
    x = mg.tensor(xv, requires_grad=True)
    h = x * 3.0
    h.retain_grad()
    out = (h * h).sum() + h.sum()  # h is used twice: its grad is the sum of both paths
    out.backward()
    np.testing.assert_allclose(h.grad.numpy(), 2 * 3 * xv + 1)
    np.testing.assert_allclose(x.grad.numpy(), 3 * (2 * 3 * xv + 1))
    m = x * 2.0
    (m * m).sum().backward()
    with pytest.warns(UserWarning, match=r"not a leaf .*retain_grad\(\)"):
        assert m.grad is None  # non-leaf grads are not kept unless asked, and reading one says so (as in torch)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert h.grad is not None and x.grad is not None  # retained and leaf grads: no warning


def test_retain_grad_requires_grad():
    with pytest.raises(RuntimeError):
        mg.tensor([1.0]).retain_grad()


def test_leaf_grads_do_not_alias():
    a = mg.tensor([1.0, 2.0], requires_grad=True)
    b = mg.tensor([3.0, 4.0], requires_grad=True)
    (a + b).sum().backward()
    assert a.grad.data is not b.grad.data
    a.grad.data[...] = 100.0
    np.testing.assert_array_equal(b.grad.numpy(), [1.0, 1.0])


def test_grad_does_not_alias_the_output_gradient():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    g = np.array([1.0, 1.0], dtype=np.float32)
    x.backward(g)
    x.grad.data[...] = 7.0
    np.testing.assert_array_equal(g, [1.0, 1.0])


def test_backward_with_explicit_grad():
    xv = np.array([[1.0, 2.0], [3.0, 4.0]])
    gv = np.array([[0.5, -1.0], [2.0, 0.25]])
    x = mg.tensor(xv, requires_grad=True)
    (x * x).backward(mg.tensor(gv))
    np.testing.assert_allclose(x.grad.numpy(), 2 * xv * gv)


# -- backward errors -----------------------------------------------------------


def test_backward_on_non_scalar_needs_grad():
    x = mg.tensor(np.ones((2, 3)), requires_grad=True)
    with pytest.raises(RuntimeError, match=re.escape("(2, 3)")):
        (x * 2).backward()


def test_backward_with_wrongly_shaped_grad():
    x = mg.tensor(np.ones((2, 3)), requires_grad=True)
    with pytest.raises(ValueError) as info:
        (x * 2).backward(np.ones((3, 2)))
    assert "(3, 2)" in str(info.value) and "(2, 3)" in str(info.value)
    assert x.grad is None


def test_backward_without_requires_grad():
    with pytest.raises(RuntimeError, match="does not require grad"):
        (mg.tensor([1.0, 2.0]) * 2).sum().backward()
    x = mg.tensor([1.0], requires_grad=True)
    with mg.no_grad():
        y = x * 2
    with pytest.raises(RuntimeError, match="no_grad"):
        y.backward()


def test_requires_grad_on_integer_tensor():
    with pytest.raises(TypeError, match="int64"):
        mg.tensor([1, 2], requires_grad=True)
    with pytest.raises(TypeError):
        mg.arange(3).requires_grad_()


# -- grad mode -----------------------------------------------------------------


def test_no_grad_context_manager():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    with mg.no_grad():
        assert not mg.is_grad_enabled()
        y = x * 2 + 1
        assert not y.requires_grad and y.is_leaf
    assert mg.is_grad_enabled()
    assert (x * 2).requires_grad


def test_no_grad_restores_on_exception():
    with pytest.raises(KeyError), mg.no_grad():
        raise KeyError("boom")
    assert mg.is_grad_enabled()


def test_no_grad_decorators():
    x = mg.tensor([1.0, 2.0], requires_grad=True)

    @mg.no_grad()
    def called(t):
        """doc"""
        return mg.is_grad_enabled(), t * 2

    @mg.no_grad
    def bare(t):
        return mg.is_grad_enabled(), t * 3

    for fn in (called, bare):
        enabled, y = fn(x)
        assert enabled is False
        assert not y.requires_grad
        assert mg.is_grad_enabled()
    assert called.__name__ == "called" and called.__doc__ == "doc"
    assert bare.__name__ == "bare"


def test_no_grad_decorator_recursion():
    @mg.no_grad
    def depth(n):
        assert not mg.is_grad_enabled()
        return 0 if n == 0 else 1 + depth(n - 1)

    assert depth(5) == 5
    assert mg.is_grad_enabled()


def test_nested_grad_modes_restore():
    x = mg.tensor([1.0], requires_grad=True)
    with mg.no_grad():
        with mg.enable_grad():
            assert mg.is_grad_enabled()
            assert (x * 2).requires_grad
            with mg.no_grad():
                assert not mg.is_grad_enabled()
            assert mg.is_grad_enabled()
        assert not mg.is_grad_enabled()
        assert not (x * 2).requires_grad
    assert mg.is_grad_enabled()


def test_reused_no_grad_instance_nests():
    ng = mg.no_grad()
    with ng:
        with mg.enable_grad():
            with ng:
                assert not mg.is_grad_enabled()
            assert mg.is_grad_enabled()
        assert not mg.is_grad_enabled()
    assert mg.is_grad_enabled()


# -- tensor basics -------------------------------------------------------------


def test_detach_stops_gradient(backend):
    xv = np.array([1.0, 2.0, 3.0])
    x = mg.tensor(xv, requires_grad=True)
    d = (x * 2).detach()
    assert not d.requires_grad and d.is_leaf
    (d * x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * xv)  # no contribution through d


def test_to_dtype_casts_and_is_differentiable(backend):
    xv = np.array([0.5, -1.5], dtype=np.float32)
    x = mg.tensor(xv, requires_grad=True)
    for spec in ("float64", np.float64, np.dtype("float64")):
        assert x.to(spec).dtype == np.float64
    assert x.double().dtype == np.float64
    assert x.to("float32") is x  # no-op cast
    y = x.to(dtype="float64")
    assert y.requires_grad and not y.is_leaf
    (y * y).sum().backward()
    assert x.grad.dtype == np.float32
    np.testing.assert_allclose(x.grad.numpy(), 2 * xv)


def test_conversions_and_attributes(backend):
    t = mg.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    assert t.shape == (2, 3) and isinstance(t.shape, tuple)
    assert t.dtype == np.float32
    assert t.ndim == 2
    assert len(t) == 2
    assert t.numel() == 6
    assert t.tolist() == [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]
    arr = t.numpy()
    assert isinstance(arr, np.ndarray) and arr.dtype == np.float32
    arr[0, 0] = 42.0  # a copy: the tensor is unchanged
    assert t.tolist()[0][0] == 1.0
    s = t.sum()
    assert isinstance(s.item(), float) and s.item() == 21.0
    assert isinstance(mg.tensor([7]).item(), int)
    assert float(mg.tensor(2.5)) == 2.5 and int(mg.tensor(3)) == 3
    with pytest.raises(ValueError, match=re.escape("(2, 3)")):
        t.item()
    with pytest.raises(TypeError):
        len(mg.tensor(1.0))


# -- creation ------------------------------------------------------------------


def test_tensor_dtypes(backend):
    assert mg.tensor([1.0, 2.0]).dtype == np.float32
    assert mg.tensor(1.5).dtype == np.float32
    assert mg.tensor([1, 2]).dtype == np.int64
    assert mg.tensor(np.array([1.0, 2.0])).dtype == np.float64
    assert mg.tensor(np.array([1.0], dtype=np.float16)).dtype == np.float16
    assert mg.tensor([1, 2], dtype="float64").dtype == np.float64
    assert mg.tensor([1, 2], dtype=np.float32).dtype == np.float32
    assert mg.tensor([1.0], dtype=np.dtype("float64")).dtype == np.float64
    assert mg.tensor([1.0]).backend.name == backend
    with pytest.raises(TypeError, match="dtype"):
        mg.tensor([1.0], dtype="not-a-dtype")


def test_tensor_copies_its_input(backend):
    arr = np.array([1.0, 2.0])
    t = mg.tensor(arr)
    arr[0] = 99.0
    assert t.tolist() == [1.0, 2.0]
    same_dtype = np.array([1.0, 2.0], dtype=np.float32)
    u = mg.tensor(same_dtype, dtype="float32")
    same_dtype[1] = -5.0
    assert u.tolist() == [1.0, 2.0]
    v = mg.tensor(t)
    v.data[0] = 123.0
    assert t.tolist() == [1.0, 2.0]
    backend_array = mg.get_backend().asarray(np.array([3.0, 4.0]))
    w = mg.tensor(backend_array)
    backend_array[0] = 0.0
    assert w.tolist() == [3.0, 4.0]


def test_filled_creation(backend):
    z = mg.zeros(2, 3)
    assert z.shape == (2, 3) and z.dtype == np.float32 and z.backend.name == backend
    assert z.tolist() == [[0.0] * 3] * 2
    assert mg.zeros((2, 3)).shape == (2, 3)
    assert mg.zeros(()).shape == ()
    o = mg.ones(4, dtype="float64", requires_grad=True)
    assert o.dtype == np.float64 and o.requires_grad and o.is_leaf and o.tolist() == [1.0] * 4
    assert not mg.ones(2).requires_grad
    f = mg.full((2, 2), 7)
    assert f.dtype == np.int64 and f.tolist() == [[7, 7], [7, 7]]
    g = mg.full(3, 2.5)
    assert g.dtype == np.float32 and g.tolist() == [2.5] * 3
    with pytest.raises(ValueError):
        mg.zeros(-1)


def test_arange(backend):
    a = mg.arange(5)
    assert a.dtype == np.int64 and a.tolist() == list(range(5))
    assert mg.arange(2, 8, 3).tolist() == list(range(2, 8, 3))
    b = mg.arange(0, 1, 0.25)
    assert b.dtype == np.float32 and b.tolist() == [0.0, 0.25, 0.5, 0.75]
    assert mg.arange(3, dtype="float64").dtype == np.float64
    assert a.backend.name == backend


def test_random_creation(backend):
    r = mg.randn(3, 4)
    assert r.shape == (3, 4) and r.dtype == np.float32 and r.backend.name == backend
    u = mg.rand(1000, dtype="float64")
    assert u.dtype == np.float64
    un = u.numpy()
    assert un.min() >= 0.0 and un.max() < 1.0
    assert mg.randn(2, requires_grad=True).requires_grad
    assert not mg.rand(2).requires_grad


def test_like_functions(backend):
    src = mg.tensor(np.zeros((2, 5), dtype=np.float64))
    for fn in (mg.zeros_like, mg.ones_like, mg.randn_like, mg.rand_like):
        t = fn(src)
        assert t.shape == (2, 5) and t.dtype == np.float64 and t.backend is src.backend
        assert not t.requires_grad
        assert fn(src, requires_grad=True).requires_grad
        assert fn(src, dtype="float32").dtype == np.float32
    assert mg.zeros_like(src).tolist() == [[0.0] * 5] * 2
    assert mg.ones_like(src).tolist() == [[1.0] * 5] * 2
    f = mg.full_like(src, 3.0)
    assert f.dtype == np.float64 and f.tolist() == [[3.0] * 5] * 2
    ints = mg.zeros_like(mg.arange(3))
    assert ints.dtype == np.int64 and ints.tolist() == [0, 0, 0]


def test_manual_seed(backend):
    mg.manual_seed(1234)
    a, b = mg.randn(6).numpy(), mg.rand(4).numpy()
    mg.manual_seed(1234)
    a2, b2 = mg.randn(6).numpy(), mg.rand(4).numpy()
    np.testing.assert_array_equal(a, a2)
    np.testing.assert_array_equal(b, b2)
    mg.manual_seed(4321)
    assert not np.array_equal(mg.randn(6).numpy(), a)
    assert not np.array_equal(mg.randn(6).numpy(), mg.randn(6).numpy())  # the sequence moves on


# -- gradcheck -----------------------------------------------------------------


class WrongSquare(Function):
    """x ** 2 with a deliberately wrong derivative (3x instead of 2x)."""

    def forward(self, x):
        self.x = x
        return x * x

    def backward(self, gy):
        return (gy * 3 * self.x,)


def test_gradcheck_passes_for_correct_functions(backend):
    mg.manual_seed(0)
    a, b = mg.randn(3, 2), mg.randn(2, 4)
    assert mg.gradcheck(lambda a, b: (a @ b).tanh() * a.sum(), [a, b]) is True
    assert mg.gradcheck(lambda w: (w * w).exp().sum(axis=0), {"w": mg.randn(2, 3)}) is True
    assert mg.gradcheck(lambda x: x.sigmoid(), mg.randn(4)) is True


def test_gradcheck_reports_a_wrong_backward(backend):
    w = mg.tensor([[0.5, -1.0, 2.0]])
    assert _apply(WrongSquare, w).tolist() == [[0.25, 1.0, 4.0]]
    with pytest.raises(mg.GradcheckError) as info:
        mg.gradcheck(lambda w: _apply(WrongSquare, w), {"w": w})
    msg = str(info.value)
    assert re.search(r"\bw\b", msg), msg
    assert "(1, 3)" in msg
    m = re.search(r"autograd (\S+) vs finite difference (\S+)", msg)
    assert m, msg
    analytic, numeric = float(m.group(1)), float(m.group(2))
    assert numeric != 0
    assert analytic / numeric == pytest.approx(1.5, rel=1e-5)  # 3x vs the true 2x
    assert isinstance(info.value, AssertionError)
