"""The ops PyTorch users reach for: a second op table, plus plain tests.

The table (the machinery of ``optable.py``, the same five checks as
``test_ops.py``) covers maximum/minimum, expand/broadcast_to, squeeze(),
flip, split/chunk, gather/take_along_axis, repeat/tile/repeat_interleave,
pad, cumsum, var/std, sign/floor/ceil/round and sin/cos. Each row is named
after the Function class it exercises (``test_op_coverage.py``). Rows are
kept away from the points where an op has no derivative (ties of maximum,
the jumps of floor); those points are ``special=`` rows checked against
PyTorch only. The plain tests below cover what gradcheck cannot
(argmax/argmin, zero gradients of the rounding ops, dtypes) and the error
messages.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import HAVE_TORCH
from optable import (
    INF,
    NAN,
    Table,
    avoiding,
    axis_tests,
    const,
    distinct,
    nonzero,
    normal,
    tt,
)

import minigrad as mg
import minigrad.nn.functional as F

if HAVE_TORCH:
    import torch
    import torch.nn.functional as TF
else:  # the torch references are only called by tests that are skipped then
    torch = TF = None

CASES = Table()
case = CASES.case


def _t64(v):
    """A float64 torch scalar (a Python float would be a float32 0-d tensor in torch.maximum)."""
    return torch.tensor(v, dtype=torch.float64)


# ---------------------------------------------------------------------------
# maximum, minimum: broadcasting; ties and nan only as special points
# ---------------------------------------------------------------------------
_TIES_A = [[1.0, 2.0, -0.0, 3.0], [INF, -INF, NAN, 0.5]]
_TIES_B = [[1.0, 1.0, 0.0, 3.0], [INF, -INF, 1.0, NAN]]
for _op, _np in (("maximum", np.maximum), ("minimum", np.minimum)):
    _mg_fn = getattr(mg, _op)

    def _t_fn(a, b, op=_op):
        return getattr(torch, op)(a, b)

    case(f"{_op}_same", lambda a, b, f=_mg_fn: f(a, b), [distinct(3, 4), distinct(3, 4, offset=0.05)], _np, _t_fn,
         special=[[np.array(_TIES_A), np.array(_TIES_B)]], elementwise=True)
    case(f"{_op}_broadcast_col_row", lambda a, b, f=_mg_fn: f(a, b), [distinct(3, 1), distinct(4, offset=0.05)],
         _np, _t_fn, special=[[np.array([[1.0], [2.0], [NAN]]), np.array([1.0, 2.0, 3.0, 2.0])]])
    case(f"{_op}_broadcast_3d", lambda a, b, f=_mg_fn: f(a, b), [distinct(2, 1, 3), distinct(4, 1, offset=0.05)],
         _np, _t_fn)
    case(f"{_op}_0d_tensor", lambda a, b, f=_mg_fn: f(a, b), [distinct(3, 2), const(0.07)], _np, _t_fn,
         special=[[np.array([[0.5, 1.0], [0.5, 0.5]]), np.array(0.5)]])
    case(f"{_op}_python_scalar", lambda a, f=_mg_fn: f(a, 0.3), [avoiding(2, 3, points=(0.3,))],
         lambda a, f=_np: f(a, 0.3), lambda a, op=_op: getattr(torch, op)(a, _t64(0.3)),
         special=[[np.array([0.3, -INF, INF, NAN, 0.3000001])]], elementwise=True)
    case(f"{_op}_same_tensor", lambda a, f=_mg_fn: f(a, a), [normal(2, 3)],  # a tie everywhere: 1/2 + 1/2
         lambda a: a, lambda a, op=_op: getattr(torch, op)(a, a))
    case(f"{_op}_nonleaf_both", lambda a, f=_mg_fn: f(a.tanh(), a * 0.5), [avoiding(3, 2, points=(0.0,), gap=0.1)],
         lambda a, f=_np: f(np.tanh(a), a * 0.5), lambda a, op=_op: getattr(torch, op)(a.tanh(), a * 0.5))

# ---------------------------------------------------------------------------
# expand, broadcast_to (BroadcastTo), repeat, tile, repeat_interleave
# ---------------------------------------------------------------------------
case("broadcastto_expand_minus1", lambda x: x.expand(-1, 4), [normal(3, 1)],
     lambda x: np.broadcast_to(x, (3, 4)), lambda x: x.expand(-1, 4))
case("broadcastto_expand_new_axes", lambda x: x.expand(2, 3, 5), [normal(3, 1)],
     lambda x: np.broadcast_to(x, (2, 3, 5)), lambda x: x.expand(2, 3, 5))
case("broadcastto_expand_tuple_middle", lambda x: x.expand((2, 4, -1)), [normal(2, 1, 3)],
     lambda x: np.broadcast_to(x, (2, 4, 3)), lambda x: x.expand(2, 4, -1))
case("broadcastto_function", lambda x: mg.broadcast_to(x, (2, 3, 4)), [normal(1, 4)],
     lambda x: np.broadcast_to(x, (2, 3, 4)), lambda x: torch.broadcast_to(x, (2, 3, 4)))
case("broadcastto_method_0d", lambda x: x.broadcast_to((2, 3)), [normal()],
     lambda x: np.broadcast_to(x, (2, 3)), lambda x: x.broadcast_to((2, 3)))
case("broadcastto_then_mul", lambda x, y: x.expand(3, 4) * y, [normal(1, 4), normal(3, 4)],
     lambda x, y: x * y, lambda x, y: x.expand(3, 4) * y)
case("repeat_2d", lambda x: x.repeat(2, 1, 2), [normal(2, 3)],
     lambda x: np.tile(x, (2, 1, 2)), lambda x: x.repeat(2, 1, 2))
case("repeat_tuple", lambda x: x.repeat((3, 1)), [normal(2, 2)], lambda x: np.tile(x, (3, 1)), lambda x: x.repeat(3, 1))
case("repeat_0d", lambda x: x.repeat(2, 3), [normal()], lambda x: np.tile(x, (2, 3)), lambda x: x.repeat(2, 3))
case("tile_fewer_reps", lambda x: x.tile(2), [normal(2, 3)], lambda x: np.tile(x, 2), lambda x: torch.tile(x, (2,)))
case("tile_more_reps", lambda x: x.tile((2, 1, 3)), [normal(2, 3)],
     lambda x: np.tile(x, (2, 1, 3)), lambda x: torch.tile(x, (2, 1, 3)))
case("repeat_interleave_int_axis1", lambda x: x.repeat_interleave(2, axis=1), [normal(2, 3)],
     lambda x: np.repeat(x, 2, axis=1), lambda x: x.repeat_interleave(2, dim=1))
case("repeat_interleave_flat", lambda x: x.repeat_interleave(3), [normal(2, 2)],
     lambda x: np.repeat(x, 3), lambda x: x.repeat_interleave(3))
case("repeat_interleave_counts", lambda x: x.repeat_interleave([1, 0, 3], axis=0), [normal(3, 2)],
     lambda x: np.repeat(x, [1, 0, 3], axis=0), lambda x: x.repeat_interleave(torch.tensor([1, 0, 3]), dim=0))
case("repeat_interleave_counts_negative_axis", lambda x: x.repeat_interleave(mg.tensor([2, 1]), axis=-1),
     [normal(3, 2)], lambda x: np.repeat(x, [2, 1], axis=-1),
     lambda x: x.repeat_interleave(torch.tensor([2, 1]), dim=-1))

# ---------------------------------------------------------------------------
# squeeze() and squeeze(tuple), flip, split, chunk (compositions of Reshape / GetItem)
# ---------------------------------------------------------------------------
case("squeeze_all", lambda x: x.squeeze(), [normal(1, 3, 1, 2)], np.squeeze, lambda x: x.squeeze())
case("squeeze_tuple", lambda x: x.squeeze((0, -2)), [normal(1, 3, 1, 2)],
     lambda x: x.squeeze((0, 2)), lambda x: x.squeeze((0, -2)))
case("squeeze_all_to_0d", lambda x: x.squeeze(), [normal(1, 1)], np.squeeze, lambda x: x.squeeze())
case("flip_axis0", lambda x: x.flip(0), [normal(3, 4)], lambda x: np.flip(x, 0), lambda x: x.flip(0))
case("flip_tuple_negative", lambda x: x.flip((0, -1)), [normal(2, 3, 4)],
     lambda x: np.flip(x, (0, 2)), lambda x: x.flip((0, -1)))
case("flip_0d", lambda x: x.flip(0), [normal()], lambda x: x.copy(), lambda x: x.flip(0))
case("flip_nonleaf_twice", lambda x: x.exp().flip(1) * x.exp(), [normal(2, 3)],
     lambda x: np.flip(np.exp(x), 1) * np.exp(x), lambda x: x.exp().flip(1) * x.exp())


def _weighted_cat(pieces, axis, cat):
    """Join the pieces with a different weight each, so each piece's gradient is told apart."""
    return cat([p * (i + 1.0) for i, p in enumerate(pieces)], axis)


