"""Property-based tests of the primitive ops on random shapes and dtypes.

Random shapes (0-d tensors and size-0 axes included), random dtypes (bool, signed and unsigned integers,
float16/32/64) and Python scalars go through the elementwise ops, the reductions, matmul and the movement ops.
Each result must have PyTorch's dtype (``torch.result_type`` where torch is installed, else
:mod:`minigrad.dtypes`) and NumPy's values computed in that dtype (and torch's, where installed); shapes that do
not fit raise minigrad's ``ValueError`` naming the op and the shapes, never a bare NumPy error. Gradients of a
few ops are checked against finite differences in float64.

Every test is derandomized, so a run is the same on every machine.
"""

from __future__ import annotations

import contextlib
import operator
import warnings

import numpy as np
import pytest
from conftest import HAVE_TORCH
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import (
    array_shapes,
    basic_indices,
    integer_array_indices,
    mutually_broadcastable_shapes,
)

import minigrad as mg
from minigrad.dtypes import result_type

if HAVE_TORCH:
    import torch

FUZZ = settings(max_examples=300, deadline=None, derandomize=True, database=None)
GRAD = settings(max_examples=80, deadline=None, derandomize=True, database=None)

FLOATS = ["float16", "float32", "float64"]
INTS = ["uint8", "int8", "int16", "int32", "int64"]
DTYPES = ["bool", *INTS, *FLOATS]
SCALARS = [True, False, 0, 1, 2, -1, -3, 300, 2.5, -0.5, 0.0, 1e-3]

# relative tolerance of a result computed in each dtype, against float64 arithmetic on the same inputs
RTOL = {"float16": 4e-3, "float32": 4e-6, "float64": 1e-12}


def _draw_array(dtype: str, shape: tuple, seed: int, special: bool = False) -> np.ndarray:
    """An array of ``dtype`` and ``shape``: small integers, or floats with (if ``special``) 0, -0, inf and nan."""
    rng = np.random.default_rng(seed)
    if dtype == "bool":
        return np.asarray(rng.random(shape) > 0.5)
    if dtype in INTS:
        return np.asarray(rng.integers(0 if dtype.startswith("u") else -6, 7, size=shape), dtype=dtype)
    x = rng.standard_normal(shape) * 3
    if special and x.size:
        specials = np.array([0.0, -0.0, np.inf, -np.inf, np.nan])
        x = np.where(rng.random(shape) < 0.2, specials[rng.integers(0, 5, size=shape)], x)
    return np.asarray(x, dtype=dtype)


def _arrays(dtype: str, shape: tuple, special: bool = False) -> st.SearchStrategy[np.ndarray]:
    return st.integers(0, 2**32 - 1).map(lambda seed: _draw_array(dtype, shape, seed, special))


def _reference_dtype(a, b, op: str) -> np.dtype:
    """The dtype of ``op(a, b)``: torch's where installed (checked against minigrad's rule), else minigrad's."""
    dtype = result_type(*[mg.tensor(x) if isinstance(x, np.ndarray) else x for x in (a, b)])
    if op == "div" and dtype.kind != "f":
        dtype = np.dtype("float32")
    if HAVE_TORCH:
        ta, tb = (torch.as_tensor(x) if isinstance(x, np.ndarray) else x for x in (a, b))
        expected = torch.result_type(ta, tb)
        if op == "div" and not expected.is_floating_point:
            expected = torch.get_default_dtype()
        assert str(expected).removeprefix("torch.") == dtype.name, (a, b, expected, dtype)
    return dtype


def _as(x, dtype: np.dtype) -> np.ndarray:
    """``x`` (an array or a Python number) in ``dtype``; an int out of range wraps around, as in PyTorch."""
    if isinstance(x, np.ndarray):
        return x.astype(dtype)
    if isinstance(x, int) and not isinstance(x, bool) and dtype.kind in "iu":
        return np.asarray(x, dtype=np.int64).astype(dtype)
    return np.asarray(x, dtype=dtype)


