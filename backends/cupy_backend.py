"""The GPU backend: CuPy arrays, imported only when first asked for."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from backends.base import Backend

INSTALL_HINT = "install it with `pip install 'minigrad[cuda]'` on a machine with an NVIDIA GPU and CUDA 12"
GPU_HINT = "check the NVIDIA driver and GPU with `nvidia-smi`, or use the 'numpy' backend"


class CupyBackend(Backend):
    """The shared backend with the few CuPy-specific primitives.

    Args:
        cupy: the ``cupy`` module (or a module with its API: the test suite's CPU stand-in).
        cupyx: the ``cupyx`` module, for ``scatter_add``.
        name: the registry name.
    """

    def __init__(self, cupy: Any, cupyx: Any, name: str = "cupy") -> None:
        super().__init__(name, cupy)
        self._cupyx = cupyx

    def to_numpy(self, a: Any) -> np.ndarray:
        return self.xp.asnumpy(a)

    def scatter_add(self, target: Any, index: Any, values: Any) -> None:
        self._cupyx.scatter_add(target, index, values)

    def synchronize(self) -> None:
        self.xp.cuda.get_current_stream().synchronize()


def unavailable_reason() -> str | None:
    """Why CuPy cannot be used here, or None when it can.

    ``import cupy`` succeeds on machines without a GPU, and the first array then
    fails with a CUDA driver error, so availability also asks ``cupy.is_available()``.
    """
    try:
        import cupy
    except Exception as e:  # ImportError, or a broken CUDA installation
        return f"cupy could not be imported ({type(e).__name__}: {e}); {INSTALL_HINT}"
    try:
        ok = cupy.is_available()
    except Exception as e:
        return f"cupy imported but CUDA is not usable ({type(e).__name__}: {e}); {GPU_HINT}"
    if not ok:
        return f"cupy imported but found no usable CUDA GPU (cupy.is_available() is False); {GPU_HINT}"
    return None


def _version(v: int) -> str:
    """CUDA's version integer (``12040``) as ``12.4``."""
    return f"{v // 1000}.{v % 1000 // 10}"


def _driver_without_cupy() -> tuple[str, str]:
    """``(driver, GPUs)`` asked of the CUDA driver library directly, for when CuPy cannot be imported."""
    import ctypes
    import sys

    name = "nvcuda.dll" if sys.platform == "win32" else "libcuda.so.1"
    try:
        lib = ctypes.CDLL(name)
    except OSError as e:
        return f"not found ({name} could not be loaded: {e}); install the NVIDIA driver", "0 (no CUDA driver)"
    v, n = ctypes.c_int(0), ctypes.c_int(0)
    status = lib.cuDriverGetVersion(ctypes.byref(v))
    driver = f"{_version(v.value)} ({name})" if status == 0 else f"{name} found but cuDriverGetVersion gave {status}"
    status = lib.cuInit(0) or lib.cuDeviceGetCount(ctypes.byref(n))
    return driver, f"{n.value}" if status == 0 else f"0 (cuInit/cuDeviceGetCount gave CUresult {status})"


def diagnose() -> list[tuple[str, str]]:
    """What this machine has for the CuPy backend: ``(what, finding)`` for the CuPy package, the CUDA
    runtime and driver, the GPUs and whether the backend is usable, one line each, each found without
    raising (a missing piece is said, with the error that showed it)."""
    lines: list[tuple[str, str]] = []
    try:
        import cupy
    except ImportError as e:
        cupy, why = None, f"not installed ({e}); {INSTALL_HINT}"
    except Exception as e:  # a broken CUDA installation can fail the import itself
        cupy, why = None, f"installed but its import failed ({type(e).__name__}: {e})"
    lines.append(("cupy package", why if cupy is None else f"{cupy.__version__} ({Path(cupy.__file__).parent})"))
    if cupy is None:
        driver, gpus = _driver_without_cupy()
        lines += [("CUDA runtime", "unknown without cupy (cupy reports the runtime it loads)"),
                  ("CUDA driver", driver), ("GPUs", gpus)]
    else:
        runtime = cupy.cuda.runtime
        for what, ask in (("CUDA runtime", runtime.runtimeGetVersion), ("CUDA driver", runtime.driverGetVersion)):
            try:
                lines.append((what, _version(ask())))
            except Exception as e:
                lines.append((what, f"not found ({type(e).__name__}: {e})"))
        try:
            n = runtime.getDeviceCount()
            names = [runtime.getDeviceProperties(i)["name"] for i in range(n)]
            names = [x.decode() if isinstance(x, bytes) else str(x) for x in names]
            lines.append(("GPUs", f"{n}" + (f" ({', '.join(names)})" if names else "")))
        except Exception as e:
            lines.append(("GPUs", f"0 ({type(e).__name__}: {e})"))
    reason = unavailable_reason()
    lines.append(("cupy backend", "usable" if reason is None else f"not usable: {reason}"))
    return lines


def create() -> Backend:
    """The CuPy backend; raises RuntimeError saying why when it is unavailable."""
    reason = unavailable_reason()
    if reason is not None:
        raise RuntimeError(f"backend 'cupy' is not available: {reason}")
    import cupy
    import cupyx

    return CupyBackend(cupy, cupyx)
