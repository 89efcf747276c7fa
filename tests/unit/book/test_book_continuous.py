"""Continuous trading rules, hand-checked, run against both books (fixture `book_cls`)."""

from __future__ import annotations

import pytest
from book_helpers import (
    BOTH,
    BUY,
    FOK,
    GTC,
    GTD,
    INCOMING,
    IOC,
    RESTING,
    SELL,
    Accepted,
    BookReject,
    Canceled,
    CancelReason,
    Rejected,
    buy_trade,
    ids,
    leaves,
    limit,
    market,
    sell_trade,
)

from venue.book.base import BookConfig
from venue.book.types import Level, NewOrder, OrderView, OrdType, Replaced, TimeInForce


# ---------------------------------------------------------------- entry, resting, priority
def test_order_rests_with_increasing_priorities(book):
    assert book.submit(limit(1, BUY, 100, 10)) == [Accepted(1, 1)]
    assert book.submit(limit(2, SELL, 105, 7)) == [Accepted(2, 2)]
    assert book.submit(limit(3, BUY, 101, 5)) == [Accepted(3, 3)]
    assert book.get(1) == OrderView(1, "acct1", BUY, OrdType.LIMIT, 100, 10, 10, 0, TimeInForce.DAY, 1)
    assert book.get(99) is None
    assert ids(book) == [3, 1, 2]


def test_depth_aggregates_levels_best_first(book):
    for oid, side, price, qty in [
        (1, BUY, 100, 10),
        (2, BUY, 100, 5),
        (3, BUY, 99, 1),
        (4, BUY, 98, 2),
        (5, SELL, 103, 4),
        (6, SELL, 102, 6),
        (7, SELL, 102, 1),
    ]:
        book.submit(limit(oid, side, price, qty))
    assert book.depth(BUY, 2) == [Level(100, 15, 2), Level(99, 1, 1)]
    assert book.depth(SELL, 5) == [Level(102, 7, 2), Level(103, 4, 1)]
    assert book.depth(SELL, 0) == []


def test_resting_orders_bids_then_asks_in_priority(book):
    for oid, side, price in [(1, SELL, 105), (2, BUY, 99), (3, SELL, 104), (4, BUY, 100), (5, BUY, 99), (6, SELL, 104)]:
        book.submit(limit(oid, side, price, 1))
    assert ids(book) == [4, 2, 5, 3, 6, 1]


def test_duplicate_live_order_id_is_rejected(book):
    book.submit(limit(1, BUY, 100, 10))
    assert book.submit(limit(1, SELL, 101, 3)) == [Rejected(1, BookReject.DUPLICATE_ORDER_ID)]
    assert ids(book) == [1]
    # a rejected command takes no priority
    assert book.submit(limit(2, BUY, 100, 1)) == [Accepted(2, 2)]


@pytest.mark.parametrize(
    "order",
    [
        NewOrder(1, "a", BUY, OrdType.LIMIT, 100, 0, TimeInForce.DAY),
        NewOrder(1, "a", BUY, OrdType.LIMIT, None, 5, TimeInForce.DAY),
        NewOrder(1, "a", BUY, OrdType.LIMIT, 0, 5, TimeInForce.DAY),
        NewOrder(1, "a", BUY, OrdType.MARKET, 100, 5, TimeInForce.DAY),
        NewOrder(1, "a", BUY, OrdType.LIMIT, 100, 5, TimeInForce.DAY, min_qty=6),
        NewOrder(1, "a", BUY, OrdType.LIMIT, 100, 5, TimeInForce.DAY, min_qty=-1),
    ],
    ids=["zero-qty", "limit-without-price", "zero-price", "market-with-price", "minqty-above-qty", "negative-minqty"],
)
def test_malformed_orders_raise(book, order):
    with pytest.raises(ValueError):
        book.submit(order)
    assert ids(book) == []


# ---------------------------------------------------------------- matching
def test_trade_at_resting_price_in_price_then_time_priority(book):
    book.submit(limit(1, SELL, 101, 5))
    book.submit(limit(2, SELL, 100, 5))
    book.submit(limit(3, SELL, 100, 5))
    events = book.submit(limit(4, BUY, 102, 12))
    assert events == [
        Accepted(4, 4),
        buy_trade(4, 2, 100, 5, 7, 0),
        buy_trade(4, 3, 100, 5, 2, 0),
        buy_trade(4, 1, 101, 2, 0, 3),
    ]
    assert leaves(book) == {1: 3}
    assert book.get(1).cum == 2


