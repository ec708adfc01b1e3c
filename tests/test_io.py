"""``save``/``load``: bit-exact round trips, a plain no-pickle ``.npz``, atomic writes, clear errors."""

from __future__ import annotations

import json
import math
import os
import re
import select
import signal
import subprocess
import sys
import textwrap
import zipfile
from collections import OrderedDict

import numpy as np
import pytest

import minigrad as mg
from minigrad import nn
from minigrad.io import STRUCTURE_ENTRY


def assert_same(expected, got, where="obj"):
    """Equal values of exactly the same types; arrays equal bit for bit with the same dtype and shape."""
    if isinstance(expected, np.ndarray):
        assert type(got) is np.ndarray, f"{where}: {type(got)}"
        assert got.dtype == expected.dtype and got.shape == expected.shape, f"{where}: {got.dtype}{got.shape}"
        assert np.array_equal(got, expected, equal_nan=expected.dtype.kind in "fc"), where
        assert np.ascontiguousarray(got).tobytes() == np.ascontiguousarray(expected).tobytes(), where
        return
    assert type(got) is type(expected), f"{where}: expected {type(expected).__name__}, got {type(got).__name__}"
    if isinstance(expected, dict):
        assert [(type(k), k) for k in got] == [(type(k), k) for k in expected], f"{where}: keys"
        for k in expected:
            assert_same(expected[k], got[k], f"{where}.{k}")
    elif isinstance(expected, (list, tuple)):
        assert len(got) == len(expected), where
        for i, (e, g) in enumerate(zip(expected, got)):
            assert_same(e, g, f"{where}.{i}")
    elif isinstance(expected, np.generic):
        assert got.tobytes() == expected.tobytes(), where
    elif isinstance(expected, float):
        assert got.hex() == expected.hex() or (math.isnan(got) and math.isnan(expected)), where
    else:
        assert got == expected, where


def rich_object():
    rng = np.random.default_rng(0)
    f64 = rng.standard_normal((3, 4))
    f64[0, :4] = [np.nan, np.inf, -np.inf, -0.0]
    return {
        "arrays": {
            "float32": rng.standard_normal((5, 7)).astype(np.float32),
            "float64": f64,
            "float16": np.array([1e-4, 65504, -0.0], dtype=np.float16),
            "int64": np.array([np.iinfo(np.int64).min, -1, 0, np.iinfo(np.int64).max], dtype=np.int64),
            "uint8": np.arange(256, dtype=np.uint8),
            "int32_big_endian": np.arange(6, dtype=">i4").reshape(2, 3),
            "bool": rng.random((4, 4)) > 0.5,
            "complex128": np.array([1 + 2j, -0.0 - 1j]),
            "unicode": np.array(["<pad>", "<unk>", "héllo"]),
            "zero_d": np.array(3.25, dtype=np.float32),
            "zero_d_int": np.array(7),
            "empty": np.zeros((0,), dtype=np.float32),
            "empty_2d": np.zeros((3, 0), dtype=np.int64),
            "fortran": np.asfortranarray(rng.standard_normal((3, 5))),
            "strided": np.arange(20.0)[::3],
        },
        "numpy_scalars": [np.float32(1.5), np.float64(-0.0), np.int64(-3), np.bool_(True), np.uint16(9)],
        "scalars": {"int": 3, "neg": -12, "huge": 2**100, "float": 0.1, "tiny": 5e-324, "nan": math.nan,
                    "inf": -math.inf, "negzero": -0.0, "true": True, "false": False, "none": None},
        "strings": ["", "plain", "ünïcødé ✓ 🚀", "line\nbreak \"quoted\" \\ tab\t", "\udcff surrogate"],
        "int_keys": {0: "zero", 1: {2: [3]}, -5: None, "1": "the str key '1' is not the int key 1"},
        "ordered": OrderedDict([("z", 1), ("a", 2), ("m", OrderedDict())]),
        "containers": ([1, (2, 3)], (), [], {}, [[]], ({},)),
        "tensor_like_nesting": [{"a": np.ones(2)}, ({"b": np.zeros(1, dtype=bool)},)],
    }


