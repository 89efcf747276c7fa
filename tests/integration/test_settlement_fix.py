"""Trades settle on-chain behind the venue: a crossed ACME trade over FIX changes both sides' on-chain
balances exactly once and is reported as a TradeCaptureReport with the tx hash (embedded chain and
anvil); a trade whose buyer loses its on-chain identity after matching is busted with 150=H and
nothing moves."""

from __future__ import annotations

import json
import time

import pytest

from venue.chain import backend
from venue.chain.deploy import Deployment, remove_investor_identity
from venue.chain.service import load_sandbox_keys

pytestmark = pytest.mark.parametrize("venue", ["embedded", "anvil"], indirect=True)


def _positions(venue) -> dict:
    return {(p["account"], p["asset"]): p["balance"] for p in json.loads(venue.cli("positions", "--json").stdout)}


def _reconcile(venue) -> int:
    return venue.cli("ta", "reconcile", check=False).returncode


def test_a_crossed_trade_settles_once_and_is_reported_with_its_transaction(venue, connect):
    ops, brka, brkb = connect("OPSDC"), connect("BRKA"), connect("BRKB")
    before = _positions(venue)
    brka.new_order("S1", "ACME", "2", 10, "10.00", account="A-ALICE")
    brka.exec_report("S1", "0")
    brkb.new_order("B1", "ACME", "1", 10, "10.00", account="B-BOB")
    trade_id = brkb.exec_report("B1", "F")[880]
    reports = {}
    for name, client in (("BRKA", brka), ("BRKB", brkb)):
        ae = client.wait_for(lambda m: m.type == "AE", timeout=30)
        reports[name] = ae
        assert (ae[880], ae[55], ae[32], ae[31], ae[20012]) == (trade_id, "ACME", "10", "10.00", "final")
        assert ae[20010].startswith("0x") and len(ae[20010]) == 66 and int(ae[20011]) > 0
    assert reports["BRKA"][20010] == reports["BRKB"][20010], "one transaction, both legs"
    sides = {r.group(54, {54, 37, 1})[0][54] for r in reports.values()}
    assert sides == {"1", "2"}, "each member sees its own side"
    dc = [ops.wait_for(lambda m: m.type == "AE", timeout=10) for _ in range(2)]
    assert {m[20010] for m in dc} == {reports["BRKA"][20010]}
    after = _positions(venue)
    assert int(after[("A-ALICE", "ACME")]) == int(before[("A-ALICE", "ACME")]) - 10
    assert int(after[("B-BOB", "ACME")]) == int(before[("B-BOB", "ACME")]) + 10
    assert float(after[("B-BOB", "USD")]) == float(before[("B-BOB", "USD")]) - 100
    assert _reconcile(venue) == 0, "on-chain balances equal the ledger: moved exactly once"
    time.sleep(1.0)
    assert not [m for m in brka.drain(0.5) if m.type == "AE"], "reported once"


def test_a_trade_whose_buyer_loses_its_identity_is_busted_and_nothing_moves(venue, connect):
    brka, brkb = connect("BRKA"), connect("BRKB")
    before = _positions(venue)
    brkb.new_order("B1", "ACME", "1", 10, "10.00", account="B-BOB")
    brkb.exec_report("B1", "0")
    # The issuer's agent revokes Bob's identity after his order was accepted.
    chain_dir = venue.data_dir / "chain"
    url_file = chain_dir / "node-url"
    toml = (venue.data_dir / "venue.toml").read_text()
    url = url_file.read_text().strip() if url_file.exists() else toml.split('url = "')[-1].split('"')[0]
    deployment = Deployment.from_json((chain_dir / "deployment.json").read_text())
    issuer_key = load_sandbox_keys(chain_dir / "deployment.json").issuer_key  # the registry's agent
    remove_investor_identity(backend.connect(url), deployment, issuer_key, "B-BOB")
    brka.new_order("S1", "ACME", "2", 10, "10.00", account="A-ALICE")
    trade_id = brka.exec_report("S1", "F")[880]
    for client, cl in ((brka, "S1"), (brkb, "B1")):
        bust = client.exec_report(cl, "H", timeout=30)
        assert (bust[880], bust[32], bust[14]) == (trade_id, "10", "0")
        assert "could not settle" in bust[58] and "identity" in bust[58].lower()
    assert _positions(venue) == before, "nothing moved"
    assert _reconcile(venue) == 0
    failed = json.loads(venue.cli("settlement", "list", "--status", "failed", "--json").stdout)
    assert [str(t["trade_id"]) for t in failed] == [trade_id]
    # Once the venue's view of the chain refreshes, Bob's new buys are refused before matching.
    deadline = time.monotonic() + 10
    while True:
        brkb.new_order(f"B-{time.monotonic()}", "ACME", "1", 1, "9.00", account="B-BOB")
        answer = brkb.exec_report()
        if answer[150] == "8" or time.monotonic() > deadline:
            break
    assert answer.get(20001) == "A180", answer
