"""The 设置 tab: defaults, forgiving keys and columns, and a note (not a crash) for a bad value."""

from __future__ import annotations

from dataclasses import replace
from datetime import time, timedelta

import pytest

from sheetsync.core.settings import Settings, settings_from_rows
from sheetsync.templates import load_template
from sheetsync.i18n.findings import catalogue_for, with_messages

ZH = load_template("zh-CN")


def settings(*rows, header=("项目", "值", "说明"), template=ZH, key_col=1, value_col=2, **kw):
    """The settings the rows give, their findings worded as the edge words them."""
    s = settings_from_rows([list(header), *[list(r) for r in rows]], specs=template.settings,
                           key_col=key_col, value_col=value_col,
                           key_header=header[key_col - 1], value_header=header[value_col - 1], **kw)
    return replace(s, findings=tuple(with_messages(s.findings, catalogue_for(template))))


def test_defaults_when_empty():
    from dataclasses import replace

    from sheetsync.core.settings import WORD_SETTINGS

    s = settings()
    assert replace(s, **{k: getattr(Settings(), k) for k in WORD_SETTINGS}) == Settings() and s.findings == ()
    assert s.work_start is None  # no working hours: the clocks run round the clock


@pytest.mark.parametrize("key,value,field,expected", [
    ("客服首响时限(分钟)", "１５", "cs_first_response", timedelta(minutes=15)),
    (" 售后解决时限(小时) ", "48小时", "dispute_resolve", timedelta(hours=48)),
    ("回访时限(天)", 3, "revisit", timedelta(days=3)),
    ("客服首响时限(分钟)", "1小时", "cs_first_response", timedelta(hours=1)),
    ("first response limit (minutes)", "5", "cs_first_response", timedelta(minutes=5)),
    ("首次合作最少样品数", "3个", "min_samples", 3),
    ("日报时间", "晚上10点", "daily_time", time(22, 0)),
    ("周报收件人", "a@x.com，b@y.com", "weekly_recipients", ("a@x.com", "b@y.com")),
    ("店名", " 一力轻选 ", "shop_name", "一力轻选"),
])
def test_values_people_type(key, value, field, expected):
    s = settings((key, value))
    assert getattr(s, field) == expected and s.findings == ()


def test_working_hours_and_weekly_time():
    s = settings(("工作时间", "9点-23点"), ("周报时间", "星期日 20:30"), ("休息日", "2026-10-01、2026-10-02"))
    assert (s.work_start, s.work_end) == (time(9), time(23))
    assert (s.weekly_weekday, s.weekly_time) == (6, time(20, 30))
    assert len(s.rest_days) == 2


@pytest.mark.parametrize("value,phrase", [
    ("十分钟", "看不懂的时长: 十分钟"),
    ("2周", "看不懂的时长"),
    ("-5", "时限必须是大于 0 的数字"),
    (1e12, "时限太长了"),  # a number cell: overflows timedelta
    ("1e12", "看不懂的时长"),
    ("99999999999", "时限太长了"),
])
def test_bad_limit_gets_a_note_and_the_default(value, phrase):
    s = settings(("客服首响时限(分钟)", value))
    assert s.cs_first_response == timedelta(minutes=10)
    [f] = s.findings
    assert (f.row, f.column, f.column_id) == (2, "值", "value") and f.code.startswith("settings.bad.")
    assert phrase in f.message
    assert "暂时按默认值计算" in f.message


def test_unknown_key_is_listed_not_painted():
    [f] = settings(("客服时限", "10")).findings
    assert f.code == "settings.unknown_key" and not f.paint and "不认识的设置项「客服时限」" in f.message


def test_columns_are_found_by_header_not_position():
    s = settings(("", "客服首响时限(分钟)", "60"), header=("说明", "项目", "值"), key_col=2, value_col=3)
    assert s.cs_first_response == timedelta(minutes=60) and s.findings == ()


def test_header_order_in_a_workbook(template):
    from conftest import base_tabs, snapshot_of
    from sheetsync.engine import load
    from datetime import datetime

    tabs = base_tabs(template)
    tabs["设置"] = [["值", "项目", "说明"], ["60", "客服首响时限(分钟)", ""]]
    loaded = load(snapshot_of(tabs), template, datetime(2026, 11, 22, 20))
    assert loaded.settings.cs_first_response == timedelta(minutes=60)
