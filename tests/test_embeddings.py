"""read_word_vectors: GloVe and word2vec text files (gzipped or not) as an embedding matrix aligned with a Vocab."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest

from minigrad.data import PAD_ID, UNK_ID, Vocab, read_word_vectors

GLOVE = "the 0.1 0.2 0.3\nfilm -1 2.5 3e-1\n<pad> 9 9 9\nParis 4 5 6\nparis 7 8 9\nunused x y z\n"


def write(path: Path, content: str | bytes) -> Path:
    data = content.encode("utf-8") if isinstance(content, str) else content
    if path.name.endswith(".gz"):
        with gzip.open(path, "wb") as f:
            f.write(data)
    else:
        path.write_bytes(data)
    return path


@pytest.fixture
def vocab():
    return Vocab(["<pad>", "<unk>", "the", "film", "paris", "Berlin", "missing"])


@pytest.mark.parametrize("name", ["glove.txt", "glove.txt.gz"])
def test_glove(tmp_path, vocab, name):
    matrix, found = read_word_vectors(write(tmp_path / name, GLOVE), vocab)
    assert matrix.shape == (7, 3) and matrix.dtype == np.float32
    np.testing.assert_array_equal(matrix[PAD_ID], 0)  # the file's "<pad>" vector is not used
    np.testing.assert_array_equal(matrix[UNK_ID], 0)
    np.testing.assert_allclose(matrix[2], [0.1, 0.2, 0.3])
    np.testing.assert_allclose(matrix[3], [-1, 2.5, 0.3])
    np.testing.assert_allclose(matrix[4], [7, 8, 9])  # the exact word wins over "Paris", which came first
    np.testing.assert_array_equal(matrix[5:], 0)
    assert found == 3
    # a non-number on a line no token uses is never parsed


def test_case_insensitive_fallback_takes_the_first_match(tmp_path):
    path = write(tmp_path / "cased.txt", "The 1 1\nTHE 2 2\nberlin 3 3\n")
    matrix, found = read_word_vectors(path, ["<pad>", "<unk>", "the", "Berlin", "BERLIN"])
    np.testing.assert_array_equal(matrix, [[0, 0], [0, 0], [1, 1], [3, 3], [3, 3]])
    assert found == 3


def test_word2vec_text_format_with_header(tmp_path, vocab):
    path = write(tmp_path / "w2v.vec", "3 2\nthe 1 2 \nfilm 3 4 \nparis 5 6 \n")  # word2vec writes a trailing space
    matrix, found = read_word_vectors(path, vocab, dtype="float64", dim=2)
    assert matrix.dtype == np.float64 and found == 3
    np.testing.assert_array_equal(matrix[2:5], [[1, 2], [3, 4], [5, 6]])


def test_init_rows_for_missing_words(tmp_path, vocab):
    init = np.full((7, 3), 0.5)
    matrix, found = read_word_vectors(write(tmp_path / "g.txt", GLOVE), vocab, init=init)
    np.testing.assert_array_equal(matrix[PAD_ID], 0)
    np.testing.assert_array_equal(matrix[UNK_ID], 0.5)
    np.testing.assert_array_equal(matrix[5:], 0.5)
    np.testing.assert_allclose(matrix[2], [0.1, 0.2, 0.3])
    assert (init == 0.5).all() and found == 3  # init is not modified
    with pytest.raises(ValueError, match=r"read_word_vectors: init has shape \(7, 4\), expected \(7, 3\) \(7 tokens, "
                                         r"vectors of size 3 in .*g\.txt\)"):
        read_word_vectors(tmp_path / "g.txt", vocab, init=np.zeros((7, 4)))


def test_words_with_spaces_nfc_and_duplicates(tmp_path):
    content = "cafe\u0301 3 4\n. . . 1 2\ncaf\u00e9 5 6\n"
    matrix, found = read_word_vectors(write(tmp_path / "g.txt", content), ["<pad>", "<unk>", ". . .", "caf\u00e9"])
    np.testing.assert_array_equal(matrix[2:], [[1, 2], [3, 4]])  # the first of two equal words wins
    assert found == 2


@pytest.mark.parametrize(("content", "match"), [
    ("", r"g\.txt: the file is empty; expected lines 'word v1 v2 \.\.\.'"),
    ("3 2\n", r"g\.txt: the file has a header line but no vectors"),
    ("the 1 2 3\nfilm 1 2\n", r"g\.txt line 2: 2 values, expected 3 as on line 1"),
    ("the 1 2 3\nfilm 1 2 3 4\n", r"g\.txt line 2: 4 values, expected 3 as on line 1"),
    ("2 3\nthe 1 2 3\nfilm 1 2\n", r"g\.txt line 3: 2 values, expected 3 as on the header line"),
    ("the 1 2\nfilm 1 x\n", r"g\.txt line 2: the value 'x' of 'film' is not a number"),
    ("the 1 2\n\nfilm 1 2\n", r"g\.txt line 2: an empty line"),
    ("the\n", r"g\.txt line 1: expected a word and its values separated by spaces, found 'the'"),
    ("3 2\nthe 1 2\nfilm 3 4\n", r"g\.txt line 1: the header says 3 vectors, the file has 2"),
])
def test_errors_name_file_and_line(tmp_path, vocab, content, match):
    with pytest.raises(ValueError, match=match):
        read_word_vectors(write(tmp_path / "g.txt", content), vocab)


def test_expected_dim(tmp_path, vocab):
    path = write(tmp_path / "g.txt", GLOVE)
    with pytest.raises(ValueError, match=r"g\.txt line 1: 3 values, expected dim=50"):
        read_word_vectors(path, vocab, dim=50)
    header = write(tmp_path / "h.vec", "1 3\nthe 1 2 3\n")
    with pytest.raises(ValueError, match=r"h\.vec line 1: the header gives vectors of size 3, expected dim=50"):
        read_word_vectors(header, vocab, dim=50)
    with pytest.raises(ValueError, match=r"read_word_vectors: dim must be an integer >= 1, got 0"):
        read_word_vectors(path, vocab, dim=0)


def test_file_errors(tmp_path, vocab):
    with pytest.raises(FileNotFoundError, match=r"read_word_vectors: no such file '.*nothing\.txt'"):
        read_word_vectors(tmp_path / "nothing.txt", vocab)
    bad = write(tmp_path / "bad.txt.gz", b"the 1 2\ncaf\xe9 1 2\n")
    with pytest.raises(ValueError, match=r"bad\.txt\.gz line 2: not UTF-8 text \(byte 0xe9 at offset 3 of the line\)"):
        read_word_vectors(bad, vocab)
    not_gzip = write(tmp_path / "plain.txt", "the 1 2\n").rename(tmp_path / "plain.txt.gz")
    with pytest.raises(ValueError, match=r"plain\.txt\.gz: not readable gzip data"):
        read_word_vectors(not_gzip, vocab)
    with pytest.raises(ValueError, match=r"'.*w2v\.bin' looks like the word2vec binary format, which is not read"):
        read_word_vectors(tmp_path / "w2v.bin", vocab)


@pytest.mark.parametrize("value", ["nan", "inf", "-Infinity", "1e39"])
def test_a_value_that_is_not_finite_in_the_dtype_names_the_line(tmp_path, value):
    from minigrad.data import Vocab, read_word_vectors

    path = tmp_path / "v.txt"
    path.write_text(f"good 1 2\nfilm 0.1 {value}\n", encoding="utf-8")
    with pytest.raises(ValueError, match=rf"v.txt line 2: the value '{value}' of 'film' is not a finite float32"):
        read_word_vectors(path, Vocab.build([["good", "film"]]))
    if value == "1e39":  # finite in float64
        matrix, found = read_word_vectors(path, Vocab.build([["good", "film"]]), dtype="float64")
        assert found == 2 and matrix.max() == 1e39
