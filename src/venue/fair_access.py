"""Reg ATS Rule 301(b)(5) fair access: is a security under the fair-access regime this month?

Pure computation (no store, no chain, no clock): daily volumes go in, month figures and the regime
come out. See spec/fair-access.md, section 2.

- Venue volume of a day: the sum of the quantities of the venue's trades in the security executed
  that UTC day (one trade is one cross: it is counted once, not once per side).
- Market volume of a day: the security's total volume that day, from an imported CSV or from the
  token's on-chain transfers, handed in as numbers. It includes the venue's own trades.
- Trading days of a month: the days of the month with market volume above zero. Both averages use
  this same count, so the share equals venue volume / market volume for the month.
- Share = venue ADV / market ADV. A month qualifies when the share is 5% or more, decided exactly in
  integers (20 × venue volume ≥ market volume), never on a rounded Decimal.
- A month with venue volume but no market data is presumed to qualify (the venue cannot show it
  stayed below 5%); a month without venue volume never qualifies.
- Security S is under the regime in month M when at least 4 of the 6 calendar months before M
  qualify. M itself does not count.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation, localcontext

THRESHOLD = Decimal("0.05")  # 5 percent of the market's average daily volume
THRESHOLD_DENOMINATOR = 20  # 1 / THRESHOLD: the exact integer form of the test
LOOKBACK_MONTHS = 6
MONTHS_REQUIRED = 4
CSV_COLUMNS = ("symbol", "date", "quantity")

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


@dataclass(frozen=True, slots=True, order=True)
class Month:
    """A calendar month (UTC)."""

    year: int
    month: int

    def __post_init__(self) -> None:
        if not 1 <= self.month <= 12:
            raise ValueError(f"month {self.month} is not 1 to 12")

    @classmethod
    def parse(cls, text: str) -> Month:
        """`YYYY-MM` -> Month; ValueError otherwise."""
        m = _MONTH.match(text.strip())
        if not m:
            raise ValueError(f"{text!r} is not a month (YYYY-MM)")
        return cls(int(m.group(1)), int(m.group(2)))

    @classmethod
    def of(cls, day: date) -> Month:
        return cls(day.year, day.month)

    def shift(self, months: int) -> Month:
        index = self.year * 12 + self.month - 1 + months
        return Month(index // 12, index % 12 + 1)

    def preceding(self, count: int = LOOKBACK_MONTHS) -> tuple[Month, ...]:
        """The `count` calendar months before this one, oldest first."""
        return tuple(self.shift(-n) for n in range(count, 0, -1))

    def through(self, last: Month) -> tuple[Month, ...]:
        """This month to `last`, inclusive (empty when `last` is earlier)."""
        months, m = [], self
        while m <= last:
            months.append(m)
            m = m.shift(1)
        return tuple(months)

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"


@dataclass(frozen=True, slots=True)
class MonthVolume:
    """One security's volumes in one month."""

    month: Month
    venue_volume: int
    market_volume: int
    trading_days: int  # days of the month with market volume above zero

    @property
    def has_market_data(self) -> bool:
        return self.trading_days > 0

    @property
    def venue_adv(self) -> Decimal | None:
        return _div(self.venue_volume, self.trading_days) if self.has_market_data else None

    @property
    def market_adv(self) -> Decimal | None:
        return _div(self.market_volume, self.trading_days) if self.has_market_data else None

    @property
    def share(self) -> Decimal | None:
        """Venue ADV / market ADV (a fraction: 0.05 is 5%); None without market data."""
        return _div(self.venue_volume, self.market_volume) if self.has_market_data else None

    @property
    def presumed(self) -> bool:
        """No market data but the venue traded: counted as qualifying (section 2.4 of the spec)."""
        return not self.has_market_data and self.venue_volume > 0

    @property
    def qualifies(self) -> bool:
        """Share of 5% or more (exact), or presumed so."""
        if self.venue_volume <= 0:
            return False
        if not self.has_market_data:
            return True
        return self.venue_volume * THRESHOLD_DENOMINATOR >= self.market_volume


@dataclass(frozen=True, slots=True)
class Regime:
    """Whether a security is under the fair-access regime in `month`, and why."""

    month: Month
    lookback: tuple[Month, ...]  # the 6 months before `month`, oldest first
    qualifying: tuple[Month, ...]  # those at 5% or more (including presumed ones)
    presumed: tuple[Month, ...]  # qualifying only because market data is missing

    @property
    def fair_access(self) -> bool:
        return len(self.qualifying) >= MONTHS_REQUIRED


@dataclass(frozen=True, slots=True)
class DailyVolume:
    """One imported market-volume row."""

    symbol: str
    day: date
    quantity: int


