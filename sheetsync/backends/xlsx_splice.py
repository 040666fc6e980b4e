"""Job-owned tabs (the problem list, the weekly summary with its chart, the run log, the hidden
state tab) and tabs laid out by ``sheetsync init``, put into a package without touching the rest.

A tab sheetsync writes as a whole is built on its own in memory with openpyxl (a one-tab
workbook: cells, header style, widths, protection, dropdowns, notes, chart), then spliced in:
its sheet part, notes and drawing parts are copied under free names, the cell styles it uses
are added to the workbook's ``styles.xml``, and the workbook part, relationships and content
types list it. A rewritten tab keeps its place and its part name; what hung on the old one
(notes, drawings, charts) goes with it. Rows appended to the run log are patched into its XML.
"""

from __future__ import annotations

import io
import math
import posixpath
import re
import unicodedata
from typing import Any, Callable
from xml.sax.saxutils import escape, quoteattr

from openpyxl import Workbook as OpenpyxlWorkbook

from ..core.model import AppendRows, ReplaceTab, TabLayout, column_letter
from . import xlsx_package as pkg
from .xlsx_patch import (CONTENT_TYPES, CT_WORKSHEET, PatchError, Workbook, _rel_entries, add_override, add_rel,
                         ensure_default, free_member, remove_override, remove_rels, value_cell)
from .xlsx_styles import Styles, get_attr, set_attr
from .xlsx_write import add_layout_tab
from .xlsx_write import HEADER_FILL, JOB_TAB_COLOUR, line_chart
from .xlsx_zip import Package

# the parts that belong to one sheet and go when it is rewritten
_SHEET_OWNED = {"comments", "vmlDrawing", "drawing", "table", "threadedComment", "chart", "chartUserShapes",
                "chartStyle", "chartColorStyle", "image"}


_SHEET = "xl/worksheets/sheet1.xml"  # the member name of a tab built here, before it is installed


def replace_tab(wb: Workbook, op: ReplaceTab) -> None:
    """Rewrite a job-owned tab from scratch (no old cell, merge, format or chart survives):
    its rows as literal values, header style, widths, number formats, frozen header, the
    job-owned look, and its line chart."""
    wb.forget(op.tab)
    source = _owned_tab(wb.styles, op.tab, op.rows, op.column_widths, op.number_formats, op.protected, op.chart,
                        wrap=op.wrap_columns)
    install(wb, source, _SHEET, None, op.tab, op.hidden)


def add_tab(wb: Workbook, layout: TabLayout) -> None:
    splice(wb, _built(lambda temp: add_layout_tab(temp, layout)), layout.title, layout.hidden)


def append_rows(wb: Workbook, op: AppendRows) -> None:
    """Rows after the last row holding a value; a missing or empty tab is laid out first."""
    info = wb.worksheet(op.tab)
    if info is None or wb.sheet(op.tab)[0].last_row_with_value() == 0:
        wb.forget(op.tab)
        hidden = info is not None and info.state != "visible"
        rows = ((op.header,) if op.header else ()) + tuple(op.rows)
        install(wb, _owned_tab(wb.styles, op.tab, rows, (), (), True, None, header=bool(op.header)), _SHEET, None,
                op.tab, hidden)
        return
    sheet, _notes = wb.sheet(op.tab)
    last = sheet.last_row_with_value()
    p = sheet.p
    for r, row in enumerate(op.rows, start=last + 1):
        cells = []
        for c, value in enumerate(row, start=1):
            if value is None or isinstance(value, float) and not math.isfinite(value):
                continue
            ref = f"{pkg_column(c)}{r}".encode()
            xml, number_format = value_cell(ref, 0, value, p)
            if number_format is not None:
                xml, _ = value_cell(ref, wb.styles.number_format_style(0, number_format), value, p)
            cells.append(xml)
        sheet.edits[r] = b'<%srow r="%d">' % (p, r) + b"".join(cells) + b"</%srow>" % p
        sheet.changed = True


def pkg_column(col: int) -> str:
    return column_letter(col)


def _letters(width: int) -> list[bytes]:
    """Column letters of columns 1..width as bytes, worked out once per tab (a problem list of
    10,000 rows has 90,000 cells)."""
    return [column_letter(c).encode() for c in range(1, width + 1)]


