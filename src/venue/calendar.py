"""The trading calendar: when a security's trading session opens and closes.

A calendar is config (time zone, open, close, holidays). The venue asks it which trading day an
instant belongs to, whether the session is open, and when the current session closes; Day orders
expire at that close. Times are integer microseconds since the epoch (UTC).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo


@dataclass(frozen=True, slots=True)
class TradingCalendar:
    """One daily session [open, close) in `timezone`, on weekdays listed in `weekdays` (Mon=0),
    except `holidays`. open == close == 00:00 means a session that lasts the whole day."""

    timezone: str = "UTC"
    open: time = time(0, 0)
    close: time = time(0, 0)
    weekdays: frozenset[int] = frozenset(range(7))
    holidays: frozenset[date] = field(default_factory=frozenset)

    @property
    def _tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def all_day(self) -> bool:
        return self.open == self.close == time(0, 0)

    def _local(self, now_us: int) -> datetime:
        return datetime.fromtimestamp(now_us / 1_000_000, tz=timezone.utc).astimezone(self._tz)

    def trading_day(self, now_us: int) -> date:
        """The calendar date (in the venue's time zone) that `now_us` falls on."""
        return self._local(now_us).date()

    def is_trading_day(self, day: date) -> bool:
        return day.weekday() in self.weekdays and day not in self.holidays

    def is_open(self, now_us: int) -> bool:
        local = self._local(now_us)
        if not self.is_trading_day(local.date()):
            return False
        if self.all_day:
            return True
        return self.open <= local.time() < self.close

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
    """Build a calendar from config: {timezone, open "HH:MM", close "HH:MM", weekdays [0..6], holidays [dates]}."""
    def hhmm(text: str) -> time:
        hours, minutes = text.split(":")
        return time(int(hours), int(minutes))

    return TradingCalendar(
        timezone=spec.get("timezone", "UTC"),
        open=hhmm(spec.get("open", "00:00")),
        close=hhmm(spec.get("close", "00:00")),
        weekdays=frozenset(spec.get("weekdays", range(7))),
        holidays=frozenset(date.fromisoformat(d) for d in spec.get("holidays", [])),
    )
