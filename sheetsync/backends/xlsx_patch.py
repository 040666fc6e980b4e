"""Apply a change set to an .xlsx package by patching the parts it touches.

Only what has to change is rewritten: the cells sheetsync paints, clears or fills (inside
their rows of their sheet's XML), the notes of those sheets (comments part and its legacy VML
drawing, where only sheetsync's own note shapes are added or removed), ``styles.xml`` when a
new cell style is needed, the job-owned tabs (``xlsx_splice``), and the package's lists of
parts ([Content_Types].xml, relationships, workbook.xml) when a part or tab is added. Every
other zip member is copied as it is stored, so pictures, charts, pivot tables, VBA, threaded
comments, WPS cell images, x14 conditional formats and anything else a person made stay
exactly as they were.

The promises of the sheet contract hold as before: only sheetsync's own fills and notes are
changed, a value a person typed is never overwritten, and text is written as text.
"""

from __future__ import annotations

import math
import posixpath
import re
import unicodedata
from bisect import bisect_left
from datetime import date, datetime, time, timedelta
from typing import Any, Callable, Iterable
from xml.sax.saxutils import escape, unescape

from ..core.model import (OWN_FILLS, ChangeSet, FillValue, Paint, Snapshot, Unpaint, column_letter,
                          strip_note_prefix)
from ..core.model import is_own_note as is_sheetsync_note
from . import xlsx_package as pkg
from .base import Reason
from .serial import to_serial
from .xlsx_styles import Styles, get_attr, set_attr
from .xlsx_zip import Package

AUTHOR = "sheetsync"
NOTE_WIDTH_PX = 400  # about 300 pt: wide enough for a sentence of Chinese per line
_NOTE_LINE_UNITS = 56  # half-width characters per line at that width (a Chinese character = 2)
_NOTE_LINE_PX = 15

REL_TYPE = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/"
CT_COMMENTS = "application/vnd.openxmlformats-officedocument.spreadsheetml.comments+xml"
CT_VML = "application/vnd.openxmlformats-officedocument.vmlDrawing"
CT_WORKSHEET = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"
CONTENT_TYPES = "[Content_Types].xml"
# control characters XML 1.0 cannot hold (Excel refuses them too)
_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")
_ROW_REF = re.compile(rb'\sr="(\d+)"')
_CELL_COL = re.compile(rb'\sr="([A-Z]{1,3})\d+"')


class PatchError(Exception):
    """A change the package cannot take (a value Excel cannot store...): nothing is saved."""


def text_xml(value: str) -> bytes:
    return escape(_ILLEGAL.sub("", value)).encode()


# ---------------------------------------------------------------------------------------------
# Relationships and content types


def _rel_entries(xml: bytes) -> list[re.Match[bytes]]:
    return list(re.finditer(rb"<(?:\w+:)?Relationship\b[^>]*?(?:/>|>\s*</(?:\w+:)?Relationship>)", xml))


def add_rel(package: Package, source: str, rel_type: str, target: str, rel_id: str | None = None) -> str:
    """Add a relationship from ``source`` to member ``target``; returns its id."""
    path = pkg.rels_member(source)
    xml = package.get(path) or (b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
                                b'<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
                                b'</Relationships>')
    used = {get_attr(m[0], "Id") for m in _rel_entries(xml)}
    if rel_id is None or rel_id in used:
        n = 1
        while f"rId{n}" in used:
            n += 1
        rel_id = f"rId{n}"
    entry = (f'<Relationship Id="{rel_id}" Type="{REL_TYPE}{rel_type}" '
             f'Target="{escape(pkg.relative(source, target))}"/>').encode()
    end = xml.rfind(b"</")
    package.write(path, xml[:end] + entry + xml[end:])
    return rel_id


def remove_rels(package: Package, source: str, rel_ids: set[str]) -> None:
    path = pkg.rels_member(source)
    xml = package.get(path)
    if xml is None:
        return
    for m in reversed(_rel_entries(xml)):
        if get_attr(m[0], "Id") in rel_ids:
            xml = xml[:m.start()] + xml[m.end():]
    package.write(path, xml)


def add_override(package: Package, member: str, content_type: str) -> None:
    xml = package.read(CONTENT_TYPES)
    part = ("/" + member).encode()
    if re.search(rb'PartName="' + re.escape(part) + rb'"', xml, re.I):
        return
    entry = b'<Override PartName="%s" ContentType="%s"/>' % (escape(part.decode()).encode(), content_type.encode())
    end = xml.rfind(b"</")
    package.write(CONTENT_TYPES, xml[:end] + entry + xml[end:])


