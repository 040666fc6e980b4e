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

import hashlib
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Iterable, Mapping, Sequence

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


@dataclass(frozen=True)
class Duration:
    """A length of time as a message parameter: ``limit`` True for a configured limit (reads in
    the unit it was set in: 10分钟, 15秒), False for a measured one (1天2小时, 40秒)."""

    seconds: float
    limit: bool = False

    @classmethod
    def of(cls, delta: Any, limit: bool = False) -> "Duration":
        return cls(delta.total_seconds(), limit)


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


@dataclass
class TabData:
    """One tab as read from the backend.

    ``rows[0]`` is sheet row 1. Cell values are what the backend gives: str, int, float, bool,
    datetime/date/time, or None for empty. Trailing empty rows/columns may be trimmed.
    ``fills`` maps (row, col) -> 'RRGGBB' (upper case, no alpha) for cells with a solid
    background fill; ``notes`` maps (row, col) -> note/comment text. ``merged`` lists merged
    ranges as (min_row, min_col, max_row, max_col).
    """

    title: str
    rows: list[list[Any]]
    fills: dict[tuple[int, int], str] = field(default_factory=dict)
    notes: dict[tuple[int, int], str] = field(default_factory=dict)
    merged: list[tuple[int, int, int, int]] = field(default_factory=list)
    hidden: bool = False
    sheet_id: int | None = None  # backend-specific id (Google's sheetId); None for xlsx

    @property
    def n_rows(self) -> int:
        return len(self.rows)

    def cell(self, row: int, col: int) -> Any:
        if row < 1 or row > len(self.rows):
            return None
        r = self.rows[row - 1]
        return r[col - 1] if 0 < col <= len(r) else None


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


def row_keys(rows: Sequence[Sequence[Any]], key_cols: Sequence[int], first_row: int = 2) -> dict[int, str]:
    """Stable identity for each data row: the key columns' text (or the whole row when the key
    columns are empty), with ``#n`` appended for the n-th repeat. Returns {sheet_row: key}."""
    seen: dict[str, int] = {}
    out: dict[int, str] = {}
    wanted = [c - 1 for c in key_cols if c > 0]
    body = rows[first_row - 1:]
    # the key columns' texts, column by column
    columns = [_key_texts(row[c] if c < len(row) else None for row in body) for c in wanted]
    for i, row, parts in zip(range(first_row, first_row + len(body)), body, zip(*columns, strict=True) if columns
                             else ((),) * len(body), strict=True):
        if not any(parts):
            whole = [normalise_key_part(v) for v in row]
            if not any(whole):
                continue
            base = "row:" + hashlib.sha1(KEY_SEP.join(whole).encode()).hexdigest()[:12]
        else:
            base = KEY_SEP.join(parts)
        n = seen.get(base, 0)
        seen[base] = n + 1
        out[i] = base if n == 0 else f"{base}#{n + 1}"
    return out


# ---------------------------------------------------------------------------------------------
# Findings: what validation and reconciliation report. One per (cell, reason).


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
