"""What every figure script shares: its command line and how a matplotlib figure is written.

Not a figure itself (the leading underscore keeps it out of `.ci/docs` and the figure tests).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from minigrad.io import atomic_write


def save_figure(fig: Any, outdir: str, name: str, dpi: int) -> Path:
    """Write matplotlib ``fig`` to ``OUTDIR/<name>.png`` atomically, close it, and return the path."""
    import matplotlib.pyplot as plt

    path = Path(outdir) / f"{name}.png"
    with atomic_write(path, "wb", who=name) as f:
        fig.savefig(f, format="png", dpi=dpi)
    plt.close(fig)
    return path


def run(main: Callable[[str], Any]) -> None:
    """``python docs/figures/<name>.py OUTDIR``: call ``main(OUTDIR)``, or print the usage.

    ``main`` runs with the BLAS threads a run of an example gets (`minigrad.runner.resolve_threads`:
    one unless ``MINIGRAD_NUM_THREADS`` or a BLAS variable says otherwise): the figures train small
    recurrent networks, which extra threads slow down when other work shares the cores.
    """
    if len(sys.argv) != 2:
        sys.exit(f"usage: python {sys.argv[0]} OUTDIR")
    from threadpoolctl import threadpool_limits

    from minigrad.runner import resolve_threads

    threads, _ = resolve_threads()
    with threadpool_limits(limits=threads, user_api="blas"):
        print(main(sys.argv[1]))
