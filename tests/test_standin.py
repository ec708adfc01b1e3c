"""The strict CuPy stand-in (``tests/standin``): it refuses what CuPy refuses, counts what CuPy
transfers, is found as a third-party backend, and the fixes it led to hold."""

from __future__ import annotations

import os
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import numpy as np
import pytest
from minigrad_standin import StandinBackend, events, xp
from minigrad_standin.array import ndarray

import backends
import minigrad as mg
from backends.cupy_backend import CupyBackend
from minigrad import metrics

ROOT = Path(__file__).resolve().parents[1]
STANDIN_DIR = ROOT / "tests" / "standin"


def _count(kind, fn):
    """How many events of ``kind`` running ``fn()`` makes."""
    with events.recording() as seen:
        fn()
    return sum(e.kind == kind for e in seen)


# -- what CuPy refuses ------------------------------------------------------------------------------
def test_implicit_conversion_to_numpy_is_refused():
    a = xp.arange(6.0).reshape(2, 3)
    for convert in (np.asarray, np.array, np.ascontiguousarray, np.asanyarray, lambda v: np.array([v, v])):
        with pytest.raises(TypeError, match="Implicit conversion to a NumPy array is not allowed"):
            convert(a)
    with pytest.raises(TypeError):
        memoryview(a)
    with pytest.raises(TypeError):
        [0, 1, 2][xp.asarray(1)]  # no __index__, as CuPy


def test_mixing_with_numpy_arrays_is_refused():
    a, host = xp.ones(3), np.ones(3)
    mixes = [
        lambda: a + host, lambda: host + a, lambda: host * a, lambda: a @ np.ones((3, 3)),
        lambda: xp.where(host > 0, a, 0.0), lambda: xp.concatenate([a, host]), lambda: xp.exp(host),
        lambda: xp.add(a, a, out=np.empty(3)), lambda: xp.add.at(a, [0], host),
        lambda: np.add(a, host),
    ]
    for mix in mixes:
        with pytest.raises(TypeError, match="Unsupported type <class 'numpy.ndarray'>"):
            mix()
    with pytest.raises(ValueError, match="non-scalar numpy.ndarray cannot be used for fill"):
        a[...] = host
    with pytest.raises(ValueError, match="non-scalar numpy.ndarray cannot be used for fill"):
        a[:] = [1.0, 2.0, 3.0]


def test_what_cupy_allows_works_on_device_arrays():
    a = xp.arange(4.0)
    assert type(a + 1) is ndarray and type(np.float32(2) * a) is ndarray
    assert type(np.exp(a)) is ndarray and type(np.sum(a)) is ndarray  # NumPy's functions dispatch
    assert type(a.sum()) is ndarray and a.sum().shape == ()  # reductions stay on the device, 0-d
    a[np.array([0, 1])] = 5.0  # host index arrays are uploaded
    a[0] = np.float64(7.0)
    assert a.get().tolist() == [7.0, 5.0, 2.0, 3.0]


def test_only_cupy_names_and_limits():
    for numpy_only in ("errstate", "nditer", "frompyfunc", "longdouble", "object_", "seterr"):
        with pytest.raises(AttributeError, match="CuPy does not provide it"):
            getattr(xp, numpy_only)
    with pytest.raises(AttributeError, match="has no attribute 'ctypes'"):
        xp.ones(2).ctypes  # noqa: B018
    with pytest.raises(NotImplementedError, match="cupy_maximum.reduce"):
        xp.maximum.reduce(xp.ones(3))
    with pytest.raises(NotImplementedError, match="cupy_multiply.at"):
        xp.multiply.at(xp.ones(3), [0], 2.0)
    with pytest.raises(ValueError, match="Unsupported dtype object"):
        xp.asarray([None])
    with pytest.raises(ValueError, match="Unsupported dtype <U1"):
        xp.asarray(["a"])


