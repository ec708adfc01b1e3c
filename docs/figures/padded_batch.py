"""A padded batch and its mask (lesson 5): the notes' three reviews padded to the longest.

    python docs/figures/padded_batch.py OUTDIR     writes OUTDIR/padded_batch.png

Left: the word ids after ``mg.data.pad_sequences`` (0 = padding). Right: the
mask the recurrent layers build from ``lengths`` (1 at real steps).
"""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from _figure import run, save_figure

import minigrad as mg

NAME = "padded_batch"
REVIEWS = ["movie was good", "movie was bad", "movie was not good"]


def main(outdir: str) -> Path:
    vocab = {w: i + 1 for i, w in enumerate(["movie", "was", "good", "bad", "not"])}  # 0 is padding
    ids, lengths = mg.data.pad_sequences([[vocab[w] for w in r.split()] for r in REVIEWS])
    ids = np.asarray(ids.numpy() if hasattr(ids, "numpy") else ids)
    T = ids.shape[1]
    mask = np.arange(T)[None, :] < np.asarray(lengths)[:, None]
    words = {i: w for w, i in vocab.items()} | {0: "<pad>"}
    fig, axes = plt.subplots(1, 2, figsize=(8, 2.4))
    for ax, data, title, cmap in [(axes[0], ids, "padded ids (N, T)", "Blues"),
                                  (axes[1], mask.astype(int), "mask from lengths", "Greens")]:
        ax.imshow(data > 0, cmap=cmap, vmin=0, vmax=3, aspect="auto")
        for n in range(ids.shape[0]):
            for t in range(T):
                text = words[int(ids[n, t])] if data is ids else str(int(data[n, t]))
                ax.text(t, n, text, ha="center", va="center", fontsize=9,
                        color="black" if mask[n, t] else "#888888")
        ax.set_xticks(range(T), [f"t={t}" for t in range(T)])
        ax.set_yticks(range(len(REVIEWS)), [f"R{n + 1} (length {int(k)})" for n, k in enumerate(lengths)])
        ax.set_title(title)
    fig.tight_layout()
    return save_figure(fig, outdir, NAME, dpi=110)


if __name__ == "__main__":
    run(main)
