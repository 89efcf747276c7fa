"""Trading phases and the call-auction uncross, hand-computed, run against both books."""

from __future__ import annotations

import pytest
from book_helpers import (
    BOTH,
    BUY,
    FOK,
    GTC,
    INCOMING,
    IOC,
    RESTING,
    SELL,
    Accepted,
    BookReject,
    Canceled,
    CancelReason,
    Rejected,
    auction_trade,
    ids,
    leaves,
    limit,
    market,
    sell_trade,
)

from venue.book.base import BookConfig
from venue.book.errors import BookStateError
from venue.book.types import Level, Phase, Replaced

CALL_PHASES = [Phase.PRE_OPEN, Phase.OPENING_AUCTION, Phase.HALTED, Phase.PERIODIC_AUCTION]


# ---------------------------------------------------------------- CLOSED
def test_closed_refuses_orders_and_replaces_but_cancels(new_book):
    book = new_book(phase=Phase.PRE_OPEN)
    book.submit(limit(1, BUY, 100, 10))
    assert book.set_phase(Phase.CLOSED) == []
    assert book.phase is Phase.CLOSED
    assert book.submit(limit(2, BUY, 100, 10)) == [Rejected(2, BookReject.NOT_ACCEPTED_IN_PHASE)]
    assert book.submit(market(3, SELL, 10)) == [Rejected(3, BookReject.NOT_ACCEPTED_IN_PHASE)]
    assert book.replace(1, 5, 100) == [Rejected(1, BookReject.NOT_ACCEPTED_IN_PHASE)]
    assert book.replace(9, 5, 100) == [Rejected(9, BookReject.UNKNOWN_ORDER)]
    assert book.cancel(1) == [Canceled(1, 10, CancelReason.REQUESTED)]


# ---------------------------------------------------------------- call phases
@pytest.mark.parametrize("phase", CALL_PHASES)
def test_call_phase_collects_without_matching(new_book, phase):
    book = new_book(phase=phase)
    assert book.phase is phase
    assert book.submit(limit(1, BUY, 105, 10)) == [Accepted(1, 1)]
    assert book.submit(limit(2, SELL, 95, 10)) == [Accepted(2, 2)]
    assert book.submit(market(3, SELL, 4)) == [Accepted(3, 3)]
    assert book.submit(market(4, BUY, 4, tif=GTC)) == [Accepted(4, 4)]
    assert ids(book) == [4, 1, 3, 2]  # market orders first on their side
    assert book.depth(BUY, 5) == [Level(105, 10, 1)]
    assert book.depth(SELL, 5) == [Level(95, 10, 1)]
    # a replace that crosses does not trade either
    assert book.replace(2, 10, 90) == [Replaced(2, 10, 90, 10, 5, True)]
    assert book.replace(3, 2, None) == [Rejected(3, BookReject.REPLACE_NOT_RESTING)]
    assert book.cancel(4) == [Canceled(4, 4, CancelReason.REQUESTED)]


@pytest.mark.parametrize("phase", CALL_PHASES)
@pytest.mark.parametrize(
    "order",
    [
        limit(1, BUY, 100, 10, tif=IOC),
        limit(1, BUY, 100, 10, tif=FOK),
        limit(1, BUY, 100, 10, min_qty=1),
        market(1, BUY, 10, tif=IOC),
    ],
    ids=["IOC", "FOK", "MinQty", "market-IOC"],
)
def test_call_phase_refuses_immediate_orders(new_book, phase, order):
    book = new_book(phase=phase)
    assert book.submit(order) == [Rejected(1, BookReject.NOT_ACCEPTED_IN_PHASE)]
    assert book.submit(limit(2, BUY, 100, 1)) == [Accepted(2, 1)]


def test_call_phase_keeps_gates(new_book):
    book = new_book(BookConfig(reference_price=100, band_bps=1000), phase=Phase.PRE_OPEN)
    book.submit(limit(1, BUY, 100, 1))
    assert book.submit(limit(1, BUY, 100, 1)) == [Rejected(1, BookReject.DUPLICATE_ORDER_ID)]
    assert book.submit(limit(2, BUY, 111, 1)) == [Rejected(2, BookReject.PRICE_BAND)]
    assert book.submit(limit(3, SELL, 89, 1)) == [Rejected(3, BookReject.PRICE_BAND)]


