"""validate — every 15 minutes: all rules, red cells with notes, 问题清单."""

from sheetsync.core.checks import validate
from sheetsync.core.job import Job, Trigger

JOB = Job(
    name="validate",
    title="cli.job.validate",  # words: sheet_templates/<language>/messages/cli.toml
    trigger=lambda settings: Trigger.every(15),
    compute=validate,
)
