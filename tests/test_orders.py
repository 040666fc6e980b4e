"""Issue 11: orders and returns, shipping channels, the bad-review playbook, promotions that respect
selection, and problems fed back to selection. Every case is a row a person typed and the note they
read; each red case has a clean twin that stays white."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta

import pytest

from conftest import NOW, base_tabs, evaluate, row_for, snapshot_of
from helpers_alerts import check, config_for, wecom
from helpers_bots import BotServer
from sheetsync.core.job import JobContext
from sheetsync.core.layout import layouts
from sheetsync.core.model import TabData
from sheetsync.core.weekly import weekly_summary
from sheetsync.engine import load
from sheetsync.i18n.findings import catalogue_for, with_messages

D = datetime


def inventory(template, *rows):
    return [row_for(template, "inventory", sku=s, product="裸石", stock=q, min_price=p) for s, q, p in rows]


def shop(template, settings=None, **rows):
    """Every tab (订单 and 退货 included) with the given rows under their headers."""
    tabs = base_tabs(template, settings)
    tabs["库存"] += inventory(template, ("SKU-1", 10, 100), ("SKU-3", 3, 9000), ("LGD-R-100", 5, 4580))
    for key, records in rows.items():
        tabs[template.tabs[key].title] += [row_for(template, key, **r) for r in records]
    return tabs


def notes_of(findings, code):
    return [f.message for f in findings if f.code == code]


REVIEW = dict(order="R1", posted_at=D(2026, 11, 20, 9), found_at=D(2026, 11, 20, 10), rating="差评",
              contacted_at=D(2026, 11, 20, 11), channel="电话", done_at=D(2026, 11, 20, 12),
              revisit_at=D(2026, 11, 21, 10), satisfied="是", asked_change="是")
PROMO = dict(name="会员日", start=D(2026, 12, 4, 20), end=D(2026, 12, 4, 23), declared_stock=1, author="周深",
             signer="莉莉", signed_at=D(2026, 11, 20))
SELECTION = dict(product="1克拉经典六爪钻戒", sku="LGD-R-100", supplier="水贝金鼎珠宝", checker="周一军")


def review(**changes):
    return {**REVIEW, "reason": "质量瑕疵", "solution": "全额退款+承担运费", **changes}


# (id, tab rows, the code that must be red, a phrase of its note; the clean twin's rows)
CASES = [
    ("物流慢 answered with 7天无理由",
     dict(reviews=[review(reason="物流慢", solution="7天无理由")]),
     "review.plan_mismatch", "「物流慢」的处理方案应该是 「说明」 / 「解释」 / 「物流查询」 / 「券」",
     dict(reviews=[review(reason="物流慢", solution="说明原因+物流查询+5元券")])),
    ("the 其他 escape without saying what was done",
     dict(reviews=[review(reason="破损丢失", solution="其他(写明)")]),
     "review.plan_mismatch.other_empty", "没写清楚具体怎么处理的",
     dict(reviews=[review(reason="破损丢失", solution="其他(顾客要了一个新首饰盒, 已寄出)")])),
    ("a 差评 contacted by 旺旺",
     dict(reviews=[review(channel="旺旺")]),
     "review.channel", "「差评」应该用 「电话」 联系顾客, 这里是「旺旺」",
     dict(reviews=[review(channel="电话")])),
    ("a 好评 that still complains, phoned",
     dict(reviews=[review(rating="好评(有不满)", channel="电话")]),
     "review.channel", "好评里有不满的用旺旺联系",
     dict(reviews=[review(rating="好评(有不满)", channel="旺旺")])),
    ("顾客满意 = 否 keeps the row open",
     dict(reviews=[review(satisfied="否", asked_change="否")]),
     "review.not_satisfied", "继续沟通直到顾客满意",
     dict(reviews=[review(satisfied="是", asked_change="是")])),
    ("solved and satisfied, not yet asked to change the review",
     dict(reviews=[review(asked_change="否")]),
     "review.ask_to_change", "还没请顾客修改评价",
     dict(reviews=[review(asked_change="是")])),
    ("a SKU both promoted and excluded",
     dict(promotions=[{**PROMO, "skus": "SKU-1、SKU-3", "excluded": "SKU-3"}]),
     "promo.excluded_overlap", "SKU-3 同时写在「适用商品」和不适用商品里",
     dict(promotions=[{**PROMO, "skus": "SKU-1", "excluded": "SKU-3"}])),
    ("an excluded SKU that does not exist",
     dict(promotions=[{**PROMO, "skus": "SKU-1", "excluded": "SKU-404"}]),
     "stock.unknown_excluded_sku", "不适用商品里的 SKU SKU-404 在「库存」表里没有",
     dict(promotions=[{**PROMO, "skus": "SKU-1", "excluded": "SKU-3"}])),
    ("a promoted SKU last returned at selection (the demo's LGD-R-100)",
     dict(promotions=[{**PROMO, "skus": "LGD-R-100"}],
          selection=[{**SELECTION, "date": D(2026, 11, 20), "verdict": "合格"},
                     {**SELECTION, "date": D(2026, 11, 29), "verdict": "退回", "setting_check": "不合格",
                      "return_reason": "爪头不齐, 主石有晃动"}]),
     "promo.rejected_sku", "LGD-R-100 在选品检查表里最近一次(2026-11-29)的结论是「退回」: 爪头不齐, 主石有晃动",
     dict(promotions=[{**PROMO, "skus": "LGD-R-100"}],
          selection=[{**SELECTION, "date": D(2026, 11, 29), "verdict": "退回", "setting_check": "不合格",
                      "return_reason": "爪头不齐, 主石有晃动"},
                     {**SELECTION, "date": D(2026, 12, 1), "verdict": "合格"}])),
    ("an order not shipped within 24 h (calendar hours)",
     dict(orders=[dict(order="O1", ordered_at=D(2026, 11, 21, 9, 40), sku="SKU-1")]),
     "order.ship.overdue", "2026-11-21 09:40 下单, 已超过 24小时 还没发货(应在 2026-11-22 09:40 前)",
     dict(orders=[dict(order="O1", ordered_at=D(2026, 11, 21, 9, 40), sku="SKU-1",
                       shipped_at=D(2026, 11, 22, 8, 40))])),
    ("a return without a follow-up call",
     dict(returns=[dict(order="O1", reason="尺码不合适", requested_at=D(2026, 11, 19, 10))]),
     "return.followup.overdue", "还没电话回访",
     dict(returns=[dict(order="O1", reason="尺码不合适", requested_at=D(2026, 11, 19, 10),
                        followup_at=D(2026, 11, 20, 10), followup_result="肚子偏紧")])),
]


@pytest.mark.parametrize("rows, code, phrase, clean", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_red_with_its_note_and_a_clean_twin(template, rows, code, phrase, clean):
    settings = {"工作时间": "09:00-23:00"}
    red = evaluate(template, shop(template, settings, **rows))
    notes = notes_of(red, code)
    assert notes and any(phrase in n for n in notes), ([(f.code, f.message) for f in red], phrase)
    white = evaluate(template, shop(template, settings, **clean))
    issue_codes = {c[2] for c in CASES}
    assert [(f.code, f.message) for f in white if f.code in issue_codes] == []


def test_excluded_skus_do_not_count_in_stock_and_price_floor(template):
    promo = {**PROMO, "skus": "SKU-1、SKU-3", "excluded": "SKU-3", "price": 500, "declared_stock": 8}
    found = evaluate(template, shop(template, promotions=[promo]))
    codes = {f.code for f in found if f.tab == "推广确认单"}
    assert "promo.excluded_overlap" in codes
    assert "stock.below_min_price" not in codes  # SKU-3's 9000 floor does not apply
    assert "stock.oversell" not in codes  # 8 of SKU-1's 10, SKU-3's 3 not counted


def test_ship_limit_clock_is_a_setting(template):
    """A limit on calendar hours falls due 24 h later; set to 工作时间 it counts working hours only."""
    order = dict(order="O1", ordered_at=D(2026, 11, 21, 12), sku="SKU-1")
    calendar = evaluate(template, shop(template, {"工作时间": "09:00-23:00"}, orders=[order]))
    assert notes_of(calendar, "order.ship.overdue")
    working = evaluate(template, shop(template, {"工作时间": "09:00-23:00", "发货时限计时": "工作时间"}, orders=[order]))
    assert notes_of(working, "order.ship.overdue") == []  # 11 h on the 21st, 13 h on the 22nd: due 22:00
    bad = evaluate(template, shop(template, {"发货时限计时": "有时候"}, orders=[order]))
    assert any("全天" in f.message for f in bad if f.code == "settings.bad.clock")


def test_time_left_on_a_calendar_limit_counts_the_night_too(template):
    """Ordered at 01:00, due 24 h later (calendar hours): at 20:00 there are 5 hours left, not the
    3 working hours until 23:00 — the warning counts time the way the limit does."""
    order = dict(order="O1", ordered_at=D(2026, 11, 22, 1), sku="SKU-1")
    found = evaluate(template, shop(template, {"工作时间": "09:00-23:00"}, orders=[order]))
    assert notes_of(found, "order.ship.due_soon") == ["还剩 5小时: 请在 2026-11-23 01:00 前发货, 并填发货时间和运单号。"]


# -- shipping channels: seed 002's four classes ---------------------------------------------------

SMALL = dict(length=20, width=15, height=10)  # longest 20, sides 45
BIG = dict(length=70, width=40, height=30)
BANDS = [
    # (what, order values, a channel that fits, one that does not, the class named in the note)
    ("under 5 USD", dict(amount=3, currency="USD", weight=0.1, **SMALL), "平邮小包", "EMS",
     "菜鸟经济小包 / 平邮小包 / 无忧简易"),
    ("small and under 2 kg", dict(amount=50, currency="USD", weight=0.5, **SMALL), "E邮宝", "DHL",
     "挂号小包 / E邮宝 / 无忧标准"),
    ("small, 2 kg or more, light bulky", dict(amount=50, currency="USD", weight=2.5, length=30, width=30, height=25),
     "EMS", "E邮宝", "E特快 / EMS"),
    ("real heavy weight", dict(amount=300, currency="USD", weight=4, **SMALL), "FedEx", "挂号小包",
     "DHL / UPS / FedEx"),
    ("oversize", dict(amount=300, currency="USD", weight=1, **BIG), "UPS", "E邮宝", "DHL / UPS / FedEx"),
    ("20 CNY is under 5 USD", dict(amount=20, currency="人民币", weight=0.1, **SMALL), "菜鸟经济小包", "E邮宝",
     "菜鸟经济小包 / 平邮小包 / 无忧简易"),
]


def _order(i, values, channel):
    return dict(order=f"O{i}", ordered_at=D(2026, 11, 22, 10), shipped_at=D(2026, 11, 22, 12), sku="SKU-1",
                channel=channel, **values)


@pytest.mark.parametrize("values, good, bad, band", [b[1:] for b in BANDS], ids=[b[0] for b in BANDS])
def test_channel_bands(template, values, good, bad, band):
    found = evaluate(template, shop(template, orders=[_order(1, values, good), _order(2, values, bad)]))
    red = [f for f in found if f.code == "order.channel"]
    assert [(f.row, f.value) for f in red] == [(3, bad)]
    assert f"属于「{band}」这一类" in red[0].message and f"这里写的是「{bad}」" in red[0].message


def test_empty_channel_is_filled_with_the_class_that_fits(template):
    tabs = shop(template, orders=[_order(1, BANDS[1][1], None), _order(2, dict(amount=50), None)])
    loaded = load(snapshot_of(tabs), template, NOW)
    ctx = JobContext(loaded.workbook, loaded.settings, loaded.state, loaded.now)
    from sheetsync.registry import get_jobs

    out = get_jobs(["validate"])[0].compute(ctx)
    fills = [(f.tab, f.row, f.value) for f in out.fills if f.tab == "订单"]
    assert fills == [("订单", 2, "挂号小包 / E邮宝 / 无忧标准")]  # the second order says too little to tell
    assert not [f for f in out.findings if f.code == "order.channel"]
    [note] = with_messages([f for f in out.findings if f.code == "order.channel.filled"], catalogue_for(template))
    assert (note.row, note.severity, note.value) == (2, "info", "挂号小包 / E邮宝 / 无忧标准")
    assert "按申报价值、尺寸和重量填上了这一类渠道: 「挂号小包」 / 「E邮宝」 / 「无忧标准」" in note.message


def test_a_filled_channel_keeps_its_note_until_a_person_writes_the_channel(template, write_xlsx):
    from sheetsync.app import run_jobs
    from sheetsync.config import Config
    from sheetsync.backends.xlsx import XlsxBackend

    path = write_xlsx(shop(template, orders=[_order(1, BANDS[1][1], None)]))
    config = Config(workbook=path, state_dir=path.parent / "state")
    run_jobs(config, ["validate"], now=NOW)
    value, fill, note = _cell(XlsxBackend(path), "订单", 2, "物流渠道")
    assert value == "挂号小包 / E邮宝 / 无忧标准" and note and "后台比价后改成最便宜的那一家" in note
    run_jobs(config, ["validate"], now=NOW + timedelta(minutes=5))
    assert _cell(XlsxBackend(path), "订单", 2, "物流渠道")[2] == note  # unchanged: the note stays
    import openpyxl

    wb = openpyxl.load_workbook(path)
    col = [c.value for c in wb["订单"][1]].index("物流渠道") + 1
    wb["订单"].cell(2, col).value = "E邮宝"  # the person picked the cheapest
    wb.save(path)
    run_jobs(config, ["validate"], now=NOW + timedelta(minutes=10))
    assert _cell(XlsxBackend(path), "订单", 2, "物流渠道") == ("E邮宝", None, None)


def _cell(backend, title, row, header):
    data = backend.read().tabs[title]
    col = data.rows[0].index(header) + 1
    return data.cell(row, col), data.fills.get((row, col)), data.notes.get((row, col))


# -- optional tabs, init ---------------------------------------------------------------------------


def test_a_shop_without_orders_and_returns_gets_no_errors(template):
    tabs = base_tabs(template)
    del tabs["订单"], tabs["退货"]
    found = evaluate(template, tabs)
    assert [f for f in found if f.tab in ("订单", "退货") or "订单" in str(f.params.get("tab", ""))] == []


def test_a_log_without_the_sku_column_is_fine(template):
    tabs = base_tabs(template)
    tabs["售后纠纷"][0] = [h for h in tabs["售后纠纷"][0] if h != "SKU"]
    assert not [f for f in evaluate(template, tabs) if f.code.startswith("tab.missing")]


def test_init_lays_out_the_new_tabs(template):
    titles = {lay.title: [c.header for c in lay.columns] for lay in layouts(template)}
    assert titles["订单"] == ["订单号", "下单时间", "平台", "SKU", "金额", "币种", "重量(kg)", "长(cm)", "宽(cm)",
                            "高(cm)", "物流渠道", "发货时间", "运单号"]
    assert titles["退货"] == ["订单号", "SKU", "退货原因", "申请时间", "回访时间", "回访结果"]


# -- 周报 -------------------------------------------------------------------------------------------

MONDAY = date(2026, 11, 16)
SUNDAY_EVENING = datetime(2026, 11, 22, 20, 0)


def _week_rows(template, monday, orders, returns, disputes, first=0):
    out = {"orders": [], "returns": [], "disputes": []}
    for i in range(orders):
        out["orders"].append(dict(order=f"W{first + i}", ordered_at=datetime.combine(monday, datetime.min.time())
                                  + timedelta(hours=9 + i % 10, days=i % 6), sku="SKU-1" if i % 2 else "SKU-3"))
    for i in range(returns):
        out["returns"].append(dict(order=f"W{first + i}", reason="尺码不合适" if i else "质量问题",
                                   requested_at=datetime.combine(monday + timedelta(days=2), datetime.min.time())
                                   + timedelta(hours=10 + i), followup_at=datetime.combine(
                                       monday + timedelta(days=3), datetime.min.time()) + timedelta(hours=10)))
    for i in range(disputes):
        at = datetime.combine(monday + timedelta(days=i % 6), datetime.min.time()) + timedelta(hours=10)
        out["disputes"].append(dict(order=f"D{first + i}", received_at=at, category="客户原因",
                                    first_reply_at=at + timedelta(minutes=5), handler="童欣",
                                    solution="7天无理由(买家承担运费)", resolved_at=at + timedelta(hours=3),
                                    status="已解决"))
    return out


def test_return_rate_disputes_and_review_recovery_in_the_weekly_tab(template):
    last = _week_rows(template, MONDAY - timedelta(days=7), 20, 2, 12, first=100)
    this = _week_rows(template, MONDAY, 40, 3, 6)
    reviews = [review(order=f"R{i}", posted_at=D(2026, 11, 17, 9), found_at=D(2026, 11, 17, 10),
                      contacted_at=D(2026, 11, 17, 11), changed="是" if i < 3 else "否") for i in range(4)]
    reviews.append(review(order="R9", rating="好评(有不满)", channel="旺旺", posted_at=D(2026, 11, 17, 9),
                          found_at=D(2026, 11, 17, 10), contacted_at=D(2026, 11, 17, 11)))
    tabs = shop(template, orders=last["orders"] + this["orders"], returns=last["returns"] + this["returns"],
                disputes=last["disputes"] + this["disputes"], reviews=reviews)
    loaded = load(snapshot_of(tabs), template, SUNDAY_EVENING)
    out = weekly_summary(JobContext(loaded.workbook, loaded.settings, loaded.state, loaded.now))
    [tab] = out.tabs
    row = dict(zip(tab.rows[0], tab.rows[-1], strict=False))
    assert row["周"] == "2026-11-16 ~ 11-22"
    assert row["退货率"] == pytest.approx(0.075)
    assert row["退货率·上周"] == pytest.approx(0.10)
    assert row["退货率·变化(百分点)"] == -2.5
    assert row["退货率·退货/订单"] == "3/40"
    assert (row["售后纠纷数"], row["售后纠纷数·上周"], row["售后纠纷数·变化(百分点)"]) == (6, 12, -6)
    assert row["差评挽回率"] == pytest.approx(0.75) and row["差评挽回率·已修改/中差评"] == "3/4"
    assert row["退货原因"] == "尺码不合适 2、质量问题 1"
    assert "SKU-3" in row["问题最多的SKU(近30天)"]
    kpi = out.weekly.week.kpi("return_rate")
    assert (kpi.numerator, kpi.denominator, kpi.previous) == (3, 40, pytest.approx(0.1))

    from sheetsync.delivery.render import render_weekly

    text = render_weekly(out.weekly, "zh-CN").text
    assert "退货率: 7.5% (3/40), 上周 10%, 变化 −2.5" in text
    assert "售后纠纷数: 6 (6), 上周 12, 变化 −6" in text


def test_inquiry_conversion_is_deals_over_inquiries(template):
    asked = [dict(customer=f"客户{i}", type="产品咨询", asked_at=D(2026, 11, 17, 10, i), answered_at=D(2026, 11, 17, 10, i),
                  deal="是" if i < 3 else "否", resolved="是") for i in range(10)]
    loaded = load(snapshot_of(shop(template, cs_log=asked)), template, SUNDAY_EVENING)
    out = weekly_summary(JobContext(loaded.workbook, loaded.settings, loaded.state, loaded.now))
    assert out.weekly.week.kpi("inquiry_conversion").value == pytest.approx(0.3)


# -- problems fed back to selection ----------------------------------------------------------------


def _quality_disputes():
    return [dict(order=order, received_at=at, category="质量问题", description="镶嵌松动",
                 first_reply_at=at + timedelta(minutes=5), handler="周一军", verified_at=at + timedelta(hours=1),
                 solution="补发+10元券", resolved_at=at + timedelta(hours=5), status="已解决", **extra)
            for order, at, extra in (("Q1", D(2026, 11, 5, 10), {}),  # joined through 订单
                                     ("Q2", D(2026, 11, 18, 10), {"sku": "LGD-R-100"}))]


def test_two_quality_disputes_alert_selection_once_and_note_the_next_selection_row(template):
    tabs = shop(template, orders=[dict(order="Q1", ordered_at=D(2026, 11, 1, 10), sku="LGD-R-100",
                                       shipped_at=D(2026, 11, 1, 12))],
                disputes=_quality_disputes(),
                selection=[{**SELECTION, "date": D(2026, 11, 10), "verdict": "合格"},
                           {**SELECTION, "date": D(2026, 11, 21), "verdict": "合格"},
                           {**SELECTION, "date": D(2026, 11, 22), "verdict": "合格"}])
    found = [f for f in evaluate(template, tabs) if f.code.startswith("selection.quality_feedback")]
    assert len(found) == 1
    [f] = found
    assert (f.tab, f.row, f.column, f.owner_role, f.paint) == ("选品检查表", 3, "SKU", "选品", True)
    assert "近30天 2 起质量问题: 镶嵌松动 — 选品时重点查镶嵌牢固" in f.message
    again = [g for g in evaluate(template, tabs) if g.code == f.code]
    assert [(g.row_key, g.row) for g in again] == [(f.row_key, f.row)]  # the same problem: alerted once


def test_one_quality_dispute_is_not_enough_and_old_ones_do_not_count(template):
    disputes = _quality_disputes()
    disputes[0]["received_at"] = D(2026, 10, 1, 10)  # more than 30 days ago
    tabs = shop(template, disputes=disputes, selection=[{**SELECTION, "date": D(2026, 11, 21), "verdict": "合格"}])
    assert not [f for f in evaluate(template, tabs) if f.code.startswith("selection.quality_feedback")]


def test_no_next_selection_row_yet_lists_it_for_selection(template):
    tabs = shop(template, disputes=[{**d, "sku": "LGD-R-100"} for d in _quality_disputes()],
                selection=[{**SELECTION, "date": D(2026, 11, 1), "verdict": "合格"}])
    [f] = [f for f in evaluate(template, tabs) if f.code == "selection.quality_feedback"]
    assert (f.row, f.paint, f.row_key, f.owner_role) == (0, False, "LGD-R-100", "选品")


def test_supplier_pass_rate_in_the_weekly_tab(template):
    sel = [{**SELECTION, "date": D(2026, 11, 17), "verdict": "合格"},
           {**SELECTION, "sku": "LGD-R-050", "date": D(2026, 11, 18), "verdict": "退回", "return_reason": "镶嵌不牢",
            "setting_check": "不合格"},
           {**SELECTION, "sku": "LGD-N-010", "supplier": "义乌星光饰品", "date": D(2026, 11, 18), "verdict": "合格"}]
    loaded = load(snapshot_of(shop(template, selection=sel)), template, SUNDAY_EVENING)
    out = weekly_summary(JobContext(loaded.workbook, loaded.settings, loaded.state, loaded.now))
    row = dict(zip(out.tabs[0].rows[0], out.tabs[0].rows[-1], strict=False))
    assert row["供应商合格率(近30天)"] == "水贝金鼎珠宝 50% (1/2)、义乌星光饰品 100% (1/1)"


def test_the_selection_lead_is_alerted_once_about_a_sku_with_two_quality_disputes(template, write_xlsx):
    """A real run on an .xlsx file, the WeCom bot on loopback: 周一军 (选品) is told once, however
    often the workbook is checked, and the SKU's next selection row carries the note."""
    tabs = shop(template, {"工作时间": "09:00-23:00"},
                orders=[dict(order="Q1", ordered_at=D(2026, 11, 1, 10), sku="LGD-R-100", shipped_at=D(2026, 11, 1, 12))],
                disputes=_quality_disputes(),
                selection=[{**SELECTION, "date": D(2026, 11, 10), "verdict": "合格"},
                           {**SELECTION, "date": D(2026, 11, 21), "verdict": "合格"}])
    tabs["成员"] = tabs["成员"][:1] + [[*m, "13800000001" if m[1] == "选品" else None] for m in tabs["成员"][1:]]
    server = BotServer()
    try:
        path = write_xlsx(tabs)
        config = config_for(path, wecom(server))
        for minute in (0, 2, 4):
            check(config, D(2026, 11, 23, 10, minute))
        told = [r["body"]["text"] for r in server.requests if r["channel"] == "wecom"
                and "近30天 2 起质量问题" in r["body"]["text"]["content"]]
    finally:
        server.close()
    assert len(told) == 1 and told[0]["mentioned_mobile_list"] == ["13800000001"]
    import openpyxl

    sheet = openpyxl.load_workbook(path)["选品检查表"]
    sku_col = [c.value for c in sheet[1]].index("SKU") + 1
    note = sheet.cell(3, sku_col).comment
    assert note is not None and "近30天 2 起质量问题: 镶嵌松动 — 选品时重点查镶嵌牢固" in note.text


