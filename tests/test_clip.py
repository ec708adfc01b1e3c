"""Gradient clipping (``minigrad.nn.utils``) against ``torch.nn.utils``."""

from __future__ import annotations

import decimal
import math

import numpy as np
import pytest
from conftest import HAVE_TORCH, requires_torch

import minigrad as mg

try:
    import torch
except ImportError:  # the torch comparisons are skipped by requires_torch
    torch = None

SHAPES = [(3, 4), (4,), (2, 3, 2)]


def grads(scale: float = 1.0) -> list[np.ndarray]:
    rng = np.random.default_rng(3)
    return [rng.standard_normal(s) * scale for s in SHAPES]


def pairs(arrays):
    """minigrad and torch parameters with the given gradients (None leaves a parameter without one)."""
    mps, tps = [], []
    for a, s in zip(arrays, SHAPES):
        m = mg.nn.Parameter(np.ones(s), dtype="float64")
        t = torch.ones(s, dtype=torch.float64, requires_grad=True)
        if a is not None:
            m.grad = mg.tensor(a, dtype="float64")
            t.grad = torch.tensor(a)
        mps.append(m)
        tps.append(t)
    return mps, tps


def assert_same_grads(mps, tps):
    for m, t in zip(mps, tps):
        if t.grad is None:
            assert m.grad is None
        else:
            np.testing.assert_allclose(m.grad.numpy(), t.grad.numpy(), rtol=1e-12, atol=1e-15)


NORM_TYPES = [2.0, 1, 3.5, float("inf"), "inf"]


@requires_torch
@pytest.mark.parametrize("max_norm", [0.5, 100.0])
@pytest.mark.parametrize("norm_type", NORM_TYPES, ids=[str(n) for n in NORM_TYPES])
def test_clip_grad_norm_matches_torch(backend, norm_type, max_norm):
    mps, tps = pairs(grads())
    total = mg.nn.utils.clip_grad_norm_(mps, max_norm, norm_type=norm_type)
    expected = torch.nn.utils.clip_grad_norm_(tps, max_norm, norm_type=norm_type)
    assert type(total) is float
    assert total == pytest.approx(expected.item(), rel=1e-12)
    assert_same_grads(mps, tps)
    assert all(m.grad.backend.name == backend for m in mps)


@requires_torch
def test_clip_grad_norm_clips_to_max_norm_and_skips_missing_grads():
    mps, tps = pairs([grads()[0], None, grads()[2]])
    total = mg.nn.utils.clip_grad_norm_(iter(mps), 1.0)
    expected = torch.nn.utils.clip_grad_norm_(tps, 1.0)
    assert total == pytest.approx(expected.item(), rel=1e-12) and total > 1.0
    assert_same_grads(mps, tps)
    after = np.sqrt(sum((m.grad.numpy() ** 2).sum() for m in mps if m.grad is not None))
    assert after == pytest.approx(1.0, rel=1e-5)


@requires_torch
def test_clip_grad_norm_single_tensor():
    mps, tps = pairs(grads(10.0))
    total = mg.nn.clip_grad_norm_(mps[0], 2.0, norm_type=1)
    expected = torch.nn.utils.clip_grad_norm_(tps[0], 2.0, norm_type=1)
    assert total == pytest.approx(expected.item(), rel=1e-12)
    assert_same_grads(mps[:1], tps[:1])


@requires_torch
def test_clip_grad_norm_nonfinite():
    arrays = grads()
    arrays[1][2] = np.inf
    mps, tps = pairs(arrays)
    with pytest.raises(RuntimeError, match="total norm .* is inf"):
        mg.nn.utils.clip_grad_norm_(mps, 1.0, error_if_nonfinite=True)
    with np.errstate(invalid="ignore"):  # inf * 0 is nan, as in torch
        total = mg.nn.utils.clip_grad_norm_(mps, 1.0)
    expected = torch.nn.utils.clip_grad_norm_(tps, 1.0)
    assert total == expected.item() == float("inf")
    for m, t in zip(mps, tps):
        np.testing.assert_array_equal(m.grad.numpy(), t.grad.numpy())  # nan where inf * 0


