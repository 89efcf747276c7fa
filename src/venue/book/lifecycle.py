"""The order lifecycle: ONE (OrdStatus, Transition) -> OrdStatus table.

Whoever keeps order status (the venue's `venue.orders.OrderRecord`, and through it the tests'
`venue.orders.OrderLedger`) changes it only by looking a transition up here with `next_status`;
a move the table does not list raises `IllegalTransition`.
"""

from __future__ import annotations

from enum import Enum

from venue.book.errors import IllegalTransition
from venue.book.types import OrdStatus

__all__ = ["BUSTS", "Transition", "TRANSITIONS", "next_status", "IllegalTransition"]


class Transition(str, Enum):
    """What happened to an order, as far as its OrdStatus is concerned."""

    ACCEPT = "accept"
    REJECT = "reject"
    PARTIAL_FILL = "partial fill"
    FILL = "fill"
    REPLACE = "replace"
    CANCEL = "cancel"
    EXPIRE = "expire"
    # A trade of the order is canceled because it could not settle (ExecType TRADE_CANCEL).
    # BUST: the order still has other fills; BUST_LAST_FILL: it has none left (CumQty back to 0).
    BUST = "bust"
    BUST_LAST_FILL = "bust of last fill"


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
    # Busts (settlement failed). An open order keeps its leaves: partially filled while other fills
    # remain, NEW again once none does. A filled order is done with its busted quantity canceled.
    # Canceled and expired orders stay as they are. NEW, PENDING_NEW and REJECTED orders have no
    # fill to bust.
    (_S.PARTIALLY_FILLED, _T.BUST): _S.PARTIALLY_FILLED,
    (_S.PARTIALLY_FILLED, _T.BUST_LAST_FILL): _S.NEW,
    (_S.FILLED, _T.BUST): _S.CANCELED,
    (_S.FILLED, _T.BUST_LAST_FILL): _S.CANCELED,
    (_S.CANCELED, _T.BUST): _S.CANCELED,
    (_S.CANCELED, _T.BUST_LAST_FILL): _S.CANCELED,
    (_S.EXPIRED, _T.BUST): _S.EXPIRED,
    (_S.EXPIRED, _T.BUST_LAST_FILL): _S.EXPIRED,
}

#: The transitions that may still leave a closed status: a closed order may have a trade busted.
BUSTS = frozenset({Transition.BUST, Transition.BUST_LAST_FILL})

del _S, _T


def next_status(order_id: int, status: OrdStatus, transition: Transition) -> OrdStatus:
    """Look `transition` up in the table; raise IllegalTransition if it is not allowed."""
    try:
        return TRANSITIONS[(status, transition)]
    except KeyError:
        raise IllegalTransition(order_id, status, transition) from None
