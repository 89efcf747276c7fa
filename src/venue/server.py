"""Assemble and run a venue: store -> core -> sequencer -> FIX acceptor."""

from __future__ import annotations

import gc
import logging
import os
import sys
import threading
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from venue.book.base import BookConfig
from venue.clock import now_us, utc_date
from venue.config import ConfigError, VenueConfig
from venue.core import IdCounters, VenueCore
from venue.fix_codec import fix_dictionary
from venue.fix_settings import current_fix_day
from venue.model import Transport
from venue.sequencer import Sequencer
from venue.signals import stop_on_signals
from venue.store import Store
from venue.store.access import load_entitlements

if TYPE_CHECKING:
    from venue.fix_acceptor import FixEngine

log = logging.getLogger("venue")

EXIT_FATAL = 70


def make_book(config: BookConfig):
    from venue.book.fast import FastBook

    return FastBook(config)


@dataclass
class RunningVenue:
    store: Store
    core: VenueCore
    sequencer: Sequencer
    engine: object
    stopped: threading.Event
    scheduler: object = None
    console_feed: object = None  # venue.console.feed.EngineFeed, when the console is on

    @property
    def fatal(self):
        return self.sequencer.fatal

    def stop(self) -> None:
        try:
            if self.console_feed is not None:
                self.console_feed.stop()
            if self.scheduler is not None:
                self.scheduler.stop()
            self.sequencer.stop()  # first: what was committed is sent (and stored) before the sessions go
        finally:
            self.engine.stop()
            self.store.dispose()


MALLOC_ARENAS = 2
_M_ARENA_MAX = -8  # glibc's mallopt parameter
GIL_SWITCH_S = 0.0005  # shorten_gil_switch


def limit_malloc_arenas() -> None:
    """At most MALLOC_ARENAS glibc malloc arenas in this process; call it before threads start.

    glibc gives each thread that allocates under contention an arena of its own, up to eight per
    core, and memory freed in one arena is not reused by another. QuickFIX's session threads and
    the venue's threads each grew one, and the FIX process's RSS crept up with the day's traffic,
    about 1 MiB/min at 300 order messages/s, with no object leaking (bench/README.md, soak). With
    two arenas it is flat. Has no effect where glibc is not the allocator; MALLOC_ARENA_MAX in the
    environment, if set, wins."""
    if sys.platform != "linux" or "MALLOC_ARENA_MAX" in os.environ:
        return
    import ctypes

    try:
        ctypes.CDLL("libc.so.6").mallopt(_M_ARENA_MAX, MALLOC_ARENAS)
    except (OSError, AttributeError):
        pass


def freeze_startup_heap() -> None:
    """Leave what start-up built out of the cyclic garbage collector's scans (`gc.freeze`).

    Once started, a venue process holds 170,000-190,000 objects the collector tracks (the modules
    of SQLAlchemy, web3, QuickFIX's binding and the venue; the registry; the books as loaded),
    nearly all for its whole life. Every full collection scanned them all, 30-70 ms with the
    process's threads stopped, and an order that came meanwhile waited that long
    (bench/README.md). Frozen, they are not scanned again: a collection looks only at what was
    made since. What start-up made and later lets go is freed by reference counting as before;
    only a reference cycle among those objects would stay, bounded by start-up's heap."""
    gc.collect()
    gc.freeze()


def shorten_gil_switch() -> None:
    """A thread that wants the GIL gets it within GIL_SWITCH_S (Python's default: 5 ms).

    Beside the thread on the order path (the sequencer; the FIX sessions' callbacks) run threads
    that compute for a while: the chain view's refresh, back-office jobs, the console. A thread
    woken by an order waits for the GIL until the holder is asked to let go, and the default
    interval put up to 5 ms on that order's ack. The cost is a few more hand-overs while two
    threads both compute."""
    sys.setswitchinterval(GIL_SWITCH_S)


