"""Both directions of a fused bidirectional layer as one op (ops.BidirectionalSequence): in two threads
when the time loops are compiled, with exactly the numbers of one direction after the other."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from conftest import compiled_loops

import minigrad as mg
from backends import recurrent
from minigrad import ops

pytest.importorskip("numba", reason="the jit extra: only the compiled loops run the directions at once")


@pytest.fixture
def two_cpus(monkeypatch):
    """As on a machine with two CPUs free to the process and a BLAS of one thread, whatever this one has."""
    monkeypatch.setattr(recurrent, "_usable_cpus", lambda: 2)
    monkeypatch.setattr(recurrent, "_blas_threads", lambda: 1)


def _threads_of(monkeypatch, kernel):
    """Record the thread each direction's forward and backward runs in."""
    seen = []
    for method in ("forward", "backward"):
        original = getattr(kernel, method)

        def spy(self, *args, _original=original, _method=method, **kwargs):
            seen.append((_method, bool(kwargs.get("reverse", getattr(self, "reverse", False))),
                         threading.current_thread() is threading.main_thread()))
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(kernel, method, spy)
    return seen


@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
def test_the_reverse_direction_runs_in_the_worker_thread(monkeypatch, two_cpus, kind):
    kernel = getattr(ops, f"{kind}Sequence")
    seen = _threads_of(monkeypatch, kernel)
    net = getattr(mg.nn, kind)(3, 4, bidirectional=True, impl="fused")
    with compiled_loops(True):
        out, _ = net(mg.randn(2, 6, 3))
        out.sum().backward()
    # (method, reverse direction, in the main thread): direction 1 in the worker, both ways
    assert sorted(seen) == [("backward", False, True), ("backward", True, False),
                            ("forward", False, True), ("forward", True, False)]


def test_without_compiled_loops_or_a_second_cpu_the_directions_run_in_turn(monkeypatch, two_cpus):
    seen = _threads_of(monkeypatch, ops.LSTMSequence)
    net = mg.nn.LSTM(3, 4, bidirectional=True, impl="fused")

    def step():
        net(mg.randn(2, 6, 3))[0].sum().backward()

    with compiled_loops(False):  # the NumPy loops hold the GIL: nothing to gain
        step()
    with compiled_loops(True):
        monkeypatch.setattr(recurrent, "_usable_cpus", lambda: 1)
        step()
    assert all(in_main for _, _, in_main in seen) and len(seen) == 8


def test_with_a_multi_threaded_blas_the_directions_run_at_once_on_one_blas_thread(monkeypatch):
    """Two callers of a multi-threaded OpenBLAS would wait on each other's pool: while both directions
    run, NumPy's BLAS runs one thread per call, and its count comes back after."""
    if recurrent._compiled_loops() is None or recurrent._numpy_blas() is None:
        pytest.skip("needs numba and a BLAS threadpoolctl can set")
    from threadpoolctl import threadpool_limits

    monkeypatch.setattr(recurrent, "_usable_cpus", lambda: 2)
    counts = []
    for method in ("forward", "backward"):
        original = getattr(ops.LSTMSequence, method)

        def spy(self, *args, _original=original, **kwargs):
            counts.append((threading.current_thread() is threading.main_thread(), recurrent._blas_threads()))
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(ops.LSTMSequence, method, spy)
    monkeypatch.setattr(mg.get_backend("numpy").recurrent, "use_compiled", True)  # not compiled_loops: 1 thread
    net = mg.nn.LSTM(3, 4, bidirectional=True, impl="fused")
    with threadpool_limits(limits=2, user_api="blas"):
        net(mg.randn(2, 6, 3))[0].sum().backward()
        assert recurrent._blas_threads() == 2
    assert sorted(counts) == [(False, 1), (False, 1), (True, 1), (True, 1)]


