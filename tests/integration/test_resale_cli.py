"""The resale rules' reference data through the store and the CLI (SQLite and PostgreSQL): a
security's Rule 144 / Reg CF / Reg S / 144(e) fields, an account's issuer role and its declared
family, each audited (spec/compliance.md "Resale restrictions")."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest
from venuetest import ROOT

from venue.model import IssuerRole, Offering, Security
from venue.store import Store

pytestmark = pytest.mark.usefixtures("operators_config")  # the OS user running the tests is admin


def venue(url: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "venue.cli", "--db-url", url, *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )


def test_a_security_s_resale_fields_round_trip_through_the_store(store_url):
    store = Store(store_url)
    try:
        store.migrate()
        full = Security(
            "RS",
            "Reg S notes",
            Decimal("0.01"),
            1,
            Offering.REG_S,
            restricted=True,
            issuer_reporting=True,
            issue_date=date(2024, 2, 29),
            reg_s_category=3,
            debt=True,
            outstanding=123_456_789_012,
        )
        store.add_security(full)
        store.add_security(Security("OLD", "Old", Decimal("0.01"), 1, holding_period_days=365))
        securities = store.load_world().securities
        assert securities["RS"] == full
        assert (securities["OLD"].restricted, securities["OLD"].issuer_reporting) == (True, False)
        assert securities["OLD"] == replace(securities["OLD"])  # the old day count is no field of its own
    finally:
        store.dispose()


def test_resale_options_of_securities_set_and_accounts_set(store_url):
    assert venue(store_url, "init").returncode == 0
    assert venue(store_url, "members", "add", "BRKX", "--name", "Broker X").returncode == 0
    for account in ("X-1", "X-2"):
        assert venue(store_url, "accounts", "add", account, "--member", "BRKX", "--name", account).returncode == 0
    assert venue(store_url, "securities", "add", "CROWD", "--name", "Crowd", "--offering", "reg_cf").returncode == 0

    changed = venue(
        store_url,
        *("securities", "set", "CROWD", "--restricted", "--issuer-reporting", "--issue-date", "2025-03-11"),
        *("--reg-s-category", "2", "--debt", "--outstanding", "1000000", "--offline", "--reason", "offering closed"),
    )
    assert changed.returncode == 0, changed.stderr
    bad_date = venue(store_url, "securities", "set", "CROWD", "--issue-date", "2025-02-30", "--offline")
    assert bad_date.returncode == 2 and "is not a date" in bad_date.stderr

    roles = venue(
        store_url,
        *("accounts", "set", "X-1", "--affiliate-of", "CROWD", "--family-of", "X-2", "--relationship", "spouse"),
        *("--offline", "--reason", "director; spouse declared"),
    )
    assert roles.returncode == 0, roles.stderr
    assert "X-1: affiliate of CROWD" in roles.stdout and "X-1 and X-2: spouse" in roles.stdout
    alone = venue(store_url, "accounts", "set", "X-1", "--family-of", "X-2", "--offline")
    assert alone.returncode == 2 and "--family-of and --relationship go together" in alone.stderr
    unknown = venue(store_url, "accounts", "set", "X-1", "--issuer-of", "NOPE", "--offline", "--reason", "r")
    assert unknown.returncode == 1 and "no security NOPE" in unknown.stderr

    store = Store(store_url)
    try:
        world = store.load_world()
        crowd = world.securities["CROWD"]
        assert (crowd.restricted, crowd.issuer_reporting, crowd.issue_date) == (True, True, date(2025, 3, 11))
        assert (crowd.reg_s_category, crowd.debt, crowd.outstanding) == (2, True, 1_000_000)
        assert world.affiliations == {("X-1", "CROWD"): IssuerRole.AFFILIATE}
        assert world.family == {"X-1": frozenset({"X-2"}), "X-2": frozenset({"X-1"})}  # both ways
    finally:
        store.dispose()

    undone = venue(
        store_url,
        *("accounts", "set", "X-2", "--no-issuer-role", "CROWD", "--not-family-of", "X-1"),
        *("--offline", "--reason", "divorce"),
    )
    assert undone.returncode == 0, undone.stderr
    store = Store(store_url)
    try:
        world = store.load_world()
        assert world.family == {} and world.affiliations == {("X-1", "CROWD"): IssuerRole.AFFILIATE}
    finally:
        store.dispose()

    audit = json.loads(venue(store_url, "audit", "changes", "--json").stdout)
    mine = [(a["entity"], a["key"], a["reason"]) for a in audit if a["entity"] in ("issuer_role", "family")]
    assert mine == [
        ("issuer_role", "X-1/CROWD", "director; spouse declared"),
        ("family", "X-1/X-2", "director; spouse declared"),
        ("issuer_role", "X-2/CROWD", "divorce"),
        ("family", "X-1/X-2", "divorce"),
    ]
