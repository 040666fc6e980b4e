"""In-memory spreadsheets behind the fake Sheets API.

Cells are stored as Sheets v4 CellData JSON (userEnteredValue, effectiveValue, userEnteredFormat,
note, dataValidation), keyed by 0-based (row, col). batchUpdate requests are applied the way
Google applies them (field masks, all-or-nothing, grid limits, duplicate titles...), and the
spreadsheet is rendered back as Google renders it (zero-valued ids omitted, the deprecated
backgroundColor mirrored next to backgroundColorStyle, formatted values...).

The conversions between Python values and cells here are written independently of sheetsync's
own, on purpose: the fake is what sheetsync's conversions are checked against.

Formulas are not evaluated: seed a formula with its result (``Formula('=SUM(B2:B3)', 5)``).
"""

from __future__ import annotations

import copy
import random
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, Callable, Iterable

from sheetsync.core.model import Snapshot, TabData, column_letter

from .fields import Tree, parse_mask, paths, select, subtree

EPOCH = datetime(1899, 12, 30)
WHITE = {"red": 1, "green": 1, "blue": 1}
ERRORS = {"N_A": "#N/A", "REF": "#REF!", "VALUE": "#VALUE!", "DIVIDE_BY_ZERO": "#DIV/0!", "NAME": "#NAME?",
          "NUM": "#NUM!", "NULL_VALUE": "#NULL!", "ERROR": "#ERROR!", "LOADING": "Loading..."}
# proto3 JSON leaves out fields holding their default value. Google does so inside GridRanges and
# flags, but always sends a sheet's own sheetId and index (gspread relies on that).
_ZERO_OMITTED = {"sheetId", "startRowIndex", "startColumnIndex", "rowIndex", "columnIndex", "hidden",
                 "frozenRowCount", "frozenColumnCount"}
CELL_FIELDS = ("userEnteredValue", "effectiveValue", "formattedValue", "userEnteredFormat", "effectiveFormat",
               "note", "dataValidation")
WRITABLE_CELL_FIELDS = ("userEnteredValue", "userEnteredFormat", "note", "dataValidation", "textFormatRuns",
                        "hyperlink")
_MISSING = object()


class ApiError(Exception):
    """An error the real API would answer with (HTTP status, google.rpc status, message)."""

    def __init__(self, message: str, status: int = 400, rpc_status: str = "INVALID_ARGUMENT") -> None:
        super().__init__(message)
        self.status = status
        self.rpc_status = rpc_status


class NotImplementedInFake(Exception):
    """A valid API feature the fake does not model: a limitation of the fake, not of the code
    under test (recorded as a fake error so the test fails loudly rather than passing wrongly)."""


@dataclass(frozen=True)
class CellError:
    """The result of a failed formula (ErrorValue.type: 'N_A', 'REF', 'DIVIDE_BY_ZERO'...)."""

    type: str


@dataclass(frozen=True)
class Formula:
    """A seeded formula and the value Google would have computed for it (or a CellError)."""

    text: str
    value: Any


# --------------------------------------------------------------------------------------------
# Python values <-> cells (the fake's own, independent version)


def serial(value: date | datetime | time) -> float:
    if isinstance(value, datetime):
        return (value - EPOCH).total_seconds() / 86400
    if isinstance(value, date):
        return (value - EPOCH.date()).days
    return (value.hour * 3600 + value.minute * 60 + value.second) / 86400


def extended_value(value: Any) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"boolValue": value}
    if isinstance(value, (int, float)):
        return {"numberValue": value}
    if isinstance(value, (datetime, date, time)):
        return {"numberValue": serial(value)}
    return {"stringValue": str(value)}


def date_format(value: Any) -> dict[str, str] | None:
    if isinstance(value, datetime):
        return {"type": "DATE_TIME", "pattern": "yyyy-mm-dd hh:mm:ss"}
    if isinstance(value, date):
        return {"type": "DATE", "pattern": "yyyy-mm-dd"}
    if isinstance(value, time):
        return {"type": "TIME", "pattern": "hh:mm:ss"}
    return None


def cell_from_python(value: Any) -> dict[str, Any]:
    """What a person typing ``value`` leaves in a cell."""
    if value is None:
        return {}
    if isinstance(value, Formula):
        if isinstance(value.value, CellError):
            cell = {"effectiveValue": {"errorValue": {"type": value.value.type, "message": "formula failed"}}}
        else:
            cell = cell_from_python(value.value)
        cell["userEnteredValue"] = {"formulaValue": value.text}
        return cell
    cell: dict[str, Any] = {"userEnteredValue": extended_value(value), "effectiveValue": extended_value(value)}
    fmt = date_format(value)
    if fmt:
        cell["userEnteredFormat"] = {"numberFormat": fmt}
    return cell


def python_from_cell(cell: dict[str, Any]) -> Any:
    ev = cell.get("effectiveValue")
    if not ev:
        return None
    if "stringValue" in ev:
        return ev["stringValue"] or None
    if "boolValue" in ev:
        return ev["boolValue"]
    if "errorValue" in ev:
        return ERRORS[ev["errorValue"]["type"]]
    number = ev["numberValue"]
    kind = cell.get("userEnteredFormat", {}).get("numberFormat", {}).get("type")
    if kind in ("DATE", "DATE_TIME", "TIME"):
        moment = EPOCH + timedelta(seconds=round(number * 86400))
        return moment.date() if kind == "DATE" else moment.time() if kind == "TIME" else moment
    return int(number) if float(number).is_integer() else number


