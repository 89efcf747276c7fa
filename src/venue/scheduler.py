"""The venue's persistent clock: APScheduler 3 jobs kept in the venue's own database.

Split of duties. Everything that changes matching state stays in the deterministic venue core:
it changes phases, runs auctions and expires Day and GTD orders from its own timers, at the
calendar's instants, and it catches up by itself after a restart (it is rebuilt from the journal).
The scheduler decides nothing about trading. It is the clock that survives restarts: at each phase
boundary of each trading calendar it calls `wake()`, which makes the sequencer run the core's timers
at that instant instead of whenever its next message arrives; and it runs the venue's periodic
back-office work (trade reports, settlement reconciliation, regulatory reports, the retention
sweep, the fair-access computation).

Persistence. Jobs live in table `apscheduler_jobs` (SQLAlchemyJobStore on the venue's engine), each
with its next run time. Building the scheduler again on the same database keeps the stored jobs and
their next run times (a job whose schedule changed in the config is replaced and starts afresh from
now), so a restart neither loses nor repeats a run. A job's next run time is stored after the job
ran: a crash in the middle of a job runs it again on restart (at least once); every job is
idempotent (a wake-up, reporting unreported trades, rewriting the same report files, one more
clock-sync reading).

Misfires (a run due while the venue was down or busy). Every job coalesces: however many runs were
missed, it runs once, for the latest missed time. Then `misfire_grace_time` decides whether that run
still happens; per job:

| job                   | when                                   | misfire_grace_time | why |
|-----------------------|----------------------------------------|--------------------|-----|
| wake:<calendar>       | each phase boundary and midnight        | none (always)      | a late wake-up is still right: the core catches up to the calendar |
| trade-reports         | every second                            | none (always)      | an unreported trade must be reported, late (and flagged) if need be |
| settlement-reconcile  | every N minutes                         | 60 s               | a stale run is skipped; the next one is at most N minutes away |
| daily-reports         | each trading day's close + 5 minutes    | none (always)      | the day's audit trail, summary and CAT export must exist |
| finra-4552            | Mondays 06:00 (venue time)              | none (always)      | due within 7 business days: late beats missing |
| ats-r                 | 1 Jan/Apr/Jul/Oct 06:00                 | none (always)      | due within 30 days of quarter end |
| fair-access           | the 1st of each month 06:00             | none (always)      | the month's computation must exist |
| clock-sync            | daily 00:05 (venue time), and at start  | none (always)      | the day's record of the host clock's synchronization state |
| retention-sweep       | daily 02:30                             | 12 h               | a sweep more than 12 h late waits for the next day's |

Time. `clock` (µs since the epoch) is injectable: tests build the scheduler with a fake clock and
call `run_pending(now_us)`, which runs exactly what the scheduler's own thread would run at that
instant (the same code: the thread calls it with the clock's time). With an injected clock `start()`
does not start the background loop.

APScheduler's part. APScheduler keeps the jobs: its SQLAlchemy job store, triggers, coalescing
and misfire settings, reached only through its public API (`add_job`, `get_jobs`, `get_job`,
`modify_job`, `remove_job`, `Trigger.get_next_fire_time`). Its scheduler is reduced to a job book
with no loop (`JobBook`), so it never runs a job itself: the venue scheduler's own loop (one thread, waiting on an Event until the
next job is due or it is woken) decides what is due, at its clock's time.

Threads. The wake-ups and the trade reports run on the scheduler's thread, in due order. The jobs
that may take minutes (a reconciliation makes a node call per trade in flight; the day's report
files) run one at a time on a back-office thread of their own (with the wall clock; with an
injected clock on the scheduler's thread unless `back_office_thread=True`), so a trade report never
waits behind them: it is due within 10 seconds of the execution. A back-office job's next run time
is stored when it has run, as for the others; until then it is not started again. In the venue
that thread only waits: each back-office job runs in a process of its own (`callbacks.elsewhere`,
venue.back_office), so it never holds the engine's GIL.
"""

