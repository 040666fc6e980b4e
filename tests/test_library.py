"""The library entry points the README shows work as written."""

from __future__ import annotations

import re
from pathlib import Path

from conftest import NOW, base_tabs, row_for
from sheetsync import check

README = Path(__file__).resolve().parents[1] / "README.md"


def library_snippet() -> str:
    text = README.read_text(encoding="utf-8")
    section = text[text.index("## Library"):]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def test_readme_library_example_runs(template, write_xlsx, monkeypatch, capsys):
    tabs = base_tabs(template)
    tabs["库存"] += [row_for(template, "inventory", sku="LGD-E-050", product="50分耳钉", stock=-1, min_price=100)]
    path = write_xlsx(tabs)
    monkeypatch.chdir(path.parent)
    assert path.name == "shop.xlsx"
    exec(compile(library_snippet(), "README.md", "exec"), {})
    out = capsys.readouterr().out
    [line] = [line for line in out.splitlines() if "LGD" in line or "-1" in line or "库存" in line][:1]
    code = next(f.code for f in check(__import__("sheetsync.backends.xlsx", fromlist=["x"]).XlsxBackend(path), now=NOW)
                if f.column_id == "stock")
    assert code in line and "库存" in line


def test_check_lists_problems_and_writes_nothing(template, write_xlsx):
    from sheetsync.backends.xlsx import XlsxBackend

    tabs = base_tabs(template)
    tabs["库存"] += [row_for(template, "inventory", sku="LGD-E-050", product="50分耳钉", stock=-1, min_price=100)]
    path = write_xlsx(tabs)
    before = path.read_bytes()
    findings = check(XlsxBackend(path), now=NOW)
    assert [(f.tab_id, f.row, f.column_id) for f in findings if f.code.endswith("min")] == [("inventory", 2, "stock")]
    assert path.read_bytes() == before
