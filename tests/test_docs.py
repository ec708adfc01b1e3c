"""The code in the documentation runs: every page's Python blocks, in order, in one namespace.

Convention for docs/**/*.md: a block is executed only when its opening fence
line is exactly ```python (at the start of the line, nothing after it). Give a
block any other fence to show code without running it, e.g. ```py for a
fragment, ```bash for shell commands, ```text for output. Blocks indented
inside admonitions or lists are not executed either, except inside an
exercise's worked solution, the collapsible admonition opened by a line
exactly ``??? success "Solution"``: its body (indented four spaces) is read as
if it were not indented, so its ```python blocks run in the page's namespace,
in order with the others.

No line inside a code block of a page is wider than ``CODE_WIDTH`` characters
(counted from the fence's indentation), so code fits the content column.

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
SOLUTION = '??? success "Solution"'
INDENT = "    "
CODE_WIDTH = 88  # characters of code that fit Material's content column without a scroll bar


def doc_pages() -> list[Path]:
    """Every page of the site, and the README (its taste of the API must run too)."""
    pages = sorted(DOCS.rglob("*.md"))
    return [p for p in pages if not SKIP_DIRS & set(p.relative_to(DOCS).parts[:-1])] + [DOCS.parent / "README.md"]


def pages_with_code() -> list[Path]:
    return [p for p in doc_pages() if python_blocks(p.read_text(encoding="utf-8"))]


def python_blocks(text: str) -> list[tuple[int, str]]:
    """``(first line number, code)`` of each block fenced exactly ```python, in order."""
    blocks = []
    lines = solutions_dedented(text.splitlines())
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


def solutions_dedented(lines: list[str]) -> list[str]:
    """``lines`` with the body of every ``??? success "Solution"`` admonition un-indented (line numbers kept)."""
    out = list(lines)
    inside = False
    for i, line in enumerate(lines):
        if line.rstrip() == SOLUTION:
            inside = True
        elif inside and line.strip() and not line.startswith(INDENT):
            inside = False
        elif inside:
            out[i] = line[len(INDENT):]
    return out


def code_lines(text: str) -> list[tuple[int, str]]:
    """``(line number, text after the fence's indentation)`` of every line inside any fenced code block."""
    found = []
    fence_indent = None
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.lstrip(" ")
        if fence_indent is None:
            if stripped.startswith(FENCE):
                fence_indent = len(line) - len(stripped)
        elif stripped.rstrip() == FENCE:
            fence_indent = None
        else:
            found.append((number, line[fence_indent:]))
    return found


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


def test_solution_blocks_run_other_indented_blocks_do_not():
    text = "\n".join(
        [
            "```python",
            "a = 1",
            "```",
            '!!! note "An aside"',
            "    ```python",
            "    raise SystemExit",
            "    ```",
            '??? success "Solution"',
            "    In words first.",
            "",
            "    ```python",
            "    b = a + 1",
            "    assert b == 2",
            "    ```",
            "After the solution.",
            "    ```python",
            "    raise SystemExit",
            "    ```",
        ]
    )
    assert python_blocks(text) == [(2, "a = 1"), (12, "b = a + 1\nassert b == 2")]


def test_code_lines_are_counted_from_the_fence():
    text = "\n".join(["text " * 30, "```text", "x" * 5, "```", "    ```py", "    " + "y" * 7, "    ```"])
    assert code_lines(text) == [(3, "xxxxx"), (6, "yyyyyyy")]


def test_code_fits_the_content_column():
    wide = []
    for page in doc_pages():
        if not page.is_relative_to(DOCS):
            continue  # the README is read on GitHub, not in the site's column
        for number, line in code_lines(page.read_text(encoding="utf-8")):
            if len(line) > CODE_WIDTH:
                wide.append(f"{page.relative_to(DOCS).as_posix()}:{number} ({len(line)} characters)")
    assert not wide, f"code lines wider than {CODE_WIDTH} characters: " + ", ".join(wide)


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
