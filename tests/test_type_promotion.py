"""Type promotion: every cell of the table in docs/guides/type-promotion.md, against PyTorch.

The table is read from the documentation, so the page and the behaviour cannot
drift apart; each cell is checked for minigrad's result dtype and values of
several ops, and (where torch is installed) against ``torch.result_type``.
"""

from __future__ import annotations

import operator
import pathlib
import re

import numpy as np
import pytest
from conftest import HAVE_TORCH

import minigrad as mg
from minigrad.dtypes import promote_types, result_type

if HAVE_TORCH:
    import torch

PAGE = pathlib.Path(__file__).parents[1] / "docs" / "guides" / "type-promotion.md"


def _operand(header: str):
    """The column header as ``(kind, value)``: a Python number, or a tensor dtype with ndim."""
    m = re.fullmatch(r"`([\w.]+)`( tensor| 0-d)?", header.strip())
    assert m, header
    name, what = m.group(1), m.group(2)
    if what is None:
        return "scalar", {"True": True, "2": 2, "2.5": 2.5}[name]
    return ("tensor" if what == " tensor" else "0-d"), name


def _table():
    lines = [ln for ln in PAGE.read_text(encoding="utf-8").splitlines() if ln.startswith("| ")]
    header = [c for c in lines[0].strip("|").split("|")][1:]
    cells = []
    for line in lines[1:]:
        parts = [c.strip() for c in line.strip().strip("|").split("|")]
        row = parts[0].strip("`")
        for col, expected in zip(header, parts[1:]):
            cells.append((row, _operand(col), expected))
    return cells


CELLS = _table()


def test_the_table_is_complete():
    assert len(CELLS) == 5 * 10
    assert {row for row, _, _ in CELLS} == {"bool", "int32", "int64", "float32", "float64"}


_VALUES = {"bool": [False, True, True], "int32": [0, 3, -2], "int64": [1, -4, 5], "float32": [0.5, -1.5, 2.0],
           "float64": [-0.25, 1.0, 3.5]}


def _mg(kind, spec):
    if kind == "scalar":
        return spec
    if kind == "0-d":
        return mg.tensor(np.array(_VALUES[spec][1], dtype=spec))
    return mg.tensor(np.array(_VALUES[spec], dtype=spec))


def _torch(kind, spec):
    if kind == "scalar":
        return spec
    data = np.array(_VALUES[spec][1] if kind == "0-d" else _VALUES[spec], dtype=spec)
    return torch.as_tensor(data)


OPS = {
    "add": operator.add,
    "mul": operator.mul,
    "sub": operator.sub,
    "radd": lambda a, b: b + a,
    "rmul": lambda a, b: b * a,
    "where": lambda a, b: (mg if isinstance(a, mg.Tensor) else torch).where(
        (mg.tensor if isinstance(a, mg.Tensor) else torch.tensor)([True, False, True]), a, b),
}


def _cell_id(cell):
    row, (kind, spec), _ = cell
    return f"{row}-{kind}-{spec}"


@pytest.mark.parametrize("cell", CELLS, ids=[_cell_id(c) for c in CELLS])
@pytest.mark.parametrize("op", list(OPS))
def test_cell_dtype_and_values(cell, op):
    row, (kind, spec), expected = cell
    a, b = _mg(("tensor", row)[0], row), _mg(kind, spec)
    if op == "sub" and (row == "bool" or spec is True or spec == "bool"):  # refused, as in PyTorch
        with pytest.raises(TypeError, match="sub"):
            OPS[op](a, b)
        return
    out = OPS[op](a, b)
    assert str(out.dtype) == expected, f"{op}: {row} with {kind} {spec!r} gave {out.dtype}, table says {expected}"
    if HAVE_TORCH:
        tout = OPS[op](_torch("tensor", row), _torch(kind, spec))
        assert str(tout.dtype).removeprefix("torch.") == expected
        np.testing.assert_allclose(out.numpy().astype(np.float64), tout.numpy().astype(np.float64), rtol=1e-6)


@pytest.mark.parametrize("cell", CELLS, ids=[_cell_id(c) for c in CELLS])
def test_cell_true_division(cell):
    row, (kind, spec), expected = cell
    with np.errstate(divide="ignore", invalid="ignore"):  # False and 0 are in the data
        out = _mg("tensor", row) / _mg(kind, spec)
    assert str(out.dtype) == (expected if expected.startswith("float") else "float32")
    if HAVE_TORCH:
        tout = _torch("tensor", row) / _torch(kind, spec)
        assert str(tout.dtype).removeprefix("torch.") == str(out.dtype)
        with np.errstate(divide="ignore", invalid="ignore"):
            np.testing.assert_allclose(out.numpy(), tout.numpy(), rtol=1e-6)


@pytest.mark.parametrize("cell", CELLS, ids=[_cell_id(c) for c in CELLS])
def test_cell_result_type_and_comparisons(cell):
    row, (kind, spec), expected = cell
    a, b = _mg("tensor", row), _mg(kind, spec)
    assert str(result_type(a, b)) == expected
    for cmp in (operator.lt, operator.eq, operator.ge):
        out = cmp(a, b)
        assert out.dtype == np.bool_
        if HAVE_TORCH:
            np.testing.assert_array_equal(out.numpy(), cmp(_torch("tensor", row), _torch(kind, spec)).numpy())
    if HAVE_TORCH:
        assert str(torch.result_type(_torch("tensor", row), _torch(kind, spec))).removeprefix("torch.") == expected


def test_reported_examples():
    mask = mg.tensor([False, True])
    assert mg.where(mask, 4, 2).tolist() == [2, 4] and mg.where(mask, 4, 2).dtype == np.int64
    assert (mask * 2).tolist() == [0, 2] and (mask * 2).dtype == np.int64
    assert (mask + 1).tolist() == [1, 2] and (mask + 1).dtype == np.int64
    assert mg.where(mask, 4.0, 2).dtype == np.float32


def test_promote_types_is_pytorchs_lattice_not_numpys():
    assert promote_types("int64", "float32") == np.float32  # NumPy: float64
    assert promote_types("uint8", "int8") == np.int16
    assert promote_types("bool", "int32") == np.int32


def test_gradients_keep_each_inputs_dtype():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    y = mg.tensor([3.0, 4.0], dtype="float64", requires_grad=True)
    out = x * y
    assert out.dtype == np.float64
    out.sum().backward()
    assert x.grad.dtype == np.float32 and y.grad.dtype == np.float64
    np.testing.assert_array_equal(x.grad.numpy(), [3.0, 4.0])


def test_float_only_functions_promote_integers_to_float32():
    x = mg.tensor([1, 4])
    for fn in ("exp", "log", "sqrt", "tanh", "sigmoid"):
        out = getattr(x, fn)()
        assert out.dtype == np.float32, fn
    np.testing.assert_allclose(x.sqrt().numpy(), [1.0, 2.0])
    with pytest.raises(TypeError, match="mean: the input must be floating point, got int64"):
        x.mean()


def test_integer_powers():
    x = mg.tensor([1, 2, 3])
    assert (x**2).dtype == np.int64 and (x**2).tolist() == [1, 4, 9]
    assert (x**0.5).dtype == np.float32
    assert (2**x).dtype == np.int64 and (2**x).tolist() == [2, 4, 8]
    assert (mg.tensor([True, False]) ** 2).dtype == np.int64
