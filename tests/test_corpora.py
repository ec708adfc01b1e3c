"""read_corpus (class folders, JSON Lines, TSV/CSV, gzipped or not), train_valid_split and truncate."""

from __future__ import annotations

import gzip
import json
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

import minigrad.data
from minigrad.data import read_corpus, read_labeled_text, train_valid_split, truncate

IMDB_TRAIN = Path(__file__).resolve().parents[2] / "shared" / "data" / "imdb" / "train"


def write(path: Path, content: str | bytes) -> Path:
    """Write ``content`` (UTF-8 for a str) to ``path``, gzipped when the name ends in ``.gz``."""
    data = content.encode("utf-8") if isinstance(content, str) else content
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.name.endswith(".gz"):
        with gzip.open(path, "wb") as f:
            f.write(data)
    else:
        path.write_bytes(data)
    return path


def test_exports():
    for name in ("read_corpus", "train_valid_split", "truncate", "clean_markup", "read_word_vectors"):
        assert name in minigrad.data.__all__
        assert getattr(minigrad.data, name).__module__.startswith("minigrad.data.")


# -- class folders ---------------------------------------------------------------


@pytest.fixture
def folder(tmp_path):
    root = tmp_path / "train"
    write(root / "pos" / "b.txt", "  Loved it.\n")
    write(root / "pos" / "a.txt", "Great<br />film")
    write(root / "pos" / "c.txt.gz", "Zipped praise")
    write(root / "neg" / "1_2.txt", "\ufeffDull.")  # a byte-order mark is dropped
    write(root / "neg" / "0_1.txt", "Cafe\u0301 scene")  # put in NFC form
    # ignored: hidden files and folders, files of other kinds, files directly in the root, deeper folders
    write(root / "neg" / ".hidden.txt", "not read")
    write(root / "neg" / "notes.md", "not read")
    write(root / "neg" / "deeper" / "x.txt", "not read")
    write(root / ".cache" / "x.txt", "not read")
    write(root / "urls_pos.txt", "not read")
    write(root / "labeledBow.feat", "not read")
    return root


def test_folder_reads_classes_and_files_in_sorted_order(folder):
    texts, labels = read_corpus(folder)
    assert texts == ["Caf\u00e9 scene", "Dull.", "Great<br />film", "Loved it.", "Zipped praise"]
    assert labels == ["neg", "neg", "pos", "pos", "pos"]
    assert read_corpus(str(folder)) == (texts, labels)


def test_folder_labels_are_folder_names_even_when_numeric(tmp_path):
    write(tmp_path / "0" / "a.txt", "bad")
    write(tmp_path / "1" / "a.txt", "good")
    assert read_corpus(tmp_path) == (["bad", "good"], ["0", "1"])


def test_folder_labels_choose_the_class_folders(folder):
    write(folder / "unsup" / "u.txt", "no label")
    texts, labels = read_corpus(folder)
    assert Counter(labels) == {"neg": 2, "pos": 3, "unsup": 1}
    texts, labels = read_corpus(folder, labels=["pos", "neg"])
    assert Counter(labels) == {"neg": 2, "pos": 3} and "no label" not in texts
    with pytest.raises(ValueError, match=r"train has no class folder named 'neutral' \(it has \['neg', 'pos', "
                                         r"'unsup'\]\); expected one subfolder per class"):
        read_corpus(folder, labels=["neg", "neutral"])
    texts, labels = read_corpus(folder, labels=["pos"])  # picked by name: one class is fine (a test set)
    assert labels == ["pos"] * 3
    with pytest.raises(ValueError, match=r"gives no class \(labels is empty\)"):
        read_corpus(folder, labels=[])
    (folder / "neg").rename(folder / ".neg")
    (folder / "unsup").rename(folder / ".unsup")
    with pytest.raises(ValueError, match=r"gives a single class 'pos'; a classifier needs at least two"):
        read_corpus(folder)


