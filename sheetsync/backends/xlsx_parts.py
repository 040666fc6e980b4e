"""Find what openpyxl would lose when it saves an .xlsx file.

openpyxl rewrites the whole package on save and keeps only what it models: cells, styles,
notes, merged ranges, data validation, tables and its own charts. Pictures (without Pillow),
shapes, text boxes, form controls, slicers, sparklines and macros silently disappear, and
pivot tables, external links and Excel-made charts come back altered. Before sheetsync writes a
workbook it looks inside the zip for such parts, so it can refuse instead of deleting a
person's work. A part is named by a key of ``messages/backends.toml`` (``backends.parts.*``),
rendered in the template's language.

The scan reads only the package's relationship files, drawings and the end of each sheet XML;
it never parses cell data, so it costs little next to loading the workbook.
"""

from __future__ import annotations

import io
import os
import posixpath
import re
import zipfile
from dataclasses import dataclass
from typing import Iterable, Iterator
from xml.etree import ElementTree as ET

from .base import Reason
from .xlsx_package import attr as _attr, local as _local

# Sheet-level extensions openpyxl drops on load ("... extension is not supported and will be
# removed"). Only those whose loss removes something a person made are listed; ignored-error
# markers and conditional-format refinements degrade gracefully and are not.
_DROPPED_SHEET_EXTENSIONS = {
    "{05C60535-1F16-4FD2-B633-F4F36F0B64E0}": ("sparkline", "sparkline"),
    "{CCE6A557-97BC-4B89-ADB6-D9C93CAAB3DF}": ("validation", "cross_sheet_dropdown"),
    "{A8765BA9-456A-4DAB-B4F3-ACF838C121DE}": ("slicer", "slicer"),
    "{3A4CF648-6AED-40F4-86FF-DC5316D8AED3}": ("slicer", "slicer"),
    "{7E03D99C-DC04-49D9-9315-930204A7B6E9}": ("timeline", "timeline"),
}
_EXT_URI = re.compile(rb'<(?:\w+:)?ext\b[^>]*\buri="(\{[0-9A-Fa-f-]+\})"')

# Relationship type (last path segment) of a worksheet's own parts -> (kind, label).
_SHEET_RELS = {
    "pivotTable": ("pivot", "pivot"),
    "slicer": ("slicer", "slicer"),
    "timeline": ("timeline", "timeline"),
    "image": ("image", "background_image"),
    "oleObject": ("object", "embedded_object"),
    "package": ("object", "embedded_object"),
    "control": ("control", "activex"),
    "ctrlProp": ("control", "form_control"),
}

# Relationship type of workbook-wide parts -> (kind, label).
_WORKBOOK_RELS = {
    "vbaProject": ("vba", "vba"),
    "externalLink": ("external", "external_link"),
    "connections": ("connection", "data_connection"),
}

_ANCHOR_FRAME = {"from", "to", "pos", "ext", "clientData"}


@dataclass(frozen=True)
class Part:
    """One thing openpyxl cannot keep. ``sheet`` is the tab it sits on (None: whole workbook)."""

    sheet: str | None
    kind: str  # chart, image, shape, object, pivot, slicer, control, sparkline, vba, ...
    path: str  # the zip member, so a person (or support) can find it
    what: str  # what a person calls it: a key under backends.parts (image, chart, pivot...)
    title: str | None = None  # the chart sheet's title, for what == "chartsheet"

    @property
    def label(self) -> Reason:
        """What a person reads, e.g. "the picture on Stock (xl/media/image1.png)"."""
        what = Reason(f"backends.parts.{self.what}", title=self.title)
        if self.sheet is None:
            return Reason("backends.parts.in_workbook", what=what, path=self.path)
        return Reason("backends.parts.on_sheet", sheet=self.sheet, what=what, path=self.path)


def unkeepable_parts(path_or_bytes: str | os.PathLike | bytes, allowed_sheets: set[str]) -> list[Reason]:
    """The names (keyed messages) of the parts a save through openpyxl would delete or alter.

    Charts on ``allowed_sheets`` are not listed: those are the tabs whose chart sheetsync
    writes itself (the job-owned tabs it rewrites), so losing the old chart there is intended.
    """
    return keep_blockers(scan_parts(path_or_bytes), allowed_sheets)


def keep_blockers(parts: Iterable[Part], allowed_sheets: set[str]) -> list[Reason]:
    """Labels of ``parts`` except charts on ``allowed_sheets``, each label once, in order."""
    labels = (p.label for p in parts if not (p.kind == "chart" and p.sheet in allowed_sheets))
    return list(dict.fromkeys(labels))


def scan_parts(path_or_bytes: str | os.PathLike | bytes) -> list[Part]:
    """Every part of the package that openpyxl would drop or rewrite, in workbook order."""
    source = io.BytesIO(path_or_bytes) if isinstance(path_or_bytes, (bytes, bytearray)) else path_or_bytes
    with zipfile.ZipFile(source) as zf:
        return _Package(zf).scan()


def worksheet_members(zf: zipfile.ZipFile) -> dict[str, str]:
    """Zip member of each worksheet, by tab title, as the package's own workbook part and
    relationships name them (no guessing at a writer's file-naming scheme)."""
    package = _Package(zf)
    workbook = package.workbook_member()
    wb_rels = {r.id: r for r in package.rels(workbook)}
    return {title: rel.target for title, rel in package.sheets(workbook, wb_rels) if rel.type == "worksheet"}


@dataclass(frozen=True)
class _Rel:
    id: str
    type: str  # last segment of the relationship type URI: "drawing", "chart", "image"...
    target: str  # zip member name, resolved against the source part


