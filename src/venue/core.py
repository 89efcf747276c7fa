"""The venue core: commands in, journal records and reports out.

One `VenueCore` owns every book, every live order and the id counters. It is driven by a single
thread (the sequencer), takes the time as an argument and performs no I/O of its own, except the
injected `load_order` for a status request about an order no longer in memory. Each call to
`handle()` or `run_timers()` appends to the current `JournalBatch` and outbound report list; the
sequencer commits the batch before it sends the reports.
"""

from __future__ import annotations

import heapq
import json
import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import ROUND_HALF_EVEN, Decimal

from venue.book.base import BookConfig, OrderBook
from venue.book.types import (Accepted, BookReject, CancelReason, Canceled, Event, NewOrder, OrdType, Phase, Rejected,
                              Replaced, RestingOrder, SelfMatchPrevention, Side, TimeInForce, Trade)
from venue.calendar import SessionPhase, TradingCalendar
from venue.gates import (ChainReader, GateContext, GateReject, OrdRejReason, accreditation_current, buyer_has_cash,
                         check_new_order, collar_ticks, price_valid, quantity_valid, seller_may_deliver, utc_day)
from venue.ledger import Hold, Ledger, Unsettled
from venue.market_data import MarketDataDesk, MarketDataReject
from venue.messages import (CancelCommand, Command, ExecutionReport, NewOrderCommand, OpsCommand, OrderCancelReject,
                            MarketDataRequestCommand, MassCancelCommand, MassCancelReport, ReplaceCommand, Report,
                            SecurityListEntry, SecurityListReport, SecurityListRequestCommand, SecurityStatusReport,
                            SessionEvent, SettlementEvent, SettlementReport, StatusCommand,
                            TradingSessionStatusReport)
from venue.model import Security, SessionRole, TradingStatus
from venue.orders import ExecType, OrderEvent, OrderRecord, OrdStatus
from venue.store.repository import JournalBatch, World

log = logging.getLogger("venue.core")

DAY_US = 86_400_000_000
_EPOCH = date(1970, 1, 1)


