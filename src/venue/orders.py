"""The venue's view of an order: what the member sent and where it stands.

The order lifecycle is ONE transition table, `venue.book.lifecycle.TRANSITIONS`.
`OrderRecord.apply()` is the only way an order's status changes here; an illegal move raises
`IllegalTransition` (a broken invariant, not a reject).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from venue.book.errors import IllegalTransition
from venue.book.lifecycle import Transition as OrderEvent
from venue.book.lifecycle import next_status
from venue.book.types import OrdStatus, OrdType, SelfMatchPrevention, Side, TimeInForce

__all__ = ["ExecType", "IllegalTransition", "OrdStatus", "OrderEvent", "OrderRecord"]


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
        self.status = next_status(self.order_id, self.status, event)
        return self.status

    def bust(self, qty: int, price: int) -> None:
        """A trade of this order was canceled (settlement failed): take it out of CumQty. An open
        order keeps its leaves (NEW again if nothing else traded); a filled order is done with
        its remaining quantity canceled; canceled or expired orders keep their status."""
        self.cum -= qty
        self.notional -= qty * price
        if self.status.is_open:
            self.status = OrdStatus.NEW if self.cum == 0 else OrdStatus.PARTIALLY_FILLED
        elif self.status is OrdStatus.FILLED:
            self.status = OrdStatus.CANCELED

    def fill(self, qty: int, price: int, leaves: int) -> None:
        """Record an execution of `qty` at `price` ticks leaving `leaves` open."""
        self.cum += qty
        self.notional += qty * price
        self.leaves = leaves
        self.apply(OrderEvent.FILL if leaves == 0 else OrderEvent.PARTIAL_FILL)
