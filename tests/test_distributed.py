"""Data parallelism under a real launcher: ``mpiexec -n 2`` and ``-n 3`` started from pytest, with timeouts.

Needs the ``mpi`` extra (mpi4py and an ``mpiexec``; MPICH from pip runs as root and oversubscribes two
cores silently); skipped with the reason without it. The programs run are in ``tests/mpi_worker.py``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import backends
import minigrad as mg
from minigrad.distributed.world import LAUNCHER_SIZE_VARS

pytest.importorskip("mpi4py", reason="mpi4py is not installed (pip install 'minigrad[mpi]')")

HERE = Path(__file__).resolve().parent
WORKER = HERE / "mpi_worker.py"
MPIEXEC = shutil.which("mpiexec", path=os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]))
pytestmark = pytest.mark.skipif(MPIEXEC is None, reason="no mpiexec found (pip install 'minigrad[mpi]' brings MPICH)")
TIMEOUT = 60  # seconds for one mpiexec; each takes about 1 s here


def _env() -> dict:
    """This environment without a launcher's variables (pytest itself might run under one) and without
    MINIGRAD_BACKEND; one BLAS thread per process."""
    launcher = {var for var, _ in LAUNCHER_SIZE_VARS}
    env = {k: v for k, v in os.environ.items()
           if k not in launcher and k != "MINIGRAD_BACKEND" and not k.startswith(("PMI_", "OMPI_", "PMIX_"))}
    return {**env, "MINIGRAD_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}


def launch(n: int | None, *args: str, cwd: Path | None = None, check: bool = True,
           env: dict | None = None) -> subprocess.CompletedProcess:
    """``mpiexec -n n python ARGS`` (``python ARGS`` alone for ``n`` None: the one-process reference)."""
    command = [sys.executable, *args] if n is None else [MPIEXEC, "-n", str(n), sys.executable, *args]
    proc = subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT, env={**_env(), **(env or {})},
                          cwd=cwd)
    if check:
        assert proc.returncode == 0, f"{' '.join(command)} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}"
    return proc


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The training runs, three launches in all: one process (the reference), 2 ranks (also the two mistakes)
    and 3 ranks, each in float64 and float32."""
    out = tmp_path_factory.mktemp("train")
    launch(None, str(WORKER), "train", str(out), "float64,float32", "weighted")
    launch(2, str(WORKER), "train", str(out), "float64,float32", "weighted,unweighted,clip-first")
    launch(3, str(WORKER), "train", str(out), "float64,float32", "weighted")
    return out


def trained(out: Path, n: int | None, dtype: str, mode: str = "weighted") -> tuple[dict, dict]:
    stem = out / f"train_{dtype}_{mode}_{n or 1}"
    with np.load(f"{stem}.npz") as params:
        return dict(params), json.loads(Path(f"{stem}.json").read_text())


def max_difference(a: dict, b: dict) -> float:
    assert a.keys() == b.keys()
    return max(float(np.abs(a[k] - b[k]).max()) for k in a)


def worst_relative(a: dict, b: dict) -> float:
    """The largest ``||a - b|| / ||b||`` over the parameters."""
    return max(float(np.linalg.norm(a[k] - b[k]) / np.linalg.norm(b[k])) for k in a)


# -- the same weights as one process --------------------------------------------------
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_two_and_three_ranks_give_the_weights_of_one_process(runs, dtype):
    reference, info = trained(runs, None, dtype)
    assert info["clipped_steps"] > 0 and info["empty_rank_steps"] == 0  # clipping acted; one process
    for n in (2, 3):
        params, info = trained(runs, n, dtype)
        assert info["empty_rank_steps"] > 0, "no step had a rank without an example: the case is not covered"
        if dtype == "float64":
            assert max_difference(params, reference) <= 1e-12, n
        else:
            assert worst_relative(params, reference) <= 1e-5, n
    assert max(float(np.abs(reference[k]).max()) for k in reference) > 0.1  # the weights are not all tiny


@pytest.mark.parametrize("mode", ["unweighted", "clip-first"])
def test_the_two_classic_mistakes_change_the_weights(runs, mode):
    """Negative controls: a mean of per-rank means, or clipping before the all-reduce, is not one process's
    training, so the equivalence test above would catch either."""
    reference, _ = trained(runs, None, "float64")
    wrong, _ = trained(runs, 2, "float64", mode)
    assert max_difference(wrong, reference) > 1e-3


