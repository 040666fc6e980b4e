"""The xlsx backend against real files: every written workbook is opened again with openpyxl
and python-calamine, and refusals are checked by their messages."""

from __future__ import annotations

import io
import os
import re
import zipfile
from datetime import datetime
from pathlib import Path
from typing import Callable
from zoneinfo import ZoneInfo

import openpyxl
import pytest
from openpyxl.chart import BarChart, Reference
from openpyxl.comments import Comment
from openpyxl.styles import Color, PatternFill
from openpyxl.utils.datetime import CALENDAR_MAC_1904, WINDOWS_EPOCH
from openpyxl.worksheet.formula import ArrayFormula
from python_calamine import CalamineWorkbook

from sheetsync.backends.base import Backend, ColumnLayout, TabLayout
from sheetsync.backends.xlsx import XlsxBackend
from sheetsync.backends.xlsx_parts import unkeepable_parts
from sheetsync.errors import BackendError, WorkbookBusyError
from sheetsync.core.model import (
    MARK_FILL,
    NOTE_PREFIX,
    AppendRows,
    CellError,
    ChangeSet,
    ChartSpec,
    FillValue,
    Paint,
    ReplaceTab,
    Unpaint,
)

REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG_REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
XDR_NS = "http://schemas.openxmlformats.org/drawingml/2006/spreadsheetDrawing"
A_NS = "http://schemas.openxmlformats.org/drawingml/2006/main"
NOTE = NOTE_PREFIX + "声明库存 5 大于库存 3\n请改成不超过 3"


# ---------------------------------------------------------------------------------------------
# Building workbooks


