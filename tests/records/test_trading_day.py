"""A simulated trading day of the real venue core driven by the scheduler's wake-ups (injected
clock, no sleeps): pre-open, opening auction, continuous trading, Day orders expiring at the close
(ExecType C to the member and the drop copy), a GTD order expiring at its ExpireDate's midnight, and
a restart at noon that rebuilds the core from the journal it wrote and the scheduler from its job
store, with no expiry missed or doubled."""

from __future__ import annotations

import csv
from collections import Counter
from datetime import time
from decimal import Decimal

from records_history import at
from sqlalchemy import select

from venue.book.fast import FastBook
from venue.calendar import TradingCalendar
from venue.clock import utc_date
from venue.config import VenueConfig
from venue.core import IdCounters, VenueCore
from venue.messages import ExecutionReport, NewOrderCommand, TradingSessionStatusReport
from venue.model import Account, Security, SessionRole
from venue.scheduler import SchedulerCallbacks, SchedulerOptions, build_scheduler
from venue.store import Store
from venue.store import schema as t

TZ = "America/New_York"
CAL = TradingCalendar(
    timezone=TZ, pre_open=time(9, 0), open=time(9, 30), close=time(16, 0), weekdays=frozenset(range(5))
)


def tue(hh: int, mm: int = 0) -> int:
    return at(2026, 11, 24, hh, mm)


def registry(store: Store) -> None:
    for member in ("BRKA", "BRKB"):
        store.add_member(member, member, "broker_dealer")
        store.add_session(member, member, SessionRole.ORDER_ENTRY, "x")
    store.add_session("OPS", None, SessionRole.DROP_COPY, "x")
    store.add_account(Account("A-1", "BRKA", "a", "US", True, kyc_status="verified"))
    store.add_account(Account("B-1", "BRKB", "b", "US", True, kyc_status="verified"))
    store.add_security(Security("ACME", "Acme", Decimal("0.01"), 1))
    for account in ("A-1", "B-1"):
        store.set_holding(account, "USD", Decimal(1_000_000))
        store.set_holding(account, "ACME", Decimal(100_000))
        store.add_lot(account, "ACME", 100_000, 0)


class Venue:
    """The venue core as the sequencer runs it: commands and timers at the clock's time, each batch
    committed before its reports are 'sent'. Rebuilt from the store like server.start_venue."""

    def __init__(self, store: Store, clock) -> None:
        self.store, self.clock = store, clock
        self.sent: list = []
        self.core = self._rebuild()

    def _rebuild(self) -> VenueCore:
        store = self.store
        m = store.max_ids()
        core = VenueCore(
            store.load_world(),
            lambda _symbol: CAL,
            lambda cfg: FastBook(cfg),
            IdCounters(order=m["order"], exec=m["exec"], trade=m["trade"], cancel_reject=m["cancel_reject"]),
            cl_ord_ids=store.load_cl_ord_ids(utc_date(self.clock()).isoformat()),
            load_order=store.load_order,
            last_prices=store.last_trade_prices(),
            cl_ord_day=utc_date(self.clock()).isoformat(),
        )
        core.load_positions(*store.load_positions())
        core.restore(store.load_open_orders())
        return core

    def restart(self) -> None:
        """A new process: everything in memory is gone; the first cycle runs the timers."""
        self.core = self._rebuild()
        self.wake()

    def _commit(self) -> None:
        batch, out = self.core.take()
        if batch:
            self.store.commit(batch)
        self.sent.extend(out)

    def submit(self, cmd) -> None:
        self.core.handle(cmd, self.clock())
        self._commit()

    def wake(self) -> None:
        self.core.run_timers(self.clock())
        self._commit()


def order(cl: str, comp: str, side: str, qty: int, price: str, tif: str = "0", **kw) -> NewOrderCommand:
    return NewOrderCommand(
        comp_id=comp,
        cl_ord_id=cl,
        symbol="ACME",
        side=side,
        ord_type="2",
        qty=Decimal(qty),
        price=Decimal(price),
        tif=tif,
        account="A-1" if comp == "BRKA" else "B-1",
        capacity="A",
        **kw,
    )


