"""Settlement outcomes through the venue core: a final settlement moves balances and is reported as a
TradeCaptureReport to each side; a failed one busts the trade (150=H) and releases what it held."""

from __future__ import annotations

from decimal import Decimal

from test_phases import at, core, order

from venue.messages import ExecutionReport, SettlementEvent, SettlementReport


def _trade(c, journal: dict):
    """B-1 buys 10 ACME at 10.00 from A-1; return the trade row and fill rows as the store keeps them
    (`journal` plays the store's orders table for orders no longer in memory)."""
    c.run_timers(at(10, 0))
    c.handle(order("S1", "2", 10, "10.00"), at(10, 1))
    c.handle(order("B1", "1", 30, "10.00", "BRKB"), at(10, 2))
    batch, out = c.take()
    journal.update(batch.orders)
    (trade,) = batch.trades
    fills = tuple(e for e in batch.executions if e["exec_type"] == "F")
    return trade, fills


def test_a_final_settlement_moves_balances_once_and_reports_to_both_sides():
    journal: dict = {}
    c = core(load_order=journal.get)
    trade, fills = _trade(c, journal)
    ledger = c.ledger
    assert ledger.available_tokens("A-1", "ACME") == 1_000_000 - 10
    assert ledger.available_cash("B-1") == Decimal(1_000_000) - Decimal("100.00") - Decimal("200.00")
    event = SettlementEvent(1, trade["trade_id"], "final", "0xfeed", 42, None, trade, fills)
    c.handle(event, at(10, 3))
    batch, out = c.take()
    assert batch.settlement_done == [{"id": 1, "processed_us": at(10, 3)}]
    reports = [r for r in out if isinstance(r, SettlementReport)]
    assert sorted((r.to, r.side, r.order_id, r.tx_hash, r.block_number) for r in reports) == [
        ("BRKA", "2", str(fills[0]["order_id"] if fills[0]["side"] == "2" else fills[1]["order_id"]), "0xfeed", 42),
        ("BRKB", "1", str(fills[0]["order_id"] if fills[0]["side"] == "1" else fills[1]["order_id"]), "0xfeed", 42),
    ]
    assert all(r.copy_to == ("OPS",) for r in reports)
    assert (ledger.tokens[("A-1", "ACME")], ledger.tokens[("B-1", "ACME")]) == (999_990, 1_000_010)
    assert (ledger.cash["A-1"], ledger.cash["B-1"]) == (Decimal("1000100.00"), Decimal("999900.00"))
    assert ledger.available_cash("B-1") == Decimal("999900.00") - Decimal("200.00"), "the open buy still holds"
    # A second delivery of the same outcome (e.g. after a restart) changes nothing.
    c.handle(SettlementEvent(2, trade["trade_id"], "final", "0xfeed", 42, None, trade, fills), at(10, 4))
    assert (ledger.tokens[("A-1", "ACME")], ledger.cash["B-1"]) == (999_990, Decimal("999900.00"))


def test_a_failed_settlement_busts_the_trade_on_both_sides_and_releases_the_holds():
    journal: dict = {}
    c = core(load_order=journal.get)
    trade, fills = _trade(c, journal)
    c.handle(SettlementEvent(1, trade["trade_id"], "failed", None, None, "buyer not verified", trade, fills), at(10, 3))
    batch, out = c.take()
    busts = sorted((r for r in out if isinstance(r, ExecutionReport)), key=lambda r: r.to)
    assert [(r.to, r.exec_type, r.last_qty, r.trade_id) for r in busts] == [
        ("BRKA", "H", 10, str(trade["trade_id"])),
        ("BRKB", "H", 10, str(trade["trade_id"])),
    ]
    by_side = {f["side"]: str(f["exec_id"]) for f in fills}
    assert {r.side: r.exec_ref_id for r in busts} == by_side, "ExecRefID names the fill that is canceled"
    sell, buy = busts
    assert (sell.ord_status, sell.cum_qty, sell.leaves_qty) == ("4", 0, 0), "filled sell: done, nothing traded"
    assert (buy.ord_status, buy.cum_qty, buy.leaves_qty) == ("0", 0, 20), "open buy: back to new, leaves kept"
    assert "buyer not verified" in buy.text and buy.copy_to == ("OPS",)
    ledger = c.ledger
    assert ledger.available_tokens("A-1", "ACME") == 1_000_000
    assert ledger.available_cash("B-1") == Decimal(1_000_000) - Decimal("200.00")
    assert ledger.tokens[("B-1", "ACME")] == 1_000_000, "nothing moved"
