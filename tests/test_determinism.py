"""Same seed, same numbers, bit for bit, on NumPy: in one process and across separate processes.

Two runs of an example with the same ``--seed`` give exactly equal per-epoch figures (floats compared
with ``==``) and exactly equal final weights; another seed gives others. Two trainings of an LSTM after
``mg.manual_seed(s)`` (initialisation, dropout, data) end with bitwise-identical weights.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

import minigrad as mg
import minigrad.nn.functional as F
from minigrad.cli import load_example
from minigrad.nn.tbptt import detach_state, time_chunks

TIMEOUT = 180  # seconds for one example run; a hung run fails the test instead of blocking it


# -- in one process -----------------------------------------------------------------
class Tagger(mg.nn.Module):
    """A two-layer LSTM (dropout between the layers) and a linear head at every step."""

    def __init__(self) -> None:
        super().__init__()
        self.lstm = mg.nn.LSTM(6, 12, num_layers=2, dropout=0.3)
        self.head = mg.nn.Linear(12, 3)


def train_lstm(seed: int, impl: str, steps: int = 12) -> tuple[list[float], dict[str, np.ndarray], dict]:
    """Seeded: the weights, dropout between the layers and the data. Returns (losses, weights, optimizer state)."""
    mg.manual_seed(seed)
    model = Tagger()
    lstm, head = model.lstm, model.head
    opt = mg.optim.Adam(model.parameters(), lr=1e-2)
    x = mg.randn(4, 5 * steps, 6)
    y = mg.tensor((mg.rand(4, 5 * steps).numpy() * 3).astype(np.int64))
    losses, state = [], None
    with mg.nn.recurrent_impl(impl):
        for xc, yc in time_chunks(x, y, size=5):
            out, state = lstm(xc, state)
            loss = F.cross_entropy(head(out), yc)
            opt.zero_grad()
            loss.backward()
            mg.nn.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            state = detach_state(state)
            losses.append(loss.item())
    return losses, model.state_dict(), opt.state_dict()


def assert_identical(a, b, where: str = "") -> None:
    """Equal structure and leaves, arrays bitwise (same dtype, shape and bytes; NaN only equals NaN)."""
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        a, b = np.asarray(a), np.asarray(b)
        assert a.dtype == b.dtype and a.shape == b.shape, f"{where}: {a.dtype}{a.shape} vs {b.dtype}{b.shape}"
        assert a.tobytes() == b.tobytes(), f"{where}: arrays differ"
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


@pytest.mark.parametrize("impl", ["fused", "composed"])
def test_two_seeded_trainings_give_bitwise_identical_weights(impl):
    losses_a, weights_a, opt_a = train_lstm(3, impl)
    losses_b, weights_b, opt_b = train_lstm(3, impl)
    assert losses_a == losses_b  # exact float equality, step by step
    assert_identical(weights_a, weights_b, "weights")
    assert_identical(opt_a, opt_b, "optimizer")
    losses_c, weights_c, _ = train_lstm(4, impl)
    assert losses_c != losses_a
    assert not np.array_equal(weights_c["lstm.weight_ih_l0"], weights_a["lstm.weight_ih_l0"])


def test_a_seeded_training_does_not_depend_on_what_ran_before():
    losses_a, weights_a, _ = train_lstm(5, "fused")
    mg.randn(100)  # draws from the global generator; manual_seed must reset all of it
    np.random.seed(123)  # NumPy's own global generator is not minigrad's
    losses_b, weights_b, _ = train_lstm(5, "fused")
    assert losses_a == losses_b
    assert_identical(weights_a, weights_b, "weights")


# -- separate processes -------------------------------------------------------------
def run_example(name: str, *args: str, cwd) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MINIGRAD_")}
    result = subprocess.run([sys.executable, "-m", "minigrad", "run", name, *args, "--quiet"], cwd=cwd, env=env,
                            capture_output=True, text=True, timeout=TIMEOUT)
    assert result.returncode == 0, result.stdout + result.stderr
    return result


@pytest.fixture(scope="module")
def small_text(tmp_path_factory):
    text = load_example("charlm").DEFAULT_TEXT.read_text(encoding="utf-8")
    path = tmp_path_factory.mktemp("text") / "small.txt"
    path.write_text(text[:3000], encoding="utf-8")
    return path


CHARLM = ["--hidden", "24", "--embed", "12", "--batch-size", "8", "--bptt", "16", "--sample-length", "20",
          "--epochs", "2"]  # with the default dropout 0.2: the per-epoch reseeding matters


def test_charlm_same_seed_gives_bit_identical_loss_curves_in_separate_processes(small_text, tmp_path):
    runs = {}
    for label, seed in (("a", "7"), ("b", "7"), ("other", "8")):
        metrics, ckpt = tmp_path / f"{label}.json", tmp_path / f"{label}.npz"
        out = run_example("charlm", "--text", str(small_text), *CHARLM, "--seed", seed, "--metrics", str(metrics),
                          "--save", str(ckpt), cwd=tmp_path).stdout
        runs[label] = (out, json.loads(metrics.read_text()), mg.load(str(ckpt)))
    (out_a, m_a, ck_a), (out_b, m_b, ck_b), (_, m_other, ck_other) = runs["a"], runs["b"], runs["other"]
    assert [h["epoch"] for h in m_a["history"]] == [1, 2]
    assert m_a["history"] == m_b["history"]  # every float exactly: JSON keeps a float's shortest exact form
    assert ck_a["history"] == m_a["history"]  # and the checkpoint stores the same numbers
    assert m_a["samples"] == m_b["samples"] and out_a == out_b
    assert_identical(ck_a["model"], ck_b["model"], "model")
    assert_identical(ck_a["optimizer"], ck_b["optimizer"], "optimizer")
    # another seed: other curves and weights (the text, hence the baseline, is the same)
    assert m_other["unigram_bits_per_char"] == m_a["unigram_bits_per_char"]
    for key in ("train_bpc", "valid_bpc", "grad_norm"):
        assert [h[key] for h in m_other["history"]] != [h[key] for h in m_a["history"]], key
    assert not np.array_equal(ck_other["model"]["head.weight"], ck_a["model"]["head.weight"])


SENTIMENT = ["--train-size", "120", "--valid-size", "40", "--embed", "8", "--hidden", "8", "--batch-size", "16",
             "--dropout", "0.3", "--epochs", "2"]


def test_sentiment_same_seed_gives_bit_identical_loss_curves_in_separate_processes(tmp_path):
    runs = {}
    for label, seed in (("a", "3"), ("b", "3"), ("other", "4")):
        metrics, ckpt = tmp_path / f"{label}.json", tmp_path / f"{label}.npz"
        run_example("sentiment", *SENTIMENT, "--seed", seed, "--metrics", str(metrics), "--save", str(ckpt),
                    cwd=tmp_path)
        runs[label] = (json.loads(metrics.read_text()), mg.load(str(ckpt)))

    def curves(checkpoint):  # "seconds" is wall-clock time, the one figure that may differ
        return [{k: v for k, v in h.items() if k != "seconds"} for h in checkpoint["history"]]

    (m_a, ck_a), (m_b, ck_b), (_, ck_other) = runs["a"], runs["b"], runs["other"]
    assert [h["epoch"] for h in ck_a["history"]] == [1, 2]
    assert curves(ck_a) == curves(ck_b)
    assert all(isinstance(h["loss"], float) for h in curves(ck_a))
    for key in ("valid_accuracy", "bow_valid_accuracy", "best_valid_accuracy", "by_kind"):
        assert m_a[key] == m_b[key], key
    assert_identical(ck_a["model"], ck_b["model"], "model")
    assert_identical(ck_a["optimizer"], ck_b["optimizer"], "optimizer")
    # another seed generates another corpus and initialisation: other losses and weights
    assert [h["loss"] for h in curves(ck_other)] != [h["loss"] for h in curves(ck_a)]
    assert not np.array_equal(ck_other["model"]["out.weight"], ck_a["model"]["out.weight"])
