"""The monthly 客服绩效 e-mails: the manager gets the whole table, each agent only their own row.

Rendered like the weekly summary (``sheet_templates/<language>/email_scorecard.*.j2``, words from
``messages/cs.toml``); each message has a stable key and Message-ID per (month, recipient), so a
rerun of the month replaces a pending message and never sends a sent one again.
"""

from __future__ import annotations

import hashlib
from typing import Any

from ..core.model import Duration
from ..core.scorecard import AgentScore, ScorecardReport
from ..i18n import Catalogue
from ..i18n.cells import cell_text
from .render import (RenderedMessage, _cut, _date_params, _render, _shop_prefix, catalogue_of, clean_header, fmt_pct,
                     fmt_when)


def _month(report: ScorecardReport, cat: Catalogue) -> str:
    return cat.text("delivery.scorecard.month", **_date_params(cat, report.month))


def _row(a: AgentScore, cat: Catalogue) -> dict[str, Any]:
    def secs(value: float | None) -> str:
        return "—" if value is None else cat.duration(Duration(value))

    result = a.reason.params["result"] if a.reason is not None and a.result else None
    return {"agent": a.agent, "inquiries": a.inquiries, "median": secs(a.median), "p90": secs(a.p90),
            "within_limit": fmt_pct(a.within_limit), "within_reward": fmt_pct(a.within_reward),
            "counted": a.counted, "deals": a.deals, "conversion": fmt_pct(a.conversion), "complaints": a.complaints,
            "result": cell_text(result, cat) if result is not None else "", "result_kind": a.result,
            "reason": cell_text(a.reason, cat) if a.reason is not None else "", "is_shop": a.is_shop}


def _key(report: ScorecardReport, who: str = "") -> str:
    base = f"scorecard-{report.month:%Y-%m}"
    return f"{base}-{hashlib.sha256(who.encode()).hexdigest()[:8]}" if who else base


def _message_id(report: ScorecardReport, key: str) -> str:
    digest = hashlib.sha256(f"scorecard\x1f{report.shop}\x1f{key}".encode()).hexdigest()[:12]
    return f"<{key}.{digest}@sheetsync>"


def _message(report: ScorecardReport, cat: Catalogue, key: str, subject: str, rows: list[dict[str, Any]],
             recipients: tuple[str, ...], personal: bool) -> RenderedMessage:
    month = _month(report, cat)
    context = {"shop": report.shop, "subject": subject, "month": month, "rows": rows, "personal": personal,
               "generated_at": fmt_when(report.generated_at, cat)}
    text, html = _render("email_scorecard", context, cat)
    title = cat.text("delivery.scorecard.bot_title", prefix=_shop_prefix(report.shop, cat, escape=True), month=month)
    # pay is personal: the scorecard goes by e-mail only, never to the team's group chat (no bot text)
    return RenderedMessage(key=key, kind="scorecard", message_id=_message_id(report, key), subject=subject,
                           text=text, html=html, images=(), recipients=recipients, bot_title=_cut(title, 80),
                           bot_markdown="")


def render_scorecard(report: ScorecardReport, language: Catalogue | str | None = None) -> list[RenderedMessage]:
    """The manager's message (every agent, the shop row last), then one per agent with an e-mail
    address in 成员, holding that agent's row only. E-mail only: group bots get none of them."""
    cat = catalogue_of(language)
    prefix = _shop_prefix(report.shop, cat)
    month = _month(report, cat)
    rows = [_row(a, cat) for a in report.agents] + [_row(report.total, cat)]
    out = [_message(report, cat, _key(report), clean_header(cat.text("delivery.scorecard.subject", prefix=prefix,
                                                                        month=month)),
                    rows, tuple(report.recipients), personal=False)]
    for a in report.agents:
        if not a.email or not a.result:
            continue
        row = _row(a, cat)
        subject = clean_header(cat.text("delivery.scorecard.subject_agent", prefix=prefix, month=month,
                                        result=row["result"]))
        out.append(_message(report, cat, _key(report, a.agent), subject, [row], (a.email,), personal=True))
    return out
