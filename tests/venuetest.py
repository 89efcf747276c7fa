"""Small helpers shared by the venue's tests (importable from any test folder)."""

from __future__ import annotations

import hashlib
import os
import pwd
import socket
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
    handed out for the same venue but not bound yet: the system may offer the same one twice)."""
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port not in taken:
            return port


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
