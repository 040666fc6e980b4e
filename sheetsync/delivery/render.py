"""Turn a WeeklyReport / DailyDigest into a ready-to-store message: subject, plain text, HTML,
inline chart, and the short markdown the group bots get.

Everything is rendered in one language: the e-mail bodies are ``sheet_templates/<language>/
email_*.j2`` and the words composed here (subjects, bot text, dates) come from that language's
message catalogue (``messages/delivery.toml``). The templates only lay out values prepared
here, so every number is formatted in one place. Everything that comes from a cell is treated
as hostile: the HTML environment autoescapes, subjects lose CR/LF and control characters (no
header injection), and bot markdown has its active characters replaced by look-alikes.
"""

from __future__ import annotations

import functools
import hashlib
import re
import unicodedata
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Iterable, Sequence

import jinja2

from ..core.alerts import ESCALATION, AlertBatch, AlertItem
from ..core.model import DailyDigest, DueItem, Kpi, OpenProblem, WeeklyReport, WeekSummary
from ..i18n import DEFAULT_LANGUAGE, Catalogue, active, load_catalogue
from ..paths import templates_dir
from .chart import SERIES_COLORS, trend_chart_png
from .config import is_addr_spec

UP_COLOR = "#15803D"
DOWN_COLOR = "#B91C1C"
FLAT_COLOR = "#6B7280"

# characters that make markdown links, emphasis, headings, tables, HTML or @-mentions in the
# WeCom / DingTalk / Feishu renderers; each language names its look-alikes (delivery.fmt.md_lookalikes)
_MD_ACTIVE = "[]()<>@*_`#~|!\\"


def catalogue_of(language: Catalogue | str | None = None) -> Catalogue:
    """The catalogue to render in: given, named, or the edge's language."""
    if isinstance(language, Catalogue):
        return language
    return load_catalogue(language) if language else active()


@dataclass(frozen=True)
class InlineImage:
    cid: str  # Content-ID without the angle brackets; the HTML refers to it as cid:...
    data: bytes
    subtype: str = "png"


@dataclass(frozen=True)
class RenderedMessage:
    """One message, in every form a channel needs. ``key`` names it in the outbox and is the
    same for every render of the same (kind, shop, period), so is ``message_id``."""

    key: str  # "weekly-2026-11-16"
    kind: str  # "weekly" | "daily"
    message_id: str  # "<weekly-2026-11-16.3fa2c1d0e9ab@sheetsync>"
    subject: str
    text: str
    html: str
    images: tuple[InlineImage, ...]
    recipients: tuple[str, ...]
    bot_title: str
    bot_markdown: str
    # an alert: the 手机号 WeCom and DingTalk @mention; the 邮箱 a Feishu card @mentions in place of
    # ``mention`` (the "@name" the bot text starts with, which is all the others show)
    mobiles: tuple[str, ...] = ()
    mention: str = ""
    mention_email: str = ""


# ---------------------------------------------------------------------------------------------
# Cleaning cell text for the places it lands.


def clean_header(text: Any) -> str:
    """Text safe for a mail header: line breaks become spaces, other control characters go,
    runs of whitespace collapse. A shop name of '店\\r\\nBcc: x@y' cannot add a header."""
    out = []
    for ch in str(text or ""):
        cat = unicodedata.category(ch)
        if ch in "\r\n\t\v\f" or cat in ("Zl", "Zp"):
            out.append(" ")
        elif cat not in ("Cc", "Cf", "Cs"):
            out.append(ch)
    return re.sub(r"\s+", " ", "".join(out)).strip()


@functools.lru_cache(maxsize=8)
def _md_table(lookalikes: tuple[str, ...]) -> dict[int, str]:
    # a language file with too few look-alikes drops the unmatched characters rather than let them through
    return {ord(c): lookalikes[i] if i < len(lookalikes) else "" for i, c in enumerate(_MD_ACTIVE)}


