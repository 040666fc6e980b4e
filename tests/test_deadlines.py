"""Tell the right person in time: amber before a deadline, red at it, the person on the row as the
owner, a note on a value sheetsync filled in. On every backend, read back the way a person sees it."""

from __future__ import annotations

from datetime import datetime

import pytest

from conftest import base_tabs, evaluate, row_for
from sheetsync.core.model import INFO_FILL, MARK_FILL, WARN_FILL
from sheetsync.engine import run
from sheetsync.registry import get_jobs

D = datetime
MONDAY = D(2026, 11, 23)


def at(hour: int, minute: int = 0) -> datetime:
    return MONDAY.replace(hour=hour, minute=minute)


def inquiry_rows(template, **more):
    tabs = base_tabs(template, more.pop("settings", None))
    tabs["客服台账"].append(row_for(template, "cs_log", customer="一只橙子", type="产品咨询", asked_at=at(10),
                                  agent="童欣", **more))
    return tabs


def dispute_rows(template):
    tabs = base_tabs(template)
    tabs["成员"].append(["李四", "选品", "lisi@example.com"])
    tabs["售后纠纷"].append(row_for(template, "disputes", order="TB2001", customer="小王", received_at=at(10),
                                  category="质量问题", first_reply_at=at(10, 3)))
    return tabs


def validate(shop, now):
    return run(shop.backend(), get_jobs(["validate"]), now=now)


def problem_rows(shop, code):
    return [r for r in shop.rows("问题清单")[1:] if r[8] == code]


# -- the acceptance story: an inquiry at 10:00, a 10-minute limit ---------------------------------


def test_an_unanswered_inquiry_turns_amber_naming_the_deadline_then_red_at_it(template, make_shop):
    shop = make_shop(inquiry_rows(template))
    validate(shop, at(10, 5))  # 5 of 10 minutes gone: nothing yet
    assert shop.cell("客服台账", "F2")[1:] == (None, None)

    report = validate(shop, at(10, 7))
    _value, fill, note = shop.cell("客服台账", "F2")
    assert fill == WARN_FILL
    assert note == "【sheetsync】还剩 3分钟: 请在 2026-11-23 10:10 前回复客户「一只橙子」, 并填首次响应时间。"
    [warn] = [f for f in report.findings if f.code == "cs.first_response.due_soon"]
    assert (warn.severity, warn.owners, warn.deadline) == ("warn", ("童欣",), at(10, 10))
    [row] = problem_rows(shop, "cs.first_response.due_soon")
    assert row[5] == "童欣" and row[3] == "F2"

    assert validate(shop, at(10, 8)).applied is None or shop.cell("客服台账", "F2")[1] == WARN_FILL

    validate(shop, at(10, 11))
    _value, fill, note = shop.cell("客服台账", "F2")
    assert fill == MARK_FILL  # the same cell, the warning replaced by the red
    assert note == ("【sheetsync】客户 2026-11-23 10:00 咨询, 已超过 10分钟 还没回复(应在 2026-11-23 10:10 前)。"
                    "请马上回复并填首次响应时间。")
    assert not problem_rows(shop, "cs.first_response.due_soon")
    assert problem_rows(shop, "cs.first_response.overdue")[0][5] == "童欣"

    shop.type("客服台账", "F2", at(10, 12))  # answered at last: 12 minutes, late
    validate(shop, at(10, 13))
    assert shop.cell("客服台账", "F2")[1] == MARK_FILL
    shop.type("客服台账", "J2", "午饭时间没看到消息")  # the reason, in 备注
    validate(shop, at(10, 14))
    assert shop.cell("客服台账", "F2")[1:] == (None, None)


def test_the_quality_dispute_belongs_to_the_selection_person_filled_in_with_a_note(template, make_shop):
    shop = make_shop(dispute_rows(template))
    report = validate(shop, at(10, 1))
    value, fill, note = shop.cell("售后纠纷", "G2")
    assert value == "周一军"
    assert fill == INFO_FILL
    assert note == ("【sheetsync】sheetsync 按「成员」表把这件质量问题分给了选品「周一军」。"
                    "要换人就直接改这一格, 这条说明会自动消失。")
    assert not [f for f in report.findings if f.code.startswith("dispute.handler")]  # a note, not a problem
    assert not [r for r in shop.rows("问题清单")[1:] if r[3] == "G2"]

    report = validate(shop, at(11, 30))  # 2 h to verify, amber from 11:24
    [warn] = [f for f in report.findings if f.code == "dispute.qc_verify.due_soon"]
    assert warn.owners == ("周一军",) and warn.owner_role == "选品"
    value, fill, note = shop.cell("售后纠纷", "H2")
    assert fill == WARN_FILL and "请在 2026-11-23 12:00 前核实订单 TB2001 的质量问题" in note
    [row] = problem_rows(shop, "dispute.qc_verify.due_soon")
    assert row[5] == "周一军" and row[6] == "选品"
    assert shop.cell("售后纠纷", "G2")[1] == INFO_FILL  # the note stays while the value is sheetsync's

    shop.type("售后纠纷", "G2", "李四")  # a person hands it on: their value, no note any more
    report = validate(shop, at(11, 31))
    assert shop.cell("售后纠纷", "G2") == ("李四", None, None)
    [warn] = [f for f in report.findings if f.code == "dispute.qc_verify.due_soon"]
    assert warn.owners == ("李四",)
    assert problem_rows(shop, "dispute.qc_verify.due_soon")[0][5] == "李四"


