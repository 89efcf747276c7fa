"""HoldingPeriodModule on chain, with time travel: lots, FIFO, per-token periods, module rules."""

from __future__ import annotations

import pytest
from chain_world import DAY, HOLDING_PERIOD

from venue.chain import artifacts, backend
from venue.chain.contracts import calldata, contract, creation_code, read
from venue.chain.deploy import mint_tokens, set_holder_role
from venue.chain.errors import RevertError
from venue.chain.settlement import SettlementInstruction, SettlementStatus
from venue.chain.transactions import TxSender

pytestmark = pytest.mark.chain


def sell(client, trade_id, qty, seller="ALICE", buyer="BOB", symbol="LOCK"):
    return client.settle(SettlementInstruction(trade_id, symbol, seller, buyer, qty, qty * 1_000))


def lots(chain, account, symbol="LOCK"):
    d = chain.deployment
    module = contract(chain.w3, "HoldingPeriodModule", d.holding_period_module)
    acquired, qty = read(module, "getLots", d.security(symbol).compliance, d.wallet(account).address)
    return list(zip(acquired, qty, strict=True))


def test_periods_are_per_token(chain):
    d = chain.deployment
    module = contract(chain.w3, "HoldingPeriodModule", d.holding_period_module)
    assert read(module, "getHoldingPeriod", d.security("LOCK").compliance) == HOLDING_PERIOD
    assert read(module, "getHoldingPeriod", d.security("ACME").compliance) == 0
    client = chain.client()
    assert client.unlocked_balance("ALICE", "ACME") == client.token_balance("ALICE", "ACME")
    assert client.unlocked_balance("ALICE", "LOCK") == 0


def test_transfer_waits_for_the_holding_period_fifo(chain):
    client = chain.client()
    minted_at = lots(chain, "ALICE")[0][0]
    assert lots(chain, "ALICE") == [(minted_at, 300)]

    refused = sell(client, "H-1", 1)
    assert refused.status is SettlementStatus.FAILED
    # the chain's words, then the client's hint of which check refused
    assert (
        refused.reason
        == "Transfer not possible: holding period: 0 of the seller's tokens are past their holding period"
    )

    backend.increase_time(chain.w3, 90 * DAY)
    assert sell(client, "H-2", 1).status is SettlementStatus.FAILED
    mint_tokens(chain.w3, chain.deployment, chain.operator_key, {("ALICE", "LOCK"): 100})  # a second lot
    second_at = lots(chain, "ALICE")[1][0]
    assert second_at >= minted_at + 90 * DAY

    backend.increase_time(chain.w3, minted_at + HOLDING_PERIOD - backend.chain_time(chain.w3))
    assert client.unlocked_balance("ALICE", "LOCK") == 300
    assert sell(client, "H-3", 301).status is SettlementStatus.FAILED  # only the first lot is free
    assert sell(client, "H-4", 250).status is SettlementStatus.SETTLED
    assert lots(chain, "ALICE") == [(minted_at, 50), (second_at, 100)]
    assert sell(client, "H-5", 50).status is SettlementStatus.SETTLED
    assert sell(client, "H-6", 1).status is SettlementStatus.FAILED

    # a buyer from a holder keeps the seller's tacking date: no new lock-up (Rule 144(d)(1))
    assert client.token_balance("BOB", "LOCK") == 300
    assert lots(chain, "BOB") == [(minted_at, 300)]
    assert client.unlocked_balance("BOB", "LOCK") == 300
    assert sell(client, "H-7", 1, seller="BOB", buyer="CAROL").status is SettlementStatus.SETTLED

    # a buyer from an affiliate of the issuer starts a new holding period at its purchase
    set_holder_role(chain.w3, chain.deployment, chain.operator_key, "LOCK", "ALICE", "affiliate")
    backend.increase_time(chain.w3, second_at + HOLDING_PERIOD - backend.chain_time(chain.w3))
    assert sell(client, "H-8", 100, buyer="DAVE").status is SettlementStatus.SETTLED
    assert lots(chain, "ALICE") == []
    assert client.token_balance("ALICE", "LOCK") == 0
    (bought_at, qty), *_ = lots(chain, "DAVE")
    assert qty == 100 and bought_at >= second_at + HOLDING_PERIOD
    assert client.unlocked_balance("DAVE", "LOCK") == 0


def test_unrestricted_token_moves_at_once(chain):
    client = chain.client()
    assert sell(client, "U-1", 10, symbol="ACME").status is SettlementStatus.SETTLED
    assert sell(client, "U-2", 10, seller="BOB", buyer="CAROL", symbol="ACME").status is SettlementStatus.SETTLED


def test_module_rules(chain):
    d = chain.deployment
    w3 = chain.w3
    op = TxSender(w3, chain.operator_key)
    module = contract(w3, "HoldingPeriodModule", d.holding_period_module)
    compliance_lock = d.security("LOCK").compliance
    assert read(module, "name") == "HoldingPeriodModule"
    assert read(module, "isPlugAndPlay") is False
    assert read(module, "isComplianceBound", compliance_lock)
    # binding to a compliance whose token already has holders would leave balances without lots
    assert read(module, "canComplianceBind", compliance_lock) is False
    # mints always pass the check
    assert read(module, "moduleCheck", "0x" + "00" * 20, d.wallet("BOB").address, 10**9, compliance_lock)
    # hooks and settings answer only to a bound compliance
    with pytest.raises(RevertError, match="only bound compliance can call"):
        op.transact(d.holding_period_module, calldata(module, "setHoldingPeriod", 1), 200_000)
    with pytest.raises(RevertError, match="only bound compliance can call"):
        op.transact(d.holding_period_module, calldata(module, "moduleMintAction", op.address, 1), 200_000)
    # the compliance owner changes the period through the compliance
    compliance = contract(w3, "ModularCompliance", compliance_lock)
    op.transact(
        compliance_lock,
        calldata(
            compliance,
            "callModuleFunction",
            calldata(module, "setHoldingPeriod", 7 * DAY),
            d.holding_period_module,
        ),
        300_000,
    )
    assert read(module, "getHoldingPeriod", compliance_lock) == 7 * DAY
    backend.increase_time(w3, 7 * DAY)
    assert chain.client().unlocked_balance("ALICE", "LOCK") == 300


def test_module_implements_trex_imodule():
    ours = {
        (i["type"], i.get("name"), tuple(p["type"] for p in i.get("inputs", [])))
        for i in artifacts.load("HoldingPeriodModule").abi
    }
    theirs = {
        (i["type"], i.get("name"), tuple(p["type"] for p in i.get("inputs", []))) for i in artifacts.load("IModule").abi
    }
    assert theirs <= ours


def test_fresh_compliance_binds_and_counts_lots_from_the_first_mint(chain):
    w3 = chain.w3
    op = TxSender(w3, chain.operator_key)
    d = chain.deployment
    code = creation_code(w3, "ModularCompliance")
    tx, mc = op.deploy(code, 3_000_000)
    op.check(tx, op.wait(tx))
    compliance = contract(w3, "ModularCompliance", mc)
    op.transact(mc, calldata(compliance, "init"), 500_000)
    module = contract(w3, "HoldingPeriodModule", d.holding_period_module)
    assert read(module, "canComplianceBind", mc)
    op.transact(mc, calldata(compliance, "addModule", d.holding_period_module), 500_000)
    assert read(module, "isComplianceBound", mc)
