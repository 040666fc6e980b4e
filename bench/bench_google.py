"""Requests and wall time of one run on Google Sheets: sheetsync against tutorial-style gspread code.

    python bench/bench_google.py                          # 1k, 10k, 100k rows per big tab
    python bench/bench_google.py --sizes 1000,10000 --naive-max-seconds 30

Both sides work on the same synthetic workbook (bench/synth.py: N rows of 客服台账 and N rows of
售后纠纷, ~10% of them bad, plus the demo shop's small tabs), each on a fresh fake Sheets v4
server on loopback (tests/fake_sheets) reached over HTTP by the real gspread/google-auth clients:

* sheetsync: one full ``engine.run`` of the default jobs (validate, reconcile-stock,
  weekly-summary) through ``GoogleBackend``; then a second run on the unchanged sheet, which
  must read once and write nothing.
* naive: what most gspread tutorials do, with a plain gspread client: ``get_all_values()`` on
  every tab, then for every cell sheetsync painted ``worksheet.format(a1, {"backgroundColor":
  ...})`` and ``worksheet.insert_note(a1, note)``, ``update_acell`` for every value sheetsync
  filled in (routing), and each job-owned tab written with ``add_worksheet`` + ``update``. The
  cells, notes and rows come from sheetsync's own change set, so both sides write the same
  things (the naive side does no validation at all: its time is I/O only). Afterwards each fake
  is checked to hold those fills, notes and values.

The naive per-cell calls run in a seeded random order; once they have used
``--naive-max-seconds``, the rest are not made: the cost of the cells handled so far is scaled
linearly to all of them, separately for painted and filled cells (so the request counts stay
exact), and the table marks such numbers with ``*``.

The fake runs in the measuring process and answers on loopback, so seconds here are the CPU time
of client and fake together, not Google's latency; the request counts are what carries over to
the real API, where each request also costs a network round trip and counts against the
per-minute quota. Each size runs in a fresh child process.
"""

from __future__ import annotations

import argparse
import gc
import logging
import random
import sys
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, time as clock_time
from itertools import groupby
from pathlib import Path
from typing import Any

import common  # first: puts the checkout on sys.path
from synth import generate

from sheetsync.engine import run
from sheetsync.core.model import ChangeSet, FillValue, Paint, column_letter
from sheetsync.registry import get_jobs
from sheetsync.core.template import Template
from sheetsync.templates import load_template

sys.path.insert(0, str(common.ROOT / "tests"))
from fake_sheets import FakeSheets, start_fake_sheets  # noqa: E402  (lives with the tests)

log = logging.getLogger(__name__)

SCRIPT = Path(__file__).resolve()
DEFAULT_SIZES = (1_000, 10_000, 100_000)
# Time the naive per-cell calls may take per size before the rest is extrapolated: enough to do
# every cell at 10k rows, while 100k rows (an hour and more, one request per format and per note)
# is sampled.
DEFAULT_NAIVE_SECONDS = 120.0
# Google's default per-user quota: 60 requests per minute (docs/google-sheets.md).
QUOTA_PER_MINUTE = 60
# The fake, in this process, takes tens of seconds to answer a read of a 100k-row workbook; the
# backend's default timeout (30 s) is meant for Google. A timeout would be retried and inflate the
# counts, so a run that retried at all is refused below.
TIMEOUT = 900
SHUFFLE_SEED = 20261122


@dataclass
class Side:
    """What one side of the comparison cost: API requests by kind (plus OAuth token requests
    under 'token') and wall time."""

    requests: dict[str, int]
    seconds: float
    kinds: list[str] = field(default_factory=list)  # API request kinds in order (sheetsync only)
    bytes_down: int = 0  # response bodies as sent (gzip when asked for)
    bytes_up: int = 0  # request bodies
    bytes_plain: int = 0  # response bodies before compression: what the same answers cost without gzip
    # resident-memory high-water mark of the run, MiB (the fake server runs in the same process and
    # holds the spreadsheet, so this is an upper bound of sheetsync's own)
    peak_mib: float | None = None

    @property
    def total(self) -> int:
        return sum(self.requests.values())


