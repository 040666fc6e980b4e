"""The cs-scorecard job: one 客服绩效 row per agent for a month, the shop's reward rule applied.

Per agent (客服台账 客服; an empty 客服 is whoever 排班 had on duty when the customer asked):
inquiries, median and 90th-percentile first response (working time, as the 客服首响 rule counts
it), the share answered within the limit and within the reward limit, 询单转化率 (成交 / the
inquiries of the counted question types), complaints (中差评 rows whose reason is a complaint
reason and which name the agent; 售后纠纷 rows marked 服务投诉, by their 客服 or else 负责人) and
the result of the rule in 设置: 处罚 when the complaints reach the penalty count, 奖励 when the
reward share, the conversion target and the allowed complaints are all met, else 无.

The median of an even count is the mean of the two middle values; the 90th percentile is the
nearest rank (the value at rank ⌈0.9·n⌉ of the sorted first responses), so both can be counted
by hand. The shop row (every inquiry) comes last. Rows of other months already in the tab are
kept; a rerun replaces the month's rows. Pure: words are Phrases, worded at the edge.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Iterable

import pandas as pd

from . import parsing
from .job import JobContext, JobOutput
from .model import Duration, Phrase, ReplaceTab, TabData
from .roster import Roster
from .rules import RuleContext, empty_mask, sla_frames
from .settings import Settings

RESULTS = ("reward", "penalty", "none")


@dataclass(frozen=True)
class AgentScore:
    agent: str  # the shop row: the template's shop label
    inquiries: int
    median: float | None  # seconds of first response
    p90: float | None
    within_limit: float | None  # share of inquiries answered within the 客服首响 limit
    within_reward: float | None  # ... within the reward limit
    counted: int  # inquiries of the counted question types
    deals: int  # of those, 是否成交 = 是
    complaints: int
    result: str = ""  # reward | penalty | none; "" for the shop row
    reason: Phrase | None = None
    email: str = ""
    is_shop: bool = False

    @property
    def conversion(self) -> float | None:
        return self.deals / self.counted if self.counted else None


@dataclass(frozen=True)
class ScorecardReport:
    shop: str
    month: date  # the first day of the month
    agents: tuple[AgentScore, ...]
    total: AgentScore
    recipients: tuple[str, ...]  # the manager(s): the whole table
    generated_at: Any


def month_start(day: date) -> date:
    return day.replace(day=1)


def previous_month(first: date) -> date:
    return (first - timedelta(days=1)).replace(day=1)


def next_month(first: date) -> date:
    return (first.replace(day=28) + timedelta(days=4)).replace(day=1)


def report_month(now: datetime, settings: Settings) -> date:
    """The month reported: last month once this month's scorecard time (客服绩效日期/时间,
    default the 1st at 09:00) has come, else the month before it."""
    this = month_start(now.date())
    due = datetime.combine(this.replace(day=settings.cs_scorecard_day), settings.cs_scorecard_time)
    return previous_month(this) if now >= due else previous_month(previous_month(this))


def month_label(first: date) -> str:
    return f"{first:%Y-%m}"


def _fold(value: Any) -> str:
    return parsing.normalize_text(value).replace(" ", "").lower() if isinstance(value, str) else ""


def _name(value: Any) -> str:
    return parsing.normalize_text(value) if isinstance(value, str) else ""


def _in_month(series: pd.Series, first: date) -> pd.Series:
    moments = pd.to_datetime(series, errors="coerce")
    lo, hi = pd.Timestamp(first), pd.Timestamp(next_month(first))
    return ((moments >= lo) & (moments < hi)).fillna(False).astype(bool)


def median_seconds(values: list[float]) -> float | None:
    return float(statistics.median(values)) if values else None


def p90_seconds(values: list[float]) -> float | None:
    """Nearest rank: the value at rank ⌈0.9·n⌉ of the sorted values."""
    if not values:
        return None
    ordered = sorted(values)
    return float(ordered[max(1, math.ceil(0.9 * len(ordered))) - 1])


@dataclass
class _Tally:
    rows: list[int] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    in_limit: int = 0
    in_reward: int = 0
    counted: int = 0
    deals: int = 0
    complaints: int = 0


def _pct(share: float | None) -> float:
    return round((share or 0.0) * 100, 1)


def judge(t: AgentScore, s: Settings) -> tuple[str, Phrase]:
    """The shop's rule on one agent's month: (result, the reason in a Phrase)."""
    reward_limit = Duration.of(s.cs_reward_limit, limit=True)
    share_ok = t.inquiries > 0 and (t.within_reward or 0.0) >= s.cs_reward_share
    if t.inquiries == 0:
        response = Phrase("scorecard.no_inquiries")
    else:
        response = Phrase("scorecard.response" if share_ok else "scorecard.response_low",
                          {"limit": reward_limit, "share": _pct(t.within_reward), "target": _pct(s.cs_reward_share)})
    conv = t.conversion
    conv_ok = conv is not None and conv >= s.cs_conversion_target
    if conv is None:
        conversion = Phrase("scorecard.conversion_none")
    else:
        conversion = Phrase("scorecard.conversion" if conv_ok else "scorecard.conversion_low",
                            {"rate": _pct(conv), "target": _pct(s.cs_conversion_target)})
    penalised = t.complaints >= s.cs_penalty_complaints
    complaints = Phrase("scorecard.complaints_many" if penalised else "scorecard.complaints",
                        {"n": t.complaints, "limit": s.cs_penalty_complaints})
    if penalised:
        result, outcome = "penalty", Phrase("scorecard.penalty", {"pct": _pct(s.cs_penalty)})
    elif share_ok and conv_ok and t.complaints <= s.cs_reward_max_complaints:
        result, outcome = "reward", Phrase("scorecard.reward", {"pct": _pct(s.cs_reward_bonus)})
    else:
        result, outcome = "none", Phrase("scorecard.none")
    return result, Phrase("scorecard.reason", {"response": response, "conversion": conversion,
                                               "complaints": complaints, "result": outcome})


def _complaints(ctx: JobContext, first: date) -> dict[str, int]:
    """agent name -> complaints of the month (中差评 with a complaint reason naming the agent,
    售后纠纷 marked as a service complaint)."""
    wb, s = ctx.workbook, ctx.settings
    out: dict[str, int] = {}
    reasons = {_fold(r) for r in s.cs_complaint_reasons}
    reviews = wb.tabs.get("reviews")
    if reviews is not None and reviews.usable and reviews.has("posted_at", "reason", "agent") and reasons:
        f = reviews.frame
        hit = _in_month(f["posted_at"], first) & f["reason"].map(_fold).isin(reasons)
        for name in f.loc[hit.to_numpy(), "agent"]:
            if _name(name):
                out[_name(name)] = out.get(_name(name), 0) + 1
    disputes = wb.tabs.get("disputes")
    if disputes is not None and disputes.usable and disputes.has("received_at", "service_complaint"):
        f = disputes.frame
        hit = _in_month(f["received_at"], first) & (f["service_complaint"] == True).fillna(False)  # noqa: E712
        for row in f.index[hit.to_numpy()]:
            name = _name(f.at[row, "agent"]) if disputes.has("agent") else ""
            if not name and disputes.has("handler"):
                name = _name(f.at[row, "handler"])
            if name:
                out[name] = out.get(name, 0) + 1
    return out


def scores(ctx: JobContext, first: date) -> tuple[list[AgentScore], AgentScore]:
    wb, s = ctx.workbook, ctx.settings
    labels = wb.template.owned["scorecard"].labels if "scorecard" in wb.template.owned else {}
    tallies: dict[str, _Tally] = {}
    shop = _Tally()
    nobody = labels.get("nobody", "")
    tab = wb.tabs.get("cs_log")
    if tab is not None and tab.usable and not tab.frame.empty and tab.has("asked_at"):
        f = tab.frame
        in_month = _in_month(f["asked_at"], first)
        asked = pd.to_datetime(f["asked_at"], errors="coerce")
        seconds = pd.Series(float("nan"), index=f.index)
        limit_ok = pd.Series(False, index=f.index)
        try:
            _t, rule = wb.template.rule("cs.first_response")
        except KeyError:
            rule = None
        if rule is not None and tab.has(*rule.columns_used()):
            start, end, elapsed, _deadline = sla_frames(tab, rule, RuleContext(wb, s, ctx.now))
            answered = (start.notna() & end.notna() & (end >= start)).fillna(False).astype(bool)
            seconds = elapsed.dt.total_seconds().where(answered)
            limit_ok = (answered & (elapsed <= pd.Timedelta(getattr(s, rule.params["setting"])))).fillna(False)
        counted_types = {_fold(x) for x in s.cs_conversion_types}
        counted = f["type"].map(_fold).isin(counted_types) if tab.has("type") else pd.Series(False, index=f.index)
        deals = (f["deal"] == True).fillna(False) if tab.has("deal") else pd.Series(False, index=f.index)  # noqa: E712
        no_agent = empty_mask(tab, "agent") if tab.has("agent") else pd.Series(True, index=f.index)
        roster = Roster.of_workbook(wb)
        reward = s.cs_reward_limit.total_seconds()
        for row in f.index[in_month.to_numpy()]:
            if tab.has("agent") and not bool(no_agent.at[row]):
                agent = _name(f.at[row, "agent"])
            elif roster.known:
                on_duty = roster.on_duty(asked.at[row].to_pydatetime())
                agent = on_duty[0] if on_duty else nobody
            else:
                agent = ""
            for t in (shop, tallies.setdefault(agent, _Tally()) if agent else None):
                if t is None:
                    continue
                t.rows.append(int(row))
                sec = seconds.at[row]
                if not pd.isna(sec):
                    t.seconds.append(float(sec))
                    t.in_reward += int(sec <= reward)
                t.in_limit += int(bool(limit_ok.at[row]))
                if bool(counted.at[row]):
                    t.counted += 1
                    t.deals += int(bool(deals.at[row]))
    for name, n in _complaints(ctx, first).items():
        tallies.setdefault(name, _Tally()).complaints += n
        shop.complaints += n
    emails = {n: e for n, _r, e in wb.members() if e}
    cs_names = [n for n, r, _e in wb.members() if r == wb.tabs["cs_log"].template.owner] if "cs_log" in wb.tabs else []
    order = [n for n in cs_names if n in tallies] + sorted(n for n in tallies if n not in cs_names and n != nobody)
    if nobody and nobody in tallies:
        order.append(nobody)
    agents = []
    for name in order:
        score = _score(name, tallies[name])
        if name == nobody:
            agents.append(score)  # the manager's rows: shown, never judged nor mailed
            continue
        result, reason = judge(score, s)
        agents.append(AgentScore(**{**score.__dict__, "result": result, "reason": reason,
                                    "email": emails.get(name, "")}))
    total = AgentScore(**{**_score(labels.get("shop", ""), shop).__dict__, "is_shop": True})
    return agents, total


def _score(name: str, t: _Tally) -> AgentScore:
    n = len(t.rows)
    return AgentScore(name, n, median_seconds(t.seconds), p90_seconds(t.seconds),
                      t.in_limit / n if n else None, t.in_reward / n if n else None, t.counted, t.deals, t.complaints)


def score_row(month: date, a: AgentScore) -> tuple[Any, ...]:
    return (month_label(month), a.agent, a.inquiries,
            Duration(a.median) if a.median is not None else None, Duration(a.p90) if a.p90 is not None else None,
            a.within_limit, a.within_reward, a.counted, a.deals, a.conversion, a.complaints, _result_cell(a),
            a.reason)


def _result_cell(a: AgentScore) -> Any:
    if not a.result or a.reason is None:
        return None
    return a.reason.params["result"]


def _kept_rows(existing: TabData | None, month: date) -> list[tuple[Any, ...]]:
    """Rows of other months already in the tab (a rerun replaces only its own month's)."""
    if existing is None or len(existing.rows) < 2:
        return []
    label = month_label(month)
    out = []
    for row in existing.rows[1:]:
        if not row or not any(v not in (None, "") for v in row):
            continue
        first = row[0]
        text = f"{first:%Y-%m}" if isinstance(first, (date, datetime)) else parsing.normalize_text(first)
        if text != label:
            out.append(tuple(row))
    return out


def _month_key(row: Iterable[Any]) -> str:
    first = next(iter(row), "")
    return f"{first:%Y-%m}" if isinstance(first, (date, datetime)) else parsing.normalize_text(first)


def scorecard_tab(title: str, header: tuple[str, ...], month: date, agents: list[AgentScore],
                  total: AgentScore | None, existing: TabData | None) -> ReplaceTab:
    mine = [score_row(month, a) for a in [*agents, *([total] if total is not None else [])]]
    kept = _kept_rows(existing, month)
    width = len(header)
    rows = sorted([tuple(list(r)[:width]) + (None,) * (width - len(r)) for r in kept] + mine,
                  key=lambda r: _month_key(r))  # stable: a month's rows keep their order, shop row last
    formats = ((6, "0.0%"), (7, "0.0%"), (10, "0.0%"))
    widths = (9, 10, 8, 11, 10, 11, 13, 8, 8, 11, 8, 12, 60)[:width]
    return ReplaceTab(title, (tuple(header), *rows), protected=True, column_widths=widths, number_formats=formats)


def manager_recipients(ctx: JobContext) -> tuple[str, ...]:
    role = ctx.workbook.template.manager_role
    found = tuple(dict.fromkeys(e for _n, r, e in ctx.workbook.members() if r == role and e))
    return found or ctx.settings.weekly_recipients


def cs_scorecard(ctx: JobContext) -> JobOutput:
    tpl = ctx.workbook.template
    if "scorecard" not in tpl.owned:
        return JobOutput()
    owned = tpl.owned["scorecard"]
    month = report_month(ctx.now, ctx.settings)
    agents, total = scores(ctx, month)
    title = ctx.workbook.owned_titles.get("scorecard", owned.title)
    existing = ctx.workbook.snapshot.tabs.get(title)
    if not agents and not total.inquiries and not total.complaints:  # nothing happened that month: no rows, no mail
        return JobOutput(tabs=[scorecard_tab(title, owned.header, month, [], None, existing)])
    tab = scorecard_tab(title, owned.header, month, agents, total, existing)
    report = ScorecardReport(ctx.settings.shop_name, month, tuple(agents), total, manager_recipients(ctx), ctx.now)
    return JobOutput(tabs=[tab], scorecard=report)