def save(wb: openpyxl.Workbook, path: Path) -> Path:
    wb.save(path)
    return path


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    """A small shop workbook a person made: values, a date, their own fill and note, a merged
    title, a hidden tab."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "库存"
    ws.append(["SKU", "商品名称", "库存", "最低价", "更新时间"])
    ws.append(["A1", "戒指", 3, 99.5, datetime(2025, 3, 1, 9, 30)])
    ws.append(["B2", "项链", 0, 120, None])
    ws.append(["C3", None, 7, None, None])
    ws["B3"].fill = PatternFill("solid", start_color="FFFFFF00")  # a person's own yellow
    ws["C4"].fill = PatternFill("solid", fgColor=Color(theme=4))
    ws["D4"].fill = PatternFill("solid", fgColor=Color(indexed=10))
    ws["A3"].comment = Comment("供应商下周补货", "小王")
    ws["G30"].fill = PatternFill("solid", start_color="FFFFC7CE")  # styled but empty, far out
    ws.merge_cells("A6:C6")
    ws["A6"] = "本表由财务维护"
    cs = wb.create_sheet("客服台账")
    cs.append(["日期", "客户", "负责人"])
    cs.append([datetime(2025, 3, 2), "张三", None])
    cs.append([datetime(2025, 3, 2), "李四", "小王"])
    state = wb.create_sheet("_state")
    state.sheet_state = "hidden"
    state["A1"] = "key"
    return save(wb, tmp_path / "shop.xlsx")


def rewrite_package(
    path: Path, edits: dict[str, Callable[[str], str]] | None = None, add: dict[str, str | bytes] | None = None
) -> None:
    """Edit members of an .xlsx zip in place (what Excel would have written), and add new ones."""
    with zipfile.ZipFile(path) as zin:
        members = {info.filename: zin.read(info) for info in zin.infolist()}
    for name, edit in (edits or {}).items():
        members[name] = edit(members.get(name, b"").decode()).encode()
    for name, content in (add or {}).items():
        members[name] = content.encode() if isinstance(content, str) else content
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zout:
        for name, content in members.items():
            zout.writestr(name, content)


def add_relationship(xml: str, rel_id: str, rel_type: str, target: str) -> str:
    rel = f'<Relationship Id="{rel_id}" Type="{rel_type}" Target="{target}"/>'
    if not xml:
        return f'<Relationships xmlns="{PKG_REL_NS}">{rel}</Relationships>'
    return xml.replace("</Relationships>", rel + "</Relationships>")


def before_end(element: str) -> Callable[[str], str]:
    return lambda xml: xml.replace("</worksheet>", element + "</worksheet>")


def drawing_xml(content: str) -> str:
    return (
        f'<xdr:wsDr xmlns:xdr="{XDR_NS}" xmlns:a="{A_NS}" xmlns:r="{REL_NS}"><xdr:oneCellAnchor>'
        '<xdr:from><xdr:col>6</xdr:col><xdr:colOff>0</xdr:colOff><xdr:row>1</xdr:row><xdr:rowOff>0</xdr:rowOff></xdr:from>'
        f'<xdr:ext cx="952500" cy="952500"/>{content}<xdr:clientData/></xdr:oneCellAnchor></xdr:wsDr>'
    )


PICTURE = (
    '<xdr:pic><xdr:nvPicPr><xdr:cNvPr id="1" name="Picture 1"/><xdr:cNvPicPr/></xdr:nvPicPr>'
    '<xdr:blipFill><a:blip r:embed="rId1"/><a:stretch><a:fillRect/></a:stretch></xdr:blipFill>'
    '<xdr:spPr><a:prstGeom prst="rect"><a:avLst/></a:prstGeom></xdr:spPr></xdr:pic>'
)
SHAPE = (
    '<xdr:sp><xdr:nvSpPr><xdr:cNvPr id="2" name="TextBox 1"/><xdr:cNvSpPr txBox="1"/></xdr:nvSpPr>'
    '<xdr:spPr><a:prstGeom prst="rect"><a:avLst/></a:prstGeom></xdr:spPr></xdr:sp>'
)


def add_drawing(path: Path, content: str) -> None:
    """Put a drawing holding ``content`` (a picture or a shape) on the first sheet."""
    rewrite_package(
        path,
        edits={
            "xl/worksheets/sheet1.xml": before_end(f'<drawing xmlns:r="{REL_NS}" r:id="rId9"/>'),
            "xl/worksheets/_rels/sheet1.xml.rels": lambda xml: add_relationship(
                xml, "rId9", REL_NS + "/drawing", "../drawings/drawing1.xml"
            ),
            "[Content_Types].xml": lambda xml: xml.replace(
                "</Types>",
                '<Default Extension="png" ContentType="image/png"/>'
                '<Override PartName="/xl/drawings/drawing1.xml" '
                'ContentType="application/vnd.openxmlformats-officedocument.drawing+xml"/></Types>',
            ),
        },
        add={
            "xl/drawings/drawing1.xml": drawing_xml(content),
            "xl/drawings/_rels/drawing1.xml.rels": add_relationship(
                "", "rId1", REL_NS + "/image", "../media/image1.png"
            ),
            "xl/media/image1.png": b"\x89PNG\r\n\x1a\n",
        },
    )


def add_chart(path: Path, title: str) -> None:
    wb = openpyxl.load_workbook(path)
    ws = wb[title]
    chart = BarChart()
    chart.add_data(Reference(ws, min_col=3, min_row=1, max_row=3), titles_from_data=True)
    ws.add_chart(chart, "H2")
    wb.save(path)


def reopen(path: Path) -> openpyxl.Workbook:
    return openpyxl.load_workbook(path)


def calamine_rows(path: Path, title: str) -> list[list]:
    return CalamineWorkbook.from_path(str(path)).get_sheet_by_name(title).to_python()


# ---------------------------------------------------------------------------------------------
# read


def test_backend_satisfies_the_protocol(shop: Path) -> None:
    backend = XlsxBackend(shop)
    assert isinstance(backend, Backend)
    assert (backend.name, backend.describe()) == ("xlsx", "shop.xlsx")


def test_read_values_fills_notes_merged_hidden_dates(shop: Path) -> None:
    snap = XlsxBackend(shop).read()

    assert list(snap.tabs) == ["库存", "客服台账", "_state"]
    assert snap.source == "shop.xlsx"
    size, mtime_ns, digest = snap.version.split(":")
    assert int(size) == shop.stat().st_size and int(mtime_ns) == shop.stat().st_mtime_ns and len(digest) == 64
    stock = snap.tab("库存")
    assert stock.rows[:4] == [
        ["SKU", "商品名称", "库存", "最低价", "更新时间"],
        ["A1", "戒指", 3, 99.5, datetime(2025, 3, 1, 9, 30)],
        ["B2", "项链", 0, 120, None],
        ["C3", None, 7, None, None],
    ]
    assert stock.n_rows == 6  # trailing styled-but-empty cells (G30) are trimmed
    assert stock.cell(6, 1) == "本表由财务维护" and stock.cell(6, 2) is None
    assert stock.fills == {(3, 2): "FFFF00", (4, 3): "theme:4", (4, 4): "indexed:10", (30, 7): MARK_FILL}
    assert stock.notes == {(3, 1): "供应商下周补货"}
    assert stock.merged == [(6, 1, 6, 3)]
    assert stock.hidden is False and snap.tab("_state").hidden is True
    assert snap.tab("客服台账").cell(2, 1) == datetime(2025, 3, 2)


def test_formula_cells_read_as_the_value_excel_computed(tmp_path: Path) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "推广确认单"
    ws.append(["单价", "数量", "金额", "开始", "结束", "备注"])
    ws.append([12.5, 4, "=A2*B2", datetime(2025, 5, 1), "=D2+1", "=IF(B2>3,\"多\",\"少\")"])
    ws["E2"].number_format = "yyyy-mm-dd"
    ws.append([1, 1, "=A3*B3"])  # never opened in Excel: no cached value
    path = save(wb, tmp_path / "f.xlsx")
    cached = {"A2*B2": "<v>50</v>", "D2+1": "<v>45779</v>", 'IF(B2&gt;3,"多","少")': '<v>多</v>'}

    def add_cached_values(xml: str) -> str:
        for formula, value in cached.items():
            xml = xml.replace(f"<f>{formula}</f><v />", f"<f>{formula}</f>{value}")
        return re.sub(r'<c r="F2"( s="\d+")?>', r'<c r="F2"\1 t="str">', xml)

    rewrite_package(path, edits={"xl/worksheets/sheet1.xml": add_cached_values})

    tab = XlsxBackend(path).read().tab("推广确认单")
    assert tab.rows[1] == [12.5, 4, 50, datetime(2025, 5, 1), datetime(2025, 5, 2), "多"]
    assert tab.rows[2][:3] == [1, 1, None]


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (None, ["找不到工作簿文件", "sheetsync init --workbook", "sheetsync demo"]),
        ("SKU,库存\nA1,3\n".encode(), ["不是 .xlsx 工作簿", ".csv", "另存为"]),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 512, ["不是 .xlsx 工作簿", ".xls", "另存为"]),
    ],
    ids=["missing", "csv-renamed", "xls"],
)
def test_read_refuses_what_is_not_an_xlsx_workbook(tmp_path: Path, content: bytes | None, expected: list[str]) -> None:
    path = tmp_path / "shop.xlsx"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(BackendError) as err:
        XlsxBackend(path).read()
    assert all(part in str(err.value) for part in expected)
    assert "shop.xlsx" in str(err.value)


# ---------------------------------------------------------------------------------------------
# apply: marks and routed values


def test_paint_then_unpaint_removes_exactly_our_fill_and_note(shop: Path) -> None:
    backend = XlsxBackend(shop)
    snap = backend.read()
    result = backend.apply(ChangeSet(paints=[Paint("库存", 2, 3, "A1", NOTE)]), snap)
    assert (result.written, result.skipped) == (1, [])

    ws = reopen(shop)["库存"]
    assert ws["C2"].fill.fgColor.rgb == "FF" + MARK_FILL
    assert (ws["C2"].comment.text, ws["C2"].comment.author) == (NOTE, "sheetsync")
    assert ws["C2"].value == 3  # the value a person typed stays
    assert "400" in note_box_widths(shop)  # a note box wide enough to read

    painted = backend.read()
    assert painted.tab("库存").fills[(2, 3)] == MARK_FILL
    assert painted.tab("库存").notes[(2, 3)] == NOTE
    backend.apply(ChangeSet(unpaints=[Unpaint("库存", 2, 3, "A1")]), painted)

    after = XlsxBackend(shop).read().tab("库存")
    before = snap.tab("库存")
    assert (after.fills, after.notes, after.rows) == (before.fills, before.notes, before.rows)
    ws = reopen(shop)["库存"]
    assert ws["C2"].fill.fill_type is None and ws["C2"].comment is None
    assert ws["B3"].fill.fgColor.rgb == "FFFFFF00" and ws["A3"].comment.author == "小王"


@pytest.mark.parametrize(
    ("op", "reason"),
    [
        (Paint("库存", 3, 1, "B2", NOTE), "「库存」A3 已有别人写的批注, 没有标红 (问题: 声明库存 5 大于库存 3)"),
        (Paint("库存", 3, 2, "B2", NOTE), "「库存」B3 有别人设置的底色, 没有标红 (问题: 声明库存 5 大于库存 3)"),
        (Unpaint("库存", 3, 2, "B2"), "「库存」B3 上已经没有 sheetsync 的标记, 无需取消"),
        (FillValue("库存", 2, 2, "A1", "手链"), "「库存」B2 已经有人填了「戒指」, 没有写入「手链」"),
        (Paint("退货", 2, 2, "A1", NOTE), "「退货」B2: 工作表「退货」不存在, 没有标红"),
    ],
    ids=["their-note", "their-fill", "nothing-to-unpaint", "cell-not-empty", "tab-gone"],
)
def test_a_persons_work_is_never_overwritten(shop: Path, op: object, reason: str) -> None:
    before = shop.read_bytes()
    backend = XlsxBackend(shop)
    changes = ChangeSet()
    {Paint: changes.paints, Unpaint: changes.unpaints, FillValue: changes.fills}[type(op)].append(op)

    result = backend.apply(changes, backend.read())

    assert (result.written, [str(s) for s in result.skipped], result.backup) == (0, [reason], None)
    assert shop.read_bytes() == before


def test_fill_value_writes_into_an_empty_cell_only(shop: Path) -> None:
    backend = XlsxBackend(shop)
    changes = ChangeSet(
        fills=[FillValue("客服台账", 2, 3, "张三", "小李"), FillValue("客服台账", 3, 3, "李四", "小李")]
    )
    result = backend.apply(changes, backend.read())
    assert result.written == 1
    assert [str(s) for s in result.skipped] == ["「客服台账」C3 已经有人填了「小王」, 没有写入「小李」"]
    assert [row[2] for row in calamine_rows(shop, "客服台账")] == ["负责人", "小李", "小王"]


def test_empty_change_set_does_not_touch_the_file(shop: Path) -> None:
    before, mtime = shop.read_bytes(), shop.stat().st_mtime_ns
    backend = XlsxBackend(shop)
    assert backend.apply(ChangeSet(), backend.read()).written == 0
    assert (shop.read_bytes(), shop.stat().st_mtime_ns) == (before, mtime)
    assert sorted(p.name for p in shop.parent.iterdir()) == ["shop.xlsx"]


def test_backup_keeps_the_previous_version(shop: Path) -> None:
    before = shop.read_bytes()
    backend = XlsxBackend(shop)
    result = backend.apply(ChangeSet(paints=[Paint("库存", 2, 3, "A1", NOTE)]), backend.read())
    assert Path(result.backup).parent == shop.with_name("shop.xlsx.backups")
    assert Path(result.backup).read_bytes() == before
    assert sorted(p.name for p in shop.parent.iterdir()) == ["shop.xlsx", "shop.xlsx.backups"]


def test_no_backup_when_turned_off_and_permissions_kept(shop: Path) -> None:
    os.chmod(shop, 0o640)
    backend = XlsxBackend(shop, backup=False)
    result = backend.apply(ChangeSet(paints=[Paint("库存", 2, 3, "A1", NOTE)]), backend.read())
    assert result.backup is None and not shop.with_name("shop.xlsx.backups").exists()
    assert shop.stat().st_mode & 0o777 == 0o640


def test_second_apply_in_the_same_process(shop: Path) -> None:
    backend = XlsxBackend(shop)
    snap = backend.read()
    backend.apply(ChangeSet(paints=[Paint("库存", 2, 3, "A1", NOTE)]), snap)
    log_row = AppendRows("运行记录", ("时间", "任务"), (("2025-03-02 10:00", "validate"),))
    backend.apply(ChangeSet(appends=[log_row]), snap)
    wb = reopen(shop)
    assert wb["库存"]["C2"].comment.text == NOTE
    assert wb["运行记录"]["B2"].value == "validate"


def test_a_fresh_backend_applies_a_snapshot_of_the_unchanged_file(shop: Path) -> None:
    snap = XlsxBackend(shop).read()
    XlsxBackend(shop).apply(ChangeSet(paints=[Paint("库存", 2, 3, "A1", NOTE)]), snap)
    assert reopen(shop)["库存"]["C2"].comment.text == NOTE


def note_box_widths(path: Path) -> list[str]:
    with zipfile.ZipFile(path) as zf:
        vml = "".join(zf.read(n).decode() for n in zf.namelist() if n.endswith(".vml"))
    return re.findall(r"width:(\d+)px", vml)


def test_our_notes_stay_readable_after_later_saves(shop: Path) -> None:
    first = XlsxBackend(shop)
    first.apply(ChangeSet(paints=[Paint("库存", 2, 3, "A1", NOTE)]), first.read())
    later = XlsxBackend(shop)  # a new run: openpyxl loads every note box at its default size
    later.apply(ChangeSet(fills=[FillValue("客服台账", 2, 3, "张三", "小李")]), later.read())

    wb = reopen(shop)
    assert wb["库存"]["C2"].comment.text == NOTE and wb["库存"]["A3"].comment.text == "供应商下周补货"
    assert sorted(note_box_widths(shop)) == ["144", "400"]  # ours wide, the person's at Excel's default


def test_paint_an_empty_cell_the_file_does_not_hold(shop: Path) -> None:
    backend = XlsxBackend(shop)
    snap = backend.read()
    assert snap.tab("库存").cell(4, 2) is None  # a required name left empty
    backend.apply(ChangeSet(paints=[Paint("库存", 4, 2, "C3", NOTE)]), snap)
    tab = XlsxBackend(shop).read().tab("库存")
    assert (tab.notes[(4, 2)], tab.fills[(4, 2)], tab.cell(4, 2)) == (NOTE, MARK_FILL, None)


def test_a_mark_inside_a_merged_range_lands_on_its_visible_cell(shop: Path) -> None:
    backend = XlsxBackend(shop)
    backend.apply(ChangeSet(paints=[Paint("库存", 6, 2, "", NOTE)]), backend.read())
    tab = XlsxBackend(shop).read().tab("库存")
    assert (tab.notes[(6, 1)], tab.fills[(6, 1)], tab.merged) == (NOTE, MARK_FILL, [(6, 1, 6, 3)])


def test_error_while_saving_leaves_the_file_untouched(shop: Path) -> None:
    before = shop.read_bytes()
    backend = XlsxBackend(shop)
    aware = datetime(2025, 3, 2, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))  # Excel cannot store a zone
    with pytest.raises(BackendError) as err:
        backend.apply(ChangeSet(fills=[FillValue("客服台账", 2, 3, "张三", aware)]), backend.read())
    assert "保存 shop.xlsx 失败" in str(err.value) and "文件没有改动" in str(err.value)
    assert shop.read_bytes() == before
    assert sorted(p.name for p in shop.parent.iterdir()) == ["shop.xlsx"]


# ---------------------------------------------------------------------------------------------
# apply: formula cells keep the values Excel computed

# cell, formula, cached value as Excel stores it (type attribute, <v> text; None: never
# computed), value in the snapshot
FORMULA_CELLS = [
    ("C2", "=4+6", ("", "10"), 10),
    ("D2", '="戒"&"指"', ("str", "戒指"), "戒指"),
    ("E2", "=B2>3", ("b", "1"), True),
    ("F2", "=DATE(2025,5,1)+0.5", ("", "45778.5"), datetime(2025, 5, 1, 12, 0)),
    ("G2", "=B2/3", ("", "1.3333333333333333"), 4 / 3),
    ("H2", '=" <a&b> "', ("str", " &lt;a&amp;b&gt; "), " <a&b> "),
    ("I2", "=B2=0", ("b", "0"), False),
    ("J2", "=1/0", ("e", "#DIV/0!"), CellError("#DIV/0!")),  # the error Excel shows, kept on save
    ("C6", "=B2*100", None, None),  # typed by a program, never computed
    # a shared formula as Excel writes a filled-down column: one <f> with the text, two that point to it
    ("C3", "=B3*2", ("", "2"), 2),
    ("C4", "=B4*2", ("", "4"), 4),
    ("C5", "=B5*2", ("", "6"), 6),
]
SHARED = {
    "C3": '<f t="shared" ref="C3:C5" si="0">B3*2</f>',
    "C4": '<f t="shared" si="0"/>',
    "C5": '<f t="shared" si="0"/>',
}


def with_cached_values(sheet_xml: str) -> str:
    """What Excel saves: each formula cell with its computed value (and type), C3:C5 shared."""
    for ref, _formula, cached, _value in FORMULA_CELLS:
        if cached is None:
            continue
        kind, text = cached
        typed = f' t="{kind}"' if kind else ""
        def cached_cell(m: re.Match[str], ref: str = ref, typed: str = typed, text: str = text) -> str:
            return f'<c r="{ref}"{m[1] or ""}{typed}>{SHARED.get(ref, f"<f>{m[2]}</f>")}<v>{text}</v>'

        sheet_xml, n = re.subn(rf'<c r="{ref}"( s="\d+")?><f>([^<]*)</f><v />', cached_cell, sheet_xml)
        assert n == 1, ref
    return sheet_xml


@pytest.fixture
def computed(tmp_path: Path) -> Path:
    """A workbook last saved by Excel: formulas with their computed values, the recalculation
    flag off, and a second tab without formulas."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "库存"
    ws.append(["SKU", "数量", "库存", "名称", "有货", "到货", "比例", "备注", "缺货", "错误"])
    ws.append(["A1", 4])
    for row, quantity in enumerate((1, 2, 3), start=3):
        ws.cell(row=row, column=2, value=quantity)
    for ref, formula, _cached, _value in FORMULA_CELLS:
        ws[ref] = formula
    ws["F2"].number_format = "yyyy-mm-dd hh:mm"
    cs = wb.create_sheet("客服台账")
    cs.append(["日期", "客户", "负责人"])
    cs.append([datetime(2025, 3, 2), "张三", None])
    path = save(wb, tmp_path / "computed.xlsx")
    rewrite_package(
        path,
        edits={
            "xl/worksheets/sheet1.xml": with_cached_values,
            "xl/workbook.xml": lambda xml: xml.replace('fullCalcOnLoad="1"', 'fullCalcOnLoad="0"'),
        },
    )
    return path


