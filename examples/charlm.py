"""A character-level language model: many-to-many LSTM, truncated BPTT, temperature sampling.

At every step the network reads one character and predicts the next, so the
loss is a cross-entropy over every time step (many-to-many). The text is cut
into ``--batch-size`` parallel streams; each stream is read in chunks of
``--bptt`` characters. The LSTM state flows from one chunk into the next (the
model keeps its memory of the text so far), but it is detached at the chunk
boundary, so each ``backward()`` walks back at most ``--bptt`` steps:
truncated backpropagation through time.

Validation loss is reported per character in nats and bits, with perplexity,
against a unigram baseline that ignores context (the character frequencies of
the training text). At the end the model writes samples: each next character
is drawn from softmax(logits / temperature).

    python examples/charlm.py            or            minigrad run charlm
"""

from __future__ import annotations

import math
import unicodedata
from pathlib import Path

import click
import numpy as np

import minigrad as mg
import minigrad.nn.functional as F
from minigrad.io import atomic_write
from minigrad.nn.utils import detach_state, time_chunks
from minigrad.runner import FloatRange, Run, example_options

DESCRIPTION = "character-level language model: LSTM, truncated BPTT, gradient clipping, temperature sampling"

DEFAULT_TEXT = Path(__file__).resolve().parent / "data" / "minigrad_tale.txt"
LN2 = math.log(2)


# -- data ----------------------------------------------------------------------
def nfc(text: str) -> str:
    """``text`` in Unicode NFC form: ``"é"`` is one character whether it was written composed or as ``"e"`` + U+0301."""
    return unicodedata.normalize("NFC", text)


def read_text(path: str | Path, option: str = "--text") -> str:
    """The UTF-8 text of ``path`` in NFC form, so the model sees the same characters whichever form the file used.

    A byte-order mark is dropped and Windows line ends (``\r\n``) read as ``\n``: neither is part of the text.
    A file that is not UTF-8 or is empty is a one-line error naming ``option``, the file and the first bad byte.
    """
    data = Path(path).read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        raise click.ClickException(f"{option} {path}: not UTF-8 text (byte 0x{data[e.start]:02x} at offset "
                                   f"{e.start}, line {line})") from None
    text = text.removeprefix("\ufeff").replace("\r\n", "\n")
    if not text:
        raise click.ClickException(f"{option} {path}: the file is empty")
    return nfc(text)


def vocabulary(text: str) -> str:
    """The characters of ``text`` in NFC form, sorted and without repeats: the model's vocabulary."""
    return "".join(sorted(set(nfc(text))))


def split_text(text: str, valid_fraction: float) -> tuple[str, str]:
    """The first part of the text for training, the last ``valid_fraction`` for validation."""
    cut = int(len(text) * (1 - valid_fraction))
    return text[:cut], text[cut:]


def check_split(path: str, train_text: str, valid_text: str, batch_size: int, bptt: int) -> None:
    """Refuse a text too short for the options: ``batch_size`` streams, each moved by up to ``bptt - 1``
    characters, need ``batch_size + bptt`` training characters; validation needs 2 (one input, one target)."""
    if len(train_text) < batch_size + bptt:
        raise click.ClickException(
            f"--text {path}: the training part has {len(train_text)} characters; --batch-size {batch_size} "
            f"streams with --bptt {bptt} need at least {batch_size + bptt} (a longer text or smaller options)")
    if len(valid_text) < 2:
        raise click.ClickException(f"--text {path}: the validation part (--valid-fraction) has "
                                   f"{len(valid_text)} character(s); it needs at least 2")


