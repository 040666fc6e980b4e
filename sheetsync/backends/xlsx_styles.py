"""``styles.xml`` edited in place: sheetsync's fills added to the cell styles it needs, and the
styles of tabs built elsewhere brought in, without touching any style that is already there.

Each style list (numFmts, fonts, fills, borders, cellXfs) is kept as the exact bytes of its
entries; a new entry is appended only when no identical one exists, so painting and clearing
marks run after run does not make the file grow.
"""

from __future__ import annotations

import re
from typing import Any, Callable
from xml.etree import ElementTree as ET

from . import xlsx_package as pkg

_SECTIONS = ("numFmts", "fonts", "fills", "borders", "cellXfs")
# styleSheet children in the order the schema requires them (a new section goes in its place)
_ORDER = ("numFmts", "fonts", "fills", "borders", "cellStyleXfs", "cellXfs", "cellStyles", "dxfs",
          "tableStyles", "colors", "extLst")
_ID_ATTRS = {"numFmtId": "numFmts", "fontId": "fonts", "fillId": "fills", "borderId": "borders"}


def _entries(body: bytes, tag: bytes) -> list[bytes]:
    """The child elements ``tag`` of a section body, each as its exact bytes."""
    pattern = re.compile(rb"<(?:\w+:)?" + tag + rb"\b(?:[^>]*?/>|.*?</(?:\w+:)?" + tag + rb">)", re.S)
    return [m[0] for m in pattern.finditer(body)]


def set_attr(element: bytes, name: str, value: str | None) -> bytes:
    """``element`` with attribute ``name`` of its start tag set (None: removed)."""
    end = element.find(b">")
    head, rest = element[:end], element[end:]
    closed = head.endswith(b"/")
    if closed:
        head = head[:-1].rstrip()
    head = re.sub(rb"\s" + name.encode() + rb'="[^"]*"', b"", head)
    if value is not None:
        head += b" " + name.encode() + b'="' + value.encode() + b'"'
    return head + (b"/" if closed else b"") + rest


def get_attr(element: bytes, name: str) -> str | None:
    m = re.search(rb'\s' + name.encode() + rb'="([^"]*)"', element[:element.find(b">")])
    return m[1].decode() if m else None


