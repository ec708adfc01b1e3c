"""Smoke tests of examples/benchmark.py: it runs, covers every case, and prints ratios.

No timing thresholds: the machines running tests are shared and noisy, so only
the shape of the results is checked.
"""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path

import pytest
from click.testing import CliRunner

SCRIPT = Path(__file__).resolve().parent.parent / "examples" / "benchmark.py"


@pytest.fixture(scope="module")
def benchmark():
    spec = importlib.util.spec_from_file_location("minigrad_examples_benchmark", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_run_benchmarks_covers_cases_and_impls(benchmark):
    rows = benchmark.run_benchmarks("numpy", repeats=2, number=2)
    for row in rows:
        assert {"case", "impl", "median_us"} <= row.keys()
    measured = {(r["case"], r["impl"]): r["median_us"] for r in rows}
    for case in ("tiny", "matmul"):
        for impl in ("minigrad", "numpy"):
            us = measured[(case, impl)]
            assert isinstance(us, float) and math.isfinite(us) and us > 0, (case, impl, us)
        assert (case, "torch") in measured  # timed, or present with None and a note when skipped


def test_time_per_iter_rejects_zero_work(benchmark):
    with pytest.raises(ValueError, match="repeats and number"):
        benchmark.time_per_iter(lambda: None, repeats=0, number=1, sync=lambda: None)


def test_cli_quick_prints_header_and_ratios(benchmark):
    result = CliRunner().invoke(benchmark.main, ["--quick", "--repeats", "1", "--number", "2"])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "MEDIANS" in out and "noisy" in out
    assert "backend 'numpy'" in out
    assert out.count("ratio minigrad/raw (numpy):") == 2
    assert out.count("ratio minigrad/torch:") == 2


def test_cli_threads_is_reported_and_restored(benchmark):
    torch = pytest.importorskip("torch")
    before = torch.get_num_threads()
    result = CliRunner().invoke(benchmark.main, ["--quick", "--repeats", "1", "--number", "1", "--threads", "1"])
    assert result.exit_code == 0, result.output
    assert "torch threads: 1 (set by --threads 1)" in result.output
    assert torch.get_num_threads() == before


def test_cli_unavailable_backend_is_a_clean_error(benchmark):
    import backends

    if backends.unavailable_reason("cupy") is None:
        pytest.skip("cupy is available here")
    result = CliRunner().invoke(benchmark.main, ["--backend", "cupy", "--quick"])
    assert result.exit_code != 0
    assert "cupy" in result.output and "Traceback" not in result.output
