"""The settlement worker against a real store (SQLite, PostgreSQL) and a real chain (embedded, anvil),
driven step by step with run_once()."""

from __future__ import annotations

from decimal import Decimal

import pytest
from settle_world import Trade, chain_positions, drain, expected_positions, insert_trades, lots, make_worker, statuses

from venue.chain import backend
from venue.chain.deploy import remove_investor_identity, sandbox_issuer_key
from venue.chain.settlement import SettlementInstruction, SettlementStatus
from venue.store.settlement import SettlementStore

pytestmark = pytest.mark.chain

TRADES = [
    Trade(1, "ACME", "A-ALICE", "B-BOB", 100, "10.25"),
    Trade(2, "BETA", "B-BOB", "B-CAROL", 20, "25.10"),
    Trade(3, "ACME", "M-MAKER", "A-ALICE", 1_500, "9.99"),
    Trade(4, "ACME", "B-BOB", "M-MAKER", 50, "10.01"),
    Trade(5, "BETA", "A-ALICE", "M-MAKER", 10, "24.50"),
]


def test_worker_settles_pending_trades_exactly_once(store, chain):
    client = chain.client()
    settlement = SettlementStore(store)
    chain_before, ledger_before = chain_positions(client), settlement.positions()
    insert_trades(store, TRADES)

    reports = drain(make_worker(store, chain, batch_size=2))

    assert sum(r.final for r in reports) == 5 and sum(r.failed for r in reports) == 0
    assert statuses(store) == {i: "final" for i in range(1, 6)}
    events = settlement.events()
    assert sorted(e["trade_id"] for e in events) == [1, 2, 3, 4, 5]
    assert all(e["outcome"] == "final" and e["tx_hash"] and e["block_number"] for e in events)
    rows = {i: settlement.trade_row(i) for i in range(1, 6)}
    assert len({r["tx_hash"] for r in rows.values()}) == 3  # batches of 2, 2, 1
    assert all(r["settlement_attempts"] == 1 and r["settlement_error"] is None for r in rows.values())
    for i in range(1, 6):
        assert client.settled_in_block(str(i)) == rows[i]["block_number"]
    want_chain = expected_positions(chain_before, TRADES)
    assert chain_positions(client) == want_chain
    assert settlement.positions() == expected_positions(ledger_before, TRADES)
    # nothing moves twice: a fresh worker, and a direct re-send of the same trade ids
    assert drain(make_worker(store, chain))[0].idle
    again = client.settle_batch(
        [
            SettlementInstruction(str(tr.trade_id), tr.symbol, tr.seller, tr.buyer, tr.qty, int(tr.cash * 10**6))
            for tr in TRADES
        ],
        batch_size=5,
    )
    assert {r.status for r in again} == {SettlementStatus.ALREADY_SETTLED}
    assert chain_positions(client) == want_chain
    assert len(settlement.events()) == 5


def test_holdings_and_lots_follow_final_trades(store, chain):
    settlement = SettlementStore(store)
    trade = Trade(7, "ACME", "B-CAROL", "A-ALICE", 400, "12.34", executed_us=1_700_000_123_000_000)
    insert_trades(store, [trade])
    drain(make_worker(store, chain))
    assert lots(store, "B-CAROL", "ACME") == [(600, 1_700_000_000_000_000, None)]
    assert lots(store, "A-ALICE", "ACME")[-1] == (400, trade.executed_us, 7)
    positions = settlement.positions()
    assert positions[("B-CAROL", "USD")] == Decimal("100000") + Decimal("4936.00")
    assert positions[("A-ALICE", "ACME")] == 10_400
    on_chain = chain_positions(chain.client())
    assert on_chain == {k: positions.get(k, Decimal(0)) for k in on_chain}  # chain and ledger agree


def test_buyer_removed_after_matching_fails_alone_with_a_reason(store, chain):
    client = chain.client()
    settlement = SettlementStore(store)
    trades = [
        Trade(1, "ACME", "A-ALICE", "B-BOB", 10, "10.00"),
        Trade(2, "ACME", "A-ALICE", "B-CAROL", 25, "10.00"),
        Trade(3, "BETA", "B-CAROL", "M-MAKER", 5, "25.00"),
    ]
    insert_trades(store, trades)  # matched while Carol was eligible
    remove_investor_identity(chain.w3, chain.deployment, sandbox_issuer_key(), "B-CAROL")
    chain_before, ledger_before = chain_positions(client), settlement.positions()

    drain(make_worker(store, chain, batch_size=10))

    assert statuses(store) == {1: "final", 2: "failed", 3: "final"}
    failed = settlement.trade_row(2)
    assert "buyer identity not verified" in failed["settlement_error"]
    assert "B-CAROL" in failed["settlement_error"]
    assert failed["tx_hash"] == settlement.trade_row(1)["tx_hash"]  # same batch, the others settled
    [event] = settlement.events(2)
    assert event["outcome"] == "failed" and "buyer identity not verified" in event["reason"]
    assert not client.is_settled("2")
    settled = [trades[0], trades[2]]
    assert chain_positions(client) == expected_positions(chain_before, settled)
    assert settlement.positions() == expected_positions(ledger_before, settled)


def test_trade_without_a_wallet_fails_without_a_transaction(store, chain):
    from venue.model import Account

    store.add_account(Account("B-DAN", "BRKB", "Dan Doe", "US", True, kyc_status="verified"))
    insert_trades(store, [Trade(1, "ACME", "A-ALICE", "B-BOB", 1, "10.00")])
    with store.engine.begin() as conn:
        from sqlalchemy import update

        from venue.store import schema as t

        conn.execute(update(t.trades).where(t.trades.c.trade_id == 1).values(buy_account="B-DAN"))
    drain(make_worker(store, chain))
    row = SettlementStore(store).trade_row(1)
    assert row["settlement_status"] == "failed" and row["tx_hash"] is None
    assert "buyer account B-DAN has no wallet" in row["settlement_error"]


def test_confirmations_hold_trades_until_deep_enough(store, chain):
    insert_trades(store, TRADES[:2])
    worker = make_worker(store, chain, confirmations=3)
    worker.run_once()
    assert set(statuses(store).values()) == {"confirmed"}
    backend.rpc(chain.w3, "evm_mine", [])
    worker.run_once()
    assert set(statuses(store).values()) == {"confirmed"}
    for _ in range(2):
        backend.rpc(chain.w3, "evm_mine", [])
    report = worker.run_once()
    assert report.final == 2 and set(statuses(store).values()) == {"final"}
