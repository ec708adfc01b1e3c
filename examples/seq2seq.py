"""An encoder-decoder (sequence-to-sequence) network with teacher forcing: reverse or sort digit strings.

The encoder reads a string of digits (a padded batch with ``lengths``) and
its final state is the only thing the decoder learns from: the decoder starts
from it and writes the answer one digit at a time, then an end-of-sequence
token. During training the decoder is fed the *true* previous digit at every
step (teacher forcing: one call over the whole target when
``--teacher-forcing`` is 1); with a ratio below 1, each step feeds the true
digit with that probability and the decoder's own guess otherwise. At
evaluation it is fed its own guesses (greedy decoding: the likeliest token at
every step) until it writes the end token.

    inputs   3 1 4 1 5            (encoder, lengths 5)
    decoder  <s> 5 1 4 1 3        (teacher forcing: the target shifted right)
    target   5 1 4 1 3 </s>

Accuracy is counted on held-out strings (none of them is in the training
set): per string (every digit and the end token right) and per digit.

    python examples/seq2seq.py            or            minigrad run seq2seq
"""

from __future__ import annotations

import click
import numpy as np

import minigrad as mg
import minigrad.nn.functional as F
from minigrad.io import atomic_write
from minigrad.runner import FloatRange, Run, example_options

DESCRIPTION = "encoder-decoder with teacher forcing and greedy decoding: reverse or sort digit strings"

DIGITS = 10
BOS, EOS = 10, 11  # decoder start token, end of sequence
VOCAB = 12  # the digits 0-9, BOS, EOS (BOS doubles as the encoder's padding: masked by lengths)
IGNORE = -1  # target at padded steps: no loss
TOKENS = [str(d) for d in range(DIGITS)] + ["<s>", "</s>"]
CELLS = {"rnn": mg.nn.RNN, "gru": mg.nn.GRU, "lstm": mg.nn.LSTM}
TASKS = {"reverse": lambda s: s[::-1], "sort": sorted}
MAX_DRAWS = 50  # random draws allowed per validation string not in the training set


# -- data ----------------------------------------------------------------------
def draw_strings(n: int, min_len: int, max_len: int, rng: np.random.Generator) -> list[tuple[int, ...]]:
    """``n`` digit strings, each of a length drawn uniformly from [min_len, max_len] and digits drawn uniformly."""
    lengths = rng.integers(min_len, max_len + 1, size=n)
    return [tuple(int(d) for d in rng.integers(0, DIGITS, size=L)) for L in lengths]


def make_split(train_size: int, valid_size: int, min_len: int, max_len: int,
               rng: np.random.Generator) -> tuple[list[tuple[int, ...]], list[tuple[int, ...]]]:
    """Training strings, and distinct validation strings none of which is in the training set.

    Raises:
        click.ClickException: lengths this short have too few strings outside the training set.
    """
    train = draw_strings(train_size, min_len, max_len, rng)
    seen = set(train)
    valid: list[tuple[int, ...]] = []
    for _ in range(MAX_DRAWS):
        for s in draw_strings(valid_size, min_len, max_len, rng):
            if s not in seen and len(valid) < valid_size:
                seen.add(s)
                valid.append(s)
        if len(valid) == valid_size:
            return train, valid
    raise click.ClickException(
        f"--valid-size {valid_size}: strings of --min-len {min_len} to --max-len {max_len} digits gave only "
        f"{len(valid)} not already in the {train_size} training strings; use longer strings or fewer of them")


