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

from .model import (MARK_FILL, NOTE_PREFIX, OWN_FILLS, SEVERITY_FILLS, AppendRows, is_own_note, ChangeSet, Finding,
                    FillValue, Paint, ReplaceTab, Snapshot, TabData, Unpaint)
from .state import SINCE_FORMAT, VERSION, Alert, Mark, MarkKey, Problem, ProblemKey, State, note_digest

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


def one_per_cell(findings: Iterable[Finding]) -> list[Finding]:
    """One clear note per cell: where several painted findings hit one cell, only those of the
    highest ``priority`` stay (a cell to fix says what to do; that a time limit ran out is the
    fallback), so a note never says "resolved but no time" beside "still not resolved". The
    others are dropped from 问题清单 too: they would contradict the note."""
    findings = list(findings)
    best: dict[tuple[str, int, int], int] = {}
    for f in findings:
        if f.paint and f.row > 0 and f.col > 0:
            cell = (f.tab, f.row, f.col)
            best[cell] = max(best.get(cell, f.priority), f.priority)
    return [f for f in findings
            if not (f.paint and f.row > 0 and f.col > 0) or f.priority >= best[(f.tab, f.row, f.col)]]


def mark_fill(findings: Iterable[Finding]) -> str:
    """Red if any finding of the cell is an error, amber if the worst is a warning, the info
    colour for a note on a value sheetsync filled in."""
    severities = {f.severity for f in findings}
    for severity in ("error", "warn", "info"):
        if severity in severities:
            return SEVERITY_FILLS[severity]
    return MARK_FILL


def desired_marks(findings: Iterable[Finding], prefix: str = NOTE_PREFIX
                  ) -> dict[tuple[str, int, int], tuple[Finding, str, str]]:
    """(tab title, row, col) -> (first finding, note, fill) for every paintable finding, the
    note made of the findings that win the cell (``one_per_cell``)."""
    grouped: dict[tuple[str, int, int], list[Finding]] = {}
    for f in one_per_cell(findings):
        if f.paint and f.row > 0 and f.col > 0:
            grouped.setdefault((f.tab, f.row, f.col), []).append(f)
    return {cell: (fs[0], mark_note((f.message for f in fs), prefix), mark_fill(fs)) for cell, fs in grouped.items()}


def plan_marks(snapshot: Snapshot, findings: list[Finding], old: State, layout: Layout,
               frozen: AbstractSet[str] = frozenset(), prefix: str = NOTE_PREFIX
               ) -> tuple[list[Paint], list[Unpaint], dict[MarkKey, Mark], set[tuple[str, int, int]]]:
    """Paints and unpaints that bring the marks in line with ``findings``, the marks to remember,
    and the cells a person had marked (left alone). ``frozen``: tab ids that could not be checked
    this run (a required header renamed): their marks are neither touched nor forgotten.

    Whose mark is it: a cell is sheetsync's when it shows exactly a mark sheetsync recorded
    writing in that column (its fill, and a note with the recorded digest), whichever row it is
    on now. Positions are never trusted: rows move between runs (a sort, an insert, a delete, a
    fixed key cell) and even between the confirming read and the write. So every such cell is
    explained by the finding of the row that now holds it (kept, or updated in place) or, when
    that row has no such problem now, cleared: a mark never lands on, nor is cleared from, a row
    because of where another row used to be, and a stray mark left by rows that moved during a
    write is repaired by the next run. Without a state tab (first run, tab deleted), or while a
    state row was damaged, a mark is also recognised by sheetsync's prefix and fill."""
    trust_look = not old.present or old.damaged
    paints: list[Paint] = []
    unpaints: list[Unpaint] = []
    marks: dict[MarkKey, Mark] = {k: m for k, m in old.marks.items() if k[0] in frozen}
    not_painted: set[tuple[str, int, int]] = set()
    wanted = {cell: w for cell, w in desired_marks(findings, prefix).items() if layout.tab_id(w[0]) not in frozen}
    # (tab title, sheet column) -> the (fill, digest) pairs sheetsync recorded writing in that column
    recorded: dict[tuple[str, int], set[tuple[str, str]]] = {}
    for (tab_id, _key, col_id), prev in old.marks.items():
        title = layout.tabs.get(tab_id)
        col = layout.columns.get(tab_id, {}).get(col_id)
        if tab_id in frozen or title is None or not col:
            continue
        recorded.setdefault((title, col), set()).add((prev.fill, prev.digest))

    def ours(title: str, col: int, fill: str | None, note: str | None) -> bool:
        if note and fill and (fill, note_digest(note)) in recorded.get((title, col), ()):
            return True
        return trust_look and _looks_ours(fill, note)

    for (tab, row, col), (f, note, fill) in sorted(wanted.items(), key=lambda kv: kv[0]):
        data = snapshot.tabs.get(tab)
        cur_fill = data.fills.get((row, col)) if data else None
        cur_note = data.notes.get((row, col)) if data else None
        mine = ours(tab, col, cur_fill, cur_note)
        if mine or (cur_fill is None and not cur_note):
            if not (mine and cur_note == note and cur_fill == fill):  # a warning turning red is repainted
                paints.append(Paint(tab, row, col, f.row_key, note, fill))
            marks[layout.mark_key(f)] = Mark.of(fill, note)
        else:
            not_painted.add((tab, row, col))
    # every other cell showing one of sheetsync's marks: no row has that problem there now
    for tab_id, title in sorted(layout.tabs.items()):
        data = snapshot.tabs.get(title)
        if data is None or tab_id in frozen or tab_id not in layout.keys:
            continue
        keys = layout.keys[tab_id]
        for (row, col), note in sorted(data.notes.items()):
            if (title, row, col) in wanted or not ours(title, col, data.fills.get((row, col)), note):
                continue
            unpaints.append(Unpaint(title, row, col, keys.get(row, "")))
    return paints, unpaints, marks, not_painted


