"""What one pass of the sequencer changed, to be journaled in one commit.

The core fills a `JournalBatch` and knows nothing of the store: rows are plain dicts keyed by column
name and `appended()` names the journal's tables; the store (`venue.store`) maps those names to its
tables and writes the batch in one transaction.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from venue.orders import OrderRecord

__all__ = ["JournalBatch"]


@dataclass(slots=True)
class JournalBatch:
    """Everything one pass of the sequencer changed, committed together."""

    orders: dict[int, OrderRecord] = field(default_factory=dict)
    new_orders: set[int] = field(default_factory=set)
    cl_ord_ids: list[dict] = field(default_factory=list)
    executions: list[dict] = field(default_factory=list)
    cancel_rejects: list[dict] = field(default_factory=list)
    trades: list[dict] = field(default_factory=list)
    security_events: list[dict] = field(default_factory=list)
    security_status: dict[str, str] = field(default_factory=dict)
    ops_done: list[dict] = field(default_factory=list)
    gate_decisions: list[dict] = field(default_factory=list)
    settlement_done: list[dict] = field(default_factory=list)
    sent_exec_id: int | None = None  # the report watermark, written with the batch

    def __bool__(self) -> bool:
        return bool(
            self.orders
            or self.cl_ord_ids
            or self.executions
            or self.cancel_rejects
            or self.trades
            or self.security_events
            or self.security_status
            or self.ops_done
            or self.gate_decisions
            or self.settlement_done
        )

    def order_changed(self, order: OrderRecord, new: bool = False) -> None:
        self.orders[order.order_id] = order
        if new:
            self.new_orders.add(order.order_id)

    def appended(self) -> list[tuple[str, list[dict]]]:
        """The append-only tables' new rows, (table name, rows), in the order every write path
        inserts them (after the orders they refer to)."""
        return [
            ("cl_ord_ids", self.cl_ord_ids),
            ("trades", self.trades),
            ("executions", self.executions),
            ("cancel_rejects", self.cancel_rejects),
            ("security_events", self.security_events),
            ("gate_decisions", self.gate_decisions),
        ]
