"""A small market maker for the venue: a FIX 4.4 algo client on the `quickfix` engine.

It logs on (default MM1 of the sandbox), asks for the security list (tick and lot sizes) and
subscribes to market data for its symbols, then keeps one bid and one offer per symbol around a
fair price:

    fair  = mid of the best bid and offer of *other* participants (its own quotes taken out),
            else the last trade, else the reference price given with --ref
    shift = -spread_ticks * position / max_position     (inventory skew: long -> lower prices)
    bid   = fair - spread_ticks // 2 + shift
    offer = bid + spread_ticks

When the wanted price of a quote moves (by one tick or more) it sends an OrderCancelReplaceRequest
(35=G); a filled quote is replaced by a new order. It stops bidding at +max_position and stops
offering at -max_position. On SIGINT/SIGTERM or when --duration has elapsed it sends an
OrderMassCancelRequest (35=q, 530=7), waits for the OrderMassCancelReport (35=r) and logs out.

Threads: the QuickFIX engine calls `MakerApp` on its own threads; those callbacks only put events
on a queue (and catch every exception: a stray exception stops the engine). One strategy thread,
`MarketMaker.run`, takes events from the queue and does everything else, so no state is shared.

Prices are integer ticks inside the strategy and `Decimal` strings on the wire; never float.

    python examples/market_maker.py --port 9878 --symbol ACME --ref ACME=10.00

See examples/README.md.
"""

from __future__ import annotations

import argparse
import logging
import queue
import signal
import sys
import tempfile
import threading
import time
import traceback
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path

import quickfix as fix

log = logging.getLogger("market-maker")

ROOT = Path(__file__).resolve().parents[1]
DICTIONARY = ROOT / "fix_config" / "FIX44.xml"

BUY, SELL = "1", "2"  # Side(54)
PRINCIPAL = "P"  # OrderCapacity(528): a market maker quotes for its own account
SIDE_NAMES = {BUY: "bid", SELL: "offer"}


class Tag:
    """The FIX tags this client reads or writes (integer tags: the typed field classes of the
    Python binding are very slow)."""

    Account = 1
    ClOrdID = 11
    CumQty = 14
    LastPx = 31
    LastQty = 32
    OrderID = 37
    OrderQty = 38
    OrdStatus = 39
    OrdType = 40
    OrigClOrdID = 41
    Price = 44
    Side = 54
    Symbol = 55
    Text = 58
    TimeInForce = 59
    TransactTime = 60
    MsgType = 35
    RptSeq = 83
    CxlRejReason = 102
    NoRelatedSym = 146
    ExecType = 150
    LeavesQty = 151
    MDReqID = 262
    SubscriptionRequestType = 263
    MarketDepth = 264
    MDUpdateType = 265
    NoMDEntryTypes = 267
    NoMDEntries = 268
    MDEntryType = 269
    MDEntryPx = 270
    MDEntrySize = 271
    MDUpdateAction = 279
    SecurityReqID = 320
    OrderCapacity = 528
    MassCancelRequestType = 530
    MassCancelResponse = 531
    TotalAffectedOrders = 533
    Username = 553
    Password = 554
    SecurityListRequestType = 559
    RoundLot = 561
    MinPriceIncrement = 969


# MDEntryType(269) and MDUpdateAction(279)
MD_BID, MD_OFFER, MD_TRADE = "0", "1", "2"
MD_NEW, MD_CHANGE, MD_DELETE = "0", "1", "2"


def utc_now() -> str:
    """A FIX UTCTimestamp with milliseconds."""
    now = datetime.now(UTC)
    return now.strftime("%Y%m%d-%H:%M:%S.") + f"{now.microsecond // 1000:03d}"


def round_div(n: int, d: int) -> int:
    """n / d rounded to the nearest integer, halves away from zero (integers only)."""
    q, r = divmod(abs(n), d)
    if 2 * r >= d:
        q += 1
    return q if n >= 0 else -q


# ---------------------------------------------------------------- strategy state


