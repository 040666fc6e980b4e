"""In-memory Feishu spreadsheets behind the fake Open API.

A cell holds a value (str, int/float, or None), a ``formatter`` (number format) and a style (the
fill a person chose, bold...). Dates are day serials with a date formatter, as Feishu stores
them. Conditional formats are kept per tab and never move when rows are sorted (they are bound
to their ranges); a sort moves values and styles with their rows. What a person sees in a cell
is ``shown_fill``: a matching conditional format's colour over the cell's own fill.

The conversions here are written independently of sheetsync's, on purpose.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

EPOCH = datetime(1899, 12, 30)
DEFAULT_ROWS, DEFAULT_COLS = 200, 20
MAX_CF_PER_SHEET = 20


class ApiError(Exception):
    """An error answer the real API gives (HTTP status, Feishu code, msg)."""

    def __init__(self, code: int, msg: str, status: int = 400) -> None:
        super().__init__(msg)
        self.code, self.msg, self.status = code, msg, status


def col_index(letters: str) -> int:
    n = 0
    for ch in letters.upper():
        n = n * 26 + ord(ch) - 64
    return n


def col_letters(col: int) -> str:
    out = ""
    while col > 0:
        col, rem = divmod(col - 1, 26)
        out = chr(65 + rem) + out
    return out


def _serial(value: date | datetime | time) -> float:
    if isinstance(value, datetime):
        return (value - EPOCH).total_seconds() / 86400
    if isinstance(value, date):
        return float((value - EPOCH.date()).days)
    return (value.hour * 3600 + value.minute * 60 + value.second) / 86400


def _is_date_format(fmt: str | None) -> bool:
    return bool(fmt) and any(ch in fmt for ch in "yMdHhs") and "%" not in fmt and "0" not in fmt  # type: ignore[operator]


def _strftime(fmt: str) -> str:
    out = fmt
    for a, b in (("yyyy", "%Y"), ("MM", "%m"), ("dd", "%d"), ("HH", "%H"), ("hh", "%H"), ("mm", "%M"), ("ss", "%S")):
        out = out.replace(a, b)
    return out


@dataclass
class Cell:
    value: Any = None
    formatter: str | None = None
    style: dict[str, Any] = field(default_factory=dict)


@dataclass
class Sheet:
    sheet_id: str
    title: str
    index: int
    rows: int = DEFAULT_ROWS
    cols: int = DEFAULT_COLS
    hidden: bool = False
    frozen_rows: int = 0
    protect: dict[str, Any] | None = None
    cells: dict[tuple[int, int], Cell] = field(default_factory=dict)  # 1-based
    cfs: list[dict[str, Any]] = field(default_factory=list)
    validations: list[dict[str, Any]] = field(default_factory=list)
    widths: dict[int, int] = field(default_factory=dict)
    merges: list[tuple[int, int, int, int]] = field(default_factory=list)  # 1-based, inclusive

    def cell(self, r: int, c: int) -> Cell:
        return self.cells.setdefault((r, c), Cell())

    def last_row(self) -> int:
        return max((r for (r, _c), cell in self.cells.items() if cell.value not in (None, "")), default=0)


class FakeSpreadsheet:
    def __init__(self, token: str, title: str = "店铺运营表") -> None:
        self.token, self.title = token, title
        self.sheets: list[Sheet] = []

    # ---- set-up and a person's edits ------------------------------------------------------

    def add_tab(self, title: str, rows: list[list[Any]] = (), *, grid_rows: int | None = None) -> Sheet:  # type: ignore[assignment]
        if any(s.title == title for s in self.sheets):
            raise ApiError(1310228, f"sheet title {title!r} already exists")
        sheet = Sheet(sheet_id=secrets.token_hex(3), title=title, index=len(self.sheets))
        sheet.rows = max(grid_rows or DEFAULT_ROWS, len(rows) + 1)
        sheet.cols = max(DEFAULT_COLS, max((len(r) for r in rows), default=0))
        self.sheets.append(sheet)
        for r, row in enumerate(rows, start=1):
            for c, value in enumerate(row, start=1):
                if value is not None:
                    self.set_value(title, r, c, value)
        return sheet

    def load(self, tabs: dict[str, list[list[Any]]]) -> None:
        for title, rows in tabs.items():
            self.add_tab(title, rows)

    def sheet(self, title: str) -> Sheet:
        for s in self.sheets:
            if s.title == title:
                return s
        raise KeyError(title)

    def by_id(self, sheet_id: str) -> Sheet:
        for s in self.sheets:
            if s.sheet_id == sheet_id:
                return s
        raise ApiError(1310211, f"wrong sheet id {sheet_id}")

    def set_value(self, title: str, r: int, c: int, value: Any) -> None:
        """What a person typing ``value`` leaves: dates become serials with a date format."""
        cell = self.sheet(title).cell(r, c)
        if isinstance(value, datetime):
            cell.value, cell.formatter = _serial(value), "yyyy/MM/dd HH:mm"
        elif isinstance(value, date):
            cell.value, cell.formatter = _serial(value), "yyyy/MM/dd"
        elif isinstance(value, time):
            cell.value, cell.formatter = _serial(value), "HH:mm"
        else:
            cell.value = value
            if cell.formatter and _is_date_format(cell.formatter) and not isinstance(value, (int, float)):
                cell.formatter = None

    def set_fill(self, title: str, r: int, c: int, colour: str | None) -> None:
        style = self.sheet(title).cell(r, c).style
        if colour:
            style["backColor"] = "#" + colour.upper()
        else:
            style.pop("backColor", None)

    def sort_rows(self, title: str, col: int, *, reverse: bool = False, first_row: int = 2) -> None:
        """Data -> sort: whole rows (values and styles) move; conditional formats stay."""
        sheet = self.sheet(title)
        rows: dict[int, dict[int, Cell]] = {}
        for (r, c), cell in sheet.cells.items():
            if r >= first_row:
                rows.setdefault(r, {})[c] = cell

        def key(r: int) -> tuple[int, Any]:
            value = rows[r].get(col, Cell()).value
            if value in (None, ""):
                return (3, "")
            return (0, value) if isinstance(value, (int, float)) else (1, str(value))

        order = sorted((r for r in rows if key(r)[0] != 3), key=key, reverse=reverse)
        order += sorted(set(rows) - set(order))
        for (r, c) in [k for k in sheet.cells if k[0] >= first_row]:
            del sheet.cells[r, c]
        for new_r, old_r in enumerate(order, start=first_row):
            for c, cell in rows[old_r].items():
                sheet.cells[new_r, c] = cell

    def swap_rows(self, title: str, a: int, b: int) -> None:
        sheet = self.sheet(title)
        moved = {}
        for (r, c), cell in list(sheet.cells.items()):
            if r in (a, b):
                moved[(b if r == a else a, c)] = cell
                del sheet.cells[r, c]
        sheet.cells.update(moved)

    def swap_columns(self, title: str, a: int, b: int) -> None:
        """A person drags column ``a`` past ``b``: values and styles move, and so do the
        conditional formats drawn on single-column ranges of them (they travel with their cells)."""
        sheet = self.sheet(title)
        swap = {a: b, b: a}
        sheet.cells = {(r, swap.get(c, c)): cell for (r, c), cell in sheet.cells.items()}
        for cf in sheet.cfs:
            moved = []
            for text in cf["ranges"]:
                sid, _, part = text.partition("!")
                m = re.fullmatch(r"([A-Z]+)(\d+):([A-Z]+)(\d+)", part)
                if m and m[1] == m[3] and col_index(m[1]) in swap:
                    letters = col_letters(swap[col_index(m[1])])
                    text = f"{sid}!{letters}{m[2]}:{letters}{m[4]}"
                moved.append(text)
            cf["ranges"] = moved

    def insert_rows(self, title: str, at: int, count: int = 1) -> None:
        """Rows inserted above ``at``: values, styles and conditional-format ranges shift down."""
        sheet = self.sheet(title)
        sheet.cells = {((r + count if r >= at else r), c): cell for (r, c), cell in sheet.cells.items()}
        sheet.rows += count
        for cf in sheet.cfs:
            cf["ranges"] = [_shift(rng, at, count) for rng in cf["ranges"]]

    # ---- what a person sees ---------------------------------------------------------------

    def shown(self, title: str, r: int, c: int) -> Any:
        cell = self.sheet(title).cells.get((r, c))
        if cell is None or cell.value in (None, ""):
            return None
        if isinstance(cell.value, (int, float)) and _is_date_format(cell.formatter):
            moment = EPOCH + timedelta(seconds=round(cell.value * 86400))
            if cell.formatter in ("yyyy/MM/dd", "yyyy-MM-dd"):
                return moment.date()
            if cell.formatter in ("HH:mm", "HH:mm:ss"):
                return moment.time()
            return moment
        return cell.value

    def shown_fill(self, title: str, r: int, c: int) -> str | None:
        """The colour on screen: a conditional format that applies, else the cell's own fill."""
        sheet = self.sheet(title)
        cell = sheet.cells.get((r, c), Cell())
        blank = cell.value in (None, "")
        for cf in sheet.cfs:
            rule = cf["rule_type"]
            applies = (rule == "containsBlanks" and blank) or (rule == "notContainsBlanks" and not blank)
            if applies and (r, c) in cells_in(cf["ranges"], sheet):
                return cf["style"]["back_color"].lstrip("#").upper()
        own = cell.style.get("backColor")
        return own.lstrip("#").upper() if own else None

    def own_fill(self, title: str, r: int, c: int) -> str | None:
        own = self.sheet(title).cells.get((r, c), Cell()).style.get("backColor")
        return own.lstrip("#").upper() if own else None

    def rows_of(self, title: str) -> list[list[Any]]:
        sheet = self.sheet(title)
        height = sheet.last_row()
        width = max((c for (r, c), cell in sheet.cells.items() if cell.value not in (None, "")), default=0)
        rows = [[self.shown(title, r, c) for c in range(1, width + 1)] for r in range(1, height + 1)]
        for row in rows:
            while row and row[-1] is None:
                row.pop()
        return rows

    # ---- ranges -------------------------------------------------------------------------

    def parse_range(self, text: str) -> tuple[Sheet, tuple[int, int, int, int]]:
        """'sid', 'sid!A1:C5', 'sid!A:C', 'sid!A2:C' -> (sheet, (r1, c1, r2, c2)), checked
        against the grid (code 1310202 'Wrong Range' when outside)."""
        sid, _, part = text.partition("!")
        sheet = self.by_id(sid)
        if not part:
            return sheet, (1, 1, sheet.rows, sheet.cols)
        m = re.fullmatch(r"([A-Z]+)(\d*):([A-Z]+)(\d*)", part)
        if not m:
            raise ApiError(1310202, f"Wrong Range: {text}")
        c1, r1, c2, r2 = col_index(m[1]), int(m[2] or 1), col_index(m[3]), int(m[4] or sheet.rows)
        if r2 < r1 or c2 < c1 or r2 > sheet.rows or c2 > sheet.cols:
            raise ApiError(1310202, f"Wrong Range: {text} (grid {sheet.rows}x{sheet.cols})")
        return sheet, (r1, c1, r2, c2)


