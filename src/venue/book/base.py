"""The interface every order book implements (the fast book and the naive reference book).

A book holds one security. It is synchronous, single-threaded and deterministic: the same
commands in the same order give the same events. Methods return lists of events and never
raise for a refused command (that is a `Rejected` event); exceptions mean a broken invariant.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass

from venue.book.types import (
    Event,
    Level,
    NewOrder,
    OrderView,
    Phase,
    RestingOrder,
    Side,
)


@dataclass(frozen=True, slots=True)
class BookConfig:
    """Per-security matching parameters, in ticks.

    `band_bps`: orders priced more than this many basis points from `reference_price` are
    refused (None: no band). `reference_price`: last trade or configured price, in ticks.
    """

    reference_price: int | None = None
    band_bps: int | None = None


class OrderBook(ABC):
    """Price-time priority order book for one security."""

    @abstractmethod
    def __init__(self, config: BookConfig | None = None, phase: Phase = Phase.CONTINUOUS) -> None: ...

    # -- commands ---------------------------------------------------------
    @abstractmethod
    def submit(self, order: NewOrder) -> list[Event]:
        """Enter a new order; match it as the current phase allows."""

    @abstractmethod
    def cancel(self, order_id: int, reason=None) -> list[Event]:
        """Remove a resting order's remaining quantity (reason defaults to REQUESTED)."""

    @abstractmethod
    def replace(self, order_id: int, qty: int, price: int | None) -> list[Event]:
        """Change total OrderQty and/or limit price of a resting order.

        Price change or quantity increase loses time priority; a decrease keeps it. A new
        price that crosses the book trades immediately as the aggressor.
        """

    @abstractmethod
    def restore(self, resting: RestingOrder) -> None:
        """Put back a journaled resting order without matching (restart)."""

    # -- phases and the auction -------------------------------------------
    @abstractmethod
    def set_phase(self, phase: Phase) -> list[Event]:
        """Change the trading phase; never matches by itself.

        Leaving the call phases (to CONTINUOUS or CLOSED) cancels resting market orders, in
        priority order, with MARKET_NO_LIQUIDITY; those are the events returned. Entering
        CONTINUOUS on a crossed book raises BookStateError and changes nothing: call `uncross()`
        first.
        """

    @abstractmethod
    def uncross(self) -> list[Event]:
        """Run the call-auction uncross at one clearing price (allowed in any phase): its self-match
        cancels, trades (aggressor None) and the cancels of resting market orders; afterwards the
        book is uncrossed. The clearing-price and allocation rules: `FastBook.uncross`."""

    # -- queries ----------------------------------------------------------
    @property
    @abstractmethod
    def phase(self) -> Phase:
        """Current trading phase; change it with `set_phase()`."""

    @property
    @abstractmethod
    def reference_price(self) -> int | None:
        """Configured price, then the last trade or auction clearing price (ticks; None: none yet)."""

    @abstractmethod
    def get(self, order_id: int) -> OrderView | None:
        """The live resting order with this id, or None."""

    @abstractmethod
    def depth(self, side: Side, levels: int) -> list[Level]:
        """Best `levels` aggregated price levels of one side, best first."""

    @abstractmethod
    def crossing(self, side: Side, price: int | None, account: str, qty: int) -> list[tuple[str, int]]:
        """Who an order of `side` at `price` (None: market) for `qty` would trade with if it came
        now: (account, quantity) of the resting orders of other accounts it reaches, in priority
        order, one entry per resting order. Empty outside continuous trading. Reads only."""

    @abstractmethod
    def resting_orders(self) -> Iterator[OrderView]:
        """Every resting order: bids best price first then asks best price first, each in
        time priority within a level."""

    @abstractmethod
    def validate_internal_state(self) -> None:
        """Raise AssertionError if any internal invariant is broken."""
