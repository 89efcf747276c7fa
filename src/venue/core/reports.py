"""Order records and what is reported about them.

Book events become order-record changes (through the one lifecycle table), journal rows and
execution reports (with their drop copies); also cancel rejects, the reject of a refused new
order, settlement outcomes (TradeCaptureReport when final, a bust with 150=H when failed), the
replay of journaled reports after a crash, and the pre-funding holds kept in step with each record.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal

from venue.book.types import (
    Accepted,
    BookReject,
    Canceled,
    CancelReason,
    Event,
    NewOrder,
    Rejected,
    Replaced,
    Side,
    Trade,
)
from venue.gates import GateReject, OrdRejReason, collar_ticks
from venue.ledger import Hold, Unsettled
from venue.messages import (
    CancelCommand,
    ExecutionReport,
    NewOrderCommand,
    OrderCancelReject,
    ReplaceCommand,
    SettlementEvent,
    SettlementReport,
)
from venue.model import Security
from venue.orders import ExecType, OrderEvent, OrderRecord, OrdStatus

log = logging.getLogger("venue.core")


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


@dataclass(frozen=True, slots=True)
class PendingRequest:
    """The cancel/replace request whose book events are being applied."""

    cl_ord_id: str
    orig_cl_ord_id: str


class ReportsMixin:
    """The order-record and reporting part of `VenueCore` (see `venue.core`)."""

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
                code = None
                if ev.reason is CancelReason.INELIGIBLE and self._ineligible is not None:
                    rec.text = f"{ev.reason.value}: {self._ineligible.text}"
                    code = self._ineligible.venue_code
                if ev.reason is CancelReason.REQUESTED and self._pending is not None:
                    rec.orig_cl_ord_id, rec.cl_ord_id = self._pending.orig_cl_ord_id, self._pending.cl_ord_id
                self._report(rec, exec_type, text=rec.text, venue_reason=code)
            elif isinstance(ev, Replaced):
                assert self._pending is not None
                rec.orig_cl_ord_id, rec.cl_ord_id = self._pending.orig_cl_ord_id, self._pending.cl_ord_id
                rec.qty, rec.price, rec.leaves, rec.priority = ev.qty, ev.price, ev.leaves, ev.priority
                rec.apply(OrderEvent.REPLACE)
                self._report(rec, ExecType.REPLACED)
            elif isinstance(ev, Rejected):
                if request is not None:
                    self._cancel_reject(
                        request, rec, CxlRejReason.OTHER, ev.reason.value, _BOOK_REJECT_CODES[ev.reason][0]
                    )
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
        seller_role = self.world.affiliations.get((sell.account, buy.symbol))  # Rule 144: who the buyer buys from
        self.batch.trades.append(
            {
                "trade_id": trade_id,
                "symbol": buy.symbol,
                "price_ticks": ev.price,
                "price": str(security.to_price(ev.price)),
                "qty": ev.qty,
                "buy_order_id": buy.order_id,
                "sell_order_id": sell.order_id,
                "buy_account": buy.account,
                "sell_account": sell.account,
                "buy_member": buy.member_id,
                "sell_member": sell.member_id,
                "aggressor": ev.aggressor.value if ev.aggressor else None,
                "executed_us": self._now,
                "settlement_status": "pending",
                "seller_role": seller_role.value if seller_role else None,
            }
        )
        self._md_changed.add(buy.symbol)
        self._md_trades.setdefault(buy.symbol, []).append((ev.price, ev.qty, str(trade_id)))
        cash = security.to_price(ev.price) * ev.qty
        self.ledger.add_unsettled(
            Unsettled(trade_id, buy.symbol, buy.account, sell.account, ev.qty, cash, self._now, seller_role)
        )
        # Report the resting side first: it was in the book before the aggressor arrived.
        pair = (buy, ev.buy_leaves), (sell, ev.sell_leaves)
        if ev.aggressor is Side.BUY:
            pair = pair[1], pair[0]
        for rec, leaves in pair:
            rec.updated_us = self._now
            rec.fill(ev.qty, ev.price, leaves)
            self._report(
                rec, ExecType.TRADE, last_qty=ev.qty, last_px=security.to_price(ev.price), trade_id=str(trade_id)
            )
            self._sync_hold(rec)
            self.batch.order_changed(rec)
            if rec.status.is_closed:
                self.orders.pop(rec.order_id, None)

    # ------------------------------------------------------------ reports
    def _report(
        self,
        rec: OrderRecord,
        exec_type: ExecType,
        *,
        copy: bool = True,
        text: str | None = None,
        last_qty: int | None = None,
        last_px: Decimal | None = None,
        trade_id: str | None = None,
        ord_rej_reason: int | None = None,
        venue_reason: str | None = None,
        exec_ref_id: str | None = None,
    ) -> None:
        security = self.securities[rec.symbol]
        report = ExecutionReport(
            to=rec.comp_id,
            order_id=str(rec.order_id),
            cl_ord_id=rec.cl_ord_id,
            exec_id=self._next_exec_id(),
            exec_type=exec_type.value,
            ord_status=rec.status.value,
            symbol=rec.symbol,
            side=rec.side.value,
            order_qty=rec.qty,
            leaves_qty=rec.leaves,
            cum_qty=rec.cum,
            avg_px=_avg_px(rec, security),
            transact_time_us=self._now,
            account=rec.account,
            price=None if rec.price is None else security.to_price(rec.price),
            ord_type=rec.ord_type.value,
            tif=rec.tif.value,
            orig_cl_ord_id=rec.orig_cl_ord_id if exec_type in (ExecType.CANCELED, ExecType.REPLACED) else None,
            last_qty=last_qty,
            last_px=last_px,
            trade_id=trade_id,
            ord_rej_reason=ord_rej_reason,
            venue_reason=venue_reason,
            text=text,
            expire_time_us=rec.expire_at_us,
            min_qty=rec.min_qty or None,
            exec_ref_id=exec_ref_id,
            copy_to=self._copies_for(rec.member_id) if copy else (),
        )
        self._send_exec(report, order_id=rec.order_id)
        if exec_type is ExecType.NEW or exec_type is ExecType.REPLACED:
            self._schedule_expiry(rec)

    def _send_exec(self, r: ExecutionReport, order_id: int | None) -> None:
        self.batch.executions.append(
            {
                "exec_id": int(r.exec_id),
                "order_id": order_id,
                "comp_id": r.to,
                "cl_ord_id": r.cl_ord_id,
                "orig_cl_ord_id": r.orig_cl_ord_id,
                "exec_type": r.exec_type,
                "ord_status": r.ord_status,
                "symbol": r.symbol,
                "side": r.side,
                "account": r.account,
                "order_qty": r.order_qty,
                "price": None if r.price is None else str(r.price),
                "last_qty": r.last_qty,
                "last_px": None if r.last_px is None else str(r.last_px),
                "leaves": r.leaves_qty,
                "cum": r.cum_qty,
                "avg_px": str(r.avg_px),
                "trade_id": int(r.trade_id) if r.trade_id else None,
                "ord_rej_reason": r.ord_rej_reason,
                "venue_reason": r.venue_reason,
                "text": r.text,
                "transact_us": r.transact_time_us,
            }
        )
        self.outbound.append(r)

    def _reject_new(self, cmd: NewOrderCommand, refused: GateReject) -> None:
        """Answer a refused new order. No order is created and the ClOrdID stays free for a retry."""
        session = self.world.sessions.get(cmd.comp_id)
        member_id = session.member_id if session else None
        qty = _int_or_zero(cmd.qty)
        self._send_exec(
            ExecutionReport(
                to=cmd.comp_id,
                order_id=NONE_ORDER_ID,
                cl_ord_id=cmd.cl_ord_id,
                exec_id=self._next_exec_id(),
                exec_type=ExecType.REJECTED.value,
                ord_status=OrdStatus.REJECTED.value,
                symbol=cmd.symbol,
                side=cmd.side,
                order_qty=qty,
                leaves_qty=0,
                cum_qty=0,
                avg_px=Decimal(0),
                transact_time_us=self._now,
                account=cmd.account,
                price=cmd.price,
                ord_type=cmd.ord_type,
                tif=cmd.tif,
                ord_rej_reason=refused.ord_rej_reason,
                venue_reason=refused.venue_code,
                text=refused.text,
                copy_to=self._copies_for(member_id),
            ),
            order_id=None,
        )

    def _cancel_reject(
        self,
        cmd: CancelCommand | ReplaceCommand,
        rec: OrderRecord | None,
        reason: int,
        text: str,
        venue_code: str | None = None,
    ) -> None:
        self.ids.cancel_reject += 1
        response_to = "2" if isinstance(cmd, ReplaceCommand) else "1"
        status = rec.status.value if rec is not None else OrdStatus.REJECTED.value
        order_id = str(rec.order_id) if rec is not None else NONE_ORDER_ID
        self.batch.cancel_rejects.append(
            {
                "id": self.ids.cancel_reject,
                "comp_id": cmd.comp_id,
                "order_id": rec.order_id if rec else None,
                "cl_ord_id": cmd.cl_ord_id,
                "orig_cl_ord_id": cmd.orig_cl_ord_id,
                "response_to": response_to,
                "reason": reason,
                "text": text,
                "transact_us": self._now,
                "venue_reason": venue_code,
            }
        )
        self.outbound.append(
            OrderCancelReject(
                to=cmd.comp_id,
                order_id=order_id,
                cl_ord_id=cmd.cl_ord_id,
                orig_cl_ord_id=cmd.orig_cl_ord_id,
                ord_status=status,
                response_to=response_to,
                reason=reason,
                text=text,
                transact_time_us=self._now,
                venue_reason=venue_code,
            )
        )

    # ------------------------------------------------------------ replay after a crash
    def replay_report(self, row: dict) -> ExecutionReport:
        """A journaled execution as it was sent (to its session and drop copies), flagged PossResend."""
        session = self.world.sessions.get(row["comp_id"])
        member_id = session.member_id if session else None
        return ExecutionReport(
            to=row["comp_id"],
            order_id=str(row["order_id"]) if row["order_id"] is not None else NONE_ORDER_ID,
            cl_ord_id=row["cl_ord_id"],
            exec_id=str(row["exec_id"]),
            exec_type=row["exec_type"],
            ord_status=row["ord_status"],
            symbol=row["symbol"],
            side=row["side"],
            order_qty=row["order_qty"],
            leaves_qty=row["leaves"],
            cum_qty=row["cum"],
            avg_px=Decimal(row["avg_px"]),
            transact_time_us=row["transact_us"],
            account=row["account"],
            price=None if row["price"] is None else Decimal(row["price"]),
            orig_cl_ord_id=row["orig_cl_ord_id"],
            last_qty=row["last_qty"],
            last_px=None if row["last_px"] is None else Decimal(row["last_px"]),
            trade_id=None if row["trade_id"] is None else str(row["trade_id"]),
            ord_rej_reason=row["ord_rej_reason"],
            venue_reason=row["venue_reason"],
            text=row["text"],
            copy_to=self._copies_for(member_id) if row["exec_type"] != ExecType.ORDER_STATUS.value else (),
            poss_resend=True,
        )

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
                self.outbound.append(
                    SettlementReport(
                        to=fill["comp_id"],
                        trade_id=str(ev.trade_id),
                        symbol=trade["symbol"],
                        side=fill["side"],
                        qty=trade["qty"],
                        price=Decimal(trade["price"]),
                        order_id=str(fill["order_id"]),
                        cl_ord_id=fill["cl_ord_id"],
                        account=fill["account"] or "",
                        tx_hash=ev.tx_hash or "",
                        block_number=ev.block_number,
                        status="final",
                        executed_us=trade["executed_us"],
                        transact_time_us=self._now,
                        copy_to=self._copies_for(session.member_id if session else None),
                    )
                )
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
        self._report(
            rec,
            ExecType.TRADE_CANCEL,
            last_qty=trade["qty"],
            last_px=security.to_price(trade["price_ticks"]),
            trade_id=str(trade["trade_id"]),
            exec_ref_id=str(fill["exec_id"]),
            text=f"Trade {trade['trade_id']} canceled: it could not settle on-chain ({reason})",
        )
        self.batch.order_changed(rec)

    # ------------------------------------------------------------ order records
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

    @staticmethod
    def _book_order(rec: OrderRecord) -> NewOrder:
        return NewOrder(
            order_id=rec.order_id,
            account=rec.account,
            side=rec.side,
            ord_type=rec.ord_type,
            price=rec.price,
            qty=rec.qty,
            tif=rec.tif,
            min_qty=rec.min_qty,
            smp=rec.smp,
        )

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

    # ------------------------------------------------------------ helpers
    def _next_exec_id(self) -> str:
        self.ids.exec += 1
        return str(self.ids.exec)

    def _copies_for(self, member_id: str | None) -> tuple[str, ...]:
        if member_id is None:
            return self._drop_copy_all
        return self._drop_copy_all + self._drop_copy_member.get(member_id, ())


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
