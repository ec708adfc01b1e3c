"""The sentiment example (the project's main job), run at tiny sizes through the command line."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import minigrad as mg
from minigrad.cli import EXAMPLES_DIR, load_example, main

sentiment = load_example("sentiment")

TINY = ["--train-size", "80", "--valid-size", "40", "--embed", "8", "--hidden", "8", "--batch-size", "16"]
SUMMARY = re.compile(r"^sentiment: (bi)?(lstm|gru|rnn) valid accuracy (\d\.\d{3}), bag-of-words (\d\.\d{3}), \d+ s$",
                     re.MULTILINE)


def invoke(*args: str):
    return CliRunner().invoke(main, ["run", "sentiment", *args])


def run_ok(*args: str) -> str:
    result = invoke(*args)
    assert result.exit_code == 0, result.output + repr(result.exception)
    return result.output


def run_fails(*args: str) -> str:
    result = invoke(*args)
    assert result.exit_code != 0, result.output
    return result.output


def write(path: Path, text: str) -> str:
    path.write_text(text, encoding="utf-8")
    return str(path)


# -- the generated corpus ------------------------------------------------------------------
def reference_label(text: str) -> int:
    """The grammar's rules, written again from the docstring, independently of the generator."""
    words = text.split()

    def clause(ws: list[str]) -> int:
        positive = ws[-1] in sentiment.POSITIVE
        assert positive or ws[-1] in sentiment.NEGATIVE, ws
        return int(positive != ("not" in ws))

    if words[:5] == ["i", "expected", "it", "to", "be"]:
        return clause(words[words.index("was"):])
    if words[0] == "although":
        return clause(words[words.index(",") + 1:])
    if "even" in words:
        return clause(words[:words.index(",")])
    if "but" in words:
        return clause(words[words.index("but") + 1:])
    if "and" in words:
        first, second = clause(words[:words.index("and")]), clause(words[words.index("and") + 1:])
        assert first == second, text
        return first
    return clause(words)


def test_generated_labels_follow_the_grammar_and_the_split_is_clean():
    train, train_y, valid, valid_y = sentiment.generate_corpus(400, 200, seed=3)
    assert len(train) == 400 and len(valid) == 200
    assert not set(train) & set(valid) and len(set(train)) == 400
    for text, label in zip(train + valid, train_y + valid_y):
        assert reference_label(text) == label, text
    kinds = {sentiment.review_kind(t) for t in train}
    assert kinds == {name for name, _ in sentiment.TEMPLATES}
    assert 0.4 < np.mean(train_y) < 0.6
    # "not" is no clue on its own: it is about as frequent in positive as in negative reviews
    with_not = [y for t, y in zip(train, train_y) if "not" in t.split()]
    assert 0.35 < np.mean(with_not) < 0.65
    assert sentiment.generate_corpus(400, 200, seed=3) == (train, train_y, valid, valid_y)
    assert sentiment.generate_corpus(400, 200, seed=4)[0] != train


def test_a_bag_of_words_cannot_see_order():
    vocab = mg.data.Vocab.build(["the plot was good but the acting was bad"])
    a = np.array(vocab.encode("the plot was good but the acting was bad"))
    b = np.array(vocab.encode("the plot was bad but the acting was good"))
    assert reference_label("the plot was good but the acting was bad") == 0
    assert reference_label("the plot was bad but the acting was good") == 1
    counts = sentiment.word_counts([a, b], len(vocab))
    assert counts.shape == (2, len(vocab)) and counts[0, vocab.stoi["was"]] == 2
    assert (counts[0] == counts[1]).all() and counts[:, 0].sum() == 0  # same counts, opposite labels


def test_the_bag_of_words_baseline_learns_what_words_alone_tell():
    rng = np.random.default_rng(0)
    texts = [f"the {rng.choice(sentiment.ASPECTS)} was {rng.choice(sentiment.POSITIVE + sentiment.NEGATIVE)}"
             for _ in range(300)]
    labels = np.array([int(t.split()[-1] in sentiment.POSITIVE) for t in texts])
    vocab = mg.data.Vocab.build(texts)
    ids = [np.array(vocab.encode(t)) for t in texts]
    mg.manual_seed(0)
    _, train_accuracy, predictions = sentiment.train_bag_of_words(ids[:200], labels[:200], ids[200:], labels[200:],
                                                                 len(vocab), 1, seed=0, steps=100)
    assert train_accuracy == 1.0 and (predictions == labels[200:]).all()


