"""Rule kinds: each compiles a template rule into vectorised pandas masks over a bound tab.

``check_tab`` is pure: (bound tab, rules, context) -> findings, cell fills (routing) and state
entries (what signed rows said). Only the rows a mask flags are turned into Python objects, so a
million clean rows cost a handful of numpy operations per rule.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Callable, Iterable

import numpy as np
import pandas as pd

from . import parsing
from .model import Finding, FillValue
from .settings import Settings
from .template import Condition, Rule, Template
from .binding import BoundTab, BoundWorkbook
from .worktime import WorkClock

log = logging.getLogger(__name__)


@dataclass
class RuleContext:
    workbook: BoundWorkbook
    settings: Settings
    now: datetime  # naive shop time
    signed: dict[str, dict[str, Any]] = field(default_factory=dict)  # state: "tab\x1frow_key" -> record
    stock_export: dict[str, float] | None = None  # back-office export: SKU (upper) -> count
    stock_export_source: str = ""

    @property
    def template(self) -> Template:
        return self.workbook.template

    def clock(self, kind: str) -> WorkClock:
        return self.settings.clock() if kind == "work" else WorkClock()


@dataclass
class RuleResult:
    findings: list[Finding] = field(default_factory=list)
    fills: list[FillValue] = field(default_factory=list)
    signed: dict[str, dict[str, Any]] = field(default_factory=dict)
    signed_tabs: set[str] = field(default_factory=set)  # tabs whose signed records were re-evaluated

    def extend(self, other: "RuleResult") -> None:
        self.findings.extend(other.findings)
        self.fills.extend(other.fills)
        self.signed.update(other.signed)
        self.signed_tabs |= other.signed_tabs


# ---------------------------------------------------------------------------------------------
# formatting for messages


def fmt_value(value: Any, empty: str = "(空)", join: str = "、") -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA or value is pd.NaT:
        return empty
    if isinstance(value, (datetime, pd.Timestamp)):
        return fmt_dt(value)
    if isinstance(value, tuple):
        return join.join(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def fmt_dt(value: Any) -> str:
    if value is None or value is pd.NaT:
        return ""
    ts = pd.Timestamp(value)
    if ts.hour == 0 and ts.minute == 0 and ts.second == 0:
        return ts.strftime("%Y-%m-%d")
    return ts.strftime("%Y-%m-%d %H:%M")


def fmt_limit(delta: timedelta, template: Template) -> str:
    """A configured limit, in the unit people set it in: 10分钟, 24小时, 2天."""
    m = template.messages
    minutes = delta.total_seconds() / 60
    sep = "" if m.get("day", "天") == "天" else " "
    if minutes < 60 or not float(minutes / 60).is_integer():
        return f"{minutes:g}{sep}{m.get('minute', '分钟')}"
    hours = minutes / 60
    if hours < 48 or not float(hours / 24).is_integer():
        return f"{hours:g}{sep}{m.get('hour', '小时')}"
    return f"{hours / 24:g}{sep}{m.get('day', '天')}"


def fmt_duration(delta: timedelta, template: Template) -> str:
    """A measured duration: 5分钟, 1天2小时30分钟."""
    m = template.messages
    minutes = int(round(delta.total_seconds() / 60))
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    parts = []
    if days:
        parts.append(f"{days}{m.get('day', '天')}")
    if hours:
        parts.append(f"{hours}{m.get('hour', '小时')}")
    if mins or not parts:
        parts.append(f"{mins}{m.get('minute', '分钟')}")
    return "".join(parts) if m.get("day", "天") == "天" else " ".join(parts)


# ---------------------------------------------------------------------------------------------
# masks


def empty_mask(tab: BoundTab, col: str) -> pd.Series:
    values = tab.frame[col]
    if tab.template.column(col).type == "sku_list":
        return values.map(lambda v: not v if isinstance(v, tuple) else True).astype(bool) & ~tab.bad[col]
    return values.isna().to_numpy() & ~tab.bad[col]


def _literal(tab: BoundTab, col: str, text: str) -> Any:
    ctype = tab.template.column(col).type
    if ctype == "bool":
        return parsing.parse_bool(text)
    if ctype in ("int", "number"):
        return parsing.parse_number(text)
    return text


def cond_mask(tab: BoundTab, cond: Condition) -> pd.Series:
    if cond.op == "empty":
        return empty_mask(tab, cond.column)
    if cond.op == "filled":
        return ~empty_mask(tab, cond.column)
    values = tab.frame[cond.column]
    literal = _literal(tab, cond.column, cond.value)
    if tab.template.column(cond.column).type == "text":
        eq = by_distinct(values, parsing.normalize_text) == literal
    else:
        eq = values == literal
    eq = pd.Series(eq, index=tab.frame.index).fillna(False).astype(bool)
    if cond.op == "eq":
        return eq
    return ~eq & ~empty_mask(tab, cond.column)


def all_of(tab: BoundTab, conds: Iterable[Condition]) -> pd.Series:
    mask = pd.Series(True, index=tab.frame.index)
    for cond in conds:
        mask &= cond_mask(tab, cond)
    return mask


def rule_scope(tab: BoundTab, rule: Rule) -> pd.Series:
    """Rows the rule applies to: ``when`` holds, any ``when_any`` group holds, ``unless`` fails."""
    mask = all_of(tab, rule.when)
    if rule.when_any:
        anyof = pd.Series(False, index=tab.frame.index)
        for group in rule.when_any:
            anyof |= all_of(tab, group)
        mask &= anyof
    if rule.unless:
        mask &= ~all_of(tab, rule.unless)
    return mask


def _rows(mask: pd.Series) -> list[int]:
    return [int(r) for r in mask.index[np.asarray(mask, dtype=bool)]]


def _dt(tab: BoundTab, col: str) -> pd.Series:
    return pd.to_datetime(tab.frame[col], errors="coerce")


# ---------------------------------------------------------------------------------------------
# rule kinds. Each: (tab, rule, ctx) -> RuleResult


def _emit(tab: BoundTab, rule: Rule, rows: list[int], message: Callable[[int], str], ctx: RuleContext,
          column: str | None = None) -> RuleResult:
    col = column or rule.column
    res = RuleResult()
    for row in rows:
        res.findings.append(tab.finding(row, col, rule.code, message(row), owner_role=rule.owner, job=rule.job))
    return res


def _raw(tab: BoundTab, row: int, col: str, ctx: RuleContext) -> str:
    return fmt_value(tab.raw_value(row, col), ctx.template.messages.get("empty_value", "(空)"),
                     ctx.template.messages.get("join", "、"))


def k_require_if(tab: BoundTab, rule: Rule, ctx: RuleContext) -> RuleResult:
    mask = rule_scope(tab, rule) & empty_mask(tab, rule.column)
    return _emit(tab, rule, _rows(mask), lambda r: rule.message.format(column=tab.header(rule.column)), ctx)


def k_forbid(tab: BoundTab, rule: Rule, ctx: RuleContext) -> RuleResult:
    mask = rule_scope(tab, rule)
    tpl = ctx.template

    def message(row: int) -> str:
        failed = [tab.header(c.column) for g in rule.when_any for c in g
                  if bool(cond_mask(tab, c).at[row])]
        missing = []
        for c in rule.unless:
            if not bool(cond_mask(tab, c).at[row]):
                key = "unless_filled" if c.op == "filled" else "unless_eq"
                missing.append(ctx.template.message(key, column=tab.header(c.column), value=c.value))
        return rule.message.format(failed=tpl.join(tpl.quote(f) for f in failed), missing=tpl.join(missing),
                                   value=_raw(tab, row, rule.column, ctx), column=tab.header(rule.column))

    return _emit(tab, rule, _rows(mask), message, ctx)


def k_at_least(tab: BoundTab, rule: Rule, ctx: RuleContext) -> RuleResult:
    expected = getattr(ctx.settings, rule.params["setting"])
    values = pd.to_numeric(tab.frame[rule.column], errors="coerce").fillna(0)
    mask = rule_scope(tab, rule) & (values < expected) & ~tab.bad[rule.column]
    return _emit(tab, rule, _rows(mask),
                 lambda r: rule.message.format(expected=expected, value=_raw(tab, r, rule.column, ctx)), ctx)


def _compare(tab: BoundTab, rule: Rule, ctx: RuleContext, bad: Callable[[pd.Series, pd.Series], pd.Series]) -> RuleResult:
    other = rule.params["other"]
    a, b = _dt(tab, rule.column), _dt(tab, other)
    mask = (a.notna() & b.notna() & bad(a, b)).fillna(False)
    return _emit(tab, rule, _rows(mask & rule_scope(tab, rule)), lambda r: rule.message.format(
        value=fmt_dt(a.at[r]), other_value=fmt_dt(b.at[r]), column=tab.header(rule.column),
        other=tab.header(other)), ctx)


def k_after(tab: BoundTab, rule: Rule, ctx: RuleContext) -> RuleResult:
    return _compare(tab, rule, ctx, lambda a, b: a <= b)


def k_not_after(tab: BoundTab, rule: Rule, ctx: RuleContext) -> RuleResult:
    return _compare(tab, rule, ctx, lambda a, b: a > b)


def k_not_same(tab: BoundTab, rule: Rule, ctx: RuleContext) -> RuleResult:
    other = rule.params["other"]
    a, b = by_distinct(tab.frame[rule.column], _folded), by_distinct(tab.frame[other], _folded)
    mask = (a.notna() & b.notna() & (a == b)).fillna(False).astype(bool) & rule_scope(tab, rule)
    return _emit(tab, rule, _rows(mask), lambda r: rule.message.format(value=_raw(tab, r, rule.column, ctx)), ctx)


def k_due_before(tab: BoundTab, rule: Rule, ctx: RuleContext) -> RuleResult:
    lead: timedelta = getattr(ctx.settings, rule.params["setting"])
    start = _dt(tab, rule.params["start"])
    cols = rule.params["columns"]
    missing_any = pd.Series(False, index=tab.frame.index)
    for c in cols:
        missing_any |= empty_mask(tab, c)
    due = (start.notna() & (start - lead <= pd.Timestamp(ctx.now))).fillna(False)
    mask = due & missing_any & rule_scope(tab, rule)
    tpl = ctx.template

    def message(row: int) -> str:
        missing = [tab.header(c) for c in cols if bool(empty_mask(tab, c).at[row])]
        return rule.message.format(start=fmt_dt(start.at[row]), limit=fmt_limit(lead, tpl),
                                   missing=tpl.join(tpl.quote(m) for m in missing))

    first_missing = {}
    for row in _rows(mask):
        first_missing[row] = next(c for c in cols if bool(empty_mask(tab, c).at[row]))
    res = RuleResult()
    for row in _rows(mask):
        column = rule.column if bool(empty_mask(tab, rule.column).at[row]) else first_missing[row]
        res.findings.append(tab.finding(row, column, rule.code, message(row), owner_role=rule.owner, job=rule.job))
    return res


def _signature_text(tab: BoundTab, row: int, cols: Iterable[str]) -> str:
    return "\x1f".join(_canon(tab.frame.at[row, c]) for c in cols)


def _canon(value: Any) -> str:
    """Compare parsed values, not how they were typed: '5件' and 5 are the same stock."""
    if value is None or value is pd.NA or value is pd.NaT or (isinstance(value, float) and np.isnan(value)):
        return ""
    if isinstance(value, (pd.Timestamp, datetime)):
        return pd.Timestamp(value).isoformat()
    if isinstance(value, tuple):
        return ",".join(sorted(v.upper() for v in value))
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    return str(value)


def k_changed_after_sign(tab: BoundTab, rule: Rule, ctx: RuleContext) -> RuleResult:
    """Remember what a row said when it was signed (state), and flag edits made afterwards."""
    sig_cols, watch = rule.params["signature"], rule.params["watch"]
    signed = pd.Series(True, index=tab.frame.index)
    for c in sig_cols:
        signed &= ~empty_mask(tab, c) & ~tab.bad[c]
    res = RuleResult(signed_tabs={tab.template.key})
    prefix = f"{tab.template.key}\x1f"
    present = {prefix + k for k in tab.keys.values()}
    # records of rows that are gone under their old key: a renamed row is found by its signature
    orphans: dict[str, list[dict[str, Any]]] = {}
    for key, record in ctx.signed.items():
        if key.startswith(prefix) and key not in present:
            orphans.setdefault(record.get("signature", ""), []).append(record)
    signed_rows = _rows(signed)
    signatures = {row: _signature_text(tab, row, sig_cols) for row in signed_rows}
    newcomers: dict[str, list[int]] = {}  # rows with no record under their key, by signature
    for row in signed_rows:
        if prefix + tab.keys[row] not in ctx.signed:
            newcomers.setdefault(signatures[row], []).append(row)
    for row in signed_rows:
        key = prefix + tab.keys[row]
        signature = signatures[row]
        current = {c: _canon(tab.frame.at[row, c]) for c in watch}
        shown = {c: _raw(tab, row, c, ctx) for c in watch}
        record = ctx.signed.get(key)
        if record is None and len(orphans.get(signature, ())) == 1 and len(newcomers[signature]) == 1:
            record = orphans[signature][0]  # one row gone, one row new, same signature: a rename
        if record is None or record.get("signature") != signature:
            res.signed[key] = {"signature": signature, "values": current, "shown": shown}
            continue
        res.signed[key] = record
        changed = [c for c in watch if record["values"].get(c, "") != current[c]]
        if not changed:
            continue
        items = ctx.template.join(
            ctx.template.message("changed_item", column=tab.header(c), old=record["shown"].get(c, ""), new=shown[c])
            for c in changed)
        message = rule.message.format(changes=items)
        for c in changed:
            res.findings.append(tab.finding(row, c, rule.code, message, owner_role=rule.owner, job=rule.job))
    return res


def sla_frames(tab: BoundTab, rule: Rule, ctx: RuleContext) -> tuple[pd.Series, pd.Series, pd.Series, pd.Series]:
    """(start, end, elapsed working time, deadline) for an sla rule, vectorised."""
    clock = ctx.clock(rule.params.get("clock", "work"))
    limit: timedelta = getattr(ctx.settings, rule.params["setting"])
    start, end = _dt(tab, rule.params["start"]), _dt(tab, rule.params["end"])
    elapsed = clock.elapsed_series(start, end)
    deadline = clock.deadline_series(start, limit)
    return start, end, elapsed, deadline


def sla_met(tab: BoundTab, rule: Rule, ctx: RuleContext) -> pd.Series:
    """Rows where the end is filled in and came within the limit (KPI numerators)."""
    limit: timedelta = getattr(ctx.settings, rule.params["setting"])
    start, end, elapsed, _ = sla_frames(tab, rule, ctx)
    return (start.notna() & end.notna() & (elapsed <= pd.Timedelta(limit))).fillna(False).astype(bool)


def k_sla(tab: BoundTab, rule: Rule, ctx: RuleContext) -> RuleResult:
    limit: timedelta = getattr(ctx.settings, rule.params["setting"])
    start, end, elapsed, deadline = sla_frames(tab, rule, ctx)
    scope = rule_scope(tab, rule)
    has_both = start.notna() & end.notna()
    tpl = ctx.template
    res = RuleResult()
    before = (has_both & (end < start)).fillna(False) & scope
    for row, s, e in _picked(before, start, end):
        res.findings.append(tab.finding(row, rule.params["end"], f"{rule.code}.before_start", tpl.message(
            "before_start", column=tab.header(rule.params["end"]), value=fmt_dt(e),
            start_column=tab.header(rule.params["start"]), start=fmt_dt(s)),
            owner_role=rule.owner, job=rule.job))
    late = (has_both & (end >= start) & (elapsed > pd.Timedelta(limit))).fillna(False) & scope
    shown_limit = fmt_limit(limit, tpl)
    for row, s, took, due in _picked(late, start, elapsed, deadline):
        res.findings.append(tab.finding(row, rule.column, rule.code, rule.messages["late_message"].format(
            actual=fmt_duration(took.to_pytimedelta(), tpl), limit=shown_limit, start=fmt_dt(s),
            deadline=fmt_dt(due)), owner_role=rule.owner, job=rule.job))
    if rule.params.get("overdue", True):
        overdue = (start.notna() & empty_mask(tab, rule.params["end"]) & (deadline < pd.Timestamp(ctx.now)))
        overdue = overdue.fillna(False).astype(bool) & scope
        for row, s, due in _picked(overdue, start, deadline):
            res.findings.append(tab.finding(row, rule.column, f"{rule.code}.overdue",
                                            rule.messages["overdue_message"].format(
                                                limit=shown_limit, start=fmt_dt(s), deadline=fmt_dt(due)),
                                            owner_role=rule.owner, job=rule.job))
    return res


def _picked(mask: pd.Series, *series: pd.Series) -> Iterable[tuple[Any, ...]]:
    """(row, value of each series) for the rows ``mask`` flags — one slice, not a lookup per row."""
    flags = np.asarray(mask, dtype=bool)
    rows = mask.index[flags]
    return zip((int(r) for r in rows), *(s[flags].tolist() for s in series))


def k_role(tab: BoundTab, rule: Rule, ctx: RuleContext) -> RuleResult:
    role = rule.params["role"]
    names = ctx.workbook.names_for_role(role)
    scope = rule_scope(tab, rule)
    res = RuleResult()
    if not bool(scope.any()):
        return res
    members = ctx.workbook.by_role("members")
    if not names:
        res.findings.append(Finding(members.title, 0, "", 0, None, f"{rule.code}.no_member",
                                    ctx.template.message("no_role", role=role), owner_role=ctx.template.manager_role,
                                    job=rule.job, paint=False))
        return res
    empty = empty_mask(tab, rule.column) & scope
    known = {_folded(n) for n in names}
    values = by_distinct(tab.frame[rule.column], _folded)
    flagged = (values.notna() & ~values.isin(known)).astype(bool) & scope
    if rule.params.get("fill_empty"):  # routing: an empty cell gets the role's first member
        col = tab.col_index[rule.column]
        for row in _rows(empty):
            res.fills.append(FillValue(tab.title, row, col, tab.keys[row], names[0]))
    else:
        flagged |= empty
    for row in _rows(flagged):
        res.findings.append(tab.finding(row, rule.column, rule.code, rule.message.format(
            names=ctx.template.join(names), value=_raw(tab, row, rule.column, ctx), role=role),
            owner_role=rule.owner, job=rule.job))
    return res


def by_distinct(values: pd.Series, fn: Callable[[str], Any]) -> pd.Series:
    """``fn`` of each text cell (None for the rest), computed once per distinct value: a column of
    a million rows holds a few thousand names."""
    mapping = {v: fn(v) for v in pd.unique(values.dropna()) if isinstance(v, str)}
    return values.map(mapping)  # cells that are not text (or empty) come out missing


def _folded(text: str) -> str:
    return parsing.normalize_text(text).lower()


def _squash(text: Any) -> str:
    return parsing.normalize_text(text).replace(" ", "").replace("＋", "+").lower()


def k_choice_by(tab: BoundTab, rule: Rule, ctx: RuleContext) -> RuleResult:
    by = rule.params["by"]
    mapping: dict[str, tuple[str, ...]] = rule.params["choices"]
    aliases = {_squash(k): _squash(v) for k, v in rule.params.get("aliases", {}).items()}
    values = by_distinct(tab.frame[rule.column], lambda v: aliases.get(_squash(v), _squash(v)))
    cats = tab.frame[by]
    fits = pd.Series(False, index=tab.frame.index)
    for cat, choices in mapping.items():
        fits |= (cats == cat).fillna(False).astype(bool) & values.isin({_squash(v) for v in choices})
    bad = values.notna() & cats.isin(list(mapping)).fillna(False).astype(bool) & ~fits & rule_scope(tab, rule)
    res = RuleResult()
    for row, cat in _picked(bad, cats):
        res.findings.append(tab.finding(row, rule.column, rule.code, rule.message.format(
            by_value=cat, value=_raw(tab, row, rule.column, ctx),
            expected=" / ".join(ctx.template.quote(v) for v in mapping[cat])), owner_role=rule.owner, job=rule.job))
    return res


# -- cross-tab: promotions against 库存 ---------------------------------------------------------


@dataclass(frozen=True)
class InventoryIndex:
    stock: dict[str, float]
    floor: dict[str, float]

    @classmethod
    def of(cls, tab: BoundTab) -> "InventoryIndex":
        stock: dict[str, float] = {}
        floor: dict[str, float] = {}
        if not tab.usable or tab.frame.empty:
            return cls(stock, floor)
        for row in tab.frame.index:
            sku = tab.frame.at[row, "sku"]
            if not isinstance(sku, str) or not sku:
                continue
            key = sku.strip().upper()
            if key in stock:  # duplicates are flagged by the unique check; the first row counts
                continue
            qty = tab.frame.at[row, "stock"]
            stock[key] = float(qty) if qty is not None and not pd.isna(qty) else float("nan")
            if "min_price" in tab.frame.columns:
                price = tab.frame.at[row, "min_price"]
                if price is not None and not pd.isna(price):
                    floor[key] = float(price)
        return cls(stock, floor)


def _skus(value: Any) -> tuple[str, ...]:
    return tuple(s.strip().upper() for s in value) if isinstance(value, tuple) else ()


def k_stock_covers(tab: BoundTab, rule: Rule, ctx: RuleContext) -> RuleResult:
    inv = InventoryIndex.of(ctx.workbook.tab(rule.params["inventory"]))
    declared = pd.to_numeric(tab.frame[rule.column], errors="coerce")
    res = RuleResult()
    for row in _rows(declared.notna() & rule_scope(tab, rule)):
        skus = _skus(tab.frame.at[row, rule.params["skus"]])
        if not skus or any(s not in inv.stock or np.isnan(inv.stock[s]) for s in skus):
            continue  # unknown SKUs are their own finding
        actual = sum(inv.stock[s] for s in skus)
        if declared.at[row] > actual:
            res.findings.append(tab.finding(row, rule.column, rule.code, rule.message.format(
                value=fmt_value(declared.at[row]), actual=fmt_value(actual), skus=ctx.template.join(skus)),
                owner_role=rule.owner, job=rule.job))
    return res


def k_sku_known(tab: BoundTab, rule: Rule, ctx: RuleContext) -> RuleResult:
    inv = InventoryIndex.of(ctx.workbook.tab(rule.params["inventory"]))
    if not inv.stock and not ctx.workbook.tab(rule.params["inventory"]).usable:
        return RuleResult()
    res = RuleResult()
    for row in _rows(~empty_mask(tab, rule.column) & rule_scope(tab, rule)):
        unknown = [s for s in _skus(tab.frame.at[row, rule.column]) if s not in inv.stock]
        if unknown:
            res.findings.append(tab.finding(row, rule.column, rule.code, rule.message.format(
                unknown=ctx.template.join(unknown)), owner_role=rule.owner, job=rule.job))
    return res


def k_price_floor(tab: BoundTab, rule: Rule, ctx: RuleContext) -> RuleResult:
    inv = InventoryIndex.of(ctx.workbook.tab(rule.params["inventory"]))
    price = pd.to_numeric(tab.frame[rule.column], errors="coerce")
    res = RuleResult()
    for row in _rows(price.notna() & rule_scope(tab, rule)):
        floors = [(inv.floor[s], s) for s in _skus(tab.frame.at[row, rule.params["skus"]]) if s in inv.floor]
        if not floors:
            continue
        floor, sku = max(floors)
        if price.at[row] < floor:
            res.findings.append(tab.finding(row, rule.column, rule.code, rule.message.format(
                value=fmt_value(price.at[row]), sku=sku, floor=fmt_value(floor)), owner_role=rule.owner, job=rule.job))
    return res


def k_export_matches(tab: BoundTab, rule: Rule, ctx: RuleContext) -> RuleResult:
    res = RuleResult()
    if ctx.stock_export is None:
        return res
    for row in tab.frame.index:
        sku = tab.frame.at[row, "sku"]
        qty = tab.frame.at[row, rule.column]
        if not isinstance(sku, str) or qty is None or pd.isna(qty):
            continue
        other = ctx.stock_export.get(sku.strip().upper())
        if other is not None and float(other) != float(qty):
            res.findings.append(tab.finding(row, rule.column, rule.code, rule.message.format(
                value=fmt_value(qty), actual=fmt_value(other), source=ctx.stock_export_source),
                owner_role=rule.owner, job=rule.job))
    return res


def k_export_known(tab: BoundTab, rule: Rule, ctx: RuleContext) -> RuleResult:
    res = RuleResult()
    if ctx.stock_export is None:
        return res
    for row in tab.frame.index:
        sku = tab.frame.at[row, rule.column]
        if isinstance(sku, str) and sku and sku.strip().upper() not in ctx.stock_export:
            res.findings.append(tab.finding(row, rule.column, rule.code, rule.message.format(
                source=ctx.stock_export_source), owner_role=rule.owner, job=rule.job))
    return res


KINDS: dict[str, Callable[[BoundTab, Rule, RuleContext], RuleResult]] = {
    "require_if": k_require_if,
    "forbid": k_forbid,
    "at_least": k_at_least,
    "after": k_after,
    "not_after": k_not_after,
    "not_same": k_not_same,
    "due_before": k_due_before,
    "changed_after_sign": k_changed_after_sign,
    "sla": k_sla,
    "role": k_role,
    "choice_by": k_choice_by,
    "stock_covers": k_stock_covers,
    "sku_known": k_sku_known,
    "price_floor": k_price_floor,
    "export_matches": k_export_matches,
    "export_known": k_export_known,
}


def check_tab(tab: BoundTab, ctx: RuleContext, *, job: str) -> RuleResult:
    """Run every rule of ``job`` on one tab. A rule whose columns are missing is skipped (the
    missing column is already reported by the binding)."""
    res = RuleResult()
    if not tab.usable or tab.frame.empty:
        return res
    for rule in tab.template.rules:
        if rule.job != job:
            continue
        if not tab.has(*rule.columns_used()):
            log.debug("rule %s skipped on %s: column missing", rule.code, tab.title)
            continue
        res.extend(KINDS[rule.kind](tab, rule, ctx))
    return res
