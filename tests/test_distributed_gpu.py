"""The GPU path of minigrad.distributed on a real CuPy device: NCCL in a world of one (NCCL refuses two ranks
on one GPU, so more ranks on a one-GPU machine are checked through host staging, in test_distributed.py).
Skipped without a usable CuPy; the NCCL tests also without NCCL."""

from __future__ import annotations

import pytest

import backends
from minigrad.distributed.transport import NcclTransport, choose_transport, nccl_problem, transport_for
from minigrad.distributed.world import World

REASON = backends.unavailable_reason("cupy")
pytestmark = pytest.mark.skipif(REASON is not None, reason=f"needs CuPy with a GPU: {REASON}")


@pytest.fixture
def cupy_backend():
    return backends.get("cupy")


@pytest.fixture
def nccl_ready():
    problem = nccl_problem()
    if problem:
        pytest.skip(problem)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_nccl_sums_in_place_in_a_world_of_one(cupy_backend, nccl_ready, dtype):
    xp = cupy_backend.xp
    buf = xp.arange(10, dtype=dtype) * 3
    expected = buf.copy()
    transport = NcclTransport(World(), cupy_backend)
    assert transport.allreduce_(buf) is buf
    cupy_backend.synchronize()
    assert bool((buf == expected).all())
    transport.allreduce_(buf, "max")
    cupy_backend.synchronize()
    assert bool((buf == expected).all())


def test_the_transport_chosen_on_this_machine(cupy_backend):
    devices = cupy_backend.xp.cuda.runtime.getDeviceCount()
    world = World(local_size=1)
    name = transport_for(world, cupy_backend).name
    assert name == choose_transport("cupy", 1, devices, nccl_problem())[0]
    assert name == ("nccl" if nccl_problem() is None else "host")
