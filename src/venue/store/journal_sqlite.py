"""The journal's hot path on SQLite: each table of a batch in one `executemany` on the driver.

SQLAlchemy's executemany builds every row's parameters through the compiled statement's bind
processors (~40% of the engine's commit time in the pipelined bench); the journal's columns are
integers and text that the driver takes as they are, so the rows (dicts) go to `sqlite3` directly,
named placeholders picking their values. Same rows, same transaction, same order as the generic
path (tests/unit/test_journal_store.py compares them).
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Table

from venue.store import schema as t
from venue.store.journal_pg import _columns


class SqliteJournal:
    """Builds (and caches) the per-table statements; `write` runs one batch on a sqlite3
    connection inside the caller's transaction."""

    def __init__(self) -> None:
        self._sql: dict[tuple, str] = {}

    def insert(self, table: Table, rows: Sequence[dict]) -> str:
        cols = _columns(table, rows)
        key = ("insert", table.name, tuple(cols))
        sql = self._sql.get(key)
        if sql is None:
            sql = f"INSERT INTO {table.name} ({', '.join(cols)}) VALUES ({', '.join(':' + c for c in cols)})"
            self._sql[key] = sql
        return sql

    def update(self, table: Table, key_column: str, cols: Sequence[str]) -> str:
        key = ("update", table.name, key_column, tuple(cols))
        sql = self._sql.get(key)
        if sql is None:
            sets = ", ".join(f"{c} = :{c}" for c in cols if c != key_column)
            sql = f"UPDATE {table.name} SET {sets} WHERE {key_column} = :{key_column}"
            self._sql[key] = sql
        return sql

    def write(self, db, batch, order_rows: dict[int, dict], updatable: Sequence[str]) -> None:
        """`db`: the sqlite3 connection; the caller writes what is left (`Store._commit_rest`) and
        commits. Rows missing a column the statement names are refused by the driver, as by the
        generic path."""
        cur = db.cursor()
        try:
            if batch.new_orders:
                rows = [order_rows[i] for i in sorted(batch.new_orders)]
                cur.executemany(self.insert(t.orders, rows), rows)
            changed = [row for i, row in order_rows.items() if i not in batch.new_orders]
            if changed:
                cur.executemany(self.update(t.orders, "order_id", ("order_id", *updatable)), changed)
            for name, rows in batch.appended():
                if rows:
                    cur.executemany(self.insert(t.metadata.tables[name], rows), rows)
            if batch.settlement_done:
                cur.executemany(self.update(t.settlement_events, "id", ("id", "processed_us")), batch.settlement_done)
            if batch.sent_exec_id is not None:
                cur.execute(
                    "INSERT INTO report_watermark (id, exec_id) VALUES (1, ?) "
                    "ON CONFLICT (id) DO UPDATE SET exec_id = excluded.exec_id",
                    (batch.sent_exec_id,),
                )
        finally:
            cur.close()