@dataclass
class Measurement:
    """One workbook size: both sides, and how much work they did."""

    size: int  # rows per big tab
    bad_rows: int  # rows synth planted a defect in
    painted: int  # cells sheetsync painted red (each with a note)
    filled: int  # empty cells sheetsync filled in (routing)
    sheetsync: Side
    again: Side  # sheetsync's second run on the unchanged sheet
    naive: Side
    naive_cells: int  # cells the naive side actually handled (fewer than painted + filled when sampled)

    @property
    def cells(self) -> int:
        return self.painted + self.filled

    @property
    def extrapolated(self) -> bool:
        return self.naive_cells < self.cells


# ---------------------------------------------------------------------------------------------
# sheetsync side


def _requests(fake: FakeSheets, since: int = 0, tokens_before: int = 0) -> Counter:
    counts = Counter(r.kind for r in fake.requests[since:])
    counts["token"] = fake.token_requests - tokens_before
    return counts


def _bytes(fake: FakeSheets, since: int = 0) -> tuple[int, int, int]:
    done = fake.requests[since:]
    return (sum(r.bytes_down for r in done), sum(r.bytes_up for r in done), sum(r.bytes_plain for r in done))


def run_sheetsync(tabs: dict[str, list[list[Any]]], now: datetime, template: Template) -> tuple[Side, Side, ChangeSet]:
    """One full run on a fresh fake, then a second one on the sheet as the first left it.
    The fake checks every request against the API's discovery document."""
    jobs = get_jobs(None)
    with start_fake_sheets(tabs) as fake:
        gc.collect()
        common.reset_peak()
        started = time.perf_counter()
        report = run(fake.backend(timeout=TIMEOUT), jobs, now=now, template=template)
        first = Side(dict(_requests(fake)), time.perf_counter() - started, fake.kinds(), *_bytes(fake),
                     peak_mib=common.peak_mib())
        _check_written(fake, [*report.changes.paints, *report.changes.fills], "sheetsync")
        seen, tokens = len(fake.requests), fake.token_requests
        gc.collect()
        common.reset_peak()
        started = time.perf_counter()
        again_report = run(fake.backend(timeout=TIMEOUT), jobs, now=now, template=template)
        again = Side(dict(_requests(fake, seen, tokens)), time.perf_counter() - started, fake.kinds()[seen:],
                     *_bytes(fake, seen), peak_mib=common.peak_mib())
        if fake.sleeps:
            raise RuntimeError(f"sheetsync retried {len(fake.sleeps)} request(s): the counts would not be one run's")
    if not again_report.changes.is_empty():
        raise RuntimeError(f"second run on an unchanged sheet wanted to write: {again_report.changes.describe()[:5]}")
    return first, again, report.changes


# ---------------------------------------------------------------------------------------------
# naive side: plain gspread, one call per cell, as the tutorials show


