"""examples/benchmark_rnn.py is the script form of ``minigrad bench`` (no timing thresholds)."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from minigrad import bench
from minigrad.cli import bench as bench_command

ROOT = Path(__file__).resolve().parents[1]
PATH = ROOT / "examples" / "benchmark_rnn.py"


def load():
    spec = importlib.util.spec_from_file_location("benchmark_rnn", PATH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_script_is_the_bench_command():
    assert load().main is bench_command


def test_script_quick_prints_a_row_per_layer():
    path = [] if bench.has_fused_kernels() else ["--path", "composed"]
    result = CliRunner().invoke(load().main, ["--quick", "--model", "rnn", "--model", "gru", *path])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert [line.split()[0] for line in lines if line.split()[:1] in (["rnn"], ["gru"])] == ["rnn", "gru"]


def test_script_runs_on_its_own():
    env = {k: v for k, v in os.environ.items() if k != "MINIGRAD_BACKEND"}
    proc = subprocess.run([sys.executable, str(PATH), "--help"], check=False, capture_output=True, text=True,
                          cwd=ROOT, env=env, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "--size" in proc.stdout and "--path" in proc.stdout
