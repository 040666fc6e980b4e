"""Turn a WeeklyReport / DailyDigest into a ready-to-store message: subject, plain text, HTML,
inline chart, and the short markdown the group bots get.

The templates (``sheet_templates/email_*.j2``) only lay out values prepared here, so every
number is formatted in one place. Everything that comes from a cell is treated as hostile:
the HTML environment autoescapes, subjects lose CR/LF and control characters (no header
injection), and bot markdown has its active characters replaced by look-alikes.
"""

from __future__ import annotations

import functools
import hashlib
import re
import unicodedata
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Iterable, Sequence

import jinja2

from ..core.model import DailyDigest, Kpi, OpenProblem, WeeklyReport, WeekSummary
from ..paths import templates_dir
from .chart import SERIES_COLORS, trend_chart_png

UP_COLOR = "#15803D"
DOWN_COLOR = "#B91C1C"
FLAT_COLOR = "#6B7280"
MINUS = "\u2212"
EN_DASH = "\u2013"

# characters that make markdown links, emphasis, headings, tables, HTML or @-mentions in the
# WeCom / DingTalk / Feishu renderers, mapped to their full-width look-alikes
_MD_ACTIVE = "[]()<>@*_`#~|!\\"
_MD_TABLE = str.maketrans({c: chr(ord(c) + 0xFEE0) for c in _MD_ACTIVE})


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


def md_escape(text: Any, limit: int = 60) -> str:
    """Cell text for bot markdown: one line, no link/mention/emphasis syntax, no bare URL
    auto-linking, cut at ``limit`` characters."""
    flat = clean_header(text).translate(_MD_TABLE).replace("://", "\uff1a//")
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


# ---------------------------------------------------------------------------------------------
# Number formatting shared by subjects, templates and bots.


def fmt_number(x: float) -> str:
    """20.0 -> '20', 7.7 -> '7.7'."""
    rounded = round(x, 1)
    return str(int(rounded)) if rounded == int(rounded) else f"{rounded:.1f}"


def fmt_pct(value: float | None) -> str:
    return "—" if value is None else f"{fmt_number(value * 100)}%"


def change_text(kpi: Kpi) -> str:
    """'+20', '−5', '持平', '首周' or '' (no value this week)."""
    if kpi.value is None:
        return ""
    points = kpi.change_points
    if points is None:
        return "首周"
    if points == 0:
        return "持平"
    return f"+{fmt_number(points)}" if points > 0 else f"{MINUS}{fmt_number(-points)}"


def change_color(kpi: Kpi) -> str:
    points = kpi.change_points
    if not points:
        return FLAT_COLOR
    return UP_COLOR if points > 0 else DOWN_COLOR


def fmt_day(d: date) -> str:
    return f"{d:%m.%d}"


def fmt_when(value: Any) -> str:
    return f"{value:%m-%d %H:%M}" if isinstance(value, datetime) else ("" if value is None else str(value))


def kpi_phrase(kpi: Kpi) -> str:
    """'选品合格率 90%(+20)' as used in the weekly subject."""
    change = change_text(kpi)
    return f"{clean_header(kpi.label)} {fmt_pct(kpi.value)}" + (f"({change})" if change else "")


def message_key(kind: str, period: date) -> str:
    return f"{kind}-{period.isoformat()}"


def message_id(kind: str, shop: str, period: date) -> str:
    """Stable Message-ID: the same (kind, shop, period) always gets the same one, so a mail
    client files a re-send as the same message and the outbox can recognise it."""
    digest = hashlib.sha256(f"{kind}\x1f{shop}\x1f{period.isoformat()}".encode()).hexdigest()[:12]
    return f"<{message_key(kind, period)}.{digest}@sheetsync>"


def _shop_prefix(shop: str) -> str:
    name = clean_header(shop)
    return f"【{name}】" if name else ""


# ---------------------------------------------------------------------------------------------
# Templates.