def configure_logging(data_dir: Path, verbose: bool = False) -> None:
    data_dir.mkdir(parents=True, exist_ok=True)
    root = logging.getLogger()
    if any(getattr(h, "_venue", False) for h in root.handlers):
        return
    fmt = logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s")
    for handler in (logging.FileHandler(data_dir / "venue.log"), logging.StreamHandler(sys.stderr)):
        handler.setFormatter(fmt)
        handler._venue = True  # type: ignore[attr-defined]
        root.addHandler(handler)
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    logging.getLogger("apscheduler.executors").setLevel(logging.WARNING)  # not a line per job run


def build_core(store: Store, cfg: VenueConfig, chain_view=None) -> VenueCore:
    """The venue core as the store holds it: registry, ids, positions and holds, every open order
    back in its book in time priority. Used at start-up and to recover from a journal outage."""
    world = store.load_world()
    maxima = store.max_ids()
    today = utc_date(now_us()).isoformat()
    core = VenueCore(
        world,
        cfg.calendar_for,
        make_book,
        IdCounters(
            order=maxima["order"], exec=maxima["exec"], trade=maxima["trade"], cancel_reject=maxima["cancel_reject"]
        ),
        cl_ord_ids=store.load_cl_ord_ids(today),
        load_order=store.load_order,
        last_prices=store.last_trade_prices(),
        market_collar_bps=cfg.market_collar_bps,
        cl_ord_day=today,
    )
    core.load_positions(*store.load_positions())
    core.entitlements = load_entitlements(store)
    core.chain = chain_view
    core.ledger.min_chain_block = maxima["settled_block"]  # older chain snapshots miss settled trades
    core.restore(store.load_open_orders())
    return core


def cancel_on_restart(core: VenueCore, store: Store) -> list:
    """Start-up, before any order is accepted: cancel the resting orders of cancel-on-disconnect
    sessions (none of them is connected to a venue that has just started), journal the cancels and
    return their reports (held for each session until it logs on, and sent to drop copies)."""
    canceled = core.cancel_on_restart(now_us())
    batch, reports = core.take()
    if batch:
        store.commit(batch)
    if canceled:
        log.warning("%d resting orders of cancel-on-disconnect sessions canceled at start-up", canceled)
    return reports


def _primed(desk, core: VenueCore) -> VenueCore:
    """A core rebuilt after a journal outage, its books shown by the console (`desk`, when it is on)."""
    return core if desk is None else desk.primed(core)


def start_fix(cfg: VenueConfig, app, sessions) -> FixEngine:
    """Write the acceptors' settings from the registry's sessions (plaintext and TLS ones apart) and
    start them. TLS sessions need [fix] tls_port and its certificate files."""
    from venue.fix_acceptor import FixEngine
    from venue.fix_settings import write_settings

    by_transport = {kind: sorted(s.comp_id for s in sessions if s.transport is kind) for kind in Transport}
    if by_transport[Transport.TLS] and cfg.tls is None:
        raise ConfigError(
            f"sessions {', '.join(by_transport[Transport.TLS])} log on over TLS: set [fix] tls_port, tls_cert, "
            "tls_key and tls_ca in the venue config"
        )
    if cfg.plaintext == "any" and by_transport[Transport.PLAIN]:
        log.warning('plaintext FIX accepted from any address ([fix] plaintext = "any"): use TLS off this host')
    common = dict(
        session_start=cfg.session_start,
        data_dir=cfg.data_dir,
        dictionary=fix_dictionary(),
        venue_comp_id=cfg.comp_id,
        allowed_remote=cfg.allowed_remote,
    )
    fix_dir = cfg.data_dir / "fix"
    plain = (
        write_settings(fix_dir / "acceptor.cfg", port=cfg.port, comp_ids=by_transport[Transport.PLAIN], **common)
        if by_transport[Transport.PLAIN] and cfg.plaintext != "off"
        else None
    )
    tls = (
        write_settings(
            fix_dir / "acceptor-tls.cfg", port=cfg.port, comp_ids=by_transport[Transport.TLS], tls=cfg.tls, **common
        )
        if by_transport[Transport.TLS]
        else None
    )
    engine = FixEngine(app, plain, tls_settings_path=tls, file_log=cfg.file_log)
    engine.start()
    return engine


