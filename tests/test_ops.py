"""The op test table: every differentiable op, forward and backward.

One declarative table of cases, each ``(name, function of tensors, input makers,
NumPy reference, torch reference)``. Two parametrized tests run over it:

* ``test_forward_and_gradcheck``: the value against the NumPy reference and
  :func:`minigrad.gradcheck` (central differences) in float64;
* ``test_matches_torch``: values and the gradient of every input against PyTorch
  on the same float64 data, to 1e-7 relative (skipped without torch).

Inputs are drawn from a per-case seeded generator and kept away from the points
where an op has no derivative (kinks of abs/relu/clip, ties of max, log/sqrt of
non-positive numbers). Property-based tests (hypothesis) cover random
broadcasting shapes and reduction axes; the last section checks error messages.
The functional ops (softmax, losses) are in the same table; dropout, one_hot and
the stability tests live in ``test_functional.py``.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import HAVE_TORCH
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import mutually_broadcastable_shapes
from optable import (
    INF,
    NAN,
    TORCH_TOL,
    VALUE_TOL,
    Table,
    avoiding,
    axis_tests,
    const,
    distinct,
    nonzero,
    normal,
    positive,
    tt,
)
from optable import mg_inputs as _mg_inputs
from optable import weights as _weights

import minigrad as mg
import minigrad.nn.functional as F

if HAVE_TORCH:
    import torch
    import torch.nn.functional as TF
else:  # the torch references are only called by tests that are skipped then
    torch = TF = None

CASES = Table()
case = CASES.case


# ---------------------------------------------------------------------------
# arithmetic: + - * / ** and unary -
# ---------------------------------------------------------------------------
case("add_same", lambda a, b: a + b, [normal(3, 4), normal(3, 4)], np.add, torch.add if HAVE_TORCH else None,
     elementwise=True)
case("add_broadcast_col_row", lambda a, b: a + b, [normal(3, 1), normal(4)], np.add, lambda a, b: a + b)
case("add_broadcast_3d", lambda a, b: a + b, [normal(2, 1, 3), normal(4, 1)], np.add, lambda a, b: a + b)
case("add_scalar_right", lambda a: a + 2.5, [normal(3, 2)], lambda a: a + 2.5, lambda a: a + 2.5, elementwise=True)
case("add_scalar_left_int", lambda a: 2 + a, [normal(3, 2)], lambda a: 2 + a, lambda a: 2 + a, elementwise=True)
case("add_0d_tensor", lambda a, b: a + b, [normal(3, 2), normal()], np.add, lambda a, b: a + b)
case("sub_broadcast", lambda a, b: a - b, [normal(2, 3, 4), normal(3, 1)], np.subtract, lambda a, b: a - b)
case("sub_broadcast_rev", lambda a, b: b - a, [normal(2, 3, 4), normal(3, 1)], lambda a, b: b - a, lambda a, b: b - a)
case("sub_scalar_right", lambda a: a - 1.5, [normal(4)], lambda a: a - 1.5, lambda a: a - 1.5, elementwise=True)
case("sub_scalar_left", lambda a: 1.5 - a, [normal(4)], lambda a: 1.5 - a, lambda a: 1.5 - a, elementwise=True)
case("mul_broadcast", lambda a, b: a * b, [normal(4, 1), normal(1, 5)], np.multiply, lambda a, b: a * b)
case("mul_self", lambda a: a * a, [normal(3, 3)], lambda a: a * a, lambda a: a * a, elementwise=True)
case("mul_scalar_left", lambda a: 3.0 * a, [normal(2, 3)], lambda a: 3.0 * a, lambda a: 3.0 * a, elementwise=True)
case("mul_scalar_right", lambda a: a * -0.5, [normal(2, 3)], lambda a: a * -0.5, lambda a: a * -0.5, elementwise=True)
case("div_broadcast", lambda a, b: a / b, [normal(3, 4), nonzero(4)], np.divide, lambda a, b: a / b)
case("div_broadcast_num", lambda a, b: a / b, [normal(4), nonzero(3, 1)], np.divide, lambda a, b: a / b)
case("div_scalar_right", lambda a: a / 4.0, [normal(5)], lambda a: a / 4.0, lambda a: a / 4.0, elementwise=True)
case("div_scalar_left", lambda a: 2.0 / a, [nonzero(2, 3)], lambda a: 2.0 / a, lambda a: 2.0 / a, elementwise=True)
case("pow_int", lambda a: a**3, [normal(3, 2)], lambda a: a**3, lambda a: a**3, elementwise=True)
case("pow_float", lambda a: a**1.5, [positive(3, 2)], lambda a: a**1.5, lambda a: a**1.5, elementwise=True)
case("pow_negative", lambda a: a**-2, [nonzero(3, 2)], lambda a: a**-2.0, lambda a: a**-2, elementwise=True)
case("pow_half", lambda a: a**0.5, [positive(4)], np.sqrt, lambda a: a**0.5, elementwise=True)
# exponents whose derivative at base 0 reads 0 * inf in the closed form (PyTorch: 0 for exponent 0)
for _p in (0, 1, 2, 0.0, 2.5, -1):
    case(f"pow_exponent_{_p!r}", lambda a, p=_p: a**p, [positive(4)], lambda a, p=_p: a ** float(p),
         lambda a, p=_p: a**p, elementwise=True)
case("sub_same", lambda a, b: a - b, [normal(3, 4), normal(3, 4)], np.subtract, lambda a, b: a - b, elementwise=True)
case("mul_same", lambda a, b: a * b, [normal(3, 4), normal(3, 4)], np.multiply, lambda a, b: a * b, elementwise=True)
case("div_same", lambda a, b: a / b, [normal(3, 4), nonzero(3, 4)], np.divide, lambda a, b: a / b, elementwise=True)
case("rpow_scalar_base", lambda a: 2.0**a, [normal(3, 2)], lambda a: 2.0**a, lambda a: 2.0**a, elementwise=True)
case("pow_tensor_tensor", lambda a, b: a**b, [positive(3, 4), normal(4)], np.power, lambda a, b: a**b, elementwise=True)
case("pow_tensor_tensor_bcast", lambda a, b: a**b, [positive(3, 1), normal(2, 1, 4)], np.power, lambda a, b: a**b)
case("neg", lambda a: -a, [normal(3, 4)], np.negative, lambda a: -a, elementwise=True)
case("composite_affine_tanh", lambda x, w, b: (x @ w + b).tanh() * x.sum(), [normal(3, 4), normal(4, 2), normal(2)],
     lambda x, w, b: np.tanh(x @ w + b) * x.sum(), lambda x, w, b: torch.tanh(x @ w + b) * x.sum())

# ---------------------------------------------------------------------------
# matmul
# ---------------------------------------------------------------------------
_mm_ref = np.matmul


def _mm_torch(a, b):
    return torch.matmul(a, b)


for _name, _sa, _sb in [
    ("2d", (3, 4), (4, 5)),
    ("batched_3d", (2, 3, 4), (2, 4, 5)),
    ("broadcast_batch", (2, 1, 3, 4), (5, 4, 2)),
    ("3d_at_2d", (2, 3, 4), (4, 2)),
    ("2d_at_3d", (3, 4), (2, 4, 2)),
    ("matrix_vector", (3, 4), (4,)),
    ("vector_matrix", (4,), (4, 3)),
    ("vector_vector", (4,), (4,)),
    ("batched_matrix_vector", (2, 3, 4), (4,)),
    ("vector_batched_matrix", (3,), (2, 3, 4)),
]:
    case(f"matmul_{_name}", lambda a, b: a @ b, [normal(*_sa), normal(*_sb)], _mm_ref, _mm_torch)
for _name, _sx in [("2d", (3, 4)), ("3d", (2, 3, 4)), ("1d", (4,))]:
    case(f"linear_{_name}", lambda x, w, b: F.linear(x, w, b), [normal(*_sx), normal(5, 4), normal(5)],
         lambda x, w, b: x @ w.T + b, lambda x, w, b: TF.linear(x, w, b))
case("linear_no_bias", lambda x, w: F.linear(x, w), [normal(2, 3, 4), normal(5, 4)], lambda x, w: x @ w.T,
     lambda x, w: TF.linear(x, w))
case("matmul_function", lambda a, b: mg.matmul(a, b), [normal(2, 3), normal(3, 2)], _mm_ref, _mm_torch)
case("matmul_self", lambda a: a @ a.T, [normal(3, 2)], lambda a: a @ a.T, lambda a: a @ a.T)

# ---------------------------------------------------------------------------
# reductions: sum, mean, max, min
# ---------------------------------------------------------------------------
def _tdims(x, axis):
    return tuple(range(x.ndim)) if axis is None else axis


_REDUCTIONS = {
    # name: (minigrad method, numpy function, torch function taking dim=tuple)
    "sum": (np.sum, lambda x, d, k: torch.sum(x, dim=d, keepdim=k)),
    "mean": (np.mean, lambda x, d, k: torch.mean(x, dim=d, keepdim=k)),
    "max": (np.max, lambda x, d, k: torch.amax(x, dim=d, keepdim=k)),
    "min": (np.min, lambda x, d, k: torch.amin(x, dim=d, keepdim=k)),
}
for _op, (_np_fn, _t_fn) in _REDUCTIONS.items():
    for _axis, _keep in [(None, False), (None, True), (0, False), (-1, True), (1, False), ((0, 2), False),
                         ((2, 0), True), ((-1, -2), False)]:
        _maker = distinct(2, 3, 4) if _op in ("max", "min") else normal(2, 3, 4)
        case(
            f"{_op}_axis{_axis}_keep{_keep}".replace(" ", ""),
            lambda x, op=_op, axis=_axis, keep=_keep: getattr(x, op)(axis=axis, keepdims=keep),
            [_maker],
            lambda x, f=_np_fn, axis=_axis, keep=_keep: f(x, axis=axis, keepdims=keep),
            lambda x, f=_t_fn, axis=_axis, keep=_keep: f(x, _tdims(x, axis), keep),
        )
# infinities, ties, signed zeros and nan in every reduction, against torch
_SPECIAL_ROWS = np.array([[1.0, INF, INF, 2.0], [-INF, -INF, -INF, -INF], [0.0, -0.0, 0.0, -3.0],
                          [NAN, 1.0, 2.0, 3.0], [5.0, 5.0, -INF, 5.0]])
for _op, (_np_fn, _t_fn) in _REDUCTIONS.items():
    for _axis in (None, 0, 1):
        case(f"{_op}_special_axis{_axis}", lambda x, op=_op, axis=_axis: getattr(x, op)(axis=axis),
             [distinct(3, 4)], lambda x, f=_np_fn, axis=_axis: f(x, axis=axis),
             lambda x, f=_t_fn, axis=_axis: f(x, _tdims(x, axis), False), special=[[_SPECIAL_ROWS]])
case("sum_1d", lambda x: x.sum(), [normal(5)], np.sum, lambda x: x.sum())
case("max_1d_axis0", lambda x: x.max(0), [distinct(5)], lambda x: x.max(0), lambda x: x.amax(0))
case("mean_then_mul", lambda x: x.mean(1, keepdims=True) * x, [normal(3, 4)],
     lambda x: x.mean(1, keepdims=True) * x, lambda x: x.mean(1, keepdim=True) * x)

# ---------------------------------------------------------------------------
# shape: reshape, transpose, T, swapaxes, squeeze, unsqueeze, flatten
# ---------------------------------------------------------------------------
case("reshape", lambda x: x.reshape(2, 6), [normal(3, 4)], lambda x: x.reshape(2, 6), lambda x: x.reshape(2, 6))
case("reshape_tuple_minus1", lambda x: x.reshape((4, -1)), [normal(2, 3, 2)],
     lambda x: x.reshape(4, -1), lambda x: x.reshape(4, -1))
case("reshape_to_scalar_shape", lambda x: x.reshape(()), [normal(1, 1)],
     lambda x: x.reshape(()), lambda x: x.reshape(()))
case("transpose_default", lambda x: x.transpose(), [normal(2, 3, 4)],
     lambda x: x.transpose(), lambda x: x.permute(2, 1, 0))
case("transpose_axes", lambda x: x.transpose(1, 2, 0), [normal(2, 3, 4)],
     lambda x: x.transpose(1, 2, 0), lambda x: x.permute(1, 2, 0))
case("transpose_tuple_negative", lambda x: x.transpose((-1, 0, 1)), [normal(2, 3, 4)],
     lambda x: x.transpose(2, 0, 1), lambda x: x.permute(2, 0, 1))
case("T_2d", lambda x: x.T, [normal(3, 4)], lambda x: x.T, lambda x: x.T)
case("T_3d", lambda x: x.T, [normal(2, 3, 4)], lambda x: x.T, lambda x: x.permute(2, 1, 0))
case("swapaxes", lambda x: x.swapaxes(0, 2), [normal(2, 3, 4)],
     lambda x: x.swapaxes(0, 2), lambda x: x.swapaxes(0, 2))
case("swapaxes_negative", lambda x: x.swapaxes(-1, -2), [normal(2, 3, 4)],
     lambda x: x.swapaxes(-1, -2), lambda x: x.swapaxes(-1, -2))
case("squeeze", lambda x: x.squeeze(1), [normal(3, 1, 2)], lambda x: x.squeeze(1), lambda x: x.squeeze(1))
case("squeeze_negative", lambda x: x.squeeze(-1), [normal(3, 2, 1)], lambda x: x.squeeze(-1), lambda x: x.squeeze(-1))
case("unsqueeze_0", lambda x: x.unsqueeze(0), [normal(3, 2)], lambda x: x[None], lambda x: x.unsqueeze(0))
case("unsqueeze_middle", lambda x: x.unsqueeze(1), [normal(3, 2)], lambda x: x[:, None], lambda x: x.unsqueeze(1))
case("unsqueeze_negative", lambda x: x.unsqueeze(-1), [normal(3, 2)], lambda x: x[..., None], lambda x: x.unsqueeze(-1))
case("flatten", lambda x: x.flatten(), [normal(2, 3, 2)], lambda x: x.reshape(-1), lambda x: x.flatten())
case("flatten_from_1", lambda x: x.flatten(1), [normal(2, 3, 2)],
     lambda x: x.reshape(2, -1), lambda x: x.flatten(start_dim=1))
case("flatten_from_neg2", lambda x: x.flatten(-2), [normal(2, 3, 2)],
     lambda x: x.reshape(2, -1), lambda x: x.flatten(start_dim=-2))


# ---------------------------------------------------------------------------
# indexing: basic, negative steps, None, integer arrays (repeated), masks
# ---------------------------------------------------------------------------
def _to_torch_index(idx):
    if isinstance(idx, tuple):
        return tuple(_to_torch_index(i) for i in idx)
    if isinstance(idx, np.ndarray):
        return torch.as_tensor(idx)
    return idx


def index_case(name, shape, idx, torch_idx=None):
    """``x[idx]``; ``torch_idx`` where torch spells it differently (negative steps)."""
    case(
        f"getitem_{name}",
        lambda x: x[idx],
        [normal(*shape)],
        lambda x: x[idx],
        lambda x: x[_to_torch_index(idx if torch_idx is None else torch_idx)],
    )


_ROWS = np.array([0, 2, 2, 1, 0])
_COLS = np.array([1, 1, 1, 0, 3])
_MASK = np.random.default_rng(7).random((3, 4)) > 0.5
index_case("int", (3, 4), 1)
index_case("negative_int", (3, 4), -1)
index_case("int_int", (3, 4), (2, 1))
index_case("slice", (4, 3), slice(1, 3))
index_case("slice_step", (5, 3), (slice(None, None, 2), slice(1, None)))
index_case("ellipsis", (2, 3, 4), (Ellipsis, 1))
index_case("none", (3, 4), (None, slice(1, None)))
index_case("none_middle_int", (3, 4), (slice(None), None, 0))
# torch has no negative steps: the same elements through an index array computed by numpy
index_case("negative_step", (4, 3), slice(None, None, -1), np.arange(4)[::-1].copy())
index_case("negative_step_2", (5, 3), (slice(3, 0, -2), -1), (np.arange(5)[3:0:-2].copy(), -1))
index_case("negative_step_cols", (3, 4), (1, slice(None, None, -1)), (1, np.arange(4)[::-1].copy()))
index_case("int_list_repeated", (4, 3), [0, 0, 2])
index_case("int_array_repeated", (4, 3), np.array([2, 0, 2, 2, 3]))
index_case("int_array_2d", (4, 3), np.array([[0, 1], [1, 1]]))
index_case("int_array_negative", (4, 3), np.array([-1, 0, -1]))
index_case("slice_then_array", (3, 4), (slice(None), [1, 1, 0]))
index_case("rows_cols_repeated", (3, 4), (_ROWS, _COLS))
index_case("rows_cols_3d", (3, 4, 2), (_ROWS, _COLS))
index_case("array_int_mixed", (3, 4), (_ROWS, 2))
index_case("bool_mask_full", (3, 4), _MASK)
index_case("bool_mask_rows", (4, 3), np.array([True, False, True, True]))
# an int mixed with index arrays: the int selects first (PyTorch), so the gathered axis stays in place;
# the references spell out the two steps
_MASK5 = np.array([True, False, True, False, True])
for _name, _idx, _ref in [
    ("int_slice_array", (1, slice(None), [0, 2]), lambda x: x[1][:, [0, 2]]),
    ("array_slice_int", ([0, 2], slice(None), 1), lambda x: x[:, :, 1][[0, 2]]),
    ("int_slice_array_2d", (1, slice(None), np.array([[0, 1], [2, 3]])), lambda x: x[1][:, np.array([[0, 1], [2, 3]])]),
    ("int_none_slice_array", (1, None, slice(None), [0, 2]), lambda x: x[1][None][:, :, [0, 2]]),
    ("int_slice_mask", (1, slice(None), _MASK5), lambda x: x[1][:, _MASK5]),
    ("ellipsis_int_array", (Ellipsis, 1, [3, 0]), lambda x: x[:, 1, :][:, [3, 0]]),
]:
    case(f"getitem_mixed_{_name}", lambda x, i=_idx: x[i], [normal(3, 4, 5)], _ref,
         lambda x, i=_idx: x[_to_torch_index(tuple(np.asarray(v) if isinstance(v, list) else v for v in i))])
case("getitem_tensor_index", lambda x: x[mg.tensor([1, 1, 0])], [normal(3, 2)], lambda x: x[[1, 1, 0]],
     lambda x: x[torch.tensor([1, 1, 0])])
# non-leaf indexing: index gradients mixed with dense gradients and with each other
def _gather_and_dense(h):
    return h[[0, 0, 2]].sum(0) + h.sum(0) + h[1:].sum(0)


def _two_gathers(h):
    return h[[1, 0, 1]] * h[[2, 2, 0]]


def _basic_twice(h):
    return h[0] * h[0] + h[-1]


case("getitem_nonleaf_index_and_dense", lambda x: _gather_and_dense(x * 1.5), [normal(3, 4)],
     lambda x: _gather_and_dense(x * 1.5), lambda x: _gather_and_dense(x * 1.5))
case("getitem_nonleaf_two_gathers", lambda x: _two_gathers(x.tanh()), [normal(3, 2)],
     lambda x: _two_gathers(np.tanh(x)), lambda x: _two_gathers(x.tanh()))
case("getitem_nonleaf_basic_twice", lambda x: _basic_twice(x.exp()), [normal(3, 2)],
     lambda x: _basic_twice(np.exp(x)), lambda x: _basic_twice(x.exp()))
case("getitem_every_timestep", lambda x: mg.stack([x[:, t] * (t + 1) for t in range(x.shape[1])], axis=1),
     [normal(2, 4, 3)], lambda x: x * np.arange(1, 5)[None, :, None],
     lambda x: torch.stack([x[:, t] * (t + 1) for t in range(x.shape[1])], dim=1))

# ---------------------------------------------------------------------------
# concat, stack, where
# ---------------------------------------------------------------------------
case("concat_axis0", lambda a, b, c: mg.concat([a, b, c], 0), [normal(2, 3), normal(1, 3), normal(4, 3)],
     lambda a, b, c: np.concatenate([a, b, c], 0), lambda a, b, c: torch.cat([a, b, c], 0))
case("concat_axis1", lambda a, b: mg.concat([a, b], axis=1), [normal(2, 3), normal(2, 1)],
     lambda a, b: np.concatenate([a, b], 1), lambda a, b: torch.cat([a, b], 1))
case("concat_axis_negative", lambda a, b: mg.concat([a, b], axis=-1), [normal(2, 2, 3), normal(2, 2, 2)],
     lambda a, b: np.concatenate([a, b], -1), lambda a, b: torch.cat([a, b], -1))
case("concat_same_tensor_twice", lambda a: mg.concat([a, a * 2.0, a], 0), [normal(2, 3)],
     lambda a: np.concatenate([a, a * 2, a], 0), lambda a: torch.cat([a, a * 2.0, a], 0))
case("stack_axis0", lambda a, b, c: mg.stack([a, b, c]), [normal(2, 3)] * 3,
     lambda a, b, c: np.stack([a, b, c]), lambda a, b, c: torch.stack([a, b, c]))
case("stack_axis1", lambda a, b: mg.stack([a, b], axis=1), [normal(2, 3)] * 2,
     lambda a, b: np.stack([a, b], 1), lambda a, b: torch.stack([a, b], 1))
case("stack_axis_negative", lambda a, b: mg.stack([a, b], axis=-1), [normal(2, 3)] * 2,
     lambda a, b: np.stack([a, b], -1), lambda a, b: torch.stack([a, b], -1))

_COND = np.random.default_rng(11).random((3, 4)) > 0.5
_COND_COL = np.array([[True], [False], [True]])
case("where_same_shape", lambda a, b: mg.where(_COND, a, b), [normal(3, 4), normal(3, 4)],
     lambda a, b: np.where(_COND, a, b), lambda a, b: torch.where(tt(_COND), a, b))
case("where_broadcast", lambda a, b: mg.where(_COND_COL, a, b), [normal(4), normal(3, 4)],
     lambda a, b: np.where(_COND_COL, a, b), lambda a, b: torch.where(tt(_COND_COL), a, b))
case("where_broadcast_cond_widest", lambda a, b: mg.where(_COND, a, b), [normal(3, 1), normal(1, 4)],
     lambda a, b: np.where(_COND, a, b), lambda a, b: torch.where(tt(_COND), a, b))
case("where_scalar_other", lambda a: mg.where(_COND, a, 0.0), [normal(3, 4)],
     lambda a: np.where(_COND, a, 0.0), lambda a: torch.where(tt(_COND), a, 0.0))
case("where_tensor_cond", lambda a, b: mg.where(a > 0, a, b * 2.0), [nonzero(3, 4), normal(3, 4)],
     lambda a, b: np.where(a > 0, a, b * 2), lambda a, b: torch.where(a > 0, a, b * 2.0))
# where(a > b, a, b) is torch.maximum except at nan and ties (where picks b): infinities only
case("maximum_via_where", lambda a, b: mg.where(a > b, a, b), [distinct(3, 4), distinct(3, 4, offset=0.05)],
     np.maximum, lambda a, b: torch.maximum(a, b),
     special=[[np.array([[INF, -INF, 1.0, 0.5]]), np.array([[1.0, 2.0, -INF, -0.0]])]])

# ---------------------------------------------------------------------------
# unary functions and casts
# ---------------------------------------------------------------------------
case("exp", lambda x: x.exp(), [normal(3, 4)], np.exp, torch.exp if HAVE_TORCH else None, elementwise=True)
case("log", lambda x: x.log(), [positive(3, 4, lo=0.2, hi=5.0)], np.log, lambda x: x.log(), elementwise=True)
case("sqrt", lambda x: x.sqrt(), [positive(3, 4, lo=0.2, hi=5.0)], np.sqrt, lambda x: x.sqrt(), elementwise=True)
case("abs", lambda x: x.abs(), [avoiding(3, 4)], np.abs, lambda x: x.abs(), elementwise=True)
case("tanh", lambda x: x.tanh(), [normal(3, 4, scale=2.0)], np.tanh, lambda x: x.tanh(), elementwise=True)
case("sigmoid", lambda x: x.sigmoid(), [normal(3, 4, scale=3.0)], lambda x: 1 / (1 + np.exp(-x)), lambda x: x.sigmoid(),
     elementwise=True)
case("sigmoid_large", lambda x: x.sigmoid(), [const([-40.0, -20.0, 0.0, 20.0, 40.0])],
     lambda x: 1 / (1 + np.exp(-x)), lambda x: x.sigmoid())
case("relu", lambda x: x.relu(), [avoiding(3, 4)], lambda x: np.maximum(x, 0), lambda x: x.relu(), elementwise=True)
case("clip", lambda x: x.clip(-0.5, 0.7), [avoiding(3, 4, points=(-0.5, 0.7))],
     lambda x: np.clip(x, -0.5, 0.7), lambda x: x.clamp(-0.5, 0.7), elementwise=True)
case("clip_lo_only", lambda x: x.clip(lo=-0.3), [avoiding(3, 4, points=(-0.3,))],
     lambda x: np.maximum(x, -0.3), lambda x: x.clamp(min=-0.3), elementwise=True)
case("clip_hi_only", lambda x: x.clip(hi=0.4), [avoiding(3, 4, points=(0.4,))],
     lambda x: np.minimum(x, 0.4), lambda x: x.clamp(max=0.4), elementwise=True)
# a float32 intermediate: finite differences need a larger step (the function is linear)
case("cast_to_float32", lambda x: x.to("float32") * 3.0, [normal(3, 4)],
     lambda x: x.astype(np.float32) * np.float32(3.0), lambda x: x.to(torch.float32) * 3.0, eps=1e-2, atol=1e-4)
case("cast_roundtrip", lambda x: x.to(dtype="float32").double() * x, [normal(3, 4)],
     lambda x: x.astype(np.float32).astype(np.float64) * x, lambda x: x.to(torch.float32).double() * x,
     eps=1e-2, atol=1e-4)


# ---------------------------------------------------------------------------
# functional: softmax family and losses (independent numpy references)
# ---------------------------------------------------------------------------
def np_logsumexp(x, axis=-1, keepdims=False):
    m = np.max(x, axis=axis, keepdims=True)
    out = np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True)) + m
    return out if keepdims else np.squeeze(out, axis=axis)


def np_log_softmax(x, axis=-1):
    return x - np_logsumexp(x, axis, keepdims=True)


def np_softmax(x, axis=-1):
    return np.exp(np_log_softmax(x, axis))


def np_nll(log_probs, target, ignore_index=None, reduction="mean", weight=None):
    """-log_probs[..., target] with optional class weights and ignored positions (class axis last)."""
    C = log_probs.shape[-1]
    lp, t = log_probs.reshape(-1, C), target.reshape(-1)
    keep = np.ones(t.shape, bool) if ignore_index is None else t != ignore_index
    loss = np.zeros(t.shape)
    w = np.zeros(t.shape)
    for i in range(t.shape[0]):
        if keep[i]:
            w[i] = 1.0 if weight is None else weight[t[i]]
            loss[i] = -lp[i, t[i]] * w[i]
    if reduction == "none":
        return loss.reshape(target.shape)
    if reduction == "sum":
        return loss.sum()
    return loss.sum() / w.sum()


def np_bce_logits(x, y, reduction="mean", pos_weight=None):
    """-(p y log sigmoid(x) + (1 - y) log(1 - sigmoid(x))), with the logs via logaddexp."""
    p = 1.0 if pos_weight is None else pos_weight
    loss = p * y * np.logaddexp(0, -x) + (1 - y) * np.logaddexp(0, x)
    return {"mean": np.mean, "sum": np.sum, "none": lambda v: v}[reduction](loss)


for _axis, _shape in [(-1, (3, 5)), (0, (3, 5)), (1, (2, 3, 4))]:
    case(f"softmax_axis{_axis}_{len(_shape)}d", lambda x, a=_axis: F.softmax(x, axis=a), [normal(*_shape, scale=2.0)],
         lambda x, a=_axis: np_softmax(x, a), lambda x, a=_axis: torch.softmax(x, dim=a))
    case(f"log_softmax_axis{_axis}_{len(_shape)}d", lambda x, a=_axis: F.log_softmax(x, axis=a),
         [normal(*_shape, scale=2.0)], lambda x, a=_axis: np_log_softmax(x, a),
         lambda x, a=_axis: torch.log_softmax(x, dim=a))
    case(f"logsumexp_axis{_axis}_{len(_shape)}d", lambda x, a=_axis: F.logsumexp(x, axis=a),
         [normal(*_shape, scale=2.0)], lambda x, a=_axis: np_logsumexp(x, a),
         lambda x, a=_axis: torch.logsumexp(x, dim=a))
case("logsumexp_keepdims", lambda x: F.logsumexp(x, axis=0, keepdims=True), [normal(3, 4)],
     lambda x: np_logsumexp(x, 0, keepdims=True), lambda x: torch.logsumexp(x, dim=0, keepdim=True))
case("softmax_with_ties", lambda x: F.softmax(x), [const([[1.0, 1.0, 0.5], [2.0, -1.0, 2.0]])],
     np_softmax, lambda x: torch.softmax(x, dim=-1))

# masked scores: -inf entries, rows of -inf, +inf, a dominant class (float32 precision of the winner)
_MASKED = np.array([[-INF, -INF, -INF], [1.0, -INF, 2.0], [INF, 1.0, 2.0], [-INF, 0.0, -INF], [20.0, 0.0, -20.0],
                    [-INF, INF, -INF]])
for _axis in (-1, 0):
    case(f"softmax_masked_axis{_axis}", lambda x, a=_axis: F.softmax(x, axis=a), [normal(6, 3)],
         lambda x, a=_axis: np_softmax(x, a), lambda x, a=_axis: torch.softmax(x, dim=a), special=[[_MASKED]])
    case(f"log_softmax_masked_axis{_axis}", lambda x, a=_axis: F.log_softmax(x, axis=a), [normal(6, 3)],
         lambda x, a=_axis: np_log_softmax(x, a), lambda x, a=_axis: torch.log_softmax(x, dim=a),
         special=[[_MASKED]])
    case(f"logsumexp_masked_axis{_axis}", lambda x, a=_axis: F.logsumexp(x, axis=a), [normal(6, 3)],
         lambda x, a=_axis: np_logsumexp(x, a), lambda x, a=_axis: torch.logsumexp(x, dim=a),
         special=[[_MASKED]])
_MASKED_LOGITS = np.array([[-INF, 1.0, 2.0], [0.0, -INF, -INF], [3.0, -INF, 1.0]])
_MASKED_TARGET = np.array([1, 0, 2])
for _red in ("mean", "sum", "none"):
    case(f"cross_entropy_masked_{_red}", lambda x, r=_red: F.cross_entropy(x, _MASKED_TARGET, reduction=r),
         [normal(3, 3)], lambda x, r=_red: np_nll(np_log_softmax(x), _MASKED_TARGET, reduction=r),
         lambda x, r=_red: TF.cross_entropy(x, tt(_MASKED_TARGET), reduction=r), special=[[_MASKED_LOGITS]])
_T2 = np.array([0, 3, 1, 1, 2])  # (N=5,) classes in [0, 4)
_T3 = np.array([[0, 3, 3], [1, 2, 0]])  # (N=2, T=3)
_W = np.array([0.5, 2.0, 1.0, 1.5])
_TIGN = np.array([0, -1, 1, -1, 3])  # -1 marks padding
_T3IGN = np.array([[0, 2, 2], [2, 1, 3]])  # ignore class 2


def _torch_ce(x, t, channel_first=False, **kw):
    """torch cross_entropy with minigrad's class-last layout (moved to axis 1 for 3-D)."""
    if channel_first:
        x = x.permute(0, 2, 1)
    if kw.get("weight") is not None:
        kw["weight"] = tt(kw["weight"])
    return TF.cross_entropy(x, tt(t), **kw)


