"""The shell's structure: no import cycles (function-local imports count: a cycle hidden inside a
function is still a cycle), the CLI only parses and calls the library, the catalogues of the
shell exist in every language with the same keys and English without Chinese."""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

import pytest

from sheetsync.i18n import languages, load_catalogue

PKG = Path(__file__).resolve().parents[1] / "sheetsync"
SHELL = {"sheetsync.cli", "sheetsync.app", "sheetsync.config", "sheetsync.scheduler", "sheetsync.locks",
         "sheetsync.registry", "sheetsync.paths", "sheetsync.stock_export", "sheetsync.delivery.config",
         "sheetsync.core.job"}
CJK = re.compile("[\u2e80-\u9fff\u3000-\u303f\uff00-\uffef]")

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


def module_name(path: Path) -> str:
    parts = path.relative_to(PKG.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path, modules: set[str]) -> set[str]:
    """Every sheetsync module ``path`` imports, anywhere in the file."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            found.add(target)
            found.update(f"{target}.{a.name}" for a in node.names)  # `from . import app`
    return {m for m in found if m in modules and m != name}


def graph() -> dict[str, set[str]]:
    files = {module_name(p): p for p in PKG.rglob("*.py")}
    return {name: imports_of(path, set(files)) for name, path in files.items()}


def cycles(edges: dict[str, set[str]]) -> list[set[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[set[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = set()
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.add(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(component)

    for v in edges:
        if v not in index:
            visit(v)
    return out


def test_no_import_cycle_through_the_shell():
    edges = graph()
    # a package's __init__ re-exporting its modules is not a cycle of design
    edges = {k: {m for m in v if not (k.startswith(m + ".") and m in edges)} for k, v in edges.items()}
    bad = [c for c in cycles(edges) if c & SHELL]
    assert not bad, bad


def test_the_scheduler_gets_its_run_function_injected():
    assert "sheetsync.app" not in graph()["sheetsync.scheduler"]


def test_cli_only_parses_and_calls_the_library():
    assert graph()["sheetsync.cli"] <= {"sheetsync", "sheetsync.app", "sheetsync.errors", "sheetsync.i18n"}
    source = (PKG / "cli.py").read_text(encoding="utf-8")
    assert not CJK.search(source), CJK.findall(source)


@pytest.mark.parametrize("area", ["cli", "config"])
def test_shell_catalogues_have_the_same_keys_everywhere_and_english_is_english(area):
    def keys(language: str) -> set[str]:
        path = PKG.parent / "sheet_templates" / language / "messages" / f"{area}.toml"
        data = tomllib.loads(path.read_text(encoding="utf-8"))

        def flat(d: dict, prefix: str = "") -> set[str]:
            return {k for key, v in d.items() for k in (flat(v, f"{prefix}{key}.") if isinstance(v, dict)
                                                         else {f"{prefix}{key}"})}
        return flat(data)

    reference = keys("zh-CN")
    for language in languages():
        assert keys(language) == reference, language
    en = load_catalogue("en")
    for key in reference:
        assert not CJK.search(str(en.raw(key))), (key, en.raw(key))


def test_shell_python_holds_no_chinese_words():
    """Words live in the catalogues; comments and docstrings may still name a tab (设置), and the
    column names a back-office export is recognised by (``*_HEADERS``) are input, not words."""
    for name in ("cli.py", "app.py", "config.py", "scheduler.py", "locks.py", "registry.py", "paths.py",
                 "stock_export.py", "delivery/config.py", "core/job.py"):
        source = (PKG / name).read_text(encoding="utf-8")
        tree = ast.parse(source)
        docstrings = {id(n.body[0].value) for n in ast.walk(tree)
                      if isinstance(n, (ast.Module, ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef))
                      and n.body and isinstance(n.body[0], ast.Expr) and isinstance(n.body[0].value, ast.Constant)}
        inputs = {id(c) for a in ast.walk(tree) if isinstance(a, ast.Assign)
                  and any(isinstance(x, ast.Name) and x.id.endswith("_HEADERS") for x in a.targets)
                  for c in ast.walk(a.value)}
        docstrings |= inputs
        words = [ast.get_source_segment(source, n) for n in ast.walk(tree) if isinstance(n, ast.Constant)
                 and isinstance(n.value, str) and id(n) not in docstrings
                 and CJK.search(ast.get_source_segment(source, n) or "")]
        assert not words, (name, words)
