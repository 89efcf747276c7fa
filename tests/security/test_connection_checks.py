"""The logon's connection checks (venue.auth.Authenticator) with a real store on SQLite and
PostgreSQL, and the connection event they are fed from (venue.fix_peer.parse_event): the same
rules the TLS tests exercise over sockets, here for every branch, including those a test host
cannot produce (a logon whose connection was never reported; a peer on another network)."""

from __future__ import annotations

import pytest

from venue.auth import Authenticator
from venue.fix_peer import Peer, parse_event
from venue.sandbox import seed
from venue.store import Store

SHA = "ab" * 32
LOCAL = Peer("127.0.0.1")
REMOTE = Peer("203.0.113.7")


def tls(cn: str | None, address: str = "203.0.113.7", sha: str | None = SHA) -> Peer:
    return Peer(address, True, sha, cn)


@pytest.fixture
def store(store_url):
    s = Store(store_url)
    s.migrate()
    seed(s)
    yield s
    s.dispose()


def test_connection_events_are_read_with_and_without_a_certificate():
    assert parse_event("Allows connections to the acceptor from 127.0.0.1") == LOCAL
    assert parse_event(
        f"Allows connections to the acceptor from 10.0.0.5; client certificate SHA256={SHA} CN=BRKA-TLS"
    ) == (Peer("10.0.0.5", True, SHA, "BRKA-TLS"))
    assert parse_event("Allows connections to the acceptor from 10.0.0.5; client certificate SHA256=none CN=") == (
        Peer("10.0.0.5", True, None, None)
    )
    assert parse_event("Received logon") is None
    assert parse_event("Deny connections to the acceptor from 10.0.0.5") is None


@pytest.mark.parametrize(
    ("policy", "comp_id", "peer", "expected"),
    [
        ("loopback", "BRKA", LOCAL, None),
        ("loopback", "BRKA", REMOTE, "Plaintext FIX is accepted from loopback only, not from 203.0.113.7: use TLS"),
        ("loopback", "BRKA", Peer("::1"), None),
        ("any", "BRKA", REMOTE, None),
        ("off", "BRKA", LOCAL, "Plaintext FIX is not accepted by this venue: use TLS"),
        ("loopback", "BRKA", None, "Connection could not be identified; logon refused"),
        ("loopback", "BRKA", tls("BRKA"), "BRKA is a plaintext session: log on at the venue's plaintext port"),
        ("off", "BRKA-TLS", tls("BRKA-TLS"), None),
        ("loopback", "BRKA-TLS", LOCAL, "BRKA-TLS logs on over TLS only, on the venue's TLS port"),
        (
            "loopback",
            "BRKA-TLS",
            tls("BRKB-TLS"),
            "Client certificate CN=BRKB-TLS does not match SenderCompID BRKA-TLS",
        ),
        (
            "loopback",
            "BRKA-TLS",
            tls(None, sha=None),
            "Client certificate CN=(none) does not match SenderCompID BRKA-TLS",
        ),
    ],
)
def test_transport_rules(store, policy, comp_id, peer, expected):
    auth = Authenticator(store, plaintext=policy)
    assert auth.check(comp_id, comp_id, "sandbox", peer) == expected
    event = store.auth_events(comp_id)[-1]
    assert event["outcome"] == ("accepted" if expected is None else "refused")


def test_wrong_password_is_refused_before_the_connection_is_described(store):
    """The password is checked first: a stranger learns nothing about the session's transport."""
    auth = Authenticator(store)
    assert auth.check("BRKA-TLS", "BRKA-TLS", "wrong", LOCAL) == "Invalid username or password"


def test_allow_list_and_pinned_certificate(store):
    auth = Authenticator(store, plaintext="any")
    store.change(
        "session", "BRKA", {"allowed_addresses": ("203.0.113.7",)}, operator="t", reason="gateway", notify=None
    )
    assert auth.check("BRKA", "BRKA", "sandbox", REMOTE) is None
    assert auth.check("BRKA", "BRKA", "sandbox", LOCAL) == "Connections from 127.0.0.1 are not allowed for BRKA"
    store.change("session", "BRKA-TLS", {"cert_sha256": SHA}, operator="t", reason="pin", notify=None)
    assert auth.check("BRKA-TLS", "BRKA-TLS", "sandbox", tls("BRKA-TLS")) is None
    assert auth.check("BRKA-TLS", "BRKA-TLS", "sandbox", tls("BRKA-TLS", sha="cd" * 32)) == (
        "Client certificate is not the one bound to BRKA-TLS"
    )
    reasons = [e["reason"] for e in store.auth_events("BRKA-TLS")]
    assert reasons[-1].endswith(f"(from 203.0.113.7, TLS, client certificate CN=BRKA-TLS SHA256={'cd' * 32})")
