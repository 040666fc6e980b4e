"""The ``google`` backend: a live Google Sheets spreadsheet, through gspread and google-auth with a
service account.

A run costs a fixed number of API requests whatever the size of the sheet:

* ``read``: one spreadsheets.get with grid data and a fields mask (values, number-format types,
  fills, notes, merges, hidden flags; nothing else).
* ``apply``: one cheap spreadsheets.get of the key columns of the tabs about to be painted (and
  the size and charts of job-owned tabs about to be rewritten), then one spreadsheets.batchUpdate
  carrying every change. Between ``read`` and ``apply`` people keep editing: the second read is
  what lets a mark follow its row when someone sorts or inserts rows, and lets a routing fill
  step back when someone typed into the cell meanwhile. Nothing else is written before the
  batchUpdate, which Google applies all or nothing, so a failed run leaves the sheet as it was.

The confirming read is a spreadsheets.get restricted to ranges rather than a values.batchGet: it
returns the same typed cells as ``read`` (so row keys are computed from identical values, dates
included), and in the same request the grid size and chart ids the rewrite of a job-owned tab
needs.

gspread is only used here and in ``google_transport``; nothing else in sheetsync sees it.

Every message it raises or hands back is a key of ``messages/backends.toml`` with parameters;
the words it writes into the spreadsheet (the protection note of a job-owned tab) are rendered
in the edge's language.
"""

from __future__ import annotations

import json
import logging
import os
import re
import time
import zlib
from collections import defaultdict
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Iterator, Sequence

from gspread.exceptions import NoValidUrlKeyFound
from gspread.urls import SPREADSHEET_BATCH_UPDATE_URL
from gspread.utils import a1_to_rowcol, absolute_range_name, extract_id_from_url

from ..core.model import (AppendRows, ApplyResult, ChangeSet, ChartSpec, FillValue, Paint, ReplaceTab, Snapshot,
                          TabData, Unpaint, column_letter, row_keys)
from ..core.planner import norm_rows
from ..errors import BackendError, ConfigError, SheetsyncError
from ..i18n import active
from .base import InitResult, Reason, TabLayout
from .google_cells import cell_fill, cell_value, color_style, literal_cell, number_format
from .google_transport import (CallContext, Traffic, backoff_delay, connect, find_key_file, load_key,
                               resolve_endpoint, translate_failures)

log = logging.getLogger(__name__)

# What ``read`` asks for. Keep it to what the jobs use: every extra field costs bandwidth on
# every cell of every tab, every 15 minutes.
READ_FIELDS = (
    "properties.title,"
    "sheets(properties(sheetId,title,hidden,sheetType),merges,"
    "data(startRow,startColumn,rowData.values("
    "effectiveValue,effectiveFormat.numberFormat.type,"
    "userEnteredFormat(backgroundColorStyle,backgroundColor),note)))"
)
# What the confirming read before a write asks for (only for the ranges it names).
CONFIRM_FIELDS = (
    "sheets(properties(sheetId,title,gridProperties(rowCount,columnCount)),charts.chartId,"
    "data(startRow,startColumn,rowData.values(effectiveValue,effectiveFormat.numberFormat.type,"
    "userEnteredFormat(backgroundColorStyle,backgroundColor),note)))"
)
TITLES_FIELDS = "sheets.properties(sheetId,title)"

# Google refuses a request body over 10 MiB ("Request payload size exceeds the limit: 10485760
# bytes"; 2 MB is only its advice). A bigger change set (tens of thousands of marks and a problem list
# as long) is sent as a few consecutive batchUpdates of at most this size, in compact UTF-8 JSON.
MAX_BATCH_BYTES = 9_000_000
# Rows per updateCells request when a job-owned tab is rewritten, so no single request is huge.
ROWS_PER_REQUEST = 1000
# Header row sheetsync assumes on every tab; data rows start below it.
FIRST_DATA_ROW = 2
# Grid of a tab created by ``init`` (Google's own default for a new tab).
NEW_TAB_ROWS = 1000
NEW_TAB_COLUMNS = 26
# Column widths are given in characters; Google wants pixels.
PIXELS_PER_CHAR = 8
JOB_TAB_COLOUR = "9E9E9E"
PROTECTION_NOTE = "backends.google.protection_note"  # the warning shown on a job-owned tab

MARK_FIELDS = "userEnteredFormat.backgroundColorStyle,note"
# Failures of a write after which it is not known whether Google applied it.
AMBIGUOUS = frozenset({"backends.google.server_error", "backends.google.write_interrupted"})
CONTENT_FIELDS = "userEnteredValue,userEnteredFormat,note"


def parse_spreadsheet_id(text: str) -> str:
    """A spreadsheet id, or the id inside a full docs.google.com URL."""
    text = text.strip()
    if "/" in text:
        try:
            return extract_id_from_url(text)
        except NoValidUrlKeyFound:
            raise ConfigError("backends.google.bad_url", url=repr(text)) from None
    if not re.fullmatch(r"[A-Za-z0-9_-]+", text):
        raise ConfigError("backends.google.bad_id", id=repr(text))
    return text


