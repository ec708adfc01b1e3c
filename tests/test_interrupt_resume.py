"""Ctrl-C at any moment, then ``--resume``: the same final weights as a run never interrupted.

``minigrad run charlm`` is started in a subprocess, sent SIGINT at a random moment (a seeded delay,
but any delay must pass), resumed, interrupted again and resumed to the end. Its last checkpoint must
equal, bit for bit, that of an uninterrupted run: every parameter, the optimizer's state (Adam's step
counts and moments) and the per-epoch history. In-process tests pin down the two moments a random
delay rarely hits: between an epoch's log and its checkpoint, and inside a checkpoint's save.
"""

from __future__ import annotations

import os
import random
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import minigrad as mg
import minigrad.io
from minigrad.cli import load_example
from minigrad.runner import Run

EPOCHS = 8
# about 0.25 s an epoch here: the interrupts land inside training, evaluation, sampling or a save
CHARLM = ["--hidden", "32", "--embed", "16", "--batch-size", "8", "--bptt", "20", "--sample-length", "20",
          "--seed", "5", "--epochs", str(EPOCHS), "--quiet"]
TIMEOUT = 180  # seconds: a run that hangs fails the test (and is killed) instead of blocking it
INTERRUPTED = re.compile(r"interrupted: saved epoch (\d+) to ")


def assert_identical(a, b, where: str = "checkpoint") -> None:
    """Equal structure and leaves, arrays bitwise (same dtype, shape and bytes)."""
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        a, b = np.asarray(a), np.asarray(b)
        assert a.dtype == b.dtype and a.shape == b.shape, f"{where}: {a.dtype}{a.shape} vs {b.dtype}{b.shape}"
        assert np.array_equal(a, b) and a.tobytes() == b.tobytes(), f"{where}: arrays differ"
    elif isinstance(a, dict):
        assert isinstance(b, dict) and list(a) == list(b), f"{where}: keys {list(a)} vs {list(b)}"
        for k in a:
            assert_identical(a[k], b[k], f"{where}.{k}")
    elif isinstance(a, (list, tuple)):
        assert type(a) is type(b) and len(a) == len(b), f"{where}: {a!r} vs {b!r}"
        for i, (u, v) in enumerate(zip(a, b)):
            assert_identical(u, v, f"{where}[{i}]")
    else:
        assert type(a) is type(b) and a == b, f"{where}: {a!r} vs {b!r}"


@pytest.fixture(scope="module")
def small_text(tmp_path_factory):
    text = load_example("charlm").DEFAULT_TEXT.read_text(encoding="utf-8")
    path = tmp_path_factory.mktemp("text") / "small.txt"
    path.write_text(text[:4000], encoding="utf-8")
    return path


def charlm_command(text: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "minigrad", "run", "charlm", "--text", str(text), *CHARLM, *args]


def child_env() -> dict:
    return {k: v for k, v in os.environ.items() if not k.startswith("MINIGRAD_")}


def file_id(path: Path) -> tuple | None:
    """Changes whenever the file is replaced (an atomic save renames a new file over it)."""
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    return st.st_ino, st.st_mtime_ns, st.st_size


def start(cmd: list[str], cwd: Path, procs: list) -> subprocess.Popen:
    proc = subprocess.Popen(cmd, cwd=cwd, env=child_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    procs.append(proc)
    return proc


def wait_for_save(proc: subprocess.Popen, ckpt: Path, before: tuple | None) -> tuple | None:
    """Wait until ``ckpt`` differs from ``before`` (a new save) or the process has ended; the file's new id."""
    deadline = time.monotonic() + TIMEOUT
    while file_id(ckpt) == before and proc.poll() is None:
        assert time.monotonic() < deadline, "no checkpoint written in time"
        time.sleep(0.002)
    return file_id(ckpt)


def save_times(cmd: list[str], cwd: Path, ckpt: Path, procs: list) -> list[float]:
    """Run ``cmd`` to the end; the moments it saved ``ckpt`` (one per epoch)."""
    proc, seen, times = start(cmd, cwd, procs), file_id(ckpt), []
    while proc.poll() is None:
        now = wait_for_save(proc, ckpt, seen)
        if now != seen:
            times.append(time.monotonic())
            seen = now
    _, err = proc.communicate(timeout=TIMEOUT)
    assert proc.returncode == 0, err
    return times


def interrupt(cmd: list[str], cwd: Path, ckpt: Path, delay: float, procs: list) -> tuple[int, str, bool]:
    """Start ``cmd``, wait until it has written ``ckpt`` anew, wait ``delay`` seconds more and send SIGINT
    (unless it has finished by then). Returns ``(exit status, stderr, whether the signal was sent)``."""
    proc = start(cmd, cwd, procs)
    wait_for_save(proc, ckpt, file_id(ckpt))
    time.sleep(delay)
    sent = proc.poll() is None
    if sent:
        proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=TIMEOUT)
    return proc.returncode, err, sent


def check_interrupted(rc: int, err: str, sent: bool, ckpt: Path, last_epoch: int) -> int:
    """What the interrupted run left: a whole checkpoint, no temporary files; returns its epoch."""
    state = mg.load(str(ckpt))  # loads: never half-written
    epoch = state["epoch"]
    assert last_epoch <= epoch <= EPOCHS and len(state["history"]) == epoch
    assert [h["epoch"] for h in state["history"]] == list(range(1, epoch + 1))
    assert not [p.name for p in ckpt.parent.iterdir() if p.name.endswith(".tmp")]
    if rc == 130:  # stopped inside the run: it says which epoch it kept
        saved = INTERRUPTED.search(err)
        assert saved and int(saved.group(1)) == epoch, err
        assert "Traceback" not in err, err
    else:  # too late to stop training (or not sent): the run had finished; a signal while Python shuts
        # down ends it with -SIGINT, one just before it exits may go unnoticed (0)
        assert epoch == EPOCHS, (rc, err)
        assert rc == 0 or sent, (rc, err)
    return epoch


