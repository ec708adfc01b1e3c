"""Every command-line mistake is a one-line error naming the option, the file and the values, before any work.

The table ``ROWS`` is (example, arguments, expected fragment of the ``Error:`` line); ``{d}`` in either
stands for a folder of test files (``files``). docs/guides/bad-input.md lists the same cases.
"""

from __future__ import annotations

import importlib.util
import os
import re

import click
import numpy as np
import pytest
from click.testing import CliRunner

import minigrad as mg
from minigrad.cli import load_example, main
from minigrad.runner import Run

TALE = load_example("charlm").DEFAULT_TEXT


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """A folder of bad (and a few good) inputs; checkpoints written by ``mg.save`` or by a short run."""
    d = tmp_path_factory.mktemp("inputs")
    (d / "latin1.txt").write_bytes(b"A good tale\ncaf\xe9 au lait\n")
    (d / "latin1.tsv").write_bytes(b"sentence\tlabel\ncaf\xe9\t1\n")
    (d / "empty.txt").write_bytes(b"")
    (d / "tiny.txt").write_text("The tide turns. " * 2, encoding="utf-8")
    (d / "small.txt").write_text(TALE.read_text(encoding="utf-8")[:3000], encoding="utf-8")
    (d / "train.tsv").write_text("sentence\tlabel\na good film\t1\na bad film\t0\n" * 4, encoding="utf-8")
    (d / "junk.npz").write_text("hi\n")
    (d / "empty.npz").write_bytes(b"")
    np.save(d / "array.npy", np.zeros(3))
    (d / "not_a_folder").write_text("")
    mg.save([1, 2], str(d / "list.npz"))
    mg.save({"example": "bidirectional", "epoch": 1, "forward": {"layer.weight": np.zeros(2)}}, str(d / "old.npz"))
    mg.save({"example": "memory", "epoch": 1, "options": {"--lengths": [5, 20]}}, str(d / "memory.npz"))
    mg.save({"example": "vanishing", "epoch": 1, "options": {"--clip": 1.0}}, str(d / "vanishing.npz"))
    for example, *args, save in (
        ("sentiment", "--train-size", "40", "--valid-size", "20", "--embed", "8", "--hidden", "8", "sentiment.npz"),
        ("charlm", "--text", str(d / "small.txt"), "--hidden", "8", "--sample-length", "0", "charlm8.npz"),
        ("bidirectional", "--hidden", "8", "--train-size", "20", "--valid-size", "10", "bidirectional8.npz"),
    ):
        result = CliRunner().invoke(main, ["run", example, *args, "--epochs", "1", "--quiet", "--save", str(d / save)])
        assert result.exit_code == 0, result.output
    return d


