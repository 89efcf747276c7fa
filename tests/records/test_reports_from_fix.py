"""The regulatory report files of a trading scenario over real FIX sessions, checked field by field.

A sandbox venue (SQLite and PostgreSQL) takes orders over FIX with OrderCapacity(528): one without
it and one with a value the dictionary does not know are refused; two trades cross, the resting sell
is replaced (528 left out, then a different 528 refused) and the second trade is busted (settlement
failed). Then the real commands write the files: `venue report trades`, `venue report cat` and
`venue report ats-r`, in CSV and JSON, and every field of every row is compared with what the
members were sent.
"""

from __future__ import annotations

import csv
import json
import time
from datetime import UTC, datetime
from pathlib import Path

from venue.fix_codec import parse_utc_us
from venue.reports.periods import utc_text
from venue.reports.regulatory import ATS_R_CATEGORIES
from venue.store import Store
from venue.store.repository import sqlite_url
from venue.store.settlement import Failure, SettlementStore

S = 1_000_000


def _csv(path: Path) -> list[dict]:
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


def _cells(row: dict) -> dict:
    """A row as its CSV file writes it: null empty, booleans true/false, the rest as text."""
    return {
        k: "" if v is None else ("true" if v is True else "false" if v is False else str(v)) for k, v in row.items()
    }


def _about(path: Path) -> dict:
    return {r["key"]: r["value"] for r in _csv(path)}


def _us(msg) -> int:
    return parse_utc_us(msg[60])


def _report(venue, tmp: Path, name: str, *args: str) -> tuple[Path, dict]:
    """`venue report NAME ARGS` to NAME.csv (and its side files) and NAME.json; the JSON document."""
    venue.cli("report", name, *args, "--format", "csv", "--out", str(tmp / f"{name}.csv"))
    venue.cli("report", name, *args, "--format", "json", "--out", str(tmp / f"{name}.json"))
    return tmp / f"{name}.csv", json.loads((tmp / f"{name}.json").read_text())