class Styles:
    def __init__(self, xml: bytes | None):
        self.xml = xml or _EMPTY_STYLES
        self.prefix = _prefix(self.xml)
        self.lists: dict[str, list[bytes]] = {}
        self.original: dict[str, int] = {}
        for name in _SECTIONS:
            body = self._section_body(name)
            tag = {"numFmts": b"numFmt", "fonts": b"font", "fills": b"fill", "borders": b"border",
                   "cellXfs": b"xf"}[name]
            self.lists[name] = _entries(body, tag) if body is not None else []
            self.original[name] = len(self.lists[name])
        self.fill_keys: list[str | None] = [_fill_key(f) for f in self.lists["fills"]]
        self.changed = xml is None
        self._memo: dict[tuple[str, int, Any], int] = {}  # (what, style, argument) -> style

    # -- what is there --------------------------------------------------------------------------

    def _section(self, name: str) -> re.Match[bytes] | None:
        return re.search(rb"<(?:\w+:)?" + name.encode() + rb"\b[^>]*?(?:/>|>.*?</(?:\w+:)?" + name.encode() + rb">)",
                         self.xml, re.S)

    def _section_body(self, name: str) -> bytes | None:
        m = self._section(name)
        if m is None:
            return None
        text = m[0]
        start = text.find(b">") + 1
        return b"" if text[start - 2:start] == b"/>" else text[start:text.rfind(b"</")]

    def fill_of_style(self, index: int) -> str | None:
        """The fill key of cell style ``index`` (None: no fill)."""
        xfs = self.lists["cellXfs"]
        if not 0 <= index < len(xfs):
            return None
        try:
            fill_id = int(get_attr(xfs[index], "fillId") or 0)
        except ValueError:
            return None
        return self.fill_keys[fill_id] if 0 < fill_id < len(self.fill_keys) else None

    # -- adding ---------------------------------------------------------------------------------

    def _add(self, name: str, entry: bytes) -> int:
        entries = self.lists[name]
        try:
            return entries.index(entry)
        except ValueError:
            pass
        entries.append(entry)
        self.changed = True
        if name == "fills":
            self.fill_keys.append(_fill_key(entry))
        return len(entries) - 1

    def _once(self, key: tuple[str, int, Any], make: Callable[..., int], *args: Any) -> int:
        """``make(*args)``, worked out once per ``key`` (what, style, argument): a style asked for
        again (every painted cell of a column) is the one added the first time."""
        if key not in self._memo:
            self._memo[key] = make(*args)
        return self._memo[key]

    def solid_fill(self, rgb: str) -> int:
        """The index of a solid fill of colour ``rgb`` ('FFC7CE'), added when there is none."""
        return self._once(("solid", 0, rgb), self._solid_fill, rgb)

    def _solid_fill(self, rgb: str) -> int:
        for i, entry in enumerate(self.lists["fills"]):
            if i > 1 and self.fill_keys[i] == rgb and b'patternType="solid"' in entry:
                return i
        p = self.prefix
        colour = f'rgb="FF{rgb}"'.encode()
        return self._add("fills", b"<%sfill><%spatternFill patternType=\"solid\"><%sfgColor %s/><%sbgColor %s/>"
                                  b"</%spatternFill></%sfill>" % (p, p, p, colour, p, colour, p, p))

    def _xf(self, index: int) -> bytes:
        xfs = self.lists["cellXfs"]
        if 0 <= index < len(xfs):
            return xfs[index]
        return b'<%sxf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>' % self.prefix

    def wrapped_style(self, index: int) -> int:
        """Cell style ``index`` whose text wraps inside the cell, top-aligned (everything else kept)."""
        return self._once(("wrapped", index, None), self._wrapped_style, index)

    def _wrapped_style(self, index: int) -> int:
        p = self.prefix
        xf = set_attr(self._xf(index), "applyAlignment", "1")
        alignment = b'<%salignment vertical="top" wrapText="1"/>' % p
        xf = re.sub(rb"<(\w+:)?alignment\b[^>]*/>|<(\w+:)?alignment\b.*?</(\w+:)?alignment>", b"", xf, flags=re.S)
        if xf.endswith(b"/>"):
            xf = xf[:-2].rstrip() + b">" + alignment + b"</%sxf>" % p
        else:  # children (protection) follow the alignment
            start = xf.index(b">") + 1
            xf = xf[:start] + alignment + xf[start:]
        return self._add("cellXfs", xf)

    def with_fill(self, index: int, fill_id: int) -> int:
        """Cell style ``index`` with fill ``fill_id`` instead of its own (everything else kept)."""
        return self._once(("with_fill", index, fill_id), self._with_fill, index, fill_id)

    def _with_fill(self, index: int, fill_id: int) -> int:
        xf = set_attr(set_attr(self._xf(index), "fillId", str(fill_id)), "applyFill", "1")
        return self._add("cellXfs", xf)

    def without_fill(self, index: int) -> int:
        """Cell style ``index`` with no fill: the style the cell had before it was painted when
        it is still there (same font, border, number format, alignment...), else a new one."""
        return self._once(("without_fill", index, None), self._without_fill, index)

    def _without_fill(self, index: int) -> int:
        xf = set_attr(self._xf(index), "fillId", "0")
        plain = set_attr(xf, "applyFill", None)
        for i, other in enumerate(self.lists["cellXfs"]):
            if (get_attr(other, "fillId") or "0") == "0" and set_attr(set_attr(other, "fillId", "0"), "applyFill",
                                                                       None) == plain:
                return i
        return self._add("cellXfs", plain)

    def number_format_style(self, index: int, code: str) -> int:
        """Cell style ``index`` showing numbers in format ``code`` (a date format...)."""
        return self._once(("number_format", index, code), self._number_format_style, index, code)

    def _number_format_style(self, index: int, code: str) -> int:
        builtin = {"General": 0, "0": 1, "0.00": 2, "0%": 9, "0.00%": 10}
        fmt_id = builtin[code] if code in builtin else self.number_format_id(code)
        xf = set_attr(set_attr(self._xf(index), "numFmtId", str(fmt_id)), "applyNumberFormat", "1")
        return self._add("cellXfs", xf)

    def number_format_id(self, code: str) -> int:
        used = []
        for entry in self.lists["numFmts"]:
            fmt_id = int(get_attr(entry, "numFmtId") or 0)
            used.append(fmt_id)
            if _unescape(get_attr(entry, "formatCode") or "") == code:
                return fmt_id
        fmt_id = max([163, *used]) + 1
        self._add("numFmts", b'<%snumFmt numFmtId="%d" formatCode="%s"/>' % (self.prefix, fmt_id, _escape(code)))
        return fmt_id

    def import_style(self, other: "Styles", index: int, cache: dict[int, int]) -> int:
        """Cell style ``index`` of another stylesheet, added here (its font, fill, border and
        number format too). ``cache`` remembers what was brought over already."""
        if index in cache:
            return cache[index]
        xf = other._xf(index)
        for attr_name, section in _ID_ATTRS.items():
            value = get_attr(xf, attr_name)
            if value is None:
                continue
            old = int(value)
            if section == "numFmts":
                new = old
                if old >= 164:
                    code = next((_unescape(get_attr(e, "formatCode") or "") for e in other.lists["numFmts"]
                                 if int(get_attr(e, "numFmtId") or 0) == old), "General")
                    new = self.number_format_id(code)
            else:
                entries = other.lists[section]
                new = self._add(section, _with_prefix(entries[old], other.prefix, self.prefix)) if old < len(
                    entries) else 0
            xf = set_attr(xf, attr_name, str(new))
        xf = set_attr(xf, "xfId", "0")
        cache[index] = self._add("cellXfs", _with_prefix(xf, other.prefix, self.prefix))
        return cache[index]

    # -- writing --------------------------------------------------------------------------------

    def to_bytes(self) -> bytes:
        xml = self.xml
        for name in _SECTIONS:
            entries = self.lists[name]
            present = self._section(name) is not None
            if len(entries) == self.original[name] and (present or not entries):
                continue
            p = self.prefix.decode()
            section = (f'<{p}{name} count="{len(entries)}">'.encode() + b"".join(entries)
                       + f"</{p}{name}>".encode())
            m = re.search(rb"<(?:\w+:)?" + name.encode() + rb"\b[^>]*?(?:/>|>.*?</(?:\w+:)?" + name.encode() + rb">)",
                          xml, re.S)
            if m is not None:
                xml = xml[:m.start()] + section + xml[m.end():]
            else:
                xml = _insert_section(xml, name, section)
        return xml


