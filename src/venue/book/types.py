"""Value types of the matching core.

Prices are integer ticks and quantities integer units (a token unit; lot checks happen at the
gates). Enums carry their FIX wire codes as values. Commands go into a book; events come out. The
book never sees a clock, a ClOrdID, a session or the database: the venue numbers orders, decides
when an order expires, and turns events into execution reports.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class Side(str, Enum):
    """FIX Side(54)."""

    BUY = "1"
    SELL = "2"

    @property
    def opposite(self) -> Side:
        return Side.SELL if self is Side.BUY else Side.BUY


class OrdType(str, Enum):
    """FIX OrdType(40)."""

    MARKET = "1"
    LIMIT = "2"


class TimeInForce(str, Enum):
    """FIX TimeInForce(59)."""

    DAY = "0"
    GTC = "1"
    IOC = "3"
    FOK = "4"
    GTD = "6"

    @property
    def may_rest(self) -> bool:
        """True when an unfilled remainder stays on the book."""
        return self in (TimeInForce.DAY, TimeInForce.GTC, TimeInForce.GTD)


class SelfMatchPrevention(str, Enum):
    """What happens when an order would trade against an order of the same investor account.

    Values follow FIX 5.0 SP2 SelfMatchPreventionInstruction(2964).
    """

    CANCEL_INCOMING = "1"
    CANCEL_RESTING = "2"
    CANCEL_BOTH = "3"


class Phase(str, Enum):
    """Trading phase of one security; values follow FIX TradingSessionSubID(625) where one exists."""

    CLOSED = "CLOSED"
    PRE_OPEN = "PRE_OPEN"
    OPENING_AUCTION = "OPENING_AUCTION"
    CONTINUOUS = "CONTINUOUS"
    PERIODIC_AUCTION = "PERIODIC_AUCTION"
    HALTED = "HALTED"


class CancelReason(str, Enum):
    """Why the book took quantity off an order without a trade. The value is the Text(58) sent."""

    REQUESTED = "Canceled by request"
    IOC_REMAINDER = "IOC remainder canceled"
    FOK_UNFILLED = "FOK order could not be filled in full"
    MIN_QTY_UNAVAILABLE = "MinQty not available on entry"
    MARKET_NO_LIQUIDITY = "Market order remainder canceled: no more liquidity"
    SELF_MATCH = "Self-match prevented: same investor account on both sides"
    PRICE_BAND = "Order price outside the price band"
    EXPIRED = "Order expired"
    OPS = "Canceled by venue operations"
    MASS_CANCEL = "Canceled by mass cancel request"
    DISCONNECT = "Canceled on disconnect (cancel-on-disconnect session)"
    RESTART = "Canceled at venue start-up: cancel-on-disconnect session not connected"
    INELIGIBLE = "Canceled by venue: no longer eligible"


class BookReject(str, Enum):
    """Why the book refused a command outright. The value is the Text(58) sent."""

    UNKNOWN_ORDER = "Unknown order"
    DUPLICATE_ORDER_ID = "Duplicate order id"
    REPLACE_QTY_NOT_ABOVE_CUM = "New OrderQty must be greater than CumQty"
    REPLACE_NOT_RESTING = "Only a resting limit order can be replaced"
    NOT_ACCEPTED_IN_PHASE = "Order type or time in force not accepted in the current trading phase"
    PRICE_BAND = "Order price outside the price band"


class OrdStatus(str, Enum):
    """FIX OrdStatus(39) of one order, as the venue reports it.

    The book itself only holds open orders; `venue.book.lifecycle` holds the one table of legal
    status changes. PENDING_NEW is the state before the book has answered a NewOrder.
    """

    PENDING_NEW = "A"
    NEW = "0"
    PARTIALLY_FILLED = "1"
    FILLED = "2"
    CANCELED = "4"
    REJECTED = "8"
    EXPIRED = "C"

    @property
    def is_open(self) -> bool:
        """True while the order may still trade or be canceled."""
        return self in _OPEN_STATUSES

    @property
    def is_closed(self) -> bool:
        """True once no further execution can happen (terminal, but for a bust of a past trade)."""
        return self not in _OPEN_STATUSES


_OPEN_STATUSES = frozenset({OrdStatus.PENDING_NEW, OrdStatus.NEW, OrdStatus.PARTIALLY_FILLED})


# ---------------------------------------------------------------- commands


@dataclass(frozen=True, slots=True)
class NewOrder:
    """An order entering the book. `price` is in ticks and None only for market orders."""

    order_id: int
    account: str
    side: Side
    ord_type: OrdType
    price: int | None
    qty: int
    tif: TimeInForce
    min_qty: int = 0
    smp: SelfMatchPrevention = SelfMatchPrevention.CANCEL_INCOMING


@dataclass(frozen=True, slots=True)
class RestingOrder:
    """A resting order as the journal has it, used to rebuild a book after a restart.

    Rebuild by calling `restore()` in ascending `priority` order.
    """

    order: NewOrder
    leaves: int
    cum: int
    priority: int


# ---------------------------------------------------------------- events


@dataclass(frozen=True, slots=True)
class Accepted:
    """The order is in the book (or being processed): the venue sends ExecType=0."""

    order_id: int
    priority: int


@dataclass(frozen=True, slots=True)
class Trade:
    """One execution between a buy and a sell order at one price.

    `aggressor` is the side of the incoming order in continuous trading, None in an auction.
    `*_leaves` are each order's LeavesQty after this trade.
    """

    buy_order_id: int
    sell_order_id: int
    price: int
    qty: int
    buy_leaves: int
    sell_leaves: int
    aggressor: Side | None


@dataclass(frozen=True, slots=True)
class Canceled:
    """The remaining quantity `canceled_qty` of an order left the book; its LeavesQty is now 0."""

    order_id: int
    canceled_qty: int
    reason: CancelReason


@dataclass(frozen=True, slots=True)
class Replaced:
    """Order quantity and/or price changed. `leaves` is the new LeavesQty."""

    order_id: int
    qty: int
    price: int | None
    leaves: int
    priority: int
    lost_priority: bool


@dataclass(frozen=True, slots=True)
class Rejected:
    """The command was refused; nothing changed."""

    order_id: int
    reason: BookReject


Event = Accepted | Trade | Canceled | Replaced | Rejected


@dataclass(frozen=True, slots=True)
class OrderView:
    """A read-only look at a live order in the book."""

    order_id: int
    account: str
    side: Side
    ord_type: OrdType
    price: int | None
    qty: int
    leaves: int
    cum: int
    tif: TimeInForce
    priority: int


@dataclass(frozen=True, slots=True)
class Level:
    """One aggregated price level: price in ticks, total leaves quantity, order count."""

    price: int
    qty: int
    count: int
