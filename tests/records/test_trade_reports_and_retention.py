"""Trade reports (10 s late flag, modifiers, capacities, cancels of busted trades) and record
retention (Rule 303) on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import time

import pytest
from sqlalchemy import insert, select, text
from sqlalchemy.exc import IntegrityError

from venue.calendar import TradingCalendar
from venue.clock import now_us
from venue.reports import build
from venue.reports import store as rs
from venue.reports import trade_reporting as tr_
from venue.reports.retention import RETENTION_US, RetentionError, purge_records, retention_sweep
from venue.store import schema as t

S = 1_000_000
T0 = 1_795_000_000 * S  # 2026-11-18T11:06:40Z (06:06:40 in New York)
ALL_DAY = TradingCalendar()  # UTC, open all day: every trade is in regular hours
NEW_YORK = TradingCalendar(
    timezone="America/New_York", open=time(9, 30), close=time(16, 0), weekdays=frozenset(range(5))
)
NY_OPEN = T0 + (3 * 3600 + 23 * 60 + 20) * S  # 2026-11-18 09:30:00 New York


def report_trades(store, now: int, calendar: TradingCalendar = ALL_DAY) -> list[dict]:
    return tr_.report_trades(store, now, ats_id="ATS", calendar_for=lambda _symbol: calendar)


def trade(trade_id: int, executed_us: int, status: str = "pending", settled_us: int | None = None) -> dict:
    return dict(
        trade_id=trade_id,
        symbol="ACME",
        price_ticks=1000,
        price="10.00",
        qty=5,
        buy_order_id=trade_id * 2,
        sell_order_id=trade_id * 2 + 1,
        buy_account="A-1",
        sell_account="B-1",
        buy_member="BRKA",
        sell_member="BRKB",
        aggressor="1",
        executed_us=executed_us,
        settlement_status=status,
        settlement_updated_us=settled_us,
    )


def order(order_id: int, updated_us: int, status: str = "2", capacity: str | None = None) -> dict:
    return dict(
        order_id=order_id,
        comp_id="BRKA",
        member_id="BRKA",
        cl_ord_id=f"C{order_id}",
        account="A-1",
        symbol="ACME",
        side="1",
        ord_type="2",
        price_ticks=1000,
        qty=5,
        min_qty=0,
        tif="1",
        trading_day="2020-01-01",
        smp="1",
        status=status,
        leaves=0,
        cum=5,
        notional_ticks=5000,
        priority=1,
        text="",
        created_us=updated_us,
        updated_us=updated_us,
        capacity=capacity,
    )


def execution(exec_id: int, at_us: int, exec_type: str = "0", trade_id: int | None = None) -> dict:
    return dict(
        exec_id=exec_id,
        order_id=exec_id,
        comp_id="BRKA",
        cl_ord_id="C",
        exec_type=exec_type,
        ord_status="0",
        symbol="ACME",
        side="1",
        order_qty=5,
        leaves=5,
        cum=0,
        avg_px="0",
        trade_id=trade_id,
        transact_us=at_us,
    )


def gate(at_us: int) -> dict:
    return dict(at_us=at_us, comp_id="BRKA", cl_ord_id="C", symbol="ACME", side="1", outcome="pass", inputs="{}")


def bust(store, trade_id: int, at_us: int, exec_ids: tuple[int, int]) -> None:
    """The trade failed to settle and the venue sent its ExecType H reports (one per side) at `at_us`."""
    with store.engine.begin() as conn:
        conn.execute(
            t.trades.update()
            .where(t.trades.c.trade_id == trade_id)
            .values(settlement_status="failed", settlement_updated_us=at_us - 1)
        )
        conn.execute(insert(t.executions), [execution(i, at_us, "H", trade_id) for i in exec_ids])


# ---------------------------------------------------------------- trade reports: pure functions
@pytest.mark.parametrize("delay_us, late", [(10 * S - 1, False), (10 * S, False), (10 * S + 1, True), (11 * S, True)])
def test_late_means_more_than_10_seconds(delay_us, late):
    assert tr_.is_late(delay_us) is late


@pytest.mark.parametrize(
    "late, outside, expected", [(False, False, ""), (True, False, "Z"), (False, True, "T"), (True, True, "U")]
)
def test_the_modifier_of_each_case(late, outside, expected):
    assert tr_.modifier(late, outside) == expected


@pytest.mark.parametrize(
    "at_us, outside",
    [
        (NY_OPEN - 1, True),  # 09:29:59.999999
        (NY_OPEN, False),  # the open is in the session
        (NY_OPEN + (6 * 3600 + 30 * 60) * S - 1, False),  # 15:59:59.999999
        (NY_OPEN + (6 * 3600 + 30 * 60) * S, True),  # the close is not
        (NY_OPEN + 3 * 86_400 * S, True),  # a Saturday
    ],
)
def test_regular_hours_are_the_calendars_open_session(at_us, outside):
    assert tr_.outside_regular_hours(NEW_YORK, at_us) is outside


def test_a_report_and_its_cancel_field_by_field():
    row = dict(trade(7, NY_OPEN), buy_capacity="A", sell_capacity="P")
    new = tr_.trade_report(row, NY_OPEN + 10 * S, "ATS", NEW_YORK)
    assert new == {
        "trade_id": 7,
        "action": "new",
        "report_id": "T7",
        "ref_report_id": None,
        "ats_id": "ATS",
        "symbol": "ACME",
        "qty": 5,
        "price": "10.00",
        "buy_member": "BRKA",
        "sell_member": "BRKB",
        "reporting_member": "BRKB",
        "reporting_side": "S",
        "reporting_capacity": "P",
        "contra_member": "BRKA",
        "contra_side": "B",
        "contra_capacity": "A",
        "modifier": "",
        "executed_us": NY_OPEN,
        "bust_us": None,
        "reported_us": NY_OPEN + 10 * S,
        "delay_us": 10 * S,
        "late": False,
    }
    cancel = tr_.cancel_report(new, NY_OPEN + 60 * S, NY_OPEN + 71 * S)
    assert cancel == {
        **new,
        "action": "cancel",
        "report_id": "T7-C",
        "ref_report_id": "T7",
        "bust_us": NY_OPEN + 60 * S,
        "reported_us": NY_OPEN + 71 * S,
        "delay_us": 11 * S,
        "late": True,
    }


# ---------------------------------------------------------------- trade reports: in the store
def test_a_trade_reported_11_s_after_execution_is_late_and_10_s_is_not(store):
    with store.engine.begin() as conn:
        conn.execute(insert(t.trades), [trade(1, T0), trade(2, T0 + 1 * S)])
    # Reported at T0 + 11 s: trade 1 is 11 s old (late), trade 2 is 10 s old (on time).
    made = report_trades(store, T0 + 11 * S)
    assert [(r["trade_id"], r["delay_us"], r["late"], r["modifier"]) for r in made] == [
        (1, 11 * S, True, "Z"),
        (2, 10 * S, False, ""),
    ]
    assert report_trades(store, T0 + 12 * S) == [], "a trade is reported once"
    with store.engine.begin() as conn:
        conn.execute(insert(t.trades), [trade(3, T0 + 20 * S)])
    (third,) = report_trades(store, T0 + 30 * S - 1)  # 9.999999 s: on time
    assert (third["trade_id"], third["late"]) == (3, False)

    listing = build.trade_reports(store, T0 + 40 * S)
    assert [(r["trade_id"], r["late"], r["reported_us"]) for r in listing.section("reports")] == [
        (1, True, T0 + 11 * S),
        (2, False, T0 + 11 * S),
        (3, False, T0 + 30 * S - 1),
    ]
    assert listing.facts["late"] == 1
    late = build.trade_reports(store, T0 + 40 * S, late_only=True).section("reports")
    assert [r["trade_id"] for r in late] == [1]
    assert late[0]["executed_utc"] == "2026-11-18T11:06:40.000000Z"


def test_reports_carry_each_sides_capacity_and_the_hours_modifier(store):
    # T0 is 06:06:40 in New York: outside the regular session; NY_OPEN + 1 h is inside it.
    with store.engine.begin() as conn:
        conn.execute(insert(t.orders), [order(2, T0, capacity="A"), order(3, T0, capacity="P"), order(4, T0)])
        conn.execute(insert(t.trades), [trade(1, T0), trade(2, T0 + 1 * S)])
    made = report_trades(store, T0 + 11 * S, NEW_YORK)
    assert [(r["trade_id"], r["modifier"]) for r in made] == [(1, "U"), (2, "T")]  # 11 s late, 10 s on time
    # Trade 1: buy order 2 (A), sell order 3 (P); trade 2: buy order 4 (none recorded), sell order 5 (absent).
    assert [(r["reporting_capacity"], r["contra_capacity"]) for r in made] == [("P", "A"), (None, None)]
    with store.engine.begin() as conn:
        conn.execute(insert(t.trades), [trade(3, NY_OPEN + 3600 * S)])
    (regular,) = report_trades(store, NY_OPEN + 3611 * S, NEW_YORK)
    assert (regular["modifier"], regular["reporting_member"], regular["contra_member"]) == ("Z", "BRKB", "BRKA")


def test_a_busted_trade_gets_a_cancel_row_that_references_its_report(store):
    with store.engine.begin() as conn:
        conn.execute(insert(t.orders), [order(2, T0, capacity="A"), order(3, T0, capacity="G")])
        conn.execute(insert(t.trades), [trade(1, T0), trade(2, T0)])
    report_trades(store, T0 + 1 * S)
    # Trade 1 failed to settle, but the venue has not sent the bust yet: nothing to cancel yet.
    with store.engine.begin() as conn:
        conn.execute(t.trades.update().where(t.trades.c.trade_id == 1).values(settlement_status="failed"))
    assert report_trades(store, T0 + 2 * S) == []
    bust(store, 1, T0 + 60 * S, (11, 12))
    (cancel,) = report_trades(store, T0 + 65 * S)
    assert (cancel["action"], cancel["report_id"], cancel["ref_report_id"]) == ("cancel", "T1-C", "T1")
    assert (cancel["bust_us"], cancel["delay_us"], cancel["late"]) == (T0 + 60 * S, 5 * S, False)
    assert (cancel["reporting_capacity"], cancel["contra_capacity"], cancel["executed_us"]) == ("G", "A", T0)
    assert report_trades(store, T0 + 70 * S) == [], "a trade is canceled once"

    rows = build.trade_reports(store, T0 + 80 * S)
    assert [(r["report_id"], r["action"], r["reported_us"]) for r in rows.section("reports")] == [
        ("T1", "new", T0 + 1 * S),
        ("T2", "new", T0 + 1 * S),
        ("T1-C", "cancel", T0 + 65 * S),
    ]
    original = rows.section("reports")[0]
    assert (original["bust_us"], original["late"], original["settlement_status"]) == (None, False, "failed")
    assert rows.section("reports")[2]["bust_utc"] == "2026-11-18T11:07:40.000000Z"
    assert rows.facts["cancels"] == 1


def test_a_trade_busted_before_its_first_report_is_reported_then_canceled_in_one_run(store):
    with store.engine.begin() as conn:
        conn.execute(insert(t.trades), [trade(1, T0)])
    bust(store, 1, T0 + 1 * S, (11, 12))
    made = report_trades(store, T0 + 20 * S)
    assert [(r["action"], r["delay_us"], r["late"]) for r in made] == [("new", 20 * S, True), ("cancel", 19 * S, True)]


def test_a_trade_report_is_never_changed(store):
    with store.engine.begin() as conn:
        conn.execute(insert(t.trades), [trade(1, T0)])
    report_trades(store, T0 + 1 * S)
    with pytest.raises(IntegrityError, match="append-only"):
        with store.engine.begin() as conn:
            conn.execute(text("UPDATE trade_reports SET qty = 6"))
    assert [r["qty"] for r in rs.trade_report_rows(store)] == [5]


def test_two_reporters_racing_make_one_report_per_trade(store):
    with store.engine.begin() as conn:
        conn.execute(insert(t.trades), [trade(1, T0)])
    stale = rs.unreported_trades(store)  # a second reporter read the same trade before the first wrote
    report_trades(store, T0 + 1 * S)
    assert rs.insert_trade_reports(store, [tr_.trade_report(tr, T0 + 2 * S, "ATS", ALL_DAY) for tr in stale]) is False
    assert [r["reported_us"] for r in rs.trade_report_rows(store)] == [T0 + 1 * S]


# ---------------------------------------------------------------- retention
def test_the_store_has_its_retention_triggers(store):
    expected = {f"retain_{name}" for name in rs.RETAINED_TABLES}
    assert expected <= rs.retention_triggers(store)


def _aged_records(store, now: int) -> None:
    old, young = now - RETENTION_US - 86_400 * S, now - 86_400 * S
    with store.engine.begin() as conn:
        conn.execute(insert(t.orders), [order(1, old), order(2, young), order(3, old, status="0")])  # 3: still open
        conn.execute(insert(t.executions), [execution(1, old), execution(2, young)])
        # Trade 2 executed 4 years ago but settled yesterday: retention runs from its last change.
        conn.execute(insert(t.trades), [trade(1, old, "final", old), trade(2, old, "final", young), trade(3, young)])
        conn.execute(insert(t.gate_decisions), [gate(old), gate(young)])
    report_trades(store, young)


def test_purge_inside_three_years_is_refused(store):
    now = now_us()
    _aged_records(store, now)
    with pytest.raises(RetentionError, match="kept at least 1096 days"):
        purge_records(store, now - RETENTION_US + 1, now)
    with pytest.raises(RetentionError):
        purge_records(store, now, now)
    assert rs.count_older(store, now + 1)["orders"] == (3, 2), "nothing was deleted"


def test_purge_deletes_only_records_older_than_three_years(store):
    now = now_us()
    _aged_records(store, now)
    deleted = purge_records(store, now - RETENTION_US, now)
    # orders: 1 (closed, old); 3 is open, 2 is young. executions: 1. trades: 1 (2 settled yesterday).
    # gate decisions: the old one. trade reports: all three were made yesterday.
    assert deleted == {"orders": 1, "executions": 1, "trades": 1, "gate_decisions": 1, "trade_reports": 0}
    with store.engine.connect() as conn:
        assert conn.execute(select(t.orders.c.order_id).order_by(t.orders.c.order_id)).scalars().all() == [2, 3]
        assert conn.execute(select(t.trades.c.trade_id).order_by(t.trades.c.trade_id)).scalars().all() == [2, 3]


@pytest.mark.parametrize(
    "table, key",
    [("orders", "order_id"), ("executions", "exec_id"), ("trades", "trade_id"), ("trade_reports", "trade_id")],
)
def test_the_store_refuses_to_delete_a_young_row_whoever_asks(store, table, key):
    now = now_us()
    _aged_records(store, now)  # row 2 is young in every table (trade 2: settled yesterday)
    with pytest.raises(IntegrityError, match="Rule 303"):
        with store.engine.begin() as conn:
            conn.execute(text(f"DELETE FROM {table} WHERE {key} = 2"))
    if table != "trade_reports":  # every trade report was made yesterday
        with store.engine.begin() as conn:  # an old row may go
            assert conn.execute(text(f"DELETE FROM {table} WHERE {key} = 1")).rowcount == 1


def test_the_store_refuses_to_delete_a_young_gate_decision(store):
    now = now_us()
    _aged_records(store, now)
    with pytest.raises(IntegrityError, match="Rule 303"):
        with store.engine.begin() as conn:
            conn.execute(text("DELETE FROM gate_decisions"))
    assert rs.count_older(store, now + 1)["gate_decisions"] == (2, 2), "the statement deleted nothing"


def test_truncate_of_a_table_with_young_rows_is_refused_on_postgresql(store):
    if store.is_sqlite:
        pytest.skip("SQLite has no TRUNCATE (DELETE without WHERE is covered by the row trigger)")
    now = now_us()
    _aged_records(store, now)
    with pytest.raises(IntegrityError, match="TRUNCATE orders"):
        with store.engine.begin() as conn:
            conn.execute(text("TRUNCATE orders"))


def test_retention_sweep_reports_and_purges_only_when_asked(store):
    now = now_us()
    _aged_records(store, now)
    counted = {
        r["table"]: (r["rows"], r["older_than_retention"], r["purged"])
        for r in retention_sweep(store, now).section("tables")
    }
    assert counted["orders"] == (3, 1, 0) and counted["trades"] == (3, 1, 0)
    purged = {r["table"]: r["purged"] for r in retention_sweep(store, now, purge=True).section("tables")}
    assert purged == {"orders": 1, "executions": 1, "trades": 1, "gate_decisions": 1, "trade_reports": 0}