def apply_once(path: Path, changes: ChangeSet) -> None:
    backend = XlsxBackend(path)
    assert backend.apply(changes, backend.read()).written > 0


def apply_twice_in_one_process(path: Path) -> None:
    backend = XlsxBackend(path)
    snap = backend.read()
    backend.apply(ChangeSet(paints=[Paint("客服台账", 2, 3, "张三", NOTE)]), snap)
    backend.apply(ChangeSet(unpaints=[Unpaint("客服台账", 2, 3, "张三")]), snap)


PAINT_ELSEWHERE = ChangeSet(paints=[Paint("客服台账", 2, 3, "张三", NOTE)])
SAVES: dict[str, Callable[[Path], None]] = {
    "paint-another-tab": lambda path: apply_once(path, PAINT_ELSEWHERE),
    "paint-the-formula-cells": lambda path: apply_once(
        path, ChangeSet(paints=[Paint("库存", 2, 3, "A1", NOTE), Paint("库存", 6, 3, "", NOTE)])
    ),
    "append-rows": lambda path: apply_once(path, ChangeSet(appends=[AppendRows("运行记录", ("时间",), (("10:00",),))])),
    "two-saves-in-one-process": apply_twice_in_one_process,
    "fresh-backend": lambda path: XlsxBackend(path).apply(PAINT_ELSEWHERE, XlsxBackend(path).read()),
    "init-adds-a-tab": lambda path: XlsxBackend(path).init_layout([TabLayout("设置", (ColumnLayout("项目"),))]),
}


