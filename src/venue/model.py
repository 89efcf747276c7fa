"""Reference data the venue trades on: members, FIX sessions, investor accounts, securities.

These are values loaded from the store (the member registry); ops manage them with the CLI.
Prices cross the venue's edges as `Decimal` and live inside as integer ticks of the security.
"""

from __future__ import annotations

from dataclasses import InitVar, dataclass, field
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


class IssuerRole(str, Enum):
    """An account's relationship to the issuer of one security (Rule 144(a)(1))."""

    ISSUER = "issuer"  # the issuer's own account: its sales are primary sales, not resales
    AFFILIATE = "affiliate"  # controls, is controlled by or under common control with the issuer


class TradingStatus(str, Enum):
    """Halted: no new orders or replaces, resting orders stay. Suspended: every resting order is
    canceled and nothing is accepted until venue operations reinstate the security."""

    OPEN = "open"
    HALTED = "halted"
    SUSPENDED = "suspended"


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


class Transport(str, Enum):
    """How a FIX session connects: plaintext (loopback only unless the operator allows more) or TLS
    with a client certificate whose CN is the session's CompID."""

    PLAIN = "plain"
    TLS = "tls"


@dataclass(frozen=True, slots=True)
class FixSession:
    """A FIX session the venue accepts. `member_id` is None for a venue-wide ops session."""

    comp_id: str
    member_id: str | None
    role: SessionRole
    password_hash: str
    cancel_on_disconnect: bool = False
    cod_keep_gtc: bool = False  # cancel-on-disconnect spares GTC orders
    enabled: bool = True  # a disabled session may not log on, and nothing of it rests in the books
    transport: Transport = Transport.PLAIN  # which acceptor the session logs on through
    allowed_addresses: tuple[str, ...] = ()  # remote addresses it may connect from; () any
    cert_sha256: str | None = None  # TLS: the one client certificate it may present (else any CN-matching one)


@dataclass(frozen=True, slots=True)
class Account:
    """An investor account held at a member broker-dealer."""

    account_id: str
    member_id: str
    name: str
    jurisdiction: str
    accredited: bool
    investor_type: str = "individual"
    kyc_status: str = "pending"  # pending | verified | rejected: pending until an operator verifies it
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
    allowed_jurisdictions: frozenset[str] | None = None
    denied_jurisdictions: frozenset[str] = frozenset()
    us_buyers_from: date | None = None  # Reg S: US buyers refused before this date (at least)
    max_holders: int | None = None
    max_non_accredited_holders: int | None = None
    min_holding: int | None = None
    max_holding: int | None = None
    # Resale restrictions (venue.resale, spec/compliance.md "Resale restrictions")
    restricted: bool = False  # Rule 144(a)(3) restricted securities: resales wait for the holding period
    issuer_reporting: bool = False  # the issuer has been an Exchange Act reporting company for >= 90 days
    issue_date: date | None = None  # the offering's closing: Reg CF's year and Reg S's period run from it
    reg_s_category: int | None = None  # Rule 903(b) category 1, 2 or 3 (Reg S offerings)
    debt: bool = False  # a debt security (Reg S category 3: 40 days), else equity
    outstanding: int | None = None  # units of the class outstanding (Rule 144(e) volume limit)
    # `venue securities add --holding-period-days N` still names the rule by its old day count:
    # N > 0 makes the security restricted, N <= 183 with a reporting issuer (6 months), else 12.
    holding_period_days: InitVar[int | None] = None

    def __post_init__(self, holding_period_days: int | None) -> None:
        if holding_period_days:
            object.__setattr__(self, "restricted", True)
            object.__setattr__(self, "issuer_reporting", holding_period_days <= 183)

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


@dataclass(frozen=True, slots=True)
class World:
    """The member registry and reference data, as loaded at start-up (the store's `load_world`)."""

    members: dict[str, Member]
    sessions: dict[str, FixSession]
    accounts: dict[str, Account]
    securities: dict[str, Security]
    # (account, symbol) -> the account's relationship to the security's issuer (Rule 144(a)(1))
    affiliations: dict[tuple[str, str], IssuerRole] = field(default_factory=dict)
    # account -> the accounts declared members of its family (Reg CF 227.501(c)); symmetric
    family: dict[str, frozenset[str]] = field(default_factory=dict)
