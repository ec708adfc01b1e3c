"""Shared fixtures: a backend fixture over NumPy and a device backend, and a guard
that fails any test which leaks global state (grad mode, default backend).

The device column is CuPy where a GPU is usable, else the strict stand-in
(``tests/standin``, backend ``standin``): a third-party backend found through
the ``minigrad.backends`` entry-point group once its folder is on ``sys.path``.
"""

from __future__ import annotations

import contextlib
import gc
import os
import sys
from pathlib import Path

import pytest

import backends
import minigrad as mg
from minigrad.anomaly import is_anomaly_enabled
from minigrad.autograd import _grad_enabled
from minigrad.backend import _default
from minigrad.graph_scope import current_scope
from minigrad.nn.rnn import _default_impl

STANDIN_DIR = Path(__file__).resolve().parent / "standin"
sys.path.insert(0, str(STANDIN_DIR))  # before any backend lookup: the registry reads entry points once
if "standin" not in backends.names():
    raise pytest.UsageError(f"the stand-in backend's entry point was not found in {STANDIN_DIR}")

# the device column: CuPy where it runs, else its strict stand-in; MINIGRAD_TEST_DEVICE=standin|cupy chooses
DEVICE_BACKEND = os.environ.get("MINIGRAD_TEST_DEVICE") or (
    "cupy" if backends.unavailable_reason("cupy") is None else "standin")
ALL_BACKENDS = ["numpy", DEVICE_BACKEND]


def _backend_params():
    params = []
    for name in ALL_BACKENDS:
        reason = backends.unavailable_reason(name)
        marks = [] if reason is None else [pytest.mark.skip(reason=reason)]
        params.append(pytest.param(name, marks=marks, id=name))
    return params


@pytest.fixture(params=_backend_params())
def backend(request):
    """The name of each backend in turn: ``numpy``, then ``cupy`` with a usable GPU or ``standin`` without."""
    with mg.use_backend(request.param):
        yield request.param


IMPLS = ["composed", "fused", "fused-compiled"]


def _impl_params():
    from backends.recurrent import _compiled_loops

    compiled_reason = None if _compiled_loops() is not None else "numba is not installed (the jit extra)"
    return [
        pytest.param(name, id=name, marks=[pytest.mark.skip(reason=compiled_reason)] if
                     name == "fused-compiled" and compiled_reason else [])
        for name in IMPLS
    ]


@contextlib.contextmanager
def compiled_loops(enabled: bool):
    """Let the fused kernels use numba-compiled time loops, or not, on every backend (restored after).

    The BLAS keeps its threads, so the compiled loops' products and the directions run at once
    (RecurrentPointwise.one_blas_thread) are tested with the machine's default BLAS."""
    kernels = [backends.get(name).recurrent for name in backends.available()]
    saved = [k.use_compiled for k in kernels]
    for k in kernels:
        k.use_compiled = enabled
    try:
        yield
    finally:
        for k, was in zip(kernels, saved):
            k.use_compiled = was


@pytest.fixture(params=_impl_params())
def impl(request):
    """Each twin of the recurrent layers in turn: the composed loop, the fused kernels with
    Python time loops, and the fused kernels with numba-compiled loops (where installed)."""
    name = request.param
    with mg.nn.recurrent_impl(name.split("-")[0]), compiled_loops(name == "fused-compiled"):
        yield name


@pytest.fixture(autouse=True)
def no_leaked_state():
    """Fail a test that leaves grad mode off, anomaly mode on, the default backend or the recurrent path changed."""
    grad, default, impl = _grad_enabled.get(), _default.get(), _default_impl.get()
    yield
    assert _grad_enabled.get() == grad, "test leaked grad mode (no_grad not exited?)"
    assert not is_anomaly_enabled(), "test leaked anomaly mode (detect_anomaly not exited?)"
    assert _default.get() == default, "test leaked a default backend (use use_backend())"
    assert _default_impl.get() == impl, "test leaked a recurrent impl (use recurrent_impl())"
    assert current_scope() is None, "test leaked a graph scope (record_scopes/graph_scope not exited?)"


try:
    import torch  # noqa: F401

    HAVE_TORCH = True
except ImportError:
    HAVE_TORCH = False

requires_torch = pytest.mark.skipif(not HAVE_TORCH, reason="torch is not installed")


@contextlib.contextmanager
def gc_disabled():
    """Run the block with the cyclic garbage collector off (restored afterwards): shows that
    reference counting alone frees a graph, and keeps long unrolled graphs fast to build."""
    was_enabled = gc.isenabled()
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