ROWS = [
    # -- outputs: checked when the command line is read ------------------------------------------------
    ("sentiment", "--metrics {d}/nodir/m.json", "'--metrics': {d}/nodir/m.json: the folder '{d}/nodir' does not exist"),
    ("sentiment", "--save {d}/nodir/ck.npz", "'--save': {d}/nodir/ck.npz: the folder '{d}/nodir' does not exist"),
    ("sentiment", "--plot {d}/nodir/p.png", "'--plot': {d}/nodir/p.png: the folder '{d}/nodir' does not exist"),
    ("sentiment", "--plot {d}/out.xyz", "'--plot': {d}/out.xyz: expected a .png file name"),
    ("charlm", "--metrics {d}/m.txt", "'--metrics': {d}/m.txt: expected a .json file name"),
    ("memory", "--metrics {d}", "'--metrics': {d}: it is a folder; give a file name"),
    ("bidirectional", "--plot {d}/not_a_folder/p.png", "the folder '{d}/not_a_folder' is a file, not a folder"),
    ("sentiment", "--output {d}/nodir/p.tsv", "'--output': {d}/nodir/p.tsv: the folder '{d}/nodir' does not exist"),
    # -- --resume -----------------------------------------------------------------------------------------
    ("sentiment", "--resume {d}/junk.npz",
     "--resume {d}/junk.npz: not a minigrad checkpoint (it is not an .npz (zip) archive (it starts with b'hi\\n'))"),
    ("charlm", "--resume {d}/empty.npz", "--resume {d}/empty.npz: not a minigrad checkpoint (the file is empty)"),
    ("memory", "--resume {d}/array.npy", "not a minigrad checkpoint (it is a single-array .npy file"),
    ("vanishing", "--resume {d}/list.npz", "--resume {d}/list.npz: a minigrad checkpoint, but not one an example"),
    ("charlm", "--resume {d}/nope.npz", "'--resume': File '{d}/nope.npz' does not exist"),
    ("charlm", "--resume {d}/sentiment.npz",
     "--resume {d}/sentiment.npz: a checkpoint of 'sentiment', not of 'charlm'"),
    ("charlm", "--text {d}/small.txt --resume {d}/charlm8.npz --hidden 9",
     "--resume {d}/charlm8.npz: the checkpoint was made with --hidden 8, the command line asks for --hidden 9"),
    ("charlm", "--text {d}/small.txt --resume {d}/charlm8.npz",
     "made with --hidden 8, this run has --hidden 64 (the default): give --hidden 8"),
    ("bidirectional", "--resume {d}/bidirectional8.npz --hidden 9",
     "--resume {d}/bidirectional8.npz: the checkpoint was made with --hidden 8, the command line asks for --hidden 9"),
    ("bidirectional", "--resume {d}/old.npz --train-size 20 --valid-size 10",
     "--resume {d}/old.npz: the checkpoint's 'forward' does not fit this run's: missing key: embed.weight"),
    ("memory", "--resume {d}/memory.npz --lengths 3",
     "the checkpoint was made with --lengths 5,20, the command line asks for --lengths 3"),
    ("vanishing", "--resume {d}/vanishing.npz",
     "the checkpoint was made with --clip 1, this run has no --clip (the default): give --clip 1"),
    ("sentiment", "--resume {d}/sentiment.npz --train-size 40 --valid-size 20 --hidden 9",
     "the checkpoint's model was trained with --hidden 8, the command line asks for --hidden 9"),
    # -- options an example cannot honour -------------------------------------------------------------
    ("seed", "--plot {d}/p.png", "No such option '--plot'"),
    ("seed", "--save {d}/s.npz", "No such option '--save'"),
    ("seed", "--resume {d}/sentiment.npz", "No such option '--resume'"),
    ("vanishing", "--epochs 3", "--epochs counts the steps of the --clip training run: give --clip MAX_NORM too"),
    ("sentiment", "--output {d}/p.tsv", "--output is where --predict-file writes: give --predict-file FILE too"),
    ("sentiment", "--predict good --resume {d}/sentiment.npz --save {d}/s.npz",
     "--save does not apply to --predict, which only classifies with the --resume model"),
    ("sentiment", "--predict-file {d}/tiny.txt --resume {d}/sentiment.npz --metrics {d}/m.json",
     "--metrics does not apply to --predict-file"),
    ("sentiment", "--test {d}/train.tsv --resume {d}/sentiment.npz --save {d}/s.npz",
     "--save: --resume with --test and no --train evaluates the checkpoint; it trains nothing to save"),
    ("sentiment", "--resume {d}/sentiment.npz --embeddings {d}/tiny.txt",
     "--embeddings starts a new model; a --resume model keeps its own embedding"),
    ("sentiment", "--keep start", "--keep chooses which tokens --max-len keeps: give --max-len N too"),
    ("sentiment", "--label-field stars", "--label-field applies to data from files: give --train PATH"),
    ("sentiment", "--train {d}/train.tsv --valid-split 0.5 --train-size 10", "--train-size applies to the generated"),
    # -- common options ----------------------------------------------------------------------------------
    ("seed", "--seed -1", "'--seed': -1 is not in the range 0<=x<=4294967295"),
    ("seed", "--epochs 0", "'--epochs': 0 is not in the range x>=1"),
    ("seed", "--threads 0", "'--threads': 0 is not in the range x>=1"),
    ("seed", "--backend nope", "'--backend': 'nope' is not one of"),
    # -- numbers of each example ------------------------------------------------------------------------
    ("bidirectional", "--hidden 0", "'--hidden': 0 is not in the range x>=1"),
    ("bidirectional", "--batch-size 0", "'--batch-size': 0 is not in the range x>=1"),
    ("bidirectional", "--p-marker 0.5", "'--p-marker': 0.5 is not in the range 0<x<0.5"),
    ("bidirectional", "--min-len 9 --max-len 3", "--min-len 9 is above --max-len 3"),
    ("bidirectional", "--max-len 3", "--min-len 4 (the default) is above --max-len 3"),
    ("bidirectional", "--lr nan", "'--lr': 'nan' is not a finite number"),
    ("charlm", "--batch-size 0", "'--batch-size': 0 is not in the range x>=1"),
    ("charlm", "--layers 0", "'--layers': 0 is not in the range x>=1"),
    ("charlm", "--dropout 1", "'--dropout': 1.0 is not in the range 0<=x<1"),
    ("charlm", "--valid-fraction 1", "'--valid-fraction': 1.0 is not in the range 0<x<1"),
    ("charlm", "--clip -1", "'--clip': -1.0 is not in the range x>=0"),
    ("charlm", "--bptt 0", "'--bptt': 0 is not in the range x>=1"),
    ("charlm", "--temperature -1", "'--temperature': -1.0 is not in the range x>=0"),
    ("charlm", "--lr 0", "'--lr': 0.0 is not in the range x>0"),
    ("memory", "--lengths 0,3", "'--lengths': expected lengths from 1 to 10000, got '0,3'"),
    ("memory", "--lr inf", "'--lr': 'inf' is not a finite number"),
    ("memory", "--steps-per-epoch 0", "'--steps-per-epoch': 0 is not in the range x>=1"),
    ("vanishing", "--steps 1", "'--steps': 1 is not in the range 2<=x<=10000"),
    ("vanishing", "--clip 0", "'--clip': 0.0 is not in the range x>0"),
    ("vanishing", "--relu-scale nan", "'--relu-scale': 'nan' is not a finite number"),
    ("sentiment", "--lr -1", "'--lr': -1.0 is not in the range x>0"),
    ("sentiment", "--valid-split nan", "'--valid-split': 'nan' is not a finite number"),
    ("sentiment", "--max-vocab 1", "'--max-vocab': 1 is not in the range x>=2"),
    ("seq2seq", "--max-len 2", "--min-len 3 (the default) is above --max-len 2"),
    ("seq2seq", "--teacher-forcing 1.5", "'--teacher-forcing': 1.5 is not in the range 0<=x<=1"),
    ("seq2seq", "--task copy", "'--task': 'copy' is not one of 'reverse', 'sort'"),
    ("seq2seq", "--min-len 1 --max-len 1 --train-size 100 --valid-size 20",
     "--valid-size 20: strings of --min-len 1 to --max-len 1 digits gave only"),
    # -- input files -------------------------------------------------------------------------------------
    ("charlm", "--text {d}/latin1.txt", "--text {d}/latin1.txt: not UTF-8 text (byte 0xe9 at offset 15, line 2)"),
    ("charlm", "--text {d}/empty.txt", "--text {d}/empty.txt: the file is empty"),
    ("charlm", "--text {d}/tiny.txt",
     "--text {d}/tiny.txt: the training part has 28 characters; --batch-size 8 streams with --bptt 32 need at "
     "least 40"),
    ("charlm", "--text {d}", "'--text': File '{d}' is a directory"),
    ("charlm", "--prompt Z@#", "--prompt 'Z@#' has characters that are not in"),
    ("charlm", "--prompt=", "--prompt needs at least one character"),
    ("sentiment", "--train {d}/nope.tsv --valid-split 0.5", "--train {d}/nope.tsv: no such file or folder"),
    ("sentiment", "--train {d}/latin1.tsv --valid-split 0.5",
     "--train: {d}/latin1.tsv line 2: not UTF-8 text (byte 0xe9 at offset 18)"),
    ("sentiment", "--train {d}/train.tsv --valid-split 0.5 --test {d}/nope.tsv",
     "--test {d}/nope.tsv: no such file or folder"),
    ("sentiment", "--train {d}/train.tsv --valid-split 0.5 --test {d}/latin1.tsv",
     "--test: {d}/latin1.tsv line 2: not UTF-8 text"),
    ("sentiment", "--predict-file {d}/latin1.txt --resume {d}/sentiment.npz",
     "--predict-file {d}/latin1.txt: not UTF-8 text (byte offset 15)"),
    ("sentiment", "--predict-file {d}/empty.txt --resume {d}/sentiment.npz",
     "--predict-file {d}/empty.txt: the file is empty"),
]


