"""客服绩效: a month of 客服台账 for three agents, the shop's reward rule, the rerun, the e-mails."""

from __future__ import annotations

from datetime import datetime, timedelta
from email import policy
from email.parser import BytesParser

import pytest
from aiosmtpd.controller import Controller

from conftest import base_tabs, row_for
from sheetsync.app import Config, run_jobs
from sheetsync.backends.xlsx import XlsxBackend
from sheetsync.core.job import Trigger
from sheetsync.core.scorecard import p90_seconds, median_seconds, report_month
from sheetsync.core.settings import Settings
from sheetsync.delivery import DeliveryConfig
from sheetsync.scheduler import next_run
from helpers_bots import BotServer
from helpers_smtp import Inbox, free_port

D = datetime
RUN_AT = D(2026, 12, 1, 9, 30)  # the scorecard for November


def _cs(template, agent, asked, seconds, type_="产品咨询", deal="否"):
    answered = asked + timedelta(seconds=seconds) if seconds is not None else None
    return row_for(template, "cs_log", customer=f"客户{asked:%d%H%M%S}", type=type_, asked_at=asked,
                   answered_at=answered, agent=agent, deal=deal, resolved="是")


def month_of_three_agents(template):
    """童欣: 10 inquiries, every reply within 15 s, 7 of 10 deals, no complaint -> reward.
    付真真: 4 inquiries, three complaints (two reviews, one dispute) -> penalty.
    小王: 5 inquiries, replies of 30 s, 2 deals of 4 counted, one complaint -> none."""
    tabs = base_tabs(template)
    tabs["成员"] += [["付真真", "客服", "zhen@example.com"], ["小王", "客服", "wang@example.com"]]
    day = D(2026, 11, 3, 10, 0)
    rows = []
    xin = [5, 6, 7, 8, 9, 10, 11, 12, 13, 14]  # seconds
    for i, s in enumerate(xin):
        rows.append(_cs(template, "童欣", day + timedelta(days=i, minutes=i), s, deal="是" if i < 7 else "否"))
    for i, s in enumerate([20, 40, 600, 900]):
        rows.append(_cs(template, "付真真", day + timedelta(days=i, hours=2), s, deal="是" if i == 0 else "否"))
    wang = [(30, "产品咨询", "是"), (30, "活动疑问", "是"), (30, "产品咨询", "否"), (30, "活动疑问", "否"),
            (30, "售后问题", "是")]
    for i, (s, t, deal) in enumerate(wang):
        rows.append(_cs(template, "小王", day + timedelta(days=i, hours=4), s, type_=t, deal=deal))
    # another month: never counted
    rows.append(_cs(template, "童欣", D(2026, 10, 31, 23, 0), 3000))
    tabs["客服台账"] += rows
    tabs["中差评"] += [
        row_for(template, "reviews", order="R1", posted_at=D(2026, 11, 5, 9), found_at=D(2026, 11, 5, 10), rating="差评",
                reason="客服态度", agent="付真真"),
        row_for(template, "reviews", order="R2", posted_at=D(2026, 11, 6, 9), found_at=D(2026, 11, 6, 10), rating="中评",
                reason="客服回复不及时", agent="付真真"),
        row_for(template, "reviews", order="R3", posted_at=D(2026, 11, 7, 9), found_at=D(2026, 11, 7, 10), rating="差评",
                reason="客服回复不及时", agent="小王"),
        row_for(template, "reviews", order="R4", posted_at=D(2026, 11, 8, 9), found_at=D(2026, 11, 8, 10), rating="差评",
                reason="质量瑕疵", agent="童欣"),  # not about the service
    ]
    tabs["售后纠纷"] += [
        row_for(template, "disputes", order="A1", received_at=D(2026, 11, 9, 9), category="客户原因",
                handler="付真真", service_complaint="是"),
        row_for(template, "disputes", order="A2", received_at=D(2026, 11, 9, 10), category="客户原因",
                handler="童欣", service_complaint="否"),
    ]
    return tabs


@pytest.fixture
def smtp():
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield inbox, controller.port
    controller.stop()


def _config(path, port=None, bot_url=None):
    delivery: dict = {"smtp": {"host": "127.0.0.1", "port": port, "security": "none", "from": "小店 <shop@example.com>",
                               "timeout": 5}} if port else {}
    if bot_url:
        delivery["wecom"] = {"webhook": bot_url}
    return Config(backend="xlsx", workbook=path, template="zh-CN", delivery=delivery,
                  delivery_settings=DeliveryConfig.from_mapping(delivery, {}), state_dir=path.parent / "state")


