"""A settlement dropped from the chain by a reorganisation is noticed and settled again, once.

The chain is rolled back with `evm_revert` to a snapshot taken before the settlement transaction
(anvil and the embedded node both answer it): to the worker this is a reorg that dropped the block
holding the trade's settlement, and new blocks then grow on the other branch. The worker must see,
before calling the trade final, that the chain no longer says it settled; send it back to pending
with the reason; settle it again; and the DvP contract must have moved each leg exactly once."""

from __future__ import annotations

import pytest
from settle_world import Trade, chain_positions, drain, expected_positions, insert_trades, make_worker, statuses

from venue.chain import backend
from venue.store.settlement import SettlementStore

pytestmark = pytest.mark.chain

TRADES = [Trade(1, "ACME", "A-ALICE", "B-BOB", 100, "10.25"), Trade(2, "BETA", "B-BOB", "B-CAROL", 20, "25.10")]


def test_a_settlement_dropped_by_a_reorg_is_sent_again_and_settles_once(store, chain):
    client = chain.client()
    settlement = SettlementStore(store)
    before = chain_positions(client)
    trades = TRADES
    insert_trades(store, trades)
    fork = backend.rpc(chain.w3, "evm_snapshot", [])
    worker = make_worker(store, chain, confirmations=3)
    worker.run_once()
    assert set(statuses(store).values()) == {"confirmed"}
    first_blocks = {tr.trade_id: client.settled_in_block(str(tr.trade_id)) for tr in trades}
    assert None not in first_blocks.values()

    assert backend.rpc(chain.w3, "evm_revert", [fork]) is True  # the reorg: those blocks are gone
    for _ in range(5):  # the other branch grows past the trades' old blocks + 3 confirmations
        backend.rpc(chain.w3, "evm_mine", [])
    assert all(client.settled_in_block(str(tr.trade_id)) is None for tr in trades)
    report = worker.run_once()
    assert report.returned == len(trades) and set(statuses(store).values()) == {"pending"}
    for tr in trades:
        note = settlement.trade_row(tr.trade_id)["settlement_error"]
        assert note == "dropped from the chain by a reorganisation; re-sent"
    drain(worker)
    for _ in range(3):
        backend.rpc(chain.w3, "evm_mine", [])
    drain(worker)
    assert set(statuses(store).values()) == {"final"}
    assert chain_positions(client) == expected_positions(before, trades), "each leg moved exactly once"
    assert [e["outcome"] for e in settlement.events()] == ["final"] * len(trades), "final once, after the reorg"