def _np_split(x, sizes, axis):
    return np.split(x, np.cumsum(sizes)[:-1], axis=axis)


for _tag, _shape, _arg, _axis, _sizes in [
    ("int_even", (4, 3), 2, 0, [2, 2]),
    ("int_shorter_last", (5, 3), 2, 0, [2, 2, 1]),
    ("int_larger_than_axis", (2, 3), 5, 1, [3]),
    ("sections", (2, 6), [1, 0, 3, 2], -1, [1, 0, 3, 2]),
]:
    case(f"split_{_tag}", lambda x, a=_arg, ax=_axis: _weighted_cat(x.split(a, ax), ax, mg.concat), [normal(*_shape)],
         lambda x, s=_sizes, ax=_axis: _weighted_cat(_np_split(x, s, ax), ax, np.concatenate),
         lambda x, a=_arg, ax=_axis: _weighted_cat(torch.split(x, a, ax), ax, torch.cat))
for _tag, _shape, _n, _axis, _sizes in [
    ("3_of_5", (5, 2), 3, 0, [2, 2, 1]),
    ("4_of_6", (2, 6), 4, 1, [2, 2, 2]),
    ("5_of_2", (2, 3), 5, -2, [1, 1]),
]:
    case(f"chunk_{_tag}", lambda x, n=_n, ax=_axis: _weighted_cat(x.chunk(n, ax), ax, mg.concat), [normal(*_shape)],
         lambda x, s=_sizes, ax=_axis: _weighted_cat(_np_split(x, s, ax), ax, np.concatenate),
         lambda x, n=_n, ax=_axis: _weighted_cat(torch.chunk(x, n, ax), ax, torch.cat))

# ---------------------------------------------------------------------------
# gather (torch) and take_along_axis (numpy): TakeAlongAxis; repeated indices accumulate
# ---------------------------------------------------------------------------
_IDX_ROWS = np.array([[0, 0, 3], [1, 1, 1], [2, 0, 2]])  # repeated columns in every row
_IDX_AXIS0 = np.array([[2, 0, 1, 2], [2, 2, 0, 0]])
_IDX_SMALL = np.array([[1], [1]])  # smaller than the input outside axis 1
_IDX_3D = np.random.default_rng(5).integers(0, 4, (2, 3, 5))
case("gather_axis1_repeated", lambda x: x.gather(1, _IDX_ROWS), [normal(3, 4)],
     lambda x: np.take_along_axis(x, _IDX_ROWS, 1), lambda x: torch.gather(x, 1, tt(_IDX_ROWS)))