def _built(build: Callable[[OpenpyxlWorkbook], Any]) -> bytes:
    """A one-tab workbook made by ``build``, as package bytes."""
    temp = OpenpyxlWorkbook()
    temp.remove(temp.active)
    build(temp)
    for ws in temp.worksheets:  # openpyxl saves no workbook whose only tab is hidden; the splice sets it
        ws.sheet_state = "visible"
    buffer = io.BytesIO()
    try:
        temp.save(buffer)
    except Exception as exc:  # openpyxl validates on save (a bad value...)
        raise PatchError(str(exc)) from exc
    return buffer.getvalue()


def splice(wb: Workbook, built: bytes, title: str, hidden: bool) -> None:
    """Put the only tab of the package ``built`` into ``wb`` as tab ``title``."""
    source = Package(built)
    src_workbook = pkg.workbook_member(source.zf)
    src_sheet = next(s for s in pkg.sheets(source.zf, src_workbook) if s.kind == pkg.WORKSHEET)
    src_styles_member = pkg.styles_member(source.zf, src_workbook)
    src_styles = Styles(source.read(src_styles_member) if src_styles_member else None)
    install(wb, source, src_sheet.member, src_styles, title, hidden)


def install(wb: Workbook, source: Any, src_member: str, src_styles: Styles | None, title: str, hidden: bool) -> None:
    """Put sheet part ``src_member`` of ``source`` (a package, or a mapping of members with its
    own [Content_Types].xml) into ``wb`` as tab ``title``, replacing a tab of that title in
    place or added at the end. ``src_styles``: the stylesheet its style numbers refer to (None:
    they are ``wb``'s already)."""
    wb.forget(title)
    package = wb.package
    xml = source.read(src_member)
    if src_styles is not None:
        xml = _restyled(xml, src_styles, wb.styles)
    xml = re.sub(rb'\stabSelected="1"', b"", xml)  # the workbook's selected tab stays the selected one

    existing = wb.worksheet(title)
    if existing is not None:
        member = existing.member
        old_xml = package.read(member)
        _drop_sheet_parts(package, member)
        if re.search(rb"<(?:\w+:)?f\b", old_xml):
            _drop_calc_chain(wb)
        _set_state(wb, existing.rel_id, hidden)
    else:
        member = free_member(package, "xl/worksheets", "sheet", "xml")
        add_override(package, member, CT_WORKSHEET)
        _add_to_workbook(wb, member, title, hidden)
    package.write(member, xml)
    _copy_rels(source, src_member, package, member, {})
    wb.reload_sheets()


def _restyled(xml: bytes, src: Styles, dst: Styles) -> bytes:
    """The sheet XML with its style numbers changed to the same styles in ``dst``."""
    cache: dict[int, int] = {}

    def mapped(m: re.Match[bytes]) -> bytes:
        return m[1] + str(dst.import_style(src, int(m[2]), cache)).encode() + m[3]

    xml = re.sub(rb'(<(?:\w+:)?(?:c|row)\b[^>]*?\ss=")(\d+)(")', mapped, xml)
    return re.sub(rb'(<(?:\w+:)?col\b[^>]*?\sstyle=")(\d+)(")', mapped, xml)


def _copy_rels(source: Package, src_member: str, package: Package, member: str, copied: dict[str, str]) -> None:
    """Copy the parts ``src_member`` refers to (and theirs) and write ``member``'s relationships."""
    rels_xml = source.get(pkg.rels_member(src_member))
    if rels_xml is None:
        package.remove(pkg.rels_member(member))
        return
    pieces = []
    pos = 0
    for m in _rel_entries(rels_xml):
        entry = m[0]
        pieces.append(rels_xml[pos:m.start()])
        pos = m.end()
        if get_attr(entry, "TargetMode") != "External":
            target = pkg.resolve(src_member, _unescape(get_attr(entry, "Target") or ""))
            new = _copy_part(source, target, package, copied)
            entry = set_attr(entry, "Target", escape(pkg.relative(member, new), {'"': "&quot;"}))
        pieces.append(entry)
    pieces.append(rels_xml[pos:])
    package.write(pkg.rels_member(member), b"".join(pieces))


def _copy_part(source: Package, member: str, package: Package, copied: dict[str, str]) -> str:
    if member in copied:
        return copied[member]
    folder, name = posixpath.split(member)
    base, _, ext = name.rpartition(".")
    stem = re.sub(r"\d+$", "", base) or "part"
    new = free_member(package, folder, stem, ext)
    copied[member] = new
    package.write(new, source.read(member))
    content_type = _content_type(source, member)
    if content_type is not None:
        kind, value = content_type
        if kind == "override":
            add_override(package, new, value)
        else:
            ensure_default(package, ext, value)
    _copy_rels(source, member, package, new, copied)
    return new


