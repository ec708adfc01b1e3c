"""When a token's label depends on what comes after it: forward-only vs bidirectional RNNs.

The task is many-to-many sequence labelling on padded batches of different
lengths. Tokens are the markers ``A`` and ``B`` and filler letters ``c``-``h``;
each token is tagged with the pair (last marker before it, next marker after
it), each of which is ``A``, ``B`` or ``-`` (none), so there are 9 tags:

    tokens   c  A  d  e  B  f  g
    tags    -A -B AB AB A- B- B-        (before, after)

The "before" half needs the past, the "after" half the future. A forward-only
RNN at step t has read only tokens 1..t, so for the "after" half it can do no
better than guess from the position; the example computes that ceiling
exactly and shows the forward-only network stuck at it, while a bidirectional
network (one RNN reading left to right, another right to left, their states
joined at every step) tags nearly every token right. The same bidirectional
idea is then built with ``mg.nn.Bidirectional`` and its four merge modes.

    python examples/bidirectional.py            or            minigrad run bidirectional
"""

from __future__ import annotations

import click
import numpy as np

import minigrad as mg
import minigrad.nn.functional as F
from minigrad.io import atomic_write
from minigrad.runner import FloatRange, Run, example_options

DESCRIPTION = "tag each token with the markers around it: forward-only vs bidirectional RNNs and merge modes"

TOKENS = ["_", "A", "B", "c", "d", "e", "f", "g", "h"]  # id 0 is padding
PAD, A, B = 0, 1, 2
MARKS = "-AB"  # tag halves: 0 none, 1 A, 2 B (the markers' token ids double as their tag halves)
IGNORE = -1  # the target at padded steps: no loss, not counted in the accuracy
CELLS = {"rnn": mg.nn.RNN, "gru": mg.nn.GRU, "lstm": mg.nn.LSTM}
MERGE_MODES = ("concat", "sum", "mul", "ave")


# -- data ----------------------------------------------------------------------
def tags_of(seq: list[int]) -> list[int]:
    """Tag of each token: 3 * (last marker before it) + (next marker after it)."""
    before, after = [], []
    last = 0
    for tok in seq:
        before.append(last)
        if tok in (A, B):
            last = tok
    last = 0
    for tok in reversed(seq):
        after.append(last)
        if tok in (A, B):
            last = tok
    return [3 * b + a for b, a in zip(before, after[::-1])]