def cells_in(ranges: list[str], sheet: Sheet) -> set[tuple[int, int]]:
    out = set()
    for text in ranges:
        part = text.partition("!")[2]
        m = re.fullmatch(r"([A-Z]+)(\d*):([A-Z]+)(\d*)", part)
        if not m:
            continue
        for r in range(int(m[2] or 1), int(m[4] or sheet.rows) + 1):
            for c in range(col_index(m[1]), col_index(m[3]) + 1):
                out.add((r, c))
    return out


def _shift(text: str, at: int, count: int) -> str:
    sid, _, part = text.partition("!")
    m = re.fullmatch(r"([A-Z]+)(\d+):([A-Z]+)(\d+)", part)
    if not m:
        return text
    r1, r2 = int(m[2]), int(m[4])
    r1, r2 = (r1 + count if r1 >= at else r1), (r2 + count if r2 >= at else r2)
    return f"{sid}!{m[1]}{r1}:{m[3]}{r2}"


def render(sheet: Sheet, bounds: tuple[int, int, int, int], spreadsheet: FakeSpreadsheet, option: str,
           dates: bool) -> list[list[Any]]:
    r1, c1, r2, c2 = bounds
    out = []
    last = min(r2, max(sheet.last_row(), r1 - 1))  # Feishu trims trailing empty rows of a range
    for r in range(r1, last + 1):
        row = []
        for c in range(c1, c2 + 1):
            cell = sheet.cells.get((r, c))
            value = None if cell is None or cell.value == "" else cell.value
            if value is not None and isinstance(value, (int, float)) and cell and _is_date_format(cell.formatter):
                if dates:
                    moment = EPOCH + timedelta(seconds=round(value * 86400))
                    value = moment.strftime(_strftime(cell.formatter or ""))
            elif option == "ToString" and value is not None:
                value = str(value)
            row.append(value)
        out.append(row)
    return out
