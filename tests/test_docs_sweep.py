"""The hyperparameter sweep of the page *Training on many machines* runs as the page shows it.

The page shows ``sweep.py`` in a block fenced exactly ```py title="sweep.py"``` (not run by
tests/test_docs.py: it is a script that starts a Dask cluster); this test writes that block to a file and
runs it in a fresh interpreter when Dask is installed (CI installs it), and checks what it prints.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PAGE = Path(__file__).resolve().parent.parent / "docs" / "guides" / "distributed.md"
FENCE = '```py title="sweep.py"'


def sweep_script() -> str:
    lines = PAGE.read_text(encoding="utf-8").splitlines()
    start = lines.index(FENCE) + 1
    end = lines.index("```", start)
    return "\n".join(lines[start:end]) + "\n"


def test_the_page_keeps_its_sweep_script():
    code = sweep_script()
    compile(code, "sweep.py", "exec")  # valid Python
    assert "--metrics" in code and "client.map" in code


def test_the_sweep_runs_and_ranks_four_trainings(tmp_path: Path):
    pytest.importorskip("dask.distributed", reason="Dask is not installed (pip install 'dask[distributed]')")
    script = tmp_path / "sweep.py"
    script.write_text(sweep_script(), encoding="utf-8")
    done = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    rows = [ast.literal_eval(line) for line in done.stdout.splitlines() if line.startswith("{")]
    assert sorted((r["hidden"], r["lr"]) for r in rows) == sorted((h, lr) for h in (32, 64) for lr in (3e-3, 1e-2))
    accuracies = [r["valid_accuracy"] for r in rows]
    assert accuracies == sorted(accuracies, reverse=True)  # best first, as the page says
    assert all(0.0 <= a <= 1.0 for a in accuracies)
