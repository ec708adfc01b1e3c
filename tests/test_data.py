"""minigrad.data: tokenize, Vocab, one_hot, pad_sequences, read_labeled_text, DataLoader."""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minigrad
from minigrad.data import DataLoader, Vocab, one_hot, pad_sequences, read_labeled_text, tokenize

SST2 = Path(__file__).resolve().parents[2] / "shared" / "data" / "sst2"


def sst2_file(name: str) -> Path:
    path = SST2 / name
    if not path.is_file():
        pytest.skip(f"SST-2 data not found at {path} (expected ../shared/data/sst2 next to the repository)")
    return path


def test_data_is_exported_from_minigrad():
    assert minigrad.data.tokenize is tokenize
    assert "data" in minigrad.__all__


# -- tokenize ----------------------------------------------------------------

TOKENIZE_CASES = [
    # contractions, split the PTB way
    ("Don't", ["do", "n't"]),
    ("I can't go", ["i", "ca", "n't", "go"]),
    ("It won't, isn't it?", ["it", "wo", "n't", ",", "is", "n't", "it", "?"]),
    ("it's", ["it", "'s"]),
    ("We're sure they've said you'll see I'm what he'd do",
     ["we", "'re", "sure", "they", "'ve", "said", "you", "'ll", "see", "i", "'m", "what", "he", "'d", "do"]),
    ("the director's cut", ["the", "director", "'s", "cut"]),
    ("Cannot", ["can", "not"]),
    ("gonna", ["gon", "na"]),
    ("the students' books", ["the", "students", "'", "books"]),
    ("o'clock", ["o'clock"]),
    ("it’s", ["it", "'s"]),  # typographic apostrophe
    # punctuation
    ("Hello, world.", ["hello", ",", "world", "."]),
    ("wow!", ["wow", "!"]),
    ("really?!", ["really", "?!"]),
    ("wait... what", ["wait", "...", "what"]),
    ("funny--really", ["funny", "--", "really"]),
    ("a film -- sort of", ["a", "film", "--", "sort", "of"]),
    ("(sort of); yes: no", ["(", "sort", "of", ")", ";", "yes", ":", "no"]),
    ('He said "great" twice', ["he", "said", "``", "great", "''", "twice"]),
    ("“fine”", ["``", "fine", "''"]),
    ("end…", ["end", "..."]),
    # numbers
    ("3.5 stars", ["3.5", "stars"]),
    ("1,000 times", ["1,000", "times"]),
    ("the 2nd act", ["the", "2nd", "act"]),
    ("$3.50.", ["$", "3.50", "."]),
    ("in 2002, at 10:30", ["in", "2002", ",", "at", "10:30"]),
    ("the '70s", ["the", "'70s"]),
    # hyphens, slashes, abbreviations
    ("A well-made, old-fashioned film", ["a", "well-made", ",", "old-fashioned", "film"]),
    ("a 90-minute sci-fi b-movie", ["a", "90-minute", "sci-fi", "b-movie"]),
    ("and/or 1/2", ["and/or", "1/2"]),
    ("Mr. Smith vs. the U.S.", ["mr.", "smith", "vs.", "the", "u.s."]),
    ("m. night shyamalan", ["m.", "night", "shyamalan"]),
    ("so did I. Then", ["so", "did", "i", ".", "then"]),
    # case and whitespace
    ("LOUD\tand\nClear  ", ["loud", "and", "clear"]),
    ("", []),
    ("   ", []),
]


@pytest.mark.parametrize(("text", "expected"), TOKENIZE_CASES, ids=[c[0][:24] for c in TOKENIZE_CASES])
def test_tokenize(text, expected):
    assert tokenize(text) == expected


@pytest.mark.parametrize("text", [c[0] for c in TOKENIZE_CASES], ids=[c[0][:24] for c in TOKENIZE_CASES])
def test_tokenize_is_stable_on_its_own_output(text):
    """Tokenized text joined with spaces (the SST-2 file format) tokenizes to the same tokens."""
    tokens = tokenize(text)
    assert tokenize(" ".join(tokens)) == tokens


