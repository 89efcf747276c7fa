"""The scheduler with an injected clock (no sleeps): calendar wake-ups over a simulated day, restarts
on the same database that neither miss nor double a job, and the misfire policy."""

from __future__ import annotations

import os
import re
import time as wall
from datetime import date, time
from functools import partial

import pytest
from records_history import at

from venue.calendar import TradingCalendar
from venue.config import VenueConfig
from venue.scheduler import SchedulerCallbacks, SchedulerOptions, build_scheduler

TZ = "America/New_York"
CAL = TradingCalendar(
    timezone=TZ,
    pre_open=time(9, 0),
    open=time(9, 30),
    close=time(16, 0),
    weekdays=frozenset(range(5)),
    holidays=frozenset({date(2026, 11, 26)}),
)
# Trade reports hourly here, so a simulated day is a few dozen steps; the wake-ups are what matter.
HOURLY = SchedulerOptions(trade_reports_every_s=3600)


def tue(hh: int, mm: int = 0) -> int:
    return at(2026, 11, 24, hh, mm)


class Harness:
    """A scheduler on one database whose clock the test moves; it can be stopped and built again."""

    def __init__(self, store_url: str, data_dir, cal: TradingCalendar = CAL) -> None:
        self.url, self.now, self.cal = store_url, 0, cal
        self.config = VenueConfig(data_dir=data_dir, database_url=store_url, calendars={"default": cal})
        self.wakes: list[int] = []
        self.fair_access: list[str] = []
        self.scheduler = None

    def build(self, now_us: int, cal: TradingCalendar | None = None):
        self.now = now_us
        if cal is not None:
            self.config = VenueConfig(data_dir=self.config.data_dir, database_url=self.url, calendars={"default": cal})
        callbacks = SchedulerCallbacks(
            wake=lambda: self.wakes.append(self.now), fair_access=lambda month: self.fair_access.append(str(month))
        )
        self.scheduler = build_scheduler(
            self.url, self.config, callbacks, clock=lambda: self.now, options=HOURLY
        ).start()
        return self.scheduler

    def run_until(self, end_us: int) -> list:
        """Move the clock from one due job to the next up to `end_us`, as the scheduler's thread would."""
        runs = []
        while True:
            nxt = self.scheduler.next_run_us()
            if nxt is None or nxt > end_us:
                break
            self.now = nxt
            runs += self.scheduler.run_pending(nxt)
        self.now = end_us
        runs += self.scheduler.run_pending(end_us)
        return runs

    def stop(self) -> None:
        self.scheduler.stop()


@pytest.fixture
def harness(store, tmp_path):
    h = Harness(store.url, tmp_path / "data")
    yield h
    if h.scheduler is not None:
        h.scheduler.stop()


def _only(runs, job: str) -> list:
    return [r for r in runs if r.job == job]


def test_a_simulated_day_wakes_the_venue_at_pre_open_open_close_and_midnight(harness):
    harness.build(tue(8, 0))
    runs = harness.run_until(at(2026, 11, 25, 8, 0))
    assert harness.wakes == [tue(9, 0), tue(9, 30), tue(16, 0), at(2026, 11, 25, 0, 0)]
    assert [(r.due_us, r.ran_us, r.outcome) for r in _only(runs, "wake:default")] == [
        (w, w, "ok") for w in harness.wakes
    ]
    (daily,) = _only(runs, "daily-reports")
    assert daily.due_us == tue(16, 5) and daily.outcome == "ok"
    day_dir = harness.config.data_dir / "reports" / "daily" / "2026-11-24"
    assert sorted(p.name for p in day_dir.iterdir()) == [
        "audit-trail-about.csv",
        "audit-trail-summary.csv",
        "audit-trail.csv",
        "audit-trail.json",
        "cat-events-about.csv",
        "cat-events.csv",
        "cat-events.json",
    ]
    (sweep,) = _only(runs, "retention-sweep")
    assert sweep.due_us == at(2026, 11, 25, 2, 30) and sweep.outcome == "ok"
    assert (harness.config.data_dir / "reports" / "retention" / "2026-11-25.json").exists()
    assert all(r.outcome == "ok" for r in runs)


