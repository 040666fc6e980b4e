"""The hidden state tab: keyed by template ids (renames keep every mark), migrated from the
previous version, and never a crash or a disowned mark when people edit it."""

from __future__ import annotations

import json
import shutil
from datetime import datetime
from pathlib import Path

import pytest

from conftest import NOW, base_tabs, row_for
from sheetsync.core.model import MARK_FILL, NOTE_PREFIX, TabData
from sheetsync.core.state import CELL_LIMIT, VERSION, Mark, load_state
from sheetsync.engine import run
from sheetsync.registry import get_jobs

D = datetime
FIXTURES = Path(__file__).parent / "fixtures"
PERSON_MARK = "已有人工颜色或批注"


def oversell_rows(template):
    tabs = base_tabs(template)
    tabs["库存"] += [row_for(template, "inventory", sku="LGD-S-300D", product="3克拉裸石", stock=3, min_price=100),
                   row_for(template, "inventory", sku="LGD-E-050", product="50分耳钉", stock=-1, min_price=100)]
    tabs["推广确认单"] += [
        row_for(template, "promotions", name="双十一预热款", start=D(2026, 11, 30), end=D(2026, 12, 1),
                skus="LGD-S-300D", declared_stock=5, author="周深", signer="莉莉", signed_at=D(2026, 11, 20)),
    ]
    return tabs


def do_run(shop, now=NOW, jobs=None):
    return run(shop.backend(), get_jobs(jobs), now=now)


def problem_texts(shop) -> list[str]:
    return [" ".join(str(v) for v in row if v is not None) for row in shop.rows("问题清单")[1:]]


def state_rows(shop) -> list[list]:
    return [list(r) for r in shop.rows("_sheetsync")]


@pytest.fixture
def shop(template, make_shop):
    return make_shop(oversell_rows(template))


# -- renames keep every mark ------------------------------------------------------------------


@pytest.mark.parametrize("rename", ["alias header", "renamed tab", "moved column"])
def test_a_rename_keeps_the_mark_and_the_fix_clears_it(shop, rename):
    do_run(shop)
    value, fill, note = shop.cell("库存", "C3")
    assert (value, fill) == (-1, MARK_FILL) and "不能小于 0" in note
    tab, ref = "库存", "C3"
    if rename == "alias header":  # 库存 -> qty, one of the template's own aliases
        shop.type(tab, "C1", "qty")
    elif rename == "renamed tab":
        shop.rename_tab(tab, "Inventory")
        tab = "Inventory"
    else:  # a person drags 库存 (C) and 最低价 (D) past each other
        shop.swap_columns(tab, 3, 4)
        ref = "D3"
    report = do_run(shop)
    assert not report.not_painted, "sheetsync took its own red for a person's"
    assert not any(PERSON_MARK in t for t in problem_texts(shop))
    value, fill, note = shop.cell(tab, ref)
    assert (value, fill) == (-1, MARK_FILL) and "不能小于 0" in note
    shop.type(tab, ref, 4)
    do_run(shop)
    assert shop.cell(tab, ref)[1:] == (None, None)
    assert not any("不能小于 0" in t for t in problem_texts(shop))


def test_state_keys_are_template_ids(shop):
    do_run(shop)
    rows = state_rows(shop)
    assert rows[1][0] == "meta" and rows[1][4] == "version" and str(rows[1][6]) == VERSION
    marks = {tuple(str(v) for v in r[1:4]) for r in rows if r[0] == "mark"}
    assert {("promotions", "双十一预热款", "declared_stock"), ("inventory", "LGD-E-050", "stock")} <= marks
    problems = [r for r in rows if r[0] == "problem"]
    assert any(r[1] == "promotions" and r[3] == "declared_stock" and r[4] == "stock.oversell" for r in problems)


# -- the previous version's state tab -----------------------------------------------------------


