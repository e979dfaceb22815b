"""The layers point one way: eval -> service -> index. No module of index/ imports service/
or eval/, none of service/ imports eval/, and no two modules import each other."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.conftest import ROOT

PACKAGES = ("index", "service", "eval")
FORBIDDEN = {"index": {"service", "eval"}, "service": {"eval"}, "eval": set()}


def _imports(path: Path) -> set[str]:
    """Every module a file imports, at the top or inside a function."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def _modules() -> dict[str, set[str]]:
    graph = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            graph[name.removesuffix(".__init__")] = _imports(path)
    return graph


def test_no_layer_imports_one_above_it() -> None:
    wrong = [
        f"{module} imports {imported}"
        for module, imports in _modules().items()
        for imported in imports
        if imported.split(".")[0] in FORBIDDEN[module.split(".")[0]]
    ]
    assert wrong == []


def test_no_two_modules_import_each_other() -> None:
    graph = _modules()
    known = set(graph)
    edges = {m: {i for i in imports if i in known and i != m} for m, imports in graph.items()}
    cycles = sorted(
        {
            tuple(sorted((a, b)))
            for a, targets in edges.items()
            for b in targets
            if a in edges.get(b, set())
        }
    )
    assert cycles == []


def test_the_check_sees_a_wrong_import(tmp_path: Path) -> None:
    """The check can fail: a module importing upwards is found."""
    module = tmp_path / "bad.py"
    module.write_text("def f() -> None:\n    from service.app import create_app\n")
    assert "service.app" in _imports(module)
