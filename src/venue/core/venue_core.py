"""The venue core's state and the sequencer's interface.

`VenueCore` sets up the state every part of the core shares (books, live orders, ids, the
ClOrdID index, the batch and reports being built), loads it from the store at start-up, and
takes commands and timer ticks from the sequencer, handing each to the part whose job it is.
Deterministic, no I/O: the time is an argument.
"""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from venue.book.base import BookConfig, OrderBook
from venue.book.types import CancelReason, Phase, RestingOrder, TimeInForce
from venue.calendar import SessionPhase, TradingCalendar
from venue.clock import DAY_US, day_start_us, next_midnight_us, utc_date
from venue.core.cl_ord_ids import ClOrdIndex
from venue.core.gating import GatingMixin
from venue.core.ops import OpsMixin
from venue.core.phases import PhasesMixin
from venue.core.reports import CxlRejReason, PendingRequest, ReportsMixin
from venue.core.requests import RequestsMixin
from venue.gates import ChainReader, GateReject, OrdRejReason
from venue.journal import JournalBatch
from venue.ledger import Ledger, Unsettled
from venue.market_data import MarketDataDesk
from venue.messages import (
    CancelCommand,
    Command,
    MarketDataRequestCommand,
    MassCancelCommand,
    NewOrderCommand,
    OpsCommand,
    ReplaceCommand,
    Report,
    SecurityListRequestCommand,
    SessionEvent,
    SettlementEvent,
    StatusCommand,
)
from venue.model import IssuerRole, Security, SessionRole, TradingStatus, World
from venue.orders import ExecType, OrderEvent, OrderRecord, OrdStatus


@dataclass(slots=True)
class IdCounters:
    """Last ids handed out; restored from the store's maxima at start-up."""

    order: int = 0
    exec: int = 0
    trade: int = 0
    cancel_reject: int = 0


