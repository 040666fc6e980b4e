"""The SLA clock counts working time only: checked on hand-worked cases and against a dumb
minute-by-minute reference, scalar and column forms alike."""

from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta

import numpy as np
import pandas as pd
import pytest

from sheetsync.core.worktime import WorkClock

SHOP = WorkClock(time(9), time(23))
# 2026-11-20 is a Friday; the shop closes for the weekend of the 21st/22nd in some cases below.
WEEKEND = frozenset({date(2026, 11, 21), date(2026, 11, 22)})
SHOP_WEEKEND = WorkClock(time(9), time(23), WEEKEND)
ROUND_THE_CLOCK_WEEKEND = WorkClock(rest_days=WEEKEND)


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute)


def test_question_at_closing_answered_next_morning_took_five_minutes() -> None:
    assert SHOP.elapsed(at(20, 22, 58), at(21, 9, 3)) == timedelta(minutes=5)


def test_two_hours_from_half_past_ten_at_night_end_next_morning() -> None:
    assert SHOP.deadline(at(20, 22, 30), timedelta(hours=2)) == at(21, 10, 30)


ELAPSED_CASES = [
    (SHOP, at(20, 10), at(20, 12), timedelta(hours=2)),
    (SHOP, at(20, 8), at(20, 9, 30), timedelta(minutes=30)),  # before opening does not count
    (SHOP, at(20, 23, 30), at(21, 8), timedelta(0)),  # closed all the time
    (SHOP, at(20, 22), at(22, 10), timedelta(hours=1 + 14 + 1)),
    (SHOP, at(20, 12), at(20, 11), timedelta(0)),  # answered "before" asked: nothing
    (SHOP_WEEKEND, at(20, 22, 58), at(23, 9, 3), timedelta(minutes=5)),  # rest days in the middle skipped
    (SHOP_WEEKEND, at(21, 10), at(22, 18), timedelta(0)),  # all on rest days
    (SHOP_WEEKEND, at(21, 10), at(23, 9, 30), timedelta(minutes=30)),  # starts on a rest day
    (ROUND_THE_CLOCK_WEEKEND, at(20, 23), at(23, 1), timedelta(hours=2)),
    (WorkClock(), at(20, 23), at(23, 1), timedelta(days=2, hours=2)),
    (WorkClock(time(8, 30), time(17, 45)), at(20, 17), at(23, 9), timedelta(minutes=45 + 30 + 2 * 555)),
]


@pytest.mark.parametrize(("clock", "a", "b", "expected"), ELAPSED_CASES)
def test_elapsed(clock: WorkClock, a: datetime, b: datetime, expected: timedelta) -> None:
    assert clock.elapsed(a, b) == expected
    got = clock.elapsed_series(pd.Series([a]), pd.Series([b]))
    assert got.tolist() == [pd.Timedelta(expected)]


DEADLINE_CASES = [
    (SHOP, at(20, 10), timedelta(minutes=10), at(20, 10, 10)),
    (SHOP, at(20, 22, 55), timedelta(minutes=10), at(21, 9, 5)),
    (SHOP, at(20, 23, 30), timedelta(minutes=10), at(21, 9, 10)),  # asked after closing: clock starts at 9
    (SHOP, at(20, 7), timedelta(minutes=10), at(20, 9, 10)),
    (SHOP, at(20, 21), timedelta(hours=2), at(20, 23)),  # runs out exactly at closing time
    (SHOP, at(20, 10), timedelta(hours=24), at(21, 20)),
    (SHOP, at(20, 10), timedelta(0), at(20, 10)),
    (SHOP, at(20, 23, 30), timedelta(0), at(20, 23, 30)),
    (SHOP_WEEKEND, at(20, 22, 30), timedelta(hours=2), at(23, 10, 30)),
    (SHOP_WEEKEND, at(21, 15), timedelta(minutes=10), at(23, 9, 10)),  # asked on a rest day
    (SHOP_WEEKEND, at(20, 22), timedelta(hours=1), at(20, 23)),
    (ROUND_THE_CLOCK_WEEKEND, at(20, 23), timedelta(hours=2), at(23, 1)),
    (WorkClock(), at(20, 23), timedelta(hours=2), at(21, 1)),
]


@pytest.mark.parametrize(("clock", "a", "limit", "expected"), DEADLINE_CASES)
def test_deadline(clock: WorkClock, a: datetime, limit: timedelta, expected: datetime) -> None:
    assert clock.deadline(a, limit) == expected
    assert clock.deadline_series(pd.Series([a]), limit).tolist() == [pd.Timestamp(expected)]


def test_round_the_clock_is_plain_subtraction() -> None:
    rng = random.Random(1)
    clock = WorkClock()
    for _ in range(200):
        a = datetime(2026, 1, 1) + timedelta(seconds=rng.randrange(400 * 86400))
        b = a + timedelta(seconds=rng.randrange(-86400, 30 * 86400), microseconds=rng.randrange(10**6))
        assert clock.elapsed(a, b) == max(b - a, timedelta(0))
        assert clock.deadline(a, b - a if b > a else timedelta(0)) == max(a, b)


def test_working_hours_must_make_sense() -> None:
    with pytest.raises(ValueError, match="working hours 23:00-09:00: the end must be after the start"):
        WorkClock(time(23), time(9))
    with pytest.raises(ValueError, match="working hours 09:00-09:00"):
        WorkClock(time(9), time(9))
    with pytest.raises(ValueError, match="both a start and an end"):
        WorkClock(time(9), None)
    with pytest.raises(ValueError, match="cannot be negative"):
        SHOP.deadline(at(20, 10), timedelta(minutes=-1))


