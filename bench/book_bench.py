"""Order book throughput: FastBook against PlainBook (SortedDict + deque) on one seeded stream.

Stream: 90% DAY limit orders around a random-walking mid (mostly passive, about a quarter
crossing), 10% cancels of recently submitted orders, so price levels hold deep FIFOs and the
book grows to ~370,000 live orders at 1M operations. The stream is generated before timing.

Baseline: `PlainBook` (bench/plain_book.py), the book a competent engineer writes first: per side
a SortedDict of price -> deque, an id dict, dataclass orders, lazy cancel. Both books run the
whole stream `--repeat` times, interleaved (plain then fast, then fast then plain, ...) so the
drift of a shared machine hits both. The bench prints every run, the median ops/s of each book,
and the ratio of the medians FastBook/PlainBook against the goal of 2x.

Correctness: timed runs only count the events (as a consumer that hands them on); an untimed
replay of the stream through each book computes the checksum: events, trades, traded quantity,
resting orders, a SHA-256 of the final book and one of every event. Both books must give the
same checksum, and every timed run must end with the book its replay hashed. NaiveBook, the
reference book, filters and sorts the whole book on every operation, so it replays only the first
`--naive-ops` operations (default 10,000: about 15 s) as a correctness cross-check: all three
books must agree on that prefix. NaiveBook is not timed: it is not a performance baseline.

GC (printed with the machine): `--gc tuned` (default) runs gc.freeze() after generating the
stream, so the 1M pre-built orders are not traversed, and sets thresholds (100000, 50, 100);
`--gc default` and `--gc off` are there to compare.

    python bench/book_bench.py --ops 1000000 --seed 1
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import os
import platform
import random
import statistics
import sys
import time
from pathlib import Path

try:
    import venue  # noqa: F401
except ImportError:  # running from a checkout without an installed package
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from plain_book import PlainBook  # noqa: E402  (bench/ is on sys.path when this file runs)

from venue.book.fast import FastBook  # noqa: E402
from venue.book.naive import NaiveBook  # noqa: E402
from venue.book.types import NewOrder, OrdType, Side, TimeInForce, Trade  # noqa: E402

START_MID = 100_000  # ticks
ACCOUNTS = 5_000
RECENT = 2_000  # cancels pick one of the last RECENT submitted orders


def make_stream(n: int, seed: int) -> list[tuple[bool, object]]:
    """Pre-generate `n` operations: (True, NewOrder) or (False, order_id to cancel).

    The mid moves one tick up or down with probability 1/64 each per operation. A limit order
    rests 0..99 ticks behind the mid on its own side; it trades when the mid has moved through
    the opposite queue (about a quarter of the orders). Cancels pick one of ~2,000 recent
    order ids (some already filled or canceled: those answer UNKNOWN_ORDER).
    """
    rng = random.Random(seed)
    accounts = [f"ACC{i:05d}" for i in range(ACCOUNTS)]
    ops: list[tuple[bool, object]] = []
    mid = START_MID
    next_id = 1
    recent: list[int] = []
    for _ in range(n):
        step = rng.randrange(64)
        if step == 0:
            mid += 1
        elif step == 1:
            mid -= 1
        if rng.randrange(10) == 0 and recent:
            ops.append((False, recent[rng.randrange(len(recent))]))
            continue
        side = Side.BUY if rng.randrange(2) else Side.SELL
        offset = rng.randrange(0, 100)
        price = mid - offset if side is Side.BUY else mid + offset
        qty = rng.randrange(1, 101)
        order = NewOrder(next_id, accounts[rng.randrange(ACCOUNTS)], side, OrdType.LIMIT, price, qty, TimeInForce.DAY)
        ops.append((True, order))
        recent.append(next_id)
        if len(recent) > RECENT:
            recent[rng.randrange(RECENT)] = recent.pop()
        next_id += 1
    return ops


def run(book_cls: type, ops: list) -> tuple[float, int, object]:
    """Feed `ops` to a fresh book, timed; the events are counted and dropped, as a consumer
    would. Returns (seconds, number of events, book)."""
    book = book_cls()
    submit = book.submit
    cancel = book.cancel
    n_events = 0
    t0 = time.perf_counter()
    for is_order, arg in ops:
        if is_order:
            n_events += len(submit(arg))
        else:
            n_events += len(cancel(arg))
    elapsed = time.perf_counter() - t0
    return elapsed, n_events, book


def replay_checksum(book_cls: type, ops: list) -> tuple[int, int, int, int, str, str]:
    """Untimed replay looking at every event: (events, trades, traded qty, resting orders,
    sha256 of the final book, sha256 over every event)."""
    book = book_cls()
    h = hashlib.sha256()
    n_events = trades = traded = 0
    for is_order, arg in ops:
        events = book.submit(arg) if is_order else book.cancel(arg)
        n_events += len(events)
        for e in events:
            if type(e) is Trade:
                trades += 1
                traded += e.qty
            h.update(repr(e).encode())
    book.validate_internal_state()
    return n_events, trades, traded, *book_hash(book), h.hexdigest()[:16]


def book_hash(book) -> tuple[int, str]:
    """(resting orders, sha256 hex prefix) of the final book."""
    h = hashlib.sha256()
    resting = 0
    for v in book.resting_orders():
        resting += 1
        h.update(f"R{v.order_id},{v.side.value},{v.price},{v.leaves},{v.cum},{v.priority};".encode())
    return resting, h.hexdigest()[:16]


def format_checksum(checksum: tuple[int, int, int, int, str, str]) -> str:
    n_events, trades, traded, resting, book_digest, event_digest = checksum
    return (
        f"checksum: events={n_events:,} trades={trades:,} qty={traded:,} resting={resting:,} "
        f"book={book_digest} events={event_digest}"
    )


def machine() -> str:
    return (
        f"python {platform.python_version()} ({platform.python_implementation()}), {platform.platform()}, "
        f"cpus {os.cpu_count()}, gc enabled={gc.isenabled()} thresholds={gc.get_threshold()} "
        f"frozen={gc.get_freeze_count()}"
    )


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--ops", type=int, default=1_000_000, help="operations in the stream")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument(
        "--naive-ops",
        type=int,
        default=10_000,
        help="prefix replayed through NaiveBook as a correctness cross-check (O(book size) per op; not timed)",
    )
    p.add_argument("--repeat", type=int, default=3, help="timed runs of each book on the full stream, interleaved")
    p.add_argument(
        "--gc",
        choices=("tuned", "default", "off"),
        default="tuned",
        help="tuned: gc.freeze() after generating the stream, gen0 threshold 100,000",
    )
    args = p.parse_args(argv)

    t0 = time.perf_counter()
    ops = make_stream(args.ops, args.seed)
    n_cancel = sum(1 for is_order, _ in ops if not is_order)
    print(
        f"stream: {len(ops):,} ops ({len(ops) - n_cancel:,} limit orders, {n_cancel:,} cancels), "
        f"seed {args.seed}, generated in {time.perf_counter() - t0:.1f}s"
    )
    gc.collect()
    if args.gc == "tuned":
        gc.freeze()
        gc.set_threshold(100_000, 50, 100)
    elif args.gc == "off":
        gc.disable()
    print("machine:", machine())
    ok = True

    # 1. correctness cross-check against the reference book on a prefix (not timed)
    prefix = ops[: min(args.naive_ops, len(ops))]
    print(f"\ncross-check on the first {len(prefix):,} ops (NaiveBook is the reference, not a baseline)")
    sums = {cls.__name__: replay_checksum(cls, prefix) for cls in (NaiveBook, PlainBook, FastBook)}
    for name, checksum in sums.items():
        print(f"  {name:9s} {format_checksum(checksum)}")
    agree = len(set(sums.values())) == 1
    ok &= agree
    print(f"  checksums agree: {agree}")

    # 2. the whole stream through both books, interleaved
    books = (PlainBook, FastBook)
    print(f"\nfull stream: {len(ops):,} ops, {args.repeat} timed runs of each book, interleaved")
    rates: dict[str, list[float]] = {cls.__name__: [] for cls in books}
    ends: dict[str, set] = {cls.__name__: set() for cls in books}
    for i in range(args.repeat):
        pair = {}
        for cls in books if i % 2 == 0 else books[::-1]:
            elapsed, n_events, book = run(cls, ops)
            name = cls.__name__
            rates[name].append(len(ops) / elapsed)
            ends[name].add((n_events, book_hash(book)))
            pair[name] = f"{len(ops) / elapsed:>10,.0f} ops/s ({elapsed:5.2f}s)"
            del book
            gc.collect()
        print(
            f"  run {i + 1}: PlainBook {pair['PlainBook']}   FastBook {pair['FastBook']}   "
            f"ratio {rates['FastBook'][-1] / rates['PlainBook'][-1]:.2f}x"
        )
    sums = {cls.__name__: replay_checksum(cls, ops) for cls in books}
    for name, checksum in sums.items():
        n_events, _, _, resting, book_digest, _ = checksum
        same = ends[name] == {(n_events, (resting, book_digest))}
        ok &= same
        print(f"  {name:9s} {format_checksum(checksum)}   timed runs end on this book: {same}")
    agree = sums["PlainBook"] == sums["FastBook"]
    ok &= agree
    print(f"  checksums agree: {agree}")
    median = {name: statistics.median(r) for name, r in rates.items()}
    ratio = median["FastBook"] / median["PlainBook"]
    print(f"  PlainBook median {median['PlainBook']:,.0f} ops/s, FastBook median {median['FastBook']:,.0f} ops/s")
    print(f"  ratio FastBook/PlainBook: {ratio:.2f}x   goal 2x: {'met' if ratio >= 2.0 else 'not met'}")
    print("machine:", machine())
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