@functools.lru_cache(maxsize=8)
def _environment(html: bool, language: str = "zh-CN") -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader([str(templates_dir() / language), str(templates_dir() / "zh-CN")]),
        autoescape=html,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def _render(name: str, context: dict[str, Any]) -> tuple[str, str]:
    """(text, html) from ``<name>.txt.j2`` and ``<name>.html.j2``."""
    text = _environment(False).get_template(f"{name}.txt.j2").render(context)
    html = _environment(True).get_template(f"{name}.html.j2").render(context)
    return text, html


# ---------------------------------------------------------------------------------------------
# Weekly summary.


def _kpi_rows(kpis: Sequence[Kpi]) -> list[dict[str, Any]]:
    return [
        {
            "label": k.label,
            "value": fmt_pct(k.value),
            "counts": f"{k.numerator}/{k.denominator}",
            "previous": fmt_pct(k.previous),
            "change": change_text(k) or "—",
            "color": change_color(k),
            "arrow": "▲" if (k.change_points or 0) > 0 else ("▼" if (k.change_points or 0) < 0 else ""),
            "legend_color": SERIES_COLORS[i % len(SERIES_COLORS)],
        }
        for i, k in enumerate(kpis)
    ]


def _problem_groups(problems: Iterable[OpenProblem], per_owner: int) -> list[dict[str, Any]]:
    """Open problems by owner (most first), oldest first within an owner, at most
    ``per_owner`` listed each; the rest are counted so the mail stays readable on a phone."""
    by_owner: dict[str, list[OpenProblem]] = defaultdict(list)
    for p in problems:
        by_owner[p.owner or p.owner_role or "未分配"].append(p)
    groups = []
    for owner, items in sorted(by_owner.items(), key=lambda kv: (-len(kv[1]), kv[0])):
        items.sort(key=lambda p: (p.since is None, str(p.since or ""), p.tab, p.row))
        shown = [
            {"where": _where(p), "message": p.message, "since": fmt_when(p.since)}
            for p in items[:per_owner]
        ]
        groups.append({"owner": owner, "count": len(items), "problems": shown, "more": len(items) - len(shown)})
    return groups


def _where(p: OpenProblem) -> str:
    if not p.row:
        return f"「{p.tab}」"
    return f"「{p.tab}」第{p.row}行" + (f"「{p.column}」" if p.column else "")


def _history(history: Sequence[WeekSummary]) -> tuple[list[str], list[list[float | None]], list[dict[str, Any]]]:
    """Chart labels, one series per KPI (keyed like the newest week's KPIs), and table rows."""
    keys = [k.key for k in history[-1].kpis] if history else []
    labels = [fmt_day(w.week_start) for w in history]
    series: list[list[float | None]] = []
    for key in keys:
        values: list[float | None] = []
        for w in history:
            found = [k for k in w.kpis if k.key == key]
            values.append(found[0].value if found else None)
        series.append(values)
    rows = [{"week": labels[i], "values": [fmt_pct(s[i]) for s in series]} for i in range(len(history))]
    return labels, series, rows


def weekly_subject(report: WeeklyReport) -> str:
    week = report.week
    period = f"{fmt_day(week.week_start)}{EN_DASH}{fmt_day(week.week_end)}"
    lead = f" {kpi_phrase(week.kpis[0])}" if week.kpis else ""
    return clean_header(f"{_shop_prefix(report.shop)}周报 {period}{lead}")


def weekly_bot_markdown(report: WeeklyReport) -> str:
    lines = []
    for k in report.week.kpis:
        change = change_text(k)
        lines.append(
            f"- {md_escape(k.label)} **{fmt_pct(k.value)}** ({k.numerator}/{k.denominator}"
            + (f", {change}" if change else "") + ")"
        )
    lines.append(f"- 未解决问题 **{len(report.problems)}** 条")
    return "\n".join(lines)


