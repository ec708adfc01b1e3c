"""The lecture notes' worked example, step by step.

Three reviews, a five-word vocabulary, one-hot inputs, a simple RNN with 3
hidden units and one output: first written from tensor ops exactly as the
notes write it (31 parameters), then with ``nn.RNN`` + ``nn.Linear`` (34: a
PyTorch-layout cell carries two bias vectors). Both are trained, and dL/dW_h
is computed term by term through time next to autograd's value.

    python examples/seed.py            or            minigrad run seed
"""

from __future__ import annotations

import click

import minigrad as mg
import minigrad.nn.functional as F
from minigrad.runner import Run, example_options

DESCRIPTION = "the lecture notes' worked example: 3 reviews, one-hot words, a 3-unit RNN, BPTT by hand"

REVIEWS = [("movie was good", 1), ("movie was bad", 0), ("movie was not good", 0)]
VOCAB = ["movie", "was", "good", "bad", "not"]


def one_hot_batch() -> tuple[mg.Tensor, list[int], mg.Tensor]:
    """The reviews as one-hot vectors, zero-padded: x (3, 4, 5), lengths, labels (3, 1)."""
    ids = [[VOCAB.index(w) for w in text.split()] for text, _ in REVIEWS]
    T = max(len(s) for s in ids)
    rows = [F.one_hot(mg.tensor(s), len(VOCAB)).numpy().tolist() + [[0.0] * len(VOCAB)] * (T - len(s)) for s in ids]
    labels = mg.tensor([[float(y)] for _, y in REVIEWS])
    return mg.tensor(rows), [len(s) for s in ids], labels


class NotesRNN(mg.nn.Module):
    """The notes' network: o_t = tanh(x_t W_i + o_{t-1} W_h + b), y = sigmoid(o_T W_k + b_k)."""

    def __init__(self, features: int = 5, hidden: int = 3) -> None:
        super().__init__()
        k = hidden**-0.5
        self.W_i = mg.nn.Parameter(mg.rand(features, hidden) * 2 * k - k)
        self.W_h = mg.nn.Parameter(mg.rand(hidden, hidden) * 2 * k - k)
        self.b = mg.nn.Parameter(mg.zeros(hidden))
        self.W_k = mg.nn.Parameter(mg.rand(hidden, 1) * 2 * k - k)
        self.b_k = mg.nn.Parameter(mg.zeros(1))

    def states(self, x: mg.Tensor, lengths: list[int]) -> list[mg.Tensor]:
        """o_0 = 0, o_1 ... o_T; a review's state stops changing after its last word."""
        o = [mg.zeros(x.shape[0], self.W_h.shape[0])]
        for t in range(x.shape[1]):
            new = (x[:, t] @ self.W_i + o[-1] @ self.W_h + self.b).tanh()
            real = mg.tensor([[t < n] for n in lengths])
            o.append(mg.where(real, new, o[-1]))
        return o

    def forward(self, x: mg.Tensor, lengths: list[int]) -> mg.Tensor:
        return self.states(x, lengths)[-1] @ self.W_k + self.b_k  # a logit; sigmoid is in the loss


class LayerRNN(mg.nn.Module):
    """The same network from library layers: nn.RNN(5, 3) then nn.Linear(3, 1)."""

    def __init__(self) -> None:
        super().__init__()
        self.rnn = mg.nn.RNN(len(VOCAB), 3)
        self.out = mg.nn.Linear(3, 1)

    def forward(self, x: mg.Tensor, lengths: list[int]) -> mg.Tensor:
        _, h_n = self.rnn(x, lengths=lengths)
        return self.out(h_n[-1])


def bptt_by_hand(model: NotesRNN, x: mg.Tensor, y: float) -> list:
    """dL/dW_h for one review as a sum over time steps, by the chain rule.

    With a_t = x_t W_i + o_{t-1} W_h + b and o_t = tanh(a_t), the loss reaches W_h
    at every step: dL/dW_h = sum_t o_{t-1}^T delta_t, where delta_T = dL/do_T * (1 - o_T^2)
    and delta_{t-1} = (delta_t W_h^T) * (1 - o_{t-1}^2).
    """
    with mg.no_grad():
        o = model.states(x, [x.shape[1]])
        logit = o[-1] @ model.W_k + model.b_k
        dlogit = logit.sigmoid() - y  # d BCE / d logit
        delta = (dlogit @ model.W_k.T) * (1 - o[-1] ** 2)
        terms = []
        for t in range(x.shape[1], 0, -1):
            terms.append((t, o[t - 1].T @ delta))
            delta = (delta @ model.W_h.T) * (1 - o[t - 1] ** 2)
    return terms[::-1]


