"""Vanishing and exploding gradients, measured: ||dL/dh_t|| against t.

Simple RNNs (sigmoid, tanh, relu), an LSTM and a GRU read the same random
sequences (T = 50 steps by default); a readout on the *last* hidden state
gives a many-to-one loss, so the gradient reaching h_t has travelled back
through T-1-t steps. The BPTT inspector records ||dL/dh_t|| at every t.

Every layer starts from PyTorch's initialisation, U(-1/sqrt(H), 1/sqrt(H)),
drawn from the same seed, and all share one readout. Two variants show the
other two lessons of the notes:

- ``rnn_relu_scaled``: the relu RNN with W_hh multiplied by ``--relu-scale``:
  the factors through time exceed 1 and the gradient explodes.
- ``lstm_forget_bias``: the LSTM with its forget-gate bias set to
  ``--forget-bias`` (f = sigmoid(3) = 0.95 at the start instead of about 0.5),
  so the additive cell path keeps most of its gradient.

The measurement runs in float64 so that the smallest norms (about 1e-42 for
the sigmoid RNN) do not underflow to 0 as they would in float32.

``--clip MAX_NORM`` then trains the exploding relu RNN with plain SGD for
``--epochs`` full-batch steps (one step per epoch), once without and once with
``clip_grad_norm_``, and prints the gradient norm before and after clipping
and whether the loss stays finite.

``--save`` writes the measured layers (and, with ``--clip``, both trained relu
RNNs and their optimizers, after every step); ``--resume`` measures the
layers of such a checkpoint instead of fresh ones and continues the clip run.

    python examples/vanishing.py            or            minigrad run vanishing
    minigrad run vanishing --clip 1.0 --plot grad_norms.png
"""

from __future__ import annotations

import math

import click
import numpy as np

import minigrad as mg
import minigrad.nn.functional as F
from minigrad.runner import FloatRange, Run, example_options

DESCRIPTION = "vanishing and exploding gradients: ||dL/dh_t|| over 50 steps for sigmoid/tanh/relu RNNs, LSTM, GRU"

# (key, layer class, nonlinearity) in the order of the table's columns
LAYERS = [
    ("rnn_sigmoid", mg.nn.RNN, "sigmoid"),
    ("rnn_tanh", mg.nn.RNN, "tanh"),
    ("rnn_relu", mg.nn.RNN, "relu"),
    ("rnn_relu_scaled", mg.nn.RNN, "relu"),
    ("lstm", mg.nn.LSTM, None),
    ("lstm_forget_bias", mg.nn.LSTM, None),
    ("gru", mg.nn.GRU, None),
]
KEYS = [key for key, _, _ in LAYERS]
DTYPE = "float64"
LR = 0.05  # SGD learning rate of the clipping demo


def set_forget_bias_(lstm: mg.nn.LSTM, value: float) -> None:
    """Make the forget gate's total bias (b_if + b_hf, the second of the i, f, g, o blocks) exactly ``value``."""
    H = lstm.hidden_size
    lstm.bias_ih_l0.data[H : 2 * H] = value
    lstm.bias_hh_l0.data[H : 2 * H] = 0.0


class Layers(mg.nn.Module):
    """Every recurrent layer measured, plus one readout shared by all of them."""

    def __init__(self, features: int, hidden: int, seed: int, forget_bias: float, relu_scale: float) -> None:
        super().__init__()
        for key, layer, nonlinearity in LAYERS:
            mg.manual_seed(seed)  # each layer's weights come from the same random stream
            kwargs = {"nonlinearity": nonlinearity} if nonlinearity else {}
            setattr(self, key, layer(features, hidden, dtype=DTYPE, **kwargs))
        self.rnn_relu_scaled.weight_hh_l0.data = self.rnn_relu_scaled.weight_hh_l0.data * relu_scale
        set_forget_bias_(self.lstm_forget_bias, forget_bias)
        mg.manual_seed(seed + 1)
        self.head = mg.nn.Linear(hidden, 1, dtype=DTYPE)

    def loss(self, key: str, x: mg.Tensor, y: mg.Tensor) -> mg.Tensor:
        """Many-to-one: the loss sees only the last hidden state h_{T-1}."""
        output, _ = getattr(self, key)(x)
        return F.mse_loss(self.head(output[:, -1]), y)