@requires_torch
@pytest.mark.parametrize("clip_value", [0.3, 5])
def test_clip_grad_value_matches_torch(backend, clip_value):
    mps, tps = pairs([grads()[0], None, grads()[2]])
    assert mg.nn.utils.clip_grad_value_(mps, clip_value) is None
    torch.nn.utils.clip_grad_value_(tps, clip_value)
    assert_same_grads(mps, tps)
    assert all(np.abs(m.grad.numpy()).max() <= clip_value for m in mps if m.grad is not None)


def test_clip_after_backward_updates_param_grad(backend):
    w = mg.nn.Parameter(np.array([3.0, 4.0]), dtype="float64")
    (w * w).sum().backward()  # gradient [6, 8], norm 10
    grad_tensor = w.grad
    assert mg.nn.utils.clip_grad_norm_([w], 5.0) == pytest.approx(10.0)
    assert w.grad is grad_tensor
    np.testing.assert_allclose(w.grad.numpy(), np.array([6.0, 8.0]) * 5 / (10 + 1e-6), rtol=1e-12)
    mg.nn.utils.clip_grad_value_(w, 2.0)
    np.testing.assert_allclose(w.grad.numpy(), [2.0, 2.0])


def test_no_grads_and_errors():
    w = mg.nn.Parameter([1.0, 2.0])
    assert mg.nn.utils.clip_grad_norm_([w], 1.0) == 0.0
    assert mg.nn.utils.clip_grad_norm_([], 1.0) == 0.0
    with pytest.raises(ValueError, match="norm_type must be > 0 or inf"):
        mg.nn.utils.clip_grad_norm_([w], 1.0, norm_type=0)
    with pytest.raises(TypeError, match="parameter 0 is a list"):
        mg.nn.utils.clip_grad_norm_([[1.0]], 1.0)
    with pytest.raises(ValueError, match="clip_value must be >= 0"):
        mg.nn.utils.clip_grad_value_([w], -1.0)
    assert mg.nn.utils.clip_grad_norm_ is mg.nn.clip_grad_norm_


# -- norms that must not overflow (or underflow) where the true value is finite ----------------------------------

FLOAT_DTYPES = ["float16", "float32", "float64"]
ORDERS = [1, 2, 3, 3.5, float("inf")]


def exact_norm(arrays, order) -> float:
    """The order-norm of all elements, computed in 60-digit decimal arithmetic and rounded once to float64."""
    values = [decimal.Decimal(float(abs(v))) for a in arrays for v in np.asarray(a, np.float64).ravel()]
    if order == float("inf"):
        return float(max(values, default=0))
    with decimal.localcontext() as ctx:
        ctx.prec = 60
        p = decimal.Decimal(order)
        total = sum((v**p for v in values), decimal.Decimal(0))
        return float(total ** (1 / p)) if total else 0.0


def params_with(arrays, dtype):
    ps = []
    for a in arrays:
        p = mg.nn.Parameter(np.zeros(np.shape(a)), dtype=dtype)
        if a is not None:
            p.grad = mg.tensor(np.asarray(a, dtype=dtype))
        ps.append(p)
    return ps


def test_clip_grad_norm_large_float32_gradient_is_clipped_not_zeroed():
    """The reported case: the norm 3e19 is finite, so the gradient is scaled to norm 1, not set to 0."""
    p = mg.nn.Parameter(np.zeros(1, np.float32))
    p.grad = mg.tensor(np.array([3e19], np.float32))
    total = mg.nn.clip_grad_norm_([p], 1.0)
    assert total == float(np.float32(3e19))
    assert p.grad.dtype == np.float32
    np.testing.assert_allclose(p.grad.numpy(), [1.0], rtol=1e-6)
    mg.optim.SGD([p], lr=0.5).step()  # the step is no longer silently a no-op
    np.testing.assert_allclose(p.numpy(), [-0.5], rtol=1e-6)


def big_and_small(dtype):
    """Gradients whose squares overflow (first) or underflow (second) ``dtype`` and float64 for float64."""
    info = np.finfo(dtype)
    big = float(info.max) / 4
    tiny = float(info.tiny) * 4 if dtype != "float64" else 1e-300
    return [[big, -big, big / 3], [big / 2], None, [0.0]], [[tiny, -tiny], [tiny / 2, 0.0]]