def _close(got: mg.Tensor, expected: np.ndarray, dtype: np.dtype, scale: float | np.ndarray = 0.0) -> None:
    """``got`` has ``dtype``, ``expected``'s shape and values (exactly for bool and integers)."""
    assert got.dtype == dtype, (got.dtype, dtype)
    assert got.shape == np.shape(expected), (got.shape, np.shape(expected))
    if dtype.kind != "f":
        np.testing.assert_array_equal(got.numpy(), np.asarray(expected).astype(dtype))
        return
    rtol = RTOL[dtype.name]
    atol = rtol * np.asarray(scale) + np.finfo(dtype).tiny
    np.testing.assert_allclose(got.numpy().astype(np.float64), np.asarray(expected, dtype=np.float64), rtol=rtol,
                               atol=np.max(atol, initial=0.0), equal_nan=True)


def _torch_close(got: mg.Tensor, expected, scale: float = 0.0) -> None:
    """``got`` against a torch result: the same dtype, shape and values."""
    assert str(expected.dtype).removeprefix("torch.") == got.dtype.name, (expected.dtype, got.dtype)
    _close(got, expected.numpy(), got.dtype, scale)


@contextlib.contextmanager
def _quiet():
    """NumPy's floating-point warnings off (inf - inf, log of a negative number, 0 / 0), for both sides."""
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        yield


def _scale(expected: np.ndarray) -> np.ndarray:
    """The magnitude of each finite expected value (0 for inf and nan), for absolute tolerances."""
    magnitude = np.abs(np.asarray(expected, dtype=np.float64))
    return np.where(np.isfinite(magnitude), magnitude, 0.0)


# ---------------------------------------------------------------------------
# binary elementwise ops
# ---------------------------------------------------------------------------
BINARY = {
    "add": (operator.add, np.add),
    "sub": (operator.sub, np.subtract),
    "mul": (operator.mul, np.multiply),
    "div": (operator.truediv, np.true_divide),
    "maximum": (mg.maximum, np.maximum),
    "minimum": (mg.minimum, np.minimum),
}


@st.composite
def binary_operands(draw):
    shapes = draw(mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, min_side=0, max_side=3))
    operands = []
    for shape in shapes.input_shapes:
        dtype = draw(st.sampled_from(DTYPES))
        operands.append(draw(_arrays(dtype, shape, special=True)))
    kinds = draw(st.sampled_from(["tensor-tensor", "tensor-scalar", "scalar-tensor"]))
    if kinds == "tensor-scalar":
        operands[1] = draw(st.sampled_from(SCALARS))
    elif kinds == "scalar-tensor":
        operands[0] = draw(st.sampled_from(SCALARS))
    return tuple(operands)


@FUZZ
@given(op=st.sampled_from(sorted(BINARY)), operands=binary_operands())
@example(op="add", operands=(np.array([1, 200], dtype="uint8"), -1))  # was NumPy's OverflowError
@example(op="mul", operands=(300, np.array([1, -2], dtype="int8")))
@example(op="maximum", operands=(np.array([3], dtype="uint8"), -1))
def test_binary_ops_match_numpy_with_torch_dtypes(op, operands):
    a, b = operands
    fn, np_fn = BINARY[op]
    ma, mb = (mg.tensor(x) if isinstance(x, np.ndarray) else x for x in (a, b))
    if op == "sub" and any(isinstance(x, bool) or getattr(x, "dtype", None) == np.bool_ for x in (a, b)):
        with pytest.raises(TypeError, match="sub: subtraction with a bool operand"):
            fn(ma, mb)
        return
    dtype = _reference_dtype(a, b, op)
    with _quiet():
        got = fn(ma, mb)
        expected = np_fn(_as(a, dtype), _as(b, dtype))
    _close(got, expected, dtype, scale=_scale(expected))
    if HAVE_TORCH:
        ta, tb = (torch.as_tensor(x) if isinstance(x, np.ndarray) else x for x in (a, b))
        if op in ("maximum", "minimum"):  # torch wants two tensors there
            ta, tb = (t if isinstance(t, torch.Tensor) else torch.as_tensor(_as(t, dtype)) for t in (ta, tb))
        tfn = {"add": torch.add, "sub": torch.sub, "mul": torch.mul, "div": torch.true_divide,
               "maximum": torch.maximum, "minimum": torch.minimum}[op]
        _torch_close(got, tfn(ta, tb), scale=_scale(expected))


