"""Classification metrics: the confusion matrix, per-class precision, recall and F1, a printed table and a plot.

The definitions are scikit-learn's (``confusion_matrix``, ``classification_report``
with ``labels=range(C)``, ``output_dict=True`` and ``zero_division=0``):

- ``precision = TP / (TP + FP)``, ``recall = TP / (TP + FN)`` and
  ``f1 = 2 TP / (2 TP + FP + FN)`` per class;
- a class that is never predicted has precision 0.0, a class that never occurs
  has recall 0.0, and one that is neither has F1 0.0 (scikit-learn's
  ``zero_division=0``: no division by zero, no warning, no NaN);
- the macro averages are the unweighted means over *all* ``C`` classes,
  including classes absent from both ``y_true`` and ``y_pred``; the macro F1 is
  the mean of the per-class F1 scores (not the F1 of the macro precision and recall).

    >>> report = classification_report([0, 1, 1, 2], [0, 1, 0, 1], ["a", "b", "c"])
    >>> per_class = report["classes"]
    >>> report["accuracy"], per_class.get("c").get("recall")
    (0.5, 0.0)
    >>> print(format_report(report))   # doctest: +SKIP
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from backends.base import is_device_array
from minigrad.backend import get_backend
from minigrad.io import atomic_write

# host NumPy, reached through its backend like every array library in minigrad: labels and counts live on the CPU
np = get_backend("numpy").xp


def _labels(y: Any, name: str, num_classes: int) -> np.ndarray:
    """``y`` as a 1-D int64 array of class ids in ``[0, num_classes)``; ValueError naming ``name`` otherwise."""
    if callable(getattr(y, "numpy", None)):  # a Tensor
        y = y.numpy()
    elif is_device_array(y):  # a CuPy (or other device) array: its explicit transfer
        y = y.get()
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(f"{name} must be 1-D (one class id per sample), got shape {y.shape}")
    if y.size == 0:
        return y.astype(np.int64)
    if y.dtype == bool or not np.issubdtype(y.dtype, np.integer):
        raise ValueError(f"{name} must hold integer class ids, got dtype {y.dtype}")
    low, high = int(y.min()), int(y.max())
    if low < 0 or high >= num_classes:
        bad = low if low < 0 else high
        raise ValueError(f"{name} holds the class id {bad}, outside [0, {num_classes}) for {num_classes} classes")
    return y.astype(np.int64)


def confusion_matrix(y_true: Any, y_pred: Any, num_classes: int) -> np.ndarray:
    """Counts of (true class, predicted class) pairs, as ``sklearn.metrics.confusion_matrix``.

    Args:
        y_true: true class ids, a 1-D integer array (or list, or Tensor) of length
            ``N``, each id in ``[0, num_classes)``.
        y_pred: predicted class ids, the same kind and length as ``y_true``.
        num_classes: ``C``, the number of classes (>= 1).

    Returns:
        An int64 array of shape ``(C, C)``: entry ``[i, j]`` counts the samples of
        true class ``i`` predicted as class ``j`` (rows: true, columns: predicted);
        the diagonal holds the correct predictions and the whole sums to ``N``.

    Raises:
        ValueError: ``num_classes`` < 1; an input not 1-D or not of integers;
            lengths that differ; a class id outside ``[0, num_classes)``.
    """
    if isinstance(num_classes, bool) or not isinstance(num_classes, int | np.integer) or num_classes < 1:
        raise ValueError(f"num_classes must be an integer >= 1, got {num_classes!r}")
    num_classes = int(num_classes)
    t = _labels(y_true, "y_true", num_classes)
    p = _labels(y_pred, "y_pred", num_classes)
    if t.shape != p.shape:
        raise ValueError(f"y_true and y_pred must have the same length, got {t.shape[0]} and {p.shape[0]}")
    counts = np.bincount(t * num_classes + p, minlength=num_classes * num_classes)
    return counts.reshape(num_classes, num_classes).astype(np.int64)


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """``num / den`` elementwise, 0.0 where ``den`` is 0 (scikit-learn's ``zero_division=0``)."""
    return np.divide(num, den, out=np.zeros(num.shape, dtype=np.float64), where=den > 0)


def classification_report(y_true: Any, y_pred: Any, class_names: Sequence[str]) -> dict:
    """Accuracy, per-class precision, recall, F1 and support, macro averages and the confusion matrix.

    The figures are scikit-learn's ``classification_report(..., labels=range(C),
    output_dict=True, zero_division=0)`` (see the module docstring for the rules).

    Args:
        y_true: true class ids as for [`confusion_matrix`][minigrad.metrics.confusion_matrix], at least one sample.
        y_pred: predicted class ids, as many as ``y_true``.
        class_names: ``C`` distinct names; class id ``i`` is ``class_names[i]``.

    Returns:
        A dict of plain Python values (JSON-ready)::

            {"accuracy": float,
             "classes": {name: {"precision": float, "recall": float, "f1": float, "support": int}},
             "macro_avg": {"precision": float, "recall": float, "f1": float, "support": int},
             "class_names": [name, ...],
             "confusion_matrix": [[int] * C] * C}   # rows: true class, columns: predicted

        ``support`` is the number of samples of the class (``N`` for ``macro_avg``).

    Raises:
        ValueError: no class names or repeated names; no samples; and the errors of
            [`confusion_matrix`][minigrad.metrics.confusion_matrix].
    """
    names = [str(n) for n in class_names]
    if not names or len(set(names)) != len(names):
        raise ValueError(f"class_names must be distinct and non-empty, got {names}")
    matrix = confusion_matrix(y_true, y_pred, len(names))
    total = int(matrix.sum())
    if total == 0:
        raise ValueError("classification_report needs at least one sample, got empty y_true and y_pred")
    tp = np.diag(matrix).astype(np.float64)
    support = matrix.sum(axis=1)  # samples of each true class
    predicted = matrix.sum(axis=0)  # samples predicted as each class
    precision = _ratio(tp, predicted.astype(np.float64))
    recall = _ratio(tp, support.astype(np.float64))
    f1 = _ratio(2 * tp, (support + predicted).astype(np.float64))  # 2TP / (2TP + FP + FN)
    classes = {
        name: {"precision": float(precision[i]), "recall": float(recall[i]), "f1": float(f1[i]),
               "support": int(support[i])}
        for i, name in enumerate(names)
    }
    return {
        "accuracy": float(tp.sum() / total),
        "classes": classes,
        "macro_avg": {"precision": float(precision.mean()), "recall": float(recall.mean()),
                      "f1": float(f1.mean()), "support": total},
        "class_names": names,
        "confusion_matrix": matrix.tolist(),
    }


def format_report(report: dict) -> str:
    """The report of [`classification_report`][minigrad.metrics.classification_report] as a printable table, then its
    confusion matrix.

    One row per class (precision, recall, F1 to 3 decimals, support), the macro
    averages and the accuracy; then the matrix with the class names as row
    (true class) and column (predicted class) headings.
    """
    names = report["class_names"]
    width = max(len("macro avg"), *(len(n) for n in names))
    lines = [f"{'':{width}}  precision  recall      f1  support"]
    rows = [(n, report["classes"][n]) for n in names] + [("macro avg", report["macro_avg"])]
    for name, r in rows:
        lines.append(f"{name:{width}}  {r['precision']:9.3f}  {r['recall']:6.3f}  {r['f1']:6.3f}  {r['support']:7d}")
    total = report["macro_avg"]["support"]
    lines.append(f"{'accuracy':{width}}  {'':9}  {'':6}  {report['accuracy']:6.3f}  {total:7d}")
    matrix = report["confusion_matrix"]
    cell = max(6, *(len(n) for n in names), *(len(str(v)) for row in matrix for v in row))
    lines += ["", "confusion matrix (rows: true class, columns: predicted class)",
              f"{'':{width}}  " + "  ".join(f"{n:>{cell}}" for n in names)]
    for name, row in zip(names, matrix):
        lines.append(f"{name:{width}}  " + "  ".join(f"{v:{cell}d}" for v in row))
    return "\n".join(lines)


def plot_confusion_matrix(path: str | os.PathLike, report: dict) -> None:
    """Save the confusion matrix of ``report`` (from [`classification_report`][minigrad.metrics.classification_report])
    as a PNG at ``path``.

    Rows are the true classes, columns the predicted ones, each cell shows its
    count; the title gives the accuracy. Written with [`minigrad.io.atomic_write`][minigrad.io.atomic_write],
    so ``path`` is never left half-written.

    Raises:
        ImportError: matplotlib is not installed (``pip install matplotlib``).
        FileNotFoundError: the folder of ``path`` does not exist.
    """
    try:
        from matplotlib.figure import Figure
        from matplotlib.ticker import MaxNLocator
    except ImportError as e:
        raise ImportError("plot_confusion_matrix needs matplotlib: pip install matplotlib "
                          "(or pip install 'minigrad[plot]')") from e
    names, matrix = report["class_names"], np.asarray(report["confusion_matrix"])
    size = 2.5 + 0.6 * len(names)
    fig = Figure(figsize=(size + 1, size))  # no pyplot: no global state, no display needed
    ax = fig.add_subplot()
    image = ax.imshow(matrix, cmap="Blues", vmin=0)
    fig.colorbar(image, ax=ax, label="samples").ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ticks = range(len(names))
    ax.set_xticks(ticks, names, rotation=45 if max(map(len, names)) > 4 else 0, ha="right")
    ax.set_yticks(ticks, names)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    ax.set_title(f"confusion matrix (accuracy {report['accuracy']:.3f})")
    dark = matrix.max() / 2 if matrix.size else 0
    for (i, j), v in np.ndenumerate(matrix):
        ax.text(j, i, str(v), ha="center", va="center", color="white" if v > dark else "black")
    fig.tight_layout()
    with atomic_write(path, "wb", who="plot_confusion_matrix") as f:
        fig.savefig(f, format="png", dpi=100)
