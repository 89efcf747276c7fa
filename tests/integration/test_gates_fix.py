"""Compliance, pre-funding and risk gates over real FIX sessions in the sandbox (spec/compliance.md).

The sandbox world: B-CAROL is not accredited and her ACME was acquired 30 days ago (ACME, a
non-reporting issuer's restricted security, has a 12-month Rule 144 holding period); A-ALICE holds 10,000 ACME and 1,000,000 USD; B-CAROL 100,000 USD; BRKA
and BRKB may send orders up to 1,000,000 USD notional. No chain runs here, so trades stay unsettled
and keep holding what they will deliver.
"""

from __future__ import annotations

import json

import pytest
from fixclient import FixClient


def _rejected(client, cl: str, code: str, reason: str, text: str) -> dict:
    rej = client.exec_report(cl)
    assert (rej[150], rej[39], rej[37]) == ("8", "8", "NONE"), rej
    assert (rej[20001], rej[103]) == (code, reason), rej
    assert text in rej[58], rej[58]
    return rej


@pytest.mark.parametrize(
    "case",
    [
        # cl, session, symbol, side, qty, price, account, venue code, OrdRejReason, text
        ("CAROL-BUY", "BRKB", "ACME", "1", 10, "10.00", "B-CAROL", "A140", "99", "only verified accredited investors"),
        ("CAROL-SELL", "BRKB", "ACME", "2", 100, "10.00", "B-CAROL", "C100", "99", "holding period"),
        ("ALICE-OVERSELL", "BRKA", "ACME", "2", 10_001, "10.00", "A-ALICE", "F100", "3", "available tokens 10000"),
        ("CAROL-OVERBUY", "BRKB", "BETA", "1", 5_000, "25.00", "B-CAROL", "F110", "3", "needs 125000.00 USD"),
        (
            "ALICE-NOTIONAL",
            "BRKA",
            "BETA",
            "1",
            50_000,
            "25.00",
            "A-ALICE",
            "R110",
            "3",
            "exceeds the member's maximum",
        ),
        ("ALICE-COLLAR", "BRKA", "ACME", "1", 10, "14.00", "A-ALICE", "R120", "3", "member price collar"),
    ],
)
def test_each_gate_refuses_with_its_code_and_text_and_passing_orders_are_unaffected(venue, connect, case):
    cl, comp, symbol, side, qty, price, account, code, reason, text = case
    client = connect(comp)
    client.new_order(cl, symbol, side, qty, price, account=account)
    _rejected(client, cl, code, reason, text)
    # The same session's next order that passes every gate is accepted as usual.
    ok_account = "B-BOB" if comp == "BRKB" else "A-ALICE"
    client.new_order(cl + "-OK", "ACME", "2", 10, "10.50", account=ok_account)
    assert client.exec_report(cl + "-OK", "0")[39] == "0"
    decisions = json.loads(venue.cli("gates", "--json").stdout)
    mine = {d["cl_ord_id"]: d for d in decisions}
    assert (mine[cl]["outcome"], mine[cl]["gate"]) == ("reject", code)
    assert mine[cl + "-OK"]["outcome"] == "pass" and mine[cl + "-OK"]["order_id"] is not None
    assert mine[cl]["inputs"], "the audit keeps what the gates looked at"


def test_a_burst_above_the_throttle_is_rejected_not_queued(venue, connect):
    assert "max_msgs_per_s=20" in venue.cli("members", "set", "BRKB", "--max-msgs-per-s", "20").stdout
    brkb = connect("BRKB")
    raws = [
        brkb.encode(
            "D",
            [
                (11, f"T{i}"),
                (55, "ACME"),
                (54, "1"),
                (60, "20260101-00:00:00"),
                (38, "1"),
                (40, "2"),
                (44, "9.00"),
                (59, "0"),
                (1, "B-BOB"),
                (528, "A"),
            ],
            seq=brkb.out_seq + i,
        )
        for i in range(40)
    ]
    brkb.out_seq += len(raws)
    brkb.send_raw(b"".join(raws))
    answers = [brkb.exec_report(f"T{i}") for i in range(40)]
    accepted = [m[11] for m in answers if m[150] == "0"]
    throttled = [m for m in answers if m[150] == "8"]
    assert accepted[:20] == [f"T{i}" for i in range(20)], "the first 20 in the second pass"
    assert throttled and all(m[20001] == "R200" and "Message rate limit" in m[58] for m in throttled)
    assert len(accepted) + len(throttled) == 40, "every order answered, none queued"