def test_round_trip_is_exact(tmp_path):
    obj = rich_object()
    path = tmp_path / "ckpt.npz"
    mg.save(obj, path)
    got = mg.load(path)
    assert_same(obj, got)
    assert list(got) == list(obj)  # key order
    assert got["arrays"]["fortran"].flags.f_contiguous  # layout kept too


def test_tensors_and_parameters_are_saved_as_host_arrays(tmp_path, backend):
    x = mg.randn(3, 4)
    p = nn.Parameter(mg.randn(2, 2, dtype="float64"))
    mg.save({"x": x, "p": p, "raw": x.data}, tmp_path / "t.npz")  # x.data is a CuPy array on cupy
    got = mg.load(tmp_path / "t.npz")
    for key, ref in [("x", x), ("p", p), ("raw", x)]:
        assert type(got[key]) is np.ndarray
        assert_same(ref.numpy(), got[key], key)


class FakeDeviceArray:
    """Stands in for a CuPy array: ``__cuda_array_interface__`` and ``.get()`` to the host."""

    def __init__(self, host):
        self._host = host

    @property
    def __cuda_array_interface__(self):
        return {"shape": self._host.shape, "typestr": self._host.dtype.str, "version": 3}

    def get(self):
        return self._host.copy()


def test_device_arrays_load_as_numpy(tmp_path):
    host = np.arange(6, dtype=np.float32).reshape(2, 3)
    mg.save({"w": FakeDeviceArray(host)}, tmp_path / "gpu.npz")
    assert_same({"w": host}, mg.load(tmp_path / "gpu.npz"))


def test_file_is_a_plain_npz_without_pickle(tmp_path):
    obj = {"model": {"w": np.arange(4.0)}, "step": 3, "vocab": ["<pad>", "<unk>"]}
    path = tmp_path / "ckpt.npz"
    mg.save(obj, path)
    with np.load(path, allow_pickle=False) as npz:
        entries = {name: npz[name] for name in npz.files}
    assert STRUCTURE_ENTRY in entries
    header = json.loads(entries.pop(STRUCTURE_ENTRY).tobytes().decode("utf-8"))
    assert header["format"] == "minigrad-checkpoint" and header["version"] == 1
    assert [a.tolist() for a in entries.values()] == [[0.0, 1.0, 2.0, 3.0]]


def test_structure_as_a_unicode_array_is_read_too(tmp_path):
    """The format allows the structure entry as a 0-d unicode array as well as UTF-8 bytes."""
    header = {"format": "minigrad-checkpoint", "version": 1,
              "root": {"t": "dict", "items": [[["s", "w"], {"t": "array", "ref": "a0"}]]}}
    path = tmp_path / "hand_made.npz"
    np.savez(path, a0=np.arange(3), **{STRUCTURE_ENTRY: np.array(json.dumps(header))})
    assert_same({"w": np.arange(3)}, mg.load(path))


def test_saves_exactly_to_the_given_path(tmp_path):
    mg.save({"a": 1}, tmp_path / "checkpoint")  # no suffix: none is added
    mg.save({"a": 2}, str(tmp_path / "other.ckpt"))
    assert sorted(os.listdir(tmp_path)) == ["checkpoint", "other.ckpt"]
    assert mg.load(str(tmp_path / "checkpoint")) == {"a": 1}
    assert mg.load(tmp_path / "other.ckpt") == {"a": 2}


def test_overwrite_replaces_the_previous_checkpoint(tmp_path):
    path = tmp_path / "ckpt.npz"
    mg.save({"epoch": 1, "w": np.zeros(3)}, path)
    mg.save({"epoch": 2}, path)
    assert mg.load(path) == {"epoch": 2}
    assert os.listdir(tmp_path) == ["ckpt.npz"]


