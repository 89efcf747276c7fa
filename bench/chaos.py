"""Chaos: SIGKILL the venue at random instants under load, stop its chain node, and check every
restart against what the members and the drop copy were told.

Each round streams seeded orders (limits that cross, cancels, replaces) from BRKA, BRKB and MM1
while OPSDC (drop copy) is logged on, and SIGKILLs the venue process at a random instant. The
settlement worker and node it started survive a SIGKILL of the venue alone; they are killed too,
by pid, as a supervisor stopping the service would (their survival is reported). The venue is
restarted on the same store; the sessions log on again with their sequence numbers (catching up
with a ResendRequest when the venue sent more than they read), and the client's own record is
checked against the journal:

* every acknowledged order is in the store under the OrderID the member was given, with a state
  at least as far along as the member last heard (a closed order: the same state);
* every fill a member saw is a trade in the store with its quantity and price; no ExecID twice
  (PossDup resends aside); every order's CumQty is the sum of its trades;
* the drop copy saw every fill the members saw, and nothing the store lacks;
* journaled trades no member heard of (after catch-up) are reported.

With ``--node-kills``, the chain node is stopped for a while between kills (anvil: SIGTERM, which
keeps its state, then started again on the same port): orders must still be accepted, trades
queue. At the end every trade must settle once (``venue settlement list --json``: all final, at
most one final settlement event per trade) and ``venue ta reconcile`` must exit 0.

    python bench/chaos.py                              # 20 kills, SQLite, anvil (else embedded)
    python bench/chaos.py --kills 5 --store postgres --node-kills 1
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import signal
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import fix_load as fl  # noqa: E402

DROP_COPY = "OPSDC"
CLOSED = {b"2", b"4", b"8", b"C"}


@dataclass
class Record:
    """What the members and the drop copy were told, across every restart."""

    acked: dict[int, tuple[str, str]] = field(default_factory=dict)  # OrderID -> (comp, first ClOrdID)
    latest: dict[int, tuple[int, bytes, int]] = field(default_factory=dict)  # OrderID -> (ExecID, OrdStatus, CumQty)
    fills: dict[bytes, tuple] = field(default_factory=dict)  # ExecID -> (comp, TrdMatchID, qty, px, side, OrderID)
    dc_exec_ids: set[bytes] = field(default_factory=set)
    dc_fills: dict[bytes, tuple] = field(default_factory=dict)
    duplicates: int = 0
    rejected: Counter = field(default_factory=Counter)
    sent: int = 0

    def absorb(self, comp: str, m: dict[bytes, bytes]) -> None:
        if m.get(b"35") != b"8":
            return
        exec_id, exec_type = m.get(b"17", b""), m.get(b"150")
        possdup = m.get(b"43") == b"Y"
        if comp == DROP_COPY:
            self.dc_exec_ids.add(exec_id)
            if exec_type == b"F":
                self.dc_fills[exec_id] = (
                    m.get(b"49"),
                    int(m.get(b"880", b"0")),
                    int(m.get(b"32", b"0")),
                    m.get(b"31"),
                    m.get(b"54"),
                    int(m.get(b"37", b"0")),
                )
            return
        if exec_type == b"8":
            self.rejected[m.get(b"20001", b"?").decode()] += 1
            return
        order_id = int(m.get(b"37", b"0"))
        if order_id and order_id not in self.acked:
            self.acked[order_id] = (comp, m.get(b"11", b"").decode())
        xid = int(exec_id or 0)
        if order_id and xid > self.latest.get(order_id, (0,))[0]:
            self.latest[order_id] = (xid, m.get(b"39", b""), int(m.get(b"14", b"0")))
        if exec_type == b"F":
            if exec_id in self.fills and not possdup:
                self.duplicates += 1
            self.fills[exec_id] = (
                comp,
                int(m.get(b"880", b"0")),
                int(m.get(b"32", b"0")),
                m.get(b"31"),
                m.get(b"54"),
                order_id,
            )


class Members:
    """The three order-entry sessions and the drop copy, kept across venue restarts."""

    def __init__(self, port: int) -> None:
        self.sessions = {c: fl.Session(port, c) for c in (*fl.MEMBERS, DROP_COPY)}

    def logon(self, record: Record, tries: int = 40) -> None:
        for s in self.sessions.values():
            for attempt in range(tries):
                try:
                    for m in s.logon():
                        record.absorb(s.comp_id, m)
                    break
                except (OSError, TimeoutError):
                    s.close()
                    if attempt == tries - 1:
                        raise
                    time.sleep(0.5)
        self.drain(record, 1.0)  # resent (PossDup) messages of the catch-up

    def drain(self, record: Record, seconds: float) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            self.pump(record, 0.05)

    def pump(self, record: Record, timeout: float) -> list[str]:
        """Read what is there; returns the CompIDs whose connection died."""
        import select

        live = {s.sock: s for s in self.sessions.values() if s.sock is not None}
        if not live:
            return []
        dead = []
        r, _, _ = select.select(list(live), [], [], timeout)
        for sock in r:
            s = live[sock]
            try:
                for m in s.recv(None):
                    record.absorb(s.comp_id, m)
            except (ConnectionError, OSError):
                s.close()
                dead.append(s.comp_id)
        return dead

    def close(self) -> None:
        for s in self.sessions.values():
            s.close()


def load_round(members: Members, record: Record, ops: list[fl.Op], rate: float, kill_after: float | None, kill) -> int:
    """Send `ops` at about `rate` messages/s; SIGKILL the venue `kill_after` seconds in (None: no
    kill). Returns the messages sent before the connections died."""
    t0 = time.monotonic()
    sent = 0
    killed = threading.Event()
    if kill_after is not None:
        timer = threading.Timer(kill_after, lambda: (kill(), killed.set()))
        timer.start()
    for op in ops:
        s = members.sessions[op.comp_id]
        if s.sock is None:
            break
        try:
            s.send(op.msg_type, op.body())
            sent += 1
        except OSError:
            s.close()
            break
        members.pump(record, 0)
        lag = t0 + sent / rate - time.monotonic()
        if lag > 0:
            members.pump(record, lag)
    if kill_after is not None:
        killed.wait(kill_after + 30)
        while any(s.sock is not None for s in members.sessions.values()):
            members.pump(record, 0.2)
    else:
        members.drain(record, 1.0)
    record.sent += sent
    return sent


def verify(venue: fl.VenueUnderTest, record: Record, *, expect_all_reported: bool = True) -> list[str]:
    """The journal against the client's record; returns the problems found."""
    problems: list[str] = []
    store = venue.store()
    try:
        orders = {o.order_id: o for o in store.orders(status=None, limit=1_000_000)}
        trades = {int(t["trade_id"]): t for t in store.trades()}
    finally:
        store.dispose()
    for order_id, (comp, clid) in record.acked.items():
        o = orders.get(order_id)
        if o is None:
            problems.append(f"acknowledged order {order_id} ({comp} {clid}) is not in the store")
            continue
        if o.comp_id != comp:
            problems.append(f"order {order_id}: member {comp} was told, store says {o.comp_id}")
        _, status, cum = record.latest[order_id]
        if o.cum < cum:
            problems.append(f"order {order_id}: member saw CumQty {cum}, store {o.cum}")
        if status in CLOSED and o.status.value.encode() != status:
            problems.append(f"order {order_id}: member saw OrdStatus {status.decode()}, store {o.status.value}")
    by_order: dict[int, int] = defaultdict(int)
    for t in trades.values():
        by_order[int(t["buy_order_id"])] += int(t["qty"])
        by_order[int(t["sell_order_id"])] += int(t["qty"])
    for o in orders.values():
        if o.cum != by_order.get(o.order_id, 0):
            problems.append(f"order {o.order_id}: CumQty {o.cum} but its trades sum to {by_order.get(o.order_id, 0)}")
    seen_trades: dict[int, list[tuple]] = defaultdict(list)
    for xid, f in record.fills.items():
        t = trades.get(f[1])
        if t is None:
            problems.append(f"fill {xid.decode()} of trade {f[1]} is not in the store")
            continue
        seen_trades[f[1]].append(f)
        if f[2] != int(t["qty"]) or f[3].decode() != str(t["price"]):
            problems.append(f"fill {xid.decode()}: member saw {f[2]}@{f[3].decode()}, store {t['qty']}@{t['price']}")
    for tid, fs in seen_trades.items():
        if len(fs) > 2 or len({f[4] for f in fs}) != len(fs):
            problems.append(f"trade {tid} reported {len(fs)} times to members")
    if record.duplicates:
        problems.append(f"{record.duplicates} fills reported twice (not as PossDup resends)")
    missing_dc = set(record.fills) - record.dc_exec_ids
    if missing_dc:
        problems.append(f"drop copy missed {len(missing_dc)} fills members saw (e.g. {sorted(missing_dc)[:3]})")
    extra_dc = {f[1] for f in record.dc_fills.values()} - set(trades)
    if extra_dc:
        problems.append(f"drop copy saw {len(extra_dc)} trades the store lacks")
    unheard = set(trades) - set(seen_trades)
    if unheard and expect_all_reported:
        problems.append(f"{len(unheard)} journaled trades no member heard of (e.g. {sorted(unheard)[:5]})")
    return problems