def test_a_trading_day_through_the_scheduler_with_a_restart_at_noon(store, tmp_path):
    registry(store)
    clock = {"now": tue(8, 0)}
    venue = Venue(store, lambda: clock["now"])
    config = VenueConfig(data_dir=tmp_path, database_url=store.url, calendars={"default": CAL})
    options = SchedulerOptions(trade_reports_every_s=3600)

    def start_scheduler():
        return build_scheduler(
            store.url,
            config,
            SchedulerCallbacks(wake=lambda: venue.wake()),
            clock=lambda: clock["now"],
            options=options,
        ).start()

    def until(scheduler, end_us: int) -> None:
        """Only the scheduler wakes the venue between orders (no sequencer timer here)."""
        while (nxt := scheduler.next_run_us()) is not None and nxt <= end_us:
            clock["now"] = nxt
            scheduler.run_pending(nxt)
        clock["now"] = end_us

    scheduler = start_scheduler()
    until(scheduler, tue(9, 10))
    for cmd in (
        order("B1", "BRKA", "1", 100, "10.00"),
        order("S1", "BRKB", "2", 60, "10.00"),
        order("B2", "BRKA", "1", 50, "9.90"),
        order("S2", "BRKB", "2", 40, "10.50", tif="6", expire_date="20261124"),
        order("G1", "BRKA", "1", 10, "9.00", tif="1"),
    ):
        venue.submit(cmd)
    assert not store.trades(), "pre-open: nothing matches"
    until(scheduler, tue(10, 0))
    venue.submit(order("S3", "BRKB", "2", 30, "10.00"))  # continuous: trades 30 with B1 at once

    until(scheduler, tue(12, 0))
    scheduler.stop()  # noon: the process goes away ...
    venue.restart()  # ... and comes back from the journal
    scheduler = start_scheduler()
    until(scheduler, tue(13, 0))
    venue.submit(order("B3", "BRKA", "1", 5, "9.95"))
    until(scheduler, at(2026, 11, 25, 9, 45))
    scheduler.stop()

    # Trades: the opening auction crossed B1 and S1 for 60 at 10.00; S3 took 30 more from B1.
    assert [(tr["qty"], tr["price"], tr["executed_us"]) for tr in store.trades()] == [
        (60, "10.00", tue(9, 30)),
        (30, "10.00", tue(10, 0)),
    ]

    phases = [(r.phase, r.transact_time_us) for r in venue.sent if isinstance(r, TradingSessionStatusReport)]
    assert phases == [
        ("PRE_OPEN", tue(9, 0)),
        ("OPENING_AUCTION", tue(9, 30)),
        ("CONTINUOUS", tue(9, 30)),
        # the restarted core opens through an (empty) auction at once
        ("OPENING_AUCTION", tue(12, 0)),
        ("CONTINUOUS", tue(12, 0)),
        ("CLOSED", tue(16, 0)),
        ("PRE_OPEN", at(2026, 11, 25, 9, 0)),
        ("OPENING_AUCTION", at(2026, 11, 25, 9, 30)),
        ("CONTINUOUS", at(2026, 11, 25, 9, 30)),
    ]

    with store.engine.connect() as conn:
        ids = {r.cl_ord_id: r.order_id for r in conn.execute(select(t.orders.c.cl_ord_id, t.orders.c.order_id))}
        expired = [
            (r.order_id, r.transact_us, r.leaves)
            for r in conn.execute(
                select(t.executions).where(t.executions.c.exec_type == "C").order_by(t.executions.c.exec_id)
            )
        ]
    by_cl = {v: k for k, v in ids.items()}
    # Each Day order with quantity left expires once at the close (B1: 100 - 60 - 30 = 10 left), the
    # GTD order once at midnight after its ExpireDate; the GTC order stays; S1 and S3 were filled.
    assert Counter(by_cl[o] for o, _, _ in expired) == {"B1": 1, "B2": 1, "B3": 1, "S2": 1}
    assert [(by_cl[o], when) for o, when, _ in expired] == [
        ("B1", tue(16, 0)),
        ("B2", tue(16, 0)),
        ("B3", tue(16, 0)),
        ("S2", at(2026, 11, 25, 0, 0)),
    ]
    sent_c = [r for r in venue.sent if isinstance(r, ExecutionReport) and r.exec_type == "C"]
    assert [(r.cl_ord_id, r.to, r.copy_to, r.leaves_qty) for r in sent_c] == [
        ("B1", "BRKA", ("OPS",), 0),
        ("B2", "BRKA", ("OPS",), 0),
        ("B3", "BRKA", ("OPS",), 0),
        ("S2", "BRKB", ("OPS",), 0),
    ]
    assert [o.cl_ord_id for o in store.load_open_orders()] == ["G1"], "the next day starts clean"

    # The daily reports written at 16:05 hold the day: 2 trades, 90 units, 900.00; 3 expiries so far.
    folder = tmp_path / "reports" / "daily" / "2026-11-24"
    (summary,) = csv.DictReader((folder / "audit-trail-summary.csv").open())
    assert (summary["trades"], summary["quantity"], summary["dollar_value"]) == ("2", "90", "900.00")
    events = list(csv.DictReader((folder / "audit-trail.csv").open()))
    assert [e["cl_ord_id"] for e in events if e["event"] == "expired"] == ["B1", "B2", "B3"]
