"""DvP settlement throughput: trades/s and gas per trade, one trade per transaction vs batched.

For each backend (the embedded eth-tester node and anvil from node_modules), in a fresh node:
deploy the venue chain (real T-REX suite, ONCHAINID identities with KYC claims, the holding-period
module with a 180-day period, the sandbox stablecoin, DvP), mint every investor's lot, move the clock
past the holding period, then settle one seeded stream of trades per batch size. Batch size 1 (one
``settle`` per transaction) is the baseline; the batched figures are ``settleBatch`` transactions.
Every trade must settle, and the final balances must equal a reference model computed in Python
(quantity and cash conserved, each account's net position as the trades say); the run fails if not.
A missed throughput target is reported (and fails the run only with --strict).

    python bench/settle_bench.py                       # both backends, sizes 1,50,200
    python bench/settle_bench.py --backends anvil --trades 4000

Transactions are pipelined from the operator's single sender and receipts are read raw over
JSON-RPC (web3's log formatting is skipped). Timing covers encoding, signing, sending, mining and
receipts; deployment is not timed.
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import os
import platform
import random
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

try:
    import venue  # noqa: F401
except ImportError:  # running from a checkout without an installed package
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from venue.chain import backend
from venue.chain.deploy import deploy_venue_chain
from venue.chain.settlement import DvPClient, SettlementInstruction, SettlementStatus

SYMBOL = "BNCH"
HOLDING_PERIOD = 180 * 86_400
INITIAL_QTY = 1_000_000
INITIAL_CASH = 10**15  # base units (1e9 sUSD)
TARGETS = {"anvil": 500.0, "embedded": 30.0}  # batched trades/s


def make_trades(n: int, investors: list[str], seed: int, tag: str) -> list[SettlementInstruction]:
    """Seeded stream: random distinct seller/buyer, 1..100 tokens at 1..100 sUSD each."""
    rng = random.Random(seed)
    trades = []
    for i in range(n):
        seller, buyer = rng.sample(investors, 2)
        qty = rng.randint(1, 100)
        price = rng.randint(1, 100) * 1_000_000
        trades.append(SettlementInstruction(f"{tag}-{seed}-{i}", SYMBOL, seller, buyer, qty, qty * price))
    return trades


def expected_balances(investors: list[str], trades: list[SettlementInstruction]) -> tuple[Counter, Counter]:
    tokens = Counter({a: INITIAL_QTY for a in investors})
    cash = Counter({a: INITIAL_CASH for a in investors})
    for t in trades:
        tokens[t.seller_account] -= t.qty
        tokens[t.buyer_account] += t.qty
        cash[t.buyer_account] -= t.cash_amount
        cash[t.seller_account] += t.cash_amount
    return tokens, cash


def run_backend(kind: str, sizes: list[int], n_batched: int, n_single: int, investors_n: int, seed: int) -> list[dict]:
    node_cm = backend.anvil_node() if kind == "anvil" else backend.embedded_node()
    rows = []
    with node_cm as node:
        w3 = node.web3()
        investors = [f"INV{i:03d}" for i in range(investors_n)]
        t0 = time.perf_counter()
        deployment = deploy_venue_chain(
            w3,
            backend.DEV_OPERATOR_KEY,
            investors=[(a, "US") for a in investors],
            securities=[(SYMBOL, "Bench Corp", HOLDING_PERIOD)],
            initial_tokens={(a, SYMBOL): INITIAL_QTY for a in investors},
            initial_cash={a: INITIAL_CASH for a in investors},
        )
        deploy_s = time.perf_counter() - t0
        backend.increase_time(w3, HOLDING_PERIOD + 1)
        client = DvPClient(w3, deployment, backend.DEV_OPERATOR_KEY)
        print(f"\n[{kind}] {node.url}  deployed {investors_n} investors in {deploy_s:.1f}s (not timed below)")
        all_trades: list[SettlementInstruction] = []
        for size in sizes:
            n = n_single if size == 1 else n_batched
            trades = make_trades(n, investors, seed + size, f"{kind}-b{size}")
            gc.collect()
            started = time.perf_counter()
            results = client.settle_batch(trades, batch_size=size)
            elapsed = time.perf_counter() - started
            bad = [r for r in results if r.status is not SettlementStatus.SETTLED]
            if bad:
                raise SystemExit(f"[{kind}] batch {size}: {len(bad)} trades did not settle, first: {bad[0]}")
            gas = sum({r.tx_hash: r.gas_used for r in results}.values())
            txs = len({r.tx_hash for r in results})
            rows.append(
                {
                    "backend": kind,
                    "batch": size,
                    "trades": n,
                    "txs": txs,
                    "seconds": elapsed,
                    "tps": n / elapsed,
                    "gas_per_trade": gas / n,
                }
            )
            all_trades += trades
            print(
                f"  batch {size:>4}: {n:>5} trades in {txs:>4} txs, {elapsed:7.2f}s, "
                f"{n / elapsed:8.1f} trades/s, {gas / n:9,.0f} gas/trade"
            )
        # correctness: every balance equals the reference model; totals conserved
        want_tokens, want_cash = expected_balances(investors, all_trades)
        got_tokens = Counter({a: client.token_balance(a, SYMBOL) for a in investors})
        got_cash = Counter({a: client.cash_balance(a) for a in investors})
        if got_tokens != want_tokens or got_cash != want_cash:
            raise SystemExit(f"[{kind}] final balances differ from the reference model")
        assert sum(got_tokens.values()) == INITIAL_QTY * investors_n
        assert sum(got_cash.values()) == INITIAL_CASH * investors_n
        digest = hashlib.sha256(repr(sorted(got_tokens.items()) + sorted(got_cash.items())).encode()).hexdigest()[:16]
        print(f"  checksum: {len(all_trades)} trades settled, balances match the reference model, sha256 {digest}")
    return rows


def machine() -> str:
    anvil = backend.find_anvil()
    anvil_version = "missing"
    if anvil:
        anvil_version = subprocess.run([str(anvil), "--version"], capture_output=True, text=True).stdout.splitlines()[0]
    return (
        f"python {platform.python_version()} on {platform.platform()}, {os.cpu_count()} cpus, "
        f"gc {'on' if gc.isenabled() else 'off'} (threshold {gc.get_threshold()}), {anvil_version}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backends", default="embedded,anvil")
    parser.add_argument("--sizes", default="1,50,200")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--investors", type=int, default=20)
    parser.add_argument(
        "--trades", type=int, default=0, help="trades per batched size (default: 400 embedded, 4000 anvil)"
    )
    parser.add_argument(
        "--single-trades",
        type=int,
        default=0,
        help="trades at batch size 1 (default: 60 embedded, 600 anvil)",
    )
    parser.add_argument("--strict", action="store_true", help="exit 1 when a throughput target is missed")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    print("settle_bench:", machine())
    rows = []
    for kind in args.backends.split(","):
        if kind == "anvil" and backend.find_anvil() is None:
            print("\n[anvil] skipped: node_modules/@foundry-rs/anvil missing (run `npm ci`)")
            continue
        n_batched = args.trades or (400 if kind == "embedded" else 4000)
        n_single = args.single_trades or (60 if kind == "embedded" else 600)
        rows += run_backend(kind, sizes, n_batched, n_single, args.investors, args.seed)
    print("\nsummary (trades/s; ratio = batched / single; target is for the best batched figure)")
    failed = False
    for kind in dict.fromkeys(r["backend"] for r in rows):
        mine = [r for r in rows if r["backend"] == kind]
        single = next((r for r in mine if r["batch"] == 1), None)
        best = max((r for r in mine if r["batch"] > 1), key=lambda r: r["tps"], default=None)
        parts = [
            f"batch {r['batch']}: {r['tps']:.1f}"
            + (f" (x{r['tps'] / single['tps']:.1f})" if single and r["batch"] > 1 else "")
            for r in mine
        ]
        line = f"  {kind:9} " + ", ".join(parts)
        if best is not None:
            ok = best["tps"] >= TARGETS[kind]
            failed |= not ok
            line += f"  | target >= {TARGETS[kind]:.0f}/s: {'met' if ok else 'MISSED'}"
        print(line)
    return 1 if failed and args.strict else 0


if __name__ == "__main__":
    sys.exit(main())
