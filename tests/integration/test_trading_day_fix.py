"""A trading day over real FIX sessions, compressed to seconds: the venue's calendar (pre-open,
open, close a few seconds apart) drives pre-open, the opening auction, continuous trading and the
close; members see each phase (35=h), the auction's fills, and their Day orders expire at the close
(150=C) on their session and on drop copy."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta

from fixclient import FixClient


def _at(seconds: float) -> str:
    return (datetime.now(UTC) + timedelta(seconds=seconds)).strftime("%H:%M:%S")


def _phase(since: str, **fields: str):
    """A predicate: a TradingSessionStatus (35=h) with `fields` sent at or after `since` (HH:MM:SS
    today, UTC). Phase changes of an earlier try, held while its sessions were away, are delivered
    at the next logon and must not stand for this try's."""
    tags = {"symbol": 55, "status": 340, "event": 625}

    def match(m) -> bool:
        return (
            m.type == "h" and m[60][9:17] >= since and all(m.get(tags[name]) == value for name, value in fields.items())
        )

    return match


def test_a_compressed_trading_day(venue):
    venue.stop()
    config = venue.data_dir / "venue.toml"
    original = config.read_text()
    # A day that starts `lead` s from now (time to restart and log on): pre-open 4 s, then continuous
    # trading 6 s, then closed (UTC; not across midnight). A machine too slow to restart and log on
    # well inside `lead` gets a longer one: the first order must meet the closed phase.
    lead = 6
    for _attempt in range(3):
        started = time.monotonic()
        pre_open, open_, close = _at(lead), _at(lead + 4), _at(lead + 10)
        if not pre_open < open_ < close:
            venue.restart()
            return  # a second before midnight UTC: the compressed day would wrap (checked on the next run)
        text = re.sub(
            r'open = "00:00"\nclose = "00:00"',
            f'pre_open = "{pre_open}"\nopen = "{open_}"\nclose = "{close}"',
            original,
        )
        config.write_text(text)
        venue.restart()
        brka, brkb, ops = (FixClient(venue.port, c, seq=1) for c in ("BRKA", "BRKB", "OPSDC"))
        for client in (brka, brkb, ops):
            client.logon(reset=True)
        if time.monotonic() - started < lead - 2:
            break
        for client in (brka, brkb, ops):
            client.close()
        venue.stop()
        lead *= 2
    else:
        raise AssertionError(f"the venue did not restart and log on within {lead // 2 - 2} s")
    # Closed before the pre-open: orders are refused.
    brka.new_order("EARLY", "ACME", "2", 10, "10.00", account="A-ALICE")
    assert brka.exec_report("EARLY", "8")[20001] == "Y210"
    phase = brka.wait_for(_phase(pre_open, symbol="ACME", event="1"), timeout=10)
    assert (phase[55], phase[340]) == ("ACME", "4"), "pre-open"
    # Pre-open: a crossed book does not trade.
    brka.new_order("S1", "ACME", "2", 100, "9.90", account="A-ALICE")
    brkb.new_order("B1", "ACME", "1", 60, "10.10", account="B-BOB")
    assert brka.exec_report("S1", "0")[39] == "0" and brkb.exec_report("B1", "0")[39] == "0"
    # The open: an opening auction at one price, then continuous trading.
    auction = brka.wait_for(_phase(open_, symbol="ACME", event="2"), timeout=10)
    fill_a, fill_b = brka.exec_report("S1", "F"), brkb.exec_report("B1", "F")
    # Candidate prices are the book's limit prices, 9.90 and 10.10: 60 trade at either with an imbalance
    # of 40; the reference price 10.00 is 0.10 from both, so the lower price decides.
    assert (fill_a[32], fill_a[31], fill_b[32], fill_b[31]) == ("60", "9.90", "60", "9.90")
    assert auction[340] == "4"
    brka.wait_for(_phase(open_, symbol="ACME", event="3"), timeout=10)
    brkb.new_order("B2", "ACME", "1", 10, "9.90", account="B-BOB", tif="3")
    assert brkb.exec_report("B2", "F")[32] == "10", "continuous: an IOC matches on arrival"
    # The close: Day orders expire, on the member's session and on drop copy.
    expired = brka.exec_report("S1", "C", timeout=15)
    assert (expired[39], expired[151], expired[14]) == ("C", "0", "70")
    closed = brka.wait_for(_phase(close, symbol="ACME", status="3"), timeout=10)
    assert closed[625] == "5"
    assert ops.wait_for(lambda m: m.type == "8" and m.get(11) == "S1" and m.get(150) == "C", timeout=10)
    brka.new_order("LATE", "ACME", "2", 10, "10.00", account="A-ALICE")
    assert brka.exec_report("LATE", "8")[20001] == "Y210"
