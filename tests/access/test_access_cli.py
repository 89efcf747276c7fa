"""The access commands of the real `venue` CLI against a real store (SQLite and PostgreSQL)."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from datetime import date

import pytest
from accesstest import write_trades
from venuetest import ROOT, TEST_READ_REASON, as_operator

from venue.store import Store
from venue.store import access as sa

pytestmark = pytest.mark.usefixtures("operators_config")  # ops-alice is admin, ops-bob compliance


def venue(url: str, *args: str, operator: str = "ops-alice") -> subprocess.CompletedProcess:
    env = as_operator(operator)
    return subprocess.run(
        [sys.executable, "-m", "venue.cli", "--db-url", url, *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        env=env,
    )


def ok(res: subprocess.CompletedProcess) -> str:
    assert res.returncode == 0, f"exit {res.returncode}:\n{res.stdout}\n{res.stderr}"
    return res.stdout


def setup_registry(url: str) -> None:
    ok(venue(url, "init"))
    ok(venue(url, "members", "add", "BRKA", "--name", "Broker A"))
    ok(
        venue(
            url,
            "members",
            "add",
            "BRKB",
            "--name",
            "Broker B",
            "--standard",
            "AS-1, AS-2,AS-3",
            "--reason",
            "approved by the onboarding committee",
        )
    )
    ok(venue(url, "securities", "add", "ACME", "--name", "Acme"))
    ok(venue(url, "securities", "add", "BETA", "--name", "Beta"))


def test_import_volume_good_file_and_bad_file_with_line_numbers(store_url, tmp_path):
    setup_registry(store_url)
    good = tmp_path / "volume.csv"
    good.write_text("symbol,date,quantity\nACME,2026-01-05,1000\nACME,2026-01-06,900\nBETA,2026-01-05,50\n")
    assert "imported 3 day(s) of market volume for ACME, BETA, 2026-01-05 to 2026-01-06" in ok(
        venue(store_url, "access", "import-volume", str(good))
    )
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "symbol,date,quantity\nACME,2026-01-05,5\nACME,2026-01-32,1\nZZZ,2026-01-07,1\nBETA,2026-01-08,ten\n"
    )
    res = venue(store_url, "access", "import-volume", str(bad))
    assert res.returncode == 1
    assert "3 bad row(s), nothing imported" in res.stderr
    assert "line 3: date '2026-01-32' is not YYYY-MM-DD" in res.stderr
    assert "line 4: unknown symbol ZZZ" in res.stderr
    assert "line 5: quantity 'ten' is not a whole number" in res.stderr
    header = tmp_path / "header.csv"
    header.write_text("sym,day,qty\n")
    assert (
        "line 1: the header must be symbol,date,quantity"
        in venue(store_url, "access", "import-volume", str(header)).stderr
    )
    store = Store(store_url)
    try:
        assert sa.market_daily_volume(store)["ACME"][date(2026, 1, 5)] == 1000, (
            "the good row of the bad file was not imported either"
        )
    finally:
        store.dispose()


def test_entitle_and_revoke(store_url):
    setup_registry(store_url)
    refused = venue(store_url, "members", "revoke", "BRKA", "ACME", "--reason", "x", "--standard", "AS-6")
    assert refused.returncode == 1 and "revoke * and entitle it to the securities it keeps" in refused.stderr
    assert "BRKA no longer entitled to every security (*)" in ok(
        venue(store_url, "members", "revoke", "BRKA", "*", "--reason", "asked to trade ACME only", "--standard", "AS-6")
    )
    assert "BRKA entitled to ACME" in ok(venue(store_url, "members", "entitle", "BRKA", "ACME"))
    unknown = venue(store_url, "members", "entitle", "BRKA", "ZZZ")
    assert unknown.returncode == 1 and "unknown symbol ZZZ" in unknown.stderr
    no_reason = venue(store_url, "members", "revoke", "BRKA", "ACME", "--standard", "AS-6")
    assert no_reason.returncode == 2 and "--reason" in no_reason.stderr
    log = json.loads(ok(venue(store_url, "access", "log", "--member", "BRKA", "--json")))
    assert [(r["action"], r["scope"], r["standard"], r["actor"]) for r in log] == [
        ("grant", "venue", "AS-1,AS-2,AS-3", "ops-alice"),
        ("grant", "*", "AS-1,AS-2,AS-3", "ops-alice"),
        ("revoke", "*", "AS-6", "ops-alice"),
        ("grant", "ACME", "AS-1,AS-2,AS-3", "ops-alice"),
    ]
    store = Store(store_url)
    try:
        assert sa.load_entitlements(store) == {"BRKA": frozenset({"ACME"}), "BRKB": frozenset({"*"})}
    finally:
        store.dispose()


def test_suspend_and_activate_are_recorded_with_reason_and_standard(store_url):
    setup_registry(store_url)
    missing = venue(store_url, "members", "suspend", "BRKB")
    assert missing.returncode == 2 and "--reason" in missing.stderr
    unknown = venue(store_url, "members", "suspend", "BRKB", "--reason", "x", "--standard", "AS-9")
    assert unknown.returncode == 2 and "unknown standard AS-9" in unknown.stderr
    assert "member BRKB suspended" in ok(
        venue(store_url, "members", "suspend", "BRKB", "--reason", "FINRA membership lapsed", "--standard", "AS-1,AS-4")
    )
    again = venue(store_url, "members", "suspend", "BRKB", "--reason", "x", "--standard", "AS-4")
    assert again.returncode == 1 and "already suspended" in again.stderr
    assert "member BRKB active" in ok(
        venue(
            store_url,
            "members",
            "activate",
            "BRKB",
            "--reason",
            "membership reinstated",
            "--standard",
            "AS-1",
            operator="ops-bob",
        )
    )
    log = json.loads(ok(venue(store_url, "access", "log", "--member", "BRKB", "--json")))
    assert [(r["action"], r["scope"], r["standard"], r["reason"], r["actor"]) for r in log][1:] == [
        ("grant", "*", "AS-1,AS-2,AS-3", "approved by the onboarding committee", "ops-alice"),
        ("limit", "venue", "AS-1,AS-4", "FINRA membership lapsed", "ops-alice"),
        ("restore", "venue", "AS-1", "membership reinstated", "ops-bob"),
    ]
    store = Store(store_url)
    try:
        assert store.load_world().members["BRKB"].status.value == "active"
    finally:
        store.dispose()


# (venue volume, market volume) per month 2026-01 .. 2026-06
ACME = [(50, 1000), (100, 2000), (10, 1000), (50, 1000), (0, 1000), (60, 1200)]  # 4 of 6 at exactly 5%
BETA = [(50, 1000), (50, 1000), (50, 1000), (49, 1000), (0, 1000), (0, 1000)]  # 3 of 6 (and one at 4.9%)


def test_report_shows_shares_regime_and_the_access_log(store_url, tmp_path):
    setup_registry(store_url)
    lines = ["symbol,date,quantity"]
    trades = []
    for symbol, months in (("ACME", ACME), ("BETA", BETA)):
        for n, (v, market) in enumerate(months, start=1):
            lines += [f"{symbol},2026-{n:02d}-02,{market // 2}", f"{symbol},2026-{n:02d}-03,{market - market // 2}"]
            if v:
                trades += [
                    (symbol, f"2026-{n:02d}-02T15:00:00", v - v // 3),
                    (symbol, f"2026-{n:02d}-03T15:00:00", v // 3),
                ]
    (tmp_path / "market.csv").write_text("\n".join(lines) + "\n")
    ok(venue(store_url, "access", "import-volume", str(tmp_path / "market.csv")))
    store = Store(store_url)
    try:
        write_trades(store, trades)
    finally:
        store.dispose()
    ok(venue(store_url, "members", "suspend", "BRKA", "--reason", "unpaid fees", "--standard", "AS-4"))

    report = json.loads(ok(venue(store_url, "report", "fair-access", "--month", "2026-07", "--json")))
    rows = {(r["symbol"], r["month"]): r for r in report["months"]}
    assert sorted({m for _, m in rows}) == [f"2026-{n:02d}" for n in range(1, 8)]
    jan = rows[("ACME", "2026-01")]
    assert (
        jan["venue_volume"],
        jan["market_volume"],
        jan["trading_days"],
        jan["venue_adv"],
        jan["market_adv"],
        jan["share_pct"],
        jan["at_least_5pct"],
    ) == (50, 1000, 2, "25.00", "500.00", "5.0000", True)
    assert rows[("ACME", "2026-03")]["share_pct"] == "1.0000"
    acme_july, beta_july = rows[("ACME", "2026-07")], rows[("BETA", "2026-07")]
    assert acme_july["fair_access"] is True
    assert acme_july["qualifying_months"] == ["2026-01", "2026-02", "2026-04", "2026-06"]
    assert beta_july["fair_access"] is False and rows[("BETA", "2026-04")]["share_pct"] == "4.9000"
    assert [(r["member"], r["action"], r["reason"]) for r in report["access_log"]][-1] == (
        "BRKA",
        "limit",
        "unpaid fees",
    )

    text = ok(venue(store_url, "report", "fair-access", "--symbol", "ACME", "--month", "2026-07"))
    assert "ACME    2026-07" in text and "4/6" in text and "Access log" in text and "unpaid fees" in text
    assert "BETA" not in text.split("Access log")[0]

    out = tmp_path / "fair-access.csv"
    assert "wrote 14 month row(s)" in ok(
        venue(store_url, "report", "fair-access", "--month", "2026-07", "--csv", str(out))
    )
    table = list(csv.DictReader(out.open()))
    assert [(r["symbol"], r["month"], r["fair_access"]) for r in table if r["month"] == "2026-07"] == [
        ("ACME", "2026-07", "yes"),
        ("BETA", "2026-07", "no"),
    ]
    assert "unpaid fees" in (tmp_path / "fair-access-access-log.csv").read_text()

    bad_month = venue(store_url, "report", "fair-access", "--month", "2026-7")
    assert bad_month.returncode == 2 and "is not a month (YYYY-MM)" in bad_month.stderr

    reads = json.loads(ok(venue(store_url, "access", "reads", "--json")))
    assert [(r["operator"], r["command"], r["scope"], r["reason"]) for r in reads] == [
        ("ops-alice", "report fair-access", "symbol=* month=2026-07", TEST_READ_REASON),
        ("ops-alice", "report fair-access", "symbol=ACME month=2026-07", TEST_READ_REASON),
        ("ops-alice", "report fair-access", "symbol=* month=2026-07", TEST_READ_REASON),
        ("ops-alice", "report fair-access", "symbol=* month=2026-7", TEST_READ_REASON),  # recorded, then refused
    ]

    # --format is the report's output switch (--json and --csv FILE are its short forms)
    assert json.loads(ok(venue(store_url, "report", "fair-access", "--month", "2026-07", "--format", "json"))) == report
    on_stdout = ok(venue(store_url, "report", "fair-access", "--month", "2026-07", "--format", "csv"))
    months, log = on_stdout.split("\n# access-log\n")
    assert months.startswith("# months\nsymbol,month,") and len(months.splitlines()) == 16
    assert "unpaid fees" in log
    both = venue(store_url, "report", "fair-access", "--json", "--format", "text")
    assert both.returncode == 2 and "--json is --format json" in both.stderr
