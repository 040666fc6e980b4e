"""Validation throughput: sheetsync's pure check pipeline against frictionless and pandera on the same data.

    python bench/bench_validate.py                      # 10k, 100k, 1M rows per big tab
    python bench/bench_validate.py --sizes 10000,100000 --rules formula

Every side gets the same synthetic workbook (bench/synth.py: N rows of 客服台账 and N rows of
售后纠纷, ~10% of them bad, plus the demo shop's small tabs) in memory, in the form it takes,
and checks the same constraints:

* sheetsync: bind (find headers, parse every cell) + the validate and reconcile-stock jobs, on
  a Snapshot in memory — no file I/O. The tabs are what the xlsx reader hands over: one object
  array per column with repeated texts interned, built by the reader's own ``tab_columns``. They
  are built in a separate process and loaded from a temporary file, so the rows they were made
  from never share the measured process's memory (the reader never holds rows either).
* pandera: the same columns, turned into one DataFrame per tab inside its timed region.
* frictionless: one Table Schema per tab derived from the same template (types, required,
  enum, minimum, unique) plus one row check per cross-field rule it can express
  (bench/frictionless_rules.py says which it cannot, and why).

Each side runs in a fresh child process per size (so memory peaks do not mix), after a small
warm-up run in the same process; the timed region starts with the rows already in memory.
When frictionless would need more than ``--frictionless-max-rows`` rows per tab, it is timed on
the first rows of the same data and scaled linearly; the table marks such cells with "~".
"""

from __future__ import annotations

import argparse
import gc
import logging
import pickle
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import common  # first: puts the checkout on sys.path
from synth import CS_TITLE, DISPUTES_TITLE, generate

from sheetsync.backends.xlsx_read import tab_columns
from sheetsync.engine import load
from sheetsync.core.job import JobContext
from sheetsync.core.model import Snapshot, TabData
from sheetsync.registry import get_jobs
from sheetsync.core.settings import settings_from_rows
from sheetsync.core.template import Template
from sheetsync.templates import load_template

SCRIPT = Path(__file__).resolve()
DEFAULT_SIZES = (10_000, 100_000, 1_000_000)
BIG_TABS = (CS_TITLE, DISPUTES_TITLE)
WARM_UP_ROWS = 500
TARGET = 20.0


# ---------------------------------------------------------------------------------------------
# sheetsync side


def sheetsync_checks(snapshot: Snapshot, template: Template, now) -> list:
    """What `sheetsync check` computes after reading: bind + validate + reconcile-stock."""
    loaded = load(snapshot, template, now)
    ctx = JobContext(loaded.workbook, loaded.settings, loaded.state, loaded.now, {})
    findings = []
    for job in get_jobs(["validate", "reconcile-stock"]):
        findings.extend(job.compute(ctx).findings)
    return findings


Columns = dict[str, tuple[list[Any], int]]  # tab title -> (one object array per column, rows)


def _columns(tabs: dict[str, list[list[Any]]]) -> Columns:
    """The tabs as the xlsx reader hands them over (its own helper, on the generated rows)."""
    return {title: tab_columns(rows) for title, rows in tabs.items()}


def _snapshot(tabs: Columns) -> Snapshot:
    # cell_errors=False: what the reader says of a sheet without error cells (synth writes none)
    return Snapshot({title: TabData.from_columns(title, columns, n, cell_errors=False)
                     for title, (columns, n) in tabs.items()}, "synthetic")


def child_prepare(size: int, seed: int, bad_share: float, path: str) -> dict[str, Any]:
    """Generate the workbook, turn it into columns and store them in ``path`` (each column
    pickled on its own, so one column's repeated texts stay one object each when loaded)."""
    data = generate(size, seed=seed, template=load_template("zh-CN"), bad_share=bad_share)
    tabs = _columns(data.tabs)
    with open(path, "wb") as f:
        pickle.dump((data.now, [(title, n, len(columns)) for title, (columns, n) in tabs.items()]), f)
        for columns, _n in tabs.values():
            for column in columns:
                pickle.dump(column, f, protocol=pickle.HIGHEST_PROTOCOL)
    return {"tabs": len(tabs)}


