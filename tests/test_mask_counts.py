"""A messy sheet (every row flagged) costs the same number of whole-column masks as a sheet
with a few flagged rows: each rule computes its masks once, never once per flagged row.

Counts work (``rules.MASKS``), never seconds.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta

import pytest

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


def batches_for(template, n: int) -> tuple[int, int, Counter]:
    rules.BATCHES.reset()
    findings = evaluate(template, messy_tabs(template, n))
    return rules.BATCHES.calls, rules.BATCHES.findings, Counter(f.code for f in findings)


def test_findings_built_in_one_batch_per_outcome(template):
    """The findings of an outcome are made in one ``found_rows`` call for all its rows (keys, raw
    values and owners taken at once), not one call per flagged row."""
    few_calls, few_built, few_codes = batches_for(template, 3)
    many_calls, many_built, many_codes = batches_for(template, 60)
    batched = ("selection.inconsistent_verdict", "review.asked_before_solved", "cs.first_response", "cs.unresolved")
    for code in batched:
        assert many_codes[code] - few_codes[code] == 57, (code, few_codes, many_codes)
    assert few_calls > 0
    assert many_calls == few_calls, f"{many_calls} batches for 60 bad rows per tab, {few_calls} for 3"
    assert many_built - few_built >= 57 * len(batched)


def test_found_rows_is_found_row_by_row(template):
    """``found_rows`` makes exactly what ``found`` makes for each row: the same fields, the same
    parameters in the same order, the deadline only where a row has one, the row's owner."""
    from sheetsync.engine import load
    from conftest import snapshot_of

    tabs = base_tabs(template)
    tabs["售后纠纷"] += [row_for(template, "disputes", order=f"T{i}", customer=f" 客户{i % 3} ",
                              received_at=D(2026, 11, 20, 9 + i % 5), category="质量问题",
                              handler=["周一军", "", None, " 童欣 "][i % 4]) for i in range(12)]
    tabs["售后纠纷"].append(row_for(template, "disputes", order="T1", received_at=D(2026, 11, 20, 9)))  # key T1#2
    loaded = load(snapshot_of(tabs), template, NOW)
    tab = loaded.workbook.tab("disputes")
    rule = next(r for r in tab.template.rules if r.code == "dispute.resolve")
    assert rule.owner_column
    mask = tab.frame["received_at"].notna() & (tab.frame.index % 3 != 0)
    rows = [int(r) for r in tab.frame.index[mask.to_numpy()]]
    assert len(rows) >= 6
    deadlines = [D(2026, 11, 21, i % 24) if i % 2 else None for i in range(len(rows))]
    customers = [tab.raw_value(r, "customer") for r in rows]
    batch = rules.found_rows(tab, rule, mask, rule.column, "overdue", limit=rules._limit(timedelta(hours=2)),
                             subject=rules.PerRow(customers), deadline=rules.PerRow(deadlines), start=NOW)
    one_by_one = [rules.found(tab, rule, r, rule.column, "overdue", limit=rules._limit(timedelta(hours=2)),
                              subject=c, deadline=d, start=NOW)
                  for r, c, d in zip(rows, customers, deadlines, strict=True)]
    assert batch == one_by_one
    assert [list(f.params.items()) for f in batch] == [list(f.params.items()) for f in one_by_one]
    assert [(f.row_key, f.owners, f.deadline, f.value) for f in batch] == \
        [(f.row_key, f.owners, f.deadline, f.value) for f in one_by_one]
    assert any(f.owners for f in batch) and any(not f.owners for f in batch)
    assert any(f.row_key.endswith("#2") for f in batch)


def test_a_batch_shares_its_parameter_names_and_its_shared_parameters(template):
    """A messy sheet makes a million findings: a batch's parameters hold one tuple of names for
    all its rows (one more with the deadline), and a batch whose parameters are all shared holds
    one mapping for all its rows, not a dict per row. Counts objects, never bytes."""
    from sheetsync.core.model import Params
    from sheetsync.engine import load
    from conftest import snapshot_of

    tabs = messy_tabs(template, 30)
    tabs["客服台账"] += [row_for(template, "cs_log", date=D(2026, 11, 20), customer="李先生", type="不存在的类型",
                              agent="童欣", asked_at=f"下午{i}点", resolved="是") for i in range(12)]
    findings = evaluate(template, tabs)
    by_code: dict[str, list] = {}
    for f in findings:
        by_code.setdefault(f.code, []).append(f)
    for code in ("cs.first_response", "cs.unresolved", "promo.unsigned", "parse.choice", "parse.datetime"):
        batch = by_code[code]
        assert len(batch) >= 12, (code, len(batch))
        assert all(type(f.params) is Params for f in batch), code
        assert len({id(f.params._names) for f in batch}) <= 2, code  # with and without a deadline

    loaded = load(snapshot_of(messy_tabs(template, 5)), template, NOW)
    tab = loaded.workbook.tab("cs_log")
    rule = next(r for r in tab.template.rules if r.code == "cs.unresolved")
    mask = tab.frame["customer"].notna()
    shared = rules.found_rows(tab, rule, mask, rule.column, column="是否解决", limit=rules._limit(timedelta(hours=2)))
    assert len(shared) >= 5 and len({id(f.params) for f in shared}) == 1
    assert shared[0].params == {"column": "是否解决", "limit": rules._limit(timedelta(hours=2))}
    rows = [int(r) for r in tab.frame.index[:5]]
    alike = tab.findings_at(rows, "customer", "column.required")
    assert len({id(f.params) for f in alike}) == 1 and dict(alike[0].params) == {"tab": "客服台账", "column": "客户"}