def _plain(value: Any) -> Any:
    """A value as tutorial code hands it to gspread (JSON: no dates, no None)."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, (date, clock_time)):
        return value.isoformat()
    return value


def _rgb(hex_colour: str) -> dict[str, float]:
    return {name: int(hex_colour[i:i + 2], 16) / 255 for name, i in (("red", 0), ("green", 2), ("blue", 4))}


def _owned_tabs(changes: ChangeSet) -> list[tuple[str, list[list[Any]]]]:
    """The job-owned tabs sheetsync writes, as (title, rows), for the naive side to write too."""
    out = [(t.tab, [list(r) for r in t.rows]) for t in changes.tabs]
    out += [(a.tab, [list(a.header), *(list(r) for r in a.rows)]) for a in changes.appends]
    return out


@dataclass
class _Tally:
    """The naive per-cell calls made for one kind of op (painted or filled cells)."""

    total: int  # ops of this kind in the change set
    done: int = 0
    seconds: float = 0.0
    requests: Counter = field(default_factory=Counter)

    def scaled(self) -> tuple[Counter, float]:
        """Requests and seconds for all ``total`` ops, from the ``done`` ones."""
        factor = self.total / self.done  # _cell_calls tries every kind at least once
        return Counter({k: round(n * factor) for k, n in self.requests.items()}), self.seconds * factor


def _cell_calls(fake: FakeSheets, sheets: dict[str, Any], ops: list[Paint | FillValue],
                budget: float | None) -> tuple[dict[type, _Tally], list[Paint | FillValue]]:
    """One format + one note call per painted cell, one update_acell per filled cell, in a
    seeded random order (so the cells done when the time budget runs out are a fair sample of
    tabs and columns), until every op is done or the budget is used and each kind was tried."""
    tallies = {kind: _Tally(n) for kind, n in Counter(type(op) for op in ops).items()}
    order = list(ops)
    random.Random(SHUFFLE_SEED).shuffle(order)
    done: list[Paint | FillValue] = []
    started = time.perf_counter()
    for op in order:
        out_of_time = budget is not None and time.perf_counter() - started > budget
        if out_of_time and all(t.done for t in tallies.values()):
            break
        ws, a1 = sheets[op.tab], f"{column_letter(op.col)}{op.row}"
        before, op_started = len(fake.requests), time.perf_counter()
        if isinstance(op, Paint):
            ws.format(a1, {"backgroundColor": _rgb(op.fill)})
            ws.insert_note(a1, op.note)
        else:
            ws.update_acell(a1, _plain(op.value))
        tally = tallies[type(op)]
        tally.done += 1
        tally.seconds += time.perf_counter() - op_started
        tally.requests.update(r.kind for r in fake.requests[before:])
        done.append(op)
    return tallies, done


def run_naive(tabs: dict[str, list[list[Any]]], changes: ChangeSet, budget: float | None) -> tuple[Side, int]:
    """The same writes as ``changes``, tutorial style, on a fresh fake that lets the deprecated
    ``backgroundColor`` through. Returns the cost (scaled to every cell when the budget ran out)
    and the number of cells actually handled."""
    with start_fake_sheets(tabs, reject_deprecated=False, check=False) as fake:
        gc.collect()
        started = time.perf_counter()
        spreadsheet = fake.gspread_client().open_by_key(fake.spreadsheet_id)
        sheets = {ws.title: ws for ws in spreadsheet.worksheets()}
        for title in tabs:
            sheets[title].get_all_values()
        tallies, done = _cell_calls(fake, sheets, [*changes.paints, *changes.fills], budget)
        for title, rows in _owned_tabs(changes):
            width = max((len(r) for r in rows), default=1)
            ws = spreadsheet.add_worksheet(title, rows=max(len(rows), 1), cols=width)
            ws.update([[_plain(v) for v in r] for r in rows], "A1")
        seconds = time.perf_counter() - started
        requests = _requests(fake)
        traffic = _bytes(fake)
        _check_written(fake, done, "naive")
    for tally in tallies.values():  # replace what was measured by what all the cells would cost
        all_requests, all_seconds = tally.scaled()
        requests += all_requests
        requests -= tally.requests
        seconds += all_seconds - tally.seconds
    return Side(dict(requests), seconds, [], *traffic), len(done)


def _check_written(fake: FakeSheets, ops: list[Paint | FillValue], side: str) -> None:
    """Each side must have done the work it is measured on: every painted cell has a fill and
    sheetsync's note, every filled cell a value."""
    wrong = []
    for op in ops:
        cell = fake.model.sheet(op.tab).cells.get((op.row - 1, op.col - 1), {})
        if isinstance(op, Paint):
            ok = "backgroundColorStyle" in cell.get("userEnteredFormat", {}) and cell.get("note") == op.note
        else:
            ok = "userEnteredValue" in cell
        if not ok:
            wrong.append(f"{op.tab}!{column_letter(op.col)}{op.row}")
    if wrong:
        raise RuntimeError(f"{side}: {len(wrong)} cell(s) not written as planned, e.g. {wrong[:5]}")


