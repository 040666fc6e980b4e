"""Rule kinds of the customer-service team: 排班 (who is on duty, tomorrow's gaps), 话术 (the
reply book: blanks left to fill, question types without a reply) and the shop's policy facts
(a reply or a solution stating the other value of a 设置 fact).

Declared with ``@rule_kind`` like every kind (template data, listed in docs/templates.md); the
module is imported by the template reader so the registry is complete whenever a template is read.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Iterable

import pandas as pd

from . import parsing
from .model import PRIORITY_TIME, Finding
from .roster import Roster, shift_time
from .rules import (KINDS, Emit, Param, Rule, RuleContext, RuleResult, _WHEN, _picked, _raw, _rows, by_distinct,
                    empty_mask, found, rule_kind, rule_scope)

if TYPE_CHECKING:
    from .binding import BoundTab
    from .template import Column

_ROSTER = Param("roster", "tab", required=True, doc="the 排班 tab's id")


def _roster(ctx: RuleContext, rule: Rule) -> Roster:
    tab = ctx.workbook.tabs.get(rule.params["roster"])
    return Roster.of(tab)


def _manager_names(ctx: RuleContext) -> tuple[str, ...]:
    role = ctx.template.manager_role
    return tuple(ctx.workbook.names_for_role(role)) or ((role,) if role else ())


def _with_owners(f: Finding, owners: tuple[str, ...], owner_role: str = "") -> Finding:
    """The finding routed to ``owners`` (the people who must act on this row)."""
    return replace(f, owners=owners, owner_role=owner_role or f.owner_role)


def _sla_rule(ctx: RuleContext, code: str) -> Rule | None:
    try:
        return ctx.template.rule(code)[1]
    except KeyError:
        return None


# -- 排班 --------------------------------------------------------------------------------------


@rule_kind("shift_time", "`column` (a shift's start or end) is a time of day",
           emits=[Emit("", ("value",), doc="the cell cannot be read as a time of day (12:00, 12点, 下午1点)")])
def k_shift_time(tab: "BoundTab", rule: Rule, ctx: RuleContext) -> RuleResult:
    res = RuleResult()
    for row in _rows(~empty_mask(tab, rule.column)):
        try:
            shift_time(tab.raw_value(row, rule.column))
        except parsing.CellParseError:
            res.findings.append(found(tab, rule, row, rule.column, value=_raw(tab, row, rule.column)))
    return res


@rule_kind("duty_gaps", "tomorrow's working hours are covered by 排班 shifts (nothing is said while 排班 is empty)",
           emits=[Emit("", ("day", "start", "end"), severity="warn",
                       doc="nobody is on duty tomorrow from `{start}` to `{end}`: a warning to the manager, listed "
                           "(not painted), in the daily digest and alerted")])
def k_duty_gaps(tab: "BoundTab", rule: Rule, ctx: RuleContext) -> RuleResult:
    roster = Roster.of(tab)
    res = RuleResult()
    if not roster.known:
        return res
    tomorrow = ctx.now.date() + timedelta(days=1)
    if tomorrow in ctx.settings.rest_days:
        return res
    owners = _manager_names(ctx)
    for start, end in roster.gaps(tomorrow, ctx.settings.work_start, ctx.settings.work_end):
        f = Finding(tab.title, 0, "", 0, None, rule.code_for(), "", row_key=f"@{start:%Y-%m-%d %H:%M}",
                    owner_role=ctx.template.manager_role, job=rule.job, paint=False, tab_id=tab.template.key,
                    params={"tab": tab.title, "day": tomorrow, "start": start.time(), "end": _end_time(end)})
        # a warning: the manager can still arrange a shift before it starts
        res.findings.append(replace(_with_owners(f, owners), severity="warn", deadline=start))
    return res


def _end_time(end: datetime) -> Any:
    """A gap's end as a clock time; the end of the day reads 24:00."""
    return "24:00" if end.time() == datetime.min.time() else end.time()


