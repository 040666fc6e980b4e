"""A messy sheet (every row flagged) costs the same number of whole-column masks as a sheet
with a few flagged rows: each rule computes its masks once, never once per flagged row.

Counts work (``rules.MASKS``), never seconds.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta

from conftest import NOW, base_tabs, evaluate, row_for

from sheetsync.core import rules

D = datetime


def messy_tabs(template, n: int) -> dict[str, list[list]]:
    """``n`` bad rows in each of 选品检查表 (forbid with when_any), 中差评 (forbid with unless),
    推广确认单 (due_before, unsigned) and 客服台账 (sla, require_if, role)."""
    tabs = base_tabs(template)
    tabs["选品检查表"] += [row_for(template, "selection", date=D(2026, 11, 20), product=f"戒指{i}", supplier="A",
                                verdict="合格", checker="周一军", setting_check="合格", cert_check="不合格",
                                look_check="不合格") for i in range(n)]
    tabs["中差评"] += [row_for(template, "reviews", order=f"R{i}", posted_at=D(2026, 11, 20, 10),
                             found_at=D(2026, 11, 20, 10, 5), rating="差评", contacted_at=D(2026, 11, 20, 10, 30),
                             asked_change="是", satisfied="否") for i in range(n)]
    tabs["推广确认单"] += [row_for(template, "promotions", name=f"上新{i}", start=NOW + timedelta(hours=3),
                                end=NOW + timedelta(days=2), skus="SKU-1", declared_stock=1, author="周深")
                        for i in range(n)]
    tabs["客服台账"] += [row_for(template, "cs_log", date=D(2026, 11, 20), customer="王女士", type="产品咨询",
                              agent="童欣", asked_at=D(2026, 11, 20, 10), answered_at=D(2026, 11, 20, 12),
                              resolved="否") for i in range(n)]
    return tabs


def masks_for(template, n: int) -> tuple[int, Counter]:
    rules.MASKS.reset()
    findings = evaluate(template, messy_tabs(template, n))
    return rules.MASKS.count, Counter(f.code for f in findings)


def test_masks_do_not_grow_with_flagged_rows(template):
    few, few_codes = masks_for(template, 3)
    many, many_codes = masks_for(template, 60)
    for code in ("selection.inconsistent_verdict", "review.asked_before_solved", "promo.unsigned",
                 "cs.first_response", "cs.unresolved"):
        assert few_codes[code] == 3, (code, few_codes)
        assert many_codes[code] == 60, (code, many_codes)
    assert few > 0
    assert many == few, f"{many} masks for 60 bad rows per tab, {few} for 3: a rule computes a mask per row"


def test_forbid_masks_once_per_condition(template):
    """选品 'inconsistent verdict': when (1) + three when_any conditions, whatever the rows."""
    tab_rule = next(r for r in template.tabs["selection"].rules if r.code == "selection.inconsistent_verdict")
    conditions = len(tab_rule.when) + sum(len(g) for g in tab_rule.when_any) + len(tab_rule.unless)
    from sheetsync.engine import load
    from conftest import snapshot_of

    loaded = load(snapshot_of(messy_tabs(template, 40)), template, NOW)
    tab = loaded.workbook.tab("selection")
    ctx = rules.RuleContext(loaded.workbook, loaded.settings, NOW)
    rules.MASKS.reset()
    result = rules.KINDS["forbid"].check(tab, tab_rule, ctx)
    assert len(result.findings) == 40
    # the scope (each condition once) and the per-condition masks the message needs (once each)
    assert rules.MASKS.count == conditions + sum(len(g) for g in tab_rule.when_any) + len(tab_rule.unless)
