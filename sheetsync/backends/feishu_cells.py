"""Translating between Feishu Sheets cell values and the plain Python values sheetsync works with,
and the two things the Feishu backend writes to show a mark: the notes column and the
conditional formats that paint it (see docs/feishu.md, "Marks").

Values: Feishu stores dates and times as day serials (days since 1899-12-30, as Excel) with a
number format ("formatter"), and no documented call returns a cell's format. The backend reads
with ``valueRenderOption=UnformattedValue`` and ``dateTimeRenderOption=FormattedString``: numbers
arrive as numbers, date/time cells as the text their format shows ("2026/11/22 10:00"). Text
that looks like a date is then read once more without the date option: where that gives a
serial, the cell is a date (``from_serial``); where it gives the same text, a person typed text.
Writing goes the other way: a date becomes a serial plus a formatter.
"""

from __future__ import annotations

import math
import re
from datetime import date, datetime, time, timedelta
from numbers import Real
from typing import Any, Iterable

from ..core.model import NOTE_PREFIX_PATTERN, column_letter
from .serial import SERIAL_EPOCH, to_serial

# Formatters sheetsync sets on the date/time values it writes (Feishu's own pattern letters).
DATE_FORMATTERS = {"datetime": "yyyy-MM-dd HH:mm", "date": "yyyy-MM-dd", "time": "HH:mm"}

_DATE = re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?$")
_TIME = re.compile(r"^(\d{1,2}):(\d{2})(?::(\d{2}))?$")


# --------------------------------------------------------------------------------------------
# Reading


def _segments_text(value: list[Any]) -> str:
    """A rich-text cell (links, @mentions) comes as a list of segments, each with a ``text``."""
    parts = []
    for seg in value:
        if isinstance(seg, dict):
            parts.append(str(seg.get("text") or seg.get("link") or ""))
        elif seg is not None:
            parts.append(str(seg))
    return "".join(parts)


def date_kind(value: Any) -> str | None:
    """'date', 'datetime' or 'time' when ``value`` is text shaped like a formatted date cell.
    Only a second read tells whether the cell really is a date (its unformatted value is then a
    day serial) or text a person typed that looks like one."""
    if not isinstance(value, str):
        return None
    m = _DATE.match(value.strip())
    if m:
        return "date" if m.group(4) is None else "datetime"
    return "time" if _TIME.match(value.strip()) else None


def from_serial(serial: float, kind: str) -> date | datetime | time:
    moment = SERIAL_EPOCH + timedelta(seconds=round(serial * 86400))
    if kind == "date":
        return moment.date()
    if kind == "time":
        return moment.time()
    return moment


def cell_value(raw: Any) -> Any:
    """A value from values_batch_get -> what a person sees: numbers as int/float, date/time text
    as date/datetime/time, rich text joined, empty as None."""
    if raw is None:
        return None
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, Real):
        number = float(raw)
        if not math.isfinite(number):
            return None
        return int(number) if number.is_integer() else number
    if isinstance(raw, list):
        raw = _segments_text(raw)
    elif isinstance(raw, dict):
        raw = str(raw.get("text") or raw.get("link") or "")
    text = str(raw)
    return text if text.strip() else None


def rows_from_values(values: list[list[Any]] | None) -> list[list[Any]]:
    """valueRange.values -> rows of Python values, trailing empty rows and cells trimmed."""
    rows = []
    for raw_row in values or []:
        row = [cell_value(v) for v in (raw_row or [])]
        while row and row[-1] is None:
            row.pop()
        rows.append(row)
    while rows and not rows[-1]:
        rows.pop()
    return rows


# --------------------------------------------------------------------------------------------
# Writing




