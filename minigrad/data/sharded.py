"""``ShardedLoader``: each rank's share of every global batch of a ``DataLoader``, for data parallelism.

Every rank computes the same batches (the wrapped loader's order depends on its ``seed`` and the epoch
only, so the seed must be the same on every rank: `minigrad.runner.Run.shard` broadcasts rank 0's) and
takes the rows ``rank, rank + P, rank + 2P, ...`` of each, P the number of ranks. So:

- every rank takes exactly ``len(loader)`` steps per epoch, by construction (no rank waits for a
  collective another will never call);
- every example is in exactly one rank's shard of one batch: no padding with repeated examples, no
  overlap; a batch smaller than P leaves some ranks a batch of 0 rows for that step;
- the rows of a batch are sorted by length (with ``bucket_by_length``), so strided shards get
  similar lengths and similar work.

Pure Python and NumPy: no MPI here, testable in one process.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from minigrad.data.loader import Batch, DataLoader

__all__ = ["ShardedLoader"]


class ShardedLoader:
    """Rank ``rank``'s rows of every batch of ``loader``, out of ``world_size`` ranks.

    Args:
        loader: the [`DataLoader`][minigrad.data.DataLoader] of the whole dataset; its ``batch_size`` is
            the global batch (the examples of one optimizer step over all ranks).
        rank: this rank, 0 to ``world_size - 1``.
        world_size: P, the number of ranks.

    Yields, per global batch, this rank's ``(ids (B_r, T_r), lengths (B_r,), labels (B_r,))`` with
    $B_r = \\lceil (B - r) / P \\rceil$ rows (0 rows: ``ids`` of shape (0, 0)); T_r is the longest length
    among them.

    Raises:
        ValueError: ``world_size`` < 1, or ``rank`` outside 0 to ``world_size - 1``.
    """

    def __init__(self, loader: DataLoader, rank: int, world_size: int) -> None:
        for name, value in (("rank", rank), ("world_size", world_size)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
                raise ValueError(f"ShardedLoader: {name} must be an int, got {value!r}")
        if world_size < 1 or not 0 <= rank < world_size:
            raise ValueError(f"ShardedLoader: rank must be in 0..{world_size - 1} for world_size {world_size}, "
                             f"got rank {rank}")
        self.loader, self.rank, self.world_size = loader, int(rank), int(world_size)

    @property
    def epoch(self) -> int:
        """The wrapped loader's next epoch."""
        return self.loader.epoch

    @property
    def num_examples(self) -> int:
        """The examples of the whole dataset (all ranks)."""
        return self.loader.num_examples

    def set_epoch(self, epoch: int) -> None:
        """Make the next iteration epoch ``epoch`` (the same on every rank)."""
        self.loader.set_epoch(epoch)

    def __len__(self) -> int:
        """Steps per epoch: the wrapped loader's number of batches, on every rank."""
        return len(self.loader)

    def batch_indices(self, epoch: int | None = None) -> list[np.ndarray]:
        """This rank's dataset indices of each batch of an epoch (some may be empty)."""
        return [index[self.rank::self.world_size] for index in self.loader.batch_indices(epoch)]

    def __iter__(self) -> Iterator[Batch]:
        batches = self.batch_indices(self.loader.epoch)
        self.loader.epoch += 1
        for index in batches:
            yield self.loader.collate(index)

    def __repr__(self) -> str:
        return f"ShardedLoader(rank {self.rank} of {self.world_size}, {self.loader!r})"
