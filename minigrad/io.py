"""Checkpoints: ``save(obj, path)`` and ``load(path)``, one ``.npz`` file, no pickle.

    >>> import minigrad as mg
    >>> mg.save({"model": model.state_dict(), "epoch": 3}, "ckpt.npz")   # doctest: +SKIP
    >>> model.load_state_dict(mg.load("ckpt.npz")["model"])             # doctest: +SKIP

What can be saved: nested mappings (``dict`` and ``OrderedDict`` come back as
themselves, other mappings as ``dict``) with ``str`` or ``int`` keys, lists and
tuples, whose leaves are NumPy arrays and scalars, CuPy arrays and minigrad
Tensors (all stored as host arrays), Python ``int``, ``float``, ``bool``,
``str`` and ``None``. Key order, int versus str keys, lists versus tuples and
dict versus OrderedDict survive the round trip; array bits, dtypes and shapes
are kept exactly. Subclasses (an ``IntEnum``, a namedtuple) are saved as their
base type.

The file format is an ordinary NumPy ``.npz`` archive:

- ``a0``, ``a1``, ...: one entry per array leaf;
- ``__minigrad__``: UTF-8 JSON (stored as a ``uint8`` array) describing the
  tree, with references to the array entries by name.

Every entry loads with ``numpy.load(path, allow_pickle=False)``, so loading a
checkpoint never runs code. ``load`` always returns NumPy arrays (a file saved
from CuPy arrays loads on a machine without a GPU); ``Module.load_state_dict``
moves them to the module's backend.

Saving is atomic: the archive is written to a temporary file next to the
target, flushed and ``fsync``-ed, then renamed over the target with
``os.replace``. A crash or kill mid-save leaves the previous checkpoint
untouched (a killed process may leave its ``.<name>.*.tmp`` file behind; it is
never mistaken for the checkpoint and can be deleted).
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import zipfile
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from typing import IO, Any

import numpy as np

from backends.base import is_device_array
from minigrad.tensor import Tensor

__all__ = ["atomic_write", "load", "save", "write_text_atomic"]

STRUCTURE_ENTRY = "__minigrad__"
FORMAT_NAME = "minigrad-checkpoint"
FORMAT_VERSION = 1

_NPY_MAGIC = b"\x93NUMPY"
_ZIP_MAGIC = b"PK\x03\x04"


# -- save -------------------------------------------------------------------
def _key_path(path: tuple) -> str:
    return ".".join(str(k) for k in path) if path else "<top level>"


class _Encoder:
    """Turns a tree of supported values into JSON nodes plus a dict of arrays."""

    def __init__(self) -> None:
        self.arrays: dict[str, np.ndarray] = {}
        self._open: set[int] = set()  # ids of containers being encoded (cycle check)

    def _add_array(self, array: np.ndarray, path: tuple) -> str:
        if array.dtype.hasobject:
            raise TypeError(
                f"save: the array at {_key_path(path)} has dtype {array.dtype}, which needs pickle; "
                "only numeric, bool and string arrays can be saved"
            )
        ref = f"a{len(self.arrays)}"
        self.arrays[ref] = array
        return ref

    def encode(self, value: Any, path: tuple = ()) -> dict:
        if value is None:
            return {"t": "none"}
        if isinstance(value, np.generic):  # first: np.float64 and np.str_ subclass float and str
            return {"t": "npscalar", "ref": self._add_array(np.asarray(value), path)}
        if isinstance(value, bool):  # before int: bool subclasses int
            return {"t": "bool", "v": value}
        if isinstance(value, int):
            return {"t": "int", "v": int(value)}
        if isinstance(value, float):
            return {"t": "float", "v": float(value).hex()}  # exact, and NaN/inf stay valid JSON
        if isinstance(value, str):
            return {"t": "str", "v": value}
        if isinstance(value, Tensor):
            return {"t": "array", "ref": self._add_array(value.numpy(), path)}
        if isinstance(value, np.ndarray):
            return {"t": "array", "ref": self._add_array(value, path)}
        if is_device_array(value):  # CuPy's or another device backend's: its explicit transfer
            return {"t": "array", "ref": self._add_array(value.get(), path)}
        if isinstance(value, (Mapping, list, tuple)):
            return self._encode_container(value, path)
        raise TypeError(
            f"save: cannot save the {type(value).__module__}.{type(value).__qualname__} at {_key_path(path)}; "
            "supported: dict/OrderedDict, list, tuple, NumPy/CuPy arrays, Tensors, int, float, bool, str, None"
        )

    def _encode_container(self, value: Mapping | list | tuple, path: tuple) -> dict:
        if id(value) in self._open:
            raise ValueError(f"save: the object contains itself (a reference cycle) at {_key_path(path)}")
        self._open.add(id(value))
        try:
            if isinstance(value, Mapping):
                items = []
                for k, v in value.items():
                    if isinstance(k, str):
                        key = ["s", k]
                    elif isinstance(k, int) and not isinstance(k, bool):
                        key = ["i", int(k)]
                    else:
                        raise TypeError(
                            f"save: dict keys must be str or int, got the {type(k).__name__} key {k!r} "
                            f"in {_key_path(path)}"
                        )
                    items.append([key, self.encode(v, path + (k,))])
                kind = "odict" if isinstance(value, OrderedDict) else "dict"  # other mappings load as dict
                return {"t": kind, "items": items}
            kind = "tuple" if isinstance(value, tuple) else "list"
            return {"t": kind, "items": [self.encode(v, path + (i,)) for i, v in enumerate(value)]}
        finally:
            self._open.discard(id(value))


def _temp_path(folder: str, name: str) -> str:
    """A fresh name for a temporary file beside ``name`` in ``folder`` (not created yet)."""
    return os.path.join(folder, f".{name}.{secrets.token_hex(6)}.tmp")


def _create_new(path: str) -> int:
    """Create ``path`` (which must not exist) for writing, mode 0o666 so that the umask applies.

    Like ``tempfile.mkstemp``, but the finished file gets a normal file's permissions.

    Raises:
        FileExistsError: ``path`` exists.
    """
    return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)


def write_probe(folder: str | os.PathLike) -> str | None:
    """Why a file cannot be created in ``folder``, or None when it can: a real test, which creates and
    removes a temporary file there (permission bits say nothing to root, nor about a read-only mount,
    a full disk or a folder such as ``/sys``). E.g. ``"Permission denied"``."""
    folder = os.fspath(folder)
    tmp = _temp_path(folder, "write-probe")
    try:
        os.close(_create_new(tmp))
    except OSError as e:
        return e.strerror or str(e)
    with contextlib.suppress(OSError):
        os.unlink(tmp)
    return None


def _fsync_folder(folder: str) -> None:
    """Make the rename itself durable (POSIX); a no-op where folders cannot be opened."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def save(obj: Any, path: str | os.PathLike) -> None:
    """Write ``obj`` to ``path`` as one ``.npz`` checkpoint, atomically.

    Args:
        obj: a nested structure of dicts (str or int keys), lists and tuples
            whose leaves are arrays, Tensors, int, float, bool, str or None,
            e.g. ``{"model": model.state_dict(), "optimizer": opt.state_dict(), "epoch": 3}``.
        path: the file to write, exactly as given (no ``.npz`` suffix is added).
            Its folder must exist; an existing file is replaced only once the
            new one is complete.

    Raises:
        TypeError: a leaf or key of an unsupported type (the message names its
            key path, e.g. ``optimizer.state.0.step``).
        FileNotFoundError: the folder of ``path`` does not exist.
        IsADirectoryError: ``path`` is a folder.
    """
    path = os.fspath(path)
    encoder = _Encoder()
    root = encoder.encode(obj)  # fails before any file is touched
    structure = json.dumps({"format": FORMAT_NAME, "version": FORMAT_VERSION, "root": root})
    entries = dict(encoder.arrays)
    entries[STRUCTURE_ENTRY] = np.frombuffer(structure.encode("utf-8"), dtype=np.uint8)

    with atomic_write(path, "wb", who="save") as f:
        np.savez(f, **entries)  # to a file object: numpy adds no ".npz" suffix


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "w", who: str = "write") -> Iterator[IO]:
    """Open ``path`` for writing so that it is never seen half-written: the one way minigrad writes files.

    Yields a file object on a new temporary file in the same folder (mode 0o666 less the umask, like
    any new file); when the block ends without an exception the data is flushed to disk (``fsync``),
    the temporary file replaces ``path`` (``os.replace``, atomic on POSIX and Windows) and the folder
    entry is synced. On an exception the temporary file is removed and ``path`` is untouched.

    Args:
        path: the file to write; its folder must exist.
        mode: ``"w"`` (text, UTF-8, ``\n`` line ends) or ``"wb"``.
        who: the name that error messages start with (e.g. ``save``).

    Raises:
        FileNotFoundError: the folder of ``path`` does not exist.
        IsADirectoryError: ``path`` is a folder.
    """
    shown = os.fspath(path)
    target = os.path.abspath(shown)
    folder = os.path.dirname(target)
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"{who}: cannot write {shown!r}: the folder {folder!r} does not exist")
    if os.path.isdir(target):
        raise IsADirectoryError(f"{who}: cannot write {shown!r}: it is a folder, not a file")
    tmp = None
    try:  # the name is known before the file exists, so an interrupt at any moment leaves no temporary file
        while True:
            tmp = _temp_path(folder, os.path.basename(target))
            try:
                fd = _create_new(tmp)
                break
            except FileExistsError:
                continue
        text = {} if "b" in mode else {"encoding": "utf-8", "newline": "\n"}
        with os.fdopen(fd, mode, **text) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        raise
    _fsync_folder(folder)


