"""Validation throughput: sheetsync's pure check pipeline against frictionless on the same rows.

    python bench/bench_validate.py                      # 10k, 100k, 1M rows per big tab
    python bench/bench_validate.py --sizes 10000,100000 --rules formula

Both sides get the same synthetic workbook (bench/synth.py: N rows of 客服台账 and N rows of
售后纠纷, ~10% of them bad, plus the demo shop's small tabs) as in-memory rows, the way a
backend hands them over, and check the same constraints:

* sheetsync: bind (find headers, parse every cell) + the validate and reconcile-stock jobs, on
  a Snapshot in memory — no file I/O.
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
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import common  # first: puts the checkout on sys.path
from synth import CS_TITLE, DISPUTES_TITLE, generate

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


def _snapshot(tabs: dict[str, list[list[Any]]]) -> Snapshot:
    return Snapshot({title: TabData(title, rows) for title, rows in tabs.items()}, "synthetic")


def child_sheetsync(size: int, seed: int) -> dict[str, Any]:
    template = load_template("zh-CN")
    warm = generate(WARM_UP_ROWS, seed=seed + 1, template=template)
    sheetsync_checks(_snapshot(warm.tabs), template, warm.now)
    data = generate(size, seed=seed, template=template)
    snapshot = _snapshot(data.tabs)
    gc.collect()
    base = common.rss_mib()
    exact_peak = common.reset_peak()
    started = time.perf_counter()
    findings = sheetsync_checks(snapshot, template, data.now)
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


def child_frictionless(size: int, seed: int, mode: str, limit: int) -> dict[str, Any]:
    template = load_template("zh-CN")
    warm = generate(WARM_UP_ROWS, seed=seed + 1, template=template)
    frictionless_validate(warm.tabs, template, warm.now, mode)
    data = generate(size, seed=seed, template=template)
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
# parent


def _fmt_rows(n: int) -> str:
    return f"{n // 1_000_000}M" if n % 1_000_000 == 0 else f"{n // 1000}k" if n % 1000 == 0 else str(n)


def measure(sizes: list[int], seed: int, mode: str, limit: int) -> list[dict[str, Any]]:
    results = []
    for size in sizes:
        print(f"{_fmt_rows(size)} rows per tab: sheetsync...", file=sys.stderr, flush=True)
        ours = common.run_child(SCRIPT, ["sheetsync", "--size", str(size), "--seed", str(seed)])
        print(f"{_fmt_rows(size)} rows per tab: frictionless ({mode})...", file=sys.stderr, flush=True)
        theirs = common.run_child(SCRIPT, ["frictionless", "--size", str(size), "--seed", str(seed),
                                           "--rules", mode, "--frictionless-max-rows", str(limit)])
        results.append({"size": size, "sheetsync": ours, "frictionless": theirs})
    return results


def render(results: list[dict[str, Any]], mode: str) -> str:
    headers = ["rows per tab", "rows checked", "sheetsync s", "frictionless s", "frictionless / sheetsync",
               "sheetsync peak MiB (+ over loaded rows)", "sheetsync findings", "frictionless errors"]
    rows = []
    notes = []
    for r in results:
        ours, theirs = r["sheetsync"], r["frictionless"]
        mark = "~" if theirs["extrapolated"] else ""
        if theirs["extrapolated"]:
            notes.append(f"~ {_fmt_rows(r['size'])}: frictionless timed on the first {theirs['measured_rows']:,} rows "
                         f"of each big tab ({common.fmt_seconds(theirs['measured_seconds'])} s) and scaled linearly.")
        ratio = theirs["seconds"] / ours["seconds"]
        peak = f"{ours['peak_mib']:.0f} (+{ours['peak_mib'] - ours['base_mib']:.0f})"
        rows.append([_fmt_rows(r["size"]), f"{2 * r['size']:,}", common.fmt_seconds(ours["seconds"]),
                     mark + common.fmt_seconds(theirs["seconds"]), f"{mark}{ratio:.1f}×", peak,
                     f"{ours['findings']:,}", f"{mark}{theirs['errors']:,}"])
    out = [common.table(headers, rows)]
    out += notes
    out.append(f"frictionless row checks: {mode}. Target: frictionless / sheetsync ≥ {TARGET:g}× at 1M rows.")
    last = results[-1]
    ratio = last["frictionless"]["seconds"] / last["sheetsync"]["seconds"]
    verdict = "met" if ratio >= TARGET else "NOT met"
    estimated = " (frictionless extrapolated)" if last["frictionless"]["extrapolated"] else ""
    out.append(f"At {_fmt_rows(last['size'])} rows: {ratio:.1f}×{estimated} — target {verdict}"
               + ("" if last["size"] == 1_000_000 else " (the target is stated for 1M rows)") + ".")
    return "\n".join(out)


def breakdown(result: dict[str, Any]) -> str:
    """What each side counted, by reason code / error type (the smallest size)."""
    ours = sorted(result["sheetsync"]["by_kind"].items(), key=lambda kv: -kv[1])
    theirs = sorted(result["frictionless"]["by_kind"].items(), key=lambda kv: -kv[1])
    lines = [f"Counts at {_fmt_rows(result['size'])} rows per tab (frictionless counts as measured):",
             "  sheetsync: " + ", ".join(f"{k} {v}" for k, v in ours),
             "  frictionless: " + ", ".join(f"{k} {v}" for k, v in theirs)]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = common.sizes_parser(__doc__, DEFAULT_SIZES)
    parser.add_argument("--rules", choices=("python", "formula", "schema"), default="python",
                        help="frictionless row checks: python = the formulas compiled once (fastest, default); "
                             "formula = frictionless's own row_constraint (simpleeval); schema = Table Schema only")
    parser.add_argument("--frictionless-max-rows", type=int, default=1_000_000,
                        help="time frictionless on at most this many rows per big tab and scale up (default: %(default)s)")
    parser.add_argument("--breakdown", action="store_true", help="also print the counts by reason / error type")
    parser.add_argument("--child", choices=("sheetsync", "frictionless"), help=argparse.SUPPRESS)
    parser.add_argument("--size", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    if args.child == "sheetsync":
        common.emit(child_sheetsync(args.size, args.seed))
        return 0
    if args.child == "frictionless":
        common.emit(child_frictionless(args.size, args.seed, args.rules, args.frictionless_max_rows))
        return 0
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    results = measure(sizes, args.seed, args.rules, args.frictionless_max_rows)
    print(common.machine_info("pandas", "numpy", "openpyxl", "frictionless"))
    print(render(results, args.rules))
    if args.breakdown:
        print(breakdown(results[0]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