# -- what CuPy transfers ----------------------------------------------------------------------------
def test_transfers_and_synchronisations_are_counted():
    a = xp.arange(3.0)
    assert _count(events.TO_DEVICE, lambda: xp.asarray(np.ones(3))) == 1
    assert _count(events.TO_DEVICE, lambda: xp.asarray(a)) == 0  # already on the device
    assert _count(events.TO_DEVICE, lambda: xp.full((), 2.0)) == 0  # filled on the device
    for to_host in (lambda: a.get(), lambda: xp.asnumpy(a), lambda: float(a[0]), lambda: int(a[1]),
                    lambda: bool(a[2]), lambda: a[0].item(), lambda: a.tolist(), lambda: repr(a),
                    lambda: f"{a[0]:.2f}", lambda: a[a > 0], lambda: xp.nonzero(a), lambda: xp.unique(a)):
        assert _count(events.TO_HOST, to_host) == 1
    for on_device in (lambda: a * 2 + 1, lambda: a.sum(), lambda: xp.where(a > 0, a, 0.0), lambda: a[1:],
                      lambda: (a > 1).any()):
        assert _count(events.TO_HOST, on_device) == 0
    be = mg.get_backend("standin")
    assert _count(events.SYNC, be.synchronize) == 1
    assert _count(events.SYNC, lambda: xp.cuda.get_current_stream().synchronize()) == 1
    before = dict(events.COUNTS.totals)
    a.get()
    assert events.COUNTS.totals[events.TO_HOST] == before[events.TO_HOST] + 1  # counted even when not recording


def test_recording_names_the_line_that_transferred():
    a = xp.ones(2)
    with events.recording() as seen:
        float(a[0])
    (event,) = seen
    assert event.kind == events.TO_HOST and "float()" in event.why
    assert event.where.startswith(f"{__file__}:")


# -- a third-party backend --------------------------------------------------------------------------
def test_it_is_registered_through_the_entry_point_group():
    (ep,) = [ep for ep in metadata.entry_points(group="minigrad.backends") if ep.name == "standin"]
    assert ep.value == "minigrad_standin:create"
    assert ep.dist.name == "minigrad-standin"
    assert isinstance(backends.get("standin"), StandinBackend)
    assert isinstance(backends.get("standin"), CupyBackend)  # the CuPy backend's own code runs on it
    assert "standin" in backends.available()


def test_a_fresh_interpreter_finds_it_through_its_dist_info_alone():
    """What a user's installed package does: only the folder on sys.path, nothing registered by hand."""
    code = ("import backends, minigrad as mg\n"
            "print(backends.available())\n"
            "print(type(mg.tensor([1.0, 2.0], backend='standin').sum().data).__module__)")
    env = {**{k: v for k, v in os.environ.items() if k != "MINIGRAD_BACKEND"}, "PYTHONPATH": str(STANDIN_DIR)}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, env=env,
                          timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    available, module = proc.stdout.split("\n")[:2]
    assert "'standin'" in available and module == "minigrad_standin.array"


def test_the_device_column_runs_on_the_stand_in_without_a_gpu():
    from conftest import ALL_BACKENDS, DEVICE_BACKEND

    assert ALL_BACKENDS == ["numpy", DEVICE_BACKEND]
    if not os.environ.get("MINIGRAD_TEST_DEVICE"):
        expected = "cupy" if backends.unavailable_reason("cupy") is None else "standin"
        assert expected == DEVICE_BACKEND


def test_its_names_are_cupys_where_cupy_is_installed():
    try:
        import cupy
    except Exception as e:  # ImportError, or a broken CUDA installation
        pytest.skip(f"cupy is not importable here ({type(e).__name__}), so its namespace cannot be compared")
    from minigrad_standin.xp import LINALG_NAMES, NAMES

    assert sorted(NAMES - set(dir(cupy))) == []
    assert sorted(LINALG_NAMES - set(dir(cupy.linalg))) == []


# -- the fixes it led to ----------------------------------------------------------------------------
def test_scatter_add_mirrors_the_numpy_twin():
    """cupyx.scatter_add's stand-in accumulates repeated indices, boolean masks and index tuples as np.add.at."""
    be, host = mg.get_backend("standin"), mg.get_backend("numpy")
    rng = np.random.default_rng(0)
    values = rng.standard_normal((5, 3))
    cases = [
        ((6, 3), np.array([0, 2, 2, 5, 0]), values),
        ((5, 3), np.array([True, False, True, True, False]), values[:3]),
        ((4, 3), (np.array([1, 1, 3]), np.array([0, 0, 2])), values[0]),
    ]
    for shape, index, v in cases:
        want = np.zeros(shape)
        host.scatter_add(want, index, v)
        got = be.asarray(np.zeros(shape))
        dev_index = tuple(be.asarray(i) for i in index) if isinstance(index, tuple) else be.asarray(index)
        be.scatter_add(got, dev_index, be.asarray(v))
        np.testing.assert_array_equal(be.to_numpy(got), want)
    with pytest.raises(TypeError, match="Unsupported type"):
        be.scatter_add(np.zeros(3), be.asarray([0]), 1.0)