@FUZZ
@given(op=st.sampled_from(sorted(BINARY)), data=st.data(), dtype=st.sampled_from(["int64", "float32", "float64"]))
def test_binary_ops_refuse_shapes_that_do_not_broadcast(op, data, dtype):
    sa = data.draw(array_shapes(min_dims=1, max_dims=3, min_side=0, max_side=4), label="sa")
    sb = data.draw(array_shapes(min_dims=1, max_dims=3, min_side=0, max_side=4), label="sb")
    try:
        np.broadcast_shapes(sa, sb)
    except ValueError:
        pass
    else:
        assume(False)
    a, b = mg.zeros(*sa, dtype=dtype), mg.ones(*sb, dtype=dtype)
    with pytest.raises(ValueError) as info:
        BINARY[op][0](a, b)
    message = str(info.value)
    assert type(info.value) is ValueError
    assert message.startswith(f"{op}:") and str(sa) in message and str(sb) in message, message


def test_python_ints_wrap_around_in_integer_dtypes_as_in_pytorch():
    """Regression: ``uint8_tensor + -1`` and ``int8_tensor * 300`` raised NumPy's OverflowError."""
    u = mg.tensor(np.array([1, 200], dtype="uint8"))
    assert (u + -1).tolist() == [0, 199] and (u + -1).dtype == np.uint8
    assert (mg.tensor(np.array([1, -2], dtype="int8")) * 300).tolist() == [44, -88]
    assert (u > -1).tolist() == [False, False]  # -1 is 255 in uint8, as in PyTorch
    assert mg.where(u > 100, u, -1).tolist() == [255, 200]
    with pytest.raises(ValueError, match="add: a Python int of 71 bits fits in neither int64 nor uint64"):
        mg.tensor([1]) + 2**70


# ---------------------------------------------------------------------------
# unary elementwise ops
# ---------------------------------------------------------------------------
def _sigmoid(x):
    return np.where(x >= 0, 1 / (1 + np.exp(-np.abs(x))), np.exp(-np.abs(x)) / (1 + np.exp(-np.abs(x))))


UNARY = {  # name: (reference on float64, result is floating, torch function)
    "exp": (np.exp, True, "exp"),
    "log": (np.log, True, "log"),
    "tanh": (np.tanh, True, "tanh"),
    "sigmoid": (_sigmoid, True, "sigmoid"),
    "sqrt": (np.sqrt, True, "sqrt"),
    "relu": (lambda x: np.maximum(x, 0), False, "relu"),
    "abs": (np.abs, False, "abs"),
}


@FUZZ
@given(op=st.sampled_from(sorted(UNARY)), dtype=st.sampled_from(DTYPES), data=st.data())
def test_unary_ops_match_numpy(op, dtype, data):
    shape = data.draw(array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=4))
    x = data.draw(_arrays(dtype, shape, special=True))
    reference, floating, torch_name = UNARY[op]
    out_dtype = np.dtype("float32") if floating and dtype not in FLOATS else np.dtype(dtype)
    with _quiet():
        got = getattr(mg.tensor(x), op)()
        expected = reference(x.astype(out_dtype).astype(np.float64))
    _close(got, expected, out_dtype, scale=_scale(expected))
    if HAVE_TORCH and not (dtype == "bool" and op in ("relu", "abs")):  # torch refuses those two on bool
        _torch_close(got, getattr(torch, torch_name)(torch.as_tensor(x)), scale=_scale(expected))


