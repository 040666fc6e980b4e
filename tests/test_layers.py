"""The folders show the layers, and the imports keep to them: the pure core imports no I/O, no
words and no shell; backends never know the rules; nothing imports in a circle (function-local
imports included, so a cycle cannot hide behind one)."""

from __future__ import annotations

import ast
from pathlib import Path

PKG = Path(__file__).resolve().parents[1] / "sheetsync"


def module_name(path: Path) -> str:
    rel = path.relative_to(PKG.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def imports() -> dict[str, set[str]]:
    """module -> the sheetsync modules it imports anywhere in its body."""
    graph: dict[str, set[str]] = {}
    modules = {module_name(p): p for p in PKG.rglob("*.py")}
    for name, path in modules.items():
        is_pkg = path.name == "__init__.py"
        base = name.split(".") if is_pkg else name.split(".")[:-1]
        found: set[str] = set()
        tree = ast.parse(path.read_text(encoding="utf-8"))
        typing_only = {id(n) for block in ast.walk(tree) if isinstance(block, ast.If) and _is_type_checking(block.test)
                       for stmt in block.body for n in ast.walk(stmt)}
        for node in ast.walk(tree):
            if id(node) in typing_only:  # `if TYPE_CHECKING:` imports are for annotations, never run
                continue
            if isinstance(node, ast.ImportFrom):
                if node.level:
                    anchor = base[: len(base) - node.level + 1]
                    target = ".".join(anchor + ([node.module] if node.module else []))
                else:
                    target = node.module or ""
                candidates = [target] + [f"{target}.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                candidates = [a.name for a in node.names]
            else:
                continue
            for c in candidates:
                if c in modules and c != name:
                    found.add(c)
        graph[name] = found
    return graph


def test_no_import_cycles():
    graph = imports()
    # a package importing its own submodules (re-exports in __init__) is not a cycle
    edges = {m: {t for t in ts if not t.startswith(m + ".")} for m, ts in graph.items()}
    seen: dict[str, int] = {}
    cycles: list[list[str]] = []

    def visit(node: str, stack: list[str]) -> None:
        seen[node] = 1
        stack.append(node)
        for nxt in sorted(edges.get(node, ())):
            if seen.get(nxt) == 1:
                cycles.append(stack[stack.index(nxt):] + [nxt])
            elif nxt not in seen:
                visit(nxt, stack)
        stack.pop()
        seen[node] = 2

    for node in sorted(edges):
        if node not in seen:
            visit(node, [])
    assert cycles == []


def test_the_core_imports_no_shell_no_backend_no_words():
    allowed = ("sheetsync.core", "sheetsync.errors")
    bad = {m: sorted(t for t in ts if not t.startswith(allowed))
           for m, ts in imports().items() if m.startswith("sheetsync.core")}
    assert {m: ts for m, ts in bad.items() if ts} == {}


def test_backends_never_know_the_rules():
    rules = ("sheetsync.core.rules", "sheetsync.core.checks", "sheetsync.core.binding", "sheetsync.core.weekly",
             "sheetsync.core.daily", "sheetsync.engine", "sheetsync.app", "sheetsync.delivery")
    bad = {m: sorted(t for t in ts if t.startswith(rules))
           for m, ts in imports().items() if m.startswith("sheetsync.backends")}
    assert {m: ts for m, ts in bad.items() if ts} == {}
