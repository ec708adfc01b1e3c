"""``minigrad bench``: one training step of a recurrent layer, minigrad against PyTorch in the same process.

A training step is what a user's loop does for one batch:

    output, h_n = layer(x)                   # forward over all T steps
    loss = mse_loss(last_hidden(h_n), y)     # many-to-one: the last layer's final state (both directions)
    loss.backward()                          # backpropagation through time
    optimizer.step()                         # SGD, lr 0.01
    optimizer.zero_grad()

Both libraries get the same weights (PyTorch's ``state_dict`` loads into
minigrad unchanged), the same input and the same target; their first losses
must agree, or the timings would compare different computations. After
warm-up rounds the steps are timed in interleaved rounds (minigrad, torch,
minigrad, ...) so that machine noise hits both, and medians are reported.

Each row also carries a lower bound from arithmetic: the matmul FLOPs of the
step (forward ``2 N T (I + H) G`` per layer and direction, ``G`` = gates x H;
backward twice that) and the time they take at the matmul peak measured once
per run, and the peak memory one step allocates in each library. The guide
``docs/guides/benchmark.md`` explains how to read the columns.
"""

from __future__ import annotations

import contextlib
import os
import statistics
import time
import tracemalloc
from collections.abc import Callable, Iterator
from typing import Any

import minigrad as mg
from minigrad import malloc
from minigrad.nn.functional import mse_loss
from minigrad.runner import output_problem, write_json_atomic

PRESETS = {  # name: (N batch, T steps, I input features, H hidden units)
    "small": (32, 35, 64, 128),
    "medium": (64, 100, 128, 256),
    "long": (8, 1000, 16, 32),
    "large": (128, 100, 512, 1024),
}
PRESETS_TEXT = ", ".join(f"{name}={','.join(map(str, size))}" for name, size in PRESETS.items())
DEFAULT_SIZES = ("small", "medium")
QUICK_SIZE = (4, 6, 3, 5)
MODELS = {  # name: (layer class in minigrad.nn and torch.nn, bidirectional)
    "rnn": ("RNN", False),
    "lstm": ("LSTM", False),
    "gru": ("GRU", False),
    "bilstm": ("LSTM", True),
    "bigru": ("GRU", True),
}
DEFAULT_MODELS = ("rnn", "lstm", "gru", "bilstm")
GATES = {"RNN": 1, "LSTM": 4, "GRU": 3}
PATHS = ("fused", "composed")
DTYPES = ("float32", "float64")
LR = 0.01
DEFAULT_ROUNDS, DEFAULT_WARMUP = 10, 2
QUICK_ROUNDS, QUICK_WARMUP = 2, 1
ROW_KEYS = (
    "model", "N", "T", "I", "H", "path", "backend", "dtype",
    "minigrad_ms", "torch_ms", "minigrad_over_torch",
    "gflop", "bound_ms", "minigrad_over_bound", "torch_over_bound",
    "minigrad_peak_mib", "torch_peak_mib",
)  # the keys of every JSON row (documented in docs/guides/benchmark.md)


class BenchError(Exception):
    """A problem the user can fix (bad option, missing backend): the command prints it on one line."""


# -- options -------------------------------------------------------------------
def parse_size(text: str) -> tuple[int, int, int, int]:
    """``(N, T, I, H)`` from a preset name (``small``, ``medium``, ``long``, ``large``) or ``"N,T,I,H"``."""
    name = text.strip().lower()
    if name in PRESETS:
        return PRESETS[name]
    parts = [p.strip() for p in name.split(",")]
    if len(parts) != 4 or not all(p.isdigit() and int(p) > 0 for p in parts):
        raise ValueError(
            f"{text!r} is neither a preset ({', '.join(PRESETS)}) nor four positive integers N,T,I,H "
            "(e.g. 32,35,64,128)"
        )
    N, T, I, H = (int(p) for p in parts)
    return N, T, I, H


def has_fused_kernels() -> bool:
    """True when this minigrad's recurrent layers take ``impl="fused"|"composed"``."""
    return hasattr(mg.nn, "recurrent_impl")


def paths_for(path: str) -> list[str]:
    """The paths one ``--path`` value asks for (``both`` is fused then composed)."""
    paths = list(PATHS) if path == "both" else [path]
    if "fused" in paths and not has_fused_kernels():
        raise BenchError("this minigrad has no fused kernels (use --path composed)")
    return paths