def ensure_default(package: Package, extension: str, content_type: str) -> None:
    xml = package.read(CONTENT_TYPES)
    if re.search(rb'<(?:\w+:)?Default\b[^>]*Extension="' + extension.encode() + rb'"', xml, re.I):
        return
    entry = b'<Default Extension="%s" ContentType="%s"/>' % (extension.encode(), content_type.encode())
    start = xml.find(b">", xml.find(b"<Types")) + 1
    package.write(CONTENT_TYPES, xml[:start] + entry + xml[start:])


def remove_override(package: Package, member: str) -> None:
    xml = package.read(CONTENT_TYPES)
    pattern = rb'<(?:\w+:)?Override\b[^>]*?PartName="' + re.escape(("/" + member).encode()) + rb'"[^>]*?/>'
    new = re.sub(pattern, b"", xml, flags=re.I)
    if new != xml:
        package.write(CONTENT_TYPES, new)


def free_member(package: Package, folder: str, stem: str, ext: str) -> str:
    """An unused member name such as xl/comments3.xml."""
    names = {n.lower() for n in package.names()}
    n = 1
    while f"{folder}/{stem}{n}.{ext}".lower() in names:
        n += 1
    return f"{folder}/{stem}{n}.{ext}"


# ---------------------------------------------------------------------------------------------
# A sheet's XML, edited row by row


def _ref(row: int, col: int) -> bytes:
    return f"{column_letter(col)}{row}".encode()


