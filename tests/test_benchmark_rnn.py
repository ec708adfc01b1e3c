"""The recurrent-layer benchmark script runs and reports every layer (no timing thresholds)."""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path

from click.testing import CliRunner
from conftest import HAVE_TORCH

PATH = Path(__file__).resolve().parents[1] / "examples" / "benchmark_rnn.py"


def load():
    spec = importlib.util.spec_from_file_location("benchmark_rnn", PATH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_rows_cover_every_layer_with_finite_times():
    bench = load()
    rows = bench.run_benchmarks("numpy", repeats=1, number=1, sizes=[(2, 3, 2, 4)])
    assert [r["kind"] for r in rows] == bench.KINDS
    for row in rows:
        assert row["size"] == (2, 3, 2, 4)
        assert row["minigrad_ms"] > 0 and math.isfinite(row["minigrad_ms"])
        assert (row["torch_ms"] is not None and row["torch_ms"] > 0) == HAVE_TORCH


def test_command_prints_a_line_per_layer():
    result = CliRunner().invoke(load().main, ["--quick"])
    assert result.exit_code == 0, result.output
    for kind in ("RNN", "LSTM", "GRU"):
        assert any(line.startswith(kind) for line in result.output.splitlines())
    if HAVE_TORCH:
        assert "x" in result.output.splitlines()[-1]
