"""Every rule of SPEC, each with a row that breaks it and a row that does not."""

from __future__ import annotations

from datetime import datetime

import pytest

from conftest import NOW, base_tabs, codes_at, evaluate, row_for

D = datetime


def inventory(template, *rows):
    return [row_for(template, "inventory", sku=s, product="裸石", stock=q, min_price=p) for s, q, p in rows]


# (id, tab key, row values, expected column, expected code, a phrase the note must contain)
BAD = [
    ("return reason", "selection",
     dict(date=D(2026, 11, 20), product="戒指", supplier="A", verdict="退回", checker="周一军"),
     "退回原因", "selection.return_reason_missing", "没写退回原因"),
    ("check failed but 合格", "selection",
     dict(date=D(2026, 11, 20), product="戒指", supplier="A", verdict="合格", checker="周一军",
          setting_check="合格", cert_check="不合格", look_check="不合格"),
     "结论", "selection.inconsistent_verdict", "「证书核验」、「外观」检查是「不合格」"),
    ("new supplier one sample", "selection",
     dict(date=D(2026, 11, 20), product="戒指", supplier="A", verdict="合格", checker="周一军", first_time="是",
          samples=1),
     "样品数", "selection.too_few_samples", "至少要看 2 个样品, 这里是 1"),
    ("required checker", "selection",
     dict(date=D(2026, 11, 20), product="戒指", supplier="A", verdict="合格"),
     "检查人", "column.required", "「检查人」是必填的"),
    ("end before start", "promotions",
     dict(name="双十一", start=D(2026, 11, 11), end=D(2026, 11, 10), skus="SKU-1", declared_stock=1,
          author="周深", signer="莉莉", signed_at=D(2026, 11, 1)),
     "结束时间", "promo.end_before_start", "不晚于开始时间"),
    ("unsigned close to start", "promotions",
     dict(name="周一上新", start=D(2026, 11, 23, 10), end=D(2026, 11, 24), skus="SKU-1", declared_stock=1,
          author="周深"),
     "确认人", "promo.unsigned", "未签字"),
    ("signed after start", "promotions",
     dict(name="秒杀", start=D(2026, 11, 19, 10), end=D(2026, 11, 20), skus="SKU-1", declared_stock=1,
          author="周深", signer="莉莉", signed_at=D(2026, 11, 19, 14, 20)),
     "签字时间", "promo.signed_after_start", "没签字的情况下上线"),
    ("self signed", "promotions",
     dict(name="满减", start=D(2026, 11, 30), end=D(2026, 12, 1), skus="SKU-1", declared_stock=1,
          author="周深", signer=" 周深 ", signed_at=D(2026, 11, 20)),
     "确认人", "promo.self_signed", "不能自己签自己的确认单"),
    ("error without note", "promotions",
     dict(name="满减", start=D(2026, 11, 30), end=D(2026, 12, 1), skus="SKU-1", declared_stock=1,
          author="周深", signer="莉莉", signed_at=D(2026, 11, 20), error="有"),
     "差错说明", "promo.error_note_missing", "没写差错说明"),
    ("oversell (the seed's 5 vs 3)", "promotions",
     dict(name="双十一预热款", start=D(2026, 11, 30), end=D(2026, 12, 1), skus="SKU-3", declared_stock="5件",
          author="周深", signer="莉莉", signed_at=D(2026, 11, 20)),
     "声明库存", "stock.oversell", "只有 3 件"),
    ("unknown sku", "promotions",
     dict(name="新品", start=D(2026, 11, 30), end=D(2026, 12, 1), skus="SKU-1、SKU-404", declared_stock=1,
          author="周深", signer="莉莉", signed_at=D(2026, 11, 20)),
     "适用商品", "stock.unknown_sku", "没有 SKU SKU-404"),
    ("below min price", "promotions",
     dict(name="清仓", start=D(2026, 11, 30), end=D(2026, 12, 1), skus="SKU-1", declared_stock=1, price="¥99",
          author="周深", signer="莉莉", signed_at=D(2026, 11, 20)),
     "活动价", "stock.below_min_price", "低于 SKU-1 的最低价 100"),
    ("negative stock", "inventory", dict(sku="SKU-9", stock=-1, min_price=1), "库存", "column.min", "不能小于 0"),
    ("fractional stock", "inventory", dict(sku="SKU-9", stock="2.5", min_price=1), "库存", "parse.int", "整数"),
    ("late first response", "cs_log",
     dict(customer="王女士", type="产品咨询", asked_at=D(2026, 11, 20, 10), answered_at=D(2026, 11, 20, 10, 11),
          resolved="是"),
     "首次响应时间", "cs.first_response", "11分钟"),
    ("no response, limit passed", "cs_log",
     dict(customer="王女士", type="产品咨询", asked_at=D(2026, 11, 22, 19, 40), resolved="是"),
     "首次响应时间", "cs.first_response.overdue", "还没回复"),
    ("unresolved", "cs_log",
     dict(customer="王女士", type="售后问题", asked_at=D(2026, 11, 20, 10), answered_at=D(2026, 11, 20, 10, 1),
          resolved="否"),
     "是否解决", "cs.unresolved", "还没解决"),
    ("dispute late first reply", "disputes",
     dict(order="A1", received_at=D(2026, 11, 20, 10), category="客户原因", first_reply_at=D(2026, 11, 20, 10, 30),
          handler="童欣", solution="7天无理由(买家承担运费)", resolved_at=D(2026, 11, 20, 12), status="已解决"),
     "首次回复时间", "dispute.first_reply", "30分钟"),
    ("quality verified late", "disputes",
     dict(order="A2", received_at=D(2026, 11, 20, 10), category="质量问题", first_reply_at=D(2026, 11, 20, 10, 5),
          handler="周一军", verified_at=D(2026, 11, 20, 13), solution="补发+10元券",
          resolved_at=D(2026, 11, 20, 15), status="已解决"),
     "核实时间", "dispute.qc_verify", "3小时"),
    ("quality handled by wrong role", "disputes",
     dict(order="A3", received_at=D(2026, 11, 20, 10), category="质量问题", first_reply_at=D(2026, 11, 20, 10, 5),
          handler="童欣", verified_at=D(2026, 11, 20, 11), solution="补发+10元券",
          resolved_at=D(2026, 11, 20, 15), status="已解决"),
     "负责人", "dispute.handler_quality", "选品负责人(周一军)"),
    ("open past 24h", "disputes",
     dict(order="A4", received_at=D(2026, 11, 20, 10), category="客户原因", first_reply_at=D(2026, 11, 20, 10, 5),
          handler="童欣", status="处理中"),
     "解决时间", "dispute.resolve.overdue", "还没解决"),
    ("resolved after 24h", "disputes",
     dict(order="A5", received_at=D(2026, 11, 18, 10), category="客户原因", first_reply_at=D(2026, 11, 18, 10, 5),
          handler="童欣", solution="7天无理由(买家承担运费)", resolved_at=D(2026, 11, 19, 12), status="已解决"),
     "解决时间", "dispute.resolve", "1天2小时"),
    ("solution does not fit", "disputes",
     dict(order="A6", received_at=D(2026, 11, 20, 10), category="物流问题", first_reply_at=D(2026, 11, 20, 10, 5),
          handler="莉莉", solution="全额退款+承担运费", resolved_at=D(2026, 11, 20, 12), status="已解决"),
     "处理方案", "dispute.solution_mismatch", "「补发」 / 「5元券」"),
    ("resolved without time", "disputes",
     dict(order="A7", received_at=D(2026, 11, 22, 10), category="物流问题", first_reply_at=D(2026, 11, 22, 10, 5),
          handler="莉莉", solution="补发", status="已解决"),
     "解决时间", "dispute.resolved_without_time", "没填解决时间"),
    ("review found a month late (夜光项链)", "reviews",
     dict(order="R1", posted_at=D(2026, 10, 25, 9), found_at=D(2026, 11, 21, 9), rating="中评",
          content="我收到的这个是没有夜光的!", contacted_at=D(2026, 11, 21, 10)),
     "发现时间", "review.found_late", "27天"),
    ("review not contacted", "reviews",
     dict(order="R2", posted_at=D(2026, 11, 20, 9), found_at=D(2026, 11, 20, 10), rating="差评"),
     "联系时间", "review.contact.overdue", "还没联系顾客"),
    ("asked before solving", "reviews",
     dict(order="R3", posted_at=D(2026, 11, 20, 9), found_at=D(2026, 11, 20, 10), rating="差评",
          contacted_at=D(2026, 11, 20, 11), asked_change="是"),
     "已请求修改评价", "review.asked_before_solved", "先为顾客解决问题"),
    ("no revisit", "reviews",
     dict(order="R4", posted_at=D(2026, 11, 10, 9), found_at=D(2026, 11, 10, 10), rating="差评",
          contacted_at=D(2026, 11, 10, 11), solution="补发", done_at=D(2026, 11, 11, 10)),
     "回访时间", "review.revisit.overdue", "还没回访"),
]

