"""Labelled text corpora: ``read_corpus`` reads one from a folder or a file; ``train_valid_split``, ``truncate``.

``read_corpus`` picks the format from the path:

- a folder with one subfolder per class, one text per ``.txt`` file
  (``train/pos/*.txt``, ``train/neg/*.txt``: the IMDB layout, read by Keras's
  ``text_dataset_from_directory``);
- a JSON Lines file (``.jsonl`` or ``.json``): one JSON object per line;
- a TSV or CSV file with a header row (``.tsv``, ``.csv``), read by
  [`minigrad.data.read_labeled_text`][minigrad.data.read_labeled_text].

Every file may be gzipped (``train.jsonl.gz``, ``pos/0_9.txt.gz``). Every
problem is an error that names the file (and the line in a JSON Lines file);
nothing is ever skipped silently.
"""

from __future__ import annotations

import codecs
import json
import os
import unicodedata
from collections.abc import Iterable, Sequence
from typing import TypeVar

import numpy as np

from minigrad.data.readers import _convert_labels, _decode, _format_suffix, _read_bytes, read_labeled_text

__all__ = ["read_corpus", "train_valid_split", "truncate"]

JSON_TEXT_FIELDS = ("text", "sentence")
_SUPPORTED = ("a folder PATH/<class>/*.txt, or a file ending in .jsonl, .json, .tsv or .csv "
              "(each file optionally gzipped: .jsonl.gz, .txt.gz...)")

S = TypeVar("S", bound=Sequence)


def read_corpus(
    path: str | os.PathLike,
    text_field: str | None = None,
    label_field: str = "label",
    labels: Iterable[object] | None = None,
    encoding: str = "utf-8",
) -> tuple[list[str], list]:
    """Read the texts and labels of a labelled corpus; the path chooses the format.

    **A folder** holds one subfolder per class (hidden ones, starting with
    ``.``, are ignored), each holding one text per file: ``PATH/<class>/*.txt``,
    as in the IMDB archive and Keras's ``text_dataset_from_directory``. As in
    Keras, only the files ending in ``.txt`` are read (here also ``.txt.gz``),
    directly inside each class folder (no deeper); other files, hidden files
    and files directly in ``PATH`` are ignored, so the ``.feat`` and
    ``urls_*.txt`` files next to IMDB's ``pos/`` and ``neg/`` do no harm. Classes
    are taken in sorted order of their names, files in sorted order of theirs.
    ``labels``, when given, names the class folders to read, as Keras's
    ``class_names`` does (IMDB's ``train/unsup`` holds unlabelled reviews:
    ``labels=["neg", "pos"]`` leaves it out); each must exist.

    **A JSON Lines file** (``.jsonl``, or ``.json`` holding JSON Lines) has one
    JSON object per line, e.g. ``{"text": "a fine film", "label": 1}``; other
    fields are ignored. The text is the ``text_field`` field, by default the
    ``"text"`` field, or ``"sentence"`` on a line without one. The label
    (``label_field``) is a JSON string or integer.

    **A TSV or CSV file** is read by [`read_labeled_text`][minigrad.data.read_labeled_text]
    with ``text_column=text_field`` and ``label_column=label_field``.

    Any of these files may be gzipped: a name ending in ``.gz`` is gunzipped as
    it is read. As in ``read_labeled_text``, texts are stripped of surrounding
    whitespace and put in Unicode NFC form (markup is kept: see
    [`clean_markup`][minigrad.data.clean_markup]).

    Args:
        path: a class folder or a ``.jsonl``/``.json``/``.tsv``/``.csv`` file
            (each optionally ``.gz``).
        text_field: the text's field (JSON) or column (TSV/CSV); None tries
            ``"text"`` then ``"sentence"`` (JSON), ``"sentence"`` or ``"text"``
            (TSV/CSV). Not used for a folder.
        label_field: the label's field or column. Not used for a folder.
        labels: for a file, the labels allowed (e.g. those seen in training): a
            row with another label is an error; for a folder, the class folders
            to read. None allows every label, reads every class folder.
        encoding: the encoding of the folder's files and of a JSON Lines file;
            a UTF-8 byte-order mark is allowed. TSV and CSV files must be UTF-8.

    Returns:
        ``(texts, labels)``: two lists of equal length N; ``texts[i]`` is a
        ``str``. For a folder, N is the number of ``.txt`` files, class by class
        in sorted order (all of the first class, then the second...), and
        ``labels[i]`` is the name of the class folder of ``texts[i]`` (a
        ``str``, even for a folder named ``0``). For a file, the rows are in file
        order, and as in ``read_labeled_text`` the labels are all ``int`` when
        every label is an integer (``1``, ``"1"``, ``"-1"``), else all ``str``;
        with ``labels`` given, integer-like labels are ``int`` when ``labels``
        holds ints. The class names are ``sorted(set(labels))``.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        ValueError: one line naming the file (and the line of a JSON Lines
            file): an unknown suffix (the supported ones are listed); a folder
            without class subfolders, with a single class (unless ``labels`` picks it), with a class
            folder without ``.txt`` files, or with two class folders whose
            names are one in Unicode NFC form; a folder named in ``labels`` missing;
            bytes that are not valid in ``encoding`` (line and byte offset); an
            empty file or text; a line that is not a JSON object; a missing
            text or label field (the fields the line has are listed); a text
            that is not a string; a label that is not a string or an integer,
            or is empty; a label not in ``labels``; an unknown ``encoding``, or
            one other than UTF-8 for a TSV or CSV file.

    Examples:
        >>> texts, labels = read_corpus("shared/data/imdb/train")          # doctest: +SKIP
        >>> len(texts), sorted(set(labels))                                # doctest: +SKIP
        (25000, ['neg', 'pos'])
        >>> texts, labels = read_corpus("reviews.jsonl.gz", text_field="review")  # doctest: +SKIP
    """
    path = os.fspath(path)
    try:
        utf8 = codecs.lookup(encoding).name == "utf-8"
    except LookupError:
        raise ValueError(f"read_corpus: unknown encoding {encoding!r}") from None
    if os.path.isdir(path):
        return _read_folder(path, labels, encoding)
    if not os.path.exists(path):
        raise FileNotFoundError(f"read_corpus: no such file or folder {path!r}")
    suffix = _format_suffix(path)
    if suffix in (".jsonl", ".json"):
        return _read_json_lines(path, text_field, label_field, labels, encoding)
    if suffix in (".tsv", ".csv"):
        if not utf8:
            raise ValueError(f"read_corpus: {path}: TSV and CSV files are read as UTF-8, not {encoding!r}")
        return read_labeled_text(path, text_column=text_field, label_column=label_field, labels=labels)
    shown = suffix + ".gz" if path.lower().endswith(".gz") else suffix
    raise ValueError(f"read_corpus: cannot tell the format of {path!r} from its suffix {shown!r}; "
                     f"expected {_SUPPORTED}")


