"""``read_word_vectors``: pretrained word vectors (GloVe, word2vec text format) as an embedding matrix for a vocabulary.

The matrix is meant for ``nn.Embedding``: row ``i`` is the vector of token ``i``
of the vocabulary, and the ``<pad>`` row (id 0) is zero.
"""

from __future__ import annotations

import gzip
import os
import unicodedata
import zlib
from collections.abc import Iterator, Sequence

import numpy as np

from minigrad.data.vocab import PAD, Vocab

__all__ = ["read_word_vectors"]


def _lines(path: str) -> Iterator[tuple[int, str]]:
    """``(line number, text)`` of each line of the file, gunzipped when its name ends in ``.gz``, read as UTF-8."""
    opener = gzip.open if path.lower().endswith(".gz") else open
    try:
        with opener(path, "rb") as f:
            for number, raw in enumerate(f, start=1):
                try:
                    line = raw.decode("utf-8-sig" if number == 1 else "utf-8")
                except UnicodeDecodeError as e:
                    raise ValueError(f"{path} line {number}: not UTF-8 text (byte {raw[e.start]:#04x} at offset "
                                     f"{e.start} of the line)") from None
                yield number, line.rstrip()
    except FileNotFoundError:
        raise FileNotFoundError(f"read_word_vectors: no such file {path!r}") from None
    except IsADirectoryError:
        raise IsADirectoryError(f"read_word_vectors: {path!r} is a folder, not a file") from None
    except (gzip.BadGzipFile, EOFError, zlib.error) as e:
        raise ValueError(f"{path}: not readable gzip data ({e})") from None


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def read_word_vectors(
    path: str | os.PathLike,
    vocab: Vocab | Sequence[str],
    dtype: str | np.dtype = "float32",
    init: np.ndarray | None = None,
    dim: int | None = None,
) -> tuple[np.ndarray, int]:
    """Read pretrained word vectors into an embedding matrix whose row ``i`` is the vector of token ``i``.

    Two text formats are read, told apart by their first line:

    - GloVe (Pennington et al., 2014): one vector per line,
      ``word v1 v2 ... vE``, separated by single spaces;
    - word2vec text format (Mikolov et al., 2013; gensim's
      ``save_word2vec_format(binary=False)``, fastText's ``.vec``): the same
      lines after a header line ``count E``; the number of vectors must match
      ``count``. (A first line of two integers is taken for this header.)

    A name ending in ``.gz`` is gunzipped as it is read. The word2vec binary
    format is not read (a ``.bin`` file is an error). The vector size E is
    ``dim``, else the header's, else the number of values on the first line. A
    word after the first line may contain spaces (GloVe's Common Crawl files
    hold a few): the last E fields are the values.

    A token takes the vector of the same word in the file; failing that, of
    the first word in the file equal to it ignoring case (``str.lower`` of
    both), so a lower-cased vocabulary finds its words in a cased file (word2vec,
    GloVe 840B) and the reverse. When a word appears twice, its first vector
    is used. Words are compared in Unicode NFC form, as ``Vocab`` stores them.
    Values are parsed only on the lines that give a token its vector.

    Args:
        path: the vectors file, UTF-8.
        vocab: a [`Vocab`][minigrad.data.Vocab], or the tokens in id order.
        dtype: the matrix's dtype.
        init: the rows of the tokens the file does not have, shape ``(V, E)``
            (e.g. small random values); not modified. None gives zero rows.
        dim: the expected vector size E; None takes it from the file.

    Returns:
        ``(matrix, found)``: ``matrix`` is a new ``(V, E)`` array of ``dtype``,
        V = ``len(vocab)``; the row of ``<pad>`` is zero (whatever the file or
        ``init`` say), every other token's row is its vector from the file, else
        its ``init`` row (zeros without ``init``). ``found`` is the number of
        tokens, ``<pad>`` not counted, that got a vector from the file: the
        coverage is ``found / (V - 1)`` for a ``Vocab``.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        ValueError: one line naming the file and, where a line is at fault,
            the line: an empty file, or one with a header and no vectors; a
            line with another number of values than the first one (or than
            ``dim``); a value that is not a number, or not finite in ``dtype``; the header's count not
            matching the vectors; bad UTF-8 or gzip data; a ``.bin`` file;
            ``init`` of the wrong shape.

    Examples:
        >>> matrix, found = read_word_vectors("glove.6B.100d.txt.gz", vocab)   # doctest: +SKIP
        >>> matrix.shape, found / (len(vocab) - 1)                             # doctest: +SKIP
        ((20000, 100), 0.93)
    """
    path = os.fspath(path)
    if path.lower().removesuffix(".gz").endswith(".bin"):
        raise ValueError(f"read_word_vectors: {path!r} looks like the word2vec binary format, which is not read; "
                         "save the vectors in the text format (gensim: save_word2vec_format(..., binary=False))")
    tokens = list(vocab.itos if isinstance(vocab, Vocab) else vocab)
    if dim is not None and (isinstance(dim, bool) or not isinstance(dim, int) or dim < 1):
        raise ValueError(f"read_word_vectors: dim must be an integer >= 1, got {dim!r}")
    exact: dict[str, int] = {}
    folded: dict[str, list[int]] = {}
    for i, token in enumerate(tokens):
        if token == PAD:
            continue
        token = unicodedata.normalize("NFC", token)
        exact.setdefault(token, i)
        folded.setdefault(token.lower(), []).append(i)

    vectors: dict[int, np.ndarray] = {}
    from_exact: set[int] = set()
    size, size_from, count, last = dim, "dim", None, 0
    for number, line in _lines(path):
        last = number
        if not line:
            raise ValueError(f"{path} line {number}: an empty line; expected 'word v1 v2 ...'")
        fields = line.split(" ")
        if number == 1 and len(fields) == 2 and all(f.isascii() and f.isdigit() for f in fields):  # word2vec header
            count = int(fields[0])
            if size is not None and int(fields[1]) != size:
                raise ValueError(f"{path} line 1: the header gives vectors of size {fields[1]}, expected dim={size}")
            size, size_from = int(fields[1]), "the header line"
            continue
        if size is None:
            size, size_from = len(fields) - 1, f"line {number}"
            if size < 1:
                raise ValueError(f"{path} line {number}: expected a word and its values separated by spaces, "
                                 f"found {line[:40]!r}")
        if len(fields) - 1 != size and not (len(fields) - 1 > size and not _is_number(fields[-size - 1])):
            expected = f"dim={size}" if size_from == "dim" else f"{size} as on {size_from}"
            raise ValueError(f"{path} line {number}: {len(fields) - 1} values, expected {expected}")
        word = " ".join(fields[:-size])
        if not word.isascii():
            word = unicodedata.normalize("NFC", word)
        rows = []
        if word in exact and exact[word] not in from_exact:
            rows.append(exact[word])
            from_exact.add(exact[word])
        rows += [i for i in folded.get(word.lower(), ()) if i not in vectors]
        if rows:
            try:
                vector = np.array(fields[-size:], dtype=np.float64)
            except ValueError:
                bad = next(f for f in fields[-size:] if not _is_number(f))
                raise ValueError(f"{path} line {number}: the value {bad!r} of {word!r} is not a number") from None
            finite = np.isfinite(vector) & (np.abs(vector) <= np.finfo(dtype).max)  # also within dtype's range
            if not finite.all():
                bad = fields[-size:][int(np.argmin(finite))]
                raise ValueError(f"{path} line {number}: the value {bad!r} of {word!r} is not a finite "
                                 f"{np.dtype(dtype).name} number")
            for i in rows:
                vectors[i] = vector
    if last == 0:
        raise ValueError(f"{path}: the file is empty; expected lines 'word v1 v2 ...' (GloVe or word2vec text)")
    vector_lines = last - (count is not None)
    if vector_lines == 0:
        raise ValueError(f"{path}: the file has a header line but no vectors")
    if count is not None and count != vector_lines:
        raise ValueError(f"{path} line 1: the header says {count} vectors, the file has {vector_lines}")

    shape = (len(tokens), size)
    if init is None:
        matrix = np.zeros(shape, dtype=dtype)
    else:
        if np.shape(init) != shape:
            raise ValueError(f"read_word_vectors: init has shape {np.shape(init)}, expected {shape} "
                             f"({len(tokens)} tokens, vectors of size {size} in {path})")
        matrix = np.array(init, dtype=dtype)
    for i, vector in vectors.items():
        matrix[i] = vector
    for i, token in enumerate(tokens):
        if token == PAD:
            matrix[i] = 0
    return matrix, len(vectors)
