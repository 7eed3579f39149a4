"""The shape rules of the production code (issue #22): no module over 400 lines, no function over
60, so that each stays readable in one sitting. The ingest hot path `CallDetector.add`, inlined for
speed, is the one exception."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("api", "collector", "graph", "ownermap", "ownership", "reports")
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60
EXEMPT_FUNCTIONS = {("collector/calls.py", "CallDetector.add")}


def _modules() -> list[Path]:
    return sorted(p for package in PACKAGES for p in (ROOT / package).rglob("*.py"))


def _functions(tree: ast.AST, prefix: str = "") -> list[tuple[str, ast.FunctionDef | ast.AsyncFunctionDef]]:
    found: list[tuple[str, ast.FunctionDef | ast.AsyncFunctionDef]] = []
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.ClassDef):
            found += _functions(node, f"{prefix}{node.name}.")
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            found.append((f"{prefix}{node.name}", node))
            found += _functions(node, f"{prefix}{node.name}.")
    return found


def test_the_packages_are_found() -> None:
    assert len(_modules()) > 50


def test_no_module_is_over_400_lines() -> None:
    sizes = {str(p.relative_to(ROOT)): len(p.read_text().splitlines()) for p in _modules()}
    long = {name: lines for name, lines in sizes.items() if lines > MAX_MODULE_LINES}
    assert long == {}


def test_no_function_is_over_60_lines() -> None:
    long = {}
    for path in _modules():
        relative = str(path.relative_to(ROOT))
        for name, node in _functions(ast.parse(path.read_text())):
            lines = (node.end_lineno or node.lineno) - node.lineno + 1
            if lines > MAX_FUNCTION_LINES and (relative, name) not in EXEMPT_FUNCTIONS:
                long[f"{relative}:{name}"] = lines
    assert long == {}