def start_venue(cfg: VenueConfig, chain_view=None, live=None) -> RunningVenue:
    """Migrate the store, rebuild every book from it, and start the FIX acceptor. `live`: the
    console's `venue.console.live.LiveState` (None: no console)."""
    from venue.auth import Authenticator
    from venue.fix_acceptor import VenueApplication

    store = Store(cfg.database_url)
    store.migrate()
    core = build_core(store, cfg, chain_view)
    desk = None
    if live is not None:
        from venue.console.feed import follow_books

        desk = follow_books(core)
    restart_reports = cancel_on_restart(core, store)
    world = core.world
    open_orders = core.orders
    stopped = threading.Event()

    def on_fatal(exc: BaseException) -> None:
        log.critical("venue stopping: the journal cannot be written (%s)", exc)
        stopped.set()

    app = VenueApplication(
        submit=lambda cmd: None,
        authenticate=Authenticator(store, plaintext=cfg.plaintext).check,
        held_dir=cfg.data_dir / "fix" / "held",
        held_day=partial(current_fix_day, cfg.session_start),
    )
    sequencer = Sequencer(
        core,
        store,
        send=app.answer,
        on_fatal=on_fatal,
        rebuild=lambda: _primed(desk, build_core(store, cfg, chain_view)),
        flush=app.flush_held,
    )
    app._submit = sequencer.submit if live is None else live.watch(sequencer.submit)
    engine = start_fix(cfg, app, world.sessions.values())
    replayed = [core.replay_report(row) for row in store.unsent_executions()]
    for report in replayed:  # journaled before a crash, perhaps never sent: held for each session's resend
        app.send(report)
    for report in restart_reports:
        app.send(report)
    app.flush_held()
    sent = [int(r.exec_id) for r in (*replayed, *restart_reports) if getattr(r, "exec_id", None)]
    if sent:
        sequencer.sent_exec_id = max(sent)
        log.warning(
            "sent again %d execution reports journaled after the last report known sent (PossResend=Y)", len(replayed)
        )
    sequencer.start()
    feed = None
    if desk is not None:
        from venue.console.feed import EngineFeed

        feed = EngineFeed(sequencer, desk, live.on_feed).start()
    log.info(
        "venue ready: FIX %s on port %d, %d sessions, %d securities, %d open orders restored, store %s",
        cfg.comp_id,
        cfg.port,
        len(world.sessions),
        len(world.securities),
        len(open_orders),
        store.engine.url.render_as_string(hide_password=True),
    )
    return RunningVenue(store, core, sequencer, engine, stopped, console_feed=feed)


def build_venue_scheduler(cfg: VenueConfig, sequencer: Sequencer, store: Store, chain):
    """The persistent clock (APScheduler, job store in the venue's database): calendar wake-ups of
    the sequencer, settlement reconciliation, regulatory reports, retention (spec/records.md). The
    back-office jobs run in processes of their own (venue.back_office)."""
    from venue.back_office import callbacks_for, run_in_child
    from venue.scheduler import build_scheduler

    callbacks = replace(callbacks_for(cfg, store, chain, sequencer.wake), elsewhere=partial(run_in_child, cfg, chain))
    return build_scheduler(cfg.database_url, cfg, callbacks)


@dataclass
class SplitVenue:
    """The venue on two processes (venue.engine_process): FIX here, the engine in a child."""

    store: Store  # this process's own: logons are checked against it
    link: object  # EngineProcess
    engine: object  # FixEngine
    stopped: threading.Event

    @property
    def fatal(self):
        return self.link.fatal

    def stop(self) -> None:
        try:
            self.link.stop()  # first: what was committed is sent (and stored) before the sessions go
        finally:
            self.engine.stop()
            self.store.dispose()


