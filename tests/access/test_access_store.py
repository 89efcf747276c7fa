"""Entitlements, the access log, market volume and the read log in the store (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import pytest
from accesstest import at_us, write_trades
from sqlalchemy import text

from venue.access import entitled
from venue.clock import now_us
from venue.fair_access import DailyVolume
from venue.model import MemberStatus, Offering, Security
from venue.store import Store, StoreError
from venue.store import access as sa
from venue.store.migrate import upgrade

ADMISSION = "AS-1,AS-2,AS-3"


@pytest.fixture
def store(store_url):
    s = Store(store_url)
    s.migrate()
    for symbol in ("ACME", "BETA"):
        s.add_security(Security(symbol, symbol.title(), Decimal("0.01"), 1, Offering.REGISTERED))
    yield s
    s.dispose()


def log_lines(store, member=None):
    return [(r.member_id, r.action.value, r.scope, r.standard, r.reason, r.actor) for r in sa.access_log(store, member)]


def test_admission_suspension_and_restoration_are_recorded(store):
    sa.admit_member(store, "BRKX", "Broker X", "broker_dealer", "meets the written access standards", ADMISSION, "ops1")
    assert store.load_world().members["BRKX"].status is MemberStatus.ACTIVE
    assert sa.load_entitlements(store) == {"BRKX": frozenset({"*"})}
    with pytest.raises(StoreError, match="member BRKX already exists"):
        sa.admit_member(store, "BRKX", "Broker X", "broker_dealer", "again", ADMISSION, "ops1")
    with pytest.raises(StoreError, match="needs a reason"):
        sa.limit_member(store, "BRKX", "  ", "AS-4", "ops1")
    assert store.load_world().members["BRKX"].status is MemberStatus.ACTIVE, "no limit without its record"
    sa.limit_member(store, "BRKX", "net capital deficiency notice", "AS-4", "ops1")
    assert store.load_world().members["BRKX"].status is MemberStatus.SUSPENDED
    with pytest.raises(StoreError, match="member BRKX is already suspended"):
        sa.limit_member(store, "BRKX", "again", "AS-4", "ops1")
    with pytest.raises(StoreError, match="no member NOPE"):
        sa.restore_member(store, "NOPE", "x", "AS-4", "ops1")
    sa.restore_member(store, "BRKX", "deficiency cured", "AS-4", "ops2")
    assert store.load_world().members["BRKX"].status is MemberStatus.ACTIVE
    assert log_lines(store) == [
        ("BRKX", "grant", "venue", ADMISSION, "meets the written access standards", "ops1"),
        ("BRKX", "grant", "*", ADMISSION, "meets the written access standards", "ops1"),
        ("BRKX", "limit", "venue", "AS-4", "net capital deficiency notice", "ops1"),
        ("BRKX", "restore", "venue", "AS-4", "deficiency cured", "ops2"),
    ]


def test_entitlements_grant_and_revoke(store):
    sa.admit_member(store, "BRKX", "Broker X", "broker_dealer", "admitted", ADMISSION, "ops")
    sa.admit_member(store, "BRKY", "Broker Y", "broker_dealer", "admitted", ADMISSION, "ops")
    with pytest.raises(StoreError, match=r"already entitled to every security \(\*\)"):
        sa.grant_entitlement(store, "BRKX", "ACME", "x", ADMISSION, "ops")
    with pytest.raises(StoreError, match=r"entitled to every security \(\*\): revoke \*"):
        sa.revoke_entitlement(store, "BRKX", "ACME", "x", "AS-6", "ops")
    sa.revoke_entitlement(store, "BRKX", "*", "member asked to trade ACME only", "AS-6", "ops")
    assert "BRKX" not in sa.load_entitlements(store), "no entitlement left: no access at all"
    before = sa.last_access_id(store)
    sa.grant_entitlement(store, "BRKX", "ACME", "member asked to trade ACME only", ADMISSION, "ops")
    assert sa.last_access_id(store) == before + 1
    held = sa.load_entitlements(store)
    assert held == {"BRKX": frozenset({"ACME"}), "BRKY": frozenset({"*"})}
    assert entitled(held, "BRKX", "ACME") and not entitled(held, "BRKX", "BETA") and entitled(held, "BRKY", "BETA")
    with pytest.raises(StoreError, match="BRKX is already entitled to ACME"):
        sa.grant_entitlement(store, "BRKX", "ACME", "x", ADMISSION, "ops")
    with pytest.raises(StoreError, match="unknown symbol ZZZ"):
        sa.grant_entitlement(store, "BRKX", "ZZZ", "x", ADMISSION, "ops")
    with pytest.raises(StoreError, match="no member NOPE"):
        sa.grant_entitlement(store, "NOPE", "ACME", "x", ADMISSION, "ops")
    with pytest.raises(StoreError, match="BRKX is not entitled to BETA"):
        sa.revoke_entitlement(store, "BRKX", "BETA", "x", "AS-6", "ops")
    assert [line[:3] for line in log_lines(store, "BRKX")] == [
        ("BRKX", "grant", "venue"),
        ("BRKX", "grant", "*"),
        ("BRKX", "revoke", "*"),
        ("BRKX", "grant", "ACME"),
    ]


def test_record_access_checks_what_it_records(store):
    record = sa.record_access(store, "BRKA", "limit", "ACME", "kill switch: erroneous order burst", "AS-5", "venue")
    assert [r.id for r in sa.access_log(store)] == [record]
    assert sa.record_access(store, "APPLICANT-1", "deny", "venue", "not a FINRA member", "AS-1", "ops") > record
    with pytest.raises(StoreError, match="unknown access action 'ban'"):
        sa.record_access(store, "BRKA", "ban", "venue", "x", "AS-4", "ops")
    with pytest.raises(StoreError, match="needs the standard applied"):
        sa.record_access(store, "BRKA", "limit", "venue", "x", "", "ops")
    assert len(sa.access_log(store)) == 2


def test_market_volume_import_replaces_days_in_one_transaction(store):
    rows = [
        DailyVolume("ACME", date(2026, 1, 5), 1000),
        DailyVolume("ACME", date(2026, 1, 6), 0),
        DailyVolume("BETA", date(2026, 1, 5), 7),
    ]
    assert sa.import_market_volume(store, rows, operator="cora") == (3, 0)
    assert sa.import_market_volume(
        store, [DailyVolume("ACME", date(2026, 1, 5), 1200), DailyVolume("ACME", date(2026, 2, 2), 5)], operator="cora"
    ) == (2, 1)
    assert sa.market_daily_volume(store) == {
        "ACME": {date(2026, 1, 5): 1200, date(2026, 1, 6): 0, date(2026, 2, 2): 5},
        "BETA": {date(2026, 1, 5): 7},
    }
    assert sa.market_daily_volume(store, "BETA") == {"BETA": {date(2026, 1, 5): 7}}
    imports = [(c["operator"], c["entity"], c["key"], json.loads(c["after"])) for c in store.registry_changes()]
    assert imports == [
        ("cora", "market_volume", "ACME,BETA", {"days": 3, "replaced": 0, "from": "2026-01-05", "to": "2026-01-06"}),
        ("cora", "market_volume", "ACME", {"days": 2, "replaced": 1, "from": "2026-01-05", "to": "2026-02-02"}),
    ]


def test_venue_volume_per_utc_day_counts_each_cross_once_and_not_busted_trades(store):
    write_trades(
        store,
        [
            ("ACME", "2026-01-05T23:59:59", 10),
            ("ACME", at_us("2026-01-06T00:00:00") - 1, 5),
            ("ACME", "2026-01-06T00:00:00", 7),
            ("BETA", "2026-01-06T12:00:00", 3),
        ],
    )
    write_trades(store, [("ACME", "2026-01-06T13:00:00", 1000)], first_id=10, status="failed")
    assert sa.venue_daily_volume(store) == {
        "ACME": {date(2026, 1, 5): 15, date(2026, 1, 6): 7},
        "BETA": {date(2026, 1, 6): 3},
    }
    assert sa.venue_daily_volume(store, "BETA") == {"BETA": {date(2026, 1, 6): 3}}


def test_reads_are_recorded_with_the_operator_and_the_reason_and_not_without_one(store):
    first = sa.record_data_access(store, "otto", "orders", "member=* status=open", "  FINRA   inquiry 77 ")
    sa.record_data_access(store, "cora", "access log", "member=BRKA", "surveillance alert 12")
    assert [(r["id"], r["actor"], r["command"], r["scope"], r["reason"]) for r in sa.data_access_log(store)] == [
        (first, "otto", "orders", "member=* status=open", "FINRA inquiry 77"),
        (first + 1, "cora", "access log", "member=BRKA", "surveillance alert 12"),
    ]
    assert [r["actor"] for r in sa.data_access_log(store, actor="cora")] == ["cora"]
    assert sa.data_access_log(store, since_us=now_us() + 60_000_000) == []
    for reason in ("", "   ", None):
        with pytest.raises(StoreError, match="needs a reason"):
            sa.record_data_access(store, "otto", "orders", "member=*", reason)
    assert len(sa.data_access_log(store)) == 2


def test_migration_keeps_the_access_of_existing_members(store_url):
    store = Store(store_url)
    upgrade(store.engine, "0002")
    with store.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO members (member_id, name, kind, status, created_us) "
                "VALUES ('OLD1', 'Old Broker', 'broker_dealer', 'active', 1)"
            )
        )
    store.migrate()
    assert sa.load_entitlements(store) == {"OLD1": frozenset({"*"})}
    assert log_lines(store) == [
        ("OLD1", "grant", "*", ADMISSION, "admitted before entitlements were recorded", "migration 0003_access")
    ]
    store.dispose()


def test_the_monthly_assessment_writes_each_securitys_share_and_next_months_regime(store, tmp_path):
    from venue import fair_access as fa
    from venue.reports.fair_access import monthly_assessment

    # ACME: 5% of market volume (50 of 1,000 a day) on one day a month, May to August 2026: four of
    # the six months before September qualify, so September is under the regime. BETA: 4.9%.
    months = ["2026-05-04", "2026-06-01", "2026-07-01", "2026-08-03"]
    write_trades(
        store, [("ACME", f"{d}T15:00:00", 50) for d in months] + [("BETA", f"{d}T15:00:00", 49) for d in months]
    )
    sa.import_market_volume(
        store,
        [DailyVolume(sym, date.fromisoformat(d), 1000) for d in months for sym in ("ACME", "BETA")],
        operator="cora",
    )
    path = monthly_assessment(store, fa.Month.parse("2026-08"), tmp_path / "reports")
    rows = {r["symbol"]: r for r in json.loads(path.read_text())}
    assert (rows["ACME"]["share"], rows["ACME"]["qualifies"], rows["ACME"]["regime_next_month"]) == ("0.05", True, True)
    assert rows["ACME"]["qualifying_months"] == ["2026-05", "2026-06", "2026-07", "2026-08"]
    assert (rows["BETA"]["qualifies"], rows["BETA"]["regime_next_month"]) == (False, False)
