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
from typing import AbstractSet, Any, Callable, Iterable, Mapping

import pandas as pd

from .model import (MARK_FILL, NOTE_PREFIX, AppendRows, is_own_note, ChangeSet, Finding, FillValue, Paint, ReplaceTab,
                    Snapshot, Unpaint)
from .state import SINCE_FORMAT, Mark, MarkKey, Problem, ProblemKey, State

# the longest note a cell can hold (Excel's limit for cell text and comments)
NOTE_LIMIT = 32767


def is_sheetsync_note(note: str | None) -> bool:
    """A note sheetsync wrote starts with its prefix (in the language it was written in)."""
    return is_own_note(note)


@dataclass
class Plan:
    changes: ChangeSet
    state: State
    not_painted: set[tuple[str, int, int]] = field(default_factory=set)  # (tab, row, col) a person had marked


def mark_note(messages: Iterable[str], prefix: str = NOTE_PREFIX) -> str:
    """One note for every problem of a cell, capped to what a cell note can hold."""
    unique = list(dict.fromkeys(messages))
    note = prefix + "\n".join(unique)
    return note if len(note) <= NOTE_LIMIT else note[:NOTE_LIMIT - 1] + "…"


@dataclass(frozen=True)
class Layout:
    """Where things are in the workbook as read now, by template id: the planner's map from
    the ids of findings and state to sheet coordinates. ``tabs`` tab id -> title, ``keys`` tab id
    -> {sheet row: row key}, ``columns`` tab id -> {column id: sheet column}."""

    tabs: Mapping[str, str]
    keys: Mapping[str, Mapping[int, str]]
    columns: Mapping[str, Mapping[str, int]]

    def tab_id(self, f: Finding) -> str:
        if f.tab_id:
            return f.tab_id
        return next((i for i, t in self.tabs.items() if t == f.tab), "@" + f.tab)

    def mark_key(self, f: Finding) -> MarkKey:
        return (self.tab_id(f), f.row_key, f.column_id or "@" + f.column)

    def problem_key(self, f: Finding) -> ProblemKey:
        return (self.tab_id(f), f.row_key or f"@{f.row}", f.column_id or "@" + f.column, f.code)


def desired_marks(findings: Iterable[Finding], prefix: str = NOTE_PREFIX
                  ) -> dict[tuple[str, int, int], tuple[Finding, str]]:
    """(tab title, row, col) -> (first finding, note) for every paintable finding."""
    grouped: dict[tuple[str, int, int], list[Finding]] = {}
    for f in findings:
        if f.paint and f.row > 0 and f.col > 0:
            grouped.setdefault((f.tab, f.row, f.col), []).append(f)
    return {cell: (fs[0], mark_note((f.message for f in fs), prefix)) for cell, fs in grouped.items()}