def rgb_of(hex_colour: str) -> dict[str, float]:
    return {name: int(hex_colour[i:i + 2], 16) / 255 for name, i in (("red", 0), ("green", 2), ("blue", 4))}


def fill_of(cell: dict[str, Any]) -> str | None:
    style = cell.get("userEnteredFormat", {}).get("backgroundColorStyle")
    if not style:
        return None
    if "themeColor" in style:
        return f"theme:{style['themeColor']}"
    rgb = style.get("rgbColor", {})
    text = "".join(f"{round(rgb.get(k, 0) * 255):02X}" for k in ("red", "green", "blue"))
    return None if text == "FFFFFF" else text


_DATE_TOKEN = re.compile(r"yyyy|yy|mm|m|dd|d|hh|h|ss|s|am/pm|.", re.IGNORECASE)


def _strftime_pattern(pattern: str) -> str:
    """A Sheets date pattern -> strftime (enough for the patterns people use)."""
    tokens = _DATE_TOKEN.findall(pattern)
    out = []
    for i, tok in enumerate(tokens):
        low = tok.lower()
        if low in ("mm", "m"):
            before = "".join(tokens[:i]).lower().rstrip(": ")
            after = "".join(tokens[i + 1:]).lower().lstrip(": ")
            minute = before.endswith(("h", "hh")) or after.startswith("s")
            out.append("%M" if minute else "%m")
        else:
            out.append({"yyyy": "%Y", "yy": "%y", "dd": "%d", "d": "%d", "hh": "%H", "h": "%H",
                        "ss": "%S", "s": "%S", "am/pm": "%p"}.get(low, tok.replace("%", "%%")))
    return "".join(out)


def formatted_value(ev: dict[str, Any], fmt: dict[str, Any]) -> str:
    """What the cell displays."""
    if "stringValue" in ev:
        return ev["stringValue"]
    if "boolValue" in ev:
        return "TRUE" if ev["boolValue"] else "FALSE"
    if "errorValue" in ev:
        return ERRORS[ev["errorValue"]["type"]]
    number = ev["numberValue"]
    nf = fmt.get("numberFormat", {})
    kind, pattern = nf.get("type"), nf.get("pattern", "")
    if kind in ("DATE", "DATE_TIME", "TIME"):
        moment = EPOCH + timedelta(seconds=round(number * 86400))
        default = {"DATE": "yyyy-mm-dd", "DATE_TIME": "yyyy-mm-dd hh:mm:ss", "TIME": "hh:mm:ss"}[kind]
        return moment.strftime(_strftime_pattern(pattern or default))
    if kind == "PERCENT":
        decimals = len(pattern.split(".")[1].rstrip("%")) if "." in pattern else 0
        return f"{number * 100:.{decimals}f}%"
    return str(int(number)) if float(number).is_integer() else f"{number:.10g}"


# --------------------------------------------------------------------------------------------
# Small JSON helpers


def _get_path(obj: Any, path: tuple[str, ...]) -> Any:
    for name in path:
        if not isinstance(obj, dict) or name not in obj:
            return _MISSING
        obj = obj[name]
    return obj