# -- arithmetic: the FLOP lower bound ---------------------------------------------
def step_flops(kind: str, size: tuple[int, int, int, int], bidirectional: bool, num_layers: int = 1) -> int:
    """Matmul FLOPs of one training step: forward ``2 N T (I_l + H) G`` per layer and direction, backward twice that.

    ``G = gates * H``; ``I_l`` is ``I`` for layer 0 and ``D * H`` above it.
    Pointwise gate arithmetic, the loss and the SGD update are left out, so
    this is a lower bound on the work.
    """
    N, T, I, H = size
    D = 2 if bidirectional else 1
    G = GATES[kind] * H
    forward = sum(2 * N * T * ((I if layer == 0 else D * H) + H) * G * D for layer in range(num_layers))
    return 3 * forward


def matmul_peak_gflops(backend: Any, dtype: str, repeats: int = 10) -> tuple[float, str]:
    """``(GFLOP/s, what was multiplied)``: the speed of the fastest of ``repeats`` square matmuls on ``backend``.

    A peak, so the fastest repeat rather than the median: on a busy machine
    multi-threaded BLAS calls are often held up, and a slowed-down peak would
    make the bound no bound at all. 512 x 512 x 512 on the host; 2048 on a
    device, where a small matmul would measure the kernel launch rather than
    the arithmetic.
    """
    n = 512 if backend.name == "numpy" else 2048
    rng = mg.get_backend("numpy").xp.random.default_rng(0)
    a, b = (backend.asarray(rng.standard_normal((n, n)), dtype=dtype) for _ in range(2))
    a @ b  # warm-up: BLAS threads, cuBLAS handles
    backend.synchronize()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        a @ b
        backend.synchronize()
        times.append(time.perf_counter() - start)
    return 2 * n**3 / min(times) / 1e9, f"{n}x{n}x{n} {dtype}"


# -- the two training steps ----------------------------------------------------------
def minigrad_step(model: str, size: tuple, path: str, backend: Any, dtype: str, state: dict | None,
                  x: Any, y: Any) -> Callable[[], Any]:
    """One training step of a minigrad layer; returns the loss (a Tensor)."""
    kind, bidirectional = MODELS[model]
    _, _, I, H = size
    impl = {"impl": path} if has_fused_kernels() else {}
    layer = getattr(mg.nn, kind)(I, H, bidirectional=bidirectional, dtype=dtype, backend=backend, **impl)
    if state is not None:
        layer.load_state_dict(state)
    optimizer = mg.optim.SGD(layer.parameters(), lr=LR)
    x, y = mg.tensor(x, backend=backend), mg.tensor(y, backend=backend)

    def step() -> Any:
        _, h_n = layer(x)
        h_n = h_n[0] if kind == "LSTM" else h_n  # (h_n, c_n) for LSTM
        last = mg.concat([h_n[-2], h_n[-1]], axis=-1) if bidirectional else h_n[-1]
        loss = mse_loss(last, y)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        return loss

    return step


def torch_step(model: str, size: tuple, torch: Any, device: str, dtype: str, x: Any, y: Any) -> tuple[Callable, dict]:
    """``(step, state_dict as host arrays)``: the same training step in PyTorch; the step returns the loss."""
    kind, bidirectional = MODELS[model]
    _, _, I, H = size
    dt = getattr(torch, dtype)
    layer = getattr(torch.nn, kind)(I, H, batch_first=True, bidirectional=bidirectional, device=device, dtype=dt)
    optimizer = torch.optim.SGD(layer.parameters(), lr=LR)
    x, y = torch.tensor(x, device=device), torch.tensor(y, device=device)

    def step() -> Any:
        _, h_n = layer(x)
        h_n = h_n[0] if kind == "LSTM" else h_n
        last = torch.cat([h_n[-2], h_n[-1]], dim=-1) if bidirectional else h_n[-1]
        loss = torch.nn.functional.mse_loss(last, y)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        return loss

    return step, {k: v.detach().cpu().numpy() for k, v in layer.state_dict().items()}


# -- measuring -------------------------------------------------------------------
def timed_ms(step: Callable[[], Any], sync: Callable[[], None]) -> float:
    """Milliseconds of one call of ``step``, device work included."""
    start = time.perf_counter()
    step()
    sync()
    return (time.perf_counter() - start) * 1e3


def minigrad_peak_bytes(step: Callable[[], Any], backend: Any) -> int | None:
    """Peak bytes allocated during one step: tracemalloc on NumPy, a CuPy memory hook on CuPy, else None."""
    if backend.name == "numpy":  # NumPy reports its buffers to tracemalloc
        started = not tracemalloc.is_tracing()
        if started:
            tracemalloc.start()
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        try:
            step()
            return tracemalloc.get_traced_memory()[1] - base
        finally:
            if started:
                tracemalloc.stop()
    if backend.name == "cupy":
        hook = _cupy_peak_hook(backend.xp)
        backend.synchronize()
        with hook:
            step()
            backend.synchronize()
        return hook.peak
    return None


