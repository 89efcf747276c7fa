"""The venue's view of an order: what the member sent, where it stands, and how it may move.

The order lifecycle is ONE transition table. `OrderRecord.apply()` is the only way an order's
status changes; an illegal move raises `IllegalTransition` (a broken invariant, not a reject).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from venue.book.types import OrdType, SelfMatchPrevention, Side, TimeInForce


class OrdStatus(str, Enum):
    """FIX OrdStatus(39)."""

    PENDING_NEW = "A"
    NEW = "0"
    PARTIALLY_FILLED = "1"
    FILLED = "2"
    CANCELED = "4"
    REJECTED = "8"
    EXPIRED = "C"

    @property
    def is_open(self) -> bool:
        return self in (OrdStatus.NEW, OrdStatus.PARTIALLY_FILLED)

    @property
    def is_closed(self) -> bool:
        return self in (OrdStatus.FILLED, OrdStatus.CANCELED, OrdStatus.REJECTED, OrdStatus.EXPIRED)


class ExecType(str, Enum):
    """FIX ExecType(150)."""

    NEW = "0"
    CANCELED = "4"
    REPLACED = "5"
    REJECTED = "8"
    EXPIRED = "C"
    TRADE = "F"
    TRADE_CANCEL = "H"
    ORDER_STATUS = "I"


class OrderEvent(str, Enum):
    """What can happen to an order, in the lifecycle table's terms."""

    ACCEPT = "accept"
    REJECT = "reject"
    PARTIAL_FILL = "partial_fill"
    FILL = "fill"
    REPLACE = "replace"
    CANCEL = "cancel"
    EXPIRE = "expire"


class IllegalTransition(Exception):
    """An event that the order lifecycle does not allow in the order's current status."""

    def __init__(self, order_id: int, status: OrdStatus, event: OrderEvent) -> None:
        super().__init__(f"order {order_id}: {event.value} is illegal in status {status.name}")
        self.order_id = order_id
        self.status = status
        self.event = event


_S, _E = OrdStatus, OrderEvent
TRANSITIONS: dict[tuple[OrdStatus, OrderEvent], OrdStatus] = {
    (_S.PENDING_NEW, _E.ACCEPT): _S.NEW,
    (_S.PENDING_NEW, _E.REJECT): _S.REJECTED,
    (_S.NEW, _E.PARTIAL_FILL): _S.PARTIALLY_FILLED,
    (_S.NEW, _E.FILL): _S.FILLED,
    (_S.NEW, _E.REPLACE): _S.NEW,
    (_S.NEW, _E.CANCEL): _S.CANCELED,
    (_S.NEW, _E.EXPIRE): _S.EXPIRED,
    (_S.PARTIALLY_FILLED, _E.PARTIAL_FILL): _S.PARTIALLY_FILLED,
    (_S.PARTIALLY_FILLED, _E.FILL): _S.FILLED,
    (_S.PARTIALLY_FILLED, _E.REPLACE): _S.PARTIALLY_FILLED,
    (_S.PARTIALLY_FILLED, _E.CANCEL): _S.CANCELED,
    (_S.PARTIALLY_FILLED, _E.EXPIRE): _S.EXPIRED,
}


@dataclass(slots=True)
class OrderRecord:
    """An order as the venue journals and reports it. Prices in ticks, quantities in units."""

    order_id: int
    comp_id: str
    member_id: str
    cl_ord_id: str
    account: str
    symbol: str
    side: Side
    ord_type: OrdType
    price: int | None
    qty: int
    tif: TimeInForce
    min_qty: int = 0
    expire_at_us: int | None = None
    trading_day: str = ""
    smp: SelfMatchPrevention = SelfMatchPrevention.CANCEL_INCOMING
    orig_cl_ord_id: str | None = None
    status: OrdStatus = OrdStatus.PENDING_NEW
    leaves: int = 0
    cum: int = 0
    notional: int = 0  # sum of fill price (ticks) x fill qty, for AvgPx
    priority: int = 0
    created_us: int = 0
    updated_us: int = 0
    text: str = ""

    def apply(self, event: OrderEvent) -> OrdStatus:
        """Move to the status the lifecycle table gives for `event`, or raise IllegalTransition."""
        try:
            self.status = TRANSITIONS[(self.status, event)]
        except KeyError:
            raise IllegalTransition(self.order_id, self.status, event) from None
        return self.status

    def fill(self, qty: int, price: int, leaves: int) -> None:
        """Record an execution of `qty` at `price` ticks leaving `leaves` open."""
        self.cum += qty
        self.notional += qty * price
        self.leaves = leaves
        self.apply(OrderEvent.FILL if leaves == 0 else OrderEvent.PARTIAL_FILL)
