"""Small builders for book tests."""

from __future__ import annotations

from venue.book.types import (
    Accepted,
    BookReject,
    Canceled,
    CancelReason,
    NewOrder,
    OrdType,
    Rejected,
    SelfMatchPrevention,
    Side,
    TimeInForce,
    Trade,
)

BUY, SELL = Side.BUY, Side.SELL
DAY, GTC, GTD, IOC, FOK = TimeInForce.DAY, TimeInForce.GTC, TimeInForce.GTD, TimeInForce.IOC, TimeInForce.FOK
INCOMING = SelfMatchPrevention.CANCEL_INCOMING
RESTING = SelfMatchPrevention.CANCEL_RESTING
BOTH = SelfMatchPrevention.CANCEL_BOTH


def limit(
    oid: int,
    side: Side,
    price: int,
    qty: int,
    account: str | None = None,
    tif: TimeInForce = DAY,
    min_qty: int = 0,
    smp: SelfMatchPrevention = INCOMING,
) -> NewOrder:
    """A limit order; the account defaults to one per order id, so nothing self-matches."""
    return NewOrder(oid, account or f"acct{oid}", side, OrdType.LIMIT, price, qty, tif, min_qty, smp)


def market(
    oid: int,
    side: Side,
    qty: int,
    account: str | None = None,
    tif: TimeInForce = DAY,
    min_qty: int = 0,
    smp: SelfMatchPrevention = INCOMING,
) -> NewOrder:
    return NewOrder(oid, account or f"acct{oid}", side, OrdType.MARKET, None, qty, tif, min_qty, smp)


def buy_trade(buy: int, sell: int, price: int, qty: int, buy_leaves: int, sell_leaves: int) -> Trade:
    """A trade with a buy aggressor."""
    return Trade(buy, sell, price, qty, buy_leaves, sell_leaves, BUY)


def sell_trade(buy: int, sell: int, price: int, qty: int, buy_leaves: int, sell_leaves: int) -> Trade:
    """A trade with a sell aggressor."""
    return Trade(buy, sell, price, qty, buy_leaves, sell_leaves, SELL)


def auction_trade(buy: int, sell: int, price: int, qty: int, buy_leaves: int, sell_leaves: int) -> Trade:
    return Trade(buy, sell, price, qty, buy_leaves, sell_leaves, None)


def ids(book) -> list[int]:
    """Order ids of the resting orders, in resting_orders() order."""
    return [v.order_id for v in book.resting_orders()]


def leaves(book) -> dict[int, int]:
    return {v.order_id: v.leaves for v in book.resting_orders()}


__all__ = [
    "Accepted",
    "BookReject",
    "CancelReason",
    "Canceled",
    "Rejected",
    "Trade",
    "OrdType",
    "BUY",
    "SELL",
    "DAY",
    "GTC",
    "GTD",
    "IOC",
    "FOK",
    "INCOMING",
    "RESTING",
    "BOTH",
    "limit",
    "market",
    "buy_trade",
    "sell_trade",
    "auction_trade",
    "ids",
    "leaves",
]