def _load(path: str) -> tuple[Any, Columns]:
    with open(path, "rb") as f:
        now, shapes = pickle.load(f)
        return now, {title: ([pickle.load(f) for _ in range(width)], n) for title, n, width in shapes}


def child_sheetsync(size: int, seed: int, bad_share: float, path: str) -> dict[str, Any]:
    template = load_template("zh-CN")
    warm = generate(WARM_UP_ROWS, seed=seed + 1, template=template)
    sheetsync_checks(_snapshot(_columns(warm.tabs)), template, warm.now)
    del warm
    now, tabs = _load(path)
    snapshot = _snapshot(tabs)
    del tabs
    gc.collect()
    base = common.rss_mib()
    exact_peak = common.reset_peak()
    started = time.perf_counter()
    findings = sheetsync_checks(snapshot, template, now)
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "findings": len(findings), "peak_mib": common.peak_mib(), "base_mib": base,
            "exact_peak": exact_peak, "by_kind": dict(Counter(f.code for f in findings))}


# ---------------------------------------------------------------------------------------------
# frictionless side


def frictionless_validate(tabs: dict[str, list[list[Any]]], template: Template, now, mode: str) -> dict[str, Any]:
    """Validate every template tab present in ``tabs``; per-tab seconds and errors."""
    from frictionless_rules import checklist, formulas, resource  # not loaded in the sheetsync child

    settings_title = template.tabs["settings"].title
    settings = settings_from_rows(tabs[settings_title], specs=template.settings, tab_title=settings_title,
                                  year=now.year)
    members: dict[str, list[str]] = {}
    for row in tabs[template.tabs["members"].title][1:]:
        if row and row[0]:
            members.setdefault(str(row[1]).strip(), []).append(str(row[0]).strip())
    specs = formulas(template, settings, members)
    seconds: dict[str, float] = {}
    counts: dict[str, int] = {}
    kinds: Counter = Counter()
    for tab in template.tabs.values():
        rows = tabs.get(tab.title)
        if rows is None:
            continue
        started = time.perf_counter()
        report = resource(tab, rows).validate(checklist(tab, specs, mode), limit_errors=0)
        seconds[tab.title] = time.perf_counter() - started
        errors = [e for task in report.tasks for e in task.errors]
        counts[tab.title] = len(errors)
        kinds.update(e.type for e in errors)
    return {"seconds": seconds, "errors": counts, "by_kind": dict(kinds)}


def child_frictionless(size: int, seed: int, mode: str, limit: int, bad_share: float) -> dict[str, Any]:
    template = load_template("zh-CN")
    warm = generate(WARM_UP_ROWS, seed=seed + 1, template=template)
    frictionless_validate(warm.tabs, template, warm.now, mode)
    data = generate(size, seed=seed, template=template, bad_share=bad_share)
    measured = min(size, limit)
    now = data.now
    tabs = {t: (rows[:measured + 1] if t in BIG_TABS else rows) for t, rows in data.tabs.items()}
    del data  # only the measured rows stay in memory
    gc.collect()
    base = common.rss_mib()
    exact_peak = common.reset_peak()
    started = time.perf_counter()
    result = frictionless_validate(tabs, template, now, mode)
    total = time.perf_counter() - started
    scale = size / measured
    big_seconds = sum(s for t, s in result["seconds"].items() if t in BIG_TABS)
    big_errors = sum(n for t, n in result["errors"].items() if t in BIG_TABS)
    return {"seconds": total + big_seconds * (scale - 1), "errors": round(sum(result["errors"].values())
            + big_errors * (scale - 1)), "measured_rows": measured, "measured_seconds": total,
            "extrapolated": measured < size, "peak_mib": common.peak_mib(), "base_mib": base,
            "exact_peak": exact_peak, "by_kind": result["by_kind"]}


