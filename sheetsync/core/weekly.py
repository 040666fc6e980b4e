"""The weekly-summary job: the KPIs of the template per Monday–Sunday week, the 周报 tab and its chart.

Weeks are computed from the data itself, so re-running for a week replaces that week's row. Rows
already in 周报 for weeks that no longer have data (old log rows archived away) are kept as they
are, and still serve as "last week" for the week after them.
"""

from __future__ import annotations

import bisect
from dataclasses import replace
from datetime import date, datetime, timedelta
from typing import Any

import pandas as pd

from . import parsing
from .job import JobContext, JobOutput
from .model import ChartSpec, Kpi, ReplaceTab, TabData, WeeklyReport, WeekSummary
from .rules import RuleContext, all_of, by_distinct, sla_met, sla_missed
from .rules_orders import Problem, problems, problems_between
from .settings import Settings
from .state import SINCE_FORMAT
from .template import Template


def week_start(day: date) -> date:
    return day - timedelta(days=day.weekday())


def report_week(now: datetime, settings: Settings) -> date:
    """The week the summary is about: this week once its send time (周报时间, default Sunday
    20:00) has come, else the week before — so a catch-up run on Monday reports last week."""
    monday = week_start(now.date())
    send_at = datetime.combine(monday + timedelta(days=settings.weekly_weekday), settings.weekly_time)
    return monday if now >= send_at else monday - timedelta(days=7)


def _week_index(dates: pd.Series) -> pd.Series:
    d = pd.to_datetime(dates, errors="coerce").dt.normalize()
    return d - pd.to_timedelta(d.dt.day_of_week, unit="D")


def kpi_counts(ctx: JobContext) -> dict[str, dict[date, tuple[int, int]]]:
    """kpi key -> {week monday: (numerator, denominator)} for every week with data."""
    wb, tpl = ctx.workbook, ctx.workbook.template
    rctx = RuleContext(wb, ctx.settings, ctx.now)
    out: dict[str, dict[date, tuple[int, int]]] = {}
    for kpi in tpl.kpis:
        tab = wb.tab(kpi.tab)
        out[kpi.key] = {}
        if not tab.usable or tab.frame.empty or not tab.has(kpi.date, *(c.column for c in kpi.exclude)):
            continue
        counted = ~all_of(tab, kpi.exclude) if kpi.exclude else pd.Series(True, index=tab.frame.index)
        if kpi.num_tab:  # rows of another tab over the rows of this one (returns / orders)
            out[kpi.key] = _cross_tab_counts(ctx, kpi, tab, counted)
            continue
        if kpi.unit == "count" and not kpi.when:
            hit = pd.Series(True, index=tab.frame.index)
        elif kpi.sla:
            _t, rule = tpl.rule(kpi.sla)
            if not tab.has(*rule.columns_used()):
                continue
            hit = sla_met(tab, rule, rctx)
        else:
            if not tab.has(*(c.column for c in kpi.when)):
                continue
            hit = all_of(tab, kpi.when)
        weeks = _week_index(tab.frame[kpi.date])[counted.to_numpy()]
        frame = pd.DataFrame({"week": weeks, "hit": hit[counted.to_numpy()].astype(int)}).dropna(subset=["week"])
        grouped = frame.groupby("week")["hit"].agg(["sum", "count"])
        for wk, row in grouped.iterrows():
            out[kpi.key][pd.Timestamp(wk).date()] = (int(row["sum"]), int(row["count"]))
    return out


def _per_week(dates: pd.Series) -> dict[date, int]:
    weeks = _week_index(dates).dropna()
    return {pd.Timestamp(wk).date(): int(n) for wk, n in weeks.value_counts().items()}


def _cross_tab_counts(ctx: JobContext, kpi: Any, tab: Any, counted: pd.Series) -> dict[date, tuple[int, int]]:
    """{week: (rows of the numerator tab, rows of the KPI's tab)}: 退货 over 订单 of the week."""
    den = _per_week(tab.frame[kpi.date][counted.to_numpy()])
    other = ctx.workbook.tabs.get(kpi.num_tab)
    num: dict[date, int] = {}
    if other is not None and other.usable and not other.frame.empty and \
            other.has(kpi.num_date, *(c.column for c in kpi.when)):
        num = _per_week(other.frame[kpi.num_date][all_of(other, kpi.when).to_numpy()])
    return {wk: (num.get(wk, 0), den.get(wk, 0)) for wk in set(den) | set(num)}


def _labels(values: pd.Series) -> pd.Series:
    """Each cell's text as counted ("" for empty), normalised once per distinct value."""
    present = values.dropna()
    try:
        forms = {v: parsing.normalize_text(v) for v in pd.unique(present)}
    except TypeError:  # unhashable cells: one by one
        return values.map(lambda v: parsing.normalize_text(v) if v is not None and not pd.isna(v) else "")
    return values.map(forms).astype(object).fillna("")