def _torch_nll(x, t, channel_first=False, **kw):
    if channel_first:
        x = x.permute(0, 2, 1)
    if kw.get("weight") is not None:
        kw["weight"] = tt(kw["weight"])
    return TF.nll_loss(x, tt(t), **kw)


def _mg_weight(w):
    return None if w is None else mg.tensor(w, dtype="float64")


for _red in ("mean", "sum", "none"):
    for _tag, _shape, _t, _ign, _w in [
        ("2d", (5, 4), _T2, None, None),
        ("2d_ignore", (5, 4), _TIGN, -1, None),
        ("2d_weight", (5, 4), _T2, None, _W),
        ("2d_weight_ignore", (5, 4), _TIGN, -1, _W),
        ("3d", (2, 3, 4), _T3, None, None),
        ("3d_ignore_weight", (2, 3, 4), _T3IGN, 2, _W),
    ]:
        _tkw = {"reduction": _red, "weight": _w, "ignore_index": -100 if _ign is None else _ign}
        _c1 = len(_shape) == 3
        case(
            f"cross_entropy_{_tag}_{_red}",
            lambda x, t=_t, i=_ign, r=_red, w=_w: F.cross_entropy(x, t, ignore_index=i, reduction=r,
                                                                  weight=_mg_weight(w)),
            [normal(*_shape, scale=2.0)],
            lambda x, t=_t, i=_ign, r=_red, w=_w: np_nll(np_log_softmax(x), t, i, r, w),
            lambda x, t=_t, c1=_c1, kw=_tkw: _torch_ce(x, t, c1, **dict(kw)),
        )
        if _tag in ("2d", "2d_weight_ignore", "3d_ignore_weight"):
            case(
                f"nll_loss_{_tag}_{_red}",
                lambda x, t=_t, i=_ign, r=_red, w=_w: F.nll_loss(x, t, ignore_index=i, reduction=r,
                                                                 weight=_mg_weight(w)),
                [normal(*_shape)],
                lambda x, t=_t, i=_ign, r=_red, w=_w: np_nll(x, t, i, r, w),
                lambda x, t=_t, c1=_c1, kw=_tkw: _torch_nll(x, t, c1, **dict(kw)),
            )
