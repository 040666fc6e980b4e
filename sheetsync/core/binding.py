"""Bind a Snapshot to a Template: find each tab, match headers forgivingly, parse every column.

The result, a ``BoundWorkbook``, is what jobs read. Each data tab becomes a pandas DataFrame of
parsed values indexed by sheet row number, with columns named by the template's column ids, plus
the raw values (for messages) and the row keys. Problems with the layout itself (missing or
doubled tab, missing or doubled column, merged cells, a workbook laid out by another language's
template), formula cells showing an error and cells that cannot be parsed become findings here:
a code and parameters (catalogue key ``findings.<code>``, see ``messages/binding.toml``), never
prose. Nothing is dropped silently and nothing raises for messy input.
"""

from __future__ import annotations

import logging
import difflib
from dataclasses import dataclass, field, replace
from typing import Any, Mapping

import numpy as np
import pandas as pd

from . import parsing
from .model import (PRIORITY_ACT, CellError, Finding, Params, RowKeys, Snapshot, TabData, column_letter, new_finding,
                    object_array, paused_gc, tab_row_keys)
from .template import Column, TabTemplate, Template, _norm_header

log = logging.getLogger(__name__)

HEADER_SEARCH_ROWS = 5  # the header may sit below a title row or two


@dataclass
class BoundTab:
    template: TabTemplate
    data: TabData | None
    header_row: int = 1
    col_index: dict[str, int] = field(default_factory=dict)  # column id -> 1-based sheet column
    headers: dict[str, str] = field(default_factory=dict)  # column id -> header text as typed
    raw: pd.DataFrame = field(default_factory=pd.DataFrame)  # index: sheet row; columns: ids
    frame: pd.DataFrame = field(default_factory=pd.DataFrame)  # parsed values
    bad: pd.DataFrame = field(default_factory=pd.DataFrame)  # True where a non-empty cell did not parse
    keys: Mapping[int, str] = field(default_factory=dict)  # sheet row -> row key (a RowKeys once bound)
    findings: list[Finding] = field(default_factory=list)
    usable: bool = False  # False: tab missing or a required column missing; rules skip it
    spare_headers: list[str] = field(default_factory=list)  # header cells that match no template column
    _raw_arrays: dict[str, Any] = field(default_factory=dict, repr=False)
    # what rules derive from the parsed columns once per run (owner names by row), by a key of theirs
    derived: dict[Any, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def title(self) -> str:
        return self.data.title if self.data else self.template.title

    def has(self, *col_ids: str) -> bool:
        return all(c in self.col_index for c in col_ids)

    def header(self, col_id: str) -> str:
        return self.headers.get(col_id) or self.template.column(col_id).name

    def key_col_numbers(self) -> tuple[int, ...]:
        return tuple(self.col_index[c] for c in self.template.key_columns if c in self.col_index)

    def raw_value(self, row: int, col_id: str) -> Any:
        """The cell as typed (.at is slow; the rows are found by a binary search, not a dict of
        every row)."""
        values = self._raw_array(col_id)
        if values is None or not len(values):
            return None
        index = self.raw.index.to_numpy()
        first, last = int(index[0]), int(index[-1])
        if last - first + 1 == len(index):  # every row from the first to the last (the usual case)
            i = int(row) - first
            return values[i] if 0 <= i < len(index) else None
        i = int(self.raw_positions(np.array([row], dtype=np.int64))[0])
        return None if i < 0 else values[i]

    def _raw_array(self, col_id: str) -> Any:
        if col_id not in self._raw_arrays:
            self._raw_arrays[col_id] = self.raw[col_id].to_numpy() if col_id in self.raw.columns else None
        return self._raw_arrays[col_id]

    def raw_positions(self, rows: np.ndarray) -> np.ndarray:
        """The position in ``raw`` of each sheet row of ``rows`` (-1 where ``raw`` has no such row)."""
        index = self.raw.index.to_numpy()
        if not len(index) or not len(rows):
            return np.full(len(rows), -1, dtype=np.int64)
        if not self.raw.index.is_monotonic_increasing:
            return self.raw.index.get_indexer(rows).astype(np.int64)
        at = np.minimum(np.searchsorted(index, rows), len(index) - 1)
        return np.where(index[at] == rows, at, -1)

    def raw_at(self, col_id: str, rows: np.ndarray, positions: np.ndarray | None = None) -> list[Any]:
        """``raw_value(row, col_id)`` for each of ``rows`` at once (``positions``: theirs in the
        frame, when the caller has them: the same in ``raw``, whose index is the frame's)."""
        values = self._raw_array(col_id)
        if values is None:
            return [None] * len(rows)
        if positions is None or not (self.raw.index is self.frame.index or self.raw.index.equals(self.frame.index)):
            positions = self.raw_positions(rows)
        if len(positions) and positions.min() < 0:
            return [values[i] if i >= 0 else None for i in positions.tolist()]
        return values[positions].tolist()

    def keys_at(self, rows: np.ndarray) -> list[str]:
        """``keys.get(row, "")`` for each of ``rows`` at once."""
        keys = self.keys
        if isinstance(keys, RowKeys):
            return keys.at(keys.positions(rows))
        return [keys.get(r, "") for r in np.asarray(rows).tolist()]

    def finding(self, row: int, col_id: str, code: str, message: str | None = None, *, owner_role: str = "",
                job: str = "validate", paint: bool = True, params: Mapping[str, Any] | None = None,
                **more: Any) -> Finding:
        """A finding on a cell of this tab, with the template ids set. ``params`` (and keyword
        arguments) are the message's parameters; ``tab`` and ``column`` (as the person sees them)
        are added. The edge words it (``findings.<code>``) unless ``message`` is given."""
        value = self.raw_value(row, col_id)
        title = self.title
        header = self.header(col_id) if col_id else ""
        values = {"tab": title, "column": header}
        if params:
            values.update(params)
        if more:
            values.update(more)
        return Finding(title, row, header, self.col_index.get(col_id, 0), value, code, message or "",
                       row_key=self.keys.get(row, ""), owner_role=owner_role or self.template.owner, job=job,
                       paint=paint, tab_id=self.template.key, column_id=col_id, params=values)

    def findings_at(self, rows: Any, col_id: str, code: str, params: Any = None, **more: Any) -> list[Finding]:
        """``finding(row, col_id, code, ...)`` for each of ``rows`` at once (the bad cells of a
        column): ``params`` is one mapping per row (or None), ``more`` is shared by all."""
        numbers = np.asarray(rows, dtype=np.int64)
        if not len(numbers):
            return []
        header = self.header(col_id) if col_id else ""
        col = self.col_index.get(col_id, 0)
        values = self.raw_at(col_id, numbers)
        keys = self.keys_at(numbers)
        title, owner, tab_id = self.title, self.template.owner, self.template.key
        shared = {"tab": title, "column": header}
        make = new_finding  # Finding's fields in order, the defaults spelled out
        if params is None:
            common = Params.of({**shared, **more})  # one read-only mapping for the whole batch
            return [make(title, row, header, col, value, code, "", key, owner, "validate", True, tab_id, col_id,
                         common, "error", None, (), PRIORITY_ACT)
                    for row, value, key in zip(numbers.tolist(), values, keys, strict=True)]
        return [make(title, row, header, col, value, code, "", key, owner, "validate", True, tab_id, col_id,
                     Params.of({**shared, **(extra or {}), **more}), "error", None, (), PRIORITY_ACT)
                for row, value, key, extra in zip(numbers.tolist(), values, keys, params, strict=True)]

    def layout_finding(self, code: str, *, row: int = 0, column: str = "", col: int = 0, value: Any = None,
                       column_id: str = "", owner_role: str = "", **params: Any) -> Finding:
        """A problem with the tab's layout: listed, never painted."""
        values = {"tab": self.title, "row": row, "column": column, "value": value, **params}
        return Finding(self.title, row, column, col, value, code, "",
                       owner_role=owner_role or self.template.owner, paint=False, tab_id=self.template.key,
                       column_id=column_id, params=values)


@dataclass
class BoundWorkbook:
    template: Template
    snapshot: Snapshot
    tabs: dict[str, BoundTab]
    findings: list[Finding]  # layout problems not tied to one data tab
    owned_titles: dict[str, str]  # owned key ("weekly") -> actual sheet title present or template title
    _members: list[tuple[str, str, str]] | None = field(default=None, repr=False)

    def tab(self, key: str) -> BoundTab:
        return self.tabs[key]

    def by_role(self, role: str) -> BoundTab:
        return next(t for t in self.tabs.values() if t.template.role == role)

    def members(self) -> list[tuple[str, str, str]]:
        """(name, role, email) from the 成员 tab, in sheet order (read once per run)."""
        if self._members is None:
            self._members = self._read_members()
        return self._members

    def _read_members(self) -> list[tuple[str, str, str]]:
        tab = self.by_role("members")
        if not tab.usable or tab.frame.empty:
            return []
        out = []
        for _, row in tab.frame.iterrows():
            name = row.get("name")
            if isinstance(name, str) and name:
                role = row.get("role")
                email = row.get("email")
                out.append((name, role if isinstance(role, str) else "", email if isinstance(email, str) else ""))
        return out

    def names_for_role(self, role: str) -> list[str]:
        return [n for n, r, _ in self.members() if r == role]

    def owner_names(self, role: str) -> str:
        names = self.names_for_role(role)
        return self.template.join(names) if names else role

    def rows_read(self) -> int:
        return sum(len(t.frame) for t in self.tabs.values())

    def all_findings(self) -> list[Finding]:
        out = list(self.findings)
        for tab in self.tabs.values():
            out.extend(tab.findings)
        return out


# ---------------------------------------------------------------------------------------------


def bind(snapshot: Snapshot, template: Template, *, year: int,
         reuse: Mapping[str, BoundTab] | None = None) -> BoundWorkbook:
    """``reuse``: tabs bound earlier (same template and year), by template key; one whose data is
    the very TabData now found for it is taken as it is instead of being bound again. The
    garbage collector is paused meanwhile (``paused_gc``: the parse findings hold no cycles)."""
    with paused_gc():
        return _bind(snapshot, template, year=year, reuse=reuse)


def _bind(snapshot: Snapshot, template: Template, *, year: int,
          reuse: Mapping[str, BoundTab] | None) -> BoundWorkbook:
    by_form: dict[str, list[str]] = {}
    for title in snapshot.tabs:  # sheet order
        by_form.setdefault(_norm_header(title), []).append(title)
    tabs: dict[str, BoundTab] = {}
    findings: list[Finding] = []
    taken = {t for owned in template.owned.values() for t in _find_titles(owned.title_forms(), by_form)}
    matches = {key: _find_titles(tab_t.title_forms(), by_form) for key, tab_t in template.tabs.items()}
    taken.update(t for found in matches.values() for t in found)
    unmatched = [t for t in snapshot.tabs if t not in taken]
    for key, tab_t in template.tabs.items():
        found = sorted(matches[key], key=lambda t: t != tab_t.title)  # the exact title first, then sheet order
        if not found and tab_t.optional:
            bound = BoundTab(tab_t, None)  # a shop without this tab is fine
        elif not found:
            bound = BoundTab(tab_t, None)
            near = _closest(tab_t.title_forms(), unmatched)
            code = "tab.missing_near" if near else "tab.missing"
            bound.findings.append(bound.layout_finding(code, owner_role=template.manager_role, closest=near))
        elif reuse and key in reuse and len(found) == 1 and reuse[key].data is snapshot.tabs[found[0]]:
            bound = replace(reuse[key], findings=list(reuse[key].findings))
        else:
            bound = _bind_tab(snapshot.tabs[found[0]], tab_t, template, year)
            for other in found[1:]:
                bound.findings.append(bound.layout_finding("tab.duplicate", owner_role=template.manager_role,
                                                           other=other, template_tab=tab_t.title))
        tabs[key] = bound
    owned_titles = {}
    for key, owned in template.owned.items():
        owned_titles[key] = next(iter(_find_titles(owned.title_forms(), by_form)), owned.title)
    wb = BoundWorkbook(template, snapshot, tabs, findings, owned_titles)
    if any(f.code.startswith("tab.missing") for f in wb.all_findings()):
        hint = _other_template(template, unmatched, tabs)
        if hint is not None:
            findings.append(Finding(snapshot.source, 0, "", 0, None, "tab.other_template",
                                    "",
                                    owner_role=template.manager_role, paint=False,
                                    params={"template": hint, "current": template.name}))
    return wb


def _find_titles(forms: set[str], by_form: dict[str, list[str]]) -> list[str]:
    return [title for form, titles in by_form.items() if form in forms for title in titles]


def _closest(forms: set[str], candidates: list[str]) -> str | None:
    """The candidate most like any of ``forms`` (for 'did you mean'), or None when none is close."""
    best, score = None, 0.0
    for candidate in candidates:
        form = _norm_header(candidate)
        if not form:
            continue
        ratio = max(difflib.SequenceMatcher(None, wanted, form).ratio() for wanted in forms)
        if ratio > score:
            best, score = candidate, ratio
    return parsing.normalize_text(best) if best is not None and score >= 0.3 else None


def _other_template(template: Template, unmatched_titles: list[str], tabs: Mapping[str, BoundTab]) -> str | None:
    """The shipped template (of another language) that knows the tab titles and headers this
    template could not place, if one knows at least two of them."""
    titles = {_norm_header(t) for t in unmatched_titles}
    headers = {_norm_header(h) for t in tabs.values() for h in t.spare_headers}
    scores = {name: len(titles & t) + len(headers & h) for name, (t, h) in template.others.items()}
    best = max(scores, key=lambda n: scores[n], default=None)
    return best if best is not None and scores[best] >= 2 else None


_Header = tuple[int, dict[str, int], dict[str, str], dict[str, list[int]]]


def _locate_header(data: TabData, tab_t: TabTemplate) -> _Header:
    """The header row (1-based) with the most template columns matched, the matches, and every
    column where a matched header appears again."""
    best: _Header = (1, {}, {}, {})
    for r in range(1, min(HEADER_SEARCH_ROWS, data.n_rows) + 1):
        col_index: dict[str, int] = {}
        headers: dict[str, str] = {}
        again: dict[str, list[int]] = {}
        for c, cell in enumerate(data.row(r), start=1):
            form = _norm_header(cell)
            if not form:
                continue
            for col in tab_t.columns:
                if form in col.header_forms():
                    if col.id in col_index:
                        again.setdefault(col.id, []).append(c)
                    else:
                        col_index[col.id] = c
                        headers[col.id] = parsing.normalize_text(cell)
                    break
        if len(col_index) > len(best[1]):
            best = (r, col_index, headers, again)
    return best


def _bind_tab(data: TabData, tab_t: TabTemplate, template: Template, year: int) -> BoundTab:
    header_row, col_index, headers, again = _locate_header(data, tab_t)
    bound = BoundTab(tab_t, data, header_row, col_index, headers)
    for min_row, min_col, max_row, max_col in data.merged:
        if min_row <= header_row <= max_row and max_col > min_col:
            cells = f"{column_letter(min_col)}{header_row}:{column_letter(max_col)}{header_row}"
            bound.findings.append(bound.layout_finding(
                "layout.merged_header", row=header_row, column=parsing.normalize_text(data.cell(min_row, min_col)),
                col=min_col, cells=cells))
    for col_id, extra in again.items():
        taken = f"{column_letter(col_index[col_id])}{header_row}"
        places = (taken, *(f"{column_letter(c)}{header_row}" for c in extra))
        bound.findings.append(bound.layout_finding(
            "layout.duplicate_header", row=header_row, column=headers[col_id], col=col_index[col_id],
            column_id=col_id, cells=places, cell=taken))
    row_cells = data.row(header_row)
    # headers that match no template column: what a missing column may have been renamed to
    spare = [parsing.normalize_text(v) for v in row_cells
             if parsing.normalize_text(v) and not any(_norm_header(v) in c.header_forms() for c in tab_t.columns)]
    bound.spare_headers = spare
    missing_required = False
    for col in tab_t.columns:
        if col.id in col_index or (col.optional and not col.required):
            continue
        near = _closest({_norm_header(col.name)}, spare)
        code = "tab.missing_required_column" if col.required else "tab.missing_column"
        missing_required = missing_required or col.required
        bound.findings.append(bound.layout_finding(f"{code}_near" if near else code, row=header_row,
                                                   column=col.name, column_id=col.id, closest=near))
    first = header_row + 1
    _say_merged(data, first, col_index, tab_t, bound)
    keys = tab_row_keys(data, bound.key_col_numbers(), first_row=first)
    bound.keys = keys
    rows = keys.rows  # ascending; only non-blank rows have keys
    index = pd.Index(rows, name="row")
    bound.raw = raw_frame(data, tab_t, header_row, col_index, rows, index)
    raw = {col_id: bound.raw[col_id] for col_id in bound.raw.columns}
    parsed, bad = {}, {}
    for col in tab_t.columns:
        if col.id not in raw:
            continue
        cells = raw[col.id]
        errors = None
        if data.cell_errors and CellError in set(map(type, cells.to_numpy())):
            errors = cells.map(lambda v: isinstance(v, CellError)).astype(bool)
            cells = cells.mask(errors, None)  # parsed as empty, then marked bad: the note says why
        result = parsing.parse_series(cells, col.type, year=year, choices=col.choices, aliases=col.choice_aliases)
        parsed[col.id] = result.values
        bad[col.id] = result.bad if errors is None else result.bad | errors
        if errors is not None:
            where = np.flatnonzero(errors.to_numpy())
            bound.findings.extend(bound.findings_at(rows[where], col.id, "cell.formula_error",
                                                    [{"error": str(v)} for v in raw[col.id].to_numpy()[where]]))
        where = np.flatnonzero(result.bad.to_numpy())
        if len(where):
            bound.findings.extend(bound.findings_at(
                rows[where], col.id, f"parse.{col.type}",
                [parsing.error_params(col.type, v, col.choices) for v in raw[col.id].to_numpy()[where]]))
    bound.frame = pd.DataFrame(parsed, index=index, copy=False)
    bound.bad = pd.DataFrame(bad, index=index, copy=False)
    bound.usable = not missing_required
    if bound.usable:
        _column_checks(bound)
    return bound


def raw_frame(data: TabData, tab_t: TabTemplate, header_row: int, col_index: dict[str, int], rows: np.ndarray,
              index: pd.Index | None = None) -> pd.DataFrame:
    """The template columns' cells of the body rows ``rows`` (a tab's ``keys.rows``), one object
    column per column id, indexed by sheet row (``index``, made from ``rows`` when not given):
    ``BoundTab.raw``. The read cache keeps the tab's data, not this, and makes it again."""
    first = header_row + 1
    cells_of = _body_cells(data, first, col_index)
    index = pd.Index(rows, name="row") if index is None else index
    positions = rows - first
    # every body row kept (the usual case): a view of the column, no copy
    whole = len(positions) == 0 or positions[-1] - positions[0] + 1 == len(positions)
    chosen = slice(int(positions[0]), int(positions[-1]) + 1) if whole and len(positions) else positions
    return pd.DataFrame({col.id: pd.Series(cells_of[col.id][chosen], index=index, dtype=object, copy=False)
                         for col in tab_t.columns if col.id in col_index}, index=index, copy=False)


def _body_cells(data: TabData, first: int, col_index: dict[str, int]) -> dict[str, np.ndarray]:
    """The template columns' cells from row ``first`` down (index 0 = row ``first``), as object
    arrays: views of the tab's own columns where it can. A value in a vertically merged block
    applies to every row of the block (people merge a date over the rows of one day): it is
    copied down for reading (into a copy of that column; ``_say_merged`` says so)."""
    end = max(data.n_rows, first - 1)
    columns = {col_id: object_array(data.column(c))[first - 1:end] for col_id, c in col_index.items()}
    by_col = {v: k for k, v in col_index.items()}
    copied: set[str] = set()
    for min_row, min_col, max_row, max_col in _blocks_below(data, first):
        value = data.cell(min_row, min_col)
        for c in range(min_col, max_col + 1):
            col_id = by_col.get(c)
            if col_id is None:
                continue
            if col_id not in copied:
                columns[col_id] = columns[col_id].copy()
                copied.add(col_id)
            cells = columns[col_id]
            for r in range(max(min_row, first), min(max_row, end) + 1):
                if cells[r - first] is None:
                    cells[r - first] = value
    return columns


def _blocks_below(data: TabData, first: int) -> list[tuple[int, int, int, int]]:
    """The merged ranges of more than one row that reach row ``first`` or below."""
    return [m for m in data.merged if m[2] >= first and m[0] != m[2]]


def _say_merged(data: TabData, first: int, col_index: dict[str, int], tab_t: TabTemplate, bound: BoundTab) -> None:
    """One finding per vertically merged block of the body whose first column is a template
    column: its value is read in every row of the block."""
    by_col = {v: k for k, v in col_index.items()}
    for min_row, min_col, _max_row, _max_col in _blocks_below(data, first):
        col_id = by_col.get(min_col)
        if col_id is not None:
            header = bound.headers.get(col_id, tab_t.column(col_id).name)
            bound.findings.append(bound.layout_finding("layout.merged", row=min_row, column=header, col=min_col,
                                                       value=data.cell(min_row, min_col), column_id=col_id))


def _column_checks(bound: BoundTab) -> None:
    """required / unique / min, straight from the column definitions (vectorised)."""
    tab_t = bound.template
    rows = bound.frame.index.to_numpy()
    for col in tab_t.columns:
        if col.id not in bound.frame.columns:
            continue
        values = bound.frame[col.id]
        if col.required:
            if col.type == "sku_list":
                empty = values.map(lambda v: not v if isinstance(v, tuple) else True) & ~bound.bad[col.id]
            else:
                empty = values.isna() & ~bound.bad[col.id]
            bound.findings.extend(bound.findings_at(rows[empty.to_numpy()], col.id, "column.required"))
        if col.unique:
            _unique(bound, col, values)
        if col.min is not None and col.type in ("int", "number"):
            numeric = pd.to_numeric(values, errors="coerce")
            low = (numeric < col.min).fillna(False).to_numpy(dtype=bool)
            raw = bound.raw[col.id].to_numpy()[low]
            bound.findings.extend(bound.findings_at(rows[low], col.id, "column.min", [{"value": v} for v in raw],
                                                    min=col.min))


def _unique(bound: BoundTab, col: Column, values: pd.Series) -> None:
    keyed = values.dropna().astype(str).str.strip().str.upper()
    dup = keyed[keyed.duplicated(keep=False)]
    groups: dict[str, list[int]] = {}
    for row, v in dup.items():
        groups.setdefault(v, []).append(int(row))
    for rows in groups.values():
        for row in rows:
            bound.findings.append(bound.finding(row, col.id, "column.unique", value=bound.raw_value(row, col.id),
                                                other_rows=tuple(r for r in rows if r != row)))
