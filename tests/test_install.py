"""A non-editable ``pip install .`` gives a ``minigrad`` command that finds and runs the examples.

The package is built from a copy of the source into a fresh virtualenv, offline: no build isolation, no
dependencies installed (the new environment sees this one's packages through a ``.pth`` file), no index.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ["README.md", "pyproject.toml", "setup.py", "minigrad", "backends", "examples"]


def run(*args: str | Path, cwd: Path) -> str:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    proc = subprocess.run([str(a) for a in args], capture_output=True, text=True, cwd=cwd, env=env, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """The ``bin`` folder of a virtualenv with minigrad installed from a copy of the source, not editable."""
    for needed in ("pip", "setuptools"):  # setuptools: the build runs here, without build isolation
        if importlib.util.find_spec(needed) is None:
            pytest.skip(f"{needed} is not installed here (pip install -e '.[dev]' installs it)")
    tmp = tmp_path_factory.mktemp("install")
    src = tmp / "src"
    src.mkdir()
    for name in SOURCE:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, src / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(ROOT / name, src / name)
    env_dir = tmp / "env"
    venv.create(env_dir, with_pip=False)
    bin_dir = env_dir / ("Scripts" if os.name == "nt" else "bin")
    python = bin_dir / Path(sys.executable).name
    site = run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])", cwd=tmp).strip()
    ours = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    Path(site, "deps.pth").write_text("\n".join(sorted(ours)) + "\n")  # numpy, click, ... (not minigrad: no .pth)
    run(sys.executable, "-m", "pip", "--python", python, "install", "-q", "--no-deps", "--no-build-isolation",
        "--no-index", src, cwd=tmp)
    shutil.rmtree(src)  # the installed command must not need the source
    return bin_dir


def test_the_package_and_its_examples_come_from_the_install(installed, tmp_path):
    python = installed / Path(sys.executable).name
    out = run(python, "-c", "import minigrad, minigrad.cli as c; print(minigrad.__file__); print(c.EXAMPLES_DIR)",
              cwd=tmp_path)
    package, examples = (Path(line) for line in out.splitlines())
    assert installed.parent in package.parents and examples == package.parent / "examples"


def test_minigrad_examples_lists_all_seven(installed, tmp_path):
    out = run(installed / "minigrad", "examples", cwd=tmp_path)
    names = [line.split()[0] for line in out.splitlines()[:7]]
    assert names == ["bidirectional", "charlm", "memory", "seed", "sentiment", "seq2seq", "vanishing"], out


def test_examples_run_with_their_data(installed, tmp_path):
    assert run(installed / "minigrad", "run", "seed", "--quiet", cwd=tmp_path).startswith("seed: 31 and 34 parameters")
    out = run(installed / "minigrad", "run", "charlm", "--epochs", "1", "--hidden", "8", "--embed", "8",
              "--sample-length", "0", "--quiet", cwd=tmp_path)  # reads its default text, shipped with it
    assert out.startswith("charlm: validation ")