case("nll_loss_of_log_softmax", lambda x: F.nll_loss(F.log_softmax(x), _T2), [normal(5, 4)],
     lambda x: np_nll(np_log_softmax(x), _T2), lambda x: TF.nll_loss(torch.log_softmax(x, -1), tt(_T2)))

_Y = np.random.default_rng(3).random((3, 4))  # soft targets in [0, 1)
_YHARD = (np.random.default_rng(4).random((3, 4)) > 0.5).astype(np.float64)
_PW = np.array([0.5, 1.0, 2.0, 3.0])
_ZLOGITS = const([[0.0, 0.0, 1.0, -1.0], [0.0, 2.5, -3.0, 0.0], [0.3, 0.0, -0.2, 4.0]])  # includes exact 0
for _red in ("mean", "sum", "none"):
    for _tag, _x, _y, _pw in [
        ("soft", normal(3, 4, scale=3.0), _Y, None),
        ("hard_zero_logits", _ZLOGITS, _YHARD, None),
        ("pos_weight", normal(3, 4, scale=3.0), _Y, _PW),
        ("pos_weight_zero_logits", _ZLOGITS, _YHARD, _PW),
    ]:
        case(
            f"bce_with_logits_{_tag}_{_red}",
            lambda x, y=_y, r=_red, pw=_pw: F.binary_cross_entropy_with_logits(x, y, reduction=r, pos_weight=pw),
            [_x],
            lambda x, y=_y, r=_red, pw=_pw: np_bce_logits(x, y, r, pw),
            lambda x, y=_y, r=_red, pw=_pw: TF.binary_cross_entropy_with_logits(
                x, tt(y), reduction=r, pos_weight=None if pw is None else tt(pw)),
            # ours is y softplus(-x) + (1 - y) softplus(x): at x = +-inf with a soft target PyTorch's
            # (1 - y) x + softplus(-x) is inf - inf = nan where ours is inf; compare at finite extremes
            special=[[np.array([[-40.0, -0.0, 0.0, 40.0]] * 3)]],
        )
    case(f"mse_loss_{_red}", lambda x, r=_red: F.mse_loss(x, _Y, reduction=r), [normal(3, 4)],
         lambda x, r=_red: {"mean": np.mean, "sum": np.sum, "none": lambda v: v}[r]((x - _Y) ** 2),
         lambda x, r=_red: TF.mse_loss(x, tt(_Y), reduction=r))