@rule_kind("on_duty", "a late reply whose `agent` is empty is attributed to whoever 排班 has on duty at `at`; "
                      "in a gap it is the manager's",
           params=[Param("at", "column", required=True, doc="when the customer asked"),
                   Param("agent", "column", required=True, doc="the agent column (empty = not known)"),
                   _ROSTER,
                   Param("sla", "text", required=True,
                         doc="the code of the `sla` rule whose late rows are attributed")],
           emits=[Emit("", ("agents", "at"), priority=PRIORITY_TIME,
                       doc="the reply was late (the `sla` rule's late or overdue finding); `{agents}` were on duty "
                           "when the customer asked. Goes with that finding: same cell, same way out"),
                  Emit("nobody", ("at", "manager"), priority=PRIORITY_TIME,
                       doc="the reply was late and nobody was on duty (无人值班): the manager's, not an agent's")])
def k_on_duty(tab: "BoundTab", rule: Rule, ctx: RuleContext) -> RuleResult:
    res = RuleResult()
    roster = _roster(ctx, rule)
    sla = _sla_rule(ctx, rule.params["sla"])
    if not roster.known or sla is None or not tab.has(*sla.columns_used()):
        return res
    # the rows the sla rule itself reports late or overdue (a miss explained in 备注 is not reported)
    late_codes = {sla.code_for(""), sla.code_for("overdue")}
    late_rows = sorted({f.row for f in ctx.result(tab, sla).findings if f.code in late_codes})
    if not late_rows:
        return res
    mask = pd.Series(tab.frame.index.isin(late_rows), index=tab.frame.index)
    at = pd.to_datetime(tab.frame[rule.params["at"]], errors="coerce")
    mask &= empty_mask(tab, rule.params["agent"]) & at.notna()
    managers = _manager_names(ctx)
    for row, moment in _picked(mask, at):
        when = moment
        agents = roster.on_duty(when)
        if agents:
            f = found(tab, rule, row, rule.column, agents=agents, at=when)
            res.findings.append(_with_owners(f, agents))
        else:
            f = found(tab, rule, row, rule.column, "nobody", at=when, manager=managers)
            res.findings.append(_with_owners(f, managers, ctx.template.manager_role))
    return res


def attribute_on_duty(findings: list[Finding], ctx: RuleContext) -> list[Finding]:
    """Findings of an ``on_duty`` rule's `sla` rule (late, overdue, due soon) on rows whose agent is
    empty go to the agent on duty — now, for a reply still open, else when the customer asked — or
    to the manager when nobody is. Rows that name their agent keep their owners."""
    rules = [(tab, r) for tab in ctx.workbook.tabs.values() if tab.usable for r in tab.template.rules
             if r.kind == "on_duty" and tab.has(r.params["at"], r.params["agent"])]
    if not rules:
        return findings
    out = list(findings)
    for tab, rule in rules:
        roster = _roster(ctx, rule)
        if not roster.known:
            continue
        code = rule.params["sla"]
        sla = _sla_rule(ctx, code)
        answered = sla.params.get("end") if sla is not None else None
        managers = _manager_names(ctx)
        no_agent = empty_mask(tab, rule.params["agent"])  # once per rule, not per finding
        for i, f in enumerate(out):
            if f.tab_id != tab.template.key or not (f.code == code or f.code.startswith(code + ".")):
                continue
            if f.owners or f.row not in tab.frame.index or not bool(no_agent.at[f.row]):
                continue
            asked = pd.to_datetime(tab.frame.at[f.row, rule.params["at"]], errors="coerce")
            if pd.isna(asked):
                continue
            still_open = answered is not None and answered in tab.frame.columns and pd.isna(
                tab.frame.at[f.row, answered])
            agents = (roster.on_duty(ctx.now) if still_open else ()) or roster.on_duty(asked.to_pydatetime())
            out[i] = _with_owners(f, agents) if agents else _with_owners(f, managers, ctx.template.manager_role)
    return out


# -- 话术 ---------------------------------------------------------------------------------------

