"""The GPU backend: CuPy arrays, imported only when first asked for."""

from __future__ import annotations

from typing import Any

import numpy as np

from backends.base import Backend

INSTALL_HINT = "install it with `pip install 'minigrad[cuda]'` on a machine with an NVIDIA GPU and CUDA 12"
GPU_HINT = "check the NVIDIA driver and GPU with `nvidia-smi`, or use the 'numpy' backend"


class CupyBackend(Backend):
    """The shared backend with the few CuPy-specific primitives."""

    def __init__(self, cupy: Any, cupyx: Any) -> None:
        super().__init__("cupy", cupy)
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


def create() -> Backend:
    """The CuPy backend; raises RuntimeError saying why when it is unavailable."""
    reason = unavailable_reason()
    if reason is not None:
        raise RuntimeError(f"backend 'cupy' is not available: {reason}")
    import cupy
    import cupyx

    return CupyBackend(cupy, cupyx)
