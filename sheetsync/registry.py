"""Load the job declarations from the ``jobs/`` folder (one module per job, each with ``JOB``)."""

from __future__ import annotations

import importlib.util
from functools import lru_cache

from .errors import ConfigError
from .core.job import Job
from .paths import jobs_dir

# the order jobs run in when several are asked for: checks first, reports after
ORDER = ("validate", "reconcile-stock", "weekly-summary", "daily-digest", "cs-scorecard")
# what `sheetsync run` runs when no job is named
DEFAULT_RUN = ("validate", "reconcile-stock", "weekly-summary")


@lru_cache(maxsize=1)
def all_jobs() -> dict[str, Job]:
    found: dict[str, Job] = {}
    for path in sorted(jobs_dir().glob("*.py")):
        if path.name.startswith("_"):
            continue
        spec = importlib.util.spec_from_file_location(f"sheetsync_jobs.{path.stem}", path)
        if spec is None or spec.loader is None:  # pragma: no cover - a .py file always has a loader
            continue
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        job = getattr(module, "JOB", None)
        if isinstance(job, Job):
            found[job.name] = job
    return dict(sorted(found.items(), key=lambda kv: ORDER.index(kv[0]) if kv[0] in ORDER else len(ORDER)))


def get_jobs(names: list[str] | tuple[str, ...] | None) -> list[Job]:
    jobs = all_jobs()
    if not names:
        return [jobs[n] for n in DEFAULT_RUN if n in jobs]
    unknown = [n for n in names if n not in jobs]
    if unknown:
        raise ConfigError("cli.registry.unknown_job", names=tuple(unknown), known=tuple(jobs))
    return sorted((jobs[n] for n in dict.fromkeys(names)), key=lambda j: list(jobs).index(j.name))
