"""Rule kinds of orders, returns, bad-review follow-up, promotions against selection, and the
problems fed back to selection (issue 11).

Registered with the same ``@rule_kind`` decorator as ``rules.py`` (the template reader imports
this module, so its kinds are known wherever a template is). Like every kind, they emit codes and
parameters, never words; the words are in ``messages/findings.toml``.

* ``band_fit``: a value (物流渠道) must belong to the first band that fits the row's declared
  value, size and weight (seed 002's shipping classes, as template data).
* ``plan_fits``: every part of a plan (处理方案: 说明+物流查询+优惠券) must name a remedy allowed for
  the row's category, with a written-out "其他" escape.
* ``sku_overlap``: a SKU may not be in two SKU lists of a row (适用商品 and 不适用商品).
* ``selection_verdict``: a promoted SKU whose latest 选品检查表 verdict is 退回.
* ``quality_feedback``: a SKU or 供应商 with too many quality problems in the last days — one
  finding for the 选品 people, on the SKU's next 选品检查表 row.
"""

from __future__ import annotations


import re
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any, Iterable, Mapping

import numpy as np
import pandas as pd

from . import parsing
from .model import PRIORITY_INFO, FillValue, Finding, object_array
from .rules import (Emit, MaskCounter, Param, Rule, RuleContext, RuleResult, _rows, _skus, _squash, all_of,
                    empty_mask, filled_key, found, plain, promoted_skus, rule_kind, rule_scope)

if TYPE_CHECKING:
    from .binding import BoundTab, BoundWorkbook
    from .template import Feedback, FeedbackSource

# what a band of a `bands` parameter may limit: the declared value, the longest side, the sum of
# the sides, the weight, and `bulky` (a volume divisor: a light bulky parcel's volume weight,
# L×W×H / bulky, is at least its real weight)
BAND_LIMITS = ("value_below", "value_min", "side_max", "girth_max", "weight_below", "weight_min", "bulky")


@dataclass(frozen=True)
class Band:
    name: str  # the class as people write it (and what an empty cell is filled with)
    channels: tuple[str, ...]
    limits: tuple[tuple[str, float], ...] = ()


_WHEN = Param("when", "conditions", doc="the rule applies to rows where all hold")


def _number(value: Any) -> float | None:
    value = plain(value)
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


# -- band_fit -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Parcel:
    declared: float | None  # in the bands' currency
    weight: float | None
    sides: tuple[float, ...] | None  # None when a side is missing

    def measure(self, limit: str) -> float | None:
        if limit.startswith("value"):
            return self.declared
        if limit.startswith("weight"):
            return self.weight
        if self.sides is None:
            return None
        if limit == "side_max":
            return max(self.sides)
        if limit == "girth_max":
            return sum(self.sides)
        return None

    def holds(self, limit: str, bound: float) -> bool | None:
        """True / False, or None when the row does not say enough to tell."""
        if limit == "bulky":
            if self.sides is None or self.weight is None:
                return None
            volume = 1.0
            for side in self.sides:
                volume *= side
            return volume / bound >= self.weight
        x = self.measure(limit)
        if x is None:
            return None
        if limit.endswith("_below"):
            return x < bound
        if limit.endswith("_min"):
            return x >= bound
        return x <= bound  # _max


def fitting_band(parcel: _Parcel, bands: Iterable[Band]) -> Band | None:
    """The first band whose limits all hold; None when a limit cannot be told before one fits."""
    for band in bands:
        results = [parcel.holds(limit, bound) for limit, bound in band.limits]
        if all(r is True for r in results):
            return band
        if any(r is None for r in results) and not any(r is False for r in results):
            return None  # this band might fit: the row does not say
    return None


