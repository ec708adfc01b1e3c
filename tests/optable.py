"""The op-table machinery shared by ``test_ops.py`` and ``test_ops_more.py``.

A table is a list of :class:`Case` rows, each ``(name, function of tensors,
input makers, NumPy reference, torch reference)``. Every row is run along the
same axes, each a ``check_*`` function below that the test modules parametrize:

* ``check_forward_and_gradcheck``: the value against the NumPy reference and
  :func:`minigrad.gradcheck` (central differences) in float64;
* ``check_matches_torch``: values and every input's gradient against PyTorch
  on the same float64 data, to 1e-7 relative;
* ``check_noncontiguous``: the same inputs as Fortran-ordered or strided
  arrays give the same values and gradients as contiguous ones, and pass gradcheck;
* ``check_zero_d``: elementwise rows applied to 0-d inputs (value, gradcheck, torch);
* ``check_special_values``: rows evaluated at boundary points and infinities
  (0, -0, +-inf, nan, ties, the edges of a clip), values and gradients against
  PyTorch. Where PyTorch's gradient is finite ours must equal it; where it is
  +-inf ours must be the same infinity.

Inputs are drawn from a per-case seeded generator.
"""

from __future__ import annotations

import itertools
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest
from conftest import HAVE_TORCH, requires_torch

import minigrad as mg

if HAVE_TORCH:
    import torch
else:  # the torch references are only called by tests that are skipped then
    torch = None

VALUE_TOL = {"rtol": 1e-9, "atol": 1e-12}  # minigrad vs an independent NumPy computation
TORCH_TOL = {"rtol": 1e-7, "atol": 1e-12}  # minigrad vs torch, float64

INF = float("inf")
NAN = float("nan")
# boundary points of the usual elementwise functions, and the ends of float64's range
SPECIAL_UNARY = np.array([-INF, -1e300, -40.0, -1.0, -0.5, -0.0, 0.0, 1e-300, 0.5, 1.0, 2.0, 40.0, 1e300, INF, NAN])
# pairs for binary ops: every combination of these points
_SPECIAL_PAIR_POINTS = [-INF, -2.0, -1.0, -0.0, 0.0, 0.5, 1.0, 2.0, INF, NAN]
SPECIAL_PAIRS = [np.array(v) for v in zip(*itertools.product(_SPECIAL_PAIR_POINTS, repeat=2))]


# ---------------------------------------------------------------------------
# input makers: functions of a numpy Generator returning a float64 array
# ---------------------------------------------------------------------------
def normal(*shape: int, scale: float = 1.0) -> Callable:
    return lambda rng: rng.standard_normal(shape) * scale


def positive(*shape: int, lo: float = 0.5, hi: float = 2.0) -> Callable:
    return lambda rng: rng.uniform(lo, hi, shape)


def avoiding(*shape: int, points: tuple = (0.0,), gap: float = 0.05, lo: float = -1.5, hi: float = 1.5) -> Callable:
    """Uniform values at least ``gap`` away from each of ``points`` (kinks of the op)."""

    def make(rng):
        while True:
            v = rng.uniform(lo, hi, shape)
            if all(np.all(np.abs(v - p) >= gap) for p in points):
                return v

    return make


def nonzero(*shape: int) -> Callable:
    """Values with |v| in [0.5, 2] and random signs (denominators, negative bases)."""
    return lambda rng: rng.uniform(0.5, 2.0, shape) * rng.choice([-1.0, 1.0], shape)


def distinct(*shape: int, offset: float = 0.0) -> Callable:
    """Values on a grid of step 0.1 (shuffled, jittered by < 0.02): no ties, gaps >= 0.06.

    With ``offset=0.05`` the values never come within 0.01 of another ``distinct`` draw.
    """

    def make(rng):
        n = int(np.prod(shape))
        grid = (rng.permutation(n) - n / 2) * 0.1 + offset
        return (grid + rng.uniform(-0.02, 0.02, n)).reshape(shape)

    return make


def const(values: Any) -> Callable:
    return lambda rng: np.array(values, dtype=np.float64)


@dataclass
class Case:
    """One row of an op table.

    ``special`` lists extra input sets (boundary points, infinities, ties)
    checked against torch only; ``elementwise`` rows are also run on 0-d
    inputs, and unary elementwise rows on :data:`SPECIAL_UNARY` automatically.
    """

    name: str
    fn: Callable  # minigrad tensors -> tensor
    inputs: list  # input makers
    ref: Callable | None = None  # numpy arrays -> numpy array
    torch_ref: Callable | None = None  # torch tensors -> torch tensor
    gradcheck_kw: dict = field(default_factory=dict)
    special: list | None = field(default_factory=list)  # lists of input arrays at boundary points
    elementwise: bool = False

    def arrays(self) -> list:
        rng = np.random.default_rng(zlib.crc32(self.name.encode()))
        return [make(rng) for make in self.inputs]

    def special_inputs(self) -> list:
        """Input sets at boundary points: the row's own, every point for elementwise rows, and for
        every other row its usual inputs with infinities, nan and signed zeros written into them."""
        if self.special is None:  # inputs outside the op's domain (e.g. probabilities): no such check
            return []
        sets = [list(s) for s in self.special]
        if self.elementwise and len(self.inputs) == 1:
            sets.append([SPECIAL_UNARY])
        elif self.elementwise and len(self.inputs) == 2:
            sets.append(SPECIAL_PAIRS)
        elif not self.special:
            sets.append([with_special_values(a, k) for k, a in enumerate(self.arrays())])
        return sets


