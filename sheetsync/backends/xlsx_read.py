"""Read an .xlsx package into a Snapshot without building a workbook object.

Values come from python-calamine (a formula cell reads as the value Excel last computed and
cached in the file; dates by the workbook's own date system, 1900 or 1904). Fills, notes and
merged ranges come from a light look at the package XML: the fills of the cell styles
(``styles.xml``), the cells whose style has one (found by searching the sheet XML for those
style numbers only), the comments parts and the merged ranges after the cell data. No cell
object is created for any cell; a big tab costs little more than calamine's own read.

Values are given in the terms the rest of sheetsync knows: a whole number is an int, a date
is a datetime, an empty text is no value, an error (``#DIV/0!``, ``#N/A``) is a CellError.
"""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import replace
from datetime import date, datetime, time
from typing import Any, Mapping
from xml.etree import ElementTree as ET

from python_calamine import CalamineWorkbook

from ..core.model import CellError, TabData
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
              same_values: Mapping[str, TabData] | None = None) -> dict[str, TabData]:
    """Every worksheet of the package in ``data``, in workbook order. A tab in ``reuse`` (by
    title: one the caller knows did not change) is taken from there, not parsed; one in
    ``same_values`` (whose values the caller knows are those given) has only its fills, notes
    and state read again."""
    reuse = reuse or {}
    same_values = same_values or {}
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        workbook = pkg.workbook_member(zf)
        tabs = [s for s in pkg.sheets(zf, workbook) if s.kind == pkg.WORKSHEET]
        styles = pkg.styles_member(zf, workbook)
        fills_by_style = pkg.style_fills(zf.read(styles) if styles and styles in zf.namelist() else None)
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
                out[sheet.title] = _tab(zf, calamine, sheet, fills_by_style)
            except (KeyError, ET.ParseError, ValueError) as exc:
                raise PackageError(f"{sheet.member}: {exc}") from exc
            except Exception as exc:  # calamine on a damaged sheet
                raise PackageError(f"{sheet.member}: {exc}") from exc
    return out


def _tab(zf: zipfile.ZipFile, calamine: CalamineWorkbook, sheet: pkg.Sheet,
         fills_by_style: list[str | None]) -> TabData:
    xml = zf.read(sheet.member)
    rows = _values(calamine.get_sheet_by_name(sheet.title).to_python(skip_empty_area=False))
    if b't="e"' in xml:
        for (r, c), error in _errors(xml).items():
            _put(rows, r, c, error)
    rows = _trimmed(rows)
    fills = styled_fills(xml, fills_by_style)
    return TabData(sheet.title, rows, fills, _notes(zf, sheet), pkg.merged_ranges(xml), hidden=sheet.state != "visible")


def _notes(zf: zipfile.ZipFile, sheet: pkg.Sheet) -> dict[tuple[int, int], str]:
    notes: dict[tuple[int, int], str] = {}
    for rel in pkg.read_rels(zf, sheet.member):
        if rel.type == pkg.COMMENTS and not rel.external and rel.target in zf.namelist():
            for cell, _author, text in pkg.comment_texts(zf.read(rel.target)):
                if text:
                    notes[cell] = text
    return notes


def _values(grid: list[list[Any]]) -> list[list[Any]]:
    """Calamine's cells in sheetsync's terms, in place: '' is empty, whole floats are ints,
    dates are datetimes (as openpyxl reads date-formatted cells)."""
    for row in grid:
        for i, v in enumerate(row):
            kind = v.__class__
            if kind is str:
                if not v:
                    row[i] = None
            elif kind is float:
                if v.is_integer():
                    row[i] = int(v)
            elif kind is date:
                row[i] = datetime.combine(v, time())
    return grid


def _put(rows: list[list[Any]], r: int, c: int, value: Any) -> None:
    while len(rows) < r:
        rows.append([])
    row = rows[r - 1]
    if len(row) < c:
        row.extend([None] * (c - len(row)))
    row[c - 1] = value


def _trimmed(rows: list[list[Any]]) -> list[list[Any]]:
    """No trailing empty rows; every row as wide as the widest value (rows rectangular)."""
    while rows and not any(v is not None for v in rows[-1]):
        rows.pop()
    width = 0
    for row in rows:
        n = len(row)
        if n > width:
            while n > width and row[n - 1] is None:
                n -= 1
            width = max(width, n)
    for i, row in enumerate(rows):
        if len(row) > width:
            rows[i] = row[:width]
        elif len(row) < width:
            row.extend([None] * (width - len(row)))
    return rows


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
    have a fill are searched for, so a sheet without filled cells costs nothing."""
    filled = {i: key for i, key in enumerate(fills_by_style) if key is not None}
    if not filled:
        return {}
    out: dict[tuple[int, int], str] = {}
    spaces = [b" ", *(ch for ch in (b"\n", b"\t", b"\r") if ch + b's="' in xml)]  # attributes one per line...
    for style, key in filled.items():
        for space in spaces:
            if _find_styled(xml, space + b's="%d"' % style, key, out) is None:
                return _fills_by_position(xml, filled)
    return out


def _find_styled(xml: bytes, needle: bytes, key: str, out: dict[tuple[int, int], str]) -> bool | None:
    """Put every cell carrying attribute ``needle`` into ``out``; None when a cell has no
    reference (the caller then counts cells instead). A literal search is far faster than a
    pattern over the whole part."""
    pos = xml.find(needle)
    while pos >= 0:
        start = xml.rfind(b"<", 0, pos)
        tag_end = xml.find(b">", pos)
        tag = xml[start:tag_end + 1]
        pos = xml.find(needle, pos + len(needle))
        if not _CELL_TAG.match(tag):
            continue  # a row's or column's style: cells present in the file carry their own
        ref = _CELL_REF.search(tag)
        if ref is None:  # a writer that leaves out cell references
            return None
        out[(int(ref[2]), pkg.column_number(ref[1]))] = key
    return True


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
