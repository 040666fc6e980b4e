"""reconcile-stock — every 检查间隔 (2 minutes in working hours, 15 outside): 推广确认单 against 库存,
库存 against the back-office export."""

from sheetsync.core.checks import reconcile_stock
from sheetsync.core.job import Job, check_beat

JOB = Job(
    name="reconcile-stock",
    title="cli.job.reconcile-stock",  # words: sheet_templates/<language>/messages/cli.toml
    trigger=check_beat,
    compute=reconcile_stock,
)
