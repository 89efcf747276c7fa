"""Trading phases over real FIX sessions: a security switched to periodic auctions announces 35=h
625=6 and matches only at its auctions; switched back, it trades continuously again."""

from __future__ import annotations

import time


def test_periodic_auctions_over_fix(venue, connect):
    brka, brkb = connect("BRKA"), connect("BRKB")
    venue.cli("securities", "set", "ACME", "--periodic-auction", "2")
    for client in (brka, brkb):
        # Statuses announced before this change (the venue's own opening at start-up, held for a
        # session that was not yet logged on) may come first: wait for the periodic-auction one.
        status = client.wait_for(lambda m: m.type == "h" and m.get(55) == "ACME" and m.get(625) == "6")
        assert status[340] == "2", "periodic auctions, open"
    # The sells rest before the buy is sent: an auction (every 2 s on the clock) that falls between
    # two of these orders finds no buyer, so the first auction with the buy in the book has all three.
    brka.new_order("S1", "ACME", "2", 6, "10.00", account="A-ALICE")
    brka.new_order("S2", "ACME", "2", 4, "10.05", account="A-ALICE")
    for cl in ("S1", "S2"):
        assert brka.exec_report(cl, "0")[39] == "0"
    brkb.new_order("B1", "ACME", "1", 10, "10.05", account="B-BOB")
    acked_at = time.monotonic()
    assert brkb.exec_report("B1", "0")[39] == "0", "accepted, not matched on arrival though it crosses"
    fills = [brkb.exec_report("B1", "F"), brkb.exec_report("B1", "F")]
    assert time.monotonic() - acked_at < 5
    # Demand 10 at both prices; supply 6 at 10.00 and 10 at 10.05: most volume (10) at 10.05.
    assert sorted((f[32], f[31]) for f in fills) == [("4", "10.05"), ("6", "10.05")]
    assert fills[-1][39] == "2"
    assert {brka.exec_report("S1", "F")[31], brka.exec_report("S2", "F")[31]} == {"10.05"}
    venue.cli("securities", "set", "ACME", "--periodic-auction", "0")
    status = brka.wait_for(lambda m: m.type == "h" and m.get(55) == "ACME" and m.get(625) == "3")
    assert status[340] == "2"
    brka.new_order("S3", "ACME", "2", 5, "10.00", account="A-ALICE")
    brka.exec_report("S3", "0")
    brkb.new_order("B2", "ACME", "1", 5, "10.00", account="B-BOB", tif="3")
    assert brkb.exec_report("B2", "F")[32] == "5", "continuous again: IOC matches on arrival"
