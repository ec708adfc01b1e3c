"""The seq2seq example: an encoder-decoder trained with teacher forcing, evaluated by greedy decoding."""

from __future__ import annotations

import json

import click
import numpy as np
import pytest
from click.testing import CliRunner

import minigrad as mg
from minigrad.cli import load_example, main

# about two seconds: sorting strings of 3-5 digits with a small LSTM
SMALL = ["--task", "sort", "--hidden", "32", "--train-size", "2000", "--valid-size", "200", "--max-len", "5",
         "--seed", "0"]


def run_cli(*args: str):
    result = CliRunner().invoke(main, ["run", "seq2seq", *args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result


@pytest.fixture(scope="module")
def s2s():
    return load_example("seq2seq")


@pytest.fixture(scope="module")
def small_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("seq2seq_run")
    metrics, plot = folder / "m.json", folder / "p.png"
    out = run_cli(*SMALL, "--epochs", "3", "--metrics", str(metrics), "--plot", str(plot)).output
    return out, json.loads(metrics.read_text()), plot


def test_short_run_learns_to_sort(small_run):
    out, m, plot = small_run
    assert m["example"] == "seq2seq" and m["task"] == "sort" and m["cell"] == "lstm"
    assert [h["epoch"] for h in m["history"]] == [1, 2, 3]
    assert m["history"][-1]["loss"] < m["history"][0]["loss"]
    # guessing gives 1 string in 10^3 or more; the digits of a sorted string are 10% right by chance
    assert m["valid_string_accuracy"] > 0.5
    assert m["valid_digit_accuracy"] > 0.8
    assert m["valid_string_accuracy"] == m["history"][-1]["valid_string_accuracy"]
    assert out.strip().splitlines()[-1].startswith("seq2seq: sort 3-5 digits, greedy decoding ")
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_shown_examples_are_judged_against_the_task(small_run):
    out, _, _ = small_run
    lines = out[out.index("greedy decoding of validation strings:"):].splitlines()[1:4]
    for line in lines:
        given, rest = line.split("->")
        written, mark = rest.rsplit(maxsplit=1)
        right = sorted(given.split()) == written.split()
        assert mark == ("right" if right else "wrong"), line


def test_encode_pads_and_shifts(s2s):
    b = s2s.encode([(3, 1, 4), (2, 7)], "reverse")
    assert b["lengths"].tolist() == [3, 2]
    assert b["src"].tolist() == [[3, 1, 4], [2, 7, s2s.BOS]]
    assert b["dec_in"].tolist() == [[s2s.BOS, 4, 1, 3], [s2s.BOS, 7, 2, s2s.EOS]]
    assert b["target"].tolist() == [[4, 1, 3, s2s.EOS], [7, 2, s2s.EOS, s2s.IGNORE]]
    assert s2s.encode([(3, 1, 4)], "sort")["target"].tolist() == [[1, 3, 4, s2s.EOS]]


def test_validation_strings_are_new(s2s):
    train, valid = s2s.make_split(300, 100, 2, 3, np.random.default_rng(0))
    assert len(train) == 300 and len(valid) == 100
    assert len(set(valid)) == 100 and not set(valid) & set(train)
    assert all(2 <= len(s) <= 3 for s in train + valid)


def test_too_few_new_strings_is_one_line(s2s):
    with pytest.raises(click.ClickException, match=r"--valid-size 20: strings of --min-len 1 to --max-len 1 "
                                                   r"digits gave only \d+ not already in the 100 training"):
        s2s.make_split(100, 20, 1, 1, np.random.default_rng(0))


@pytest.fixture
def model(s2s):
    mg.manual_seed(3)
    return s2s.Seq2Seq("gru", 6, 10).double()


def test_full_teacher_forcing_is_the_step_loop_fed_the_truth(s2s, model):
    b = s2s.encode([(3, 1, 4, 1, 5), (9, 2)], "reverse")
    whole = model(b["src"], b["lengths"], b["dec_in"]).numpy()
    stepped = s2s.scheduled_logits(model, b, 1.0, np.random.default_rng(0)).numpy()
    np.testing.assert_allclose(stepped, whole, rtol=1e-12, atol=1e-12)


def test_greedy_decoding_feeds_back_its_own_guesses(s2s, model):
    b = s2s.encode([(3, 1, 4, 1, 5), (9, 2), (0,)], "reverse")
    pred = s2s.greedy_decode(model, b["src"], b["lengths"], 6)
    # one teacher-forced call fed BOS and the greedy tokens reproduces each greedy choice
    fed = np.concatenate([np.full((3, 1), s2s.BOS), pred[:, :-1]], axis=1)
    again = model(b["src"], b["lengths"], fed).numpy().argmax(-1)
    for row, p in zip(again, pred):
        stop = list(p).index(s2s.EOS) + 1 if s2s.EOS in p else len(p)
        assert row[:stop].tolist() == p[:stop].tolist()
        assert (p[stop:] == s2s.EOS).all()  # EOS-padded after the first end token


def test_scheduled_sampling_trains(tmp_path):
    out = run_cli(*SMALL, "--epochs", "1", "--train-size", "300", "--teacher-forcing", "0.5", "--quiet",
                  "--metrics", str(tmp_path / "m.json")).output
    m = json.loads((tmp_path / "m.json").read_text())
    assert m["teacher_forcing"] == 0.5 and np.isfinite(m["history"][0]["loss"])
    assert "seq2seq: sort" in out


def test_resume_continues_the_uninterrupted_run(tmp_path):
    args = [*SMALL, "--train-size", "300", "--quiet"]
    run_cli(*args, "--epochs", "2", "--metrics", str(tmp_path / "full.json"))
    run_cli(*args, "--epochs", "1", "--save", str(tmp_path / "ck.npz"))
    run_cli(*args, "--epochs", "2", "--resume", str(tmp_path / "ck.npz"), "--metrics", str(tmp_path / "res.json"))
    full, resumed = (json.loads((tmp_path / f).read_text()) for f in ("full.json", "res.json"))
    assert resumed["history"] == full["history"]
