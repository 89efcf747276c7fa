"""The OrdStatus transition table, the order record that moves through it (busts included) and the
ledger that applies book events through it."""

from __future__ import annotations

import pytest
from book_helpers import BUY, SELL, Accepted, BookReject, Canceled, CancelReason, Rejected, limit, sell_trade

from venue.book.errors import BookError, IllegalTransition, InconsistentEvent
from venue.book.lifecycle import BUSTS, TRANSITIONS, Transition, next_status
from venue.book.types import OrdStatus, OrdType, Replaced, Side, TimeInForce
from venue.orders import OrderLedger, OrderRecord

S = OrdStatus


def test_wire_codes():
    assert {s.name: s.value for s in OrdStatus} == {
        "PENDING_NEW": "A",
        "NEW": "0",
        "PARTIALLY_FILLED": "1",
        "FILLED": "2",
        "CANCELED": "4",
        "REJECTED": "8",
        "EXPIRED": "C",
    }


def test_open_and_closed():
    assert {s for s in OrdStatus if s.is_open} == {S.PENDING_NEW, S.NEW, S.PARTIALLY_FILLED}
    assert {s for s in OrdStatus if s.is_closed} == {S.FILLED, S.CANCELED, S.REJECTED, S.EXPIRED}


@pytest.mark.parametrize(
    "status, transition, expected",
    [
        (S.PENDING_NEW, Transition.ACCEPT, S.NEW),
        (S.PENDING_NEW, Transition.REJECT, S.REJECTED),
        (S.NEW, Transition.PARTIAL_FILL, S.PARTIALLY_FILLED),
        (S.NEW, Transition.FILL, S.FILLED),
        (S.PARTIALLY_FILLED, Transition.PARTIAL_FILL, S.PARTIALLY_FILLED),
        (S.PARTIALLY_FILLED, Transition.FILL, S.FILLED),
        (S.NEW, Transition.REPLACE, S.NEW),
        (S.PARTIALLY_FILLED, Transition.REPLACE, S.PARTIALLY_FILLED),
        (S.NEW, Transition.CANCEL, S.CANCELED),
        (S.PARTIALLY_FILLED, Transition.CANCEL, S.CANCELED),
        (S.NEW, Transition.EXPIRE, S.EXPIRED),
        (S.PARTIALLY_FILLED, Transition.EXPIRE, S.EXPIRED),
        (S.PARTIALLY_FILLED, Transition.BUST, S.PARTIALLY_FILLED),
        (S.PARTIALLY_FILLED, Transition.BUST_LAST_FILL, S.NEW),
        (S.FILLED, Transition.BUST, S.CANCELED),
        (S.FILLED, Transition.BUST_LAST_FILL, S.CANCELED),
        (S.CANCELED, Transition.BUST, S.CANCELED),
        (S.CANCELED, Transition.BUST_LAST_FILL, S.CANCELED),
        (S.EXPIRED, Transition.BUST, S.EXPIRED),
        (S.EXPIRED, Transition.BUST_LAST_FILL, S.EXPIRED),
    ],
)
def test_legal_transitions(status, transition, expected):
    assert next_status(1, status, transition) is expected


def test_everything_else_is_illegal_and_closed_states_are_terminal_but_for_busts():
    legal = set(TRANSITIONS)
    assert len(legal) == 20
    for status in OrdStatus:
        for transition in Transition:
            if (status, transition) in legal:
                continue
            with pytest.raises(IllegalTransition) as info:
                next_status(7, status, transition)
            assert info.value.order_id == 7 and isinstance(info.value, BookError)
    for status in OrdStatus:
        if status.is_closed:
            assert all(t in BUSTS for s, t in legal if s is status)
            assert all(TRANSITIONS[(status, t)].is_closed for t in BUSTS if (status, t) in legal)


