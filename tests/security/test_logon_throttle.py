"""Logon brute force is throttled and every attempt is on record.

Choices: the lockout rules are unit-tested on the Authenticator with a real store (SQLite and
PostgreSQL) and an injected clock, so the timings (window, lockout, doubling, cap) are exact and
instant. Over FIX the venue runs with its defaults (5 failures within 60 s lock the CompID for
60 s): five wrong passwords, then the right one, which is refused as locked, while other CompIDs
log on as usual; `venue logons --json` shows the outcomes. Lockouts live in memory: a restart
clears them (documented in venue.auth).
"""

from __future__ import annotations

import json

import pytest
from fixclient import FixClient

from venue.auth import Authenticator
from venue.fix_peer import Peer
from venue.sandbox import seed
from venue.store import Store

LOCKED = "Too many failed logons: try again in"
LOCAL = Peer("127.0.0.1")  # a plaintext connection from loopback


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def store(store_url):
    s = Store(store_url)
    s.migrate()
    seed(s)
    yield s
    s.dispose()


def outcomes(store: Store, comp_id: str) -> list[str]:
    return [e["outcome"] for e in store.auth_events(comp_id)]


def test_lockout_after_n_failures_refuses_even_the_right_password(store):
    clock = Clock()
    auth = Authenticator(store, max_failures=3, window_s=10, lockout_s=30, max_lockout_s=100, clock=clock)
    for _ in range(3):
        assert auth.check("BRKA", "BRKA", "wrong", LOCAL) == "Invalid username or password"
        clock.now += 1
    # locked at the third failure (t+2) for 30 s: at t+3, 29 s are left
    assert auth.check("BRKA", "BRKA", "sandbox", LOCAL) == f"{LOCKED} 29 seconds"
    assert auth.check("BRKB", "BRKB", "sandbox", LOCAL) is None, "other CompIDs are not affected"
    clock.now += 28.5
    assert auth.check("BRKA", "BRKA", "sandbox", LOCAL) == f"{LOCKED} 1 seconds"
    clock.now += 0.5
    assert auth.check("BRKA", "BRKA", "sandbox", LOCAL) is None, "the lockout expires"
    assert outcomes(store, "BRKA") == ["refused"] * 3 + ["locked"] * 2 + ["accepted"]
    locked = [e["reason"] for e in store.auth_events("BRKA") if e["outcome"] == "locked"]
    assert locked == [
        f"{LOCKED} 29 seconds (from 127.0.0.1, plaintext)",
        f"{LOCKED} 1 seconds (from 127.0.0.1, plaintext)",
    ]


def test_locked_attempts_do_not_check_the_password(store, monkeypatch):
    clock = Clock()
    auth = Authenticator(store, max_failures=2, window_s=10, lockout_s=5, clock=clock)
    auth.check("BRKA", "BRKA", "x", LOCAL)
    auth.check("BRKA", "BRKA", "y", LOCAL)
    checked: list[str] = []
    monkeypatch.setattr("venue.auth.verify_password", lambda pw, stored: checked.append(pw) or True)
    assert auth.check("BRKA", "BRKA", "sandbox", LOCAL).startswith(LOCKED)
    assert checked == [], "no password check while locked"


def test_failures_outside_the_window_do_not_add_up(store):
    clock = Clock()
    auth = Authenticator(store, max_failures=3, window_s=10, lockout_s=30, clock=clock)
    for _ in range(6):
        assert auth.check("BRKA", "BRKA", "wrong", LOCAL) == "Invalid username or password"
        clock.now += 5.5  # never three failures within 10 s
    assert auth.lockout_left("BRKA") is None
    assert outcomes(store, "BRKA") == ["refused"] * 6


def test_success_resets_the_count(store):
    clock = Clock()
    auth = Authenticator(store, max_failures=3, window_s=60, lockout_s=30, clock=clock)
    for _ in range(2):
        auth.check("BRKA", "BRKA", "wrong", LOCAL)
    assert auth.check("BRKA", "BRKA", "sandbox", LOCAL) is None
    for _ in range(2):
        assert auth.check("BRKA", "BRKA", "wrong", LOCAL) == "Invalid username or password"
    assert auth.lockout_left("BRKA") is None, "two failures after a success do not lock"