def _looks_ours(fill: str | None, note: str | None) -> bool:
    return bool(note) and is_sheetsync_note(note) and fill in OWN_FILLS


def plan_problems(findings: list[Finding], old: State, now: datetime, layout: Layout) -> dict[ProblemKey, Problem]:
    stamp = now.strftime(SINCE_FORMAT)
    out: dict[ProblemKey, Problem] = {}
    for f in findings:
        key = layout.problem_key(f)
        prev = old.problems.get(key)
        value = "" if f.value is None else str(f.value)
        out[key] = Problem(prev.since if prev else stamp, f.row, f.col, f.owner_role, f.job, f.paint, value,
                           f.tab, f.column, dict(f.params), f.message, f.severity, f.owners,
                           f.deadline.strftime(SINCE_FORMAT) if f.deadline else "", f.priority)
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


def _loose(row: Iterable[Any]) -> list[Any]:
    """A row with its empty cells as "" and no trailing ones: what a written "" reads back as
    (None) is then equal to it, without normalising every cell. Equal loose rows are equal
    normalised rows (``norm_rows``), so this is only a quicker first answer."""
    cells = ["" if v is None else v for v in row]
    while cells and cells[-1] == "":
        cells.pop()
    return cells


def tab_differs(snapshot: Snapshot, op: ReplaceTab) -> bool:
    current = snapshot.tabs.get(op.tab)
    if current is None:
        return True
    if current.hidden != op.hidden:
        return True
    # row by row: a row equal as it stands needs no normalising (the usual case on an idle run)
    old_rows, new_rows = current.rows, op.rows
    for a, b in zip(old_rows, new_rows):  # noqa: B905 - the longer one's tail is checked below
        if list(a) != list(b) and _loose(a) != _loose(b) and norm_rows([a]) != norm_rows([b]):
            return True
    tail = old_rows[len(new_rows):] if len(old_rows) > len(new_rows) else new_rows[len(old_rows):]
    return bool(norm_rows(tail))


