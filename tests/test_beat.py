"""The check beat: every job due at one tick shares one read and at most one write, counted on
the fake Google Sheets server (real gspread client, loopback), driven by ``sheetsync schedule
--once --now``."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from sheetsync.app import run_schedule
from sheetsync.config import Config
from conftest import base_tabs, row_for

SH = ZoneInfo("Asia/Shanghai")
READS = ("get", "values.batchGet", "values.get")


@pytest.fixture
def fake(template):
    from fake_sheets import start_fake_sheets

    tabs = base_tabs(template, {"工作时间": "09:00-23:00"})
    tabs["客服台账"].append(row_for(template, "cs_log", customer="一只橙子", type="产品咨询",
                                    asked_at=datetime(2026, 11, 23, 9, 40), agent="童欣"))
    with start_fake_sheets(tabs) as server:
        yield server


def reads_and_writes(fake, since: int) -> tuple[int, int]:
    """(whole-workbook reads, writes) since request ``since``. A write on Google is one
    batchUpdate, after a narrow confirming get of the key columns it writes near (rows may have
    been sorted since the read): that get belongs to the write, not to the reads."""
    requests = fake.requests[since:]
    confirming = sum(1 for r in requests if r.kind == "get" and "ranges" in r.query)
    reads = sum(1 for r in requests if r.kind in READS) - confirming
    writes = sum(1 for r in requests if r.kind == "batchUpdate")
    assert confirming <= writes
    return reads, writes


def test_one_tick_with_validate_and_reconcile_stock_due_reads_once_and_writes_once(fake, tmp_path):
    config = Config(backend="google", spreadsheet=fake.spreadsheet_id, credentials=str(fake.key_file),
                    endpoint=fake.endpoint, state_dir=tmp_path / "state")
    start = len(fake.requests)
    fake.backend().read()
    one_read = reads_and_writes(fake, start)
    assert one_read[0] >= 1 and one_read[1] == 0

    lines: list[str] = []
    mark = len(fake.requests)
    assert run_schedule(config, now=datetime(2026, 11, 23, 10, 1, tzinfo=SH), once=True, out=lines.append) == 0
    assert reads_and_writes(fake, mark) == one_read  # first start: 设置 read once, nothing owed yet
    assert any("validate" in line and "工作时间每 2 分钟, 其余每 15 分钟" in line and "10:02" in line for line in lines)

    mark = len(fake.requests)
    assert run_schedule(config, now=datetime(2026, 11, 23, 10, 2, tzinfo=SH), once=True, out=lines.append) == 0
    reads, writes = reads_and_writes(fake, mark)
    # the start-up check of 设置, then ONE read for the tick that runs validate and reconcile-stock
    assert reads == 2 * one_read[0]
    assert writes == 1
    log = fake.tab("运行记录").rows
    assert [row[1] for row in log[1:]] == ["validate, reconcile-stock"]  # one run, one row

    mark = len(fake.requests)
    run_schedule(config, now=datetime(2026, 11, 23, 10, 4, tzinfo=SH), once=True, out=lines.append)
    reads, writes = reads_and_writes(fake, mark)
    assert reads == 2 * one_read[0] and writes == 0  # nothing changed: the tick writes nothing
