"""The gates every order-changing message passes between the FIX session and the book.

Each gate is a function (order, context) -> None (pass) or `GateReject`, pure but for the last one,
which may ask the chain node one `eth_call` when its cache cannot answer. `GATES` is the rulebook
in one table: each gate names the paths it applies to (a new order, a replace, a cancel, a mass
cancel, and a resting order re-checked when the state it depends on changes); read top to bottom,
the first gate that refuses decides the answer. `spec/compliance.md` documents the same table
(tests/unit/test_gate_table.py compares them); `venue_code` travels to the member in tag 20001.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from enum import Enum
from typing import Protocol

from venue.book.types import OrdType, TimeInForce
from venue.clock import utc_date
from venue.ledger import Ledger
from venue.messages import NewOrderCommand
from venue.model import (
    Account,
    FixSession,
    IssuerRole,
    Member,
    MemberStatus,
    Offering,
    Security,
    SessionRole,
    TradingStatus,
    World,
)
from venue.orders import OrderCapacity
from venue.resale import (
    affiliate_volume_limit,
    holding_period_months,
    reg_cf_restricted_until,
    reg_cf_transferee,
    reg_s_period_end,
    volume_window_start_us,
)

MAX_ORDER_QTY = 10**12  # token units; with MAX_NOTIONAL_TICKS keeps every journaled number in 64 bits
MAX_NOTIONAL_TICKS = 9 * 10**18
# Reg S Rule 902(l): the United States includes its territories and possessions.
US_JURISDICTIONS = frozenset({"US", "PR", "GU", "VI", "AS", "MP", "UM"})
BPS = 10_000


class OrdRejReason:
    """FIX 4.4 OrdRejReason(103) values the venue uses."""

    EXCHANGE_CLOSED = 2
    UNKNOWN_SYMBOL = 1
    EXCEEDS_LIMIT = 3
    TOO_LATE = 4
    UNKNOWN_ORDER = 5
    DUPLICATE_ORDER = 6
    UNSUPPORTED_CHARACTERISTIC = 11
    INCORRECT_QUANTITY = 13
    UNKNOWN_ACCOUNT = 15
    OTHER = 99


class OrderPath(str, Enum):
    """What a gate is asked about. The message paths carry their FIX MsgType."""

    NEW = "D"  # NewOrderSingle
    REPLACE = "G"  # OrderCancelReplaceRequest: the order as it would be after the replace
    CANCEL = "F"  # OrderCancelRequest
    MASS_CANCEL = "q"  # OrderMassCancelRequest
    RESTING = "resting"  # an order in the book, re-checked when the state it depends on changes


ALL_PATHS = frozenset(OrderPath)
ORDER_PATHS = frozenset({OrderPath.NEW, OrderPath.REPLACE})  # what adds or changes risk
STANDING = frozenset({OrderPath.NEW, OrderPath.REPLACE, OrderPath.RESTING})  # what an order must keep meeting


@dataclass(frozen=True, slots=True)
class GateReject:
    """A refusal: the venue reason code, the FIX OrdRejReason and a text a person understands."""

    venue_code: str
    ord_rej_reason: int
    text: str


@dataclass(frozen=True, slots=True)
class GateContext:
    """What the gates may look at; built by the venue core for each order."""

    session: FixSession | None
    member: Member | None
    security: Security | None
    account: Account | None
    duplicate_cl_ord_id: bool
    trading_day_open: bool
    now_us: int
    ledger: Ledger | None = None  # None: no pre-funding or holdings checks (e.g. a replace's probe)
    reference_ticks: int | None = None  # last trade or configured reference price, in ticks
    entitled: bool = True
    recent_messages: int = 0  # order messages from this session in the last second, this one included
    market_collar_bps: int = 1000
    accredited_count: Callable[[str], tuple[int, int]] | None = None  # symbol -> (holders, non-accredited)
    chain: ChainReader | None = None  # the token's own state (venue.chain.view); None: no settlement chain
    crossing: Callable[[], list[tuple[str, int]]] | None = None  # (account, qty) this order would trade with now
    path: OrderPath = OrderPath.NEW
    filled: int = 0  # a replace: the order's CumQty (what it still needs is OrderQty - filled)
    world: World | None = None  # issuer affiliations and family links (resale rules); None: none known
    inputs: dict = field(default_factory=dict)  # what the gates looked at, for the audit record

    @property
    def today(self) -> date:
        return utc_date(self.now_us)

    def role(self, account_id: str, symbol: str) -> IssuerRole | None:
        """The account's relationship to the issuer of `symbol` (None: neither issuer nor affiliate)."""
        return self.world.affiliations.get((account_id, symbol)) if self.world is not None else None

    def family(self, account_id: str) -> frozenset[str]:
        """The accounts declared members of the account's family."""
        return self.world.family.get(account_id, frozenset()) if self.world is not None else frozenset()