@pytest.mark.parametrize("dtype", ["bool", *INTS, *FLOATS])
def test_relu_keeps_the_dtype(dtype):
    """Regression: ``relu`` of a bool tensor was int64 (NumPy's ``maximum(x, 0)``)."""
    x = np.array([[1, 0], [0, 1]], dtype=dtype)
    out = mg.tensor(x).relu()
    assert out.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(out.numpy(), x)


# ---------------------------------------------------------------------------
# reductions
# ---------------------------------------------------------------------------
@st.composite
def reduction_args(draw):
    shape = draw(array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=4))
    ndim = len(shape)
    choice = draw(st.sampled_from(["none", "int", "tuple"]))
    if choice == "none":
        axis = None
    elif ndim == 0:
        axis = draw(st.sampled_from([0, -1, (0,), ()])) if choice != "tuple" else draw(st.sampled_from([(), (0,)]))
    elif choice == "int":
        axis = draw(st.integers(-ndim, ndim - 1))
    else:
        axes = draw(st.lists(st.integers(0, ndim - 1), unique=True, max_size=ndim))
        axis = tuple(a - ndim if draw(st.booleans()) else a for a in axes)
    return shape, axis, draw(st.booleans())


def _np_axis(axis, ndim):
    if ndim == 0 and axis is not None:
        return None  # axis 0 or -1 names the 0-d tensor itself
    return axis


@FUZZ
@given(op=st.sampled_from(["sum", "mean", "max", "min"]), dtype=st.sampled_from(DTYPES), args=reduction_args(),
       seed=st.integers(0, 2**32 - 1))
@example(op="sum", dtype="uint8", args=((2, 3), 1, False), seed=0)  # was uint64
@example(op="sum", dtype="bool", args=((2, 0), 0, True), seed=0)
def test_reductions_match_numpy(op, dtype, args, seed):
    shape, axis, keepdims = args
    x = _draw_array(dtype, shape, seed, special=seed % 3 == 0)
    t = mg.tensor(x)
    np_axis = _np_axis(axis, len(shape))
    reduced = range(len(shape)) if np_axis is None else (np_axis if isinstance(np_axis, tuple) else (np_axis,))
    empty = x.size == 0 if np_axis is None else any(shape[a] == 0 for a in reduced)
    if op == "mean" and dtype not in FLOATS:
        with pytest.raises(TypeError, match="mean: the input must be floating point"):
            t.mean(axis=axis, keepdims=keepdims)
        return
    if op in ("max", "min") and empty:
        with pytest.raises(ValueError, match=f"{op}: .*(empty|no {op}imum)"):
            getattr(t, op)(axis=axis, keepdims=keepdims)
        return
    with _quiet():  # the mean of nothing is 0 / 0
        got = getattr(t, op)(axis=axis, keepdims=keepdims)
    keep = keepdims and len(shape) > 0
    with _quiet():  # inf - inf, the mean of nothing
        if op == "sum":
            dtype_out = np.dtype("int64") if dtype not in FLOATS else np.dtype(dtype)  # PyTorch: integer sums are int64
            expected = np.sum(x.astype(np.float64 if dtype in FLOATS else np.int64), axis=np_axis, keepdims=keep)
            scale = _scale(np.sum(np.abs(x.astype(np.float64)), axis=np_axis, keepdims=keep))
        elif op == "mean":
            dtype_out = np.dtype(dtype)
            expected = np.mean(x.astype(np.float64), axis=np_axis, keepdims=keep)
            scale = _scale(expected)
        else:
            dtype_out = np.dtype(dtype)
            expected = getattr(np, "amax" if op == "max" else "amin")(x, axis=np_axis, keepdims=keep)
            scale = _scale(expected)
    if dtype == "float16":  # summing in float16 rounds at every step
        scale = scale * (1 + max(x.size, 1))
    _close(got, np.asarray(expected), dtype_out, scale)
    if HAVE_TORCH and axis != ():  # torch reads dim=() as every axis, NumPy and minigrad as none
        tx = torch.as_tensor(x)
        dims = tuple(range(len(shape))) if axis is None else axis
        tfn = {"sum": torch.sum, "mean": torch.mean, "max": torch.amax, "min": torch.amin}[op]
        expected_t = tfn(tx, dim=dims, keepdim=keepdims) if len(shape) or op != "sum" else tfn(tx)
        assert str(expected_t.dtype).removeprefix("torch.") == got.dtype.name
        assert tuple(expected_t.shape) == got.shape