from __future__ import annotations

import logging
import queue
import threading
import time as _time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from apscheduler.job import Job
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from venue.calendar import TradingCalendar
from venue.clock import now_us
from venue.clock_sync import read_clock_sync
from venue.config import VenueConfig
from venue.fair_access import Month
from venue.reports import build
from venue.reports import store as rs
from venue.reports.periods import day_period, local_day, quarter_of, week_of
from venue.reports.retention import retention_sweep
from venue.reports.trade_reporting import report_trades
from venue.reports.writers import write
from venue.store.repository import Store

log = logging.getLogger("venue.scheduler")

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
JOB_TABLE = "apscheduler_jobs"
JOBSTORE = "default"
REPORTS_AFTER_CLOSE_S = 300
RECONCILE_GRACE_S = 60
RETENTION_GRACE_S = 12 * 3600
_SEARCH_DAYS = 400
# Job kinds that run on the back-office thread (module docstring, Threads).
BACK_OFFICE = frozenset({"reconcile", "daily-reports", "finra-4552", "ats-r", "fair-access", "retention"})
BACK_OFFICE_STOP_WAIT_S = 10.0


def to_datetime(at_us: int) -> datetime:
    return EPOCH + timedelta(microseconds=at_us)


def to_us(moment: datetime) -> int:
    return (moment - EPOCH) // timedelta(microseconds=1)


class CalendarTrigger(BaseTrigger):
    """Fires at a trading calendar's instants: `boundaries` (every instant the scheduled phase may
    change: pre-open, open, close, and midnight, when GTD orders with an ExpireDate expire and the
    next day begins), or `closes` (each trading day's close, plus `offset_s`)."""

    def __init__(self, calendar: TradingCalendar, what: str = "boundaries", offset_s: int = 0) -> None:
        if what not in ("boundaries", "closes"):
            raise ValueError(f"unknown calendar instants {what!r}")
        self.calendar, self.what, self.offset_s = calendar, what, offset_s

    def next_after(self, after_us: int) -> int:
        """The first instant strictly after `after_us`."""
        cal = self.calendar
        if self.what == "boundaries":
            return cal.phase_at(after_us)[1]
        offset = self.offset_s * 1_000_000
        day = cal.trading_day(after_us) - timedelta(days=1)
        for _ in range(_SEARCH_DAYS):
            if cal.is_trading_day(day) and cal.close_us(day) + offset > after_us:
                return cal.close_us(day) + offset
            day += timedelta(days=1)
        raise ValueError(f"calendar has no trading day within {_SEARCH_DAYS} days")

    def get_next_fire_time(self, previous_fire_time, now):  # noqa: D102 - APScheduler's interface
        return to_datetime(self.next_after(to_us(previous_fire_time or now)))

    def __str__(self) -> str:
        return f"calendar {self.what} {describe(self.calendar)}" + (f" +{self.offset_s}s" if self.offset_s else "")


def describe(cal: TradingCalendar) -> str:
    """A calendar as stable text: a job whose text changed is rescheduled on the next build."""
    pre = cal.pre_open.isoformat("minutes") if cal.pre_open else "-"
    return (
        f"{cal.timezone} {pre}/{cal.open.isoformat('minutes')}-{cal.close.isoformat('minutes')} "
        f"days={''.join(str(d) for d in sorted(cal.weekdays))} "
        f"holidays={','.join(d.isoformat() for d in sorted(cal.holidays))}"
    )


@dataclass(frozen=True, slots=True)
class SchedulerCallbacks:
    """What the venue lends the scheduler. `wake` makes the sequencer run the core's timers now;
    `reconcile` runs a settlement reconciliation (chain vs ledger); `fair_access` computes the
    fair-access figures of a month (the one just ended). None: no such job. `elsewhere`, if given,
    runs a back-office job (job id, kind, due, now) in another process and returns its outcome
    (`venue.back_office.run_in_child`); the back-office thread then only waits for it."""

    wake: Callable[[], object]
    reconcile: Callable[[], object] | None = None
    fair_access: Callable[[Month], object] | None = None
    elsewhere: Callable[[str, str, int, int], str] | None = None


