"""The planner: paint only free cells, clear only our own marks, write nothing when nothing changed."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

import pytest

from sheetsync.core.model import MARK_FILL, NOTE_PREFIX, Finding, ReplaceTab, Snapshot, TabData
from sheetsync.core.planner import Layout, mark_note, plan_marks, tab_differs
from sheetsync.core.state import Mark, State, load_state

TAB = "客服台账"
TID = "cs_log"
STATE_HEADER = ("kind", "tab", "row key", "column", "code", "since", "data")
HEAD = ["客户", "是否解决"]


def snap(fills=None, notes=None, rows=None):
    rows = rows or [HEAD, ["王女士", "否"], ["李先生", "否"]]
    return Snapshot({TAB: TabData(TAB, rows, dict(fills or {}), dict(notes or {}))}, "t")


def finding(row=2, message="问题还没解决。", key=None):
    return Finding(TAB, row, "是否解决", 2, "否", "cs.unresolved", message, row_key=key or f"k{row}", tab_id=TID,
                   column_id="resolved")


COLS = {TID: {"customer": 1, "resolved": 2}}


def at(keys):
    return Layout({TID: TAB}, {TID: keys}, COLS)


LAYOUT = at({2: "k2", 3: "k3"})


def test_free_cell_is_painted_with_prefixed_note():
    paints, unpaints, marks, skipped = plan_marks(snap(), [finding()], State(), LAYOUT)
    [p] = paints
    assert (p.row, p.col, p.fill) == (2, 2, MARK_FILL)
    assert p.note == NOTE_PREFIX + "问题还没解决。"
    assert marks == {(TID, "k2", "resolved"): Mark.of(MARK_FILL, p.note)} and not unpaints and not skipped


def test_two_problems_on_one_cell_share_one_note():
    f2 = Finding(TAB, 2, "是否解决", 2, "否", "other", "第二个问题。", row_key="k2", tab_id=TID, column_id="resolved")
    [p], *_ = plan_marks(snap(), [finding(), f2], State(), LAYOUT)
    assert p.note == NOTE_PREFIX + "问题还没解决。\n第二个问题。"


def test_cell_with_a_persons_fill_or_note_is_not_painted():
    for fills, notes in (({(2, 2): "FFFF00"}, {}), ({}, {(2, 2): "客户说明天再联系"})):
        paints, unpaints, marks, skipped = plan_marks(snap(fills, notes), [finding()], State(), LAYOUT)
        assert paints == [] and unpaints == [] and marks == {}
        assert skipped == {(TAB, 2, 2)}


def test_unchanged_mark_needs_no_write():
    note = mark_note(["问题还没解决。"])
    old = State(present=True, marks={(TID, "k2", "resolved"): Mark.of(MARK_FILL, note)})
    paints, unpaints, marks, _ = plan_marks(snap({(2, 2): MARK_FILL}, {(2, 2): note}), [finding()], old, LAYOUT)
    assert paints == [] and unpaints == [] and marks == old.marks


def test_fixed_problem_clears_exactly_our_mark():
    note = mark_note(["问题还没解决。"])
    old = State(present=True, marks={(TID, "k2", "resolved"): Mark.of(MARK_FILL, note)})
    s = snap({(2, 2): MARK_FILL, (3, 1): "00FF00"}, {(2, 2): note, (3, 1): "VIP"})
    paints, unpaints, marks, _ = plan_marks(s, [], old, LAYOUT)
    assert [(u.row, u.col) for u in unpaints] == [(2, 2)]
    assert paints == [] and marks == {}


def test_mark_a_person_recoloured_or_edited_becomes_theirs():
    note = mark_note(["问题还没解决。"])
    old = State(present=True, marks={(TID, "k2", "resolved"): Mark.of(MARK_FILL, note)})
    for fills, notes in (({(2, 2): "FFFF00"}, {(2, 2): note}), ({(2, 2): MARK_FILL}, {(2, 2): note + "\n已电话联系"})):
        paints, unpaints, marks, skipped = plan_marks(snap(fills, notes), [], old, LAYOUT)
        assert unpaints == [] and marks == {}
        paints, unpaints, marks, skipped = plan_marks(snap(fills, notes), [finding()], old, LAYOUT)
        assert paints == [] and skipped == {(TAB, 2, 2)}


def test_a_mark_handed_over_stays_the_persons_in_later_runs():
    """Run 1 saw the person's edit and dropped the mark from the state; run 2 must not take the
    cell back just because the note still starts with sheetsync's prefix."""
    note = mark_note(["问题还没解决。"]) + "\n童欣: 已电话联系"
    s = snap({(2, 2): MARK_FILL}, {(2, 2): note})
    handed_over = State(present=True)
    for findings in ([finding()], []):
        paints, unpaints, marks, skipped = plan_marks(s, findings, handed_over, LAYOUT)
        assert paints == [] and unpaints == [] and marks == {}


