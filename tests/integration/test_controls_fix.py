"""Controls no path can get around, over real FIX sessions in the sandbox (spec/compliance.md).

- A replace is held to every limit a new order is: refused with 35=9, the gate's code in
  VenueRejectCode(20001), and the order left exactly as it was.
- A state change acts on resting orders at once: an AML hold cancels the investor's resting order
  (150=4 to the member and its drop copy), and nothing of it trades.
- Cancel-on-disconnect survives a crash: after SIGKILL and a restart, the resting orders of a
  cancel-on-disconnect session are canceled before any order is accepted, and reported at logon.

The sandbox world: A-ALICE (BRKA) holds 10,000 ACME, 5,000 BETA and 1,000,000 USD; B-CAROL (BRKB)
100,000 USD; members may send orders up to 100,000 and 1,000,000 USD notional, within 30% of the
reference price (ACME 10.00, band +-50%; BETA 25.00, lot 10). MM1 is a cancel-on-disconnect session.
"""

from __future__ import annotations

import json
import time

from fixclient import FixClient


def _status(client, cl: str, symbol: str, side: str) -> dict:
    """The order as the venue holds it (OrderStatusRequest -> 150=I)."""
    client.status(cl, symbol, side)
    status = client.wait_for(lambda m: m.type == "8" and m.get(150) == "I" and m.get(11) == cl)
    assert status[39] in ("0", "1"), status
    return status


def _replace_refused(
    client, cl: str, orig: str, symbol: str, side: str, qty, price, account: str, code: str, text: str
) -> dict:
    client.replace(cl, orig, symbol, side, qty, price, account=account)
    rej = client.wait_for(lambda m: m.type == "9" and m.get(11) == cl)
    assert (rej[434], rej.get(20001)) == ("2", code), rej
    assert text in rej[58], rej[58]
    return rej