# A blank left to fill in a reply: a run of underscores (____), or a word made of x only (xxxx, XXX).
_BLANK = re.compile(r"_{3,}|(?<![A-Za-z])[xX]{2,}(?![A-Za-z])")


@rule_kind("no_placeholder", "`column` has no blank left to fill in (`____`, `xxxx`)",
           params=[_WHEN],
           emits=[Emit("", ("blanks",), doc="the text still has blanks; `{blanks}` are the ones found")])
def k_no_placeholder(tab: "BoundTab", rule: Rule, ctx: RuleContext) -> RuleResult:
    values = by_distinct(tab.frame[rule.column], lambda v: tuple(dict.fromkeys(_BLANK.findall(v))) or None)
    mask = values.notna() & rule_scope(tab, rule)
    return RuleResult([found(tab, rule, row, rule.column, blanks=blanks) for row, blanks in _picked(mask, values)])


@rule_kind("has_reply", "every question type in `column` has a standard reply in the 话术 tab (while it has rows)",
           params=[Param("replies", "tab", required=True, doc="the 话术 tab's id (its `type` column is compared)")],
           emits=[Emit("", ("value", "tab"), doc="no 话术 row for this question type (on the first row that has it)")])
def k_has_reply(tab: "BoundTab", rule: Rule, ctx: RuleContext) -> RuleResult:
    book = ctx.workbook.tabs.get(rule.params["replies"])
    res = RuleResult()
    if book is None or not book.usable or book.frame.empty or not book.has("type"):
        return res  # no reply book (or an empty one): nothing to compare with
    column = tab.template.column(rule.column)
    known = {reply_type(v, column) for v in book.frame["type"].dropna() if isinstance(v, str)}
    if book.has("reply"):
        known = {reply_type(t, column) for t, r in zip(book.frame["type"], book.frame["reply"], strict=True)
                 if isinstance(t, str) and isinstance(r, str) and r.strip()}
    seen: set[str] = set()
    folded = by_distinct(tab.frame[rule.column], _fold)  # once per distinct type, not per row
    for row, value, key in _picked(~empty_mask(tab, rule.column) & rule_scope(tab, rule), tab.frame[rule.column],
                                   folded):
        if not isinstance(value, str) or key in known or key in seen:
            continue
        seen.add(key)
        res.findings.append(found(tab, rule, row, rule.column, value=value, tab=book.title))
    return res


def _fold(value: Any) -> str:
    return parsing.normalize_text(value).replace(" ", "").lower()


def reply_type(value: Any, column: "Column | None") -> str:
    """A 话术 问题类型 in the comparison form of 客服台账's 问题类型: the choice it means when the
    column is a dropdown (产品咨询 and 'product question' are one type), else the text itself."""
    if column is not None and column.type == "choice":
        try:
            value = parsing.match_choice(value, column.choices, column.choice_aliases) or value
        except parsing.CellParseError:
            pass
    return _fold(value)


# -- policy facts --------------------------------------------------------------------------------


def _in_scope(text: str, scope: tuple[str, ...]) -> bool:
    folded = _fold(text)
    return not scope or any(_fold(s) in folded for s in scope)


def _stated(text: str, says: dict[str, str], scope: tuple[str, ...]) -> list[tuple[str, str]]:
    """(phrase, what it states) for each phrase of ``says`` in ``text``, longest phrases first so
    '需客户承担' is not also read as a shorter phrase inside it; nothing outside ``scope``."""
    folded = _fold(text)
    if not _in_scope(text, scope):
        return []
    out = []
    taken: list[tuple[int, int]] = []
    for phrase in sorted(says, key=len, reverse=True):
        key = _fold(phrase)
        start = folded.find(key)
        while key and start >= 0:
            span = (start, start + len(key))
            if not any(a < span[1] and span[0] < b for a, b in taken):
                taken.append(span)
                out.append((phrase, says[phrase]))
            start = folded.find(key, start + 1)
    return out


