"""A third-party backend installed the way a package would install it: an entry point in ``minigrad.backends``.

A throwaway distribution (a module and its ``.dist-info`` with ``entry_points.txt``) is written to a
temporary folder and put on ``PYTHONPATH`` of a fresh interpreter, so ``importlib.metadata`` finds it as it
finds any installed package and no registry state of this process is touched. Its backend, ``counting``,
is the one the Backends page builds: NumPy arrays, and a count of the copies to the host. A second
entry point whose factory fails stands for a backend that cannot run on this machine.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

MODULE = '''
import numpy as np

from backends import Backend


class CountingBackend(Backend):
    """NumPy arrays, and a count of the copies made to the host."""

    def __init__(self, name="counting"):
        super().__init__(name, np)
        self.host_copies = 0

    def to_numpy(self, a):
        self.host_copies += 1
        return super().to_numpy(a)


def create():
    return CountingBackend()


def create_broken():
    raise RuntimeError("needs the toy accelerator, which this machine lacks")
'''

ENTRY_POINTS = """
[minigrad.backends]
counting = minigrad_toy_backend:create
brokentoy = minigrad_toy_backend:create_broken
"""


@pytest.fixture(scope="module")
def site_dir(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("toy_site")
    (d / "minigrad_toy_backend.py").write_text(MODULE, encoding="utf-8")
    info = d / "minigrad_toy_backend-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: minigrad-toy-backend\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(ENTRY_POINTS)
    return d


def python(site_dir: Path, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(site_dir), str(ROOT)]))
    env.pop("MINIGRAD_BACKEND", None)
    return subprocess.run([sys.executable, *args], env=env, cwd=cwd or site_dir, capture_output=True, text=True,
                          timeout=120)


SCRIPT = textwrap.dedent('''
    import json

    import numpy as np

    import backends
    import minigrad as mg
    import minigrad.nn.functional as F

    out = {"names": backends.names(), "available": backends.available(),
           "broken": backends.unavailable_reason("brokentoy")}

    def one_step(backend):
        with mg.use_backend(backend):
            mg.manual_seed(0)
            model = mg.nn.LSTM(3, 4)
            x = mg.randn(2, 5, 3)
            y, _ = model(x)
            loss = F.mse_loss(y, mg.zeros(2, 5, 4))
            loss.backward()
            return model.weight_hh_l0.backend.name, loss.item(), model.weight_hh_l0.grad.numpy()

    name, loss_toy, grad_toy = one_step("counting")
    _, loss_np, grad_np = one_step("numpy")
    toy = backends.get("counting")
    out.update(name=name, same_loss=loss_toy == loss_np, same_grad=bool((grad_toy == grad_np).all()),
               copies=toy.host_copies)
    try:
        mg.tensor([1.0], backend="numpy") + mg.tensor([1.0], backend="counting")
    except RuntimeError as e:
        out["mixing"] = str(e)
    print(json.dumps(out))
''')


def test_the_entry_point_backend_is_found_and_runs_like_numpy(site_dir):
    proc = python(site_dir, "-c", SCRIPT)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert {"counting", "brokentoy"} <= set(out["names"])
    assert "counting" in out["available"] and "brokentoy" not in out["available"]
    assert out["broken"] == ("backend 'brokentoy' is not available: needs the toy accelerator, "
                             "which this machine lacks")
    assert out["name"] == "counting"
    assert out["same_loss"] and out["same_grad"]  # the same arithmetic as NumPy, bit for bit
    assert out["copies"] >= 1  # .numpy() of the gradient went through the backend's to_numpy
    assert out["mixing"] == ("add: inputs live on different backends ('numpy' and 'counting'); "
                             "move one with .to('numpy') or .to('counting')")


def test_the_examples_accept_the_installed_backend(site_dir, tmp_path):
    metrics = tmp_path / "m.json"
    proc = python(site_dir, "-m", "minigrad", "run", "seq2seq", "--backend", "counting", "--epochs", "1",
                  "--train-size", "64", "--valid-size", "16", "--hidden", "8", "--max-len", "4", "--quiet",
                  "--metrics", str(metrics))
    assert proc.returncode == 0, proc.stderr + proc.stdout
    assert json.loads(metrics.read_text())["backend"] == "counting"
    refused = python(site_dir, "-m", "minigrad", "run", "seq2seq", "--backend", "brokentoy", "--epochs", "1")
    assert refused.returncode == 1
    assert refused.stderr.strip().splitlines()[-1] == (
        "Error: backend 'brokentoy' is not available: needs the toy accelerator, which this machine lacks")
