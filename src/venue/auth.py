"""FIX logon checks: Username(553) must be the session's CompID and Password(554) must match; the
connection must be the session's transport, from an allowed address, and over TLS carry a client
certificate whose CN is the CompID (and, if the session is bound to one, that very certificate).

Transport: a TLS session logs on only through the TLS acceptor (each session is configured on one
acceptor); a plaintext session only from a loopback address unless [fix] plaintext = "any" (and
never when it is "off"). The peer's address and certificate come from QuickFIX (`venue.fix_peer`);
a logon whose connection is unknown is refused (fail closed).

Every attempt is recorded in the store's auth_events table with its outcome: `accepted`,
`refused` (the check failed) or `locked` (refused without checking, see below).

Brute force throttling: after `max_failures` refused logons of one CompID within `window_s`
seconds, that CompID is locked out for `lockout_s` seconds. While locked, every logon is refused
with "Too many failed logons: try again in S seconds" and the password is not checked (a correct
password does not unlock it). Each further lockout before a successful logon doubles the lockout,
up to `max_lockout_s`. A successful logon clears the CompID's failures and lockout level.

The counters live in memory, in the Authenticator: a venue restart clears every lockout (the
attempts themselves stay in auth_events). Defaults come from the environment, so an operator can
change them without code: VENUE_LOGON_MAX_FAILURES (5), VENUE_LOGON_WINDOW_S (60),
VENUE_LOGON_LOCKOUT_S (60), VENUE_LOGON_MAX_LOCKOUT_S (3600); constructor arguments win.
"""

from __future__ import annotations

import logging
import math
import os
import threading
import time
from collections import deque
from collections.abc import Callable

from venue.fix_peer import Peer
from venue.model import MemberStatus, Transport
from venue.passwords import verify_password
from venue.store import Store

log = logging.getLogger("venue.auth")

DEFAULT_MAX_FAILURES = 5
DEFAULT_WINDOW_S = 60.0
DEFAULT_LOCKOUT_S = 60.0
DEFAULT_MAX_LOCKOUT_S = 3600.0


def _env_number(name: str, default: float) -> float:
    """A positive number from the environment, or `default` when unset or unusable."""
    raw = os.environ.get(name)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        log.warning("ignoring %s=%r: not a number; using %s", name, raw, default)
        return default
    if not math.isfinite(value) or value <= 0:
        log.warning("ignoring %s=%r: not a positive number; using %s", name, raw, default)
        return default
    return value


