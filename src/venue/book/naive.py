"""The naive reference book: one plain list of resting orders, sorted whenever an answer depends
on priority. Slow on purpose and written to be read; the fast book must emit exactly the same
events (see the differential tests).

The semantics both books share are described in `venue.book.fast` (module docstring); the entry
gates are in `venue.book.rules`.
"""

from __future__ import annotations

from collections.abc import Iterator

from venue.book.base import BookConfig, OrderBook
from venue.book.errors import BookStateError
from venue.book.rules import (
    CALL_PHASES,
    auction_price_key,
    band_reject,
    check_replace_args,
    check_restorable,
    check_well_formed,
    phase_reject,
)
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
    Replaced,
    RestingOrder,
    SelfMatchPrevention,
    Side,
    TimeInForce,
    Trade,
)


class _Order:
    """A live order: the command plus what changed since (price and qty after a replace)."""

    __slots__ = ("order", "price", "qty", "leaves", "cum", "priority")

    def __init__(self, order: NewOrder, price: int | None, qty: int, leaves: int, cum: int, priority: int) -> None:
        self.order = order
        self.price = price
        self.qty = qty
        self.leaves = leaves
        self.cum = cum
        self.priority = priority

    @property
    def order_id(self) -> int:
        return self.order.order_id

    @property
    def side(self) -> Side:
        return self.order.side

    @property
    def account(self) -> str:
        return self.order.account

    def view(self) -> OrderView:
        o = self.order
        return OrderView(
            o.order_id, o.account, o.side, o.ord_type, self.price, self.qty, self.leaves, self.cum, o.tif, self.priority
        )


def _priority_key(o: _Order) -> tuple:
    """Market orders first, then best price, then earliest priority."""
    if o.price is None:
        return (0, 0, o.priority)
    return (1, -o.price if o.side is Side.BUY else o.price, o.priority)


def _acceptable(side: Side, limit: int | None, resting_price: int) -> bool:
    """May an order of `side` with limit `limit` (None: market) trade at `resting_price`?"""
    if limit is None:
        return True
    return resting_price <= limit if side is Side.BUY else resting_price >= limit


