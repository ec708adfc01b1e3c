"""Shared fixtures: a backend fixture over every available backend, and a guard
that fails any test which leaks global state (grad mode, default backend)."""

from __future__ import annotations

import contextlib
import gc

import pytest

import backends
import minigrad as mg
from minigrad.anomaly import is_anomaly_enabled
from minigrad.autograd import _grad_enabled
from minigrad.backend import _default
from minigrad.nn.rnn import _default_impl

ALL_BACKENDS = ["numpy", "cupy"]


def _backend_params():
    params = []
    for name in ALL_BACKENDS:
        reason = backends.unavailable_reason(name)
        marks = [] if reason is None else [pytest.mark.skip(reason=reason)]
        params.append(pytest.param(name, marks=marks, id=name))
    return params


@pytest.fixture(params=_backend_params())
def backend(request):
    """The name of each available backend in turn (CuPy only with a usable GPU)."""
    with mg.use_backend(request.param):
        yield request.param


IMPLS = ["composed", "fused", "fused-compiled"]


def _impl_params():
    from backends.recurrent import _compiled_loops

    compiled_reason = None if _compiled_loops() is not None else "numba and scipy are not installed (the jit extra)"
    return [
        pytest.param(name, id=name, marks=[pytest.mark.skip(reason=compiled_reason)] if
                     name == "fused-compiled" and compiled_reason else [])
        for name in IMPLS
    ]


@contextlib.contextmanager
def compiled_loops(enabled: bool):
    """Let the fused kernels use numba-compiled time loops, or not, on every backend (restored after)."""
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
