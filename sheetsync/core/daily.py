"""The daily-digest job: the day's 客服台账 — inquiries, question types, what is still unresolved."""

from __future__ import annotations

from datetime import datetime, timedelta

import pandas as pd

from .job import JobContext, JobOutput
from .model import DailyDigest, UnresolvedInquiry
from .rules import RuleContext, plain, sla_met
from .weekly import recipients


def _text(value) -> str:
    """A cell of the digest as text ("" when empty); the cells it shows are names and choices."""
    value = plain(value)
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def digest_day(now: datetime, ctx: JobContext):
    """Today once the digest time (日报时间, default 22:00) has come, else yesterday."""
    today = now.date()
    return today if now.time() >= ctx.settings.daily_time else today - timedelta(days=1)


def daily_digest(ctx: JobContext) -> JobOutput:
    wb = ctx.workbook
    tab = next((t for t in wb.tabs.values() if t.template.key == "cs_log"), None)
    day = digest_day(ctx.now, ctx)
    empty = DailyDigest(ctx.settings.shop_name, day, 0, 0, 0, (), (), recipients(ctx), ctx.now)
    if tab is None or not tab.usable or tab.frame.empty or not tab.has("asked_at"):
        return JobOutput(daily=empty)
    asked = pd.to_datetime(tab.frame["asked_at"], errors="coerce")
    on_day = (asked.dt.date == day).fillna(False).astype(bool)
    rctx = RuleContext(wb, ctx.settings, ctx.now)
    in_time = 0
    if tab.has("answered_at"):
        try:
            _t, rule = wb.template.rule("cs.first_response")
            in_time = int((sla_met(tab, rule, rctx) & on_day).sum())
        except KeyError:
            in_time = 0
    deals = int(((tab.frame["deal"] == True).fillna(False) & on_day).sum()) if tab.has("deal") else 0  # noqa: E712
    by_type: tuple[tuple[str, int], ...] = ()
    if tab.has("type"):
        counts = tab.frame.loc[on_day.to_numpy(), "type"].dropna().value_counts()
        by_type = tuple(sorted(((str(k), int(v)) for k, v in counts.items()), key=lambda kv: (-kv[1], kv[0])))
    unresolved = []
    if tab.has("resolved"):
        open_rows = (tab.frame["resolved"] == False).fillna(False).astype(bool)  # noqa: E712
        open_rows &= (asked.dt.date <= day).fillna(True).astype(bool)
        for row in tab.frame.index[open_rows.to_numpy()]:
            cells = {c: _text(tab.frame.at[row, c]) if tab.has(c) else ""
                     for c in ("customer", "type", "summary", "agent")}
            when = None if pd.isna(asked.at[row]) else asked.at[row].to_pydatetime()
            unresolved.append(UnresolvedInquiry(int(row), cells["customer"], cells["type"], cells["summary"],
                                                cells["agent"], when))
    digest = DailyDigest(ctx.settings.shop_name, day, int(on_day.sum()), in_time, deals, by_type,
                         tuple(unresolved), recipients(ctx), ctx.now)
    return JobOutput(daily=digest)