def _weekly_disputes():
    """A quality dispute a week from 09-07 to 11-16, for LGD-E-050 and LGD-R-100 in turn."""
    return [dict(order=f"W{i}", received_at=D(2026, 9, 7, 10) + timedelta(days=7 * i), category="质量问题",
                 description="镶嵌松动", sku="LGD-R-100" if i % 2 else "LGD-E-050",
                 first_reply_at=D(2026, 9, 7, 10, 5) + timedelta(days=7 * i), handler="周一军",
                 verified_at=D(2026, 9, 7, 11) + timedelta(days=7 * i), solution="补发+10元券",
                 resolved_at=D(2026, 9, 7, 15) + timedelta(days=7 * i), status="已解决") for i in range(11)]


def test_a_weekly_summary_of_many_weeks_reads_the_feedback_sources_once(template):
    """周报 covers every week with data; the SKUs with the most problems of each week come from one
    read of the feedback sources, sliced by date — not one read per week, nor another one for the
    quality_feedback rule of the same run (counted, never timed)."""
    from sheetsync.core import rules_orders
    from sheetsync.registry import get_jobs

    tabs = shop(template, disputes=_weekly_disputes(), selection=[{**SELECTION, "date": D(2026, 11, 21),
                                                                   "verdict": "合格"}])
    loaded = load(snapshot_of(tabs), template, SUNDAY_EVENING)
    rules_orders.FEEDBACK_READS.reset()
    ctx = JobContext(loaded.workbook, loaded.settings, loaded.state, loaded.now)
    out = weekly_summary(ctx)
    assert rules_orders.FEEDBACK_READS.count == 1
    [validate] = get_jobs(["validate"])
    assert [f for f in validate.compute(ctx).findings if f.code == "selection.quality_feedback"]
    assert rules_orders.FEEDBACK_READS.count == 1  # the rule took the rows 周报 read
    header, *weeks = out.tabs[0].rows
    top = header.index("问题最多的SKU(近30天)") if "问题最多的SKU(近30天)" in header else None
    assert top is not None, header
    assert len(weeks) >= 11
    # the week of 11-16..11-22 counts the 30 days up to its end (from 10-24): 10-26, 11-02, 11-09, 11-16
    assert weeks[-1][top] == "LGD-E-050 2 (质量问题 2)、LGD-R-100 2 (质量问题 2)"
    # and the week of 09-07 only its own dispute
    assert weeks[0][top] == "LGD-E-050 1 (质量问题 1)"


