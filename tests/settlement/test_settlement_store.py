"""The store side of settlement on SQLite and PostgreSQL: transitions, events, holdings and lots."""

from __future__ import annotations

import itertools
import random
from decimal import Decimal

import pytest
from settle_world import OPENING_US, Trade, expected_positions, insert_trades, lots, statuses, tacked
from sqlalchemy import delete, insert

from venue.resale import buyer_lots
from venue.store import schema as t
from venue.store.settlement import Failure, Settled, SettlementStore

T0 = OPENING_US + 5_000_000


def test_final_moves_the_ledger_once_and_writes_one_event(store):
    settlement = SettlementStore(store)
    start = settlement.positions()
    trades = [Trade(1, "ACME", "A-ALICE", "B-BOB", 100, "10.25"), Trade(2, "BETA", "B-BOB", "B-CAROL", 20, "25.10")]
    insert_trades(store, trades)

    first = settlement.mark_final([Settled(1, "0x" + "aa" * 32, 7), Settled(2, "0x" + "bb" * 32, 7)], T0)
    again = settlement.mark_final([Settled(1, "0x" + "aa" * 32, 7)], T0)

    assert first == [1, 2] and again == []
    assert statuses(store) == {1: "final", 2: "final"}
    events = settlement.events()
    assert [(e["trade_id"], e["outcome"], e["block_number"], e["processed_us"]) for e in events] == [
        (1, "final", 7, None),
        (2, "final", 7, None),
    ]
    assert settlement.positions() == {k: v for k, v in expected_positions(start, trades).items()}
    assert settlement.positions()[("A-ALICE", "USD")] == Decimal("1001025.00")


def test_a_long_final_list_is_written_in_chunks_each_trade_once(store):
    """More trades than FINAL_CHUNK: several transactions, the same ledger as one, one event each."""
    from venue.store.settlement import FINAL_CHUNK

    settlement = SettlementStore(store)
    start = settlement.positions()
    n = FINAL_CHUNK * 2 + 7
    trades = [
        Trade(i, "ACME", *(("A-ALICE", "B-BOB") if i % 3 else ("B-BOB", "A-ALICE")), 1 + i % 5, "10.00")
        for i in range(1, n + 1)
    ]
    insert_trades(store, trades)
    settled = [Settled(i, "0x" + f"{i:064x}", 9) for i in range(n, 0, -1)]  # any order in, trade order out
    settled.append(Settled(5, "0x" + "ff" * 32, 9))  # a trade named twice is final once
    assert settlement.mark_final(settled, T0) == list(range(1, n + 1))
    assert set(statuses(store).values()) == {"final"}
    events = settlement.events()
    assert sorted(e["trade_id"] for e in events) == list(range(1, n + 1))
    assert settlement.positions() == expected_positions(start, trades)
    assert settlement.mark_final(settled, T0) == []
    assert settlement.positions() == expected_positions(start, trades)


def _alice_lots(store, lots_: tuple[tuple[int, int], ...]) -> None:
    """Replace A-ALICE's ACME lots with (quantity, acquired_us) lots tacking from their acquisition."""
    with store.engine.begin() as conn:
        conn.execute(delete(t.lots).where(t.lots.c.account_id == "A-ALICE", t.lots.c.symbol == "ACME"))
        conn.execute(
            insert(t.lots),
            [
                {
                    "account_id": "A-ALICE",
                    "symbol": "ACME",
                    "quantity": q,
                    "acquired_us": at,
                    "trade_id": None,
                    "tacking_us": at,
                }
                for q, at in lots_
            ],
        )


def test_seller_lots_consumed_earliest_tacking_first_and_the_buyer_tacks(store):
    settlement = SettlementStore(store)
    _alice_lots(store, ((3_000, 300), (4_000, 100), (3_000, 200)))
    executed = OPENING_US + 42
    insert_trades(store, [Trade(9, "ACME", "A-ALICE", "B-BOB", 5_000, "10.00", executed)])

    settlement.mark_final([Settled(9, "0x" + "cc" * 32, 3)], T0)

    assert lots(store, "A-ALICE", "ACME") == [(2_000, 200, None), (3_000, 300, None)]
    # Bob acquired both pieces now, from a holder: they keep Alice's tacking dates (Rule 144(d)(1))
    assert lots(store, "B-BOB", "ACME") == [(10_000, OPENING_US, None), (4_000, executed, 9), (1_000, executed, 9)]
    assert tacked(store, "B-BOB", "ACME") == [(4_000, 100), (1_000, 200), (10_000, OPENING_US)]
    assert settlement.lot_totals("ACME")[("A-ALICE", "ACME")] == 5_000
    assert settlement.positions("ACME")[("A-ALICE", "ACME")] == 5_000


