"""The ops CLI against a real store (SQLite and PostgreSQL): registry commands and their errors."""

from __future__ import annotations

import json
import subprocess
import sys

from venuetest import ROOT


def venue(url: str, *args: str, input_: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "venue.cli", "--db-url", url, *args], capture_output=True,
                          text=True, cwd=ROOT, timeout=60, input=input_)


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
    bad_country = venue(store_url, "accounts", "add", "X-1", "--member", "BRKX", "--name", "I",
                        "--jurisdiction", "USA")
    assert bad_country.returncode == 2 and "two-letter country code" in bad_country.stderr
    assert venue(store_url, "accounts", "add", "X-1", "--member", "BRKX", "--name", "I", "--accredited").returncode == 0
    accounts = json.loads(venue(store_url, "accounts", "list", "--json").stdout)
    assert accounts == [{"account": "X-1", "member": "BRKX", "name": "I", "jurisdiction": "US", "accredited": True,
                         "type": "individual"}]
    secs = json.loads(venue(store_url, "securities", "list", "--json").stdout)
    assert [(s["symbol"], s["lot"], s["tick"], s["status"]) for s in secs] == [("TOKN", 10, "0.01", "open")]
    queued = venue(store_url, "halt", "TOKN", "--wait", "0.3")
    assert queued.returncode == 0 and "queued" in queued.stdout, "no venue running: the halt waits for one"
    assert json.loads(venue(store_url, "orders", "--json").stdout or "[]") == []


def test_cli_without_a_store_says_what_to_do(tmp_path):
    res = subprocess.run([sys.executable, "-m", "venue.cli", "--config", str(tmp_path / "none.toml"), "orders"],
                         capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert res.returncode == 1 and "does not exist" in res.stderr and "--db-url" in res.stderr


def test_an_unreachable_database_is_one_clear_line_not_a_traceback(tmp_path):
    """Nothing listens on port 1: `init`, an ops command and starting the sandbox each say so."""
    url = "postgresql://postgres@127.0.0.1:1/venue"
    for args in (("init",), ("orders",),
                 ("sandbox", "--port", "1", "--data-dir", str(tmp_path / "sbx"), "--chain", "none")):
        res = venue(url, *args)
        assert res.returncode == 1, (args, res.stdout, res.stderr)
        assert "Traceback" not in res.stderr, (args, res.stderr)
        assert "cannot" in res.stderr and "store" in res.stderr and "port 1" in res.stderr, (args, res.stderr)
