"""Assemble and run a venue: store -> core -> sequencer -> FIX acceptor."""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from venue.book.base import BookConfig
from venue.config import VenueConfig
from venue.core import IdCounters, VenueCore, utc_day
from venue.sequencer import Sequencer
from venue.signals import stop_on_signals
from venue.store import Store
from venue.store.access import load_entitlements

log = logging.getLogger("venue")

FIX_DICTIONARY = Path(__file__).resolve().parents[2] / "fix_config" / "FIX44.xml"
EXIT_FATAL = 70


def fix_dictionary() -> Path:
    """The venue's FIX 4.4 data dictionary (fix_config/FIX44.xml)."""
    if FIX_DICTIONARY.exists():
        return FIX_DICTIONARY
    installed = Path(sys.prefix) / "share" / "venue" / "FIX44.xml"
    return installed


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

    @property
    def fatal(self):
        return self.sequencer.fatal

    def stop(self) -> None:
        try:
            if self.scheduler is not None:
                self.scheduler.stop()
            self.sequencer.stop()  # first: what was committed is sent (and stored) before the sessions go
        finally:
            self.engine.stop()
            self.store.dispose()


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
    today = utc_day(time.time_ns() // 1000)
    core = VenueCore(world, cfg.calendar_for, make_book,
                     IdCounters(order=maxima["order"], exec=maxima["exec"], trade=maxima["trade"],
                                cancel_reject=maxima["cancel_reject"]),
                     cl_ord_ids=store.load_cl_ord_ids(today), load_order=store.load_order,
                     last_prices=store.last_trade_prices(), market_collar_bps=cfg.market_collar_bps,
                     cl_ord_day=today)
    core.load_positions(*store.load_positions())
    core.entitlements = load_entitlements(store)
    core.chain = chain_view
    core.ledger.min_chain_block = maxima["settled_block"]  # older chain snapshots miss settled trades
    core.restore(store.load_open_orders())
    return core


def start_venue(cfg: VenueConfig, chain_view=None) -> RunningVenue:
    """Migrate the store, rebuild every book from it, and start the FIX acceptor."""
    from venue.auth import Authenticator
    from venue.fix_acceptor import FixEngine, VenueApplication, write_settings

    store = Store(cfg.database_url)
    store.migrate()
    core = build_core(store, cfg, chain_view)
    world = core.world
    open_orders = core.orders
    stopped = threading.Event()

    def on_fatal(exc: BaseException) -> None:
        log.critical("venue stopping: the journal cannot be written (%s)", exc)
        stopped.set()

    app = VenueApplication(submit=lambda cmd: None, authenticate=Authenticator(store).check,
                           held_dir=cfg.data_dir / "fix" / "held")
    sequencer = Sequencer(core, store, send=app.send, on_fatal=on_fatal,
                          rebuild=lambda: build_core(store, cfg, chain_view), flush=app.flush_held)
    app._submit = sequencer.submit
    settings = write_settings(cfg.data_dir / "fix" / "acceptor.cfg", port=cfg.port,
                              comp_ids=sorted(world.sessions), data_dir=cfg.data_dir, dictionary=fix_dictionary(),
                              venue_comp_id=cfg.comp_id, allowed_remote=cfg.allowed_remote)
    engine = FixEngine(app, settings, file_log=cfg.file_log)
    engine.start()
    replayed = [core.replay_report(row) for row in store.unsent_executions()]
    for report in replayed:  # journaled before a crash, perhaps never sent: held for each session's resend
        app.send(report)
    app.flush_held()
    if replayed:
        sequencer.sent_exec_id = int(replayed[-1].exec_id)
        log.warning("sent again %d execution reports journaled after the last report known sent (PossResend=Y)",
                    len(replayed))
    sequencer.start()
    log.info("venue ready: FIX %s on port %d, %d sessions, %d securities, %d open orders restored, store %s",
             cfg.comp_id, cfg.port, len(world.sessions), len(world.securities), len(open_orders),
             store.engine.url.render_as_string(hide_password=True))
    return RunningVenue(store, core, sequencer, engine, stopped)


def build_venue_scheduler(cfg: VenueConfig, sequencer: Sequencer, store: Store, chain):
    """The persistent clock (APScheduler, job store in the venue's database): calendar wake-ups of
    the sequencer, settlement reconciliation, regulatory reports, retention (spec/records.md)."""
    from venue.scheduler import SchedulerCallbacks, build_scheduler
    reconcile = None
    if chain is not None:
        from venue.chain.service import reconcile_config

        def reconcile():
            return reconcile_config(chain, store)
    from venue.access import monthly_assessment

    def fair_access(month):
        return monthly_assessment(store, month, cfg.data_dir / "reports")
    return build_scheduler(cfg.database_url, cfg, SchedulerCallbacks(wake=sequencer.wake, reconcile=reconcile,
                                                                     fair_access=fair_access))


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


def start_venue_split(cfg: VenueConfig, chain: dict | None, verbose: bool = False, link=None) -> SplitVenue:
    """Migrate the store, start the engine process (it rebuilds every book from the store), then the
    FIX acceptor, and join them."""
    from venue.auth import Authenticator
    from venue.engine_process import EngineProcess
    from venue.fix_acceptor import FixEngine, VenueApplication, write_settings

    store = Store(cfg.database_url)
    store.migrate()
    stopped = threading.Event()
    link = (link or EngineProcess()).start(cfg, chain, verbose, on_fatal=lambda why: stopped.set())
    try:
        app = VenueApplication(submit=link.submit, authenticate=Authenticator(store).check,
                               held_dir=cfg.data_dir / "fix" / "held")
        world = store.load_world()
        settings = write_settings(cfg.data_dir / "fix" / "acceptor.cfg", port=cfg.port,
                                  comp_ids=sorted(world.sessions), data_dir=cfg.data_dir, dictionary=fix_dictionary(),
                                  venue_comp_id=cfg.comp_id, allowed_remote=cfg.allowed_remote)
        engine = FixEngine(app, settings, file_log=cfg.file_log)
        engine.start()
    except BaseException:
        link.stop()
        raise
    link.go(app.send, app.flush_held)
    info = link.info
    log.info("venue ready: FIX %s on port %d, %d sessions, %d securities, %d open orders restored, store %s "
             "(engine in its own process)", cfg.comp_id, cfg.port, info["sessions"], info["securities"],
             info["open_orders"], store.engine.url.render_as_string(hide_password=True))
    return SplitVenue(store, link, engine, stopped)


def serve(cfg: VenueConfig, verbose: bool = False, chain=None) -> int:
    """Run until SIGINT/SIGTERM (graceful) or a fatal journal error (exit 70). With a chain config,
    settlement runs beside the venue: the embedded node if configured, and the worker process."""
    configure_logging(cfg.data_dir, verbose)
    settlement = view = link = None
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
            venue = start_venue_split(cfg, None if chain is None else {
                "url": settlement.url, "deployment": chain.deployment, "view_refresh": chain.view_refresh,
                "config": chain}, verbose, link)
        else:
            venue = start_venue(cfg, view)
            venue.scheduler = build_venue_scheduler(cfg, venue.sequencer, venue.store, chain).start()
    except BaseException:
        if link is not None:
            link.stop()
        if settlement is not None:
            settlement.stop()
        raise
    print(f"venue ready: FIX {cfg.comp_id} listening on port {cfg.port}; data in {cfg.data_dir}", flush=True)

    def on_signal(signum: int) -> None:
        log.info("signal %d: stopping", signum)
        venue.stopped.set()

    stop_on_signals(on_signal)
    while not venue.stopped.wait(0.5):
        pass
    fatal = venue.fatal
    try:
        venue.stop()  # first: a back-office job still running (a reconciliation) reads the chain node
    finally:
        if view is not None:
            view.stop()
        if settlement is not None:
            settlement.stop()
    return EXIT_FATAL if fatal is not None else 0
