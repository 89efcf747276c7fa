"""An issuer's own ERC-3643 token, settled between wallets whose keys the venue never sees (issue 22):

on anvil, an issuer key that is not the venue's deploys a T-REX token with its own identity
registry and compliance and registers the venue's investor wallets by address; the investors (the
sandbox's simulated investors, whose keys only the sandbox's issuer script file holds) approve the
DvP contract themselves. `venue securities attach` refuses the token while it is paused and a
holder gave no allowance, then attaches it, taking the positions from the chain. Over FIX a trade
settles on chain; then the issuer's pause, a wallet frozen by the issuer and a revoked allowance are
each refused before trading, and a resting sell whose allowance is revoked busts its trade.
"""

from __future__ import annotations

import json
import stat

import pytest
from venuetest import Orders, rejected

from venue.chain import backend
from venue.chain.contracts import calldata, contract, read
from venue.chain.deploy import MAX_UINT256, Deployment, deploy_issuer_token, issuer_call
from venue.chain.service import SANDBOX_KEYS_FILE, load_sandbox_keys
from venue.chain.transactions import TxSender
from venue.store import Store

pytestmark = [
    pytest.mark.parametrize("venue", ["anvil"], indirect=True),
    pytest.mark.parametrize("store_url", ["sqlite"], indirect=True),
]

#: The second development account: the issuer's key, not the venue's operator key (the first).
ISSUER_KEY = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"
SYMBOL = "ISSR"


def _approve(w3, key: str, token: str, spender: str, amount: int) -> None:
    """An investor, from its own wallet, allows `spender` to move `amount` of `token`."""
    TxSender(w3, key).transact(token, calldata(contract(w3, "Token", token), "approve", spender, amount), 100_000)


