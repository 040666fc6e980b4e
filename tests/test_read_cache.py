"""An unchanged workbook is not read again: the last read is kept in the records folder, keyed
by the content hash; the time-dependent rules still see this run's time; a damaged, foreign or
stale cache is ignored, never an error."""

from __future__ import annotations

from datetime import datetime, timedelta

import openpyxl
import pandas as pd
import pytest

from conftest import NOW
from sheetsync.backends.xlsx import XlsxBackend
from sheetsync.engine import run
from sheetsync.readcache import FILE_NAME, ReadCache
from sheetsync.registry import get_jobs
from sheetsync.templates import load_template

D = datetime


def do_run(path, cache, now=NOW, template=None):
    return run(XlsxBackend(path), get_jobs(None), now=now, cache=cache, template=template)


def codes(report):
    return sorted((f.tab, f.row, f.column, f.code) for f in report.findings)


def settled(path, cache, cached=True):
    """The first run writes marks (the file changes) and keeps what the file it wrote reads as;
    the next one is answered from the cache and writes nothing."""
    do_run(path, cache)
    second = do_run(path, cache)
    assert second.applied is None and second.from_cache == cached
    return second


def test_unchanged_workbook_is_not_read_again(waiting_workbook, tmp_path):
    cache = ReadCache(tmp_path / "records" / "cache")
    second = settled(waiting_workbook, cache)
    before = waiting_workbook.read_bytes()
    third = do_run(waiting_workbook, cache)
    assert third.from_cache and cache.hits == 2  # the run after the write was one too
    assert codes(third) == codes(second)
    assert third.applied is None and waiting_workbook.read_bytes() == before  # an idle run writes nothing
    assert third.rows_read == second.rows_read


def test_time_rules_see_this_runs_time_on_a_cached_read(waiting_workbook, tmp_path):
    cache = ReadCache(tmp_path / "cache")
    second = settled(waiting_workbook, cache)
    assert not [f for f in second.findings if f.code == "cs.first_response.overdue"]
    later = do_run(waiting_workbook, cache, now=NOW + timedelta(hours=2))
    assert later.from_cache
    overdue = [f for f in later.findings if f.code == "cs.first_response.overdue"]
    assert len(overdue) == 1 and later.applied is not None and later.applied.written
    ws = openpyxl.load_workbook(waiting_workbook)["客服台账"]
    cell = ws.cell(overdue[0].row, overdue[0].col)
    assert cell.comment is not None and overdue[0].message in cell.comment.text


def test_an_edited_workbook_is_read_again(waiting_workbook, tmp_path):
    cache = ReadCache(tmp_path / "cache")
    settled(waiting_workbook, cache)
    wb = openpyxl.load_workbook(waiting_workbook)
    ws = wb["客服台账"]
    row = next(r for r in range(2, ws.max_row + 1) if ws.cell(r, 2).value == "李先生")
    ws.cell(row, 2).value = None  # 客户 is required
    wb.save(waiting_workbook)
    report = do_run(waiting_workbook, cache)
    assert not report.from_cache
    assert ("客服台账", row, "客户", "column.required") in [(f.tab, f.row, f.column, f.code) for f in report.findings]


@pytest.mark.parametrize("garbage", [b"", b"not a cache", b"sheetsync-read-cache\n\x80\x05broken",
                                     b"sheetsync-read-cache\n" + b"\x00" * 64])
def test_a_damaged_cache_is_ignored_and_replaced(waiting_workbook, tmp_path, garbage):
    cache = ReadCache(tmp_path / "cache")
    second = settled(waiting_workbook, cache)
    (tmp_path / "cache" / FILE_NAME).write_bytes(garbage)
    report = do_run(waiting_workbook, cache)
    assert not report.from_cache and codes(report) == codes(second)
    assert do_run(waiting_workbook, cache).from_cache  # rewritten by the read


def test_a_read_under_another_template_is_not_reused(waiting_workbook, tmp_path):
    cache = ReadCache(tmp_path / "cache")
    settled(waiting_workbook, cache)
    report = do_run(waiting_workbook, cache, template=load_template("en"))
    assert not report.from_cache


