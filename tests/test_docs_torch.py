"""Pages whose code compares minigrad with PyTorch run it when torch is installed (and skip without).

Convention for docs/**/*.md: a block fenced exactly ```python title="needs PyTorch" is shown as Python
under that title; tests/test_docs.py does not run it (its fence is not exactly ```python), this file does.
Every page with such a block runs here as a whole: its ```python blocks and its PyTorch blocks, in page
order, in one namespace, in a temporary working directory, in a copy of the current context.
"""

from __future__ import annotations

import contextvars
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parent.parent / "docs"
FENCE_RUN = "```python"
FENCE_TORCH = '```python title="needs PyTorch"'
PAGES_WITH_TORCH = {"howto/pytorch-weights.md"}  # pages that must keep at least one PyTorch block


def blocks(text: str) -> list[tuple[int, str, bool]]:
    """``(first line number, code, needs torch)`` of each top-level ```python or PyTorch block, in order."""
    found, lines, i = [], text.splitlines(), 0
    while i < len(lines):
        fence = lines[i].rstrip()
        if fence.startswith("```"):
            start = i + 1
            i += 1
            while i < len(lines) and lines[i].rstrip() != "```":
                i += 1
            if fence in (FENCE_RUN, FENCE_TORCH):
                found.append((start + 1, "\n".join(lines[start:i]), fence == FENCE_TORCH))
        i += 1
    return found


def torch_pages() -> list[Path]:
    pages = [p for p in sorted(DOCS.rglob("*.md")) if "assets" not in p.relative_to(DOCS).parts]
    return [p for p in pages if any(torch for *_, torch in blocks(p.read_text(encoding="utf-8")))]


def test_blocks_convention():
    text = "\n".join(["```python", "a = 1", "```", FENCE_TORCH, "b = 2", "```", "```py", "c = 3", "```"])
    assert blocks(text) == [(2, "a = 1", False), (5, "b = 2", True)]


def test_the_pytorch_pages_keep_their_pytorch_code():
    assert {p.relative_to(DOCS).as_posix() for p in torch_pages()} >= PAGES_WITH_TORCH


@pytest.mark.parametrize("page", torch_pages(), ids=lambda p: p.relative_to(DOCS).as_posix())
def test_page_runs_against_pytorch(page: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("torch", reason="the page compares with PyTorch, which is not installed")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.chdir(tmp_path)
    namespace: dict = {"__name__": f"docs.{page.stem}"}

    def run_all() -> None:
        for line, code, _ in blocks(page.read_text(encoding="utf-8")):
            exec(compile("\n" * (line - 1) + code, str(page), "exec"), namespace)

    contextvars.copy_context().run(run_all)
