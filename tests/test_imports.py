"""Import hygiene: lazy CuPy, every module importable alone, array libraries only via backends."""

from __future__ import annotations

import ast
import os
import pkgutil
import subprocess
import sys
from pathlib import Path

import backends
import minigrad

ROOT = Path(__file__).resolve().parents[1]
ARRAY_LIBRARIES = {"numpy", "cupy", "cupyx"}


def _python(code: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "MINIGRAD_BACKEND"}
    return subprocess.run(
        [sys.executable, "-c", code], check=False, capture_output=True, text=True, cwd=ROOT, env=env, timeout=60
    )


def test_import_minigrad_does_not_import_cupy():
    proc = _python(
        "import sys, minigrad, minigrad.nn, backends\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('cupy', 'cupyx')))\n"
        "print(minigrad.__version__)"
    )
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines == ["[]", minigrad.__version__], proc.stdout


def test_import_minigrad_does_not_import_mpi():
    """mpi4py (and with it MPI_Init) only when a launcher started several processes: not on import."""
    proc = _python(
        "import sys, minigrad, minigrad.nn, minigrad.data\n"
        "print('minigrad.distributed' in sys.modules)\n"
        "import minigrad.cli, minigrad.runner, minigrad.distributed as dist\n"
        "print(dist.init().size, sorted(m for m in sys.modules if m.split('.')[0] == 'mpi4py'))"
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == ["False", "1 []"], proc.stdout


def _all_modules() -> list[str]:
    names = []
    for package in (minigrad, backends):
        names.append(package.__name__)
        for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
            if info.name.rsplit(".", 1)[-1] == "__main__":  # a script: runs the CLI on import
                continue
            names.append(info.name)
    return sorted(set(names))


def test_module_list_is_complete():
    names = _all_modules()
    for expected in (
        "minigrad.autograd",
        "minigrad.tensor",
        "minigrad.ops.elementwise",
        "minigrad.nn.module",
        "backends.base",
        "backends.cupy_backend",
    ):
        assert expected in names
    assert "minigrad.__main__" not in names


FORK_DRIVER = r"""
import os, sys, traceback
import numpy  # the heavy third-party dependency, loaded once before forking
assert not [m for m in sys.modules if m.split(".")[0] in ("minigrad", "backends")]
failed = 0
for name in sys.argv[1:]:
    pid = os.fork()
    if pid == 0:  # the child: a fresh interpreter state with no project module loaded
        try:
            __import__(name)
        except BaseException:
            sys.stderr.write(f"{name}: " + traceback.format_exc().strip().splitlines()[-1] + "\n")
            sys.stderr.flush()
            os._exit(1)
        os._exit(0)
    _, status = os.waitpid(pid, 0)
    if status != 0:
        failed += 1
        sys.stderr.write(f"{name}: child exited with status {status}\n")
print(f"checked {len(sys.argv) - 1}, failed {failed}")
sys.exit(1 if failed else 0)
"""


def test_every_module_imports_alone():
    """Each module is imported in its own process that has loaded no other project module.

    Where ``os.fork`` exists, one interpreter imports NumPy once and forks a child per
    module (fast); elsewhere each module gets its own interpreter.
    """
    env = {k: v for k, v in os.environ.items() if k != "MINIGRAD_BACKEND"}
    names = _all_modules()
    if hasattr(os, "fork"):
        proc = subprocess.run(
            [sys.executable, "-c", FORK_DRIVER, *names],
            check=False,
            capture_output=True,
            text=True,
            cwd=ROOT,
            env=env,
            timeout=120,
        )
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.strip() == f"checked {len(names)}, failed 0"
        return
    failures = {}
    for name in names:
        proc = subprocess.run(
            [sys.executable, "-c", f"import {name}"],
            check=False,
            capture_output=True,
            text=True,
            cwd=ROOT,
            env=env,
            timeout=60,
        )
        if proc.returncode != 0:
            failures[name] = proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else proc.returncode
    assert not failures, failures


# -- static checks -------------------------------------------------------------


def imported_roots(source: str) -> set[str]:
    """Top-level names of every absolute import in ``source`` (anywhere, also inside functions)."""
    roots = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
    return roots


def test_imported_roots_sees_every_form():
    src = (
        "import numpy as np\n"
        "from cupy import asarray\n"
        "def f():\n    import cupyx.scipy\n"
        "from . import sibling\n"
        "import os.path\n"
    )
    assert imported_roots(src) == {"numpy", "cupy", "cupyx", "os"}


def _exempt(rel: Path) -> bool:
    parts = rel.parts
    # dtypes.py uses NumPy's dtype objects only (CuPy shares them), never arrays; the distributed transport
    # opens cupy.cuda.nccl (a communication library, not arrays: the backends have no equivalent)
    exempt = ("minigrad/io.py", "minigrad/cli.py", "minigrad/dtypes.py", "minigrad/distributed/transport.py")
    return parts[:2] == ("minigrad", "data") or rel.as_posix() in exempt


def test_minigrad_reaches_array_libraries_only_through_backends():
    files = sorted((ROOT / "minigrad").rglob("*.py"))
    assert len(files) > 10
    offenders = {}
    for path in files:
        rel = path.relative_to(ROOT)
        if _exempt(rel):
            continue
        bad = imported_roots(path.read_text(encoding="utf-8")) & ARRAY_LIBRARIES
        if bad:
            offenders[rel.as_posix()] = sorted(bad)
    assert not offenders, f"import array libraries through backends instead: {offenders}"


def test_exemptions():
    assert _exempt(Path("minigrad/data/loader.py")) and _exempt(Path("minigrad/data/sub/x.py"))
    assert _exempt(Path("minigrad/io.py")) and _exempt(Path("minigrad/cli.py"))
    assert not _exempt(Path("minigrad/tensor.py")) and not _exempt(Path("minigrad/nn/io.py"))


def test_backends_never_import_minigrad():
    files = sorted((ROOT / "backends").rglob("*.py"))
    assert files
    offenders = [p.name for p in files if "minigrad" in imported_roots(p.read_text(encoding="utf-8"))]
    assert not offenders
