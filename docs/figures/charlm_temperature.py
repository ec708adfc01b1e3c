"""Figure of the lesson "Character-level language models": the next-character distribution at three temperatures.

Trains the charlm example's model (examples/charlm.py: Embedding, LSTM, Linear) on the first 6000 characters
of the shipped story for a few epochs of truncated BPTT, reads a prompt, and draws the probabilities of the
ten likeliest next characters under softmax(logits / temperature) for temperatures 0.5, 1 and 2.
Seeded; a few seconds.

    python docs/figures/charlm_temperature.py OUTDIR      writes OUTDIR/charlm_temperature.png
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from _figure import run, save_figure  # noqa: E402

import minigrad as mg  # noqa: E402
import minigrad.nn.functional as F  # noqa: E402
from minigrad.cli import load_example  # noqa: E402
from minigrad.nn.utils import detach_state, time_chunks  # noqa: E402

NAME = Path(__file__).stem
LM = load_example("charlm")
PROMPT = "The tide clock "
TEMPERATURES = (0.5, 1.0, 2.0)


def train(chars: str, ids: np.ndarray, epochs: int = 4) -> "LM.CharLM":
    mg.manual_seed(0)
    model = LM.CharLM(len(chars), 16, 64)
    opt = mg.optim.Adam(model.parameters(), lr=0.01)
    x, y = LM.streams(ids, 8)
    for _ in range(epochs):
        state = None
        for xc, yc in time_chunks(mg.tensor(x), mg.tensor(y), size=32):
            logits, state = model(xc, state)
            loss = F.cross_entropy(logits, yc)
            opt.zero_grad()
            loss.backward()
            mg.nn.clip_grad_norm_(model.parameters(), max_norm=1.0)
            opt.step()
            state = detach_state(state)
    return model


def next_char_logits(model, chars: str, prompt: str) -> np.ndarray:
    index = {c: i for i, c in enumerate(chars)}
    model.eval()
    with mg.no_grad():
        logits, _ = model(np.array([[index[c] for c in prompt]]))
    return logits.numpy()[0, -1].astype(np.float64)


def main(outdir: str) -> Path:
    text = LM.read_text(LM.DEFAULT_TEXT)[:6000]
    chars = LM.vocabulary(text)
    ids = np.array([chars.index(c) for c in text])
    z = next_char_logits(train(chars, ids), chars, PROMPT)
    top = np.argsort(-z)[:10]
    fig, axes = plt.subplots(1, 3, figsize=(9, 3.2), sharey=True)
    for ax, tau in zip(axes, TEMPERATURES):
        p = np.exp((z - z.max()) / tau)
        p /= p.sum()
        ax.bar(range(10), p[top], color="tab:blue")
        ax.set_xticks(range(10), [repr(chars[k])[1:-1] or " " for k in top])
        ax.set_title(f"temperature {tau:g}")
    axes[0].set_ylabel("probability of the next character")
    fig.suptitle(f"After {PROMPT!r}: the ten likeliest next characters")
    fig.tight_layout()
    return save_figure(fig, outdir, NAME, dpi=110)


if __name__ == "__main__":
    run(main)
