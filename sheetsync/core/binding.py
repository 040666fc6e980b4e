"""Bind a Snapshot to a Template: find each tab, match headers forgivingly, parse every column.

The result, a ``BoundWorkbook``, is what jobs read. Each data tab becomes a pandas DataFrame of
parsed values indexed by sheet row number, with columns named by the template's column ids, plus
the raw values (for messages) and the row keys. Problems with the layout itself (missing tab,
missing column, merged cells) and cells that cannot be parsed become findings here; nothing is
dropped silently and nothing raises for messy input.
"""

from __future__ import annotations

import logging
from itertools import zip_longest
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from . import parsing
from .model import Finding, Snapshot, TabData, column_letter, row_keys
from .template import Column, TabTemplate, Template, _norm_header, closest

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
    keys: dict[int, str] = field(default_factory=dict)  # sheet row -> row key
    findings: list[Finding] = field(default_factory=list)
    usable: bool = False  # False: tab missing or a required column missing; rules skip it
    _raw_arrays: dict[str, Any] = field(default_factory=dict, repr=False)
    _positions: dict[int, int] = field(default_factory=dict, repr=False)

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
        """The cell as typed (dict lookups: findings are made row by row, and .at is slow)."""
        if not self._positions:
            self._positions = {int(r): i for i, r in enumerate(self.raw.index)}
        if col_id not in self._raw_arrays:
            self._raw_arrays[col_id] = self.raw[col_id].to_numpy() if col_id in self.raw.columns else None
        values, i = self._raw_arrays[col_id], self._positions.get(row)
        return None if values is None or i is None else values[i]

    def finding(self, row: int, col_id: str, code: str, message: str, *, owner_role: str = "",
                job: str = "validate", paint: bool = True) -> Finding:
        value = self.raw_value(row, col_id)
        return Finding(self.title, row, self.header(col_id), self.col_index.get(col_id, 0), value, code, message,
                       row_key=self.keys.get(row, ""), owner_role=owner_role or self.template.owner, job=job,
                       paint=paint, tab_id=self.template.key, column_id=col_id)


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


def bind(snapshot: Snapshot, template: Template, *, year: int) -> BoundWorkbook:
    titles = {_norm_header(t): t for t in snapshot.tabs}
    tabs: dict[str, BoundTab] = {}
    findings: list[Finding] = []
    for key, tab_t in template.tabs.items():
        title = _find_title(tab_t.title_forms(), titles)
        if title is None:
            bound = BoundTab(tab_t, None)
            bound.findings.append(Finding(tab_t.title, 0, "", 0, None, "tab.missing",
                                          template.message("missing_tab", tab=tab_t.title),
                                          owner_role=template.manager_role, paint=False))
        else:
            bound = _bind_tab(snapshot.tabs[title], tab_t, template, year)
        tabs[key] = bound
    owned_titles = {}
    for key, owned in template.owned.items():
        owned_titles[key] = _find_title(owned.title_forms(), titles) or owned.title
    return BoundWorkbook(template, snapshot, tabs, findings, owned_titles)


def _find_title(forms: set[str], titles: dict[str, str]) -> str | None:
    for form, title in titles.items():
        if form in forms:
            return title
    return None


def _locate_header(data: TabData, tab_t: TabTemplate) -> tuple[int, dict[str, int], dict[str, str]]:
    """The header row (1-based) with the most template columns matched, and the matches."""
    best: tuple[int, dict[str, int], dict[str, str]] = (1, {}, {})
    for r in range(1, min(HEADER_SEARCH_ROWS, data.n_rows) + 1):
        col_index: dict[str, int] = {}
        headers: dict[str, str] = {}
        for c, cell in enumerate(data.rows[r - 1], start=1):
            form = _norm_header(cell)
            if not form:
                continue
            for col in tab_t.columns:
                if col.id not in col_index and form in col.header_forms():
                    col_index[col.id] = c
                    headers[col.id] = parsing.normalize_text(cell)
                    break
        if len(col_index) > len(best[1]):
            best = (r, col_index, headers)
    return best