def test_folder_encoding(tmp_path):
    write(tmp_path / "a" / "x.txt", "caf\u00e9".encode("latin-1"))
    write(tmp_path / "b" / "y.txt", b"plain")
    assert read_corpus(tmp_path, encoding="latin-1") == (["caf\u00e9", "plain"], ["a", "b"])
    with pytest.raises(ValueError, match=r"x\.txt line 1: not UTF-8 text \(byte 0xe9 at offset 3\)"):
        read_corpus(tmp_path)


def test_folder_errors(tmp_path):
    flat = tmp_path / "flat"
    write(flat / "a.txt", "text")
    with pytest.raises(ValueError, match=r"the folder .*flat has no class subfolders; expected one subfolder per "
                                         r"class holding its texts: .*flat/<class>/\*\.txt"):
        read_corpus(flat)

    single = tmp_path / "single"
    write(single / "pos" / "a.txt", "text")
    with pytest.raises(ValueError, match=r"single gives a single class 'pos'; a classifier needs at least two"):
        read_corpus(single)

    empty_class = tmp_path / "empty_class"
    write(empty_class / "pos" / "a.txt", "text")
    write(empty_class / "neg" / "notes.md", "not a text")
    with pytest.raises(ValueError, match=r"the class folder .*empty_class/neg has no \.txt files"):
        read_corpus(empty_class)

    empty_file = tmp_path / "empty_file"
    write(empty_file / "pos" / "a.txt", "text")
    write(empty_file / "neg" / "blank.txt", " \n\n")
    with pytest.raises(ValueError, match=r"neg/blank\.txt: the file is empty"):
        read_corpus(empty_file)

    bad = tmp_path / "bad"
    write(bad / "pos" / "a.txt", "text")
    write(bad / "neg" / "b.txt", b"line one\nline two caf\xe9\n")
    with pytest.raises(ValueError, match=r"neg/b\.txt line 2: not UTF-8 text \(byte 0xe9 at offset 21\)"):
        read_corpus(bad)

    broken_gzip = tmp_path / "broken_gzip"
    write(broken_gzip / "pos" / "a.txt", "text")
    (broken_gzip / "neg").mkdir()
    (broken_gzip / "neg" / "z.txt.gz").write_bytes(b"not gzip at all")
    with pytest.raises(ValueError, match=r"neg/z\.txt\.gz: not readable gzip data"):
        read_corpus(broken_gzip)


# -- JSON Lines --------------------------------------------------------------------


def jsonl(*rows: object) -> str:
    return "".join(json.dumps(row) + "\n" for row in rows)


def test_json_lines(tmp_path):
    path = write(tmp_path / "train.jsonl", jsonl({"text": " a fine film ", "label": 1, "id": 7},
                                                 {"sentence": "dull", "label": 0}))
    texts, labels = read_corpus(path)
    assert texts == ["a fine film", "dull"]
    assert labels == [1, 0] and all(type(y) is int for y in labels)


@pytest.mark.parametrize("name", ["train.json", "train.jsonl.gz", "train.JSONL", "train.json.gz"])
def test_json_lines_suffixes_and_gzip(tmp_path, name):
    path = write(tmp_path / name, jsonl({"text": "good", "label": "pos"}, {"text": "bad", "label": "neg"}))
    assert read_corpus(path) == (["good", "bad"], ["pos", "neg"])


def test_json_lines_labels_follow_read_labeled_text(tmp_path):
    ints_as_strings = write(tmp_path / "a.jsonl", jsonl({"text": "x", "label": "1"}, {"text": "y", "label": "-1"}))
    assert read_corpus(ints_as_strings)[1] == [1, -1]
    mixed = write(tmp_path / "b.jsonl", jsonl({"text": "x", "label": 1}, {"text": "y", "label": "pos"}))
    assert read_corpus(mixed)[1] == ["1", "pos"]
    assert read_corpus(ints_as_strings, labels={1, -1})[1] == [1, -1]
    with pytest.raises(ValueError, match=r"b\.jsonl line 2: label 'pos' is not one of the labels seen in training"):
        read_corpus(mixed, labels={0, 1})