def test_the_feedback_read_kept_by_a_tab_taken_over_is_not_used_once_another_source_changed(template):
    """A tab taken over unchanged from the last read keeps what was derived from it; the feedback
    rows kept there are read again when another source (退货) changed."""
    from sheetsync.core import rules_orders
    from sheetsync.readcache import CachedRead

    before = snapshot_of(shop(template, disputes=_weekly_disputes()))
    first = load(before, template, SUNDAY_EVENING)
    rules_orders.FEEDBACK_READS.reset()
    weekly_summary(JobContext(first.workbook, first.settings, first.state, first.now))
    returned = shop(template, returns=[dict(order="O9", sku="LGD-R-100", reason="质量问题",
                                            requested_at=D(2026, 11, 20, 10))])["退货"]
    after = replace(before, tabs={**before.tabs, "退货": TabData("退货", returned)})
    second = load(after, template, SUNDAY_EVENING,
                  previous=CachedRead(before, first.workbook, first.settings, first.state, SUNDAY_EVENING.year))
    assert second.workbook.tab("disputes").derived is first.workbook.tab("disputes").derived  # taken over
    out = weekly_summary(JobContext(second.workbook, second.settings, second.state, second.now))
    assert rules_orders.FEEDBACK_READS.count == 2
    header, *weeks = out.tabs[0].rows
    assert weeks[-1][header.index("问题最多的SKU(近30天)")] == "LGD-R-100 3 (质量问题 3)、LGD-E-050 2 (质量问题 2)"