@pytest.mark.parametrize("order", ORDERS, ids=[str(o) for o in ORDERS])
@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_clip_grad_norm_is_exact_near_overflow_and_underflow(backend, dtype, order):
    max_norm = 2.0
    for arrays in big_and_small(dtype):
        ps = params_with(arrays, dtype)
        given = [a for a in arrays if a is not None]
        expected = exact_norm([np.asarray(a, dtype) for a in given], order)
        assert 0 < expected < float("inf")
        total = mg.nn.clip_grad_norm_(ps, max_norm, norm_type=order)
        assert total == pytest.approx(expected, rel=1e-14)
        assert mg.nn.clip.get_total_norm([p.grad for p in ps if p.grad is not None], order) == pytest.approx(
            exact_norm([p.grad.numpy() for p in ps if p.grad is not None], order), rel=1e-14)
        for p in ps:
            if p.grad is not None:
                assert p.grad.dtype == np.dtype(dtype)
                assert p.grad.backend.name == backend
        if total > max_norm:  # the big case: clipped to max_norm, in the gradients' own precision
            after = exact_norm([p.grad.numpy() for p in ps if p.grad is not None], order)
            assert after == pytest.approx(max_norm, rel=4 * float(np.finfo(dtype).eps))
        else:  # the tiny case: below max_norm, untouched
            for p, a in zip(ps, arrays):
                if a is not None:
                    np.testing.assert_array_equal(p.grad.numpy(), np.asarray(a, dtype))


@pytest.mark.parametrize("order", ORDERS, ids=[str(o) for o in ORDERS])
def test_float64_norms_beyond_the_square_root_of_the_largest_double(order):
    """1e200 squared overflows float64 and 1e-200 squared underflows it; their norms are finite and non-zero."""
    for value in (1e200, 1e-200):
        ps = params_with([[value, value], [value]], "float64")
        expected = exact_norm([[value, value], [value]], order)
        assert mg.nn.clip_grad_norm_(ps, float("inf"), norm_type=order) == pytest.approx(expected, rel=1e-14)


@requires_torch
@pytest.mark.parametrize("order", ORDERS, ids=[str(o) for o in ORDERS])
@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("max_norm", [0.5, 100.0])
def test_clip_grad_norm_matches_torch_in_every_float_dtype(dtype, order, max_norm):
    arrays = [a.astype(dtype) for a in grads(3.0)]
    mps = params_with(arrays, dtype)
    tps = []
    for a in arrays:
        t = torch.zeros(a.shape, dtype=getattr(torch, dtype), requires_grad=True)
        t.grad = torch.tensor(a)
        tps.append(t)
    total = mg.nn.clip_grad_norm_(mps, max_norm, norm_type=order)
    expected = torch.nn.utils.clip_grad_norm_(tps, max_norm, norm_type=order)
    tol = {"float16": 2e-3, "float32": 1e-6, "float64": 1e-12}[dtype]
    assert total == pytest.approx(expected.item(), rel=tol)  # torch's norm is in the dtype, ours in float64
    assert total == pytest.approx(exact_norm(arrays, order), rel=1e-14)
    for m, t in zip(mps, tps):
        assert m.grad.dtype == np.dtype(dtype)
        np.testing.assert_allclose(m.grad.numpy(), t.grad.numpy(), rtol=2 * tol, atol=0)


@requires_torch
def test_get_total_norm_matches_torch():
    arrays = grads()
    tensors = [mg.tensor(a) for a in arrays]
    for order in ORDERS:
        expected = torch.nn.utils.get_total_norm([torch.tensor(a) for a in arrays], norm_type=order)
        assert mg.nn.clip.get_total_norm(tensors, order) == pytest.approx(expected.item(), rel=1e-12)
    assert mg.nn.clip.get_total_norm(tensors[0]) == pytest.approx(np.linalg.norm(arrays[0].ravel()), rel=1e-12)
    assert mg.nn.clip.get_total_norm([]) == 0.0
    with pytest.raises(TypeError, match="get_total_norm: tensor 1 is a ndarray"):
        mg.nn.clip.get_total_norm([tensors[0], arrays[1]])
    with pytest.raises(RuntimeError, match=r"get_total_norm: the total norm .* is nan: tensor 0 \(shape \(1,\)"):
        mg.nn.clip.get_total_norm(mg.tensor([np.nan]), error_if_nonfinite=True)