class SheetXml:
    """The XML of one worksheet. Only the rows that change are rebuilt; every other byte of
    the part stays as it was."""

    def __init__(self, xml: bytes):
        m = re.search(rb"<(\w+:)?worksheet\b", xml)
        self.p = (m[1] or b"") if m else b""
        p = self.p
        sd = re.search(rb"<" + re.escape(p) + rb"sheetData\b[^>]*?(/?)>", xml)
        if sd is None:
            raise PatchError("worksheet without sheetData")
        if sd[1]:
            xml = xml[:sd.start()] + b"<%ssheetData></%ssheetData>" % (p, p) + xml[sd.end():]
            sd = re.search(rb"<" + re.escape(p) + rb"sheetData\b[^>]*?>", xml)
            assert sd is not None
        self.xml = xml
        self.data_start = sd.end()
        self.data_end = xml.find(b"</" + p + b"sheetData>", self.data_start)
        self._row_re = re.compile(rb"<" + re.escape(p) + rb"row\b([^>]*?)(/?)>")
        self._cell_re = re.compile(rb"<" + re.escape(p) + rb"c\b([^>]*?)(/?)>")
        self._rows: list[int] | None = None
        self._starts: list[int] = []
        self.edits: dict[int, bytes] = {}  # row number -> its new XML
        self._parsed: dict[int, tuple[bytes, list[tuple[int, int, int, bytes]]]] = {}  # row -> (XML, its cells)
        self.changed = False

    def _index(self) -> None:
        if self._rows is not None:
            return
        rows: list[int] = []
        starts: list[int] = []
        last = 0
        for m in self._row_re.finditer(self.xml, self.data_start, self.data_end):
            r = _ROW_REF.search(m[1])
            if r is None or not rows and not self._cells_have_refs(m.end()):
                self._add_references()  # a writer that leaves references out: number them once
                return self._index()
            number = int(r[1])
            if number <= last:
                raise PatchError("rows out of order")
            rows.append(number)
            starts.append(m.start())
            last = number
        self._rows, self._starts = rows, starts

    def _cells_have_refs(self, start: int) -> bool:
        m = self._cell_re.search(self.xml, start, self.data_end)
        return m is None or re.search(rb'\sr="', m[1]) is not None

    def _add_references(self) -> None:
        """Give every row and cell its reference (r="5", r="C5"), counting as Excel does; the
        rest of the part stays as it was."""
        xml, p = self.xml, self.p
        out: list[bytes] = [xml[:self.data_start]]
        pos = self.data_start
        row_no = 0
        for m in self._row_re.finditer(xml, self.data_start, self.data_end):
            out.append(xml[pos:m.start()])
            r = re.search(rb'\sr="(\d+)"', m[1])
            row_no = int(r[1]) if r else row_no + 1
            out.append(m[0] if r else b'<%srow r="%d"' % (p, row_no) + m[0][len(p) + 4:])
            pos = m.end()
            if m[2]:
                continue
            end = xml.find(b"</" + p + b"row>", pos)
            col_no = 0
            for c in self._cell_re.finditer(xml, pos, end):
                out.append(xml[pos:c.start()])
                ref = re.search(rb'\sr="([A-Z]{1,3})\d+"', c[1])
                col_no = pkg.column_number(ref[1]) if ref else col_no + 1
                out.append(c[0] if ref else b'<%sc r="%s"' % (p, _ref(row_no, col_no)) + c[0][len(p) + 2:])
                pos = c.end()
        out.append(xml[pos:])
        self.xml = b"".join(out)
        self.data_end = self.xml.find(b"</" + p + b"sheetData>", self.data_start)
        self.changed = True

    def _row_span(self, i: int) -> tuple[int, int]:
        start = self._starts[i]
        m = self._row_re.match(self.xml, start)
        assert m is not None
        if m[2]:
            return start, m.end()
        end = self.xml.find(b"</" + self.p + b"row>", m.end())
        return start, end + len(b"</" + self.p + b"row>")

    def row_xml(self, row: int) -> bytes | None:
        if row in self.edits:
            return self.edits[row]
        self._index()
        assert self._rows is not None
        i = bisect_left(self._rows, row)
        if i < len(self._rows) and self._rows[i] == row:
            start, end = self._row_span(i)
            return self.xml[start:end]
        return None

    def last_row_with_value(self) -> int:
        """The last row holding a value (a typed value, a formula or a text)."""
        self._index()
        assert self._rows is not None
        for i in range(len(self._rows) - 1, -1, -1):
            row = self._rows[i]
            xml = self.row_xml(row) or b""
            if re.search(rb"<(?:\w+:)?(?:v|t|f)\b[^>]*>[^<]", xml) or re.search(rb"<(?:\w+:)?f\b", xml):
                return row
        return 0

    # -- cells ----------------------------------------------------------------------------------

    def _row_cells(self, row: int) -> tuple[bytes, list[tuple[int, int, int, bytes]]] | None:
        """A row's XML and its cells, parsed once until the row changes."""
        cached = self._parsed.get(row)
        if cached is None:
            xml = self.row_xml(row)
            if xml is None:
                return None
            cached = self._parsed[row] = (xml, self._cells(xml))
        return cached

    def _cells(self, row_xml: bytes) -> list[tuple[int, int, int, bytes]]:
        """(col, start, end, start-tag attributes) of every cell in a row's XML."""
        out = []
        head_end = row_xml.find(b">") + 1
        for m in self._cell_re.finditer(row_xml, head_end):
            ref = _CELL_COL.search(m[1])
            if ref is None:
                raise PatchError("cells without references")
            if m[2]:
                end = m.end()
            else:
                end = row_xml.find(b"</" + self.p + b"c>", m.end()) + len(b"</" + self.p + b"c>")
            out.append((pkg.column_number(ref[1]), m.start(), end, m[1]))
        return out

    def cell(self, row: int, col: int) -> bytes | None:
        parsed = self._row_cells(row)
        if parsed is None:
            return None
        xml, cells = parsed
        for c, start, end, _attrs in cells:
            if c == col:
                return xml[start:end]
        return None

    def style(self, row: int, col: int) -> int:
        cell = self.cell(row, col)
        if cell is None:
            return 0
        value = get_attr(cell, "s")
        return int(value) if value and value.isdigit() else 0

    def set_cell(self, row: int, col: int, new: bytes | None) -> None:
        """Replace (or add, or with None remove) the cell at (row, col)."""
        self.changed = True
        parsed = self._row_cells(row)
        if parsed is None:
            if new is None:
                return
            xml = b'<%srow r="%d">' % (self.p, row) + b"</%srow>" % self.p
            cells: list[tuple[int, int, int, bytes]] = []
        else:
            xml, cells = parsed
        if xml.endswith(b"/>"):
            xml = xml[:-2].rstrip() + b">" + b"</%srow>" % self.p
            cells = self._cells(xml)
        for c, start, end, _attrs in cells:
            if c == col:
                xml = xml[:start] + (new or b"") + xml[end:]
                break
            if c > col:
                if new is not None:
                    xml = xml[:start] + new + xml[start:]
                break
        else:
            if new is not None:
                end = xml.rfind(b"</")
                xml = xml[:end] + new + xml[end:]
        self.edits[row] = _with_spans(xml, col)
        self._parsed.pop(row, None)

    def to_bytes(self) -> bytes:
        if not self.edits:
            return self.xml
        self._index()
        assert self._rows is not None
        pieces: list[bytes] = []
        pos = 0
        for row in sorted(self.edits):
            i = bisect_left(self._rows, row)
            if i < len(self._rows) and self._rows[i] == row:
                start, end = self._row_span(i)
            else:
                start = end = self._starts[i] if i < len(self._rows) else self.data_end
            pieces.append(self.xml[pos:start])
            pieces.append(self.edits[row])
            pos = end
        pieces.append(self.xml[pos:])
        return b"".join(pieces)


