"""Shared fixtures: a store URL on each backend, and a sandbox venue running as a real process."""

from __future__ import annotations

import contextlib
import os
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

PG_ADMIN_URL = os.environ.get("VENUE_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from venuetest import TEST_READ_REASON, VenueProcess, free_port, operators_section  # noqa: E402


def _pg_available() -> bool:
    try:
        import psycopg

        with psycopg.connect(PG_ADMIN_URL, connect_timeout=3):
            return True
    except Exception:  # noqa: BLE001
        return False


@pytest.fixture(scope="session")
def pg_available() -> bool:
    return _pg_available()


def create_pg_database() -> tuple[str, str]:
    """A new empty PostgreSQL database; returns (url, name)."""
    import psycopg

    name = f"venue_t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    return f"{base}/{name}", name


def drop_pg_database(name: str) -> None:
    import psycopg

    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextlib.contextmanager
def fresh_pg_database() -> Iterator[str]:
    """A new empty PostgreSQL database for the duration of the block; its URL."""
    if not _pg_available():
        pytest.fail(f"PostgreSQL not reachable at {PG_ADMIN_URL}: start it (the CI script does)")
    url, name = create_pg_database()
    try:
        yield url
    finally:
        drop_pg_database(name)


# Tiers (pyproject markers): `slow` starts a venue (or a chaos/fuzz run), `postgres` needs the
# database server, `chain` an EVM node. The fast tier, in minutes:
#     python -m pytest -m "not slow and not postgres and not chain"
_SLOW_DIRS = ("chaos", "fuzz", "acceptance")


def pytest_collection_modifyitems(config, items) -> None:
    """Mark each test with the tiers it belongs to, from what it uses."""
    for item in items:
        params = item.callspec.params if hasattr(item, "callspec") else {}
        if params.get("store_url") == "postgres" or "pg_url" in item.fixturenames:
            item.add_marker(pytest.mark.postgres)
        if params.get("venue") in ("embedded", "anvil") or "chain_backend" in item.fixturenames:
            item.add_marker(pytest.mark.chain)
        if "venue" in item.fixturenames or any(part in _SLOW_DIRS for part in item.path.parts):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(params=["sqlite", "postgres"])
def store_url(request, tmp_path) -> Iterator[str]:
    """A fresh, empty store on SQLite and on PostgreSQL (every test using it runs on both)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'venue.db'}"
        return
    with fresh_pg_database() as url:
        yield url


@pytest.fixture
def operators_config(tmp_path, monkeypatch) -> Path:
    """A venue config naming the tests' operators (venuetest.OPERATOR_TOKENS; the OS user running
    the tests is admin), as $VENUE_CONFIG of the CLI commands the test runs (with --db-url for the
    store); their reads of confidential data give $VENUE_READ_REASON."""
    path = tmp_path / "operators.toml"
    path.write_text(operators_section())
    monkeypatch.setenv("VENUE_CONFIG", str(path))
    monkeypatch.setenv("VENUE_READ_REASON", TEST_READ_REASON)
    monkeypatch.delenv("VENUE_OPERATOR_TOKEN", raising=False)
    return path


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database (for a test that needs it beside a SQLite store)."""
    with fresh_pg_database() as url:
        yield url


@pytest.fixture
def venue(request, store_url, tmp_path) -> Iterator[VenueProcess]:
    """A fresh sandbox venue on its own port, on SQLite and on PostgreSQL. Without settlement, unless
    parametrized indirectly with "embedded" or "anvil" (an anvil node from node_modules is started)."""
    from venue.chain import backend

    url = None if store_url.startswith("sqlite") else store_url
    chain = getattr(request, "param", "none")
    with contextlib.ExitStack() as stack:
        if chain == "anvil":
            if backend.find_anvil() is None:
                pytest.skip("anvil not installed: node_modules/@foundry-rs/anvil missing (run `npm ci`)")
            chain = stack.enter_context(backend.anvil_node()).url
        proc = VenueProcess(tmp_path / "sandbox", free_port(), url).start_sandbox(chain=chain)
        try:
            yield proc
        finally:
            proc.stop()


@pytest.fixture
def connect(venue) -> Iterator:
    """connect("BRKA") -> a logged-on FixClient for that session of the sandbox."""
    from fixclient import FixClient

    clients: list[FixClient] = []

    def _connect(comp_id: str, password: str = "sandbox") -> FixClient:
        client = FixClient(venue.port, comp_id, password=password)
        answer = client.logon()
        assert answer.type == "A", f"logon of {comp_id} refused: {answer}"
        clients.append(client)
        return client

    yield _connect
    for c in clients:
        c.logout(timeout=1)
