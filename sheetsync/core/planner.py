"""Diff what the workbook should look like against what it looks like: the minimal ChangeSet.

Pure. The rules for cells people work in:

* A cell gets sheetsync's red + note only if it has no fill and no note of its own.
* sheetsync only clears or changes a mark that is still exactly as it left it (fill and note
  match the state); a mark a person recoloured or edited becomes theirs and is left alone.
* Job-owned tabs are rewritten only when their content differs.
* Nothing changed -> empty ChangeSet (no run-log row either: the run logs locally instead).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any, Callable, Iterable

import pandas as pd

from .model import (MARK_FILL, NOTE_PREFIX, AppendRows, ChangeSet, Finding, FillValue, Paint, ReplaceTab,
                    Snapshot, Unpaint)
from .state import Mark, Problem, State


@dataclass
class Plan:
    changes: ChangeSet
    state: State
    not_painted: set[tuple[str, int, int]] = field(default_factory=set)  # (tab, row, col) a person had marked


def mark_note(messages: Iterable[str]) -> str:
    unique = list(dict.fromkeys(messages))
    return NOTE_PREFIX + "\n".join(unique)


def desired_marks(findings: Iterable[Finding]) -> dict[tuple[str, int, int], tuple[str, str, str]]:
    """(tab, row, col) -> (row_key, column header, note) for every paintable finding."""
    grouped: dict[tuple[str, int, int], list[Finding]] = {}
    for f in findings:
        if f.paint and f.row > 0 and f.col > 0:
            grouped.setdefault((f.tab, f.row, f.col), []).append(f)
    return {cell: (fs[0].row_key, fs[0].column, mark_note(f.message for f in fs)) for cell, fs in grouped.items()}


def plan_marks(snapshot: Snapshot, findings: list[Finding], old: State, keys: dict[str, dict[int, str]],
               columns: dict[str, dict[str, int]], frozen: set[str] = frozenset()
               ) -> tuple[list[Paint], list[Unpaint], dict, set]:
    """keys: tab title -> {sheet row: row key}; columns: tab title -> {header: sheet column}, as
    read now. ``frozen``: tabs that could not be checked this run (a required header renamed):
    their marks are neither touched nor forgotten."""
    trust_prefix = not old.present
    paints: list[Paint] = []
    unpaints: list[Unpaint] = []
    marks: dict[tuple[str, str, str], Mark] = {k: m for k, m in old.marks.items() if k[0] in frozen}
    not_painted: set[tuple[str, int, int]] = set()
    wanted = {cell: w for cell, w in desired_marks(findings).items() if cell[0] not in frozen}
    wanted_keys = {(tab, rk, colname) for (tab, _r, _c), (rk, colname, _n) in wanted.items()}
    rows_by_key = {tab: {k: r for r, k in m.items()} for tab, m in keys.items()}
    # a mark whose row key is gone (the person fixed a key cell, e.g. 咨询时间) is still ours
    # where it was, if that cell shows exactly what sheetsync wrote
    moved: dict[tuple[str, int, int], tuple[tuple[str, str, str], Mark]] = {}
    for k, prev in old.marks.items():
        tab, row_key, _colname = k
        if tab in frozen or row_key in rows_by_key.get(tab, {}) or not prev.row:
            continue
        data = snapshot.tabs.get(tab)
        if data and _is_ours(prev, data.fills.get((prev.row, prev.col)), data.notes.get((prev.row, prev.col)), False):
            moved[(tab, prev.row, prev.col)] = (k, prev)
    claimed: set[tuple[str, str, str]] = set()
    for (tab, row, col), (row_key, colname, note) in sorted(wanted.items()):
        data = snapshot.tabs.get(tab)
        cur_fill = data.fills.get((row, col)) if data else None
        cur_note = data.notes.get((row, col)) if data else None
        prev = old.marks.get((tab, row_key, colname))
        if prev is None and (tab, row, col) in moved:
            old_key, prev = moved[(tab, row, col)]
            claimed.add(old_key)
        ours = _is_ours(prev, cur_fill, cur_note, trust_prefix)
        if ours or (cur_fill is None and not cur_note):
            if not (ours and cur_note == note and cur_fill == MARK_FILL):
                paints.append(Paint(tab, row, col, row_key, note))
            marks[(tab, row_key, colname)] = Mark(MARK_FILL, note, row, col)
        else:
            not_painted.add((tab, row, col))
    # marks from earlier runs that are no longer wanted: clear them if they are still ours
    for (tab, row_key, colname), prev in sorted(old.marks.items()):
        if (tab, row_key, colname) in wanted_keys or (tab, row_key, colname) in claimed or tab in frozen:
            continue
        data = snapshot.tabs.get(tab)
        row = rows_by_key.get(tab, {}).get(row_key)
        col = columns.get(tab, {}).get(colname)
        if row is None and (tab, prev.row, prev.col) in moved:
            row, col = prev.row, prev.col
            row_key = keys.get(tab, {}).get(row, "")  # the row's key now, so a backend can re-aim it
        if data is None or row is None or col is None:
            continue  # row or column deleted: nothing left to clear
        if _is_ours(prev, data.fills.get((row, col)), data.notes.get((row, col)), trust_prefix):
            unpaints.append(Unpaint(tab, row, col, row_key))
    if trust_prefix:  # no state tab: marks sheetsync wrote earlier are recognised by prefix and colour
        wanted_cells = set(wanted)
        for tab, data in snapshot.tabs.items():
            if tab not in keys:
                continue
            for (row, col), note in data.notes.items():
                if (tab, row, col) not in wanted_cells and _is_ours(None, data.fills.get((row, col)), note, True):
                    unpaints.append(Unpaint(tab, row, col, keys[tab].get(row, "")))
    return paints, unpaints, marks, not_painted


def _is_ours(prev: Mark | None, fill: str | None, note: str | None, trust_prefix: bool) -> bool:
    """A mark is sheetsync's while the cell shows exactly what sheetsync wrote. A mark a person
    recoloured or edited became theirs for good (it is no longer in the state)."""
    if prev is not None:
        return fill == prev.fill and note == prev.note
    return trust_prefix and bool(note) and note.startswith(NOTE_PREFIX) and fill == MARK_FILL


def plan_problems(findings: list[Finding], old: State, now: datetime) -> dict:
    stamp = now.strftime("%Y-%m-%d %H:%M")
    out = {}
    for f in findings:
        key = (f.tab, f.row_key or f"@{f.row}", f.column, f.code)
        prev = old.problems.get(key)
        value = "" if f.value is None else str(f.value)
        out[key] = Problem(prev.since if prev else stamp, f.message, f.row, f.col, f.owner_role, f.job, f.paint, value)
    return out


# -- comparing job-owned tabs -----------------------------------------------------------------


def norm_cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, float) and math.isnan(value):
        return ""
    if value is pd.NaT or value is pd.NA:
        return ""
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return round(float(value), 9)
    if isinstance(value, (datetime, pd.Timestamp)):
        return pd.Timestamp(value).strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, date):
        return value.strftime("%Y-%m-%d 00:00:00")
    if isinstance(value, time):
        return value.strftime("%H:%M:%S")
    text = str(value)
    return text


def norm_rows(rows: Iterable[Iterable[Any]]) -> list[tuple[Any, ...]]:
    out = []
    for row in rows:
        cells = [norm_cell(v) for v in row]
        while cells and cells[-1] == "":
            cells.pop()
        out.append(tuple(cells))
    while out and not out[-1]:
        out.pop()
    return out


def tab_differs(snapshot: Snapshot, op: ReplaceTab) -> bool:
    current = snapshot.tabs.get(op.tab)
    if current is None:
        return True
    if current.hidden != op.hidden:
        return True
    return norm_rows(current.rows) != norm_rows(op.rows)


def plan(snapshot: Snapshot, findings: list[Finding], fills: list[FillValue], tabs: list[ReplaceTab],
         old: State, new_signed: dict, now: datetime, keys: dict[str, dict[int, str]],
         columns: dict[str, dict[str, int]], key_columns: dict[str, tuple[int, ...]], state_title: str,
         problems_tab: Callable, frozen: set[str] = frozenset()) -> Plan:
    """Everything but the run-log row. ``problems_tab(findings, state, not_painted)`` builds the
    问题清单 ReplaceTab once the marks are known (it says which cells a person had marked)."""
    paints, unpaints, marks, not_painted = plan_marks(snapshot, findings, old, keys, columns, frozen)
    state = State(marks=marks, problems=plan_problems(findings, old, now), signed=new_signed)
    all_tabs = [*tabs, problems_tab(findings, state, not_painted),
                ReplaceTab(state_title, state.rows(), hidden=True, protected=True)]
    changes = ChangeSet(paints=paints, unpaints=unpaints, fills=list(fills),
                        tabs=[t for t in all_tabs if tab_differs(snapshot, t)], key_columns=key_columns)
    return Plan(changes, state, not_painted)


def with_run_log(changes: ChangeSet, title: str, header: tuple[str, ...], row: tuple[Any, ...]) -> ChangeSet:
    changes.appends.append(AppendRows(title, header, (row,)))
    return changes
