"""Trading phases and auctions: what each book's phase is and when it changes.

The trading calendar's phases (pre-open, open, closed) become book phases (continuous trading or
periodic auctions, by the security's trading mode); opening from a call phase, closed or a halt
goes through an opening call auction; periodic auctions run when due. Halts, suspensions and
resumptions of a security (venue operations, or an internal error) change its phase here too.
"""

from __future__ import annotations

from dataclasses import replace

from venue.book.types import Phase
from venue.calendar import SessionPhase
from venue.messages import SecurityStatusReport, TradingSessionStatusReport
from venue.model import TradingStatus


class PhasesMixin:
    """The trading-phase part of `VenueCore` (see `venue.core`)."""

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
                if self.securities[symbol].trading_status is TradingStatus.OPEN:
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
        if target in (Phase.CONTINUOUS, Phase.PERIODIC_AUCTION) and current not in (
            Phase.CONTINUOUS,
            Phase.PERIODIC_AUCTION,
        ):
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
            trades = self.batch.trades[-(self.ids.trade - before) :]
            self.batch.security_events.append(
                {
                    "symbol": symbol,
                    "event": "auction",
                    "at_us": self._now,
                    "reason": f"{kind}: {sum(t['qty'] for t in trades)} at {trades[0]['price']} "
                    f"in {len(trades)} trades",
                }
            )

    def _next_auction_us(self, symbol: str, now_us: int) -> int:
        interval = (self.securities[symbol].auction_interval_s or 1) * 1_000_000
        return (now_us // interval + 1) * interval

    def _announce(self, symbol: str, phase: Phase, reason: str) -> None:
        self.batch.security_events.append(
            {"symbol": symbol, "event": f"phase {phase.value}", "reason": reason, "at_us": self._now}
        )
        self.outbound.append(TradingSessionStatusReport(symbol, phase.value, reason, self._now))

    # ------------------------------------------------------------ trading status
    def _set_trading_status(self, symbol: str, status: TradingStatus, reason: str) -> int:
        """Halt, suspend or resume a security; returns how many resting orders it canceled. A halt
        keeps resting orders; a suspension cancels them. A resume goes through a call-auction uncross
        before continuous trading, so a book that crossed during the halt opens at one fair price."""
        book = self.books[symbol]
        was = self.securities[symbol].trading_status
        self.securities[symbol] = replace(self.securities[symbol], trading_status=status)
        canceled = 0
        if status is TradingStatus.OPEN:
            self._enter_phase(symbol, reason)
        elif was is TradingStatus.OPEN:
            self._apply(book.set_phase(Phase.HALTED))
            self._announce(symbol, Phase.HALTED, reason)
        if status is TradingStatus.SUSPENDED:
            canceled = self.sweep_resting(symbol)
        self.batch.security_status[symbol] = status.value
        self.batch.security_events.append(
            {"symbol": symbol, "event": status.value, "reason": reason, "at_us": self._now}
        )
        self.outbound.append(SecurityStatusReport(symbol, status is not TradingStatus.OPEN, reason, self._now))
        return canceled