def _insert_section(xml: bytes, name: str, section: bytes) -> bytes:
    """Put a new section before the first later one that exists, or at the end."""
    later = _ORDER[_ORDER.index(name) + 1:]
    best = None
    for other in later:
        m = re.search(rb"<(?:\w+:)?" + other.encode() + rb"\b", xml)
        if m is not None and (best is None or m.start() < best):
            best = m.start()
    if best is None:
        best = xml.rfind(b"</")
    return xml[:best] + section + xml[best:]


def _prefix(xml: bytes) -> bytes:
    m = re.search(rb"<(\w+:)?styleSheet\b", xml)
    return (m[1] or b"") if m else b""


def _with_prefix(entry: bytes, old: bytes, new: bytes) -> bytes:
    if old == new:
        return entry
    return re.sub(rb"(</?)" + re.escape(old) + rb"(?=\w)" if old else rb"(</?)(?=\w)", rb"\1" + new, entry)


def _fill_key(entry: bytes) -> str | None:
    try:
        return pkg.fill_key(ET.fromstring(re.sub(rb"<(/?)\w+:", rb"<\1", entry)))
    except ET.ParseError:
        return None


def _escape(text: str) -> bytes:
    return text.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;").replace(">", "&gt;").encode()


def _unescape(text: str) -> str:
    return text.replace("&quot;", '"').replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


_EMPTY_STYLES = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    b'<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    b'<fonts count="1"><font><sz val="11"/><name val="Calibri"/></font></fonts>'
    b'<fills count="2"><fill><patternFill patternType="none"/></fill>'
    b'<fill><patternFill patternType="gray125"/></fill></fills>'
    b'<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    b'<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    b'<cellXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/></cellXfs>'
    b'<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
    b'</styleSheet>'
)
