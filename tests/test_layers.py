"""The layers of clamp3 import only downward: readers (formats) -> features -> models -> model
input (preprocess) -> embedding. Imports inside functions count too: they run all the same."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "clamp3"

# A module (or package) -> the modules it must not import, directly or inside a function.
FORBIDDEN = {
    "clamp3.formats": ("clamp3.features", "clamp3.models", "clamp3.preprocess", "clamp3.embedding", "clamp3.training"),
    "clamp3.features": ("clamp3.models", "clamp3.preprocess", "clamp3.embedding", "clamp3.training"),
    "clamp3.weights": ("clamp3.formats", "clamp3.features", "clamp3.models", "clamp3.preprocess", "clamp3.embedding"),
    "clamp3.preprocess": ("clamp3.embedding", "clamp3.training", "clamp3.library", "clamp3.cli", "clamp3.commands"),
}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path) -> set[str]:
    """Every clamp3 module ``path`` imports, at any depth of its code."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return {name for name in found if name.startswith("clamp3")}


def _within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_layers_import_only_downward(layer):
    files = [path for path in sorted(PACKAGE.rglob("*.py")) if _within(module_name(path), layer)]
    assert files, layer
    wrong = [
        f"{module_name(path)} imports {name}"
        for path in files
        for name in sorted(imports(path))
        if any(_within(name, banned) for banned in FORBIDDEN[layer])
    ]
    assert not wrong, wrong
