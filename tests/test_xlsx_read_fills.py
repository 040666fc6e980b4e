"""Which cells of a sheet part carry a filled style, found without parsing the part: every way a
writer may lay out its cells reads as a walk over the XML (``_fills_by_position``) reads it."""

from __future__ import annotations

import pytest

from sheetsync.backends.xlsx_read import _fills_by_position, styled_fills

NS = b'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
# style 0 plain, 3 and 5 filled, 30 plain (so s="3" must not match s="30")
FILLS = [None, None, None, "FFC7CE", None, "DDEBF7"] + [None] * 30


def sheet(rows: bytes, head: bytes = b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n') -> bytes:
    return head + b"<worksheet " + NS + b"><sheetData>" + rows + b"</sheetData></worksheet>"


CASES = {
    "Excel": sheet(b'<row r="1" spans="1:3"><c r="A1" s="3" t="s"><v>0</v></c><c r="B1" s="30"><v>1</v></c>'
                   b'<c r="C1" s="5"/></row><row r="2" s="3" customFormat="1"><c r="A2"><v>2</v></c></row>'),
    "style first": sheet(b'<row r="4"><c s="5" r="B4" t="n"><v>1</v></c><c t="s" s="3" r="C4"><v>0</v></c></row>'),
    "attributes one per line": sheet(b'<row r="2">\n  <c\n r="A2"\n s="3"\n t="s"><v>0</v></c>\n'
                                     b'\t<c\tr="B2"\ts="5"/>\r\n<c\r\nr="C2"\r\ns="30"/></row>'),
    "prefixed": b'<x:worksheet xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><x:sheetData>'
                b'<x:row r="7"><x:c r="D7" s="3"><x:v>1</x:v></x:c><x:c r="E7" s="0"/></x:row>'
                b"</x:sheetData></x:worksheet>",
    "the words in a cell": sheet(b'<row r="1"><c r="A1" t="inlineStr"><is><t>class s="3" and s="5"</t></is></c>'
                                 b'<c r="B1" s="5" t="inlineStr"><is><t>\n s="3"</t></is></c></row>'),
    "no filled cell": sheet(b'<row r="1"><c r="A1" s="30"><v>1</v></c></row>'),
    "no cell references": sheet(b'<row><c s="3"><v>1</v></c><c><v>2</v></c><c s="5"/></row><row><c/><c s="5"/></row>'),
}


@pytest.mark.parametrize("name", CASES)
def test_filled_cells_are_those_a_walk_over_the_xml_finds(name: str) -> None:
    xml = CASES[name]
    filled = {i: key for i, key in enumerate(FILLS) if key is not None}
    assert styled_fills(xml, FILLS) == _fills_by_position(xml, filled)


@pytest.mark.parametrize("name, expected", [
    ("Excel", {(1, 1): "FFC7CE", (1, 3): "DDEBF7"}),
    ("style first", {(4, 2): "DDEBF7", (4, 3): "FFC7CE"}),
    ("attributes one per line", {(2, 1): "FFC7CE", (2, 2): "DDEBF7"}),
    ("prefixed", {(7, 4): "FFC7CE"}),
    ("the words in a cell", {(1, 2): "DDEBF7"}),
    ("no filled cell", {}),
    ("no cell references", {(1, 1): "FFC7CE", (1, 3): "DDEBF7", (2, 2): "DDEBF7"}),
])
def test_filled_cells(name: str, expected: dict) -> None:
    assert styled_fills(CASES[name], FILLS) == expected


def test_many_filled_styles_are_looked_up_one_by_one() -> None:
    """A workbook with dozens of filled cell styles (Excel's own cell styles, many people's
    colours): every style number is read and looked up instead of searched for by name."""
    fills = [None] + [f"{i:06X}" for i in range(1, 40)]
    cells = b"".join(b'<c r="%s1" s="%d"/>' % (bytes([65 + i]), i) for i in range(0, 26))
    xml = sheet(b'<row r="1">' + cells + b"</row>")
    assert styled_fills(xml, fills) == {(1, i + 1): f"{i:06X}" for i in range(1, 26)}
    assert styled_fills(xml, fills) == _fills_by_position(xml, {i: k for i, k in enumerate(fills) if k})
