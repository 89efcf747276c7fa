"""Who is on the other end of a FIX connection, as QuickFIX tells the session's event log.

QuickFIX's acceptors write "Allows connections to the acceptor from <address>" into the event log
of the session a connection's Logon names, just before handing that Logon to the application; the
venue's build of quickfix (scripts/build-quickfix.sh) adds the TLS peer's certificate to that line:
"...; client certificate SHA256=<hex> CN=<common name>". `PeerLogFactory` wraps the session logs
to catch that line and tell the application (`on_peer`), which checks the Logon against it
(transport, address allow-list, certificate bound to the CompID). Everything is passed on to
QuickFIX's file log unchanged.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass

import quickfix as fix

log = logging.getLogger("venue.fix")

_ALLOWS = re.compile(
    r"^Allows connections to the acceptor from (?P<address>\S+?)"
    r"(?:; client certificate SHA256=(?P<sha256>[0-9a-f]+|none) CN=(?P<cn>.*))?$"
)


@dataclass(frozen=True, slots=True)
class Peer:
    """The remote end of a connection: its address and, over TLS, its verified client certificate."""

    address: str
    tls: bool = False
    cert_sha256: str | None = None
    cert_cn: str | None = None


def parse_event(text: str) -> Peer | None:
    """The peer an "Allows connections" event names, or None for any other event."""
    m = _ALLOWS.match(text)
    if m is None:
        return None
    if m.group("sha256") is None:
        return Peer(m.group("address"))
    sha = m.group("sha256")
    return Peer(m.group("address"), True, None if sha == "none" else sha, m.group("cn") or None)


class _SessionLog(fix.Log):
    def __init__(self, session: str, inner, on_peer: Callable[[str, Peer], None]) -> None:
        super().__init__()
        self._session, self._inner, self._on_peer = session, inner, on_peer

    def clear(self) -> None:
        if self._inner is not None:
            self._inner.clear()

    def backup(self) -> None:
        if self._inner is not None:
            self._inner.backup()

    def onIncoming(self, text: str) -> None:
        if self._inner is not None:
            self._inner.onIncoming(text)

    def onOutgoing(self, text: str) -> None:
        if self._inner is not None:
            self._inner.onOutgoing(text)

    def onEvent(self, text: str) -> None:
        if self._inner is not None:
            self._inner.onEvent(text)
        try:
            peer = parse_event(text)
            if peer is not None:
                self._on_peer(self._session, peer)
            elif text.startswith("Deny connections to the acceptor from"):
                log.warning("%s: %s", self._session, text)
        except Exception:  # noqa: BLE001 - never raise into QuickFIX's thread
            log.exception("%s: could not read the connection event %r", self._session, text)


class PeerLogFactory(fix.LogFactory):
    """Session logs that report each connection's peer to `on_peer(session_id, peer)` and write
    everything to QuickFIX's file log (when `settings` are given) as before."""

    def __init__(self, on_peer: Callable[[str, Peer], None], settings=None) -> None:
        super().__init__()
        self._on_peer = on_peer
        self._file = fix.FileLogFactory(settings) if settings is not None else None
        # QuickFIX keeps the logs it is given for the acceptor's lifetime and never frees them
        # through this factory: they live as long as the process (a handful, one per session).
        self._logs: list[_SessionLog] = []

    def create(self, *args) -> _SessionLog:
        inner = self._file.create(*args) if self._file is not None else None
        log_ = _SessionLog(args[0].toString() if args else "acceptor", inner, self._on_peer)
        log_.thisown = False
        self._logs.append(log_)
        return log_

    def destroy(self, log_) -> None:
        """The logs stay until the process ends (see __init__)."""
