"""Shared fixtures: a backend fixture over every available backend, and a guard
that fails any test which leaks global state (grad mode, default backend)."""

from __future__ import annotations

import contextlib
import gc

import pytest

import backends
import minigrad as mg
from minigrad.autograd import _grad_enabled
from minigrad.backend import _default

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


@pytest.fixture(autouse=True)
def no_leaked_state():
    """Fail a test that leaves grad mode off or the default backend changed."""
    grad, default = _grad_enabled.get(), _default.get()
    yield
    assert _grad_enabled.get() == grad, "test leaked grad mode (no_grad not exited?)"
    assert _default.get() == default, "test leaked a default backend (use use_backend())"


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
