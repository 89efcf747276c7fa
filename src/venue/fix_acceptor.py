"""The FIX 4.4 acceptor: the QuickFIX Application, callbacks in, venue commands out, reports back.

Nothing else happens here: reading and writing messages is `venue.fix_codec`, messages for sessions
that are away wait in `venue.fix_held`, the settings files are `venue.fix_settings`, who is on the
other end of a connection (address, TLS client certificate) comes from `venue.fix_peer`. Every callback
catches every exception: a stray Python exception in a QuickFIX callback stops the engine, so a
fault becomes a FIX answer (8 rejected, 9 or j) and a log line, never a dead session.
"""

from __future__ import annotations

import logging
import threading
import traceback
from collections.abc import Callable
from pathlib import Path

import quickfix as fix

from venue.clock import now_us
from venue.fix_codec import SUPPORTED_APP_MESSAGES, BusinessRejectReason, Codec, MessageError, MsgType, Tag
from venue.fix_held import HeldMessages
from venue.fix_peer import Peer, PeerLogFactory
from venue.fix_settings import write_settings
from venue.messages import (
    Command,
    Report,
    SecurityStatusReport,
    SessionEvent,
    TradingSessionStatusReport,
)

log = logging.getLogger("venue.fix")

__all__ = ["FixEngine", "VenueApplication", "write_settings"]

# Reports every session gets (the others go to their session and its drop copies).
_BROADCAST = (SecurityStatusReport, TradingSessionStatusReport)


