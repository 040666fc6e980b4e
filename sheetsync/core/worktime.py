"""The SLA clock: how much *working* time passed, and when a limit runs out.

A shop that answers from 09:00 to 23:00 should not be told a question asked at 22:58 and
answered at 09:03 the next morning took ten hours: it took five working minutes. On a rest day
(a public holiday in 设置) the clock stops for the whole calendar day.

Everything works on naive shop-local datetimes. Both the scalar and the vectorised forms rest
on one idea: W(t), the working time from a fixed origin up to t, is

    day length × (whole days before t's date − rest days before it)
    + clip(time into t's day − opening, 0, day length)        (0 on a rest day)

so elapsed(a, b) = W(b) − W(a), and the deadline for a limit is the earliest t with
W(t) = W(a) + limit, found by inverting W. W only counts and clips integers, so it is exact.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

import numpy as np
import pandas as pd

_US = timedelta(microseconds=1)
_DAY_US = 86_400 * 10**6
_NS_PER_US = 1000
_UNIX_ORDINAL = date(1970, 1, 1).toordinal()
_NAT = np.iinfo(np.int64).min


def _us_into_day(moment: time) -> int:
    return ((moment.hour * 60 + moment.minute) * 60 + moment.second) * 10**6 + moment.microsecond


@dataclass(frozen=True)
class WorkClock:
    """Working hours ``start``-``end`` every day except ``rest_days``.

    ``start``/``end`` both None means round the clock. ``end`` must be after ``start``
    (opening hours past midnight are not supported).
    """

    start: time | None = None
    end: time | None = None
    rest_days: frozenset[date] = frozenset()
    # derived once: (opening, day length) in µs, and rest days sorted as ordinals
    _open_us: int = field(init=False, repr=False, compare=False)
    _len_us: int = field(init=False, repr=False, compare=False)
    _rest: tuple[int, ...] = field(init=False, repr=False, compare=False)
    # rest ordinal minus its position: how many working days precede each rest day (+ const)
    _rest_shifted: tuple[int, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if (self.start is None) != (self.end is None):
            raise ValueError("working hours need both a start and an end (or neither, for round the clock)")
        if self.start is not None and self.end is not None and self.end <= self.start:
            raise ValueError(f"working hours {self.start:%H:%M}-{self.end:%H:%M}: the end must be after the start "
                             "(no overnight hours)")
        open_us = 0 if self.start is None else _us_into_day(self.start)
        close_us = _DAY_US if self.end is None else _us_into_day(self.end)
        rest = tuple(sorted({d.toordinal() for d in self.rest_days}))
        object.__setattr__(self, "rest_days", frozenset(self.rest_days))
        object.__setattr__(self, "_open_us", open_us)
        object.__setattr__(self, "_len_us", close_us - open_us)
        object.__setattr__(self, "_rest", rest)
        object.__setattr__(self, "_rest_shifted", tuple(r - i for i, r in enumerate(rest)))

    # -- scalar --------------------------------------------------------------------------------

    def _working_us(self, moment: datetime) -> int:
        """W(moment) in microseconds."""
        day = moment.toordinal()
        rest_before = bisect_left(self._rest, day)
        is_rest = rest_before < len(self._rest) and self._rest[rest_before] == day
        today = 0 if is_rest else min(max(_us_into_day(moment.time()) - self._open_us, 0), self._len_us)
        return (day - rest_before) * self._len_us + today

    def elapsed(self, a: datetime, b: datetime) -> timedelta:
        """Working time between a and b (zero when b is not after a)."""
        return timedelta(microseconds=max(0, self._working_us(b) - self._working_us(a)))

    def deadline(self, a: datetime, limit: timedelta) -> datetime:
        """Earliest moment by which ``limit`` of working time has passed since ``a``.

        Outside working hours the clock starts at the next opening, so 2 h from 22:30 with
        hours 09:00-23:00 ends at 10:30 the next day. A limit ending exactly at closing time
        gives the closing time itself.
        """
        if limit < timedelta(0):
            raise ValueError(f"a time limit cannot be negative: {limit}")
        if not limit:
            return a
        target = self._working_us(a) + limit // _US
        k, into = divmod(target - 1, self._len_us)  # k-th working day, (into + 1) µs after opening
        day = k + bisect_right(self._rest_shifted, k)
        return datetime.fromordinal(day) + timedelta(microseconds=self._open_us + into + 1)

    # -- vectorised ----------------------------------------------------------------------------

    def _arrays(self) -> tuple[np.ndarray, np.ndarray, int, int]:
        """Rest days as day numbers since 1970 (plain and shifted), opening and length in ns."""
        rest = np.asarray(self._rest, dtype=np.int64) - _UNIX_ORDINAL
        shifted = np.asarray(self._rest_shifted, dtype=np.int64) - _UNIX_ORDINAL
        return rest, shifted, self._open_us * _NS_PER_US, self._len_us * _NS_PER_US

    def _working_ns(self, moments: np.ndarray) -> np.ndarray:
        """W for int64 ns since 1970 (no NaT)."""
        rest, _shifted, open_ns, len_ns = self._arrays()
        day_ns = _DAY_US * _NS_PER_US
        day = moments // day_ns
        today = np.clip(moments - day * day_ns - open_ns, 0, len_ns)
        today[np.isin(day, rest)] = 0
        return (day - np.searchsorted(rest, day, side="left")) * len_ns + today

    def elapsed_series(self, a: pd.Series, b: pd.Series) -> pd.Series:
        """Working time between a[i] and b[i] (positional; a's index); NaT where either is NaT."""
        if len(a) != len(b):
            raise ValueError(f"elapsed_series needs two columns of the same length, got {len(a)} and {len(b)}")
        a_ns, a_nat = _to_ns(a)
        b_ns, b_nat = _to_ns(b)
        nat = a_nat | b_nat
        out = np.maximum(self._working_ns(b_ns) - self._working_ns(a_ns), 0)
        out[nat] = _NAT
        return pd.Series(out.view("m8[ns]"), index=a.index)

    def deadline_series(self, a: pd.Series, limit: timedelta) -> pd.Series:
        """:meth:`deadline` for every moment in ``a``; NaT stays NaT."""
        if limit < timedelta(0):
            raise ValueError(f"a time limit cannot be negative: {limit}")
        a_ns, nat = _to_ns(a)
        if not limit:
            out = a_ns.copy()
        else:
            _rest, shifted, open_ns, len_ns = self._arrays()
            target = self._working_ns(a_ns) + limit // _US * _NS_PER_US
            k, into = np.divmod(target - 1, len_ns)
            day = k + np.searchsorted(shifted, k, side="right")
            out = day * (_DAY_US * _NS_PER_US) + open_ns + into + 1
        out[nat] = _NAT
        return pd.Series(out.view("M8[ns]"), index=a.index)


def _to_ns(moments: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """A column of naive datetimes (any datetime dtype or objects) -> (int64 ns, NaT mask)."""
    converted = pd.to_datetime(moments)
    if converted.dt.tz is not None:
        raise ValueError("WorkClock needs naive shop-local times, got time-zone aware ones")
    values = converted.to_numpy(dtype="datetime64[ns]")
    nat = np.isnat(values)
    ns = values.view(np.int64).copy()
    ns[nat] = 0  # any valid moment; the result is masked afterwards
    return ns, nat
