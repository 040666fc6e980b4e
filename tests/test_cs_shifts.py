"""排班: late replies with no 客服 go to whoever was on duty, or to the manager in a gap;
tomorrow's gaps are a warning in the 22:00 digest and an alert; no 排班 rows, nothing said."""

from __future__ import annotations

from datetime import datetime

from conftest import base_tabs, evaluate, row_for, snapshot_of
from sheetsync.core.job import JobContext
from sheetsync.delivery import render_daily
from sheetsync.engine import load
from sheetsync.registry import get_jobs

D = datetime
NOW = D(2026, 11, 22, 22, 0)  # the 22:00 digest


def shop(template, shifts=True):
    tabs = base_tabs(template, {"工作时间": "09:00-23:00"})
    tabs["排班"] = [["日期", "客服", "开始", "结束"]]
    if shifts:
        for day in ("2026-11-20", "2026-11-22", "2026-11-23"):
            tabs["排班"] += [[day, "童欣", "09:00", "12:00"], [day, "付真真", "13:00", "23:00"]]
    cs = [
        # late, no agent, asked during 童欣's shift
        row_for(template, "cs_log", customer="甲", type="产品咨询", asked_at=D(2026, 11, 20, 11, 0),
                answered_at=D(2026, 11, 20, 11, 30), resolved="是"),
        # late, no agent, asked during the lunch gap
        row_for(template, "cs_log", customer="乙", type="产品咨询", asked_at=D(2026, 11, 20, 12, 30),
                answered_at=D(2026, 11, 20, 13, 5), resolved="是"),
        # late but the agent is written: theirs, no duty note
        row_for(template, "cs_log", customer="丙", type="产品咨询", asked_at=D(2026, 11, 20, 12, 40),
                answered_at=D(2026, 11, 20, 13, 10), agent="付真真", resolved="是"),
        # on time, no agent: nothing to say
        row_for(template, "cs_log", customer="丁", type="产品咨询", asked_at=D(2026, 11, 20, 15, 0),
                answered_at=D(2026, 11, 20, 15, 2), resolved="是"),
    ]
    tabs["客服台账"] += cs
    return tabs


def by_row(findings, code):
    return {f.row: f for f in findings if f.code == code}


def test_a_late_reply_in_a_shift_is_the_agent_on_duty_and_in_a_gap_the_managers(template):
    found = evaluate(template, shop(template), now=NOW)
    duty = by_row(found, "cs.on_duty")
    nobody = by_row(found, "cs.on_duty.nobody")
    assert set(duty) == {2} and set(nobody) == {3}
    assert duty[2].column == "首次响应时间"
    assert "童欣" in duty[2].message and "11:00" in duty[2].message
    assert nobody[3].message.startswith("无人值班") and "王店长" in nobody[3].message
    assert nobody[3].owner_role == "店长"
    late = by_row(found, "cs.first_response")
    assert set(late) == {2, 3, 4}
    if hasattr(late[2], "owners"):  # the late reply itself is routed the same way (alerts use it)
        assert late[2].owners == ("童欣",)
        assert late[3].owners == ("王店长",)
        assert duty[2].owners == ("童欣",) and nobody[3].owners == ("王店长",)


def test_the_note_on_the_late_cell_says_nobody_was_on_duty(template, write_xlsx):
    from sheetsync.backends.xlsx import XlsxBackend
    from sheetsync.engine import run

    path = write_xlsx(shop(template))
    run(XlsxBackend(path), get_jobs(["validate"]), now=NOW, template=template)
    data = XlsxBackend(path).read().tabs["客服台账"]
    col = [c.name for c in template.tabs["cs_log"].columns].index("首次响应时间") + 1
    note = data.notes[(3, col)]
    assert "无人值班" in note and "35分钟" in note


def test_tomorrows_gap_is_in_the_digest_and_an_alert(template):
    tabs = shop(template)
    found = evaluate(template, tabs, now=NOW)
    gaps = [f for f in found if f.code == "shifts.gap"]
    assert [f.message for f in gaps] == ["明天 12:00–13:00 没有客服值班 (2026-11-23)。请在排班表补一班, 或安排好谁来回复。"]
    assert gaps[0].owner_role == "店长" and not gaps[0].paint
    if hasattr(gaps[0], "severity"):
        assert gaps[0].severity == "warn" and gaps[0].owners == ("王店长",)
    loaded = load(snapshot_of(tabs), template, NOW)
    digest = get_jobs(["daily-digest"])[0].compute(JobContext(loaded.workbook, loaded.settings, loaded.state,
                                                              loaded.now, {})).daily
    assert [(str(a), str(b)) for a, b in digest.duty_gaps] == [("12:00:00", "13:00:00")]
    msg = render_daily(digest, "zh-CN")
    assert "明天 12:00–13:00 没有客服值班" in msg.text
    assert "明天 12:00–13:00 没有客服值班" in msg.html
    assert "12:00–13:00" in msg.bot_markdown


def test_without_shift_rows_nothing_is_said(template):
    tabs = shop(template, shifts=False)
    found = evaluate(template, tabs, now=NOW)
    assert not [f for f in found if f.code.startswith(("shifts.", "cs.on_duty"))]
    del tabs["排班"]  # the tab is optional
    found = evaluate(template, tabs, now=NOW)
    assert not [f for f in found if f.code.startswith(("shifts.", "cs.on_duty", "tab."))]


def test_a_shift_time_that_cannot_be_read_is_noted(template):
    tabs = shop(template)
    tabs["排班"].append(["2026-11-24", "童欣", "九点", "12:00"])
    found = evaluate(template, tabs, now=NOW)
    bad = [f for f in found if f.code == "shifts.bad_start"]
    assert [(f.row, f.column) for f in bad] == [(8, "开始")]
    assert "九点" in bad[0].message


def test_the_roster_is_read_once_per_bound_tab(template):
    """Every duty rule asks for the roster; the 排班 rows are read into shifts once."""
    from sheetsync.core.roster import Roster

    loaded = load(snapshot_of(shop(template)), template, NOW)
    tab = loaded.workbook.tabs["shifts"]
    roster = Roster.of(tab)
    assert [s.agent for s in roster.shifts][:2] == ["童欣", "付真真"] and len(roster.shifts) == 6
    assert Roster.of(tab) is roster
