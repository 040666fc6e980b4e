"""validate — every 15 minutes: all rules, red cells with notes, 问题清单."""

from sheetsync.core.checks import validate
from sheetsync.core.job import Job, Trigger

JOB = Job(
    name="validate",
    title="校验所有表格: 标红有问题的单元格并写上原因, 更新问题清单",
    trigger=lambda settings: Trigger.every(15),
    compute=validate,
)
