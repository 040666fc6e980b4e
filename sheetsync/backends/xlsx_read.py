"""Read an .xlsx package into a Snapshot without building a workbook object.

Values come from python-calamine (a formula cell reads as the value Excel last computed and
cached in the file; dates by the workbook's own date system, 1900 or 1904). Fills, notes and
merged ranges come from a light look at the package XML: the fills of the cell styles
(``styles.xml``), the cells whose style has one (found by searching the sheet XML for those
style numbers only), the comments parts and the merged ranges after the cell data. No cell
object is created for any cell; a big tab costs little more than calamine's own read.

Values are given in the terms the rest of sheetsync knows: a whole number is an int, a date
is a datetime, an empty text is no value, an error (``#DIV/0!``, ``#N/A``) is a CellError.
Each tab is handed over by columns (``TabData.from_columns``: one numpy object array per column,
repeated texts and date-times interned), built a chunk of rows at a time, so a sheet's rows
never exist as lists all at once (``tab_columns``).
"""

from __future__ import annotations

import io
import itertools
import re
import zipfile
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, time
from typing import Any, Mapping
from xml.etree import ElementTree as ET

import numpy as np
from python_calamine import CalamineWorkbook

from ..core.model import CellError, TabData, object_array
from . import xlsx_package as pkg

# A cell whose value is an error, as any writer stores it: t="e" among the start tag's
# attributes (any order, any prefix), the error text in <v>.
_ERROR_CELL = re.compile(rb'<(?:\w+:)?c\b(?P<attrs>[^>/]*?\bt="e"[^>/]*)>(?P<body>.*?)</(?:\w+:)?c>', re.S)
_CELL_REF = re.compile(rb'\br="([A-Z]{1,3})([0-9]{1,7})"')
_CACHED = re.compile(rb"<(?:\w+:)?v>([^<]*)</(?:\w+:)?v>")
_CELL_TAG = re.compile(rb"<(?:\w+:)?c[\s/>]")


class PackageError(Exception):
    """The package could not be read (damaged XML, a missing part)."""


def read_tabs(data: bytes, reuse: Mapping[str, TabData] | None = None,
              same_values: Mapping[str, TabData] | None = None, *, calamine: Any = None,
              parsed: Mapping[str, Any] | None = None, marks: Mapping[str, Marks] | None = None
              ) -> dict[str, TabData]:
    """Every worksheet of the package in ``data``, in workbook order. A tab in ``reuse`` (by
    title: one the caller knows did not change) is taken from there, not parsed; one in
    ``same_values`` (whose values the caller knows are those given) has only its fills, notes
    and state read again. ``calamine``: the package opened by python-calamine already, with
    ``parsed`` (title -> its sheet) the tabs it parsed already; ``marks``: what ``read_marks``
    found in these very bytes for some tabs."""
    reuse = reuse or {}
    same_values = same_values or {}
    parsed = parsed or {}
    marks = marks or {}
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        workbook = pkg.workbook_member(zf)
        tabs = [s for s in pkg.sheets(zf, workbook) if s.kind == pkg.WORKSHEET]
        styles = pkg.styles_member(zf, workbook)
        fills_by_style = pkg.style_fills(zf.read(styles) if styles and styles in zf.namelist() else None)
        if calamine is None:
            calamine = CalamineWorkbook.from_filelike(io.BytesIO(data))
    except (zipfile.BadZipFile, KeyError, ET.ParseError, ValueError, EOFError) as exc:
        raise PackageError(str(exc)) from exc
    except Exception as exc:  # calamine's own errors
        raise PackageError(str(exc)) from exc
    names = set(zf.namelist())
    out: dict[str, TabData] = {}
    with zf:
        for sheet in tabs:
            if sheet.member not in names:
                continue
            if sheet.title in reuse:
                out[sheet.title] = reuse[sheet.title]
                continue
            if sheet.title in same_values:
                fills = styled_fills(zf.read(sheet.member), fills_by_style)
                out[sheet.title] = replace(same_values[sheet.title], fills=fills, notes=_notes(zf, sheet),
                                           hidden=sheet.state != "visible")
                continue
            try:
                out[sheet.title] = _tab(zf, parsed[sheet.title] if sheet.title in parsed else
                                        calamine.get_sheet_by_name(sheet.title), sheet, fills_by_style,
                                        marks.get(sheet.title))
            except (KeyError, ET.ParseError, ValueError) as exc:
                raise PackageError(f"{sheet.member}: {exc}") from exc
            except Exception as exc:  # calamine on a damaged sheet
                raise PackageError(f"{sheet.member}: {exc}") from exc
    return out


