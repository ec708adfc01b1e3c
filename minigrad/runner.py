"""What every example shares: common options, progress bars, metrics and checkpoints.

An example is a click command decorated with `example_options`; its
body opens a `Run`:

    @click.command()
    @example_options(epochs=5)
    @click.option("--hidden", default=64, type=click.IntRange(min=1))
    def main(hidden, **opts):
        with Run("demo", options={"--hidden": hidden}, **opts) as run:   # --resume must match --hidden
            model, opt = ...
            run.track(model=model, optimizer=opt)
            for epoch in run.epochs():            # resumes, reseeds, checkpoints
                for step, batch in enumerate(run.progress(batches, label=f"epoch {epoch + 1}"), start=1):
                    loss = ...
                    run.check_loss(loss.item(), epoch, step)   # stops on nan/inf, saving nothing more
                    ...
                run.log(epoch, loss=..., valid_accuracy=...)
            run.finish("demo: ...", valid_accuracy=...)

Each epoch starts from a seed derived from ``--seed`` and the epoch number,
so a run resumed from the checkpoint of epoch k continues exactly as the
uninterrupted run would have. Checkpoints are written atomically after every
epoch; Ctrl-C saves the last completed epoch before exiting.

Mistakes are one-line errors before any work: output paths (``--metrics``,
``--plot``, ``--save``; `OutputPath`) are checked when the command line
is read, ``--resume`` when the run is entered (`read_checkpoint`, then
the ``options`` it was made with); `FloatRange` refuses nan and inf.

Progress: on a terminal, `Run.progress` draws a progress bar on stderr;
when stderr is a file or a pipe (a log), it prints a line every
``$MINIGRAD_PROGRESS_SECONDS`` seconds (default 10) and one at the end of each
loop. ``--quiet`` prints neither.

BLAS threads: a run limits NumPy's (and SciPy's) BLAS to ``--threads N``, else
``$MINIGRAD_NUM_THREADS``, else one thread, for the duration of the run (see
`resolve_threads`); if ``OPENBLAS_NUM_THREADS``, ``OMP_NUM_THREADS`` or
``MKL_NUM_THREADS`` is set instead, the BLAS keeps the threads that variable gave it.

Memory: ``import minigrad`` raises glibc's mmap and trim thresholds (`minigrad.malloc`), so the
large arrays every batch allocates reuse their pages instead of being faulted in again;
``MINIGRAD_MALLOPT=0`` leaves glibc's defaults.

Data parallelism: ``mpiexec -n 4 minigrad run NAME --distributed`` runs one process per rank
(`minigrad.distributed`). ``--batch-size`` stays the global batch; rank 0 alone prints, shows
progress and writes ``--metrics``, ``--plot`` and ``--save``; ``--resume`` is read by rank 0 and
broadcast. An example's loop calls `Run.shard` (or `Run.shard_rows`), then
`Run.allreduce_gradients` after ``backward()`` and before clipping, and `Run.reduce_sums` for its
figures: all of them do nothing in a world of one, so one loop serves both. Several processes started
without ``--distributed`` are an error: each would train the whole model and write the same files.
"""

from __future__ import annotations

import copy
import importlib.util
import json
import math
import os
import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack, contextmanager, redirect_stdout, suppress
from time import perf_counter
from typing import Any

import click
from threadpoolctl import threadpool_info, threadpool_limits

import backends
import minigrad.distributed as dist
from minigrad.backend import use_backend
from minigrad.creation import manual_seed
from minigrad.io import atomic_write, load, save, write_probe

THREADS_ENV = "MINIGRAD_NUM_THREADS"
DEFAULT_THREADS = 1
# set before Python starts, these fix the BLAS threads themselves; a run then leaves them as they are
BLAS_THREAD_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
PROGRESS_ENV = "MINIGRAD_PROGRESS_SECONDS"
DEFAULT_PROGRESS_SECONDS = 10.0


