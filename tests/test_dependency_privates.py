"""sheetsync leans on a few private attributes of its dependencies (for speed, or to change one
behaviour without forking a library). pyproject.toml pins an upper bound on each of those
packages; these tests say loudly, naming the attribute and the sheetsync code that needs it,
when an installed version no longer has what sheetsync relies on. Raise a pin only after
these tests pass on the new version."""

from __future__ import annotations

import io
import re
import sys
from importlib.metadata import version
from pathlib import Path

import pytest

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

PYPROJECT = Path(__file__).resolve().parent.parent / "pyproject.toml"


def require(condition: object, package: str, what: str, used_by: str) -> None:
    if not condition:
        pytest.fail(
            f"{package} {version(package)} no longer provides {what}, which {used_by} relies on. "
            f"Keep {package} below this version in pyproject.toml, or adapt {used_by}.",
            pytrace=False,
        )


def test_each_package_whose_privates_are_used_has_an_upper_bound() -> None:
    deps = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["project"]["dependencies"]
    for package in ("openpyxl", "schedule", "urllib3", "google-auth"):
        spec = next((d for d in deps if re.match(rf"{re.escape(package)}\s*[<>=!~;\[]", d)), None)
        assert spec is not None, f"pyproject.toml has no dependency line for {package}"
        assert "<" in spec, f"pyproject.toml: {spec!r} needs an upper bound (sheetsync uses private attributes of it)"


# ---------------------------------------------------------------------------------------------
# openpyxl: sheetsync/backends/xlsx.py (XlsxBackend._create writes a new workbook without a time stamp)


def test_openpyxl_excel_writer_saves_a_workbook_into_a_given_archive() -> None:
    import zipfile

    import openpyxl

    used_by = "sheetsync/backends/xlsx.py (XlsxBackend._create)"
    try:
        from openpyxl.writer.excel import ExcelWriter
    except ImportError:
        require(False, "openpyxl", "openpyxl.writer.excel.ExcelWriter", used_by)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        ExcelWriter(openpyxl.Workbook(), archive).save()
    require("xl/workbook.xml" in zipfile.ZipFile(buffer).namelist(), "openpyxl", "ExcelWriter(wb, archive).save()",
            used_by)


# ---------------------------------------------------------------------------------------------
# schedule: sheetsync/scheduler.py (_ShopJob)


def test_schedule_lets_a_job_choose_its_own_next_run() -> None:
    import schedule

    used_by = "sheetsync/scheduler.py (_ShopJob, SheetsyncScheduler.run_pending)"
    require(callable(getattr(schedule.Job, "_schedule_next_run", None)), "schedule", "Job._schedule_next_run", used_by)
    due = object()
    ran: list[str] = []

    class Job(schedule.Job):
        def _schedule_next_run(self) -> None:
            self.next_run = due

        @property
        def should_run(self) -> bool:
            return True

    scheduler = schedule.Scheduler()
    job = Job(1, scheduler).do(ran.append, "ran")
    require(job.next_run is due, "schedule", "Job.do() calling the overridable Job._schedule_next_run()", used_by)
    job._schedule_next_run = lambda: None  # run() reschedules through the same hook
    scheduler.run_pending()
    require(ran == ["ran"], "schedule", "Scheduler.run_pending() running each Job whose should_run is true", used_by)


# ---------------------------------------------------------------------------------------------
# urllib3: sheetsync/backends/google_transport.py (SheetsRetry)


def test_urllib3_retry_waits_through_the_overridable_backoff() -> None:
    from urllib3.util.retry import Retry

    from sheetsync.backends.google_transport import make_retry

    used_by = "sheetsync/backends/google_transport.py (SheetsRetry)"
    require(callable(getattr(Retry, "_sleep_backoff", None)), "urllib3", "Retry._sleep_backoff", used_by)
    require("_sleep" not in vars(Retry), "urllib3",
            "a Retry without its own _sleep attribute (SheetsRetry uses that name)", used_by)
    waits: list[float] = []
    retry = make_retry(3, waits.append).increment(method="GET", url="/v4/spreadsheets/x", error=None)
    retry.sleep()  # no response: the exponential backoff, through SheetsRetry._sleep_backoff
    require(len(waits) == 1 and 1.0 <= waits[0] <= 2.0, "urllib3", "Retry.sleep() waiting via _sleep_backoff()",
            used_by)
    require(retry.history and retry.new()._sleep == waits.append, "urllib3", "Retry.new() building the next Retry",
            used_by)


# ---------------------------------------------------------------------------------------------
# google-auth: sheetsync/backends/google_transport.py (_Credentials)


def test_google_auth_regional_lookup_is_switched_off_through_its_hook() -> None:
    from google.oauth2 import service_account

    names = {n for klass in service_account.Credentials.__mro__ for n in vars(klass)}
    if not any("regional_access_boundary" in n for n in names):
        pytest.skip(f"google-auth {version('google-auth')} does no regional access boundary look-up")
    require("_is_regional_access_boundary_lookup_required" in names, "google-auth",
            "Credentials._is_regional_access_boundary_lookup_required",
            "sheetsync/backends/google_transport.py (_Credentials, which switches the look-up off)")
