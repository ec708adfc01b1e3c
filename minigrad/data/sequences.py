"""Arrays from id sequences: ``one_hot`` vectors and ``pad_sequences`` batches.

Shapes use the project legend: N batch, T time, V vocabulary.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

__all__ = ["one_hot", "pad_sequences"]

_SIDES = ("pre", "post")


def one_hot(ids: Any, vocab_size: int) -> np.ndarray:
    """One-hot vectors of integer ids.

    Args:
        ids: integers of any shape ``(...)``: an int, a (nested) list or an
            integer NumPy array, each in ``[0, vocab_size)``.
        vocab_size: V, the length of each vector.

    Returns:
        float32 array of shape ``(..., V)`` with ``out[..., k] == 1.0`` where
        ``ids == k`` and 0 elsewhere.

    Raises:
        TypeError: ``ids`` are not integers.
        ValueError: an id is outside ``[0, vocab_size)``; the message gives the
            first such id and its index.

    Examples:
        >>> one_hot([2, 0], 3)
        array([[0., 0., 1.],
               [1., 0., 0.]], dtype=float32)
    """
    if isinstance(vocab_size, bool) or not isinstance(vocab_size, (int, np.integer)) or vocab_size < 1:
        raise ValueError(f"one_hot: vocab_size must be an int >= 1, got {vocab_size!r}")
    ids = np.asarray(ids)
    if ids.size == 0 and ids.dtype.kind == "f":  # np.asarray([]) is float64
        ids = ids.astype(np.int64)
    if ids.dtype.kind not in "iu":
        raise TypeError(f"one_hot: ids must be integers, got an array of dtype {ids.dtype}")
    outside = (ids < 0) | (ids >= vocab_size)
    if outside.any():
        index = tuple(int(k) for k in np.argwhere(outside)[0])
        raise ValueError(
            f"one_hot: id {ids[index]} at index {index if ids.ndim else '()'} is outside [0, {vocab_size}) "
            f"({int(outside.sum())} of {ids.size} ids are out of range)"
        )
    out = np.zeros(ids.shape + (int(vocab_size),), dtype=np.float32)
    np.put_along_axis(out, ids[..., None].astype(np.intp), 1.0, axis=-1)
    return out


def _check_side(name: str, side: str) -> None:
    if side not in _SIDES:
        raise ValueError(f"pad_sequences: {name} must be 'pre' or 'post', got {side!r}")


def pad_sequences(
    seqs: Iterable[Sequence[Any]],
    maxlen: int | None = None,
    padding: str = "post",
    truncating: str = "post",
    value: float = 0,
    dtype: Any = "int64",
) -> tuple[np.ndarray, np.ndarray]:
    """Pad (and truncate) sequences of different lengths into one array.

    Args:
        seqs: N sequences, each a list or array. Items may be numbers,
            equal-shape feature vectors (then each sequence has shape
            ``(T_i, *F)``), or tokens with ``dtype=object`` or a string dtype.
            An empty sequence becomes a row of padding with length 0 (as in
            Keras; recurrent layers refuse a length of 0).
        maxlen: T, the length of the result; None uses the longest sequence.
            Longer sequences are truncated.
        padding: ``'post'`` puts the padding after each sequence, ``'pre'``
            before it. minigrad's recurrent layers expect ``'post'`` when
            given ``lengths``.
        truncating: ``'post'`` drops the items past ``maxlen`` from the end,
            ``'pre'`` drops them from the start (keeps the last ``maxlen``).
        value: the padding value.
        dtype: the dtype of the result.

    Returns:
        ``(padded, lengths)``: ``padded`` of shape ``(N, T)`` (or
        ``(N, T, *F)``) and dtype ``dtype``, ``lengths`` int64 of shape
        ``(N,)``: each sequence's length after truncation, ``min(T_i, T)``.

    Raises:
        ValueError: a bad ``padding``/``truncating``/``maxlen``, or feature
            shapes that differ (naming the sequence).
        TypeError: non-numeric items with a numeric ``dtype``, float items with
            an integer ``dtype``, or a string ``value`` with a numeric ``dtype``.

    Examples:
        >>> padded, lengths = pad_sequences([[1, 2, 3], [4]])
        >>> padded
        array([[1, 2, 3],
               [4, 0, 0]])
        >>> lengths
        array([3, 1])
        >>> pad_sequences([[1, 2, 3], [4]], maxlen=2, padding="pre", truncating="pre")[0]
        array([[2, 3],
               [0, 4]])
    """
    _check_side("padding", padding)
    _check_side("truncating", truncating)
    if maxlen is not None and (isinstance(maxlen, bool) or not isinstance(maxlen, (int, np.integer)) or maxlen < 1):
        raise ValueError(f"pad_sequences: maxlen must be None or an int >= 1, got {maxlen!r}")
    dtype = np.dtype(dtype)
    text = dtype.kind in "OUS"  # tokens rather than ids (Keras allows dtype=object with a string value)
    if isinstance(value, str) and not text:
        raise TypeError(f"pad_sequences: padding value {value!r} is a string but dtype is {dtype}; "
                        "pass dtype=object (or a string dtype) to pad tokens")
    if dtype.kind in "iu" and float(value) != int(value):
        raise TypeError(f"pad_sequences: padding value {value!r} is not an integer but dtype is {dtype}")

    arrays = []
    for i, seq in enumerate(seqs):
        a = np.asarray(seq, dtype=object) if text else np.asarray(seq)
        if a.ndim == 0:
            raise ValueError(f"pad_sequences: sequence {i} is a single value ({seq!r}), expected a sequence")
        if len(a) == 0:  # a row of padding with length 0, as in Keras (recurrent layers refuse length 0)
            arrays.append(a.reshape((0,) + (arrays[0].shape[1:] if arrays else ())))
            continue
        if text:
            pass
        elif a.dtype.kind not in "biuf":
            raise TypeError(f"pad_sequences: sequence {i} has items of dtype {a.dtype}, expected numbers")
        if dtype.kind in "iu" and a.dtype.kind == "f":
            raise TypeError(f"pad_sequences: sequence {i} holds floats but dtype is {dtype}; "
                            "pass dtype='float32' to pad float sequences")
        if arrays and len(arrays[0]) and a.shape[1:] != arrays[0].shape[1:]:
            raise ValueError(f"pad_sequences: sequence {i} has items of shape {a.shape[1:]}, "
                             f"but sequence 0 has {arrays[0].shape[1:]}")
        arrays.append(a)

    features = next((a.shape[1:] for a in arrays if len(a)), ())
    if maxlen is None:
        maxlen = max((len(a) for a in arrays), default=0)
    padded = np.full((len(arrays), int(maxlen)) + features, value, dtype=dtype)
    lengths = np.empty(len(arrays), dtype=np.int64)
    for i, a in enumerate(arrays):
        if len(a) > maxlen:
            a = a[-maxlen:] if truncating == "pre" else a[:maxlen]
        n = len(a)
        if padding == "post":
            padded[i, :n] = a
        else:
            padded[i, maxlen - n:] = a
        lengths[i] = n
    return padded, lengths