def encode(strings: list[tuple[int, ...]], task: str) -> dict[str, np.ndarray]:
    """Padded arrays for a batch of strings.

    Returns:
        ``src (N, S)`` digits padded with BOS, ``lengths (N,)``, ``dec_in (N, L + 1)`` = BOS then the answer,
        ``target (N, L + 1)`` = the answer then EOS, padded with ``IGNORE``.
    """
    n, S = len(strings), max(len(s) for s in strings)
    src = np.full((n, S), BOS, dtype=np.int64)
    dec_in = np.full((n, S + 1), EOS, dtype=np.int64)
    target = np.full((n, S + 1), IGNORE, dtype=np.int64)
    for i, s in enumerate(strings):
        answer = list(TASKS[task](s))
        src[i, :len(s)] = s
        dec_in[i, :len(s) + 1] = [BOS, *answer]
        target[i, :len(s) + 1] = [*answer, EOS]
    return {"src": src, "lengths": np.array([len(s) for s in strings]), "dec_in": dec_in, "target": target}


def show(tokens) -> str:
    return " ".join(TOKENS[t] for t in tokens)


# -- model ---------------------------------------------------------------------
class Seq2Seq(mg.nn.Module):
    """Encoder and decoder, each an Embedding and a recurrent layer; the decoder has a Linear head.

    ``forward(src, lengths, dec_in)``: digits ``src (N, S)`` with their ``lengths``, decoder inputs
    ``dec_in (N, L)`` -> logits ``(N, L, V)`` with teacher forcing (every step sees the given input).
    """

    def __init__(self, cell: str, embed: int, hidden: int) -> None:
        super().__init__()
        self.src_embed = mg.nn.Embedding(VOCAB, embed)
        self.encoder = CELLS[cell](embed, hidden)
        self.tgt_embed = mg.nn.Embedding(VOCAB, embed)
        self.decoder = CELLS[cell](embed, hidden)
        self.head = mg.nn.Linear(hidden, VOCAB)

    def encode(self, src, lengths):
        """The encoder's final state, taken at each string's last real digit (``h_n`` or ``(h_n, c_n)``)."""
        _, state = self.encoder(self.src_embed(src), lengths=lengths)
        return state

    def decode(self, dec_in, state):
        """Logits ``(N, L, V)`` for decoder inputs ``dec_in (N, L)`` from ``state``, and the state after."""
        out, state = self.decoder(self.tgt_embed(dec_in), state)
        return self.head(out), state

    def forward(self, src, lengths, dec_in):
        return self.decode(dec_in, self.encode(src, lengths))[0]


def scheduled_logits(model: Seq2Seq, batch: dict, ratio: float, rng: np.random.Generator):
    """Logits ``(N, L, V)`` decoding step by step: each step is fed the true previous token with probability
    ``ratio`` (per string), else the decoder's own likeliest guess (Bengio et al. 2015, scheduled sampling)."""
    state = model.encode(batch["src"], batch["lengths"])
    inp = batch["dec_in"][:, :1]
    steps = []
    for t in range(batch["dec_in"].shape[1]):
        logits, state = model.decode(inp, state)
        steps.append(logits)
        if t + 1 < batch["dec_in"].shape[1]:
            guess = logits.numpy()[:, 0].argmax(-1)
            truth = batch["dec_in"][:, t + 1]
            inp = np.where(rng.random(len(truth)) < ratio, truth, guess)[:, None]
    return mg.concat(steps, axis=1)


def greedy_decode(model: Seq2Seq, src: np.ndarray, lengths: np.ndarray, max_steps: int) -> np.ndarray:
    """The decoder fed its own likeliest token from BOS on: ids ``(N, max_steps)``, EOS-padded after the first EOS."""
    out = np.full((len(src), max_steps), EOS, dtype=np.int64)
    done = np.zeros(len(src), dtype=bool)
    with mg.no_grad():
        state = model.encode(src, lengths)
        inp = np.full((len(src), 1), BOS, dtype=np.int64)
        for t in range(max_steps):
            logits, state = model.decode(inp, state)
            k = logits.numpy()[:, 0].argmax(-1)
            out[:, t] = np.where(done, EOS, k)
            done |= k == EOS
            if done.all():
                break
            inp = k[:, None]
    return out


