"""Each report made from the constructed history of records_history.py and checked against totals
worked out by hand (the arithmetic is in the comments)."""

from __future__ import annotations

import csv
import json
from datetime import date, time

import pytest
from records_history import TODAY, TZ, at, day

from venue.calendar import TradingCalendar
from venue.reports import build
from venue.reports.cat import CLOCK_SYNC_FACTS
from venue.reports.periods import ats_r_due, finra_4552_due, quarter_period, week_period
from venue.reports.regulatory import ATS_R_CATEGORIES
from venue.reports.writers import write

CAL = TradingCalendar(
    timezone=TZ,
    pre_open=time(9, 0),
    open=time(9, 30),
    close=time(16, 0),
    weekdays=frozenset(range(5)),
    holidays=frozenset({date(2026, 12, 25), date(2027, 1, 1)}),
)
NOW = at(2027, 1, 5, 8, 0)


def test_order_audit_trail_lists_every_order_event_of_the_day_in_order(history):
    report = build.audit_trail(history, TODAY, TZ, NOW)
    events = report.section("events")
    # 6 gate decisions (R1 refused, O1..O5 passed) + 14 execution reports (15 journaled, less the
    # status answer at 13:00) + 1 refused cancel = 21.
    assert len(events) == 21 == report.facts["events"]
    assert [(e["event"], e["order_id"]) for e in events] == [
        ("gate_reject", None),
        ("rejected", None),
        ("gate_pass", 1),
        ("new", 1),
        ("replaced", 1),
        ("gate_pass", 2),
        ("new", 2),
        ("trade", 1),
        ("trade", 2),  # resting O1 reported before aggressor O2
        ("gate_pass", 3),
        ("new", 3),
        ("trade", 1),
        ("trade", 3),
        ("gate_pass", 4),
        ("new", 4),
        ("cancel_refused", None),
        ("expired", 4),
        ("gate_pass", 5),
        ("new", 5),
        ("canceled", 5),
        ("expired", 1),
    ]
    times = [e["event_time_us"] for e in events]
    assert times == sorted(times) and times[0] == day(9, 45) and times[-1] == day(16, 0)

    refused = events[0]
    assert (refused["member"], refused["reason_code"], refused["gate_inputs"]) == (
        "BRKA",
        "K100",
        '{"kyc_status": "verified"}',
    )
    new_o1, replaced = events[3], events[4]
    # Time received, member, account, side, type, limit price, TIF of the order; the change after.
    assert (
        new_o1["received_us"],
        new_o1["member"],
        new_o1["account"],
        new_o1["side"],
        new_o1["ord_type"],
        new_o1["limit_price"],
        new_o1["order_qty"],
        new_o1["tif"],
    ) == (day(10, 0), "BRKA", "BRKA-1", "1", "2", "10.00", 100, "0")
    assert (replaced["limit_price"], replaced["order_qty"], replaced["orig_cl_ord_id"]) == ("10.05", 150, "C1")
    gtd = events[14]
    assert (gtd["tif"], gtd["expire_at_us"]) == ("6", day(15, 0))
    assert events[-1]["event_time_utc"] == "2026-11-24T21:00:00.000000Z"  # 16:00 New York is 21:00 UTC


def test_daily_summary_totals(history):
    summary = build.audit_trail(history, TODAY, TZ, NOW).section("summary")
    # ACME: T1 100 @ 10.05 + T2 30 @ 10.05 -> 2 trades, 130 units, 1005.00 + 301.50 = 1306.50.
    # T0 (2026-11-23 20:00 New York) is on the 24th only in UTC: not this day.
    # BOND: T3 was busted -> no volume, 1 busted trade.
    assert [dict(r) for r in summary] == [
        {
            "day": "2026-11-24",
            "symbol": "ACME",
            "currency": "USD",
            "trades": 2,
            "quantity": 130,
            "dollar_value": "1306.50",
            "busted_trades": 0,
        },
        {
            "day": "2026-11-24",
            "symbol": "BOND",
            "currency": "USD",
            "trades": 0,
            "quantity": 0,
            "dollar_value": "0",
            "busted_trades": 1,
        },
    ]