@dataclass(frozen=True, slots=True)
class SchedulerOptions:
    reconcile_minutes: int = 5
    trade_reports_every_s: int = 1
    reports_at: str = "06:00"  # venue time, for the weekly, quarterly and monthly jobs
    retention_at: str = "02:30"
    clock_sync_at: str = "00:05"  # venue time: the day's clock-sync reading (one more at each start)
    retention_purge: bool = False  # the sweep reports what is past retention; purging is a decision


@dataclass(frozen=True, slots=True)
class JobRun:
    """One run (or skipped misfire) of a job: `due_us` the fire time, `ran_us` when it was handled."""

    job: str
    due_us: int
    ran_us: int
    outcome: str  # ok | missed | error: ...


@dataclass(frozen=True, slots=True)
class _Spec:
    id: str
    kind: str
    trigger: BaseTrigger
    grace_s: int | None
    spec: str
    params: dict = field(default_factory=dict)


def scheduled_job(**_kwargs) -> None:
    """The function reference stored with every job. VenueScheduler runs jobs itself with the
    callbacks it was built with (in-memory callables cannot be stored in a database)."""
    raise RuntimeError("venue jobs are run by venue.scheduler.VenueScheduler")


class JobBook(BaseScheduler):
    """APScheduler's scheduler reduced to its job book: jobs, triggers and the persistent job store,
    with no loop of its own (`shutdown` and `wakeup` are what a scheduler class must provide; the
    venue scheduler's loop is the only one that runs jobs)."""

    def shutdown(self, wait: bool = True) -> None:  # noqa: D102 - as BaseScheduler's
        super().shutdown(wait)

    def wakeup(self) -> None:  # noqa: D102 - nothing to wake: this scheduler has no loop
        pass


def run_times(job: Job, now: datetime) -> list[datetime]:
    """Every fire time of `job` due by `now`, oldest first (from its stored next run time on)."""
    times: list[datetime] = []
    at = job.next_run_time
    while at is not None and at <= now:
        times.append(at)
        at = job.trigger.get_next_fire_time(at, now)
    return times


