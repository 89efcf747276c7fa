"""Who uses the console: operators log in with their operator token (`[operators] tokens` of the
venue config, listed by SHA-256: `venue.access.token_hash`) and get a session, a random id in an
HttpOnly, SameSite=Strict cookie, with its own CSRF token for every form that changes anything.

The session keeps the token's hash, never the token; each request looks the hash up in the config
again, so an operator whose token an admin removes is logged out at the next click, and a changed
role applies at once (as each `venue` command reads the config when it runs).
"""

from __future__ import annotations

import hmac
import logging
import secrets
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from venue.access import Operator, Operators, load_operators, token_hash
from venue.config import ConfigError

log = logging.getLogger("venue.console")

COOKIE = "venue_console"
IDLE_SECONDS = 30 * 60  # a session unused this long ends
MAX_SECONDS = 12 * 3600  # and every session ends after this long
MAX_SESSIONS = 256


class LoginRefused(Exception):
    """The token is not an operator's (the message says so, without saying which tokens exist)."""


@dataclass(slots=True)
class Session:
    """One logged-in browser: the operator's token hash, its CSRF token, a message to show once."""

    sid: str
    digest: str
    csrf: str
    started: float
    seen: float
    flash: list[str] = field(default_factory=list)


class ConfiguredOperators:
    """The `[operators]` of the venue config, read again when the file changes."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._stamp: tuple[int, int] | None = None
        self._operators: Operators | None = None
        self._lock = threading.Lock()

    def current(self) -> Operators | None:
        """The operators now (None: the config names none, or cannot be read: nobody gets in)."""
        if self.path is None:
            return None
        try:
            st = self.path.stat()
        except OSError:
            return None
        stamp = (st.st_mtime_ns, st.st_size)
        with self._lock:
            if stamp != self._stamp:
                try:
                    self._operators = load_operators(self.path)
                except ConfigError as exc:
                    log.error("console: operators cannot be read, nobody may log in: %s", exc)
                    self._operators = None
                self._stamp = stamp
            return self._operators

    def by_digest(self, digest: str) -> Operator | None:
        operators = self.current()
        listed = operators.tokens.get(digest) if operators is not None else None
        return Operator(listed[0], listed[1], "token") if listed else None


class Sessions:
    """The console's sessions, in memory (a restart of the venue logs everyone out)."""

    def __init__(self, operators: ConfiguredOperators) -> None:
        self.operators = operators
        self._sessions: dict[str, Session] = {}
        self._lock = threading.Lock()

    def login(self, token: str) -> tuple[Session, Operator]:
        """A new session for the operator whose token this is; LoginRefused otherwise."""
        token = token.strip()
        if not token:
            raise LoginRefused("give your operator token")
        digest = token_hash(token)
        operator = self.operators.by_digest(digest)
        if operator is None:
            raise LoginRefused("that token is not an operator's token (an admin lists it in [operators] tokens)")
        now = time.monotonic()
        session = Session(secrets.token_urlsafe(32), digest, secrets.token_urlsafe(32), now, now)
        with self._lock:
            self._expire(now)
            if len(self._sessions) >= MAX_SESSIONS:  # the oldest one goes
                del self._sessions[min(self._sessions.values(), key=lambda s: s.seen).sid]
            self._sessions[session.sid] = session
        return session, operator

    def find(self, sid: str | None) -> tuple[Session, Operator] | None:
        """The session of this cookie and its operator as the config says now; None when there is
        none, it expired, or the token is no longer listed."""
        if not sid:
            return None
        now = time.monotonic()
        with self._lock:
            session = self._sessions.get(sid)
            if session is None or now - session.seen > IDLE_SECONDS or now - session.started > MAX_SECONDS:
                self._sessions.pop(sid, None)
                return None
            session.seen = now
        operator = self.operators.by_digest(session.digest)
        if operator is None:
            self.logout(sid)
            return None
        return session, operator

    def logout(self, sid: str) -> None:
        with self._lock:
            self._sessions.pop(sid, None)

    def _expire(self, now: float) -> None:
        for sid in [
            s.sid for s in self._sessions.values() if now - s.seen > IDLE_SECONDS or now - s.started > MAX_SECONDS
        ]:
            del self._sessions[sid]


def csrf_ok(session: Session, given: str | None) -> bool:
    """The form carried this session's CSRF token."""
    return bool(given) and hmac.compare_digest(session.csrf.encode(), given.encode())
