"""What a job is: a name, when it runs, and a pure function of (workbook, settings, state, now).

The modules in the top-level ``jobs/`` folder each declare one ``JOB = Job(...)``; the
registry (``sheetsync.registry``) loads them. A job never sees a backend.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time
from typing import TYPE_CHECKING, Any, Callable

from .model import DailyDigest, Finding, FillValue, ReplaceTab, WeeklyReport

if TYPE_CHECKING:  # pragma: no cover
    from .settings import Settings
    from .state import State
    from .binding import BoundWorkbook


@dataclass(frozen=True)
class Trigger:
    """When a job runs, in shop time. kind: 'every' (every ``minutes``), 'daily' (at ``at``),
    'weekly' (on ``weekday`` 0=Monday at ``at``), 'beat' (every ``minutes`` from ``at`` to
    ``until`` — the working hours —, every ``off_minutes`` outside them, and at each opening),
    'monthly' (on ``day`` 1..28 at ``at``)."""

    kind: str
    minutes: int = 0
    at: time | None = None
    weekday: int | None = None
    off_minutes: int = 0
    until: time | None = None
    day: int | None = None

    @classmethod
    def every(cls, minutes: int) -> "Trigger":
        return cls("every", minutes=minutes)

    @classmethod
    def daily(cls, at: time) -> "Trigger":
        return cls("daily", at=at)

    @classmethod
    def weekly(cls, weekday: int, at: time) -> "Trigger":
        return cls("weekly", at=at, weekday=weekday)

    @classmethod
    def monthly(cls, day: int, at: time) -> "Trigger":
        return cls("monthly", at=at, day=day)

    @classmethod
    def beat(cls, minutes: int, off_minutes: int, start: time | None, end: time | None) -> "Trigger":
        """Every ``minutes`` in working hours ``start``-``end``, every ``off_minutes`` outside;
        without working hours (round the clock) simply every ``minutes``."""
        if start is None or end is None:
            return cls.every(minutes)
        return cls("beat", minutes=minutes, at=start, off_minutes=max(off_minutes, minutes), until=end)


# Outside working hours the check runs this often (设置 检查间隔 is the beat inside them).
OFF_HOURS_MINUTES = 15


def check_beat(settings: "Settings") -> Trigger:
    """The trigger of the checking jobs (validate, reconcile-stock): 设置 检查间隔 in 工作时间
    (default 2 minutes), every 15 minutes outside. Jobs due at the same tick share one run."""
    minutes = max(1, min(24 * 60, round(settings.check_interval.total_seconds() / 60)))
    return Trigger.beat(minutes, OFF_HOURS_MINUTES, settings.work_start, settings.work_end)


@dataclass
class JobContext:
    workbook: "BoundWorkbook"
    settings: "Settings"
    state: "State"
    now: datetime  # naive, shop-local time
    # inputs the shell loaded for a job (e.g. "stock_export": {SKU: count}, "stock_export_source": name)
    extras: dict[str, Any] = field(default_factory=dict)


@dataclass
class JobOutput:
    findings: list[Finding] = field(default_factory=list)
    fills: list[FillValue] = field(default_factory=list)
    tabs: list[ReplaceTab] = field(default_factory=list)
    weekly: WeeklyReport | None = None
    daily: DailyDigest | None = None
    scorecard: Any = None  # core.scorecard.ScorecardReport (the cs-scorecard job)
    # state entries this job wants remembered: kind -> {key: json-able value}
    state: dict[str, dict[str, Any]] = field(default_factory=dict)


@dataclass(frozen=True)
class Job:
    name: str  # "validate", "reconcile-stock", "daily-digest", "weekly-summary"
    title: str  # catalogue key of its one-liner for `sheetsync jobs` ("cli.job.validate"); words live at the edge
    trigger: Callable[["Settings"], Trigger]
    compute: Callable[[JobContext], JobOutput]
    # problem codes this job owns: its findings replace earlier ones with these prefixes
    owns_prefixes: tuple[str, ...] = ()
    # the job may report a week (周报): it runs before the others, which then see the week reported
    reports: bool = False
