"""The backend registry, the default backend, and moving tensors between backends."""

from __future__ import annotations

import contextvars
import sys
import types

import numpy as np
import pytest

import backends
import minigrad as mg
from backends import Backend
from minigrad.backend import ENV_VAR


@pytest.fixture
def registry(monkeypatch):
    """A private copy of the registry's dicts, restored after the test."""
    monkeypatch.setattr(backends, "_factories", dict(backends._factories))
    monkeypatch.setattr(backends, "_instances", dict(backends._instances))
    monkeypatch.setattr(backends, "_errors", dict(backends._errors))
    monkeypatch.setattr(backends, "_seed", list(backends._seed))
    monkeypatch.delenv(ENV_VAR, raising=False)
    return backends


@pytest.fixture
def numpy2(registry):
    """A second NumPy-based backend registered as a third party would."""
    registry.register("numpy2", lambda: Backend("numpy2", np))
    return "numpy2"


def in_fresh_context(fn, *args):
    """Run ``fn`` in a copy of the current context, so a set_backend inside does not leak."""
    return contextvars.copy_context().run(fn, *args)


# -- registry ------------------------------------------------------------------


def test_numpy_is_available():
    assert "numpy" in backends.available()
    assert backends.get("numpy").xp is np
    assert backends.get("numpy").name == "numpy"
    assert backends.get("numpy") is backends.get("numpy")  # one instance per name
    assert backends.unavailable_reason("numpy") is None
    assert {"numpy", "cupy"} <= set(backends.names())


def test_unknown_backend():
    with pytest.raises(ValueError) as info:
        backends.get("nope")
    msg = str(info.value)
    assert "nope" in msg and "numpy" in msg and "cupy" in msg
    assert "nope" not in backends.available()
    assert backends.unavailable_reason("nope") is not None


def _fresh_cupy_state(monkeypatch):
    monkeypatch.setattr(backends, "_instances", {k: v for k, v in backends._instances.items() if k != "cupy"})
    monkeypatch.setattr(backends, "_errors", {k: v for k, v in backends._errors.items() if k != "cupy"})


def test_cupy_without_gpu(monkeypatch):
    fake = types.ModuleType("cupy")
    fake.is_available = lambda: False
    monkeypatch.setitem(sys.modules, "cupy", fake)
    _fresh_cupy_state(monkeypatch)
    with pytest.raises(RuntimeError) as info:
        backends.get("cupy")
    msg = str(info.value)
    assert "cupy" in msg
    assert "GPU" in msg and "is_available" in msg  # why
    assert "numpy" in msg and "nvidia-smi" in msg  # how to fix
    assert backends.unavailable_reason("cupy") == msg
    assert "cupy" not in backends.available()
    assert "numpy" in backends.available()


def test_cupy_not_installed(monkeypatch):
    monkeypatch.setitem(sys.modules, "cupy", None)  # makes `import cupy` raise ImportError
    _fresh_cupy_state(monkeypatch)
    with pytest.raises(RuntimeError) as info:
        backends.get("cupy")
    msg = str(info.value)
    assert "could not be imported" in msg and ("ImportError" in msg or "ModuleNotFoundError" in msg)
    assert "pip install" in msg and "minigrad[cuda]" in msg
    assert "cupy" not in backends.available()


def test_cupy_broken_cuda(monkeypatch):
    fake = types.ModuleType("cupy")

    def is_available():
        raise OSError("libcuda.so.1: cannot open shared object file")

    fake.is_available = is_available
    monkeypatch.setitem(sys.modules, "cupy", fake)
    _fresh_cupy_state(monkeypatch)
    with pytest.raises(RuntimeError) as info:
        backends.get("cupy")
    msg = str(info.value)
    assert "libcuda.so.1" in msg and "OSError" in msg
    assert "nvidia-smi" in msg


# -- third-party backends ------------------------------------------------------