def streams(ids: np.ndarray, n: int, offset: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Cut ``ids[offset:]`` into ``n`` equal streams: inputs ``x (n, L)``, targets ``y (n, L)`` = x shifted by one."""
    ids = ids[offset:]
    L = (len(ids) - 1) // n
    if L < 1:
        raise click.ClickException(f"the text is too short for {n} streams ({len(ids)} characters)")
    x = np.stack([ids[k * L:(k + 1) * L] for k in range(n)])
    y = np.stack([ids[k * L + 1:(k + 1) * L + 1] for k in range(n)])
    return x, y


def perplexity(nats: float) -> float:
    """``exp(nats)``, ``inf`` where that overflows (a diverged model)."""
    return math.exp(nats) if nats < 709 else math.inf


def unigram_bits(train_ids: np.ndarray, valid_ids: np.ndarray, vocab_size: int) -> tuple[float, float]:
    """``(entropy of the training character frequencies, their cross-entropy on the validation text)`` in bits.

    Frequencies are add-one smoothed so that a character unseen in training costs
    a finite amount. This is the best a model can do without looking at context.
    """
    counts = np.bincount(train_ids, minlength=vocab_size) + 1.0
    p = counts / counts.sum()
    entropy = float(-(p * np.log2(p)).sum())
    cross = float(-np.log2(p[valid_ids]).mean())
    return entropy, cross


# -- model ---------------------------------------------------------------------
class CharLM(mg.nn.Module):
    """Embedding -> LSTM -> Dropout -> Linear at every step: ids (N, T) -> next-character logits (N, T, V).

    ``forward(ids, state)`` takes and returns the LSTM state ``(h, c)``, each
    ``(layers, N, H)``, so the caller decides what to carry and what to cut.
    """

    def __init__(self, vocab_size: int, embed: int, hidden: int, layers: int = 1, dropout: float = 0.0) -> None:
        super().__init__()
        self.embed = mg.nn.Embedding(vocab_size, embed)
        self.lstm = mg.nn.LSTM(embed, hidden, num_layers=layers, dropout=dropout)
        self.drop = mg.nn.Dropout(dropout)
        self.head = mg.nn.Linear(hidden, vocab_size)

    def forward(self, ids, state=None):
        out, state = self.lstm(self.embed(ids), state)
        return self.head(self.drop(out)), state


def evaluate(model: CharLM, x: np.ndarray, y: np.ndarray, chunk: int) -> float:
    """Mean loss per character (nats) over streams ``x``, ``y`` (N, L), the state carried through."""
    total, count, state = 0.0, 0, None
    model.eval()  # no dropout
    with mg.no_grad():
        for xc, yc in time_chunks(mg.tensor(x), mg.tensor(y), size=chunk):
            logits, state = model(xc, state)
            total += F.cross_entropy(logits, yc, reduction="sum").item()
            count += yc.numel()
    model.train()
    return total / count


def sample(model: CharLM, chars: str, prompt: str, length: int, temperature: float,
           rng: np.random.Generator) -> str:
    """``length`` characters that continue ``prompt``.

    Each character is drawn from softmax(logits / temperature): below 1 the
    distribution sharpens towards the likeliest characters, above 1 it flattens;
    ``temperature == 0`` always takes the likeliest (greedy decoding).
    """
    index = {c: i for i, c in enumerate(chars)}
    out = []
    model.eval()
    with mg.no_grad():
        logits, state = model(np.array([[index[c] for c in prompt]]))
        for _ in range(length):
            z = logits.numpy()[0, -1].astype(np.float64)
            if temperature <= 0:
                k = int(z.argmax())
            else:
                z = (z - z.max()) / temperature
                p = np.exp(z)
                k = int(rng.choice(len(chars), p=p / p.sum()))
            out.append(chars[k])
            logits, state = model(np.array([[k]]), state)
    model.train()
    return "".join(out)


def plot_curves(path: str, history: list[dict], unigram: float) -> None:
    try:
        import matplotlib
    except ImportError:
        raise click.ClickException("--plot needs matplotlib: pip install 'minigrad[plot]'") from None

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    epochs = [h["epoch"] for h in history]
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.plot(epochs, [h["train_bpc"] for h in history], marker="o", label="training")
    ax.plot(epochs, [h["valid_bpc"] for h in history], marker="o", label="validation")
    ax.axhline(unigram, color="tab:red", linestyle="--", label=f"unigram baseline ({unigram:.2f})")
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.set_xlabel("epoch")
    ax.set_ylabel("bits per character")
    ax.set_title("Character-level LSTM language model")
    ax.legend()
    fig.tight_layout()
    with atomic_write(path, "wb", who="--plot") as f:
        fig.savefig(f, format="png")
    plt.close(fig)


def show(text: str) -> str:
    """A sample for the terminal: indented continuation lines."""
    return text.replace("\n", "\n    ")


@click.command()
@example_options(epochs=12)
@click.option("--text", "text_path", type=click.Path(exists=True, dir_okay=False), default=str(DEFAULT_TEXT),
              show_default="examples/data/minigrad_tale.txt", help="UTF-8 text to learn.")
@click.option("--hidden", default=64, show_default=True, type=click.IntRange(min=1), help="LSTM hidden units.")
@click.option("--embed", default=32, show_default=True, type=click.IntRange(min=1), help="Character embedding size.")
@click.option("--layers", default=1, show_default=True, type=click.IntRange(min=1), help="Stacked LSTM layers.")
@click.option("--dropout", default=0.2, show_default=True, type=FloatRange(0, 1, max_open=True),
              help="Dropout on the LSTM outputs (training only).")
@click.option("--batch-size", default=8, show_default=True, type=click.IntRange(min=1),
              help="Parallel streams of text.")
@click.option("--bptt", default=32, show_default=True, type=click.IntRange(min=1),
              help="Truncation length: time steps per chunk (backward walks at most this far).")
@click.option("--lr", default=0.01, show_default=True, type=FloatRange(min=0, min_open=True),
              help="Adam learning rate.")
@click.option("--clip", default=1.0, show_default=True, type=FloatRange(min=0),
              help="Clip the gradient norm to this (0: no clipping).")
@click.option("--valid-fraction", default=0.1, show_default=True, type=FloatRange(0, 1, min_open=True, max_open=True),
              help="Share of the text (at its end) held out.")
@click.option("--temperature", default=0.7, show_default=True, type=FloatRange(min=0),
              help="Sampling temperature (0: always the likeliest character).")
@click.option("--sample-length", default=300, show_default=True, type=click.IntRange(min=0),
              help="Characters per sample.")
@click.option("--prompt", default="The ", show_default=True, help="Text the samples continue.")
def main(text_path, hidden, embed, layers, dropout, batch_size, bptt, lr, clip, valid_fraction, temperature,
         sample_length, prompt, **opts) -> None:
    """Character-level language model with truncated BPTT and temperature sampling."""
    text = read_text(text_path)
    chars = vocabulary(text)  # every character of the text
    prompt = nfc(prompt)  # typed or pasted in either form, it must match the text's characters
    if not prompt:
        raise click.BadParameter("--prompt needs at least one character")
    train_text, valid_text = split_text(text, valid_fraction)
    check_split(text_path, train_text, valid_text, batch_size, bptt)  # a text too short is the first problem
    unknown = sorted(set(prompt) - set(chars))
    if unknown:
        default = " (the default)" if click.get_current_context().get_parameter_source("prompt") is \
            click.core.ParameterSource.DEFAULT else ""
        raise click.BadParameter(f"--prompt {prompt!r}{default} has characters that are not in {text_path}: "
                                 f"{unknown}")
    with Run("charlm", options={"--hidden": hidden, "--embed": embed, "--layers": layers}, **opts) as run:
        if batch_size < run.world.size:
            raise click.ClickException(f"--batch-size {batch_size} streams cannot be shared by {run.world.size} "
                                       "processes: give each at least one stream")
        if run.checkpoint and run.checkpoint.get("extra", {}).get("vocab") != chars:
            raise click.ClickException(f"--resume {opts['resume']}: the checkpoint was trained on another text "
                                       f"(its vocabulary differs from {text_path}'s)")
        index = {c: i for i, c in enumerate(chars)}
        train_ids = np.array([index[c] for c in train_text], dtype=np.int64)
        valid_ids = np.array([index[c] for c in valid_text], dtype=np.int64)
        entropy, unigram = unigram_bits(train_ids, valid_ids, len(chars))
        # validation in up to 4 parallel streams (each starts from a zero state: a small cost at 4 places)
        vx, vy = streams(valid_ids, max(1, min(4, len(valid_ids) // 100)))
        run.echo(f"text: {text_path} ({len(text)} characters, vocabulary of {len(chars)})")
        run.echo(f"training {len(train_ids)} characters in {batch_size} streams, validation {len(valid_ids)}")
        run.echo(f"unigram baseline: entropy of the character frequencies {entropy:.3f} bits, "
                 f"{unigram:.3f} bits per validation character")

        model = CharLM(len(chars), embed, hidden, layers, dropout)
        opt = mg.optim.Adam(model.parameters(), lr=lr)
        run.echo(f"model: Embedding({len(chars)}, {embed}) -> LSTM({embed}, {hidden}, layers={layers}) -> "
                 f"Linear({hidden}, {len(chars)}): {sum(p.numel() for p in model.parameters())} parameters")
        run.track(model=model, optimizer=opt, extra={"vocab": chars})

        for epoch in run.epochs():
            # a new offset each epoch moves the chunk boundaries; Run seeded it, so a resumed run repeats it
            offset = run.broadcast_object(int(mg.get_backend().permutation(bptt)[0]))  # rank 0's everywhere
            x, y = streams(train_ids, batch_size, offset)
            rows = run.shard_rows(batch_size)  # --distributed: this rank's streams
            x, y = x[rows], y[rows]
            state, total, norms = None, 0.0, []
            chunks = list(time_chunks(mg.tensor(x), mg.tensor(y), size=bptt))
            for step, (xc, yc) in enumerate(run.progress(chunks, label=f"epoch {epoch + 1}"), start=1):
                logits, state = model(xc, state)
                loss = F.cross_entropy(logits, yc)  # mean over every step of every stream
                value = loss.item()
                run.check_loss(value, epoch, step)
                opt.zero_grad()
                loss.backward()
                run.allreduce_gradients(model.parameters(), weight=yc.numel())  # then clip the global gradient
                if clip > 0:
                    norms.append(mg.nn.clip_grad_norm_(model.parameters(), max_norm=clip))
                opt.step()
                state = detach_state(state)  # carry the values into the next chunk, cut the graph
                total += value * yc.numel()
            sums = run.reduce_sums(total=total, count=y.size)
            train_nats = sums["total"] / sums["count"]
            valid_nats = evaluate(model, vx, vy, chunk=128)
            run.log(epoch, train_bpc=train_nats / LN2, valid_bpc=valid_nats / LN2,
                    valid_perplexity=perplexity(valid_nats), grad_norm=float(np.mean(norms)) if norms else 0.0)
            if sample_length:
                line = sample(model, chars, prompt, min(60, sample_length), temperature,
                              np.random.default_rng(opts["seed"]))
                run.echo(f"    {prompt + line!r}")

        valid_nats = evaluate(model, vx, vy, chunk=128)
        valid_bpc = valid_nats / LN2
        samples = {}
        for t in (0.0, temperature) if temperature > 0 else (0.0,):
            samples[f"{t:g}"] = sample(model, chars, prompt, sample_length, t, np.random.default_rng(opts["seed"]))
        run.echo(f"\nvalidation: {valid_nats:.3f} nats = {valid_bpc:.3f} bits per character, perplexity "
                 f"{perplexity(valid_nats):.2f} (unigram {unigram:.3f} bits, perplexity {2 ** unigram:.2f})")
        for t, s in samples.items():
            label = "greedy (temperature 0)" if t == "0" else f"temperature {t}"
            run.echo(f"\nsample, {label}:\n    {show(prompt + s)}")
        if run.plot_path:
            with run.writing("--plot"):
                plot_curves(run.plot_path, run.history, unigram)
            run.echo(f"\nplot saved to {run.plot_path}")
        run.finish(
            f"charlm: validation {valid_bpc:.3f} bits per character (perplexity {perplexity(valid_nats):.2f}) vs "
            f"unigram {unigram:.3f} bits (perplexity {2 ** unigram:.2f}) after {run.n_epochs} epochs",
            valid_bits_per_char=valid_bpc,
            valid_nats_per_char=valid_nats,
            valid_perplexity=perplexity(valid_nats),
            unigram_bits_per_char=unigram,
            unigram_entropy_bits=entropy,
            vocab=chars,
            prompt=prompt,
            temperature=temperature,
            samples=samples,
            history=run.history,
        )


if __name__ == "__main__":
    main()
