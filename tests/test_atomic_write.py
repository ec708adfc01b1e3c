"""Every file minigrad writes goes through ``minigrad.io.atomic_write``: a failure part-way leaves the old file
as it was and no temporary file behind, and a new file gets a normal file's permissions (0o666 less the umask)."""

from __future__ import annotations

import os
from pathlib import Path

import click
import pytest

import minigrad as mg
from minigrad.cli import load_example
from minigrad.data import Vocab
from minigrad.io import write_text_atomic
from minigrad.metrics import classification_report, plot_confusion_matrix
from minigrad.runner import Run, write_json_atomic


def _metrics(path: str, v: int) -> None:
    Run("demo", metrics=path, quiet=True).finish(f"demo {v}", v=v)


def _inspector_plot(path: str, v: int) -> None:
    layer = mg.nn.RNN(2, 3)
    with mg.nn.BPTTInspector(layer) as inspector:
        output, _ = layer(mg.randn(1, 4, 2))
        output[:, -1].sum().backward()
    inspector.plot(path, title=f"version {v}")


def _example_plot(name: str, v: int):
    """A call of an example's plot writer with small made-up figures."""
    module = load_example(name)
    history = [{"epoch": e, "train_bpc": 3.0 - e, "valid_bpc": 3.1 - e, "valid_accuracy": 0.5 + e / 10,
                "train_accuracy": 0.6 + e / 10} for e in (1, 2)]
    if name == "charlm":
        return lambda path: module.plot_curves(path, history, 3.5 + v)
    if name == "sentiment":
        return lambda path: module.plot_curves(path, history, 0.5 + v / 10, "lstm")
    if name == "bidirectional":
        return lambda path: module.plot_bars(path, {"forward": 0.5, "bidirectional": 0.9, "sum": 0.8}, 0.6, "rnn")
    acc = {kind: {"5": 0.9 - v / 10} for kind in module.KINDS}  # memory
    return lambda path: module.plot_accuracy(path, [5], acc, {"5": 0.5})


WRITERS = {
    "checkpoint (mg.save, --save)": ("ck.npz", lambda path, v: mg.save({"v": v}, path)),
    "metrics JSON (--metrics)": ("m.json", _metrics),
    "write_json_atomic": ("rows.json", lambda path, v: write_json_atomic(path, {"v": v})),
    "text (write_text_atomic, --output)": ("p.tsv", lambda path, v: write_text_atomic(path, f"v{v}\n")),
    "Vocab.save": ("vocab.json", lambda path, v: Vocab.build([f"word{v}"]).save(path)),
    "plot_confusion_matrix": ("cm.png", lambda path, v: plot_confusion_matrix(
        path, classification_report([0, 1, v], [0, 1, 1], ["a", "b"]))),
    "BPTTInspector.plot": ("g.png", _inspector_plot),
    **{f"{name} --plot": (f"{name}.png", lambda path, v, name=name: _example_plot(name, v)(path))
       for name in ("charlm", "sentiment", "bidirectional", "memory")},
}
PLOTS = {"plot_confusion_matrix", "BPTTInspector.plot"} | {k for k in WRITERS if k.endswith("--plot")}


@pytest.fixture(params=list(WRITERS))
def writer(request, tmp_path):
    """``(path, write(path, version))`` for each writer."""
    if request.param in PLOTS:
        pytest.importorskip("matplotlib")
    name, write = WRITERS[request.param]
    return str(tmp_path / name), write


@pytest.fixture
def umask():
    """Run with umask 0o027 (not the usual 0o022, so that the test tells the umask's effect apart)."""
    old = os.umask(0o027)
    yield 0o027
    os.umask(old)


def test_a_failure_part_way_leaves_the_old_file_and_no_temporary_file(writer, monkeypatch):
    path, write = writer
    write(path, 0)
    before = Path(path).read_bytes()

    def full_disk(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", full_disk)  # the new content is written, not yet made durable nor renamed
    with pytest.raises((OSError, click.ClickException), match="No space left on device"):
        write(path, 1)
    assert Path(path).read_bytes() == before
    assert os.listdir(os.path.dirname(path)) == [os.path.basename(path)]


def test_a_new_file_has_normal_permissions(writer, umask):
    path, write = writer
    write(path, 0)
    assert os.stat(path).st_mode & 0o777 == 0o666 & ~umask  # 0o640, not a temporary file's 0o600
    assert os.listdir(os.path.dirname(path)) == [os.path.basename(path)]


def test_an_error_inside_the_writer_leaves_the_old_file(tmp_path):
    path = tmp_path / "m.json"
    write_json_atomic(path, {"v": 0})
    with pytest.raises(TypeError):
        write_json_atomic(path, {"v": object()})  # json.dump fails half-way through the text
    assert path.read_text() == '{\n  "v": 0\n}\n'
    assert os.listdir(tmp_path) == ["m.json"]


def test_no_other_temporary_file_writer_is_left():
    """The duplicates are gone: the runner and the vocabulary write through atomic_write."""
    import inspect

    import minigrad.data.vocab
    import minigrad.runner

    for module in (minigrad.runner, minigrad.data.vocab):
        source = inspect.getsource(module)
        assert "mkstemp" not in source and "os.replace" not in source and "atomic_write" in source


@pytest.mark.parametrize("moment", ["file_created", "before_the_file"])
def test_an_interrupt_as_the_temporary_file_is_created_leaves_none(tmp_path, monkeypatch, moment):
    """Ctrl-C can arrive at any instruction: also between the temporary file's creation and the moment its
    name is held (the window that a SIGINT at random moments during a training run once hit)."""
    import minigrad.io as mio

    target = tmp_path / "ck.txt"
    target.write_text("old")
    create = mio._create_new

    def interrupted(path):
        if moment == "file_created":
            os.close(create(path))  # the file exists, and the interrupt comes before its fd is returned
        raise KeyboardInterrupt

    monkeypatch.setattr(mio, "_create_new", interrupted)
    with pytest.raises(KeyboardInterrupt):
        write_text_atomic(target, "new")
    assert target.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ck.txt"]
