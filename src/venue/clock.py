"""The venue's one clock: wall time as integer microseconds since the epoch (UTC), the length of a
day, and the UTC dates and ISO times the venue prints.

The matching core and the gates never read the clock: their time is injected (`now_us` arguments),
so a test or a replay drives them at any instant. Everything that does read it reads `now_us()`.
"""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta

SECOND_US = 1_000_000
DAY_US = 86_400 * SECOND_US
EPOCH = date(1970, 1, 1)


def now_us() -> int:
    """Wall-clock time in microseconds since the epoch."""
    return time.time_ns() // 1000


def utc_date(us: int) -> date:
    """The UTC date of an instant (expiry dates of KYC and accreditation are UTC dates)."""
    return EPOCH + timedelta(days=us // DAY_US)


def day_start_us(day: date) -> int:
    """The first microsecond of a UTC date."""
    return (day - EPOCH).days * DAY_US


def next_midnight_us(us: int) -> int:
    """The first microsecond of the UTC day after the one `us` falls in."""
    return (us // DAY_US + 1) * DAY_US


def iso_utc(us: int, timespec: str = "milliseconds") -> str:
    """An instant as ISO 8601 in UTC, e.g. 2026-12-01T15:00:00.000+00:00."""
    return datetime.fromtimestamp(us / SECOND_US, tz=UTC).isoformat(timespec=timespec)
