"""The gates every order passes between the FIX session and the book.

Each gate is a pure function (order, context) -> None (pass) or `GateReject`. `NEW_ORDER_GATES`
is the rulebook in one table: read top to bottom, the first gate that refuses decides the answer.
`spec/compliance.md` documents the same table; `venue_code` travels to the member in tag 20001.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from venue.book.types import OrdType, TimeInForce
from venue.messages import NewOrderCommand
from venue.model import Account, FixSession, Member, MemberStatus, Security, SessionRole, TradingStatus


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


GateFn = Callable[[NewOrderCommand, GateContext], GateReject | None]


@dataclass(frozen=True, slots=True)
class Gate:
    code: str
    rule: str
    check: GateFn


def _reject(code: str, reason: int, text: str) -> GateReject:
    return GateReject(code, reason, text)


def session_may_enter_orders(o: NewOrderCommand, c: GateContext) -> GateReject | None:
    if c.session is None or c.session.role is not SessionRole.ORDER_ENTRY:
        return _reject("S100", OrdRejReason.OTHER, "This session may not enter orders (drop copy or unknown)")
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
    assert c.security is not None
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
        return _reject("O200", OrdRejReason.UNSUPPORTED_CHARACTERISTIC,
                       f"OrdType {o.ord_type} not supported: use 1 (market) or 2 (limit)")
    if o.side not in ("1", "2"):
        return _reject("O210", OrdRejReason.UNSUPPORTED_CHARACTERISTIC, f"Side {o.side} not supported: use 1 or 2")
    if o.smp is not None and o.smp not in ("1", "2", "3"):
        return _reject("O220", OrdRejReason.UNSUPPORTED_CHARACTERISTIC,
                       f"SelfMatchPreventionInstruction(2964) {o.smp} not supported: use 1, 2 or 3")
    return None


def time_in_force_valid(o: NewOrderCommand, c: GateContext) -> GateReject | None:
    if o.tif not in {t.value for t in TimeInForce}:
        return _reject("O300", OrdRejReason.UNSUPPORTED_CHARACTERISTIC,
                       f"TimeInForce {o.tif} not supported: use 0, 1, 3, 4 or 6")
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
        if value is None or value != value.to_integral_value():
            return None
    except InvalidOperation:
        return None
    return int(value)


def quantity_valid(o: NewOrderCommand, c: GateContext) -> GateReject | None:
    assert c.security is not None
    qty = _whole(o.qty)
    if qty is None or qty <= 0:
        return _reject("Q100", OrdRejReason.INCORRECT_QUANTITY, "OrderQty(38) must be a positive whole number")
    if qty % c.security.lot_size:
        return _reject("Q110", OrdRejReason.INCORRECT_QUANTITY,
                       f"OrderQty {qty} is not a whole number of lots (lot size {c.security.lot_size})")
    if o.min_qty is not None:
        min_qty = _whole(o.min_qty)
        if min_qty is None or min_qty <= 0 or min_qty > qty:
            return _reject("Q120", OrdRejReason.INCORRECT_QUANTITY, "MinQty(110) must be a whole number from 1 to OrderQty")
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
    if c.security.to_ticks(o.price) is None:
        return _reject("P130", OrdRejReason.OTHER,
                       f"Price {o.price} is not a multiple of the tick size {c.security.tick_size}")
    return None


NEW_ORDER_GATES: tuple[Gate, ...] = (
    Gate("S100", "The session is an order-entry session", session_may_enter_orders),
    Gate("M100", "The member is active", member_active),
    Gate("O100", "ClOrdID is present and not used before on this session", cl_ord_id_unique),
    Gate("Y100", "The symbol is a security listed on the venue", symbol_known),
    Gate("O200", "Order type is limit or market; side is buy or sell; SMP instruction 1-3", order_type_supported),
    Gate("A100", "The investor account belongs to the sending member", account_belongs_to_member),
    Gate("Y200", "The security is not halted and its trading session is open", security_trading),
    Gate("O300", "TimeInForce is supported; GTD carries a future expiry", time_in_force_valid),
    Gate("Q100", "Quantity is a positive whole number of lots; MinQty within it", quantity_valid),
    Gate("P100", "Limit price is present, positive and on the tick; none on market orders", price_valid),
)


def check_new_order(order: NewOrderCommand, ctx: GateContext) -> GateReject | None:
    """Run the gate table; the first refusal wins."""
    for gate in NEW_ORDER_GATES:
        reject = gate.check(order, ctx)
        if reject is not None:
            return reject
    return None