def invoke(example: str, args: list[str]):
    return CliRunner().invoke(main, ["run", example, *args])


@pytest.mark.parametrize(("example", "args", "fragment"), ROWS, ids=[f"{r[0]} {r[1]}" for r in ROWS])
def test_a_mistake_is_one_line_before_any_work(files, example, args, fragment):
    result = invoke(example, [a.format(d=files) for a in args.split(" ")])
    out = result.output
    assert result.exit_code not in (0, None) and isinstance(result.exception, SystemExit), out
    assert "Traceback" not in out
    errors = [line for line in out.splitlines() if line.startswith("Error: ")]
    assert len(errors) == 1 and fragment.format(d=files) in errors[0], out
    assert out.rstrip().splitlines()[-1] == errors[0]  # the message ends the output
    assert "epoch 1/" not in out and "epoch 1:" not in out  # stopped before training


def test_the_table_covers_every_example():
    from minigrad.cli import example_names

    assert {example for example, _, _ in ROWS} == set(example_names())
    assert len(ROWS) >= 40


def test_plot_without_matplotlib_is_refused_first(monkeypatch, tmp_path):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "matplotlib" else real(name, *a))
    result = invoke("memory", ["--plot", str(tmp_path / "p.png")])
    assert result.exit_code == 2
    assert f"'--plot': {tmp_path / 'p.png'}: needs matplotlib: pip install 'minigrad[plot]'" in result.output