def test_sell_aggressor_partial_fill_rests_remainder(book):
    book.submit(limit(1, BUY, 100, 4))
    book.submit(limit(2, BUY, 99, 4))
    events = book.submit(limit(3, SELL, 100, 10))
    assert events == [Accepted(3, 3), sell_trade(1, 3, 100, 4, 0, 6)]
    view = book.get(3)
    assert (view.price, view.qty, view.leaves, view.cum) == (100, 10, 6, 4)
    assert ids(book) == [2, 3]


def test_limit_does_not_trade_through_its_price(book):
    book.submit(limit(1, SELL, 101, 5))
    assert book.submit(limit(2, BUY, 100, 5)) == [Accepted(2, 2)]
    assert ids(book) == [2, 1]


def test_market_order_sweeps_and_cancels_remainder(book):
    book.submit(limit(1, SELL, 100, 3))
    book.submit(limit(2, SELL, 150, 3))
    events = book.submit(market(3, BUY, 10))
    assert events == [
        Accepted(3, 3),
        buy_trade(3, 1, 100, 3, 7, 0),
        buy_trade(3, 2, 150, 3, 4, 0),
        Canceled(3, 4, CancelReason.MARKET_NO_LIQUIDITY),
    ]
    assert ids(book) == []


def test_market_order_into_empty_side_never_rests(book):
    book.submit(limit(1, BUY, 100, 3))
    assert book.submit(market(2, BUY, 5, tif=GTC)) == [Accepted(2, 2), Canceled(2, 5, CancelReason.MARKET_NO_LIQUIDITY)]
    assert ids(book) == [1]


def test_market_ioc_remainder_is_a_market_cancel(book):
    book.submit(limit(1, BUY, 100, 3))
    assert book.submit(market(2, SELL, 5, tif=IOC)) == [
        Accepted(2, 2),
        sell_trade(1, 2, 100, 3, 0, 2),
        Canceled(2, 2, CancelReason.MARKET_NO_LIQUIDITY),
    ]


def test_ioc_remainder_canceled_and_full_ioc_fill(book):
    book.submit(limit(1, SELL, 100, 5))
    assert book.submit(limit(2, BUY, 100, 8, tif=IOC)) == [
        Accepted(2, 2),
        buy_trade(2, 1, 100, 5, 3, 0),
        Canceled(2, 3, CancelReason.IOC_REMAINDER),
    ]
    book.submit(limit(3, SELL, 100, 5))
    assert book.submit(limit(4, BUY, 100, 5, tif=IOC)) == [Accepted(4, 4), buy_trade(4, 3, 100, 5, 0, 0)]
    assert book.submit(limit(5, BUY, 100, 5, tif=IOC)) == [Accepted(5, 5), Canceled(5, 5, CancelReason.IOC_REMAINDER)]
    assert ids(book) == []


@pytest.mark.parametrize("tif", [TimeInForce.DAY, GTC, GTD])
def test_resting_tifs_rest_alike(book, tif):
    book.submit(limit(1, SELL, 100, 5))
    assert book.submit(limit(2, BUY, 100, 8, tif=tif)) == [Accepted(2, 2), buy_trade(2, 1, 100, 5, 3, 0)]
    assert book.get(2).tif is tif and book.get(2).leaves == 3


# ---------------------------------------------------------------- FOK and MinQty
def test_fok_unfilled_makes_no_trades(book):
    book.submit(limit(1, SELL, 100, 5))
    book.submit(limit(2, SELL, 101, 4))
    book.submit(limit(3, SELL, 102, 100))
    assert book.submit(limit(4, BUY, 101, 10, tif=FOK)) == [Accepted(4, 4), Canceled(4, 10, CancelReason.FOK_UNFILLED)]
    assert leaves(book) == {1: 5, 2: 4, 3: 100}


def test_fok_fills_in_full_across_levels(book):
    book.submit(limit(1, SELL, 100, 5))
    book.submit(limit(2, SELL, 101, 4))
    assert book.submit(limit(3, BUY, 101, 9, tif=FOK)) == [
        Accepted(3, 3),
        buy_trade(3, 1, 100, 5, 4, 0),
        buy_trade(3, 2, 101, 4, 0, 0),
    ]
    assert ids(book) == []