GateFn = Callable[[NewOrderCommand, GateContext], GateReject | None]


@dataclass(frozen=True, slots=True)
class Gate:
    """One rule: its code, what it requires, its check, and the paths it applies to."""

    code: str
    rule: str
    check: GateFn
    applies: frozenset[OrderPath]


def _reject(code: str, reason: int, text: str) -> GateReject:
    return GateReject(code, reason, text)


def session_may_enter_orders(o: NewOrderCommand, c: GateContext) -> GateReject | None:
    if c.session is None or c.session.role is not SessionRole.ORDER_ENTRY:
        return _reject("S100", OrdRejReason.OTHER, "This session may not enter or change orders (drop copy or unknown)")
    if not c.session.enabled:
        return _reject("S110", OrdRejReason.OTHER, f"Session {c.session.comp_id} is disabled by venue operations")
    return None


def member_active(o: NewOrderCommand, c: GateContext) -> GateReject | None:
    if c.member is None or c.member.status is not MemberStatus.ACTIVE:
        return _reject("M100", OrdRejReason.OTHER, "Member is not active on the venue")
    return None


def cl_ord_id_unique(o: NewOrderCommand, c: GateContext) -> GateReject | None:
    if not o.cl_ord_id:
        return _reject("O090", OrdRejReason.OTHER, "ClOrdID(11) is required")
    if c.duplicate_cl_ord_id:
        return _reject("O100", OrdRejReason.DUPLICATE_ORDER, f"Duplicate ClOrdID {o.cl_ord_id}")
    return None


def symbol_known(o: NewOrderCommand, c: GateContext) -> GateReject | None:
    if c.security is None:
        return _reject("Y100", OrdRejReason.UNKNOWN_SYMBOL, f"Unknown symbol {o.symbol}")
    return None


def security_trading(o: NewOrderCommand, c: GateContext) -> GateReject | None:
    """Halted: no new orders or replaces, resting orders stay (cancels are always accepted).
    Suspended: nothing of the security may rest either."""
    assert c.security is not None
    if c.security.trading_status is TradingStatus.SUSPENDED:
        return _reject("Y230", OrdRejReason.EXCHANGE_CLOSED, f"Trading in {o.symbol} is suspended by venue operations")
    if c.path is OrderPath.RESTING:
        return None
    if c.security.trading_status is TradingStatus.HALTED:
        return _reject("Y200", OrdRejReason.EXCHANGE_CLOSED, f"Trading in {o.symbol} is halted")
    if not c.trading_day_open:
        return _reject("Y210", OrdRejReason.EXCHANGE_CLOSED, f"{o.symbol} is outside its trading session")
    return None


def account_belongs_to_member(o: NewOrderCommand, c: GateContext) -> GateReject | None:
    if not o.account:
        return _reject("A090", OrdRejReason.UNKNOWN_ACCOUNT, "Account(1) is required: the investor account")
    if c.account is None or c.member is None or c.account.member_id != c.member.member_id:
        return _reject("A100", OrdRejReason.UNKNOWN_ACCOUNT, f"Account {o.account} is not an account of this member")
    return None


def order_type_supported(o: NewOrderCommand, c: GateContext) -> GateReject | None:
    if o.ord_type not in (OrdType.LIMIT.value, OrdType.MARKET.value):
        return _reject(
            "O200",
            OrdRejReason.UNSUPPORTED_CHARACTERISTIC,
            f"OrdType {o.ord_type} not supported: use 1 (market) or 2 (limit)",
        )
    if o.side not in ("1", "2"):
        return _reject("O210", OrdRejReason.UNSUPPORTED_CHARACTERISTIC, f"Side {o.side} not supported: use 1 or 2")
    if o.smp is not None and o.smp not in ("1", "2", "3"):
        return _reject(
            "O220",
            OrdRejReason.UNSUPPORTED_CHARACTERISTIC,
            f"SelfMatchPreventionInstruction(2964) {o.smp} not supported: use 1, 2 or 3",
        )
    if o.capacity not in _CAPACITIES:
        what = "is required" if o.capacity is None else f"{o.capacity} not supported"
        return _reject(
            "O230",
            OrdRejReason.UNSUPPORTED_CHARACTERISTIC,
            f"OrderCapacity(528) {what}: use A agency, G proprietary, I individual, P principal, "
            "R riskless principal or W agent for other member",
        )
    return None