@FUZZ
@given(op=st.sampled_from(["sum", "mean", "max"]), shape=array_shapes(min_dims=0, max_dims=3, max_side=3),
       bad=st.integers(3, 6))
def test_reductions_refuse_axes_out_of_range(op, shape, bad):
    t = mg.ones(*shape, dtype="float32")
    axis = max(len(shape), 1) + bad - 3
    with pytest.raises(ValueError, match=f"{op}: axis {axis} is out of range for a tensor with {len(shape)} dim"):
        getattr(t, op)(axis=axis)
    if len(shape) >= 1:
        with pytest.raises(ValueError, match=f"{op}: repeated axis"):
            getattr(t, op)(axis=(0, -len(shape)))


# ---------------------------------------------------------------------------
# matmul
# ---------------------------------------------------------------------------
@st.composite
def matmul_operands(draw):
    batch = draw(mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=2, min_side=0, max_side=3))
    n, k, m = (draw(st.integers(0, 3)) for _ in range(3))
    sa = (k,) if draw(st.integers(0, 4)) == 0 else batch.input_shapes[0] + (n, k)
    sb = (k,) if draw(st.integers(0, 4)) == 0 else batch.input_shapes[1] + (k, m)
    da, db = draw(st.sampled_from(["int32", "int64", "float32", "float64"])), draw(
        st.sampled_from(["int32", "int64", "float32", "float64"]))
    return draw(_arrays(da, sa)), draw(_arrays(db, sb))


@FUZZ
@given(operands=matmul_operands())
@example(operands=(np.zeros((0, 2, 0), dtype="int32"), np.zeros((0, 1), dtype="int32")))  # was a reshape error
@example(operands=(np.ones((2, 3, 0)), np.ones((0, 4))))
def test_matmul_matches_numpy(operands):
    a, b = operands
    dtype = _reference_dtype(a, b, "matmul")
    got = mg.tensor(a) @ mg.tensor(b)
    expected = np.matmul(a.astype(dtype), b.astype(dtype))
    k = a.shape[-1]
    scale = np.matmul(np.abs(a.astype(np.float64)), np.abs(b.astype(np.float64))) * max(k, 1)
    _close(got, expected, dtype, scale)
    if HAVE_TORCH:
        ta, tb = torch.as_tensor(a.astype(dtype)), torch.as_tensor(b.astype(dtype))
        _torch_close(got, torch.matmul(ta, tb), scale=float(np.max(scale, initial=0.0)))


@FUZZ
@given(data=st.data())
def test_matmul_refuses_shapes_that_do_not_fit(data):
    sa = data.draw(array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=3), label="sa")
    sb = data.draw(array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=3), label="sb")
    try:
        np.matmul(np.zeros(sa), np.zeros(sb))
    except ValueError:
        pass
    else:
        assume(False)
    with pytest.raises(ValueError) as info:
        mg.zeros(*sa, dtype="float64") @ mg.zeros(*sb, dtype="float64")
    message = str(info.value)
    assert type(info.value) is ValueError and message.startswith("matmul:"), message
    # both shapes are named (as given, or after a 1-d operand became a matrix)
    assert str(sa) in message or str((1,) + sa) in message or str(sa + (1,)) in message, message
    assert str(sb) in message or str(sb + (1,)) in message or str((1,) + sb) in message, message