def test_state_written_by_the_previous_version_is_migrated(tmp_path):
    """The fixture is the demo workbook as the previous version wrote it (state version 1, keyed by
    tab titles and header texts, whole notes in the marks)."""
    from sheetsync.backends.xlsx import XlsxBackend

    path = tmp_path / "demo.xlsx"
    shutil.copy(FIXTURES / "state_v1_demo.xlsx", path)
    old = XlsxBackend(path).read()
    old_since = {(r[1], str(r[2]), r[3], r[4]): r[5] for r in old.tabs["_sheetsync"].rows if r[0] == "problem"}
    assert old.tabs["_sheetsync"].rows[1][6] == "1"
    # the person fixes one red cell: 库存 of LGD-E-050 was -1
    import openpyxl

    wb = openpyxl.load_workbook(path)
    assert wb["库存"]["C19"].value == -1
    wb["库存"]["C19"] = 5
    wb.save(path)
    report = run(XlsxBackend(path), get_jobs(None), now=D(2026, 11, 22, 20, 30))
    assert not report.not_painted, f"marks disowned after migration: {sorted(report.not_painted)[:5]}"
    after = XlsxBackend(path).read()
    assert after.tabs["库存"].fills.get((19, 3)) is None and after.tabs["库存"].notes.get((19, 3)) is None
    state = after.tabs["_sheetsync"]
    assert [r for r in state.rows if r[0] == "meta"][0][6] == VERSION
    assert all(r[1] in {"members", "settings", "selection", "promotions", "inventory", "cs_log", "disputes",
                        "reviews"} for r in state.rows if r[0] in ("mark", "problem"))
    # problems still open kept their 'since' (first seen by the previous version, at 20:00)
    kept = [r for r in state.rows if r[0] == "problem" and r[1] == "promotions" and r[4] == "stock.oversell"]
    assert kept and all(r[5] == old_since[("推广确认单", str(r[2]), "声明库存", "stock.oversell")] for r in kept)
    # the column checks were named after their tab then ("inventory.min"), they are shared now
    [floor] = [r for r in state.rows if r[0] == "problem" and r[2] == "LGD-N-020" and r[3] == "min_price"]
    assert floor[4] == "column.min" and floor[5] == old_since[("库存", "LGD-N-020", "最低价", "inventory.min")]
    # a second run writes nothing: the migrated state is stable
    again = run(XlsxBackend(path), get_jobs(None), now=D(2026, 11, 22, 20, 30))
    assert again.applied is None


# -- people touching the hidden tab --------------------------------------------------------------


def _state_row(shop, kind, code=None):
    for n, row in enumerate(shop.rows("_sheetsync"), start=1):
        if row and row[0] == kind and (code is None or (len(row) > 4 and row[4] == code)):
            return n
    raise AssertionError(f"no {kind} row")


@pytest.mark.parametrize("edit", ["date typed into since", "F2+Enter on since"])
def test_a_since_cell_turned_into_a_date_is_read(shop, edit):
    do_run(shop)
    n = _state_row(shop, "problem", "stock.oversell")
    value = D(2026, 11, 20, 9, 0) if edit.startswith("date") else D(2026, 11, 22, 20, 0)
    shop.type("_sheetsync", f"F{n}", value)
    report = do_run(shop, now=D(2026, 11, 22, 21, 0))
    assert not any(f.code == "state.unreadable" for f in report.findings)
    rows = shop.rows("问题清单")
    since_col = rows[0].index("开始时间")
    [row] = [r for r in rows[1:] if "stock.oversell" in r]
    assert str(row[since_col]).startswith(value.strftime("%Y-%m-%d %H:%M"))


@pytest.mark.parametrize("junk", ['{"hello": 1}', "not json at all", 42, '["fill", "note"]',
                                  '{"fill": 5, "digest": []}'])