class VolumeFileError(Exception):
    """A market-volume file has bad rows; `errors` lists each with its line number."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("\n".join(errors))
        self.errors = errors


def _div(numerator: int, denominator: int) -> Decimal:
    with localcontext() as ctx:
        ctx.prec = 28
        return Decimal(numerator) / Decimal(denominator)


def month_volumes(
    venue_daily: Mapping[date, int], market_daily: Mapping[date, int], months: Iterable[Month]
) -> dict[Month, MonthVolume]:
    """Per month: venue volume, market volume and trading days, from daily volumes of one security."""
    venue: dict[Month, int] = {}
    market: dict[Month, int] = {}
    days: dict[Month, int] = {}
    for day, qty in venue_daily.items():
        venue[Month.of(day)] = venue.get(Month.of(day), 0) + int(qty)
    for day, qty in market_daily.items():
        if qty > 0:
            m = Month.of(day)
            market[m] = market.get(m, 0) + int(qty)
            days[m] = days.get(m, 0) + 1
    return {m: MonthVolume(m, venue.get(m, 0), market.get(m, 0), days.get(m, 0)) for m in months}


def regime(month: Month, volumes: Mapping[Month, MonthVolume]) -> Regime:
    """The regime of one security in `month`, from its month volumes (a month absent from `volumes`
    had neither venue volume nor market data)."""
    lookback = month.preceding(LOOKBACK_MONTHS)
    present = [volumes[m] for m in lookback if m in volumes]
    return Regime(
        month, lookback, tuple(v.month for v in present if v.qualifies), tuple(v.month for v in present if v.presumed)
    )


def assess(
    venue_daily: Mapping[date, int], market_daily: Mapping[date, int], months: Iterable[Month]
) -> list[tuple[MonthVolume, Regime]]:
    """For each of `months`: its volumes and the regime in force during it."""
    months = sorted(set(months))
    if not months:
        return []
    needed = months[0].shift(-LOOKBACK_MONTHS).through(months[-1])
    volumes = month_volumes(venue_daily, market_daily, needed)
    return [(volumes[m], regime(m, volumes)) for m in months]


def data_months(*dailies: Mapping[date, int]) -> tuple[Month, Month] | None:
    """First and last month holding any day of the given daily volumes (None if all are empty)."""
    days = [d for daily in dailies for d in daily]
    if not days:
        return None
    return Month.of(min(days)), Month.of(max(days))


def parse_market_volume(lines: Iterable[str], known_symbols: Iterable[str] | None = None) -> list[DailyVolume]:
    """Rows of a market-volume CSV (header `symbol,date,quantity`; date YYYY-MM-DD; quantity a whole
    number of token units, 0 or more). Raises VolumeFileError listing every bad line; blank lines are
    skipped; a (symbol, date) may appear once."""
    known = None if known_symbols is None else set(known_symbols)
    reader = csv.reader(lines)
    errors: list[str] = []
    rows: list[DailyVolume] = []
    seen: dict[tuple[str, date], int] = {}
    header = next(reader, None)
    if header is None or [c.strip().lower() for c in header] != list(CSV_COLUMNS):
        raise VolumeFileError(
            [
                f"line 1: the header must be {','.join(CSV_COLUMNS)}, found "
                f"{','.join(header) if header else 'an empty file'}"
            ]
        )
    for cells in reader:
        line = reader.line_num
        if not any(c.strip() for c in cells):
            continue
        if len(cells) != len(CSV_COLUMNS):
            errors.append(f"line {line}: expected 3 columns (symbol,date,quantity), found {len(cells)}")
            continue
        symbol, day_text, qty_text = (c.strip() for c in cells)
        problems = []
        if not symbol:
            problems.append("the symbol is empty")
        elif known is not None and symbol not in known:
            problems.append(f"unknown symbol {symbol}")
        try:
            day = date.fromisoformat(day_text)
            if len(day_text) != 10:
                raise ValueError
        except ValueError:
            problems.append(f"date {day_text!r} is not YYYY-MM-DD")
            day = None
        quantity = _quantity(qty_text)
        if quantity is None:
            problems.append(f"quantity {qty_text!r} is not a whole number of 0 or more")
        if not problems and (symbol, day) in seen:
            problems.append(f"{symbol} {day} already given on line {seen[(symbol, day)]}")
        if problems:
            errors.append(f"line {line}: " + "; ".join(problems))
            continue
        seen[(symbol, day)] = line
        rows.append(DailyVolume(symbol, day, quantity))
    if errors:
        raise VolumeFileError(errors)
    return rows


def _quantity(text: str) -> int | None:
    try:
        value = Decimal(text)
    except InvalidOperation:
        return None
    if not value.is_finite() or value < 0 or value != value.to_integral_value():
        return None
    return int(value)
