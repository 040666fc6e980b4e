"""Alerts pushed once to the person who must act, escalations to the manager, quiet hours, and
bot retries: real runs on an xlsx workbook, the group bots on a loopback HTTP server, e-mail on a
loopback aiosmtpd, time only through ``now=``."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from email import policy
from email.parser import BytesParser
from zoneinfo import ZoneInfo

import openpyxl
import pytest

from sheetsync.core.alerts import Member, plan_alerts
from sheetsync.delivery.bots import WECOM_TEXT_BYTES, bot_request
from sheetsync.core.model import Finding
from sheetsync.core.settings import Settings
from sheetsync.core.state import Alert
from conftest import MEMBERS, base_tabs, row_for
from helpers_alerts import check, config_for, wecom
from helpers_bots import SECRETS, BotServer

DAY = datetime(2026, 11, 23)  # a Monday
MOBILES = {"童欣": "13800000003", "王店长": 13900000005}  # a number typed as a number reads as digits


def at(hhmm: str, day: datetime = DAY) -> datetime:
    h, m = hhmm.split(":")
    return day.replace(hour=int(h), minute=int(m))


def shop_tabs(template, *cs_rows, reviews=(), hours="09:00-23:00", **settings):
    tabs = base_tabs(template, {"工作时间": hours, "客服首响时限(分钟)": 10, **settings})
    tabs["成员"] = tabs["成员"][:1] + [[*m, MOBILES.get(m[0])] for m in MEMBERS]
    tabs["客服台账"] += [row_for(template, "cs_log", **r) for r in cs_rows]
    tabs["中差评"] += [row_for(template, "reviews", **r) for r in reviews]
    return tabs


ORANGE = dict(customer="一只橙子", type="产品咨询", summary="戒指尺寸", asked_at=at("10:00"), agent="童欣")


def wecom_texts(bots: BotServer) -> list[dict]:
    return [r["body"] for r in bots.requests if r["channel"] == "wecom"]


def test_an_unanswered_inquiry_warns_then_breaches_then_escalates_once_each(template, write_xlsx, bots):
    config = config_for(write_xlsx(shop_tabs(template, ORANGE)), wecom(bots))
    check(config, at("10:07"))
    [warned] = wecom_texts(bots)
    assert warned["msgtype"] == "text"
    assert warned["text"]["mentioned_mobile_list"] == ["13800000003"]
    content = warned["text"]["content"]
    assert "@童欣" in content and "一只橙子" in content and "「客服台账」第2行" in content
    assert "【预警】" in content and "10:10" in content

    check(config, at("10:08"))
    assert len(wecom_texts(bots)) == 1  # nothing new

    check(config, at("10:11"))
    breach = wecom_texts(bots)[1]
    assert breach["text"]["mentioned_mobile_list"] == ["13800000003"]
    assert "【红色】" in breach["text"]["content"] and "一只橙子" in breach["text"]["content"]
    assert "【预警】" not in breach["text"]["content"]

    for later in ("10:30", "12:00"):
        check(config, at(later))
    assert len(wecom_texts(bots)) == 2  # still open, but told already; 2 h not yet passed

    check(config, at("12:15"))
    assert len(wecom_texts(bots)) == 3
    escalation = wecom_texts(bots)[2]["text"]
    assert escalation["mentioned_mobile_list"] == ["13900000005"]
    assert "@王店长" in escalation["content"] and "【升级】" in escalation["content"]
    assert "一只橙子" in escalation["content"] and "童欣" in escalation["content"] and "10:11" in escalation["content"]

    check(config, at("14:30"))
    assert len(wecom_texts(bots)) == 3  # escalated once


def test_breach_alone_is_told_once_and_escalated_once(template, write_xlsx, bots):
    """The same flow from the first red on (a workbook first checked after the deadline)."""
    config = config_for(write_xlsx(shop_tabs(template, ORANGE)), wecom(bots))
    check(config, at("10:11"))
    [first] = wecom_texts(bots)
    assert first["text"]["mentioned_mobile_list"] == ["13800000003"] and "一只橙子" in first["text"]["content"]
    check(config, at("10:12"))
    check(config, at("12:10"))
    assert len(wecom_texts(bots)) == 1
    check(config, at("12:11"))
    assert len(wecom_texts(bots)) == 2 and "【升级】" in wecom_texts(bots)[1]["text"]["content"]
    check(config, at("12:40"))
    assert len(wecom_texts(bots)) == 2


def test_an_answer_in_time_is_not_told_again_and_a_fixed_row_is_quiet(template, write_xlsx, bots):
    path = write_xlsx(shop_tabs(template, ORANGE))
    config = config_for(path, wecom(bots))
    check(config, at("10:11"))
    wb = openpyxl.load_workbook(path)
    wb["客服台账"]["F2"] = at("10:09")  # answered in time after all, typed in late
    wb.save(path)
    check(config, at("10:16"))
    check(config, at("13:00"))
    assert len(wecom_texts(bots)) == 1  # answered: no escalation


def test_an_alert_that_falls_due_at_2330_waits_for_the_next_working_start(template, write_xlsx, bots):
    review = dict(order="R-1001", posted_at=at("09:00", DAY - timedelta(days=3)),
                  found_at=at("10:00", DAY - timedelta(days=3)), rating="差评",
                  contacted_at=at("10:30", DAY - timedelta(days=3)), done_at=at("23:30", DAY - timedelta(days=2)))
    config = config_for(write_xlsx(shop_tabs(template, reviews=[review])), wecom(bots))
    out = check(config, at("23:31"))  # the revisit was due 23:30, after closing (23:00)
    assert wecom_texts(bots) == []
    assert "09:00 再发" in out.text()
    check(config, at("23:45"))
    check(config, at("08:59", DAY + timedelta(days=1)))
    assert wecom_texts(bots) == []
    check(config, at("09:00", DAY + timedelta(days=1)))
    [sent] = wecom_texts(bots)
    assert "R-1001" in sent["text"]["content"] and "「中差评」第2行" in sent["text"]["content"]
    assert sent["text"]["mentioned_mobile_list"] == ["13800000003"]
    check(config, at("09:02", DAY + timedelta(days=1)))
    assert len(wecom_texts(bots)) == 1


def test_alerts_outside_working_hours_go_at_once_when_the_manager_says_so(template, write_xlsx, bots):
    late = dict(ORANGE, asked_at=at("22:40"))  # due 22:50 (working time)
    config = config_for(write_xlsx(shop_tabs(template, late, **{"工作时间外提醒": "是"})), wecom(bots))
    check(config, at("23:30"))
    [sent] = wecom_texts(bots)
    assert "一只橙子" in sent["text"]["content"] and "22:50" in sent["text"]["content"]


def test_a_bot_that_answers_5xx_gets_the_alert_on_the_next_run_once(template, write_xlsx, bots):
    config = config_for(write_xlsx(shop_tabs(template, ORANGE)), wecom(bots))
    bots.fail["wecom"] = [503]
    failed = check(config, at("10:11"))
    assert failed.exit_code == 5 and len(bots.requests) == 1
    retried = check(config, at("10:13"))
    assert retried.exit_code == 0 and len(bots.requests) == 2
    assert bots.requests[1]["body"] == bots.requests[0]["body"]
    check(config, at("10:15"))
    check(config, at("10:20"))
    assert len(bots.requests) == 2


def test_dingtalk_mentions_the_mobile_and_feishu_the_email(template, write_xlsx, bots):
    moment = at("10:11").replace(tzinfo=ZoneInfo("Asia/Shanghai"))
    bots.now = moment  # the fake checks the signature's timestamp
    delivery = {"dingtalk": {"webhook": bots.url("dingtalk"), "secret_env": "DINGTALK_SECRET"},
                "feishu": {"webhook": bots.url("feishu"), "secret_env": "FEISHU_SECRET"}}
    config = config_for(write_xlsx(shop_tabs(template, ORANGE)), delivery)
    env = {"DINGTALK_SECRET": SECRETS["dingtalk"], "FEISHU_SECRET": SECRETS["feishu"]}
    with pytest.MonkeyPatch.context() as mp:
        for name, value in env.items():
            mp.setenv(name, value)
        out = check(config, moment)
    assert out.exit_code == 0, out.text()
    ding = next(r["body"] for r in bots.requests if r["channel"] == "dingtalk")
    assert ding["at"] == {"isAtAll": False, "atMobiles": ["13800000003"]}
    assert "@13800000003" in ding["markdown"]["text"] and "一只橙子" in ding["markdown"]["text"]
    feishu = next(r["body"] for r in bots.requests if r["channel"] == "feishu")
    content = feishu["card"]["elements"][0]["content"]
    assert content.startswith("<at email=xin@example.com></at> 请处理:") and "一只橙子" in content


def test_the_owner_gets_an_email_at_their_address(template, write_xlsx, smtp_server):  # noqa: F811
    inbox, port = smtp_server("none")
    delivery = {"smtp": {"host": "127.0.0.1", "port": port, "security": "none", "from": "shop@example.com"}}
    config = config_for(write_xlsx(shop_tabs(template, ORANGE, **{"店名": "小店"})), delivery)
    check(config, at("10:11"))
    [envelope] = inbox.envelopes
    assert envelope.rcpt_tos == ["xin@example.com"]
    em = BytesParser(policy=policy.default).parsebytes(envelope.content)
    assert em["Subject"] == "【小店】【红色】童欣: 1 件事要处理"
    assert em["Message-ID"].startswith("<alert-")
    text = em.get_body(("plain",)).get_content()
    assert "童欣, 你好:" in text and "「客服台账」第2行 (一只橙子)" in text and "期限 10:10" in text
    html = em.get_body(("html",)).get_content()
    assert "一只橙子" in html
    check(config, at("10:12"))
    assert len(inbox.envelopes) == 1


def test_with_nothing_configured_alerts_wait_in_the_outbox(template, write_xlsx):
    path = write_xlsx(shop_tabs(template, ORANGE))
    config = config_for(path, {})
    out = check(config, at("10:11"))
    [eml] = list((path.parent / "state" / "outbox").glob("alert-*.eml"))
    em = BytesParser(policy=policy.default).parsebytes(eml.read_bytes())
    assert em["To"] == "xin@example.com" and "一只橙子" in em.get_body(("plain",)).get_content()
    assert eml.stem in out.text()
    manifest = json.loads(eml.with_suffix(".json").read_text(encoding="utf-8"))
    assert manifest["kind"] == "alert" and manifest["bot"]["mobiles"] == ["13800000003"]
    check(config, at("10:12"))
    assert len(list((path.parent / "state" / "outbox").glob("alert-*.eml"))) == 1


def test_a_damaged_alert_record_never_crashes_a_run_and_sends_nothing_twice(template, write_xlsx, bots):
    path = write_xlsx(shop_tabs(template, ORANGE))
    config = config_for(path, wecom(bots))
    check(config, at("10:11"))
    wb = openpyxl.load_workbook(path)
    ws = wb["_sheetsync"]
    rows = [r for r in ws.iter_rows() if r[0].value == "alert"]
    assert rows, "the alert is recorded in the state tab"
    rows[0][6].value = '{"to": "童欣", broken'
    rows[0][5].value = "yesterday-ish"
    wb.save(path)
    out = check(config, at("10:12"))
    assert out.report.findings[0].code == "state.unreadable"
    assert len(wecom_texts(bots)) == 1  # the same alert again has the same id: the outbox sent it already
    check(config, at("10:13"))
    assert len(wecom_texts(bots)) == 1


# ---------------------------------------------------------------------------------------------
# the pure core


def finding(row: int, code: str = "cs.first_response.overdue", severity: str = "error", owners=(),
            owner_role: str = "客服", deadline: datetime | None = None) -> Finding:
    return Finding("客服台账", row, "首次响应时间", 6, None, code, f"第{row}行的问题", row_key=f"k{row}",
                   owner_role=owner_role, tab_id="cs_log", column_id="answered_at", severity=severity,
                   owners=tuple(owners), deadline=deadline)


PEOPLE = [Member("童欣", "客服", "xin@example.com", "138"), Member("小美", "客服"), Member("王店长", "店长")]


def key(f: Finding):
    return (f.tab_id, f.row_key, f.column_id, f.code)


def test_one_batch_per_person_most_urgent_first():
    now = at("10:00")
    found = [finding(2, "cs.first_response.due_soon", "warn", deadline=at("10:05")),
             finding(3, deadline=at("09:50")), finding(4, owners=["小美"], deadline=at("09:40"))]
    plan = plan_alerts([(key(f), f) for f in found], {}, {}, Settings(), PEOPLE, "店长", now)
    by_person = {b.person.name: [(i.kind, i.finding.row) for i in b.items] for b in plan.batches}
    assert by_person == {"童欣": [("error", 3), ("warn", 2)], "小美": [("error", 4), ("error", 3), ("warn", 2)]}
    assert set(plan.records) == {key(f) for f in found}
    again = plan_alerts([(key(f), f) for f in found], {}, plan.records, Settings(), PEOPLE, "店长", now)
    assert again.batches == [] and again.records == plan.records


def test_a_problem_the_manager_owns_is_not_escalated_to_the_manager():
    f = finding(2, owner_role="店长")
    told = {key(f): Alert("2026-11-23 08:00", ("王店长",), "error", "2026-11-23 08:00")}
    plan = plan_alerts([(key(f), f)], {}, told, Settings(), PEOPLE, "店长", at("12:00"))
    assert plan.batches == [] and plan.records == told


def test_escalation_counts_working_time_only():
    f = finding(2)
    told = {key(f): Alert("2026-11-23 22:00", ("童欣",), "error", "2026-11-23 21:50")}
    settings = Settings(work_start=at("09:00").time(), work_end=at("23:00").time())
    assert plan_alerts([(key(f), f)], {}, told, settings, PEOPLE, "店长", at("09:30", DAY + timedelta(days=1))
                       ).batches == []  # 1 h 30 min of working time
    plan = plan_alerts([(key(f), f)], {}, told, settings, PEOPLE, "店长", at("10:00", DAY + timedelta(days=1)))
    [batch] = plan.batches
    assert batch.person.name == "王店长" and batch.items[0].kind == "escalation"
    assert plan.records[key(f)].escalated == "2026-11-24 10:00"


def test_batch_ids_are_stable_and_differ_per_person_and_occurrence():
    f = finding(2)
    first = plan_alerts([(key(f), f)], {}, {}, Settings(), PEOPLE, "店长", at("09:00"))
    later = plan_alerts([(key(f), f)], {key(f): "2026-11-23 10:00"}, {}, Settings(), PEOPLE, "店长", at("11:00"))
    assert [b.id for b in first.batches] != [b.id for b in later.batches]  # 'since' differs: a new occurrence
    same = plan_alerts([(key(f), f)], {key(f): "2026-11-23 10:00"}, {}, Settings(), PEOPLE, "店长", at("11:30"))
    assert [b.id for b in later.batches] == [b.id for b in same.batches]
    assert len({b.id for b in first.batches}) == 2  # 童欣 and 小美


def test_a_long_alert_fits_what_wecom_accepts_in_a_text_message():
    lines = "\n".join(f"- 【红色】「客服台账」第{n}行 (客户{n}): 客户咨询后已超过 10分钟 还没回复" for n in range(2, 80))
    _url, body = bot_request("wecom", "http://127.0.0.1/x", "", "【红色】童欣: 78 件事要处理", lines, at("10:00"),
                             ("13800000003",))
    content = body["text"]["content"]
    assert len(content.encode()) <= WECOM_TEXT_BYTES and content.endswith("\n…")
    assert content.startswith("【红色】童欣: 78 件事要处理\n- 【红色】「客服台账」第2行")


def test_alert_records_round_trip_through_the_state_tab_and_a_damaged_one_is_skipped():
    from sheetsync.core.model import TabData
    from sheetsync.core.state import State, load_state

    key = ("cs_log", "2026-11-23 10:00 | 一只橙子", "answered_at", "cs.first_response.overdue")
    state = State(alerts={key: Alert("2026-11-23 10:11", ("童欣",), "error", "2026-11-23 10:11", "2026-11-23 12:15")})
    rows = [list(r) for r in state.rows(("类型", "表", "行键", "列", "代码", "时间", "数据"))]
    assert load_state(TabData("_sheetsync", rows)).alerts == state.alerts
    bad = [r[:] for r in rows]
    bad[-1][6] = '{"to": "童欣"}'  # not a list
    damaged = load_state(TabData("_sheetsync", bad + [["alert", "cs_log", "k", "c", "x", "not a time", "{}"]]))
    assert damaged.alerts == {} and [u.row for u in damaged.unreadable] == [3, 4]


def test_the_mobile_column_is_found_by_its_alias(template):
    from sheetsync.core.alerts import members_of
    from sheetsync.engine import load
    from conftest import snapshot_of

    tabs = base_tabs(template)
    tabs["成员"] = [["姓名", "角色", "邮箱", "mobile"], ["童欣", "客服", "xin@example.com", 13800000003.0]]
    wb = load(snapshot_of(tabs), template, at("10:00")).workbook
    assert members_of(wb) == [Member("童欣", "客服", "xin@example.com", "13800000003")]


def test_a_quality_dispute_warns_the_selection_person_not_customer_service(template, write_xlsx, bots):
    tabs = shop_tabs(template)
    tabs["成员"][1][3] = "13800000001"  # 周一军, 选品
    tabs["售后纠纷"].append(row_for(template, "disputes", order="Q-1", customer="赵女士", received_at=at("10:00"),
                                    category="质量问题", first_reply_at=at("10:05")))
    path = write_xlsx(tabs)
    config = config_for(path, wecom(bots))
    check(config, at("10:00"))
    assert openpyxl.load_workbook(path)["售后纠纷"]["G2"].value == "周一军"  # 负责人 filled from 成员
    sent_before = len(wecom_texts(bots))
    check(config, at("11:30"))  # 核实 is due 12:00 (2 h): 30 % before is 11:24
    [warned] = wecom_texts(bots)[sent_before:]
    assert warned["text"]["mentioned_mobile_list"] == ["13800000001"]
    assert "【预警】" in warned["text"]["content"] and "Q-1" in warned["text"]["content"]
    assert "12:00" in warned["text"]["content"]
    assert not [b for b in wecom_texts(bots) if b["text"]["mentioned_mobile_list"] == ["13800000003"]]