@dataclass
class Quote:
    """One resting order of ours (a bid or an offer) and the request, if any, that is in flight."""

    side: str
    cl_ord_id: str  # the order's current ClOrdID
    price: int  # ticks
    qty: int  # OrderQty (total, including what has traded)
    order_id: str = ""  # the venue's OrderID, known once acknowledged
    leaves: int = 0
    cum: int = 0
    pending: str = ""  # "new", "replace" or "cancel" while a request awaits its answer
    pending_cl_ord_id: str = ""
    pending_price: int | None = None  # the new price of a replace in flight

    def prices(self) -> list[int]:
        """The prices this quote may rest at until the pending request is answered."""
        return [self.price] if self.pending_price is None else [self.price, self.pending_price]


@dataclass
class Market:
    """What the strategy knows about one symbol: the book, our quotes, our position."""

    symbol: str
    ref: int | None = None  # reference price in ticks (from --ref), the last fallback
    tick: Decimal | None = None  # from the SecurityList
    lot: int = 1
    md_req_id: str = ""
    rpt_seq: int = 0
    bids: dict[int, int] = field(default_factory=dict)  # price ticks -> size, everyone's
    offers: dict[int, int] = field(default_factory=dict)
    last_trade: int | None = None
    quotes: dict[str, Quote | None] = field(default_factory=lambda: {BUY: None, SELL: None})
    retry_after: dict[str, float] = field(default_factory=lambda: {BUY: 0.0, SELL: 0.0})
    book_catching_up_until: float = 0.0
    position: int = 0
    bought: int = 0
    sold: int = 0
    fills: int = 0

    def ticks(self, price: str) -> int:
        assert self.tick is not None
        return int((Decimal(price) / self.tick).to_integral_value())

    def price(self, ticks: int) -> str:
        assert self.tick is not None
        return format(ticks * self.tick, "f")

    def others_best(self, side: str) -> int | None:
        """The best price of the other participants on one side: the book minus our own quote."""
        levels = self.bids if side == BUY else self.offers
        own = self.quotes[side]
        prices = [
            p for p, size in levels.items() if size - (own.leaves if own and own.order_id and own.price == p else 0) > 0
        ]
        if not prices:
            return None
        return max(prices) if side == BUY else min(prices)

    def fair(self) -> int | None:
        """Mid of the others' best bid and offer, else the last trade, else the reference price."""
        bid, offer = self.others_best(BUY), self.others_best(SELL)
        if bid is not None and offer is not None and bid < offer:
            return (bid + offer) // 2
        if self.last_trade is not None:
            return self.last_trade
        return self.ref


@dataclass(frozen=True)
class Settings:
    host: str
    port: int
    comp_id: str
    password: str
    account: str
    symbols: tuple[str, ...]
    refs: dict[str, Decimal]
    spread_ticks: int
    size: int
    max_position: int
    duration: float
    status_interval: float
    state_dir: Path
    dictionary: Path
    target: str = "ATS"


# ---------------------------------------------------------------- QuickFIX callbacks -> queue


class MakerApp(fix.Application):
    """The engine's callbacks. They only enqueue: everything else happens on the strategy thread."""

    def __init__(self, events: queue.Queue, comp_id: str, password: str) -> None:
        super().__init__()
        self.events = events
        self.comp_id = comp_id
        self.password = password

    def onCreate(self, sessionID):  # noqa: N802, N803 - QuickFIX names
        pass

    def onLogon(self, sessionID):  # noqa: N802, N803
        try:
            self.events.put(("logon", None))
        except Exception:  # noqa: BLE001 - never let an exception into the engine
            log.error("onLogon failed\n%s", traceback.format_exc())

    def onLogout(self, sessionID):  # noqa: N802, N803
        try:
            self.events.put(("logout", None))
        except Exception:  # noqa: BLE001
            log.error("onLogout failed\n%s", traceback.format_exc())

    def toAdmin(self, message, sessionID):  # noqa: N802, N803
        try:
            if message.getHeader().getField(Tag.MsgType) == "A":
                message.setField(Tag.Username, self.comp_id)
                message.setField(Tag.Password, self.password)
        except Exception:  # noqa: BLE001
            log.error("toAdmin failed\n%s", traceback.format_exc())

    def fromAdmin(self, message, sessionID):  # noqa: N802, N803
        try:
            if message.getHeader().getField(Tag.MsgType) == "5" and message.isSetField(Tag.Text):
                log.warning("venue logout: %s", message.getField(Tag.Text))
        except Exception:  # noqa: BLE001
            log.error("fromAdmin failed\n%s", traceback.format_exc())

    def toApp(self, message, sessionID):  # noqa: N802, N803
        pass

    def fromApp(self, message, sessionID):  # noqa: N802, N803
        try:
            # The engine owns `message`: hand a copy to the strategy thread.
            self.events.put(("message", fix.Message(message)))
        except Exception:  # noqa: BLE001
            log.error("fromApp failed\n%s", traceback.format_exc())


