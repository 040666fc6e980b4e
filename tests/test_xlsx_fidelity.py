"""A workbook as Excel and WPS save it, with everything a jewellery shop puts in one, goes
through ``sheetsync run`` and comes out with every part people made byte for byte the same.

The file is built from the OOXML those programs write (tests/excel_made.py): product photos on
选品检查表, a chart on 库存, a VBA project (.xlsm), an Excel 365 threaded comment, a WPS in-cell
picture, an x14 conditional format referring to another tab, a pivot table and a defined name. The result is
read back by openpyxl and by python-calamine, and LibreOffice converts it.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import zipfile
from datetime import datetime
from pathlib import Path

import openpyxl
import pytest
from python_calamine import CalamineWorkbook

from excel_made import STYLE_BORDER, STYLE_PATTERN, ExcelBook, Note, Sheet, dispimg_cell, ref, threaded_stand_in
from sheetsync.backends.xlsx import XlsxBackend
from sheetsync.cli import main
from sheetsync.core.model import MARK_FILL, NOTE_PREFIX, ChangeSet, Paint
from sheetsync.demo import demo_rows
from sheetsync.templates import load_template

NOW = datetime(2026, 11, 22, 20, 0)
# openpyxl, reading the result back, says it does not keep x14 conditional formats (sheetsync does)
pytestmark = [pytest.mark.filterwarnings("ignore:Conditional Formatting extension:UserWarning"),
              pytest.mark.usefixtures("chinese")]
IMAGE_ID = "ID_8F3A1C0B5E2D4F6A9B7C1D2E3F4A5B6C"
# the parts people made, which must come out unchanged
KEPT = [
    "xl/media/image1.png",  # the product photo on 选品检查表
    "xl/drawings/drawing1.xml",
    "xl/drawings/_rels/drawing1.xml.rels",
    "xl/charts/chart1.xml",  # the chart on 库存
    "xl/drawings/drawing2.xml",
    "xl/vbaProject.bin",
    "xl/persons/person.xml",
    "xl/cellimages.xml",  # the WPS in-cell picture
    "xl/_rels/cellimages.xml.rels",
    "xl/media/image2.png",
    "xl/theme/theme1.xml",
    "xl/sharedStrings.xml",
    "docProps/app.xml",
    "xl/pivotTables/pivotTable1.xml",  # the pivot table on 销售汇总, its cache and records
    "xl/pivotTables/_rels/pivotTable1.xml.rels",
    "xl/pivotCache/pivotCacheDefinition1.xml",
    "xl/pivotCache/pivotCacheRecords1.xml",
]


def kept_parts(book: ExcelBook) -> list[str]:
    """KEPT, the threaded comment on 售后纠纷 and the person's own tab 销售汇总 (sheetsync never
    touches a tab it has no business with)."""
    disputes = [s.title for s in book.sheets].index("售后纠纷") + 1
    return [*KEPT, f"xl/threadedComments/threadedComment{disputes}.xml", sheet_member("销售汇总", book)]


def shop_book() -> ExcelBook:
    rows = demo_rows(NOW, load_template("zh-CN"))
    sheets = {title: Sheet(title, tab_rows) for title, tab_rows in rows.items()}
    selection = sheets["选品检查表"]
    width = len(selection.rows[0])
    selection.picture_at = (width + 1, 1)
    selection.raw_cells[ref(1, width + 1)] = ""  # no header: the picture column is not the template's
    selection.raw_cells[ref(2, width + 1)] = dispimg_cell(ref(2, width + 1), IMAGE_ID)
    selection.styles["F19"] = STYLE_PATTERN  # a person's own pattern on a cell with a problem (too few samples)
    stock = sheets["库存"]
    stock.chart_of = "$C$2:$C$10"
    stock.x14_rule = ("C2:C20", "库存!$C2<推广确认单!$E$2")
    stock.styles["C19"] = STYLE_BORDER  # a person's border and bold font on a cell with a problem (-1)
    stock.notes.append(Note("D18", "小王", "这个价格是促销前的, 先别动", visible=True, width_pt=216.75, height_pt=93.75))
    disputes = sheets["售后纠纷"]
    disputes.threaded.append(("B3", "能再确认一下物流单号吗"))
    disputes.notes.append(Note("B3", "tc={6C1C2C3E-5A77-4B2E-9C3F-1D2E3F4A5B6C}", threaded_stand_in(
        "能再确认一下物流单号吗"), threaded=True))
    summary = Sheet("销售汇总", [["按 SKU 汇总"], [], ["行标签", "求和项:数量"], ["A", 1], ["B", 5], ["总计", 6]])
    summary.pivot_of = ("库存", "A1:B3")
    return ExcelBook([*sheets.values(), summary], vba=True, wps_image=IMAGE_ID, defined_name=("进货单价", "库存!$D$2:$D$20"))


def members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as zf:
        return {name: zf.read(name) for name in zf.namelist()}


def sheet_member(title: str, book: ExcelBook) -> str:
    index = [s.title for s in book.sheets].index(title) + 1
    return f"xl/worksheets/sheet{index}.xml"


def element(xml: bytes, pattern: bytes) -> bytes:
    m = re.search(pattern, xml, re.S)
    assert m is not None, pattern
    return m[0]


def cell_xml(xml: bytes, at: str) -> bytes:
    return element(xml, rb'<c r="' + at.encode() + rb'"[^>]*?(?:/>|>.*?</c>)')


def note_shape(vml: bytes, row: int, col: int) -> bytes:
    shapes = re.findall(rb"<v:shape\b.*?</v:shape>", vml, re.S)
    found = [s for s in shapes if f"<x:Row>{row - 1}</x:Row>".encode() in s
             and f"<x:Column>{col - 1}</x:Column>".encode() in s]
    assert len(found) == 1
    return found[0]


def run(*argv: str) -> int:
    return main(["run", *argv, "--now", "2026-11-22T20:00:00+08:00", "--no-send"])


def set_number(path: Path, member: str, at: str, value: int) -> None:
    """What a person's edit in Excel changes for one number: that cell's value, nothing else."""
    with zipfile.ZipFile(path) as zf:
        parts = {info: zf.read(info) for info in zf.infolist()}
    for info, content in parts.items():
        if info.filename == member:
            parts[info] = re.sub(rb'(<c r="' + at.encode() + rb'"[^>]*>)<v>[^<]*</v>', rb"\g<1><v>%d</v>" % value,
                                 content)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for info, content in parts.items():
            zf.writestr(info, content)


def test_everything_people_made_survives_a_run_byte_for_byte(here: Path) -> None:
    book = shop_book()
    path = book.save(here / "shop.xlsm")
    before = members(path)
    stock_member = sheet_member("库存", book)
    selection_member = sheet_member("选品检查表", book)

    assert run("--workbook", str(path)) == 0

    after = members(path)
    kept = kept_parts(book)
    assert {name: after[name] for name in kept} == {name: before[name] for name in kept}
    # x14 conditional format (refers to another tab), the in-cell picture's formula, the defined name
    x14 = rb"<extLst>.*?</extLst>"
    assert element(after[stock_member], x14) == element(before[stock_member], x14)
    dispimg = rb'<c r="[A-Z]+2" t="str"><f>_xlfn\.DISPIMG.*?</c>'
    assert element(after[selection_member], dispimg) == element(before[selection_member], dispimg)
    for names in (rb"<definedNames>.*?</definedNames>", rb"<pivotCaches>.*?</pivotCaches>"):
        assert element(after["xl/workbook.xml"], names) == element(before["xl/workbook.xml"], names)
    # the threaded comment's legacy stand-in and its box are kept beside sheetsync's notes
    disputes = sheet_member("售后纠纷", book)
    vml = next(n for n in before if n.endswith(".vml") and "vmlDrawing" in n and _rels_target(before, disputes, n))
    assert note_shape(after[vml], 3, 2) == note_shape(before[vml], 3, 2)
    # nothing that was there is gone; what was added is sheetsync's own tabs and notes
    assert set(before) <= set(after)

    # read back by openpyxl and by calamine: values, fills, notes
    wb = openpyxl.load_workbook(path)
    assert {"问题清单", "周报", "运行记录", "_sheetsync"} <= set(wb.sheetnames)
    stock = wb["库存"]
    assert stock["C6"].value == 2.5 and stock["C6"].fill.fgColor.rgb == "FF" + MARK_FILL
    assert stock["C6"].comment.text.startswith(NOTE_PREFIX)
    assert stock["D18"].comment.text.endswith("这个价格是促销前的, 先别动")
    assert len(wb["周报"]._charts) == 1 and len(stock._charts) == 1
    assert wb["售后纠纷"]["B3"].comment.text.startswith("[Threaded comment]")
    calamine = CalamineWorkbook.from_path(str(path))
    assert calamine.get_sheet_by_name("库存").to_python()[5][2] == 2.5
    snap = XlsxBackend(path).read()
    assert snap.tab("库存").fills[(6, 3)] == MARK_FILL and snap.tab("库存").notes[(6, 3)].startswith(NOTE_PREFIX)
    assert snap.tab("选品检查表").fills[(19, 6)].startswith("pattern:darkGrid")

    # an unchanged workbook: the next run writes nothing
    assert run("--workbook", str(path)) == 0
    assert members(path) == after


def _rels_target(package: dict[str, bytes], sheet: str, member: str) -> bool:
    folder, name = sheet.rsplit("/", 1)
    rels = package.get(f"{folder}/_rels/{name}.rels", b"")
    return member.rsplit("/", 1)[1].encode() in rels


def test_a_persons_pattern_fill_note_box_and_border_are_as_they_were_once_fixed(here: Path) -> None:
    book = shop_book()
    path = book.save(here / "shop.xlsm")
    stock_member = sheet_member("库存", book)
    selection_member = sheet_member("选品检查表", book)
    before = members(path)
    vml = "xl/drawings/vmlDrawing1.vml"
    assert _rels_target(before, stock_member, vml)
    their_box = note_shape(before[vml], 18, 4)
    assert b"width:216.75pt;height:93.75pt" in their_box and b"<x:Visible/>" in their_box

    assert run("--workbook", str(path)) == 0
    first = members(path)
    # their pattern (F19) and their note (D18) are left alone, and said so; their bordered C19 is painted
    assert cell_xml(first[selection_member], "F19") == cell_xml(before[selection_member], "F19")
    assert note_shape(first[vml], 18, 4) == their_box
    snap = XlsxBackend(path).read()
    assert (19, 3) in snap.tab("库存").notes and snap.tab("库存").fills[(19, 3)] == MARK_FILL

    set_number(path, selection_member, "F19", 5)  # enough samples now
    set_number(path, stock_member, "D18", 50)  # a price above zero
    set_number(path, stock_member, "C19", 1)  # stock above zero
    assert run("--workbook", str(path)) == 0

    fixed = members(path)
    assert cell_xml(fixed[selection_member], "F19") == cell_xml(before[selection_member], "F19").replace(
        b"<v>1</v>", b"<v>5</v>")
    assert cell_xml(fixed[stock_member], "C19") == cell_xml(before[stock_member], "C19").replace(
        b"<v>-1</v>", b"<v>1</v>")  # sheetsync's red is gone: the same style as before, border and bold
    assert note_shape(fixed[vml], 18, 4) == their_box
    snap = XlsxBackend(path).read()
    assert snap.tab("库存").notes[(18, 4)].endswith("这个价格是促销前的, 先别动")
    assert (19, 3) not in snap.tab("库存").notes and (19, 3) not in snap.tab("库存").fills
    ws = openpyxl.load_workbook(path)["库存"]
    assert ws["C19"].font.b and ws["C19"].border.left.style == "thin" and ws["C19"].fill.fill_type is None
    selection = openpyxl.load_workbook(path)["选品检查表"]
    assert (selection["F19"].fill.fill_type, selection["F19"].fill.fgColor.rgb) == ("darkGrid", "FFFFC000")


@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice (soffice) is not installed")
def test_libreoffice_opens_what_sheetsync_wrote(here: Path) -> None:
    path = shop_book().save(here / "shop.xlsm")
    assert run("--workbook", str(path)) == 0
    profile = here / "lo-profile"
    done = subprocess.run(
        ["soffice", f"-env:UserInstallation={profile.as_uri()}", "--headless", "--convert-to", "pdf",
         "--outdir", str(here / "pdf"), str(path)],
        capture_output=True, text=True, timeout=240,
    )
    pdf = here / "pdf" / "shop.pdf"
    assert done.returncode == 0 and pdf.is_file() and pdf.stat().st_size > 1000, done.stderr


def test_a_sheet_written_without_cell_references_is_patched(tmp_path: Path) -> None:
    """Some programs leave out the optional row and cell references (r="2", r="B2")."""
    book = ExcelBook([Sheet("库存", [["SKU", "库存", "备注"], ["A1", 3, "x"], ["B2", -1, None], ["C3", 5, "y"]])])
    path = book.save(tmp_path / "shop.xlsx")
    with zipfile.ZipFile(path) as zf:
        parts = {name: zf.read(name) for name in zf.namelist()}
    parts["xl/worksheets/sheet1.xml"] = re.sub(rb' r="[A-Z]*\d+"', b"", parts["xl/worksheets/sheet1.xml"])
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, content in parts.items():
            zf.writestr(name, content)
    backend = XlsxBackend(path)
    snap = backend.read()
    assert snap.tab("库存").rows[2] == ["B2", -1, None]

    backend.apply(ChangeSet(paints=[Paint("库存", 3, 2, "B2", NOTE_PREFIX + "库存不能小于 0")]), snap)

    tab = XlsxBackend(path).read().tab("库存")
    assert tab.rows == snap.tab("库存").rows
    assert tab.fills == {(3, 2): MARK_FILL} and tab.notes == {(3, 2): NOTE_PREFIX + "库存不能小于 0"}
    assert openpyxl.load_workbook(path)["库存"]["B3"].comment.text == NOTE_PREFIX + "库存不能小于 0"


def test_init_adds_the_missing_tabs_to_an_excel_workbook_keeping_the_rest(here: Path) -> None:
    book = ExcelBook([Sheet("库存", [["SKU", "库存"], ["A1", 3]], chart_of="$B$2:$B$2")], vba=True)
    path = book.save(here / "shop.xlsm")
    before = members(path)

    assert main(["init", "--workbook", str(path)]) == 0

    after = members(path)
    assert {n: after[n] for n in before if n not in ("xl/workbook.xml", "xl/_rels/workbook.xml.rels",
                                                      "[Content_Types].xml", "xl/styles.xml")} == {
        n: before[n] for n in before if n not in ("xl/workbook.xml", "xl/_rels/workbook.xml.rels",
                                                  "[Content_Types].xml", "xl/styles.xml")}
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames[0] == "库存" and "选品检查表" in wb.sheetnames and "成员" in wb.sheetnames
    selection = wb["选品检查表"]
    assert selection["A1"].font.b and selection.freeze_panes == "A2"
    assert any(dv.type == "list" for dv in selection.data_validations.dataValidation)
    assert len(wb["库存"]._charts) == 1
    tabs = XlsxBackend(path).read().tabs
    assert tabs["库存"].rows == [["SKU", "库存"], ["A1", 3]] and tabs["选品检查表"].rows[0][0] == wb["选品检查表"]["A1"].value
