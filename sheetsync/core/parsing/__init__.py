"""Understanding what people type into spreadsheet cells.

Every parser takes any object a backend can hand over (str, int, float, bool, datetime, date,
time, None, numpy/pandas scalars, odd unicode) and either returns a value, returns ``None`` for
an empty cell, or raises :class:`CellParseError` with a code (``parse.<kind>``) and parameters; the edge
words it (catalogue key ``findings.parse.<kind>``). Nothing here raises anything else for a cell value.

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

Layers: :mod:`.text` (normalisation), :mod:`.scalars` (one cell), :mod:`.series` (a column).
"""

from __future__ import annotations

from .scalars import (ERROR_KINDS, EXCEL_EPOCH, INT_LIMIT, SERIAL_MAX, SERIAL_MIN, YEAR_MAX, YEAR_MIN,
                      CellParseError, error_params, match_choice, parse_bool, parse_date, parse_datetime,
                      parse_email, parse_int, parse_number, parse_time_of_day, parse_time_range,
                      parse_weekday_time, split_list)
from .series import SERIES_KINDS, ParsedSeries, parse_series
from .text import header_form, normalize_text, show

__all__ = ["ERROR_KINDS", "EXCEL_EPOCH", "INT_LIMIT", "SERIAL_MAX", "SERIAL_MIN", "SERIES_KINDS", "YEAR_MAX",
           "YEAR_MIN", "CellParseError", "ParsedSeries", "error_params", "header_form", "match_choice",
           "normalize_text", "parse_bool", "parse_date", "parse_datetime", "parse_email", "parse_int", "parse_number",
           "parse_series", "parse_time_of_day", "parse_time_range", "parse_weekday_time", "show", "split_list"]
