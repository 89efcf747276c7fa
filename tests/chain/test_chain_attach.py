"""`venue securities attach`'s checks (service.check_token) against tokens on a real node: what is
refused and why, what passes, and the lots read from the venue's holding-period module."""

from __future__ import annotations

from dataclasses import replace

import pytest
from chain_world import HOLDING_PERIOD, INITIAL_TOKENS

from venue.chain.contracts import calldata, contract
from venue.chain.deploy import MAX_UINT256, deploy_issuer_token, investor_key, issuer_call
from venue.chain.service import check_token
from venue.chain.transactions import TxSender

pytestmark = pytest.mark.chain

#: The second development account: an issuer that is not the venue's operator.
ISSUER_KEY = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"


def _issue(chain, *, register=True, unpause=True):
    d = chain.deployment
    wallets = [(d.wallet(a).address, "US") for a in ("ALICE", "BOB")] if register else []
    mints = {d.wallet("ALICE").address: 100} if register else {}  # T-REX mints to verified wallets only
    return deploy_issuer_token(chain.w3, ISSUER_KEY, "ISSR", "Issuer Co", wallets, mints, unpause=unpause)


def _approve(chain, account_id: str, token: str, amount: int) -> None:
    w3, d = chain.w3, chain.deployment
    TxSender(w3, investor_key(account_id)).transact(
        token, calldata(contract(w3, "Token", token), "approve", d.dvp, amount), 100_000
    )


def test_what_is_not_a_settleable_erc3643_token_is_refused_saying_why(chain):
    w3, d = chain.w3, chain.deployment
    assert "is not an address" in check_token(w3, d, "ISSR", "0x1234").refusals[0]
    assert "no contract at" in check_token(w3, d, "ISSR", d.wallet("ALICE").address).refusals[0]
    assert "is not an ERC-3643 (T-REX) token" in check_token(w3, d, "ISSR", d.dvp).refusals[0]
    assert check_token(w3, d, "OTHER", d.security("ACME").token).refusals == [
        f"{d.security('ACME').token} is already attached as ACME"
    ]

    paused = _issue(chain, unpause=False)
    result = check_token(w3, d, "ISSR", paused.token)
    assert any("paused by its issuer's agent" in r for r in result.refusals), result.refusals
    assert any("may not move the tokens of ALICE" in r for r in result.refusals), result.refusals
    assert result.security is not None and result.security.identity_registry == paused.identity_registry

    unregistered = _issue(chain, register=False)
    result = check_token(w3, d, "ISSR", unregistered.token)
    assert any("no venue wallet is verified" in r for r in result.refusals), result.refusals
    assert any("no venue wallet holds the token yet" in n for n in result.notes), "a note, not a refusal"


def test_an_issuers_token_passes_once_unpaused_and_allowed(chain):
    w3, d = chain.w3, chain.deployment
    issued = _issue(chain, unpause=False)
    issuer_call(w3, ISSUER_KEY, issued.token, "unpause")
    _approve(chain, "ALICE", issued.token, MAX_UINT256)
    result = check_token(w3, d, "ISSR", issued.token)
    assert result.refusals == [] and result.token_symbol == "ISSR" and result.paused is False
    standing = {w.account_id: w for w in result.wallets}
    assert standing["ALICE"].verified and standing["ALICE"].balance == 100 and standing["ALICE"].deliverable == 100
    assert standing["BOB"].verified and not standing["CAROL"].verified
    assert standing["ALICE"].lots == (), "no venue module on the issuer's compliance: no on-chain lots"
    sec = result.security
    assert (sec.token, sec.compliance, sec.holding_period_seconds) == (issued.token, issued.compliance, 0)

    # A wallet frozen by the issuer still holds its tokens, but delivers none; a partial allowance caps it.
    issuer_call(w3, ISSUER_KEY, issued.token, "freezePartialTokens", d.wallet("ALICE").address, 30)
    _approve(chain, "ALICE", issued.token, 50)
    alice = {w.account_id: w for w in check_token(w3, d, "ISSR", issued.token).wallets}["ALICE"]
    assert (alice.balance, alice.frozen_tokens, alice.deliverable) == (100, 30, 50)
    issuer_call(w3, ISSUER_KEY, issued.token, "setAddressFrozen", d.wallet("ALICE").address, True)
    alice = {w.account_id: w for w in check_token(w3, d, "ISSR", issued.token).wallets}["ALICE"]
    assert alice.frozen and alice.deliverable == 0


def test_lots_and_holding_period_come_from_the_venues_module_when_it_is_bound(chain):
    w3, d = chain.w3, chain.deployment
    lock = d.security("LOCK")
    result = check_token(w3, replace(d, securities={}), "LOCK", lock.token)
    assert result.refusals == []
    assert result.security.holding_period_seconds == HOLDING_PERIOD
    alice = {w.account_id: w for w in result.wallets}["ALICE"]
    assert sum(q for _, q in alice.lots) == INITIAL_TOKENS[("ALICE", "LOCK")] == alice.balance
    assert all(tacked > 0 for tacked, _ in alice.lots)
