"""The venue on two processes: the FIX acceptor in one, the engine (sequencer, core, journal, chain
view, scheduler) in a child process, joined by a socket pair.

One Python process has one GIL: the sequencer's core and journal work and the FIX sessions' Python
callbacks took turns on it, and every call into the QuickFIX binding handed it over. With the
engine in its own process each side has a core of its own. What crosses is what already crossed
between the FIX threads and the sequencer: commands one way, report batches the other, pickled in
batches.

    FIX process                                   engine process
    QuickFIX callbacks -> submit()          ==>  reader -> Sequencer.submit()
    app.send(report) <- reader             <==  Sequencer (after each commit)

The FIX process has no writer thread: the thread that queues a command sends what is queued, in
order, if no other thread is sending (one batch of everything queued meanwhile); otherwise the
thread that is sending takes it along. A lone order thus reaches the engine without waking a thread.

Ordering and durability do not change: the sequencer commits a batch before it ships the batch's
reports, and the FIX process sends them in the order they arrive. The report watermark (the highest
ExecID handed to QuickFIX) travels back so the engine journals it as before; whatever was shipped
but not sent when a process stops is sent again at the next start, flagged PossResend=Y.

The engine process dies with the FIX process (parent-death signal); if the engine process ends,
the FIX process stops with the fatal exit code: a venue never runs without its journal.
"""

from __future__ import annotations

import logging
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import traceback
from collections.abc import Callable
from multiprocessing.connection import Connection

from venue.messages import Command, Report
from venue.sequencer import send_reports

log = logging.getLogger("venue.engine")

MAX_CMDS_PER_MESSAGE = 1000
START_TIMEOUT_S = 600.0  # a large journal takes a while to load


class EngineGone(RuntimeError):
    """The engine process ended or could not start."""


# ---------------------------------------------------------------- the FIX process's side