def test_lockouts_double_up_to_the_cap_and_success_resets_them(store):
    clock = Clock()
    auth = Authenticator(store, max_failures=2, window_s=60, lockout_s=10, max_lockout_s=35, clock=clock)
    durations = []
    for _ in range(4):
        auth.check("BRKA", "BRKA", "wrong", LOCAL)
        auth.check("BRKA", "BRKA", "wrong", LOCAL)
        left = auth.lockout_left("BRKA")
        durations.append(left)
        clock.now += left
    assert durations == [10, 20, 35, 35]
    assert auth.check("BRKA", "BRKA", "sandbox", LOCAL) is None
    auth.check("BRKA", "BRKA", "wrong", LOCAL)
    auth.check("BRKA", "BRKA", "wrong", LOCAL)
    assert auth.lockout_left("BRKA") == 10, "a successful logon resets the doubling"


def test_every_kind_of_refusal_counts(store):
    auth = Authenticator(store, max_failures=3, window_s=60, lockout_s=30, clock=Clock())
    assert auth.check("BRKA", None, None, LOCAL) == "Username(553) and Password(554) are required"
    assert auth.check("BRKA", "BRKB", "sandbox", LOCAL) == "Username(553) must equal SenderCompID(49)"
    assert auth.check("BRKA", "BRKA", "nope", LOCAL) == "Invalid username or password"
    assert auth.check("BRKA", "BRKA", "sandbox", LOCAL).startswith(LOCKED)


def test_settings_from_the_environment(store, monkeypatch):
    monkeypatch.setenv("VENUE_LOGON_MAX_FAILURES", "2")
    monkeypatch.setenv("VENUE_LOGON_LOCKOUT_S", "7")
    monkeypatch.setenv("VENUE_LOGON_WINDOW_S", "junk")
    auth = Authenticator(store)
    assert (auth.max_failures, auth.lockout_s, auth.window_s, auth.max_lockout_s) == (2, 7, 60, 3600)
    monkeypatch.delenv("VENUE_LOGON_MAX_FAILURES")
    assert Authenticator(store).max_failures == 5
    with pytest.raises(ValueError):
        Authenticator(store, max_failures=0)


def test_real_clock_lockout_expires(store):
    import time

    auth = Authenticator(store, max_failures=1, window_s=5, lockout_s=0.3)
    auth.check("BRKA", "BRKA", "wrong", LOCAL)
    assert auth.check("BRKA", "BRKA", "sandbox", LOCAL) == f"{LOCKED} 1 seconds"
    time.sleep(0.35)
    assert auth.check("BRKA", "BRKA", "sandbox", LOCAL) is None


def _attempt(port: int, comp_id: str, password: str):
    client = FixClient(port, comp_id, password=password)
    try:
        return client.logon(timeout=10, reset=True)
    finally:
        client.close()


def test_brute_force_over_fix_is_locked_out_and_logged(venue):
    for _ in range(5):
        answer = _attempt(venue.port, "BRKA", "guess")
        assert answer.type == "5" and "Invalid username or password" in answer.get(58, "")
    answer = _attempt(venue.port, "BRKA", "sandbox")
    assert answer.type == "5", "the right password is refused while locked"
    assert LOCKED in answer.get(58, "") and answer[58].endswith(" seconds"), "the engine prefixes its own words"
    seconds = int(answer[58].split()[-2])
    assert 50 <= seconds <= 60, answer[58]
    other = FixClient(venue.port, "BRKB")
    assert other.logon(reset=True).type == "A", "another CompID logs on as usual"
    other.logout()
    events = json.loads(venue.cli("logons", "--comp-id", "BRKA", "--json").stdout)
    assert [e["outcome"] for e in events] == ["refused"] * 5 + ["locked"]
    assert events[-1]["reason"].startswith(LOCKED)