def test_one_blas_thread_sets_one_thread_and_restores_the_count():
    if recurrent._numpy_blas() is None:
        pytest.skip("needs a BLAS threadpoolctl can set")
    from threadpoolctl import threadpool_limits

    kernels = recurrent.RecurrentPointwise(np)
    with threadpool_limits(limits=2, user_api="blas"):
        with pytest.raises(ZeroDivisionError), kernels.one_blas_thread():
            assert recurrent._blas_threads() == 1
            raise ZeroDivisionError  # the count comes back on an error too
        assert recurrent._blas_threads() == 2


def test_the_blas_threads_are_read_from_the_libraries_in_use():
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1, user_api="blas"):
        assert recurrent._blas_threads() == 1
    with threadpool_limits(2, user_api="blas"):
        assert recurrent._blas_threads() == 2


@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
@pytest.mark.parametrize("lengths", [None, [9, 3, 6, 1, 9]], ids=["full", "lengths"])
def test_two_threads_give_the_composed_numbers(two_cpus, kind, lengths):
    mg.manual_seed(5)
    net = getattr(mg.nn, kind)(3, 6, num_layers=2, bidirectional=True, dtype="float64")
    x_data = np.random.default_rng(6).standard_normal((5, 9, 3))
    results = []
    for impl in ("fused", "composed"):
        net.zero_grad()
        x = mg.tensor(x_data, requires_grad=True)
        with compiled_loops(True), mg.nn.recurrent_impl(impl):
            out, state = net(x, lengths=lengths)
        h_n = state[0] if isinstance(state, tuple) else state
        ((out * out).sum() + (h_n * 1.7).sum()).backward()
        results.append([out.numpy(), h_n.numpy(), x.grad.numpy()] + [p.grad.numpy() for p in net.parameters()])
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)


def test_an_error_in_the_worker_direction_reaches_the_caller_after_both_finish(monkeypatch, two_cpus):
    finished = []
    original = ops.LSTMSequence.forward

    def forward(self, *args, reverse, **kwargs):
        if reverse:
            raise FloatingPointError("reverse direction failed")
        result = original(self, *args, reverse=reverse, **kwargs)
        finished.append("forward direction")
        return result

    monkeypatch.setattr(ops.LSTMSequence, "forward", forward)
    with compiled_loops(True), pytest.raises(FloatingPointError, match="reverse direction failed"):
        mg.nn.LSTM(3, 4, bidirectional=True)(mg.randn(2, 5, 3))
    assert finished == ["forward direction"]


def test_graph_stats_count_the_arrays_both_directions_saved(two_cpus):
    net = mg.nn.LSTM(3, 4, bidirectional=True, dtype="float64")
    x = mg.randn(2, 5, 3, dtype="float64")
    with compiled_loops(True):
        fused = mg.graph_stats(net(x)[0].sum()).bytes
        with mg.nn.recurrent_impl("fused"):
            one_way = mg.nn.LSTM(3, 4, dtype="float64")
            single = mg.graph_stats(one_way(x)[0].sum()).bytes
    # each direction saves its gates (T, N, 4H), states and cells (T, N, H) x 3: both are counted ...
    saved_per_direction = 5 * 2 * (4 * 4 + 3 * 4) * 8
    assert fused >= 2 * saved_per_direction
    # ... and the input projections (T, N, 4H) are not held (a unidirectional layer's Linear node keeps its own)
    assert fused < 2 * single


NO_SCIPY_SCRIPT = """
import sys
sys.modules["scipy"] = None  # SciPy cannot be imported: numba's own np.dot would not compile
import minigrad as mg
from backends import recurrent
assert recurrent._compiled_loops() is not None
layer = mg.nn.LSTM(3, 4)
out, _ = layer(mg.randn(2, 5, 3))
out.sum().backward()
print(layer.weight_hh_l0.grad.shape)
"""