case("mse_loss_both_inputs", lambda a, b: F.mse_loss(a, b), [normal(2, 3), normal(2, 3)],
     lambda a, b: np.mean((a - b) ** 2), lambda a, b: TF.mse_loss(a, b))

CASE_IDS = [c.name for c in CASES]


# ---------------------------------------------------------------------------
# the two table-driven tests
# ---------------------------------------------------------------------------
globals().update(axis_tests(CASES))  # value and gradcheck, torch, non-contiguous, 0-d, special


# ---------------------------------------------------------------------------
# explicit gradient semantics: ties, repeated indices, cast dtype
# ---------------------------------------------------------------------------
_TIED = np.array([[1.0, 3.0, 3.0, 0.0], [2.0, 2.0, 2.0, -1.0], [5.0, 4.0, 0.0, 5.0]])


@pytest.mark.parametrize("op", ["max", "min"])
@pytest.mark.parametrize("axis", [None, 0, 1])
def test_tied_extrema_share_gradient_equally(backend, op, axis):
    data = _TIED if op == "max" else -_TIED
    x = mg.tensor(data, dtype="float64", requires_grad=True)
    getattr(x, op)(axis=axis).sum().backward()
    extreme = getattr(np, op)(data, axis=axis, keepdims=True)
    hit = (data == extreme).astype(np.float64)
    expected = hit / hit.sum(axis=axis, keepdims=True)
    np.testing.assert_allclose(x.grad.numpy(), expected, rtol=1e-12)
    assert np.isclose(x.grad.numpy().sum(), np.size(extreme))  # each reduced slot passes exactly 1
    if HAVE_TORCH:
        t = torch.tensor(data, requires_grad=True)
        dims = tuple(range(data.ndim)) if axis is None else axis
        (torch.amax if op == "max" else torch.amin)(t, dim=dims).sum().backward()
        np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), rtol=1e-12)