def test_report_files_of_a_fix_scenario_field_by_field(venue, connect, tmp_path):
    brka, brkb = connect("BRKA"), connect("BRKB")

    # ---- OrderCapacity(528) is required, and only the dictionary's values are taken.
    brka.new_order("NOCAP", "ACME", "2", 10, "10.00", account="A-ALICE", capacity=None)
    refused = brka.exec_report("NOCAP", "8")
    assert (refused[39], refused[103], refused[20001]) == ("8", "11", "O230")
    assert refused[58].startswith("OrderCapacity(528) is required: use A agency, G proprietary")
    brka.new_order("BADCAP", "ACME", "2", 10, "10.00", account="A-ALICE", capacity="X")
    reject = brka.wait_for(lambda m: m.type == "3")
    assert (reject[371], reject[373]) == ("528", "5"), reject  # value out of range for the tag
    assert not [m for m in brka.drain(0.3) if m.type == "8"], "no order was made of it"

    # ---- Two trades; the resting sell is replaced in between.
    brka.new_order("S1", "ACME", "2", 100, "10.00", account="A-ALICE", capacity="P")
    s1_new = brka.exec_report("S1", "0")
    brkb.new_order("B1", "ACME", "1", 60, "10.05", account="B-BOB", capacity="A")
    b1_new = brkb.exec_report("B1", "0")
    b1_fill, s1_fill = brkb.exec_report("B1", "F"), brka.exec_report("S1", "F")
    assert s1_fill[880] == b1_fill[880]
    t1 = int(b1_fill[880])
    brka.replace("S1b", "S1", "ACME", "2", 150, "10.00", account="A-ALICE")  # 528 left out: kept
    s1_replaced = brka.exec_report("S1b", "5")
    brka.replace("S1c", "S1b", "ACME", "2", 160, "10.00", capacity="A")
    refused_replace = brka.wait_for(lambda m: m.type == "9" and m.get(11) == "S1c")
    assert (refused_replace[434], refused_replace[58]) == ("2", "OrderCapacity(528) cannot be changed by a replace")
    brkb.new_order("B2", "ACME", "1", 30, "10.00", account="B-BOB", capacity="R")
    b2_new = brkb.exec_report("B2", "0")
    b2_fill = brkb.exec_report("B2", "F")
    brka.exec_report("S1b", "F")
    t2 = int(b2_fill[880])

    # ---- Trade 2 cannot settle: the venue busts it (150=H to both sides).
    store = Store(venue.db_url or sqlite_url(venue.data_dir / "venue.db"))
    try:
        assert SettlementStore(store).mark_failed([Failure(t2, "test: the chain refused the transfer")]) == [t2]
    finally:
        store.dispose()
    b2_bust, s1_bust = brkb.exec_report("B2", "H", timeout=20), brka.exec_report("S1b", "H", timeout=20)
    assert b2_bust[880] == s1_bust[880] == str(t2)
    brka.cancel("S1x", "S1b", "ACME", "2")
    s1_cancel = brka.exec_report("S1x", "4")

    day = datetime.fromtimestamp(_us(s1_new) / S, tz=UTC).date()
    quarter = f"{day.year}Q{(day.month - 1) // 3 + 1}"
    # The venue's scheduler makes the reports every second; the command makes whatever is still due.
    deadline = time.monotonic() + 20
    while True:
        trades_csv, trades_doc = _report(venue, tmp_path, "trades")
        if trades_doc["cancels"] == 1 or time.monotonic() > deadline:
            break
        time.sleep(0.5)

    # ---------------------------------------------------------------- trade reports
    rows = _csv(trades_csv)
    assert [r["report_id"] for r in rows][-1] == f"T{t2}-C", "the cancel is a row of its own, after its report"
    by_id = {r["report_id"]: r for r in rows}
    assert sorted(by_id) == sorted([f"T{t1}", f"T{t2}", f"T{t2}-C"])
    by_json = {r["report_id"]: r for r in trades_doc["sections"]["reports"]}

    def trade_row(trade_id, qty, buy_capacity, fill, status) -> dict:
        reported = by_json[f"T{trade_id}"]["reported_us"]
        executed = _us(fill)
        late = reported - executed > 10 * S
        return {
            "report_id": f"T{trade_id}",
            "action": "new",
            "ref_report_id": None,
            "ats_id": "ATS",
            "trade_id": trade_id,
            "symbol": "ACME",
            "qty": qty,
            "price": "10.00",
            "reporting_member": "BRKA",  # the sell side reports
            "reporting_side": "S",
            "reporting_capacity": "P",
            "contra_member": "BRKB",
            "contra_side": "B",
            "contra_capacity": buy_capacity,
            "buy_member": "BRKB",
            "sell_member": "BRKA",
            "executed_us": executed,
            "executed_utc": utc_text(executed),
            "modifier": "Z" if late else "",  # the sandbox trades all day: always regular hours
            "bust_us": None,
            "bust_utc": None,
            "reported_us": reported,
            "reported_utc": utc_text(reported),
            "delay_us": reported - executed,
            "late": late,
            "settlement_status": status,
        }

    expected = {
        f"T{t1}": trade_row(t1, 60, "A", b1_fill, "pending"),
        f"T{t2}": trade_row(t2, 30, "R", b2_fill, "failed"),
    }
    bust_us = _us(b2_bust)
    assert _us(s1_bust) == bust_us, "both sides' busts carry the same time"
    cancel_reported = by_json[f"T{t2}-C"]["reported_us"]
    expected[f"T{t2}-C"] = {
        **expected[f"T{t2}"],
        "report_id": f"T{t2}-C",
        "action": "cancel",
        "ref_report_id": f"T{t2}",
        "bust_us": bust_us,
        "bust_utc": utc_text(bust_us),
        "reported_us": cancel_reported,
        "reported_utc": utc_text(cancel_reported),
        "delay_us": cancel_reported - bust_us,
        "late": cancel_reported - bust_us > 10 * S,
    }
    assert list(rows[0]) == list(expected[f"T{t1}"]), "the columns, in their documented order"
    for report_id, want in expected.items():
        assert by_json[report_id] == want, report_id
        assert by_id[report_id] == _cells(want), report_id
    assert expected[f"T{t2}"]["reported_us"] <= cancel_reported
    about = _about(tmp_path / "trades-about.csv")
    assert (about["report"], about["reports"], about["cancels"]) == ("trade-reports", "3", "1")

    # ---------------------------------------------------------------- CAT export
    cat_csv, cat_doc = _report(venue, tmp_path, "cat", "--day", day.isoformat())
    events = _csv(cat_csv)
    received = {e["order_id"]: e["received_timestamp"] for e in events if e["event_type"] == "new"}
    blank = dict.fromkeys(cat_doc["sections"]["events"][0])

    def order_event(seq, kind, code, msg, order, *, capacity, price, qty, leaves, orig=None, reason=None) -> dict:
        side = "2" if order in (s1_new[37],) else "1"
        return {
            **blank,
            "record_seq": seq,
            "event_type": kind,
            "cat_event": code,
            "event_timestamp": utc_text(_us(msg)),
            "event_timestamp_us": _us(msg),
            "order_id": int(order),
            "cl_ord_id": msg[11],
            "orig_cl_ord_id": orig,
            "member": "BRKA" if side == "2" else "BRKB",
            "fdid": "A-ALICE" if side == "2" else "B-BOB",
            "order_capacity": capacity,
            "symbol": "ACME",
            "side": side,
            "ord_type": "2",
            "price": price,
            "quantity": qty,
            "leaves_qty": leaves,
            "tif": "0",
            "received_timestamp": received[order],
            "cancel_reason": reason,
        }

    def trade_event(seq, kind, at_us, trade_id, qty, buy, buy_capacity, fill, busted) -> dict:
        return {
            **blank,
            "record_seq": seq,
            "event_type": kind,
            "cat_event": "MEOT",
            "event_timestamp": utc_text(at_us),
            "event_timestamp_us": at_us,
            "symbol": "ACME",
            "trade_id": trade_id,
            "trade_timestamp": utc_text(_us(fill)),
            "trade_qty": qty,
            "trade_price": "10.00",
            "buy_order_id": int(buy[37]),
            "sell_order_id": int(s1_new[37]),
            "buy_member": "BRKB",
            "sell_member": "BRKA",
            "buy_fdid": "B-BOB",
            "sell_fdid": "A-ALICE",
            "buy_capacity": buy_capacity,
            "sell_capacity": "P",
            "busted": busted,
        }

    s1, b1, b2 = s1_new[37], b1_new[37], b2_new[37]
    want_events = [
        order_event(1, "new", "MEOA", s1_new, s1, capacity="P", price="10.00", qty=100, leaves=100),
        order_event(2, "new", "MEOA", b1_new, b1, capacity="A", price="10.05", qty=60, leaves=60),
        trade_event(3, "trade", _us(b1_fill), t1, 60, b1_new, "A", b1_fill, False),
        order_event(4, "modify", "MEOM", s1_replaced, s1, capacity="P", price="10.00", qty=150, leaves=90, orig="S1"),
        order_event(5, "new", "MEOA", b2_new, b2, capacity="R", price="10.00", qty=30, leaves=30),
        trade_event(6, "trade", _us(b2_fill), t2, 30, b2_new, "R", b2_fill, True),
        trade_event(7, "trade_bust", bust_us, t2, 30, b2_new, "R", b2_fill, True),
        order_event(
            8,
            "cancel",
            "MEOC",
            s1_cancel,
            s1,
            capacity="P",
            price="10.00",
            qty=150,
            leaves=0,
            orig="S1b",
            reason=s1_cancel[58],
        ),
    ]
    assert len(events) == len(want_events) == cat_doc["events"]
    for got_json, got_csv, want in zip(cat_doc["sections"]["events"], events, want_events, strict=True):
        assert got_json == want, want["record_seq"]
        assert got_csv == _cells(want), want["record_seq"]
    for e in events:
        if e["received_timestamp"]:
            assert e["received_timestamp"] <= e["event_timestamp"]
    cat_about = _about(tmp_path / "cat-about.csv")
    assert (cat_about["report"], cat_about["day"], cat_about["ats_id"]) == ("cat-order-events", day.isoformat(), "ATS")
    # The venue recorded its clock's state when it started (the daily reading is at 00:05).
    assert cat_doc["clock_sync"] == "recorded" and cat_doc["clock_sync_readings"] >= 1
    assert cat_doc["clock_sync_source"] == "adjtimex" and isinstance(cat_doc["clock_synchronized"], bool)
    assert cat_doc["clock_max_error_us"] >= cat_doc["clock_est_error_us"] >= 0
    assert cat_doc["clock_sync_at_utc"].startswith(day.isoformat())
    assert cat_about["clock_sync"] == "recorded" and cat_about["clock_sync_source"] == "adjtimex"

    # ---------------------------------------------------------------- Form ATS-R
    ats_csv, ats_doc = _report(venue, tmp_path, "ats-r", "--quarter", quarter)
    volume = _csv(ats_csv)
    want_volume = [
        {"category": c, "units": 0, "dollar_volume": "0", "trades": 0}
        if c != "Other Equity Securities"
        else {"category": c, "units": 60, "dollar_volume": "600.00", "trades": 1}  # T2 was busted
        for c in ATS_R_CATEGORIES
    ]
    assert ats_doc["sections"]["volume"] == want_volume
    assert volume == [_cells(r) for r in want_volume]
    assert _csv(tmp_path / "ats-r-by_offering.csv") == [
        {"offering": "reg_d_506c", "currency": "USD", "trades": "1", "units": "60", "volume": "600.00"}
    ]
    (acme,) = _csv(tmp_path / "ats-r-securities.csv")
    assert {k: acme[k] for k in ("symbol", "category", "offering", "currency", "trades", "units", "volume")} == {
        "symbol": "ACME",
        "category": "Other Equity Securities",
        "offering": "reg_d_506c",
        "currency": "USD",
        "trades": "1",
        "units": "60",
        "volume": "600.00",
    }
    ats_about = _about(tmp_path / "ats-r-about.csv")
    assert (ats_about["quarter"], ats_about["busted_trades_excluded"], ats_about["not_usd_trades"]) == (
        quarter,
        "1",
        "0",
    )
    assert ats_about["dollar_volume_currency"] == "USD"
