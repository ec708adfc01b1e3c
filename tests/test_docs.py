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

An output block is a block fenced ```text that follows a ```python block with
only blank lines between them: it shows what that block prints, and the test
compares the two. Whitespace and line breaks do not count (a long line may be
wrapped to fit the page), a line or a word ``...`` stands for any text left
out, and numbers agree when they differ by at most 1% (they may move in the
last digits with the BLAS); integers must be equal. Numbers that depend on the
machine (timings, rounding at the level of 1e-16) are not compared when the
output block's fence says so with a title that contains "varies" or "vary",
e.g. ```text title="timings vary with the machine"; its text is still
compared, and the title tells the reader.
"""

from __future__ import annotations

import contextlib
import contextvars
import io
import math
import re
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
FENCE_OUTPUT = "```text"
VARIES = re.compile(r'^```text title="[^"]*\bvar(?:y|ies)\b[^"]*"$')
NUMBER = r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?"
TOKEN = re.compile(rf"\.\.\.|{NUMBER}|\w+|\S")
ELLIPSIS = "..."
RTOL = 0.01  # numbers in an output block agree with the printed ones to about 2 significant digits


def doc_pages() -> list[Path]:
    """Every page of the site, and the README (its taste of the API must run too)."""
    pages = sorted(DOCS.rglob("*.md"))
    return [p for p in pages if not SKIP_DIRS & set(p.relative_to(DOCS).parts[:-1])] + [DOCS.parent / "README.md"]


def pages_with_code() -> list[Path]:
    return [p for p in doc_pages() if python_blocks(p.read_text(encoding="utf-8"))]


def python_blocks(text: str) -> list[tuple[int, str]]:
    """``(first line number, code)`` of each block fenced exactly ```python, in order."""
    return [(line, code) for line, code, _ in blocks_with_output(text)]


def blocks_with_output(text: str) -> list[tuple[int, str, tuple[int, str, bool] | None]]:
    """``(first line number, code, output)`` of each ```python block, in order.

    ``output`` is ``(first line number, text, numbers vary)`` of the output block right after it, or None.
    """
    found = []  # (first line, code, index of the closing fence)
    fences = []  # (index of the opening fence, its line, index of the closing fence)
    lines = solutions_dedented(text.splitlines())
    i = 0
    while i < len(lines):
        line = lines[i].rstrip()
        if line.startswith(FENCE):
            opening = i
            start = i + 1
            i += 1
            while i < len(lines) and lines[i].rstrip() != FENCE:
                i += 1
            if i == len(lines):
                raise ValueError(f"unclosed code fence opened on line {start}")
            fences.append((opening, line, i))
            if line == FENCE_RUN:
                found.append((start + 1, "\n".join(lines[start:i]), i))
        i += 1
    openings = {opening: (line, closing) for opening, line, closing in fences}
    blocks = []
    for first, code, closing in found:
        after = closing + 1
        while after < len(lines) and not lines[after].strip():
            after += 1
        output = None
        if after in openings:
            fence, end = openings[after]
            if fence == FENCE_OUTPUT or VARIES.match(fence):
                output = (after + 2, "\n".join(lines[after + 1:end]), bool(VARIES.match(fence)))
        blocks.append((first, code, output))
    return blocks


def _same_token(expected: str, printed: str, numbers_vary: bool) -> bool:
    if expected == printed:
        return True
    if not (re.fullmatch(NUMBER, expected) and re.fullmatch(NUMBER, printed)):
        return False
    if numbers_vary:
        return True
    if not re.search(r"[.eE]", expected + printed):
        return False  # integers (counts, sizes, epochs) are exact
    a, b = float(expected), float(printed)
    return math.isclose(a, b, rel_tol=RTOL)


def _find(segment: list[str], printed: list[str], start: int, numbers_vary: bool) -> int:
    """The first index at or after ``start`` where ``segment`` matches ``printed``, or -1."""
    for at in range(start, len(printed) - len(segment) + 1):
        if all(_same_token(e, p, numbers_vary) for e, p in zip(segment, printed[at:])):
            return at
    return -1


def _difference_at(segment: list[str], printed: list[str], at: int, numbers_vary: bool) -> str | None:
    """What differs between ``segment`` and ``printed[at:]``, word by word, or None when they agree."""
    for k, (e, p) in enumerate(zip(segment, printed[at:])):
        if not _same_token(e, p, numbers_vary):
            shown = " ".join(segment[max(0, k - 6):k + 4])
            return f"shows {shown!r}, prints {' '.join(printed[max(at, at + k - 6):at + k + 4])!r}"
    return None