# ---------------------------------------------------------------------------------------------
# pandera side


def _rows(tab: tuple[list[Any], int]) -> list[list[Any]]:
    """A small tab's rows (成员, 设置), from its columns."""
    return TabData.from_columns("", *tab).rows


def _members(tabs: Columns, template: Template) -> dict[str, list[str]]:
    members: dict[str, list[str]] = {}
    for row in _rows(tabs[template.tabs["members"].title])[1:]:
        if row and row[0]:
            members.setdefault(str(row[1]).strip(), []).append(str(row[0]).strip())
    return members


def pandera_validate(tabs: Columns, template: Template, now) -> dict[str, Any]:
    """One DataFrameSchema per tab (bench/pandera_rules.py), validated lazily; failure cases."""
    import pandera_rules  # not loaded in the other children

    settings_title = template.tabs["settings"].title
    settings = settings_from_rows(_rows(tabs[settings_title]), specs=template.settings, tab_title=settings_title,
                                  year=now.year)
    checks = pandera_rules.cross_field(template, settings, _members(tabs, template))
    counts = {}
    for tab in template.tabs.values():
        columns = tabs.get(tab.title)
        if columns is not None:
            counts[tab.title] = pandera_rules.validate(tab, *columns, checks)
    return {"errors": counts}


def child_pandera(size: int, seed: int, bad_share: float, path: str) -> dict[str, Any]:
    template = load_template("zh-CN")
    warm = generate(WARM_UP_ROWS, seed=seed + 1, template=template)
    pandera_validate(_columns(warm.tabs), template, warm.now)
    del warm
    now, tabs = _load(path)
    gc.collect()
    base = common.rss_mib()
    exact_peak = common.reset_peak()
    started = time.perf_counter()
    result = pandera_validate(tabs, template, now)
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "errors": sum(result["errors"].values()), "peak_mib": common.peak_mib(),
            "base_mib": base, "exact_peak": exact_peak}


# ---------------------------------------------------------------------------------------------
# parent


def _fmt_rows(n: int) -> str:
    return f"{n // 1_000_000}M" if n % 1_000_000 == 0 else f"{n // 1000}k" if n % 1000 == 0 else str(n)


DATASETS = {"clean": 0.10, "messy": 0.50}  # share of bad rows: clean-ish (synth's default) and messy


def measure(sizes: list[int], seed: int, mode: str, limit: int, datasets: list[str],
            sides: list[str]) -> list[dict[str, Any]]:
    with tempfile.TemporaryDirectory(prefix="bench_validate_") as folder:
        return _measure(sizes, seed, mode, limit, datasets, sides, Path(folder))


def _measure(sizes: list[int], seed: int, mode: str, limit: int, datasets: list[str],
             sides: list[str], folder: Path) -> list[dict[str, Any]]:
    results = []
    for name in datasets:
        share = str(DATASETS[name])
        for size in sizes:
            common_args = ["--size", str(size), "--seed", str(seed), "--bad-share", share]
            result: dict[str, Any] = {"size": size, "data": name}
            columns = folder / f"{name}-{size}.pickle"
            print(f"{name} {_fmt_rows(size)} rows per tab: columns...", file=sys.stderr, flush=True)
            common.run_child(SCRIPT, ["prepare", *common_args, "--columns", str(columns)])
            print(f"{name} {_fmt_rows(size)}: sheetsync...", file=sys.stderr, flush=True)
            result["sheetsync"] = common.run_child(SCRIPT, ["sheetsync", *common_args, "--columns", str(columns)])
            if "frictionless" in sides:
                print(f"{name} {_fmt_rows(size)}: frictionless ({mode})...", file=sys.stderr, flush=True)
                result["frictionless"] = common.run_child(SCRIPT, ["frictionless", *common_args, "--rules", mode,
                                                                   "--frictionless-max-rows", str(limit)])
            if "pandera" in sides:
                print(f"{name} {_fmt_rows(size)}: pandera...", file=sys.stderr, flush=True)
                result["pandera"] = common.run_child(SCRIPT, ["pandera", *common_args, "--columns", str(columns)])
            columns.unlink()
            results.append(result)
    return results


