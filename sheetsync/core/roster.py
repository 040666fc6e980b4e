"""The 排班 tab as a roster: who is on duty at a moment, and the gaps of a day's working hours.

排班 is optional and staff-edited: one row per shift (日期 · 客服 · 开始 · 结束), several a day,
meal breaks left as gaps. A roster with no rows at all knows nothing, so it never reports a gap
nor says that nobody was on duty. Pure: no clock, no words.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

import pandas as pd

from . import parsing

if TYPE_CHECKING:
    from .binding import BoundTab, BoundWorkbook

ROSTER_ROLE_TAB = "shifts"  # the template tab id of 排班


@dataclass(frozen=True)
class Shift:
    row: int
    agent: str
    start: datetime
    end: datetime


def shift_time(value: Any) -> time | None:
    """A start or end as typed (``12:00``, ``12点``, a time cell); None when empty. Raises
    ``parsing.CellParseError`` when it cannot be read."""
    return parsing.parse_time_of_day(value)


def _day(value: Any) -> date | None:
    if value is None or value is pd.NaT or (isinstance(value, float) and pd.isna(value)):
        return None
    if isinstance(value, pd.Timestamp):
        return value.date()
    if isinstance(value, datetime):
        return value.date()
    return value if isinstance(value, date) else None


def shift_bounds(day: date, start: time, end: time) -> tuple[datetime, datetime]:
    """A shift's moments; an end of 00:00 (or one not after the start) runs to midnight after it."""
    a = datetime.combine(day, start)
    b = datetime.combine(day, end)
    if b <= a:
        b += timedelta(days=1)
    return a, b


_ROSTER_KEY = "roster"  # in the 排班 tab's ``derived``


@dataclass(frozen=True)
class Roster:
    shifts: tuple[Shift, ...] = ()

    @classmethod
    def of(cls, tab: "BoundTab | None") -> "Roster":
        if tab is None or not tab.usable or tab.frame.empty or not tab.has("date", "agent", "start", "end"):
            return cls()
        kept = tab.derived.get(_ROSTER_KEY)  # every duty rule asks: worked out once per bound tab
        if isinstance(kept, Roster):
            return kept
        out = []
        for row in tab.frame.index:
            day = _day(tab.frame.at[row, "date"])
            agent = tab.frame.at[row, "agent"]
            if day is None or not isinstance(agent, str) or not agent.strip():
                continue
            try:
                start, end = shift_time(tab.raw_value(int(row), "start")), shift_time(tab.raw_value(int(row), "end"))
            except parsing.CellParseError:
                continue  # the shift-times rule notes the cell
            if start is None or end is None:
                continue
            a, b = shift_bounds(day, start, end)
            out.append(Shift(int(row), agent.strip(), a, b))
        roster = tab.derived[_ROSTER_KEY] = cls(tuple(out))
        return roster

    @classmethod
    def of_workbook(cls, wb: "BoundWorkbook") -> "Roster":
        return cls.of(wb.tabs.get(ROSTER_ROLE_TAB))

    @property
    def known(self) -> bool:
        """False when 排班 has no usable rows: nothing is said about duty then."""
        return bool(self.shifts)

    def on_duty(self, moment: datetime | None) -> tuple[str, ...]:
        """The agents whose shift covers ``moment``, in sheet order (each once)."""
        if moment is None:
            return ()
        return tuple(dict.fromkeys(s.agent for s in self.shifts if s.start <= moment < s.end))

    def gaps(self, day: date, open_at: time | None, close_at: time | None) -> list[tuple[datetime, datetime]]:
        """The stretches of ``day``'s working hours (the whole day without them) that no shift covers."""
        lo = datetime.combine(day, open_at or time(0))
        hi = datetime.combine(day, close_at) if close_at else datetime.combine(day + timedelta(days=1), time(0))
        covered = sorted((max(s.start, lo), min(s.end, hi)) for s in self.shifts if s.end > lo and s.start < hi)
        out: list[tuple[datetime, datetime]] = []
        cursor = lo
        for a, b in covered:
            if a > cursor:
                out.append((cursor, a))
            cursor = max(cursor, b)
        if cursor < hi:
            out.append((cursor, hi))
        return out
