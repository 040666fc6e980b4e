"""The validate and reconcile-stock jobs: every rule of the template, on every tab."""

from __future__ import annotations

from datetime import date, datetime

from .cs_rules import attribute_on_duty
from .job import JobContext, JobOutput
from .model import paused_gc
from .rules import RuleContext, RuleResult, check_tab
from .state import SINCE_FORMAT, State


def reported_week(state: State) -> tuple[date, datetime] | None:
    """The last week 周报 reported, as the rules use it."""
    if not state.reported:
        return None
    week, at = state.reported
    return datetime.strptime(week, "%Y-%m-%d").date(), datetime.strptime(at, SINCE_FORMAT)


def _rule_context(ctx: JobContext) -> RuleContext:
    return RuleContext(ctx.workbook, ctx.settings, ctx.now, signed=dict(ctx.state.signed),
                       stock_export=ctx.extras.get("stock_export"),
                       stock_export_source=ctx.extras.get("stock_export_source", ""),
                       memo=ctx.extras.get("rule_memo"),
                       reported=reported_week(ctx.state), filled=dict(ctx.state.filled))


def _run(ctx: JobContext, job: str) -> RuleResult:
    rctx = _rule_context(ctx)
    result = RuleResult()
    for tab in ctx.workbook.tabs.values():
        result.extend(check_tab(tab, rctx, job=job))
    return result


def validate(ctx: JobContext) -> JobOutput:
    """Layout and parse problems, settings typos, and every `validate` rule."""
    with paused_gc():
        result = _run(ctx, "validate")
        findings = [*ctx.workbook.all_findings(), *ctx.settings.findings,
                    *attribute_on_duty(result.findings, _rule_context(ctx))]
    # a tab that could not be checked this time (a header renamed) keeps what it remembered
    signed = {k: v for k, v in ctx.state.signed.items() if k.partition("\x1f")[0] not in result.signed_tabs}
    signed.update(result.signed)
    # values filled in on a tab that could not be checked this time stay remembered
    checked = {t.template.key for t in ctx.workbook.tabs.values() if t.usable}
    filled = {k: v for k, v in ctx.state.filled.items() if k.partition("\x1f")[0] not in checked}
    filled.update(result.filled)
    return JobOutput(findings=findings, fills=result.fills, state={"signed": signed, "filled": filled})


def reconcile_stock(ctx: JobContext) -> JobOutput:
    """推广确认单 against 库存 (oversell, unknown SKU, price floor) and 库存 against the back-office export."""
    with paused_gc():
        result = _run(ctx, "reconcile-stock")
    return JobOutput(findings=result.findings)