case("gather_axis0", lambda x: x.gather(0, mg.tensor(_IDX_AXIS0)), [normal(3, 4)],
     lambda x: np.take_along_axis(x, _IDX_AXIS0, 0), lambda x: torch.gather(x, 0, tt(_IDX_AXIS0)))
case("gather_index_smaller", lambda x: x.gather(1, _IDX_SMALL), [normal(3, 4)],
     lambda x: x[:2, [1]], lambda x: torch.gather(x, 1, tt(_IDX_SMALL)))
case("gather_negative_axis_3d", lambda x: x.gather(-1, _IDX_3D), [normal(2, 3, 4)],
     lambda x: np.take_along_axis(x, _IDX_3D, -1), lambda x: torch.gather(x, -1, tt(_IDX_3D)))
case("gather_0d", lambda x: x.gather(0, np.array(0)), [normal()], lambda x: x.copy(),
     lambda x: torch.gather(x, 0, torch.tensor(0)))
case("gather_nonleaf_two_gathers", lambda x: x.tanh().gather(1, _IDX_ROWS) * x.tanh().gather(1, _IDX_ROWS[::-1]),
     [normal(3, 4)],
     lambda x: np.take_along_axis(np.tanh(x), _IDX_ROWS, 1) * np.take_along_axis(np.tanh(x), _IDX_ROWS[::-1], 1),
     lambda x: torch.gather(x.tanh(), 1, tt(_IDX_ROWS)) * torch.gather(x.tanh(), 1, tt(_IDX_ROWS[::-1].copy())))
_IDX_NEG = np.array([[-1, 0], [3, -4], [-1, -1]])
_IDX_COL = np.array([[0], [2], [2]])
case("take_along_axis_axis1_negative", lambda x: x.take_along_axis(_IDX_NEG, 1), [normal(3, 4)],
     lambda x: np.take_along_axis(x, _IDX_NEG, 1), lambda x: torch.take_along_dim(x, tt(_IDX_NEG), 1))
case("take_along_axis_broadcast_input", lambda x: x.take_along_axis(_IDX_COL, 1), [normal(1, 4)],
     lambda x: np.take_along_axis(x, _IDX_COL, 1), lambda x: torch.take_along_dim(x, tt(_IDX_COL), 1))
case("take_along_axis_broadcast_indices", lambda x: x.take_along_axis(np.array([[3, 0, 3]]), 1), [normal(3, 4)],
     lambda x: np.take_along_axis(x, np.array([[3, 0, 3]]), 1),
     lambda x: torch.take_along_dim(x, torch.tensor([[3, 0, 3]]), 1))
case("take_along_axis_none", lambda x: x.take_along_axis(np.array([5, 0, 5, 11]), None), [normal(3, 4)],
     lambda x: x.reshape(-1)[[5, 0, 5, 11]], lambda x: torch.take_along_dim(x, torch.tensor([5, 0, 5, 11])))
case("take_along_axis_argmax", lambda x: x.take_along_axis(x.argmax(1, keepdims=True), 1), [distinct(3, 4)],
     lambda x: x.max(1, keepdims=True), lambda x: torch.take_along_dim(x, x.argmax(1, keepdim=True), 1))


