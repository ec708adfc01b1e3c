"""Host-side data preparation for sequence models: text to padded id batches.

    >>> from minigrad.data import DataLoader, Vocab, read_labeled_text
    >>> texts, labels = read_labeled_text("train.tsv")                   # doctest: +SKIP
    >>> vocab = Vocab.build(texts, min_freq=2)                           # doctest: +SKIP
    >>> loader = DataLoader([(vocab.encode(t), y) for t, y in zip(texts, labels)],
    ...                     batch_size=64, seed=0)                        # doctest: +SKIP
    >>> for ids, lengths, y in loader:  # ids (N, T) int64, lengths (N,), y (N,)  # doctest: +SKIP
    ...     ...

Modules: ``text`` (``tokenize``, ``clean_markup``), ``vocab`` (``Vocab``),
``sequences`` (``one_hot``, ``pad_sequences``), ``readers``
(``read_labeled_text``), ``corpora`` (``read_corpus`` for class folders, JSON
Lines, TSV and CSV, gzipped or not; ``train_valid_split``; ``truncate``),
``embeddings`` (``read_word_vectors``: GloVe and word2vec text files),
``loader`` (``DataLoader``), ``sharded`` (``ShardedLoader``: one rank's rows of
each batch, for data-parallel training). Everything here works on NumPy arrays and Python
lists; wrap a batch in ``minigrad.tensor`` (or an ``Embedding``) to train.
"""

from minigrad.data.corpora import read_corpus, train_valid_split, truncate
from minigrad.data.embeddings import read_word_vectors
from minigrad.data.loader import DataLoader
from minigrad.data.readers import read_labeled_text
from minigrad.data.sequences import one_hot, pad_sequences
from minigrad.data.sharded import ShardedLoader
from minigrad.data.text import clean_markup, tokenize
from minigrad.data.vocab import PAD, PAD_ID, UNK, UNK_ID, Vocab

__all__ = [
    "PAD",
    "PAD_ID",
    "UNK",
    "UNK_ID",
    "DataLoader",
    "ShardedLoader",
    "Vocab",
    "clean_markup",
    "one_hot",
    "pad_sequences",
    "read_corpus",
    "read_labeled_text",
    "read_word_vectors",
    "tokenize",
    "train_valid_split",
    "truncate",
]
