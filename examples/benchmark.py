"""Per-op overhead of minigrad's forward + backward, next to raw arrays and PyTorch.

Two cases, each timed as one full forward and backward pass per iteration:

* ``tiny``:   ``z = (x * y).sum(); z.backward()`` with ``x, y`` of shape (4,).
  The arrays are so small that the time is almost all Python overhead: this
  is the cost of minigrad's graph bookkeeping per op.
* ``matmul``: ``(a @ b).sum().backward()`` with ``a (64, 256)``, ``b (256, 256)``
  float32. Here the matrix products dominate and the overhead should shrink.

Every case runs three ways in the same process: minigrad on the chosen
backend; the same forward plus the hand-written backward on raw arrays of the
backend's array module (NumPy or CuPy), i.e. the floor minigrad can reach; and
PyTorch when it is importable (on the CPU for ``--backend numpy``, on CUDA for
``--backend cupy`` when ``torch.cuda.is_available()``, else skipped).

Timing is timeit-style: ``number`` iterations per repeat, ``repeats`` repeats,
and the median of the repeats' per-iteration times is reported. Device work is
synchronised at the end of every repeat, so GPU timings include the kernels.

    python examples/benchmark.py
    python examples/benchmark.py --threads 1          # single-threaded torch
    python examples/benchmark.py --backend cupy --repeats 9 --number 500
"""

from __future__ import annotations

import gc
import os
import platform
import statistics
import time
from collections.abc import Callable
from typing import Any

import click
import numpy as np

import minigrad as mg

TINY_SHAPE = (4,)
MATMUL_A = (64, 256)
MATMUL_B = (256, 256)
DTYPE = "float32"

CASES = {
    "tiny": f"(x * y).sum().backward(), x, y: {TINY_SHAPE} {DTYPE}",
    "matmul": f"(a @ b).sum().backward(), a: {MATMUL_A}, b: {MATMUL_B} {DTYPE}",
}

DEFAULT_REPEATS = 7
DEFAULT_NUMBER = 200
QUICK_REPEATS = 3
QUICK_NUMBER = 20

BLAS_THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


