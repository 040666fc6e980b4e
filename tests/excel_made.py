"""Workbooks written the way Excel 365 and WPS write them, part by part, for the xlsx tests.

Nothing here goes through openpyxl: the sheet XML carries Excel's namespaces and
``mc:Ignorable`` list, texts sit in the shared strings, dates are serial numbers with a date
style, and the parts people add in Excel or WPS are the OOXML those programs save:

* a picture anchored on a tab (``xl/drawings/drawingN.xml`` + ``xl/media/imageN.png``),
* a chart on a tab (a graphic frame pointing at ``xl/charts/chartN.xml``),
* a VBA project (``xl/vbaProject.bin``, the workbook saved as .xlsm),
* an Excel 365 threaded comment (``xl/threadedComments/``, ``xl/persons/person.xml``, and the
  legacy note Excel writes next to it for older versions),
* a WPS in-cell picture (嵌入单元格图片: ``xl/cellimages.xml`` and a ``_xlfn.DISPIMG`` formula),
* an Excel 2010 conditional format in the sheet's x14 extension, referring to another tab,
* a person's note whose box they resized and set to always show, a person's pattern fill,
* a pivot table on a person's own tab, its cache built from another tab,
* a defined name.
"""

from __future__ import annotations

import struct
import zipfile
import zlib
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape, quoteattr

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
R = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG = "http://schemas.openxmlformats.org/package/2006/relationships"
MC = "http://schemas.openxmlformats.org/markup-compatibility/2006"
X14AC = "http://schemas.microsoft.com/office/spreadsheetml/2009/9/ac"
XR = "http://schemas.microsoft.com/office/spreadsheetml/2014/revision"
X14 = "http://schemas.microsoft.com/office/spreadsheetml/2009/9/main"
XM = "http://schemas.microsoft.com/office/excel/2006/main"
XDR = "http://schemas.openxmlformats.org/drawingml/2006/spreadsheetDrawing"
A = "http://schemas.openxmlformats.org/drawingml/2006/main"
C = "http://schemas.openxmlformats.org/drawingml/2006/chart"
TC = "http://schemas.microsoft.com/office/spreadsheetml/2018/threadedcomments"
ETC = "http://www.wps.cn/officeDocument/2017/etCustomData"
DECL = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n'

# cellXfs of the styles part below
STYLE_DATETIME = 1  # numFmtId 22 (yyyy/m/d h:mm)
STYLE_DATE = 2  # numFmtId 14
STYLE_PATTERN = 3  # a person's dark-grid pattern in orange
STYLE_BORDER = 4  # a person's thin border and bold font, no fill
STYLE_TIME = 5  # numFmtId 20 (h:mm)