def test_a_replace_is_refused_by_each_member_risk_gate_and_the_order_is_left_as_it_was(venue, connect):
    venue.cli("members", "set", "BRKA", "--collar-bps", "0", "--reason", "band test: the book's band decides")
    venue.cli("securities", "set", "BETA", "--max-holding", "6000", "--reason", "max holding test")
    brka, brkb = connect("BRKA"), connect("BRKB")
    brka.new_order("BUY", "ACME", "1", 100, "9.50", account="A-ALICE", tif="1")
    brka.new_order("SELL", "ACME", "2", 100, "11.00", account="A-ALICE", tif="1")
    brka.new_order("BETA", "BETA", "1", 500, "24.00", account="A-ALICE", tif="1")
    brkb.new_order("CAROL", "BETA", "1", 1000, "25.00", account="B-CAROL", tif="1")
    for client, cl in ((brka, "BUY"), (brka, "SELL"), (brka, "BETA"), (brkb, "CAROL")):
        assert client.exec_report(cl, "0")[39] == "0"

    cases = [  # client, cl, orig, symbol, side, qty, price, account, code, text
        (brka, "R1", "BUY", "ACME", "1", 100_001, "9.50", "A-ALICE", "R100", "maximum order quantity 100000"),
        (brka, "R2", "BUY", "ACME", "1", 90_000, "12.00", "A-ALICE", "R110", "exceeds the member's maximum"),
        (brka, "R3", "BUY", "ACME", "1", 100, "15.01", "A-ALICE", "B100", "price band"),
        (brka, "R4", "SELL", "ACME", "2", 10_001, "11.00", "A-ALICE", "F100", "available tokens 10000"),
        (
            brkb,
            "R5",
            "CAROL",
            "BETA",
            "1",
            5_000,
            "25.00",
            "B-CAROL",
            "F110",
            "needs 125000.00 USD but investor B-CAROL has 100000.00 available",
        ),
        (brka, "R6", "BETA", "BETA", "1", 1_500, "24.00", "A-ALICE", "C130", "above the maximum holding 6000"),
    ]
    for client, cl, orig, symbol, side, qty, price, account, code, text in cases:
        before = _status(client, orig, symbol, side)
        _replace_refused(client, cl, orig, symbol, side, qty, price, account, code, text)
        after = _status(client, orig, symbol, side)
        assert [after[t] for t in (37, 38, 44, 151, 39)] == [before[t] for t in (37, 38, 44, 151, 39)], cl

    # The collar, with the member's collar back (30%): 13.01 is more than 30% above 10.00.
    venue.cli("members", "set", "BRKA", "--collar-bps", "3000", "--reason", "collar test")
    _replace_refused(brka, "R7", "BUY", "ACME", "1", 100, "13.01", "A-ALICE", "R120", "member price collar")
    # The throttle: two order messages a second; the order and a first replace use them up.
    venue.cli("members", "set", "BRKA", "--max-msgs-per-s", "2", "--reason", "throttle test")
    time.sleep(1.1)  # the rate window is one second: the messages above are out of it
    brka.new_order("T0", "ACME", "1", 10, "9.00", account="A-ALICE")
    brka.replace("T1", "T0", "ACME", "1", 11, "9.00", account="A-ALICE")
    brka.replace("T2", "T1", "ACME", "1", 12, "9.00", account="A-ALICE")
    assert brka.exec_report("T0", "0")[39] == "0" and brka.exec_report("T1", "5")[38] == "11"
    rej = brka.wait_for(lambda m: m.type == "9" and m.get(11) == "T2")
    assert rej.get(20001) == "R200" and "Message rate limit" in rej[58], rej
    # A replace within every limit still goes through; every decision is in the gate audit.
    venue.cli("members", "set", "BRKA", "--max-msgs-per-s", "0", "--reason", "throttle test done")
    brka.replace("OK", "BUY", "ACME", "1", 50, "9.60", account="A-ALICE")
    assert brka.exec_report("OK", "5")[38] == "50"
    decisions = {d["cl_ord_id"]: d for d in json.loads(venue.cli("gates", "--json", "--limit", "200").stdout)}
    assert (decisions["R1"]["gate"], decisions["R1"]["outcome"]) == ("R100", "reject")
    assert decisions["OK"]["outcome"] == "pass"


def test_an_aml_hold_cancels_the_resting_order_at_once_and_nothing_of_the_account_trades(venue, connect):
    brka, dc, brkb = connect("BRKA"), connect("BRKADC"), connect("BRKB")
    brka.new_order("ALICE-SELL", "ACME", "2", 100, "11.00", account="A-ALICE", tif="1")
    assert brka.exec_report("ALICE-SELL", "0")[39] == "0"
    out = venue.cli("accounts", "set", "A-ALICE", "--aml-hold", "--reason", "sanctions screening match").stdout
    assert "registry reloaded: 1 resting orders canceled" in out
    for client in (brka, dc):
        canceled = client.exec_report("ALICE-SELL", "4")
        assert (canceled[39], canceled[20001]) == ("4", "A130"), canceled
        assert "no longer eligible" in canceled[58] and "AML/sanctions hold" in canceled[58]
    brkb.new_order("BOB-BUY", "ACME", "1", 100, "11.00", account="B-BOB")
    assert brkb.exec_report("BOB-BUY", "0")[39] == "0", "rests: nothing to trade with"
    assert not [m for m in brkb.drain(0.5) + brka.drain(0.2) if m.get(150) == "F"], "no trade"
    assert json.loads(venue.cli("orders", "--json").stdout)[0]["cl_ord_id"] == "BOB-BUY"
    # The change is in the registry audit: who, when, before -> after, why.
    (change,) = json.loads(venue.cli("audit", "changes", "--account", "A-ALICE", "--json").stdout)
    assert (change["entity"], change["before"], change["after"]) == (
        "investor",
        {"aml_flag": False},
        {"aml_flag": True},
    )
    assert change["reason"] == "sanctions screening match" and change["operator"]
    # Held, the investor's new orders are refused; released, accepted.
    brka.new_order("AGAIN", "ACME", "2", 100, "11.00", account="A-ALICE")
    assert brka.exec_report("AGAIN", "8")[20001] == "A130"
    assert (
        "0 resting orders canceled"
        in venue.cli("accounts", "set", "A-ALICE", "--no-aml-hold", "--reason", "cleared by compliance").stdout
    )
    brka.new_order("CLEARED", "ACME", "2", 100, "11.00", account="A-ALICE")
    assert brka.exec_report("CLEARED", exec_type="F")[39] == "2", "trades again once released"


