"""The fast order book: price-time priority with O(1) cancel and amend.

Structure: an id index (dict order_id -> node); per price level an intrusive doubly linked FIFO
of `__slots__` nodes; per side a dict key -> level plus a sorted list of keys (bisect), where the
key is the price for bids and minus the price for asks so that the best level is always the
last element. Adding or removing a whole level costs a bisect and a memmove in the key list;
cancel, amend down, and filling the head of a level are O(1). No float anywhere.

Semantics shared with `NaiveBook` (identical events in identical order):

* submit(): `Accepted(order_id, priority)`, then `Trade`s, then at most one `Canceled` for the
  remainder. Refusals (see `venue.book.rules`) are a single `Rejected` and use no priority.
  Priorities come from one increasing counter: entry, and a replace that loses priority.
* Continuous trading: limit orders trade at the resting order's price, best price first, then
  time. Market orders trade at any price and never rest: remainder Canceled MARKET_NO_LIQUIDITY
  (whatever the TIF). IOC remainder: Canceled IOC_REMAINDER. DAY/GTC/GTD remainders rest.
* FOK and MinQty look at the quantity that would execute now: acceptable prices, orders of the
  same account left out; with SMP CANCEL_INCOMING or CANCEL_BOTH matching would stop at the first
  same-account order, so the count stops there too (that keeps FOK all-or-none). FOK short of qty
  -> Accepted, Canceled FOK_UNFILLED; MinQty short -> Accepted, Canceled MIN_QTY_UNAVAILABLE, no
  trades. MinQty is checked on entry only.
* Self-match prevention, incoming order's instruction, at the moment a same-account order is
  next in line: CANCEL_INCOMING cancels the incoming remainder; CANCEL_RESTING cancels the
  resting order and goes on; CANCEL_BOTH cancels the resting order then the incoming remainder.
  Reason SELF_MATCH; earlier trades stand.
* replace(order_id, qty, price): qty is the new total, price None keeps the price. A price
  change or a qty increase loses priority (new priority, back of the new level); a decrease
  keeps the place. `Replaced` first, then, in continuous trading, trades as aggressor if the new
  price crosses; the remainder rests (MinQty is not checked again).
* Price band: a limit price beyond band_bps from the reference price is refused with PRICE_BAND
  (new orders, and replaces that change the price). The reference price is the configured
  one, then the last trade price, then the last clearing price.
* Phases: CLOSED refuses submit and replace (cancel always works). Call phases (PRE_OPEN,
  OPENING_AUCTION, HALTED, PERIODIC_AUCTION) accept DAY/GTC/GTD limit and market orders without
  matching and refuse IOC, FOK and MinQty. See `set_phase` and `uncross`.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections.abc import Iterator

from venue.book.base import BookConfig, OrderBook
from venue.book.errors import BookStateError
from venue.book.rules import (
    CALL_PHASES,
    auction_price_key,
    check_replace_args,
    check_restorable,
    check_well_formed,
    outside_band,
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

_BUY = Side.BUY
_SELL = Side.SELL
_CONTINUOUS = Phase.CONTINUOUS
_CLOSED = Phase.CLOSED
_MARKET = OrdType.MARKET
_IOC = TimeInForce.IOC
_FOK = TimeInForce.FOK
_SMP_INCOMING = SelfMatchPrevention.CANCEL_INCOMING
_SMP_RESTING = SelfMatchPrevention.CANCEL_RESTING
_SMP_BOTH = SelfMatchPrevention.CANCEL_BOTH
_REQUESTED = CancelReason.REQUESTED
_SELF_MATCH = CancelReason.SELF_MATCH
_NO_LIQUIDITY = CancelReason.MARKET_NO_LIQUIDITY
_IOC_REMAINDER = CancelReason.IOC_REMAINDER
_FOK_UNFILLED = CancelReason.FOK_UNFILLED
_MIN_QTY = CancelReason.MIN_QTY_UNAVAILABLE
_UNKNOWN = BookReject.UNKNOWN_ORDER
_DUPLICATE = BookReject.DUPLICATE_ORDER_ID
_BAND = BookReject.PRICE_BAND
_LIMIT = OrdType.LIMIT


def _mutable_twin(cls: type) -> type:
    """A plain class with the same `__slots__` as the frozen slotted dataclass `cls`.

    Hot-path events are built as a twin, filled in with ordinary attribute stores, then given
    `__class__ = cls`, which Python allows between classes with the same slots. The result IS a
    `cls` instance, equal to (and hashing like) one built by `cls(...)`, in a fraction of the
    time of the frozen `__init__` (one `object.__setattr__` per field). It skips `__init__`,
    so it is only for event types without `__post_init__`. Checked here at import; the
    differential tests compare these events with the naive book's normally built ones.
    """
    if hasattr(cls, "__post_init__"):
        raise AssertionError(f"{cls.__name__} validates in __post_init__: build it normally")
    twin = type(f"_Mutable{cls.__name__}", (), {"__slots__": cls.__slots__})
    probe = twin()
    values = [object() for _ in cls.__slots__]
    for name, value in zip(cls.__slots__, values, strict=True):
        setattr(probe, name, value)
    probe.__class__ = cls
    if type(probe) is not cls or probe != cls(*values):
        raise AssertionError(f"cannot build {cls.__name__} through a mutable twin")
    return twin


_new = object.__new__
_MutableAccepted = _mutable_twin(Accepted)
_MutableCanceled = _mutable_twin(Canceled)
_MutableTrade = _mutable_twin(Trade)


class _Node:
    """One resting order, linked into its level's FIFO. Its price is its level's price and its
    OrderQty is cum + leaves."""

    __slots__ = ("order", "oid", "account", "leaves", "cum", "priority", "prev", "next", "level")

    def __init__(self, order: NewOrder, oid: int, account: str, leaves: int, cum: int, priority: int) -> None:
        self.order = order
        self.oid = oid
        self.account = account
        self.leaves = leaves
        self.cum = cum
        self.priority = priority


class _Level:
    """A FIFO of nodes at one price (price None: the resting market orders of a call phase)."""

    __slots__ = ("price", "key", "keys", "levels", "head", "tail", "qty", "count")

    def __init__(self, price: int | None, key: int | None, keys: list[int] | None, levels: dict | None) -> None:
        self.price = price
        self.key = key
        self.keys = keys
        self.levels = levels
        self.head: _Node | None = None
        self.tail: _Node | None = None
        self.qty = 0
        self.count = 0

    def nodes(self) -> Iterator[_Node]:
        node = self.head
        while node is not None:
            yield node
            node = node.next


class FastBook(OrderBook):
    """Price-time priority book with an id index and intrusive per-level FIFOs."""

    def __init__(self, config: BookConfig | None = None, phase: Phase = Phase.CONTINUOUS) -> None:
        config = config or BookConfig()
        self._band_bps = config.band_bps
        self._reference = config.reference_price
        self._phase = phase
        self._index: dict[int, _Node] = {}
        # index 0: bids (key = price), index 1: asks (key = -price); best level = keys[-1]
        self._keys: tuple[list[int], list[int]] = ([], [])
        self._levels: tuple[dict[int, _Level], dict[int, _Level]] = ({}, {})
        self._market = (_Level(None, None, None, None), _Level(None, None, None, None))
        # the same lists and dicts again, by name, for the hot path
        self._bid_keys, self._ask_keys = self._keys
        self._bid_levels, self._ask_levels = self._levels
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

    # -- linking ----------------------------------------------------------
    def _append(self, node: _Node, side: int, price: int | None) -> None:
        """Put `node` at the back of the level for `price` (None: market FIFO) of `side`."""
        if price is None:
            level = self._market[side]
        else:
            key = -price if side else price
            levels = self._levels[side]
            level = levels.get(key)
            if level is None:
                keys = self._keys[side]
                level = levels[key] = _Level(price, key, keys, levels)
                insort(keys, key)
        node.level = level
        node.next = None
        tail = level.tail
        node.prev = tail
        if tail is None:
            level.head = node
        else:
            tail.next = node
        level.tail = node
        level.qty += node.leaves
        level.count += 1

    @staticmethod
    def _unlink(node: _Node) -> None:
        """Take `node` out of its level, dropping the level when it empties (not the index)."""
        level = node.level
        prev = node.prev
        nxt = node.next
        if prev is None:
            level.head = nxt
        else:
            prev.next = nxt
        if nxt is None:
            level.tail = prev
        else:
            nxt.prev = prev
        level.qty -= node.leaves
        level.count -= 1
        if level.head is None and level.keys is not None:
            keys = level.keys
            del keys[bisect_left(keys, level.key)]
            del level.levels[level.key]

    # -- continuous matching ---------------------------------------------
    def _reachable(self, opp: int, limit_key: int | None) -> Iterator[_Node]:
        """Resting orders of side `opp` an order with `limit_key` (None: market) reaches, in priority order."""
        levels = self._levels[opp]
        for key in reversed(self._keys[opp]):
            if limit_key is not None and key < limit_key:
                return
            node = levels[key].head
            while node is not None:
                yield node
                node = node.next

    def _executable(self, opp: int, limit_key: int | None, account: str, smp: SelfMatchPrevention, need: int) -> int:
        """Quantity that would execute now against side `opp`, counting up to `need`."""
        total = 0
        stop_on_self = smp is not _SMP_RESTING
        for node in self._reachable(opp, limit_key):
            if node.account == account:
                if stop_on_self:
                    return total
            else:
                total += node.leaves
                if total >= need:
                    return total
        return total

    def _match(
        self,
        events: list,
        oid: int,
        account: str,
        is_buy: bool,
        limit_key: int | None,
        leaves: int,
        smp: SelfMatchPrevention,
    ) -> int:
        """Trade an incoming quantity against the opposite side.

        Returns the leaves left, or -1 when self-match prevention canceled the incoming order
        (its `Canceled` is already in `events`).
        """
        opp = 1 if is_buy else 0
        keys = self._keys[opp]
        levels = self._levels[opp]
        index = self._index
        aggressor = _BUY if is_buy else _SELL
        append = events.append
        last_price = None
        while keys:
            key = keys[-1]
            if limit_key is not None and key < limit_key:
                break
            level = levels[key]
            price = level.price
            node = level.head
            # Invariant: `node` is always the head of `level` (filled and canceled nodes left).
            while node is not None:
                nxt = node.next
                if node.account == account:
                    if smp is not _SMP_INCOMING:
                        append(Canceled(node.oid, node.leaves, _SELF_MATCH))
                        del index[node.oid]
                        level.qty -= node.leaves
                        level.count -= 1
                        level.head = nxt
                        if nxt is None:
                            level.tail = None
                        else:
                            nxt.prev = None
                    if smp is not _SMP_RESTING:
                        append(Canceled(oid, leaves, _SELF_MATCH))
                        leaves = -1
                        break
                    node = nxt
                    continue
                rleaves = node.leaves
                if rleaves > leaves:
                    qty = leaves
                    rleaves -= leaves
                    leaves = 0
                    node.leaves = rleaves
                    node.cum += qty
                    level.qty -= qty
                else:  # the resting order is filled and leaves the book (its node is dropped)
                    qty = rleaves
                    leaves -= rleaves
                    rleaves = 0
                    level.qty -= qty
                    level.count -= 1
                    del index[node.oid]
                    level.head = nxt
                    if nxt is None:
                        level.tail = None
                    else:
                        nxt.prev = None
                trade = _MutableTrade()
                if is_buy:
                    trade.buy_order_id = oid
                    trade.sell_order_id = node.oid
                    trade.buy_leaves = leaves
                    trade.sell_leaves = rleaves
                else:
                    trade.buy_order_id = node.oid
                    trade.sell_order_id = oid
                    trade.buy_leaves = rleaves
                    trade.sell_leaves = leaves
                trade.price = price
                trade.qty = qty
                trade.aggressor = aggressor
                trade.__class__ = Trade
                append(trade)
                last_price = price
                if leaves == 0:
                    break
                node = nxt
            if level.head is None:
                keys.pop()
                del levels[key]
            if leaves <= 0:
                break
        if last_price is not None:
            self._reference = last_price
        return leaves

    # -- commands ---------------------------------------------------------
    def submit(self, order: NewOrder) -> list[Event]:
        """Enter a new order; match it as the current phase allows (see the module docstring)."""
        oid = order.order_id
        price = order.price
        qty = order.qty
        min_qty = order.min_qty
        # Screen for rules.check_well_formed (exactly its conditions); it raises the error.
        if not (
            type(qty) is int
            and qty > 0
            and 0 <= min_qty <= qty
            and ((type(price) is int and price > 0) if order.ord_type is _LIMIT else price is None)
        ):
            check_well_formed(order)
            raise AssertionError("screen and check_well_formed disagree")
        if self._phase is not _CONTINUOUS:
            return self._submit_outside_continuous(order)
        index = self._index
        if oid in index:
            return [Rejected(oid, _DUPLICATE)]
        if price is not None and self._band_bps is not None and self._reference is not None:
            if outside_band(order.side, price, self._reference, self._band_bps):
                return [Rejected(oid, _BAND)]

        priority = self._last_priority = self._last_priority + 1
        accepted = _MutableAccepted()
        accepted.order_id = oid
        accepted.priority = priority
        accepted.__class__ = Accepted
        events: list[Event] = [accepted]
        if order.side is _BUY:
            is_buy = True
            side = 0
            opp_keys = self._ask_keys
            limit_key = None if price is None else -price
        else:
            is_buy = False
            side = 1
            opp_keys = self._bid_keys
            limit_key = price
        tif = order.tif
        if opp_keys and (limit_key is None or opp_keys[-1] >= limit_key):
            if tif is _FOK or min_qty:
                need = qty if tif is _FOK else min_qty
                if self._executable(1 - side, limit_key, order.account, order.smp, need) < need:
                    events.append(Canceled(oid, qty, _FOK_UNFILLED if tif is _FOK else _MIN_QTY))
                    return events
            leaves = self._match(events, oid, order.account, is_buy, limit_key, qty, order.smp)
            if leaves <= 0:
                return events
        elif tif is _FOK or min_qty:
            events.append(Canceled(oid, qty, _FOK_UNFILLED if tif is _FOK else _MIN_QTY))
            return events
        else:
            leaves = qty

        if price is None:
            events.append(Canceled(oid, leaves, _NO_LIQUIDITY))
            return events
        if tif is _IOC:
            events.append(Canceled(oid, leaves, _IOC_REMAINDER))
            return events
        if tif is _FOK:
            raise AssertionError("a FOK order that passed its check must fill")
        # rest: inline of _Node() and _append() for a limit order
        node = _new(_Node)
        node.order = order
        node.oid = oid
        node.account = order.account
        node.leaves = leaves
        node.cum = qty - leaves
        node.priority = priority
        node.next = None
        index[oid] = node
        if is_buy:
            levels = self._bid_levels
            key = price
        else:
            levels = self._ask_levels
            key = -price
        level = levels.get(key)
        if level is None:
            keys = self._bid_keys if is_buy else self._ask_keys
            level = levels[key] = _Level(price, key, keys, levels)
            insort(keys, key)
            level.head = node
            node.prev = None
        else:
            tail = level.tail
            node.prev = tail
            if tail is None:
                level.head = node
            else:
                tail.next = node
        node.level = level
        level.tail = node
        level.qty += leaves
        level.count += 1
        return events

    def _submit_outside_continuous(self, order: NewOrder) -> list[Event]:
        """submit() in CLOSED (refused) or a call phase (accepted orders rest unmatched)."""
        oid = order.order_id
        reject = phase_reject(self._phase, order)
        if reject is None and oid in self._index:
            reject = _DUPLICATE
        if reject is None and order.price is not None:
            if outside_band(order.side, order.price, self._reference, self._band_bps):
                reject = _BAND
        if reject is not None:
            return [Rejected(oid, reject)]
        priority = self._last_priority = self._last_priority + 1
        node = _Node(order, oid, order.account, order.qty, 0, priority)
        self._index[oid] = node
        self._append(node, 0 if order.side is _BUY else 1, order.price)
        return [Accepted(oid, priority)]

    def cancel(self, order_id: int, reason: CancelReason | None = None) -> list[Event]:
        """Remove a resting order's remaining quantity (reason defaults to REQUESTED); O(1)
        unless its level empties. Accepted in every phase."""
        node = self._index.pop(order_id, None)
        if node is None:
            return [Rejected(order_id, _UNKNOWN)]
        level = node.level
        prev = node.prev
        nxt = node.next
        if prev is None:
            level.head = nxt
        else:
            prev.next = nxt
        if nxt is None:
            level.tail = prev
        else:
            nxt.prev = prev
        leaves = node.leaves
        level.qty -= leaves
        level.count -= 1
        if level.head is None and level.keys is not None:
            keys = level.keys
            del keys[bisect_left(keys, level.key)]
            del level.levels[level.key]
        canceled = _MutableCanceled()
        canceled.order_id = order_id
        canceled.canceled_qty = leaves
        canceled.reason = reason or _REQUESTED
        canceled.__class__ = Canceled
        return [canceled]

    def replace(self, order_id: int, qty: int, price: int | None) -> list[Event]:
        """Change total OrderQty and/or price (None keeps the price) of a resting limit order.

        Checks in order: UNKNOWN_ORDER, NOT_ACCEPTED_IN_PHASE (CLOSED), REPLACE_NOT_RESTING
        (market order resting in a call phase), REPLACE_QTY_NOT_ABOVE_CUM, PRICE_BAND (price
        changes only). A pure decrease keeps priority and is O(1).
        """
        check_replace_args(qty, price)
        node = self._index.get(order_id)
        if node is None:
            return [Rejected(order_id, _UNKNOWN)]
        if self._phase is _CLOSED:
            return [Rejected(order_id, BookReject.NOT_ACCEPTED_IN_PHASE)]
        level = node.level
        old_price = level.price
        if old_price is None:
            return [Rejected(order_id, BookReject.REPLACE_NOT_RESTING)]
        cum = node.cum
        if qty <= cum:
            return [Rejected(order_id, BookReject.REPLACE_QTY_NOT_ABOVE_CUM)]
        side = node.order.side
        new_price = old_price if price is None else price
        if new_price != old_price and outside_band(side, new_price, self._reference, self._band_bps):
            return [Rejected(order_id, _BAND)]
        new_leaves = qty - cum
        if new_price == old_price and qty <= cum + node.leaves:
            level.qty += new_leaves - node.leaves
            node.leaves = new_leaves
            return [Replaced(order_id, qty, new_price, new_leaves, node.priority, False)]

        self._unlink(node)
        priority = self._last_priority = self._last_priority + 1
        node.priority = priority
        node.leaves = new_leaves
        events: list[Event] = [Replaced(order_id, qty, new_price, new_leaves, priority, True)]
        is_buy = side is _BUY
        if self._phase is _CONTINUOUS:
            limit_key = -new_price if is_buy else new_price
            opp_keys = self._keys[1 if is_buy else 0]
            if opp_keys and opp_keys[-1] >= limit_key:
                leaves = self._match(events, order_id, node.account, is_buy, limit_key, new_leaves, node.order.smp)
                if leaves <= 0:
                    del self._index[order_id]
                    return events
                node.cum = qty - leaves
                node.leaves = leaves
        self._append(node, 0 if is_buy else 1, new_price)
        return events

    def restore(self, resting: RestingOrder) -> None:
        """Put back a journaled resting order without matching; call in ascending priority.

        Raises ValueError for an order that cannot rest here (duplicate id, priority not above
        every priority in use, market order outside a call phase, crossing in continuous).
        """
        check_restorable(resting)
        order = resting.order
        if order.order_id in self._index:
            raise ValueError(f"order {order.order_id} is already in the book")
        if resting.priority <= self._last_priority:
            raise ValueError("restore resting orders in ascending priority, above any priority in use")
        price = order.price
        if order.ord_type is _MARKET and self._phase not in CALL_PHASES:
            raise ValueError("market orders rest only in a call phase")
        side = 0 if order.side is _BUY else 1
        if self._phase is _CONTINUOUS:
            opp_keys = self._keys[1 - side]
            if opp_keys and opp_keys[-1] >= (-price if side == 0 else price):
                raise ValueError(f"order {order.order_id} would cross the book in continuous trading")
        node = _Node(order, order.order_id, order.account, resting.leaves, resting.cum, resting.priority)
        self._index[order.order_id] = node
        self._append(node, side, price)
        self._last_priority = resting.priority

    # -- phases and the auction ------------------------------------------
    def set_phase(self, phase: Phase) -> list[Event]:
        """Change the trading phase; never matches by itself.

        Leaving the call phases (to CONTINUOUS or CLOSED) cancels resting market orders, in
        priority order, with MARKET_NO_LIQUIDITY; those are the events returned. Entering
        CONTINUOUS on a crossed book raises BookStateError and changes nothing: call
        `uncross()` first.
        """
        if phase is _CONTINUOUS and self._is_crossed():
            raise BookStateError("the book is crossed: call uncross() before continuous trading")
        events: list[Event] = []
        if phase not in CALL_PHASES:
            self._cancel_market_orders(events)
        self._phase = phase
        return events

    def _is_crossed(self) -> bool:
        bids, asks = self._keys
        return bool(bids) and bool(asks) and bids[-1] >= -asks[-1]

    def _cancel_market_orders(self, events: list) -> None:
        nodes = sorted([*self._market[0].nodes(), *self._market[1].nodes()], key=lambda n: n.priority)
        for node in nodes:
            self._unlink(node)
            del self._index[node.oid]
            events.append(Canceled(node.oid, node.leaves, _NO_LIQUIDITY))

    def _clearing_price(self) -> int | None:
        """The one price of the uncross (None: nothing can trade). See `uncross`."""
        bid_keys, ask_keys = self._keys
        bid_levels, ask_levels = self._levels
        market_buy = self._market[0].qty
        market_sell = self._market[1].qty
        if (not bid_keys and not market_buy) or (not ask_keys and not market_sell):
            return None
        ask_prices = [-k for k in reversed(ask_keys)]  # ascending
        candidates = sorted(set(bid_keys).union(ask_prices))
        if not candidates:
            return self._reference  # market orders only: trade at the reference price if any
        n = len(candidates)
        demand = [0] * n
        acc = market_buy
        j = len(bid_keys) - 1
        for i in range(n - 1, -1, -1):
            p = candidates[i]
            while j >= 0 and bid_keys[j] >= p:
                acc += bid_levels[bid_keys[j]].qty
                j -= 1
            demand[i] = acc
        best_key = None
        best_price = None
        acc = market_sell
        j = 0
        reference = self._reference
        for i in range(n):
            p = candidates[i]
            while j < len(ask_prices) and ask_prices[j] <= p:
                acc += ask_levels[-ask_prices[j]].qty
                j += 1
            volume = min(demand[i], acc)
            if volume:
                key = auction_price_key(p, volume, demand[i] - acc, reference)
                if best_key is None or key < best_key:
                    best_key, best_price = key, p
        return best_price

    def _eligible(self, side: int, price: int) -> Iterator[_Node]:
        """Orders of `side` that trade at `price`, in allocation order: market, then price-time."""
        yield from self._market[side].nodes()
        levels = self._levels[side]
        for key in reversed(self._keys[side]):
            level = levels[key]
            if (level.price < price) if side == 0 else (level.price > price):
                return
            yield from level.nodes()

    def uncross(self) -> list[Event]:
        """Run the call-auction uncross at one clearing price; allowed in any phase.

        Clearing price: among the limit prices in the book (or, when only market orders rest
        on both sides, the reference price), the price with the most executable volume
        min(demand, supply), then the smallest |demand - supply|, then the closest to the
        reference price (skipped with no reference), then the LOWEST price. Market orders count
        at every price.

        Allocation at that price: buys (market orders first in time order, then limit orders by
        best price then time) against sells in the same order, head against head; trades carry
        aggressor None. Self-match: the allocation never skips. When the next buy and sell
        belong to the same account, the later of the two (by priority) counts as the incoming
        order and its SMP instruction applies as in continuous trading (CANCEL_INCOMING cancels
        the later, CANCEL_RESTING the earlier, CANCEL_BOTH both, earlier first), reason
        SELF_MATCH, before any trade of the uncross; then the price is computed again on the
        remaining book. (Skipping instead can leave the book crossed at a price no single
        clearing price explains.) Afterwards the book is uncrossed; every resting market order
        is canceled MARKET_NO_LIQUIDITY in priority order; the reference price becomes the
        clearing price if anything traded.
        """
        events: list[Event] = []
        while True:
            price = self._clearing_price()
            if price is None:
                break
            buys = self._eligible(0, price)
            sells = self._eligible(1, price)
            b = next(buys, None)
            s = next(sells, None)
            b_left = b.leaves if b is not None else 0
            s_left = s.leaves if s is not None else 0
            fills: list[tuple[_Node, _Node, int]] = []
            conflict = None
            while b is not None and s is not None:
                if b.account == s.account:
                    conflict = (b, s) if b.priority < s.priority else (s, b)
                    break
                qty = b_left if b_left < s_left else s_left
                fills.append((b, s, qty))
                b_left -= qty
                s_left -= qty
                if not b_left:
                    b = next(buys, None)
                    b_left = b.leaves if b is not None else 0
                if not s_left:
                    s = next(sells, None)
                    s_left = s.leaves if s is not None else 0
            if conflict is not None:
                earlier, later = conflict
                smp = later.order.smp
                doomed = (earlier, later) if smp is _SMP_BOTH else (earlier,) if smp is _SMP_RESTING else (later,)
                for node in doomed:
                    self._unlink(node)
                    del self._index[node.oid]
                    events.append(Canceled(node.oid, node.leaves, _SELF_MATCH))
                continue
            for b, s, qty in fills:
                for node in (b, s):
                    node.leaves -= qty
                    node.cum += qty
                    node.level.qty -= qty
                events.append(Trade(b.oid, s.oid, price, qty, b.leaves, s.leaves, None))
                for node in (b, s):
                    if not node.leaves:
                        self._unlink(node)
                        del self._index[node.oid]
            if fills:
                self._reference = price
            break
        self._cancel_market_orders(events)
        return events

    # -- queries ----------------------------------------------------------
    @staticmethod
    def _view(node: _Node) -> OrderView:
        o = node.order
        return OrderView(
            node.oid,
            o.account,
            o.side,
            o.ord_type,
            node.level.price,
            node.cum + node.leaves,
            node.leaves,
            node.cum,
            o.tif,
            node.priority,
        )

    def get(self, order_id: int) -> OrderView | None:
        node = self._index.get(order_id)
        return None if node is None else self._view(node)

    def depth(self, side: Side, levels: int) -> list[Level]:
        """Best `levels` limit price levels of one side (resting market orders are not levels)."""
        i = 0 if side is _BUY else 1
        book = self._levels[i]
        out = []
        for key in reversed(self._keys[i]):
            if len(out) >= levels:
                break
            level = book[key]
            out.append(Level(level.price, level.qty, level.count))
        return out

    def crossing(self, side: Side, price: int | None, account: str, qty: int) -> list[tuple[str, int]]:
        out: list[tuple[str, int]] = []
        if self._phase is not _CONTINUOUS or qty <= 0:
            return out
        opp, limit_key = (1, None if price is None else -price) if side is _BUY else (0, price)
        for node in self._reachable(opp, limit_key):
            if node.account != account:
                take = min(node.leaves, qty)
                out.append((node.account, take))
                qty -= take
                if not qty:
                    return out
        return out

    def resting_orders(self) -> Iterator[OrderView]:
        for side in (0, 1):
            for node in self._market[side].nodes():
                yield self._view(node)
            levels = self._levels[side]
            for key in reversed(self._keys[side]):
                for node in levels[key].nodes():
                    yield self._view(node)

    def validate_internal_state(self) -> None:
        seen: set[int] = set()
        for side in (0, 1):
            keys = self._keys[side]
            levels = self._levels[side]
            assert keys == sorted(set(keys)), "level keys not strictly ascending"
            assert set(keys) == set(levels), "level keys and level dict disagree"
            all_levels = [self._market[side]] + [levels[k] for k in keys]
            for level in all_levels:
                if level.price is not None:
                    assert level.key == (-level.price if side else level.price), "level key"
                    assert level.keys is keys and level.levels is levels, "level owner"
                    assert level.head is not None, "empty level kept"
                prev = None
                qty = count = 0
                node = level.head
                while node is not None:
                    assert node.prev is prev, "broken prev link"
                    assert node.level is level, "node points at another level"
                    assert (0 if node.order.side is _BUY else 1) == side, "node on the wrong side"
                    assert (level.price is None) == (node.order.ord_type is _MARKET), "market/limit level"
                    assert node.leaves > 0 and node.cum >= 0, f"order {node.oid}: quantities"
                    assert node.order.tif.may_rest, f"order {node.oid}: {node.order.tif.name} resting"
                    assert self._index.get(node.oid) is node, f"order {node.oid} not indexed"
                    assert node.oid not in seen, f"order {node.oid} twice"
                    assert 0 < node.priority <= self._last_priority, f"order {node.oid}: priority"
                    if prev is not None:
                        assert prev.priority < node.priority, "time priority broken within a level"
                    seen.add(node.oid)
                    qty += node.leaves
                    count += 1
                    prev = node
                    node = node.next
                assert level.tail is prev, "broken tail"
                assert level.qty == qty and level.count == count, "level totals"
        assert seen == set(self._index), "index holds orders that are not in the book"
        if self._phase not in CALL_PHASES:
            assert self._market[0].head is None and self._market[1].head is None, "market order resting"
        if self._phase is _CONTINUOUS:
            assert not self._is_crossed(), "book crossed in continuous trading"
