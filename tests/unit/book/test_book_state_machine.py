"""Hypothesis state machines over each book: random commands, invariants after every step.

Invariants: the book validates; it is never crossed at rest in continuous trading; every resting
order agrees with an independent ledger fed only with the events (so each Trade moved both
sides' cum by its qty, and leaves + cum == qty); per order qty == cum + leaves + canceled; the
open orders of the ledger are exactly the resting orders; levels are in price order and time
priority holds within a level; an aggressive order (or a crossing replace) meets the opposite
side strictly in priority order.
"""

from __future__ import annotations

from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from venue.book.base import BookConfig
from venue.book.fast import FastBook
from venue.book.naive import NaiveBook
from venue.book.rules import CALL_PHASES
from venue.book.types import (
    Canceled,
    CancelReason,
    NewOrder,
    OrdType,
    Phase,
    Rejected,
    Replaced,
    SelfMatchPrevention,
    Side,
    TimeInForce,
    Trade,
)
from venue.orders import OrderLedger

PRICES = st.integers(min_value=97, max_value=103)
QTYS = st.integers(min_value=1, max_value=12)
ACCOUNTS = st.sampled_from(["a", "b", "c"])
CALLS = sorted(CALL_PHASES, key=lambda p: p.value)


class BookMachine(RuleBasedStateMachine):
    book_cls: type = FastBook

    def __init__(self) -> None:
        super().__init__()
        self.book = None
        self.ledger = OrderLedger()
        self.next_id = 1

    @initialize(
        reference=st.one_of(st.none(), st.integers(98, 102)),
        band=st.sampled_from([None, 300, 2000]),
        phase=st.sampled_from([Phase.CONTINUOUS, Phase.PRE_OPEN]),
    )
    def start(self, reference, band, phase):
        self.book = self.book_cls(BookConfig(reference, band), phase)

    # ------------------------------------------------------------ helpers
    def _queue(self, side: Side) -> list:
        return [v for v in self.book.resting_orders() if v.side is side]

    def _live_ids(self) -> list[int]:
        return [v.order_id for v in self.book.resting_orders()]

    def _check_priority_walk(self, incoming: int, side: Side, limit: int | None, before: list, events: list):
        """The resting orders an aggressor met are a prefix of the opposite queue at acceptable
        prices, every one but the last consumed entirely."""
        if self.book.phase is not Phase.CONTINUOUS:
            return
        acceptable = [
            v for v in before if limit is None or (v.price <= limit if side is Side.BUY else v.price >= limit)
        ]
        met = []
        for e in events:
            if type(e) is Trade:
                met.append(e.sell_order_id if side is Side.BUY else e.buy_order_id)
            elif type(e) is Canceled and e.order_id != incoming and e.reason is CancelReason.SELF_MATCH:
                met.append(e.order_id)
        assert len(met) == len(set(met)), "a resting order met twice by one aggressor"
        assert met == [v.order_id for v in acceptable[: len(met)]], (met, acceptable)
        live = set(self._live_ids())
        assert not any(oid in live for oid in met[:-1]), "an order was passed over before being consumed"
        resting_price = {v.order_id: v.price for v in before}
        for e in events:
            if type(e) is Trade:
                assert e.aggressor is side
                assert e.price == resting_price[e.sell_order_id if side is Side.BUY else e.buy_order_id]

    def _check_no_self_trade(self, events: list) -> None:
        for e in events:
            if type(e) is Trade:
                records = self.ledger.records
                assert records[e.buy_order_id].account != records[e.sell_order_id].account, "self-trade"

    # ------------------------------------------------------------ rules
    @rule(
        side=st.sampled_from(Side),
        market=st.integers(0, 9),
        price=PRICES,
        qty=QTYS,
        account=ACCOUNTS,
        tif=st.sampled_from(list(TimeInForce)),
        min_qty=st.integers(0, 12),
        smp=st.sampled_from(SelfMatchPrevention),
        reuse=st.integers(0, 30),
    )
    def submit(self, side, market, price, qty, account, tif, min_qty, smp, reuse):
        self._submit(side, market, price, qty, account, tif, min_qty, smp, reuse)

    @rule(
        side=st.sampled_from(Side),
        through=st.integers(0, 2),
        qty=QTYS,
        account=ACCOUNTS,
        tif=st.sampled_from(list(TimeInForce)),
        smp=st.sampled_from(SelfMatchPrevention),
    )
    def submit_at_opposite_best(self, side, through, qty, account, tif, smp):
        """A limit order priced at or through the best opposite price (most such orders trade)."""
        best = self.book.depth(side.opposite, 1)
        if best:
            price = best[0].price + (through if side is Side.BUY else -through)
            self._submit(side, 1, price, qty, account, tif, 0, smp, 1)

    @rule(
        orders=st.lists(
            st.tuples(
                st.sampled_from(Side),
                PRICES,
                QTYS,
                ACCOUNTS,
                st.sampled_from(list(TimeInForce)),
                st.sampled_from(SelfMatchPrevention),
            ),
            min_size=2,
            max_size=8,
        )
    )
    def submit_burst(self, orders):
        """Several limit orders in one step, each checked like a step of its own."""
        for side, price, qty, account, tif, smp in orders:
            self._submit(side, 1, price, qty, account, tif, 0, smp, 1)
            self.book_is_consistent()

    def _submit(self, side, market, price, qty, account, tif, min_qty, smp, reuse):
        live = self._live_ids()
        oid = live[0] if reuse == 0 and live else self.next_id
        if oid == self.next_id:
            self.next_id += 1
        ord_type = OrdType.MARKET if market == 0 else OrdType.LIMIT
        order = NewOrder(
            oid,
            account,
            side,
            ord_type,
            None if market == 0 else price,
            qty,
            tif,
            min_qty if min_qty <= qty and min_qty % 3 == 0 else 0,
            smp,
        )
        before = self._queue(side.opposite)
        if oid not in live:
            self.ledger.submitted(order)
        events = self.book.submit(order)
        self.ledger.apply_all(events)
        for e in events[1:]:
            event(type(e).__name__ if type(e) is not Canceled else e.reason.name)
        self._check_priority_walk(oid, side, order.price, before, events)
        self._check_no_self_trade(events)
        if type(events[0]) is Rejected:
            assert len(events) == 1
            return
        traded = sum(e.qty for e in events if type(e) is Trade)
        own_cancel = [e.reason for e in events if type(e) is Canceled and e.order_id == oid]
        if order.tif is TimeInForce.FOK and traded:
            assert traded == order.qty, "FOK partially filled"
        if order.min_qty and traded:
            assert traded >= order.min_qty, "MinQty not met"
        if not traded and (order.tif is TimeInForce.FOK or order.min_qty) and self.book.phase is Phase.CONTINUOUS:
            assert own_cancel in (
                [CancelReason.FOK_UNFILLED],
                [CancelReason.MIN_QTY_UNAVAILABLE],
                [CancelReason.SELF_MATCH],
            ), own_cancel
        if order.ord_type is OrdType.MARKET and self.book.phase is Phase.CONTINUOUS:
            assert self.book.get(oid) is None, "a market order rests in continuous trading"
            if traded < order.qty:
                assert len(own_cancel) == 1 and own_cancel[0] is not CancelReason.IOC_REMAINDER

    @rule(pick=st.integers(0, 1000), unknown=st.integers(0, 9), expire=st.booleans())
    def cancel(self, pick, unknown, expire):
        live = self._live_ids()
        oid = live[pick % len(live)] if live and unknown else self.next_id + 7
        events = self.book.cancel(oid, CancelReason.EXPIRED if expire else None)
        self.ledger.apply_all(events)

    @precondition(lambda self: self.book is not None and any(True for _ in self.book.resting_orders()))
    @rule(pick=st.integers(0, 1000), qty=st.integers(1, 15), price=st.one_of(st.none(), PRICES))
    def replace(self, pick, qty, price):
        views = list(self.book.resting_orders())
        view = views[pick % len(views)]
        before = self._queue(view.side.opposite)
        top = max(v.priority for v in views)
        events = self.book.replace(view.order_id, qty, price)
        self.ledger.apply_all(events)
        if events and type(events[0]) is Replaced:
            replaced = events[0]
            assert replaced.lost_priority == (replaced.price != view.price or qty > view.qty)
            if replaced.lost_priority:
                assert replaced.priority > top
            else:
                assert replaced.priority == view.priority
            self._check_priority_walk(view.order_id, view.side, replaced.price, before, events)
            self._check_no_self_trade(events)

    @precondition(lambda self: self.book is not None and self.book.phase is Phase.CONTINUOUS)
    @rule(phase=st.sampled_from(CALLS + [Phase.CLOSED]), go=st.integers(0, 2))
    def leave_continuous(self, phase, go):
        if go == 0:  # less often than other steps: most should happen in continuous trading
            self.ledger.apply_all(self.book.set_phase(phase))

    @precondition(lambda self: self.book is not None and self.book.phase is not Phase.CONTINUOUS)
    @rule(call=st.sampled_from(CALLS))
    def another_call_phase(self, call):
        self.ledger.apply_all(self.book.set_phase(call))

    @precondition(lambda self: self.book is not None and self.book.phase is not Phase.CONTINUOUS)
    @rule(go=st.integers(0, 2))
    def uncross_and_open(self, go):
        if go:  # let orders collect first
            return
        events = self.book.uncross()
        event(f"uncross with {'trades' if any(type(e) is Trade for e in events) else 'no trade'}")
        self._check_no_self_trade(events)
        assert all(e.aggressor is None for e in events if type(e) is Trade)
        prices = {e.price for e in events if type(e) is Trade}
        assert len(prices) <= 1, "one clearing price"
        if prices:
            assert self.book.reference_price == prices.pop()
        self.ledger.apply_all(events)
        self.ledger.apply_all(self.book.set_phase(Phase.CONTINUOUS))  # never raises after an uncross

    # ------------------------------------------------------------ invariants
    @invariant()
    def book_is_consistent(self):
        if self.book is None:
            return
        self.book.validate_internal_state()
        views = list(self.book.resting_orders())
        if self.book.phase is Phase.CONTINUOUS:
            bids = self.book.depth(Side.BUY, 1)
            asks = self.book.depth(Side.SELL, 1)
            assert not (bids and asks and bids[0].price >= asks[0].price), "crossed at rest"
            assert all(v.ord_type is OrdType.LIMIT for v in views)
        # levels in price order, time priority within a level
        for side in Side:
            limits = [v for v in views if v.side is side and v.price is not None]
            keys = [(-v.price if side is Side.BUY else v.price, v.priority) for v in limits]
            assert keys == sorted(keys) and len(set(keys)) == len(keys)
            depth = self.book.depth(side, 10_000)
            assert sum(level.qty for level in depth) == sum(v.leaves for v in limits)
            assert sum(level.count for level in depth) == len(limits)
        # the book agrees with the ledger built from events alone
        for v in views:
            rec = self.ledger.records[v.order_id]
            assert rec.status.is_open
            assert (rec.qty, rec.cum, rec.leaves, rec.price, rec.priority) == (
                v.qty,
                v.cum,
                v.leaves,
                v.price,
                v.priority,
            )
            assert v.leaves + v.cum == v.qty
        assert {r.order_id for r in self.ledger.open_records()} == {v.order_id for v in views}
        canceled = self.ledger.canceled
        for rec in self.ledger.records.values():
            assert rec.qty == rec.cum + rec.leaves + canceled[rec.order_id], rec.order_id
            if rec.status.is_closed:
                assert rec.leaves == 0

    def teardown(self):
        if self.book is not None:
            self.book.validate_internal_state()


class FastBookMachine(BookMachine):
    book_cls = FastBook


class NaiveBookMachine(BookMachine):
    book_cls = NaiveBook


_SETTINGS = settings(
    max_examples=100,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)

TestFastBookStateMachine = FastBookMachine.TestCase
TestFastBookStateMachine.settings = _SETTINGS
TestNaiveBookStateMachine = NaiveBookMachine.TestCase
TestNaiveBookStateMachine.settings = _SETTINGS
