"""Changes to an openpyxl Workbook in memory: marks, routed values, job-owned tabs, layouts.

Nothing here touches the file system; ``xlsx.XlsxBackend`` loads and saves. Every function
keeps to the promises of the sheet contract: only sheetsync's own fills and notes are changed,
a value a person typed is never overwritten, and text is written as text (a summary cell that
starts with "=" must not turn into a formula).

Why an operation was skipped is handed back as a keyed :class:`~.base.Reason`; the few words
written into the workbook itself (a dropdown's warning) are rendered in the edge's language.
"""

from __future__ import annotations

import json
import math
import unicodedata
from typing import Any, Iterable

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, Cell, MergedCell
from openpyxl.chart import LineChart, Reference
from openpyxl.comments import Comment
from openpyxl.packaging.custom import StringProperty
from openpyxl.styles import Font, PatternFill
from openpyxl.styles.fills import Fill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet

from ..core.model import (MARK_FILL, AppendRows, ChangeSet, ChartSpec, FillValue, Paint, ReplaceTab,
                          Unpaint, column_letter, strip_note_prefix)
from ..core.model import is_own_note as is_sheetsync_note
from ..errors import TemplateError
from ..i18n import active
from .base import ColumnLayout, Reason, TabLayout

AUTHOR = "sheetsync"
HEADER_FILL = "D9D9D9"  # light grey behind header rows sheetsync writes
JOB_TAB_COLOUR = "A6A6A6"  # grey sheet tab: "written by sheetsync, don't type here"
LAST_EXCEL_ROW = 1048576  # dropdowns and formats cover the whole column, however long the log grows
# Custom document property listing the tabs whose chart sheetsync drew. It travels with the file,
# so a later run (that does not rewrite the weekly tab) still knows that chart is its own.
CHART_TABS_PROPERTY = "sheetsync chart tabs"

NOTE_WIDTH_PX = 400  # about 300 pt: wide enough for a sentence of Chinese per line
_NOTE_LINE_UNITS = 56  # half-width characters per line at that width (a Chinese character = 2)
_NOTE_LINE_PX = 15
_MAX_LIST_FORMULA = 255  # Excel refuses longer in-cell dropdown lists


def fill_key(fill: Fill | None) -> str | None:
    """How a cell's background reads in a Snapshot: 'FFC7CE' for an RGB solid fill; theme and
    palette colours as 'theme:4' / 'indexed:10' so a person's colour still counts as a fill;
    None for no fill, patterns and gradients."""
    if not isinstance(fill, PatternFill) or fill.patternType != "solid" or fill.fgColor is None:
        return None
    colour = fill.fgColor
    if colour.type == "rgb" and isinstance(colour.rgb, str):
        return colour.rgb[-6:].upper()
    if colour.type == "theme":
        return f"theme:{colour.theme}"
    if colour.type == "indexed":
        return f"indexed:{colour.indexed}"
    return colour.type


def cell_fill_key(cell: Cell) -> str | None:
    """fill_key of a cell's own fill (``cell.fill`` is a proxy, not the PatternFill itself)."""
    fill_id = cell._style.fillId if cell._style is not None else 0
    return fill_key(cell.parent.parent._fills[fill_id]) if fill_id else None


def solid(rgb: str) -> PatternFill:
    return PatternFill(fill_type="solid", start_color="FF" + rgb, end_color="FF" + rgb)


def is_own_note(comment: Comment | None) -> bool:
    """A note sheetsync wrote (a person's own notes are never changed)."""
    return comment is not None and (comment.author == AUTHOR or is_sheetsync_note(comment.text))


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


def chart_tabs(wb: Workbook) -> set[str]:
    """Tabs holding a chart sheetsync drew (recorded in the workbook's custom properties)."""
    if CHART_TABS_PROPERTY not in wb.custom_doc_props.names:
        return set()
    try:
        titles = json.loads(wb.custom_doc_props[CHART_TABS_PROPERTY].value)
    except (TypeError, ValueError):
        return set()
    return {t for t in titles if isinstance(t, str)} if isinstance(titles, list) else set()


def _record_chart_tab(wb: Workbook, title: str, has_chart: bool) -> None:
    tabs = chart_tabs(wb)
    wanted = tabs | {title} if has_chart else tabs - {title}
    if wanted == tabs:
        return
    if CHART_TABS_PROPERTY in wb.custom_doc_props.names:
        del wb.custom_doc_props[CHART_TABS_PROPERTY]
    if wanted:
        value = json.dumps(sorted(wanted), ensure_ascii=False)
        wb.custom_doc_props.append(StringProperty(name=CHART_TABS_PROPERTY, value=value))


# ---------------------------------------------------------------------------------------------
# The change set


def apply_changes(wb: Workbook, changes: ChangeSet) -> tuple[int, list[Reason]]:
    """Apply every operation to ``wb``. Returns (operations applied, reasons for the skipped
    ones). A skipped operation changes nothing."""
    written = 0
    skipped: list[Reason] = []
    cell_ops: list[tuple[Any, Any]] = [
        *((op, _paint) for op in changes.paints),
        *((op, _unpaint) for op in changes.unpaints),
        *((op, _fill_value) for op in changes.fills),
    ]
    for op, action in cell_ops:
        if op.tab not in wb.sheetnames:
            skipped.append(Reason("backends.skipped.no_tab", tab=op.tab, cell=f"{column_letter(op.col)}{op.row}",
                                  action=action_of(op, None)))
            continue
        reason = action(_anchor_cell(wb[op.tab], op.row, op.col), op)
        if reason:
            skipped.append(reason)
        else:
            written += 1
    for tab in changes.tabs:
        replace_tab(wb, tab)
        written += 1
    for append in changes.appends:
        append_rows(wb, append)
        written += 1
    return written, skipped


