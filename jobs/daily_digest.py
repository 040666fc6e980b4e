"""daily-digest — 日报时间 (default 22:00): the day's customer-service log, to e-mail / group bot."""

from sheetsync.core.daily import daily_digest
from sheetsync.core.job import Job, Trigger

JOB = Job(
    name="daily-digest",
    title="cli.job.daily-digest",  # words: sheet_templates/<language>/messages/cli.toml
    trigger=lambda settings: Trigger.daily(settings.daily_time),
    compute=daily_digest,
)
