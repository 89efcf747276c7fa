"""The journal's write paths store the same rows.

`Store.commit` writes each table of a batch with one statement on the driver: `executemany` on
SQLite (venue.store.journal_sqlite), one bulk statement on PostgreSQL (venue.store.journal_pg).
The generic path (SQLAlchemy statements, what both replaced) is the reference. Each test commits
the same batches on all three and reads every journaled table back: the rows must be equal, value
for value, including NULLs, quotes, backslashes, non-ASCII text and 63-bit integers.
"""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from sqlalchemy import select

from venue.book.types import OrdType, SelfMatchPrevention, Side, TimeInForce
from venue.journal import JournalBatch
from venue.orders import OrderRecord, OrdStatus
from venue.store import Store
from venue.store import schema as t

BIG = 2**62 + 12345
ODD_TEXT = 'it\'s "quoted" \\ back\\slash, tab\t, newline\n, ünïcödé €, {"json": [1]}'


def _order(order_id: int, **changes) -> OrderRecord:
    rec = OrderRecord(
        order_id=order_id,
        comp_id="BRKA",
        member_id="BRKA",
        cl_ord_id=f"C{order_id}",
        account="BRKA-1",
        symbol="ACME",
        side=Side.BUY,
        ord_type=OrdType.LIMIT,
        price=1001,
        qty=5,
        tif=TimeInForce.GTC,
        trading_day="2026-11-30",
        smp=SelfMatchPrevention.CANCEL_INCOMING,
        status=OrdStatus.NEW,
        leaves=5,
        created_us=BIG,
        updated_us=BIG,
        priority=order_id,
    )
    return replace(rec, **changes)


def _execution(exec_id: int, order_id: int | None, **changes) -> dict:
    row = {
        "exec_id": exec_id,
        "order_id": order_id,
        "comp_id": "BRKA",
        "cl_ord_id": f"C{order_id}",
        "orig_cl_ord_id": None,
        "exec_type": "0",
        "ord_status": "0",
        "symbol": "ACME",
        "side": "1",
        "account": "BRKA-1",
        "order_qty": 5,
        "price": "10.01",
        "last_qty": None,
        "last_px": None,
        "leaves": 5,
        "cum": 0,
        "avg_px": "0",
        "trade_id": None,
        "ord_rej_reason": None,
        "venue_reason": None,
        "text": None,
        "transact_us": BIG,
    }
    row.update(changes)
    return row


def _first_batch() -> JournalBatch:
    b = JournalBatch()
    b.order_changed(_order(1), new=True)
    b.order_changed(
        _order(
            2,
            side=Side.SELL,
            price=None,
            ord_type=OrdType.MARKET,
            expire_at_us=None,
            orig_cl_ord_id="C0",
            text=ODD_TEXT,
        ),
        new=True,
    )
    b.order_changed(_order(3, status=OrdStatus.REJECTED, leaves=0), new=True)
    b.cl_ord_ids += [{"comp_id": "BRKA", "cl_ord_id": f"C{i}", "day": "2026-11-30", "order_id": i} for i in (1, 2, 3)]
    b.cl_ord_ids.append({"comp_id": "BRKA", "cl_ord_id": "C-unknown", "day": "2026-11-30", "order_id": None})
    b.executions += [
        _execution(10, 1),
        _execution(11, 2, text=ODD_TEXT, venue_reason="G010"),
        _execution(12, None, exec_type="8", ord_status="8", ord_rej_reason=99, price=None),
    ]
    b.gate_decisions += [
        {
            "at_us": BIG,
            "comp_id": "BRKA",
            "cl_ord_id": "C1",
            "order_id": 1,
            "symbol": "ACME",
            "account": "BRKA-1",
            "side": "1",
            "qty": "5",
            "price": "10.01",
            "outcome": "pass",
            "gate": None,
            "text": None,
            "inputs": json.dumps({"note": ODD_TEXT, "n": BIG}),
        },
        {
            "at_us": BIG,
            "comp_id": "BRKA",
            "cl_ord_id": "C-unknown",
            "order_id": None,
            "symbol": "ACME",
            "account": None,
            "side": "2",
            "qty": None,
            "price": None,
            "outcome": "reject",
            "gate": "G010",
            "text": ODD_TEXT,
            "inputs": "{}",
        },
    ]
    b.security_events.append({"symbol": "ACME", "event": "halt", "reason": ODD_TEXT, "at_us": BIG})
    b.sent_exec_id = 9
    return b


def _second_batch() -> JournalBatch:
    b = JournalBatch()
    b.order_changed(
        _order(1, status=OrdStatus.PARTIALLY_FILLED, leaves=2, cum=3, notional=3003, updated_us=BIG + 1, text=ODD_TEXT)
    )
    b.order_changed(
        _order(
            2,
            side=Side.SELL,
            price=None,
            ord_type=OrdType.MARKET,
            status=OrdStatus.FILLED,
            leaves=0,
            cum=5,
            notional=5005,
            orig_cl_ord_id=None,
            expire_at_us=BIG,
        )
    )
    b.trades.append(
        {
            "trade_id": 7,
            "symbol": "ACME",
            "price_ticks": 1001,
            "price": "10.01",
            "qty": 3,
            "buy_order_id": 1,
            "sell_order_id": 2,
            "buy_account": "BRKA-1",
            "sell_account": "BRKA-2",
            "buy_member": "BRKA",
            "sell_member": "BRKA",
            "aggressor": "2",
            "executed_us": BIG,
            "settlement_status": "pending",
        }
    )
    b.executions += [
        _execution(
            13,
            1,
            exec_type="F",
            ord_status="1",
            last_qty=3,
            last_px="10.01",
            leaves=2,
            cum=3,
            avg_px="10.01",
            trade_id=7,
        )
    ]
    b.cancel_rejects.append(
        {
            "id": 1,
            "comp_id": "BRKA",
            "order_id": None,
            "cl_ord_id": "C9",
            "orig_cl_ord_id": "C8",
            "response_to": "1",
            "reason": 1,
            "text": ODD_TEXT,
            "transact_us": BIG,
        }
    )
    b.sent_exec_id = 13
    return b


