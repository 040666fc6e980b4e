"""Regenerate the results in docs/benchmarks.md: every benchmark, then the tables and verdicts.

    python bench/report.py                 # everything (about an hour on 2 shared cores)
    python bench/report.py --quick         # 10k rows only: a dry run of the whole pipeline
    python bench/report.py --only validate,google   # re-run these; the other sections stay as they were
    python bench/report.py --validate-sizes 10000,1000000 --io-sizes 10000

Runs, each in its own processes:

* ``bench_validate.py`` — validation at 10k / 100k / 1M rows per big tab, clean-ish and messy
  sheets, against frictionless (timed on at most ``--frictionless-max-rows`` rows per tab and
  scaled linearly above that: its time per row does not change with size) and pandera;
* ``bench_xlsx_io.py`` — the .xlsx backend: first run, idle rerun, one-cell edit, against
  openpyxl load+save and a calamine read (10k / 100k);
* ``bench_google.py --no-naive`` — requests and bytes of a first and an idle run on the fake
  Sheets server (10k / 100k).

The part of docs/benchmarks.md between ``<!-- results: start -->`` and ``<!-- results: end -->``
is replaced with what they printed; everything else in the file (how to read the numbers) is kept.
Each section says when it was measured and the exact command; with ``--only`` the sections not
re-run are kept as they were (with their own date).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import common

BENCH = Path(__file__).resolve().parent
DOC = common.ROOT / "docs" / "benchmarks.md"
START, END = "<!-- results: start -->", "<!-- results: end -->"
VALIDATE, XLSX, GOOGLE = ("Validation throughput", ".xlsx: first run, idle rerun, one-cell edit",
                          "Google Sheets: requests and bytes")


def _run(script: str, *args: str) -> str:
    cmd = [sys.executable, str(BENCH / script), *args]
    print("$", " ".join(cmd[1:]), file=sys.stderr, flush=True)
    started = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=common.ROOT)
    if proc.returncode != 0:
        raise RuntimeError(f"{script} failed (exit {proc.returncode}):\n{proc.stderr[-3000:]}")
    print(f"  {time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)
    return proc.stdout.strip()


def _section(title: str, command: str, output: str, stamp: str) -> str:
    lines = output.splitlines()
    machine = lines[0] if lines and "cores" in lines[0] else ""
    body = "\n".join(lines[1:] if machine else lines)
    where = f"Machine: {machine}.\n\n" if machine else ""
    return f"### {title}\n\nMeasured {stamp}: `{command}`\n\n{where}{body}\n"


def _sections(block: str) -> dict[str, str]:
    """The ``### title`` sections of a results block, by title."""
    out: dict[str, str] = {}
    parts = block.split("\n### ")
    for part in parts[1:]:
        title = part.split("\n", 1)[0].strip()
        out[title] = "### " + part.rstrip() + "\n"
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="10k rows only (checks the pipeline, not the targets)")
    parser.add_argument("--only", default="validate,xlsx,google", help="which benchmarks (default: %(default)s)")
    parser.add_argument("--frictionless-max-rows", default="100000")
    parser.add_argument("--validate-sizes", help="rows per big tab for bench_validate (default 10000,100000,1000000)")
    parser.add_argument("--io-sizes", help="rows per big tab for bench_xlsx_io and bench_google (default 10000,100000)")
    parser.add_argument("--doc", type=Path, default=DOC)
    args = parser.parse_args(argv)
    only = {s.strip() for s in args.only.split(",")}
    validate_sizes = args.validate_sizes or ("10000" if args.quick else "10000,100000,1000000")
    io_sizes = args.io_sizes or ("10000" if args.quick else "10000,100000")
    text = args.doc.read_text(encoding="utf-8")
    has_block = START in text and END in text
    kept = _sections(text[text.index(START) + len(START):text.index(END)]) if has_block else {}
    fresh: dict[str, str] = {}

    def stamp() -> str:
        return datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC") + (" (--quick)" if args.quick else "")

    if "validate" in only:
        command_args = ["--sizes", validate_sizes, "--frictionless-max-rows", args.frictionless_max_rows, "--breakdown"]
        out = _run("bench_validate.py", *command_args)
        fresh[VALIDATE] = _section(VALIDATE, "python bench/bench_validate.py " + " ".join(command_args), out, stamp())
    if "xlsx" in only and (BENCH / "bench_xlsx_io.py").is_file():
        out = _run("bench_xlsx_io.py", "--sizes", io_sizes)
        fresh[XLSX] = _section(XLSX, f"python bench/bench_xlsx_io.py --sizes {io_sizes}", out, stamp())
    if "google" in only:
        out = _run("bench_google.py", "--sizes", io_sizes, "--no-naive")
        fresh[GOOGLE] = _section(GOOGLE, f"python bench/bench_google.py --sizes {io_sizes} --no-naive", out, stamp())
    sections = [fresh.get(title) or kept.get(title) for title in (VALIDATE, XLSX, GOOGLE)]
    results = "\n".join([START, "", "Written by `python bench/report.py`. The machine is shared with other work: "
                          "compare the ratios of one run, not seconds across runs.", "",
                          *(s for s in sections if s), END])
    if has_block:
        text = text[:text.index(START)] + results + text[text.index(END) + len(END):]
    else:
        text = text.rstrip() + "\n\n## Latest results\n\n" + results + "\n"
    args.doc.write_text(text, encoding="utf-8")
    print(f"wrote {args.doc}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