# --------------------------------------------------------------------------------------------
# Reading sheet JSON


def _cells(sheet: dict[str, Any]) -> Iterator[tuple[int, int, dict[str, Any]]]:
    """(row, col, CellData) for every non-empty cell in a Sheet's grid data, 1-based."""
    for block in sheet.get("data", []):
        top, left = block.get("startRow", 0), block.get("startColumn", 0)
        for i, row in enumerate(block.get("rowData", [])):
            for j, cell in enumerate(row.get("values", [])):
                if cell:
                    yield top + i + 1, left + j + 1, cell


def _rows(values: dict[tuple[int, int], Any], width: int | None = None) -> list[list[Any]]:
    """Sparse {(row, col): value} -> rectangular rows, trailing empty rows and columns trimmed
    (or padded/cut to ``width`` columns)."""
    if not values:
        return []
    height = max(r for r, _ in values)
    width = max(c for _, c in values) if width is None else width
    return [[values.get((r, c)) for c in range(1, width + 1)] for r in range(1, height + 1)]


def _merge(grid_range: dict[str, Any]) -> tuple[int, int, int, int]:
    """GridRange (0-based, half open, zeros omitted) -> (min_row, min_col, max_row, max_col)."""
    return (grid_range.get("startRowIndex", 0) + 1, grid_range.get("startColumnIndex", 0) + 1,
            grid_range["endRowIndex"], grid_range["endColumnIndex"])


def tab_from_sheet(sheet: dict[str, Any]) -> TabData:
    props = sheet["properties"]
    values: dict[tuple[int, int], Any] = {}
    fills: dict[tuple[int, int], str] = {}
    notes: dict[tuple[int, int], str] = {}
    for r, c, cell in _cells(sheet):
        value = cell_value(cell)
        if value is not None:
            values[r, c] = value
        fill = cell_fill(cell)
        if fill:
            fills[r, c] = fill
        if cell.get("note"):
            notes[r, c] = cell["note"]
    return TabData(
        title=props["title"],
        rows=_rows(values),
        fills=fills,
        notes=notes,
        merged=[_merge(m) for m in sheet.get("merges", [])],
        hidden=bool(props.get("hidden")),
        sheet_id=props.get("sheetId", 0),
    )


@dataclass
class _LiveTab:
    """A tab as the confirming read saw it just before writing."""

    sheet_id: int
    row_count: int
    column_count: int
    chart_ids: list[int]
    values: dict[tuple[int, int], Any]
    fills: dict[tuple[int, int], str] = field(default_factory=dict)
    notes: dict[tuple[int, int], str] = field(default_factory=dict)

    @classmethod
    def from_sheet(cls, sheet: dict[str, Any]) -> "_LiveTab":
        props = sheet["properties"]
        grid = props.get("gridProperties", {})
        tab = tab_from_sheet(sheet)
        values = {(r, c): v for r, row in enumerate(tab.rows, start=1) for c, v in enumerate(row, start=1)
                  if v is not None}
        return cls(sheet_id=props.get("sheetId", 0), row_count=grid.get("rowCount", 0),
                   column_count=grid.get("columnCount", 0),
                   chart_ids=[chart["chartId"] for chart in sheet.get("charts", [])], values=values,
                   fills=tab.fills, notes=tab.notes)

    def look(self, row: int, col: int) -> tuple[str | None, str | None]:
        return self.fills.get((row, col)), self.notes.get((row, col))


# --------------------------------------------------------------------------------------------
# Building the batch


@dataclass
class _Batch:
    """The requests of one write, and the sheet ids already in use (a new tab gets its id from
    us, so later requests in the same batch can refer to it)."""

    used_ids: set[int]
    requests: list[dict[str, Any]] = field(default_factory=list)
    created: dict[str, int] = field(default_factory=dict)
    # request index -> how a fresh read tells whether that request was applied (see _Probe)
    probes: dict[int, list["_Probe"]] = field(default_factory=dict)

    def add(self, kind: str, body: dict[str, Any], probe: "_Probe | Sequence[_Probe] | None" = None) -> None:
        if probe is not None:
            self.probes[len(self.requests)] = [probe] if isinstance(probe, _Probe) else list(probe)
        self.requests.append({kind: body})

    def probe_last(self, probe: "_Probe") -> None:
        """Attach ``probe`` to the request just added."""
        self.probes.setdefault(len(self.requests) - 1, []).append(probe)

    def new_sheet_id(self, title: str) -> int:
        sheet_id = zlib.crc32(title.encode()) & 0x7FFFFFFF
        while sheet_id in self.used_ids:
            sheet_id = (sheet_id + 1) & 0x7FFFFFFF
        self.used_ids.add(sheet_id)
        return sheet_id

    def add_sheet(self, title: str, *, rows: int, cols: int, frozen: int, hidden: bool, job_owned: bool) -> int:
        """addSheet (+ a warning-only protection and a grey tab for job-owned tabs)."""
        sheet_id = self.new_sheet_id(title)
        grid = {"rowCount": rows, "columnCount": cols}
        if frozen:
            grid["frozenRowCount"] = frozen
        props: dict[str, Any] = {"sheetId": sheet_id, "title": title, "gridProperties": grid}
        if hidden:
            props["hidden"] = True
        if job_owned:
            props["tabColorStyle"] = color_style(JOB_TAB_COLOUR)
        self.add("addSheet", {"properties": props}, _Probe("sheet", title, decisive=True, after=sheet_id))
        if job_owned:
            self.add("addProtectedRange", {"protectedRange": {
                "range": {"sheetId": sheet_id}, "description": active().text(PROTECTION_NOTE), "warningOnly": True}})
        self.created[title] = sheet_id
        return sheet_id