def test_repeated_index_accumulates(backend):
    data = np.random.default_rng(0).standard_normal((4, 3))
    idx = [0, 0, 2]
    x = mg.tensor(data, dtype="float64", requires_grad=True)
    y = x[idx]
    np.testing.assert_array_equal(y.numpy(), data[idx])
    y.sum().backward()
    counts = np.bincount(idx, minlength=4).astype(np.float64)
    np.testing.assert_array_equal(x.grad.numpy(), np.repeat(counts[:, None], 3, axis=1))
    assert x.grad.numpy()[0, 0] == 2.0 and x.grad.numpy()[1, 0] == 0.0


def test_repeated_pairs_accumulate_in_2d_gather(backend):
    data = np.random.default_rng(1).standard_normal((3, 4))
    x = mg.tensor(data, dtype="float64", requires_grad=True)
    w = np.arange(1.0, len(_ROWS) + 1)
    (x[_ROWS, _COLS] * mg.tensor(w)).sum().backward()
    expected = np.zeros((3, 4))
    for r, c, wk in zip(_ROWS.tolist(), _COLS.tolist(), w.tolist()):
        expected[r, c] += wk
    np.testing.assert_allclose(x.grad.numpy(), expected, rtol=1e-12)


def test_cast_gradient_has_input_dtype(backend):
    x = mg.tensor([1.5, -2.0, 0.25], dtype="float32", requires_grad=True)
    y = x.to("float64")
    assert y.dtype == np.float64 and y.requires_grad
    (y * y).sum().backward()
    assert x.grad.dtype == np.float32
    np.testing.assert_allclose(x.grad.numpy(), 2 * x.numpy(), rtol=1e-7)