def md_escape(text: Any, limit: int = 60, language: Catalogue | str | None = None) -> str:
    """Cell text for bot markdown: one line, no link/mention/emphasis syntax, no bare URL
    auto-linking, cut at ``limit`` characters. The look-alikes are the language's (full-width
    forms in Chinese text, Latin ones in English text)."""
    cat = catalogue_of(language)
    table = _md_table(tuple(cat.raw("delivery.fmt.md_lookalikes")))
    flat = clean_header(text).translate(table).replace("://", cat.text("delivery.fmt.md_scheme"))
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


# ---------------------------------------------------------------------------------------------
# Number and date formatting shared by subjects, templates and bots.


def fmt_number(x: float) -> str:
    """20.0 -> '20', 7.7 -> '7.7'."""
    rounded = round(x, 1)
    return str(int(rounded)) if rounded == int(rounded) else f"{rounded:.1f}"


def fmt_pct(value: float | None) -> str:
    return "—" if value is None else f"{fmt_number(value * 100)}%"


def fmt_kpi(kpi: Kpi, value: float | None) -> str:
    """A KPI's value as shown: '90%' for a rate, '6' for a count (售后纠纷数)."""
    if kpi.unit == "count":
        return "—" if value is None else fmt_number(value)
    return fmt_pct(value)


def kpi_counts(kpi: Kpi) -> str:
    return str(kpi.numerator) if kpi.unit == "count" else f"{kpi.numerator}/{kpi.denominator}"


def change_text(kpi: Kpi, language: Catalogue | str | None = None) -> str:
    """'+20', '−5', '持平', '首周' (or 'first week', '+20 pts'...), '' with no value this week;
    a count's change is a plain difference ('−6')."""
    if kpi.value is None:
        return ""
    cat = catalogue_of(language)
    points = kpi.change_points
    if points is None:
        return cat.text("delivery.fmt.change_first")
    if points == 0:
        return cat.text("delivery.fmt.change_flat")
    key = "delivery.fmt.count_" if kpi.unit == "count" else "delivery.fmt.change_"
    if points > 0:
        return cat.text(key + "up", points=fmt_number(points))
    return cat.text(key + "down", points=fmt_number(-points))


def change_color(kpi: Kpi) -> str:
    points = kpi.change_points
    if not points:
        return FLAT_COLOR
    good = points > 0 if kpi.better != "lower" else points < 0
    return UP_COLOR if good else DOWN_COLOR


def _date_params(cat: Catalogue, value: date | datetime) -> dict[str, Any]:
    months = cat.raw("delivery.fmt.months")
    params: dict[str, Any] = {"yyyy": f"{value.year:04d}", "mm": f"{value.month:02d}", "dd": f"{value.day:02d}",
                              "m": value.month, "d": value.day, "month": months[value.month - 1]}
    if isinstance(value, datetime):
        params.update(hh=f"{value.hour:02d}", mi=f"{value.minute:02d}")
    return params


def fmt_day(d: date, language: Catalogue | str | None = None) -> str:
    """'11.16' (zh-CN), 'Nov 16' (en)."""
    cat = catalogue_of(language)
    return cat.text("delivery.fmt.day", **_date_params(cat, d))


def fmt_chart_day(d: date, language: Catalogue | str | None = None) -> str:
    """A week under the chart: digits, '.' and '/' only (the chart's pixel font)."""
    cat = catalogue_of(language)
    return cat.text("delivery.fmt.chart_day", **_date_params(cat, d))


def fmt_when(value: Any, language: Catalogue | str | None = None) -> str:
    if isinstance(value, datetime):
        cat = catalogue_of(language)
        return cat.text("delivery.fmt.when", **_date_params(cat, value))
    return "" if value is None else str(value)


def fmt_period(start: date, end: date, language: Catalogue | str | None = None) -> str:
    cat = catalogue_of(language)
    return cat.text("delivery.fmt.period", start=fmt_day(start, cat), end=fmt_day(end, cat))


