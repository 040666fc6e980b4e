"""The Feishu benchmark's measurement at a small size: a first run that reads, confirms and
writes once per endpoint, then an idle run that only reads."""

from __future__ import annotations

import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1] / "bench"
if str(BENCH) not in sys.path:
    sys.path.insert(0, str(BENCH))

import bench_feishu  # noqa: E402


def test_first_run_writes_once_per_endpoint_and_the_idle_run_only_reads():
    measured = bench_feishu.measure(200)
    first, idle = measured["first"], measured["idle"]
    assert first["by_kind"]["values_batch_update"] == 1 and first["by_kind"]["styles_batch_update"] == 1
    assert first["findings"] > 0
    assert idle["writes"] == 0
    assert idle["kinds"] == ["sheets.query", "values_batch_get", "values_batch_get", "condition_formats.get"]