def measure(layers: Layers, x: mg.Tensor, y: mg.Tensor) -> tuple[dict[str, list[float]], mg.nn.BPTTInspector]:
    """||dL/dh_t|| for every layer and t (one backward of the summed losses: the graphs are disjoint)."""
    with mg.nn.BPTTInspector(layers) as inspector:
        total = layers.loss(KEYS[0], x, y)
        for key in KEYS[1:]:
            total = total + layers.loss(key, x, y)
        total.backward()
    norms = {key: inspector.trace(module=getattr(layers, key)).grad_norms() for key in KEYS}
    layers.zero_grad()
    return norms, inspector


def verdict(ratio: float) -> str:
    """``vanishes``, ``survives``, ``explodes`` or, when the norms overflowed float64 to inf or nan,
    ``overflows (inf/nan)``: a configuration that diverged."""
    if not math.isfinite(ratio):
        return "overflows (inf/nan)"
    if ratio > 1e3:
        return "explodes"
    if ratio < 1e-3:
        return "vanishes"
    return "survives"


def shown(value: float, width: int) -> str:
    """``value`` in ``width`` characters as ``1.23e-04``; ``overflow`` for inf or nan."""
    return f"{value:{width}.2e}" if math.isfinite(value) else "overflow".rjust(width)


def grad_norm(params: list) -> float:
    """The joint 2-norm of all gradients (what clip_grad_norm_ compares with max_norm), finite where it truly is."""
    return mg.nn.clip.get_total_norm([p.grad for p in params if p.grad is not None])


def finite_or_none(v: float) -> float | None:
    """JSON has no nan or inf: write them as null."""
    return v if math.isfinite(v) else None


class ReluModel(mg.nn.Module):
    """The exploding relu RNN and its readout, as one trainable model."""

    def __init__(self, layers: Layers, features: int, hidden: int) -> None:
        super().__init__()
        self.rnn = mg.nn.RNN(features, hidden, nonlinearity="relu", dtype=DTYPE)
        self.rnn.load_state_dict(layers.rnn_relu_scaled.state_dict())
        self.head = mg.nn.Linear(hidden, 1, dtype=DTYPE)
        self.head.load_state_dict(layers.head.state_dict())

    def forward(self, x: mg.Tensor) -> mg.Tensor:
        output, _ = self.rnn(x)
        return self.head(output[:, -1])


def sgd_step(model: ReluModel, opt: mg.optim.SGD, x: mg.Tensor, y: mg.Tensor, max_norm: float | None,
             run: Run) -> dict:
    """One full-batch step; returns the loss and the gradient norm before and after clipping.

    With ``--distributed`` each rank takes its rows of the batch; the gradients are all-reduced
    before they are measured and clipped, so the step is the one of a single process.
    """
    params = list(model.parameters())
    rows = run.shard_rows(x.shape[0])
    x, y = x[rows], y[rows]
    with np.errstate(over="ignore", invalid="ignore"):  # the overflow is the point: let it become inf/nan
        opt.zero_grad()
        value = 0.0
        if x.shape[0]:
            loss = F.mse_loss(model(x), y)
            value = loss.item()
            loss.backward()
        run.allreduce_gradients(params, weight=x.shape[0])
        before = grad_norm(params)
        if max_norm is not None:
            mg.nn.utils.clip_grad_norm_(params, max_norm)
        after = grad_norm(params)
        opt.step()
    sums = run.reduce_sums(loss=value * x.shape[0], n=x.shape[0])
    return {"loss": sums["loss"] / sums["n"], "before": before, "after": after}