def output_difference(expected: str, printed: str, numbers_vary: bool = False) -> str | None:
    """None when ``printed`` is what the output block ``expected`` shows, else what differs (see the module).

    A line of ``expected`` that starts with ``$`` shows the command that prints the rest, and is skipped.
    """
    expected = "\n".join(line for line in expected.splitlines() if not line.startswith("$"))
    want, got = TOKEN.findall(expected), TOKEN.findall(printed)
    segments: list[list[str]] = [[]]
    for token in want:
        if token == ELLIPSIS:
            segments.append([])
        else:
            segments[-1].append(token)
    head, *middle = segments
    tail = middle.pop() if middle else None
    if len(got) < len(head) + len(tail or []):
        return f"shows more than it prints ({len(want)} words and numbers, {len(got)} printed)"
    difference = _difference_at(head, got, 0, numbers_vary)
    if difference:
        return difference
    if tail is None:
        if len(got) != len(head):
            return f"shows {len(head)} words and numbers, prints {len(got)}: {' '.join(got[len(head):][:12])!r}..."
        return None
    position = len(head)
    for segment in middle:
        found = _find(segment, got, position, numbers_vary)
        if found < 0:
            return f"shows {' '.join(segment[:12])!r}..., which it does not print"
        position = found + len(segment)
    end = len(got) - len(tail)
    if end < position:
        return "shows more than it prints"
    return _difference_at(tail, got, end, numbers_vary)


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


def test_an_output_block_belongs_to_the_python_block_right_before_it():
    text = "\n".join(
        [
            "```python",
            "print(1)",
            "```",
            "",
            "```text",
            "1",
            "```",
            "```python",
            "print(2.5)",
            "```",
            '```text title="timings vary with the machine"',
            "2.5",
            "```",
            "```python",
            "print(3)",
            "```",
            "Words between: the next block is not its output.",
            "```text",
            "3",
            "```",
        ]
    )
    assert blocks_with_output(text) == [
        (2, "print(1)", (6, "1", False)),
        (9, "print(2.5)", (12, "2.5", True)),
        (15, "print(3)", None),
    ]


@pytest.mark.parametrize(
    "shown, printed",
    [
        ("loss 0.883609", "loss 0.883609\n"),
        ("a long line\n  wrapped", "a long line wrapped"),  # whitespace and line breaks do not count
        ("loss 0.8836", "loss 0.8830"),  # within 1%
        ("first\n...\nlast 2", "first\nmiddle 1\nmore\nlast 2"),  # a line ... stands for lines left out
        ("created at /.../page.md:5", "created at /home/u/docs/page.md:5"),
        ("$ python train.py   # the command\nepoch 1", "epoch 1"),
    ],
)
def test_output_that_matches(shown, printed):
    assert output_difference(shown, printed) is None


@pytest.mark.parametrize(
    "shown, printed, named",
    [
        ("max difference 0.0e+00", "max difference 3.5e-18", "3.5e-18"),  # 0 is not close to anything else
        ("accuracy 95.0%", "accuracy 98.0%", "98.0"),
        ("43148 parameters", "43149 parameters", "43149"),  # integers are exact
        ("created at /.../page.md:55", "created at /home/u/docs/page.md:56", "56"),
        ("epoch 1\n...\nepoch 9", "epoch 1\nepoch 2\nepoch 10", "10"),
        ("epoch 1", "epoch 1\nepoch 2", "epoch 2"),  # printed more than shown
        ("epoch 1\nepoch 2", "epoch 1", "more than it prints"),
        ("first\n...\nmiddle\n...\nlast", "first\nlast", "middle"),
    ],
)
def test_output_that_drifted_is_named(shown, printed, named):
    difference = output_difference(shown, printed)
    assert difference is not None and named in difference


def test_numbers_that_vary_are_not_compared_but_the_words_are():
    assert output_difference("took 1.2 s", "took 3.4 s", numbers_vary=True) is None
    assert output_difference("took 1.2 s", "took 3.4 ms", numbers_vary=True) is not None


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
    blocks = blocks_with_output(page.read_text(encoding="utf-8"))

    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.chdir(tmp_path)
    namespace: dict = {"__name__": f"docs.{rel}"}

    drift = []

    def run_all() -> None:
        for line, code, output in blocks:
            printed = io.StringIO()
            with contextlib.redirect_stdout(printed):
                # pad with newlines so tracebacks point at the line in the .md file
                exec(compile("\n" * (line - 1) + code, str(page), "exec"), namespace)
            if output is not None:
                output_line, expected, numbers_vary = output
                difference = output_difference(expected, printed.getvalue(), numbers_vary)
                if difference:
                    drift.append(f"{rel}:{output_line}: the output block {difference}; the block prints:\n"
                                 f"{printed.getvalue()}")

    contextvars.copy_context().run(run_all)
    assert not drift, "\n".join(drift)
