"""Classification metrics: hand-computed values, scikit-learn's figures, the table and the plot."""

from __future__ import annotations

import sys

import numpy as np
import pytest

import minigrad as mg
from minigrad.metrics import classification_report, confusion_matrix, format_report, plot_confusion_matrix

# 9 samples, 3 classes; "neutral" (2) is never predicted
Y_TRUE = [0, 0, 0, 1, 1, 2, 2, 2, 2]
Y_PRED = [0, 1, 0, 1, 1, 1, 0, 1, 0]
NAMES = ["neg", "pos", "neutral"]
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def test_confusion_matrix_by_hand():
    m = confusion_matrix(Y_TRUE, Y_PRED, 3)
    assert m.dtype == np.int64 and m.shape == (3, 3)
    # rows: true class, columns: predicted class
    assert m.tolist() == [[2, 1, 0], [0, 2, 0], [2, 2, 0]]
    assert m.sum() == len(Y_TRUE)


def test_confusion_matrix_accepts_tensors_and_counts_absent_classes():
    m = confusion_matrix(mg.tensor([1, 1, 0]), np.array([1, 0, 0]), 4)
    assert m.tolist() == [[1, 0, 0, 0], [1, 1, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]]
    assert confusion_matrix([], [], 2).tolist() == [[0, 0], [0, 0]]


def test_report_by_hand_with_a_class_never_predicted():
    r = classification_report(Y_TRUE, Y_PRED, NAMES)
    assert r["accuracy"] == pytest.approx(4 / 9)
    neg, pos, neutral = (r["classes"][n] for n in NAMES)
    assert neg == pytest.approx({"precision": 2 / 4, "recall": 2 / 3, "f1": 4 / 7, "support": 3})
    assert pos == pytest.approx({"precision": 2 / 5, "recall": 2 / 2, "f1": 4 / 7, "support": 2})
    # never predicted: precision 0/0 -> 0.0 (zero_division=0), recall 0/4, f1 0
    assert neutral == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 4}
    assert r["macro_avg"] == pytest.approx({"precision": 0.9 / 3, "recall": (2 / 3 + 1) / 3, "f1": 8 / 21,
                                            "support": 9})
    assert r["confusion_matrix"] == [[2, 1, 0], [0, 2, 0], [2, 2, 0]]
    assert r["class_names"] == NAMES
    assert isinstance(r["classes"]["neg"]["support"], int) and isinstance(r["accuracy"], float)


def test_a_class_absent_from_both_counts_in_the_macro_average_as_zero():
    r = classification_report([0, 1, 1], [0, 1, 1], ["a", "b", "c"])
    assert r["accuracy"] == 1.0
    assert r["classes"]["c"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 0}
    assert r["macro_avg"]["precision"] == pytest.approx(2 / 3) and r["macro_avg"]["f1"] == pytest.approx(2 / 3)


@pytest.mark.parametrize(
    ("y_true", "y_pred", "n", "match"),
    [
        ([0, 1, 1], [0, 1], 2, "same length, got 3 and 2"),
        ([0, 2], [0, 1], 2, r"y_true holds the class id 2, outside \[0, 2\)"),
        ([0, 1], [0, -1], 2, r"y_pred holds the class id -1"),
        ([[0, 1]], [[0, 1]], 2, r"y_true must be 1-D.*\(1, 2\)"),
        ([0.0, 1.0], [0, 1], 2, "integer class ids, got dtype float64"),
        ([True, False], [0, 1], 2, "integer class ids, got dtype bool"),
        ([0], [0], 0, "num_classes must be an integer >= 1, got 0"),
        ([0], [0], 2.0, "num_classes must be an integer >= 1"),
    ],
)
def test_invalid_inputs_are_clear_value_errors(y_true, y_pred, n, match):
    with pytest.raises(ValueError, match=match):
        confusion_matrix(y_true, y_pred, n)


def test_report_rejects_repeated_names_and_no_samples():
    with pytest.raises(ValueError, match="distinct"):
        classification_report([0, 1], [0, 1], ["a", "a"])
    with pytest.raises(ValueError, match="at least one sample"):
        classification_report([], [], ["a", "b"])
    with pytest.raises(ValueError, match="outside"):
        classification_report([0, 2], [0, 1], ["a", "b"])  # a label beyond the names


def test_format_report_rows_and_the_matrix_with_names():
    text = format_report(classification_report(Y_TRUE, Y_PRED, NAMES))
    lines = text.splitlines()
    assert lines[0].split() == ["precision", "recall", "f1", "support"]
    assert lines[1].split() == ["neg", "0.500", "0.667", "0.571", "3"]
    assert lines[3].split() == ["neutral", "0.000", "0.000", "0.000", "4"]
    assert lines[4].split() == ["macro", "avg", "0.300", "0.556", "0.381", "9"]
    assert lines[5].split() == ["accuracy", "0.444", "9"]
    start = lines.index("confusion matrix (rows: true class, columns: predicted class)")
    assert lines[start + 1].split() == NAMES  # column headings: predicted class
    assert [ln.split() for ln in lines[start + 2 :]] == [["neg", "2", "1", "0"], ["pos", "0", "2", "0"],
                                                         ["neutral", "2", "2", "0"]]


def test_plot_writes_a_png_atomically(tmp_path, monkeypatch):
    pytest.importorskip("matplotlib")
    from matplotlib.figure import Figure

    report = classification_report(Y_TRUE, Y_PRED, NAMES)
    path = tmp_path / "cm.png"
    plot_confusion_matrix(path, report)
    first = path.read_bytes()
    assert first[:8] == PNG_MAGIC and len(first) > 1000
    assert [p.name for p in tmp_path.iterdir()] == ["cm.png"]  # no temporary file left

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(Figure, "savefig", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        plot_confusion_matrix(str(path), report)
    assert path.read_bytes() == first  # the old file is intact
    assert [p.name for p in tmp_path.iterdir()] == ["cm.png"]


def test_plot_without_matplotlib_says_how_to_install_it(tmp_path, monkeypatch):
    for name in ("matplotlib", "matplotlib.figure", "matplotlib.ticker"):
        monkeypatch.setitem(sys.modules, name, None)  # importing it raises ImportError
    report = classification_report(Y_TRUE, Y_PRED, NAMES)
    with pytest.raises(ImportError, match="pip install matplotlib"):
        plot_confusion_matrix(tmp_path / "cm.png", report)
    assert not list(tmp_path.iterdir())


def test_same_figures_as_scikit_learn():
    metrics = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(0)
    y_true = rng.integers(0, 4, size=200)  # class 4 never occurs
    y_pred = np.where(rng.random(200) < 0.6, y_true, rng.integers(0, 3, size=200))  # class 3 is never predicted
    names = ["a", "b", "c", "d", "e"]
    labels = list(range(5))
    ours = classification_report(y_true, y_pred, names)
    theirs = metrics.classification_report(y_true, y_pred, labels=labels, target_names=names, output_dict=True,
                                           zero_division=0)
    assert ours["confusion_matrix"] == metrics.confusion_matrix(y_true, y_pred, labels=labels).tolist()
    assert ours["accuracy"] == pytest.approx(metrics.accuracy_score(y_true, y_pred))
    for name in names:
        t = theirs[name]
        assert ours["classes"][name] == pytest.approx({"precision": t["precision"], "recall": t["recall"],
                                                       "f1": t["f1-score"], "support": t["support"]})
    m = theirs["macro avg"]
    assert ours["macro_avg"] == pytest.approx({"precision": m["precision"], "recall": m["recall"],
                                               "f1": m["f1-score"], "support": m["support"]})
