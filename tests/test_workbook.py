"""Binding a workbook to the template: forgiving headers, messy cells, layout problems."""

from __future__ import annotations

from datetime import datetime

import pytest

from conftest import NOW, base_tabs, codes_at, evaluate, header, row_for, snapshot_of
from sheetsync.core.model import TabData
from sheetsync.core.binding import bind


def cs_row(template, **kw):
    values = dict(customer="王女士", type="产品咨询", asked_at=datetime(2026, 11, 20, 10),
                  answered_at=datetime(2026, 11, 20, 10, 5), resolved="是")
    values.update(kw)
    return row_for(template, "cs_log", **values)


@pytest.mark.parametrize("rename", [
    {"咨询时间": "  咨询时间 "},  # surrounding spaces
    {"首次响应时间": "首次响应时间\n"},
    {"问题类型": "question type"},  # English alias
    {"客户": "Customer"},
])
def test_forgiving_headers(template, rename):
    tabs = base_tabs(template)
    tabs["客服台账"][0] = [rename.get(h, h) for h in tabs["客服台账"][0]]
    tabs["客服台账"].append(cs_row(template))
    assert evaluate(template, tabs) == []


def test_full_width_header_and_shuffled_columns(template):
    tabs = base_tabs(template)
    head = header(template, "inventory")
    row = row_for(template, "inventory", sku="SKU-1", stock=3, min_price=10)
    order = [2, 0, 4, 3, 1]
    tabs["库存"] = [[("ＳＫＵ" if head[i] == "SKU" else head[i]) for i in order], [row[i] for i in order]]
    wb = bind(snapshot_of(tabs), template, year=2026)
    inv = wb.tab("inventory")
    assert inv.usable and inv.frame.at[2, "sku"] == "SKU-1" and inv.frame.at[2, "stock"] == 3


def test_missing_required_column_names_tab_column_and_closest_header(template):
    tabs = base_tabs(template)
    tabs["客服台账"][0] = ["咨询时刻" if h == "咨询时间" else h for h in tabs["客服台账"][0]]
    tabs["客服台账"].append(cs_row(template))
    findings = evaluate(template, tabs)
    [f] = [f for f in findings if f.code == "tab.missing_required_column"]
    assert f.tab == "客服台账" and f.column == "咨询时间"
    assert "找不到必需的列「咨询时间」(最像的列名: 咨询时刻)" in f.message


def test_missing_optional_column_skips_only_its_rules(template):
    tabs = base_tabs(template)
    tabs["客服台账"][0] = [h for h in tabs["客服台账"][0] if h != "是否解决"]
    row = cs_row(template)
    del row[header(template, "cs_log").index("是否解决")]
    tabs["客服台账"].append(row)
    assert codes_at(evaluate(template, tabs)) == {(1, "是否解决", "tab.missing_column")}


def test_missing_tab_is_reported_not_fatal(template):
    tabs = base_tabs(template)
    del tabs["中差评"]
    [f] = evaluate(template, tabs)
    assert f.code == "tab.missing" and "找不到「中差评」表" in f.message and "sheetsync init" in f.message


def test_header_below_a_title_row(template):
    tabs = base_tabs(template)
    tabs["客服台账"] = [["十一月客服台账"], *tabs["客服台账"], cs_row(template, resolved="否")]
    assert codes_at(evaluate(template, tabs)) == {(3, "是否解决", "cs.unresolved")}


@pytest.mark.parametrize("value,ok", [
    ("2026-11-20 10:05", True), ("2026/11/20 10:05", True), ("2026年11月20日 10点05分", True),
    ("11-20 10:05", True), (46346.42, True), ("２０２６-11-20 10:05", True),
    ("昨天上午", False), ("2026-13-40", False),
])
def test_messy_times_parse_or_get_a_note(template, value, ok):
    tabs = base_tabs(template)
    tabs["客服台账"].append(cs_row(template, asked_at=value, answered_at=None))
    findings = evaluate(template, tabs, now=datetime(2026, 11, 20, 10, 6))
    parse = [f for f in findings if f.code == "parse.datetime"]
    if ok:
        assert parse == []
    else:
        assert len(parse) == 1 and parse[0].column == "咨询时间" and f"看不懂的时间: {value}" in parse[0].message


@pytest.mark.parametrize("value,ok", [("５件", True), ("5件", True), (" 3 ", True), ("约5件", False), ("2.5", False)])
def test_messy_counts(template, value, ok):
    tabs = base_tabs(template)
    tabs["库存"].append(row_for(template, "inventory", sku="SKU-1", stock=value, min_price="199元"))
    codes = {f.code for f in evaluate(template, tabs)}
    assert (codes == set()) if ok else (codes == {"parse.int"})


@pytest.mark.parametrize("value,expected", [("是", None), ("Y", None), ("✓", None), ("否", "cs.unresolved"),
                                            ("N", "cs.unresolved"), ("✗", "cs.unresolved"),
                                            ("也许", "parse.bool")])
def test_yes_no_forms(template, value, expected):
    tabs = base_tabs(template)
    tabs["客服台账"].append(cs_row(template, resolved=value))
    codes = {f.code for f in evaluate(template, tabs)}
    assert codes == ({expected} if expected else set())


def test_blank_rows_are_skipped_and_rows_keep_their_sheet_numbers(template):
    tabs = base_tabs(template)
    tabs["客服台账"] += [cs_row(template), [None] * 10, ["", " "], cs_row(template, customer="李", resolved="否")]
    assert codes_at(evaluate(template, tabs)) == {(5, "是否解决", "cs.unresolved")}


def test_merged_cells_apply_to_every_row_and_say_so(template):
    tabs = base_tabs(template)
    rows = [row_for(template, "selection", date=datetime(2026, 11, 20), product=p, supplier="A", verdict="合格",
                    checker="周一军") for p in ("戒指", "项链", "耳钉")]
    rows[1][0] = rows[2][0] = None  # the date cell is merged over three rows
    tabs["选品检查表"] += rows
    snap = snapshot_of(tabs)
    sel = snap.tabs["选品检查表"]
    snap.tabs["选品检查表"] = TabData(sel.title, sel.rows, merged=[(2, 1, 4, 1)])
    wb = bind(snap, template, year=2026)
    tab = wb.tab("selection")
    assert [f.code for f in tab.findings] == ["layout.merged"]
    assert "合并单元格" in tab.findings[0].message
    assert tab.frame["date"].notna().all()


def test_merged_header_is_reported_with_the_fix(template):
    tabs = base_tabs(template)
    tabs["客服台账"][0][5] = None  # 首次响应时间 merged into 咨询时间's header cell
    tabs["客服台账"].append(cs_row(template))
    snap = snapshot_of(tabs)
    cs = snap.tabs["客服台账"]
    snap.tabs["客服台账"] = TabData(cs.title, cs.rows, merged=[(1, 5, 1, 6)])
    tab = bind(snap, template, year=2026).tab("cs_log")
    codes = {f.code: f.message for f in tab.findings}
    assert "表头有合并单元格 (E1:F1)" in codes["layout.merged_header"] and "取消合并" in codes["layout.merged_header"]
