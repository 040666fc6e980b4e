"""The Google benchmark's measurement at a small size: sheetsync reads once, confirms once and
writes once, then reads once and writes nothing; the naive baseline pays one request per call."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench"
if str(BENCH) not in sys.path:
    sys.path.insert(0, str(BENCH))

import bench_google  # noqa: E402


@pytest.fixture(scope="module")
def measured() -> bench_google.Measurement:
    return bench_google.measure(200, naive_max_seconds=None)


def test_sheetsync_reads_confirms_and_writes_once(measured):
    assert measured.sheetsync.kinds == ["get", "get", "batchUpdate"]
    assert measured.sheetsync.requests == {"get": 2, "batchUpdate": 1, "token": 1}


def test_a_second_run_on_the_unchanged_sheet_only_reads(measured):
    assert measured.again.kinds == ["get"]
    assert measured.again.requests == {"get": 1, "token": 1}


def test_the_naive_baseline_makes_one_request_per_call_and_does_every_cell(measured):
    owned_tabs = 4  # 周报, 问题清单, the hidden state tab, 运行记录: add_worksheet + update each
    data_tabs = 12  # one get_all_values each (订单, 退货, 排班 and 话术 included)
    assert measured.painted > 0 and not measured.extrapolated
    assert measured.naive.requests == {
        "token": 1,
        "get": 2,  # open_by_key, worksheets()
        "values.get": data_tabs,
        "batchUpdate": 2 * measured.painted + owned_tabs,  # format + insert_note per painted cell
        "values.update": measured.filled + owned_tabs,
    }
    assert measured.naive.total > 10 * measured.sheetsync.total


@pytest.mark.parametrize("kinds, expected", [
    (["get", "get", "batchUpdate"], "get get batchUpdate"),
    (["get", "get", "batchUpdate", "batchUpdate", "batchUpdate"], "get get batchUpdate×3"),
    ([], ""),
])
def test_request_order_is_shown_with_repeats_folded(kinds, expected):
    assert bench_google._sequence(kinds) == expected