def _with_spans(row_xml: bytes, col: int) -> bytes:
    """Widen a row's ``spans`` hint so it covers column ``col``."""
    head_end = row_xml.find(b">")
    head = row_xml[:head_end]
    m = re.search(rb'\sspans="(\d+):(\d+)"', head)
    if m is None:
        return row_xml
    low, high = int(m[1]), int(m[2])
    if low <= col <= high:
        return row_xml
    spans = b' spans="%d:%d"' % (min(low, col), max(high, col))
    return head[:m.start()] + spans + head[m.end():] + row_xml[head_end:]


def has_value(cell: bytes | None) -> bool:
    if cell is None or cell.rstrip(b">").endswith(b"/"):
        return False
    return bool(re.search(rb"<(?:\w+:)?f\b", cell) or re.search(rb"<(?:\w+:)?(?:v|t)\b[^>]*>[^<]", cell))


def cell_with_style(cell: bytes | None, ref: bytes, style: int, p: bytes) -> bytes | None:
    """The cell with style ``style``; an empty cell left with the default style is dropped
    (as it was before sheetsync styled it)."""
    if cell is None:
        return b'<%sc r="%s" s="%d"/>' % (p, ref, style) if style else None
    new = set_attr(cell, "s", str(style) if style else None)
    if not style and re.fullmatch(rb'<(?:\w+:)?c r="[A-Z]+\d+"\s*/>', new):
        return None
    return new


def value_cell(ref: bytes, style: int, value: Any, p: bytes) -> tuple[bytes, str | None]:
    """A cell holding ``value`` as a literal (text stays text, never a formula). Returns the
    XML and, for dates and times, the number format it needs (the caller picks the style)."""
    s = b' s="%d"' % style if style else b""
    if isinstance(value, bool):
        return b'<%sc r="%s"%s t="b"><%sv>%d</%sv></%sc>' % (p, ref, s, p, int(value), p, p), None
    if isinstance(value, (int, float)):
        if isinstance(value, float) and not math.isfinite(value):
            raise PatchError(f"{value} cannot be stored in a cell")
        text = b"%d" % value if isinstance(value, int) or value.is_integer() and abs(value) < 1e15 else repr(
            value).encode()
        return b'<%sc r="%s"%s><%sv>%s</%sv></%sc>' % (p, ref, s, p, text, p, p), None
    if isinstance(value, (datetime, date, time)):
        if isinstance(value, (datetime, time)) and value.tzinfo is not None:
            raise PatchError(f"{value}: a time zone cannot be stored in a cell")
        fmt = ("yyyy-mm-dd h:mm:ss" if isinstance(value, datetime) else
               "yyyy-mm-dd" if isinstance(value, date) else "h:mm:ss")
        return b'<%sc r="%s"%s><%sv>%s</%sv></%sc>' % (p, ref, s, p, _number(to_serial(value)), p, p), fmt
    if isinstance(value, timedelta):
        return (b'<%sc r="%s"%s><%sv>%s</%sv></%sc>' % (p, ref, s, p, _number(value / timedelta(days=1)), p, p),
                "[h]:mm:ss")
    shown = str(value)
    return (b'<%sc r="%s"%s t="inlineStr"><%sis><%st xml:space="preserve">%s</%st></%sis></%sc>'
            % (p, ref, s, p, p, text_xml(shown), p, p, p)), None


def _number(value: float) -> bytes:
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return b"%d" % value
    return repr(value).encode()


def cell_text(cell: bytes) -> str:
    m = re.search(rb"<(?:\w+:)?(?:v|t)\b[^>]*>([^<]*)<", cell)
    return unescape(m[1].decode("utf-8", "replace")) if m else ""


# ---------------------------------------------------------------------------------------------
# Notes: the comments part and the legacy VML drawing that shows each note's box


def note_height(text: str) -> int:
    lines = 0
    for line in (text or "").splitlines() or [""]:
        units = sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in line)
        lines += max(1, math.ceil(units / _NOTE_LINE_UNITS))
    return (lines + 1) * _NOTE_LINE_PX


