"""The seed example (the lecture notes' worked example) and the example runner's shared behaviour."""

from __future__ import annotations

import json

import click
import pytest
from click.testing import CliRunner

import minigrad as mg
from minigrad.cli import example_names, load_example, main
from minigrad.runner import Run


def run_cli(*args: str):
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_seed_prints_shapes_counts_and_bptt(tmp_path):
    metrics = tmp_path / "m.json"
    out = run_cli("run", "seed", "--metrics", str(metrics))
    assert "shape (3, 5) (timesteps, features)" in out
    assert "batch shape (3, 4, 5)" in out
    assert "parameters, notes' network: 31" in out
    assert "parameters, nn.RNN + nn.Linear: 34" in out
    data = json.loads(metrics.read_text())
    assert data["params_notes"] == 15 + 9 + 3 + 3 + 1
    assert data["params_layers"] == 15 + 9 + 3 + 3 + 3 + 1
    assert data["bptt_max_difference"] < 1e-6
    assert data["train_accuracy"] == 1.0
    # the positive review is predicted positive by both networks, the negatives negative
    for probs in data["predictions"].values():
        assert probs[0] > 0.5 > max(probs[1:])


def test_seed_bptt_terms_sum_to_autograd():
    seed = load_example("seed")
    x, lengths, y = seed.one_hot_batch()
    model = seed.NotesRNN()
    x0 = x[0:1, :3]
    mg.nn.functional.binary_cross_entropy_with_logits(model(x0, [3]), y[0:1]).backward()
    terms = seed.bptt_by_hand(model, x0, 1.0)
    assert [t for t, _ in terms] == [1, 2, 3]
    total = sum((term.numpy() for _, term in terms), start=0)
    assert abs(total - model.W_h.grad.numpy()).max() < 1e-6
    assert abs(terms[0][1].numpy()).max() == 0.0  # o_0 = 0: the first step contributes nothing


def test_quiet_prints_only_the_summary_line():
    out = run_cli("run", "seed", "--quiet")
    assert out.strip().count("\n") == 0 and out.startswith("seed: 31 and 34 parameters")


def test_examples_command_lists_every_example_with_a_description():
    out = run_cli("examples")
    for name in example_names():
        module = load_example(name)
        assert module.DESCRIPTION and module.DESCRIPTION in out
        assert callable(module.main)
    assert "benchmark" not in example_names()


def test_unknown_example_is_a_clear_error():
    result = CliRunner().invoke(main, ["run", "nope"])
    assert result.exit_code != 0
    assert "nope" in result.output


def test_ctrl_c_saves_the_last_completed_epoch(tmp_path):
    path = tmp_path / "ckpt.npz"
    model = mg.nn.Linear(2, 1)
    with pytest.raises(SystemExit) as exit_info, Run("demo", epochs=5, save=str(path), quiet=True) as run:
        run.track(model=model)
        for epoch in run.epochs():
            if epoch == 2:
                saved = {k: v.copy() for k, v in model.state_dict().items()}
                model.load_state_dict({k: v + 1 for k, v in saved.items()})  # a half-done epoch
                raise KeyboardInterrupt
    assert exit_info.value.code == 130
    state = mg.load(str(path))
    assert state["epoch"] == 2 and state["example"] == "demo"
    for k, v in saved.items():
        assert (state["model"][k] == v).all()


def test_resume_refuses_another_examples_checkpoint(tmp_path):
    path = tmp_path / "ckpt.npz"
    mg.save({"example": "other", "epoch": 1}, str(path))
    refused = pytest.raises(click.ClickException, match="a checkpoint of 'other', not of 'demo'")
    with refused, Run("demo", resume=str(path), quiet=True) as run:  # refused on entering the run
        run.track(model=mg.nn.Linear(2, 1))


def test_unavailable_backend_is_a_clear_error_without_traceback(monkeypatch):
    import backends

    def broken():
        raise RuntimeError("no device here")

    monkeypatch.setattr(backends, "_factories", {**backends._factories, "broken": broken})
    monkeypatch.setattr(backends, "_errors", {})
    result = CliRunner().invoke(main, ["run", "seed", "--backend", "broken"])
    assert result.exit_code != 0
    assert "backend 'broken' is not available: no device here" in result.output
    assert "Traceback" not in result.output
