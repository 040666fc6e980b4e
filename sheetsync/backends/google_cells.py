"""Translating between Sheets API cell JSON (CellData, ExtendedValue, ColorStyle) and the plain
Python values sheetsync works with.

Google stores dates and times as day serials (days since 1899-12-30, as in Excel) and only the
cell's number format says a number is a date, so reading needs both the effective value and the
effective number format. Writing goes the other way: a Python date becomes a serial plus a
DATE format, so a person sees a date and a later read gives the same Python value back.
"""

from __future__ import annotations

import math
from datetime import date, datetime, time, timedelta
from numbers import Real
from typing import Any

from ..core.model import CellError
from .serial import SERIAL_EPOCH, to_serial

# Day zero of the spreadsheet serial-number calendar (shared with Excel's 1900 system).

# Number formats sheetsync writes for date/time values when a column asks for nothing else.
DEFAULT_PATTERNS = {"DATE": "yyyy-mm-dd", "DATE_TIME": "yyyy-mm-dd hh:mm", "TIME": "hh:mm"}

# What a person sees in a cell whose formula failed (ErrorValue.type -> displayed text).
ERROR_TEXT = {
    "NULL_VALUE": "#NULL!",
    "DIVIDE_BY_ZERO": "#DIV/0!",
    "VALUE": "#VALUE!",
    "REF": "#REF!",
    "NAME": "#NAME?",
    "NUM": "#NUM!",
    "N_A": "#N/A",
    "LOADING": "Loading...",
    "ERROR": "#ERROR!",
}

_WHITE = "FFFFFF"


# --------------------------------------------------------------------------------------------
# Reading


def serial_to_python(serial: float, kind: str) -> date | datetime | time:
    """Day serial -> date (DATE), datetime (DATE_TIME) or time of day (TIME). Rounded to the
    millisecond so 10:00 stored as 0.41666666666 reads back as 10:00:00, not 09:59:59.999."""
    moment = SERIAL_EPOCH + timedelta(milliseconds=round(serial * 86_400_000))
    if kind == "DATE":
        return moment.date()
    if kind == "TIME":
        return moment.time()
    return moment


def cell_value(cell: dict[str, Any]) -> Any:
    """The Python value a person sees in a cell: the formula result for formulas, numbers as
    int/float, dates/times per the cell's number format, a formula error as the CellError a
    person sees ('#N/A'), and None for an empty cell (an empty string counts as empty)."""
    effective = cell.get("effectiveValue")
    if not effective:
        return None
    if "stringValue" in effective:
        return effective["stringValue"] or None
    if "boolValue" in effective:
        return bool(effective["boolValue"])
    if "errorValue" in effective:
        return CellError(ERROR_TEXT.get(effective["errorValue"].get("type", "ERROR"), "#ERROR!"))
    number = effective.get("numberValue", 0)
    kind = cell.get("effectiveFormat", {}).get("numberFormat", {}).get("type")
    if kind in ("DATE", "DATE_TIME", "TIME"):
        return serial_to_python(number, kind)
    return int(number) if float(number).is_integer() else float(number)


def _hex(rgb: dict[str, float]) -> str:
    """Color JSON -> 'RRGGBB'. Google omits components that are 0."""
    return "".join(f"{round(rgb.get(part, 0.0) * 255):02X}" for part in ("red", "green", "blue"))


def cell_fill(cell: dict[str, Any]) -> str | None:
    """The background fill a person or sheetsync set on a cell: 'RRGGBB', 'theme:ACCENT1' for a
    theme colour, or None for no fill / plain white. Reads backgroundColorStyle and falls back
    to the deprecated backgroundColor that older clients wrote."""
    fmt = cell.get("userEnteredFormat") or {}
    style = fmt.get("backgroundColorStyle")
    if style and "themeColor" in style:
        return f"theme:{style['themeColor']}"
    rgb = style.get("rgbColor") if style else fmt.get("backgroundColor")
    if rgb is None:
        return None
    colour = _hex(rgb)
    return None if colour == _WHITE else colour


# --------------------------------------------------------------------------------------------
# Writing


def color_style(fill: str) -> dict[str, Any]:
    """'RRGGBB' or 'theme:NAME' -> ColorStyle JSON (backgroundColorStyle, never the deprecated
    backgroundColor)."""
    if fill.startswith("theme:"):
        return {"themeColor": fill.removeprefix("theme:")}
    red, green, blue = (int(fill[i:i + 2], 16) / 255 for i in (0, 2, 4))
    return {"rgbColor": {"red": red, "green": green, "blue": blue}}




def number_format(pattern: str) -> dict[str, str]:
    """An Excel-style number format ('0.0%', 'yyyy-mm-dd hh:mm') -> Sheets NumberFormat JSON.
    The two dialects agree on these simple patterns; only the type has to be named."""
    lowered = pattern.lower()
    has_date = "y" in lowered or "d" in lowered
    has_time = "h" in lowered or "s" in lowered
    if "%" in lowered:
        kind = "PERCENT"
    elif lowered == "@":
        kind = "TEXT"
    elif has_date and has_time:
        kind = "DATE_TIME"
    elif has_date:
        kind = "DATE"
    elif has_time:
        kind = "TIME"
    else:
        kind = "NUMBER"
    return {"type": kind, "pattern": pattern}


def literal_cell(value: Any) -> dict[str, Any]:
    """A Python value -> CellData holding it as a literal (RAW semantics): text always goes in
    stringValue, so '=IMPORTXML(...)' stays text and is never run as a formula. Dates carry a
    number format so they display as dates. None -> {} (an empty cell)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return {}
    if isinstance(value, bool):
        return {"userEnteredValue": {"boolValue": value}}
    if isinstance(value, Real) and math.isfinite(value):
        return {"userEnteredValue": {"numberValue": value if isinstance(value, int) else float(value)}}
    if isinstance(value, (datetime, date, time)):
        kind = "DATE_TIME" if isinstance(value, datetime) else "DATE" if isinstance(value, date) else "TIME"
        return {
            "userEnteredValue": {"numberValue": to_serial(value)},
            "userEnteredFormat": {"numberFormat": {"type": kind, "pattern": DEFAULT_PATTERNS[kind]}},
        }
    return {"userEnteredValue": {"stringValue": str(value)}}
