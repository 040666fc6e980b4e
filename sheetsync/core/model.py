"""The data that flows between the backend, the pure core and the planner.

Everything here is plain data (frozen dataclasses, lists, dicts). Row and column numbers are
1-based sheet coordinates: row 1 is the header row a person sees, column 1 is column A.

Flow of one run::

    backend.read() -> Snapshot
    core (templates, rules, jobs) -> findings and desired job-owned tabs     (pure)
    planner.plan(snapshot, desired) -> ChangeSet                             (pure)
    backend.apply(changeset, snapshot)                                       (one write)
"""

from __future__ import annotations

import gc
import hashlib
import re
from array import array
from collections.abc import ItemsView
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any, Callable, Iterable, Iterator, Mapping, Sequence, cast, overload

import numpy as np
import pandas as pd

# The fill sheetsync paints on a cell with a problem (Excel's "bad" light red).
MARK_FILL = "FFC7CE"
# The fill of a warning: a deadline is near, the owner can still make it (Excel's "neutral" amber).
WARN_FILL = "FFEB9C"
# The fill of a value sheetsync filled in itself (a routed 负责人): a note says where it came from.
INFO_FILL = "DDEBF7"
# Every fill sheetsync paints; a cell showing one of them under sheetsync's note is sheetsync's.
OWN_FILLS = (MARK_FILL, WARN_FILL, INFO_FILL)
# Finding.severity -> the fill the planner paints.
SEVERITY_FILLS = {"error": MARK_FILL, "warn": WARN_FILL, "info": INFO_FILL}
SEVERITIES = tuple(SEVERITY_FILLS)
# When several findings hit one cell, the note shows those of the highest priority only (one clear
# note per cell): a cell that is wrong in itself (a value to fix, a column to fill) says what to
# do; that a time limit ran out is the fallback; a note on a value sheetsync filled in is the least.
PRIORITY_ACT = 20  # the default of every code (binding's parse and layout codes included)
PRIORITY_TIME = 10  # a limit ran out or is about to (sla, due_before)
PRIORITY_INFO = 0  # a value sheetsync filled in
# Every note sheetsync writes starts with a prefix, so a person can tell it from their own notes.
# Each language words it (findings.note_prefix: "【sheetsync】", "[sheetsync] "); this is zh-CN's.
NOTE_PREFIX = "【sheetsync】"
# What every language's prefix looks like: sheetsync's name in brackets. A note is recognised as
# sheetsync's by this, whatever language wrote it (a workbook may switch template).
NOTE_PREFIX_PATTERN = r"[\[【]sheetsync[\]】] ?"
_OWN_NOTE = re.compile(NOTE_PREFIX_PATTERN)


def is_own_note(text: str | None) -> bool:
    """A note that starts with sheetsync's prefix, in any language."""
    return bool(text) and _OWN_NOTE.match(text or "") is not None


def strip_note_prefix(text: str) -> str:
    """The note without sheetsync's prefix (any language's)."""
    m = _OWN_NOTE.match(text)
    return text[m.end():] if m else text