def _content_type(source: Package, member: str) -> tuple[str, str] | None:
    xml = source.read(CONTENT_TYPES)
    m = re.search(rb'<(?:\w+:)?Override\b[^>]*?PartName="/' + re.escape(member.encode()) + rb'"[^>]*?/>', xml, re.I)
    if m is not None:
        return "override", get_attr(m[0], "ContentType") or ""
    ext = member.rsplit(".", 1)[-1].encode()
    m = re.search(rb'<(?:\w+:)?Default\b[^>]*?Extension="' + re.escape(ext) + rb'"[^>]*?/>', xml, re.I)
    if m is not None:
        return "default", get_attr(m[0], "ContentType") or ""
    return None


def _unescape(text: str) -> str:
    return text.replace("&quot;", '"').replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _drop_sheet_parts(package: Package, member: str) -> None:
    """Remove what hangs on a sheet that is rewritten (its notes, drawings, charts, tables),
    unless another part still refers to it."""
    doomed: set[str] = set()

    def collect(part: str) -> None:
        for rel in pkg.read_rels(package, part):
            if rel.external or rel.type not in _SHEET_OWNED or rel.target in doomed:
                continue
            doomed.add(rel.target)
            collect(rel.target)

    collect(member)
    still_used: set[str] = set()
    for name in list(package.names()):
        if not name.endswith(".rels"):
            continue
        folder = posixpath.dirname(posixpath.dirname(name))
        source = posixpath.join(folder, posixpath.basename(name)[:-5])
        if source == member or source in doomed:
            continue
        still_used |= {r.target for r in pkg.read_rels(package, source) if not r.external}
    for part in doomed - still_used:
        package.remove(part)
        package.remove(pkg.rels_member(part))
        remove_override(package, part)
    package.remove(pkg.rels_member(member))


def _drop_calc_chain(wb: Workbook) -> None:
    """The calculation chain lists formula cells by sheet; a rewritten tab's formulas are gone,
    and Excel offers to repair a file whose chain names cells without formulas. Excel builds
    the chain again on its next save."""
    rels = [r for r in pkg.read_rels(wb.package, wb.member) if r.type == "calcChain"]
    for rel in rels:
        wb.package.remove(rel.target)
        remove_override(wb.package, rel.target)
    if rels:
        remove_rels(wb.package, wb.member, {r.id for r in rels})


def _sheet_element(xml: bytes, rel_id: str) -> re.Match[bytes] | None:
    for m in re.finditer(rb"<(?:\w+:)?sheet\b[^>]*?/>", xml):
        if re.search(rb'\s(?:\w+:)?id="' + re.escape(rel_id.encode()) + rb'"', m[0]):
            return m
    return None


def _set_state(wb: Workbook, rel_id: str, hidden: bool) -> None:
    xml = wb.package.read(wb.member)
    m = _sheet_element(xml, rel_id)
    if m is None:
        return
    current = get_attr(m[0], "state") or "visible"
    if (current != "visible") == hidden:
        return
    element = set_attr(m[0], "state", "hidden" if hidden else None)
    wb.package.write(wb.member, xml[:m.start()] + element + xml[m.end():])


def _add_to_workbook(wb: Workbook, member: str, title: str, hidden: bool) -> None:
    package = wb.package
    rel_id = add_rel(package, wb.member, "worksheet", member)
    xml = package.read(wb.member)
    root = re.search(rb"<(\w+:)?workbook\b[^>]*>", xml)
    if root is None:
        raise PatchError("workbook part without a workbook element")
    p = root[1] or b""
    r = re.search(rb'xmlns:(\w+)="' + re.escape(pkg.REL_NS.encode()) + rb'"', root[0])
    ids = [int(i) for i in re.findall(rb'<(?:\w+:)?sheet\b[^>]*?\ssheetId="(\d+)"', xml)]
    state = b' state="hidden"' if hidden else b""
    if r is not None:
        rid = b'%s:id="%s"' % (r[1], rel_id.encode())
    else:
        rid = b'xmlns:r="%s" r:id="%s"' % (pkg.REL_NS.encode(), rel_id.encode())
    element = b"<%ssheet name=%s sheetId=\"%d\"%s %s/>" % (p, quoteattr(title).encode(), max(ids, default=0) + 1,
                                                           state, rid)
    end = xml.find(b"</" + p + b"sheets>")
    if end < 0:
        m = re.search(rb"<" + re.escape(p) + rb"sheets\s*/>", xml)
        if m is None:
            raise PatchError("workbook part without a list of sheets")
        xml = xml[:m.start()] + b"<%ssheets>" % p + element + b"</%ssheets>" % p + xml[m.end():]
    else:
        xml = xml[:end] + element + xml[end:]
    package.write(wb.member, xml)


