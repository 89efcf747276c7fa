"""The venue asks the token itself before accepting an order (spec/compliance.md, gate 20): over FIX,
on a sandbox settling on a real chain, the issuer's agent and the investors change the chain behind
the venue's back and the venue refuses what the token would refuse, with the on-chain figures:

- a frozen wallet (T110), tokens frozen in the seller's wallet (T120: the ledger still shows them),
  stablecoin that left the buyer's wallet (T130);
- the token's compliance refusing the transfer to the resting counterparty (T140: the on-chain
  holding period made longer than the venue's), and once the token allows it again the same order
  trades and settles.
"""

from __future__ import annotations

import pytest
from venuetest import Orders, rejected

from venue.chain import backend
from venue.chain.contracts import calldata, contract
from venue.chain.deploy import Deployment, freeze_partial_tokens, set_holding_period, set_wallet_frozen
from venue.chain.service import load_sandbox_keys
from venue.chain.transactions import TxSender

pytestmark = pytest.mark.parametrize("venue", ["embedded", "anvil"], indirect=True)

YEAR = 365 * 86_400


def _chain(venue):
    chain_dir = venue.data_dir / "chain"
    url_file = chain_dir / "node-url"
    toml = (venue.data_dir / "venue.toml").read_text()
    url = url_file.read_text().strip() if url_file.exists() else toml.split('url = "')[-1].split('"')[0]
    return backend.connect(url), Deployment.from_json((chain_dir / "deployment.json").read_text())


def test_the_venue_refuses_what_the_token_would_refuse(venue, connect):
    w3, d = _chain(venue)
    key = load_sandbox_keys(venue.data_dir / "chain" / "deployment.json").issuer_key  # the tokens' agent
    brka, brkb, mm = connect("BRKA"), connect("BRKB"), connect("MM1")
    alice, bob, maker = Orders(brka, "A"), Orders(brkb, "B"), Orders(mm, "M")

    # A frozen wallet can neither pay nor receive: Bob's buys are refused until it is unfrozen.
    set_wallet_frozen(w3, d, key, "B-BOB", "ACME", True)
    refused = bob.until("ACME", "1", 1, "9.00", "B-BOB", rejected("T110"))
    assert "B-BOB's wallet is frozen in the ACME token" in refused[58]
    set_wallet_frozen(w3, d, key, "B-BOB", "ACME", False)
    accepted = bob.until("ACME", "1", 1, "9.00", "B-BOB", lambda m: m[150] == "0")
    brkb.cancel("X-OPEN", accepted[11], "ACME", "1")
    brkb.exec_report("X-OPEN", "4")

    # 9,995 of Alice's 10,000 ACME frozen on-chain: the venue's ledger still has 10,000, the chain
    # can deliver 5.
    freeze_partial_tokens(w3, d, key, "A-ALICE", "ACME", 9_995)
    refused = alice.until("ACME", "2", 10, "11.00", "A-ALICE", rejected("T120"))
    assert "investor A-ALICE's wallet can deliver 5 on-chain" in refused[58], refused[58]
    brka.new_order("S5", "ACME", "2", 5, "11.00", account="A-ALICE")
    assert brka.exec_report("S5")[150] == "0", "5 can be delivered: the sell rests"

    # The token's compliance now locks every lot for a year (stricter than the venue's ACME rules),
    # then Bob sends all but 10 USD of his stablecoin to Carol outside the venue.
    set_holding_period(w3, d, key, "ACME", YEAR)
    cash = contract(w3, "SandboxStablecoin", d.cash_token)
    bob_key = load_sandbox_keys(venue.data_dir / "chain" / "deployment.json").investor("B-BOB")
    TxSender(w3, bob_key).transact(
        d.cash_token, calldata(cash, "transfer", d.wallet("B-CAROL").address, 999_990 * 10**6), 200_000
    )
    refused = bob.until("ACME", "1", 10, "10.00", "B-BOB", rejected("T130"))
    assert "Buy needs 100.00 USD but investor B-BOB's wallet can pay 10.00 on-chain" in refused[58], refused[58]
    # That snapshot is newer than the holding period change: MM1's buy would trade with Alice's
    # resting sell, which the token refuses, so it is refused and Alice's order stays.
    mm.new_order("M-LOCKED", "ACME", "1", 5, "11.00", account="M-MAKER")
    refused = mm.exec_report("M-LOCKED")
    assert (refused[150], refused.get(20001)) == ("8", "T140"), refused
    assert "canTransfer) refuses a transfer of 5 between investor M-MAKER and a resting order" in refused[58]
    assert "A-ALICE" not in refused[58], "the counterparty is not named"
    assert not [m for m in brka.drain(0.5) if m.type == "8"], "Alice's order is untouched"

    # The token allows it again: the same order trades with Alice's and settles on-chain.
    set_holding_period(w3, d, key, "ACME", 0)
    accepted = maker.until("ACME", "1", 5, "11.00", "M-MAKER", lambda m: m[150] != "8")
    filled = mm.exec_report(accepted[11], "F")
    assert brka.exec_report("S5", "F")[880] == filled[880]
    settled = mm.wait_for(lambda m: m.type == "AE", timeout=60)
    assert (settled[880], settled[20012]) == (filled[880], "final")
