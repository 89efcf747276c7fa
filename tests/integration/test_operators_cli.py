"""Operators, roles and the read log through the real `venue` CLI on a real store (SQLite and
PostgreSQL): who may run what, who is recorded, and every read of confidential trading information
recorded with its reason (Reg ATS 301(b)(10); spec/fair-access.md section 5).

The venue config of each test (fixture `operators_config`) names the OS user running the tests as
admin and the operators of venuetest.OPERATOR_TOKENS by token: ops-alice admin, otto ops, cora and
ops-bob compliance, rea read-only."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from click.testing import CliRunner
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from venuetest import ROOT, as_operator, operators_section, os_user

from venue.store import Store
from venue.store import access as sa

pytestmark = pytest.mark.usefixtures("operators_config")


def venue(url: str, *args: str, operator: str | None = None, **env: str | None) -> subprocess.CompletedProcess:
    """`venue --db-url URL ARGS` as the OS user (or the test operator `operator`, by its token);
    `env` adds to (None: removes from) the environment."""
    environ = as_operator(operator) if operator else dict(os.environ)
    for key, value in env.items():
        if value is None:
            environ.pop(key, None)
        else:
            environ[key] = value
    return subprocess.run(
        [sys.executable, "-m", "venue.cli", "--db-url", url, *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        env=environ,
    )


def ok(res: subprocess.CompletedProcess) -> str:
    assert res.returncode == 0, f"exit {res.returncode}:\n{res.stdout}\n{res.stderr}"
    return res.stdout


def refused(res: subprocess.CompletedProcess, *says: str) -> None:
    """Refused for want of a role: exit 4, one clear line saying `says`, no traceback."""
    assert res.returncode == 4, (res.returncode, res.stdout, res.stderr)
    assert "Traceback" not in res.stderr, res.stderr
    for part in says:
        assert part in res.stderr, (part, res.stderr)


def registry(url: str) -> None:
    """A member BRKX with an account X-1 and a security TOKN, set up by the OS user (admin)."""
    ok(venue(url, "init"))
    ok(venue(url, "members", "add", "BRKX", "--name", "Broker X"))
    ok(venue(url, "securities", "add", "TOKN", "--name", "Token", "--wait", "0.1"))
    ok(venue(url, "accounts", "add", "X-1", "--member", "BRKX", "--name", "Investor One"))


def snapshot(url: str) -> tuple:
    """Everything a refused command might have touched: registry changes, access log, ops commands,
    read log, and the security's trading status."""
    store = Store(url)
    try:
        with store.engine.connect() as conn:
            ops = conn.execute(text("SELECT count(*) FROM ops_commands")).scalar()
        return (
            len(store.registry_changes()),
            len(sa.access_log(store)),
            ops,
            len(sa.data_access_log(store)),
            store.load_world().securities["TOKN"].trading_status,
            store.load_world().accounts["X-1"].kyc_status,
        )
    finally:
        store.dispose()


# ---------------------------------------------------------------- roles
def test_each_role_is_refused_what_it_may_not_do_and_nothing_is_touched(store_url):
    registry(store_url)
    before = snapshot(store_url)

    # read-only: lists, but changes nothing and reads no member's confidential information
    assert "TOKN" in ok(venue(store_url, "securities", "list", operator="rea"))
    refused(
        venue(store_url, "members", "add", "BRKY", "--name", "Broker Y", operator="rea"),
        "`venue members add` needs the role compliance or admin",
        "token rea (read-only) may not run it",
    )
    refused(venue(store_url, "accounts", "set", "X-1", "--kyc", "verified", "--reason", "x", operator="rea"))
    refused(
        venue(store_url, "orders", "--reason", "curious", operator="rea"), "needs the role ops, compliance or admin"
    )

    # compliance: refused the venue's operations
    refused(
        venue(store_url, "halt", "TOKN", "--offline", operator="cora"),
        "`venue halt` needs the role ops or admin",
        "token cora (compliance) may not run it",
    )
    refused(venue(store_url, "kill", "BRKX", "--reason", "runaway", "--offline", operator="cora"))
    # ops: refused compliance's decisions and listings
    refused(venue(store_url, "accounts", "set", "X-1", "--kyc", "verified", "--offline", operator="otto"))
    refused(venue(store_url, "members", "suspend", "BRKX", "--reason", "x", "--standard", "AS-4", operator="otto"))
    refused(venue(store_url, "access", "reads", operator="otto"), "`venue access reads` needs the role compliance")

    # a token that is not listed is refused, never replaced by the OS user (who is admin)
    refused(
        venue(store_url, "members", "list", VENUE_OPERATOR_TOKEN="not-a-listed-token"),
        "the operator token in $VENUE_OPERATOR_TOKEN is not listed in [operators] tokens",
    )
    refused(venue(store_url, "members", "list", VENUE_OPERATOR_TOKEN=""), "is set but empty")
    assert snapshot(store_url) == before, "a refused command touches nothing"

    # each role does what it is for
    ok(venue(store_url, "halt", "TOKN", "--offline", operator="otto"))
    ok(
        venue(
            store_url, "accounts", "set", "X-1", "--kyc", "verified", "--reason", "file 7", "--offline", operator="cora"
        )
    )
    ok(venue(store_url, "orders", "--reason", "surveillance alert 3", operator="otto"))
    assert snapshot(store_url) != before


