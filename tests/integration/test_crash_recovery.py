"""SIGKILL the venue while orders stream in; restart; check against what the members received."""

from __future__ import annotations

import threading
import time

from fixclient import FixClient
from sqlalchemy import select

from venue.store import Store, schema
from venue.store.repository import sqlite_url


def _store_of(venue) -> Store:
    return Store(venue.db_url or sqlite_url(venue.data_dir / "venue.db"))


def _collect(client: FixClient, acks: dict, fills: dict, last_seq: list) -> None:
    """Read until the connection dies; keep acks (ClOrdID -> OrderID) and fills (ExecID -> msg)."""
    try:
        while True:
            client._read(0.5)
    except (ConnectionError, OSError):
        pass
    for m in client.received:
        if 34 in m:
            last_seq[0] = max(last_seq[0], int(m[34]))
        if m.type == "8" and m.get(150) == "0":
            acks[m[11]] = m[37]
        elif m.type == "8" and m.get(150) == "F":
            fills[m[17]] = m


def test_sigkill_under_load_loses_no_acked_order_and_duplicates_no_fill(venue):
    brka, brkb = FixClient(venue.port, "BRKA"), FixClient(venue.port, "BRKB")
    assert brka.logon().type == "A" and brkb.logon().type == "A"
    n = 800  # 800 x 10 ACME: within A-ALICE's 10,000; streaming outlasts the kill
    a_raw = [
        brka.encode(
            "D",
            [
                (11, f"A{i}"),
                (55, "ACME"),
                (54, "2"),
                (60, "20260101-00:00:00"),
                (38, "10"),
                (40, "2"),
                (44, "12.00" if i % 4 == 0 else "10.00"),
                (59, "1"),
                (1, "A-ALICE"),
                (528, "A"),
            ],
            seq=brka.out_seq + i,
        )
        for i in range(n)
    ]
    b_raw = [
        brkb.encode(
            "D",
            [
                (11, f"B{i}"),
                (55, "ACME"),
                (54, "1"),
                (60, "20260101-00:00:00"),
                (38, "5"),
                (40, "2"),
                (44, "10.00"),
                (59, "0"),
                (1, "B-BOB"),
                (528, "A"),
            ],
            seq=brkb.out_seq + i,
        )
        for i in range(n)
    ]
    brka.out_seq += n
    brkb.out_seq += n

    def stream() -> None:
        for ra, rb in zip(a_raw, b_raw, strict=False):
            try:
                brka.send_raw(ra)
                brkb.send_raw(rb)
            except OSError:
                return
            time.sleep(0.0005)

    sender = threading.Thread(target=stream)
    sender.start()
    time.sleep(0.3)
    venue.kill()
    sender.join()
    acks_a, acks_b, fills_a, fills_b = {}, {}, {}, {}
    seq_a, seq_b = [0], [0]
    _collect(brka, acks_a, fills_a, seq_a)
    _collect(brkb, acks_b, fills_b, seq_b)
    assert acks_a and acks_b, "some orders were acknowledged before the kill"
    assert len(acks_a) < n or len(acks_b) < n, "the kill landed while orders were still streaming"

    venue.restart()
    store = _store_of(venue)
    try:
        orders = {(o.comp_id, o.cl_ord_id): o for o in store.orders(status=None, limit=10_000)}
        trades = store.trades("ACME")
    finally:
        store.dispose()
    # Every acknowledged order is in the store under the OrderID the member was given.
    for comp, acks in (("BRKA", acks_a), ("BRKB", acks_b)):
        for cl, order_id in acks.items():
            assert (comp, cl) in orders, f"acked order {comp}/{cl} lost"
            assert str(orders[(comp, cl)].order_id) == order_id
    # Every fill a member saw is a journaled trade, and the journal holds each trade once.
    trade_ids = {t["trade_id"] for t in trades}
    assert len(trade_ids) == len(trades)
    for fills in (fills_a, fills_b):
        for f in fills.values():
            assert int(f[880]) in trade_ids
    # Quantities agree: each order's CumQty is the sum of its trades, leaves + cum = qty.
    by_order: dict[int, int] = {}
    for t in trades:
        by_order[t["buy_order_id"]] = by_order.get(t["buy_order_id"], 0) + t["qty"]
        by_order[t["sell_order_id"]] = by_order.get(t["sell_order_id"], 0) + t["qty"]
    for o in orders.values():
        assert o.cum == by_order.get(o.order_id, 0), o
        if o.status.is_open:
            assert o.leaves + o.cum == o.qty, o

    # Sessions continue their sequence numbers; resting GTC orders still match.
    brka2 = FixClient(venue.port, "BRKA", seq=brka.out_seq)
    brkb2 = FixClient(venue.port, "BRKB", seq=brkb.out_seq)
    logon_a, logon_b = brka2.logon(), brkb2.logon()
    assert logon_a.type == "A" and int(logon_a[34]) > seq_a[0]
    assert logon_b.type == "A" and int(logon_b[34]) > seq_b[0]
    # Every execution the venue journaled reaches its member: what arrived before the kill, plus
    # what the venue resends (reports committed but not sent before the kill are sent again at
    # start-up, flagged PossResend, into the session's FIX store).
    store = _store_of(venue)
    try:
        with store.engine.connect() as conn:
            journaled = {
                (r.comp_id, str(r.exec_id))
                for r in conn.execute(select(schema.executions.c.comp_id, schema.executions.c.exec_id))
            }
    finally:
        store.dispose()
    for comp, before, after, last in (("BRKA", brka, brka2, seq_a[0]), ("BRKB", brkb, brkb2, seq_b[0])):
        after.send("2", [(7, str(last + 1)), (16, "0")])
        resent = after.drain(2.0)
        for m in resent:
            m["_used"] = "1"  # consumed here: the fills below are new ones
        got = {m[17] for m in resent if m.type == "8"}
        seen = {m[17] for m in before.received if m.type == "8"} | got
        missing = {e for c, e in journaled if c == comp} - seen
        assert not missing, f"{comp}: journaled executions never delivered: {sorted(missing, key=int)[:10]}"
    resting = sorted(
        (o for o in orders.values() if o.side.value == "2" and o.status.is_open), key=lambda o: (o.price, o.priority)
    )
    assert resting, "sell orders acknowledged before the kill rest in the book"
    best = resting[0]
    brkb2.new_order("AFTER", "ACME", "1", 1, "12.00", account="B-BOB", tif="3")
    fill = brkb2.exec_report("AFTER", "F")
    assert fill[31] == f"{best.price / 100:.2f}"
    assert brka2.exec_report(exec_type="F")[37] == str(best.order_id), "time priority survived the restart"
    brka2.logout()
    brkb2.logout()