def _read_text_file(path: str, encoding: str) -> str:
    """The text of one file of a class folder, stripped and in NFC form; an empty file is an error."""
    text = _decode(_read_bytes(path, "read_corpus"), path, encoding).strip()
    if not text:
        raise ValueError(f"{path}: the file is empty")
    return text


def _is_text_file(entry: os.DirEntry) -> bool:
    name = entry.name.lower()
    return not entry.name.startswith(".") and name.endswith((".txt", ".txt.gz")) and entry.is_file()


def _read_folder(path: str, wanted: Iterable[object] | None, encoding: str) -> tuple[list[str], list[str]]:
    with os.scandir(path) as entries:
        found = sorted((e.name, e.path) for e in entries if not e.name.startswith(".") and e.is_dir())
    expected = f"expected one subfolder per class holding its texts: {os.path.join(path, '<class>', '*.txt')}"
    folders: dict[str, str] = {}
    for name, folder in found:
        label = unicodedata.normalize("NFC", name)
        if label in folders:  # one class name spelled composed and decomposed: neither is dropped silently
            other = os.path.basename(folders[label])
            raise ValueError(f"read_corpus: the folder {path} has two class folders that are one name {label!r} "
                             f"in Unicode NFC form: {ascii(other)} and {ascii(name)}; rename one")
        folders[label] = folder
    if not folders:
        raise ValueError(f"read_corpus: the folder {path} has no class subfolders; {expected}")
    if wanted is not None:
        wanted = sorted({unicodedata.normalize("NFC", str(name)) for name in wanted})
        missing = [name for name in wanted if name not in folders]
        if missing:
            raise ValueError(f"read_corpus: the folder {path} has no class folder named {missing[0]!r} "
                             f"(it has {sorted(folders)}); {expected}")
        folders = {name: folders[name] for name in wanted}
    if not folders or (len(folders) < 2 and wanted is None):  # labels may pick one class (e.g. a test set)
        given = f"a single class {next(iter(folders))!r}" if folders else "no class (labels is empty)"
        raise ValueError(f"read_corpus: the folder {path} gives {given}; a classifier needs at least two; {expected}")
    texts: list[str] = []
    labels: list[str] = []
    for name in sorted(folders):
        with os.scandir(folders[name]) as entries:
            files = sorted(e.path for e in entries if _is_text_file(e))
        if not files:
            raise ValueError(f"read_corpus: the class folder {folders[name]} has no .txt files; {expected}")
        texts.extend(_read_text_file(file, encoding) for file in files)
        labels.extend([name] * len(files))
    return texts, labels