def start_venue_split(cfg: VenueConfig, chain: dict | None, verbose: bool = False, link=None, live=None) -> SplitVenue:
    """Migrate the store, start the engine process (it rebuilds every book from the store), then the
    FIX acceptor, and join them. `live`: the console's `venue.console.live.LiveState` (None: no
    console; the engine sends the console its feed when `cfg.console_port` is set)."""
    from venue.auth import Authenticator
    from venue.engine_process import EngineProcess
    from venue.fix_acceptor import VenueApplication

    store = Store(cfg.database_url)
    store.migrate()
    stopped = threading.Event()
    link = (link or EngineProcess()).start(cfg, chain, verbose, on_fatal=lambda why: stopped.set())
    if live is not None:
        link.on_console = live.on_feed
    try:
        app = VenueApplication(
            submit=link.submit if live is None else live.watch(link.submit),
            authenticate=Authenticator(store, plaintext=cfg.plaintext).check,
            held_dir=cfg.data_dir / "fix" / "held",
            held_day=partial(current_fix_day, cfg.session_start),
        )
        world = store.load_world()
        engine = start_fix(cfg, app, world.sessions.values())
    except BaseException:
        link.stop()
        raise
    link.go(app.answer, app.flush_held)
    info = link.info
    log.info(
        "venue ready: FIX %s on port %d, %d sessions, %d securities, %d open orders restored, store %s "
        "(engine in its own process)",
        cfg.comp_id,
        cfg.port,
        info["sessions"],
        info["securities"],
        info["open_orders"],
        store.engine.url.render_as_string(hide_password=True),
    )
    return SplitVenue(store, link, engine, stopped)


def serve(cfg: VenueConfig, verbose: bool = False, chain=None) -> int:
    """Run until SIGINT/SIGTERM (graceful) or a fatal journal error (exit 70). With a chain config,
    settlement runs beside the venue: the embedded node if configured, and the worker process."""
    limit_malloc_arenas()
    shorten_gil_switch()
    configure_logging(cfg.data_dir, verbose)
    settlement = view = link = live = console = None
    if cfg.console_port:
        from venue.console.live import LiveState
        from venue.console.web import Console

        live = LiveState()
        console = Console(cfg, live)  # listening now: a port in use stops the start here
    split = os.environ.get("VENUE_ENGINE", "process") != "thread"
    if split:
        from venue.engine_process import EngineProcess

        link = EngineProcess()  # it loads its modules meanwhile
    if chain is not None:
        from venue.chain.service import load_deployment, start_settlement
        from venue.chain.view import ChainView

        chain_store = Store(cfg.database_url)
        chain_store.migrate()
        try:  # before the venue loads its ledger: a sandbox deployment may add opening lots
            settlement = start_settlement(chain, chain_store)
        finally:
            chain_store.dispose()
        if not split:
            view = ChainView(settlement.url, load_deployment(chain.deployment), refresh_s=chain.view_refresh).start()
    try:
        if split:
            venue = start_venue_split(
                cfg,
                None
                if chain is None
                else {
                    "url": settlement.url,
                    "deployment": chain.deployment,
                    "view_refresh": chain.view_refresh,
                    "config": chain,
                },
                verbose,
                link,
                live,
            )
        else:
            venue = start_venue(cfg, view, live)
            venue.scheduler = build_venue_scheduler(cfg, venue.sequencer, venue.store, chain).start()
    except BaseException:
        if console is not None:
            console.stop()
        if link is not None:
            link.stop()
        if settlement is not None:
            settlement.stop()
        raise
    if console is not None:
        console.start()
        token = cfg.data_dir / "console-token"  # the sandbox's admin token (venue.sandbox)
        login = f" (operator token in {token})" if token.exists() else " (log in with an operator token)"
        print(f"console: {console.url}{login}", flush=True)
    tls = f", TLS on port {cfg.tls.port}" if cfg.tls else ""
    freeze_startup_heap()
    print(f"venue ready: FIX {cfg.comp_id} listening on port {cfg.port}{tls}; data in {cfg.data_dir}", flush=True)

    def on_signal(signum: int) -> None:
        log.info("signal %d: stopping", signum)
        venue.stopped.set()

    stop_on_signals(on_signal)
    while not venue.stopped.wait(0.5):
        pass
    fatal = venue.fatal
    if console is not None:
        console.stop()
    try:
        venue.stop()  # first: a back-office job still running (a reconciliation) reads the chain node
    finally:
        if view is not None:
            view.stop()
        if settlement is not None:
            settlement.stop()
    return EXIT_FATAL if fatal is not None else 0