def test_json_lines_custom_fields_and_crlf(tmp_path):
    content = '{"review": "caf\\u0065\\u0301", "stars": 5, "text": "other"}\r\n{"review": "meh", "stars": 2}\r\n'
    path = write(tmp_path / "r.jsonl", content)
    assert read_corpus(path, text_field="review", label_field="stars") == (["caf\u00e9", "meh"], [5, 2])


@pytest.mark.parametrize(("content", "match"), [
    ("", r"r\.jsonl: the file is empty; expected one JSON object per line"),
    ("\n \n", r"r\.jsonl: the file is empty"),
    ('{"text": "a", "label": 1}\n{"text": "b", label: 0}\n',
     r"r\.jsonl line 2: not valid JSON: Expecting property name enclosed in double quotes \(column 15\)"),
    ('{"text": "a", "label": 1}\n\n{"text": "b", "label": 0}\n', r"r\.jsonl line 2: an empty line"),
    ('["a", 1]\n', r"r\.jsonl line 1: expected a JSON object, found an array; expected JSON Lines"),
    ('[\n  {"text": "a", "label": 1}\n]\n', r"r\.jsonl line 1: not valid JSON: .*not a JSON array"),
    ('"just text"\n', r"r\.jsonl line 1: expected a JSON object, found a string"),
    ('{"text": "a", "label": 1}\n{"body": "b", "label": 0}\n',
     r"r\.jsonl line 2: no text field 'text' or 'sentence'; the line has the fields \['body', 'label'\]"),
    ('{"text": "a", "stars": 1}\n', r"r\.jsonl line 1: no label field 'label'; the line has the fields "
                                    r"\['text', 'stars'\]"),
    ('{"text": 3, "label": 1}\n', r"r\.jsonl line 1: the 'text' field is a number \(3\), expected a string"),
    ('{"text": null, "label": 1}\n', r"r\.jsonl line 1: the 'text' field is null, expected a string"),
    ('{"text": ["a"], "label": 1}\n', r"r\.jsonl line 1: the 'text' field is an array, expected a string"),
    ('{"text": "  ", "label": 1}\n', r"r\.jsonl line 1: the 'text' field is empty"),
    ('{"text": "a", "label": 1.5}\n', r"r\.jsonl line 1: the 'label' field is a number \(1\.5\), expected a string "
                                      r"or an integer"),
    ('{"text": "a", "label": true}\n', r"r\.jsonl line 1: the 'label' field is a boolean \(true\)"),
    ('{"text": "a", "label": ""}\n', r"r\.jsonl line 1: the 'label' field is empty"),
])
def test_json_lines_errors_name_file_and_line(tmp_path, content, match):
    path = write(tmp_path / "r.jsonl", content)
    with pytest.raises(ValueError, match=match):
        read_corpus(path)


def test_json_lines_bad_bytes_and_gzip(tmp_path):
    path = write(tmp_path / "r.jsonl.gz", b'{"text": "ok", "label": 1}\n{"text": "caf\xe9", "label": 0}\n')
    with pytest.raises(ValueError, match=r"r\.jsonl\.gz line 2: not UTF-8 text \(byte 0xe9 at offset 40\)"):
        read_corpus(path)
    not_gzip = write(tmp_path / "plain.jsonl.gz", b"")
    not_gzip.write_bytes(b'{"text": "ok", "label": 1}\n')
    with pytest.raises(ValueError, match=r"plain\.jsonl\.gz: not readable gzip data"):
        read_corpus(not_gzip)
    explicit = write(tmp_path / "t.jsonl", '{"text": "a", "label": 1}\n')
    with pytest.raises(ValueError, match=r"t\.jsonl line 1: no text field 'review'"):
        read_corpus(explicit, text_field="review")


# -- TSV and CSV -------------------------------------------------------------------


