"""Accuracy against sequence length (lesson 3): the memory task at a tiny size.

    python docs/figures/accuracy_vs_length.py OUTDIR     writes OUTDIR/accuracy_vs_length.png

The ``memory`` example's task: a cue (A or B), then T random distractors; the
label is the cue. A simple RNN, an LSTM and a GRU (hidden 8, Adam lr 0.02, the
example's gate-bias initialisation) train for 120 steps of 32 fresh sequences
at each T and are scored on 256 held-out sequences. Chance is 0.5.
A few seconds; ``minigrad run memory --plot`` is the full-size run.
"""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import matplotlib.ticker
import numpy as np
from _figure import run, save_figure

import minigrad as mg
from minigrad.cli import load_example

NAME = "accuracy_vs_length"
LENGTHS = [2, 5, 10, 20, 40]
STEPS, BATCH, HIDDEN = 120, 32, 8


def train(memory, kind: str, T: int) -> float:
    mg.manual_seed(0)
    model = memory.Recall(kind, HIDDEN, gate_bias=3.0)
    opt = mg.optim.Adam(model.parameters(), lr=0.02)
    rng = np.random.default_rng(0)
    for _ in range(STEPS):
        x, y = memory.make_batch(rng, BATCH, T)
        loss = mg.nn.functional.binary_cross_entropy_with_logits(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    x, y = memory.make_batch(np.random.default_rng(1), 256, T)
    return memory.accuracy(model, x, y)


def main(outdir: str) -> Path:
    memory = load_example("memory")
    fig, ax = plt.subplots(figsize=(7, 3.4))
    for kind, label, style in [("rnn_tanh", "RNN (tanh)", "o-"), ("lstm", "LSTM", "s--"), ("gru", "GRU", "^:")]:
        accuracy = [train(memory, kind, T) for T in LENGTHS]
        ax.plot(LENGTHS, accuracy, style, linewidth=2, markersize=7, label=label)
    ax.axhline(0.5, color="#888888", linestyle="--", linewidth=1, label="chance")
    ax.set_xscale("log")
    ax.set_xticks(LENGTHS, [str(T) for T in LENGTHS])
    ax.xaxis.set_minor_locator(matplotlib.ticker.NullLocator())
    ax.set_ylim(0.4, 1.02)
    ax.set_xlabel("distractors T between the cue and the answer")
    ax.set_ylabel("held-out accuracy")
    ax.set_title(f"Remembering the first token ({STEPS} training steps each)")
    ax.legend(frameon=False)
    ax.grid(True, alpha=0.3)
    fig.tight_layout()
    return save_figure(fig, outdir, NAME, dpi=110)


if __name__ == "__main__":
    run(main)