def test_continuous_refused_on_a_crossed_book_until_uncross(new_book):
    book = new_book(phase=Phase.PRE_OPEN)
    book.submit(limit(1, BUY, 101, 5))
    book.submit(limit(2, SELL, 100, 3))
    with pytest.raises(BookStateError):
        book.set_phase(Phase.CONTINUOUS)
    assert book.phase is Phase.PRE_OPEN
    assert ids(book) == [1, 2]
    # leaving for another call phase or CLOSED is fine: nothing matches there
    assert book.set_phase(Phase.OPENING_AUCTION) == []
    assert book.uncross() == [auction_trade(1, 2, 100, 3, 2, 0)]
    assert book.set_phase(Phase.CONTINUOUS) == []
    assert book.phase is Phase.CONTINUOUS
    assert book.submit(limit(3, SELL, 101, 2)) == [Accepted(3, 3), sell_trade(1, 3, 101, 2, 0, 0)]


def test_leaving_call_phases_cancels_market_orders_in_priority_order(new_book):
    book = new_book(phase=Phase.PRE_OPEN)
    book.submit(market(1, SELL, 4))
    book.submit(limit(2, BUY, 100, 10))
    book.submit(market(3, BUY, 6))
    book.submit(market(4, SELL, 5))
    # between call phases they stay
    assert book.set_phase(Phase.HALTED) == []
    assert ids(book) == [3, 2, 1, 4]
    assert book.set_phase(Phase.CONTINUOUS) == [
        Canceled(1, 4, CancelReason.MARKET_NO_LIQUIDITY),
        Canceled(3, 6, CancelReason.MARKET_NO_LIQUIDITY),
        Canceled(4, 5, CancelReason.MARKET_NO_LIQUIDITY),
    ]
    assert ids(book) == [2]


def test_closing_cancels_market_orders(new_book):
    book = new_book(phase=Phase.PERIODIC_AUCTION)
    book.submit(market(1, BUY, 4))
    assert book.set_phase(Phase.CLOSED) == [Canceled(1, 4, CancelReason.MARKET_NO_LIQUIDITY)]


def test_phase_round_trip_without_crossing_emits_nothing(book):
    book.submit(limit(1, BUY, 100, 1))
    book.submit(limit(2, SELL, 101, 1))
    assert book.set_phase(Phase.HALTED) == []
    assert book.set_phase(Phase.CONTINUOUS) == []
    assert book.uncross() == []  # nothing crosses in continuous trading
    assert ids(book) == [1, 2]


# ---------------------------------------------------------------- uncross: clearing price
def _example_a(book):
    """Buys 102x5, 101x10, 100x10; sells 99x8, 100x7, 101x10.

    price  demand  supply  volume  imbalance
      99      25       8       8      +17
     100      25      15      15      +10
     101      15      25      15      -10
     102       5      25       5      -20
    Volume and |imbalance| tie at 100 and 101: the reference price decides.
    """
    for o in [
        limit(1, BUY, 102, 5),
        limit(2, BUY, 101, 10),
        limit(3, BUY, 100, 10),
        limit(4, SELL, 99, 8),
        limit(5, SELL, 100, 7),
        limit(6, SELL, 101, 10),
    ]:
        assert book.submit(o)[0] == Accepted(o.order_id, o.order_id)


def test_uncross_tie_without_reference_takes_lowest_price(new_book):
    book = new_book(phase=Phase.OPENING_AUCTION)
    _example_a(book)
    assert book.uncross() == [
        auction_trade(1, 4, 100, 5, 0, 3),
        auction_trade(2, 4, 100, 3, 7, 0),
        auction_trade(2, 5, 100, 7, 0, 0),
    ]
    assert leaves(book) == {3: 10, 6: 10}
    assert book.reference_price == 100
    assert book.set_phase(Phase.CONTINUOUS) == []


@pytest.mark.parametrize("reference, price", [(103, 101), (101, 101), (100, 100), (50, 100)])
def test_uncross_tie_broken_by_reference_price(new_book, reference, price):
    book = new_book(BookConfig(reference_price=reference), phase=Phase.OPENING_AUCTION)
    _example_a(book)
    assert book.uncross() == [
        auction_trade(1, 4, price, 5, 0, 3),
        auction_trade(2, 4, price, 3, 7, 0),
        auction_trade(2, 5, price, 7, 0, 0),
    ]
    assert book.reference_price == price


def test_uncross_reference_equidistant_takes_lowest(new_book):
    # candidates 100 and 102 tie on volume and imbalance; reference 101 is 1 from both
    book = new_book(BookConfig(reference_price=101), phase=Phase.PRE_OPEN)
    book.submit(limit(1, BUY, 102, 5))
    book.submit(limit(2, SELL, 100, 5))
    assert book.uncross() == [auction_trade(1, 2, 100, 5, 0, 0)]