# ---------------------------------------------------------------- chain node control


class Anvil:
    """An anvil node with its state in a file: stopped (SIGTERM: it dumps its state) and started again
    on the same port."""

    def __init__(self, work: Path) -> None:
        from venue.chain import backend

        self.backend = backend
        self.port = backend.free_port()
        self.state = work / "anvil-state.json"
        self.stack: contextlib.ExitStack | None = None
        self.url = f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.stack = contextlib.ExitStack()
        self.stack.enter_context(self.backend.anvil_node(port=self.port, extra_args=["--state", str(self.state)]))

    def stop(self) -> None:
        if self.stack is not None:
            self.stack.close()
            self.stack = None


def wait_settled(venue: fl.VenueUnderTest, timeout: float) -> tuple[dict[str, int], float]:
    from venue.store.settlement import SettlementStore

    store = venue.store()
    t0 = time.monotonic()
    try:
        settlement = SettlementStore(store)
        while True:
            counts = settlement.status_counts()
            if set(counts) <= {"final"} or time.monotonic() - t0 > timeout:
                return counts, time.monotonic() - t0
            time.sleep(1.0)
    finally:
        store.dispose()


def check_settlement(venue: fl.VenueUnderTest, timeout: float) -> list[str]:
    """All trades final, each settled once, the chain and the books agree."""
    problems = []
    counts, waited = wait_settled(venue, timeout)
    print(f"  settlement after {waited:.0f}s: {counts}")
    if set(counts) - {"final"}:
        problems.append(f"not all trades settled within {timeout:.0f}s: {counts}")
    rows = json.loads(venue.cli("settlement", "list", "--json", "--limit", "1000000").stdout)
    if any(r["status"] != "final" for r in rows):
        problems.append("settlement list shows trades not final")
    from venue.store.settlement import SettlementStore

    store = venue.store()
    try:
        finals = Counter(e["trade_id"] for e in SettlementStore(store).events() if e["outcome"] == "final")
    finally:
        store.dispose()
    twice = [t for t, n in finals.items() if n > 1]
    if twice:
        problems.append(f"{len(twice)} trades settled more than once: {twice[:5]}")
    attempts = Counter(r["attempts"] for r in rows)
    print(
        f"  settlement attempts per trade: {dict(sorted(attempts.items()))}; final events {sum(finals.values())} "
        f"for {len(rows)} trades"
    )
    res = venue.cli("ta", "reconcile", check=False)
    print(f"  ta reconcile: exit {res.returncode}; {res.stdout.strip().splitlines()[-1] if res.stdout.strip() else ''}")
    if res.returncode != 0:
        problems.append(f"ta reconcile exit {res.returncode}:\n{res.stdout[-800:]}{res.stderr[-400:]}")
    return problems


