"""The ``vanishing`` example at small size: the gradient through time vanishes, explodes or survives as taught."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from minigrad.cli import load_example, main

ROOT = Path(__file__).resolve().parents[1]
SMALL = ["--steps", "30", "--hidden", "16", "--batch", "8", "--every", "10", "--relu-scale", "4"]
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def run_example(*args: str) -> str:
    result = CliRunner().invoke(main, ["run", "vanishing", *SMALL, *args])
    assert result.exit_code == 0, result.output + repr(result.exception)
    return result.output


@pytest.fixture(scope="module")
def measured(tmp_path_factory) -> tuple[str, dict, Path]:
    """One measured run with --clip, its metrics and its plot."""
    tmp = tmp_path_factory.mktemp("vanishing")
    metrics, plot = tmp / "metrics.json", tmp / "grad_norms.png"
    out = run_example("--clip", "1.0", "--epochs", "4", "--metrics", str(metrics), "--plot", str(plot))
    return out, json.loads(metrics.read_text()), plot


def test_sigmoid_and_tanh_vanish_lstm_with_forget_bias_keeps_its_gradient(measured):
    _, m, _ = measured
    r = m["grad_ratio_first_to_last"]
    assert set(r) == {"rnn_sigmoid", "rnn_tanh", "rnn_relu", "rnn_relu_scaled", "lstm", "lstm_forget_bias", "gru"}
    assert r["rnn_sigmoid"] < 1e-3  # sigmoid' <= 1/4 at every one of 29 steps
    assert r["rnn_sigmoid"] < r["rnn_tanh"] < 1e-3  # tanh' <= 1: decays too, less
    assert r["lstm"] > 100 * r["rnn_sigmoid"]
    assert r["lstm_forget_bias"] > 1e-3 and r["lstm_forget_bias"] > 1e4 * r["rnn_tanh"]
    assert r["rnn_relu_scaled"] > 1e3  # W_hh x 4: factors above 1, the gradient explodes
    assert m["verdict"]["rnn_sigmoid"] == "vanishes" and m["verdict"]["rnn_relu_scaled"] == "explodes"
    norms = m["grad_norms"]["rnn_sigmoid"]
    assert len(norms) == 30 and norms[0] / norms[-1] == pytest.approx(r["rnn_sigmoid"])
    # the decay is monotone for the sigmoid RNN: every step back multiplies by a factor < 1
    assert all(a < b for a, b in zip(norms, norms[1:]))


def test_clipping_keeps_the_loss_finite(measured):
    _, m, _ = measured
    clip = m["clip"]
    assert clip["max_norm"] == 1.0 and clip["steps"] == 4
    assert clip["unclipped_loss_finite"] is False and clip["clipped_loss_finite"] is True
    assert clip["unclipped_first_nonfinite_step"] == 2
    for step in clip["history"]:
        assert step["grad_norm_before_clipping"] > 1e3
        assert step["grad_norm_after_clipping"] == pytest.approx(1.0, rel=1e-4)
    losses = [step["loss_clipped"] for step in clip["history"]]
    assert losses[-1] < losses[0]


def test_prints_the_table_ratios_and_summary(measured):
    out, m, _ = measured
    lines = out.splitlines()
    header = next(i for i, ln in enumerate(lines) if ln.split()[:1] == ["t"])
    assert lines[header].split() == ["t", "rnn_sigmoid", "rnn_tanh", "rnn_relu", "rnn_relu_scaled", "lstm",
                                     "lstm_forget_bias", "gru"]
    rows = [ln.split() for ln in lines[header + 1 : header + 5]]
    assert [int(r[0]) for r in rows] == [0, 10, 20, 29]  # every 10th step and the last
    assert float(rows[0][1]) == pytest.approx(m["grad_norms"]["rnn_sigmoid"][0], rel=1e-2)
    assert "ratio ||dL/dh_0|| / ||dL/dh_29||:" in lines
    assert any(ln.split()[:1] == ["rnn_sigmoid"] and ln.endswith("vanishes") for ln in lines)
    assert "unclipped: loss non-finite from step 2" in lines
    assert any(ln.startswith("clipped: loss finite at every step") for ln in lines)
    assert lines[-1].startswith("vanishing: ||dL/dh_0||/||dL/dh_29|| rnn_sigmoid ")
    assert "with clipping True" in lines[-1]


def test_plot_is_a_png(measured):
    _, _, plot = measured
    assert plot.read_bytes()[:8] == PNG_MAGIC


def test_quiet_prints_only_the_summary_and_same_seed_same_numbers():
    command = load_example("vanishing").main
    outputs = []
    for _ in range(2):
        result = CliRunner().invoke(command, [*SMALL, "--quiet", "--seed", "3"])
        assert result.exit_code == 0, result.output
        outputs.append(result.output)
    assert outputs[0] == outputs[1]
    assert len(outputs[0].splitlines()) == 1 and outputs[0].startswith("vanishing: ")


def test_save_and_resume_continue_the_clip_run_exactly(tmp_path):
    ckpt, full, resumed = tmp_path / "ckpt.npz", tmp_path / "full.json", tmp_path / "resumed.json"
    run_example("--clip", "1.0", "--epochs", "3", "--quiet", "--metrics", str(full))
    run_example("--clip", "1.0", "--epochs", "2", "--quiet", "--save", str(ckpt))
    run_example("--clip", "1.0", "--epochs", "3", "--quiet", "--resume", str(ckpt), "--metrics", str(resumed))
    a, b = json.loads(full.read_text()), json.loads(resumed.read_text())
    assert [h["loss_clipped"] for h in b["clip"]["history"]] == [h["loss_clipped"] for h in a["clip"]["history"]]
    assert len(b["clip"]["history"]) == 3


def test_resume_refuses_a_checkpoint_of_other_sizes(tmp_path):
    ckpt = tmp_path / "ckpt.npz"
    run_example("--quiet", "--save", str(ckpt))
    assert ckpt.exists()
    result = CliRunner().invoke(main, ["run", "vanishing", "--steps", "30", "--hidden", "8", "--resume", str(ckpt)])
    assert result.exit_code != 0 and "was made with" in result.output


def test_runs_as_a_script():
    result = subprocess.run([sys.executable, str(ROOT / "examples" / "vanishing.py"), "--help"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "--clip" in result.stdout and "--relu-scale" in result.stdout