# ---------------------------------------------------------------------------
# pad (nn.functional): constant (composed of Concat), the copying modes (GetItem)
# ---------------------------------------------------------------------------
def np_pad(x, pad, mode="constant", value=0.0):
    """NumPy reference with PyTorch's rules: constant and circular crop first; reflect and replicate crop last."""
    pairs = [(0, 0)] * (x.ndim - len(pad) // 2) + [(pad[2 * i], pad[2 * i + 1]) for i in range(len(pad) // 2)][::-1]
    grow = [(max(b, 0), max(f, 0)) for b, f in pairs]

    def crop(a):  # drop the negative amounts
        return a[tuple(slice(max(-b, 0), a.shape[d] - max(-f, 0)) for d, (b, f) in enumerate(pairs))]

    if mode == "constant":
        return np.pad(crop(x), grow, constant_values=value)
    if mode == "circular":
        return np.pad(crop(x), grow, mode="wrap")
    return crop(np.pad(x, grow, mode={"reflect": "reflect", "replicate": "edge"}[mode]))


for _tag, _shape, _pad, _mode, _value in [
    ("constant_last", (2, 3), (1, 2), "constant", None),
    ("constant_two_axes_value", (2, 3, 4), (2, 0, 1, 1), "constant", 1.5),
    ("constant_crop", (3, 5), (-1, 2, 1, -2), "constant", None),
    ("constant_three_axes", (2, 2, 2), (1, 0, 0, 1, 1, 1), "constant", -2.0),
    ("reflect", (2, 5), (3, 2), "reflect", None),
    ("reflect_two_axes_crop", (3, 4, 5), (-1, 2, 2, 1), "reflect", None),
    ("replicate", (2, 3, 4), (2, 1, 0, 3), "replicate", None),
    ("replicate_crop", (2, 4), (-2, 3), "replicate", None),
    ("circular", (2, 3), (3, 1), "circular", None),
    ("circular_crop", (2, 5), (2, -1), "circular", None),
]:
    case(f"pad_{_tag}", lambda x, p=_pad, m=_mode, v=_value: F.pad(x, p, mode=m, value=v), [normal(*_shape)],
         lambda x, p=_pad, m=_mode, v=_value: np_pad(x, p, m, 0.0 if v is None else v),
         lambda x, p=_pad, m=_mode, v=_value: TF.pad(x, p, mode=m, value=v))

# ---------------------------------------------------------------------------
# cumsum (CumSum)
# ---------------------------------------------------------------------------
case("cumsum_axis1", lambda x: x.cumsum(1), [normal(3, 4)], lambda x: np.cumsum(x, 1), lambda x: x.cumsum(1))
case("cumsum_axis0", lambda x: x.cumsum(0), [normal(4, 2)], lambda x: np.cumsum(x, 0), lambda x: x.cumsum(0))
case("cumsum_axis_negative_3d", lambda x: x.cumsum(-2), [normal(2, 3, 4)],
     lambda x: np.cumsum(x, -2), lambda x: x.cumsum(-2),
     special=[[np.array([[[1.0, INF], [-INF, 2.0], [NAN, 0.0]]] * 2)]])
case("cumsum_1d", lambda x: x.cumsum(0), [normal(5)], np.cumsum, lambda x: x.cumsum(0),
     special=[[np.array([1.0, INF, -INF, 2.0, NAN])], [np.array([1e300, 1e300, -1e300])]])
case("cumsum_0d", lambda x: x.cumsum(-1), [normal()], lambda x: x.copy(), lambda x: x.cumsum(-1))
case("cumsum_nonleaf", lambda x: (x * x).cumsum(1).tanh(), [normal(2, 3)],
     lambda x: np.tanh(np.cumsum(x * x, 1)), lambda x: (x * x).cumsum(1).tanh())

# ---------------------------------------------------------------------------
# var, std (composed: Sub, Mul, Sum, Div; std adds Sqrt and Where)
# ---------------------------------------------------------------------------
_ZERO_VAR = np.array([[2.0, 2.0, 2.0], [1.0, 3.0, 5.0], [0.0, 0.0, 0.0]])
_SPECIAL_VAR = [
    [_ZERO_VAR],
    [np.array([[1.0, INF, 2.0], [1.0, NAN, 2.0], [-INF, INF, 0.0]])],
    [np.array([[1e150, 2e150, 3e150], [1e-300, 0.0, -1e-300], [-5.0, -5.0, -5.0]])],
]


def _np_var(x, axis=None, correction=1, keepdims=False):
    axis = tuple(range(x.ndim)) if axis is None else axis
    n = np.prod([x.shape[a] for a in np.atleast_1d(axis)]) if x.ndim else 1
    mean = x.mean(axis=axis, keepdims=True) if x.ndim else x
    with np.errstate(divide="ignore", invalid="ignore"):
        return ((x - mean) ** 2).sum(axis=axis if x.ndim else None, keepdims=keepdims) / max(0, n - correction)


for _op in ("var", "std"):
    _np_ref = _np_var if _op == "var" else (lambda x, **kw: np.sqrt(_np_var(x, **kw)))
    for _tag, _args, _kw, _tkw in [
        ("all", (), {}, {}),
        ("axis1_keep", (1,), {"keepdims": True}, {"dim": 1, "keepdim": True}),
        ("axis_tuple_correction0", ((0, -1),), {"correction": 0}, {"dim": (0, -1), "correction": 0}),
        ("axis0_correction2", (0,), {"correction": 2}, {"dim": 0, "correction": 2}),
        ("unbiased_false", (-1,), {"unbiased": False}, {"dim": -1, "unbiased": False}),
        ("positional_bool", (1, False), {}, {"dim": 1, "unbiased": False}),
    ]:
        _axis = _args[0] if _args else None
        _corr = 0 if _args[1:] == (False,) or _kw.get("unbiased") is False else _kw.get("correction", 1)
        _keep = _kw.get("keepdims", False)
        case(f"{_op}_{_tag}", lambda x, op=_op, a=_args, kw=_kw: getattr(x, op)(*a, **kw),
             [normal(3, 4, 5) if "tuple" in _tag else normal(3, 4)],
             lambda x, f=_np_ref, ax=_axis, c=_corr, k=_keep: f(
                 x, axis=ax, correction=c, keepdims=k),
             lambda x, op=_op, kw=_tkw: getattr(torch, op)(x, **kw),
             special=_SPECIAL_VAR if "tuple" not in _tag else [])
    case(f"{_op}_0d_correction0", lambda x, op=_op: getattr(x, op)(correction=0), [normal()],
         lambda x: np.zeros(()), lambda x, op=_op: getattr(torch, op)(x, correction=0))
case("std_then_normalise", lambda x: (x - x.mean(1, keepdims=True)) / x.std(1, keepdims=True), [normal(3, 5)],
     lambda x: (x - x.mean(1, keepdims=True)) / x.std(1, ddof=1, keepdims=True),
     lambda x: (x - x.mean(1, keepdim=True)) / x.std(1, keepdim=True))

# ---------------------------------------------------------------------------
# sign, floor, ceil, round: zero gradient (gradcheck away from the jumps), values as torch
# ---------------------------------------------------------------------------
_HALVES = np.array([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 3.5, -0.0, 0.0])
_INTEGERS = np.array([-2.0, -1.0, -0.0, 0.0, 1.0, 2.0])
case("sign", lambda x: x.sign(), [nonzero(3, 4)], np.sign, lambda x: x.sign(), special=[[_INTEGERS]],
     elementwise=True)
case("sign_times_x", lambda x: x.sign() * x, [nonzero(3, 4)], np.abs, lambda x: x.sign() * x,
     special=[[np.array([0.0, -0.0, NAN, INF])]])
case("floor", lambda x: x.floor(), [avoiding(3, 4, points=(-2, -1, 0, 1, 2), lo=-2.5, hi=2.5)], np.floor,
     lambda x: x.floor(), special=[[_INTEGERS], [_HALVES]], elementwise=True)
case("ceil", lambda x: x.ceil(), [avoiding(3, 4, points=(-2, -1, 0, 1, 2), lo=-2.5, hi=2.5)], np.ceil,
     lambda x: x.ceil(), special=[[_INTEGERS], [_HALVES]], elementwise=True)
case("round", lambda x: x.round(), [avoiding(3, 4, points=(-1.5, -0.5, 0.5, 1.5), lo=-2.0, hi=2.0)], np.round,
     lambda x: x.round(), special=[[_HALVES]], elementwise=True)
case("round_decimals2", lambda x: x.round(2), [normal(3, 4)], lambda x: np.round(x, 2),
     lambda x: torch.round(x, decimals=2), special=[[np.array([0.125, 0.135, -0.125, 1.005, 2.675, NAN, INF])]])
case("round_decimals_negative", lambda x: x.round(-1), [normal(3, 4, scale=100.0)], lambda x: np.round(x, -1),
     lambda x: torch.round(x, decimals=-1), special=[[np.array([15.0, 25.0, -35.0, 5.0, 1e300, -INF])]])
case("round_plus_x", lambda x: x.round() + x * x, [avoiding(4, points=(-0.5, 0.5), lo=-1.0, hi=1.0)],
     lambda x: np.round(x) + x * x, lambda x: x.round() + x * x, elementwise=True)

# ---------------------------------------------------------------------------
# sin, cos
# ---------------------------------------------------------------------------
case("sin", lambda x: x.sin(), [normal(3, 4, scale=3.0)], np.sin, lambda x: x.sin(), elementwise=True)
case("cos", lambda x: x.cos(), [normal(3, 4, scale=3.0)], np.cos, lambda x: x.cos(), elementwise=True)
case("sin_cos_identity", lambda x: x.sin() * x.sin() + x.cos() * x.cos(), [normal(2, 3)],
     lambda x: np.ones_like(x), lambda x: x.sin() ** 2 + x.cos() ** 2)

CASE_IDS = [c.name for c in CASES]


# ---------------------------------------------------------------------------
# the table-driven tests (as in test_ops.py)
# ---------------------------------------------------------------------------
globals().update(axis_tests(CASES))  # value and gradcheck, torch, non-contiguous, 0-d, special


# ---------------------------------------------------------------------------
# argmax, argmin: values, dtype, ties, nan (no gradient, so not in the table)
# ---------------------------------------------------------------------------
_ARG_DATA = np.array([[1.0, 3.0, 3.0, 0.0], [2.0, 2.0, -1.0, 2.0], [NAN, 5.0, NAN, -INF]])


@pytest.mark.parametrize("op", ["argmax", "argmin"])
@pytest.mark.parametrize("axis, keepdims", [(None, False), (None, True), (0, False), (1, True), (-1, False),
                                            (-2, True)])
@pytest.mark.parametrize("rows", [2, 3], ids=["ties", "ties_and_nan"])
def test_argmax_argmin_match_numpy_and_torch(backend, op, axis, keepdims, rows):
    data = _ARG_DATA[:rows]
    x = mg.tensor(data, dtype="float64", requires_grad=True)
    expected = getattr(np, op)(data, axis=axis, keepdims=keepdims)  # first occurrence; the first nan wins
    for out in (getattr(x, op)(axis, keepdims), getattr(mg, op)(x, axis=axis, keepdims=keepdims)):
        assert out.dtype == np.int64 and not out.requires_grad and out.backend.name == backend
        assert out.shape == expected.shape
        np.testing.assert_array_equal(out.numpy(), expected)
        if HAVE_TORCH:
            t = getattr(torch, op)(torch.tensor(data), dim=axis, keepdim=keepdims)
            assert out.shape == tuple(t.shape)
            np.testing.assert_array_equal(out.numpy(), t.numpy())


@pytest.mark.parametrize("op", ["argmax", "argmin"])
def test_argmax_argmin_0d_integers_and_empty(backend, op):
    s = mg.tensor(2.5)
    for args in [(), (0,), (-1,), (0, True)]:
        out = getattr(s, op)(*args)
        assert out.shape == () and out.item() == 0 and out.dtype == np.int64
    with pytest.raises(ValueError, match=rf"^{op}: axis 1 is out of range"):
        getattr(s, op)(1)
    ints = mg.tensor([[3, 7, 7], [9, 0, 9]])
    np.testing.assert_array_equal(getattr(ints, op)(1).numpy(), getattr(np, op)(ints.numpy(), 1))
    assert getattr(mg.zeros(0, 3), op)(1).shape == (0,)  # nothing to reduce per row, like torch
    for axis in (None, 0):
        with pytest.raises(ValueError, match=rf"^{op}: .*shape \(0, 3\) is empty"):
            getattr(mg.zeros(0, 3), op)(axis)
    with pytest.raises(TypeError, match=rf"^{op}: axis must be an int"):
        getattr(ints, op)((0, 1))


# ---------------------------------------------------------------------------
# the rounding ops: zero gradient everywhere, dtypes, half to even, sign(nan)
# ---------------------------------------------------------------------------
_ROUNDING_POINTS = np.array([-2.5, -1.5, -0.5, -0.0, 0.0, 0.4, 0.5, 1.5, 2.5, 1e300, NAN, INF, -INF])


@pytest.mark.parametrize("op", ["sign", "floor", "ceil", "round"])
def test_rounding_ops_pass_a_zero_gradient_like_torch(backend, op):
    x = mg.tensor(_ROUNDING_POINTS, dtype="float64", requires_grad=True)
    y = getattr(x, op)()
    assert y.requires_grad and y.dtype == np.float64
    (y * 3.0 + x).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.ones_like(_ROUNDING_POINTS))  # only the "+ x" path
    x.grad = None
    getattr(x, op)().sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.zeros_like(_ROUNDING_POINTS))
    if HAVE_TORCH:
        t = torch.tensor(_ROUNDING_POINTS, requires_grad=True)
        ty = getattr(t, op)()
        ty.sum().backward()
        np.testing.assert_array_equal(y.numpy(), ty.detach().numpy())
        np.testing.assert_array_equal(x.grad.numpy(), t.grad.numpy())