def _read_json_lines(
    path: str, text_field: str | None, label_field: str, allowed: Iterable[object] | None, encoding: str
) -> tuple[list[str], list]:
    # not put in NFC form before parsing: a mark after an escape ("\\n" + U+0300) would join its letter ("\\ǹ")
    text = _decode(_read_bytes(path, "read_corpus"), path, encoding, nfc=False)
    if not text.strip():
        raise ValueError(f"{path}: the file is empty; expected one JSON object per line, "
                         f'e.g. {{"text": "a fine film", "label": 1}}')
    lines = text.split("\n")
    if lines[-1] == "":  # the newline that ends the last line
        lines.pop()
    text_fields = (unicodedata.normalize("NFC", text_field),) if text_field is not None else JSON_TEXT_FIELDS
    label_field = unicodedata.normalize("NFC", label_field)
    texts: list[str] = []
    raw_labels: list[tuple[int, str]] = []
    for number, line in enumerate(lines, start=1):
        where = f"{path} line {number}"
        if not line.strip():
            raise ValueError(f"{where}: an empty line; expected one JSON object per line")
        array = "; expected JSON Lines (one object per line), not a JSON array" if line.lstrip()[0] == "[" else ""
        try:
            row = json.loads(line)
        except json.JSONDecodeError as e:
            raise ValueError(f"{where}: not valid JSON: {e.msg} (column {e.colno}){array}") from None
        except (ValueError, RecursionError) as e:  # an integer of over 4300 digits; arrays nested too deeply
            raise ValueError(f"{where}: not readable JSON: {str(e).split(':')[0]}{array}") from None
        if not isinstance(row, dict):
            raise ValueError(f"{where}: expected a JSON object, found {_json_type(row)}{array}")
        row = {unicodedata.normalize("NFC", key): value for key, value in row.items()}
        field = next((f for f in text_fields if f in row), None)
        if field is None:
            names = " or ".join(repr(f) for f in text_fields)
            raise ValueError(f"{where}: no text field {names}; the line has the fields {list(row)}")
        if label_field not in row:
            raise ValueError(f"{where}: no label field {label_field!r}; the line has the fields {list(row)}")
        value, label = row[field], row[label_field]
        if not isinstance(value, str):
            raise ValueError(f"{where}: the {field!r} field is {_json_type(value)}, expected a string")
        if not value.strip():
            raise ValueError(f"{where}: the {field!r} field is empty")
        if isinstance(label, bool) or not isinstance(label, (str, int)):
            raise ValueError(f"{where}: the {label_field!r} field is {_json_type(label)}, "
                             "expected a string or an integer")
        if isinstance(label, str) and not label.strip():
            raise ValueError(f"{where}: the {label_field!r} field is empty")
        # NFC again: a JSON escape ("e\u0301") can spell a decomposed character in ASCII
        texts.append(unicodedata.normalize("NFC", value.strip()))
        raw_labels.append((number, unicodedata.normalize("NFC", str(label).strip())))
    return texts, _convert_labels(path, raw_labels, allowed)