@pytest.mark.parametrize("name", ["dev.tsv", "dev.tsv.gz"])
def test_tsv_through_read_corpus(tmp_path, name):
    path = write(tmp_path / name, "sentence\tlabel\nit 's good . \t1\ndull\t0\n")
    assert read_corpus(path) == (["it 's good .", "dull"], [1, 0])
    assert read_labeled_text(path) == (["it 's good .", "dull"], [1, 0])


def test_csv_gz_and_columns(tmp_path):
    path = write(tmp_path / "r.csv.gz", 'review,stars\n"good, really",5\nbad,1\n')
    assert read_corpus(path, text_field="review", label_field="stars") == (["good, really", "bad"], [5, 1])
    assert read_labeled_text(path, text_column="review", label_column="stars") == (["good, really", "bad"], [5, 1])
    with pytest.raises(ValueError, match=r"r\.csv\.gz line 3: label '1' is not one of the labels"):
        read_corpus(path, text_field="review", label_field="stars", labels={5})


def test_tsv_errors_keep_read_labeled_text_messages(tmp_path):
    path = write(tmp_path / "bad.tsv.gz", "sentence\tlabel\ngood\t1\ntoo\tmany\t1\n")
    with pytest.raises(ValueError, match=r"bad\.tsv\.gz line 3: expected 2 fields"):
        read_corpus(path)
    latin = write(tmp_path / "latin.tsv", "sentence\tlabel\ncaf\u00e9\t1\n".encode("latin-1"))
    with pytest.raises(ValueError, match=r"latin\.tsv line 2: not UTF-8 text \(byte 0xe9 at offset 18\)"):
        read_corpus(latin)
    with pytest.raises(ValueError, match=r"latin\.tsv: TSV and CSV files are read as UTF-8, not 'latin-1'"):
        read_corpus(latin, encoding="latin-1")
    not_gzip = write(tmp_path / "x.tsv.gz", b"")
    not_gzip.write_bytes(b"sentence\tlabel\na\t1\n")
    with pytest.raises(ValueError, match=r"x\.tsv\.gz: not readable gzip data"):
        read_labeled_text(not_gzip)
    with pytest.raises(ValueError, match=r"suffix '\.txt\.gz'; expected \.tsv .* optionally gzipped"):
        read_labeled_text(write(tmp_path / "d.txt.gz", "sentence\tlabel\na\t1\n"))


# -- paths, suffixes, encodings ------------------------------------------------------


def test_path_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"read_corpus: no such file or folder '.*nothing\.jsonl'"):
        read_corpus(tmp_path / "nothing.jsonl")
    with pytest.raises(ValueError, match=r"read_corpus: cannot tell the format of '.*data\.txt' from its suffix "
                                         r"'\.txt'; expected a folder PATH/<class>/\*\.txt, or a file ending in "
                                         r"\.jsonl, \.json, \.tsv or \.csv"):
        read_corpus(write(tmp_path / "data.txt", "x"))
    with pytest.raises(ValueError, match=r"suffix '\.xml\.gz'"):
        read_corpus(write(tmp_path / "data.xml.gz", "x"))
    with pytest.raises(ValueError, match=r"read_corpus: unknown encoding 'utf-99'"):
        read_corpus(tmp_path, encoding="utf-99")


def test_imdb_train_folder():
    """The IMDB training split in its original layout: 12,500 negative and 12,500 positive reviews."""
    if not IMDB_TRAIN.is_dir():
        pytest.skip(f"IMDB data not found at {IMDB_TRAIN}")
    texts, labels = read_corpus(IMDB_TRAIN)
    assert len(texts) == len(labels) == 25_000
    assert Counter(labels) == {"neg": 12_500, "pos": 12_500}
    assert labels[0] == "neg" and labels[-1] == "pos"
    first_neg = sorted(p.name for p in (IMDB_TRAIN / "neg").glob("*.txt"))[0]
    assert texts[0] == (IMDB_TRAIN / "neg" / first_neg).read_text(encoding="utf-8").strip()
    assert all(texts) and any("<br />" in t for t in texts)


# -- train_valid_split ---------------------------------------------------------------


