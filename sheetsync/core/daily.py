"""The daily-digest job: the day's 客服台账 — inquiries, question types, what is still unresolved."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, time, timedelta
from typing import Any

import pandas as pd

from .alerts import row_label
from .job import JobContext, JobOutput
from .cs_rules import reply_type
from .model import DailyDigest, DueItem, UnresolvedInquiry
from .roster import Roster
from .rules import RuleContext, empty_mask, plain, rule_scope, sla_frames, sla_met
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
    def inquiry(row: int) -> UnresolvedInquiry:
        cells = {c: _text(tab.frame.at[row, c]) if tab.has(c) else "" for c in ("customer", "type", "summary", "agent")}
        when = None if pd.isna(asked.at[row]) else asked.at[row].to_pydatetime()
        return UnresolvedInquiry(int(row), cells["customer"], cells["type"], cells["summary"], cells["agent"], when)

    done = pd.Series(False, index=tab.frame.index)
    if tab.has("resolved"):
        done = (tab.frame["resolved"] == True).fillna(False).astype(bool)  # noqa: E712
    waiting_rows = pd.Series(False, index=tab.frame.index)
    if tab.has("answered_at"):
        # asked by now (the digest's moment), no first reply yet: a customer who asked at 21:30 is here
        waiting_rows = (asked.notna() & (asked <= pd.Timestamp(ctx.now)) & empty_mask(tab, "answered_at")
                        & ~done).fillna(False).astype(bool)
    waiting = sorted((inquiry(int(r)) for r in tab.frame.index[waiting_rows.to_numpy()]),
                     key=lambda u: (u.asked_at is None, u.asked_at or datetime.min, u.row))
    unresolved = []
    if tab.has("resolved"):
        open_rows = (tab.frame["resolved"] == False).fillna(False).astype(bool)  # noqa: E712
        open_rows &= (asked.dt.date <= day).fillna(True).astype(bool) & ~waiting_rows
        unresolved = [inquiry(int(row)) for row in tab.frame.index[open_rows.to_numpy()]]
    digest = DailyDigest(ctx.settings.shop_name, day, int(on_day.sum()), in_time, deals, by_type,
                         tuple(unresolved), recipients(ctx), ctx.now, tuple(waiting),
                         due_on(day + timedelta(days=1), ctx))
    return JobOutput(daily=with_cs_team(digest, ctx))


def due_on(day, ctx: JobContext) -> tuple[DueItem, ...]:
    """What falls due on ``day``: every time limit (sla) whose end is still empty, every
    sign-off (due_before) still missing, with its deadline on that day, earliest first."""
    wb = ctx.workbook
    rctx = RuleContext(wb, ctx.settings, ctx.now)
    out: list[DueItem] = []
    for tab in wb.tabs.values():
        if not tab.usable or tab.frame.empty:
            continue
        for rule in tab.template.rules:
            if rule.job != "validate" or rule.kind not in ("sla", "due_before"):
                continue
            try:
                if rule.kind == "sla":
                    start, _end, _elapsed, deadline = sla_frames(tab, rule, rctx)
                    missing = empty_mask(tab, rule.params["end"])
                    column = rule.params["end"]
                else:
                    start = pd.to_datetime(tab.frame[rule.params["start"]], errors="coerce")
                    deadline = start - pd.Timedelta(getattr(ctx.settings, rule.params["setting"]))
                    missing = pd.Series(False, index=tab.frame.index)
                    for c in rule.params["columns"]:
                        missing |= empty_mask(tab, c)
                    column = rule.column
            except (KeyError, TypeError, ValueError):  # a column the tab lacks, a setting it cannot use
                continue
            rows = (start.notna() & missing & (deadline.dt.date == day)).fillna(False).astype(bool)
            rows &= rule_scope(tab, rule)
            role = rule.owner or tab.template.owner
            for row in tab.frame.index[rows.to_numpy()]:
                person = _owner_of(tab, rule, int(row))
                out.append(DueItem(tab.title, int(row), tab.header(column), row_label(tab, int(row)),
                                   deadline.at[row].to_pydatetime(), person or wb.owner_names(role)))
    return tuple(sorted(out, key=lambda d: (d.deadline, d.tab, d.row)))


def _owner_of(tab, rule, row: int) -> str:
    """The row's own person when the rule names a person column (``owner_column``), else ""."""
    col = getattr(rule, "owner_column", "") or ""
    if not col or not tab.has(col):
        return ""
    return _text(tab.frame.at[row, col])


TOP_TYPES = 3  # the digest shows the standard reply of this many most asked question types


def with_cs_team(digest: DailyDigest, ctx: JobContext) -> DailyDigest:
    """The digest with tomorrow's 排班 gaps (none while 排班 is empty) and, for the day's most
    asked question types, their standard reply from 话术."""
    s = ctx.settings
    roster = Roster.of_workbook(ctx.workbook)
    tomorrow = digest.day + timedelta(days=1)
    gaps: tuple[tuple[Any, Any], ...] = ()
    if roster.known and tomorrow not in s.rest_days:
        gaps = tuple((a.time(), "24:00" if b.time() == time(0) else b.time())
                     for a, b in roster.gaps(tomorrow, s.work_start, s.work_end))
    book = ctx.workbook.tabs.get("replies")
    replies: list[tuple[str, str]] = []
    log = ctx.workbook.tabs.get("cs_log")
    column = log.template.column("type") if log is not None and log.has("type") else None
    if book is not None and book.usable and book.has("type", "reply"):
        first: dict[str, str] = {}
        for t, r in zip(book.frame["type"], book.frame["reply"], strict=True):
            if isinstance(t, str) and isinstance(r, str) and r.strip():
                first.setdefault(reply_type(t, column), r.strip())
        for label, _n in digest.by_type:
            if reply_type(label, column) in first and len(replies) < TOP_TYPES:
                replies.append((label, first[reply_type(label, column)]))
    return replace(digest, duty_gaps=gaps, replies=tuple(replies))
