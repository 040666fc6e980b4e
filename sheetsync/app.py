"""Use cases behind the CLI commands: open the configured backend, run, hand reports to delivery.

Kept separate from ``cli`` so tests and other programs call the same code the commands do.
"""

from __future__ import annotations

import logging
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from .backends.base import InitResult
from .config import Config, open_backend
from .engine import RunReport, load, run
from .i18n import active, describe_changes
from .errors import SheetsyncError, WorkbookBusyError
from .core.layout import layouts, layouts_with_rows
from .core.model import Finding
from .registry import all_jobs, get_jobs
from .core.template import load_template

log = logging.getLogger(__name__)


def _extras(config: Config) -> dict[str, Any]:
    if config.stock_export is None:
        return {}
    from .stock_export import load_stock_export

    counts, source = load_stock_export(config.stock_export)
    return {"stock_export": counts, "stock_export_source": source}


def init_workbook(config: Config) -> InitResult:
    template = load_template(config.template)
    return open_backend(config).init_layout(layouts(template))


def check_workbook(config: Config, *, now: datetime) -> list[Finding]:
    backend = open_backend(config)
    report = run(backend, get_jobs(["validate", "reconcile-stock"]), now=now,
                 template=load_template(config.template), dry_run=True, extras=_extras(config))
    return report.findings


@dataclass
class RunOutcome:
    report: RunReport
    messages: list[str] = field(default_factory=list)  # what delivery did, one line each

    def text(self) -> str:
        r = self.report
        lines = [f"{r.source}: 读取 {r.rows_read} 行, 当前 {len(r.findings)} 个问题。"]
        if r.dry_run:
            lines.append(f"预览 (--dry-run), 没有写入。将要做的 {r.changes.count()} 处改动:")
            lines.extend(f"  {line}" for line in describe_changes(r.changes, active()))
        elif r.applied is None:
            lines.append("没有新的变化, 工作簿没有改动。")
        else:
            lines.append(f"已写入 {r.applied.written} 处改动。" + (f" 备份: {r.applied.backup}" if r.applied.backup else ""))
            lines.extend(f"  跳过: {s}" for s in r.applied.skipped)
        if r.weekly is not None:
            w = r.weekly.week
            kpis = ", ".join(f"{k.label} {_pct(k.value)}" for k in w.kpis)
            lines.append(f"周报 {w.week_start:%m.%d}–{w.week_end:%m.%d}: {kpis}")
        lines.extend(self.messages)
        return "\n".join(lines)


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%".replace(".0%", "%")


def run_jobs(config: Config, job_names: list[str] | None, *, now: datetime, dry_run: bool = False,
             send: bool = True, lock: bool = True) -> RunOutcome:
    """Run jobs once. ``lock`` takes each job's lock (the scheduler already holds it), so a cron
    run and a running ``sheetsync schedule`` never run the same job at the same time."""
    backend = open_backend(config)
    template = load_template(config.template)
    jobs = get_jobs(job_names)
    with ExitStack() as stack:
        if lock and not dry_run:
            from .scheduler import job_lock

            for job in jobs:
                if not stack.enter_context(job_lock(config.resolved_state_dir(), job.name)):
                    raise WorkbookBusyError(f"另一个 sheetsync 进程正在运行「{job.name}」(例如 sheetsync schedule), "
                                            "这次没有运行。稍后再试。")
        report = run(backend, jobs, now=now, template=template, dry_run=dry_run, extras=_extras(config))
    outcome = RunOutcome(report)
    if not dry_run:
        outcome.messages = deliver(report, config, send=send, now=now)
    return outcome


def deliver(report: RunReport, config: Config, *, send: bool, now: datetime) -> list[str]:
    """Render the run's reports into the outbox and send what is configured. Returns status lines."""
    from .delivery import delivery_for_reports

    return delivery_for_reports(report.weekly, report.daily, config.delivery, config.resolved_state_dir() / "outbox",
                                send=send, now=now)


def list_jobs(config: Config, *, now: datetime) -> list[str]:
    from .scheduler import next_run

    settings = settings_or_default(config, now)
    lines = []
    for job in all_jobs().values():
        trigger = job.trigger(settings)
        nxt = next_run(trigger, now, settings.tz)
        lines.append(f"{job.name:<16} {trigger.describe():<14} 下次 {nxt:%Y-%m-%d %H:%M}  {job.title}")
    return lines


def settings_or_default(config: Config, now: datetime):
    """Settings from the workbook's 设置 tab when a workbook is configured, else the defaults."""
    from .core.settings import Settings

    try:
        backend = open_backend(config)
        return load(backend.read(), load_template(config.template), now).settings
    except SheetsyncError as exc:
        log.info("using default settings: %s", exc)
        return Settings()


def run_schedule(config: Config) -> int:
    from .scheduler import serve

    return serve(config)


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
        lines = [f"演示工作簿: {self.workbook}",
                 f"发现 {len(r.findings)} 个问题: " + ", ".join(f"{t} {n}" for t, n in by_tab.items()),
                 "例如:"]
        lines.extend(f"  {f.where()}: {f.message}" for f in _examples(r.findings))
        lines.append(self.outcome.text())
        lines.append(f"邮件和群消息预览在: {self.outbox}")
        lines.append(f"用 Excel/WPS/LibreOffice 打开 {self.workbook.name}, 红色单元格上的批注写着原因。")
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


def run_demo(folder: Path, *, now: datetime) -> DemoResult:
    """Write a fresh demo workbook in ``folder`` and run every job on it."""
    from .backends.xlsx import XlsxBackend
    from .config import Config
    from .demo import demo_rows
    from .engine import to_shop_time

    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "demo.xlsx"
    for old in (path, path.with_name(path.name + ".bak")):
        old.unlink(missing_ok=True)
    template = load_template("zh-CN")
    local = to_shop_time(now, "Asia/Shanghai")
    XlsxBackend(path).init_layout(layouts_with_rows(template, demo_rows(local)))
    config = Config(backend="xlsx", workbook=path, state_dir=folder)
    outcome = run_jobs(config, list(all_jobs()), now=now)
    return DemoResult(path, outcome, config.resolved_state_dir() / "outbox")
