"""``minigrad info`` says what it finds about CuPy and CUDA, one line each, on machines with and without them."""

from __future__ import annotations

import sys
import types

import pytest
from click.testing import CliRunner

import backends
from backends import cupy_backend
from minigrad.cli import main

LABELS = ["cupy package", "CUDA runtime", "CUDA driver", "GPUs", "cupy backend"]


def _fake_cupy(monkeypatch, *, devices=1, runtime_error=None, available=True):
    """A module standing in for ``cupy`` with the runtime calls `diagnose` makes."""
    def raise_or(value):
        def call(*_):
            if runtime_error is not None:
                raise runtime_error
            return value
        return call

    runtime = types.SimpleNamespace(
        runtimeGetVersion=lambda: 12040, driverGetVersion=lambda: 12060,
        getDeviceCount=raise_or(devices),
        getDeviceProperties=lambda i: {"name": b"NVIDIA H100 80GB HBM3"},
    )
    fake = types.ModuleType("cupy")
    fake.__version__, fake.__file__ = "13.6.0", "/site-packages/cupy/__init__.py"
    fake.cuda = types.SimpleNamespace(runtime=runtime)
    fake.is_available = lambda: available and runtime_error is None and devices > 0
    monkeypatch.setitem(sys.modules, "cupy", fake)
    monkeypatch.setattr(backends, "_instances", {k: v for k, v in backends._instances.items() if k != "cupy"})
    monkeypatch.setattr(backends, "_errors", {k: v for k, v in backends._errors.items() if k != "cupy"})


def _lines():
    return dict(cupy_backend.diagnose())


def test_every_line_once_in_minigrad_info():
    out = CliRunner().invoke(main, ["info"]).output.splitlines()
    start = out.index("CuPy and CUDA:")
    block = out[start + 1 : start + 1 + len(LABELS)]
    assert [line.split(":")[0].strip() for line in block] == LABELS
    assert all(len(line.split(": ", 1)[1]) > 1 for line in block)


def test_without_cupy(monkeypatch):
    monkeypatch.setitem(sys.modules, "cupy", None)  # `import cupy` raises ImportError
    lines = _lines()
    assert lines["cupy package"].startswith("not installed") and "pip install 'minigrad[cuda]'" in lines["cupy package"]
    assert lines["CUDA runtime"].startswith("unknown without cupy")
    assert lines["cupy backend"].startswith("not usable: cupy could not be imported")


def test_with_a_gpu(monkeypatch):
    _fake_cupy(monkeypatch)
    lines = _lines()
    assert lines["cupy package"] == "13.6.0 (/site-packages/cupy)"
    assert (lines["CUDA runtime"], lines["CUDA driver"]) == ("12.4", "12.6")
    assert lines["GPUs"] == "1 (NVIDIA H100 80GB HBM3)"
    assert lines["cupy backend"] == "usable"


def test_with_cupy_and_no_gpu(monkeypatch):
    _fake_cupy(monkeypatch, runtime_error=RuntimeError("cudaErrorNoDevice: no CUDA-capable device is detected"))
    lines = _lines()
    assert lines["GPUs"] == "0 (RuntimeError: cudaErrorNoDevice: no CUDA-capable device is detected)"
    assert lines["cupy backend"].startswith("not usable: cupy imported but found no usable CUDA GPU")


@pytest.mark.parametrize("broken", [OSError("libcudart.so.12: cannot open shared object file")])
def test_a_broken_cuda_installation(monkeypatch, broken):
    _fake_cupy(monkeypatch)
    sys.modules["cupy"].cuda.runtime.runtimeGetVersion = lambda: (_ for _ in ()).throw(broken)
    lines = _lines()
    assert lines["CUDA runtime"] == f"not found (OSError: {broken})"
    assert lines["CUDA driver"] == "12.6"
