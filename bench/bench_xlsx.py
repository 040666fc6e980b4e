"""End to end on an .xlsx file: a full `sheetsync run` against openpyxl's own load + save.

    python bench/bench_xlsx.py                  # 10k and 100k rows per big tab
    python bench/bench_xlsx.py --sizes 10000 --repeat 5

The synthetic workbook (bench/synth.py) is written once per size. Each measurement copies it
to a fresh file (outside the timed region) and, in a fresh child process:

* sheetsync: ``engine.run`` with every default job (validate, reconcile-stock, weekly-summary)
  through the real XlsxBackend — read, check, plan, paint the ~10% bad rows red with notes,
  write 问题清单 / 周报 / 运行记录 / state, save atomically with a backup. Then a second run on
  the result, which finds nothing new and writes nothing (what the 15-minute schedule mostly does).
* openpyxl: ``load_workbook`` + ``save`` of the same file — the floor for any writer built on
  openpyxl, which has to do at least that.

Sides alternate within each repetition (and swap order between repetitions) to spread drift;
the table shows the median of ``--repeat`` runs.
"""

from __future__ import annotations

import argparse
import logging
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import common  # first: puts the checkout on sys.path
from synth import NOW, generate, write_xlsx

SCRIPT = Path(__file__).resolve()
DEFAULT_SIZES = (10_000, 100_000)
WARM_UP_ROWS = 200
TARGET = 1.2


def _fresh_copy(path: Path, workdir: Path, name: str) -> Path:
    target = workdir / name
    shutil.copyfile(path, target)
    return target


def child_sheetsync(path: Path, warm: Path, workdir: Path) -> dict[str, Any]:
    from sheetsync.backends.xlsx import XlsxBackend
    from sheetsync.engine import run
    from sheetsync.registry import get_jobs
    from sheetsync.templates import load_template

    template = load_template("zh-CN")
    jobs = get_jobs(None)
    run(XlsxBackend(_fresh_copy(warm, workdir, "warm.xlsx")), jobs, now=NOW, template=template)
    target = _fresh_copy(path, workdir, "shop.xlsx")
    started = time.perf_counter()
    report = run(XlsxBackend(target), jobs, now=NOW, template=template)
    seconds = time.perf_counter() - started
    started = time.perf_counter()
    again = run(XlsxBackend(target), jobs, now=NOW, template=template)
    rerun = time.perf_counter() - started
    return {"seconds": seconds, "rerun_seconds": rerun, "findings": report.problems,
            "written": report.applied.written if report.applied else 0,
            "rerun_written": again.applied.written if again.applied else 0,
            "out_mib": target.stat().st_size / 2**20}


def child_openpyxl(path: Path, warm: Path, workdir: Path) -> dict[str, Any]:
    from openpyxl import load_workbook

    warm_copy = _fresh_copy(warm, workdir, "warm.xlsx")
    load_workbook(warm_copy).save(warm_copy)
    target = _fresh_copy(path, workdir, "shop.xlsx")
    started = time.perf_counter()
    wb = load_workbook(target)
    wb.save(target)
    return {"seconds": time.perf_counter() - started}


def _fmt_rows(n: int) -> str:
    return f"{n // 1000}k" if n % 1000 == 0 else str(n)


def measure(sizes: list[int], seed: int, repeat: int, workdir: Path) -> list[dict[str, Any]]:
    warm = write_xlsx(generate(WARM_UP_ROWS, seed=seed + 1).tabs, workdir / "warm-up.xlsx")
    results = []
    for size in sizes:
        print(f"{_fmt_rows(size)} rows per tab: writing the workbook...", file=sys.stderr, flush=True)
        path = write_xlsx(generate(size, seed=seed).tabs, workdir / f"synthetic-{size}.xlsx")
        runs: dict[str, list[dict[str, Any]]] = {"sheetsync": [], "openpyxl": []}
        for rep in range(repeat):
            order = ("openpyxl", "sheetsync") if rep % 2 == 0 else ("sheetsync", "openpyxl")
            for side in order:
                print(f"{_fmt_rows(size)}: {side} run {rep + 1}/{repeat}...", file=sys.stderr, flush=True)
                with tempfile.TemporaryDirectory(dir=workdir) as scratch:
                    runs[side].append(common.run_child(SCRIPT, [side, "--file", str(path), "--warm", str(warm),
                                                                "--workdir", scratch]))
        results.append({"size": size, "file_mib": path.stat().st_size / 2**20, **runs})
    return results


def render(results: list[dict[str, Any]], repeat: int) -> str:
    headers = ["rows per tab", "file MiB", "openpyxl load+save s", "sheetsync run s", "sheetsync / openpyxl",
               "re-run s (nothing to write)", "problems found", "changes written"]
    rows = []
    for r in results:
        floor = common.median([x["seconds"] for x in r["openpyxl"]])
        ours = common.median([x["seconds"] for x in r["sheetsync"]])
        rerun = common.median([x["rerun_seconds"] for x in r["sheetsync"]])
        first = r["sheetsync"][0]
        rows.append([_fmt_rows(r["size"]), f"{r['file_mib']:.1f}", common.fmt_seconds(floor),
                     common.fmt_seconds(ours), f"{ours / floor:.2f}×", common.fmt_seconds(rerun),
                     f"{first['findings']:,}", f"{first['written']:,}"])
    out = [common.table(headers, rows), f"Median of {repeat} runs per side. Target: sheetsync / openpyxl ≤ {TARGET:g}×."]
    for r in results:
        ratio = common.median([x["seconds"] for x in r["sheetsync"]]) / common.median([x["seconds"] for x in r["openpyxl"]])
        rewrote = sorted({x["rerun_written"] for x in r["sheetsync"]})
        out.append(f"At {_fmt_rows(r['size'])} rows: {ratio:.2f}× — target {'met' if ratio <= TARGET else 'NOT met'}; "
                   f"second run wrote {', '.join(map(str, rewrote))} change(s).")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = common.sizes_parser(__doc__, DEFAULT_SIZES)
    parser.add_argument("--repeat", type=int, default=3, help="runs per side; the median is shown (default: %(default)s)")
    parser.add_argument("--keep", type=Path, help="write the synthetic workbooks into this folder and keep them")
    parser.add_argument("--child", choices=("sheetsync", "openpyxl"), help=argparse.SUPPRESS)
    parser.add_argument("--file", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--warm", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--workdir", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    if args.child:
        child = child_sheetsync if args.child == "sheetsync" else child_openpyxl
        common.emit(child(args.file, args.warm, args.workdir))
        return 0
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
        results = measure(sizes, args.seed, args.repeat, args.keep)
    else:
        with tempfile.TemporaryDirectory(prefix="sheetsync-bench-") as workdir:
            results = measure(sizes, args.seed, args.repeat, Path(workdir))
    print(common.machine_info("openpyxl", "python-calamine", "pandas"))
    print(render(results, args.repeat))
    return 0


if __name__ == "__main__":
    sys.exit(main())