# ---------------------------------------------------------------------------------------------
# A job-owned tab written directly as sheet XML (no workbook object: the problem list can hold tens of
# thousands of rows)

_PROTECTION = (b'<sheetProtection selectLockedCells="0" selectUnlockedCells="0" sheet="1" objects="0" '
               b'insertRows="1" insertHyperlinks="1" autoFilter="1" scenarios="0" formatColumns="1" '
               b'deleteColumns="1" insertColumns="1" pivotTables="1" deleteRows="1" formatCells="1" '
               b'formatRows="1" sort="1"/>')
_CHART_CM = (24, 10)  # width, height of the weekly chart
_EMU_PER_CM = 360000


_LINE_HEIGHT = 15  # points: one line of the default font
_DEFAULT_WIDTH = 8.43  # characters: Excel's default column width


def _wrapped_lines(row: tuple[Any, ...], wrap: tuple[int, ...], widths: Any) -> int:
    """How many lines the longest wrapped cell of ``row`` takes (a Chinese character is two
    characters wide). Written as the row's height: neither Excel nor LibreOffice fits the height
    of a wrapped row when it opens a file, and the lines would overlap the next row."""
    lines = 1
    for c in wrap:
        value = row[c - 1] if c <= len(row) else None
        if value is None:
            continue
        width = float(widths[c - 1]) if c <= len(widths) and widths[c - 1] else _DEFAULT_WIDTH
        shown = sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in str(value))
        lines = max(lines, math.ceil(shown / max(width - 1, 1)))
    return lines


class _Parts(dict):
    """Members of a tab being built, read the way a package is."""

    def read(self, name: str) -> bytes:
        return bytes(self[name])


def _owned_tab(styles: Styles, title: str, rows: Any, widths: Any, number_formats: Any, protected: bool,
               chart: Any, header: bool = True, wrap: tuple[int, ...] = ()) -> _Parts:
    p = b""
    rows = [tuple(r) for r in rows]
    widths = tuple(widths)
    head_style = _header_style(styles) if rows and header else 0
    formats = dict(number_formats)
    column_styles: dict[tuple[int, str], int] = {}
    out: list[bytes] = []
    width = max((len(r) for r in rows), default=0)
    letters = _letters(width)
    for r, row in enumerate(rows, start=1):
        cells = []
        for c, value in enumerate(row, start=1):
            if value is None or isinstance(value, float) and not math.isfinite(value):  # no rate without data
                continue
            at = b"%s%d" % (letters[c - 1], r)
            style = head_style if r == 1 and header else styles.wrapped_style(0) if c in wrap else 0
            cell, number_format = value_cell(at, style, value, p)
            wanted = formats.get(c) if r > 1 else None
            if wanted is not None or number_format is not None:
                code = wanted or number_format or "General"
                key = (style, code)
                if key not in column_styles:
                    column_styles[key] = styles.number_format_style(style, code)
                cell, _ = value_cell(at, column_styles[key], value, p)
            cells.append(cell)
        lines = _wrapped_lines(row, wrap, widths) if wrap and r > 1 else 1
        height = b' ht="%d" customHeight="1"' % (_LINE_HEIGHT * lines) if lines > 1 else b""
        out.append(b'<row r="%d"%s>' % (r, height) + b"".join(cells) + b"</row>")
    sheet_pr = b'<sheetPr><tabColor rgb="00%s"/></sheetPr>' % JOB_TAB_COLOUR.encode() if protected else b""
    dimension = b'<dimension ref="A1:%s%d"/>' % (pkg_column(max(width, 1)).encode(), max(len(rows), 1))
    if rows and header:
        view = (b'<sheetViews><sheetView workbookViewId="0"><pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" '
                b'state="frozen"/><selection pane="bottomLeft" activeCell="A2" sqref="A2"/></sheetView></sheetViews>')
    else:
        view = b'<sheetViews><sheetView workbookViewId="0"/></sheetViews>'
    cols = b"".join(b'<col min="%d" max="%d" width="%s" customWidth="1"/>' % (i, i, repr(float(w)).encode())
                    for i, w in enumerate(widths, start=1))
    parts = _Parts()
    tail = b""
    rels: list[tuple[str, str, str]] = []
    if chart is not None and chart.last_row >= chart.first_row:
        tail = b'<drawing r:id="rId1"/>'
        rels.append(("rId1", "drawing", "../drawings/drawing1.xml"))
        _chart_parts(parts, title, chart)
    parts[_SHEET] = (
        b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
        b'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
        + sheet_pr + dimension + view + b'<sheetFormatPr defaultRowHeight="15"/>'
        + (b"<cols>" + cols + b"</cols>" if cols else b"") + b"<sheetData>" + b"".join(out) + b"</sheetData>"
        + (_PROTECTION if protected else b"")
        + b'<pageMargins left="0.75" right="0.75" top="1" bottom="1" header="0.5" footer="0.5"/>' + tail
        + b"</worksheet>")
    if rels:
        parts[pkg.rels_member(_SHEET)] = _rels_xml(rels)
    parts[CONTENT_TYPES] = _content_types(parts)
    return parts