def test_uncross_imbalance_beats_reference(new_book):
    """Buys 101x10, 100x2; sells 100x10, 101x5.

    price  demand  supply  volume  imbalance
     100      12      10      10       +2
     101      10      15      10       -5
    Equal volume; 100 has the smaller imbalance although the reference is 101.
    """
    book = new_book(BookConfig(reference_price=101), phase=Phase.PRE_OPEN)
    for o in [limit(1, BUY, 101, 10), limit(2, BUY, 100, 2), limit(3, SELL, 100, 10), limit(4, SELL, 101, 5)]:
        book.submit(o)
    assert book.uncross() == [auction_trade(1, 3, 100, 10, 0, 0)]
    assert leaves(book) == {2: 2, 4: 5}
    assert book.reference_price == 100


def test_uncross_maximises_volume(new_book):
    """Buys 105x3, 103x4, 101x6; sells 100x5, 102x5, 104x5.

    price  demand  supply  volume
     100      13       5       5
     101      13       5       5
     102       7      10       7   <- most volume
     103       7      10       7   (same volume and |imbalance| 3: lowest wins, no reference)
     104       3      15       3
     105       3      15       3
    """
    book = new_book(phase=Phase.PRE_OPEN)
    for o in [
        limit(1, BUY, 105, 3),
        limit(2, BUY, 103, 4),
        limit(3, BUY, 101, 6),
        limit(4, SELL, 100, 5),
        limit(5, SELL, 102, 5),
        limit(6, SELL, 104, 5),
    ]:
        book.submit(o)
    assert book.uncross() == [
        auction_trade(1, 4, 102, 3, 0, 2),
        auction_trade(2, 4, 102, 2, 2, 0),
        auction_trade(2, 5, 102, 2, 0, 3),
    ]
    assert leaves(book) == {3: 6, 5: 3, 6: 5}
    book.set_phase(Phase.CONTINUOUS)


def test_uncross_time_priority_within_price(new_book):
    book = new_book(phase=Phase.PRE_OPEN)
    book.submit(limit(1, BUY, 100, 5))
    book.submit(limit(2, BUY, 100, 5))
    book.submit(limit(3, SELL, 100, 7))
    assert book.uncross() == [auction_trade(1, 3, 100, 5, 0, 2), auction_trade(2, 3, 100, 2, 3, 0)]


def test_uncross_market_orders_first_and_remainder_canceled(new_book):
    """Market buy 20, buy 100x10; sell 99x8, market sell 3.

    price  demand  supply  volume  imbalance
      99      30      11      11      +19
     100      30      11      11      +19
    Tie: reference 100 decides. Market orders are allocated first on each side.
    """
    book = new_book(BookConfig(reference_price=100), phase=Phase.PRE_OPEN)
    book.submit(market(1, BUY, 20))
    book.submit(limit(2, BUY, 100, 10))
    book.submit(limit(3, SELL, 99, 8))
    book.submit(market(4, SELL, 3))
    assert book.uncross() == [
        auction_trade(1, 4, 100, 3, 17, 0),
        auction_trade(1, 3, 100, 8, 9, 0),
        Canceled(1, 9, CancelReason.MARKET_NO_LIQUIDITY),
    ]
    assert leaves(book) == {2: 10}


def test_uncross_market_orders_only_trade_at_reference(new_book):
    book = new_book(BookConfig(reference_price=50), phase=Phase.PRE_OPEN)
    book.submit(market(1, BUY, 5))
    book.submit(market(2, SELL, 3))
    assert book.uncross() == [auction_trade(1, 2, 50, 3, 2, 0), Canceled(1, 2, CancelReason.MARKET_NO_LIQUIDITY)]


def test_uncross_market_orders_only_without_reference_do_not_trade(new_book):
    book = new_book(phase=Phase.PRE_OPEN)
    book.submit(market(1, BUY, 5))
    book.submit(market(2, SELL, 3))
    assert book.uncross() == [
        Canceled(1, 5, CancelReason.MARKET_NO_LIQUIDITY),
        Canceled(2, 3, CancelReason.MARKET_NO_LIQUIDITY),
    ]
    assert book.reference_price is None


def test_uncross_with_nothing_crossing_keeps_reference(new_book):
    book = new_book(BookConfig(reference_price=77), phase=Phase.PRE_OPEN)
    book.submit(limit(1, BUY, 100, 5))
    book.submit(limit(2, SELL, 101, 5))
    assert book.uncross() == []
    assert book.reference_price == 77
    assert ids(book) == [1, 2]


