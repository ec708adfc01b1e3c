"""Figure of the lesson "Initialisation": ||dL/dh_t|| against t for four ways to start the same layers.

A tanh RNN with PyTorch's default W_hh and with an orthogonal W_hh (Saxe et al. 2013), an LSTM with the
default forget-gate bias and with a forget bias of 1 (Jozefowicz et al. 2015) read the same random
sequences; a loss on the last hidden state is backpropagated and the BPTT inspector records the norm of
the gradient reaching every step. Float64, seeded, under a second.

    python docs/figures/init_gradient_norms.py OUTDIR      writes OUTDIR/init_gradient_norms.png
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from _figure import run, save_figure  # noqa: E402

import minigrad as mg  # noqa: E402
import minigrad.nn.functional as F  # noqa: E402

NAME = Path(__file__).stem
N, T, I, H = 8, 60, 4, 64


def layers() -> dict[str, mg.nn.Module]:
    """The four layers, each drawn from the same seed."""
    out = {}
    for key in ("tanh RNN, default", "tanh RNN, orthogonal W_hh", "LSTM, default", "LSTM, forget bias 1"):
        mg.manual_seed(0)
        layer = (mg.nn.RNN if "RNN" in key else mg.nn.LSTM)(I, H, dtype="float64")
        if "orthogonal" in key:
            mg.nn.init.orthogonal_(layer.weight_hh_l0)
        if "forget" in key:
            layer.bias_ih_l0.data[H:2 * H] = 1.0  # the f block of (i, f, g, o)
            layer.bias_hh_l0.data[H:2 * H] = 0.0
        out[key] = layer
    return out


def grad_norms() -> dict[str, list[float]]:
    """||dL/dh_t|| for t = 0 .. T-1, for every layer."""
    mg.manual_seed(1)
    x = mg.randn(N, T, I, dtype="float64")
    norms = {}
    for key, layer in layers().items():
        with mg.nn.BPTTInspector() as inspector:
            out, _ = layer(x)
            F.mse_loss(out[:, -1], mg.zeros(N, H, dtype="float64")).backward()
        norms[key] = inspector.trace(module=layer).grad_norms()
    return norms


def main(outdir: str) -> Path:
    norms = grad_norms()
    fig, ax = plt.subplots(figsize=(7, 4))
    for (key, values), style in zip(norms.items(), ["--", "-", "--", "-"]):
        ax.semilogy(range(T), values, style, label=key)
    ax.set_xlabel("time step t (the loss reads the last step)")
    ax.set_ylabel(r"$\|\partial L / \partial h_t\|$")
    ax.set_title("Gradient reaching each step, by initialisation")
    ax.legend()
    fig.tight_layout()
    return save_figure(fig, outdir, NAME, dpi=110)


if __name__ == "__main__":
    run(main)
