"""Use cases behind the CLI commands: open the configured backend, run, hand reports to delivery,
and word the results in the template's language.

Kept separate from ``cli`` so tests and other programs call the same code the commands do. Every
use case checks what it can before it touches the workbook: the configuration (``configure``),
the folder its records go to (``writable_state_dir``), the secrets delivery will need.
"""

from __future__ import annotations

import errno
import logging
import os
import shutil
import sys
import tempfile
import threading
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone, tzinfo
from pathlib import Path
from typing import Any, Callable, Sequence
from zoneinfo import ZoneInfo

from .backends.base import InitResult
from .backends.xlsx import XlsxBackend
from .config import Config, load_config, merge_cli, open_backend, peek_template
from .core.job import Job, Trigger
from .core.layout import layouts, layouts_with_rows
from .core.model import Finding
from .core.settings import Settings
from .templates import load_template
from .delivery import DeliveryConfig, Outbox, render_alert, render_daily, render_weekly
from .delivery.errors import channel_label
from .delivery.scorecard import render_scorecard
from .demo import demo_rows
from .progress import Progress
from .readcache import ReadCache
from .engine import RunReport, load, run, to_shop_time
from .errors import ConfigError, DeliveryError, SheetsyncError, WorkbookBusyError
from .i18n import DEFAULT_LANGUAGE, active, describe_changes, languages, t
from .i18n.findings import render_message, where
from .locks import job_lock
from .registry import all_jobs, get_jobs
from .scheduler import SheetsyncScheduler, next_run
from .stock_export import load_stock_export

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

log = logging.getLogger(__name__)

__all__ = ["Config", "configure", "language_of", "parse_now", "setup_logging", "init_workbook", "check_workbook",
           "run_jobs", "list_jobs", "run_schedule", "run_demo", "RunOutcome", "DemoResult"]


# -- before anything ---------------------------------------------------------------------------


def language_of(template: str | None, config_file: str | None = None) -> str:
    """The language a process speaks: that of ``--template``, else of the configuration file's
    ``template``, else the default. A template file names its language in ``[template]``."""
    name = template or peek_template(config_file) or DEFAULT_LANGUAGE
    if name in languages():
        return name
    path = Path(name)
    if path.suffix == ".toml" and path.is_file():
        try:
            meta = tomllib.loads(path.read_text(encoding="utf-8")).get("template", {})
            language = meta.get("language") if isinstance(meta, dict) else None
            if isinstance(language, str) and language in languages():
                return language
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
            pass
    return DEFAULT_LANGUAGE


def configure(config_file: str | None, **flags: Any) -> Config:
    """sheetsync.toml read and fully checked, with the command-line flags on top."""
    return merge_cli(load_config(config_file), **flags)


def parse_now(value: str | None, default: Callable[[], datetime] | None = lambda: datetime.now(timezone.utc)
              ) -> Any:
    """--now: an ISO time. Without an offset it is shop time (resolved once the shop's time
    zone is known). Without a value: ``default()`` (None for the scheduler: the real clock)."""
    if not value:
        return default() if default else None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        raise ConfigError("cli.now_invalid", value=value) from None


def shop_aware(now: datetime, tz: tzinfo) -> datetime:
    """``now`` in the shop's zone; a naive time is taken as shop time already."""
    return now.replace(tzinfo=tz) if now.tzinfo is None else now.astimezone(tz)


def writable_state_dir(config: Config) -> Path:
    """The folder for this workbook's records (locks, scheduler state, outbox), created and
    proven writable before the workbook is touched, so a run never writes the workbook and
    then fails to keep its messages."""
    folder = config.resolved_state_dir()
    adopt = config.state_dir is None and not folder.exists()
    for target in (folder, config.delivery_settings.outbox_dir):
        if target is not None:
            _prove_writable(Path(target))
    if adopt:
        _adopt_shared_records(folder.parent, folder)
    return folder


def _adopt_shared_records(shared: Path, own: Path) -> None:
    """Before each workbook had its own folder, ``.sheetsync/`` held one scheduler.json and one
    outbox for every workbook beside it. The first workbook to run takes the pending messages
    (rather than leave them unsent) and every workbook starts from the shared schedule state."""
    moved = []
    if (shared / "scheduler.json").is_file() and not (own / "scheduler.json").exists():
        shutil.copy2(shared / "scheduler.json", own / "scheduler.json")
        moved.append(shared / "scheduler.json")
    if (shared / "outbox").is_dir() and not (own / "outbox").exists():
        os.replace(shared / "outbox", own / "outbox")
        moved.append(shared / "outbox")
    if moved:
        log.warning("%s", t("cli.state_adopted", old=tuple(str(p) for p in moved), new=str(own)))


