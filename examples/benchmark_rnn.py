"""Benchmark: recurrent layers, forward + backward through time, minigrad against PyTorch.

For each layer (RNN, LSTM, GRU) and size, both libraries get the same weights
and the same input, run ``output.sum().backward()`` and the median time per
iteration over several repeats is printed with the ratio minigrad / torch,
measured in the same run. Shared machines are noisy: compare ratios from one
run, not absolute times across runs.

    python examples/benchmark_rnn.py                    # default sizes
    python examples/benchmark_rnn.py --threads 1        # torch on one thread
    OPENBLAS_NUM_THREADS=1 python examples/benchmark_rnn.py --threads 1   # both on one thread
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable

import click
import numpy as np

import minigrad as mg

# (N batch, T steps, I input features, H hidden units): sizes learners train at
SIZES = [(32, 20, 16, 32), (64, 30, 32, 64), (64, 50, 64, 128)]
KINDS = ["RNN", "LSTM", "GRU"]


def median_ms(step: Callable[[], None], repeats: int, number: int, sync: Callable[[], None]) -> float:
    """Median over ``repeats`` of the mean time of ``number`` calls, in milliseconds."""
    step()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(number):
            step()
        sync()
        times.append((time.perf_counter() - start) / number * 1e3)
    return statistics.median(times)


def layer_pair(kind: str, size: tuple, backend: str, torch):
    """A minigrad layer and a torch layer with the same weights, and one input for both."""
    N, T, I, H = size
    mine = getattr(mg.nn, kind)(I, H, backend=backend)
    x = np.random.default_rng(0).standard_normal((N, T, I)).astype(np.float32)
    xm = mg.tensor(x, requires_grad=True, backend=backend)
    theirs = xt = None
    if torch is not None:
        theirs = getattr(torch.nn, kind)(I, H, batch_first=True)
        mine.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
        xt = torch.tensor(x, requires_grad=True)
    return mine, xm, theirs, xt


def run_benchmarks(backend: str = "numpy", repeats: int = 5, number: int = 5, sizes=None, kinds=None) -> list[dict]:
    """Rows ``{kind, size, minigrad_ms, torch_ms}`` (``torch_ms`` None without torch)."""
    try:
        import torch
    except ImportError:
        torch = None
    sync = mg.get_backend(backend).synchronize
    rows = []
    for size in sizes or SIZES:
        for kind in kinds or KINDS:
            mine, xm, theirs, xt = layer_pair(kind, size, backend, torch)

            def mg_step(mine=mine, xm=xm):
                xm.grad = None
                mine.zero_grad()
                mine(xm)[0].sum().backward()

            row = {"kind": kind, "size": size, "minigrad_ms": median_ms(mg_step, repeats, number, sync)}
            row["torch_ms"] = None
            if torch is not None:

                def torch_step(theirs=theirs, xt=xt):
                    xt.grad = None
                    theirs.zero_grad()
                    theirs(xt)[0].sum().backward()

                row["torch_ms"] = median_ms(torch_step, repeats, number, lambda: None)
            rows.append(row)
    return rows


@click.command()
@click.option("--backend", default="numpy", show_default=True)
@click.option("--repeats", default=5, show_default=True, type=click.IntRange(min=1))
@click.option("--number", default=5, show_default=True, type=click.IntRange(min=1))
@click.option("--threads", type=click.IntRange(min=1), help="torch.set_num_threads for the run.")
@click.option("--quick", is_flag=True, help="One small size, few repeats (a smoke test).")
def main(backend: str, repeats: int, number: int, threads: int | None, quick: bool) -> None:
    """Recurrent layers, forward + backward: minigrad against PyTorch in the same run."""
    try:
        import torch
    except ImportError:
        torch = None
    if torch is not None and threads:
        torch.set_num_threads(threads)
    sizes, kinds = (SIZES[:1], KINDS) if quick else (SIZES, KINDS)
    if quick:
        repeats, number = 2, 2
    click.echo("recurrent layers: output.sum().backward(), median ms per iteration (shared machines are noisy)")
    click.echo(f"numpy {np.__version__}, OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS', '(unset)')}, "
               + (f"torch {torch.__version__} threads {torch.get_num_threads()}" if torch else "torch not installed"))
    click.echo(f"{'layer':6} {'N, T, I, H':>18} {'minigrad':>10} {'torch':>10} {'minigrad/torch':>15}")
    for row in run_benchmarks(backend, repeats, number, sizes, kinds):
        t = row["torch_ms"]
        ratio = f"{row['minigrad_ms'] / t:14.2f}x" if t else f"{'-':>15}"
        torch_col = f"{t:10.2f}" if t else f"{'-':>10}"
        click.echo(f"{row['kind']:6} {str(row['size']):>18} {row['minigrad_ms']:10.2f} {torch_col} {ratio}")


if __name__ == "__main__":
    main()
