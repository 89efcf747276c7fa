"""FIX logon checks: Username(553) must be the session's CompID and Password(554) must match.

Every attempt, accepted or refused, is recorded in the store's auth_events table.
"""

from __future__ import annotations

import logging

from venue.model import MemberStatus
from venue.passwords import verify_password
from venue.store import Store

log = logging.getLogger("venue.auth")


class Authenticator:
    """Checks logons against the member registry in the store (read fresh on every logon, so a
    suspension or a password change applies to the next logon without a restart)."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def check(self, comp_id: str, username: str | None, password: str | None) -> str | None:
        """None if the logon is accepted, else the reason sent in the Logout's Text(58)."""
        reason = self._reason(comp_id, username, password)
        try:
            self.store.record_auth_event(comp_id, "accepted" if reason is None else "refused",
                                         reason or "logon accepted")
        except Exception:  # noqa: BLE001 - an audit write failure must not let a bad logon through
            log.exception("could not record logon attempt of %s", comp_id)
            return reason or "Logon not possible now: venue store unavailable"
        return reason

    def _reason(self, comp_id: str, username: str | None, password: str | None) -> str | None:
        if not username or password is None:
            return "Username(553) and Password(554) are required"
        if username != comp_id:
            return "Username(553) must equal SenderCompID(49)"
        session, member = self.store.session_with_member(comp_id)
        if session is None:
            return "Unknown CompID"
        if not verify_password(password, session.password_hash):
            return "Invalid username or password"
        if session.member_id is not None and (member is None or member.status is not MemberStatus.ACTIVE):
            return "Member is suspended"
        return None
