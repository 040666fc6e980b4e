"""weekly-summary — 周报时间 (default Sunday 20:00): the 周报 row, its chart, the e-mail."""

from sheetsync.core.job import Job, Trigger
from sheetsync.core.weekly import weekly_summary

JOB = Job(
    name="weekly-summary",
    title="cli.job.weekly-summary",  # words: sheet_templates/<language>/messages/cli.toml
    trigger=lambda settings: Trigger.weekly(settings.weekly_weekday, settings.weekly_time),
    compute=weekly_summary,
    reports=True,  # the other jobs of its run see the week it reports as reported
)
