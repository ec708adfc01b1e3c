"""The lessons beyond the notes (docs/beyond/) keep the shape of a lesson.

Each has an equation block, code that the docs tests run (a block fenced exactly ```python), a figure made
by a script (``../assets/figures/NAME.png`` with alt text, and ``docs/figures/NAME.py`` to make it), and a
closing ``## Exercises`` section in which every exercise is followed by its worked solution in a
collapsible ``??? success "Solution"`` block holding code. Every lesson is in the navigation, in the
"Beyond the notes" section.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
LESSONS = sorted((DOCS / "beyond").glob("*.md"))
FIGURE = re.compile(r"!\[([^\]]+)\]\(\.\./assets/figures/([\w-]+)\.(?:png|svg)\)")
EXERCISE = re.compile(r"^\*\*Exercise (\d+)\.\*\*", re.M)
SOLUTION = '??? success "Solution"'


def test_there_are_five_lessons():
    names = {p.stem for p in LESSONS}
    assert {"charlm", "embeddings", "stacked-dropout", "initialisation", "seq2seq"} <= names


@pytest.mark.parametrize("page", LESSONS, ids=lambda p: p.name)
def test_a_lesson_has_an_equation_code_a_figure_and_exercises(page: Path):
    text = page.read_text(encoding="utf-8")
    assert re.search(r"^\$\$$", text, re.M), "no equation block ($$ on a line of its own)"
    assert re.search(r"^```python$", text, re.M), "no code block that the docs tests run"
    figures = FIGURE.findall(" ".join(text.split()))  # alt text may span lines
    assert figures, "no generated figure (../assets/figures/NAME.png)"
    for alt, name in figures:
        assert len(alt.split()) >= 5, f"{name}: the alt text should describe the figure"
        assert (DOCS / "figures" / f"{name}.py").is_file(), f"no script docs/figures/{name}.py makes {name}"
    exercises = text[text.index("\n## Exercises\n"):]
    numbers = EXERCISE.findall(exercises)
    assert numbers and numbers == [str(i) for i in range(1, len(numbers) + 1)]
    parts = EXERCISE.split(exercises)[2::2]  # the text after each exercise's number
    for number, part in zip(numbers, parts):
        assert SOLUTION in part, f"exercise {number} has no solution"
        solution = part[part.index(SOLUTION):]
        assert "    ```python\n" in solution, f"the solution of exercise {number} has no code"


def test_every_lesson_is_in_the_navigation():
    nav = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    section = nav[nav.index("  - Beyond the notes:"):]
    section = section[:section.index("\n  - ", 1)]
    assert {f"beyond/{p.name}" for p in LESSONS} == set(re.findall(r"beyond/[\w-]+\.md", section))