def test_sigint_at_random_moments_then_resume_matches_an_uninterrupted_run(small_text, tmp_path):
    full, ckpt = tmp_path / "full.npz", tmp_path / "ck.npz"
    rng = random.Random(20240611)  # fixed for a reproducible test; every delay must pass
    procs: list[subprocess.Popen] = []
    try:
        saved_at = save_times(charlm_command(small_text, "--save", str(full)), tmp_path, full, procs)
        assert len(saved_at) >= EPOCHS - 1  # saves closer than the file system's clock may merge
        epoch_seconds = float(np.median(np.diff(saved_at)))  # the delays follow this machine's speed

        # a fresh run, interrupted at a random moment after its first checkpoint
        rc, err, sent = interrupt(charlm_command(small_text, "--save", str(ckpt)), tmp_path, ckpt,
                                  rng.uniform(0, EPOCHS - 2) * epoch_seconds, procs)
        epoch = check_interrupted(rc, err, sent, ckpt, last_epoch=1)
        # resumed, and interrupted again after it has saved one more epoch (or at once when none was left)
        resume = charlm_command(small_text, "--resume", str(ckpt), "--save", str(ckpt))
        rc, err, sent = interrupt(resume, tmp_path, ckpt, rng.uniform(0, max(EPOCHS - epoch - 1, 1)) * epoch_seconds,
                                  procs)
        epoch = check_interrupted(rc, err, sent, ckpt, last_epoch=epoch)
        # resumed to the end
        done = subprocess.run(resume, cwd=tmp_path, env=child_env(), capture_output=True, text=True, timeout=TIMEOUT)
        assert done.returncode == 0, done.stderr
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()

    a, b = mg.load(str(full)), mg.load(str(ckpt))
    assert a["epoch"] == b["epoch"] == EPOCHS
    assert list(a["model"]) == list(b["model"])
    for name, value in a["model"].items():
        assert np.array_equal(value, b["model"][name]), name
    assert a["optimizer"]["state"][0]["step"] == b["optimizer"]["state"][0]["step"] > EPOCHS
    assert_identical(a["optimizer"], b["optimizer"], "optimizer")
    assert_identical(a["history"], b["history"], "history")
    assert_identical(a, b)  # and everything else the checkpoint holds


# -- the moments a random delay rarely hits -----------------------------------------------
class Counter(mg.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.w = mg.nn.Parameter(np.zeros(3, dtype=np.float32))


def train(tmp_path: Path, epochs: int, interrupt_at=None, resume: bool = False) -> None:
    """A tiny seeded run through :class:`Run` saving to ``tmp_path / "ck.npz"``; ``interrupt_at(epoch)``,
    called after each epoch's log, may raise KeyboardInterrupt."""
    model = Counter()
    opt = mg.optim.Adam(model.parameters(), lr=0.1)
    ckpt = str(tmp_path / "ck.npz")
    with Run("counter", epochs=epochs, quiet=True, save=ckpt, resume=ckpt if resume else None) as run:
        run.track(model=model, optimizer=opt, extra={"notes": ["start"]})
        for epoch in run.epochs():
            for _ in range(3):
                opt.zero_grad()
                loss = ((model.w - mg.randn(3)) ** 2).sum()  # draws from the per-epoch seed
                loss.backward()
                opt.step()
            run.log(epoch, loss=loss.item())
            if interrupt_at:
                interrupt_at(epoch)


def test_ctrl_c_between_an_epochs_log_and_its_checkpoint_keeps_the_previous_epoch_whole(tmp_path):
    full = tmp_path / "full"
    full.mkdir()
    train(full, 4)

    def stop(epoch):
        if epoch == 2:  # epoch 3 is logged, its checkpoint not written yet
            raise KeyboardInterrupt

    with pytest.raises(SystemExit) as exit_:
        train(tmp_path, 4, interrupt_at=stop)
    assert exit_.value.code == 130
    saved = mg.load(str(tmp_path / "ck.npz"))
    assert saved["epoch"] == 2
    assert [h["epoch"] for h in saved["history"]] == [1, 2]  # not epoch 3, which is not in the weights
    train(tmp_path, 4, resume=True)
    assert_identical(mg.load(str(full / "ck.npz")), mg.load(str(tmp_path / "ck.npz")))


def test_ctrl_c_inside_a_checkpoint_save_still_keeps_that_epoch(tmp_path, monkeypatch):
    full = tmp_path / "full"
    full.mkdir()
    train(full, 3)
    real_savez, calls = np.savez, []

    def savez(f, **entries):  # the second save (epoch 2) is interrupted half-way through writing
        calls.append(1)
        if len(calls) == 2:
            f.write(b"PK\x03\x04 half an archive")
            raise KeyboardInterrupt
        return real_savez(f, **entries)

    monkeypatch.setattr(minigrad.io.np, "savez", savez)
    with pytest.raises(SystemExit) as exit_:
        train(tmp_path, 3)
    assert exit_.value.code == 130
    monkeypatch.undo()
    assert len(calls) == 3  # epoch 1, epoch 2 (interrupted), epoch 2 again on the way out
    assert not [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    saved = mg.load(str(tmp_path / "ck.npz"))
    assert saved["epoch"] == 2 and len(saved["history"]) == 2
    train(tmp_path, 3, resume=True)
    assert_identical(mg.load(str(full / "ck.npz")), mg.load(str(tmp_path / "ck.npz")))
