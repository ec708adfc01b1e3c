"""The ``minigrad`` command line."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

import backends
import minigrad
from minigrad.backend import ENV_VAR
from minigrad.cli import main

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def no_env_backend(monkeypatch):
    monkeypatch.delenv(ENV_VAR, raising=False)


def _backend_line(output: str, name: str) -> str:
    lines = [ln.strip() for ln in output.splitlines() if re.match(rf"\s+{re.escape(name)}:", ln)]
    assert len(lines) == 1, output
    return lines[0]


def test_info(no_env_backend):
    result = CliRunner().invoke(main, ["info"])
    assert result.exit_code == 0, result.output
    out = result.output
    assert out.splitlines()[0] == f"minigrad {minigrad.__version__}"
    assert _backend_line(out, "numpy") == "numpy: available"
    cupy = _backend_line(out, "cupy")
    reason = backends.unavailable_reason("cupy")
    if reason is None:
        assert cupy == "cupy: available"
    else:
        assert cupy.startswith("cupy: unavailable: ") and len(cupy) > len("cupy: unavailable: ") + 10
        assert reason in cupy
    assert "default backend: numpy" in out.splitlines()


def test_bare_command_shows_info(no_env_backend):
    result = CliRunner().invoke(main, [])
    assert result.exit_code == 0, result.output
    assert f"minigrad {minigrad.__version__}" in result.output
    assert "default backend: numpy" in result.output


def test_version_option():
    result = CliRunner().invoke(main, ["--version"])
    assert result.exit_code == 0
    assert minigrad.__version__ in result.output


def test_info_respects_env_backend():
    result = CliRunner().invoke(main, ["info"], env={ENV_VAR: "numpy"})
    assert result.exit_code == 0
    assert "default backend: numpy" in result.output


def test_info_with_invalid_env_backend():
    result = CliRunner().invoke(main, ["info"], env={ENV_VAR: "nope"})
    assert result.exit_code == 0, result.output
    assert result.exception is None
    out = result.output
    assert "Traceback" not in out
    line = next(ln for ln in out.splitlines() if ln.startswith("default backend:"))
    assert "invalid" in line and "nope" in line and "numpy" in line  # what is wrong and what is known
    assert _backend_line(out, "numpy") == "numpy: available"  # the rest of the report still shows


def _run_module(*args: str, backend: str | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != ENV_VAR}
    if backend is not None:
        env[ENV_VAR] = backend
    return subprocess.run(
        [sys.executable, "-m", "minigrad", *args],
        check=False,
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=60,
    )


def test_python_dash_m():
    proc = _run_module("info")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[0] == f"minigrad {minigrad.__version__}"
    assert "numpy: available" in proc.stdout
    assert "default backend: numpy" in proc.stdout


def test_python_dash_m_invalid_backend():
    proc = _run_module("info", backend="nope")
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    assert re.search(r"^default backend: .*invalid.*nope", proc.stdout, re.MULTILINE), proc.stdout


def test_info_says_whether_the_compiled_loops_run(monkeypatch):
    from backends.recurrent import _compiled_loops

    result = CliRunner().invoke(main, ["info"])
    line = next(ln for ln in result.output.splitlines() if ln.startswith("recurrent layers:"))
    assert ("numba " in line) == (_compiled_loops() is not None)
    result = CliRunner().invoke(main, ["info"], env={"MINIGRAD_JIT": "0"})
    assert "compiled time loops: off (MINIGRAD_JIT=0)" in result.output


def _blas_env(**values: str) -> dict:
    """CliRunner env: the thread variables unset, except ``values``."""
    from minigrad.runner import BLAS_THREAD_VARS, THREADS_ENV

    return {var: None for var in (THREADS_ENV, *BLAS_THREAD_VARS)} | values


def test_info_shows_the_blas_libraries_and_their_threads():
    from threadpoolctl import threadpool_info

    result = CliRunner().invoke(main, ["info"], env=_blas_env())
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    start = next(i for i, ln in enumerate(lines) if ln.startswith("BLAS libraries (threads now):"))
    blas = [i for i in threadpool_info() if i["user_api"] == "blas"]
    if not blas:
        assert lines[start] == "BLAS libraries (threads now): none found"
    shown = lines[start + 1 : start + 1 + len(blas)]
    for lib, line in zip(blas, shown):
        assert line.startswith(f"  {lib['internal_api']} ") and Path(lib["filepath"]).name in line
        assert line.endswith(f": {lib['num_threads']} thread" + "s" * (lib["num_threads"] != 1))
    assert lines[start + 1 + len(blas)] == (
        "BLAS threads in minigrad run: 1 (the default; --threads N or MINIGRAD_NUM_THREADS=N to change)")


@pytest.mark.parametrize(("env", "expected"), [
    ({"MINIGRAD_NUM_THREADS": "3"}, "3 (MINIGRAD_NUM_THREADS=3)"),
    ({"MINIGRAD_NUM_THREADS": "3", "OMP_NUM_THREADS": "2"}, "3 (MINIGRAD_NUM_THREADS=3)"),
    ({"OPENBLAS_NUM_THREADS": "2"},
     "as OPENBLAS_NUM_THREADS=2 set them (not changed; --threads N or MINIGRAD_NUM_THREADS=N to change)"),
    ({"MINIGRAD_NUM_THREADS": "abc"},
     "(invalid: MINIGRAD_NUM_THREADS='abc': expected a whole number of threads >= 1)"),
])
def test_info_says_which_threads_a_run_would_use(env, expected):
    result = CliRunner().invoke(main, ["info"], env=_blas_env(**env))
    assert result.exit_code == 0 and result.exception is None, result.output
    assert f"BLAS threads in minigrad run: {expected}" in result.output.splitlines()


def test_the_backend_of_a_run_defaults_to_minigrad_backend(monkeypatch):
    from click.testing import CliRunner

    from minigrad.cli import main as cli_main

    monkeypatch.setenv("MINIGRAD_BACKEND", "nope")
    result = CliRunner().invoke(cli_main, ["run", "seed", "--quiet"])
    assert result.exit_code != 0 and "--backend" in result.output and "'nope'" in result.output
    monkeypatch.setenv("MINIGRAD_BACKEND", "numpy")
    assert CliRunner().invoke(cli_main, ["run", "seed", "--quiet"]).exit_code == 0