@rule_kind("band_fit", "`column` (物流渠道) is a channel of the first band that fits the row's declared "
                       "value, size and weight",
           params=[Param("value", "column", required=True, doc="the declared value (金额)"),
                   Param("currency", "column", doc="its currency (币种); converted with `rates`"),
                   Param("rates", "number_map", doc="currency as typed -> value of one unit in the bands' currency"),
                   Param("weight", "column", doc="the weight (kg)"),
                   Param("sides", "columns", doc="the sides (cm): the longest is `side_max`, their sum `girth_max`"),
                   Param("bands", "bands", required=True,
                         doc="in order, `{ name, channels, value_below, value_min, side_max, girth_max, weight_below, "
                             "weight_min, bulky }`; the first whose limits hold fits, one without limits fits all"),
                   Param("fill_empty", "bool", doc="true: an empty cell is filled with the fitting band's `name`"),
                   Param("aliases", "alias_map", doc="other spellings of channels (another language's)"),
                   _WHEN],
           emits=[Emit("", ("value", "band", "expected", "declared", "currency", "weight", "side", "girth"),
                       doc="the channel is not one of the fitting band's; `{band}` is its name, `{expected}` its "
                           "channels"),
                  Emit("filled", ("value", "band", "expected"), field="",
                       doc="a note (not a problem) on a cell `fill_empty` filled with the fitting class; it goes "
                           "when a person writes the channel chosen", severity="info", priority=PRIORITY_INFO)])
def k_band_fit(tab: "BoundTab", rule: Rule, ctx: RuleContext) -> RuleResult:
    p = rule.params
    bands: tuple[Band, ...] = p["bands"]
    rates = {_squash(k): v for k, v in p.get("rates", {}).items()}
    aliases = {_squash(k): _squash(v) for k, v in p.get("aliases", {}).items()}
    sides_cols = [c for c in p.get("sides", ()) if tab.has(c)]
    res = RuleResult()
    scope = rule_scope(tab, rule)
    empty = empty_mask(tab, rule.column)
    for row in _rows(scope):
        amount = _number(tab.frame.at[row, p["value"]])
        currency = plain(tab.frame.at[row, p["currency"]]) if "currency" in p and tab.has(p["currency"]) else None
        declared = amount
        if amount is not None and rates and currency:
            rate = rates.get(_squash(currency))
            declared = amount * rate if rate is not None else None
        weight = _number(tab.frame.at[row, p["weight"]]) if "weight" in p and tab.has(p["weight"]) else None
        sides = tuple(_number(tab.frame.at[row, c]) for c in sides_cols)
        parcel = _Parcel(declared, weight, None if not sides or any(s is None for s in sides)
                         else tuple(float(s) for s in sides if s is not None))
        band = fitting_band(parcel, bands)
        if band is None:
            continue
        key = filled_key(tab.template.key, tab.keys[row], rule.column)
        if bool(empty.at[row]):
            if p.get("fill_empty"):
                res.fills.append(FillValue(tab.title, row, tab.col_index[rule.column], tab.keys[row], band.name))
                res.filled[key] = band.name
                note = found(tab, rule, row, rule.column, "filled", value=band.name, band=band.name,
                             expected=band.channels)
                res.findings.append(replace(note, value=band.name))  # as the cell will read once filled
            continue
        value = tab.frame.at[row, rule.column]
        if not isinstance(value, str):
            continue
        if aliases.get(_squash(value), _squash(value)) in {_squash(x) for x in (band.name, *band.channels)}:
            if key in ctx.filled and _squash(str(ctx.filled[key])) == _squash(value):  # still what sheetsync wrote
                res.filled[key] = ctx.filled[key]
                res.findings.append(found(tab, rule, row, rule.column, "filled", value=value, band=band.name,
                                          expected=band.channels))
            continue
        res.findings.append(found(tab, rule, row, rule.column, value=tab.raw_value(row, rule.column), band=band.name,
                                  expected=band.channels, declared=amount, currency=currency or "",
                                  weight=weight, side=max(parcel.sides) if parcel.sides else None,
                                  girth=sum(parcel.sides) if parcel.sides else None))
    return res


# -- plan_fits ----------------------------------------------------------------------------------

_PARTS = re.compile(r"[+＋、,，;；/]")
_ESCAPE_FILLER = re.compile(r"[\s()（）:：\-—]|写明")


