"""``sheetsync schedule``: run the jobs by themselves, in shop time, never twice, never lost.

How it decides
--------------
Due times come from one pure function, ``next_run(trigger, after, tz)``, used for the
``sheetsync jobs`` listing, for normal running and for catch-up alike. A job is due when the
first slot after its last successful run has come. That single rule gives both promises:

- catch-up: after the machine was off for days, the first slot after the last success is long
  past, so the job runs once, records a new success, and its next slot is in the future again;
  it does not run once per missed slot;
- no double run: the last success is kept on disk (``<state_dir>/scheduler.json``) and
  re-read under the job's lock before running, so neither a restart nor a second scheduler
  process runs a slot that was already served.

A job that fails keeps its old last success (so a restart retries it once) but waits for its
next slot in this process, so a broken job does not spin.

Slots: 'every N minutes' counts N minutes from local midnight each day (every 15 -> :00, :15,
:30, :45); 'daily' and 'weekly' are wall-clock times in the shop's time zone. A wall time
skipped by a daylight-saving change runs at the same clock reading after the jump (02:30 ->
03:30); a repeated one runs the first time it occurs. 'beat' (the checking jobs) is 'every N
minutes' inside the working hours (设置 检查间隔, default 2), every 15 outside, and at each opening.

How it runs
-----------
The loop is the ``schedule`` library's, on an explicit ``schedule.Scheduler()`` (never the
module-global one). schedule's own jobs read ``datetime.now()`` in the machine's naive local
time and need pytz for time zones; ``_ShopJob`` replaces exactly the parts that read the time
(the due time, the "is it time" test) with ``next_run`` and an injected clock, and keeps the job
registry and the ordering of due jobs. Every job due at one tick runs in ONE call of ``run_job``
(validate and reconcile-stock every beat, the digest at 22:00 with them): one read of the
workbook, at most one write, one 运行记录 row, one backup.

Locks are ``fcntl.flock`` on ``<state_dir>/locks/<job>.lock`` (non-blocking: a second process
logs and skips). SIGTERM / SIGINT set a flag; the running tick finishes, no further tick starts,
and ``run_forever`` returns.
"""

from __future__ import annotations

import json
import logging
import math
import os
import signal
import threading
from contextlib import ExitStack
from datetime import date, datetime, time, timedelta, timezone, tzinfo
from pathlib import Path
from typing import Any, Callable, Sequence

import schedule

from .core.job import Job, Trigger
from .core.settings import Settings
from .errors import ConfigError, SheetsyncError
from .i18n import t
from .locks import file_lock, job_lock

__all__ = ["SheetsyncScheduler", "next_run", "job_lock", "file_lock"]

log = logging.getLogger(__name__)

STATE_FILE = "scheduler.json"
MAX_SLEEP_SECONDS = 60  # re-check at least this often: the clock may jump (suspend, NTP)


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


def _require_aware(moment: datetime, what: str) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{what} must be a timezone-aware datetime, got {moment!r}")


# ---------------------------------------------------------------------------------------------
# Trigger arithmetic (pure).


def _at(day: date, at: time, tz: tzinfo) -> datetime:
    """Wall-clock ``at`` on ``day`` as a UTC instant. The round trip through UTC resolves a
    wall time inside a DST gap to the instant after the jump."""
    return datetime.combine(day, at, tzinfo=tz).astimezone(timezone.utc)


def next_run(trigger: Trigger, after: datetime, tz: tzinfo) -> datetime:
    """The first slot of ``trigger`` strictly after ``after`` (aware), in ``tz``."""
    _require_aware(after, "after")
    after_utc = after.astimezone(timezone.utc)
    today = after.astimezone(tz).date()
    if trigger.kind == "every":
        return _every(trigger.minutes, after_utc, today, tz)
    if trigger.kind == "beat" and trigger.at is not None and trigger.until is not None:
        opening, closing = trigger.at, trigger.until

        def working(moment: datetime) -> bool:
            return opening <= moment.astimezone(tz).time() < closing

        inside = _every(trigger.minutes, after_utc, today, tz)
        outside = _every(trigger.off_minutes, after_utc, today, tz)
        candidates = [c for c, ok in ((inside, working(inside)), (outside, not working(outside))) if ok]
        candidates.append(next_run(Trigger.daily(opening), after, tz))  # the first check of the day
        return min(candidates)
    if trigger.at is None:
        raise ConfigError("cli.trigger.no_time", kind=trigger.kind)
    if trigger.kind == "daily":
        days = range(0, 2)
    elif trigger.kind == "monthly":
        if trigger.day is None or not 1 <= trigger.day <= 28:
            raise ConfigError("cli.trigger.bad_day", day=repr(trigger.day))
        first = today.replace(day=1)
        for month in range(3):
            year, index = divmod(first.month - 1 + month, 12)
            candidate = _at(date(first.year + year, index + 1, trigger.day), trigger.at, tz)
            if candidate > after_utc:
                return candidate.astimezone(tz)
        raise AssertionError("a monthly slot always exists within two months")
    elif trigger.kind == "weekly":
        if trigger.weekday is None or not 0 <= trigger.weekday <= 6:
            raise ConfigError("cli.trigger.bad_weekday", weekday=repr(trigger.weekday))
        days = range((trigger.weekday - today.weekday()) % 7, 8, 7)
    else:
        raise ConfigError("cli.trigger.bad_kind", kind=trigger.kind)
    for offset in days:
        candidate = _at(today + timedelta(days=offset), trigger.at, tz)
        if candidate > after_utc:
            return candidate.astimezone(tz)
    raise AssertionError("a daily or weekly slot always exists within 8 days")  # pragma: no cover


