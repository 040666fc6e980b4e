"""The xlsx backend on its own: a first run, an idle rerun and a rerun after one edited cell,
against openpyxl's load + save of the same file and against a python-calamine read of every value.

    python bench/bench_xlsx_io.py                      # 10k and 100k rows per big tab
    python bench/bench_xlsx_io.py --sizes 10000

Each measurement runs in a fresh child process on a fresh copy of the synthetic workbook
(bench/synth.py). The sheetsync side is ``engine.run`` with every default job through the real
XlsxBackend and a read cache in a temporary records folder, the runs one after the other in one
process, as ``sheetsync schedule`` makes them (it holds the last read in memory between runs):

* first run: read, check, paint ~10% of the rows with notes, write 问题清单 / 周报 / 运行记录 /
  the state tab (the patching writer), keep a backup;
* second run: the file as sheetsync wrote it (the first run kept what it reads as in the read
  cache: nothing is parsed, nothing to write);
* idle rerun: the same file once more (nothing changed since: the read cache answers);
* one-cell edit: one 客户 cell changed and every part compressed anew, as Excel would save it,
  then a run (only 客服台账 is parsed and bound again; the other tabs and their timeless rule
  results come from the cache);
* the idle rerun and a one-cell edit (another cell) once more as a new process runs them (cron's
  ``sheetsync run``): nothing held in memory, the read cache's files are loaded (the imports,
  about a second, are not counted).

The JSON line after each row says which tabs each run parsed (``*_parsed``, one list per read).

The reruns read a bigger file than the first run: sheetsync's 问题清单, 周报 and state tab are in
it (at 100k rows about a quarter more cells). The targets are judged against a calamine read of
the file as generated, as the issue set them; the table also shows the one-cell edit against a
calamine read of the edited file itself (``edit / calamine of that file``), the same work a
calamine user would do on that run's file.

Peak RSS is the child's resident high-water mark for the whole child (the highest of the
repetitions). The machine is shared and noisy, so each calamine and sheetsync child runs
``--repeat`` times (default 3), the sides interleaved, and the table shows the median of each
time; openpyxl, several times slower than everything else, runs once.
"""

from __future__ import annotations

import argparse
import json
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Any

import common  # noqa: F401 - first: puts the checkout on sys.path
from synth import NOW, generate, write_xlsx

SCRIPT = Path(__file__).resolve()


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def edit_one_cell(path: Path, ref: str = "B500") -> None:
    """Change one 客户 cell of 客服台账 (``ref``) to another name, touching nothing else."""
    from sheetsync.backends import xlsx_package as pkg

    with zipfile.ZipFile(path) as zf:
        parts = [(info, zf.read(info)) for info in zf.infolist()]
        member = next(s.member for s in pkg.sheets(zf, pkg.workbook_member(zf)) if s.title == "客服台账")
    out = []
    for info, data in parts:
        if info.filename == member:
            data, n = re.subn(rb'<c r="%s"([^>]*?)(?: t="\w+")?>.*?</c>' % ref.encode(),
                              f'<c r="{ref}"\\1 t="inlineStr"><is><t>改名的客户</t></is></c>'.encode(), data,
                              count=1, flags=re.S)
            assert n == 1
        out.append((info, data))
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for info, data in out:
            zf.writestr(info, data)


def child(kind: str, source: Path, workdir: Path) -> dict[str, Any]:
    target = workdir / "shop.xlsx"
    shutil.copyfile(source, target)
    if kind == "openpyxl":
        from openpyxl import load_workbook

        started = time.perf_counter()
        load_workbook(target).save(target)
        return {"seconds": time.perf_counter() - started, "peak_mib": _peak_mib()}
    if kind == "calamine":
        from python_calamine import CalamineWorkbook

        started = time.perf_counter()
        wb = CalamineWorkbook.from_path(str(target))
        cells = sum(len(r) for name in wb.sheet_names for r in wb.get_sheet_by_name(name).to_python())
        return {"seconds": time.perf_counter() - started, "cells": cells, "peak_mib": _peak_mib()}
    from sheetsync.backends.xlsx import XlsxBackend
    from sheetsync.engine import run
    from sheetsync.readcache import ReadCache
    from sheetsync.registry import get_jobs
    from sheetsync.templates import load_template

    template = load_template("zh-CN")
    jobs = get_jobs(None)
    cache = ReadCache(workdir / "cache")
    out: dict[str, Any] = {}

    def timed(name: str) -> Any:
        """One run on the file: its seconds, the tabs it parsed, what it wrote, whether the cache answered."""
        backend = XlsxBackend(target)
        started = time.perf_counter()
        report = run(backend, jobs, now=NOW, template=template, cache=cache)
        out[name] = time.perf_counter() - started
        out[f"{name}_parsed"] = backend.reads
        out[f"{name}_written"] = report.applied.written if report.applied else 0
        out[f"{name}_cached"] = report.from_cache
        return report

    first = timed("first")
    out["written"] = out.pop("first_written")
    timed("second")  # the file is sheetsync's own write: kept by the cache, nothing to write
    timed("idle")
    edit_one_cell(target)
    shutil.copyfile(target, workdir / "edited.xlsx")  # the file the edit rerun reads, timed by its own child
    timed("edit")
    # the same two runs in a new process (cron's ``sheetsync run``): nothing held in memory, the
    # read cache's files are loaded (the imports are not counted)
    from sheetsync import readcache

    readcache.forget()
    timed("idle_cold")
    edit_one_cell(target, "B600")
    readcache.forget()
    timed("edit_cold")
    out["problems"] = first.problems
    out["peak_mib"] = _peak_mib()
    return out