@rule_kind("plan_fits", "every part of `column` (a plan such as 说明+物流查询+优惠券) names a remedy allowed for "
                        "the category in `by`",
           params=[Param("by", "column", required=True, doc="the category column (原因分类)"),
                   Param("choices", "choice_map", required=True,
                         doc="category -> the remedies allowed; a part fits when it contains one of them"),
                   Param("other", "text",
                         doc="the escape (其他): a plan that starts with it and says what was done fits"),
                   Param("aliases", "alias_map", doc="other words (another language's) -> the remedy they mean"),
                   _WHEN],
           emits=[Emit("", ("by_value", "expected", "value", "other"),
                       doc="a part of the plan is not a remedy for the category; `{expected}` lists the allowed ones"),
                  Emit("other_empty", ("value", "other"), field="other_message",
                       doc="the plan is the escape without saying what was done")])
def k_plan_fits(tab: "BoundTab", rule: Rule, ctx: RuleContext) -> RuleResult:
    by = rule.params["by"]
    mapping: dict[str, tuple[str, ...]] = rule.params["choices"]
    other = rule.params.get("other", "")
    aliases = {_squash(k): _squash(v) for k, v in rule.params.get("aliases", {}).items()}
    res = RuleResult()
    mask = rule_scope(tab, rule) & ~empty_mask(tab, rule.column) & tab.frame[by].isin(list(mapping)).fillna(False)
    for row in _rows(mask.astype(bool)):
        value, cat = tab.frame.at[row, rule.column], tab.frame.at[row, by]
        if not isinstance(value, str):
            continue
        text = parsing.normalize_text(value)
        if other and text.startswith(other):
            if not _ESCAPE_FILLER.sub("", text[len(other):]):
                res.findings.append(found(tab, rule, row, rule.column, "other_empty", value=text, other=other))
            continue
        words = {_squash(w) for w in mapping[cat]}
        words |= {k for k, v in aliases.items() if v in words}
        parts = [_squash(x) for x in _PARTS.split(text) if _squash(x)]
        if parts and all(any(w in part for w in words) for part in parts):
            continue
        res.findings.append(found(tab, rule, row, rule.column, by_value=cat, expected=tuple(mapping[cat]),
                                  value=text, other=other))
    return res


# -- promotions: exclusions and selection verdicts -------------------------------------------------


@rule_kind("sku_overlap", "no SKU of `column` is also in `other` (不适用商品 against 适用商品)",
           params=[Param("other", "column", required=True, doc="the other SKU list column")],
           emits=[Emit("", ("skus", "other"), doc="SKUs that are in both lists")])
def k_sku_overlap(tab: "BoundTab", rule: Rule, ctx: RuleContext) -> RuleResult:
    other = rule.params["other"]
    res = RuleResult()
    for row in _rows(~empty_mask(tab, rule.column) & ~empty_mask(tab, other) & rule_scope(tab, rule)):
        theirs = set(_skus(tab.frame.at[row, other]))
        both = tuple(s for s in _skus(tab.frame.at[row, rule.column]) if s in theirs)
        if both:
            res.findings.append(found(tab, rule, row, rule.column, skus=both, other=tab.header(other)))
    return res


def latest_verdicts(sel: "BoundTab") -> dict[str, tuple[Any, Any, Any]]:
    """SKU (upper) -> (date, verdict, reason) of its latest 选品检查表 row (the lower row on a tie)."""
    if not sel.usable or sel.frame.empty or not sel.has("sku", "date", "verdict"):
        return {}
    out: dict[str, tuple[Any, Any, Any]] = {}
    dates = pd.to_datetime(sel.frame["date"], errors="coerce")
    reasons = sel.frame["return_reason"] if sel.has("return_reason") else pd.Series(None, index=sel.frame.index)
    for row in sel.frame.index:
        sku, day = sel.frame.at[row, "sku"], dates.at[row]
        if not isinstance(sku, str) or not sku.strip() or pd.isna(day):
            continue
        key = sku.strip().upper()
        if key not in out or day >= out[key][0]:
            out[key] = (day, sel.frame.at[row, "verdict"], reasons.at[row])
    return out


