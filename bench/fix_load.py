"""FIX order-entry load: the venue end to end (FIX, gates, book, group-commit journal) against a floor.

A load generator that shares no code path with the venue: raw TCP sockets, messages encoded with
simplefix *before* the clock starts, answers read with a minimal splitter. It logs on as BRKA, BRKB
and MM1 and sends one seeded stream per run (limit orders around the reference price that cross
about half the time, cancels and replaces of its own orders), in two modes:

* latency:   one message in flight in the whole venue; order -> first answer (35=8 or 35=9).
* pipelined: up to ``--window`` messages in flight per session; throughput, and the latency under
             that queueing.

Targets, all in one run:

* the venue (``venue sandbox``) on SQLite, then on a fresh PostgreSQL database, each with
  ``--chain embedded`` (the settlement worker and its node run beside it, as in production);
* the floor: a bare QuickFIX acceptor (this file, ``--serve-floor``): integer-tag calls,
  ThreadedSocketAcceptor, memory store, no log, the venue's FIX44 dictionary; it answers every
  order message (D, F, G) with one ExecutionReport and does nothing else. It is the cost of the FIX
  layer alone. It runs before and after each venue (floor, sqlite, floor, postgres, floor), and
  each venue/floor ratio is against the mean of the two floors around that venue: on a shared
  machine the speed drifts by tens of percent within minutes.

Correctness: every message must be answered; every fill the members saw is a trade in the venue's
journal with the same quantity and price, each trade seen by both sides, no ExecID twice. The
checksum of fills is printed (the latency mode's is reproducible: one message in flight makes the
matching order deterministic, so it must be equal on SQLite and PostgreSQL).

CPU per order: user+sys CPU seconds of the venue process (all its threads) over the phase, divided
by the order messages of the phase, and the share of it spent in the kernel (system calls); the
settlement worker's and node's CPU is printed apart.

    python bench/fix_load.py                         # full run: floor, sqlite, floor, postgres, floor
    python bench/fix_load.py --quick                 # short, for development
    python bench/fix_load.py --stores sqlite --profile /tmp/prof   # py-spy during the pipelined phase
    python bench/fix_load.py --stores sqlite --profile /tmp/prof --profile-phase latency
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import os
import platform
import random
import select
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import simplefix

ROOT = Path(__file__).resolve().parent.parent
try:
    import venue  # noqa: F401
except ImportError:  # a checkout without an installed package
    sys.path.insert(0, str(ROOT / "src"))

SOH = b"\x01"
PASSWORD = "sandbox"
TARGET = "ATS"
SYMBOL = "ACME"
REF_TICKS = 1000  # 10.00 at tick 0.01
TRANSACT_TIME = "20260101-00:00:00"
# Order-entry sessions of the sandbox and the account each trades for.
MEMBERS = {"BRKA": "A-ALICE", "BRKB": "B-BOB", "MM1": "M-MAKER"}
# Load runs trade and rest far more than the sandbox funds: give each account this much (with
# old lots, so the holding period does not bite). Trades settle at the chain's pace, so they keep
# holding funds for the whole run.
BENCH_HOLDINGS = {"ACME": 10_000_000, "USD": 1_000_000_000}
PG_ADMIN_URL = os.environ.get("VENUE_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/test")
CLK_TCK = os.sysconf("SC_CLK_TCK")


# ---------------------------------------------------------------- processes: CPU and memory


def cpu_split(pid: int) -> tuple[float, float]:
    """(user, sys) CPU seconds of one process (all its threads)."""
    with open(f"/proc/{pid}/stat") as f:
        parts = f.read().rsplit(")", 1)[1].split()
    return int(parts[11]) / CLK_TCK, int(parts[12]) / CLK_TCK


def cpu_seconds(pid: int) -> float:
    """user + sys CPU seconds of one process (all its threads)."""
    return sum(cpu_split(pid))


def sys_seconds(pids: list[int]) -> float:
    """sys (kernel) CPU seconds of the processes still alive."""
    total = 0.0
    for pid in pids:
        try:
            total += cpu_split(pid)[1]
        except OSError:
            pass
    return total


def rss_bytes(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def descendants(pid: int) -> list[int]:
    """Every live descendant of `pid` (from /proc: parent links)."""
    children: dict[int, list[int]] = defaultdict(list)
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children[ppid].append(int(entry))
    out, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


def _cmdline(pid: int) -> bytes:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read()
    except OSError:
        return b""


def tree_cpu(pids: list[int]) -> float:
    total = 0.0
    for pid in pids:
        try:
            total += cpu_seconds(pid)
        except OSError:
            pass
    return total


def named_cpu(comm: str) -> float:
    """user + sys CPU seconds of every process called `comm` (the database server's processes)."""
    total = 0.0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                head, tail = f.read().rsplit(")", 1)
            if head.split("(", 1)[1] == comm:
                parts = tail.split()
                total += (int(parts[11]) + int(parts[12])) / CLK_TCK
        except (OSError, IndexError, ValueError):
            continue
    return total


def machine_busy() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine so far, from /proc/stat."""
    with open("/proc/stat") as f:
        vals = [int(v) for v in f.readline().split()[1:]]
    idle = vals[3] + (vals[4] if len(vals) > 4 else 0)
    return (sum(vals) - idle) / CLK_TCK, sum(vals) / CLK_TCK


def machine_info() -> str:
    load = os.getloadavg()
    try:
        model = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name"))
    except (OSError, StopIteration):
        model = platform.processor() or "?"
    import quickfix

    return (
        f"machine: {os.cpu_count()} cores ({model}), {platform.system()} {platform.release()}; "
        f"Python {platform.python_version()} ({platform.python_implementation()}); quickfix "
        f"{getattr(quickfix, '__version__', '1.16')}; simplefix {getattr(simplefix, '__version__', '?')}; "
        f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; client gc {'on' if gc.isenabled() else 'off'}"
    )


# ---------------------------------------------------------------- the client side of a FIX session


def split_messages(buf: bytes) -> tuple[list[bytes], bytes]:
    """Complete FIX messages at the start of `buf`, and the rest."""
    out = []
    start = 0
    while True:
        end = buf.find(b"\x0110=", start)
        if end < 0:
            break
        stop = buf.find(SOH, end + 4)
        if stop < 0:
            break
        out.append(buf[start : stop + 1])
        start = stop + 1
    return out, buf[start:]


def fields(raw: bytes) -> dict[bytes, bytes]:
    """{tag: value} of one message (bytes; a repeated tag keeps its last value)."""
    return dict(f.split(b"=", 1) for f in raw[:-1].split(SOH))


def _ts() -> str:
    t = time.time()
    return time.strftime("%Y%m%d-%H:%M:%S", time.gmtime(t)) + f".{int(t % 1 * 1000):03d}"


class Session:
    """One member session: a socket, its outgoing sequence number, and a receive buffer."""

    def __init__(self, port: int, comp_id: str, *, seq: int = 1, host: str = "127.0.0.1") -> None:
        self.port, self.comp_id, self.host = port, comp_id, host
        self.out_seq = seq
        self.sock: socket.socket | None = None
        self.buf = b""
        self.closed = False
        self.last_in_seq = 0

    def encode(
        self, msg_type: str, body: list[tuple[int, str]], seq: int | None = None, *, header: list[tuple[int, str]] = ()
    ) -> bytes:
        m = simplefix.FixMessage()
        m.append_pair(8, "FIX.4.4", header=True)
        m.append_pair(35, msg_type, header=True)
        m.append_pair(49, self.comp_id, header=True)
        m.append_pair(56, TARGET, header=True)
        m.append_pair(34, str(self.out_seq if seq is None else seq), header=True)
        m.append_pair(52, _ts(), header=True)
        for tag, value in header:
            m.append_pair(tag, value, header=True)
        for tag, value in body:
            m.append_pair(tag, value)
        return m.encode()

    def send(self, msg_type: str, body: list[tuple[int, str]]) -> None:
        raw = self.encode(msg_type, body)
        self.out_seq += 1
        assert self.sock is not None
        self.sock.sendall(raw)

    def recv(self, timeout: float | None = 0.0) -> list[dict[bytes, bytes]]:
        """What arrived (waiting up to `timeout`); answers TestRequest and ResendRequest."""
        assert self.sock is not None
        if timeout is not None:
            r, _, _ = select.select([self.sock], [], [], timeout)
            if not r:
                return []
        data = self.sock.recv(1 << 18)
        if not data:
            self.closed = True
            raise ConnectionError(f"{self.comp_id}: the venue closed the connection")
        raws, self.buf = split_messages(self.buf + data)
        out = []
        for raw in raws:
            m = fields(raw)
            mt = m.get(b"35")
            self.last_in_seq = max(self.last_in_seq, int(m.get(b"34", b"0")))
            if mt == b"4" and b"36" in m:  # sequence reset / gap fill
                self.last_in_seq = max(self.last_in_seq, int(m[b"36"]) - 1)
            if mt == b"1":
                self.send("0", [(112, m.get(b"112", b"").decode())])
            elif mt == b"2":  # the venue lost messages of ours: we never resend orders, gap-fill
                begin = m.get(b"7", b"1").decode()
                raw_gf = self.encode(
                    "4", [(123, "Y"), (36, str(self.out_seq))], seq=int(begin), header=[(43, "Y"), (122, _ts())]
                )
                self.sock.sendall(raw_gf)
            out.append(m)
        return out

    def logon(self, timeout: float = 30.0, heartbeat: int = 30) -> list[dict[bytes, bytes]]:
        """Connect and log on; returns what arrived with the answer (raises if refused)."""
        self.sock = socket.create_connection((self.host, self.port), timeout=10)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock.settimeout(None)
        self.buf, self.closed = b"", False
        self.last_before_logon = self.last_in_seq
        self.send("A", [(98, "0"), (108, str(heartbeat)), (553, self.comp_id), (554, PASSWORD)])
        got: list[dict[bytes, bytes]] = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for m in self.recv(0.2):
                if m.get(b"35") == b"5":
                    raise ConnectionError(f"{self.comp_id}: logon refused: {m.get(b'58', b'').decode()}")
                got.append(m)
            answer = next((m for m in got if m.get(b"35") == b"A"), None)
            if answer is not None:
                expected = self.last_before_logon + 1
                if self.last_before_logon and int(answer[b"34"]) > expected:  # we missed some: ask again
                    self.send("2", [(7, str(expected)), (16, "0")])
                end = time.monotonic() + 0.3  # a ResendRequest follows the Logon if the venue missed some
                while time.monotonic() < end:
                    got += self.recv(0.05)
                return got
        raise TimeoutError(f"{self.comp_id}: no logon answer in {timeout}s")

    def close(self) -> None:
        if self.sock is not None:
            try:
                self.sock.close()
            finally:
                self.sock = None


# ---------------------------------------------------------------- the seeded stream


@dataclass(frozen=True, slots=True)
class Op:
    """One order message: D (new), F (cancel) or G (replace)."""

    comp_id: str
    msg_type: str
    cl_ord_id: str
    side: str
    qty: int = 0
    price_ticks: int = 0
    orig: str = ""

    def body(self) -> list[tuple[int, str]]:
        px = f"{self.price_ticks // 100}.{self.price_ticks % 100:02d}"
        if self.msg_type == "D":
            return [
                (11, self.cl_ord_id),
                (1, MEMBERS[self.comp_id]),
                (55, SYMBOL),
                (54, self.side),
                (60, TRANSACT_TIME),
                (38, str(self.qty)),
                (40, "2"),
                (44, px),
                (59, "1"),
                (528, "A"),
            ]
        if self.msg_type == "F":
            return [(11, self.cl_ord_id), (41, self.orig), (55, SYMBOL), (54, self.side), (60, TRANSACT_TIME)]
        return [
            (11, self.cl_ord_id),
            (41, self.orig),
            (1, MEMBERS[self.comp_id]),
            (55, SYMBOL),
            (54, self.side),
            (60, TRANSACT_TIME),
            (38, str(self.qty)),
            (40, "2"),
            (44, px),
            (59, "1"),
        ]


def make_stream(
    n: int,
    seed: int,
    tag: str,
    comp_ids=tuple(MEMBERS),
    cancel_share: float = 0.25,
    replace_share: float = 0.10,
    racy: bool = False,
    max_resting: int | None = None,
) -> list[Op]:
    """`n` order messages, sessions in turn: GTC limit orders of 1-5 lots, half of them priced to
    cross (buys 10.00-10.05, sells 9.95-10.00), half resting away from the market (buys 9.85-9.94,
    sells 10.06-10.15); cancels and replaces (kept away from the market) of the session's own resting
    orders.

    Cancels and replaces touch only orders that cannot trade, unless `racy`: then they pick any
    earlier order, and some race its fill (a cancel of an order filled earlier in the same
    sequencer batch is the case that broke the venue: see bench/README.md).

    A session's resting orders past the 200 it tracks are forgotten and stay in the book, which
    grows for as long as the stream runs. With `max_resting`, a session that has that many orders
    that may rest cancels its oldest instead: the book stays about the same size (a steady state,
    for the soak). Crossing orders count too, since one rests when it is partly filled or when no
    order crosses it; a cancel of one that filled meanwhile is refused (35=9) and answered."""
    rng = random.Random(seed)
    live: dict[str, list[tuple[str, str]]] = {c: [] for c in comp_ids}  # (cl_ord_id, side) believed open
    ops: list[Op] = []

    def passive(side: str) -> int:
        return REF_TICKS + (-rng.randint(6, 15) if side == "1" else rng.randint(6, 15))

    for i in range(n):
        comp = comp_ids[i % len(comp_ids)]
        clid = f"{tag}{i}"
        roll = rng.random()
        own = live[comp]
        if max_resting is not None and len(own) >= max_resting:
            orig, side = own.pop(0)
            ops.append(Op(comp, "F", clid, side, orig=orig))
        elif own and roll < cancel_share:
            orig, side = own.pop(rng.randrange(len(own)))
            ops.append(Op(comp, "F", clid, side, orig=orig))
        elif own and roll < cancel_share + replace_share:
            k = rng.randrange(len(own))
            orig, side = own[k]
            own[k] = (clid, side)
            ops.append(Op(comp, "G", clid, side, rng.randint(1, 5), passive(side), orig))
        else:
            side = rng.choice("12")
            crossing = rng.random() < 0.5
            if crossing:
                px = REF_TICKS + (rng.randint(0, 5) if side == "1" else -rng.randint(0, 5))
            else:
                px = passive(side)
            ops.append(Op(comp, "D", clid, side, rng.randint(1, 5), px))
            if racy or not crossing or max_resting is not None:
                own.append((clid, side))
            if len(own) > 200:
                own.pop(0)
    return ops


# ---------------------------------------------------------------- running a phase


@dataclass
class PhaseResult:
    name: str
    messages: int
    new_orders: int
    seconds: float
    exec_reports: int
    cancel_rejects: int
    latencies_us: list[float]
    fills: dict[bytes, tuple] = field(default_factory=dict)  # ExecID -> (comp, TrdMatchID, qty, px, side)
    duplicate_exec_ids: int = 0
    cpu_s: float = 0.0  # the venue: its FIX process and its engine process (if it runs apart)
    engine_cpu_s: float = 0.0  # of which the engine process
    side_cpu_s: float = 0.0
    db_cpu_s: float = 0.0  # the PostgreSQL server's processes
    client_cpu_s: float = 0.0  # this load generator
    sys_cpu_s: float = 0.0  # of cpu_s, in the kernel (system calls: sockets, files, fsync)
    machine_busy: float = 0.0  # share of all cores busy over the phase
    rejected: Counter = field(default_factory=Counter)

    @property
    def rate(self) -> float:
        return self.messages / self.seconds if self.seconds else 0.0

    def pct(self, p: float) -> float:
        return percentile(self.latencies_us, p)


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    k = min(len(s) - 1, max(0, int(round(p / 100 * (len(s) - 1)))))
    return s[k]


class Load:
    """Pre-encoded messages for a set of logged-on sessions, sent in one of the two modes."""

    def __init__(self, sessions: dict[str, Session], ops: list[Op]) -> None:
        self.sessions = sessions
        self.ops = ops
        self.raw: list[bytes] = []
        for op in ops:  # encoded now, before any clock starts
            s = sessions[op.comp_id]
            self.raw.append(s.encode(op.msg_type, op.body()))
            s.out_seq += 1
        self.by_sock = {s.sock: s for s in sessions.values()}

    def _absorb(
        self,
        result: PhaseResult,
        pending: dict[bytes, tuple[int, str]],
        timeout: float,
        outstanding: Counter,
        t_end: list[int],
        seen_exec: set[bytes],
    ) -> None:
        r, _, _ = select.select(list(self.by_sock), [], [], timeout)
        now = time.perf_counter_ns()
        for sock in r:
            s = self.by_sock[sock]
            for m in s.recv(None):
                mt = m.get(b"35")
                if mt == b"8":
                    result.exec_reports += 1
                    if m.get(b"150") == b"F":
                        xid = m.get(b"17", b"")
                        if xid in seen_exec:
                            result.duplicate_exec_ids += 1
                        seen_exec.add(xid)
                        result.fills[xid] = (
                            s.comp_id,
                            m.get(b"880", b""),
                            int(m.get(b"32", b"0")),
                            m.get(b"31", b""),
                            m.get(b"54", b""),
                        )
                    elif m.get(b"150") == b"8":
                        result.rejected[m.get(b"20001", m.get(b"58", b"?")).decode()] += 1
                elif mt == b"9":
                    result.cancel_rejects += 1
                elif mt in (b"3", b"j"):
                    result.rejected[f"35={mt.decode()}:{m.get(b'58', b'').decode()[:60]}"] += 1
                    clid = m.get(b"379")
                    if clid in pending:  # a session/business reject answers the message too
                        sent, comp = pending.pop(clid)
                        result.latencies_us.append((now - sent) / 1000)
                        outstanding[comp] -= 1
                        t_end[0] = now
                    continue
                else:
                    continue
                clid = m.get(b"11")
                if clid in pending:
                    sent, comp = pending.pop(clid)
                    result.latencies_us.append((now - sent) / 1000)
                    outstanding[comp] -= 1
                    t_end[0] = now

    def run(
        self,
        name: str,
        mode: str,
        window: int = 64,
        timeout: float = 120.0,
        cpu_pid: int | None = None,
        side_pids: list[int] | None = None,
        trail: float = 0.5,
        engine_pids: list[int] | None = None,
    ) -> PhaseResult:
        """Send every message; return when each has its first answer (then read `trail` more seconds
        for the passive sides' fills)."""
        ops, raw = self.ops, self.raw
        result = PhaseResult(name, len(ops), sum(op.msg_type == "D" for op in ops), 0.0, 0, 0, [])
        pending: dict[bytes, tuple[int, str]] = {}
        outstanding: Counter = Counter()
        seen_exec: set[bytes] = set()
        t_end = [0]
        cpu0 = cpu_seconds(cpu_pid) if cpu_pid else 0.0
        venue_pids = ([cpu_pid] if cpu_pid else []) + list(engine_pids or [])
        sys0 = sys_seconds(venue_pids)
        engine0 = tree_cpu(engine_pids or [])
        side0 = tree_cpu(side_pids or [])
        db0, client0, busy0 = named_cpu("postgres"), sum(os.times()[:2]), machine_busy()
        deadline = time.monotonic() + timeout
        t0 = time.perf_counter_ns()
        if mode == "latency":
            for op, data in zip(ops, raw, strict=True):
                s = self.sessions[op.comp_id]
                key = op.cl_ord_id.encode()
                pending[key] = (time.perf_counter_ns(), op.comp_id)
                outstanding[op.comp_id] += 1
                s.sock.sendall(data)
                while key in pending:
                    if time.monotonic() > deadline:
                        raise TimeoutError(f"{name}: no answer to {op.cl_ord_id}")
                    self._absorb(result, pending, 1.0, outstanding, t_end, seen_exec)
        else:
            queues: dict[str, list[int]] = defaultdict(list)
            for i, op in enumerate(ops):
                queues[op.comp_id].append(i)
            cursor = Counter()
            while True:
                for comp, idx in queues.items():
                    free = window - outstanding[comp]
                    at = cursor[comp]
                    if free <= 0 or at >= len(idx):
                        continue
                    chunk = idx[at : at + free]
                    cursor[comp] = at + len(chunk)
                    now = time.perf_counter_ns()
                    for i in chunk:
                        pending[ops[i].cl_ord_id.encode()] = (now, comp)
                    outstanding[comp] += len(chunk)
                    self.sessions[comp].sock.sendall(b"".join(raw[i] for i in chunk))
                if not pending and all(cursor[c] >= len(i) for c, i in queues.items()):
                    break
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{name}: {len(pending)} messages unanswered after {timeout}s")
                self._absorb(result, pending, 1.0, outstanding, t_end, seen_exec)
        result.seconds = (t_end[0] - t0) / 1e9
        result.engine_cpu_s = tree_cpu(engine_pids or []) - engine0
        if cpu_pid:
            result.cpu_s = cpu_seconds(cpu_pid) - cpu0 + result.engine_cpu_s
            result.sys_cpu_s = sys_seconds(venue_pids) - sys0
        result.side_cpu_s = tree_cpu(side_pids or []) - side0
        result.db_cpu_s = named_cpu("postgres") - db0
        result.client_cpu_s = sum(os.times()[:2]) - client0
        busy1 = machine_busy()
        result.machine_busy = (busy1[0] - busy0[0]) / max(1e-9, busy1[1] - busy0[1])
        end = time.monotonic() + trail
        while time.monotonic() < end:
            self._absorb(result, pending, 0.05, outstanding, t_end, seen_exec)
        return result


def logon_all(port: int, comp_ids, seqs: dict[str, int] | None = None) -> dict[str, Session]:
    sessions = {}
    for comp in comp_ids:
        s = Session(port, comp, seq=(seqs or {}).get(comp, 1))
        s.logon()
        sessions[comp] = s
    return sessions


def fills_checksum(fills: dict[bytes, tuple]) -> str:
    """sha256 over the fills, sorted by (TrdMatchID, side): each trade's quantity and price."""
    rows = sorted((int(t[1] or 0), t[4], t[2], t[3]) for t in fills.values())
    h = hashlib.sha256()
    for tid, side, qty, px in rows:
        h.update(f"{tid}|{side.decode()}|{qty}|{px.decode()}\n".encode())
    return h.hexdigest()[:16]


def verify_fills_against_store(fills: dict[bytes, tuple], trades: list[dict]) -> list[str]:
    """Each trade in the journal seen once per side by the members, with its quantity and price."""
    problems = []
    by_trade: dict[int, list[tuple]] = defaultdict(list)
    for f in fills.values():
        by_trade[int(f[1] or 0)].append(f)
    journal = {int(t["trade_id"]): t for t in trades}
    for tid, seen in by_trade.items():
        t = journal.get(tid)
        if t is None:
            problems.append(f"fill of trade {tid} the journal does not hold")
            continue
        sides = sorted(f[4] for f in seen)
        if sides != [b"1", b"2"]:
            problems.append(f"trade {tid} seen with sides {sides}")
        for f in seen:
            if f[2] != int(t["qty"]) or Decimal(f[3].decode()) != Decimal(t["price"]):
                problems.append(f"trade {tid}: member saw {f[2]}@{f[3].decode()}, journal {t['qty']}@{t['price']}")
    missing = set(journal) - set(by_trade)
    if missing:
        problems.append(f"{len(missing)} journaled trades no member saw (e.g. {sorted(missing)[:5]})")
    return problems


# ---------------------------------------------------------------- the venue under test


def create_pg_database(prefix: str = "venue_bench") -> tuple[str, str]:
    import psycopg

    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"{PG_ADMIN_URL.rsplit('/', 1)[0]}/{name}", name


def drop_pg_database(name: str) -> None:
    import psycopg

    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def free_port(*taken: int) -> int:
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port not in taken:
            return port


class VenueUnderTest:
    """`venue sandbox` in a subprocess, on a store the bench prepared (funded for load)."""

    def __init__(
        self,
        data_dir: Path,
        db_url: str | None,
        chain: str = "embedded",
        port: int | None = None,
        unlimited_rate: bool = True,
    ) -> None:
        self.data_dir, self.db_url, self.chain = data_dir.resolve(), db_url, chain
        self.port = port or free_port()
        self.tls_port = free_port(self.port)
        self.unlimited_rate = unlimited_rate
        self.proc: subprocess.Popen | None = None
        self.output: list[str] = []
        self.children: list[int] = []

    @property
    def store_url(self) -> str:
        return self.db_url or f"sqlite:///{self.data_dir / 'venue.db'}"

    def prepare(self, fund: bool = True) -> None:
        """A fresh sandbox store, without a rate limit; with `fund`, large old holdings for every load
        account (only where the chain is deployed at start: embedded or none)."""
        from venue import sandbox as sb
        from venue.store import Store

        sb.prepare(
            self.data_dir, self.port, database_url=self.db_url, fresh=True, chain=self.chain, tls_port=self.tls_port
        )
        store = Store(self.store_url)
        try:
            old = time.time_ns() // 1000 - 730 * 86_400_000_000
            for account in MEMBERS.values() if fund and self.chain in ("embedded", "none") else ():
                for asset, qty in BENCH_HOLDINGS.items():
                    store.set_holding(account, asset, Decimal(qty))
                    if asset != "USD":
                        have = sum(lot["quantity"] for lot in store.lots(account, asset))
                        if qty > have:
                            store.add_lot(account, asset, qty - have, old)
            for member in MEMBERS:
                if self.unlimited_rate:
                    store.update_member(member, max_msgs_per_s=None)
        finally:
            store.dispose()

    def cmd(self, *args: str) -> list[str]:
        base = [sys.executable, "-m", "venue.cli"]
        if self.db_url:
            base += ["--db-url", self.db_url]
        return base + list(args)

    def start(self, resume: bool = True, timeout: float = 180.0) -> VenueUnderTest:
        """Start (on the prepared store); returns once the venue says it is ready."""
        args = ["sandbox", "--port", str(self.port), "--tls-port", str(self.tls_port)]
        args += ["--data-dir", str(self.data_dir), "--chain", self.chain]
        if resume:
            args.append("--resume")
        self.output = []
        from venue.chain.backend import die_with_parent  # a bench that is killed leaves no venue running

        self.proc = subprocess.Popen(
            self.cmd(*args),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            cwd=ROOT,
            preexec_fn=die_with_parent,
        )
        ready = threading.Event()

        def pump(proc=self.proc) -> None:
            for line in proc.stdout:
                self.output.append(line)
                if "venue ready" in line:
                    ready.set()

        threading.Thread(target=pump, daemon=True).start()
        deadline = time.monotonic() + timeout
        while not ready.wait(0.1):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("venue did not start:\n" + "".join(self.output[-40:]))
        self.children = descendants(self.proc.pid)
        self.engine = [pid for pid in self.children if b"venue.engine_process" in _cmdline(pid)]
        self.side = [pid for pid in self.children if pid not in self.engine]
        return self

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def cli(self, *args: str, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess:
        res = subprocess.run(
            self.cmd("--config", str(self.data_dir / "venue.toml"), *args),
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=timeout,
            env={"VENUE_READ_REASON": "benchmark correctness check", **os.environ},  # orders, settlement list
        )
        if check and res.returncode != 0:
            raise RuntimeError(f"venue {' '.join(args)} failed ({res.returncode}):\n{res.stdout}\n{res.stderr}")
        return res

    def store(self):
        from venue.store import Store

        return Store(self.store_url)

    def kill(self) -> list[int]:
        """SIGKILL the venue process alone (no clean-up of any kind); returns its children still alive
        afterwards (the settlement worker and embedded node do not die with it)."""
        kids = descendants(self.pid) if self.proc and self.proc.poll() is None else []
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)
        time.sleep(0.2)
        return [k for k in kids if Path(f"/proc/{k}").exists()]

    def stop(self) -> int | None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        for pid in self.children:  # whatever it started and left behind
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        return self.proc.returncode if self.proc else None


def venue_log_errors(data_dir: Path) -> list[str]:
    """ERROR and CRITICAL lines of the venue's log, each with the last line of its traceback."""
    path = data_dir / "venue.log"
    if not path.exists():
        return []
    lines = path.read_text(errors="replace").splitlines()
    out = []
    for i, line in enumerate(lines):
        if " ERROR " in line or " CRITICAL " in line:
            tail = next(
                (
                    lines[j]
                    for j in range(i + 1, min(i + 40, len(lines)))
                    if lines[j] and not lines[j].startswith((" ", "Traceback"))
                ),
                "",
            )
            out.append(f"{line[24:180]} ... {tail[:120]}")
    return out


# ---------------------------------------------------------------- the floor: a bare QuickFIX acceptor


def serve_floor(port: int, settings_dir: Path) -> None:
    """Answer every order message with one ExecutionReport, nothing else (run in its own process)."""
    import quickfix as fix

    from venue.signals import stop_on_signals

    class Floor(fix.Application):
        def __init__(self) -> None:
            super().__init__()
            self.n = 0

        def onCreate(self, sid):
            pass  # noqa: E704, N802

        def onLogon(self, sid):
            pass  # noqa: E704, N802

        def onLogout(self, sid):
            pass  # noqa: E704, N802

        def toAdmin(self, msg, sid):
            pass  # noqa: E704, N802

        def fromAdmin(self, msg, sid):
            pass  # noqa: E704, N802

        def toApp(self, msg, sid):
            pass  # noqa: E704, N802

        def fromApp(self, msg, sid):  # noqa: N802
            try:
                mt = msg.getHeader().getField(35)
                if mt not in ("D", "F", "G"):
                    return
                self.n += 1
                er = fix.Message()
                er.getHeader().setField(35, "8")
                qty = msg.getField(38) if msg.isSetField(38) else "0"
                er.setField(37, str(self.n))
                er.setField(11, msg.getField(11))
                er.setField(17, f"E{self.n}")
                er.setField(150, {"D": "0", "F": "4", "G": "5"}[mt])
                er.setField(39, "0")
                er.setField(55, msg.getField(55))
                er.setField(54, msg.getField(54))
                er.setField(38, qty)
                er.setField(151, qty)
                er.setField(14, "0")
                er.setField(6, "0")
                er.setField(60, time.strftime("%Y%m%d-%H:%M:%S", time.gmtime()) + ".000000")
                if msg.isSetField(44):
                    er.setField(44, msg.getField(44))
                if msg.isSetField(1):
                    er.setField(1, msg.getField(1))
                fix.Session.sendToTarget(er, sid)
            except Exception as exc:  # noqa: BLE001 - a stray exception stops the engine
                print(f"floor: {exc!r}", file=sys.stderr, flush=True)

    settings_dir.mkdir(parents=True, exist_ok=True)
    lines = [
        "[DEFAULT]",
        "ConnectionType=acceptor",
        f"SocketAcceptPort={port}",
        "SocketReuseAddress=Y",
        "SocketNodelay=Y",
        f"SenderCompID={TARGET}",
        "NonStopSession=Y",
        "StartTime=00:00:00",
        "EndTime=00:00:00",
        "UseDataDictionary=Y",
        f"DataDictionary={ROOT / 'fix_config' / 'FIX44.xml'}",
        "ValidateUserDefinedFields=Y",
        "AllowUnknownMsgFields=N",
        "TimestampPrecision=6",
        "CheckLatency=N",
    ]
    for comp in MEMBERS:
        lines += ["", "[SESSION]", "BeginString=FIX.4.4", f"TargetCompID={comp}"]
    path = settings_dir / "floor.cfg"
    path.write_text("\n".join(lines) + "\n")
    app = Floor()
    settings = fix.SessionSettings(str(path))
    acceptor = fix.ThreadedSocketAcceptor(app, fix.MemoryStoreFactory(), settings)
    acceptor.start()
    print("floor ready", flush=True)
    stop = threading.Event()
    stop_on_signals(lambda _signum: stop.set(), [signal.SIGTERM])
    while not stop.wait(0.5):
        pass
    acceptor.stop()


class FloorUnderTest:
    def __init__(self, work: Path) -> None:
        self.port = free_port()
        self.work = work
        self.proc: subprocess.Popen | None = None

    def start(self) -> FloorUnderTest:
        from venue.chain.backend import die_with_parent

        self.proc = subprocess.Popen(
            [sys.executable, __file__, "--serve-floor", str(self.port), "--work", str(self.work)],
            stdout=subprocess.PIPE,
            text=True,
            cwd=ROOT,
            preexec_fn=die_with_parent,
        )
        line = self.proc.stdout.readline()
        if "floor ready" not in line:
            raise RuntimeError(f"floor did not start: {line!r}")
        return self

    @property
    def pid(self) -> int:
        return self.proc.pid

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()


# ---------------------------------------------------------------- profiling


def start_profile(pid: int, out: Path, seconds: int) -> subprocess.Popen | None:
    """py-spy record of `pid` in collapsed-stack form (and speedscope beside it), or None if absent."""
    spy = Path(sys.executable).parent / "py-spy"
    if not spy.exists():
        print("  (py-spy not installed: `pip install py-spy` to profile)")
        return None
    out.parent.mkdir(parents=True, exist_ok=True)
    return subprocess.Popen(
        [
            str(spy),
            "record",
            "--pid",
            str(pid),
            "--duration",
            str(seconds),
            "--rate",
            "200",
            "--format",
            "raw",
            "--threads",
            "--nonblocking",
            "-o",
            str(out),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def summarize_profile(path: Path, top: int = 20) -> str:
    """Self and inclusive shares of the busiest frames, and samples per thread, from collapsed stacks."""
    if not path.exists():
        return "  (no profile written)"
    self_c, incl, threads = Counter(), Counter(), Counter()
    total = 0
    for line in path.read_text().splitlines():
        stack, _, n = line.rpartition(" ")
        if not n.isdigit():
            continue
        n = int(n)
        frames = stack.split(";")
        thread = frames[0]
        threads[thread.split(" ")[0] + " " + thread.split('"')[1] if '"' in thread else thread] += n
        frames = [f for f in frames[1:] if f]
        if not frames:
            continue
        total += n
        self_c[frames[-1]] += n
        for f in set(frames):
            incl[f] += n
    if not total:
        return "  (empty profile)"
    out = [
        f"  {total} samples; by thread: " + ", ".join(f"{t} {c / total:.0%}" for t, c in threads.most_common(6)),
        "  self time:",
    ]
    out += [f"    {c / total:6.1%}  {f}" for f, c in self_c.most_common(top)]
    out.append("  inclusive (venue code):")
    out += [f"    {c / total:6.1%}  {f}" for f, c in incl.most_common() if "venue/" in f][:top]
    return "\n".join(out)


def profile_venue(
    directory: str, kind: str, phase: str, fix_pid: int, engine_pids: list[int], seconds: int
) -> list[tuple[str, subprocess.Popen, Path]]:
    """py-spy on the venue's FIX process and engine process for one phase: (process, py-spy, output)."""
    profiles = []
    for what, pid in [("FIX process", fix_pid)] + [("engine process", p) for p in engine_pids]:
        prof_path = Path(directory) / f"{kind}-{phase}-{what.split()[0].lower()}-{pid}.txt"
        prof = start_profile(pid, prof_path, seconds)
        if prof is not None:
            profiles.append((what, prof, prof_path))
    if profiles:
        time.sleep(0.5)  # py-spy attaches
    return profiles


def print_profiles(profiles: list[tuple[str, subprocess.Popen, Path]], kind: str, phase: str) -> None:
    for what, prof, prof_path in profiles:
        prof.wait(120)
        print(f"  py-spy profile of the venue's {what} ({kind}, {phase} phase), {prof_path}:")
        print(summarize_profile(prof_path))


# ---------------------------------------------------------------- the run


def report_phase(r: PhaseResult, label: str) -> None:
    fills = len(r.fills)
    cpu = f"venue CPU {r.cpu_s / r.messages * 1e6:7.0f} us/order" if r.cpu_s else ""
    if r.engine_cpu_s:
        cpu += (
            f" (FIX process {(r.cpu_s - r.engine_cpu_s) / r.messages * 1e6:.0f} + engine process "
            f"{r.engine_cpu_s / r.messages * 1e6:.0f})"
        )
    if r.cpu_s:
        cpu += f", {r.sys_cpu_s / r.cpu_s:.0%} in the kernel"
    side = f" (+settlement {r.side_cpu_s / r.messages * 1e6:.0f} us/order)" if r.side_cpu_s else ""
    if r.db_cpu_s >= 0.05:
        side += f" (+database server {r.db_cpu_s / r.messages * 1e6:.0f} us/order)"
    side += f"; load client {r.client_cpu_s / r.messages * 1e6:.0f} us/order; cores busy {r.machine_busy:.0%}"
    print(
        f"  {label:<24} {r.messages:6d} msgs in {r.seconds:6.2f}s: {r.rate:8.0f} orders/s, "
        f"{r.exec_reports / r.seconds if r.seconds else 0:8.0f} exec reports/s; "
        f"ack p50 {r.pct(50):7.0f} p99 {r.pct(99):7.0f} p99.9 {r.pct(99.9):7.0f} us; {cpu}{side}; "
        f"fills {fills} checksum {fills_checksum(r.fills)}; cancel rejects {r.cancel_rejects}"
        + (f"; rejected {dict(r.rejected.most_common(4))}" if r.rejected else "")
    )


def run_target(kind: str, args, work: Path) -> dict[str, PhaseResult]:
    """Warm-up, latency and pipelined phases against one target; verifies the venue's journal."""
    results: dict[str, PhaseResult] = {}
    pg_name = None
    target = None
    try:
        if kind == "floor":
            target = FloorUnderTest(work / "floor").start()
            side, engine = [], []
        else:
            db_url = None
            if kind == "postgres":
                db_url, pg_name = create_pg_database()
            target = VenueUnderTest(work / kind, db_url, chain=args.chain)
            target.prepare()
            target.start()
            side, engine = target.side, target.engine
        sessions = logon_all(target.port, MEMBERS)
        tag = {"sqlite": "S", "postgres": "P", "floor": "F"}[kind]
        # one at a time: the book the latency phase meets is the same on every store
        Load(sessions, make_stream(args.warmup, args.seed + 1, f"{tag}W")).run("warmup", "latency")
        profiling = bool(args.profile) and kind != "floor"
        lat_load = Load(sessions, make_stream(args.latency_orders, args.seed, f"{tag}L"))
        profiles = []
        if profiling and args.profile_phase == "latency":
            profiles = profile_venue(
                args.profile, kind, "latency", target.pid, engine, max(5, int(args.latency_orders / 600))
            )
        lat = lat_load.run("latency", "latency", cpu_pid=target.pid, side_pids=side, engine_pids=engine)
        results["latency"] = lat
        report_phase(lat, f"{kind} one-at-a-time")
        print_profiles(profiles, kind, "one-at-a-time")
        load = Load(sessions, make_stream(args.orders, args.seed + 2, f"{tag}T"))
        profiles = []
        if profiling and args.profile_phase == "pipelined":
            profiles = profile_venue(
                args.profile, kind, "pipelined", target.pid, engine, max(5, int(args.orders / 1500))
            )
        tp = load.run("pipelined", "pipelined", args.window, cpu_pid=target.pid, side_pids=side, engine_pids=engine)
        results["pipelined"] = tp
        report_phase(tp, f"{kind} pipelined w={args.window}")
        print_profiles(profiles, kind, "pipelined")
        for s in sessions.values():
            s.close()
        if kind != "floor":
            store = target.store()
            try:
                trades = store.trades(SYMBOL)
            finally:
                store.dispose()
            seen = {}
            for r in (lat, tp):
                seen.update(r.fills)
            problems = verify_fills_against_store(
                seen, [t for t in trades if int(t["trade_id"]) in {int(f[1]) for f in seen.values()} or True]
            )
            dups = lat.duplicate_exec_ids + tp.duplicate_exec_ids
            warm_trades = len(trades) - len({int(f[1]) for f in seen.values()})
            print(
                f"  journal: {len(trades)} trades ({warm_trades} from the warm-up); "
                f"member fills vs journal: {'OK' if not problems or all('no member saw' in p for p in problems) else 'MISMATCH'}"
                f"; duplicate ExecIDs: {dups}"
            )
            for p in problems[:5]:
                if "no member saw" not in p:
                    print(f"    ! {p}")
            results["problems"] = [p for p in problems if "no member saw" not in p] + (
                [f"{dups} duplicate ExecIDs"] if dups else []
            )
            errors = venue_log_errors(target.data_dir)
            if errors:
                print(f"  ! venue.log has {len(errors)} ERROR/CRITICAL lines; first: {errors[0]}")
                results["problems"].append(f"{len(errors)} errors in venue.log")
    finally:
        if target is not None:
            target.stop()
        if pg_name:
            drop_pg_database(pg_name)
    return results


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--stores", default="sqlite,postgres", help="venue stores to run (sqlite, postgres)")
    ap.add_argument("--no-floor", action="store_true", help="skip the bare-acceptor baseline")
    ap.add_argument("--orders", type=int, default=15_000, help="pipelined phase: order messages")
    ap.add_argument("--latency-orders", type=int, default=2_000, help="one-at-a-time phase: order messages")
    ap.add_argument("--warmup", type=int, default=500)
    ap.add_argument("--window", type=int, default=64, help="messages in flight per session (pipelined)")
    ap.add_argument("--seed", type=int, default=20260501)
    ap.add_argument(
        "--chain",
        default="embedded",
        help="venue settlement: embedded, anvil (a node the bench starts from node_modules), none or a URL",
    )
    ap.add_argument("--profile", help="directory: py-spy record the venue during one phase (--profile-phase)")
    ap.add_argument(
        "--profile-phase", choices=["pipelined", "latency"], default="pipelined", help="the phase --profile records"
    )
    ap.add_argument("--work", default=None, help="working directory (default: a temporary one)")
    ap.add_argument("--quick", action="store_true", help="short run for development")
    ap.add_argument("--target", type=float, default=0.70, help="venue/floor orders/s target")
    ap.add_argument("--serve-floor", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.serve_floor:
        serve_floor(args.serve_floor, Path(args.work))
        return 0
    if args.quick:
        args.orders, args.latency_orders, args.warmup = 3000, 300, 200
    import contextlib
    import tempfile

    work = Path(args.work) if args.work else Path(tempfile.mkdtemp(prefix="fix_load_"))
    with contextlib.ExitStack() as stack:
        if args.chain == "anvil":
            from venue.chain import backend

            args.chain = stack.enter_context(backend.anvil_node()).url
            print(f"anvil node at {args.chain} (each venue deploys its sandbox contracts to it)")
        return _run(args, work)


def _run(args, work: Path) -> int:
    print(machine_info())
    print(
        f"settings: seed {args.seed}; stream {SYMBOL} GTC limits of 1-5 lots, half crossing within 5 ticks "
        f"of 10.00, half resting 6-15 ticks away; ~25% cancels, ~10% replaces of resting orders from {', '.join(MEMBERS)}; latency phase {args.latency_orders} msgs one in "
        f"flight; pipelined {args.orders} msgs, window {args.window}/session; warm-up {args.warmup}; venue "
        f"chain {args.chain}, FileStore + file log (its production config), no rate limit; floor: "
        f"ThreadedSocketAcceptor, MemoryStore, no log, integer tags"
    )
    results: dict[str, dict[str, PhaseResult]] = {}
    stores = [k for k in args.stores.split(",") if k]
    # The floor runs before and after each venue (floor, sqlite, floor, postgres, floor): a shared
    # machine's speed drifts by tens of percent within minutes, so each venue is compared with the
    # mean of the floors measured right before and right after it.
    kinds = stores if args.no_floor else ["floor"] + [k for store in stores for k in (store, "floor")]
    floors: list[dict[str, PhaseResult]] = []
    for kind in kinds:
        print(f"{kind}:", flush=True)
        if kind == "floor":
            floors.append(run_target(kind, args, work))
        else:
            results[kind] = run_target(kind, args, work)
    failed = False
    if floors:
        print("venue / floor (the floor: the mean of the runs right before and after the venue's):")
        for i, kind in enumerate(stores):
            v, around = results[kind], floors[i : i + 2]
            rate = sum(f["pipelined"].rate for f in around) / len(around)
            cpu = sum(f["pipelined"].cpu_s / f["pipelined"].messages for f in around) / len(around)
            lat50 = sum(f["latency"].pct(50) for f in around) / len(around)
            lat99 = sum(f["latency"].pct(99) for f in around) / len(around)
            ratio = v["pipelined"].rate / rate
            print(
                f"  {kind:<9} orders/s {v['pipelined'].rate:7.0f} / {rate:7.0f} = {ratio:5.0%} "
                f"(target >= {args.target:.0%}: {'met' if ratio >= args.target else 'NOT met'}; floor before "
                f"{around[0]['pipelined'].rate:.0f}, after {around[-1]['pipelined'].rate:.0f}); "
                f"ack latency p50 {v['latency'].pct(50) / lat50:4.1f}x, "
                f"p99 {v['latency'].pct(99) / lat99:4.1f}x; CPU/order "
                f"{v['pipelined'].cpu_s / v['pipelined'].messages * 1e6:.0f} vs {cpu * 1e6:.0f} us"
            )
    checks = {k: fills_checksum(r["latency"].fills) for k, r in results.items()}
    if len(set(checks.values())) > 1:
        print(f"! latency-phase fills differ between stores: {checks}")
        failed = True
    for r in results.values():
        if r.get("problems"):
            failed = True
    print(
        "correctness: "
        + (
            "FAILED"
            if failed
            else "every message answered; member fills equal the journal; latency-phase checksums equal across stores"
        )
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