def test_a_diverging_loss_stops_the_run_and_keeps_the_last_good_checkpoint(tmp_path):
    path = tmp_path / "ck.npz"
    model = mg.nn.Linear(2, 1)
    refused = pytest.raises(click.ClickException, match=r"demo: the training loss is nan at epoch 2, step 3; "
                                                        rf"stopped, {path} keeps epoch 1\. Try another --seed\.")
    with refused, Run("demo", epochs=3, save=str(path), quiet=True) as run:
        run.track(model=model)
        for epoch in run.epochs():
            for step in (1, 2, 3):
                model.weight.data[...] = epoch + 1  # the weights after this step
                run.check_loss(float("nan") if (epoch, step) == (1, 3) else 0.5, epoch, step)
    state = mg.load(str(path))
    assert state["epoch"] == 1 and (state["model"]["weight"] == 1).all()  # epoch 2 saved nothing


DIVERGING = [  # (example, arguments, the message after "Error: "); {d}: a new folder for outputs
    ("charlm", "--text {files}/small.txt --hidden 8 --lr 1e38 --clip 0 --sample-length 0 --save {d}/c.npz",
     "charlm: the training loss is nan at epoch 1, step 2; stopped, nothing new saved to {d}/c.npz. "
     "Try a lower --lr (this run: 1e+38) or gradient clipping (--clip 1)."),
    ("sentiment", "--train-size 100 --valid-size 20 --lr 1e38 --save {d}/s.npz",
     "sentiment: after epoch 1 the weights hold nan or inf (model.embedding.weight, model.rnn.weight_ih_l0, "
     "model.rnn.weight_hh_l0, 4 more); stopped, nothing saved for it. "
     "Try a lower --lr (this run: 1e+38) or a smaller --clip (this run: 1)."),
    ("memory", "--lengths 3 --steps-per-epoch 5 --lr 1e38",
     "memory: the training loss is nan at epoch 1, step 2; stopped, nothing saved. "
     "Try a lower --lr (this run: 1e+38)."),
    ("bidirectional", "--train-size 200 --valid-size 20 --lr 1e38",
     "bidirectional: the training loss is nan at epoch 1, step 2; stopped, nothing saved. "
     "Try a lower --lr (this run: 1e+38)."),
]


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # numpy's overflow warnings on the way to nan
@pytest.mark.parametrize(("example", "args", "message"), DIVERGING, ids=[r[0] for r in DIVERGING])
def test_a_diverging_run_names_epoch_step_and_remedies(tmp_path, files, example, args, message):
    result = invoke(example, [*args.format(d=tmp_path, files=files).split(" "), "--epochs", "2"])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert result.output.splitlines()[-1] == "Error: " + message.format(d=tmp_path)
    if "nothing new saved" in message:
        assert not (tmp_path / "c.npz").exists()
    if "keeps epoch 1" in message:
        assert mg.load(str(tmp_path / "s.npz"))["epoch"] == 1