def test_an_os_user_without_a_role_is_refused_with_how_to_grant_one(store_url, operators_config):
    ok(venue(store_url, "init"))
    operators_config.write_text(operators_section(users={"somebody-else": "admin"}))
    res = venue(store_url, "members", "list")
    refused(res, f"OS user {os_user()} has no operator role in {operators_config}", "[operators] users")
    assert f'{os_user()} = "read-only"' in res.stderr, "it shows how an admin grants a role"
    # $VENUE_OPERATOR and $USER name nobody: the identity is the process's uid
    refused(venue(store_url, "members", "list", VENUE_OPERATOR="somebody-else", USER="somebody-else"))
    # and an unknown role in the config is an error naming it
    operators_config.write_text(operators_section(users={os_user(): "superuser"}))
    res = venue(store_url, "members", "list")
    assert res.returncode == 1 and "unknown role 'superuser'" in res.stderr and "read-only" in res.stderr, res.stderr


def test_without_operators_only_init_and_sandbox_run(store_url, tmp_path, monkeypatch, operators_config):
    """No config names operators: role-checked commands are refused saying how to start; `venue
    init` writes the config with the OS user as admin, after which they run, and init itself is an
    admin's."""
    monkeypatch.delenv("VENUE_CONFIG")
    res = venue(store_url, "init")
    assert "store ready" in res.stdout and "no venue config" in res.stderr
    refused(venue(store_url, "members", "list"), "pass --config FILE", "writes one naming you (OS user")

    bare = tmp_path / "bare.toml"
    bare.write_text('[venue]\ncomp_id = "ATS"\n')
    refused(venue(store_url, "--config", str(bare), "members", "list"), f"{bare} names no operators")
    ok(venue(store_url, "--config", str(bare), "init"))
    assert bare.read_text().startswith('[venue]\ncomp_id = "ATS"\n'), "the config is kept; [operators] added"
    assert f'[operators]\nusers = {{ "{os_user()}" = "admin" }}' in bare.read_text()

    fresh = tmp_path / "etc" / "venue.toml"
    assert "is the venue's admin" in ok(venue(store_url, "--config", str(fresh), "init"))
    assert "(none)" in ok(venue(store_url, "--config", str(fresh), "members", "list"))
    fresh.chmod(0o666)
    res = venue(store_url, "--config", str(fresh), "members", "list")
    assert res.returncode == 1 and "every OS user may write this file" in res.stderr, res.stderr

    # once a config names operators, init is an admin's
    refused(
        venue(store_url, "--config", str(operators_config), "init", operator="cora"),
        "`venue init` needs the role admin",
    )
    assert "store ready" in ok(venue(store_url, "--config", str(operators_config), "init", operator="ops-alice"))


