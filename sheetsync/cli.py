"""Command line: parses arguments and calls the library (``sheetsync.app``). No logic lives here.

    sheetsync demo                       write a demo workbook and run every job on it
    sheetsync init  --workbook PATH      create the tabs of the template in a workbook
    sheetsync check --workbook PATH      list every problem (read-only), exit 1 if any
    sheetsync run [JOB ...] --workbook PATH [--dry-run]
    sheetsync jobs                       list the jobs and when they run next
    sheetsync schedule                   run the jobs on their schedule until stopped

Every word printed comes from the catalogue of the template's language, argparse's own words
included, so the language is found first (``--template``, else ``template`` in the
configuration file) and the parser is built after.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from pathlib import Path
from typing import Callable, Iterator, Sequence

from . import __version__, app
from .errors import SheetsyncError
from .i18n import Catalogue, active, set_language

# argparse's English words (it looks each up through ``argparse._`` when it needs it) -> our keys
_ARGPARSE_WORDS = {
    "usage: ": "usage",
    "positional arguments": "positional",
    "options": "options",
    "show this help message and exit": "help",
    "show program's version number and exit": "version",
    "the following arguments are required: %s": "required",
    "unrecognized arguments: %s": "unrecognized",
    "invalid choice: %(value)r (choose from %(choices)s)": "invalid_choice",
    "expected one argument": "expected_one",
    "expected at most one argument": "expected_at_most_one",
    "expected at least one argument": "expected_at_least_one",
    "expected %s argument": "expected_n",
    "expected %s arguments": "expected_n",
    "not allowed with argument %s": "not_allowed",
    "one of the arguments %s is required": "one_required",
    "argument %(argument_name)s: %(message)s": "argument",
    "ambiguous option: %(option)s could match %(matches)s": "ambiguous",
    "invalid %(type)s value: %(value)r": "invalid_type",
    "ignored explicit argument %r": "ignored_argument",
    "can't open '%(filename)s': %(error)s": "cannot_open",
    "unknown parser %(parser_name)r (choices: %(choices)s)": "unknown_parser",
    "%(prog)s: error: %(message)s\n": "error",
}


@contextlib.contextmanager
def _argparse_words(cat: Catalogue) -> Iterator[None]:
    """argparse speaks the catalogue's language while the parser is built and used."""

    def gettext(text: str) -> str:
        key = _ARGPARSE_WORDS.get(text)
        return cat.raw(f"cli.argparse.{key}") if key and cat.has(f"cli.argparse.{key}") else text

    def ngettext(singular: str, plural: str, n: int) -> str:
        return gettext(singular if n == 1 else plural)

    saved = argparse._, argparse.ngettext  # type: ignore[attr-defined]
    argparse._, argparse.ngettext = gettext, ngettext  # type: ignore[attr-defined]
    try:
        yield
    finally:
        argparse._, argparse.ngettext = saved  # type: ignore[attr-defined]


def _preparse(argv: Sequence[str]) -> tuple[str | None, str | None]:
    """--template and --config, read before the parser exists (they decide its language)."""
    found: dict[str, str] = {}
    for i, arg in enumerate(argv):
        if arg == "--":
            break
        for name in ("--template", "--config"):
            if arg == name and i + 1 < len(argv):
                found[name] = argv[i + 1]
            elif arg.startswith(name + "="):
                found[name] = arg.split("=", 1)[1]
    return found.get("--template"), found.get("--config")


_BEFORE_OR_AFTER = ("config", "template", "now")
_METAVARS = {"config": "FILE", "template": "NAME_OR_PATH", "now": "ISO"}