def _json_type(value: object) -> str:
    """How JSON would name the type of ``value``: ``'a number (1.5)'``, ``'null'``."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"a boolean ({json.dumps(value)})"
    if isinstance(value, (int, float)):
        return f"a number ({value!r})"
    return {str: "a string", list: "an array", dict: "an object"}[type(value)]


def train_valid_split(
    texts: Sequence, labels: Sequence, fraction: float, seed: int
) -> tuple[list, list, list, list]:
    """Split a labelled data set at random into training and validation parts, class by class (stratified).

    For each class with ``n`` examples, ``k = round(fraction * n)`` of them (Python's
    ``round``: halves go to the even number) go to validation, at least 1 and at
    most ``n - 1`` when ``n >= 2``, so every class with two or more examples is in
    both parts; a class with a single example stays in training. Which ``k`` are
    chosen is a random permutation drawn per class, classes in sorted order, from
    ``numpy.random.default_rng(seed)``: the same seed gives the same split. Both
    parts keep the order of the input.

    Args:
        texts: N examples (texts, token lists, id lists: anything).
        labels: their N labels (hashable, sortable within one type).
        fraction: the share held out for validation, in (0, 1).
        seed: the random seed.

    Returns:
        ``(train_texts, train_labels, valid_texts, valid_labels)``: four lists;
        the two parts are disjoint and together hold every example once.

    Raises:
        ValueError: ``fraction`` is not in (0, 1); ``texts`` and ``labels``
            differ in length or are empty.

    Examples:
        >>> split = train_valid_split(list("abcdefghij"), [0] * 5 + [1] * 5, fraction=0.2, seed=0)
        >>> [len(part) for part in split]
        [8, 8, 2, 2]
    """
    if isinstance(fraction, bool) or not isinstance(fraction, (int, float)) or not 0 < fraction < 1:
        raise ValueError(f"train_valid_split: fraction must be a number in (0, 1), got {fraction!r}")
    if len(texts) != len(labels):
        raise ValueError(f"train_valid_split: {len(texts)} texts but {len(labels)} labels")
    if not texts:
        raise ValueError("train_valid_split: no examples to split")
    by_class: dict[object, list[int]] = {}
    for i, label in enumerate(labels):
        by_class.setdefault(label, []).append(i)
    rng = np.random.default_rng(seed)
    valid: set[int] = set()
    for label in sorted(by_class, key=lambda y: (type(y).__name__, y)):
        indices = by_class[label]
        n = len(indices)
        k = min(max(round(fraction * n), 1), n - 1) if n >= 2 else 0
        valid.update(indices[j] for j in rng.permutation(n)[:k])
    train = [i for i in range(len(texts)) if i not in valid]
    held = sorted(valid)
    return ([texts[i] for i in train], [labels[i] for i in train],
            [texts[i] for i in held], [labels[i] for i in held])


def truncate(ids: S, max_len: int, keep: str = "end") -> S:
    """Cut a sequence to at most ``max_len`` items, keeping its end (default) or its start.

    The default keeps the end because in a long review the verdict usually comes
    last ("... in short, a waste of two hours"); Keras's ``pad_sequences`` does
    the same by default (``truncating="pre"``). Note that
    [`pad_sequences`][minigrad.data.pad_sequences] here drops the end by default
    (``truncating="post"``); ``truncate(ids, T, keep="end")`` before padding
    gives Keras's behaviour.

    Args:
        ids: a sequence (list, tuple, 1-D array) of token ids or tokens.
        max_len: the most items kept, ``>= 1``.
        keep: ``"end"`` keeps the last ``max_len`` items, ``"start"`` the first.

    Returns:
        A slice of ``ids`` (same type) of length ``min(len(ids), max_len)``.

    Raises:
        ValueError: ``max_len`` is not an integer ``>= 1``, or ``keep`` is
            neither ``"end"`` nor ``"start"``.

    Examples:
        >>> truncate([1, 2, 3, 4, 5], 3)
        [3, 4, 5]
        >>> truncate([1, 2, 3, 4, 5], 3, keep="start")
        [1, 2, 3]
    """
    if isinstance(max_len, bool) or not isinstance(max_len, (int, np.integer)) or max_len < 1:
        raise ValueError(f"truncate: max_len must be an integer >= 1, got {max_len!r}")
    if keep == "end":
        return ids[-max_len:]
    if keep == "start":
        return ids[:max_len]
    raise ValueError(f"truncate: keep must be 'end' or 'start', got {keep!r}")