def evaluate(model: Seq2Seq, strings: list[tuple[int, ...]], task: str, batch: int = 500) -> tuple[float, float]:
    """``(string accuracy, digit accuracy)`` of greedy decoding: a string counts when every digit and the end
    token are right; digits are compared position by position over each answer's length."""
    exact = digits = total = 0
    model.eval()
    for s in range(0, len(strings), batch):
        b = encode(strings[s:s + batch], task)
        pred = greedy_decode(model, b["src"], b["lengths"], b["target"].shape[1])
        real = b["target"] != IGNORE
        exact += int(((pred == b["target"]) | ~real).all(axis=1).sum())
        answer = real & (b["target"] != EOS)
        digits += int(((pred == b["target"]) & answer).sum())
        total += int(answer.sum())
    model.train()
    return exact / len(strings), digits / total


def plot_curves(path: str, history: list[dict], task: str) -> None:
    try:
        import matplotlib
    except ImportError:
        raise click.ClickException("--plot needs matplotlib: pip install 'minigrad[plot]'") from None

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    epochs = [h["epoch"] for h in history]
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.plot(epochs, [100 * h["valid_string_accuracy"] for h in history], marker="o", label="whole string")
    ax.plot(epochs, [100 * h["valid_digit_accuracy"] for h in history], marker="o", label="per digit")
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.set_xlabel("epoch")
    ax.set_ylabel("validation accuracy, greedy decoding (%)")
    ax.set_ylim(0, 105)
    ax.set_title(f"Encoder-decoder, task: {task}")
    ax.legend()
    fig.tight_layout()
    with atomic_write(path, "wb", who="--plot") as f:
        fig.savefig(f, format="png")
    plt.close(fig)


@click.command()
@example_options(epochs=10)
@click.option("--task", type=click.Choice(list(TASKS)), default="reverse", show_default=True,
              help="What the decoder writes: the digits reversed or sorted.")
@click.option("--cell", type=click.Choice(list(CELLS)), default="lstm", show_default=True, help="Recurrent cell.")
@click.option("--hidden", default=64, show_default=True, type=click.IntRange(min=1), help="Hidden units.")
@click.option("--embed", default=16, show_default=True, type=click.IntRange(min=1), help="Token embedding size.")
@click.option("--min-len", default=3, show_default=True, type=click.IntRange(min=1), help="Shortest string.")
@click.option("--max-len", default=8, show_default=True, type=click.IntRange(min=1), help="Longest string.")
@click.option("--train-size", default=10000, show_default=True, type=click.IntRange(min=1), help="Training strings.")
@click.option("--valid-size", default=500, show_default=True, type=click.IntRange(min=1),
              help="Validation strings (none in the training set).")
@click.option("--batch-size", default=64, show_default=True, type=click.IntRange(min=1),
              help="Strings per training step.")
@click.option("--lr", default=0.005, show_default=True, type=FloatRange(min=0, min_open=True),
              help="Adam learning rate.")
@click.option("--clip", default=1.0, show_default=True, type=FloatRange(min=0),
              help="Clip the gradient norm to this (0: no clipping).")
@click.option("--teacher-forcing", default=1.0, show_default=True, type=FloatRange(0, 1),
              help="Probability of feeding the decoder the true previous digit during training (1: always).")