@pytest.mark.parametrize("role", ["issuer", "affiliate"])
def test_a_purchase_from_the_issuer_or_an_affiliate_starts_a_new_period(store, role):
    settlement = SettlementStore(store)
    _alice_lots(store, ((3_000, 300), (4_000, 100)))
    executed = OPENING_US + 42
    insert_trades(store, [Trade(9, "ACME", "A-ALICE", "B-BOB", 5_000, "10.00", executed, seller_role=role)])

    settlement.mark_final([Settled(9, None, 3)], T0)

    assert tacked(store, "A-ALICE", "ACME") == [(2_000, 300)]
    assert tacked(store, "B-BOB", "ACME") == [(10_000, OPENING_US), (5_000, executed)]
    assert settlement.trade(9).seller_role.value == role


def test_buy_then_sell_in_one_batch_uses_the_new_lot(store):
    settlement = SettlementStore(store)
    trades = [
        Trade(1, "ACME", "B-CAROL", "A-ALICE", 1_000, "10.00"),  # Carol sells everything
        Trade(2, "ACME", "B-BOB", "B-CAROL", 300, "10.00", OPENING_US + 2),
        Trade(3, "ACME", "B-CAROL", "M-MAKER", 100, "10.00", OPENING_US + 3),
    ]
    insert_trades(store, trades)
    settlement.mark_final([Settled(i, None, 5) for i in (3, 1, 2)], T0)
    assert lots(store, "B-CAROL", "ACME") == [(200, OPENING_US + 2, 2)]
    assert settlement.positions("ACME")[("B-CAROL", "ACME")] == 200


def _lot_model(stored: dict[str, list[tuple[int, int]]], batch: list[Trade]) -> dict[str, list[tuple[int, int]]]:
    """What each account's lots must be after `batch` settles in trade-id order, (quantity,
    tacking_us) in the store's order: each sale takes the earliest tacking dates (stored lots first
    among equal dates, then added ones in the order added), and the buyer gets the pieces with their
    dates (a seller without an issuer role: the buyer tacks)."""
    books = {a: [[q, at, (0, i)] for i, (q, at) in enumerate(lots_)] for a, lots_ in stored.items()}
    added = itertools.count()
    for trade in sorted(batch, key=lambda x: x.trade_id):
        want, pieces = trade.qty, []
        for lot in sorted(books[trade.seller], key=lambda x: (x[1], x[2])):
            take = min(lot[0], want)
            if take:
                pieces.append((lot[1], take))
            lot[0] -= take
            want -= take
        for at, q in buyer_lots(pieces, trade.qty, trade.executed_us, None):
            books[trade.buyer].append([q, at, (1, next(added))])
    return {a: [(q, at) for q, at, _ in sorted(b, key=lambda x: (x[1], x[2])) if q] for a, b in books.items()}


@pytest.mark.parametrize("seed_", [1, 2, 3])
def test_sales_across_many_lots_take_the_earliest_tacking_dates_first(store, seed_):
    """An account holding far more lots than one page of reading: sales settled in batches (some
    settling out of execution order, some buying and selling in one batch, the lots bought tacking
    the seller's dates) leave exactly the lots the plain model leaves, for both sides."""
    rng = random.Random(seed_)
    settlement = SettlementStore(store)
    _alice_lots(store, tuple((rng.randint(1, 5), OPENING_US + rng.randrange(0, 60) * 1_000) for _ in range(150)))
    next_id = 1
    accounts = ("A-ALICE", "B-BOB")
    for _ in range(6):
        batch = []
        for _ in range(rng.randint(1, 12)):
            alice_sells = rng.random() < 0.7
            batch.append(
                Trade(
                    next_id,
                    "ACME",
                    "A-ALICE" if alice_sells else "B-BOB",
                    "B-BOB" if alice_sells else "A-ALICE",
                    rng.randint(1, 40),
                    "10.00",
                    OPENING_US + rng.randrange(0, 80) * 1_000,
                )
            )
            next_id += 1
        insert_trades(store, batch)
        expected = _lot_model({a: tacked(store, a, "ACME") for a in accounts}, batch)

        settlement.mark_final([Settled(tr.trade_id, None, 5) for tr in reversed(batch)], T0)

        assert {a: tacked(store, a, "ACME") for a in accounts} == expected
    assert settlement.lot_totals("ACME")[("A-ALICE", "ACME")] == sum(q for q, _ in expected["A-ALICE"])


