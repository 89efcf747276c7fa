"""The console's live view of the running venue, in the FIX process: which FIX sessions are logged
on (the SessionEvents the FIX callbacks hand to the engine, seen on their way) and the engine's
feed (`venue.console.feed`: depth, phases, degraded mode). Pages that update live wait on
`changed()`; nothing here is ever fabricated: before the first feed the console says it has none.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from venue.console.feed import HEARTBEAT_SECONDS
from venue.messages import SessionEvent

log = logging.getLogger("venue.console")


class LiveState:
    """What the console knows live; every change bumps `version` and wakes the waiting pages."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self.version = 0
        self.sessions_up: set[str] = set()
        self.feed: dict | None = None
        self._feed_at = 0.0  # monotonic time of the last feed

    def watch(self, submit: Callable) -> Callable:
        """`submit` (the FIX callbacks' way to the engine), noting each session's logon and logout."""

        def watched(cmd) -> None:
            if isinstance(cmd, SessionEvent):
                self._session(cmd.comp_id, cmd.logged_on)
            submit(cmd)

        return watched

    def _session(self, comp_id: str, up: bool) -> None:
        try:
            with self._cond:
                (self.sessions_up.add if up else self.sessions_up.discard)(comp_id)
                self.version += 1
                self._cond.notify_all()
        except Exception:  # noqa: BLE001 - never in the way of a FIX callback
            log.exception("console: could not note the session event of %s", comp_id)

    def on_feed(self, payload: dict) -> None:
        """The engine's state arrived (venue.console.feed.EngineFeed)."""
        with self._cond:
            changed = self.feed is None or {k: v for k, v in payload.items() if k != "at_us"} != {
                k: v for k, v in self.feed.items() if k != "at_us"
            }
            self.feed = payload
            self._feed_at = time.monotonic()
            if changed:
                self.version += 1
                self._cond.notify_all()

    def feed_stale(self) -> bool:
        """No feed yet, or none for three heartbeats: the engine's state is not known."""
        return self.feed is None or time.monotonic() - self._feed_at > 3 * HEARTBEAT_SECONDS

    def changed(self, version: int, timeout: float) -> int:
        """Wait until `version` is out of date (or `timeout` seconds); the current version."""
        with self._cond:
            self._cond.wait_for(lambda: self.version != version, timeout)
            return self.version

    def sessions(self) -> frozenset[str]:
        with self._cond:
            return frozenset(self.sessions_up)
