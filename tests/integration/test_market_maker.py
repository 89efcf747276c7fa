"""The example market maker (examples/market_maker.py) against a sandbox venue, watched from outside.

The example runs as a separate process, as a member would run it. Independent observers check what
it does: `venue orders` (the venue's own record), BRKA's market data (the public book) and OPSDC's
drop copy (every execution report of MM1).

The issue asks for a minute of quoting; RUN_SECONDS keeps the test at 20 s, which is enough to see
quoting, a fill, the re-quote after it, and the mass cancel at the end.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from decimal import Decimal
from pathlib import Path

from fixclient import FixClient
from venuetest import ROOT, TEST_READ_REASON, free_port

RUN_SECONDS = 20
SCRIPT = ROOT / "examples" / "market_maker.py"
SIZE = 100


class Output:
    """The lines a child process prints, collected by a thread."""

    def __init__(self, proc: subprocess.Popen) -> None:
        self.lines: list[str] = []
        threading.Thread(target=self._pump, args=(proc,), daemon=True).start()

    def _pump(self, proc: subprocess.Popen) -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            self.lines.append(line)

    def wait_for(self, text: str, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in list(self.lines):
                if text in line:
                    return line
            time.sleep(0.1)
        raise AssertionError(f"no line with {text!r} in {timeout}s:\n" + "".join(self.lines[-30:]))

    def __str__(self) -> str:
        return "".join(self.lines[-40:])


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def _orders(cli, status: str = "open") -> list[dict]:
    return json.loads(cli("orders", "--member", "MM1", "--status", status, "--json").stdout)


def _quotes(orders: list[dict], symbol: str) -> dict[str, dict]:
    """MM1's open orders in `symbol` by side (BUY / SELL)."""
    return {o["side"]: o for o in orders if o["symbol"] == symbol}


def _poll(fetch, ok, timeout: float, interval: float = 0.3):
    """Call fetch() until ok(result) (polling, never a fixed sleep); return the last result."""
    deadline = time.monotonic() + timeout
    result = fetch()
    while not ok(result) and time.monotonic() < deadline:
        time.sleep(interval)
        result = fetch()
    return result


class Book:
    """The public ACME book as an observer sees it: snapshot, then increments applied in order."""

    def __init__(self, client: FixClient, symbol: str) -> None:
        self.client = client
        self.levels: dict[str, dict[str, int]] = {"0": {}, "1": {}}
        client.send(
            "V",
            [
                (262, "obs"),
                (263, "1"),
                (264, "0"),
                (265, "1"),
                (267, "3"),
                (269, "0"),
                (269, "1"),
                (269, "2"),
                (146, "1"),
                (55, symbol),
            ],
        )
        snap = client.wait_for(lambda m: m.type == "W")
        for e in snap.group(269, {269, 270, 271}):
            self.levels[e[269]][e[270]] = int(e[271])
        self.seq = int(snap[83])

    def update(self) -> None:
        for m in self.client.drain(0.2):
            if m.type != "X":
                continue
            m["_used"] = "1"
            entries = m.group(279, {279, 269, 270, 271, 83})
            assert {int(e[83]) for e in entries} == {self.seq + 1}, "increments arrive without gaps"
            self.seq += 1
            for e in entries:
                if e[269] == "2":
                    continue
                if e[279] == "2":
                    del self.levels[e[269]][e[270]]
                else:
                    self.levels[e[269]][e[270]] = int(e[271])

    def best(self) -> tuple[str | None, str | None]:
        bids, offers = self.levels["0"], self.levels["1"]
        return (max(bids, key=Decimal) if bids else None, min(offers, key=Decimal) if offers else None)


