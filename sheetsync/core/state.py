"""What sheetsync remembers between runs, kept in a hidden job-owned tab of the workbook itself.

It travels with the workbook and needs no database: which cells sheetsync painted (so it only
ever clears its own red), since when each problem has been open, and what a promotion said when
it was signed. One row per entry, as plain text, sorted, so an unchanged state compares equal and
an idle workbook is not rewritten.

Keys are template ids, never what a person sees: (tab id, row key, column id[, code]). Renaming
a tab or a header (to an alias, in full width, in the other language) or moving a column keeps
every mark, every problem's "since" and every signature.

People can and will touch this tab. Reading it never fails: a row that cannot be read is
skipped and reported (``State.unreadable``), and the planner then also recognises sheetsync's own
marks by their look, so a damaged row never makes sheetsync disown a mark still on its cell.

Format versions: ``1`` (keys were tab titles and header texts, marks held the whole note) is
read and migrated through a :class:`Resolver`; ``2`` is written.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Callable, Mapping

from .model import PRIORITY_ACT, TabData

VERSION = "2"
KINDS = ("meta", "mark", "problem", "signed", "alert", "filled", "reported")
# A cell holds at most 32,767 characters (Excel, and so openpyxl and calamine); a state row is one
# JSON cell, so every text kept in it is capped well below that.
CELL_LIMIT = 32767
TEXT_CAP = 2000
SINCE_FORMAT = "%Y-%m-%d %H:%M"


@functools.lru_cache(maxsize=4096)
def since_time(text: str) -> datetime:
    """A SINCE_FORMAT text as a time: a state holds a few distinct moments for thousands of
    problems and alert records, so each is parsed once. Raises ValueError / TypeError."""
    return datetime.strptime(text, SINCE_FORMAT)


def note_digest(note: str | None) -> str:
    """What a mark remembers of the note it wrote: a digest, so a state row stays small however
    long the note is."""
    return hashlib.sha1((note or "").encode("utf-8")).hexdigest()[:20]


@dataclass(frozen=True)
class Mark:
    """A mark sheetsync painted: the fill it set and a digest of the note it wrote. Which cell it
    is on is not remembered: rows move (sorts, inserts, deletes, even between sheetsync's
    confirming read and its write), so the planner finds a mark by what the cell shows, never by
    a position that may be stale."""

    fill: str
    digest: str

    @classmethod
    def of(cls, fill: str, note: str) -> "Mark":
        return cls(fill, note_digest(note))

    def matches(self, fill: str | None, note: str | None) -> bool:
        """The cell still shows exactly what sheetsync wrote."""
        return fill == self.fill and note is not None and note_digest(note) == self.digest


@dataclass(frozen=True)
class Problem:
    since: str  # shop time the problem was first seen, SINCE_FORMAT
    row: int
    col: int
    owner_role: str
    job: str
    paint: bool
    value: str = ""
    tab: str = ""  # the tab title and column header as last seen (for problems kept across jobs)
    column: str = ""
    params: Mapping[str, Any] = field(default_factory=dict, compare=False)
    message: str = ""  # the words as last rendered (a fallback; the edge renders code + params)
    severity: str = "error"  # Finding.severity ("warn": amber, "info": a note, not a problem)
    owners: tuple[str, ...] = ()  # Finding.owners: the row's people who must act
    deadline: str = ""  # Finding.deadline, SINCE_FORMAT ("" = none)
    priority: int = PRIORITY_ACT  # Finding.priority (which note wins a cell)


@dataclass(frozen=True)
class Alert:
    """Who was told about an open problem, and when: the problem is never alerted twice while it
    stays open, and a red one is escalated once (``escalated``) when it stays open too long."""

    told: str  # shop time the owner was told, SINCE_FORMAT
    to: tuple[str, ...] = ()  # the names told
    severity: str = "error"
    since: str = ""  # the problem's "since" when told (part of the message id)
    escalated: str = ""  # shop time it went to the manager; "" = not yet


MarkKey = tuple[str, str, str]  # (tab id, row key, column id)
ProblemKey = tuple[str, str, str, str]  # (tab id, row key, column id, code)


@dataclass(frozen=True)
class Unreadable:
    """A row of the state tab that could not be read (someone edited it): skipped this run."""

    row: int
    reason: str  # code: "kind", "json", "fields", "since", "too_long", "key"


@dataclass
class State:
    marks: dict[MarkKey, Mark] = field(default_factory=dict)
    problems: dict[ProblemKey, Problem] = field(default_factory=dict)
    signed: dict[str, dict[str, Any]] = field(default_factory=dict)  # "tab id\x1frow key" -> record
    alerts: dict[ProblemKey, Alert] = field(default_factory=dict)  # problem key -> who was told when
    # values sheetsync filled in (routing): "tab id\x1frow key\x1fcolumn id" -> the value written
    filled: dict[str, Any] = field(default_factory=dict)
    # the last week 周报 reported: (its Monday "YYYY-MM-DD", when it was made SINCE_FORMAT)
    reported: tuple[str, str] | None = None
    # True when read from an existing state tab: then it is the authority on whose marks are whose.
    # Without one (first run, tab deleted) a mark is recognised by its prefix and colour.
    present: bool = field(default=False, compare=False)
    unreadable: list[Unreadable] = field(default_factory=list, compare=False)
    version: str = field(default=VERSION, compare=False)  # the version that was read

    @property
    def damaged(self) -> bool:
        return bool(self.unreadable)

    def rows(self, header: tuple[str, ...]) -> tuple[tuple[str, ...], ...]:
        """Serialise, sorted, ``header`` (the words the edge chose) first."""
        out: list[tuple[str, ...]] = [("meta", "", "", "", "version", "", VERSION)]
        for (tab, key, col), mark in sorted(self.marks.items()):
            out.append(("mark", tab, key, col, "", "", _dump_mark(mark)))
        for (tab, key, col, code), p in sorted(self.problems.items()):
            out.append(("problem", tab, key, col, code, p.since, _dump({
                "row": p.row, "col": p.col, "owner_role": p.owner_role, "job": p.job, "paint": p.paint,
                "value": _cap(p.value), "tab": _cap(p.tab), "column": _cap(p.column),
                "params": _capped_params(p.params), "message": _cap(p.message), **_extras(p)})))
        for skey, record in sorted(self.signed.items()):
            tab, _, key = skey.partition("\x1f")
            out.append(("signed", tab, key, "", "", "", _dump(record)))
        for (tab, key, col, code), a in sorted(self.alerts.items()):
            out.append(("alert", tab, key, col, code, a.told, _dump({
                "to": [_cap(n) for n in a.to], "severity": a.severity, "since": a.since, "escalated": a.escalated})))
        for fkey, value in sorted(self.filled.items()):
            tab, key, col = (fkey.split("\x1f") + ["", ""])[:3]
            out.append(("filled", tab, key, col, "", "", _dump({"value": value})))
        if self.reported:
            out.append(("reported", "", "", "", "", self.reported[1], _dump({"week": self.reported[0]})))
        return (tuple(header), *out)


# ---------------------------------------------------------------------------------------------
# writing


def _extras(p: Problem) -> dict[str, Any]:
    """What a problem adds to the row beyond the first format's fields: written only when it is
    not the default, so an error with no owners or deadline keeps the row it always had."""
    out: dict[str, Any] = {}
    if p.severity != "error":
        out["severity"] = p.severity
    if p.owners:
        out["owners"] = [_cap(o) for o in p.owners]
    if p.deadline:
        out["deadline"] = p.deadline
    if p.priority != PRIORITY_ACT:
        out["priority"] = p.priority
    return out


def _dump(data: Mapping[str, Any]) -> str:
    text = _ENCODER.encode(data)
    return text if len(text) <= CELL_LIMIT else json.dumps({"too_long": True})


_PLAIN = re.compile(r"[0-9A-Za-z]*")


def _dump_mark(mark: Mark) -> str:
    """``_dump`` of a mark's record, written out directly when its fill and digest are plain
    letters and digits (always, for the marks sheetsync makes): a big sheet has tens of thousands."""
    if _PLAIN.fullmatch(mark.fill) and _PLAIN.fullmatch(mark.digest):
        return f'{{"digest":"{mark.digest}","fill":"{mark.fill}"}}'
    return _dump({"fill": mark.fill, "digest": mark.digest})


def _jsonable(value: Any) -> Any:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if hasattr(value, "seconds") and hasattr(value, "limit"):  # model.Duration
        return {"seconds": value.seconds, "limit": value.limit}
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    return str(value)


# one encoder for every row (``json.dumps`` with options makes a new one per call)
_ENCODER = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=_jsonable)


def _cap(text: Any) -> str:
    text = "" if text is None else str(text)
    return text if len(text) <= TEXT_CAP else text[:TEXT_CAP - 1] + "…"


def _capped_params(params: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in params.items():
        out[key] = _cap(value) if isinstance(value, str) else value
    return out


# ---------------------------------------------------------------------------------------------
# reading


@dataclass(frozen=True)
class Resolver:
    """Maps the keys of a version-1 state tab (tab titles, header texts) to template ids."""

    tab_id: Callable[[str], str | None]
    column_id: Callable[[str, str], str | None]  # (tab id, header) -> column id


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        if math.isnan(value):
            return ""
        if value.is_integer():
            return str(int(value))
    if isinstance(value, datetime):
        return value.strftime(SINCE_FORMAT)
    return str(value)


def parse_since(value: Any) -> str | None:
    """The 'since' cell as SINCE_FORMAT. A person (or Excel on F2+Enter) may have turned the
    text into a date cell, or typed a date of their own: any readable time is taken."""
    if isinstance(value, datetime):
        return value.strftime(SINCE_FORMAT)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day).strftime(SINCE_FORMAT)
    if isinstance(value, (int, float)) and not isinstance(value, bool) and 20000 < float(value) < 80000:
        return (datetime(1899, 12, 30) + timedelta(days=float(value))).strftime(SINCE_FORMAT)
    text = _text(value).strip()
    if not text:
        return None
    for fmt in (SINCE_FORMAT, "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M", "%Y/%m/%d %H:%M",
                "%Y/%m/%d %H:%M:%S", "%Y-%m-%d", "%Y/%m/%d"):
        try:
            return datetime.strptime(text, fmt).strftime(SINCE_FORMAT)
        except ValueError:
            continue
    return None


def _int(value: Any) -> int:
    if isinstance(value, bool):
        raise TypeError("bool is not a position")
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    raise TypeError(f"not a position: {value!r}")


def _list(value: Any) -> list[Any]:
    if not isinstance(value, list):
        raise TypeError("list expected")
    return value


def _str(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (dict, list)):
        raise TypeError("text expected")
    return _text(value)


class _Bad(Exception):
    def __init__(self, reason: str) -> None:
        self.reason = reason


def load_state(tab: TabData | None, resolver: Resolver | None = None) -> State:
    """Read the hidden state tab, whatever people did to it. Rows that cannot be read are skipped
    and listed in ``State.unreadable``: losing a row only means a problem's 'since' resets, or a
    mark is recognised by its look instead of by its record."""
    state = State()
    if tab is None:
        return state
    state.present = True
    rows = tab.rows[1:]
    version = "1"
    for row in rows:
        if row and _text(row[0]) == "meta" and len(row) >= 7 and _text(row[4]) == "version":
            version = _text(row[6]).strip() or "1"
    state.version = version
    legacy = version == "1"
    for n, row in enumerate(rows, start=2):
        if not any(v not in (None, "") for v in row):
            continue
        try:
            _read_row(state, list(row) + [None] * (7 - len(row)), legacy, resolver)
        except _Bad as bad:
            state.unreadable.append(Unreadable(n, bad.reason))
    return state


def _read_row(state: State, cells: list[Any], legacy: bool, resolver: Resolver | None) -> None:
    kind = _text(cells[0]).strip()
    if kind not in KINDS:
        raise _Bad("kind")
    if kind == "meta":
        return
    tab, key, col, code = (_text(c) for c in cells[1:5])
    when, data = cells[5], cells[6]
    if not isinstance(data, str) and data is not None:
        raise _Bad("json")
    try:
        payload = json.loads(data) if data else {}
    except ValueError:
        raise _Bad("json") from None
    if not isinstance(payload, dict):
        raise _Bad("json")
    if payload.get("too_long"):
        raise _Bad("too_long")
    if legacy and kind in ("mark", "problem"):
        tab, col = _migrate_key(tab, col, resolver)
        code = _migrate_code(code, tab)
    try:
        if kind == "mark":
            digest = payload.get("digest")
            if digest is None:  # version 1 kept the whole note
                note = payload["note"]
                if not isinstance(note, str):
                    raise TypeError("note")
                digest = note_digest(note)
            fill = payload["fill"]
            if not isinstance(fill, str) or not isinstance(digest, str):
                raise TypeError("fill")
            state.marks[(tab, key, col)] = Mark(fill, digest)  # a "row"/"col" of older versions is not used
        elif kind == "problem":
            since = parse_since(when)
            if since is None:
                raise _Bad("since")
            params = payload.get("params", {})
            if not isinstance(params, dict):
                raise TypeError("params")
            paint = payload["paint"]
            if not isinstance(paint, bool):
                raise TypeError("paint")
            state.problems[(tab, key, col, code)] = Problem(
                since, _int(payload["row"]), _int(payload["col"]), _str(payload["owner_role"]), _str(payload["job"]),
                paint, _str(payload.get("value", "")), _str(payload.get("tab", cells[1])),
                _str(payload.get("column", cells[3] if legacy else "")), params, _str(payload.get("message", "")),
                _str(payload.get("severity", "error")) or "error",
                tuple(_str(o) for o in _list(payload.get("owners", []))),
                parse_since(payload.get("deadline")) or "", _int(payload.get("priority", PRIORITY_ACT)))
        elif kind == "alert":
            told = parse_since(when)
            to = payload.get("to", [])
            if told is None:
                raise _Bad("since")
            if not isinstance(to, list) or not all(isinstance(n, str) for n in to):
                raise TypeError("to")
            since, escalated = (_optional_time(payload.get(name)) for name in ("since", "escalated"))
            state.alerts[(tab, key, col, code)] = Alert(
                told, tuple(to), "warn" if payload.get("severity") == "warn" else "error", since, escalated)
        elif kind == "filled":
            value = payload["value"]
            if isinstance(value, (dict, list)):
                raise TypeError("value")
            state.filled[f"{tab}\x1f{key}\x1f{col}"] = value
        elif kind == "reported":
            at, week = parse_since(when), payload["week"]
            if at is None or not isinstance(week, str):
                raise _Bad("since")
            datetime.strptime(week, "%Y-%m-%d")
            state.reported = (week, at)
        else:
            if not (isinstance(payload.get("signature"), str) and isinstance(payload.get("values"), dict)
                    and isinstance(payload.get("shown", {}), dict)):
                raise TypeError("signed")
            state.signed[f"{tab}\x1f{key}"] = payload
    except (KeyError, TypeError, ValueError):
        raise _Bad("fields") from None


def _optional_time(value: Any) -> str:
    """A time kept inside a row's data: "" when absent, else it must read as one."""
    if value in (None, ""):
        return ""
    if not isinstance(value, str) or parse_since(value) is None:
        raise TypeError("time")
    return parse_since(value) or ""


# version 1 named the column checks after their tab ("selection.required"); they are shared now
_COLUMN_CHECKS = ("required", "unique", "min")


def _migrate_code(code: str, tab_id: str) -> str:
    head, _, tail = code.rpartition(".")
    return f"column.{tail}" if tail in _COLUMN_CHECKS and head == tab_id else code


def _migrate_key(tab: str, col: str, resolver: Resolver | None) -> tuple[str, str]:
    """Version 1 keyed marks and problems by tab title and header text."""
    if resolver is None:
        return "@" + tab, ("@" + col) if col else ""
    tab_id = resolver.tab_id(tab)
    if tab_id is None:
        return "@" + tab, ("@" + col) if col else ""
    if not col:
        return tab_id, ""
    col_id = resolver.column_id(tab_id, col)
    return tab_id, col_id if col_id is not None else "@" + col


__all__ = ["Alert", "CELL_LIMIT", "Mark", "MarkKey", "Problem", "ProblemKey", "Resolver", "State", "Unreadable",
           "VERSION", "load_state", "note_digest", "parse_since"]
