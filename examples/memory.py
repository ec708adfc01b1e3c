"""Long-term dependency: remember the first token across T distractors.

Each sequence starts with a cue, A or B, followed by T distractor tokens drawn
at random from w, x, y, z; the label is the cue (A -> 1, B -> 0) and the
network answers after the last token (many-to-one). Nothing after the cue
helps, so the cue must survive T steps in the hidden state, and the gradient
that teaches the network to keep it must travel back T steps.

A simple RNN (tanh), an LSTM and a GRU (hidden 16, Adam) are trained on fresh
random batches for each T in ``--lengths``; the validation accuracy on a fixed
set of 256 sequences is reported against T. Chance is about 0.5.

Initialisation: PyTorch's U(-1/sqrt(H), 1/sqrt(H)) for every model (same seed
for a model type at every T), except the gate biases of the gated models,
set from ``--gate-bias b`` (3.0) so that they start out remembering: the
GRU's update gate z gets +b (z = sigmoid(3) = 0.95 keeps 95% of the state),
the LSTM's forget gate +b and its input gate -b (f = 0.95, i = 0.05: the cell
keeps its content and the distractors barely enter; a constant version of
Tallec and Ollivier's "chrono" initialisation). ``--gate-bias 0`` sets
those biases to 0, the average of PyTorch's init: gates half open, f = i =
z = 0.5. The simple RNN has no gate to set.

Training runs ``--epochs`` epochs of ``--steps-per-epoch`` steps each, for
every model and T. ``--save`` checkpoints all models and optimizers after
every epoch (one file, ``mg.save``); ``--resume`` restores them and continues
from the next epoch (with a finished checkpoint it only evaluates).

    python examples/memory.py            or            minigrad run memory
    minigrad run memory --lengths 5,20,50 --plot memory.png
"""

from __future__ import annotations

import time

import click
import numpy as np

import minigrad as mg
import minigrad.nn.functional as F
from minigrad.io import atomic_write
from minigrad.runner import FloatRange, Run, example_options

DESCRIPTION = "long-term dependency: recall the first token after T distractors, RNN vs LSTM vs GRU"

CUES = ["A", "B"]
DISTRACTORS = ["w", "x", "y", "z"]
VOCAB = CUES + DISTRACTORS
KINDS = {"rnn_tanh": mg.nn.RNN, "lstm": mg.nn.LSTM, "gru": mg.nn.GRU}
VALID_SIZE = 256


def make_batch(rng: np.random.Generator, n: int, T: int) -> tuple[mg.Tensor, mg.Tensor]:
    """``n`` sequences of 1 cue + ``T`` distractors, one-hot ``(n, T+1, 6)``, and labels ``(n, 1)``."""
    cue = rng.integers(0, len(CUES), n)
    ids = np.concatenate([cue[:, None], len(CUES) + rng.integers(0, len(DISTRACTORS), (n, T))], axis=1)
    x = np.eye(len(VOCAB), dtype=np.float32)[ids]
    y = (cue == 0).astype(np.float32)[:, None]  # A -> 1, B -> 0
    return mg.tensor(x), mg.tensor(y)


def describe(x: mg.Tensor, y: mg.Tensor, row: int = 0) -> str:
    ids = x.numpy()[row].argmax(axis=1)
    return f"{' '.join(VOCAB[i] for i in ids)}  ->  label {int(y.numpy()[row, 0])}"


def set_gate_bias_(layer: mg.nn.Module, block: int, value: float) -> None:
    """Make the total bias (b_ih + b_hh) of gate block ``block`` (each H wide) exactly ``value``."""
    H = layer.hidden_size
    layer.bias_ih_l0.data[block * H : (block + 1) * H] = value
    layer.bias_hh_l0.data[block * H : (block + 1) * H] = 0.0


