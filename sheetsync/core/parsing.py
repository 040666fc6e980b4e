"""Understanding what people type into spreadsheet cells.

Every parser takes any object a backend can hand over (str, int, float, bool, datetime, date,
time, None, numpy/pandas scalars, odd unicode) and either returns a value, returns ``None`` for
an empty cell, or raises :class:`CellParseError` whose ``message`` tells shop staff in plain
Chinese what is wrong. Nothing here raises anything else for a cell value.

Text is first brought to NFKC form, so full-width digits, letters and punctuation count as
their half-width twins (``５件`` is ``5件``, ``（`` is ``(``, ``：`` is ``:``), zero-width
characters are dropped and runs of spaces collapse to one.

Accepted forms
--------------
date and time (:func:`parse_datetime`, :func:`parse_date`)
    real datetime/date cells; Excel date serials 20000..80000 (day 0 is 1899-12-30, so
    ``46346.42`` is 2026-11-20 10:04:48; rounded to the second); ``2026-11-20``,
    ``2026/11/20 10:05``, ``2026.11.20``, ``2026-11-20T10:05:00``, ``2026-11-20 10:05:33``,
    ``2026年11月20日 10点05分``, ``2026年11月20日10:05``; without a year (the ``year``
    argument is used): ``11月20日 10点``, ``11-20``, ``11/20 10:05``. Years 1900..2199.
time of day (inside a date-time, or alone for :func:`parse_time_of_day`)
    ``22:00``, ``9:30``, ``10:05:33``, ``22点``, ``10点05分``, ``10点半`` (x:30), ``10点整``,
    ``下午3点`` / ``3pm`` (+12 h), ``晚上10点`` (22:00; ``晚上12点`` is midnight at the end of
    the day, ``晚上1点`` one o'clock after it), ``凌晨``/``早上``/``上午``/``中午``/``am``.
    Alone, a bare hour (``22``) and a day fraction (``0.9166`` is 22:00, rounded to the minute)
    are accepted too.
time range (:func:`parse_time_range`)
    ``09:00-23:00``, ``9点-23点``, ``09:00~23:00``, ``09:00 至 23:00``, ``早上9点到晚上11点``;
    the end must be after the start (no overnight ranges).
weekday and time (:func:`parse_weekday_time`)
    ``周日 20:00``, ``星期日20:00``, ``礼拜天 8点``, ``Sunday 20:00``, ``Sun 20:00``
    (Monday = 0 .. Sunday = 6).
number (:func:`parse_number`, :func:`parse_int`)
    ``12``, ``-3``, ``3.5``, ``1e3``, ``1,299`` / ``1，299`` (groups of three only), a currency
    sign before (``¥199``, ``￥199``, ``$5``) or a unit after (``5件``, ``199元``, ``3.5kg``).
    Booleans are not numbers; anything with a word in front (``约5``) is refused as ambiguous.
yes/no (:func:`parse_bool`)
    是/否, y/n, yes/no, true/false, ✓ ✔ √ / ✗ ✘ ×, 1/0 and real booleans. 对/错 and 有/无 are
    not yes/no: columns that use them are choices.
lists (:func:`split_list`)
    items separated by ``,`` ``，`` ``、`` ``;`` ``；`` or new lines; lists of e-mail
    addresses may also be separated by spaces.
choices (:func:`match_choice`)
    one of the allowed values or an alias of one, ignoring width, spaces and latin case.

:func:`parse_series` does the same for a whole column at once: the common shapes go through
vectorised pandas/numpy code and only the distinct leftover values meet the scalar parsers, so
the two always agree (tests check this on every form above).
"""

from __future__ import annotations

import logging
import math
import re
import unicodedata
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from functools import lru_cache
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd

log = logging.getLogger(__name__)

YEAR_MIN, YEAR_MAX = 1900, 2199
SERIAL_MIN, SERIAL_MAX = 20000, 80000
EXCEL_EPOCH = datetime(1899, 12, 30)
# The largest whole number a float holds exactly; beyond it "integer" cells silently change.
INT_LIMIT = 2**53

