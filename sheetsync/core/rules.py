"""Rule kinds: each compiles a template rule into vectorised pandas masks over a bound tab.

Every kind is declared once, in ``KINDS``, with the ``@rule_kind`` decorator on its function:
its parameters (which must name columns or 设置 fields, which are optional), the codes it emits
and the message placeholders of each. The template reader validates any rule from that
declaration; ``docs/templates.md`` lists it (a test keeps the two in step).

A kind emits codes and parameters, never words: the message of a code is in the template's
catalogue (``sheet_templates/<language>/messages/findings.toml``), rendered at the edge.

``check_tab`` is pure: (bound tab, rules, context) -> findings, cell fills (routing) and state
entries (what signed rows said). Only the rows a mask flags are turned into Python objects, so a
million clean rows cost a handful of numpy operations per rule.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from itertools import repeat
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any, Callable, Iterable, Mapping

import numpy as np
import pandas as pd

from . import parsing
from .model import (PRIORITY_ACT, PRIORITY_INFO, PRIORITY_TIME, Duration, Finding, FillValue, Params, Phrase,
                    new_finding, shared_names)
from .settings import Settings
from .worktime import WorkClock

if TYPE_CHECKING:  # binding imports template, which imports this module
    from .binding import BoundTab, BoundWorkbook
    from .template import Template

log = logging.getLogger(__name__)


# ---------------------------------------------------------------------------------------------
# what a template rule is, once read


@dataclass(frozen=True)
class Condition:
    column: str  # column id
    op: str  # "eq" | "ne" | "empty" | "filled"
    value: str = ""


@dataclass(frozen=True)
class Rule:
    kind: str
    code: str
    column: str  # column id the red goes on
    job: str = "validate"
    when: tuple[Condition, ...] = ()
    when_any: tuple[tuple[Condition, ...], ...] = ()
    unless: tuple[Condition, ...] = ()
    params: Mapping[str, Any] = field(default_factory=dict)  # column references already resolved to ids
    messages: Mapping[str, str] = field(default_factory=dict)  # outcome -> the template's own wording
    owner: str = ""
    # column id of the row's person who must act (售后纠纷 负责人, 客服台账 客服); "" = the members of
    # ``owner`` (or the tab's owner role) in 成员
    owner_column: str = ""

    @property
    def spec(self) -> "RuleKind":
        return KINDS[self.kind]

    def code_for(self, outcome: str = "") -> str:
        """The code a finding of ``outcome`` carries (declared by the kind; KeyError otherwise)."""
        return self.spec.emit(outcome).code(self.code)

    def codes(self) -> dict[str, str]:
        """outcome -> code, for every code this rule can emit."""
        return {e.outcome: e.code(self.code) for e in self.spec.emits}

    def columns_used(self) -> set[str]:
        used = {self.column}  # the owner column is not needed: without it the role's members own it
        for cond in (*self.when, *self.unless, *(c for group in self.when_any for c in group)):
            used.add(cond.column)
        for p in self.spec.params:
            if p.name not in self.params:
                continue
            if p.type == "column":
                used.add(self.params[p.name])
            elif p.type == "columns":
                used.update(self.params[p.name])
        return used


# ---------------------------------------------------------------------------------------------
# the registry


# parameter types the template reader knows how to check (their words: core.rule.type.* in the catalogue)
PARAM_TYPES = ("column", "columns", "setting", "conditions", "condition_groups", "text", "bool", "enum", "tab",
               "choice_map", "alias_map", "bands", "number_map", "phrase_map", "texts")
CONDITION_PARAMS = ("when", "when_any", "unless")


@dataclass(frozen=True)
class Param:
    name: str
    type: str
    required: bool = False
    values: tuple[str, ...] = ()  # for "enum"
    doc: str = ""


@dataclass(frozen=True)
class Emit:
    """One code a kind emits. ``outcome`` "" is the rule's own code; others are ``<code>.<outcome>``.
    ``field`` is the rule field of workbook.toml that may reword the message ("" = catalogue only).
    ``severity``: "error" (red), "warn" (amber: a deadline is near) or "info" (a note, not a
    problem). ``priority``: which note wins on a cell several findings hit (model.PRIORITY_*)."""

    outcome: str
    placeholders: tuple[str, ...]
    field: str = "message"
    doc: str = ""
    severity: str = "error"
    priority: int = PRIORITY_ACT

    def code(self, rule_code: str) -> str:
        return f"{rule_code}.{self.outcome}" if self.outcome else rule_code




@dataclass(frozen=True)
class RuleKind:
    name: str
    doc: str
    params: tuple[Param, ...]
    emits: tuple[Emit, ...]
    check: Callable[["BoundTab", Rule, "RuleContext"], "RuleResult"]

    def param(self, name: str) -> Param:
        return next(p for p in self.params if p.name == name)

    def emit(self, outcome: str) -> Emit:
        for e in self.emits:
            if e.outcome == outcome:
                return e
        raise KeyError(f"rule kind {self.name!r} declares no outcome {outcome!r}")

    def message_key(self, outcome: str = "") -> str:
        """The catalogue key of the kind's own wording of an outcome (used when neither the rule
        nor the catalogue words the rule's code)."""
        return f"kinds.{self.name}.{outcome}" if outcome else f"kinds.{self.name}"

    def message_fields(self) -> dict[str, str]:
        """workbook.toml field -> outcome it rewords."""
        return {e.field: e.outcome for e in self.emits if e.field}


KINDS: dict[str, RuleKind] = {}


def rule_kind(name: str, doc: str, params: Iterable[Param] = (), emits: Iterable[Emit] = ()
              ) -> Callable[[Callable[..., "RuleResult"]], Callable[..., "RuleResult"]]:
    """Declare a rule kind: its parameters, the codes it emits and its check function."""

    def register(fn: Callable[..., "RuleResult"]) -> Callable[..., "RuleResult"]:
        if name in KINDS:
            raise ValueError(f"rule kind {name!r} declared twice")
        declared = tuple(params)
        for p in declared:
            assert p.type in PARAM_TYPES, (name, p)
        KINDS[name] = RuleKind(name, doc, declared, tuple(emits), fn)
        return fn

    return register


def all_codes(template: "Template") -> dict[str, tuple[Rule, str]]:
    """code -> (rule, outcome) for every code the template's rules can emit."""
    out: dict[str, tuple[Rule, str]] = {}
    for tab in template.tabs.values():
        for rule in tab.rules:
            for outcome, code in rule.codes().items():
                out[code] = (rule, outcome)
    return out


# ---------------------------------------------------------------------------------------------


