"""The seed week of the product brief (9/10, 1/2, 84/86, 6/6) as a weekly report, the daily
digest, and their English versions: the reports the rendering and delivery tests send."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import date, datetime, timedelta

from sheetsync.core.model import DailyDigest, Kpi, OpenProblem, UnresolvedInquiry, WeeklyReport, WeekSummary

# Han, kana, CJK punctuation (【】「」、，。：) and full-width forms: none may reach an English message
CJK = re.compile(r"[\u2e80-\u2fff\u3000-\u303f\u3040-\u30ff\u3100-\u312f\u3200-\u9fff\uf900-\ufaff"
                 r"\ufe30-\ufe4f\uff00-\uffef]")

WEEK_START = date(2026, 11, 16)
LABELS = {"selection_pass": "选品合格率", "promo_accuracy": "推广准确率",
          "cs_response": "客服响应率", "dispute_resolution": "售后解决率"}


def kpis(counts, previous=(0.7, 0.5, 0.95, 1.0)):
    return tuple(Kpi(key, label, n, d, previous=p)
                 for (key, label), (n, d), p in zip(LABELS.items(), counts, previous, strict=True))


def week(start: date, counts, previous=(0.7, 0.5, 0.95, 1.0), breakdowns=()):
    return WeekSummary(start, start + timedelta(days=6), kpis(counts, previous), breakdowns)


def seed_report(shop="小店", problems=None, history_weeks=4, recipients=("boss@example.com", "cs@example.com"),
                first_counts=(9, 10), first_previous=0.7) -> WeeklyReport:
    """The brief's seed week: 9/10 (70% last week), 1/2, 84/86, 6/6, with earlier weeks as history."""
    this = week(WEEK_START, (first_counts, (1, 2), (84, 86), (6, 6)), (first_previous, 0.5, 0.95, 1.0),
                breakdowns=(("售后纠纷类别", (("质量问题", 2), ("物流问题", 3))), ("退回原因", ())))
    earlier = tuple(week(WEEK_START - timedelta(days=7 * i), ((7, 10), (1, 2), (82, 86), (5, 6)))
                    for i in range(history_weeks - 1, 0, -1))
    if problems is None:
        problems = (
            OpenProblem("推广确认单", 3, "声明库存", "声明库存 5 大于库存 3, 会超卖", "promo.stock", "财务", "王芳",
                        datetime(2026, 11, 20, 14, 0)),
            OpenProblem("客服台账", 7, "是否解决", "纠纷未解决", "cs.unresolved", "客服", "李雷",
                        datetime(2026, 11, 21, 9, 0)),
            OpenProblem("客服台账", 5, "首次响应时间", "首次响应超过 10 分钟", "cs.late", "客服", "李雷",
                        datetime(2026, 11, 19, 9, 30)),
        )
    return WeeklyReport(shop, this, earlier + (this,), tuple(problems), tuple(recipients),
                        datetime(2026, 11, 22, 20, 0))


LABELS_EN = {"selection_pass": "Product pass rate", "promo_accuracy": "Promotion accuracy",
             "cs_response": "CS response rate", "dispute_resolution": "Dispute resolution rate"}


def english(report: WeeklyReport) -> WeeklyReport:
    """The seed report as the English template computes it: English labels, tabs, owners, messages."""
    def week_en(w: WeekSummary) -> WeekSummary:
        return replace(w, kpis=tuple(replace(k, label=LABELS_EN[k.key]) for k in w.kpis),
                       breakdowns=(("Dispute categories", (("quality", 2), ("logistics", 3))), ("Return reasons", ())))
    problems = (
        OpenProblem("Promotions", 3, "Declared stock", "Declared stock is 5, but the Inventory tab has only 3 of "
                    "LGD-S-300D: this will oversell.", "stock.oversell", "finance", "Lily", datetime(2026, 11, 20, 14)),
        OpenProblem("Customer service log", 7, "Resolved", "Not resolved yet.", "cs.unresolved", "service", "Tina",
                    datetime(2026, 11, 21, 9, 0)),
        OpenProblem("Settings", 0, "", "Unknown setting 'shop nmae', ignored.", "settings.unknown_key", "manager", "",
                    datetime(2026, 11, 19, 9, 30)),
    )
    return replace(report, shop="Sparkle Lab", week=week_en(report.week),
                   history=tuple(week_en(w) for w in report.history[:-1]) + (week_en(report.week),),
                   problems=problems)


def english_digest(unresolved=None) -> DailyDigest:
    if unresolved is None:
        unresolved = (UnresolvedInquiry(9, "Ms Zhang", "after-sales", "The stone wobbles, wants a refund", "Tina",
                                        datetime(2026, 11, 22, 15, 2)),)
    return replace(seed_digest(shop="Sparkle Lab", unresolved=unresolved),
                   by_type=(("product question", 7), ("after-sales", 3), ("promotion question", 2)))


def seed_digest(shop="小店", unresolved=None, recipients=("cs@example.com",)) -> DailyDigest:
    if unresolved is None:
        unresolved = (UnresolvedInquiry(9, "张女士", "售后问题", "戒指镶嵌松动, 要求退款", "李雷",
                                        datetime(2026, 11, 22, 15, 2)),)
    return DailyDigest(shop, date(2026, 11, 22), 12, 11, 5, (("产品咨询", 7), ("售后问题", 3), ("活动疑问", 2)),
                       tuple(unresolved), tuple(recipients), datetime(2026, 11, 22, 22, 0))
