"""minigrad.distributed in one process: the launcher's variables, the choice of transport, messages, the
world of one (every collective a no-op) and --distributed without a launcher. No MPI needed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import types
from pathlib import Path

import pytest
from click.testing import CliRunner

import minigrad as mg
import minigrad.distributed as dist
from minigrad.cli import example_names, main
from minigrad.distributed.collectives import first_difference
from minigrad.distributed.transport import NcclTransport, choose_transport
from minigrad.distributed.world import World

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(("environ", "expected"), [
    ({}, (1, None)),
    ({"PMI_SIZE": "4", "PMI_RANK": "2"}, (4, "Hydra (MPICH, Intel MPI): PMI_SIZE=4")),
    ({"OMPI_COMM_WORLD_SIZE": "2"}, (2, "Open MPI: OMPI_COMM_WORLD_SIZE=2")),
    ({"SLURM_STEP_NUM_TASKS": "64"}, (64, "Slurm srun: SLURM_STEP_NUM_TASKS=64")),
    ({"PMI_SIZE": "1"}, (1, "Hydra (MPICH, Intel MPI): PMI_SIZE=1")),
])
def test_the_launcher_is_read_from_its_variables(environ, expected):
    assert dist.launcher_world(environ) == expected


def test_a_garbled_launcher_variable_is_named():
    with pytest.raises(dist.DistributedError, match=r"PMI_SIZE='four': expected a number of processes >= 1"):
        dist.launcher_world({"PMI_SIZE": "four"})


@pytest.mark.parametrize(("args", "expected"), [
    (("numpy",), "host"),
    (("numpy", 4, 0, None, "host"), "host"),
    (("cupy", 1, 1, None), "nccl"),                       # one GPU, world of one: NCCL
    (("cupy", 4, 8, None), "nccl"),
    (("cupy", 2, 1, None), "host"),                       # two ranks on one GPU: NCCL refuses, stage instead
    (("cupy", 2, 2, "NCCL is not installed"), "host"),
    (("cupy", 2, 1, None, "cuda-aware-mpi"), "cuda-aware-mpi"),
    (("cupy", 2, 2, None, "host"), "host"),
])
def test_the_transport_follows_the_backend_the_gpus_and_nccl(args, expected):
    name, reason = choose_transport(*args)
    assert name == expected
    assert reason


def test_the_reason_for_staging_is_given():
    assert choose_transport("cupy", 2, 1)[1] == ("staged through host memory: 2 ranks share 1 GPU: NCCL refuses "
                                                 "two ranks on one device")
    assert "NCCL is not installed" in choose_transport("cupy", 1, 1, "NCCL is not installed")[1]


@pytest.mark.parametrize(("args", "message"), [
    (("cupy", 1, 1, None, "fast"), "MINIGRAD_DIST_TRANSPORT='fast': expected one of auto, host, nccl"),
    (("numpy", 2, 0, None, "nccl"), "numpy arrays live on the host"),
    (("cupy", 2, 1, None, "nccl"), "2 ranks share 1 GPU"),
    (("cupy", 1, 1, "NCCL is not installed", "nccl"), "MINIGRAD_DIST_TRANSPORT=nccl: NCCL is not installed"),
])
def test_an_impossible_transport_is_refused(args, message):
    with pytest.raises(dist.DistributedError, match=message):
        choose_transport(*args)


def test_the_first_difference_between_models_is_named():
    rank0 = [("embedding.weight", (30, 6), "float32"), ("rnn.weight_ih_l0", (32, 6), "float32")]
    assert first_difference(rank0, rank0, 1) is None
    assert first_difference(rank0, [rank0[0], ("rnn.weight_ih_l0", (36, 6), "float32")], 1) == \
        "parameter 'rnn.weight_ih_l0' has shape (36, 6) on rank 1 but (32, 6) on rank 0"
    assert first_difference(rank0, [rank0[0], ("rnn.weight_ih_l0", (32, 6), "float64")], 2) == \
        "parameter 'rnn.weight_ih_l0' is float64 on rank 2 but float32 on rank 0"
    assert first_difference(rank0, [rank0[0], ("rnn.weight_hh_l0", (32, 6), "float32")], 1).startswith(
        "parameter 'rnn.weight_ih_l0' on rank 0 is 'rnn.weight_hh_l0' on rank 1")
    assert first_difference(rank0, rank0[:1], 3) == "rank 0 has 2 parameters, the other 1: 'rnn.weight_ih_l0' is extra"


def test_a_world_of_one_leaves_everything_as_it_is():
    w = World()
    p = mg.nn.Parameter(mg.ones(3))
    p.grad = mg.tensor([1.0, 2.0, 3.0])
    grad = p.grad
    assert dist.allreduce_gradients([p], weight=5, w=w) == 5.0
    assert p.grad is grad  # not even copied: --distributed on one process is the plain run
    assert dist.reduce_sums(w=w, loss=1.5, n=3) == {"loss": 1.5, "n": 3.0}
    array = mg.ones(2).numpy()
    assert dist.all_reduce(array, w=w) is array
    assert dist.broadcast_object({"a": 1}, w=w) == {"a": 1}
    dist.broadcast_parameters([p], w=w)
    assert w.is_main and dist.rank() == 0 and dist.world_size() == 1 and dist.local_rank() == 0 and dist.is_main()


def test_bad_arguments_are_refused_in_one_line():
    with pytest.raises(ValueError, match="weight must be a number of examples >= 0, got -1"):
        dist.allreduce_gradients([], weight=-1)
    with pytest.raises(ValueError, match="op must be one of sum, max, min, got 'mean'"):
        dist.all_reduce(mg.ones(2).numpy(), op="mean")


class _FakeNccl:
    NCCL_FLOAT16, NCCL_FLOAT32, NCCL_FLOAT64, NCCL_INT32, NCCL_INT64 = 6, 7, 8, 2, 4
    NCCL_SUM, NCCL_MAX, NCCL_MIN = 0, 2, 3

    def __init__(self):
        self.calls = []

    def get_unique_id(self):
        return (1, 2, 3)

    def NcclCommunicator(self, size, uid, rank):  # noqa: N802 - cupy.cuda.nccl's name
        calls = self.calls
        calls.append(("communicator", size, uid, rank))
        return types.SimpleNamespace(
            allReduce=lambda *args: calls.append(("allReduce", *args)), abort=lambda: calls.append(("abort",)))


def test_the_nccl_transport_sums_in_place_on_the_current_stream():
    """The calls into cupy.cuda.nccl, checked without a GPU: one communicator of the world's size bound to
    this rank, then ncclAllReduce with the same pointer as source and destination on the current stream."""
    nccl = _FakeNccl()
    stream = types.SimpleNamespace(ptr=77)
    backend = types.SimpleNamespace(xp=types.SimpleNamespace(cuda=types.SimpleNamespace(
        get_current_stream=lambda: stream)))
    transport = NcclTransport(World(), backend, nccl=nccl)
    buf = types.SimpleNamespace(dtype="float32", size=12, data=types.SimpleNamespace(ptr=4096))
    assert transport.allreduce_(buf) is buf
    transport.allreduce_(types.SimpleNamespace(dtype="float64", size=3, data=types.SimpleNamespace(ptr=8)), "max")
    transport.abort()
    assert nccl.calls == [("communicator", 1, (1, 2, 3), 0), ("allReduce", 4096, 4096, 12, 7, 0, 77),
                          ("allReduce", 8, 8, 3, 8, 2, 77), ("abort",)]
    with pytest.raises(dist.DistributedError, match="NCCL has no bool sum here"):
        transport.allreduce_(types.SimpleNamespace(dtype="bool", size=1, data=types.SimpleNamespace(ptr=1)))


# -- the runner and the command line ------------------------------------------------------------
def test_several_processes_without_distributed_are_an_error_before_any_work(monkeypatch, tmp_path):
    monkeypatch.setenv("PMI_SIZE", "2")
    result = CliRunner().invoke(main, ["run", "seed", "--metrics", str(tmp_path / "m.json")])
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        "Error: 2 processes were started (Hydra (MPICH, Intel MPI): PMI_SIZE=2) without --distributed: each "
        "would train the whole model and overwrite the same files; add --distributed"]
    assert not (tmp_path / "m.json").exists()


TINY = ["run", "sentiment", "--epochs", "2", "--train-size", "60", "--valid-size", "30", "--embed", "8",
        "--hidden", "8", "--batch-size", "16", "--quiet"]


def test_distributed_on_one_process_is_the_plain_run_bit_for_bit(tmp_path):
    for name, extra in (("plain", []), ("distributed", ["--distributed"])):
        result = CliRunner().invoke(main, [*TINY, *extra, "--metrics", str(tmp_path / f"{name}.json"),
                                           "--save", str(tmp_path / f"{name}.npz")])
        assert result.exit_code == 0, result.output
    plain, distributed = (mg.load(tmp_path / f"{n}.npz") for n in ("plain", "distributed"))
    for key in plain["model"]:
        assert (plain["model"][key] == distributed["model"][key]).all(), key
    a, b = (json.loads((tmp_path / f"{n}.json").read_text()) for n in ("plain", "distributed"))
    assert a["valid_accuracy"] == b["valid_accuracy"]


def test_prediction_refuses_distributed(tmp_path):
    result = CliRunner().invoke(main, ["run", "sentiment", "--distributed", "--predict", "good"])
    assert result.exit_code == 2
    assert "--distributed trains on several processes; --predict runs in one: leave it out" in result.output


def test_every_example_offers_distributed():
    assert {"seed", "sentiment", "vanishing", "memory", "bidirectional", "charlm"} <= set(example_names())
    for name in example_names():
        result = CliRunner().invoke(main, ["run", name, "--help"])
        assert "--distributed" in result.output, name


def test_info_names_the_mpi_library_and_the_launcher(monkeypatch):
    monkeypatch.delenv("PMI_SIZE", raising=False)
    result = CliRunner().invoke(main, ["info"])
    assert result.exit_code == 0, result.output
    line = next(ln for ln in result.output.splitlines() if ln.startswith("distributed (--distributed): "))
    assert line.endswith("launcher: none (a world of one; start with mpiexec -n N)")
    try:
        import mpi4py
    except ImportError:
        assert "mpi4py not installed" in line
    else:
        assert f"mpi4py {mpi4py.__version__}, " in line


def test_a_launcher_and_an_mpi_library_that_do_not_match_are_an_error():
    """Open MPI's variables with mpi4py on MPICH: each process would be rank 0 of 1 and train alone."""
    pytest.importorskip("mpi4py", reason="mpi4py is not installed (pip install 'minigrad[mpi]')")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PMI_", "OMPI_", "PMIX_"))}
    code = "import minigrad.distributed as d, mpi4py.MPI as M\n" \
           "print(M.Get_library_version().split()[0])\n" \
           "try:\n    d.init()\nexcept d.DistributedError as e:\n    print(e)\n"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=ROOT,
                          env={**env, "OMPI_COMM_WORLD_SIZE": "2"})
    assert proc.returncode == 0, proc.stderr
    library, message = proc.stdout.splitlines()[:2]
    if library.startswith("Open"):
        pytest.skip("mpi4py runs on Open MPI here: its variables are no mismatch")
    assert message.startswith("the launcher started 2 processes (Open MPI: OMPI_COMM_WORLD_SIZE=2) but MPI sees a "
                              "world of one: mpi4py loaded another MPI library")