# ---------------------------------------------------------------- the run


def _running(pid: int) -> bool:
    """The process exists and is not a zombie waiting to be reaped."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0] != "Z"
    except OSError:
        return False


def run(
    kills: int,
    store_kind: str,
    chain: str,
    work: Path,
    *,
    seed: int = 7,
    rate: float = 300.0,
    node_kills: int = 0,
    settle_timeout: float = 300.0,
    orders_per_round: int = 1500,
    racy: bool = False,
    log=print,
) -> list[str]:
    """`kills` SIGKILLs under load (and `node_kills` chain outages); returns every problem found."""
    rng = random.Random(seed)
    pg_name = None
    anvil = None
    problems: list[str] = []
    venue = None
    members = None
    orphans_seen = 0
    try:
        db_url = None
        if store_kind == "postgres":
            db_url, pg_name = fl.create_pg_database("venue_chaos")
        chain_arg = chain
        if chain == "anvil":
            anvil = Anvil(work)
            anvil.start()
            chain_arg = anvil.url
        venue = fl.VenueUnderTest(work / "venue", db_url, chain=chain_arg)
        venue.prepare(fund=False)
        venue.start()
        record = Record()
        members = Members(venue.port)
        members.logon(record)
        node_rounds = set(rng.sample(range(1, kills), min(node_kills, max(0, kills - 1)))) if kills > 1 else set()
        for rnd in range(kills):
            if rnd in node_rounds:
                problems += node_outage(venue, members, record, anvil, rng, rnd, seed, rate, log)
            ops = fl.make_stream(orders_per_round, seed * 1000 + rnd, f"K{rnd}-", racy=racy)
            kill_after = rng.uniform(0.3, min(4.0, orders_per_round / rate * 0.8))
            children = fl.descendants(venue.pid)
            t0 = time.monotonic()
            sent = load_round(members, record, ops, rate, kill_after, venue.kill)
            # The engine, the settlement worker and the node get SIGTERM from the parent-death signal;
            # the worker finishes its step first. One still running after 10 s is an orphan.
            gone_by = time.monotonic() + 10.0
            alive = [p for p in children if _running(p)]
            while alive and time.monotonic() < gone_by:
                time.sleep(0.1)
                alive = [p for p in alive if _running(p)]
            orphans_seen += len(alive)
            for pid in alive:  # the supervisor's part: the service's processes go with it
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGKILL)
            venue.start()
            members.logon(record)
            found = verify(venue, record, expect_all_reported=True)
            log(
                f"  kill {rnd + 1:2d}/{kills}: after {kill_after:.2f}s, {sent} msgs sent; restart "
                f"{time.monotonic() - t0 - kill_after:.1f}s; {len(record.acked)} orders acked, {len(record.fills)} "
                f"fills so far; {len(alive)} orphans; " + ("OK" if not found else f"{len(found)} PROBLEMS")
            )
            for p in found[:6]:
                log(f"      ! {p}")
            problems += [f"kill {rnd + 1}: {p}" for p in found]
        # a last round without a kill: the venue still trades, then everything settles
        load_round(members, record, fl.make_stream(300, seed * 1000 + 999, "END-"), rate, None, venue.kill)
        found = verify(venue, record)
        problems += [f"final: {p}" for p in found]
        if chain != "none":
            problems += check_settlement(venue, settle_timeout)
        rows = json.loads(venue.cli("orders", "--status", "all", "--json", "--limit", "1000000").stdout)
        missing = set(record.acked) - {int(r["order_id"]) for r in rows}
        if missing:
            problems.append(f"`venue orders --status all` lacks {len(missing)} acknowledged orders")
        log(
            f"  total: {record.sent} msgs sent, {len(record.acked)} orders acknowledged, {len(record.fills)} fills, "
            f"{len(record.dc_exec_ids)} drop-copy reports; rejects {dict(record.rejected.most_common(5))}; "
            f"orphaned settlement processes after SIGKILL: {orphans_seen}"
        )
        errors = fl.venue_log_errors(venue.data_dir)
        if errors:
            log(f"  venue.log: {len(errors)} ERROR/CRITICAL lines, first: {errors[0]}")
    finally:
        if members is not None:
            members.close()
        if venue is not None:
            venue.stop()
        if anvil is not None:
            anvil.stop()
        if pg_name:
            fl.drop_pg_database(pg_name)
    return problems


def node_outage(
    venue, members: Members, record: Record, anvil: Anvil | None, rng, rnd: int, seed: int, rate: float, log
) -> list[str]:
    """Stop the chain node, keep trading, start it again; the venue must keep accepting orders."""
    problems = []
    acked_before = len(record.acked)
    if anvil is not None:
        anvil.stop()
    else:  # the embedded node: a child of the venue serving the port in chain/node-url
        url = (venue.data_dir / "chain" / "node-url").read_text().strip()
        for pid in fl.descendants(venue.pid):
            with contextlib.suppress(OSError):
                if b"embedded_node" in Path(f"/proc/{pid}/cmdline").read_bytes():
                    os.kill(pid, signal.SIGKILL)
        log(f"  chain node at {url} killed (embedded: it comes back with the next venue restart)")
    load_round(members, record, fl.make_stream(600, seed * 1000 + 500 + rnd, f"N{rnd}-"), rate, None, venue.kill)
    if venue.proc.poll() is not None:
        problems.append("the venue exited while the chain node was down")
    if len(record.acked) <= acked_before:
        problems.append("no order acknowledged while the chain node was down")
    counts, _ = wait_settled(venue, 0)
    log(
        f"  chain node down (round {rnd}): {len(record.acked) - acked_before} orders acked meanwhile; "
        f"settlement {counts}"
    )
    if anvil is not None:
        time.sleep(rng.uniform(1, 4))
        anvil.start()
        log("  chain node back")
    return problems


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--kills", type=int, default=20)
    ap.add_argument("--store", choices=["sqlite", "postgres"], default="sqlite")
    ap.add_argument(
        "--chain",
        choices=["anvil", "embedded", "none"],
        default=None,
        help="default: anvil if installed under node_modules, else embedded",
    )
    ap.add_argument("--node-kills", type=int, default=2)
    ap.add_argument("--rate", type=float, default=300.0, help="order messages/s during a round")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--settle-timeout", type=float, default=600.0)
    ap.add_argument("--racy", action="store_true", help="cancels may race fills (the halting bug)")
    ap.add_argument("--work", default=None)
    args = ap.parse_args()
    from venue.chain import backend

    chain = args.chain or ("anvil" if backend.find_anvil() else "embedded")
    work = Path(args.work) if args.work else Path(tempfile.mkdtemp(prefix="chaos_"))
    print(fl.machine_info())
    print(
        f"settings: {args.kills} SIGKILLs, store {args.store}, chain {chain}, {args.node_kills} node outages, "
        f"{args.rate:.0f} msgs/s, seed {args.seed}"
    )
    t0 = time.monotonic()
    problems = run(
        args.kills,
        args.store,
        chain,
        work,
        seed=args.seed,
        rate=args.rate,
        node_kills=args.node_kills,
        settle_timeout=args.settle_timeout,
        racy=args.racy,
    )
    print(
        f"chaos: {'PASSED' if not problems else f'FAILED ({len(problems)} problems)'} in {time.monotonic() - t0:.0f}s"
    )
    for p in problems[:30]:
        print(f"  ! {p}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