Breakdowns = tuple[tuple[str, tuple[tuple[str, int], ...]], ...]


def breakdown_rows(ctx: JobContext) -> list[tuple[str, pd.Series | None]]:
    """For each breakdown of the template: its label and, per counted row (``when`` holds; for a
    ``missed`` breakdown, the SLA was missed), the row's week Monday (index) and its text in
    ``by`` (value), computed once for every week; None where the tab or a column is missing."""
    wb, tpl = ctx.workbook, ctx.workbook.template
    out: list[tuple[str, pd.Series | None]] = []
    for bd in tpl.breakdowns:
        tab = wb.tab(bd.tab)
        if not (tab.usable and not tab.frame.empty and tab.has(bd.date, bd.by, *(c.column for c in bd.when))):
            out.append((bd.label, None))
            continue
        mask = all_of(tab, bd.when)
        if bd.missed:  # the reasons people gave for the misses (late replies explained in 备注)
            _t, rule = tpl.rule(bd.missed)
            if not tab.has(*rule.columns_used()):
                out.append((bd.label, None))
                continue
            mask &= sla_missed(tab, rule, RuleContext(wb, ctx.settings, ctx.now))
        picked = mask.to_numpy(dtype=bool)
        weeks = _week_index(tab.frame[bd.date])[picked]
        labels = _labels(tab.frame.loc[picked, bd.by])
        keep = (labels != "").to_numpy() & weeks.notna().to_numpy()
        out.append((bd.label, pd.Series(labels.to_numpy()[keep], index=pd.DatetimeIndex(weeks.to_numpy()[keep]))))
    return out


def breakdown_counts(ctx: JobContext, monday: date,
                     rows: list[tuple[str, pd.Series | None]] | None = None) -> Breakdowns:
    """(label, ((text, rows), ...)) for each breakdown in the week of ``monday``, most rows first.
    ``rows``: ``breakdown_rows(ctx)``, computed once when several weeks are counted."""
    out = []
    for label, labels in (breakdown_rows(ctx) if rows is None else rows):
        counts: tuple[tuple[str, int], ...] = ()
        if labels is not None:
            week = labels[labels.index == pd.Timestamp(monday)]
            counts = tuple((str(k), int(v)) for k, v in week.value_counts().sort_index().items())
            counts = tuple(sorted(counts, key=lambda kv: (-kv[1], kv[0])))
        out.append((label, counts))
    return tuple(out)


# -- the 周报 tab ---------------------------------------------------------------------------------


def weekly_header(tpl: Template) -> tuple[str, ...]:
    wc = tpl.weekly_columns
    head = [wc["week"], wc["start"], wc["end"]]
    for k in tpl.kpis:
        head += [k.label, f"{k.label}·{wc['previous']}", f"{k.label}·{wc['change']}",
                 f"{k.label}·{k.count_label or wc['counts']}"]
    head += [b.label for b in tpl.breakdowns]
    head += [label for label in (tpl.feedback.top_label, tpl.feedback.supplier_label) if label]
    return tuple(head)


def week_label(monday: date) -> str:
    sunday = monday + timedelta(days=6)
    return f"{monday:%Y-%m-%d} ~ {sunday:%m-%d}"


def _existing_weeks(existing: TabData | None, header: tuple[str, ...], tpl: Template) -> dict[date, dict[str, Any]]:
    """Rows already in 周报: week monday -> {header: value}."""
    if existing is None or not existing.rows:
        return {}
    cols = [parsing.normalize_text(h) for h in existing.rows[0]]
    out: dict[date, dict[str, Any]] = {}
    for row in existing.rows[1:]:
        record = {cols[i]: row[i] for i in range(min(len(cols), len(row)))}
        try:
            start = parsing.parse_date(record.get(tpl.weekly_columns["start"]), year=2000)
        except parsing.CellParseError:
            continue
        if start is not None:
            out[week_start(start)] = record
    return out


def _ratio(value: Any) -> float | None:
    try:
        number = parsing.parse_number(value)
    except parsing.CellParseError:
        return None
    if number is None:
        return None
    return number / 100 if number > 1 else number


def _count(value: Any) -> float | None:
    try:
        return parsing.parse_number(value)
    except parsing.CellParseError:
        return None


# -- problems fed back to selection (issue 11) ----------------------------------------------------


def _feedback_span(monday: date, settings: Settings) -> tuple[datetime, datetime]:
    """The ``quality_window`` days up to the end of the week of ``monday``."""
    until = datetime.combine(monday + timedelta(days=7), datetime.min.time())
    return until - settings.quality_window, until