def resolve_threads(threads: int | None = None) -> tuple[int | None, str]:
    """The BLAS threads a run uses and where that number comes from.

    In order: ``threads`` (the ``--threads`` option), ``$MINIGRAD_NUM_THREADS``,
    then, if one of `BLAS_THREAD_VARS` is set, ``None`` (the BLAS keeps
    the threads that variable gave it), else `DEFAULT_THREADS` (1).
    One thread is the default because a recurrent network's matrix products are
    small (batch x H by H x 4H per time step): extra BLAS threads gain little and,
    when other work shares the cores, wait for each other. Measured on a two-core
    machine, one epoch of ``minigrad run sentiment`` trained in 0.4-0.5 s with one or
    two threads when the machine was quiet; with one other busy process, 0.4-0.8 s
    with one thread and 1.0-4.4 s with two (OpenBLAS's own default here).

    Returns:
        ``(threads or None, source)``, e.g. ``(1, "default")``, ``(4, "MINIGRAD_NUM_THREADS=4")``,
        ``(None, "OPENBLAS_NUM_THREADS=2")``.

    Raises:
        click.ClickException: ``threads`` < 1, or ``$MINIGRAD_NUM_THREADS`` not a whole number >= 1
            (a one-line error naming the option or the variable).
    """
    if threads is not None:
        if threads < 1:
            raise click.ClickException(f"--threads must be a whole number >= 1, got {threads}")
        return threads, "--threads"
    value = os.environ.get(THREADS_ENV, "").strip()
    if value:
        if not value.isdigit() or int(value) < 1:
            raise click.ClickException(f"{THREADS_ENV}={value!r}: expected a whole number of threads >= 1")
        return int(value), f"{THREADS_ENV}={value}"
    for var in BLAS_THREAD_VARS:
        if os.environ.get(var, "").strip():
            return None, f"{var}={os.environ[var].strip()}"
    return DEFAULT_THREADS, "default"


def load_blas() -> list[dict]:
    """Load every BLAS a run may call, then describe them (``threadpoolctl.threadpool_info``, BLAS only).

    NumPy's BLAS is loaded with NumPy; SciPy's (a separate library, which numba
    also loads) only once ``scipy.linalg`` is imported. A thread limit reaches
    only the libraries loaded when it is set, so a run loads SciPy's first when
    SciPy is installed.
    """
    with suppress(ImportError):
        import scipy.linalg.cython_blas  # noqa: F401
    return [i for i in threadpool_info() if i["user_api"] == "blas"]


def _read_progress_seconds() -> float:
    """``$MINIGRAD_PROGRESS_SECONDS`` (seconds between progress lines in logs, >= 0), default 10."""
    value = os.environ.get(PROGRESS_ENV, "").strip()
    if not value:
        return DEFAULT_PROGRESS_SECONDS
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if not (seconds >= 0 and math.isfinite(seconds)):
        raise click.ClickException(f"{PROGRESS_ENV}={value!r}: expected a number of seconds >= 0")
    return seconds


def _clock(seconds: float) -> str:
    """``seconds`` as ``M:SS`` or ``H:MM:SS``."""
    minutes, secs = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def progress_line(label: str, done: int, total: int | None, elapsed: float, tokens: int | None = None,
                  unit: str = "batches") -> str:
    """One progress line for a log, e.g.
    ``  epoch 1: 12/24 (50%)  elapsed 0:05  ETA 0:05  2.40 batches/s  1536 tokens/s``.

    ``total`` None (unknown length) leaves out the percentage and the ETA; ``tokens``
    None leaves out tokens/s; ``unit`` names what ``done`` counts (``batches``, ``steps``).
    Indented so that it stands apart from a run's own lines.
    """
    parts = [f"  {label}: {done}/{total}" if total is not None else f"  {label}: {done}"]
    if total:
        parts.append(f"({100 * done / total:.0f}%)")
    parts.append(f" elapsed {_clock(elapsed)}")
    if total is not None and done:
        parts.append(f" ETA {_clock(elapsed / done * max(total - done, 0))}")
    if elapsed > 0:
        parts.append(f" {done / elapsed:.2f} {unit}/s")
        if tokens is not None:
            parts.append(f" {tokens / elapsed:.0f} tokens/s")
    return " ".join(parts)