def _ratio(other: dict[str, Any] | None, ours: dict[str, Any]) -> str:
    if other is None:
        return "-"
    mark = "~" if other.get("extrapolated") else ""
    return f"{mark}{other['seconds'] / ours['seconds']:.1f}×"


def _secs(other: dict[str, Any] | None) -> str:
    if other is None:
        return "-"
    return ("~" if other.get("extrapolated") else "") + common.fmt_seconds(other["seconds"])


def render(results: list[dict[str, Any]], mode: str) -> str:
    headers = ["data", "rows per tab", "cells", "sheetsync s", "µs per row", "frictionless s", "frictionless / sheetsync",
               "pandera s", "pandera / sheetsync", "sheetsync peak MiB (+ over loaded rows)", "peak bytes per cell",
               "sheetsync findings", "frictionless errors", "pandera failures"]
    rows = []
    notes = []
    for r in results:
        ours = r["sheetsync"]
        theirs, pandera = r.get("frictionless"), r.get("pandera")
        if theirs is not None and theirs["extrapolated"]:
            notes.append(f"~ {r['data']} {_fmt_rows(r['size'])}: frictionless timed on the first "
                         f"{theirs['measured_rows']:,} rows of each big tab "
                         f"({common.fmt_seconds(theirs['measured_seconds'])} s) and scaled linearly.")
        cells = r["size"] * CELLS_PER_ROW
        peak = f"{ours['peak_mib']:.0f} (+{ours['peak_mib'] - ours['base_mib']:.0f})"
        rows.append([r["data"], _fmt_rows(r["size"]), f"{cells:,}", common.fmt_seconds(ours["seconds"]),
                     f"{ours['seconds'] / (2 * r['size']) * 1e6:.1f}", _secs(theirs), _ratio(theirs, ours),
                     _secs(pandera), _ratio(pandera, ours), peak, f"{ours['peak_mib'] * 2**20 / cells:.0f}",
                     f"{ours['findings']:,}", "-" if theirs is None else f"{theirs['errors']:,}",
                     "-" if pandera is None else f"{pandera['errors']:,}"])
    out = [common.table(headers, rows)]
    out += notes
    out.append(f"frictionless row checks: {mode}. Cells: rows per tab × {CELLS_PER_ROW} (the columns of the "
               "two big tabs). µs per row: sheetsync's time over the rows of both big tabs.")
    out.append("")
    out.append(verdicts(results))
    return "\n".join(out)


CELLS_PER_ROW = 22  # 客服台账 has 10 columns, 售后纠纷 12


def verdicts(results: list[dict[str, Any]]) -> str:
    """The targets of the validation benchmark, each met or not, from this run's numbers."""
    lines = ["| target | measured | verdict |", "|---|---|---|"]
    biggest = max(r["size"] for r in results)
    at = _fmt_rows(biggest)
    note = "" if biggest == 1_000_000 else f" (measured at {at}; the target is stated for 1M rows)"
    for r in results:
        if r["size"] != biggest:
            continue
        ours = r["sheetsync"]
        for side, target in (("frictionless", TARGET), ("pandera", PANDERA_TARGET)):
            other = r.get(side)
            if other is None:
                continue
            ratio = other["seconds"] / ours["seconds"]
            lines.append(f"| ≥ {target:g}× faster than {side}, {r['data']}, {at} rows{note} | {_ratio(other, ours)} | "
                         f"{'met' if ratio >= target else 'not met'} |")
        cells = r["size"] * CELLS_PER_ROW
        gib = ours["peak_mib"] / 1024
        verdict = ("met" if gib < MEMORY_TARGET_GIB else "not met") if cells >= 22_000_000 else "not measured (1M rows)"
        lines.append(f"| peak memory under {MEMORY_TARGET_GIB:g} GiB at 22 M cells, {r['data']} | "
                     f"{gib:.2f} GiB at {cells / 1e6:.1f} M cells (+{(ours['peak_mib'] - ours['base_mib']) / 1024:.2f} "
                     f"GiB over the rows in memory) | {verdict} |")
    messy = sorted((r for r in results if r["data"] == "messy"), key=lambda r: r["size"])
    if len(messy) >= 2:
        small, large = messy[0], messy[-1]
        per_small = small["sheetsync"]["seconds"] / small["size"]
        per_large = large["sheetsync"]["seconds"] / large["size"]
        growth = per_large / per_small
        lines.append(f"| time linear in rows on the messy sheet ({_fmt_rows(small['size'])} → {_fmt_rows(large['size'])}: "
                     f"time per row grows at most {LINEAR_SLACK:g}×) | {growth:.2f}× | "
                     f"{'met' if growth <= LINEAR_SLACK else 'not met'} |")
    return "\n".join(lines)


