"""The ``feishu`` backend: a Feishu / Lark spreadsheet, through the official ``lark-oapi``
SDK with an app's own id and secret (``tenant_access_token``).

What a run costs (docs/feishu.md has the measured numbers):

* ``read``: the sheet list (v3 sheets/query), the values of every tab (v2 values_batch_get,
  several tabs per request), and, for tabs that carry sheetsync's marks, their conditional
  formats (v2 condition_formats, up to 10 tabs per request).
* ``apply``: one confirming values_batch_get of the key columns and notes columns of the tabs
  about to be marked, then the write: values_batch_update (every value, split by the documented
  limits), styles_batch_update (number formats, bold headers), sheets_batch_update (new or
  hidden tabs), condition_formats (the red). Nothing is written when nothing changed.

Marks. The documented Open API has no call that reads a cell's style and no comment anchored
to a sheet cell. sheetsync therefore never sets a cell's own fill (it could not tell a person's
colour from none, and clearing its red would wipe theirs): the red is a conditional format,
which leaves every fill untouched, and the reason is written in a notes column at the end of
the tab (headed by the catalogue's ``feishu.hint_header``), one line per red cell of that row.
The notes travel with their row when a person sorts; the conditional format is re-drawn from
them on every write. Undocumented interfaces (the Lark CLI's cell-style reader, drive comments
anchored to sheet cells) are not used: see docs/feishu.md for why.
"""

from __future__ import annotations

import logging
import os
import re
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Callable
from urllib.parse import urlsplit

from ..core.model import (MARK_FILL, OWN_FILLS, AppendRows, ApplyResult, ChangeSet, FillValue, Paint, ReplaceTab,
                          Snapshot, TabData, Unpaint, column_letter, row_keys)
from ..errors import ConfigError
from ..i18n import active, load_catalogue
from .base import InitResult, Reason, TabLayout
from .feishu_api import SECRET_ENV, FeishuAPI, app_secret, resolve_domain
from .feishu_cells import (a1, cells_of, compact_ranges, date_kind, format_hint, formatter, from_serial, literal,
                           parse_hint, rows_from_values)

log = logging.getLogger(__name__)

V2 = "/open-apis/sheets/v2/spreadsheets/:spreadsheet_token"
# Documented limits (docs/feishu.md names the page of each).
MAX_WRITE_ROWS = 5000  # values_batch_update: rows per range
MAX_WRITE_COLS = 100  # values_batch_update: columns per range
MAX_CF_PER_CALL = 10  # condition_formats batch_create/update/delete
MAX_CF_SHEETS = 10  # condition_formats GET: sheets per request
MAX_ADD_DIMENSION = 5000  # dimension_range: rows/columns added per request
# sheetsync's own bounds, to keep each request and answer a few MB at most.
MAX_READ_CELLS = 200_000  # cells per values_batch_get
MAX_WRITE_CELLS = 100_000  # cells per values_batch_update
MAX_STYLE_ENTRIES = 100  # ranges per styles_batch_update
# The grid Feishu gives a new tab, and what init lays out.
NEW_SHEET_ROWS = 200
NEW_SHEET_COLS = 20
INIT_ROWS = 1000
PIXELS_PER_CHAR = 8
CF_COLOUR = "#" + MARK_FILL.lower()
# every colour sheetsync draws (red, the amber of a warning, the info colour), one pair of
# conditional formats per colour in use
CF_COLOURS = {"#" + fill.lower(): fill for fill in OWN_FILLS}
CF_RULES = ("containsBlanks", "notContainsBlanks")  # together: every cell in the ranges
FIRST_DATA_ROW = 2
_CellOp = Paint | Unpaint | FillValue


def hint_headers() -> set[str]:
    """The notes column's header in every language (a sheet laid out in one is read in any)."""
    return {load_catalogue(lang).text("feishu.hint_header") for lang in ("zh-CN", "en")}


def parse_spreadsheet_token(text: str) -> str:
    """A spreadsheet token, or the token inside a https://….feishu.cn/sheets/<token> URL."""
    text = text.strip()
    if "/" in text:
        parts = [p for p in urlsplit(text).path.split("/") if p]
        if len(parts) >= 2 and parts[-2] == "sheets" and re.fullmatch(r"[A-Za-z0-9]+", parts[-1]):
            return parts[-1]
        if "wiki" in parts:
            raise ConfigError("feishu.wiki_url", url=text)
        raise ConfigError("feishu.bad_url", url=text)
    if not re.fullmatch(r"[A-Za-z0-9]{8,}", text):
        raise ConfigError("feishu.bad_token", token=text)
    return text