# ---------------------------------------------------------------------------
# property-based: random broadcast-compatible shapes and reduction axes
# ---------------------------------------------------------------------------
def _binary_ops():
    t = torch
    return {
        # name: (minigrad fn, numpy fn, torch fn, maker for a, maker for b)
        "add": (lambda a, b: a + b, np.add, lambda a, b: a + b, "normal", "normal"),
        "sub": (lambda a, b: a - b, np.subtract, lambda a, b: a - b, "normal", "normal"),
        "mul": (lambda a, b: a * b, np.multiply, lambda a, b: a * b, "normal", "normal"),
        "div": (lambda a, b: a / b, np.divide, lambda a, b: a / b, "normal", "nonzero"),
        "pow": (lambda a, b: a**b, np.power, lambda a, b: a**b, "positive", "normal"),
        "maximum": (lambda a, b: mg.where(a > b, a, b), np.maximum,
                    lambda a, b: t.maximum(a, b), "normal", "normal"),
        "minimum": (lambda a, b: mg.where(a < b, a, b), np.minimum,
                    lambda a, b: t.minimum(a, b), "normal", "normal"),
    }


BINARY_OPS = _binary_ops()


def _draw(kind, shape, rng):
    if kind == "positive":
        return rng.uniform(0.5, 2.0, shape)
    if kind == "nonzero":
        return rng.uniform(0.5, 2.0, shape) * rng.choice([-1.0, 1.0], shape)
    return rng.standard_normal(shape)