def _table(path, title="客服绩效"):
    rows = XlsxBackend(path).read().tabs[title].rows
    return rows[0], [r for r in rows[1:] if any(v not in (None, "") for v in r)]


def test_three_agents_get_reward_penalty_and_none_as_a_hand_count_gives(template, write_xlsx, smtp):
    inbox, port = smtp
    path = write_xlsx(month_of_three_agents(template))
    group = BotServer()
    try:
        outcome = run_jobs(_config(path, port, group.url("wecom")), ["cs-scorecard"], now=RUN_AT)
    finally:
        group.close()
    assert not outcome.failures
    assert group.requests == []  # pay is personal: nothing goes to the group chat
    header, rows = _table(path)
    assert header[:3] == ["月份", "客服", "接待数"]
    by_agent = {r[1]: dict(zip(header, r, strict=False)) for r in rows}
    assert [r[1] for r in rows] == ["童欣", "付真真", "小王", "全店"]  # the shop row last
    assert {r[0] for r in rows} == {"2026-11"}

    xin = by_agent["童欣"]
    assert xin["接待数"] == 10
    assert xin["首响中位数"] == "10秒"  # 9.5 s, shown to the second
    assert xin["首响P90"] == "13秒"  # nearest rank: 9th of 10
    assert xin["奖励时限内响应"] == 1 and xin["时限内响应"] == 1
    assert (xin["询单数"], xin["成交数"], xin["询单转化率"]) == (10, 7, 0.7)
    assert xin["投诉数"] == 0
    assert xin["结果"] == "奖励 +20%"
    assert xin["说明"] == "首响 15秒内 100%, 转化率 70% ≥ 55%, 0 投诉 → 奖励 +20%"

    zhen = by_agent["付真真"]
    assert zhen["接待数"] == 4 and zhen["投诉数"] == 3
    assert zhen["首响P90"] == "15分钟"
    assert zhen["时限内响应"] == 0.75 and zhen["奖励时限内响应"] == 0
    assert zhen["结果"] == "处罚 −10%"
    assert "3 投诉 ≥ 3" in zhen["说明"]

    wang = by_agent["小王"]
    assert (wang["接待数"], wang["询单数"], wang["成交数"], wang["投诉数"]) == (5, 4, 2, 1)
    assert wang["询单转化率"] == 0.5
    assert wang["首响中位数"] == "30秒"
    assert wang["结果"] == "无"
    assert wang["说明"] == "首响 15秒内 0% < 95%, 转化率 50% < 55%, 1 投诉 → 无"

    shop = by_agent["全店"]
    assert (shop["接待数"], shop["投诉数"], shop["结果"]) == (19, 4, None)

    # e-mails: the manager the whole table, each agent only their own row
    got = {}
    for envelope in inbox.envelopes:
        msg = BytesParser(policy=policy.default).parsebytes(envelope.content)
        got[tuple(envelope.rcpt_tos)] = msg.get_body(("plain",)).get_content()
    assert set(got) == {("boss@example.com",), ("xin@example.com",), ("zhen@example.com",), ("wang@example.com",)}
    boss = got[("boss@example.com",)]
    assert all(name in boss for name in ("童欣", "付真真", "小王", "全店"))
    for email, name in (("xin@example.com", "童欣"), ("zhen@example.com", "付真真"), ("wang@example.com", "小王")):
        text = got[(email,)]
        assert name in text
        others = {"童欣", "付真真", "小王", "全店"} - {name}
        assert not any(o in text for o in others), (email, text)
    assert "奖励 +20%" in got[("xin@example.com",)] and "处罚 −10%" in got[("zhen@example.com",)]


def test_a_rerun_replaces_the_month_and_keeps_other_months(template, write_xlsx):
    path = write_xlsx(month_of_three_agents(template))
    run_jobs(_config(path), ["cs-scorecard"], now=D(2026, 11, 1, 9, 30), send=False)  # October: one row
    run_jobs(_config(path), ["cs-scorecard"], now=RUN_AT, send=False)
    _h, first = _table(path)
    run_jobs(_config(path), ["cs-scorecard"], now=RUN_AT + timedelta(hours=1), send=False)
    _h, again = _table(path)
    assert again == first
    months = [r[0] for r in again]
    assert months.count("2026-11") == 4 and months.count("2026-10") == 2
    assert months == sorted(months)