def test_market_fok(book):
    book.submit(limit(1, BUY, 100, 5))
    assert book.submit(market(2, SELL, 6, tif=FOK)) == [Accepted(2, 2), Canceled(2, 6, CancelReason.FOK_UNFILLED)]
    assert book.submit(market(3, SELL, 5, tif=FOK)) == [Accepted(3, 3), sell_trade(1, 3, 100, 5, 0, 0)]


def test_fok_does_not_count_own_account(book):
    book.submit(limit(1, SELL, 100, 5, account="me"))
    book.submit(limit(2, SELL, 100, 5, account="other"))
    events = book.submit(limit(3, BUY, 100, 10, account="me", tif=FOK, smp=RESTING))
    assert events == [Accepted(3, 3), Canceled(3, 10, CancelReason.FOK_UNFILLED)]
    assert leaves(book) == {1: 5, 2: 5}


def test_fok_with_cancel_resting_skips_own_order_and_fills(book):
    book.submit(limit(1, SELL, 100, 5, account="me"))
    book.submit(limit(2, SELL, 100, 5, account="other"))
    events = book.submit(limit(3, BUY, 100, 5, account="me", tif=FOK, smp=RESTING))
    assert events == [Accepted(3, 3), Canceled(1, 5, CancelReason.SELF_MATCH), buy_trade(3, 2, 100, 5, 0, 0)]
    assert ids(book) == []


def test_fok_counts_only_up_to_own_order_when_smp_cancels_incoming(book):
    # With CANCEL_INCOMING matching would stop at order 2, so only 5 can execute: FOK of 8 fails
    # instead of filling 5 and canceling 3.
    book.submit(limit(1, SELL, 100, 5, account="other"))
    book.submit(limit(2, SELL, 100, 5, account="me"))
    book.submit(limit(3, SELL, 100, 5, account="other"))
    assert book.submit(limit(4, BUY, 100, 8, account="me", tif=FOK)) == [
        Accepted(4, 4),
        Canceled(4, 8, CancelReason.FOK_UNFILLED),
    ]
    assert book.submit(limit(5, BUY, 100, 5, account="me", tif=FOK)) == [Accepted(5, 5), buy_trade(5, 1, 100, 5, 0, 0)]
    assert leaves(book) == {2: 5, 3: 5}


def test_min_qty_unavailable_cancels_whole_order(book):
    book.submit(limit(1, SELL, 100, 3))
    book.submit(limit(2, SELL, 102, 10))
    assert book.submit(limit(3, BUY, 101, 10, min_qty=4)) == [
        Accepted(3, 3),
        Canceled(3, 10, CancelReason.MIN_QTY_UNAVAILABLE),
    ]
    assert leaves(book) == {1: 3, 2: 10}


def test_min_qty_without_any_liquidity(book):
    assert book.submit(limit(1, BUY, 101, 10, min_qty=1)) == [
        Accepted(1, 1),
        Canceled(1, 10, CancelReason.MIN_QTY_UNAVAILABLE),
    ]


def test_min_qty_met_then_remainder_rests(book):
    book.submit(limit(1, SELL, 100, 3))
    book.submit(limit(2, SELL, 101, 2))
    assert book.submit(limit(3, BUY, 101, 10, min_qty=5)) == [
        Accepted(3, 3),
        buy_trade(3, 1, 100, 3, 7, 0),
        buy_trade(3, 2, 101, 2, 5, 0),
    ]
    assert book.get(3).leaves == 5
    # MinQty is checked on entry only: the resting remainder trades in any size
    assert book.submit(limit(4, SELL, 101, 1)) == [Accepted(4, 4), sell_trade(3, 4, 101, 1, 4, 0)]


def test_min_qty_with_ioc_cancels_remainder(book):
    book.submit(limit(1, SELL, 100, 6))
    assert book.submit(limit(2, BUY, 100, 10, min_qty=5, tif=IOC)) == [
        Accepted(2, 2),
        buy_trade(2, 1, 100, 6, 4, 0),
        Canceled(2, 4, CancelReason.IOC_REMAINDER),
    ]


