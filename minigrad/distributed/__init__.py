"""Data-parallel training: each process computes the gradient of its share of every batch, then the
gradients are all-reduced, as in ChainerMN, Horovod and PyTorch DDP. MPI (mpi4py) moves the bytes on
CPUs, NCCL (``cupy.cuda.nccl``) on GPUs; minigrad only packs, weights and unpacks.

    import minigrad.distributed as dist
    from minigrad.data import DataLoader, ShardedLoader

    w = dist.init()                                        # a world of one without a launcher
    model = ...                                            # same seed everywhere
    dist.broadcast_parameters(model)                       # checks names, shapes, dtypes first
    loader = ShardedLoader(DataLoader(data, batch_size=128, seed=dist.broadcast_object(seed)), w.rank, w.size)
    for epoch in range(epochs):
        loader.set_epoch(epoch)
        for ids, lengths, y in loader:                     # this rank's rows of each global batch
            opt.zero_grad()
            if len(y):                                     # a short last batch may leave a rank nothing
                loss_fn(model(ids, lengths), y).backward()
            dist.allreduce_gradients(model, weight=len(y)) # then clip, then step
            mg.nn.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()

    mpiexec -n 4 python train.py

With the same seed and no dropout, N processes end with the weights of one process to rounding. The
guide "Training on many machines" has the commands, the guarantees and the measured costs. ``import
minigrad`` does not import this package, and this package imports mpi4py only when a launcher started
several processes.
"""

from minigrad.distributed.collectives import (
    all_reduce,
    allreduce_gradients,
    barrier,
    broadcast_object,
    broadcast_parameters,
    check_same_parameters,
    reduce_sums,
)
from minigrad.distributed.transport import choose_transport
from minigrad.distributed.world import (
    DistributedError,
    World,
    abort_on_error,
    init,
    is_initialized,
    launcher_world,
    mpi_library,
    world,
)


def rank() -> int:
    """This process's rank (0 before [`init`][minigrad.distributed.init] or without a launcher)."""
    return world().rank


def world_size() -> int:
    """The number of processes (1 before [`init`][minigrad.distributed.init] or without a launcher)."""
    return world().size


def local_rank() -> int:
    """This process's rank among those on its machine (0 in a world of one)."""
    return world().local_rank


def is_main() -> bool:
    """True on rank 0, the process that prints and writes files."""
    return world().is_main


__all__ = [
    "DistributedError",
    "World",
    "abort_on_error",
    "all_reduce",
    "allreduce_gradients",
    "barrier",
    "broadcast_object",
    "broadcast_parameters",
    "check_same_parameters",
    "choose_transport",
    "init",
    "is_initialized",
    "is_main",
    "launcher_world",
    "local_rank",
    "mpi_library",
    "rank",
    "reduce_sums",
    "world",
    "world_size",
]