class _Package:
    def __init__(self, zf: zipfile.ZipFile):
        self.zf = zf
        self.names = set(zf.namelist())

    def xml(self, member: str) -> ET.Element:
        return ET.fromstring(self.zf.read(member))

    def rels(self, member: str) -> list[_Rel]:
        """Internal relationships of ``member`` (external hyperlinks and files are skipped)."""
        folder, name = posixpath.split(member)
        rels_path = posixpath.join(folder, "_rels", name + ".rels")
        if rels_path not in self.names:
            return []
        out = []
        for rel in self.xml(rels_path):
            target = rel.get("Target") or ""
            if rel.get("TargetMode") == "External" or not target:
                continue
            if target.startswith("/"):
                resolved = target.lstrip("/")
            else:
                resolved = posixpath.normpath(posixpath.join(folder, target))
            out.append(_Rel(rel.get("Id") or "", (rel.get("Type") or "").rsplit("/", 1)[-1], resolved))
        return out

    def workbook_member(self) -> str:
        for rel in self.rels(""):
            if rel.type == "officeDocument":
                return rel.target
        return "xl/workbook.xml"

    def sheets(self, workbook: str, wb_rels: dict[str, _Rel]) -> Iterator[tuple[str, _Rel]]:
        """(title, relationship) of every sheet the workbook part lists whose part exists."""
        for sheet in self.xml(workbook).iter():
            if _local(sheet.tag) != "sheet":
                continue
            rel = wb_rels.get(_attr(sheet, "id") or "")
            if rel is not None and rel.target in self.names:
                yield sheet.get("name") or "", rel

    def scan(self) -> list[Part]:
        workbook = self.workbook_member()
        wb_rels = {r.id: r for r in self.rels(workbook)}
        parts: list[Part] = []
        for title, rel in self.sheets(workbook, wb_rels):
            if rel.type == "chartsheet":
                parts.append(Part(None, "chartsheet", rel.target, "chartsheet", title))
            else:
                parts.extend(self.sheet_parts(title, rel.target))
        for rel in wb_rels.values():
            if rel.type in _WORKBOOK_RELS:
                kind, what = _WORKBOOK_RELS[rel.type]
                parts.append(Part(None, kind, rel.target, what))
        if not any(p.kind == "pivot" for p in parts):
            parts.extend(
                Part(None, "pivot", r.target, "pivot_cache")
                for r in wb_rels.values() if r.type == "pivotCacheDefinition"
            )
        return parts

    def sheet_parts(self, title: str, member: str) -> Iterator[Part]:
        for rel in self.rels(member):
            if rel.type == "drawing" and rel.target in self.names:
                yield from self.drawing_parts(title, rel.target)
            elif rel.type == "vmlDrawing":
                yield from (
                    Part(title, "image", r.target, "header_footer_image")
                    for r in self.rels(rel.target) if r.type == "image"
                )
            elif rel.type in _SHEET_RELS:
                kind, what = _SHEET_RELS[rel.type]
                yield Part(title, kind, rel.target, what)
        for uri in self.sheet_extensions(member):
            if uri in _DROPPED_SHEET_EXTENSIONS:
                kind, what = _DROPPED_SHEET_EXTENSIONS[uri]
                yield Part(title, kind, member, what)

    def sheet_extensions(self, member: str) -> list[str]:
        """URIs of the extensions in a sheet XML. Extension lists follow the cell data, so the
        search starts at the first mention of one instead of running through every cell."""
        xml = self.zf.read(member)
        start = xml.find(b"extLst")
        if start < 0:
            return []
        return list(dict.fromkeys(m.group(1).decode().upper() for m in _EXT_URI.finditer(xml, start)))

    def drawing_parts(self, title: str, member: str) -> Iterator[Part]:
        """One part per object anchored in the drawing: charts, pictures, shapes, others."""
        rels = {r.id: r for r in self.rels(member)}
        for content in _anchored_objects(self.xml(member)):
            kind = _local(content.tag)
            if kind == "pic":
                blip = next((e for e in content.iter() if _local(e.tag) == "blip"), None)
                rel = rels.get(_attr(blip, "embed") or "") if blip is not None else None
                yield Part(title, "image", rel.target if rel else member, "image")
            elif kind == "graphicFrame":
                yield self.frame_part(title, member, content, rels)
            elif kind in ("sp", "cxnSp", "grpSp"):
                yield Part(title, "shape", member, "shape")
            else:
                yield Part(title, "object", member, "drawing_object")

    @staticmethod
    def frame_part(title: str, member: str, frame: ET.Element, rels: dict[str, _Rel]) -> Part:
        """A graphic frame holds a chart, a newer-style chart, SmartArt or an embedded object."""
        for element in frame.iter():
            rel = rels.get(_attr(element, "id") or "")
            if rel is None:
                continue
            if rel.type == "chart":
                return Part(title, "chart", rel.target, "chart")
            if rel.type.lower() == "chartex":
                return Part(title, "object", rel.target, "chartex")
        return Part(title, "object", member, "smartart")


def _anchored_objects(drawing: ET.Element) -> Iterator[ET.Element]:
    """The object inside each anchor, looking through mc:AlternateContent wrappers (Excel wraps
    form controls and newer objects in them, at the top level or inside an anchor)."""
    for anchor in _unwrap(drawing):
        for child in _unwrap(anchor):
            if _local(child.tag) not in _ANCHOR_FRAME:
                yield child
                break


def _unwrap(parent: ET.Element) -> Iterator[ET.Element]:
    for child in parent:
        if _local(child.tag) == "AlternateContent":
            choice = next(iter(child), None)
            if choice is not None:
                yield from choice
        else:
            yield child