def _prove_writable(folder: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as exc:
        name = errno.errorcode.get(exc.errno or 0, "")
        reason = f"cli.os.{name}" if active().has(f"cli.os.{name}") else "cli.os.other"
        raise ConfigError("cli.state_dir_unwritable", folder=str(folder.absolute()),
                          reason=ConfigError(reason, error=exc.strerror or str(exc))) from None


# -- logging in shop time -----------------------------------------------------------------------


class ShopTimeFormatter(logging.Formatter):
    """Log times in the shop's time zone (the one every other time sheetsync shows is in)."""

    tz: tzinfo = Settings().tz

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:  # noqa: N802
        moment = datetime.fromtimestamp(record.created, self.tz)
        return moment.strftime(datefmt or "%Y-%m-%d %H:%M:%S%z")


class _ReportedByTheCommand(logging.Filter):
    """A delivery failure is said once, by the shell: ``sheetsync run`` prints it (and exits
    with 5), ``sheetsync schedule`` logs it. The outbox's own error record of the same failure
    is not shown a second time."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.name.startswith("sheetsync.delivery") and record.levelno >= logging.ERROR)


_handler: logging.Handler | None = None
_reported = _ReportedByTheCommand()


def setup_logging(verbosity: int, stream: Any = None) -> Callable[[], None]:
    """One handler on the ``sheetsync`` logger: warnings by default, -v info, -vv debug.
    Returns what undoes it (a program calling ``cli.main`` twice gets no second handler)."""
    global _handler
    logger = logging.getLogger("sheetsync")
    if _handler is not None:
        logger.removeHandler(_handler)
    previous_level = logger.level
    _handler = logging.StreamHandler(stream or sys.stderr)
    _handler.setFormatter(ShopTimeFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    level = logging.WARNING - 10 * min(verbosity, 2)
    _handler.setLevel(level)
    _handler.addFilter(_reported)
    logger.addHandler(_handler)
    if logger.getEffectiveLevel() > level:
        logger.setLevel(level)
    handler = _handler

    def undo() -> None:
        global _handler
        logger.removeHandler(handler)
        logger.setLevel(previous_level)
        if _handler is handler:
            _handler = None

    return undo


def set_log_timezone(tz: tzinfo) -> None:
    ShopTimeFormatter.tz = tz


# -- init / check -----------------------------------------------------------------------------


def read_cache(config: Config, *, create: bool) -> ReadCache | None:
    """The cache of the last read, in the workbook's records folder. A read-only command uses it
    only where the folder already exists (it never creates files)."""
    folder = config.resolved_state_dir()
    return ReadCache(folder / "cache") if create or folder.is_dir() else None


def init_workbook(config: Config) -> InitResult:
    template = load_template(config.template)
    return open_backend(config).init_layout(layouts(template))


def init_lines(result: InitResult) -> list[str]:
    lines = []
    if result.created:
        lines.append(t("cli.init.created", n=len(result.created), tabs=tuple(result.created)))
    if result.kept:
        lines.append(t("cli.init.kept", n=len(result.kept), tabs=tuple(result.kept)))
    return lines


def _extras(config: Config) -> dict[str, Any]:
    if config.stock_export is None:
        return {}
    counts, source = load_stock_export(config.stock_export)
    return {"stock_export": counts, "stock_export_source": source}


def check_workbook(config: Config, *, now: datetime, progress: Any = None) -> list[Finding]:
    template = load_template(config.template)
    backend = open_backend(config)
    extras = _extras(config)
    report = run(backend, get_jobs(["validate", "reconcile-stock"]), now=now, template=template, dry_run=True,
                 extras=extras, cache=read_cache(config, create=False), progress=progress)
    return report.findings


def finding_where(f: Finding) -> str:
    return where(f, active())


def finding_text(f: Finding) -> str:
    return render_message(f, active())


def check_lines(findings: Sequence[Finding]) -> list[str]:
    lines = [t("cli.check.line", where=finding_where(f), code=f.code, message=finding_text(f)) for f in findings]
    lines.append(t("cli.check.total", n=len(findings)) if findings else t("cli.check.none"))
    return lines


def findings_json(findings: Sequence[Finding]) -> list[dict[str, Any]]:
    return [{"tab": f.tab, "row": f.row, "column": f.column, "cell": f.cell_ref, "value": f.value,
             "code": f.code, "message": finding_text(f), "owner_role": f.owner_role} for f in findings]


# -- run ----------------------------------------------------------------------------------------


@dataclass
class RunOutcome:
    report: RunReport
    messages: list[str] = field(default_factory=list)  # what delivery did, one line each
    failures: list[DeliveryError] = field(default_factory=list)  # messages that stay in the outbox
    outbox: Path | None = None

    @property
    def exit_code(self) -> int:
        return DeliveryError.exit_code if self.failures else 0

    def text(self) -> str:
        r = self.report
        lines = [t("cli.run.summary", source=r.source, rows=r.rows_read, problems=len(r.findings))]
        if r.dry_run:
            lines.append(t("cli.run.dry_run", n=r.changes.count()))
            lines.extend(f"  {line}" for line in describe_changes(r.changes, active()))
        elif r.applied is None:
            lines.append(t("cli.run.unchanged"))
        else:
            lines.append(t("cli.run.written_backup", n=r.applied.written, backup=r.applied.backup) if r.applied.backup
                         else t("cli.run.written", n=r.applied.written))
            lines.extend(t("cli.run.skipped", what=s) for s in r.applied.skipped)
        if r.weekly is not None:
            w = r.weekly.week
            kpis = active().join(t("cli.run.kpi", label=kpi_label(k), value=kpi_value(k)) for k in w.kpis)
            lines.append(t("cli.run.weekly", start=w.week_start, end=w.week_end, kpis=kpis))
        if r.traffic is not None:
            lines.append(t("cli.traffic.line", requests=r.traffic.requests, down=size_text(r.traffic.bytes_down),
                           up=size_text(r.traffic.bytes_up)))
        lines.extend(self.messages)
        return "\n".join(lines)

    def report_failures(self, emit: Callable[[str], None]) -> int:
        """Each delivery failure once (``emit``), and the exit code that says so."""
        for failure in self.failures:
            emit(t("cli.error", message=str(failure)))
        return self.exit_code


def size_text(n: int) -> str:
    """Bytes as a person reads them: 512 B, 38.2 KB, 9.4 MB."""
    if n < 1000:
        return t("cli.traffic.bytes", n=n)
    if n < 1_000_000:
        return t("cli.traffic.kb", n=n / 1000)
    return t("cli.traffic.mb", n=n / 1_000_000)


def kpi_value(kpi: Any) -> str:
    """A rate as a percentage, a count (售后纠纷数) as a number."""
    if getattr(kpi, "unit", "rate") == "count":
        return str(kpi.numerator)
    return active().percent(kpi.value)


def kpi_label(kpi: Any) -> str:
    key = f"core.kpi.{getattr(kpi, 'key', '')}"
    return t(key) if active().has(key) else kpi.label


def run_jobs(config: Config, job_names: Sequence[str] | None, *, now: datetime, dry_run: bool = False,
             send: bool = True, lock: bool = True, progress: Any = None) -> RunOutcome:
    """Run jobs once. Everything that can be checked is checked before the workbook is read:
    the job names, the template, the secrets delivery will need, the records folder. ``lock``
    takes each job's lock (the scheduler already holds it), so a cron run and a running
    ``sheetsync schedule`` never run the same job at the same time."""
    jobs = get_jobs(list(job_names or ()))
    template = load_template(config.template)
    backend = open_backend(config)
    delivery = config.checked_delivery(os.environ) if send and not dry_run else config.delivery_settings
    state_dir = config.resolved_state_dir() if dry_run else writable_state_dir(config)
    extras = _extras(config)
    with ExitStack() as stack:
        if lock and not dry_run:
            for job in jobs:
                if not stack.enter_context(job_lock(state_dir, job.name)):
                    raise WorkbookBusyError("cli.run.busy", job=job.name)
        report = run(backend, jobs, now=now, template=template, dry_run=dry_run, extras=extras,
                     cache=read_cache(config, create=not dry_run), progress=progress)
    tz = report.settings.tz if report.settings is not None else Settings().tz
    set_log_timezone(tz)
    outcome = RunOutcome(report)
    if not dry_run:
        deliver(outcome, delivery, config.outbox_dir(), send=send, now=shop_aware(now, tz))
    return outcome


def deliver(outcome: RunOutcome, delivery: DeliveryConfig, root: Path, *, send: bool, now: datetime) -> None:
    """Render the run's reports into the outbox and send what is pending (earlier failures
    included, so every run is a retry). Status lines and failures go into ``outcome``."""
    report = outcome.report
    outbox = Outbox(delivery, os.environ, clock=lambda: now, root=root)
    lines = outcome.messages
    rendered = ([render_weekly(report.weekly)] if report.weekly is not None else []) + \
               ([render_daily(report.daily)] if report.daily is not None else []) + \
               (render_scorecard(report.scorecard) if report.scorecard is not None else [])
    alerts = report.alerts
    if alerts is not None:
        shop = report.settings.shop_name if report.settings is not None else ""
        rendered += [render_alert(batch, shop=shop, now=report.now) for batch in alerts.batches]
        if alerts.held and alerts.resume_at is not None:
            lines.append(t("delivery.alert.held", count=alerts.held, when=f"{alerts.resume_at:%Y-%m-%d %H:%M}"))
    for msg in rendered:
        status = outbox.put(msg)
        lines.append(t(f"delivery.status.{status}", key=msg.key, path=outbox.path(msg.key, ".eml")))
    touched, said = bool(rendered), False
    if send:
        done = outbox.deliver_pending()
        lines += [t("delivery.status.sent", key=key, channel=channel_label(channel)) for key, channel in done.sent]
        lines += [t("cli.run.expired", key=key, path=outbox.root / "expired") for key in done.expired]
        outcome.failures = list(done.failed)
        if done.waiting and not outbox.channels():
            lines.append(t("delivery.status.no_channels", folder=outbox.root))
            said = True
        elif done.waiting:
            lines += [t("delivery.status.no_recipients", key=key, folder=outbox.root) for key in done.waiting]
        touched = touched or bool(done.sent or done.failed or done.waiting or done.expired)
    if touched:
        outcome.outbox = outbox.root
        if not said:
            lines.append(t("cli.run.outbox", path=outbox.root))


# -- jobs and the scheduler ---------------------------------------------------------------------


def trigger_text(trigger: Trigger) -> str:
    if trigger.kind == "every":
        return t("cli.trigger.every", minutes=trigger.minutes)
    if trigger.kind == "beat":
        return t("cli.trigger.beat", minutes=trigger.minutes, off=trigger.off_minutes)
    if trigger.kind == "daily":
        return t("cli.trigger.daily", at=trigger.at)
    if trigger.kind == "monthly":
        return t("cli.trigger.monthly", day=trigger.day, at=trigger.at)
    weekdays = active().raw("fmt.weekdays")
    return t("cli.trigger.weekly", weekday=weekdays[trigger.weekday or 0], at=trigger.at)


def job_title(job: Job) -> str:
    return t(job.title) if active().has(job.title) else job.title


def list_jobs(config: Config, *, now: datetime) -> list[str]:
    settings = settings_or_default(config, now)
    moment = shop_aware(now, settings.tz)
    lines = []
    for job in all_jobs().values():
        trigger = job.trigger(settings)
        lines.append(t("cli.jobs.line", name=job.name, when=trigger_text(trigger),
                       next=next_run(trigger, moment, settings.tz), title=job_title(job)))
    return lines


def read_settings(config: Config, now: datetime) -> Settings:
    """The 设置 of the configured workbook (errors if it cannot be opened or read)."""
    return load(open_backend(config).read(), load_template(config.template), now).settings


def settings_or_default(config: Config, now: datetime) -> Settings:
    """Settings from the workbook's 设置 tab when a workbook is configured, else the defaults."""
    try:
        return read_settings(config, now)
    except SheetsyncError as exc:
        log.info("%s", t("cli.schedule.default_settings", error=exc))
        return Settings()


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