def measure(kind: str, source: Path, keep: Path | None = None) -> dict[str, Any]:
    """One child's answer; ``keep``: a folder the child's edited file is copied to."""
    with tempfile.TemporaryDirectory() as tmp:
        done = subprocess.run([sys.executable, str(SCRIPT), "--child", kind, "--file", str(source), "--workdir", tmp],
                              capture_output=True, text=True, check=True)
        if keep is not None and (Path(tmp) / "edited.xlsx").is_file():
            shutil.copyfile(Path(tmp) / "edited.xlsx", keep / "edited.xlsx")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--child")
    parser.add_argument("--file", type=Path)
    parser.add_argument("--workdir", type=Path)
    parser.add_argument("--repeat", type=int, default=3,
                        help="children per side and size (the median is shown); openpyxl, far behind, runs once")
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.child, args.file, args.workdir), ensure_ascii=False))
        return 0
    print("| rows per tab | file MiB | openpyxl load+save s | calamine read s | first run s | first / openpyxl |"
          " second run s | idle rerun s | idle / calamine | one-cell edit s | edit / calamine |"
          " calamine read of the edited file s | edit / calamine of that file | new process: idle s |"
          " idle / calamine | new process: one-cell edit s | edit / calamine | peak RSS MiB"
          " (sheetsync / openpyxl / calamine) |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    verdicts = []
    for n in (int(s) for s in args.sizes.split(",")):
        with tempfile.TemporaryDirectory() as tmp:
            source = write_xlsx(generate(n).tabs, Path(tmp) / "synth.xlsx")
            size = source.stat().st_size / 2**20
            op = measure("openpyxl", source)
            cals, sss, editeds = [], [], []
            for _ in range(args.repeat):  # the sides interleaved, so a slow minute of the machine hits them all
                cals.append(measure("calamine", source))
                sss.append(measure("sheetsync", source, keep=Path(tmp)))
                editeds.append(measure("calamine", Path(tmp) / "edited.xlsx"))
            cal, ss, edited = _median(cals), _median(sss), _median(editeds)
        print(f"| {n // 1000}k | {size:.1f} | {op['seconds']:.2f} | {cal['seconds']:.2f} | {ss['first']:.2f} | "
              f"{ss['first'] / op['seconds']:.2f}× | {ss['second']:.2f} | {ss['idle']:.2f} | {ss['idle'] / cal['seconds']:.2f}× | "
              f"{ss['edit']:.2f} | {ss['edit'] / cal['seconds']:.2f}× | {edited['seconds']:.2f} | "
              f"{ss['edit'] / edited['seconds']:.2f}× | {ss['idle_cold']:.2f} | {ss['idle_cold'] / cal['seconds']:.2f}× | "
              f"{ss['edit_cold']:.2f} | {ss['edit_cold'] / cal['seconds']:.2f}× | {ss['peak_mib']:.0f} / "
              f"{op['peak_mib']:.0f} / {cal['peak_mib']:.0f} |", flush=True)
        print(f"<!-- {n}: {json.dumps(ss, ensure_ascii=False)} -->", flush=True)
        verdicts += _verdicts(n, ss["first"] / op["seconds"], ss["idle"] / cal["seconds"], ss["edit"] / cal["seconds"],
                              ss["edit"] / edited["seconds"], ss["idle_cold"] / cal["seconds"],
                              ss["edit_cold"] / cal["seconds"])
    print()
    print("| target | measured | verdict |")
    print("|---|---|---|")
    for line in verdicts:
        print(line)
    return 0


def _median(answers: list[dict[str, Any]]) -> dict[str, Any]:
    """The first answer with each timing replaced by the median over all answers and the peak by
    the highest peak."""
    out = dict(answers[0])
    for key in ("seconds", "first", "second", "idle", "edit", "idle_cold", "edit_cold"):
        if key in out:
            out[key] = statistics.median(a[key] for a in answers)
    out["peak_mib"] = max(a["peak_mib"] for a in answers)
    return out


def _verdicts(n: int, first: float, idle: float, edit: float, edit_same_file: float, idle_cold: float,
              edit_cold: float) -> list[str]:
    """The issue's targets for one size, as measured in this run: for the scheduler's runs, and
    for the same runs in a new process."""
    size = f"{n // 1000}k"
    moonshot = "met (moonshot met)" if first <= 0.2 else "met (moonshot not met)" if first <= 1 else "not met"
    return [f"| first run ≤ 1× openpyxl load+save (moonshot 5× faster), {size} | {first:.2f}× ({1 / first:.1f}× faster) "
            f"| {moonshot} |",
            f"| idle rerun ≤ 1.5× a calamine read, {size} | {idle:.2f}× | {'met' if idle <= 1.5 else 'not met'} |",
            f"| idle rerun in a new process ≤ 1.5× a calamine read, {size} | {idle_cold:.2f}× | "
            f"{'met' if idle_cold <= 1.5 else 'not met'} |",
            f"| one-cell-edit rerun ≤ 2× a calamine read, {size} | {edit:.2f}× ({edit_same_file:.2f}× a read of the "
            f"edited file itself) | {'met' if edit <= 2 else 'not met'} |",
            f"| one-cell-edit rerun in a new process ≤ 2× a calamine read, {size} | {edit_cold:.2f}× | "
            f"{'met' if edit_cold <= 2 else 'not met'} |"]


if __name__ == "__main__":
    sys.exit(main())