def test_mark_follows_its_row_after_a_sort():
    """Row k2 moved from row 2 to row 3 between runs (a person sorted the tab)."""
    note = mark_note(["问题还没解决。"])
    old = State(present=True, marks={(TID, "k2", "resolved"): Mark.of(MARK_FILL, note)})
    s = snap({(3, 2): MARK_FILL}, {(3, 2): note}, rows=[HEAD, ["李先生", "是"], ["王女士", "是"]])
    _p, unpaints, _m, _s = plan_marks(s, [], old, at({2: "k3", 3: "k2"}))
    assert [(u.row, u.row_key) for u in unpaints] == [(3, "k2")]


def test_our_mark_is_recognised_even_when_state_was_lost():
    note = mark_note(["问题还没解决。"])
    _p, unpaints, _m, _s = plan_marks(snap({(2, 2): MARK_FILL}, {(2, 2): note}), [], State(), LAYOUT)
    assert [(u.row, u.col) for u in unpaints] == [(2, 2)]


def test_state_round_trips_through_its_tab_rows():
    from sheetsync.core.state import Problem

    state = State(marks={(TID, "k2", "resolved"): Mark.of(MARK_FILL, "【sheetsync】x")},
                  problems={(TID, "k2", "resolved", "cs.unresolved"): Problem(
                      "2026-11-22 10:00", 2, 2, "客服", "validate", True, "否", TAB, "是否解决", {"limit": 10}, "m")},
                  signed={"promotions\x1f双十一": {"signature": "莉莉", "values": {"declared_stock": "5"}}})
    again = load_state(TabData("_sheetsync", [list(r) for r in state.rows(STATE_HEADER)]))
    assert again == state


def _a_state():
    from sheetsync.core.state import Problem

    return State(marks={(TID, "k2", "resolved"): Mark.of(MARK_FILL, "【sheetsync】x")},
                 problems={(TID, "k2", "resolved", "cs.unresolved"): Problem(
                     "2026-11-22 10:00", 2, 2, "客服", "validate", True, "否", TAB, "是否解决", {"limit": 10}, "m")},
                 reported=("2026-11-16", "2026-11-22 20:00"))


def _touched(rows, how):
    rows = [list(r) for r in rows]
    if how == "as written":
        pass
    elif how == "a row twice":
        rows.append(list(rows[-1]))
    elif how == "a blank row":
        rows.insert(2, [None] * 7)
    elif how == "a row typed in":
        rows.append(["请勿改", "", "", "", "", "", ""])
    elif how == "other header":
        rows[0] = ["kind", "tab", "key", "column", "code", "since", "data"]
    elif how == "shown":
        pass  # made visible below
    elif how == "format 1":
        rows[1][6] = "1"
    return rows


@pytest.mark.parametrize("how, holds", [("as written", True), ("a row twice", False), ("a blank row", False),
                                        ("a row typed in", False), ("other header", False), ("shown", False),
                                        ("format 1", False)])
def test_the_state_tab_is_written_again_unless_it_holds_the_state_exactly(how, holds):
    """An unchanged state is not written out again when the tab it was read from holds it row for
    row; anything a person did to the tab (a copied row, a blank one, text typed in, another
    header, the tab shown) has it written again, whole."""
    from sheetsync.core.planner import state_tab_holds

    state = _a_state()
    tab = TabData("_sheetsync", _touched(state.rows(STATE_HEADER), how), hidden=how != "shown")
    old = load_state(tab)
    assert state_tab_holds(tab, STATE_HEADER, old, _a_state()) is holds
    if holds:
        changed = replace(_a_state(), reported=("2026-11-23", "2026-11-29 20:00"))
        assert not state_tab_holds(tab, STATE_HEADER, old, changed)


def test_job_owned_tab_is_rewritten_only_when_content_differs():
    rows = (("周", "选品合格率"), ("2026-11-16 ~ 11-22", 0.9))
    seen = [["周", "选品合格率"], ["2026-11-16 ~ 11-22", 0.9000000000001], [None]]
    current = Snapshot({"周报": TabData("周报", seen)}, "t")
    assert not tab_differs(current, ReplaceTab("周报", rows))
    assert tab_differs(current, ReplaceTab("周报", (("周", "选品合格率"), ("2026-11-16 ~ 11-22", 0.8))))
    assert tab_differs(Snapshot({}, "t"), ReplaceTab("周报", rows))
    assert tab_differs(current, ReplaceTab("周报", rows, hidden=True))


