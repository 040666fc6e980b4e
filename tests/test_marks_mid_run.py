"""People keep working in the shared Google sheet while sheetsync runs: sorts, inserted and
deleted rows, fixed values, their own colours and notes, between sheetsync's first read, its
confirming read and its write; and the API fails at any of these requests, or applies a write
whose answer is lost. Whatever happens, after the run and a follow-up run:

* every sheetsync mark sits on a cell whose row has that problem now;
* every colour, note and value a person put in the sheet is unchanged;
* 运行记录 and 周报 have no doubled row;
* the message tells the truth about the write.

All on the project's Sheets fake through the real gspread client; request 1 of a run is the
first read, request 2 the confirming read, request 3 the batchUpdate."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

import pytest

from conftest import NOW, base_tabs, evaluate, row_for
from fake_sheets import DROP, LOST, Failure, start_fake_sheets
from sheetsync.core.model import MARK_FILL, NOTE_PREFIX
from sheetsync.engine import run
from sheetsync.errors import SheetsyncError
from sheetsync.registry import get_jobs

CS = "客服台账"
ANSWERED = 6  # 首次响应时间, where a late first reply is painted
ASKED = 5  # 咨询时间 (part of the row key)
FIRST_READ, CONFIRM, WRITE = 1, 2, 3
D = datetime
pytestmark = pytest.mark.usefixtures("chinese")


def cs_row(template, i: int, late: bool) -> list:
    asked = D(2026, 11, 22, 9) + timedelta(minutes=37 * i)
    return row_for(template, "cs_log", customer=f"客户{i}", type="产品咨询", asked_at=asked,
                   answered_at=asked + timedelta(minutes=30 if late else 2), resolved="是")


def shop_tabs(template, lates: list[bool]) -> dict:
    tabs = base_tabs(template)
    tabs[CS] += [cs_row(template, i, late) for i, late in enumerate(lates)]
    return tabs


class Shop:
    """The fake spreadsheet, the runs made on it, and what the person did to it."""

    def __init__(self, fake, template):
        self.fake, self.template = fake, template
        self.runs = 0
        self.person: dict[str, tuple[str, str]] = {}  # a person's note -> (customer of its row, fill)

    @property
    def model(self):
        return self.fake.model

    def run(self, **kw):
        """One run; returns (report, error). ``before``: the sheet just before (for the truth check)."""
        self.runs += 1
        now = NOW + timedelta(minutes=15 * self.runs)
        before = self.fake.snapshot()
        try:
            report = run(self.fake.backend(), get_jobs(None), now=now, **kw)
        except SheetsyncError as err:
            self.check_message(str(err), before)
            return None, err
        return report, None

    def check_message(self, message: str, before) -> None:
        if "表格没有被修改" in message:
            assert self.fake.snapshot() == before, message
        assert any(words in message for words in ("表格没有被修改", "无法确认", "批已写入")), (
            f"a failed run must say what it left behind: {message}")

    def forget_lost_marks(self) -> None:
        """A move or a mark right before the write can put red over a person's cell: the API has
        no conditional write. What is checked from then on is that the next runs repair it."""
        notes = set(self.model.tab(CS).notes.values())
        self.person = {n: v for n, v in self.person.items() if n in notes}

    def mark(self, row: int, col: int, fill: str = "FFFF00", note: str | None = None) -> None:
        """A person colours a cell and writes a note of their own on it."""
        note = note or f"童欣: 回电话 {len(self.person)}"
        self.model.set_fill(CS, row, col, fill)
        self.model.set_note(CS, row, col, note)
        self.person[note] = (self.model.tab(CS).cell(row, 2), fill)

    # ---- the invariants ------------------------------------------------------------------

    def painted(self) -> set[tuple[str, int, int]]:
        out = set()
        for sheet in self.model.sheets:
            tab = self.model.tab(sheet.title)
            for cell, note in tab.notes.items():
                if note.startswith(NOTE_PREFIX) and tab.fills.get(cell) == MARK_FILL:
                    out.add((sheet.title, *cell))
        return out

    def problems_now(self) -> set[tuple[str, int, int]]:
        """The cells a run on the sheet as it is now would paint (the pure core, no backend)."""
        tabs = {s.title: self.model.tab(s.title).rows for s in self.model.sheets if not s.title.startswith("_")}
        return {(f.tab, f.row, f.col) for f in evaluate(self.template, tabs, NOW + timedelta(days=1))
                if f.paint and f.row > 0}

    def check(self, *, settled: bool, placed: bool = True) -> None:
        """``placed``: also check that every sheetsync mark is where a problem is (False right
        after a run during which rows moved: a misplaced paint is repaired by the next run)."""
        marks, problems = self.painted(), self.problems_now()
        if placed or settled:
            assert marks <= problems, f"sheetsync red where no row has that problem: {sorted(marks - problems)}"
        cs = self.model.tab(CS)
        customers = {r[1] for r in cs.rows[1:] if len(r) > 1}
        for note, (customer, fill) in self.person.items():
            if customer not in customers:
                continue  # the person deleted the row
            [cell] = [c for c, n in cs.notes.items() if n == note]
            assert cs.cell(cell[0], 2) == customer and cs.fills.get(cell) == fill, note
        if settled:
            persons = {c for c, n in cs.notes.items() if not n.startswith(NOTE_PREFIX)}
            missing = {p for p in problems if p[0] == CS and p[1:] not in persons} - marks
            assert not missing, f"problems not painted after a clean run: {sorted(missing)}"
        log = [tuple(r) for r in self.model.tab("运行记录").rows[1:]] if self._has("运行记录") else []
        assert len({r[0] for r in log}) == len(log), f"运行记录 has a doubled row: {log}"
        if self._has("周报"):
            weeks = [r[0] for r in self.model.tab("周报").rows[1:] if r and r[0]]
            assert len(set(weeks)) == len(weeks), weeks
        for body in self.fake.bodies("batchUpdate"):  # sheetsync never writes a value into the cs log
            for request in body["requests"]:
                update = request.get("updateCells", {})
                where = update.get("start") or update.get("range") or {}
                if where.get("sheetId") == self.model.sheet(CS).sheet_id:
                    assert "userEnteredValue" not in update["fields"], update

    def _has(self, title: str) -> bool:
        return any(s.title == title for s in self.model.sheets)

    def settle(self) -> None:
        """A follow-up run with nobody editing, then the invariants, settled."""
        report, error = self.run()
        assert error is None, error
        self.check(settled=True)


@pytest.fixture
def make(template):
    from contextlib import ExitStack

    with ExitStack() as stack:
        def _make(lates: list[bool]) -> Shop:
            return Shop(stack.enter_context(start_fake_sheets(shop_tabs(template, lates))), template)

        yield _make


def at_request(shop: Shop, n: int, edit) -> None:
    """``edit(model)`` just before request ``n`` of the next run."""
    shop.fake.before_request(shop.fake.request_count + n, edit)


# ---- 1. a person's fill or note added after the first read -----------------------------------


@pytest.mark.parametrize("before", [CONFIRM, WRITE])
def test_1_a_persons_mark_added_after_the_first_read_is_never_painted_over(make, before):
    shop = make([True, True, False])
    at_request(shop, before, lambda m: shop.mark(2, ANSWERED))
    shop.run()
    if before == CONFIRM:  # seen by the confirming read: never painted over
        shop.check(settled=False)
        assert shop.model.tab(CS).fills[(3, ANSWERED)] == MARK_FILL
    else:  # after the confirming read: the API has no conditional write, so the person's note is
        # painted over; the run and its follow-up must still leave no sheetsync red where it does not belong
        shop.person.clear()
    shop.settle()


def test_1_a_persons_words_added_to_a_mark_about_to_be_cleared_are_kept(make):
    shop = make([True, True])
    shop.run()
    shop.model.set_value(CS, 2, ANSWERED, shop.model.tab(CS).cell(2, ASKED) + timedelta(minutes=3))  # fixed
    note = shop.model.tab(CS).notes[(2, ANSWERED)] + "\n童欣: 已电话联系"
    at_request(shop, CONFIRM, lambda m: m.set_note(CS, 2, ANSWERED, note))
    report, error = shop.run()
    assert error is None
    assert shop.model.tab(CS).notes[(2, ANSWERED)] == note
    assert any("读取后有人改了这个单元格的底色或批注" in str(s) for s in report.applied.skipped)
    shop.run()
    assert shop.model.tab(CS).notes[(2, ANSWERED)] == note  # the mark is theirs now
    assert shop.model.tab(CS).fills[(2, ANSWERED)] == MARK_FILL


# ---- 2. deleting a red row -------------------------------------------------------------------


@pytest.mark.parametrize("when", ["between runs", CONFIRM, WRITE])
def test_2_deleting_a_red_row_keeps_the_red_of_the_late_row_moving_up(make, when):
    shop = make([True, True, False, True])
    shop.run()
    assert (CS, 3, ANSWERED) in shop.painted()
    shop.model.set_value(CS, 4, 3, "售后咨询")  # some other change, so the next run writes
    if when == "between runs":
        shop.model.delete_rows(CS, 2)
    else:
        at_request(shop, when, lambda m: m.delete_rows(CS, 2))
    shop.run()
    if when != WRITE:  # a move right before the write may misplace this run's paint: the next run repairs it
        shop.check(settled=False)
        assert shop.model.tab(CS).fills.get((2, ANSWERED)) == MARK_FILL  # 客户1, still late, moved up
    shop.settle()
    assert shop.model.tab(CS).fills.get((2, ANSWERED)) == MARK_FILL


# ---- 3. the state describes where the paint went ----------------------------------------------


@pytest.mark.parametrize("fix", ["answer", "asked"])
def test_3_after_an_insert_mid_run_then_a_fix_the_right_red_is_cleared(make, fix):
    shop = make([True, True, True])
    at_request(shop, CONFIRM, lambda m: m.insert_rows(CS, 2))  # the paint follows its rows down
    shop.run()
    assert {c[1] for c in shop.painted() if c[0] == CS} == {3, 4, 5}
    asked = shop.model.tab(CS).cell(4, ASKED)
    if fix == "answer":  # 客户1 answered in time after all
        shop.model.set_value(CS, 4, ANSWERED, asked + timedelta(minutes=2))
    else:  # the asked time was wrong: a key cell, so the row's key changes
        shop.model.set_value(CS, 4, ASKED, shop.model.tab(CS).cell(4, ANSWERED) - timedelta(minutes=2))
    shop.run()
    shop.check(settled=False)
    assert {c[1] for c in shop.painted() if c[0] == CS} == {3, 5}
    shop.settle()
    assert {c[1] for c in shop.painted() if c[0] == CS} == {3, 5}


# ---- 4. stray red left by rows moved between the confirming read and the write ----------------


@pytest.mark.parametrize("edit", [lambda m: m.insert_rows(CS, 2), lambda m: m.delete_rows(CS, 2),
                                  lambda m: m.sort_rows(CS, 2, reverse=True)], ids=["insert", "delete", "sort"])
def test_4_stray_red_from_rows_moved_during_the_write_is_repaired_next_run(make, edit):
    shop = make([True, False, True, False, False])
    at_request(shop, WRITE, edit)
    shop.run()  # the first misplacement cannot be avoided: no conditional write in the API
    shop.settle()
    shop.settle()


def test_4_an_oversell_note_on_an_inserted_empty_row_is_cleared(make, template):
    shop = make([False])
    inventory, promos = "库存", "推广确认单"
    shop.model.set_value(inventory, 2, 1, "LGD-S-300D")
    shop.model.set_value(inventory, 2, 3, 3)
    values = row_for(template, "promotions", name="双十一预热款", start=D(2026, 11, 30), end=D(2026, 12, 1),
                     skus="LGD-S-300D", declared_stock=5, author="周深", signer="莉莉", signed_at=D(2026, 11, 20))
    for col, value in enumerate(values, start=1):
        if value is not None:
            shop.model.set_value(promos, 2, col, value)
    at_request(shop, WRITE, lambda m: m.insert_rows(promos, 2))
    shop.run()
    assert (promos, 2, 7) in shop.painted()  # on the empty row that was inserted
    shop.settle()
    assert (promos, 2, 7) not in shop.painted() and (promos, 3, 7) in shop.painted()


# ---- 5. writes that are not idempotent are never resent blindly ------------------------------


@pytest.mark.parametrize("failure", [Failure(500, applied=True), Failure(503, applied=True), LOST],
                         ids=["500 applied", "503 applied", "answer lost"])
@pytest.mark.parametrize("in_use", [False, True], ids=["new sheet", "sheet in use"])
def test_5_a_write_applied_whose_answer_was_lost_is_not_sent_again(make, failure, in_use):
    shop = make([True, False])
    if in_use:
        shop.run()
        shop.model.set_value(CS, 3, ANSWERED, shop.model.tab(CS).cell(3, ASKED) + timedelta(minutes=40))
    shop.fake.inject_errors(failure, on="batchUpdate")
    report, error = shop.run()
    assert error is None, error  # the write happened: the run says so, it does not say "not changed"
    assert report.applied is not None and report.applied.written == report.changes.count()
    assert shop.fake.count("batchUpdate") == (2 if in_use else 1)
    assert len(shop.model.tab("运行记录").rows) == (3 if in_use else 2)
    shop.check(settled=True)
    shop.settle()


@pytest.mark.parametrize("failure", [500, 503, DROP, LOST, Failure(500, applied=True)],
                         ids=["500", "503", "drop", "lost", "500 applied"])
@pytest.mark.parametrize("position", [FIRST_READ, CONFIRM, WRITE])
def test_5_a_fault_at_any_request_is_reconciled_and_nothing_is_doubled(make, failure, position):
    shop = make([True, False, True])
    shop.run()
    shop.model.set_value(CS, 3, ANSWERED, shop.model.tab(CS).cell(3, ASKED) + timedelta(minutes=40))
    at_request(shop, position, lambda m: shop.fake.inject_errors(failure))
    report, error = shop.run()
    assert error is None, error  # reads are retried; a write is read back, and sent again only if it was not applied
    assert report.applied.written == report.changes.count()
    assert len(shop.model.tab("运行记录").rows) == 3
    shop.check(settled=True)
    shop.settle()


def test_5_a_write_that_keeps_failing_says_the_sheet_was_not_changed_and_the_next_run_completes(make):
    shop = make([True, False])
    shop.run()
    shop.model.set_value(CS, 3, ANSWERED, shop.model.tab(CS).cell(3, ASKED) + timedelta(minutes=40))
    shop.fake.fail_always(503, on="batchUpdate")
    _report, error = shop.run()  # check_message: "表格没有被修改" is only said of an unchanged sheet
    assert "表格没有被修改" in str(error)
    assert shop.fake.kinds()[-2:] == ["batchUpdate", "get"]  # every attempt was read back first
    shop.fake._always = None
    shop.settle()
    assert len(shop.model.tab("运行记录").rows) == 3


def test_5_a_write_that_cannot_be_confirmed_says_so_and_the_next_run_adds_nothing_twice(make):
    shop = make([True, False])
    shop.run()
    shop.model.set_value(CS, 3, ANSWERED, shop.model.tab(CS).cell(3, ASKED) + timedelta(minutes=40))
    shop.fake.inject_errors(LOST, on="batchUpdate")
    shop.fake.inject_errors(*[Failure(503)] * 7, on="get")  # and the read back fails, retries included
    _report, error = _run_after_first_read(shop)
    assert "无法确认这次修改是否已写入" in str(error) and "不会重复写入" in str(error)
    writes = shop.fake.count("batchUpdate")
    shop.settle()  # it was applied: the next run finds everything in place and writes nothing
    assert shop.fake.count("batchUpdate") == writes
    assert len(shop.model.tab("运行记录").rows) == 3


def _run_after_first_read(shop: Shop):
    """Hold the queued get failures back until the first read of the next run is served."""
    held = [f for f in shop.fake._failures if f[1] == "get"]
    shop.fake._failures[:] = [f for f in shop.fake._failures if f[1] != "get"]
    at_request(shop, CONFIRM + 1, lambda m: shop.fake._failures.extend(held))
    return shop.run()


# ---- all of it at once: a seeded, bounded random mix ------------------------------------------


def _random_edit(rng: random.Random, shop: Shop, marks: bool):
    def edit(m):
        rows = m.tab(CS).n_rows
        kind = rng.choice(["sort", "insert", "delete", "fix", "break", "mark"])
        if kind == "sort":
            m.sort_rows(CS, rng.choice([2, 5, 6]), reverse=rng.random() < 0.5)
        elif kind == "insert":
            m.insert_rows(CS, rng.randint(2, max(2, rows)))
        elif kind == "delete" and rows > 2:
            m.delete_rows(CS, rng.randint(2, rows))
        elif kind in ("fix", "break") and rows > 1:
            row = rng.randint(2, rows)
            asked = m.tab(CS).cell(row, ASKED)
            if isinstance(asked, datetime):
                m.set_value(CS, row, ANSWERED, asked + timedelta(minutes=2 if kind == "fix" else 45))
        elif kind == "mark" and marks and rows > 1:
            row = rng.randint(2, rows)
            if m.tab(CS).cell(row, 2) is not None and (row, ANSWERED) not in m.tab(CS).notes:
                shop.mark(row, ANSWERED)
    return edit


@pytest.mark.parametrize("seed", range(8))
def test_random_edits_between_requests_end_like_a_clean_two_run_reference(make, template, seed):
    rng = random.Random(seed)
    shop = make([rng.random() < 0.5 for _ in range(6)])
    for _ in range(3):
        positions = [rng.choice([FIRST_READ, CONFIRM, WRITE]) for _ in range(rng.randint(1, 3))]
        for position in positions:
            at_request(shop, position, _random_edit(rng, shop, marks=True))
        shop.run()
        if WRITE in positions:
            shop.forget_lost_marks()
        shop.check(settled=False, placed=False)
    shop.settle()
    shop.settle()
    final = shop.model.tab(CS)
    # the reference: the same rows and the person's marks, on a fresh sheet, run twice with nobody editing
    tabs = shop_tabs(template, [])
    tabs[CS] = [list(r) for r in final.rows]
    with start_fake_sheets(tabs) as clean:
        for cell, note in final.notes.items():
            if not note.startswith(NOTE_PREFIX):
                clean.model.set_fill(CS, *cell, final.fills.get(cell))
                clean.model.set_note(CS, *cell, note)
        for n in range(2):  # later the same Sunday: the week's misses are still to-dos until it is over
            run(clean.backend(), get_jobs(None), now=NOW + timedelta(hours=3, minutes=n))
        expected = clean.model.tab(CS)
    assert (final.fills, final.notes) == (expected.fills, expected.notes)


# ---- the same on an .xlsx file (a file saved by someone mid-run is refused there) --------------


def test_2_on_xlsx_deleting_a_red_row_keeps_the_red_of_the_late_row_moving_up(template, write_xlsx):
    import openpyxl

    from sheetsync.backends.xlsx import XlsxBackend

    path = write_xlsx(shop_tabs(template, [True, True, False, True]))
    run(XlsxBackend(path), get_jobs(None), now=NOW)
    wb = openpyxl.load_workbook(path)
    wb[CS].delete_rows(2)  # 客户0's red row; 客户1 (late too, the same note) moves up
    wb.save(path)
    run(XlsxBackend(path), get_jobs(None), now=NOW + timedelta(minutes=15))
    tab = XlsxBackend(path).read().tabs[CS]
    late = {r for r in range(2, tab.n_rows + 1) if tab.cell(r, ANSWERED) - tab.cell(r, ASKED) > timedelta(minutes=10)}
    assert {r for (r, c), fill in tab.fills.items() if c == ANSWERED and fill == MARK_FILL} == late == {2, 4}
    assert all(tab.notes[(r, ANSWERED)].startswith(NOTE_PREFIX) for r in late)