class EngineProcess:
    """Starts the engine process and carries commands to it and report batches back."""

    def __init__(self) -> None:
        """Spawn the process; it loads its modules while this one prepares (store, chain)."""
        from venue.chain.backend import die_with_parent

        ours, theirs = socket.socketpair()
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "venue.engine_process", str(theirs.fileno())],
            pass_fds=[theirs.fileno()],
            preexec_fn=die_with_parent,
        )
        theirs.close()
        self._conn = Connection(ours.detach())
        self._on_fatal: Callable[[str], None] = lambda why: None
        self._out: queue.SimpleQueue = queue.SimpleQueue()
        self._sending = threading.Lock()  # held by the thread sending what is queued (_pump)
        self._stopped = threading.Event()
        self.fatal: str | None = None
        self.sent_exec_id = 0
        self._send: Callable[[Report], None] | None = None
        self._flush: Callable[[], None] | None = None
        self.on_console: Callable[[dict], None] | None = None  # the console's feed (venue.console.feed)

    def start(self, cfg, chain: dict | None, verbose: bool, on_fatal: Callable[[str], None]) -> EngineProcess:
        """Build the engine (it loads every book from the store) and wait until it is ready."""
        self._on_fatal = on_fatal
        self._conn.send(("start", cfg, chain, verbose))
        if not self._conn.poll(START_TIMEOUT_S):
            self._proc.kill()
            raise EngineGone(f"the engine process did not start within {START_TIMEOUT_S:.0f} s")
        try:
            kind, payload = self._conn.recv()
        except EOFError:
            raise EngineGone(
                f"the engine process ended while starting (exit code {self._proc.wait()}); see venue.log"
            ) from None
        if kind != "ready":
            self._proc.wait(10)
            raise EngineGone(f"the engine process could not start: {payload}")
        self.info: dict = payload
        return self

    def submit(self, cmd: Command) -> None:
        """Send a command to the sequencer, in order; safe from any thread, never waits for another
        thread's send (that thread takes this command along)."""
        self._out.put(cmd)
        self._pump()

    def go(self, send: Callable[[Report], None], flush: Callable[[], None] | None = None) -> None:
        """The FIX engine is up: start the traffic (reports journaled before a crash come first).
        `flush` ends each batch of reports (VenueApplication.flush_held)."""
        self._send = send
        self._flush = flush
        self._reader = threading.Thread(target=self._read_loop, name="engine-reader", daemon=True)
        self._reader.start()
        self._out.put(("go",))
        self._pump()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the engine after what is queued (it records the report watermark), then wait for it."""
        if self._proc.poll() is None:
            if self._send is None:  # never started (the FIX engine failed): no writer thread yet
                try:
                    self._conn.send(("stop", 0))
                except OSError:
                    pass
            else:
                self._out.put(("stop",))
                self._pump()
            reader = getattr(self, "_reader", None)
            if reader is not None:
                reader.join(timeout)
            try:
                self._proc.wait(timeout)
            except subprocess.TimeoutExpired:
                log.error("engine process did not stop within %.0f s: killed", timeout)
                self._proc.kill()
                self._proc.wait(5)
        self._stopped.set()

    # ------------------------------------------------------------ threads
    def _pump(self) -> None:
        """Send what is queued, if no other thread is sending (flat combining). A thread that finds
        the lock taken leaves its command to the sender, which looks at the queue again after it
        lets go of the lock: a command is never left behind, and the queue's order is the order on
        the wire (a session's messages come from one thread, so each session's order is kept)."""
        out = self._out
        while not out.empty() and self._sending.acquire(blocking=False):
            try:
                self._send_queued(out)
            finally:
                self._sending.release()

    def _send_queued(self, out: queue.SimpleQueue) -> None:
        """Batches of commands, and control messages, in the order they were queued."""
        conn = self._conn
        cmds: list[Command] = []
        try:
            while True:
                try:
                    item = out.get_nowait()
                except queue.Empty:
                    break
                if isinstance(item, tuple):
                    if cmds:
                        conn.send(("cmds", cmds))
                        cmds = []
                    conn.send(item if item[0] != "stop" else ("stop", self.sent_exec_id))
                    continue
                cmds.append(item)
                if len(cmds) >= MAX_CMDS_PER_MESSAGE:
                    conn.send(("cmds", cmds))
                    cmds = []
            if cmds:
                conn.send(("cmds", cmds))
        except (OSError, EOFError) as exc:
            if not self._stopped.is_set() and self.fatal is None:
                log.error("cannot reach the engine process: %s", exc)

    def _read_loop(self) -> None:
        conn, send = self._conn, self._send
        assert send is not None
        while True:
            try:
                kind, payload = conn.recv()
            except (EOFError, OSError):
                if not self._stopped.is_set() and self.fatal is None:
                    self._gone(f"the engine process ended (exit code {self._proc.wait()})")
                return
            if kind == "reports":
                sent = send_reports(payload, send, self.sent_exec_id, self._flush)
                if sent != self.sent_exec_id:
                    self.sent_exec_id = sent
                    self._out.put(("sent", sent))
                    self._pump()
            elif kind == "console":
                try:
                    if self.on_console is not None:
                        self.on_console(payload)
                except Exception:  # noqa: BLE001 - the console is never a reason to stop the venue
                    log.exception("the console could not take the engine's state")
            elif kind == "fatal":
                self._gone(payload)
            elif kind == "stopped":
                return

    def _gone(self, why: str) -> None:
        self.fatal = why
        log.critical("venue stopping: %s", why)
        self._on_fatal(why)


# ---------------------------------------------------------------- the engine process


def _engine_main(fd: int) -> int:
    from venue.chain.backend import die_with_parent

    die_with_parent()
    parent = os.getppid()
    if parent == 1:
        return 1

    def on_term(_signum, _frame) -> None:
        if os.getppid() != parent:  # the FIX process died (parent-death signal): nothing to hand over
            os._exit(1)
        # otherwise the FIX process tells us when to stop (a SIGTERM to the whole process group)

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the FIX process, which stops us
    conn = Connection(fd)
    import venue.server  # noqa: F401 - loaded while the FIX process prepares the store and the chain

    first = conn.recv()
    if first[0] != "start":
        return 0  # stopped before it started
    _, cfg, chain, verbose = first
    from venue.server import configure_logging, freeze_startup_heap, limit_malloc_arenas, shorten_gil_switch

    limit_malloc_arenas()
    shorten_gil_switch()
    configure_logging(cfg.data_dir, verbose)
    lock = threading.Lock()

    def ship(message) -> None:
        with lock:
            conn.send(message)

    try:
        engine = _Engine(cfg, chain, ship)
    except Exception as exc:  # noqa: BLE001 - told to the FIX process, which exits with it
        log.critical("engine could not start: %s\n%s", exc, traceback.format_exc())
        ship(("error", f"{type(exc).__name__}: {exc}"))
        return 1
    freeze_startup_heap()
    return engine.serve(conn)


class _Engine:
    """The sequencer, the core it runs, the chain view and the scheduler, fed by the connection."""

    def __init__(self, cfg, chain: dict | None, ship: Callable[[tuple], None]) -> None:
        from venue.sequencer import Sequencer
        from venue.server import build_core, cancel_on_restart
        from venue.store import Store

        self.cfg, self.ship = cfg, ship
        self.store = store = Store(cfg.database_url)
        self.view = None
        if chain is not None:
            from venue.chain.service import load_deployment
            from venue.chain.view import ChainView

            self.view = ChainView(
                chain["url"], load_deployment(chain["deployment"]), refresh_s=chain["view_refresh"]
            ).start()
        self.core = core = build_core(store, cfg, self.view)
        self.desk = None  # the console's view of the books (venue.console.feed), when it is on
        if cfg.console_port:
            from venue.console.feed import follow_books

            self.desk = follow_books(core)
        self.sequencer = Sequencer(
            core,
            store,
            send=None,
            ship=lambda reports: ship(("reports", reports)),
            on_fatal=lambda exc: ship(("fatal", f"the journal cannot be written ({exc})")),
            rebuild=lambda: self._primed(build_core(store, cfg, self.view)),
        )
        self.replayed = [core.replay_report(row) for row in store.unsent_executions()]
        self.restart_cancels = cancel_on_restart(core, store)
        self.chain = chain
        ship(
            (
                "ready",
                {
                    "open_orders": len(core.orders),
                    "sessions": len(core.world.sessions),
                    "securities": len(core.world.securities),
                    "replayed": len(self.replayed),
                },
            )
        )

    def _primed(self, core):
        """A core rebuilt from the store after a journal outage, its books shown by the console."""
        return core if self.desk is None else self.desk.primed(core)

    def serve(self, conn: Connection) -> int:
        sequencer = self.sequencer
        scheduler = feed = None
        try:
            while True:
                try:
                    kind, *payload = conn.recv()
                except (EOFError, OSError):
                    log.critical("the FIX process is gone: engine stopping")
                    return 1
                if kind == "cmds":
                    sequencer.submit_all(payload[0])
                elif kind == "sent":
                    sequencer.sent_exec_id = max(sequencer.sent_exec_id, payload[0])
                elif kind == "go":
                    if self.replayed:  # journaled before a crash, perhaps never sent
                        self.ship(("reports", self.replayed))
                        log.warning(
                            "sending again %d execution reports journaled after the last report known "
                            "sent (PossResend=Y)",
                            len(self.replayed),
                        )
                    if self.restart_cancels:  # cancel-on-disconnect sessions' orders, canceled at start-up
                        self.ship(("reports", self.restart_cancels))
                    sequencer.start()
                    scheduler = self._scheduler().start()
                    if self.desk is not None:
                        from venue.console.feed import EngineFeed

                        feed = EngineFeed(sequencer, self.desk, lambda state: self.ship(("console", state))).start()
                elif kind == "stop":
                    sequencer.sent_exec_id = max(sequencer.sent_exec_id, payload[0])
                    return 0
        finally:
            if feed is not None:
                feed.stop()
            if scheduler is not None:
                scheduler.stop()
            sequencer.stop()
            if self.view is not None:
                self.view.stop()
            try:
                self.ship(("stopped", None))
            except OSError:
                pass
            self.store.dispose()

    def _scheduler(self):
        from venue.server import build_venue_scheduler

        return build_venue_scheduler(self.cfg, self.sequencer, self.store, self.chain and self.chain.get("config"))


if __name__ == "__main__":
    sys.exit(_engine_main(int(sys.argv[1])))
