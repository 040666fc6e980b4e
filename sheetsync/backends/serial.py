"""Spreadsheet day serials (days since 1899-12-30, the epoch Excel, Sheets and Feishu share)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

SERIAL_EPOCH = datetime(1899, 12, 30)


def to_serial(value: date | datetime | time) -> float:
    """date/datetime/time -> day serial. Time zones are dropped: the sheet shows wall time.
    Rounded to 1e-10 day (under a millisecond), so float noise never reaches the sheet."""
    if isinstance(value, datetime):
        moment = value.replace(tzinfo=None)
    elif isinstance(value, date):
        moment = datetime.combine(value, time())
    else:
        moment = datetime.combine(SERIAL_EPOCH.date(), value.replace(tzinfo=None))
    return round((moment - SERIAL_EPOCH) / timedelta(days=1), 10)
