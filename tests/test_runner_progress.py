"""Progress lines of ``Run.progress`` when stderr is a log (not a terminal)."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from minigrad import runner
from minigrad.cli import main
from minigrad.runner import PROGRESS_ENV, Run

ROOT = Path(__file__).resolve().parents[1]
LINE = re.compile(r"^  (?P<label>.+?): (?P<done>\d+)/(?P<total>\d+) \((?P<percent>\d+)%\)"
                  r"  elapsed (?P<elapsed>\d+:\d\d)  ETA (?P<eta>\d+:\d\d)"
                  r"  (?P<rate>[\d.]+) (?P<unit>batches|steps)/s(?:  (?P<tokens>\d+) tokens/s)?$")


class Log(io.StringIO):
    """A stderr that is not a terminal and counts its flushes."""

    flushes = 0

    def flush(self) -> None:
        self.flushes += 1
        super().flush()


def log_to(monkeypatch, stream: Log | None = None) -> Log:
    """Make ``stream`` (default: a new :class:`Log`) the stderr (in the test body: pytest resets it between phases)."""
    stream = Log() if stream is None else stream
    monkeypatch.setattr(sys, "stderr", stream)
    return stream


@pytest.fixture
def clock(monkeypatch):
    """A fake clock for the runner (its ``perf_counter``); the test moves it with ``clock[0] += seconds``."""
    now = [100.0]
    monkeypatch.setattr(runner, "perf_counter", lambda: now[0])
    return now


def test_a_line_per_item_with_every_field(clock, monkeypatch):
    log = log_to(monkeypatch)
    monkeypatch.setenv(PROGRESS_ENV, "0")
    with Run("demo") as run:
        for _ in run.progress(range(4), label="epoch 1", count=lambda i: 10 * (i + 1)):
            clock[0] += 2.0  # each item takes 2 s
    lines = log.getvalue().splitlines()
    fields = [LINE.match(ln) for ln in lines]
    assert all(fields), lines
    assert [f["label"] for f in fields] == ["epoch 1"] * 4
    assert [(int(f["done"]), int(f["total"]), int(f["percent"])) for f in fields] == [
        (1, 4, 25), (2, 4, 50), (3, 4, 75), (4, 4, 100)]
    assert [f["elapsed"] for f in fields] == ["0:02", "0:04", "0:06", "0:08"]
    assert [f["eta"] for f in fields] == ["0:06", "0:04", "0:02", "0:00"]
    assert {f["rate"] for f in fields} == {"0.50"}
    # tokens: 10, 30, 60, 100 after 2, 4, 6, 8 s
    assert [f["tokens"] for f in fields] == ["5", "8", "10", "12"]
    assert log.flushes >= 4


def test_by_default_a_line_every_ten_seconds_and_at_the_end(clock, monkeypatch):
    log = log_to(monkeypatch)
    monkeypatch.delenv(PROGRESS_ENV, raising=False)
    with Run("demo") as run:
        for _ in run.progress(list(range(10)), label="train"):
            clock[0] += 4.0
    fields = [LINE.match(ln) for ln in log.getvalue().splitlines()]
    assert all(fields)
    assert [int(f["done"]) for f in fields] == [3, 6, 9, 10]  # after 12, 24, 36 s, then the end at 40 s
    assert fields[-1]["elapsed"] == "0:40" and fields[-1]["tokens"] is None


def test_the_interval_comes_from_the_environment(clock, monkeypatch):
    log = log_to(monkeypatch)
    monkeypatch.setenv(PROGRESS_ENV, "25")
    with Run("demo") as run:
        for _ in run.progress(range(10), label="train"):
            clock[0] += 4.0
    assert [int(LINE.match(ln)["done"]) for ln in log.getvalue().splitlines()] == [7, 10]


def test_unknown_length_and_a_short_loop(clock, monkeypatch):
    log = log_to(monkeypatch)
    monkeypatch.delenv(PROGRESS_ENV, raising=False)
    with Run("demo") as run:
        for _ in run.progress((i for i in range(3)), label="stream"):
            clock[0] += 1.0
        assert list(run.progress(range(2), label="given", length=2)) == [0, 1]
    lines = log.getvalue().splitlines()
    assert lines[0] == "  stream: 3  elapsed 0:03  1.00 batches/s"  # no total: no percentage, no ETA
    assert lines[1].startswith("  given: 2/2 (100%)  elapsed 0:00  ETA 0:00") and len(lines) == 2


def test_quiet_and_terminal_print_no_lines(clock, monkeypatch):
    monkeypatch.setenv(PROGRESS_ENV, "0")
    quiet = log_to(monkeypatch)
    with Run("demo", quiet=True) as run:
        assert list(run.progress(range(3), label="epoch 1")) == [0, 1, 2]
    assert quiet.getvalue() == ""

    class Terminal(Log):
        def isatty(self) -> bool:
            return True

    terminal = log_to(monkeypatch, Terminal())
    with Run("demo") as run:
        assert list(run.progress(range(3), label="epoch 1")) == [0, 1, 2]
    assert "batches/s" not in terminal.getvalue()  # a bar, not log lines


@pytest.mark.parametrize("value", ["abc", "-1", "nan"])
def test_an_invalid_interval_is_a_one_line_error(value, monkeypatch):
    monkeypatch.setenv(PROGRESS_ENV, value)
    with pytest.raises(click.ClickException, match=f"{PROGRESS_ENV}='{value}'"):
        Run("demo")
    result = CliRunner().invoke(main, ["run", "seed"])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert result.output.strip() == f"Error: {PROGRESS_ENV}='{value}': expected a number of seconds >= 0"


def test_progress_lines_in_the_log_of_a_real_run(tmp_path):
    env = {**os.environ, PROGRESS_ENV: "0"}
    log = tmp_path / "run.log"
    with log.open("w") as f:
        proc = subprocess.run([sys.executable, "-m", "minigrad", "run", "sentiment", "--epochs", "1",
                               "--train-size", "300", "--valid-size", "100"],
                              stdout=f, stderr=subprocess.STDOUT, cwd=ROOT, env=env, timeout=300, check=False)
    text = log.read_text()
    assert proc.returncode == 0, text
    fields = [m for m in map(LINE.match, text.splitlines()) if m and m["label"] == "epoch 1"]
    total = int(fields[-1]["total"])
    assert total >= 2  # 300 reviews in batches of 128
    assert [int(f["done"]) for f in fields] == list(range(1, total + 1))
    assert fields[-1]["percent"] == "100" and float(fields[-1]["rate"]) > 0
    assert text.strip().splitlines()[-1].startswith("sentiment: ")