@rule_kind("selection_verdict", "no SKU of `column` was last judged `rejected` on the 选品检查表",
           params=[Param("selection", "tab", required=True, doc="the 选品检查表 tab's id"),
                   Param("rejected", "text", required=True, doc="the verdict that sends a product back (退回)"),
                   Param("excluded", "column", doc="SKUs listed here (不适用商品) are not promoted"),
                   Param("end", "column", doc="when the promotion ends: one that ended before now is not checked"),
                   _WHEN],
           emits=[Emit("", ("sku", "date", "reason"), doc="a promoted SKU whose latest selection verdict is "
                                                         "`rejected`, with that row's date and reason")])
def k_selection_verdict(tab: "BoundTab", rule: Rule, ctx: RuleContext) -> RuleResult:
    verdicts = latest_verdicts(ctx.workbook.tab(rule.params["selection"]))
    rejected = parsing.normalize_text(rule.params["rejected"])
    res = RuleResult()
    if not verdicts:
        return res
    skus_rule = Rule(rule.kind, rule.code, rule.column, params={"skus": rule.column, **rule.params})
    scope = ~empty_mask(tab, rule.column) & rule_scope(tab, rule)
    if "end" in rule.params:  # a promotion that is over is history
        ends = pd.to_datetime(tab.frame[rule.params["end"]], errors="coerce")
        scope &= ~(ends < pd.Timestamp(ctx.now)).fillna(False).astype(bool)
    for row in _rows(scope):
        for sku in promoted_skus(tab, skus_rule, row):
            day, verdict, reason = verdicts.get(sku, (None, None, None))
            if isinstance(verdict, str) and parsing.normalize_text(verdict) == rejected:
                res.findings.append(found(tab, rule, row, rule.column, sku=sku, date=day.date(), reason=reason))
                break
    return res


# -- problems fed back to selection -------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    """One row of a feedback source: a dispute, a return, a bad review, a question."""

    source: str  # the source's label (售后纠纷)
    at: datetime
    sku: str  # upper case; "" when the row names none and its order is unknown
    by: str  # the reason / type as typed
    detail: str
    quality: bool


def _text(value: Any) -> str:
    value = plain(value)
    return parsing.normalize_text(value) if value is not None else ""


def _texts(values: pd.Series, *, upper: bool = False) -> list[str]:
    """``_text`` of every cell of a column (upper-cased for SKUs), worked out once per distinct
    value: a log of a hundred thousand rows names a few hundred SKUs and reasons."""
    return _text_array(values, upper=upper).tolist()


def _text_array(values: pd.Series, *, upper: bool = False) -> np.ndarray:
    """``_texts`` as an object array: the column factorized, each distinct value worked out once
    and taken back by its codes (empty cells give "")."""
    cells = values.to_numpy(dtype=object)
    try:
        codes, uniques = pd.factorize(cells, use_na_sentinel=True)
    except TypeError:  # an unhashable cell (a SKU list): one by one, a memo for the rest
        return _text_array_by_cell(cells, upper)
    forms = np.empty(len(uniques) + 1, dtype=object)  # the last slot: empty cells (code -1)
    forms[:] = _forms(uniques.tolist(), upper) + [""]
    return forms[codes]


def _forms(values: list[Any], upper: bool) -> list[str]:
    """``_form`` of each distinct value; when all of them are clean (a column of order numbers),
    that is decided once on their join instead of value by value."""
    if values and _all_clean(values):
        return list(map(str.upper, values)) if upper else values
    return [_form(v, upper) for v in values]


def _all_clean(values: list[Any]) -> bool:
    """Whether ``_clean`` holds for every value: all of them exactly ``str``, and their join with
    "|" printable ASCII without a double space and without a space at either end or next to a
    "|" (so no value starts or ends with one). A value that holds " |" itself only makes this
    False, and then each value is looked at on its own."""
    if set(map(type, values)) != {str}:
        return False
    joined = "|".join(values)
    return joined.isascii() and joined.isprintable() and "  " not in joined and " |" not in joined \
        and "| " not in joined and joined[:1] != " " and joined[-1:] != " "


def _form(value: Any, upper: bool) -> str:
    text = value if _clean(value) else _text(value)
    return text.upper() if upper else text