def test_form_ats_r_for_the_quarter(history):
    report = build.ats_r(history, "2026Q4", TZ, NOW)
    # Q4 = 2026-10-01 .. 2026-12-31; due 30 days after 12-31 = 2027-01-30.
    assert (report.facts["first_day"], report.facts["last_day"], report.facts["due_date"]) == (
        "2026-10-01",
        "2026-12-31",
        "2027-01-30",
    )
    # Corporate Debt Securities (BOND, a debt token): T6 20 @ 98.00 = 1960.00 (T3 busted, left out).
    # Other Equity Securities (ACME): T0 5 @ 9.00 = 45.00, T1 100 @ 10.05 = 1005.00, T2 30 @ 10.05 =
    #   301.50, T5 7 @ 10.20 = 71.40 -> 4 trades, 5 + 100 + 30 + 7 = 142 units, 1422.90. T7 (09-30) is Q3.
    # Every other category of the form: zero.
    volume = [dict(r) for r in report.section("volume")]
    assert [r["category"] for r in volume] == list(ATS_R_CATEGORIES)
    assert len(volume) == 14
    by_category = {r["category"]: r for r in volume}
    assert by_category["Other Equity Securities"] == {
        "category": "Other Equity Securities",
        "units": 142,
        "dollar_volume": "1422.90",
        "trades": 4,
    }
    assert by_category["Corporate Debt Securities"] == {
        "category": "Corporate Debt Securities",
        "units": 20,
        "dollar_volume": "1960.00",
        "trades": 1,
    }
    others = [r for r in volume if r["category"] not in ("Other Equity Securities", "Corporate Debt Securities")]
    assert {(r["units"], r["dollar_volume"], r["trades"]) for r in others} == {(0, "0", 0)}
    assert report.facts["busted_trades_excluded"] == 1 and report.facts["not_usd_trades"] == 0
    assert [dict(r) for r in report.section("by_offering")] == [
        {"offering": "reg_a", "currency": "USD", "trades": 1, "units": 20, "volume": "1960.00"},
        {"offering": "reg_d_506c", "currency": "USD", "trades": 4, "units": 142, "volume": "1422.90"},
    ]
    assert [(r["symbol"], r["category"], r["units"], r["volume"]) for r in report.section("securities")] == [
        ("ACME", "Other Equity Securities", 142, "1422.90"),
        ("BOND", "Corporate Debt Securities", 20, "1960.00"),
    ]
    # BRKC was admitted in 2027: not a subscriber of 2026Q4. BRKB's affiliation is not recorded.
    assert [(s["member_id"], s["affiliated"], s["relationship"]) for s in report.section("subscribers")] == [
        ("BRKA", True, "owned by the ATS operator's parent"),
        ("BRKB", None, None),
    ]
    assert report.facts["subscribers_without_affiliation"] == 1
    # Access records of the quarter: 10-15 grant, 11-02 deny, 12-01 limit (09-30 and 2027-01-02 are outside).
    assert [(r["member"], r["action"]) for r in report.section("access")] == [
        ("BRKB", "grant"),
        ("APPL1", "deny"),
        ("BRKA", "limit"),
    ]


def test_finra_4552_weekly_volume_counts_a_cross_once(history):
    report = build.finra_4552(history, "2026-W48", CAL, NOW)
    # Week 48 = Mon 2026-11-23 .. Sun 2026-11-29 (New York). ACME: T0 5 + T1 100 + T2 30 = 135 shares in 3
    # trades (each trade is one cross of two orders: 3, not 6); BOND: only T3, busted -> no row.
    # T5 (Mon 11-30) belongs to week 49.
    assert [dict(r) for r in report.section("volume")] == [
        {
            "week": "2026-W48",
            "first_day": "2026-11-23",
            "last_day": "2026-11-29",
            "symbol": "ACME",
            "total_shares": 135,
            "trades": 3,
        }
    ]
    # 7 business days after Sun 11-29: 11-30, 12-01, 12-02, 12-03, 12-04, 12-07, 12-08.
    assert report.facts["due_date"] == "2026-12-08"


def test_finra_4552_due_date_skips_weekends_and_holidays():
    # Week 52 ends Sun 2026-12-27: 12-28, 12-29, 12-30, 12-31, (2027-01-01 holiday), 01-04, 01-05, 01-06.
    assert finra_4552_due(week_period("2026-W52", TZ), CAL) == date(2027, 1, 6)
    assert ats_r_due(quarter_period("2027Q1", TZ)) == date(2027, 4, 30)  # 03-31 + 30 days