def test_model_and_optimizer_state_round_trip_reproduces_outputs(tmp_path, backend):
    mg.manual_seed(0)
    model = nn.LSTM(3, 5, num_layers=2, bidirectional=True)
    x = mg.randn(2, 4, 3)
    out, (h, c) = model(x)
    params = list(model.parameters())
    optimizer_state = {  # the shape of an Adam state_dict: int keys, lists of dicts, tuples
        "state": {i: {"step": 3, "exp_avg": np.full(p.shape, 0.5, np.float32),
                      "exp_avg_sq": np.full(p.shape, 0.25, np.float32)} for i, p in enumerate(params[:2])},
        "param_groups": [{"lr": 1e-3, "betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 0.0,
                          "amsgrad": False, "params": list(range(len(params)))}],
    }
    ckpt = {"model": model.state_dict(), "optimizer": optimizer_state, "epoch": 3, "vocab": ["<pad>", "<unk>", "a"]}
    path = tmp_path / "ckpt.npz"
    mg.save(ckpt, path)
    loaded = mg.load(path)
    assert_same(ckpt, loaded)
    assert type(loaded["model"]) is OrderedDict

    mg.manual_seed(1)
    fresh = nn.LSTM(3, 5, num_layers=2, bidirectional=True)
    out_fresh, _ = fresh(x)
    assert not np.array_equal(out_fresh.numpy(), out.numpy())
    fresh.load_state_dict(loaded["model"])
    out2, (h2, c2) = fresh(x)
    for a, b in [(out, out2), (h, h2), (c, c2)]:
        assert np.array_equal(a.numpy(), b.numpy())


# -- atomicity --------------------------------------------------------------
class FailingWriter:
    """A file wrapper that raises "disk full" after ``limit`` bytes, leaving a partial file."""

    def __init__(self, f, limit):
        self._f, self._left = f, limit

    def write(self, data):
        if len(data) > self._left:
            self._f.write(bytes(data)[: self._left])
            self._f.flush()
            raise OSError(28, "No space left on device (simulated)")
        self._left -= len(data)
        return self._f.write(data)

    def __getattr__(self, name):
        return getattr(self._f, name)


def _fail_mid_write(monkeypatch):
    real_savez = np.savez
    monkeypatch.setattr(np, "savez", lambda f, *a, **k: real_savez(FailingWriter(f, 5000), *a, **k))
    return OSError, "No space left"


def _fail_on_rename(monkeypatch):
    def replace(src, dst):
        assert os.path.getsize(src) > 0  # the new checkpoint was complete
        raise PermissionError("rename refused (simulated)")

    monkeypatch.setattr(os, "replace", replace)
    return PermissionError, "rename refused"


def _interrupt_on_fsync(monkeypatch):
    def fsync(fd):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "fsync", fsync)
    return KeyboardInterrupt, None


@pytest.mark.parametrize("failure", [_fail_mid_write, _fail_on_rename, _interrupt_on_fsync])
def test_failed_save_keeps_the_previous_checkpoint(tmp_path, monkeypatch, failure):
    path = tmp_path / "ckpt.npz"
    previous = {"epoch": 1, "w": np.arange(1000, dtype=np.float64)}
    mg.save(previous, path)
    before = path.read_bytes()

    error, message = failure(monkeypatch)
    new = {"epoch": 2, "w": np.ones((200, 200)), "v": np.zeros(5000)}
    with pytest.raises(error, match=message):
        mg.save(new, path)
    with pytest.raises(error, match=message):
        mg.save(new, tmp_path / "fresh.npz")  # no previous file: none is created
    monkeypatch.undo()

    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["ckpt.npz"]  # no temporary files left behind
    assert_same(previous, mg.load(path))