def test_round_is_half_to_even_and_sign_of_nan_is_zero(backend):
    halves = mg.tensor([0.5, 1.5, 2.5, -0.5, -2.5, 3.5], dtype="float64")
    assert halves.round().tolist() == [0.0, 2.0, 2.0, -0.0, -2.0, 4.0]
    assert mg.tensor([0.125, 0.375, 1250.0], dtype="float64").round(2).tolist()[:2] == [0.12, 0.38]
    assert mg.tensor([1250.0, 1350.0], dtype="float64").round(-2).tolist() == [1200.0, 1400.0]
    assert mg.tensor([NAN, -3.0, 0.0, INF]).sign().tolist() == [0.0, -1.0, 0.0, 1.0]  # numpy's sign(nan) is nan
    if HAVE_TORCH:
        assert torch.tensor([NAN]).sign().item() == 0.0


@pytest.mark.parametrize("op", ["sign", "floor", "ceil", "round"])
@pytest.mark.parametrize("dtype", ["int64", "int32"])
def test_rounding_ops_keep_integer_dtypes(backend, op, dtype):
    x = mg.tensor([-3, 0, 2, 7], dtype=dtype)
    y = getattr(x, op)()
    assert y.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(y.numpy(), np.sign(x.numpy()) if op == "sign" else x.numpy())
    if HAVE_TORCH:
        t = getattr(torch.tensor(x.numpy()), op)()
        assert str(t.dtype) == f"torch.{dtype}"
        np.testing.assert_array_equal(y.numpy(), t.numpy())


