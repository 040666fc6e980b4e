"""Scalar parsers: one cell in, a value (or None for an empty cell) out, or a CellParseError.

Errors carry a code (``parse.<kind>``) and parameters, never words: the note a person reads is
rendered at the edge from the catalogue key ``findings.parse.<kind>``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from functools import lru_cache
from types import MappingProxyType
from typing import Any

from .text import _fold, _plain, normalize_text, show

YEAR_MIN, YEAR_MAX = 1900, 2199
SERIAL_MIN, SERIAL_MAX = 20000, 80000
EXCEL_EPOCH = datetime(1899, 12, 30)
# The largest whole number a float holds exactly; beyond it "integer" cells silently change.
INT_LIMIT = 2**53

_NO_ALIASES: Mapping[str, str] = MappingProxyType({})
_DAY = timedelta(days=1)

# Kinds a parser can fail with: the parse_series kinds that can fail, and the scalar-only ones.
ERROR_KINDS = ("datetime", "date", "time", "time_range", "time_order", "weekday_time", "number", "int", "bool",
               "choice", "email")


class CellParseError(ValueError):
    """A cell value that cannot be understood: ``kind`` says what was expected, ``params`` hold
    what a message needs (``raw``: the value as typed; ``choices`` for a choice). The words are
    the edge's (catalogue key ``findings.parse.<kind>``)."""

    def __init__(self, kind: str, raw: Any, **params: Any) -> None:
        self.kind = kind
        self.raw = raw
        self.params: dict[str, Any] = {"raw": show(raw), **params}
        super().__init__(f"{self.code}: {self.params['raw']!r}")

    @property
    def code(self) -> str:
        return f"parse.{self.kind}"


def _error(kind: str, raw: Any, choices: Sequence[str] = ()) -> CellParseError:
    if kind not in ERROR_KINDS:
        raise ValueError(f"no parse error kind {kind!r}; known: {', '.join(ERROR_KINDS)}")
    return CellParseError(kind, raw, **({"choices": tuple(choices)} if kind == "choice" else {}))


def error_params(kind: str, raw: Any, choices: Sequence[str] = ()) -> dict[str, Any]:
    """The parameters of the error the scalar parser of ``kind`` raises for ``raw`` (for a column
    parsed in one go, where no exception was raised)."""
    return _error(kind, raw, choices).params


def _is_real(value: Any) -> bool:
    return isinstance(value, (int, float, Decimal)) and not isinstance(value, bool)


def _finite_float(value: Any) -> float | None:
    try:
        number = float(value)
    except (OverflowError, ValueError):
        return None
    return number if math.isfinite(number) else None


_NUMBER_RE = re.compile(
    r"""
    (?P<sign>[+-]?)\s*
    (?:[¥$€£]|us\$|rmb|cny)?\s*
    (?P<sign2>[+-]?)
    (?P<num>[0-9]{1,3}(?:,[0-9]{3})+(?:\.[0-9]*)?
          |(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:e[+-]?[0-9]+)?)
    \s*
    (?:元|块钱|块|rmb|cny|件|个|只|条|套|份|盒|包|袋|瓶|双|支|张|台|箱|枚|颗|粒|pcs|pc
      |kg|g|千克|公斤|克|斤)?
    """,
    re.VERBOSE | re.IGNORECASE,
)


def _number_from_text(text: str) -> float | None:
    match = _NUMBER_RE.fullmatch(text.replace("\u2212", "-"))
    if match is None or (match["sign"] and match["sign2"]):
        return None
    number = _finite_float(match["num"].replace(",", ""))
    if number is None:
        return None
    return -number if "-" in (match["sign"], match["sign2"]) else number


def _parse_cell(value: Any, kind: str, from_text: Callable[[str], Any], from_other: Callable[[Any], Any]) -> Any:
    """The shape every scalar parser shares: an empty cell is None; text goes to ``from_text``
    (normalised), any other cell to ``from_other``; None from either is a CellParseError."""
    plain = _plain(value)
    if plain is None:
        return None
    if isinstance(plain, str):
        text = normalize_text(plain)
        if not text:
            return None
        result = from_text(text)
    else:
        result = from_other(plain)
    if result is None:
        raise _error(kind, value)
    return result