@requires_torch
def test_empty_gradient_counts_as_zero_as_in_torch():
    m = params_with([np.zeros(0), np.array([3.0, 4.0])], "float64")
    t = [torch.zeros(0, dtype=torch.float64, requires_grad=True), torch.zeros(2, dtype=torch.float64,
                                                                               requires_grad=True)]
    t[0].grad, t[1].grad = torch.zeros(0, dtype=torch.float64), torch.tensor([3.0, 4.0], dtype=torch.float64)
    for order in ORDERS[:-1]:
        assert mg.nn.clip_grad_norm_(m, 1e9, norm_type=order) == torch.nn.utils.clip_grad_norm_(
            t, 1e9, norm_type=order).item()
    # torch 2.13 raises for the inf-norm of an empty gradient ("no identity"); its max over no elements is 0 here
    assert mg.nn.clip_grad_norm_(m, 1e9, norm_type="inf") == 4.0
    assert mg.nn.clip.get_total_norm(mg.tensor(np.zeros(0)), "inf") == 0.0


# -- non-finite total norms: as torch 2.13, and errors that name the parameter ---------------------------------


@requires_torch
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf], ids=["nan", "inf", "-inf"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_nonfinite_total_norm_scales_every_gradient_like_torch(bad, dtype):
    """A nan norm makes every gradient nan (clipping is never silently skipped); inf scales by 0 (inf * 0 = nan)."""
    arrays = [a.astype(dtype) for a in grads()]
    arrays[2][0, 1, 1] = bad
    mps = params_with(arrays, dtype)
    tps = []
    for a in arrays:
        t = torch.zeros(a.shape, dtype=getattr(torch, dtype), requires_grad=True)
        t.grad = torch.tensor(a)
        tps.append(t)
    with np.errstate(invalid="ignore"):
        total = mg.nn.clip_grad_norm_(mps, 1.0)
    expected = torch.nn.utils.clip_grad_norm_(tps, 1.0).item()
    assert (math.isnan(total) and math.isnan(expected)) or total == expected == float("inf")
    for m, t in zip(mps, tps):
        assert m.grad.dtype == np.dtype(dtype)
        np.testing.assert_array_equal(m.grad.numpy(), t.grad.numpy())
    if math.isnan(total):
        assert all(np.isnan(m.grad.numpy()).all() for m in mps)


@pytest.mark.parametrize("bad", [np.nan, np.inf], ids=["nan", "inf"])
def test_error_if_nonfinite_names_the_first_bad_parameter(bad):
    arrays = grads()
    arrays[2][0, 0, 0] = bad
    arrays[0][1, 1] = np.nan if np.isinf(bad) else np.inf  # parameter 0 is bad too, but ...
    ps = params_with([arrays[1], None, arrays[2], arrays[0]], "float64")  # ... it comes last here
    before = [p.grad.numpy() if p.grad is not None else None for p in ps]
    with pytest.raises(RuntimeError) as info:
        mg.nn.clip_grad_norm_(ps, 1.0, error_if_nonfinite=True)
    msg = str(info.value)
    assert msg.startswith("clip_grad_norm_: the total norm of order 2.0 of the gradients is nan")
    assert "the gradient of parameter 2 (shape (2, 3, 2), dtype float64) has norm" in msg
    assert "error_if_nonfinite=False" in msg
    for p, b in zip(ps, before):  # nothing was scaled
        if b is not None:
            np.testing.assert_array_equal(p.grad.numpy(), b)


def test_nan_total_norm_without_torch_expectations():
    ps = params_with([[3.0, 4.0], [np.nan]], "float32")
    total = mg.nn.clip_grad_norm_(ps, 100.0)  # even far below max_norm: nan is never "small enough"
    assert math.isnan(total)
    assert np.isnan(ps[0].grad.numpy()).all() and ps[0].grad.dtype == np.float32


@pytest.mark.parametrize("norm_type", ["max", None, 0, -1, float("nan")])
def test_bad_norm_type(norm_type):
    w = params_with([[1.0]], "float64")
    with pytest.raises(ValueError, match=r"clip_grad_norm_: norm_type must be > 0 or inf \(a number or the string "
                                         r"'inf'\), got"):
        mg.nn.clip_grad_norm_(w, 1.0, norm_type=norm_type)


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_clipping_keeps_each_gradient_dtype(backend, dtype):
    ps = params_with([[300.0, -400.0], [0.25]], dtype)
    total = mg.nn.clip_grad_norm_(ps, 1.0)
    assert total == pytest.approx(exact_norm([[300.0, -400.0], [0.25]], 2), rel=1e-14)
    assert all(p.grad.dtype == np.dtype(dtype) for p in ps)
    expected = np.array([300.0, -400.0]) * (1.0 / (total + 1e-6))
    np.testing.assert_allclose(ps[0].grad.numpy(), expected, rtol=2 * float(np.finfo(dtype).eps))
    mg.nn.clip_grad_value_(ps, 0.5)
    assert all(p.grad.dtype == np.dtype(dtype) for p in ps)
    np.testing.assert_allclose(ps[0].grad.numpy(), np.array([0.5, -0.5], dtype))


def test_clip_factor_far_below_float16_resolution_keeps_digits():
    """max_norm / total = 1e-6 is subnormal in float16; the product is taken in float32 and rounded once."""
    ps = params_with([[1000.0, 1000.0]], "float16")
    max_norm = 1e-3
    total = mg.nn.clip_grad_norm_(ps, max_norm)
    np.testing.assert_allclose(ps[0].grad.numpy().astype(np.float64), [max_norm / 2**0.5] * 2, rtol=1e-3)
    assert total == pytest.approx(1000.0 * 2**0.5, rel=1e-14)


# -- other norms of the code base: the BPTT inspector, the vanishing example, the optimizers' second moments ----


@pytest.mark.parametrize("scale", [1e200, 1e-200])
def test_inspector_grad_norms_do_not_overflow_or_underflow(scale):
    mg.manual_seed(0)
    rnn = mg.nn.RNN(3, 4, dtype="float64")
    x = mg.randn(2, 5, 3, dtype="float64")
    with mg.nn.BPTTInspector(rnn) as inspector:
        out, _ = rnn(x)
        out.backward(np.full(out.shape, scale))
    trace = inspector.trace()
    norms = trace.grad_norms()
    for t, n in zip(trace.steps, norms):
        expected = exact_norm([trace.hidden[t].grad.numpy()], 2)
        assert 0 < expected < float("inf")
        assert n == pytest.approx(expected, rel=1e-14)


def test_vanishing_example_grad_norm():
    from minigrad.cli import load_example

    grad_norm = load_example("vanishing").grad_norm
    ps = params_with([[1e200, -1e200], None, [1e200]], "float64")
    assert grad_norm(ps) == pytest.approx(3**0.5 * 1e200, rel=1e-14)
    ps = params_with([[3e19], [4e19]], "float32")
    assert grad_norm(ps) == pytest.approx(exact_norm([np.float32(3e19), np.float32(4e19)], 2), rel=1e-14)


OPTIMIZERS = [("Adam", {}), ("AdamW", {}), ("RMSprop", {}), ("RMSprop", {"centered": True, "momentum": 0.5})]


@pytest.mark.parametrize("name,kwargs", OPTIMIZERS, ids=["Adam", "AdamW", "RMSprop", "RMSprop-centered"])
@pytest.mark.parametrize("dtype,big", [("float32", 3e19), ("float16", 300.0)])
def test_optimizer_second_moment_does_not_overflow(name, kwargs, dtype, big):
    """g * g overflows (float32 above 1.8e19, float16 above 256) though (1 - beta2) g^2 is finite: the step
    must still move the parameter (it used to be 0: m / inf)."""
    p = mg.nn.Parameter(np.zeros(3), dtype=dtype)
    opt = getattr(mg.optim, name)([p], lr=0.1, **kwargs)
    g = np.array([big, -big, 1.0], dtype)
    p.grad = mg.tensor(g)
    with np.errstate(over="raise"):
        opt.step()
    assert np.isfinite(p.numpy()).all() and (np.sign(p.numpy()) == -np.sign(g)).all()
    if name.startswith("Adam"):  # the first Adam step is lr * g / (|g| + eps)
        np.testing.assert_allclose(p.numpy(), -0.1 * np.sign(g), rtol=1e-3)
    if HAVE_TORCH:
        tp = torch.zeros(3, dtype=getattr(torch, dtype), requires_grad=True)
        topt = getattr(torch.optim, name)([tp], lr=0.1, **kwargs)
        tp.grad = torch.tensor(g)
        topt.step()
        np.testing.assert_allclose(p.numpy(), tp.detach().numpy(), rtol=2e-3 if dtype == "float16" else 1e-6)