def test_checkpoints_and_state_dicts_from_device_arrays(tmp_path):
    with mg.use_backend("standin"):
        lstm = mg.nn.LSTM(2, 3)
        raw = lstm.weight_ih_l0.data
        mg.save({"raw": raw, "model": lstm.state_dict()}, tmp_path / "ckpt.npz")
    loaded = mg.load(tmp_path / "ckpt.npz")
    assert isinstance(loaded["raw"], np.ndarray)
    np.testing.assert_array_equal(loaded["raw"], raw.get())
    on_cpu = mg.nn.LSTM(2, 3)
    on_cpu.load_state_dict({k: mg.get_backend("standin").asarray(v) for k, v in loaded["model"].items()})
    np.testing.assert_array_equal(on_cpu.weight_ih_l0.numpy(), raw.get())  # device arrays load onto the CPU


def test_tensor_data_is_checked_on_the_host_before_it_moves():
    with mg.use_backend("standin"):
        for bad in (None, ["abc"], 1j):
            assert _count(events.TO_DEVICE, lambda bad=bad: pytest.raises(TypeError, mg.tensor, bad)) == 0


def test_embedding_checks_host_ids_on_the_host_and_device_ids_with_one_read():
    with mg.use_backend("standin"):
        emb = mg.nn.Embedding(10, 4)
        host_ids = np.array([[1, 2, 9]])
        assert _count(events.TO_HOST, lambda: emb(host_ids)) == 0
        assert _count(events.TO_HOST, lambda: emb([[0, 3]])) == 0
        device_ids = mg.tensor(host_ids)
        assert _count(events.TO_HOST, lambda: emb(device_ids)) == 1
        with pytest.raises(IndexError, match=r"in \[0, 10\).*got values in \[-1, 10\]"):
            emb(mg.tensor([[-1, 10]]))
        with pytest.raises(IndexError, match=r"got values in \[0, 12\]"):
            emb([0, 12])


def test_the_runner_reads_every_weight_check_back_at_once():
    from minigrad.runner import non_finite_parameters

    with mg.use_backend("standin"):
        model = mg.nn.GRU(2, 3, num_layers=2)
        assert _count(events.TO_HOST, lambda: non_finite_parameters({"model": model})) == 1
        model.bias_hh_l1.data[0] = float("nan")
        assert non_finite_parameters({"model": model, "other": 3}) == ["model.bias_hh_l1"]


def test_metrics_take_device_arrays():
    with mg.use_backend("standin"):
        y, p = mg.tensor([0, 1, 1, 2]), mg.tensor([0, 1, 2, 2])
        want = metrics.confusion_matrix([0, 1, 1, 2], [0, 1, 2, 2], 3)
        np.testing.assert_array_equal(metrics.confusion_matrix(y.data, p.data, 3), want)
        np.testing.assert_array_equal(metrics.confusion_matrix(y, p, 3), want)


def _bench_clock_reads(monkeypatch, rounds=2):
    """Run ``minigrad bench --backend standin --quick`` noting, at each clock read, whether device work was queued."""
    import time

    from click.testing import CliRunner

    from minigrad import bench
    from minigrad.cli import main

    # the peak matmul (2048^3 on a device, timed the same way) would take seconds on the CPU
    monkeypatch.setattr(bench, "matmul_peak_gflops", lambda backend, dtype: (100.0, "(not measured)"))
    reads, clock = [], time.perf_counter
    monkeypatch.setattr(time, "perf_counter", lambda: reads.append(events.queued) or clock())
    result = CliRunner().invoke(main, ["bench", "--backend", "standin", "--quick", "--model", "gru",
                                       "--rounds", str(rounds), "--warmup", "0"])
    assert result.exit_code == 0, result.output
    return reads


def test_the_benchmark_synchronises_before_reading_the_clock(monkeypatch):
    reads = _bench_clock_reads(monkeypatch)
    assert len(reads) >= 2 * 2  # 2 rounds, a start and an end each
    assert not any(reads), f"{sum(reads)} of {len(reads)} clock reads found device work still queued"


def test_a_benchmark_that_forgets_to_synchronise_is_caught(monkeypatch):
    monkeypatch.setattr(StandinBackend, "synchronize", lambda self: None)
    assert any(_bench_clock_reads(monkeypatch, rounds=1))