def with_special_values(a: np.ndarray, k: int = 0) -> np.ndarray:
    """A copy of ``a`` with inf, -inf, nan, 0 and -0 written over a few of its elements (from the k-th on)."""
    out = np.array(a, dtype=np.float64, copy=True)
    flat = out.reshape(-1)
    for j, v in enumerate((INF, -INF, NAN, 0.0, -0.0)):
        if flat.size:
            flat[(k + 3 * j) % flat.size] = v
    return out


class Table(list):
    """A list of cases with a ``case(...)`` method that refuses duplicate names."""

    def case(self, name, fn, inputs, ref=None, torch_ref=None, *, special=(), elementwise=False, **gradcheck_kw):
        assert name not in {c.name for c in self}, name
        special = None if special is None else list(special)
        self.append(Case(name, fn, inputs, ref, torch_ref, gradcheck_kw, special, elementwise))

    def ids(self, cases=None) -> list[str]:
        return [c.name for c in (self if cases is None else cases)]

    def with_torch(self) -> list[Case]:
        return [c for c in self if c.torch_ref is not None]

    def with_special(self) -> list[Case]:
        return [c for c in self if c.torch_ref is not None and c.special_inputs()]

    def elementwise_cases(self) -> list[Case]:
        return [c for c in self if c.elementwise]


def tt(a: Any) -> Any:
    """A constant numpy array as a torch tensor (for torch references)."""
    return torch.as_tensor(np.asarray(a))


def mg_inputs(arrays, requires_grad=False):
    return [mg.tensor(a, dtype="float64", requires_grad=requires_grad) for a in arrays]


def weights(shape, dtype) -> np.ndarray:
    """Fixed, varied output weights, so one backward tests every output element."""
    rng = np.random.default_rng(12345)
    return rng.uniform(0.5, 1.5, shape).astype(dtype) * np.where(rng.random(shape) > 0.5, 1, -1).astype(dtype)


def run_mg(fn, tensors):
    """Forward and a weighted backward; returns the output and each input's gradient (zeros if none)."""
    out = fn(*tensors)
    w = weights(out.shape, np.float64)
    (out * mg.tensor(w)).sum().backward()
    grads = [x.grad.numpy() if x.grad is not None else np.zeros(x.shape) for x in tensors]
    return out, grads


def run_torch(fn, arrays):
    ts = [torch.tensor(np.asarray(a), dtype=torch.float64, requires_grad=True) for a in arrays]
    tout = fn(*ts)
    w = weights(tuple(tout.shape), np.float64)
    (tout * torch.as_tensor(w)).sum().backward()
    grads = [t.grad.numpy() if t.grad is not None else np.zeros(t.shape) for t in ts]
    return tout.detach().numpy(), grads


# ---------------------------------------------------------------------------
# the axes
# ---------------------------------------------------------------------------
def check_forward_and_gradcheck(case: Case, backend: str, arrays: list | None = None) -> None:
    arrays = case.arrays() if arrays is None else arrays
    xs = mg_inputs(arrays)
    out = case.fn(*xs)
    assert isinstance(out, mg.Tensor)
    assert out.backend.name == backend
    expected = np.asarray(case.ref(*arrays))
    assert out.shape == expected.shape
    assert out.dtype == expected.dtype
    np.testing.assert_allclose(out.numpy(), expected, **VALUE_TOL)
    assert mg.gradcheck(case.fn, xs, **case.gradcheck_kw)


def check_matches_torch(case: Case, arrays: list | None = None) -> None:
    arrays = case.arrays() if arrays is None else arrays
    xs = mg_inputs(arrays, requires_grad=True)
    out, grads = run_mg(case.fn, xs)
    tout, tgrads = run_torch(case.torch_ref, arrays)
    assert out.shape == tuple(tout.shape)
    np.testing.assert_allclose(out.numpy(), tout, **TORCH_TOL)
    for i, (x, g, tg) in enumerate(zip(xs, grads, tgrads)):
        assert x.grad is not None, f"input {i} got no gradient"
        assert x.grad.shape == x.shape and x.grad.dtype == np.float64
        np.testing.assert_allclose(g, tg, **TORCH_TOL, err_msg=f"gradient of input {i}")


