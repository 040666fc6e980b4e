"""Command line: parses arguments and calls the library. No logic lives here.

    sheetsync demo                       write a demo workbook and run every job on it
    sheetsync init  --workbook PATH      create the tabs of the template in a workbook
    sheetsync check --workbook PATH      list every problem (read-only), exit 1 if any
    sheetsync run [JOB ...] --workbook PATH [--dry-run]
    sheetsync jobs                       list the jobs and when they run next
    sheetsync schedule                   run the jobs on their schedule until stopped
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Sequence

from . import __version__
from .errors import ConfigError, SheetsyncError

log = logging.getLogger("sheetsync")


def _now(value: str | None) -> datetime:
    """--now: an ISO time (with or without offset; without = shop time). Default: the clock."""
    if not value:
        return datetime.now(timezone.utc)
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        raise ConfigError(f"--now 看不懂: {value}。请写成 2026-11-22T20:00 或 2026-11-22T20:00+08:00") from None


def _add_location(p: argparse.ArgumentParser) -> None:
    where = p.add_mutually_exclusive_group()
    where.add_argument("--workbook", metavar="PATH", help="a local .xlsx workbook (xlsx backend)")
    where.add_argument("--spreadsheet", metavar="ID_OR_URL", help="a Google spreadsheet id or URL (google backend)")
    p.add_argument("--config", metavar="FILE", help="sheetsync.toml (default: ./sheetsync.toml if present)")
    p.add_argument("--template", metavar="NAME_OR_PATH", help="workbook template: zh-CN (default), en, or a .toml file")


def _add_now(p: argparse.ArgumentParser) -> None:
    p.add_argument("--now", metavar="ISO", help="pretend it is this time (e.g. 2026-11-22T20:00+08:00); default: now")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sheetsync",
        description="Keeps a shop's shared spreadsheet honest: paints problems red with a note, reconciles stock, "
                    "writes and mails the weekly summary.")
    parser.add_argument("--version", action="version", version=f"sheetsync {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output (-vv for debug)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    p = sub.add_parser("demo", help="write a demo workbook (jewellery shop, two weeks of data) and run every job on it")
    p.add_argument("--dir", default="sheetsync-demo", help="folder for the demo workbook and its outbox (default: ./sheetsync-demo)")
    _add_now(p)

    p = sub.add_parser("init", help="create the template's tabs (headers, dropdowns, frozen header) in a workbook")
    _add_location(p)

    p = sub.add_parser("check", help="list every problem (read-only); exit status 1 when there are any")
    _add_location(p)
    _add_now(p)
    p.add_argument("--json", action="store_true", help="print the problems as JSON")
    p.add_argument("--stock-export", metavar="FILE", help="back-office stock export (CSV/XLSX) to compare 库存 with")

    p = sub.add_parser("run", help="run jobs and write the results into the workbook")
    p.add_argument("jobs", nargs="*", metavar="JOB", help="jobs to run (default: validate reconcile-stock weekly-summary)")
    _add_location(p)
    _add_now(p)
    p.add_argument("--dry-run", action="store_true", help="print the changes instead of writing them")
    p.add_argument("--stock-export", metavar="FILE", help="back-office stock export (CSV/XLSX) to compare 库存 with")
    p.add_argument("--no-send", action="store_true", help="render messages into the outbox but do not send them")

    p = sub.add_parser("jobs", help="list the jobs and when each runs next")
    _add_location(p)
    _add_now(p)

    p = sub.add_parser("schedule", help="run every job on its schedule until Ctrl-C / SIGTERM")
    _add_location(p)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    level = logging.WARNING - 10 * min(args.verbose, 2)
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        return COMMANDS[args.command](args)
    except SheetsyncError as exc:
        print(f"sheetsync: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130


# -- commands -----------------------------------------------------------------------------------


def _config(args: argparse.Namespace):
    from .config import load_config, merge_cli

    config = load_config(getattr(args, "config", None))
    return merge_cli(config, workbook=getattr(args, "workbook", None), spreadsheet=getattr(args, "spreadsheet", None),
                     template=getattr(args, "template", None), stock_export=getattr(args, "stock_export", None))


def cmd_demo(args: argparse.Namespace) -> int:
    from .app import run_demo

    result = run_demo(Path(args.dir), now=_now(args.now))
    print(result.text())
    return 0


def cmd_init(args: argparse.Namespace) -> int:
    from .app import init_workbook

    config = _config(args)
    result = init_workbook(config)
    if result.created:
        print(f"已创建 {len(result.created)} 张表: {'、'.join(result.created)}")
    if result.kept:
        print(f"已有的 {len(result.kept)} 张表保持不变: {'、'.join(result.kept)}")
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    from .app import check_workbook

    findings = check_workbook(_config(args), now=_now(args.now))
    if args.json:
        print(json.dumps([_finding_json(f) for f in findings], ensure_ascii=False, indent=2, default=str))
    else:
        for f in findings:
            print(f"{f.where()}  [{f.code}]  {f.message}")
        print(f"共 {len(findings)} 个问题。" if findings else "没有发现问题。")
    return 1 if findings else 0


def _finding_json(f) -> dict[str, Any]:
    return {"tab": f.tab, "row": f.row, "column": f.column, "cell": f.cell_ref, "value": f.value,
            "code": f.code, "message": f.message, "owner_role": f.owner_role}


def cmd_run(args: argparse.Namespace) -> int:
    from .app import run_jobs

    outcome = run_jobs(_config(args), args.jobs, now=_now(args.now), dry_run=args.dry_run, send=not args.no_send)
    print(outcome.text())
    return 0


def cmd_jobs(args: argparse.Namespace) -> int:
    from .app import list_jobs

    for line in list_jobs(_config(args), now=_now(args.now)):
        print(line)
    return 0


def cmd_schedule(args: argparse.Namespace) -> int:
    from .app import run_schedule

    return run_schedule(_config(args))


COMMANDS = {"demo": cmd_demo, "init": cmd_init, "check": cmd_check, "run": cmd_run, "jobs": cmd_jobs,
            "schedule": cmd_schedule}

if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
