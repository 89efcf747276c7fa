"""The deployed venue chain: wiring of the ERC-3643 suite, identities, cash, allowances, JSON."""

from __future__ import annotations

import json

import pytest
from chain_world import HOLDING_PERIOD, INITIAL_CASH, INITIAL_TOKENS, INVESTORS
from eth_account import Account

from venue.chain.contracts import contract, read
from venue.chain.deploy import (
    KYC_CLAIM_TOPIC,
    MAX_UINT256,
    Deployment,
    SandboxKeys,
    country_numeric,
    derive_key,
    investor_key,
    onboard_investors,
)
from venue.chain.settlement import DvPClient

pytestmark = pytest.mark.chain


def test_tokens_are_erc3643_with_zero_decimals(chain):
    d = chain.deployment
    for symbol, security in d.securities.items():
        token = contract(chain.w3, "Token", security.token)
        assert read(token, "symbol") == symbol
        assert read(token, "decimals") == 0
        assert read(token, "paused") is False
        assert read(token, "identityRegistry") == d.identity_registry
        assert read(token, "compliance") == security.compliance
        assert read(token, "isAgent", d.operator)
        compliance = contract(chain.w3, "ModularCompliance", security.compliance)
        assert read(compliance, "getTokenBound") == security.token
        assert read(compliance, "getModules") == [d.holding_period_module]
    assert d.security("LOCK").holding_period_seconds == HOLDING_PERIOD


def test_identity_suite_is_wired(chain):
    d = chain.deployment
    w3 = chain.w3
    ir = contract(w3, "IdentityRegistry", d.identity_registry)
    assert read(ir, "topicsRegistry") == d.claim_topics_registry
    assert read(ir, "issuersRegistry") == d.trusted_issuers_registry
    assert read(ir, "identityStorage") == d.identity_registry_storage
    assert read(contract(w3, "ClaimTopicsRegistry", d.claim_topics_registry), "getClaimTopics") == [KYC_CLAIM_TOPIC]
    tir = contract(w3, "TrustedIssuersRegistry", d.trusted_issuers_registry)
    assert read(tir, "getTrustedIssuersForClaimTopic", KYC_CLAIM_TOPIC) == [d.claim_issuer]
    for account_id, country in INVESTORS:
        wallet = d.wallet(account_id)
        assert read(ir, "isVerified", wallet.address)
        assert read(ir, "identity", wallet.address) == wallet.identity
        assert read(ir, "investorCountry", wallet.address) == country_numeric(country)
        identity = contract(w3, "Identity", wallet.identity)
        assert len(read(identity, "getClaimIdsByTopic", KYC_CLAIM_TOPIC)) == 1


def test_balances_cash_and_allowances(chain):
    d = chain.deployment
    client = chain.client()
    cash = contract(chain.w3, "SandboxStablecoin", d.cash_token)
    assert read(cash, "decimals") == 6
    assert read(cash, "symbol") == d.cash_symbol == "sUSD"
    for (account_id, symbol), qty in INITIAL_TOKENS.items():
        assert client.token_balance(account_id, symbol) == qty
    for account_id, amount in INITIAL_CASH.items():
        assert client.cash_balance(account_id) == amount
    for account_id, _ in INVESTORS:
        owner = d.wallet(account_id).address
        assert read(cash, "allowance", owner, d.dvp) == MAX_UINT256
        for security in d.securities.values():
            assert read(contract(chain.w3, "Token", security.token), "allowance", owner, d.dvp) == MAX_UINT256
    dvp = contract(chain.w3, "DvP", d.dvp)
    assert read(dvp, "hasRole", read(dvp, "OPERATOR_ROLE"), d.operator)


def test_wallets_are_addresses_only_and_keys_stay_with_the_sandbox(chain):
    d = chain.deployment
    keys = SandboxKeys.derived(d.investors)
    for account_id, _ in INVESTORS:
        wallet = d.wallet(account_id)
        assert not hasattr(wallet, "private_key")
        assert (
            keys.investor(account_id)
            == investor_key(account_id)
            == derive_key("venue-sandbox", f"account:{account_id}")
        )
        assert Account.from_key(keys.investor(account_id)).address == wallet.address
    assert investor_key("ALICE") != investor_key("ALICE", "other-seed")
    assert SandboxKeys.from_json(keys.to_json()) == keys
    assert "SIMULATED investors" in keys.to_json()


def test_deployment_round_trips_through_json_without_secrets(chain):
    d = chain.deployment
    text = d.to_json()
    assert Deployment.from_json(text) == d
    keys = SandboxKeys.derived(d.investors)
    for secret in (keys.claim_signer_key, *keys.investors.values()):
        assert secret.removeprefix("0x") not in text
    assert "private_key" not in text and "claim_signer_key" not in text
    raw = json.loads(text)
    raw["investors"]["ALICE"]["private_key"] = keys.investor("ALICE")
    with pytest.raises(ValueError, match="private keys"):
        Deployment.from_json(json.dumps(raw))


def test_onboarding_later_investors(chain):
    d = onboard_investors(chain.w3, chain.deployment, chain.operator_key, [("ERIN", "SG"), ("ALICE", "US")])
    assert set(d.investors) == {a for a, _ in INVESTORS} | {"ERIN"}
    assert d.wallet("ALICE") == chain.deployment.wallet("ALICE")
    assert DvPClient(chain.w3, d, chain.operator_key).is_verified("ERIN")


def test_country_codes():
    assert country_numeric("US") == 840
    assert country_numeric("de") == 276
    assert country_numeric(756) == 756
    assert country_numeric("250") == 250
    with pytest.raises(ValueError, match="numeric"):
        country_numeric("XX")
