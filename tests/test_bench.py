"""``minigrad bench``: options, table, JSON rows and errors (shapes of the results only: no timing thresholds)."""

from __future__ import annotations

import json
import math
import sys

import pytest
from click.testing import CliRunner
from conftest import HAVE_TORCH

import backends
from minigrad import bench
from minigrad.cli import main

HEADINGS = ["model", "N,T,I,H", "path", "minigrad ms", "torch ms", "mg/torch", "GFLOP", "bound ms", "mg/bound",
            "torch/bound", "mg MiB", "torch MiB"]
needs_fused = pytest.mark.skipif(not bench.has_fused_kernels(), reason="this minigrad has no fused kernels yet")


def invoke(*args: str):
    return CliRunner().invoke(main, ["bench", *args])


def table_rows(output: str) -> list[list[str]]:
    """The table's data lines, split into cells (every line after the column headings)."""
    lines = output.splitlines()
    start = next(i for i, line in enumerate(lines) if line.split()[:2] == ["model", "N,T,I,H"])
    return [line.split() for line in lines[start + 1:] if line and not line.startswith("wrote ")]


def positive(value) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value) and value > 0


# -- parsing and arithmetic --------------------------------------------------------
@pytest.mark.parametrize("text, expected", [
    ("small", (32, 35, 64, 128)),
    ("medium", (64, 100, 128, 256)),
    ("long", (8, 1000, 16, 32)),
    ("LARGE", (128, 100, 512, 1024)),
    ("2,3,4,5", (2, 3, 4, 5)),
    (" 2, 3 ,4,5 ", (2, 3, 4, 5)),
])
def test_parse_size(text, expected):
    assert bench.parse_size(text) == expected


@pytest.mark.parametrize("text", ["huge", "1,2,3", "1,2,3,4,5", "0,2,3,4", "a,b,c,d", "-1,2,3,4", "1.5,2,3,4", ""])
def test_parse_size_rejects(text):
    with pytest.raises(ValueError, match="small, medium, long, large") as info:
        bench.parse_size(text)
    assert "N,T,I,H" in str(info.value)


def test_step_flops_counts_matmuls_of_forward_and_backward():
    N, T, I, H = size = (2, 3, 4, 5)
    forward = 2 * N * T * (I + H) * 4 * H  # LSTM: G = 4H
    assert bench.step_flops("LSTM", size, bidirectional=False) == 3 * forward
    assert bench.step_flops("LSTM", size, bidirectional=True) == 2 * 3 * forward
    assert bench.step_flops("RNN", size, bidirectional=False) == 3 * 2 * N * T * (I + H) * H
    second_layer = 2 * N * T * (2 * H + H) * 3 * H * 2  # GRU: input 2H (both directions), two directions
    assert bench.step_flops("GRU", size, True, num_layers=2) == bench.step_flops("GRU", size, True) + 3 * second_layer


# -- the command ---------------------------------------------------------------------
def test_quick_prints_the_table_and_writes_json_rows(tmp_path):
    path = tmp_path / "bench.json"
    args = ["--quick", "--json", str(path)] + ([] if bench.has_fused_kernels() else ["--path", "composed"])
    result = invoke(*args)
    assert result.exit_code == 0, result.output
    out = result.output
    assert "Traceback" not in out
    assert "numpy" in out and "BLAS threads" in out and "GFLOP/s" in out
    heading = next(line for line in out.splitlines() if line.startswith("model"))
    positions = [heading.index(h) for h in HEADINGS]
    assert positions == sorted(positions)
    rows = table_rows(out)
    assert [r[0] for r in rows] == list(bench.DEFAULT_MODELS)
    assert all(len(r) == len(HEADINGS) and r[1] == "4,6,3,5" for r in rows)
    if HAVE_TORCH:
        assert all(r[5].endswith("x") for r in rows)

    data = json.loads(path.read_text())
    assert data["header"]["backend"] == "numpy" and positive(data["header"]["peak_gflops"])
    assert len(data["rows"]) == len(bench.DEFAULT_MODELS)
    for row in data["rows"]:
        assert set(row) == set(bench.ROW_KEYS)
        assert (row["N"], row["T"], row["I"], row["H"]) == bench.QUICK_SIZE
        for key in ("minigrad_ms", "gflop", "bound_ms", "minigrad_over_bound", "minigrad_peak_mib"):
            assert positive(row[key]), (key, row)
        for key in ("torch_ms", "minigrad_over_torch", "torch_over_bound"):
            assert positive(row[key]) if HAVE_TORCH else row[key] is None, (key, row)
        assert row["torch_peak_mib"] is None or positive(row["torch_peak_mib"])
        kind, bidirectional = bench.MODELS[row["model"]]
        assert row["gflop"] == bench.step_flops(kind, bench.QUICK_SIZE, bidirectional) / 1e9