# ---------------------------------------------------------------------------
# reshape, transpose, indexing
# ---------------------------------------------------------------------------
@st.composite
def reshape_args(draw):
    shape = draw(array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=4))
    size = int(np.prod(shape))
    factors = []
    rest = size
    for _ in range(draw(st.integers(0, 3))):
        divisors = [d for d in range(1, 7) if rest % d == 0] if rest else [0, 1, 2]
        d = draw(st.sampled_from(divisors))
        factors.append(d)
        rest = rest // d if d else rest
    target = [*factors, rest] if size else [*factors, 0] if 0 not in factors else factors
    if int(np.prod(target)) != size:
        target = [size]
    target = draw(st.permutations(target))
    if draw(st.booleans()) and size and target:
        target = list(target)
        target[draw(st.integers(0, len(target) - 1))] = -1
    return shape, tuple(target)


@FUZZ
@given(args=reshape_args(), dtype=st.sampled_from(DTYPES), seed=st.integers(0, 2**32 - 1))
def test_reshape_matches_numpy(args, dtype, seed):
    shape, target = args
    x = _draw_array(dtype, shape, seed)
    got = mg.tensor(x).reshape(target)
    _close(got, x.reshape(target), np.dtype(dtype))


@FUZZ
@given(shape=array_shapes(min_dims=1, max_dims=3, min_side=0, max_side=4), target=st.lists(st.integers(0, 7),
                                                                                           min_size=0, max_size=3))
def test_reshape_refuses_a_different_size(shape, target):
    assume(int(np.prod(shape)) != int(np.prod(target)))
    with pytest.raises(ValueError) as info:
        mg.zeros(*shape).reshape(tuple(target))
    message = str(info.value)
    assert type(info.value) is ValueError and message.startswith("reshape:") and str(shape) in message, message


@FUZZ
@given(shape=array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=3), data=st.data(),
       dtype=st.sampled_from(DTYPES), seed=st.integers(0, 2**32 - 1))
def test_transpose_matches_numpy(shape, data, dtype, seed):
    x = _draw_array(dtype, shape, seed)
    axes = data.draw(st.permutations(range(len(shape))))
    axes = [a - len(shape) if data.draw(st.booleans()) else a for a in axes]
    got = mg.tensor(x).transpose(*axes) if axes else mg.tensor(x).transpose()
    _close(got, np.transpose(x, axes or None), np.dtype(dtype))
    bad = data.draw(st.lists(st.integers(-len(shape) - 2, len(shape) + 1), min_size=1, max_size=len(shape) + 1))
    if len(shape) and sorted(a % len(shape) for a in bad) != list(range(len(shape))):
        with pytest.raises(ValueError, match=r"transpose: axes .* are not a permutation of the"):
            mg.tensor(x).transpose(*bad)


@FUZZ
@given(shape=array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=4), data=st.data(),
       dtype=st.sampled_from(DTYPES), seed=st.integers(0, 2**32 - 1))
def test_basic_indexing_matches_numpy(shape, data, dtype, seed):
    x = _draw_array(dtype, shape, seed)
    index = data.draw(basic_indices(shape, allow_newaxis=True, allow_ellipsis=True))
    got = mg.tensor(x)[index]
    _close(got, x[index], np.dtype(dtype))
    items = index if isinstance(index, tuple) else (index,)
    if HAVE_TORCH and not any(isinstance(i, slice) and (i.step or 1) < 0 for i in items):  # torch: steps > 0
        assert got.shape == tuple(torch.as_tensor(x)[index].shape)


@FUZZ
@given(shape=array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=4), data=st.data(),
       seed=st.integers(0, 2**32 - 1))
def test_integer_array_indexing_matches_numpy(shape, data, seed):
    x = _draw_array("float64", shape, seed)
    index = data.draw(integer_array_indices(shape, result_shape=array_shapes(min_dims=0, max_dims=2, max_side=3)))
    got = mg.tensor(x)[index]
    _close(got, x[index], np.dtype("float64"))