class Authenticator:
    """Checks logons against the member registry in the store (read fresh on every logon, so a
    suspension or a password change applies to the next logon without a restart), and locks out a
    CompID after repeated failures."""

    def __init__(
        self,
        store: Store,
        *,
        max_failures: int | None = None,
        window_s: float | None = None,
        lockout_s: float | None = None,
        max_lockout_s: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        plaintext: str = "loopback",
    ) -> None:
        self.store = store
        self.plaintext = plaintext
        self.max_failures = (
            max_failures
            if max_failures is not None
            else int(_env_number("VENUE_LOGON_MAX_FAILURES", DEFAULT_MAX_FAILURES))
        )
        self.window_s = window_s if window_s is not None else _env_number("VENUE_LOGON_WINDOW_S", DEFAULT_WINDOW_S)
        self.lockout_s = lockout_s if lockout_s is not None else _env_number("VENUE_LOGON_LOCKOUT_S", DEFAULT_LOCKOUT_S)
        self.max_lockout_s = (
            max_lockout_s
            if max_lockout_s is not None
            else _env_number("VENUE_LOGON_MAX_LOCKOUT_S", DEFAULT_MAX_LOCKOUT_S)
        )
        if self.max_failures < 1 or self.window_s <= 0 or self.lockout_s <= 0 or self.max_lockout_s < self.lockout_s:
            raise ValueError(
                "logon throttling needs max_failures >= 1, window_s > 0 and 0 < lockout_s <= max_lockout_s"
            )
        self._clock = clock
        self._lock = threading.Lock()  # the engine checks logons of different sessions on different threads
        self._failures: dict[str, deque[float]] = {}
        self._locked_until: dict[str, float] = {}
        self._lockouts: dict[str, int] = {}

    def check(self, comp_id: str, username: str | None, password: str | None, peer: Peer | None) -> str | None:
        """None if the logon is accepted, else the reason sent in the Logout's Text(58)."""
        where = _describe(peer)
        locked = self._lockout_left(comp_id)
        if locked is not None:
            reason = f"Too many failed logons: try again in {math.ceil(locked)} seconds"
            return self._record(comp_id, "locked", f"{reason} ({where})") or reason
        reason = self._reason(comp_id, username, password, peer)
        self._count(comp_id, failed=reason is not None)
        return (
            self._record(
                comp_id,
                "accepted" if reason is None else "refused",
                f"{reason or 'logon accepted'} ({where})",
                refused=reason is not None,
            )
            or reason
        )

    def lockout_left(self, comp_id: str) -> float | None:
        """Seconds until `comp_id` may log on again, or None if it is not locked out."""
        return self._lockout_left(comp_id)

    def _lockout_left(self, comp_id: str) -> float | None:
        with self._lock:
            until = self._locked_until.get(comp_id)
            if until is None:
                return None
            left = until - self._clock()
            if left > 0:
                return left
            del self._locked_until[comp_id]
            return None

    def _count(self, comp_id: str, failed: bool) -> None:
        with self._lock:
            if not failed:
                self._failures.pop(comp_id, None)
                self._lockouts.pop(comp_id, None)
                return
            now = self._clock()
            recent = self._failures.setdefault(comp_id, deque())
            recent.append(now)
            while recent and recent[0] <= now - self.window_s:
                recent.popleft()
            if len(recent) < self.max_failures:
                return
            recent.clear()
            level = self._lockouts.get(comp_id, 0)
            self._lockouts[comp_id] = level + 1
            duration = min(self.lockout_s * 2 ** min(level, 62), self.max_lockout_s)
            self._locked_until[comp_id] = now + duration
        log.warning(
            "logons of %s locked for %.0f s after %d failed attempts within %.0f s",
            comp_id,
            duration,
            self.max_failures,
            self.window_s,
        )

    def _record(self, comp_id: str, outcome: str, reason: str, refused: bool = True) -> str | None:
        """Write the attempt to auth_events; a reason to refuse if that is not possible."""
        try:
            self.store.record_auth_event(comp_id, outcome, reason)
        except Exception:  # noqa: BLE001 - an audit write failure must not let a bad logon through
            log.exception("could not record logon attempt of %s", comp_id)
            return None if refused else "Logon not possible now: venue store unavailable"
        return None

    def _reason(self, comp_id: str, username: str | None, password: str | None, peer: Peer | None) -> str | None:
        if not username or password is None:
            return "Username(553) and Password(554) are required"
        if username != comp_id:
            return "Username(553) must equal SenderCompID(49)"
        session, member = self.store.session_with_member(comp_id)
        if session is None:
            return "Unknown CompID"
        if not verify_password(password, session.password_hash):
            return "Invalid username or password"
        refused = self._connection(session, peer)
        if refused is not None:
            return refused
        if session.member_id is not None and (member is None or member.status is not MemberStatus.ACTIVE):
            return "Member is suspended"
        if not session.enabled:
            return "Session is disabled by venue operations"
        return None

    def _connection(self, session, peer: Peer | None) -> str | None:
        """Why this connection may not carry the session's logon, or None."""
        if peer is None:
            return "Connection could not be identified; logon refused"
        if session.allowed_addresses and peer.address not in session.allowed_addresses:
            return f"Connections from {peer.address} are not allowed for {session.comp_id}"
        if session.transport is Transport.TLS:
            if not peer.tls:
                return f"{session.comp_id} logs on over TLS only, on the venue's TLS port"
            if peer.cert_cn != session.comp_id:
                return f"Client certificate CN={peer.cert_cn or '(none)'} does not match SenderCompID {session.comp_id}"
            if session.cert_sha256 and peer.cert_sha256 != session.cert_sha256:
                return f"Client certificate is not the one bound to {session.comp_id}"
            return None
        if peer.tls:
            return f"{session.comp_id} is a plaintext session: log on at the venue's plaintext port"
        if self.plaintext == "off":
            return "Plaintext FIX is not accepted by this venue: use TLS"
        if self.plaintext == "loopback" and not is_loopback(peer.address):
            return f"Plaintext FIX is accepted from loopback only, not from {peer.address}: use TLS"
        return None


def is_loopback(address: str) -> bool:
    return address.startswith("127.") or address == "::1"


def _describe(peer: Peer | None) -> str:
    if peer is None:
        return "connection unknown"
    if not peer.tls:
        return f"from {peer.address}, plaintext"
    return f"from {peer.address}, TLS, client certificate CN={peer.cert_cn} SHA256={peer.cert_sha256}"