def _dispute(day, sku, category="质量问题", order=None):
    return dict(order=order or f"T{day}{sku}", received_at=D(2026, 11, day, 10), category=category,
                description="镶嵌松动", sku=sku)


def _checked(day, supplier, verdict):
    return {**SELECTION, "date": day, "supplier": supplier, "verdict": verdict}


def _without(tabs, title, header):
    """``tabs`` with the column ``header`` of tab ``title`` taken out."""
    at = tabs[title][0].index(header)
    return {**tabs, title: [r[:at] + r[at + 1:] for r in tabs[title]]}


# (id, shop rows, the week's Monday, its problem SKUs, its 供应商 pass rates); the weeks count the
# 30 days up to the week's end, the 供应商 the 选品检查表 rows dated in those days
FEEDBACK_WEEKS = [
    ("ties: SKUs by their count then by SKU, reasons by their count then by name; no category: the source",
     dict(disputes=[_dispute(17, "LGD-R-100", "物流问题"), _dispute(18, "LGD-R-100"), _dispute(19, "LGD-E-050"),
                    _dispute(19, "LGD-E-050"), _dispute(20, "LGD-A-001"), _dispute(20, "LGD-A-001", "不是类别")],
          selection=[_checked(D(2026, 11, 17), "水贝金鼎珠宝", "合格"), _checked(D(2026, 11, 18), "义乌星光饰品", "退回"),
                     _checked(D(2026, 11, 19), "义乌星光饰品", "合格"), _checked(D(2026, 11, 19), "柘城晶钻坊", "退回"),
                     _checked(D(2026, 11, 20), "柘城晶钻坊", "合格")]),
     date(2026, 11, 16),
     (("LGD-A-001", "2 (售后纠纷 1、质量问题 1)"), ("LGD-E-050", "2 (质量问题 2)"), ("LGD-R-100", "2 (物流问题 1、质量问题 1)")),
     (("义乌星光饰品", "50% (1/2)"), ("柘城晶钻坊", "50% (1/2)"), ("水贝金鼎珠宝", "100% (1/1)"))),
    ("a week without problems nor checks, between two with",
     dict(disputes=[dict(_dispute(1, "LGD-R-100"), received_at=D(2026, 8, 3, 10)), _dispute(20, "LGD-E-050")],
          selection=[_checked(D(2026, 8, 4), "水贝金鼎珠宝", "合格"), _checked(D(2026, 11, 20), "义乌星光饰品", "合格")]),
     date(2026, 10, 5), (), ()),
    ("a row without a SKU takes its order's; a row whose date does not read is not counted",
     dict(orders=[dict(order="O7", ordered_at=D(2026, 11, 1, 10), sku="lgd-r-100")],
          disputes=[_dispute(17, None, order="O7"), _dispute(18, None, order="O8"),
                    dict(_dispute(19, "LGD-E-050"), received_at="不是日期")],
          selection=[_checked("不是日期", "水贝金鼎珠宝", "合格"), _checked(D(2026, 11, 18), " 义乌星光饰品", "退回")]),
     date(2026, 11, 16), (("LGD-R-100", "1 (质量问题 1)"),), (("义乌星光饰品", "0% (0/1)"),)),
    ("the rows of the SKU-less sources are joined by order; the 选品检查表 without 供应商 says nothing",
     dict(orders=[dict(order="O7", ordered_at=D(2026, 11, 1, 10), sku="LGD-R-100")],
          disputes=[_dispute(17, "LGD-E-050", order="O7"), _dispute(18, "LGD-E-050", order="O9")],
          selection=[_checked(D(2026, 11, 18), "义乌星光饰品", "合格")],
          drop=[("售后纠纷", "SKU"), ("选品检查表", "供应商")]),
     date(2026, 11, 16), (("LGD-R-100", "1 (质量问题 1)"),), ()),
]