def test_a_folder_that_cannot_be_written_costs_only_the_cache(waiting_workbook, tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache folder would go")
    cache = ReadCache(blocker / "cache")
    settled(waiting_workbook, cache, cached=False)
    assert not do_run(waiting_workbook, cache).from_cache


def test_only_the_time_rules_are_computed_again_on_an_unchanged_workbook(waiting_workbook, tmp_path):
    from sheetsync.core import rules

    cache = ReadCache(tmp_path / "cache")
    do_run(waiting_workbook, cache)
    rules.MASKS.reset()
    second = do_run(waiting_workbook, cache)  # reads, and keeps the timeless rules' results
    full = rules.MASKS.count
    rules.MASKS.reset()
    third = do_run(waiting_workbook, cache)
    assert third.from_cache and codes(third) == codes(second)
    assert 0 < rules.MASKS.count < full  # the SLA and lead-time rules ran again, the others did not
    later = do_run(waiting_workbook, cache, now=NOW + timedelta(hours=2))  # and they see the new time
    assert "cs.first_response.overdue" in {f.code for f in later.findings}


def test_damaged_rule_results_are_computed_again(waiting_workbook, tmp_path):
    cache = ReadCache(tmp_path / "cache")
    second = settled(waiting_workbook, cache)
    (tmp_path / "cache" / "rules.pickle").write_bytes(b"sheetsync-read-cache\n\x80garbage")
    third = do_run(waiting_workbook, cache)
    assert third.from_cache and codes(third) == codes(second)


class _Planted:
    """What someone with write access to a shared drive could leave in the records folder: a
    pickle that runs a command when it is loaded."""

    def __init__(self, witness):
        self.witness = str(witness)

    def __reduce__(self):
        return (open, (self.witness, "w"))


@pytest.mark.parametrize("signature", [b"\x00" * 32, b"copied from another cache file...."[:32]])
def test_a_planted_cache_file_is_never_unpickled(waiting_workbook, tmp_path, signature):
    import pickle

    cache = ReadCache(tmp_path / "cache")
    second = settled(waiting_workbook, cache)
    witness = tmp_path / "planted-code-ran"
    (tmp_path / "cache" / FILE_NAME).write_bytes(b"sheetsync-read-cache\n" + signature
                                                 + pickle.dumps(_Planted(witness)))
    report = do_run(waiting_workbook, cache)
    assert not witness.exists()  # the file was refused before anything in it was loaded
    assert not report.from_cache and codes(report) == codes(second)


def test_a_cache_signed_by_another_user_is_a_miss(waiting_workbook, tmp_path):
    mine = ReadCache(tmp_path / "cache")
    settled(waiting_workbook, mine)
    theirs = ReadCache(tmp_path / "cache", key=b"someone else's key, 32 bytes...")
    assert not do_run(waiting_workbook, theirs).from_cache


def test_no_key_means_no_cache_never_a_failure(waiting_workbook, tmp_path, monkeypatch):
    key = tmp_path / "open.key"
    key.write_bytes(b"k" * 32)
    key.chmod(0o644)  # readable by others: not a secret, so not used
    monkeypatch.setenv("SHEETSYNC_CACHE_KEY", str(key))
    cache = ReadCache(tmp_path / "cache")
    assert cache.key is None
    settled(waiting_workbook, cache, cached=False)
    assert not do_run(waiting_workbook, cache).from_cache and not (tmp_path / "cache" / FILE_NAME).exists()


def test_an_idle_run_does_not_count_the_weeks_again(waiting_workbook, tmp_path, monkeypatch):
    """周报's weeks depend on the content and on the week reported: kept with the timeless rule
    results, counted again once another week is reported."""
    from sheetsync.core import weekly

    cache = ReadCache(tmp_path / "cache")
    settled(waiting_workbook, cache)
    counted = []
    count = weekly._summaries
    monkeypatch.setattr(weekly, "_summaries", lambda ctx, existing, last: counted.append(last) or
                        count(ctx, existing, last))
    idle = do_run(waiting_workbook, cache)
    assert idle.from_cache and counted == []
    fresh = do_run(waiting_workbook, ReadCache(tmp_path / "elsewhere"))
    assert counted and idle.weekly == fresh.weekly and codes(idle) == codes(fresh)
    counted.clear()
    later = do_run(waiting_workbook, cache, now=NOW + timedelta(days=7))
    assert later.from_cache and counted == [weekly.report_week(later.now, later.settings)]


def test_an_idle_run_does_not_plan_again(waiting_workbook, tmp_path, monkeypatch):
    """A run given exactly what the last run on this content was given, whose plan changed
    nothing, changes nothing either: its marks, 问题清单 and state tab are not compared again.
    Once something it is given changes (the time makes a problem overdue, someone edits the
    file), it plans in full."""
    import sheetsync.engine as engine

    cache = ReadCache(tmp_path / "cache")
    second = settled(waiting_workbook, cache)  # planned in full: nothing to change
    planned = []
    full = engine.plan
    monkeypatch.setattr(engine, "plan", lambda *a, **k: planned.append(1) or full(*a, **k))
    idle = do_run(waiting_workbook, cache)
    assert idle.from_cache and planned == [] and idle.changes.is_empty() and idle.applied is None
    fresh = do_run(waiting_workbook, ReadCache(tmp_path / "elsewhere"), now=NOW)
    assert planned == [1] and fresh.changes.is_empty()
    assert codes(idle) == codes(second) == codes(fresh) and idle.not_painted == fresh.not_painted
    assert [f.message for f in idle.findings] == [f.message for f in fresh.findings]
    assert idle.weekly == fresh.weekly  # the open problems' "since" come from the state as before
    (tmp_path / "cache" / "plan.pickle").write_bytes(b"sheetsync-read-cache\n\x80garbage")
    damaged = do_run(waiting_workbook, cache)  # a damaged kept plan: planned in full, kept anew
    assert planned == [1, 1] and damaged.changes.is_empty() and codes(damaged) == codes(idle)
    do_run(waiting_workbook, cache)
    assert planned == [1, 1]
    later = do_run(waiting_workbook, cache, now=NOW + timedelta(hours=2))
    assert planned == [1, 1, 1] and later.applied is not None and later.applied.written
    wb = openpyxl.load_workbook(waiting_workbook)
    wb["客服台账"]["B2"] = "改名的客户"
    wb.save(waiting_workbook)
    do_run(waiting_workbook, cache, now=NOW + timedelta(hours=2))
    assert planned == [1, 1, 1, 1]


def test_the_raw_cells_made_again_on_load_are_those_the_binding_made(tmp_path):
    """A tab's raw cells (what messages quote) are not stored: they are made again from its data
    on load, exactly as binding made them, a merged block copied down and blank rows left out."""
    from sheetsync.core.model import Snapshot, TabData
    from sheetsync.engine import load
    from sheetsync.readcache import CachedRead, _split

    template = load_template("zh-CN")
    rows = [["标题 2026"], ["SKU", "商品名称", "库存", "最低价", "更新时间"], ["A1", "戒指", "5件", 199, "2026/11/20 10:05"],
            ["A1", "耳钉", "三", None, D(2026, 11, 20, 9)], [None, None, None, None], ["B2", "手链", -1, "¥99"],
            ["C3", None, 4, 10, "11-20"]] + [[f"S{i}", "链", i, 5, D(2026, 11, 1) + timedelta(hours=i)] for i in range(400)]
    columns = [[r[c] if c < len(r) else None for r in rows] for c in range(5)]
    snapshot = Snapshot({"库存": TabData.from_columns("库存", columns, merged=[(6, 2, 7, 2)])}, "t")
    loaded = load(snapshot, template, NOW)
    entry = CachedRead(snapshot, loaded.workbook, loaded.settings, loaded.state, NOW.year, None, "v1")
    assert _split(entry)[1]["库存"][1]["inventory"].raw is None  # not stored
    ReadCache(tmp_path / "cache", key=b"k" * 32).put("v1", template, entry)
    hit, _ = ReadCache(tmp_path / "cache", key=b"k" * 32).lookup("v1", template)
    before, after = loaded.workbook.tab("inventory"), hit.workbook.tab("inventory")
    pd.testing.assert_frame_equal(after.raw, before.raw)
    assert after.raw.loc[7, "product"] == "手链" and 5 not in after.raw.index  # the merge, the blank row
    assert [[type(v) for v in after.raw[c]] for c in after.raw] == [[type(v) for v in before.raw[c]] for c in before.raw]
    assert after.raw.index is after.frame.index
    assert after.raw_value(10, "updated") == before.raw_value(10, "updated") == D(2026, 11, 1, 2)