def utc_day(now_us: int) -> str:
    """The UTC date of a time in µs since the epoch (YYYY-MM-DD): the day ClOrdIDs are unique in."""
    return (_EPOCH + timedelta(days=now_us // DAY_US)).isoformat()

NONE_ORDER_ID = "NONE"
AVG_PX_PLACES = Decimal("0.00000001")


class CxlRejReason:
    """FIX 4.4 CxlRejReason(102) values the venue uses."""

    TOO_LATE = 0
    UNKNOWN_ORDER = 1
    BROKER_OPTION = 2
    DUPLICATE_CL_ORD_ID = 6
    OTHER = 99


# Book refusals as the member sees them: (venue code, OrdRejReason).
_BOOK_REJECT_CODES: dict[BookReject, tuple[str, int]] = {
    BookReject.PRICE_BAND: ("B100", OrdRejReason.OTHER),
    BookReject.NOT_ACCEPTED_IN_PHASE: ("Y220", OrdRejReason.EXCHANGE_CLOSED),
    BookReject.UNKNOWN_ORDER: ("O400", OrdRejReason.UNKNOWN_ORDER),
    BookReject.DUPLICATE_ORDER_ID: ("O410", OrdRejReason.DUPLICATE_ORDER),
    BookReject.REPLACE_QTY_NOT_ABOVE_CUM: ("Q130", OrdRejReason.INCORRECT_QUANTITY),
    BookReject.REPLACE_NOT_RESTING: ("O420", OrdRejReason.OTHER),
}


@dataclass(slots=True)
class IdCounters:
    """Last ids handed out; restored from the store's maxima at start-up."""

    order: int = 0
    exec: int = 0
    trade: int = 0
    cancel_reject: int = 0


@dataclass(frozen=True, slots=True)
class _Pending:
    """The cancel/replace request whose book events are being applied."""

    cl_ord_id: str
    orig_cl_ord_id: str


class VenueCore:
    """Gates, books and order records for every security of the venue."""

    def __init__(self, world: World, calendar_for: Callable[[str], TradingCalendar],
                 book_factory: Callable[[BookConfig], OrderBook], ids: IdCounters,
                 cl_ord_ids: dict[tuple[str, str], int | None] | None = None,
                 load_order: Callable[[int], OrderRecord | None] | None = None,
                 last_prices: dict[str, int] | None = None, market_collar_bps: int = 1000,
                 cl_ord_day: str | None = None) -> None:
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
        self.cl_ord_index: dict[tuple[str, str], int | None] = dict(cl_ord_ids or {})
        self._cl_day = cl_ord_day  # the UTC day the index is for
        self._cl_roll_us = 0 if cl_ord_day is None else \
            ((date.fromisoformat(cl_ord_day) - _EPOCH).days + 1) * DAY_US
        self.orders: dict[int, OrderRecord] = {}
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
            self.books[symbol].set_phase(Phase.HALTED if sec.trading_status is TradingStatus.HALTED else Phase.CLOSED)
        self._index_drop_copies()
        self.batch = JournalBatch()
        self.outbound: list[Report] = []
        self._pending: _Pending | None = None
        self._now = 0

    def _index_drop_copies(self) -> None:
        sessions = self.world.sessions.values()
        self._drop_copy_all = tuple(sorted(s.comp_id for s in sessions
                                           if s.role is SessionRole.DROP_COPY and s.member_id is None))
        self._drop_copy_member: dict[str, tuple[str, ...]] = {}
        for s in sorted(sessions, key=lambda s: s.comp_id):
            if s.role is SessionRole.DROP_COPY and s.member_id is not None:
                self._drop_copy_member[s.member_id] = self._drop_copy_member.get(s.member_id, ()) + (s.comp_id,)

    # ------------------------------------------------------------ start-up
    def load_positions(self, holdings: list[dict], lots: list[dict], unsettled: list[dict]) -> None:
        """Settled balances and lots (the holders-of-record ledger) and the trades still waiting for
        settlement, read from the store in one snapshot; call before `restore`."""
        currencies = {sec.currency for sec in self.securities.values()} | {"USD"}
        for h in holdings:
            self.ledger.set_balance(h["account_id"], h["asset"], Decimal(h["quantity"]), h["asset"] in currencies)
        for lot in lots:
            self.ledger.add_lot(lot["account_id"], lot["symbol"], lot["acquired_us"], lot["quantity"])
        for t in unsettled:
            self.ledger.add_unsettled(Unsettled(t["trade_id"], t["symbol"], t["buy_account"], t["sell_account"],
                                                t["qty"], Decimal(t["price"]) * t["qty"], t["executed_us"]))

    def restore(self, open_orders: list[OrderRecord]) -> None:
        """Put journaled open orders back into their books, in time priority."""
        for rec in open_orders:
            self.orders[rec.order_id] = rec
            self.books[rec.symbol].restore(RestingOrder(self._book_order(rec), rec.leaves, rec.cum, rec.priority))
            self._schedule_expiry(rec)
            self._sync_hold(rec)

    # ------------------------------------------------------------ the sequencer's interface
    def take(self) -> tuple[JournalBatch, list[Report]]:
        """Hand over what was produced since the last call (market data increments last) and start
        afresh."""
        if self._md_changed or self._md_trades:
            if self.market_data.symbols():
                self.outbound.extend(self.market_data.updates(
                    self.books, self._md_changed, self._md_trades,
                    {sym: sec.to_price for sym, sec in self.securities.items()}))
            self._md_changed, self._md_trades = set(), {}
        batch, out = self.batch, self.outbound
        self.batch, self.outbound = JournalBatch(), []
        return batch, out

    def next_timer_us(self) -> int | None:
        expiry = self._expiries[0][0] if self._expiries else None
        return self._next_due if expiry is None else min(expiry, self._next_due)

    def handle(self, cmd: Command, now_us: int) -> None:
        """Apply one command."""
        self._now = now_us
        if now_us >= self._cl_roll_us:
            self._roll_cl_ord_day(now_us)
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
        day = utc_day(now_us)
        if self._cl_day is None or day > self._cl_day:
            if self._cl_day is not None:  # else the index was loaded for this day
                orders = self.orders
                self.cl_ord_index = {k: v for k, v in self.cl_ord_index.items() if v is not None and v in orders}
            self._cl_day = day
        self._cl_roll_us = (now_us // DAY_US + 1) * DAY_US

    def run_timers(self, now_us: int) -> None:
        """Change phases as the calendar says, run due periodic auctions, expire Day orders at their
        session's close and GTD orders at their expiry time."""
        self._now = now_us
        if now_us >= self._next_due:
            self._advance_phases(now_us)
        while self._expiries and self._expiries[0][0] <= now_us:
            _, order_id = heapq.heappop(self._expiries)
            rec = self.orders.get(order_id)
            if rec is None or not rec.status.is_open:
                continue
            self._apply(self.books[rec.symbol].cancel(order_id, CancelReason.EXPIRED))

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
                self._report(rec, ExecType.REJECTED, text=text, ord_rej_reason=OrdRejReason.OTHER,
                             venue_reason="X900")
            else:
                self._reject_new(cmd, GateReject("X900", OrdRejReason.OTHER, text))
        elif isinstance(cmd, (CancelCommand, ReplaceCommand)):
            self._cancel_reject(cmd, None, CxlRejReason.OTHER, "Internal error: request not processed")

    # ------------------------------------------------------------ new order
    def _new_order(self, cmd: NewOrderCommand) -> None:
        session = self.world.sessions.get(cmd.comp_id)
        member = self.world.members.get(session.member_id) if session and session.member_id else None
        security = self.securities.get(cmd.symbol)
        calendar = self.calendar_for(cmd.symbol)
        if cmd.tif == TimeInForce.GTD.value and cmd.expire_time_us is None and cmd.expire_date:
            try:
                day = date(int(cmd.expire_date[:4]), int(cmd.expire_date[4:6]), int(cmd.expire_date[6:8]))
                cmd = replace(cmd, expire_time_us=calendar.end_of_day_us(day))
            except ValueError:
                self._reject_new(cmd, GateReject("O340", OrdRejReason.OTHER, "ExpireDate(432) is not a valid date"))
                return
        book = self.books.get(cmd.symbol)
        ctx = GateContext(
            session=session, member=member, security=security,
            account=self.world.accounts.get(cmd.account) if cmd.account else None,
            duplicate_cl_ord_id=(cmd.comp_id, cmd.cl_ord_id) in self.cl_ord_index,
            trading_day_open=book is None or book.phase is not Phase.CLOSED,
            now_us=self._now, ledger=self.ledger, reference_ticks=book.reference_price if book else None,
            entitled=self._entitled(member.member_id if member else None, cmd.symbol),
            recent_messages=self._count_message(cmd.comp_id), market_collar_bps=self.market_collar_bps,
            accredited_count=self._holder_counts, chain=self.chain,
            crossing=self._crossing(cmd, security, book) if self.chain is not None else None,
        )
        refused = check_new_order(cmd, ctx)
        self._audit(cmd, ctx, refused)
        if refused is not None:
            self._reject_new(cmd, refused)
            return
        assert security is not None and member is not None and cmd.qty is not None
        self.ids.order += 1
        rec = OrderRecord(
            order_id=self.ids.order, comp_id=cmd.comp_id, member_id=member.member_id, cl_ord_id=cmd.cl_ord_id,
            account=cmd.account or "", symbol=cmd.symbol, side=Side(cmd.side), ord_type=OrdType(cmd.ord_type),
            price=None if cmd.price is None else security.to_ticks(cmd.price), qty=int(cmd.qty),
            tif=TimeInForce(cmd.tif), min_qty=int(cmd.min_qty or 0), expire_at_us=cmd.expire_time_us,
            trading_day=calendar.trading_day(self._now).isoformat(),
            smp=SelfMatchPrevention(cmd.smp or member.default_smp),
            leaves=int(cmd.qty), created_us=cmd.received_us or self._now, updated_us=self._now,
        )
        self.orders[rec.order_id] = rec
        self.cl_ord_index[(rec.comp_id, rec.cl_ord_id)] = rec.order_id
        self.batch.gate_decisions[-1]["order_id"] = rec.order_id
        self.batch.order_changed(rec, new=True)
        self.batch.cl_ord_ids.append({"comp_id": rec.comp_id, "cl_ord_id": rec.cl_ord_id, "day": self._cl_day,
                                      "order_id": rec.order_id})
        self._apply(self.books[rec.symbol].submit(self._book_order(rec)))

    @staticmethod
    def _crossing(cmd: NewOrderCommand, security, book):
        """Who a new order would trade with if it came now (for the gates' canTransfer check)."""
        if book is None or security is None or cmd.qty is None or cmd.side not in ("1", "2") or not cmd.account:
            return None
        price = None if cmd.price is None else security.to_ticks(cmd.price)
        side = Side(cmd.side)
        return lambda: book.crossing(side, price, cmd.account, int(cmd.qty))

    def _entitled(self, member_id: str | None, symbol: str) -> bool:
        if self.entitlements is None or member_id is None:
            return True
        granted = self.entitlements.get(member_id, frozenset())
        return "*" in granted or symbol in granted

    def _count_message(self, comp_id: str) -> int:
        """Order messages from a session in the last second, this one included."""
        window = self._rate.setdefault(comp_id, deque())
        window.append(self._now)
        while window[0] <= self._now - 1_000_000:
            window.popleft()
        return len(window)

    def _holder_counts(self, symbol: str) -> tuple[int, int]:
        holders = self.ledger.holders(symbol)
        today = utc_day(self._now)
        non_accredited = sum(1 for acct in holders
                             if (a := self.world.accounts.get(acct)) is None or not accreditation_current(a, today))
        return len(holders), non_accredited

    def _audit(self, cmd: NewOrderCommand, ctx: GateContext, refused: GateReject | None) -> None:
        """Journal the gate decision with what the gates looked at (Reg ATS order audit)."""
        self.batch.gate_decisions.append({
            "at_us": self._now, "comp_id": cmd.comp_id, "cl_ord_id": cmd.cl_ord_id or "", "order_id": None,
            "symbol": cmd.symbol or "", "account": cmd.account, "side": (cmd.side or "")[:1],
            "qty": None if cmd.qty is None else str(cmd.qty), "price": None if cmd.price is None else str(cmd.price),
            "outcome": "pass" if refused is None else "reject", "gate": refused.venue_code if refused else None,
            "text": refused.text if refused else None,
            "inputs": json.dumps(ctx.inputs, sort_keys=True, default=str),
        })

    def _reject_new(self, cmd: NewOrderCommand, refused: GateReject) -> None:
        """Answer a refused new order. No order is created and the ClOrdID stays free for a retry."""
        session = self.world.sessions.get(cmd.comp_id)
        member_id = session.member_id if session else None
        qty = _int_or_zero(cmd.qty)
        self._send_exec(ExecutionReport(
            to=cmd.comp_id, order_id=NONE_ORDER_ID, cl_ord_id=cmd.cl_ord_id, exec_id=self._next_exec_id(),
            exec_type=ExecType.REJECTED.value, ord_status=OrdStatus.REJECTED.value, symbol=cmd.symbol,
            side=cmd.side, order_qty=qty, leaves_qty=0, cum_qty=0, avg_px=Decimal(0),
            transact_time_us=self._now, account=cmd.account, price=cmd.price, ord_type=cmd.ord_type, tif=cmd.tif,
            ord_rej_reason=refused.ord_rej_reason, venue_reason=refused.venue_code, text=refused.text,
            copy_to=self._copies_for(member_id),
        ), order_id=None)

    # ------------------------------------------------------------ cancel / replace / status
    def _find(self, comp_id: str, orig_cl_ord_id: str | None, order_id: str | None) -> OrderRecord | None:
        """The order a request refers to, only if it belongs to the requesting member."""
        session = self.world.sessions.get(comp_id)
        if session is None or session.member_id is None:
            return None
        rec: OrderRecord | None = None
        if order_id and order_id != NONE_ORDER_ID:
            try:
                oid = int(order_id)
            except ValueError:
                return None
            if not 0 < oid < 2**63:  # no such OrderID, and beyond what the journal can look up
                return None
            rec = self._lookup(oid)
        elif orig_cl_ord_id:
            oid2 = self.cl_ord_index.get((comp_id, orig_cl_ord_id))
            if oid2 is not None:
                rec = self._lookup(oid2)
        if rec is None or rec.member_id != session.member_id:
            return None  # another member's order is answered exactly like an unknown one
        return rec

    def _lookup(self, order_id: int) -> OrderRecord | None:
        """An order by id: live, or closed in the batch not yet committed, or as the store holds it."""
        return self.orders.get(order_id) or self.batch.orders.get(order_id) or self._load_order(order_id)

    def _request_refusal(self, cmd: CancelCommand | ReplaceCommand, rec: OrderRecord | None) -> tuple[int, str] | None:
        session = self.world.sessions.get(cmd.comp_id)
        if session is None or session.role is not SessionRole.ORDER_ENTRY:
            return CxlRejReason.OTHER, "This session may not cancel or replace orders (drop copy)"
        if not cmd.cl_ord_id:
            return CxlRejReason.OTHER, "ClOrdID(11) is required"
        if (cmd.comp_id, cmd.cl_ord_id) in self.cl_ord_index:
            return CxlRejReason.DUPLICATE_CL_ORD_ID, f"Duplicate ClOrdID {cmd.cl_ord_id}"
        if rec is None:
            return CxlRejReason.UNKNOWN_ORDER, "Unknown order"
        if not rec.status.is_open:
            return CxlRejReason.TOO_LATE, f"Too late: order is {rec.status.name.lower().replace('_', ' ')}"
        if cmd.symbol != rec.symbol or cmd.side != rec.side.value:
            return CxlRejReason.OTHER, "Symbol(55) and Side(54) must match the order"
        return None

    def _cancel(self, cmd: CancelCommand) -> None:
        rec = self._find(cmd.comp_id, cmd.orig_cl_ord_id, cmd.order_id)
        refusal = self._request_refusal(cmd, rec)
        if refusal is not None:
            self._cancel_reject(cmd, rec, *refusal)
            return
        assert rec is not None
        self._register_request_id(cmd.comp_id, cmd.cl_ord_id, rec.order_id)
        self._pending = _Pending(cmd.cl_ord_id, cmd.orig_cl_ord_id or rec.cl_ord_id)
        try:
            self._apply(self.books[rec.symbol].cancel(rec.order_id, CancelReason.REQUESTED), request=cmd)
        finally:
            self._pending = None

    def _replace(self, cmd: ReplaceCommand) -> None:
        rec = self._find(cmd.comp_id, cmd.orig_cl_ord_id, cmd.order_id)
        refusal = self._request_refusal(cmd, rec) or self._replace_refusal(cmd, rec)
        if refusal is not None:
            self._cancel_reject(cmd, rec, *refusal)
            return
        assert rec is not None and cmd.qty is not None
        security = self.securities[rec.symbol]
        price = None if cmd.price is None else security.to_ticks(cmd.price)
        self._register_request_id(cmd.comp_id, cmd.cl_ord_id, rec.order_id)
        self._pending = _Pending(cmd.cl_ord_id, cmd.orig_cl_ord_id or rec.cl_ord_id)
        try:
            self._apply(self.books[rec.symbol].replace(rec.order_id, int(cmd.qty), price), request=cmd)
        finally:
            self._pending = None

    def _replace_refusal(self, cmd: ReplaceCommand, rec: OrderRecord | None) -> tuple[int, str] | None:
        assert rec is not None
        security = self.securities[rec.symbol]
        if security.trading_status is TradingStatus.HALTED:
            return CxlRejReason.OTHER, f"Trading in {rec.symbol} is halted: replace not accepted (cancel is)"
        if cmd.ord_type != rec.ord_type.value:
            return CxlRejReason.OTHER, "OrdType(40) cannot be changed by a replace"
        if cmd.tif is not None and cmd.tif != rec.tif.value:
            return CxlRejReason.OTHER, "TimeInForce(59) cannot be changed by a replace"
        if cmd.account is not None and cmd.account != rec.account:
            return CxlRejReason.OTHER, "Account(1) cannot be changed by a replace"
        probe = NewOrderCommand(comp_id=cmd.comp_id, cl_ord_id=cmd.cl_ord_id, symbol=rec.symbol,
                                side=rec.side.value, ord_type=rec.ord_type.value, qty=cmd.qty, price=cmd.price,
                                tif=rec.tif.value, account=rec.account)
        ctx = GateContext(None, None, security, None, False, True, self._now)
        refused = quantity_valid(probe, ctx) or price_valid(probe, ctx)
        if refused is not None:
            return CxlRejReason.OTHER, refused.text
        funding = self._replace_funding_refusal(rec, int(cmd.qty), None if cmd.price is None
                                                else security.to_ticks(cmd.price))
        if funding is not None:
            return CxlRejReason.OTHER, funding
        return None

    def _status(self, cmd: StatusCommand) -> None:
        session = self.world.sessions.get(cmd.comp_id)
        rec = self._find(cmd.comp_id, cmd.cl_ord_id, cmd.order_id)
        if rec is None or (session is not None and session.role is not SessionRole.ORDER_ENTRY):
            self._send_exec(ExecutionReport(
                to=cmd.comp_id, order_id=NONE_ORDER_ID, cl_ord_id=cmd.cl_ord_id or "",
                exec_id=self._next_exec_id(), exec_type=ExecType.ORDER_STATUS.value,
                ord_status=OrdStatus.REJECTED.value, symbol=cmd.symbol, side=cmd.side, order_qty=0, leaves_qty=0,
                cum_qty=0, avg_px=Decimal(0), transact_time_us=self._now, ord_rej_reason=OrdRejReason.UNKNOWN_ORDER,
                text="Unknown order"), order_id=None)
            return
        self._report(rec, ExecType.ORDER_STATUS, copy=False)

    # ------------------------------------------------------------ trading phases
    def phase(self, symbol: str) -> Phase:
        return self.books[symbol].phase

    def _advance_phases(self, now_us: int) -> None:
        """Apply every calendar phase change and periodic auction that is due at `now_us`."""
        for symbol, due in list(self._phase_due.items()):
            if due > now_us:
                continue
            scheduled, until = self.calendar_for(symbol).phase_at(now_us)
            self._phase_due[symbol] = until
            if self._scheduled.get(symbol) is not scheduled:
                self._scheduled[symbol] = scheduled
                if self.securities[symbol].trading_status is not TradingStatus.HALTED:
                    self._enter_phase(symbol, "trading calendar")
        for symbol, due in list(self._auction_due.items()):
            if due <= now_us:
                if self.books[symbol].phase is Phase.PERIODIC_AUCTION:
                    self._auction(symbol, "periodic auction")
                    self._auction_due[symbol] = self._next_auction_us(symbol, now_us)
                else:
                    del self._auction_due[symbol]
        dues = [*self._phase_due.values(), *self._auction_due.values()]
        self._next_due = min(dues) if dues else 1 << 62

    def _target_phase(self, symbol: str) -> Phase:
        scheduled = self._scheduled.get(symbol, SessionPhase.CLOSED)
        if scheduled is SessionPhase.OPEN:
            return Phase.PERIODIC_AUCTION if self.securities[symbol].auction_interval_s else Phase.CONTINUOUS
        return Phase.PRE_OPEN if scheduled is SessionPhase.PRE_OPEN else Phase.CLOSED

    def _enter_phase(self, symbol: str, reason: str) -> None:
        """Move a security's book to the phase its calendar (and trading mode) calls for. Opening
        from a call phase, closed or a halt goes through an opening call auction."""
        book = self.books[symbol]
        target = self._target_phase(symbol)
        current = book.phase
        if target is current:
            return
        if target in (Phase.CONTINUOUS, Phase.PERIODIC_AUCTION) and current not in (Phase.CONTINUOUS,
                                                                                     Phase.PERIODIC_AUCTION):
            self._apply(book.set_phase(Phase.OPENING_AUCTION))
            self._announce(symbol, Phase.OPENING_AUCTION, reason)
            self._auction(symbol, "opening auction")
        elif target is Phase.CONTINUOUS and current is Phase.PERIODIC_AUCTION:
            self._auction(symbol, "last periodic auction")  # continuous trading starts uncrossed
        if target is Phase.PERIODIC_AUCTION:
            self._auction_due[symbol] = self._next_auction_us(symbol, self._now)
            self._next_due = min(self._next_due, self._auction_due[symbol])
        self._apply(book.set_phase(target))
        self._announce(symbol, target, reason)

    def _auction(self, symbol: str, kind: str) -> None:
        """Uncross the book at one clearing price; journal the result when anything traded."""
        before = self.ids.trade
        self._apply(self.books[symbol].uncross())
        if self.ids.trade > before:
            trades = self.batch.trades[-(self.ids.trade - before):]
            self.batch.security_events.append({
                "symbol": symbol, "event": "auction", "at_us": self._now,
                "reason": f"{kind}: {sum(t['qty'] for t in trades)} at {trades[0]['price']} "
                          f"in {len(trades)} trades"})

    def _next_auction_us(self, symbol: str, now_us: int) -> int:
        interval = (self.securities[symbol].auction_interval_s or 1) * 1_000_000
        return (now_us // interval + 1) * interval

    def _announce(self, symbol: str, phase: Phase, reason: str) -> None:
        self.batch.security_events.append({"symbol": symbol, "event": f"phase {phase.value}", "reason": reason,
                                           "at_us": self._now})
        self.outbound.append(TradingSessionStatusReport(symbol, phase.value, reason, self._now))

    # ------------------------------------------------------------ sessions, market data, reference data
    def _session_event(self, cmd: SessionEvent) -> None:
        if cmd.logged_on:
            return
        self.market_data.drop_session(cmd.comp_id)
        session = self.world.sessions.get(cmd.comp_id)
        if session is None or not session.cancel_on_disconnect:
            return
        for rec in self._open_orders_of(cmd.comp_id, None, None):
            if session.cod_keep_gtc and rec.tif is TimeInForce.GTC:
                continue
            self._apply(self.books[rec.symbol].cancel(rec.order_id, CancelReason.DISCONNECT))

    def _open_orders_of(self, comp_id: str, symbol: str | None, side: str | None) -> list[OrderRecord]:
        return sorted((r for r in self.orders.values()
                       if r.comp_id == comp_id and r.status.is_open and r.status is not OrdStatus.PENDING_NEW
                       and (symbol is None or r.symbol == symbol) and (side is None or r.side.value == side)),
                      key=lambda r: r.order_id)

    def _mass_cancel(self, cmd: MassCancelCommand) -> None:
        """Cancel this session's open orders: all (530=7) or one security's (530=1), optionally one side."""
        session = self.world.sessions.get(cmd.comp_id)
        refusal = None
        if session is None or session.role is not SessionRole.ORDER_ENTRY:
            refusal = "This session may not cancel orders (drop copy)"
        elif cmd.request_type not in ("1", "7"):
            refusal = f"MassCancelRequestType {cmd.request_type} not supported: use 1 (security) or 7 (all orders)"
        elif cmd.request_type == "1" and cmd.symbol not in self.securities:
            refusal = f"Unknown symbol {cmd.symbol}" if cmd.symbol else "Symbol(55) is required with 530=1"
        elif cmd.side not in (None, "1", "2"):
            refusal = f"Side {cmd.side} not supported: use 1 or 2"
        self._mass_cancels += 1
        report_id = f"MC{self._mass_cancels}"
        if refusal is not None:
            self.outbound.append(MassCancelReport(cmd.comp_id, cmd.cl_ord_id, report_id, cmd.request_type, "0", (),
                                                  cmd.symbol, cmd.side, self._now, "99", refusal))
            return
        symbol = cmd.symbol if cmd.request_type == "1" else None
        targets = self._open_orders_of(cmd.comp_id, symbol, cmd.side)
        affected = tuple((r.cl_ord_id, str(r.order_id)) for r in targets)
        for rec in targets:
            self._apply(self.books[rec.symbol].cancel(rec.order_id, CancelReason.MASS_CANCEL))
        # After the cancels: when the report arrives, every cancel it counts has arrived before it.
        self.outbound.append(MassCancelReport(cmd.comp_id, cmd.cl_ord_id, report_id, cmd.request_type,
                                              cmd.request_type, affected, symbol, cmd.side, self._now,
                                              text=f"{len(targets)} orders canceled"))

    def _market_data_request(self, cmd: MarketDataRequestCommand) -> None:
        session = self.world.sessions.get(cmd.comp_id)

        def reject(reason: str, text: str) -> None:
            self.outbound.append(MarketDataReject(cmd.comp_id, cmd.req_id, reason, text))

        if cmd.subscription_type == "2":
            if not self.market_data.unsubscribe(cmd.comp_id, cmd.req_id):
                reject("0", f"No subscription {cmd.req_id} to end")
            return
        if cmd.subscription_type not in ("0", "1"):
            return reject("4", f"SubscriptionRequestType {cmd.subscription_type} not supported: use 0, 1 or 2")
        if not cmd.req_id:
            return reject("1", "MDReqID(262) is required")
        if self.market_data.is_subscribed(cmd.comp_id, cmd.req_id):
            return reject("1", f"Duplicate MDReqID {cmd.req_id}: a subscription with that id is live")
        if cmd.depth is None or cmd.depth < 0:
            return reject("5", "MarketDepth(264) must be 0 (full book) or a positive number of levels")
        if cmd.subscription_type == "1" and cmd.update_type not in (None, "1"):
            return reject("6", "MDUpdateType(265) 1 (incremental) is the only update type offered")
        if not cmd.entry_types or any(t not in ("0", "1", "2") for t in cmd.entry_types):
            return reject("8", "MDEntryType(269) must be 0 (bid), 1 (offer) or 2 (trade)")
        if len(cmd.symbols) != 1:
            return reject("0", "Give exactly one Symbol(55) per MarketDataRequest")
        symbol = cmd.symbols[0]
        if symbol not in self.securities:
            return reject("0", f"Unknown symbol {symbol}")
        member_id = session.member_id if session else None
        if session is None or (member_id is not None and not self._entitled(member_id, symbol)):
            return reject("3", f"Not entitled to market data for {symbol}")
        self.outbound.append(self.market_data.subscribe(
            cmd.comp_id, cmd.req_id, symbol, cmd.depth, self.books[symbol], self.securities[symbol].to_price,
            updates=cmd.subscription_type == "1", entry_types=frozenset(cmd.entry_types)))

    def _security_list(self, cmd: SecurityListRequestCommand) -> None:
        if cmd.list_type == "4":
            symbols = sorted(self.securities)
        elif cmd.list_type == "0":
            symbols = [cmd.symbol] if cmd.symbol in self.securities else []
        else:
            self.outbound.append(SecurityListReport(cmd.comp_id, cmd.req_id, cmd.req_id, "1", (),
                                                    f"SecurityListRequestType {cmd.list_type} not supported: "
                                                    "use 0 (one symbol) or 4 (all securities)"))
            return
        entries = tuple(SecurityListEntry(sym, sec.name, sec.currency, sec.tick_size, sec.lot_size,
                                          book.phase.value, _restrictions(sec),
                                          None if book.reference_price is None else sec.to_price(book.reference_price),
                                          sec.band_bps)
                        for sym in symbols for sec, book in ((self.securities[sym], self.books[sym]),))
        self.outbound.append(SecurityListReport(cmd.comp_id, cmd.req_id, cmd.req_id, "0" if entries else "2",
                                                entries, None if entries else f"Unknown symbol {cmd.symbol}"))

    # ------------------------------------------------------------ settlement outcomes
    def _settlement(self, ev: SettlementEvent) -> None:
        """A trade settled (final: move balances, TradeCaptureReport to both sides) or cannot settle
        (failed: release what it held, bust it with 150=H to both sides). The event is marked
        processed in the same commit as the reports' journal."""
        self.batch.settlement_done.append({"id": ev.event_id, "processed_us": self._now})
        trade = ev.trade
        if ev.outcome == "final":
            self.ledger.settle(ev.trade_id, ev.block_number)
            for fill in ev.fills:
                session = self.world.sessions.get(fill["comp_id"])
                self.outbound.append(SettlementReport(
                    to=fill["comp_id"], trade_id=str(ev.trade_id), symbol=trade["symbol"], side=fill["side"],
                    qty=trade["qty"], price=Decimal(trade["price"]), order_id=str(fill["order_id"]),
                    cl_ord_id=fill["cl_ord_id"], account=fill["account"] or "", tx_hash=ev.tx_hash or "",
                    block_number=ev.block_number, status="final", executed_us=trade["executed_us"],
                    transact_time_us=self._now, copy_to=self._copies_for(session.member_id if session else None)))
        elif ev.outcome == "failed":
            self.ledger.bust(ev.trade_id)
            for fill in ev.fills:
                self._bust(fill, trade, ev.reason or "settlement failed")
        else:
            log.error("settlement event %d has unknown outcome %r", ev.event_id, ev.outcome)

    def _bust(self, fill: dict, trade: dict, reason: str) -> None:
        rec = self._lookup(fill["order_id"])
        if rec is None:
            log.error("trade %s bust: order %s not found", trade["trade_id"], fill["order_id"])
            return
        security = self.securities[rec.symbol]
        rec.bust(trade["qty"], trade["price_ticks"])
        rec.updated_us = self._now
        self._sync_hold(rec)
        self._report(rec, ExecType.TRADE_CANCEL, last_qty=trade["qty"],
                     last_px=security.to_price(trade["price_ticks"]), trade_id=str(trade["trade_id"]),
                     exec_ref_id=str(fill["exec_id"]),
                     text=f"Trade {trade['trade_id']} canceled: it could not settle on-chain ({reason})")
        self.batch.order_changed(rec)

    # ------------------------------------------------------------ ops
    def _ops(self, cmd: OpsCommand) -> None:
        symbol = cmd.argument
        if cmd.command in ("halt", "resume"):
            if symbol not in self.securities:
                self._ops_done(cmd, "failed", f"unknown symbol {symbol}")
                return
            target = TradingStatus.HALTED if cmd.command == "halt" else TradingStatus.OPEN
            if self.securities[symbol].trading_status is target:
                self._ops_done(cmd, "done", f"{symbol} already {target.value}")
                return
            self._set_trading_status(symbol, target, f"{cmd.command} by venue operations")
            self._ops_done(cmd, "done", f"{symbol} {target.value}")
        elif cmd.command in ("kill", "unkill"):
            member = self.world.members.get(cmd.argument)
            if member is None:
                self._ops_done(cmd, "failed", f"unknown member {cmd.argument}")
                return
            self.world.members[member.member_id] = replace(member, killed=cmd.command == "kill")
            canceled = 0
            if cmd.command == "kill":
                for rec in sorted(self.orders.values(), key=lambda r: r.order_id):
                    if rec.member_id == member.member_id and rec.status.is_open:
                        self._apply(self.books[rec.symbol].cancel(rec.order_id, CancelReason.OPS))
                        canceled += 1
            self._ops_done(cmd, "done", f"{member.member_id} kill switch {'on' if cmd.command == 'kill' else 'off'}"
                                        + (f": {canceled} open orders canceled" if cmd.command == "kill" else ""))
        elif cmd.command == "reload":
            if cmd.payload is None:
                self._ops_done(cmd, "failed", "reload needs the registry")
                return
            world, entitlements = cmd.payload
            self.reload(world, entitlements)
            self._ops_done(cmd, "done", "registry reloaded")
        else:
            self._ops_done(cmd, "failed", f"unknown command {cmd.command}")

    def reload(self, world: World, entitlements: dict[str, frozenset[str]] | None) -> None:
        """Take registry changes (members, accounts, security rules, entitlements) without a restart.
        Trading status stays the core's (halts are ops commands); new securities get a book; new
        FIX sessions need a restart of the acceptor."""
        self.world = world
        self.entitlements = entitlements
        for symbol, sec in world.securities.items():
            current = self.securities.get(symbol)
            if current is None:
                ref = None if sec.reference_price is None else sec.to_ticks(sec.reference_price)
                self.books[symbol] = self._book_factory(BookConfig(reference_price=ref, band_bps=sec.band_bps))
                self.books[symbol].set_phase(Phase.CLOSED)
                self.securities[symbol] = sec
                self._phase_due[symbol] = 0
                self._next_due = 0
            else:
                self.securities[symbol] = replace(sec, trading_status=current.trading_status)
                if sec.auction_interval_s != current.auction_interval_s and \
                        current.trading_status is not TradingStatus.HALTED:
                    self._enter_phase(symbol, "trading mode changed by venue operations")
        self._index_drop_copies()

    def _ops_done(self, cmd: OpsCommand, status: str, result: str) -> None:
        self.batch.ops_done.append({"id": cmd.command_id, "status": status, "result": result, "done_us": self._now})

    def _set_trading_status(self, symbol: str, status: TradingStatus, reason: str) -> None:
        """Halt or resume a security. A resume goes through a call-auction uncross before
        continuous trading, so a book that crossed during the halt opens at one fair price."""
        book = self.books[symbol]
        self.securities[symbol] = replace(self.securities[symbol], trading_status=status)
        if status is TradingStatus.HALTED:
            self._apply(book.set_phase(Phase.HALTED))
            self._announce(symbol, Phase.HALTED, reason)
        else:
            self._enter_phase(symbol, reason)
        self.batch.security_status[symbol] = status.value
        self.batch.security_events.append({"symbol": symbol, "event": status.value, "reason": reason,
                                           "at_us": self._now})
        self.outbound.append(SecurityStatusReport(symbol, status is TradingStatus.HALTED, reason, self._now))

    # ------------------------------------------------------------ book events -> records and reports
    def _apply(self, events: list[Event], request: CancelCommand | ReplaceCommand | None = None) -> None:
        for ev in events:
            if isinstance(ev, Trade):
                self._trade(ev)
                continue
            rec = self.orders.get(ev.order_id)
            if rec is None:
                if isinstance(ev, Rejected) and request is not None:  # the order closed meanwhile
                    self._cancel_reject(request, self._lookup(ev.order_id), CxlRejReason.TOO_LATE, ev.reason.value)
                    continue
                raise KeyError(f"book event for order {ev.order_id}, which the core does not hold: {ev!r}")
            rec.updated_us = self._now
            self._md_changed.add(rec.symbol)
            if isinstance(ev, Accepted):
                rec.priority = ev.priority
                rec.apply(OrderEvent.ACCEPT)
                self._report(rec, ExecType.NEW)
            elif isinstance(ev, Canceled):
                rec.leaves = 0
                if ev.reason is CancelReason.EXPIRED:
                    rec.apply(OrderEvent.EXPIRE)
                    exec_type = ExecType.EXPIRED
                else:
                    rec.apply(OrderEvent.CANCEL)
                    exec_type = ExecType.CANCELED
                rec.text = ev.reason.value
                if ev.reason is CancelReason.REQUESTED and self._pending is not None:
                    rec.orig_cl_ord_id, rec.cl_ord_id = self._pending.orig_cl_ord_id, self._pending.cl_ord_id
                self._report(rec, exec_type, text=ev.reason.value)
            elif isinstance(ev, Replaced):
                assert self._pending is not None
                rec.orig_cl_ord_id, rec.cl_ord_id = self._pending.orig_cl_ord_id, self._pending.cl_ord_id
                rec.qty, rec.price, rec.leaves, rec.priority = ev.qty, ev.price, ev.leaves, ev.priority
                rec.apply(OrderEvent.REPLACE)
                self._report(rec, ExecType.REPLACED)
            elif isinstance(ev, Rejected):
                if request is not None:
                    self._cancel_reject(request, rec, CxlRejReason.OTHER, ev.reason.value)
                    continue
                code, reason = _BOOK_REJECT_CODES[ev.reason]
                rec.leaves = 0
                rec.apply(OrderEvent.REJECT)
                rec.text = ev.reason.value
                self._report(rec, ExecType.REJECTED, text=ev.reason.value, ord_rej_reason=reason, venue_reason=code)
            self._sync_hold(rec)
            self.batch.order_changed(rec)
            if rec.status.is_closed:
                self.orders.pop(rec.order_id, None)

    def _trade(self, ev: Trade) -> None:
        self.ids.trade += 1
        trade_id = self.ids.trade
        buy, sell = self.orders[ev.buy_order_id], self.orders[ev.sell_order_id]
        security = self.securities[buy.symbol]
        self.batch.trades.append({
            "trade_id": trade_id, "symbol": buy.symbol, "price_ticks": ev.price,
            "price": str(security.to_price(ev.price)), "qty": ev.qty, "buy_order_id": buy.order_id,
            "sell_order_id": sell.order_id, "buy_account": buy.account, "sell_account": sell.account,
            "buy_member": buy.member_id, "sell_member": sell.member_id,
            "aggressor": ev.aggressor.value if ev.aggressor else None, "executed_us": self._now,
            "settlement_status": "pending",
        })
        self._md_changed.add(buy.symbol)
        self._md_trades.setdefault(buy.symbol, []).append((ev.price, ev.qty, str(trade_id)))
        cash = security.to_price(ev.price) * ev.qty
        self.ledger.add_unsettled(Unsettled(trade_id, buy.symbol, buy.account, sell.account, ev.qty, cash, self._now))
        # Report the resting side first: it was in the book before the aggressor arrived.
        pair = (buy, ev.buy_leaves), (sell, ev.sell_leaves)
        if ev.aggressor is Side.BUY:
            pair = pair[1], pair[0]
        for rec, leaves in pair:
            rec.updated_us = self._now
            rec.fill(ev.qty, ev.price, leaves)
            self._report(rec, ExecType.TRADE, last_qty=ev.qty, last_px=security.to_price(ev.price),
                         trade_id=str(trade_id))
            self._sync_hold(rec)
            self.batch.order_changed(rec)
            if rec.status.is_closed:
                self.orders.pop(rec.order_id, None)

    # ------------------------------------------------------------ reports
    def _report(self, rec: OrderRecord, exec_type: ExecType, *, copy: bool = True, text: str | None = None,
                last_qty: int | None = None, last_px: Decimal | None = None, trade_id: str | None = None,
                ord_rej_reason: int | None = None, venue_reason: str | None = None,
                exec_ref_id: str | None = None) -> None:
        security = self.securities[rec.symbol]
        report = ExecutionReport(
            to=rec.comp_id, order_id=str(rec.order_id), cl_ord_id=rec.cl_ord_id, exec_id=self._next_exec_id(),
            exec_type=exec_type.value, ord_status=rec.status.value, symbol=rec.symbol, side=rec.side.value,
            order_qty=rec.qty, leaves_qty=rec.leaves, cum_qty=rec.cum, avg_px=_avg_px(rec, security),
            transact_time_us=self._now, account=rec.account,
            price=None if rec.price is None else security.to_price(rec.price), ord_type=rec.ord_type.value,
            tif=rec.tif.value, orig_cl_ord_id=rec.orig_cl_ord_id if exec_type in (ExecType.CANCELED,
                                                                                   ExecType.REPLACED) else None,
            last_qty=last_qty, last_px=last_px, trade_id=trade_id, ord_rej_reason=ord_rej_reason,
            venue_reason=venue_reason, text=text, expire_time_us=rec.expire_at_us,
            min_qty=rec.min_qty or None, exec_ref_id=exec_ref_id,
            copy_to=self._copies_for(rec.member_id) if copy else (),
        )
        self._send_exec(report, order_id=rec.order_id)
        if exec_type is ExecType.NEW or exec_type is ExecType.REPLACED:
            self._schedule_expiry(rec)

    def _send_exec(self, r: ExecutionReport, order_id: int | None) -> None:
        self.batch.executions.append({
            "exec_id": int(r.exec_id), "order_id": order_id, "comp_id": r.to, "cl_ord_id": r.cl_ord_id,
            "orig_cl_ord_id": r.orig_cl_ord_id, "exec_type": r.exec_type, "ord_status": r.ord_status,
            "symbol": r.symbol, "side": r.side, "account": r.account, "order_qty": r.order_qty,
            "price": None if r.price is None else str(r.price), "last_qty": r.last_qty,
            "last_px": None if r.last_px is None else str(r.last_px), "leaves": r.leaves_qty, "cum": r.cum_qty,
            "avg_px": str(r.avg_px), "trade_id": int(r.trade_id) if r.trade_id else None,
            "ord_rej_reason": r.ord_rej_reason, "venue_reason": r.venue_reason, "text": r.text,
            "transact_us": r.transact_time_us,
        })
        self.outbound.append(r)

    def _cancel_reject(self, cmd: CancelCommand | ReplaceCommand, rec: OrderRecord | None, reason: int,
                       text: str) -> None:
        self.ids.cancel_reject += 1
        response_to = "2" if isinstance(cmd, ReplaceCommand) else "1"
        status = rec.status.value if rec is not None else OrdStatus.REJECTED.value
        order_id = str(rec.order_id) if rec is not None else NONE_ORDER_ID
        self.batch.cancel_rejects.append({
            "id": self.ids.cancel_reject, "comp_id": cmd.comp_id, "order_id": rec.order_id if rec else None,
            "cl_ord_id": cmd.cl_ord_id, "orig_cl_ord_id": cmd.orig_cl_ord_id, "response_to": response_to,
            "reason": reason, "text": text, "transact_us": self._now,
        })
        self.outbound.append(OrderCancelReject(
            to=cmd.comp_id, order_id=order_id, cl_ord_id=cmd.cl_ord_id, orig_cl_ord_id=cmd.orig_cl_ord_id,
            ord_status=status, response_to=response_to, reason=reason, text=text, transact_time_us=self._now))

    # ------------------------------------------------------------ replay after a crash
    def replay_report(self, row: dict) -> ExecutionReport:
        """A journaled execution as it was sent (to its session and drop copies), flagged PossResend."""
        session = self.world.sessions.get(row["comp_id"])
        member_id = session.member_id if session else None
        return ExecutionReport(
            to=row["comp_id"], order_id=str(row["order_id"]) if row["order_id"] is not None else NONE_ORDER_ID,
            cl_ord_id=row["cl_ord_id"], exec_id=str(row["exec_id"]), exec_type=row["exec_type"],
            ord_status=row["ord_status"], symbol=row["symbol"], side=row["side"], order_qty=row["order_qty"],
            leaves_qty=row["leaves"], cum_qty=row["cum"], avg_px=Decimal(row["avg_px"]),
            transact_time_us=row["transact_us"], account=row["account"],
            price=None if row["price"] is None else Decimal(row["price"]), orig_cl_ord_id=row["orig_cl_ord_id"],
            last_qty=row["last_qty"], last_px=None if row["last_px"] is None else Decimal(row["last_px"]),
            trade_id=None if row["trade_id"] is None else str(row["trade_id"]), ord_rej_reason=row["ord_rej_reason"],
            venue_reason=row["venue_reason"], text=row["text"],
            copy_to=self._copies_for(member_id) if row["exec_type"] != ExecType.ORDER_STATUS.value else (),
            poss_resend=True)

    # ------------------------------------------------------------ pre-funding holds
    def _hold_for(self, rec: OrderRecord, qty: int | None = None, price: int | None = None) -> Hold | None:
        """What an open order holds; `qty`/`price` give the hold it would have after a replace."""
        leaves = rec.leaves if qty is None else qty - rec.cum
        if not rec.status.is_open or leaves <= 0:
            return None
        if rec.side is Side.SELL:
            return Hold(rec.account, rec.symbol, tokens=leaves)
        security = self.securities[rec.symbol]
        ticks = price if price is not None else rec.price
        if ticks is None:  # a market buy resting in a call phase: the collar price
            reference = self.books[rec.symbol].reference_price
            ticks = 0 if reference is None else collar_ticks("1", reference, self.market_collar_bps)
        return Hold(rec.account, rec.symbol, cash=security.tick_size * ticks * leaves, buy_qty=leaves)

    def _sync_hold(self, rec: OrderRecord) -> None:
        self.ledger.hold(rec.order_id, self._hold_for(rec))

    def _replace_funding_refusal(self, rec: OrderRecord, qty: int, price: int | None) -> str | None:
        """A replace that needs more tokens or cash passes the same pre-funding gates as a new order."""
        old, new = self.ledger.order_hold(rec.order_id), self._hold_for(rec, qty, price)
        if new is None:
            return None
        ctx = GateContext(None, None, self.securities[rec.symbol], self.world.accounts.get(rec.account), False, True,
                          self._now, ledger=self.ledger)
        # The gates see the extra need as an order of its own: `extra` tokens to sell, or one unit
        # bought at the extra cash.
        if rec.side is Side.SELL:
            extra = new.tokens - (old.tokens if old else 0)
            probe = NewOrderCommand(rec.comp_id, "", rec.symbol, "2", "2", Decimal(extra), Decimal(1), "0", rec.account)
            refused = seller_may_deliver(probe, ctx) if extra > 0 else None
        else:
            extra_cash = new.cash - (old.cash if old else Decimal(0))
            probe = NewOrderCommand(rec.comp_id, "", rec.symbol, "1", "2", Decimal(1), extra_cash, "0", rec.account)
            refused = buyer_has_cash(probe, ctx) if extra_cash > 0 else None
        return None if refused is None else refused.text

    # ------------------------------------------------------------ helpers
    def _next_exec_id(self) -> str:
        self.ids.exec += 1
        return str(self.ids.exec)

    def _copies_for(self, member_id: str | None) -> tuple[str, ...]:
        if member_id is None:
            return self._drop_copy_all
        return self._drop_copy_all + self._drop_copy_member.get(member_id, ())

    def _register_request_id(self, comp_id: str, cl_ord_id: str, order_id: int) -> None:
        self.cl_ord_index[(comp_id, cl_ord_id)] = order_id
        self.batch.cl_ord_ids.append({"comp_id": comp_id, "cl_ord_id": cl_ord_id, "day": self._cl_day,
                                      "order_id": order_id})

    def _schedule_expiry(self, rec: OrderRecord) -> None:
        if rec.tif is TimeInForce.DAY:
            day = date.fromisoformat(rec.trading_day)
            heapq.heappush(self._expiries, (self.calendar_for(rec.symbol).close_us(day), rec.order_id))
        elif rec.tif is TimeInForce.GTD and rec.expire_at_us is not None:
            heapq.heappush(self._expiries, (rec.expire_at_us, rec.order_id))

    @staticmethod
    def _book_order(rec: OrderRecord) -> NewOrder:
        return NewOrder(order_id=rec.order_id, account=rec.account, side=rec.side, ord_type=rec.ord_type,
                        price=rec.price, qty=rec.qty, tif=rec.tif, min_qty=rec.min_qty, smp=rec.smp)


def _restrictions(sec: Security) -> str:
    """A one-line summary of a security's trading restrictions (SecurityList Text)."""
    parts = [sec.offering.value.replace("_", " ").upper().replace("REG D 506C", "Reg D 506(c)")]
    if sec.offering.value == "reg_d_506c":
        parts.append("accredited buyers only")
    if sec.holding_period_days:
        parts.append(f"holding period {sec.holding_period_days} days per lot")
    if sec.allowed_jurisdictions is not None:
        parts.append("buyers from " + ",".join(sorted(sec.allowed_jurisdictions)))
    if sec.denied_jurisdictions:
        parts.append("no buyers from " + ",".join(sorted(sec.denied_jurisdictions)))
    if sec.us_buyers_from is not None:
        parts.append(f"no US buyers before {sec.us_buyers_from.isoformat()}")
    if sec.max_holders:
        parts.append(f"max {sec.max_holders} holders")
    if sec.band_bps:
        parts.append(f"price band +-{sec.band_bps / 100:g}%")
    if sec.auction_interval_s:
        parts.append(f"periodic auctions every {sec.auction_interval_s}s")
    if sec.trading_status is TradingStatus.HALTED:
        parts.append("HALTED")
    return "; ".join(parts)


def _avg_px(rec: OrderRecord, security: Security) -> Decimal:
    if rec.cum == 0:
        return Decimal(0)
    avg = Decimal(rec.notional) * security.tick_size / rec.cum
    return avg.quantize(AVG_PX_PLACES, rounding=ROUND_HALF_EVEN).normalize()


def _int_or_zero(value: Decimal | None) -> int:
    """A quantity to journal and echo: the whole number given, or 0 if it is none (or out of range)."""
    try:
        number = int(value) if value is not None and value.is_finite() else 0
    except (ValueError, ArithmeticError):
        return 0
    return number if abs(number) < 2**63 else 0
