"""Whole columns at once: :func:`parse_series` agrees cell for cell with the scalar parsers.

The common shapes go through vectorised pandas/numpy code; only the distinct leftover values
meet the scalar parsers.
"""

from __future__ import annotations

import logging
import unicodedata
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd

from .scalars import (_NO_ALIASES, EXCEL_EPOCH, INT_LIMIT, SERIAL_MAX, SERIAL_MIN, YEAR_MAX, YEAR_MIN,
                      CellParseError, match_choice, parse_bool, parse_date, parse_datetime, parse_email,
                      parse_int, parse_number, split_list)
from .text import normalize_text

log = logging.getLogger(__name__)

_UNIX_EPOCH = datetime(1970, 1, 1)
_ONE_US = timedelta(microseconds=1)
_DAY_NS = 86_400 * 10**9
_NAT = np.iinfo(np.int64).min
_EXCEL_EPOCH_UNIX_S = (_UNIX_EPOCH - EXCEL_EPOCH) // timedelta(seconds=1)
_YEAR_MIN_DT64 = np.datetime64(f"{YEAR_MIN}-01-01")
_YEAR_END_DT64 = np.datetime64(f"{YEAR_MAX + 1}-01-01")


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
    "%Y年%m月%d日 %H点%M分", "%Y年%m月%d日",  # as Chinese speakers type them (2026年11月20日 10点05分)
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


def _all_clean_texts(texts: list[str]) -> bool:
    """Whether ``_is_clean_text`` holds for every text, decided on their join with "|": printable,
    no double space, no space at either end or next to a "|" (given printable, a space is the
    only whitespace left), no empty text ("||", or a "|" at either end), no variation selector,
    and the join NFKC-normalized ("|" composes with no mark, so a text that is not normalized on
    its own is not in the join either). A text holding "|" may make this False; then each
    distinct text is looked at on its own."""
    joined = "|".join(texts)
    return bool(joined) and joined.isprintable() and "  " not in joined and " |" not in joined \
        and "| " not in joined and "||" not in joined and joined[:1] not in (" ", "|") \
        and joined[-1:] not in (" ", "|") and (joined.isascii() or (
            unicodedata.is_normalized("NFKC", joined) and "\ufe0e" not in joined and "\ufe0f" not in joined))


def _fast_text(kind: type, cells: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    if not issubclass(kind, str):
        return None
    if kind is str and _all_clean_texts(cells.tolist()):  # most columns: no distinct pass at all
        return np.ones(len(cells), dtype=bool), cells
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


_NONE_TYPE = type(None)
# cell types pandas never counts as missing (unlike float NaN, NaT, NA): a column of only these
# has its empty cells found by type, with the grouping by type, in one pass
_NEVER_NA = frozenset({_NONE_TYPE, str, datetime, date, int, bool})


class _FirstSeen(dict[type, int]):
    """type -> a code, the next one for a type not seen yet (``__getitem__`` stays dict's own, in C)."""

    def __missing__(self, kind: type) -> int:
        code = self[kind] = len(self)
        return code


def _grouped(cells: np.ndarray, codes: np.ndarray, kinds: list[type | None], empty: int | None
             ) -> Iterator[tuple[type | None, np.ndarray, np.ndarray]]:
    """The groups of ``_type_groups`` from a code per cell (``kinds[code]``; code ``empty``: the
    empty cells): one stable sort of the codes and one gather of the cells, each group a slice of
    them (positions ascending); the empty cells first, then each kind that has cells."""
    order = np.argsort(codes, kind="stable")
    counts = np.bincount(codes, minlength=len(kinds)).tolist()
    ordered = cells[order]
    slices, end = [], 0
    for count in counts:
        slices.append((order[end:end + count], ordered[end:end + count]))
        end += count
    yield (None, *slices[empty]) if empty is not None else (None, order[:0], ordered[:0])
    for code, (kind, (at, group)) in enumerate(zip(kinds, slices, strict=True)):
        if code != empty and len(at):
            yield kind, at, group


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
    if not isinstance(dtype, pd.StringDtype):
        if pd.api.types.infer_dtype(cells, skipna=False) == "string":  # only texts (a type check in C)
            yield None, np.zeros(0, dtype=np.int64), cells[:0]
            yield str, np.arange(len(cells)), cells
            return
        if pd.api.types.infer_dtype(cells, skipna=True) == "string":  # texts and empty cells
            missing = pd.isna(cells)
            at = np.flatnonzero(missing)
            yield None, at, cells[at]
            at = np.flatnonzero(~missing)
            yield str, at, cells[at]
            return
        number = _FirstSeen()  # each type's code, in order of first appearance
        codes = np.fromiter(map(number.__getitem__, map(type, cells)), dtype=np.int32, count=len(cells))
        if number.keys() <= _NEVER_NA:  # then the empty cells are the Nones: no pass of pd.isna
            yield from _grouped(cells, codes, list(number), number.get(_NONE_TYPE))
            return
        kinds: list[type | None] = [*number, None]  # the last code: whatever pandas counts as missing
        yield from _grouped(cells, np.where(pd.isna(cells), len(kinds) - 1, codes), kinds, len(kinds) - 1)
        return
    missing = pd.isna(cells)  # str dtype: every value is a str (no per-cell type look-up)
    yield None, np.flatnonzero(missing), cells[missing]
    yield str, np.flatnonzero(~missing), cells[~missing]


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
    # a text column whose every cell is already clean text (or None) parses to itself: its values
    # are then the very array it came from (a view), not a copy of a million pointers
    as_given = kind == "text"
    for cell_type, positions, cells in _type_groups(series):
        if cell_type is None:
            empty[positions] = True
            as_given = as_given and bool(np.equal(cells, None).all())  # type: ignore[call-overload]
            continue
        found = spec.fast(cell_type, cells) if spec.fast is not None else None
        if found is not None:
            ok, fast_values = found
            values[positions[ok]] = fast_values[ok]
            positions, cells = positions[~ok], cells[~ok]
        as_given = as_given and not len(positions)
        codes, uniques = _distinct(cells)
        stored, unique_bad, unique_empty = _scalar_outcomes(spec, uniques)
        values[positions] = stored[codes]
        bad[positions] = unique_bad[codes]
        empty[positions] = unique_empty[codes]
        slow += len(uniques)
    log.debug("parse_series(%s): %d rows, %d distinct values parsed one by one", kind, size, slow)
    missing = bad | empty
    if as_given and series.dtype == object:
        given = series.to_numpy()
        if isinstance(given, np.ndarray) and given.dtype == object:
            values = given
    return ParsedSeries(
        values=pd.Series(spec.finish(values, missing), index=series.index, name=series.name,
                         dtype=object if spec.dtype is object else None, copy=False),
        bad=pd.Series(bad, index=series.index, name=series.name),
        empty=pd.Series(empty, index=series.index, name=series.name),
    )
