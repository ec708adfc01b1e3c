"""Figure of the page "Autograd from scratch": the graph minigrad records for ((x * 2 + 1) ** 2).sum().

Drawn by `minigrad.viz.draw_graph` from the recorded nodes themselves (needs Graphviz's ``dot``).

    python docs/figures/autograd_graph.py OUTDIR      writes OUTDIR/autograd_graph.png
"""

from __future__ import annotations

import sys
from pathlib import Path

import minigrad as mg
from minigrad.viz import draw_graph

NAME = Path(__file__).stem


def main(outdir: str) -> Path:
    x = mg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    loss = ((x * 2 + 1) ** 2).sum()
    path = Path(outdir) / f"{NAME}.png"
    draw_graph(loss, path, params={"x": x})
    return path


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(f"usage: python {sys.argv[0]} OUTDIR")
    main(sys.argv[1])
