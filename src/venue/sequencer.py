"""The sequencer: one thread that orders every command, commits, then reports.

FIX callbacks only parse and `submit()`; they never wait. The sequencer drains its queue, applies
each command to the venue core, runs due timers, takes ops commands from the store, commits the
whole batch in one transaction (group commit) and only then hands the reports to the transport.
An ack is therefore never sent before its commit, and the session threads never wait on the
database. Ops commands and settlement outcomes are read from the store by a thread of their own
(`_poll_loop`) and handled between the members' batches, a few at a time, each slice committed on
its own: an ack never waits for those reads, and at most for one slice. The sender hands answers
to the transport before drop copies, market data increments and trade capture reports
(`send_reports`).

If a commit fails, the in-memory books are ahead of the store and the only safe state is the one
the store holds: the sequencer drops its core (members never received reports for the lost batch)
and runs degraded. Every order message is answered at once with a reject that says the venue
cannot journal (X910; nothing is accepted that could be lost), and the store is tried again with
backoff; once it answers, the core is rebuilt from it exactly as at start-up, cancel-on-disconnect
is applied to sessions that dropped meanwhile, and trading resumes. The FIX sessions stay up
throughout. Without a `rebuild` function the sequencer stops instead (fail-stop).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable
from decimal import Decimal
from functools import partial

from venue.clock import now_us
from venue.core import VenueCore
from venue.journal import JournalBatch
from venue.market_data import MarketDataIncrement, MarketDataReject
from venue.messages import (
    CancelCommand,
    Command,
    ExecutionReport,
    MarketDataRequestCommand,
    MassCancelCommand,
    MassCancelReport,
    NewOrderCommand,
    OpsCommand,
    OrderCancelReject,
    ReplaceCommand,
    Report,
    SessionEvent,
    SettlementEvent,
    SettlementReport,
)
from venue.store import Store
from venue.store.access import load_entitlements

log = logging.getLogger("venue.sequencer")

MAX_BATCH = 1000
OPS_POLL_SECONDS = 0.25
# Ops instructions and settlement outcomes handled (and committed) at a time between the members'
# batches; one slice at least every SLICE_EVERY_S while members' messages keep coming.
POLLED_SLICE = 8
SLICE_EVERY_S = 0.02
RETRY_MAX_SECONDS = 5.0
# Reports that inform rather than answer: sent after a batch's answers (send_reports).
_INFORMS = (MarketDataIncrement, SettlementReport)
JOURNAL_DOWN = "Venue cannot journal orders right now (store unavailable): not accepted, send again later"


def send_reports(
    reports: list[Report], send: Callable[[Report], object], sent_exec_id: int, flush: Callable[[], None] | None = None
) -> int:
    """Hand reports to the transport; returns the report watermark: the highest numeric ExecID sent
    so far. Answers go first, in order: acks, fills, cancel rejects, status reports. Then what
    informs rather than answers, in order: the drop copies (a transport's `send` may return them
    as a call for later), market data increments, trade capture reports. So no member's answer
    waits behind another session's copy or a settled batch, and each session still gets each kind
    in the order the venue made them. A report the transport refuses is logged and not counted as
    sent (the next start sends it again). `flush` ends the batch (the transport's held messages
    written) before the watermark is returned; if it fails, the batch does not count as sent."""
    start = sent_exec_id
    later: list[Callable[[], object]] = []
    informs: list[Report] = []
    for report in reports:
        if isinstance(report, _INFORMS):
            informs.append(report)
            continue
        try:
            copies = send(report)
        except Exception:  # noqa: BLE001 - a transport fault must not stop the venue
            log.error("could not send %r\n%s", report, traceback.format_exc())
            continue
        if callable(copies):
            later.append(copies)
        if isinstance(report, ExecutionReport) and report.exec_id.isdigit():
            sent_exec_id = max(sent_exec_id, int(report.exec_id))
    for report in informs:
        later.append(partial(_send_all, send, report))
    for call in later:
        try:
            call()
        except Exception:  # noqa: BLE001
            log.error("could not send drop copies or market data\n%s", traceback.format_exc())
    if flush is not None:
        try:
            flush()
        except Exception:  # noqa: BLE001 - e.g. a full disk: sent again at the next start
            log.error("could not write the messages held for sessions that are away\n%s", traceback.format_exc())
            return start
    return sent_exec_id


def _send_all(send: Callable[[Report], object], report: Report) -> None:
    copies = send(report)
    if callable(copies):
        copies()


class Sequencer:
    """Runs the venue core on its own thread."""

    def __init__(
        self,
        core: VenueCore,
        store: Store,
        send: Callable[[Report], None] | None,
        clock: Callable[[], int] = now_us,
        on_fatal: Callable[[BaseException], None] | None = None,
        rebuild: Callable[[], VenueCore] | None = None,
        ship: Callable[[list[Report]], None] | None = None,
        flush: Callable[[], None] | None = None,
    ) -> None:
        """`send` hands one report to the transport; or `ship` hands each committed batch's reports
        to another process, which sends them and tells `sent_exec_id` (venue.engine_process)."""
        self.core: VenueCore | None = core
        self.rebuild = rebuild
        self._logged_on: set[str] = set()
        self._degraded_since: float | None = None
        self._retry_at = 0.0
        self._retry_wait = 0.5
        self._refusals = 0
        self._desk = core.market_data
        self.sent_exec_id = 0  # highest numeric ExecID sent; journaled with the next batch
        self._recorded_exec_id = 0
        self.store = store
        self.send = send
        self.flush = flush
        self.ship = ship
        self.clock = clock
        self.on_fatal = on_fatal
        self._queue: queue.SimpleQueue[Command | list[Command] | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="sequencer", daemon=True)
        # Reports handed to QuickFIX here (`send`) leave through a sender thread, so the next batch's
        # commit overlaps these sends (each call into QuickFIX hands the GIL over). Reports shipped to
        # the FIX process (`ship`: one pickled message) leave from this thread at once: a lone ack
        # does not wait for a thread to wake.
        self._outbox: queue.SimpleQueue[list[Report] | None] = queue.SimpleQueue()
        self._sender = threading.Thread(target=self._send_loop, name="sender", daemon=True) if ship is None else None
        self._stopping = threading.Event()
        # What the poller read from the store, tagged with the core's generation: a rebuilt core
        # (after a journal outage) starts a new one, and what was read for the old core is dropped
        # and read again (it is still pending in the store).
        self._polled_cmds: deque[tuple[int, Command]] = deque()
        self._generation = 0
        self._poller = threading.Thread(target=self._poll_loop, name="sequencer-poll", daemon=True)
        self._last_slice = 0.0
        self.fatal: BaseException | None = None
        self.commits = 0

    def start(self) -> None:
        if self._sender is not None:
            self._sender.start()
        self._thread.start()
        self._poller.start()

    def stop(self, timeout: float = 5.0) -> None:
        if self._thread.ident is None:
            return  # never started
        self._stopping.set()
        self._queue.put(None)
        self._thread.join(timeout)
        self._poller.join(timeout)
        if self._sender is not None:
            self._outbox.put(None)
            self._sender.join(timeout)
        if self.sent_exec_id != self._recorded_exec_id and not self._thread.is_alive():
            try:  # a clean stop records that everything was sent: nothing is sent twice at start-up
                self.store.commit(JournalBatch(sent_exec_id=self.sent_exec_id))
                self._recorded_exec_id = self.sent_exec_id
            except Exception as exc:  # noqa: BLE001 - the next start sends them again, flagged PossResend
                log.warning("could not record the report watermark: %s", exc)

    def wake(self) -> None:
        """Run the core's timers now (the scheduler's calendar wake-ups); safe from any thread."""
        self._queue.put(None)

    def submit(self, cmd: Command) -> None:
        """Queue a command; safe from any thread, never blocks."""
        self._queue.put(cmd)

    def submit_all(self, cmds: list[Command]) -> None:
        """Queue commands in order, waking the sequencer once for all of them."""
        self._queue.put(cmds)

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def _handle(self, cmd: Command) -> None:
        try:
            self.core.handle(cmd, self.clock())
        except Exception as exc:  # noqa: BLE001 - a broken invariant halts the security, not the venue
            log.error("command failed: %r\n%s", cmd, traceback.format_exc())
            self.core.internal_error(cmd, exc)

    def _polled(self, ops_after: int = 0, events_after: int = 0) -> list[Command]:
        """Ops instructions and settlement outcomes other processes left in the store (those with ids
        above the ones given: read before and not yet done)."""
        cmds: list[Command] = []
        for row in self.store.pending_ops_commands(ops_after):
            payload = self._registry() if row["command"] == "reload" else None
            cmds.append(OpsCommand(row["id"], row["command"], row["argument"], payload))
        for ev, trade, fills in self.store.pending_settlement_events(after_id=events_after):
            if trade is None:
                log.error("settlement event %d names unknown trade %d", ev["id"], ev["trade_id"])
                continue
            cmds.append(
                SettlementEvent(
                    ev["id"],
                    ev["trade_id"],
                    ev["outcome"],
                    ev["tx_hash"],
                    ev["block_number"],
                    ev["reason"],
                    trade,
                    tuple(fills),
                )
            )
        return cmds

    def _registry(self):
        """The registry as the store holds it now (for an ops `reload`)."""
        return self.store.load_world(), load_entitlements(self.store)

    def _poll_loop(self) -> None:
        """Every OPS_POLL_SECONDS, read the ops instructions and settlement outcomes that other
        processes left in the store and queue them for the sequencer. The reads run here, not on the
        sequencer's thread: an order never waits for them (they took 0.5 ms, and up to 11 ms while
        the settlement worker wrote). Each is read once: the next read asks only for ids above the
        last ones queued, until the core is rebuilt."""
        generation, ops_after, events_after = -1, 0, 0
        while not self._stopping.wait(OPS_POLL_SECONDS):
            if self.core is None:
                continue  # the journal is down: read again once the core is rebuilt
            if generation != self._generation:
                generation, ops_after, events_after = self._generation, 0, 0
            try:
                cmds = self._polled(ops_after, events_after)
            except Exception as exc:  # noqa: BLE001 - the store is down: the next commit decides
                log.warning("could not read ops and settlement queues: %s", exc)
                continue
            if not cmds:
                continue
            for cmd in cmds:
                if isinstance(cmd, OpsCommand):
                    ops_after = max(ops_after, cmd.command_id)
                elif isinstance(cmd, SettlementEvent):
                    events_after = max(events_after, cmd.event_id)
            self._polled_cmds.extend((generation, cmd) for cmd in cmds)
            self._queue.put(None)  # wake the sequencer

    # ------------------------------------------------------------ loop
    def _run(self) -> None:
        try:
            while not self._stopping.is_set():
                cmds = self._drain(self._wait_seconds())
                self._cycle(cmds)
                if self._polled_cmds and self.core is not None:
                    now = time.monotonic()
                    if self._queue.empty() or now - self._last_slice >= SLICE_EVERY_S:
                        self._last_slice = now
                        self._polled_slice()
        except BaseException as exc:  # noqa: BLE001 - fail-stop, reported to the owner
            self.fatal = exc
            log.critical("sequencer stopped: %s\n%s", exc, traceback.format_exc())
            if self.on_fatal is not None:
                self.on_fatal(exc)

    @property
    def degraded(self) -> bool:
        """True while the journal is unavailable and orders are refused."""
        return self.core is None

    def _wait_seconds(self) -> float:
        if self.core is None:
            return max(0.0, min(0.5, self._retry_at - time.monotonic()))
        if self._polled_cmds:
            return 0.0
        wait = OPS_POLL_SECONDS  # a wake-up is queued when there is something to do
        timer = self.core.next_timer_us()
        if timer is not None:
            wait = min(wait, max(0.0, (timer - self.clock()) / 1_000_000))
        return wait

    def _drain(self, wait: float) -> list[Command]:
        cmds: list[Command] = []
        try:
            item = self._queue.get(timeout=wait) if wait > 0 else self._queue.get_nowait()
        except queue.Empty:
            return cmds
        while True:
            if isinstance(item, list):
                cmds += item
            elif item is not None:
                cmds.append(item)
            if len(cmds) >= MAX_BATCH:
                return cmds
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return cmds

    def _cycle(self, cmds: list[Command]) -> None:
        for cmd in cmds:
            if isinstance(cmd, SessionEvent):
                (self._logged_on.add if cmd.logged_on else self._logged_on.discard)(cmd.comp_id)
        if self.core is None:
            self._degraded_cycle(cmds)
            return
        core = self.core
        for cmd in cmds:
            self._handle(cmd)
        core.run_timers(self.clock())
        self._commit(cmds)

    def _polled_slice(self) -> None:
        """Up to POLLED_SLICE ops instructions and settlement outcomes, committed on their own after
        the members' messages: an ack waits for at most one slice, never for a settled batch's
        trade capture reports (the next slice waits while members' messages are queued, for at
        most SLICE_EVERY_S)."""
        cmds: list[Command] = []
        while self._polled_cmds and len(cmds) < POLLED_SLICE:
            generation, cmd = self._polled_cmds.popleft()
            if generation == self._generation:
                cmds.append(cmd)
        for cmd in cmds:
            self._handle(cmd)
        self._commit(cmds)

    def _commit(self, cmds: list[Command]) -> bool:
        """Journal what the core did for `cmds` and queue its reports for sending. False when the
        journal failed: the venue is degraded and `cmds` were answered as refused."""
        batch, reports = self.core.take()
        if batch:
            sent = self.sent_exec_id
            if sent != self._recorded_exec_id:
                batch.sent_exec_id = sent
            try:
                self.store.commit(batch)
            except Exception as exc:
                if self.rebuild is None:
                    raise  # fail-stop: nothing below is sent
                self._enter_degraded(exc)
                for cmd in cmds:  # their results were not journaled: answer them as refused
                    self._refuse(cmd)
                return False
            self.commits += 1
            if batch.sent_exec_id is not None:
                self._recorded_exec_id = batch.sent_exec_id
        if reports:
            self._emit(reports)
        return True

    def _emit(self, reports: list[Report]) -> None:
        """Committed (or refused) reports, in order: shipped now, or queued for the sender thread."""
        if self._sender is not None:
            self._outbox.put(reports)
            return
        try:
            self.ship(reports)
        except Exception:  # noqa: BLE001 - the other process is gone: it sends them at its next start
            log.error("could not hand %d reports to the FIX process\n%s", len(reports), traceback.format_exc())

    def _send_loop(self) -> None:
        """Send committed reports in commit order (one thread: order is kept per session)."""
        while True:
            reports = self._outbox.get()
            if reports is None:
                return
            self.sent_exec_id = send_reports(reports, self.send, self.sent_exec_id, self.flush)

    # ------------------------------------------------------------ journal outage
    def _enter_degraded(self, exc: BaseException) -> None:
        log.critical(
            "journal unavailable (%s): the batch is dropped, unacknowledged; orders are refused until "
            "the store answers again",
            exc,
        )
        self.core = None
        self._degraded_since = time.monotonic()
        self._retry_wait = 0.5
        self._retry_at = time.monotonic() + self._retry_wait

    def _degraded_cycle(self, cmds: list[Command]) -> None:
        for cmd in cmds:
            try:
                self._refuse(cmd)
            except Exception:  # noqa: BLE001 - a transport fault must not stop the venue
                log.error("could not refuse %r\n%s", cmd, traceback.format_exc())
        if time.monotonic() < self._retry_at:
            return
        try:
            core = self.rebuild()
        except Exception as exc:  # noqa: BLE001 - still down: try again later
            self._retry_wait = min(self._retry_wait * 2, RETRY_MAX_SECONDS)
            self._retry_at = time.monotonic() + self._retry_wait
            log.warning("journal still unavailable (%s); next try in %.1fs", exc, self._retry_wait)
            return
        core.market_data = self._desk  # subscriptions go on: increments describe the rebuilt book
        self._generation += 1  # what was read from the store for the old core is read again
        self._polled_cmds.clear()
        self.core = core
        down = time.monotonic() - (self._degraded_since or time.monotonic())
        log.warning(
            "journal available again after %.1fs: core rebuilt from the store (%d open orders); %d order "
            "messages were refused meanwhile",
            down,
            len(core.orders),
            self._refusals,
        )
        for session in core.world.sessions.values():
            if session.cancel_on_disconnect and session.comp_id not in self._logged_on:
                self._handle(SessionEvent(session.comp_id, False))
        self._degraded_since = None

    def _refuse(self, cmd: Command) -> None:
        """Answer a message while nothing can be journaled (not journaled itself)."""
        refusal = self._refusal(cmd)
        if refusal is not None:
            self._emit([refusal])

    def _refusal(self, cmd: Command) -> Report | None:
        now = self.clock()
        self._refusals += 1
        exec_id = f"X{now}-{self._refusals}"
        if isinstance(cmd, NewOrderCommand):
            qty = cmd.qty
            return ExecutionReport(
                to=cmd.comp_id,
                order_id="NONE",
                cl_ord_id=cmd.cl_ord_id,
                exec_id=exec_id,
                exec_type="8",
                ord_status="8",
                symbol=cmd.symbol,
                side=cmd.side,
                order_qty=int(qty) if qty is not None and qty.is_finite() and qty == qty.to_integral_value() else 0,
                leaves_qty=0,
                cum_qty=0,
                avg_px=Decimal(0),
                transact_time_us=now,
                account=cmd.account,
                ord_rej_reason=99,
                venue_reason="X910",
                text=JOURNAL_DOWN,
            )
        if isinstance(cmd, (CancelCommand, ReplaceCommand)):
            return OrderCancelReject(
                to=cmd.comp_id,
                order_id=cmd.order_id or "NONE",
                cl_ord_id=cmd.cl_ord_id,
                orig_cl_ord_id=cmd.orig_cl_ord_id,
                ord_status="8",
                response_to="2" if isinstance(cmd, ReplaceCommand) else "1",
                reason=99,
                text=JOURNAL_DOWN,
                transact_time_us=now,
            )
        if isinstance(cmd, MassCancelCommand):
            return MassCancelReport(
                cmd.comp_id,
                cmd.cl_ord_id,
                exec_id,
                cmd.request_type,
                "0",
                (),
                cmd.symbol,
                cmd.side,
                now,
                "99",
                JOURNAL_DOWN,
            )
        if isinstance(cmd, MarketDataRequestCommand):
            return MarketDataReject(cmd.comp_id, cmd.req_id, "0", JOURNAL_DOWN)
        return None