def test_the_warning_lead_is_a_setting_counted_in_working_time(template):
    """30 % by default: 3 min of 10 min, 36 min of 2 h, 7 h 12 min of 24 h; working hours count."""
    tabs = dispute_rows(template)
    got = {f.code: f for f in evaluate(template, tabs, at(11, 24))}
    assert "dispute.qc_verify.due_soon" in got and "dispute.resolve.due_soon" not in got
    assert "dispute.qc_verify.due_soon" not in {f.code for f in evaluate(template, tabs, at(11, 23))}
    # 24 h to resolve round the clock: amber from 16 h 48 min on
    assert "dispute.resolve.due_soon" in {f.code for f in evaluate(template, tabs, D(2026, 11, 24, 2, 48))}
    assert "dispute.resolve.due_soon" not in {f.code for f in evaluate(template, tabs, D(2026, 11, 24, 2, 47))}
    # working hours 09:00-23:00: asked 22:55, 10 minutes end at 09:05 next day, amber from 09:02
    tabs = inquiry_rows(template, settings={"工作时间": "09:00-23:00"})
    tabs["客服台账"][1][4] = at(22, 55)
    late_evening = {f.code: f for f in evaluate(template, tabs, D(2026, 11, 24, 9, 2))}
    warn = late_evening["cs.first_response.due_soon"]
    assert warn.deadline == D(2026, 11, 24, 9, 5) and "还剩 3分钟" in warn.message
    assert "cs.first_response.due_soon" not in {f.code for f in evaluate(template, tabs, D(2026, 11, 24, 9, 1))}
    # 50 % in 设置: amber from 10:05
    tabs = inquiry_rows(template, settings={"预警提前比例(%)": "50"})
    assert "还剩 5分钟" in {f.code: f for f in evaluate(template, tabs, at(10, 5))}[
        "cs.first_response.due_soon"].message
    # 0: no warnings at all
    tabs = inquiry_rows(template, settings={"预警提前比例(%)": "0"})
    assert not evaluate(template, tabs, at(10, 9))


def test_an_unsigned_promotion_warns_its_signer_before_the_sign_off_deadline(template):
    tabs = base_tabs(template)
    tabs["推广确认单"].append(row_for(template, "promotions", name="周一上新", start=D(2026, 11, 25, 10),
                                    end=D(2026, 11, 26), skus="SKU-1", declared_stock=1, author="周深"))
    # sign off 24 h before the start (11-24 10:00); amber from 7 h 12 min before that
    assert "promo.unsigned.due_soon" not in {f.code for f in evaluate(template, tabs, D(2026, 11, 24, 2, 47))}
    [warn] = [f for f in evaluate(template, tabs, D(2026, 11, 24, 2, 48)) if f.code == "promo.unsigned.due_soon"]
    assert warn.message == ("还剩 7小时12分钟: 活动「周一上新」2026-11-25 10:00 开始, 请在 2026-11-24 10:00 前签字确认"
                            "(还缺「确认人」、「签字时间」)。")
    assert warn.severity == "warn" and warn.owner_role == "财务" and warn.owners == ()
    [red] = [f for f in evaluate(template, tabs, D(2026, 11, 24, 10)) if f.code.startswith("promo.unsigned")]
    assert red.code == "promo.unsigned" and red.severity == "error"


@pytest.mark.parametrize("lang,expected", [
    ("en", "3 min left: reply to customer 'Orange' by 2026-11-23 10:10 and fill in 'First response'."),
])
def test_the_warning_reads_in_english_too(lang, expected):
    from sheetsync.templates import load_template

    en = load_template(lang)
    tabs = {t.title: [[c.name for c in t.columns]] for t in en.tabs.values()}
    tabs[en.tabs["members"].title].append(["Xin", "service", "xin@example.com"])
    title = en.tabs["cs_log"].title
    tabs[title].append(row_for(en, "cs_log", customer="Orange", type="product question", asked_at=at(10)))
    [warn] = [f for f in evaluate(en, tabs, at(10, 7)) if f.code == "cs.first_response.due_soon"]
    assert warn.message == expected


def test_a_mistyped_owner_column_is_one_clear_template_error(tmp_path):
    from sheetsync.errors import TemplateError
    from sheetsync.i18n import load_catalogue
    from sheetsync.paths import templates_dir
    from sheetsync.templates import load_template

    source = (templates_dir() / "zh-CN" / "workbook.toml").read_text(encoding="utf-8")
    path = tmp_path / "shop.toml"
    path.write_text(source.replace('owner_column = "负责人"', 'owner_column = "负责任"', 1), encoding="utf-8")
    with pytest.raises(TemplateError) as err:
        load_template(path)
    text = err.value.render(load_catalogue("zh-CN"))
    assert "shop.toml" in text and "owner_column 引用了不存在的列「负责任」(最像的: 负责人" in text


def test_the_weekly_problem_list_names_the_person_on_the_row(template, write_xlsx):
    from sheetsync.backends.xlsx import XlsxBackend

    path = write_xlsx(dispute_rows(template))
    run(XlsxBackend(path), get_jobs(["validate"]), now=at(10, 1))  # 负责人 filled with the 选品 person
    report = run(XlsxBackend(path), get_jobs(["validate", "weekly-summary"]), now=at(11, 30))
    [problem] = [p for p in report.weekly.problems if p.code == "dispute.qc_verify.due_soon"]
    assert problem.owner == "周一军" and problem.owner_role == "选品"
