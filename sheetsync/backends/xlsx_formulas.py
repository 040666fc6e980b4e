"""Formula cells keep the value Excel computed for them when sheetsync saves a workbook.

sheetsync reads a formula cell by the value Excel/WPS/LibreOffice last computed and cached in
the file (``<v>`` next to ``<f>``). openpyxl keeps the formula text on save but writes the cell
without that value, so after one save every formula cell would read as empty (and be flagged
as a missing value) until a person opened and saved the file again. sheetsync never writes into
a formula cell, so the values read before the save are still the right ones: they are written
back into the saved package here, and the workbook asks to be recomputed when it is opened.

A formula whose result is an error (``#DIV/0!``, ``#N/A``...) is stored by Excel as
``<c r="B2" t="e"><f>1/0</f><v>#DIV/0!</v></c>``. calamine reads such a cell as empty, so the
error is read from the sheet XML (only when a tab has formula cells calamine left empty) and
kept as a :class:`~sheetsync.core.model.CellError`, which is written back on save the same way.
"""

from __future__ import annotations

import io
import logging
import re
import zipfile
from datetime import date, datetime, time, timedelta
from typing import Any
from xml.sax.saxutils import escape, unescape

from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.utils import get_column_letter
from openpyxl.utils.datetime import to_excel
from python_calamine import CalamineError, CalamineWorkbook

from ..core.model import CellError
from .xlsx_parts import worksheet_members

log = logging.getLogger(__name__)

# tab title -> (row, col) -> the cached value as calamine reads it (float, str, bool, date...).
# A tab with formulas is always present, with no cells when none of its formulas has a value.
FormulaValues = dict[str, dict[tuple[int, int], Any]]

# A formula cell exactly as openpyxl writes it: ``<c r="C2" s="3"><f>4+6</f><v /></c>``; array
# and data-table formulas carry attributes on <f>, and lxml (when openpyxl uses it) writes
# ``<v/>``. openpyxl expands shared formulas on load, so each cell has its own <f>. A regex over
# this known output is used instead of an XML parser: parsing and writing the sheet again with
# xml.etree would build a tree of every cell (slow and memory-hungry on a big sheet) and rename
# namespace prefixes (ns0:...), which breaks any mc:Ignorable list naming them; lxml is not a
# dependency. This way only the formula cells change and every other byte stays as openpyxl
# wrote it. Formula text and attribute values are escaped by openpyxl, so they hold no '<' or
# '"'. A cell that already has a type (``t=``) is not an empty formula cell and is left alone.
_EMPTY_FORMULA_CELL = re.compile(
    rb'<c r="(?P<ref>[A-Z]{1,3}[0-9]{1,7})"(?P<attrs>(?: (?!t=)[\w:]+="[^"]*")*)>'
    rb'(?P<f><f(?: [\w:]+="[^"]*")*(?: ?/>|>[^<]*</f>))<v ?/></c>'
)
# A cell whose cached value is an error, as any writer stores it: ``t="e"`` among the start tag's
# attributes (in any order, with or without a namespace prefix), the error text in <v>.
_ERROR_CELL = re.compile(rb'<(?:\w+:)?c\b(?P<attrs>[^>/]*?\bt="e"[^>/]*)>(?P<body>.*?)</(?:\w+:)?c>', re.S)
_CELL_REF = re.compile(rb'\br="([A-Z]{1,3})([0-9]{1,7})"')
_CACHED = re.compile(rb"<(?:\w+:)?v>([^<]*)</(?:\w+:)?v>")


def read_cached_values(data: bytes, formulas: dict[str, list[tuple[int, int]]]) -> FormulaValues:
    """The cached values of the formula cells ``formulas`` lists (by tab), read with calamine
    from the workbook's bytes, only for the tabs that have formulas. A formula never computed
    (typed by a program, never opened in Excel since) has no value. An error such as #DIV/0!,
    which calamine reads as empty, is read from the sheet XML as a CellError."""
    try:
        calamine = CalamineWorkbook.from_filelike(io.BytesIO(data))
        grids = {title: calamine.get_sheet_by_name(title).to_python(skip_empty_area=False) for title in formulas}
    except CalamineError as exc:
        log.warning("cannot read cached formula values (%s); formula cells read as empty", exc)
        grids = {}
    values: FormulaValues = {}
    unread: dict[str, set[tuple[int, int]]] = {}
    for title, cells in formulas.items():
        grid = grids.get(title, [])
        values[title] = tab_values = {}
        for r, c in cells:
            cached = grid[r - 1][c - 1] if r <= len(grid) and c <= len(grid[r - 1]) else ""
            if cached != "":
                tab_values[(r, c)] = cached
            else:
                unread.setdefault(title, set()).add((r, c))
    if unread:
        for title, errors in _cached_errors(data, unread).items():
            values[title].update(errors)
    return values