def _bind_tab(data: TabData, tab_t: TabTemplate, template: Template, year: int) -> BoundTab:
    header_row, col_index, headers = _locate_header(data, tab_t)
    bound = BoundTab(tab_t, data, header_row, col_index, headers)
    for min_row, min_col, max_row, max_col in data.merged:
        if min_row <= header_row <= max_row and max_col > min_col:
            cells = f"{column_letter(min_col)}{header_row}:{column_letter(max_col)}{header_row}"
            bound.findings.append(Finding(data.title, header_row, parsing.normalize_text(data.cell(min_row, min_col)),
                                          min_col, None, "layout.merged_header",
                                          template.message("merged_header", tab=data.title, cells=cells),
                                          owner_role=tab_t.owner, paint=False))
    present = [parsing.normalize_text(v) for v in (data.rows[header_row - 1] if data.rows else [])]
    missing_required = False
    for col in tab_t.columns:
        if col.id in col_index:
            continue
        near = closest(col.name, [p for p in present if p], template.messages.get("none", "无"))
        if col.required:
            missing_required = True
            msg = template.message("missing_required_column", tab=data.title, column=col.name, closest=near)
            code = "tab.missing_required_column"
        else:
            msg = template.message("missing_column", tab=data.title, column=col.name, closest=near)
            code = "tab.missing_column"
        bound.findings.append(Finding(data.title, header_row, col.name, 0, None, code, msg,
                                      owner_role=tab_t.owner, paint=False))
    body = data.rows[header_row:]
    first = header_row + 1
    body = _fill_merged(body, data, first, col_index, tab_t, template, bound)
    keys = row_keys(data.rows, bound.key_col_numbers(), first_row=first)
    bound.keys = keys
    index = pd.Index(sorted(keys), name="row")  # only non-blank rows have keys
    columns = _columns(body, [r - first for r in index], max(col_index.values(), default=0))
    raw = {col.id: pd.Series(columns[col_index[col.id] - 1], index=index, dtype=object)
           for col in tab_t.columns if col.id in col_index}
    bound.raw = pd.DataFrame(raw, index=index)
    parsed, bad = {}, {}
    parse_messages = template.parse_messages()
    for col in tab_t.columns:
        if col.id not in raw:
            continue
        result = parsing.parse_series(raw[col.id], col.type, year=year, choices=col.choices,
                                      aliases=col.choice_aliases)
        parsed[col.id] = result.values
        bad[col.id] = result.bad
        if result.bad.any():
            for row in result.bad.index[result.bad.to_numpy()]:
                value = raw[col.id].at[row]
                problem = parsing.error_message(col.type, value, col.choices, parse_messages)
                bound.findings.append(bound.finding(row, col.id, f"parse.{col.type}",
                                                    template.message("parse", problem=problem, value=value,
                                                                     column=bound.header(col.id))))
    bound.frame = pd.DataFrame(parsed, index=index)
    bound.bad = pd.DataFrame(bad, index=index)
    bound.usable = not missing_required
    if bound.usable:
        _column_checks(bound, template)
    return bound


def _columns(body: list[list[Any]], positions: list[int], width: int) -> list[tuple[Any, ...]]:
    """The cells of the given body rows, column by column (one transpose, not a call per cell)."""
    if not positions or not width:
        return [()] * width
    n = len(body)
    columns = list(zip_longest(*(body[i] if i < n else () for i in positions)))
    return [*columns[:width], *[(None,) * len(positions)] * (width - len(columns))]


def _fill_merged(body: list[list[Any]], data: TabData, first: int, col_index: dict[str, int],
                 tab_t: TabTemplate, template: Template, bound: BoundTab) -> list[list[Any]]:
    """A value in a vertically merged block applies to every row of the block (people merge a
    date over the rows of one day). Copy it down for reading, and say so once per block."""
    if not data.merged:
        return body
    body = [list(r) for r in body]
    by_col = {v: k for k, v in col_index.items()}
    for min_row, min_col, max_row, max_col in data.merged:
        if max_row < first or min_row == max_row:
            continue
        value = data.cell(min_row, min_col)
        for r in range(max(min_row, first), max_row + 1):
            i = r - first
            while len(body) <= i:
                body.append([])
            for c in range(min_col, max_col + 1):
                row = body[i]
                while len(row) < c:
                    row.append(None)
                if row[c - 1] is None:
                    row[c - 1] = value
        col_id = by_col.get(min_col)
        if col_id is not None:
            header = bound.headers.get(col_id, tab_t.column(col_id).name)
            bound.findings.append(Finding(data.title, min_row, header, min_col, value, "layout.merged",
                                          template.message("merged", row=min_row, column=header, value=value),
                                          owner_role=tab_t.owner, paint=False))
    return body


def _column_checks(bound: BoundTab, template: Template) -> None:
    """required / unique / min, straight from the column definitions (vectorised)."""
    tab_t = bound.template
    for col in tab_t.columns:
        if col.id not in bound.frame.columns:
            continue
        values = bound.frame[col.id]
        empty = values.isna() & ~bound.bad[col.id]
        if col.type == "sku_list":
            empty = values.map(lambda v: not v if isinstance(v, tuple) else True) & ~bound.bad[col.id]
        if col.required:
            for row in empty.index[empty.to_numpy()]:
                bound.findings.append(bound.finding(row, col.id, f"{tab_t.key}.required",
                                                    template.message("required", column=bound.header(col.id))))
        if col.unique:
            _unique(bound, col, values, template)
        if col.min is not None and col.type in ("int", "number"):
            numeric = pd.to_numeric(values, errors="coerce")
            low = (numeric < col.min).fillna(False)
            for row in low.index[low.to_numpy()]:
                bound.findings.append(bound.finding(
                    row, col.id, f"{tab_t.key}.min",
                    template.message("min", column=bound.header(col.id), min=_fmt_num(col.min),
                                     value=bound.raw_value(row, col.id))))


def _unique(bound: BoundTab, col: Column, values: pd.Series, template: Template) -> None:
    keyed = values.dropna().astype(str).str.strip().str.upper()
    dup = keyed[keyed.duplicated(keep=False)]
    groups: dict[str, list[int]] = {}
    for row, v in dup.items():
        groups.setdefault(v, []).append(int(row))
    for rows in groups.values():
        for row in rows:
            others = template.join(str(r) for r in rows if r != row)
            bound.findings.append(bound.finding(
                row, col.id, f"{bound.template.key}.unique",
                template.message("unique", column=bound.header(col.id), value=bound.raw_value(row, col.id),
                                 other_rows=others)))


def _fmt_num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)
