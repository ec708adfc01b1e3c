"""Figure of the lesson "Stacked layers and dropout": what the second layer of a stacked LSTM reads.

A two-layer LSTM with dropout 0.5 between its layers reads one random sequence. The figure shows the first
layer's outputs h^(1)_t for every unit and step as the second layer reads them: in evaluation mode (as
computed), in training mode (one draw of inverted dropout: half the values zeroed, the rest doubled), and
the mean of 500 training-mode draws, which is back to the evaluation values. Seeded; about a second.

    python docs/figures/dropout_between_layers.py OUTDIR      writes OUTDIR/dropout_between_layers.png
"""

from __future__ import annotations

import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import minigrad as mg  # noqa: E402
import minigrad.nn.functional as F  # noqa: E402
from minigrad.io import atomic_write  # noqa: E402

NAME = Path(__file__).stem
T, I, H, P, DRAWS = 30, 4, 16, 0.5, 500


def first_layer_outputs() -> np.ndarray:
    """h^(1)_t of a two-layer LSTM's first layer, (T, H): a one-layer LSTM holding its l0 weights."""
    mg.manual_seed(0)
    stacked = mg.nn.LSTM(I, H, num_layers=2, dropout=P)
    first = mg.nn.LSTM(I, H)
    first.load_state_dict({k: v for k, v in stacked.state_dict().items() if k.endswith("_l0")})
    with mg.no_grad():
        out, _ = first(mg.randn(1, T, I))
    return out


def main(outdir: str) -> Path:
    h = first_layer_outputs()
    one = F.dropout(h, P, True).numpy()[0]
    mean = np.mean([F.dropout(h, P, True).numpy()[0] for _ in range(DRAWS)], axis=0)
    panels = [(h.numpy()[0], "evaluation: as computed"), (one, f"training: one draw, p = {P}"),
              (mean, f"training: mean of {DRAWS} draws")]
    limit = float(np.abs(one).max())
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.6), sharey=True)
    for ax, (values, title) in zip(axes, panels):
        image = ax.imshow(values.T, aspect="auto", cmap="RdBu_r", vmin=-limit, vmax=limit)
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("time step t")
    axes[0].set_ylabel("unit of $h^{(1)}_t$")
    fig.colorbar(image, ax=axes, shrink=0.9)
    fig.suptitle("What layer 2 reads: layer 1's outputs after dropout", y=1.02)
    path = Path(outdir) / f"{NAME}.png"
    with atomic_write(path, "wb", who=NAME) as f:
        fig.savefig(f, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return path


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(f"usage: python {sys.argv[0]} OUTDIR")
    main(sys.argv[1])
