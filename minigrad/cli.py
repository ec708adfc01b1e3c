"""The ``minigrad`` command: ``info``, ``examples``, ``run NAME`` and ``bench``.

Examples are the scripts in the repository's ``examples/`` folder (installed
with the package as ``minigrad/examples``); each defines a click command
``main`` and a one-line ``DESCRIPTION``, so ``minigrad run sentiment --epochs 3``
and ``python examples/sentiment.py --epochs 3`` are the same program. ``bench`` times a training step of
recurrent layers against PyTorch; its measuring code is `minigrad.bench`.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import click

import backends
import minigrad
from backends import cupy_backend
from minigrad import bench as benchmark
from minigrad.runner import THREADS_ENV, load_blas, resolve_threads


def _examples_dir() -> Path:
    """``minigrad/examples`` where the package was installed (setup.py ships ``examples/`` there), else the
    checkout's ``examples/`` next to the package (an editable install or the source tree)."""
    here = Path(__file__).resolve().parent
    installed = here / "examples"
    return installed if installed.is_dir() else here.parent / "examples"


EXAMPLES_DIR = _examples_dir()
# scripts in examples/ that are tools, not lessons: benchmark_rnn is `minigrad bench`, benchmark (per-op
# overhead) is run as a script; `minigrad examples` names both after the list
NOT_EXAMPLES = {"benchmark", "benchmark_rnn"}


def example_names() -> list[str]:
    """Names of the runnable examples (``examples/NAME.py``)."""
    if not EXAMPLES_DIR.is_dir():
        return []
    stems = (p.stem for p in EXAMPLES_DIR.glob("*.py"))
    return sorted(s for s in stems if not s.startswith("_") and s not in NOT_EXAMPLES)