@dataclass
class _Sheet:
    """A tab as ``read`` saw it."""

    sheet_id: str
    title: str
    index: int
    rows: int  # grid size
    cols: int
    hidden: bool
    hint_col: int | None = None  # real column of the notes column
    width: int = 0  # real columns with content, notes column included
    height: int = 0  # rows with content
    cfs: list[dict[str, Any]] = field(default_factory=list)  # sheetsync's conditional formats
    cf_cells: dict[tuple[int, int], str] = field(default_factory=dict)  # real (row, col) -> fill drawn
    drift: list[tuple[int, str]] = field(default_factory=list)  # (row, header) notes not drawn red
    merges: list[tuple[int, int, int, int]] = field(default_factory=list)  # 1-based, inclusive

    def real(self, col: int) -> int:
        return col if self.hint_col is None or col < self.hint_col else col + 1

    def core(self, col: int) -> int:
        return col if self.hint_col is None or col < self.hint_col else col - 1


class _Writes:
    """Everything one apply sends, grouped by endpoint."""

    def __init__(self) -> None:
        self.add_sheets: list[str] = []
        self.grow: list[dict[str, Any]] = []
        self.values: list[dict[str, Any]] = []
        self.styles: list[dict[str, Any]] = []
        self.sheet_updates: list[dict[str, Any]] = []
        self.cf_create: list[dict[str, Any]] = []
        self.cf_update: list[dict[str, Any]] = []
        self.cf_delete: list[dict[str, Any]] = []

    def put(self, sheet_id: str, top: int, left: int, rows: list[list[Any]]) -> None:
        """Values (formatters too) at a 1-based corner, split by the documented limits."""
        for r0 in range(0, len(rows), MAX_WRITE_ROWS):
            block = rows[r0:r0 + MAX_WRITE_ROWS]
            width = max((len(r) for r in block), default=0)
            for c0 in range(0, width, MAX_WRITE_COLS):
                part, formats = [], defaultdict(list)
                for i, row in enumerate(block):
                    cells = []
                    for j in range(c0, min(width, c0 + MAX_WRITE_COLS)):
                        value, fmt = literal(row[j] if j < len(row) else None)
                        cells.append(value)
                        if fmt:
                            formats[fmt].append((top + r0 + i, left + j))
                    part.append(cells)
                last = (top + r0 + len(part) - 1, left + c0 + len(part[0]) - 1)
                self.values.append({"range": a1(sheet_id, (top + r0, left + c0), last), "values": part})
                for fmt, cells in formats.items():
                    self.style(sheet_id, cells, {"formatter": fmt})

    def span(self, sheet_id: str, col: int, top: int, bottom: int, style: dict[str, Any]) -> None:
        self.styles.append({"ranges": [a1(sheet_id, (top, col), (bottom, col))], "style": style})

    def style(self, sheet_id: str, cells: list[tuple[int, int]], style: dict[str, Any]) -> None:
        ranges = compact_ranges(sheet_id, cells)
        for i in range(0, len(ranges), MAX_STYLE_ENTRIES):
            self.styles.append({"ranges": ranges[i:i + MAX_STYLE_ENTRIES], "style": style})