@dataclass(frozen=True)
class Marks:
    """What a sheet part says beside its values: its error cells, the fills of its cells, its
    notes and its merged ranges."""

    errors: dict[tuple[int, int], CellError]
    fills: dict[tuple[int, int], str]
    notes: dict[tuple[int, int], str]
    merged: Any


def sheet_marks(zf: zipfile.ZipFile, sheet: pkg.Sheet, fills_by_style: list[str | None]) -> Marks:
    xml = zf.read(sheet.member)
    return Marks(_errors(xml) if b't="e"' in xml else {}, styled_fills(xml, fills_by_style), _notes(zf, sheet),
                 pkg.merged_ranges(xml))


def read_marks(data: bytes, titles: Collection[str]) -> dict[str, Marks]:
    """``Marks`` of the worksheets ``titles`` of the package in ``data``, found while calamine
    parses their values on another thread (``read_tabs`` then takes them). Never raises: a part
    it cannot read is left to ``read_tabs``, which says what is wrong."""
    out: dict[str, Marks] = {}
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            workbook = pkg.workbook_member(zf)
            styles = pkg.styles_member(zf, workbook)
            fills_by_style = pkg.style_fills(zf.read(styles) if styles and styles in zf.namelist() else None)
            for sheet in pkg.sheets(zf, workbook):
                if sheet.kind == pkg.WORKSHEET and sheet.title in titles:
                    out[sheet.title] = sheet_marks(zf, sheet, fills_by_style)
    except Exception:  # noqa: BLE001 - read_tabs meets it again and says what it is
        return out
    return out


def _tab(zf: zipfile.ZipFile, values: Any, sheet: pkg.Sheet, fills_by_style: list[str | None],
         marks: Marks | None = None) -> TabData:
    """One tab, its values from ``values`` (its calamine sheet); ``marks``: found already."""
    marks = marks or sheet_marks(zf, sheet, fills_by_style)
    columns, n_rows = sheet_columns(values, marks.errors)
    return TabData.from_columns(sheet.title, columns, n_rows, fills=marks.fills, notes=marks.notes,
                                merged=marks.merged, hidden=sheet.state != "visible",
                                cell_errors=bool(marks.errors))


def _notes(zf: zipfile.ZipFile, sheet: pkg.Sheet) -> dict[tuple[int, int], str]:
    notes: dict[tuple[int, int], str] = {}
    for rel in pkg.read_rels(zf, sheet.member):
        if rel.type == pkg.COMMENTS and not rel.external and rel.target in zf.namelist():
            for cell, _author, text in pkg.comment_texts(zf.read(rel.target)):
                if text:
                    notes[cell] = text
    return notes


def sheet_columns(sheet: Any, errors: dict[tuple[int, int], CellError] | None = None) -> tuple[list[np.ndarray], int]:
    """A calamine sheet's cells as one object array per column from A1 (see ``tab_columns``),
    with the error cells put in."""
    rows = sheet.iter_rows()
    end_row, end_col = sheet.end or (-1, -1)
    first = next(rows, None)
    if first is None:
        return tab_columns((), errors)
    # calamine starts its rows at row 1 but its columns at the first used one
    skip = max(end_col + 1 - len(first), 0)
    return tab_columns(itertools.chain((first,), rows), errors, skip=skip)


