"""Tabs laid out with openpyxl in memory: ``sheetsync init``'s new tabs (header with notes,
dropdowns, formats, widths, frozen header, the job-owned look) and the weekly chart.

Nothing here touches the file system or an existing workbook: ``xlsx.XlsxBackend`` saves a new
workbook, and ``xlsx_splice`` splices a tab built here into an existing package. Text is
written as text (a cell that starts with "=" must not turn into a formula).
"""

from __future__ import annotations

import math
import unicodedata
from typing import Any, Iterable

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, Cell
from openpyxl.chart import LineChart, Reference
from openpyxl.comments import Comment
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet

from ..core.model import (ChartSpec)
from ..errors import TemplateError
from ..i18n import active
from .base import ColumnLayout, TabLayout

AUTHOR = "sheetsync"
HEADER_FILL = "D9D9D9"  # light grey behind header rows sheetsync writes
JOB_TAB_COLOUR = "A6A6A6"  # grey sheet tab: "written by sheetsync, don't type here"
LAST_EXCEL_ROW = 1048576  # dropdowns and formats cover the whole column, however long the log grows

NOTE_WIDTH_PX = 400  # about 300 pt: wide enough for a sentence of Chinese per line
_NOTE_LINE_UNITS = 56  # half-width characters per line at that width (a Chinese character = 2)
_NOTE_LINE_PX = 15
_MAX_LIST_FORMULA = 255  # Excel refuses longer in-cell dropdown lists


def solid(rgb: str) -> PatternFill:
    return PatternFill(fill_type="solid", start_color="FF" + rgb, end_color="FF" + rgb)


def sized_note(text: str) -> Comment:
    """A note by sheetsync, its box big enough to read without resizing."""
    return fit_note(Comment(text, AUTHOR))


def fit_note(comment: Comment) -> Comment:
    """Size a note box to its text: fixed width, height by the number of wrapped lines."""
    lines = 0
    for line in (comment.text or "").splitlines() or [""]:
        units = sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in line)
        lines += max(1, math.ceil(units / _NOTE_LINE_UNITS))
    comment.width, comment.height = NOTE_WIDTH_PX, (lines + 1) * _NOTE_LINE_PX
    return comment


def set_literal(cell: Cell, value: Any) -> None:
    """Write ``value`` as a literal: text beginning with '=' stays text, never a formula, and
    control characters Excel cannot store are dropped instead of failing the whole save."""
    if isinstance(value, str):
        cell.value = ILLEGAL_CHARACTERS_RE.sub("", value)
        if cell.data_type == "f":
            cell.data_type = "s"
    else:
        cell.value = value


# ---------------------------------------------------------------------------------------------
# Job-owned look, chart


def _write_rows(ws: Worksheet, rows: Iterable[Iterable[Any]], first_row: int) -> None:
    for r, row in enumerate(rows, start=first_row):
        for c, value in enumerate(row, start=1):
            if value is not None:
                set_literal(ws.cell(row=r, column=c), value)


def _style_header(ws: Worksheet, n_cols: int) -> None:
    bold, fill = Font(bold=True), solid(HEADER_FILL)
    for col in range(1, n_cols + 1):
        cell = ws.cell(row=1, column=col)
        cell.font = bold
        cell.fill = fill


def _mark_job_owned(ws: Worksheet) -> None:
    """Grey tab and sheet protection without a password: Excel/WPS warn a person who starts
    typing there, and sheetsync (which does not go through Excel) can still write."""
    ws.sheet_properties.tabColor = JOB_TAB_COLOUR
    ws.protection.sheet = True


def line_chart(ws: Worksheet, spec: ChartSpec) -> LineChart:
    chart = LineChart()
    chart.title = spec.title
    chart.width, chart.height = 24, 10  # cm: room for a few months of weekly points
    for col in spec.value_cols:
        series = Reference(ws, min_col=col, min_row=spec.first_row - 1, max_row=spec.last_row)
        chart.add_data(series, titles_from_data=True)
    chart.set_categories(Reference(ws, min_col=spec.cat_col, min_row=spec.first_row, max_row=spec.last_row))
    chart.x_axis.delete = False  # newer Excel hides axes openpyxl leaves unset
    chart.y_axis.delete = False
    return chart


# ---------------------------------------------------------------------------------------------
# Layout of new tabs (sheetsync init)


def add_layout_tab(wb: Workbook, layout: TabLayout) -> Worksheet:
    """Create one tab from its layout: header with notes, dropdowns, formats, widths, frozen
    header, initial rows, and the job-owned look where it applies."""
    ws = wb.create_sheet(layout.title)
    _write_rows(ws, ([c.header for c in layout.columns],), first_row=1)
    _style_header(ws, len(layout.columns))
    for col, column in enumerate(layout.columns, start=1):
        _lay_out_column(ws, col, column, layout.title)
    if layout.frozen_rows > 0:
        ws.freeze_panes = f"A{layout.frozen_rows + 1}"
    _write_rows(ws, layout.rows, first_row=2)
    _format_initial_rows(ws, layout)
    if layout.job_owned:
        _mark_job_owned(ws)
    if layout.hidden:
        ws.sheet_state = "hidden"
    return ws


def _format_initial_rows(ws: Worksheet, layout: TabLayout) -> None:
    """openpyxl stamps its own 'yyyy-mm-dd h:mm:ss' on every date it writes, which overrides the
    column format and overflows the column; give the initial rows the column's format."""
    for col, column in enumerate(layout.columns, start=1):
        if not column.number_format:
            continue
        for row in range(2, len(layout.rows) + 2):
            cell = ws.cell(row=row, column=col)
            if cell.value is not None and not isinstance(cell.value, str):
                cell.number_format = column.number_format


def _lay_out_column(ws: Worksheet, col: int, column: ColumnLayout, title: str) -> None:
    letter = get_column_letter(col)
    dimension = ws.column_dimensions[letter]
    dimension.width = column.width
    if column.number_format:
        # A column style, as Excel sets when a person formats a whole column: every cell typed
        # there later takes it, with no empty cells stored (the header keeps its own style).
        dimension.number_format = column.number_format
    if column.note:
        ws.cell(row=1, column=col).comment = sized_note(column.note)
    if column.choices:
        ws.add_data_validation(_dropdown(column, title, f"{letter}2:{letter}{LAST_EXCEL_ROW}"))


def _dropdown(column: ColumnLayout, title: str, cells: str) -> DataValidation:
    """A list dropdown that warns but accepts other text: a person can still type what they
    must, and sheetsync's checks flag it with a note."""
    if any("," in c or '"' in c for c in column.choices):
        raise TemplateError("backends.layout.choice_characters", tab=title, column=column.header,
                            choices=column.choices)
    formula = '"' + ",".join(column.choices) + '"'
    if len(formula) > _MAX_LIST_FORMULA:
        raise TemplateError("backends.layout.choices_too_long", tab=title, column=column.header,
                            limit=_MAX_LIST_FORMULA)
    cat = active()
    return DataValidation(
        type="list",
        formula1=formula,
        sqref=cells,
        allow_blank=True,
        showErrorMessage=True,
        errorStyle="warning",
        errorTitle=cat.text("backends.layout.dropdown_title"),
        error=cat.text("backends.layout.dropdown_warning", column=column.header),
    )
