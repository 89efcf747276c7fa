"""Back-office jobs in a process of their own.

The scheduler runs in the engine process, beside the sequencer. Its long jobs (the daily audit
trail and CAT export, the weekly, quarterly and monthly reports, the settlement reconciliation, the
retention sweep) are pure Python work over a whole day's records: run there, they held the engine's
GIL for a minute and more at the day's close, every ack of that minute waited behind them (a soak:
p99 863 ms, the longest 1.4 s), and the engine kept the ~900 MB they had taken. So the scheduler's
back-office thread runs each of them as `python -m venue.back_office`: the child gets the venue's
config and the job on its standard input, runs the job exactly as the scheduler would
(`VenueScheduler.run_job`, the same code and outcomes), logs to the venue's log, prints its
outcome, and exits, giving its memory back. It runs at idle priority (the cores go to the order
flow; reports are due in minutes, not milliseconds), raised to normal inside its database
transactions so it never holds SQLite's write lock while preempted (as the settlement worker).
"""

from __future__ import annotations

import logging
import os
import pickle
import subprocess
import sys
import time

log = logging.getLogger("venue.back_office")


def run_in_child(cfg, chain, job_id: str, kind: str, due_us: int, now_us: int) -> str:
    """Run one back-office job in a child process and wait for it; its outcome: "ok" or "error: ...".
    `chain`: the chain config (the reconciliation's node), or None."""
    from venue.chain.backend import settlement_child

    proc = subprocess.Popen(
        [sys.executable, "-m", "venue.back_office"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        preexec_fn=settlement_child,
    )
    out, _ = proc.communicate(pickle.dumps((cfg, chain, job_id, kind, due_us, now_us)))
    lines = out.decode(errors="replace").strip().splitlines()
    if proc.returncode != 0 or not lines:
        return f"error: the job's process exited with code {proc.returncode} (see venue.log)"
    return lines[-1]


def callbacks_for(cfg, store, chain, wake=lambda: None):
    """The scheduler's callbacks over `store`: the reconciliation (with a chain) and the fair-access
    computation; `wake` wakes the sequencer (none in a child)."""
    from venue.scheduler import SchedulerCallbacks

    reconcile = None
    if chain is not None:
        from venue.chain.service import reconcile_config

        def reconcile():
            return reconcile_config(chain, store)

    from venue.reports.fair_access import monthly_assessment

    def fair_access(month):
        return monthly_assessment(store, month, cfg.data_dir / "reports")

    return SchedulerCallbacks(wake=wake, reconcile=reconcile, fair_access=fair_access)


def main() -> int:
    cfg, chain, job_id, kind, due_us, now_us = pickle.load(sys.stdin.buffer)
    from venue.chain.backend import priority_ceiling
    from venue.scheduler import SchedulerOptions, VenueScheduler
    from venue.server import configure_logging
    from venue.store import Store

    configure_logging(cfg.data_dir)
    started = time.monotonic()
    store = Store(cfg.database_url)
    ceiling = priority_ceiling()
    if ceiling is not None:
        store.around_transactions(*ceiling)
    try:
        scheduler = VenueScheduler(
            store, cfg, callbacks_for(cfg, store, chain), None, SchedulerOptions(), back_office_thread=False
        )
        outcome = scheduler.run_job(job_id, kind, due_us, now_us)
    finally:
        store.dispose()
    log.info("job %s ran in process %d: %s (%.1f s)", job_id, os.getpid(), outcome, time.monotonic() - started)
    print(outcome, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
