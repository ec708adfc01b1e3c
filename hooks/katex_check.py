"""MkDocs hook: refuse to build the site without the KaTeX files it links.

The site renders its equations with KaTeX, served from docs/assets/katex/ (an
ignored folder that ``bash .ci/docs`` fills from the npm package). Without those
files MkDocs would still build, and every page would show raw LaTeX; this hook
turns that into a build error that says what to run.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from mkdocs.exceptions import PluginError

KATEX_DIR = "assets/katex/"


def missing_katex_files(docs_dir: str | Path, linked: Iterable[Any]) -> list[str]:
    """The files under ``assets/katex/`` among ``linked`` (site-relative paths) that ``docs_dir`` lacks."""
    root = Path(docs_dir)
    paths = [str(getattr(item, "path", item)) for item in linked]
    return [p for p in paths if p.startswith(KATEX_DIR) and not (root / p).is_file()]


def check_katex(docs_dir: str | Path, linked: Iterable[Any]) -> None:
    """Raise ``PluginError`` when a KaTeX file the site links is not in ``docs_dir``."""
    missing = missing_katex_files(docs_dir, linked)
    if missing:
        raise PluginError(
            f"KaTeX is missing from {Path(docs_dir) / KATEX_DIR} (no {', '.join(missing)}), so the "
            "equations would show as raw LaTeX. Run `bash .ci/docs` first: it installs KaTeX with npm "
            "(Node.js and npm must be installed) and copies it there."
        )


def on_config(config: Any, **kwargs: Any) -> Any:
    check_katex(config["docs_dir"], [*config["extra_javascript"], *config["extra_css"]])
    return config