def _set_path(obj: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    for name in path[:-1]:
        obj = obj.setdefault(name, {})
    obj[path[-1]] = value


def _del_path(obj: dict[str, Any], path: tuple[str, ...]) -> None:
    parents = []
    for name in path[:-1]:
        if name not in obj:
            return
        parents.append((obj, name))
        obj = obj[name]
    obj.pop(path[-1], None)
    for parent, name in reversed(parents):  # prune emptied objects
        if parent[name]:
            break
        del parent[name]


def omit_defaults(obj: Any) -> Any:
    """Drop zero ids/indexes and false flags, as proto3 JSON does."""
    if isinstance(obj, list):
        return [omit_defaults(v) for v in obj]
    if isinstance(obj, dict):
        return {k: omit_defaults(v) for k, v in obj.items() if not (k in _ZERO_OMITTED and v in (0, False))}
    return obj



def column_index(letters: str) -> int:
    n = 0
    for ch in letters.upper():
        n = n * 26 + ord(ch) - 64
    return n


# --------------------------------------------------------------------------------------------


class FakeSheet:
    """One tab."""

    def __init__(self, sheet_id: int, title: str, index: int, rows: int = 1000, cols: int = 26) -> None:
        self.props: dict[str, Any] = {"sheetId": sheet_id, "title": title, "index": index, "sheetType": "GRID",
                                      "gridProperties": {"rowCount": rows, "columnCount": cols}}
        self.cells: dict[tuple[int, int], dict[str, Any]] = {}
        self.merges: list[dict[str, Any]] = []
        self.protected: list[dict[str, Any]] = []
        self.charts: list[dict[str, Any]] = []
        self.dimensions: dict[tuple[str, int], dict[str, Any]] = {}

    @property
    def title(self) -> str:
        return self.props["title"]

    @property
    def sheet_id(self) -> int:
        return self.props["sheetId"]

    @property
    def row_count(self) -> int:
        return self.props["gridProperties"]["rowCount"]

    @property
    def column_count(self) -> int:
        return self.props["gridProperties"]["columnCount"]

    def clone(self) -> "FakeSheet":
        """A copy for rolling back a failed batchUpdate. Cell dicts are shared: writes always
        replace a cell's dict, never change it in place."""
        other = FakeSheet.__new__(FakeSheet)
        other.props = copy.deepcopy(self.props)
        other.cells = dict(self.cells)
        other.merges = copy.deepcopy(self.merges)
        other.protected = copy.deepcopy(self.protected)
        other.charts = copy.deepcopy(self.charts)
        other.dimensions = copy.deepcopy(self.dimensions)
        return other

    def last_row_with_values(self) -> int:
        """0-based index of the last row holding a value, -1 when none."""
        return max((r for (r, _), cell in self.cells.items() if "userEnteredValue" in cell), default=-1)


class FakeSpreadsheet:
    """One spreadsheet: tabs, and everything the API can do to them."""

    def __init__(self, spreadsheet_id: str, title: str = "店铺运营表", *, locale: str = "zh_CN",
                 time_zone: str = "Asia/Shanghai") -> None:
        self.spreadsheet_id = spreadsheet_id
        self.props = {"title": title, "locale": locale, "timeZone": time_zone}
        self.sheets: list[FakeSheet] = []
        self._ids = random.Random(spreadsheet_id)

    # ---- tabs ---------------------------------------------------------------------------

    def _new_id(self) -> int:
        return self._ids.randrange(1, 2**31 - 1)

    def sheet(self, title: str) -> FakeSheet:
        for sheet in self.sheets:
            if sheet.title == title:
                return sheet
        raise KeyError(f"no tab {title!r}; tabs: {[s.title for s in self.sheets]}")

    def by_id(self, sheet_id: int) -> FakeSheet:
        for sheet in self.sheets:
            if sheet.sheet_id == sheet_id:
                return sheet
        raise ApiError(f"No grid with id: {sheet_id}")

    def add_tab(self, title: str, rows: Iterable[Iterable[Any]] = (), *,
                fills: dict[tuple[int, int], str] | None = None, notes: dict[tuple[int, int], str] | None = None,
                merges: Iterable[tuple[int, int, int, int]] = (), hidden: bool = False,
                grid: tuple[int, int] | None = None) -> FakeSheet:
        """A tab as a person would have made it. ``rows`` in TabData shape (row 1 = header),
        fills/notes keyed by 1-based (row, col), merges as (min_row, min_col, max_row, max_col).
        The first tab gets sheetId 0, like a new spreadsheet's first tab."""
        rows = [list(r) for r in rows]
        n_rows, n_cols = grid or (max(1000, len(rows)), max([26, *(len(r) for r in rows)]))
        sheet = FakeSheet(0 if not self.sheets else self._new_id(), title, len(self.sheets), n_rows, n_cols)
        if hidden:
            sheet.props["hidden"] = True
        for r, row in enumerate(rows):
            for c, value in enumerate(row):
                if value is not None:
                    sheet.cells[r, c] = cell_from_python(value)
        self.sheets.append(sheet)
        for (r, c), colour in (fills or {}).items():
            self.set_fill(title, r, c, colour)
        for (r, c), text in (notes or {}).items():
            self.set_note(title, r, c, text)
        for r1, c1, r2, c2 in merges:
            sheet.merges.append({"sheetId": sheet.sheet_id, "startRowIndex": r1 - 1, "endRowIndex": r2,
                                 "startColumnIndex": c1 - 1, "endColumnIndex": c2})
        return sheet

    def load(self, tabs: dict[str, list[list[Any]]]) -> None:
        for title, rows in tabs.items():
            self.add_tab(title, rows)

    # ---- reading back (what a person would see) -----------------------------------------

    def tab(self, title: str) -> TabData:
        sheet = self.sheet(title)
        values = {(r + 1, c + 1): v for (r, c), cell in sheet.cells.items()
                  if (v := python_from_cell(cell)) is not None}
        height = max((r for r, _ in values), default=0)
        width = max((c for _, c in values), default=0)
        return TabData(
            title=title,
            rows=[[values.get((r, c)) for c in range(1, width + 1)] for r in range(1, height + 1)],
            fills={(r + 1, c + 1): f for (r, c), cell in sheet.cells.items() if (f := fill_of(cell))},
            notes={(r + 1, c + 1): cell["note"] for (r, c), cell in sheet.cells.items() if cell.get("note")},
            merged=[(m["startRowIndex"] + 1, m["startColumnIndex"] + 1, m["endRowIndex"], m["endColumnIndex"])
                    for m in sheet.merges],
            hidden=bool(sheet.props.get("hidden")),
            sheet_id=sheet.sheet_id,
        )

    def snapshot(self) -> Snapshot:
        return Snapshot(tabs={s.title: self.tab(s.title) for s in self.sheets}, source=f"fake {self.props['title']}")

    def cell(self, title: str, row: int, col: int) -> dict[str, Any]:
        """The raw CellData at 1-based (row, col)."""
        return copy.deepcopy(self.sheet(title).cells.get((row - 1, col - 1), {}))

    # ---- a person's edits ---------------------------------------------------------------

    def _replace_cell(self, title: str, row: int, col: int, change: Callable[[dict[str, Any]], None]) -> None:
        sheet = self.sheet(title)
        cell = copy.deepcopy(sheet.cells.get((row - 1, col - 1), {}))
        change(cell)
        if cell:
            sheet.cells[row - 1, col - 1] = cell
        else:
            sheet.cells.pop((row - 1, col - 1), None)

    def set_value(self, title: str, row: int, col: int, value: Any) -> None:
        """A person types ``value`` (None: deletes the content) into a cell, keeping its format."""
        def change(cell: dict[str, Any]) -> None:
            typed = cell_from_python(value)
            for key in ("userEnteredValue", "effectiveValue"):
                cell.pop(key, None)
                if key in typed:
                    cell[key] = typed[key]
            if "userEnteredFormat" in typed:
                cell.setdefault("userEnteredFormat", {}).update(typed["userEnteredFormat"])
        self._replace_cell(title, row, col, change)

    def set_fill(self, title: str, row: int, col: int, colour: str | None) -> None:
        """A person picks a fill colour ('RRGGBB', 'theme:ACCENT1') or 'None' for no fill."""
        def change(cell: dict[str, Any]) -> None:
            fmt = cell.setdefault("userEnteredFormat", {})
            fmt.pop("backgroundColorStyle", None)
            if colour and colour.startswith("theme:"):
                fmt["backgroundColorStyle"] = {"themeColor": colour.removeprefix("theme:")}
            elif colour:
                fmt["backgroundColorStyle"] = {"rgbColor": rgb_of(colour)}
            if not fmt:
                del cell["userEnteredFormat"]
        self._replace_cell(title, row, col, change)

    def set_note(self, title: str, row: int, col: int, text: str | None) -> None:
        def change(cell: dict[str, Any]) -> None:
            cell.pop("note", None)
            if text:
                cell["note"] = text
        self._replace_cell(title, row, col, change)

    def sort_rows(self, title: str, col: int, *, reverse: bool = False, first_row: int = 2) -> None:
        """A person sorts the data rows by a column (Data -> Sort range): whole rows move,
        formats and notes with them; empty values go last."""
        sheet = self.sheet(title)
        top = first_row - 1
        rows: dict[int, dict[int, dict[str, Any]]] = {}
        for (r, c), cell in sheet.cells.items():
            if r >= top:
                rows.setdefault(r, {})[c] = cell

        def key(r: int) -> tuple[int, Any]:
            value = python_from_cell(rows[r].get(col - 1, {}))
            if value is None:
                return (3, "")
            return (0, value) if isinstance(value, (int, float)) else (1, str(value))

        with_value = sorted((r for r in rows if key(r)[0] != 3), key=key, reverse=reverse)
        without = sorted(set(rows) - set(with_value))
        for r, cells in rows.items():
            for c in cells:
                del sheet.cells[r, c]
        for new_r, old_r in enumerate(with_value + without, start=top):
            for c, cell in rows[old_r].items():
                sheet.cells[new_r, c] = cell

    def insert_rows(self, title: str, at: int, count: int = 1) -> None:
        """A person inserts ``count`` empty rows so that the new rows are rows at..at+count-1."""
        sheet = self.sheet(title)
        sheet.cells = {((r + count if r >= at - 1 else r), c): cell for (r, c), cell in sheet.cells.items()}
        sheet.props["gridProperties"]["rowCount"] += count
        for m in sheet.merges:
            if m["startRowIndex"] >= at - 1:
                m["startRowIndex"] += count
                m["endRowIndex"] += count

    def delete_rows(self, title: str, at: int, count: int = 1) -> None:
        """A person deletes rows at..at+count-1; the rows below move up."""
        sheet = self.sheet(title)
        gone = range(at - 1, at - 1 + count)
        sheet.cells = {((r - count if r >= at - 1 + count else r), c): cell
                       for (r, c), cell in sheet.cells.items() if r not in gone}
        sheet.props["gridProperties"]["rowCount"] -= count
        sheet.merges = [m for m in sheet.merges if m["startRowIndex"] not in gone]
        for m in sheet.merges:
            if m["startRowIndex"] >= at - 1 + count:
                m["startRowIndex"] -= count
                m["endRowIndex"] -= count

    # ---- A1 ranges ----------------------------------------------------------------------

    _CELLS = re.compile(r"^([A-Za-z]*)(\d*)(?::([A-Za-z]*)(\d*))?$")

    def parse_range(self, text: str) -> tuple[FakeSheet, tuple[int, int, int, int]]:
        """'Tab'!A2:C / Tab!B:B / Tab / A1:B2 -> (sheet, (r0, r1, c0, c1)) 0-based half-open,
        open ends running to the edge of the grid."""
        sheet_part, cells = None, text
        if text.startswith("'"):
            m = re.match(r"^'((?:[^']|'')*)'(?:!(.*))?$", text)
            if not m:
                raise ApiError(f"Unable to parse range: {text}")
            sheet_part, cells = m.group(1).replace("''", "'"), m.group(2) or ""
        elif "!" in text:
            sheet_part, cells = text.split("!", 1)
        elif any(s.title == text for s in self.sheets):
            sheet_part, cells = text, ""
        try:
            sheet = self.sheet(sheet_part) if sheet_part is not None else self.sheets[0]
        except (KeyError, IndexError):
            raise ApiError(f"Unable to parse range: {text}") from None
        if not cells:
            return sheet, (0, sheet.row_count, 0, sheet.column_count)
        m = self._CELLS.match(cells)
        if not m or not any(m.groups()):
            raise ApiError(f"Unable to parse range: {text}")
        col1, row1, col2, row2 = m.groups()
        single = m.group(3) is None and m.group(4) is None
        if single:
            col2, row2 = col1, row1
        r0 = int(row1) - 1 if row1 else 0
        r1 = int(row2) if row2 else sheet.row_count
        c0 = column_index(col1) - 1 if col1 else 0
        c1 = column_index(col2) if col2 else sheet.column_count
        return sheet, (r0, r1, c0, c1)

    def _bounds(self, grid_range: dict[str, Any]) -> tuple[FakeSheet, tuple[int, int, int, int]]:
        sheet = self.by_id(grid_range.get("sheetId", 0))
        bounds = (grid_range.get("startRowIndex", 0), grid_range.get("endRowIndex", sheet.row_count),
                  grid_range.get("startColumnIndex", 0), grid_range.get("endColumnIndex", sheet.column_count))
        self._check_grid(sheet, bounds)
        return sheet, bounds

    @staticmethod
    def _check_grid(sheet: FakeSheet, bounds: tuple[int, int, int, int]) -> None:
        r0, r1, c0, c1 = bounds
        if r0 < 0 or c0 < 0 or r1 < r0 or c1 < c0:
            raise ApiError(f"Invalid range {bounds} on sheet {sheet.title!r}")
        if r1 > sheet.row_count or c1 > sheet.column_count:
            raise ApiError(f"Range ('{sheet.title}'!R{r0 + 1}C{c0 + 1}:R{r1}C{c1}) exceeds grid limits. "
                           f"Max rows: {sheet.row_count}, max columns: {sheet.column_count}")

    # ---- rendering (spreadsheets.get) ---------------------------------------------------

    def render(self, *, include_grid: bool, ranges: list[str], mask: str | None) -> dict[str, Any]:
        """The spreadsheets.get response. Cell parts share the stored dicts: serialise it, do
        not change it."""
        tree = parse_mask(mask) if mask else None
        if tree is not None:
            include_grid = subtree(tree, "sheets", "data") is not False
        parsed = [self.parse_range(r) for r in ranges]
        selected: list[tuple[FakeSheet, list[tuple[int, int, int, int]]]] = []
        for sheet in self.sheets:
            wanted = [b for s, b in parsed if s is sheet]
            if not ranges or wanted:
                selected.append((sheet, wanted or [(0, sheet.row_count, 0, sheet.column_count)]))
        skeleton = {
            "spreadsheetId": self.spreadsheet_id,
            "properties": dict(self.props),
            "sheets": [self._render_sheet(sheet) for sheet, _ in selected],
            "spreadsheetUrl": f"https://docs.google.com/spreadsheets/d/{self.spreadsheet_id}/edit",
        }
        out = select(skeleton, tree)
        if include_grid:
            data_tree = subtree(tree, "sheets", "data")
            for rendered, (sheet, bounds) in zip(out.setdefault("sheets", []), selected, strict=True):
                rendered["data"] = [self._grid_data(sheet, b, data_tree) for b in bounds]
        return out

    @staticmethod
    def _render_props(sheet: FakeSheet) -> dict[str, Any]:
        props = copy.deepcopy(sheet.props)
        if "tabColorStyle" in props and "rgbColor" in props["tabColorStyle"]:
            props["tabColor"] = props["tabColorStyle"]["rgbColor"]
        grid = omit_defaults(props.pop("gridProperties"))
        props = omit_defaults({k: v for k, v in props.items() if k not in ("sheetId", "index")}) | {
            "sheetId": sheet.sheet_id, "index": props["index"]}
        return props | {"gridProperties": grid}

    def _render_sheet(self, sheet: FakeSheet) -> dict[str, Any]:
        out: dict[str, Any] = {"properties": self._render_props(sheet)}
        for key, items in (("merges", sheet.merges), ("protectedRanges", sheet.protected), ("charts", sheet.charts)):
            if items:
                out[key] = omit_defaults(copy.deepcopy(items))
        return out

    def _grid_data(self, sheet: FakeSheet, bounds: tuple[int, int, int, int], tree: Tree | None) -> dict[str, Any]:
        r0, r1, c0, c1 = bounds
        r1, c1 = min(r1, sheet.row_count), min(c1, sheet.column_count)
        rows: dict[int, dict[int, dict[str, Any]]] = {}
        for (r, c), cell in sheet.cells.items():
            if r0 <= r < r1 and c0 <= c < c1:
                rows.setdefault(r, {})[c] = cell
        cell_tree = subtree(tree, "rowData", "values")
        out: dict[str, Any] = {}
        if r0 and subtree(tree, "startRow") is not False:
            out["startRow"] = r0
        if c0 and subtree(tree, "startColumn") is not False:
            out["startColumn"] = c0
        if rows and subtree(tree, "rowData") is not False:
            row_data = []
            for r in range(r0, max(rows) + 1):
                cells = rows.get(r, {})
                if not cells or cell_tree is False:
                    row_data.append({})
                    continue
                values = [self._render_cell(cells.get(c), cell_tree) for c in range(c0, max(cells) + 1)]
                row_data.append({"values": values})
            out["rowData"] = row_data
        return out

    @staticmethod
    def _render_cell(cell: dict[str, Any] | None, tree: Tree | None) -> dict[str, Any]:
        if not cell:
            return {}
        out: dict[str, Any] = {}
        for key in CELL_FIELDS:
            sub = subtree(tree, key)
            if sub is False:
                continue
            fmt = cell.get("userEnteredFormat", {})
            if key == "formattedValue":
                value = formatted_value(cell["effectiveValue"], fmt) if "effectiveValue" in cell else _MISSING
            elif key == "userEnteredFormat":
                value = _with_legacy_colour(fmt) if fmt else _MISSING
            elif key == "effectiveFormat":
                value = _with_legacy_colour({"backgroundColorStyle": {"rgbColor": dict(WHITE)},
                                             "verticalAlignment": "BOTTOM", "wrapStrategy": "OVERFLOW_CELL", **fmt})
            else:
                value = cell.get(key, _MISSING)
            if value is not _MISSING:
                value = select(value, sub)  # shares stored dicts: the result is only serialised
                if value != {}:  # like Google, leave out what the mask emptied
                    out[key] = value
        return out

    # ---- batchUpdate --------------------------------------------------------------------

    def batch_update(self, requests: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Apply all requests, or none of them (the first failure rolls everything back)."""
        saved = [s.clone() for s in self.sheets]
        state = self._ids.getstate()
        try:
            return [self._apply(i, request) for i, request in enumerate(requests)]
        except BaseException:
            self.sheets = saved
            self._ids.setstate(state)
            raise

    def _apply(self, i: int, request: dict[str, Any]) -> dict[str, Any]:
        if len(request) != 1:
            raise ApiError(f"Invalid requests[{i}]: exactly one kind of request must be set, got {sorted(request)}")
        (kind, body), = request.items()
        handler = getattr(self, f"_req_{kind}", None)
        if handler is None:
            raise NotImplementedInFake(f"batchUpdate request {kind!r}")
        try:
            return handler(body) or {}
        except ApiError as exc:
            raise ApiError(f"Invalid requests[{i}].{kind}: {exc}") from None

    # cell writes ------------------------------------------------------------------------

    @staticmethod
    def _cell_paths(fields: str | None) -> list[tuple[str, ...]]:
        if not fields:
            raise ApiError("At least one field must be specified in 'fields'")
        out = []
        for path in paths(parse_mask(fields)):
            if path == ("*",):
                out += [(f,) for f in WRITABLE_CELL_FIELDS]
            elif path == ("userEnteredFormat", "backgroundColor"):
                out.append(("userEnteredFormat", "backgroundColorStyle"))
            else:
                out.append(path)
        return out

    def _write(self, sheet: FakeSheet, r: int, c: int, new: dict[str, Any], field_paths: list[tuple[str, ...]]) -> None:
        new = _canonical_colour(new)
        value = new.get("userEnteredValue")
        if value is not None and len(value) != 1:
            raise ApiError(f"userEnteredValue must hold exactly one kind of value, got {sorted(value)}")
        cell = copy.deepcopy(sheet.cells.get((r, c), {}))
        for path in field_paths:
            item = _get_path(new, path)
            if item is _MISSING:
                _del_path(cell, path)
            else:
                _set_path(cell, path, copy.deepcopy(item))
        if any(p[0] == "userEnteredValue" for p in field_paths):
            entered = cell.get("userEnteredValue")
            cell.pop("effectiveValue", None)
            if entered and "formulaValue" not in entered:
                cell["effectiveValue"] = dict(entered)
        if cell:
            sheet.cells[r, c] = cell
        else:
            sheet.cells.pop((r, c), None)

    def _req_updateCells(self, body: dict[str, Any]) -> None:
        field_paths = self._cell_paths(body.get("fields"))
        rows = body.get("rows", [])
        data = {(i, j): cell for i, row in enumerate(rows) for j, cell in enumerate(row.get("values", []))}
        if "start" in body:
            start = body["start"]
            sheet = self.by_id(start.get("sheetId", 0))
            r0, c0 = start.get("rowIndex", 0), start.get("columnIndex", 0)
            if data:
                self._check_grid(sheet, (r0, r0 + max(i for i, _ in data) + 1, c0, c0 + max(j for _, j in data) + 1))
            for (i, j), cell in data.items():
                self._write(sheet, r0 + i, c0 + j, cell, field_paths)
        elif "range" in body:
            sheet, (r0, r1, c0, c1) = self._bounds(body["range"])
            if any(r0 + i >= r1 or c0 + j >= c1 for i, j in data):
                raise ApiError("rows hold more data than the range has cells")
            targets = {(r0 + i, c0 + j) for i, j in data}
            targets |= {k for k in sheet.cells if r0 <= k[0] < r1 and c0 <= k[1] < c1}
            for r, c in targets:
                self._write(sheet, r, c, data.get((r - r0, c - c0), {}), field_paths)
        else:
            raise ApiError("either start or range must be set")

    def _req_repeatCell(self, body: dict[str, Any]) -> None:
        field_paths = self._cell_paths(body.get("fields"))
        sheet, (r0, r1, c0, c1) = self._bounds(body["range"])
        for r in range(r0, r1):
            for c in range(c0, c1):
                self._write(sheet, r, c, body.get("cell", {}), field_paths)

    def _req_appendCells(self, body: dict[str, Any]) -> None:
        field_paths = self._cell_paths(body.get("fields"))
        sheet = self.by_id(body.get("sheetId", 0))
        start = sheet.last_row_with_values() + 1
        rows = body.get("rows", [])
        grid = sheet.props["gridProperties"]
        grid["rowCount"] = max(grid["rowCount"], start + len(rows))
        widest = max((len(r.get("values", [])) for r in rows), default=0)
        grid["columnCount"] = max(grid["columnCount"], widest)
        for i, row in enumerate(rows):
            for j, cell in enumerate(row.get("values", [])):
                self._write(sheet, start + i, j, cell, field_paths)

    def _req_setDataValidation(self, body: dict[str, Any]) -> None:
        sheet, (r0, r1, c0, c1) = self._bounds(body["range"])
        rule = body.get("rule")
        if rule and rule["condition"]["type"] == "ONE_OF_LIST" and not rule["condition"].get("values"):
            raise ApiError("ONE_OF_LIST needs at least one value")
        for r in range(r0, r1):
            for c in range(c0, c1):
                self._write(sheet, r, c, {"dataValidation": rule} if rule else {}, [("dataValidation",)])

    # tabs -------------------------------------------------------------------------------

    def _check_title(self, title: str, sheet: FakeSheet | None = None) -> None:
        if any(s.title.lower() == title.lower() and s is not sheet for s in self.sheets):
            raise ApiError(f'A sheet with the name "{title}" already exists. Please enter another name.')

    @staticmethod
    def _check_frozen(props: dict[str, Any]) -> None:
        grid = props["gridProperties"]
        if grid.get("frozenRowCount", 0) >= grid["rowCount"]:
            raise ApiError("You can't freeze all visible rows on the sheet.")

    def _req_addSheet(self, body: dict[str, Any]) -> dict[str, Any]:
        props = copy.deepcopy(body.get("properties", {}))
        sheet_id = props.pop("sheetId", None)
        if sheet_id is None:
            sheet_id = self._new_id()
        if any(s.sheet_id == sheet_id for s in self.sheets):
            raise ApiError(f"A sheet with the id {sheet_id} already exists.")
        title = props.pop("title", f"工作表{len(self.sheets) + 1}")
        self._check_title(title)
        grid = props.pop("gridProperties", {})
        sheet = FakeSheet(sheet_id, title, len(self.sheets), grid.pop("rowCount", 1000), grid.pop("columnCount", 26))
        sheet.props["gridProperties"].update(grid)
        if "tabColor" in props:
            props["tabColorStyle"] = {"rgbColor": props.pop("tabColor")}
        sheet.props.update(props)
        self._check_frozen(sheet.props)
        self.sheets.insert(min(sheet.props["index"], len(self.sheets)), sheet)
        for i, s in enumerate(self.sheets):
            s.props["index"] = i
        return {"addSheet": {"properties": self._render_props(sheet)}}

    def _req_deleteSheet(self, body: dict[str, Any]) -> None:
        self.sheets.remove(self.by_id(body.get("sheetId", 0)))

    def _req_updateSheetProperties(self, body: dict[str, Any]) -> None:
        new = copy.deepcopy(body["properties"])
        sheet = self.by_id(new.get("sheetId", 0))
        fields = body.get("fields")
        if not fields:
            raise ApiError("At least one field must be specified in 'fields'")
        for path in paths(parse_mask(fields)):
            if path[0] == "sheetId":
                raise ApiError("sheetId cannot be changed")
            item = _get_path(new, path)
            if item is _MISSING:
                _del_path(sheet.props, path)
            else:
                _set_path(sheet.props, path, item)
        self._check_title(sheet.title, sheet)
        self._check_frozen(sheet.props)
        sheet.cells = {(r, c): cell for (r, c), cell in sheet.cells.items()
                       if r < sheet.row_count and c < sheet.column_count}

    def _req_updateDimensionProperties(self, body: dict[str, Any]) -> None:
        rng = body["range"]
        sheet = self.by_id(rng.get("sheetId", 0))
        limit = sheet.column_count if rng["dimension"] == "COLUMNS" else sheet.row_count
        start, end = rng.get("startIndex", 0), rng.get("endIndex", limit)
        if end > limit:
            raise ApiError(f"Range exceeds grid limits: {rng['dimension']} {start}..{end} of {limit}")
        for i in range(start, end):
            target = sheet.dimensions.setdefault((rng["dimension"], i), {})
            for path in paths(parse_mask(body["fields"])):
                item = _get_path(body["properties"], path)
                if item is _MISSING:
                    _del_path(target, path)
                else:
                    _set_path(target, path, item)

    def _req_addProtectedRange(self, body: dict[str, Any]) -> dict[str, Any]:
        protected = copy.deepcopy(body["protectedRange"])
        sheet, _ = self._bounds(protected["range"])
        protected["protectedRangeId"] = self._new_id()
        sheet.protected.append(protected)
        return {"addProtectedRange": {"protectedRange": protected}}

    # charts -----------------------------------------------------------------------------

    def _req_addChart(self, body: dict[str, Any]) -> dict[str, Any]:
        chart = copy.deepcopy(body["chart"])
        position = chart.get("position", {})
        if "overlayPosition" not in position:
            raise NotImplementedInFake("charts positioned other than overlayPosition")
        anchor = position["overlayPosition"]["anchorCell"]
        sheet = self.by_id(anchor.get("sheetId", 0))
        self._check_grid(sheet, (anchor.get("rowIndex", 0), anchor.get("rowIndex", 0) + 1,
                                 anchor.get("columnIndex", 0), anchor.get("columnIndex", 0) + 1))
        basic = chart["spec"].get("basicChart", {})
        for part in [*basic.get("domains", []), *basic.get("series", [])]:
            for source in (part.get("domain") or part.get("series"))["sourceRange"]["sources"]:
                self._bounds(source)
        chart.setdefault("chartId", self._new_id())
        sheet.charts.append(chart)
        return {"addChart": {"chart": chart}}

    def _req_deleteEmbeddedObject(self, body: dict[str, Any]) -> None:
        for sheet in self.sheets:
            for chart in sheet.charts:
                if chart["chartId"] == body["objectId"]:
                    sheet.charts.remove(chart)
                    return
        raise ApiError(f"No object with id: {body['objectId']}")

    # ---- values.* -----------------------------------------------------------------------

    def values_get(self, text: str, *, render: str = "FORMATTED_VALUE", major: str = "ROWS") -> dict[str, Any]:
        sheet, (r0, r1, c0, c1) = self.parse_range(text)
        grid: dict[int, dict[int, Any]] = {}
        for (r, c), cell in sheet.cells.items():
            if r0 <= r < r1 and c0 <= c < c1 and "effectiveValue" in cell:
                grid.setdefault(r, {})[c] = self._rendered_value(cell, render)
        out: dict[str, Any] = {"range": text, "majorDimension": major}
        if grid:
            rows = []
            for r in range(r0, max(grid) + 1):
                row = grid.get(r, {})
                rows.append([row.get(c, "") for c in range(c0, max(row, default=c0 - 1) + 1)])
            if major == "COLUMNS":
                width = max(len(r) for r in rows)
                rows = [[r[i] if i < len(r) else "" for r in rows] for i in range(width)]
            out["values"] = rows
        return out

    @staticmethod
    def _rendered_value(cell: dict[str, Any], render: str) -> Any:
        if render == "FORMULA" and "formulaValue" in cell.get("userEnteredValue", {}):
            return cell["userEnteredValue"]["formulaValue"]
        if render == "FORMATTED_VALUE":
            return formatted_value(cell["effectiveValue"], cell.get("userEnteredFormat", {}))
        ev = cell["effectiveValue"]
        if "numberValue" in ev:
            number = ev["numberValue"]
            return int(number) if float(number).is_integer() else number
        return next(iter(ev.values()))

    @staticmethod
    def _entered(value: Any, option: str) -> dict[str, Any]:
        """A value from values.update as Google stores it (RAW: literally; USER_ENTERED: as if
        typed, so '=…' becomes a formula and '12' a number)."""
        if option == "USER_ENTERED" and isinstance(value, str):
            if value.startswith("="):
                return {"userEnteredValue": {"formulaValue": value}}
            if re.fullmatch(r"-?\d+(\.\d+)?", value.strip()):
                value = float(value) if "." in value else int(value)
            elif value.upper() in ("TRUE", "FALSE"):
                value = value.upper() == "TRUE"
        if value == "":
            return {}
        return {"userEnteredValue": extended_value(value)}

    def values_update(self, text: str, values: list[list[Any]], option: str) -> dict[str, Any]:
        sheet, (r0, _, c0, _) = self.parse_range(text)
        grid = sheet.props["gridProperties"]
        grid["rowCount"] = max(grid["rowCount"], r0 + len(values))
        grid["columnCount"] = max(grid["columnCount"], c0 + max((len(r) for r in values), default=0))
        cells = 0
        for i, row in enumerate(values):
            for j, value in enumerate(row):
                if value is None:
                    continue
                self._write(sheet, r0 + i, c0 + j, self._entered(value, option), [("userEnteredValue",)])
                cells += 1
        width = max((len(r) for r in values), default=0)
        return {"spreadsheetId": self.spreadsheet_id, "updatedRange": text, "updatedRows": len(values),
                "updatedColumns": width, "updatedCells": cells}

    def values_append(self, text: str, values: list[list[Any]], option: str) -> dict[str, Any]:
        sheet, (_, _, c0, _) = self.parse_range(text)
        start = sheet.last_row_with_values() + 1
        target = f"'{sheet.title}'!R{start + 1}C{c0 + 1}"
        sheet_range = f"'{sheet.title}'!{column_letter(c0 + 1)}{start + 1}"
        updates = self.values_update(sheet_range, values, option)
        updates["updatedRange"] = target
        return {"spreadsheetId": self.spreadsheet_id, "tableRange": text, "updates": updates}


def _canonical_colour(cell: dict[str, Any]) -> dict[str, Any]:
    """Google treats backgroundColor as an alias of backgroundColorStyle.rgbColor; keep only the
    style form in storage."""
    fmt = cell.get("userEnteredFormat")
    if not fmt or "backgroundColor" not in fmt:
        return cell
    cell = copy.deepcopy(cell)
    legacy = cell["userEnteredFormat"].pop("backgroundColor")
    cell["userEnteredFormat"].setdefault("backgroundColorStyle", {"rgbColor": legacy})
    return cell


def _with_legacy_colour(fmt: dict[str, Any]) -> dict[str, Any]:
    """Responses carry the deprecated backgroundColor next to backgroundColorStyle."""
    rgb = fmt.get("backgroundColorStyle", {}).get("rgbColor")
    return fmt if rgb is None else {**fmt, "backgroundColor": rgb}