@pytest.mark.parametrize("sentence", [
    "it 's a charming and often affecting journey . ",
    "unflinchingly bleak and desperate ",
    "the movie does n't work , and it ca n't even be called a thriller ... ",
    "a well-made , thought-provoking 90-minute film -- with mr. smith 's `` best '' work ( sort of ) . ",
    "we 've seen it , they 're tired , i 'm done , you 'll laugh , he 'd cry ",
])
def test_tokenize_sst2_style_input_is_kept(sentence):
    assert tokenize(sentence) == sentence.split()


def test_tokenize_sst2_dev_round_trip():
    path = sst2_file("dev.tsv")
    sentences = [line.split("\t")[0] for line in path.read_text(encoding="utf-8").splitlines()[1:]]
    same = sum(tokenize(s) == s.split() for s in sentences)
    assert len(sentences) == 872
    assert same / len(sentences) >= 0.99, f"only {same} of {len(sentences)} SST-2 dev sentences tokenize unchanged"


def test_tokenize_rejects_non_text():
    with pytest.raises(TypeError, match="expected a str, got list"):
        tokenize(["a", "b"])


# -- Vocab -------------------------------------------------------------------

TEXTS = ["the film is good .", "the film is bad .", "a good , good film", "the end"]


def reference_order(token_lists, min_freq=1):
    counts = Counter(t for tokens in token_lists for t in tokens)
    kept = [t for t in counts if counts[t] >= min_freq]
    return ["<pad>", "<unk>"] + sorted(kept, key=lambda t: (-counts[t], t))


def test_vocab_order_specials_and_ties():
    vocab = Vocab.build(TEXTS)
    assert vocab.itos[:2] == ("<pad>", "<unk>")
    assert list(vocab.itos) == reference_order([t.split() for t in TEXTS])
    # film and the: 3 each, alphabetical; good: 3; '.' and is: 2 each
    assert vocab.itos[2:7] == ("film", "good", "the", ".", "is")
    assert len(vocab) == 2 + 9  # the film is good . bad a , end


def test_vocab_is_deterministic_under_reordering():
    texts = TEXTS * 3 + ["zeta alpha"]
    assert Vocab.build(texts).itos == Vocab.build(list(reversed(texts))).itos


def test_vocab_lookups():
    vocab = Vocab.build(TEXTS)
    for i, token in enumerate(vocab.itos):
        assert vocab.stoi[token] == i
        assert vocab.token_to_id(token) == i
    assert "film" in vocab and "missing" not in vocab
    assert vocab.token_to_id("missing") == 1
    with pytest.raises(TypeError):
        vocab.stoi["new"] = 5  # read-only mapping


def test_vocab_encode_decode():
    vocab = Vocab.build(TEXTS)
    ids = vocab.encode("The film is GREAT!")
    assert ids == [vocab.stoi["the"], vocab.stoi["film"], vocab.stoi["is"], 1, 1]
    assert vocab.encode(["the", "film", "is", "great", "!"]) == ids
    assert vocab.decode(ids) == ["the", "film", "is", "<unk>", "<unk>"]
    assert vocab.decode(np.array(ids + [0, 0])) == vocab.decode(ids)
    assert vocab.decode([vocab.stoi["the"], 0], skip_pad=False) == ["the", "<pad>"]
    with pytest.raises(ValueError, match=r"id 11 at position 1 is outside \[0, 11\)"):
        vocab.decode([2, 11])
    with pytest.raises(ValueError, match="position 0"):
        vocab.decode([-1])


def test_vocab_token_lists_and_literal_specials():
    vocab = Vocab.build([["b", "a", "<unk>"], ["a", "<pad>"]])
    assert vocab.itos == ("<pad>", "<unk>", "a", "b")
    assert vocab.encode(["<pad>", "<unk>", "b"]) == [0, 1, 3]


