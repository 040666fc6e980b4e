"""The sheetsync template's constraints, restated for frictionless (Table Schema + row checks).

Column constraints are derived from ``sheet_templates/zh-CN.toml`` (type, required, choices ->
enum, min -> minimum, unique), with frictionless configured as forgivingly as it allows
(``format: any`` dates through dateutil, ``bareNumber: false`` so ``5件`` and ``¥199`` read as
numbers, the same yes/no words sheetsync accepts).

Cross-field rules become row formulas: plain Python expressions over the row's typed values,
written so that frictionless's own ``row_constraint`` check (simpleeval) can evaluate them too.
Every rule of the template must appear in ``formulas()`` — either with a formula or with the
reason frictionless cannot express it — so a rule added to the template cannot silently drop
out of the comparison.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Iterable

import attrs
from frictionless import Check, Checklist, Resource, Schema, checks, errors

from sheetsync.core.settings import Settings
from sheetsync.core.template import Column, TabTemplate, Template

TRUE_WORDS = ["是", "Y", "y", "yes", "Yes", "YES", "true", "True", "TRUE", "1", "✓", "✔", "√"]
FALSE_WORDS = ["否", "N", "n", "no", "No", "NO", "false", "False", "FALSE", "0", "✗", "✘", "×"]

# Why a rule has no frictionless counterpart. Checked rows still count what frictionless can do.
NEEDS_NOW = "needs the time of the run (a row is overdue only relative to now); a row formula sees the row alone"
NEEDS_STATE = "needs what the row said when it was signed (state kept between runs)"
CROSS_TAB = "compares with the 库存 tab; frictionless checks one table at a time, and foreign keys cannot look into a list of SKUs"
NEEDS_EXPORT = "compares with the back-office stock export (not part of this benchmark, so neither side checks it)"
WORK_CLOCK = "calendar time instead of working hours (frictionless has no working-hours clock)"
OTHER_TAB = "reads another tab (排班, 话术, 选品检查表, 售后纠纷 or 库存); frictionless checks one table at a time"
ACROSS_ROWS = "compares each row with the other rows of its tab (overlapping SKU lists); a row formula sees the row alone"
SMALL_TAB = ("a rule of one of the demo shop's small tabs (中差评, 订单, 退货, 排班, 话术: a few rows each), not restated: "
             "it changes neither the timing nor the big tabs' counts")


@attrs.define(frozen=True)
class RuleSpec:
    """One template rule on the frictionless side: a formula, or None with the reason."""

    code: str
    formula: str | None
    caveat: str = ""  # how the formula differs from sheetsync's rule, or why there is none


def _within(start: str, end: str, seconds: float) -> str:
    return f"{start} is None or {end} is None or 0 <= ({end} - {start}).total_seconds() <= {int(seconds)}"


def formulas(template: Template, s: Settings, members: dict[str, list[str]]) -> dict[str, RuleSpec]:
    """Rule code -> RuleSpec for every rule in ``template``, with the limits of the shop's
    settings ``s`` and ``members`` (role -> names from 成员) written into the formulas, since a
    frictionless check cannot read another tab."""
    rules = {r.code: r for tab in template.tabs.values() for r in tab.rules}
    solutions = rules["dispute.solution_mismatch"].params["choices"]
    specs = [
        RuleSpec("selection.return_reason_missing", "结论 != '退回' or 退回原因 is not None"),
        RuleSpec("selection.inconsistent_verdict", "not (结论 == '合格' and '不合格' in (镶嵌牢固, 证书核验, 外观))"),
        RuleSpec("selection.too_few_samples", f"首次合作 is not True or (样品数 or 0) >= {s.min_samples}"),
        RuleSpec("promo.end_before_start", "开始时间 is None or 结束时间 is None or 结束时间 > 开始时间"),
        RuleSpec("promo.unsigned", None, NEEDS_NOW),
        RuleSpec("promo.signed_after_start", "签字时间 is None or 开始时间 is None or 签字时间 <= 开始时间"),
        RuleSpec("promo.self_signed",
                 "确认人 is None or 填写人 is None or 确认人.strip().lower() != 填写人.strip().lower()"),
        RuleSpec("promo.changed_after_sign", None, NEEDS_STATE),
        RuleSpec("promo.error_note_missing", "差错 != '有' or 差错说明 is not None"),
        RuleSpec("stock.oversell", None, CROSS_TAB),
        RuleSpec("stock.unknown_sku", None, CROSS_TAB),
        RuleSpec("stock.below_min_price", None, CROSS_TAB),
        RuleSpec("stock.export_mismatch", None, NEEDS_EXPORT),
        RuleSpec("stock.export_missing_sku", None, NEEDS_EXPORT),
        RuleSpec("cs.first_response", _within("咨询时间", "首次响应时间", s.cs_first_response.total_seconds()),
                 f"{WORK_CLOCK}; the overdue half {NEEDS_NOW}"),
        RuleSpec("cs.unresolved", "是否解决 is not False"),
        RuleSpec("dispute.first_reply", _within("接诉时间", "首次回复时间", s.dispute_first_reply.total_seconds()),
                 f"{WORK_CLOCK}; the overdue half {NEEDS_NOW}"),
        RuleSpec("dispute.qc_verify",
                 "问题类别 != '质量问题' or " + _within("接诉时间", "核实时间", s.qc_verify.total_seconds()),
                 f"{WORK_CLOCK}; the overdue half {NEEDS_NOW}"),
        RuleSpec("dispute.handler_quality",
                 f"问题类别 != '质量问题' or 负责人 is None or 负责人.strip() in {tuple(members.get('选品', ()))!r}",
                 "names from 成员 written into the formula; the empty-负责人 routing is a write, not a check"),
        RuleSpec("dispute.handler_logistics",
                 f"问题类别 != '物流问题' or 负责人 is None or 负责人.strip() in {tuple(members.get('财务', ()))!r}",
                 "names from 成员 written into the formula; the empty-负责人 routing is a write, not a check"),
        RuleSpec("dispute.resolve", _within("接诉时间", "解决时间", s.dispute_resolve.total_seconds()),
                 f"{WORK_CLOCK}; the overdue half {NEEDS_NOW}"),
        RuleSpec("dispute.solution_mismatch",
                 f"处理方案 is None or 问题类别 not in {_literal(solutions)} or "
                 f"处理方案.replace(' ', '') in {_literal(solutions)}[问题类别]",
                 "exact text after removing spaces (sheetsync also folds full-width forms and case)"),
        RuleSpec("dispute.resolved_without_time", "状态 != '已解决' or 解决时间 is not None"),
        RuleSpec("dispute.resolved_without_solution", "状态 != '已解决' or 处理方案 is not None"),
        RuleSpec("review.found_late", _within("评价时间", "发现时间", s.review_discover.total_seconds())),
        RuleSpec("review.contact", _within("发现时间", "联系时间", s.review_contact.total_seconds()),
                 f"{WORK_CLOCK}; the overdue half {NEEDS_NOW}"),
        RuleSpec("review.asked_before_solved", "已请求修改评价 is not True or (处理方案 is not None and 顾客满意 is True)"),
        RuleSpec("review.channel", None, SMALL_TAB),
        RuleSpec("review.plan_mismatch", None, SMALL_TAB),
        RuleSpec("review.not_satisfied", None, SMALL_TAB),
        RuleSpec("review.ask_to_change", None, SMALL_TAB),
        RuleSpec("selection.quality_feedback", None, OTHER_TAB),
        RuleSpec("promo.rejected_sku", None, OTHER_TAB),
        RuleSpec("promo.excluded_overlap", None, ACROSS_ROWS),
        RuleSpec("stock.unknown_excluded_sku", None, CROSS_TAB),
        RuleSpec("cs.on_duty", None, OTHER_TAB),
        RuleSpec("cs.no_reply", None, OTHER_TAB),
        RuleSpec("dispute.return_shipping", None,
                 "searches the free text for phrases that contradict 设置's return-shipping policy; no generated row "
                 "states a policy, so neither side flags one"),
        *(RuleSpec(code, None, SMALL_TAB) for code in (
            "order.channel", "order.ship", "return.followup", "shifts.bad_end", "shifts.bad_start", "shifts.gap",
            "replies.delivery_days", "replies.placeholder", "replies.return_shipping")),
        RuleSpec("review.revisit", _within("处理完成时间", "回访时间", s.revisit.total_seconds()),
                 f"the overdue half {NEEDS_NOW}"),
    ]
    out = {spec.code: spec for spec in specs}
    missing = sorted(set(rules) - set(out))
    if missing:
        raise KeyError(f"template rules without a frictionless counterpart or reason: {', '.join(missing)}")
    return out


def _literal(mapping: dict[str, Iterable[str]]) -> str:
    """A dict literal {category: (solution, ...)} with spaces removed, as the formula compares."""
    return repr({k: tuple(v.replace(" ", "") for v in vs) for k, vs in mapping.items()})


def _field(col: Column) -> dict[str, Any]:
    field: dict[str, Any] = {"name": col.name}
    constraints: dict[str, Any] = {}
    if col.type == "date":
        field.update(type="date", format="any")
    elif col.type == "datetime":
        field.update(type="datetime", format="any")
    elif col.type in ("int", "number"):
        field.update(type="integer" if col.type == "int" else "number", bareNumber=False)
        if col.min is not None:
            constraints["minimum"] = col.min
    elif col.type == "bool":
        field.update(type="boolean", trueValues=TRUE_WORDS, falseValues=FALSE_WORDS)
    elif col.type == "email":
        field.update(type="string", format="email")
    else:  # text, sku_list (a list of SKUs in one cell), choice
        field.update(type="string")
        if col.type == "choice":
            constraints["enum"] = list(col.choices)
    if col.required:
        constraints["required"] = True
    if col.unique:
        constraints["unique"] = True
    if constraints:
        field["constraints"] = constraints
    return field


def table_schema(tab: TabTemplate) -> Schema:
    return Schema.from_descriptor({"fields": [_field(c) for c in tab.columns]})


@lru_cache(maxsize=None)
def _compiled(formula: str) -> Any:
    return compile(formula, "<row formula>", "eval")


_NO_BUILTINS = {"__builtins__": {}}


@attrs.define(kw_only=True, repr=False)
class python_row_constraint(Check):
    """frictionless's ``row_constraint``, with the formula compiled once and evaluated as Python
    instead of re-parsed by simpleeval for every row: the fastest way to give frictionless a
    cross-field rule through its own Check API. Same errors, same semantics."""

    type = "python-row-constraint"
    Errors = [errors.RowConstraintError]

    formula: str

    def validate_row(self, row):
        try:
            ok = eval(_compiled(self.formula), _NO_BUILTINS, row)  # formulas come from this module only
        except Exception:
            ok = False
        if not ok:
            yield errors.RowConstraintError.from_row(row, note=f'the row constraint to conform is "{self.formula}"')

    metadata_profile_patch = {"required": ["formula"], "properties": {"formula": {"type": "string"}}}


def checklist(tab: TabTemplate, specs: dict[str, RuleSpec], mode: str) -> Checklist:
    """The row checks for one tab. ``mode``: 'python' (compiled formulas), 'formula' (frictionless's
    own simpleeval ``row_constraint``) or 'schema' (no row checks: Table Schema only)."""
    if mode == "schema":
        return Checklist()
    make = python_row_constraint if mode == "python" else checks.row_constraint
    found = [specs[r.code].formula for r in tab.rules if specs[r.code].formula]
    return Checklist(checks=[make(formula=f) for f in found])


def resource(tab: TabTemplate, rows: list[list[Any]]) -> Resource:
    """The rows exactly as sheetsync gets them (mixed str / datetime / int cells), inline."""
    return Resource(data=rows, schema=table_schema(tab))