def test_round_decimals_needs_floating_point(backend):
    with pytest.raises(TypeError, match="^round: decimals needs a floating-point tensor, got int64"):
        mg.tensor([15, 25]).round(-1)


def test_float32_stays_float32(backend):
    x = mg.tensor([0.5, -1.25], dtype="float32", requires_grad=True)
    for y in (x.sign(), x.floor(), x.ceil(), x.round(), x.sin(), x.cos(), x.cumsum(0), x.var(), x.std(),
              mg.maximum(x, 0.0), mg.minimum(x, 2), x.flip(0), x.expand(2, 2), x.gather(0, [1, 1])):
        assert y.dtype == np.float32
    assert mg.tensor([1, 2]).sin().dtype == np.float32  # integers become float32, as in torch


@pytest.mark.parametrize("dtype", ["bool", "int32", "int64"])
def test_cumsum_of_integers_is_int64_like_torch(backend, dtype):
    x = mg.tensor(np.array([[1, 0, 1], [1, 1, 0]]).astype(dtype))
    y = x.cumsum(1)
    assert y.dtype == np.int64
    np.testing.assert_array_equal(y.numpy(), [[1, 1, 2], [1, 2, 2]])
    if HAVE_TORCH:
        assert torch.tensor(x.numpy()).cumsum(1).dtype == torch.int64


# ---------------------------------------------------------------------------
# explicit gradient semantics: ties, nan, zero variance, repeated indices
# ---------------------------------------------------------------------------
def test_maximum_minimum_split_ties_and_give_nan_all_of_the_gradient(backend):
    a = mg.tensor([1.0, 2.0, NAN, 3.0, 2.0], dtype="float64", requires_grad=True)
    b = mg.tensor([1.0, 3.0, 1.0, NAN, NAN], dtype="float64", requires_grad=True)
    mg.maximum(a, b).sum().backward()
    assert a.grad.tolist() == [0.5, 0.0, 1.0, 1.0, 1.0]
    assert b.grad.tolist() == [0.5, 1.0, 1.0, 1.0, 1.0]
    a.grad = b.grad = None
    y = mg.minimum(a, b)
    y.sum().backward()
    assert a.grad.tolist() == [0.5, 1.0, 1.0, 1.0, 1.0]
    assert b.grad.tolist() == [0.5, 0.0, 1.0, 1.0, 1.0]
    np.testing.assert_array_equal(y.numpy(), [1.0, 2.0, NAN, NAN, NAN])


@pytest.mark.parametrize("op", ["var", "std"])
def test_zero_variance_has_zero_gradient_like_torch(backend, op):
    x = mg.tensor([[2.0, 2.0, 2.0], [1.0, 2.0, 4.0]], dtype="float64", requires_grad=True)
    y = getattr(x, op)(1)
    assert y.numpy()[0] == 0.0
    y.sum().backward()
    assert x.grad.numpy()[0].tolist() == [0.0, 0.0, 0.0]
    assert np.all(np.isfinite(x.grad.numpy()))


@pytest.mark.parametrize("op", ["var", "std"])
def test_no_degrees_of_freedom_give_nan_like_torch(backend, op):
    x = mg.tensor([[1.0], [2.0]], dtype="float64", requires_grad=True)
    with np.errstate(all="ignore"):
        y = getattr(x, op)(1)
        y.sum().backward()
    assert np.all(np.isnan(y.numpy())) and y.shape == (2,)
    assert getattr(x, op)(1, correction=0).tolist() == [0.0, 0.0]
    assert getattr(mg.tensor(3.0), op)(correction=0).item() == 0.0


def test_var_std_spellings_of_the_correction(backend):
    data = np.random.default_rng(2).standard_normal((3, 4))
    x = mg.tensor(data, dtype="float64")
    for kw, ddof in [({}, 1), ({"correction": 0}, 0), ({"unbiased": True}, 1), ({"unbiased": False}, 0),
                     ({"correction": 2.5}, 2.5)]:
        np.testing.assert_allclose(x.var(1, **kw).numpy(), np.var(data, 1, ddof=ddof), rtol=1e-12)
        np.testing.assert_allclose(x.std(**kw).numpy(), np.std(data, ddof=ddof), rtol=1e-12)
    np.testing.assert_allclose(x.var(0, False).numpy(), np.var(data, 0), rtol=1e-12)  # torch's x.var(0, False)
    with pytest.raises(ValueError, match="^var: give correction or unbiased, not both"):
        x.var(correction=0, unbiased=True)
    with pytest.raises(TypeError, match="^std: the input must be floating point, got int64"):
        mg.tensor([1, 2, 3]).std()