def png(width: int = 2, height: int = 2, rgb: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    """A real (tiny) PNG picture."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    raw = b"".join(b"\x00" + bytes(rgb) * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def ref(row: int, col: int) -> str:
    letters = ""
    while col:
        col, rest = divmod(col - 1, 26)
        letters = chr(65 + rest) + letters
    return f"{letters}{row}"


def serial(value: datetime | date | time) -> float:
    if isinstance(value, datetime):
        return (value - datetime(1899, 12, 30)) / timedelta(days=1)
    if isinstance(value, date):
        return float((value - date(1899, 12, 30)).days)
    return (value.hour * 3600 + value.minute * 60 + value.second) / 86400


@dataclass
class Note:
    ref: str
    author: str
    text: str
    visible: bool = False
    width_pt: float = 108.0
    height_pt: float = 59.25
    threaded: bool = False  # the legacy stand-in Excel writes for a threaded comment


@dataclass
class Sheet:
    title: str
    rows: list[list[Any]]
    hidden: bool = False
    styles: dict[str, int] = field(default_factory=dict)  # cell -> style index (on top of the value's)
    raw_cells: dict[str, str] = field(default_factory=dict)  # cell -> the <c> element as written
    notes: list[Note] = field(default_factory=list)
    threaded: list[tuple[str, str]] = field(default_factory=list)  # (cell, text) by the one person
    picture_at: tuple[int, int] | None = None  # (col, row) zero-based anchor of a picture
    chart_of: str | None = None  # a range such as "$C$2:$C$6" charted on this tab
    x14_rule: tuple[str, str] | None = None  # (sqref, formula) in the x14 extension
    pivot_of: tuple[str, str] | None = None  # (source tab, source range) of a pivot table at A3 here


class ExcelBook:
    """A workbook as Excel saves it (and, for the in-cell picture, as WPS does)."""

    def __init__(self, sheets: list[Sheet], *, vba: bool = False, wps_image: str | None = None,
                 defined_name: tuple[str, str] | None = None):
        self.sheets = sheets
        self.vba = vba
        self.wps_image = wps_image  # the DISPIMG id of an in-cell picture
        self.defined_name = defined_name
        self.strings: dict[str, int] = {}
        self.members: dict[str, bytes] = {}
        self.overrides: dict[str, str] = {}
        self.pivots = 0
        self.pivot_sources: list[tuple[str, str]] = []

    def _sst(self, text: str) -> int:
        return self.strings.setdefault(text, len(self.strings))

    def save(self, path: Path) -> Path:
        self.build()
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
            for name, content in self.members.items():
                zf.writestr(zipfile.ZipInfo(name, (1980, 1, 1, 0, 0, 0)), content, zipfile.ZIP_DEFLATED)
        return path

    # -- the parts ------------------------------------------------------------------------------

    def build(self) -> None:
        m = self.members
        main_ct = ("application/vnd.ms-excel.sheet.macroEnabled.main+xml" if self.vba else
                   "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml")
        self.overrides["/xl/workbook.xml"] = main_ct
        wb_rels = []
        sheets_xml = []
        drawings = 0
        charts = 0
        images = 0
        comments = 0
        for i, sheet in enumerate(self.sheets, start=1):
            member = f"xl/worksheets/sheet{i}.xml"
            self.overrides["/" + member] = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"
            wb_rels.append((f"rId{i}", R + "/worksheet", f"worksheets/sheet{i}.xml"))
            state = ' state="hidden"' if sheet.hidden else ""
            sheets_xml.append(f'<sheet name={quoteattr(sheet.title)} sheetId="{i}"{state} r:id="rId{i}"/>')
            rels: list[tuple[str, str, str]] = []
            tail = []
            if sheet.picture_at or sheet.chart_of:
                drawings += 1
                drawing = f"xl/drawings/drawing{drawings}.xml"
                anchors, drawing_rels = [], []
                if sheet.picture_at:
                    images += 1
                    m[f"xl/media/image{images}.png"] = png(rgb=(180, 140, 20))
                    drawing_rels.append(("rId1", R + "/image", f"../media/image{images}.png"))
                    anchors.append(_picture_anchor(*sheet.picture_at))
                if sheet.chart_of:
                    charts += 1
                    chart = f"xl/charts/chart{charts}.xml"
                    m[chart] = _chart(sheet.title, sheet.chart_of).encode()
                    self.overrides["/" + chart] = "application/vnd.openxmlformats-officedocument.drawingml.chart+xml"
                    drawing_rels.append(("rId2", R + "/chart", f"../charts/chart{charts}.xml"))
                    anchors.append(_chart_anchor())
                m[drawing] = (DECL + f'<xdr:wsDr xmlns:xdr="{XDR}" xmlns:a="{A}">' + "".join(anchors)
                              + "</xdr:wsDr>").encode()
                m[_rels_of(drawing)] = _rels(drawing_rels)
                self.overrides["/" + drawing] = "application/vnd.openxmlformats-officedocument.drawing+xml"
                rels.append(("rId1", R + "/drawing", f"../drawings/drawing{drawings}.xml"))
                tail.append('<drawing r:id="rId1"/>')
            if sheet.notes:
                comments += 1
                m[f"xl/comments{comments}.xml"] = _comments(sheet.notes).encode()
                self.overrides[f"/xl/comments{comments}.xml"] = (
                    "application/vnd.openxmlformats-officedocument.spreadsheetml.comments+xml")
                m[f"xl/drawings/vmlDrawing{comments}.vml"] = _vml(sheet.notes, comments).encode()
                rels.append(("rId2", R + "/vmlDrawing", f"../drawings/vmlDrawing{comments}.vml"))
                rels.append(("rId3", R + "/comments", f"../comments{comments}.xml"))
                tail.append('<legacyDrawing r:id="rId2"/>')
            if sheet.threaded:
                member_tc = f"xl/threadedComments/threadedComment{i}.xml"
                m[member_tc] = _threaded(sheet.threaded).encode()
                self.overrides["/" + member_tc] = "application/vnd.ms-excel.threadedcomments+xml"
                rels.append(("rId4", "http://schemas.microsoft.com/office/2017/10/relationships/threadedComment",
                             f"../threadedComments/threadedComment{i}.xml"))
            if sheet.pivot_of:
                self.pivots += 1
                n_pivot = self.pivots
                table = f"xl/pivotTables/pivotTable{n_pivot}.xml"
                m[table] = _pivot_table(n_pivot).encode()
                m[_rels_of(table)] = _rels([("rId1", R + "/pivotCacheDefinition",
                                             f"../pivotCache/pivotCacheDefinition{n_pivot}.xml")])
                self.overrides["/" + table] = ("application/vnd.openxmlformats-officedocument.spreadsheetml."
                                               "pivotTable+xml")
                rels.append(("rId5", R + "/pivotTable", f"../pivotTables/pivotTable{n_pivot}.xml"))
                self.pivot_sources.append(sheet.pivot_of)
            m[member] = self._sheet_xml(sheet, tail).encode()
            if rels:
                m[_rels_of(member)] = _rels(rels)
        n = len(self.sheets)
        wb_rels += [(f"rId{n + 1}", R + "/theme", "theme/theme1.xml"), (f"rId{n + 2}", R + "/styles", "styles.xml"),
                    (f"rId{n + 3}", R + "/sharedStrings", "sharedStrings.xml")]
        if any(s.threaded for s in self.sheets):
            m["xl/persons/person.xml"] = (
                DECL + f'<personList xmlns="{TC}" xmlns:x="{MAIN}"><person displayName="王芳" '
                'id="{6C1C2C3E-5A77-4B2E-9C3F-1D2E3F4A5B6C}" userId="wangfang@shop.example" providerId="AD"/>'
                '</personList>').encode()
            self.overrides["/xl/persons/person.xml"] = "application/vnd.ms-excel.person+xml"
            wb_rels.append((f"rId{n + 4}", "http://schemas.microsoft.com/office/2017/10/relationships/person",
                            "persons/person.xml"))
        if self.vba:
            m["xl/vbaProject.bin"] = _vba_project()
            wb_rels.append((f"rId{n + 5}", "http://schemas.microsoft.com/office/2006/relationships/vbaProject",
                            "vbaProject.bin"))
        if self.wps_image:
            images += 1
            m[f"xl/media/image{images}.png"] = png(rgb=(30, 90, 200))
            m["xl/cellimages.xml"] = _cell_images(self.wps_image).encode()
            m["xl/_rels/cellimages.xml.rels"] = _rels([("rId1", R + "/image", f"media/image{images}.png")])
            self.overrides["/xl/cellimages.xml"] = "application/vnd.wps-officedocument.cellimage+xml"
            wb_rels.append((f"rId{n + 6}", "http://www.wps.cn/officeDocument/2020/cellImage", "cellimages.xml"))
        caches = ""
        for k, (source, cells) in enumerate(self.pivot_sources, start=1):
            definition = f"xl/pivotCache/pivotCacheDefinition{k}.xml"
            m[definition] = _pivot_cache(source, cells).encode()
            m[_rels_of(definition)] = _rels([("rId1", R + "/pivotCacheRecords", f"pivotCacheRecords{k}.xml")])
            m[f"xl/pivotCache/pivotCacheRecords{k}.xml"] = _PIVOT_RECORDS.encode()
            self.overrides["/" + definition] = ("application/vnd.openxmlformats-officedocument.spreadsheetml."
                                                "pivotCacheDefinition+xml")
            self.overrides[f"/xl/pivotCache/pivotCacheRecords{k}.xml"] = (
                "application/vnd.openxmlformats-officedocument.spreadsheetml.pivotCacheRecords+xml")
            wb_rels.append((f"rId{n + 6 + k}", R + "/pivotCacheDefinition", f"pivotCache/pivotCacheDefinition{k}.xml"))
            caches += f'<pivotCache cacheId="{k}" r:id="rId{n + 6 + k}"/>'
        names = ""
        if self.defined_name:
            names = f"<definedNames><definedName name={quoteattr(self.defined_name[0])}>" \
                    f"{escape(self.defined_name[1])}</definedName></definedNames>"
        m["xl/workbook.xml"] = (
            DECL + f'<workbook xmlns="{MAIN}" xmlns:r="{R}" xmlns:mc="{MC}" mc:Ignorable="x15 xr xr6 xr10 xr2" '
            'xmlns:x15="http://schemas.microsoft.com/office/spreadsheetml/2010/11/main" '
            f'xmlns:xr="{XR}" xmlns:xr6="http://schemas.microsoft.com/office/spreadsheetml/2016/revision6" '
            'xmlns:xr10="http://schemas.microsoft.com/office/spreadsheetml/2016/revision10" '
            'xmlns:xr2="http://schemas.microsoft.com/office/spreadsheetml/2015/revision2">'
            '<fileVersion appName="xl" lastEdited="7" lowestEdited="7" rupBuild="27328"/>'
            + ('<workbookPr codeName="ThisWorkbook" defaultThemeVersion="166925"/>' if self.vba
               else '<workbookPr defaultThemeVersion="166925"/>')
            + '<bookViews><workbookView xWindow="-110" yWindow="-110" windowWidth="19420" windowHeight="10420" '
            'activeTab="0"/></bookViews><sheets>' + "".join(sheets_xml) + "</sheets>" + names
            + '<calcPr calcId="191029"/>' + (f"<pivotCaches>{caches}</pivotCaches>" if caches else "")
            + "</workbook>").encode()
        m["xl/_rels/workbook.xml.rels"] = _rels(wb_rels)
        m["xl/theme/theme1.xml"] = _THEME.encode()
        self.overrides["/xl/theme/theme1.xml"] = "application/vnd.openxmlformats-officedocument.theme+xml"
        m["xl/styles.xml"] = _STYLES.encode()
        self.overrides["/xl/styles.xml"] = "application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"
        m["xl/sharedStrings.xml"] = self._shared_strings().encode()
        self.overrides["/xl/sharedStrings.xml"] = (
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml")
        m["docProps/app.xml"] = (DECL + '<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/'
                                 'extended-properties"><Application>Microsoft Excel</Application>'
                                 '<AppVersion>16.0300</AppVersion></Properties>').encode()
        self.overrides["/docProps/app.xml"] = "application/vnd.openxmlformats-officedocument.extended-properties+xml"
        m["_rels/.rels"] = _rels([("rId1", R + "/officeDocument", "xl/workbook.xml"),
                                  ("rId2", R + "/extended-properties", "docProps/app.xml")])
        defaults = {"rels": "application/vnd.openxmlformats-package.relationships+xml", "xml": "application/xml",
                    "png": "image/png", "vml": "application/vnd.openxmlformats-officedocument.vmlDrawing"}
        if self.vba:
            defaults["bin"] = "application/vnd.ms-office.vbaProject"
        m["[Content_Types].xml"] = (
            DECL + '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            + "".join(f'<Default Extension="{e}" ContentType="{t}"/>' for e, t in defaults.items())
            + "".join(f'<Override PartName="{p}" ContentType="{t}"/>' for p, t in self.overrides.items())
            + "</Types>").encode()
        # Excel puts [Content_Types].xml first in the zip
        self.members = {"[Content_Types].xml": m.pop("[Content_Types].xml"), **m}

    def _sheet_xml(self, sheet: Sheet, tail: list[str]) -> str:
        rows_xml = []
        width = max((len(r) for r in sheet.rows), default=1)
        extra = {k: v for k, v in sheet.raw_cells.items()}
        styled = dict(sheet.styles)
        for r, row in enumerate(sheet.rows, start=1):
            cells = []
            for c, value in enumerate(row, start=1):
                at = ref(r, c)
                if at in extra:
                    cells.append(extra.pop(at))
                    continue
                cells.append(self._cell(at, value, styled.pop(at, 0)))
            for at in [k for k in extra if _row_of(k) == r]:
                cells.append(extra.pop(at))
            cells += [f'<c r="{at}" s="{s}"/>' for at, s in list(styled.items()) if _row_of(at) == r]
            for at in [k for k in styled if _row_of(k) == r]:
                styled.pop(at)
            cells = [x for x in cells if x]
            rows_xml.append(f'<row r="{r}" spans="1:{width}" x14ac:dyDescent="0.25">' + "".join(cells) + "</row>")
        ext = ""
        if sheet.x14_rule:
            sqref, formula = sheet.x14_rule
            ext = (f'<extLst><ext uri="{{78C0D931-6437-407d-A8EE-F0AAD7539E65}}" xmlns:x14="{X14}">'
                   f'<x14:conditionalFormattings><x14:conditionalFormatting xmlns:xm="{XM}">'
                   '<x14:cfRule type="expression" priority="1" id="{A2E4C5D6-7F80-4A1B-9C2D-3E4F5A6B7C8D}">'
                   f'<xm:f>{escape(formula)}</xm:f><x14:dxf><font><color rgb="FF9C0006"/></font><fill><patternFill>'
                   '<bgColor rgb="FFFFC7CE"/></patternFill></fill></x14:dxf></x14:cfRule>'
                   f'<xm:sqref>{sqref}</xm:sqref></x14:conditionalFormatting></x14:conditionalFormattings>'
                   '</ext></extLst>')
        last = ref(max(len(sheet.rows), 1), width)
        return (DECL + f'<worksheet xmlns="{MAIN}" xmlns:r="{R}" xmlns:mc="{MC}" mc:Ignorable="x14ac xr xr2 xr3" '
                f'xmlns:x14ac="{X14AC}" xmlns:xr="{XR}" '
                'xmlns:xr2="http://schemas.microsoft.com/office/spreadsheetml/2015/revision2" '
                'xmlns:xr3="http://schemas.microsoft.com/office/spreadsheetml/2016/revision3" '
                'xr:uid="{9A1B2C3D-4E5F-4061-8273-94A5B6C7D8E9}">'
                f'<dimension ref="A1:{last}"/><sheetViews><sheetView workbookViewId="0">'
                '<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>'
                '<selection pane="bottomLeft" activeCell="A2" sqref="A2"/></sheetView></sheetViews>'
                '<sheetFormatPr defaultRowHeight="14" x14ac:dyDescent="0.25"/><cols><col min="1" max="1" '
                'width="14.6328125" customWidth="1"/></cols><sheetData>' + "".join(rows_xml) + "</sheetData>"
                '<pageMargins left="0.7" right="0.7" top="0.75" bottom="0.75" header="0.3" footer="0.3"/>'
                + "".join(tail) + ext + "</worksheet>")

    def _cell(self, at: str, value: Any, style: int) -> str:
        s = f' s="{style}"' if style else ""
        if value is None or value == "":
            return f'<c r="{at}"{s}/>' if style else ""
        if isinstance(value, bool):
            return f'<c r="{at}"{s} t="b"><v>{int(value)}</v></c>'
        if isinstance(value, (int, float)):
            return f'<c r="{at}"{s}><v>{value!r}</v></c>'
        if isinstance(value, (datetime, date, time)):
            kind = STYLE_DATETIME if isinstance(value, datetime) else STYLE_DATE if isinstance(value, date) else \
                STYLE_TIME
            return f'<c r="{at}" s="{style or kind}"><v>{serial(value)!r}</v></c>'
        return f'<c r="{at}"{s} t="s"><v>{self._sst(str(value))}</v></c>'

    def _shared_strings(self) -> str:
        items = "".join(f"<si><t{_space(t)}>{escape(t)}</t></si>" for t in self.strings)
        return (DECL + f'<sst xmlns="{MAIN}" count="{len(self.strings)}" uniqueCount="{len(self.strings)}">'
                + items + "</sst>")


def _space(text: str) -> str:
    return ' xml:space="preserve"' if text != text.strip() or "\n" in text else ""


def _row_of(at: str) -> int:
    return int("".join(ch for ch in at if ch.isdigit()))


def _rels_of(member: str) -> str:
    folder, _, name = member.rpartition("/")
    return f"{folder}/_rels/{name}.rels"


def _rels(rels: list[tuple[str, str, str]]) -> bytes:
    return (DECL + f'<Relationships xmlns="{PKG}">'
            + "".join(f'<Relationship Id="{i}" Type="{t}" Target="{x}"/>' for i, t, x in rels)
            + "</Relationships>").encode()


def _picture_anchor(col: int, row: int) -> str:
    return (f'<xdr:twoCellAnchor editAs="oneCell"><xdr:from><xdr:col>{col}</xdr:col><xdr:colOff>0</xdr:colOff>'
            f'<xdr:row>{row}</xdr:row><xdr:rowOff>0</xdr:rowOff></xdr:from><xdr:to><xdr:col>{col + 1}</xdr:col>'
            f'<xdr:colOff>304800</xdr:colOff><xdr:row>{row + 3}</xdr:row><xdr:rowOff>76200</xdr:rowOff></xdr:to>'
            '<xdr:pic><xdr:nvPicPr><xdr:cNvPr id="2" name="图片 1" descr="戒指正面"><a:extLst><a:ext '
            'uri="{FF2B5EF4-FFF2-40B4-BE49-F238E27FC236}"><a16:creationId xmlns:a16="http://schemas.microsoft.com/'
            'office/drawing/2014/main" id="{1F2E3D4C-5B6A-4978-8695-A4B3C2D1E0F9}"/></a:ext></a:extLst></xdr:cNvPr>'
            '<xdr:cNvPicPr><a:picLocks noChangeAspect="1"/></xdr:cNvPicPr></xdr:nvPicPr><xdr:blipFill>'
            f'<a:blip xmlns:r="{R}" r:embed="rId1"/><a:stretch><a:fillRect/></a:stretch></xdr:blipFill><xdr:spPr>'
            '<a:xfrm><a:off x="4572000" y="190500"/><a:ext cx="914400" cy="647700"/></a:xfrm><a:prstGeom prst="rect">'
            '<a:avLst/></a:prstGeom></xdr:spPr></xdr:pic><xdr:clientData/></xdr:twoCellAnchor>')


def _chart_anchor() -> str:
    return ('<xdr:twoCellAnchor><xdr:from><xdr:col>8</xdr:col><xdr:colOff>0</xdr:colOff><xdr:row>1</xdr:row>'
            '<xdr:rowOff>0</xdr:rowOff></xdr:from><xdr:to><xdr:col>15</xdr:col><xdr:colOff>0</xdr:colOff>'
            '<xdr:row>16</xdr:row><xdr:rowOff>0</xdr:rowOff></xdr:to><xdr:graphicFrame macro=""><xdr:nvGraphicFramePr>'
            '<xdr:cNvPr id="3" name="图表 2"/><xdr:cNvGraphicFramePr/></xdr:nvGraphicFramePr><xdr:xfrm><a:off x="0" '
            'y="0"/><a:ext cx="0" cy="0"/></xdr:xfrm><a:graphic><a:graphicData '
            f'uri="{C}"><c:chart xmlns:c="{C}" xmlns:r="{R}" r:id="rId2"/></a:graphicData></a:graphic>'
            '</xdr:graphicFrame><xdr:clientData/></xdr:twoCellAnchor>')


def _chart(title: str, cells: str) -> str:
    sheet = "'" + title.replace("'", "''") + "'"
    return (DECL + f'<c:chartSpace xmlns:c="{C}" xmlns:a="{A}" xmlns:r="{R}"><c:date1904 val="0"/><c:lang val="zh-CN"/>'
            '<c:roundedCorners val="0"/><c:chart><c:autoTitleDeleted val="1"/><c:plotArea><c:layout/><c:barChart>'
            '<c:barDir val="col"/><c:grouping val="clustered"/><c:varyColors val="0"/><c:ser><c:idx val="0"/>'
            f'<c:order val="0"/><c:val><c:numRef><c:f>{escape(sheet)}!{cells}</c:f></c:numRef></c:val></c:ser>'
            '<c:gapWidth val="219"/><c:axId val="100"/><c:axId val="200"/></c:barChart><c:catAx><c:axId val="100"/>'
            '<c:scaling><c:orientation val="minMax"/></c:scaling><c:delete val="0"/><c:axPos val="b"/>'
            '<c:crossAx val="200"/></c:catAx><c:valAx><c:axId val="200"/><c:scaling><c:orientation val="minMax"/>'
            '</c:scaling><c:delete val="0"/><c:axPos val="l"/><c:crossAx val="100"/></c:valAx></c:plotArea>'
            '<c:plotVisOnly val="1"/></c:chart></c:chartSpace>')


def _comments(notes: list[Note]) -> str:
    authors = list(dict.fromkeys(n.author for n in notes))
    items = []
    for note in notes:
        uid = ' xr:uid="{5B6C7D8E-9F01-4A23-B456-C789D0E1F234}"' if note.threaded else ""
        if note.threaded:
            body = f"<t>{escape(note.text)}</t>"
        else:  # Excel writes the author's name in bold, then the text
            body = (f'<r><rPr><b/><sz val="9"/><color indexed="81"/><rFont val="宋体"/><charset val="134"/></rPr>'
                    f'<t>{escape(note.author)}:</t></r><r><rPr><sz val="9"/><color indexed="81"/><rFont val="宋体"/>'
                    f'<charset val="134"/></rPr><t xml:space="preserve">\n{escape(note.text)}</t></r>')
        items.append(f'<comment ref="{note.ref}" authorId="{authors.index(note.author)}" shapeId="0"{uid}>'
                     f"<text>{body}</text></comment>")
    return (DECL + f'<comments xmlns="{MAIN}" xmlns:mc="{MC}" mc:Ignorable="xr" xmlns:xr="{XR}"><authors>'
            + "".join(f"<author>{escape(a)}</author>" for a in authors) + "</authors><commentList>"
            + "".join(items) + "</commentList></comments>")


def _vml(notes: list[Note], block: int) -> str:
    shapes = []
    for i, note in enumerate(notes, start=1):
        row = _row_of(note.ref) - 1
        col = sum((ord(ch) - 64) * 26 ** k for k, ch in enumerate(reversed(note.ref.rstrip("0123456789")))) - 1
        visibility = "visible" if note.visible else "hidden"
        shapes.append(
            f'\r\n <v:shape id="_x0000_s{block * 1024 + i}" type="#_x0000_t202" style=\'position:absolute;\r\n'
            f"  margin-left:107.25pt;margin-top:2.25pt;width:{note.width_pt}pt;height:{note.height_pt}pt;z-index:{i};"
            f"\r\n  visibility:{visibility}' fillcolor=\"infoBackground [80]\" o:insetmode=\"auto\">\r\n"
            '  <v:fill color2="infoBackground [80]"/>\r\n  <v:shadow color="none [81]" obscured="t"/>\r\n'
            '  <v:path o:connecttype="none"/>\r\n  <v:textbox style=\'mso-direction-alt:auto\'>\r\n'
            "   <div style='text-align:left'></div>\r\n  </v:textbox>\r\n  <x:ClientData ObjectType=\"Note\">\r\n"
            "   <x:MoveWithCells/>\r\n   <x:SizeWithCells/>\r\n"
            f"   <x:Anchor>\r\n    {col + 1}, 15, {row}, 2, {col + 4}, 15, {row + 5}, 4</x:Anchor>\r\n"
            "   <x:AutoFill>False</x:AutoFill>\r\n"
            f"   <x:Row>{row}</x:Row>\r\n   <x:Column>{col}</x:Column>\r\n"
            + ("   <x:Visible/>\r\n" if note.visible else "") + "  </x:ClientData>\r\n </v:shape>")
    return ('<xml xmlns:v="urn:schemas-microsoft-com:vml"\r\n xmlns:o="urn:schemas-microsoft-com:office:office"\r\n'
            ' xmlns:x="urn:schemas-microsoft-com:office:excel">\r\n <o:shapelayout v:ext="edit">\r\n'
            f'  <o:idmap v:ext="edit" data="{block}"/>\r\n </o:shapelayout><v:shapetype id="_x0000_t202" '
            'coordsize="21600,21600" o:spt="202"\r\n  path="m,l,21600r21600,l21600,xe">\r\n'
            '  <v:stroke joinstyle="miter"/>\r\n  <v:path gradientshapeok="t" o:connecttype="rect"/>\r\n'
            " </v:shapetype>" + "".join(shapes) + "</xml>")


def _threaded(items: list[tuple[str, str]]) -> str:
    body = "".join(
        f'<threadedComment ref="{at}" dT="2026-11-20T08:15:30.12" personId="{{6C1C2C3E-5A77-4B2E-9C3F-1D2E3F4A5B6C}}" '
        f'id="{{5B6C7D8E-9F01-4A23-B456-C789D0E1F23{i}}}"><text>{escape(text)}</text></threadedComment>'
        for i, (at, text) in enumerate(items))
    return DECL + f'<ThreadedComments xmlns="{TC}" xmlns:x="{MAIN}">' + body + "</ThreadedComments>"


def threaded_stand_in(text: str) -> str:
    """The legacy note Excel writes beside a threaded comment, for older versions."""
    return ("[Threaded comment]\n\nYour version of Excel allows you to read this threaded comment; however, any "
            "edits to it will get removed if the file is opened in a newer version of Excel. Learn more: "
            f"https://go.microsoft.com/fwlink/?linkid=870924\n\nComment:\n    {text}")


def _cell_images(image_id: str) -> str:
    return (DECL + f'<etc:cellImages xmlns:xdr="{XDR}" xmlns:r="{R}" xmlns:a="{A}" xmlns:etc="{ETC}">'
            f'<etc:cellImage><xdr:pic><xdr:nvPicPr><xdr:cNvPr id="2" name="{image_id}" descr="项链"/><xdr:cNvPicPr>'
            '<a:picLocks noChangeAspect="1"/></xdr:cNvPicPr></xdr:nvPicPr><xdr:blipFill><a:blip r:embed="rId1"/>'
            '<a:stretch><a:fillRect/></a:stretch></xdr:blipFill><xdr:spPr><a:xfrm><a:off x="0" y="0"/>'
            '<a:ext cx="952500" cy="952500"/></a:xfrm><a:prstGeom prst="rect"><a:avLst/></a:prstGeom></xdr:spPr>'
            "</xdr:pic></etc:cellImage></etc:cellImages>")


def dispimg_cell(at: str, image_id: str) -> str:
    """A WPS in-cell picture: a DISPIMG formula whose cached text is the formula itself."""
    return f'<c r="{at}" t="str"><f>_xlfn.DISPIMG("{image_id}",1)</f><v>=DISPIMG("{image_id}",1)</v></c>'


def _pivot_cache(source: str, cells: str) -> str:
    return (DECL + f'<pivotCacheDefinition xmlns="{MAIN}" xmlns:r="{R}" r:id="rId1" refreshedBy="王芳" '
            'refreshedDate="46348.6" createdVersion="8" refreshedVersion="8" minRefreshableVersion="3" recordCount="2">'
            f'<cacheSource type="worksheet"><worksheetSource ref="{cells}" sheet={quoteattr(source)}/></cacheSource>'
            '<cacheFields count="2"><cacheField name="SKU" numFmtId="0"><sharedItems count="2"><s v="A"/><s v="B"/>'
            '</sharedItems></cacheField><cacheField name="数量" numFmtId="0"><sharedItems containsSemiMixedTypes="0" '
            'containsString="0" containsNumber="1" containsInteger="1" minValue="1" maxValue="5"/></cacheField>'
            "</cacheFields></pivotCacheDefinition>")


_PIVOT_RECORDS = (DECL + f'<pivotCacheRecords xmlns="{MAIN}" xmlns:r="{R}" count="2"><r><x v="0"/><n v="1"/></r>'
                  '<r><x v="1"/><n v="5"/></r></pivotCacheRecords>')


def _pivot_table(cache_id: int) -> str:
    return (DECL + f'<pivotTableDefinition xmlns="{MAIN}" name="数据透视表1" cacheId="{cache_id}" '
            'applyNumberFormats="0" applyBorderFormats="0" applyFontFormats="0" applyPatternFormats="0" '
            'applyAlignmentFormats="0" applyWidthHeightFormats="1" dataCaption="值" updatedVersion="8" '
            'minRefreshableVersion="3" useAutoFormatting="1" itemPrintTitles="1" createdVersion="8" indent="0" '
            'outline="1" outlineData="1" multipleFieldFilters="0"><location ref="A3:B6" firstHeaderRow="1" '
            'firstDataRow="1" firstDataCol="1"/><pivotFields count="2"><pivotField axis="axisRow" showAll="0">'
            '<items count="3"><item x="0"/><item x="1"/><item t="default"/></items></pivotField><pivotField '
            'dataField="1" showAll="0"/></pivotFields><rowFields count="1"><field x="0"/></rowFields><rowItems '
            'count="3"><i><x/></i><i><x v="1"/></i><i t="grand"><x/></i></rowItems><colItems count="1"><i/>'
            '</colItems><dataFields count="1"><dataField name="求和项:数量" fld="1" baseField="0" baseItem="0"/>'
            '</dataFields><pivotTableStyleInfo name="PivotStyleLight16" showRowHeaders="1" showColHeaders="1" '
            'showRowStripes="0" showColStripes="0" showLastColumn="1"/></pivotTableDefinition>')


def _vba_project() -> bytes:
    """Stand-in bytes for a VBA project: an OLE compound file header and a module's text. Only
    its bytes matter here (nothing runs it); sheetsync must carry it over unchanged."""
    return (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 16 + b"\x3e\x00\x03\x00\xfe\xff\x09\x00"
            + b"\x00" * 480 + b'Attribute VB_Name = "Module1"\r\nSub Refresh()\r\nEnd Sub\r\n' * 8)


_STYLES = (
    DECL + f'<styleSheet xmlns="{MAIN}" xmlns:mc="{MC}" mc:Ignorable="x14ac x16r2 xr" xmlns:x14ac="{X14AC}" '
    'xmlns:x16r2="http://schemas.microsoft.com/office/spreadsheetml/2015/02/main" '
    f'xmlns:xr="{XR}"><numFmts count="1"><numFmt numFmtId="176" formatCode="yyyy/m/d\\ h:mm"/></numFmts>'
    '<fonts count="2" x14ac:knownFonts="1"><font><sz val="11"/><color theme="1"/><name val="等线"/><family val="2"/>'
    '<charset val="134"/><scheme val="minor"/></font><font><b/><sz val="11"/><color theme="1"/><name val="等线"/>'
    '<family val="3"/><charset val="134"/><scheme val="minor"/></font></fonts>'
    '<fills count="3"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill>'
    '<fill><patternFill patternType="darkGrid"><fgColor rgb="FFFFC000"/><bgColor indexed="64"/></patternFill></fill>'
    '</fills><borders count="2"><border><left/><right/><top/><bottom/><diagonal/></border><border><left style="thin">'
    '<color indexed="64"/></left><right style="thin"><color indexed="64"/></right><top style="thin"><color '
    'indexed="64"/></top><bottom style="thin"><color indexed="64"/></bottom><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"><alignment vertical="center"/></xf>'
    '</cellStyleXfs><cellXfs count="6"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"><alignment '
    'vertical="center"/></xf><xf numFmtId="176" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1">'
    '<alignment vertical="center"/></xf><xf numFmtId="14" fontId="0" fillId="0" borderId="0" xfId="0" '
    'applyNumberFormat="1"><alignment vertical="center"/></xf><xf numFmtId="0" fontId="0" fillId="2" borderId="0" '
    'xfId="0" applyFill="1"><alignment vertical="center"/></xf><xf numFmtId="0" fontId="1" fillId="0" borderId="1" '
    'xfId="0" applyFont="1" applyBorder="1"><alignment vertical="center"/></xf><xf numFmtId="20" fontId="0" '
    'fillId="0" borderId="0" xfId="0" applyNumberFormat="1"><alignment vertical="center"/></xf></cellXfs>'
    '<cellStyles count="1"><cellStyle name="常规" xfId="0" builtinId="0"/></cellStyles><dxfs count="0"/>'
    '<tableStyles count="0" defaultTableStyle="TableStyleMedium2" defaultPivotStyle="PivotStyleLight16"/>'
    '<extLst><ext uri="{EB79DEF2-80B8-43e5-95BD-54CBDDF9020C}" xmlns:x14="http://schemas.microsoft.com/office/'
    'spreadsheetml/2009/9/main"><x14:slicerStyles defaultSlicerStyle="SlicerStyleLight1"/></ext></extLst>'
    '</styleSheet>'
)

_THEME = (
    DECL + f'<a:theme xmlns:a="{A}" name="Office 主题"><a:themeElements><a:clrScheme name="Office"><a:dk1>'
    '<a:sysClr val="windowText" lastClr="000000"/></a:dk1><a:lt1><a:sysClr val="window" lastClr="FFFFFF"/></a:lt1>'
    '<a:dk2><a:srgbClr val="44546A"/></a:dk2><a:lt2><a:srgbClr val="E7E6E6"/></a:lt2><a:accent1><a:srgbClr '
    'val="4472C4"/></a:accent1><a:accent2><a:srgbClr val="ED7D31"/></a:accent2><a:accent3><a:srgbClr val="A5A5A5"/>'
    '</a:accent3><a:accent4><a:srgbClr val="FFC000"/></a:accent4><a:accent5><a:srgbClr val="5B9BD5"/></a:accent5>'
    '<a:accent6><a:srgbClr val="70AD47"/></a:accent6><a:hlink><a:srgbClr val="0563C1"/></a:hlink><a:folHlink>'
    '<a:srgbClr val="954F72"/></a:folHlink></a:clrScheme><a:fontScheme name="Office"><a:majorFont><a:latin '
    'typeface="等线 Light"/><a:ea typeface=""/><a:cs typeface=""/></a:majorFont><a:minorFont><a:latin '
    'typeface="等线"/><a:ea typeface=""/><a:cs typeface=""/></a:minorFont></a:fontScheme><a:fmtScheme name="Office">'
    '<a:fillStyleLst><a:solidFill><a:schemeClr val="phClr"/></a:solidFill><a:solidFill><a:schemeClr val="phClr"/>'
    '</a:solidFill><a:solidFill><a:schemeClr val="phClr"/></a:solidFill></a:fillStyleLst><a:lnStyleLst><a:ln w="6350">'
    '<a:solidFill><a:schemeClr val="phClr"/></a:solidFill></a:ln><a:ln w="12700"><a:solidFill><a:schemeClr '
    'val="phClr"/></a:solidFill></a:ln><a:ln w="19050"><a:solidFill><a:schemeClr val="phClr"/></a:solidFill></a:ln>'
    '</a:lnStyleLst><a:effectStyleLst><a:effectStyle><a:effectLst/></a:effectStyle><a:effectStyle><a:effectLst/>'
    '</a:effectStyle><a:effectStyle><a:effectLst/></a:effectStyle></a:effectStyleLst><a:bgFillStyleLst><a:solidFill>'
    '<a:schemeClr val="phClr"/></a:solidFill><a:solidFill><a:schemeClr val="phClr"/></a:solidFill><a:solidFill>'
    '<a:schemeClr val="phClr"/></a:solidFill></a:bgFillStyleLst></a:fmtScheme></a:themeElements></a:theme>'
)