# ---------------------------------------------------------------------------------------------


def measure(size: int, *, seed: int = 0, naive_max_seconds: float | None = DEFAULT_NAIVE_SECONDS) -> Measurement:
    """Both sides on one synthetic workbook of ``size`` rows per big tab."""
    template = load_template("zh-CN")
    data = generate(size, seed=seed, template=template)
    log.info("%d rows per big tab: sheetsync", size)
    first, again, changes = run_sheetsync(data.tabs, data.now, template)
    if naive_max_seconds is not None and naive_max_seconds < 0:  # --no-naive
        naive, handled = Side({}, 0.0), 0
    else:
        log.info("%d rows per big tab: naive (%d cells)", size, len(changes.paints) + len(changes.fills))
        naive, handled = run_naive(data.tabs, changes, naive_max_seconds)
    return Measurement(size=size, bad_rows=sum(len(d) for d in data.defects.values()), painted=len(changes.paints),
                       filled=len(changes.fills), sheetsync=first, again=again, naive=naive, naive_cells=handled)


def _from_json(data: dict[str, Any]) -> Measurement:
    sides = {k: Side(**data.pop(k)) for k in ("sheetsync", "again", "naive")}
    return Measurement(**data, **sides)


# ---------------------------------------------------------------------------------------------
# parent: one child per size, then the tables


def _fmt_rows(n: int) -> str:
    return f"{n // 1000}k" if n % 1000 == 0 else str(n)


def _fmt_seconds(s: float) -> str:
    return f"{s:.2f}" if s < 10 else f"{s:.1f}" if s < 100 else f"{s:,.0f}"


def _by_kind(side: Side) -> str:
    order = ["token", "get", "values.get", "batchUpdate", "values.update"]
    kinds = sorted(side.requests, key=lambda k: (order.index(k) if k in order else len(order), k))
    return ", ".join(f"{k} {side.requests[k]:,}" for k in kinds if side.requests[k])


def _sequence(kinds: list[str]) -> str:
    """'get get batchUpdate×4': the order requests were made in, repeats folded."""
    parts = []
    for kind, run_ in groupby(kinds):
        n = len(list(run_))
        parts.append(f"{kind}×{n}" if n > 2 else " ".join([kind] * n))
    return " ".join(parts)


# Targets of issue 12: a first run at 100k rows in at most this many requests (the OAuth token
# included); an idle run downloads at most this share of what the same read cost before sheetsync
# asked for gzip (the fields mask of the read is unchanged, so "before" is the uncompressed answer).
FIRST_RUN_REQUEST_TARGET = 10
IDLE_BYTES_SHARE = 0.10


def _mb(n: int) -> str:
    return f"{n / 1e6:,.1f}" if n >= 1e5 else f"{n / 1e6:,.2f}"


def _mib(value: float | None) -> str:
    return "?" if value is None else f"{value:,.0f}"


def render_bytes(results: list[Measurement]) -> str:
    """Requests and bytes of sheetsync's own runs, and the targets."""
    headers = ["rows per big tab", "run 1 requests (+ token)", "run 1 MB down", "run 1 MB up",
               "idle run requests", "idle MB down", "idle MB down without gzip (before)", "idle share", "run 1 s",
               "idle s", "peak RSS MiB run 1 / idle (fake server included)"]
    rows, verdicts = [], ["| target | measured | verdict |", "|---|---|---|"]
    for m in results:
        first, idle = m.sheetsync, m.again
        api_first = first.total - first.requests.get("token", 0)
        share = idle.bytes_down / idle.bytes_plain if idle.bytes_plain else float("nan")
        rows.append([_fmt_rows(m.size), f"{api_first} (+{first.requests.get('token', 0)})", _mb(first.bytes_down),
                     _mb(first.bytes_up), idle.total - idle.requests.get("token", 0), _mb(idle.bytes_down),
                     _mb(idle.bytes_plain), f"{share:.1%}", _fmt_seconds(first.seconds), _fmt_seconds(idle.seconds),
                     f"{_mib(first.peak_mib)} / {_mib(idle.peak_mib)}"])
        verdicts.append(f"| idle run ≤ {IDLE_BYTES_SHARE:.0%} of today's bytes, {_fmt_rows(m.size)} | {share:.1%} "
                        f"({_mb(idle.bytes_down)} of {_mb(idle.bytes_plain)} MB) | "
                        f"{'met' if share <= IDLE_BYTES_SHARE else 'not met'} |")
        if m.size >= 100_000:
            verdicts.append(f"| first run ≤ {FIRST_RUN_REQUEST_TARGET} requests, {_fmt_rows(m.size)} | {first.total} "
                            f"(token included) | {'met' if first.total <= FIRST_RUN_REQUEST_TARGET else 'not met'} |")
    return "\n".join([common.table(headers, rows), "", *verdicts])