@pytest.mark.parametrize("misaligned", ["shorter", "shifted index", "numpy of another length"])
def test_a_batch_refuses_a_mask_not_aligned_with_its_tab(template, misaligned):
    """``found_rows`` reads a mask's positions as the tab's rows: a mask of other rows would put
    findings, owners and values on the wrong rows, so it is refused (a bug in a rule kind)."""
    from sheetsync.engine import load
    from conftest import snapshot_of

    tabs = base_tabs(template)
    tabs["售后纠纷"] += [row_for(template, "disputes", order=f"T{i}", received_at=D(2026, 11, 20, 9 + i))
                      for i in range(4)]
    tab = load(snapshot_of(tabs), template, NOW).workbook.tab("disputes")
    rule = next(r for r in tab.template.rules if r.code == "dispute.resolve")
    mask = tab.frame["received_at"].notna()
    assert mask.sum() == 4
    bad = {"shorter": mask.iloc[1:], "shifted index": mask.set_axis(mask.index + 1),
           "numpy of another length": mask.to_numpy()[:-1]}[misaligned]
    with pytest.raises(ValueError, match="dispute.resolve"):
        rules.found_rows(tab, rule, bad, rule.column, "overdue", limit=rules._limit(timedelta(hours=2)))
    assert rules.found_rows(tab, rule, mask, rule.column, "overdue", limit=rules._limit(timedelta(hours=2)))


def test_batch_constructors_make_what_the_dataclasses_make():
    """``new_finding`` and ``Duration.many`` (what a batch uses) build the same objects as the
    dataclasses' own constructors: every field, equal, hashable, picklable, still frozen."""
    import pickle
    from dataclasses import fields

    import pytest

    from sheetsync.core.model import Duration, Finding, new_finding

    values = {f.name: f"<{f.name}>" for f in fields(Finding)}
    values.update(row=3, col=2, paint=False, params={"a": 1}, deadline=D(2026, 11, 20), owners=("王芳",), priority=10)
    made, declared = new_finding(*values.values()), Finding(**values)
    assert [getattr(made, f.name) for f in fields(Finding)] == [getattr(declared, f.name) for f in fields(Finding)]
    assert made == declared and hash(made) == hash(declared) and pickle.loads(pickle.dumps(made)) == declared
    with pytest.raises(AttributeError):
        made.row = 4  # type: ignore[misc]
    many = Duration.many([1.5, 60.0], limit=True)
    assert many == [Duration(1.5, True), Duration(60.0, True)]
    assert pickle.loads(pickle.dumps(many)) == many and hash(many[0]) == hash(Duration(1.5, True))
    assert not hasattr(many[0], "__dict__")  # slots: a late row's finding carries one


def test_the_checks_run_with_the_garbage_collector_paused(template, monkeypatch):
    """Binding and every rule run with the cyclic collector paused (a full collection walks every
    object the checks made so far), and it is running again afterwards — or still paused, when it
    was paused before."""
    import gc

    from sheetsync.core import binding

    seen: list[tuple[str, bool]] = []
    bind_tab, check_tab = binding._bind_tab, rules.check_tab

    def spy_bind(*args, **kwargs):
        seen.append(("bind", gc.isenabled()))
        return bind_tab(*args, **kwargs)

    def spy_check(*args, **kwargs):
        seen.append(("check", gc.isenabled()))
        return check_tab(*args, **kwargs)

    monkeypatch.setattr(binding, "_bind_tab", spy_bind)
    monkeypatch.setattr("sheetsync.core.checks.check_tab", spy_check)
    assert gc.isenabled()
    findings = evaluate(template, messy_tabs(template, 5))
    assert findings and {kind for kind, _ in seen} == {"bind", "check"}
    assert not any(enabled for _, enabled in seen), seen
    assert gc.isenabled()
    gc.disable()
    try:
        evaluate(template, messy_tabs(template, 5))
        assert not gc.isenabled()
    finally:
        gc.enable()
