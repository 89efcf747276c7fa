"""The ops CLI against a real store (SQLite and PostgreSQL): registry commands and their errors."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from venuetest import ROOT

pytestmark = pytest.mark.usefixtures("operators_config")  # the OS user running the tests is admin


def venue(url: str, *args: str, input_: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "venue.cli", "--db-url", url, *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        input=input_,
    )


def test_registry_round_trip_and_clear_errors(store_url):
    assert "store ready" in venue(store_url, "init").stdout
    assert venue(store_url, "members", "add", "BRKX", "--name", "Broker X").returncode == 0
    dup = venue(store_url, "members", "add", "BRKX", "--name", "Broker X")
    assert dup.returncode == 1 and "member BRKX already exists" in dup.stderr
    ok = venue(store_url, "members", "add-session", "BRKX", "--member", "BRKX", "--password", "s3cret!")
    assert ok.returncode == 0, ok.stderr
    nomember = venue(store_url, "members", "add-session", "X2", "--member", "NOPE", "--password", "s3cret!")
    assert nomember.returncode == 1 and "no member NOPE" in nomember.stderr
    for bad in ("../X", "A/B", ".X", "A" * 33, ""):
        refused = venue(store_url, "members", "add-session", bad, "--member", "BRKX", "--password", "s3cret!")
        assert refused.returncode == 2 and "names the session's files" in refused.stderr, (bad, refused.stderr)
    bad_tick = venue(store_url, "securities", "add", "TOKN", "--name", "Token", "--tick", "abc")
    assert bad_tick.returncode == 2 and "'abc' is not a number" in bad_tick.stderr
    off_tick = venue(store_url, "securities", "add", "TOKN", "--name", "Token", "--reference-price", "1.005")
    assert off_tick.returncode == 2 and "not a multiple of the tick" in off_tick.stderr
    assert venue(store_url, "securities", "add", "TOKN", "--name", "Token", "--lot", "10").returncode == 0
    bad_country = venue(store_url, "accounts", "add", "X-1", "--member", "BRKX", "--name", "I", "--jurisdiction", "USA")
    assert bad_country.returncode == 2 and "two-letter country code" in bad_country.stderr
    assert venue(store_url, "accounts", "add", "X-1", "--member", "BRKX", "--name", "I", "--accredited").returncode == 0
    accounts = json.loads(venue(store_url, "accounts", "list", "--json").stdout)
    assert accounts == [
        {
            "account": "X-1",
            "member": "BRKX",
            "name": "I",
            "jurisdiction": "US",
            "accredited": True,
            "type": "individual",
        }
    ]
    secs = json.loads(venue(store_url, "securities", "list", "--json").stdout)
    assert [(s["symbol"], s["lot"], s["tick"], s["status"]) for s in secs] == [("TOKN", 10, "0.01", "open")]
    assert json.loads(venue(store_url, "orders", "--json").stdout or "[]") == []


def test_changes_a_running_venue_must_apply_exit_3_when_no_venue_confirms_them(store_url):
    """No venue runs on this store: each change is stored (and audited) but unconfirmed, exit 3;
    --offline says the venue is meant to be stopped, exit 0."""
    venue(store_url, "init")
    venue(store_url, "members", "add", "BRKX", "--name", "Broker X")
    venue(store_url, "securities", "add", "TOKN", "--name", "Token", "--wait", "0.1")
    opened = venue(store_url, "accounts", "add", "X-1", "--member", "BRKX", "--name", "I")
    assert opened.returncode == 0 and "KYC pending" in opened.stdout, "a new account fails closed"
    for args in (
        ("halt", "TOKN"),
        ("resume", "TOKN"),
        ("suspend", "TOKN", "--reason", "issuer request"),
        ("kill", "BRKX", "--reason", "runaway"),
        ("unkill", "BRKX", "--reason", "fixed"),
        ("accounts", "set", "X-1", "--kyc", "verified", "--reason", "documents checked"),
        ("members", "set", "BRKX", "--max-order-qty", "10"),
        ("securities", "set", "TOKN", "--max-holding", "100"),
    ):
        res = venue(store_url, *args, "--wait", "0.2")
        assert res.returncode == 3, (args, res.returncode, res.stdout, res.stderr)
        assert "no running venue confirmed it" in res.stderr and "Traceback" not in res.stderr, (args, res.stderr)
    offline = venue(
        store_url, "accounts", "set", "X-1", "--kyc-expires", "2027-06-30", "--reason", "renewal", "--offline"
    )
    assert offline.returncode == 0 and "applies when the venue starts" in offline.stdout, offline
    changes = json.loads(venue(store_url, "audit", "changes", "--json").stdout)
    kyc = [c for c in changes if c["entity"] == "investor" and "kyc_status" in c["after"] and c["before"]]
    assert [(c["before"], c["after"], c["reason"]) for c in kyc] == [
        ({"kyc_status": "pending"}, {"kyc_status": "verified"}, "documents checked")
    ]
    assert [c["entity"] for c in changes].count("halt") == 3 and all(c["operator"] for c in changes)
    assert [c["after"] for c in changes if c["entity"] == "member" and "killed" in c["after"]] == [
        {"killed": True},
        {"killed": False},
    ]
    mine = json.loads(venue(store_url, "audit", "changes", "--account", "X-1", "--json").stdout)
    assert {c["key"] for c in mine} == {"X-1"} and len(mine) == 3  # opened, verified, expiry set
    later = venue(store_url, "audit", "changes", "--since", "2999-01-01", "--json")
    assert json.loads(later.stdout) == []
    bad = venue(store_url, "audit", "changes", "--since", "yesterday")
    assert bad.returncode == 2 and "YYYY-MM-DD" in bad.stderr


def test_the_registry_change_audit_is_append_only(store_url):
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError

    from venue.store import Store

    venue(store_url, "init")
    venue(store_url, "members", "add", "BRKX", "--name", "Broker X")
    store = Store(store_url)
    try:
        for statement in ("UPDATE registry_changes SET reason = 'edited'", "DELETE FROM registry_changes"):
            try:
                with store.engine.begin() as conn:
                    conn.execute(text(statement))
            except DBAPIError as exc:
                assert "append-only" in str(exc) or "Rule 303" in str(exc), exc
            else:
                raise AssertionError(f"{statement} was allowed")
        assert len(store.registry_changes()) == 1
    finally:
        store.dispose()


def test_read_only_commands_never_migrate_the_store(tmp_path):
    """A command on an empty store says to run `venue init` and leaves it empty."""
    from sqlalchemy import create_engine, inspect

    url = f"sqlite:///{tmp_path / 'empty.db'}"
    for args in (("orders",), ("members", "list"), ("audit", "changes"), ("gates",)):
        res = venue(url, *args)
        assert res.returncode == 1 and "run `venue init`" in res.stderr, (args, res.stderr)
    engine = create_engine(url)
    assert inspect(engine).get_table_names() == [], "nothing was created"
    engine.dispose()


def test_cli_without_a_store_says_what_to_do(tmp_path):
    res = subprocess.run(
        [sys.executable, "-m", "venue.cli", "--config", str(tmp_path / "none.toml"), "orders"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )
    # No config, so no operators: refused (exit 4) before any store is looked for, saying how to start.
    assert res.returncode == 4 and "none.toml does not exist" in res.stderr, res.stderr
    assert "`venue --config FILE init` writes one naming you" in res.stderr


def test_an_unreachable_database_is_one_clear_line_not_a_traceback(tmp_path):
    """Nothing listens on port 1: `init`, an ops command and starting the sandbox each say so."""
    url = "postgresql://postgres@127.0.0.1:1/venue"
    for args in (
        ("init",),
        ("orders",),
        ("sandbox", "--port", "1", "--data-dir", str(tmp_path / "sbx"), "--chain", "none"),
    ):
        res = venue(url, *args)
        assert res.returncode == 1, (args, res.stdout, res.stderr)
        assert "Traceback" not in res.stderr, (args, res.stderr)
        assert "cannot" in res.stderr and "store" in res.stderr and "port 1" in res.stderr, (args, res.stderr)
