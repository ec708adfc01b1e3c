"""The charlm example: a character-level LSTM language model with truncated BPTT and sampling."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

import minigrad as mg
from minigrad.cli import load_example, main

# a small model on the first 4000 characters of the shipped text: a couple of seconds per run
SMALL = ["--hidden", "32", "--embed", "16", "--batch-size", "8", "--bptt", "20", "--lr", "0.02", "--seed", "0"]


@pytest.fixture(scope="module")
def small_text(tmp_path_factory):
    text = load_example("charlm").DEFAULT_TEXT.read_text(encoding="utf-8")
    path = tmp_path_factory.mktemp("charlm") / "small.txt"
    path.write_text(text[:4000], encoding="utf-8")
    return path


def run_cli(*args: str, ok: bool = True):
    result = CliRunner().invoke(main, ["run", "charlm", *args], catch_exceptions=not ok)
    if ok:
        assert result.exit_code == 0, result.output
    return result


@pytest.fixture(scope="module")
def small_run(small_text, tmp_path_factory):
    folder = tmp_path_factory.mktemp("charlm_run")
    metrics, plot = folder / "m.json", folder / "p.png"
    out = run_cli("--text", str(small_text), *SMALL, "--epochs", "2", "--sample-length", "57",
                  "--temperature", "0.8", "--metrics", str(metrics), "--plot", str(plot)).output
    return out, json.loads(metrics.read_text()), plot


def test_shipped_text_is_long_enough_and_plain():
    text = load_example("charlm").DEFAULT_TEXT.read_text(encoding="utf-8")
    assert 10_000 <= len(text.encode("utf-8")) <= 20_000
    assert text.isascii()


def test_short_run_beats_the_unigram_baseline(small_run):
    out, m, _ = small_run
    assert 3.5 < m["unigram_bits_per_char"] < 5.0
    assert m["valid_bits_per_char"] < m["unigram_bits_per_char"] - 0.3
    assert m["valid_perplexity"] == pytest.approx(2 ** m["valid_bits_per_char"], rel=1e-6)
    assert m["valid_nats_per_char"] == pytest.approx(m["valid_bits_per_char"] * np.log(2), rel=1e-6)
    history = m["history"]
    assert [h["epoch"] for h in history] == [1, 2]
    assert history[1]["valid_bpc"] < history[0]["valid_bpc"]  # still learning
    assert out.strip().splitlines()[-1].startswith("charlm: validation ")


def test_samples_have_the_requested_length_and_vocabulary(small_run):
    out, m, _ = small_run
    assert set(m["samples"]) == {"0", "0.8"}
    for s in m["samples"].values():
        assert len(s) == 57
        assert set(s) <= set(m["vocab"])
    assert m["prompt"] + m["samples"]["0.8"].split("\n")[0] in out


def test_metrics_keys_and_plot(small_run):
    _, m, plot = small_run
    for key in ("valid_bits_per_char", "unigram_bits_per_char", "unigram_entropy_bits", "valid_perplexity",
                "samples", "history", "vocab"):
        assert key in m
    assert m["example"] == "charlm" and m["seed"] == 0
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_temperature_near_zero_is_greedy_and_deterministic():
    lm = load_example("charlm")
    chars = "abcdefgh "
    mg.manual_seed(4)
    model = lm.CharLM(len(chars), 4, 8)
    greedy = lm.sample(model, chars, "ab", 40, 0.0, np.random.default_rng(0))
    for seed in (0, 1, 2):
        assert lm.sample(model, chars, "ab", 40, 1e-4, np.random.default_rng(seed)) == greedy
    # at temperature 1 the draws depend on the generator (so the test above could fail)
    hot = {lm.sample(model, chars, "ab", 40, 1.0, np.random.default_rng(seed)) for seed in (0, 1, 2)}
    assert len(hot) > 1


def test_same_seed_same_samples(small_text):
    args = ["--text", str(small_text), *SMALL, "--epochs", "1", "--sample-length", "30", "--temperature", "0.01",
            "--quiet"]
    first, second = run_cli(*args).output, run_cli(*args).output
    assert first == second


def test_streams_are_contiguous_and_shifted():
    lm = load_example("charlm")
    ids = np.arange(103)
    x, y = lm.streams(ids, 4, offset=2)
    assert x.shape == y.shape == (4, 25)
    assert (y == x + 1).all()  # the target is the next character
    assert (x[:, 1:] == x[:, :-1] + 1).all() and x[0, 0] == 2 and x[1, 0] == x[0, -1] + 1


def test_resumed_run_ends_with_the_same_weights(small_text, tmp_path):
    base = ["--text", str(small_text), *SMALL, "--sample-length", "0", "--quiet"]
    full, half, resumed = tmp_path / "full.npz", tmp_path / "half.npz", tmp_path / "resumed.npz"
    m_full, m_resumed = tmp_path / "full.json", tmp_path / "resumed.json"
    run_cli(*base, "--epochs", "2", "--save", str(full), "--metrics", str(m_full))
    run_cli(*base, "--epochs", "1", "--save", str(half))  # the run "interrupted" after one epoch
    run_cli(*base, "--epochs", "2", "--resume", str(half), "--save", str(resumed), "--metrics", str(m_resumed))
    a, b = mg.load(str(full)), mg.load(str(resumed))
    assert a["epoch"] == b["epoch"] == 2 and mg.load(str(half))["epoch"] == 1
    assert a["extra"]["vocab"] == b["extra"]["vocab"]
    assert list(a["model"]) == list(b["model"]) and "lstm.weight_hh_l0" in a["model"]
    for name, w in a["model"].items():
        np.testing.assert_array_equal(w, b["model"][name], err_msg=name)
    for index, buffers in a["optimizer"]["state"].items():
        np.testing.assert_array_equal(buffers["exp_avg"], b["optimizer"]["state"][index]["exp_avg"])
    bpc = [json.loads(m.read_text())["valid_bits_per_char"] for m in (m_full, m_resumed)]
    assert bpc[0] == bpc[1]
    # the checkpoint is not just the final weights: one epoch later they differ
    half_model = mg.load(str(half))["model"]
    assert not np.array_equal(half_model["lstm.weight_hh_l0"], a["model"]["lstm.weight_hh_l0"])


def test_resume_refuses_a_checkpoint_of_another_text(small_text, tmp_path):
    ckpt = tmp_path / "c.npz"
    run_cli("--text", str(small_text), *SMALL, "--epochs", "1", "--sample-length", "0", "--quiet", "--save", str(ckpt))
    other = tmp_path / "other.txt"
    other.write_text("The tide clock keeps only a few letters. " * 40, encoding="utf-8")
    result = run_cli("--text", str(other), *SMALL, "--epochs", "2", "--resume", str(ckpt), ok=False)
    assert result.exit_code != 0 and "another text" in result.output


def test_prompt_with_unknown_characters_is_a_clear_error(small_text):
    result = run_cli("--text", str(small_text), *SMALL, "--epochs", "1", "--prompt", "Z@#", ok=False)
    assert result.exit_code != 0 and "--prompt" in result.output and "@" in result.output


def test_a_byte_order_mark_and_windows_line_ends_are_not_characters(tmp_path):
    from minigrad.cli import load_example

    charlm = load_example("charlm")
    unix, windows = tmp_path / "u.txt", tmp_path / "w.txt"
    unix.write_bytes(b"ab\ncd\n")
    windows.write_bytes("\ufeffab\r\ncd\r\n".encode())
    assert charlm.read_text(windows) == charlm.read_text(unix) == "ab\ncd\n"


def test_a_text_too_short_is_blamed_before_the_default_prompt(tmp_path):
    from click.testing import CliRunner

    from minigrad.cli import main

    tiny = tmp_path / "tiny.txt"
    tiny.write_text("abc", encoding="utf-8")
    out = CliRunner().invoke(main, ["run", "charlm", "--text", str(tiny)]).output
    assert "the training part has" in out and "--prompt" not in out
    longer = tmp_path / "t.txt"
    longer.write_text("abcdefghij" * 20, encoding="utf-8")
    out = CliRunner().invoke(main, ["run", "charlm", "--text", str(longer), "--batch-size", "2", "--bptt", "4"]).output
    assert "--prompt 'The ' (the default) has characters that are not in" in out