def test_failed_changes_nothing_and_is_terminal(store):
    settlement = SettlementStore(store)
    start = settlement.positions()
    insert_trades(store, [Trade(1, "ACME", "A-ALICE", "B-CAROL", 10, "10.00")])

    assert settlement.mark_failed([Failure(1, "buyer identity not verified", "0x" + "dd" * 32, 4)], T0) == [1]
    assert settlement.mark_final([Settled(1, None, 4)], T0) == []
    assert settlement.mark_failed([Failure(1, "again")], T0) == []

    assert statuses(store) == {1: "failed"}
    assert settlement.positions() == start
    assert [(e["outcome"], e["reason"]) for e in settlement.events(1)] == [("failed", "buyer identity not verified")]
    assert settlement.trade_row(1)["settlement_error"] == "buyer identity not verified"


def test_transitions_are_guarded(store):
    settlement = SettlementStore(store)
    insert_trades(store, [Trade(i, "ACME", "A-ALICE", "B-BOB", 1, "10.00") for i in (1, 2)])
    assert settlement.mark_submitted([1, 2], "0x01", T0) == 2
    assert [tr.attempts for tr in settlement.in_flight()] == [1, 1]
    assert settlement.mark_confirmed([Settled(1, "0x01", 10)], T0) == 1
    assert settlement.return_to_pending([2], "not on chain", T0) == 1
    assert statuses(store) == {1: "confirmed", 2: "pending"}
    assert [tr.trade_id for tr in settlement.pending(10)] == [2]
    assert settlement.trade_row(2)["settlement_error"] == "not on chain"
    assert settlement.mark_final([Settled(1, "0x01", 10)], T0) == [1]
    assert settlement.return_to_pending([1], "late", T0) == 0
    assert settlement.status_counts() == {"final": 1, "pending": 1}


def test_cap_table_lists_holders_of_record(store):
    settlement = SettlementStore(store)
    insert_trades(store, [Trade(1, "ACME", "B-CAROL", "A-ALICE", 1_000, "10.00")])
    settlement.mark_final([Settled(1, None, 2)], T0)
    table = settlement.cap_table("ACME")
    assert [(h.account_id, h.quantity) for h in table.holders] == [
        ("M-MAKER", 100_000),
        ("A-ALICE", 11_000),
        ("B-BOB", 10_000),
    ]
    assert table.holder_count == 3 and table.outstanding == 121_000
    alice = table.holders[1]
    assert (alice.member_id, alice.jurisdiction, alice.accredited, alice.lots) == ("BRKA", "US", True, 2)


@pytest.mark.parametrize("missing", [0, 500])
def test_opening_lots_fill_the_gap(store, missing):
    settlement = SettlementStore(store)
    if missing:
        with store.engine.begin() as conn:
            conn.execute(delete(t.lots).where(t.lots.c.account_id == "B-BOB", t.lots.c.symbol == "BETA"))
            conn.execute(
                insert(t.lots).values(
                    account_id="B-BOB",
                    symbol="BETA",
                    quantity=5_000 - missing,
                    acquired_us=1,
                    trade_id=None,
                    tacking_us=1,
                )
            )
    assert settlement.ensure_opening_lots(["ACME", "BETA"], T0) == (1 if missing else 0)
    assert settlement.lot_totals("BETA")[("B-BOB", "BETA")] == 5_000


def test_the_venue_loads_unsettled_trades_and_the_affiliates_final_sales_of_three_months(store):
    """Rule 144(e) counts an affiliate's sales of the preceding three months: at start-up the venue
    loads the final ones with the trades still waiting (spec/compliance.md)."""
    settlement = SettlementStore(store)
    now = 1_773_100_800_000_000  # 2026-03-10 00:00 UTC: the window starts 2025-12-10 00:00
    window = 1_765_324_800_000_000
    insert_trades(
        store,
        [
            Trade(1, "ACME", "A-ALICE", "B-BOB", 10, "10.00", window, seller_role="affiliate"),  # first µs: in
            Trade(2, "ACME", "A-ALICE", "B-BOB", 20, "10.00", window - 1, seller_role="affiliate"),  # out
            Trade(3, "ACME", "B-CAROL", "B-BOB", 30, "10.00", window + 5),  # no role: not loaded once final
            Trade(4, "ACME", "A-ALICE", "B-BOB", 40, "10.00", window + 9, seller_role="affiliate"),  # pending
        ],
    )
    settlement.mark_final([Settled(i, None, 2) for i in (1, 2, 3)], T0)
    _, _, trades = store.load_positions(now)
    assert [(tr["trade_id"], tr["settlement_status"], tr["seller_role"]) for tr in trades] == [
        (1, "final", "affiliate"),
        (4, "pending", "affiliate"),
    ]