@pytest.mark.parametrize("cell,bidirectional", [("lstm", True), ("gru", False)])
def test_a_padded_batch_gives_each_review_its_own_logit(cell, bidirectional):
    mg.manual_seed(0)
    model = sentiment.SentimentRNN(20, 6, 5, 1, cell=cell, bidirectional=bidirectional).eval()
    reviews = [[3, 4, 5, 6, 7], [8, 9], [10, 11, 12]]
    ids, lengths = mg.data.pad_sequences(reviews)
    with mg.no_grad():
        batched = model(ids, lengths).numpy()
        alone = [model([r], [len(r)]).numpy()[0] for r in reviews]
    np.testing.assert_allclose(batched, np.stack(alone), rtol=1e-5, atol=1e-6)


# -- runs -------------------------------------------------------------------------------------
def test_tiny_run_prints_figures_and_writes_metrics_plot_checkpoint(tmp_path):
    metrics, plot, ckpt = tmp_path / "m.json", tmp_path / "curves.png", tmp_path / "s.npz"
    out = run_ok(*TINY, "--epochs", "2", "--metrics", str(metrics), "--plot", str(plot), "--save", str(ckpt))
    assert "data: generated (seed 0): 80 training and 40 validation texts" in out
    assert re.search(r"bag of words \(logistic regression on word counts\): validation accuracy 0\.\d{4}", out)
    assert re.search(r"padding \d+\.\d% of the positions when bucketed by length \(\d+\.\d% without", out)
    assert len(re.findall(r"^epoch [12]/2  loss \d", out, re.MULTILINE)) == 2
    assert "validation accuracy by kind of review" in out and "even though" in out
    summary = SUMMARY.search(out)
    assert summary and summary.group(2) == "lstm"

    data = json.loads(metrics.read_text())
    assert data["example"] == "sentiment" and data["model"] == "lstm"
    assert float(summary.group(3)) == pytest.approx(data["valid_accuracy"], abs=5e-4)
    assert float(summary.group(4)) == pytest.approx(data["bow_valid_accuracy"], abs=5e-4)
    for key in ("valid_accuracy", "bow_valid_accuracy", "bow_train_accuracy", "best_valid_accuracy"):
        assert 0.0 <= data[key] <= 1.0, key
    assert 0.0 <= data["padding_fraction"] < data["padding_fraction_unbucketed"] < 1.0
    assert data["train_time"] > 0 and data["total_time"] >= data["train_time"]
    assert data["epochs"] == 2 and data["train_examples"] == 80 and data["valid_examples"] == 40
    assert data["options"]["hidden"] == 8 and data["options"]["cell"] == "lstm"
    assert sum(row["count"] for row in data["by_kind"].values()) == 40

    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    state = mg.load(str(ckpt))
    assert state["example"] == "sentiment" and state["epoch"] == 2
    assert [h["epoch"] for h in state["history"]] == [1, 2]
    vocab = state["extra"]["vocab"]
    assert vocab[:2] == ["<pad>", "<unk>"] and "not" in vocab
    assert state["model"]["embedding.weight"].shape == (len(vocab), 8)
    assert state["model"]["rnn.weight_hh_l0"].shape == (4 * 8, 8)
    assert not state["model"]["embedding.weight"][0].any()  # the padding row stays zero


def test_quiet_prints_only_the_summary():
    out = run_ok(*TINY, "--epochs", "1", "--quiet", "--model", "gru", "--bidirectional")
    assert out.count("\n") == 1 and SUMMARY.match(out) and out.startswith("sentiment: bigru")


def test_predict_with_a_saved_checkpoint(tmp_path):
    ckpt = tmp_path / "s.npz"
    run_ok(*TINY, "--epochs", "1", "--quiet", "--save", str(ckpt))
    out = run_ok("--resume", str(ckpt), "--predict", "the plot was not bad", "--predict", "Zzyzx was good!")
    lines = out.strip().splitlines()
    assert len(lines) == 2
    for line in lines:
        p = float(re.match(r"p\(positive\) (\d\.\d{3})  -> (positive|negative): ", line).group(1))
        assert 0.0 <= p <= 1.0
    assert "'the plot was not bad'" in lines[0]
    assert "2 unknown words" in lines[1]  # "zzyzx" and "!" are not in the vocabulary
    assert "--resume" in run_fails("--predict", "good")