# -- the scaling tool -------------------------------------------------------------------------------
def test_the_allreduce_model_is_the_alpha_beta_formula():
    from minigrad.distributed.scaling import allreduce_seconds

    assert allreduce_seconds(1e6, 1, 1e-5, 1e9) == 0.0
    assert allreduce_seconds(1e6, 2, 1e-5, 1e9) == pytest.approx(2 * 1e-5 + 1e6 / 1e9)  # one step each way
    # 64 nodes: 12 latency terms and almost twice the bytes
    assert allreduce_seconds(1e6, 64, 1e-5, 1e9) == pytest.approx(12e-5 + 2 * 63 / 64 * 1e-3)


def test_the_scaling_tool_measures_one_rank_and_models_many(tmp_path):
    from minigrad.distributed.scaling import main as scaling

    out = tmp_path / "rows.json"
    result = CliRunner().invoke(scaling, ["--hidden", "4", "--batch", "3", "--steps", "2", "--vocab", "10",
                                          "--embed", "2", "--repeat", "1", "--nodes", "8", "--json", str(out)])
    assert result.exit_code == 0, result.output
    (row,) = json.loads(out.read_text())
    # Embedding 10x2, LSTM 4 gates x 4 x (2 + 4) + 2 biases of 16, Linear 4 + 1
    assert row["parameters"] == 20 + 16 * 6 + 32 + 5 and row["gradient_bytes"] == 4 * row["parameters"]
    assert row["ranks"] == 1 and row["allreduce_s"] is None and row["compute_s"] > 0
    assert set(row["modelled"]) == {"nodes", "10 GbE (TCP)", "InfiniBand HDR (100 Gb/s)"}
    assert all(0 < m["efficiency"] < 1 for k, m in row["modelled"].items() if k != "nodes")
    assert "modelled for 8 nodes" in result.output