def kpi_phrase(kpi: Kpi, language: Catalogue | str | None = None) -> str:
    """'选品合格率 90%(+20)' as used in the weekly subject ('Product pass rate 90% (+20 pts)')."""
    cat = catalogue_of(language)
    change = change_text(kpi, cat)
    return cat.text("delivery.fmt.kpi_change" if change else "delivery.fmt.kpi", label=clean_header(kpi.label),
                    value=fmt_kpi(kpi, kpi.value), change=change)


def message_key(kind: str, period: date) -> str:
    return f"{kind}-{period.isoformat()}"


def message_id(kind: str, shop: str, period: date) -> str:
    """Stable Message-ID: the same (kind, shop, period) always gets the same one, so a mail
    client files a re-send as the same message and the outbox can recognise it."""
    digest = hashlib.sha256(f"{kind}\x1f{shop}\x1f{period.isoformat()}".encode()).hexdigest()[:12]
    return f"<{message_key(kind, period)}.{digest}@sheetsync>"


def _shop_prefix(shop: str, cat: Catalogue, escape: bool = False) -> str:
    name = md_escape(shop, 40, cat) if escape else clean_header(shop)
    return cat.text("delivery.fmt.shop_prefix", shop=name) if name else ""


# ---------------------------------------------------------------------------------------------
# Templates.


@functools.lru_cache(maxsize=8)
def _environment(html: bool, language: str = "zh-CN") -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader([str(templates_dir() / language), str(templates_dir() / DEFAULT_LANGUAGE)]),
        autoescape=html,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def _render(name: str, context: dict[str, Any], cat: Catalogue) -> tuple[str, str]:
    """(text, html) from ``<language>/<name>.txt.j2`` and ``<language>/<name>.html.j2``."""
    text = _environment(False, cat.language).get_template(f"{name}.txt.j2").render(context)
    html = _environment(True, cat.language).get_template(f"{name}.html.j2").render(context)
    return text, html


# ---------------------------------------------------------------------------------------------
# Weekly summary.


def _kpi_rows(kpis: Sequence[Kpi], cat: Catalogue) -> list[dict[str, Any]]:
    rates = [k for k in kpis if k.unit == "rate"]
    return [
        {
            "label": k.label,
            "value": fmt_kpi(k, k.value),
            "counts": kpi_counts(k),
            "previous": fmt_kpi(k, k.previous),
            "change": change_text(k, cat) or "—",
            "color": change_color(k),
            "arrow": "▲" if (k.change_points or 0) > 0 else ("▼" if (k.change_points or 0) < 0 else ""),
            "legend_color": SERIES_COLORS[rates.index(k) % len(SERIES_COLORS)] if k in rates else "",
            "rate": k.unit == "rate",  # only rates are drawn in the chart
        }
        for k in kpis
    ]


def _problem_groups(problems: Iterable[OpenProblem], per_owner: int, cat: Catalogue) -> list[dict[str, Any]]:
    """Open problems by owner (most first), oldest first within an owner, at most
    ``per_owner`` listed each; the rest are counted so the mail stays readable on a phone."""
    by_owner: dict[str, list[OpenProblem]] = defaultdict(list)
    for p in problems:
        by_owner[p.owner or p.owner_role or cat.text("delivery.weekly.unassigned")].append(p)
    groups = []
    for owner, items in sorted(by_owner.items(), key=lambda kv: (-len(kv[1]), kv[0])):
        items.sort(key=lambda p: (p.since is None, str(p.since or ""), p.tab, p.row))
        shown = [
            {"where": _where(p, cat), "message": p.message, "since": fmt_when(p.since, cat)}
            for p in items[:per_owner]
        ]
        groups.append({"owner": owner, "count": len(items), "problems": shown, "more": len(items) - len(shown)})
    return groups


def _where(p: OpenProblem, cat: Catalogue) -> str:
    if not p.row:
        return cat.text("delivery.weekly.where_tab", tab=p.tab)
    if not p.column:
        return cat.text("delivery.weekly.where_row", tab=p.tab, row=p.row)
    return cat.text("delivery.weekly.where_cell", tab=p.tab, row=p.row, column=p.column)