def train(model: mg.nn.Module, x, lengths, y, run: Run, label: str, epoch: int, lr: float = 0.1) -> float:
    """300 full-batch Adam steps; returns the last loss. With ``--distributed`` each rank takes its
    reviews of the batch and the gradients are all-reduced, so the steps are the same."""
    opt = mg.optim.Adam(model.parameters(), lr=lr)
    rows = run.shard_rows(len(lengths))
    x, lengths, y = x[rows], lengths[rows], y[rows]
    value = 0.0
    for step in run.progress(range(1, 301), label=label, unit="steps"):
        opt.zero_grad()
        if lengths:  # with more processes than reviews, some have none
            loss = F.binary_cross_entropy_with_logits(model(x, lengths), y)
            value = loss.item()
            run.check_loss(value, epoch, step)
            loss.backward()
        run.allreduce_gradients(model.parameters(), weight=len(lengths))
        opt.step()
    sums = run.reduce_sums(loss=value * len(lengths), n=len(lengths))
    return sums["loss"] / sums["n"]


@click.command()
@example_options(epochs=1, checkpoints=False, plot=False)  # nothing to plot; the two small models retrain in 1 s
def main(**opts) -> None:
    """The lecture notes' worked example."""
    with Run("seed", **opts) as run:
        x, lengths, y = one_hot_batch()
        run.echo(f"vocabulary ({len(VOCAB)} words): {VOCAB}")
        run.echo(f"'movie was bad' as one-hot vectors, shape {x[1, :3].shape} (timesteps, features):")
        run.echo(str(x[1, :3].numpy()))
        run.echo(f"batch shape {x.shape} (batch, timesteps, features); lengths {lengths}")

        notes, layers = NotesRNN(), LayerRNN()
        n_notes = sum(p.numel() for p in notes.parameters())
        n_layers = sum(p.numel() for p in layers.parameters())
        run.echo(f"\nparameters, notes' network: {n_notes} (W_i 15 + W_h 9 + W_k 3 + biases 3 + 1)")
        run.echo(f"parameters, nn.RNN + nn.Linear: {n_layers} (two bias vectors per cell: b_ih and b_hh)")
        run.echo(str(mg.nn.summary(layers)))

        # BPTT by hand on 'movie was good' (3 steps) next to autograd
        x0 = x[0:1, :3]
        loss = F.binary_cross_entropy_with_logits(notes(x0, [3]), y[0:1])
        loss.backward()
        terms = bptt_by_hand(notes, x0, float(y[0, 0].item()))
        run.echo("\ndL/dW_h for 'movie was good', term by term through time:")
        for t, term in terms:
            run.echo(f"  step {t}: o_{t - 1}^T delta_{t}   sum of entries {term.sum().item():+.6f}")
        by_hand = terms[0][1]
        for _, term in terms[1:]:
            by_hand = by_hand + term
        gap = (by_hand - notes.W_h.grad).abs().max().item()
        run.echo(f"  sum over steps {by_hand.sum().item():+.6f}   autograd {notes.W_h.grad.sum().item():+.6f}"
                 f"   max |difference| {gap:.2e}")
        notes.zero_grad()

        results = {}
        for epoch in run.epochs():
            loss_notes = train(notes, x, lengths, y, run, "notes' network", epoch)
            loss_layers = train(layers, x, lengths, y, run, "nn.RNN", epoch)
            run.log(epoch, loss_notes=loss_notes, loss_layers=loss_layers)
        with mg.no_grad():
            for name, model in (("notes", notes), ("layers", layers)):
                p = model(x, lengths).sigmoid().numpy().ravel()
                results[name] = [float(v) for v in p]
                run.echo(f"\npredictions ({name}):")
                for (text, label), prob in zip(REVIEWS, p):
                    run.echo(f"  {text!r:24} label {label}  p(positive) {prob:.3f}")
        accuracy = sum((p > 0.5) == bool(lab) for p, (_, lab) in zip(results["layers"], REVIEWS)) / len(REVIEWS)
        run.finish(
            f"seed: {n_notes} and {n_layers} parameters; BPTT by hand matches autograd to {gap:.1e}; "
            f"training accuracy {accuracy:.2f}",
            params_notes=n_notes, params_layers=n_layers, bptt_max_difference=gap,
            train_accuracy=accuracy, predictions=results,
        )


if __name__ == "__main__":
    main()