def test_problem_since_is_kept_across_runs():
    from sheetsync.core.planner import plan_problems

    first = plan_problems([finding()], State(), datetime(2026, 11, 22, 10, 0), LAYOUT)
    later = plan_problems([finding(message="新说法")], State(problems=first), datetime(2026, 11, 22, 10, 15), LAYOUT)
    [p] = later.values()
    assert p.since == "2026-11-22 10:00" and p.message == "新说法"


def test_mark_is_found_where_it_was_when_its_row_key_changed():
    """The person fixed the key cell itself (e.g. 咨询时间 was unreadable): the row key changed,
    the mark is still ours at the same cell and is cleared."""
    note = mark_note(["看不懂的时间: 昨天下午"])
    old = State(present=True, marks={(TID, "old-key", "customer"): Mark.of(MARK_FILL, note)})
    s = snap({(2, 1): MARK_FILL}, {(2, 1): note})
    _p, unpaints, marks, skipped = plan_marks(s, [], old, at({2: "new-key"}))
    assert [(u.row, u.col) for u in unpaints] == [(2, 1)] and marks == {} and not skipped
    # still a problem under the new key: updated in place, not reported as a person's mark
    f = Finding(TAB, 2, "客户", 1, "x", "other", "另一个问题。", row_key="new-key", tab_id=TID, column_id="customer")
    paints, unpaints, marks, skipped = plan_marks(s, [f], old, at({2: "new-key"}))
    assert [(p.row, p.col) for p in paints] == [(2, 1)] and not unpaints and not skipped


def test_marks_of_a_tab_that_could_not_be_checked_are_kept_as_they_are():
    note = mark_note(["问题还没解决。"])
    old = State(present=True, marks={(TID, "k2", "resolved"): Mark.of(MARK_FILL, note)})
    s = snap({(2, 2): MARK_FILL}, {(2, 2): note})
    paints, unpaints, marks, skipped = plan_marks(s, [], old, at({2: "row:abc"}), frozen={TID})
    assert paints == [] and unpaints == [] and marks == old.marks and not skipped


def test_an_english_mark_is_recognised_by_its_look_too():
    note = mark_note(["The problem is not solved yet."], prefix="[sheetsync] ")
    _p, unpaints, _m, _s = plan_marks(snap({(2, 2): MARK_FILL}, {(2, 2): note}), [], State(), LAYOUT)
    assert [(u.row, u.col) for u in unpaints] == [(2, 2)]


def test_a_deleted_red_rows_mark_is_never_cleared_from_the_row_moving_into_its_place():
    """k2 and k3 both had the same mark (every late-reply note reads the same); k2's row was
    deleted and k3 moved up: k3's red is its own and stays while k3 still has the problem."""
    note = mark_note(["问题还没解决。"])
    old = State(present=True, marks={(TID, "k2", "resolved"): Mark.of(MARK_FILL, note),
                                     (TID, "k3", "resolved"): Mark.of(MARK_FILL, note)})
    s = snap({(2, 2): MARK_FILL}, {(2, 2): note}, rows=[HEAD, ["李先生", "否"]])
    paints, unpaints, marks, _s = plan_marks(s, [finding(2, key="k3")], old, at({2: "k3"}))
    assert paints == [] and unpaints == [] and marks == {(TID, "k3", "resolved"): Mark.of(MARK_FILL, note)}


def test_a_recorded_mark_on_a_row_without_that_problem_is_cleared_wherever_it_is():
    """A paint sent while rows moved landed on an empty row inserted meanwhile: no row explains
    it, so the next run clears it (and paints the row that has the problem)."""
    note = mark_note(["问题还没解决。"])
    old = State(present=True, marks={(TID, "k2", "resolved"): Mark.of(MARK_FILL, note)})
    s = snap({(2, 2): MARK_FILL}, {(2, 2): note}, rows=[HEAD, [None, None], ["王女士", "否"]])
    paints, unpaints, _m, _s = plan_marks(s, [finding(3, key="k2")], old, at({3: "k2"}))
    assert [(u.row, u.col, u.row_key) for u in unpaints] == [(2, 2, "")]
    assert [(p.row, p.col) for p in paints] == [(3, 2)]