def noncontiguous(a: np.ndarray) -> Any:
    """The same values in a non-contiguous layout on the default backend: Fortran order, or a strided view.

    The layout is made on the device (a transfer to a device may make an array contiguous).
    Arrays with at most one element have no other layout and come back unchanged.
    """
    be = mg.get_backend()
    a = np.asarray(a, dtype=np.float64)
    fortran = np.asfortranarray(a)
    if not fortran.flags.c_contiguous:
        return be.xp.asfortranarray(be.asarray(a))
    axis = next((i for i, n in enumerate(a.shape) if n > 1), None)
    if axis is None:
        return be.asarray(a)
    every_other = (slice(None),) * axis + (slice(None, None, 2),)
    return be.asarray(np.repeat(a, 2, axis=axis))[every_other]


def check_noncontiguous(case: Case) -> None:
    """Non-contiguous leaves give bitwise the values and gradients of contiguous ones, and pass gradcheck."""
    arrays = case.arrays()
    ref_out, ref_grads = run_mg(case.fn, mg_inputs(arrays, requires_grad=True))
    xs = [mg.Tensor(noncontiguous(a), requires_grad=True) for a in arrays]
    assert any(not x.data.flags.c_contiguous for x in xs) or all(np.size(a) <= 1 for a in arrays)
    out, grads = run_mg(case.fn, xs)
    np.testing.assert_allclose(out.numpy(), ref_out.numpy(), rtol=1e-13, atol=1e-15)
    for i, (g, rg) in enumerate(zip(grads, ref_grads)):
        np.testing.assert_allclose(g, rg, rtol=1e-13, atol=1e-15, err_msg=f"gradient of input {i}")
    fresh = [mg.Tensor(noncontiguous(a)) for a in arrays]
    assert mg.gradcheck(case.fn, fresh, **case.gradcheck_kw)


def check_zero_d(case: Case, backend: str) -> None:
    """An elementwise row on 0-d inputs: a 0-d result, the reference value, gradcheck and torch."""
    arrays = [np.asarray(a).reshape(-1)[0] * np.ones(()) for a in case.arrays()]
    xs = mg_inputs(arrays)
    out = case.fn(*xs)
    assert out.shape == ()
    if case.ref is not None:
        np.testing.assert_allclose(out.numpy(), np.asarray(case.ref(*arrays)), **VALUE_TOL)
    assert mg.gradcheck(case.fn, xs, **case.gradcheck_kw)
    if HAVE_TORCH and case.torch_ref is not None:
        check_matches_torch(case, arrays)


def check_special_values(case: Case) -> None:
    """Values and gradients at boundary points and infinities equal PyTorch's."""
    for arrays in case.special_inputs():
        arrays = [np.asarray(a, dtype=np.float64) for a in arrays]
        with np.errstate(all="ignore"):
            xs = mg_inputs(arrays, requires_grad=True)
            out, grads = run_mg(case.fn, xs)
        tout, tgrads = run_torch(case.torch_ref, arrays)
        where = f"{case.name} at inputs {[a.tolist() for a in arrays]}"
        np.testing.assert_allclose(out.numpy(), tout, **TORCH_TOL, err_msg=f"value of {where}")
        for i, (g, tg) in enumerate(zip(grads, tgrads)):
            defined = ~np.isnan(tg)  # where torch's gradient is nan, any answer is acceptable
            np.testing.assert_allclose(g[defined], tg[defined], **TORCH_TOL,
                                       err_msg=f"gradient of input {i} of {where}")


def axis_tests(table: Table) -> dict:
    """The five table-driven tests of ``table``, one per axis, to put in a test module's namespace:
    ``globals().update(axis_tests(CASES))``."""
    rows = pytest.mark.parametrize("case", table, ids=table.ids())
    with_torch = pytest.mark.parametrize("case", table.with_torch(), ids=table.ids(table.with_torch()))
    zero_d = pytest.mark.parametrize("case", table.elementwise_cases(), ids=table.ids(table.elementwise_cases()))
    special = pytest.mark.parametrize("case", table.with_special(), ids=table.ids(table.with_special()))

    @rows
    def test_forward_and_gradcheck(backend, case):
        check_forward_and_gradcheck(case, backend)

    @requires_torch
    @with_torch
    def test_matches_torch(backend, case):
        check_matches_torch(case)

    @rows
    def test_noncontiguous_inputs(backend, case):
        check_noncontiguous(case)

    @zero_d
    def test_zero_d_inputs(backend, case):
        check_zero_d(case, backend)

    @requires_torch
    @special
    def test_special_values_match_torch(backend, case):
        check_special_values(case)

    return {f.__name__: f for f in (test_forward_and_gradcheck, test_matches_torch, test_noncontiguous_inputs,
                                    test_zero_d_inputs, test_special_values_match_torch)}