def test_a_write_that_fails_late_is_one_line(tmp_path):
    folder = tmp_path / "gone"
    folder.mkdir()
    run = Run("demo", metrics=str(folder / "m.json"), quiet=True)
    os.rmdir(folder)  # removed during the run
    message = f"--metrics {folder / 'm.json'}: cannot write: the folder '{folder}' does not exist"
    with pytest.raises(click.ClickException, match=re.escape(message)):
        run.finish("demo: done")


# -- the Python API: names, layer arguments, lengths, files ------------------------------------------------
def _lstm_call(lengths):
    return lambda: mg.nn.LSTM(3, 4)(mg.randn(2, 5, 3), lengths=lengths)


API_ROWS = [
    (lambda: mg.set_backend("nope"), ValueError, "set_backend: unknown backend 'nope'; known backends: cupy, numpy"),
    (lambda: mg.zeros(2, dtype="float17"), TypeError, "dtype: 'float17' is not a float, int or bool dtype"),
    (lambda: mg.nn.LSTM(0, 3), ValueError, "LSTM: input_size, hidden_size and num_layers must be >= 1"),
    (lambda: mg.nn.GRU(3, 4, dropout=1.5), ValueError, "GRU: dropout must be in [0, 1), got 1.5"),
    (lambda: mg.nn.RNN(3, 4, nonlinearity="sigmoidx"), ValueError, "did you mean 'sigmoid'?"),
    (lambda: mg.nn.Bidirectional(mg.nn.RNN(3, 4), merge_mode="avg"), ValueError, "did you mean 'ave'?"),
    (lambda: mg.nn.LSTM(3, 4)(mg.randn(2, 5, 4)), ValueError, "LSTM: expected input (N, T, I) or unbatched (T, I)"),
    (_lstm_call([5]), ValueError, "LSTM: got 1 lengths for a batch of 2 sequences"),
    (_lstm_call([6, 2]), ValueError, "LSTM: lengths[0] = 6 is outside [1, 5] (T = 5 time steps)"),
    (_lstm_call([2.5, 2]), TypeError, "LSTM: lengths[0] = 2.5 is not an int"),
    (lambda: mg.optim.Adam(mg.nn.Linear(2, 1).parameters(), lr=-1), ValueError, "Adam: invalid lr -1"),
    (lambda: mg.nn.Linear(3, 2).load_state_dict({"weight": np.zeros((2, 2))}), ValueError,
     "weight: expected shape (2, 3), got (2, 2)"),
]


@pytest.mark.parametrize(("call", "error", "fragment"), API_ROWS, ids=[r[2][:40] for r in API_ROWS])
def test_python_api_mistakes_name_the_argument(call, error, fragment):
    with pytest.raises(error) as info:
        call()
    assert fragment in str(info.value)


def test_python_api_file_mistakes_name_the_file(files):
    with pytest.raises(ValueError, match=r"load: '.*junk\.npz' is not a minigrad checkpoint"):
        mg.load(str(files / "junk.npz"))
    with pytest.raises(ValueError, match=r"Vocab\.load: '.*latin1\.txt' is not UTF-8 text \(byte 15\)"):
        mg.data.Vocab.load(files / "latin1.txt")