def _every(minutes: int, after_utc: datetime, today: date, tz: tzinfo) -> datetime:
    """The next slot of 'every ``minutes``' counted from local midnight, after ``after_utc``."""
    if not 1 <= minutes <= 24 * 60:
        raise ConfigError("cli.trigger.bad_interval", minutes=minutes)
    step = timedelta(minutes=minutes)
    start, end = _at(today, time(0), tz), _at(today + timedelta(days=1), time(0), tz)
    candidate = start + ((after_utc - start) // step + 1) * step
    return min(candidate, end).astimezone(tz)


# ---------------------------------------------------------------------------------------------
# State on disk.


class _State:
    """Per job: ``since`` (first scheduled here), ``last_success``, ``last_attempt``,
    ``last_error``. Updates re-read the file under a lock, so two processes never lose each
    other's entries."""

    def __init__(self, state_dir: Path):
        self.path = state_dir / STATE_FILE
        self.lock_path = state_dir / "locks" / ".state.lock"
        self.jobs: dict[str, dict[str, Any]] = {}

    def load(self) -> None:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            data = {}
        except ValueError:
            log.warning("%s", t("cli.schedule.state_corrupt", path=self.path))
            data = {}
        self.jobs = data.get("jobs", {}) if isinstance(data, dict) else {}

    def update(self, name: str, **fields: Any) -> None:
        with file_lock(self.lock_path, blocking=True):
            self.load()
            self.jobs.setdefault(name, {}).update(fields)
            tmp = self.path.with_name(f".{self.path.name}.tmp")
            tmp.write_text(json.dumps({"version": 1, "jobs": self.jobs}, ensure_ascii=False, indent=2),
                           encoding="utf-8")
            os.replace(tmp, self.path)

    def time(self, name: str, key: str) -> datetime | None:
        value = self.jobs.get(name, {}).get(key)
        return datetime.fromisoformat(value) if value else None


# ---------------------------------------------------------------------------------------------
# The scheduler.


class _ShopJob(schedule.Job):
    """A schedule.Job whose due time is ``next_run`` in shop time and whose "now" is the
    scheduler's injected clock, instead of schedule's naive ``datetime.now()``."""

    def __init__(self, owner: "SheetsyncScheduler", job_name: str):
        super().__init__(1, owner._schedule)
        self.unit = "minutes"  # only read by schedule's own rescheduling, which this class replaces
        self.owner = owner
        self.job_name = job_name

    def _schedule_next_run(self) -> None:
        self.next_run = self.owner._due(self.job_name, self.owner._now)

    @property
    def should_run(self) -> bool:
        return self.next_run is not None and self.owner._now >= self.next_run



class SheetsyncScheduler:
    """Runs ``jobs`` on their triggers. It never computes anything itself: when jobs are due it
    calls ``run_job(names, now)`` once for all the jobs due at that tick (they share one read and
    one write), with ``now`` aware in the shop time zone; an exception from ``run_job`` marks
    the run of each of them failed. ``settings_provider`` is asked for the current Settings
    at start and after every run, so a new time typed into 设置 takes effect after the next
    run (at most 15 minutes with the default validate job)."""

    def __init__(
        self,
        jobs: Sequence[Job],
        settings_provider: Callable[[], Settings],
        run_job: Callable[[list[str], datetime], object],
        state_dir: Path,
        clock: Callable[[], datetime] = _utc_now,
    ):
        self.jobs = {job.name: job for job in jobs}
        self.state_dir = Path(state_dir)
        self._settings_provider = settings_provider
        self._run_job = run_job
        self._clock = clock
        self._state = _State(self.state_dir)
        self._schedule = schedule.Scheduler()
        self._settings: Settings | None = None
        self._tried: dict[str, datetime] = {}  # this process's last attempt, failed ones included
        self._now: datetime = clock().astimezone(timezone.utc)
        self._stop = threading.Event()
        self._signalled = False

    # -- due times --------------------------------------------------------------------------

    def _current_settings(self) -> Settings:
        if self._settings is None:
            self._settings = self._settings_provider()
        return self._settings

    def _refresh_settings(self) -> None:
        try:
            self._settings = self._settings_provider()
        except Exception as exc:  # keep running on the last good settings; the next run retries
            log.warning("%s", t("cli.schedule.settings_failed", error=exc))

    def _due(self, name: str, now: datetime) -> datetime:
        """In UTC: comparisons between two times of the same zone ignore DST folds."""
        settings = self._current_settings()
        anchors = [t for t in (self._state.time(name, "last_success"), self._state.time(name, "since"),
                               self._tried.get(name)) if t is not None]
        anchor = max(anchors) if anchors else now
        return next_run(self.jobs[name].trigger(settings), anchor, settings.tz).astimezone(timezone.utc)

    def next_runs(self, now: datetime) -> list[tuple[str, datetime]]:
        """(job name, next due time in shop time) in job order. A time at or before ``now``
        means the job is overdue and runs as soon as the scheduler runs."""
        _require_aware(now, "now")
        self._state.load()
        tz = self._current_settings().tz
        return [(name, self._due(name, now.astimezone(timezone.utc)).astimezone(tz)) for name in self.jobs]

    # -- running ----------------------------------------------------------------------------

    def _register(self, now: datetime) -> None:
        """Put every job on the schedule (once), remembering since when it is scheduled so a
        job that has never succeeded can still be caught up after a long pause."""
        if self._schedule.jobs:
            return
        self._now = now.astimezone(timezone.utc)
        self._state.load()
        for name in self.jobs:
            if self._state.time(name, "since") is None:
                self._state.update(name, since=now.astimezone(timezone.utc).isoformat())
        for name in self.jobs:
            _ShopJob(self, name).do(self._run_tick, [name])

    def catch_up(self, now: datetime) -> None:
        """Run once every job that fell due while no scheduler was running."""
        _require_aware(now, "now")
        self._register(now)
        for name, due in self.next_runs(now):
            if due <= now:
                log.info("%s", t("cli.schedule.catch_up", job=name, due=due.replace(tzinfo=None)))
        self.run_pending(now)

    def run_pending(self, now: datetime) -> None:
        """Run every job due at ``now`` — together, as one run (one read of the workbook, at
        most one write, one 运行记录 row), in the order they fell due."""
        _require_aware(now, "now")
        self._register(now)
        self._now = now.astimezone(timezone.utc)
        for job in self._schedule.jobs:
            job._schedule_next_run()
        due = [job for job in sorted(self._schedule.jobs) if isinstance(job, _ShopJob) and job.should_run]
        if due and not self.stopping():
            self._run_tick([job.job_name for job in due])
            for job in due:
                job.last_run = self._now
                job._schedule_next_run()

    def _run_tick(self, names: list[str]) -> None:
        now = self._now
        with ExitStack() as stack:
            ready = []
            for name in names:
                if stack.enter_context(job_lock(self.state_dir, name)):
                    ready.append(name)
                else:
                    log.warning("%s", t("cli.schedule.busy_skip", job=name))
                    self._tried[name] = now
            self._state.load()
            for name in list(ready):
                if self._due(name, now) > now:
                    log.info("%s", t("cli.schedule.already_ran", job=name))
                    ready.remove(name)
            if ready:
                self._execute(ready, now)
        self._refresh_settings()

    def _execute(self, names: list[str], now: datetime) -> None:
        stamp = now.astimezone(timezone.utc).isoformat()
        label = ", ".join(names)
        log.info("%s", t("cli.schedule.running", job=label))
        try:
            self._run_job(names, now.astimezone(self._current_settings().tz))
        except SheetsyncError as exc:
            log.error("%s", t("cli.schedule.failed", job=label, error=exc))
            for name in names:
                self._state.update(name, last_attempt=stamp, last_error=str(exc))
        except Exception as exc:  # one broken run must not stop the scheduler
            log.exception("%s", t("cli.schedule.crashed", job=label))
            for name in names:
                self._state.update(name, last_attempt=stamp, last_error=f"{type(exc).__name__}: {exc}")
        else:
            for name in names:
                self._state.update(name, last_success=stamp, last_attempt=stamp, last_error=None)
            log.info("%s", t("cli.schedule.done", job=label))
        finally:
            for name in names:
                self._tried[name] = now

    # -- the loop ---------------------------------------------------------------------------

    def stopping(self) -> bool:
        return self._signalled or self._stop.is_set()

    def _on_signal(self, signum: int, _frame: object) -> None:
        # only set a flag: logging or locking inside a signal handler can deadlock
        self._signalled = True

    def _seconds_to_next(self, now: datetime) -> float:
        upcoming = [job.next_run for job in self._schedule.jobs if job.next_run is not None]
        if not upcoming:
            return MAX_SLEEP_SECONDS
        return min(max((min(upcoming) - now).total_seconds(), 1.0), MAX_SLEEP_SECONDS)

    def run_forever(self, stop_event: threading.Event | None = None) -> None:
        """Catch up, then run jobs as they fall due until SIGTERM / SIGINT or ``stop_event``.
        A job that is running when the stop comes is finished first."""
        if stop_event is not None:
            self._stop = stop_event
        previous: dict[signal.Signals, Any] = {}
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGTERM, signal.SIGINT):
                previous[sig] = signal.signal(sig, self._on_signal)
        try:
            self.catch_up(self._clock())
            while not self.stopping():
                self.run_pending(self._clock())
                for _ in range(math.ceil(self._seconds_to_next(self._clock()))):
                    if self.stopping():
                        break
                    self._stop.wait(1.0)
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
