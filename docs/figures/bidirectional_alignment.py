"""The alignment of the two directions of a bidirectional layer (lesson 4), on a padded row.

    python docs/figures/bidirectional_alignment.py OUTDIR     writes OUTDIR/bidirectional_alignment.png

A bidirectional GRU reads a batch padded to T = 8 in which the row drawn has
length 5 (``lengths=[8, 5]``). For each output step t and input step s the
panels show $\\|\\partial h_t / \\partial x_s\\|$, computed by ``backward()``:
the forward half at step t has read steps 0..t, the reverse half steps t..4,
and nothing reads the padding (steps 5..7).
"""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from _figure import run, save_figure

import minigrad as mg

NAME = "bidirectional_alignment"
T, H, LENGTH = 8, 4, 5


def sensitivity(out, x, half: slice) -> np.ndarray:
    """``(T, T)``: row t, column s = ||d out[1, t, half] / d x[1, s]||."""
    rows = []
    for t in range(T):
        x.grad = None
        out[1, t, half].sum().backward(retain_graph=True)
        rows.append(np.linalg.norm(x.grad.numpy()[1], axis=-1))
    return np.array(rows)


def main(outdir: str) -> Path:
    mg.manual_seed(0)
    gru = mg.nn.GRU(3, H, bidirectional=True, dtype="float64")
    x = mg.randn(2, T, 3, dtype="float64", requires_grad=True)
    out, h_n = gru(x, lengths=[T, LENGTH])
    fig, axes = plt.subplots(1, 2, figsize=(8.5, 3.6), sharey=True)
    for ax, half, title in [(axes[0], slice(0, H), "forward half: reads steps 0 .. t"),
                            (axes[1], slice(H, 2 * H), f"reverse half: reads steps t .. {LENGTH - 1}")]:
        s = sensitivity(out, x, half)
        ax.imshow(np.where(s > 0, np.log10(s + 1e-300), np.nan), cmap="magma_r", aspect="equal")
        for t in range(T):
            for j in range(T):
                if s[t, j] == 0:
                    ax.text(j, t, "0", ha="center", va="center", fontsize=8, color="#999999")
        ax.axvspan(LENGTH - 0.5, T - 0.5, color="#dddddd", alpha=0.5, zorder=0)
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("input step s (5..7 padding)")
        ax.set_xticks(range(T))
        ax.set_yticks(range(T))
    axes[0].set_ylabel("output step t")
    fig.suptitle(r"$\|\partial h_t / \partial x_s\|$ for a row of length 5 padded to 8 (dark: large)",
                 fontsize=11)
    fig.tight_layout()
    return save_figure(fig, outdir, NAME, dpi=110)


if __name__ == "__main__":
    run(main)
