"""glibc's heap thresholds for a training process: large temporaries reused, not faulted in again.

A recurrent layer's training step allocates and frees the same large arrays at
every batch: the input projection and the saved gates of every step, ``(T, N, G)``
each (39 MB for the sentiment model's bidirectional LSTM on a batch of 128 IMDB
reviews of 300 words). glibc serves any request above its mmap threshold (at most
32 MiB by its dynamic rule) with a fresh ``mmap`` and returns it to the system
on ``free``, and trims the heap top above its trim threshold (128 KiB by
default), so every batch faults the same memory in again, page by page.
Measured here: allocating and filling a 39 MB array took 5.8 ms, against
1.5 ms for filling one already mapped; raising both thresholds makes the
second allocation reuse the pages (1.4 ms).

[`tune_malloc`][minigrad.malloc.tune_malloc] raises both thresholds for the whole process, and
``import minigrad`` calls it, so every program gets the reuse, not only ``minigrad run`` and
``minigrad bench``: the composed LSTM's training step at the benchmark's small size
(N 32, T 35, I 64, H 128) faulted in about 4,400 pages (17 MB) per step without it, in a
process whose heap had been left in the state importing SciPy leaves, and took 1.3-1.8x longer.
The cost: the process keeps up to `TRIM_THRESHOLD_BYTES` of freed memory mapped
for its next allocations. ``MINIGRAD_MALLOPT=0`` (set before the import) leaves glibc's defaults.
"""

from __future__ import annotations

import ctypes
import os
import sys

MALLOPT_ENV = "MINIGRAD_MALLOPT"
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # mallopt's parameter numbers (malloc.h)
# requests up to this size come from the heap (the longest IMDB batch's saved gates: about 330 MB)
MMAP_THRESHOLD_BYTES = 1 << 30
# freed memory at the heap top is kept up to this size
TRIM_THRESHOLD_BYTES = 1 << 30


_tuned = False


def tune_malloc() -> bool:
    """Raise glibc's mmap threshold and heap trim threshold (1 GiB each) for this process.

    Process-wide and harmless to results: only where freed memory goes changes.
    Does nothing when ``$MINIGRAD_MALLOPT`` is ``0``, off Linux, or with another C
    library than glibc (musl has no ``mallopt``).

    Returns:
        True when both thresholds were set.
    """
    if os.environ.get(MALLOPT_ENV, "1") == "0" or not sys.platform.startswith("linux"):
        return False
    global _tuned
    try:
        libc = ctypes.CDLL("libc.so.6")
        _tuned = bool(libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES)) and \
            bool(libc.mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD_BYTES))
    except (OSError, AttributeError):  # not glibc
        return False
    return _tuned


def is_tuned() -> bool:
    """True when `tune_malloc` has set both thresholds in this process (``import minigrad`` calls it)."""
    return _tuned
