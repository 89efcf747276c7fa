"""Helpers for the access tests: venue trades written through the store's journal."""

from __future__ import annotations

from datetime import UTC, datetime

from venue.journal import JournalBatch
from venue.store import Store


def at_us(text: str) -> int:
    """'2026-01-05T10:00:00' (UTC) -> microseconds since the epoch."""
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()) * 1_000_000


def write_trades(store: Store, trades: list[tuple[str, str, int]], first_id: int = 1, status: str = "final") -> None:
    """(symbol, UTC time, qty) -> committed trades between BRKA and BRKB."""
    rows = [
        {
            "trade_id": first_id + i,
            "symbol": symbol,
            "price_ticks": 1000,
            "price": "10.00",
            "qty": qty,
            "buy_order_id": 2 * (first_id + i),
            "sell_order_id": 2 * (first_id + i) + 1,
            "buy_account": "A-1",
            "sell_account": "B-1",
            "buy_member": "BRKA",
            "sell_member": "BRKB",
            "aggressor": "1",
            "executed_us": at if isinstance(at, int) else at_us(at),
            "settlement_status": status,
        }
        for i, (symbol, at, qty) in enumerate(trades)
    ]
    store.commit(JournalBatch(trades=rows))