def test_gather_and_take_along_axis_accumulate_repeated_indices(backend):
    x = mg.tensor(np.zeros((2, 3)), dtype="float64", requires_grad=True)
    w = mg.tensor([[1.0, 2.0, 4.0, 8.0], [16.0, 32.0, 64.0, 128.0]], dtype="float64")
    (x.gather(1, [[0, 0, 2, 0], [1, 1, 1, 1]]) * w).sum().backward()
    assert x.grad.tolist() == [[11.0, 0.0, 4.0], [0.0, 240.0, 0.0]]
    x.grad = None
    (x.take_along_axis(np.array([[-1], [2]]), 1) * 5.0).sum().backward()  # -1 and 2 are the same column
    assert x.grad.tolist() == [[0.0, 0.0, 5.0], [0.0, 0.0, 5.0]]
    x.grad = None
    x.take_along_axis(np.array([[0, 0, 1], [0, 0, 1]]), 0).sum().backward()
    assert x.grad.tolist() == [[2.0, 2.0, 0.0], [0.0, 0.0, 2.0]]


# ---------------------------------------------------------------------------
# shapes against torch: split, chunk, squeeze, expand, repeat, pad
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("shape, arg, axis", [
    ((5, 2), 2, 0), ((5, 2), 5, 0), ((5, 2), 7, 0), ((5, 2), 1, -1), ((0, 2), 2, 0), ((0, 2), 0, 0),
    ((5, 2), [3, 0, 2], 0), ((5, 2), [2], 1), ((5, 2), (1, 1), -1),
])
def test_split_shapes_match_torch(backend, shape, arg, axis):
    pieces = mg.zeros(*shape).split(arg, axis)
    assert isinstance(pieces, tuple) and all(isinstance(p, mg.Tensor) for p in pieces)
    if HAVE_TORCH:
        assert [p.shape for p in pieces] == [tuple(p.shape) for p in torch.zeros(shape).split(arg, axis)]


@pytest.mark.parametrize("shape, chunks, axis", [
    ((5,), 3, 0), ((6,), 4, 0), ((2,), 5, 0), ((0,), 3, 0), ((3, 7), 3, 1), ((3, 7), 1, -1), ((4, 2), 4, 0),
])
def test_chunk_shapes_match_torch(backend, shape, chunks, axis):
    pieces = mg.zeros(*shape).chunk(chunks, axis)
    assert isinstance(pieces, tuple)
    if HAVE_TORCH:
        assert [p.shape for p in pieces] == [tuple(p.shape) for p in torch.zeros(shape).chunk(chunks, axis)]


def test_squeeze_extensions(backend):
    x = mg.zeros(1, 3, 1, 2)
    assert x.squeeze().shape == (3, 2)
    assert x.squeeze((0, 2)).shape == (3, 2) and x.squeeze([-2]).shape == (1, 3, 2)
    assert x.squeeze(()).shape == x.shape
    assert mg.zeros(1, 1).squeeze().shape == () and mg.tensor(1.0).squeeze().shape == ()
    assert x.squeeze(0).shape == (3, 1, 2)  # one axis as before
    with pytest.raises(ValueError, match="^squeeze: repeated axis"):
        x.squeeze((0, 0))


def test_expand_and_broadcast_to_do_not_copy(backend):
    x = mg.tensor([[1.0], [2.0]], requires_grad=True)
    y = x.expand(3, -1, 4)
    assert y.shape == (3, 2, 4) and y.data.strides[0] == 0  # a view, like torch
    y.sum().backward()
    assert x.grad.tolist() == [[12.0], [12.0]]
    assert mg.broadcast_to(x, (2, -1)).shape == (2, 1)


def test_repeat_interleave_of_a_0d_tensor_flattens(backend):
    s = mg.tensor(2.0, requires_grad=True)
    for y in (s.repeat_interleave(3), s.repeat_interleave(3, 0), s.repeat_interleave([3], -1)):
        assert y.tolist() == [2.0, 2.0, 2.0]
    s.repeat_interleave(3).sum().backward()
    assert s.grad.item() == 3.0


def test_repeat_with_zero_counts(backend):
    x = mg.tensor([[1.0, 2.0]], requires_grad=True)
    y = x.repeat(0, 2)
    assert y.shape == (0, 4)
    y.sum().backward()
    assert x.grad.tolist() == [[0.0, 0.0]]


def test_pad_of_a_0d_tensor_and_empty_pad(backend):
    assert F.pad(mg.tensor(1.5), ()).item() == 1.5
    x = mg.ones(2, 3)
    assert F.pad(x, (0, 0)).tolist() == x.tolist()
    assert F.pad(x, (0, 0, 1, 0), value=7.0).tolist() == [[7.0] * 3, [1.0] * 3, [1.0] * 3]


# ---------------------------------------------------------------------------
# error messages
# ---------------------------------------------------------------------------
_IDX_OK = np.zeros((2, 3), dtype=np.int64)


@pytest.mark.parametrize("op, fn", [
    ("flip", lambda x: x.flip(2)),
    ("flip", lambda x: x.flip((0, -3))),
    ("cumsum", lambda x: x.cumsum(2)),
    ("gather", lambda x: x.gather(2, _IDX_OK)),
    ("take_along_axis", lambda x: x.take_along_axis(_IDX_OK, -3)),
    ("split", lambda x: x.split(1, 2)),
    ("chunk", lambda x: x.chunk(2, -3)),
    ("argmax", lambda x: x.argmax(2)),
    ("argmin", lambda x: mg.argmin(x, -3)),
    ("var", lambda x: x.var(2)),
    ("std", lambda x: x.std((0, 2))),
    ("squeeze", lambda x: x.squeeze((2,))),
    ("repeat_interleave", lambda x: x.repeat_interleave(2, 2)),
])
def test_out_of_range_axis_names_the_op(backend, op, fn):
    with pytest.raises(ValueError, match=rf"^{op}: axis -?[23] is out of range for a tensor with 2 dimensions"):
        fn(mg.zeros(2, 3))


