"""Sample workbooks for a small lab-grown-diamond (培育钻石) jewellery shop.

Two uses:

* ``demo_rows(now)`` is what ``sheetsync demo`` writes into a fresh workbook: about two weeks of a
  shop's sheets, mostly clean, typed the way people really type into Excel (``'2026/11/20 10:05'``,
  ``'５'``, ``'5件'``, ``'¥199'``, ``'1,299'``, ``'Y'``, ``'✓'``, blank rows, trailing spaces), with
  one deliberate mistake for every rule. ``DEMO_CASES`` says where each mistake is, so a person
  trying the demo knows what the red should be; ``DEMO_CLEAN_CASES`` lists rows that look
  suspicious but are right and must stay white.
* ``seed_week_rows(week_start)`` is the week from the shop's own story (the Sunday 品控会): 9 of 10
  selections passed, 1 of 2 promotions without a mistake, 84 of 86 questions answered within ten
  minutes, 6 of 6 disputes solved within a day, and a previous week at 70% selection pass rate.
  Tests use it to check the weekly KPIs against the numbers the team reported.

Everything is computed from the arguments (no clock, no randomness, no file I/O): the same
``now`` always gives the same workbook. Values are what a person types: real ``datetime``/``date``
objects and numbers where Excel would store them, strings where a person typed text.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from .core.settings import DEFAULT_ROWS

SHOP_NAME = "一力轻选培育钻石"

# Tab title -> header row, in the order of the default zh-CN template (SPEC.md). Job-owned tabs
# (周报, 问题清单, 运行记录) are absent on purpose: sheetsync writes those itself.
TAB_HEADERS: dict[str, tuple[str, ...]] = {
    "成员": ("姓名", "角色", "邮箱"),
    "设置": ("项目", "值", "说明"),
    "选品检查表": ("日期", "商品", "SKU", "供应商", "首次合作", "样品数", "镶嵌牢固", "证书核验", "外观",
              "结论", "退回原因", "检查人"),
    "推广确认单": ("活动名称", "开始时间", "结束时间", "适用商品", "不适用商品", "活动价", "声明库存", "填写人",
              "确认人", "签字时间", "差错", "差错说明"),
    "库存": ("SKU", "商品名称", "库存", "最低价", "更新时间"),
    "客服台账": ("日期", "客户", "问题类型", "问题摘要", "咨询时间", "首次响应时间", "客服", "是否成交",
             "是否解决", "备注"),
    "售后纠纷": ("订单号", "客户", "接诉时间", "问题类别", "问题描述", "首次回复时间", "负责人", "核实时间",
             "处理方案", "解决时间", "状态", "备注"),
    "中差评": ("订单号", "评价时间", "发现时间", "评分", "评价内容", "原因分类", "联系时间", "联系方式", "处理方案",
            "处理完成时间", "回访时间", "顾客满意", "已请求修改评价", "评价已修改"),
}

SELECTOR, PROMOTER, AGENT, FINANCE, MANAGER = "周一军", "周深", "童欣", "莉莉", "林悦"
MEMBERS: tuple[tuple[str, str, str], ...] = (
    (SELECTOR, "选品", "zhouyijun@example.com"),
    (PROMOTER, "推广", "zhoushen@example.com"),
    (AGENT, "客服", "tongxin@example.com"),
    (FINANCE, "财务", "lili@example.com"),
    (MANAGER, "店长", "linyue@example.com"),
)

# The shop's catalogue: SKU, name, stock, lowest price finance allows. Both workbooks stock these.
CATALOG: tuple[tuple[str, str, int, int], ...] = (
    ("LGD-S-100D", "1克拉 圆形裸石 D色 VS1 IGI证书", 6, 3280),
    ("LGD-S-200E", "2克拉 椭圆裸石 E色 VS1", 4, 6980),
    ("LGD-S-300D", "3克拉 圆形裸石 D色 VS1", 3, 11800),
    ("LGD-R-030", "30分 六爪钻戒 18K白金", 15, 1299),
    ("LGD-R-050", "50分 莫比乌斯钻戒 18K白金", 10, 2380),
    ("LGD-R-100", "1克拉 经典六爪钻戒 18K白金", 5, 4580),
    ("LGD-N-010", "10分 锁骨链 925银", 30, 299),
    ("LGD-N-030", "30分 四叶草项链 18K金", 12, 1080),
    ("LGD-N-050", "50分 单钻吊坠项链 18K金", 8, 1880),
    ("LGD-N-YG1", "夜光星空项链(5分培育钻)", 20, 159),
    ("LGD-E-010", "10分 耳钉 925银(一对)", 40, 199),
    ("LGD-E-020", "20分 耳钉 14K金(一对)", 18, 599),
    ("LGD-E-030", "30分 耳钉 18K金(一对)", 9, 1280),
    ("LGD-B-020", "满天星手链 18K金", 7, 1580),
)

# The oversell from the shop's story: the sheet promised 5 of the 3-carat stone, stock had 3.
OVERSELL_PROMOTION = "双十二预热款"
OVERSELL_SKU = "LGD-S-300D"

# (tab, rule broken, where: a value that identifies the row in that tab)
DEMO_CASES: list[tuple[str, str, str]] = [
    ("选品检查表", "结论是「退回」, 但没写退回原因", "男士方钻戒指 30分"),
    ("选品检查表", "镶嵌牢固「不合格」, 结论却写「合格」", "双排碎钻手链 18K金"),
    ("选品检查表", "首次合作的供应商只看了 1 个样品(至少要 2 个)", "公主方裸石 50分 F色"),
    ("选品检查表", "必填的「检查人」空着", "水滴形吊坠 40分"),
    ("推广确认单", "声明库存 5 件, 库存表里 LGD-S-300D 只有 3 件: 会超卖", OVERSELL_PROMOTION),
    ("推广确认单", "确认人和填写人都是周深: 自己签自己的确认单", "限时闪购·30分耳钉"),
    ("推广确认单", "不到 24 小时就开始, 还没人签字", "直播间专享·50分吊坠"),
    ("推广确认单", "签字时间晚于活动开始时间: 没签字就上线了", "周年庆·莫比乌斯钻戒"),
    ("推广确认单", "适用商品里的 SKU LGD-B-005 库存表里没有", "新款上架·满天星手链"),
    ("推广确认单", "活动价 2980 低于 LGD-S-100D 的最低价 3280", "直播福利·一克拉裸石"),
    ("推广确认单", "差错是「有」, 但没写差错说明", "秋冬上新·20分耳钉"),
    ("推广确认单", "结束时间早于开始时间", "锁骨链限时折扣"),
    ("推广确认单", "必填的「填写人」空着", "闺蜜款·10分耳钉"),
    ("库存", "SKU 重复: 同一个 SKU 登记了两行", "LGD-R-020"),
    ("库存", "库存是负数(-1)", "LGD-E-050"),
    ("库存", "库存不是整数(2.5)", "LGD-S-050"),
    ("库存", "最低价是负数(把优惠金额填进了最低价)", "LGD-N-020"),
    ("客服台账", "首次响应用了 27 分钟, 超过 10 分钟", "星河滚烫"),
    ("客服台账", "咨询后超过 10 分钟(工作时间)还没回复", "一只橙子"),
    ("客服台账", "是否解决 = 否: 未解决的纠纷", "木木夕"),
    ("售后纠纷", "首次回复用了 35 分钟, 超过 10 分钟", "2907331846502217"),
    ("售后纠纷", "质量问题接诉后 4 个多小时才核实, 超过 2 小时", "3516092287403361"),
    ("售后纠纷", "质量问题的负责人应是选品(周一军), 写的是童欣", "1844270935116628"),
    ("售后纠纷", "物流问题负责人空着: 自动分派填上财务(莉莉)", "4402917763850194"),
    ("售后纠纷", "接诉超过 24 小时还没解决", "2219584470362235"),
    ("售后纠纷", "客户原因的纠纷, 处理方案却是「全额退款+承担运费」", "3380746129958802"),
    ("售后纠纷", "状态是「已解决」, 但没填解决时间", "1967203358841470"),
    ("中差评", "评价发布近一个月后才发现(夜光项链: 我收到的这个是没有夜光的!)", "2745018863390521"),
    ("中差评", "还没解决问题、顾客也没满意, 就请顾客改评价", "2745018863390521"),
    ("中差评", "发现后 3 天才联系顾客, 超过 24 小时", "3108846257701936"),
    ("中差评", "处理完成后超过 2 天没有回访", "1655932084417783"),
]

# Rows that look wrong at first sight but are right: they must stay white.
DEMO_CLEAN_CASES: list[tuple[str, str, str]] = [
    ("客服台账", "22:58 咨询, 次日 09:03 回复: 工作时间 09:00-23:00 内只算 5 分钟, 不超时", "小鹿不迷路"),
    ("推广确认单", "还没签字, 但离开始还有 4 天多, 不用急", "年终清仓·锁骨链"),
]

# ---------------------------------------------------------------------------------------------
# Small helpers


def _table(title: str, records: list[dict[str, Any] | None]) -> list[list[Any]]:
    """Header row plus one row per record, in header order; ``None`` is a blank row a person left.
    A key that is not a header is a bug in this module, so it fails loudly."""
    header = TAB_HEADERS[title]
    rows: list[list[Any]] = [list(header)]
    for rec in records:
        if rec is None:
            rows.append([None] * len(header))
            continue
        unknown = set(rec) - set(header)
        if unknown:
            raise KeyError(f"{title}: no such column {sorted(unknown)}")
        rows.append([rec.get(h) for h in header])
    return rows


def _at(day: date, hhmm: str) -> datetime:
    hh, mm = hhmm.split(":")
    return datetime.combine(day, time(int(hh), int(mm)))


def _slash(dt: datetime) -> str:
    """'2026/11/20 10:05' — typed as text."""
    return f"{dt:%Y/%m/%d %H:%M}"


def _zh(dt: datetime) -> str:
    """'2026年11月20日 10点05分' — typed as text."""
    return f"{dt.year}年{dt.month}月{dt.day}日 {dt.hour}点{dt.minute:02d}分"


def _month_day(d: date) -> str:
    """'11-20' — a date typed without the year."""
    return f"{d.month}-{d.day}"


def _fullwidth(n: int) -> str:
    """'５' — digits typed with a Chinese input method."""
    return str(n).translate({ord(c): ord(c) + 0xFEE0 for c in "0123456789"})


def _order_no(i: int) -> str:
    """A 16-digit order number; distinct for every i (the multiplier is coprime with 10**10)."""
    return f"382165{((i + 1) * 2654435761 + 97531) % 10**10:010d}"


def _last_slot(now: datetime, lag: timedelta) -> datetime:
    """The latest of 10:00, 15:00 or 21:30 (today or yesterday) at least ``lag`` before ``now``.

    Always inside working hours (09:00-23:00), so a row placed there is late by working time
    whatever hour the demo is run at, yet never more than about 14 hours old."""
    latest = now - lag
    slots = [_at(now.date() - timedelta(days=back), hhmm) for back in (0, 1) for hhmm in ("21:30", "15:00", "10:00")]
    return next(s for s in slots if s <= latest)


def _next_slot(now: datetime, lead: timedelta) -> datetime:
    """The first 10:00 or 20:00 at least ``lead`` after ``now``: less than 24 hours away."""
    earliest = now + lead
    slots = [_at(now.date() + timedelta(days=ahead), hhmm) for ahead in (0, 1, 2) for hhmm in ("10:00", "20:00")]
    return next(s for s in slots if s >= earliest)


def _members() -> list[list[Any]]:
    return _table("成员", [{"姓名": n, "角色": r, "邮箱": e} for n, r, e in MEMBERS])


def _settings(work_hours: str) -> list[list[Any]]:
    values = {"店名": SHOP_NAME, "工作时间": work_hours}
    return _table("设置", [{"项目": k, "值": values.get(k, v), "说明": note} for k, v, note in DEFAULT_ROWS])


def _inventory_record(sku: str, name: str, stock: Any, floor: Any, updated: datetime) -> dict[str, Any]:
    return {"SKU": sku, "商品名称": name, "库存": stock, "最低价": floor, "更新时间": updated}


# ---------------------------------------------------------------------------------------------
# demo_rows: two weeks ending at ``now``


def demo_rows(now: datetime) -> dict[str, list[list[Any]]]:
    """Tab title -> rows (row 0 is the header) for the demo workbook, about two weeks up to
    ``now`` (naive, shop-local time). Mostly clean; see DEMO_CASES for the deliberate mistakes."""
    today = now.date()
    return {
        "成员": _members(),
        "设置": _settings("09:00-23:00"),
        "选品检查表": _table("选品检查表", _demo_selection(today)),
        "推广确认单": _table("推广确认单", _demo_promotions(now)),
        "库存": _table("库存", _demo_inventory(today)),
        "客服台账": _table("客服台账", _demo_cs_log(now)),
        "售后纠纷": _table("售后纠纷", _demo_disputes(now)),
        "中差评": _table("中差评", _demo_reviews(today)),
    }


# days back, product, SKU, supplier, first cooperation, samples, (镶嵌, 证书, 外观), verdict,
# return reason, checker
_OK = ("合格", "合格", "合格")
_SELECTIONS: tuple[tuple[Any, ...], ...] = (
    (13, "1克拉圆形裸石 D色 VS1", "LGD-S-100D", "柘城晶钻坊", "否", 2, _OK, "合格", None, SELECTOR),
    (13, "30分六爪钻戒 18K白金", "LGD-R-030", "水贝金鼎珠宝", "否", 1, _OK, "合格", None, SELECTOR),
    (12, "50分莫比乌斯钻戒", "LGD-R-050", "水贝金鼎珠宝", "否", 2, _OK, "合格", None, SELECTOR),
    (12, "10分锁骨链 925银", "LGD-N-010", "义乌星光饰品", "否", 3, _OK, "合格", None, SELECTOR),
    (11, "夜光星空项链", "LGD-N-YG1", "义乌星光饰品", "否", 2, _OK, "合格 ", None, SELECTOR),
    (10, "20分小方糖戒指", "LGD-R-020", "番禺匠心首饰厂", "是", _fullwidth(5), _OK, "合格", None, SELECTOR),
    (10, "四叶草项链 30分", "LGD-N-030", "番禺匠心首饰厂", "是", 3, ("合格", "合格", "不合格"), "退回",
     "四叶草叶片边缘有毛刺", SELECTOR),
    (9, "2克拉椭圆裸石 E色 VS1", "LGD-S-200E", "柘城晶钻坊", "否", 1, _OK, "合格", None, SELECTOR),
    (9, "男士方钻戒指 30分", "LGD-R-M30", "深圳贝尔珠宝", "否", 2, ("不合格", "合格", "合格"), "退回", None, SELECTOR),
    (8, "20分耳钉 14K金", "LGD-E-020", "水贝金鼎珠宝", "否", 2, _OK, "合格", None, "周一军  "),
    (8, "一克拉耳钉 18K金", "LGD-E-100", "深圳贝尔珠宝", "Y", 3, ("合格", "不合格", "合格"), "退回",
     "证书编号与腰码不符", SELECTOR),
    (7, "30分耳钉 18K金", "LGD-E-030", "水贝金鼎珠宝", "否", 2, _OK, "合格", None, SELECTOR),
    (6, "满天星手链 18K金", "LGD-B-020", "番禺匠心首饰厂", "否", 2, _OK, "合格", None, SELECTOR),
    (6, "双排碎钻手链 18K金", "LGD-B-030", "番禺匠心首饰厂", "否", 2, ("不合格", "合格", "合格"), "合格", None, SELECTOR),
    (5, "3克拉圆形裸石 D色 VS1", "LGD-S-300D", "柘城晶钻坊", "否", 1, _OK, "合格", None, SELECTOR),
    (4, "50分单钻吊坠项链", "LGD-N-050", "番禺匠心首饰厂", "否", 2, _OK, "合格", None, SELECTOR),
    (4, "公主方裸石 50分 F色", "LGD-S-050", "郑州华晶精品", "是", 1, _OK, "合格", None, SELECTOR),
    (3, "1克拉经典六爪钻戒", "LGD-R-100", "水贝金鼎珠宝", "否", 2, ("不合格", "合格", "合格"), "退回",
     "爪头不齐, 主石有晃动", SELECTOR),
    (2, "10分耳钉 925银", "LGD-E-010", "义乌星光饰品", "否", 2, _OK, "合格", None, SELECTOR),
    (2, "水滴形吊坠 40分", "LGD-N-040", "番禺匠心首饰厂", "否", 2, _OK, "合格", None, None),
    (1, "小雏菊耳钉 5分", "LGD-E-005", "义乌星光饰品", "✓", 2, _OK, "合格", None, SELECTOR),
    (0, "50分耳钉 18K金", "LGD-E-050", "水贝金鼎珠宝", "否", 2, _OK, "合格", None, SELECTOR),
)


def _selection_record(day: Any, product: str, sku: str, supplier: str, first: str, samples: Any,
                      checks: tuple[str, str, str], verdict: str, reason: str | None,
                      checker: str | None) -> dict[str, Any]:
    return {"日期": day, "商品": product, "SKU": sku, "供应商": supplier, "首次合作": first, "样品数": samples,
            "镶嵌牢固": checks[0], "证书核验": checks[1], "外观": checks[2], "结论": verdict,
            "退回原因": reason, "检查人": checker}


def _demo_selection(today: date) -> list[dict[str, Any] | None]:
    records: list[dict[str, Any] | None] = []
    for i, (back, *rest) in enumerate(_SELECTIONS):
        day = today - timedelta(days=back)
        typed_short = i in (3, 15) and day.year == today.year  # '11-20' only means this year
        records.append(_selection_record(_month_day(day) if typed_short else day, *rest))
        if i == 11:
            records.append(None)  # a blank row someone left between two weeks
    return records


def _demo_promotions(now: datetime) -> list[dict[str, Any]]:
    today = now.date()

    def d(offset: int, hhmm: str) -> datetime:
        return _at(today + timedelta(days=offset), hhmm)

    def promo(name: str, start: Any, end: Any, skus: str, price: Any, declared: Any, author: str | None,
              signer: str | None = None, signed: Any = None, error: str | None = "无",
              error_note: str | None = None, excluded: str | None = None) -> dict[str, Any]:
        return {"活动名称": name, "开始时间": start, "结束时间": end, "适用商品": skus, "不适用商品": excluded,
                "活动价": price, "声明库存": declared, "填写人": author, "确认人": signer, "签字时间": signed,
                "差错": error, "差错说明": error_note}

    soon = _next_slot(now, timedelta(hours=3))
    flash_start = d(-7, "10:00")
    return [
        promo("秒杀·10分耳钉", d(-12, "10:00"), d(-11, "23:59"), "LGD-E-010", "¥219", 20, PROMOTER,
              FINANCE, d(-14, "16:00")),
        promo("新品首发·四叶草项链", d(-10, "20:00"), d(-7, "23:59"), "LGD-N-030、LGD-N-010", 1180, 10, PROMOTER,
              FINANCE, d(-12, "11:30"), "有", "适用商品漏填 LGD-N-010(锁骨链也参加), 客户问了才补上"),
        promo("秋冬上新·20分耳钉", d(-9, "10:00"), d(-7, "23:59"), "LGD-E-020", 649, 10, PROMOTER,
              FINANCE, d(-11, "16:30"), "有"),
        promo("直播专享·六爪钻戒", d(-8, "19:30"), d(-8, "23:30"), "LGD-R-030\nLGD-R-050", 2480, 8, PROMOTER,
              MANAGER, d(-9, "10:00"), excluded="LGD-R-100"),
        promo("锁骨链限时折扣", flash_start, _slash(flash_start - timedelta(hours=12)), "LGD-N-010",
              319, 15, PROMOTER, FINANCE, d(-9, "10:00")),
        promo("满1000减100", _slash(d(-6, "00:00")), d(0, "23:59"), "LGD-R-030,LGD-N-030,LGD-E-030", None, 9,
              PROMOTER, FINANCE, d(-8, "15:00")),
        promo("老客回购·耳钉第二副半价", d(-4, "10:00"), d(3, "23:59"), "LGD-E-020，LGD-E-010", 599, 15,
              PROMOTER, FINANCE, d(-6, "14:00")),
        promo("周年庆·莫比乌斯钻戒", d(-3, "10:00"), d(-1, "23:59"), "LGD-R-050", 2580, 6, PROMOTER,
              FINANCE, d(-3, "14:20"), "有", "没签字就上线了, 莉莉下午补签"),
        promo("直播福利·一克拉裸石", d(-2, "20:00"), d(-2, "23:00"), "LGD-S-100D", 2980, 2, PROMOTER,
              MANAGER, d(-4, "15:00")),
        promo("直播间专享·50分吊坠", soon, soon + timedelta(hours=4), "LGD-N-050", 1980, 6, PROMOTER,
              error=None),
        promo("限时闪购·30分耳钉", d(2, "10:00"), d(2, "22:00"), "LGD-E-030", 1380, 5, PROMOTER,
              PROMOTER, d(-1, "21:00"), error=None),
        promo("会员日·1克拉钻戒", d(2, "20:00"), d(2, "23:59"), "LGD-R-100", 4880, 3, PROMOTER,
              FINANCE, d(-1, "14:00"), error=None),
        promo(OVERSELL_PROMOTION, d(3, "10:00"), d(10, "23:59"), OVERSELL_SKU, "¥12,800", "5件", PROMOTER,
              error=None, excluded="LGD-S-100D、LGD-S-200E"),
        promo("新款上架·满天星手链", d(4, "10:00"), d(6, "23:59"), "LGD-B-005", 1680, 5, PROMOTER,
              FINANCE, d(-1, "11:00"), error=None),
        promo("年终清仓·锁骨链", d(5, "10:00"), d(7, "23:59"), "LGD-N-010", 329, 20, PROMOTER, error=None),
        promo("闺蜜款·10分耳钉", d(6, "10:00"), d(8, "23:59"), "LGD-E-010", "¥399", 10, None, error=None),
    ]


def _demo_inventory(today: date) -> list[dict[str, Any]]:
    def updated(back: int) -> datetime:
        return _at(today - timedelta(days=back), f"{17 + back % 5}:{(back * 13) % 60:02d}")

    typed = {  # how finance actually typed a few cells
        ("LGD-R-030", "最低价"): "1,299",
        ("LGD-E-010", "最低价"): "¥199",
        ("LGD-R-100", "库存"): _fullwidth(5),
        ("LGD-N-010", "库存"): "30件",
    }
    records = []
    for i, (sku, name, stock, floor) in enumerate(CATALOG):
        records.append(_inventory_record(sku, name, typed.get((sku, "库存"), stock),
                                         typed.get((sku, "最低价"), floor), updated(1 + i % 6)))
    records[4:4] = [
        _inventory_record("LGD-S-050", "50分 公主方裸石 F色", 2.5, 1480, updated(3)),
        _inventory_record("LGD-R-020", "20分 小方糖戒指 18K金", 6, 899, updated(9)),
    ]
    records += [
        _inventory_record("LGD-N-020", "20分 一字锁骨链 925银", 12, -50, updated(2)),
        _inventory_record("LGD-E-050", "50分 耳钉 18K金(一对)", -1, 1880, updated(1)),
        _inventory_record("LGD-R-020", "20分 小方糖戒指 18K金(新到一批)", 4, 899, updated(1)),
    ]
    return records


# question type -> (summary, remark) pairs; the share of each type follows _TYPE_CYCLE.
_QUESTIONS: dict[str, tuple[tuple[str, str | None], ...]] = {
    "产品咨询": (
        ("培育钻石是不是真钻石", "已发标准话术+IGI验真方法"),
        ("戒圈尺寸怎么量", None),
        ("镶嵌会不会掉钻", "已记下, 提醒选品查镶嵌"),
        ("证书是IGI还是GIA", None),
        ("1克拉戒指能不能刻字", "可刻字, 加3天工期"),
        ("耳钉是925银还是18K金", None),
        ("项链链长多少, 能调节吗", None),
        ("能不能发实拍视频", "已发视频"),
    ),
    "售后问题": (
        ("收到货不满意能退吗", "已发7天无理由话术"),
        ("戒圈大了能改吗", None),
        ("证书编号和图片对不上", "客户看错编号, 已验真"),
        ("发票怎么开", None),
    ),
    "活动疑问": (
        ("满减和优惠券能叠加吗", "已帮客户算最优方案"),
        ("双十二有没有活动", None),
        ("直播间价格能保价吗", None),
    ),
    "其他": (
        ("能不能发顺丰", None),
        ("送人能不能不放价签", "已备注仓库"),
    ),
}
_TYPE_CYCLE = ("产品咨询", "产品咨询", "活动疑问", "产品咨询", "售后问题", "产品咨询", "其他", "活动疑问",
               "产品咨询", "售后问题")
_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高罗郑"


def _customer(i: int) -> str:
    return _SURNAMES[(i * 7) % len(_SURNAMES)] + ("先生" if i % 4 == 0 else "女士")


def _inquiry(asked: datetime, delay: int | None, customer: str, qtype: str, summary: str,
             remark: str | None, deal: str | None, resolved: str | None, agent: str) -> dict[str, Any]:
    return {"日期": asked.date(), "客户": customer, "问题类型": qtype, "问题摘要": summary, "咨询时间": asked,
            "首次响应时间": None if delay is None else asked + timedelta(minutes=delay), "客服": agent,
            "是否成交": deal, "是否解决": resolved, "备注": remark}


def _clean_inquiries(now: datetime) -> list[dict[str, Any]]:
    """Eight to eleven questions a day, answered within 1-7 minutes, all inside working hours."""
    records: list[dict[str, Any]] = []
    i = 0
    for back in range(13, -1, -1):
        day = now.date() - timedelta(days=back)
        per_day = 8 + (back * 5) % 4
        for j in range(per_day):
            i += 1
            asked = _at(day, "09:20") + timedelta(minutes=j * (780 // per_day) + (i * 17) % 23)
            delay = 1 + (i * 5) % 7
            if asked + timedelta(minutes=delay) > now:
                continue
            qtype = _TYPE_CYCLE[i % len(_TYPE_CYCLE)]
            options = _QUESTIONS[qtype]
            summary, remark = options[i % len(options)]
            deal = "是" if qtype in ("产品咨询", "活动疑问") and i % 3 == 0 else "否"
            agent = MANAGER if day.weekday() == 5 else AGENT  # 店长 covers Saturdays
            records.append(_inquiry(asked, delay, _customer(i), qtype, summary, remark, deal, "是", agent))
    return records


_CASE_CUSTOMERS = ("小鹿不迷路", "星河滚烫", "木木夕", "一只橙子")


def _demo_cs_log(now: datetime) -> list[dict[str, Any] | None]:
    today = now.date()
    cases = [
        _inquiry(_at(today - timedelta(days=2), "22:58"), 605, _CASE_CUSTOMERS[0], "产品咨询", "戒圈尺寸怎么量",
                 "23点下班, 第二天一早回复", "是", "是", AGENT),
        _inquiry(_at(today - timedelta(days=3), "12:20"), 27, _CASE_CUSTOMERS[1], "产品咨询", "镶嵌会不会掉钻",
                 "午饭时间没看到消息", "否", "是", AGENT),
        _inquiry(_at(today - timedelta(days=1), "15:30"), 4, _CASE_CUSTOMERS[2], "售后问题", "戒指主石有点晃, 担心掉钻",
                 "等周一军确认镶嵌", "否", "否", AGENT),
        _inquiry(_last_slot(now, timedelta(minutes=45)), None, _CASE_CUSTOMERS[3], "活动疑问", "满减和优惠券能叠加吗",
                 None, None, None, AGENT),
    ]
    records = sorted(_clean_inquiries(now) + cases, key=lambda r: r["咨询时间"])
    out: list[dict[str, Any] | None] = []
    deals = 0
    for i, rec in enumerate(records):
        if rec["客户"] not in _CASE_CUSTOMERS:
            _mess_up_inquiry(i, rec, today.year)
        if rec["是否成交"] == "是":
            deals += 1
            rec["是否成交"] = {4: "Y", 9: "✓"}.get(deals, "是")
        out.append(rec)
        if i == 45:
            out.append(None)  # a blank row in the middle
    return out


def _mess_up_inquiry(i: int, rec: dict[str, Any], year: int) -> None:
    """Retype a few clean rows the way people do: dates as text, no year (only for this year's
    dates, which is what a person means by '11-20'), trailing spaces."""
    if i in (17, 88):
        rec["咨询时间"] = _slash(rec["咨询时间"])
    elif i in (29, 101):
        rec["咨询时间"] = _zh(rec["咨询时间"])
    if i in (23, 64) and rec["日期"].year == year:
        rec["日期"] = _month_day(rec["日期"])
    if i == 51:
        rec["客服"] += "  "


# days back, received, category, customer, description, solution, reply after (min),
# verified after (min, quality only), resolved after (h)
_CLEAN_DISPUTES: tuple[tuple[Any, ...], ...] = (
    (13, "10:40", "质量问题", "王女士", "收到的配饰少了一颗钻", "补发+10元券", 4, 70, 6),
    (12, "21:15", "物流问题", "陈女士", "快递三天没有更新物流", "5元券", 3, None, 14),
    (11, "15:30", "客户原因", "刘先生", "拍错款式, 想退", "7天无理由(买家承担运费)", 6, None, 20),
    (10, "11:05", "物流问题", "杨女士", "快递丢件", "补发", 5, None, 5),
    (8, "14:20", "质量问题", "黄女士", "耳钉电镀颜色不均", "全额退款+承担运费", 2, 45, 8),
    (7, "19:50", "客户原因", "赵女士", "不喜欢款式, 7天内想退", "7天无理由(买家承担运费)", 3, None, 16),
    (5, "16:45", "物流问题", "吴女士", "外包装压扁, 首饰盒变形", "补发", 4, None, 19),
    (3, "10:30", "质量问题", "徐女士", "吊坠扣环松了", "补发+10元券", 5, 50, 7),
    (1, "13:10", "物流问题", "孙先生", "显示派送中两天没到", "5元券", 2, None, 4),
)
_HANDLER = {"质量问题": SELECTOR, "物流问题": FINANCE, "客户原因": AGENT}


def _dispute(order: str, customer: str, received: datetime, category: str, description: str,
             reply_min: int, handler: str | None, verified: datetime | None, solution: str | None,
             resolved: datetime | None, status: str, remark: str | None = None) -> dict[str, Any]:
    return {"订单号": order, "客户": customer, "接诉时间": received, "问题类别": category, "问题描述": description,
            "首次回复时间": received + timedelta(minutes=reply_min), "负责人": handler, "核实时间": verified,
            "处理方案": solution, "解决时间": resolved, "状态": status, "备注": remark}


def _demo_disputes(now: datetime) -> list[dict[str, Any]]:
    today = now.date()

    def d(back: int, hhmm: str) -> datetime:
        return _at(today - timedelta(days=back), hhmm)

    clean = []
    for i, (back, hhmm, category, customer, desc, solution, reply, verify, hours) in enumerate(_CLEAN_DISPUTES):
        received = d(back, hhmm)
        verified = received + timedelta(minutes=verify) if verify else None
        clean.append(_dispute(_order_no(i), customer, received, category, desc, reply, _HANDLER[category],
                              verified, solution, received + timedelta(hours=hours), "已解决"))
    clean.append(_dispute(_order_no(len(clean)), "郭女士", _last_slot(now, timedelta(hours=1)), "客户原因",
                          "戒圈买小了, 想换大一号", 4, AGENT, None, None, None, "处理中", "等客户寄回"))
    cases = [
        _dispute("2907331846502217", "马女士", d(4, "14:05"), "客户原因", "拍错戒圈尺寸, 想退", 35, AGENT, None,
                 "7天无理由(买家承担运费)", d(3, "10:00"), "已解决"),
        _dispute("3516092287403361", "何女士", d(5, "10:12"), "质量问题", "钻石有明显黑点", 4, SELECTOR,
                 d(5, "14:40"), "补发+10元券", d(5, "18:30"), "已解决"),
        _dispute("1844270935116628", "高女士", d(7, "16:05"), "质量问题", "戒托有划痕", 3, AGENT, d(7, "16:50"),
                 "全额退款+承担运费", d(6, "11:00"), "已解决"),
        _dispute("4402917763850194", "罗先生", d(2, "11:20"), "物流问题", "快递三天没更新物流", 4, None, None,
                 "5元券", d(2, "16:00"), "已解决"),
        _dispute("2219584470362235", "郑女士", d(4, "20:10"), "物流问题", "显示已签收, 客户说没收到", 3, FINANCE,
                 None, None, None, "处理中", "已联系快递站点, 等回复"),
        _dispute("3380746129958802", "朱女士", d(9, "13:30"), "客户原因", "戒圈买小了想退", 5, AGENT, None,
                 "全额退款+承担运费", d(8, "12:00"), "已解决"),
        _dispute("1967203358841470", "胡女士", d(6, "09:40"), "质量问题", "耳钉堵头松, 戴的时候掉了", 5, SELECTOR,
                 d(6, "10:30"), "补发+10元券", None, "已解决"),
    ]
    records = sorted(clean + cases, key=lambda r: r["接诉时间"])
    # two clean rows typed as text (after sorting: the dicts are shared with ``records``)
    clean[2]["接诉时间"] = _zh(clean[2]["接诉时间"])
    clean[5]["首次回复时间"] = _slash(clean[5]["首次回复时间"])
    return records


def _review(order: str, posted: datetime, found: datetime, rating: str, content: str, reason: str,
            contacted: datetime | None, channel: str | None, solution: str | None, done: datetime | None,
            revisit: datetime | None, satisfied: str | None, asked: str | None,
            changed: str | None) -> dict[str, Any]:
    return {"订单号": order, "评价时间": posted, "发现时间": found, "评分": rating, "评价内容": content,
            "原因分类": reason, "联系时间": contacted, "联系方式": channel, "处理方案": solution,
            "处理完成时间": done, "回访时间": revisit, "顾客满意": satisfied, "已请求修改评价": asked,
            "评价已修改": changed}


def _demo_reviews(today: date) -> list[dict[str, Any]]:
    def d(back: int, hhmm: str) -> datetime:
        return _at(today - timedelta(days=back), hhmm)

    base = 100  # order numbers distinct from the disputes'
    records = [
        _review(_order_no(base), d(12, "20:30"), d(11, "09:40"), "中评", "物流太慢, 等了5天才到", "物流慢",
                d(11, "10:15"), "旺旺", "道歉+5元券", d(11, "10:30"), d(10, "15:00"), "是", "是", "是"),
        _review("1655932084417783", d(10, "14:00"), d(10, "16:30"), "差评", "客服爱答不理", "客服态度",
                d(10, "17:00"), "旺旺", "道歉+10元券", d(10, "17:30"), None, None, "否", None),
        _review(_order_no(base + 1), d(9, "13:05"), d(9, "17:20"), "差评", "问了半天没人回", "客服回复不及时",
                d(9, "17:40"), "电话", "道歉+10元券, 已安排轮班", d(9, "18:00"), d(8, "11:00"), "是", "是", "否"),
        _review(_order_no(base + 2), d(7, "10:10"), d(7, "11:00"), "中评", "说好的满减没给我减", "误解政策",
                d(7, "11:30"), "旺旺", "截图解释满减规则+5元券", d(7, "12:00"), d(6, "10:30"), "是", "是", "是"),
        _review("3108846257701936", d(6, "11:00"), d(6, "15:00"), "差评", "戴了一周就掉色了", "质量瑕疵",
                d(3, "19:30"), "电话", "全额退款+承担运费", d(3, "21:00"), d(2, "10:00"), "是", "是", "是"),
        _review(_order_no(base + 3), d(4, "21:00"), d(3, "09:30"), "差评", "首饰盒压坏了, 送人没法送", "破损丢失",
                d(3, "10:00"), "电话", "补发新首饰盒", d(3, "16:00"), d(2, "14:00"), "是", "否", "否"),
        _review("2745018863390521", d(29, "21:13"), d(1, "10:20"), "中评", "我收到的这个是没有夜光的!", "不了解用法",
                d(1, "17:30"), "电话", None, None, None, "否", "是", "否"),
        _review(_order_no(base + 4), d(1, "12:30"), d(1, "14:10"), "中评", "钻石没有图片上闪", "与描述不符",
                d(1, "14:40"), "旺旺", "发实拍视频+教清洁方法", d(1, "17:00"), None, None, "否", None),
    ]
    return records


# ---------------------------------------------------------------------------------------------
# seed_week_rows: the week from the shop's story, and the week before


def seed_week_rows(week_start: date) -> dict[str, list[list[Any]]]:
    """Tab title -> rows (row 0 is the header) for the seed story's week ``week_start`` (a Monday)
    through Sunday, plus the previous week. Clean except where the KPIs need otherwise; working
    hours are left empty (round the clock) so every SLA count is plain arithmetic.

    This week: selections 9/10 合格, promotions 1/2 without 差错, questions 84/86 answered
    within 10 minutes, disputes 6/6 solved within 24 hours. Last week: selections 7/10."""
    previous = week_start - timedelta(days=7)
    return {
        "成员": _members(),
        "设置": _settings(""),
        "选品检查表": _table("选品检查表", _seed_selection(previous, 3) + _seed_selection(week_start, 1)),
        "推广确认单": _table("推广确认单", _seed_promotions(previous, week_start)),
        "库存": _table("库存", [_inventory_record(sku, name, stock, floor, _at(previous, "18:00"))
                              for sku, name, stock, floor in CATALOG]),
        "客服台账": _table("客服台账", _seed_inquiries(previous, (11, 10, 10, 10, 10, 10, 11), ())
                          + _seed_inquiries(week_start, (13, 13, 12, 12, 12, 12, 12), ((1, 3, 21), (3, 8, 17)))),
        "售后纠纷": _table("售后纠纷", _seed_disputes(previous, 12, 0) + _seed_disputes(week_start, 6, 12)),
        "中差评": _table("中差评", _seed_reviews(previous, 50) + _seed_reviews(week_start, 51)),
    }


_RETURNS = (  # the failed check (index into 镶嵌/证书/外观) and the reason written down
    (0, "镶嵌不牢, 主石有晃动"),
    (1, "证书编号与腰码不符"),
    (2, "表面有划痕"),
)
_SUPPLIERS = ("水贝金鼎珠宝", "柘城晶钻坊", "义乌星光饰品")


def _seed_selection(monday: date, returned: int) -> list[dict[str, Any]]:
    """Ten checks Monday to Saturday; the first ``returned`` of the 4th, 6th and 9th are 退回.
    The 4th comes from a new supplier (首次合作, two samples), as in the story."""
    return_slots = (3, 5, 8)[:returned]
    records = []
    for i in range(10):
        sku, name, _stock, _floor = CATALOG[(i + monday.toordinal()) % len(CATALOG)]
        checks, verdict, reason = list(_OK), "合格", None
        if i in return_slots:
            failed, reason = _RETURNS[return_slots.index(i)]
            checks[failed], verdict = "不合格", "退回"
        first, supplier = ("是", "番禺匠心首饰厂") if i == 3 else ("否", _SUPPLIERS[i % len(_SUPPLIERS)])
        records.append(_selection_record(monday + timedelta(days=i * 6 // 10), name, sku, supplier, first, 2,
                                         (checks[0], checks[1], checks[2]), verdict, reason, SELECTOR))
    return records


def _seed_promotions(previous: date, monday: date) -> list[dict[str, Any]]:
    """Two promotions starting in each week, signed by finance two days ahead; one mistake in
    this week's second (the story's forgotten 适用商品)."""
    plan = (
        (previous, 2, "20:00", "周三会员日·锁骨链", "LGD-N-010", 329, 15, "无", None),
        (previous, 5, "10:00", "周末秒杀·10分耳钉", "LGD-E-010", 219, 20, "无", None),
        (monday, 1, "20:00", "直播专享·六爪钻戒", "LGD-R-030、LGD-R-050", 2480, 8, "无", None),
        (monday, 4, "10:00", "新品首发·四叶草项链", "LGD-N-030、LGD-N-010", 1180, 10, "有",
         "适用商品漏填 LGD-N-010, 客户问了才补上, 调整后解决"),
    )
    records = []
    for week, day, hhmm, name, skus, price, declared, error, note in plan:
        start = _at(week + timedelta(days=day), hhmm)
        end = datetime.combine(start.date() + timedelta(days=1), time(23, 59))
        records.append({"活动名称": name, "开始时间": start, "结束时间": end, "适用商品": skus,
                        "活动价": price, "声明库存": declared, "填写人": PROMOTER, "确认人": FINANCE,
                        "签字时间": start - timedelta(days=2), "差错": error, "差错说明": note})
    return records


def _seed_inquiries(monday: date, per_day: tuple[int, ...],
                    late: tuple[tuple[int, int, int], ...]) -> list[dict[str, Any]]:
    """``per_day[k]`` questions on day k, every 65 minutes from 09:10, answered in 1-8 minutes;
    ``late`` lists (day, index, minutes) answered late — the agent was at lunch or dinner."""
    late_map = {(day, j): minutes for day, j, minutes in late}
    records = []
    i = 0
    for k, count in enumerate(per_day):
        day = monday + timedelta(days=k)
        for j in range(count):
            i += 1
            qtype = _TYPE_CYCLE[i % len(_TYPE_CYCLE)]
            options = _QUESTIONS[qtype]
            summary, remark = options[i % len(options)]
            delay = late_map.get((k, j), 1 + (i * 3) % 8)
            if (k, j) in late_map:
                remark = "吃饭时没看到消息"
            deal = "是" if qtype in ("产品咨询", "活动疑问") and i % 3 == 0 else "否"
            records.append(_inquiry(_at(day, "09:10") + timedelta(minutes=65 * j), delay, _customer(i), qtype,
                                    summary, remark, deal, "是", AGENT))
    return records


_SEED_DISPUTES = (  # category, description, solution
    ("质量问题", "收到的配饰少了一颗钻", "补发+10元券"),
    ("物流问题", "快递丢件", "补发"),
    ("客户原因", "拍错款式, 想退", "7天无理由(买家承担运费)"),
    ("质量问题", "戒托有划痕", "全额退款+承担运费"),
    ("物流问题", "物流延迟三天", "5元券"),
    ("客户原因", "不想要了", "7天无理由(买家承担运费)"),
)


def _seed_disputes(monday: date, count: int, first_order: int) -> list[dict[str, Any]]:
    """``count`` disputes spread over Monday to Saturday, each replied to in 5 minutes, quality
    problems verified within the hour, every one solved 3-5 hours after it came in."""
    records = []
    for i in range(count):
        category, description, solution = _SEED_DISPUTES[i % len(_SEED_DISPUTES)]
        day = i * 6 // count
        later_that_day = i > 0 and (i - 1) * 6 // count == day
        received = _at(monday + timedelta(days=day), "16:40" if later_that_day else "10:20")
        received += timedelta(minutes=(i * 7) % 30)
        verified = received + timedelta(minutes=60) if category == "质量问题" else None
        records.append(_dispute(_order_no(first_order + i), _customer(i + 3), received, category, description, 5,
                                _HANDLER[category], verified, solution, received + timedelta(hours=3 + i % 3),
                                "已解决"))
    return records


_SEED_REVIEWS = (  # rating, content, reason, solution
    ("中评", "物流太慢, 等了5天才到", "物流慢", "道歉+5元券"),
    ("差评", "戒圈偏小戴不进去", "不了解用法", "教客户量戒圈, 免费换圈口"),
)


def _seed_reviews(monday: date, order: int) -> list[dict[str, Any]]:
    """One bad review a week, found two hours later, solved, revisited next day and changed."""
    rating, content, reason, solution = _SEED_REVIEWS[order % len(_SEED_REVIEWS)]
    posted = _at(monday + timedelta(days=2), "11:00")
    return [_review(_order_no(order), posted, posted + timedelta(hours=2), rating, content, reason,
                    posted + timedelta(hours=3), "旺旺", solution, posted + timedelta(hours=4),
                    posted + timedelta(days=1), "是", "是", "是")]