def _record(status: OrdStatus, qty: int, cum: int) -> OrderRecord:
    return OrderRecord(
        order_id=9,
        comp_id="BRKA",
        member_id="BRKA",
        cl_ord_id="C9",
        account="A-1",
        symbol="ACME",
        side=Side.BUY,
        ord_type=OrdType.LIMIT,
        price=100,
        qty=qty,
        tif=TimeInForce.DAY,
        status=status,
        leaves=0 if status.is_closed else qty - cum,
        cum=cum,
        notional=cum * 100,
    )


@pytest.mark.parametrize(
    "status, qty, cum, busted, expected",
    [
        (S.PARTIALLY_FILLED, 10, 6, 4, S.PARTIALLY_FILLED),
        (S.PARTIALLY_FILLED, 10, 4, 4, S.NEW),
        (S.FILLED, 10, 10, 4, S.CANCELED),
        (S.FILLED, 10, 10, 10, S.CANCELED),
        (S.CANCELED, 10, 4, 4, S.CANCELED),
        (S.EXPIRED, 10, 6, 4, S.EXPIRED),
    ],
)
def test_a_bust_is_a_transition_of_the_record(status, qty, cum, busted, expected):
    rec = _record(status, qty, cum)
    rec.bust(busted, 100)
    assert (rec.status, rec.cum, rec.notional) == (expected, cum - busted, (cum - busted) * 100)


@pytest.mark.parametrize("status", [S.PENDING_NEW, S.NEW, S.REJECTED])
def test_a_bust_of_an_order_without_fills_is_illegal_and_changes_nothing(status):
    rec = _record(status, 10, 0)
    with pytest.raises(IllegalTransition):
        rec.bust(4, 100)
    assert (rec.status, rec.cum, rec.notional) == (status, 0, 0)


def test_ledger_follows_a_book(book):
    ledger = OrderLedger()
    orders = [limit(1, BUY, 100, 10), limit(2, SELL, 100, 4), limit(3, SELL, 101, 4)]
    for o in orders:
        ledger.submitted(o)
        ledger.apply_all(book.submit(o))
    ledger.apply_all(book.replace(1, 8, 100))
    ledger.apply_all(book.cancel(1, CancelReason.EXPIRED))
    ledger.apply_all(book.cancel(1))  # Rejected: no change
    r = ledger.records
    assert (r[1].status, r[1].qty, r[1].cum, r[1].leaves, ledger.canceled[1]) == (S.EXPIRED, 8, 4, 0, 4)
    assert (r[2].status, r[2].cum, r[2].leaves) == (S.FILLED, 4, 0)
    assert (r[3].status, r[3].leaves) == (S.NEW, 4)
    assert [x.order_id for x in ledger.open_records()] == [3]


def test_ledger_rejected_new_order():
    ledger = OrderLedger()
    ledger.submitted(limit(5, BUY, 100, 10))
    ledger.apply(Rejected(5, BookReject.PRICE_BAND))
    assert ledger.records[5].status is S.REJECTED and ledger.records[5].leaves == 0


def test_ledger_catches_inconsistent_events():
    ledger = OrderLedger()
    ledger.submitted(limit(1, BUY, 100, 10))
    ledger.submitted(limit(2, SELL, 100, 10))
    ledger.apply(Accepted(1, 1))
    ledger.apply(Accepted(2, 2))
    with pytest.raises(InconsistentEvent):
        ledger.apply(sell_trade(1, 2, 100, 3, 6, 7))  # buy leaves should be 7
    with pytest.raises(InconsistentEvent):
        ledger.apply(Canceled(1, 9, CancelReason.REQUESTED))
    with pytest.raises(InconsistentEvent):
        ledger.apply(Replaced(1, 10, 100, 9, 3, True))
    ledger.apply(Canceled(1, 10, CancelReason.REQUESTED))
    with pytest.raises(IllegalTransition):
        ledger.apply(Accepted(1, 1))
    with pytest.raises(InconsistentEvent):
        ledger.apply(sell_trade(1, 2, 100, 1, 0, 9))  # order 1 has no leaves left
