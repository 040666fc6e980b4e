"""The sheetsync template's constraints, restated for pandera (a DataFrameSchema per tab).

What a pandera user would write for the same sheet, as forgivingly as pandera allows:

* every tab becomes one DataFrame of the columns as sheetsync gets them (object columns of mixed
  str / datetime / int cells);
* column types as vectorised checks: date and time columns must read with ``pd.to_datetime(
  format="mixed")`` (dateutil: ``2026/11/20 10:05`` reads, ``2026年11月20日 10点05分`` does not),
  yes/no columns go through a parser that knows the same words as sheetsync (是/否, Y/N, ✓ ...),
  numbers through ``pd.to_numeric``; ``nullable=False`` for required columns, ``unique``,
  ``isin`` for choices, a minimum check. (``coerce=True`` instead makes pandera look for the
  failing cells one value at a time: on the messy sheet about 2,000 times slower.)
* each cross-field rule a vectorised DataFrame check: the formulas of
  ``bench/frictionless_rules.py``, written as pandas expressions (one boolean Series per rule),
  with the same limits (calendar time for SLA clocks, names of 成员 written in, no rule that
  needs the time of the run, the state or another tab — see ``frictionless_rules.formulas``).

``validate(..., lazy=True)`` collects every failure; the benchmark counts a failing cell of a
column check once and a failing row of a DataFrame check once.
"""

from __future__ import annotations

from typing import Any, Callable

import pandas as pd
import pandera.pandas as pa

from frictionless_rules import FALSE_WORDS, TRUE_WORDS, formulas

from sheetsync.core.settings import Settings
from sheetsync.core.template import Column, TabTemplate, Template

_BOOL = {**{w: True for w in TRUE_WORDS}, **{w: False for w in FALSE_WORDS}, True: True, False: False}
_PARSED: dict[tuple[int, str], pd.Series] = {}  # (id of the frame, column) -> its dates, for one validation


def _yes_no(series: pd.Series) -> pd.Series:
    """Yes/no words -> True/False (what is not one stays, and then fails the check)."""
    return series.map(lambda v: _BOOL.get(v.strip() if isinstance(v, str) else v, v), na_action="ignore")


def _dates(series: pd.Series) -> pd.Series:
    """dateutil through pandas (``format="mixed"``); what it cannot read is NaT."""
    if pd.api.types.is_datetime64_any_dtype(series):
        return series
    return pd.to_datetime(series, errors="coerce", format="mixed")


def _numbers(series: pd.Series) -> pd.Series:
    return pd.to_numeric(series, errors="coerce")


def _column(col: Column) -> pa.Column:
    """Types are vectorised checks on the raw column (``coerce`` would make pandera look for the
    failing cells one by one, thousands of times slower on a messy sheet)."""
    checks: list[pa.Check] = []
    parsers: list[pa.Parser] = []
    if col.type in ("date", "datetime"):
        checks.append(pa.Check(lambda s: s.isna() | _dates(s).notna(), name=f"{col.type}_readable"))
    elif col.type in ("int", "number"):
        checks.append(pa.Check(lambda s: s.isna() | _numbers(s).notna(), name="number_readable"))
        if col.min is not None:
            low = col.min
            checks.append(pa.Check(lambda s: ~(_numbers(s) < low), name="minimum"))
    elif col.type == "bool":
        parsers.append(pa.Parser(_yes_no))
        checks.append(pa.Check(lambda s: s.isna() | s.isin([True, False]), name="yes_no"))
    elif col.type == "choice":
        checks.append(pa.Check.isin(list(col.choices)))
    elif col.type == "email":
        checks.append(pa.Check.str_matches(r"^[^@\s]+@[^@\s]+\.[^@\s]+$"))
    return pa.Column(None, checks=checks, parsers=parsers or None, nullable=not col.required, unique=col.unique,
                     required=False)


def _dt(series: pd.Series) -> pd.Series:
    """A date column as the cross-field checks see it (parsed once per validation)."""
    key = (id(series), str(series.name))
    if key not in _PARSED:
        _PARSED[key] = _dates(series)
    return _PARSED[key]


def _within(start: str, end: str, seconds: float) -> Callable[[pd.DataFrame], pd.Series]:
    def check(df: pd.DataFrame) -> pd.Series:
        a, b = _dt(df[start]), _dt(df[end])
        took = (b - a).dt.total_seconds()
        return a.isna() | b.isna() | ((took >= 0) & (took <= seconds))
    return check


def _text(series: pd.Series) -> pd.Series:
    return series.where(series.notna(), None).astype(object)


def _is(series: pd.Series, value: Any) -> pd.Series:
    return (series == value).fillna(False).astype(bool)