def test_split_is_stratified_with_documented_counts():
    labels = ["a"] * 10 + ["b"] * 5 + ["c"] * 2 + ["d"]
    texts = [f"t{i}" for i in range(len(labels))]
    train_x, train_y, valid_x, valid_y = train_valid_split(texts, labels, fraction=0.25, seed=0)
    # round(2.5) = 2 (half to even), round(1.25) = 1, max(round(0.5), 1) = 1, a single example stays in training
    assert Counter(valid_y) == {"a": 2, "b": 1, "c": 1}
    assert Counter(train_y) == {"a": 8, "b": 4, "c": 1, "d": 1}
    assert [int(t[1:]) for t in train_x] == sorted(int(t[1:]) for t in train_x)  # input order kept
    assert all(labels[int(t[1:])] == y for t, y in zip(train_x + valid_x, train_y + valid_y))


def test_split_keeps_one_in_training_and_one_in_validation():
    labels = [0] * 3 + [1] * 3
    _, train_y, _, valid_y = train_valid_split(list(range(6)), labels, fraction=0.9, seed=1)
    assert Counter(train_y) == {0: 1, 1: 1} and Counter(valid_y) == {0: 2, 1: 2}
    _, train_y, _, valid_y = train_valid_split(list(range(6)), labels, fraction=0.01, seed=1)
    assert Counter(train_y) == {0: 2, 1: 2} and Counter(valid_y) == {0: 1, 1: 1}


def test_split_is_deterministic_disjoint_and_complete():
    rng = np.random.default_rng(3)
    labels = [int(y) for y in rng.integers(0, 3, size=200)]
    texts = [f"text {i}" for i in range(200)]
    first = train_valid_split(texts, labels, 0.2, seed=42)
    assert train_valid_split(texts, labels, 0.2, seed=42) == first
    assert train_valid_split(texts, labels, 0.2, seed=43)[2] != first[2]
    train_x, _, valid_x, _ = first
    assert not set(train_x) & set(valid_x)
    assert sorted(train_x + valid_x) == sorted(texts)
    counts = Counter(labels)
    assert len(valid_x) == sum(round(0.2 * n) for n in counts.values())


@pytest.mark.parametrize("fraction", [0, 1, -0.1, 1.5, True, "0.2", None])
def test_split_fraction_must_be_in_open_interval(fraction):
    with pytest.raises(ValueError, match=r"train_valid_split: fraction must be a number in \(0, 1\), got"):
        train_valid_split(["a", "b"], [0, 1], fraction, seed=0)


def test_split_bad_lengths():
    with pytest.raises(ValueError, match="train_valid_split: 3 texts but 2 labels"):
        train_valid_split(["a", "b", "c"], [0, 1], 0.5, seed=0)
    with pytest.raises(ValueError, match="train_valid_split: no examples to split"):
        train_valid_split([], [], 0.5, seed=0)


# -- truncate --------------------------------------------------------------------------


def test_truncate():
    ids = [1, 2, 3, 4, 5]
    assert truncate(ids, 3) == [3, 4, 5]
    assert truncate(ids, 3, keep="end") == [3, 4, 5]
    assert truncate(ids, 3, keep="start") == [1, 2, 3]
    assert truncate(ids, 5) == ids and truncate(ids, 9) == ids and truncate(ids, 9, keep="start") == ids
    assert truncate(ids, 1) == [5]
    assert truncate([], 2) == []
    assert truncate((1, 2, 3), 2) == (2, 3)
    np.testing.assert_array_equal(truncate(np.arange(6), np.int64(4), keep="start"), [0, 1, 2, 3])


@pytest.mark.parametrize("max_len", [0, -1, 2.5, None, True])
def test_truncate_max_len(max_len):
    with pytest.raises(ValueError, match=r"truncate: max_len must be an integer >= 1, got"):
        truncate([1, 2], max_len)


def test_truncate_keep():
    with pytest.raises(ValueError, match=r"truncate: keep must be 'end' or 'start', got 'pre'"):
        truncate([1, 2], 1, keep="pre")