@pytest.mark.parametrize("save_it", SAVES.values(), ids=SAVES.keys())
def test_formula_cells_keep_their_computed_values_when_saved(computed: Path, save_it: Callable[[Path], None]) -> None:
    expected = {ref: value for ref, _formula, _cached, value in FORMULA_CELLS}
    stock = XlsxBackend(computed).read().tab("库存")
    assert {ref: stock.cell(int(ref[1:]), ord(ref[0]) - 64) for ref in expected} == expected

    save_it(computed)

    stock = XlsxBackend(computed).read().tab("库存")
    assert {ref: stock.cell(int(ref[1:]), ord(ref[0]) - 64) for ref in expected} == expected
    ws = reopen(computed)["库存"]
    assert {ref: ws[ref].value for ref in expected} == {ref: formula for ref, formula, _cached, _value in FORMULA_CELLS}
    cached = openpyxl.load_workbook(computed, data_only=True)["库存"]  # a second reader of the cached values
    assert [cached[ref].value for ref in ("C2", "D2", "E2", "I2", "C4", "C6")] == [10, "戒指", True, False, 4, None]
    assert calamine_rows(computed, "库存")[1][2:9] == [
        10.0, "戒指", True, datetime(2025, 5, 1, 12, 0), 4 / 3, " <a&b> ", False]
    with zipfile.ZipFile(computed) as zf:  # untouched formula cells need no recalculation when opened
        assert '<calcPr calcId="124519" fullCalcOnLoad="0"' in zf.read("xl/workbook.xml").decode()