@dataclass(frozen=True)
class _Probe:
    """What one request of a batch leaves behind, so that after an ambiguous failure (a 5xx, or
    no answer) a fresh read can tell whether Google applied the batch (it applies a batch all or
    nothing): ``check`` says True (applied), False (still as before) or None (cannot tell, e.g. a
    person changed it meanwhile). ``decisive`` probes are those of requests that must never run
    twice (a new tab, an appended row); the others (cells, a rewritten tab) only break a tie.

    ``kind``: "sheet" (``after`` = the new tab's sheetId), "append" (``before`` = rows in the
    tab before, ``after`` = the rows appended), "cell" (``row``, ``col``; ``before``/``after`` =
    (fill, note)), "tab" (``before``/``after`` = the whole content)."""

    kind: str
    tab: str
    decisive: bool = False
    after: Any = None
    before: Any = None
    row: int = 0
    col: int = 0

    def check(self, now: dict[str, TabData]) -> bool | None:
        tab = now.get(self.tab)
        if self.kind == "sheet":
            return tab is not None and tab.sheet_id == self.after
        if tab is None:
            return None
        if self.kind == "append":
            rows, added = norm_rows(tab.rows), norm_rows(self.after)
            if len(rows) >= self.before + len(added) and rows[self.before:self.before + len(added)] == added:
                return True
            return False if len(rows) == self.before else None
        if self.kind == "cell":
            look = (tab.fills.get((self.row, self.col)), tab.notes.get((self.row, self.col)))
            return True if look == self.after else False if look == self.before else None
        rows = norm_rows(tab.rows)
        return True if rows == norm_rows(self.after) else False if rows == norm_rows(self.before) else None


def _verdict(probes: Sequence[_Probe], now: dict[str, TabData]) -> bool | None:
    """Was the batch these probes describe applied? None when the sheet does not say."""
    results = [(p.decisive, p.check(now)) for p in probes]
    for decisive in (True, False):
        seen = {r for d, r in results if d is decisive and r is not None}
        if seen:
            return seen.pop() if len(seen) == 1 else None
    return None


def _row_data(row: Sequence[Any], formats: dict[int, dict[str, str]], *, bold: bool = False) -> dict[str, Any]:
    cells = []
    for col, value in enumerate(row, start=1):
        cell = literal_cell(value)
        if col in formats and cell:
            cell.setdefault("userEnteredFormat", {})["numberFormat"] = formats[col]
        if bold:
            cell.setdefault("userEnteredFormat", {})["textFormat"] = {"bold": True}
        cells.append(cell)
    return {"values": cells}


def _wrap(batch: "_Batch", sheet_id: int, tab: ReplaceTab, n_rows: int) -> None:
    """Long texts of ``tab.wrap_columns`` wrap: one request per column below the header (the
    content rewritten before it resets cell formats), not a format on every cell."""
    for col in tab.wrap_columns:
        if n_rows > 1:
            batch.add("repeatCell", {"range": _grid_range(sheet_id, (1, n_rows), (col - 1, col)),
                                     "fields": "userEnteredFormat.wrapStrategy",
                                     "cell": {"userEnteredFormat": {"wrapStrategy": "WRAP"}}})


def _grid_range(sheet_id: int, rows: tuple[int, int], cols: tuple[int, int]) -> dict[str, int]:
    return {"sheetId": sheet_id, "startRowIndex": rows[0], "endRowIndex": rows[1],
            "startColumnIndex": cols[0], "endColumnIndex": cols[1]}


def _cell_update(sheet_id: int, row: int, col: int, cell: dict[str, Any], fields: str) -> dict[str, Any]:
    return {"start": {"sheetId": sheet_id, "rowIndex": row - 1, "columnIndex": col - 1},
            "rows": [{"values": [cell]}], "fields": fields}