KILLED_CHILD = textwrap.dedent(
    """
    import sys, time
    import numpy as np
    import minigrad as mg

    real_savez = np.savez

    class Slow:  # pauses the save once 16 MB of the new checkpoint are on disk
        def __init__(self, f):
            self._f, self._written = f, 0

        def write(self, data):
            n = self._f.write(data)
            self._written += len(data)
            if self._written >= 16 << 20:
                self._f.flush()
                print("MIDWAY", flush=True)
                time.sleep(600)
            return n

        def __getattr__(self, name):
            return getattr(self._f, name)

    np.savez = lambda f, *a, **k: real_savez(Slow(f), *a, **k)
    big = {f"w{i}": np.full(1 << 20, float(i), dtype=np.float32) for i in range(12)}  # 48 MB
    mg.save({"model": big, "epoch": 2}, sys.argv[1])
    print("FINISHED", flush=True)
    """
)


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL (POSIX)")
def test_sigkill_mid_save_keeps_the_previous_checkpoint(tmp_path):
    path = tmp_path / "ckpt.npz"
    previous = {"model": {"w0": np.arange(10, dtype=np.float32)}, "epoch": 1}
    mg.save(previous, path)
    before = path.read_bytes()

    child = subprocess.Popen([sys.executable, "-c", KILLED_CHILD, str(path)], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    try:
        ready, _, _ = select.select([child.stdout], [], [], 120)
        line = child.stdout.readline() if ready else ""
        stderr = child.stderr.read() if child.poll() is not None else ""
        assert line.strip() == "MIDWAY", f"child did not reach mid-save: {line!r} {stderr}"
        temps = [name for name in os.listdir(tmp_path) if name != "ckpt.npz"]
        assert len(temps) == 1 and temps[0].startswith(".ckpt.npz.") and temps[0].endswith(".tmp")
        assert os.path.getsize(tmp_path / temps[0]) >= 16 << 20  # the new checkpoint is half written
        assert path.read_bytes() == before
        os.kill(child.pid, signal.SIGKILL)
        assert child.wait(timeout=60) == -signal.SIGKILL
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        child.stdout.close()
        child.stderr.close()

    assert path.read_bytes() == before
    assert_same(previous, mg.load(path))
    # The killed save left its partial temporary file; it never replaced the checkpoint and is not loadable.
    with pytest.raises(ValueError, match=re.escape(temps[0]) + ".*truncated"):
        mg.load(tmp_path / temps[0])


# -- errors -----------------------------------------------------------------
def test_load_missing_file(tmp_path):
    path = tmp_path / "nope.npz"
    with pytest.raises(FileNotFoundError, match=re.escape(str(path))):
        mg.load(path)


def test_load_a_folder(tmp_path):
    with pytest.raises(IsADirectoryError, match="is a folder"):
        mg.load(tmp_path)


@pytest.mark.parametrize(
    "content, why",
    [
        (b"epoch: 3\nloss: 0.1\n", "not an .npz"),
        (b"", "empty"),
        (b"\x80\x04\x95 pickle bytes", "not an .npz"),
    ],
)
def test_load_non_npz_files(tmp_path, content, why):
    path = tmp_path / "notes.npz"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=re.escape(str(path)) + ".*not a minigrad checkpoint.*" + why):
        mg.load(path)


def test_load_npy_file(tmp_path):
    path = tmp_path / "array.npy"
    np.save(path, np.arange(3))
    with pytest.raises(ValueError, match=re.escape(str(path)) + ".*single-array .npy"):
        mg.load(path)