ONE_FORMULA = [  # (date system, formula in B1, its cached <v>, <f> and <v> written, value read)
    (WINDOWS_EPOCH, "=DATE(2025,5,1)+0.5", "45778.5", "<f>DATE(2025,5,1)+0.5</f><v>45778.5</v>",
     datetime(2025, 5, 1, 12, 0)),
    (CALENDAR_MAC_1904, "=DATE(2025,5,1)+0.5", "44316.5", "<f>DATE(2025,5,1)+0.5</f><v>44316.5</v>",
     datetime(2025, 5, 1, 12, 0)),
    (WINDOWS_EPOCH, ArrayFormula("B1", "=SUM(C1:C2*D1:D2)"), "14",
     '<f t="array" ref="B1">SUM(C1:C2*D1:D2)</f><v>14</v>', 14),
]


@pytest.mark.parametrize(("epoch", "formula", "cached", "written", "value"), ONE_FORMULA,
                         ids=["date-1900", "date-1904", "array"])
def test_a_formula_keeps_its_value_in_excels_own_terms(
    tmp_path: Path, epoch: datetime, formula: object, cached: str, written: str, value: object
) -> None:
    wb = openpyxl.Workbook()
    wb.epoch = epoch
    ws = wb.active
    ws["A1"], ws["B1"], ws["C1"], ws["C2"], ws["D1"], ws["D2"] = "到货", formula, 1, 3, 2, 4
    ws["B1"].number_format = "yyyy-mm-dd hh:mm" if isinstance(value, datetime) else "General"
    path = save(wb, tmp_path / "one.xlsx")
    rewrite_package(path, edits={"xl/worksheets/sheet1.xml": lambda xml: xml.replace("<v />", f"<v>{cached}</v>")})

    apply_once(path, ChangeSet(paints=[Paint("Sheet", 1, 1, "", NOTE)]))

    with zipfile.ZipFile(path) as zf:
        assert written + "</c>" in zf.read("xl/worksheets/sheet1.xml").decode()
    assert XlsxBackend(path).read().tab("Sheet").cell(1, 2) == value