def test_thanksgiving_and_the_weekend_have_no_session_wake_ups(harness):
    harness.build(at(2026, 11, 25, 17, 0))
    harness.run_until(at(2026, 11, 30, 9, 45))
    # Wed midnight, Thu (holiday) midnight, Fri pre-open/open/close/midnight, Sat and Sun midnight,
    # then Monday's pre-open and open.
    assert harness.wakes == [
        at(2026, 11, 26, 0, 0),
        at(2026, 11, 27, 0, 0),
        at(2026, 11, 27, 9, 0),
        at(2026, 11, 27, 9, 30),
        at(2026, 11, 27, 16, 0),
        at(2026, 11, 28, 0, 0),
        at(2026, 11, 29, 0, 0),
        at(2026, 11, 30, 0, 0),
        at(2026, 11, 30, 9, 0),
        at(2026, 11, 30, 9, 30),
    ]


def test_a_restart_in_the_middle_of_the_day_neither_misses_nor_doubles(harness):
    harness.build(tue(8, 0))
    harness.run_until(tue(12, 0))
    before = harness.scheduler.next_runs()
    harness.stop()
    harness.build(tue(12, 0))  # the same database: the stored jobs and next run times are kept
    assert harness.scheduler.next_runs() == before
    assert harness.scheduler.run_pending(tue(12, 0)) == []
    harness.run_until(at(2026, 11, 25, 8, 0))
    assert harness.wakes == [tue(9, 0), tue(9, 30), tue(16, 0), at(2026, 11, 25, 0, 0)]


def test_a_job_due_while_the_scheduler_was_down_runs_once_on_start(harness):
    harness.build(tue(8, 0))
    harness.run_until(tue(9, 10))
    harness.stop()
    # Down from 09:10 to 17:00: the 09:30 and 16:00 wake-ups and the 16:05 reports were missed.
    harness.build(tue(17, 0))
    runs = harness.scheduler.run_pending(tue(17, 0))
    wake = _only(runs, "wake:default")
    assert [(r.due_us, r.ran_us, r.outcome) for r in wake] == [(tue(16, 0), tue(17, 0), "ok")], (
        "coalesced: one wake-up, for the latest missed instant"
    )
    assert [(r.due_us, r.outcome) for r in _only(runs, "daily-reports")] == [(tue(16, 5), "ok")]
    assert harness.wakes == [tue(9, 0), tue(17, 0)]
    assert harness.scheduler.run_pending(tue(17, 0)) == [], "and not again"
    harness.run_until(at(2026, 11, 25, 0, 0))
    assert harness.wakes[-1] == at(2026, 11, 25, 0, 0)


def test_a_retention_sweep_later_than_its_grace_waits_for_the_next_day(harness):
    harness.build(tue(1, 0))
    harness.stop()
    harness.build(tue(15, 0))  # the 02:30 sweep is 12 h 30 min late: more than its 12 h grace
    (sweep,) = _only(harness.scheduler.run_pending(tue(15, 0)), "retention-sweep")
    assert (sweep.due_us, sweep.outcome) == (tue(2, 30), "missed")
    assert harness.scheduler.next_runs()["retention-sweep"] == at(2026, 11, 25, 2, 30)


def test_a_retention_sweep_within_its_grace_still_runs(harness):
    harness.build(tue(1, 0))
    harness.stop()
    harness.build(tue(10, 0))  # 7 h 30 min late
    (sweep,) = _only(harness.scheduler.run_pending(tue(10, 0)), "retention-sweep")
    assert (sweep.due_us, sweep.outcome) == (tue(2, 30), "ok")