def feedback_counts(ctx: JobContext, monday: date, found: list[Problem] | None = None
                    ) -> tuple[tuple[str, tuple[tuple[str, int | str], ...]], ...]:
    """The 周报's feedback columns for the ``quality_window`` days up to the week's end: the SKUs
    with the most problems (with their reasons) and each 供应商's selection pass rate. ``found``:
    the problems of every reported week, read once (``problems``), oldest first."""
    tpl = ctx.workbook.template
    fb = tpl.feedback
    since, until = _feedback_span(monday, ctx.settings)
    out: list[tuple[str, tuple[tuple[str, int | str], ...]]] = []
    if fb.top_label:
        per_sku: dict[str, dict[str, int]] = {}
        week = (problems_between(found, since, until) if found is not None
                else problems(ctx.workbook, fb, since, until))
        for p in week:
            if p.sku:
                reasons = per_sku.setdefault(p.sku, {})
                reasons[p.by or p.source] = reasons.get(p.by or p.source, 0) + 1
        ranked = sorted(per_sku.items(), key=lambda kv: (-sum(kv[1].values()), kv[0]))[: fb.top]
        items: list[tuple[str, int | str]] = []
        for sku, reasons in ranked:
            parts = tpl.join(f"{k} {n}" for k, n in sorted(reasons.items(), key=lambda x: (-x[1], x[0])))
            items.append((sku, f"{sum(reasons.values())} ({parts})"))
        out.append((fb.top_label, tuple(items)))
    if fb.supplier_label:
        out.append((fb.supplier_label, supplier_pass(ctx, since, until)))
    return tuple(out)


def supplier_pass(ctx: JobContext, since: datetime, until: datetime) -> tuple[tuple[str, str], ...]:
    """(供应商, "80% (4/5)") for every 供应商 checked in [since, until), lowest rate first."""
    fb = ctx.workbook.template.feedback
    sel = ctx.workbook.tabs.get(fb.selection)
    if sel is None or not sel.usable or sel.frame.empty or not sel.has("supplier", "date"):
        return ()
    when = pd.to_datetime(sel.frame["date"], errors="coerce")
    inside = ((when >= pd.Timestamp(since)) & (when < pd.Timestamp(until))).fillna(False).astype(bool)
    passed = all_of(sel, fb.selection_pass) if fb.selection_pass else pd.Series(False, index=sel.frame.index)
    tally: dict[str, list[int]] = {}
    flags = inside.to_numpy(dtype=bool)
    names = by_distinct(sel.frame["supplier"][flags], parsing.normalize_text).tolist()
    for name, ok in zip(names, passed.to_numpy(dtype=bool)[flags].tolist(), strict=True):
        if isinstance(name, str) and name:
            t = tally.setdefault(name, [0, 0])
            t[0] += int(ok)
            t[1] += 1
    rows = sorted(tally.items(), key=lambda kv: (kv[1][0] / kv[1][1], kv[0]))
    return tuple((name, f"{round(100 * p / n, 1):g}% ({p}/{n})") for name, (p, n) in rows)


# the key of the weeks in the run's memo of content-only results (``ctx.extras["rule_memo"]``, kept by
# the shell between runs on an unchanged workbook): the weeks depend on the content and on which
# week is reported, not on the time of the run otherwise
WEEKS_MEMO = "@weekly"


def summaries(ctx: JobContext, existing: TabData | None) -> tuple[list[WeekSummary], dict[date, dict[str, Any]]]:
    last = report_week(ctx.now, ctx.settings)
    memo = ctx.extras.get("rule_memo")
    key = (WEEKS_MEMO, last.isoformat())
    if memo is not None and key in memo:
        weeks, kept = memo[key]
        return list(weeks), dict(kept)
    weeks, kept = _summaries(ctx, existing, last)
    if memo is not None:
        memo[key] = (tuple(weeks), dict(kept))
    return weeks, kept


