"""Requests that read: order status, market data subscriptions and the security list.

They change no order; a market data subscription is kept by the `venue.market_data` desk, which
the core feeds with the books' changes.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from venue.core.reports import NONE_ORDER_ID
from venue.gates import OrdRejReason
from venue.market_data import MarketDataReject
from venue.messages import (
    ExecutionReport,
    MarketDataRequestCommand,
    SecurityListEntry,
    SecurityListReport,
    SecurityListRequestCommand,
    StatusCommand,
)
from venue.model import Security, SessionRole, TradingStatus
from venue.orders import ExecType, OrdStatus
from venue.resale import holding_period_months, reg_cf_restricted_until, reg_s_period_end


class RequestsMixin:
    """The read-only request part of `VenueCore` (see `venue.core`)."""

    def _status(self, cmd: StatusCommand) -> None:
        session = self.world.sessions.get(cmd.comp_id)
        rec = self._find(cmd.comp_id, cmd.cl_ord_id, cmd.order_id)
        if rec is None or (session is not None and session.role is not SessionRole.ORDER_ENTRY):
            self._send_exec(
                ExecutionReport(
                    to=cmd.comp_id,
                    order_id=NONE_ORDER_ID,
                    cl_ord_id=cmd.cl_ord_id or "",
                    exec_id=self._next_exec_id(),
                    exec_type=ExecType.ORDER_STATUS.value,
                    ord_status=OrdStatus.REJECTED.value,
                    symbol=cmd.symbol,
                    side=cmd.side,
                    order_qty=0,
                    leaves_qty=0,
                    cum_qty=0,
                    avg_px=Decimal(0),
                    transact_time_us=self._now,
                    ord_rej_reason=OrdRejReason.UNKNOWN_ORDER,
                    text="Unknown order",
                ),
                order_id=None,
            )
            return
        self._report(rec, ExecType.ORDER_STATUS, copy=False)

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
        self.outbound.append(
            self.market_data.subscribe(
                cmd.comp_id,
                cmd.req_id,
                symbol,
                cmd.depth,
                self.books[symbol],
                self.securities[symbol].to_price,
                updates=cmd.subscription_type == "1",
                entry_types=frozenset(cmd.entry_types),
            )
        )

    def _security_list(self, cmd: SecurityListRequestCommand) -> None:
        if cmd.list_type == "4":
            symbols = sorted(self.securities)
        elif cmd.list_type == "0":
            symbols = [cmd.symbol] if cmd.symbol in self.securities else []
        else:
            self.outbound.append(
                SecurityListReport(
                    cmd.comp_id,
                    cmd.req_id,
                    cmd.req_id,
                    "1",
                    (),
                    f"SecurityListRequestType {cmd.list_type} not supported: use 0 (one symbol) or 4 (all securities)",
                )
            )
            return
        entries = tuple(
            SecurityListEntry(
                sym,
                sec.name,
                sec.currency,
                sec.tick_size,
                sec.lot_size,
                book.phase.value,
                _restrictions(sec),
                None if book.reference_price is None else sec.to_price(book.reference_price),
                sec.band_bps,
            )
            for sym in symbols
            for sec, book in ((self.securities[sym], self.books[sym]),)
        )
        self.outbound.append(
            SecurityListReport(
                cmd.comp_id,
                cmd.req_id,
                cmd.req_id,
                "0" if entries else "2",
                entries,
                None if entries else f"Unknown symbol {cmd.symbol}",
            )
        )


def _restrictions(sec: Security) -> str:
    """A one-line summary of a security's trading restrictions (SecurityList Text)."""
    parts = [sec.offering.value.replace("_", " ").upper().replace("REG D 506C", "Reg D 506(c)")]
    if sec.offering.value == "reg_d_506c":
        parts.append("accredited buyers only")
    months = holding_period_months(sec)
    if months:
        parts.append(f"Rule 144 holding period {months} months per lot")
    cf_until = reg_cf_restricted_until(sec)
    if cf_until is not None:
        parts.append(
            "Reg CF: transfers restricted "
            + ("until the issue date is on record" if cf_until == date.max else f"before {cf_until.isoformat()}")
        )
    if sec.allowed_jurisdictions is not None:
        parts.append("buyers from " + ",".join(sorted(sec.allowed_jurisdictions)))
    if sec.denied_jurisdictions:
        parts.append("no buyers from " + ",".join(sorted(sec.denied_jurisdictions)))
    us_from = reg_s_period_end(sec)
    if us_from is not None:
        parts.append(
            "no US buyers "
            + ("until the issue date is on record" if us_from == date.max else f"before {us_from.isoformat()}")
        )
    if sec.max_holders:
        parts.append(f"max {sec.max_holders} holders")
    if sec.band_bps:
        parts.append(f"price band +-{sec.band_bps / 100:g}%")
    if sec.auction_interval_s:
        parts.append(f"periodic auctions every {sec.auction_interval_s}s")
    if sec.trading_status is not TradingStatus.OPEN:
        parts.append(sec.trading_status.value.upper())
    return "; ".join(parts)
