"""The figures of the documentation: every docs/figures/<name>.py writes a valid image, and every
figure a page shows has its script.

Figures are generated, never committed: ``.ci/docs`` runs each script as
``python docs/figures/<name>.py docs/assets/figures`` before the site is built,
and the script writes ``<name>.png`` (or ``.svg``) there using minigrad itself.
"""

from __future__ import annotations

import os
import re
import shutil
import struct
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FIGURES = ROOT / "docs" / "figures"
SCRIPTS = sorted(p for p in FIGURES.glob("*.py") if not p.name.startswith("_"))
FIGURE_REF = re.compile(r"\]\((?:\.\./)+assets/figures/([\w.-]+)\)")


def check_png(data: bytes) -> None:
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG file"
    assert data[12:16] == b"IHDR", "PNG without its header chunk"
    width, height = struct.unpack(">II", data[16:24])
    assert width > 50 and height > 50, f"a {width} x {height} image"
    assert data.rstrip(b"\0").endswith(b"IEND\xaeB`\x82"), "truncated PNG (no IEND chunk)"


def check_svg(data: bytes) -> None:
    root = ET.fromstring(data)
    assert root.tag.endswith("svg"), f"root element {root.tag!r}, not svg"
    assert len(list(root.iter())) > 5, "an SVG with next to nothing in it"


def test_png_check_rejects_broken_files():
    with pytest.raises(AssertionError, match="not a PNG"):
        check_png(b"GIF89a" + b"\0" * 40)
    header = b"\x89PNG\r\n\x1a\n" + b"\0\0\0\rIHDR" + struct.pack(">II", 640, 480)
    with pytest.raises(AssertionError, match="truncated"):
        check_png(header + b"\0" * 20)
    with pytest.raises(AssertionError, match="svg"):
        check_svg(b"<html><body/></html>")


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.stem)
def test_figure_script_writes_its_image(script: Path, tmp_path: Path) -> None:
    pytest.importorskip("matplotlib", reason="matplotlib (the plot extra) is not installed")
    source = script.read_text(encoding="utf-8")
    if "viz" in source or "draw_graph" in source:
        pytest.importorskip("graphviz", reason="the graphviz package (the viz extra) is not installed")
        if shutil.which("dot") is None:
            pytest.skip("Graphviz's dot program is not installed")
    run = subprocess.run([sys.executable, str(script), str(tmp_path)], capture_output=True, text=True,
                         timeout=120, cwd=tmp_path, env={**os.environ, "MPLBACKEND": "Agg"})
    assert run.returncode == 0, f"{script.name} failed:\n{run.stderr[-3000:]}"
    written = sorted(p.name for p in tmp_path.iterdir())
    images = [p for p in tmp_path.iterdir() if p.name in (f"{script.stem}.png", f"{script.stem}.svg")]
    assert images, f"{script.name} wrote {written}, not {script.stem}.png or .svg"
    for image in images:
        data = image.read_bytes()
        (check_png if image.suffix == ".png" else check_svg)(data)


def test_every_figure_shown_has_its_script() -> None:
    names = {p.stem for p in SCRIPTS}
    missing = []
    for page in sorted((ROOT / "docs").rglob("*.md")):
        if "assets" in page.relative_to(ROOT / "docs").parts:
            continue
        for ref in FIGURE_REF.findall(page.read_text(encoding="utf-8")):
            if Path(ref).stem not in names:
                missing.append(f"{page.relative_to(ROOT).as_posix()}: {ref}")
    assert not missing, f"figures without a script in docs/figures/: {missing}"
