"""Requests that race the matching engine inside one sequencer batch (before its commit)."""

from __future__ import annotations

from dataclasses import replace

from test_phases import at, core, order

from venue.messages import CancelCommand, ExecutionReport, OrderCancelReject, ReplaceCommand


def test_a_cancel_of_an_order_a_fill_closed_earlier_in_the_same_batch_is_too_late():
    committed: dict = {}  # the store: what the last commit holds
    c = core(load_order=lambda oid: replace(committed[oid]) if oid in committed else None)
    c.run_timers(at(10, 0))
    c.handle(order("R1", "1", 2, "10.00", "BRKB"), at(10, 1))
    batch, _ = c.take()
    committed.update({oid: replace(rec) for oid, rec in batch.orders.items()})  # R1 open in the store
    c.handle(order("S1", "2", 2, "10.00"), at(10, 2))  # fills R1: closed in memory, not yet committed
    c.handle(CancelCommand("BRKB", "C1", "R1", None, "ACME", "1"), at(10, 3))
    c.handle(ReplaceCommand("BRKB", "C2", "R1", None, "ACME", "1", "2", None, None, None, None), at(10, 3))
    _, out = c.take()
    rejects = [r for r in out if isinstance(r, OrderCancelReject)]
    assert [(r.cl_ord_id, r.reason, r.ord_status) for r in rejects] == [("C1", 0, "2"), ("C2", 0, "2")]
    assert all("filled" in r.text for r in rejects)
    assert not [r for r in out if isinstance(r, ExecutionReport) and r.exec_type == "8"], "no internal error"
    assert c.securities["ACME"].trading_status.value == "open"


def test_an_order_id_beyond_64_bits_is_an_unknown_order_not_an_internal_error():
    c = core(load_order=lambda oid: (_ for _ in ()).throw(OverflowError("the store cannot look it up")))
    c.run_timers(at(10, 0))
    c.handle(CancelCommand("BRKB", "C1", None, str(2**63), "ACME", "1"), at(10, 1))
    _, out = c.take()
    (reject,) = [r for r in out if isinstance(r, OrderCancelReject)]
    assert (reject.reason, reject.text) == (1, "Unknown order")
