"""Orders through the gates: new orders, cancels, replaces and mass cancels, and the resting sweep.

Builds what the gates see (`venue.gates.GateContext`) for each path, runs the gate table, journals
each decision, and hands what passes to the book; what a gate refuses is answered with that gate's
code and text. The resting sweep runs the resting-order gates again over every open order and
cancels the ones that are no longer eligible.
"""

from __future__ import annotations

import json
import logging
from collections import deque
from dataclasses import replace
from datetime import date
from decimal import Decimal

from venue.book.types import CancelReason, OrdType, Phase, SelfMatchPrevention, Side, TimeInForce
from venue.clock import utc_date
from venue.core.reports import CxlRejReason, PendingRequest
from venue.gates import GateContext, GateReject, OrderPath, OrdRejReason, accreditation_current, check
from venue.messages import CancelCommand, MassCancelCommand, MassCancelReport, NewOrderCommand, ReplaceCommand
from venue.orders import OrderCapacity, OrderRecord, OrdStatus

log = logging.getLogger("venue.core")


class GatingMixin:
    """The gating part of `VenueCore` (see `venue.core`)."""

    def sweep_resting(self, symbol: str | None = None) -> int:
        """Re-check every resting order against the gates that apply to resting orders (registry
        state: member, session, entitlement, investor, security); cancel each one a gate would now
        refuse, with that gate's text and code. Returns how many were canceled."""
        canceled = 0
        for rec in sorted(self.orders.values(), key=lambda r: r.order_id):
            if not rec.status.is_open or rec.status is OrdStatus.PENDING_NEW:
                continue
            if symbol is not None and rec.symbol != symbol:
                continue
            refused = check(self._probe(rec), self._context(rec, OrderPath.RESTING))
            if refused is None:
                continue
            self._ineligible = refused
            try:
                self._apply(self.books[rec.symbol].cancel(rec.order_id, CancelReason.INELIGIBLE))
            finally:
                self._ineligible = None
            canceled += 1
        if canceled:
            log.warning("%d resting orders canceled: no longer eligible%s", canceled, f" ({symbol})" if symbol else "")
        return canceled

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
            session=session,
            member=member,
            security=security,
            account=self.world.accounts.get(cmd.account) if cmd.account else None,
            duplicate_cl_ord_id=(cmd.comp_id, cmd.cl_ord_id) in self.cl_ord_index,
            trading_day_open=book is None or book.phase is not Phase.CLOSED,
            now_us=self._now,
            ledger=self.ledger,
            reference_ticks=book.reference_price if book else None,
            entitled=self._entitled(member.member_id if member else None, cmd.symbol),
            recent_messages=self._count_message(cmd.comp_id),
            market_collar_bps=self.market_collar_bps,
            accredited_count=self._holder_counts,
            chain=self.chain,
            crossing=self._crossing(cmd, security, book),
            world=self.world,
        )
        refused = check(cmd, ctx)
        self._audit(cmd, ctx, refused)
        if refused is not None:
            self._reject_new(cmd, refused)
            return
        assert security is not None and member is not None and cmd.qty is not None
        self.ids.order += 1
        rec = OrderRecord(
            order_id=self.ids.order,
            comp_id=cmd.comp_id,
            member_id=member.member_id,
            cl_ord_id=cmd.cl_ord_id,
            account=cmd.account or "",
            symbol=cmd.symbol,
            side=Side(cmd.side),
            ord_type=OrdType(cmd.ord_type),
            price=None if cmd.price is None else security.to_ticks(cmd.price),
            qty=int(cmd.qty),
            tif=TimeInForce(cmd.tif),
            min_qty=int(cmd.min_qty or 0),
            expire_at_us=cmd.expire_time_us,
            trading_day=calendar.trading_day(self._now).isoformat(),
            smp=SelfMatchPrevention(cmd.smp or member.default_smp),
            leaves=int(cmd.qty),
            created_us=cmd.received_us or self._now,
            updated_us=self._now,
            capacity=OrderCapacity(cmd.capacity),
        )
        self.orders[rec.order_id] = rec
        self.cl_ord_index[(rec.comp_id, rec.cl_ord_id)] = rec.order_id
        self.batch.gate_decisions[-1]["order_id"] = rec.order_id
        self.batch.order_changed(rec, new=True)
        self.batch.cl_ord_ids.append(
            {"comp_id": rec.comp_id, "cl_ord_id": rec.cl_ord_id, "day": self._cl_day, "order_id": rec.order_id}
        )
        self._apply(self.books[rec.symbol].submit(self._book_order(rec)))

    @staticmethod
    def _crossing(cmd: NewOrderCommand, security, book):
        """Who a new order would trade with if it came now (the gates' canTransfer and Reg CF checks)."""
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
        today = utc_date(self._now)
        non_accredited = sum(
            1 for acct in holders if (a := self.world.accounts.get(acct)) is None or not accreditation_current(a, today)
        )
        return len(holders), non_accredited

    def _audit(
        self, cmd: NewOrderCommand, ctx: GateContext, refused: GateReject | None, order_id: int | None = None
    ) -> None:
        """Journal the gate decision with what the gates looked at (Reg ATS order audit)."""
        self.batch.gate_decisions.append(
            {
                "msg_type": ctx.path.value,
                "at_us": self._now,
                "comp_id": cmd.comp_id,
                "cl_ord_id": cmd.cl_ord_id or "",
                "order_id": order_id,
                "symbol": cmd.symbol or "",
                "account": cmd.account,
                "side": (cmd.side or "")[:1],
                "qty": None if cmd.qty is None else str(cmd.qty),
                "price": None if cmd.price is None else str(cmd.price),
                "outcome": "pass" if refused is None else "reject",
                "gate": refused.venue_code if refused else None,
                "text": refused.text if refused else None,
                "inputs": json.dumps(ctx.inputs, sort_keys=True, default=str),
            }
        )

    # ------------------------------------------------------------ cancel / replace
    def _request_refusal(
        self, cmd: CancelCommand | ReplaceCommand, rec: OrderRecord | None
    ) -> tuple[int, str, str | None] | None:
        """A cancel or replace is first a request about an order: the cancel path's gates (session,
        ClOrdID), then the order must be this member's, open, and the one named."""
        session = self.world.sessions.get(cmd.comp_id)
        probe = NewOrderCommand(cmd.comp_id, cmd.cl_ord_id, cmd.symbol, cmd.side, "", None, None, "", None)
        refused = check(
            probe,
            GateContext(
                session,
                None,
                None,
                None,
                (cmd.comp_id, cmd.cl_ord_id) in self.cl_ord_index,
                True,
                self._now,
                path=OrderPath.CANCEL,
            ),
        )
        if refused is not None:
            return _cxl_rej_reason(refused), refused.text, refused.venue_code
        if rec is None:
            return CxlRejReason.UNKNOWN_ORDER, "Unknown order", None
        if not rec.status.is_open:
            return CxlRejReason.TOO_LATE, f"Too late: order is {rec.status.name.lower().replace('_', ' ')}", None
        if cmd.symbol != rec.symbol or cmd.side != rec.side.value:
            return CxlRejReason.OTHER, "Symbol(55) and Side(54) must match the order", None
        return None

    def _cancel(self, cmd: CancelCommand) -> None:
        rec = self._find(cmd.comp_id, cmd.orig_cl_ord_id, cmd.order_id)
        refusal = self._request_refusal(cmd, rec)
        if refusal is not None:
            self._cancel_reject(cmd, rec, *refusal)
            return
        assert rec is not None
        self._register_request_id(cmd.comp_id, cmd.cl_ord_id, rec.order_id)
        self._pending = PendingRequest(cmd.cl_ord_id, cmd.orig_cl_ord_id or rec.cl_ord_id)
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
        self._pending = PendingRequest(cmd.cl_ord_id, cmd.orig_cl_ord_id or rec.cl_ord_id)
        try:
            self._apply(self.books[rec.symbol].replace(rec.order_id, int(cmd.qty), price), request=cmd)
        finally:
            self._pending = None

    def _replace_refusal(self, cmd: ReplaceCommand, rec: OrderRecord | None) -> tuple[int, str, str | None] | None:
        """The order as the replace would make it passes the replace path's gates, as a new order
        would: member risk limits, eligibility, throttle, and pre-funding of what it needs beyond
        what it already holds (its own hold is set aside while the gates look)."""
        assert rec is not None
        if cmd.ord_type != rec.ord_type.value:
            return CxlRejReason.OTHER, "OrdType(40) cannot be changed by a replace", None
        if cmd.tif is not None and cmd.tif != rec.tif.value:
            return CxlRejReason.OTHER, "TimeInForce(59) cannot be changed by a replace", None
        if cmd.account is not None and cmd.account != rec.account:
            return CxlRejReason.OTHER, "Account(1) cannot be changed by a replace", None
        if cmd.capacity is not None and rec.capacity is not None and cmd.capacity != rec.capacity.value:
            return CxlRejReason.OTHER, "OrderCapacity(528) cannot be changed by a replace", None
        probe = NewOrderCommand(
            cmd.comp_id,
            cmd.cl_ord_id,
            rec.symbol,
            rec.side.value,
            rec.ord_type.value,
            cmd.qty,
            cmd.price if cmd.price is not None else self._price_of(rec),
            rec.tif.value,
            rec.account,
            received_us=cmd.received_us,
        )
        ctx = self._context(rec, OrderPath.REPLACE, probe)
        held = self.ledger.order_hold(rec.order_id)
        self.ledger.hold(rec.order_id, None)
        try:
            refused = check(probe, ctx)
        finally:
            self.ledger.hold(rec.order_id, held)
        self._audit(probe, ctx, refused, order_id=rec.order_id)
        if refused is not None:
            return _cxl_rej_reason(refused), refused.text, refused.venue_code
        return None

    def _price_of(self, rec: OrderRecord) -> Decimal | None:
        return None if rec.price is None else self.securities[rec.symbol].to_price(rec.price)

    def _probe(self, rec: OrderRecord) -> NewOrderCommand:
        """A resting order as the gates read an order."""
        return NewOrderCommand(
            rec.comp_id,
            rec.cl_ord_id,
            rec.symbol,
            rec.side.value,
            rec.ord_type.value,
            Decimal(rec.qty),
            self._price_of(rec),
            rec.tif.value,
            rec.account,
        )

    def _context(self, rec: OrderRecord, path: OrderPath, probe: NewOrderCommand | None = None) -> GateContext:
        """What the gates see of an existing order: for a replace (`probe`: the order it would
        become) everything a new order's gates see; for a resting order the registry only (chain
        state and pre-funding are checked again at settlement, not here)."""
        session = self.world.sessions.get(rec.comp_id)
        member = self.world.members.get(rec.member_id)
        book = self.books[rec.symbol]
        replacing = path is OrderPath.REPLACE
        security = self.securities[rec.symbol]
        return GateContext(
            session=session,
            member=member,
            security=security,
            account=self.world.accounts.get(rec.account),
            duplicate_cl_ord_id=False,
            trading_day_open=book.phase is not Phase.CLOSED,
            now_us=self._now,
            ledger=self.ledger if replacing else None,
            reference_ticks=book.reference_price,
            entitled=self._entitled(rec.member_id, rec.symbol),
            recent_messages=self._count_message(rec.comp_id) if replacing else 0,
            market_collar_bps=self.market_collar_bps,
            accredited_count=self._holder_counts,
            chain=self.chain if replacing else None,
            crossing=self._crossing(_leaves_of(probe, rec.cum), security, book)
            if replacing and probe is not None
            else None,
            path=path,
            filled=rec.cum if replacing else 0,
            world=self.world,
        )

    def _register_request_id(self, comp_id: str, cl_ord_id: str, order_id: int) -> None:
        self.cl_ord_index[(comp_id, cl_ord_id)] = order_id
        self.batch.cl_ord_ids.append(
            {"comp_id": comp_id, "cl_ord_id": cl_ord_id, "day": self._cl_day, "order_id": order_id}
        )

    # ------------------------------------------------------------ mass cancel
    def _open_orders_of(self, comp_id: str, symbol: str | None, side: str | None) -> list[OrderRecord]:
        return sorted(
            (
                r
                for r in self.orders.values()
                if r.comp_id == comp_id
                and r.status.is_open
                and r.status is not OrdStatus.PENDING_NEW
                and (symbol is None or r.symbol == symbol)
                and (side is None or r.side.value == side)
            ),
            key=lambda r: r.order_id,
        )

    def _mass_cancel(self, cmd: MassCancelCommand) -> None:
        """Cancel this session's open orders: all (530=7) or one security's (530=1), optionally one side."""
        session = self.world.sessions.get(cmd.comp_id)
        refused = check(
            NewOrderCommand(cmd.comp_id, cmd.cl_ord_id, cmd.symbol or "", cmd.side or "", "", None, None, "", None),
            GateContext(session, None, None, None, False, True, self._now, path=OrderPath.MASS_CANCEL),
        )
        refusal = None
        if refused is not None:
            refusal = refused.text
        elif cmd.request_type not in ("1", "7"):
            refusal = f"MassCancelRequestType {cmd.request_type} not supported: use 1 (security) or 7 (all orders)"
        elif cmd.request_type == "1" and cmd.symbol not in self.securities:
            refusal = f"Unknown symbol {cmd.symbol}" if cmd.symbol else "Symbol(55) is required with 530=1"
        elif cmd.side not in (None, "1", "2"):
            refusal = f"Side {cmd.side} not supported: use 1 or 2"
        self._mass_cancels += 1
        report_id = f"MC{self._mass_cancels}"
        if refusal is not None:
            self.outbound.append(
                MassCancelReport(
                    cmd.comp_id,
                    cmd.cl_ord_id,
                    report_id,
                    cmd.request_type,
                    "0",
                    (),
                    cmd.symbol,
                    cmd.side,
                    self._now,
                    "99",
                    refusal,
                )
            )
            return
        symbol = cmd.symbol if cmd.request_type == "1" else None
        targets = self._open_orders_of(cmd.comp_id, symbol, cmd.side)
        affected = tuple((r.cl_ord_id, str(r.order_id)) for r in targets)
        for rec in targets:
            self._apply(self.books[rec.symbol].cancel(rec.order_id, CancelReason.MASS_CANCEL))
        # After the cancels: when the report arrives, every cancel it counts has arrived before it.
        self.outbound.append(
            MassCancelReport(
                cmd.comp_id,
                cmd.cl_ord_id,
                report_id,
                cmd.request_type,
                cmd.request_type,
                affected,
                symbol,
                cmd.side,
                self._now,
                text=f"{len(targets)} orders canceled",
            )
        )


def _cxl_rej_reason(refused: GateReject) -> int:
    """CxlRejReason(102) for a gate's refusal of a cancel or replace."""
    return CxlRejReason.DUPLICATE_CL_ORD_ID if refused.venue_code == "O100" else CxlRejReason.OTHER


def _leaves_of(probe: NewOrderCommand, cum: int) -> NewOrderCommand:
    """A replace's probe as the quantity it would still trade (for the canTransfer check)."""
    if probe.qty is None or not probe.qty.is_finite():
        return probe
    return replace(probe, qty=probe.qty - cum)
