"""The processes of a data-parallel run: who started them, rank, size, one GPU per rank, abort on error.

[`init`][minigrad.distributed.init] reads the launcher's environment first
(`launcher_world`), so a world of one needs neither mpi4py nor an MPI library,
and a launcher that started N processes while MPI reports one (mpi4py linked to
another MPI library than the launcher's) is an error instead of N identical,
independent trainings. mpi4py is imported only here, and only when a launcher
started several processes or the program imported it itself.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import sys
import time
from dataclasses import dataclass, field
from typing import Any

# (variable, launcher) in the order checked; each holds the number of processes the launcher started
LAUNCHER_SIZE_VARS = (
    ("PMI_SIZE", "Hydra (MPICH, Intel MPI)"),
    ("OMPI_COMM_WORLD_SIZE", "Open MPI"),
    ("MV2_COMM_WORLD_SIZE", "MVAPICH2"),
    ("SLURM_STEP_NUM_TASKS", "Slurm srun"),
)
ABORT_GRACE_SECONDS = 0.5  # between a failing rank's last output and MPI_Abort


class DistributedError(RuntimeError):
    """A data-parallel run cannot start or go on: the message says why and what to do."""


@dataclass
class World:
    """The processes of one run.

    Attributes:
        rank: this process, 0 to ``size - 1``; rank 0 is the one that prints and writes files.
        size: the number of processes.
        local_rank: this process among those on the same machine (picks its GPU).
        local_size: the number of processes on this machine.
        comm: the mpi4py communicator (``MPI.COMM_WORLD``), or None for a world of one without MPI.
        launcher: what started the processes, e.g. ``"Hydra (MPICH, Intel MPI): PMI_SIZE=4"``, or None.
        device: the CUDA device this process computes on (None until one is chosen).
    """

    rank: int = 0
    size: int = 1
    local_rank: int = 0
    local_size: int = 1
    comm: Any = None
    launcher: str | None = None
    device: int | None = None
    transports: dict = field(default_factory=dict)  # backend name -> the transport moving its arrays

    @property
    def is_main(self) -> bool:
        """True on rank 0, the process that prints and writes."""
        return self.rank == 0


_world: World | None = None  # one per process: MPI is initialised once and lives until exit


def launcher_world(environ: dict | None = None) -> tuple[int, str | None]:
    """The number of processes a launcher says it started, and which launcher (from its variables).

    Returns:
        ``(size, description)``, e.g. ``(4, "Hydra (MPICH, Intel MPI): PMI_SIZE=4")``; ``(1, None)``
        when no known launcher variable is set.

    Raises:
        DistributedError: a launcher variable that is not a whole number >= 1.
    """
    environ = os.environ if environ is None else environ
    for var, name in LAUNCHER_SIZE_VARS:
        value = environ.get(var, "").strip()
        if value:
            if not value.isdigit() or int(value) < 1:
                raise DistributedError(f"{var}={value!r}: expected a number of processes >= 1 ({name})")
            return int(value), f"{name}: {var}={value}"
    return 1, None


def _import_mpi() -> Any:
    """``mpi4py.MPI`` (which initialises MPI), or a one-line error saying how to install it."""
    try:
        from mpi4py import MPI
    except ImportError as e:
        raise DistributedError(f"distributed training needs mpi4py ({e}): pip install 'minigrad[mpi]', "
                               "or on a cluster pip install mpi4py against the site's MPI") from None
    return MPI


def mpi_library() -> str:
    """The MPI library mpi4py loads, in one line, e.g. ``mpi4py 4.1.2, MPICH Version: 5.0.2``.

    Imports mpi4py without initialising MPI when the process has not imported it yet
    ([`init`][minigrad.distributed.init] initialises it later if needed).
    """
    try:
        import mpi4py

        if "mpi4py.MPI" not in sys.modules:
            mpi4py.rc.initialize = False  # naming the library needs no MPI_Init (MPI_Get_library_version)
        from mpi4py import MPI
    except ImportError:
        return 'mpi4py not installed (pip install "minigrad[mpi]")'
    except Exception as e:  # a broken MPI library: say which
        return f"mpi4py cannot load an MPI library ({type(e).__name__}: {e})"
    first = MPI.Get_library_version().strip().splitlines()[0]
    return f"mpi4py {mpi4py.__version__}, {' '.join(first.split())}"


def is_initialized() -> bool:
    """Whether [`init`][minigrad.distributed.init] has run in this process."""
    return _world is not None


def world() -> World:
    """The world [`init`][minigrad.distributed.init] made, or a world of one (rank 0 of 1) before it."""
    return _world if _world is not None else World()


def init(backend: str | None = None) -> World:
    """Join the run's processes (idempotent): MPI when a launcher started several, else a world of one.

    Args:
        backend: the array backend the run computes on; ``"cupy"`` makes each process use the GPU
            ``local_rank % device count`` (before any array exists, and before NCCL binds to it).

    Returns:
        The [`World`][minigrad.distributed.World]: ``rank``, ``size``, ``local_rank``, ``is_main``.

    With several processes it also makes an uncaught exception on any rank end the whole job
    (``MPI_Abort``: otherwise the other ranks wait in their next collective forever).

    Raises:
        DistributedError: a launcher started N > 1 processes but MPI reports a world of one (mpi4py is
            linked to another MPI library than the launcher's), or mpi4py is missing.
    """
    global _world
    if _world is None:
        size, launcher = launcher_world()
        if size == 1 and not _mpi_already_running():
            _world = World(launcher=launcher)
        else:
            _world = _join_mpi(_import_mpi(), size, launcher)
    if backend == "cupy" and _world.device is None:
        _world.device = _select_device(_world)
    return _world


def _mpi_already_running() -> bool:
    """Whether this program started MPI itself (``from mpi4py import MPI`` initialises it): then its world counts,
    also under a launcher minigrad does not know."""
    MPI = sys.modules.get("mpi4py.MPI")
    return MPI is not None and bool(MPI.Is_initialized()) and not MPI.Is_finalized()


def _join_mpi(MPI: Any, size: int, launcher: str | None) -> World:
    if not MPI.Is_initialized():  # imported by mpi_library(), which leaves MPI uninitialised
        MPI.Init()
        atexit.register(lambda: MPI.Is_finalized() or MPI.Finalize())
    comm = MPI.COMM_WORLD
    if size > 1 and comm.Get_size() == 1:
        raise DistributedError(
            f"the launcher started {size} processes ({launcher}) but MPI sees a world of one: mpi4py loaded "
            f"another MPI library than the launcher's ({mpi_library()}); use that library's mpiexec, or set "
            "MPI4PY_LIBMPI to the launcher's libmpi.so")
    local = comm.Split_type(MPI.COMM_TYPE_SHARED, key=comm.Get_rank())
    w = World(rank=comm.Get_rank(), size=comm.Get_size(), local_rank=local.Get_rank(),
              local_size=local.Get_size(), comm=comm, launcher=launcher)
    local.Free()
    if w.size > 1:
        _install_excepthook(comm)
    return w


def _select_device(w: World) -> int:
    """Use the GPU ``local_rank % device count`` in this process and return its number."""
    import backends

    cuda = backends.get("cupy", who="distributed.init").xp.cuda
    count = cuda.runtime.getDeviceCount()
    device = w.local_rank % count
    cuda.Device(device).use()
    return device


def _install_excepthook(comm: Any) -> None:
    """Print an uncaught exception as usual, then abort every rank (``MPI_Abort``) instead of hanging."""
    previous = sys.excepthook

    def hook(kind: Any, value: Any, tb: Any) -> None:
        previous(kind, value, tb)
        _let_output_through()
        for transport in (_world.transports.values() if _world is not None else ()):
            if hasattr(transport, "abort"):  # NCCL: kernels of the other ranks must not wait for this one
                transport.abort()
        comm.Abort(1)

    sys.excepthook = hook


def abort_on_error(error: BaseException) -> None:
    """Call in an ``except`` block before re-raising: a failing rank (an exception, or ``SystemExit``
    with a non-zero code, as click exits on a usage error) then ends the whole job at exit with
    ``MPI_Abort`` instead of leaving the other ranks waiting. Nothing happens in a world of one."""
    if _world is None or _world.size == 1:
        return
    import mpi4py.run

    mpi4py.run.set_abort_status(error)
    if not _grace_registered:  # runs before mpi4py's exit handler (registered earlier): the message gets out
        _grace_registered.append(atexit.register(_let_output_through))


_grace_registered: list = []


def _let_output_through() -> None:
    """Flush stdout and stderr and wait `ABORT_GRACE_SECONDS`: ``MPI_Abort`` tears the job down at once, and the
    launcher forwards what a rank printed just before only if it gets a moment to (measured here: without the
    wait, the traceback of a failing rank was sometimes cut short)."""
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    time.sleep(ABORT_GRACE_SECONDS)