def _cupy_peak_hook(cupy: Any) -> Any:
    """A CuPy memory hook that follows the bytes taken from the memory pool and keeps their peak."""

    class PeakHook(cupy.cuda.MemoryHook):
        name = "minigrad_bench_peak"

        def __init__(self) -> None:
            self.now = self.peak = 0

        def malloc_postprocess(self, **kw: Any) -> None:
            self.now += kw["mem_size"]
            self.peak = max(self.peak, self.now)

        def free_postprocess(self, **kw: Any) -> None:
            self.now -= kw["mem_size"]

    return PeakHook()


def torch_peak_bytes(step: Callable[[], Any], torch: Any, device: str) -> int | None:
    """Peak bytes one step allocates: CUDA's allocator statistics, or on the CPU the profiler's memory events.

    tracemalloc does not see torch's allocator. None when the profiler's
    event tree (not a public API) is missing in this torch.
    """
    if device == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
        step()
        torch.cuda.synchronize()
        return torch.cuda.max_memory_allocated() - base
    profiler = torch.profiler
    try:
        with _quiet_stderr(), profiler.profile(activities=[profiler.ProfilerActivity.CPU], profile_memory=True) as p:
            step()
        tree = p.profiler.kineto_results.experimental_event_tree()
    except (AttributeError, RuntimeError):
        return None
    events, allocations = list(tree), []
    while events:  # allocations hang below the ops that made them
        e = events.pop()
        events.extend(e.children)
        if e.tag.name == "Allocation":
            allocations.append((e.start_time_ns, e.extra_fields.alloc_size))  # negative for a free
    now = peak = 0
    for _, size in sorted(allocations):
        now += size
        peak = max(peak, now)
    return peak


@contextlib.contextmanager
def _quiet_stderr() -> Iterator[None]:
    """Silence what C++ code writes to file descriptor 2 (some torch builds announce every profiler start)."""
    try:
        saved = os.dup(2)
    except OSError:
        yield
        return
    with open(os.devnull, "w") as null:
        os.dup2(null.fileno(), 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def measure(model: str, size: tuple, path: str, backend: Any, dtype: str, rounds: int, warmup: int,
            torch: Any, device: str | None, peak_gflops: float) -> dict:
    """One row: median step times, the FLOP bound and peak memory of ``model`` at ``size`` on ``path``."""
    N, T, I, H = size
    kind, bidirectional = MODELS[model]
    rng = mg.get_backend("numpy").xp.random.default_rng(0)
    x = rng.standard_normal((N, T, I)).astype(dtype)
    y = rng.standard_normal((N, (2 if bidirectional else 1) * H)).astype(dtype)
    theirs, state = torch_step(model, size, torch, device, dtype, x, y) if torch else (None, None)
    mine = minigrad_step(model, size, path, backend, dtype, state, x, y)
    torch_sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)

    first = mine().item()
    if theirs is not None:
        reference = theirs().item()
        if abs(first - reference) > 1e-3 * abs(reference) + 1e-5:
            raise BenchError(f"{model} {size} {path}: minigrad and torch disagree on the first loss "
                             f"({first:.6g} vs {reference:.6g}); the timings would compare different computations")
    for _ in range(max(warmup - 1, 0)):  # the loss check above was the first warm-up round
        mine()
        if theirs is not None:
            theirs()
    backend.synchronize()
    torch_sync()
    mine_ms, theirs_ms = [], []
    for _ in range(rounds):  # interleaved, so a noisy moment of the machine hits both
        mine_ms.append(timed_ms(mine, backend.synchronize))
        if theirs is not None:
            theirs_ms.append(timed_ms(theirs, torch_sync))

    flops = step_flops(kind, size, bidirectional)
    bound_ms = flops / (peak_gflops * 1e9) * 1e3
    mg_ms = statistics.median(mine_ms)
    t_ms = statistics.median(theirs_ms) if theirs_ms else None
    mg_bytes = minigrad_peak_bytes(mine, backend)
    t_bytes = torch_peak_bytes(theirs, torch, device) if theirs is not None else None
    row = {
        "model": model, "N": N, "T": T, "I": I, "H": H, "path": path, "backend": backend.name, "dtype": dtype,
        "minigrad_ms": mg_ms, "torch_ms": t_ms, "minigrad_over_torch": mg_ms / t_ms if t_ms else None,
        "gflop": flops / 1e9, "bound_ms": bound_ms,
        "minigrad_over_bound": mg_ms / bound_ms, "torch_over_bound": t_ms / bound_ms if t_ms else None,
        "minigrad_peak_mib": None if mg_bytes is None else mg_bytes / 2**20,
        "torch_peak_mib": None if t_bytes is None else t_bytes / 2**20,
    }
    return row