# ---------------------------------------------------------------- self-match prevention
def test_smp_cancel_incoming_keeps_earlier_trades(book):
    book.submit(limit(1, SELL, 100, 5, account="other"))
    book.submit(limit(2, SELL, 100, 5, account="me"))
    book.submit(limit(3, SELL, 100, 5, account="other"))
    assert book.submit(limit(4, BUY, 100, 12, account="me", smp=INCOMING)) == [
        Accepted(4, 4),
        buy_trade(4, 1, 100, 5, 7, 0),
        Canceled(4, 7, CancelReason.SELF_MATCH),
    ]
    assert leaves(book) == {2: 5, 3: 5}


def test_smp_cancel_resting_continues_matching(book):
    book.submit(limit(1, SELL, 100, 5, account="me"))
    book.submit(limit(2, SELL, 101, 5, account="other"))
    book.submit(limit(3, SELL, 101, 5, account="me"))
    book.submit(limit(4, SELL, 102, 5, account="other"))
    assert book.submit(limit(5, BUY, 102, 12, account="me", smp=RESTING)) == [
        Accepted(5, 5),
        Canceled(1, 5, CancelReason.SELF_MATCH),
        buy_trade(5, 2, 101, 5, 7, 0),
        Canceled(3, 5, CancelReason.SELF_MATCH),
        buy_trade(5, 4, 102, 5, 2, 0),
    ]
    assert ids(book) == [5] and book.get(5).leaves == 2


def test_smp_cancel_both(book):
    book.submit(limit(1, BUY, 100, 5, account="other"))
    book.submit(limit(2, BUY, 100, 5, account="me"))
    book.submit(limit(3, BUY, 100, 5, account="other"))
    assert book.submit(limit(4, SELL, 100, 20, account="me", smp=BOTH)) == [
        Accepted(4, 4),
        sell_trade(1, 4, 100, 5, 0, 15),
        Canceled(2, 5, CancelReason.SELF_MATCH),
        Canceled(4, 15, CancelReason.SELF_MATCH),
    ]
    assert leaves(book) == {3: 5}


def test_smp_only_when_the_orders_would_trade(book):
    book.submit(limit(1, SELL, 101, 5, account="me"))
    assert book.submit(limit(2, BUY, 100, 5, account="me")) == [Accepted(2, 2)]
    assert ids(book) == [2, 1]


def test_smp_market_order(book):
    book.submit(limit(1, SELL, 100, 5, account="me"))
    assert book.submit(market(2, BUY, 5, account="me")) == [Accepted(2, 2), Canceled(2, 5, CancelReason.SELF_MATCH)]
    assert ids(book) == [1]


# ---------------------------------------------------------------- cancel
def test_cancel(book):
    book.submit(limit(1, BUY, 100, 10))
    book.submit(limit(2, SELL, 100, 4))
    assert book.cancel(1) == [Canceled(1, 6, CancelReason.REQUESTED)]
    assert book.cancel(1) == [Rejected(1, BookReject.UNKNOWN_ORDER)]
    assert book.cancel(2) == [Rejected(2, BookReject.UNKNOWN_ORDER)]  # filled, gone
    assert book.cancel(77) == [Rejected(77, BookReject.UNKNOWN_ORDER)]
    assert ids(book) == []


def test_cancel_with_reason_and_middle_of_queue(book):
    for oid in (1, 2, 3):
        book.submit(limit(oid, BUY, 100, oid))
    assert book.cancel(2, CancelReason.EXPIRED) == [Canceled(2, 2, CancelReason.EXPIRED)]
    assert ids(book) == [1, 3]
    assert book.depth(BUY, 1) == [Level(100, 4, 2)]
    assert book.submit(limit(4, SELL, 100, 4)) == [
        Accepted(4, 4),
        sell_trade(1, 4, 100, 1, 0, 3),
        sell_trade(3, 4, 100, 3, 0, 0),
    ]


# ---------------------------------------------------------------- replace
def _queue_of_three(book):
    for oid in (1, 2, 3):
        book.submit(limit(oid, BUY, 100, 10))


def test_replace_decrease_keeps_priority(book):
    _queue_of_three(book)
    assert book.replace(1, 4, 100) == [Replaced(1, 4, 100, 4, 1, False)]
    assert ids(book) == [1, 2, 3]
    assert book.submit(limit(4, SELL, 100, 5)) == [
        Accepted(4, 4),
        sell_trade(1, 4, 100, 4, 0, 1),
        sell_trade(2, 4, 100, 1, 9, 0),
    ]


def test_replace_same_qty_and_price_keeps_priority(book):
    _queue_of_three(book)
    assert book.replace(2, 10, None) == [Replaced(2, 10, 100, 10, 2, False)]
    assert ids(book) == [1, 2, 3]