def _summaries(ctx: JobContext, existing: TabData | None, last: date
               ) -> tuple[list[WeekSummary], dict[date, dict[str, Any]]]:
    tpl = ctx.workbook.template
    counts = kpi_counts(ctx)
    weeks = sorted({w for per in counts.values() for w in per if w <= last} | {last})
    kept = {w: r for w, r in _existing_weeks(existing, weekly_header(tpl), tpl).items() if w not in weeks}
    result: list[WeekSummary] = []
    by_week: dict[date, WeekSummary] = {}
    found = None
    breakdowns = breakdown_rows(ctx)  # every week's rows at once, sliced by week below
    if tpl.feedback.top_label and weeks:  # read once for every week, then sliced by date
        found = problems(ctx.workbook, tpl.feedback, _feedback_span(weeks[0], ctx.settings)[0],
                         _feedback_span(weeks[-1], ctx.settings)[1])
    ats = [p.at for p in found] if found is not None else []  # found is oldest first: sliced by bisection
    for monday in weeks:
        kpis = []
        for k in tpl.kpis:
            num, den = counts[k.key].get(monday, (0, 0))
            prev_week = monday - timedelta(days=7)
            previous = None
            if prev_week in by_week:
                previous = by_week[prev_week].kpi(k.key).value
            elif prev_week in kept:
                previous = _ratio(kept[prev_week].get(k.label)) if k.unit == "rate" else \
                    _count(kept[prev_week].get(k.label))
            kpis.append(Kpi(k.key, k.label, num, den, previous, k.unit, k.better))
        summary = WeekSummary(monday, monday + timedelta(days=6), tuple(kpis),
                              breakdown_counts(ctx, monday, breakdowns) +
                              feedback_counts(ctx, monday, _in_span(found, ats, *_feedback_span(monday, ctx.settings))))
        by_week[monday] = summary
        result.append(summary)
    return result, kept


def _in_span(found: list[Problem] | None, ats: list[datetime], since: datetime, until: datetime
             ) -> list[Problem] | None:
    """The problems of ``found`` dated in (since, until] (``ats``: their dates, once for all weeks)."""
    if found is None:
        return None
    return found[bisect.bisect_right(ats, since):bisect.bisect_right(ats, until)]


def weekly_tab(title: str, tpl: Template, weeks: list[WeekSummary], kept: dict[date, dict[str, Any]]) -> ReplaceTab:
    header = weekly_header(tpl)
    rows: dict[date, tuple[Any, ...]] = {}
    for monday, record in kept.items():
        rows[monday] = tuple(record.get(h) for h in header)
    for w in weeks:
        cells: list[Any] = [week_label(w.week_start), w.week_start, w.week_end]
        for k in w.kpis:
            change = k.change_points
            shown = str(k.numerator) if k.unit == "count" else f"{k.numerator}/{k.denominator}"
            cells += [k.value, k.previous, change, shown]
        for _label, counts in w.breakdowns:
            cells.append(tpl.join(f"{name} {n}" for name, n in counts))
        rows[w.week_start] = tuple(cells)
    ordered = [rows[m] for m in sorted(rows)]
    n_kpi = len(tpl.kpis)
    value_cols = tuple(4 + 4 * i for i, spec in enumerate(tpl.kpis) if spec.unit == "rate")  # the chart is 0-100%
    formats = [(2, "yyyy-mm-dd"), (3, "yyyy-mm-dd")]
    for i, spec in enumerate(tpl.kpis):
        if spec.unit == "count":
            formats += [(4 + 4 * i, "0"), (5 + 4 * i, "0"), (6 + 4 * i, "+0;-0;0")]
        else:
            formats += [(4 + 4 * i, "0.0%"), (5 + 4 * i, "0.0%"), (6 + 4 * i, "+0.0;-0.0;0.0")]
    chart = None
    if ordered:
        chart = ChartSpec(title, 1, value_cols, 2, len(ordered) + 1, f"A{len(ordered) + 4}")
    widths = (24, 11, 11) + (11, 11, 12, 12) * n_kpi + (28,) * (len(header) - 3 - 4 * n_kpi)
    return ReplaceTab(title, (header, *ordered), hidden=False, protected=True, column_widths=widths,
                      chart=chart, number_formats=tuple(formats))


def recipients(ctx: JobContext) -> tuple[str, ...]:
    if ctx.settings.weekly_recipients:
        return ctx.settings.weekly_recipients
    return tuple(dict.fromkeys(e for _n, _r, e in ctx.workbook.members() if e))


def weekly_summary(ctx: JobContext) -> JobOutput:
    title = ctx.workbook.owned_titles["weekly"]
    existing = ctx.workbook.snapshot.tabs.get(title)
    weeks, kept = summaries(ctx, existing)
    report = WeeklyReport(ctx.settings.shop_name, weeks[-1], tuple(weeks), (), recipients(ctx), ctx.now)
    return JobOutput(tabs=[weekly_tab(title, ctx.workbook.template, weeks, kept)], weekly=report,
                     state=reported_state(ctx, weeks[-1].week_start))


def reported_state(ctx: JobContext, monday: date) -> dict[str, dict[str, Any]]:
    """Remember the week 周报 has now reported (never going back to an earlier one): its misses
    are facts for the KPIs from now on, and leave 问题清单 unless someone can still act on them."""
    week = monday.isoformat()
    if ctx.state.reported and ctx.state.reported[0] >= week:
        return {}
    return {"reported": {"week": week, "at": ctx.now.strftime(SINCE_FORMAT)}}


def with_problems(report: WeeklyReport, problems) -> WeeklyReport:
    return replace(report, problems=tuple(problems))
