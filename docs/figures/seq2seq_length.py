"""Figure of the lesson "Encoder-decoder": greedy-decoding accuracy against string length.

Trains the seq2seq example's model (examples/seq2seq.py: an LSTM encoder and decoder, teacher forcing) to
reverse strings of 3 to 8 digits for a few epochs, then counts, for each length, the share of held-out
strings the decoder writes back entirely right and the share of right digits. Seeded; a few seconds.

    python docs/figures/seq2seq_length.py OUTDIR      writes OUTDIR/seq2seq_length.png
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

NAME = Path(__file__).stem
S2S = load_example("seq2seq")
MIN_LEN, MAX_LEN, EPOCHS, TRAIN, VALID = 3, 8, 4, 6000, 600


def train_model():
    """The example's model after EPOCHS epochs of teacher forcing, and the held-out strings."""
    train, valid = S2S.make_split(TRAIN, VALID, MIN_LEN, MAX_LEN, np.random.default_rng(0))
    mg.manual_seed(0)
    model = S2S.Seq2Seq("lstm", 16, 64)
    opt = mg.optim.Adam(model.parameters(), lr=0.005)
    for epoch in range(EPOCHS):
        order = np.random.default_rng(epoch).permutation(TRAIN)
        for s in range(0, TRAIN, 64):
            b = S2S.encode([train[r] for r in order[s:s + 64]], "reverse")
            loss = F.cross_entropy(model(b["src"], b["lengths"], b["dec_in"]), b["target"], ignore_index=S2S.IGNORE)
            opt.zero_grad()
            loss.backward()
            mg.nn.clip_grad_norm_(model.parameters(), max_norm=1.0)
            opt.step()
    return model, valid


def accuracy_by_length(model, valid) -> dict[int, tuple[float, float]]:
    """{length: (string accuracy, digit accuracy)} of greedy decoding."""
    out = {}
    for L in range(MIN_LEN, MAX_LEN + 1):
        strings = [s for s in valid if len(s) == L]
        out[L] = S2S.evaluate(model, strings, "reverse")
    return out


def main(outdir: str) -> Path:
    model, valid = train_model()
    acc = accuracy_by_length(model, valid)
    lengths = list(acc)
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.plot(lengths, [100 * acc[L][0] for L in lengths], marker="o", label="whole string right")
    ax.plot(lengths, [100 * acc[L][1] for L in lengths], marker="o", label="digits right")
    ax.set_xlabel("string length (digits)")
    ax.set_ylabel("held-out accuracy, greedy decoding (%)")
    ax.set_ylim(0, 105)
    ax.set_title(f"Reversing digit strings after {EPOCHS} epochs: longer is harder")
    ax.legend(loc="lower left")
    fig.tight_layout()
    return save_figure(fig, outdir, NAME, dpi=110)


if __name__ == "__main__":
    run(main)