@pytest.mark.parametrize("rows, monday, top, rates", [c[1:] for c in FEEDBACK_WEEKS], ids=[c[0] for c in FEEDBACK_WEEKS])
def test_the_feedback_columns_of_a_week(template, rows, monday, top, rates):
    from sheetsync.core.weekly import WeeklyFeedback

    rows = dict(rows)
    dropped = rows.pop("drop", ())
    tabs = shop(template, **rows)
    for title, header in dropped:
        tabs = _without(tabs, title, header)
    loaded = load(snapshot_of(tabs), template, SUNDAY_EVENING)
    counts = dict(WeeklyFeedback(JobContext(loaded.workbook, loaded.settings, loaded.state, loaded.now)).counts(monday))
    assert counts == {"问题最多的SKU(近30天)": top, "供应商合格率(近30天)": rates}


@pytest.mark.parametrize("cells", [
    ["O1", "O1", "o-2", "A B", ""],  # plain text, given back as it is
    ["ＬＧＤ-R-100", "LGD-R-100", " LGD-R-100", "LGD-R-100 ", "A  B", "A\tB", "A\nB", "A\u200bB", "A\x07B"],
    [5.0, 5, 2.5, None, float("nan"), datetime(2026, 11, 2), "5"],
    ["A", ["X", "Y"], "A", ["X", "Y"]],  # a cell that is a list: no factorizing, one by one
], ids=["plain", "spaces widths controls", "numbers dates empty", "unhashable"])
def test_the_texts_of_a_feedback_column_are_each_cells_text(cells):
    import pandas as pd

    from sheetsync.core.rules_orders import _text, _texts

    column = pd.Series(cells, dtype=object)
    assert _texts(column) == [_text(v) for v in cells]
    assert _texts(column, upper=True) == [_text(v).upper() for v in cells]