def test_allreduce_arithmetic_broadcasts_and_transports_on_three_ranks(tmp_path):
    launch(3, str(WORKER), "arithmetic", str(tmp_path))
    ranks = json.loads((tmp_path / "arithmetic.json").read_text())
    a = np.arange(6.0).reshape(3, 2)
    weights = [2, 5, 0]  # rank 2 has no example and no gradient
    p_grad = (2 * (1 * a) + 5 * (2 * a)) / 7
    s_grad = np.full(5, (2 * 1.0 + 5 * 2.0) / 7)
    q_grad = 2 * (np.arange(4.0) + 1) / 7  # only rank 0 has one: the others count as zeros
    for r, got in enumerate(ranks):
        assert got["total"] == sum(weights)
        np.testing.assert_allclose(got["p_grad"], p_grad, rtol=1e-15)
        np.testing.assert_allclose(got["q_grad"], q_grad, rtol=1e-15)
        np.testing.assert_allclose(got["s_grad"], s_grad, rtol=1e-6)
        assert got["s_grad_dtype"] == "float32"
        assert got["z_grad"] is None  # no rank had one: stays None, as in one process
        assert got["p"] == np.zeros((3, 2)).tolist() and got["q_data"] == [1.0] * 4  # rank 0's values
        assert got["sums"] == {"n": 6.0, "half": 1.5}
        assert got["max"] == [2, 0]
        assert got["object"] == {"rank": 0}
        assert got["staged"] == (np.arange(4.0) * 6).tolist()  # host staging: 1 + 2 + 3 times
        assert got["transport"] == "host"
        assert got["local"] == [r, 3]
        assert got["nccl_calls"] == [["communicator", 3, list(range(128)), r]]  # rank 0's id reached every rank


DEVICE = "cupy" if backends.unavailable_reason("cupy") is None else "standin"  # standin: tests/standin


def test_device_gradients_staged_through_the_host_give_the_weights_of_one_process(tmp_path):
    """Device arrays (CuPy on a GPU, else the strict CuPy stand-in) on 2 ranks that share a device, where
    NCCL cannot run: the host-staging transport copies to the host, all-reduces, copies back."""
    device = {"MINIGRAD_BACKEND": DEVICE, "MINIGRAD_DIST_TRANSPORT": "host", "PYTHONPATH": os.pathsep.join(
        [str(HERE / "standin"), *filter(None, [os.environ.get("PYTHONPATH")])])}
    launch(None, str(WORKER), "train", str(tmp_path), "float64", "weighted", env=device)
    launch(2, str(WORKER), "train", str(tmp_path), "float64", "weighted", env=device)
    reference, info = trained(tmp_path, None, "float64")
    params, info2 = trained(tmp_path, 2, "float64")
    assert info["backend"] == info2["backend"] == DEVICE
    assert info2["transport"] == "host" and info2["staged"] and info2["empty_rank_steps"] > 0
    assert max_difference(params, reference) <= 1e-12


# -- failures end the job -------------------------------------------------------------------
@pytest.mark.parametrize(("case", "message"), [("fail", "rank 1 fails on purpose"),
                                               ("exit", "rank 1 stops on purpose")])
def test_a_failing_rank_ends_the_whole_job_within_10_seconds(tmp_path, case, message):
    """Rank 0 waits in a barrier that rank 1 never reaches; without the abort it would wait forever."""
    started = time.perf_counter()
    proc = launch(2, str(WORKER), case, str(tmp_path), check=False)
    elapsed = time.perf_counter() - started
    assert proc.returncode != 0
    assert elapsed < 10, elapsed
    assert message in proc.stderr


def test_ranks_that_disagree_about_the_model_get_an_error_naming_the_parameter(tmp_path):
    proc = launch(2, str(WORKER), "mismatch", str(tmp_path), check=False)
    assert proc.returncode != 0
    message = ("the ranks disagree about the model: parameter 'rnn.weight_ih_l0' has shape (36, 6) on rank 1 "
               "but (32, 6) on rank 0")
    errors = [p.read_text() for p in tmp_path.glob("mismatch_error_*")]
    assert errors and all(error == message for error in errors)  # each rank that got to write it
    assert message in proc.stderr  # the launcher had time to pass on the traceback before the abort
    assert not list(tmp_path.glob("mismatch_passed_*"))


# -- the command line ---------------------------------------------------------------------------
SENTIMENT = ["-m", "minigrad", "run", "sentiment", "--epochs", "2", "--train-size", "300", "--valid-size", "100"]


def _timeless(text: str) -> str:
    return re.sub(r"(seconds|elapsed) \S+|\d+ s$|\d+\.\d+s\b|[\d.]+ (items|tokens)/s|ETA \S+", "#", text,
                  flags=re.MULTILINE)