@FUZZ
@given(shape=array_shapes(min_dims=1, max_dims=3, min_side=0, max_side=4), data=st.data())
def test_indexing_out_of_range_names_the_op(shape, data):
    axis = data.draw(st.integers(0, len(shape) - 1))
    n = shape[axis]
    bad = data.draw(st.one_of(st.integers(n, n + 5), st.integers(-n - 5, -n - 1)))
    index = (slice(None),) * axis + (bad,)
    with pytest.raises(IndexError) as info:
        mg.zeros(*shape)[index]
    assert str(info.value).startswith("getitem:") and str(shape) in str(info.value), str(info.value)


# ---------------------------------------------------------------------------
# gradients (float64, small shapes)
# ---------------------------------------------------------------------------
GRAD_BINARY = {
    "add": operator.add,
    "sub": operator.sub,
    "mul": operator.mul,
    "div": lambda a, b: a / (b.abs() + 0.5),
    "maximum": mg.maximum,
}


@GRAD
@given(op=st.sampled_from(sorted(GRAD_BINARY)),
       shapes=mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, min_side=1, max_side=3),
       seed=st.integers(0, 2**32 - 1))
def test_binary_gradients(op, shapes, seed):
    rng = np.random.default_rng(seed)
    a, b = (rng.standard_normal(s) for s in shapes.input_shapes)
    if op == "maximum":  # no ties within the finite-difference step
        assume(np.min(np.abs(np.subtract(a, b)), initial=1.0) > 1e-3)
    xs = [mg.tensor(a, dtype="float64", requires_grad=True), mg.tensor(b, dtype="float64", requires_grad=True)]
    assert mg.gradcheck(GRAD_BINARY[op], xs)


@GRAD
@given(args=reduction_args().filter(lambda a: 0 not in a[0]), op=st.sampled_from(["sum", "mean", "max"]),
       seed=st.integers(0, 2**32 - 1))
def test_reduction_gradients(args, op, seed):
    shape, axis, keepdims = args
    x = np.random.default_rng(seed).permutation(int(np.prod(shape))).reshape(shape) * 0.1 + 0.05  # no ties
    t = mg.tensor(x, dtype="float64", requires_grad=True)
    assert mg.gradcheck(lambda v: getattr(v, op)(axis=axis, keepdims=keepdims), [t])


@GRAD
@given(operands=matmul_operands().filter(lambda ab: 0 not in ab[0].shape + ab[1].shape))
def test_matmul_gradients(operands):
    xs = [mg.tensor(x, dtype="float64", requires_grad=True) for x in operands]
    assert mg.gradcheck(operator.matmul, xs)


@GRAD
@given(shape=array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=3), data=st.data(),
       op=st.sampled_from(["getitem", "take", "transpose", "tanh", "sigmoid", "exp", "log"]),
       seed=st.integers(0, 2**32 - 1))
def test_unary_and_movement_gradients(shape, data, op, seed):
    x = np.random.default_rng(seed).standard_normal(shape)
    if op == "getitem":
        index = data.draw(basic_indices(shape, allow_newaxis=True))
        fn = lambda v: v[index]  # noqa: E731
    elif op == "take":  # repeated indices accumulate their gradients
        index = data.draw(integer_array_indices(shape, result_shape=array_shapes(max_dims=2, max_side=4)))
        fn = lambda v: v[index]  # noqa: E731
    elif op == "transpose":
        axes = data.draw(st.permutations(range(len(shape))))
        fn = lambda v: v.transpose(*axes).reshape(-1)  # noqa: E731
    elif op == "log":
        x = np.abs(x) + 0.5
        fn = lambda v: v.log()  # noqa: E731
    else:
        fn = lambda v: getattr(v, op)()  # noqa: E731
    assert mg.gradcheck(fn, [mg.tensor(x, dtype="float64", requires_grad=True)])
