"""What sheetsync remembers between runs, kept in a hidden job-owned tab of the workbook itself.

It travels with the workbook and needs no database: which cells sheetsync painted (so it only
ever clears its own red), since when each problem has been open, and what a promotion said when
it was signed. One row per entry, as plain text, sorted, so an unchanged state compares equal and
an idle workbook is not rewritten.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import Any

from .model import TabData

log = logging.getLogger(__name__)

HEADER = ("类型", "表", "行键", "列", "代码", "时间", "数据")
VERSION = "1"


@dataclass(frozen=True)
class Mark:
    """A cell sheetsync painted: fill colour and the exact note text it wrote, and where it was
    (so a mark whose row key changed — the person fixed a key cell — is still found)."""

    fill: str
    note: str
    row: int = 0
    col: int = 0


@dataclass(frozen=True)
class Problem:
    since: str  # ISO time (shop time) the problem was first seen
    message: str
    row: int
    col: int
    owner_role: str
    job: str
    paint: bool
    value: str = ""


MarkKey = tuple[str, str, str]  # (tab title, row key, column header)
ProblemKey = tuple[str, str, str, str]  # (tab title, row key, column header, code)


@dataclass
class State:
    marks: dict[MarkKey, Mark] = field(default_factory=dict)
    problems: dict[ProblemKey, Problem] = field(default_factory=dict)
    signed: dict[str, dict[str, Any]] = field(default_factory=dict)  # "tabkey\x1frowkey" -> record
    # True when read from an existing state tab: then it is the only authority on whose marks are
    # whose. Without one (first run, tab deleted) a mark is recognised by its prefix and colour.
    present: bool = field(default=False, compare=False)

    def rows(self) -> tuple[tuple[str, ...], ...]:
        """Serialise, sorted, header first."""
        out: list[tuple[str, ...]] = [("meta", "", "", "", "version", "", VERSION)]
        for (tab, key, col), mark in sorted(self.marks.items()):
            out.append(("mark", tab, key, col, "", "", _dump({"fill": mark.fill, "note": mark.note,
                                                                "row": mark.row, "col": mark.col})))
        for (tab, key, col, code), p in sorted(self.problems.items()):
            out.append(("problem", tab, key, col, code, p.since, _dump({
                "message": p.message, "row": p.row, "col": p.col, "owner_role": p.owner_role, "job": p.job,
                "paint": p.paint, "value": p.value})))
        for skey, record in sorted(self.signed.items()):
            tab, _, key = skey.partition("\x1f")
            out.append(("signed", tab, key, "", "", "", _dump(record)))
        return (HEADER, *out)


def _dump(data: dict[str, Any]) -> str:
    return json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def load_state(tab: TabData | None) -> State:
    """Read the hidden state tab. Rows that cannot be read are skipped with a log line: losing a
    state row only means a mark is treated as a person's (left alone) or a problem's 'since' resets."""
    state = State()
    if tab is None:
        return state
    state.present = True
    for n, row in enumerate(tab.rows[1:], start=2):
        cells = [_text(v) for v in row] + [""] * (7 - len(row))
        kind, tab_title, key, col, code, when, data = cells[:7]
        try:
            payload = json.loads(data) if data else {}
            if kind == "mark":
                state.marks[(tab_title, key, col)] = Mark(payload["fill"], payload["note"],
                                                          int(payload.get("row", 0)), int(payload.get("col", 0)))
            elif kind == "problem":
                state.problems[(tab_title, key, col, code)] = Problem(
                    when, payload["message"], int(payload["row"]), int(payload["col"]), payload["owner_role"],
                    payload["job"], bool(payload["paint"]), payload.get("value", ""))
            elif kind == "signed":
                state.signed[f"{tab_title}\x1f{key}"] = payload
        except (ValueError, KeyError, TypeError) as exc:
            log.warning("state row %d of %s unreadable (%s); ignored", n, tab.title, exc)
    return state
