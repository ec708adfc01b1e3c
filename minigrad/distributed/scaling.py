r"""The cost of data parallelism: the all-reduce of a gradient against the compute of a training step.

    mpiexec -n 2 python -m minigrad.distributed.scaling                 # measured here, then modelled for 64 nodes
    mpiexec -n 2 python -m minigrad.distributed.scaling --hidden 64 --hidden 256 --batch 128 --json out.json
    python -m minigrad.distributed.scaling --nodes 64                   # the model alone (no MPI needed)

Measured, per hidden size H, on the sentiment example's model (Embedding V x E -> LSTM H -> Linear 1) with
a batch of ``--batch`` reviews of ``--steps`` tokens per rank: the compute of one step (forward and
backward) and `allreduce_gradients` (pack, one MPI all-reduce, unpack) after a barrier, so that waiting
for a slower rank is not counted; medians over ``--repeat`` steps, the slowest rank's; one BLAS thread
per rank.

Modelled: with P nodes the all-reduce of $n$ bytes takes, by the $\alpha$-$\beta$ model of the
reduce-scatter + all-gather algorithm MPI uses for large messages (Thakur, Rabenseifner and Gropp,
"Optimization of Collective Communication Operations in MPICH", 2005),

$$ T_{ar} = 2 \log_2(P)\, \alpha + 2 \frac{P - 1}{P} \frac{n}{\beta}, $$

with $\alpha$ the latency per message and $\beta$ the bandwidth; weak-scaling efficiency is then
$T_{comp} / (T_{comp} + T_{ar})$, the exchange not overlapped with compute (the recurrent weights'
gradients are complete only at the end of backpropagation through time). Stragglers are not modelled.
"""

from __future__ import annotations

import json
import math
import statistics
import time
from typing import Any

import click
from threadpoolctl import threadpool_limits

import backends
import minigrad as mg
import minigrad.distributed as dist
import minigrad.nn.functional as F
from minigrad.io import atomic_write
from minigrad.runner import load_blas

# (latency alpha in s, bandwidth beta in bytes/s): typical figures for each network, not measured here
NETWORKS = {"10 GbE (TCP)": (25e-6, 1.1e9), "InfiniBand HDR (100 Gb/s)": (2e-6, 12e9)}


def allreduce_seconds(nbytes: float, nodes: int, alpha: float, beta: float) -> float:
    """$T_{ar}$ of the module docstring: seconds to all-reduce ``nbytes`` over ``nodes`` (0 for one node)."""
    if nodes <= 1:
        return 0.0
    return 2 * math.log2(nodes) * alpha + 2 * (nodes - 1) / nodes * nbytes / beta


class _Model(mg.nn.Module):
    def __init__(self, vocab: int, embed: int, hidden: int) -> None:
        super().__init__()
        self.embedding = mg.nn.Embedding(vocab, embed, padding_idx=0)
        self.rnn = mg.nn.LSTM(embed, hidden)
        self.out = mg.nn.Linear(hidden, 1)

    def forward(self, ids: Any) -> mg.Tensor:
        _, (h_n, _) = self.rnn(self.embedding(ids))
        return self.out(h_n[-1])


def measure(hidden: int, batch: int, steps: int, vocab: int, embed: int, repeat: int) -> dict:
    """One hidden size: parameters, gradient bytes, and the slowest rank's median compute and exchange (s)."""
    w = dist.world()
    mg.manual_seed(0)
    model = _Model(vocab, embed, hidden)
    dist.broadcast_parameters(model)
    opt = mg.optim.Adam(model.parameters(), lr=1e-3)
    rng = backends.get("numpy").xp.random.default_rng([w.rank, hidden])
    ids = rng.integers(1, vocab, size=(batch, steps))
    y = rng.integers(0, 2, size=(batch, 1)).astype("float32")
    compute, exchange = [], []
    for k in range(repeat + 2):  # two warm-up steps
        opt.zero_grad()
        start = time.perf_counter()
        F.binary_cross_entropy_with_logits(model(ids), y).backward()
        computed = time.perf_counter()
        dist.barrier()
        synced = time.perf_counter()
        dist.allreduce_gradients(model.parameters(), weight=batch)
        done = time.perf_counter()
        opt.step()
        if k >= 2:
            compute.append(computed - start)
            exchange.append(done - synced)
    params = sum(p.numel() for p in model.parameters())
    slowest = dist.all_reduce(backends.get("numpy").xp.array(
        [statistics.median(compute), statistics.median(exchange)]), "max")
    return {"hidden": hidden, "parameters": params, "gradient_bytes": 4 * params, "batch_per_rank": batch,
            "time_steps": steps, "ranks": w.size, "compute_s": float(slowest[0]),
            "allreduce_s": float(slowest[1]) if w.size > 1 else None}