def test_cat_export_of_the_day(history):
    report = build.cat_export(history, TODAY, TZ, NOW, ats_id="ATS")
    rows = report.section("events")
    # new: O1..O5 (5); modify: O1 (1); cancel: O4 expired, O5 canceled, O1 expired (3); trade: T1, T2, T3 (3).
    assert len(rows) == 12
    assert [(r["event_type"], r["order_id"] or r["trade_id"]) for r in rows] == [
        ("new", 1),
        ("modify", 1),
        ("new", 2),
        ("trade", 1),
        ("new", 3),
        ("trade", 2),
        ("new", 4),
        ("trade", 3),
        ("cancel", 4),
        ("new", 5),
        ("cancel", 5),
        ("cancel", 1),
    ]
    assert [r["record_seq"] for r in rows] == list(range(1, 13))
    assert {r["cat_event"] for r in rows} == {"MEOA", "MEOM", "MEOC", "MEOT"}
    first = rows[0]
    assert (
        first["event_timestamp"],
        first["received_timestamp"],
        first["member"],
        first["price"],
        first["quantity"],
    ) == ("2026-11-24T15:00:00.000000Z", "2026-11-24T15:00:00.000000Z", "BRKA", "10.00", 100)
    t1 = rows[3]
    assert (
        t1["trade_qty"],
        t1["trade_price"],
        t1["buy_order_id"],
        t1["sell_order_id"],
        t1["buy_member"],
        t1["sell_member"],
    ) == (100, "10.05", 1, 2, "BRKA", "BRKB")
    assert (rows[8]["cancel_reason"], rows[10]["cancel_reason"]) == ("expired", "requested")
    assert rows[7]["busted"] is True and t1["busted"] is False
    # No order here has a recorded OrderCapacity (the history predates it); FDIDs are the accounts.
    assert (first["fdid"], first["order_capacity"], t1["buy_fdid"], t1["sell_fdid"]) == (
        "BRKA-1",
        None,
        "BRKA-1",
        "BRKB-1",
    )
    assert report.facts["ats_id"] == "ATS"
    assert report.facts["clock_sync"] == "not recorded" and report.facts["clock_sync_readings"] == 0


def test_cat_export_carries_the_days_clock_sync_readings(history):
    from venue.reports import store as rs

    before, first, last, after = at(2026, 11, 23, 23, 0), day(0, 5), day(12, 0), at(2026, 11, 25, 0, 5)
    for at_us, synced in ((before, False), (first, True), (last, False), (after, True)):
        rs.record_clock_sync(
            history,
            {
                "at_us": at_us,
                "synchronized": synced,
                "est_error_us": 120,
                "max_error_us": 4_000,
                "offset_us": -7,
                "status": 0 if synced else 64,
                "source": "adjtimex",
            },
        )
    facts = build.cat_export(history, TODAY, TZ, NOW, ats_id="ATS").facts
    # The day's readings only (New York day): 00:05 and 12:00; the header shows the latest.
    assert {k: facts[k] for k in CLOCK_SYNC_FACTS} == {
        "clock_sync": "recorded",
        "clock_sync_readings": 2,
        "clock_sync_at_utc": "2026-11-24T17:00:00.000000Z",
        "clock_synchronized": False,
        "clock_est_error_us": 120,
        "clock_max_error_us": 4_000,
        "clock_sync_source": "adjtimex",
        "clock_unsynchronized_readings": 1,
    }


@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_writers_put_every_section_and_fact_on_disk(history, tmp_path, fmt):
    report = build.ats_r(history, "2026Q4", TZ, NOW)
    files = write(report, tmp_path / f"ats-r.{fmt}", fmt)
    if fmt == "json":
        doc = json.loads(files[0].read_text())
        assert doc["report"] == "form-ats-r" and doc["due_date"] == "2027-01-30"
        assert doc["sections"]["volume"][5]["dollar_volume"] == "1422.90"
        assert doc["sections"]["subscribers"][1]["affiliated"] is None
        return
    assert [f.name for f in files] == [
        "ats-r.csv",
        "ats-r-by_offering.csv",
        "ats-r-securities.csv",
        "ats-r-subscribers.csv",
        "ats-r-access.csv",
        "ats-r-about.csv",
    ]
    volume = list(csv.DictReader(files[0].open()))
    assert volume[5] == {
        "category": "Other Equity Securities",
        "units": "142",
        "dollar_volume": "1422.90",
        "trades": "4",
    }
    assert volume[0] == {"category": "Listed Equity Securities", "units": "0", "dollar_volume": "0", "trades": "0"}
    about = {r["key"]: r["value"] for r in csv.DictReader(files[-1].open())}
    assert about["due_date"] == "2027-01-30" and about["quarter"] == "2026Q4"


def test_periods_refuse_malformed_input():
    with pytest.raises(ValueError, match="YYYY-Www"):
        week_period("2026-47", TZ)
    assert week_period("2026-W53", TZ).last == date(2027, 1, 3)  # 2026 starts on a Thursday: 53 weeks
    with pytest.raises(ValueError, match="no week 53"):
        week_period("2027-W53", TZ)
    with pytest.raises(ValueError, match="YYYYQn"):
        quarter_period("2026Q5", TZ)