_CAPACITIES = frozenset(c.value for c in OrderCapacity)


def time_in_force_valid(o: NewOrderCommand, c: GateContext) -> GateReject | None:
    if o.tif not in {t.value for t in TimeInForce}:
        return _reject(
            "O300", OrdRejReason.UNSUPPORTED_CHARACTERISTIC, f"TimeInForce {o.tif} not supported: use 0, 1, 3, 4 or 6"
        )
    if o.tif == TimeInForce.GTD.value:
        if o.expire_time_us is None and o.expire_date is None:
            return _reject("O310", OrdRejReason.OTHER, "GTD order needs ExpireTime(126) or ExpireDate(432)")
        if o.expire_time_us is not None and o.expire_time_us <= c.now_us:
            return _reject("O320", OrdRejReason.TOO_LATE, "ExpireTime(126) is in the past")
    elif o.expire_time_us is not None or o.expire_date is not None:
        return _reject("O330", OrdRejReason.OTHER, "ExpireTime/ExpireDate only allowed with TimeInForce 6 (GTD)")
    return None


def _whole(value: Decimal | None) -> int | None:
    try:
        if value is None or not value.is_finite() or value != value.to_integral_value():
            return None
    except InvalidOperation:
        return None
    return int(value)


def quantity_valid(o: NewOrderCommand, c: GateContext) -> GateReject | None:
    assert c.security is not None
    qty = _whole(o.qty)
    if qty is None or qty <= 0 or qty > MAX_ORDER_QTY:
        return _reject(
            "Q100",
            OrdRejReason.INCORRECT_QUANTITY,
            f"OrderQty(38) must be a positive whole number, at most {MAX_ORDER_QTY:,}",
        )
    if qty % c.security.lot_size:
        return _reject(
            "Q110",
            OrdRejReason.INCORRECT_QUANTITY,
            f"OrderQty {qty} is not a whole number of lots (lot size {c.security.lot_size})",
        )
    if o.min_qty is not None:
        min_qty = _whole(o.min_qty)
        if min_qty is None or min_qty <= 0 or min_qty > qty:
            return _reject(
                "Q120", OrdRejReason.INCORRECT_QUANTITY, "MinQty(110) must be a whole number from 1 to OrderQty"
            )
    return None


def price_valid(o: NewOrderCommand, c: GateContext) -> GateReject | None:
    assert c.security is not None
    if o.ord_type == OrdType.MARKET.value:
        if o.price is not None:
            return _reject("P100", OrdRejReason.OTHER, "Price(44) is not allowed on a market order")
        return None
    if o.price is None:
        return _reject("P110", OrdRejReason.OTHER, "Price(44) is required on a limit order")
    if not o.price.is_finite() or o.price <= 0:
        return _reject("P120", OrdRejReason.OTHER, "Price(44) must be greater than zero")
    ticks = c.security.to_ticks(o.price)
    if ticks is None:
        return _reject(
            "P130", OrdRejReason.OTHER, f"Price {o.price} is not a multiple of the tick size {c.security.tick_size}"
        )
    qty = _whole(o.qty) or 1
    if ticks * qty > MAX_NOTIONAL_TICKS:
        return _reject("P140", OrdRejReason.OTHER, f"Price {o.price} x OrderQty {qty} is beyond what the venue trades")
    return None


# ---------------------------------------------------------------- member and session


def kill_switch_off(o: NewOrderCommand, c: GateContext) -> GateReject | None:
    if c.member is not None and c.member.killed:
        return _reject(
            "M110",
            OrdRejReason.OTHER,
            "Member kill switch is on: new orders are refused until venue operations release it",
        )
    return None


def message_rate_within_limit(o: NewOrderCommand, c: GateContext) -> GateReject | None:
    limit = c.member.max_msgs_per_s if c.member is not None else None
    c.inputs["msgs_last_second"] = c.recent_messages
    if limit is not None and c.recent_messages > limit:
        return _reject(
            "R200",
            OrdRejReason.EXCEEDS_LIMIT,
            f"Message rate limit: more than {limit} order messages in one second on this session; "
            "order not accepted (resend later)",
        )
    return None


