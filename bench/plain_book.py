"""PlainBook: the order book a competent engineer writes first, as book_bench's speed baseline.

Not a venue book: it exists so that `book_bench.py` can say how much FastBook's hand-made
structures buy over the textbook ones on the same stream. Per side, a
`sortedcontainers.SortedDict` maps price -> `collections.deque` of resting orders (FIFO); a
dict maps order_id -> order for cancels. Orders are slotted dataclasses, events are built with
their normal constructors, and the entry gates are the shared ones in `venue.book.rules`.

Cancel is lazy: the order leaves the id index at once and its leaves drop to 0; the deque drops
it when it reaches the head of its level (matching skips it). A level that holds only canceled
orders may stay in the SortedDict until matching reaches it.

It answers exactly as FastBook and NaiveBook do (see `venue.book.fast`) for what it supports:
continuous trading, limit and market orders, DAY/GTC/GTD/IOC, the three self-match prevention
instructions, the price band, cancels. Everything else (FOK, MinQty, call phases and the
auction, replace, restore, crossing) raises NotImplementedError.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass

from sortedcontainers import SortedDict

from venue.book.base import BookConfig, OrderBook
from venue.book.rules import band_reject, check_well_formed
from venue.book.types import (
    Accepted,
    BookReject,
    Canceled,
    CancelReason,
    Event,
    Level,
    NewOrder,
    OrderView,
    OrdType,
    Phase,
    Rejected,
    RestingOrder,
    SelfMatchPrevention,
    Side,
    TimeInForce,
    Trade,
)

_NOT_HERE = "PlainBook is a benchmark baseline for continuous trading only"


@dataclass(slots=True, eq=False)
class _Order:
    """A live order. `leaves` 0 in a deque: canceled, waiting to be dropped at the head."""

    order_id: int
    account: str
    side: Side
    ord_type: OrdType
    price: int | None
    qty: int
    tif: TimeInForce
    smp: SelfMatchPrevention
    priority: int
    leaves: int
    cum: int = 0

    def view(self) -> OrderView:
        return OrderView(
            self.order_id,
            self.account,
            self.side,
            self.ord_type,
            self.price,
            self.qty,
            self.leaves,
            self.cum,
            self.tif,
            self.priority,
        )


class PlainBook(OrderBook):
    """Price-time priority book on SortedDict + deque; continuous trading only."""

    def __init__(self, config: BookConfig | None = None, phase: Phase = Phase.CONTINUOUS) -> None:
        if phase is not Phase.CONTINUOUS:
            raise NotImplementedError(f"{_NOT_HERE}: no {phase.name} phase")
        config = config or BookConfig()
        self._band_bps = config.band_bps
        self._reference = config.reference_price
        self._bids: SortedDict = SortedDict()  # price -> deque[_Order]; best bid is the last key
        self._asks: SortedDict = SortedDict()  # price -> deque[_Order]; best ask is the first key
        self._orders: dict[int, _Order] = {}
        self._last_priority = 0

    @property
    def phase(self) -> Phase:
        return Phase.CONTINUOUS

    @property
    def reference_price(self) -> int | None:
        return self._reference

    # -- commands ---------------------------------------------------------
    def submit(self, order: NewOrder) -> list[Event]:
        """Enter a new order: gates, then match, then rest or cancel the remainder."""
        check_well_formed(order)
        if order.tif is TimeInForce.FOK or order.min_qty:
            raise NotImplementedError(f"{_NOT_HERE}: no FOK or MinQty")
        if order.order_id in self._orders:
            return [Rejected(order.order_id, BookReject.DUPLICATE_ORDER_ID)]
        reject = band_reject(order.side, order.price, self._reference, self._band_bps)
        if reject is not None:
            return [Rejected(order.order_id, reject)]

        self._last_priority += 1
        inc = _Order(
            order.order_id,
            order.account,
            order.side,
            order.ord_type,
            order.price,
            order.qty,
            order.tif,
            order.smp,
            self._last_priority,
            order.qty,
        )
        events: list[Event] = [Accepted(inc.order_id, inc.priority)]
        self._match(inc, events)
        if inc.leaves == 0:
            return events
        if inc.ord_type is OrdType.MARKET:
            events.append(Canceled(inc.order_id, inc.leaves, CancelReason.MARKET_NO_LIQUIDITY))
        elif inc.tif is TimeInForce.IOC:
            events.append(Canceled(inc.order_id, inc.leaves, CancelReason.IOC_REMAINDER))
        else:
            book = self._bids if inc.side is Side.BUY else self._asks
            queue = book.get(inc.price)
            if queue is None:
                queue = book[inc.price] = deque()
            queue.append(inc)
            self._orders[inc.order_id] = inc
        return events

    def _match(self, inc: _Order, events: list[Event]) -> None:
        """Trade `inc` against the best opposite levels while they reach its limit."""
        is_buy = inc.side is Side.BUY
        book = self._asks if is_buy else self._bids
        best = 0 if is_buy else -1
        limit = inc.price
        while inc.leaves and book:
            price, queue = book.peekitem(best)
            if limit is not None and (price > limit if is_buy else price < limit):
                return
            while queue and inc.leaves:
                resting = queue[0]
                if resting.leaves == 0:  # canceled
                    queue.popleft()
                    continue
                if resting.account == inc.account:
                    if inc.smp is not SelfMatchPrevention.CANCEL_INCOMING:
                        queue.popleft()
                        del self._orders[resting.order_id]
                        events.append(Canceled(resting.order_id, resting.leaves, CancelReason.SELF_MATCH))
                    if inc.smp is not SelfMatchPrevention.CANCEL_RESTING:
                        events.append(Canceled(inc.order_id, inc.leaves, CancelReason.SELF_MATCH))
                        inc.leaves = 0
                    continue
                qty = min(inc.leaves, resting.leaves)
                inc.leaves -= qty
                inc.cum += qty
                resting.leaves -= qty
                resting.cum += qty
                if is_buy:
                    trade = Trade(inc.order_id, resting.order_id, price, qty, inc.leaves, resting.leaves, inc.side)
                else:
                    trade = Trade(resting.order_id, inc.order_id, price, qty, resting.leaves, inc.leaves, inc.side)
                events.append(trade)
                self._reference = price
                if resting.leaves == 0:
                    queue.popleft()
                    del self._orders[resting.order_id]
            if not queue:
                del book[price]

    def cancel(self, order_id: int, reason: CancelReason | None = None) -> list[Event]:
        """Take a resting order out of the id index; its deque drops it later (lazy)."""
        resting = self._orders.pop(order_id, None)
        if resting is None:
            return [Rejected(order_id, BookReject.UNKNOWN_ORDER)]
        event = Canceled(order_id, resting.leaves, reason or CancelReason.REQUESTED)
        resting.leaves = 0
        return [event]

    def replace(self, order_id: int, qty: int, price: int | None) -> list[Event]:
        raise NotImplementedError(f"{_NOT_HERE}: no replace")

    def restore(self, resting: RestingOrder) -> None:
        raise NotImplementedError(f"{_NOT_HERE}: no restore")

    def set_phase(self, phase: Phase) -> list[Event]:
        if phase is not Phase.CONTINUOUS:
            raise NotImplementedError(f"{_NOT_HERE}: no {phase.name} phase")
        return []

    def uncross(self) -> list[Event]:
        raise NotImplementedError(f"{_NOT_HERE}: no auction")

    # -- queries ----------------------------------------------------------
    def _levels(self, side: Side) -> Iterator[tuple[int, list[_Order]]]:
        """(price, live orders in time priority) of one side, best price first."""
        book = self._bids if side is Side.BUY else self._asks
        prices = reversed(book) if side is Side.BUY else iter(book)
        for price in prices:
            live = [o for o in book[price] if o.leaves]
            if live:
                yield price, live

    def get(self, order_id: int) -> OrderView | None:
        resting = self._orders.get(order_id)
        return None if resting is None else resting.view()

    def depth(self, side: Side, levels: int) -> list[Level]:
        out: list[Level] = []
        for price, live in self._levels(side):
            if len(out) == levels:
                break
            out.append(Level(price, sum(o.leaves for o in live), len(live)))
        return out

    def crossing(self, side: Side, price: int | None, account: str, qty: int) -> list[tuple[str, int]]:
        raise NotImplementedError(f"{_NOT_HERE}: no crossing query")

    def resting_orders(self) -> Iterator[OrderView]:
        for side in (Side.BUY, Side.SELL):
            for _, live in self._levels(side):
                for o in live:
                    yield o.view()

    def validate_internal_state(self) -> None:
        seen: set[int] = set()
        for side, book in ((Side.BUY, self._bids), (Side.SELL, self._asks)):
            for price, queue in book.items():
                assert queue, f"empty level {price} kept"
                last_priority = 0
                for o in queue:
                    assert o.side is side and o.price == price, f"order {o.order_id} on the wrong level"
                    assert o.priority > last_priority, "time priority broken within a level"
                    last_priority = o.priority
                    if o.leaves == 0:  # canceled, not yet dropped
                        assert self._orders.get(o.order_id) is not o, f"order {o.order_id}: canceled but indexed"
                        continue
                    assert self._orders.get(o.order_id) is o, f"order {o.order_id} not indexed"
                    assert o.leaves > 0 and o.cum >= 0 and o.leaves + o.cum == o.qty, f"order {o.order_id}: quantities"
                    assert o.ord_type is OrdType.LIMIT and o.tif.may_rest, f"order {o.order_id} may not rest"
                    assert 0 < o.priority <= self._last_priority, f"order {o.order_id}: priority"
                    seen.add(o.order_id)
        assert seen == set(self._orders), "index holds orders that are not in the book"
        bid = next(self._levels(Side.BUY), None)
        ask = next(self._levels(Side.SELL), None)
        assert bid is None or ask is None or bid[0] < ask[0], "book crossed"