PANDERA_TARGET = 2.0
MEMORY_TARGET_GIB = 1.2
LINEAR_SLACK = 1.5


def breakdown(result: dict[str, Any]) -> str:
    """What each side counted, by reason code / error type (the smallest size)."""
    ours = sorted(result["sheetsync"]["by_kind"].items(), key=lambda kv: -kv[1])
    lines = [f"Counts at {_fmt_rows(result['size'])} rows per tab, {result['data']} (as measured):",
             "  sheetsync: " + ", ".join(f"{k} {v}" for k, v in ours)]
    if "frictionless" in result:
        theirs = sorted(result["frictionless"]["by_kind"].items(), key=lambda kv: -kv[1])
        lines.append("  frictionless: " + ", ".join(f"{k} {v}" for k, v in theirs))
    if "pandera" in result:
        lines.append(f"  pandera: {result['pandera']['errors']:,} failing cells and rows")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = common.sizes_parser(__doc__, DEFAULT_SIZES)
    parser.add_argument("--rules", choices=("python", "formula", "schema"), default="python",
                        help="frictionless row checks: python = the formulas compiled once (fastest, default); "
                             "formula = frictionless's own row_constraint (simpleeval); schema = Table Schema only")
    parser.add_argument("--frictionless-max-rows", type=int, default=1_000_000,
                        help="time frictionless on at most this many rows per big tab and scale up (default: %(default)s)")
    parser.add_argument("--breakdown", action="store_true", help="also print the counts by reason / error type")
    parser.add_argument("--data", default="clean,messy",
                        help="clean (10%% bad rows) and/or messy (half the rows bad); default: %(default)s")
    parser.add_argument("--sides", default="frictionless,pandera", help="what sheetsync is compared with")
    parser.add_argument("--child", choices=("prepare", "sheetsync", "frictionless", "pandera"), help=argparse.SUPPRESS)
    parser.add_argument("--columns", help=argparse.SUPPRESS)
    parser.add_argument("--size", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--bad-share", type=float, default=DATASETS["clean"], help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    if args.child == "prepare":
        common.emit(child_prepare(args.size, args.seed, args.bad_share, args.columns))
        return 0
    if args.child == "sheetsync":
        common.emit(child_sheetsync(args.size, args.seed, args.bad_share, args.columns))
        return 0
    if args.child == "frictionless":
        common.emit(child_frictionless(args.size, args.seed, args.rules, args.frictionless_max_rows, args.bad_share))
        return 0
    if args.child == "pandera":
        common.emit(child_pandera(args.size, args.seed, args.bad_share, args.columns))
        return 0
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    datasets = [d.strip() for d in args.data.split(",") if d.strip()]
    sides = [d.strip() for d in args.sides.split(",") if d.strip()]
    results = measure(sizes, args.seed, args.rules, args.frictionless_max_rows, datasets, sides)
    print(common.machine_info("pandas", "numpy", "openpyxl", "frictionless", "pandera"))
    print(render(results, args.rules))
    if args.breakdown:
        print(breakdown(results[0]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