@click.command()
@example_options(epochs=20)
@click.option("--steps", default=50, show_default=True, type=click.IntRange(2, 10_000), help="Sequence length T.")
@click.option("--hidden", default=32, show_default=True, type=click.IntRange(min=1), help="Hidden units H.")
@click.option("--features", default=8, show_default=True, type=click.IntRange(min=1), help="Input features I.")
@click.option("--batch", default=16, show_default=True, type=click.IntRange(min=1), help="Sequences N.")
@click.option("--every", default=10, show_default=True, type=click.IntRange(min=1), help="Print every k-th step.")
@click.option("--forget-bias", default=3.0, show_default=True, type=FloatRange(-100, 100),
              help="Forget-gate bias of lstm_forget_bias.")
@click.option("--relu-scale", default=3.0, show_default=True, type=FloatRange(0, 100, min_open=True),
              help="W_hh multiplier of rnn_relu_scaled.")
@click.option("--clip", "max_norm", type=FloatRange(min=0, min_open=True), default=None,
              help="Also train the exploding relu RNN without and with clip_grad_norm_(max_norm).")
def main(steps: int, hidden: int, features: int, batch: int, every: int, forget_bias: float, relu_scale: float,
         max_norm: float | None, **opts) -> None:
    """Gradient norm through time for RNN (sigmoid, tanh, relu), LSTM and GRU."""
    ctx = click.get_current_context()
    if max_norm is None and ctx.get_parameter_source("epochs") is click.core.ParameterSource.COMMANDLINE:
        raise click.UsageError("--epochs counts the steps of the --clip training run: give --clip MAX_NORM too")
    config = {"steps": steps, "hidden": hidden, "features": features, "batch": batch,
              "forget_bias": forget_bias, "relu_scale": relu_scale}
    # the checkpoint's layers were measured with these settings; a resumed run must use the same
    settings = {"--" + key.replace("_", "-"): value for key, value in config.items()} | {"--clip": max_norm}
    with Run("vanishing", options=settings, check_weights=False, **opts) as run:  # unclipped: meant to diverge
        mg.manual_seed(run.seed)
        x = mg.randn(batch, steps, features, dtype=DTYPE)
        y = mg.randn(batch, 1, dtype=DTYPE)
        layers = Layers(features, hidden, run.seed, forget_bias, relu_scale)
        tracked: dict = {"layers": layers}
        if max_norm is not None:
            unclipped, clipped = ReluModel(layers, features, hidden), ReluModel(layers, features, hidden)
            opt_unclipped = mg.optim.SGD(unclipped.parameters(), lr=LR)
            opt_clipped = mg.optim.SGD(clipped.parameters(), lr=LR)
            tracked.update(unclipped=unclipped, clipped=clipped, opt_unclipped=opt_unclipped, opt_clipped=opt_clipped)
        run.track(extra={"config": config}, **tracked)

        # -- 1. the gradient norm through time ----------------------------------
        norms, inspector = measure(layers, x, y)
        ratios = {key: norms[key][0] / norms[key][-1] for key in KEYS}
        last = steps - 1
        run.echo(f"||dL/dh_t||: loss on h_{last} only; batch {batch}, hidden {hidden}, {DTYPE}; "
                 f"rnn_relu_scaled: W_hh x {relu_scale:g}; lstm_forget_bias: b_f = {forget_bias:g}")
        widths = {k: max(len(k), 9) + 2 for k in KEYS}
        run.echo("    t" + "".join(k.rjust(widths[k]) for k in KEYS))
        for t in range(steps):
            if t % every == 0 or t == last:
                run.echo(f"{t:5d}" + "".join(shown(norms[k][t], widths[k]) for k in KEYS))
        run.echo(f"\nratio ||dL/dh_0|| / ||dL/dh_{last}||:")
        for key in KEYS:
            run.echo(f"  {key:<18}{shown(ratios[key], 10)}   {verdict(ratios[key])}")
        diverged = [key for key in KEYS if not math.isfinite(ratios[key])]
        if diverged:
            run.echo(f"\n{', '.join(diverged)}: the gradient norms overflowed float64 (inf or nan): with "
                     f"--steps {steps} and --hidden {hidden} these layers diverge; fewer --steps, or a smaller "
                     f"--relu-scale for rnn_relu_scaled, keeps them finite")
        if run.plot_path:
            with run.writing("--plot"):
                inspector.plot(run.plot_path, title=f"||dL/dh_t|| for a loss on h_{last} (log scale)")
            run.echo(f"plot: {run.plot_path}")
        if run.save_path and max_norm is None:
            with run.writing("--save"):
                mg.save(run.state(0), run.save_path)

        # -- 2. clipping tames the exploding relu RNN --------------------------
        clip_metrics = None
        if max_norm is not None:
            run.echo(f"\ngradient clipping: rnn_relu_scaled trained with SGD (lr {LR}), one full-batch step per epoch,"
                     f" without and with clip_grad_norm_(max_norm={max_norm:g})")
            run.echo(" step  unclipped: loss  grad norm   |  clipped: loss  grad norm before -> after")
            for epoch in run.epochs():
                a = sgd_step(unclipped, opt_unclipped, x, y, None, run)
                b = sgd_step(clipped, opt_clipped, x, y, max_norm, run)
                run.history.append({"epoch": epoch + 1, "loss_unclipped": finite_or_none(a["loss"]),
                                    "grad_norm_unclipped": finite_or_none(a["before"]),
                                    "loss_clipped": finite_or_none(b["loss"]),
                                    "grad_norm_before_clipping": finite_or_none(b["before"]),
                                    "grad_norm_after_clipping": finite_or_none(b["after"])})
                run.echo(f"{epoch + 1:5d}  {a['loss']:15.3e}  {a['before']:9.3e}   |  {b['loss']:13.3e}"
                         f"  {b['before']:16.3e} -> {b['after']:.3e}")

            def first_nonfinite(key: str) -> int | None:
                return next((h["epoch"] for h in run.history if h[key] is None), None)

            bad_unclipped, bad_clipped = first_nonfinite("loss_unclipped"), first_nonfinite("loss_clipped")
            for name, bad in (("unclipped", bad_unclipped), ("clipped", bad_clipped)):
                losses = [h[f"loss_{name}"] for h in run.history]
                state = (f"non-finite from step {bad}" if bad else
                         f"finite at every step, {losses[0]:.3e} -> {losses[-1]:.3e}")
                run.echo(f"{name}: loss {state}")
            clip_metrics = {
                "max_norm": max_norm, "lr": LR, "steps": len(run.history),
                "unclipped_loss_finite": bad_unclipped is None, "clipped_loss_finite": bad_clipped is None,
                "unclipped_first_nonfinite_step": bad_unclipped, "history": run.history,
            }

        summary = f"vanishing: ||dL/dh_0||/||dL/dh_{last}|| " + ", ".join(
            f"{k} {ratios[k]:.1e}" if math.isfinite(ratios[k]) else f"{k} overflow" for k in KEYS)
        if clip_metrics:
            summary += (f"; clip {max_norm:g}: loss finite without clipping "
                        f"{clip_metrics['unclipped_loss_finite']}, with clipping {clip_metrics['clipped_loss_finite']}")
        run.finish(
            summary,
            grad_ratio_first_to_last={k: finite_or_none(v) for k, v in ratios.items()},
            grad_norms={k: [finite_or_none(v) for v in norms[k]] for k in KEYS},
            verdict={k: verdict(v) for k, v in ratios.items()},
            config=config, dtype=DTYPE, clip=clip_metrics,
        )


if __name__ == "__main__":
    main()