def _clean(value: Any) -> bool:
    """Whether ``value`` is text that ``_text`` gives back as it is (printable ASCII, single
    spaces, none at the ends): most order numbers and SKUs, each of them distinct, spared NFKC."""
    return value.__class__ is str and value.isascii() and value.isprintable() and "  " not in value \
        and value[:1] != " " and value[-1:] != " "


def _text_array_by_cell(cells: np.ndarray, upper: bool) -> np.ndarray:
    seen: dict[Any, str] = {}
    out = np.empty(len(cells), dtype=object)
    for i, value in enumerate(cells.tolist()):
        try:
            text = seen[value]
        except KeyError:
            text = seen[value] = _form(value, upper)
        except TypeError:  # unhashable: worked out on its own
            text = _form(value, upper)
        out[i] = text
    return out


def order_skus(wb: "BoundWorkbook", feedback: "Feedback") -> dict[str, str]:
    """订单号 -> SKU (upper) from the orders tab."""
    if not feedback.orders or feedback.orders not in wb.tabs:
        return {}
    orders = wb.tab(feedback.orders)
    if not orders.usable or orders.frame.empty or not orders.has("order", "sku"):
        return {}
    out: dict[str, str] = {}
    for order, sku in zip(_texts(orders.frame["order"]), _texts(orders.frame["sku"], upper=True), strict=True):
        if order and sku:
            out.setdefault(order, sku)
    return out


# how often the feedback sources were read (``feedback_rows``): once per run however many weeks
# 周报 covers and whichever jobs and rules look at them — a test counts it (work, never seconds)
FEEDBACK_READS = MaskCounter()


class FeedbackRows:
    """Every dated row of the feedback sources, oldest first (in the order of the sources, then of
    the sheet, on a tie), column by column: what ``problems`` turns into ``Problem``s.

    ``at`` (datetime64[ns]) is sorted when the table is made; the other columns (``source``: the
    source's label, ``sku``: upper case, "" when the row names none and its order is unknown,
    ``by``: the reason / type as typed, ``detail``: the detail cell as typed, None when the source
    has none, ``quality``: bool) are put in that order only when one is asked for whole (周报 asks
    for them; the quality rule looks at the rows of its window only, which are taken from each
    source's own columns: at a million rows the sorted copies were a tenth of the checks)."""

    _NAMES = ("source", "sku", "by", "detail", "quality")

    def __init__(self, at: np.ndarray, order: np.ndarray, parts: list[tuple[np.ndarray, ...]]) -> None:
        self.at = at
        self._order = order  # sorted position -> position in the sources one after the other
        # per source: its columns in sheet order (None once sorted)
        self._parts: list[list[np.ndarray | None]] = [list(p) for p in parts]
        self._starts = np.cumsum([0] + [len(p[0]) for p in parts[:-1]]).astype(np.int64)
        self._sorted: dict[int, np.ndarray] = {}

    @classmethod
    def empty(cls) -> "FeedbackRows":
        none = np.empty(0, dtype=object)
        return cls(np.empty(0, dtype="datetime64[ns]"), np.empty(0, dtype=np.int64),
                   [(none, none, none, none, np.empty(0, dtype=bool))])

    def _column(self, i: int) -> np.ndarray:
        if i not in self._sorted:
            whole = np.concatenate([_given(p[i]) for p in self._parts])[self._order]
            self._sorted[i] = whole
            for p in self._parts:
                p[i] = None  # the sorted copy holds them now
        return self._sorted[i]

    def _values(self, i: int, rows: slice | np.ndarray) -> np.ndarray:
        """Column ``i`` at the sorted positions ``rows``, without sorting the whole column."""
        if i in self._sorted:
            return self._sorted[i][rows]
        original = self._order[rows]
        if len(self._parts) == 1:
            return _given(self._parts[0][i])[original]
        part = np.searchsorted(self._starts, original, side="right") - 1
        out = np.empty(len(original), dtype=_given(self._parts[0][i]).dtype)
        for k, columns in enumerate(self._parts):
            mine = part == k
            if mine.any():
                out[mine] = _given(columns[i])[original[mine] - self._starts[k]]
        return out

    source = property(lambda self: self._column(0))
    sku = property(lambda self: self._column(1))
    by = property(lambda self: self._column(2))
    detail = property(lambda self: self._column(3))
    quality = property(lambda self: self._column(4))

    def span(self, since: datetime, until: datetime) -> slice:
        """The positions of the rows dated in (since, until]."""
        lo, hi = np.searchsorted(self.at, [moment_ns(since), moment_ns(until)], side="right")
        return slice(int(lo), int(hi))

    def quality_rows(self, rows: slice) -> np.ndarray:
        """The positions in ``rows`` (a span) of the quality problems."""
        return rows.start + np.flatnonzero(self._values(4, rows))

    def problems(self, rows: slice | np.ndarray) -> list[Problem]:
        """The rows at ``rows`` (a slice or positions) as ``Problem``s."""
        ats = pd.DatetimeIndex(self.at[rows]).to_pydatetime().tolist()
        by = self._values(2, rows).tolist()
        # the reason when the detail is empty
        details = [_text(d) or b for d, b in zip(self._values(3, rows).tolist(), by, strict=True)]
        return [Problem(*p) for p in zip(self._values(0, rows).tolist(), ats, self._values(1, rows).tolist(), by,
                                         details, self._values(4, rows).tolist(), strict=True)]