def _cached_errors(data: bytes, cells: dict[str, set[tuple[int, int]]]) -> dict[str, dict[tuple[int, int], CellError]]:
    """The cached error values among ``cells`` (by tab), read from the sheet XML."""
    found: dict[str, dict[tuple[int, int], CellError]] = {}
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            members = worksheet_members(zf)
            for title, wanted in cells.items():
                if title in members:
                    found[title] = _errors_in(zf.read(members[title]), wanted)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:  # read by openpyxl already: unlikely
        log.warning("cannot read cached formula errors (%s); such cells read as empty", exc)
    return found


def _errors_in(sheet_xml: bytes, wanted: set[tuple[int, int]]) -> dict[tuple[int, int], CellError]:
    errors: dict[tuple[int, int], CellError] = {}
    if b't="e"' not in sheet_xml:
        return errors
    for match in _ERROR_CELL.finditer(sheet_xml):
        ref = _CELL_REF.search(match["attrs"])
        cached = _CACHED.search(match["body"])
        if ref is None or cached is None:
            continue
        cell = (int(ref[2]), _column_number(ref[1]))
        if cell in wanted:
            errors[cell] = CellError(unescape(cached[1].decode("utf-8", "replace")))
    return errors


def _column_number(letters: bytes) -> int:
    number = 0
    for letter in letters:
        number = number * 26 + letter - 64
    return number


def keep_cached_values(package: bytes, values: FormulaValues, epoch: datetime) -> bytes:
    """``package`` (a zip as openpyxl wrote it, best stored uncompressed so reading it back is
    cheap) packed again, compressed, with the formula cells of ``values`` holding their cached
    values. Only the worksheets of tabs with values are searched; every other member is copied
    unchanged. ``epoch`` is the workbook's date system (1900 or 1904) for date results."""
    source = zipfile.ZipFile(io.BytesIO(package))
    members = worksheet_members(source)
    edits = {members[title]: cells for title, cells in values.items() if cells and title in members}
    out = io.BytesIO()
    with source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, allowZip64=True) as target:
        for info in source.infolist():
            content = source.read(info)
            if info.filename in edits:
                content = _put_values(content, edits[info.filename], epoch, info.filename)
            copy = zipfile.ZipInfo(info.filename, info.date_time)
            copy.compress_type = zipfile.ZIP_DEFLATED
            copy.external_attr = info.external_attr
            target.writestr(copy, content)
    return out.getvalue()


def _put_values(sheet_xml: bytes, cells: dict[tuple[int, int], Any], epoch: datetime, member: str) -> bytes:
    """Write each cached value into its formula cell (left without one by openpyxl)."""
    by_ref = {f"{get_column_letter(c)}{r}".encode(): _value_xml(value, epoch) for (r, c), value in cells.items()}
    kept = 0

    def put(match: re.Match[bytes]) -> bytes:
        nonlocal kept
        cached = by_ref.get(match["ref"])
        if cached is None:
            return match[0]
        kept += 1
        kind, text = cached
        return b'<c r="%s"%s%s>%s<v>%s</v></c>' % (match["ref"], match["attrs"], kind, match["f"], text)

    result = _EMPTY_FORMULA_CELL.sub(put, sheet_xml)
    if kept < len(by_ref):  # openpyxl wrote a formula cell in a shape the pattern does not know
        log.warning("%s: kept only %d of %d cached formula values; the rest read as empty", member, kept, len(by_ref))
    return result


def _value_xml(value: Any, epoch: datetime) -> tuple[bytes, bytes]:
    """(type attribute, <v> text) of a cached value, as Excel writes them: a number without a
    type, a bool as t="b" 1/0, text as t="str" (a formula's text result is stored in the cell,
    not in the shared strings), an error as t="e" with its text, a date or duration as its
    serial number in ``epoch``."""
    if isinstance(value, CellError):
        return b' t="e"', escape(value.code).encode()
    if isinstance(value, bool):
        return b' t="b"', b"1" if value else b"0"
    if isinstance(value, (int, float)):
        return b"", _number(value)
    if isinstance(value, (datetime, date, time, timedelta)):
        return b"", _number(to_excel(value, epoch))
    return b' t="str"', escape(ILLEGAL_CHARACTERS_RE.sub("", str(value))).encode()


def _number(value: float) -> bytes:
    """The shortest text that reads back as the same number; whole numbers without '.0'."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return b"%d" % value
    return repr(value).encode()
