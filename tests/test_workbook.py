"""Binding a workbook to the template: forgiving headers, messy cells, layout problems."""

from __future__ import annotations

from datetime import datetime

import pytest

from conftest import base_tabs, codes_at, evaluate, header, row_for, snapshot_of
from sheetsync.core.model import TabData
from sheetsync.core.binding import bind
from sheetsync.templates import load_template
from sheetsync.i18n.findings import catalogue_for, with_messages


def worded(findings, template):
    """Findings as the edge words them (notes, 问题清单, check)."""
    return with_messages(findings, catalogue_for(template))


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
    [f] = [f for f in findings if f.code == "tab.missing_required_column_near"]
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
    assert "合并单元格" in worded(tab.findings, template)[0].message
    assert tab.frame["date"].notna().all()


def test_merged_header_is_reported_with_the_fix(template):
    tabs = base_tabs(template)
    tabs["客服台账"][0][5] = None  # 首次响应时间 merged into 咨询时间's header cell
    tabs["客服台账"].append(cs_row(template))
    snap = snapshot_of(tabs)
    cs = snap.tabs["客服台账"]
    snap.tabs["客服台账"] = TabData(cs.title, cs.rows, merged=[(1, 5, 1, 6)])
    tab = bind(snap, template, year=2026).tab("cs_log")
    codes = {f.code: f.message for f in worded(tab.findings, template)}
    assert "表头有合并单元格 (E1:F1)" in codes["layout.merged_header"] and "取消合并" in codes["layout.merged_header"]


def test_a_formula_showing_an_error_gets_a_note_not_an_empty_cell(template):
    from sheetsync.core.model import CellError

    tabs = base_tabs(template)
    tabs["库存"].append(row_for(template, "inventory", sku="SKU-1", stock=CellError("#DIV/0!"), min_price=10))
    tab = bind(snapshot_of(tabs), template, year=2026).tab("inventory")
    [f] = worded(tab.findings, template)
    assert (f.row, f.column, f.code, f.paint) == (2, "库存", "cell.formula_error", True)
    assert f.message == "公式出错: #DIV/0!, 请检查公式。"
    assert tab.bad.at[2, "stock"]  # not read as an empty (required) cell


# ---------------------------------------------------------------------------------------------
# As a shop owner meets them: a real workbook laid out by `sheetsync init`, checked from the CLI.

CLI_NOW = "2026-11-22T20:00:00+08:00"


def _init(tmp_path, *template_args):
    import openpyxl

    from sheetsync.cli import main

    path = tmp_path / "shop.xlsx"
    assert main(["init", "--workbook", str(path), *template_args]) == 0
    return path, openpyxl.load_workbook(path)


def _check(path, capsys, *args):
    from sheetsync.cli import main

    capsys.readouterr()
    code = main(["check", "--workbook", str(path), "--now", CLI_NOW, *args])
    return code, capsys.readouterr().out


def test_init_with_the_english_template_fills_the_settings_tab_in_english(tmp_path, capsys):
    import re

    path, wb = _init(tmp_path, "--template", "en")
    rows = [[c.value for c in row] for row in wb["Settings"].iter_rows()]
    assert rows[0] == ["Setting", "Value", "Notes"]
    assert rows[1:4] == [["Shop name", None, "Shown in the weekly summary title and the e-mail subject"],
                         ["Time zone", "Asia/Shanghai", "All times are read in this time zone"],
                         ["Working hours", "09:00-23:00",
                          "Time limits count working hours only; empty = round the clock"]]
    assert ["Weekly summary time", "Sunday 20:00", "When the weekly summary is sent"] in rows
    assert len(rows) == 1 + len(load_template("en").settings)
    assert not [r for r in rows for v in r if v and re.search(r"[\u3000-\u303f\u4e00-\u9fff]", v)]
    assert ["Check interval (minutes)", "2",
            "How often the workbook is checked in working hours (every 15 minutes outside them)"] in rows
    assert [c.comment.text for c in wb["Team"][1] if c.comment] == [
        "required", "required", "group-bot alerts (WeCom, DingTalk) @mention this number"]
    code, out = _check(path, capsys, "--template", "en")
    problems = [line for line in out.splitlines() if "[" in line and "]" in line]
    # every English key is understood; what is left are the blanks of the starter replies, to fill in
    assert problems and all("[replies.placeholder]" in line for line in problems), out


def test_init_with_the_default_template_fills_the_settings_tab_as_before(tmp_path):
    _path, wb = _init(tmp_path)
    rows = [[c.value for c in row] for row in wb["设置"].iter_rows()]
    assert rows[0] == ["项目", "值", "说明"] and len(rows) == 1 + len(load_template("zh-CN").settings)
    assert ["工作时间", "09:00-23:00", "时限只计算工作时间; 留空 = 全天计时"] in rows
    assert ["周报时间", "周日 20:00", "周报发送时间"] in rows
    assert ["升级时限(小时)", "2", "红色问题提醒负责人后, 过了这么久 (工作时间) 还没处理, 就告诉店长"] in rows
    assert [c.comment.text for c in wb["成员"][1] if c.comment] == ["必填", "必填", "企业微信/钉钉群机器人提醒时 @ 这个手机号"]