def test_after_sigkill_and_restart_a_cancel_on_disconnect_sessions_orders_are_canceled_and_reported_at_logon(
    venue, connect
):
    mm1 = connect("MM1")
    brka = connect("BRKA")
    mm1.new_order("MM-ASK", "ACME", "2", 50, "10.50", account="M-MAKER", tif="1")
    brka.new_order("A-BID", "ACME", "1", 10, "9.00", account="A-ALICE", tif="1")
    assert mm1.exec_report("MM-ASK", "0")[39] == "0" and brka.exec_report("A-BID", "0")[39] == "0"
    last_mm1 = max(int(m[34]) for m in mm1.received)
    venue.kill()
    mm1.close()
    brka.close()
    venue.restart()
    # Before MM1 is back, its order does not trade: a crossing buy rests.
    brka2 = FixClient(venue.port, "BRKA", seq=brka.out_seq)
    assert brka2.logon().type == "A"
    brka2.new_order("A-LIFT", "ACME", "1", 50, "10.50", account="A-ALICE")
    assert brka2.exec_report("A-LIFT", "0")[39] == "0"
    assert not [m for m in brka2.drain(0.5) if m.get(150) == "F"]
    # MM1 logs on and recovers the cancel (ResendRequest from its last seen sequence number).
    mm2 = FixClient(venue.port, "MM1", seq=mm1.out_seq)
    assert mm2.logon().type == "A"
    mm2.send("2", [(7, str(last_mm1 + 1)), (16, "0")])
    canceled = mm2.exec_report("MM-ASK", "4")
    assert canceled[39] == "4" and "cancel-on-disconnect" in canceled[58], canceled
    ops = FixClient(venue.port, "OPSDC")
    assert ops.logon().type == "A"
    ops.send("2", [(7, "1"), (16, "0")])
    assert ops.exec_report("MM-ASK", "4")[58] == canceled[58], "the drop copy has it too"
    # Other sessions' orders survived the restart.
    assert {o["cl_ord_id"] for o in json.loads(venue.cli("orders", "--json").stdout)} == {"A-BID", "A-LIFT"}
    for c in (brka2, mm2, ops):
        c.logout(timeout=1)


def test_a_kyc_expiry_in_the_past_cancels_the_resting_order_to_member_and_drop_copy(venue, connect):
    """KYC that lapsed (here: set to a date gone by) acts on the resting order at once; a date that
    ends while the order rests cancels it at that instant (tests/unit/test_gate_paths.py, on the
    core's clock)."""
    brka, dc = connect("BRKA"), connect("BRKADC")
    brka.new_order("KYC-REST", "ACME", "2", 100, "11.00", account="A-ALICE", tif="1")
    assert brka.exec_report("KYC-REST", "0")[39] == "0"
    out = venue.cli("accounts", "set", "A-ALICE", "--kyc-expires", "2020-01-01", "--reason", "file review").stdout
    assert "registry reloaded: 1 resting orders canceled" in out
    for client in (brka, dc):
        canceled = client.exec_report("KYC-REST", "4")
        assert (canceled[39], canceled[20001]) == ("4", "A120"), canceled
        assert "KYC expired on 2020-01-01" in canceled[58]
    assert json.loads(venue.cli("orders", "--json").stdout) == [], "nothing of the account rests"
