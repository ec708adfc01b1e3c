"""Output options (``--plot``, ``--output``, ``--save``, ``bench --json``), empty validation splits, resumed
vocabularies and epochs, floating-point warnings and the progress unit: one-line errors, never a traceback."""

from __future__ import annotations

import errno
import warnings
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from minigrad import io, runner
from minigrad.cli import main

ROOT = Path(__file__).resolve().parents[1]
TALE = ROOT / "examples" / "data" / "minigrad_tale.txt"
SENTIMENT = ["--train-size", "40", "--valid-size", "20", "--embed", "8", "--hidden", "8", "--quiet"]
# every example that writes --plot, at a size that trains in a second or two
PLOTS = [
    ("sentiment", [*SENTIMENT, "--epochs", "1"]),
    ("charlm", ["--text", "{small}", "--hidden", "8", "--sample-length", "0", "--epochs", "1", "--quiet"]),
    ("seq2seq", ["--hidden", "8", "--train-size", "50", "--valid-size", "10", "--max-len", "4", "--epochs", "1",
                 "--quiet"]),
    ("bidirectional", ["--hidden", "8", "--train-size", "20", "--valid-size", "10", "--epochs", "1", "--quiet"]),
    ("memory", ["--lengths", "2,4", "--epochs", "1", "--steps-per-epoch", "2", "--hidden", "4", "--batch", "8",
                "--quiet"]),
    ("vanishing", ["--steps", "10", "--hidden", "4", "--batch", "2", "--quiet"]),
]


def invoke(*args: str):
    return CliRunner().invoke(main, list(args))


def refuse_writes(monkeypatch) -> None:
    """Every new file fails as on a read-only or full file system (after the command line was read)."""
    def fail(path):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(io, "_create_new", fail)


def test_the_start_up_check_tries_a_real_write(tmp_path, monkeypatch):
    assert runner.output_problem(str(tmp_path / "m.json")) is None
    assert not list(tmp_path.iterdir())  # the probe leaves nothing behind
    refuse_writes(monkeypatch)
    why = runner.output_problem(str(tmp_path / "m.json"))
    assert why == f"the folder {str(tmp_path)!r} is not writable (No space left on device)"


@pytest.mark.skipif(not Path("/sys/kernel").is_dir(), reason="needs Linux's /sys")
@pytest.mark.parametrize(("args", "code"), [(["run", "sentiment", "--plot", "/sys/m.png", *SENTIMENT], 2),
                                            (["run", "sentiment", "--metrics", "/sys/m.json", *SENTIMENT], 2),
                                            (["bench", "--quick", "--json", "/sys/r.json"], 1)])
def test_sys_is_refused_before_any_work(args, code):
    pytest.importorskip("matplotlib")
    result = invoke(*args)
    assert result.exit_code == code and "the folder '/sys' is not writable" in result.output, result.output
    assert "Traceback" not in result.output and "epoch" not in result.output


@pytest.mark.parametrize(("example", "args"), PLOTS, ids=[e for e, _ in PLOTS])
def test_a_plot_that_cannot_be_written_at_the_end_is_a_one_line_error(example, args, tmp_path, monkeypatch):
    pytest.importorskip("matplotlib")
    small = tmp_path / "small.txt"
    small.write_text(TALE.read_text(encoding="utf-8")[:3000], encoding="utf-8")
    monkeypatch.setattr(runner, "output_problem", lambda *a, **k: None)  # the folder goes away during the run
    plot = tmp_path / "gone" / "p.png"
    result = invoke("run", example, *[a.format(small=small) for a in args], "--plot", str(plot))
    assert result.exit_code == 1, result.output
    assert f"Error: --plot {plot}: cannot write" in result.output and "does not exist" in result.output
    assert not isinstance(result.exception, OSError)


def test_predict_file_output_and_vanishing_save_fail_in_one_line(tmp_path, monkeypatch):
    ckpt = tmp_path / "s.npz"
    assert invoke("run", "sentiment", *SENTIMENT, "--epochs", "1", "--save", str(ckpt)).exit_code == 0
    texts = tmp_path / "p.txt"
    texts.write_text("a good film\n", encoding="utf-8")
    out = tmp_path / "p.tsv"
    monkeypatch.setattr(runner, "output_problem", lambda *a, **k: None)
    refuse_writes(monkeypatch)
    result = invoke("run", "sentiment", "--predict-file", str(texts), "--resume", str(ckpt), "--output", str(out))
    assert result.exit_code == 1 and f"Error: --output {out}: cannot write: No space left on device" in result.output
    result = invoke("run", "vanishing", "--steps", "10", "--hidden", "4", "--quiet", "--save", str(tmp_path / "v.npz"))
    assert result.exit_code == 1 and "Error: --save" in result.output and "cannot write" in result.output


