"""The sentiment example on real corpora: folders, JSON Lines, held-out splits, --test, --predict-file,
--embeddings, long documents; each on small data written here, each bad input a one-line error."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys

import numpy as np
import pytest
from test_example_sentiment import run_fails as _run_fails
from test_example_sentiment import run_ok

import minigrad as mg
from minigrad.cli import load_example

sentiment = load_example("sentiment")

SMALL = ["--embed", "4", "--hidden", "4", "--batch-size", "8", "--epochs", "1", "--seed", "3"]
GOOD = ["a fine film", "a great story <br /><br />truly fine", "good acting &amp; a fine plot", "great fun"]
BAD = ["a dull film", "an awful story <br />truly dull", "bad acting &amp; a dull plot", "awful mess"]


def run_fails(*args: str) -> str:
    """A failing run, whose message is one line without a traceback."""
    output = _run_fails(*args)
    assert "Traceback" not in output
    return output


def class_folder(root, copies: int = 5) -> str:
    """``root/pos/*.txt`` and ``root/neg/*.txt``: the IMDB layout."""
    for name, texts in (("pos", GOOD), ("neg", BAD)):
        (root / name).mkdir(parents=True)
        for k in range(copies):
            for j, text in enumerate(texts):
                (root / name / f"{k}_{j}.txt").write_text(text, encoding="utf-8")
    return str(root)


def jsonl(path, copies: int = 3, text_field: str = "text", label_field: str = "label") -> str:
    rows = [{text_field: t, label_field: "pos"} for t in GOOD] + [{text_field: t, label_field: "neg"} for t in BAD]
    data = "".join(json.dumps(r) + "\n" for r in rows * copies)
    if str(path).endswith(".gz"):
        with gzip.open(path, "wt", encoding="utf-8") as f:
            f.write(data)
    else:
        path.write_text(data, encoding="utf-8")
    return str(path)


def test_a_class_folder_with_a_held_out_split_and_a_jsonl_test_file(tmp_path):
    train = class_folder(tmp_path / "train")
    test = jsonl(tmp_path / "test.jsonl.gz")
    metrics = tmp_path / "m.json"
    out = run_ok("--train", train, "--valid-split", "0.25", "--test", test, "--clean-markup", *SMALL,
                 "--metrics", str(metrics))
    assert "30 training and 10 validation texts, labels ['neg', 'pos']" in out  # 25% of each class of 20
    assert "test: " in out and "precision" in out and "recall" in out and "f1" in out
    data = json.loads(metrics.read_text())
    report = data["test"]
    assert data["classes"] == ["neg", "pos"] and report["accuracy"] == data["test_accuracy"]
    matrix = np.array(report["confusion_matrix"])
    assert matrix.shape == (2, 2) and matrix.sum() == 24 and matrix.sum(axis=1).tolist() == [12, 12]
    assert report["accuracy"] == pytest.approx(np.trace(matrix) / 24)


def test_the_held_out_split_is_seeded(tmp_path):
    train = class_folder(tmp_path / "train")
    first = run_ok("--train", train, "--valid-split", "0.5", *SMALL, "--epochs", "1")
    again = run_ok("--train", train, "--valid-split", "0.5", *SMALL, "--epochs", "1")
    line = lambda out: next(x for x in out.splitlines() if x.startswith("vocabulary:"))  # noqa: E731
    assert line(first) == line(again)


def test_jsonl_with_other_field_names(tmp_path):
    train = jsonl(tmp_path / "train.jsonl", text_field="review", label_field="stars")
    valid = jsonl(tmp_path / "valid.jsonl", copies=1, text_field="review", label_field="stars")
    out = run_ok("--train", train, "--valid", valid, "--text-field", "review", "--label-field", "stars", *SMALL)
    assert "24 training and 8 validation texts" in out
    assert "--train" in run_fails("--train", train, "--valid", valid, *SMALL)  # no 'text' field: named


def test_max_len_keeps_the_end_and_markup_is_cleaned(tmp_path):
    prep = {"clean_markup": True, "max_len": 3, "keep": "end"}
    assert sentiment.preprocess(["one two <br />three &amp; four"], prep) == [["three", "&", "four"]]
    assert sentiment.preprocess(["one two three four"], {**prep, "keep": "start"}) == [["one", "two", "three"]]
    assert "br" in sentiment.preprocess(["a <br /> b"], {})[0]  # off unless asked


@pytest.mark.parametrize("pooling", ["max", "mean"])
def test_pooling_reads_only_the_real_steps(pooling):
    out = mg.tensor(np.array([[[1.0, -5.0], [3.0, -1.0], [0.0, 0.0]], [[-2.0, -3.0], [0.0, 0.0], [0.0, 0.0]]]))
    pooled = sentiment.pool(out, [2, 1], pooling).numpy()
    want = [[3.0, -1.0], [-2.0, -3.0]] if pooling == "max" else [[2.0, -3.0], [-2.0, -3.0]]
    np.testing.assert_allclose(pooled, want)  # the zero outputs at padded steps change nothing


def test_predict_file_in_a_fresh_process_needs_only_the_checkpoint(tmp_path):
    train = class_folder(tmp_path / "data" / "train")
    ckpt = tmp_path / "s.npz"
    run_ok("--train", train, "--valid-split", "0.25", "--clean-markup", "--max-len", "6", "--pooling", "max",
           *SMALL, "--save", str(ckpt), "--quiet")
    texts = tmp_path / "texts.txt"
    texts.write_text("a fine film\n\nan awful <br />mess\n", encoding="utf-8")
    out_path = tmp_path / "p.tsv"
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    moved = tmp_path / "elsewhere"
    moved.mkdir()
    (tmp_path / "data" / "train").rename(moved / "gone")  # no training data left where it was
    result = subprocess.run([sys.executable, "-m", "minigrad", "run", "sentiment", "--resume", str(ckpt),
                             "--predict-file", str(texts), "--output", str(out_path)],
                            capture_output=True, text=True, env=env, cwd=os.getcwd(), timeout=300)
    assert result.returncode == 0, result.stderr
    lines = out_path.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "label\tp_neg\tp_pos\ttext"
    rows = [line.split("\t") for line in lines[1:]]
    assert [r[3] for r in rows] == ["a fine film", "", "an awful <br />mess"]
    for row in (rows[0], rows[2]):
        p = np.array([float(row[1]), float(row[2])])
        assert row[0] in ("neg", "pos") and p.sum() == pytest.approx(1.0, abs=1e-5)
        assert row[0] == ("pos" if p[1] > p[0] else "neg")
    assert rows[1][0] == "" and rows[1][1] == "nan"  # an empty line gets no prediction


def test_predict_file_needs_a_checkpoint(tmp_path):
    texts = tmp_path / "t.txt"
    texts.write_text("good\n", encoding="utf-8")
    assert "--predict-file needs a checkpoint: --resume PATH" in run_fails("--predict-file", str(texts))


def test_embeddings_start_the_embedding_and_can_be_frozen(tmp_path):
    train = class_folder(tmp_path / "train")
    vectors = tmp_path / "glove.txt"
    vectors.write_text("fine 1 2 3 4\ndull -1 -2 -3 -4\nzebra 9 9 9 9\n", encoding="utf-8")
    ckpt = tmp_path / "s.npz"
    out = run_ok("--train", train, "--valid-split", "0.25", *SMALL, "--embeddings", str(vectors),
                 "--freeze-embeddings", "--save", str(ckpt))
    assert "embeddings: " in out and "vectors for 2 of" in out and "frozen" in out
    state = mg.load(str(ckpt))
    itos = list(state["extra"]["vocab"])
    weight = state["model"]["embedding.weight"]
    np.testing.assert_allclose(weight[itos.index("fine")], [1, 2, 3, 4])  # frozen: unchanged by training
    np.testing.assert_allclose(weight[itos.index("dull")], [-1, -2, -3, -4])
    assert "(--embed is 5)" in run_fails("--train", train, "--valid-split", "0.25", *SMALL[2:], "--embed", "5",
                                  "--embeddings", str(vectors))  # 4-dimensional vectors, a 5-wide embedding


@pytest.mark.parametrize("args, message", [
    (["--valid-split", "0.5"], "applies to data from files"),
    (["--freeze-embeddings"], "--freeze-embeddings needs --embeddings FILE"),
    (["--predict", "good", "--predict-file", "{texts}"], "not both"),
])
def test_option_mistakes_are_one_line_errors(tmp_path, args, message):
    texts = tmp_path / "t.txt"
    texts.write_text("good\n", encoding="utf-8")
    assert message in run_fails(*[a.format(texts=texts) for a in args])


def test_data_option_mistakes_with_files(tmp_path):
    train = class_folder(tmp_path / "train")
    assert "--valid PATH, or --valid-split FRACTION" in run_fails("--train", train)
    assert "not both" in run_fails("--train", train, "--valid", train, "--valid-split", "0.2")
    empty = tmp_path / "empty"
    empty.mkdir()
    out = run_fails("--train", str(empty), "--valid-split", "0.2")
    assert "--train" in out and str(empty) in out


def test_a_saved_model_is_evaluated_on_a_test_folder_without_training_data(tmp_path):
    train = class_folder(tmp_path / "train")
    ckpt, metrics = tmp_path / "s.npz", tmp_path / "m.json"
    run_ok("--train", train, "--valid-split", "0.25", "--clean-markup", *SMALL, "--save", str(ckpt), "--quiet")
    test = class_folder(tmp_path / "test", copies=2)
    out = run_ok("--resume", str(ckpt), "--test", test, "--metrics", str(metrics))
    assert "bag of words" not in out and "epoch 1/" not in out  # no training
    report = json.loads(metrics.read_text())["test"]
    assert np.array(report["confusion_matrix"]).sum() == 16 and report["class_names"] == ["neg", "pos"]
    assert f"test accuracy {report['accuracy']:.3f} on {test}" in out


def test_plot_with_test_draws_the_confusion_matrix_too(tmp_path):
    pytest.importorskip("matplotlib")
    train = class_folder(tmp_path / "train")
    plot = tmp_path / "curves.png"
    out = run_ok("--train", train, "--valid-split", "0.25", "--test", train, *SMALL, "--plot", str(plot))
    confusion = tmp_path / "curves.confusion.png"
    assert f"plot: {confusion} (the --test confusion matrix)" in out
    for path in (plot, confusion):
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_checkpoint_used_for_prediction_or_evaluation_refuses_training_options(tmp_path):
    train = class_folder(tmp_path / "train")
    ckpt = tmp_path / "s.npz"
    run_ok("--train", train, "--valid-split", "0.25", *SMALL, "--save", str(ckpt), "--quiet")
    texts = tmp_path / "t.txt"
    texts.write_text("\ufeffa fine film\r\nan awful mess\r\n", encoding="utf-8")
    for args, flag in ((["--predict", "good", "--hidden", "9"], "--hidden"),
                       (["--predict-file", str(texts), "--max-len", "1"], "--max-len"),
                       (["--test", train, "--model", "gru"], "--model"),
                       (["--test", train, "--lr", "3"], "--lr")):
        out = run_fails("--resume", str(ckpt), *args)
        assert f"{flag} does not apply to" in out and "the --resume checkpoint fixes the model" in out
    out = run_ok("--resume", str(ckpt), "--predict-file", str(texts))
    assert out.splitlines()[1].endswith("\ta fine film")  # no byte-order mark, no carriage return


def test_a_test_folder_may_hold_some_of_the_classes(tmp_path):
    train = class_folder(tmp_path / "train")
    only_pos = tmp_path / "only"
    (only_pos / "pos").mkdir(parents=True)
    (only_pos / "pos" / "a.txt").write_text("a fine film", encoding="utf-8")
    metrics = tmp_path / "m.json"
    run_ok("--train", train, "--valid-split", "0.25", *SMALL, "--test", str(only_pos), "--metrics", str(metrics))
    matrix = np.array(json.loads(metrics.read_text())["test"]["confusion_matrix"])
    assert matrix.sum() == 1 and matrix[1].sum() == 1  # one positive review, the row of 'pos'
    (only_pos / "maybe").mkdir()
    (only_pos / "maybe" / "b.txt").write_text("so so", encoding="utf-8")
    out = run_fails("--train", train, "--valid-split", "0.25", *SMALL, "--test", str(only_pos))
    assert "the class folders ['maybe'] are not among the labels seen in training" in out


def test_contradicting_data_options_and_a_resume_without_its_training_data(tmp_path):
    train = class_folder(tmp_path / "train")
    assert "--data generated contradicts --train" in run_fails("--data", "generated", "--train", train,
                                                                "--valid-split", "0.2")
    ckpt = tmp_path / "s.npz"
    run_ok("--train", train, "--valid-split", "0.25", *SMALL, "--save", str(ckpt), "--quiet")
    out = run_fails("--resume", str(ckpt), "--epochs", "2", "--embed", "4", "--hidden", "4")
    assert "give the --train data the checkpoint was trained on" in out


def test_an_output_over_its_input_and_a_checkpoint_not_npz_are_refused(tmp_path):
    train = class_folder(tmp_path / "train")
    out = run_fails("--train", train, "--valid-split", "0.25", *SMALL, "--save", str(tmp_path / "m.json"))
    assert "--save" in out and ".npz" in out
    ckpt = tmp_path / "s.npz"
    run_ok("--train", train, "--valid-split", "0.25", *SMALL, "--save", str(ckpt), "--quiet")
    texts = tmp_path / "t.txt"
    texts.write_text("good\n", encoding="utf-8")
    assert "is the --predict-file itself" in run_fails("--resume", str(ckpt), "--predict-file", str(texts),
                                                       "--output", str(texts))
    assert texts.read_text(encoding="utf-8") == "good\n"


def test_weights_that_turn_nan_stop_the_run_and_a_nan_checkpoint_is_refused(tmp_path):
    train = class_folder(tmp_path / "train")
    ckpt = tmp_path / "s.npz"
    # one batch per epoch: the loss of its only step is finite, the weights after it are not
    out = run_fails("--train", train, "--valid-split", "0.25", "--embed", "4", "--hidden", "4", "--batch-size", "64",
                    "--epochs", "1", "--lr", "1e38", "--clip", "1e30", "--save", str(ckpt))
    assert "after epoch 1 the weights hold nan or inf" in out and "lower --lr" in out
    assert not ckpt.exists()
    run_ok("--train", train, "--valid-split", "0.25", *SMALL, "--save", str(ckpt), "--quiet")
    state = mg.load(str(ckpt))
    state["model"]["out.bias"] = np.full_like(state["model"]["out.bias"], np.nan)
    mg.save(state, str(ckpt))
    out = run_fails("--resume", str(ckpt), "--predict", "good")
    assert "the checkpoint's weights hold nan or inf (model.out.bias)" in out
