"""The book's rulebook: every entry gate as a pure function, shared by the fast and naive books.

Gates run in this order on `submit()` (the first that answers wins):

| # | gate                 | refuses with                      | rule                                               |
|---|----------------------|-----------------------------------|----------------------------------------------------|
| 0 | `check_well_formed`  | ValueError (a bug upstream)       | int qty > 0; limit has an int price > 0, market    |
|   |                      |                                   | has none; 0 <= min_qty <= qty                      |
| 1 | `phase_reject`       | NOT_ACCEPTED_IN_PHASE             | CLOSED takes no orders; call phases (pre-open,     |
|   |                      |                                   | auctions, halt) take no IOC, FOK or MinQty         |
| 2 | duplicate id         | DUPLICATE_ORDER_ID                | the id belongs to an order resting in the book     |
| 3 | `band_reject`        | PRICE_BAND                        | limit buy above ref*(1+band), sell below           |
|   |                      |                                   | ref*(1-band); no band without ref or band          |

`replace()` checks, in order: unknown order (UNKNOWN_ORDER), CLOSED phase
(NOT_ACCEPTED_IN_PHASE), market order (REPLACE_NOT_RESTING), new qty <= CumQty
(REPLACE_QTY_NOT_ABOVE_CUM), then the band on the new price if the price changes.
`cancel()` is accepted in every phase.

Conditions on immediate execution (FOK, MinQty) are not gates: they depend on the opposite side
and are decided by the matching code after `Accepted`.
"""

from __future__ import annotations

from venue.book.types import (
    BookReject,
    NewOrder,
    OrdType,
    Phase,
    RestingOrder,
    Side,
    TimeInForce,
)

#: Phases in which orders collect without matching until `uncross()`.
CALL_PHASES = frozenset({Phase.PRE_OPEN, Phase.OPENING_AUCTION, Phase.HALTED, Phase.PERIODIC_AUCTION})

#: Time in force values that ask for immediate execution and so make no sense in a call phase.
IMMEDIATE_TIFS = frozenset({TimeInForce.IOC, TimeInForce.FOK})

BPS = 10_000


def check_well_formed(order: NewOrder) -> None:
    """Raise ValueError for a command no gate upstream should have let through."""
    if type(order.qty) is not int or order.qty <= 0:
        raise ValueError(f"order {order.order_id}: qty must be a positive integer, got {order.qty!r}")
    if order.ord_type is OrdType.LIMIT:
        if type(order.price) is not int or order.price <= 0:
            raise ValueError(f"order {order.order_id}: a limit order needs a positive integer price in ticks")
    elif order.price is not None:
        raise ValueError(f"order {order.order_id}: a market order carries no price")
    if not 0 <= order.min_qty <= order.qty:
        raise ValueError(f"order {order.order_id}: min_qty must be within 0..qty")


def phase_reject(phase: Phase, order: NewOrder) -> BookReject | None:
    """Gate 1: is this kind of order accepted in `phase`?"""
    if phase is Phase.CLOSED:
        return BookReject.NOT_ACCEPTED_IN_PHASE
    if phase in CALL_PHASES and (order.tif in IMMEDIATE_TIFS or order.min_qty > 0):
        return BookReject.NOT_ACCEPTED_IN_PHASE
    return None


def outside_band(side: Side, price: int, reference: int | None, band_bps: int | None) -> bool:
    """True when a limit price lies beyond the band around the reference price.

    Integer arithmetic: a buy is outside when price > ref * (1 + band), a sell when
    price < ref * (1 - band), with band = band_bps / 10,000.
    """
    if reference is None or band_bps is None:
        return False
    if side is Side.BUY:
        return price * BPS > reference * (BPS + band_bps)
    return price * BPS < reference * (BPS - band_bps)


def band_reject(side: Side, price: int | None, reference: int | None, band_bps: int | None) -> BookReject | None:
    """Gate 3: PRICE_BAND for a limit price outside the band; market orders are not banded."""
    if price is not None and outside_band(side, price, reference, band_bps):
        return BookReject.PRICE_BAND
    return None


def auction_price_key(price: int, volume: int, imbalance: int, reference: int | None) -> tuple[int, int, int, int]:
    """Sort key of a candidate clearing price; the smallest key wins.

    Most executable volume, then smallest |imbalance|, then closest to the reference price
    (skipped when there is none), then the lowest price.
    """
    distance = 0 if reference is None else abs(price - reference)
    return (-volume, abs(imbalance), distance, price)


def check_restorable(resting: RestingOrder) -> None:
    """Raise ValueError for a journaled resting order that could not be resting."""
    order = resting.order
    check_well_formed(order)
    if not order.tif.may_rest:
        raise ValueError(f"order {order.order_id}: {order.tif.name} orders never rest")
    if type(resting.leaves) is not int or resting.leaves <= 0 or type(resting.cum) is not int or resting.cum < 0:
        raise ValueError(f"order {order.order_id}: a resting order needs leaves > 0 and cum >= 0")
    if resting.leaves + resting.cum != order.qty:
        raise ValueError(f"order {order.order_id}: leaves + cum must equal the (replaced) order qty")
    if type(resting.priority) is not int or resting.priority <= 0:
        raise ValueError(f"order {order.order_id}: priority must be a positive integer")


def check_replace_args(qty: int, price: int | None) -> None:
    """Raise ValueError for replace arguments that are not ticks and units."""
    if type(qty) is not int:
        raise ValueError(f"replace qty must be an integer, got {qty!r}")
    if price is not None and (type(price) is not int or price <= 0):
        raise ValueError(f"replace price must be a positive integer in ticks or None, got {price!r}")
