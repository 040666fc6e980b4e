"""The .xlsx package as its parts: the zip members, the workbook's tab list, relationships,
content types and the fills of the cell styles, read straight from the XML.

Both the fast reader (``xlsx_read``) and the patching writer (``xlsx_patch``) work on the
package this way, without building a workbook object: a part sheetsync does not change stays
the bytes it was, whatever program wrote it. Small parts (workbook, relationships, styles,
comments) are parsed with ElementTree; the big sheet parts are only searched.
"""

from __future__ import annotations

import posixpath
import re
import zipfile
from dataclasses import dataclass
from typing import Any, Iterator
from xml.etree import ElementTree as ET

MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG_REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
CT_NS = "http://schemas.openxmlformats.org/package/2006/content-types"

# Parts that are the same kind of thing whoever wrote them: relationship type -> last segment.
WORKSHEET = "worksheet"
COMMENTS = "comments"
VML = "vmlDrawing"
DRAWING = "drawing"


def local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def attr(element: ET.Element, local_name: str) -> str | None:
    """Attribute by local name whatever its namespace (r:id, r:embed)."""
    for key, value in element.attrib.items():
        if local(key) == local_name:
            return value
    return None


def rels_member(member: str) -> str:
    folder, name = posixpath.split(member)
    return posixpath.join(folder, "_rels", name + ".rels")


def resolve(source: str, target: str) -> str:
    """A relationship target as a zip member name, relative to the part it belongs to."""
    if target.startswith("/"):
        return target.lstrip("/")
    return posixpath.normpath(posixpath.join(posixpath.dirname(source), target))


def relative(source: str, member: str) -> str:
    """The target text naming ``member`` from ``source`` (as Excel writes it: relative)."""
    return posixpath.relpath(member, posixpath.dirname(source) or ".")


@dataclass(frozen=True)
class Rel:
    id: str
    type: str  # last segment of the type URI: "worksheet", "comments", "drawing"...
    target: str  # zip member (resolved), or the raw target of an external relationship
    external: bool = False


def read_rels(members: Any, member: str) -> list[Rel]:
    """The relationships of ``member``; ``members`` is a ZipFile or anything with ``get(name)``."""
    path = rels_member(member)
    data = _get(members, path)
    if data is None:
        return []
    out = []
    for rel in ET.fromstring(data):
        target = rel.get("Target") or ""
        external = rel.get("TargetMode") == "External"
        out.append(Rel(rel.get("Id") or "", (rel.get("Type") or "").rsplit("/", 1)[-1],
                       target if external else resolve(member, target), external))
    return out


def _get(members: Any, name: str) -> bytes | None:
    if isinstance(members, zipfile.ZipFile):
        try:
            return members.read(name)
        except KeyError:
            return None
    result: bytes | None = members.get(name)
    return result


def workbook_member(members: Any) -> str:
    for rel in read_rels(members, ""):
        if rel.type == "officeDocument":
            return rel.target
    return "xl/workbook.xml"


@dataclass(frozen=True)
class Sheet:
    """One tab as the workbook part lists it."""

    title: str
    sheet_id: int
    rel_id: str
    member: str  # its zip member
    kind: str  # "worksheet", "chartsheet", "dialogsheet"...
    state: str  # "visible", "hidden", "veryHidden"


def sheets(members: Any, workbook: str) -> list[Sheet]:
    """Every tab of the workbook part whose part exists, in workbook order."""
    rels = {r.id: r for r in read_rels(members, workbook)}
    data = _get(members, workbook) or b""
    out = []
    for element in ET.fromstring(data).iter():
        if local(element.tag) != "sheet":
            continue
        rel = rels.get(attr(element, "id") or "")
        if rel is None or rel.external:
            continue
        try:
            sheet_id = int(element.get("sheetId") or 0)
        except ValueError:
            sheet_id = 0
        out.append(Sheet(element.get("name") or "", sheet_id, rel.id, rel.target, rel.type,
                         element.get("state") or "visible"))
    return out


# ---------------------------------------------------------------------------------------------
# Styles: how each cell style's fill reads in a Snapshot


def colour_key(colour: ET.Element | None) -> str:
    """'FFC7CE' for an RGB colour; 'theme:4' / 'indexed:10' / 'auto' otherwise (openpyxl's
    default colour, black, when the element is missing)."""
    if colour is None:
        return "000000"
    rgb = colour.get("rgb")
    if rgb:
        return rgb[-6:].upper()
    for kind in ("theme", "indexed"):
        if colour.get(kind) is not None:
            return f"{kind}:{colour.get(kind)}"
    return "auto" if colour.get("auto") else "000000"


def fill_key(fill: ET.Element) -> str | None:
    """How a cell's background reads in a Snapshot: 'FFC7CE' for a solid fill (theme and palette
    colours as 'theme:4' / 'indexed:10', so a person's colour still counts as a fill), a
    pattern as 'pattern:<type>:<colour>', a gradient as 'gradient'; None for no fill. Patterns
    and gradients count as fills: sheetsync never paints over them."""
    for child in fill:
        kind = local(child.tag)
        if kind == "gradientFill":
            return "gradient"
        if kind != "patternFill":
            continue
        pattern = child.get("patternType")
        if pattern in (None, "none"):
            return None
        fg = next((c for c in child if local(c.tag) == "fgColor"), None)
        if pattern == "solid":
            return colour_key(fg)
        return f"pattern:{pattern}:{colour_key(fg)}"
    return None