def plan(snapshot: Snapshot, findings: list[Finding], fills: list[FillValue], tabs: list[ReplaceTab],
         old: State, new_signed: dict[str, dict[str, Any]], now: datetime, layout: Layout,
         key_columns: dict[str, tuple[int, ...]], state_title: str, state_header: tuple[str, ...],
         problems_tab: Callable[[list[Finding], State, set[tuple[str, int, int]]], ReplaceTab],
         frozen: AbstractSet[str] = frozenset(), prefix: str = NOTE_PREFIX,
         filled: Mapping[str, Any] | None = None, reported: tuple[str, str] | None = None,
         alerts: Mapping[ProblemKey, Alert] | None = None) -> Plan:
    """Everything but the run-log row. ``problems_tab(findings, state, not_painted)`` builds the
    问题清单 ReplaceTab once the marks are known (it says which cells a person had marked); it is
    given the problems only (no "info" notes). ``filled`` / ``reported``: the state's values filled
    in and last reported week, when a job changed them (None = as they were). ``alerts``: who was
    told about which problem (see core/alerts.py); None keeps the records of the problems still open."""
    findings = one_per_cell(findings)
    paints, unpaints, marks, not_painted = plan_marks(snapshot, findings, old, layout, frozen, prefix)
    state = _next_state(marks, findings, old, new_signed, now, layout, filled, reported, alerts)
    all_tabs = [*tabs, problems_tab([f for f in findings if f.is_problem], state, not_painted)]
    if not state_tab_holds(snapshot.tabs.get(state_title), state_header, old, state):
        all_tabs.append(ReplaceTab(state_title, state.rows(state_header), hidden=True, protected=True))
    changes = ChangeSet(paints=paints, unpaints=unpaints, fills=list(fills),
                        tabs=[t for t in all_tabs if tab_differs(snapshot, t)], key_columns=key_columns)
    return Plan(changes, state, not_painted)


def state_tab_holds(current: TabData | None, header: tuple[str, ...], old: State, new: State) -> bool:
    """Whether the state tab ``current`` already holds ``new`` without writing it out and comparing:
    it was read whole into ``old`` (this format, no row it could not read, one row per record
    under ``header``, hidden) and ``new`` is equal to ``old``. Then its rows are those ``new``
    writes, up to how they are spelled and ordered (a tab a person re-sorted stays so)."""
    if current is None or not current.hidden or not old.present or old.damaged or old.version != VERSION:
        return False
    records = 1 + len(old.marks) + len(old.problems) + len(old.signed) + len(old.alerts) + len(old.filled) + \
        (1 if old.reported else 0)  # the first: the format's version
    rows = current.rows
    if len(rows) != records + 1 or norm_rows([rows[0]]) != norm_rows([header]):
        return False
    return new == old


def _next_state(marks: dict[MarkKey, Mark], findings: list[Finding], old: State, new_signed: dict[str, dict[str, Any]],
                now: datetime, layout: Layout, filled: Mapping[str, Any] | None, reported: tuple[str, str] | None,
                alerts: Mapping[ProblemKey, Alert] | None) -> State:
    problems = plan_problems(findings, old, now, layout)
    kept = {k: a for k, a in (old.alerts if alerts is None else alerts).items() if k in problems}
    return State(marks=marks, problems=problems, signed=new_signed, alerts=kept,
                 filled=dict(old.filled if filled is None else filled),
                 reported=old.reported if reported is None else reported)


def unchanged_plan(findings: list[Finding], old: State, new_signed: dict[str, dict[str, Any]], now: datetime,
                   layout: Layout, key_columns: dict[str, tuple[int, ...]], not_painted: set[tuple[str, int, int]],
                   filled: Mapping[str, Any] | None = None, reported: tuple[str, str] | None = None,
                   alerts: Mapping[ProblemKey, Alert] | None = None) -> Plan:
    """What :func:`plan` returns when it is given exactly what it was given on a run whose plan
    changed nothing, on the same workbook content (the shell keeps that run's ``not_painted``):
    no change, and a state equal to the one the state tab holds. Its marks are the tab's own
    (an empty plan means the state tab read back as the marks it would have written), and its
    problems are made again, each with its "since" from the tab (none is new: they were all
    there on that run). An idle rerun so skips comparing every mark, 问题清单 and the state tab."""
    findings = one_per_cell(findings)
    state = _next_state(dict(old.marks), findings, old, new_signed, now, layout, filled, reported, alerts)
    return Plan(ChangeSet(key_columns=key_columns), state, set(not_painted))


def with_run_log(changes: ChangeSet, title: str, header: tuple[str, ...], row: tuple[Any, ...]) -> ChangeSet:
    changes.appends.append(AppendRows(title, header, (row,)))
    return changes