def _start_maker(port: int, state_dir: Path) -> tuple[subprocess.Popen, Output]:
    proc = subprocess.Popen(
        [
            sys.executable,
            str(SCRIPT),
            "--port",
            str(port),
            "--state-dir",
            str(state_dir),
            "--symbol",
            "ACME",
            "--ref",
            "ACME=10.00",
            "--spread-ticks",
            "10",
            "--size",
            str(SIZE),
            "--max-position",
            "1000",
            "--duration",
            str(RUN_SECONDS),
            "--status-interval",
            "1",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=ROOT,
    )
    return proc, Output(proc)


def test_market_maker_quotes_requotes_and_cancels_everything_on_exit(venue, connect, tmp_path):
    ops, brka = connect("OPSDC"), connect("BRKA")
    book = Book(brka, "ACME")
    started = time.monotonic()
    maker, out = _start_maker(venue.port, tmp_path / "mm")
    try:
        # 1. It quotes both sides around the reference price (empty book, no trade yet).
        orders = _poll(lambda: _orders(venue.cli), lambda o: len(_quotes(o, "ACME")) == 2, 20)
        quotes = _quotes(orders, "ACME")
        assert (quotes["BUY"]["price"], quotes["SELL"]["price"]) == ("9.95", "10.05"), f"{quotes}\n{out}"
        book.update()
        assert book.best() == ("9.95", "10.05"), "the public book shows MM1's quote"

        # 2. BRKA lifts the offer: MM1's position goes short and it offers again (skewed higher).
        lifted = quotes["SELL"]
        brka.new_order("LIFT1", "ACME", "1", SIZE, lifted["price"], account="A-ALICE", tif="3")
        fill = brka.exec_report("LIFT1", "F")
        assert (fill[32], fill[31]) == (str(SIZE), "10.05")
        out.wait_for(f"ACME pos -{SIZE} ", 10)
        orders = _poll(
            lambda: _orders(venue.cli),
            lambda o: (
                len(q := _quotes(o, "ACME")) == 2
                and q["SELL"]["order_id"] != lifted["order_id"]
                and q["BUY"]["price"] != "9.95"
            ),
            10,
        )
        quotes = _quotes(orders, "ACME")
        assert quotes["SELL"]["order_id"] != lifted["order_id"], f"a new offer after the lift: {orders}\n{out}"
        # fair = last trade 10.05; short 100 of max 1000 -> both prices one tick higher
        assert (quotes["BUY"]["price"], quotes["SELL"]["price"]) == ("10.01", "10.11"), f"{quotes}\n{out}"

        # 3. Others quote 9.90 / 10.40: the fair price is their mid (10.15), MM1's own quotes left out.
        brka.new_order("OTHB", "ACME", "1", 10, "9.90", account="A-ALICE")
        brka.new_order("OTHS", "ACME", "2", 10, "10.40", account="A-ALICE")
        brka.exec_report("OTHB", "0")
        brka.exec_report("OTHS", "0")
        orders = _poll(
            lambda: _orders(venue.cli),
            lambda o: (
                _quotes(o, "ACME").get("BUY", {}).get("price") == "10.11"
                and _quotes(o, "ACME").get("SELL", {}).get("price") == "10.21"
            ),
            10,
        )
        quotes = _quotes(orders, "ACME")
        assert (quotes["BUY"]["price"], quotes["SELL"]["price"]) == ("10.11", "10.21"), f"{quotes}\n{out}"

        # 4. Two-sided most of the time, seen by the venue's records and by the public book.
        samples = []
        while time.monotonic() - started < RUN_SECONDS - 4:
            book.update()
            ops.drain(0.05)  # keep the drop copy session read (it answers TestRequests)
            samples.append((len(_quotes(_orders(venue.cli), "ACME")) == 2, None not in book.best()))
            time.sleep(0.5)
        assert len(samples) >= 3, "enough samples before the run ends"
        assert sum(a for a, _ in samples) >= 0.8 * len(samples), f"two-sided in venue orders: {samples}"
        assert sum(b for _, b in samples) >= 0.8 * len(samples), f"two-sided in the public book: {samples}"

        # 5. At the end: mass cancel, then logout; nothing stays open.
        assert maker.wait(RUN_SECONDS + 30) == 0, str(out)
    finally:
        _stop(maker)
    elapsed = time.monotonic() - started
    assert elapsed < RUN_SECONDS + 15, f"the market maker stopped promptly ({elapsed:.1f}s)"
    out.wait_for("mass cancel: 2 orders canceled", 1)
    out.wait_for("logged out", 1)
    assert _orders(venue.cli) == [], "MM1 has no open orders after it stopped"
    book.update()
    assert book.levels == {"0": {"9.90": 10}, "1": {"10.40": 10}}, "only BRKA's orders are left in the book"

    # Every cancel and replace of MM1 reached the drop copy.
    canceled = {o["cl_ord_id"] for o in _orders(venue.cli, "canceled")}
    reports = [m for m in ops.drain(1.0) if m.type == "8" and m.get(1) == "M-MAKER"]
    assert {m[11] for m in reports if m[150] == "4"} == canceled and len(canceled) == 2, (
        canceled,
        "\n".join(str({t: m.get(t) for t in (11, 41, 37, 150, 39, 44, 58)}) for m in reports),
    )
    assert all(m[58] == "Canceled by mass cancel request" for m in reports if m[150] == "4")
    assert any(m[150] == "5" for m in reports), "MM1 re-quoted with cancel/replace (35=G)"
    assert [(m[32], m[31]) for m in reports if m[150] == "F"] == [(str(SIZE), "10.05")]


def test_sandbox_with_market_maker(store_url, tmp_path):
    """`venue sandbox --with-market-maker`: MM1 quotes every sandbox security; stopping the venue
    stops the market maker too."""
    port, data_dir = free_port(), tmp_path / "sandbox"
    db = [] if store_url.startswith("sqlite") else ["--db-url", store_url]
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "venue.cli",
            *db,
            "sandbox",
            "--port",
            str(port),
            "--data-dir",
            str(data_dir),
            "--chain",
            "none",
            "--with-market-maker",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    out = Output(proc)

    def cli(*args: str) -> subprocess.CompletedProcess:
        res = subprocess.run(
            [sys.executable, "-m", "venue.cli", *db, "--config", str(data_dir / "venue.toml"), *args],
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=60,
            env={"VENUE_READ_REASON": TEST_READ_REASON, **os.environ},
        )
        assert res.returncode == 0, res.stderr
        return res

    try:
        out.wait_for("venue ready", 60)
        orders = _poll(
            lambda: _orders(cli), lambda o: len(_quotes(o, "ACME")) == 2 and len(_quotes(o, "BETA")) == 2, 30
        )
        assert {(o["symbol"], o["side"], o["price"]) for o in orders} == {
            ("ACME", "BUY", "9.95"),
            ("ACME", "SELL", "10.05"),
            ("BETA", "BUY", "24.95"),
            ("BETA", "SELL", "25.05"),
        }
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(40) == 0, str(out)
    finally:
        _stop(proc)
    out.wait_for("market-maker INFO stopped", 2)