def test_a_rewritten_tab_drops_its_old_formulas_quietly(computed: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("WARNING")
    apply_once(computed, ChangeSet(tabs=[ReplaceTab("库存", (("SKU", "库存"), ("A1", "=4+6")))]))

    assert XlsxBackend(computed).read().tab("库存").rows == [["SKU", "库存"], ["A1", "=4+6"]]
    assert reopen(computed)["库存"]["B2"].data_type == "s"
    assert XlsxBackend(computed).read().tab("客服台账").cell(2, 2) == "张三"
    assert caplog.records == []


# ---------------------------------------------------------------------------------------------
# apply: refusals


@pytest.mark.parametrize("lock_name", ["~$shop.xlsx", ".~lock.shop.xlsx#", ".~shop.xlsx"],
                         ids=["excel", "libreoffice", "wps"])
def test_refuses_while_the_workbook_is_open(shop: Path, lock_name: str) -> None:
    backend = XlsxBackend(shop)
    snap = backend.read()
    (shop.parent / lock_name).write_bytes(b"owner")
    before = shop.read_bytes()
    with pytest.raises(WorkbookBusyError) as err:
        backend.apply(ChangeSet(paints=[Paint("库存", 2, 3, "A1", NOTE)]), snap)
    assert lock_name in str(err.value)
    assert "请先在 Excel/WPS/LibreOffice 里关闭这个文件, 再运行" in str(err.value)
    assert shop.read_bytes() == before


def test_refuses_when_someone_saved_after_the_read(shop: Path) -> None:
    backend = XlsxBackend(shop)
    snap = backend.read()
    wb = reopen(shop)
    wb["库存"]["B4"] = "耳钉"  # a colleague fills in a name and saves
    wb.save(shop)
    theirs = shop.read_bytes()
    with pytest.raises(WorkbookBusyError) as err:
        backend.apply(ChangeSet(paints=[Paint("库存", 2, 3, "A1", NOTE)]), snap)
    assert "被别人保存过" in str(err.value) and "什么都没有写入" in str(err.value) and "再运行" in str(err.value)
    assert shop.read_bytes() == theirs


def members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as zf:
        return {name: zf.read(name) for name in zf.namelist()}


@pytest.mark.parametrize(
    ("make", "kept"),
    [
        (lambda p: add_drawing(p, PICTURE), ["xl/media/image1.png", "xl/drawings/drawing1.xml"]),
        (lambda p: add_drawing(p, SHAPE), ["xl/drawings/drawing1.xml"]),
        (lambda p: add_chart(p, "库存"), ["xl/charts/chart1.xml", "xl/drawings/drawing1.xml"]),
    ],
    ids=["picture", "text-box", "chart-on-a-persons-tab"],
)
def test_keeps_what_a_person_made_byte_for_byte(shop: Path, make: Callable[[Path], None], kept: list[str]) -> None:
    """Pictures, shapes and charts on a tab sheetsync paints survive the write unchanged (they
    were refused before: a save through openpyxl would have dropped them)."""
    make(shop)
    before = members(shop)
    backend = XlsxBackend(shop)
    result = backend.apply(ChangeSet(paints=[Paint("库存", 2, 3, "A1", NOTE)]), backend.read())
    assert (result.written, result.skipped) == (1, [])
    after = members(shop)
    assert {name: after[name] for name in kept} == {name: before[name] for name in kept}
    changed = sorted(name for name in before if after.get(name) != before[name])
    # the painted cell, its note (the person's note on A3 is kept in the same parts), a new style
    assert changed == ["xl/comments/comment1.xml", "xl/drawings/commentsDrawing1.vml", "xl/styles.xml",
                       "xl/worksheets/sheet1.xml"]
    assert XlsxBackend(shop).read().tab("库存").notes[(2, 3)] == NOTE


SHEET_RELS = "xl/worksheets/_rels/sheet1.xml.rels"
WORKBOOK_RELS = "xl/_rels/workbook.xml.rels"
MS_REL = "http://schemas.microsoft.com/office/2007/relationships"


def sheet_rel(rel_type: str, target: str) -> dict:
    return {"edits": {SHEET_RELS: lambda xml: add_relationship(xml, "rId7", rel_type, target)}}


def workbook_rel(rel_type: str, target: str, body: bytes = b"") -> dict:
    return {
        "edits": {WORKBOOK_RELS: lambda xml: add_relationship(xml, "rId77", rel_type, target)},
        "add": {"xl/" + target: body},
    }


@pytest.mark.parametrize(
    ("package", "expected"),
    [
        (sheet_rel(REL_NS + "/pivotTable", "../pivotTables/pivotTable1.xml"),
         "「库存」里的数据透视表 (xl/pivotTables/pivotTable1.xml)"),
        (sheet_rel(MS_REL + "/slicer", "../slicers/slicer1.xml"), "「库存」里的切片器 (xl/slicers/slicer1.xml)"),
        (sheet_rel(REL_NS + "/ctrlProp", "../ctrlProps/ctrlProp1.xml"),
         "「库存」里的表单控件 (xl/ctrlProps/ctrlProp1.xml)"),
        (
            {"edits": {"xl/worksheets/sheet1.xml": before_end(
                '<extLst><ext uri="{05C60535-1F16-4FD2-B633-F4F36F0B64E0}" '
                'xmlns:x14="http://schemas.microsoft.com/office/spreadsheetml/2009/9/main"><x14:sparklineGroups/></ext></extLst>'
            )}},
            "「库存」里的迷你图 (xl/worksheets/sheet1.xml)",
        ),
        (workbook_rel("http://schemas.microsoft.com/office/2006/relationships/vbaProject", "vbaProject.bin"),
         "宏 (VBA) (xl/vbaProject.bin)"),
        (
            workbook_rel(REL_NS + "/externalLink", "externalLinks/externalLink1.xml"),
            "指向其他文件的外部链接 (xl/externalLinks/externalLink1.xml)",
        ),
    ],
    ids=["pivot-table", "slicer", "form-control", "sparklines", "vba", "external-link"],
)
def test_unkeepable_parts_names_each_part(shop: Path, package: dict, expected: str) -> None:
    rewrite_package(shop, edits=package.get("edits"), add=package.get("add"))
    assert [str(p) for p in unkeepable_parts(shop, set())] == [expected]
    assert [str(p) for p in unkeepable_parts(shop.read_bytes(), {"库存"})] == [expected]  # only charts can be allowed


def test_a_chart_on_a_tab_sheetsync_rewrites_is_allowed(shop: Path) -> None:
    add_chart(shop, "客服台账")
    assert [str(p) for p in unkeepable_parts(shop, set())] == ["「客服台账」里的图表 (xl/charts/chart1.xml)"]
    assert unkeepable_parts(shop, {"客服台账"}) == []


# ---------------------------------------------------------------------------------------------
# apply: job-owned tabs


SUMMARY = ReplaceTab(
    tab="周报",
    rows=(
        ("周", "选品合格率", "客服响应率", "说明"),
        ("03-03~03-09", 0.9, 0.977, "=IMPORTXML(\"http://x\",\"//a\")"),
        ("03-10~03-16", 0.5, 1.0, "=1+1"),
    ),
    column_widths=(14, 12, 12, 30),
    number_formats=((2, "0.0%"), (3, "0.0%")),
    wrap_columns=(4,),
    chart=ChartSpec(title="周趋势", cat_col=1, value_cols=(2, 3), first_row=2, last_row=3, anchor="F2"),
)


def test_replace_tab_writes_text_layout_protection_and_chart(shop: Path) -> None:
    backend = XlsxBackend(shop)
    assert backend.apply(ChangeSet(tabs=[SUMMARY]), backend.read()).written == 1

    wb = reopen(shop)
    ws = wb["周报"]
    assert wb.sheetnames[-1] == "周报"
    assert (ws["D2"].value, ws["D2"].data_type) == ("=IMPORTXML(\"http://x\",\"//a\")", "s")
    assert calamine_rows(shop, "周报")[2] == ["03-10~03-16", 0.5, 1.0, "=1+1"]
    assert ws["A1"].font.b and ws["A1"].fill.fgColor.rgb == "FFD9D9D9" and not ws["A2"].font.b
    assert ws.freeze_panes == "A2"
    assert [ws.column_dimensions[c].width for c in "ABCD"] == [14, 12, 12, 30]
    assert (ws["B2"].number_format, ws["C3"].number_format) == ("0.0%", "0.0%")
    # a long explanation wraps inside its cell instead of being cut off by the next column
    assert ws["D2"].alignment.wrap_text and ws["D3"].alignment.vertical == "top"
    assert not ws["D1"].alignment.wrap_text and not ws["C2"].alignment.wrap_text
    assert ws.row_dimensions[2].height is None  # one line: the default height
    assert ws.protection.sheet and ws.protection.password is None
    assert ws.sheet_properties.tabColor.rgb == "00A6A6A6"
    assert ws.sheet_state == "visible"
    assert len(ws._charts) == 1
    with zipfile.ZipFile(shop) as zf:
        chart_xml = zf.read("xl/charts/chart1.xml").decode()
    assert "'周报'!B1" in chart_xml and "'周报'!$A$2:$A$3" in chart_xml


def test_later_runs_keep_sheetsyncs_own_chart(shop: Path) -> None:
    backend = XlsxBackend(shop)
    backend.apply(ChangeSet(tabs=[SUMMARY]), backend.read())

    later = XlsxBackend(shop)  # a 15-minute validate run that does not rewrite 周报
    result = later.apply(ChangeSet(paints=[Paint("库存", 2, 3, "A1", NOTE)]), later.read())

    assert result.written == 1
    assert len(reopen(shop)["周报"]._charts) == 1


def test_replace_tab_clears_the_old_content_in_place(shop: Path) -> None:
    wb = reopen(shop)
    old = wb.create_sheet("问题清单", 1)
    old["A1"], old["E9"] = "旧表头", "旧数据"
    old.merge_cells("A3:B3")
    wb.save(shop)
    backend = XlsxBackend(shop)
    op = ReplaceTab("问题清单", (("工作表", "行"), ("库存", 2)), hidden=True, protected=False)

    backend.apply(ChangeSet(tabs=[op]), backend.read())

    tab = XlsxBackend(shop).read().tab("问题清单")
    assert (tab.rows, tab.merged, tab.hidden) == ([["工作表", "行"], ["库存", 2]], [], True)
    wb = reopen(shop)
    assert wb.sheetnames.index("问题清单") == 1
    assert not wb["问题清单"].protection.sheet


def test_append_rows_creates_the_tab_then_appends(shop: Path) -> None:
    header = ("时间", "任务", "写入")
    backend = XlsxBackend(shop)
    backend.apply(ChangeSet(appends=[AppendRows("运行记录", header, (("10:00", "validate", 3),))]), backend.read())
    backend.apply(ChangeSet(appends=[AppendRows("运行记录", header, (("10:15", "validate", 1),))]), backend.read())

    assert calamine_rows(shop, "运行记录") == [list(header), ["10:00", "validate", 3.0], ["10:15", "validate", 1.0]]
    ws = reopen(shop)["运行记录"]
    assert ws["A1"].font.b and ws.freeze_panes == "A2" and ws.protection.sheet


# ---------------------------------------------------------------------------------------------
# init_layout


LAYOUT = [
    TabLayout(
        title="客服台账",
        columns=(
            ColumnLayout("日期", width=18, number_format="yyyy-mm-dd hh:mm", note="客户第一次咨询的时间"),
            ColumnLayout("问题类型", width=14, choices=("产品咨询", "售后问题", "活动疑问", "其他")),
            ColumnLayout("客服"),
        ),
        frozen_rows=1,
    ),
    TabLayout(title="设置", columns=(ColumnLayout("项目"), ColumnLayout("值")),
              rows=(("时区", "Asia/Shanghai"), ("回访时限(天)", "2"))),
    TabLayout(title="运行记录", columns=(ColumnLayout("时间"),), job_owned=True),
    TabLayout(title="_state", columns=(ColumnLayout("key"),), job_owned=True, hidden=True, frozen_rows=0),
]


def test_init_layout_creates_a_new_workbook(tmp_path: Path) -> None:
    path = tmp_path / "new" / "shop.xlsx"
    result = XlsxBackend(path).init_layout(LAYOUT)

    assert (result.created, result.kept) == (["客服台账", "设置", "运行记录", "_state"], [])
    wb = reopen(path)
    assert wb.sheetnames == ["客服台账", "设置", "运行记录", "_state"]
    ws = wb["客服台账"]
    assert [c.value for c in ws[1]] == ["日期", "问题类型", "客服"]
    assert ws["A1"].font.b and ws.freeze_panes == "A2"
    assert [ws.column_dimensions[letter].width for letter in "ABC"] == [18, 14, 12]
    assert ws.column_dimensions["A"].number_format == "yyyy-mm-dd hh:mm" and ws["A1"].number_format == "General"
    assert (ws["A1"].comment.text, ws["A1"].comment.author) == ("客户第一次咨询的时间", "sheetsync")
    (dropdown,) = ws.data_validations.dataValidation
    assert (dropdown.type, dropdown.formula1, str(dropdown.sqref)) == (
        "list", '"产品咨询,售后问题,活动疑问,其他"', "B2:B1048576")
    assert dropdown.showErrorMessage and dropdown.errorStyle == "warning" and "下拉列表" in dropdown.error
    assert calamine_rows(path, "设置") == [["项目", "值"], ["时区", "Asia/Shanghai"], ["回访时限(天)", "2"]]
    log, state = wb["运行记录"], wb["_state"]
    assert log.protection.sheet and log.sheet_properties.tabColor.rgb == "00A6A6A6" and log.sheet_state == "visible"
    assert state.sheet_state == "hidden" and state.freeze_panes is None


def test_init_layout_only_adds_missing_tabs(shop: Path) -> None:
    before = XlsxBackend(shop).read().tab("客服台账")
    result = XlsxBackend(shop).init_layout(LAYOUT)

    assert (result.created, result.kept) == (["设置", "运行记录"], ["客服台账", "_state"])
    after = XlsxBackend(shop).read()
    assert list(after.tabs) == ["库存", "客服台账", "_state", "设置", "运行记录"]
    assert after.tab("客服台账") == before
    assert not reopen(shop)["客服台账"].data_validations.dataValidation


def test_init_layout_with_nothing_missing_writes_nothing(shop: Path) -> None:
    before, mtime = shop.read_bytes(), shop.stat().st_mtime_ns
    result = XlsxBackend(shop).init_layout([TabLayout("库存", (ColumnLayout("SKU"),))])
    assert (result.created, result.kept) == ([], ["库存"])
    assert (shop.read_bytes(), shop.stat().st_mtime_ns) == (before, mtime)


def test_init_layout_refuses_while_open(shop: Path) -> None:
    (shop.parent / "~$shop.xlsx").write_bytes(b"owner")
    with pytest.raises(WorkbookBusyError, match="~\\$shop.xlsx"):
        XlsxBackend(shop).init_layout(LAYOUT)


def test_snapshot_of_a_written_workbook_round_trips(shop: Path) -> None:
    """What one run writes, the next run reads back exactly (values, marks, merged title)."""
    backend = XlsxBackend(shop)
    backend.apply(ChangeSet(paints=[Paint("库存", 4, 1, "C3", NOTE)]), backend.read())
    first = XlsxBackend(shop).read()
    data = io.BytesIO(shop.read_bytes())
    assert openpyxl.load_workbook(data)["库存"]["A4"].comment.text == NOTE
    assert XlsxBackend(shop).read().tabs == first.tabs


def test_replace_tab_writes_dates_as_dates_and_leaves_a_rate_without_data_empty(shop: Path) -> None:
    op = ReplaceTab("问题清单", (("发现时间", "比例", "已解决"), (datetime(2025, 3, 2, 10, 5), float("nan"), True)))
    backend = XlsxBackend(shop)
    backend.apply(ChangeSet(tabs=[op]), backend.read())

    ws = reopen(shop)["问题清单"]
    assert (ws["A2"].value, ws["B2"].value, ws["C2"].value) == (datetime(2025, 3, 2, 10, 5), None, True)
    assert ws["A2"].is_date and not ws["A2"].font.b and ws["A1"].font.b
    assert XlsxBackend(shop).read().tab("问题清单").rows[1] == [datetime(2025, 3, 2, 10, 5), None, True]


def test_a_wrapped_explanation_gets_the_rows_it_needs(shop: Path) -> None:
    """Excel and LibreOffice do not fit a wrapped row's height on opening: it is written."""
    note = "结论是「退回」, 但没写退回原因。请写上为什么退回(例如: 镶嵌松动)。" * 2  # 70 wide characters
    op = ReplaceTab("问题清单", (("表", "问题"), ("选品检查表", note), ("库存", "短")), column_widths=(12, 60),
                    wrap_columns=(2,))
    backend = XlsxBackend(shop)
    backend.apply(ChangeSet(tabs=[op]), backend.read())
    ws = reopen(shop)["问题清单"]
    assert ws.row_dimensions[2].height == 45  # 140 columns of text in a 60-wide column: 3 lines
    assert ws.row_dimensions[3].height is None