def test_register_backend(numpy2):
    assert numpy2 in backends.names() and numpy2 in backends.available()
    b = mg.tensor([3.0, 4.0], backend=numpy2)
    assert b.backend.name == numpy2 and b.backend is backends.get(numpy2)
    c = (b * 2 + 1).sum()
    assert c.backend.name == numpy2 and c.item() == (3.0 * 2 + 1) + (4.0 * 2 + 1)


def test_mixing_backends_is_a_clear_error(numpy2):
    a = mg.tensor([1.0, 2.0], backend="numpy")
    b = mg.tensor([3.0, 4.0], backend=numpy2)
    with pytest.raises(RuntimeError) as info:
        a + b
    msg = str(info.value)
    assert msg.startswith("add")
    assert "'numpy'" in msg and "'numpy2'" in msg
    assert ".to(" in msg
    assert (a + b.to("numpy")).tolist() == [4.0, 6.0]
    assert (a.to(numpy2) + b).backend.name == numpy2


def test_register_replaces_a_cached_instance(numpy2):
    first = backends.get(numpy2)
    backends.register(numpy2, lambda: Backend(numpy2, np))
    assert backends.get(numpy2) is not first


class FakeEntryPoint:
    def __init__(self, name, factory):
        self.name = name
        self.group = backends.ENTRY_POINT_GROUP
        self._factory = factory
        self.loaded = 0

    def load(self):
        self.loaded += 1
        return self._factory


def _fake_entry_points(monkeypatch, eps):
    def entry_points(**kwargs):
        return list(eps) if kwargs.get("group") == backends.ENTRY_POINT_GROUP else []

    monkeypatch.setattr(backends.metadata, "entry_points", entry_points)
    monkeypatch.setattr(backends, "_entry_points_loaded", False)


def test_entry_point_discovery(registry, monkeypatch):
    def broken():
        raise RuntimeError("needs the frobnicator driver")

    good = FakeEntryPoint("plugin", lambda: Backend("plugin", np))
    bad = FakeEntryPoint("brokenplugin", broken)
    _fake_entry_points(monkeypatch, [good, bad])
    assert "plugin" in backends.names() and "brokenplugin" in backends.names()
    assert "plugin" in backends.available()
    assert "brokenplugin" not in backends.available()
    assert good.loaded >= 1
    be = backends.get("plugin")
    assert be.name == "plugin" and be.xp is np
    assert mg.zeros(2, backend="plugin").backend is be
    with pytest.raises(RuntimeError, match="frobnicator"):
        backends.get("brokenplugin")


def test_entry_point_found_by_get_alone(registry, monkeypatch):
    ep = FakeEntryPoint("plugin", lambda: Backend("plugin", np))
    _fake_entry_points(monkeypatch, [ep])
    assert backends.get("plugin").name == "plugin"  # get() loads entry points itself


def test_entry_point_does_not_shadow_builtin(registry, monkeypatch):
    ep = FakeEntryPoint("numpy", lambda: Backend("impostor", np))
    _fake_entry_points(monkeypatch, [ep])
    monkeypatch.setattr(backends, "_instances", {})
    assert backends.get("numpy").name == "numpy"
    assert ep.loaded == 0


# -- the default backend -------------------------------------------------------


def test_set_backend(numpy2):
    def body():
        mg.set_backend(numpy2)
        assert mg.default_backend_name() == numpy2
        assert mg.zeros(2).backend.name == numpy2
        assert mg.tensor([1.0]).backend.name == numpy2
        assert mg.randn(2).backend.name == numpy2
        assert mg.tensor([1.0], backend="numpy").backend.name == "numpy"  # explicit wins
        return True

    assert in_fresh_context(body)
    assert mg.default_backend_name() == "numpy"
    assert mg.zeros(2).backend.name == "numpy"


def test_set_backend_unknown(registry):
    def body():
        with pytest.raises(ValueError, match="nope"):
            mg.set_backend("nope")
        return mg.default_backend_name()

    assert in_fresh_context(body) == "numpy"


