"""The built documentation site: no raw reStructuredText, working links and images, a complete API reference.

The site is built once (``mkdocs build --strict`` into a temporary folder) and every HTML page is read:

- the visible text (outside ``<script>``, ``<style>``, ``<code>``, ``<pre>`` and the math that
  pymdownx.arithmatex wraps in ``class="arithmatex"`` for KaTeX) holds no reST roles or
  directives (``:math:``, ``.. math::``, ``:meth:``, ...) and no math delimiters (``$$``,
  ``\\(``, ``\\[``) that KaTeX would not render;
- every ``<img src>`` and every internal link or asset (``href``/``src`` without a scheme)
  names a file of the built site, and a link's ``#fragment`` an ``id`` on the page it points to;
- every public name of ``minigrad``, ``minigrad.nn``, ``minigrad.optim``, ``minigrad.data`` and
  ``backends`` has an entry in the API reference (docs/api/*.md).

Skipped without mkdocs (the docs extra, ``pip install -e ".[docs]"``), without the KaTeX files
that .ci/docs copies into docs/assets/katex/, or without the figures it draws into docs/assets/figures/.
"""

from __future__ import annotations

import importlib
import os
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import unquote, urlsplit

import pytest

pytest.importorskip("mkdocs", reason='mkdocs is not installed (pip install -e ".[docs]")')
pytest.importorskip("mkdocstrings", reason='mkdocstrings is not installed (pip install -e ".[docs]")')

ROOT = Path(__file__).resolve().parent.parent
if not (ROOT / "docs" / "assets" / "katex" / "katex.min.js").is_file():
    pytest.skip("KaTeX is not in docs/assets/katex/ (bash .ci/docs copies it there)", allow_module_level=True)
_FIGURES = ROOT / "docs" / "assets" / "figures"
_UNDRAWN = [p.stem for p in (ROOT / "docs" / "figures").glob("[!_]*.py")
            if not any((_FIGURES / f"{p.stem}{ext}").is_file() for ext in (".png", ".svg"))]
if _UNDRAWN:
    pytest.skip(f"figures not generated in docs/assets/figures/ ({', '.join(sorted(_UNDRAWN))}; bash .ci/docs "
                "runs docs/figures/*.py)", allow_module_level=True)

RAW_MARKUP = re.compile(r":(?:math|meth|func|class|mod|attr|data|obj|exc):`|\.\. math::")
RAW_MATH = re.compile(r"\$\$|\\\(|\\\)|\\\[|\\\]")
SKIPPED_TAGS = {"script", "style", "code", "pre"}
VOID_TAGS = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
API_PACKAGES = ["minigrad", "minigrad.nn", "minigrad.optim", "minigrad.data", "backends"]