def plan_marks(snapshot: Snapshot, findings: list[Finding], old: State, layout: Layout,
               frozen: AbstractSet[str] = frozenset(), prefix: str = NOTE_PREFIX
               ) -> tuple[list[Paint], list[Unpaint], dict[MarkKey, Mark], set[tuple[str, int, int]]]:
    """Paints and unpaints that bring the marks in line with ``findings``, the marks to remember,
    and the cells a person had marked (left alone). ``frozen``: tab ids that could not be checked
    this run (a required header renamed): their marks are neither touched nor forgotten.

    Whose mark is it: while a state tab was read, the state decides (the cell must still show
    exactly what sheetsync wrote); without one, or for cells whose state row was damaged, a mark is
    recognised by sheetsync's prefix and fill."""
    trust_look = not old.present or old.damaged
    paints: list[Paint] = []
    unpaints: list[Unpaint] = []
    marks: dict[MarkKey, Mark] = {k: m for k, m in old.marks.items() if k[0] in frozen}
    not_painted: set[tuple[str, int, int]] = set()
    wanted = {cell: w for cell, w in desired_marks(findings, prefix).items() if layout.tab_id(w[0]) not in frozen}
    wanted_keys = {layout.mark_key(f) for f, _n in wanted.values()}
    rows_by_key = {tab: {k: r for r, k in m.items()} for tab, m in layout.keys.items()}
    recorded_cells: set[tuple[str, int, int]] = set()  # cells a state mark points at now

    def where(key: MarkKey, prev: Mark) -> tuple[str, int, int] | None:
        tab_id, row_key, col_id = key
        title = layout.tabs.get(tab_id)
        if title is None:
            return None
        row = rows_by_key.get(tab_id, {}).get(row_key)
        col = layout.columns.get(tab_id, {}).get(col_id) or prev.col
        return (title, row, col) if row is not None and col else None

    # a mark whose row key is gone (the person fixed a key cell, e.g. 咨询时间) is still ours
    # where it was, if that cell shows exactly what sheetsync wrote
    moved: dict[tuple[str, int, int], tuple[MarkKey, Mark]] = {}
    for k, prev in old.marks.items():
        tab_id, row_key, _col = k
        title = layout.tabs.get(tab_id)
        if tab_id in frozen or title is None:
            continue
        cell = where(k, prev)
        if cell is not None:
            recorded_cells.add(cell)
            continue
        if not prev.row:
            continue
        data = snapshot.tabs.get(title)
        if data and prev.matches(data.fills.get((prev.row, prev.col)), data.notes.get((prev.row, prev.col))):
            moved[(title, prev.row, prev.col)] = (k, prev)
            recorded_cells.add((title, prev.row, prev.col))
    claimed: set[MarkKey] = set()
    for (tab, row, col), (f, note) in sorted(wanted.items(), key=lambda kv: kv[0]):
        data = snapshot.tabs.get(tab)
        cur_fill = data.fills.get((row, col)) if data else None
        cur_note = data.notes.get((row, col)) if data else None
        key = layout.mark_key(f)
        prev = old.marks.get(key)
        if prev is None and (tab, row, col) in moved:
            old_key, prev = moved[(tab, row, col)]
            claimed.add(old_key)
        if prev is not None:
            ours = prev.matches(cur_fill, cur_note)
        else:
            ours = trust_look and (tab, row, col) not in recorded_cells and _looks_ours(cur_fill, cur_note)
        if ours or (cur_fill is None and not cur_note):
            if not (ours and cur_note == note and cur_fill == MARK_FILL):
                paints.append(Paint(tab, row, col, f.row_key, note))
            marks[key] = Mark.of(MARK_FILL, note, row, col)
        else:
            not_painted.add((tab, row, col))
    # marks from earlier runs that are no longer wanted: clear them if they are still ours
    for k, prev in sorted(old.marks.items()):
        if k in wanted_keys or k in claimed or k[0] in frozen:
            continue
        title = layout.tabs.get(k[0])
        data = snapshot.tabs.get(title) if title else None
        cell = where(k, prev)
        row_key = k[1]
        if cell is None and title and (title, prev.row, prev.col) in moved:
            cell = (title, prev.row, prev.col)
            row_key = layout.keys.get(k[0], {}).get(prev.row, "")  # the row's key now, so a backend can re-aim it
        if data is None or cell is None:
            continue  # row or column deleted: nothing left to clear
        _t, row, col = cell
        if prev.matches(data.fills.get((row, col)), data.notes.get((row, col))):
            unpaints.append(Unpaint(cell[0], row, col, row_key))
    if trust_look:  # no (or a damaged) state tab: sheetsync's earlier marks are recognised by their look
        wanted_cells = set(wanted)
        done = {(u.tab, u.row, u.col) for u in unpaints}
        for tab_id, title in layout.tabs.items():
            data = snapshot.tabs.get(title)
            if data is None or tab_id in frozen or tab_id not in layout.keys:
                continue
            for (row, col), note in data.notes.items():
                cell = (title, row, col)
                if cell in wanted_cells or cell in done or cell in recorded_cells:
                    continue
                if _looks_ours(data.fills.get((row, col)), note):
                    unpaints.append(Unpaint(title, row, col, layout.keys[tab_id].get(row, "")))
    return paints, unpaints, marks, not_painted


def _looks_ours(fill: str | None, note: str | None) -> bool:
    return bool(note) and is_sheetsync_note(note) and fill == MARK_FILL


def plan_problems(findings: list[Finding], old: State, now: datetime, layout: Layout) -> dict[ProblemKey, Problem]:
    stamp = now.strftime(SINCE_FORMAT)
    out: dict[ProblemKey, Problem] = {}
    for f in findings:
        key = layout.problem_key(f)
        prev = old.problems.get(key)
        value = "" if f.value is None else str(f.value)
        out[key] = Problem(prev.since if prev else stamp, f.row, f.col, f.owner_role, f.job, f.paint, value,
                           f.tab, f.column, dict(f.params), f.message)
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
         old: State, new_signed: dict[str, dict[str, Any]], now: datetime, layout: Layout,
         key_columns: dict[str, tuple[int, ...]], state_title: str, state_header: tuple[str, ...],
         problems_tab: Callable[[list[Finding], State, set[tuple[str, int, int]]], ReplaceTab],
         frozen: AbstractSet[str] = frozenset(), prefix: str = NOTE_PREFIX) -> Plan:
    """Everything but the run-log row. ``problems_tab(findings, state, not_painted)`` builds the
    问题清单 ReplaceTab once the marks are known (it says which cells a person had marked)."""
    paints, unpaints, marks, not_painted = plan_marks(snapshot, findings, old, layout, frozen, prefix)
    state = State(marks=marks, problems=plan_problems(findings, old, now, layout), signed=new_signed)
    all_tabs = [*tabs, problems_tab(findings, state, not_painted),
                ReplaceTab(state_title, state.rows(state_header), hidden=True, protected=True)]
    changes = ChangeSet(paints=paints, unpaints=unpaints, fills=list(fills),
                        tabs=[t for t in all_tabs if tab_differs(snapshot, t)], key_columns=key_columns)
    return Plan(changes, state, not_painted)


def with_run_log(changes: ChangeSet, title: str, header: tuple[str, ...], row: tuple[Any, ...]) -> ChangeSet:
    changes.appends.append(AppendRows(title, header, (row,)))
    return changes