# -- timing -------------------------------------------------------------------
def time_per_iter(fn: Callable[[], Any], repeats: int, number: int, sync: Callable[[], None]) -> float:
    """Median over ``repeats`` of the seconds per call of ``fn``, called ``number`` times per repeat.

    A few untimed warm-up calls come first (first-call costs: caches, CUDA
    handles, lazy imports). Like :mod:`timeit`, the garbage collector is off
    while a repeat runs; ``sync`` waits for queued device work at the end of
    each repeat so GPU kernels are inside the measured time.
    """
    if repeats < 1 or number < 1:
        raise ValueError(f"repeats and number must be >= 1, got repeats={repeats}, number={number}")
    for _ in range(max(3, number // 10)):
        fn()
    sync()
    times = []
    gc_was_enabled = gc.isenabled()
    try:
        for _ in range(repeats):
            gc.collect()
            gc.disable()
            start = time.perf_counter()
            for _ in range(number):
                fn()
            sync()
            times.append((time.perf_counter() - start) / number)
            if gc_was_enabled:
                gc.enable()
    finally:
        if gc_was_enabled:
            gc.enable()
    return statistics.median(times)


# -- the three implementations of each case -------------------------------------
def _inputs(case: str) -> list[np.ndarray]:
    """The same host inputs for every implementation of ``case``."""
    rng = np.random.default_rng(0)
    shapes = [TINY_SHAPE, TINY_SHAPE] if case == "tiny" else [MATMUL_A, MATMUL_B]
    return [rng.standard_normal(s).astype(DTYPE) for s in shapes]


def _minigrad_step(case: str, backend: Any) -> tuple[Callable[[], Any], Callable[[], list]]:
    """``(step, grads)``: one forward+backward in minigrad, and the gradients it left."""
    p, q = (mg.tensor(v, requires_grad=True, backend=backend) for v in _inputs(case))
    forward = (lambda: (p * q).sum()) if case == "tiny" else (lambda: (p @ q).sum())

    def step() -> None:
        p.grad = None  # fresh gradients each time, like optimizer.zero_grad(set_to_none=True)
        q.grad = None
        forward().backward()

    def grads() -> list:
        return [p.grad.numpy(), q.grad.numpy()]

    return step, grads


def _raw_step(case: str, xp: Any) -> tuple[Callable[[], Any], Callable[[], list]]:
    """``(step, grads)``: the same forward and a hand-written backward on raw ``xp`` arrays."""
    p, q = (xp.asarray(v) for v in _inputs(case))
    out: list = [None, None]

    if case == "tiny":

        def step() -> None:
            z = (p * q).sum()  # noqa: F841 (the forward is part of the work timed)
            g = xp.ones_like(p)  # d z / d (x*y) = 1 everywhere
            out[0] = g * q  # d z / dx = y
            out[1] = g * p  # d z / dy = x

    else:

        def step() -> None:
            y = p @ q
            s = y.sum()  # noqa: F841
            gy = xp.ones_like(y)  # d sum / d y = 1 everywhere
            out[0] = gy @ q.T  # dL/da = gy @ b^T
            out[1] = p.T @ gy  # dL/db = a^T @ gy

    def grads() -> list:
        return [np.asarray(g.get() if hasattr(g, "get") else g) for g in out]

    return step, grads


def _torch_step(case: str, torch: Any, device: str) -> tuple[Callable[[], Any], Callable[[], list]]:
    """``(step, grads)``: one forward+backward in PyTorch on ``device``."""
    p, q = (torch.tensor(v, device=device, requires_grad=True) for v in _inputs(case))
    forward = (lambda: (p * q).sum()) if case == "tiny" else (lambda: (p @ q).sum())

    def step() -> None:
        p.grad = None
        q.grad = None
        forward().backward()

    def grads() -> list:
        return [p.grad.detach().cpu().numpy(), q.grad.detach().cpu().numpy()]

    return step, grads


def _torch_target(backend_name: str) -> tuple[Any, str | None, str | None]:
    """``(torch module or None, device or None, why skipped or None)`` for this backend."""
    try:
        import torch
    except ImportError as e:
        return None, None, f"torch is not importable ({e})"
    if backend_name == "cupy":
        if not torch.cuda.is_available():
            return None, None, "backend is cupy but torch.cuda.is_available() is False"
        return torch, "cuda", None
    return torch, "cpu", None


# -- the benchmark --------------------------------------------------------------
def run_benchmarks(backend: str, repeats: int, number: int) -> list[dict]:
    """Time every case with every implementation; one row per (case, impl).

    Each row has ``case`` (``"tiny"`` or ``"matmul"``), ``impl`` (``"minigrad"``,
    the raw array module's name ``"numpy"``/``"cupy"``, or ``"torch"``),
    ``median_us`` (median microseconds per forward+backward iteration; None when
    the implementation was skipped), ``device`` and ``note`` (why it was skipped,
    else ""). Before timing, the gradients of all implementations are checked to
    agree, so the three are known to compute the same thing.
    """
    be = mg.get_backend(backend)  # RuntimeError saying why when e.g. cupy is unavailable
    raw_name = be.xp.__name__.split(".")[0]
    torch, torch_device, torch_skip = _torch_target(be.name)
    torch_sync = torch.cuda.synchronize if torch_device == "cuda" else (lambda: None)
    device = "cuda" if be.name == "cupy" else "cpu"

    rows = []
    for case in CASES:
        impls: list[tuple[str, str, Any, Callable[[], None]]] = [
            ("minigrad", device, _minigrad_step(case, be), be.synchronize),
            (raw_name, device, _raw_step(case, be.xp), be.synchronize),
        ]
        if torch is not None:
            impls.append(("torch", torch_device, _torch_step(case, torch, torch_device), torch_sync))

        reference = None
        for impl, _, (step, grads), _ in impls:
            step()
            got = grads()
            if reference is None:
                reference = got
            for g, r in zip(got, reference):
                np.testing.assert_allclose(g, r, rtol=1e-4, atol=1e-4, err_msg=f"{case}/{impl}: gradients differ")

        for impl, dev, (step, _), sync in impls:
            seconds = time_per_iter(step, repeats, number, sync)
            rows.append({"case": case, "impl": impl, "median_us": seconds * 1e6, "device": dev, "note": ""})
        if torch is None:
            rows.append({"case": case, "impl": "torch", "median_us": None, "device": None, "note": torch_skip})
    return rows


# -- reporting ------------------------------------------------------------------
def _blas_name() -> str:
    try:
        info = np.show_config(mode="dicts")
        blas = info["Build Dependencies"]["blas"]
        return f"{blas.get('name', '?')} {blas.get('version', '')}".strip()
    except (AttributeError, KeyError, TypeError, ValueError):  # older NumPy, unusual build: not worth failing
        return "unknown"


def _load() -> str:
    try:
        return ", load average (1/5/15 min): " + " ".join(f"{v:.2f}" for v in os.getloadavg())
    except (AttributeError, OSError):  # not available on Windows
        return ""


def machine_info(backend: str, torch_threads: str) -> list[str]:
    """Lines describing the machine and library versions."""
    lines = [
        f"python   {platform.python_version()} ({platform.python_implementation()}) on {platform.platform()}",
        f"cpu      {platform.processor() or platform.machine()}, os.cpu_count()={os.cpu_count()}{_load()}",
        f"minigrad {mg.__version__}, backend {backend!r}",
        f"numpy    {np.__version__} (BLAS: {_blas_name()})",
    ]
    blas_env = ", ".join(f"{v}={os.environ.get(v, '(unset)')}" for v in BLAS_THREAD_VARS)
    lines.append(f"blas env {blas_env}")
    try:
        import torch

        cuda = f", cuda {torch.version.cuda}, cuda available: {torch.cuda.is_available()}"
        lines.append(f"torch    {torch.__version__}{cuda}, torch threads: {torch_threads}")
        if backend == "cupy" and torch.cuda.is_available():
            lines.append(f"gpu      {torch.cuda.get_device_name()}")
    except ImportError:
        lines.append("torch    not importable")
    if backend == "cupy":
        be = mg.get_backend("cupy")
        lines.append(f"cupy     {be.xp.__version__}")
    return lines


def _fmt_us(us: float | None) -> str:
    return "skipped" if us is None else f"{us:10.1f} us"


def _ratio_line(label: str, num: float | None, den: float | None, why: str = "") -> str:
    if num is None or den is None or not den:
        return f"  ratio {label}: n/a" + (f" ({why})" if why else "")
    return f"  ratio {label}: {num / den:.2f}x"


def format_report(rows: list[dict]) -> list[str]:
    """The per-case tables and ratio lines for ``rows`` from :func:`run_benchmarks`."""
    lines = []
    for case, description in CASES.items():
        case_rows = [r for r in rows if r["case"] == case]
        if not case_rows:
            continue
        lines.append("")
        lines.append(f"case {case}: {description}")
        for r in case_rows:
            where = f" [{r['device']}]" if r["device"] else ""
            note = f"  ({r['note']})" if r["note"] else ""
            lines.append(f"  {r['impl'] + where:<16} {_fmt_us(r['median_us'])}{note}")
        by_impl = {r["impl"]: r for r in case_rows}
        mine = by_impl["minigrad"]["median_us"]
        raw = next(r for r in case_rows if r["impl"] not in ("minigrad", "torch"))
        lines.append(_ratio_line(f"minigrad/raw ({raw['impl']})", mine, raw["median_us"]))
        torch_row = by_impl.get("torch")
        lines.append(
            _ratio_line("minigrad/torch", mine, torch_row and torch_row["median_us"], torch_row and torch_row["note"])
        )
    return lines


@click.command()
@click.option(
    "--backend",
    type=click.Choice(["numpy", "cupy"]),
    default="numpy",
    show_default=True,
    help="minigrad backend; also picks the raw baseline (numpy or cupy) and torch's device (cpu or cuda).",
)
@click.option(
    "--repeats",
    type=click.IntRange(min=1),
    default=None,
    help=f"Timed repeats per measurement [default: {DEFAULT_REPEATS}; {QUICK_REPEATS} with --quick].",
)
@click.option(
    "--number",
    type=click.IntRange(min=1),
    default=None,
    help=f"Iterations per repeat [default: {DEFAULT_NUMBER}; {QUICK_NUMBER} with --quick].",
)
@click.option("--quick", is_flag=True, help="Few repeats and iterations: a smoke run, not a measurement.")
@click.option(
    "--threads",
    type=click.IntRange(min=1),
    default=None,
    help="torch.set_num_threads(N) for the run (default: leave torch's setting as it is).",
)
def main(backend: str, repeats: int | None, number: int | None, quick: bool, threads: int | None) -> None:
    """Per-op overhead of minigrad forward+backward next to raw arrays and PyTorch."""
    repeats = repeats or (QUICK_REPEATS if quick else DEFAULT_REPEATS)
    number = number or (QUICK_NUMBER if quick else DEFAULT_NUMBER)

    try:
        import torch
    except ImportError:
        torch = None
    previous_threads = torch.get_num_threads() if torch is not None else None
    if torch is None:
        torch_threads = "n/a"
    elif threads is not None:
        torch.set_num_threads(threads)
        torch_threads = f"{torch.get_num_threads()} (set by --threads {threads})"
    else:
        torch_threads = f"{torch.get_num_threads()} (default)"

    try:
        try:
            mg.get_backend(backend)
        except RuntimeError as e:
            raise click.ClickException(str(e)) from None
        click.echo("minigrad benchmark: per-iteration forward+backward overhead")
        click.echo(
            f"times are MEDIANS over {repeats} repeats of {number} iterations each (timeit-style), "
            "in microseconds per iteration; shared machines are noisy, so compare numbers from one run only."
        )
        if threads is not None:
            click.echo(
                f"note: --threads sets torch's intra-op threads only; NumPy's BLAS threads follow "
                f"{'/'.join(BLAS_THREAD_VARS)} set before launch."
            )
        for line in machine_info(backend, torch_threads):
            click.echo(line)
        rows = run_benchmarks(backend, repeats, number)
        for line in format_report(rows):
            click.echo(line)
    finally:
        if torch is not None and previous_threads is not None and threads is not None:
            torch.set_num_threads(previous_threads)  # leave the process as found (matters in tests)


if __name__ == "__main__":
    main()
