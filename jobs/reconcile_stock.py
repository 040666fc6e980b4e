"""reconcile-stock — every 15 minutes: 推广确认单 against 库存, 库存 against the back-office export."""

from sheetsync.core.checks import reconcile_stock
from sheetsync.core.job import Job, Trigger

JOB = Job(
    name="reconcile-stock",
    title="cli.job.reconcile-stock",  # words: sheet_templates/<language>/messages/cli.toml
    trigger=lambda settings: Trigger.every(15),
    compute=reconcile_stock,
)
