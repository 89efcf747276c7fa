"""The order lifecycle: ONE (OrdStatus, Transition) -> OrdStatus table and a ledger that applies
book events through it.

The books hold only open orders and need no status; whoever reports on orders (the venue's
execution reports, the tests' models) tracks status with `OrderLedger.apply(event)`, the only
way a status changes. A move the table does not list raises `IllegalTransition`; an event whose
quantities disagree with the ledger raises `InconsistentEvent`.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import Enum

from venue.book.errors import IllegalTransition, InconsistentEvent
from venue.book.types import (
    Accepted,
    CancelReason,
    Canceled,
    Event,
    NewOrder,
    OrdStatus,
    Rejected,
    Replaced,
    Trade,
)

__all__ = ["Transition", "TRANSITIONS", "next_status", "OrderRecord", "OrderLedger", "IllegalTransition"]


class Transition(str, Enum):
    """What happened to an order, as far as its OrdStatus is concerned."""

    ACCEPT = "accept"
    REJECT = "reject"
    PARTIAL_FILL = "partial fill"
    FILL = "fill"
    REPLACE = "replace"
    CANCEL = "cancel"
    EXPIRE = "expire"


_S = OrdStatus
_T = Transition

#: The whole order lifecycle. Anything not listed is illegal.
TRANSITIONS: dict[tuple[OrdStatus, Transition], OrdStatus] = {
    (_S.PENDING_NEW, _T.ACCEPT): _S.NEW,
    (_S.PENDING_NEW, _T.REJECT): _S.REJECTED,
    (_S.NEW, _T.PARTIAL_FILL): _S.PARTIALLY_FILLED,
    (_S.NEW, _T.FILL): _S.FILLED,
    (_S.NEW, _T.REPLACE): _S.NEW,
    (_S.NEW, _T.CANCEL): _S.CANCELED,
    (_S.NEW, _T.EXPIRE): _S.EXPIRED,
    (_S.PARTIALLY_FILLED, _T.PARTIAL_FILL): _S.PARTIALLY_FILLED,
    (_S.PARTIALLY_FILLED, _T.FILL): _S.FILLED,
    (_S.PARTIALLY_FILLED, _T.REPLACE): _S.PARTIALLY_FILLED,
    (_S.PARTIALLY_FILLED, _T.CANCEL): _S.CANCELED,
    (_S.PARTIALLY_FILLED, _T.EXPIRE): _S.EXPIRED,
}

del _S, _T


def next_status(order_id: int, status: OrdStatus, transition: Transition) -> OrdStatus:
    """Look `transition` up in the table; raise IllegalTransition if it is not allowed."""
    try:
        return TRANSITIONS[(status, transition)]
    except KeyError:
        raise IllegalTransition(order_id, status, transition) from None


class OrderRecord:
    """What the venue knows about one order: quantities and OrdStatus.

    `qty` is the current OrderQty (a replace changes it); while the order lives,
    qty == cum + leaves + canceled with canceled == 0, and once closed leaves == 0.
    """

    __slots__ = ("order_id", "side", "account", "qty", "price", "cum", "leaves", "canceled", "priority", "status")

    def __init__(self, order: NewOrder) -> None:
        self.order_id = order.order_id
        self.side = order.side
        self.account = order.account
        self.qty = order.qty
        self.price = order.price
        self.cum = 0
        self.leaves = order.qty
        self.canceled = 0
        self.priority: int | None = None
        self.status = OrdStatus.PENDING_NEW

    def _move(self, transition: Transition) -> None:
        self.status = next_status(self.order_id, self.status, transition)

    def on_accepted(self, event: Accepted) -> None:
        self._move(Transition.ACCEPT)
        self.priority = event.priority

    def on_rejected(self, event: Rejected) -> None:
        """A refused NewOrder closes the order; a refused cancel or replace changes nothing."""
        if self.status is OrdStatus.PENDING_NEW:
            self._move(Transition.REJECT)
            self.canceled, self.leaves = self.leaves, 0

    def on_fill(self, qty: int, leaves_after: int) -> None:
        if qty <= 0 or qty > self.leaves or self.leaves - qty != leaves_after:
            raise InconsistentEvent(
                f"order {self.order_id}: fill of {qty} with leaves {self.leaves} reported leaves {leaves_after}"
            )
        self._move(Transition.FILL if leaves_after == 0 else Transition.PARTIAL_FILL)
        self.cum += qty
        self.leaves = leaves_after

    def on_canceled(self, event: Canceled) -> None:
        if event.canceled_qty != self.leaves:
            raise InconsistentEvent(
                f"order {self.order_id}: canceled {event.canceled_qty} but leaves are {self.leaves}"
            )
        self._move(Transition.EXPIRE if event.reason is CancelReason.EXPIRED else Transition.CANCEL)
        self.canceled += self.leaves
        self.leaves = 0

    def on_replaced(self, event: Replaced) -> None:
        if event.qty <= self.cum or event.leaves != event.qty - self.cum:
            raise InconsistentEvent(
                f"order {self.order_id}: replaced to qty {event.qty} leaves {event.leaves} with cum {self.cum}"
            )
        self._move(Transition.REPLACE)
        self.qty = event.qty
        self.leaves = event.leaves
        self.price = event.price
        self.priority = event.priority


class OrderLedger:
    """Order records keyed by order id, fed with every NewOrder and every book event."""

    def __init__(self) -> None:
        self.records: dict[int, OrderRecord] = {}

    def submitted(self, order: NewOrder) -> OrderRecord:
        """Open a PENDING_NEW record for an order about to be submitted."""
        if order.order_id in self.records and self.records[order.order_id].status.is_open:
            raise InconsistentEvent(f"order {order.order_id} is already open")
        record = self.records[order.order_id] = OrderRecord(order)
        return record

    def apply(self, event: Event) -> None:
        """Apply one book event; the only way a record changes."""
        if type(event) is Trade:
            self.records[event.buy_order_id].on_fill(event.qty, event.buy_leaves)
            self.records[event.sell_order_id].on_fill(event.qty, event.sell_leaves)
        elif type(event) is Accepted:
            self.records[event.order_id].on_accepted(event)
        elif type(event) is Canceled:
            self.records[event.order_id].on_canceled(event)
        elif type(event) is Replaced:
            self.records[event.order_id].on_replaced(event)
        elif type(event) is Rejected:
            record = self.records.get(event.order_id)
            if record is not None:
                record.on_rejected(event)
        else:
            raise TypeError(f"not a book event: {event!r}")

    def apply_all(self, events: Iterable[Event]) -> None:
        """Apply events in order."""
        for event in events:
            self.apply(event)

    def open_records(self) -> list[OrderRecord]:
        """Records of orders that are still open, in order id order."""
        return sorted((r for r in self.records.values() if r.status.is_open), key=lambda r: r.order_id)