def _setting_name(ctx: RuleContext, setting: str) -> str:
    return next((s.name for s in ctx.template.settings if s.id == setting), setting)


@rule_kind("states_policy", "what `column` says about a policy fact agrees with the 设置 value "
                            "(e.g. who pays return shipping under 7天无理由)",
           params=[Param("setting", "setting", required=True, doc="the 设置 fact (empty = not checked)"),
                   Param("says", "phrase_map", required=True,
                         doc="phrase in the text -> the value of the fact it states"),
                   Param("scope", "texts", doc="only texts containing one of these phrases are about the fact "
                                                "(e.g. 7天无理由)"),
                   _WHEN],
           emits=[Emit("", ("stated", "meaning", "setting", "expected"),
                       doc="the text states `{meaning}` (`{stated}`) but 设置 `{setting}` is `{expected}`")])
def k_states_policy(tab: "BoundTab", rule: Rule, ctx: RuleContext) -> RuleResult:
    expected = parsing.normalize_text(getattr(ctx.settings, rule.params["setting"]))
    res = RuleResult()
    if not expected:
        return res
    says, scope = rule.params["says"], rule.params.get("scope", ())
    # the 设置 value as typed may be any phrase of the table (买家承担 / buyer pays): compare meanings
    meant = _fold(next((m for _p, m in _stated(expected, says, ())), expected))
    values = by_distinct(tab.frame[rule.column],
                         lambda v: [(p, m) for p, m in _stated(v, says, scope) if _fold(m) != meant] or None)
    mask = values.notna() & rule_scope(tab, rule)
    name = _setting_name(ctx, rule.params["setting"])
    for row, wrong in _picked(mask, values):
        phrase, meaning = wrong[0]
        res.findings.append(found(tab, rule, row, rule.column, stated=phrase, meaning=meaning, setting=name,
                                  expected=expected))
    return res


_RANGE = r"(\d+)(?:\s*(?:-|~|到|至|to)\s*(\d+))?\s*"


def _day_range(text: str, units: tuple[str, ...]) -> tuple[int, int] | None:
    words = "|".join(re.escape(parsing.normalize_text(u).lower()) for u in units)
    match = re.search(_RANGE + f"(?:{words})", parsing.normalize_text(text).lower())
    if not match:
        return None
    low = int(match[1])
    return low, int(match[2]) if match[2] else low


@rule_kind("states_days", "a number of days `column` states (8-25天) agrees with the 设置 value",
           params=[Param("setting", "setting", required=True, doc="the 设置 fact, e.g. 8-25天 (empty = not checked)"),
                   Param("unit", "texts", required=True, doc="the word after the number: 天 / days"),
                   Param("scope", "texts", doc="only texts containing one of these phrases state the fact"),
                   _WHEN],
           emits=[Emit("", ("stated", "setting", "expected"),
                       doc="the text states `{stated}` but 设置 `{setting}` is `{expected}`")])
def k_states_days(tab: "BoundTab", rule: Rule, ctx: RuleContext) -> RuleResult:
    expected = parsing.normalize_text(getattr(ctx.settings, rule.params["setting"]))
    unit, scope = rule.params["unit"], rule.params.get("scope", ())
    want = _day_range(expected, unit) if expected else None
    res = RuleResult()
    if want is None:
        return res

    def stated(text: str) -> str | None:
        if not _in_scope(text, scope):
            return None
        got = _day_range(text, unit)
        if got is None or got == want:
            return None
        return f"{got[0]}-{got[1]}" if got[0] != got[1] else str(got[0])

    values = by_distinct(tab.frame[rule.column], stated)
    name = _setting_name(ctx, rule.params["setting"])
    for row, text in _picked(values.notna() & rule_scope(tab, rule), values):
        res.findings.append(found(tab, rule, row, rule.column, stated=text, setting=name, expected=expected))
    return res


CS_KINDS: Iterable[str] = tuple(k for k in KINDS if KINDS[k].check.__module__ == __name__)
