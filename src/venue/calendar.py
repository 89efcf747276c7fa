"""The trading calendar: when a security's trading session opens and closes.

A calendar is config (time zone, pre-open, open, close, holidays). The venue asks it which trading
day an instant belongs to, which scheduled session phase it falls in (closed, pre-open, open) and
when that phase ends, and when the current session closes; Day orders expire at that close. Times
are integer microseconds since the epoch (UTC).

A trading day runs: closed until `pre_open` (if set) -> pre-open (orders accepted, nothing
matches) until `open` -> the opening auction at `open`, then open (continuous trading or periodic
auctions) until `close` -> closed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import Enum
from functools import lru_cache
from zoneinfo import ZoneInfo


class SessionPhase(str, Enum):
    """The calendar's scheduled phase; the venue core maps OPEN to continuous or periodic auctions."""

    CLOSED = "closed"
    PRE_OPEN = "pre_open"
    OPEN = "open"


@lru_cache(maxsize=256)
def _local_date(tz_name: str, utc_minute: int) -> date:
    return datetime.fromtimestamp(utc_minute * 60, tz=UTC).astimezone(ZoneInfo(tz_name)).date()


@dataclass(frozen=True, slots=True)
class TradingCalendar:
    """One daily session [open, close) in `timezone`, on weekdays listed in `weekdays` (Mon=0),
    except `holidays`. open == close == 00:00 means a session that lasts the whole day.
    `pre_open` (optional, before `open`) starts the pre-open phase."""

    timezone: str = "UTC"
    open: time = time(0, 0)
    close: time = time(0, 0)
    pre_open: time | None = None
    weekdays: frozenset[int] = frozenset(range(7))
    holidays: frozenset[date] = field(default_factory=frozenset)

    @property
    def _tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def all_day(self) -> bool:
        return self.open == self.close == time(0, 0)

    def _local(self, now_us: int) -> datetime:
        return datetime.fromtimestamp(now_us / 1_000_000, tz=UTC).astimezone(self._tz)

    def trading_day(self, now_us: int) -> date:
        """The calendar date (in the venue's time zone) that `now_us` falls on (asked for every
        order: looked up per UTC minute, within which no zone's date changes)."""
        return _local_date(self.timezone, now_us // 60_000_000)

    def is_trading_day(self, day: date) -> bool:
        return day.weekday() in self.weekdays and day not in self.holidays

    def _instant(self, day: date, t: time) -> int:
        return int(datetime.combine(day, t, tzinfo=self._tz).timestamp()) * 1_000_000

    def phase_at(self, now_us: int) -> tuple[SessionPhase, int]:
        """The scheduled phase at `now_us` and the instant (µs) it ends."""
        day = self.trading_day(now_us)
        midnight = self.end_of_day_us(day)
        if not self.is_trading_day(day):
            return SessionPhase.CLOSED, midnight
        if self.all_day:
            return SessionPhase.OPEN, midnight
        opens = self._instant(day, self.open)
        starts = self._instant(day, self.pre_open) if self.pre_open is not None else opens
        closes = self._instant(day, self.close)
        if now_us < starts:
            return SessionPhase.CLOSED, starts
        if now_us < opens:
            return SessionPhase.PRE_OPEN, opens
        if now_us < closes:
            return SessionPhase.OPEN, closes
        return SessionPhase.CLOSED, midnight

    def close_us(self, day: date) -> int:
        """The instant the session of `day` closes (for an all-day session: the next midnight)."""
        if self.all_day:
            end = datetime.combine(day + timedelta(days=1), time(0, 0), tzinfo=self._tz)
        else:
            end = datetime.combine(day, self.close, tzinfo=self._tz)
        return int(end.timestamp()) * 1_000_000

    def end_of_day_us(self, day: date) -> int:
        """Midnight at the end of `day` in the venue's time zone (GTD ExpireDate expiry)."""
        return int(datetime.combine(day + timedelta(days=1), time(0, 0), tzinfo=self._tz).timestamp()) * 1_000_000


def parse_calendar(spec: dict) -> TradingCalendar:
    """Build a calendar from config: {timezone, pre_open "HH:MM" (optional), open "HH:MM", close "HH:MM" (or
    "HH:MM:SS"),
    weekdays [0..6], holidays [dates]}."""

    def hhmm(text: str) -> time:
        return time(*(int(part) for part in text.split(":")))  # HH:MM or HH:MM:SS

    cal = TradingCalendar(
        timezone=spec.get("timezone", "UTC"),
        open=hhmm(spec.get("open", "00:00")),
        close=hhmm(spec.get("close", "00:00")),
        pre_open=hhmm(spec["pre_open"]) if spec.get("pre_open") else None,
        weekdays=frozenset(spec.get("weekdays", range(7))),
        holidays=frozenset(date.fromisoformat(d) for d in spec.get("holidays", [])),
    )
    ZoneInfo(cal.timezone)  # raises for an unknown zone
    if not cal.all_day and cal.close <= cal.open:
        raise ValueError(f"close {cal.close} must be after open {cal.open}")
    if cal.pre_open is not None and (cal.all_day or cal.pre_open >= cal.open):
        raise ValueError(f"pre_open {cal.pre_open} must be before open {cal.open}")
    return cal