def tag_names(tags) -> str:
    """Tags as text, e.g. ``"-A AB"`` (marker before, marker after; ``-`` none)."""
    return " ".join(MARKS[t // 3] + MARKS[t % 3] for t in tags)


def make_data(n: int, min_len: int, max_len: int, p_marker: float, rng: np.random.Generator):
    """``n`` random sequences, padded: ids (N, T) int64, lengths (N,), tags (N, T) with IGNORE at padding.

    Each position is ``A`` with probability ``p_marker``, ``B`` with the same
    probability and a random filler otherwise; lengths are uniform in [min_len, max_len].
    """
    lengths = rng.integers(min_len, max_len + 1, size=n)
    T = int(lengths.max())
    ids = np.full((n, T), PAD, dtype=np.int64)
    tags = np.full((n, T), IGNORE, dtype=np.int64)
    for i, L in enumerate(lengths):
        u = rng.random(L)
        seq = np.where(u < p_marker, A, np.where(u < 2 * p_marker, B, rng.integers(3, len(TOKENS), size=L)))
        ids[i, :L] = seq
        tags[i, :L] = tags_of(seq.tolist())
    return ids, lengths.tolist(), tags


def forward_ceiling(lengths: list[int], tags: np.ndarray, min_len: int, max_len: int, p_marker: float) -> float:
    """The best per-token accuracy any model reading only the past can reach on this data.

    At step t (0-based) such a model knows the "before" half exactly and that the
    sequence has at least t + 1 tokens, nothing about the rest: its best guess of
    the "after" half is "none" when P(no marker in the rest | t) beats P(A | t) = P(B | t),
    else one of the markers. The tokens after t are independent of those before.
    """
    q = 1 - 2 * p_marker  # P(a position holds no marker)
    hits = total = 0
    for i, L in enumerate(lengths):
        for t in range(L):
            rest = np.arange(max(min_len, t + 1), max_len + 1) - t - 1  # possible numbers of later tokens
            p_none = float(np.mean(q**rest))
            guess = 0 if p_none >= (1 - p_none) / 2 else A
            hits += int(tags[i, t] % 3 == guess)
            total += 1
    return hits / total


# -- models --------------------------------------------------------------------
class Tagger(mg.nn.Module):
    """Embedding -> recurrent layer -> Linear on every step: ids (N, T) -> tag logits (N, T, 9)."""

    def __init__(self, rnn: mg.nn.Module, features: int, embed: int) -> None:
        super().__init__()
        self.embed = mg.nn.Embedding(len(TOKENS), embed, padding_idx=PAD)
        self.rnn = rnn
        self.head = mg.nn.Linear(features, 9)

    def forward(self, ids, lengths: list[int]) -> mg.Tensor:
        out, _ = self.rnn(self.embed(ids), lengths=lengths)
        return self.head(out)


def build_models(cell: str, embed: int, hidden: int) -> dict[str, Tagger]:
    """The networks compared, each seeing ``2 * hidden`` features per step except sum/mul/ave (``hidden``)."""
    Cell = CELLS[cell]
    models = {
        # forward-only, as wide as the bidirectional output: width is not what it lacks
        "forward": Tagger(Cell(embed, 2 * hidden), 2 * hidden, embed),
        "bidirectional": Tagger(Cell(embed, hidden, bidirectional=True), 2 * hidden, embed),
    }
    for mode in MERGE_MODES:
        width = 2 * hidden if mode == "concat" else hidden
        # both directions given explicitly: one layer reads left to right, the other (fed reversed input) right to left
        layer = mg.nn.Bidirectional(Cell(embed, hidden), merge_mode=mode, backward_layer=Cell(embed, hidden))
        models[mode] = Tagger(layer, width, embed)
    return models


def accuracy(model: Tagger, ids: np.ndarray, lengths: list[int], tags: np.ndarray, batch: int = 500) -> float:
    """Share of real (non-padding) tokens whose tag is predicted right."""
    hits = 0
    with mg.no_grad():
        for s in range(0, len(ids), batch):
            n = lengths[s:s + batch]
            T = max(n)
            pred = model(ids[s:s + batch, :T], n).numpy().argmax(-1)
            y = tags[s:s + batch, :T]
            hits += int(((pred == y) & (y != IGNORE)).sum())
    return hits / int((tags != IGNORE).sum())


def plot_bars(path: str, results: dict[str, float], ceiling: float, cell: str) -> None:
    try:
        import matplotlib
    except ImportError:
        raise click.ClickException("--plot needs matplotlib: pip install 'minigrad[plot]'") from None

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(results)
    colors = ["tab:gray"] + ["tab:blue"] + ["tab:green"] * (len(names) - 2)
    fig, ax = plt.subplots(figsize=(7, 4))
    bars = ax.bar(names, [100 * results[k] for k in names], color=colors)
    ax.bar_label(bars, fmt="%.1f")
    ax.axhline(100 * ceiling, color="tab:red", linestyle="--",
               label=f"best possible from the past ({100 * ceiling:.1f}%)")
    ax.set_ylabel("validation accuracy per token (%)")
    ax.set_ylim(0, 119)
    ax.set_title(f"Tagging with the future: forward-only vs bidirectional {cell.upper()}")
    ax.set_xticks(range(len(names)), ["forward\nonly", "bidirectional\n=True"] + [f"wrapper\n{m}" for m in names[2:]])
    ax.legend(loc="upper left", frameon=False)
    fig.tight_layout()
    with atomic_write(path, "wb", who="--plot") as f:
        fig.savefig(f, format="png")
    plt.close(fig)


@click.command()
@example_options(epochs=5)
@click.option("--cell", type=click.Choice(list(CELLS)), default="rnn", show_default=True, help="Recurrent cell.")
@click.option("--hidden", default=16, show_default=True, type=click.IntRange(min=1),
              help="Hidden units per direction.")
@click.option("--embed", default=8, show_default=True, type=click.IntRange(min=1), help="Token embedding size.")
@click.option("--train-size", default=2000, show_default=True, type=click.IntRange(min=1), help="Training sequences.")
@click.option("--valid-size", default=500, show_default=True, type=click.IntRange(min=1),
              help="Validation sequences.")
@click.option("--min-len", default=4, show_default=True, type=click.IntRange(min=1), help="Shortest sequence.")
@click.option("--max-len", default=16, show_default=True, type=click.IntRange(min=1), help="Longest sequence.")
@click.option("--p-marker", default=0.1, show_default=True, type=FloatRange(0, 0.5, min_open=True, max_open=True),
              help="Probability of each marker (A, B) at a position.")
@click.option("--batch-size", default=100, show_default=True, type=click.IntRange(min=1),
              help="Sequences per training step.")
@click.option("--lr", default=0.02, show_default=True, type=FloatRange(min=0, min_open=True),
              help="Adam learning rate.")
def main(cell, hidden, embed, train_size, valid_size, min_len, max_len, p_marker, batch_size, lr, **opts) -> None:
    """Sequence labelling that needs the future: forward-only vs bidirectional RNNs."""
    if min_len > max_len:
        source = click.get_current_context().get_parameter_source
        shown = {name: f"--{name.replace('_', '-')} {value}"
                 + (" (the default)" if source(name) is click.core.ParameterSource.DEFAULT else "")
                 for name, value in (("min_len", min_len), ("max_len", max_len))}
        raise click.BadParameter(f"{shown['min_len']} is above {shown['max_len']}")
    architecture = {"--cell": cell, "--hidden": hidden, "--embed": embed}
    with Run("bidirectional", options=architecture, **opts) as run:
        rng = np.random.default_rng(opts["seed"])
        train = make_data(train_size, min_len, max_len, p_marker, rng)
        valid = make_data(valid_size, min_len, max_len, p_marker, rng)
        ceiling = forward_ceiling(valid[1], valid[2], min_len, max_len, p_marker)
        ids, lengths, tags = train
        example = ids[0, : lengths[0]]
        run.echo("tokens: " + " ".join(f"{TOKENS[k]:>2}" for k in example))
        run.echo("tags:   " + tag_names(tags[0, : lengths[0]]))
        run.echo(f"{train_size} training and {valid_size} validation sequences of {min_len}-{max_len} tokens, "
                 f"padded per batch; 9 tags (marker before x marker after)")
        run.echo(f"best accuracy possible from the past alone: {ceiling:.1%}")

        models = build_models(cell, embed, hidden)
        optimizers = {k: mg.optim.Adam(m.parameters(), lr=lr) for k, m in models.items()}
        params = {k: sum(p.numel() for p in m.parameters()) for k, m in models.items()}
        run.echo("parameters: " + ", ".join(f"{k} {v}" for k, v in params.items()))
        run.track(**models, **{f"optimizer_{k}": o for k, o in optimizers.items()})

        results = {}
        for epoch in run.epochs():
            order = mg.get_backend().permutation(train_size)  # the same batches for every model
            order = run.broadcast_object(order)  # --distributed: rank 0's order on every rank
            batches = [order[s:s + batch_size] for s in range(0, train_size, batch_size)]
            losses = {k: 0.0 for k in models}
            for step, rows in enumerate(run.progress(batches, label=f"epoch {epoch + 1}"), start=1):
                rows = rows[run.shard_rows(len(rows))]  # --distributed: this rank's rows of the batch
                n = [lengths[r] for r in rows]
                T = max(n, default=0)
                x, y = ids[rows, :T], tags[rows, :T]
                tokens = int((y != IGNORE).sum())  # what the mean loss divides by
                for k, model in models.items():
                    optimizers[k].zero_grad()
                    value = 0.0
                    if tokens:
                        loss = F.cross_entropy(model(x, n), y, ignore_index=IGNORE)
                        value = loss.item()
                        run.check_loss(value, epoch, step)
                        loss.backward()
                    run.allreduce_gradients(model.parameters(), weight=tokens)  # before clipping
                    mg.nn.clip_grad_norm_(model.parameters(), max_norm=5.0)
                    optimizers[k].step()
                    sums = run.reduce_sums(loss=value * tokens, tokens=tokens)
                    losses[k] += sums["loss"] / sums["tokens"] / len(batches)
            results = {k: accuracy(m, *valid) for k, m in models.items()}
            run.log(epoch, loss_forward=losses["forward"], loss_bidirectional=losses["bidirectional"],
                    **{f"acc_{k}": v for k, v in results.items()})
        if not results:  # resumed from the last epoch: evaluate the loaded weights
            results = {k: accuracy(m, *valid) for k, m in models.items()}

        run.echo("\nvalidation accuracy per token:")
        run.echo(f"  {'forward only':<26} {results['forward']:.1%}   (ceiling {ceiling:.1%})")
        run.echo(f"  {'bidirectional=True':<26} {results['bidirectional']:.1%}")
        for mode in MERGE_MODES:
            run.echo(f"  {'Bidirectional ' + mode:<26} {results[mode]:.1%}")
        # one validation sequence with both markers, tagged by each network
        i = next((i for i, n in enumerate(valid[1]) if {A, B} <= set(valid[0][i, :n].tolist())), 0)
        shown = valid[0][i:i + 1, : valid[1][i]]
        run.echo(f"\n  {'tokens':<14} " + " ".join(f"{TOKENS[k]:>2}" for k in shown[0]))
        run.echo(f"  {'true tags':<14} " + tag_names(valid[2][i, : shown.shape[1]]))
        with mg.no_grad():
            for k in ("forward", "bidirectional"):
                pred = models[k](shown, [shown.shape[1]]).numpy().argmax(-1)[0]
                run.echo(f"  {k:<14} " + tag_names(pred))
        if run.plot_path:
            with run.writing("--plot"):
                plot_bars(run.plot_path, {k: results[k] for k in models}, ceiling, cell)
            run.echo(f"plot saved to {run.plot_path}")
        run.finish(
            f"bidirectional: per-token validation accuracy {results['bidirectional']:.1%} bidirectional vs "
            f"{results['forward']:.1%} forward-only (best possible from the past {ceiling:.1%}); merge modes "
            + ", ".join(f"{m} {results[m]:.1%}" for m in MERGE_MODES),
            valid_accuracy=results["bidirectional"],
            forward_valid_accuracy=results["forward"],
            forward_ceiling=ceiling,
            merge_modes={m: results[m] for m in MERGE_MODES},
            parameters=params,
            cell=cell,
            history=run.history,
        )


if __name__ == "__main__":
    main()