def test_vocab_min_freq_and_max_size():
    token_lists = [t.split() for t in TEXTS]
    assert list(Vocab.build(TEXTS, min_freq=2).itos) == reference_order(token_lists, min_freq=2)
    assert Vocab.build(TEXTS, min_freq=4).itos == ("<pad>", "<unk>")
    small = Vocab.build(TEXTS, max_size=5)
    assert len(small) == 5 and list(small.itos) == reference_order(token_lists)[:5]
    assert len(Vocab.build(TEXTS, max_size=1000)) == len(Vocab.build(TEXTS))
    with pytest.raises(ValueError, match="min_freq"):
        Vocab.build(TEXTS, min_freq=0)
    with pytest.raises(ValueError, match="max_size"):
        Vocab.build(TEXTS, max_size=1)
    with pytest.raises(TypeError, match="single str"):
        Vocab.build("the film")


def test_vocab_custom_tokenizer():
    vocab = Vocab.build(["A,B A"], tokenizer=lambda s: s.split(","))
    assert vocab.itos == ("<pad>", "<unk>", "A", "B A")
    assert vocab.encode("B A,C") == [3, 1]


def test_vocab_constructor_checks():
    with pytest.raises(ValueError, match="first two tokens"):
        Vocab(["a", "b"])
    with pytest.raises(ValueError, match="'a' appears twice, at ids 2 and 3"):
        Vocab(["<pad>", "<unk>", "a", "a"])


def test_vocab_save_load_round_trip(tmp_path):
    vocab = Vocab.build(TEXTS + ["clichés büttner ``"])
    path = tmp_path / "vocab.json"
    vocab.save(path)
    loaded = Vocab.load(path)
    assert loaded == vocab and loaded.itos == vocab.itos
    assert loaded.encode("the clichés") == vocab.encode("the clichés")
    assert json.loads(path.read_text(encoding="utf-8"))["itos"] == list(vocab.itos)
    assert sorted(os.listdir(tmp_path)) == ["vocab.json"]  # no temporary file left behind


