"""How a buffer's sum over ranks is computed, by where the buffer lives: MPI on the host, NCCL on GPUs.

One choice per array backend, made once by [`choose_transport`][minigrad.distributed.transport.choose_transport]
(a pure function of the backend, the ranks per machine, the GPUs and whether NCCL loads) and kept in the
[`World`][minigrad.distributed.World]:

| transport | arrays | how |
| --- | --- | --- |
| ``host`` | NumPy | ``MPI.Allreduce`` in place on the array itself (buffer-based: no pickling) |
| ``host`` | CuPy | host staging: device -> host copy, ``MPI.Allreduce``, host -> device copy |
| ``nccl`` | CuPy | ``ncclAllReduce`` in place on the current stream (``cupy.cuda.nccl``; its unique id sent over MPI) |
| ``cuda-aware-mpi`` | CuPy | ``MPI.Allreduce`` on device memory (only for an MPI built with CUDA support) |

``MINIGRAD_DIST_TRANSPORT`` (``auto``, ``host``, ``nccl``, ``cuda-aware-mpi``) overrides the choice;
``auto`` takes NCCL when it loads and every rank of a machine has a GPU of its own (NCCL refuses two
ranks on one device), else host staging, which is always correct.
"""

from __future__ import annotations

import os
from typing import Any

from minigrad.distributed.world import DistributedError, World

TRANSPORT_ENV = "MINIGRAD_DIST_TRANSPORT"
TRANSPORTS = ("auto", "host", "nccl", "cuda-aware-mpi")
OPS = ("sum", "max", "min")


def choose_transport(backend: str, local_size: int = 1, devices: int = 0, nccl_problem: str | None = None,
                     requested: str = "auto") -> tuple[str, str]:
    """The transport for arrays of ``backend``, and why.

    Args:
        backend: the array backend's name (``"numpy"``, ``"cupy"``, a third party's).
        local_size: ranks on this machine.
        devices: GPUs on this machine.
        nccl_problem: why NCCL cannot be used here, or None when ``cupy.cuda.nccl`` loads.
        requested: ``$MINIGRAD_DIST_TRANSPORT`` (default ``"auto"``).

    Returns:
        ``(name, reason)``, e.g. ``("host", "2 ranks share 1 GPU: NCCL refuses two ranks on one device")``.

    Raises:
        DistributedError: an unknown ``requested`` name, or one that cannot work here (NCCL without NCCL,
            or with ranks sharing a GPU; a GPU transport for host arrays).
    """
    if requested not in TRANSPORTS:
        raise DistributedError(f"{TRANSPORT_ENV}={requested!r}: expected one of {', '.join(TRANSPORTS)}")
    if backend != "cupy":
        if requested in ("nccl", "cuda-aware-mpi"):
            raise DistributedError(f"{TRANSPORT_ENV}={requested}: {backend} arrays live on the host; "
                                   "NCCL and CUDA-aware MPI move GPU (cupy) arrays")
        return "host", f"{backend} arrays go over MPI as they are"
    shared = None
    if local_size > devices:
        shared = (f"{local_size} ranks share {devices} GPU{'s' * (devices != 1)}: NCCL refuses two ranks on "
                  "one device")
    if requested == "nccl":
        if nccl_problem or shared:
            raise DistributedError(f"{TRANSPORT_ENV}=nccl: {nccl_problem or shared}")
        return "nccl", "requested"
    if requested in ("host", "cuda-aware-mpi"):
        return requested, "requested"
    if nccl_problem:
        return "host", f"staged through host memory: {nccl_problem}"
    if shared:
        return "host", f"staged through host memory: {shared}"
    return "nccl", "NCCL loads and every rank has a GPU of its own"


def nccl_problem() -> str | None:
    """Why ``cupy.cuda.nccl`` cannot be used here, or None when it can."""
    try:
        import cupy.cuda.nccl as nccl
    except Exception as e:  # noqa: BLE001 - any failure to load is a reason to stage through the host
        return f"cupy.cuda.nccl does not import ({type(e).__name__}: {e})"
    if not nccl.available:
        return 'NCCL is not installed (pip install "nvidia-nccl-cu12>=2.18.1,<3")'
    return None


