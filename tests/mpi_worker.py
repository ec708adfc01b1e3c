"""Programs the distributed tests start under ``mpiexec -n P`` (or alone, as the one-process reference).

    python tests/mpi_worker.py CASE OUT_DIR [ARGS...]
    mpiexec -n 2 python tests/mpi_worker.py train OUT_DIR float64,float32 weighted,unweighted,clip-first

Rank 0 writes what it measured to OUT_DIR; the tests (tests/test_distributed.py) read it.
Not a test module itself (pytest collects test_*.py only).
"""

from __future__ import annotations

import json
import sys
import time
import types
from pathlib import Path

import numpy as np

import minigrad as mg
import minigrad.distributed as dist
import minigrad.nn.functional as F
from backends.base import Backend
from minigrad.data import DataLoader, ShardedLoader

V, E, H = 30, 6, 8


class Classifier(mg.nn.Module):
    """Embedding -> LSTM -> Linear on the final state: the sentiment example's model, tiny."""

    def __init__(self, hidden: int = H) -> None:
        super().__init__()
        self.embedding = mg.nn.Embedding(V, E, padding_idx=0)
        self.rnn = mg.nn.LSTM(E, hidden)
        self.out = mg.nn.Linear(hidden, 1)

    def forward(self, ids, lengths):
        _, (h_n, _) = self.rnn(self.embedding(ids), lengths=lengths)
        return self.out(h_n[-1])


def reviews(n: int = 37) -> list[tuple[list[int], int]]:
    """``n`` random id sequences of 1-12 tokens; the label is whether token 7 occurs (something to learn)."""
    rng = np.random.default_rng(123)
    data = []
    for _ in range(n):
        ids = rng.integers(1, V, size=int(rng.integers(1, 13))).tolist()
        data.append((ids, int(7 in ids)))
    return data


def train(out: Path, dtype: str, mode: str, epochs: int = 2, batch_size: int = 9, clip: float = 0.3) -> None:
    """Adam with clipping on ``reviews()``: 37 = 4 x 9 + 1, so ranks hold different numbers of examples
    (5 and 4, or 3, 3 and 3) and, at the one-example batch of each epoch, some rank has none.

    ``mode``: ``weighted`` (the library's all-reduce, then clip), and two known mistakes for the
    negative controls: ``unweighted`` (every rank's mean gradient counts the same, as a plain average of
    per-rank means does) and ``clip-first`` (each rank clips its own gradient before the all-reduce).
    """
    w = dist.init()
    mg.manual_seed(0)
    model = Classifier()
    if dtype == "float64":
        model.double()
    dist.broadcast_parameters(model)
    opt = mg.optim.Adam(model.parameters(), lr=1e-2)
    loader = DataLoader(reviews(), batch_size=batch_size, seed=dist.broadcast_object(5), bucket_size=2)
    shard = ShardedLoader(loader, w.rank, w.size) if w.size > 1 else loader
    empty_steps, clipped_steps = 0, 0
    for epoch in range(epochs):
        shard.set_epoch(epoch)
        for ids, lengths, y in shard:
            opt.zero_grad()
            if len(y):
                logits = model(ids, lengths)
                loss = F.binary_cross_entropy_with_logits(logits, y.reshape(-1, 1).astype(dtype))
                loss.backward()
            else:
                empty_steps += 1
            if mode == "clip-first":
                mg.nn.clip_grad_norm_(model.parameters(), clip)
            dist.allreduce_gradients(model.parameters(), weight=1 if mode == "unweighted" else len(y))
            if mode != "clip-first":
                norm = mg.nn.clip_grad_norm_(model.parameters(), clip)
                clipped_steps += int(float(norm) > clip)
            opt.step()
    empty = dist.reduce_sums(empty=empty_steps)["empty"]
    backend = next(model.parameters()).backend
    moved = w.transports.get(backend.name)
    if w.is_main:
        params = {name: p.numpy() for name, p in model.named_parameters()}
        np.savez(out / f"train_{dtype}_{mode}_{w.size}.npz", **params)
        (out / f"train_{dtype}_{mode}_{w.size}.json").write_text(json.dumps(
            {"empty_rank_steps": empty, "clipped_steps": clipped_steps, "steps": epochs * len(loader),
             "backend": backend.name, "transport": moved.name if moved else None,
             "staged": bool(moved) and backend.xp is not np}))


class StagedBackend(Backend):
    """NumPy arrays presented as another library's, so that the host transport stages them (the path CuPy
    arrays take without NCCL): copy to host, MPI, copy back."""

    def __init__(self) -> None:
        xp = types.ModuleType("staged_numpy")
        xp.__dict__.update({k: getattr(np, k) for k in dir(np) if not k.startswith("__")})
        super().__init__("staged", xp)