@dataclass
class RuleContext:
    workbook: "BoundWorkbook"
    settings: Settings
    now: datetime  # naive shop time
    signed: dict[str, dict[str, Any]] = field(default_factory=dict)  # state: "tab\x1frow_key" -> record
    stock_export: dict[str, float] | None = None  # back-office export: SKU (upper) -> count
    stock_export_source: str = ""
    # results of the TIMELESS_KINDS rules on this very content (tab id, rule code) -> result; kept
    # by the shell between runs on an unchanged workbook. None: compute everything.
    memo: dict[tuple[str, str], "RuleResult"] | None = None
    # the last week 周报 reported: (its Monday, when the report was made); misses of that week and
    # before are facts for the KPIs by then, not to-dos (see ``reported``)
    reported: tuple[date, datetime] | None = None
    # state: values sheetsync filled in, "tab id\x1frow key\x1fcolumn id" -> the value written
    filled: dict[str, Any] = field(default_factory=dict)
    # results computed in this run, (tab id, rule code) -> result: a rule that builds on another
    # (on_duty on its sla rule) takes that rule's result instead of running it a second time
    computed: dict[tuple[str, str], "RuleResult"] = field(default_factory=dict, repr=False)

    def result(self, tab: "BoundTab", rule: Rule) -> "RuleResult":
        """``rule``'s result on ``tab``: computed once per run (and, for a timeless kind, taken
        from ``memo`` when the content has not changed since it was computed)."""
        key = (tab.template.key, rule.code)
        if key in self.computed:
            return self.computed[key]
        if self.memo is not None and rule.kind in TIMELESS_KINDS:
            if key not in self.memo:
                self.memo[key] = KINDS[rule.kind].check(tab, rule, self)
            result = self.memo[key]
        else:
            result = KINDS[rule.kind].check(tab, rule, self)
        self.computed[key] = result
        return result

    @property
    def template(self) -> "Template":
        return self.workbook.template

    def clock(self, kind: str) -> WorkClock:
        return self.settings.clock() if kind == "work" else WorkClock()

    def reported_mask(self, moments: pd.Series) -> pd.Series:
        """Rows whose moment lies in a week 周报 has already reported (and before the report), once
        that week is over: from then on its misses are facts for the KPIs, not to-dos."""
        if self.reported is None:
            return pd.Series(False, index=moments.index)
        monday, at = self.reported
        end = pd.Timestamp(monday) + pd.Timedelta(days=7)
        if pd.Timestamp(self.now) < end:
            return pd.Series(False, index=moments.index)
        return (moments.notna() & (moments < end) & (moments <= pd.Timestamp(at))).fillna(False).astype(bool)

    def warn_lead(self, limit: timedelta) -> timedelta:
        """How long before a deadline the warning starts: 设置 预警提前比例 (percent of the limit)."""
        share = min(max(int(getattr(self.settings, "warn_lead", 30)), 0), 100)
        return timedelta(seconds=round(limit.total_seconds() * share / 100))


@dataclass
class RuleResult:
    findings: list[Finding] = field(default_factory=list)
    fills: list[FillValue] = field(default_factory=list)
    signed: dict[str, dict[str, Any]] = field(default_factory=dict)
    signed_tabs: set[str] = field(default_factory=set)  # tabs whose signed records were re-evaluated
    filled: dict[str, Any] = field(default_factory=dict)  # values sheetsync filled in (see filled_key)

    def extend(self, other: "RuleResult") -> None:
        self.findings.extend(other.findings)
        self.fills.extend(other.fills)
        self.signed.update(other.signed)
        self.signed_tabs |= other.signed_tabs
        self.filled.update(other.filled)


# ---------------------------------------------------------------------------------------------
# parameter values: plain data, formatted at the edge (Catalogue.value)


def _missing(value: Any) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, (float, np.floating)) and bool(np.isnan(value))


def plain(value: Any) -> Any:
    """A cell value as a message parameter: None for empty, datetime, float/int, bool, str or a
    tuple of str (SKU lists) — no numpy or pandas types."""
    if value.__class__ is str:  # the common case first
        return value.strip()
    if _missing(value):
        return None
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, str):
        return value.strip()
    return value