def load_example(name: str) -> ModuleType:
    """Import ``examples/NAME.py`` as a module."""
    path = EXAMPLES_DIR / f"{name}.py"
    if name not in example_names():
        known = ", ".join(example_names()) or f"none found in {EXAMPLES_DIR}"
        raise click.UsageError(f"unknown example {name!r}; examples: {known}")
    spec = importlib.util.spec_from_file_location(f"minigrad_example_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class _MainGroup(click.Group):
    """The ``minigrad`` group; under ``mpiexec``, a rank that fails (an exception, or a non-zero exit as click
    makes on a usage error) ends the whole job instead of leaving the other ranks waiting."""

    def main(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().main(*args, **kwargs)
        except BaseException as e:
            if "minigrad.distributed" in sys.modules:
                sys.modules["minigrad.distributed"].abort_on_error(e)
            raise


@click.group(cls=_MainGroup, invoke_without_command=True)
@click.version_option(minigrad.__version__, prog_name="minigrad")
@click.pass_context
def main(ctx: click.Context) -> None:
    """minigrad: learn, teach and prototype recurrent networks."""
    if ctx.invoked_subcommand is None:
        ctx.invoke(info)


@main.command()
def info() -> None:
    """Version, backends available here (and why one is not), default backend, BLAS libraries and threads."""
    click.echo(f"minigrad {minigrad.__version__}")
    click.echo("backends:")
    for name in backends.names():
        reason = backends.unavailable_reason(name)
        status = "available" if reason is None else f"unavailable: {reason}"
        click.echo(f"  {name}: {status}")
    click.echo("CuPy and CUDA:")
    for what, finding in cupy_backend.diagnose():
        click.echo(f"  {what}: {finding}")
    try:
        default = minigrad.default_backend_name()
    except (RuntimeError, ValueError) as e:
        default = f"(invalid: {e})"
    click.echo(f"default backend: {default}")
    click.echo(f"recurrent layers: fused kernels by default; compiled time loops: {_compiled_loops_status()}")
    libraries = load_blas()
    click.echo("BLAS libraries (threads now):" + ("" if libraries else " none found"))
    for lib in libraries:
        where, n = Path(lib["filepath"]), lib["num_threads"]
        click.echo(f"  {lib['internal_api']} {lib.get('version') or '(version unknown)'} "
                   f"({where.parent.name}/{where.name}): {n} thread{'s' * (n != 1)}")
    click.echo(f"BLAS threads in minigrad run: {_run_threads_status()}")
    click.echo(f"distributed (--distributed): {_distributed_status()}")


def _distributed_status() -> str:
    """The MPI library mpi4py loads, the launcher seen in the environment and, with the cupy backend, NCCL."""
    from minigrad.distributed import DistributedError, launcher_world, mpi_library
    from minigrad.distributed.transport import nccl_problem

    try:
        size, launcher = launcher_world()
        started = f"{launcher} ({size} processes)" if launcher else "none (a world of one; start with mpiexec -n N)"
    except DistributedError as e:
        started = f"(invalid: {e})"
    gpu = ""
    if backends.unavailable_reason("cupy") is None:
        gpu = f"; nccl: {nccl_problem() or 'available'}"
    return f"{mpi_library()}; launcher: {started}{gpu}"


def _run_threads_status() -> str:
    """The BLAS threads ``minigrad run`` would use without ``--threads``, and why."""
    try:
        threads, source = resolve_threads()
    except click.ClickException as e:
        return f"(invalid: {e.message})"
    if threads is None:
        return f"as {source} set them (not changed; --threads N or {THREADS_ENV}=N to change)"
    if source == "default":
        return f"{threads} (the default; --threads N or {THREADS_ENV}=N to change)"
    return f"{threads} ({source})"


def _compiled_loops_status() -> str:
    """Whether the fused kernels can use numba-compiled loops here (the ``jit`` extra)."""
    from backends.recurrent import _compiled_loops

    if os.environ.get("MINIGRAD_JIT", "1") == "0":
        return "off (MINIGRAD_JIT=0)"
    if _compiled_loops() is None:
        return 'not installed (pip install "minigrad[jit]" adds numba)'
    import numba

    return f"numba {numba.__version__}"


@main.command()
def examples() -> None:
    """List the examples with one-line descriptions."""
    names = example_names()
    if not names:
        raise click.ClickException(f"no examples found in {EXAMPLES_DIR}")
    width = max(len(n) for n in names)
    for name in names:
        click.echo(f"{name.ljust(width)}  {getattr(load_example(name), 'DESCRIPTION', '')}")
    click.echo("\nrun one with: minigrad run NAME [OPTIONS]   (options: minigrad run NAME --help)")
    click.echo("benchmarks: minigrad bench (a recurrent training step against PyTorch); "
               "python examples/benchmark.py (per-op overhead)")


class _ExampleGroup(click.Group):
    """``minigrad run NAME``: each example's own click command, loaded on demand."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return example_names()

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in example_names():
            return None
        command = load_example(name).main
        command.help = command.help or getattr(load_example(name), "DESCRIPTION", "")
        return command


@main.group(cls=_ExampleGroup)
def run() -> None:
    """Run one example: minigrad run NAME [OPTIONS]."""


def _parse_sizes(ctx: click.Context, param: click.Parameter, values: tuple[str, ...]) -> list[tuple]:
    try:
        return [benchmark.parse_size(v) for v in values]
    except ValueError as e:
        raise click.BadParameter(str(e)) from None


@main.command("bench")
@click.option("--size", "sizes", multiple=True, callback=_parse_sizes, metavar="PRESET|N,T,I,H",
              help=f"Repeatable. Presets (N,T,I,H): {benchmark.PRESETS_TEXT}; or N,T,I,H. "
                   f"[default: {' '.join(benchmark.DEFAULT_SIZES)}]")
@click.option("--model", "models", multiple=True, type=click.Choice(list(benchmark.MODELS), case_sensitive=False),
              help=f"Repeatable. [default: {' '.join(benchmark.DEFAULT_MODELS)}]")
@click.option("--backend", default="numpy", show_default=True, type=click.Choice(backends.names()),
              help="minigrad's backend; torch runs on the CPU for numpy, on CUDA (cuDNN) for cupy.")
@click.option("--threads", type=click.IntRange(min=1),
              help="torch.set_num_threads and NumPy's BLAS threads (needs threadpoolctl) for the run.")
@click.option("--path", default="fused", show_default=True, type=click.Choice([*benchmark.PATHS, "both"]),
              help="minigrad's recurrent implementation: fused kernels, the composed loop of ops, or both.")
@click.option("--dtype", default="float32", show_default=True, type=click.Choice(benchmark.DTYPES))
@click.option("--rounds", type=click.IntRange(min=1),
              help=f"Timed rounds. [default: {benchmark.DEFAULT_ROUNDS}; {benchmark.QUICK_ROUNDS} with --quick]")
@click.option("--warmup", type=click.IntRange(min=0), help=f"Untimed rounds first. [default: "
              f"{benchmark.DEFAULT_WARMUP}; {benchmark.QUICK_WARMUP} with --quick]")
@click.option("--json", "json_path", type=click.Path(dir_okay=False), help="Also write every row as JSON here.")
@click.option("--quick", is_flag=True,
              help=f"A smoke run: size {','.join(map(str, benchmark.QUICK_SIZE))}, few rounds (not a measurement).")
def bench(**options) -> None:
    """Time a training step of recurrent layers, minigrad against PyTorch in the same process.

    A step: forward, MSE on the last hidden state, backward, SGD, zero_grad.
    Medians of interleaved rounds, the ratio minigrad/torch, a matmul-FLOP
    lower bound and peak memory per step. Guide: docs/guides/benchmark.md.
    """
    try:
        benchmark.main(**options, echo=click.echo)
    except benchmark.BenchError as e:
        raise click.ClickException(str(e)) from None