class Notes:
    """The notes of one sheet. Only sheetsync's own notes are ever added or removed; a
    person's note (its text, box size, "always show") stays the bytes it was."""

    def __init__(self, package: Package, member: str, sheet: SheetXml):
        self.package = package
        self.member = member
        self.sheet = sheet
        rels = pkg.read_rels(package, member)
        self.comments_member = next((r.target for r in rels if r.type == pkg.COMMENTS and not r.external), None)
        legacy = re.search(rb"<(?:\w+:)?legacyDrawing\b[^>]*?\b(?:\w+:)?id=\"([^\"]+)\"", sheet.xml)
        self.vml_member = next((r.target for r in rels if legacy and r.id == legacy[1].decode()
                                and r.type == pkg.VML), None)
        self.current: dict[tuple[int, int], tuple[str, str]] = {}
        if self.comments_member and self.comments_member in package:
            for cell, author, text in pkg.comment_texts(package.read(self.comments_member)):
                self.current[cell] = (author, text)
        self.put: dict[tuple[int, int], str] = {}
        self.dropped: set[tuple[int, int]] = set()

    def get(self, cell: tuple[int, int]) -> tuple[str, str] | None:
        if cell in self.put:
            return AUTHOR, self.put[cell]
        if cell in self.dropped:
            return None
        return self.current.get(cell)

    def is_own(self, cell: tuple[int, int]) -> bool:
        note = self.get(cell)
        return note is not None and (note[0] == AUTHOR or is_sheetsync_note(note[1]))

    def write(self, cell: tuple[int, int], text: str) -> None:
        self.dropped.discard(cell)
        self.put[cell] = text

    def drop(self, cell: tuple[int, int]) -> None:
        self.put.pop(cell, None)
        self.dropped.add(cell)

    def finish(self) -> None:
        touched = set(self.put) | {c for c in self.dropped if c in self.current}
        if not touched:
            return
        self._write_comments(touched)
        self._write_vml(touched)

    # -- comments part --------------------------------------------------------------------------

    def _write_comments(self, touched: set[tuple[int, int]]) -> None:
        if self.comments_member is None or self.comments_member not in self.package:
            self.comments_member = free_member(self.package, "xl", "comments", "xml")
            xml = (b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
                   b'<comments xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
                   b'<authors></authors><commentList></commentList></comments>')
            add_rel(self.package, self.member, "comments", self.comments_member)
            add_override(self.package, self.comments_member, CT_COMMENTS)
        else:
            xml = self.package.read(self.comments_member)
        m = re.search(rb"<(\w+:)?comments\b", xml)
        p = (m[1] or b"") if m else b""
        authors_m = re.search(rb"<(?:\w+:)?authors\b[^>]*?(?:/>|>(.*?)</(?:\w+:)?authors>)", xml, re.S)
        names = [unescape(a.decode()) for a in re.findall(rb"<(?:\w+:)?author\b[^>]*>(.*?)</(?:\w+:)?author>",
                                                            authors_m[1] or b"", re.S)] if authors_m else []
        if AUTHOR not in names:
            names.append(AUTHOR)
            new_authors = (b"<%sauthors>" % p + (authors_m[1] or b"" if authors_m else b"")
                           + b"<%sauthor>%s</%sauthor></%sauthors>" % (p, AUTHOR.encode(), p, p))
            if authors_m:
                xml = xml[:authors_m.start()] + new_authors + xml[authors_m.end():]
            else:
                start = xml.find(b">", m.end() if m else 0) + 1
                xml = xml[:start] + new_authors + xml[start:]
        author_id = names.index(AUTHOR)
        list_m = re.search(rb"<(?:\w+:)?commentList\b[^>]*?(?:/>|>(.*?)</(?:\w+:)?commentList>)", xml, re.S)
        body = (list_m[1] or b"") if list_m else b""
        entries: list[tuple[tuple[int, int], bytes]] = []
        for e in re.finditer(rb"<(?:\w+:)?comment\b[^>]*?(?:/>|>.*?</(?:\w+:)?comment>)", body, re.S):
            cell = pkg.parse_ref(get_attr(e[0], "ref") or "")
            if cell is None or cell not in touched:
                entries.append((cell or (0, 0), e[0]))
        for cell, text in self.put.items():
            entries.append((cell, b'<%scomment ref="%s" authorId="%d"><%stext><%st xml:space="preserve">%s</%st>'
                                  b'</%stext></%scomment>' % (p, _ref(*cell), author_id, p, p, text_xml(text), p, p,
                                                              p)))
        entries.sort(key=lambda e: e[0])
        new_list = b"<%scommentList>" % p + b"".join(e for _c, e in entries) + b"</%scommentList>" % p
        if list_m:
            xml = xml[:list_m.start()] + new_list + xml[list_m.end():]
        else:
            end = xml.rfind(b"</")
            xml = xml[:end] + new_list + xml[end:]
        self.package.write(self.comments_member, xml)

    # -- VML drawing ----------------------------------------------------------------------------

    def _write_vml(self, touched: set[tuple[int, int]]) -> None:
        if self.vml_member is None or self.vml_member not in self.package:
            self.vml_member = free_member(self.package, "xl/drawings", "vmlDrawing", "vml")
            block = _free_vml_block(self.package)
            vml = (b'<xml xmlns:v="urn:schemas-microsoft-com:vml" xmlns:o="urn:schemas-microsoft-com:office:office" '
                   b'xmlns:x="urn:schemas-microsoft-com:office:excel">'
                   b'<o:shapelayout v:ext="edit"><o:idmap v:ext="edit" data="%d"/></o:shapelayout>'
                   % block + _SHAPETYPE % {b"v": b"v", b"o": b"o"} + b"</xml>")
            rel_id = add_rel(self.package, self.member, "vmlDrawing", self.vml_member)
            ensure_default(self.package, "vml", CT_VML)
            self.sheet.xml = _insert_legacy_drawing(self.sheet, rel_id)
            self.sheet.changed = True
        else:
            vml = self.package.read(self.vml_member)
        v, o, x = (_vml_prefix(vml, ns) for ns in (b"urn:schemas-microsoft-com:vml",
                                                   b"urn:schemas-microsoft-com:office:office",
                                                   b"urn:schemas-microsoft-com:office:excel"))
        shape_re = re.compile(rb"<" + v + rb":shape\b.*?</" + v + rb":shape>", re.S)
        kept: list[bytes] = []
        pieces: list[bytes] = []
        pos = 0
        for m in shape_re.finditer(vml):
            cell = _vml_note_cell(m[0], x)
            pieces.append(vml[pos:m.start()])
            if cell is None or cell not in touched:
                pieces.append(m[0])
            pos = m.end()
            kept.append(m[0])
        pieces.append(vml[pos:])
        vml = b"".join(pieces)
        if b"_x0000_t202" not in vml:
            start = vml.find(b">", vml.find(b"<xml")) + 1
            vml = vml[:start] + _SHAPETYPE % {b"v": v, b"o": o} + vml[start:]
        ids = [int(i) for i in re.findall(rb'id="_x0000_s(\d+)"', vml)]
        idmap = re.search(rb'data="(\d+)', vml)
        next_id = max(ids + [int(idmap[1]) * 1024 if idmap else 1024]) + 1
        shapes = []
        for (row, col), text in sorted(self.put.items()):
            shapes.append(_note_shape(v, o, x, next_id, row, col, note_height(text)))
            next_id += 1
        end = vml.rfind(b"</xml>")
        if end < 0:
            end = len(vml)
        self.package.write(self.vml_member, vml[:end] + b"".join(shapes) + vml[end:])