CLEAN = {
    "selection": dict(date=D(2026, 11, 20), product="戒指", supplier="A", verdict="合格", checker="周一军",
                      first_time="是", samples=2, setting_check="合格", cert_check="合格", look_check="合格"),
    "promotions": dict(name="双十二", start=D(2026, 12, 12), end=D(2026, 12, 13), skus="SKU-1，SKU-3",
                       declared_stock=4, price=199, author="周深", signer="莉莉", signed_at=D(2026, 11, 20), error="无"),
    "inventory": dict(sku="SKU-9", stock="５件", min_price="¥1,299"),
    "cs_log": dict(customer="李先生", type="产品咨询", asked_at=D(2026, 11, 20, 10),
                   answered_at=D(2026, 11, 20, 10, 10), resolved="是", deal="✓"),
    "disputes": dict(order="B1", received_at=D(2026, 11, 20, 10), category="物流问题",
                     first_reply_at=D(2026, 11, 20, 10, 5), handler="莉莉", solution="5元券",
                     resolved_at=D(2026, 11, 20, 20), status="已解决"),
    "reviews": dict(order="R9", posted_at=D(2026, 11, 20, 9), found_at=D(2026, 11, 20, 12), rating="中评",
                    contacted_at=D(2026, 11, 20, 13), solution="补发", done_at=D(2026, 11, 20, 18),
                    revisit_at=D(2026, 11, 21, 10), satisfied="是", asked_change="是"),
}


