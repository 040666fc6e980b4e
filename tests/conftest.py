"""Shared fixtures: the shipped template, in-memory workbooks for the pure core, xlsx files."""

from __future__ import annotations

from abc import ABC, abstractmethod
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from sheetsync.engine import load
from sheetsync.core.job import JobContext
from sheetsync.core.layout import layouts_with_rows
from sheetsync.core.model import Finding, Snapshot, TabData
from sheetsync.registry import get_jobs
from sheetsync.core.template import Template
from sheetsync.i18n import active, set_language
from sheetsync.templates import load_template
from sheetsync.i18n.findings import catalogue_for, with_messages

NOW = datetime(2026, 11, 22, 20, 0)  # Sunday evening, shop time (Asia/Shanghai)

MEMBERS = [
    ["周一军", "选品", "yijun@example.com"],
    ["周深", "推广", "shen@example.com"],
    ["童欣", "客服", "xin@example.com"],
    ["莉莉", "财务", "lili@example.com"],
    ["王店长", "店长", "boss@example.com"],
]


@pytest.fixture(autouse=True)
def _cache_key(tmp_path_factory, monkeypatch):
    """The read cache's signing key lives in a folder of the test run, never in the home folder."""
    monkeypatch.setenv("SHEETSYNC_CACHE_KEY", str(tmp_path_factory.getbasetemp() / "cache.key"))


@pytest.fixture(autouse=True)
def _edge_language():
    """A command run with --template en switches the process's language; the next test starts
    in the language it found."""
    before = active()
    yield
    set_language(before)


@pytest.fixture(scope="session")
def template() -> Template:
    return load_template("zh-CN")


def header(template: Template, key: str) -> list[str]:
    return [c.name for c in template.tabs[key].columns]


def row_for(template: Template, key: str, **values: Any) -> list[Any]:
    """A data row for tab ``key`` with the given columns (by id) filled in, the rest empty."""
    cols = template.tabs[key].columns
    unknown = set(values) - {c.id for c in cols}
    assert not unknown, unknown
    return [values.get(c.id) for c in cols]


def base_tabs(template: Template, settings: dict[str, Any] | None = None) -> dict[str, list[list[Any]]]:
    """Every data tab with its header; 成员 filled in; 设置 with round-the-clock hours by default."""
    tabs: dict[str, list[list[Any]]] = {}
    for tab in template.tabs.values():
        tabs[tab.title] = [header(template, tab.key)]
    tabs["成员"] += [list(m) for m in MEMBERS]
    for key, value in (settings or {}).items():
        tabs["设置"].append([key, value, ""])
    return tabs


def snapshot_of(tabs: dict[str, list[list[Any]]], **extra: TabData) -> Snapshot:
    data = {title: TabData(title, [list(r) for r in rows]) for title, rows in tabs.items()}
    data.update(extra)
    return Snapshot(data, "test")


def evaluate(template: Template, tabs: dict[str, list[list[Any]]], now: datetime = NOW,
             jobs=("validate", "reconcile-stock"), **extras) -> list[Finding]:
    """Run the check jobs on in-memory rows (the pure core, no backend)."""
    loaded = load(snapshot_of(tabs), template, now)
    ctx = JobContext(loaded.workbook, loaded.settings, loaded.state, loaded.now, extras)
    out: list[Finding] = []
    for job in get_jobs(list(jobs)):
        out.extend(job.compute(ctx).findings)
    # the words, as the engine renders them; the problems only, as the engine reports them (not the
    # "info" note on a value sheetsync filled in)
    return with_messages([f for f in out if f.is_problem], catalogue_for(template))


def codes_at(findings: list[Finding], tab: str | None = None) -> set[tuple[int, str, str]]:
    """{(row, column header, code)} — what a test usually asserts on."""
    return {(f.row, f.column, f.code) for f in findings if tab is None or f.tab == tab}


@pytest.fixture
def write_xlsx(template, tmp_path):
    """Write rows into a fresh workbook laid out from the template (real openpyxl file)."""
    from sheetsync.backends.xlsx import XlsxBackend

    def _write(tabs: dict[str, list[list[Any]]], name: str = "shop.xlsx") -> Path:
        path = tmp_path / name
        XlsxBackend(path).init_layout(layouts_with_rows(template, tabs))
        return path

    return _write


# ---------------------------------------------------------------------------------------------
# The same shop on either backend: the core's end-to-end tests run on both, so they cannot drift.


class Shop(ABC):
    """A workbook a test can run sheetsync on and look at, the way a person would."""

    kind = ""

    @abstractmethod
    def backend(self):
        """A fresh backend on this workbook."""

    def cell(self, tab: str, ref: str) -> tuple[Any, str | None, str | None]:
        """(value, fill, note) of one cell, read back through the backend's own reader."""
        from openpyxl.utils.cell import column_index_from_string, coordinate_from_string

        letters, row = coordinate_from_string(ref)
        col = column_index_from_string(letters)
        data = self.backend().read().tabs[tab]
        return data.cell(row, col), data.fills.get((row, col)), data.notes.get((row, col))

    def rows(self, tab: str) -> list[list[Any]]:
        return self.backend().read().tabs[tab].rows

    @staticmethod
    def _rc(ref: str) -> tuple[int, int]:
        from openpyxl.utils.cell import column_index_from_string, coordinate_from_string

        letters, row = coordinate_from_string(ref)
        return row, column_index_from_string(letters)