def _anchor_cell(ws: Worksheet, row: int, col: int) -> Cell:
    """The cell a person sees at (row, col): the top-left cell when it lies in a merged range."""
    cell = ws.cell(row=row, column=col)
    if isinstance(cell, MergedCell):
        for rng in ws.merged_cells.ranges:
            if rng.min_row <= row <= rng.max_row and rng.min_col <= col <= rng.max_col:
                return ws.cell(row=rng.min_row, column=rng.min_col)
    return cell


def action_of(op: Paint | Unpaint | FillValue, header: Any) -> Reason:
    """What a skipped operation would have done: mark red, remove the mark, fill in a column."""
    if isinstance(op, Paint):
        return Reason("backends.action.paint")
    if isinstance(op, Unpaint):
        return Reason("backends.action.unpaint")
    return Reason("backends.action.fill", column=header or column_letter(op.col))


def _paint(cell: Cell, op: Paint) -> Reason | None:
    own_note = is_own_note(cell.comment)
    where = {"tab": cell.parent.title, "cell": cell.coordinate}
    if cell.comment is not None and not own_note:
        return Reason("backends.skipped.their_note", **where, problem=_first_line(op.note))
    current = cell_fill_key(cell)
    if current not in (None, MARK_FILL, op.fill) and not own_note:
        return Reason("backends.skipped.their_fill", **where, problem=_first_line(op.note))
    cell.fill = solid(op.fill)
    cell.comment = sized_note(op.note)
    return None


def _unpaint(cell: Cell, op: Unpaint) -> Reason | None:
    """Remove sheetsync's mark: the fill goes when it is the mark colour or sits under
    sheetsync's note (a mark painted in another colour); the note goes only if it is ours."""
    own_note = is_own_note(cell.comment)
    own_fill = cell_fill_key(cell) == MARK_FILL
    if not (own_note or own_fill):
        return Reason("backends.skipped.no_mark", tab=cell.parent.title, cell=cell.coordinate)
    cell.fill = PatternFill(fill_type=None)
    if own_note:
        cell.comment = None
    return None


def _fill_value(cell: Cell, op: FillValue) -> Reason | None:
    if cell.value not in (None, ""):
        return Reason("backends.skipped.filled", tab=cell.parent.title, cell=cell.coordinate, value=cell.value,
                      wanted=op.value)
    set_literal(cell, op.value)
    return None


def _first_line(text: str) -> str:
    lines = strip_note_prefix(text).strip().splitlines()
    return lines[0] if lines else ""


# ---------------------------------------------------------------------------------------------
# Job-owned tabs


def replace_tab(wb: Workbook, op: ReplaceTab) -> Worksheet:
    """Rewrite a job-owned tab from scratch (a fresh sheet at the same position, so no old
    cell, merge, format or chart survives), then lay it out and draw its chart."""
    if op.tab in wb.sheetnames:
        index = wb.sheetnames.index(op.tab)
        wb.remove(wb[op.tab])
        ws = wb.create_sheet(op.tab, index)
    else:
        ws = wb.create_sheet(op.tab)
    _write_rows(ws, op.rows, first_row=1)
    if op.rows:
        _style_header(ws, len(op.rows[0]))
        ws.freeze_panes = "A2"
    for col, width in enumerate(op.column_widths, start=1):
        ws.column_dimensions[get_column_letter(col)].width = width
    for col, number_format in op.number_formats:
        for row in range(2, len(op.rows) + 1):
            ws.cell(row=row, column=col).number_format = number_format
    ws.sheet_state = "hidden" if op.hidden else "visible"
    if op.protected:
        _mark_job_owned(ws)
    if op.chart is not None and op.chart.last_row >= op.chart.first_row:
        ws.add_chart(line_chart(ws, op.chart), op.chart.anchor)
        _record_chart_tab(wb, op.tab, True)
    else:
        _record_chart_tab(wb, op.tab, False)
    return ws


def append_rows(wb: Workbook, op: AppendRows) -> Worksheet:
    """Append after the last row holding a value; create the tab (header, job-owned look) if
    it is missing, and write the header if the tab is empty."""
    if op.tab in wb.sheetnames:
        ws = wb[op.tab]
    else:
        ws = wb.create_sheet(op.tab)
        _mark_job_owned(ws)
    last = _last_used_row(ws)
    if last == 0 and op.header:
        _write_rows(ws, (op.header,), first_row=1)
        _style_header(ws, len(op.header))
        ws.freeze_panes = "A2"
        last = 1
    _write_rows(ws, op.rows, first_row=last + 1)
    return ws


def _write_rows(ws: Worksheet, rows: Iterable[Iterable[Any]], first_row: int) -> None:
    for r, row in enumerate(rows, start=first_row):
        for c, value in enumerate(row, start=1):
            if value is not None:
                set_literal(ws.cell(row=r, column=c), value)


def _last_used_row(ws: Worksheet) -> int:
    return max((r for (r, _c), cell in ws._cells.items() if cell._value not in (None, "")), default=0)


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
