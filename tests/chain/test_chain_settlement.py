"""DvP settlement on both backends: single, batch, idempotency, failing legs, permissions."""

from __future__ import annotations

import pytest
from eth_account import Account

from venue.chain.contracts import calldata, contract
from venue.chain.deploy import remove_investor_identity
from venue.chain.errors import RevertError
from venue.chain.settlement import SettlementInstruction, SettlementStatus, trade_key
from venue.chain.transactions import TxSender

pytestmark = pytest.mark.chain

SETTLED, ALREADY, FAILED = SettlementStatus.SETTLED, SettlementStatus.ALREADY_SETTLED, SettlementStatus.FAILED


def snapshot_balances(client, accounts=("ALICE", "BOB", "CAROL", "DAVE"), symbols=("ACME", "LOCK")):
    tokens = {(a, s): client.token_balance(a, s) for a in accounts for s in symbols}
    cash = {a: client.cash_balance(a) for a in accounts}
    return tokens, cash


def trade(trade_id, seller="ALICE", buyer="BOB", qty=10, cash=1_250_000, symbol="ACME"):
    return SettlementInstruction(trade_id, symbol, seller, buyer, qty, cash)


def test_single_trade_moves_both_legs(chain):
    client = chain.client()
    tokens, cash = snapshot_balances(client)

    result = client.settle(trade("T-1", qty=10, cash=1_250_000))

    assert result.status is SETTLED and result.reason is None
    assert result.tx_hash and result.block_number
    assert client.token_balance("ALICE", "ACME") == tokens["ALICE", "ACME"] - 10
    assert client.token_balance("BOB", "ACME") == tokens["BOB", "ACME"] + 10
    assert client.cash_balance("ALICE") == cash["ALICE"] + 1_250_000
    assert client.cash_balance("BOB") == cash["BOB"] - 1_250_000
    assert client.is_settled("T-1")
    assert client.settled_in_block("T-1") == result.block_number
    assert not client.is_settled("T-2")


def test_same_trade_id_settles_once(chain):
    client = chain.client()
    first = client.settle(trade("T-dup"))
    after_first = snapshot_balances(client)

    again = client.settle(trade("T-dup"))
    in_batch = client.settle_batch([trade("T-dup"), trade("T-dup")], batch_size=10)

    assert first.status is SETTLED
    assert again.status is ALREADY and again.reason == f"settled in block {first.block_number}"
    assert [r.status for r in in_batch] == [ALREADY, ALREADY]
    assert snapshot_balances(client) == after_first


def test_duplicate_inside_one_batch_moves_once(chain):
    client = chain.client()
    tokens, _ = snapshot_balances(client)
    results = client.settle_batch([trade("T-x", qty=7), trade("T-x", qty=7)], batch_size=10)
    assert [r.status for r in results] == [SETTLED, ALREADY]
    assert client.token_balance("BOB", "ACME") == tokens["BOB", "ACME"] + 7


def test_batch_settles_all_in_one_transaction(chain):
    client = chain.client()
    tokens, cash = snapshot_balances(client)
    trades = [
        trade("B-1", "ALICE", "BOB", 5, 600_000),
        trade("B-2", "BOB", "CAROL", 3, 400_000),
        trade("B-3", "ALICE", "DAVE", 2, 250_000),
    ]

    results = client.settle_batch(trades, batch_size=50)

    assert [r.status for r in results] == [SETTLED] * 3
    assert len({r.tx_hash for r in results}) == 1
    assert client.token_balance("ALICE", "ACME") == tokens["ALICE", "ACME"] - 7
    assert client.token_balance("BOB", "ACME") == tokens["BOB", "ACME"] + 5 - 3
    assert client.token_balance("CAROL", "ACME") == 3
    assert client.token_balance("DAVE", "ACME") == 2
    assert client.cash_balance("ALICE") == cash["ALICE"] + 850_000
    assert client.cash_balance("DAVE") == cash["DAVE"] - 250_000
    total_cash_before, total_cash_after = sum(cash.values()), sum(snapshot_balances(client)[1].values())
    assert total_cash_before == total_cash_after


def test_batches_are_split_and_results_keep_order(chain):
    client = chain.client()
    trades = [trade(f"S-{i}", "ALICE", "BOB", 1, 1_000) for i in range(7)]
    results = client.settle_batch(trades, batch_size=3)
    assert [r.trade_id for r in results] == [t.trade_id for t in trades]
    assert all(r.status is SETTLED for r in results)
    assert len({r.tx_hash for r in results}) == 3


