"""Reference data the venue trades on: members, FIX sessions, investor accounts, securities.

These are values loaded from the store (the member registry); ops manage them with the CLI.
Prices cross the venue's edges as `Decimal` and live inside as integer ticks of the security.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import Enum


class SessionRole(str, Enum):
    """What a FIX session may do."""

    ORDER_ENTRY = "order_entry"
    DROP_COPY = "drop_copy"


class MemberStatus(str, Enum):
    ACTIVE = "active"
    SUSPENDED = "suspended"


class Offering(str, Enum):
    """The exemption (or registration) a security was sold under; drives investor rules."""

    REGISTERED = "registered"
    REG_D_506B = "reg_d_506b"
    REG_D_506C = "reg_d_506c"
    REG_CF = "reg_cf"
    REG_S = "reg_s"
    REG_A = "reg_a"


class TradingStatus(str, Enum):
    OPEN = "open"
    HALTED = "halted"


@dataclass(frozen=True, slots=True)
class Member:
    member_id: str
    name: str
    kind: str
    status: MemberStatus = MemberStatus.ACTIVE


@dataclass(frozen=True, slots=True)
class FixSession:
    """A FIX session the venue accepts. `member_id` is None for a venue-wide ops session."""

    comp_id: str
    member_id: str | None
    role: SessionRole
    password_hash: str
    cancel_on_disconnect: bool = False


@dataclass(frozen=True, slots=True)
class Account:
    """An investor account held at a member broker-dealer."""

    account_id: str
    member_id: str
    name: str
    jurisdiction: str
    accredited: bool
    investor_type: str = "individual"


@dataclass(frozen=True, slots=True)
class Security:
    """A tradable security token. `tick_size` in the quote currency; `lot_size` in token units."""

    symbol: str
    name: str
    tick_size: Decimal
    lot_size: int
    offering: Offering = Offering.REGISTERED
    trading_status: TradingStatus = TradingStatus.OPEN
    reference_price: Decimal | None = None
    band_bps: int | None = None
    currency: str = "USD"

    def to_ticks(self, price: Decimal) -> int | None:
        """Price in ticks, or None when the price is not a whole number of ticks."""
        ticks, rest = divmod(price, self.tick_size)
        if rest != 0:
            return None
        return int(ticks)

    def to_price(self, ticks: int) -> Decimal:
        """The Decimal price of a number of ticks, normalised to the tick's exponent."""
        return (self.tick_size * ticks).quantize(self.tick_size)