class XlsxShop(Shop):
    kind = "xlsx"

    def __init__(self, path: Path):
        self.path = path

    def backend(self):
        from sheetsync.backends.xlsx import XlsxBackend

        return XlsxBackend(self.path)

    def type(self, tab: str, ref: str, value: Any) -> None:
        import openpyxl

        wb = openpyxl.load_workbook(self.path)
        wb[tab][ref] = value
        wb.save(self.path)

    def person_mark(self, tab: str, ref: str, fill: str, note: str) -> None:
        import openpyxl
        from openpyxl.comments import Comment
        from openpyxl.styles import PatternFill

        wb = openpyxl.load_workbook(self.path)
        wb[tab][ref].fill = PatternFill("solid", fgColor="FF" + fill)
        wb[tab][ref].comment = Comment(note, "童欣")
        wb.save(self.path)

    def fingerprint(self) -> Any:
        return self.path.read_bytes(), self.path.stat().st_mtime_ns

    def rename_tab(self, old: str, new: str) -> None:
        import openpyxl

        wb = openpyxl.load_workbook(self.path)
        wb[old].title = new
        wb.save(self.path)

    def swap_columns(self, tab: str, a: int, b: int) -> None:
        """A person drags column ``a`` to where ``b`` is and back: values, fills and notes move."""
        import copy

        import openpyxl

        wb = openpyxl.load_workbook(self.path)
        ws = wb[tab]
        for row in range(1, ws.max_row + 1):
            ca, cb = ws.cell(row, a), ws.cell(row, b)
            saved = (ca.value, copy.copy(ca.fill), ca.comment, ca.number_format)
            ca.value, ca.fill, ca.number_format = cb.value, copy.copy(cb.fill), cb.number_format
            ca.comment = copy.copy(cb.comment) if cb.comment else None
            cb.value, cb.fill, cb.number_format = saved[0], saved[1], saved[3]
            cb.comment = copy.copy(saved[2]) if saved[2] else None
        wb.save(self.path)


class GoogleShop(Shop):
    kind = "google"

    def __init__(self, fake):
        self.fake = fake

    def backend(self):
        return self.fake.backend()

    def type(self, tab: str, ref: str, value: Any) -> None:
        self.fake.model.set_value(tab, *self._rc(ref), value)

    def person_mark(self, tab: str, ref: str, fill: str, note: str) -> None:
        self.fake.model.set_fill(tab, *self._rc(ref), fill)
        self.fake.model.set_note(tab, *self._rc(ref), note)

    def fingerprint(self) -> Any:
        return self.fake.count("batchUpdate")

    def rename_tab(self, old: str, new: str) -> None:
        self.fake.model.sheet(old).props["title"] = new

    def swap_columns(self, tab: str, a: int, b: int) -> None:
        sheet = self.fake.model.sheet(tab)
        moved = {}
        for (r, c), cell in sheet.cells.items():
            moved[(r, b - 1 if c == a - 1 else a - 1 if c == b - 1 else c)] = cell
        sheet.cells = moved


class FeishuShop(Shop):
    """A Feishu sheet on the fake Open API. What a person sees: the colour on screen (sheetsync's
    conditional format over the cell's own fill) and the reason in the row's notes column."""

    kind = "feishu"

    def __init__(self, fake):
        self.fake = fake
        self.comments: dict[tuple[str, str], str] = {}  # a person's cell comments (no API reads them)

    def backend(self):
        return self.fake.backend()

    def cell(self, tab: str, ref: str) -> tuple[Any, str | None, str | None]:
        from sheetsync.backends.feishu import hint_headers
        from sheetsync.backends.feishu_cells import parse_hint

        row, col = self._rc(ref)
        value = self.backend().read().tabs[tab].cell(row, col)
        head = self.fake.model.rows_of(tab)[0]
        hint = next((c for c, v in enumerate(head, 1) if v in hint_headers()), None)
        entries = parse_hint(self.fake.model.shown(tab, row, hint))[0] if hint else {}
        note = entries.get(str(head[col - 1])) if col <= len(head) else None
        return value, self.fake.model.shown_fill(tab, row, col), note or self.comments.get((tab, ref))

    def type(self, tab: str, ref: str, value: Any) -> None:
        self.fake.model.set_value(tab, *self._rc(ref), value)

    def person_mark(self, tab: str, ref: str, fill: str, note: str) -> None:
        self.fake.model.set_fill(tab, *self._rc(ref), fill)
        self.comments[(tab, ref)] = note

    def rename_tab(self, old: str, new: str) -> None:
        self.fake.model.sheet(old).title = new

    def swap_columns(self, tab: str, a: int, b: int) -> None:
        self.fake.model.swap_columns(tab, a, b)

    def fingerprint(self) -> Any:
        return self.fake.writes()


@pytest.fixture(params=["xlsx", "google", "feishu"])
def make_shop(request, write_xlsx):
    """make_shop(tabs) -> a Shop holding those rows, on the xlsx backend, on Google Sheets (the
    fake Sheets v4 server on loopback, reached through the real gspread client) and on Feishu
    (the fake Open API on loopback, reached through the real lark-oapi client)."""
    from contextlib import ExitStack

    stack = ExitStack()
    request.addfinalizer(stack.close)

    def _make(tabs: dict[str, list[list[Any]]]) -> Shop:
        if request.param == "xlsx":
            return XlsxShop(write_xlsx(tabs))
        if request.param == "feishu":
            from fake_feishu import start_fake_feishu

            return FeishuShop(stack.enter_context(start_fake_feishu(tabs)))
        from fake_sheets import start_fake_sheets

        return GoogleShop(stack.enter_context(start_fake_sheets(tabs)))

    return _make
