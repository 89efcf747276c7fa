"""Reconciliation while trades settle: the chain read at one block and the ledger in one snapshot, so
a trade that settles or becomes final during a reconciliation is not a break, and a real one still is.

A soak at 300 orders/s had the scheduled reconciliation report 6 breaks each run: it read the
holdings, then the unsettled trades, then every balance at the chain's head, while the worker went
on settling between those reads."""

from __future__ import annotations

from settle_world import Trade, drain, insert_trades, make_worker, statuses
from sqlalchemy import update

from venue.chain import backend
from venue.chain.service import reconcile
from venue.store import schema as t
from venue.store.settlement import SettlementStore

LEGS = [("A-ALICE", "B-BOB"), ("B-BOB", "M-MAKER"), ("M-MAKER", "A-ALICE")]


def trades(first: int, n: int) -> list[Trade]:
    return [Trade(i, "ACME", *LEGS[i % 3], 1 + i % 4, "10.00") for i in range(first, first + n)]


def test_trades_final_after_the_reconciled_block_are_not_breaks_and_a_real_break_still_is(store, chain):
    client = chain.client()
    worker = make_worker(store, chain, batch_size=3)
    insert_trades(store, trades(1, 6))
    drain(worker)
    block = int(backend.rpc(chain.w3, "eth_blockNumber"), 16)  # the chain as a reconciliation starting now sees it

    insert_trades(store, trades(7, 6))  # settled and final while that reconciliation runs
    drain(worker)
    assert set(statuses(store).values()) == {"final"}
    assert int(backend.rpc(chain.w3, "eth_blockNumber"), 16) > block

    at_block = reconcile(store, client, block=block)
    assert at_block.breaks == [], "final in the ledger, settled after the block read: taken out again"
    assert reconcile(store, client).breaks == []

    insert_trades(store, trades(13, 3))  # still pending in the ledger, not on chain: counted neither side
    assert reconcile(store, client, block=block).breaks == []

    alice = SettlementStore(store).positions("ACME")[("A-ALICE", "ACME")]
    with store.engine.begin() as conn:  # the ledger is wrong: one token too many for Alice
        conn.execute(
            update(t.holdings)
            .where(t.holdings.c.account_id == "A-ALICE", t.holdings.c.asset == "ACME")
            .values(quantity=str(alice + 1))
        )
    found = {(b.kind, b.asset, b.account_id) for b in reconcile(store, client, block=block).breaks}
    assert ("balance", "ACME", "A-ALICE") in found and ("lots", "ACME", "A-ALICE") in found


def test_a_trade_settled_before_the_worker_recorded_sending_it_is_not_a_break(store, chain):
    """A node that mines on arrival settles a batch before the worker records the send
    (mark_submitted after the node accepted it): a reconciliation in between saw the trades settled on
    chain, pending with no attempt in the ledger, and reported breaks."""
    client = chain.client()
    worker = make_worker(store, chain, batch_size=3)
    insert_trades(store, trades(1, 3))
    pending = SettlementStore(store).pending(10)
    # The worker's own send, without its record of it: the window between the two.
    results = client.settle_batch([worker._instruction(trade) for trade in pending], batch_size=3)
    assert all(r.status.value == "settled" for r in results), results
    assert set(statuses(store).values()) == {"pending"}

    assert reconcile(store, client).breaks == []
    drain(worker)  # the worker's next step finds them settled already
    assert set(statuses(store).values()) == {"final"}
    assert reconcile(store, client).breaks == []