def member_entitled(o: NewOrderCommand, c: GateContext) -> GateReject | None:
    if not c.entitled:
        return _reject("M120", OrdRejReason.OTHER, f"Member is not entitled to trade {o.symbol}")
    return None


# ---------------------------------------------------------------- investor account


def investor_kyc_current(o: NewOrderCommand, c: GateContext) -> GateReject | None:
    a = c.account
    assert a is not None
    c.inputs.update(
        kyc_status=a.kyc_status, kyc_expires=a.kyc_expires and a.kyc_expires.isoformat(), aml_flag=a.aml_flag
    )
    if a.kyc_status != "verified":
        return _reject("A110", OrdRejReason.OTHER, f"Investor {a.account_id}: KYC is {a.kyc_status}, not verified")
    if a.kyc_expires is not None and a.kyc_expires < c.today:
        return _reject(
            "A120",
            OrdRejReason.OTHER,
            f"Investor {a.account_id}: KYC expired on {a.kyc_expires.isoformat()}; refresh it",
        )
    if a.aml_flag:
        return _reject(
            "A130", OrdRejReason.OTHER, f"Investor {a.account_id} is under an AML/sanctions hold: no trading"
        )
    return None


def accreditation_current(a: Account, today: date) -> bool:
    """Accredited, and the accreditation has not expired."""
    return a.accredited and (a.accreditation_expires is None or a.accreditation_expires >= today)


def buyer_eligible(o: NewOrderCommand, c: GateContext) -> GateReject | None:
    """Accreditation (Reg D 506(c)), jurisdiction allow/deny lists, Reg S US-buyer restriction."""
    if o.side != "1":
        return None
    a, sec = c.account, c.security
    assert a is not None and sec is not None
    c.inputs.update(
        accredited=a.accredited, jurisdiction=a.jurisdiction, investor_type=a.investor_type, offering=sec.offering.value
    )
    if sec.offering is Offering.REG_D_506C:
        if not a.accredited:
            return _reject(
                "A140",
                OrdRejReason.OTHER,
                f"{o.symbol} was offered under Reg D 506(c): only verified accredited investors may "
                f"buy; investor {a.account_id} is not accredited",
            )
        if not accreditation_current(a, c.today):
            return _reject(
                "A150",
                OrdRejReason.OTHER,
                f"Investor {a.account_id}: accreditation expired on "
                f"{a.accreditation_expires.isoformat()}; {o.symbol} (Reg D 506(c)) needs it current",
            )
    country = a.jurisdiction.upper()
    if (
        sec.allowed_jurisdictions is not None and country not in sec.allowed_jurisdictions
    ) or country in sec.denied_jurisdictions:
        return _reject(
            "A160",
            OrdRejReason.OTHER,
            f"{o.symbol} may not be sold to investors in {country} (security jurisdiction rules)",
        )
    us_from = reg_s_period_end(sec)
    if us_from is not None and country in US_JURISDICTIONS and c.today < us_from:
        c.inputs["reg_s_us_buyers_from"] = _day(us_from)
        return _reject(
            "A170",
            OrdRejReason.OTHER,
            f"{o.symbol} (Reg S) may not be sold to US persons before {_day(us_from)} "
            "(distribution compliance period, Rule 903)",
        )
    snap = c.chain.snapshot() if c.chain is not None else None
    standing = snap.verified.get(a.account_id) if snap is not None else None
    if standing is not None:
        c.inputs["identity_registry_verified"] = standing
    if standing is False:
        return _reject(
            "A180",
            OrdRejReason.OTHER,
            f"Investor {a.account_id}'s wallet is not verified in the token's identity registry "
            "(ERC-3643): it cannot receive tokens",
        )
    return None


# ---------------------------------------------------------------- risk


def effective_price(o: NewOrderCommand, c: GateContext) -> Decimal | None:
    """The limit price, or for a market order the reference price moved by the market collar
    (up for a buy, rounded up to the tick; down for a sell); None without a reference."""
    if o.price is not None:
        return o.price
    sec = c.security
    if sec is None or c.reference_ticks is None:
        return None
    return sec.to_price(collar_ticks(o.side, c.reference_ticks, c.market_collar_bps))