# ---------------------------------------------------------------- the strategy thread


class MarketMaker:
    """Quotes every symbol on one FIX session; `run` is the strategy thread."""

    def __init__(self, settings: Settings, events: queue.Queue) -> None:
        self.s = settings
        self.events = events
        self.session_id = fix.SessionID("FIX.4.4", settings.comp_id, settings.target)
        self.markets = {sym: Market(sym) for sym in settings.symbols}
        self.by_req_id: dict[str, Market] = {}
        self.logged_on = False
        self.stopping = False
        self.run_id = uuid.uuid4().hex[:6]  # ClOrdIDs stay unique across runs of the client
        self.counter = 0
        self.mass_cancel_id = ""
        self.mass_cancel_answered = False

    # ------------------------------------------------------------ main loop
    def run(self) -> None:
        """Take events until stopped, re-quoting after each; then cancel everything and log out."""
        started = time.monotonic()
        next_status = started + self.s.status_interval
        while True:
            try:
                kind, payload = self.events.get(timeout=0.2)
            except queue.Empty:
                kind, payload = "tick", None
            if kind == "stop":
                log.info("stopping: %s", payload)
                break
            self.handle(kind, payload)
            if self.s.duration and time.monotonic() - started >= self.s.duration:
                log.info("stopping: --duration %s s elapsed", self.s.duration)
                break
            self.requote()
            if time.monotonic() >= next_status:
                self.print_status()
                next_status = time.monotonic() + self.s.status_interval
        self.shutdown()

    def handle(self, kind: str, payload) -> None:
        """Apply one event; a fault in one message is logged, not fatal."""
        try:
            if kind == "logon":
                self.on_logon()
            elif kind == "logout":
                self.on_logout()
            elif kind == "message":
                self.on_message(payload)
        except Exception:  # noqa: BLE001
            log.error("could not handle %s\n%s", kind, traceback.format_exc())

    def pump_until(self, done, timeout: float) -> bool:
        """Keep handling events until done() or the timeout; return done()."""
        deadline = time.monotonic() + timeout
        while not done() and time.monotonic() < deadline:
            try:
                kind, payload = self.events.get(timeout=0.1)
            except queue.Empty:
                continue
            if kind != "stop":
                self.handle(kind, payload)
        return done()

    def shutdown(self) -> None:
        """Mass cancel (530=7), wait for the 35=r and the cancels, then log out."""
        self.stopping = True
        if self.logged_on:
            self.mass_cancel_id = self.next_id("MC")
            self.send(
                "q",
                [(Tag.ClOrdID, self.mass_cancel_id), (Tag.MassCancelRequestType, "7"), (Tag.TransactTime, utc_now())],
            )
            if not self.pump_until(lambda: self.mass_cancel_answered or not self.logged_on, 10):
                log.error("no OrderMassCancelReport within 10 s")
            if not self.logged_on:
                log.warning(
                    "disconnected before the mass cancel was answered: the venue cancels the quotes "
                    "of a cancel-on-disconnect session itself"
                )
            # The 150=4 execution reports follow the 35=r; wait for them so the last status is true.
            self.pump_until(lambda: not any(q for m in self.markets.values() for q in m.quotes.values()), 5)
            session = fix.Session.lookupSession(self.session_id)
            if session is not None:
                session.logout("market maker stopping")
                self.pump_until(lambda: not self.logged_on, 5)
        self.print_status()

    # ------------------------------------------------------------ session events
    def on_logon(self) -> None:
        log.info("logged on as %s", self.s.comp_id)
        self.logged_on = True
        # Tick and lot sizes first; market data is requested once they are known.
        self.send("x", [(Tag.SecurityReqID, self.next_id("SL")), (Tag.SecurityListRequestType, "4")])

    def on_logout(self) -> None:
        if self.logged_on:
            log.info("logged out")
        self.logged_on = False
        # The session is cancel-on-disconnect and its market data subscriptions end with it:
        # start again from nothing at the next logon.
        for market in self.markets.values():
            market.quotes = {BUY: None, SELL: None}
            market.bids, market.offers = {}, {}
            market.md_req_id = ""

    def subscribe(self, market: Market) -> None:
        """MarketDataRequest (35=V): snapshot plus incremental updates of bids, offers and trades
        (ending the symbol's previous subscription, if any)."""
        if market.md_req_id:
            self.send_md_request(market, market.md_req_id, "2")
        market.md_req_id = self.next_id("MD")
        market.rpt_seq = 0
        self.by_req_id[market.md_req_id] = market
        self.send_md_request(market, market.md_req_id, "1")

    def send_md_request(self, market: Market, req_id: str, request_type: str) -> None:
        """SubscriptionRequestType(263): 1 subscribe, 2 unsubscribe."""
        msg = self.new_message("V")
        msg.setField(Tag.MDReqID, req_id)
        msg.setField(Tag.SubscriptionRequestType, request_type)
        msg.setField(Tag.MarketDepth, "0")
        msg.setField(Tag.MDUpdateType, "1")
        for entry_type in (MD_BID, MD_OFFER, MD_TRADE):
            group = fix.Group(Tag.NoMDEntryTypes, Tag.MDEntryType)
            group.setField(Tag.MDEntryType, entry_type)
            msg.addGroup(group)
        group = fix.Group(Tag.NoRelatedSym, Tag.Symbol)
        group.setField(Tag.Symbol, market.symbol)
        msg.addGroup(group)
        self.send_message(msg)

    # ------------------------------------------------------------ incoming application messages
    def on_message(self, msg) -> None:
        msg_type = msg.getHeader().getField(Tag.MsgType)
        if msg_type == "8":
            self.on_execution_report(msg)
        elif msg_type == "9":
            self.on_cancel_reject(msg)
        elif msg_type == "W":
            self.on_snapshot(msg)
        elif msg_type == "X":
            self.on_increment(msg)
        elif msg_type == "y":
            self.on_security_list(msg)
        elif msg_type == "r":
            self.on_mass_cancel_report(msg)
        elif msg_type in ("Y", "j"):
            log.error("venue refused a request (35=%s): %s", msg_type, field_or(msg, Tag.Text, "?"))

    def on_security_list(self, msg) -> None:
        group = fix.Group(Tag.NoRelatedSym, Tag.Symbol)
        for i in range(1, int(field_or(msg, Tag.NoRelatedSym, "0")) + 1):
            msg.getGroup(i, group)
            market = self.markets.get(group.getField(Tag.Symbol))
            if market is not None:
                market.tick = Decimal(group.getField(Tag.MinPriceIncrement))
                market.lot = int(group.getField(Tag.RoundLot))
                if market.symbol in self.s.refs:
                    market.ref = market.ticks(str(self.s.refs[market.symbol]))
                log.info("%s: tick %s, lot %d", market.symbol, market.tick, market.lot)
        for market in self.markets.values():
            if market.tick is None:
                log.error("%s is not in the venue's security list: not quoting it", market.symbol)
            elif not market.md_req_id:
                self.subscribe(market)

    def on_snapshot(self, msg) -> None:
        """35=W: the book as it is now (RptSeq 1 of the subscription)."""
        market = self.by_req_id.get(field_or(msg, Tag.MDReqID, ""))
        if market is None or market.md_req_id != field_or(msg, Tag.MDReqID, ""):
            return
        market.bids, market.offers = {}, {}
        group = fix.Group(Tag.NoMDEntries, Tag.MDEntryType)
        for i in range(1, int(field_or(msg, Tag.NoMDEntries, "0")) + 1):
            msg.getGroup(i, group)
            levels = market.bids if group.getField(Tag.MDEntryType) == MD_BID else market.offers
            levels[market.ticks(group.getField(Tag.MDEntryPx))] = int(group.getField(Tag.MDEntrySize))
        market.rpt_seq = int(field_or(msg, Tag.RptSeq, "1"))

    def on_increment(self, msg) -> None:
        """35=X: level changes (new / change / delete) and trades, numbered without gaps."""
        market = self.by_req_id.get(field_or(msg, Tag.MDReqID, ""))
        if market is None or market.md_req_id != field_or(msg, Tag.MDReqID, ""):
            return
        group = fix.Group(Tag.NoMDEntries, Tag.MDUpdateAction)
        for i in range(1, int(field_or(msg, Tag.NoMDEntries, "0")) + 1):
            msg.getGroup(i, group)
            if i == 1:
                seq = int(field_or(group, Tag.RptSeq, "0"))
                if seq != market.rpt_seq + 1:
                    log.warning(
                        "%s: market data gap (RptSeq %d after %d): subscribing again",
                        market.symbol,
                        seq,
                        market.rpt_seq,
                    )
                    self.subscribe(market)
                    return
                market.rpt_seq = seq
            entry_type = group.getField(Tag.MDEntryType)
            price = market.ticks(group.getField(Tag.MDEntryPx))
            if entry_type == MD_TRADE:
                market.last_trade = price
                continue
            levels = market.bids if entry_type == MD_BID else market.offers
            if group.getField(Tag.MDUpdateAction) == MD_DELETE:
                levels.pop(price, None)
            else:
                levels[price] = int(group.getField(Tag.MDEntrySize))
        market.book_catching_up_until = 0.0

    def on_execution_report(self, msg) -> None:
        symbol, side = field_or(msg, Tag.Symbol, ""), field_or(msg, Tag.Side, "")
        market = self.markets.get(symbol)
        if market is None or side not in (BUY, SELL):
            return
        exec_type = msg.getField(Tag.ExecType)
        cl_ord_id = field_or(msg, Tag.ClOrdID, "")
        order_id = field_or(msg, Tag.OrderID, "")
        quote = market.quotes[side]
        ours = quote is not None and (
            order_id == quote.order_id != "" or cl_ord_id in (quote.cl_ord_id, quote.pending_cl_ord_id)
        )
        if exec_type in ("F", "H"):  # a fill, or a trade bust that undoes one
            qty = int(msg.getField(Tag.LastQty))
            signed = qty if side == BUY else -qty
            if exec_type == "H":
                signed = -signed
                log.warning("%s: trade bust of %d: %s", symbol, qty, field_or(msg, Tag.Text, ""))
            else:
                market.fills += 1
                if side == BUY:
                    market.bought += qty
                else:
                    market.sold += qty
                log.info(
                    "%s: %s %d at %s (position %+d)",
                    symbol,
                    "bought" if side == BUY else "sold",
                    qty,
                    msg.getField(Tag.LastPx),
                    market.position + signed,
                )
            market.position += signed
        if not ours:
            return
        assert quote is not None
        if exec_type in ("0", "F", "5", "4", "C"):
            # The book changes; our own market data shows it in the next increment.
            market.book_catching_up_until = time.monotonic() + 1.0
        if exec_type == "0":
            quote.order_id = order_id
            quote.leaves = int(msg.getField(Tag.LeavesQty))
            quote.pending = quote.pending_cl_ord_id = ""
        elif exec_type == "5":
            quote.cl_ord_id = cl_ord_id
            quote.price = market.ticks(msg.getField(Tag.Price))
            quote.qty = int(msg.getField(Tag.OrderQty))
            quote.pending = quote.pending_cl_ord_id = ""
            quote.pending_price = None
        elif exec_type == "8":
            log.warning("%s %s rejected: %s", symbol, SIDE_NAMES[side], field_or(msg, Tag.Text, ""))
            market.retry_after[side] = time.monotonic() + 2.0
        quote.leaves = int(field_or(msg, Tag.LeavesQty, str(quote.leaves)))
        quote.cum = int(field_or(msg, Tag.CumQty, str(quote.cum)))
        if msg.getField(Tag.OrdStatus) in ("2", "4", "8", "C"):  # filled, canceled, rejected, expired
            market.quotes[side] = None

    def on_cancel_reject(self, msg) -> None:
        """35=9: our replace or cancel was refused (usually: the order traded or closed meanwhile)."""
        cl_ord_id = field_or(msg, Tag.ClOrdID, "")
        for market in self.markets.values():
            for side, quote in market.quotes.items():
                if quote is not None and quote.pending_cl_ord_id == cl_ord_id:
                    log.info("%s %s: request refused: %s", market.symbol, SIDE_NAMES[side], field_or(msg, Tag.Text, ""))
                    quote.pending = quote.pending_cl_ord_id = ""
                    quote.pending_price = None
                    market.retry_after[side] = time.monotonic() + 1.0
                    if field_or(msg, Tag.CxlRejReason, "") == "1" or msg.getField(Tag.OrdStatus) in ("2", "4", "C"):
                        market.quotes[side] = None

    def on_mass_cancel_report(self, msg) -> None:
        if field_or(msg, Tag.ClOrdID, "") != self.mass_cancel_id:
            return
        self.mass_cancel_answered = True
        if msg.getField(Tag.MassCancelResponse) == "0":
            log.error("mass cancel refused: %s", field_or(msg, Tag.Text, ""))
        else:
            log.info("mass cancel: %s orders canceled", field_or(msg, Tag.TotalAffectedOrders, "0"))

    # ------------------------------------------------------------ quoting
    def wanted_prices(self, market: Market) -> dict[str, int | None]:
        """The bid and offer we want now, in ticks (None: do not quote that side)."""
        fair = market.fair()
        if fair is None:
            return {BUY: None, SELL: None}
        shift = -round_div(market.position * self.s.spread_ticks, self.s.max_position)
        bid = fair - self.s.spread_ticks // 2 + shift
        offer = bid + self.s.spread_ticks
        # Never cross the others' quotes: this is a passive strategy.
        others_offer, others_bid = market.others_best(SELL), market.others_best(BUY)
        if others_offer is not None:
            bid = min(bid, others_offer - 1)
        if others_bid is not None:
            offer = max(offer, others_bid + 1)
        return {
            BUY: bid if bid > 0 and market.position < self.s.max_position else None,
            SELL: offer if market.position > -self.s.max_position else None,
        }

    def requote(self) -> None:
        """Bring each quote to its wanted price and size: new order, replace (35=G) or cancel."""
        if not self.logged_on or self.stopping:
            return
        now = time.monotonic()
        for market in self.markets.values():
            if market.tick is None or market.rpt_seq == 0 or now < market.book_catching_up_until:
                continue  # no tick size or no book snapshot yet, or the book has not caught up with us
            size = max(market.lot, self.s.size // market.lot * market.lot)
            for side, price in self.wanted_prices(market).items():
                quote = market.quotes[side]
                if (quote is not None and quote.pending) or now < market.retry_after[side]:
                    continue
                if price is not None and self.crosses_own_quote(market, side, price):
                    continue  # the other side moves first (the venue would stop a self-match)
                if quote is None:
                    if price is not None:
                        self.new_order(market, side, price, size)
                elif price is None:
                    self.cancel(market, quote)
                elif quote.order_id and (price != quote.price or quote.leaves != size):
                    self.replace(market, quote, price, quote.cum + size)

    @staticmethod
    def crosses_own_quote(market: Market, side: str, price: int) -> bool:
        """Would a bid (offer) at `price` meet our own offer (bid)? When the fair price jumps, the
        quote on the far side must move out of the way before the near side moves."""
        other = market.quotes[SELL if side == BUY else BUY]
        if other is None:
            return False
        return price >= min(other.prices()) if side == BUY else price <= max(other.prices())

    def new_order(self, market: Market, side: str, price: int, qty: int) -> None:
        cl_ord_id = self.next_id("Q")
        market.quotes[side] = Quote(side, cl_ord_id, price, qty, pending="new", pending_cl_ord_id=cl_ord_id)
        self.send(
            "D",
            [
                (Tag.ClOrdID, cl_ord_id),
                (Tag.Account, self.s.account),
                (Tag.Symbol, market.symbol),
                (Tag.Side, side),
                (Tag.TransactTime, utc_now()),
                (Tag.OrderQty, str(qty)),
                (Tag.OrdType, "2"),
                (Tag.Price, market.price(price)),
                (Tag.TimeInForce, "0"),
                (Tag.OrderCapacity, PRINCIPAL),
            ],
        )

    def replace(self, market: Market, quote: Quote, price: int, qty: int) -> None:
        quote.pending, quote.pending_cl_ord_id, quote.pending_price = "replace", self.next_id("Q"), price
        self.send(
            "G",
            [
                (Tag.ClOrdID, quote.pending_cl_ord_id),
                (Tag.OrigClOrdID, quote.cl_ord_id),
                (Tag.OrderID, quote.order_id),
                (Tag.Account, self.s.account),
                (Tag.Symbol, market.symbol),
                (Tag.Side, quote.side),
                (Tag.TransactTime, utc_now()),
                (Tag.OrderQty, str(qty)),
                (Tag.OrdType, "2"),
                (Tag.Price, market.price(price)),
                (Tag.TimeInForce, "0"),
            ],
        )

    def cancel(self, market: Market, quote: Quote) -> None:
        quote.pending, quote.pending_cl_ord_id = "cancel", self.next_id("Q")
        self.send(
            "F",
            [
                (Tag.ClOrdID, quote.pending_cl_ord_id),
                (Tag.OrigClOrdID, quote.cl_ord_id),
                (Tag.OrderID, quote.order_id),
                (Tag.Symbol, market.symbol),
                (Tag.Side, quote.side),
                (Tag.TransactTime, utc_now()),
            ],
        )

    # ------------------------------------------------------------ sending
    def next_id(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}{self.run_id}-{self.counter}"

    @staticmethod
    def new_message(msg_type: str):
        msg = fix.Message()
        msg.getHeader().setField(Tag.MsgType, msg_type)
        return msg

    def send(self, msg_type: str, fields: list[tuple[int, str]]) -> None:
        msg = self.new_message(msg_type)
        for tag, value in fields:
            msg.setField(tag, value)
        self.send_message(msg)

    def send_message(self, msg) -> None:
        try:
            fix.Session.sendToTarget(msg, self.session_id)
        except fix.SessionNotFound:
            log.error("no FIX session %s", self.session_id.toString())

    # ------------------------------------------------------------ status
    def print_status(self) -> None:
        parts = []
        for m in self.markets.values():

            def show(side: str, m=m) -> str:
                q = m.quotes[side]
                if q is None or m.tick is None or not q.order_id:
                    return "-"
                return f"{q.leaves}@{m.price(q.price)}"

            fair = m.fair()
            fair_text = m.price(fair) if fair is not None and m.tick is not None else "?"
            parts.append(
                f"{m.symbol} pos {m.position:+d} bid {show(BUY)} offer {show(SELL)} fair {fair_text} "
                f"fills {m.fills} (bought {m.bought}, sold {m.sold})"
            )
        state = "logged on" if self.logged_on else "not logged on"
        print(f"{time.strftime('%H:%M:%S')} status [{state}] " + " | ".join(parts), flush=True)


def field_or(msg, tag: int, default: str) -> str:
    """A field's value, or `default` when the message (or group) does not carry it."""
    return msg.getField(tag) if msg.isSetField(tag) else default


# ---------------------------------------------------------------- engine settings and main


def write_settings(s: Settings) -> Path:
    """The QuickFIX initiator settings, generated into the state directory.

    ResetOnLogon=Y sends ResetSeqNumFlag(141)=Y: both sides start again at sequence number 1 at
    each logon. A cancel-on-disconnect quoting session has nothing worth resending: the venue
    canceled its orders when it went away, and it quotes afresh."""
    s.state_dir.mkdir(parents=True, exist_ok=True)
    path = s.state_dir / "initiator.cfg"
    path.write_text(
        "\n".join(
            [
                "[DEFAULT]",
                "ConnectionType=initiator",
                f"SocketConnectHost={s.host}",
                f"SocketConnectPort={s.port}",
                "SocketNodelay=Y",
                "ReconnectInterval=2",
                "HeartBtInt=10",
                "StartTime=00:00:00",
                "EndTime=00:00:00",
                "NonStopSession=Y",
                "ResetOnLogon=Y",
                "ResetOnLogout=Y",
                "ResetOnDisconnect=Y",
                "UseDataDictionary=Y",
                f"DataDictionary={s.dictionary}",
                "ValidateFieldsOutOfOrder=N",
                "CheckLatency=N",
                f"FileStorePath={s.state_dir / 'store'}",
                f"FileLogPath={s.state_dir / 'log'}",
                "",
                "[SESSION]",
                "BeginString=FIX.4.4",
                f"SenderCompID={s.comp_id}",
                f"TargetCompID={s.target}",
                "",
            ]
        )
    )
    return path


def parse_args(argv: list[str] | None = None) -> Settings:
    p = argparse.ArgumentParser(description="A two-sided quoting market maker for the venue (FIX 4.4).")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=9878)
    p.add_argument("--comp-id", default="MM1", help="your SenderCompID (also the logon Username)")
    p.add_argument("--password", default="sandbox")
    p.add_argument("--account", default="M-MAKER", help="the investor account the quotes are for")
    p.add_argument(
        "--symbol",
        action="append",
        dest="symbols",
        metavar="SYMBOL",
        help="a symbol to quote (repeatable; default ACME)",
    )
    p.add_argument(
        "--ref",
        action="append",
        default=[],
        metavar="SYMBOL=PRICE",
        help="reference price used until the book or a trade gives one (repeatable)",
    )
    p.add_argument("--spread-ticks", type=int, default=10, help="distance between bid and offer, in ticks")
    p.add_argument("--size", type=int, default=100, help="quantity of each quote (rounded down to whole lots)")
    p.add_argument(
        "--max-position",
        type=int,
        default=1000,
        help="stop bidding at +N, stop offering at -N; quotes shift by one spread at N",
    )
    p.add_argument("--duration", type=float, default=0, help="seconds to run (0: until SIGINT/SIGTERM)")
    p.add_argument("--status-interval", type=float, default=5, help="seconds between status lines")
    p.add_argument("--state-dir", help="where the QuickFIX settings, store and logs go (default: a new temp dir)")
    p.add_argument("--dictionary", default=str(DICTIONARY), help="FIX 4.4 data dictionary (the venue's)")
    a = p.parse_args(argv)
    refs: dict[str, Decimal] = {}
    for item in a.ref:
        symbol, _, price = item.partition("=")
        try:
            refs[symbol] = Decimal(price)
        except InvalidOperation:
            p.error(f"--ref {item!r}: use SYMBOL=PRICE, e.g. ACME=10.00")
    if a.spread_ticks < 2 or a.size <= 0 or a.max_position <= 0:
        p.error("--spread-ticks must be at least 2; --size and --max-position must be positive")
    state_dir = Path(a.state_dir) if a.state_dir else Path(tempfile.mkdtemp(prefix="market-maker-"))
    return Settings(
        a.host,
        a.port,
        a.comp_id,
        a.password,
        a.account,
        tuple(a.symbols or ["ACME"]),
        refs,
        a.spread_ticks,
        a.size,
        a.max_position,
        a.duration,
        a.status_interval,
        state_dir.resolve(),
        Path(a.dictionary).resolve(),
    )


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(
        level=logging.INFO, stream=sys.stdout, format="%(asctime)s market-maker %(levelname)s %(message)s"
    )
    s = parse_args(argv)
    events: queue.Queue = queue.Queue()
    app = MakerApp(events, s.comp_id, s.password)
    settings = fix.SessionSettings(str(write_settings(s)))
    initiator = fix.SocketInitiator(app, fix.FileStoreFactory(settings), settings, fix.FileLogFactory(settings))
    maker = MarketMaker(s, events)

    def on_signal(signum, _frame) -> None:
        events.put(("stop", signal.Signals(signum).name))

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    log.info(
        "connecting to %s:%d as %s; quoting %s; state in %s",
        s.host,
        s.port,
        s.comp_id,
        ", ".join(s.symbols),
        s.state_dir,
    )
    initiator.start()
    strategy = threading.Thread(target=maker.run, name="strategy")
    strategy.start()
    while strategy.is_alive():  # the main thread stays free to receive signals
        strategy.join(0.5)
    initiator.stop()
    log.info("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
