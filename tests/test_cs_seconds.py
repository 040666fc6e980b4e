"""Seconds are first-class: limits typed as 15秒 / 0.25分钟 / 15 s, times with seconds, notes in seconds."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from conftest import base_tabs, evaluate, row_for
from sheetsync.core.model import Duration
from sheetsync.i18n import load_catalogue
from sheetsync.templates import load_template

D = datetime


@pytest.mark.parametrize(("typed", "expected"), [
    ("15秒", timedelta(seconds=15)),
    ("0.25分钟", timedelta(seconds=15)),
    ("10分钟", timedelta(minutes=10)),
    ("2小时", timedelta(hours=2)),
    ("15 s", timedelta(seconds=15)),
    ("15 sec", timedelta(seconds=15)),
    ("10 min", timedelta(minutes=10)),
    ("2 h", timedelta(hours=2)),
    ("10", timedelta(minutes=10)),  # a bare number is in the setting's unit
])
def test_duration_settings_accept_seconds_and_fractions(template, typed, expected):
    from sheetsync.engine import load
    from conftest import snapshot_of

    tabs = base_tabs(template, {"客服首响时限(分钟)": typed})
    settings = load(snapshot_of(tabs), template, D(2026, 11, 22, 20)).settings
    assert settings.findings == ()
    assert settings.cs_first_response == expected


def _cs(template, asked, answered):
    return row_for(template, "cs_log", customer="王女士", type="产品咨询", asked_at=asked, answered_at=answered,
                   resolved="是")


def test_a_15_second_limit_flags_a_40_second_reply_in_seconds_and_passes_a_12_second_one(template):
    tabs = base_tabs(template, {"客服首响时限(分钟)": "15秒"})
    tabs["客服台账"] += [_cs(template, "2026-11-20 10:05:07", "2026-11-20 10:05:47"),
                       _cs(template, "2026-11-20 11:00:00", "2026-11-20 11:00:12")]
    found = [f for f in evaluate(template, tabs) if f.code == "cs.first_response"]
    assert [f.row for f in found] == [2]
    note = found[0].message
    assert "40秒" in note and "15秒" in note
    assert "分钟" not in note
    assert "2026-11-20 10:05:07" in str(found[0].params["start"]) or found[0].params["start"].second == 7


def test_english_limit_in_seconds():
    en = load_template("en")
    tabs = {tab.title: [[c.name for c in tab.columns]] for tab in en.tabs.values()}
    tabs[en.tabs["members"].title] += [["Ann", en.tabs["members"].column("role").choices[2], "ann@example.com"]]
    tabs[en.tabs["settings"].title].append([en.settings[[s.id for s in en.settings].index("cs_first_response")].name,
                                            "15 s", ""])
    cs = en.tabs["cs_log"]
    tabs[cs.title].append(row_for(en, "cs_log", customer="Ms Wang", type=cs.column("type").choices[0],
                                  asked_at="2026-11-20 10:05:07", answered_at="2026-11-20 10:05:47", resolved="yes"))
    found = [f for f in evaluate(en, tabs) if f.code == "cs.first_response"]
    assert len(found) == 1
    assert "40 s" in found[0].message and "15 s" in found[0].message and "min" not in found[0].message


@pytest.mark.parametrize(("language", "value", "text"), [
    ("zh-CN", Duration(40), "40秒"),
    ("zh-CN", Duration(15, limit=True), "15秒"),
    ("zh-CN", Duration(70), "1分钟10秒"),
    ("zh-CN", Duration(90, limit=True), "1分钟30秒"),
    ("zh-CN", Duration(60, limit=True), "1分钟"),
    ("zh-CN", Duration(720), "12分钟"),
    ("en", Duration(40), "40 s"),
    ("en", Duration(70), "1 min 10 s"),
    ("en", Duration(15, limit=True), "15 s"),
])
def test_durations_show_seconds_under_ten_minutes(language, value, text):
    assert load_catalogue(language).value(value) == text


def test_times_with_seconds_keep_them_in_notes(template):
    cat = load_catalogue("zh-CN")
    assert cat.value(D(2026, 11, 20, 10, 5, 7)) == "2026-11-20 10:05:07"


def test_an_optional_tab_may_be_absent(tmp_path):
    import tomllib

    from conftest import MEMBERS, snapshot_of
    from sheetsync.core.binding import bind
    from sheetsync.core.template import read_template
    from sheetsync.paths import templates_dir

    path = templates_dir() / "zh-CN" / "workbook.toml"
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    data["tabs"]["extra"] = {"title": "附加表", "optional": True,
                             "columns": [{"id": "a", "name": "甲", "type": "text"}]}
    tpl = read_template(path, data)
    tabs = {t.title: [[c.name for c in t.columns]] for t in tpl.tabs.values() if t.key != "extra"}
    tabs["成员"] += [list(m) for m in MEMBERS]
    wb = bind(snapshot_of(tabs), tpl, year=2026)
    assert [f.code for f in wb.all_findings()] == []
    assert not wb.tab("extra").usable