def collar_ticks(side: str, reference_ticks: int, collar_bps: int) -> int:
    """The market-order collar price in ticks: the reference moved up (buy, rounded up) or down
    (sell, rounded down) by `collar_bps`; at least one tick."""
    if side == "1":
        ticks = -((-reference_ticks * (BPS + collar_bps)) // BPS)
    else:
        ticks = reference_ticks * (BPS - collar_bps) // BPS
    return max(ticks, 1)


def member_risk_limits(o: NewOrderCommand, c: GateContext) -> GateReject | None:
    m, sec = c.member, c.security
    assert m is not None and sec is not None and o.qty is not None
    qty = int(o.qty)
    if m.max_order_qty is not None and qty > m.max_order_qty:
        return _reject(
            "R100",
            OrdRejReason.EXCEEDS_LIMIT,
            f"OrderQty {qty} exceeds the member's maximum order quantity {m.max_order_qty}",
        )
    price = effective_price(o, c)
    if m.max_notional is not None:
        if price is None:
            return _reject(
                "R110",
                OrdRejReason.EXCEEDS_LIMIT,
                "Market order refused: no reference price to check the member's notional limit",
            )
        notional = price * qty
        c.inputs["notional"] = str(notional)
        if notional > m.max_notional:
            return _reject(
                "R110",
                OrdRejReason.EXCEEDS_LIMIT,
                f"Order notional {notional} {sec.currency} exceeds the member's maximum {m.max_notional}",
            )
    if m.collar_bps is not None and o.price is not None and c.reference_ticks is not None:
        ticks = sec.to_ticks(o.price) or 0
        c.inputs["reference_ticks"] = c.reference_ticks
        if abs(ticks - c.reference_ticks) * BPS > c.reference_ticks * m.collar_bps:
            ref = sec.to_price(c.reference_ticks)
            return _reject(
                "R120",
                OrdRejReason.EXCEEDS_LIMIT,
                f"Price {o.price} is more than {m.collar_bps / 100:g}% from the reference price {ref} "
                "(member price collar)",
            )
    return None


# ---------------------------------------------------------------- security rules and pre-funding


def _day(d: date) -> str:
    """A date in a refusal's text; the far end of time means the date is not on record."""
    return "its issue date is on record" if d == date.max else d.isoformat()


def seller_may_deliver(o: NewOrderCommand, c: GateContext) -> GateReject | None:
    """Tokens for a sell: not held by other sells, past their Rule 144 holding period, an
    affiliate's sales within the Rule 144(e) volume limit, minimum holding kept."""
    if o.side != "2" or c.ledger is None:
        return None
    a, sec = c.account, c.security
    assert a is not None and sec is not None and o.qty is not None
    qty = int(o.qty) - c.filled
    available = c.ledger.available_tokens(a.account_id, o.symbol)
    c.inputs["available_tokens"] = available
    if qty > available:
        return _reject(
            "F100",
            OrdRejReason.EXCEEDS_LIMIT,
            f"Sell {qty} {o.symbol} exceeds investor {a.account_id}'s available tokens {max(available, 0)} "
            "(balance less open sells and unsettled sales)",
        )
    role = c.role(a.account_id, o.symbol)
    months = holding_period_months(sec)
    if months is not None and role is not IssuerRole.ISSUER:  # the issuer's own sales are not resales
        unlocked = c.ledger.unlocked_tokens(a.account_id, o.symbol, c.now_us, months)
        c.inputs["unlocked_tokens"] = unlocked
        if qty > unlocked:
            return _reject(
                "C100",
                OrdRejReason.OTHER,
                f"Sell {qty} {o.symbol}: only {max(unlocked, 0)} are past the {months}-month holding period "
                "(Rule 144(d)); the rest are still restricted",
            )
    if role is IssuerRole.AFFILIATE:  # Rule 144(e): sales in three months, open sells and this one
        limit = affiliate_volume_limit(sec)
        if limit is None:
            return _reject(
                "C160",
                OrdRejReason.OTHER,
                f"Investor {a.account_id} is an affiliate of {o.symbol}'s issuer: its sales are limited to 1% of "
                f"the units outstanding (Rule 144(e)), and {o.symbol} has no units outstanding on record",
            )
        since = volume_window_start_us(c.now_us)
        sold = c.ledger.sold_since(a.account_id, o.symbol, since)
        open_sells = c.ledger.open_sell_tokens(a.account_id, o.symbol)
        c.inputs.update(affiliate_sold=sold, affiliate_open_sells=open_sells, affiliate_limit=limit)
        if sold + open_sells + qty > limit:
            return _reject(
                "C150",
                OrdRejReason.EXCEEDS_LIMIT,
                f"Sell {qty} {o.symbol}: investor {a.account_id} is an affiliate of the issuer; with {sold} sold "
                f"since {utc_date(since).isoformat()} and {open_sells} in open sells it would exceed the Rule "
                f"144(e) limit of {limit} in three months (1% of {sec.outstanding} outstanding)",
            )
    left = available - qty
    if sec.min_holding is not None and 0 < left < sec.min_holding:
        return _reject(
            "C140",
            OrdRejReason.OTHER,
            f"Sell would leave {left} {o.symbol}, below the minimum holding {sec.min_holding} "
            "(sell all or keep the minimum)",
        )
    return None


def reg_cf_transfer(o: NewOrderCommand, c: GateContext) -> GateReject | None:
    """Reg CF (227.501(a)): for a year from issuance a buyer must be the issuer, an accredited
    investor, or a member of the seller's family trading at once, in full, with its family's orders
    (such an order may not rest, where a stranger could sell to it). Sells need no check: every buy
    that rests is the issuer's or an accredited investor's."""
    if o.side != "1":
        return None
    a, sec = c.account, c.security
    assert a is not None and sec is not None and o.qty is not None
    until = reg_cf_restricted_until(sec)
    if until is None or c.today >= until:
        return None
    c.inputs["reg_cf_restricted_until"] = _day(until)
    family = c.family(a.account_id)
    if reg_cf_transferee(a, None, c.today, c.role(a.account_id, o.symbol), family) is not None:
        return None
    why = (
        f"{o.symbol} (Reg CF) may be transferred before {_day(until)} only to the issuer, an accredited "
        "investor or a member of the seller's family (227.501(a))"
    )
    if not family or c.path is OrderPath.RESTING or c.crossing is None:
        return _reject("C170", OrdRejReason.OTHER, f"{why}: investor {a.account_id} is none of these")
    need = int(o.qty) - c.filled
    sellers = c.crossing()
    c.inputs["reg_cf_family_sellers"] = sorted({s for s, _ in sellers})
    strangers = sorted({s for s, _ in sellers if s not in family})
    if strangers or sum(q for _, q in sellers) < need:
        return _reject(
            "C170",
            OrdRejReason.OTHER,
            f"{why}: investor {a.account_id} may buy only from its family's orders, at once and in full"
            + (f" (it would buy from {', '.join(strangers)})" if strangers else ""),
        )
    return None


def buyer_may_hold(o: NewOrderCommand, c: GateContext) -> GateReject | None:
    """Holder-count caps (Section 12(g)), maximum holding per investor."""
    if o.side != "1" or c.ledger is None:
        return None
    a, sec = c.account, c.security
    assert a is not None and sec is not None and o.qty is not None
    position = c.ledger.prospective_position(a.account_id, o.symbol)
    c.inputs["prospective_position"] = position
    after = position + int(o.qty) - c.filled
    if sec.max_holding is not None and after > sec.max_holding:
        return _reject(
            "C130",
            OrdRejReason.OTHER,
            f"Buy would take investor {a.account_id} to {after} {o.symbol}, above the "
            f"maximum holding {sec.max_holding}",
        )
    if position == 0 and (sec.max_holders is not None or sec.max_non_accredited_holders is not None):
        holders, non_accredited = c.accredited_count(o.symbol) if c.accredited_count else (0, 0)
        c.inputs.update(holders=holders, non_accredited_holders=non_accredited)
        if sec.max_holders is not None and holders + 1 > sec.max_holders:
            return _reject(
                "C110",
                OrdRejReason.OTHER,
                f"{o.symbol} has {holders} holders of record, the cap is {sec.max_holders}: "
                "a buy by a new holder is refused (Section 12(g))",
            )
        if (
            sec.max_non_accredited_holders is not None
            and not accreditation_current(a, c.today)
            and non_accredited + 1 > sec.max_non_accredited_holders
        ):
            return _reject(
                "C120",
                OrdRejReason.OTHER,
                f"{o.symbol} has {non_accredited} non-accredited holders, the cap is "
                f"{sec.max_non_accredited_holders}: a new non-accredited holder is refused (Section 12(g))",
            )
    return None


def buyer_has_cash(o: NewOrderCommand, c: GateContext) -> GateReject | None:
    if o.side != "1" or c.ledger is None:
        return None
    a, sec = c.account, c.security
    assert a is not None and sec is not None and o.qty is not None
    price = effective_price(o, c)
    if price is None:
        return _reject(
            "F120",
            OrdRejReason.OTHER,
            f"Market buy refused: {o.symbol} has no reference price to reserve cash against; use a limit",
        )
    need = price * (int(o.qty) - c.filled)
    available = c.ledger.available_cash(a.account_id)
    c.inputs.update(cash_needed=str(need), available_cash=str(available))
    if need > available:
        return _reject(
            "F110",
            OrdRejReason.EXCEEDS_LIMIT,
            f"Buy needs {need} {sec.currency} but investor {a.account_id} has {max(available, Decimal(0))} "
            "available (cash less open buys and unsettled purchases)",
        )
    return None


# ---------------------------------------------------------------- the token itself (ERC-3643)


class ChainReader(Protocol):
    """What the gates read of the settlement chain (venue.chain.view.ChainView)."""

    def snapshot(self): ...  # venue.chain.view.Snapshot | None

    def can_transfer(self, symbol: str, seller: str, buyer: str, qty: int) -> bool | None: ...


def token_would_settle(o: NewOrderCommand, c: GateContext) -> GateReject | None:
    """Ask the token before accepting: not paused, the investor's wallet not frozen, the tokens or
    cash on-chain (what the DvP contract could take, less what open orders hold), and the token's
    compliance (`canTransfer`) for every resting order this one would trade with now. Facts the
    chain view does not have (no snapshot yet, no wallet, a snapshot older than the account's last
    settlement) pass: the settlement worker checks again and busts what the token refuses."""
    if c.chain is None:
        return None
    snap = c.chain.snapshot()
    a, sec = c.account, c.security
    assert a is not None and sec is not None and o.qty is not None
    if snap is None:
        c.inputs["chain"] = "no snapshot yet"
        return None
    account, symbol, qty = a.account_id, o.symbol, int(o.qty) - c.filled
    c.inputs["chain_block"] = snap.block
    if snap.paused.get(symbol):
        return _reject(
            "T100",
            OrdRejReason.OTHER,
            f"The {symbol} token is paused on-chain by its issuer's agent: no transfer can settle",
        )
    if snap.frozen.get((account, symbol)):
        return _reject(
            "T110",
            OrdRejReason.OTHER,
            f"Investor {account}'s wallet is frozen in the {symbol} token: it can neither send nor receive",
        )
    current = c.ledger is not None and c.ledger.chain_current(account, snap.block)
    if current and o.side == "2" and (account, symbol) in snap.tokens:
        chain_free = snap.tokens[(account, symbol)] - c.ledger.open_sell_tokens(account, symbol)
        c.inputs["chain_tokens"] = snap.tokens[(account, symbol)]
        if qty > chain_free:
            return _reject(
                "T120",
                OrdRejReason.EXCEEDS_LIMIT,
                f"Sell {qty} {symbol}: investor {account}'s wallet can deliver {max(chain_free, 0)} on-chain "
                "(balance less frozen tokens, within its allowance to the settlement contract, less open "
                "sells)",
            )
    if current and o.side == "1" and account in snap.cash:
        price = effective_price(o, c)
        if price is not None:
            chain_free = snap.cash[account] - c.ledger.open_buy_cash(account)
            c.inputs["chain_cash"] = str(snap.cash[account])
            if price * qty > chain_free:
                return _reject(
                    "T130",
                    OrdRejReason.EXCEEDS_LIMIT,
                    f"Buy needs {price * qty} {sec.currency} but investor {account}'s wallet can pay "
                    f"{max(chain_free, Decimal(0))} on-chain (stablecoin balance within its allowance to the "
                    "settlement contract, less open buys)",
                )
    if c.crossing is not None:
        for other, fill in c.crossing():
            seller, buyer = (other, account) if o.side == "1" else (account, other)
            if c.chain.can_transfer(symbol, seller, buyer, fill) is False:
                c.inputs["can_transfer_refused"] = fill
                return _reject(
                    "T140",
                    OrdRejReason.OTHER,
                    f"The {symbol} token's compliance (ERC-3643 canTransfer) refuses a transfer of {fill} "
                    f"between investor {account} and a resting order it would trade with; the trade "
                    "could not settle",
                )
    return None


_NEW = frozenset({OrderPath.NEW})
_ENTRY = frozenset({OrderPath.NEW, OrderPath.REPLACE, OrderPath.CANCEL, OrderPath.MASS_CANCEL, OrderPath.RESTING})
_REQUESTS = frozenset({OrderPath.NEW, OrderPath.REPLACE, OrderPath.CANCEL})

# The rulebook. `applies`: the paths each gate checks. Cancels and mass cancels pass only the
# session and ClOrdID gates: a venue never stops a member from taking risk off. A replace is
# checked as the order it would become (pre-funding gates count only what it needs beyond what it
# already holds). RESTING: when a registry change, a suspension or an expiry date makes a resting
# order one the gate would refuse now, the venue cancels it (150=4, the gate's text).
GATES: tuple[Gate, ...] = (
    Gate("S100", "The session is an order-entry session and is enabled", session_may_enter_orders, _ENTRY),
    Gate("R200", "The session is within its member's order-message rate limit", message_rate_within_limit, ORDER_PATHS),
    Gate("M100", "The member is active", member_active, STANDING),
    Gate("M110", "The member's kill switch is off", kill_switch_off, STANDING),
    Gate(
        "O100",
        "ClOrdID is present and not in use on this session (today, or by an open order)",
        cl_ord_id_unique,
        _REQUESTS,
    ),
    Gate("Y100", "The symbol is a security listed on the venue", symbol_known, _NEW),
    Gate("M120", "The member is entitled to the security", member_entitled, STANDING),
    Gate(
        "O200",
        "Order type is limit or market; side is buy or sell; SMP instruction 1-3; OrderCapacity given",
        order_type_supported,
        _NEW,
    ),
    Gate("A100", "The investor account belongs to the sending member", account_belongs_to_member, ORDER_PATHS),
    Gate("A110", "The investor's KYC is verified and current; no AML/sanctions hold", investor_kyc_current, STANDING),
    Gate(
        "Y200",
        "The security is not halted or suspended and its trading session is open (resting orders: not suspended)",
        security_trading,
        STANDING,
    ),
    Gate("O300", "TimeInForce is supported; GTD carries a future expiry", time_in_force_valid, _NEW),
    Gate("Q100", "Quantity is a positive whole number of lots; MinQty within it", quantity_valid, ORDER_PATHS),
    Gate(
        "P100",
        "Limit price is present, positive, on the tick, within range; none on market orders",
        price_valid,
        ORDER_PATHS,
    ),
    Gate(
        "R100", "Within the member's max order quantity, max notional and price collar", member_risk_limits, ORDER_PATHS
    ),
    Gate(
        "A140",
        "A buyer is eligible: accreditation (506(c)), jurisdiction lists, Reg S (Rule 903), on-chain identity",
        buyer_eligible,
        STANDING,
    ),
    Gate(
        "C100",
        "A seller has the tokens: available, past the Rule 144 holding period, an affiliate within the "
        "Rule 144(e) volume limit, minimum holding kept",
        seller_may_deliver,
        ORDER_PATHS,
    ),
    Gate(
        "C170",
        "Reg CF within a year of issuance: the buyer is the issuer, an accredited investor or the seller's family",
        reg_cf_transfer,
        STANDING,
    ),
    Gate("C110", "A buyer stays within holder caps (12(g)) and the maximum holding", buyer_may_hold, ORDER_PATHS),
    Gate(
        "F110", "A buyer has the cash: price x quantity available (market: collar price)", buyer_has_cash, ORDER_PATHS
    ),
    Gate(
        "T100",
        "The token would settle it: not paused, wallet not frozen, tokens/cash on-chain, canTransfer "
        "against the resting orders it would trade with",
        token_would_settle,
        ORDER_PATHS,
    ),
)


def gates_for(path: OrderPath) -> tuple[Gate, ...]:
    """The gates that apply to one path, in table order."""
    return _BY_PATH[path]


_BY_PATH: dict[OrderPath, tuple[Gate, ...]] = {p: tuple(g for g in GATES if p in g.applies) for p in OrderPath}


def check(order: NewOrderCommand, ctx: GateContext) -> GateReject | None:
    """Run the gates that apply to `ctx.path`; the first refusal wins."""
    for gate in _BY_PATH[ctx.path]:
        reject = gate.check(order, ctx)
        if reject is not None:
            return reject
    return None
