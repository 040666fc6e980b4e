"""Red that can always be cleared, and one clear note per cell.

A miss in the past is a fact for the KPIs, not a to-do: a reason in 备注 / 差错说明 clears it, and
once 周报 has reported its week an unexplained one leaves 问题清单. Several findings on one cell:
the actionable one is the note. Every code has a documented way out (docs/codes.md)."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

import pytest

from conftest import base_tabs, evaluate, row_for
from sheetsync.core.model import MARK_FILL
from sheetsync.core.planner import desired_marks
from sheetsync.engine import run
from sheetsync.registry import get_jobs

D = datetime
SUNDAY_REPORT = D(2026, 11, 22, 20, 0)  # 周报时间: Sunday 20:00, reports the week 11-16 .. 11-22


def late_replies(template):
    tabs = base_tabs(template)
    tabs["客服台账"] += [
        row_for(template, "cs_log", customer="一只橙子", type="产品咨询", asked_at=D(2026, 11, 17, 12),
                answered_at=D(2026, 11, 17, 12, 30), agent="童欣", remark="午饭时间没看到消息"),
        row_for(template, "cs_log", customer="李先生", type="产品咨询", asked_at=D(2026, 11, 18, 10),
                answered_at=D(2026, 11, 18, 10, 40), agent="童欣"),
        row_for(template, "cs_log", customer="王女士", type="产品咨询", asked_at=D(2026, 11, 18, 11),
                answered_at=D(2026, 11, 18, 11, 2), agent="童欣"),
    ]
    return tabs


def problem_codes(shop) -> set[tuple[int, str]]:
    return {(r[1], r[8]) for r in shop.rows("问题清单")[1:]}


def weekly_row(shop, monday: str) -> dict[str, object]:
    rows = shop.rows("周报")
    head = [str(h) for h in rows[0]]
    row = next(r for r in rows[1:] if str(r[0]).startswith(monday))
    return dict(zip(head, row, strict=False))


def test_a_late_reply_with_a_reason_is_not_red_but_counts_late_and_the_week_report_clears_the_rest(
        template, make_shop):
    shop = make_shop(late_replies(template))
    run(shop.backend(), get_jobs(["validate"]), now=D(2026, 11, 20, 12))
    assert shop.cell("客服台账", "F2")[1:] == (None, None)  # explained in 备注: not red
    _value, fill, note = shop.cell("客服台账", "F3")
    assert fill == MARK_FILL and note == ("【sheetsync】首次响应用了 40分钟(工作时间), 超过 10分钟 的时限。"
                                          "请在备注里写明原因。")
    assert problem_codes(shop) == {(3, "cs.first_response")}

    # the week is reported: the KPI counts both misses, 周报 lists the reason given ...
    run(shop.backend(), get_jobs(["validate", "weekly-summary"]), now=SUNDAY_REPORT)
    week = weekly_row(shop, "2026-11-16")
    assert week["客服响应率·及时响应/咨询"] == "1/3"
    assert week["超时回复原因"] == "午饭时间没看到消息 1"
    assert (3, "cs.first_response") in problem_codes(shop)  # the week is not over yet
    # ... and once it is, the unexplained miss of that week has left 问题清单, its red cleared
    run(shop.backend(), get_jobs(["validate"]), now=D(2026, 11, 23, 0, 5))
    assert (3, "cs.first_response") not in problem_codes(shop)
    assert shop.cell("客服台账", "F3")[1:] == (None, None)

    # the next week's misses are to-dos again until that week is reported
    shop.type("客服台账", "A5", None)
    for ref, value in (("B5", "赵女士"), ("C5", "产品咨询"), ("E5", D(2026, 11, 23, 10)),
                       ("F5", D(2026, 11, 23, 10, 30)), ("G5", "童欣")):
        shop.type("客服台账", ref, value)
    run(shop.backend(), get_jobs(["validate"]), now=D(2026, 11, 23, 11))
    assert problem_codes(shop) == {(5, "cs.first_response")}
    assert shop.cell("客服台账", "F3")[1:] == (None, None)  # the reported week stays cleared


def test_a_promotion_that_went_live_unsigned_clears_once_the_error_note_explains_it(template, make_shop):
    tabs = base_tabs(template)
    tabs["库存"].append(row_for(template, "inventory", sku="SKU-1", product="裸石", stock=10, min_price=100))
    tabs["推广确认单"] += [
        row_for(template, "promotions", name="秒杀", start=D(2026, 11, 19, 10), end=D(2026, 11, 30), skus="SKU-1",
                declared_stock=1, author="周深", signer="莉莉", signed_at=D(2026, 11, 19, 14, 20), price=120),
        row_for(template, "promotions", name="清仓", start=D(2026, 11, 1), end=D(2026, 11, 3), skus="SKU-1",
                declared_stock=1, author="周深", signer="莉莉", signed_at=D(2026, 10, 20), price=50),
        row_for(template, "promotions", name="周末", start=D(2026, 11, 20), end=D(2026, 11, 30), skus="SKU-1",
                declared_stock=1, author="周深", signer="莉莉", signed_at=D(2026, 11, 10), price=50),
    ]
    shop = make_shop(tabs)
    now = D(2026, 11, 20, 12)
    run(shop.backend(), get_jobs(["validate", "reconcile-stock"]), now=now)
    assert shop.cell("推广确认单", "J2")[1] == MARK_FILL  # signed after it started
    assert "请复盘, 在差错说明里写明原因" in shop.cell("推广确认单", "J2")[2]
    assert shop.cell("推广确认单", "F3")[1:] == (None, None)  # below the floor, but that promotion is over
    assert shop.cell("推广确认单", "F4")[1] == MARK_FILL  # below the floor and still running
    shop.type("推广确认单", "L2", "签字时财务在外面, 电话确认过")
    run(shop.backend(), get_jobs(["validate", "reconcile-stock"]), now=now)
    assert shop.cell("推广确认单", "J2")[1:] == (None, None)
    assert problem_codes(shop) == {(4, "stock.below_min_price")}


def test_one_note_per_cell_the_actionable_one_wins(template, make_shop):
    tabs = base_tabs(template)
    tabs["售后纠纷"].append(row_for(template, "disputes", order="TB3001", received_at=D(2026, 11, 20, 9),
                                  category="物流问题", first_reply_at=D(2026, 11, 20, 9, 5), handler="莉莉",
                                  solution="补发", status="已解决"))
    shop = make_shop(tabs)
    run(shop.backend(), get_jobs(["validate"]), now=D(2026, 11, 22, 12))  # 24 h to resolve are long gone
    _value, fill, note = shop.cell("售后纠纷", "J2")
    assert fill == MARK_FILL and note == "【sheetsync】状态是「已解决」, 但没填解决时间。请补上解决的时间。"
    assert problem_codes(shop) == {(2, "dispute.resolved_without_time")}


# -- table-driven: a row, a time, what the cell's note says ---------------------------------------


def cs(**values):
    return "cs_log", dict(customer="一只橙子", type="产品咨询", agent="童欣", **values)


def dispute(**values):
    return "disputes", dict(order="TB9", received_at=D(2026, 11, 23, 10), category="质量问题", handler="周一军",
                            **values)


NOTES = [
    ("due soon", cs(asked_at=D(2026, 11, 23, 10)), D(2026, 11, 23, 10, 8), "首次响应时间",
     "还剩 2分钟: 请在 2026-11-23 10:10 前回复客户「一只橙子」, 并填首次响应时间。"),
    ("overdue", cs(asked_at=D(2026, 11, 23, 10)), D(2026, 11, 23, 10, 10, 30), "首次响应时间",
     "客户 2026-11-23 10:00 咨询, 已超过 10分钟 还没回复(应在 2026-11-23 10:10 前)。请马上回复并填首次响应时间。"),
    ("overdue stays whatever 备注 says", cs(asked_at=D(2026, 11, 23, 10), remark="等仓库回复"),
     D(2026, 11, 23, 10, 30), "首次响应时间",
     "客户 2026-11-23 10:00 咨询, 已超过 10分钟 还没回复(应在 2026-11-23 10:10 前)。请马上回复并填首次响应时间。"),
    ("late, asks for a reason", cs(asked_at=D(2026, 11, 23, 10), answered_at=D(2026, 11, 23, 10, 25)),
     D(2026, 11, 23, 11), "首次响应时间", "首次响应用了 25分钟(工作时间), 超过 10分钟 的时限。请在备注里写明原因。"),
    ("late, explained", cs(asked_at=D(2026, 11, 23, 10), answered_at=D(2026, 11, 23, 10, 25), remark="停电"),
     D(2026, 11, 23, 11), "首次响应时间", None),
    ("qc verify due soon", dispute(first_reply_at=D(2026, 11, 23, 10, 2)), D(2026, 11, 23, 11, 30), "核实时间",
     "还剩 30分钟: 请在 2026-11-23 12:00 前核实订单 TB9 的质量问题, 并填核实时间。"),
    ("first reply due soon", dispute(customer="小王"), D(2026, 11, 23, 10, 7), "首次回复时间",
     "还剩 3分钟: 请在 2026-11-23 10:10 前回复客户「小王」(先回一句「已看到, 正在核实」), 并填首次回复时间。"),
    ("resolved without time over overdue", dispute(first_reply_at=D(2026, 11, 23, 10, 2),
                                                  verified_at=D(2026, 11, 23, 11), solution="补发+10元券",
                                                  status="已解决"),
     D(2026, 11, 25, 12), "解决时间", "状态是「已解决」, 但没填解决时间。请补上解决的时间。"),
    ("resolve overdue", dispute(first_reply_at=D(2026, 11, 23, 10, 2), verified_at=D(2026, 11, 23, 11)),
     D(2026, 11, 25, 12), "解决时间",
     "2026-11-23 10:00 接诉, 已超过 24小时 还没解决(应在 2026-11-24 10:00 前)。请尽快给出处理方案并跟进到底。"),
]


@pytest.mark.parametrize("name,row,now,column,expected", NOTES, ids=[n[0] for n in NOTES])
def test_the_note_a_cell_gets(template, name, row, now, column, expected):
    key, values = row
    tabs = base_tabs(template)
    tabs[template.tabs[key].title].append(row_for(template, key, **values))
    marks = desired_marks(evaluate(template, tabs, now))
    col = next(i for i, c in enumerate(template.tabs[key].columns, 1) if c.name == column)
    got = marks.get((template.tabs[key].title, 2, col))
    assert (got[1].removeprefix("【sheetsync】") if got else None) == expected


# -- every code has a way out ---------------------------------------------------------------------

CODES_DOC = Path(__file__).resolve().parents[1] / "docs" / "codes.md"


def test_docs_say_who_owns_every_code_and_what_clears_it():
    from sheetsync.core.rules import all_codes
    from sheetsync.i18n import load_catalogue
    from sheetsync.templates import load_template

    rows = [[c.strip() for c in line.strip().strip("|").split("|")]
            for line in CODES_DOC.read_text(encoding="utf-8").splitlines() if line.startswith("| `")]
    documented = [r[0].strip("`") for r in rows]
    assert len(documented) == len(set(documented))
    assert all(len(r) == 4 and r[2] and r[3] for r in rows), [r for r in rows if len(r) != 4 or not r[3]]
    for lang in ("zh-CN", "en"):
        cat = load_catalogue(lang)
        worded = {k.partition(".")[2] for k in cat.entries
                  if k.split(".")[0] == "findings" and k.split(".")[1] not in ("where", "part")
                  and k not in ("findings.note_prefix", "findings.unworded")}
        emitted = set(all_codes(load_template(lang)))
        assert set(documented) == worded | emitted, lang
    # a code a rule kind can emit is documented for every rule of that kind
    assert all(re.fullmatch(r"[a-z_.]+", c) for c in documented)