def parse_number(value: Any) -> float | None:
    """A number from a number cell or from text such as ``5件``, ``¥199``, ``1,299``."""
    return _parse_cell(value, "number", _number_from_text,
                       lambda plain: _finite_float(plain) if _is_real(plain) else None)


def parse_int(value: Any) -> int | None:
    """A whole number (same forms as :func:`parse_number`); ``5.5`` is an error."""
    try:
        number = parse_number(value)
    except CellParseError:
        raise _error("int", value) from None
    if number is None:
        return None
    if not number.is_integer() or abs(number) > INT_LIMIT:
        raise _error("int", value)
    return int(number)


_TRUE = frozenset({"是", "y", "yes", "true", "1", "✓", "✔", "√"})
_FALSE = frozenset({"否", "n", "no", "false", "0", "✗", "✘", "×"})


def parse_bool(value: Any) -> bool | None:
    """是/否 and its usual spellings; 对/错 and 有/无 are deliberately not yes/no."""
    plain = _plain(value)
    if plain is None:
        return None
    if isinstance(plain, bool):
        return plain
    if _is_real(plain) and plain in (0, 1):
        return plain == 1
    if isinstance(plain, str):
        text = normalize_text(plain).casefold()
        if not text:
            return None
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
    raise _error("bool", value)


# ---------------------------------------------------------------------------------------------
# dates and times

_PERIOD = r"凌晨|早上|早晨|上午|中午|下午|傍晚|晚上|夜里|夜间|晚|早|am|pm"
_TIME = rf"""
    (?:(?P<pre>{_PERIOD})\s*)?
    (?P<h>[0-9]{{1,2}})
    (?:
        :(?P<mi>[0-9]{{1,2}})(?::(?P<s>[0-9]{{1,2}})(?:\.(?P<frac>[0-9]+))?)?
      | \s*(?P<unit>[点时])\s*(?:(?P<mi2>[0-9]{{1,2}})\s*(?:分\s*(?:(?P<s2>[0-9]{{1,2}})\s*秒?)?)?|(?P<half>半)|整)?
    )?
    (?:\s*(?P<post>am|pm))?
"""
_DATE = r"""
    (?:
        (?P<y>[0-9]{4})\s*(?P<sep>[-/.])\s*(?P<m>[0-9]{1,2})\s*(?P=sep)\s*(?P<d>[0-9]{1,2})
      | (?P<y2>[0-9]{4})\s*年\s*(?P<m2>[0-9]{1,2})\s*月\s*(?P<d2>[0-9]{1,2})\s*[日号]?
      | (?P<m3>[0-9]{1,2})\s*(?P<sep3>[-/.])\s*(?P<d3>[0-9]{1,2})
      | (?P<m4>[0-9]{1,2})\s*月\s*(?P<d4>[0-9]{1,2})\s*[日号]?
    )
"""
_DATETIME_RE = re.compile(rf"{_DATE}(?:(?:(?<=[日号])|\s+|\s*t\s*){_TIME})?", re.VERBOSE | re.IGNORECASE)
_TIME_RE = re.compile(_TIME, re.VERBOSE | re.IGNORECASE)
_AFTERNOON = ("pm", "下午", "傍晚")
_NIGHT = ("晚上", "晚", "夜里", "夜间")
_MORNING = ("早上", "早晨", "上午", "早")


def _hour_with_period(period: str | None, hour: int) -> int | None:
    """Hour on the 24 h clock (24+ means after midnight) for a spoken period, or None if the
    two contradict each other (``下午0点``)."""
    if period is None:
        return hour
    if period in ("am", "凌晨"):
        return 0 if hour == 12 else (hour if hour < 12 else None)
    if period in _MORNING:
        return hour if hour <= 12 else None
    if period == "中午":
        return hour if hour in (11, 12) else (hour + 12 if 1 <= hour <= 3 else None)
    if period in _AFTERNOON:
        return hour + 12 if 1 <= hour <= 11 else (hour if hour >= 12 else None)
    # _NIGHT: 晚上10点 is 22:00, 晚上12点 midnight at the end of the day, 晚上1点 the hour after it
    if 6 <= hour <= 11:
        return hour + 12
    if hour == 12:
        return 24
    return 24 + hour if hour < 6 else hour


