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


def test_without_compiled_loops_a_second_cpu_or_a_one_thread_blas_the_directions_run_in_turn(monkeypatch, two_cpus):
    seen = _threads_of(monkeypatch, ops.LSTMSequence)
    net = mg.nn.LSTM(3, 4, bidirectional=True, impl="fused")

    def step():
        net(mg.randn(2, 6, 3))[0].sum().backward()

    with compiled_loops(False):  # the NumPy loops hold the GIL: nothing to gain
        step()
    with compiled_loops(True):
        monkeypatch.setattr(recurrent, "_usable_cpus", lambda: 1)
        step()
        monkeypatch.setattr(recurrent, "_usable_cpus", lambda: 2)
        monkeypatch.setattr(recurrent, "_blas_threads", lambda: 2)  # two callers would wait on its threads
        step()
    assert all(in_main for _, _, in_main in seen) and len(seen) == 12


def test_the_blas_threads_are_read_from_the_libraries_in_use():
    from threadpoolctl import threadpool_limits

    pytest.importorskip("scipy")
    recurrent._compiled_loops()  # loads SciPy's BLAS, which the compiled loops call
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


STEP_PRODUCTS_SCRIPT = """
import json, sys
from threadpoolctl import threadpool_info, threadpool_limits
import minigrad as mg
from backends import recurrent_jit

def scipy_threads():
    return [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas" and "scipy.libs" in i["filepath"]]

inside = []
original = recurrent_jit.lstm_forward
def forward(*args):
    inside.append(scipy_threads())
    return original(*args)
recurrent_jit.lstm_forward = forward
lstm, x = mg.nn.LSTM(3, 4), mg.randn(2, 5, 3)
with threadpool_limits(limits=int(sys.argv[1]), user_api="blas"):  # SciPy's BLAS is not loaded yet: missed
    lstm(x)
    lstm(x)
print(json.dumps([inside, scipy_threads()]))
"""


@pytest.mark.parametrize("numpy_threads", [1, 2])
def test_the_compiled_loops_step_products_run_one_thread_and_scipys_count_comes_back(numpy_threads):
    import json
    import subprocess
    import sys

    pytest.importorskip("scipy")
    pytest.importorskip("numba")
    out = subprocess.run([sys.executable, "-c", STEP_PRODUCTS_SCRIPT, str(numpy_threads)], capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    inside, after = json.loads(out.stdout)
    assert len(inside) == 2 and all(threads and set(threads) == {1} for threads in inside)  # loaded inside a limit
    default = json.loads(subprocess.run(
        [sys.executable, "-c", "import json; from threadpoolctl import threadpool_info; import scipy.linalg; "
         "print(json.dumps([i['num_threads'] for i in threadpool_info() if 'scipy.libs' in i['filepath']]))"],
        capture_output=True, text=True, timeout=300).stdout)
    assert after == default  # SciPy's BLAS has its own count again outside the loops


def test_the_one_thread_context_nests_across_threads():
    """The two directions of a bidirectional layer enter and leave in any order; the count comes back
    only when the last leaves."""
    pytest.importorskip("scipy")
    if recurrent._compiled_loops() is None:
        pytest.skip("numba not installed")
    kernels = recurrent.RecurrentPointwise(np)
    others = recurrent._blas_controllers()[1]
    assert others
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=2, user_api="blas"):
        outer, inner = kernels.one_thread_step_products(), kernels.one_thread_step_products()
        outer.__enter__()
        inner.__enter__()
        assert {lib.num_threads for lib in others} == {1}
        outer.__exit__(None, None, None)
        assert {lib.num_threads for lib in others} == {1}  # the other direction is still inside
        inner.__exit__(None, None, None)
        assert {lib.num_threads for lib in others} == {2}


def test_with_a_multi_threaded_blas_only_small_steps_run_compiled(monkeypatch):
    """Each compiled step's product runs on one thread of SciPy's BLAS: larger steps gain more from
    NumPy's threads, so they keep to the NumPy loops then."""
    from backends.recurrent import RecurrentPointwise

    kernels = RecurrentPointwise(np)
    limit = RecurrentPointwise.MULTITHREADED_COMPILED_MAX_ELEMENTS
    monkeypatch.setattr(recurrent, "_blas_threads", lambda: 2)
    assert kernels.compiled(np.dtype("float32"), limit) is not None
    assert kernels.compiled(np.dtype("float32"), limit + 1) is None
    monkeypatch.setattr(recurrent, "_blas_threads", lambda: 1)
    assert kernels.compiled(np.dtype("float32"), 100 * limit) is not None