_SHAPETYPE = (
    b'<%(v)s:shapetype id="_x0000_t202" coordsize="21600,21600" %(o)s:spt="202" path="m,l,21600r21600,l21600,xe">'
    b'<%(v)s:stroke joinstyle="miter"/><%(v)s:path gradientshapeok="t" %(o)s:connecttype="rect"/></%(v)s:shapetype>'
)


def _vml_prefix(vml: bytes, namespace: bytes) -> bytes:
    m = re.search(rb'xmlns:(\w+)="' + re.escape(namespace) + rb'"', vml)
    default = {b"urn:schemas-microsoft-com:vml": b"v", b"urn:schemas-microsoft-com:office:office": b"o"}
    return m[1] if m else default.get(namespace, b"x")


def _vml_note_cell(shape: bytes, x: bytes) -> tuple[int, int] | None:
    if not re.search(rb'ObjectType="Note"', shape):
        return None
    row = re.search(rb"<" + x + rb":Row>\s*(\d+)\s*</", shape)
    col = re.search(rb"<" + x + rb":Column>\s*(\d+)\s*</", shape)
    if row is None or col is None:
        return None
    return int(row[1]) + 1, int(col[1]) + 1


def _note_shape(v: bytes, o: bytes, x: bytes, shape_id: int, row: int, col: int, height: int) -> bytes:
    rows = max(2, math.ceil(height / 20))
    anchor = b"%d, 15, %d, 2, %d, 15, %d, 2" % (col, max(row - 2, 0), col + 6, max(row - 2, 0) + rows)
    return (
        b'<%(v)s:shape id="_x0000_s%(id)d" type="#_x0000_t202" style="position:absolute;margin-left:59.25pt;'
        b'margin-top:1.5pt;width:%(w)dpx;height:%(h)dpx;z-index:1;visibility:hidden" fillcolor="#ffffe1" '
        b'%(o)s:insetmode="auto"><%(v)s:fill color2="#ffffe1"/><%(v)s:shadow on="t" color="black" obscured="t"/>'
        b'<%(v)s:path %(o)s:connecttype="none"/><%(v)s:textbox style="mso-direction-alt:auto">'
        b'<div style="text-align:left"></div></%(v)s:textbox><%(x)s:ClientData ObjectType="Note">'
        b'<%(x)s:MoveWithCells/><%(x)s:SizeWithCells/><%(x)s:Anchor>%(anchor)s</%(x)s:Anchor>'
        b'<%(x)s:AutoFill>False</%(x)s:AutoFill><%(x)s:Row>%(row)d</%(x)s:Row><%(x)s:Column>%(col)d</%(x)s:Column>'
        b'</%(x)s:ClientData></%(v)s:shape>'
    ) % {b"v": v, b"o": o, b"x": x, b"id": shape_id, b"w": NOTE_WIDTH_PX, b"h": height, b"anchor": anchor,
         b"row": row - 1, b"col": col - 1}