def _given(column: np.ndarray | None) -> np.ndarray:
    assert column is not None, "a source column asked for after it was sorted"
    return column


def moment_ns(moment: datetime) -> np.datetime64:
    """``moment`` as the feedback rows' dates are kept (datetime64[ns]), to search them."""
    return pd.Timestamp(moment).as_unit("ns").to_datetime64()


class _RunMemo:
    """A value kept in a tab's ``derived`` for the rest of the run. The read cache pickles bound
    tabs: this pickles as empty, as the feedback rows are read again in a fraction of the time
    their pickle would add to every later run."""

    __slots__ = ("value",)

    def __init__(self, value: Any = None) -> None:
        self.value = value

    def __reduce__(self) -> tuple[Any, ...]:
        return (_RunMemo, ())


_FEEDBACK_ROWS = "feedback rows"  # the key in ``derived``


def feedback_rows(wb: "BoundWorkbook", feedback: "Feedback") -> FeedbackRows:
    """The dated rows of every feedback source with their SKU (their own SKU column, else their
    order joined to the orders tab), oldest first: read once per run (kept in the first source
    tab's ``derived`` with the tab data it was read from), then sliced by date."""
    home = next((wb.tabs[s.tab] for s in feedback.sources if s.tab in wb.tabs), None)
    read_from = tuple(wb.tabs[k].data if k in wb.tabs else None
                      for k in (feedback.orders, *(s.tab for s in feedback.sources)))
    memo = home.derived.get((_FEEDBACK_ROWS, feedback)) if home is not None else None
    if isinstance(memo, _RunMemo) and memo.value is not None and \
            all(a is b for a, b in zip(memo.value[0], read_from, strict=True)):
        return memo.value[1]
    FEEDBACK_READS.count += 1
    by_order = order_skus(wb, feedback)
    parts = [rows for src in feedback.sources if src.tab in wb.tabs
             for rows in [_source_rows(wb.tabs[src.tab], src, by_order)] if rows is not None]
    if parts:
        at = np.concatenate([p[0] for p in parts])
        order = np.argsort(at, kind="stable")
        table = FeedbackRows(at[order], order, [p[1:] for p in parts])
    else:
        table = FeedbackRows.empty()
    if home is not None:
        home.derived[(_FEEDBACK_ROWS, feedback)] = _RunMemo((read_from, table))
    return table


def _filled(n: int, value: Any) -> np.ndarray:
    """An object array of ``n`` references to ``value`` (``np.full`` makes a copy of a text for
    every cell: 160 MiB of one label over two million feedback rows)."""
    out = np.empty(n, dtype=object)
    out.fill(value)
    return out


class _Columns:
    """``frame[rows]`` a column at a time, as it is asked for (a copy of the whole frame held every
    column of a million-row tab a second time)."""

    def __init__(self, frame: pd.DataFrame, rows: np.ndarray) -> None:
        self.frame, self.rows = frame, rows

    def __getitem__(self, column: str) -> pd.Series:
        return self.frame[column][self.rows]


