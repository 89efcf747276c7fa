"""Small helpers shared by the venue's tests (importable from any test folder)."""

from __future__ import annotations

import hashlib
import os
import pwd
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# Operators the tests' venue configs list: token -> "name:role" (the config holds the token's
# SHA-256). A test runs a command as one of them with `as_operator(name)`; the OS user running the
# tests is admin.
OPERATOR_TOKENS = {
    "token-of-ops-alice": "ops-alice:admin",
    "token-of-ops-bob": "ops-bob:compliance",
    "token-of-otto": "otto:ops",
    "token-of-cora": "cora:compliance",
    "token-of-rea": "rea:read-only",
}
TEST_READ_REASON = "venue test suite"  # $VENUE_READ_REASON of the tests' CLI calls that read confidential data


def os_user() -> str:
    """The OS user running the tests (the admin of every test venue)."""
    return pwd.getpwuid(os.getuid()).pw_name


def operators_section(users: dict[str, str] | None = None, tokens: dict[str, str] | None = None) -> str:
    """An `[operators]` section: `users` (default: the tests' OS user as admin) and `tokens` (token ->
    "name:role", default OPERATOR_TOKENS), listed by their SHA-256."""
    users = {os_user(): "admin"} if users is None else users
    tokens = OPERATOR_TOKENS if tokens is None else tokens
    listed = {"sha256:" + hashlib.sha256(t.encode()).hexdigest(): v for t, v in tokens.items()}
    entries = ", ".join(f'"{k}" = "{v}"' for k, v in users.items())
    hashed = ", ".join(f'"{k}" = "{v}"' for k, v in listed.items())
    return f"\n[operators]\nusers = {{ {entries} }}\ntokens = {{ {hashed} }}\n"


def as_operator(name: str) -> dict[str, str]:
    """The environment of a command run by the test operator `name` (its token)."""
    (token,) = (t for t, v in OPERATOR_TOKENS.items() if v.split(":")[0] == name)
    return {**os.environ, "VENUE_OPERATOR_TOKEN": token}


def free_port(*taken: int) -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now, and not one of `taken` (ports
    handed out for the same venue but not bound yet), chosen below the system's ephemeral range.
    A port from that range (what binding port 0 gives) is also the local port the kernel gives any
    outgoing connection on the machine: with the tests running in parallel, one was taken that way
    between this choice and the venue's bind ("Address already in use", seen in CI)."""
    low = _ephemeral_low()
    high = low if low > PORTS_FROM + 1000 else 65536  # no room below the range: anywhere above 10000
    rng = random.SystemRandom()
    while True:
        port = rng.randrange(PORTS_FROM, high)
        if port in taken:
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        return port


PORTS_FROM = 10_000


def _ephemeral_low() -> int:
    """The first port of the kernel's ephemeral range (Linux; elsewhere the common 32768)."""
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def wait_for(predicate, what: str = "condition", timeout: float = 10.0):
    """Poll `predicate` until it returns something true, and return that; fail after `timeout` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.005)
    raise AssertionError(f"timed out waiting for {what}")


class Orders:
    """Sends an order again and again until the venue answers it as expected: the venue's view of
    the chain refreshes every couple of seconds, so the first answers may come from before the
    change. Orders accepted meanwhile are canceled at once."""

    def __init__(self, client, prefix: str) -> None:
        self.client, self.prefix, self.n = client, prefix, 0

    def until(self, symbol: str, side: str, qty: int, price: str, account: str, expect, timeout: float = 30.0):
        deadline = time.monotonic() + timeout
        while True:
            self.n += 1
            cl = f"{self.prefix}{self.n}"
            self.client.new_order(cl, symbol, side, qty, price, account=account)
            answer = self.client.exec_report(cl)
            if expect(answer):
                return answer
            assert time.monotonic() < deadline, f"still {answer} after {timeout} s"
            if answer[150] == "0":
                self.client.cancel(f"X{cl}", cl, symbol, side)
                self.client.exec_report(f"X{cl}", "4")
            time.sleep(0.3)


def rejected(code: str):
    """A predicate: the order was rejected with this VenueRejectCode(20001)."""
    return lambda m: m[150] == "8" and m.get(20001) == code


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