@pytest.mark.parametrize("op, fn", [
    ("cumsum", lambda s: s.cumsum(1)),
    ("flip", lambda s: s.flip(-2)),
    ("gather", lambda s: s.gather(1, np.array(0))),
    ("repeat_interleave", lambda s: s.repeat_interleave(2, 1)),
    ("argmax", lambda s: s.argmax(-2)),
])
def test_0d_accepts_only_axis_0_and_minus_1(backend, op, fn):
    with pytest.raises(ValueError, match=rf"^{op}: axis -?\d is out of range for a tensor with 0 dimensions"):
        fn(mg.tensor(1.0))


def test_split_and_chunk_errors_name_sizes_and_shapes(backend):
    x = mg.zeros(3, 2)
    with pytest.raises(ValueError, match=r"^split: sizes \[1, 1\] must be non-negative and add up to 3, "
                                         r"the length of axis 0 of shape \(3, 2\)"):
        x.split([1, 1])
    with pytest.raises(ValueError, match=r"^split: sizes \[4, -1\]"):
        x.split([4, -1])
    with pytest.raises(ValueError, match=r"^split: split size must be positive .* got 0 for axis 1 of shape \(3, 2\)"):
        x.split(0, 1)
    with pytest.raises(ValueError, match=r"^chunk: chunks must be a positive int, got 0"):
        x.chunk(0)
    for op in ("split", "chunk"):
        with pytest.raises(ValueError, match=rf"^{op}: needs a tensor with at least 1 dimension, got a 0-d tensor"):
            getattr(mg.tensor(1.0), op)(1)


def test_gather_errors(backend):
    x = mg.zeros(3, 4)
    with pytest.raises(ValueError, match=r"^gather: index must have the input's 2 dimensions, got index shape "
                                         r"\(2,\) for input shape \(3, 4\)"):
        x.gather(0, [0, 1])
    with pytest.raises(ValueError, match=r"^gather: index shape \(1, 5\) must be no larger than input shape "
                                         r"\(3, 4\) outside axis 0"):
        x.gather(0, [[0, 0, 0, 0, 0]])
    with pytest.raises(IndexError, match=r"^gather: index 4 is out of range \[0, 4\) for axis 1 of shape \(3, 4\)"):
        x.gather(1, [[4]])
    with pytest.raises(IndexError, match=r"^gather: index -1 is out of range \[0, 4\)"):
        x.gather(1, [[-1]])  # torch.gather takes no negative indices
    with pytest.raises(TypeError, match="^gather: indices must be integers, got dtype float64"):
        x.gather(1, [[0.5]])


def test_take_along_axis_errors(backend):
    x = mg.zeros(3, 4)
    with pytest.raises(ValueError, match=r"^take_along_axis: indices shape \(2, 1\) does not broadcast against "
                                         r"input shape \(3, 4\) outside axis 1"):
        x.take_along_axis(np.zeros((2, 1), dtype=np.int64), 1)
    with pytest.raises(IndexError, match=r"^take_along_axis: index -5 is out of range \[-4, 4\)"):
        x.take_along_axis(np.array([[-5]]), 1)
    with pytest.raises(ValueError, match=r"^take_along_axis: indices must have the input's 2 dimensions"):
        x.take_along_axis(np.array([0]), 1)


def test_expand_repeat_and_maximum_errors(backend):
    x = mg.zeros(2, 3)
    with pytest.raises(ValueError, match=r"^expand: cannot broadcast shape \(2, 3\) to \(2, 4\): size 4 at position 1"):
        x.expand(2, 4)
    with pytest.raises(ValueError, match=r"^expand: cannot broadcast shape \(2, 3\) to \(-1, 2, 3\)"):
        x.expand(-1, 2, 3)
    with pytest.raises(ValueError, match=r"^broadcast_to: \(3,\) has fewer dimensions than the tensor's shape"):
        mg.broadcast_to(x, (3,))
    with pytest.raises(ValueError, match=r"^repeat: got 1 counts \(2,\) for shape \(2, 3\)"):
        x.repeat(2)
    with pytest.raises(ValueError, match=r"^repeat: counts must be non-negative"):
        x.repeat(1, -1)
    with pytest.raises(ValueError, match=r"^repeat_interleave: repeats must be 2 \(or 1\) non-negative counts"):
        x.repeat_interleave([1, 2, 3], 0)
    for op in ("maximum", "minimum"):
        with pytest.raises(ValueError) as info:
            getattr(mg, op)(x, mg.zeros(4))
        assert str(info.value).startswith(f"{op}:") and "(2, 3)" in str(info.value) and "(4,)" in str(info.value)


@pytest.mark.parametrize("pad, kw, message", [
    ((1,), {}, r"^pad: the pad tuple needs \(before, after\) pairs, got odd length 1"),
    ((1, 1, 1, 1, 1, 1), {}, r"^pad: \(1, 1, 1, 1, 1, 1\) pads 3 axes, but the input has shape \(2, 3\)"),
    ((-2, -2), {}, r"^pad: \(-2, -2\) on axis 1 of shape \(2, 3\) leaves -1 elements"),
    ((1, 1), {"mode": "wrap"}, r"^pad: mode must be one of"),
    ((1, 1), {"mode": "reflect", "value": 1.0}, r"^pad: mode 'reflect' takes no value"),
    ((3, 0), {"mode": "reflect"}, r"^pad: reflect amounts \(3, 0\) must be less than the size 3 of axis 1"),
    ((0, 4), {"mode": "circular"}, r"^pad: circular amounts \(0, 4\) can be at most the size 3 of axis 1"),
])
def test_pad_errors(backend, pad, kw, message):
    with pytest.raises(ValueError, match=message):
        F.pad(mg.zeros(2, 3), pad, **kw)