# ---------------------------------------------------------------- the operator recorded
def test_every_change_records_the_resolved_operator_not_a_declared_one(store_url):
    registry(store_url)
    mallory = {"VENUE_OPERATOR": "mallory"}  # no longer an identity: ignored
    ok(
        venue(
            store_url,
            "accounts",
            "set",
            "X-1",
            "--kyc",
            "verified",
            "--reason",
            "KYC file 1",
            "--offline",
            operator="cora",
            **mallory,
        )
    )
    ok(
        venue(
            store_url,
            "members",
            "suspend",
            "BRKX",
            "--reason",
            "fees",
            "--standard",
            "AS-4",
            operator="ops-bob",
            **mallory,
        )
    )
    ok(venue(store_url, "halt", "TOKN", "--offline", operator="otto", **mallory))
    ok(venue(store_url, "kill", "BRKX", "--reason", "runaway", "--offline", operator="otto", **mallory))
    ok(venue(store_url, "report", "affiliation", "BRKX", "--not-affiliated", operator="cora", **mallory))
    ok(venue(store_url, "securities", "set", "TOKN", "--max-holding", "100", "--offline", **mallory))  # the OS user

    changes = json.loads(ok(venue(store_url, "audit", "changes", "--json", operator="cora")))
    by = [(c["operator"], c["entity"], c["key"]) for c in changes]
    me = os_user()
    assert by == [
        (me, "member", "BRKX"),  # registry(): added as the OS user
        (me, "security", "TOKN"),
        (me, "investor", "X-1"),
        ("cora", "investor", "X-1"),
        ("ops-bob", "member", "BRKX"),  # suspended
        ("otto", "halt", "TOKN"),
        ("otto", "member", "BRKX"),  # killed
        ("cora", "affiliation", "BRKX"),
        (me, "security", "TOKN"),
    ], by
    log = json.loads(ok(venue(store_url, "access", "log", "--member", "BRKX", "--json", operator="cora")))
    assert [(r["action"], r["actor"]) for r in log] == [
        ("grant", me),
        ("grant", me),
        ("limit", "ops-bob"),
        ("limit", "otto"),
    ]
    store = Store(store_url)
    try:
        with store.engine.connect() as conn:
            requested = [r[0] for r in conn.execute(text("SELECT requested_by FROM ops_commands ORDER BY id"))]
    finally:
        store.dispose()
    assert "mallory" not in requested and {"otto", "cora", "ops-bob"} <= set(requested), requested


# ---------------------------------------------------------------- reads of confidential information
# Every command that shows members' confidential trading information, with the scope it records.
CONFIDENTIAL = [
    (("orders", "--member", "BRKX"), "orders", "member=BRKX symbol=* account=* status=open"),
    (("positions", "--account", "X-1"), "positions", "account=X-1"),
    (("gates", "--outcome", "reject"), "gates", "outcome=reject"),
    (("accounts", "list", "--member", "BRKX"), "accounts list", "member=BRKX"),
    (("access", "log"), "access log", "member=*"),
    (("settlement", "list", "--symbol", "TOKN"), "settlement list", "status=* symbol=TOKN"),
    (("settlement", "show", "1"), "settlement show", "trade_id=1"),
    (("ta", "cap-table", "TOKN"), "ta cap-table", "symbol=TOKN"),
    (("audit", "changes", "--account", "X-1"), "audit changes", "since=* account=X-1"),
    (("report", "audit-trail", "--day", "2026-11-24"), "report audit-trail", "day=2026-11-24"),
    (("report", "ats-r", "--quarter", "2026Q4"), "report ats-r", "quarter=2026Q4"),
    (("report", "finra-4552", "--week", "2026-W48"), "report finra-4552", "week=2026-W48"),
    (("report", "trades"), "report trades", "late=no"),
    (("report", "cat", "--day", "2026-11-24"), "report cat", "day=2026-11-24"),
    (("report", "fair-access", "--symbol", "TOKN"), "report fair-access", "symbol=TOKN month=*"),
]