# the SKUs, orders and reasons of the feedback sources are worked out once per distinct value, and a
# column of clean order numbers is judged on their join: each of these, among clean ones, must
# still come out as the cell on its own does
ORDER_TRAPS = ["A1 ", " A1", "A  1", "Ａ1", "a\u00a0b", "中文", "a |b", "a| b", "x\tz", "", 5, 5.0, True]


@pytest.mark.parametrize("trap", ORDER_TRAPS, ids=repr)
@pytest.mark.parametrize("upper", [False, True], ids=["as typed", "upper"])
def test_feedback_texts_agree_with_each_cell(trap, upper: bool) -> None:
    import pandas as pd

    from sheetsync.core.rules_orders import _all_clean, _text, _text_array

    clean = ["ord-1001", "ORD-1002", "A|B", "sku 7"]
    assert _all_clean(clean)  # alone, the clean ones take the join's path
    for cells in ([*clean, trap, *clean], [trap, *clean], [*clean, trap, None]):
        got = _text_array(pd.Series(cells, dtype=object), upper=upper).tolist()
        assert got == [_text(c).upper() if upper else _text(c) for c in cells]


@pytest.mark.parametrize("sources", [1, 3])
def test_the_feedback_rows_of_a_span_are_those_of_the_whole_table_sorted(sources):
    """The quality rule takes the rows of its window straight from each source's columns; 周报
    asks for whole sorted columns: both read as the rows of every source sorted by date (the
    order of the sources, then of the sheet, on a tie)."""
    import random

    import numpy as np

    from sheetsync.core.rules_orders import FeedbackRows

    rng = random.Random(sources)
    parts, rows = [], []
    for s in range(sources):
        n = rng.randint(5, 40)
        days = [rng.randint(1, 20) for _ in range(n)]
        at = np.array([np.datetime64(f"2026-11-{d:02d}T10:00", "ns") for d in days])
        cols = [np.array([f"源{s}"] * n, dtype=object), np.array([rng.choice(["A", "B", ""]) for _ in range(n)], dtype=object),
                np.array([rng.choice(["质量问题", "物流"]) for _ in range(n)], dtype=object),
                np.array([rng.choice([None, "松动"]) for _ in range(n)], dtype=object),
                np.array([rng.random() < 0.5 for _ in range(n)], dtype=bool)]
        parts.append((at, *cols))
        rows += [(at[i], s, i, *(c[i] for c in cols)) for i in range(n)]
    at = np.concatenate([p[0] for p in parts])
    order = np.argsort(at, kind="stable")
    expected = sorted(rows, key=lambda r: (r[0], r[1], r[2]))
    spans = [slice(0, len(rows)), slice(3, 9), slice(len(rows) - 4, len(rows)), slice(5, 5)]
    lazy = FeedbackRows(at[order], order, [p[1:] for p in parts])
    taken = [lazy.problems(lazy.quality_rows(span)) for span in spans] + [lazy.problems(span) for span in spans]
    whole = FeedbackRows(at[order], order, [p[1:] for p in parts])
    assert whole.sku.tolist() == [r[4] for r in expected] and whole.quality.tolist() == [r[7] for r in expected]
    assert whole.source.tolist() == [r[3] for r in expected] and whole.by.tolist() == [r[5] for r in expected]
    assert whole.detail.tolist() == [r[6] for r in expected]
    assert taken == [whole.problems(whole.quality_rows(span)) for span in spans] + [whole.problems(span) for span in spans]
