"""Figure of the lesson "Embeddings versus one-hot": what the input costs as the vocabulary grows.

For a batch of N = 32 sequences of T = 50 tokens feeding an LSTM with H = 128, it measures the bytes of the
input minigrad builds (`mg.data.one_hot` of the ids: (N, T, V) float32, against the (N, T) int64 ids an
embedding reads) and of the weights of the first step (W_ih of an LSTM reading one-hot vectors, (4H, V),
against an Embedding(V, 64) and W_ih (4H, 64)), from the arrays themselves, for V from 10 to 20 000.

    python docs/figures/embedding_vs_onehot.py OUTDIR      writes OUTDIR/embedding_vs_onehot.png
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from _figure import run, save_figure  # noqa: E402

import minigrad as mg  # noqa: E402

NAME = Path(__file__).stem
N, T, H, E = 32, 50, 128, 64
VOCABS = [10, 100, 1000, 5000, 20000]


def measure(V: int) -> dict[str, int]:
    """Bytes of the input and of the first layer's weights, one-hot against embedding, for vocabulary V."""
    ids = np.random.default_rng(0).integers(0, V, size=(N, T))
    onehot_lstm = mg.nn.LSTM(V, H)
    emb, emb_lstm = mg.nn.Embedding(V, E), mg.nn.LSTM(E, H)
    return {
        "one-hot input": mg.data.one_hot(ids, V).nbytes,
        "ids": mg.tensor(ids).numpy().nbytes,
        "one-hot W_ih": onehot_lstm.weight_ih_l0.numpy().nbytes,
        "embedding + W_ih": emb.weight.numpy().nbytes + emb_lstm.weight_ih_l0.numpy().nbytes,
    }


def main(outdir: str) -> Path:
    mg.manual_seed(0)
    rows = [measure(V) for V in VOCABS]
    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.6))
    for ax, keys, title in ((left, ("one-hot input", "ids"), f"input batch (N={N}, T={T})"),
                            (right, ("one-hot W_ih", "embedding + W_ih"), f"first-layer weights (H={H}, E={E})")):
        for key in keys:
            ax.loglog(VOCABS, [r[key] / 2**20 for r in rows], marker="o", label=key)
        ax.set_xlabel("vocabulary size V")
        ax.set_title(title)
        ax.legend()
    left.set_ylabel("MiB")
    fig.tight_layout()
    return save_figure(fig, outdir, NAME, dpi=110)


if __name__ == "__main__":
    run(main)