def _free_vml_block(package: Package) -> int:
    used = [0]
    for name in package.names():
        if name.lower().endswith(".vml"):
            used += [int(b) for b in re.findall(rb'idmap\b[^>]*data="(\d+)', package.read(name))]
    return max(used) + 1


# worksheet children that come after legacyDrawing, in schema order
_AFTER_LEGACY = ("legacyDrawingHF", "drawingHF", "picture", "oleObjects", "controls", "webPublishItems",
                 "tableParts", "extLst")


def _insert_legacy_drawing(sheet: SheetXml, rel_id: str) -> bytes:
    xml = sheet.xml
    element = (b'<%slegacyDrawing xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships" '
               b'r:id="%s"/>' % (sheet.p, rel_id.encode()))
    tail = sheet.data_end
    for name in _AFTER_LEGACY:
        m = re.compile(rb"<" + re.escape(sheet.p) + name.encode() + rb"\b").search(xml, tail)
        if m is not None:
            return xml[:m.start()] + element + xml[m.start():]
    end = xml.rfind(b"</")
    return xml[:end] + element + xml[end:]


# ---------------------------------------------------------------------------------------------
# The change set's cell operations


def action_of(op: Paint | Unpaint | FillValue, header: Any = None) -> Reason:
    if isinstance(op, Paint):
        return Reason("backends.action.paint")
    if isinstance(op, Unpaint):
        return Reason("backends.action.unpaint")
    return Reason("backends.action.fill", column=header or column_letter(op.col))


def _first_line(text: str) -> str:
    lines = strip_note_prefix(text).strip().splitlines()
    return lines[0] if lines else ""


class Workbook:
    """The package and its workbook-level parts, as one apply sees them."""

    def __init__(self, data: bytes):
        self.package = Package(data)
        self.member = pkg.workbook_member(self.package.zf)
        self.sheets = pkg.sheets(self.package, self.member)
        styles = pkg.styles_member(self.package.zf, self.member)
        self.styles_member = styles or "xl/styles.xml"
        self.styles = Styles(self.package.get(styles) if styles else None)
        self._sheets: dict[str, tuple[SheetXml, Notes]] = {}

    def reload_sheets(self) -> None:
        self.sheets = pkg.sheets(self.package, self.member)

    def worksheet(self, title: str) -> pkg.Sheet | None:
        return next((s for s in self.sheets if s.title == title and s.kind == pkg.WORKSHEET), None)

    def sheet(self, title: str) -> tuple[SheetXml, Notes]:
        if title not in self._sheets:
            info = self.worksheet(title)
            assert info is not None
            sheet = SheetXml(self.package.read(info.member))
            self._sheets[title] = (sheet, Notes(self.package, info.member, sheet))
        return self._sheets[title]

    def forget(self, title: str) -> None:
        """A tab rewritten as a whole: no cell edits of it are pending any more."""
        self._sheets.pop(title, None)

    def finish_cells(self) -> None:
        for title, (sheet, notes) in self._sheets.items():
            notes.finish()
            if sheet.changed or sheet.edits:
                info = self.worksheet(title)
                assert info is not None
                self.package.write(info.member, sheet.to_bytes())
        self._sheets.clear()

    def finish(self) -> bytes:
        self.finish_cells()
        if self.styles.changed:
            if self.styles_member not in self.package:
                add_rel(self.package, self.member, "styles", self.styles_member)
                add_override(self.package, self.styles_member,
                             "application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml")
            self.package.write(self.styles_member, self.styles.to_bytes())
        return self.package.to_bytes()