def literal(value: Any) -> tuple[Any, str | None]:
    """A Python value -> (the value to write, the formatter it needs or None). Text is written
    as a plain string, which Feishu keeps as text (a formula needs an explicit
    ``{"type": "formula"}`` object, which sheetsync never sends): '=IMPORTXML(…)' stays text."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "", None
    if isinstance(value, bool):
        return str(value).upper(), None
    if isinstance(value, Real) and math.isfinite(value):
        return (value if isinstance(value, int) else float(value)), None
    if isinstance(value, datetime):
        return to_serial(value), DATE_FORMATTERS["datetime"]
    if isinstance(value, date):
        return to_serial(value), DATE_FORMATTERS["date"]
    if isinstance(value, time):
        return to_serial(value), DATE_FORMATTERS["time"]
    return str(value), None


def formatter(pattern: str) -> str:
    """An Excel-style number format ('0.0%', 'yyyy-mm-dd hh:mm') -> a Feishu formatter, whose
    date letters are case-sensitive (MM month, mm minute, HH hour)."""
    lowered = pattern.lower()
    if not any(ch in lowered for ch in "ydhs"):
        return pattern
    out, tokens = [], re.findall(r"yyyy|yy|mm|m|dd|d|hh|h|ss|s|.", pattern, flags=re.IGNORECASE)
    for i, tok in enumerate(tokens):
        low = tok.lower()
        if low in ("mm", "m"):
            before = "".join(tokens[:i]).lower().rstrip(": ")
            minute = before.endswith("h") or "".join(tokens[i + 1:]).lower().lstrip(": ").startswith("s")
            out.append(low if minute else low.upper())
        elif low in ("hh", "h"):
            out.append(low.upper())
        elif low in ("yyyy", "yy", "dd", "d", "ss", "s"):
            out.append(low)
        else:
            out.append(tok)
    return "".join(out)


# --------------------------------------------------------------------------------------------
# Ranges


def a1(sheet_id: str, first: tuple[int, int], last: tuple[int, int] | None = None) -> str:
    """'sid!A1:C5' (1-based (row, col) corners)."""
    start = f"{column_letter(first[1])}{first[0]}"
    if last is None:
        return f"{sheet_id}!{start}:{start}"
    return f"{sheet_id}!{start}:{column_letter(last[1])}{last[0]}"


_CELL_RANGE = re.compile(r"^(?P<sid>[^!]+)!(?P<c1>[A-Z]+)(?P<r1>\d+):(?P<c2>[A-Z]+)(?P<r2>\d+)$")


def column_index(letters: str) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ord(ch) - 64
    return n


def cells_of(ranges: Iterable[str]) -> set[tuple[int, int]]:
    """Every (row, col) in ranges of the form 'sid!A1:B2' (the only form sheetsync writes)."""
    out: set[tuple[int, int]] = set()
    for text in ranges:
        m = _CELL_RANGE.match(text)
        if not m:
            continue
        c1, c2 = column_index(m["c1"]), column_index(m["c2"])
        for r in range(int(m["r1"]), int(m["r2"]) + 1):
            for c in range(c1, c2 + 1):
                out.add((r, c))
    return out


def compact_ranges(sheet_id: str, cells: Iterable[tuple[int, int]]) -> list[str]:
    """Cells -> as few 'sid!G2:G5' ranges as runs of consecutive rows in one column give."""
    ranges = []
    by_col: dict[int, list[int]] = {}
    for r, c in cells:
        by_col.setdefault(c, []).append(r)
    for col in sorted(by_col):
        rows = sorted(set(by_col[col]))
        start = prev = rows[0]
        for r in rows[1:]:
            if r != prev + 1:
                ranges.append(a1(sheet_id, (start, col), (prev, col)))
                start = r
            prev = r
        ranges.append(a1(sheet_id, (start, col), (prev, col)))
    return ranges


# --------------------------------------------------------------------------------------------
# The notes column: one cell per row holding the reasons for that row's red cells, one entry
# per cell, each "<column header>: <note prefix><reason>". It travels with its row when a person
# sorts, and is what the conditional formats are re-drawn from.

_ENTRY = re.compile(r"(?m)^(?P<header>[^\n]+?): (?=" + NOTE_PREFIX_PATTERN + ")")  # any language's prefix


def parse_hint(text: Any) -> tuple[dict[str, str], str]:
    """A notes cell -> ({column header: note}, text that is not sheetsync's)."""
    if text is None:
        return {}, ""
    text = str(text)
    matches = list(_ENTRY.finditer(text))
    if not matches:
        return {}, text.strip()
    entries = {}
    for i, m in enumerate(matches):
        end = matches[i + 1].start() if i + 1 < len(matches) else len(text)
        entries[m["header"]] = text[m.end():end].rstrip("\n")
    return entries, text[:matches[0].start()].strip()


def format_hint(entries: dict[str, str], order: dict[str, int]) -> str:
    """{column header: note} -> the notes cell text, entries in column order."""
    return "\n".join(f"{h}: {entries[h]}" for h in sorted(entries, key=lambda h: (order.get(h, 10**6), h)))
