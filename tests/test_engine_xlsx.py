"""The whole loop on a real .xlsx file, read back with openpyxl and calamine."""

from __future__ import annotations

from datetime import datetime, timedelta

import openpyxl
import pytest
from openpyxl.comments import Comment
from openpyxl.styles import PatternFill

from conftest import NOW, base_tabs, row_for
from sheetsync.backends.xlsx import XlsxBackend
from sheetsync.engine import run
from sheetsync.errors import WorkbookBusyError
from sheetsync.model import NOTE_PREFIX
from sheetsync.registry import get_jobs

D = datetime


def shop(template):
    tabs = base_tabs(template)
    tabs["库存"] += [row_for(template, "inventory", sku="LGD-S-300D", product="3克拉裸石", stock=3, min_price=100),
                   row_for(template, "inventory", sku="LGD-R-030", product="戒指", stock=10, min_price=100)]
    tabs["推广确认单"] += [
        row_for(template, "promotions", name="双十一预热款", start=D(2026, 11, 30), end=D(2026, 12, 1),
                skus="LGD-S-300D", declared_stock=5, author="周深", signer="莉莉", signed_at=D(2026, 11, 20)),
        row_for(template, "promotions", name="周末戒指", start=D(2026, 11, 30), end=D(2026, 12, 1),
                skus="LGD-R-030", declared_stock=4, price=199, author="周深", signer="莉莉",
                signed_at=D(2026, 11, 20)),
    ]
    tabs["客服台账"] += [
        row_for(template, "cs_log", customer="王女士", type="产品咨询", asked_at=D(2026, 11, 22, 10),
                answered_at=D(2026, 11, 22, 10, 2), resolved="否", summary='=IMPORTXML("http://x","//a")'),
        row_for(template, "cs_log", customer="李先生", type="产品咨询", asked_at=D(2026, 11, 22, 11),
                answered_at=D(2026, 11, 22, 11, 2), resolved="是"),
    ]
    tabs["售后纠纷"] += [
        row_for(template, "disputes", order="TB1001", received_at=D(2026, 11, 22, 9), category="物流问题",
                first_reply_at=D(2026, 11, 22, 9, 5)),
    ]
    return tabs


def do_run(path, now=NOW, jobs=None, **kw):
    return run(XlsxBackend(path), get_jobs(jobs), now=now, **kw)


def cell(path, title, ref):
    wb = openpyxl.load_workbook(path)
    return wb[title][ref]


def red(c) -> bool:
    return c.fill.fill_type == "solid" and str(c.fill.fgColor.rgb).endswith("FFC7CE")


@pytest.fixture
def workbook(template, write_xlsx):
    return write_xlsx(shop(template))


def test_oversell_is_red_with_a_note_naming_the_real_count(workbook):
    do_run(workbook)
    c = cell(workbook, "推广确认单", "G2")
    assert red(c)
    assert c.comment.text.startswith(NOTE_PREFIX)
    assert "声明库存 5 件, 但「库存」表里 LGD-S-300D 只有 3 件" in c.comment.text


def test_routing_fills_the_empty_handler(workbook):
    do_run(workbook)
    assert cell(workbook, "售后纠纷", "G2").value == "莉莉"


def test_problem_list_run_log_and_hidden_state(workbook):
    report = do_run(workbook)
    wb = openpyxl.load_workbook(workbook)
    problems = list(wb["问题清单"].iter_rows(values_only=True))
    assert problems[0][:5] == ("表", "行", "列", "单元格", "问题")
    assert ("推广确认单", 2, "声明库存", "G2") == problems[1][:4]
    assert problems[1][5] == "周深" and problems[1][7] == "2026-11-22 20:00"
    assert len(problems) - 1 == len(report.findings)
    assert wb["_sheetsync"].sheet_state == "hidden"
    log = list(wb["运行记录"].iter_rows(values_only=True))
    assert len(log) == 2 and log[1][0] == "2026-11-22 20:00" and log[1][6] == "成功"


def test_formula_like_text_is_copied_as_text(workbook):
    do_run(workbook)
    wb = openpyxl.load_workbook(workbook)
    values = [r[9] for r in wb["问题清单"].iter_rows(min_row=2, values_only=True)]
    assert '=IMPORTXML("http://x","//a")' not in values  # the summary cell is not a problem itself
    from python_calamine import CalamineWorkbook

    sheet = CalamineWorkbook.from_path(str(workbook)).get_sheet_by_name("客服台账").to_python()
    assert sheet[1][3] == '=IMPORTXML("http://x","//a")'


def test_second_run_on_unchanged_workbook_writes_nothing(workbook):
    do_run(workbook)
    before = workbook.read_bytes()
    mtime = workbook.stat().st_mtime_ns
    report = do_run(workbook, now=NOW + timedelta(minutes=15))
    assert report.applied is None and report.changes.is_empty()
    assert workbook.read_bytes() == before and workbook.stat().st_mtime_ns == mtime


