"""glibc's heap thresholds: a freed large array's pages are reused by the next one (minigrad.malloc)."""

import subprocess
import sys
import textwrap

import pytest

from minigrad import malloc

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")

# In a fresh interpreter: the page faults of allocating and filling a 40 MB array the second time.
SECOND_ALLOCATION_FAULTS = textwrap.dedent("""
    import resource, sys
    import numpy as np
    if sys.argv[1] == "imported":
        import minigrad
    np._core.multiarray._set_madvise_hugepage(False)  # 4 KiB pages: a fault per page
    n = 10_000_000
    np.empty(n, np.float32).fill(1.0)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    np.empty(n, np.float32).fill(2.0)
    print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
""")


def _faults(mode, env=None):
    import os

    out = subprocess.run([sys.executable, "-c", SECOND_ALLOCATION_FAULTS, mode], capture_output=True, text=True,
                         env={**os.environ, **(env or {})}, timeout=120)
    assert out.returncode == 0, out.stderr
    return int(out.stdout.split()[-1])


def test_importing_minigrad_makes_a_freed_large_array_s_pages_reused_unless_turned_off():
    pages = 40_000_000 // 4096
    assert _faults("numpy alone") > pages // 2  # glibc maps it afresh: one fault per page
    assert _faults("imported") < pages // 20
    assert _faults("imported", {"MINIGRAD_MALLOPT": "0"}) > pages // 2


def test_tuning_can_be_turned_off(monkeypatch):
    assert malloc.is_tuned()  # the import of minigrad set the thresholds
    monkeypatch.setenv("MINIGRAD_MALLOPT", "0")
    assert malloc.tune_malloc() is False
