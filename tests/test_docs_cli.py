"""Command-line transcripts in the documentation print what the page shows.

Convention for docs/**/*.md: a transcript is a block fenced ```text that holds a line
starting with ``$ minigrad``. Its lines starting with ``$ `` are commands, run in order in a
fresh temporary folder: ``minigrad ...`` in this process (click's CliRunner), anything else
(``printf ... > train.tsv``, ``mkdir``) with bash, to make the files the next commands read.
The lines after a ``minigrad`` command, up to the next command, are what it prints, compared
as tests/test_docs.py compares an output block (whitespace and line breaks do not count,
``...`` stands for text left out, numbers agree to 1%). Click's usage lines before an option
error (``Usage: ...`` and ``Try '... --help' for help.``) may be left out of the page.

Transcripts are for what prints at once (errors found before any work, ``--help``); the
output of a training run is shown in a plain ```text block after a ```bash block instead.
"""

from __future__ import annotations

import shlex
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner
from test_docs import DOCS, FENCE, doc_pages, output_difference

from minigrad.cli import main

PROMPT = "$ "
TRANSCRIPT = "$ minigrad "
FENCE_TEXT = "```text"
PAGES_WITH_TRANSCRIPTS = {"examples/seq2seq.md", "examples/sentiment.md", "guides/own-corpus.md"}


def transcripts(text: str) -> list[tuple[int, list[tuple[int, str, str]]]]:
    """``(first line number, [(line number, command, what it prints), ...])`` of each transcript."""
    found, lines, i = [], text.splitlines(), 0
    while i < len(lines):
        fence = lines[i].strip()
        if fence.startswith(FENCE):
            start = i + 1
            i += 1
            while i < len(lines) and lines[i].strip() != FENCE:
                i += 1
            body = [line[len(lines[start - 1]) - len(lines[start - 1].lstrip()):] for line in lines[start:i]]
            if fence.startswith(FENCE_TEXT) and any(line.startswith(TRANSCRIPT) for line in body):
                steps = []
                for number, line in enumerate(body, start=start + 1):
                    if line.startswith(PROMPT):
                        steps.append((number, line[len(PROMPT):], []))
                    elif steps:
                        steps[-1][2].append(line)
                found.append((start + 1, [(n, command, "\n".join(out)) for n, command, out in steps]))
        i += 1
    return found


def pages_with_transcripts() -> list[Path]:
    return [p for p in doc_pages() if transcripts(p.read_text(encoding="utf-8"))]


def without_usage(printed: str) -> str:
    """``printed`` less click's usage lines before an option error."""
    lines = printed.splitlines()
    if lines and lines[0].startswith("Usage: "):
        lines = lines[1:]
        if lines and lines[0].startswith("Try '"):
            lines = lines[1:]
    return "\n".join(lines)


def test_transcripts_convention():
    text = "\n".join(
        [
            "```text",
            "$ printf 'a' > x.txt",
            "$ minigrad run seed --nope",
            "Error: No such option: --nope",
            "```",
            "```text",
            "$ python train.py",
            "epoch 1",
            "```",
        ]
    )
    assert transcripts(text) == [
        (2, [(2, "printf 'a' > x.txt", ""), (3, "minigrad run seed --nope", "Error: No such option: --nope")])
    ]


def test_click_usage_lines_may_be_left_out():
    printed = "Usage: minigrad run seq2seq [OPTIONS]\nTry 'minigrad run seq2seq --help' for help.\n\nError: x\n"
    assert output_difference("Error: x", without_usage(printed)) is None


def test_the_pages_keep_their_transcripts():
    assert {p.relative_to(DOCS).as_posix() for p in pages_with_transcripts()} >= PAGES_WITH_TRANSCRIPTS


@pytest.mark.parametrize("page", pages_with_transcripts(), ids=lambda p: p.relative_to(DOCS.parent).as_posix())
def test_transcript_prints_what_the_page_shows(page: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    rel = page.relative_to(DOCS.parent).as_posix()
    monkeypatch.chdir(tmp_path)
    drift = []
    for first, steps in transcripts(page.read_text(encoding="utf-8")):
        folder = tmp_path / f"line{first}"
        folder.mkdir()
        monkeypatch.chdir(folder)
        for number, command, shown in steps:
            if not command.startswith(TRANSCRIPT[len(PROMPT):]):
                done = subprocess.run(["bash", "-c", command], cwd=folder, capture_output=True, text=True)
                assert done.returncode == 0, f"{rel}:{number}: {command!r} failed: {done.stderr}"
                continue
            result = CliRunner().invoke(main, shlex.split(command)[1:])
            printed = without_usage(result.output)
            difference = output_difference(shown, printed)
            if difference:
                drift.append(f"{rel}:{number}: {command}: the page {difference}; it prints:\n{printed}")
    assert not drift, "\n".join(drift)