def _clock_offset(match: re.Match[str]) -> timedelta | None:
    """Time after midnight described by a ``_TIME`` match (may exceed a day for 晚上12点)."""
    pre, post = match["pre"], match["post"]
    if pre and post:
        return None
    hour = int(match["h"])
    minute = 30 if match["half"] else int(match["mi"] or match["mi2"] or 0)
    second = int(match["s"] or match["s2"] or 0)
    micro = int((match["frac"] or "0")[:6].ljust(6, "0"))
    if hour > 23 or minute > 59 or second > 59:
        return None
    hour24 = _hour_with_period((pre or post or "").lower() or None, hour)
    if hour24 is None:
        return None
    return timedelta(hours=hour24, minutes=minute, seconds=second, microseconds=micro)


def _datetime_from_text(text: str, year: int) -> datetime | None:
    match = _DATETIME_RE.fullmatch(text)
    if match is None:
        return None
    y = match["y"] or match["y2"]
    month = match["m"] or match["m2"] or match["m3"] or match["m4"]
    day = match["d"] or match["d2"] or match["d3"] or match["d4"]
    try:
        day_start = datetime(int(y) if y else year, int(month), int(day))
    except (ValueError, OverflowError):
        return None
    if match["h"] is None:
        return day_start
    # A bare number after a date ("2026-11-20 10") is too ambiguous; "下午3" / "3pm" are fine.
    if match["mi"] is None and match["unit"] is None and not (match["pre"] or match["post"]):
        return None
    offset = _clock_offset(match)
    return None if offset is None else day_start + offset


def _datetime_from_serial(value: Any) -> datetime | None:
    number = _finite_float(value)
    if number is None or not SERIAL_MIN <= number <= SERIAL_MAX:
        return None
    return EXCEL_EPOCH + timedelta(seconds=round(number * 86400))