def run_schedule(config: Config, *, now: datetime | None = None, once: bool = False,
                 out: Callable[[str], None] = print, clock: Callable[[], datetime] | None = None,
                 stop_event: threading.Event | None = None) -> int:
    """``sheetsync schedule``: check everything, say what it watches and when each job runs
    next, then run the jobs as they fall due until stopped (``once``: only what is due now).
    Each run goes through ``run_jobs``, like ``sheetsync run``. ``now`` (--now) starts the
    clock at that time; a naive ``now`` is shop time."""
    jobs = list(all_jobs().values())
    load_template(config.template)
    config.checked_delivery(os.environ)  # a missing secret stops us now, not on Sunday
    state_dir = writable_state_dir(config)
    first = now or (clock or _utc_now)()
    settings = read_settings(config, first)  # fails fast on a workbook it cannot open
    set_log_timezone(settings.tz)
    if clock is None:
        start = shop_aware(first, settings.tz)
        offset = start - _utc_now() if now is not None else timedelta(0)
        clock = (lambda: _utc_now() + offset) if now is not None else _utc_now
    latest: dict[str, Settings] = {"settings": settings}

    def run_job(names: list[str], when: datetime) -> None:
        # every job due at this tick in one run: one read, at most one write (the scheduler holds
        # the locks); its log gets each phase as a plain line
        outcome = run_jobs(config, names, now=when, lock=False, progress=Progress(terminal=False))
        if outcome.report.settings is not None:
            latest["settings"] = outcome.report.settings
            set_log_timezone(outcome.report.settings.tz)
        for line in outcome.text().splitlines():  # what it read, found, wrote and delivered
            log.info("%s", line)
        for failure in outcome.failures:
            log.error("%s", failure)

    def current_settings() -> Settings:
        return latest["settings"]

    scheduler = SheetsyncScheduler(jobs, current_settings, run_job, state_dir, clock=clock)
    moment = clock().astimezone(settings.tz)
    out(t("cli.schedule.start", source=config.source(), tz=settings.tz_name, state_dir=state_dir))
    for job, (_name, due) in zip(jobs, scheduler.next_runs(moment), strict=True):
        when = trigger_text(job.trigger(settings))
        if due <= moment:
            out(t("cli.schedule.overdue", name=job.name, when=when, due=f"{due:%Y-%m-%d %H:%M}"))
        else:
            out(t("cli.schedule.next", name=job.name, when=when, next=f"{due:%Y-%m-%d %H:%M}"))
    if once:
        scheduler.catch_up(clock())
    else:
        scheduler.run_forever(stop_event)
    out(t("cli.schedule.stopped"))
    return 0


