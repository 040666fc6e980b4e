"""validate — every 检查间隔 (2 minutes in working hours, 15 outside): all rules, red cells with notes, 问题清单."""

from sheetsync.core.checks import validate
from sheetsync.core.job import Job, check_beat

JOB = Job(
    name="validate",
    title="cli.job.validate",  # words: sheet_templates/<language>/messages/cli.toml
    trigger=check_beat,
    compute=validate,
)