def _column_width(sheet_id: int, col: int, chars: float) -> dict[str, Any]:
    return {"range": {"sheetId": sheet_id, "dimension": "COLUMNS", "startIndex": col - 1, "endIndex": col},
            "properties": {"pixelSize": round(chars * PIXELS_PER_CHAR)}, "fields": "pixelSize"}


def _chart(sheet_id: int, spec: ChartSpec) -> dict[str, Any]:
    """A line chart: categories in one column, one series per value column, the header row
    above the data naming the series."""
    header = spec.first_row - 2  # 0-based index of the header row

    def source(col: int) -> dict[str, Any]:
        return {"sourceRange": {"sources": [_grid_range(sheet_id, (header, spec.last_row), (col - 1, col))]}}

    row, col = a1_to_rowcol(spec.anchor)
    return {"chart": {
        "spec": {"title": spec.title, "basicChart": {
            "chartType": "LINE", "legendPosition": "BOTTOM_LEGEND", "headerCount": 1,
            "domains": [{"domain": source(spec.cat_col)}],
            "series": [{"series": source(c), "targetAxis": "LEFT_AXIS"} for c in spec.value_cols]}},
        "position": {"overlayPosition": {"anchorCell": {
            "sheetId": sheet_id, "rowIndex": row - 1, "columnIndex": col - 1}}},
    }}


def _chunks(requests: list[dict[str, Any]], limit: int) -> list[list[dict[str, Any]]]:
    """Split into consecutive groups whose JSON stays under ``limit`` bytes (one group unless
    the change set is very large)."""
    chunks: list[list[dict[str, Any]]] = [[]]
    size = 0
    for request in requests:
        n = len(_compact(request)) + 1
        if chunks[-1] and size + n > limit:
            chunks.append([])
            size = 0
        chunks[-1].append(request)
        size += n
    return chunks


def _runs(ops: list[_CellOp]) -> list[list[_CellOp]]:
    """Marks to paint (or remove) on neighbouring rows of one column, grouped, so one request
    carries a whole run; the kinds keep their order (paints, then removals, then values)."""
    runs: list[list[_CellOp]] = []
    for kind in (Paint, Unpaint, FillValue):
        same = sorted((op for op in ops if type(op) is kind), key=lambda op: (op.tab, op.col, op.row))
        for op in same:
            last = runs[-1][-1] if runs else None
            if (kind is not FillValue and last is not None and type(last) is kind and last.tab == op.tab
                    and last.col == op.col and last.row + 1 == op.row):
                runs[-1].append(op)
            else:
                runs.append([op])
    return runs


def _blocks(indexes: list[int], limit: int) -> list[list[int]]:
    """Ascending indexes -> runs of consecutive ones, each at most ``limit`` long."""
    out: list[list[int]] = []
    for i in indexes:
        if out and out[-1][-1] + 1 == i and len(out[-1]) < limit:
            out[-1].append(i)
        else:
            out.append([i])
    return out


def _compact(body: Any) -> bytes:
    """JSON as the batchUpdate body: no spaces, and Chinese as UTF-8 (3 bytes a character, not
    the 6 of a \\u escape)."""
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


_CellOp = Paint | Unpaint | FillValue


def _action(op: _CellOp, header: Any) -> Reason:
    """What a skipped operation would have done: mark red, remove the mark, fill in a column."""
    if isinstance(op, Paint):
        return Reason("backends.action.paint")
    if isinstance(op, Unpaint):
        return Reason("backends.action.unpaint")
    return Reason("backends.action.fill", column=header or column_letter(op.col))


# --------------------------------------------------------------------------------------------


