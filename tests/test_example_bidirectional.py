"""The bidirectional example: a tagging task that needs the future, forward-only vs bidirectional."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

import minigrad as mg
from minigrad.cli import load_example, main

# small and fast (a few seconds), still clearly separating the two kinds of network
SMALL = ["--train-size", "500", "--valid-size", "200", "--batch-size", "25", "--max-len", "10",
         "--hidden", "12", "--lr", "0.05", "--seed", "0"]


def run_cli(*args: str) -> str:
    result = CliRunner().invoke(main, ["run", "bidirectional", *args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture(scope="module")
def small_run(tmp_path_factory):
    """One small training run shared by the tests that only read its outputs."""
    folder = tmp_path_factory.mktemp("bidirectional")
    paths = {k: folder / name for k, name in (("metrics", "m.json"), ("plot", "p.png"), ("save", "c.npz"))}
    out = run_cli(*SMALL, "--epochs", "4", "--metrics", str(paths["metrics"]), "--plot", str(paths["plot"]),
                  "--save", str(paths["save"]))
    return out, json.loads(paths["metrics"].read_text()), paths


def test_bidirectional_clearly_beats_forward_only(small_run):
    _, m, _ = small_run
    assert m["valid_accuracy"] >= 0.9
    assert m["valid_accuracy"] >= m["forward_valid_accuracy"] + 0.15
    # forward-only cannot beat the best guess from the past (up to the noise of 200 sequences)
    assert m["forward_valid_accuracy"] <= m["forward_ceiling"] + 0.03
    assert 1 / 3 < m["forward_ceiling"] < 0.8
    assert m["merge_modes"]["concat"] >= 0.9  # the wrapper's concat is the built-in layer's architecture
    # the other merge modes learn the task too, though with tanh cells they may need more epochs
    assert max(m["merge_modes"].values()) >= 0.9
    assert all(0 <= acc <= 1 for acc in m["merge_modes"].values())


def test_metrics_keys_summary_and_plot(small_run):
    out, m, paths = small_run
    for key in ("valid_accuracy", "forward_valid_accuracy", "forward_ceiling", "merge_modes", "parameters", "history"):
        assert key in m
    assert set(m["merge_modes"]) == {"concat", "sum", "mul", "ave"}
    assert m["example"] == "bidirectional" and len(m["history"]) == 4 and m["cell"] == "rnn"
    assert paths["plot"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    summary = out.strip().splitlines()[-1]
    assert summary.startswith("bidirectional: per-token validation accuracy")
    assert f"{100 * m['valid_accuracy']:.1f}%" in summary
    # concat doubles the width the head sees; sum/mul/ave keep one direction's width
    p = m["parameters"]
    assert p["bidirectional"] == p["concat"] > p["sum"] == p["mul"] == p["ave"]


def test_checkpoint_loads_and_resume_at_the_end_reproduces_the_result(small_run, tmp_path):
    _, m, paths = small_run
    state = mg.load(str(paths["save"]))
    assert state["example"] == "bidirectional" and state["epoch"] == 4
    for name in ("forward", "bidirectional", "concat", "sum", "mul", "ave"):
        assert "rnn.weight_hh_l0" in state[name] or "rnn.forward_layer.weight_hh_l0" in state[name]
        assert f"optimizer_{name}" in state
    assert "rnn.weight_hh_l0_reverse" in state["bidirectional"]
    again = tmp_path / "again.json"
    run_cli(*SMALL, "--epochs", "4", "--resume", str(paths["save"]), "--metrics", str(again), "--quiet")
    resumed = json.loads(again.read_text())
    assert resumed["valid_accuracy"] == m["valid_accuracy"]
    assert resumed["merge_modes"] == m["merge_modes"]


def test_tags_look_both_ways():
    bi = load_example("bidirectional")
    A, B = bi.A, bi.B
    c = 3
    seq = [c, A, c, c, B, c, c]
    tags = [bi.MARKS[t // 3] + bi.MARKS[t % 3] for t in bi.tags_of(seq)]
    assert tags == ["-A", "-B", "AB", "AB", "A-", "B-", "B-"]


def test_data_is_padded_with_ignored_targets():
    bi = load_example("bidirectional")
    ids, lengths, tags = bi.make_data(50, 3, 9, 0.1, np.random.default_rng(1))
    assert ids.shape == tags.shape == (50, max(lengths))
    for i, n in enumerate(lengths):
        assert (ids[i, n:] == bi.PAD).all() and (tags[i, n:] == bi.IGNORE).all()
        assert (ids[i, :n] != bi.PAD).all() and (tags[i, :n] >= 0).all()
        assert list(tags[i, :n]) == bi.tags_of(ids[i, :n].tolist())


def test_forward_ceiling_limits():
    bi = load_example("bidirectional")
    # almost no markers: "none after" is nearly always right, so the past almost suffices
    ids, lengths, tags = bi.make_data(100, 3, 9, 0.001, np.random.default_rng(2))
    assert bi.forward_ceiling(lengths, tags, 3, 9, 0.001) > 0.95
    ids, lengths, tags = bi.make_data(200, 3, 9, 0.2, np.random.default_rng(2))
    assert bi.forward_ceiling(lengths, tags, 3, 9, 0.2) < 0.6


def test_padded_batch_tags_as_each_sequence_alone():
    """The example's networks use lengths=, so padding cannot change any real token's logits."""
    bi = load_example("bidirectional")
    mg.manual_seed(3)
    models = bi.build_models("gru", embed=4, hidden=5)
    ids, lengths, _ = bi.make_data(4, 2, 7, 0.2, np.random.default_rng(3))
    with mg.no_grad():
        for name in ("bidirectional", "concat", "mul"):
            batch = models[name](ids, lengths).numpy()
            for i, n in enumerate(lengths):
                alone = models[name](ids[i:i + 1, :n], [n]).numpy()[0]
                np.testing.assert_allclose(batch[i, :n], alone, rtol=1e-5, atol=1e-6, err_msg=name)