_NO_ALIASES: Mapping[str, str] = MappingProxyType({})
_UNIX_EPOCH = datetime(1970, 1, 1)
_ONE_US = timedelta(microseconds=1)
_DAY = timedelta(days=1)
_DAY_NS = 86_400 * 10**9
_NAT = np.iinfo(np.int64).min
_EXCEL_EPOCH_UNIX_S = (_UNIX_EPOCH - EXCEL_EPOCH) // timedelta(seconds=1)
_YEAR_MIN_DT64 = np.datetime64(f"{YEAR_MIN}-01-01")
_YEAR_END_DT64 = np.datetime64(f"{YEAR_MAX + 1}-01-01")


class CellParseError(ValueError):
    """A cell value that cannot be understood; ``message`` is the note shown to staff."""

    def __init__(self, kind: str, raw: Any, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.raw = raw
        self.message = message


_MESSAGES: dict[str, str] = {
    "datetime": "看不懂的时间: {raw}。请写成 2026-11-20 10:05 这样的格式",
    "date": "看不懂的日期: {raw}。请写成 2026-11-20 这样的格式",
    "time": "看不懂的时间: {raw}。请写成 22:00 这样的格式",
    "time_range": "看不懂的时间段: {raw}。请写成 09:00-23:00 这样的格式",
    "time_order": "结束时间必须晚于开始时间 (不支持跨夜): {raw}",
    "weekday_time": "看不懂的星期和时间: {raw}。请写成 周日 20:00 这样的格式",
    "number": "看不懂的数字: {raw}",
    "int": "应该是整数: {raw}",
    "bool": "应该填 是 或 否, 现在是: {raw}",
    "choice": "「{raw}」不是可选的值, 可选: {choices}",
    "email": "不是邮箱地址: {raw}",
}


def error_message(kind: str, raw: Any, choices: Sequence[str] = (), messages: Mapping[str, str] | None = None) -> str:
    """The note for a cell of ``kind`` that could not be parsed (same text the scalar parser uses).

    ``kind`` is a :func:`parse_series` kind or one of the scalar-only kinds (``time``,
    ``time_range``, ``time_order``, ``weekday_time``). Kinds that never fail (``text``,
    ``sku_list``) have no message. ``messages`` (kind -> text with {raw}/{choices}) overrides
    the built-in Chinese wording, e.g. from an English workbook template.
    """
    template = (messages or {}).get(kind) or _MESSAGES.get(kind)
    if template is None:
        raise ValueError(f"no parse error message for kind {kind!r}; known: {', '.join(_MESSAGES)}")
    return template.format(raw=_show(raw), choices="/".join(choices))


def _error(kind: str, raw: Any, choices: Sequence[str] = ()) -> CellParseError:
    return CellParseError(kind, raw, error_message(kind, raw, choices))


def _show(raw: Any) -> str:
    """How a raw cell value appears inside a message: as typed, minus surrounding blanks."""
    return raw.strip() if isinstance(raw, str) else normalize_text(raw)


# ---------------------------------------------------------------------------------------------
# text


_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\ufe0e\ufe0f\u00ad"))
_BLANKS = re.compile(r"[^\S\n]+")
_BLANK_AROUND_NEWLINE = re.compile(r" ?\n ?")


def _plain(value: Any) -> Any:
    """``None`` for every flavour of missing (as ``pd.isna`` sees it); numpy/pandas scalars as
    plain Python objects, so the parsers below deal with one set of types."""
    if pd.api.types.is_scalar(value) and pd.isna(value):
        return None
    if isinstance(value, np.datetime64):
        return value.astype("M8[us]").item()
    if isinstance(value, np.timedelta64):
        return value.astype("m8[us]").item()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime(warn=False)
    return value


def _display(value: Any) -> str:
    """A non-text cell as a person would read it in the sheet."""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else format(value, ".15g")
    if isinstance(value, datetime):
        if value.time() == time(0):
            return f"{value:%Y-%m-%d}"
        return f"{value:%Y-%m-%d} {_display(value.time())}"
    if isinstance(value, time):
        return f"{value:%H:%M}" if value.second == 0 and value.microsecond == 0 else f"{value:%H:%M:%S}"
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def normalize_text(value: Any) -> str:
    """Cell content as clean text: NFKC, no zero-width characters, single spaces, no blanks
    around line breaks or at the ends. Empty cells give ``''``; ``5.0`` gives ``'5'``."""
    value = _plain(value)
    if value is None:
        return ""
    text = value if isinstance(value, str) else _display(value)
    text = unicodedata.normalize("NFKC", text).translate(_INVISIBLE)
    text = _BLANKS.sub(" ", text.replace("\r\n", "\n").replace("\r", "\n"))
    return _BLANK_AROUND_NEWLINE.sub("\n", text).strip()


def _fold(text: str) -> str:
    """Comparison key for choices: width, spaces and latin case do not matter."""
    return re.sub(r"\s+", "", normalize_text(text)).casefold()


# ---------------------------------------------------------------------------------------------
# numbers


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
    if len(bounds) != 2 or None in bounds:
        raise _error("time_range", value)
    start, end = bounds
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


# ---------------------------------------------------------------------------------------------
# whole columns


@dataclass
class ParsedSeries:
    """A parsed column. ``values`` holds NA where a cell is empty or bad; ``bad`` marks cells
    that have content which could not be understood; ``empty`` marks empty cells."""

    values: pd.Series
    bad: pd.Series
    empty: pd.Series


# A fast path looks at cells of one Python type and returns (understood mask, stored values),
# or None when it has nothing to offer for that type. Cells it leaves go to the scalar parser.
_FastPath = Callable[[type, np.ndarray], "tuple[np.ndarray, np.ndarray] | None"]


@dataclass(frozen=True)
class _Kind:
    scalar: Callable[[Any], Any]  # one cell -> value or None; raises CellParseError
    store: Callable[[Any], Any]  # scalar result -> element of the working array
    dtype: Any
    fill: Any
    fast: _FastPath | None
    finish: Callable[[np.ndarray, np.ndarray], Any]  # (working array, missing mask) -> array


def _is_number_type(kind: type) -> bool:
    return issubclass(kind, (int, float, np.integer, np.floating)) and not issubclass(
        kind, (bool, np.bool_, np.timedelta64))  # numpy counts timedelta64 as an integer type


def _ns(moment: datetime) -> int:
    return (moment - _UNIX_EPOCH) // _ONE_US * 1000


def _in_year_range(moments: np.ndarray) -> np.ndarray:
    return ~np.isnat(moments) & (moments >= _YEAR_MIN_DT64) & (moments < _YEAR_END_DT64)


def _moments_to_ns(moments: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """datetime64 of any unit -> (plausible mask, int64 ns); implausible years stay NaT."""
    ok = _in_year_range(moments)
    ns = np.full(len(moments), _NAT, dtype=np.int64)
    ns[ok] = moments[ok].astype("M8[ns]").view(np.int64)
    return ok, ns


# Shapes machines and careful people write; pandas parses them in C. Anything else (and any
# value these formats would bend, see _rolled_seconds) is left to the scalar parser.
_FAST_FORMATS = (
    "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M",
    "%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M", "%Y/%m/%d",
)


_SAMPLE = 16


def _fits(sample: str, fmt: str) -> bool:
    try:
        datetime.strptime(sample, fmt)
    except ValueError:
        return False
    return True


def _rolled_seconds(texts: np.ndarray, moments: np.ndarray) -> np.ndarray:
    """pandas turns second 60/61 into the next minute; the scalar parser refuses them."""
    seconds = moments.astype("M8[s]").view(np.int64) % 60
    rolled = np.zeros(len(texts), dtype=bool)
    for i in np.flatnonzero(seconds <= 1):
        rolled[i] = texts[i].rstrip()[-2:] in ("60", "61")
    return rolled


def _datetime_strings(texts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each format that fits some of a spread-out sample of the still unparsed cells gets one
    vectorised pass over them; formats nobody uses cost nothing."""
    ok = np.zeros(len(texts), dtype=bool)
    ns = np.full(len(texts), _NAT, dtype=np.int64)
    remaining = np.arange(len(texts))
    for fmt in _FAST_FORMATS:
        if remaining.size == 0:
            break
        sample = texts[remaining[np.linspace(0, remaining.size - 1, _SAMPLE).astype(np.int64)]]
        if not any(_fits(text, fmt) for text in sample):
            continue
        try:
            moments = pd.to_datetime(texts[remaining], format=fmt, errors="coerce").to_numpy()
        except (ValueError, TypeError, OverflowError):
            continue  # e.g. pandas refusing a mix of time-zone offsets: leave it to the scalar path
        good, good_ns = _moments_to_ns(moments)
        if "%S" in fmt:
            good &= ~_rolled_seconds(texts[remaining], moments)
        ok[remaining[good]] = True
        ns[remaining[good]] = good_ns[good]
        remaining = remaining[~good]
    return ok, ns


def _datetime_objects(cells: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    try:
        index = pd.DatetimeIndex(cells)
    except (ValueError, TypeError, OverflowError):
        return None
    if index.tz is not None:
        return None
    return _moments_to_ns(index.to_numpy())


def _serials(cells: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    try:
        numbers = cells.astype(np.float64)
    except (ValueError, TypeError, OverflowError):
        return None
    ok = (numbers >= SERIAL_MIN) & (numbers <= SERIAL_MAX)
    seconds = np.rint(np.where(ok, numbers, 0) * 86400).astype(np.int64)
    return ok, np.where(ok, (seconds - _EXCEL_EPOCH_UNIX_S) * 10**9, _NAT)


def _fast_datetime(kind: type, cells: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    if issubclass(kind, str):
        return _datetime_strings(cells)
    if issubclass(kind, (datetime, np.datetime64)):
        return _moments_to_ns(cells) if cells.dtype.kind == "M" else _datetime_objects(cells)
    return _serials(cells) if _is_number_type(kind) else None


def _fast_date(kind: type, cells: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    found = _fast_datetime(kind, cells)
    if found is None:
        return None
    ok, ns = found
    return ok, np.where(ok, ns // _DAY_NS * _DAY_NS, _NAT)


def _fast_number(kind: type, cells: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    try:
        if issubclass(kind, str):
            numbers = np.asarray(pd.to_numeric(cells, errors="coerce"), dtype=np.float64)
        elif _is_number_type(kind):
            numbers = cells.astype(np.float64)
        else:
            return None
    except (ValueError, TypeError, OverflowError):
        return None
    return np.isfinite(numbers), numbers


def _fast_int(kind: type, cells: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    found = _fast_number(kind, cells)
    if found is None:
        return None
    ok, numbers = found
    ok &= (np.floor(numbers) == numbers) & (np.abs(numbers) <= INT_LIMIT)
    return ok, np.where(ok, numbers, 0).astype(np.int64)


def _fast_bool(kind: type, cells: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    if not issubclass(kind, (bool, np.bool_)):
        return None
    return np.ones(len(cells), dtype=bool), cells.astype(bool)


def _is_clean_text(text: str) -> bool:
    """True when normalize_text would return ``text`` unchanged (and it is not empty)."""
    return bool(text) and text.isprintable() and text.strip() == text and "  " not in text and (
        text.isascii() or (unicodedata.is_normalized("NFKC", text) and "\ufe0e" not in text and "\ufe0f" not in text))


def _fast_text(kind: type, cells: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    if not issubclass(kind, str):
        return None
    codes, uniques = _distinct(cells)  # names and choices repeat: check each distinct text once
    clean = np.fromiter(map(_is_clean_text, uniques), dtype=bool, count=len(uniques))
    return clean[codes], cells


def _same(values: np.ndarray, missing: np.ndarray) -> np.ndarray:
    return values


def _as_datetime64(values: np.ndarray, missing: np.ndarray) -> np.ndarray:
    return values.view("M8[ns]")


def _text_or_none(value: Any) -> str | None:
    return normalize_text(value) or None


def _list_or_none(value: Any) -> tuple[str, ...] | None:
    return split_list(value) or None


def _kind_spec(kind: str, year: int, choices: tuple[str, ...], aliases: Mapping[str, str]) -> _Kind:
    def as_object(scalar: Callable[[Any], Any], fast: _FastPath | None = None) -> _Kind:
        return _Kind(scalar, lambda v: v, object, None, fast, _same)

    if kind == "text":
        return as_object(_text_or_none, _fast_text)
    if kind == "choice":
        if not choices:
            raise ValueError("parse_series(kind='choice') needs the list of choices")
        return as_object(lambda v: match_choice(v, choices, aliases))
    if kind == "sku_list":
        return as_object(_list_or_none)
    if kind == "email":
        return as_object(parse_email)
    if kind == "datetime":
        return _Kind(lambda v: parse_datetime(v, year=year), _ns, np.int64, _NAT, _fast_datetime, _as_datetime64)
    if kind == "date":
        return _Kind(lambda v: parse_date(v, year=year), lambda d: _ns(datetime(d.year, d.month, d.day)),
                     np.int64, _NAT, _fast_date, _as_datetime64)
    if kind == "number":
        return _Kind(parse_number, float, np.float64, np.nan, _fast_number, _same)
    if kind == "int":
        return _Kind(parse_int, int, np.int64, 0, _fast_int, pd.arrays.IntegerArray)
    if kind == "bool":
        return _Kind(parse_bool, bool, bool, False, _fast_bool, pd.arrays.BooleanArray)
    raise ValueError(f"unknown column kind {kind!r}; known: {', '.join(SERIES_KINDS)}")


SERIES_KINDS = ("text", "datetime", "date", "int", "number", "bool", "choice", "sku_list", "email")


def _type_groups(series: pd.Series) -> Iterator[tuple[type | None, np.ndarray, np.ndarray]]:
    """(Python type or None for missing, positions, cells) for each kind of cell in the column.

    Grouping by type keeps ``True`` apart from ``1`` (equal to a hash table, not to a parser).
    """
    dtype = series.dtype
    if isinstance(dtype, np.dtype) and dtype.kind in "biufM":
        cells = series.to_numpy()
        missing = np.isnat(cells) if dtype.kind == "M" else pd.isna(cells)
        yield None, np.flatnonzero(missing), cells[missing]
        yield dtype.type, np.flatnonzero(~missing), cells[~missing]
        return
    cells = series.to_numpy(dtype=object)
    missing = pd.isna(cells)
    yield None, np.flatnonzero(missing), cells[missing]
    positions = np.flatnonzero(~missing)
    cells = cells[positions]
    if isinstance(dtype, pd.StringDtype):  # every value is a str: skip the per-cell type look-up
        yield str, positions, cells
        return
    type_codes, types = pd.factorize(np.frompyfunc(type, 1, 1)(cells))
    for code, kind in enumerate(types):
        chosen = type_codes == code
        yield kind, positions[chosen], cells[chosen]


def _scalar_outcomes(spec: _Kind, uniques: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Run the scalar parser once per distinct value: (stored values, bad, empty)."""
    stored = np.full(len(uniques), spec.fill, dtype=spec.dtype)
    bad = np.zeros(len(uniques), dtype=bool)
    empty = np.zeros(len(uniques), dtype=bool)
    for i, cell in enumerate(uniques):
        try:
            result = spec.scalar(cell)
        except CellParseError:
            bad[i] = True
            continue
        if result is None:
            empty[i] = True
        else:
            stored[i] = spec.store(result)
    return stored, bad, empty


def _distinct(cells: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    try:
        return pd.factorize(cells)
    except TypeError:  # unhashable cell objects: parse each one
        return np.arange(len(cells)), cells


def parse_series(
    series: pd.Series,
    kind: str,
    *,
    year: int,
    choices: Sequence[str] = (),
    aliases: Mapping[str, str] = _NO_ALIASES,
) -> ParsedSeries:
    """Parse a whole column; agrees cell for cell with the scalar parser of ``kind``.

    kinds and value dtypes: text/choice/email (str, object), sku_list (tuple, object),
    datetime/date (datetime64[ns]; a date is midnight), int (Int64), number (float64),
    bool (boolean). Empty and bad cells hold None/NaT/NaN/NA.
    """
    spec = _kind_spec(kind, year, tuple(choices), aliases)
    size = len(series)
    values = np.full(size, spec.fill, dtype=spec.dtype)
    bad = np.zeros(size, dtype=bool)
    empty = np.zeros(size, dtype=bool)
    slow = 0
    for cell_type, positions, cells in _type_groups(series):
        if cell_type is None:
            empty[positions] = True
            continue
        found = spec.fast(cell_type, cells) if spec.fast is not None else None
        if found is not None:
            ok, fast_values = found
            values[positions[ok]] = fast_values[ok]
            positions, cells = positions[~ok], cells[~ok]
        codes, uniques = _distinct(cells)
        stored, unique_bad, unique_empty = _scalar_outcomes(spec, uniques)
        values[positions] = stored[codes]
        bad[positions] = unique_bad[codes]
        empty[positions] = unique_empty[codes]
        slow += len(uniques)
    log.debug("parse_series(%s): %d rows, %d distinct values parsed one by one", kind, size, slow)
    missing = bad | empty
    return ParsedSeries(
        values=pd.Series(spec.finish(values, missing), index=series.index, name=series.name,
                         dtype=object if spec.dtype is object else None),
        bad=pd.Series(bad, index=series.index, name=series.name),
        empty=pd.Series(empty, index=series.index, name=series.name),
    )
