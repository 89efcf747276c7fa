"""The journal's hot path on PostgreSQL: one batch in one pipelined transaction.

`Store.commit` on PostgreSQL writes each table of a `JournalBatch` with one statement whose rows
arrive as one JSON array (``INSERT ... SELECT ... FROM json_populate_recordset(...)``, ``UPDATE
... FROM json_populate_recordset(...)``: the table's own row type converts each value), and sends
the statements in one pipeline: one round trip for the whole batch, and one statement for the
server to plan per table instead of one per row. The rows are encoded by the C JSON encoder, the
cheapest way to hand psycopg thousands of values.
What it writes is exactly what the generic path writes (the same rows, the same transaction);
SQLite keeps the generic path, where a statement costs no round trip.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from sqlalchemy import Table

from venue.store import schema as t

_COLUMNS: dict[tuple[str, frozenset[str]], list[str]] = {}


def _columns(table: Table, rows: Sequence[dict]) -> list[str]:
    """The table's columns that the rows name, in table order (an autoincrement id left out by
    every row keeps its default). Kept per table and set of names: a batch asks for each table."""
    named: set[str] = set()
    for row in rows:
        named.update(row)
    key = (table.name, frozenset(named))
    cols = _COLUMNS.get(key)
    if cols is None:
        unknown = named.difference(table.c.keys())
        if unknown:
            raise KeyError(f"{table.name}: no column {', '.join(sorted(unknown))}")
        cols = _COLUMNS[key] = [c for c in table.c.keys() if c in named]
    return cols


# default=str: a Decimal in a text column is written as its text, as the generic path writes it
_json = json.JSONEncoder(ensure_ascii=False, check_circular=False, separators=(",", ":"), default=str).encode


class PgJournal:
    """Builds (and caches) the per-table statements; `write` runs one batch on a psycopg
    connection that is already in a transaction."""

    def __init__(self) -> None:
        self._sql: dict[tuple, str] = {}

    def insert(self, table: Table, rows: Sequence[dict]) -> tuple[str, list]:
        cols = ", ".join(_columns(table, rows))
        key = ("insert", table.name, cols)
        sql = self._sql.get(key)
        if sql is None:
            sql = (
                f"INSERT INTO {table.name} ({cols}) SELECT {cols} "
                f"FROM json_populate_recordset(NULL::{table.name}, %s::json)"
            )
            self._sql[key] = sql
        return sql, [_json(rows)]

    def update(self, table: Table, key_column: str, rows: Sequence[dict]) -> tuple[str, list]:
        """One UPDATE for many rows, each matched on `key_column`; every row sets the same columns."""
        cols = _columns(table, rows)
        key = ("update", table.name, key_column, tuple(cols))
        sql = self._sql.get(key)
        if sql is None:
            sets = ", ".join(f"{c} = v.{c}" for c in cols if c != key_column)
            sql = (
                f"UPDATE {table.name} SET {sets} FROM json_populate_recordset(NULL::{table.name}, %s::json) AS v "
                f"WHERE {table.name}.{key_column} = v.{key_column}"
            )
            self._sql[key] = sql
        return sql, [_json(rows)]

    def statements(self, batch, order_rows: dict[int, dict], updatable: Sequence[str]) -> list[tuple[str, list]]:
        """Every statement of one batch, in the generic path's order."""
        out: list[tuple[str, list]] = []
        if batch.new_orders:
            out.append(self.insert(t.orders, [order_rows[i] for i in sorted(batch.new_orders)]))
        changed = [row for i, row in order_rows.items() if i not in batch.new_orders]
        if changed:
            cols = ("order_id", *updatable)
            out.append(self.update(t.orders, "order_id", [{c: row[c] for c in cols} for row in changed]))
        for name, rows in batch.appended():
            if rows:
                out.append(self.insert(t.metadata.tables[name], rows))
        if batch.settlement_done:
            out.append(
                self.update(
                    t.settlement_events,
                    "id",
                    [{"id": d["id"], "processed_us": d["processed_us"]} for d in batch.settlement_done],
                )
            )
        if batch.sent_exec_id is not None:
            out.append(
                (
                    "INSERT INTO report_watermark (id, exec_id) VALUES (1, %s) "
                    "ON CONFLICT (id) DO UPDATE SET exec_id = excluded.exec_id",
                    [batch.sent_exec_id],
                )
            )
        return out

    def write(self, pg, batch, order_rows: dict[int, dict], updatable: Sequence[str]) -> None:
        """Send the batch's statements on `pg` (a psycopg connection) in one pipeline; the caller
        writes what is left (`Store._commit_rest`) and commits."""
        statements = self.statements(batch, order_rows, updatable)
        if not statements:
            return
        with pg.pipeline(), pg.cursor() as cur:
            for sql, params in statements:
                cur.execute(sql, params, prepare=True)
