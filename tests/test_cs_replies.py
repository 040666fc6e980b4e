"""话术: the reply book's blanks, question types without a reply, policy facts in 设置 that replies
and after-sales solutions must agree with, the standard replies in the daily digest."""

from __future__ import annotations

from datetime import datetime

from conftest import base_tabs, evaluate, row_for, snapshot_of
from sheetsync.core.job import JobContext
from sheetsync.delivery import render_daily
from sheetsync.engine import load
from sheetsync.registry import get_jobs
from sheetsync.templates import load_template

D = datetime
NOW = D(2026, 11, 22, 22, 0)
SEED_REPLY = "支持7天无理由退换,需保持商品完好(不影响二次销售),证书/标签齐全,来回运费我们承担"  # seed 000, as written


def book(template, *rows):
    return [[c.name for c in template.tabs["replies"].columns],
            *[row_for(template, "replies", type=t, reply=r) for t, r in rows]]


def test_the_seeds_shipping_contradiction_is_red_on_the_reply_and_names_the_setting(template):
    tabs = base_tabs(template, {"7天无理由退货运费": "买家承担"})
    tabs["话术"] = book(template, ("售后问题", SEED_REPLY), ("产品咨询", "是真钻石, 有GIA证书"))
    found = [f for f in evaluate(template, tabs, now=NOW) if f.tab == "话术"]
    assert [(f.row, f.column, f.code) for f in found] == [(2, "标准回复", "replies.return_shipping")]
    note = found[0].message
    assert "来回运费我们承担" in note or "运费我们承担" in note
    assert "7天无理由退货运费" in note and "买家承担" in note
    assert found[0].paint


def test_the_flows_own_solution_agrees_and_the_other_value_is_red(template):
    tabs = base_tabs(template, {"7天无理由退货运费": "卖家承担"})
    tabs["售后纠纷"].append(row_for(template, "disputes", order="A1", received_at=D(2026, 11, 20, 10),
                                   category="客户原因", first_reply_at=D(2026, 11, 20, 10, 1),
                                   solution="7天无理由(买家承担运费)", status="处理中"))
    found = [f for f in evaluate(template, tabs, now=NOW) if f.code == "dispute.return_shipping"]
    assert [(f.row, f.column) for f in found] == [(2, "处理方案")]
    assert "卖家承担" in found[0].message
    tabs = base_tabs(template)  # not entered in 设置: not checked
    tabs["售后纠纷"].append(row_for(template, "disputes", order="A1", received_at=D(2026, 11, 20, 10),
                                   category="客户原因", first_reply_at=D(2026, 11, 20, 10, 1),
                                   solution="7天无理由(买家承担运费)", status="处理中"))
    assert not [f for f in evaluate(template, tabs, now=NOW) if f.code == "dispute.return_shipping"]


def test_blanks_left_in_a_reply_are_flagged_where_they_are():
    en = load_template("en")
    tabs = {t.title: [[c.name for c in t.columns]] for t in en.tabs.values()}
    starter = [row_for(en, "replies", **dict(r)) for r in en.tabs["replies"].starter]
    tabs["Reply book"] += starter
    found = [f for f in evaluate(en, tabs, now=NOW) if f.code == "replies.placeholder"]
    flagged = {f.row for f in found}
    scenes = {i + 2: r["scene"] for i, r in enumerate(en.tabs["replies"].starter)}
    assert {scenes[r] for r in flagged} == {"pre-sale: asks about the specification", "in-sale: holiday shipping delay",
                                           "in-sale: not received, extend the delivery time",
                                           "after-sale: wrong item sent",
                                           "after-sale: dispute, refund first, pay back on arrival"}
    spec = next(f for f in found if scenes[f.row] == "pre-sale: asks about the specification")
    assert spec.column == "Standard reply" and '"____"' in spec.message


def test_a_question_type_without_a_reply_is_a_note_to_the_cs_lead(template):
    tabs = base_tabs(template)
    tabs["话术"] = book(template, ("产品咨询", "是真钻石"))
    tabs["客服台账"] += [row_for(template, "cs_log", customer=c, type=t, asked_at=D(2026, 11, 20, 10, i),
                                answered_at=D(2026, 11, 20, 10, i, 30), resolved="是")
                        for i, (c, t) in enumerate([("甲", "产品咨询"), ("乙", "活动疑问"), ("丙", "活动疑问")])]
    found = [f for f in evaluate(template, tabs, now=NOW) if f.code == "cs.no_reply"]
    assert [(f.row, f.column) for f in found] == [(3, "问题类型")]
    assert "活动疑问" in found[0].message and "话术" in found[0].message and found[0].owner_role == "客服"
    del tabs["话术"]  # no reply book at all: nothing to say
    assert not [f for f in evaluate(template, tabs, now=NOW) if f.code == "cs.no_reply"]


def test_the_digest_shows_the_standard_reply_of_the_most_asked_types(template):
    tabs = base_tabs(template)
    tabs["话术"] = book(template, ("产品咨询", "是真钻石, 成分与天然钻石一致"), ("活动疑问", "满减与店铺优惠券可叠加"))
    asked = [("甲", "活动疑问"), ("乙", "活动疑问"), ("丙", "产品咨询"), ("丁", "其他")]
    tabs["客服台账"] += [row_for(template, "cs_log", customer=c, type=t, asked_at=D(2026, 11, 22, 10, i),
                                answered_at=D(2026, 11, 22, 10, i, 30), resolved="是")
                        for i, (c, t) in enumerate(asked)]
    loaded = load(snapshot_of(tabs), template, NOW)
    digest = get_jobs(["daily-digest"])[0].compute(JobContext(loaded.workbook, loaded.settings, loaded.state,
                                                              loaded.now, {})).daily
    assert digest.replies == (("活动疑问", "满减与店铺优惠券可叠加"), ("产品咨询", "是真钻石, 成分与天然钻石一致"))
    assert digest.duty_gaps == ()  # no 排班
    text = render_daily(digest, "zh-CN").text
    assert "标准话术" in text and "- 活动疑问: 满减与店铺优惠券可叠加" in text


def test_delivery_days_stated_otherwise_are_red(template):
    tabs = base_tabs(template, {"收货时间": "3-5天"})
    tabs["话术"] = book(template, ("产品咨询", "一般 7-15天 能收到"), ("产品咨询 ", "一般 3-5天 能收到"))
    found = [f for f in evaluate(template, tabs, now=NOW) if f.code == "replies.delivery_days"]
    assert [f.row for f in found] == [2]
    assert "7-15" in found[0].message and "3-5天" in found[0].message
