"""Report periods and due dates: a trading day, an ISO week, a calendar quarter.

A period is a half-open interval [start, end) of local dates in the venue's time zone; its bounds
in integer microseconds since the epoch (UTC) select the records. Due dates are local dates.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from venue.calendar import TradingCalendar

US = 1_000_000
ATS_R_DUE_DAYS = 30  # Form ATS-R: within 30 calendar days after the end of the quarter
FINRA_4552_DUE_BUSINESS_DAYS = 7  # FINRA Rule 4552: within 7 business days after the end of the week


def midnight_us(day: date, tz: str) -> int:
    """Local midnight at the start of `day` in `tz`, in µs since the epoch."""
    start = datetime.combine(day, time(0, 0), tzinfo=ZoneInfo(tz))
    return (start - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)


def utc_text(at_us: int | None) -> str | None:
    """ISO-8601 UTC with microseconds, e.g. 2026-11-24T14:30:00.000123Z."""
    if at_us is None:
        return None
    seconds, micros = divmod(at_us, US)
    moment = datetime.fromtimestamp(seconds, tz=UTC).replace(microsecond=micros)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def local_day(at_us: int, tz: str) -> date:
    seconds, micros = divmod(at_us, US)
    return datetime.fromtimestamp(seconds, tz=UTC).astimezone(ZoneInfo(tz)).date()


@dataclass(frozen=True, slots=True)
class Period:
    """Local dates [first, last] in time zone `tz`."""

    label: str
    first: date
    last: date
    tz: str

    @property
    def start_us(self) -> int:
        return midnight_us(self.first, self.tz)

    @property
    def end_us(self) -> int:
        """Exclusive: local midnight after the last day."""
        return midnight_us(self.last + timedelta(days=1), self.tz)


def day_period(day: date | str, tz: str) -> Period:
    """One calendar day (`YYYY-MM-DD`)."""
    if isinstance(day, str):
        try:
            day = date.fromisoformat(day)
        except ValueError:
            raise ValueError(f"{day!r} is not a date: use YYYY-MM-DD") from None
    return Period(day.isoformat(), day, day, tz)


_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")
_QUARTER = re.compile(r"^(\d{4})Q([1-4])$")


def week_period(text: str, tz: str) -> Period:
    """An ISO week `YYYY-Www`, Monday to Sunday."""
    m = _WEEK.match(text.strip())
    if not m:
        raise ValueError(f"{text!r} is not an ISO week: use YYYY-Www, e.g. 2026-W47")
    try:
        monday = date.fromisocalendar(int(m.group(1)), int(m.group(2)), 1)
    except ValueError:
        raise ValueError(f"{text!r}: year {m.group(1)} has no week {m.group(2)}") from None
    return Period(text.strip(), monday, monday + timedelta(days=6), tz)


def week_of(day: date, tz: str) -> Period:
    year, week, _ = day.isocalendar()
    return week_period(f"{year}-W{week:02d}", tz)


def quarter_period(text: str, tz: str) -> Period:
    """A calendar quarter `YYYYQn`."""
    m = _QUARTER.match(text.strip().upper())
    if not m:
        raise ValueError(f"{text!r} is not a quarter: use YYYYQn, e.g. 2026Q4")
    year, q = int(m.group(1)), int(m.group(2))
    first = date(year, 3 * q - 2, 1)
    last = (date(year + 1, 1, 1) if q == 4 else date(year, 3 * q + 1, 1)) - timedelta(days=1)
    return Period(f"{year}Q{q}", first, last, tz)


def quarter_of(day: date, tz: str) -> Period:
    return quarter_period(f"{day.year}Q{(day.month - 1) // 3 + 1}", tz)


def ats_r_due(quarter: Period) -> date:
    """Form ATS-R is due within 30 calendar days after the quarter ends."""
    return quarter.last + timedelta(days=ATS_R_DUE_DAYS)


def finra_4552_due(week: Period, business: TradingCalendar) -> date:
    """The 7th business day after the week's Sunday. Business days: Monday to Friday, less the
    holidays of `business` (the venue's calendar)."""
    day, counted = week.last, 0
    while counted < FINRA_4552_DUE_BUSINESS_DAYS:
        day += timedelta(days=1)
        if day.weekday() < 5 and day not in business.holidays:
            counted += 1
    return day
