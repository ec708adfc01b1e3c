"""The ``minigrad`` command: ``info``, ``examples`` and ``run NAME``.

Examples are the scripts in the repository's ``examples/`` folder; each
defines a click command ``main`` and a one-line ``DESCRIPTION``, so
``minigrad run sentiment --epochs 3`` and ``python examples/sentiment.py
--epochs 3`` are the same program.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import click

import backends
import minigrad

EXAMPLES_DIR = Path(__file__).resolve().parents[1] / "examples"
NOT_EXAMPLES = {"benchmark", "benchmark_rnn"}  # scripts in examples/ that are tools, not lessons


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


@click.group(invoke_without_command=True)
@click.version_option(minigrad.__version__, prog_name="minigrad")
@click.pass_context
def main(ctx: click.Context) -> None:
    """minigrad: learn, teach and prototype recurrent networks."""
    if ctx.invoked_subcommand is None:
        ctx.invoke(info)


@main.command()
def info() -> None:
    """Version, backends available here (and why one is not), default backend."""
    click.echo(f"minigrad {minigrad.__version__}")
    click.echo("backends:")
    for name in backends.names():
        reason = backends.unavailable_reason(name)
        status = "available" if reason is None else f"unavailable: {reason}"
        click.echo(f"  {name}: {status}")
    try:
        default = minigrad.default_backend_name()
    except (RuntimeError, ValueError) as e:
        default = f"(invalid: {e})"
    click.echo(f"default backend: {default}")


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