def _check_grads_against_torch(fn, arrays, torch_fn):
    """A fresh forward and backward of ``fn`` against ``torch_fn``: values and every gradient."""
    xs = _mg_inputs(arrays, requires_grad=True)
    out = fn(*xs)
    w = _weights(out.shape, np.float64)
    (out * mg.tensor(w)).sum().backward()
    ts = [torch.tensor(a, requires_grad=True) for a in arrays]
    tout = torch_fn(*ts)
    (tout * torch.as_tensor(w)).sum().backward()
    np.testing.assert_allclose(out.numpy(), tout.detach().numpy(), **TORCH_TOL)
    for x, t in zip(xs, ts):
        np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), **TORCH_TOL)


PROPERTY = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.mark.parametrize("op", list(BINARY_OPS))
@PROPERTY
@given(shapes=mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, max_side=3),
       seed=st.integers(0, 2**32 - 1))
def test_binary_broadcasting_property(backend, op, shapes, seed):
    fn, np_fn, torch_fn, kind_a, kind_b = BINARY_OPS[op]
    rng = np.random.default_rng(seed)
    sa, sb = shapes.input_shapes
    a, b = np.asarray(_draw(kind_a, sa, rng), dtype=np.float64), np.asarray(_draw(kind_b, sb, rng), np.float64)
    if op in ("maximum", "minimum"):  # no (near-)ties: the max has no derivative there
        assume(np.min(np.abs(np.subtract(a, b)), initial=1.0) > 1e-3)
    xs = _mg_inputs([a, b], requires_grad=True)
    out = fn(*xs)
    assert out.shape == shapes.result_shape
    np.testing.assert_allclose(out.numpy(), np_fn(a, b), **VALUE_TOL)
    assert mg.gradcheck(fn, xs)
    (out * mg.tensor(_weights(out.shape, np.float64))).sum().backward()
    assert xs[0].grad.shape == sa and xs[1].grad.shape == sb
    if HAVE_TORCH:
        _check_grads_against_torch(fn, [a, b], torch_fn)


