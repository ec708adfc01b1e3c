"""The ``minigrad`` command."""

from __future__ import annotations

import click

import backends
import minigrad


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