def test_the_compiled_loops_call_numpys_own_blas_and_need_no_scipy(tmp_path):
    """One BLAS and one thread pool for the step products and the large ones: the loops compile (in a
    fresh cache) and run where SciPy, whose BLAS numba's own ``np.dot`` calls, cannot be imported."""
    import os
    import subprocess
    import sys

    if recurrent._compiled_loops() is None:
        pytest.skip("numba not installed")
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path)}
    out = subprocess.run([sys.executable, "-c", NO_SCIPY_SCRIPT], capture_output=True, text=True, timeout=300,
                         env=env)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "(16, 4)"


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("shape", [(1, 1, 1), (3, 5, 4), (32, 128, 512), (7, 300, 2)])
def test_the_compiled_product_is_numpys(dtype, shape):
    if recurrent._compiled_loops() is None:
        pytest.skip("numba not installed")
    from backends import recurrent_jit

    M, K, N = shape
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((M, K)).astype(dtype), rng.standard_normal((K, N)).astype(dtype)
    c = np.full((M, N), np.nan, dtype)
    recurrent_jit._gemm_for_check(*recurrent_jit.numpy_gemm()[np.dtype(dtype)], a, b, c)
    np.testing.assert_allclose(c, a @ b, rtol=1e-5 if dtype == "float32" else 1e-12, atol=1e-5)


def test_without_numpys_gemm_the_numpy_loops_run(monkeypatch):
    """A NumPy whose BLAS has no cblas gemm to find (or gives a wrong test product) keeps the NumPy loops."""
    if recurrent._compiled_loops() is None:
        pytest.skip("numba not installed")
    from backends import recurrent_jit

    monkeypatch.setattr(recurrent_jit, "_agrees_with_numpy", lambda found: False)
    recurrent_jit.numpy_gemm.cache_clear()
    recurrent._compiled_loops.cache_clear()
    try:
        assert recurrent._compiled_loops() is None
        assert recurrent.RecurrentPointwise(np).compiled(np.dtype("float32")) is None
        out, _ = mg.nn.LSTM(3, 4)(mg.randn(2, 5, 3))  # and the layer still runs
        assert out.shape == (2, 5, 4)
    finally:
        monkeypatch.undo()
        recurrent_jit.numpy_gemm.cache_clear()
        recurrent._compiled_loops.cache_clear()
    assert recurrent._compiled_loops() is not None


def test_the_compiled_loops_run_at_every_size_and_thread_count():
    from threadpoolctl import threadpool_limits

    if recurrent._compiled_loops() is None:
        pytest.skip("numba not installed")
    kernels = recurrent.RecurrentPointwise(np)
    for threads in (1, 2):
        with threadpool_limits(limits=threads, user_api="blas"):
            assert kernels.compiled(np.dtype("float32")) is not None
            assert kernels.compiled(np.dtype("float64")) is not None
    assert kernels.compiled(np.dtype("float16")) is None


FORK_SCRIPT = """
import multiprocessing as mp, sys
import minigrad as mg
from backends import recurrent
recurrent._usable_cpus = lambda: 2  # the directions run at once, as on a machine with two CPUs

net = mg.nn.LSTM(3, 4, bidirectional=True)
x = mg.randn(2, 5, 3)

def child(q):
    q.put(float(net(x)[0].sum().item()))

if __name__ == "__main__":
    parent = float(net(x)[0].sum().item())  # starts the direction worker in the parent
    ctx = mp.get_context("fork")
    q = ctx.Queue()
    p = ctx.Process(target=child, args=(q,))
    p.start()
    p.join(60)
    if p.is_alive():
        p.kill()
        sys.exit("the child hung")
    print(q.get(timeout=5) == parent)
"""


def test_a_forked_child_runs_both_directions_at_once_too(tmp_path):
    """A forked child inherits the parent's direction worker but not its thread: it starts its own."""
    import subprocess
    import sys

    if recurrent._compiled_loops() is None or not hasattr(__import__("os"), "fork"):
        pytest.skip("needs numba and fork")
    script = tmp_path / "fork_child.py"
    script.write_text(FORK_SCRIPT)
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "True"
