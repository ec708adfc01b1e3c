"""``read_labeled_text``: read a TSV or CSV file of (text, label) rows, strictly.

Every problem in the file is an error that names the file and the line; no
row is ever skipped silently. The text is put in Unicode NFC form as it is read.
A file whose name ends in ``.gz`` (``train.tsv.gz``) is gunzipped as it is read.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import io
import os
import re
import unicodedata
import zlib
from collections.abc import Iterable, Iterator
from pathlib import Path

__all__ = ["read_labeled_text"]

TEXT_COLUMNS = ("sentence", "text")
_DELIMITERS = {".tsv": ("\t", "tabs"), ".csv": (",", "commas")}
_INTEGER = re.compile(r"[+-]?\d+\Z")


def _tsv_rows(text: str) -> Iterator[tuple[int, list[str]]]:
    """``(line number, fields)`` of each line, split on tabs; no quoting."""
    lines = text.split("\n")
    if lines and lines[-1] == "":  # the newline that ends the last line
        lines.pop()
    for number, line in enumerate(lines, start=1):
        yield number, line.removesuffix("\r").split("\t")


def _csv_rows(text: str, path: str) -> Iterator[tuple[int, list[str]]]:
    """``(first line number, fields)`` of each CSV record (quoted fields may span lines)."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    while True:
        start = reader.line_num + 1
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as e:
            raise ValueError(f"{path} line {start}: malformed CSV: {e}") from None
        yield start, fields


def _format_suffix(path: str) -> str:
    """The lower-case suffix that names the format, under a ``.gz``: ``".tsv"`` for ``train.tsv.gz``."""
    name = Path(path).name.lower()
    return Path(name.removesuffix(".gz")).suffix if name.endswith(".gz") else Path(name).suffix


def _read_bytes(path: str, who: str) -> bytes:
    """The bytes of the file at ``path``, gunzipped when its name ends in ``.gz``."""
    try:
        raw = Path(path).read_bytes()
    except FileNotFoundError:
        raise FileNotFoundError(f"{who}: no such file {path!r}") from None
    except IsADirectoryError:
        raise IsADirectoryError(f"{who}: {path!r} is a folder, not a file") from None
    if not path.lower().endswith(".gz"):
        return raw
    try:
        return gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as e:
        raise ValueError(f"{path}: not readable gzip data ({e})") from None


def _decode(raw: bytes, path: str, encoding: str = "utf-8", nfc: bool = True) -> str:
    """``raw`` decoded (a UTF-8 byte-order mark is dropped) and, with ``nfc``, put in Unicode NFC form; bad bytes
    are an error that names the line and the byte offset (in the gunzipped data for a ``.gz`` file)."""
    utf8 = codecs.lookup(encoding).name == "utf-8"
    start = len(codecs.BOM_UTF8) if utf8 and raw.startswith(codecs.BOM_UTF8) else 0
    try:
        text = raw[start:].decode(encoding)
    except UnicodeDecodeError as e:
        offset = start + e.start
        line = raw[:offset].count(b"\n") + 1
        name = "UTF-8" if utf8 else encoding
        raise ValueError(f"{path} line {line}: not {name} text (byte {raw[offset]:#04x} at offset {offset})") from None
    except UnicodeError as e:  # a codec that fails without naming a byte (punycode, undefined)
        raise ValueError(f"{path}: not {encoding} text ({' '.join(str(e).split())})") from None
    except LookupError:  # a codec that exists but does not decode to text (base64, rot13)
        raise ValueError(f"{path}: {encoding!r} is not a text encoding") from None
    # NFC never changes the ASCII delimiters, quotes or line breaks, so fields and line numbers stay as in the file
    return text if not nfc or text.isascii() else unicodedata.normalize("NFC", text)


def _read_text(path: str) -> str:
    return _decode(_read_bytes(path, "read_labeled_text"), path)


def _nfc(value: object) -> object:
    """``value`` in Unicode NFC form if it is a ``str``; anything else unchanged."""
    return unicodedata.normalize("NFC", value) if isinstance(value, str) else value


def _find_column(path: str, header: list[str], wanted: Iterable[str], what: str) -> int:
    found = [i for i, name in enumerate(header) if name in wanted]
    if not found:
        names = " or ".join(repr(w) for w in wanted)
        raise ValueError(f"{path} line 1: no {what} column named {names}; the header has columns {header}")
    if len(found) > 1:
        names = [header[i] for i in found]
        raise ValueError(f"{path} line 1: the {what} column is ambiguous: the header has {names}; "
                         f"pass {'text_column' if what == 'text' else 'label_column'} to choose")
    return found[0]


