"""What every example shares: common options, progress bars, metrics and checkpoints.

An example is a click command decorated with :func:`example_options`; its
body opens a :class:`Run`:

    @click.command()
    @example_options(epochs=5)
    def main(**opts):
        with Run("seed", **opts) as run:
            model, opt = ...
            run.track(model=model, optimizer=opt)
            for epoch in run.epochs():            # resumes, reseeds, checkpoints
                for batch in run.progress(batches, label=f"epoch {epoch + 1}"):
                    ...
                run.log(epoch, loss=..., valid_accuracy=...)
            run.finish("seed: ...", valid_accuracy=...)

Each epoch starts from a seed derived from ``--seed`` and the epoch number,
so a run resumed from the checkpoint of epoch k continues exactly as the
uninterrupted run would have. Checkpoints are written atomically after every
epoch; Ctrl-C saves the last completed epoch before exiting.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import click

import backends
from minigrad.backend import use_backend
from minigrad.creation import manual_seed
from minigrad.io import load, save


def example_options(epochs: int = 5, seed: int = 0) -> Callable:
    """Click options shared by every example (defaults per example)."""

    def decorate(fn: Callable) -> Callable:
        options = [
            click.option("--backend", default="numpy", show_default=True,
                         type=click.Choice(backends.names()), help="Array backend (cupy needs a GPU)."),
            click.option("--seed", default=seed, show_default=True, type=int, help="Random seed."),
            click.option("--epochs", default=epochs, show_default=True, type=click.IntRange(min=1),
                         help="Training epochs."),
            click.option("--quiet", is_flag=True, help="Only print the final summary line."),
            click.option("--metrics", type=click.Path(dir_okay=False), help="Write the final figures as JSON here."),
            click.option("--plot", type=click.Path(dir_okay=False), help="Save the example's plot (PNG) here."),
            click.option("--save", type=click.Path(dir_okay=False), help="Checkpoint after every epoch here."),
            click.option("--resume", type=click.Path(dir_okay=False, exists=True),
                         help="Continue from this checkpoint."),
        ]
        for option in reversed(options):
            fn = option(fn)
        return fn

    return decorate


def write_json_atomic(path: str | os.PathLike, data: dict) -> None:
    """Write ``data`` as JSON through a temporary file and ``os.replace`` (never half-written)."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent or ".", prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(data, f, indent=2, sort_keys=True)
            f.write("\n")
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


class Run:
    """One run of an example: backend, seeding, output, checkpoints and metrics.

    Args:
        name: the example's name (checkpoints record it and refuse another example's file).
        backend, seed, epochs, quiet, metrics, plot, save, resume: the common options.
    """

    def __init__(self, name: str, backend: str = "numpy", seed: int = 0, epochs: int = 1, quiet: bool = False,
                 metrics: str | None = None, plot: str | None = None, save: str | None = None,
                 resume: str | None = None, **_: Any) -> None:
        self.name, self.backend, self.seed, self.n_epochs = name, backend, seed, epochs
        self.quiet, self.metrics_path, self.plot_path = quiet, metrics, plot
        self.save_path, self.resume_path = save, resume
        self.history: list[dict] = []
        self._tracked: dict[str, Any] = {}
        self._extra: dict[str, Any] = {}
        self._last_state: dict | None = None
        self._stack = ExitStack()
        self.start_epoch = 0

    # -- context: backend and Ctrl-C -------------------------------------------
    def __enter__(self) -> "Run":
        try:
            self._stack.enter_context(use_backend(self.backend))
        except (RuntimeError, ValueError) as e:  # e.g. cupy without a GPU: say why, no traceback
            raise click.ClickException(str(e)) from None
        manual_seed(self.seed)
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> bool:
        self._stack.close()
        if exc_type is KeyboardInterrupt:
            if self.save_path and self._last_state is not None:
                save(self._last_state, self.save_path)
                click.echo(f"\ninterrupted: saved epoch {self._last_state['epoch']} to {self.save_path}", err=True)
            else:
                click.echo("\ninterrupted", err=True)
            raise SystemExit(130)
        return False

    def echo(self, message: str = "") -> None:
        """Print unless ``--quiet``."""
        if not self.quiet:
            click.echo(message)

    def progress(self, items: Iterable, label: str, length: int | None = None) -> Iterator:
        """Iterate ``items`` with a progress bar on a terminal (none with ``--quiet`` or when piped)."""
        if self.quiet or not sys.stderr.isatty():
            yield from items
            return
        with click.progressbar(items, length=length, label=label, file=sys.stderr, show_pos=True) as bar:
            yield from bar

    # -- checkpoints ----------------------------------------------------------
    def track(self, extra: dict | None = None, **objects: Any) -> dict:
        """Name what checkpoints hold (objects with ``state_dict``/``load_state_dict``) plus ``extra`` data.

        With ``--resume``, loads the checkpoint into them now and returns its
        ``extra`` data (e.g. a vocabulary); otherwise returns ``extra``.
        """
        self._tracked = objects
        self._extra = dict(extra or {})
        if not self.resume_path:
            return self._extra
        state = load(self.resume_path)
        if state.get("example") != self.name:
            raise click.ClickException(
                f"{self.resume_path} is a checkpoint of {state.get('example')!r}, not of {self.name!r}"
            )
        for key, obj in objects.items():
            if key not in state:
                raise click.ClickException(f"{self.resume_path} has no {key!r} state")
            obj.load_state_dict(state[key])
        self.start_epoch = int(state["epoch"])
        self.history = list(state.get("history", []))
        self._extra = dict(state.get("extra", {}))
        self._last_state = state
        return self._extra

    def state(self, epoch: int) -> dict:
        """The checkpoint content after ``epoch`` completed epochs."""
        out: dict[str, Any] = {"example": self.name, "epoch": epoch, "seed": self.seed, "history": self.history}
        for key, obj in self._tracked.items():
            out[key] = obj.state_dict()
        out["extra"] = self._extra
        return out

    def epochs(self) -> Iterator[int]:
        """Epoch numbers from the resumed one on; reseeds each epoch and checkpoints after it."""
        for epoch in range(self.start_epoch, self.n_epochs):
            manual_seed(self.seed * 100_003 + epoch)
            yield epoch
            self._last_state = self.state(epoch + 1)
            if self.save_path:
                save(self._last_state, self.save_path)

    # -- reporting ------------------------------------------------------------
    def log(self, epoch: int, **figures: Any) -> None:
        """Record and print one epoch's figures."""
        self.history.append({"epoch": epoch + 1, **figures})
        parts = "  ".join(f"{k} {v:.4f}" if isinstance(v, float) else f"{k} {v}" for k, v in figures.items())
        self.echo(f"epoch {epoch + 1}/{self.n_epochs}  {parts}")

    def finish(self, summary: str, **metrics: Any) -> dict:
        """Print the final summary line (even with ``--quiet``) and write ``--metrics``."""
        click.echo(summary)
        metrics = {"example": self.name, "seed": self.seed, "backend": self.backend, **metrics}
        if self.metrics_path:
            write_json_atomic(self.metrics_path, metrics)
        return metrics
