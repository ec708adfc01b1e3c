"""BLAS threads of a run: --threads, MINIGRAD_NUM_THREADS, the default, and restoring them afterwards."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys

import click
import pytest
from click.testing import CliRunner
from threadpoolctl import threadpool_info

from minigrad.cli import main
from minigrad.runner import BLAS_THREAD_VARS, DEFAULT_THREADS, THREADS_ENV, Run, load_blas, resolve_threads


def blas_threads() -> list[int]:
    return [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"]


@pytest.fixture
def clean_env(monkeypatch):
    """No thread variable set: the run's own default applies."""
    for var in (THREADS_ENV, *BLAS_THREAD_VARS):
        monkeypatch.delenv(var, raising=False)
    if not load_blas():
        pytest.skip("threadpoolctl finds no BLAS library here")


def test_resolve_order(clean_env, monkeypatch):
    assert resolve_threads() == (DEFAULT_THREADS, "default") == (1, "default")
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    assert resolve_threads() == (None, "OMP_NUM_THREADS=3")  # the BLAS keeps what the variable gave it
    monkeypatch.setenv(THREADS_ENV, " 2 ")
    assert resolve_threads() == (2, f"{THREADS_ENV}=2")
    assert resolve_threads(5) == (5, "--threads")  # the option beats the variable


@pytest.mark.parametrize("threads", [1, 2, 3])
def test_run_limits_every_blas_and_restores_it(clean_env, threads):
    before = blas_threads()
    with Run("demo", threads=threads) as run:
        load_blas()  # SciPy's own BLAS too, if SciPy is installed
        assert run.threads == threads
        assert blas_threads() == [threads] * len(blas_threads())
    assert blas_threads() == before


def test_default_is_one_thread_and_the_environment_overrides_it(clean_env, monkeypatch):
    before = blas_threads()
    with Run("demo") as run:
        assert run.threads == 1 and set(blas_threads()) == {1}
    monkeypatch.setenv(THREADS_ENV, "2")
    with Run("demo") as run:
        assert run.threads == 2 and set(blas_threads()) == {2}
    with Run("demo", threads=3):
        assert set(blas_threads()) == {3}
    assert blas_threads() == before


def test_a_blas_variable_leaves_the_threads_alone(clean_env, monkeypatch):
    before = blas_threads()
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "7")  # read by OpenBLAS only at start: here nothing changes
    with Run("demo") as run:
        assert run.threads is None and blas_threads() == before


def test_threads_are_restored_when_the_run_fails(clean_env):
    before = blas_threads()
    with pytest.raises(RuntimeError, match="boom"), Run("demo", threads=3):
        assert set(blas_threads()) == {3}
        raise RuntimeError("boom")
    assert blas_threads() == before


@pytest.mark.parametrize("value", ["abc", "0", "-2", "1.5"])
def test_an_invalid_variable_is_a_one_line_error(clean_env, monkeypatch, value):
    monkeypatch.setenv(THREADS_ENV, value)
    with pytest.raises(click.ClickException, match=f"{THREADS_ENV}='{value}'"), Run("demo"):
        pass
    result = CliRunner().invoke(main, ["run", "seed"])
    assert result.exit_code == 1
    assert result.output.strip() == f"Error: {THREADS_ENV}='{value}': expected a whole number of threads >= 1"


def test_threads_zero_is_an_error_naming_the_option(clean_env):
    result = CliRunner().invoke(main, ["run", "seed", "--threads", "0"])
    assert result.exit_code == 2 and "Traceback" not in result.output
    errors = [ln for ln in result.output.splitlines() if ln.startswith("Error")]
    assert errors == ["Error: Invalid value for '--threads': 0 is not in the range x>=1."]
    with pytest.raises(click.ClickException, match="--threads must be a whole number >= 1, got 0"), Run("d", threads=0):
        pass


def test_the_option_reaches_the_run(clean_env, tmp_path):
    before = blas_threads()
    metrics = tmp_path / "m.json"
    result = CliRunner().invoke(main, ["run", "seed", "--quiet", "--threads", "2", "--metrics", str(metrics)])
    assert result.exit_code == 0, result.output
    assert json.loads(metrics.read_text())["blas_threads"] == 2
    assert blas_threads() == before


def test_scipy_blas_loaded_later_is_limited_too():
    pytest.importorskip("scipy")
    code = """if True:
        from threadpoolctl import threadpool_info
        from minigrad.runner import Run
        with Run("demo", threads=1):
            import scipy.linalg  # after the run started: its BLAS must be limited as well
            print(sorted((i["filepath"], i["num_threads"]) for i in threadpool_info() if i["user_api"] == "blas"))
    """
    env = {k: v for k, v in os.environ.items() if k not in (THREADS_ENV, *BLAS_THREAD_VARS)}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120,
                          check=False)
    assert proc.returncode == 0, proc.stderr
    libraries = ast.literal_eval(proc.stdout.strip())
    assert len(libraries) >= 2 and {n for _, n in libraries} == {1}, libraries  # NumPy's and SciPy's
