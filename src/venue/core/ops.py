"""Venue operations' commands: halt, suspend, resume, kill, unkill and reload.

Each command from the ops queue is carried out and journaled as done or failed with a one-line
result; a registry reload takes member, session, account, security and entitlement changes
without a restart.
"""

from __future__ import annotations

from dataclasses import replace

from venue.book.base import BookConfig
from venue.book.types import CancelReason, Phase
from venue.messages import OpsCommand
from venue.model import TradingStatus, World

_STATUS_COMMANDS = {"halt": TradingStatus.HALTED, "suspend": TradingStatus.SUSPENDED, "resume": TradingStatus.OPEN}


class OpsMixin:
    """The venue-operations part of `VenueCore` (see `venue.core`)."""

    def _ops(self, cmd: OpsCommand) -> None:
        symbol = cmd.argument
        if cmd.command in _STATUS_COMMANDS:
            if symbol not in self.securities:
                self._ops_done(cmd, "failed", f"unknown symbol {symbol}")
                return
            target = _STATUS_COMMANDS[cmd.command]
            if self.securities[symbol].trading_status is target:
                self._ops_done(cmd, "done", f"{symbol} already {target.value}")
                return
            canceled = self._set_trading_status(symbol, target, f"{cmd.command} by venue operations")
            self._ops_done(
                cmd, "done", f"{symbol} {target.value}" + (f": {canceled} resting orders canceled" if canceled else "")
            )
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
            self._ops_done(
                cmd,
                "done",
                f"{member.member_id} kill switch {'on' if cmd.command == 'kill' else 'off'}"
                + (f": {canceled} open orders canceled" if cmd.command == "kill" else ""),
            )
        elif cmd.command == "reload":
            if cmd.payload is None:
                self._ops_done(cmd, "failed", "reload needs the registry")
                return
            world, entitlements = cmd.payload
            canceled = self.reload(world, entitlements)
            self._ops_done(cmd, "done", f"registry reloaded: {canceled} resting orders canceled")
        else:
            self._ops_done(cmd, "failed", f"unknown command {cmd.command}")

    def reload(self, world: World, entitlements: dict[str, frozenset[str]] | None) -> int:
        """Take registry changes (members, sessions, accounts, security rules, entitlements) without a
        restart, and cancel at once every resting order they make ineligible (returns how many).
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
                if (
                    sec.auction_interval_s != current.auction_interval_s
                    and current.trading_status is TradingStatus.OPEN
                ):
                    self._enter_phase(symbol, "trading mode changed by venue operations")
        self._index_drop_copies()
        return self.sweep_resting()

    def _ops_done(self, cmd: OpsCommand, status: str, result: str) -> None:
        self.batch.ops_done.append({"id": cmd.command_id, "status": status, "result": result, "done_us": self._now})
