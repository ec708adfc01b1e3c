"""``DataLoader``: padded mini-batches of id sequences, bucketed by length.

Bucketing makes each batch hold sequences of similar length, so little of a
batch is padding (recurrent layers spend time on every padded step). One epoch:

1. shuffle the examples (seeded by ``(seed, epoch)``);
2. cut them into buckets of ``bucket_size * batch_size`` consecutive examples;
3. sort each bucket by length and cut it into batches;
4. shuffle the order of all the batches.

Every example is in exactly one batch per epoch (with ``drop_last``, the few
examples past the last full batch are left out, chosen at random each epoch).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from minigrad.data.sequences import pad_sequences

__all__ = ["DataLoader"]

Batch = tuple[np.ndarray, np.ndarray, np.ndarray]


def _positive_int(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"DataLoader: {name} must be an int >= 1, got {value!r}")
    return int(value)


class DataLoader:
    """Iterate over ``(ids, lengths, labels)`` batches of a labeled sequence dataset.

    Args:
        dataset: a sequence of ``(ids, label)`` pairs; ``ids`` is a non-empty
            list (or 1-d integer array) of token ids, ``label`` an int, float
            or str. To pair parallel lists: ``list(zip(id_lists, labels))``.
        batch_size: B, the examples per batch (the last batch may be smaller).
        shuffle: a new random order every epoch; False keeps the dataset order
            (with ``bucket_by_length``, still sorted by length within buckets).
        seed: makes the order of every epoch reproducible; None draws one.
        bucket_by_length: batch together examples of similar length.
        drop_last: leave out the final batch when it is smaller than B.
        bucket_size: the size of a bucket, in batches (bigger: less padding,
            less randomness).

    Each iteration is one epoch and yields, for each batch:

    - ``ids``: int64 array ``(B, T)``, padded with 0 after each sequence,
      where T is the longest length in this batch;
    - ``lengths``: int64 array ``(B,)``, the real length of each row;
    - ``labels``: array ``(B,)`` of the labels (int64 for int labels).

    The epoch number starts at 0 and goes up by one each time an iteration
    starts; [`set_epoch`][minigrad.data.DataLoader.set_epoch] changes it. The same ``seed`` and epoch always give
    the same batches.

    Examples:
        >>> data = [([5, 6, 7], 1), ([8], 0), ([9, 4], 1)]
        >>> loader = DataLoader(data, batch_size=2, seed=0)
        >>> len(loader)
        2
        >>> for ids, lengths, labels in loader:
        ...     print(ids.shape, lengths.tolist(), labels.tolist())   # doctest: +SKIP
        (2, 2) [1, 2] [0, 1]
        (1, 3) [3] [1]
    """

    def __init__(
        self,
        dataset: Sequence[tuple[Sequence[int], Any]],
        batch_size: int,
        shuffle: bool = True,
        seed: int | None = None,
        bucket_by_length: bool = True,
        drop_last: bool = False,
        bucket_size: int = 50,
    ) -> None:
        self.batch_size = _positive_int("batch_size", batch_size)
        self.bucket_size = _positive_int("bucket_size", bucket_size)
        self.shuffle = bool(shuffle)
        self.bucket_by_length = bool(bucket_by_length)
        self.drop_last = bool(drop_last)
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0):
            raise ValueError(f"DataLoader: seed must be None or an int >= 0, got {seed!r}")
        self.seed = int(np.random.SeedSequence().entropy) if seed is None else int(seed)
        self.epoch = 0
        self._ids, labels = self._check_dataset(dataset)
        self._lengths = np.array([len(ids) for ids in self._ids], dtype=np.int64)
        self._labels = np.asarray(labels)
        if self.drop_last and len(self._ids) < self.batch_size:
            raise ValueError(f"DataLoader: drop_last=True with {len(self._ids)} examples and batch_size "
                             f"{self.batch_size} would give no batch at all")

    @staticmethod
    def _check_dataset(dataset: Any) -> tuple[list[np.ndarray], list]:
        if isinstance(dataset, (str, bytes)) or not hasattr(dataset, "__len__"):
            raise TypeError(f"DataLoader: dataset must be a sequence of (ids, label) pairs, "
                            f"got {type(dataset).__name__}")
        if len(dataset) == 0:
            raise ValueError("DataLoader: the dataset is empty")
        id_arrays, labels = [], []
        for i, example in enumerate(dataset):
            if not isinstance(example, (tuple, list)) or len(example) != 2:
                raise ValueError(f"DataLoader: example {i} must be an (ids, label) pair, got {example!r:.80}")
            ids, label = example
            ids = np.asarray(ids)
            if ids.ndim != 1 or (ids.size and ids.dtype.kind not in "iu"):
                raise ValueError(f"DataLoader: example {i}: ids must be a 1-d sequence of ints, "
                                 f"got shape {ids.shape} and dtype {ids.dtype}")
            if ids.size == 0:
                raise ValueError(f"DataLoader: example {i} has no ids; every sequence needs length >= 1 "
                                 "(was its text empty, or all padding?)")
            id_arrays.append(ids.astype(np.int64, copy=False))
            labels.append(label)
        return id_arrays, labels

    # -- epochs ------------------------------------------------------------
    def set_epoch(self, epoch: int) -> None:
        """Make the next iteration epoch ``epoch`` (its order depends on ``seed`` and ``epoch`` only)."""
        if isinstance(epoch, bool) or not isinstance(epoch, (int, np.integer)) or epoch < 0:
            raise ValueError(f"DataLoader.set_epoch: epoch must be an int >= 0, got {epoch!r}")
        self.epoch = int(epoch)

    def __len__(self) -> int:
        """The number of batches in one epoch."""
        n, b = len(self._ids), self.batch_size
        return n // b if self.drop_last else -(-n // b)

    def batch_indices(self, epoch: int | None = None) -> list[np.ndarray]:
        """The dataset indices of each batch of an epoch, in order, without iterating.

        Args:
            epoch: the epoch; None means the next one to be iterated (``self.epoch``).
        """
        epoch = self.epoch if epoch is None else epoch
        n, b = len(self._ids), self.batch_size
        rng = np.random.default_rng([self.seed, epoch])
        order = rng.permutation(n) if self.shuffle else np.arange(n)
        if self.drop_last:
            order = order[: n - n % b]  # drop before sorting, so long examples are not the ones dropped
        if self.bucket_by_length:
            chunk = self.bucket_size * b  # a multiple of b: only the very last batch can be short
            order = np.concatenate([
                bucket[np.argsort(self._lengths[bucket], kind="stable")]
                for bucket in (order[k:k + chunk] for k in range(0, len(order), chunk))
            ])
        batches = [order[k:k + b] for k in range(0, len(order), b)]
        if self.shuffle:
            batches = [batches[k] for k in rng.permutation(len(batches))]
        return batches

    def __iter__(self) -> Iterator[Batch]:
        batches = self.batch_indices(self.epoch)
        self.epoch += 1
        for index in batches:
            yield self.collate(index)

    @property
    def num_examples(self) -> int:
        """The number of examples in the dataset (``len()`` is the number of batches)."""
        return len(self._ids)

    def collate(self, index: Sequence[int] | np.ndarray) -> Batch:
        """The batch of the examples at dataset positions ``index``: ``(ids (B, T), lengths (B,), labels (B,))``,
        padded with 0 to the longest of them; an empty ``index`` gives a batch of 0 rows (``ids`` (0, 0))."""
        index = np.asarray(index, dtype=np.int64)
        if index.size == 0:
            return np.zeros((0, 0), dtype=np.int64), np.zeros(0, dtype=np.int64), self._labels[index]
        ids, lengths = pad_sequences([self._ids[i] for i in index], padding="post", value=0, dtype="int64")
        return ids, lengths, self._labels[index]

    # -- statistics --------------------------------------------------------
    def padding_fraction(self, epoch: int | None = None) -> float:
        """The fraction of padded positions over all the batches of one epoch.

        ``sum over batches (B * T_batch - sum of lengths) / sum over batches (B * T_batch)``:
        0 means no padding at all. Computed without building the batches.

        Args:
            epoch: the epoch; None means the next one to be iterated.
        """
        total = padded = 0
        for index in self.batch_indices(epoch):
            lengths = self._lengths[index]
            cells = len(index) * int(lengths.max())
            total += cells
            padded += cells - int(lengths.sum())
        return padded / total

    def __repr__(self) -> str:
        return (f"DataLoader({len(self._ids)} examples, batch_size={self.batch_size}, {len(self)} batches, "
                f"shuffle={self.shuffle}, bucket_by_length={self.bucket_by_length}, seed={self.seed})")