class VenueApplication(fix.Application):
    """QuickFIX application of the venue: parse, submit, answer."""

    def __init__(
        self,
        submit: Callable[[Command], None],
        authenticate: Callable[[str, str | None, str | None, Peer | None], str | None],
        held_dir: Path | None = None,
        codec: Codec | None = None,
        held_day: Callable[[], str] | None = None,
    ) -> None:
        """`held_dir`: where messages for sessions that are not logged on wait (`HeldMessages`);
        without it they go to QuickFIX's store at once. `held_day`: the current FIX day's name
        (messages held on an earlier day are dropped at logon). `codec`: reads and writes messages with the
        session's data dictionary (default: the venue's)."""
        super().__init__()
        self._submit = submit
        self._authenticate = authenticate
        self.codec = codec or Codec()
        self._comp_ids: dict[str, str] = {}  # SessionID string -> counterparty CompID
        self._session_ids: dict[str, fix.SessionID] = {}
        self._logged_on: set[str] = set()
        self._held = HeldMessages(held_dir, held_day) if held_dir is not None else None
        self._held_lock = threading.Lock()
        self._live: set[str] = set()  # sessions whose messages go to QuickFIX at once (held ones handed over)
        self._hand_over_after_logon: set[str] = set()  # logging on with ResetSeqNumFlag=Y
        self._peers: dict[str, Peer] = {}  # SessionID string -> the connection now logging on

    def on_peer(self, session: str, peer: Peer) -> None:
        """QuickFIX has given `session` a connection from `peer`; its Logon comes next (same thread)."""
        self._peers[session] = peer

    # ------------------------------------------------------------ session callbacks
    def onCreate(self, sessionID):  # noqa: N802, N803 - QuickFIX names
        try:
            comp_id = sessionID.getTargetCompID().getValue()
            self._comp_ids[sessionID.toString()] = comp_id
            self._session_ids[comp_id] = fix.SessionID(
                sessionID.getBeginString().getValue(), sessionID.getSenderCompID().getValue(), comp_id
            )
        except Exception:  # noqa: BLE001
            log.error("onCreate failed\n%s", traceback.format_exc())

    def onLogon(self, sessionID):  # noqa: N802, N803
        try:
            comp_id = self._comp_ids.get(sessionID.toString(), "?")
            if comp_id in self._hand_over_after_logon:
                self._hand_over_after_logon.discard(comp_id)
                self._hand_over(comp_id, sessionID)
            self._logged_on.add(comp_id)
            log.info("logon %s", comp_id)
            self._submit(SessionEvent(comp_id, True))
        except Exception:  # noqa: BLE001
            log.error("onLogon failed\n%s", traceback.format_exc())

    def onLogout(self, sessionID):  # noqa: N802, N803
        try:
            comp_id = self._comp_ids.get(sessionID.toString(), "?")
            self._live.discard(comp_id)  # no lock: QuickFIX holds the session's mutex here
            if comp_id in self._logged_on:
                self._logged_on.discard(comp_id)
                log.info("logout %s", comp_id)
                self._submit(SessionEvent(comp_id, False))
        except Exception:  # noqa: BLE001
            log.error("onLogout failed\n%s", traceback.format_exc())

    def toAdmin(self, message, sessionID):  # noqa: N802, N803
        return

    def toApp(self, message, sessionID):  # noqa: N802, N803
        return

    def fromAdmin(self, message, sessionID):  # noqa: N802, N803
        try:
            if message.getHeader().getField(Tag.MsgType) != MsgType.LOGON:
                return
            comp_id = self._comp_ids.get(sessionID.toString(), "")
            username = message.getField(Tag.Username) if message.isSetField(Tag.Username) else None
            password = message.getField(Tag.Password) if message.isSetField(Tag.Password) else None
            reason = self._authenticate(comp_id, username, password, self._peers.pop(sessionID.toString(), None))
            if reason is None:
                if message.isSetField(Tag.ResetSeqNumFlag) and message.getField(Tag.ResetSeqNumFlag) == "Y":
                    # Sequence numbers restart at 1 with the Logon answer: nothing may be stored
                    # before it. What was held is sent once the session is logged on (onLogon).
                    self._hand_over_after_logon.add(comp_id)
                else:
                    self._hand_over(comp_id, sessionID)
        except Exception:  # noqa: BLE001
            log.error("logon check failed\n%s", traceback.format_exc())
            reason = "Logon could not be checked; try again later"
        if reason is not None:
            log.warning("logon refused for %s: %s", sessionID.toString(), reason)
            raise fix.RejectLogon(reason)

    def fromApp(self, message, sessionID):  # noqa: N802, N803
        received = now_us()
        comp_id = self._comp_ids.get(sessionID.toString(), "")
        msg_type = ""
        try:
            fields = self.codec.fields(message)
            msg_type = fields.get(Tag.MsgType) or ""
            cmd = self.codec.command(message, fields, comp_id, received)
            if cmd is None:
                self._business_reject(
                    message,
                    sessionID,
                    msg_type,
                    BusinessRejectReason.UNSUPPORTED_MESSAGE_TYPE,
                    f"Unsupported message type {msg_type}: the venue accepts {', '.join(SUPPORTED_APP_MESSAGES)}",
                )
                return
            self._submit(cmd)
        except MessageError as exc:
            self._safe_business_reject(message, sessionID, msg_type, BusinessRejectReason.OTHER, exc.text)
        except Exception as exc:  # noqa: BLE001
            log.error("fromApp failed on %s\n%s", message.toString().replace("\x01", "|"), traceback.format_exc())
            self._safe_business_reject(
                message,
                sessionID,
                msg_type,
                BusinessRejectReason.OTHER,
                f"Message could not be processed ({type(exc).__name__}); nothing was done",
            )

    # ------------------------------------------------------------ reports -> FIX
    def send(self, report: Report) -> None:
        """Send a venue report to every session it is for: the member and its drop copies, or every
        session (a status report). Each send sets the whole header again."""
        copies = self.answer(report)
        if copies is not None:
            copies()

    def answer(self, report: Report) -> Callable[[], None] | None:
        """Send a venue report to the session it answers (or to every session: a status report);
        its drop copies are returned as a call for later, so the next member's answer does not wait
        behind them (`venue.sequencer.send_reports`). The message is encoded once for all of them.
        Called from the sender thread."""
        msg = self.codec.encode(report)
        if isinstance(report, _BROADCAST):
            for comp_id in list(self._session_ids):
                self._send_to(msg, comp_id)
            return None
        self._send_to(msg, report.to)
        copy_to = getattr(report, "copy_to", ())
        if not copy_to:
            return None

        def copies() -> None:
            for comp_id in copy_to:
                self._send_to(msg, comp_id)

        return copies

    def _send_to(self, msg, comp_id: str) -> None:
        session_id = self._session_ids.get(comp_id)
        if session_id is None:
            log.warning("no FIX session %s; report dropped", comp_id)
            return
        if self._held is not None and comp_id not in self._live:
            with self._held_lock:  # the session may be logging on: its held messages go first
                if comp_id not in self._live:
                    self._held.hold(comp_id, msg.toString())
                    return
        fix.Session.sendToTarget(msg, session_id)

    def flush_held(self) -> None:
        """End of a report batch: what was held is in its file before the batch counts as sent."""
        if self._held is not None:
            with self._held_lock:
                self._held.flush()

    def _hand_over(self, comp_id: str, session_id) -> None:
        """A session's Logon passed the checks: hand QuickFIX what was held for it, before QuickFIX
        answers the Logon (the session is not logged on yet, so each is stored under the next
        sequence number, not sent), or, after a Logon that resets sequence numbers, once it is
        logged on (each is sent). From here its messages go to QuickFIX at once."""
        if self._held is None:
            return
        with self._held_lock:
            held = self._held.take(comp_id)
            for raw, maybe_sent in held:
                try:
                    msg = fix.Message(raw, False)
                    if maybe_sent:
                        msg.getHeader().setField(Tag.PossResend, "Y")
                    fix.Session.sendToTarget(msg, session_id)
                except Exception:  # noqa: BLE001 - one bad record must not keep the session out
                    log.error(
                        "%s: a held message could not be handed over: %r\n%s", comp_id, raw, traceback.format_exc()
                    )
            self._held.handed(comp_id)
            self._live.add(comp_id)
        if held:
            log.info("%s: %d messages held while it was away handed over for its resend", comp_id, len(held))

    def _safe_business_reject(self, message, sessionID, msg_type: str, reason: str, text: str) -> None:
        try:
            self._business_reject(message, sessionID, msg_type, reason, text)
        except Exception:  # noqa: BLE001
            log.error("could not send BusinessMessageReject\n%s", traceback.format_exc())

    def _business_reject(self, message, sessionID, msg_type: str, reason: str, text: str) -> None:
        header = message.getHeader()
        seq = header.getField(Tag.MsgSeqNum) if header.isSetField(Tag.MsgSeqNum) else None
        ref_id = message.getField(Tag.ClOrdID) if message.isSetField(Tag.ClOrdID) else None
        fix.Session.sendToTarget(self.codec.business_reject(seq, msg_type, ref_id, reason, text), sessionID)