@PROPERTY
@given(shapes=mutually_broadcastable_shapes(num_shapes=3, min_dims=0, max_dims=3, max_side=3),
       seed=st.integers(0, 2**32 - 1))
def test_where_broadcasting_property(backend, shapes, seed):
    rng = np.random.default_rng(seed)
    sc, sa, sb = shapes.input_shapes
    cond = rng.random(sc) > 0.5
    a, b = np.asarray(rng.standard_normal(sa)), np.asarray(rng.standard_normal(sb))

    def fn(x, y):
        return mg.where(cond, x, y)

    xs = _mg_inputs([a, b], requires_grad=True)
    out = fn(*xs)
    assert out.shape == shapes.result_shape
    np.testing.assert_array_equal(out.numpy(), np.where(cond, a, b))
    assert mg.gradcheck(fn, xs)
    (out * mg.tensor(_weights(out.shape, np.float64))).sum().backward()
    assert xs[0].grad.shape == sa and xs[1].grad.shape == sb
    # each input's gradient is the weight summed over the positions that chose it
    w = _weights(out.shape, np.float64)
    wa = np.where(cond, w, 0.0)
    expected_a = wa.sum(axis=tuple(range(wa.ndim - len(sa)))) if wa.ndim > len(sa) else wa
    expected_a = expected_a.sum(axis=tuple(i for i, n in enumerate(sa) if n == 1), keepdims=True).reshape(sa)
    np.testing.assert_allclose(xs[0].grad.numpy(), expected_a, rtol=1e-12, atol=1e-15)
    if HAVE_TORCH:
        _check_grads_against_torch(fn, [a, b], lambda x, y: torch.where(torch.as_tensor(cond), x, y))


@st.composite
def _shape_and_axis(draw):
    shape = tuple(draw(st.lists(st.integers(1, 4), min_size=1, max_size=3)))
    if draw(st.booleans()):
        axis = None
    else:
        axes = draw(st.lists(st.integers(0, len(shape) - 1), min_size=1, max_size=len(shape), unique=True))
        axis = tuple(a - len(shape) if draw(st.booleans()) else a for a in axes)
        if len(axis) == 1 and draw(st.booleans()):
            axis = axis[0]
    return shape, axis, draw(st.booleans())


@pytest.mark.parametrize("op", ["sum", "mean", "max", "min"])
@PROPERTY
@given(spec=_shape_and_axis(), seed=st.integers(0, 2**32 - 1))
def test_reduction_property(backend, op, spec, seed):
    shape, axis, keepdims = spec
    data = distinct(*shape)(np.random.default_rng(seed))  # no ties for max/min

    def fn(x):
        return getattr(x, op)(axis=axis, keepdims=keepdims)

    x = mg.tensor(data, dtype="float64", requires_grad=True)
    out = fn(x)
    expected = getattr(np, op)(data, axis=axis, keepdims=keepdims)
    assert out.shape == np.shape(expected)
    np.testing.assert_allclose(out.numpy(), expected, **VALUE_TOL)
    assert mg.gradcheck(fn, [x])
    if HAVE_TORCH:
        dims = tuple(range(len(shape))) if axis is None else axis
        tfn = {"sum": torch.sum, "mean": torch.mean, "max": torch.amax, "min": torch.amin}[op]
        _check_grads_against_torch(fn, [data], lambda t: tfn(t, dim=dims, keepdim=keepdims))


# ---------------------------------------------------------------------------
# error messages
# ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    "op, fn",
    [
        ("add", lambda a, b: a + b),
        ("sub", lambda a, b: a - b),
        ("mul", lambda a, b: a * b),
        ("div", lambda a, b: a / b),
        ("pow", lambda a, b: a**b),
        ("where", lambda a, b: mg.where(a > 0, a, b)),
    ],
)
def test_broadcast_mismatch_names_op_and_shapes(backend, op, fn):
    a = mg.ones(2, 3, dtype="float64", requires_grad=True)
    b = mg.ones(4, dtype="float64")
    with pytest.raises(ValueError) as info:
        fn(a, b)
    msg = str(info.value)
    assert msg.startswith(f"{op}:"), msg
    assert "(2, 3)" in msg and "(4,)" in msg


def test_matmul_inner_dimension_message(backend):
    a, b = mg.ones(3, 4), mg.ones(5, 6)
    with pytest.raises(ValueError) as info:
        a @ b
    assert "matmul: (3, 4) @ (5, 6): inner dimensions 4 and 5 differ" in str(info.value)


def test_matmul_batch_mismatch_names_shapes(backend):
    with pytest.raises(ValueError) as info:
        mg.ones(2, 3, 4) @ mg.ones(3, 4, 5)
    assert "matmul" in str(info.value) and "(2, 3, 4)" in str(info.value) and "(3, 4, 5)" in str(info.value)


@pytest.mark.parametrize(
    "index",
    [
        pytest.param(lambda: np.array([0.0, 1.0]), id="numpy-float-array"),
        pytest.param(lambda: [0.0, 1.0], id="float-list"),
        pytest.param(lambda: mg.tensor([0.0, 1.0]), id="float-tensor"),
        pytest.param(lambda: (slice(None), np.array([0.5])), id="float-array-in-tuple"),
    ],
)
def test_float_index_arrays_raise_index_error(backend, index):
    x = mg.ones(3, 3, dtype="float64", requires_grad=True)
    with pytest.raises(IndexError, match="dtype") as info:
        x[index()]
    assert "float" in str(info.value)


def test_float_scalar_index_raises(backend):
    with pytest.raises(IndexError, match="float"):
        mg.ones(3)[1.0]
