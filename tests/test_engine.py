"""The whole loop on both backends (a real .xlsx file and Google Sheets through the fake server),
read back through each backend's own reader. xlsx-only behaviour is in test_engine_xlsx_only.py."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from sheetsync.i18n import describe_changes, load_catalogue

from conftest import NOW, row_for, shop_rows
from sheetsync.engine import run
from sheetsync.core.model import MARK_FILL, NOTE_PREFIX
from sheetsync.registry import get_jobs

D = datetime


def do_run(shop, now=NOW, jobs=None, **kw):
    return run(shop.backend(), get_jobs(jobs), now=now, **kw)


@pytest.fixture
def shop(template, make_shop):
    return make_shop(shop_rows(template))


def test_oversell_is_red_with_a_note_naming_the_real_count(shop):
    do_run(shop)
    _value, fill, note = shop.cell("推广确认单", "G2")
    assert fill == MARK_FILL
    assert note.startswith(NOTE_PREFIX)
    assert "声明库存 5 件, 但「库存」表里 LGD-S-300D 只有 3 件" in note


def test_routing_fills_the_empty_handler(shop):
    do_run(shop)
    assert shop.cell("售后纠纷", "G2")[0] == "莉莉"


def test_problem_list_run_log_and_hidden_state(shop):
    report = do_run(shop)
    problems = shop.rows("问题清单")
    assert tuple(problems[0][:5]) == ("表", "行", "列", "单元格", "问题")
    assert ("推广确认单", 2, "声明库存", "G2") == tuple(problems[1][:4])
    assert problems[1][5] == "周深" and problems[1][7] == "2026-11-22 20:00"
    assert len(problems) - 1 == len(report.findings)
    assert shop.backend().read().tabs["_sheetsync"].hidden
    log = shop.rows("运行记录")
    assert len(log) == 2 and log[1][0] == "2026-11-22 20:00" and log[1][6] == "成功"


def test_second_run_on_unchanged_workbook_writes_nothing(shop):
    do_run(shop)
    before = shop.fingerprint()
    report = do_run(shop, now=NOW + timedelta(minutes=15))
    assert report.applied is None and report.changes.is_empty()
    assert shop.fingerprint() == before
    assert len(shop.rows("运行记录")) == 2


def test_fixing_the_row_removes_exactly_our_red(shop):
    do_run(shop)
    assert shop.cell("客服台账", "I2")[1] == MARK_FILL
    shop.type("客服台账", "I2", "是")
    do_run(shop, now=NOW + timedelta(minutes=15))
    assert shop.cell("客服台账", "I2") == ("是", None, None)
    assert [r[0] for r in shop.rows("问题清单")[1:]] == ["推广确认单"]
    assert len(shop.rows("运行记录")) == 3


def test_a_persons_fill_and_note_are_never_touched(shop):
    shop.person_mark("客服台账", "I2", "FFFF00", "明天回电话")  # a person marked the unresolved cell
    shop.person_mark("客服台账", "B3", "FFFF00", "老客户")
    report = do_run(shop)
    if shop.kind == "feishu":
        # no documented Feishu API reads a cell's fill: sheetsync cannot see the yellow, so its red is a
        # conditional format drawn over it, and the yellow itself is never changed
        assert shop.fake.model.own_fill("客服台账", 2, 9) == "FFFF00"
        assert shop.cell("客服台账", "I2")[1] == MARK_FILL and shop.cell("客服台账", "B3")[1:] == ("FFFF00", "老客户")
        shop.type("客服台账", "I2", "是")
        do_run(shop, now=NOW + timedelta(minutes=15))
        assert shop.cell("客服台账", "I2") == ("是", "FFFF00", "明天回电话")  # fixed: the person's colour shows again
        return
    assert shop.cell("客服台账", "I2")[1:] == ("FFFF00", "明天回电话")
    assert shop.cell("客服台账", "B3")[1:] == ("FFFF00", "老客户")
    assert any(f.code == "cs.unresolved" for f in report.findings)
    assert any("已有人工颜色或批注" in str(r[4]) for r in shop.rows("问题清单")[1:])


def test_signed_then_changed_is_red_on_the_next_run(shop):
    do_run(shop)
    assert shop.cell("推广确认单", "G3")[1] is None
    shop.type("推广确认单", "G3", 8)  # 声明库存 raised after 签字时间, nobody re-signed
    do_run(shop, now=NOW + timedelta(minutes=15))
    _value, fill, note = shop.cell("推广确认单", "G3")
    assert fill == MARK_FILL
    assert "签字后内容被改动, 需重新签字: 声明库存 4 → 8" in note
    shop.type("推广确认单", "J3", D(2026, 11, 22, 20, 20))  # re-signed: the new content is accepted
    do_run(shop, now=NOW + timedelta(minutes=30))
    assert shop.cell("推广确认单", "G3")[1] is None


def test_dry_run_writes_nothing_and_lists_changes(shop):
    before = shop.fingerprint()
    report = do_run(shop, dry_run=True)
    assert shop.fingerprint() == before
    lines = describe_changes(report.changes, load_catalogue("zh-CN"))
    assert any(line.startswith("标红 「推广确认单」G2") for line in lines)
    assert "填写 「售后纠纷」G2 = 莉莉" in lines


def test_weekly_summary_tab(shop):
    do_run(shop, jobs=["weekly-summary"])
    rows = shop.rows("周报")
    assert rows[0][0] == "周" and rows[1][0] == "2026-11-16 ~ 11-22"
    row = dict(zip(rows[0], rows[1], strict=False))
    assert row["客服响应率"] == 1 and row["客服响应率·及时响应/咨询"] == "2/2"
    assert row["选品合格率"] in (None, "") and row["选品合格率·合格/检查"] == "0/0"


def test_sorting_between_runs_keeps_red_on_its_row(shop, template):
    """A person sorts 客服台账 by 客户 between two runs: the mark moves with its row, and the
    next run neither clears it nor paints the row that took its place."""
    do_run(shop)
    assert shop.cell("客服台账", "I2")[1] == MARK_FILL
    note = shop.cell("客服台账", "I2")[2]
    if shop.kind == "feishu":  # the notes column moved with the rows; the conditional format did not
        shop.fake.model.swap_rows("客服台账", 2, 3)
        report = do_run(shop, now=NOW + timedelta(minutes=15))
        assert shop.cell("客服台账", "I3")[1:] == (MARK_FILL, note) and shop.cell("客服台账", "I2")[1:] == (None, None)
        assert not report.changes.unpaints
        return
    rows = shop.rows("客服台账")
    # swap the two data rows by retyping them, as a sort would (values and formats travel together)
    for col, (a, b) in enumerate(zip(rows[1], rows[2], strict=False), start=1):
        from openpyxl.utils import get_column_letter

        shop.type("客服台账", f"{get_column_letter(col)}2", b)
        shop.type("客服台账", f"{get_column_letter(col)}3", a)
    if shop.kind == "google":
        shop.fake.model.set_fill("客服台账", 2, 9, None)
        shop.fake.model.set_fill("客服台账", 3, 9, MARK_FILL)
        note = shop.fake.model.cell("客服台账", 2, 9).get("note")
        shop.fake.model.set_note("客服台账", 2, 9, None)
        shop.fake.model.set_note("客服台账", 3, 9, note)
    else:
        import openpyxl
        from copy import copy

        wb = openpyxl.load_workbook(shop.path)
        ws = wb["客服台账"]
        ws["I3"].fill, ws["I3"].comment = copy(ws["I2"].fill), copy(ws["I2"].comment)
        ws["I2"].fill, ws["I2"].comment = openpyxl.styles.PatternFill(fill_type=None), None
        wb.save(shop.path)
    report = do_run(shop, now=NOW + timedelta(minutes=15))
    assert shop.cell("客服台账", "I3")[1] == MARK_FILL and shop.cell("客服台账", "I2")[1] is None
    assert not report.changes.paints and not report.changes.unpaints


def test_renaming_a_signed_promotion_does_not_reset_what_was_signed(shop):
    do_run(shop)
    shop.type("推广确认单", "A3", "周末戒指大促")  # renamed...
    shop.type("推广确认单", "G3", 9)  # ...and the stock raised, without re-signing
    do_run(shop, now=NOW + timedelta(minutes=15))
    _value, fill, note = shop.cell("推广确认单", "G3")
    assert fill == MARK_FILL and "声明库存 4 → 9" in note


def test_a_broken_header_does_not_forget_signatures(shop):
    do_run(shop)
    shop.type("推广确认单", "D1", "商品SKU")  # a person renamed the 适用商品 header: the tab cannot be checked
    report = do_run(shop, now=NOW + timedelta(minutes=15))
    assert any(f.code == "tab.missing_required_column_near" for f in report.findings)
    shop.type("推广确认单", "G3", 9)
    shop.type("推广确认单", "D1", "适用商品")
    do_run(shop, now=NOW + timedelta(minutes=30))
    assert "声明库存 4 → 9" in shop.cell("推广确认单", "G3")[2]


def test_fixing_an_unreadable_key_cell_clears_its_red(shop):
    """咨询时间 is part of the row's identity; fixing it changes the row key, and the red on it must
    still go away (it is found where sheetsync left it)."""
    shop.type("客服台账", "E3", "昨天下午")
    do_run(shop)
    assert shop.cell("客服台账", "E3")[1] == MARK_FILL
    shop.type("客服台账", "E3", D(2026, 11, 22, 11))
    do_run(shop, now=NOW + timedelta(minutes=15))
    assert shop.cell("客服台账", "E3")[1:] == (None, None)
    assert not any("已有人工颜色或批注" in str(r[4]) for r in shop.rows("问题清单")[1:])


def test_marks_survive_a_run_where_their_tab_could_not_be_checked(shop):
    do_run(shop)
    assert shop.cell("推广确认单", "G2")[1] == MARK_FILL
    shop.type("推广确认单", "A1", "活动")  # a person renamed the 活动名称 header
    do_run(shop, now=NOW + timedelta(minutes=15))
    assert shop.cell("推广确认单", "G2")[1] == MARK_FILL  # untouched while the tab cannot be read
    shop.type("推广确认单", "A1", "活动名称")
    shop.type("库存", "C2", 5)  # and the oversell is fixed (stock arrived)
    do_run(shop, now=NOW + timedelta(minutes=30))
    assert shop.cell("推广确认单", "G2")[1:] == (None, None)


def test_a_batch_signed_at_the_same_minute_does_not_mix_up_signatures(template, make_shop):
    """Two promotions signed by 莉莉 at the same minute; one is replaced by a new one and another
    new one is added with the same signature: neither new row is reported as edited."""
    tabs = shop_rows(template)
    tabs["推广确认单"][1:] = [
        row_for(template, "promotions", name=n, start=D(2026, 11, 30), end=D(2026, 12, 1), skus="LGD-R-030",
                declared_stock=1, price=p, author="周深", signer="莉莉", signed_at=D(2026, 11, 21, 9))
        for n, p in (("双11A", 199), ("双11B", 299))]
    shop = make_shop(tabs)
    do_run(shop)
    shop.type("推广确认单", "A2", "双12C")
    shop.type("推广确认单", "F2", 259)
    for col, value in zip("ABCDFGHIJ", ("元旦D", D(2026, 12, 30), D(2026, 12, 31), "LGD-R-030", 9, 1, "周深", "莉莉",
                                          D(2026, 11, 21, 9)), strict=False):
        shop.type("推广确认单", f"{col}4", value)
    report = do_run(shop, now=NOW + timedelta(minutes=15))
    assert not [f for f in report.findings if f.code == "promo.changed_after_sign"]


def _counted(jobs, reports=None):
    """The jobs with their computations counted (and, with ``reports``, that flag set)."""
    from dataclasses import replace

    calls = {job.name: 0 for job in jobs}

    def counting(job):
        def compute(ctx):
            calls[job.name] += 1
            return job.compute(ctx)
        return compute

    out = [replace(job, compute=counting(job), reports=job.reports if reports is None else reports) for job in jobs]
    return out, calls


def test_a_run_that_reports_a_week_checks_the_workbook_once(template, write_xlsx):
    """周报 runs first, so validate sees the week reported without checking the workbook twice;
    a job that reports unannounced makes the jobs before it run again, with the same result."""
    from sheetsync.backends.xlsx import XlsxBackend

    sunday_report = datetime(2026, 11, 22, 20, 0)
    problems = []
    for reports, checks in ((None, 1), (False, 2)):
        path = write_xlsx(shop_rows(template), f"shop-{checks}.xlsx")
        jobs, calls = _counted(get_jobs(["validate", "weekly-summary"]), reports)
        report = run(XlsxBackend(path), jobs, now=sunday_report, template=template)
        assert calls == {"validate": checks, "weekly-summary": 1}
        assert report.weekly is not None
        problems.append(sorted((f.tab, f.row, f.code) for f in report.findings))
    assert problems[0] == problems[1]
