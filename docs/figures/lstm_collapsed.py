"""A 2-layer bidirectional LSTM over 50 steps, its repeated steps collapsed into one box each.

    python docs/figures/lstm_collapsed.py OUTDIR     writes OUTDIR/lstm_collapsed.png

Drawn from the graph minigrad recorded (the composed loop, inside
``record_scopes``): each layer and direction keeps its input projection, and
its 50 identical steps become one box "step ×50" listing the ops of one step.
"""

import sys
from pathlib import Path

import minigrad as mg
from minigrad.io import atomic_write

NAME = "lstm_collapsed"


def main(outdir: str) -> Path:
    mg.manual_seed(0)
    lstm = mg.nn.LSTM(3, 4, num_layers=2, bidirectional=True)
    x = mg.randn(2, 50, 3)
    with mg.viz.record_scopes(), mg.nn.recurrent_impl("composed"):
        output, (h_n, c_n) = lstm(x)
    graph = mg.viz.draw_graph(output.sum(), model=lstm, collapse=True, rankdir="TB")
    graph.attr(dpi="72")
    path = Path(outdir) / f"{NAME}.png"
    with atomic_write(path, "wb", who=NAME) as f:
        f.write(graph.pipe(format="png"))
    return path


if __name__ == "__main__":
    print(main(sys.argv[1]))