def test_the_month_reported_and_the_monthly_trigger():
    s = Settings()
    assert report_month(D(2026, 12, 1, 9, 0), s).isoformat() == "2026-11-01"
    assert report_month(D(2026, 12, 1, 8, 59), s).isoformat() == "2026-10-01"
    assert report_month(D(2027, 1, 15), s).isoformat() == "2026-12-01"
    from zoneinfo import ZoneInfo

    tz = ZoneInfo("Asia/Shanghai")
    after = D(2026, 11, 22, 20, tzinfo=tz)
    assert next_run(Trigger.monthly(1, s.cs_scorecard_time), after, tz) == D(2026, 12, 1, 9, tzinfo=tz)
    assert next_run(Trigger.monthly(1, s.cs_scorecard_time), D(2026, 12, 20, tzinfo=tz), tz) == \
        D(2027, 1, 1, 9, tzinfo=tz)


def test_median_and_nearest_rank_p90():
    assert median_seconds([5, 6, 7, 8]) == 6.5
    assert p90_seconds(list(range(1, 11))) == 9
    assert p90_seconds([7]) == 7 and p90_seconds([]) is None



def test_the_english_scorecard_is_in_english(tmp_path):
    import re

    from sheetsync.core.layout import layouts_with_rows
    from sheetsync.templates import load_template

    en = load_template("en")
    tabs = {t.title: [[c.name for c in t.columns]] for t in en.tabs.values()}
    tabs["Team"] += [["Xin", "service", "xin@example.com"], ["Boss", "manager", "boss@example.com"]]
    for i, s in enumerate([5, 8, 12, 40]):
        tabs["Customer service log"].append(row_for(en, "cs_log", customer=f"c{i}", type="product question",
                                                    asked_at=D(2026, 11, 3 + i, 10), agent="Xin", resolved="yes",
                                                    answered_at=D(2026, 11, 3 + i, 10, 0, s), deal="yes"))
    path = tmp_path / "en.xlsx"
    XlsxBackend(path).init_layout(layouts_with_rows(en, tabs))
    config = Config(backend="xlsx", workbook=path, template="en", state_dir=tmp_path / "state")
    run_jobs(config, ["cs-scorecard"], now=RUN_AT, send=False)
    header, rows = _table(path, "CS scorecard")
    assert header[:2] == ["Month", "Agent"] and [r[1] for r in rows] == ["Xin", "Whole shop"]
    xin = dict(zip(header, rows[0], strict=False))
    assert xin["Median first response"] == "10 s" and xin["P90 first response"] == "40 s"
    assert xin["Result"] == "none"
    assert xin["Reason"] == "first response within 15 s: 75% < 95%, conversion 100% >= 55%, 0 complaints -> none"
    cjk = re.compile(r"[\u3000-\u9fff\uff00-\uffef]")
    assert not [v for r in [header, *rows] for v in r if isinstance(v, str) and cjk.search(v)]


def test_an_empty_agent_counts_for_the_agent_on_duty_and_a_gap_is_nobodys(template):
    from conftest import snapshot_of
    from sheetsync.core.job import JobContext
    from sheetsync.core.scorecard import cs_scorecard
    from sheetsync.engine import load

    tabs = base_tabs(template)
    tabs["排班"] = [["日期", "客服", "开始", "结束"], ["2026-11-05", "童欣", "09:00", "12:00"],
                  ["2026-11-05", "付真真", "13:00", "18:00"]]
    tabs["客服台账"] += [_cs(template, None, D(2026, 11, 5, 10), 8), _cs(template, None, D(2026, 11, 5, 12, 30), 30),
                       _cs(template, None, D(2026, 11, 5, 14), 12)]
    loaded = load(snapshot_of(tabs), template, RUN_AT)
    out = cs_scorecard(JobContext(loaded.workbook, loaded.settings, loaded.state, loaded.now, {}))
    report = out.scorecard
    assert [(a.agent, a.inquiries, a.result) for a in report.agents] == [("童欣", 1, "none"), ("付真真", 1, "none"),
                                                                        ("无人值班", 1, "")]
    assert report.total.inquiries == 3
