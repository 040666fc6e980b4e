"""reconcile-stock — every 15 minutes: 推广确认单 against 库存, 库存 against the back-office export."""

from sheetsync.core.checks import reconcile_stock
from sheetsync.core.job import Job, Trigger

JOB = Job(
    name="reconcile-stock",
    title="核对库存: 推广声明库存/活动价/SKU 对照库存表, 库存表对照后台导出",
    trigger=lambda settings: Trigger.every(15),
    compute=reconcile_stock,
)