# -- option types ---------------------------------------------------------------
class FloatRange(click.FloatRange):
    """``click.FloatRange`` that also refuses ``nan`` and ``inf`` (which pass any range check)."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> float:
        number = super().convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number.", param, ctx)
        return number


def output_problem(path: str, suffixes: tuple[str, ...] = (), needs: str | None = None) -> str | None:
    """Why ``path`` cannot be written (its folder is missing or refuses a new file, it is a folder, a wrong
    suffix, the module ``needs`` is not installed), or None when it can.

    Whether the folder takes a file is tried for real (`minigrad.io.write_probe`: a temporary file is
    created and removed), since permission bits do not apply to root or to folders such as ``/sys``."""
    if not path:
        return "no file name"
    folder = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(path):
        return "it is a folder; give a file name"
    if not os.path.isdir(folder):
        what = "is a file, not a folder" if os.path.exists(folder) else "does not exist"
        return f"the folder {folder!r} {what}"
    why = write_probe(folder)
    if why:
        return f"the folder {folder!r} is not writable ({why})"
    if suffixes and os.path.splitext(path)[1].lower() not in suffixes:
        return f"expected a {' or '.join(suffixes)} file name"
    if needs and importlib.util.find_spec(needs) is None:
        return f"needs {needs}: pip install 'minigrad[plot]'"
    return None


class OutputPath(click.ParamType):
    """A file an option writes, checked when the command line is read, before any work: the folder exists
    and takes a new file (tried: `output_problem`), the path is not a folder, it ends in one of
    ``suffixes``, the module ``needs`` imports. Write the file itself inside `output_error`, so that a
    write that fails anyway (the folder removed meanwhile, a full disk) is a one-line error too."""

    name = "path"

    def __init__(self, suffixes: tuple[str, ...] = (), needs: str | None = None) -> None:
        self.suffixes, self.needs = suffixes, needs

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        problem = output_problem(os.fspath(value), self.suffixes, self.needs)
        if problem:
            self.fail(f"{value}: {problem}", param, ctx)
        return os.fspath(value)


def example_options(epochs: int = 5, seed: int = 0, checkpoints: bool = True, plot: bool = True) -> Callable:
    """Click options shared by every example (defaults per example).

    ``checkpoints=False`` leaves out ``--save`` and ``--resume``, ``plot=False`` leaves out ``--plot``: an
    example offers only the options it honours.
    """

    def decorate(fn: Callable) -> Callable:
        options = [
            click.option("--backend", default=lambda: os.environ.get("MINIGRAD_BACKEND") or "numpy",
                         show_default="numpy, or $MINIGRAD_BACKEND", type=click.Choice(backends.names()),
                         help="Array backend (cupy needs a GPU)."),
            click.option("--seed", default=seed, show_default=True, type=click.IntRange(0, 2**32 - 1),
                         help="Random seed."),
            click.option("--epochs", default=epochs, show_default=True, type=click.IntRange(min=1),
                         help="Training epochs."),
            click.option("--quiet", is_flag=True, help="Only print the final summary line."),
            click.option("--threads", type=click.IntRange(min=1),
                         help=f"BLAS threads for the run. [default: ${THREADS_ENV}, else {DEFAULT_THREADS}; "
                              f"with OPENBLAS_NUM_THREADS or OMP_NUM_THREADS set, what it says]"),
            click.option("--metrics", type=OutputPath((".json",)), help="Write the final figures as JSON here."),
            click.option("--distributed", is_flag=True,
                         help="Data-parallel training over the processes an MPI launcher started (mpiexec -n 4 "
                              "...): --batch-size stays the global batch; rank 0 prints and writes."),
        ]
        if plot:
            options.append(click.option("--plot", type=OutputPath((".png",), needs="matplotlib"),
                                        help="Save the example's plot (PNG) here."))
        if checkpoints:
            options += [
                click.option("--save", type=OutputPath((".npz",)), help="Checkpoint after every epoch here."),
                click.option("--resume", type=click.Path(dir_okay=False, exists=True),
                             help="Continue from this checkpoint."),
            ]
        for option in reversed(options):
            fn = option(fn)
        return fn

    return decorate


def write_json_atomic(path: str | os.PathLike, data: dict, who: str = "write_json_atomic") -> None:
    """Write ``data`` as indented JSON with [`minigrad.io.atomic_write`][minigrad.io.atomic_write] (never
    half-written)."""
    with atomic_write(path, "w", who=who) as f:
        json.dump(data, f, indent=2, sort_keys=True)
        f.write("\n")


# -- checkpoints given to --resume --------------------------------------------------
def read_checkpoint(path: str, example: str) -> dict:
    """The ``--resume`` checkpoint ``path`` of ``example``; a one-line error when it is not a minigrad
    checkpoint or not one of ``example``."""
    try:
        state = load(path)
    except (OSError, ValueError) as e:
        why = str(e).removeprefix("load: ").replace(f"{path!r} ", "", 1)
        if why.startswith("is not a minigrad checkpoint: "):
            why = f"not a minigrad checkpoint ({why.removeprefix('is not a minigrad checkpoint: ')})"
        raise click.ClickException(f"--resume {path}: {why}") from None
    if not isinstance(state, dict) or "example" not in state or "epoch" not in state:
        raise click.ClickException(f"--resume {path}: a minigrad checkpoint, but not one an example wrote "
                                   f"(it has no 'example' and 'epoch' entries)")
    if state["example"] != example:
        raise click.ClickException(f"--resume {path}: a checkpoint of {state['example']!r}, not of {example!r}")
    return state


def _shown(flag: str, value: Any) -> str:
    """``--hidden 8``, ``--lengths 5,20``, ``no --clip``."""
    if value is None:
        return f"no {flag}"
    if isinstance(value, (list, tuple)):
        value = ",".join(str(v) for v in value)
    elif isinstance(value, float):
        value = f"{value:g}"
    return f"{flag} {value}"


def _asks(flag: str, value: Any, saved: Any) -> str:
    """What the run asks for, against the checkpoint's ``saved`` value: typed, the option's default or neither."""
    ctx = click.get_current_context(silent=True)
    param = next((p for p in ctx.command.params if flag in p.opts), None) if ctx else None
    source = ctx.get_parameter_source(param.name) if param else None
    if source is click.core.ParameterSource.COMMANDLINE:
        return f"the command line asks for {_shown(flag, value)}"
    if source is click.core.ParameterSource.DEFAULT:
        return f"this run has {_shown(flag, value)} (the default): give {_shown(flag, saved)}"
    return f"this run asks for {_shown(flag, value)}"


def _one_line(error: Exception) -> str:
    """A multi-line ``load_state_dict`` error as one line: its first three problems and how many more."""
    lines = [ln.strip() for ln in str(error).splitlines() if ln.strip()]
    problems = lines[1:] or lines
    more = f" (and {len(problems) - 3} more)" if len(problems) > 3 else ""
    return "; ".join(problems[:3]) + more


class Run:
    """One run of an example: backend, seeding, output, checkpoints and metrics.

    Args:
        name: the example's name (checkpoints record it and refuse another example's file).
        backend, seed, epochs, quiet, threads, metrics, plot, save, resume: the common options.
        options: the options a checkpoint must have been made with to be resumed, by flag, e.g.
            ``{"--hidden": 64}``; checkpoints record them.
        check_weights: refuse a ``--resume`` checkpoint, and stop after an epoch, when a tracked
            model's parameters hold nan or inf (False for a run whose lesson is a model that diverges).

        distributed: join the processes an MPI launcher started (`minigrad.distributed.init`); on
            ranks other than 0 the run is then quiet, prints nothing to stdout and writes no file.

    Raises:
        click.ClickException: an invalid ``$MINIGRAD_PROGRESS_SECONDS``; on entering, an
            invalid thread count (`resolve_threads`), a backend not available here, a
            ``--resume`` file that is not a checkpoint of this example made with ``options``,
            several processes started without ``distributed``, or a world that cannot start
            (`minigrad.distributed.DistributedError`).
    """

    def __init__(self, name: str, backend: str = "numpy", seed: int = 0, epochs: int = 1, quiet: bool = False,
                 metrics: str | None = None, plot: str | None = None, save: str | None = None,
                 resume: str | None = None, threads: int | None = None, options: dict | None = None,
                 check_weights: bool = True, distributed: bool = False, **_: Any) -> None:
        self.name, self.backend, self.seed, self.n_epochs = name, backend, seed, epochs
        self.quiet, self.metrics_path, self.plot_path = quiet, metrics, plot
        self.save_path, self.resume_path = save, resume
        self.options = dict(options or {})
        self.check_weights = check_weights
        self.checkpoint: dict | None = None  # the --resume checkpoint, read on entering
        self.history: list[dict] = []
        self._tracked: dict[str, Any] = {}
        self._extra: dict[str, Any] = {}
        self._last_state: dict | None = None
        self._saved_epoch: int | None = None  # the epoch this run last wrote to --save
        self._stack = ExitStack()
        self.start_epoch = 0
        self.threads_option = threads
        self.threads: int | None = None  # BLAS threads in force during the run (None: as the BLAS started)
        self.progress_seconds = _read_progress_seconds()
        self.distributed = distributed
        self.world = dist.World()  # a world of one until __enter__ joins the launcher's

    # -- context: backend, BLAS threads and Ctrl-C -------------------------------
    def __enter__(self) -> "Run":
        self.threads, _ = resolve_threads(self.threads_option)
        self._join_world()
        try:
            # nan and inf are reported in words (check_loss, the weights after each epoch): NumPy's own
            # overflow and invalid-value warnings would only repeat them as tracebacks-to-be; undone on exit
            self._stack.enter_context(backends.get("numpy").ignore_fp_errors())  # host-side arrays, any backend
            if self.resume_path:
                self._read_resume()
            try:
                self._stack.enter_context(use_backend(self.backend))
            except (RuntimeError, ValueError) as e:  # e.g. cupy without a GPU: say why, no traceback
                raise click.ClickException(str(e)) from None
            if self.threads is not None:
                load_blas()
                self._stack.enter_context(threadpool_limits(limits=self.threads, user_api="blas"))  # undone on exit
        except BaseException as e:
            dist.abort_on_error(e)
            self._stack.close()
            raise
        manual_seed(self.seed)
        return self

    def _join_world(self) -> None:
        """``--distributed``: join the launcher's processes; ranks other than 0 go quiet and write nothing."""
        try:
            size, launcher = dist.launcher_world()
            if not self.distributed:
                if size > 1:
                    raise click.ClickException(
                        f"{size} processes were started ({launcher}) without --distributed: each would train "
                        "the whole model and overwrite the same files; add --distributed")
                return
            self.world = dist.init(self.backend)
        except dist.DistributedError as e:
            raise click.ClickException(str(e)) from None
        if not self.world.is_main:
            self.quiet = True
            self.metrics_path = self.plot_path = self.save_path = None
            devnull = self._stack.enter_context(open(os.devnull, "w"))  # noqa: SIM115 - closed with the run
            self._stack.enter_context(redirect_stdout(devnull))

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> bool:
        if exc is not None:  # a failing rank ends the whole job (no-op in a world of one)
            dist.abort_on_error(SystemExit(130) if exc_type is KeyboardInterrupt else exc)
        self._stack.close()
        if exc_type is KeyboardInterrupt:
            if self.save_path and self._last_state is not None:
                with output_error("--save", self.save_path):
                    save(self._last_state, self.save_path)
                click.echo(f"\ninterrupted: saved epoch {self._last_state['epoch']} to {self.save_path}", err=True)
            else:
                click.echo("\ninterrupted", err=True)
            raise SystemExit(130)
        return False

    # -- data parallelism (each a no-op in a world of one) ------------------------------
    @property
    def is_main(self) -> bool:
        """True on rank 0 (and in a run that is not distributed): the process that prints and writes."""
        return self.world.is_main

    def shard(self, loader: Any) -> Any:
        """This rank's share of every batch of ``loader`` (a [`ShardedLoader`][minigrad.data.ShardedLoader]),
        after giving every rank rank 0's ``loader.seed``; ``loader`` itself in a world of one."""
        if self.world.size == 1:
            return loader
        from minigrad.data.sharded import ShardedLoader

        loader.seed = dist.broadcast_object(loader.seed, w=self.world)
        return ShardedLoader(loader, self.world.rank, self.world.size)

    def shard_rows(self, n: int) -> slice:
        """This rank's rows of a global batch of ``n`` rows: ``slice(rank, n, size)`` (may select none)."""
        return slice(self.world.rank, n, self.world.size)

    def allreduce_gradients(self, parameters: Any, weight: float) -> float:
        """[`minigrad.distributed.allreduce_gradients`][minigrad.distributed.allreduce_gradients] in this run's
        world: call after ``backward()``, before clipping; ``weight`` = this rank's examples in the step."""
        return dist.allreduce_gradients(parameters, weight, w=self.world)

    def reduce_sums(self, **values: float) -> dict[str, float]:
        """Each value summed over ranks (float64): e.g. ``loss * n``, ``correct`` and ``n``."""
        return dist.reduce_sums(w=self.world, **values)

    def all_reduce(self, array: Any, op: str = "sum") -> Any:
        """``array`` replaced in place by its element-wise ``op`` (sum, max, min) over ranks."""
        return dist.all_reduce(array, op, w=self.world)

    def broadcast_object(self, obj: Any) -> Any:
        """Rank 0's ``obj`` on every rank (e.g. an order of examples drawn from a per-rank stream)."""
        return dist.broadcast_object(obj, w=self.world)

    def echo(self, message: str = "") -> None:
        """Print unless ``--quiet``."""
        if not self.quiet:
            click.echo(message)

    def progress(self, items: Iterable, label: str, length: int | None = None,
                 count: Callable[[Any], int] | None = None, unit: str = "batches") -> Iterator:
        """Iterate ``items``, showing progress on stderr (nothing with ``--quiet``).

        On a terminal: a progress bar. Otherwise (a log file, a pipe): a line
        (`progress_line`: label, done/total, percent, elapsed, ETA, ``unit``/s
        and, with ``count``, tokens/s) every ``$MINIGRAD_PROGRESS_SECONDS`` seconds
        (default 10; 0 prints one per item) and one when the loop ends, each flushed.

        Args:
            items: what to iterate, e.g. batches.
            label: names the loop, e.g. ``"epoch 3"``.
            length: the number of items (default: ``len(items)`` when it has one).
            count: ``count(item)`` -> the number of tokens in an item, for a tokens/s figure.
            unit: what one item is, for the rate: ``"batches"`` (the default), ``"steps"``.
        """
        stream = sys.stderr
        if self.quiet:
            yield from items
        elif stream.isatty():
            with click.progressbar(items, length=length, label=label, file=stream, show_pos=True) as bar:
                yield from bar
        else:
            yield from self._progress_lines(items, label, length, count, stream, unit)

    def _progress_lines(self, items: Iterable, label: str, length: int | None,
                        count: Callable[[Any], int] | None, stream: Any, unit: str = "batches") -> Iterator:
        if length is None and hasattr(items, "__len__"):
            length = len(items)
        done = 0
        tokens = 0 if count is not None else None
        start = last = perf_counter()

        def write(now: float) -> None:
            stream.write(progress_line(label, done, length, now - start, tokens, unit) + "\n")
            stream.flush()

        for item in items:
            n = count(item) if count is not None else 0
            yield item
            done += 1
            if tokens is not None:
                tokens += n
            now = perf_counter()
            if now - last >= self.progress_seconds and (length is None or done < length):
                write(now)
                last = now
        write(perf_counter())

    # -- checkpoints ----------------------------------------------------------
    def _read_resume(self) -> None:
        """Read ``--resume`` and refuse it, in one line, unless it is this example's, made with ``options``."""
        path = self.resume_path
        self.checkpoint = self._read_once(path)
        saved = self.checkpoint.get("options") or {}
        for flag, value in self.options.items():
            if flag in saved and saved[flag] != value:
                made = f"made with {_shown(flag, saved[flag])}" if saved[flag] is not None else f"made without {flag}"
                raise click.ClickException(f"--resume {path}: the checkpoint was {made}, "
                                           f"{_asks(flag, value, saved[flag])}")

    def _read_once(self, path: str) -> dict:
        """`read_checkpoint` on rank 0, broadcast: every rank gets the same state, or the same error."""
        if self.world.size == 1:
            return read_checkpoint(path, self.name)
        state, error = None, None
        if self.world.is_main:
            try:
                state = read_checkpoint(path, self.name)
            except click.ClickException as e:
                error = e.message
        state, error = dist.broadcast_object((state, error), w=self.world)
        if error:
            raise click.ClickException(error)
        return state

    def track(self, extra: dict | None = None, training: bool = True, **objects: Any) -> dict:
        """Name what checkpoints hold (objects with ``state_dict``/``load_state_dict``) plus ``extra`` data.

        With ``--resume``, loads the checkpoint into them now and returns its
        ``extra`` data (e.g. a vocabulary); otherwise returns ``extra``. With ``--distributed``, the
        models' parameters are then checked to agree on every rank and copied from rank 0.
        ``training=False``: the run only evaluates or predicts with the ``--resume`` model, so
        ``--epochs`` does not matter.

        Raises:
            click.ClickException: a ``--resume`` checkpoint that does not fit; a training run whose
                ``--resume`` checkpoint is already past ``--epochs`` (nothing to train); ranks whose
                models differ (naming the first parameter that does).
        """
        self._tracked = objects
        self._extra = dict(extra or {})
        if self.resume_path:
            self._load_resumed(objects)
            if training:
                self._check_epochs_left()
        for key, obj in objects.items():
            if hasattr(obj, "named_parameters") and self.world.size > 1:
                try:
                    dist.broadcast_parameters(obj, w=self.world)
                except dist.DistributedError as e:
                    raise click.ClickException(f"--distributed: {key}: {e}") from None
        return self._extra

    def _load_resumed(self, objects: dict) -> None:
        if self.checkpoint is None:  # tracked outside a ``with Run(...)`` block
            self._read_resume()
        state, path = self.checkpoint, self.resume_path
        for key, obj in objects.items():
            if key not in state:
                raise click.ClickException(f"--resume {path}: the checkpoint has no {key!r}; this run needs "
                                           f"{', '.join(repr(k) for k in objects)} (made with other options?)")
            try:
                obj.load_state_dict(state[key])
            except (ValueError, KeyError, TypeError) as e:
                raise click.ClickException(f"--resume {path}: the checkpoint's {key!r} does not fit this run's: "
                                           f"{_one_line(e)}") from None
        broken = non_finite_parameters(objects) if self.check_weights else []
        if broken:
            raise click.ClickException(f"--resume {path}: the checkpoint's weights hold nan or inf "
                                       f"({', '.join(broken)}): it was saved by a run that diverged")
        self.start_epoch = int(state["epoch"])
        self.history = list(state.get("history", []))
        self._extra = dict(state.get("extra", {}))
        self._last_state = state

    def _check_epochs_left(self) -> None:
        """Refuse a ``--resume`` checkpoint saved after more epochs than ``--epochs``: nothing would train."""
        if self.resume_path and self.start_epoch > self.n_epochs:
            raise click.ClickException(
                f"--resume {self.resume_path}: the checkpoint is already at epoch {self.start_epoch} and --epochs "
                f"is {self.n_epochs}: nothing to train; give --epochs above {self.start_epoch}")

    def state(self, epoch: int) -> dict:
        """The checkpoint content after ``epoch`` completed epochs: a snapshot, which later epochs leave alone.

        History and extra data are copied: Ctrl-C after the next epoch's `log` but before its
        checkpoint saves this state, which must not list that epoch (a resumed run would repeat it).
        """
        out: dict[str, Any] = {"example": self.name, "epoch": epoch, "seed": self.seed,
                               "history": copy.deepcopy(self.history), "options": copy.deepcopy(self.options)}
        for key, obj in self._tracked.items():
            out[key] = obj.state_dict()  # copies (host arrays)
        out["extra"] = copy.deepcopy(self._extra)
        return out

    def epochs(self) -> Iterator[int]:
        """Epoch numbers from the resumed one on; reseeds each epoch and checkpoints after it.

        An epoch that leaves nan or inf in a tracked model's parameters stops the run with a one-line
        error and is not saved (the loss of its last step may still have been finite), unless the run
        was made with ``check_weights=False``.

        Raises:
            click.ClickException: a ``--resume`` checkpoint already past ``--epochs``; nan or inf in the
                weights after an epoch; a ``--save`` write that fails.

        Rank 0 of a distributed run draws from the stream of a single process; every other rank
        from one of its own (``--seed``, epoch and rank), so dropout masks differ between ranks.
        """
        self._check_epochs_left()
        for epoch in range(self.start_epoch, self.n_epochs):
            seed = self.seed * 100_003 + epoch
            if self.world.rank:
                seed = (seed * 1_000_003 + self.world.rank) % 2**62
            manual_seed(seed)
            yield epoch
            broken = non_finite_parameters(self._tracked) if self.check_weights else []
            if broken:
                kept = f"; {self.save_path} keeps epoch {self._saved_epoch}" if self.save_path and self._saved_epoch \
                    else ""
                raise click.ClickException(f"{self.name}: after epoch {epoch + 1} the weights hold nan or inf "
                                           f"({', '.join(broken)}); stopped, nothing saved for it{kept}. {_remedies()}")
            self._last_state = self.state(epoch + 1)
            if self.save_path:
                with output_error("--save", self.save_path):
                    save(self._last_state, self.save_path)
                self._saved_epoch = epoch + 1

    def check_loss(self, value: float, epoch: int, step: int) -> None:
        """Stop the run with a one-line error when the training loss ``value`` is NaN or infinite.

        Call it at every step of a training loop (``epoch`` 0-based, as `epochs` yields it; ``step``
        1-based). Nothing more is saved: the ``--save`` file keeps the last epoch that ended with finite
        losses. The message names the epoch and step and the usual remedies (a lower ``--lr``, ``--clip``).
        """
        if math.isfinite(value):
            return
        if not self.save_path:
            kept = "nothing saved"
        elif self._saved_epoch is not None:
            kept = f"{self.save_path} keeps epoch {self._saved_epoch}"
        else:
            kept = f"nothing new saved to {self.save_path}"
        raise click.ClickException(f"{self.name}: the training loss is {value} at epoch {epoch + 1}, step {step}; "
                                   f"stopped, {kept}. {_remedies()}")

    # -- reporting ------------------------------------------------------------
    def log(self, epoch: int, **figures: Any) -> None:
        """Record and print one epoch's figures."""
        self.history.append({"epoch": epoch + 1, **figures})
        parts = "  ".join(f"{k} {v:.4f}" if isinstance(v, float) else f"{k} {v}" for k, v in figures.items())
        self.echo(f"epoch {epoch + 1}/{self.n_epochs}  {parts}")

    def writing(self, flag: str, path: str | None = None) -> Any:
        """`output_error` for the option ``flag`` (``"--plot"``: ``path`` defaults to ``--plot``'s):
        write an output file inside it, e.g. ``with run.writing("--plot"): plot(run.plot_path)``."""
        if path is None:
            path = {"--plot": self.plot_path, "--metrics": self.metrics_path, "--save": self.save_path}[flag]
        return output_error(flag, path)

    def finish(self, summary: str, **metrics: Any) -> dict:
        """Print the final summary line (even with ``--quiet``) and write ``--metrics``.

        The metrics start with the example's name, seed, backend and BLAS threads
        (``blas_threads``, None when the BLAS kept its own), then ``metrics``.
        """
        click.echo(summary)
        metrics = {"example": self.name, "seed": self.seed, "backend": self.backend, "blas_threads": self.threads,
                   **metrics}
        if self.metrics_path:
            with output_error("--metrics", self.metrics_path):
                write_json_atomic(self.metrics_path, metrics, who="--metrics")
        return metrics