def modelled(row: dict, nodes: int) -> dict:
    """``row``'s measured compute against the modelled all-reduce over ``nodes`` on each network."""
    out = {}
    for network, (alpha, beta) in NETWORKS.items():
        t_ar = allreduce_seconds(row["gradient_bytes"], nodes, alpha, beta)
        out[network] = {"allreduce_s": t_ar, "efficiency": row["compute_s"] / (row["compute_s"] + t_ar)}
    return out


@click.command()
@click.option("--hidden", "hiddens", multiple=True, type=click.IntRange(min=1), default=(64, 256),
              show_default=True, help="Hidden sizes H (repeatable).")
@click.option("--batch", default=128, show_default=True, type=click.IntRange(min=1), help="Reviews per rank.")
@click.option("--steps", default=10, show_default=True, type=click.IntRange(min=1), help="Tokens per review T.")
@click.option("--vocab", default=2000, show_default=True, type=click.IntRange(min=2), help="Vocabulary V.")
@click.option("--embed", default=32, show_default=True, type=click.IntRange(min=1), help="Embedding size E.")
@click.option("--repeat", default=30, show_default=True, type=click.IntRange(min=1), help="Timed steps.")
@click.option("--nodes", default=64, show_default=True, type=click.IntRange(min=2), help="Nodes in the model.")
@click.option("--json", "json_path", type=click.Path(dir_okay=False), help="Also write the rows as JSON here.")
def main(hiddens: tuple[int, ...], batch: int, steps: int, vocab: int, embed: int, repeat: int, nodes: int,
         json_path: str | None) -> None:
    """Measure the all-reduce of a gradient against a step's compute; model NODES nodes."""
    w = dist.init()
    load_blas()
    with threadpool_limits(limits=1, user_api="blas"):  # one BLAS thread per rank, as minigrad run has
        rows = [measure(h, batch, steps, vocab, embed, repeat) for h in hiddens]
    if not w.is_main:
        return
    click.echo(f"measured: {w.size} rank{'s' * (w.size > 1)}, batch {batch} per rank, T {steps}, V {vocab}, E {embed}"
               f" (medians of {repeat} steps, the slowest rank)")
    click.echo(f"{'H':>5} {'parameters':>11} {'gradient':>10} {'compute':>10} {'all-reduce':>11}  share")
    for r in rows:
        ar = r["allreduce_s"]
        shown = f"{1e3 * ar:8.3f} ms  {ar / (ar + r['compute_s']):6.1%}" if ar is not None else "      (one rank)"
        click.echo(f"{r['hidden']:>5} {r['parameters']:>11} {r['gradient_bytes'] / 1e6:>7.3f} MB "
                   f"{1e3 * r['compute_s']:>7.2f} ms {shown}")
    click.echo(f"\nmodelled for {nodes} nodes (this compute per node, no stragglers):")
    for r in rows:
        r["modelled"] = {"nodes": nodes, **modelled(r, nodes)}
        parts = [f"{n}: all-reduce {1e3 * m['allreduce_s']:.2f} ms, efficiency {m['efficiency']:.1%}"
                 for n, m in r["modelled"].items() if n != "nodes"]
        click.echo(f"  H {r['hidden']}: " + "; ".join(parts))
    if json_path:
        with atomic_write(json_path, "w", who="--json") as f:
            json.dump(rows, f, indent=2)


if __name__ == "__main__":
    main()
