"""Order book throughput: FastBook against the NaiveBook baseline on one seeded stream.

Stream: 90% DAY limit orders around a random-walking mid (mostly passive, some crossing),
10% cancels of recently submitted orders, so price levels hold deep FIFOs and the book grows
to hundreds of thousands of live orders. The stream is generated before timing.

The naive book sorts on every match and scans to cancel, so it runs only the first
`--naive-ops` operations; FastBook runs that same prefix too (the ratio compares like with like)
and then the whole stream. On the common prefix both must produce the same checksum: trade
count, traded quantity, resting order count and a SHA-256 over every trade and the final book.

    python bench/book_bench.py --ops 1000000 --seed 1
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import os
import platform
import random
import sys
import time
from pathlib import Path

try:
    import venue  # noqa: F401
except ImportError:  # running from a checkout without an installed package
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from venue.book.fast import FastBook
from venue.book.naive import NaiveBook
from venue.book.types import NewOrder, OrdType, Side, TimeInForce, Trade

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


def run(book_cls: type, ops: list) -> tuple[float, list, object]:
    """Feed `ops` to a fresh book; return (seconds, event lists holding trades, book)."""
    book = book_cls()
    submit = book.submit
    cancel = book.cancel
    kept: list = []
    keep = kept.append
    t0 = time.perf_counter()
    for is_order, arg in ops:
        if is_order:
            events = submit(arg)
            if len(events) > 1:
                keep(events)
        else:
            cancel(arg)
    elapsed = time.perf_counter() - t0
    return elapsed, kept, book


def checksum(kept: list, book) -> tuple[int, int, int, str]:
    """(trades, traded qty, resting orders, sha256 over trades and the final book)."""
    h = hashlib.sha256()
    trades = traded = 0
    for events in kept:
        for e in events:
            if type(e) is Trade:
                trades += 1
                traded += e.qty
                h.update(f"T{e.buy_order_id},{e.sell_order_id},{e.price},{e.qty},{e.buy_leaves},{e.sell_leaves};".encode())
    resting = 0
    for v in book.resting_orders():
        resting += 1
        h.update(f"R{v.order_id},{v.side.value},{v.price},{v.leaves},{v.cum},{v.priority};".encode())
    return trades, traded, resting, h.hexdigest()[:16]


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
    p.add_argument("--naive-ops", type=int, default=30_000, help="prefix run through both books")
    p.add_argument("--gc", choices=("default", "tuned", "off"), default="tuned",
                   help="tuned: gc.freeze() after generation and gen0 threshold 100000")
    args = p.parse_args(argv)

    t0 = time.perf_counter()
    ops = make_stream(args.ops, args.seed)
    n_cancel = sum(1 for is_order, _ in ops if not is_order)
    print(f"stream: {len(ops):,} ops ({len(ops) - n_cancel:,} limit orders, {n_cancel:,} cancels), "
          f"seed {args.seed}, generated in {time.perf_counter() - t0:.1f}s")
    gc.collect()
    if args.gc == "tuned":
        gc.freeze()
        gc.set_threshold(100_000, 50, 100)
    elif args.gc == "off":
        gc.disable()
    print("machine:", machine())

    prefix = ops[: min(args.naive_ops, len(ops))]
    results = {}
    for cls in (NaiveBook, FastBook):
        elapsed, kept, book = run(cls, prefix)
        book.validate_internal_state()
        results[cls.__name__] = (elapsed, checksum(kept, book))
        del kept, book
        gc.collect()
    print(f"\ncommon prefix: {len(prefix):,} ops")
    for name, (elapsed, cs) in results.items():
        print(f"  {name:9s} {len(prefix) / elapsed:>12,.0f} ops/s  {elapsed:8.3f}s  "
              f"checksum trades={cs[0]:,} qty={cs[1]:,} resting={cs[2]:,} hash={cs[3]}")
    fast_rate = len(prefix) / results["FastBook"][0]
    naive_rate = len(prefix) / results["NaiveBook"][0]
    agree = results["FastBook"][1] == results["NaiveBook"][1]
    print(f"  ratio fast/naive: {fast_rate / naive_rate:,.1f}x   checksums agree: {agree}")

    elapsed, kept, book = run(FastBook, ops)
    cs = checksum(kept, book)
    rate = len(ops) / elapsed
    print(f"\nfull stream: {len(ops):,} ops")
    print(f"  FastBook  {rate:>12,.0f} ops/s  {elapsed:8.3f}s  "
          f"checksum trades={cs[0]:,} qty={cs[1]:,} resting={cs[2]:,} hash={cs[3]}")
    t0 = time.perf_counter()
    book.validate_internal_state()
    print(f"  validate_internal_state ok ({time.perf_counter() - t0:.1f}s)")
    print("machine:", machine())
    return 0 if agree else 1


if __name__ == "__main__":
    sys.exit(main())
