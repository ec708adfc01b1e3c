"""Every primitive op has a row in one of the op tables (test_ops*.py).

A row covers the Function class whose lower-case name, without underscores,
appears in the row's name without underscores (``take_along_axis_2d`` covers
``TakeAlongAxis``); the few older rows named otherwise are listed below.
"""

from __future__ import annotations

import importlib
import pathlib

from minigrad import ops

LEGACY_NAMES = {"Pow": "pow_tensor", "PowScalar": "pow_int"}
# the fused sequence kernels are checked against their composed twins and PyTorch in test_fused.py
# (and BidirectionalSequence, both directions at once, in test_fused_directions.py)
TWIN_TESTED = {"RNNSequence", "LSTMSequence", "GRUSequence", "BidirectionalSequence"}


def _all_case_names() -> list[str]:
    names = []
    for path in sorted(pathlib.Path(__file__).parent.glob("test_ops*.py")):
        module = importlib.import_module(path.stem)
        names += [c.name for c in module.CASES]
    return names


def test_table_covers_every_primitive_op():
    flat = [n.replace("_", "") for n in _all_case_names()]
    for op in ops.__all__:
        if op in TWIN_TESTED:
            continue
        key = LEGACY_NAMES.get(op, op).lower().replace("_", "")
        assert any(key in n for n in flat), f"no op-table row covers {op} (name a row after it)"


def test_every_row_runs_along_the_special_value_axis():
    """Each row with a torch reference is compared at infinities, nan and signed zeros (its own
    boundary inputs, every point for elementwise rows, or its inputs with those values written in),
    except rows whose inputs must stay in a domain (probabilities), which say so with special=None."""
    exempt = []
    for path in sorted(pathlib.Path(__file__).parent.glob("test_ops*.py")):
        for case in importlib.import_module(path.stem).CASES:
            if case.torch_ref is None:
                continue
            if case.special is None:
                exempt.append(case.name)
            else:
                assert case.special_inputs(), case.name
    assert all(name.startswith("binary_cross_entropy") for name in exempt), exempt
