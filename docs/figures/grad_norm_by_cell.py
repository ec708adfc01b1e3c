"""Gradient norm against time step for each cell type (lesson 2), read with the BPTT inspector.

    python docs/figures/grad_norm_by_cell.py OUTDIR     writes OUTDIR/grad_norm_by_cell.png

Each layer (hidden 16, PyTorch's initialisation, float64) reads the same 40
random steps; the loss sees the last hidden state only, so ||dL/dh_t|| shows
how much of the gradient survives the trip back from step 39 to step t.
"""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from _figure import run, save_figure

import minigrad as mg

NAME = "grad_norm_by_cell"
T, H = 40, 16
CELLS = {
    "RNN, sigmoid": lambda: mg.nn.RNN(8, H, nonlinearity="sigmoid", dtype="float64"),
    "RNN, tanh": lambda: mg.nn.RNN(8, H, dtype="float64"),
    "LSTM": lambda: mg.nn.LSTM(8, H, dtype="float64"),
    "GRU": lambda: mg.nn.GRU(8, H, dtype="float64"),
}


def grad_norms(layer, x) -> list[float]:
    with mg.nn.BPTTInspector(layer) as inspector:
        output, _ = layer(x)
        (output[:, -1] ** 2).sum().backward()
    return inspector.trace().grad_norms()


def main(outdir: str) -> Path:
    mg.manual_seed(0)
    x = mg.randn(4, T, 8, dtype="float64")
    fig, ax = plt.subplots(figsize=(7, 3.6))
    for name, make in CELLS.items():
        mg.manual_seed(1)
        ax.semilogy(range(T), grad_norms(make(), x), label=name, linewidth=2)
    ax.set_xlabel("time step t (the loss reads step 39)")
    ax.set_ylabel(r"$\|\partial L / \partial h_t\|$")
    ax.set_title("How much gradient reaches each step")
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(frameon=False)
    fig.tight_layout()
    return save_figure(fig, outdir, NAME, dpi=110)


if __name__ == "__main__":
    run(main)
