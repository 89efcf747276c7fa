"""ClOrdIDs in the store: one row per use per UTC day, and what a restart loads (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC

from sqlalchemy import text
from test_journal_store import _order

from venue.journal import JournalBatch
from venue.orders import OrdStatus
from venue.store import Store
from venue.store.migrate import upgrade


def _used(batch: JournalBatch, cl_ord_id: str, day: str, order_id: int | None) -> None:
    batch.cl_ord_ids.append({"comp_id": "BRKA", "cl_ord_id": cl_ord_id, "day": day, "order_id": order_id})


def test_a_restart_loads_the_days_clordids_and_those_of_open_orders(store_url):
    store = Store(store_url)
    store.migrate()
    try:
        monday = JournalBatch()
        monday.order_changed(_order(1), new=True)  # GTC, open
        monday.order_changed(_order(2, status=OrdStatus.FILLED, leaves=0, cum=5), new=True)
        _used(monday, "A", "2026-11-23", 1)
        _used(monday, "B", "2026-11-23", 2)
        _used(monday, "B-cancel", "2026-11-23", None)  # a request that named no order
        store.commit(monday)
        assert store.load_cl_ord_ids("2026-11-23") == {("BRKA", "A"): 1, ("BRKA", "B"): 2, ("BRKA", "B-cancel"): None}
        assert store.load_cl_ord_ids("2026-11-24") == {("BRKA", "A"): 1}

        tuesday = JournalBatch()  # B used again on the next day: a row of its own, no key clash
        tuesday.order_changed(_order(3), new=True)
        _used(tuesday, "B", "2026-11-24", 3)
        store.commit(tuesday)
        assert store.load_cl_ord_ids("2026-11-24") == {("BRKA", "A"): 1, ("BRKA", "B"): 3}
    finally:
        store.dispose()


def test_the_migration_counts_earlier_clordids_as_used_on_its_day(store_url):
    from datetime import datetime

    store = Store(store_url)
    try:
        upgrade(store.engine, "0006")
        with store.engine.begin() as conn:
            conn.execute(text("INSERT INTO cl_ord_ids (comp_id, cl_ord_id, order_id) VALUES ('BRKA', 'OLD', 7)"))
        store.migrate()
        today = datetime.now(UTC).date().isoformat()
        with store.engine.connect() as conn:
            rows = [tuple(r) for r in conn.execute(text("SELECT comp_id, cl_ord_id, day, order_id FROM cl_ord_ids"))]
        assert rows == [("BRKA", "OLD", today, 7)]
        assert store.load_cl_ord_ids(today) == {("BRKA", "OLD"): 7}
        assert store.load_cl_ord_ids("9999-12-31") == {}  # its order 7 is not open
    finally:
        store.dispose()