class Recall(mg.nn.Module):
    """A recurrent layer and a readout of its last hidden state (a logit for "the cue was A")."""

    def __init__(self, kind: str, hidden: int, gate_bias: float) -> None:
        super().__init__()
        self.rnn = KINDS[kind](len(VOCAB), hidden)
        if kind == "lstm":  # gate order i, f, g, o: keep the cell (f ~ 1), let little in (i ~ 0)
            set_gate_bias_(self.rnn, 1, gate_bias)
            set_gate_bias_(self.rnn, 0, -gate_bias)
        elif kind == "gru":  # gate order r, z, n: h' = (1 - z) n + z h, keep the state (z ~ 1)
            set_gate_bias_(self.rnn, 1, gate_bias)
        self.head = mg.nn.Linear(hidden, 1)

    def forward(self, x: mg.Tensor) -> mg.Tensor:
        output, _ = self.rnn(x)
        return self.head(output[:, -1])


def accuracy(model: Recall, x: mg.Tensor, y: mg.Tensor) -> float:
    with mg.no_grad():
        predicted = model(x).numpy() > 0
    return float((predicted == (y.numpy() > 0.5)).mean())


MAX_LENGTH = 10_000  # distractors per sequence: longer ones need gigabytes for BPTT and teach nothing more


def parse_lengths(ctx: click.Context, param: click.Parameter, value: str) -> list[int]:
    try:
        lengths = [int(v) for v in value.split(",") if v.strip()]
    except ValueError:
        raise click.BadParameter(f"expected comma-separated integers, got {value!r}") from None
    if not lengths or min(lengths) < 1 or max(lengths) > MAX_LENGTH:
        raise click.BadParameter(f"expected lengths from 1 to {MAX_LENGTH}, got {value!r}")
    return lengths


def plot_accuracy(path: str, lengths: list[int], acc: dict, chance: dict) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for kind in KINDS:
        ax.plot(lengths, [acc[kind][str(T)] for T in lengths], marker="o", label=kind)
    ax.plot(lengths, [chance[str(T)] for T in lengths], "k--", label="chance (majority label)")
    ax.set_xlabel("distractors T between the cue and the answer")
    ax.set_ylabel("validation accuracy")
    ax.set_ylim(0.3, 1.05)
    ax.set_title("Recall the first token after T steps")
    ax.legend()
    fig.tight_layout()
    with atomic_write(path, "wb", who="--plot") as f:
        fig.savefig(f, format="png", dpi=100)
    plt.close(fig)


@click.command()
@example_options(epochs=4)
@click.option("--lengths", default="5,20,50", show_default=True, callback=parse_lengths,
              help="Comma-separated numbers of distractors T.")
@click.option("--steps-per-epoch", default=50, show_default=True, type=click.IntRange(min=1),
              help="Training steps per epoch (for every model and T).")
@click.option("--hidden", default=16, show_default=True, type=click.IntRange(min=1), help="Hidden units H.")
@click.option("--batch", default=32, show_default=True, type=click.IntRange(min=1), help="Sequences per step.")
@click.option("--lr", default=0.01, show_default=True, type=FloatRange(min=0, min_open=True),
              help="Adam learning rate.")
@click.option("--gate-bias", default=3.0, show_default=True, type=FloatRange(-100, 100),
              help="Initial gate bias b: LSTM forget +b, input -b; GRU update +b (0: half-open gates).")