def test_explicit_size_model_dtype_and_rounds(tmp_path):
    path = tmp_path / "rows.json"
    result = invoke("--size", "3,4,2,3", "--size", "2,5,3,2", "--model", "GRU", "--path", "composed",
                    "--dtype", "float64", "--rounds", "1", "--warmup", "0", "--json", str(path))
    assert result.exit_code == 0, result.output
    rows = [r[:3] for r in table_rows(result.output)]
    assert rows == [["gru", "3,4,2,3", "composed"], ["gru", "2,5,3,2", "composed"]]
    data = json.loads(path.read_text())
    assert data["header"]["rounds"] == 1 and data["header"]["warmup"] == 0
    assert {row["dtype"] for row in data["rows"]} == {"float64"}


@needs_fused
def test_path_both_measures_each_implementation():
    result = invoke("--quick", "--model", "bigru", "--path", "both")
    assert result.exit_code == 0, result.output
    rows = [r[:3] for r in table_rows(result.output)]
    assert rows == [["bigru", "4,6,3,5", "fused"], ["bigru", "4,6,3,5", "composed"]]


def test_path_fused_without_fused_kernels_is_a_one_line_error(monkeypatch):
    monkeypatch.setattr(bench, "has_fused_kernels", lambda: False)
    result = invoke("--quick", "--model", "rnn", "--path", "fused")
    assert result.exit_code == 1
    assert result.output.strip() == "Error: this minigrad has no fused kernels (use --path composed)"


def blas_threads() -> list[int] | None:
    try:
        import threadpoolctl
    except ImportError:
        return None
    return [i["num_threads"] for i in threadpoolctl.threadpool_info() if i["user_api"] == "blas"]


def test_threads_are_reported_and_restored():
    torch = pytest.importorskip("torch")
    before, blas_before = torch.get_num_threads(), blas_threads()
    result = invoke("--quick", "--model", "rnn", "--path", "composed", "--threads", "1")
    assert result.exit_code == 0, result.output
    assert "on cpu, 1 thread(s)" in result.output
    if blas_before is None:
        assert "install threadpoolctl" in result.output
    else:
        assert "BLAS threads 1 (" in result.output
    assert torch.get_num_threads() == before and blas_threads() == blas_before


def test_without_threadpoolctl_the_header_says_what_sets_numpy_threads(monkeypatch):
    monkeypatch.setitem(sys.modules, "threadpoolctl", None)  # import threadpoolctl raises ImportError
    result = invoke("--quick", "--model", "rnn", "--path", "composed", "--threads", "1")
    assert result.exit_code == 0, result.output
    assert "BLAS threads as OPENBLAS_NUM_THREADS says" in result.output and "install threadpoolctl" in result.output


def test_without_torch_rows_are_minigrad_only(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "torch", None)  # import torch raises ImportError
    path = tmp_path / "rows.json"
    result = invoke("--quick", "--model", "lstm", "--path", "composed", "--json", str(path))
    assert result.exit_code == 0, result.output
    assert "torch not installed" in result.output
    (row,) = table_rows(result.output)
    assert row[4] == row[5] == row[9] == row[11] == "-"
    (data,) = json.loads(path.read_text())["rows"]
    assert data["torch_ms"] is None and data["torch_peak_mib"] is None and positive(data["minigrad_ms"])


# -- errors: one line, no traceback ---------------------------------------------------------
@pytest.mark.parametrize("args, words", [
    (["--size", "huge"], ["--size", "huge", "small, medium, long, large", "N,T,I,H"]),
    (["--size", "1,2,3"], ["--size", "'1,2,3'"]),
    (["--model", "transformer"], ["--model", "transformer", "rnn", "lstm", "gru", "bilstm", "bigru"]),
    (["--backend", "tpu"], ["--backend", "tpu", "numpy"]),
    (["--path", "fast"], ["--path", "fused", "composed", "both"]),
    (["--rounds", "0"], ["--rounds"]),
])
def test_bad_options_are_click_errors(args, words):
    result = invoke(*args)
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    error = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert len(error) == 1, result.output
    for word in words:
        assert word in error[0], (word, error[0])


def test_unavailable_backend_is_a_one_line_error():
    reason = backends.unavailable_reason("cupy")
    if reason is None:
        pytest.skip("cupy is available here")
    result = invoke("--quick", "--backend", "cupy", "--path", "composed")
    assert result.exit_code == 1
    assert result.output.count("\n") == 1 and result.output.startswith("Error: ") and "cupy" in result.output


def test_json_into_a_missing_folder_fails_before_measuring(tmp_path):
    result = invoke("--quick", "--json", str(tmp_path / "nope" / "rows.json"))
    assert result.exit_code == 1
    assert result.output.startswith("Error: --json") and "does not exist" in result.output
    assert "model" not in result.output


def test_examples_command_points_to_the_benchmarks():
    result = CliRunner().invoke(main, ["examples"])
    assert result.exit_code == 0, result.output
    assert "minigrad bench" in result.output and "examples/benchmark.py" in result.output
