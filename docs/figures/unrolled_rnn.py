"""The notes' network unrolled over "movie was good", drawn from minigrad's recorded graph.

    python docs/figures/unrolled_rnn.py OUTDIR     writes OUTDIR/unrolled_rnn.png

An RNN with 5 inputs and 3 hidden units and a Linear head (lesson 1), run on
one review of 3 words with the composed loop inside ``record_scopes``: every
box of the drawing is an op the engine recorded, grouped by time step.
"""

import sys
from pathlib import Path

import minigrad as mg
from minigrad.io import atomic_write

NAME = "unrolled_rnn"


class Sentiment(mg.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.rnn = mg.nn.RNN(5, 3)
        self.head = mg.nn.Linear(3, 1)

    def forward(self, x):
        output, h_n = self.rnn(x)
        return self.head(output[:, -1]).sigmoid()


def main(outdir: str) -> Path:
    mg.manual_seed(0)
    model = Sentiment()
    x = mg.tensor([[[1, 0, 0, 0, 0], [0, 1, 0, 0, 0], [0, 0, 1, 0, 0]]], dtype="float32")  # movie was good
    with mg.viz.record_scopes(), mg.nn.recurrent_impl("composed"):
        y_hat = model(x)
    graph = mg.viz.draw_graph(y_hat, model=model, rankdir="TB")
    graph.attr(dpi="80")
    path = Path(outdir) / f"{NAME}.png"
    with atomic_write(path, "wb", who=NAME) as f:
        f.write(graph.pipe(format="png"))
    return path


if __name__ == "__main__":
    print(main(sys.argv[1]))