def test_clock_is_a_value() -> None:
    assert WorkClock(time(9), time(23), frozenset({date(2026, 1, 1)})) == WorkClock(
        time(9), time(23), frozenset({date(2026, 1, 1)}))
    assert hash(SHOP) == hash(WorkClock(time(9), time(23)))
    assert SHOP != SHOP_WEEKEND


# ---------------------------------------------------------------------------------------------
# against a minute-by-minute reference

START = datetime(2026, 11, 16)  # Monday
SPAN_DAYS = 12
REST = frozenset({date(2026, 11, 18), date(2026, 11, 21), date(2026, 11, 22), date(2026, 11, 26)})
CLOCKS = {
    "shop": WorkClock(time(9), time(23), REST),
    "office": WorkClock(time(8, 30), time(17, 45)),
    "round the clock, holidays": WorkClock(rest_days=REST),
}


def _working_minutes(clock: WorkClock) -> list[bool]:
    """Whether each minute of the window counts, decided one minute at a time."""
    flags = []
    for i in range(SPAN_DAYS * 1440):
        moment = START + timedelta(minutes=i)
        open_now = clock.start is None or clock.start <= moment.time() < clock.end
        flags.append(moment.date() not in clock.rest_days and open_now)
    return flags


def _brute_elapsed(flags: list[bool], a: datetime, b: datetime) -> timedelta:
    if b <= a:
        return timedelta(0)
    first, last = (int((t - START).total_seconds()) // 60 for t in (a, b))
    return timedelta(minutes=sum(flags[first:last]))


def _brute_deadline(flags: list[bool], a: datetime, limit: timedelta) -> datetime:
    left = int(limit.total_seconds()) // 60
    minute = int((a - START).total_seconds()) // 60
    while left:
        left -= flags[minute]
        minute += 1
    return START + timedelta(minutes=minute) if limit else a


@pytest.mark.parametrize("name", list(CLOCKS))
def test_matches_minute_by_minute_reference(name: str) -> None:
    clock = CLOCKS[name]
    flags = _working_minutes(clock)
    rng = random.Random(name)
    pairs = []
    for _ in range(300):
        a = START + timedelta(minutes=rng.randrange(7 * 1440))
        pairs.append((a, a + timedelta(minutes=rng.randrange(-600, 4 * 1440))))
    limits = [timedelta(minutes=m) for m in (0, 1, 10, 120, 24 * 60, rng.randrange(2000), rng.randrange(2000))]
    a_col = pd.Series([a for a, _ in pairs])
    b_col = pd.Series([b for _, b in pairs])
    elapsed = clock.elapsed_series(a_col, b_col)
    for (a, b), got in zip(pairs, elapsed, strict=True):
        want = _brute_elapsed(flags, a, b)
        assert clock.elapsed(a, b) == want, (a, b)
        assert got == pd.Timedelta(want), (a, b)
    for limit in limits:
        deadlines = clock.deadline_series(a_col, limit)
        for a, got in zip(a_col, deadlines, strict=True):
            want = _brute_deadline(flags, a, limit)
            assert clock.deadline(a, limit) == want, (a, limit)
            assert got == pd.Timestamp(want), (a, limit)
            assert clock.elapsed(a, want) == limit


def test_series_forms_keep_nat_and_index() -> None:
    a = pd.Series([at(20, 22, 58), pd.NaT, at(20, 10), None], index=[7, 8, 9, 10], dtype="datetime64[us]")
    b = pd.Series([at(21, 9, 3), at(21, 9), pd.NaT, at(20, 11)], index=[7, 8, 9, 10])
    elapsed = SHOP.elapsed_series(a, b)
    assert elapsed.dtype == "timedelta64[ns]" and list(elapsed.index) == [7, 8, 9, 10]
    assert elapsed.tolist()[0] == pd.Timedelta(minutes=5) and elapsed.isna().tolist() == [False, True, True, True]
    deadline = SHOP.deadline_series(a, timedelta(minutes=10))
    assert deadline.dtype == "datetime64[ns]"
    assert deadline.tolist()[0] == pd.Timestamp(at(21, 9, 8)) and deadline.isna().tolist() == [False, True, False, True]


def test_series_of_python_objects_and_empty_series() -> None:
    a = pd.Series([at(20, 22, 58), None], dtype=object)
    b = pd.Series([at(21, 9, 3), at(21, 9, 3)], dtype=object)
    assert SHOP.elapsed_series(a, b).tolist()[0] == pd.Timedelta(minutes=5)
    assert SHOP.elapsed_series(pd.Series([], dtype=object), pd.Series([], dtype=object)).empty
    assert SHOP.deadline_series(pd.Series([], dtype="datetime64[ns]"), timedelta(hours=1)).empty


def test_series_forms_refuse_mismatched_or_zoned_input() -> None:
    with pytest.raises(ValueError, match="same length"):
        SHOP.elapsed_series(pd.Series([at(20, 10)]), pd.Series([at(20, 10), at(20, 11)]))
    zoned = pd.Series(pd.to_datetime([at(20, 10)])).dt.tz_localize("Asia/Shanghai")
    with pytest.raises(ValueError, match="naive shop-local"):
        SHOP.deadline_series(zoned, timedelta(hours=1))


def test_sub_second_precision_is_kept() -> None:
    a = at(20, 23) - timedelta(microseconds=500)
    assert SHOP.elapsed(a, at(21, 9) + timedelta(microseconds=250)) == timedelta(microseconds=750)
    assert SHOP.deadline(a, timedelta(microseconds=600)) == at(21, 9) + timedelta(microseconds=100)
    got = SHOP.deadline_series(pd.Series([a]), timedelta(microseconds=600)).iloc[0]
    assert got == pd.Timestamp(at(21, 9) + timedelta(microseconds=100))
    assert np.datetime64(got) == np.datetime64("2026-11-21T09:00:00.000100")