def apply_cell_ops(wb: Workbook, changes: ChangeSet, snapshot: Snapshot | None) -> tuple[int, list[Reason]]:
    written = 0
    skipped: list[Reason] = []
    ops: list[tuple[Paint | Unpaint | FillValue, Callable[..., Reason | None]]] = [
        *((op, _paint) for op in changes.paints),
        *((op, _unpaint) for op in changes.unpaints),
        *((op, _fill_value) for op in changes.fills),
    ]
    merged: dict[str, list[tuple[int, int, int, int]]] = {}
    for op, action in ops:
        if wb.worksheet(op.tab) is None:
            skipped.append(Reason("backends.skipped.no_tab", tab=op.tab, cell=f"{column_letter(op.col)}{op.row}",
                                  action=action_of(op)))
            continue
        sheet, notes = wb.sheet(op.tab)
        if op.tab not in merged:
            merged[op.tab] = pkg.merged_ranges(sheet.xml)
        row, col = _anchor(merged[op.tab], op.row, op.col)
        reason = action(wb, sheet, notes, row, col, op, snapshot)
        if reason:
            skipped.append(reason)
        else:
            written += 1
    return written, skipped


def _anchor(merged: Iterable[tuple[int, int, int, int]], row: int, col: int) -> tuple[int, int]:
    """The cell a person sees at (row, col): the top-left cell of a merged range holding it."""
    for r1, c1, r2, c2 in merged:
        if r1 <= row <= r2 and c1 <= col <= c2:
            return r1, c1
    return row, col


def _where(op: Paint | Unpaint | FillValue, row: int, col: int) -> dict[str, str]:
    return {"tab": op.tab, "cell": f"{column_letter(col)}{row}"}


def _paint(wb: Workbook, sheet: SheetXml, notes: Notes, row: int, col: int, op: Paint,
           _snapshot: Snapshot | None) -> Reason | None:
    own_note = notes.is_own((row, col))
    if notes.get((row, col)) is not None and not own_note:
        return Reason("backends.skipped.their_note", **_where(op, row, col), problem=_first_line(op.note))
    style = sheet.style(row, col)
    current = wb.styles.fill_of_style(style)
    if current not in (None, *OWN_FILLS, op.fill) and not own_note:
        return Reason("backends.skipped.their_fill", **_where(op, row, col), problem=_first_line(op.note))
    new_style = wb.styles.with_fill(style, wb.styles.solid_fill(op.fill))
    sheet.set_cell(row, col, cell_with_style(sheet.cell(row, col), _ref(row, col), new_style, sheet.p))
    notes.write((row, col), op.note)
    return None


def _unpaint(wb: Workbook, sheet: SheetXml, notes: Notes, row: int, col: int, op: Unpaint,
             _snapshot: Snapshot | None) -> Reason | None:
    """Remove sheetsync's mark: the fill goes when it is the mark colour or sits under
    sheetsync's note (a mark painted in another colour); the note goes only if it is ours.
    The cell gets back the style it had before (font, border, number format...)."""
    own_note = notes.is_own((row, col))
    style = sheet.style(row, col)
    own_fill = wb.styles.fill_of_style(style) in OWN_FILLS  # red, amber or the note colour
    if not (own_note or own_fill):
        return Reason("backends.skipped.no_mark", **_where(op, row, col))
    if wb.styles.fill_of_style(style) is not None:
        sheet.set_cell(row, col, cell_with_style(sheet.cell(row, col), _ref(row, col), wb.styles.without_fill(style),
                                                 sheet.p))
    if own_note:
        notes.drop((row, col))
    return None


def _fill_value(wb: Workbook, sheet: SheetXml, _notes: Notes, row: int, col: int, op: FillValue,
                snapshot: Snapshot | None) -> Reason | None:
    cell = sheet.cell(row, col)
    if has_value(cell):
        tab = snapshot.tab(op.tab) if snapshot is not None else None
        shown = tab.cell(row, col) if tab is not None else None
        value = shown if shown is not None else cell_text(cell or b"")
        return Reason("backends.skipped.filled", **_where(op, row, col), value=value, wanted=op.value)
    style = sheet.style(row, col)
    xml, number_format = value_cell(_ref(row, col), style, op.value, sheet.p)
    if number_format is not None:
        xml, _ = value_cell(_ref(row, col), wb.styles.number_format_style(style, number_format), op.value, sheet.p)
    sheet.set_cell(row, col, xml)
    return None


def member_dir(member: str) -> str:
    return posixpath.dirname(member)