# Past this many distinct texts and date-times, a column that is mostly distinct (names, order
# numbers, times to the minute) stops being interned: the look-ups would cost more than they save.
_INTERN_CHECK = 4096
_CHUNK = 4096  # rows transposed at once
_NONE = np.array(None, dtype=object)


def tab_columns(rows: Iterable[Sequence[Any]], errors: Mapping[tuple[int, int], CellError] | None = None, *,
                skip: int = 0) -> tuple[list[np.ndarray], int]:
    """Cells as calamine reads them, row by row from sheet row 1, into one numpy object array per
    column (index 0 = row 1) and the number of rows, in sheetsync's terms: '' is empty, whole
    floats are ints, dates are datetimes (as openpyxl reads date-formatted cells). The rows are
    transposed a chunk at a time, so a whole sheet never exists as a list per row. Repeated texts
    and date-times are interned per column (shared strings and date cells come back from the
    reader as separate equal objects: a column of a few choices, or of the days of a year, then
    holds a handful of objects, not one per cell). calamine's date-times are naive, with no
    ``fold``: equal ones are the same value (aware ones in two zones would not be).
    No trailing empty rows or columns; ``skip`` empty columns come before the first given one;
    ``errors`` ((row, col) -> CellError) are put in their cells."""
    columns: list[list[Any]] = []
    interned: list[dict[Any, Any] | None] = []
    n = 0
    it = iter(rows)
    while True:
        chunk = list(itertools.islice(it, _CHUNK))
        if not chunk:
            break
        width = max(map(len, chunk))
        while len(columns) < width:
            columns.append([None] * n)
            interned.append({})
        transposed = zip(*chunk, strict=True) if all(len(r) == width for r in chunk) else \
            itertools.zip_longest(*chunk)
        for c, cells in enumerate(transposed):
            out = columns[c]
            seen = interned[c]
            _convert(cells, out, seen)
            if seen is not None and len(seen) > _INTERN_CHECK and 2 * len(seen) > len(out):
                interned[c] = None
        n += len(chunk)
        for c in range(width, len(columns)):
            columns[c].extend([None] * len(chunk))
    if skip:
        columns = [[None] * n for _ in range(skip)] + columns
    for (r, c), error in (errors or {}).items():
        while len(columns) < c:
            columns.append([None] * n)
        if r > n:
            for col in columns:
                col.extend([None] * (r - n))
            n = r
        columns[c - 1][r - 1] = error
    return _trimmed([object_array(col) for col in columns], n)


def _convert(cells: Sequence[Any], out: list[Any], seen: dict[Any, Any] | None) -> None:
    """``cells`` (a chunk of one column) appended to ``out`` in sheetsync's terms. A chunk of
    texts only, or of texts and values that stay as they are (date-times, whole numbers), goes
    through C loops (``map``, a list comprehension); others cell by cell. Texts and date-times
    are interned in ``seen`` (the reader makes a new object for every cell; equal date-times
    never equal a text, so one table holds both)."""
    kinds = set(map(type, cells))
    if float not in kinds and date not in kinds:
        if seen is not None and (str in kinds or datetime in kinds):  # '' is no value: kept in ``seen`` as None
            if "" not in seen:
                seen[""] = None
            if len(kinds) == 1:
                out.extend(map(seen.setdefault, cells, cells))
            else:
                keep = seen.setdefault
                out.extend([keep(v, v) if v.__class__ is str or v.__class__ is datetime else v for v in cells])
        elif str in kinds:
            out.extend([(v or None) if v.__class__ is str else v for v in cells])
        else:
            out.extend(cells)
        return
    _convert_each(cells, out, seen)