class Page(HTMLParser):
    """The visible text outside code and math, the ids, and the internal URLs of one HTML page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.text: list[str] = []
        self.ids: set[str] = set()
        self.urls: list[tuple[str, str]] = []  # (tag, url)
        self.stack: list[bool] = []  # per open element: does it hide its text?

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if a.get("id"):
            self.ids.add(a["id"])
        if tag == "a" and a.get("name"):
            self.ids.add(a["name"])
        for key in ("href", "src"):
            if a.get(key) and tag in {"a", "img", "link", "script", "source"}:
                self.urls.append((tag, a[key]))
        if tag in VOID_TAGS:
            return
        hidden = tag in SKIPPED_TAGS or "arithmatex" in (a.get("class") or "").split()
        self.stack.append(hidden)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in VOID_TAGS:
            self.stack.pop()

    def handle_endtag(self, tag: str) -> None:
        if tag not in VOID_TAGS and self.stack:
            self.stack.pop()

    def handle_data(self, data: str) -> None:
        if not any(self.stack):
            self.text.append(data)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("site")
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1")
    proc = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet", "-d", str(out)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, f"mkdocs build --strict failed:\n{proc.stdout}\n{proc.stderr}"
    return out


@pytest.fixture(scope="module")
def pages(site: Path) -> dict[Path, Page]:
    parsed = {}
    for path in sorted(site.rglob("*.html")):
        if "assets" in path.relative_to(site).parts:
            continue
        page = Page()
        page.feed(path.read_text(encoding="utf-8"))
        page.close()
        parsed[path] = page
    assert parsed, "the build wrote no HTML pages"
    return parsed


def lines_matching(page: Page, pattern: re.Pattern[str]) -> list[str]:
    text = "".join(page.text)
    return [line.strip()[:160] for line in text.splitlines() if pattern.search(line)]


def test_no_raw_restructuredtext(site: Path, pages: dict[Path, Page]) -> None:
    bad = {str(p.relative_to(site)): hits for p, pg in pages.items() if (hits := lines_matching(pg, RAW_MARKUP))}
    assert not bad, f"raw reST roles or directives in the built pages: {bad}"


def test_math_is_left_to_katex(site: Path, pages: dict[Path, Page]) -> None:
    """Math delimiters only inside arithmatex elements, which docs/js/katex-init.js renders."""
    init = (ROOT / "docs" / "js" / "katex-init.js").read_text(encoding="utf-8")
    assert ".arithmatex" in init and "renderMathInElement" in init
    bad = {str(p.relative_to(site)): hits for p, pg in pages.items() if (hits := lines_matching(pg, RAW_MATH))}
    assert not bad, f"math outside arithmatex elements (KaTeX would not render it): {bad}"
    api = [pg for p, pg in pages.items() if p.relative_to(site).parts[:2] == ("api", "optim")]
    assert api, "api/optim was not built"


def test_optimizer_formulas_are_math(site: Path) -> None:
    html = (site / "api" / "optim" / "index.html").read_text(encoding="utf-8")
    for formula in (r"\beta_1 m_{t-1}", r"\mu b_{t-1}", r"\eta_t = \eta_{min}"):
        assert re.search(r'class="arithmatex">[^<]*' + re.escape(formula), html), formula


def test_internal_links_and_images_resolve(site: Path, pages: dict[Path, Page]) -> None:
    missing = []
    for path, page in pages.items():
        for tag, url in page.urls:
            parts = urlsplit(url)
            if parts.scheme or parts.netloc or url.startswith(("mailto:", "data:", "javascript:")):
                continue
            target_path = unquote(parts.path)
            if not target_path:
                target = path
            elif target_path.startswith("/"):
                target = site / target_path.lstrip("/")
            else:
                target = (path.parent / target_path).resolve()
            if target.is_dir():
                target = target / "index.html"
            where = f"{path.relative_to(site)}: <{tag}> {url}"
            if not target.is_file():
                missing.append(where)
            elif parts.fragment and tag == "a" and target in pages and unquote(parts.fragment) not in pages[target].ids:
                missing.append(where + " (no such anchor)")
    assert not missing, "links or images to nothing:\n" + "\n".join(missing)


def documented(module: Any, name: str, api_ids: set[str]) -> bool:
    """``module.name`` has an entry: its own id, an id of a re-export, or (a submodule) entries for its members."""
    obj = getattr(module, name)
    top = module.__name__.split(".")[0]
    if f"{module.__name__}.{name}" in api_ids:
        return True
    if any(i.startswith(top + ".") and i.endswith("." + name) for i in api_ids):
        return True
    if isinstance(obj, ModuleType):
        if obj.__name__ in api_ids or any(i.startswith(obj.__name__ + ".") for i in api_ids):
            return True
        members = getattr(obj, "__all__", None)
        return bool(members) and all(documented(obj, n, api_ids) for n in members)
    return False


def test_every_public_name_is_in_the_api_reference(site: Path, pages: dict[Path, Page]) -> None:
    api_ids: set[str] = set()
    for path, page in pages.items():
        if path.relative_to(site).parts[0] == "api":
            api_ids |= page.ids
    missing = []
    for package in API_PACKAGES:
        module = importlib.import_module(package)
        names = getattr(module, "__all__", None) or [n for n in vars(module) if not n.startswith("_")]
        missing += [f"{package}.{name}" for name in names if not documented(module, name, api_ids)]
    assert not missing, f"public names without an entry in docs/api/: {missing}"