def test_bench_json_that_fails_at_the_end_is_a_one_line_error(tmp_path, monkeypatch):
    from minigrad import bench

    path = tmp_path / "gone" / "r.json"
    monkeypatch.setattr(bench, "output_problem", lambda *a, **k: None)
    monkeypatch.setattr(bench, "run", lambda *a, **k: ({}, []))
    with pytest.raises(bench.BenchError, match=r"--json .*r.json: cannot write: .*does not exist"):
        bench.main(json_path=str(path), echo=lambda line: None)


def test_a_valid_split_that_leaves_no_validation_text_is_refused(tmp_path):
    data = tmp_path / "one.tsv"
    data.write_text("sentence\tlabel\na good film\t1\na bad film\t0\n", encoding="utf-8")
    result = invoke("run", "sentiment", "--train", str(data), "--valid-split", "0.5", "--epochs", "1")
    assert result.exit_code == 2, result.output
    assert "--valid-split 0.5" in result.output and "2 training and 0 validation texts" in result.output
    assert "epoch 1" not in result.output


@pytest.fixture(scope="module")
def files_checkpoint(tmp_path_factory):
    d = tmp_path_factory.mktemp("resume")
    data = d / "ok.tsv"
    data.write_text("sentence\tlabel\n" + "zorp quux blarg\t1\nfoo bar baz\t0\n" * 6, encoding="utf-8")
    ckpt = d / "f.npz"
    result = invoke("run", "sentiment", "--train", str(data), "--valid", str(data), "--epochs", "2", "--embed",
                    "4", "--hidden", "4", "--quiet", "--save", str(ckpt))
    assert result.exit_code == 0, result.output
    return data, ckpt


def test_resume_on_data_the_vocabulary_does_not_know_is_refused(files_checkpoint):
    _, ckpt = files_checkpoint
    result = invoke("run", "sentiment", "--epochs", "3", "--resume", str(ckpt), "--train-size", "40",
                    "--valid-size", "20")
    assert result.exit_code == 1, result.output
    assert "100% of the tokens of the generated training data are not in the checkpoint's vocabulary" in result.output


@pytest.mark.parametrize(("flag", "value", "built"), [("--max-vocab", "3", "no --max-vocab"),
                                                     ("--min-freq", "5", "--min-freq 1")])
def test_vocabulary_options_on_resume_are_refused(files_checkpoint, flag, value, built):
    data, ckpt = files_checkpoint
    result = invoke("run", "sentiment", "--train", str(data), "--valid", str(data), "--epochs", "3",
                    "--resume", str(ckpt), flag, value)
    assert result.exit_code == 2, result.output
    assert f"{flag} {value} cannot take effect with --resume" in result.output
    assert f"the checkpoint's vocabulary of 8 words (it was built with {built})" in result.output


def test_resume_past_the_requested_epochs_is_refused_but_prediction_is_not(files_checkpoint):
    data, ckpt = files_checkpoint
    result = invoke("run", "sentiment", "--train", str(data), "--valid", str(data), "--epochs", "1",
                    "--resume", str(ckpt))
    assert result.exit_code == 1, result.output
    assert (f"--resume {ckpt}: the checkpoint is already at epoch 2 and --epochs is 1: nothing to train; "
            "give --epochs above 2") in result.output
    result = invoke("run", "sentiment", "--resume", str(ckpt), "--predict", "zorp quux")
    assert result.exit_code == 0, result.output
    result = invoke("run", "sentiment", "--resume", str(ckpt), "--test", str(data))
    assert result.exit_code == 0, result.output


def test_resume_past_the_epochs_is_refused_in_other_examples(tmp_path):
    ckpt = tmp_path / "b.npz"
    args = ["--hidden", "8", "--train-size", "20", "--valid-size", "10", "--quiet"]
    assert invoke("run", "bidirectional", *args, "--epochs", "2", "--save", str(ckpt)).exit_code == 0
    result = invoke("run", "bidirectional", *args, "--epochs", "1", "--resume", str(ckpt))
    assert result.exit_code == 1 and "already at epoch 2 and --epochs is 1" in result.output, result.output
    assert invoke("run", "bidirectional", *args, "--epochs", "2", "--resume", str(ckpt)).exit_code == 0


def test_a_run_leaks_no_numpy_warnings_and_restores_errstate():
    before = np.geterr()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with runner.Run("demo"):
            assert np.geterr()["over"] == "ignore"
            np.float64(1e308) * 10  # would warn (here: raise) outside a run
    assert np.geterr() == before


def test_vanishing_reports_overflow_in_words():
    result = invoke("run", "vanishing", "--steps", "2000", "--hidden", "2", "--batch", "1", "--every", "1000")
    assert result.exit_code == 0, result.output
    assert "RuntimeWarning" not in result.output
    assert not [line for line in result.output.splitlines() if "nan" in line.split()]  # no bare nan figure
    assert "overflows (inf/nan)" in result.output and "overflowed float64" in result.output


def test_progress_lines_name_their_unit():
    assert runner.progress_line("epoch 1", 4, 8, 2.0, tokens=100).endswith("2.00 batches/s  50 tokens/s")
    assert runner.progress_line("s", 4, None, 2.0, unit="steps").endswith("2.00 steps/s")