def test_use_backend(numpy2):
    with mg.use_backend(numpy2) as be:
        assert be.name == numpy2
        assert mg.ones(3).backend is be
        with mg.use_backend("numpy"):
            assert mg.ones(3).backend.name == "numpy"
        assert mg.default_backend_name() == numpy2
    assert mg.default_backend_name() == "numpy"
    with pytest.raises(KeyError), mg.use_backend(numpy2):
        raise KeyError("boom")
    assert mg.default_backend_name() == "numpy"
    with pytest.raises(ValueError), mg.use_backend("nope"):
        pass
    assert mg.default_backend_name() == "numpy"


def test_env_var_default(numpy2, monkeypatch):
    monkeypatch.setenv(ENV_VAR, numpy2)
    assert mg.default_backend_name() == numpy2
    assert mg.zeros(2).backend.name == numpy2
    with mg.use_backend("numpy"):  # an explicit default wins over the environment
        assert mg.zeros(2).backend.name == "numpy"
    monkeypatch.setenv(ENV_VAR, "nope")
    with pytest.raises(ValueError, match="nope"):
        mg.zeros(2)
    monkeypatch.delenv(ENV_VAR)
    assert mg.zeros(2).backend.name == "numpy"


# -- across backends -----------------------------------------------------------


def test_to_numpy_round_trip(backend):
    t = mg.tensor(np.arange(6, dtype=np.float64).reshape(2, 3) / 7, requires_grad=True)
    u = t.to("numpy")
    assert u.backend.name == "numpy" and u.dtype == np.float64
    np.testing.assert_array_equal(u.numpy(), t.numpy())
    v = u.to(backend)
    assert v.backend.name == backend
    np.testing.assert_array_equal(v.numpy(), t.numpy())
    assert u.requires_grad and v.requires_grad


def test_to_other_backend_copies(numpy2):
    t = mg.tensor([1.0, 2.0], requires_grad=True)
    u = t.to(numpy2)
    assert u.backend.name == numpy2 and u.is_leaf and u.requires_grad
    assert u.tolist() == [1.0, 2.0]
    u.data[0] = 50.0
    assert t.tolist() == [1.0, 2.0]
    w = t.to(backend=numpy2, dtype="float64")
    assert w.backend.name == numpy2 and w.dtype == np.float64


def test_same_seed_same_numbers_on_every_backend(backend):
    mg.manual_seed(2024)
    values = mg.randn(7, dtype="float64").numpy()
    uniform = mg.rand(3).numpy()
    with mg.use_backend("numpy"):
        mg.manual_seed(2024)
        expected = mg.randn(7, dtype="float64").numpy()
        expected_uniform = mg.rand(3).numpy()
    np.testing.assert_array_equal(values, expected)
    np.testing.assert_array_equal(uniform, expected_uniform)


def test_backend_created_after_seeding_is_seeded(numpy2):
    mg.manual_seed(99)
    assert numpy2 not in backends._instances
    a = mg.randn(5, backend="numpy").numpy()
    b = mg.randn(5, backend=numpy2).numpy()  # created now, seeded with 99
    np.testing.assert_array_equal(a, b)


def test_scatter_add_accumulates_repeated_indices(backend):
    be = mg.get_backend()
    target = be.xp.zeros(4, dtype="float64")
    index = [0, 2, 0, 0, 3]
    values = [1.0, 2.0, 3.0, 4.0, 5.0]
    be.scatter_add(target, be.asarray(index), be.asarray(values, dtype="float64"))
    expected = np.zeros(4)
    for i, v in zip(index, values):
        expected[i] += v
    np.testing.assert_array_equal(be.to_numpy(target), expected)


def test_scatter_add_2d_rows(backend):
    be = mg.get_backend()
    target = be.xp.ones((3, 2), dtype="float64")
    index = [1, 1, 2]
    values = np.arange(6, dtype=np.float64).reshape(3, 2)
    be.scatter_add(target, be.asarray(index), be.asarray(values))
    expected = np.ones((3, 2))
    for i, row in zip(index, values):
        expected[i] += row
    np.testing.assert_array_equal(be.to_numpy(target), expected)