def build_parser(cat: Catalogue) -> argparse.ArgumentParser:
    def h(key: str) -> str:
        return cat.text(f"cli.help.{key}")

    common = argparse.ArgumentParser(add_help=False)
    for name in _BEFORE_OR_AFTER:
        common.add_argument(f"--{name}", metavar=_METAVARS[name], help=h(name))
    common.add_argument("-v", "--verbose", dest="verbose_after", action="count", default=0, help=h("verbose"))

    location = argparse.ArgumentParser(add_help=False)
    where = location.add_mutually_exclusive_group()
    where.add_argument("--workbook", metavar="PATH", help=h("workbook"))
    where.add_argument("--spreadsheet", metavar="ID_OR_URL", help=h("spreadsheet"))

    parser = argparse.ArgumentParser(prog="sheetsync", description=h("description"), epilog=h("epilog"))
    parser.add_argument("--version", action="version", version=f"sheetsync {__version__}", help=h("version"))
    parser.add_argument("-v", "--verbose", action="count", default=0, help=h("verbose"))
    for name in _BEFORE_OR_AFTER:  # also accepted before the command name; after it wins
        parser.add_argument(f"--{name}", dest=f"{name}_before", metavar=_METAVARS[name], help=h(name))
    sub = parser.add_subparsers(dest="command", metavar=h("command"))
    sub.required = True

    def command(name: str, *parents: argparse.ArgumentParser) -> argparse.ArgumentParser:
        return sub.add_parser(name, help=h(name), description=h(name), parents=[*parents, common])

    p = command("demo")
    p.add_argument("--dir", default="sheetsync-demo", help=h("demo_dir"))
    p.add_argument("--overwrite", action="store_true", help=h("demo_overwrite"))

    command("init", location)

    p = command("check", location)
    p.add_argument("--json", action="store_true", help=h("check_json"))
    p.add_argument("--stock-export", metavar="FILE", help=h("stock_export"))

    p = command("run", location)
    p.add_argument("jobs", nargs="*", metavar="JOB", help=h("run_jobs"))
    p.add_argument("--dry-run", action="store_true", help=h("dry_run"))
    p.add_argument("--stock-export", metavar="FILE", help=h("stock_export"))
    p.add_argument("--no-send", action="store_true", help=h("no_send"))

    command("jobs", location)

    p = command("schedule", location)
    p.add_argument("--once", action="store_true", help=h("schedule_once"))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    previous = active()  # main() is the whole process; called from a program, it leaves no trace
    try:
        code = _main(argv)
        sys.stdout.flush()  # inside the try: a reader that left must not fail the exit
        return code
    except BrokenPipeError:  # `sheetsync check | head`: the reader left; nothing more to say
        with contextlib.suppress(OSError):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        return 141  # 128 + SIGPIPE, what a shell reports for a program stopped by a closed pipe
    finally:
        set_language(previous)


def _main(argv: list[str]) -> int:
    template, config_file = _preparse(argv)
    cat = set_language(app.language_of(template, config_file))
    with _argparse_words(cat):
        try:
            args = build_parser(cat).parse_args(argv)
        except SystemExit as stop:  # --help, --version, or an argument error (already printed)
            return stop.code if isinstance(stop.code, int) else (0 if stop.code is None else 2)
    for name in _BEFORE_OR_AFTER:
        if getattr(args, name) is None:
            setattr(args, name, getattr(args, f"{name}_before"))
    undo_logging = app.setup_logging(args.verbose + args.verbose_after)
    try:
        return COMMANDS[args.command](args)
    except SheetsyncError as exc:
        print(cat.text("cli.error", message=exc.render(cat)), file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print(cat.text("cli.interrupted"), file=sys.stderr)
        return 130
    finally:
        undo_logging()


# -- commands -----------------------------------------------------------------------------------


def _config(args: argparse.Namespace) -> app.Config:
    return app.configure(args.config, workbook=getattr(args, "workbook", None),
                         spreadsheet=getattr(args, "spreadsheet", None), template=args.template,
                         stock_export=getattr(args, "stock_export", None))


def _print(lines: Sequence[str]) -> None:
    for line in lines:
        print(line)


def cmd_demo(args: argparse.Namespace) -> int:
    # the demo needs no sheetsync.toml: only its template's language, when no --template is given
    template = args.template or app.language_of(None, args.config)
    result = app.run_demo(Path(args.dir), now=app.parse_now(args.now), template=template, overwrite=args.overwrite)
    print(result.text())
    return result.outcome.exit_code


def cmd_init(args: argparse.Namespace) -> int:
    _print(app.init_lines(app.init_workbook(_config(args))))
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    findings = app.check_workbook(_config(args), now=app.parse_now(args.now), progress=app.Progress())
    if args.json:
        print(json.dumps(app.findings_json(findings), ensure_ascii=False, indent=2, default=str))
    else:
        _print(app.check_lines(findings))
    return 1 if findings else 0


def cmd_run(args: argparse.Namespace) -> int:
    outcome = app.run_jobs(_config(args), args.jobs, now=app.parse_now(args.now), dry_run=args.dry_run,
                           send=not args.no_send, progress=app.Progress())
    print(outcome.text())
    return outcome.report_failures(lambda text: print(text, file=sys.stderr))


def cmd_jobs(args: argparse.Namespace) -> int:
    _print(app.list_jobs(_config(args), now=app.parse_now(args.now)))
    return 0


def cmd_schedule(args: argparse.Namespace) -> int:
    return app.run_schedule(_config(args), now=app.parse_now(args.now, default=None), once=args.once,
                            out=lambda line: print(line, flush=True))


COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "demo": cmd_demo, "init": cmd_init, "check": cmd_check, "run": cmd_run, "jobs": cmd_jobs,
    "schedule": cmd_schedule}


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
