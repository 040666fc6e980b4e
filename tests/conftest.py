"""Shared fixtures: the shipped template, in-memory workbooks for the pure core, xlsx files."""

from __future__ import annotations

from abc import ABC, abstractmethod
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, Iterator

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
SEED_WEEK = date(2026, 11, 16)  # the Monday of the seed week
D = datetime

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
def _nothing_held():
    """Each test starts as a new process does: no read-cache entry held in memory."""
    from sheetsync import readcache

    readcache.forget()
    yield
    readcache.forget()


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


def shop_rows(template: Template) -> dict[str, list[list[Any]]]:
    """A small shop: a promotion declaring more stock than there is, a formula typed into a
    summary, an unresolved inquiry, a dispute answered in time."""
    tabs = base_tabs(template)
    tabs["库存"] += [row_for(template, "inventory", sku="LGD-S-300D", product="3克拉裸石", stock=3, min_price=100),
                   row_for(template, "inventory", sku="LGD-R-030", product="戒指", stock=10, min_price=100)]
    tabs["推广确认单"] += [
        row_for(template, "promotions", name="双十一预热款", start=D(2026, 11, 30), end=D(2026, 12, 1),
                skus="LGD-S-300D", declared_stock=5, author="周深", signer="莉莉", signed_at=D(2026, 11, 20)),
        row_for(template, "promotions", name="周末戒指", start=D(2026, 11, 30), end=D(2026, 12, 1),
                skus="LGD-R-030", declared_stock=4, price=199, author="周深", signer="莉莉",
                signed_at=D(2026, 11, 20)),
    ]
    tabs["客服台账"] += [
        row_for(template, "cs_log", customer="王女士", type="产品咨询", asked_at=D(2026, 11, 22, 10),
                answered_at=D(2026, 11, 22, 10, 2), resolved="否", summary='=IMPORTXML("http://x","//a")'),
        row_for(template, "cs_log", customer="李先生", type="产品咨询", asked_at=D(2026, 11, 22, 11),
                answered_at=D(2026, 11, 22, 11, 2), resolved="是"),
    ]
    tabs["售后纠纷"] += [
        row_for(template, "disputes", order="TB1001", received_at=D(2026, 11, 22, 9), category="物流问题",
                first_reply_at=D(2026, 11, 22, 9, 5)),
    ]
    return tabs


def seed_week(template: Template) -> dict[str, list[list[Any]]]:
    """The seed week of the product brief, the week starting SEED_WEEK."""
    from sheetsync.demo import seed_week_rows

    return seed_week_rows(SEED_WEEK)


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


@pytest.fixture
def chinese() -> Iterator[None]:
    """The test reads the default (zh-CN) messages, whatever an earlier test set; the language
    it found is back afterwards. A module takes it with
    ``pytestmark = pytest.mark.usefixtures("chinese")``."""
    before = active()
    set_language("zh-CN")
    yield
    set_language(before)


@pytest.fixture
def here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)  # no sheetsync.toml of the repository is picked up
    return tmp_path


@pytest.fixture
def bots():
    """The group bots (WeCom, DingTalk, Feishu) on one loopback port."""
    from helpers_bots import BotServer

    server = BotServer()
    yield server
    server.close()


@pytest.fixture(scope="module")
def cert_files(tmp_path_factory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 / localhost."""
    import datetime as dt
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(dt.datetime(2020, 1, 1)).not_valid_after(dt.datetime(2099, 1, 1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                    x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    folder = tmp_path_factory.mktemp("tls")
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


@pytest.fixture
def smtp_server(cert_files):
    """Start a loopback server: smtp_server(security, mechanism) -> (inbox, port). mechanism
    None = no AUTH offered; 'PLAIN' / 'LOGIN' = only that one offered."""
    import ssl

    from aiosmtpd.controller import Controller
    from helpers_smtp import Inbox, check_password, free_port

    started = []

    def start(security: str, mechanism: str | None = None, port: int | None = None):
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(*cert_files)
        kwargs = {}
        if security == "starttls":
            kwargs.update(tls_context=ctx, require_starttls=True)
        elif security == "ssl":
            kwargs.update(ssl_context=ctx)
        if mechanism:
            kwargs.update(authenticator=check_password, auth_required=True,
                          auth_exclude_mechanism=[m for m in ("PLAIN", "LOGIN") if m != mechanism])
            if security == "ssl":
                # the whole session is encrypted, but aiosmtpd only counts STARTTLS as TLS
                kwargs.update(auth_require_tls=False)
        inbox = Inbox()
        controller = Controller(inbox, hostname="127.0.0.1", port=port or free_port(), **kwargs)
        controller.start()
        started.append(controller)
        return inbox, controller.port

    yield start
    for controller in started:
        controller.stop()


@pytest.fixture
def waiting_workbook(template, write_xlsx):
    """The shop's workbook with one customer asked 5 minutes before NOW and not answered yet:
    within the limit now, overdue two hours later (the read cache's time-dependent case)."""
    tabs = shop_rows(template)
    tabs["客服台账"].append(row_for(template, "cs_log", customer="赵女士", type="产品咨询",
                                   asked_at=NOW - timedelta(minutes=5), resolved="否"))
    return write_xlsx(tabs)
