"""The code in the documentation runs: every page's Python blocks, in order, in one namespace.

Convention for docs/**/*.md: a block is executed only when its opening fence
line is exactly ```python (at the start of the line, nothing after it). Give a
block any other fence to show code without running it, e.g. ```py for a
fragment, ```bash for shell commands, ```text for output. Blocks indented
inside admonitions or lists are not executed either.

The blocks of one page share a namespace, like a reader's session, and run in a
temporary working directory with matplotlib's non-interactive Agg backend and
in a copy of the current context, so anything they change with set_backend()
or no_grad does not leak into other tests.
"""

from __future__ import annotations

import contextvars
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parent.parent / "docs"
# third-party files copied into docs/ at build time (KaTeX) are not our pages
SKIP_DIRS = {"assets"}
# pages that teach with code: they must keep at least one executed block
PAGES_WITH_CODE = {
    "index.md", "getting-started.md", "guides/training-loop.md", "guides/truncated-bptt.md", "guides/inspector.md",
    "course/forward.md", "course/bptt.md", "course/lstm-gru.md", "course/bidirectional.md", "course/padding.md",
}
PAGES_WITH_CODE |= {f"{p.parent.name}/{p.name}" for d in ("beyond", "engine", "howto") for p in (DOCS / d).glob("*.md")}

FENCE_RUN = "```python"
FENCE = "```"


def doc_pages() -> list[Path]:
    """Every page of the site, and the README (its taste of the API must run too)."""
    pages = sorted(DOCS.rglob("*.md"))
    return [p for p in pages if not SKIP_DIRS & set(p.relative_to(DOCS).parts[:-1])] + [DOCS.parent / "README.md"]


def pages_with_code() -> list[Path]:
    return [p for p in doc_pages() if python_blocks(p.read_text(encoding="utf-8"))]


def python_blocks(text: str) -> list[tuple[int, str]]:
    """``(first line number, code)`` of each block fenced exactly ```python, in order."""
    blocks = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i].rstrip()
        if line.startswith(FENCE):
            run = line == FENCE_RUN
            start = i + 1
            i += 1
            while i < len(lines) and lines[i].rstrip() != FENCE:
                i += 1
            if i == len(lines):
                raise ValueError(f"unclosed code fence opened on line {start}")
            if run:
                blocks.append((start + 1, "\n".join(lines[start:i])))
        i += 1
    return blocks


def test_python_blocks_convention():
    text = "\n".join(
        [
            "```python",
            "a = 1",
            "```",
            '```python title="skip"',
            "raise SystemExit",
            "```",
            "```bash",
            "echo no",
            "```",
            "```python",
            "b = a + 1",
            "```",
        ]
    )
    assert python_blocks(text) == [(2, "a = 1"), (11, "b = a + 1")]


def test_teaching_pages_keep_their_code():
    with_code = {p.relative_to(DOCS).as_posix() for p in pages_with_code() if p.is_relative_to(DOCS)}
    missing = {page for page in PAGES_WITH_CODE if page not in with_code}
    assert not missing, f"these pages should contain at least one ```python block: {sorted(missing)}"


@pytest.mark.parametrize("page", pages_with_code(), ids=lambda p: p.relative_to(DOCS.parent).as_posix())
def test_doc_page_code_runs(page: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rel = page.relative_to(DOCS.parent).as_posix()
    blocks = python_blocks(page.read_text(encoding="utf-8"))

    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.chdir(tmp_path)
    namespace: dict = {"__name__": f"docs.{rel}"}

    def run_all() -> None:
        for line, code in blocks:
            # pad with newlines so tracebacks point at the line in the .md file
            exec(compile("\n" * (line - 1) + code, str(page), "exec"), namespace)

    contextvars.copy_context().run(run_all)