@contextmanager
def output_error(flag: str, path: str) -> Iterator[None]:
    """An ``OSError`` writing ``path`` for the option ``flag`` (e.g. its folder removed during the run, a full
    disk) as a one-line error: ``--plot p.png: cannot write: the folder '...' does not exist``.

    Raises:
        click.ClickException: an ``OSError`` raised in the block.
    """
    try:
        yield
    except OSError as e:
        why = output_problem(path) or e.strerror or str(e)
        raise click.ClickException(f"{flag} {path}: cannot write: {why}") from None


def non_finite_parameters(objects: dict, limit: int = 3) -> list[str]:
    """Names (``key.parameter``, at most ``limit``, then a count) of the parameters of the tracked models
    in ``objects`` (those with ``named_parameters``) that hold nan or inf."""
    named = [(f"{key}.{name}", p) for key, obj in objects.items() if hasattr(obj, "named_parameters")
             for name, p in obj.named_parameters()]
    finite: dict[int, bool] = {}
    for be in {id(p.backend): p.backend for _, p in named}.values():  # one read back per backend, not per parameter
        mine = [i for i, (_, p) in enumerate(named) if p.backend is be]
        flags = be.xp.stack([be.xp.isfinite(named[i][1].data).all() for i in mine])
        finite.update(zip(mine, be.to_numpy(flags).tolist()))
    broken = [name for i, (name, _) in enumerate(named) if not finite[i]]
    return broken[:limit] + ([f"{len(broken) - limit} more"] if len(broken) > limit else [])


def _remedies() -> str:
    """What usually makes a diverging loss finite, in terms of the current command's options."""
    ctx = click.get_current_context(silent=True)
    params = ctx.params if ctx else {}
    tips = []
    if isinstance(params.get("lr"), float):
        tips.append(f"a lower --lr (this run: {params['lr']:g})")
    if isinstance(params.get("clip"), float):
        tips.append(f"a smaller --clip (this run: {params['clip']:g})" if params["clip"] > 0
                    else "gradient clipping (--clip 1)")
    if not tips:
        return "Try another --seed."
    return "Try " + " or ".join(tips) + "."
