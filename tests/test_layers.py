"""Dependencies point one way: bot → handlers → views → models, bot → scheduler → views.

Read from the source (every import statement, also those inside functions), so a
layer that imports upward fails here before it confuses anyone.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("bot", "handlers", "scheduler", "views", "models", "sandbox")

# What each package may not import. `bot` is assembly only: nothing imports it.
FORBIDDEN = {
    "models": {"telegram", "bot", "handlers", "scheduler", "views", "sandbox"},
    "views": {"bot", "handlers", "scheduler", "sandbox"},
    "handlers": {"bot", "scheduler", "sandbox"},
    "scheduler": {"bot", "handlers", "sandbox"},
    "sandbox": {"bot", "handlers", "scheduler", "views", "models"},
}


def imports_of(path: Path) -> set[str]:
    """The top-level names of every module `path` imports."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


def violations(package: str) -> list[str]:
    return [
        f"{path.relative_to(ROOT)} imports {name}"
        for path in sorted((ROOT / package).rglob("*.py"))
        for name in sorted(imports_of(path) & FORBIDDEN[package])
    ]


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_no_layer_imports_upward(package: str) -> None:
    assert violations(package) == []


def test_the_guard_sees_imports_inside_functions(tmp_path: Path) -> None:
    module = tmp_path / "late.py"
    module.write_text("def f():\n    from bot.config import Config\n    import telegram.ext\n")
    assert imports_of(module) == {"bot", "telegram"}


def test_every_package_is_guarded() -> None:
    top_level = {p.name for p in ROOT.iterdir() if (p / "__init__.py").exists()}
    assert top_level - {"tests", "bench"} == set(PACKAGES)
    assert set(FORBIDDEN) == set(PACKAGES) - {"bot"}
