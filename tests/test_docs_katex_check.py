"""The docs build refuses to run without KaTeX (hooks/katex_check.py), instead of serving raw LaTeX."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

pytest.importorskip("mkdocs", reason='mkdocs is not installed (pip install -e ".[docs]")')
from mkdocs.exceptions import PluginError  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
LINKED = [
    "assets/katex/katex.min.js",
    "assets/katex/contrib/auto-render.min.js",
    "js/katex-init.js",
    "assets/katex/katex.min.css",
]


def load_hook():
    spec = importlib.util.spec_from_file_location("katex_check", ROOT / "hooks" / "katex_check.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_hook_is_registered() -> None:
    import yaml

    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))
    assert "hooks/katex_check.py" in config["hooks"]


def test_missing_katex_fails_with_instructions(tmp_path: Path) -> None:
    hook = load_hook()
    (tmp_path / "js").mkdir()
    (tmp_path / "js" / "katex-init.js").write_text("", encoding="utf-8")
    with pytest.raises(PluginError) as err:
        hook.check_katex(tmp_path, LINKED)
    message = str(err.value)
    assert "bash .ci/docs" in message and "npm" in message
    assert "assets/katex/katex.min.js" in message and "js/katex-init.js" not in message


def test_present_katex_passes(tmp_path: Path) -> None:
    hook = load_hook()
    for path in LINKED:
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text("", encoding="utf-8")
    hook.check_katex(tmp_path, LINKED)
