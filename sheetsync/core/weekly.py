"""The weekly-summary job: the KPIs of the template per Monday–Sunday week, the 周报 tab and its chart.

Weeks are computed from the data itself, so re-running for a week replaces that week's row. Rows
already in 周报 for weeks that no longer have data (old log rows archived away) are kept as they
are, and still serve as "last week" for the week after them.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta
from functools import partial
from typing import Any, Callable

import numpy as np
import pandas as pd

from . import parsing
from .job import JobContext, JobOutput
from .model import ChartSpec, Kpi, ReplaceTab, TabData, WeeklyReport, WeekSummary
from .rules import RuleContext, all_of, by_distinct, of_tabs, sla_met, sla_missed
from .rules_orders import feedback_rows, moment_ns
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
    """kpi key -> {week monday: (numerator, denominator)} for every week with data. Each KPI's
    counts depend on the content of its tabs only: with the run's memo of content-only results
    (``ctx.extras["rule_memo"]``) they are taken from there while those tabs are unchanged."""
    wb, tpl = ctx.workbook, ctx.workbook.template
    memo = ctx.extras.get("rule_memo")
    rctx = RuleContext(wb, ctx.settings, ctx.now)
    out: dict[str, dict[date, tuple[int, int]]] = {}
    for kpi in tpl.kpis:
        key = of_tabs((kpi.tab, kpi.num_tab, _rule_tab(tpl, kpi.sla)), "kpi", kpi.key)
        out[kpi.key] = _kept(memo, key, partial(_kpi_counts, ctx, kpi, rctx))
    return out


def _kept(memo: dict | None, key: tuple, make: Callable[[], dict]) -> dict:
    """``make()``, or what the memo of content-only results kept under ``key`` (a copy either way:
    the memo's own stays as it was made)."""
    if memo is not None and key in memo:
        return dict(memo[key])
    made = make()
    if memo is not None:
        memo[key] = dict(made)
    return made


def _rule_tab(tpl: Template, code: str | None) -> str | None:
    """The id of the tab whose rule ``code`` is (None for none, or a code no tab has)."""
    if not code:
        return None
    try:
        return tpl.rule(code)[0].key
    except KeyError:
        return None


def _kpi_counts(ctx: JobContext, kpi: Any, rctx: RuleContext) -> dict[date, tuple[int, int]]:
    """{week monday: (numerator, denominator)} of one KPI."""
    wb, tpl = ctx.workbook, ctx.workbook.template
    tab = wb.tab(kpi.tab)
    if not tab.usable or tab.frame.empty or not tab.has(kpi.date, *(c.column for c in kpi.exclude)):
        return {}
    counted = ~all_of(tab, kpi.exclude) if kpi.exclude else pd.Series(True, index=tab.frame.index)
    if kpi.num_tab:  # rows of another tab over the rows of this one (returns / orders)
        return _cross_tab_counts(ctx, kpi, tab, counted)
    if kpi.unit == "count" and not kpi.when:
        hit = pd.Series(True, index=tab.frame.index)
    elif kpi.sla:
        _t, rule = tpl.rule(kpi.sla)
        if not tab.has(*rule.columns_used()):
            return {}
        hit = sla_met(tab, rule, rctx)
    else:
        if not tab.has(*(c.column for c in kpi.when)):
            return {}
        hit = all_of(tab, kpi.when)
    weeks = _week_index(tab.frame[kpi.date])[counted.to_numpy()]
    frame = pd.DataFrame({"week": weeks, "hit": hit[counted.to_numpy()].astype(int)}).dropna(subset=["week"])
    grouped = frame.groupby("week")["hit"].agg(["sum", "count"])
    return {pd.Timestamp(wk).date(): (int(row["sum"]), int(row["count"])) for wk, row in grouped.iterrows()}


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
    return [(bd.label, _breakdown_rows(ctx, bd)) for bd in ctx.workbook.template.breakdowns]


def _breakdown_rows(ctx: JobContext, bd: Any) -> pd.Series | None:
    wb, tpl = ctx.workbook, ctx.workbook.template
    tab = wb.tab(bd.tab)
    if not (tab.usable and not tab.frame.empty and tab.has(bd.date, bd.by, *(c.column for c in bd.when))):
        return None
    mask = all_of(tab, bd.when)
    if bd.missed:  # the reasons people gave for the misses (late replies explained in 备注)
        _t, rule = tpl.rule(bd.missed)
        if not tab.has(*rule.columns_used()):
            return None
        mask &= sla_missed(tab, rule, RuleContext(wb, ctx.settings, ctx.now))
    picked = mask.to_numpy(dtype=bool)
    weeks = _week_index(tab.frame[bd.date])[picked]
    labels = _labels(tab.frame.loc[picked, bd.by])
    keep = (labels != "").to_numpy() & weeks.notna().to_numpy()
    return pd.Series(labels.to_numpy()[keep], index=pd.DatetimeIndex(weeks.to_numpy()[keep]))


def _breakdown_weeks_of(ctx: JobContext, bd: Any) -> dict[date, tuple[tuple[str, int], ...]]:
    return breakdown_weeks([(bd.label, _breakdown_rows(ctx, bd))])[0][1]


def weekly_breakdowns(ctx: JobContext) -> list[tuple[str, dict[date, tuple[tuple[str, int], ...]]]]:
    """``breakdown_weeks(breakdown_rows(ctx))``, each breakdown taken from the run's memo of
    content-only results while its tab is unchanged (see ``kpi_counts``)."""
    tpl, memo = ctx.workbook.template, ctx.extras.get("rule_memo")
    out = []
    for i, bd in enumerate(tpl.breakdowns):
        key = of_tabs((bd.tab, _rule_tab(tpl, bd.missed)), "breakdown", i, bd.label)
        out.append((bd.label, _kept(memo, key, partial(_breakdown_weeks_of, ctx, bd))))
    return out


def breakdown_counts(ctx: JobContext, monday: date,
                     rows: list[tuple[str, pd.Series | None]] | None = None) -> Breakdowns:
    """(label, ((text, rows), ...)) for each breakdown in the week of ``monday``, most rows first.
    ``rows``: ``breakdown_rows(ctx)``, computed once when several weeks are counted."""
    return tuple((label, per_week.get(monday, ()))
                 for label, per_week in breakdown_weeks(breakdown_rows(ctx) if rows is None else rows))


def breakdown_weeks(rows: list[tuple[str, pd.Series | None]]
                    ) -> list[tuple[str, dict[date, tuple[tuple[str, int], ...]]]]:
    """For each breakdown of ``breakdown_rows``: its label and, per week Monday with rows, its
    ((text, rows), ...), most rows first (then by text): every week counted in one pass."""
    out: list[tuple[str, dict[date, tuple[tuple[str, int], ...]]]] = []
    for label, labels in rows:
        per_week: dict[date, list[tuple[str, int]]] = {}
        if labels is not None and len(labels):
            week_codes, week_starts = pd.factorize(labels.index)
            text_codes, texts = pd.factorize(labels.to_numpy(dtype=object))
            pairs, n = np.unique(week_codes.astype(np.int64) * len(texts) + text_codes, return_counts=True)
            mondays = [pd.Timestamp(w).date() for w in week_starts]
            names = [str(t) for t in texts.tolist()]
            for pair, count in zip(pairs.tolist(), n.tolist(), strict=True):
                week, text = divmod(pair, len(texts))
                per_week.setdefault(mondays[week], []).append((names[text], count))
        out.append((label, {wk: tuple(sorted(counts, key=lambda kv: (-kv[1], kv[0])))
                            for wk, counts in per_week.items()}))
    return out


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


def feedback_counts(ctx: JobContext, monday: date) -> tuple[tuple[str, tuple[tuple[str, int | str], ...]], ...]:
    """The 周报's feedback columns for the ``quality_window`` days up to the week's end: the SKUs
    with the most problems (with their reasons) and each 供应商's selection pass rate."""
    return WeeklyFeedback(ctx).counts(monday)


class WeeklyFeedback:
    """``feedback_counts`` for any number of weeks: the feedback sources (``feedback_rows``) and
    the 选品检查表 are read once, each week counts the rows of its span."""

    def __init__(self, ctx: JobContext) -> None:
        self.ctx = ctx
        self.fb = fb = ctx.workbook.template.feedback
        if fb.top_label:
            table = feedback_rows(ctx.workbook, fb)
            named = table.sku != ""
            self.at = table.at[named]
            self.sku_codes, skus = pd.factorize(table.sku[named])
            self.skus = skus.tolist()
            rank = sorted(range(len(self.skus)), key=self.skus.__getitem__)
            self.sku_rank = np.empty(len(self.skus), dtype=np.int64)
            self.sku_rank[rank] = np.arange(len(self.skus))
            reasons = np.where(table.by[named] != "", table.by[named], table.source[named])
            reason_codes, reason_names = pd.factorize(reasons)
            self.reasons = reason_names.tolist()
            self.pairs = self.sku_codes.astype(np.int64) * max(1, len(self.reasons)) + reason_codes
        if fb.supplier_label:
            self.suppliers = SupplierChecks(ctx)

    def counts(self, monday: date) -> tuple[tuple[str, tuple[tuple[str, int | str], ...]], ...]:
        since, until = _feedback_span(monday, self.ctx.settings)
        out: list[tuple[str, tuple[tuple[str, int | str], ...]]] = []
        if self.fb.top_label:
            out.append((self.fb.top_label, self.top_skus(since, until)))
        if self.fb.supplier_label:
            out.append((self.fb.supplier_label, self.suppliers.between(since, until)))
        return tuple(out)

    def top_skus(self, since: datetime, until: datetime) -> tuple[tuple[str, int | str], ...]:
        """(SKU, "3 (质量问题 2、尺寸不符 1)") for the SKUs with the most problems dated in (since,
        until], most first (then by SKU); a problem's reason is its type, else its source."""
        lo, hi = np.searchsorted(self.at, [moment_ns(since), moment_ns(until)], side="right")
        codes = self.sku_codes[lo:hi]
        totals = np.bincount(codes, minlength=len(self.skus))
        present = np.flatnonzero(totals)
        ranked = present[np.lexsort((self.sku_rank[present], -totals[present]))][: self.fb.top]
        pairs, n = np.unique(self.pairs[lo:hi][np.isin(codes, ranked)], return_counts=True)
        width = max(1, len(self.reasons))
        per_sku: dict[int, list[tuple[str, int]]] = {}
        for pair, count in zip(pairs.tolist(), n.tolist(), strict=True):
            sku, reason = divmod(pair, width)
            per_sku.setdefault(sku, []).append((self.reasons[reason], count))
        tpl = self.ctx.workbook.template
        items: list[tuple[str, int | str]] = []
        for sku in ranked.tolist():
            reasons = sorted(per_sku[sku], key=lambda x: (-x[1], x[0]))
            parts = tpl.join(f"{k} {c}" for k, c in reasons)
            items.append((self.skus[sku], f"{int(totals[sku])} ({parts})"))
        return tuple(items)


def supplier_pass(ctx: JobContext, since: datetime, until: datetime) -> tuple[tuple[str, str], ...]:
    """(供应商, "80% (4/5)") for every 供应商 checked in [since, until), lowest rate first."""
    return SupplierChecks(ctx).between(since, until)


class SupplierChecks:
    """The 选品检查表 rows read once (date, 供应商, passed) for ``supplier_pass`` over many spans."""

    def __init__(self, ctx: JobContext) -> None:
        fb = ctx.workbook.template.feedback
        sel = ctx.workbook.tabs.get(fb.selection)
        self.names: list[str] = []
        if sel is None or not sel.usable or sel.frame.empty or not sel.has("supplier", "date"):
            self.when = np.empty(0, dtype="datetime64[ns]")
            self.codes = np.empty(0, dtype=np.int64)
            self.passed = np.empty(0, dtype=bool)
            return
        when = pd.to_datetime(sel.frame["date"], errors="coerce")
        passed = all_of(sel, fb.selection_pass) if fb.selection_pass else pd.Series(False, index=sel.frame.index)
        names = by_distinct(sel.frame["supplier"], parsing.normalize_text).to_numpy(dtype=object)
        named = np.array([isinstance(n, str) and n != "" for n in names.tolist()], dtype=bool)
        codes, uniques = pd.factorize(names[named])
        self.names = uniques.tolist()
        self.when = when.to_numpy()[named].astype("datetime64[ns]")
        self.codes = codes.astype(np.int64)
        self.passed = passed.to_numpy(dtype=bool)[named]

    def between(self, since: datetime, until: datetime) -> tuple[tuple[str, str], ...]:
        inside = (self.when >= moment_ns(since)) & (self.when < moment_ns(until))  # NaT is never inside
        codes = self.codes[inside]
        checked = np.bincount(codes, minlength=len(self.names))
        ok = np.bincount(codes[self.passed[inside]], minlength=len(self.names))
        tally = {self.names[i]: (int(ok[i]), int(checked[i])) for i in np.flatnonzero(checked).tolist()}
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
    breakdowns = weekly_breakdowns(ctx)  # every week counted at once
    feedback = WeeklyFeedback(ctx)  # the sources read once, each week counts its span
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
                              tuple((label, per_week.get(monday, ())) for label, per_week in breakdowns) +
                              feedback.counts(monday))
        by_week[monday] = summary
        result.append(summary)
    return result, kept


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