def cross_field(template: Template, s: Settings, members: dict[str, list[str]]) -> dict[str, Callable]:
    """Rule code -> vectorised check, for every rule that has a frictionless formula."""
    rules = {r.code: r for tab in template.tabs.values() for r in tab.rules}
    solutions = {k: {v.replace(" ", "") for v in vs} for k, vs in rules["dispute.solution_mismatch"].params["choices"].items()}
    quality, finance = set(members.get("选品", ())), set(members.get("财务", ()))

    def solution_fits(df: pd.DataFrame) -> pd.Series:
        plan, cat = _text(df["处理方案"]), df["问题类别"]
        fits = pd.Series(False, index=df.index)
        for category, allowed in solutions.items():
            fits |= _is(cat, category) & plan.map(lambda v, ok=allowed: isinstance(v, str) and v.replace(" ", "") in ok)
        return plan.isna() | ~cat.isin(list(solutions)) | fits

    def handler(category: str, names: set[str]) -> Callable[[pd.DataFrame], pd.Series]:
        return lambda df: (~_is(df["问题类别"], category) | df["负责人"].isna()
                           | df["负责人"].map(lambda v: isinstance(v, str) and v.strip() in names))

    checks: dict[str, Callable[[pd.DataFrame], pd.Series]] = {
        "selection.return_reason_missing": lambda df: ~_is(df["结论"], "退回") | df["退回原因"].notna(),
        "selection.inconsistent_verdict": lambda df: ~(_is(df["结论"], "合格") & (
            _is(df["镶嵌牢固"], "不合格") | _is(df["证书核验"], "不合格") | _is(df["外观"], "不合格"))),
        "selection.too_few_samples": lambda df: ~_is(df["首次合作"], True) | (
            pd.to_numeric(df["样品数"], errors="coerce").fillna(0) >= s.min_samples),
        "promo.end_before_start": lambda df: _dt(df["开始时间"]).isna() | _dt(df["结束时间"]).isna() | (
            _dt(df["结束时间"]) > _dt(df["开始时间"])),
        "promo.signed_after_start": lambda df: _dt(df["签字时间"]).isna() | _dt(df["开始时间"]).isna() | (
            _dt(df["签字时间"]) <= _dt(df["开始时间"])),
        "promo.self_signed": lambda df: df["确认人"].isna() | df["填写人"].isna() | (
            _text(df["确认人"]).str.strip().str.lower() != _text(df["填写人"]).str.strip().str.lower()),
        "promo.error_note_missing": lambda df: ~_is(df["差错"], "有") | df["差错说明"].notna(),
        "cs.first_response": _within("咨询时间", "首次响应时间", s.cs_first_response.total_seconds()),
        "cs.unresolved": lambda df: ~_is(df["是否解决"], False),
        "dispute.first_reply": _within("接诉时间", "首次回复时间", s.dispute_first_reply.total_seconds()),
        "dispute.qc_verify": lambda df: ~_is(df["问题类别"], "质量问题") | _within(
            "接诉时间", "核实时间", s.qc_verify.total_seconds())(df),
        "dispute.handler_quality": handler("质量问题", quality),
        "dispute.handler_logistics": handler("物流问题", finance),
        "dispute.resolve": _within("接诉时间", "解决时间", s.dispute_resolve.total_seconds()),
        "dispute.solution_mismatch": solution_fits,
        "dispute.resolved_without_time": lambda df: ~_is(df["状态"], "已解决") | _dt(df["解决时间"]).notna(),
        "dispute.resolved_without_solution": lambda df: ~_is(df["状态"], "已解决") | df["处理方案"].notna(),
        "review.found_late": _within("评价时间", "发现时间", s.review_discover.total_seconds()),
        "review.contact": _within("发现时间", "联系时间", s.review_contact.total_seconds()),
        "review.asked_before_solved": lambda df: ~_is(df["已请求修改评价"], True) | (
            df["处理方案"].notna() & _is(df["顾客满意"], True)),
        "review.revisit": _within("处理完成时间", "回访时间", s.revisit.total_seconds()),
    }
    expressible = {code for code, spec in formulas(template, s, members).items() if spec.formula}
    missing = sorted(expressible - set(checks))
    if missing:
        raise KeyError(f"rules frictionless gets a formula for but pandera does not: {', '.join(missing)}")
    return checks


def schema(tab: TabTemplate, checks: dict[str, Callable]) -> pa.DataFrameSchema:
    wanted = [pa.Check(checks[r.code], name=r.code) for r in tab.rules if r.code in checks]
    return pa.DataFrameSchema({c.name: _column(c) for c in tab.columns}, checks=wanted, strict=False)


def frame(columns: list[Any], n_rows: int) -> pd.DataFrame:
    """The columns exactly as sheetsync gets them (object arrays, header cell first), as one
    object DataFrame."""
    header = [str(c[0]) if len(c) else "None" for c in columns]
    body = {i: pd.Series(c[1:n_rows], dtype=object) for i, c in enumerate(columns)}
    df = pd.DataFrame(body, index=pd.RangeIndex(max(n_rows - 1, 0)))
    df.columns = header
    return df


def _failures(cases: pd.DataFrame) -> int:
    """Problems as the other sides count them: a column check's failing cell once, a DataFrame
    check's failing row once (pandera lists such a row once for every column)."""
    column = cases["schema_context"] == "Column"
    cells = cases[column].drop_duplicates(["column", "check", "index"])
    rows = cases[~column].drop_duplicates(["check", "index"])
    return len(cells) + len(rows)


def validate(tab: TabTemplate, columns: list[Any], n_rows: int, checks: dict[str, Callable]) -> int:
    """Problems pandera reports for one tab (0 when it passes)."""
    _PARSED.clear()
    try:
        schema(tab, checks).validate(frame(columns, n_rows), lazy=True)
    except pa.errors.SchemaErrors as err:
        return _failures(err.failure_cases)
    finally:
        _PARSED.clear()
    return 0