def write_text_atomic(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` with [`atomic_write`][minigrad.io.atomic_write]."""
    with atomic_write(path, "w") as f:
        f.write(text)


# -- load -------------------------------------------------------------------
def _not_a_checkpoint(path: str, why: str) -> ValueError:
    return ValueError(f"load: {path!r} is not a minigrad checkpoint: {why}")


def _check_archive(path: str) -> None:
    """Raise a clear error when ``path`` is missing, a folder or not a complete zip archive."""
    if not os.path.exists(path):
        raise FileNotFoundError(f"load: no such file: {path!r}")
    if os.path.isdir(path):
        raise IsADirectoryError(f"load: {path!r} is a folder, not a checkpoint file")
    with open(path, "rb") as f:
        head = f.read(len(_NPY_MAGIC))
    if not head:
        raise _not_a_checkpoint(path, "the file is empty")
    if head.startswith(_NPY_MAGIC):
        raise _not_a_checkpoint(path, "it is a single-array .npy file, not an .npz archive")
    if not zipfile.is_zipfile(path):
        if head.startswith(_ZIP_MAGIC):
            raise _not_a_checkpoint(path, "the .npz (zip) archive is truncated or corrupt (no central directory)")
        raise _not_a_checkpoint(path, f"it is not an .npz (zip) archive (it starts with {head[:4]!r})")


class _Decoder:
    def __init__(self, path: str, arrays: dict[str, np.ndarray]) -> None:
        self.path = path
        self.arrays = arrays

    def _bad(self, why: str, where: tuple) -> ValueError:
        return _not_a_checkpoint(self.path, f"bad structure at {_key_path(where)}: {why}")

    def _array(self, node: dict, where: tuple) -> np.ndarray:
        ref = node.get("ref")
        if ref not in self.arrays:
            raise self._bad(f"it refers to the array entry {ref!r}, which the archive lacks", where)
        return self.arrays[ref]

    def decode(self, node: Any, where: tuple = ()) -> Any:
        if not isinstance(node, dict) or "t" not in node:
            raise self._bad(f"expected a node, got {node!r:.60}", where)
        t = node["t"]
        if t == "none":
            return None
        if t in ("bool", "int", "str"):
            expected = {"bool": bool, "int": int, "str": str}[t]
            v = node.get("v")
            if type(v) is not expected:
                raise self._bad(f"a {t} node holds {v!r:.60}", where)
            return v
        if t == "float":
            try:
                return float.fromhex(node["v"])
            except (KeyError, TypeError, ValueError):
                raise self._bad(f"a float node holds {node.get('v')!r:.60}", where) from None
        if t == "array":
            return self._array(node, where)
        if t == "npscalar":
            return self._array(node, where)[()]
        items = node.get("items")
        if not isinstance(items, list):
            raise self._bad(f"a {t} node has no item list", where)
        if t in ("list", "tuple"):
            values = [self.decode(v, where + (i,)) for i, v in enumerate(items)]
            return tuple(values) if t == "tuple" else values
        if t in ("dict", "odict"):
            out: dict = OrderedDict() if t == "odict" else {}
            for item in items:
                try:
                    (kind, key), value = item
                except (TypeError, ValueError):
                    raise self._bad(f"a dict item is {item!r:.60}", where) from None
                if (kind, type(key)) not in (("s", str), ("i", int)):
                    raise self._bad(f"a dict key is {[kind, key]!r:.60}", where)
                out[key] = self.decode(value, where + (key,))
            return out
        raise self._bad(f"unknown node type {t!r}", where)


def load(path: str | os.PathLike) -> Any:
    """Read a checkpoint written by [`save`][minigrad.save].

    Arrays come back as NumPy arrays (whatever backend they were saved from),
    with their dtypes and bits unchanged; containers, keys and scalars come
    back as they were saved. Nothing in the file is unpickled or executed.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        ValueError: the file is not an ``.npz`` archive, is truncated or
            corrupt, or has no minigrad structure entry (the message names the
            file and what is wrong).
    """
    path = os.fspath(path)
    _check_archive(path)
    try:
        with np.load(path, allow_pickle=False) as npz:
            names = list(npz.files)
            if STRUCTURE_ENTRY not in names:
                shown = ", ".join(repr(n) for n in names[:8]) + (", ..." if len(names) > 8 else "")
                raise _not_a_checkpoint(
                    path, f"it has no {STRUCTURE_ENTRY!r} structure entry (entries: {shown or 'none'}); "
                    "it is an .npz file that minigrad.save did not write"
                )
            arrays = {}
            for name in names:
                try:
                    arrays[name] = npz[name]
                except (zipfile.BadZipFile, ValueError, EOFError, OSError) as e:
                    raise _not_a_checkpoint(path, f"the entry {name!r} is corrupt ({type(e).__name__}: {e})") from e
    except (zipfile.BadZipFile, EOFError, OSError) as e:
        raise _not_a_checkpoint(path, f"the archive cannot be read ({type(e).__name__}: {e})") from e

    raw = arrays.pop(STRUCTURE_ENTRY)
    try:
        if raw.dtype == np.uint8:
            text = raw.tobytes().decode("utf-8")
        elif raw.dtype.kind == "U" and raw.ndim == 0:
            text = str(raw[()])
        else:
            raise ValueError(f"dtype {raw.dtype}, shape {raw.shape}")
        header = json.loads(text)
    except ValueError as e:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        raise _not_a_checkpoint(path, f"the {STRUCTURE_ENTRY!r} entry is not valid JSON text ({e})") from None
    if not isinstance(header, dict) or header.get("format") != FORMAT_NAME or "root" not in header:
        raise _not_a_checkpoint(path, f"the {STRUCTURE_ENTRY!r} entry is not a {FORMAT_NAME} header")
    version = header.get("version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise ValueError(
            f"load: {path!r} has checkpoint format version {version!r}; this minigrad reads up to "
            f"version {FORMAT_VERSION} (upgrade minigrad)"
        )
    return _Decoder(path, arrays).decode(header["root"])