def test_fixing_the_row_removes_exactly_our_red(workbook):
    do_run(workbook)
    wb = openpyxl.load_workbook(workbook)
    ws = wb["客服台账"]
    assert red(ws["I2"])
    ws["I2"] = "是"
    wb.save(workbook)
    do_run(workbook, now=NOW + timedelta(minutes=15))
    c = cell(workbook, "客服台账", "I2")
    assert not red(c) and c.comment is None
    assert [r[0] for r in openpyxl.load_workbook(workbook)["问题清单"].iter_rows(min_row=2, values_only=True)] \
        == ["推广确认单"]


def test_a_persons_fill_and_comment_are_never_touched(workbook):
    wb = openpyxl.load_workbook(workbook)
    ws = wb["客服台账"]
    yellow = PatternFill("solid", fgColor="FFFFFF00")
    ws["I2"].fill = yellow  # a person coloured the unresolved cell themselves
    ws["I2"].comment = Comment("明天回电话", "童欣")
    ws["B3"].fill = yellow
    ws["B3"].comment = Comment("老客户", "童欣")
    wb.save(workbook)
    report = do_run(workbook)
    for ref, text in (("I2", "明天回电话"), ("B3", "老客户")):
        c = cell(workbook, "客服台账", ref)
        assert str(c.fill.fgColor.rgb) == "FFFFFF00" and c.comment.text == text
    assert any(f.code == "cs.unresolved" for f in report.findings)
    problems = [r[4] for r in openpyxl.load_workbook(workbook)["问题清单"].iter_rows(min_row=2, values_only=True)]
    assert any("已有人工颜色或批注" in p for p in problems)


def test_signed_then_changed_is_red_on_the_next_run(workbook):
    do_run(workbook)
    assert not red(cell(workbook, "推广确认单", "G3"))
    wb = openpyxl.load_workbook(workbook)
    wb["推广确认单"]["G3"] = 8  # 声明库存 raised after 签字时间, nobody re-signed
    wb.save(workbook)
    do_run(workbook, now=NOW + timedelta(minutes=15))
    c = cell(workbook, "推广确认单", "G3")
    assert red(c)
    assert "签字后内容被改动, 需重新签字: 声明库存 4 → 8" in c.comment.text
    # re-signing (a new 签字时间) accepts the new content
    wb = openpyxl.load_workbook(workbook)
    wb["推广确认单"]["J3"] = D(2026, 11, 22, 20, 20)
    wb.save(workbook)
    do_run(workbook, now=NOW + timedelta(minutes=30))
    assert not red(cell(workbook, "推广确认单", "G3"))


def test_refuses_when_the_file_changed_on_disk(workbook, template):
    backend = XlsxBackend(workbook)
    from sheetsync.engine import load
    from sheetsync.job import JobContext
    from sheetsync.planner import plan

    snapshot = backend.read()
    wb = openpyxl.load_workbook(workbook)
    wb["客服台账"]["B3"] = "李先生(改)"
    wb.save(workbook)  # someone saved while the run was computing
    report_changes = run  # noqa: F841 - the refusal comes from apply()
    loaded = load(snapshot, template, NOW)
    out = get_jobs(["validate"])[0].compute(JobContext(loaded.workbook, loaded.settings, loaded.state, loaded.now))
    planned = plan(snapshot, out.findings, out.fills, [], loaded.state, {}, loaded.now,
                   {t.title: t.keys for t in loaded.workbook.tabs.values() if t.data},
                   {}, "_sheetsync", lambda f, s, n: __import__("sheetsync.model").model.ReplaceTab("问题清单", ()))
    with pytest.raises(WorkbookBusyError) as err:
        backend.apply(planned.changes, snapshot)
    assert "没有写入" in str(err.value) or "nothing" in str(err.value).lower()
    assert cell(workbook, "客服台账", "B3").value == "李先生(改)"


def test_refuses_while_open_in_excel(workbook):
    lock = workbook.with_name("~$" + workbook.name)
    lock.write_bytes(b"x")
    with pytest.raises(WorkbookBusyError) as err:
        do_run(workbook)
    assert lock.name in str(err.value)


def test_dry_run_writes_nothing_and_lists_changes(workbook):
    before = workbook.read_bytes()
    report = do_run(workbook, dry_run=True)
    assert workbook.read_bytes() == before
    lines = report.changes.describe()
    assert any(line.startswith("标红 「推广确认单」G2") for line in lines)
    assert any(line == "填写 「售后纠纷」G2 = 莉莉" for line in lines)


def test_weekly_summary_tab_and_chart(workbook):
    do_run(workbook, jobs=["weekly-summary"])
    wb = openpyxl.load_workbook(workbook)
    ws = wb["周报"]
    assert ws["A1"].value == "周" and ws["A2"].value == "2026-11-16 ~ 11-22"
    assert ws.protection.sheet
    import zipfile

    assert any(n.startswith("xl/charts/chart") for n in zipfile.ZipFile(workbook).namelist())
    # a later validate-only run keeps the chart (the writer must not drop its own chart)
    do_run(workbook, jobs=["validate"])
    assert any(n.startswith("xl/charts/chart") for n in zipfile.ZipFile(workbook).namelist())