class FeishuBackend:
    """A Feishu / Lark spreadsheet, reached as a self-built ("custom") app."""

    name = "feishu"

    def __init__(self, spreadsheet: str, *, app_id: str | None, app_secret_env: str | None = None,
                 secret: str | None = None, domain: str | None = None, timeout: float = 120.0,
                 max_retries: int = 6, sleep: Callable[[float], None] = time.sleep) -> None:
        """``spreadsheet``: token or URL. The secret is read from the environment variable
        ``app_secret_env`` (never from sheetsync.toml); ``secret`` is for tests. ``domain``:
        the API origin, overridden by SHEETSYNC_FEISHU_DOMAIN."""
        self.token = parse_spreadsheet_token(spreadsheet)
        if not app_id:
            raise ConfigError("feishu.no_app_id")
        env = app_secret_env or SECRET_ENV
        secret = secret if secret is not None else app_secret(env, os.environ, app_id)
        self.api = FeishuAPI(app_id=app_id, secret=secret, secret_env=env, domain=resolve_domain(domain, os.environ),
                             token=self.token, timeout=timeout, max_retries=max_retries, sleep=sleep)
        self._sheets: dict[str, _Sheet] = {}
        self._date_cols: dict[tuple[str, int], str] = {}  # columns that held date cells at read -> kind

    def describe(self) -> str:
        return active().text("feishu.describe", token=self.token)

    # ---- read ---------------------------------------------------------------------------

    def _list_sheets(self) -> dict[str, _Sheet]:
        out = {}
        for s in self.api.query_sheets():
            if s.get("resource_type", "sheet") != "sheet":
                continue  # a bitable or other embedded object, not a grid
            grid = s.get("grid_properties") or {}
            out[s["title"]] = _Sheet(sheet_id=s["sheet_id"], title=s["title"], index=s.get("index", 0),
                                     rows=grid.get("row_count", 0), cols=grid.get("column_count", 0),
                                     hidden=bool(s.get("hidden")), merges=[
                                         (m.get("start_row_index", 0) + 1, m.get("start_column_index", 0) + 1,
                                          m.get("end_row_index", 0) + 1, m.get("end_column_index", 0) + 1)
                                         for m in s.get("merges") or []])
        return out

    def _batch_get(self, ranges: list[str], *, dates: bool = True) -> list[dict[str, Any]]:
        query = [("ranges", ",".join(ranges)), ("valueRenderOption", "UnformattedValue")]
        if dates:
            query.append(("dateTimeRenderOption", "FormattedString"))
        data = self.api.get(f"{V2}/values_batch_get", query)
        return list(data.get("valueRanges") or [])

    def _typed_dates(self, sheets: dict[str, _Sheet], values: dict[str, list[list[Any]]]) -> None:
        """Text shaped like a date, read again without the date option: a serial means a date
        cell (converted here), the same text means text a person typed (kept)."""
        spans: dict[tuple[str, int], list[int]] = {}
        for title, rows in values.items():
            for r, row in enumerate(rows, start=1):
                for c, v in enumerate(row, start=1):
                    if date_kind(v):
                        spans.setdefault((title, c), []).append(r)
        jobs = [(title, c, min(rs), max(rs)) for (title, c), rs in sorted(spans.items())]
        for i in range(0, len(jobs), 100):
            group = jobs[i:i + 100]
            answers = self._batch_get([a1(sheets[t].sheet_id, (top, c), (bottom, c)) for t, c, top, bottom in group],
                                      dates=False)
            for (title, c, top, _bottom), answer in zip(group, answers, strict=False):
                for i_row, raw in enumerate(answer.get("values") or []):
                    r = top + i_row
                    serial = raw[0] if raw else None
                    row = values[title][r - 1]
                    kind = date_kind(row[c - 1]) if c <= len(row) else None
                    if kind and isinstance(serial, (int, float)) and not isinstance(serial, bool):
                        row[c - 1] = from_serial(serial, kind)
                        self._date_cols[title, c] = kind

    def _read_values(self, sheets: dict[str, _Sheet]) -> dict[str, list[list[Any]]]:
        """Every tab's values, as few values_batch_get requests as the cell bound allows."""
        jobs: list[tuple[str, int, str, int]] = []  # (title, first row, range, cells)
        for sheet in sheets.values():
            if not sheet.rows or not sheet.cols:
                continue
            step = max(1, MAX_READ_CELLS // sheet.cols)
            for top in range(1, sheet.rows + 1, step):
                bottom = min(sheet.rows, top + step - 1)
                jobs.append((sheet.title, top, a1(sheet.sheet_id, (top, 1), (bottom, sheet.cols)),
                             (bottom - top + 1) * sheet.cols))
        groups: list[list[tuple[str, int, str, int]]] = [[]]
        size = 0
        for job in jobs:
            if groups[-1] and size + job[3] > MAX_READ_CELLS:
                groups.append([])
                size = 0
            groups[-1].append(job)
            size += job[3]
        rows: dict[str, list[list[Any]]] = {title: [] for title in sheets}
        for group in groups:
            if not group:
                continue
            answers = self._batch_get([j[2] for j in group])
            for (title, top, _r, _n), answer in zip(group, answers, strict=False):
                block = rows_from_values(answer.get("values"))
                got = rows[title]
                got.extend([[] for _ in range(top - 1 - len(got))])
                got[top - 1:top - 1 + len(block)] = block
        for got in rows.values():
            while got and not got[-1]:
                got.pop()
        return rows

    def _read_cfs(self, sheets: list[_Sheet]) -> None:
        ids = {s.sheet_id: s for s in sheets}
        order = list(ids)
        for i in range(0, len(order), MAX_CF_SHEETS):
            data = self.api.get(f"{V2}/condition_formats", [("sheet_ids", ",".join(order[i:i + MAX_CF_SHEETS]))])
            for item in data.get("sheet_condition_formats") or []:
                sheet, cf = ids.get(item.get("sheet_id")), item.get("condition_format") or {}
                style = cf.get("style") or {}
                colour = str(style.get("back_color", "")).lower()
                if sheet and cf.get("rule_type") in CF_RULES and colour in CF_COLOURS:
                    sheet.cfs.append(cf)
                    for cell in cells_of(cf.get("ranges") or []):
                        sheet.cf_cells.setdefault(cell, CF_COLOURS[colour])

    def read(self) -> Snapshot:
        sheets = self._list_sheets()
        values = self._read_values(sheets)
        self._date_cols = {}
        self._typed_dates(sheets, values)
        headers = hint_headers()
        for sheet in sheets.values():
            head = values[sheet.title][0] if values[sheet.title] else []
            sheet.hint_col = next((c for c, v in enumerate(head, 1) if v in headers), None)
            sheet.width = max((len(r) for r in values[sheet.title]), default=0)
            sheet.height = len(values[sheet.title])
        self._read_cfs([s for s in sheets.values() if s.hint_col])
        tabs = {}
        for title, sheet in sheets.items():
            tabs[title] = self._tab(sheet, values[title])
        self._sheets = sheets
        log.info("read %s: %d tabs, %d requests so far", self.describe(), len(tabs), self.api.requests)
        return Snapshot(tabs=tabs, source=self.describe(), version=None)

    def _tab(self, sheet: _Sheet, rows: list[list[Any]]) -> TabData:
        fills: dict[tuple[int, int], str] = {}
        notes: dict[tuple[int, int], str] = {}
        h = sheet.hint_col
        if h is not None:
            header_cols = {v: c for c, v in enumerate(rows[0], 1) if v is not None and c != h} if rows else {}
            for r, row in enumerate(rows[1:], start=2):
                entries, _other = parse_hint(row[h - 1] if h <= len(row) else None)
                for name, note in entries.items():
                    col = header_cols.get(name)
                    if col and (r, col) in sheet.cf_cells:  # drawn red (or amber) where its note says
                        fills[r, sheet.core(col)] = sheet.cf_cells[r, col]
                        notes[r, sheet.core(col)] = note
                    else:  # moved by a sort since it was drawn: re-drawn on the next write
                        sheet.drift.append((r, name))
            rows = [[v for c, v in enumerate(row, 1) if c != h] for row in rows]
        merged = [(r1, sheet.core(c1), r2, sheet.core(c2)) for r1, c1, r2, c2 in sheet.merges]
        return TabData(title=sheet.title, rows=rows, fills=fills, notes=notes, hidden=sheet.hidden,
                       sheet_id=None, merged=merged)

    # ---- apply --------------------------------------------------------------------------

    def apply(self, changes: ChangeSet, snapshot: Snapshot) -> ApplyResult:
        if changes.is_empty():
            return ApplyResult(written=0)
        start = self.api.requests
        writes = _Writes()
        skipped: list[Reason] = []
        cell_ops: list[_CellOp] = [*changes.paints, *changes.unpaints, *changes.fills]
        tabs = {op.tab for op in cell_ops} | {t for t, s in self._sheets.items() if s.drift}
        live = self._confirm(sorted(t for t in tabs if t in self._sheets), changes, snapshot)
        # a tab about to get its notes column may still carry sheetsync's red from before a person
        # deleted that column: look, so the red is re-drawn rather than drawn twice
        fresh = [self._sheets[t] for t in sorted(tabs) if t in self._sheets and not self._sheets[t].hint_col
                 and any(isinstance(op, Paint) and op.tab == t for op in changes.paints)]
        if fresh:
            self._read_cfs(fresh)
        for title in sorted(tabs):
            sheet = self._sheets.get(title)
            ops = [op for op in cell_ops if op.tab == title]
            if sheet is None or title not in live:
                skipped += [Reason("feishu.skip_no_tab", tab=op.tab, cell=f"{column_letter(op.col)}{op.row}")
                            for op in ops]
                continue
            skipped += self._marks(writes, sheet, ops, changes, snapshot, live[title])
        for tab in changes.tabs:
            self._replace(writes, tab, snapshot)
        for append in changes.appends:
            self._append(writes, append, snapshot)
        self._send(writes)
        for reason in skipped:
            log.warning("skipped: %s", reason)
        return ApplyResult(written=changes.count() - len(skipped), skipped=skipped, requests=self.api.requests - start)

    def _confirm(self, titles: list[str], changes: ChangeSet, snapshot: Snapshot) -> dict[str, dict[str, Any]]:
        """One values_batch_get, just before writing, of what re-aiming needs: the key columns
        (the whole tab where rows have no key), the routing target columns, and the notes
        column (or the empty column that will become it)."""
        plan: list[tuple[str, int]] = []  # (title, real column or 0 for the whole tab)
        for title in titles:
            sheet = self._sheets[title]
            keys = changes.key_columns.get(title, ())
            all_ops: list[_CellOp] = [*changes.paints, *changes.unpaints, *changes.fills]
            ops = [op for op in all_ops if op.tab == title]
            if not keys or any(op.row_key.startswith("row:") for op in ops):
                plan.append((title, 0))  # the whole tab, the notes column included
                continue
            cols = set(keys) | {op.col for op in ops if isinstance(op, FillValue)}
            plan += [(title, sheet.real(c)) for c in sorted(cols)]
            if sheet.hint_col or sheet.width < sheet.cols:  # a notes column beyond the grid is empty anyway
                plan.append((title, sheet.hint_col or sheet.width + 1))
        if not plan:
            return {}
        ranges = []
        for title, col in plan:
            sheet = self._sheets[title]
            if col == 0:
                ranges.append(f"{sheet.sheet_id}!A:{column_letter(min(max(sheet.width + 1, 1), sheet.cols))}")
            else:
                ranges.append(f"{sheet.sheet_id}!{column_letter(col)}:{column_letter(col)}")
        # without the date option: text stays exactly the text it was at read, and date cells come
        # as serials, turned into dates for the columns that held dates then
        answers = self._batch_get(ranges, dates=False)
        live: dict[str, dict[str, Any]] = {t: {"values": {}} for t, _c in plan}
        for (title, col), answer in zip(plan, answers, strict=False):
            for r, row in enumerate(rows_from_values(answer.get("values")), start=1):
                for j, v in enumerate(row):
                    c = (col or 1) + j
                    kind = self._date_cols.get((title, c))
                    if kind and isinstance(v, (int, float)) and not isinstance(v, bool):
                        v = from_serial(v, kind)
                    if v is not None:
                        live[title]["values"][r, c] = v
        return live

    def _marks(self, writes: _Writes, sheet: _Sheet, ops: list[_CellOp], changes: ChangeSet, snapshot: Snapshot,
               live: dict[str, Any]) -> list[Reason]:
        """Re-aim the marks and fills of one tab by row key, rewrite the notes of the rows whose
        notes change, and re-draw the tab's red from the notes."""
        cat = active()
        tab = snapshot.tab(sheet.title)
        if tab is None:
            return [Reason("feishu.skip_no_tab", tab=op.tab, cell=f"{column_letter(op.col)}{op.row}") for op in ops]
        now: dict[tuple[int, int], Any] = live["values"]
        hcol = sheet.hint_col or sheet.width + 1
        skipped: list[Reason] = []
        if sheet.hint_col is None and any(v is not None for (_r, c), v in now.items() if c == hcol):
            return [Reason("feishu.skip_column_taken", tab=sheet.title, column=column_letter(hcol))
                    for op in ops]
        keys = changes.key_columns.get(sheet.title, ())
        core_now = {(r, sheet.core(c)): v for (r, c), v in now.items() if c != hcol}
        width = max((len(r) for r in tab.rows), default=0)
        live_rows = [[core_now.get((r, c)) for c in range(1, width + 1)]
                     for r in range(1, max((r for r, _c in core_now), default=0) + 1)]
        now_rows = {k: r for r, k in row_keys(live_rows, keys).items()}
        then_keys = row_keys(tab.rows, keys)
        header_of = {c: v for c, v in enumerate(tab.rows[0], 1)} if tab.rows else {}
        order = {str(v): c for c, v in header_of.items() if v is not None}

        def aim(row: int, key: str) -> int:
            if row < FIRST_DATA_ROW:
                return row
            key = key or then_keys.get(row, "")
            return now_rows.get(key, 0) if key else row

        hints: dict[int, tuple[dict[str, str], str]] = {
            r: parse_hint(v) for (r, c), v in now.items() if c == hcol and r >= FIRST_DATA_ROW}
        entries = {r: dict(e) for r, (e, _other) in hints.items()}
        real_cols = {str(v): sheet.real(c) for c, v in header_of.items() if v is not None}
        # the colour of each note: as drawn (it moves with its row's notes), or as painted now
        colours = {(r, name): sheet.cf_cells.get((r, real_cols.get(name, 0)), MARK_FILL)
                   for r, es in entries.items() for name in es}
        painted: set[tuple[int, str]] = set()
        for op in ops:
            where = f"{column_letter(op.col)}{op.row}"
            row = aim(op.row, op.row_key)
            name = str(header_of.get(op.col) or column_letter(op.col))
            if not row:
                skipped.append(Reason("feishu.skip_row_gone", tab=sheet.title, cell=where))
                continue
            if isinstance(op, FillValue):
                if core_now.get((row, op.col)) is not None:
                    skipped.append(Reason("feishu.skip_filled", tab=sheet.title, row=row, column=name,
                                            value=core_now[row, op.col]))
                    continue
                writes.put(sheet.sheet_id, row, sheet.real(op.col), [[op.value]])
                continue
            if hints.get(row, ({}, ""))[1]:
                skipped.append(Reason("feishu.skip_person_text", tab=sheet.title, cell=where,
                                        column=column_letter(hcol)))
                continue
            if isinstance(op, Paint):
                entries.setdefault(row, {})[name] = op.note
                colours[row, name] = op.fill
                painted.add((row, name))
            elif isinstance(op, Unpaint):
                entries.get(row, {}).pop(name, None)
        for snap_row, name in sheet.drift:  # notes a sort moved away from their red
            row = aim(snap_row, "")
            if row and (row, name) not in painted and not hints.get(row, ({}, ""))[1]:
                entries.get(row, {}).pop(name, None)
        changed = []
        for r in sorted(set(entries) | set(hints)):
            text, was = format_hint(entries.get(r, {}), order) or None, now.get((r, hcol))
            if not hints.get(r, ({}, ""))[1] and text != was:
                changed.append(r)
        if sheet.hint_col is None and changed:
            if hcol > sheet.cols:
                writes.grow.append({"dimension": {"sheetId": sheet.sheet_id, "majorDimension": "COLUMNS",
                                                  "length": hcol - sheet.cols}})
            writes.put(sheet.sheet_id, 1, hcol, [[cat.text("feishu.hint_header")]])
            writes.style(sheet.sheet_id, [(1, hcol)], {"font": {"bold": True}})
        for r in changed:
            writes.put(sheet.sheet_id, r, hcol, [[format_hint(entries.get(r, {}), order) or None]])
        real_of = {name: sheet.real(c) for name, c in order.items()}
        drawn = {(r, real_of[name]): colours.get((r, name), MARK_FILL)
                 for r, es in entries.items() for name in es if name in real_of}
        if drawn != sheet.cf_cells or not self._tidy(sheet):
            self._redraw(writes, sheet, drawn)
        return skipped

    @staticmethod
    def _tidy(sheet: _Sheet) -> bool:
        """sheetsync's formats are exactly one pair (CF_RULES) per colour drawn."""
        keys = [(str((cf.get("style") or {}).get("back_color", "")).lower(), cf.get("rule_type")) for cf in sheet.cfs]
        return len(set(keys)) == len(keys) and all((c, r) in keys for c, _ in keys for r in CF_RULES)

    @staticmethod
    def _redraw(writes: _Writes, sheet: _Sheet, drawn: dict[tuple[int, int], str]) -> None:
        """One pair of conditional formats per colour: updated in place, created, or deleted."""
        mine: dict[tuple[str, Any], dict[str, Any]] = {}
        for seen in sheet.cfs:
            key = (str((seen.get("style") or {}).get("back_color", "")).lower(), seen.get("rule_type"))
            if key in mine:  # a second copy: not sheetsync's pair any more
                writes.cf_delete.append({"sheet_id": sheet.sheet_id, "cf_id": seen["cf_id"]})
            else:
                mine[key] = seen
        for colour in CF_COLOURS:
            cells = {cell for cell, fill in drawn.items() if "#" + fill.lower() == colour}
            ranges = compact_ranges(sheet.sheet_id, cells) if cells else []
            for rule in CF_RULES:
                cf = mine.get((colour, rule))
                if not ranges:
                    if cf:
                        writes.cf_delete.append({"sheet_id": sheet.sheet_id, "cf_id": cf["cf_id"]})
                    continue
                body = {"ranges": ranges, "rule_type": rule, "style": {"back_color": colour}}
                if cf:
                    writes.cf_update.append({"sheet_id": sheet.sheet_id,
                                             "condition_format": {"cf_id": cf["cf_id"], **body}})
                else:
                    writes.cf_create.append({"sheet_id": sheet.sheet_id, "condition_format": body})

    # ---- job-owned tabs -----------------------------------------------------------------

    def _sheet_for(self, writes: _Writes, title: str) -> _Sheet:
        sheet = self._sheets.get(title)
        if sheet is None:
            sheet = _Sheet(sheet_id="", title=title, index=len(self._sheets), rows=NEW_SHEET_ROWS,
                           cols=NEW_SHEET_COLS, hidden=False)
            self._sheets[title] = sheet
            writes.add_sheets.append(title)
        return sheet

    @staticmethod
    def _grow(writes: _Writes, sheet: _Sheet, rows: int, cols: int) -> None:
        for dim, have, need in (("ROWS", sheet.rows, rows), ("COLUMNS", sheet.cols, cols)):
            while need > have:
                step = min(MAX_ADD_DIMENSION, need - have)
                writes.grow.append({"sheet": sheet, "dimension": {"majorDimension": dim, "length": step}})
                have += step
        sheet.rows, sheet.cols = max(sheet.rows, rows), max(sheet.cols, cols)

    def _replace(self, writes: _Writes, tab: ReplaceTab, snapshot: Snapshot) -> None:
        """Rewrite a job-owned tab in place: new rows, old cells beyond them cleared."""
        new = tab.tab not in self._sheets
        sheet = self._sheet_for(writes, tab.tab)
        old = snapshot.tab(tab.tab)
        rows = [list(r) for r in tab.rows]
        height = max(len(rows), old.n_rows if old else 0, 1)
        width = max(max((len(r) for r in rows), default=0), max((len(r) for r in old.rows), default=0) if old else 0, 1)
        self._grow(writes, sheet, height + (1 if new else 0), width)
        padded = [r + [None] * (width - len(r)) for r in rows] + [[None] * width for _ in range(height - len(rows))]
        writes.put(sheet.sheet_id or tab.tab, 1, 1, padded)
        if rows:
            writes.style(sheet.sheet_id or tab.tab, [(1, c) for c in range(1, len(rows[0]) + 1)],
                         {"font": {"bold": True}})
        for col, pattern in tab.number_formats:
            if len(rows) > 1:
                writes.span(sheet.sheet_id or tab.tab, col, 2, len(rows), {"formatter": formatter(pattern)})
        props: dict[str, Any] = {}
        if new:
            props = {"frozenRowCount": 1 if rows else 0}
            if tab.protected:
                props["protect"] = {"lock": "LOCK", "lockInfo": active().text("feishu.protect_info")}
        if tab.hidden != sheet.hidden or (new and tab.hidden):
            props["hidden"] = tab.hidden
        if props:
            writes.sheet_updates.append({"sheet": sheet, "properties": props})

    def _append(self, writes: _Writes, append: AppendRows, snapshot: Snapshot) -> None:
        """The run-log row, written at the row after the last one read (not values_append): a
        write whose answer was lost can be repeated without logging the run twice."""
        old = snapshot.tab(append.tab)
        if append.tab not in self._sheets or old is None:
            self._replace(writes, ReplaceTab(tab=append.tab, rows=(append.header, *append.rows)), snapshot)
            return
        sheet = self._sheets[append.tab]
        top = old.n_rows + 1
        width = max(len(r) for r in append.rows)
        self._grow(writes, sheet, top + len(append.rows) - 1, width)
        writes.put(sheet.sheet_id, top, 1, [list(r) for r in append.rows])

    # ---- sending --------------------------------------------------------------------------

    def _send(self, writes: _Writes) -> None:
        """The write, endpoint by endpoint. Feishu has no all-or-nothing batch across them: when
        one fails, the message says what was written; every write is to a fixed place, so the
        next run's read sees what is missing and writes it."""
        if writes.add_sheets:
            reqs = [{"addSheet": {"properties": {"title": t, "index": self._sheets[t].index}}}
                    for t in writes.add_sheets]
            data = self.api.send("POST", f"{V2}/sheets_batch_update", {"requests": reqs}, idempotent=False)
            for reply in data.get("replies") or []:
                props = (reply.get("addSheet") or {}).get("properties") or {}
                if props.get("title") in self._sheets:
                    self._sheets[props["title"]].sheet_id = props["sheetId"]
            by_title = {s.title: s.sheet_id for s in self._sheets.values()}
            for item in writes.values:  # ranges written before the tab had an id
                sid, _, rest = item["range"].partition("!")
                item["range"] = f"{by_title.get(sid, sid)}!{rest}"
            for item in writes.styles:
                item["ranges"] = [f"{by_title.get(r.partition('!')[0], r.partition('!')[0])}!{r.partition('!')[2]}"
                                  for r in item["ranges"]]
        partial = "feishu.partial" if writes.add_sheets else "feishu.unchanged"
        for grow in writes.grow:
            sheet = grow.pop("sheet", None)
            if sheet is not None:
                grow["dimension"]["sheetId"] = sheet.sheet_id
            self.api.send("POST", f"{V2}/dimension_range", grow, idempotent=False, unchanged=partial)
            partial = "feishu.partial"
        chunk: list[dict[str, Any]] = []
        size = 0
        for item in writes.values:
            n = sum(len(r) for r in item["values"])
            if chunk and size + n > MAX_WRITE_CELLS:
                self.api.send("POST", f"{V2}/values_batch_update", {"valueRanges": chunk}, idempotent=True,
                              unchanged=partial)
                partial, chunk, size = "feishu.partial", [], 0
            chunk.append(item)
            size += n
        if chunk:
            self.api.send("POST", f"{V2}/values_batch_update", {"valueRanges": chunk}, idempotent=True,
                          unchanged=partial)
            partial = "feishu.partial"
        for i in range(0, len(writes.styles), MAX_STYLE_ENTRIES):
            self.api.send("PUT", f"{V2}/styles_batch_update", {"data": writes.styles[i:i + MAX_STYLE_ENTRIES]},
                          idempotent=True, unchanged=partial)
            partial = "feishu.partial"
        if writes.sheet_updates:
            reqs = [{"updateSheet": {"properties": {"sheetId": u["sheet"].sheet_id, **u["properties"]}}}
                    for u in writes.sheet_updates]
            self.api.send("POST", f"{V2}/sheets_batch_update", {"requests": reqs}, idempotent=True, unchanged=partial)
            partial = "feishu.partial"
        for kind, items in (("batch_delete", writes.cf_delete), ("batch_update", writes.cf_update),
                            ("batch_create", writes.cf_create)):
            for i in range(0, len(items), MAX_CF_PER_CALL):
                body = ({"sheet_cf_ids": items[i:i + MAX_CF_PER_CALL]} if kind == "batch_delete"
                        else {"sheet_condition_formats": items[i:i + MAX_CF_PER_CALL]})
                self.api.send("POST" if kind != "batch_delete" else "DELETE", f"{V2}/condition_formats/{kind}", body,
                              idempotent=kind != "batch_create", unchanged=partial)
                partial = "feishu.partial"

    # ---- init ---------------------------------------------------------------------------

    def init_layout(self, tabs: list[TabLayout]) -> InitResult:
        self._sheets = self._list_sheets()
        result = InitResult()
        writes = _Writes()
        laid: list[tuple[TabLayout, _Sheet]] = []
        for layout in tabs:
            if layout.title in self._sheets:
                result.kept.append(layout.title)
                continue
            sheet = self._sheet_for(writes, layout.title)
            rows = max(INIT_ROWS, len(layout.rows) + 1 + layout.frozen_rows)
            self._grow(writes, sheet, rows, len(layout.columns))
            writes.put(layout.title, 1, 1, [[c.header for c in layout.columns], *[list(r) for r in layout.rows]])
            writes.style(layout.title, [(1, c) for c in range(1, len(layout.columns) + 1)], {"font": {"bold": True}})
            for col, column in enumerate(layout.columns, start=1):
                if column.number_format:
                    writes.span(layout.title, col, 2, rows, {"formatter": formatter(column.number_format)})
            props: dict[str, Any] = {"frozenRowCount": layout.frozen_rows}
            if layout.hidden:
                props["hidden"] = True
            if layout.job_owned:
                props["protect"] = {"lock": "LOCK", "lockInfo": active().text("feishu.protect_info")}
            writes.sheet_updates.append({"sheet": sheet, "properties": props})
            laid.append((layout, sheet))
            result.created.append(layout.title)
        if writes.add_sheets:
            self._send(writes)
        for layout, sheet in laid:
            self._columns(layout, sheet)
        return result

    def _columns(self, layout: TabLayout, sheet: _Sheet) -> None:
        """Widths (one dimension_range per run of equal widths) and dropdowns (one dataValidation
        per column: the endpoint takes one range)."""
        col = 1
        while col <= len(layout.columns):
            end = col
            while end < len(layout.columns) and layout.columns[end].width == layout.columns[col - 1].width:
                end += 1
            self.api.send("PUT", f"{V2}/dimension_range", {
                "dimension": {"sheetId": sheet.sheet_id, "majorDimension": "COLUMNS", "startIndex": col,
                              "endIndex": end},
                "dimensionProperties": {"fixedSize": round(layout.columns[col - 1].width * PIXELS_PER_CHAR)}},
                idempotent=True)
            col = end + 1
        for col, column in enumerate(layout.columns, start=1):
            if column.choices:
                self.api.send("POST", f"{V2}/dataValidation", {
                    "range": a1(sheet.sheet_id, (2, col), (sheet.rows, col)), "dataValidationType": "list",
                    "dataValidation": {"conditionValues": list(column.choices)}}, idempotent=True)