# -- the environment: torch, threads ------------------------------------------------------
def torch_for(backend: Any) -> tuple[Any, str | None, str]:
    """``(torch or None, device, note)``: torch on the CPU for NumPy, on CUDA (cuDNN) for CuPy."""
    try:
        import torch
    except ImportError:
        return None, None, "torch not installed: minigrad only"
    if backend.name == "cupy":
        if not torch.cuda.is_available():
            return None, None, f"torch {torch.__version__} has no CUDA here: minigrad only"
        return torch, "cuda", f"torch {torch.__version__} on cuda ({torch.cuda.get_device_name()})"
    return torch, "cpu", f"torch {torch.__version__} on cpu"


@contextlib.contextmanager
def thread_limits(threads: int | None, torch: Any) -> Iterator[dict]:
    """Set torch's intra-op threads and NumPy's BLAS threads to ``threads`` inside the block (both restored).

    NumPy's BLAS threads change in-process through ``threadpoolctl`` when it
    is installed; without it they are whatever ``OPENBLAS_NUM_THREADS`` (or
    ``OMP_NUM_THREADS``) said when the process started. Yields what is in force.
    """
    try:
        import threadpoolctl
    except ImportError:
        threadpoolctl = None
    with contextlib.ExitStack() as stack:
        if threads is not None and torch is not None:
            stack.callback(torch.set_num_threads, torch.get_num_threads())
            torch.set_num_threads(threads)
        if threads is not None and threadpoolctl is not None:
            stack.enter_context(threadpoolctl.threadpool_limits(limits=threads, user_api="blas"))
        if threadpoolctl is not None:
            blas = [i for i in threadpoolctl.threadpool_info() if i["user_api"] == "blas"]
            blas_threads = max((i["num_threads"] for i in blas), default=None)
            libraries = ", ".join(sorted({i["internal_api"] for i in blas}))
            blas_note = f"{blas_threads} ({libraries}, via threadpoolctl)" if blas else "unknown (no BLAS found)"
        else:
            env = os.environ.get("OPENBLAS_NUM_THREADS") or os.environ.get("OMP_NUM_THREADS")
            blas_threads = int(env) if env and env.isdigit() else None
            blas_note = (f"as OPENBLAS_NUM_THREADS says ({env or 'unset: every core'}); "
                         "install threadpoolctl to set them with --threads")
        yield {"torch_threads": torch.get_num_threads() if torch is not None else None,
               "blas_threads": blas_threads, "blas_threads_note": blas_note}


# -- the command -------------------------------------------------------------------
def run(sizes: list[tuple], models: list[str], path: str = "fused", backend: str = "numpy", dtype: str = "float32",
        rounds: int = DEFAULT_ROUNDS, warmup: int = DEFAULT_WARMUP, threads: int | None = None,
        on_header: Callable[[dict], None] = lambda header: None,
        on_row: Callable[[dict], None] = lambda row: None) -> tuple[dict, list[dict]]:
    """Measure every (size, model, path); returns ``(header, rows)``.

    ``on_header`` and ``on_row`` are called as soon as each is ready (the
    command prints the table as it goes). Raises `BenchError` for a
    backend that cannot run here and for ``path`` needing fused kernels this
    minigrad lacks.
    """
    unknown = [m for m in models if m not in MODELS]
    if unknown:
        raise BenchError(f"unknown model(s) {', '.join(unknown)}; models: {', '.join(MODELS)}")
    paths = paths_for(path)
    try:
        be = mg.get_backend(backend)
    except (RuntimeError, ValueError) as e:
        raise BenchError(str(e)) from None
    torch, device, torch_note = torch_for(be)
    with thread_limits(threads, torch) as threads_in_force:
        peak, peak_what = matmul_peak_gflops(be, dtype)
        header = {
            "minigrad": mg.__version__, "numpy": mg.get_backend("numpy").xp.__version__,
            "torch": torch.__version__ if torch else None, "torch_device": device, "torch_note": torch_note,
            "backend": be.name, "dtype": dtype, **threads_in_force, "peak_gflops": peak, "peak_matmul": peak_what,
            "rounds": rounds, "warmup": warmup, "lr": LR, "malloc_tuned": malloc.is_tuned(),
        }
        on_header(header)
        rows = []
        for size in sizes:
            for model in models:
                for p in paths:
                    rows.append(measure(model, size, p, be, dtype, rounds, warmup, torch, device, peak))
                    on_row(rows[-1])
    return header, rows