class HostTransport:
    """Sums over ranks with MPI on host memory: in place for NumPy arrays, staged for device arrays.

    This is the transport of every NumPy run and the always-correct fallback for CuPy arrays
    (one device-to-host and one host-to-device copy per call).
    """

    name = "host"

    def __init__(self, world: World, backend: Any) -> None:
        import backends

        self.world, self.backend = world, backend
        self.host = backends.get("numpy").xp

    def allreduce_(self, buf: Any, op: str = "sum") -> Any:
        """Replace ``buf`` (a contiguous array of the backend) by its element-wise ``op`` over ranks."""
        if self.world.comm is None or self.world.size == 1:
            return buf
        from mpi4py import MPI

        mpi_op = {"sum": MPI.SUM, "max": MPI.MAX, "min": MPI.MIN}[op]
        on_host = self.backend.xp is self.host
        staged = buf if on_host else self.backend.to_numpy(buf)
        self.world.comm.Allreduce(MPI.IN_PLACE, staged, op=mpi_op)
        if not on_host:
            buf[...] = self.backend.asarray(staged)
        return buf


class CudaAwareMPITransport(HostTransport):
    """``MPI.Allreduce`` on device memory, for an MPI library built with CUDA support (mpi4py reads
    the array's ``__cuda_array_interface__``). The stream is synchronised first: MPI does not know it."""

    name = "cuda-aware-mpi"

    def allreduce_(self, buf: Any, op: str = "sum") -> Any:
        if self.world.size == 1:
            return buf
        from mpi4py import MPI

        self.backend.synchronize()
        self.world.comm.Allreduce(MPI.IN_PLACE, buf, op={"sum": MPI.SUM, "max": MPI.MAX, "min": MPI.MIN}[op])
        return buf


class NcclTransport:
    """``ncclAllReduce`` in place on the current CUDA stream, through ``cupy.cuda.nccl``.

    Bootstrap (collective, every rank at once): rank 0 draws NCCL's unique id, MPI broadcasts it, each
    rank opens a communicator of ``size`` ranks on its current device (chosen by
    [`init`][minigrad.distributed.init] before). No host synchronisation per call.
    """

    name = "nccl"

    def __init__(self, world: World, backend: Any, nccl: Any = None) -> None:
        if nccl is None:
            import cupy.cuda.nccl as nccl
        self.world, self.backend, self.nccl = world, backend, nccl
        uid = nccl.get_unique_id() if world.rank == 0 else None
        if world.comm is not None:
            uid = world.comm.bcast(uid, root=0)
        self.comm = nccl.NcclCommunicator(world.size, uid, world.rank)
        self.dtypes = {"float16": nccl.NCCL_FLOAT16, "float32": nccl.NCCL_FLOAT32,
                       "float64": nccl.NCCL_FLOAT64, "int32": nccl.NCCL_INT32, "int64": nccl.NCCL_INT64}
        self.ops = {"sum": nccl.NCCL_SUM, "max": nccl.NCCL_MAX, "min": nccl.NCCL_MIN}

    def allreduce_(self, buf: Any, op: str = "sum") -> Any:
        code = self.dtypes.get(str(buf.dtype))
        if code is None:
            raise DistributedError(f"all_reduce: NCCL has no {buf.dtype} sum here; expected one of "
                                   f"{', '.join(self.dtypes)}")
        stream = self.backend.xp.cuda.get_current_stream()
        self.comm.allReduce(buf.data.ptr, buf.data.ptr, buf.size, code, self.ops[op], stream.ptr)
        return buf

    def abort(self) -> None:
        """End the NCCL communicator at once (a failing rank must not leave kernels waiting)."""
        self.comm.abort()


def transport_for(world: World, backend: Any) -> Any:
    """The transport moving arrays of ``backend`` in ``world`` (chosen once per backend, then kept)."""
    found = world.transports.get(backend.name)
    if found is not None:
        return found
    requested = os.environ.get(TRANSPORT_ENV, "auto").strip() or "auto"
    problem, devices = None, 0
    if backend.name == "cupy":
        problem = nccl_problem()
        devices = backend.xp.cuda.runtime.getDeviceCount()
    name, _ = choose_transport(backend.name, world.local_size, devices, problem, requested)
    kind = {"host": HostTransport, "nccl": NcclTransport, "cuda-aware-mpi": CudaAwareMPITransport}[name]
    world.transports[backend.name] = transport = kind(world, backend)
    return transport