# -- demo ---------------------------------------------------------------------------------------


@dataclass
class DemoResult:
    workbook: Path
    outcome: RunOutcome
    outbox: Path

    def text(self) -> str:
        r = self.outcome.report
        by_tab: dict[str, int] = {}
        for f in r.findings:
            by_tab[f.tab] = by_tab.get(f.tab, 0) + 1
        lines = [t("cli.demo.workbook", path=self.workbook),
                 t("cli.demo.found", n=len(r.findings),
                   by_tab=active().join(t("cli.demo.by_tab", tab=tab, n=n) for tab, n in by_tab.items())),
                 t("cli.demo.examples")]
        lines.extend(t("cli.demo.example", where=finding_where(f), message=finding_text(f))
                     for f in _examples(r.findings))
        lines.append(self.outcome.text())
        lines.append(t("cli.demo.open_hint", name=self.workbook.name))
        return "\n".join(lines)


def _examples(findings: list[Finding], n: int = 5) -> list[Finding]:
    seen, out = set(), []
    for f in findings:
        if f.paint and f.code not in seen:
            seen.add(f.code)
            out.append(f)
        if len(out) == n:
            break
    return out


def run_demo(folder: Path, *, now: datetime, template: str = DEFAULT_LANGUAGE, overwrite: bool = False) -> DemoResult:
    """Write a demo workbook in ``folder`` and run every job on it. An existing demo.xlsx may
    hold someone's edits: it is kept unless ``overwrite`` (then renamed demo.xlsx.old)."""
    path = folder / "demo.xlsx"
    old = path.with_name(path.name + ".old")
    if path.exists() and not overwrite:
        raise ConfigError("cli.demo.exists", path=str(path), backup=old.name)
    tpl = load_template(template)
    config = Config(backend="xlsx", workbook=path, template=template)
    _prove_writable(folder)
    if path.exists():
        os.replace(path, old)
        path.with_name(path.name + ".bak").unlink(missing_ok=True)
        shutil.rmtree(path.with_name(path.name + ".backups"), ignore_errors=True)  # the old demo's backups
        shutil.rmtree(config.resolved_state_dir(), ignore_errors=True)  # the old demo's outbox and schedule
    writable_state_dir(config)
    local = to_shop_time(now, "Asia/Shanghai") if now.tzinfo is not None else now
    XlsxBackend(path).init_layout(layouts_with_rows(tpl, demo_rows(local, tpl)))
    aware = now if now.tzinfo is not None else now.replace(tzinfo=ZoneInfo("Asia/Shanghai"))
    outcome = run_jobs(config, list(all_jobs()), now=aware)
    return DemoResult(path, outcome, config.outbox_dir())