def test_vocab_save_is_atomic(tmp_path, monkeypatch):
    path = tmp_path / "vocab.json"
    Vocab.build(["old words"]).save(path)
    before = path.read_bytes()

    def fail(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(OSError, match="disk full"):
        Vocab.build(["new words entirely"]).save(path)
    assert path.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["vocab.json"]


def test_vocab_save_into_missing_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        Vocab.build(TEXTS).save(tmp_path / "nope" / "vocab.json")


@pytest.mark.parametrize(("content", "match"), [
    ('{"format": "minigrad-vocab", "version": 1, "itos": ["<pad>", "<unk>"', "line 1 column"),
    ("", "not valid JSON"),
    ('["<pad>", "<unk>"]', "not a minigrad vocabulary"),
    ('{"format": "minigrad-vocab", "version": 2, "itos": []}', "version 2"),
    ('{"format": "minigrad-vocab", "version": 1}', '"itos" must be a list'),
    ('{"format": "minigrad-vocab", "version": 1, "itos": ["<pad>", "<unk>", "a", "a"]}', "appears twice"),
    ('{"format": "minigrad-vocab", "version": 1, "itos": ["<unk>", "<pad>"]}', "first two tokens"),
    ('{"format": "minigrad-vocab", "version": 1, "itos": ["<pad>", "<unk>", 3]}', "token 2 is a int"),
])
def test_vocab_load_malformed(tmp_path, content, match):
    path = tmp_path / "bad_vocab.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ValueError, match=match) as info:
        Vocab.load(path)
    assert str(path) in str(info.value)


def test_vocab_load_multiline_json_error_names_line(tmp_path):
    path = tmp_path / "v.json"
    path.write_text('{\n"format": "minigrad-vocab",\n"version": 1,\n"itos": ["<pad>", "<unk>",]\n}', encoding="utf-8")
    with pytest.raises(ValueError, match="line 4 column"):
        Vocab.load(path)


def test_vocab_load_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing.json"):
        Vocab.load(tmp_path / "missing.json")


# -- one_hot -----------------------------------------------------------------


@pytest.mark.parametrize("ids", [[3, 0, 4, 4], [[1, 2, 0], [4, 4, 3]], 2, np.array([[[0], [1]]], dtype=np.int32)])
def test_one_hot_matches_eye(ids):
    out = one_hot(ids, 5)
    expected = np.eye(5, dtype=np.float32)[np.asarray(ids)]
    assert out.dtype == np.float32
    assert out.shape == np.shape(ids) + (5,)
    np.testing.assert_array_equal(out, expected)


def test_one_hot_empty():
    assert one_hot([], 4).shape == (0, 4)


@pytest.mark.parametrize(("ids", "match"), [
    ([0, 5, 1], r"id 5 at index \(1,\) is outside \[0, 5\)"),
    ([[0, 1], [-1, 2]], r"id -1 at index \(1, 0\)"),
])
def test_one_hot_out_of_range(ids, match):
    with pytest.raises(ValueError, match=match):
        one_hot(ids, 5)


def test_one_hot_type_errors():
    with pytest.raises(TypeError, match="integers"):
        one_hot([0.0, 1.0], 3)
    with pytest.raises(ValueError, match="vocab_size"):
        one_hot([0], 0)


# -- pad_sequences -----------------------------------------------------------


def reference_pad(seqs, maxlen, padding, truncating, value):
    """Plain-Python padding, written independently of pad_sequences."""
    if maxlen is None:
        maxlen = max(len(s) for s in seqs)
    rows, lengths = [], []
    for s in seqs:
        s = list(s)
        if len(s) > maxlen:
            s = s[len(s) - maxlen:] if truncating == "pre" else s[:maxlen]
        pad = [value] * (maxlen - len(s))
        rows.append(s + pad if padding == "post" else pad + s)
        lengths.append(len(s))
    return rows, lengths


SEQS = [[1, 2, 3, 4, 5], [6], [7, 8, 9], [10, 11]]


@pytest.mark.parametrize("maxlen", [None, 1, 3, 5, 7])
@pytest.mark.parametrize("padding", ["pre", "post"])
@pytest.mark.parametrize("truncating", ["pre", "post"])
def test_pad_sequences_matches_reference(maxlen, padding, truncating):
    padded, lengths = pad_sequences(SEQS, maxlen=maxlen, padding=padding, truncating=truncating, value=-1)
    rows, ref_lengths = reference_pad(SEQS, maxlen, padding, truncating, -1)
    assert padded.dtype == np.int64 and lengths.dtype == np.int64
    assert padded.tolist() == rows
    assert lengths.tolist() == ref_lengths


def test_pad_sequences_keras_examples():
    padded, lengths = pad_sequences([[1, 2, 3], [4, 5], [6]], maxlen=2, padding="pre", truncating="pre")
    assert padded.tolist() == [[2, 3], [4, 5], [0, 6]]
    assert lengths.tolist() == [2, 2, 1]
    padded, _ = pad_sequences([[1, 2, 3], [4, 5], [6]], maxlen=2)
    assert padded.tolist() == [[1, 2], [4, 5], [6, 0]]


@settings(max_examples=60, deadline=None)
@given(
    seqs=st.lists(st.lists(st.integers(-50, 50), min_size=1, max_size=8), min_size=1, max_size=6),
    maxlen=st.one_of(st.none(), st.integers(1, 10)),
    padding=st.sampled_from(["pre", "post"]),
    truncating=st.sampled_from(["pre", "post"]),
)
def test_pad_sequences_property(seqs, maxlen, padding, truncating):
    padded, lengths = pad_sequences(seqs, maxlen=maxlen, padding=padding, truncating=truncating, value=99)
    rows, ref_lengths = reference_pad(seqs, maxlen, padding, truncating, 99)
    assert padded.tolist() == rows and lengths.tolist() == ref_lengths


def test_pad_sequences_dtype_features_and_arrays():
    padded, lengths = pad_sequences([np.array([0.5, 1.5]), [2.5]], dtype="float32", value=-1.0)
    assert padded.dtype == np.float32
    assert padded.tolist() == [[0.5, 1.5], [2.5, -1.0]]
    features = [np.ones((3, 2)), np.full((1, 2), 2.0)]
    padded, lengths = pad_sequences(features, dtype="float64")
    assert padded.shape == (2, 3, 2) and lengths.tolist() == [3, 1]
    np.testing.assert_array_equal(padded[1], [[2, 2], [0, 0], [0, 0]])


def test_pad_sequences_empty_sequences_and_tokens_as_in_keras():
    padded, lengths = pad_sequences([[1], [2, 3], [], [4]], padding="pre")
    assert padded.tolist() == [[0, 1], [2, 3], [0, 0], [0, 4]] and lengths.tolist() == [1, 2, 0, 1]
    padded, lengths = pad_sequences([["1"], ["1", "2"], ["1", "2", "3"]], maxlen=3, padding="pre", value="pad",
                                    dtype=object)
    assert padded.tolist() == [["pad", "pad", "1"], ["pad", "1", "2"], ["1", "2", "3"]]
    assert pad_sequences([[], []])[0].shape == (2, 0)
    with pytest.raises(TypeError, match="string but dtype is int64"):
        pad_sequences([[1]], value="pad")
    with pytest.raises(ValueError, match="lengths\\[1\\] = 0 is outside"):  # recurrent layers refuse length 0
        minigrad.nn.GRU(1, 2)(minigrad.zeros(2, 3, 1), lengths=pad_sequences([[1], []])[1])


def test_pad_sequences_errors():
    with pytest.raises(ValueError, match="padding must be 'pre' or 'post', got 'left'"):
        pad_sequences([[1]], padding="left")
    with pytest.raises(ValueError, match="truncating must be 'pre' or 'post', got 'end'"):
        pad_sequences([[1]], truncating="end")
    with pytest.raises(ValueError, match="maxlen"):
        pad_sequences([[1]], maxlen=0)
    with pytest.raises(TypeError, match="sequence 1 holds floats"):
        pad_sequences([[1], [0.5]])
    with pytest.raises(TypeError, match="dtype <U"):
        pad_sequences([["a", "b"]])
    with pytest.raises(ValueError, match="sequence 1 has items of shape"):
        pad_sequences([np.ones((2, 3)), np.ones((2, 4))], dtype="float32")


# -- read_labeled_text -------------------------------------------------------


def write(tmp_path: Path, name: str, content: str) -> Path:
    path = tmp_path / name
    path.write_bytes(content.encode("utf-8"))
    return path


def test_read_tsv(tmp_path):
    path = write(tmp_path, "small.tsv", "sentence\tlabel\nit 's good . \t1\na dull , flat film \t0\n")
    texts, labels = read_labeled_text(path)
    assert texts == ["it 's good .", "a dull , flat film"]
    assert labels == [1, 0] and all(type(y) is int for y in labels)


def test_read_tsv_keeps_quotes_literally_and_extra_columns(tmp_path):
    path = write(tmp_path, "q.tsv", 'id\tlabel\ttext\n7\tpos\tsay "hi", ok\n8\tneg\tbye\n')
    texts, labels = read_labeled_text(path)
    assert texts == ['say "hi", ok', "bye"]
    assert labels == ["pos", "neg"]


def test_read_csv_with_quoted_commas(tmp_path):
    content = 'text,label\n"good, really good",1\nplain,0\n"she said ""wow""",1\n"two\nlines",0\n'
    texts, labels = read_labeled_text(write(tmp_path, "small.csv", content))
    assert texts == ["good, really good", "plain", 'she said "wow"', "two\nlines"]
    assert labels == [1, 0, 1, 0]


def test_read_explicit_columns_and_bom(tmp_path):
    path = write(tmp_path, "r.tsv", "\ufeffreview\tstars\tsentence\ngreat\t5\tignored\nbad\t-1\tignored\n")
    texts, labels = read_labeled_text(path, text_column="review", label_column="stars")
    assert texts == ["great", "bad"] and labels == [5, -1]


def test_read_labels_checked_against_training_set(tmp_path):
    path = write(tmp_path, "dev.tsv", "sentence\tlabel\na\t0\nb\t1\n")
    assert read_labeled_text(path, labels={0, 1})[1] == [0, 1]
    bad = write(tmp_path, "dev2.tsv", "sentence\tlabel\na\t0\nb\t1\nc\t2\n")
    with pytest.raises(ValueError, match=r"dev2\.tsv line 4: label '2' is not one of the labels seen in training: "
                                         r"\[0, 1\]"):
        read_labeled_text(bad, labels={0, 1})
    strings = write(tmp_path, "s.csv", "text,label\nx,pos\ny,meh\n")
    with pytest.raises(ValueError, match=r"s\.csv line 3: label 'meh'"):
        read_labeled_text(strings, labels=["neg", "pos"])


@pytest.mark.parametrize(("name", "content", "line", "match"), [
    ("fields.tsv", "sentence\tlabel\ngood\t1\ntoo\tmany\t1\n", 3,
     r"expected 2 fields \(sentence, label\) separated by tabs, found 3 fields"),
    ("short.tsv", "sentence\tlabel\ngood\t1\nno label here\n", 3, "found 1 fields"),
    ("blank.tsv", "sentence\tlabel\ngood\t1\n\nbad\t0\n", 3, "found an empty line"),
    ("fields.csv", 'text,label\n"a, b",1\na, b,1\n', 3, "separated by commas, found 3 fields"),
    ("after_multiline.csv", 'text,label\n"x\ny",1\nz\n', 4, "found 1 fields"),
    ("empty_text.tsv", "sentence\tlabel\ngood\t1\n   \t0\n", 3, "'sentence' column is empty"),
    ("empty_label.tsv", "sentence\tlabel\ngood\t\n", 2, "'label' column is empty"),
    ("missing_label.tsv", "sentence\tlbl\ngood\t1\n", 1,
     r"no label column named 'label'; the header has columns \['sentence', 'lbl'\]"),
    ("missing_text.tsv", "review\tlabel\ngood\t1\n", 1,
     r"no text column named 'sentence' or 'text'; the header has columns \['review', 'label'\]"),
    ("ambiguous.tsv", "sentence\ttext\tlabel\na\tb\t1\n", 1, "ambiguous"),
    ("repeated.tsv", "sentence\tlabel\tlabel\na\t1\t1\n", 1, "repeats the column names"),
    ("quote.csv", 'text,label\n"good" film,1\n', 2, "malformed CSV"),
])
def test_read_errors_name_file_and_line(tmp_path, name, content, line, match):
    path = write(tmp_path, name, content)
    with pytest.raises(ValueError, match=match) as info:
        read_labeled_text(path)
    assert f"{name} line {line}:" in str(info.value)


def test_read_bad_utf8_names_line(tmp_path):
    path = tmp_path / "latin1.tsv"
    path.write_bytes("sentence\tlabel\nok\t1\ncaf\xe9\t0\n".encode("latin-1"))
    with pytest.raises(ValueError, match=r"latin1\.tsv line 3: not UTF-8"):
        read_labeled_text(path)


@pytest.mark.parametrize(("content", "match"), [("", "the file is empty"), ("\n  \n", "the file is empty"),
                                                ("sentence\tlabel\n", "header line but no data rows")])
def test_read_empty_files(tmp_path, content, match):
    path = write(tmp_path, "empty.tsv", content)
    with pytest.raises(ValueError, match=match) as info:
        read_labeled_text(path)
    assert "empty.tsv" in str(info.value)


def test_read_missing_file_and_unknown_suffix(tmp_path):
    with pytest.raises(FileNotFoundError, match="nothing.tsv"):
        read_labeled_text(tmp_path / "nothing.tsv")
    with pytest.raises(ValueError, match=r"suffix '\.txt'"):
        read_labeled_text(write(tmp_path, "data.txt", "sentence\tlabel\na\t1\n"))


def test_read_sst2_dev():
    texts, labels = read_labeled_text(sst2_file("dev.tsv"), labels={0, 1})
    assert len(texts) == len(labels) == 872
    assert set(labels) == {0, 1}
    assert Counter(labels) == {1: 444, 0: 428}
    assert texts[0] == "it 's a charming and often affecting journey ."
    assert all(t == t.strip() and t for t in texts)


# -- DataLoader --------------------------------------------------------------


def make_dataset(n: int, seed: int = 0, mean_log_length: float = 2.0):
    """n examples with lognormal lengths (like sentences); example i has label i and ids that encode i."""
    rng = np.random.default_rng(seed)
    lengths = np.clip(rng.lognormal(mean_log_length, 0.6, size=n).astype(int), 1, 60)
    return [([i + 1] * int(length), i) for i, length in enumerate(lengths)]


def epoch_labels(loader):
    return [batch[2].tolist() for batch in loader]


def test_loader_batches_cover_each_example_once_and_match_data():
    data = make_dataset(1000)
    loader = DataLoader(data, batch_size=32, seed=1)
    seen = []
    n_batches = 0
    for ids, lengths, labels in loader:
        n_batches += 1
        assert ids.dtype == np.int64 and lengths.dtype == np.int64 and labels.dtype == np.int64
        assert ids.shape == (len(labels), lengths.max()) and lengths.shape == labels.shape
        assert len(labels) <= 32
        for row, length, label in zip(ids, lengths, labels):
            original = data[label][0]
            assert length == len(original)
            assert row[:length].tolist() == original
            assert not row[length:].any()  # padded with 0 after the sequence
        seen.extend(labels.tolist())
    assert n_batches == len(loader) == 32  # ceil(1000 / 32)
    assert sorted(seen) == list(range(1000))


@pytest.mark.parametrize("bucket_by_length", [True, False])
def test_loader_drop_last(bucket_by_length):
    data = make_dataset(100)
    loader = DataLoader(data, batch_size=32, seed=3, drop_last=True, bucket_by_length=bucket_by_length)
    batches = epoch_labels(loader)
    assert len(loader) == len(batches) == 3
    assert all(len(b) == 32 for b in batches)
    flat = [y for b in batches for y in b]
    assert len(set(flat)) == 96
    dropped = [set(range(100)) - {y for b in epoch_labels(loader) for y in b} for _ in range(5)]
    assert len({frozenset(d) for d in dropped}) > 1  # a different random few each epoch


def test_loader_is_deterministic_for_a_seed():
    data = make_dataset(500)
    a = DataLoader(data, batch_size=16, seed=7)
    b = DataLoader(data, batch_size=16, seed=7)
    assert [epoch_labels(a) for _ in range(3)] == [epoch_labels(b) for _ in range(3)]
    c = DataLoader(data, batch_size=16, seed=8)
    assert epoch_labels(c) != epoch_labels(DataLoader(data, batch_size=16, seed=7))


def test_loader_epochs_differ_and_set_epoch_replays():
    loader = DataLoader(make_dataset(500), batch_size=16, seed=7)
    assert loader.epoch == 0
    first = epoch_labels(loader)
    second = epoch_labels(loader)
    assert loader.epoch == 2
    assert first != second
    assert sorted(y for b in first for y in b) == sorted(y for b in second for y in b)
    loader.set_epoch(1)
    assert epoch_labels(loader) == second
    assert [ix.tolist() for ix in loader.batch_indices(0)] == first


def test_loader_without_shuffle_keeps_dataset_order():
    data = make_dataset(50)
    loader = DataLoader(data, batch_size=8, shuffle=False, bucket_by_length=False)
    assert [y for b in epoch_labels(loader) for y in b] == list(range(50))
    assert epoch_labels(loader) == epoch_labels(loader)


def test_loader_buckets_sort_by_length_within_a_bucket():
    data = make_dataset(400)
    loader = DataLoader(data, batch_size=10, shuffle=False, bucket_size=4)  # buckets of 40 examples
    batches = epoch_labels(loader)
    for k in range(0, 40, 4):
        bucket = [y for b in batches[k:k + 4] for y in b]
        assert sorted(bucket) == list(range(k * 10, k * 10 + 40))
        lengths = [len(data[y][0]) for y in bucket]
        assert lengths == sorted(lengths)


def test_padding_fraction_matches_iteration():
    loader = DataLoader(make_dataset(300), batch_size=16, seed=2, bucket_by_length=False)
    expected = loader.padding_fraction()  # of the next epoch, without consuming it
    cells = padded = 0
    for ids, lengths, _ in loader:
        cells += ids.size
        padded += ids.size - int(lengths.sum())
        assert int((ids != 0).sum()) == int(lengths.sum())  # ids are >= 1, padding is 0
    assert padded / cells == pytest.approx(expected)
    assert 0 < expected < 1


def test_bucketing_reduces_padding_on_synthetic_lengths():
    data = make_dataset(5000)
    plain = DataLoader(data, batch_size=64, seed=0, bucket_by_length=False).padding_fraction()
    bucketed = DataLoader(data, batch_size=64, seed=0, bucket_by_length=True).padding_fraction()
    assert plain > 0.4
    assert bucketed * 4 < plain, (bucketed, plain)


def test_bucketing_reduces_padding_on_sst2_train():
    texts, labels = read_labeled_text(sst2_file("train.tsv"))
    data = [([1] * len(text.split()), label) for text, label in zip(texts, labels)]  # only lengths matter here
    plain = DataLoader(data, batch_size=64, seed=0, bucket_by_length=False).padding_fraction()
    bucketed = DataLoader(data, batch_size=64, seed=0, bucket_by_length=True).padding_fraction()
    assert bucketed * 2 <= plain, (bucketed, plain)
    assert bucketed < 0.2


def test_loader_string_labels_and_arrays():
    data = [(np.array([3, 4], dtype=np.int32), "pos"), ([5], "neg"), ((6, 7, 8), "pos")]
    batches = list(DataLoader(data, batch_size=3, shuffle=False))
    ids, lengths, labels = batches[0]
    assert labels.tolist() == ["neg", "pos", "pos"]  # sorted by length within the bucket
    assert ids.tolist() == [[5, 0, 0], [3, 4, 0], [6, 7, 8]]
    assert lengths.tolist() == [1, 2, 3]


@pytest.mark.parametrize(("dataset", "kwargs", "error", "match"), [
    ([([1, 2], 0), ([], 1)], {}, ValueError, "example 1 has no ids"),
    ([([1, 2], 0), ([1],)], {}, ValueError, r"example 1 must be an \(ids, label\) pair"),
    ([([0.5, 1.0], 0)], {}, ValueError, "example 0: ids must be a 1-d sequence of ints"),
    ([], {}, ValueError, "dataset is empty"),
    ([([1], 0)], {"batch_size": 0}, ValueError, "batch_size must be an int >= 1"),
    ([([1], 0)], {"seed": -1}, ValueError, "seed must be None or an int >= 0"),
    ([([1], 0)], {"drop_last": True}, ValueError, "no batch at all"),
])
def test_loader_errors(dataset, kwargs, error, match):
    kwargs = {"batch_size": 4, **kwargs}
    with pytest.raises(error, match=match):
        DataLoader(dataset, **kwargs)