def test_a_deleted_column_does_not_suggest_another_real_column(tmp_path, capsys):
    path, wb = _init(tmp_path)
    ws = wb["推广确认单"]
    assert ws["I1"].value == "确认人"
    ws.delete_cols(9)
    wb.save(path)
    code, out = _check(path, capsys)
    assert code == 1
    assert "「推广确认单」表里找不到「确认人」这一列。请把表头改回「确认人」" in out
    assert "填写人" not in out.split("找不到「确认人」")[1].split("\n")[0]


def test_a_renamed_header_is_suggested(tmp_path, capsys):
    path, wb = _init(tmp_path)
    wb["推广确认单"]["I1"] = "确认者"
    wb.save(path)
    _code, out = _check(path, capsys)
    assert "找不到「确认人」这一列(最像的列名: 确认者)" in out


def test_a_renamed_tab_gets_the_closest_tab_as_a_hint(tmp_path, capsys):
    path, wb = _init(tmp_path)
    wb["中差评"].title = "中差评记录"
    wb.save(path)
    code, out = _check(path, capsys)
    assert code == 1 and "找不到「中差评」表(最像的表名: 中差评记录)" in out


def test_an_english_workbook_checked_with_the_chinese_template_says_use_template_en(tmp_path, capsys):
    path, _wb = _init(tmp_path, "--template", "en")
    code, out = _check(path, capsys)
    assert code == 1
    assert "这个工作簿的表名和表头是「en」模板的, 现在用的是「zh-CN」模板。请加上 --template en 运行" in out


def test_a_chinese_workbook_checked_with_the_english_template_binds_without_a_hint(tmp_path, capsys):
    path, _wb = _init(tmp_path)
    code, out = _check(path, capsys, "--template", "en")
    assert code == 0 and "--template" not in out


def test_english_layout_notes_are_english(tmp_path, capsys):
    path, wb = _init(tmp_path, "--template", "en")
    wb["Promotions"]["I1"] = "Signed"
    wb["Bad reviews"].title = "Bad review log"
    wb.save(path)
    _code, out = _check(path, capsys, "--template", "en")
    assert "Tab 'Promotions' has no column 'Signed by' (closest header: 'Signed')." in out
    assert "Tab 'Bad reviews' not found (closest tab: 'Bad review log')." in out


def test_the_english_hint_names_the_chinese_template(template):
    from sheetsync.templates import load_template

    en = load_template("en")
    tabs = {t.title: [[c.name for c in t.columns]] for t in template.tabs.values()}
    tabs["客服台账"][0] = ["Customer", "问题类型", "咨询时间"]  # a mix: some headers lost
    tabs.pop("中差评")
    findings = bind(snapshot_of(tabs), en, year=2026).all_findings()
    hint = [f for f in findings if f.code == "tab.other_template"]
    assert not hint  # the Chinese names are the English template's aliases: it reads this workbook
    tabs = {t.title: [[c.name for c in t.columns]] for t in en.tabs.values()}
    tabs.pop("Team")
    [f] = [f for f in bind(snapshot_of(tabs), template, year=2026).all_findings() if f.code == "tab.other_template"]
    assert f.params == {"template": "en", "current": "zh-CN"}


def test_a_duplicated_header_names_both_cells(tmp_path, capsys):
    path, wb = _init(tmp_path)
    ws = wb["库存"]
    assert [c.value for c in ws[1]] == ["SKU", "商品名称", "库存", "最低价", "更新时间"]
    ws["F1"] = "库存 "
    ws.append(["SKU-1", "戒指", 3, 10, None, 5])
    wb.save(path)
    _code, out = _check(path, capsys)
    assert "「库存」表里有两列都是「库存」(C1、F1), 现在按 C1 这一列检查。请删掉或改名其中一列。" in out


def test_two_tabs_matching_one_template_tab_are_named(tmp_path, capsys):
    path, wb = _init(tmp_path)
    copy = wb.copy_worksheet(wb["库存"])
    copy.title = "库存 "
    wb.save(path)
    _code, out = _check(path, capsys)
    assert "「库存」和「库存 」两张表都像是「库存」表, 现在按「库存」检查。请删掉或改名其中一张。" in out


def test_a_formula_showing_div0_in_a_real_workbook_gets_a_note(tmp_path, capsys):
    import re
    import zipfile

    path, wb = _init(tmp_path)
    ws = wb["库存"]
    ws.append(["SKU-1", "戒指", "=1/0", 10, None])
    wb.save(path)
    # what Excel saves: the formula with the error it computed
    with zipfile.ZipFile(path) as zin:
        parts = {name: zin.read(name) for name in zin.namelist()}
    [name] = [n for n, data in parts.items() if b"<f>1/0</f>" in data]
    parts[name], n = re.subn(rb'<c r="C2"( s="\d+")?( t="\w+")?><f>1/0</f><v\s*/>',
                             lambda m: b'<c r="C2"' + (m[1] or b"") + b' t="e"><f>1/0</f><v>#DIV/0!</v>',
                             parts[name])
    assert n == 1
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zout:
        for part, data in parts.items():
            zout.writestr(part, data)
    code, out = _check(path, capsys)
    assert code == 1
    assert "「库存」第2行「库存」  [cell.formula_error]  公式出错: #DIV/0!, 请检查公式。" in out
    assert "是必填的" not in out