def main(lengths: list[int], steps_per_epoch: int, hidden: int, batch: int, lr: float, gate_bias: float,
         **opts) -> None:
    """Recall the first token after T distractors: RNN (tanh), LSTM and GRU against T."""
    config = {"lengths": lengths, "steps_per_epoch": steps_per_epoch, "hidden": hidden, "batch": batch,
              "lr": lr, "gate_bias": gate_bias}
    # a resumed run continues exactly only with the same settings: the checkpoint must have been made with them
    settings = {"--" + key.replace("_", "-"): value for key, value in config.items()}
    with Run("memory", options=settings, **opts) as run:
        models, optimizers = {}, {}
        for T in lengths:
            for kind in KINDS:
                mg.manual_seed(run.seed)  # the same initial weights for a model type at every T
                models[f"{kind}_T{T}"] = model = Recall(kind, hidden, gate_bias)
                optimizers[f"{kind}_T{T}_adam"] = mg.optim.Adam(model.parameters(), lr=lr)
        run.track(extra={"config": config}, **models, **optimizers)

        valid = {T: make_batch(np.random.default_rng([run.seed, T, 1]), VALID_SIZE, T) for T in lengths}
        chance = {str(T): float(max(y.numpy().mean(), 1 - y.numpy().mean())) for T, (_, y) in valid.items()}
        x0, y0 = valid[lengths[0]]
        run.echo(f"task: the label is the first token (A -> 1, B -> 0); e.g. T={lengths[0]}: {describe(x0, y0)}")
        run.echo(f"models: {', '.join(KINDS)}; hidden {hidden}, batch {batch}, Adam lr {lr}, "
                 f"{run.n_epochs} x {steps_per_epoch} steps; gate bias {gate_bias:g} (LSTM f +b, i -b; GRU z +b)")

        seconds = {kind: 0.0 for kind in KINDS}
        acc: dict[str, dict[str, float]] = {kind: {} for kind in KINDS}
        for epoch in run.epochs():
            figures = {}
            for T in lengths:
                for kind in KINDS:
                    model, opt = models[f"{kind}_T{T}"], optimizers[f"{kind}_T{T}_adam"]
                    rng = np.random.default_rng([run.seed, T, 0, epoch])  # every model type sees the same batches
                    start = time.perf_counter()
                    for step in run.progress(range(1, steps_per_epoch + 1), label=f"epoch {epoch + 1} T={T} {kind}",
                                             unit="steps"):
                        x, y = make_batch(rng, batch, T)  # the global batch: the same on every rank
                        rows = run.shard_rows(batch)  # --distributed: this rank's rows of it
                        x, y = x[rows], y[rows]
                        opt.zero_grad()
                        if x.shape[0]:
                            loss = F.binary_cross_entropy_with_logits(model(x), y)
                            run.check_loss(loss.item(), epoch, step)
                            loss.backward()
                        run.allreduce_gradients(model.parameters(), weight=x.shape[0])
                        opt.step()
                    seconds[kind] += time.perf_counter() - start
                    figures[f"{kind}_T{T}"] = accuracy(model, *valid[T])
                run.echo(f"epoch {epoch + 1}/{run.n_epochs}  step {(epoch + 1) * steps_per_epoch:4d}  T={T:<4d}"
                         + "  ".join(f"{kind} {figures[f'{kind}_T{T}']:.3f}" for kind in KINDS))
            run.history.append({"epoch": epoch + 1, "valid_accuracy": figures})

        for T in lengths:  # evaluate again: also right after --resume of a finished run
            for kind in KINDS:
                acc[kind][str(T)] = accuracy(models[f"{kind}_T{T}"], *valid[T])
        steps = run.n_epochs * steps_per_epoch
        run.echo(f"\nvalidation accuracy after {steps} steps ({VALID_SIZE} sequences per T)")
        run.echo("    T" + "".join(k.rjust(10) for k in KINDS) + "    chance")
        for T in lengths:
            run.echo(f"{T:5d}" + "".join(f"{acc[k][str(T)]:10.3f}" for k in KINDS) + f"{chance[str(T)]:10.3f}")
        if any(seconds.values()):
            run.echo("training time: " + ", ".join(f"{k} {s:.1f}s" for k, s in seconds.items()))
        if run.plot_path:
            with run.writing("--plot"):
                plot_accuracy(run.plot_path, lengths, acc, chance)
            run.echo(f"plot: {run.plot_path}")

        longest = str(max(lengths))
        run.finish(
            f"memory: valid accuracy at T={longest}: "
            + ", ".join(f"{k} {acc[k][longest]:.2f}" for k in KINDS)
            + f" (chance {chance[longest]:.2f}; {steps} steps)",
            valid_accuracy=acc, chance=chance, lengths=lengths, steps=steps, config=config,
            train_seconds=seconds, history=run.history,
        )


if __name__ == "__main__":
    main()
