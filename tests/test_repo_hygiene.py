"""Architecture checks that keep the layers honest (style.md §2.1, with the reasons below).

- The pure core (diagnostics, formula, lint, sim, spec) never imports the CLI, the local service or apply.
- ``spec`` may use ``lint`` (formulas embedded in specs are linted); ``lint`` never imports ``spec`` (no cycle).
- Only ``apply`` and ``local`` import Azure SDKs; in ``apply`` only ``apply/azure.py``, and only inside functions,
  so ``batchspec validate`` never pays for them.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "batchspec"

BASE = {"diagnostics", "errors", "resources", "__init__"}
ALLOWED: dict[str, set[str]] = {
    "diagnostics": {"diagnostics"},
    "errors": set(),
    "resources": set(),
    "formula": BASE | {"formula"},
    "lint": BASE | {"formula", "lint"},
    "sim": BASE | {"formula", "sim"},
    "spec": BASE | {"formula", "lint", "spec"},
    "local": BASE | {"formula", "sim", "spec", "local"},
    "apply": BASE | {"formula", "spec", "apply"},
}


def _modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)


def _imports(tree: ast.AST) -> list[tuple[str, ast.AST, bool]]:
    """(module name, node, at module top level) for every import."""
    top = set(map(id, getattr(tree, "body", [])))
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.extend((a.name, node, id(node) in top) for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            out.append((node.module, node, id(node) in top))
    return out


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_layering(path: Path) -> None:
    area = path.relative_to(PACKAGE).parts[0].removesuffix(".py")
    allowed = ALLOWED.get(area)
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for name, node, _ in _imports(tree):
        parts = name.split(".")
        if parts[0] != "batchspec" or len(parts) < 2 or allowed is None:
            continue
        assert parts[1] in allowed, f"{path.relative_to(PACKAGE)}:{node.lineno} imports {name}; " \
            f"batchspec.{area} may import only {sorted(allowed)}"


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_azure_imports_only_where_allowed(path: Path) -> None:
    rel = path.relative_to(PACKAGE)
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for name, node, at_top in _imports(tree):
        if name.split(".")[0] != "azure":
            continue
        if rel.parts[0] == "local":
            continue
        assert rel.as_posix() == "apply/azure.py", f"{rel}:{node.lineno} imports {name}; only apply/azure.py may"
        assert not at_top, f"{rel}:{node.lineno} imports {name} at module level; import it inside the function"