class VenueCore(GatingMixin, PhasesMixin, ReportsMixin, RequestsMixin, OpsMixin):
    """Gates, books and order records for every security of the venue."""

    def __init__(
        self,
        world: World,
        calendar_for: Callable[[str], TradingCalendar],
        book_factory: Callable[[BookConfig], OrderBook],
        ids: IdCounters,
        cl_ord_ids: dict[tuple[str, str], int | None] | None = None,
        load_order: Callable[[int], OrderRecord | None] | None = None,
        last_prices: dict[str, int] | None = None,
        market_collar_bps: int = 1000,
        cl_ord_day: str | None = None,
    ) -> None:
        """`cl_ord_ids`: the ClOrdIDs taken on `cl_ord_day` (Store.load_cl_ord_ids); from the first
        command of a later UTC day only those of open orders stay taken."""
        self.world = world
        self.ledger = Ledger()
        self.market_collar_bps = market_collar_bps
        # Entitlements per member (None: the registry has none yet, every member may trade everything).
        self.entitlements: dict[str, frozenset[str]] | None = None
        self._rate: dict[str, deque[int]] = {}
        self.market_data = MarketDataDesk()
        self.chain: ChainReader | None = None  # the settlement chain as the gates see it (venue.chain.view)
        self._md_changed: set[str] = set()
        self._md_trades: dict[str, list[tuple[int, int, str]]] = {}
        self._mass_cancels = 0
        self.securities: dict[str, Security] = dict(world.securities)
        self.calendar_for = calendar_for
        self.ids = ids
        self.orders: dict[int, OrderRecord] = {}
        self.cl_ord_index = ClOrdIndex(cl_ord_ids, self.orders.__contains__)
        self._cl_day = cl_ord_day  # the UTC day the index is for
        self._cl_roll_us = 0 if cl_ord_day is None else day_start_us(date.fromisoformat(cl_ord_day)) + DAY_US
        self._load_order = load_order or (lambda _id: None)
        self._expiries: list[tuple[int, int]] = []
        # Calendar phase per security and when to look again; periodic auction due times.
        self._scheduled: dict[str, SessionPhase] = {}
        self._phase_due: dict[str, int] = {symbol: 0 for symbol in self.securities}
        self._auction_due: dict[str, int] = {}
        self._next_due = 0
        self.books: dict[str, OrderBook] = {}
        self._book_factory = book_factory
        last_prices = last_prices or {}
        for symbol, sec in self.securities.items():
            ref = last_prices.get(symbol)
            if ref is None and sec.reference_price is not None:
                ref = sec.to_ticks(sec.reference_price)
            self.books[symbol] = book_factory(BookConfig(reference_price=ref, band_bps=sec.band_bps))
            # Books start closed (or halted); the first clock tick opens them through an opening
            # auction if the calendar says so, which also uncrosses a book restored from pre-open.
            self.books[symbol].set_phase(Phase.HALTED if sec.trading_status is not TradingStatus.OPEN else Phase.CLOSED)
        self._index_drop_copies()
        self.batch = JournalBatch()
        self.outbound: list[Report] = []
        self._pending: PendingRequest | None = None
        self._ineligible: GateReject | None = None  # why the resting order being canceled may no longer rest
        self._sweep_due = 0  # the next UTC midnight: expiry dates (KYC, accreditation) end there
        self._now = 0

    def _index_drop_copies(self) -> None:
        sessions = self.world.sessions.values()
        self._drop_copy_all = tuple(
            sorted(s.comp_id for s in sessions if s.role is SessionRole.DROP_COPY and s.member_id is None)
        )
        self._drop_copy_member: dict[str, tuple[str, ...]] = {}
        for s in sorted(sessions, key=lambda s: s.comp_id):
            if s.role is SessionRole.DROP_COPY and s.member_id is not None:
                self._drop_copy_member[s.member_id] = self._drop_copy_member.get(s.member_id, ()) + (s.comp_id,)

    # ------------------------------------------------------------ start-up
    def load_positions(self, holdings: list[dict], lots: list[dict], trades: list[dict]) -> None:
        """Settled balances and lots (the holders-of-record ledger), the trades still waiting for
        settlement and the final sales by issuers and affiliates of the last three months (Rule
        144(e)), read from the store in one snapshot; call before `restore`."""
        currencies = {sec.currency for sec in self.securities.values()} | {"USD"}
        for h in holdings:
            self.ledger.set_balance(h["account_id"], h["asset"], Decimal(h["quantity"]), h["asset"] in currencies)
        for lot in lots:
            tacking_us = lot.get("tacking_us", lot.get("acquired_us"))  # a row without one tacks from acquisition
            self.ledger.add_lot(lot["account_id"], lot["symbol"], tacking_us, lot["quantity"])
        for t in trades:
            role = IssuerRole(t["seller_role"]) if t.get("seller_role") else None
            if t.get("settlement_status") == "final":
                self.ledger.note_sale(t["trade_id"], t["sell_account"], t["symbol"], t["executed_us"], t["qty"])
                continue
            self.ledger.add_unsettled(
                Unsettled(
                    t["trade_id"],
                    t["symbol"],
                    t["buy_account"],
                    t["sell_account"],
                    t["qty"],
                    Decimal(t["price"]) * t["qty"],
                    t["executed_us"],
                    role,
                )
            )

    def restore(self, open_orders: list[OrderRecord]) -> None:
        """Put journaled open orders back into their books, in time priority."""
        for rec in open_orders:
            self.orders[rec.order_id] = rec
            self.books[rec.symbol].restore(RestingOrder(self._book_order(rec), rec.leaves, rec.cum, rec.priority))
            self._schedule_expiry(rec)
            self._sync_hold(rec)

    def cancel_on_restart(self, now_us: int) -> int:
        """At start-up, before any order is accepted: cancel the resting orders of every
        cancel-on-disconnect session (GTC orders spared where the session says so). None of those
        sessions is connected to a venue that has just started. Returns how many were canceled."""
        self._now = now_us
        canceled = 0
        for session in sorted(self.world.sessions.values(), key=lambda s: s.comp_id):
            if session.cancel_on_disconnect:
                canceled += self._cancel_on_disconnect(session, CancelReason.RESTART)
        return canceled

    # ------------------------------------------------------------ the sequencer's interface
    def take(self) -> tuple[JournalBatch, list[Report]]:
        """Hand over what was produced since the last call (market data increments last) and start
        afresh."""
        if self._md_changed or self._md_trades:
            if self.market_data.symbols():
                self.outbound.extend(
                    self.market_data.updates(
                        self.books,
                        self._md_changed,
                        self._md_trades,
                        {sym: sec.to_price for sym, sec in self.securities.items()},
                    )
                )
            self._md_changed, self._md_trades = set(), {}
        batch, out = self.batch, self.outbound
        self.batch, self.outbound = JournalBatch(), []
        return batch, out

    def next_timer_us(self) -> int | None:
        due = min(self._next_due, self._sweep_due)
        return due if not self._expiries else min(self._expiries[0][0], due)

    def handle(self, cmd: Command, now_us: int) -> None:
        """Apply one command."""
        self._now = now_us
        if now_us >= self._cl_roll_us:
            self._roll_cl_ord_day(now_us)
        if now_us >= self._sweep_due:
            self._daily_sweep(now_us)
        if now_us >= self._next_due:
            self._advance_phases(now_us)
        if isinstance(cmd, NewOrderCommand):
            self._new_order(cmd)
        elif isinstance(cmd, CancelCommand):
            self._cancel(cmd)
        elif isinstance(cmd, ReplaceCommand):
            self._replace(cmd)
        elif isinstance(cmd, StatusCommand):
            self._status(cmd)
        elif isinstance(cmd, OpsCommand):
            self._ops(cmd)
        elif isinstance(cmd, SettlementEvent):
            self._settlement(cmd)
        elif isinstance(cmd, SessionEvent):
            self._session_event(cmd)
        elif isinstance(cmd, MarketDataRequestCommand):
            self._market_data_request(cmd)
        elif isinstance(cmd, SecurityListRequestCommand):
            self._security_list(cmd)
        elif isinstance(cmd, MassCancelCommand):
            self._mass_cancel(cmd)
        else:  # a programming error, not a member's mistake
            raise TypeError(f"unknown command {cmd!r}")

    def _roll_cl_ord_day(self, now_us: int) -> None:
        """A new UTC day: ClOrdIDs of closed orders (and of requests that named none) are free again;
        those of open orders stay taken."""
        day = utc_date(now_us).isoformat()
        if self._cl_day is None or day > self._cl_day:
            if self._cl_day is not None:  # else the index was loaded for this day
                self.cl_ord_index.new_day()
            self._cl_day = day
        self._cl_roll_us = next_midnight_us(now_us)

    def run_timers(self, now_us: int) -> None:
        """Change phases as the calendar says, run due periodic auctions, expire Day orders at their
        session's close and GTD orders at their expiry time."""
        self._now = now_us
        if now_us >= self._sweep_due:
            self._daily_sweep(now_us)
        if now_us >= self._next_due:
            self._advance_phases(now_us)
        while self._expiries and self._expiries[0][0] <= now_us:
            _, order_id = heapq.heappop(self._expiries)
            rec = self.orders.get(order_id)
            if rec is None or not rec.status.is_open:
                continue
            self._apply(self.books[rec.symbol].cancel(order_id, CancelReason.EXPIRED))

    def _schedule_expiry(self, rec: OrderRecord) -> None:
        if rec.tif is TimeInForce.DAY:
            day = date.fromisoformat(rec.trading_day)
            heapq.heappush(self._expiries, (self.calendar_for(rec.symbol).close_us(day), rec.order_id))
        elif rec.tif is TimeInForce.GTD and rec.expire_at_us is not None:
            heapq.heappush(self._expiries, (rec.expire_at_us, rec.order_id))

    def _daily_sweep(self, now_us: int) -> None:
        """At each UTC midnight (and at the first command or timer after start-up): a KYC or
        accreditation that expired on the day before ends now, and so may its resting orders."""
        self.sweep_resting()
        self._sweep_due = next_midnight_us(now_us)

    def internal_error(self, cmd: Command, exc: BaseException) -> None:
        """A command broke an invariant: halt its security so nothing trades on a doubtful book, and
        answer the member."""
        symbol = getattr(cmd, "symbol", None)
        if symbol in self.securities and self.securities[symbol].trading_status is TradingStatus.OPEN:
            self._set_trading_status(symbol, TradingStatus.HALTED, f"internal error: {type(exc).__name__}")
        if isinstance(cmd, NewOrderCommand):
            text = "Internal error: order not accepted; venue operations alerted"
            oid = self.cl_ord_index.get((cmd.comp_id, cmd.cl_ord_id))
            rec = self.orders.get(oid) if oid is not None else None
            if rec is not None and rec.status is OrdStatus.PENDING_NEW:
                rec.leaves, rec.text = 0, text
                rec.apply(OrderEvent.REJECT)
                self.orders.pop(rec.order_id, None)
                self.batch.order_changed(rec)
                self._report(rec, ExecType.REJECTED, text=text, ord_rej_reason=OrdRejReason.OTHER, venue_reason="X900")
            else:
                self._reject_new(cmd, GateReject("X900", OrdRejReason.OTHER, text))
        elif isinstance(cmd, (CancelCommand, ReplaceCommand)):
            self._cancel_reject(cmd, None, CxlRejReason.OTHER, "Internal error: request not processed")

    # ------------------------------------------------------------ sessions
    def _session_event(self, cmd: SessionEvent) -> None:
        if cmd.logged_on:
            return
        self.market_data.drop_session(cmd.comp_id)
        session = self.world.sessions.get(cmd.comp_id)
        if session is None or not session.cancel_on_disconnect:
            return
        self._cancel_on_disconnect(session, CancelReason.DISCONNECT)

    def _cancel_on_disconnect(self, session, reason: CancelReason) -> int:
        canceled = 0
        for rec in self._open_orders_of(session.comp_id, None, None):
            if session.cod_keep_gtc and rec.tif is TimeInForce.GTC:
                continue
            self._apply(self.books[rec.symbol].cancel(rec.order_id, reason))
            canceled += 1
        return canceled