def test_insufficient_cash_fails_that_trade_only(chain):
    client = chain.client()
    before = snapshot_balances(client)
    dave_cash = client.cash_balance("DAVE")
    trades = [
        trade("C-ok-1", "ALICE", "BOB", 4, 100_000),
        trade("C-poor", "ALICE", "DAVE", 4, dave_cash + 1),  # DAVE cannot pay
        trade("C-ok-2", "BOB", "CAROL", 2, 50_000),
    ]

    results = client.settle_batch(trades, batch_size=10)

    assert [r.status for r in results] == [SETTLED, FAILED, SETTLED]
    assert results[1].reason.startswith("ERC20InsufficientBalance(")
    assert not client.is_settled("C-poor")
    tokens, cash = snapshot_balances(client)
    assert tokens["DAVE", "ACME"] == before[0]["DAVE", "ACME"]  # the security leg was undone too
    assert cash["DAVE"] == dave_cash
    assert tokens["ALICE", "ACME"] == before[0]["ALICE", "ACME"] - 4


def test_buyer_removed_from_identity_registry_fails_that_trade_only(chain):
    client = chain.client()
    assert client.is_verified("CAROL")
    remove_investor_identity(chain.w3, chain.deployment, chain.operator_key, "CAROL")
    assert not client.is_verified("CAROL")
    assert client.transfer_refusal("ACME", "ALICE", "CAROL", 1) == "buyer identity not verified"
    before = snapshot_balances(client)

    results = client.settle_batch(
        [trade("K-1", "ALICE", "CAROL", 5, 500_000), trade("K-2", "ALICE", "BOB", 5, 500_000)], batch_size=10
    )

    assert [r.status for r in results] == [FAILED, SETTLED]
    assert results[0].reason == "Transfer not possible: buyer identity not verified"
    tokens, cash = snapshot_balances(client)
    assert tokens["CAROL", "ACME"] == before[0]["CAROL", "ACME"]
    assert cash["CAROL"] == before[1]["CAROL"]
    # the seller may still sell to a verified buyer, and CAROL (unverified) may still sell
    assert client.settle(trade("K-3", "BOB", "ALICE", 1, 10)).status is SETTLED


def test_single_settle_failure_reverts_with_reason(chain):
    client = chain.client()
    before = snapshot_balances(client)
    result = client.settle(trade("F-1", "CAROL", "BOB", 1, 10))  # CAROL holds no ACME
    assert result.status is FAILED
    assert result.reason == "Insufficient Balance"
    assert result.tx_hash is not None
    assert snapshot_balances(client) == before
    assert not client.is_settled("F-1")


def test_invalid_instructions_fail_without_a_transaction(chain):
    client = chain.client()
    results = client.settle_batch(
        [trade("I-1", buyer="NOBODY"), trade("I-2", symbol="NOPE"), trade("I-3", qty=0), trade("I-4")],
        batch_size=10,
    )
    assert [r.status for r in results] == [FAILED, FAILED, FAILED, SETTLED]
    assert results[0].tx_hash is None and "invalid instruction" in results[0].reason


def test_self_trade_is_refused(chain):
    client = chain.client()
    result = client.settle_batch([trade("SELF", "ALICE", "ALICE")], batch_size=10)[0]
    assert result.status is FAILED and result.reason.startswith("InvalidTrade(")


def test_only_the_operator_settles(chain):
    stranger = Account.from_key("0x" + "11" * 32)
    op = TxSender(chain.w3, chain.operator_key)
    op.transact(stranger.address, "0x", 21_000, value=10**18)
    dvp = contract(chain.w3, "DvP", chain.deployment.dvp)
    sender = TxSender(chain.w3, stranger.key)
    d = chain.deployment
    args = (
        trade_key("X"),
        d.security("ACME").token,
        d.wallet("ALICE").address,
        d.wallet("BOB").address,
        1,
        d.cash_token,
        1,
    )
    with pytest.raises(RevertError, match="AccessControlUnauthorizedAccount"):
        sender.transact(d.dvp, calldata(dvp, "settle", *args), 500_000)
    with pytest.raises(RevertError, match="OnlySelf"):
        sender.transact(d.dvp, calldata(dvp, "settleFromBatch", args), 500_000)
    assert not chain.client().is_settled("X")


def test_can_transfer_mirrors_the_token_checks(chain):
    client = chain.client()
    assert client.can_transfer("ACME", "ALICE", "BOB", 10)
    assert client.transfer_refusal("ACME", "ALICE", "BOB", 10_000) == "insufficient balance"
    assert client.transfer_refusal("LOCK", "ALICE", "BOB", 1).startswith("holding period")