def _header_style(styles: Styles) -> int:
    fonts = styles.lists["fonts"]
    base = fonts[0] if fonts else b"<font/>"
    start = base.find(b">") + 1
    if base[start - 2:start] == b"/>":
        bold = base[:start - 2].rstrip() + b"><b/></" + base[1:start - 2].split()[0] + b">"
    else:
        bold = base[:start] + b"<b/>" + base[start:]
    font_id = styles._add("fonts", bold)
    fill_id = styles.solid_fill(HEADER_FILL)
    xf = b'<%sxf numFmtId="0" fontId="%d" fillId="%d" borderId="0" xfId="0" applyFont="1" applyFill="1"/>' % (
        styles.prefix, font_id, fill_id)
    return styles._add("cellXfs", xf)


def _chart_parts(parts: _Parts, title: str, spec: Any) -> None:
    from openpyxl.xml.functions import tostring

    class _Sheet:  # what a chart's references need of a worksheet: its title
        def __init__(self, name: str):
            self.title = name

    chart = line_chart(_Sheet(title), spec)
    col, row = _anchor_cell(spec.anchor)
    cx, cy = (v * _EMU_PER_CM for v in _CHART_CM)
    parts["xl/charts/chart1.xml"] = tostring(chart._write())
    parts["xl/drawings/drawing1.xml"] = (
        b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        b'<xdr:wsDr xmlns:xdr="http://schemas.openxmlformats.org/drawingml/2006/spreadsheetDrawing" '
        b'xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main"><xdr:oneCellAnchor><xdr:from>'
        b"<xdr:col>%d</xdr:col><xdr:colOff>0</xdr:colOff><xdr:row>%d</xdr:row><xdr:rowOff>0</xdr:rowOff></xdr:from>"
        b'<xdr:ext cx="%d" cy="%d"/><xdr:graphicFrame macro=""><xdr:nvGraphicFramePr><xdr:cNvPr id="1" '
        b'name="Chart 1"/><xdr:cNvGraphicFramePr/></xdr:nvGraphicFramePr><xdr:xfrm><a:off x="0" y="0"/>'
        b'<a:ext cx="0" cy="0"/></xdr:xfrm><a:graphic><a:graphicData '
        b'uri="http://schemas.openxmlformats.org/drawingml/2006/chart"><c:chart '
        b'xmlns:c="http://schemas.openxmlformats.org/drawingml/2006/chart" '
        b'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships" r:id="rId1"/>'
        b"</a:graphicData></a:graphic></xdr:graphicFrame><xdr:clientData/></xdr:oneCellAnchor></xdr:wsDr>"
        % (col - 1, row - 1, cx, cy))
    parts["xl/drawings/_rels/drawing1.xml.rels"] = _rels_xml([("rId1", "chart", "../charts/chart1.xml")])


def _anchor_cell(at: str) -> tuple[int, int]:
    cell = pkg.parse_ref(at)
    return (cell[1], cell[0]) if cell else (1, 1)


def _rels_xml(rels: list[tuple[str, str, str]]) -> bytes:
    return (b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            b'<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            + b"".join(b'<Relationship Id="%s" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
                       b'relationships/%s" Target="%s"/>' % (i.encode(), t.encode(), x.encode()) for i, t, x in rels)
            + b"</Relationships>")


def _content_types(parts: _Parts) -> bytes:
    types = {"xl/charts/chart1.xml": "application/vnd.openxmlformats-officedocument.drawingml.chart+xml",
             "xl/drawings/drawing1.xml": "application/vnd.openxmlformats-officedocument.drawing+xml"}
    return (b'<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            + b"".join(b'<Override PartName="/%s" ContentType="%s"/>' % (name.encode(), kind.encode())
                       for name, kind in types.items() if name in parts)
            + b"</Types>")
