"""A constructed history written straight into a migrated store: the fixture of the report tests.

Venue time zone America/New_York. The trading day under test is Tuesday 2026-11-24 (ISO week
2026-W48, quarter 2026Q4). What happened (prices in USD, quantities in units):

  2026-09-30 15:00  T7  ACME  50 @ 9.50    (quarter 2026Q3)
  2026-10-01 09:45  T6  BOND  20 @ 98.00   (first day of 2026Q4)
  2026-11-23 20:00  T0  ACME   5 @ 9.00    (New York Monday evening; already 11-24 in UTC)
  2026-11-24
    09:45  BRKA new order R1 refused by gate K100 (no order created)
    10:00  O1  BRKA buy  ACME 100 @ 10.00 Day       accepted
    10:05  O1  replaced -> 150 @ 10.05
    10:10  O2  BRKB sell ACME 100 @ 10.05 GTC       accepted, trades T1 100 @ 10.05 with O1
    11:00  O3  BRKB sell ACME  30 @ 10.05 Day       accepted, trades T2  30 @ 10.05 with O1
    12:00  O4  BRKA buy  BOND  10 @ 99.50 GTD 15:00 accepted
    12:30  BRKA cancel request for an unknown order refused
    13:00  status request on O1 answered (ExecType I: not an order event)
    14:00  T3  BOND   5 @ 100.00 between older orders O6/O7, busted later (settlement failed)
    15:00  O4  expired (GTD)
    15:30  O5  BRKB sell BOND  10 @ 99.50 Day       accepted
    15:45  O5  canceled by the member
    16:00  O1  expired at the close, 20 left (150 - 100 - 30)
  2026-11-30 10:00  T5  ACME   7 @ 10.20   (next week, ISO 2026-W49)
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import insert

from venue.reports import store as rs
from venue.store import schema as t
from venue.store.repository import Store

NY = ZoneInfo("America/New_York")
TZ = "America/New_York"


def at(y: int, m: int, d: int, hh: int, mm: int, ss: int = 0, us: int = 0) -> int:
    return int(datetime(y, m, d, hh, mm, ss, tzinfo=NY).timestamp()) * 1_000_000 + us


def day(hh: int, mm: int, ss: int = 0) -> int:
    """An instant of Tuesday 2026-11-24, New York."""
    return at(2026, 11, 24, hh, mm, ss)


def reference_data(store: Store) -> None:
    with store.engine.begin() as conn:
        conn.execute(
            insert(t.members),
            [
                dict(
                    member_id="BRKA",
                    name="Broker A",
                    kind="broker_dealer",
                    status="active",
                    created_us=at(2025, 1, 2, 9, 0),
                ),
                dict(
                    member_id="BRKB",
                    name="Broker B",
                    kind="broker_dealer",
                    status="active",
                    created_us=at(2026, 6, 1, 9, 0),
                ),
                dict(
                    member_id="BRKC",
                    name="Broker C",
                    kind="broker_dealer",
                    status="active",
                    created_us=at(2027, 1, 15, 9, 0),
                ),
            ],
        )
        conn.execute(
            insert(t.fix_sessions),
            [
                dict(
                    comp_id=c,
                    member_id=c,
                    role="order_entry",
                    password_hash="x",
                    cancel_on_disconnect=False,
                    created_us=0,
                )
                for c in ("BRKA", "BRKB")
            ],
        )
        conn.execute(
            insert(t.securities),
            [
                dict(
                    symbol="ACME",
                    name="Acme Corp token",
                    tick_size="0.01",
                    lot_size=1,
                    debt=False,
                    offering="reg_d_506c",
                    trading_status="open",
                    currency="USD",
                    created_us=0,
                ),
                dict(
                    symbol="BOND",
                    name="Bond token",
                    tick_size="0.01",
                    lot_size=1,
                    debt=True,
                    offering="reg_a",
                    trading_status="open",
                    currency="USD",
                    created_us=0,
                ),
            ],
        )


def _order(order_id, member, side, symbol, px, qty, tif, created, status, leaves, cum, expire=None) -> dict:
    return dict(
        order_id=order_id,
        comp_id=member,
        member_id=member,
        cl_ord_id=f"C{order_id}",
        orig_cl_ord_id=None,
        account=f"{member}-1",
        symbol=symbol,
        side=side,
        ord_type="2",
        price_ticks=px,
        qty=qty,
        min_qty=0,
        tif=tif,
        expire_at_us=expire,
        trading_day="2026-11-24",
        smp="1",
        status=status,
        leaves=leaves,
        cum=cum,
        notional_ticks=0,
        priority=order_id,
        text="",
        created_us=created,
        updated_us=created,
    )


class _Execs:
    def __init__(self) -> None:
        self.rows: list[dict] = []

    def add(
        self,
        order_id,
        comp,
        exec_type,
        status,
        symbol,
        side,
        qty,
        price,
        leaves,
        cum,
        when,
        *,
        last_qty=None,
        last_px=None,
        trade_id=None,
        text=None,
        venue_reason=None,
        cl=None,
        orig=None,
    ) -> None:
        self.rows.append(
            dict(
                exec_id=len(self.rows) + 1,
                order_id=order_id,
                comp_id=comp,
                cl_ord_id=cl or f"C{order_id}",
                orig_cl_ord_id=orig,
                exec_type=exec_type,
                ord_status=status,
                symbol=symbol,
                side=side,
                account=f"{comp}-1",
                order_qty=qty,
                price=price,
                last_qty=last_qty,
                last_px=last_px,
                leaves=leaves,
                cum=cum,
                avg_px="0",
                trade_id=trade_id,
                ord_rej_reason=None,
                venue_reason=venue_reason,
                text=text,
                transact_us=when,
            )
        )


def _trade(trade_id, symbol, price, qty, buy, sell, buy_member, sell_member, when, status="pending") -> dict:
    return dict(
        trade_id=trade_id,
        symbol=symbol,
        price_ticks=int(Decimal(price) * 100),
        price=price,
        qty=qty,
        buy_order_id=buy,
        sell_order_id=sell,
        buy_account=f"{buy_member}-1",
        sell_account=f"{sell_member}-1",
        buy_member=buy_member,
        sell_member=sell_member,
        aggressor="2",
        executed_us=when,
        settlement_status=status,
    )


def _gate(comp, cl, order_id, symbol, side, qty, price, when, outcome="pass", gate=None, text=None) -> dict:
    return dict(
        at_us=when,
        comp_id=comp,
        cl_ord_id=cl,
        order_id=order_id,
        symbol=symbol,
        account=f"{comp}-1",
        side=side,
        qty=qty,
        price=price,
        outcome=outcome,
        gate=gate,
        text=text,
        inputs='{"kyc_status": "verified"}',
    )


def write(store: Store) -> None:
    """The whole history above."""
    reference_data(store)
    orders = [
        _order(1, "BRKA", "1", "ACME", 1005, 150, "0", day(10, 0), "C", 0, 130),
        _order(2, "BRKB", "2", "ACME", 1005, 100, "1", day(10, 10), "2", 0, 100),
        _order(3, "BRKB", "2", "ACME", 1005, 30, "0", day(11, 0), "2", 0, 30),
        _order(4, "BRKA", "1", "BOND", 9950, 10, "6", day(12, 0), "C", 0, 0, expire=day(15, 0)),
        _order(5, "BRKB", "2", "BOND", 9950, 10, "0", day(15, 30), "4", 0, 0),
    ]
    orders[0]["cl_ord_id"], orders[0]["orig_cl_ord_id"] = "C1b", "C1"
    x = _Execs()
    x.add(
        None,
        "BRKA",
        "8",
        "8",
        "ACME",
        "1",
        10,
        "10.00",
        0,
        0,
        day(9, 45),
        cl="R1",
        venue_reason="K100",
        text="account KYC not verified",
    )
    x.add(1, "BRKA", "0", "0", "ACME", "1", 100, "10.00", 100, 0, day(10, 0))
    x.add(1, "BRKA", "5", "0", "ACME", "1", 150, "10.05", 150, 0, day(10, 5), cl="C1b", orig="C1")
    x.add(2, "BRKB", "0", "0", "ACME", "2", 100, "10.05", 100, 0, day(10, 10))
    x.add(
        1,
        "BRKA",
        "F",
        "1",
        "ACME",
        "1",
        150,
        "10.05",
        50,
        100,
        day(10, 10),
        last_qty=100,
        last_px="10.05",
        trade_id=1,
        cl="C1b",
    )
    x.add(
        2, "BRKB", "F", "2", "ACME", "2", 100, "10.05", 0, 100, day(10, 10), last_qty=100, last_px="10.05", trade_id=1
    )
    x.add(3, "BRKB", "0", "0", "ACME", "2", 30, "10.05", 30, 0, day(11, 0))
    x.add(
        1,
        "BRKA",
        "F",
        "1",
        "ACME",
        "1",
        150,
        "10.05",
        20,
        130,
        day(11, 0),
        last_qty=30,
        last_px="10.05",
        trade_id=2,
        cl="C1b",
    )
    x.add(3, "BRKB", "F", "2", "ACME", "2", 30, "10.05", 0, 30, day(11, 0), last_qty=30, last_px="10.05", trade_id=2)
    x.add(4, "BRKA", "0", "0", "BOND", "1", 10, "99.50", 10, 0, day(12, 0))
    x.add(1, "BRKA", "I", "1", "ACME", "1", 150, "10.05", 20, 130, day(13, 0), cl="C1b")
    x.add(4, "BRKA", "C", "C", "BOND", "1", 10, "99.50", 0, 0, day(15, 0), text="expired")
    x.add(5, "BRKB", "0", "0", "BOND", "2", 10, "99.50", 10, 0, day(15, 30))
    x.add(5, "BRKB", "4", "4", "BOND", "2", 10, "99.50", 0, 0, day(15, 45), cl="C5x", orig="C5", text="requested")
    x.add(1, "BRKA", "C", "C", "ACME", "1", 150, "10.05", 0, 130, day(16, 0), cl="C1b", text="expired")
    trades = [
        _trade(7, "ACME", "9.50", 50, 90, 91, "BRKA", "BRKB", at(2026, 9, 30, 15, 0)),
        _trade(6, "BOND", "98.00", 20, 92, 93, "BRKA", "BRKB", at(2026, 10, 1, 9, 45)),
        _trade(8, "ACME", "9.00", 5, 94, 95, "BRKB", "BRKA", at(2026, 11, 23, 20, 0)),
        _trade(1, "ACME", "10.05", 100, 1, 2, "BRKA", "BRKB", day(10, 10)),
        _trade(2, "ACME", "10.05", 30, 1, 3, "BRKA", "BRKB", day(11, 0)),
        _trade(3, "BOND", "100.00", 5, 96, 97, "BRKA", "BRKB", day(14, 0), status="failed"),
        _trade(5, "ACME", "10.20", 7, 98, 99, "BRKA", "BRKB", at(2026, 11, 30, 10, 0)),
    ]
    gates = [
        _gate("BRKA", "R1", None, "ACME", "1", "10", "10.00", day(9, 45), "reject", "K100", "account KYC not verified"),
        _gate("BRKA", "C1", 1, "ACME", "1", "100", "10.00", day(10, 0)),
        _gate("BRKB", "C2", 2, "ACME", "2", "100", "10.05", day(10, 10)),
        _gate("BRKB", "C3", 3, "ACME", "2", "30", "10.05", day(11, 0)),
        _gate("BRKA", "C4", 4, "BOND", "1", "10", "99.50", day(12, 0)),
        _gate("BRKB", "C5", 5, "BOND", "2", "10", "99.50", day(15, 30)),
    ]
    access = [
        dict(
            at_us=at(2026, 9, 30, 12, 0),
            member_id="BRKB",
            action="grant",
            scope="*",
            reason="admitted",
            standard="AS-1,AS-2,AS-3",
            actor="ops",
        ),
        dict(
            at_us=at(2026, 10, 15, 12, 0),
            member_id="BRKB",
            action="grant",
            scope="ACME",
            reason="entitled",
            standard="AS-1",
            actor="ops",
        ),
        dict(
            at_us=at(2026, 11, 2, 12, 0),
            member_id="APPL1",
            action="deny",
            scope="venue",
            reason="not a FINRA member",
            standard="AS-1",
            actor="ops",
        ),
        dict(
            at_us=at(2026, 12, 1, 12, 0),
            member_id="BRKA",
            action="limit",
            scope="venue",
            reason="kill switch",
            standard="AS-5",
            actor="ops",
        ),
        dict(
            at_us=at(2027, 1, 2, 12, 0),
            member_id="BRKA",
            action="restore",
            scope="venue",
            reason="reviewed",
            standard="AS-5",
            actor="ops",
        ),
    ]
    with store.engine.begin() as conn:
        conn.execute(insert(t.orders), orders)
        conn.execute(insert(t.executions), x.rows)
        conn.execute(insert(t.trades), trades)
        conn.execute(insert(t.gate_decisions), gates)
        conn.execute(
            insert(t.cancel_rejects),
            [
                dict(
                    id=1,
                    comp_id="BRKA",
                    order_id=None,
                    cl_ord_id="X1",
                    orig_cl_ord_id="NOPE",
                    response_to="1",
                    reason=1,
                    text="Unknown order",
                    transact_us=day(12, 30),
                )
            ],
        )
        conn.execute(insert(t.access_log), access)
    rs.set_affiliation(store, "BRKA", True, "owned by the ATS operator's parent", day(9, 0), operator="cora")


TODAY = date(2026, 11, 24)