def test_replace_increase_loses_priority(book):
    _queue_of_three(book)
    assert book.replace(1, 11, 100) == [Replaced(1, 11, 100, 11, 4, True)]
    assert ids(book) == [2, 3, 1]
    assert book.submit(limit(5, BUY, 100, 1)) == [Accepted(5, 5)]  # the counter went on


def test_replace_price_change_loses_priority(book):
    _queue_of_three(book)
    book.submit(limit(4, BUY, 99, 10))
    assert book.replace(1, 10, 99) == [Replaced(1, 10, 99, 10, 5, True)]
    assert ids(book) == [2, 3, 4, 1]
    assert book.replace(4, 10, 101) == [Replaced(4, 10, 101, 10, 6, True)]
    assert ids(book) == [4, 2, 3, 1]


def test_replace_qty_is_new_total_against_cum(book):
    book.submit(limit(1, BUY, 100, 10))
    book.submit(limit(2, SELL, 100, 6))
    assert book.replace(1, 6, 100) == [Rejected(1, BookReject.REPLACE_QTY_NOT_ABOVE_CUM)]
    assert book.replace(1, 5, 100) == [Rejected(1, BookReject.REPLACE_QTY_NOT_ABOVE_CUM)]
    assert book.replace(1, 7, 100) == [Replaced(1, 7, 100, 1, 1, False)]
    assert book.get(1) == OrderView(1, "acct1", BUY, OrdType.LIMIT, 100, 7, 1, 6, TimeInForce.DAY, 1)
    assert book.replace(1, 20, None) == [Replaced(1, 20, 100, 14, 3, True)]


def test_replace_unknown(book):
    assert book.replace(5, 10, 100) == [Rejected(5, BookReject.UNKNOWN_ORDER)]


def test_replace_that_crosses_trades_as_aggressor(book):
    book.submit(limit(1, SELL, 101, 3))
    book.submit(limit(2, SELL, 102, 3))
    book.submit(limit(3, BUY, 100, 10))
    assert book.replace(3, 10, 101) == [Replaced(3, 10, 101, 10, 4, True), buy_trade(3, 1, 101, 3, 7, 0)]
    assert book.get(3) == OrderView(3, "acct3", BUY, OrdType.LIMIT, 101, 10, 7, 3, TimeInForce.DAY, 4)
    assert book.replace(3, 10, 105) == [Replaced(3, 10, 105, 7, 5, True), buy_trade(3, 2, 102, 3, 4, 0)]
    assert ids(book) == [3]


def test_replace_that_crosses_fully_fills(book):
    book.submit(limit(1, BUY, 100, 3))
    book.submit(limit(2, SELL, 101, 3))
    assert book.replace(2, 3, 99) == [Replaced(2, 3, 99, 3, 3, True), sell_trade(1, 2, 100, 3, 0, 0)]
    assert ids(book) == []


def test_replace_that_crosses_own_order_applies_smp(book):
    book.submit(limit(1, SELL, 101, 3, account="me"))
    book.submit(limit(2, BUY, 100, 10, account="me"))
    assert book.replace(2, 10, 101) == [Replaced(2, 10, 101, 10, 3, True), Canceled(2, 10, CancelReason.SELF_MATCH)]
    assert ids(book) == [1]


def test_replace_does_not_check_min_qty_again(book):
    book.submit(limit(1, SELL, 100, 5))
    assert book.submit(limit(2, BUY, 100, 10, min_qty=5)) == [Accepted(2, 2), buy_trade(2, 1, 100, 5, 5, 0)]
    book.submit(limit(3, SELL, 105, 1))
    # only 1 is available at 105, less than MinQty 5: a replace trades it anyway
    assert book.replace(2, 10, 105) == [Replaced(2, 10, 105, 5, 4, True), buy_trade(2, 3, 105, 1, 4, 0)]


@pytest.mark.parametrize("bad", [(0, 100), (10, 0), (10, -5)])
def test_replace_malformed_arguments_raise(book, bad):
    book.submit(limit(1, BUY, 100, 10))
    qty, price = bad
    if qty <= 0 and price > 0:
        # qty 0 is a reject (not above CumQty), not an error
        assert book.replace(1, qty, price) == [Rejected(1, BookReject.REPLACE_QTY_NOT_ABOVE_CUM)]
    else:
        with pytest.raises(ValueError):
            book.replace(1, qty, price)


