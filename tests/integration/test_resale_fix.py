"""A resale tacks over real FIX sessions: a buyer of a lot its seller acquired from the issuer long
ago resells at once, with no new lock-up (Rule 144(d)(1), spec/compliance.md "Resale
restrictions").

The sandbox world: ACME is a non-reporting issuer's restricted security (12-month holding period);
A-ALICE's 10,000 ACME and B-BOB's 10,000 were acquired two years ago, B-CAROL's 1,000 thirty days
ago. The trade settles on the embedded chain, so the buyer's lot is in the ledger when the
TradeCaptureReport arrives. Bob then sells 11,000: his own 10,000 and the 1,000 just bought, which
carry Alice's tacking date. Before tacking the 1,000 would have started a new year for Bob (C100).
"""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.parametrize("venue", ["embedded"], indirect=True)


def test_a_buyer_from_a_long_time_holder_resells_at_once_and_a_recent_lot_stays_locked(venue, connect):
    brka, brkb, mm1 = connect("BRKA"), connect("BRKB"), connect("MM1")

    brka.new_order("ALICE-S1", "ACME", "2", 1_000, "10.00", account="A-ALICE")
    assert brka.exec_report("ALICE-S1", "0")[39] == "0"
    brkb.new_order("BOB-B1", "ACME", "1", 1_000, "10.00", account="B-BOB")
    trade_id = brkb.exec_report("BOB-B1", "F")[880]
    settled = brkb.wait_for(lambda m: m.type == "AE" and m[880] == trade_id, timeout=60)
    assert settled[20012] == "final"

    # Bob resells everything: his old lot and the one he just bought, which tacks Alice's date
    brkb.new_order("BOB-S1", "ACME", "2", 11_000, "10.00", account="B-BOB")
    accepted = brkb.exec_report("BOB-S1")
    assert (accepted[150], accepted[39]) == ("0", "0"), accepted
    mm1.new_order("MM-B1", "ACME", "1", 11_000, "10.00", account="M-MAKER")
    assert mm1.exec_report("MM-B1", "F")[32] == "11000"
    decisions = {d["cl_ord_id"]: d for d in json.loads(venue.cli("gates", "--json").stdout)}
    looked_at = decisions["BOB-S1"]["inputs"]
    assert looked_at["unlocked_tokens"] == 11_000, looked_at

    # a lot acquired 30 days ago is still inside its holding period (the sandbox's documented case)
    brkb.new_order("CAROL-S1", "ACME", "2", 100, "10.00", account="B-CAROL")
    refused = brkb.exec_report("CAROL-S1")
    assert (refused[150], refused[20001], refused[103]) == ("8", "C100", "99"), refused
    assert "12-month holding period (Rule 144(d))" in refused[58]