def _datetime_from_cell(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value.replace(tzinfo=None)  # shop-local wall clock
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    return _datetime_from_serial(value) if _is_real(value) else None


def parse_datetime(value: Any, *, year: int) -> datetime | None:
    """A naive shop-local datetime; dates without a year fall in ``year``."""
    result = _parse_cell(value, "datetime", lambda text: _datetime_from_text(text, year), _datetime_from_cell)
    if result is not None and not YEAR_MIN <= result.year <= YEAR_MAX:
        raise _error("datetime", value)
    return result


def parse_date(value: Any, *, year: int) -> date | None:
    """Like :func:`parse_datetime` but keeps only the calendar day."""
    try:
        result = parse_datetime(value, year=year)
    except CellParseError:
        raise _error("date", value) from None
    return None if result is None else result.date()


def _time_from_text(text: str) -> time | None:
    match = _TIME_RE.fullmatch(text)
    offset = None if match is None else _clock_offset(match)
    if offset is None:
        return None
    return (datetime.min + offset % _DAY).time()


def _time_from_number(value: Any) -> time | None:
    """A whole number 0..23 is an hour; a fraction of a day is how spreadsheets store times."""
    number = _finite_float(value)
    if number is None:
        return None
    if number.is_integer() and 0 <= number <= 23:
        return time(int(number))
    minutes = round(number * 1440) if 0 < number < 1 else None
    if minutes is None or minutes >= 1440:
        return None
    return time(*divmod(minutes, 60))


def parse_time_of_day(value: Any) -> time | None:
    """A clock time such as ``22:00``, ``22点``, ``晚上10点`` or a time cell."""
    return _parse_cell(value, "time", _time_from_text, _time_from_cell)


def _time_from_cell(plain: Any) -> time | None:
    if isinstance(plain, time):
        return plain.replace(tzinfo=None)
    return _time_from_number(plain) if _is_real(plain) else None


_RANGE_SEP = re.compile(r"\s*(?:-+|~+|〜|—+|–+|至|到|to)\s*", re.IGNORECASE)


def parse_time_range(value: Any) -> tuple[time, time] | None:
    """Opening hours such as ``09:00-23:00``; the end must come after the start."""
    plain = _plain(value)
    if plain is None:
        return None
    text = normalize_text(plain)
    if not text:
        return None
    parts = _RANGE_SEP.split(text) if isinstance(plain, str) else []
    bounds = [_time_from_text(part) for part in parts]
    if len(bounds) != 2:
        raise _error("time_range", value)
    start, end = bounds
    if start is None or end is None:
        raise _error("time_range", value)
    if end <= start:
        raise _error("time_order", value)
    return start, end


_WEEKDAYS_EN = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_WEEKDAYS_ZH = {c: i for i, c in enumerate("一二三四五六日")} | {"天": 6} | {str(i + 1): i for i in range(7)}
_WEEKDAY_RE = re.compile(
    r"(?:(?:周|星期|礼拜|禮拜)(?P<zh>[一二三四五六日天1-7])|(?P<en>[a-z]{3,9})\.?)\s*(?P<time>.+)",
    re.IGNORECASE,
)


def _weekday(match: re.Match[str]) -> int | None:
    if match["zh"]:
        return _WEEKDAYS_ZH[match["zh"]]
    token = match["en"].lower()
    return next((i for i, name in enumerate(_WEEKDAYS_EN) if name.startswith(token)), None)


def parse_weekday_time(value: Any) -> tuple[int, time] | None:
    """A weekly moment such as ``周日 20:00``: (weekday with Monday = 0, time of day)."""
    plain = _plain(value)
    if plain is None:
        return None
    text = normalize_text(plain)
    if not text:
        return None
    match = _WEEKDAY_RE.fullmatch(text) if isinstance(plain, str) else None
    weekday = None if match is None else _weekday(match)
    at = None if match is None else _time_from_text(match["time"])
    if weekday is None or at is None:
        raise _error("weekday_time", value)
    return weekday, at


# ---------------------------------------------------------------------------------------------
# lists, choices, e-mail

_LIST_SEP = re.compile(r"[,、;\n]+")
_LIST_SEP_EMAIL = re.compile(r"[,、;\s]+")


def split_list(value: Any) -> tuple[str, ...]:
    """Items of a list cell (``A1, A2、A3`` or one per line), cleaned, empties dropped."""
    text = normalize_text(value)
    separator = _LIST_SEP_EMAIL if "@" in text else _LIST_SEP
    return tuple(item for item in map(normalize_text, separator.split(text)) if item)


@lru_cache(maxsize=256)
def _choice_index(choices: tuple[str, ...], aliases: tuple[tuple[str, str], ...]) -> dict[str, str]:
    index = {_fold(choice): choice for choice in choices}
    for alias, canonical in aliases:
        if canonical not in choices:
            raise ValueError(f"alias {alias!r} points to {canonical!r}, which is not one of {choices}")
        index.setdefault(_fold(alias), canonical)
    return index


def match_choice(value: Any, choices: Sequence[str], aliases: Mapping[str, str] = _NO_ALIASES) -> str | None:
    """The canonical choice a cell means (width, spaces and latin case ignored; aliases map
    other spellings to a choice)."""
    text = normalize_text(value)
    if not text:
        return None
    found = _choice_index(tuple(choices), tuple(aliases.items())).get(_fold(text))
    if found is None:
        raise _error("choice", value, choices)
    return found


_EMAIL_RE = re.compile(r"[^@\s]+@[^@\s]+")


def parse_email(value: Any) -> str | None:
    """One e-mail address (something@somewhere, no spaces)."""
    text = normalize_text(value)
    if not text:
        return None
    if not _EMAIL_RE.fullmatch(text):
        raise _error("email", value)
    return text

