"""The venue's view of an order: what the member sent and where it stands.

`OrderRecord` is the one order-record type. The order lifecycle is ONE transition table,
`venue.book.lifecycle.TRANSITIONS`; `OrderRecord.apply()` is the only way an order's status
changes, and an illegal move raises `IllegalTransition` (a broken invariant, not a reject).
`OrderLedger` keeps records from book events alone (the books' tests use it as their model).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum

from venue.book.errors import IllegalTransition, InconsistentEvent
from venue.book.lifecycle import Transition as OrderEvent
from venue.book.lifecycle import next_status
from venue.book.types import (
    Accepted,
    Canceled,
    CancelReason,
    Event,
    NewOrder,
    OrdStatus,
    OrdType,
    Rejected,
    Replaced,
    SelfMatchPrevention,
    Side,
    TimeInForce,
    Trade,
)

__all__ = ["ExecType", "IllegalTransition", "OrdStatus", "OrderCapacity", "OrderEvent", "OrderLedger", "OrderRecord"]


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


class OrderCapacity(str, Enum):
    """FIX OrderCapacity(528): in what capacity the member acts for the order (required on a
    NewOrderSingle; CAT and trade reports carry it)."""

    AGENCY = "A"
    PROPRIETARY = "G"
    INDIVIDUAL = "I"
    PRINCIPAL = "P"
    RISKLESS_PRINCIPAL = "R"
    AGENT_FOR_OTHER_MEMBER = "W"


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
    capacity: OrderCapacity | None = None  # None: journaled before OrderCapacity(528) was captured

    def apply(self, event: OrderEvent) -> OrdStatus:
        """Move to the status the lifecycle table gives for `event`, or raise IllegalTransition."""
        self.status = next_status(self.order_id, self.status, event)
        return self.status

    def bust(self, qty: int, price: int) -> None:
        """A trade of this order was canceled (settlement failed): take it out of CumQty. The
        status moves as the lifecycle table says for a bust (an open order keeps its leaves and is
        NEW again if nothing else traded; a filled order is done with its busted quantity
        canceled; canceled or expired orders keep their status); a bust the table does not list
        raises IllegalTransition and changes nothing."""
        cum = self.cum - qty
        self.apply(OrderEvent.BUST_LAST_FILL if cum == 0 else OrderEvent.BUST)
        self.cum = cum
        self.notional -= qty * price

    def fill(self, qty: int, price: int, leaves: int) -> None:
        """Record an execution of `qty` at `price` ticks leaving `leaves` open; a fill the lifecycle
        table does not allow raises IllegalTransition and changes nothing."""
        self.apply(OrderEvent.FILL if leaves == 0 else OrderEvent.PARTIAL_FILL)
        self.cum += qty
        self.notional += qty * price
        self.leaves = leaves


class OrderLedger:
    """Order records keyed by order id, kept from every NewOrder and every book event alone, with
    the quantity each order had canceled; every event's quantities are checked against the record
    (`InconsistentEvent` if they disagree). An independent model of a book for its tests."""

    def __init__(self) -> None:
        self.records: dict[int, OrderRecord] = {}
        self.canceled: dict[int, int] = {}  # per order: quantity canceled (rejected, canceled, expired)

    def submitted(self, order: NewOrder) -> OrderRecord:
        """Open a PENDING_NEW record for an order about to be submitted."""
        if order.order_id in self.records and self.records[order.order_id].status.is_open:
            raise InconsistentEvent(f"order {order.order_id} is already open")
        record = self.records[order.order_id] = OrderRecord(
            order_id=order.order_id,
            comp_id="",
            member_id="",
            cl_ord_id="",
            account=order.account,
            symbol="",
            side=order.side,
            ord_type=order.ord_type,
            price=order.price,
            qty=order.qty,
            tif=order.tif,
            min_qty=order.min_qty,
            smp=order.smp,
            leaves=order.qty,
        )
        self.canceled[order.order_id] = 0
        return record

    def apply(self, event: Event) -> None:
        """Apply one book event; the only way a record changes."""
        if type(event) is Trade:
            self._fill(self.records[event.buy_order_id], event.qty, event.price, event.buy_leaves)
            self._fill(self.records[event.sell_order_id], event.qty, event.price, event.sell_leaves)
        elif type(event) is Accepted:
            record = self.records[event.order_id]
            record.apply(OrderEvent.ACCEPT)
            record.priority = event.priority
        elif type(event) is Canceled:
            self._canceled(self.records[event.order_id], event)
        elif type(event) is Replaced:
            self._replaced(self.records[event.order_id], event)
        elif type(event) is Rejected:
            record = self.records.get(event.order_id)
            # A refused NewOrder closes the order; a refused cancel or replace changes nothing.
            if record is not None and record.status is OrdStatus.PENDING_NEW:
                record.apply(OrderEvent.REJECT)
                self.canceled[record.order_id], record.leaves = record.leaves, 0
        else:
            raise TypeError(f"not a book event: {event!r}")

    def apply_all(self, events: Iterable[Event]) -> None:
        """Apply events in order."""
        for event in events:
            self.apply(event)

    def open_records(self) -> list[OrderRecord]:
        """Records of orders that are still open, in order id order."""
        return sorted((r for r in self.records.values() if r.status.is_open), key=lambda r: r.order_id)

    @staticmethod
    def _fill(record: OrderRecord, qty: int, price: int, leaves_after: int) -> None:
        if qty <= 0 or qty > record.leaves or record.leaves - qty != leaves_after:
            raise InconsistentEvent(
                f"order {record.order_id}: fill of {qty} with leaves {record.leaves} reported leaves {leaves_after}"
            )
        record.fill(qty, price, leaves_after)

    def _canceled(self, record: OrderRecord, event: Canceled) -> None:
        if event.canceled_qty != record.leaves:
            raise InconsistentEvent(
                f"order {record.order_id}: canceled {event.canceled_qty} but leaves are {record.leaves}"
            )
        record.apply(OrderEvent.EXPIRE if event.reason is CancelReason.EXPIRED else OrderEvent.CANCEL)
        self.canceled[record.order_id] += record.leaves
        record.leaves = 0

    @staticmethod
    def _replaced(record: OrderRecord, event: Replaced) -> None:
        if event.qty <= record.cum or event.leaves != event.qty - record.cum:
            raise InconsistentEvent(
                f"order {record.order_id}: replaced to qty {event.qty} leaves {event.leaves} with cum {record.cum}"
            )
        record.apply(OrderEvent.REPLACE)
        record.qty, record.leaves, record.price, record.priority = event.qty, event.leaves, event.price, event.priority
