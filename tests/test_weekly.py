"""The weekly summary: the seed's week gives 90%, 50%, 97.7%, 100%, with last week's 70% as +20."""

from __future__ import annotations

from datetime import date, datetime

import pandas as pd
import pytest

from conftest import SEED_WEEK, seed_week, snapshot_of
from sheetsync.engine import load
from sheetsync.core.job import JobContext
from sheetsync.core.model import TabData
from sheetsync.core.weekly import report_week, weekly_header, weekly_summary

WEEK = SEED_WEEK  # Monday
SUNDAY_EVENING = datetime(2026, 11, 22, 20, 0)


def summary_output(template, rows, now=SUNDAY_EVENING, existing: TabData | None = None):
    extra = {existing.title: existing} if existing else {}
    loaded = load(snapshot_of(rows, **extra), template, now)
    return weekly_summary(JobContext(loaded.workbook, loaded.settings, loaded.state, loaded.now))


def test_seed_week_kpis(template):
    out = summary_output(template, seed_week(template))
    week = out.weekly.week
    assert (week.week_start, week.week_end) == (WEEK, date(2026, 11, 22))
    got = {k.key: (k.numerator, k.denominator, round(k.value * 100, 1)) for k in week.kpis[:4]}
    assert got == {"selection_pass": (9, 10, 90.0), "promo_accuracy": (1, 2, 50.0),
                   "cs_response": (84, 86, 97.7), "dispute_resolution": (6, 6, 100.0)}
    assert week.kpi("selection_pass").previous == pytest.approx(0.7)
    assert week.kpi("selection_pass").change_points == 20.0


def test_weekly_tab_row_shows_values_previous_and_change(template):
    out = summary_output(template, seed_week(template))
    [tab] = out.tabs
    head = tab.rows[0]
    assert tuple(head) == weekly_header(template)
    row = dict(zip(head, tab.rows[-1], strict=False))
    assert row["周"] == "2026-11-16 ~ 11-22"
    assert row["选品合格率"] == pytest.approx(0.9)
    assert row["选品合格率·上周"] == pytest.approx(0.7)
    assert row["选品合格率·变化(百分点)"] == 20.0
    assert row["选品合格率·合格/检查"] == "9/10"
    assert row["客服响应率·及时响应/咨询"] == "84/86"
    assert tab.chart is not None and tab.chart.last_row == len(tab.rows)


def test_rerun_for_the_same_week_replaces_its_row(template):
    rows = seed_week(template)
    first = summary_output(template, rows).tabs[0]
    existing = TabData("周报", [list(r) for r in first.rows])
    second = summary_output(template, rows, existing=existing).tabs[0]
    assert len(second.rows) == len(first.rows)
    assert [r[0] for r in second.rows[1:]].count("2026-11-16 ~ 11-22") == 1


def test_rows_for_weeks_without_data_are_kept_and_feed_last_week(template):
    rows = seed_week(template)
    head = list(weekly_header(template))
    old = [None] * len(head)
    old[0], old[1], old[2] = "2026-11-02 ~ 11-08", datetime(2026, 11, 2), datetime(2026, 11, 8)
    old[3] = 0.5
    existing = TabData("周报", [head, old])
    tab = summary_output(template, rows, existing=existing).tabs[0]
    assert tab.rows[1][0] == "2026-11-02 ~ 11-08"  # kept, in date order
    assert len(tab.rows) == 1 + 1 + 2  # kept week + last week + this week


@pytest.mark.parametrize("now,expected", [
    (datetime(2026, 11, 22, 20, 0), date(2026, 11, 16)),  # Sunday 20:00: this week
    (datetime(2026, 11, 22, 19, 59), date(2026, 11, 9)),  # before the send time: last week
    (datetime(2026, 11, 23, 9, 0), date(2026, 11, 16)),  # Monday catch-up: the week just ended
])
def test_report_week(now, expected):
    from sheetsync.core.settings import Settings

    assert report_week(now, Settings()) == expected


def test_breakdowns(template):
    out = summary_output(template, seed_week(template))
    breakdowns = dict(out.weekly.week.breakdowns)
    assert sum(n for _k, n in breakdowns["售后纠纷类别"]) == 6
    assert sum(n for _k, n in breakdowns["咨询问题类型"]) == 86
    assert sum(n for _k, n in breakdowns["退回原因"]) == 1
    assert sum(n for _k, n in breakdowns["推广差错"]) == 1


def test_seed_week_in_a_real_workbook_file(template, make_shop):
    """The acceptance case end to end: the seed's week written to a workbook, `run weekly-summary`,
    and 周报 read back through the backend shows 90%, 50%, 97.7%, 100% and +20 against last week."""
    from sheetsync.engine import run
    from sheetsync.registry import get_jobs

    shop = make_shop(seed_week(template))
    run(shop.backend(), get_jobs(["weekly-summary"]), now=SUNDAY_EVENING)
    rows = shop.rows("周报")
    this_week = dict(zip(rows[0], rows[-1], strict=False))
    assert this_week["周"] == "2026-11-16 ~ 11-22"
    assert [round(this_week[k] * 100, 1) for k in ("选品合格率", "推广准确率", "客服响应率", "售后解决率")] \
        == [90.0, 50.0, 97.7, 100.0]
    assert round(this_week["选品合格率·上周"] * 100) == 70 and this_week["选品合格率·变化(百分点)"] == 20
    assert this_week["客服响应率·及时响应/咨询"] == "84/86"


def _labels(*rows: tuple[date, str]) -> pd.Series:
    return pd.Series([t for _w, t in rows], index=pd.DatetimeIndex([w for w, _t in rows]), dtype=object)


MON, NEXT, LATER = date(2026, 11, 2), date(2026, 11, 9), date(2026, 11, 23)

# (id, a breakdown's rows as breakdown_rows gives them, {week: counts}): every week counted at once
BREAKDOWN_WEEKS = [
    ("most rows first, a tie by text", lambda: _labels((MON, "b"), (MON, "a"), (MON, "c"), (MON, "b"), (MON, "a")),
     {MON: (("a", 2), ("b", 2), ("c", 1))}),
    ("each week its own rows; the weeks between have none",
     lambda: _labels((LATER, "a"), (MON, "a"), (LATER, "b"), (LATER, "b"), (NEXT, "z")),
     {MON: (("a", 1),), NEXT: (("z", 1),), LATER: (("b", 2), ("a", 1))}),
    ("no rows", lambda: _labels(), {}),
    ("the tab or a column is missing", lambda: None, {}),
]


@pytest.mark.parametrize("rows, want", [c[1:] for c in BREAKDOWN_WEEKS], ids=[c[0] for c in BREAKDOWN_WEEKS])
def test_breakdown_weeks(rows, want):
    from sheetsync.core.weekly import breakdown_counts, breakdown_weeks

    [(label, per_week)] = breakdown_weeks([("原因", rows())])
    assert (label, per_week) == ("原因", want)
    for monday in (MON, NEXT, date(2026, 11, 16), LATER):  # as 周报 asks for one week
        assert breakdown_counts(None, monday, [("原因", rows())]) == (("原因", want.get(monday, ())),)
