"""The scheduler with an injected clock: next-run times in shop time, catch-up once after a gap,
no double run, the per-job lock across processes, and a clean stop on SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time as _time
from dataclasses import replace
from datetime import datetime, time, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import schedule

from sheetsync.errors import BackendError
from sheetsync.core.job import Job, JobOutput, Trigger
from sheetsync.scheduler import SheetsyncScheduler, job_lock, next_run
from sheetsync.core.settings import Settings

UTC = timezone.utc
SH = ZoneInfo("Asia/Shanghai")
REPO = Path(__file__).resolve().parents[1]


def no_output(_ctx):
    return JobOutput()


JOBS = [
    Job("validate", "检查表格", lambda s: Trigger.every(15), no_output),
    Job("daily-digest", "客服日报", lambda s: Trigger.daily(s.daily_time), no_output),
    Job("weekly-summary", "周报", lambda s: Trigger.weekly(s.weekly_weekday, s.weekly_time), no_output),
]


class Recorder:
    """run_job callback: remembers (name, now) of every job it ran, the jobs of each tick
    (``ticks``), and can be told to fail."""

    def __init__(self):
        self.calls: list[tuple[str, datetime]] = []
        self.ticks: list[list[str]] = []
        self.failing: set[str] = set()

    def __call__(self, names: list[str], now: datetime) -> None:
        self.ticks.append(list(names))
        self.calls.extend((name, now) for name in names)
        failing = [name for name in names if name in self.failing]
        if failing:
            raise BackendError(f"「{failing[0]}」读不到工作簿")

    def names(self) -> list[str]:
        return [n for n, _ in self.calls]


def make(state_dir: Path, recorder: Recorder, settings: Settings | None = None, jobs=JOBS) -> SheetsyncScheduler:
    return SheetsyncScheduler(jobs, lambda: settings or Settings(), recorder, state_dir)


def sh(*args) -> datetime:
    return datetime(*args, tzinfo=SH)


# ---------------------------------------------------------------------------------------------
# next_run


@pytest.mark.parametrize("trigger, after, tz, expected", [
    (Trigger.every(15), datetime(2026, 11, 22, 1, 7, tzinfo=UTC), SH, sh(2026, 11, 22, 9, 15)),
    (Trigger.every(15), datetime(2026, 11, 22, 1, 15, tzinfo=UTC), SH, sh(2026, 11, 22, 9, 30)),
    (Trigger.every(15), datetime(2026, 11, 22, 15, 55, tzinfo=UTC), SH, sh(2026, 11, 23, 0, 0)),
    (Trigger.every(7), sh(2026, 11, 22, 23, 58), SH, sh(2026, 11, 23, 0, 0)),
    (Trigger.daily(time(22, 0)), datetime(2026, 11, 22, 13, 59, tzinfo=UTC), SH, sh(2026, 11, 22, 22, 0)),
    (Trigger.daily(time(22, 0)), datetime(2026, 11, 22, 14, 0, tzinfo=UTC), SH, sh(2026, 11, 23, 22, 0)),
    # Saturday 16:30 UTC is already Sunday 00:30 in Shanghai
    (Trigger.weekly(6, time(20, 0)), datetime(2026, 11, 21, 16, 30, tzinfo=UTC), SH, sh(2026, 11, 22, 20, 0)),
    (Trigger.weekly(6, time(20, 0)), datetime(2026, 11, 22, 12, 0, tzinfo=UTC), SH, sh(2026, 11, 29, 20, 0)),
    (Trigger.weekly(6, time(20, 0)), datetime(2026, 11, 18, 3, 0, tzinfo=UTC), SH, sh(2026, 11, 22, 20, 0)),
    (Trigger.weekly(0, time(9, 0)), sh(2026, 11, 22, 20, 0), SH, sh(2026, 11, 23, 9, 0)),
    # Berlin falls back at 03:00 CEST -> 02:00 CET: slots stay 15 real minutes apart
    (Trigger.every(15), datetime(2026, 10, 25, 0, 50, tzinfo=UTC), ZoneInfo("Europe/Berlin"),
     datetime(2026, 10, 25, 1, 0, tzinfo=UTC)),
    # New York skips 02:00-03:00: a 02:30 job runs at 03:30 EDT that day
    (Trigger.daily(time(2, 30)), datetime(2026, 3, 8, 5, 0, tzinfo=UTC), ZoneInfo("America/New_York"),
     datetime(2026, 3, 8, 7, 30, tzinfo=UTC)),
])
def test_next_run(trigger, after, tz, expected):
    got = next_run(trigger, after, tz)
    assert got.astimezone(UTC) == expected.astimezone(UTC)  # == across zones is False inside a DST fold
    assert got.tzinfo == tz  # shown in shop time


def test_next_run_rejects_naive_time():
    with pytest.raises(ValueError, match="timezone-aware"):
        next_run(Trigger.every(15), datetime(2026, 11, 22, 9, 0), SH)


BEAT = Trigger.beat(2, 15, time(9, 0), time(23, 0))


@pytest.mark.parametrize("after, expected", [
    (sh(2026, 11, 23, 10, 0), sh(2026, 11, 23, 10, 2)),  # in working hours: every 2 minutes
    (sh(2026, 11, 23, 10, 1, 30), sh(2026, 11, 23, 10, 2)),
    (sh(2026, 11, 23, 22, 58), sh(2026, 11, 23, 23, 0)),  # 23:00 is a 15-minute slot outside
    (sh(2026, 11, 23, 23, 0), sh(2026, 11, 23, 23, 15)),
    (sh(2026, 11, 23, 23, 50), sh(2026, 11, 24, 0, 0)),
    (sh(2026, 11, 24, 8, 45), sh(2026, 11, 24, 9, 0)),  # the opening itself
    (sh(2026, 11, 24, 8, 50), sh(2026, 11, 24, 9, 0)),
    (sh(2026, 11, 24, 9, 0), sh(2026, 11, 24, 9, 2)),
])
def test_the_check_beats_every_2_minutes_in_working_hours_and_15_outside(after, expected):
    assert next_run(BEAT, after, SH) == expected


def test_the_beat_comes_from_settings_and_is_plain_every_without_working_hours():
    from sheetsync.core.job import check_beat

    assert check_beat(Settings()) == Trigger.every(2)
    hours = Settings(work_start=time(9, 0), work_end=time(23, 0), check_interval=timedelta(minutes=5))
    assert check_beat(hours) == Trigger.beat(5, 15, time(9, 0), time(23, 0))
    day = [next_run(check_beat(hours), sh(2026, 11, 23, 0, 0) + timedelta(minutes=m), SH) for m in range(0, 24 * 60)]
    assert len(set(day)) == 14 * 12 + 10 * 4  # 168 checks in the 14 working hours, 40 in the other 10


def test_jobs_due_at_the_same_tick_run_as_one(tmp_path):
    jobs = [Job("validate", "", lambda s: BEAT, no_output), Job("reconcile-stock", "", lambda s: BEAT, no_output),
            Job("daily-digest", "", lambda s: Trigger.daily(time(22, 0)), no_output)]
    recorder = Recorder()
    scheduler = make(tmp_path, recorder, jobs=jobs)
    scheduler.catch_up(sh(2026, 11, 23, 21, 57))
    for minute in range(58, 61):
        scheduler.run_pending(sh(2026, 11, 23, 21, 0) + timedelta(minutes=minute))
    assert recorder.ticks == [["validate", "reconcile-stock"], ["validate", "reconcile-stock", "daily-digest"]]


# ---------------------------------------------------------------------------------------------
# catch-up, no double run, failures


def test_catch_up_runs_each_missed_job_once(tmp_path):
    first = Recorder()
    start = sh(2026, 11, 16, 10, 0)  # Monday
    scheduler = make(tmp_path, first)
    scheduler.catch_up(start)
    assert first.calls == []  # nothing was owed before the first start
    scheduler.run_pending(start + timedelta(minutes=15))
    assert first.names() == ["validate"]

    # the machine was off from Monday 10:15 until the next Monday 09:00
    back = sh(2026, 11, 23, 9, 0)
    later = Recorder()
    restarted = make(tmp_path, later)
    assert dict(restarted.next_runs(back)) == {
        "validate": sh(2026, 11, 16, 10, 30),
        "daily-digest": sh(2026, 11, 16, 22, 0),
        "weekly-summary": sh(2026, 11, 22, 20, 0),
    }
    restarted.catch_up(back)
    assert later.names() == ["validate", "daily-digest", "weekly-summary"]  # once each, earliest due first
    assert all(now == back and now.tzinfo == SH for _n, now in later.calls)

    restarted.run_pending(back)
    restarted.run_pending(back + timedelta(minutes=5))
    assert len(later.calls) == 3
    restarted.run_pending(sh(2026, 11, 23, 9, 15))
    assert later.names()[3:] == ["validate"]
    assert dict(restarted.next_runs(sh(2026, 11, 23, 9, 16))) == {
        "validate": sh(2026, 11, 23, 9, 30),
        "daily-digest": sh(2026, 11, 23, 22, 0),
        "weekly-summary": sh(2026, 11, 29, 20, 0),
    }


def test_no_double_run_across_instances(tmp_path):
    t = sh(2026, 11, 22, 20, 0)
    a, b = Recorder(), Recorder()
    make(tmp_path, a).catch_up(t - timedelta(days=1))
    one, two = make(tmp_path, a), make(tmp_path, b)
    one.run_pending(t)
    two.run_pending(t)  # started before `one` ran, sees its success on disk
    assert sorted(a.names()) == ["daily-digest", "validate", "weekly-summary"]
    assert b.calls == []


def test_failed_job_waits_for_next_slot_and_is_retried_after_restart(tmp_path, caplog):
    recorder = Recorder()
    recorder.failing.add("daily-digest")
    scheduler = make(tmp_path, recorder)
    scheduler.catch_up(sh(2026, 11, 22, 21, 50))
    scheduler.run_pending(sh(2026, 11, 22, 22, 0))
    # validate and the digest were due at 22:00: one tick, so it failed as one
    assert "「validate, daily-digest」运行失败: 「daily-digest」读不到工作簿" in caplog.text
    scheduler.run_pending(sh(2026, 11, 22, 22, 1))
    assert recorder.names().count("daily-digest") == 1  # no spinning on a broken job

    recorder.failing.clear()
    restarted = make(tmp_path, recorder)
    restarted.catch_up(sh(2026, 11, 22, 22, 5))
    assert recorder.names().count("daily-digest") == 2  # last success is still old: retried once
    restarted.run_pending(sh(2026, 11, 22, 22, 6))
    assert recorder.names().count("daily-digest") == 2


def test_new_times_from_settings_apply_after_the_next_run(tmp_path):
    recorder = Recorder()
    current = {"settings": Settings()}
    scheduler = SheetsyncScheduler(JOBS, lambda: current["settings"], recorder, tmp_path)
    scheduler.catch_up(sh(2026, 11, 22, 20, 40))
    assert dict(scheduler.next_runs(sh(2026, 11, 22, 20, 40)))["daily-digest"] == sh(2026, 11, 22, 22, 0)
    current["settings"] = replace(Settings(), daily_time=time(21, 0))  # someone edits 设置
    scheduler.run_pending(sh(2026, 11, 22, 20, 45))  # validate runs and re-reads the settings
    assert dict(scheduler.next_runs(sh(2026, 11, 22, 20, 46)))["daily-digest"] == sh(2026, 11, 22, 21, 0)
    scheduler.run_pending(sh(2026, 11, 22, 21, 0))
    assert "daily-digest" in recorder.names()


def test_uses_its_own_schedule_instance(tmp_path):
    make(tmp_path, Recorder()).catch_up(sh(2026, 11, 22, 9, 0))
    assert schedule.get_jobs() == []  # the module-global scheduler is untouched


def test_stop_event_stops_between_ticks(tmp_path):
    stop = threading.Event()
    ran: list[list[str]] = []

    def run_job(names, now):
        ran.append(names)
        stop.set()  # stop requested while this tick runs

    make(tmp_path, Recorder()).catch_up(datetime(2020, 1, 1, tzinfo=UTC))
    scheduler = SheetsyncScheduler(JOBS, Settings, run_job, tmp_path)
    worker = threading.Thread(target=scheduler.run_forever, kwargs={"stop_event": stop})
    worker.start()
    worker.join(10)
    assert not worker.is_alive()
    assert ran == [["validate", "daily-digest", "weekly-summary"]]  # the overdue jobs ran as one tick, once


# ---------------------------------------------------------------------------------------------
# Across processes


def child_env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}


def wait_for(condition, what: str) -> None:
    deadline = _time.monotonic() + 15
    while not condition():
        if _time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        _time.sleep(0.02)


def test_lock_held_by_another_process_is_refused(tmp_path, caplog):
    holder = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(f"""
            import sys
            from sheetsync.scheduler import job_lock
            with job_lock({str(tmp_path)!r}, "weekly-summary") as got:
                print("held" if got else "refused", flush=True)
                sys.stdin.read()
        """)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=child_env())
    try:
        assert holder.stdout.readline().strip() == "held"
        with job_lock(tmp_path, "weekly-summary") as got:
            assert got is False
        with job_lock(tmp_path, "validate") as got:
            assert got is True  # locks are per job

        recorder = Recorder()
        scheduler = make(tmp_path, recorder)
        scheduler.catch_up(sh(2026, 11, 22, 19, 50))
        scheduler.run_pending(sh(2026, 11, 22, 20, 0))
        assert recorder.names() == ["validate"]
        assert "「weekly-summary」正在由另一个 sheetsync 进程运行, 这次跳过。" in caplog.text
    finally:
        holder.stdin.close()
        holder.wait(10)
    with job_lock(tmp_path, "weekly-summary") as got:
        assert got is True


def test_sigterm_finishes_running_job_then_exits_cleanly(tmp_path):
    state, marks = tmp_path / "state", tmp_path / "marks"
    marks.mkdir()
    script = tmp_path / "daemon.py"
    script.write_text(textwrap.dedent("""
        import sys, time
        from pathlib import Path
        from sheetsync.core.job import Job, JobOutput, Trigger
        from sheetsync.scheduler import SheetsyncScheduler
        from sheetsync.core.settings import Settings

        state, marks = Path(sys.argv[1]), Path(sys.argv[2])

        def run_job(names, now):
            name = "+".join(names)
            (marks / f"{name}.started").touch()
            while not (marks / "release").exists():
                time.sleep(0.02)
            (marks / f"{name}.finished").touch()

        jobs = [Job("first", "", lambda s: Trigger.every(15), lambda c: JobOutput()),
                Job("second", "", lambda s: Trigger.every(30), lambda c: JobOutput())]
        SheetsyncScheduler(jobs, Settings, run_job, state).run_forever()
        print("stopped", flush=True)
    """))
    jobs = [Job("first", "", lambda s: Trigger.every(15), no_output),
            Job("second", "", lambda s: Trigger.every(30), no_output)]
    SheetsyncScheduler(jobs, Settings, Recorder(), state).catch_up(datetime(2020, 1, 1, tzinfo=UTC))  # both overdue

    daemon = subprocess.Popen([sys.executable, str(script), str(state), str(marks)], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, env=child_env())
    try:
        wait_for((marks / "first+second.started").exists, "the first tick to start")
        daemon.send_signal(signal.SIGTERM)
        (marks / "release").touch()
        out, err = daemon.communicate(timeout=15)
    finally:
        if daemon.poll() is None:
            daemon.kill()
    assert daemon.returncode == 0, err
    assert out.strip() == "stopped"
    assert (marks / "first+second.finished").exists()  # the running tick finished
    assert sorted(p.name for p in marks.iterdir()) == ["first+second.finished", "first+second.started", "release"]