class NaiveBook(OrderBook):
    """Reference order book: a list of `_Order`, sorted on every use."""

    def __init__(self, config: BookConfig | None = None, phase: Phase = Phase.CONTINUOUS) -> None:
        config = config or BookConfig()
        self._band_bps = config.band_bps
        self._reference = config.reference_price
        self._phase = phase
        self._orders: list[_Order] = []
        self._last_priority = 0

    # -- state ------------------------------------------------------------
    @property
    def phase(self) -> Phase:
        """Current trading phase; change it with `set_phase()`."""
        return self._phase

    @property
    def reference_price(self) -> int | None:
        """Configured price, then the last trade or auction clearing price."""
        return self._reference

    def _next_priority(self) -> int:
        self._last_priority += 1
        return self._last_priority

    def _find(self, order_id: int) -> _Order | None:
        for o in self._orders:
            if o.order_id == order_id:
                return o
        return None

    def _queue(self, side: Side) -> list[_Order]:
        """All resting orders of one side in priority order."""
        return sorted((o for o in self._orders if o.side is side), key=_priority_key)

    def _candidates(self, inc: _Order) -> list[_Order]:
        """Opposite orders `inc` may trade with, in priority order."""
        side = inc.side
        return sorted(
            (r for r in self._orders if r.side is not side and _acceptable(side, inc.price, r.price)),
            key=_priority_key,
        )

    def _best_limit(self, side: Side) -> int | None:
        prices = [o.price for o in self._orders if o.side is side and o.price is not None]
        if not prices:
            return None
        return max(prices) if side is Side.BUY else min(prices)

    def _is_crossed(self) -> bool:
        bid, ask = self._best_limit(Side.BUY), self._best_limit(Side.SELL)
        return bid is not None and ask is not None and bid >= ask

    # -- continuous matching ---------------------------------------------
    def _executable(self, inc: _Order) -> int:
        """Quantity that would execute now: acceptable prices, minus own-account orders; with
        CANCEL_INCOMING or CANCEL_BOTH matching would stop at the first own-account order."""
        total = 0
        for r in self._candidates(inc):
            if r.account == inc.account:
                if inc.order.smp is SelfMatchPrevention.CANCEL_RESTING:
                    continue
                break
            total += r.leaves
        return total

    def _match(self, inc: _Order, events: list[Event]) -> bool:
        """Trade `inc` (not in the list) against the opposite side; True if SMP canceled it."""
        while inc.leaves > 0:
            candidates = self._candidates(inc)
            if not candidates:
                return False
            r = candidates[0]
            if r.account == inc.account:
                smp = inc.order.smp
                if smp in (SelfMatchPrevention.CANCEL_RESTING, SelfMatchPrevention.CANCEL_BOTH):
                    self._orders.remove(r)
                    events.append(Canceled(r.order_id, r.leaves, CancelReason.SELF_MATCH))
                if smp in (SelfMatchPrevention.CANCEL_INCOMING, SelfMatchPrevention.CANCEL_BOTH):
                    events.append(Canceled(inc.order_id, inc.leaves, CancelReason.SELF_MATCH))
                    inc.leaves = 0
                    return True
                continue
            qty = min(inc.leaves, r.leaves)
            inc.leaves -= qty
            inc.cum += qty
            r.leaves -= qty
            r.cum += qty
            buy, sell = (inc, r) if inc.side is Side.BUY else (r, inc)
            events.append(Trade(buy.order_id, sell.order_id, r.price, qty, buy.leaves, sell.leaves, inc.side))
            self._reference = r.price
            if r.leaves == 0:
                self._orders.remove(r)
        return False

    # -- commands ---------------------------------------------------------
    def submit(self, order: NewOrder) -> list[Event]:
        """Enter a new order; see `venue.book.fast` for the rules."""
        check_well_formed(order)
        reject = phase_reject(self._phase, order)
        if reject is None and self._find(order.order_id) is not None:
            reject = BookReject.DUPLICATE_ORDER_ID
        if reject is None:
            reject = band_reject(order.side, order.price, self._reference, self._band_bps)
        if reject is not None:
            return [Rejected(order.order_id, reject)]

        inc = _Order(order, order.price, order.qty, order.qty, 0, self._next_priority())
        events: list[Event] = [Accepted(order.order_id, inc.priority)]
        if self._phase is not Phase.CONTINUOUS:  # a call phase: collect until uncross()
            self._orders.append(inc)
            return events

        if order.tif is TimeInForce.FOK and self._executable(inc) < order.qty:
            events.append(Canceled(order.order_id, order.qty, CancelReason.FOK_UNFILLED))
            return events
        if order.tif is not TimeInForce.FOK and order.min_qty > 0 and self._executable(inc) < order.min_qty:
            events.append(Canceled(order.order_id, order.qty, CancelReason.MIN_QTY_UNAVAILABLE))
            return events

        if self._match(inc, events) or inc.leaves == 0:
            return events
        if order.ord_type is OrdType.MARKET:
            events.append(Canceled(order.order_id, inc.leaves, CancelReason.MARKET_NO_LIQUIDITY))
        elif order.tif is TimeInForce.IOC:
            events.append(Canceled(order.order_id, inc.leaves, CancelReason.IOC_REMAINDER))
        else:
            assert order.tif.may_rest, "a FOK order that passed its check must fill"
            self._orders.append(inc)
        return events

    def cancel(self, order_id: int, reason: CancelReason | None = None) -> list[Event]:
        """Remove a resting order; accepted in every phase."""
        o = self._find(order_id)
        if o is None:
            return [Rejected(order_id, BookReject.UNKNOWN_ORDER)]
        self._orders.remove(o)
        return [Canceled(order_id, o.leaves, reason or CancelReason.REQUESTED)]

    def replace(self, order_id: int, qty: int, price: int | None) -> list[Event]:
        """Change OrderQty (new total) and/or price (None keeps the price)."""
        check_replace_args(qty, price)
        o = self._find(order_id)
        if o is None:
            return [Rejected(order_id, BookReject.UNKNOWN_ORDER)]
        if self._phase is Phase.CLOSED:
            return [Rejected(order_id, BookReject.NOT_ACCEPTED_IN_PHASE)]
        if o.order.ord_type is OrdType.MARKET:
            return [Rejected(order_id, BookReject.REPLACE_NOT_RESTING)]
        if qty <= o.cum:
            return [Rejected(order_id, BookReject.REPLACE_QTY_NOT_ABOVE_CUM)]
        new_price = o.price if price is None else price
        if new_price != o.price and band_reject(o.side, new_price, self._reference, self._band_bps):
            return [Rejected(order_id, BookReject.PRICE_BAND)]

        lost_priority = new_price != o.price or qty > o.qty
        if lost_priority:
            o.priority = self._next_priority()
        o.price, o.qty, o.leaves = new_price, qty, qty - o.cum
        events: list[Event] = [Replaced(order_id, qty, new_price, o.leaves, o.priority, lost_priority)]
        if self._phase is Phase.CONTINUOUS:
            self._orders.remove(o)
            if not self._match(o, events) and o.leaves > 0:
                self._orders.append(o)
        return events

    def restore(self, resting: RestingOrder) -> None:
        """Put back a journaled resting order (ascending priority) without matching."""
        check_restorable(resting)
        order = resting.order
        if self._find(order.order_id) is not None:
            raise ValueError(f"order {order.order_id} is already in the book")
        if resting.priority <= self._last_priority:
            raise ValueError("restore resting orders in ascending priority, above any priority in use")
        if order.ord_type is OrdType.MARKET and self._phase not in CALL_PHASES:
            raise ValueError("market orders rest only in a call phase")
        if self._phase is Phase.CONTINUOUS and order.price is not None:
            opposite = self._best_limit(order.side.opposite)
            if opposite is not None and _acceptable(order.side, order.price, opposite):
                raise ValueError(f"order {order.order_id} would cross the book in continuous trading")
        self._orders.append(_Order(order, order.price, order.qty, resting.leaves, resting.cum, resting.priority))
        self._last_priority = resting.priority

    # -- phases and the auction ------------------------------------------
    def set_phase(self, phase: Phase) -> list[Event]:
        """Change the trading phase; see `FastBook.set_phase`."""
        if phase is Phase.CONTINUOUS and self._is_crossed():
            raise BookStateError("the book is crossed: call uncross() before continuous trading")
        events: list[Event] = []
        if phase not in CALL_PHASES:
            events.extend(self._cancel_market_orders())
        self._phase = phase
        return events

    def _cancel_market_orders(self) -> list[Event]:
        markets = sorted((o for o in self._orders if o.price is None), key=lambda o: o.priority)
        for o in markets:
            self._orders.remove(o)
        return [Canceled(o.order_id, o.leaves, CancelReason.MARKET_NO_LIQUIDITY) for o in markets]

    def _clearing_price(self) -> int | None:
        buys = [o for o in self._orders if o.side is Side.BUY]
        sells = [o for o in self._orders if o.side is Side.SELL]
        if not buys or not sells:
            return None
        candidates = sorted({o.price for o in self._orders if o.price is not None})
        if not candidates and self._reference is not None:
            candidates = [self._reference]
        best = None
        for p in candidates:
            demand = sum(o.leaves for o in buys if o.price is None or o.price >= p)
            supply = sum(o.leaves for o in sells if o.price is None or o.price <= p)
            volume = min(demand, supply)
            if volume == 0:
                continue
            key = auction_price_key(p, volume, demand - supply, self._reference)
            if best is None or key < best[0]:
                best = (key, p)
        return None if best is None else best[1]

    def uncross(self) -> list[Event]:
        """Call-auction uncross; see `FastBook.uncross`."""
        events: list[Event] = []
        while True:
            price = self._clearing_price()
            if price is None:
                break
            buys = [o for o in self._queue(Side.BUY) if o.price is None or o.price >= price]
            sells = [o for o in self._queue(Side.SELL) if o.price is None or o.price <= price]
            left = {id(o): o.leaves for o in buys + sells}
            fills: list[tuple[_Order, _Order, int]] = []
            conflict = None
            while True:
                b = next((o for o in buys if left[id(o)] > 0), None)
                s = next((o for o in sells if left[id(o)] > 0), None)
                if b is None or s is None:
                    break
                if b.account == s.account:
                    conflict = (b, s)
                    break
                qty = min(left[id(b)], left[id(s)])
                left[id(b)] -= qty
                left[id(s)] -= qty
                fills.append((b, s, qty))
            if conflict is not None:
                earlier, later = sorted(conflict, key=lambda o: o.priority)
                smp = later.order.smp
                doomed = {
                    SelfMatchPrevention.CANCEL_INCOMING: [later],
                    SelfMatchPrevention.CANCEL_RESTING: [earlier],
                    SelfMatchPrevention.CANCEL_BOTH: [earlier, later],
                }[smp]
                for o in doomed:
                    self._orders.remove(o)
                    events.append(Canceled(o.order_id, o.leaves, CancelReason.SELF_MATCH))
                continue
            for b, s, qty in fills:
                b.leaves -= qty
                b.cum += qty
                s.leaves -= qty
                s.cum += qty
                events.append(Trade(b.order_id, s.order_id, price, qty, b.leaves, s.leaves, None))
                for o in (b, s):
                    if o.leaves == 0:
                        self._orders.remove(o)
            self._reference = price
            break
        events.extend(self._cancel_market_orders())
        return events

    # -- queries ----------------------------------------------------------
    def get(self, order_id: int) -> OrderView | None:
        o = self._find(order_id)
        return None if o is None else o.view()

    def crossing(self, side: Side, price: int | None, account: str, qty: int) -> list[tuple[str, int]]:
        out: list[tuple[str, int]] = []
        if self._phase is not Phase.CONTINUOUS:
            return out
        for r in sorted(
            (
                r
                for r in self._orders
                if r.side is not side and r.price is not None and _acceptable(side, price, r.price)
            ),
            key=_priority_key,
        ):
            if qty <= 0:
                break
            if r.account != account:
                take = min(r.leaves, qty)
                out.append((r.account, take))
                qty -= take
        return out

    def depth(self, side: Side, levels: int) -> list[Level]:
        """Best `levels` limit price levels of one side (resting market orders are not levels)."""
        out: list[Level] = []
        for o in self._queue(side):
            if o.price is None:
                continue
            if out and out[-1].price == o.price:
                last = out[-1]
                out[-1] = Level(last.price, last.qty + o.leaves, last.count + 1)
            elif len(out) == levels:
                break
            else:
                out.append(Level(o.price, o.leaves, 1))
        return out

    def resting_orders(self) -> Iterator[OrderView]:
        for side in (Side.BUY, Side.SELL):
            for o in self._queue(side):
                yield o.view()

    def validate_internal_state(self) -> None:
        ids = [o.order_id for o in self._orders]
        assert len(ids) == len(set(ids)), "duplicate order ids"
        priorities = [o.priority for o in self._orders]
        assert len(priorities) == len(set(priorities)), "duplicate priorities"
        for o in self._orders:
            assert 0 < o.priority <= self._last_priority, f"order {o.order_id}: priority out of range"
            assert o.leaves > 0 and o.cum >= 0 and o.leaves + o.cum == o.qty, f"order {o.order_id}: quantities"
            assert (o.price is None) == (o.order.ord_type is OrdType.MARKET), f"order {o.order_id}: price"
            assert o.order.tif.may_rest, f"order {o.order_id}: {o.order.tif.name} resting"
            if o.price is None:
                assert self._phase in CALL_PHASES, "market order resting outside a call phase"
        if self._phase is Phase.CONTINUOUS:
            assert not self._is_crossed(), "book crossed in continuous trading"
