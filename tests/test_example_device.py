"""Every example runs on the device column (the strict stand-in without a GPU) and prints what it
prints on NumPy: the runner, data loading, training, metrics and checkpoints make no NumPy call on a
device array (the stand-in refuses them) and give the same figures (same seeds, same arithmetic)."""

from __future__ import annotations

import re

import pytest
from click.testing import CliRunner
from conftest import DEVICE_BACKEND

from minigrad.cli import load_example, main

RUNS = {
    "seed": ["--quiet"],
    "memory": ["--lengths", "2,4", "--epochs", "2", "--steps-per-epoch", "3", "--hidden", "4", "--batch", "8"],
    "vanishing": ["--steps", "30", "--hidden", "16", "--batch", "8", "--every", "10", "--relu-scale", "4"],
    "sentiment": ["--train-size", "80", "--valid-size", "40", "--embed", "8", "--hidden", "8", "--batch-size", "16",
                  "--epochs", "2"],
    "bidirectional": ["--train-size", "100", "--valid-size", "50", "--batch-size", "25", "--max-len", "10",
                      "--hidden", "6", "--epochs", "2"],
    "charlm": ["--hidden", "16", "--embed", "8", "--batch-size", "8", "--bptt", "10", "--epochs", "1",
               "--sample-length", "20"],
}
NO_SAVE = {"seed"}  # examples without --save
DURATION = re.compile(r"\d+(\.\d+)?\s*(ms|s|min|[a-z]+/s)\b|(elapsed|ETA) \S+")


def _run(name, backend, tmp_path):
    args = list(RUNS[name])
    if name == "charlm":
        text = load_example("charlm").DEFAULT_TEXT.read_text(encoding="utf-8")[:3000]
        (tmp_path / "small.txt").write_text(text, encoding="utf-8")
        args += ["--text", str(tmp_path / "small.txt")]
    save = tmp_path / f"{backend}.npz"
    if name not in NO_SAVE:
        args += ["--save", str(save)]
    result = CliRunner().invoke(main, ["run", name, "--backend", backend, *args])
    assert result.exit_code == 0, f"{name} on {backend}: {result.output[-2000:]}"
    return DURATION.sub("<time>", result.output.replace(str(tmp_path), "<tmp>").replace(backend, "<backend>")), save


@pytest.mark.parametrize("name", list(RUNS))
def test_an_example_prints_on_the_device_what_it_prints_on_numpy(name, tmp_path):
    host, host_ckpt = _run(name, "numpy", tmp_path)
    device, device_ckpt = _run(name, DEVICE_BACKEND, tmp_path)
    assert device.splitlines() == host.splitlines()
    if name not in NO_SAVE:
        assert device_ckpt.stat().st_size > 0  # a checkpoint saved from device arrays