class FakeNccl:
    """Records what NcclTransport asks of ``cupy.cuda.nccl`` (no GPU here)."""

    NCCL_FLOAT16, NCCL_FLOAT32, NCCL_FLOAT64, NCCL_INT32, NCCL_INT64 = 6, 7, 8, 2, 4
    NCCL_SUM, NCCL_MAX, NCCL_MIN = 0, 2, 3

    def __init__(self, rank: int) -> None:
        self.rank, self.calls = rank, []

    def get_unique_id(self) -> bytes:
        return bytes(range(128)) if self.rank == 0 else b"wrong"

    def NcclCommunicator(self, size, uid, rank):  # noqa: N802 - the name in cupy.cuda.nccl
        self.calls.append(("communicator", size, list(uid), rank))
        nccl = self

        class Comm:
            def allReduce(self, send, recv, count, dtype, op, stream):  # noqa: N802
                nccl.calls.append(("allReduce", send == recv, count, dtype, op, stream))

        return Comm()


def arithmetic(out: Path) -> None:
    """allreduce_gradients, reduce_sums, all_reduce, broadcasts and the transports on 3 ranks."""
    w = dist.init()
    r = w.rank
    a = np.arange(6.0).reshape(3, 2)
    p = mg.nn.Parameter(mg.tensor(a * 0 + r, dtype="float64"))  # differs by rank: broadcast makes it rank 0's
    q = mg.nn.Parameter(mg.tensor(np.ones(4) * (r + 1), dtype="float64"))
    z = mg.nn.Parameter(mg.zeros(2, dtype="float64"))
    s = mg.nn.Parameter(mg.zeros(5, dtype="float32"))
    dist.broadcast_parameters({"p": p, "q": q, "z": z, "s": s})
    weights = [2, 5, 0]
    if weights[r]:
        p.grad = mg.tensor(a * (r + 1), dtype="float64")
        s.grad = mg.tensor(np.full(5, r + 1.0), dtype="float32")
    if r == 0:
        q.grad = mg.tensor(np.arange(4.0) + 1, dtype="float64")
    total = dist.allreduce_gradients([p, q, z, s], weight=weights[r])
    staged = StagedBackend()
    buf = staged.xp.asarray(np.arange(4.0) * (r + 1))
    dist.transport.transport_for(w, staged).allreduce_(buf)
    fake = FakeNccl(r)
    nccl = dist.transport.NcclTransport(w, mg.get_backend(), nccl=fake)
    result = {
        "total": total, "p": p.numpy().tolist(), "p_grad": p.grad.numpy().tolist(), "q_grad": q.grad.numpy().tolist(),
        "z_grad": None if z.grad is None else z.grad.numpy().tolist(), "s_grad": s.grad.numpy().tolist(),
        "s_grad_dtype": str(s.grad.dtype), "q_data": q.numpy().tolist(),
        "sums": dist.reduce_sums(n=r + 1, half=0.5), "max": dist.all_reduce(np.array([r, -r]), "max").tolist(),
        "object": dist.broadcast_object({"rank": r}), "staged": buf.tolist(),
        "transport": dist.transport.transport_for(w, mg.get_backend()).name, "nccl_calls": fake.calls,
        "local": [w.local_rank, w.local_size], "nccl_dtype": nccl.dtypes["float32"],
    }
    everyone = w.comm.gather(result, root=0)
    if w.is_main:
        (out / "arithmetic.json").write_text(json.dumps(everyone))


def fail(out: Path) -> None:
    """Rank 1 raises; rank 0 waits in a collective that rank 1 never joins."""
    w = dist.init()
    if w.rank == 1:
        raise RuntimeError("rank 1 fails on purpose")
    w.comm.Barrier()
    time.sleep(60)


def click_exit(out: Path) -> None:
    """Rank 1 stops with a one-line error inside a distributed Run (click exits with status 1, no traceback):
    the Run makes that end the job too."""
    import click

    from minigrad.runner import Run

    @click.command()
    def main() -> None:
        with Run("exit", distributed=True) as run:
            if run.world.rank == 1:
                raise click.ClickException("rank 1 stops on purpose")
            run.world.comm.Barrier()
            time.sleep(60)

    main([])


def mismatch(out: Path) -> None:
    """The ranks build models of different hidden sizes."""
    dist.init()
    mg.manual_seed(0)
    try:
        dist.broadcast_parameters(Classifier(hidden=H + dist.rank()))
    except dist.DistributedError as e:  # kept in a file too: output can be cut short when the job aborts
        (out / f"mismatch_error_{dist.rank()}").write_text(str(e))
        raise
    (out / f"mismatch_passed_{dist.rank()}").write_text("no error")


if __name__ == "__main__":
    case, out = sys.argv[1], Path(sys.argv[2])
    if case == "train":  # train OUT DTYPE[,DTYPE...] MODE[,MODE...]: every combination, one after the other
        for dtype in sys.argv[3].split(","):
            for mode in sys.argv[4].split(","):
                train(out, dtype=dtype, mode=mode)
    else:
        {"arithmetic": arithmetic, "fail": fail, "exit": click_exit, "mismatch": mismatch}[case](out)