def read_labeled_text(
    path: str | os.PathLike,
    text_column: str | None = None,
    label_column: str = "label",
    labels: Iterable[object] | None = None,
) -> tuple[list[str], list]:
    """Read texts and labels from a ``.tsv`` or ``.csv`` file with a header row.

    The suffix chooses the format: ``.tsv`` splits each line on tabs (no
    quoting, as in GLUE's SST-2 files); ``.csv`` is comma-separated with the
    ``csv`` module's double-quote quoting (``"a, quoted"`` text). Either may be
    gzipped: ``train.tsv.gz`` is read as ``train.tsv``. The first line
    names the columns; other columns are allowed and ignored. Texts are
    stripped of surrounding whitespace (SST-2 lines end with a space).

    The file is put in Unicode NFC form, and so are ``text_column``,
    ``label_column`` and ``labels``: a text, a column name or a label written
    with composed or decomposed characters (``"é"`` as one code point or as
    ``"e"`` + U+0301) reads the same, so string labels match across files.

    Args:
        path: the file, UTF-8 (a byte-order mark is allowed); ``.tsv.gz`` and
            ``.csv.gz`` are gunzipped first.
        text_column: the text column's name; None finds ``sentence`` or ``text``.
        label_column: the label column's name.
        labels: the labels allowed (e.g. the set seen in training); a row with
            another label is an error. None allows any label.

    Returns:
        ``(texts, labels)``: two lists of equal length, in file order. Labels
        are ``int`` when every label is an integer (``"0"``, ``"-1"``), else
        ``str``; with ``labels`` given, integer-like labels become ``int`` when
        ``labels`` holds ints.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        ValueError: unknown suffix; an empty file; a header without data rows;
            a missing or ambiguous column (the message lists the header); a line
            with the wrong number of fields; an empty text or label; a label not
            in ``labels``; bad UTF-8 or CSV quoting; a ``.gz`` file that is not
            gzip data. Each message starts with
            ``"<path> line <n>:"`` where a line is at fault.

    Examples:
        >>> texts, labels = read_labeled_text("shared/data/sst2/dev.tsv")  # doctest: +SKIP
        >>> texts[0], labels[0]                                            # doctest: +SKIP
        ("it 's a charming and often affecting journey .", 1)
    """
    path = os.fspath(path)
    suffix = _format_suffix(path)
    if suffix not in _DELIMITERS:
        shown = suffix + ".gz" if path.lower().endswith(".gz") else suffix
        raise ValueError(f"read_labeled_text: cannot tell the format of {path!r} from its suffix {shown!r}; "
                         "expected .tsv (tab-separated) or .csv (comma-separated), optionally gzipped (.tsv.gz)")
    delimiter, delimiter_name = _DELIMITERS[suffix]
    text = _read_text(path)
    if isinstance(text_column, str):
        text_column = unicodedata.normalize("NFC", text_column)
    if isinstance(label_column, str):
        label_column = unicodedata.normalize("NFC", label_column)
    if not text.strip():
        raise ValueError(f"{path}: the file is empty; expected a header line naming the columns, "
                         f"e.g. 'sentence{delimiter}label'")
    rows = _tsv_rows(text) if delimiter == "\t" else _csv_rows(text, path)

    _, header = next(rows)
    header = [name.strip() for name in header]
    duplicates = sorted({name for name in header if header.count(name) > 1})
    if duplicates:
        raise ValueError(f"{path} line 1: the header repeats the column names {duplicates}: {header}")
    ti = _find_column(path, header, (text_column,) if text_column else TEXT_COLUMNS, "text")
    li = _find_column(path, header, (label_column,), "label")
    if ti == li:
        raise ValueError(f"{path} line 1: text_column and label_column are the same column {header[ti]!r}")

    texts: list[str] = []
    raw_labels: list[tuple[int, str]] = []
    for number, fields in rows:
        if len(fields) != len(header):
            found = "an empty line" if fields in ([], [""]) else f"{len(fields)} fields"
            raise ValueError(f"{path} line {number}: expected {len(header)} fields ({', '.join(header)}) "
                             f"separated by {delimiter_name}, found {found}")
        sentence, label = fields[ti].strip(), fields[li].strip()
        if not sentence:
            raise ValueError(f"{path} line {number}: the {header[ti]!r} column is empty")
        if not label:
            raise ValueError(f"{path} line {number}: the {header[li]!r} column is empty")
        texts.append(sentence)
        raw_labels.append((number, label))
    if not texts:
        raise ValueError(f"{path}: the file has a header line but no data rows")
    return texts, _convert_labels(path, raw_labels, labels)


def _convert_labels(path: str, raw_labels: list[tuple[int, str]], allowed: Iterable[object] | None) -> list:
    """Labels as ints when integer-like (see ``read_labeled_text``), checked against ``allowed``."""
    if allowed is None:
        if all(_INTEGER.match(label) for _, label in raw_labels):
            return [int(label) for _, label in raw_labels]
        return [label for _, label in raw_labels]
    allowed = {_nfc(a) for a in allowed}
    want_ints = any(isinstance(a, int) and not isinstance(a, bool) for a in allowed)
    out = []
    for number, label in raw_labels:
        value = int(label) if want_ints and _INTEGER.match(label) else label
        if value not in allowed:
            shown = sorted(allowed, key=lambda a: (str(type(a)), str(a)))
            raise ValueError(f"{path} line {number}: label {label!r} is not one of the labels seen in training: "
                             f"{shown}")
        out.append(value)
    return out
