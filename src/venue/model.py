"""Reference data the venue trades on: members, FIX sessions, investor accounts, securities.

These are values loaded from the store (the member registry); ops manage them with the CLI.
Prices cross the venue's edges as `Decimal` and live inside as integer ticks of the security.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
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
    """A member broker-dealer. Risk limits of None mean no limit; `killed` is the kill switch."""

    member_id: str
    name: str
    kind: str
    status: MemberStatus = MemberStatus.ACTIVE
    default_smp: str = "1"  # SelfMatchPreventionInstruction(2964) when an order carries none
    max_order_qty: int | None = None
    max_notional: Decimal | None = None
    collar_bps: int | None = None
    max_msgs_per_s: int | None = None
    killed: bool = False


@dataclass(frozen=True, slots=True)
class FixSession:
    """A FIX session the venue accepts. `member_id` is None for a venue-wide ops session."""

    comp_id: str
    member_id: str | None
    role: SessionRole
    password_hash: str
    cancel_on_disconnect: bool = False
    cod_keep_gtc: bool = False  # cancel-on-disconnect spares GTC orders


@dataclass(frozen=True, slots=True)
class Account:
    """An investor account held at a member broker-dealer."""

    account_id: str
    member_id: str
    name: str
    jurisdiction: str
    accredited: bool
    investor_type: str = "individual"
    kyc_status: str = "verified"  # verified | pending | rejected
    kyc_expires: date | None = None
    aml_flag: bool = False
    accreditation_expires: date | None = None


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
    auction_interval_s: int | None = None  # periodic call auctions every N seconds instead of continuous
    holding_period_days: int | None = None
    allowed_jurisdictions: frozenset[str] | None = None
    denied_jurisdictions: frozenset[str] = frozenset()
    us_buyers_from: date | None = None  # Reg S: US buyers refused before this date
    max_holders: int | None = None
    max_non_accredited_holders: int | None = None
    min_holding: int | None = None
    max_holding: int | None = None

    def to_ticks(self, price: Decimal) -> int | None:
        """Price in ticks, or None when the price is not a whole number of ticks."""
        try:
            ticks, rest = divmod(price, self.tick_size)
        except ArithmeticError:  # beyond Decimal's precision (a price of 1E+26): no such tick
            return None
        if rest != 0:
            return None
        return int(ticks)

    def to_price(self, ticks: int) -> Decimal:
        """The Decimal price of a number of ticks, normalised to the tick's exponent."""
        return (self.tick_size * ticks).quantize(self.tick_size)
