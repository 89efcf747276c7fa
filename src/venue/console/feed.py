"""What the console shows live from the running engine: each book's depth and phase, and whether
the journal is down (degraded mode). Runs beside the engine (in its process), read-only.

The depth comes from where the market data feed's comes from: `DepthDesk` is the core's market
data desk (`venue.market_data.MarketDataDesk`) that also keeps the top levels of every book, in
price ticks and quantities, at the end of each sequencer pass in which a book changed (the pass
that computes the members' 35=X increments, on the sequencer's own thread). `EngineFeed` is a
small thread that takes a copy of those levels, each book's phase and the degraded flag a few
times a second and hands them to the console (over the engine process's socket, or directly when
the engine runs in the FIX process), only when something changed, and at least every few seconds
so the console can tell a live feed from a stale one.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from venue.book.types import Side
from venue.clock import now_us
from venue.market_data import MarketDataDesk

log = logging.getLogger("venue.console")

LEVELS_SHOWN = 10  # price levels per side the console shows
PUBLISH_SECONDS = 0.2  # how often the feed looks for a change
HEARTBEAT_SECONDS = 2.0  # the feed is sent at least this often (the console calls it stale after 3x)

Levels = tuple[tuple[str, int], ...]  # (price as the security quotes it, quantity), best first
TickLevels = tuple[tuple[int, int], ...]  # (price in ticks, quantity), best first


@dataclass(slots=True)
class DepthDesk(MarketDataDesk):
    """The market data desk, also keeping every book's top `LEVELS_SHOWN` levels per side for the
    console (written on the sequencer's thread, read by `EngineFeed` under the lock)."""

    # symbol -> (bids, offers) as (price in ticks, quantity), and the security's tick-to-price
    # conversion: priced by `snapshot`, on the feed's thread, not on the sequencer's.
    levels: dict[str, tuple[TickLevels, TickLevels, Callable]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def prime(self, books: dict, securities: dict) -> None:
        """Every book's levels as it stands (at start-up and after the core is rebuilt from the
        store; the sequencer is not running a pass meanwhile)."""
        fresh = {symbol: _levels(book, securities[symbol].to_price) for symbol, book in books.items()}
        with self._lock:
            self.levels = fresh

    def primed(self, core):
        """`core` (just rebuilt from the store), after taking its books' levels."""
        self.prime(core.books, core.securities)
        return core

    def symbols(self) -> set[str]:
        """Symbols with a subscription, and every book the console follows: the core hands the
        desk each pass's changes while this is not empty."""
        return MarketDataDesk.symbols(self) | set(self.levels) | {"*"}

    def updates(self, books, changed, trades, to_price):
        out = MarketDataDesk.updates(self, books, changed, trades, to_price)
        fresh = {symbol: _levels(books[symbol], to_price[symbol]) for symbol in changed if symbol in books}
        if fresh:
            with self._lock:
                self.levels = {**self.levels, **fresh}
        return out

    def snapshot(self) -> dict[str, tuple[Levels, Levels]]:
        """Every book's top levels, priced as the security quotes."""
        with self._lock:
            levels = self.levels
        return {
            symbol: tuple(tuple((str(to_price(px)), qty) for px, qty in side) for side in (bids, offers))
            for symbol, (bids, offers, to_price) in levels.items()
        }


def follow_books(core) -> DepthDesk:
    """Make a `DepthDesk` the core's market data desk (before the sequencer takes it) and return it."""
    desk = DepthDesk()
    core.market_data = desk
    desk.prime(core.books, core.securities)
    return desk


def _levels(book, to_price) -> tuple[TickLevels, TickLevels, Callable]:
    bids, offers = (
        tuple((lv.price, lv.qty) for lv in book.depth(side, LEVELS_SHOWN)) for side in (Side.BUY, Side.SELL)
    )
    return bids, offers, to_price


class EngineFeed:
    """Sends the console what the engine holds: {"at_us", "degraded", "books": {symbol: {"phase",
    "bids", "offers"}}}. `sequencer` is read, never called into: `.core` (None while degraded) and
    each book's `.phase` are single attribute reads."""

    def __init__(self, sequencer, desk: DepthDesk, publish: Callable[[dict], None]) -> None:
        self.sequencer, self.desk, self.publish = sequencer, desk, publish
        self._stop = threading.Event()
        self._phases: dict[str, str] = {}
        self._thread = threading.Thread(target=self._run, name="console-feed", daemon=True)

    def start(self) -> EngineFeed:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.ident is not None:
            self._thread.join(2)

    def state(self) -> dict:
        """What the engine holds now (the last known phases while the core is being rebuilt)."""
        core = self.sequencer.core
        if core is not None:
            try:
                self._phases = {symbol: book.phase.value for symbol, book in list(core.books.items())}
            except RuntimeError:  # a book was added (a new listing) while we looked: next time
                pass
        depth = self.desk.snapshot()
        books = {
            symbol: {
                "phase": phase,
                "bids": [list(level) for level in depth.get(symbol, ((), ()))[0]],
                "offers": [list(level) for level in depth.get(symbol, ((), ()))[1]],
            }
            for symbol, phase in self._phases.items()
        }
        return {"degraded": core is None, "books": books}

    def _run(self) -> None:
        last, sent_at = None, 0.0
        while not self._stop.wait(PUBLISH_SECONDS):
            try:
                state = self.state()
                if state != last or time.monotonic() - sent_at >= HEARTBEAT_SECONDS:
                    self.publish({**state, "at_us": now_us()})
                    last, sent_at = state, time.monotonic()
            except Exception:  # noqa: BLE001 - the console is never a reason to stop the engine
                log.exception("console feed: could not publish the engine's state")