def test_weekly_quarterly_and_monthly_jobs_make_their_reports(harness):
    harness.build(at(2026, 12, 31, 12, 0))
    runs = harness.run_until(at(2027, 1, 5, 12, 0))
    reports = harness.config.data_dir / "reports"
    # Fri 2027-01-01 06:00: ATS-R for 2026Q4 and fair access for 2026-12; Mon 01-04 06:00: FINRA 4552 for W53.
    assert [r.due_us for r in _only(runs, "ats-r")] == [at(2027, 1, 1, 6, 0)]
    assert (reports / "ats-r" / "2026Q4.json").exists() and (reports / "ats-r" / "2026Q4-subscribers.csv").exists()
    assert harness.fair_access == ["2026-12"]
    assert [r.due_us for r in _only(runs, "finra-4552")] == [at(2027, 1, 4, 6, 0)]
    assert (reports / "finra-4552" / "2026-W53.csv").exists()


def test_a_changed_calendar_reschedules_its_wake_ups(harness):
    harness.build(tue(8, 0))
    assert harness.scheduler.next_runs()["wake:default"] == tue(9, 0)
    harness.stop()
    later = TradingCalendar(
        timezone=TZ, pre_open=time(9, 15), open=time(9, 30), close=time(16, 0), weekdays=frozenset(range(5))
    )
    harness.build(tue(8, 30), cal=later)
    assert harness.scheduler.next_runs()["wake:default"] == tue(9, 15)


def test_with_the_wall_clock_the_background_loop_reports_trades(store, tmp_path):
    from sqlalchemy import insert

    from venue.clock import now_us
    from venue.reports import store as rs
    from venue.store import schema as t

    config = VenueConfig(data_dir=tmp_path, database_url=store.url, calendars={"default": CAL})
    woken = []
    scheduler = build_scheduler(store.url, config, SchedulerCallbacks(wake=lambda: woken.append(1))).start()
    try:
        assert set(scheduler.next_runs()) == {
            "wake:default",
            "trade-reports",
            "daily-reports",
            "finra-4552",
            "ats-r",
            "clock-sync",
            "retention-sweep",
        }
        with store.engine.begin() as conn:
            conn.execute(
                insert(t.trades).values(
                    trade_id=1,
                    symbol="ACME",
                    price_ticks=1000,
                    price="10.00",
                    qty=5,
                    buy_order_id=1,
                    sell_order_id=2,
                    buy_account="A",
                    sell_account="B",
                    buy_member="BRKA",
                    sell_member="BRKB",
                    executed_us=now_us(),
                    settlement_status="pending",
                )
            )
        deadline = wall.monotonic() + 10
        while not rs.trade_report_rows(store) and wall.monotonic() < deadline:
            wall.sleep(0.05)  # polling the result, not waiting for a guessed duration
        (report,) = rs.trade_report_rows(store)
        assert report["late"] is False
    finally:
        scheduler.stop()