def _stored(value: Any) -> Any:
    """A cell value as the state tab keeps it (JSON): what ``plain`` gives, datetimes as text."""
    value = plain(value)
    if isinstance(value, datetime):
        if value.time() == datetime.min.time():
            return value.strftime("%Y-%m-%d")
        return value.strftime("%Y-%m-%d %H:%M:%S" if value.second else "%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, tuple):
        return list(value)
    return value


# ---------------------------------------------------------------------------------------------
# masks


class MaskCounter:
    """How many whole-column masks were computed (``empty_mask`` and ``cond_mask``). A rule
    computes each of its masks once, however many rows it flags; a test counts this to catch a
    rule that goes back to computing a mask per flagged row. Counting only, never timing."""

    def __init__(self) -> None:
        self.count = 0

    def reset(self) -> None:
        self.count = 0


MASKS = MaskCounter()


def empty_mask(tab: "BoundTab", col: str) -> pd.Series:
    MASKS.count += 1
    values = tab.frame[col]
    if tab.template.column(col).type == "sku_list":
        return values.map(lambda v: not v if isinstance(v, tuple) else True).astype(bool) & ~tab.bad[col]
    return values.isna().to_numpy() & ~tab.bad[col]


def _literal(tab: "BoundTab", col: str, text: str) -> Any:
    ctype = tab.template.column(col).type
    if ctype == "bool":
        return parsing.parse_bool(text)
    if ctype in ("int", "number"):
        return parsing.parse_number(text)
    return text


def cond_mask(tab: "BoundTab", cond: Condition) -> pd.Series:
    MASKS.count += 1
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


def all_of(tab: "BoundTab", conds: Iterable[Condition]) -> pd.Series:
    mask = pd.Series(True, index=tab.frame.index)
    for cond in conds:
        mask &= cond_mask(tab, cond)
    return mask


def rule_scope(tab: "BoundTab", rule: Rule) -> pd.Series:
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


def _dt(tab: "BoundTab", col: str) -> pd.Series:
    return pd.to_datetime(tab.frame[col], errors="coerce")


def _picked(mask: pd.Series, *series: pd.Series) -> Iterable[tuple[Any, ...]]:
    """(row, value of each series) for the rows ``mask`` flags — one slice, not a lookup per row.
    Times come out as Python ``datetime``/``timedelta`` (NaT as None), converted in one pass."""
    flags = np.asarray(mask, dtype=bool)
    rows = mask.index[flags]
    return zip(rows.tolist(), *(_values(s, flags) for s in series), strict=True)


def _values(s: pd.Series, flags: np.ndarray) -> list[Any]:
    kind = s.dtype.kind
    if kind in "mM" and getattr(s.dtype, "tz", None) is None:
        picked = s.to_numpy()[flags]
        return picked.astype("datetime64[us]" if kind == "M" else "timedelta64[us]").tolist()
    return s[flags].tolist()


def by_distinct(values: pd.Series, fn: Callable[[str], Any]) -> pd.Series:
    """``fn`` of each text cell (None for the rest), computed once per distinct value: a column of
    a million rows holds a few thousand names."""
    codes, uniques = pd.factorize(values.to_numpy(dtype=object), use_na_sentinel=True)
    mapped = np.empty(len(uniques) + 1, dtype=object)  # the last slot: empty cells (code -1)
    mapped[:] = None
    for i, v in enumerate(uniques):
        if isinstance(v, str):
            mapped[i] = fn(v)
    return pd.Series(mapped[codes], index=values.index, dtype=object)


def _folded(text: str) -> str:
    return parsing.normalize_text(text).lower()


def _squash(text: Any) -> str:
    return parsing.normalize_text(text).replace(" ", "").replace("＋", "+").lower()


# ---------------------------------------------------------------------------------------------
# emitting


def found(tab: "BoundTab", rule: Rule, row: int, col_id: str, outcome: str = "", /, *,
          deadline: Any = None, **params: Any) -> Finding:
    """A finding of ``rule`` on one cell: the declared code of ``outcome`` (its severity and
    priority), its parameters, the row's owners (``Rule.owner_column``) and, for time rules, the
    ``deadline`` by which the owner must act. Made in one go: a messy sheet makes a million."""
    emit = rule.spec.emit(outcome)
    if deadline is not None:
        params["deadline"] = deadline
    due = plain(deadline)
    return Finding(tab.title, row, tab.header(col_id) if col_id else "", tab.col_index.get(col_id, 0),
                   tab.raw_value(row, col_id), emit.code(rule.code), "", row_key=tab.keys.get(row, ""),
                   owner_role=rule.owner or tab.template.owner, job=rule.job, tab_id=tab.template.key,
                   column_id=col_id, params=_plain_params(params), severity=emit.severity,
                   deadline=due if isinstance(due, datetime) else None, owners=row_owners(tab, rule, row),
                   priority=emit.priority)


class PerRow:
    """A parameter of ``found_rows`` with one value per flagged row (the others are shared)."""

    __slots__ = ("values",)

    def __init__(self, values: Iterable[Any]) -> None:
        self.values = values if isinstance(values, list) else list(values)


class BatchCounter:
    """How many findings ``found_rows`` built, and in how many calls (a rule builds the findings
    of one outcome in one call, however many rows it flags). Counting only, never timing."""

    def __init__(self) -> None:
        self.calls = 0
        self.findings = 0

    def reset(self) -> None:
        self.calls = self.findings = 0


BATCHES = BatchCounter()


def flagged(mask: Any) -> tuple[np.ndarray, np.ndarray]:
    """(positions in the frame, sheet rows) of the rows ``mask`` (aligned with the frame) flags."""
    flags = np.asarray(mask, dtype=bool)
    positions = np.flatnonzero(flags)
    index = mask.index if isinstance(mask, pd.Series) else None
    rows = (index.to_numpy() if index is not None else np.arange(len(flags)))[positions]
    return positions, rows.astype(np.int64, copy=False)


def found_rows(tab: "BoundTab", rule: Rule, mask: Any, col_id: str, outcome: str = "", /, *,
               deadline: "PerRow | None" = None, **params: Any) -> list[Finding]:
    """``found(tab, rule, row, col_id, outcome, deadline=..., **params)`` for every row ``mask``
    flags, in sheet order, built in one pass: the code, header and column looked up once, the raw
    values, keys and owners of all the rows taken at once. A parameter given as ``PerRow`` has one
    value per flagged row, any other is shared by all; ``deadline`` is per row (None: none)."""
    if len(mask) != len(tab.frame) or (isinstance(mask, pd.Series) and mask.index is not tab.frame.index
                                       and not mask.index.equals(tab.frame.index)):
        raise ValueError(f"{rule.code}: a mask must be aligned with the rows of {tab.title!r}")  # a bug in a rule kind
    positions, rows = flagged(mask)
    n = len(rows)
    if not n:
        return []
    BATCHES.calls += 1
    BATCHES.findings += n
    emit = rule.spec.emit(outcome)
    code, severity, priority = emit.code(rule.code), emit.severity, emit.priority
    title, tab_id, owner_role, job = tab.title, tab.template.key, rule.owner or tab.template.owner, rule.job
    header = tab.header(col_id) if col_id else ""
    col = tab.col_index.get(col_id, 0)
    values = tab.raw_at(col_id, rows, positions)
    keys = tab.keys_at(rows)
    owners = row_owners_at(tab, rule, positions, rows)
    names = list(params)
    shared: dict[str, Any] = {}
    columns: list[list[Any] | None] = []
    for name in names:
        v = params[name]
        if isinstance(v, PerRow):
            assert len(v.values) == n, (name, len(v.values), n)
            columns.append([x if x.__class__ in _AS_IS or x is None else plain(x) for x in v.values])
        else:
            shared[name] = v if v.__class__ in _AS_IS or v is None else plain(v)
            columns.append(None)
    dues: list[Any] = [None] * n
    has_due: list[bool] = [False] * n
    if deadline is not None:
        assert len(deadline.values) == n, (len(deadline.values), n)
        has_due = [d is not None for d in deadline.values]
        dues = [d if d.__class__ in _AS_IS or d is None else plain(d) for d in deadline.values]
    # the order of a row's parameters is the call's (shared and per row interleaved), deadline last
    plain_names = shared_names(tuple(names))
    due_names = shared_names((*plain_names, "deadline"))
    alone: Params | None = None  # the parameters of every row without a deadline, when none is per row
    each: Iterable[tuple[Any, ...]]
    if all(c is None for c in columns):
        fixed = tuple(shared[name] for name in names)
        alone, each = Params(plain_names, fixed), repeat(fixed, n)
    else:
        each = zip(*[repeat(shared[name], n) if c is None else c for name, c in zip(names, columns, strict=True)],
                   strict=True)
    make = new_finding
    out = []
    for row, value, key, who, t, d, has in zip(rows.tolist(), values, keys, owners, each, dues, has_due, strict=True):
        p = Params(due_names, (*t, d)) if has else Params(plain_names, t) if alone is None else alone
        out.append(make(title, row, header, col, value, code, "", key, owner_role, job, True, tab_id, col_id, p,
                        severity, d if isinstance(d, datetime) else None, who, priority))
    return out


def row_owners_at(tab: "BoundTab", rule: Rule, positions: np.ndarray, rows: np.ndarray) -> list[tuple[str, ...]]:
    """``row_owners`` of each flagged row at once (one tuple per distinct name, shared)."""
    if not rule.owner_column or rule.owner_column not in tab.col_index:
        return [()] * len(rows)
    key = ("owner_tuples", rule.owner_column)
    by_position = tab.derived.get(key)
    if by_position is None:
        values = tab.frame[rule.owner_column]
        codes, uniques = pd.factorize(values.to_numpy(dtype=object), use_na_sentinel=True)
        named: list[tuple[str, ...]] = [()] * (len(uniques) + 1)  # the last slot: empty cells (code -1)
        for i, v in enumerate(uniques):
            if isinstance(v, str):
                name = parsing.normalize_text(v)
                if name:
                    named[i] = (name,)
        by_position = tab.derived[key] = (np.fromiter(named, dtype=object, count=len(named)), codes)
    mapped, codes = by_position
    return mapped[codes[positions]].tolist()


def row_owners(tab: "BoundTab", rule: Rule, row: int) -> tuple[str, ...]:
    """The person named in the row's owner column, () when there is none (then the role's members)."""
    if not rule.owner_column or rule.owner_column not in tab.col_index:
        return ()
    name = owner_names(tab, rule.owner_column).get(row)
    return (name,) if name else ()


def owner_names(tab: "BoundTab", col: str) -> dict[int, str]:
    """Sheet row -> the name in ``col`` for the rows that name someone: once per tab and column
    (each name normalised once), not a lookup per finding."""
    key = ("owners", col)
    names = tab.derived.get(key)
    if names is None:
        texts = by_distinct(tab.frame[col], parsing.normalize_text)
        named = (texts.notna() & (texts != "")).to_numpy(dtype=bool)
        names = tab.derived[key] = dict(zip(texts.index[named].tolist(), texts[named].tolist(), strict=True))
    return names


# parameter values kept as they are: words and durations rendered at the edge, plain values
_AS_IS = (tuple, Phrase, Duration, int, bool, datetime, date)


def _plain_params(params: Mapping[str, Any]) -> Params:
    return Params.of({k: v if v.__class__ in _AS_IS or v is None else plain(v) for k, v in params.items()})


def _raw(tab: "BoundTab", row: int, col: str) -> Any:
    return plain(tab.raw_value(row, col))


def _raw_each(tab: "BoundTab", mask: Any, col: str) -> PerRow:
    """``_raw`` of each row ``mask`` flags, as a ``found_rows`` parameter."""
    positions, rows = flagged(mask)
    return PerRow([plain(v) for v in tab.raw_at(col, rows, positions)])


def _each(mask: Any, series: pd.Series) -> PerRow:
    """The values of ``series`` on the rows ``mask`` flags (as ``_picked`` gives them), as a
    ``found_rows`` parameter."""
    return PerRow(_values(series, np.asarray(mask, dtype=bool)))


def _setting(ctx: RuleContext, rule: Rule) -> Any:
    return getattr(ctx.settings, rule.params["setting"])


def _limit(value: timedelta) -> Duration:
    return Duration.of(value, limit=True)


# ---------------------------------------------------------------------------------------------
# rule kinds

_WHEN = Param("when", "conditions", doc="the rule applies to rows where all hold")
_WHEN_ANY = Param("when_any", "condition_groups", doc="... and at least one group holds")
_UNLESS = Param("unless", "conditions", doc="the rule does not apply where all hold")
_INVENTORY = Param("inventory", "tab", required=True, doc="the 库存 tab's id")
_EXPLAINED_BY = Param("explained_by", "column",
                      doc="a reason written here (备注) clears a miss in the past; the KPI still counts it")
_SUBJECT = Param("subject", "column", doc="what a warning names: the row's customer, promotion...")
_UNTIL = Param("until", "column", doc="a row whose `until` (结束时间) has passed is over: not checked any more")


def _still_on(tab: "BoundTab", rule: Rule, ctx: RuleContext) -> pd.Series:
    """Rows not over yet (``until`` empty or still to come)."""
    col = rule.params.get("until")
    if not col:
        return pd.Series(True, index=tab.frame.index)
    until = _dt(tab, col)
    return ~(until < pd.Timestamp(ctx.now)).fillna(False).astype(bool)


@rule_kind("require_if", "`column` must be filled when `when` holds",
           params=[Param("when", "conditions", required=True, doc="when the column is needed"), _UNLESS],
           emits=[Emit("", ("column",), doc="the column is empty although `when` holds")])
def k_require_if(tab: "BoundTab", rule: Rule, ctx: RuleContext) -> RuleResult:
    mask = rule_scope(tab, rule) & empty_mask(tab, rule.column)
    return RuleResult(found_rows(tab, rule, mask, rule.column, column=tab.header(rule.column)))


@rule_kind("forbid", "red when `when` (and `when_any`) hold and `unless` does not",
           params=[Param("when", "conditions", required=True, doc="what is not allowed"), _WHEN_ANY, _UNLESS],
           emits=[Emit("", ("failed", "missing", "value", "column"),
                       doc="the row is in a state that is not allowed: `{failed}` are the headers of the "
                           "`when_any` columns that matched, `{missing}` the `unless` conditions not met")])
def k_forbid(tab: "BoundTab", rule: Rule, ctx: RuleContext) -> RuleResult:
    res = RuleResult()
    scope = rule_scope(tab, rule)
    flags = np.asarray(scope, dtype=bool)
    # each condition's mask once for the rule, sliced to the flagged rows (not once per row)
    any_hits = [(tab.header(c.column), np.asarray(cond_mask(tab, c), dtype=bool)[flags])
                for g in rule.when_any for c in g]
    unless_misses = [(Phrase("findings.part.unless_filled", {"column": tab.header(c.column)}) if c.op == "filled" else
                      Phrase("findings.part.unless_eq", {"column": tab.header(c.column), "value": c.value}),
                      np.asarray(cond_mask(tab, c), dtype=bool)[flags]) for c in rule.unless]
    n = int(flags.sum())
    res.findings += found_rows(
        tab, rule, scope, rule.column,
        failed=PerRow(_combinations([header for header, _ in any_hits], [hit for _, hit in any_hits], n)),
        missing=PerRow(_combinations([phrase for phrase, _ in unless_misses], [~held for _, held in unless_misses], n)),
        value=_raw_each(tab, scope, rule.column), column=tab.header(rule.column))
    return res


def _combinations(labels: list[Any], hits: list[np.ndarray], n: int) -> list[tuple[Any, ...]]:
    """Per row, the tuple of the ``labels`` whose ``hits`` hold there (in the labels' order); rows
    with the same combination share one tuple."""
    if not labels:
        return [()] * n
    if len(labels) > 62:  # more conditions than bits: row by row
        return [tuple(label for label, hit in zip(labels, hits, strict=True) if hit[i]) for i in range(n)]
    code = np.zeros(n, dtype=np.int64)
    for bit, hit in enumerate(hits):
        code |= hit.astype(np.int64) << bit
    combos = {c: tuple(label for bit, label in enumerate(labels) if c >> bit & 1)
              for c in np.unique(code).tolist()}
    return list(map(combos.__getitem__, code.tolist()))


@rule_kind("at_least", "a number at least a 设置 value (empty counts as 0)",
           params=[Param("setting", "setting", required=True, doc="the 设置 field with the least value"), _WHEN],
           emits=[Emit("", ("expected", "value"), doc="the number is below the setting")])
def k_at_least(tab: "BoundTab", rule: Rule, ctx: RuleContext) -> RuleResult:
    expected = _setting(ctx, rule)
    values = pd.to_numeric(tab.frame[rule.column], errors="coerce").fillna(0)
    mask = rule_scope(tab, rule) & (values < expected) & ~tab.bad[rule.column]
    return RuleResult(found_rows(tab, rule, mask, rule.column, expected=expected,
                                 value=_raw_each(tab, mask, rule.column)))


_OTHER = Param("other", "column", required=True, doc="the column compared with")
_COMPARED = ("value", "other_value", "column", "other")


def _compare(tab: "BoundTab", rule: Rule, bad: Callable[[pd.Series, pd.Series], pd.Series],
             keep: pd.Series | None = None) -> RuleResult:
    other = rule.params["other"]
    a, b = _dt(tab, rule.column), _dt(tab, other)
    mask = (a.notna() & b.notna() & bad(a, b)).fillna(False) & rule_scope(tab, rule)
    if keep is not None:
        mask &= keep
    return RuleResult(found_rows(tab, rule, mask, rule.column, value=_each(mask, a), other_value=_each(mask, b),
                                 column=tab.header(rule.column), other=tab.header(other)))


@rule_kind("after", "`column` later than `other`", params=[_OTHER],
           emits=[Emit("", _COMPARED, doc="`column` is not later than `other`")])
def k_after(tab: "BoundTab", rule: Rule, ctx: RuleContext) -> RuleResult:
    return _compare(tab, rule, lambda a, b: a <= b)


@rule_kind("not_after", "`column` not later than `other`", params=[_OTHER, _EXPLAINED_BY],
           emits=[Emit("", _COMPARED, doc="`column` is later than `other`: a fact of the past, cleared by a reason "
                                          "in `explained_by`, or once 周报 reported the week of `other`")])
def k_not_after(tab: "BoundTab", rule: Rule, ctx: RuleContext) -> RuleResult:
    cleared = explained(tab, rule) | ctx.reported_mask(_dt(tab, rule.params["other"]))
    return _compare(tab, rule, lambda a, b: a > b, ~cleared)


@rule_kind("not_same", "`column` differs from `other` (nobody signs their own sheet)", params=[_OTHER],
           emits=[Emit("", ("value",), doc="both columns hold the same name")])
def k_not_same(tab: "BoundTab", rule: Rule, ctx: RuleContext) -> RuleResult:
    other = rule.params["other"]
    a, b = by_distinct(tab.frame[rule.column], _folded), by_distinct(tab.frame[other], _folded)
    mask = (a.notna() & b.notna() & (a == b)).fillna(False).astype(bool) & rule_scope(tab, rule)
    return RuleResult(found_rows(tab, rule, mask, rule.column, value=_raw_each(tab, mask, rule.column)))


@rule_kind("due_before", "`columns` filled once `start` is less than the 设置 lead time away",
           params=[Param("start", "column", required=True, doc="when it starts"),
                   Param("columns", "columns", required=True, doc="what must be filled by then"),
                   Param("setting", "setting", required=True, doc="the 设置 lead time"),
                   _EXPLAINED_BY, _SUBJECT],
           emits=[Emit("", ("start", "limit", "missing", "deadline", "subject"),
                       doc="not filled in although `start` is less than the lead time away; `{missing}` "
                           "are the headers still empty. The red goes on `column`, or on the first empty one. "
                           "Once `start` has passed it is a miss: cleared by a reason in `explained_by`, or "
                           "once 周报 reported the week of `start`", priority=PRIORITY_TIME),
                  Emit("due_soon", ("start", "limit", "missing", "deadline", "remaining", "subject"),
                       field="due_soon_message",
                       doc="amber: the same, while the deadline (`start` − the lead time) is less than 设置 "
                           "`warn_lead` (percent of the lead time) away", severity="warn", priority=PRIORITY_TIME)])
def k_due_before(tab: "BoundTab", rule: Rule, ctx: RuleContext) -> RuleResult:
    lead: timedelta = _setting(ctx, rule)
    start = _dt(tab, rule.params["start"])
    cols = rule.params["columns"]
    empty = {c: empty_mask(tab, c) for c in cols}
    missing_any = pd.Series(False, index=tab.frame.index)
    for c in cols:
        missing_any |= empty[c]
    now = pd.Timestamp(ctx.now)
    deadline = start - lead
    due = (start.notna() & (deadline <= now)).fillna(False)
    warn = ctx.warn_lead(lead)
    soon = (start.notna() & (deadline - warn <= now) & (deadline > now)).fillna(False) if warn else due & False
    past = (start <= now).fillna(False).astype(bool)  # it started unsigned: a miss, no longer a to-do
    cleared = past & (explained(tab, rule) | ctx.reported_mask(start))
    scope = missing_any & rule_scope(tab, rule) & ~cleared
    subject = _subject(tab, rule)
    res = RuleResult()
    for outcome, mask in (("", due), ("due_soon", soon)):
        for row, s, d, who, *gaps in _picked(mask.astype(bool) & scope, start, deadline, subject,
                                             *(pd.Series(empty[c], index=tab.frame.index) for c in cols)):
            missing = [c for c, gap in zip(cols, gaps, strict=True) if gap]
            column = rule.column if rule.column in missing else missing[0]
            more: dict[str, Any] = {"remaining": Duration.of(d - ctx.now)} if outcome else {}
            res.findings.append(found(tab, rule, row, column, outcome, start=s, limit=_limit(lead), deadline=d,
                                      missing=tuple(tab.header(c) for c in missing), subject=who, **more))
    return res


def _signature_text(tab: "BoundTab", row: int, cols: Iterable[str]) -> str:
    return "\x1f".join(_canon(tab.frame.at[row, c]) for c in cols)


def _canon(value: Any) -> str:
    """Compare parsed values, not how they were typed: '5件' and 5 are the same stock."""
    if _missing(value):
        return ""
    if isinstance(value, (pd.Timestamp, datetime)):
        return pd.Timestamp(value).isoformat()
    if isinstance(value, tuple):
        return ",".join(sorted(v.upper() for v in value))
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    return str(value)


@rule_kind("changed_after_sign", "`watch` columns unchanged since the `signature` columns were filled "
                                 "(what a signed row said is kept in the hidden state tab)",
           params=[Param("signature", "columns", required=True, doc="filled = signed"),
                   Param("watch", "columns", required=True, doc="what may not change after signing")],
           emits=[Emit("", ("changes",), doc="a watched cell changed after signing; `{changes}` lists "
                                             "each change (column, old value, new value)")])
def k_changed_after_sign(tab: "BoundTab", rule: Rule, ctx: RuleContext) -> RuleResult:
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
    for key, kept in ctx.signed.items():
        if key.startswith(prefix) and key not in present:
            orphans.setdefault(kept.get("signature", ""), []).append(kept)
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
        shown = {c: _stored(tab.raw_value(row, c)) for c in watch}
        record: dict[str, Any] | None = ctx.signed.get(key)
        if record is None and len(orphans.get(signature, ())) == 1 and len(newcomers[signature]) == 1:
            record = orphans[signature][0]  # one row gone, one row new, same signature: a rename
        if record is None or record.get("signature") != signature:
            res.signed[key] = {"signature": signature, "values": current, "shown": shown}
            continue
        res.signed[key] = record
        changed = [c for c in watch if record["values"].get(c, "") != current[c]]
        if not changed:
            continue
        changes = tuple(Phrase("findings.part.changed_item", {"column": tab.header(c),
                                                              "old": record["shown"].get(c, ""), "new": shown[c]})
                        for c in changed)
        for c in changed:
            res.findings.append(found(tab, rule, row, c, changes=changes))
    return res


def sla_frames(tab: "BoundTab", rule: Rule, ctx: RuleContext) -> tuple[pd.Series, pd.Series, pd.Series, pd.Series]:
    """(start, end, elapsed working time, deadline) for an sla rule, vectorised."""
    clock = ctx.clock(clock_kind(ctx, rule))
    limit: timedelta = _setting(ctx, rule)
    start, end = _dt(tab, rule.params["start"]), _dt(tab, rule.params["end"])
    elapsed = clock.elapsed_series(start, end)
    deadline = clock.deadline_series(start, limit)
    return start, end, elapsed, deadline


def clock_kind(ctx: RuleContext, rule: Rule) -> str:
    """"work" or "calendar": the 设置 row named by ``clock_setting`` when the rule has one, else
    the rule's own ``clock`` (default work)."""
    if "clock_setting" in rule.params:
        return str(getattr(ctx.settings, rule.params["clock_setting"]))
    return str(rule.params.get("clock", "work"))


def sla_met(tab: "BoundTab", rule: Rule, ctx: RuleContext) -> pd.Series:
    """Rows where the end is filled in and came within the limit (KPI numerators)."""
    limit: timedelta = _setting(ctx, rule)
    start, end, elapsed, _ = sla_frames(tab, rule, ctx)
    return (start.notna() & end.notna() & (elapsed <= pd.Timedelta(limit))).fillna(False).astype(bool)


def sla_missed(tab: "BoundTab", rule: Rule, ctx: RuleContext) -> pd.Series:
    """Rows where the end came after the limit (the misses a reason is asked for)."""
    limit: timedelta = _setting(ctx, rule)
    start, end, elapsed, _ = sla_frames(tab, rule, ctx)
    return (start.notna() & end.notna() & (end >= start) & (elapsed > pd.Timedelta(limit))).fillna(False).astype(bool)


def explained(tab: "BoundTab", rule: Rule) -> pd.Series:
    """Rows whose ``explained_by`` column (备注, 差错说明) holds a reason: a miss explained is not red."""
    col = rule.params.get("explained_by")
    if not col:
        return pd.Series(False, index=tab.frame.index)
    return ~empty_mask(tab, col)


def _subject(tab: "BoundTab", rule: Rule) -> pd.Series:
    col = rule.params.get("subject")
    if not col:
        return pd.Series(None, index=tab.frame.index, dtype=object)
    return tab.raw[col]




@rule_kind("sla", "`end − start` within a 设置 limit",
           params=[Param("start", "column", required=True, doc="when the clock starts"),
                   Param("end", "column", required=True, doc="when it stops"),
                   Param("setting", "setting", required=True, doc="the 设置 limit"),
                   Param("clock", "enum", values=("work", "calendar"),
                         doc="`work` (default) counts the working hours of 设置 only, `calendar` every hour"),
                   Param("clock_setting", "setting",
                         doc="a 设置 row (工作时间 / 全天) that says how this limit counts; overrides `clock`"),
                   _WHEN,
                   Param("overdue", "bool", doc="default true: also flag an empty `end` past the deadline "
                                                "(and warn before it)"),
                   _EXPLAINED_BY, _SUBJECT],
           emits=[Emit("", ("actual", "limit", "start", "deadline"), field="late_message",
                       doc="`end` came after the limit; `{actual}` is how long it took. Cleared by a reason "
                           "in `explained_by`, or once 周报 reported the week of `start`",
                       priority=PRIORITY_TIME),
                  Emit("overdue", ("limit", "start", "deadline", "subject"), field="overdue_message",
                       doc="`end` is empty and the deadline has passed: still a to-do, cleared by filling "
                           "`end`", priority=PRIORITY_TIME),
                  Emit("due_soon", ("limit", "start", "deadline", "remaining", "subject"), field="due_soon_message",
                       doc="amber: `end` is empty and the deadline is less than 设置 `warn_lead` (percent of "
                           "the limit, working time like the limit) away; `{remaining}` is the time left",
                       severity="warn", priority=PRIORITY_TIME),
                  Emit("before_start", ("column", "value", "start_column", "start"), field="",
                       doc="`end` is earlier than `start` (on the `end` column)")])
def k_sla(tab: "BoundTab", rule: Rule, ctx: RuleContext) -> RuleResult:
    # the masks are numpy arrays (a pandas operation costs tens of microseconds whatever the
    # rows: most of this rule's time on every run, idle ones too); a Series only for rows found
    limit: timedelta = _setting(ctx, rule)
    clock = ctx.clock(clock_kind(ctx, rule))  # the clock the limit counts in (clock_setting too)
    shown = _limit(limit)
    start, end, elapsed, deadline = sla_frames(tab, rule, ctx)
    index = tab.frame.index
    s, e = start.to_numpy(dtype="datetime64[ns]"), end.to_numpy(dtype="datetime64[ns]")
    took_all, due = elapsed.to_numpy(dtype="timedelta64[ns]"), deadline.to_numpy(dtype="datetime64[ns]")
    scope = np.asarray(rule_scope(tab, rule), dtype=bool)
    has_both = ~np.isnat(s) & ~np.isnat(e)  # comparisons with NaT are False
    res = RuleResult()
    end_col, start_col = rule.params["end"], rule.params["start"]
    before = has_both & (e < s) & scope
    if before.any():
        flags = pd.Series(before, index=index)
        res.findings += found_rows(tab, rule, flags, end_col, "before_start", column=tab.header(end_col),
                                   value=_each(before, end), start_column=tab.header(start_col),
                                   start=_each(before, start))
    late = has_both & (e >= s) & (took_all > np.timedelta64(pd.Timedelta(limit).value, "ns")) & scope
    if late.any():
        late &= ~np.asarray(explained(tab, rule), dtype=bool) & ~np.asarray(ctx.reported_mask(start), dtype=bool)
    if late.any():
        took = _each(late, elapsed).values
        res.findings += found_rows(tab, rule, pd.Series(late, index=index), rule.column,
                                   actual=PerRow(Duration.many(t.total_seconds() for t in took)), limit=shown,
                                   start=_each(late, start), deadline=_each(late, deadline))
    del late, has_both, took_all
    if rule.params.get("overdue", True):
        now = np.datetime64(pd.Timestamp(ctx.now).as_unit("ns").to_datetime64(), "ns")
        # still waiting is a to-do whatever 备注 says ("等快递回复"): only filling `end` clears it
        waiting = ~np.isnat(s) & np.asarray(empty_mask(tab, end_col), dtype=bool) & scope
        if not waiting.any():
            return res
        subject = _subject(tab, rule)
        overdue = waiting & (due < now)
        if overdue.any():
            res.findings += found_rows(tab, rule, pd.Series(overdue, index=index), rule.column, "overdue",
                                       limit=shown, start=_each(overdue, start), deadline=_each(overdue, deadline),
                                       subject=_each(overdue, subject))
        lead = ctx.warn_lead(limit)
        if lead:
            warn_at = clock.deadline_series(start, limit - lead).to_numpy(dtype="datetime64[ns]")
            soon = waiting & (warn_at <= now) & (due >= now)
            if soon.any():
                dues = _each(soon, deadline)
                res.findings += found_rows(tab, rule, pd.Series(soon, index=index), rule.column, "due_soon",
                                           limit=shown, start=_each(soon, start), deadline=dues,
                                           remaining=PerRow(Duration.many(clock.elapsed(ctx.now, d).total_seconds()
                                                                          for d in dues.values)),
                                           subject=_each(soon, subject))
    return res


def filled_key(tab_id: str, row_key: str, col_id: str) -> str:
    """How the state remembers a value sheetsync filled in."""
    return f"{tab_id}\x1f{row_key}\x1f{col_id}"


@rule_kind("role", "`column` names a member with `role` in 成员",
           params=[Param("role", "text", required=True, doc="a value of 成员's 角色 column"), _WHEN,
                   Param("fill_empty", "bool", doc="true: an empty cell is filled with the role's first member")],
           emits=[Emit("", ("names", "value", "role"), doc="the cell names someone without the role "
                                                          "(or is empty, without `fill_empty`)"),
                  Emit("no_member", ("role",), field="",
                       doc="nobody in 成员 has the role (on the 成员 tab, not painted)"),
                  Emit("assigned", ("value", "role", "names"), field="",
                       doc="a note (not a problem) on a cell `fill_empty` filled: sheetsync assigned it from "
                           "成员. It goes when a person changes the value", severity="info",
                       priority=PRIORITY_INFO)])
def k_role(tab: "BoundTab", rule: Rule, ctx: RuleContext) -> RuleResult:
    role = rule.params["role"]
    names = ctx.workbook.names_for_role(role)
    scope = rule_scope(tab, rule)
    res = RuleResult()
    if not bool(scope.any()):
        return res
    if not names:
        members = ctx.workbook.by_role("members")
        res.findings.append(Finding(members.title, 0, "", 0, None, rule.code_for("no_member"), "",
                                    owner_role=ctx.template.manager_role, job=rule.job, paint=False,
                                    tab_id=members.template.key, params={"role": role}))
        return res
    empty = empty_mask(tab, rule.column) & scope
    known = {_folded(n) for n in names}
    values = by_distinct(tab.frame[rule.column], _folded)
    bad = (values.notna() & ~values.isin(known)).astype(bool) & scope
    if rule.params.get("fill_empty"):  # routing: an empty cell gets the role's first member
        col = tab.col_index[rule.column]
        for row in _rows(empty):
            key = tab.keys[row]
            res.fills.append(FillValue(tab.title, row, col, key, names[0]))
            res.filled[filled_key(tab.template.key, key, rule.column)] = names[0]
            note = found(tab, rule, row, rule.column, "assigned", value=names[0], role=role, names=tuple(names))
            res.findings.append(replace(note, value=names[0]))  # as the cell will read once filled
        # a value sheetsync filled in earlier keeps its note until a person changes it (the rows are
        # looked at only when the state remembers a value filled in this column)
        prefix, suffix = f"{tab.template.key}\x1f", f"\x1f{rule.column}"
        earlier = any(k.startswith(prefix) and k.endswith(suffix) for k in ctx.filled)
        for row, value in _picked(values.notna() & ~bad & scope, values) if earlier else ():
            key = filled_key(tab.template.key, tab.keys[row], rule.column)
            if key in ctx.filled and _folded(str(ctx.filled[key])) == value:
                res.filled[key] = ctx.filled[key]
                res.findings.append(found(tab, rule, row, rule.column, "assigned", value=ctx.filled[key],
                                          role=role, names=tuple(names)))
    else:
        bad |= empty
    res.findings += found_rows(tab, rule, bad, rule.column, names=tuple(names),
                               value=_raw_each(tab, bad, rule.column), role=role)
    return res


@rule_kind("choice_by", "the value is allowed for the category in `by`",
           params=[Param("by", "column", required=True, doc="the category column"),
                   Param("choices", "choice_map", required=True, doc="category -> list of allowed values"),
                   Param("aliases", "alias_map", doc="other spellings of allowed values")],
           emits=[Emit("", ("by_value", "expected", "value"),
                       doc="the value is not allowed for the category; `{expected}` lists the allowed ones")])
def k_choice_by(tab: "BoundTab", rule: Rule, ctx: RuleContext) -> RuleResult:
    by = rule.params["by"]
    mapping: dict[str, tuple[str, ...]] = rule.params["choices"]
    aliases = {_squash(k): _squash(v) for k, v in rule.params.get("aliases", {}).items()}
    values = by_distinct(tab.frame[rule.column], lambda v: aliases.get(_squash(v), _squash(v)))
    cats = tab.frame[by]
    fits = pd.Series(False, index=tab.frame.index)
    for cat, choices in mapping.items():
        fits |= (cats == cat).fillna(False).astype(bool) & values.isin({_squash(v) for v in choices})
    bad = values.notna() & cats.isin(list(mapping)).fillna(False).astype(bool) & ~fits & rule_scope(tab, rule)
    picked = _each(bad, cats).values
    expected = {cat: tuple(choices) for cat, choices in mapping.items()}
    return RuleResult(found_rows(tab, rule, bad, rule.column, by_value=PerRow(picked),
                                 value=_raw_each(tab, bad, rule.column),
                                 expected=PerRow([expected[cat] for cat in picked])))


# -- cross-tab: promotions against 库存 ---------------------------------------------------------


@dataclass(frozen=True)
class InventoryIndex:
    stock: dict[str, float]
    floor: dict[str, float]

    @classmethod
    def of(cls, tab: "BoundTab") -> "InventoryIndex":
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


def promoted_skus(tab: "BoundTab", rule: Rule, row: int) -> tuple[str, ...]:
    """The SKUs of ``skus`` on a row, without those of the ``excluded`` column (不适用商品)."""
    skus = _skus(tab.frame.at[row, rule.params["skus"]])
    excluded_col = rule.params.get("excluded")
    if not excluded_col:
        return skus
    excluded = set(_skus(tab.frame.at[row, excluded_col]))
    return tuple(s for s in skus if s not in excluded)


_EXCLUDED = Param("excluded", "column", doc="SKUs listed here (不适用商品) do not count")


@rule_kind("stock_covers", "declared stock at most the 库存 of the SKUs",
           params=[Param("skus", "column", required=True, doc="the SKU list column"), _INVENTORY, _EXCLUDED,
                   _UNTIL],
           emits=[Emit("", ("value", "actual", "skus"), doc="more is declared than the SKUs have in stock")])
def k_stock_covers(tab: "BoundTab", rule: Rule, ctx: RuleContext) -> RuleResult:
    inv = InventoryIndex.of(ctx.workbook.tab(rule.params["inventory"]))
    declared = pd.to_numeric(tab.frame[rule.column], errors="coerce")
    res = RuleResult()
    for row in _rows(declared.notna() & rule_scope(tab, rule) & _still_on(tab, rule, ctx)):
        skus = promoted_skus(tab, rule, row)
        if not skus or any(s not in inv.stock or np.isnan(inv.stock[s]) for s in skus):
            continue  # unknown SKUs are their own finding
        actual = sum(inv.stock[s] for s in skus)
        if declared.at[row] > actual:
            res.findings.append(found(tab, rule, row, rule.column, value=declared.at[row], actual=actual, skus=skus))
    return res


@rule_kind("sku_known", "every SKU exists in 库存", params=[_INVENTORY],
           emits=[Emit("", ("unknown",), doc="SKUs that are not in 库存")])
def k_sku_known(tab: "BoundTab", rule: Rule, ctx: RuleContext) -> RuleResult:
    inv = InventoryIndex.of(ctx.workbook.tab(rule.params["inventory"]))
    if not inv.stock and not ctx.workbook.tab(rule.params["inventory"]).usable:
        return RuleResult()
    res = RuleResult()
    for row in _rows(~empty_mask(tab, rule.column) & rule_scope(tab, rule)):
        unknown = tuple(s for s in _skus(tab.frame.at[row, rule.column]) if s not in inv.stock)
        if unknown:
            res.findings.append(found(tab, rule, row, rule.column, unknown=unknown))
    return res


@rule_kind("price_floor", "price at least the highest 最低价 of the SKUs",
           params=[Param("skus", "column", required=True, doc="the SKU list column"), _INVENTORY, _EXCLUDED,
                   _UNTIL],
           emits=[Emit("", ("value", "sku", "floor"), doc="the price is below a SKU's 最低价")])
def k_price_floor(tab: "BoundTab", rule: Rule, ctx: RuleContext) -> RuleResult:
    inv = InventoryIndex.of(ctx.workbook.tab(rule.params["inventory"]))
    price = pd.to_numeric(tab.frame[rule.column], errors="coerce")
    res = RuleResult()
    for row in _rows(price.notna() & rule_scope(tab, rule) & _still_on(tab, rule, ctx)):
        floors = [(inv.floor[s], s) for s in promoted_skus(tab, rule, row) if s in inv.floor]
        if not floors:
            continue
        floor, sku = max(floors)
        if price.at[row] < floor:
            res.findings.append(found(tab, rule, row, rule.column, value=price.at[row], sku=sku, floor=floor))
    return res


@rule_kind("export_matches", "库存 count equals the back-office export (`stock_export` in sheetsync.toml)",
           emits=[Emit("", ("value", "actual", "source"), doc="the export has another count for the SKU")])
def k_export_matches(tab: "BoundTab", rule: Rule, ctx: RuleContext) -> RuleResult:
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
            res.findings.append(found(tab, rule, int(row), rule.column, value=qty, actual=other,
                                      source=ctx.stock_export_source))
    return res


@rule_kind("export_known", "every SKU of 库存 is in the back-office export",
           emits=[Emit("", ("source",), doc="the SKU is not in the export")])
def k_export_known(tab: "BoundTab", rule: Rule, ctx: RuleContext) -> RuleResult:
    res = RuleResult()
    if ctx.stock_export is None:
        return res
    for row in tab.frame.index:
        sku = tab.frame.at[row, rule.column]
        if isinstance(sku, str) and sku and sku.strip().upper() not in ctx.stock_export:
            res.findings.append(found(tab, rule, int(row), rule.column, source=ctx.stock_export_source))
    return res


# Kinds whose result depends on the workbook's content alone (the tab, 成员, 库存, 设置 and the state
# tab are all content): on an unchanged workbook their last result stands. The others read the
# time of the run (SLA clocks, "overdue", lead times) or the back-office export, and a kind not
# listed here is always recomputed.
# (not_after, stock_covers and price_floor depend on the time: a reported week, a promotion that ended)
TIMELESS_KINDS = frozenset({"require_if", "forbid", "at_least", "after", "not_same", "role", "choice_by",
                            "sku_known"})


# A content-only result that reads several tabs is kept in the run's memo under
# ``of_tabs(tabs, ...)``: the shell keeps it after an edit while none of those tabs (nor what
# their rules read) changed, as it keeps a rule's result under (its tab id, its code).
OF_TABS = "@tabs"


def of_tabs(tabs: Iterable[str | None], *what: Any) -> tuple[Any, ...]:
    """The memo key of a content-only result computed from ``tabs`` (template tab ids)."""
    return (OF_TABS, tuple(sorted({t for t in tabs if t})), *what)


def check_tab(tab: "BoundTab", ctx: RuleContext, *, job: str) -> RuleResult:
    """Run every rule of ``job`` on one tab. A rule whose columns are missing is skipped (the
    missing column is already reported by the binding). With ``ctx.memo``, a timeless rule's
    result is taken from it (or computed and kept there)."""
    res = RuleResult()
    if not tab.usable or tab.frame.empty:
        return res
    for rule in tab.template.rules:
        if rule.job != job:
            continue
        if not tab.has(*rule.columns_used()):
            log.debug("rule %s skipped on %s: column missing", rule.code, tab.title)
            continue
        res.extend(ctx.result(tab, rule))
    return _owned_by_fills(tab, res)


def _owned_by_fills(tab: "BoundTab", res: RuleResult) -> RuleResult:
    """A row whose owner column is being filled this run (routing) belongs to the person filled in."""
    if not res.fills:
        return res
    by_cell = {(f.row, f.col): str(f.value) for f in res.fills if f.tab == tab.title}
    owner_col = {r.code: tab.col_index.get(r.owner_column, 0) for r in tab.template.rules if r.owner_column}
    for i, f in enumerate(res.findings):
        if f.owners or f.tab != tab.title:
            continue
        rule_code = next((c for c in sorted(owner_col, key=len, reverse=True)
                          if f.code == c or f.code.startswith(c + ".")), None)
        value = by_cell.get((f.row, owner_col[rule_code])) if rule_code else None
        if value:
            res.findings[i] = replace(f, owners=(value,))
    return res