HISTORY_WEEKS = 12  # the trend: the reported week and the 11 before it, at most


def calendar_weeks(history: Sequence[WeekSummary]) -> list[tuple[date, WeekSummary | None]]:
    """The weeks of the trend, oldest first, ending with the reported one (the last of
    ``history``): every calendar week from the first with data among the last ``HISTORY_WEEKS``,
    a week without data as None — so a quiet week shows as a gap ("—"), never as its two
    neighbours side by side under "the last 3 weeks", and a row dated a year off adds nothing."""
    if not history:
        return []
    last = history[-1].week_start
    if any((last - w.week_start).days % 7 for w in history):  # weeks that do not start on one weekday
        return [(w.week_start, w) for w in history[-HISTORY_WEEKS:]]
    since = last - timedelta(weeks=HISTORY_WEEKS - 1)
    by_start = {w.week_start: w for w in history if w.week_start >= since}
    first = min(by_start)
    return [(monday, by_start.get(monday))
            for monday in (first + timedelta(weeks=i) for i in range((last - first).days // 7 + 1))]


def _history(history: Sequence[WeekSummary],
             cat: Catalogue) -> tuple[list[str], list[list[float | None]], list[dict[str, Any]], int]:
    """Chart labels, one series per KPI (keyed like the newest week's KPIs), table rows, one for
    every week of the trend (``calendar_weeks``), and how many of those weeks have data."""
    keys = [k.key for k in history[-1].kpis if k.unit == "rate"] if history else []  # the chart is 0-100%
    weeks = calendar_weeks(history)
    labels = [fmt_chart_day(monday, cat) for monday, _w in weeks]
    series: list[list[float | None]] = []
    for key in keys:
        values: list[float | None] = []
        for _monday, w in weeks:
            found = [k for k in w.kpis if k.key == key] if w is not None else []
            values.append(found[0].value if found else None)
        series.append(values)
    rows = [{"week": fmt_day(monday, cat), "values": [fmt_pct(s[i]) for s in series]}
            for i, (monday, _w) in enumerate(weeks)]
    return labels, series, rows, sum(w is not None for _monday, w in weeks)


def weekly_subject(report: WeeklyReport, language: Catalogue | str | None = None) -> str:
    cat = catalogue_of(language)
    week = report.week
    params = {"prefix": _shop_prefix(report.shop, cat), "period": fmt_period(week.week_start, week.week_end, cat)}
    if not week.kpis:
        return clean_header(cat.text("delivery.weekly.subject_no_kpi", **params))
    return clean_header(cat.text("delivery.weekly.subject", kpi=kpi_phrase(week.kpis[0], cat), **params))


def weekly_bot_markdown(report: WeeklyReport, language: Catalogue | str | None = None) -> str:
    cat = catalogue_of(language)
    lines = []
    for k in report.week.kpis:
        change = change_text(k, cat)
        lines.append(cat.text("delivery.weekly.bot_kpi_change" if change else "delivery.weekly.bot_kpi",
                              label=md_escape(k.label, language=cat), value=fmt_kpi(k, k.value),
                              counts=kpi_counts(k), change=change))
    lines.append(cat.text("delivery.weekly.bot_problems", count=len(report.problems)))
    return "\n".join(lines)


def render_weekly(report: WeeklyReport, language: Catalogue | str | None = None, *,
                  problems_per_owner: int = 20) -> RenderedMessage:
    """The weekly summary in ``language`` (a catalogue, a language name, or the edge's language):
    the words come from ``sheet_templates/<language>/``, the values from ``report``."""
    cat = catalogue_of(language)
    week = report.week
    key = message_key("weekly", week.week_start)
    subject = weekly_subject(report, cat)
    labels, series, history_rows, with_data = _history(report.history, cat)
    images: tuple[InlineImage, ...] = ()
    chart_cid = ""
    if with_data >= 2:
        chart_cid = f"trend.{message_id('weekly', report.shop, week.week_start)[1:-1]}"
        images = (InlineImage(chart_cid, trend_chart_png(labels, series)),)
    long_period = cat.text("delivery.fmt.long_period", start=f"{week.week_start:%Y-%m-%d}",
                           end=f"{week.week_end:%Y-%m-%d}")
    context = {
        "shop": report.shop,
        "subject": subject,
        "period": long_period,
        "kpis": _kpi_rows(week.kpis, cat),
        "kpi_labels": [k.label for k in week.kpis if k.unit == "rate"],
        "breakdowns": [{"name": name, "items": list(items)} for name, items in week.breakdowns],
        "problem_total": len(report.problems),
        "problem_groups": _problem_groups(report.problems, problems_per_owner, cat),
        "chart_cid": chart_cid,
        "history": history_rows,
        "generated_at": fmt_when(report.generated_at, cat),
        "colors": {"up": UP_COLOR, "down": DOWN_COLOR, "flat": FLAT_COLOR},
    }
    text, html = _render("email_weekly", context, cat)
    title = cat.text("delivery.weekly.bot_title", prefix=_shop_prefix(report.shop, cat, escape=True),
                     period=fmt_period(week.week_start, week.week_end, cat))
    return RenderedMessage(
        key=key,
        kind="weekly",
        message_id=message_id("weekly", report.shop, week.week_start),
        subject=subject,
        text=text,
        html=html,
        images=images,
        recipients=tuple(report.recipients),
        bot_title=_cut(title, 80),
        bot_markdown=weekly_bot_markdown(report, cat),
    )


def _cut(text: str, limit: int) -> str:
    flat = clean_header(text)
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


# ---------------------------------------------------------------------------------------------
# Daily customer-service digest.


def _response_rate(digest: DailyDigest) -> str:
    return fmt_pct(digest.answered_in_time / digest.inquiries if digest.inquiries else None)


def daily_subject(digest: DailyDigest, language: Catalogue | str | None = None) -> str:
    cat = catalogue_of(language)
    key = "delivery.daily.subject_waiting" if digest.waiting else "delivery.daily.subject"
    return clean_header(cat.text(key, prefix=_shop_prefix(digest.shop, cat), day=fmt_day(digest.day, cat),
                                 inquiries=digest.inquiries, unresolved=len(digest.unresolved),
                                 waiting=len(digest.waiting)))


def daily_bot_markdown(digest: DailyDigest, listed: int = 5, language: Catalogue | str | None = None) -> str:
    cat = catalogue_of(language)
    lines = [cat.text("delivery.daily.bot_summary", inquiries=digest.inquiries, in_time=digest.answered_in_time,
                      rate=_response_rate(digest), deals=digest.deals)]
    if digest.waiting:  # first: the customers nobody has answered yet
        lines.append(cat.text("delivery.daily.bot_waiting", count=len(digest.waiting)))
        for u in digest.waiting[:listed]:
            lines.append(cat.text("delivery.daily.bot_waiting_item", customer=md_escape(u.customer, 24, cat),
                                  type=md_escape(u.question_type, 20, cat), summary=md_escape(u.summary, language=cat),
                                  agent=md_escape(u.agent, 16, cat), asked=fmt_when(u.asked_at, cat)))
        if len(digest.waiting) > listed:
            lines.append(cat.text("delivery.daily.bot_more", count=len(digest.waiting) - listed))
    lines.append(cat.text("delivery.daily.bot_unresolved", count=len(digest.unresolved)))
    for u in digest.unresolved[:listed]:
        lines.append(cat.text("delivery.daily.bot_item", customer=md_escape(u.customer, 24, cat),
                              type=md_escape(u.question_type, 20, cat), summary=md_escape(u.summary, language=cat),
                              agent=md_escape(u.agent, 16, cat)))
    if len(digest.unresolved) > listed:
        lines.append(cat.text("delivery.daily.bot_more", count=len(digest.unresolved) - listed))
    if digest.due_tomorrow:
        lines.append(cat.text("delivery.daily.bot_due", count=len(digest.due_tomorrow)))
        for d in digest.due_tomorrow[:listed]:
            lines.append("  - " + _due_text(d, cat, escape=True))
        if len(digest.due_tomorrow) > listed:
            lines.append(cat.text("delivery.daily.bot_due_more", count=len(digest.due_tomorrow) - listed))
    lines += [md_escape(cat.text("delivery.cs.gap", start=a, end=b), 80, cat) for a, b in digest.duty_gaps]
    return "\n".join(lines)


def _due_text(d: DueItem, cat: Catalogue, escape: bool = False) -> str:
    def cell(text: Any, limit: int = 40) -> str:
        return md_escape(text, limit, cat) if escape else clean_header(text)

    label = cat.text("delivery.alert.label", label=cell(d.label, 60)) if d.label else ""
    return cat.text("delivery.daily.due_item", tab=cell(d.tab), row=d.row, label=label, column=cell(d.column),
                    when=cat.text("delivery.fmt.clock", **_date_params(cat, d.deadline)), owner=cell(d.owner, 30))


def render_daily(digest: DailyDigest, language: Catalogue | str | None = None) -> RenderedMessage:
    """The daily customer-service digest in ``language`` (see ``render_weekly``)."""
    cat = catalogue_of(language)
    subject = daily_subject(digest, cat)
    context = {
        "shop": digest.shop,
        "subject": subject,
        "day": f"{digest.day:%Y-%m-%d}",
        "inquiries": digest.inquiries,
        "answered_in_time": digest.answered_in_time,
        "response_rate": _response_rate(digest),
        "deals": digest.deals,
        "by_type": list(digest.by_type),
        "waiting": [
            {"row": u.row, "customer": u.customer, "question_type": u.question_type, "summary": u.summary,
             "agent": u.agent, "asked_at": fmt_when(u.asked_at, cat)}
            for u in digest.waiting
        ],
        "unresolved": [
            {"row": u.row, "customer": u.customer, "question_type": u.question_type, "summary": u.summary,
             "agent": u.agent, "asked_at": fmt_when(u.asked_at, cat)}
            for u in digest.unresolved
        ],
        "due": [_due_text(d, cat) for d in digest.due_tomorrow],
        "generated_at": fmt_when(digest.generated_at, cat),
        "duty_gaps": [cat.text("delivery.cs.gap", start=a, end=b) for a, b in digest.duty_gaps],
        "replies": [{"type": t, "reply": r} for t, r in digest.replies],
    }
    text, html = _render("email_daily", context, cat)
    title = cat.text("delivery.daily.bot_title", prefix=_shop_prefix(digest.shop, cat, escape=True),
                     day=fmt_day(digest.day, cat))
    return RenderedMessage(
        key=message_key("daily", digest.day),
        kind="daily",
        message_id=message_id("daily", digest.shop, digest.day),
        subject=subject,
        text=text,
        html=html,
        images=(),
        recipients=tuple(digest.recipients),
        bot_title=_cut(title, 80),
        bot_markdown=daily_bot_markdown(digest, language=cat),
    )


# ---------------------------------------------------------------------------------------------
# Alerts: one message per person per run, most urgent item first.

_MOBILE = re.compile(r"\+?[0-9][0-9 -]{4,19}")


def mention_mobile(text: str) -> str:
    """A 手机号 as the bots take it (digits, an optional +), or "" when the cell holds no number."""
    flat = clean_header(text)
    return re.sub(r"[ -]", "", flat) if _MOBILE.fullmatch(flat) else ""


def _clock_or_when(value: datetime, now: datetime, cat: Catalogue) -> str:
    if value.date() == now.date():
        return cat.text("delivery.fmt.clock", **_date_params(cat, value))
    return fmt_when(value, cat)


def _alert_line(item: AlertItem, now: datetime, cat: Catalogue, escape: bool) -> str:
    f = item.finding

    def cell(text: Any, limit: int = 200) -> str:
        return md_escape(text, limit, cat) if escape else clean_header(text)

    due = ""
    if item.kind == ESCALATION and item.told is not None:
        due = cat.text("delivery.alert.escalated", told=_clock_or_when(item.told, now, cat),
                       owners=cell(cat.join(item.owners) if item.owners else "", 60))
    elif f.deadline is not None:
        due = cat.text(f"delivery.alert.due_{'warn' if item.kind == 'warn' else 'error'}",
                       when=_clock_or_when(f.deadline, now, cat))
    kind = cat.text(f"delivery.alert.kind_{item.kind}")
    if not f.row:
        return cat.text("delivery.alert.item_tab", kind=kind, tab=cell(f.tab, 40), message=cell(f.message), due=due)
    label = cat.text("delivery.alert.label", label=cell(item.label, 60)) if item.label else ""
    return cat.text("delivery.alert.item", kind=kind, tab=cell(f.tab, 40), row=f.row, label=label,
                    message=cell(f.message), due=due)


def alert_key(batch: AlertBatch) -> str:
    return f"alert-{batch.id}"


def render_alert(batch: AlertBatch, *, shop: str, now: datetime, language: Catalogue | str | None = None,
                 listed: int = 20, bot_listed: int = 10) -> RenderedMessage:
    """One person's alerts: an e-mail to their 邮箱, and a group-bot text that @mentions their
    手机号 (``mobiles``) or, where a bot cannot, names them (``mention``)."""
    cat = catalogue_of(language)
    person = batch.person
    items = batch.items
    kind = cat.text(f"delivery.alert.kind_{items[0].kind}") if items else ""
    params = {"prefix": _shop_prefix(shop, cat), "kind": kind, "name": clean_header(person.name), "count": len(items)}
    subject = clean_header(cat.text("delivery.alert.subject", **params))
    shown, more = items[:listed], max(0, len(items) - listed)
    lines = [_alert_line(i, now, cat, escape=False) for i in shown]
    manager = bool(items) and all(i.kind == ESCALATION for i in items)
    context = {
        "shop": shop,
        "subject": subject,
        "hello": cat.text("delivery.alert.hello", name=clean_header(person.name)),
        "intro": cat.text("delivery.alert.intro_manager" if manager else "delivery.alert.intro"),
        "items": [{"kind": i.kind, "text": line} for i, line in zip(shown, lines, strict=True)],
        "more": cat.text("delivery.alert.more", count=more) if more else "",
        "footer": cat.text("delivery.alert.footer", when=fmt_when(now, cat)),
    }
    text, html = _render("email_alert", context, cat)
    name = md_escape(person.name, 24, cat)
    bot_lines = [cat.text("delivery.alert.bot_to", names=f"@{name}")]  # starts with the mention
    bot_lines += [f"- {_alert_line(i, now, cat, escape=True)}" for i in items[:bot_listed]]
    if len(items) > bot_listed:
        bot_lines.append(f"- {cat.text('delivery.alert.more', count=len(items) - bot_listed)}")
    title = cat.text("delivery.alert.bot_title", **{**params, "prefix": _shop_prefix(shop, cat, escape=True),
                                                    "name": name})
    key = alert_key(batch)
    digest = hashlib.sha256(f"alert\x1f{shop}\x1f{batch.id}".encode()).hexdigest()[:12]
    mobile = mention_mobile(person.mobile)
    return RenderedMessage(
        key=key,
        kind="alert",
        message_id=f"<{key}.{digest}@sheetsync>",
        subject=subject,
        text=text,
        html=html,
        images=(),
        recipients=(person.email,) if person.email else (),
        bot_title=_cut(title, 80),
        bot_markdown="\n".join(bot_lines),
        mobiles=(mobile,) if mobile else (),
        mention=f"@{name}",
        mention_email=person.email if is_addr_spec(person.email) else "",
    )
