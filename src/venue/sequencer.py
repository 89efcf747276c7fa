"""The sequencer: one thread that orders every command, commits, then reports.

FIX callbacks only parse and `submit()`; they never wait. The sequencer drains its queue, applies
each command to the venue core, runs due timers, takes ops commands from the store, commits the
whole batch in one transaction (group commit) and only then hands the reports to the transport.
An ack is therefore never sent before its commit, and the session threads never wait on the
database.

If a commit fails the venue stops (fail-stop): the in-memory books are ahead of the store, and
the only safe state is the one the store holds. A supervisor restarts the process, which rebuilds
from the store; members never received reports for the lost batch.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
import traceback
from collections.abc import Callable

from venue.core import VenueCore
from venue.messages import Command, OpsCommand, Report, SettlementEvent
from venue.store import Store
from venue.store.access import load_entitlements

log = logging.getLogger("venue.sequencer")

MAX_BATCH = 1000
OPS_POLL_SECONDS = 0.25


def wall_clock_us() -> int:
    return time.time_ns() // 1000


class Sequencer:
    """Runs the venue core on its own thread."""

    def __init__(self, core: VenueCore, store: Store, send: Callable[[Report], None],
                 clock: Callable[[], int] = wall_clock_us, on_fatal: Callable[[BaseException], None] | None = None,
                 ) -> None:
        self.core = core
        self.store = store
        self.send = send
        self.clock = clock
        self.on_fatal = on_fatal
        self._queue: queue.SimpleQueue[Command | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="sequencer", daemon=True)
        self._stopping = threading.Event()
        self._next_ops_poll = 0.0
        self.fatal: BaseException | None = None
        self.commits = 0

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stopping.set()
        self._queue.put(None)
        self._thread.join(timeout)

    def wake(self) -> None:
        """Run the core's timers now (the scheduler's calendar wake-ups); safe from any thread."""
        self._queue.put(None)

    def submit(self, cmd: Command) -> None:
        """Queue a command; safe from any thread, never blocks."""
        self._queue.put(cmd)

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def _handle(self, cmd: Command) -> None:
        try:
            self.core.handle(cmd, self.clock())
        except Exception as exc:  # noqa: BLE001 - a broken invariant halts the security, not the venue
            log.error("command failed: %r\n%s", cmd, traceback.format_exc())
            self.core.internal_error(cmd, exc)

    def _polled(self) -> list[Command]:
        """Ops instructions and settlement outcomes other processes left in the store."""
        cmds: list[Command] = []
        for row in self.store.pending_ops_commands():
            payload = self._registry() if row["command"] == "reload" else None
            cmds.append(OpsCommand(row["id"], row["command"], row["argument"], payload))
        for ev, trade, fills in self.store.pending_settlement_events():
            if trade is None:
                log.error("settlement event %d names unknown trade %d", ev["id"], ev["trade_id"])
                continue
            cmds.append(SettlementEvent(ev["id"], ev["trade_id"], ev["outcome"], ev["tx_hash"], ev["block_number"],
                                        ev["reason"], trade, tuple(fills)))
        return cmds

    def _registry(self):
        """The registry as the store holds it now (for an ops `reload`)."""
        return self.store.load_world(), load_entitlements(self.store)

    # ------------------------------------------------------------ loop
    def _run(self) -> None:
        try:
            while not self._stopping.is_set():
                cmds = self._drain(self._wait_seconds())
                self._cycle(cmds)
        except BaseException as exc:  # noqa: BLE001 - fail-stop, reported to the owner
            self.fatal = exc
            log.critical("sequencer stopped: %s\n%s", exc, traceback.format_exc())
            if self.on_fatal is not None:
                self.on_fatal(exc)

    def _wait_seconds(self) -> float:
        wait = max(0.0, self._next_ops_poll - time.monotonic())
        timer = self.core.next_timer_us()
        if timer is not None:
            wait = min(wait, max(0.0, (timer - self.clock()) / 1_000_000))
        return wait

    def _drain(self, wait: float) -> list[Command]:
        cmds: list[Command] = []
        try:
            first = self._queue.get(timeout=wait) if wait > 0 else self._queue.get_nowait()
        except queue.Empty:
            return cmds
        if first is not None:
            cmds.append(first)
        while len(cmds) < MAX_BATCH:
            try:
                nxt = self._queue.get_nowait()
            except queue.Empty:
                break
            if nxt is not None:
                cmds.append(nxt)
        return cmds

    def _cycle(self, cmds: list[Command]) -> None:
        core = self.core
        for cmd in cmds:
            self._handle(cmd)
        core.run_timers(self.clock())
        if time.monotonic() >= self._next_ops_poll:
            self._next_ops_poll = time.monotonic() + OPS_POLL_SECONDS
            for cmd in self._polled():
                self._handle(cmd)
        batch, reports = core.take()
        if batch:
            self.store.commit(batch)  # raises: fail-stop, nothing below is sent
            self.commits += 1
        for report in reports:
            try:
                self.send(report)
            except Exception:  # noqa: BLE001 - a transport fault must not stop the venue
                log.error("could not send %r\n%s", report, traceback.format_exc())