def test_sentiment_on_two_ranks_is_the_run_of_one_process(tmp_path):
    one, two = tmp_path / "one", tmp_path / "two"
    one.mkdir()
    two.mkdir()
    alone = launch(None, *SENTIMENT, "--metrics", "m.json", "--save", "c.npz", cwd=one)
    both = launch(2, *SENTIMENT, "--distributed", "--metrics", "m.json", "--save", "c.npz", cwd=two)
    assert sorted(p.name for p in two.iterdir()) == ["c.npz", "m.json"]  # one metrics file, one checkpoint
    m1, m2 = (json.loads((d / "m.json").read_text()) for d in (one, two))
    assert m2["valid_accuracy"] == m1["valid_accuracy"]
    c1, c2 = mg.load(one / "c.npz"), mg.load(two / "c.npz")
    assert c1["model"].keys() == c2["model"].keys() and c2["epoch"] == 2
    assert len(c2["history"]) == len(c1["history"]) == 2
    for h1, h2 in zip(c1["history"], c2["history"]):
        assert (h2["valid_accuracy"], h2["train_accuracy"]) == (h1["valid_accuracy"], h1["train_accuracy"])
        assert h2["loss"] == pytest.approx(h1["loss"], rel=1e-6)  # float32 losses summed in another order
    # float32 through 6 Adam steps: within 1e-5 of each parameter's norm; Adam's division by sqrt(v) lets
    # the rounding of an element with a tiny gradient grow a little, hence the element-wise atol
    assert worst_relative(c2["model"], c1["model"]) <= 1e-5
    for name in c1["model"]:
        np.testing.assert_allclose(c2["model"][name], c1["model"][name], rtol=1e-4, atol=1e-5, err_msg=name)
    assert _timeless(both.stdout) == _timeless(alone.stdout)  # rank 1 printed nothing: no line twice
    assert both.stdout.count("sentiment: lstm valid accuracy") == 1
    assert both.stderr.count("  epoch 1: ") == 1  # progress from rank 0 only


def test_several_processes_without_distributed_are_refused(tmp_path):
    proc = launch(2, "-m", "minigrad", "run", "seed", "--metrics", "m.json", cwd=tmp_path, check=False)
    assert proc.returncode != 0
    assert "2 processes were started (Hydra (MPICH, Intel MPI): PMI_SIZE=2) without --distributed" in proc.stderr
    assert not (tmp_path / "m.json").exists()


EXAMPLES = {  # tiny runs; dropout off, so two ranks must print what one process prints
    "seed": [],
    "vanishing": ["--clip", "1", "--epochs", "3"],
    "memory": ["--epochs", "1", "--steps-per-epoch", "5", "--lengths", "5", "--hidden", "8"],
    "bidirectional": ["--epochs", "1", "--train-size", "60", "--valid-size", "20"],
    "charlm": ["--epochs", "1", "--hidden", "16", "--dropout", "0"],
    "seq2seq": ["--epochs", "1", "--train-size", "200", "--valid-size", "50"],
}


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_every_example_on_two_ranks_prints_what_one_process_prints(tmp_path, name):
    from click.testing import CliRunner

    from minigrad.cli import example_names, main

    assert set(EXAMPLES) | {"sentiment"} >= set(example_names()), "a new example: add it to EXAMPLES"
    alone = CliRunner().invoke(main, ["run", name, *EXAMPLES[name]])
    assert alone.exit_code == 0, alone.output
    both = launch(2, "-m", "minigrad", "run", name, *EXAMPLES[name], "--distributed", cwd=tmp_path)
    assert _timeless(both.stdout) == _timeless(alone.stdout)


def test_resume_is_read_on_rank_0_and_continues_as_one_process_would(tmp_path):
    base = [*SENTIMENT[:4], "--train-size", "200", "--valid-size", "50", "--hidden", "16", "--embed", "8", "--quiet"]
    launch(None, *base, "--epochs", "1", "--save", "c1.npz", cwd=tmp_path)
    launch(None, *base, "--epochs", "2", "--resume", "c1.npz", "--save", "alone.npz", cwd=tmp_path)
    launch(2, *base, "--epochs", "2", "--resume", "c1.npz", "--save", "both.npz", "--distributed", cwd=tmp_path)
    alone, both = mg.load(tmp_path / "alone.npz"), mg.load(tmp_path / "both.npz")
    assert both["epoch"] == alone["epoch"] == 2
    assert worst_relative(both["model"], alone["model"]) <= 1e-5
    # a checkpoint of another example: the same one-line error, from the rank that read it, and the job ends
    mg.save({"example": "vanishing", "epoch": 1}, tmp_path / "v.npz")
    proc = launch(2, *base, "--resume", "v.npz", "--distributed", cwd=tmp_path, check=False)
    assert proc.returncode != 0
    assert "Error: --resume v.npz: a checkpoint of 'vanishing', not of 'sentiment'" in proc.stderr  # each rank's
