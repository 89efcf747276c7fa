"""Soak: a steady order flow for N minutes; the venue's memory and ack latency sampled each second.

The venue (``venue sandbox``, its real store and ``--chain embedded`` by default) gets a steady,
seeded stream from BRKA, BRKB and MM1 at ``--rate`` order messages/s (orders that cross, resting
orders, cancels and replaces of resting ones; see bench/fix_load.py). Each second the RSS of the
venue process and of its settlement processes is sampled; every message's order -> first-answer
latency is recorded. At the end:

* latency percentiles per minute (p50, p99, p99.9, max) and the rate achieved;
* memory, per process (the FIX process, the engine process, the settlement worker, the embedded
  chain node): RSS at the start and the end, and the least-squares slope over the second half of
  the run, in MiB per minute and in bytes per order message. The venue (FIX process + engine) is
  flat if its slope is below ``--max-slope`` (default 1 MiB/min). The first half is warm-up: caches,
  the book and the ledger fill.

The stream keeps each session's resting orders at ``--max-resting`` (it cancels its oldest beyond
that), so the book holds about the same number of orders throughout: what grows is the venue's, not
the load's.

    python bench/soak.py                       # 10 minutes, SQLite
    python bench/soak.py --minutes 2 --store postgres --rate 300
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import fix_load as fl  # noqa: E402


def slope_per_minute(points: list[tuple[float, float]]) -> float:
    """Least-squares slope of (seconds, value) in value per minute."""
    n = len(points)
    if n < 2:
        return 0.0
    mx = sum(p[0] for p in points) / n
    my = sum(p[1] for p in points) / n
    sxx = sum((p[0] - mx) ** 2 for p in points)
    sxy = sum((p[0] - mx) * (p[1] - my) for p in points)
    return sxy / sxx * 60 if sxx else 0.0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--rate", type=float, default=500.0, help="order messages/s")
    ap.add_argument("--store", choices=["sqlite", "postgres"], default="sqlite")
    ap.add_argument("--chain", default="embedded")
    ap.add_argument("--max-slope", type=float, default=1.0, help="MiB/min over the second half counted as flat")
    ap.add_argument("--seed", type=int, default=99)
    ap.add_argument("--max-resting", type=int, default=150, help="resting orders per session (0: no limit)")
    ap.add_argument("--work", default=None)
    args = ap.parse_args()
    work = Path(args.work) if args.work else Path(tempfile.mkdtemp(prefix="soak_"))
    print(fl.machine_info())
    print(
        f"settings: {args.minutes:g} min at {args.rate:.0f} msgs/s, store {args.store}, chain {args.chain}, "
        f"seed {args.seed}; flat if the RSS slope over the second half is below {args.max_slope} MiB/min"
    )
    total = int(args.minutes * 60 * args.rate)
    pg_name = None
    venue = None
    try:
        db_url = None
        if args.store == "postgres":
            db_url, pg_name = fl.create_pg_database("venue_soak")
        venue = fl.VenueUnderTest(work / "venue", db_url, chain=args.chain)
        venue.prepare()
        venue.start()
        sessions = fl.logon_all(venue.port, fl.MEMBERS)
        ops = fl.make_stream(total, args.seed, "Z", max_resting=args.max_resting or None)
        roles = process_roles(venue)
        load = fl.Load(sessions, ops)  # pre-encoded: about 200 bytes per message
        pending: dict[bytes, tuple[int, str]] = {}
        result = fl.PhaseResult("soak", total, 0, 0.0, 0, 0, [])
        stamps: list[tuple[float, float]] = []  # (seconds since start, latency us) per answer
        rss: list[tuple[float, dict[str, int]]] = []  # (seconds, RSS per process role)
        from collections import Counter

        outstanding, seen, t_end = Counter(), set(), [0]
        t0 = time.monotonic()
        next_sample = t0
        sent = 0
        answered_before = 0
        while sent < total or pending:
            now = time.monotonic()
            due = min(total, int((now - t0) * args.rate))
            while sent < due:
                op = ops[sent]
                pending[op.cl_ord_id.encode()] = (time.perf_counter_ns(), op.comp_id)
                outstanding[op.comp_id] += 1
                sessions[op.comp_id].sock.sendall(load.raw[sent])
                sent += 1
            load._absorb(result, pending, 0.002, outstanding, t_end, seen)
            elapsed = time.monotonic() - t0
            for lat in result.latencies_us[answered_before:]:
                stamps.append((elapsed, lat))
            answered_before = len(result.latencies_us)
            if now >= next_sample:
                rss.append(
                    (
                        now - t0,
                        {
                            role: sum(fl.rss_bytes(p) for p in pids if Path(f"/proc/{p}").exists())
                            for role, pids in roles.items()
                        },
                    )
                )
                next_sample += 1.0
            if elapsed > args.minutes * 60 + 120:
                print(f"! {len(pending)} messages unanswered 2 minutes after the end")
                break
        elapsed = time.monotonic() - t0
        print(
            f"sent {sent} messages in {elapsed:.0f}s ({sent / elapsed:.0f}/s), {result.exec_reports} exec reports, "
            f"{len(result.fills)} fills, rejects {dict(result.rejected.most_common(3))}"
        )
        print("minute  answers   p50 us   p99 us  p99.9 us    max us   venue RSS MiB (FIX + engine)")
        minutes = int(elapsed // 60) + 1
        for m in range(minutes):
            lats = [lat for t, lat in stamps if m * 60 <= t < (m + 1) * 60]
            mem = [sum(r[1][role] for role in VENUE) for r in rss if m * 60 <= r[0] < (m + 1) * 60]
            if not lats:
                continue
            print(
                f"{m + 1:6d} {len(lats):8d} {fl.percentile(lats, 50):8.0f} {fl.percentile(lats, 99):8.0f} "
                f"{fl.percentile(lats, 99.9):9.0f} {max(lats):9.0f}   {(mem[-1] if mem else 0) / 2**20:8.1f}"
            )
        rate_per_min = sent / elapsed * 60
        print(f"memory over the second half ({sum(1 for t, _ in rss if t >= elapsed / 2)} samples):")
        print("  process                 RSS MiB start -> end   slope MiB/min   bytes per order message")
        slopes = {}
        for role in [*roles, "venue (FIX + engine)"]:
            members = VENUE if role == "venue (FIX + engine)" else (role,)
            series = [(t, sum(per[r] for r in members if r in per)) for t, per in rss]
            slopes[role] = slope_per_minute([(t, v / 2**20) for t, v in series if t >= elapsed / 2])
            print(
                f"  {role:22s}  {series[0][1] / 2**20:7.1f} -> {series[-1][1] / 2**20:7.1f}   {slopes[role]:+13.2f}   "
                f"{slopes[role] * 2**20 / rate_per_min:+10.0f}"
            )
        flat = abs(slopes["venue (FIX + engine)"]) < args.max_slope
        print(
            f"memory: the venue's slope {slopes['venue (FIX + engine)']:+.2f} MiB/min -> "
            f"{'flat' if flat else 'GROWING'} (threshold {args.max_slope} MiB/min)"
        )
        errors = fl.venue_log_errors(venue.data_dir)
        if errors:
            print(f"! venue.log: {len(errors)} ERROR lines; first: {errors[0]}")
        return 0 if flat and not errors and not pending else 1
    finally:
        if venue is not None:
            venue.stop()
        if pg_name:
            fl.drop_pg_database(pg_name)


VENUE = ("FIX process", "engine")


def process_roles(venue: fl.VenueUnderTest) -> dict[str, list[int]]:
    """The venue's processes by what they do (from their command lines)."""
    roles: dict[str, list[int]] = {"FIX process": [venue.pid], "engine": list(venue.engine)}
    for pid in venue.side:
        cmdline = fl._cmdline(pid)
        role = (
            "settlement worker"
            if b"venue.chain.worker" in cmdline
            else "embedded chain node"
            if b"embedded_node" in cmdline
            else "other"
        )
        roles.setdefault(role, []).append(pid)
    return roles


if __name__ == "__main__":
    sys.exit(main())