def test_an_issuers_token_settles_between_wallets_the_venue_holds_no_key_of(venue, connect):
    chain_dir = venue.data_dir / "chain"
    text = (chain_dir / "deployment.json").read_text()
    d = Deployment.from_json(text)
    url = (venue.data_dir / "venue.toml").read_text().split('url = "')[-1].split('"')[0]
    w3 = backend.connect(url)

    # The venue holds addresses only; the simulated investors' keys are the sandbox script's, 0600.
    investors = load_sandbox_keys(chain_dir / "deployment.json")
    assert "private_key" not in text and "claim_signer_key" not in text
    assert not any(k.removeprefix("0x") in text for k in investors.investors.values())
    assert stat.S_IMODE((chain_dir / SANDBOX_KEYS_FILE).stat().st_mode) == 0o600

    # The issuer, with its own key, deploys its token (left paused) and registers the wallets.
    venue.cli("securities", "add", SYMBOL, "--name", "Issuer Co common", "--reference-price", "20.00")
    wallets = {a: d.wallet(a).address for a in ("A-ALICE", "B-BOB", "B-CAROL", "M-MAKER")}
    issued = deploy_issuer_token(
        w3,
        ISSUER_KEY,
        SYMBOL,
        "Issuer Co common",
        [(address, "US") for address in wallets.values()],
        {wallets["A-ALICE"]: 1_000, wallets["M-MAKER"]: 500},
        unpause=False,
    )
    token = issued.token
    assert issued.issuer != d.operator
    assert not read(contract(w3, "Token", token), "isAgent", d.operator), "the venue is no agent of it"
    _approve(w3, investors.investor("A-ALICE"), token, d.dvp, MAX_UINT256)

    # Paused, and Maker's tokens not allowed to the DvP contract: refused, saying both.
    refused = venue.cli("securities", "attach", SYMBOL, "--token", token, "--reason", "issuer listing", check=False)
    assert refused.returncode == 1
    assert "paused by its issuer's agent" in refused.stderr, refused.stderr
    assert "may not move the tokens of M-MAKER" in refused.stderr, refused.stderr
    assert SYMBOL not in Deployment.from_json((chain_dir / "deployment.json").read_text()).securities

    issuer_call(w3, ISSUER_KEY, token, "unpause")
    _approve(w3, investors.investor("M-MAKER"), token, d.dvp, MAX_UINT256)
    attached = venue.cli("securities", "attach", SYMBOL, "--token", token, "--reason", "issuer listing")
    assert f"{SYMBOL} attached to token {token}" in attached.stdout
    recorded = Deployment.from_json((chain_dir / "deployment.json").read_text()).security(SYMBOL)
    assert (recorded.token, recorded.identity_registry) == (token, issued.identity_registry)
    store = Store(f"sqlite:///{venue.data_dir / 'venue.db'}")
    try:
        change = [c for c in store.registry_changes() if c["entity"] == "security" and c["key"] == SYMBOL][-1]
        assert change["reason"] == "issuer listing" and token in json.dumps(change["after"], default=str)
    finally:
        store.dispose()
    positions = {(p["account"], p["asset"]): p["balance"] for p in json.loads(venue.cli("positions", "--json").stdout)}
    assert int(positions[("A-ALICE", SYMBOL)]) == 1_000 and int(positions[("M-MAKER", SYMBOL)]) == 500

    # The venue and its worker read the deployment at start.
    venue.stop()
    venue.restart()
    brka, brkb, mm = connect("BRKA"), connect("BRKB"), connect("MM1")
    bob, alice = Orders(brkb, "BOB-"), Orders(brka, "ALICE-")
    t = contract(w3, "Token", token)

    # A trade settles on chain between the two wallets.
    brka.new_order("S1", SYMBOL, "2", 10, "20.00", account="A-ALICE")
    brka.exec_report("S1", "0")
    brkb.new_order("B1", SYMBOL, "1", 10, "20.00", account="B-BOB")
    trade_id = brkb.exec_report("B1", "F")[880]
    settled = brkb.wait_for(lambda m: m.type == "AE", timeout=60)
    assert (settled[880], settled[20012]) == (trade_id, "final")
    assert read(t, "balanceOf", wallets["B-BOB"]) == 10 and read(t, "balanceOf", wallets["A-ALICE"]) == 990

    # The issuer pauses its token: refused before trading.
    issuer_call(w3, ISSUER_KEY, token, "pause")
    refused = bob.until(SYMBOL, "1", 1, "19.00", "B-BOB", rejected("T100"))
    assert f"The {SYMBOL} token is paused on-chain" in refused[58]
    issuer_call(w3, ISSUER_KEY, token, "unpause")

    # The issuer freezes Bob's wallet: refused before trading.
    issuer_call(w3, ISSUER_KEY, token, "setAddressFrozen", wallets["B-BOB"], True)
    refused = bob.until(SYMBOL, "1", 1, "19.00", "B-BOB", rejected("T110"))
    assert f"B-BOB's wallet is frozen in the {SYMBOL} token" in refused[58]
    issuer_call(w3, ISSUER_KEY, token, "setAddressFrozen", wallets["B-BOB"], False)

    # Alice revokes the DvP contract's allowance from her own wallet: her sells are refused.
    _approve(w3, investors.investor("A-ALICE"), token, d.dvp, 0)
    refused = alice.until(SYMBOL, "2", 5, "21.00", "A-ALICE", rejected("T120"))
    assert "investor A-ALICE's wallet can deliver 0 on-chain" in refused[58], refused[58]

    # A resting sell whose wallet revokes its allowance afterwards: the trade busts, nothing moves.
    mm.new_order("M1", SYMBOL, "2", 5, "22.00", account="M-MAKER")
    assert mm.exec_report("M1")[150] == "0"
    _approve(w3, investors.investor("M-MAKER"), token, d.dvp, 0)
    brkb.new_order("B2", SYMBOL, "1", 5, "22.00", account="B-BOB")
    trade_id = brkb.exec_report("B2", "F")[880]
    bust = brkb.exec_report("B2", "H", timeout=60)
    assert bust[880] == trade_id and "could not settle" in bust[58]
    assert "not allowed the DvP contract" in bust[58], bust[58]
    assert read(t, "balanceOf", wallets["B-BOB"]) == 10 and read(t, "balanceOf", wallets["M-MAKER"]) == 500