def _source_rows(tab: "BoundTab", src: "FeedbackSource", by_order: Mapping[str, str]
                 ) -> tuple[np.ndarray, ...] | None:
    """(dates, labels, SKUs, reasons, details, quality) of the dated rows of one source, in
    sheet order; None when it has none. Column by column, each distinct value worked out once."""
    if not tab.usable or tab.frame.empty or not tab.has(src.date, src.by):
        return None
    when = pd.to_datetime(tab.frame[src.date], errors="coerce")
    dated = when.notna().to_numpy(dtype=bool)
    n = int(dated.sum())
    if not n:
        return None
    frame = _Columns(tab.frame, dated)
    if src.quality and tab.has(*(c.column for c in src.quality)):
        quality = all_of(tab, src.quality).to_numpy(dtype=bool)[dated]
    else:
        quality = np.zeros(n, dtype=bool)
    skus = _text_array(frame[src.sku], upper=True) if src.sku and tab.has(src.sku) else _filled(n, "")
    unnamed = skus == ""
    if by_order and unnamed.any() and src.order and tab.has(src.order):  # joined through the order
        known = pd.Index(list(by_order), dtype=object).get_indexer(_text_array(frame[src.order][unnamed]))
        joined = np.empty(len(known), dtype=object)
        joined.fill("")
        joined[known >= 0] = object_array(list(by_order.values()))[known[known >= 0]]
        skus[unnamed] = joined
    by = _text_array(frame[src.by])
    # the details stay as typed until a slice of them is turned into Problems: a million distinct
    # 问题描述 worded up front were the biggest part of the table, and only the quality problems
    # of the last weeks are ever looked at
    details = _filled(n, None)
    if src.detail and src.detail != src.by and tab.has(src.detail):
        details = frame[src.detail].to_numpy(dtype=object)
    return (when.to_numpy()[dated].astype("datetime64[ns]"), _filled(n, src.label), skus, by, details,
            quality & bool(src.quality))


def problems(wb: "BoundWorkbook", feedback: "Feedback", since: datetime, until: datetime, *,
             quality_only: bool = False) -> list[Problem]:
    """Every row of the feedback sources dated in (since, until], with its SKU (its own SKU column,
    else its order joined to the orders tab), oldest first. The sources are read once per run
    (``feedback_rows``); only the rows inside the span are turned into Python values.
    ``quality_only``: only the quality problems (the others are not made at all)."""
    table = feedback_rows(wb, feedback)
    rows = table.span(since, until)
    if quality_only:
        return table.problems(table.quality_rows(rows))
    return table.problems(rows)


def suppliers(sel: "BoundTab") -> dict[str, str]:
    """SKU (upper) -> 供应商 of its latest 选品检查表 row."""
    if not sel.usable or sel.frame.empty or not sel.has("sku", "supplier", "date"):
        return {}
    dates = pd.to_datetime(sel.frame["date"], errors="coerce")
    latest: dict[str, tuple[Any, str]] = {}
    for sku, supplier, day in zip(_texts(sel.frame["sku"], upper=True), _texts(sel.frame["supplier"]),
                                  dates.tolist(), strict=True):
        if sku and supplier and not pd.isna(day) and (sku not in latest or day >= latest[sku][0]):
            latest[sku] = (day, supplier)
    return {sku: supplier for sku, (_d, supplier) in latest.items()}


def _focus(details: Iterable[str], focus: Mapping[str, tuple[str, ...]]) -> tuple[str, ...]:
    out: list[str] = []
    for detail in details:
        for word, checks in focus.items():
            if word.lower() in detail.lower():
                out.extend(c for c in checks if c not in out)
    return tuple(out)


def _next_row(sel: "BoundTab", rows: Iterable[int], day: date) -> int:
    """The first of ``rows`` (by date, then sheet order) dated on or after ``day``; 0 when none."""
    dates = pd.to_datetime(sel.frame["date"], errors="coerce")
    later = [(dates.at[r], r) for r in rows if not pd.isna(dates.at[r]) and dates.at[r].date() >= day]
    return min(later)[1] if later else 0