def test_a_mangled_mark_row_is_said_once_and_the_mark_is_still_cleared(shop, junk):
    do_run(shop)
    n = _state_row(shop, "mark")  # the first mark row: 库存 C3 (marks are sorted by tab id)
    assert shop.rows("_sheetsync")[n - 1][1] == "inventory"
    shop.type("_sheetsync", f"G{n}", junk)
    shop.type("库存", "C3", 4)  # and the person fixes the problem
    report = do_run(shop)
    said = [f for f in report.findings if f.code == "state.unreadable"]
    assert len(said) == 1 and said[0].params["rows"] == (n,)
    assert "_sheetsync" in said[0].message and str(n) in said[0].message
    assert shop.cell("库存", "C3")[1:] == (None, None), "a damaged state row disowned sheetsync's red"
    again = do_run(shop)
    assert not any(f.code == "state.unreadable" for f in again.findings)  # said once: the run rewrote the tab


def test_unknown_rows_and_kinds_do_not_crash(shop):
    do_run(shop)
    n = len(shop.rows("_sheetsync"))  # the last row (a signed promotion) becomes a person's jotting
    shop.type("_sheetsync", f"A{n}", "my notes")
    shop.type("_sheetsync", f"B{n}", D(2026, 11, 1))
    report = do_run(shop)
    assert [f.params["rows"] for f in report.findings if f.code == "state.unreadable"] == [(n,)]
    assert shop.cell("推广确认单", "G2")[1] == MARK_FILL


def test_notes_and_state_rows_fit_in_a_cell(template, make_shop):
    """A cell holding ~32,000 characters that cannot be read as a number: its note quotes it. The
    note is capped at the cell limit, the state row stays small, and fixing the cell clears it."""
    tabs = oversell_rows(template)
    tabs["库存"][2][2] = "5件" + "很" * 32000
    shop = make_shop(tabs)
    do_run(shop)
    _v, fill, note = shop.cell("库存", "C3")
    assert fill == MARK_FILL and note.startswith(NOTE_PREFIX) and len(note) <= CELL_LIMIT
    assert all(len(str(v)) <= CELL_LIMIT for row in shop.rows("_sheetsync") for v in row if v is not None)
    shop.type("库存", "C3", 4)
    do_run(shop)
    assert shop.cell("库存", "C3")[1:] == (None, None)


def test_load_state_reads_whatever_people_left():
    rows = [["kind", "tab", "row key", "column", "code", "since", "data"],
            ["meta", "", "", "", "version", "", "2"],
            ["mark", "promotions", "k", "declared_stock", "", "", json.dumps({"fill": MARK_FILL, "digest": "x",
                                                                                "row": 2.0, "col": 7})],
            ["problem", "promotions", "k", "declared_stock", "stock.oversell", 46346.5,
             json.dumps({"row": 2, "col": 7, "owner_role": "财务", "job": "reconcile-stock", "paint": True})],
            ["problem", "promotions", "k", "price", "x", "yesterday", json.dumps({"row": 2})],
            ["signed", "promotions", "k", "", "", "", json.dumps({"signature": 5})],
            [None, None, None], ["mark", 3.0, None, None, None, None, None]]
    state = load_state(TabData("_sheetsync", rows))
    assert state.marks[("promotions", "k", "declared_stock")] == Mark(MARK_FILL, "x")  # an old position is ignored
    assert state.problems[("promotions", "k", "declared_stock", "stock.oversell")].since == "2026-11-20 12:00"
    assert [(u.row, u.reason) for u in state.unreadable] == [(5, "since"), (6, "fields"), (8, "fields")]


@pytest.mark.parametrize("fill, digest", [("FFC7CE", "0123456789abcdef0123"), ("", ""), ("#FFC7CE", "ab"),
                                          ('F"F', "a\\b"), ("红", "x")])
def test_a_mark_row_is_the_json_it_always_was(fill, digest):
    """Marks are written out directly when they are plain letters and digits (always, for
    sheetsync's own), through json otherwise: the same text either way, so an idle state tab
    compares equal."""
    from sheetsync.core.state import State

    row = State(marks={("cs_log", "k", "customer"): Mark(fill, digest)}).rows(("h",))[2]
    assert row[6] == json.dumps({"fill": fill, "digest": digest}, ensure_ascii=False, sort_keys=True,
                                separators=(",", ":"))
    assert json.loads(row[6]) == {"fill": fill, "digest": digest}