class FixEngine:
    """The QuickFIX acceptors around a `VenueApplication`: plaintext and TLS, each with the sessions
    of its transport (either may have none and is then not started)."""

    def __init__(
        self,
        app: VenueApplication,
        settings_path: Path | None,
        *,
        tls_settings_path: Path | None = None,
        file_log: bool = True,
    ) -> None:
        self.app = app
        self.acceptors = []
        self._factories = []  # QuickFIX keeps pointers to these: they live as long as the engine
        for path, kind in ((settings_path, fix.ThreadedSocketAcceptor), (tls_settings_path, _ssl_acceptor())):
            if path is None:
                continue
            settings = fix.SessionSettings(str(path))
            defaults = settings.get()
            if defaults.has("DataDictionary"):
                app.codec = Codec(Path(defaults.getString("DataDictionary")))
            store_factory = fix.FileStoreFactory(settings)
            log_factory = PeerLogFactory(app.on_peer, settings if file_log else None)
            self._factories += [settings, store_factory, log_factory]
            self.acceptors.append(
                (kind(app, store_factory, settings, log_factory), defaults.getString("SocketAcceptPort"))
            )

    def start(self) -> None:
        for acceptor, port in self.acceptors:
            try:
                acceptor.start()
            except Exception as exc:  # noqa: BLE001 - the engine says "Unable to create, bind, or listen to port N"
                from venue.config import ConfigError

                self.stop()
                raise ConfigError(
                    f"cannot accept FIX sessions on port {port}: {exc} (another process on that port? choose "
                    "another with --port / --tls-port or [fix] port / tls_port)"
                ) from None

    def stop(self) -> None:
        for acceptor, _ in self.acceptors:
            try:
                acceptor.stop()
            except Exception:  # noqa: BLE001 - one acceptor failing to stop must not keep the other running
                log.exception("a FIX acceptor did not stop cleanly")


def _ssl_acceptor():
    """QuickFIX's threaded TLS acceptor, a thread per connection as for plaintext: in the venue's build
    of quickfix `SSLSocketAcceptor` wraps ThreadedSSLSocketAcceptor (scripts/build-quickfix.sh)."""
    return fix.SSLSocketAcceptor