def test_resumed_run_ends_with_the_same_weights(tmp_path):
    a, b = tmp_path / "a.npz", tmp_path / "b.npz"
    common = [*TINY, "--dropout", "0.3", "--quiet"]
    run_ok(*common, "--epochs", "2", "--save", str(a))
    run_ok(*common, "--epochs", "1", "--save", str(b))
    assert mg.load(str(b))["epoch"] == 1
    run_ok(*common, "--epochs", "2", "--resume", str(b), "--save", str(b))
    state_a, state_b = mg.load(str(a)), mg.load(str(b))
    assert state_b["epoch"] == 2
    assert state_a["model"].keys() == state_b["model"].keys()
    for key, value in state_a["model"].items():
        assert np.array_equal(value, state_b["model"][key]), key
    drop_time = lambda history: [{k: v for k, v in h.items() if k != "seconds"} for h in history]  # noqa: E731
    assert drop_time(state_a["history"]) == drop_time(state_b["history"])


def test_resume_refuses_a_different_architecture(tmp_path):
    ckpt = tmp_path / "s.npz"
    run_ok(*TINY, "--epochs", "1", "--quiet", "--save", str(ckpt))
    out = run_fails(*TINY[:4], "--hidden", "9", "--epochs", "2", "--resume", str(ckpt))
    assert "trained with --hidden 8, the command line asks for --hidden 9" in out


# -- data files ----------------------------------------------------------------------------------
def test_files_with_string_labels_and_three_classes(tmp_path):
    rows = ["a fine film", "a dull film", "an odd film"] * 10
    names = ["pos", "neg", "mixed"] * 10
    train = write(tmp_path / "train.tsv", "sentence\tlabel\n" + "".join(f"{r}\t{n}\n" for r, n in zip(rows, names)))
    valid = write(tmp_path / "valid.csv", 'text,label\n"a fine, fine film",pos\nan odd film,mixed\n')
    metrics = tmp_path / "m.json"
    out = run_ok("--train", train, "--valid", valid, "--epochs", "1", "--embed", "4", "--hidden", "4",
                 "--metrics", str(metrics))
    assert "30 training and 2 validation texts, labels ['mixed', 'neg', 'pos']" in out
    assert "by kind of review" not in out
    data = json.loads(metrics.read_text())
    assert data["classes"] == ["mixed", "neg", "pos"] and 0 <= data["valid_accuracy"] <= 1
    assert "Linear(in_features=4, out_features=3" in out  # three classes: softmax over three logits


def test_missing_label_column_names_the_file_and_line(tmp_path):
    train = write(tmp_path / "train.tsv", "sentence\nnice\n")
    valid = write(tmp_path / "valid.tsv", "sentence\tlabel\nnice\t1\n")
    out = run_fails("--train", train, "--valid", valid)
    assert f"Error: --train: {train} line 1: no label column named 'label'" in out


def test_a_bad_line_names_the_file_and_line(tmp_path):
    train = write(tmp_path / "train.tsv", "sentence\tlabel\ngood\t1\nbad\t0\nno label here\n")
    valid = write(tmp_path / "valid.tsv", "sentence\tlabel\nnice\t1\n")
    out = run_fails("--train", train, "--valid", valid)
    assert f"{train} line 4: expected 2 fields" in out and "found 1 fields" in out


def test_an_unseen_validation_label_and_missing_files_are_clear_errors(tmp_path):
    train = write(tmp_path / "train.tsv", "sentence\tlabel\ngood\t1\nbad\t0\n")
    valid = write(tmp_path / "valid.tsv", "sentence\tlabel\nnice\t1\nhmm\t7\n")
    out = run_fails("--train", train, "--valid", valid)
    assert f"{valid} line 3: label '7' is not one of the labels seen in training" in out
    assert "--valid" in run_fails("--train", train)
    assert "no such file" in run_fails("--train", str(tmp_path / "nope.tsv"), "--valid", valid)


# -- the lesson, and the plain script ------------------------------------------------------------------
def test_the_lstm_beats_the_bag_of_words_on_generated_reviews(tmp_path):
    metrics = tmp_path / "m.json"
    run_ok("--train-size", "600", "--valid-size", "300", "--embed", "16", "--hidden", "24", "--batch-size", "32",
           "--epochs", "4", "--seed", "1", "--quiet", "--metrics", str(metrics))
    data = json.loads(metrics.read_text())
    assert data["bow_valid_accuracy"] < 0.7
    assert data["valid_accuracy"] > 0.85
    assert data["valid_accuracy"] > data["bow_valid_accuracy"] + 0.2


def test_the_script_runs_on_its_own(tmp_path):
    metrics = tmp_path / "m.json"
    result = subprocess.run(
        [sys.executable, str(EXAMPLES_DIR / "sentiment.py"), *TINY, "--epochs", "1", "--quiet",
         "--metrics", str(metrics)],
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert SUMMARY.match(result.stdout)
    assert json.loads(metrics.read_text())["example"] == "sentiment"
