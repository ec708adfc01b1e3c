"""LSTM gate activations through time (lesson 3), read with the BPTT inspector.

    python docs/figures/lstm_gates.py OUTDIR     writes OUTDIR/lstm_gates.png

An LSTM (hidden 8) trained for 150 steps on the ``memory`` task (remember the
cue A or B across 20 distractors) reads one sequence; the inspector records
every step's input gate i, forget gate f, output gate o and cell c. Each panel
is (unit, time step).
"""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from _figure import run, save_figure

import minigrad as mg
from minigrad.cli import load_example

NAME = "lstm_gates"
T, STEPS = 20, 150


def main(outdir: str) -> Path:
    memory = load_example("memory")
    mg.manual_seed(0)
    model = memory.Recall("lstm", 8, gate_bias=3.0)
    opt = mg.optim.Adam(model.parameters(), lr=0.02)
    rng = np.random.default_rng(0)
    for _ in range(STEPS):
        x, y = memory.make_batch(rng, 32, T)
        loss = mg.nn.functional.binary_cross_entropy_with_logits(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    x, y = memory.make_batch(np.random.default_rng(3), 1, T)
    with mg.no_grad(), mg.nn.BPTTInspector(model) as inspector:
        model(x)
    trace = inspector.trace()
    fig, axes = plt.subplots(2, 2, figsize=(8, 5.2), sharex=True, sharey=True)
    for ax, gate, title in zip(axes.flat, "ifoc", ["input gate i", "forget gate f", "output gate o", "cell c"]):
        values = trace.gate(gate).numpy()[:, 0, :].T  # (H, T + 1): one row per unit
        lim = (0, 1) if gate != "c" else (-np.abs(values).max(), np.abs(values).max())
        image = ax.imshow(values, aspect="auto", cmap="viridis" if gate != "c" else "coolwarm",
                          vmin=lim[0], vmax=lim[1])
        ax.set_title(title)
        fig.colorbar(image, ax=ax, fraction=0.046)
    for ax in axes[:, 0]:
        ax.set_ylabel("unit")
    for ax in axes[1]:
        ax.set_xlabel("time step t")
    cue = memory.describe(x, y).split()[0]
    fig.suptitle(f"One sequence: cue {cue} at t = 0, then {T} distractors", fontsize=11)
    fig.tight_layout()
    return save_figure(fig, outdir, NAME, dpi=100)


if __name__ == "__main__":
    run(main)