# ---------------------------------------------------------------- price band
def test_price_band_on_entry(new_book):
    book = new_book(BookConfig(reference_price=1000, band_bps=500))  # 5%: 950 .. 1050
    assert book.submit(limit(1, BUY, 1050, 1)) == [Accepted(1, 1)]
    assert book.submit(limit(2, BUY, 1051, 1)) == [Rejected(2, BookReject.PRICE_BAND)]
    book.cancel(1)
    assert book.submit(limit(3, SELL, 950, 1)) == [Accepted(3, 2)]
    assert book.submit(limit(4, SELL, 949, 1)) == [Rejected(4, BookReject.PRICE_BAND)]
    # the band is one-sided: a buy far below or a sell far above is fine
    assert book.submit(limit(5, BUY, 10, 1)) == [Accepted(5, 3)]
    assert book.submit(limit(6, SELL, 99999, 1)) == [Accepted(6, 4)]
    # market orders are not banded
    assert book.submit(market(7, BUY, 2)) == [
        Accepted(7, 5),
        buy_trade(7, 3, 950, 1, 1, 0),
        buy_trade(7, 6, 99999, 1, 0, 0),
    ]


def test_price_band_integer_arithmetic_at_fractional_bound(new_book):
    book = new_book(BookConfig(reference_price=333, band_bps=100))  # 1%: 329.67 .. 336.33
    assert book.submit(limit(1, BUY, 336, 1)) == [Accepted(1, 1)]
    assert book.submit(limit(2, BUY, 337, 1)) == [Rejected(2, BookReject.PRICE_BAND)]
    book.cancel(1)
    assert book.submit(limit(3, SELL, 330, 1)) == [Accepted(3, 2)]
    assert book.submit(limit(4, SELL, 329, 1)) == [Rejected(4, BookReject.PRICE_BAND)]


def test_price_band_follows_last_trade(new_book):
    book = new_book(BookConfig(reference_price=1000, band_bps=1000))  # 10%
    book.submit(limit(1, SELL, 1100, 1))
    book.submit(limit(2, BUY, 1100, 1))  # trades at 1100: the reference moves
    assert book.reference_price == 1100
    assert book.submit(limit(3, BUY, 1210, 1)) == [Accepted(3, 3)]
    assert book.submit(limit(4, BUY, 1211, 1)) == [Rejected(4, BookReject.PRICE_BAND)]
    assert book.submit(limit(5, SELL, 989, 1)) == [Rejected(5, BookReject.PRICE_BAND)]


def test_no_band_without_reference_or_bps(new_book):
    for config in (BookConfig(reference_price=None, band_bps=1), BookConfig(reference_price=100, band_bps=None)):
        book = new_book(config)
        assert book.submit(limit(1, BUY, 10_000, 1)) == [Accepted(1, 1)]


def test_band_without_reference_starts_with_first_trade(new_book):
    book = new_book(BookConfig(band_bps=100))
    book.submit(limit(1, SELL, 1000, 1))
    book.submit(limit(2, BUY, 1000, 1))
    assert book.submit(limit(3, BUY, 1011, 1)) == [Rejected(3, BookReject.PRICE_BAND)]


def test_band_on_replace_only_when_price_changes(new_book):
    from venue.book.types import RestingOrder

    book = new_book(BookConfig(reference_price=1000, band_bps=500))  # buys up to 1050
    book.submit(limit(1, BUY, 1040, 10))
    assert book.replace(1, 10, 1060) == [Rejected(1, BookReject.PRICE_BAND)]
    # a journaled order restored outside today's band may still be reduced, not re-priced outside
    book.restore(RestingOrder(limit(2, BUY, 1100, 10), 10, 0, 5))
    assert book.replace(2, 5, None) == [Replaced(2, 5, 1100, 5, 5, False)]
    assert book.replace(2, 5, 1090) == [Rejected(2, BookReject.PRICE_BAND)]
    assert book.replace(2, 5, 1050) == [Replaced(2, 5, 1050, 5, 6, True)]