@contextmanager
def paused_gc() -> Iterator[None]:
    """The cyclic garbage collector paused (and then restored as it was; nesting is harmless)
    while sheetsync makes millions of objects that hold no cycles: a run (engine.run), binding
    and the checks (also when called on their own), loading and saving the read cache. Every full
    collection walks all the objects made so far (13 of them, a fifth of the checks, at 1 M rows
    per big tab). Whatever cycles appear meanwhile are collected once it runs again."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _slot_setter(cls: type, name: str) -> Any:
    """What sets slot ``name`` of a ``cls`` object, frozen or not (the slot's own descriptor)."""
    return cls.__dict__[name].__set__


@dataclass(frozen=True, slots=True)  # slots: every late row's finding has one (48 bytes instead of 350)
class Duration:
    """A length of time as a message parameter: ``limit`` True for a configured limit (reads in
    the unit it was set in: 10分钟, 15秒), False for a measured one (1天2小时, 40秒)."""

    seconds: float
    limit: bool = False

    def __getstate__(self) -> tuple[Any, ...]:  # pickling a frozen slots class (the read cache) on 3.10 too
        return (self.seconds, self.limit)

    def __setstate__(self, state: tuple[Any, ...]) -> None:
        object.__setattr__(self, "seconds", state[0])
        object.__setattr__(self, "limit", state[1])

    @classmethod
    def of(cls, delta: Any, limit: bool = False) -> "Duration":
        return cls(delta.total_seconds(), limit)

    @classmethod
    def many(cls, seconds: Iterable[float], limit: bool = False) -> "list[Duration]":
        """``Duration(s, limit)`` for each of ``seconds`` (the measured times of a batch of
        findings), without the frozen dataclass's per-field ``__init__``."""
        new, set_seconds, set_limit = object.__new__, _slot_setter(cls, "seconds"), _slot_setter(cls, "limit")
        out = []
        for s in seconds:
            d = new(cls)
            set_seconds(d, s)
            set_limit(d, limit)
            out.append(d)
        return out


@dataclass(frozen=True)
class CellError:
    """A formula cell whose cached result is an error (``#DIV/0!``, ``#N/A``, ``#REF!``…), as a
    backend reads it. Binding turns it into a note on the cell; backends keep it on save."""

    code: str  # "#DIV/0!"

    def __str__(self) -> str:
        return self.code


def column_letter(col: int) -> str:
    """1 -> A, 27 -> AA."""
    letters = ""
    while col > 0:
        col, rem = divmod(col - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


class ColumnRows(Sequence[list[Any]]):
    """The rows of a tab kept by columns, as a read-only sequence: ``rows[i]`` (a list) is made
    from the columns when asked for, so code that reads a few rows (a header, a small tab) works
    unchanged and a big tab never exists as a list per row. ``columns[c]`` is column c + 1 from
    sheet row 1 down (lists or numpy object arrays; a shorter column reads as empty below its end)."""

    def __init__(self, columns: Sequence[Any], n_rows: int | None = None) -> None:
        self.columns = list(columns)
        self.n = n_rows if n_rows is not None else max((len(c) for c in self.columns), default=0)

    def _row(self, i: int) -> list[Any]:
        return [c[i] if i < len(c) else None for c in self.columns]

    def __len__(self) -> int:
        return self.n

    @overload
    def __getitem__(self, i: int) -> list[Any]: ...

    @overload
    def __getitem__(self, i: slice) -> list[list[Any]]: ...

    def __getitem__(self, i: int | slice) -> list[Any] | list[list[Any]]:
        if isinstance(i, slice):
            return [self._row(j) for j in range(*i.indices(self.n))]
        if i < 0:
            i += self.n
        if not 0 <= i < self.n:
            raise IndexError(i)
        return self._row(i)

    def __iter__(self) -> Iterator[list[Any]]:
        return (self._row(i) for i in range(self.n))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, (list, tuple, ColumnRows)):
            return NotImplemented
        return len(self) == len(other) and all(list(a) == list(b) for a, b in zip(self, other, strict=True))

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"ColumnRows({len(self.columns)} columns, {self.n} rows)"

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled (the read cache) with the times of each column as one array of microseconds:
        pickling a datetime object costs twenty times what converting it does."""
        return _unpacked_rows, ([_packed(c) for c in self.columns], self.n)


_PACK_MIN = 256  # times in a column before they are packed


@dataclass(frozen=True)
class _PackedColumn:
    """An object column whose plain datetimes are kept apart: ``times`` (microseconds since
    1970, int64) go where ``is_time`` is set, ``rest`` holds every other cell."""

    rest: np.ndarray
    is_time: np.ndarray
    times: np.ndarray


def _packed(column: Any) -> Any:
    if not (isinstance(column, np.ndarray) and column.dtype == object) or len(column) < _PACK_MIN:
        return column
    cells = column.tolist()
    is_time = np.fromiter((v.__class__ is datetime for v in cells), dtype=bool, count=len(cells))
    if np.count_nonzero(is_time) < _PACK_MIN:
        return column
    times = column[is_time]
    if any(t.tzinfo is not None or t.fold for t in times.tolist()):
        return column  # what microseconds do not say
    rest = column.copy()
    rest[is_time] = None
    return _PackedColumn(rest, is_time, pd.DatetimeIndex(times, dtype="datetime64[us]").asi8)


def _unpacked(column: Any) -> Any:
    if not isinstance(column, _PackedColumn):
        return column
    out = column.rest
    out[column.is_time] = column.times.view("datetime64[us]").astype(object)
    return out


def _unpacked_rows(columns: list[Any], n: int) -> "ColumnRows":
    return ColumnRows([_unpacked(c) for c in columns], n)


@dataclass
class TabData:
    """One tab as read from the backend.

    ``rows[0]`` is sheet row 1. Cell values are what the backend gives: str, int, float, bool,
    datetime/date/time, or None for empty. Trailing empty rows/columns may be trimmed.
    ``fills`` maps (row, col) -> 'RRGGBB' (upper case, no alpha) for cells with a solid
    background fill; ``notes`` maps (row, col) -> note/comment text. ``merged`` lists merged
    ranges as (min_row, min_col, max_row, max_col).

    A tab kept by columns (``TabData.from_columns``, what the xlsx reader hands over) has a
    ``ColumnRows`` as its rows: read-only, each row made when asked for. ``cell``, ``row``,
    ``column`` and ``n_rows`` read either form without converting it; binding and the planner
    use only those.
    """

    title: str
    rows: list[list[Any]]  # a ColumnRows on a columnar tab: reads like the list, cannot be changed
    fills: dict[tuple[int, int], str] = field(default_factory=dict)
    notes: dict[tuple[int, int], str] = field(default_factory=dict)
    merged: list[tuple[int, int, int, int]] = field(default_factory=list)
    hidden: bool = False
    sheet_id: int | None = None  # backend-specific id (Google's sheetId); None for xlsx
    # False when the backend knows no cell is a CellError (binding then skips looking for one)
    cell_errors: bool = field(default=True, compare=False)

    @classmethod
    def from_columns(cls, title: str, columns: Sequence[Any], n_rows: int | None = None,
                     **more: Any) -> "TabData":
        """A tab kept by columns: ``columns[c - 1][r - 1]`` is the cell at sheet row r, column c
        (kept as given, not copied). ``n_rows`` defaults to the longest column."""
        return cls(title, cast("list[list[Any]]", ColumnRows(columns, n_rows)), **more)

    @property
    def columnar(self) -> bool:
        return isinstance(self.rows, ColumnRows)

    @property
    def n_rows(self) -> int:
        return len(self.rows)

    @property
    def width(self) -> int:
        """The number of columns (of the widest row)."""
        if isinstance(self.rows, ColumnRows):
            return len(self.rows.columns)
        return max((len(r) for r in self.rows), default=0)

    def cell(self, row: int, col: int) -> Any:
        rows = self.rows
        if row < 1 or row > len(rows):
            return None
        if isinstance(rows, ColumnRows):
            if not 0 < col <= len(rows.columns):
                return None
            column = rows.columns[col - 1]
            return column[row - 1] if row <= len(column) else None
        r = rows[row - 1]
        return r[col - 1] if 0 < col <= len(r) else None

    def row(self, row: int) -> list[Any]:
        """The cells of sheet row ``row`` (1-based), [] past the end. Read it, do not change it."""
        if row < 1 or row > len(self.rows):
            return []
        return self.rows[row - 1]

    def column(self, col: int) -> Sequence[Any]:
        """The cells of column ``col`` (1-based) from sheet row 1 down, ``n_rows`` long (empty
        cells None). On a columnar tab this is the column itself: read it, do not change it."""
        rows = self.rows
        n = len(rows)
        if isinstance(rows, ColumnRows):
            if not 0 < col <= len(rows.columns):
                return [None] * n
            column = rows.columns[col - 1]
            return column if len(column) == n else [*column[:n], *[None] * (n - len(column))]
        i = col - 1
        return [r[i] if i < len(r) else None for r in rows]


@dataclass
class Snapshot:
    """The whole workbook, read once. ``version`` lets the backend detect a concurrent change
    (file hash for xlsx, None where the backend re-checks row order itself)."""

    tabs: dict[str, TabData]
    source: str  # human-readable: "demo.xlsx" or "Google 表格 1AbC…"
    version: str | None = None

    def tab(self, title: str) -> TabData | None:
        return self.tabs.get(title)


# ---------------------------------------------------------------------------------------------
# Row identity. Marks and fills carry the key of the row they belong to, so a backend that sees
# rows move between read and write (a person sorting a Google Sheet) can re-aim them.


# Printable on purpose: keys are stored in the state tab, and both xlsx and Sheets drop control characters.
KEY_SEP = " | "


def normalise_key_part(value: Any) -> str:
    if value.__class__ is str:  # the common case first: this runs for every key cell of every row
        return value.strip()
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _key_texts(values: Iterable[Any]) -> list[str]:
    """``normalise_key_part`` of each value, computed once per distinct (type, value): a key
    column repeats its dates and names."""
    seen: dict[tuple[type, Any], str] = {}
    out = []
    for v in values:
        k = (v.__class__, v)
        try:
            text = seen[k]
        except KeyError:
            text = seen[k] = normalise_key_part(v)
        except TypeError:  # an unhashable cell value
            text = normalise_key_part(v)
        out.append(text)
    return out


def object_array(values: Sequence[Any]) -> np.ndarray:
    """``values`` as a 1-D numpy object array (itself when it already is one; a cell that is a
    tuple stays one cell)."""
    if isinstance(values, np.ndarray) and values.dtype == object and values.ndim == 1:
        return values
    return np.fromiter(values, dtype=object, count=len(values))


def _equal_across_types(value: Any) -> bool:
    """True, 1 and 1.0 are one value to a hash table but not the same key text."""
    return value.__class__ is bool or (isinstance(value, (int, float)) and value in (0, 1))


def _distinct_key_texts(uniques: np.ndarray, kinds: set[type]) -> list[str]:
    """``normalise_key_part`` of each distinct value, a type at a time; texts and whole-second
    times (the usual key columns) without a Python call per value."""
    if len(kinds) == 1:
        return _key_texts_of(next(iter(kinds)), uniques)
    types = np.fromiter(map(type, uniques), dtype=object, count=len(uniques))
    out = np.empty(len(uniques), dtype=object)
    for kind in kinds:
        at = np.flatnonzero(types == kind)
        out[at] = _key_texts_of(kind, uniques[at])
    return out.tolist()


def _key_texts_of(kind: type, values: np.ndarray) -> list[str]:
    if kind is str:
        return [v.strip() for v in values]
    if kind is datetime and not any(v.tzinfo is not None for v in values):
        try:
            moments = pd.DatetimeIndex(values).to_numpy().astype("M8[us]")
        except (ValueError, TypeError, OverflowError):  # a year pandas cannot hold
            return [normalise_key_part(v) for v in values]
        seconds = moments.astype("M8[s]")
        texts = [t.replace("T", " ") for t in np.datetime_as_string(seconds, unit="s").tolist()]
        for i in np.flatnonzero(moments != seconds).tolist():  # str() shows the microseconds
            texts[i] = normalise_key_part(values[i])
        return texts
    return [normalise_key_part(v) for v in values]


def _key_codes(cells: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(codes, texts) with ``texts[codes[i]] == normalise_key_part(cells[i])``; equal texts share
    a code. The text is computed once per distinct value (a hash table in C finds them)."""
    timed = _lazy_key_codes(cells)
    if timed is not None:
        return timed
    try:
        codes, uniques = pd.factorize(cells)
        kinds = set(map(type, uniques))
        exact = kinds <= {str, datetime} or not any(map(_equal_across_types, uniques))
    except TypeError:  # an unhashable cell value
        exact = False
    if not exact:
        return pd.factorize(object_array(_key_texts(cells)))
    texts = np.empty(len(uniques) + 1, dtype=object)
    texts[0] = ""  # code -1 (an empty cell) becomes 0
    texts[1:] = _distinct_key_texts(uniques, kinds)
    codes = codes.astype(np.int64) + 1
    missing = np.flatnonzero(codes == 0)
    odd = [i for i, v in zip(missing.tolist(), cells[missing], strict=True) if v is not None]
    if odd:  # NaN, NaT: as str() writes them
        codes[odd] = np.arange(len(texts), len(texts) + len(odd))
        texts = np.concatenate([texts, object_array([normalise_key_part(v) for v in cells[odd]])])
    canonical, distinct = pd.factorize(texts)
    return canonical[codes], distinct


# what str() makes of a naive datetime: a text cell that reads like this could share a key with a
# date cell, so such a column's key texts are all made at once
_DATETIME_TEXT = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(\.\d{6})?")


_KEY_CELL_KINDS = {type(None): 0, datetime: 1, str: 2}


def _lazy_key_codes(cells: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """``_key_codes`` of a column of naive datetimes (and texts, and empty cells) without making
    the datetimes' texts: each distinct datetime stands for its own text (``str`` tells distinct
    datetimes apart and no text cell reads like one), made only when a key is asked for
    (``key_word``). The datetimes are told apart by their int64 moments, not by hashing each
    object. None when that does not hold (then every text is made)."""
    types = list(map(type, cells))
    kinds = set(types)
    if datetime not in kinds or not kinds <= _KEY_CELL_KINDS.keys():
        return None
    kind = np.fromiter(map(_KEY_CELL_KINDS.__getitem__, types), dtype=np.int8, count=len(types))
    del types
    at_moments, at_texts = np.flatnonzero(kind == 1), np.flatnonzero(kind == 2)
    try:
        index = pd.DatetimeIndex(cells[at_moments])
    except (ValueError, TypeError, OverflowError):  # a year pandas cannot hold, mixed time zones
        return None
    if index.tz is not None:
        return None
    moment_codes, moments = pd.factorize(index.asi8)
    one = np.empty(len(moments), dtype=np.int64)  # a cell of each distinct moment (equal ones read the same)
    one[moment_codes] = at_moments
    text_cells = cells[at_texts]
    cell_codes, distinct_cells = pd.factorize(text_cells) if len(text_cells) else (np.zeros(0, np.int64), text_cells)
    texts = [""] + _key_texts_of(str, distinct_cells)  # "" first: an empty cell's, and a blank text's
    if any(_DATETIME_TEXT.fullmatch(t) for t in texts):
        return None
    text_codes, distinct_texts = pd.factorize(object_array(texts))
    codes = np.zeros(len(cells), dtype=np.int64)  # an empty cell: "", code 0
    codes[at_texts] = text_codes[1:][cell_codes]
    codes[at_moments] = len(distinct_texts) + moment_codes
    return codes, np.concatenate([distinct_texts, cells[one]])


def _texts_among(words: np.ndarray) -> np.ndarray:
    """The texts of a key column's distinct words: all of them, but the datetimes that
    ``_lazy_key_codes`` puts after the texts (found by bisection)."""
    low, high = 0, len(words)
    while low < high:
        mid = (low + high) // 2
        if words[mid].__class__ is str:
            low = mid + 1
        else:
            high = mid
    return words[:low]


def key_word(word: Any) -> str:
    """The text of an entry of a key column's distinct texts (a datetime stands for its own)."""
    return word if word.__class__ is str else normalise_key_part(word)


def _spelled(words: Iterable[Any]) -> list[str]:
    """Every entry of a key column's distinct texts as text (``key_word``, datetimes a type at a time)."""
    out = list(words)
    moments = [i for i, w in enumerate(out) if w.__class__ is not str]
    if moments:
        for i, text in zip(moments, _key_texts_of(datetime, object_array([out[i] for i in moments])), strict=True):
            out[i] = text
    return out


class RowKeys(Mapping[int, str]):
    """{sheet row: row key} of one tab, each key's text made when it is asked for: a big tab's
    keys are mostly never read (only rows with a finding or a mark are), and a million key texts
    would take more memory than the cells they name."""

    def __init__(self, rows: np.ndarray, parts: list[tuple[np.ndarray, list[str]]], texts: dict[int, str],
                 repeats: dict[int, int]) -> None:
        self.rows = rows  # the sheet rows that have a key, ascending (int64)
        # per key column: the code of each row (a compact array: indexing it gives a Python int) and
        # the text of each code
        self._parts = [(array("q", codes.astype(np.int64).tobytes()) if len(words) >= 2**31 else
                        array("i", codes.astype(np.int32).tobytes()), words) for codes, words in parts]
        # the parts whose words include datetimes standing for their texts (``_lazy_key_codes`` puts
        # them after the texts)
        self._lazy = [bool(len(words)) and words[-1].__class__ is not str for _codes, words in parts]
        self._texts = texts  # position -> the key's text, where it is not the key columns' (a whole row)
        self._repeats = repeats  # position -> n for the rows whose key is "<text>#<n + 1>"
        self._size = len(rows)
        self._first = int(rows[0]) if self._size else 0
        self._dense = self._size == 0 or int(rows[-1]) - self._first + 1 == self._size

    def _position(self, row: Any) -> int | None:
        if row.__class__ is int and self._dense:  # the usual question: a sheet row of a tab without gaps
            i = row - self._first
            return i if 0 <= i < self._size else None
        if not isinstance(row, (int, np.integer)) or isinstance(row, bool) or not self._size:
            return None
        if self._dense:
            i = int(row) - self._first
            return i if 0 <= i < self._size else None
        i = int(np.searchsorted(self.rows, row))
        return i if i < self._size and self.rows[i] == row else None

    def _key(self, i: int) -> str:
        text = self._texts.get(i) if self._texts else None
        if text is None:
            parts = self._parts
            if len(parts) == 1:
                codes, words = parts[0]
                text = key_word(words[codes[i]])
            else:
                text = KEY_SEP.join([key_word(words[codes[i]]) for codes, words in parts])
        n = self._repeats.get(i) if self._repeats else None
        return text if n is None else f"{text}#{n + 1}"

    def positions(self, rows: np.ndarray) -> np.ndarray:
        """The position of each sheet row of ``rows`` (int64), -1 for a row without a key."""
        rows = np.asarray(rows, dtype=np.int64)
        if not self._size:
            return np.full(len(rows), -1, dtype=np.int64)
        if self._dense:
            at = rows - self._first
            return np.where((at >= 0) & (at < self._size), at, -1)
        at = np.minimum(np.searchsorted(self.rows, rows), self._size - 1)
        return np.where(self.rows[at] == rows, at, -1)

    def at(self, positions: np.ndarray) -> list[str]:
        """The keys at ``positions`` (as ``positions`` gives them; -1: ""), made in one pass: what
        ``get`` gives row by row, for all the rows a rule flags at once."""
        positions = np.asarray(positions, dtype=np.int64)
        n = len(positions)
        if not n:
            return []
        missing = positions < 0
        safe = np.where(missing, 0, positions) if missing.any() else positions
        columns = [list(map(words.__getitem__, np.frombuffer(codes, dtype=np.int64 if codes.typecode == "q"
                                                                else np.int32)[safe].tolist()))
                   for codes, words in self._parts]
        columns = [_spelled(c) if lazy else c for c, lazy in zip(columns, self._lazy, strict=True)]
        if not columns:
            out = [""] * n
        elif len(columns) == 1:
            out = columns[0]
        else:
            out = list(map(KEY_SEP.join, zip(*columns, strict=True)))
        if self._texts or self._repeats or missing.any():
            texts, repeats = self._texts, self._repeats
            for j, i in enumerate(positions.tolist()):
                if i < 0:
                    out[j] = ""
                    continue
                text = texts.get(i) if texts else None
                if text is not None:
                    out[j] = text
                k = repeats.get(i) if repeats else None
                if k is not None:
                    out[j] = f"{out[j]}#{k + 1}"
        return out

    def __getitem__(self, row: Any) -> str:
        i = self._position(row)
        if i is None:
            raise KeyError(row)
        return self._key(i)

    def get(self, row: Any, default: Any = None) -> Any:
        i = self._position(row)
        return default if i is None else self._key(i)

    def __contains__(self, row: object) -> bool:
        return self._position(row) is not None

    def __iter__(self) -> Iterator[int]:
        return iter(self.rows.tolist())

    def __len__(self) -> int:
        return len(self.rows)

    def __repr__(self) -> str:
        return f"RowKeys({len(self)} rows)"


def tab_row_keys(tab: TabData, key_cols: Sequence[int], first_row: int = 2) -> RowKeys:
    """Stable identity for each data row: the key columns' text (or the whole row when the key
    columns are empty), with ``#n`` appended for the n-th repeat; blank rows have none. Computed
    column by column on codes (the repeats found by a group count), the texts made on demand."""
    start, end = first_row - 1, tab.n_rows
    size = max(end - start, 0)
    parts = [_key_codes(object_array(tab.column(c))[start:end]) for c in key_cols if c > 0]
    filled = np.zeros(size, dtype=bool)
    group = np.zeros(size, dtype=np.int64)  # equal keys, equal group
    for codes, words in parts:
        filled |= (words != "")[codes]
        group = pd.factorize(group * len(words) + codes)[0].astype(np.int64)
    # texts that could make two different rows' keys read the same once joined: compare the texts
    # (a datetime standing for its text never starts with "row:" nor holds the separator), all of
    # a column's at once
    ambiguous = "\x1erow:" in "\x1e" + "\x1e".join(_texts_among(parts[0][1])) if parts else False
    if len(parts) > 1:
        ambiguous = ambiguous or any(KEY_SEP in "\x1e".join(_texts_among(words)) for _, words in parts)
    texts: dict[int, str] = {}
    if ambiguous:
        parts = [(codes, object_array(_spelled(words))) for codes, words in parts]
        texts = {i: KEY_SEP.join([t[c[i]] for c, t in parts]) for i in np.flatnonzero(filled).tolist()}
    kept = np.ones(size, dtype=bool)
    for at in np.flatnonzero(~filled).tolist():  # no key: the whole row is the key (blank rows have none)
        whole = [normalise_key_part(v) for v in tab.row(first_row + at)]
        if any(whole):
            texts[at] = "row:" + hashlib.sha1(KEY_SEP.join(whole).encode()).hexdigest()[:12]
        else:
            kept[at] = False
    if ambiguous:  # every kept row has its text: group by it
        order = sorted(texts)
        group[order] = pd.factorize(object_array([texts[i] for i in order]))[0]
    else:  # whole rows' texts ("row:…") never equal a key columns' text
        by_text: dict[str, int] = {}
        for at, text in texts.items():
            group[at] = -1 - by_text.setdefault(text, len(by_text))
    positions = np.flatnonzero(kept)
    repeat = pd.Series(group[positions]).groupby(group[positions]).cumcount().to_numpy()
    shifted = {int(np.searchsorted(positions, at)): t for at, t in texts.items() if kept[at]}
    repeats = dict(zip(np.flatnonzero(repeat).tolist(), repeat[repeat > 0].tolist(), strict=True))
    return RowKeys(positions.astype(np.int64) + first_row, [(codes[positions], t.tolist()) for codes, t in parts],
                   shifted, repeats)


def row_keys(rows: "Sequence[Sequence[Any]] | TabData", key_cols: Sequence[int], first_row: int = 2) -> dict[int, str]:
    """``tab_row_keys`` of a list of rows (or a tab), every key made: {sheet_row: key}."""
    tab = rows if isinstance(rows, TabData) else TabData("", cast("list[list[Any]]", list(rows)))
    keys = tab_row_keys(tab, key_cols, first_row)
    return {row: keys._key(i) for i, row in enumerate(keys.rows.tolist())}


# ---------------------------------------------------------------------------------------------
# Findings: what validation and reconciliation report. One per (cell, reason).


class Params(Mapping[str, Any]):
    """A finding's message parameters, read-only: the names (one tuple, shared by every finding
    of a rule's batch) and this finding's values. Four parameters take 120 bytes where a dict
    takes 184: a messy sheet's first run makes a million of them. Reads like the dict it
    stands for (``==`` a dict of the same items, ``dict(params)``, ``**params``, ``.items()``);
    it is not one (no ``|``, ``copy()``, ``json.dumps``: take ``dict(params)`` for those)."""

    __slots__ = ("_names", "_values")

    def __init__(self, names: tuple[str, ...], values: tuple[Any, ...]) -> None:
        if len(names) != len(values):
            raise ValueError(f"{len(names)} names, {len(values)} values")
        self._names = names
        self._values = values

    @classmethod
    def of(cls, params: Mapping[str, Any]) -> "Params":
        """``params`` (a dict) as a ``Params``, its names' tuple shared with every other one of
        the same names."""
        if isinstance(params, Params):
            return params
        return cls(shared_names(tuple(params)), tuple(params.values()))

    def __getitem__(self, key: str) -> Any:
        try:
            return self._values[self._names.index(key)]
        except ValueError:
            raise KeyError(key) from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)

    def __contains__(self, key: object) -> bool:
        return key in self._names

    def items(self) -> "_ParamItems":
        return _ParamItems(self)

    def __repr__(self) -> str:
        return repr(dict(zip(self._names, self._values, strict=True)))

    def __reduce__(self) -> tuple[Any, ...]:
        return Params, (self._names, self._values)


class _ParamItems(ItemsView[str, Any]):
    """``Params.items()``: the pairs from the two tuples in one C loop (the generic view looks
    each name up again)."""

    __slots__ = ("_params",)

    def __init__(self, params: Params) -> None:
        super().__init__(params)
        self._params = params

    def __iter__(self) -> Iterator[tuple[str, Any]]:
        return zip(self._params._names, self._params._values, strict=True)


def shared_names(names: tuple[str, ...]) -> tuple[str, ...]:
    """One tuple object for every equal tuple of parameter names (a handful per rule kind)."""
    if len(_NAMES) >= _NAMES_MAX:
        return names
    return _NAMES.setdefault(names, names)


_NAMES: dict[tuple[str, ...], tuple[str, ...]] = {}
_NAMES_MAX = 4096


@dataclass(frozen=True, slots=True)  # slots: a messy sheet's first run makes a million of them
class Finding:
    tab: str  # sheet title as the person sees it
    row: int  # sheet row (1-based); 0 for a problem with the tab itself
    column: str  # header text as the person sees it ("" for a whole-tab problem)
    col: int  # 1-based column index (0 when not a cell)
    value: Any  # the raw cell value
    code: str  # stable reason code, e.g. "promo.unsigned"
    message: str  # plain-language explanation and what to do
    row_key: str = ""
    owner_role: str = ""  # role from 成员 responsible for fixing it (选品/推广/客服/财务/店长)
    job: str = "validate"
    paint: bool = True  # False: listed in 问题清单 / check output but never painted
    tab_id: str = ""  # template tab id ("promotions"); "" for a tab the template does not know
    column_id: str = ""  # template column id ("declared_stock"); "" for a whole-row/tab problem
    params: Mapping[str, Any] = field(default_factory=dict, compare=False, hash=False)  # message parameters
    # "error" (red: broken), "warn" (amber: a deadline is near) or "info" (a note on a value
    # sheetsync filled in; not a problem: never listed in 问题清单 nor alerted)
    severity: str = "error"
    deadline: datetime | None = None  # by when the owner must act (naive shop time); set by time rules
    # the people who must act on THIS row (the row's person column, e.g. 售后纠纷 负责人); () = the
    # members of ``owner_role`` in 成员
    owners: tuple[str, ...] = ()
    priority: int = PRIORITY_ACT  # several findings on one cell: the highest priority is the note (rules.Emit)

    def __getstate__(self) -> tuple[Any, ...]:  # pickling a frozen slots class (the read cache) on 3.10 too
        return tuple(getattr(self, f) for f in self.__slots__)

    def __setstate__(self, state: tuple[Any, ...]) -> None:
        for name, value in zip(self.__slots__, state, strict=True):
            object.__setattr__(self, name, value)

    @property
    def is_problem(self) -> bool:
        """Listed in 问题清单 and counted (an "info" note is not a problem)."""
        return self.severity != "info"

    @property
    def cell_ref(self) -> str:
        return f"{column_letter(self.col)}{self.row}" if self.col and self.row else ""


def _positional_constructor(cls: type) -> Any:
    """A function that makes a ``cls`` (a frozen slots dataclass) from every field, positionally
    in declared order, setting each slot through its descriptor: what the generated ``__init__``
    does, without its per-field attribute look-ups (a batch of a million findings spends seconds
    there). Generated from the declared fields, so it cannot miss one."""
    names = [f.name for f in fields(cls)]
    assert names == list(cls.__slots__), names  # type: ignore[attr-defined]
    body = "".join(f"    _set_{n}(o, {n})\n" for n in names)
    source = f"def make({', '.join(names)}):\n    o = _new(_cls)\n{body}    return o\n"
    scope: dict[str, Any] = {"_new": object.__new__, "_cls": cls, **{f"_set_{n}": _slot_setter(cls, n) for n in names}}
    exec(source, scope)  # noqa: S102 (built from the dataclass's own field names)
    return scope["make"]


# Finding(tab, row, column, col, value, code, message, row_key, owner_role, job, paint, tab_id,
# column_id, params, severity, deadline, owners, priority): every field, none defaulted
new_finding: "Callable[..., Finding]" = _positional_constructor(Finding)


@dataclass(frozen=True)
class Phrase:
    """Words inside a message parameter, as a key and parameters (a list of changes, a condition
    not met): rendered at the edge with the message around it. A tuple of phrases reads as a list."""

    key: str
    params: Mapping[str, Any] = field(default_factory=dict, compare=False, hash=False)


# ---------------------------------------------------------------------------------------------
# The change set: the minimal list of writes the planner derived. Backends apply it in one batch.


@dataclass(frozen=True)
class Paint:
    """Set sheetsync's fill and note on a cell (new mark, or a mark whose note changed)."""

    tab: str
    row: int
    col: int
    row_key: str
    note: str
    fill: str = MARK_FILL


@dataclass(frozen=True)
class Unpaint:
    """Remove the fill and the note sheetsync put on a cell (the problem was fixed)."""

    tab: str
    row: int
    col: int
    row_key: str


@dataclass(frozen=True)
class FillValue:
    """Write a value into a cell that was empty when read (routing fills 负责人). A backend
    must skip it if the cell is no longer empty when it writes."""

    tab: str
    row: int
    col: int
    row_key: str
    value: Any


@dataclass(frozen=True)
class ChartSpec:
    """A line chart on a job-owned tab: categories in ``cat_col``, one series per value column,
    data rows ``first_row``..``last_row`` (header row = first_row - 1 gives series names)."""

    title: str
    cat_col: int
    value_cols: tuple[int, ...]
    first_row: int
    last_row: int
    anchor: str  # top-left cell, e.g. "N2"


@dataclass(frozen=True)
class ReplaceTab:
    """Replace the whole content of a job-owned tab (created if missing). Values are written
    as literal values, never as formulas (text starting with '=' stays text)."""

    tab: str
    rows: tuple[tuple[Any, ...], ...]
    hidden: bool = False
    protected: bool = True  # job-owned: warn people who try to edit it
    column_widths: tuple[float, ...] = ()  # in characters, per column; () = leave default
    chart: ChartSpec | None = None
    number_formats: tuple[tuple[int, str], ...] = ()  # (col, Excel number format) e.g. "0.0%"
    # 1-based columns whose long texts wrap inside the cell (问题清单's 问题) instead of being cut
    # off by the next column
    wrap_columns: tuple[int, ...] = ()


@dataclass(frozen=True)
class AppendRows:
    """Append rows at the end of a job-owned tab (运行记录), creating it with ``header`` if missing."""

    tab: str
    header: tuple[Any, ...]
    rows: tuple[tuple[Any, ...], ...]


@dataclass
class ChangeSet:
    paints: list[Paint] = field(default_factory=list)
    unpaints: list[Unpaint] = field(default_factory=list)
    fills: list[FillValue] = field(default_factory=list)
    tabs: list[ReplaceTab] = field(default_factory=list)
    appends: list[AppendRows] = field(default_factory=list)
    # key columns per tab title, so a backend can recompute row keys from fresh data (see row_keys)
    key_columns: dict[str, tuple[int, ...]] = field(default_factory=dict)

    def is_empty(self) -> bool:
        return not (self.paints or self.unpaints or self.fills or self.tabs or self.appends)

    def count(self) -> int:
        return len(self.paints) + len(self.unpaints) + len(self.fills) + len(self.tabs) + len(self.appends)


@dataclass
class ApplyResult:
    written: int  # number of operations applied
    # why operations were skipped (row vanished, cell no longer empty): keyed messages from the
    # backend (backends.base.Reason), rendered at the edge by str()
    skipped: list[Any] = field(default_factory=list)
    backup: str | None = None  # path of the previous version (xlsx)
    requests: int = 0  # API requests made (google)


# ---------------------------------------------------------------------------------------------
# Layouts: what `sheetsync init` creates (headers, dropdowns, widths), for every backend.


@dataclass(frozen=True)
class ColumnLayout:
    header: str
    width: float = 12.0  # characters
    choices: tuple[str, ...] = ()  # dropdown values (data validation); () = free input
    number_format: str | None = None  # e.g. "yyyy-mm-dd hh:mm" for datetime columns
    note: str = ""  # header note explaining the column (shown on hover)


@dataclass(frozen=True)
class TabLayout:
    title: str
    columns: tuple[ColumnLayout, ...]
    job_owned: bool = False  # written by sheetsync: protected (warning only), grey tab colour
    hidden: bool = False
    frozen_rows: int = 1
    rows: tuple[tuple, ...] = ()  # initial data rows (e.g. the 设置 defaults), only for new tabs



# ---------------------------------------------------------------------------------------------
# Reports: what the weekly-summary and daily-digest jobs hand to delivery (e-mail, bots).


@dataclass(frozen=True)
class Kpi:
    key: str  # "selection_pass" | "promo_accuracy" | "cs_response" | "dispute_resolution"
    label: str  # "选品合格率"
    numerator: int
    denominator: int
    previous: float | None = None  # last week's value (0..1, or a count), None if unknown
    unit: str = "rate"  # "rate": numerator / denominator; "count": the number of rows (售后纠纷数)
    better: str = "higher"  # "lower": a rise is bad news (退货率, 售后纠纷数)

    @property
    def value(self) -> float | None:
        if self.unit == "count":
            return float(self.numerator)
        return self.numerator / self.denominator if self.denominator else None

    @property
    def change_points(self) -> float | None:
        """Change against last week in percentage points (+20.0 for 70% -> 90%); for a count,
        the difference in rows (−6 for 12 -> 6)."""
        if self.value is None or self.previous is None:
            return None
        if self.unit == "count":
            return round(self.value - self.previous, 1)
        return round((self.value - self.previous) * 100, 1)


@dataclass(frozen=True)
class WeekSummary:
    week_start: Any  # datetime.date, Monday
    week_end: Any  # datetime.date, Sunday
    kpis: tuple[Kpi, ...]
    # breakdown name -> ((label, count), ...), e.g. "售后纠纷类别" -> (("质量问题", 2), ...); the
    # feedback columns' counts are text ("3 (质量问题 2, 尺码不合适 1)", "80% (4/5)")
    breakdowns: tuple[tuple[str, tuple[tuple[str, int | str], ...]], ...] = ()

    def kpi(self, key: str) -> Kpi:
        return next(k for k in self.kpis if k.key == key)


@dataclass(frozen=True)
class OpenProblem:
    tab: str
    row: int
    column: str
    message: str
    code: str
    owner_role: str
    owner: str  # name(s) from 成员, or the role when nobody has it
    since: Any  # datetime (shop time)


@dataclass(frozen=True)
class WeeklyReport:
    shop: str  # 店名 from 设置 ("" when not set)
    week: WeekSummary
    history: tuple[WeekSummary, ...]  # oldest first, ending with ``week``
    problems: tuple[OpenProblem, ...]
    recipients: tuple[str, ...]  # e-mail addresses (设置 周报收件人, else everyone in 成员)
    generated_at: Any  # datetime (shop time)


@dataclass(frozen=True)
class UnresolvedInquiry:
    row: int
    customer: str
    question_type: str
    summary: str
    agent: str
    asked_at: Any  # datetime or None


@dataclass(frozen=True)
class DueItem:
    """Something that falls due on a given day: a row whose ``column`` must be filled by ``deadline``."""

    tab: str
    row: int
    column: str  # the header of what must be filled in
    label: str  # what the row is about (its customer, order number…)
    deadline: Any  # datetime (shop time)
    owner: str  # who must do it: the row's person, else the role's people


@dataclass(frozen=True)
class DailyDigest:
    shop: str
    day: Any  # datetime.date
    inquiries: int
    answered_in_time: int
    deals: int  # 是否成交 = 是
    by_type: tuple[tuple[str, int], ...]  # question type -> count
    unresolved: tuple[UnresolvedInquiry, ...]  # 是否解决 = 否 (those still waiting for a reply are in ``waiting``)
    recipients: tuple[str, ...]
    generated_at: Any
    waiting: tuple[UnresolvedInquiry, ...] = ()  # asked, no first reply yet: listed first, oldest first
    due_tomorrow: tuple[DueItem, ...] = ()  # deadlines of the next day, earliest first
    # 排班: the stretches of tomorrow's working hours nobody is on duty, as (start, end) clock times
    duty_gaps: tuple[tuple[Any, Any], ...] = ()
    # 话术: (question type, standard reply) for the day's most asked types that have one
    replies: tuple[tuple[str, str], ...] = ()