def test_a_long_reconciliation_does_not_hold_up_the_trade_reports(store, tmp_path):
    """The reconciliation (minutes, with thousands of unsettled trades to ask the chain about) runs on
    the back-office thread: trade reports due meanwhile are made on time, the reconciliation is not
    started twice, and its next run is stored once it has run."""
    import threading

    from sqlalchemy import insert

    from venue.reports import store as rs
    from venue.store import schema as t

    clock = [at(2026, 11, 24, 14, 59, 59)]
    started, release = threading.Event(), threading.Event()

    def reconcile():
        started.set()
        assert release.wait(30), "the test never released the reconciliation"

    config = VenueConfig(data_dir=tmp_path, database_url=store.url, calendars={"default": CAL})
    scheduler = build_scheduler(
        store.url,
        config,
        SchedulerCallbacks(wake=lambda: None, reconcile=reconcile),
        clock=lambda: clock[0],
        back_office_thread=True,
    ).start()
    try:
        reconcile_due = scheduler.next_runs()["settlement-reconcile"]
        assert reconcile_due == at(2026, 11, 24, 15, 0)
        clock[0] = reconcile_due
        runs = scheduler.run_pending(clock[0])
        assert ("settlement-reconcile", "started") in [(r.job, r.outcome) for r in runs]
        assert started.wait(10), "the reconciliation runs on the back-office thread"

        with store.engine.begin() as conn:  # a trade executes while the reconciliation runs
            conn.execute(
                insert(t.trades).values(
                    trade_id=1,
                    symbol="ACME",
                    price_ticks=1000,
                    price="10.00",
                    qty=5,
                    buy_order_id=1,
                    sell_order_id=2,
                    buy_account="A",
                    sell_account="B",
                    buy_member="BRKA",
                    sell_member="BRKB",
                    executed_us=clock[0],
                    settlement_status="pending",
                )
            )
        for _ in range(3):
            clock[0] += 1_000_000
            runs = scheduler.run_pending(clock[0])
            assert [(r.job, r.outcome) for r in runs] == [("trade-reports", "ok")], "not the reconciliation again"
        (report,) = rs.trade_report_rows(store)
        assert report["trade_id"] == 1 and report["late"] is False, "reported 1 s after execution, on time"
        assert scheduler.next_run_us() == clock[0] + 1_000_000, "the running reconciliation is not due"

        release.set()
        assert scheduler.idle(10)
        assert [(r.job, r.outcome) for r in scheduler.runs if r.job == "settlement-reconcile"] == [
            ("settlement-reconcile", "started"),
            ("settlement-reconcile", "ok"),
        ]
        assert scheduler.next_runs()["settlement-reconcile"] == at(2026, 11, 24, 15, 5)
    finally:
        release.set()
        scheduler.stop()


def test_a_calendar_that_trades_all_day_reports_the_day_that_closed_at_midnight(store, tmp_path):
    """Open = close = 00:00: the day closes at midnight and its reports, due at 00:05, are that
    day's, not the few minutes of the new one."""
    h = Harness(store.url, tmp_path / "data", TradingCalendar(timezone=TZ))
    h.build(tue(8, 0))
    try:
        runs = h.run_until(at(2026, 11, 25, 1, 0))
    finally:
        h.stop()
    (daily,) = _only(runs, "daily-reports")
    assert (daily.due_us, daily.outcome) == (at(2026, 11, 25, 0, 5), "ok")
    assert [p.name for p in (h.config.data_dir / "reports" / "daily").iterdir()] == ["2026-11-24"]


def test_back_office_jobs_run_in_a_process_of_their_own(store, tmp_path):
    """As the venue runs them (`elsewhere`): the day's reports are built by a child process (its log
    line names another process), the outcome is the child's, and a job the child cannot run is an
    error outcome, not an exception."""
    from venue.back_office import run_in_child

    config = VenueConfig(data_dir=tmp_path / "data", database_url=store.url, calendars={"default": CAL})
    clock = [tue(16, 4)]
    callbacks = SchedulerCallbacks(wake=lambda: None, elsewhere=partial(run_in_child, config, None))
    scheduler = build_scheduler(
        store.url, config, callbacks, clock=lambda: clock[0], options=HOURLY, back_office_thread=True
    ).start()
    try:
        clock[0] = tue(16, 5)
        runs = scheduler.run_pending(clock[0])
        assert ("daily-reports", "started") in [(r.job, r.outcome) for r in runs]
        assert scheduler.idle(120)
        assert ("daily-reports", "ok") in [(r.job, r.outcome) for r in scheduler.runs]
    finally:
        scheduler.stop()
    day_dir = config.data_dir / "reports" / "daily" / "2026-11-24"
    assert (day_dir / "audit-trail.csv").exists() and (day_dir / "cat-events.json").exists()
    pids = re.findall(r"job daily-reports ran in process (\d+): ok", (config.data_dir / "venue.log").read_text())
    assert len(pids) == 1 and int(pids[0]) != os.getpid()
    outcome = run_in_child(config, None, "nonsense", "no-such-kind", tue(16, 5), tue(16, 5))
    assert outcome.startswith("error: ValueError: unknown job kind"), outcome