@rule_kind("quality_feedback", "a SKU or 供应商 with `setting` quality problems (the [feedback] sources) within "
                               "`window`: one finding for the tab's owner, on the SKU's next row",
           params=[Param("setting", "setting", required=True, doc="the 设置 count that raises it (质量问题提醒次数)"),
                   Param("window", "setting", required=True, doc="the 设置 span counted back from now (days)"),
                   Param("focus", "choice_map", doc="a word of a problem -> what to check at selection")],
           emits=[Emit("", ("sku", "count", "days", "problems", "focus"),
                       doc="the SKU's quality problems; on its next row dated after them (listed when it has none)"),
                  Emit("supplier", ("supplier", "count", "days", "problems", "focus", "skus"),
                       field="supplier_message",
                       doc="a 供应商's quality problems over several of its SKUs; on its next row")])
def k_quality_feedback(tab: "BoundTab", rule: Rule, ctx: RuleContext) -> RuleResult:
    feedback = ctx.template.feedback
    threshold = int(getattr(ctx.settings, rule.params["setting"]))
    window: timedelta = getattr(ctx.settings, rule.params["window"])
    focus_map: dict[str, tuple[str, ...]] = rule.params.get("focus", {})
    res = RuleResult()
    if threshold <= 0 or not tab.has("sku", "date"):
        return res
    found_problems = [p for p in problems(ctx.workbook, feedback, ctx.now - window, ctx.now, quality_only=True)
                      if p.quality and p.sku]
    days = max(1, round(window.total_seconds() / 86400))
    supplier_of = suppliers(tab)
    skus_col = tab.frame["sku"].map(lambda v: _text(v).upper())
    by_sku: dict[str, list[Problem]] = {}
    for p in found_problems:
        by_sku.setdefault(p.sku, []).append(p)
    flagged_skus = set()
    for sku, items in sorted(by_sku.items()):
        if len(items) < threshold:
            continue
        flagged_skus.add(sku)
        rows = [int(r) for r in tab.frame.index[(skus_col == sku).to_numpy()]]
        row = _next_row(tab, rows, items[threshold - 1].at.date())
        details = tuple(dict.fromkeys(p.detail for p in items))
        res.findings.append(_feedback_finding(tab, rule, row, "", sku=sku, count=len(items), days=days,
                                              problems=details, focus=_focus(details, focus_map) or details))
    by_supplier: dict[str, list[Problem]] = {}
    for p in found_problems:
        if p.sku in supplier_of:
            by_supplier.setdefault(supplier_of[p.sku], []).append(p)
    suppliers_col = tab.frame["supplier"].map(_text) if tab.has("supplier") else None
    for supplier, items in sorted(by_supplier.items()):
        skus = tuple(dict.fromkeys(p.sku for p in items))
        if len(items) < threshold or len(skus) < 2 or suppliers_col is None:
            continue
        rows = [int(r) for r in tab.frame.index[(suppliers_col == supplier).to_numpy()]]
        row = _next_row(tab, rows, items[threshold - 1].at.date())
        details = tuple(dict.fromkeys(p.detail for p in items))
        res.findings.append(_feedback_finding(tab, rule, row, "supplier", supplier=supplier, count=len(items),
                                              days=days, problems=details, focus=_focus(details, focus_map) or details,
                                              skus=skus))
    return res


def _feedback_finding(tab: "BoundTab", rule: Rule, row: int, outcome: str, **params: Any) -> Finding:
    if row:
        return found(tab, rule, row, rule.column, outcome, **params)
    # no selection row after the problems yet: listed (not painted) for the tab's owner, keyed by
    # what it is about so it stays one problem until the next row is written
    f = found(tab, rule, next(iter(tab.keys), 0), rule.column, outcome, **params)
    subject = params.get("sku") or params.get("supplier") or ""
    return Finding(f.tab, 0, f.column, 0, None, f.code, "", row_key=str(subject), owner_role=f.owner_role,
                   job=f.job, paint=False, tab_id=f.tab_id, column_id=f.column_id, params=f.params)
