"""cs-scorecard — 客服绩效日期/时间 (default the 1st at 09:00): last month's 客服绩效 rows, the e-mails."""

from sheetsync.core.job import Job, Trigger
from sheetsync.core.scorecard import cs_scorecard

JOB = Job(
    name="cs-scorecard",
    title="cli.job.cs-scorecard",  # words: sheet_templates/<language>/messages/cli.toml
    trigger=lambda settings: Trigger.monthly(settings.cs_scorecard_day, settings.cs_scorecard_time),
    compute=cs_scorecard,
)