JOURNALED = (
    t.orders,
    t.cl_ord_ids,
    t.executions,
    t.trades,
    t.cancel_rejects,
    t.security_events,
    t.gate_decisions,
    t.report_watermark,
)


def _journal(store: Store) -> dict[str, list[dict]]:
    with store.engine.connect() as conn:
        return {
            table.name: [dict(r._mapping) for r in conn.execute(select(table).order_by(*table.primary_key.columns))]
            for table in JOURNALED
        }


@pytest.fixture
def stores(tmp_path, pg_url):
    """The generic path (SQLite), the SQLite hot path and the PostgreSQL hot path."""
    stores = [Store(f"sqlite:///{tmp_path / 'generic.db'}"), Store(f"sqlite:///{tmp_path / 'venue.db'}"), Store(pg_url)]
    stores[0]._bulk_journal = None
    for s in stores:
        s.migrate()
    try:
        yield stores
    finally:
        for s in stores:
            s.dispose()


def test_the_hot_paths_write_what_the_generic_path_writes(stores):
    generic, sqlite, pg = stores
    assert generic._bulk_journal is None and sqlite._bulk_journal is not None and pg._bulk_journal is not None
    for batch in (_first_batch(), _second_batch()):
        for store in stores:
            store.commit(batch)
    reference, lite, post = _journal(generic), _journal(sqlite), _journal(pg)
    assert lite == reference
    assert post == reference
    # and they hold what was written, not merely the same thing
    assert [o["status"] for o in post["orders"]] == ["1", "2", "8"]
    assert post["orders"][0]["text"] == ODD_TEXT and post["orders"][1]["expire_at_us"] == BIG
    assert post["orders"][1]["price_ticks"] is None and post["orders"][1]["orig_cl_ord_id"] is None
    assert [e["exec_id"] for e in post["executions"]] == [10, 11, 12, 13]
    assert post["executions"][1]["text"] == ODD_TEXT and post["executions"][2]["order_id"] is None
    assert json.loads(post["gate_decisions"][0]["inputs"]) == {"note": ODD_TEXT, "n": BIG}
    assert {"comp_id": "BRKA", "cl_ord_id": "C-unknown", "day": "2026-11-30", "order_id": None} in post["cl_ord_ids"]
    assert post["report_watermark"] == [{"id": 1, "exec_id": 13}]
    assert post["trades"][0]["settlement_attempts"] == 0  # server default kept
    assert post["security_events"][0]["id"] == 1


def test_a_refused_batch_leaves_nothing_on_any_path(stores):
    """A batch the database refuses (a duplicate key) is not partly written."""
    for store in stores:
        store.commit(_first_batch())
    bad = _second_batch()
    bad.executions.append(_execution(10, 1))  # exec_id 10 is already journaled
    for store in stores:
        before = _journal(store)
        with pytest.raises(Exception):  # noqa: B017 - each driver names it differently
            store.commit(bad)
        assert _journal(store) == before


def test_a_commit_waits_for_another_writer_and_gives_up_after_the_busy_timeout(tmp_path, monkeypatch):
    """SQLite: while another process's transaction (here another connection) holds the write lock,
    the journal's commit waits, commits once the lock is released, and after the busy timeout fails
    with SQLite's own error, writing nothing."""
    import sqlite3
    import threading

    from venue.store import repository

    store = Store(f"sqlite:///{tmp_path / 'venue.db'}")
    store.migrate()
    other = sqlite3.connect(tmp_path / "venue.db", isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        done = threading.Event()

        def commit() -> None:
            store.commit(_first_batch())
            done.set()

        writer = threading.Thread(target=commit)
        writer.start()
        assert not done.wait(0.3)  # held behind the other writer
        other.execute("COMMIT")
        assert done.wait(30)
        writer.join()
        assert [o["order_id"] for o in _journal(store)["orders"]] == [1, 2, 3]

        monkeypatch.setattr(repository, "BUSY_TIMEOUT_MS", 200)
        other.execute("BEGIN IMMEDIATE")
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            store.commit(_second_batch())
        other.execute("ROLLBACK")
        assert [e["exec_id"] for e in _journal(store)["executions"]] == [10, 11, 12]
        store.commit(_second_batch())  # the journal opened another connection and goes on
        assert [e["exec_id"] for e in _journal(store)["executions"]] == [10, 11, 12, 13]
        # the journal's busy timeout is 0 (it polls for the lock itself); no other user of the
        # store gets a connection without one
        for _ in range(3):
            with store.engine.connect() as conn:
                assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() > 0
    finally:
        other.close()
        store.dispose()
