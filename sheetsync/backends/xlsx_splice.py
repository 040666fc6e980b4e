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
import posixpath
import re
from typing import Any, Callable
from xml.sax.saxutils import escape, quoteattr

from openpyxl import Workbook as OpenpyxlWorkbook

from ..core.model import AppendRows, ReplaceTab, TabLayout
from . import xlsx_package as pkg
from .xlsx_patch import (CONTENT_TYPES, CT_WORKSHEET, PatchError, Workbook, _rel_entries, add_override, add_rel,
                         ensure_default, free_member, remove_override, remove_rels, value_cell)
from .xlsx_styles import Styles, get_attr, set_attr
from .xlsx_write import add_layout_tab
from .xlsx_write import append_rows as openpyxl_append_rows
from .xlsx_write import replace_tab as openpyxl_replace_tab
from .xlsx_zip import Package

# the parts that belong to one sheet and go when it is rewritten
_SHEET_OWNED = {"comments", "vmlDrawing", "drawing", "table", "threadedComment", "chart", "chartUserShapes",
                "chartStyle", "chartColorStyle", "image"}


def replace_tab(wb: Workbook, op: ReplaceTab) -> None:
    splice(wb, _built(lambda temp: openpyxl_replace_tab(temp, op)), op.tab, op.hidden)


def add_tab(wb: Workbook, layout: TabLayout) -> None:
    splice(wb, _built(lambda temp: add_layout_tab(temp, layout)), layout.title, layout.hidden)


def append_rows(wb: Workbook, op: AppendRows) -> None:
    """Rows after the last row holding a value; a missing or empty tab is laid out first."""
    info = wb.worksheet(op.tab)
    if info is None or wb.sheet(op.tab)[0].last_row_with_value() == 0:
        wb.forget(op.tab)
        hidden = info is not None and info.state != "visible"
        splice(wb, _built(lambda temp: openpyxl_append_rows(temp, op)), op.tab, hidden)
        return
    sheet, _notes = wb.sheet(op.tab)
    last = sheet.last_row_with_value()
    p = sheet.p
    for r, row in enumerate(op.rows, start=last + 1):
        cells = []
        for c, value in enumerate(row, start=1):
            if value is None:
                continue
            ref = f"{pkg_column(c)}{r}".encode()
            xml, number_format = value_cell(ref, 0, value, p)
            if number_format is not None:
                xml, _ = value_cell(ref, wb.styles.number_format_style(0, number_format), value, p)
            cells.append(xml)
        sheet.edits[r] = b'<%srow r="%d">' % (p, r) + b"".join(cells) + b"</%srow>" % p
        sheet.changed = True


def pkg_column(col: int) -> str:
    from ..core.model import column_letter

    return column_letter(col)


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
    """Put the only tab of the package ``built`` into ``wb`` as tab ``title`` (replacing a tab
    of that title in place, or added at the end)."""
    wb.forget(title)
    package = wb.package
    source = Package(built)
    src_workbook = pkg.workbook_member(source.zf)
    src_sheet = next(s for s in pkg.sheets(source.zf, src_workbook) if s.kind == pkg.WORKSHEET)
    src_styles_member = pkg.styles_member(source.zf, src_workbook)
    src_styles = Styles(source.read(src_styles_member) if src_styles_member else None)
    xml = _restyled(source.read(src_sheet.member), src_styles, wb.styles)
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
    _copy_rels(source, src_sheet.member, package, member, {})
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
