"""Synthetic shop workbooks for the benchmarks: any number of 客服台账 and 售后纠纷 rows.

The two big tabs are generated row by row from a seeded ``random.Random``, so the same
(n, seed, now) always gives the same workbook. About one row in ten carries exactly one defect
(a late first response, an unresolved inquiry, a wrong solution for the category, a time nobody
can read...), and the clean rows are typed the way people type: times as ``'2026/11/20 10:05'``
or ``'2026年11月20日 10点05分'``, ``Y``/``✓`` for yes, a question asked at 22:55 and answered at
09:03 the next morning (clean with working hours 09:00-23:00). ``Synthetic.defects`` says which
row carries which defect, so a benchmark can check that the checks found them.

The small tabs (成员, 设置, 选品检查表, 推广确认单, 库存, 中差评) are the demo shop's, from
``sheetsync.demo``: a few dozen rows with one mistake per rule and messy-but-valid stock cells
such as ``'５'`` and ``'30件'``.

Rows come out in memory (tab title -> rows, row 0 the header, like the test fixtures) and, with
:func:`write_xlsx`, as an .xlsx file written in openpyxl's streaming mode.
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any, Callable

from openpyxl import Workbook

from sheetsync.demo import AGENT, FINANCE, MANAGER, SELECTOR, demo_rows
from sheetsync.core.template import Template
from sheetsync.templates import load_template

log = logging.getLogger(__name__)

NOW = datetime(2026, 11, 22, 20, 0)  # a Sunday evening, shop time
BAD_SHARE = 0.10
CS_TITLE, DISPUTES_TITLE = "客服台账", "售后纠纷"

# Each defect breaks one rule; the generator picks them evenly among the bad rows.
CS_DEFECTS = ("late", "overdue", "unresolved", "no_customer", "bad_type", "unreadable_time", "before_start")
DISPUTE_DEFECTS = ("late_reply", "late_verify", "wrong_handler", "wrong_solution", "late_resolve",
                   "open_overdue", "resolved_without_time", "unreadable_time")

QUESTION_TYPES = ("产品咨询", "产品咨询", "产品咨询", "活动疑问", "售后问题", "其他")
SUMMARIES = {
    "产品咨询": ("培育钻石是不是真钻石", "戒圈尺寸怎么量", "证书是IGI还是GIA", "耳钉是925银还是18K金", "能不能发实拍视频"),
    "活动疑问": ("满减和优惠券能叠加吗", "直播间价格能保价吗", "双十二有没有活动"),
    "售后问题": ("收到货不满意能退吗", "戒圈大了能改吗", "发票怎么开"),
    "其他": ("能不能发顺丰", "送人能不能不放价签"),
}
CATEGORIES = ("质量问题", "物流问题", "物流问题", "客户原因")
SOLUTIONS = {"质量问题": ("全额退款+承担运费", "补发+10元券"), "物流问题": ("补发", "5元券"),
             "客户原因": ("7天无理由(买家承担运费)",)}
HANDLERS = {"质量问题": SELECTOR, "物流问题": FINANCE, "客户原因": AGENT}
DESCRIPTIONS = {"质量问题": ("钻石有明显黑点", "耳钉堵头松", "吊坠扣环松了", "电镀颜色不均"),
                "物流问题": ("快递三天没有更新物流", "快递丢件", "外包装压扁", "显示签收但没收到"),
                "客户原因": ("拍错款式, 想退", "不喜欢款式", "尺寸选错了")}
AGENTS = (AGENT, AGENT, AGENT, MANAGER)
YES_FORMS = ("是", "是", "是", "是", "Y", "✓")
UNREADABLE_TIMES = ("下午三点多", "昨天晚上", "刚刚", "11月")
OPEN_MINUTES = (9 * 60, 23 * 60)  # the demo shop's working hours, 09:00-23:00


@dataclass
class Synthetic:
    """A generated workbook: rows per tab title, and the defect planted on each bad row."""

    tabs: dict[str, list[list[Any]]]
    defects: dict[str, dict[int, str]] = field(default_factory=dict)  # title -> {sheet row: defect}
    now: datetime = NOW

    def data_rows(self, title: str) -> int:
        return len(self.tabs[title]) - 1

    def bad_share(self, title: str) -> float:
        return len(self.defects.get(title, {})) / max(self.data_rows(title), 1)


def generate(n: int, *, seed: int = 0, now: datetime = NOW, bad_share: float = BAD_SHARE,
             template: Template | None = None) -> Synthetic:
    """``n`` rows of 客服台账 and ``n`` rows of 售后纠纷 (plus the demo shop's small tabs),
    spread over the days before ``now``; ``bad_share`` of each big tab's rows carry one defect."""
    template = template or load_template("zh-CN")
    rng = random.Random(seed)
    tabs = demo_rows(now)
    days = min(730, max(14, n // 100))
    headers = {t.title: [c.name for c in t.columns] for t in template.tabs.values()}
    defects: dict[str, dict[int, str]] = {}
    for title, kinds, make in ((CS_TITLE, CS_DEFECTS, _inquiry), (DISPUTES_TITLE, DISPUTE_DEFECTS, _dispute)):
        rows, planted = _tab_rows(rng, n, days, now, bad_share, kinds, make, headers[title])
        tabs[title] = rows
        defects[title] = planted
    return Synthetic(tabs, defects, now)


def _tab_rows(rng: random.Random, n: int, days: int, now: datetime, bad_share: float, kinds: tuple[str, ...],
              make: Callable[..., dict[str, Any]], header: list[str]) -> tuple[list[list[Any]], dict[int, str]]:
    bad = set(rng.sample(range(n), round(n * bad_share)))
    first_day = now.date() - timedelta(days=days)
    rows: list[list[Any]] = [list(header)]
    planted: dict[int, str] = {}
    for i in range(n):
        day = first_day + timedelta(days=rng.randrange(days))
        defect = kinds[rng.randrange(len(kinds))] if i in bad else None
        record = make(rng, i, day, defect, now)
        rows.append([record.get(h) for h in header])
        if defect:
            planted[i + 2] = defect  # sheet row: the header is row 1
    return rows, planted


def _at(day: date, minutes: int) -> datetime:
    return datetime.combine(day, time()) + timedelta(minutes=minutes)


def _customer(rng: random.Random) -> str:
    return rng.choice("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高罗郑") + rng.choice(("女士", "女士", "先生", "同学"))


def _typed(rng: random.Random, moment: datetime) -> Any:
    """How a time lands in the sheet: mostly a real date cell, sometimes text typed by hand."""
    roll = rng.random()
    if roll < 0.06:
        return f"{moment:%Y/%m/%d %H:%M}"
    if roll < 0.08:
        return f"{moment.year}年{moment.month}月{moment.day}日 {moment.hour}点{moment.minute:02d}分"
    return moment


def _inquiry(rng: random.Random, i: int, day: date, defect: str | None, now: datetime) -> dict[str, Any]:
    """One 客服台账 row: answered within 1-8 minutes of working time unless ``defect`` says otherwise."""
    qtype = rng.choice(QUESTION_TYPES)
    overnight = defect is None and rng.random() < 0.01
    if overnight:  # asked just before closing, answered right after opening: a few working minutes
        left = rng.randint(2, 5)
        asked = _at(day, OPEN_MINUTES[1] - left)
        answered: Any = _at(day + timedelta(days=1), OPEN_MINUTES[0] + rng.randint(0, 4))
    else:
        asked = _at(day, rng.randint(OPEN_MINUTES[0], 21 * 60 if defect == "late" else 22 * 60 + 40))
        answered = asked + timedelta(minutes=rng.randint(1, 8))
    resolved = rng.choice(YES_FORMS)
    record = {
        "日期": datetime.combine(day, time()) if rng.random() > 0.03 or day.year != now.year else f"{day.month}-{day.day}",
        "客户": _customer(rng) + ("  " if rng.random() < 0.02 else ""),
        "问题类型": qtype,
        "问题摘要": rng.choice(SUMMARIES[qtype]),
        "客服": rng.choice(AGENTS),
        "是否成交": rng.choice(("是", "否", "否", "Y", None)),
        # a remark on a late or unanswered row would explain the miss (not red any more)
        "备注": "已发标准话术" if rng.random() < 0.1 and defect not in ("late", "overdue") else None,
    }
    if defect == "late":
        answered = asked + timedelta(minutes=rng.randint(15, 90))
    elif defect == "overdue":
        answered = None
    elif defect == "unresolved":
        resolved = "否"
    elif defect == "no_customer":
        record["客户"] = None
    elif defect == "bad_type":
        record["问题类型"] = rng.choice(("咨询", "投诉", "售后"))
    elif defect == "unreadable_time":
        answered = rng.choice(UNREADABLE_TIMES)
    elif defect == "before_start":
        answered = asked - timedelta(minutes=rng.randint(30, 600))
    record["咨询时间"] = _typed(rng, asked)
    record["首次响应时间"] = _typed(rng, answered) if isinstance(answered, datetime) else answered
    record["是否解决"] = resolved
    return record


def _dispute(rng: random.Random, i: int, day: date, defect: str | None, now: datetime) -> dict[str, Any]:
    """One 售后纠纷 row: replied within minutes, quality checked within 2 h, solved within a day
    with the solution the category calls for, unless ``defect`` says otherwise."""
    category = rng.choice(CATEGORIES)
    if defect in ("late_verify", "wrong_handler"):
        category = "质量问题"
    elif defect == "wrong_solution":
        category = rng.choice(("物流问题", "客户原因"))
    if defect in ("late_resolve", "open_overdue", "resolved_without_time"):
        day = min(day, now.date() - timedelta(days=7))  # old enough for the 24 h clock to have run out
    received = _at(day, rng.randint(OPEN_MINUTES[0], 14 * 60 if defect == "late_verify" else 20 * 60))
    replied: Any = received + timedelta(minutes=rng.randint(1, 8))
    verified = received + timedelta(minutes=rng.randint(10, 100)) if category == "质量问题" else None
    resolved: Any = received + timedelta(minutes=rng.randint(60, 20 * 60))
    handler = HANDLERS[category] if not (category == "物流问题" and rng.random() < 0.01) else None  # routing fills it
    solution = rng.choice(SOLUTIONS[category])
    status = "已解决"
    if defect == "late_reply":
        replied = received + timedelta(minutes=rng.randint(20, 120))
    elif defect == "late_verify":
        verified = received + timedelta(minutes=rng.randint(180, 420))
    elif defect == "wrong_handler":
        handler = AGENT
    elif defect == "wrong_solution":
        solution = "全额退款+承担运费"
    elif defect == "late_resolve":
        resolved = received + timedelta(days=rng.randint(3, 6), minutes=rng.randint(0, 600))
    elif defect == "open_overdue":
        resolved, solution, status = None, None, "处理中"
    elif defect == "resolved_without_time":
        resolved = None
    elif defect == "unreadable_time":
        replied = rng.choice(UNREADABLE_TIMES)
    return {
        "订单号": f"{3800000000000000 + i * 7919 % 10**15:016d}",
        "客户": _customer(rng),
        "接诉时间": _typed(rng, received),
        "问题类别": category,
        "问题描述": rng.choice(DESCRIPTIONS[category]),
        "首次回复时间": _typed(rng, replied) if isinstance(replied, datetime) else replied,
        "负责人": handler,
        "核实时间": verified,
        "处理方案": solution,
        "解决时间": resolved,
        "状态": status,
        "备注": None,
    }


def write_xlsx(tabs: dict[str, list[list[Any]]], path: str | Path) -> Path:
    """Write the rows as an .xlsx workbook, one sheet per tab, in openpyxl's streaming mode
    (fast and flat in memory at a million rows). Date cells get a date format as Excel would."""
    path = Path(path)
    wb = Workbook(write_only=True)
    for title, rows in tabs.items():
        ws = wb.create_sheet(title)
        for row in rows:
            ws.append(row)
    wb.save(path)
    log.info("wrote %s (%d tabs)", path, len(tabs))
    return path