class GoogleBackend:
    """A Google Sheets spreadsheet, reached with a service-account key."""

    name = "google"

    def __init__(self, spreadsheet: str, *, credentials_path: str | os.PathLike | None = None,
                 endpoint: str | None = None, timeout: float = 30, max_retries: int = 6,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        """``spreadsheet``: id or full URL. The key is found via ``credentials_path``, then
        GOOGLE_APPLICATION_CREDENTIALS, then gspread's default location; the API root via
        ``endpoint``, then SHEETSYNC_GOOGLE_ENDPOINT. ``sleep`` is what waits between retries
        (injected so tests do not wait)."""
        self.spreadsheet_id = parse_spreadsheet_id(spreadsheet)
        key = load_key(find_key_file(credentials_path, os.environ))
        endpoint = resolve_endpoint(endpoint, os.environ)
        self._client = connect(key, endpoint=endpoint, timeout=timeout, max_retries=max_retries, sleep=sleep)
        self._sleep = sleep
        self._ctx = CallContext(spreadsheet_id=self.spreadsheet_id, key=key, endpoint=endpoint, max_retries=max_retries)
        self._title: str | None = None

    def describe(self) -> str:
        return active().text("backends.google.describe", title=self._title or self.spreadsheet_id)

    @property
    def traffic(self) -> Traffic:
        """API requests and bytes so far (a copy; ``Traffic.since`` gives one run's share)."""
        return self._client.session.traffic.copy()  # type: ignore[attr-defined]

    def _get(self, params: dict[str, Any]) -> dict[str, Any]:
        with translate_failures(self._ctx):
            return self._client.spreadsheets_get(self.spreadsheet_id, params=params)

    # ---- read ---------------------------------------------------------------------------

    def read(self) -> Snapshot:
        data = self._get({"includeGridData": "true", "fields": READ_FIELDS})
        self._title = data.get("properties", {}).get("title") or self.spreadsheet_id
        tabs = {}
        for sheet in data.get("sheets", []):
            if sheet["properties"].get("sheetType", "GRID") == "GRID":
                tab = tab_from_sheet(sheet)
                tabs[tab.title] = tab
        log.info("read %s: %d tabs, %d rows", self.describe(), len(tabs), sum(t.n_rows for t in tabs.values()))
        return Snapshot(tabs=tabs, source=self.describe(), version=None)

    # ---- apply --------------------------------------------------------------------------

    def apply(self, changes: ChangeSet, snapshot: Snapshot) -> ApplyResult:
        if changes.is_empty():
            return ApplyResult(written=0)
        cell_ops: list[_CellOp] = [*changes.paints, *changes.unpaints, *changes.fills]
        ranges = self._confirm_ranges(changes, cell_ops, snapshot)
        live: dict[str, _LiveTab] = {}
        reads = 0
        if ranges:
            data = self._get({"ranges": ranges, "includeGridData": "true", "fields": CONFIRM_FIELDS})
            live = {s["properties"]["title"]: _LiveTab.from_sheet(s) for s in data.get("sheets", [])}
            reads = 1
        aimed, skipped = self._reaim(cell_ops, changes, snapshot, live)
        used = {t.sheet_id for t in snapshot.tabs.values() if t.sheet_id is not None}
        batch = _Batch(used_ids=used | {t.sheet_id for t in live.values()})
        for run in _runs(aimed):
            self._cells_request(batch, run, live[run[0].tab])
        for tab in changes.tabs:
            old = snapshot.tabs.get(tab.tab)
            self._replace_tab(batch, tab, live.get(tab.tab), old.rows if old is not None else None)
            if tab.tab in live and tab.tab in snapshot.tabs:
                batch.probe_last(_Probe("tab", tab.tab, after=tab.rows, before=snapshot.tabs[tab.tab].rows))
        for append in changes.appends:
            self._append_rows(batch, append, snapshot)
        batches = self._send(batch) if batch.requests else 0
        for reason in skipped:
            log.warning("skipped: %s", reason)
        return ApplyResult(written=changes.count() - len(skipped), skipped=skipped, requests=reads + batches)

    @staticmethod
    def _confirm_ranges(changes: ChangeSet, cell_ops: list[_CellOp], snapshot: Snapshot) -> list[str]:
        """The ranges to re-read before writing: the key columns and every column about to be
        written (a value, a mark, a mark removed: values, fills and notes) of the tabs with cell
        operations, the whole tab where rows are identified by their full content, and one cell
        of each existing job-owned tab about to be rewritten (for its size/charts)."""
        by_tab: dict[str, list[_CellOp]] = defaultdict(list)
        for op in cell_ops:
            if op.tab in snapshot.tabs:
                by_tab[op.tab].append(op)
        ranges = []
        for title, ops in by_tab.items():
            keys = changes.key_columns.get(title, ())
            if not keys or any(op.row_key.startswith("row:") for op in ops):
                ranges.append(absolute_range_name(title))
                continue
            cols = sorted(set(keys) | {op.col for op in ops})
            ranges += [absolute_range_name(title, f"{column_letter(c)}:{column_letter(c)}") for c in cols]
        ranges += [absolute_range_name(t.tab, "A1") for t in changes.tabs if t.tab in snapshot.tabs]
        return ranges

    @staticmethod
    def _reaim(cell_ops: list[_CellOp], changes: ChangeSet, snapshot: Snapshot,
               live: dict[str, _LiveTab]) -> tuple[list[_CellOp], list[Reason]]:
        """Move each op to the row that holds its row key now; drop those whose row is gone, whose
        routing target is no longer empty, or whose cell no longer shows the fill and note it
        had when the change was planned (a person marked it, or changed sheetsync's mark,
        meanwhile), saying why. A cell of a row without any key (an empty row) is only touched
        while its row is still empty."""
        aimed: list[_CellOp] = []
        skipped: list[Reason] = []
        now_rows: dict[str, dict[str, int]] = {}
        now_keys: dict[str, dict[int, str]] = {}
        then_keys: dict[str, dict[int, str]] = {}
        for op in cell_ops:
            tab, now = snapshot.tab(op.tab), live.get(op.tab)
            header = tab.cell(1, op.col) if tab else None
            cell = f"{column_letter(op.col)}{op.row}"
            if tab is None or now is None:
                skipped.append(Reason("backends.skipped.no_tab", tab=op.tab, cell=cell, action=_action(op, header)))
                continue
            keys = changes.key_columns.get(op.tab, ())
            row = op.row
            if op.row >= FIRST_DATA_ROW:
                if op.tab not in now_rows:
                    width = max((len(r) for r in tab.rows), default=0)
                    now_keys[op.tab] = row_keys(_rows(now.values, width), keys)
                    now_rows[op.tab] = {k: r for r, k in now_keys[op.tab].items()}
                    then_keys[op.tab] = row_keys(tab.rows, keys)
                key = op.row_key or then_keys[op.tab].get(op.row, "")
                if key:
                    row = now_rows[op.tab].get(key, 0)
                else:  # an empty row: only while it is still empty
                    row = 0 if op.row in now_keys[op.tab] else op.row
            if not row:
                skipped.append(Reason("backends.skipped.row_gone", tab=op.tab, cell=cell, action=_action(op, header)))
                continue
            if isinstance(op, FillValue) and now.values.get((row, op.col)) is not None:
                skipped.append(Reason("backends.skipped.filled", tab=op.tab, cell=f"{column_letter(op.col)}{row}",
                                      value=now.values[row, op.col], wanted=op.value))
                continue
            if not isinstance(op, FillValue) and now.look(row, op.col) != (tab.fills.get((op.row, op.col)),
                                                                          tab.notes.get((op.row, op.col))):
                skipped.append(Reason("backends.skipped.changed_meanwhile", tab=op.tab,
                                      cell=f"{column_letter(op.col)}{row}", action=_action(op, header)))
                continue
            aimed.append(replace(op, row=row) if row != op.row else op)
        return aimed, skipped

    @staticmethod
    def _cells_request(batch: _Batch, run: list[_CellOp], live: _LiveTab) -> None:
        """One updateCells for a run of marks (or of removed marks) on neighbouring rows of one
        column; one per filled-in value."""
        sheet_id = live.sheet_id
        first = run[0]
        if isinstance(first, Paint):
            rows = [{"values": [{"userEnteredFormat": {"backgroundColorStyle": color_style(op.fill)},  # type: ignore[union-attr]
                                 "note": op.note}]} for op in run]  # type: ignore[union-attr]
            batch.add("updateCells", {"start": {"sheetId": sheet_id, "rowIndex": first.row - 1,
                                                "columnIndex": first.col - 1}, "rows": rows, "fields": MARK_FIELDS},
                      [_Probe("cell", op.tab, after=(op.fill, op.note), before=live.look(op.row, op.col),  # type: ignore[union-attr]
                              row=op.row, col=op.col) for op in run])
        elif isinstance(first, Unpaint):
            cells = _grid_range(sheet_id, (first.row - 1, run[-1].row), (first.col - 1, first.col))
            batch.add("updateCells", {"range": cells, "fields": MARK_FIELDS},
                      [_Probe("cell", op.tab, after=(None, None), before=live.look(op.row, op.col),
                              row=op.row, col=op.col) for op in run])
        else:
            for op in run:
                cell = literal_cell(op.value)  # type: ignore[union-attr]
                fields = "userEnteredValue" + (",userEnteredFormat.numberFormat" if "userEnteredFormat" in cell else "")
                batch.add("updateCells", _cell_update(sheet_id, op.row, op.col, cell, fields))

    @staticmethod
    def _replace_tab(batch: _Batch, tab: ReplaceTab, live: _LiveTab | None,
                     before: list[list[Any]] | None = None) -> None:
        """Rewrite a job-owned tab: grow the grid if needed (never shrink it, so nothing anchored
        there breaks), clear the old content, write the new rows literally, bold frozen header,
        widths, and a fresh chart in place of the old one. A tab without charts whose content
        as read is ``before`` (the problem list, the state tab) is updated by difference: only the rows
        that differ are written, and the rows past its new end cleared."""
        if live is not None and before is not None and not tab.chart and not live.chart_ids:
            GoogleBackend._update_tab(batch, tab, live, before)
            return
        rows = [list(r) for r in tab.rows]
        anchor = a1_to_rowcol(tab.chart.anchor) if tab.chart else (1, 1)
        need_rows = max(len(rows), anchor[0], 2)  # a frozen header needs one more row below it
        need_cols = max(max((len(r) for r in rows), default=0), anchor[1], 1)
        frozen = 1 if rows else 0
        if live is None:
            sheet_id = batch.add_sheet(tab.tab, rows=need_rows, cols=need_cols, frozen=frozen,
                                       hidden=tab.hidden, job_owned=tab.protected)
        else:
            sheet_id = live.sheet_id
            grid_rows, grid_cols = max(live.row_count, need_rows), max(live.column_count, need_cols)
            batch.add("updateSheetProperties", {
                "properties": {"sheetId": sheet_id, "hidden": tab.hidden, "gridProperties": {
                    "rowCount": grid_rows, "columnCount": grid_cols, "frozenRowCount": frozen}},
                "fields": "hidden,gridProperties.rowCount,gridProperties.columnCount,gridProperties.frozenRowCount"})
            for chart_id in live.chart_ids:
                batch.add("deleteEmbeddedObject", {"objectId": chart_id})
            batch.add("updateCells", {"range": _grid_range(sheet_id, (0, grid_rows), (0, grid_cols)),
                                      "fields": CONTENT_FIELDS})  # no rows: clears the old content
        formats = {col: number_format(pattern) for col, pattern in tab.number_formats}
        for start in range(0, len(rows), ROWS_PER_REQUEST):
            block = [_row_data(row, formats if start + i else {}, bold=start + i == 0)
                     for i, row in enumerate(rows[start:start + ROWS_PER_REQUEST])]
            batch.add("updateCells", {"start": {"sheetId": sheet_id, "rowIndex": start, "columnIndex": 0},
                                      "rows": block, "fields": CONTENT_FIELDS})
        for col, chars in enumerate(tab.column_widths, start=1):
            if chars:
                batch.add("updateDimensionProperties", _column_width(sheet_id, col, chars))
        _wrap(batch, sheet_id, tab, len(rows))
        if tab.chart:
            batch.add("addChart", _chart(sheet_id, tab.chart))

    @staticmethod
    def _update_tab(batch: _Batch, tab: ReplaceTab, live: _LiveTab, before: list[list[Any]]) -> None:
        rows = [list(r) for r in tab.rows]
        old, new = norm_rows(before), norm_rows(rows)
        need_rows = max(len(rows), 2)
        need_cols = max(max((len(r) for r in rows), default=0), 1)
        grid_rows, grid_cols = max(live.row_count, need_rows), max(live.column_count, need_cols)
        sheet_id = live.sheet_id
        batch.add("updateSheetProperties", {
            "properties": {"sheetId": sheet_id, "hidden": tab.hidden, "gridProperties": {
                "rowCount": grid_rows, "columnCount": grid_cols, "frozenRowCount": 1 if rows else 0}},
            "fields": "hidden,gridProperties.rowCount,gridProperties.columnCount,gridProperties.frozenRowCount"})
        formats = {col: number_format(pattern) for col, pattern in tab.number_formats}
        changed = [i for i in range(len(rows)) if i >= len(old) or old[i] != new[i]]
        for block in _blocks(changed, ROWS_PER_REQUEST):
            data = []
            for i in block:
                row = _row_data(rows[i], formats if i else {}, bold=i == 0)
                width = len(before[i]) if i < len(before) else 0
                row["values"] += [{}] * (width - len(rows[i]))  # cells the old row had: cleared
                data.append(row)
            batch.add("updateCells", {"start": {"sheetId": sheet_id, "rowIndex": block[0], "columnIndex": 0},
                                      "rows": data, "fields": CONTENT_FIELDS})
        if len(before) > len(rows):
            batch.add("updateCells", {"range": _grid_range(sheet_id, (len(rows), len(before)), (0, grid_cols)),
                                      "fields": CONTENT_FIELDS})
        for col, chars in enumerate(tab.column_widths, start=1):
            if chars:
                batch.add("updateDimensionProperties", _column_width(sheet_id, col, chars))
        _wrap(batch, sheet_id, tab, len(rows))

    def _append_rows(self, batch: _Batch, append: AppendRows, snapshot: Snapshot) -> None:
        existing = snapshot.tab(append.tab)
        sheet_id = batch.created.get(append.tab, existing.sheet_id if existing else None)
        if sheet_id is None:
            self._replace_tab(batch, ReplaceTab(tab=append.tab, rows=(append.header, *append.rows)), None)
            return
        probe = None
        if existing is not None and append.tab not in batch.created:
            probe = _Probe("append", append.tab, decisive=True, before=len(norm_rows(existing.rows)),
                           after=append.rows)
        batch.add("appendCells", {"sheetId": sheet_id, "rows": [_row_data(r, {}) for r in append.rows],
                                  "fields": "userEnteredValue,userEnteredFormat.numberFormat"}, probe)

    def _send(self, batch: _Batch) -> int:
        """One batchUpdate (a few for a huge change set). Returns the number sent.

        A batchUpdate is never sent again blindly: after a 5xx or a lost answer the spreadsheet
        is read again and the batch's probes say whether Google applied it. Applied: done (the
        answer was lost, the write was not). Not applied: sent again, after a backoff, at most
        ``max_retries`` times. Cannot tell: the run stops and says so; the next run re-reads."""
        requests = batch.requests
        chunks = _chunks(requests, MAX_BATCH_BYTES)
        first = 0
        for i, chunk in enumerate(chunks):
            probes = [p for n in range(first, first + len(chunk)) for p in batch.probes.get(n, ())]
            first += len(chunk)
            unchanged = (Reason("backends.google.unchanged") if i == 0 else
                         Reason("backends.google.partly_written", batches=len(chunks), written=i))
            self._send_chunk(chunk, probes, unchanged)
        log.info("wrote %s: %d requests in %d batchUpdate(s)", self.describe(), len(requests), len(chunks))
        return len(chunks)

    def _send_chunk(self, chunk: list[dict[str, Any]], probes: list[_Probe], unchanged: Reason) -> None:
        for attempt in range(self._ctx.max_retries + 1):
            try:
                with translate_failures(self._ctx, writing=True, unchanged=unchanged):
                    # the answer is only the spreadsheet id: no list of empty replies to download
                    self._client.request("post", SPREADSHEET_BATCH_UPDATE_URL % self.spreadsheet_id,
                                         params={"fields": "spreadsheetId"}, data=_compact({"requests": chunk}),
                                         headers={"Content-Type": "application/json; charset=UTF-8"})
                return
            except BackendError as err:
                if err.key not in AMBIGUOUS:
                    raise
                failure = err
            applied = self._was_applied(probes)
            if applied:
                log.warning("%s: the answer to a write was lost, but the write was applied", self.describe())
                return
            what = f"HTTP {failure.params['code']}" if "code" in failure.params else failure.params.get("error", "")
            if applied is None:
                raise BackendError("backends.google.write_unconfirmed", error=what) from None
            if attempt == self._ctx.max_retries:  # verified: nothing of this batch was written
                if failure.key == "backends.google.write_interrupted":
                    raise BackendError("backends.google.unreachable", endpoint=self._ctx.endpoint, error=what,
                                       unchanged=unchanged) from None
                raise failure
            log.info("%s: write not applied (%s), sending it again", self.describe(), what)
            self._sleep(backoff_delay(attempt + 1))

    def _was_applied(self, probes: list[_Probe]) -> bool | None:
        """Read the spreadsheet again to see whether a batch whose answer was lost was applied."""
        if not probes:
            return None
        try:
            data = self._get({"includeGridData": "true", "fields": READ_FIELDS})
        except SheetsyncError as err:
            log.warning("could not read back after a failed write: %s", err)
            return None
        now = {}
        for sheet in data.get("sheets", []):
            tab = tab_from_sheet(sheet)
            now[tab.title] = tab
        return _verdict(probes, now)

    # ---- init ---------------------------------------------------------------------------

    def init_layout(self, tabs: list[TabLayout]) -> InitResult:
        data = self._get({"fields": TITLES_FIELDS})
        existing = {s["properties"]["title"]: s["properties"].get("sheetId", 0) for s in data.get("sheets", [])}
        batch = _Batch(used_ids=set(existing.values()))
        result = InitResult()
        for layout in tabs:
            if layout.title in existing:
                result.kept.append(layout.title)
            else:
                self._lay_out(batch, layout)
                result.created.append(layout.title)
        if batch.requests:
            self._send(batch)
        return result

    @staticmethod
    def _lay_out(batch: _Batch, layout: TabLayout) -> None:
        """A new tab: bold header with column notes, initial rows, frozen header, widths,
        column number formats, dropdowns; job-owned tabs grey and protected (warning only)."""
        grid_rows = max(NEW_TAB_ROWS, len(layout.rows) + 1 + layout.frozen_rows)
        sheet_id = batch.add_sheet(layout.title, rows=grid_rows, cols=max(NEW_TAB_COLUMNS, len(layout.columns)),
                                   frozen=layout.frozen_rows, hidden=layout.hidden, job_owned=layout.job_owned)
        header = []
        for column in layout.columns:
            cell = _row_data([column.header], {}, bold=True)["values"][0]
            if column.note:
                cell["note"] = column.note
            header.append(cell)
        rows = [{"values": header}, *(_row_data(r, {}) for r in layout.rows)]
        batch.add("updateCells", {"start": {"sheetId": sheet_id, "rowIndex": 0, "columnIndex": 0},
                                  "rows": rows, "fields": CONTENT_FIELDS})
        for col, column in enumerate(layout.columns, start=1):
            data_range = _grid_range(sheet_id, (1, grid_rows), (col - 1, col))
            batch.add("updateDimensionProperties", _column_width(sheet_id, col, column.width))
            if column.number_format:
                fmt = {"numberFormat": number_format(column.number_format)}
                batch.add("repeatCell", {"range": data_range, "fields": "userEnteredFormat.numberFormat",
                                         "cell": {"userEnteredFormat": fmt}})
            if column.choices:
                batch.add("setDataValidation", {"range": data_range, "rule": {
                    "condition": {"type": "ONE_OF_LIST", "values": [{"userEnteredValue": v} for v in column.choices]},
                    "strict": False, "showCustomUi": True}})