def _convert_each(cells: Iterable[Any], out: list[Any], seen: dict[Any, Any] | None) -> None:
    append = out.append
    for v in cells:
        kind = v.__class__
        if kind is str:
            if not v:
                v = None
            elif seen is not None:
                v = seen.setdefault(v, v)
        elif kind is float:
            if v.is_integer():
                v = int(v)
        elif kind is datetime or kind is date:
            if kind is date:
                v = datetime.combine(v, time())
            if seen is not None:
                v = seen.setdefault(v, v)
        append(v)


def _trimmed(columns: list[np.ndarray], n: int) -> tuple[list[np.ndarray], int]:
    """No trailing empty rows or columns."""
    last = [int(filled[-1]) + 1 if len(filled) else 0
            for filled in (np.flatnonzero(np.not_equal(col, _NONE)) for col in columns)]
    height = max(last, default=0)
    width = max((c + 1 for c, end in enumerate(last) if end), default=0)
    return [col[:height] if height < n else col for col in columns[:width]], height


def _errors(xml: bytes) -> dict[tuple[int, int], CellError]:
    from xml.sax.saxutils import unescape

    errors: dict[tuple[int, int], CellError] = {}
    for match in _ERROR_CELL.finditer(xml):
        ref = _CELL_REF.search(match["attrs"])
        cached = _CACHED.search(match["body"])
        if ref is None or cached is None:
            continue
        errors[(int(ref[2]), pkg.column_number(ref[1]))] = CellError(unescape(cached[1].decode("utf-8", "replace")))
    return errors


def styled_fills(xml: bytes, fills_by_style: list[str | None]) -> dict[tuple[int, int], str]:
    """(row, col) -> fill key of every cell whose style has a fill. Only the style numbers that
    have a fill are searched for (one pass of one pattern over the part), so a sheet without
    filled cells costs nothing and a big one little."""
    filled = {i: key for i, key in enumerate(fills_by_style) if key is not None}
    if not filled:
        return {}
    data = max(xml.find(b"sheetData"), 0)
    if any(xml.find(ch, data) >= 0 for ch in (b"\n", b"\t", b"\r")):
        xml = xml.translate(_SPACES)  # attributes one per line: each the same length, a space
    by_number = {b"%d" % style: key for style, key in filled.items()}
    pattern = re.compile(rb' s="(%s)"' % b"|".join(by_number)) if len(by_number) <= _ALTERNATIVES else _ANY_STYLE
    out: dict[tuple[int, int], str] = {}
    for found in pattern.finditer(xml):
        key = by_number.get(found[1])
        if key is None:
            continue
        pos = found.start()
        tag = xml[xml.rfind(b"<", 0, pos):xml.find(b">", pos) + 1]
        if not _CELL_TAG.match(tag):
            continue  # a row's style, or text: cells present in the file carry their own
        ref = _CELL_REF.search(tag)
        if ref is None:  # a writer that leaves out cell references
            return _fills_by_position(xml, filled)
        out[(int(ref[2]), pkg.column_number(ref[1]))] = key
    return out


_SPACES = bytes.maketrans(b"\t\r\n", b"   ")
_ALTERNATIVES = 16  # filled styles searched for by name; past that, every style number is looked up
_ANY_STYLE = re.compile(rb' s="([0-9]+)"')


def _fills_by_position(xml: bytes, filled: dict[int, str]) -> dict[tuple[int, int], str]:
    """The slow way, for sheets whose rows or cells carry no reference: walk the XML."""
    out: dict[tuple[int, int], str] = {}
    row_no = 0
    col_no = 0
    for _event, element in ET.iterparse(io.BytesIO(xml), events=("start",)):
        name = pkg.local(element.tag)
        if name == "row":
            row_no = int(element.get("r") or row_no + 1)
            col_no = 0
        elif name == "c":
            cell = pkg.parse_ref(element.get("r") or "")
            row, col_no = cell if cell else (row_no, col_no + 1)
            try:
                style = int(element.get("s") or 0)
            except ValueError:
                style = 0
            if style in filled:
                out[(row, col_no)] = filled[style]
    return out
