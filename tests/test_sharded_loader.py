"""ShardedLoader: each rank's rows of every global batch (no MPI needed: ranks are simulated)."""

from __future__ import annotations

import numpy as np
import pytest

from minigrad.data import DataLoader, ShardedLoader


def dataset(n: int, seed: int = 0) -> list[tuple[list[int], int]]:
    rng = np.random.default_rng(seed)
    return [(list(rng.integers(2, 50, size=int(rng.integers(1, 30)))), int(rng.integers(0, 2))) for _ in range(n)]


@pytest.mark.parametrize("world_size", [1, 2, 3, 4, 5])
@pytest.mark.parametrize(("n", "batch_size", "drop_last"), [(41, 10, False), (7, 3, False), (13, 13, False),
                                                             (3, 8, False), (29, 6, True)])
def test_shards_partition_every_global_batch(world_size, n, batch_size, drop_last):
    data = dataset(n)
    loader = DataLoader(data, batch_size=batch_size, seed=3, drop_last=drop_last, bucket_size=2)
    shards = [ShardedLoader(DataLoader(data, batch_size=batch_size, seed=3, drop_last=drop_last, bucket_size=2),
                            rank, world_size) for rank in range(world_size)]
    for epoch in (0, 1):
        whole = loader.batch_indices(epoch)
        per_rank = [s.batch_indices(epoch) for s in shards]
        assert all(len(s) == len(loader) for s in shards)  # the same number of steps on every rank
        for step, index in enumerate(whole):
            pieces = [per_rank[r][step] for r in range(world_size)]
            joined = np.concatenate(pieces)
            assert len(joined) == len(index) and set(joined.tolist()) == set(index.tolist())  # no loss, no repeat
            sizes = [len(p) for p in pieces]
            assert max(sizes) - min(sizes) <= 1  # as even as the batch allows


def test_batches_are_the_rows_of_the_global_batch_and_empty_shards_have_zero_rows():
    data = dataset(9)
    loader = DataLoader(data, batch_size=4, seed=1)
    whole = list(DataLoader(data, batch_size=4, seed=1))
    shards = [list(ShardedLoader(DataLoader(data, batch_size=4, seed=1), rank, 6)) for rank in range(6)]
    assert len(whole) == len(loader) == 3
    short = next(step for step, batch in enumerate(whole) if len(batch[2]) == 1)  # 9 = 4 + 4 + 1
    assert [len(s[short][2]) for s in shards] == [1, 0, 0, 0, 0, 0]
    ids, lengths, labels = shards[1][short]
    assert ids.shape == (0, 0) and lengths.shape == (0,) and labels.shape == (0,) and ids.dtype == np.int64
    for step, (ids, lengths, labels) in enumerate(whole):
        rows = [s[step] for s in shards]
        got = sorted((tuple(r_ids[k, :r_len[k]].tolist()), int(r_lab[k]))
                     for r_ids, r_len, r_lab in rows for k in range(len(r_lab)))
        want = sorted((tuple(ids[k, :lengths[k]].tolist()), int(labels[k])) for k in range(len(labels)))
        assert got == want
        for r_ids, r_len, _ in rows:  # each shard is padded to its own longest row only
            if len(r_len):
                assert r_ids.shape[1] == r_len.max()


def test_length_bucketing_is_kept_in_every_shard():
    data = dataset(400, seed=5)
    loader = DataLoader(data, batch_size=40, seed=0)
    for world_size in (2, 4):
        shards = [ShardedLoader(DataLoader(data, batch_size=40, seed=0), r, world_size) for r in range(world_size)]
        lengths = loader._lengths
        for step, index in enumerate(loader.batch_indices(0)):
            spread = lengths[index].max() - lengths[index].min()
            for s in shards:
                part = s.batch_indices(0)[step]
                assert lengths[part].max() - lengths[part].min() <= spread  # a strided piece of a sorted batch
    unbucketed = DataLoader(data, batch_size=40, seed=0, bucket_by_length=False).padding_fraction(0)
    assert loader.padding_fraction(0) < unbucketed / 2  # the bucketing that the shards inherit does matter


def test_epochs_follow_the_wrapped_loader():
    data = dataset(20)
    shard = ShardedLoader(DataLoader(data, batch_size=5, seed=2), 1, 2)
    first = [b[2].tolist() for b in shard]
    assert shard.epoch == 1
    shard.set_epoch(0)
    assert [b[2].tolist() for b in shard] == first
    assert [i.tolist() for i in shard.batch_indices(1)] != [i.tolist() for i in shard.batch_indices(0)]
    assert shard.num_examples == 20 and len(shard) == 4


@pytest.mark.parametrize(("rank", "world_size", "message"), [(2, 2, "rank must be in 0..1"), (0, 0, "rank must be"),
                                                             (-1, 3, "rank must be in 0..2"),
                                                             (True, 2, "rank must be an int")])
def test_bad_ranks_are_refused(rank, world_size, message):
    with pytest.raises(ValueError, match=message):
        ShardedLoader(DataLoader(dataset(4), batch_size=2, seed=0), rank, world_size)