def render_weekly(report: WeeklyReport, *, problems_per_owner: int = 20) -> RenderedMessage:
    week = report.week
    key = message_key("weekly", week.week_start)
    subject = weekly_subject(report)
    labels, series, history_rows = _history(report.history)
    images: tuple[InlineImage, ...] = ()
    chart_cid = ""
    if len(report.history) >= 2:
        chart_cid = f"trend.{message_id('weekly', report.shop, week.week_start)[1:-1]}"
        images = (InlineImage(chart_cid, trend_chart_png(labels, series)),)
    context = {
        "shop": report.shop,
        "subject": subject,
        "period": f"{week.week_start:%Y-%m-%d} {EN_DASH} {week.week_end:%Y-%m-%d}",
        "kpis": _kpi_rows(week.kpis),
        "kpi_labels": [k.label for k in week.kpis],
        "breakdowns": [{"name": name, "items": list(items)} for name, items in week.breakdowns],
        "problem_total": len(report.problems),
        "problem_groups": _problem_groups(report.problems, problems_per_owner),
        "chart_cid": chart_cid,
        "history": history_rows,
        "generated_at": fmt_when(report.generated_at),
        "colors": {"up": UP_COLOR, "down": DOWN_COLOR, "flat": FLAT_COLOR},
    }
    text, html = _render("email_weekly", context)
    title = md_escape(f"{_shop_prefix(report.shop)}周报 {fmt_day(week.week_start)}{EN_DASH}{fmt_day(week.week_end)}", 80)
    return RenderedMessage(
        key=key,
        kind="weekly",
        message_id=message_id("weekly", report.shop, week.week_start),
        subject=subject,
        text=text,
        html=html,
        images=images,
        recipients=tuple(report.recipients),
        bot_title=title,
        bot_markdown=weekly_bot_markdown(report),
    )


# ---------------------------------------------------------------------------------------------
# Daily customer-service digest.


def daily_subject(digest: DailyDigest) -> str:
    return clean_header(
        f"{_shop_prefix(digest.shop)}客服日报 {fmt_day(digest.day)} "
        f"咨询 {digest.inquiries} 条, 未解决 {len(digest.unresolved)} 条"
    )


def daily_bot_markdown(digest: DailyDigest, listed: int = 5) -> str:
    rate = fmt_pct(digest.answered_in_time / digest.inquiries if digest.inquiries else None)
    lines = [
        f"- 咨询 **{digest.inquiries}** 条, 按时响应 {digest.answered_in_time} 条 ({rate}), 成交 {digest.deals} 条",
        f"- 未解决 **{len(digest.unresolved)}** 条",
    ]
    for u in digest.unresolved[:listed]:
        lines.append(f"  - {md_escape(u.customer, 20)} ({md_escape(u.question_type, 10)}): {md_escape(u.summary)} · {md_escape(u.agent, 10)}")
    if len(digest.unresolved) > listed:
        lines.append(f"  - 另有 {len(digest.unresolved) - listed} 条, 见表格「客服台账」")
    return "\n".join(lines)


def render_daily(digest: DailyDigest) -> RenderedMessage:
    subject = daily_subject(digest)
    context = {
        "shop": digest.shop,
        "subject": subject,
        "day": f"{digest.day:%Y-%m-%d}",
        "inquiries": digest.inquiries,
        "answered_in_time": digest.answered_in_time,
        "response_rate": fmt_pct(digest.answered_in_time / digest.inquiries if digest.inquiries else None),
        "deals": digest.deals,
        "by_type": list(digest.by_type),
        "unresolved": [
            {"row": u.row, "customer": u.customer, "question_type": u.question_type, "summary": u.summary,
             "agent": u.agent, "asked_at": fmt_when(u.asked_at)}
            for u in digest.unresolved
        ],
        "generated_at": fmt_when(digest.generated_at),
    }
    text, html = _render("email_daily", context)
    return RenderedMessage(
        key=message_key("daily", digest.day),
        kind="daily",
        message_id=message_id("daily", digest.shop, digest.day),
        subject=subject,
        text=text,
        html=html,
        images=(),
        recipients=tuple(digest.recipients),
        bot_title=md_escape(f"{_shop_prefix(digest.shop)}客服日报 {fmt_day(digest.day)}", 80),
        bot_markdown=daily_bot_markdown(digest),
    )