def main(sizes: tuple = (), models: tuple = (), path: str = "fused", backend: str = "numpy",
         dtype: str = "float32", rounds: int | None = None, warmup: int | None = None, threads: int | None = None,
         json_path: str | None = None, quick: bool = False, echo: Callable[[str], None] = print) -> list[dict]:
    """What ``minigrad bench`` does: resolve defaults, print the table as rows arrive, write JSON."""
    sizes = [parse_size(s) if isinstance(s, str) else tuple(s) for s in sizes]
    sizes = sizes or ([QUICK_SIZE] if quick else [PRESETS[n] for n in DEFAULT_SIZES])
    models = list(models) or list(DEFAULT_MODELS)
    rounds = rounds or (QUICK_ROUNDS if quick else DEFAULT_ROUNDS)
    warmup = warmup if warmup is not None else (QUICK_WARMUP if quick else DEFAULT_WARMUP)
    problem = output_problem(str(json_path)) if json_path is not None else None
    if problem:  # before any timing: the folder exists and takes a file (tried), the path is no folder
        raise BenchError(f"--json {json_path}: {problem}")

    def print_header(header: dict) -> None:
        for line in format_header(header):
            echo(line)

    header, rows = run(sizes, models, path, backend, dtype, rounds, warmup, threads,
                       on_header=print_header, on_row=lambda row: echo(format_row(row)))
    if json_path is not None:
        try:
            write_json_atomic(json_path, {"header": header, "rows": rows}, who="--json")
        except OSError as e:  # e.g. the folder removed during the run, a full disk
            why = output_problem(str(json_path)) or e.strerror or str(e)
            raise BenchError(f"--json {json_path}: cannot write: {why}") from None
        echo(f"wrote {len(rows)} rows to {json_path}")
    return rows


# -- the table ---------------------------------------------------------------------
COLUMNS = [  # (heading, width, row key, format)
    ("model", 7, "model", "{}"),
    ("N,T,I,H", 17, None, "{}"),
    ("path", 9, "path", "{}"),
    ("minigrad ms", 12, "minigrad_ms", "{:.2f}"),
    ("torch ms", 10, "torch_ms", "{:.2f}"),
    ("mg/torch", 9, "minigrad_over_torch", "{:.2f}x"),
    ("GFLOP", 8, "gflop", "{:.3g}"),
    ("bound ms", 9, "bound_ms", "{:.3g}"),
    ("mg/bound", 9, "minigrad_over_bound", "{:.1f}x"),
    ("torch/bound", 12, "torch_over_bound", "{:.1f}x"),
    ("mg MiB", 8, "minigrad_peak_mib", "{:.2f}"),
    ("torch MiB", 10, "torch_peak_mib", "{:.2f}"),
]


def format_header(header: dict) -> list[str]:
    """The lines above the table: what a step is, versions, threads, the matmul peak, the column headings."""
    torch_threads = header["torch_threads"]
    return [
        f"minigrad bench: one training step (forward, MSE on the last hidden state, backward, SGD lr {header['lr']}, "
        f"zero_grad); medians of {header['rounds']} interleaved rounds after {header['warmup']} warm-up round(s)",
        f"minigrad {header['minigrad']} on {header['backend']} ({header['dtype']}), numpy {header['numpy']}, "
        f"BLAS threads {header['blas_threads_note']}; glibc heap thresholds "
        + ("raised (minigrad.malloc)" if header.get("malloc_tuned") else "as glibc sets them"),
        header["torch_note"] + (f", {torch_threads} thread(s)" if torch_threads and header["torch_device"] == "cpu"
                                else ""),
        f"matmul peak {header['peak_gflops']:.1f} GFLOP/s ({header['peak_matmul']}); bound = step matmul FLOPs "
        "at that peak; MiB = peak allocated in one step",
        "  ".join(heading.rjust(width) if i > 2 else heading.ljust(width) for i, (heading, width, _, _) in
                  enumerate(COLUMNS)).rstrip(),
    ]


def format_row(row: dict) -> str:
    """One line of the table; ``-`` where a value was not measured (no torch, no memory statistics)."""
    cells = []
    for i, (_, width, key, fmt) in enumerate(COLUMNS):
        value = f"{row['N']},{row['T']},{row['I']},{row['H']}" if key is None else row[key]
        text = "-" if value is None else fmt.format(value)
        cells.append(text.rjust(width) if i > 2 else text.ljust(width))
    return "  ".join(cells).rstrip()