def style_fills(styles_xml: bytes | None) -> list[str | None]:
    """The fill key of every cell style (cellXfs), by style index."""
    if not styles_xml:
        return []
    root = ET.fromstring(styles_xml)
    fills: list[str | None] = []
    xfs: list[ET.Element] = []
    for child in root:
        name = local(child.tag)
        if name == "fills":
            fills = [fill_key(f) for f in child]
        elif name == "cellXfs":
            xfs = list(child)
    out: list[str | None] = []
    for xf in xfs:
        try:
            fill_id = int(xf.get("fillId") or 0)
        except ValueError:
            fill_id = 0
        out.append(fills[fill_id] if 0 < fill_id < len(fills) else None)
    return out


def style_signatures(styles_xml: bytes | None) -> tuple[tuple[Any, ...], ...]:
    """Everything a cell style (cellXfs, by index) means for reading a cell: its attributes, the
    code of its number format (dates are recognised by it) and its fill key. A sheet that uses
    only the first n styles reads the same while these n signatures stay the same."""
    if not styles_xml:
        return ()
    root = ET.fromstring(styles_xml)
    codes: dict[str, str] = {}
    xfs: list[ET.Element] = []
    bases: list[ET.Element] = []
    for child in root:
        name = local(child.tag)
        if name == "numFmts":
            codes = {f.get("numFmtId") or "": f.get("formatCode") or "" for f in child}
        elif name == "cellXfs":
            xfs = list(child)
        elif name == "cellStyleXfs":
            bases = list(child)
    fills = style_fills(styles_xml)

    def base(xf: ET.Element) -> tuple[tuple[str, str], ...] | None:
        try:
            return tuple(sorted(bases[int(xf.get("xfId") or 0)].attrib.items()))
        except (ValueError, IndexError):
            return None
    return tuple((tuple(sorted(xf.attrib.items())), codes.get(xf.get("numFmtId") or "0"), base(xf),
                  fills[i] if i < len(fills) else None) for i, xf in enumerate(xfs))


def shared_strings_member(members: Any, workbook: str) -> str | None:
    return next((r.target for r in read_rels(members, workbook) if r.type == "sharedStrings"), None)


_SST_START = re.compile(rb"<(?:\w+:)?sst\b[^>]*>")


def shared_strings_body(sst_xml: bytes) -> bytes:
    """What the shared-strings part holds between its start tag (whose counts change with every
    string added) and its end tag: a part that only gained items at the end begins with the body
    it had, and the items it had keep their numbers."""
    start = _SST_START.search(sst_xml)
    if start is None:
        return b""
    end = sst_xml.rfind(b"</")
    return sst_xml[start.end():end] if end > start.end() else b""


_DATE1904 = re.compile(rb"<(?:\w+:)?workbookPr\b[^>]*?\bdate1904=\"(1|true)\"")


def uses_1904_dates(workbook_xml: bytes) -> bool:
    return _DATE1904.search(workbook_xml) is not None


def styles_member(members: Any, workbook: str) -> str | None:
    return next((r.target for r in read_rels(members, workbook) if r.type == "styles"), None)


# ---------------------------------------------------------------------------------------------
# Cells: references and the few regular patterns searched in sheet XML

_REF = re.compile(r"([A-Z]{1,3})([0-9]{1,7})$")


def column_number(letters: str | bytes) -> int:
    number = 0
    for ch in letters.encode() if isinstance(letters, str) else letters:
        number = number * 26 + ch - 64
    return number


def parse_ref(ref: str) -> tuple[int, int] | None:
    """'B12' -> (12, 2); None for anything else."""
    m = _REF.match(ref.replace("$", "").upper())
    return (int(m[2]), column_number(m[1])) if m else None


def parse_range(ref: str) -> tuple[int, int, int, int] | None:
    """'A1:C3' (or a single cell) -> (min_row, min_col, max_row, max_col)."""
    first, _, last = ref.partition(":")
    a = parse_ref(first)
    b = parse_ref(last) if last else a
    if a is None or b is None:
        return None
    return min(a[0], b[0]), min(a[1], b[1]), max(a[0], b[0]), max(a[1], b[1])


MERGE_CELL = re.compile(rb'<(?:\w+:)?mergeCell\b[^>]*?\bref="([^"]+)"')


def merged_ranges(sheet_xml: bytes) -> list[tuple[int, int, int, int]]:
    """Merged ranges of a sheet; they follow the cell data, so the search starts after it."""
    start = sheet_xml.rfind(b"sheetData>")
    start = sheet_xml.find(b"mergeCell", max(start, 0))
    if start < 0:
        return []
    out = []
    for m in MERGE_CELL.finditer(sheet_xml, start - 2):
        rng = parse_range(m[1].decode())
        if rng is not None:
            out.append(rng)
    return out


def comment_texts(comments_xml: bytes) -> Iterator[tuple[tuple[int, int], str, str]]:
    """((row, col), author, text) of every note in a comments part. The text is every run of
    the note joined (phonetic guides left out), as openpyxl and Excel show it."""
    root = ET.fromstring(comments_xml)
    authors: list[str] = []
    for child in root:
        name = local(child.tag)
        if name == "authors":
            authors = [a.text or "" for a in child]
        elif name == "commentList":
            for comment in child:
                cell = parse_ref(comment.get("ref") or "")
                if cell is None:
                    continue
                try:
                    author_id = int(comment.get("authorId") or 0)
                except ValueError:
                    author_id = -1
                author = authors[author_id] if 0 <= author_id < len(authors) else ""
                text_el = next((c for c in comment if local(c.tag) == "text"), None)
                yield cell, author, _text_of(text_el) if text_el is not None else ""


def _text_of(element: ET.Element) -> str:
    parts: list[str] = []

    def walk(node: ET.Element) -> None:
        for child in node:
            name = local(child.tag)
            if name == "rPh":
                continue
            if name == "t":
                parts.append(child.text or "")
            else:
                walk(child)

    walk(element)
    return "".join(parts)