# ---------------------------------------------------------------- restore
def test_restore_rebuilds_queue_and_counter(new_book):
    from venue.book.types import RestingOrder

    book = new_book()
    book.restore(RestingOrder(limit(7, BUY, 100, 10), leaves=6, cum=4, priority=3))
    book.restore(RestingOrder(limit(8, BUY, 100, 5), leaves=5, cum=0, priority=9))
    book.restore(RestingOrder(limit(9, SELL, 102, 5), leaves=5, cum=0, priority=12))
    assert ids(book) == [7, 8, 9]
    assert book.get(7) == OrderView(7, "acct7", BUY, OrdType.LIMIT, 100, 10, 6, 4, TimeInForce.DAY, 3)
    assert book.submit(limit(10, SELL, 100, 7)) == [
        Accepted(10, 13),
        sell_trade(7, 10, 100, 6, 0, 1),
        sell_trade(8, 10, 100, 1, 4, 0),
    ]


def test_restore_refuses_what_cannot_rest(new_book):
    from venue.book.types import RestingOrder

    book = new_book()
    book.restore(RestingOrder(limit(1, BUY, 100, 10), 10, 0, 5))
    bad = [
        RestingOrder(limit(1, BUY, 100, 10), 10, 0, 6),  # duplicate id
        RestingOrder(limit(2, BUY, 100, 10), 10, 0, 5),  # priority not ascending
        RestingOrder(limit(3, BUY, 100, 10), 9, 0, 7),  # leaves + cum != qty
        RestingOrder(limit(4, BUY, 100, 10, tif=IOC), 10, 0, 8),  # never rests
        RestingOrder(limit(5, SELL, 100, 10), 10, 0, 9),  # crosses in continuous trading
        RestingOrder(market(6, SELL, 10), 10, 0, 10),  # market outside a call phase
    ]
    for resting in bad:
        with pytest.raises(ValueError):
            book.restore(resting)
    assert ids(book) == [1]


def test_restore_round_trip_gives_identical_behaviour(book_cls):
    from venue.book.types import RestingOrder

    original = book_cls()
    orders = [
        limit(1, BUY, 100, 10),
        limit(2, BUY, 99, 5),
        limit(3, SELL, 103, 8),
        limit(4, BUY, 100, 3),
        limit(5, SELL, 101, 4),
        limit(6, SELL, 100, 2),
    ]
    for o in orders:
        original.submit(o)
    original.replace(2, 7, 99)
    by_id = {o.order_id: o for o in orders}
    rebuilt = book_cls()
    views = sorted(original.resting_orders(), key=lambda v: v.priority)
    for v in views:
        o = by_id[v.order_id]
        o = NewOrder(o.order_id, o.account, o.side, o.ord_type, v.price, v.qty, o.tif, o.min_qty, o.smp)
        rebuilt.restore(RestingOrder(o, v.leaves, v.cum, v.priority))
    assert list(rebuilt.resting_orders()) == list(original.resting_orders())
    probe = limit(10, SELL, 99, 20)
    assert rebuilt.submit(probe) == original.submit(probe)
    assert list(rebuilt.resting_orders()) == list(original.resting_orders())
    rebuilt.validate_internal_state()
    original.validate_internal_state()


# ---------------------------------------------------------------- who an order would trade with
def test_crossing_lists_the_resting_orders_an_order_would_reach_in_priority_order(book):
    for oid, price, qty, account in [
        (1, 102, 4, "B"),
        (2, 101, 3, "C"),
        (3, 101, 2, "A"),
        (4, 101, 5, "D"),
        (5, 103, 9, "E"),
    ]:
        book.submit(limit(oid, SELL, price, qty, account=account))
    # 101: C 3, A (own account: skipped), D 5; then 102: B 4 -> 10 needs C 3, D 5, B 2
    assert book.crossing(BUY, 102, "A", 10) == [("C", 3), ("D", 5), ("B", 2)]
    assert book.crossing(BUY, 101, "A", 100) == [("C", 3), ("D", 5)]  # stops at its limit
    assert book.crossing(BUY, None, "A", 2) == [("C", 2)]  # market: any price
    assert book.crossing(BUY, 100, "A", 10) == []  # does not cross
    assert book.crossing(SELL, 100, "A", 10) == []  # no bids
    assert ids(book) == [2, 3, 4, 1, 5]  # reading changed nothing


def test_crossing_a_sell_walks_the_bids_best_first(book):
    for oid, price, qty in [(1, 99, 4), (2, 100, 3)]:
        book.submit(limit(oid, BUY, price, qty))
    assert book.crossing(SELL, 99, "X", 5) == [("acct2", 3), ("acct1", 2)]
