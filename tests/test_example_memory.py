"""The ``memory`` example at small size: the simple RNN forgets the cue over long gaps, LSTM and GRU keep it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from minigrad.cli import load_example, main

# 3 epochs of 50 steps, T = 3 and T = 40: about 10 s on a 2-core machine
SMALL = ["--lengths", "3,40", "--epochs", "3", "--steps-per-epoch", "50", "--seed", "0"]
TINY = ["--lengths", "2,4", "--epochs", "2", "--steps-per-epoch", "3", "--hidden", "4", "--batch", "8"]
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def run_example(*args: str) -> str:
    result = CliRunner().invoke(main, ["run", "memory", *args])
    assert result.exit_code == 0, result.output + repr(result.exception)
    return result.output


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> tuple[str, dict, Path]:
    tmp = tmp_path_factory.mktemp("memory")
    metrics, plot = tmp / "metrics.json", tmp / "accuracy.png"
    out = run_example(*SMALL, "--metrics", str(metrics), "--plot", str(plot))
    return out, json.loads(metrics.read_text()), plot


def test_rnn_forgets_over_long_gaps_lstm_and_gru_remember(trained):
    _, m, _ = trained
    acc, chance = m["valid_accuracy"], m["chance"]
    assert set(acc) == {"rnn_tanh", "lstm", "gru"} and m["lengths"] == [3, 40] and m["steps"] == 150
    assert all(0.4 <= chance[T] <= 0.6 for T in ("3", "40"))
    for kind in ("rnn_tanh", "lstm", "gru"):
        assert acc[kind]["3"] >= 0.9, (kind, acc)  # a short gap: every model learns the task
    assert acc["rnn_tanh"]["40"] <= 0.65, acc  # 40 steps back: the simple RNN is near chance
    assert acc["lstm"]["40"] >= 0.9 and acc["gru"]["40"] >= 0.9, acc
    assert len(m["history"]) == 3 and set(m["history"][-1]["valid_accuracy"]) == {
        f"{kind}_T{T}" for kind in ("rnn_tanh", "lstm", "gru") for T in (3, 40)
    }


def test_prints_progress_table_and_summary(trained):
    out, m, _ = trained
    lines = out.splitlines()
    assert lines[0].startswith("task: the label is the first token")
    assert sum(ln.startswith("epoch ") for ln in lines) == 3 * 2  # one line per epoch and T
    header = lines.index(next(ln for ln in lines if ln.split() == ["T", "rnn_tanh", "lstm", "gru", "chance"]))
    row = lines[header + 2].split()
    assert row[0] == "40"
    assert [float(v) for v in row[1:4]] == [pytest.approx(m["valid_accuracy"][k]["40"], abs=1e-3)
                                            for k in ("rnn_tanh", "lstm", "gru")]
    assert lines[-1].startswith("memory: valid accuracy at T=40: rnn_tanh ")
    assert "(chance " in lines[-1] and "150 steps" in lines[-1]


def test_plot_is_a_png(trained):
    _, _, plot = trained
    assert plot.read_bytes()[:8] == PNG_MAGIC


def test_quiet_prints_only_the_summary():
    result = CliRunner().invoke(load_example("memory").main, [*TINY, "--quiet"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [result.output.strip()] and result.output.startswith("memory: ")


def test_save_and_resume_continue_exactly(tmp_path):
    ckpt, full, resumed, again = (tmp_path / n for n in ("ckpt.npz", "full.json", "resumed.json", "again.json"))
    run_example(*TINY, "--quiet", "--metrics", str(full))
    run_example(*TINY, "--epochs", "1", "--quiet", "--save", str(ckpt))  # the last --epochs counts
    run_example(*TINY, "--quiet", "--resume", str(ckpt), "--save", str(ckpt), "--metrics", str(resumed))
    a, b = json.loads(full.read_text()), json.loads(resumed.read_text())
    assert b["valid_accuracy"] == a["valid_accuracy"] and b["history"] == a["history"]
    # a finished checkpoint: nothing left to train, the same models are evaluated
    run_example(*TINY, "--quiet", "--resume", str(ckpt), "--metrics", str(again))
    c = json.loads(again.read_text())
    assert c["valid_accuracy"] == a["valid_accuracy"] and sum(c["train_seconds"].values()) == 0


def test_resume_refuses_other_settings(tmp_path):
    ckpt = tmp_path / "ckpt.npz"
    run_example(*TINY, "--quiet", "--save", str(ckpt))
    result = CliRunner().invoke(main, ["run", "memory", *TINY, "--hidden", "5", "--resume", str(ckpt)])
    assert result.exit_code != 0 and "was made with" in result.output


@pytest.mark.parametrize("lengths", ["", "5,x", "0,3"])
def test_bad_lengths_are_a_usage_error(lengths):
    result = CliRunner().invoke(main, ["run", "memory", "--lengths", lengths])
    assert result.exit_code == 2 and "--lengths" in result.output