def tabs_with(template, key, values):
    tabs = base_tabs(template)
    tabs["库存"] += inventory(template, ("SKU-1", 10, 100), ("SKU-3", 3, 50))
    tabs[template.tabs[key].title].append(row_for(template, key, **values))
    return tabs


@pytest.mark.parametrize("name,key,values,column,code,phrase", BAD, ids=[b[0] for b in BAD])
def test_each_rule_flags_the_bad_row(template, name, key, values, column, code, phrase):
    findings = evaluate(template, tabs_with(template, key, values))
    title = template.tabs[key].title
    hits = [f for f in findings if f.tab == title and f.column == column and f.code == code]
    assert hits, f"expected {code} on {column}; got {sorted(codes_at(findings))}"
    assert phrase in hits[0].message
    assert hits[0].row == 2 if key != "inventory" else hits[0].row >= 2


@pytest.mark.parametrize("key", sorted(CLEAN))
def test_clean_rows_have_no_findings(template, key):
    findings = evaluate(template, tabs_with(template, key, CLEAN[key]))
    assert findings == []


def test_working_hours_clock_22_58_to_09_03_is_five_minutes(template):
    """The issue's example: 09:00-23:00 working hours, asked 22:58, answered 09:03 next day."""
    tabs = tabs_with(template, "cs_log", dict(customer="王女士", type="产品咨询", asked_at=D(2026, 11, 20, 22, 58),
                                                answered_at="2026/11/21 09:03", resolved="是"))
    tabs["设置"].append(["工作时间", "09:00-23:00", ""])
    assert evaluate(template, tabs) == []
    tabs["客服台账"][1][template.tabs["cs_log"].columns.index(
        template.tabs["cs_log"].column("answered_at"))] = "2026/11/21 09:09"
    findings = evaluate(template, tabs)
    assert [f.message.split("(")[0] for f in findings] == ["首次响应用了 11分钟"]


def test_rest_days_stop_the_clock(template):
    tabs = tabs_with(template, "cs_log", dict(customer="王女士", type="产品咨询", asked_at=D(2026, 11, 20, 22, 58),
                                                answered_at=D(2026, 11, 22, 9, 3), resolved="是"))
    tabs["设置"] += [["工作时间", "09:00-23:00", ""], ["休息日", "2026-11-21", ""]]
    assert evaluate(template, tabs) == []


def test_routing_fills_empty_handler_with_the_finance_person(template):
    from conftest import snapshot_of
    from sheetsync.engine import load
    from sheetsync.core.job import JobContext
    from sheetsync.registry import get_jobs

    tabs = tabs_with(template, "disputes", dict(order="C1", received_at=D(2026, 11, 22, 10), category="物流问题",
                                                  first_reply_at=D(2026, 11, 22, 10, 5)))
    loaded = load(snapshot_of(tabs), template, NOW)
    out = get_jobs(["validate"])[0].compute(JobContext(loaded.workbook, loaded.settings, loaded.state, loaded.now))
    assert [(f.tab, f.row, f.value) for f in out.fills] == [("售后纠纷", 2, "莉莉")]
    # no problem, only the note that says sheetsync assigned it
    assert [(f.code, f.severity) for f in out.findings if f.code.startswith("dispute.handler")] == [
        ("dispute.handler_logistics.assigned", "info")]


def test_missing_role_in_members_is_reported(template):
    tabs = tabs_with(template, "disputes", dict(order="C1", received_at=D(2026, 11, 22, 10), category="物流问题",
                                                  first_reply_at=D(2026, 11, 22, 10, 5)))
    tabs["成员"] = [tabs["成员"][0]] + [m for m in tabs["成员"][1:] if m[1] != "财务"]
    findings = evaluate(template, tabs)
    assert any("没有角色为「财务」的人" in f.message for f in findings)


def test_stock_export_mismatch_and_missing_sku(template):
    tabs = base_tabs(template)
    tabs["库存"] += inventory(template, ("SKU-1", 10, 100), ("SKU-3", 3, 50))
    findings = evaluate(template, tabs, stock_export={"SKU-1": 8.0}, stock_export_source="后台.csv")
    got = {(f.row, f.column, f.code): f.message for f in findings}
    assert got[(2, "库存", "stock.export_mismatch")] == "库存表写 10 件, 后台导出(后台.csv)是 8 件。请盘点后更正。"
    assert (3, "SKU", "stock.export_missing_sku") in got


def test_duplicate_sku_names_the_other_row(template):
    tabs = base_tabs(template)
    tabs["库存"] += inventory(template, ("SKU-1", 10, 100), ("sku-1 ", 3, 50))
    messages = sorted(f.message for f in evaluate(template, tabs) if f.code == "column.unique")
    assert messages[0].startswith("「SKU」重复了") and "在第 3 行也出现过" in messages[0]