def render(results: list[Measurement]) -> str:
    headers = ["rows per big tab", "bad cells", "sheetsync requests", "sheetsync s", "naive requests", "naive s",
               "ratio requests", "ratio time", f"naive min at {QUOTA_PER_MINUTE}/min", "2nd run requests", "2nd run s"]
    rows, notes = [], []
    for m in results:
        star = "*" if m.extrapolated else ""
        rows.append([_fmt_rows(m.size), f"{m.painted:,}", m.sheetsync.total, _fmt_seconds(m.sheetsync.seconds),
                     f"{star}{m.naive.total:,}", star + _fmt_seconds(m.naive.seconds),
                     f"{star}{m.naive.total / m.sheetsync.total:,.0f}×",
                     f"{star}{m.naive.seconds / m.sheetsync.seconds:,.1f}×",
                     f"{star}{m.naive.total / QUOTA_PER_MINUTE:,.0f}", m.again.total,
                     _fmt_seconds(m.again.seconds)])
        if m.extrapolated:
            notes.append(f"* {_fmt_rows(m.size)}: the naive side made the per-cell calls for {m.naive_cells:,} of "
                         f"{m.cells:,} cells (random sample, time budget); their requests and seconds are scaled "
                         f"linearly to all cells, per kind of cell.")
    out = [common.table(headers, rows), *notes, "", "Requests by kind (token = OAuth token requests):"]
    for m in results:
        out.append(f"  {_fmt_rows(m.size)}: {m.cells:,} cells to write ({m.painted:,} painted + {m.filled:,} filled), "
                   f"{m.bad_rows:,} bad rows planted")
        out.append(f"    sheetsync run 1: {_by_kind(m.sheetsync)}  (in order: {_sequence(m.sheetsync.kinds)})")
        out.append(f"    sheetsync run 2: {_by_kind(m.again)}  (in order: {_sequence(m.again.kinds)})")
        out.append(f"    naive: {_by_kind(m.naive)}")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = common.sizes_parser(__doc__, DEFAULT_SIZES)
    parser.add_argument("--naive-max-seconds", type=float, default=DEFAULT_NAIVE_SECONDS,
                        help="time the naive per-cell calls may take per size before the rest is extrapolated "
                             "(default: %(default)g; 0 = no limit)")
    parser.add_argument("--no-naive", action="store_true", help="only sheetsync's own runs (requests and bytes)")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--size", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    if args.child:
        common.emit(asdict(measure(args.size, seed=args.seed, naive_max_seconds=args.naive_max_seconds or None)))
        return 0
    results = []
    for size in (int(s) for s in args.sizes.split(",") if s.strip()):
        print(f"{_fmt_rows(size)} rows per big tab...", file=sys.stderr, flush=True)
        budget = -1 if args.no_naive else args.naive_max_seconds
        child_args = ["--size", str(size), "--seed", str(args.seed), "--naive-max-seconds", str(budget)]
        results.append(_from_json(common.run_child(SCRIPT, child_args)))
    print(common.machine_info("gspread", "google-auth", "requests"))
    if not args.no_naive:
        print(render(results))
        print()
    print(render_bytes(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