# ---------------------------------------------------------------- uncross: self-match
def _smp_book(new_book, smp):
    """Buys A 100x10 (p1), C 98x5 (p2); sells A 97x10 (p3, instruction `smp`), B 100x10 (p4).

    First price: 97 (volume 10 at 97, 98 and 100; |imbalance| 5 at 97 and 98; lowest). At 97
    the first pair is A against A: the later order (3) decides with its own SMP instruction.
    Skipping the pair instead would trade C 98 against A 97 at 97 and leave A 100 crossing B 100.
    """
    book = new_book(phase=Phase.PRE_OPEN)
    book.submit(limit(1, BUY, 100, 10, account="A"))
    book.submit(limit(2, BUY, 98, 5, account="C"))
    book.submit(limit(3, SELL, 97, 10, account="A", smp=smp))
    book.submit(limit(4, SELL, 100, 10, account="B"))
    return book


def test_uncross_self_match_cancel_incoming_cancels_later_order(new_book):
    book = _smp_book(new_book, INCOMING)
    # after canceling 3: buys A 100x10, C 98x5 against B 100x10 -> 100
    assert book.uncross() == [Canceled(3, 10, CancelReason.SELF_MATCH), auction_trade(1, 4, 100, 10, 0, 0)]
    assert leaves(book) == {2: 5}
    assert book.set_phase(Phase.CONTINUOUS) == []


def test_uncross_self_match_cancel_resting_cancels_earlier_order(new_book):
    book = _smp_book(new_book, RESTING)
    # after canceling 1: buy C 98x5 against A 97x10, B 100x10 -> volume 5 at 97 and 98, lowest
    assert book.uncross() == [Canceled(1, 10, CancelReason.SELF_MATCH), auction_trade(2, 3, 97, 5, 0, 5)]
    assert leaves(book) == {3: 5, 4: 10}
    assert book.set_phase(Phase.CONTINUOUS) == []


def test_uncross_self_match_cancel_both(new_book):
    book = _smp_book(new_book, BOTH)
    assert book.uncross() == [Canceled(1, 10, CancelReason.SELF_MATCH), Canceled(3, 10, CancelReason.SELF_MATCH)]
    assert leaves(book) == {2: 5, 4: 10}
    assert book.reference_price is None
    assert book.set_phase(Phase.CONTINUOUS) == []


def test_uncross_self_match_then_price_recomputed(new_book):
    book = new_book(phase=Phase.PRE_OPEN)
    book.submit(limit(1, BUY, 100, 5, account="A"))
    book.submit(limit(2, SELL, 100, 5, account="B"))
    book.submit(limit(3, BUY, 99, 5, account="B"))
    book.submit(limit(4, SELL, 99, 5, account="A"))
    # 99: demand 10, supply 5 -> 5 (+5); 100: demand 5, supply 10 -> 5 (-5). Lowest: 99.
    # At 99 buy 1 (A, 100) meets sell 4 (A, 99): 4 is later and cancels itself (CANCEL_INCOMING).
    # Again without 4: 99 has no supply; 100: 5 against 5.
    assert book.uncross() == [Canceled(4, 5, CancelReason.SELF_MATCH), auction_trade(1, 2, 100, 5, 0, 0)]
    assert leaves(book) == {3: 5}


def test_continuous_after_auction_is_normal(new_book):
    book = new_book(BookConfig(reference_price=100, band_bps=500), phase=Phase.OPENING_AUCTION)
    book.submit(limit(1, BUY, 104, 5))
    book.submit(limit(2, SELL, 103, 5))
    assert book.uncross() == [auction_trade(1, 2, 103, 5, 0, 0)]
    book.set_phase(Phase.CONTINUOUS)
    assert book.reference_price == 103
    assert book.submit(limit(3, BUY, 109, 1)) == [Rejected(3, BookReject.PRICE_BAND)]  # 103 * 1.05 = 108.15
    assert book.submit(limit(4, BUY, 108, 1)) == [Accepted(4, 3)]
    assert book.submit(limit(5, SELL, 108, 1)) == [Accepted(5, 4), sell_trade(4, 5, 108, 1, 0, 0)]


@pytest.mark.parametrize("phase", CALL_PHASES)
def test_crossing_is_empty_in_a_call_phase(new_book, phase):
    book = new_book(phase=phase)
    book.submit(limit(1, SELL, 100, 5))
    assert book.crossing(BUY, 101, "X", 5) == []