def test_kill_switch_cancels_open_orders_and_blocks_new_ones_until_released(venue, connect):
    brka = connect("BRKA")
    brka.new_order("K1", "ACME", "2", 10, "11.00", account="A-ALICE")
    brka.new_order("K2", "BETA", "1", 10, "24.00", account="A-ALICE")
    brka.exec_report("K1", "0")
    brka.exec_report("K2", "0")
    out = venue.cli("kill", "BRKA", "--reason", "runaway algo").stdout
    assert "2 open orders canceled" in out
    assert {brka.exec_report("K1", "4")[39], brka.exec_report("K2", "4")[39]} == {"4"}
    brka.new_order("K3", "ACME", "2", 10, "11.00", account="A-ALICE")
    _rejected(brka, "K3", "M110", "99", "kill switch is on")
    venue.cli("unkill", "BRKA", "--reason", "algo fixed")
    brka.new_order("K4", "ACME", "2", 10, "11.00", account="A-ALICE")
    assert brka.exec_report("K4", "0")[39] == "0"


def test_compliance_changes_apply_to_the_next_order_without_a_restart(venue, connect):
    brkb = connect("BRKB")
    venue.cli("accounts", "set", "B-BOB", "--aml-hold")
    brkb.new_order("AML1", "ACME", "1", 10, "10.00", account="B-BOB")
    _rejected(brkb, "AML1", "A130", "99", "AML/sanctions hold")
    venue.cli("accounts", "set", "B-BOB", "--no-aml-hold", "--kyc-expires", "2020-01-01")
    brkb.new_order("KYC1", "ACME", "1", 10, "10.00", account="B-BOB")
    _rejected(brkb, "KYC1", "A120", "99", "KYC expired on 2020-01-01")
    venue.cli("accounts", "set", "B-BOB", "--kyc-expires", "none")
    venue.cli("securities", "set", "BETA", "--deny", "US")
    brkb.new_order("JUR1", "BETA", "1", 10, "25.00", account="B-BOB")
    _rejected(brkb, "JUR1", "A160", "99", "may not be sold to investors in US")
    brkb.new_order("OK1", "ACME", "1", 10, "10.00", account="B-BOB")
    assert brkb.exec_report("OK1", "0")[39] == "0"


def test_entitlements_and_suspension_apply_to_the_next_order(venue, connect):
    brka = connect("BRKA")
    venue.cli("members", "revoke", "BRKA", "*", "--reason", "entitlement review", "--standard", "AS-6")
    venue.cli("members", "entitle", "BRKA", "BETA")
    brka.new_order("E1", "ACME", "2", 10, "10.50", account="A-ALICE")
    _rejected(brka, "E1", "M120", "99", "not entitled to trade ACME")
    brka.new_order("E2", "BETA", "2", 10, "25.50", account="A-ALICE")
    assert brka.exec_report("E2", "0")[39] == "0"
    venue.cli("members", "suspend", "BRKA", "--reason", "late filing", "--standard", "AS-4")
    brka.new_order("E3", "BETA", "2", 10, "25.50", account="A-ALICE")
    _rejected(brka, "E3", "M100", "99", "not active")
    log = json.loads(venue.cli("access", "log", "--member", "BRKA", "--json").stdout)
    recorded = [(e["action"], e["scope"], e["reason"]) for e in log]
    for entry in (("revoke", "*", "entitlement review"), ("grant", "BETA"), ("limit", "venue", "late filing")):
        assert any(r[: len(entry)] == entry for r in recorded), (entry, recorded)


def test_reservations_after_a_restart_match_open_orders_and_unsettled_trades(venue, connect):
    brka, brkb = connect("BRKA"), connect("BRKB")
    brka.new_order("S1", "ACME", "2", 8_000, "10.00", account="A-ALICE")
    brka.exec_report("S1", "0")
    brkb.new_order("B1", "ACME", "1", 2_000, "10.00", account="B-BOB")
    assert brkb.exec_report("B1", "F")[32] == "2000"
    # ALICE: 10,000 held as 6,000 open + 2,000 unsettled; BOB: 20,000 USD owed for the trade.
    for client in (brka, brkb):
        client.logout()
    assert venue.stop() == 0
    venue.restart()
    brka, brkb = FixClient(venue.port, "BRKA", seq=brka.out_seq), FixClient(venue.port, "BRKB", seq=brkb.out_seq)
    assert brka.logon().type == "A" and brkb.logon().type == "A"
    brka.new_order("S2", "ACME", "2", 2_001, "12.00", account="A-ALICE")
    _rejected(brka, "S2", "F100", "3", "available tokens 2000")
    brka.new_order("S3", "ACME", "2", 2_000, "12.00", account="A-ALICE")
    assert brka.exec_report("S3", "0")[39] == "0"
    brkb.new_order("B2", "ACME", "1", 98_990, "9.90", account="B-BOB")  # 980,001.00
    _rejected(brkb, "B2", "F110", "3", "B-BOB has 980000.00 available")
    brkb.new_order("B3", "ACME", "1", 98_989, "9.90", account="B-BOB")  # 979,991.10
    assert brkb.exec_report("B3", "0")[39] == "0"
    positions = {(p["account"], p["asset"]): p for p in json.loads(venue.cli("positions", "--json").stdout)}
    assert positions[("A-ALICE", "ACME")]["held"] == "10000"
    assert positions[("B-BOB", "USD")]["held"] == "999991.10"
