"""Market data subscriptions: snapshots and level-by-level increments of each book, plus trades.

Pure and owned by the venue core: the core tells the desk which books changed and which trades
happened in one pass of the sequencer; the desk answers with one incremental message per
subscription that saw a change. The sequencer sends them after the pass is committed, so an
update never describes an event the journal does not hold.

Each subscription numbers its messages 1 (the snapshot), 2, 3, ... without gaps (RptSeq(83) on
every entry); applying the increments in order to the snapshot gives the book's top `depth`
levels per side.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from venue.book.base import OrderBook
from venue.book.types import Side
from venue.messages import pickled_by_fields

BID, OFFER, TRADE = "0", "1", "2"  # MDEntryType(269)
NEW, CHANGE, DELETE = "0", "1", "2"  # MDUpdateAction(279)

Levels = tuple[tuple[int, int], ...]  # (price ticks, quantity), best first


@dataclass(frozen=True, slots=True)
class MDEntry:
    entry_type: str
    price: Decimal
    size: int
    action: str = NEW
    trade_id: str | None = None


@dataclass(frozen=True, slots=True)
class _MarketDataMessage:
    to: str
    req_id: str
    symbol: str
    seq: int  # the message's number in its subscription (RptSeq)
    entries: tuple[MDEntry, ...]


class MarketDataSnapshot(_MarketDataMessage):
    """MarketDataSnapshotFullRefresh (35=W)."""

    __slots__ = ()


class MarketDataIncrement(_MarketDataMessage):
    """MarketDataIncrementalRefresh (35=X)."""

    __slots__ = ()


@dataclass(frozen=True, slots=True)
class MarketDataReject:
    """MarketDataRequestReject (35=Y): MDReqRejReason(281) and a text."""

    to: str
    req_id: str
    reason: str
    text: str


for _cls in (MDEntry, MarketDataSnapshot, MarketDataIncrement, MarketDataReject):
    pickled_by_fields(_cls)
del _cls


@dataclass(slots=True)
class _Subscription:
    comp_id: str
    req_id: str
    symbol: str
    depth: int
    seq: int = 0
    bids: Levels = ()
    offers: Levels = ()
    trades: bool = True
    book_sides: bool = True  # bids and offers requested (MDEntryType 0/1)


@dataclass(slots=True)
class MarketDataDesk:
    """Every live subscription, by session and by symbol."""

    max_depth: int = 50
    _subs: dict[tuple[str, str], _Subscription] = field(default_factory=dict)

    def subscribe(
        self,
        comp_id: str,
        req_id: str,
        symbol: str,
        depth: int,
        book: OrderBook,
        to_price,
        updates: bool,
        entry_types: frozenset[str],
    ) -> MarketDataSnapshot:
        """Answer with a snapshot; keep the subscription when `updates` (SubscriptionRequestType 1).
        `entry_types`: MDEntryType values asked for; bids and offers come together (0 or 1 asks for
        the book), trades (2) only in increments."""
        depth = self.max_depth if depth == 0 else min(depth, self.max_depth)
        sub = _Subscription(
            comp_id, req_id, symbol, depth, trades=TRADE in entry_types, book_sides=bool(entry_types & {BID, OFFER})
        )
        sub.bids, sub.offers = _levels(book, depth) if sub.book_sides else ((), ())
        sub.seq = 1
        if updates:
            self._subs[(comp_id, req_id)] = sub
        entries = tuple(MDEntry(BID, to_price(p), q) for p, q in sub.bids) + tuple(
            MDEntry(OFFER, to_price(p), q) for p, q in sub.offers
        )
        return MarketDataSnapshot(comp_id, req_id, symbol, sub.seq, entries)

    def is_subscribed(self, comp_id: str, req_id: str) -> bool:
        return (comp_id, req_id) in self._subs

    def unsubscribe(self, comp_id: str, req_id: str) -> bool:
        return self._subs.pop((comp_id, req_id), None) is not None

    def drop_session(self, comp_id: str) -> None:
        """A session logged off: its subscriptions end (it subscribes again after logon)."""
        for key in [k for k in self._subs if k[0] == comp_id]:
            del self._subs[key]

    def symbols(self) -> set[str]:
        return {s.symbol for s in self._subs.values()}

    def updates(
        self,
        books: dict[str, OrderBook],
        changed: set[str],
        trades: dict[str, list[tuple[int, int, str]]],
        to_price: dict,
    ) -> list[MarketDataIncrement]:
        """One increment per subscription whose book levels changed or whose symbol traded."""
        out: list[MarketDataIncrement] = []
        for sub in self._subs.values():
            if sub.symbol not in changed and sub.symbol not in trades:
                continue
            price = to_price[sub.symbol]
            entries: list[MDEntry] = []
            if sub.trades:
                entries += [
                    MDEntry(TRADE, price(px), qty, NEW, trade_id) for px, qty, trade_id in trades.get(sub.symbol, ())
                ]
            if sub.book_sides:
                bids, offers = _levels(books[sub.symbol], sub.depth)
                entries += _diff(BID, sub.bids, bids, price) + _diff(OFFER, sub.offers, offers, price)
                sub.bids, sub.offers = bids, offers
            if entries:
                sub.seq += 1
                out.append(MarketDataIncrement(sub.comp_id, sub.req_id, sub.symbol, sub.seq, tuple(entries)))
        return out


def _levels(book: OrderBook, depth: int) -> tuple[Levels, Levels]:
    return (
        tuple((lv.price, lv.qty) for lv in book.depth(Side.BUY, depth)),
        tuple((lv.price, lv.qty) for lv in book.depth(Side.SELL, depth)),
    )


def _diff(entry_type: str, old: Levels, new: Levels, price) -> list[MDEntry]:
    """Deletes, then changes, then new levels: applied in order to a price -> size map holding `old`,
    they leave exactly `new`."""
    before, after = dict(old), dict(new)
    out = [MDEntry(entry_type, price(p), 0, DELETE) for p, _ in old if p not in after]
    out += [MDEntry(entry_type, price(p), q, CHANGE) for p, q in new if p in before and before[p] != q]
    out += [MDEntry(entry_type, price(p), q, NEW) for p, q in new if p not in before]
    return out