def main(task, cell, hidden, embed, min_len, max_len, train_size, valid_size, batch_size, lr, clip,
         teacher_forcing, **opts) -> None:
    """Encoder-decoder with teacher forcing: reverse or sort strings of digits."""
    if min_len > max_len:
        source = click.get_current_context().get_parameter_source
        shown = {name: f"--{name.replace('_', '-')} {value}"
                 + (" (the default)" if source(name) is click.core.ParameterSource.DEFAULT else "")
                 for name, value in (("min_len", min_len), ("max_len", max_len))}
        raise click.BadParameter(f"{shown['min_len']} is above {shown['max_len']}")
    train, valid = make_split(train_size, valid_size, min_len, max_len, np.random.default_rng(opts["seed"]))
    architecture = {"--task": task, "--cell": cell, "--hidden": hidden, "--embed": embed}
    with Run("seq2seq", options=architecture, **opts) as run:
        run.echo(f"task: {task}, e.g. {show(train[0])} -> {show(TASKS[task](train[0]))}")
        run.echo(f"{train_size} training and {valid_size} validation strings of {min_len}-{max_len} digits "
                 f"(none of the validation strings is in the training set)")
        model = Seq2Seq(cell, embed, hidden)
        opt = mg.optim.Adam(model.parameters(), lr=lr)
        run.echo(f"model: {cell.upper()} encoder -> {cell.upper()} decoder, hidden {hidden}: "
                 f"{sum(p.numel() for p in model.parameters())} parameters; teacher forcing {teacher_forcing:g}")
        run.track(model=model, optimizer=opt)

        string_acc = digit_acc = None
        for epoch in run.epochs():
            order = run.broadcast_object(mg.get_backend().permutation(train_size))  # --distributed: rank 0's
            rng = np.random.default_rng(int(mg.get_backend().permutation(2**16)[0]))  # seeded by the epoch (and rank)
            total, count = 0.0, 0
            batches = [order[s:s + batch_size] for s in range(0, train_size, batch_size)]
            for step, rows in enumerate(run.progress(batches, label=f"epoch {epoch + 1}"), start=1):
                strings = len(rows)
                rows = rows[run.shard_rows(strings)]  # --distributed: this rank's strings of the batch
                opt.zero_grad()
                value, tokens = 0.0, 0
                if len(rows):
                    b = encode([train[r] for r in rows], task)
                    if teacher_forcing >= 1:
                        logits = model(b["src"], b["lengths"], b["dec_in"])
                    else:
                        logits = scheduled_logits(model, b, teacher_forcing, rng)
                    loss = F.cross_entropy(logits, b["target"], ignore_index=IGNORE)
                    value, tokens = loss.item(), int((b["target"] != IGNORE).sum())
                    run.check_loss(value, epoch, step)
                    loss.backward()
                run.allreduce_gradients(model.parameters(), weight=tokens)  # the loss is a mean over tokens
                if run.world.size > 1:  # the whole batch's loss, as one process has it
                    sums = run.reduce_sums(loss=value * tokens, tokens=tokens)
                    value = sums["loss"] / sums["tokens"]
                if clip > 0:
                    mg.nn.clip_grad_norm_(model.parameters(), max_norm=clip)
                opt.step()
                total += value * strings
                count += strings
            string_acc, digit_acc = evaluate(model, valid, task)
            run.log(epoch, loss=total / count, valid_string_accuracy=string_acc, valid_digit_accuracy=digit_acc)
        if string_acc is None:  # resumed from the last epoch: evaluate the loaded weights
            string_acc, digit_acc = evaluate(model, valid, task)

        b = encode(valid[:3], task)
        pred = greedy_decode(model, b["src"], b["lengths"], b["target"].shape[1])
        run.echo("\ngreedy decoding of validation strings:")
        for s, p in zip(valid[:3], pred):
            written = list(p[:list(p).index(EOS)] if EOS in p else p)
            mark = "right" if written == list(TASKS[task](s)) else "wrong"
            run.echo(f"  {show(s):<18} -> {show(written):<18} {mark}")
        if run.plot_path:
            with run.writing("--plot"):
                plot_curves(run.plot_path, run.history, task)
            run.echo(f"plot saved to {run.plot_path}")
        run.finish(
            f"seq2seq: {task} {min_len}-{max_len} digits, greedy decoding {string_acc:.1%} of validation strings "
            f"right ({digit_acc:.1%} of digits) after {run.n_epochs} epochs",
            valid_string_accuracy=string_acc,
            valid_digit_accuracy=digit_acc,
            task=task,
            cell=cell,
            teacher_forcing=teacher_forcing,
            history=run.history,
        )


if __name__ == "__main__":
    main()