def test_load_truncated_npz(tmp_path):
    full = tmp_path / "full.npz"
    mg.save({"w": np.arange(10000.0), "epoch": 3}, full)
    data = full.read_bytes()
    for cut in (len(data) // 2, len(data) - 10):
        path = tmp_path / "truncated.npz"
        path.write_bytes(data[:cut])
        with pytest.raises(ValueError, match=re.escape(str(path)) + ".*truncated"):
            mg.load(path)


def test_load_corrupt_entry(tmp_path):
    path = tmp_path / "ckpt.npz"
    mg.save({"w": np.zeros(10000)}, path)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF  # inside the array's bytes: the zip CRC no longer matches
    path.write_bytes(bytes(data))
    with pytest.raises(ValueError, match=re.escape(str(path)) + ".*entry 'a0' is corrupt.*CRC"):
        mg.load(path)


def test_load_npz_without_structure(tmp_path):
    path = tmp_path / "plain.npz"
    np.savez(path, weights=np.ones(3))
    with pytest.raises(ValueError, match=re.escape(str(path)) + ".*no '__minigrad__' structure entry.*'weights'"):
        mg.load(path)


def test_load_newer_format_version(tmp_path):
    path = tmp_path / "future.npz"
    header = {"format": "minigrad-checkpoint", "version": 99, "root": {"t": "none"}}
    np.savez(path, **{STRUCTURE_ENTRY: np.frombuffer(json.dumps(header).encode(), np.uint8)})
    with pytest.raises(ValueError, match="version 99.*upgrade minigrad"):
        mg.load(path)


def test_load_bad_structure_names_the_place(tmp_path):
    path = tmp_path / "bad.npz"
    header = {"format": "minigrad-checkpoint", "version": 1,
              "root": {"t": "dict", "items": [[["s", "w"], {"t": "array", "ref": "a7"}]]}}
    np.savez(path, **{STRUCTURE_ENTRY: np.frombuffer(json.dumps(header).encode(), np.uint8)})
    with pytest.raises(ValueError, match=re.escape(str(path)) + ".*at w: .*'a7'"):
        mg.load(path)


@pytest.mark.parametrize(
    "obj, error, message",
    [
        ({"optimizer": {"state": {0: {"step": object()}}}}, TypeError, r"object at optimizer\.state\.0\.step"),
        ({"vocab": ["a", "b", {"c"}]}, TypeError, r"builtins\.set at vocab\.2"),
        ({"fn": len}, TypeError, r"at fn;"),
        ({"w": np.array([1, "a", None], dtype=object)}, TypeError, r"array at w has dtype object"),
        ({"model": {(0, 1): np.ones(1)}}, TypeError, r"str or int, got the tuple key \(0, 1\) in model"),
        ({"flags": {True: 1}}, TypeError, r"got the bool key True in flags"),
        (object(), TypeError, r"at <top level>"),
    ],
)
def test_save_unsupported_objects_name_the_key_path(tmp_path, obj, error, message):
    path = tmp_path / "ckpt.npz"
    with pytest.raises(error, match=message):
        mg.save(obj, path)
    assert os.listdir(tmp_path) == []  # nothing is written


def test_save_reference_cycle(tmp_path):
    obj = {"a": [1]}
    obj["a"].append(obj)
    with pytest.raises(ValueError, match=r"reference cycle\) at a\.1"):
        mg.save(obj, tmp_path / "c.npz")


def test_save_into_a_missing_folder(tmp_path):
    path = tmp_path / "no_such_dir" / "ckpt.npz"
    with pytest.raises(FileNotFoundError, match=re.escape(str(tmp_path / "no_such_dir")) + ".*does not exist"):
        mg.save({"a": 1}, path)


def test_save_onto_a_folder(tmp_path):
    (tmp_path / "ckpt.npz").mkdir()
    with pytest.raises(IsADirectoryError, match="is a folder"):
        mg.save({"a": 1}, tmp_path / "ckpt.npz")
    assert os.listdir(tmp_path) == ["ckpt.npz"]


def test_saved_file_permissions_follow_the_umask(tmp_path):
    if os.name != "posix":
        pytest.skip("POSIX permissions")
    old = os.umask(0o022)
    try:
        mg.save({"a": 1}, tmp_path / "ckpt.npz")
    finally:
        os.umask(old)
    assert (os.stat(tmp_path / "ckpt.npz").st_mode & 0o777) == 0o644


def test_zip_entries_are_stored_files(tmp_path):
    """Each array is an ordinary ``<name>.npy`` member: other tools can read the checkpoint."""
    path = tmp_path / "ckpt.npz"
    mg.save({"w": np.ones(2), "b": np.zeros(1)}, path)
    with zipfile.ZipFile(path) as z:
        assert sorted(z.namelist()) == ["__minigrad__.npy", "a0.npy", "a1.npy"]