class VenueScheduler:
    """The venue's scheduled jobs (module docstring). Build with `build_scheduler`."""

    def __init__(
        self,
        store: Store,
        config: VenueConfig,
        callbacks: SchedulerCallbacks,
        clock: Callable[[], int] | None,
        options: SchedulerOptions,
        back_office_thread: bool | None = None,
    ) -> None:
        self.store, self.config, self.callbacks, self.options = store, config, callbacks, options
        self.injected_clock = clock is not None
        self.clock: Callable[[], int] = clock or now_us
        self.runs: list[JobRun] = []
        self._lock = threading.RLock()
        self._in_flight: set[str] = set()  # back-office jobs queued or running
        self._back_office: queue.Queue | None = None
        self._back_office_thread: threading.Thread | None = None
        if back_office_thread if back_office_thread is not None else not self.injected_clock:
            self._back_office = queue.Queue()
            self._back_office_thread = threading.Thread(target=self._back_office_loop, name="back-office", daemon=True)
            self._back_office_thread.start()
        self.calendar = config.calendar_for("default")
        # The job store, through APScheduler's public API; it has no loop and never runs a job itself.
        self._jobs = JobBook(
            timezone=UTC,
            jobstores={JOBSTORE: SQLAlchemyJobStore(engine=store.engine, tablename=JOB_TABLE)},
            job_defaults={"coalesce": True, "max_instances": 1},
        )
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._loop_thread: threading.Thread | None = None
        self.specs = self._specs()

    # ------------------------------------------------------------ the jobs
    def _specs(self) -> list[_Spec]:
        tz, opts = self.calendar.timezone, self.options
        hh, mm = (int(x) for x in opts.reports_at.split(":"))
        rh, rm = (int(x) for x in opts.retention_at.split(":"))
        calendars = self.config.calendars or {"default": TradingCalendar()}
        specs = [
            _Spec(f"wake:{name}", "wake", CalendarTrigger(cal), None, f"boundaries {describe(cal)}")
            for name, cal in sorted(calendars.items())
        ]
        every = opts.trade_reports_every_s
        specs.append(_Spec("trade-reports", "trade-reports", _interval(seconds=every), None, f"every {every}s"))
        if self.callbacks.reconcile is not None:
            minutes = opts.reconcile_minutes
            specs.append(
                _Spec(
                    "settlement-reconcile",
                    "reconcile",
                    _interval(minutes=minutes),
                    RECONCILE_GRACE_S,
                    f"every {minutes}min",
                )
            )
        specs.append(
            _Spec(
                "daily-reports",
                "daily-reports",
                CalendarTrigger(self.calendar, "closes", REPORTS_AFTER_CLOSE_S),
                None,
                f"closes+{REPORTS_AFTER_CLOSE_S}s {describe(self.calendar)}",
            )
        )
        specs.append(
            _Spec(
                "finra-4552",
                "finra-4552",
                CronTrigger(day_of_week="mon", hour=hh, minute=mm, timezone=tz),
                None,
                f"mon {opts.reports_at} {tz}",
            )
        )
        specs.append(
            _Spec(
                "ats-r",
                "ats-r",
                CronTrigger(month="1,4,7,10", day=1, hour=hh, minute=mm, timezone=tz),
                None,
                f"quarterly {opts.reports_at} {tz}",
            )
        )
        if self.callbacks.fair_access is not None:
            specs.append(
                _Spec(
                    "fair-access",
                    "fair-access",
                    CronTrigger(day=1, hour=hh, minute=mm, timezone=tz),
                    None,
                    f"monthly {opts.reports_at} {tz}",
                )
            )
        ch, cm = (int(x) for x in opts.clock_sync_at.split(":"))
        specs.append(
            _Spec(
                "clock-sync",
                "clock-sync",
                CronTrigger(hour=ch, minute=cm, timezone=tz),
                None,
                f"daily {opts.clock_sync_at} {tz}",
            )
        )
        specs.append(
            _Spec(
                "retention-sweep",
                "retention",
                CronTrigger(hour=rh, minute=rm, timezone=tz),
                RETENTION_GRACE_S,
                f"daily {opts.retention_at} {tz} purge={opts.retention_purge}",
            )
        )
        return specs

    def _sync_jobs(self) -> None:
        """Add missing jobs, keep unchanged ones (and their stored next run time), replace changed
        ones, remove jobs no longer configured."""
        now = to_datetime(self.clock())
        stored = {job.id: job for job in self._jobs.get_jobs(jobstore=JOBSTORE)}
        wanted = {s.id for s in self.specs}
        for job_id in stored.keys() - wanted:
            log.info("job %s is no longer configured: removed", job_id)
            self._jobs.remove_job(job_id, JOBSTORE)
        for s in self.specs:
            job = stored.get(s.id)
            if job is not None and job.kwargs.get("spec") == s.spec:
                continue
            if job is not None:
                log.info("job %s changed (%s -> %s): rescheduled from now", s.id, job.kwargs.get("spec"), s.spec)
            self._jobs.add_job(
                scheduled_job,
                s.trigger,
                id=s.id,
                name=s.id,
                jobstore=JOBSTORE,
                kwargs={"kind": s.kind, "spec": s.spec},
                coalesce=True,
                misfire_grace_time=s.grace_s,
                max_instances=1,
                replace_existing=True,
                next_run_time=s.trigger.get_next_fire_time(None, now),
            )

    # ------------------------------------------------------------ running
    def start(self) -> VenueScheduler:
        """Open the job store, bring the jobs in line with the config, and (with the wall clock)
        start the background loop."""
        self._jobs.start(paused=True)
        self._sync_jobs()
        self._clock_sync_at_start()
        if not self.injected_clock:
            self._loop_thread = threading.Thread(target=self._loop, name="scheduler", daemon=True)
            self._loop_thread.start()
        return self

    def _clock_sync_at_start(self) -> None:
        """Record the clock's state when the venue starts, unless today (venue time) has a reading
        already: a day the venue starts after the daily reading was due still gets one."""
        now = self.clock()
        today = day_period(local_day(now, self.calendar.timezone), self.calendar.timezone)
        try:
            if not rs.clock_sync_between(self.store, today.start_us, today.end_us):
                self._record_clock_sync(now)
        except Exception:  # noqa: BLE001 - the store is down: the daily job records it later
            log.exception("clock-sync: the state at start-up could not be recorded")

    def _record_clock_sync(self, now_us: int) -> None:
        reading = read_clock_sync(now_us)
        rs.record_clock_sync(self.store, reading)
        if not reading["synchronized"]:
            log.warning(
                "host clock not synchronized (%s; maximum error %s µs): CAT timestamps need a synchronized clock",
                reading["source"],
                reading["max_error_us"],
            )

    def wakeup(self) -> None:
        """Look at the jobs again now (a job's next run time changed)."""
        self._wake.set()

    def _loop(self) -> None:
        """The background loop: run what is due, then sleep until the next job is due or a wake-up."""
        while not self._stopping.is_set():
            try:
                self.run_pending(self.clock())
                nxt = self.next_run_us()
            except Exception:  # noqa: BLE001 - the store is down: try again in a second
                log.exception("scheduler: could not read or run the jobs")
                nxt = self.clock() + 1_000_000
            wait = None if nxt is None else min(max((nxt - self.clock()) / 1_000_000, 0), threading.TIMEOUT_MAX)
            self._wake.wait(wait)
            self._wake.clear()

    def stop(self) -> None:
        """Stop the loop (waiting for a running job; a back-office job gets a few seconds, then runs
        again at the next start) and close the store."""
        self._stopping.set()
        self._wake.set()
        if self._loop_thread is not None:
            self._loop_thread.join()
        self._jobs.shutdown(wait=True)
        if self._back_office is not None and self._back_office_thread is not None:
            self._back_office.put(None)
            self._back_office_thread.join(BACK_OFFICE_STOP_WAIT_S)
            if self._back_office_thread.is_alive():
                log.warning(
                    "job(s) %s still running at stop: they run again at the next start",
                    ", ".join(sorted(self._in_flight)),
                )
        self.store.dispose()

    def next_run_us(self) -> int | None:
        """When the next job is due, leaving out back-office jobs still running."""
        times = [
            to_us(job.next_run_time)
            for job in self._jobs.get_jobs(jobstore=JOBSTORE)
            if job.next_run_time is not None and job.id not in self._in_flight
        ]
        return min(times, default=None)

    def idle(self, timeout: float = 30.0) -> bool:
        """Wait until no back-office job is queued or running; False if one still is after `timeout`."""
        deadline = _time.monotonic() + timeout
        while self._in_flight and _time.monotonic() < deadline:
            _time.sleep(0.01)
        return not self._in_flight

    def next_runs(self) -> dict[str, int]:
        """Job id -> its next run time (µs)."""
        return {
            job.id: to_us(job.next_run_time)
            for job in self._jobs.get_jobs(jobstore=JOBSTORE)
            if job.next_run_time is not None
        }

    def run_pending(self, now_us: int) -> list[JobRun]:
        """Run every job due at `now_us` (coalesced, misfire policy applied), in due order, and store
        each job's next run time after it ran."""
        done: list[JobRun] = []
        with self._lock:
            now = to_datetime(now_us)
            due = sorted(
                (
                    job
                    for job in self._jobs.get_jobs(jobstore=JOBSTORE)
                    if job.next_run_time is not None and job.next_run_time <= now
                ),
                key=lambda job: (job.next_run_time, job.id),
            )
            for job in due:
                if job.id in self._in_flight:
                    continue  # still on the back-office thread; its next run time is stored when it ends
                kind = job.kwargs["kind"]
                times = run_times(job, now)
                if job.coalesce:
                    times = times[-1:]
                handed_over = False
                for run_time in times:
                    if job.misfire_grace_time is not None and now - run_time > timedelta(
                        seconds=job.misfire_grace_time
                    ):
                        log.warning(
                            "job %s due at %s missed by %s: skipped (misfire grace %ss)",
                            job.id,
                            run_time,
                            now - run_time,
                            job.misfire_grace_time,
                        )
                        outcome = "missed"
                    elif self._back_office is not None and kind in BACK_OFFICE and not handed_over:
                        self._in_flight.add(job.id)
                        self._back_office.put((job.id, kind, to_us(run_time), now_us, times[-1]))
                        handed_over, outcome = True, "started"
                    else:
                        outcome = self._run(job.id, kind, to_us(run_time), now_us)
                    done.append(JobRun(job.id, to_us(run_time), now_us, outcome))
                if not handed_over:
                    self._store_next(job, times[-1] if times else None, now)
            self.runs.extend(done)
        return done

    def _store_next(self, job: Job, last_run_time: datetime | None, now: datetime) -> None:
        nxt = job.trigger.get_next_fire_time(last_run_time, now) if last_run_time is not None else None
        if nxt is None:
            self._jobs.remove_job(job.id, JOBSTORE)
        else:
            self._jobs.modify_job(job.id, JOBSTORE, next_run_time=nxt)

    def _back_office_loop(self) -> None:
        """Run the back-office jobs handed over by `run_pending`, one at a time; store each one's next
        run time when it has run, and wake the scheduler's loop to count it again."""
        assert self._back_office is not None
        while (item := self._back_office.get()) is not None:
            job_id, kind, due_us, now_us, last_run_time = item
            outcome = self._run_back_office(job_id, kind, due_us, now_us)
            with self._lock:
                try:
                    job = self._jobs.get_job(job_id, JOBSTORE)
                    if job is not None:
                        self._store_next(job, last_run_time, to_datetime(self.clock()))
                except Exception:  # noqa: BLE001 - the thread must go on; the job runs again
                    log.exception("job %s: its next run time could not be stored", job_id)
                self.runs.append(JobRun(job_id, due_us, self.clock(), outcome))
                self._in_flight.discard(job_id)
            self.wakeup()

    def _run_back_office(self, job_id: str, kind: str, due_us: int, now_us: int) -> str:
        elsewhere = self.callbacks.elsewhere
        if elsewhere is None:
            return self._run(job_id, kind, due_us, now_us)
        try:
            outcome = elsewhere(job_id, kind, due_us, now_us)
        except Exception as exc:  # noqa: BLE001 - e.g. no process could be started: it runs again
            log.exception("job %s (due %d) could not be run in its own process", job_id, due_us)
            return f"error: {type(exc).__name__}: {exc}"
        if outcome != "ok":
            log.error("job %s (due %d): %s", job_id, due_us, outcome)
        return outcome

    def run_job(self, job_id: str, kind: str, due_us: int, now_us: int) -> str:
        """Run one job here and now, as the scheduler would; its outcome ("ok" or "error: ...").
        What a back-office job's own process calls (venue.back_office)."""
        return self._run(job_id, kind, due_us, now_us)

    def _run(self, job_id: str, kind: str, due_us: int, now_us: int) -> str:
        try:
            self._do(kind, due_us, now_us)
        except Exception as exc:  # noqa: BLE001 - one failing job must not stop the others
            log.exception("job %s (due %d) failed", job_id, due_us)
            return f"error: {type(exc).__name__}: {exc}"
        return "ok"

    def _do(self, kind: str, due_us: int, now_us: int) -> None:
        cb, store, tz = self.callbacks, self.store, self.calendar.timezone
        reports = self.config.data_dir / "reports"
        if kind == "wake":
            cb.wake()
        elif kind == "trade-reports":
            made = report_trades(store, now_us, ats_id=self.config.comp_id, calendar_for=self.config.calendar_for)
            late = sum(1 for r in made if r["late"])
            if late:
                log.warning("%d of %d trade report(s) made late (more than 10 s after execution)", late, len(made))
        elif kind == "clock-sync":
            self._record_clock_sync(now_us)
        elif kind == "reconcile":
            assert cb.reconcile is not None
            started = _time.monotonic()
            result = cb.reconcile()
            breaks = getattr(result, "breaks", None) or []
            in_flight = len(getattr(result, "in_flight_settled", None) or [])
            (log.warning if breaks else log.info)(
                "settlement reconciliation: %d break(s) between chain and ledger (%d settled trade(s) not final "
                "yet counted in; %.1f s)",
                len(breaks),
                in_flight,
                _time.monotonic() - started,
            )
        elif kind == "fair-access":
            assert cb.fair_access is not None
            cb.fair_access(Month.of(local_day(due_us, tz)).shift(-1))
        elif kind == "daily-reports":
            # The day that closed, REPORTS_AFTER_CLOSE_S before: a calendar that trades all day
            # closes at midnight, and its reports, due at 00:05, are the day before's.
            day = self.calendar.trading_day(due_us - REPORTS_AFTER_CLOSE_S * 1_000_000 - 1)
            folder = reports / "daily" / day.isoformat()
            _both(build.audit_trail(store, day, tz, now_us), folder / "audit-trail")
            _both(build.cat_export(store, day, tz, now_us, ats_id=self.config.comp_id), folder / "cat-events")
        elif kind == "finra-4552":
            week = week_of(local_day(due_us, tz) - timedelta(days=7), tz)
            _both(build.finra_4552(store, week.label, self.calendar, now_us), reports / "finra-4552" / week.label)
        elif kind == "ats-r":
            quarter = quarter_of(_previous_quarter_day(local_day(due_us, tz)), tz)
            _both(build.ats_r(store, quarter.label, tz, now_us), reports / "ats-r" / quarter.label)
        elif kind == "retention":
            report = retention_sweep(store, now_us, purge=self.options.retention_purge)
            write(report, reports / "retention" / f"{local_day(due_us, tz).isoformat()}.json", "json")
        else:
            raise ValueError(f"unknown job kind {kind!r}")


def _interval(**every) -> IntervalTrigger:
    """An interval aligned on whole units since 2000-01-01 UTC, so rebuilding it changes nothing."""
    return IntervalTrigger(**every, start_date=datetime(2000, 1, 1, tzinfo=UTC), timezone=UTC)


def _previous_quarter_day(day: date) -> date:
    return date(day.year, (day.month - 1) // 3 * 3 + 1, 1) - timedelta(days=1)


def _both(report, stem) -> None:
    write(report, stem.with_suffix(".csv"), "csv")
    write(report, stem.with_suffix(".json"), "json")


def build_scheduler(
    store_url: str,
    config: VenueConfig,
    callbacks: SchedulerCallbacks,
    clock: Callable[[], int] | None = None,
    options: SchedulerOptions | None = None,
    back_office_thread: bool | None = None,
) -> VenueScheduler:
    """A scheduler on the venue's database at `store_url` (migrated: the job store's table is
    created by migration 0005_records). Call `start()`; with `clock` (µs) given, drive it with
    `run_pending(now_us)`. `back_office_thread`: run the long jobs on a thread of their own (default:
    with the wall clock only)."""
    return VenueScheduler(Store(store_url), config, callbacks, clock, options or SchedulerOptions(), back_office_thread)
