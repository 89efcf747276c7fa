"""Shared fixtures: a store URL on each backend, and a sandbox venue running as a real process."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

PG_ADMIN_URL = os.environ.get("VENUE_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from venuetest import ROOT, TEST_READ_REASON, free_port, operators_section  # noqa: E402


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


class VenueProcess:
    """`venue sandbox` (or `venue serve`) in a subprocess, as an operator would run it."""

    def __init__(self, data_dir: Path, port: int, db_url: str | None, tls_port: int | None = None) -> None:
        self.data_dir, self.port, self.db_url = data_dir, port, db_url
        self.tls_port = tls_port or free_port(port)
        self.proc: subprocess.Popen | None = None
        self.output: list[str] = []

    def _cmd(self, *args: str) -> list[str]:
        base = [sys.executable, "-m", "venue.cli"]
        if self.db_url:
            base += ["--db-url", self.db_url]
        return base + list(args)

    def start_sandbox(self, fresh: bool = True, chain: str = "none", session_start: str | None = None) -> VenueProcess:
        """`venue sandbox`; `chain`: "none" (most tests: trades stay unsettled), "embedded" or a URL.
        The FIX day starts at `session_start`, by default 12 hours from now: a test running across
        it would see its sessions logged out and reset (tests/integration/test_fix_day.py does so
        on purpose)."""
        args = ["sandbox", "--port", str(self.port), "--tls-port", str(self.tls_port)]
        args += ["--session-start", session_start or time.strftime("%H:%M:%S", time.gmtime(time.time() + 12 * 3600))]
        args += ["--data-dir", str(self.data_dir), "--chain", chain]
        if not fresh:
            args.append("--resume")
        return self._spawn(self._cmd(*args))

    def restart(self) -> VenueProcess:
        """Start again on the same store and data directory (`venue serve`)."""
        return self._spawn(self._cmd("--config", str(self.data_dir / "venue.toml"), "serve"))

    def _spawn(self, cmd: list[str]) -> VenueProcess:
        self.output = []
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=ROOT)
        ready = threading.Event()

        def pump(proc=self.proc) -> None:
            assert proc.stdout is not None
            for line in proc.stdout:
                self.output.append(line)
                if "venue ready" in line:
                    ready.set()

        threading.Thread(target=pump, daemon=True).start()
        deadline = time.monotonic() + 60
        while not ready.wait(0.1):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("venue did not start:\n" + "".join(self.output[-40:]))
        return self

    def cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        """Run a `venue` CLI command against this venue's store."""
        res = subprocess.run(
            self._cmd("--config", str(self.data_dir / "venue.toml"), *args),
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=60,
            env={"VENUE_READ_REASON": TEST_READ_REASON, **os.environ},
        )
        if check and res.returncode != 0:
            raise AssertionError(f"venue {' '.join(args)} failed ({res.returncode}):\n{res.stdout}\n{res.stderr}")
        return res

    def kill(self) -> None:
        """SIGKILL: no clean-up of any kind."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> int | None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        return self.proc.returncode if self.proc else None


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