def test_confidential_reads_need_a_reason_and_are_recorded_before_anything_is_shown(store_url, monkeypatch):
    registry(store_url)
    from venue.cli import main

    monkeypatch.delenv("VENUE_READ_REASON")
    runner = CliRunner()

    def run(*args: str, operator: str = "ops-alice", reason: str | None = None):
        env = {"VENUE_OPERATOR_TOKEN": as_operator(operator)["VENUE_OPERATOR_TOKEN"], "VENUE_READ_REASON": reason}
        return runner.invoke(main, ["--db-url", store_url, *args], env=env)

    for args, _command, _scope in CONFIDENTIAL:
        res = run(*args)
        assert res.exit_code == 2, (args, res.output)
        assert "shows members' confidential trading information: say why with --reason" in res.output, res.output
        assert run(*args, "--reason", "   ").exit_code == 2, args
    store = Store(store_url)
    try:
        assert sa.data_access_log(store) == [], "a refused read records nothing"
    finally:
        store.dispose()

    for n, (args, _command, _scope) in enumerate(CONFIDENTIAL):
        if n % 2:
            res = run(*args, "--reason", f"FINRA inquiry {n}")
        else:
            res = run(*args, reason=f"FINRA inquiry {n}")  # $VENUE_READ_REASON
        # settlement show 1: "no trade 1" (exit 1), after the record; nothing may crash
        assert res.exit_code in (0, 1) and isinstance(res.exception, SystemExit | None), (args, res.output)
    reads = json.loads(ok(venue(store_url, "access", "reads", "--json", operator="cora")))
    assert [(r["operator"], r["command"], r["scope"], r["reason"]) for r in reads] == [
        ("ops-alice", command, scope, f"FINRA inquiry {n}") for n, (_args, command, scope) in enumerate(CONFIDENTIAL)
    ]
    # ops and compliance read what their job needs; compliance alone its reports and audit listings
    assert run("orders", operator="otto", reason="alert 9").exit_code == 0
    assert run("report", "trades", operator="otto", reason="alert 9").exit_code == 4
    assert run("report", "trades", operator="cora", reason="exam request").exit_code == 0
    only_cora = json.loads(ok(venue(store_url, "access", "reads", "--operator", "cora", "--json", operator="cora")))
    assert [(r["command"], r["reason"]) for r in only_cora] == [("report trades", "exam request")]
    later = ok(venue(store_url, "access", "reads", "--since", "2999-01-01", operator="cora"))
    assert later == "(none)\n"
    text_table = ok(venue(store_url, "access", "reads", operator="cora"))
    assert text_table.splitlines()[0].split() == ["id", "at", "operator", "command", "scope", "reason"]


def test_the_read_log_is_append_only(store_url):
    ok(venue(store_url, "init"))
    ok(venue(store_url, "orders", "--reason", "surveillance alert 1"))
    store = Store(store_url)
    try:
        statements = ["UPDATE data_access_log SET reason = 'edited'", "DELETE FROM data_access_log"]
        if not store.is_sqlite:
            statements.append("TRUNCATE data_access_log")
        for statement in statements:
            try:
                with store.engine.begin() as conn:
                    conn.execute(text(statement))
            except DBAPIError as exc:
                assert "append-only" in str(exc) or "Rule 303" in str(exc), exc
            else:
                raise AssertionError(f"{statement} was allowed")
        (row,) = sa.data_access_log(store)
        assert (row["actor"], row["command"], row["reason"]) == (os_user(), "orders", "surveillance alert 1")
        # past the retention period (3 years) a record may be deleted, never edited
        with store.engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO data_access_log (at_us, actor, command, scope, reason) "
                    "VALUES (1000000, 'old', 'orders', '*', 'long ago')"
                )
            )
        with store.engine.begin() as conn:
            assert conn.execute(text("DELETE FROM data_access_log WHERE at_us = 1000000")).rowcount == 1
        assert [r["reason"] for r in sa.data_access_log(store)] == ["surveillance alert 1"]
    finally:
        store.dispose()


def test_reads_recorded_before_0009_say_their_reason_was_not_recorded(store_url):
    from venue.store.migrate import upgrade

    store = Store(store_url)
    try:
        upgrade(store.engine, "0008_controls")
        with store.engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO data_access_log (at_us, actor, command, scope) VALUES (1, 'ops', 'orders', 'member=all')"
                )
            )
        upgrade(store.engine, "0009_operators")
        (row,) = sa.data_access_log(store)
        assert row["reason"] == "(not recorded before 0009_operators)"
    finally:
        store.dispose()
