"""The FIX 4.4 acceptor: translates FIX messages into venue commands and venue reports into FIX.

Nothing else happens here. Field access uses integer tags (the typed-field calls of the Python
binding cost ~0.3 ms each). Every callback catches every exception: a stray Python exception in a
QuickFIX callback stops the engine, so a fault becomes a FIX answer (8 rejected, 9 or j) and a
log line, never a dead session.

The hot reports (ExecutionReport, OrderCancelReject) are formatted as one FIX string and parsed by
the engine in one call: every call into the binding releases the GIL, and the sender thread then
waits for the sequencer to hand it back, so a report built field by field (~20 calls) cost far
more than its ~1 us per field. The engine sorts body fields by tag either way, so the wire message
is the same. Messages with repeating groups are still built field by field (parsing them needs the
data dictionary). For the same reason an incoming message is read with one `toString()` call into
a dict when it is a flat list of fields (no repeating group, no data field), field by field
otherwise.
"""

from __future__ import annotations

import functools
import logging
import os
import threading
import time
import traceback
import xml.etree.ElementTree as ET
from collections.abc import Callable
from datetime import datetime, timezone
from decimal import Decimal, InvalidOperation
from pathlib import Path

import quickfix as fix
import quickfix44 as fix44  # only for repeating-group classes: they carry the dictionary's field order

from venue.market_data import MarketDataIncrement, MarketDataReject, MarketDataSnapshot
from venue.messages import (CancelCommand, Command, ExecutionReport, MarketDataRequestCommand, MassCancelCommand,
                            MassCancelReport, NewOrderCommand, OrderCancelReject, SecurityListReport,
                            SecurityListRequestCommand,
                            ReplaceCommand, Report, SecurityStatusReport, SessionEvent, SettlementReport,
                            StatusCommand, TradingSessionStatusReport)

log = logging.getLogger("venue.fix")

BEGIN_STRING = "FIX.4.4"
SOH = "\x01"


class Tag:
    """FIX tag numbers the venue reads or writes."""

    Account = 1
    AvgPx = 6
    ClOrdID = 11
    CumQty = 14
    ExecID = 17
    ExecRefID = 19
    PossResend = 97
    ResetSeqNumFlag = 141
    LastPx = 31
    LastQty = 32
    MsgSeqNum = 34
    MsgType = 35
    OrderID = 37
    OrderQty = 38
    OrdStatus = 39
    OrdType = 40
    OrigClOrdID = 41
    Price = 44
    RefSeqNum = 45
    Side = 54
    Symbol = 55
    Text = 58
    TimeInForce = 59
    TransactTime = 60
    CxlRejReason = 102
    OrdRejReason = 103
    MinQty = 110
    ExpireTime = 126
    ExecType = 150
    LeavesQty = 151
    SettlDate = 64
    RptSeq = 83
    SecurityDesc = 107
    NoRelatedSym = 146
    SecurityReqID = 320
    SecurityResponseID = 322
    Currency = 15
    MDReqID = 262
    SubscriptionRequestType = 263
    MarketDepth = 264
    MDUpdateType = 265
    NoMDEntryTypes = 267
    NoMDEntries = 268
    MDEntryType = 269
    MDEntryPx = 270
    MDEntrySize = 271
    MDEntryID = 278
    MDUpdateAction = 279
    MDReqRejReason = 281
    MassCancelRequestType = 530
    MassCancelResponse = 531
    MassCancelRejectReason = 532
    TotalAffectedOrders = 533
    NoAffectedOrders = 534
    AffectedOrderID = 535
    SecurityListRequestType = 559
    SecurityRequestResult = 560
    RoundLot = 561
    MinPriceIncrement = 969
    TradeDate = 75
    SecurityTradingStatus = 326
    TradingSessionID = 336
    TradSesStatus = 340
    RefMsgType = 372
    BusinessRejectRefID = 379
    BusinessRejectReason = 380
    ExpireDate = 432
    CxlRejResponseTo = 434
    Username = 553
    Password = 554
    NoSides = 552
    PreviouslyReported = 570
    TradeReportID = 571
    TradingSessionSubID = 625
    TrdMatchID = 880
    SelfMatchPreventionInstruction = 2964
    VenueRejectCode = 20001
    SettlementTxHash = 20010
    SettlementBlockNumber = 20011
    SettlementStatus = 20012
    VenueReferencePrice = 20020
    PriceBandBps = 20021


class BusinessRejectReason:
    OTHER = "0"
    UNSUPPORTED_MESSAGE_TYPE = "3"
    APPLICATION_NOT_AVAILABLE = "4"


# TradingSessionStatus (35=h), one per security and phase change: TradingSessionSubID(625) as in
# FIX 5.0 (1 pre-trading, 2 opening auction, 3 continuous, 5 post-trading, 6 intraday auction) and
# TradSesStatus(340) (1 halted, 2 open, 3 closed, 4 pre-open).
TRADING_SESSION_ID = "DAY"
PHASE_CODES = {"PRE_OPEN": ("1", "4"), "OPENING_AUCTION": ("2", "4"), "CONTINUOUS": ("3", "2"),
               "PERIODIC_AUCTION": ("6", "2"), "CLOSED": ("5", "3"), "HALTED": ("", "1")}

# The longest value the venue accepts per field (its journal's column widths; numbers: digits).
FIELD_LIMITS = {Tag.ClOrdID: ("ClOrdID", 64), Tag.OrigClOrdID: ("OrigClOrdID", 64), Tag.Account: ("Account", 64),
                Tag.Symbol: ("Symbol", 32), Tag.OrderID: ("OrderID", 32), Tag.MDReqID: ("MDReqID", 64),
                Tag.SecurityReqID: ("SecurityReqID", 64), Tag.OrderQty: ("OrderQty", 24),
                Tag.MinQty: ("MinQty", 24), Tag.Price: ("Price", 24)}

SUPPORTED_APP_MESSAGES = {"D": "NewOrderSingle", "F": "OrderCancelRequest", "G": "OrderCancelReplaceRequest",
                          "H": "OrderStatusRequest", "q": "OrderMassCancelRequest", "V": "MarketDataRequest",
                          "x": "SecurityListRequest"}


class MessageError(Exception):
    """A field the venue cannot read; answered with a reject that names the field."""

    def __init__(self, tag: int, text: str) -> None:
        super().__init__(text)
        self.tag = tag
        self.text = text


@functools.lru_cache(maxsize=64)
def _utc_second(seconds: int) -> str:
    return datetime.fromtimestamp(seconds, tz=timezone.utc).strftime("%Y%m%d-%H:%M:%S")


def format_utc_us(us: int) -> str:
    """UTCTimestamp with microseconds: YYYYMMDD-HH:MM:SS.ffffff."""
    return f"{_utc_second(us // 1_000_000)}.{us % 1_000_000:06d}"


def parse_utc_us(text: str) -> int:
    """Parse a FIX UTCTimestamp (seconds, milli-, micro- or nanoseconds) into epoch microseconds."""
    base, _, frac = text.partition(".")
    dt = datetime.strptime(base, "%Y%m%d-%H:%M:%S").replace(tzinfo=timezone.utc)
    micros = int((frac + "000000")[:6]) if frac else 0
    return int(dt.timestamp()) * 1_000_000 + micros


def _dec(value: Decimal) -> str:
    return format(value, "f")


def _now_us() -> int:
    return time.time_ns() // 1000


def structural_tags(dictionary: Path) -> frozenset[int]:
    """Tags of a FIX data dictionary after which a message is no flat list of fields: repeating-group
    counts (NUMINGROUP) and the lengths of data fields (LENGTH), whose values may hold SOH.
    BodyLength(9), typed LENGTH too, is in every message and precedes no data field."""
    tags = {int(f.get("number")) for f in ET.parse(dictionary).getroot().iter("field")
            if f.get("type") in ("NUMINGROUP", "LENGTH")}
    return frozenset(tags - {9})


class _BodyFields:
    """A received message read field by field through the binding: for messages a flat dict cannot
    hold (repeating groups, data fields). Same `get` as the dict `VenueApplication._fields` returns."""

    __slots__ = ("message", "msg_type")

    def __init__(self, message) -> None:
        self.message = message
        self.msg_type = message.getHeader().getField(Tag.MsgType)

    def get(self, tag: int) -> str | None:
        if tag == Tag.MsgType:
            return self.msg_type
        for part in (self.message, self.message.getHeader(), self.message.getTrailer()):
            if part.isSetField(tag):
                return part.getField(tag)
        return None


def _message(fields: list[str], dictionary=None):
    """One message from `tag=value` strings (header fields included), parsed in one binding call;
    with the data `dictionary`, repeating groups are parsed as groups.

    Not validated here (the engine fills in the rest of the header when it sends). A value holding
    SOH would split into stray fields: it is sent with a space instead.
    """
    raw = SOH.join(fields) + SOH
    if raw.count(SOH) != len(fields):
        raw = SOH.join(f.replace(SOH, " ") for f in fields) + SOH
    return fix.Message(raw, False) if dictionary is None else fix.Message(raw, dictionary, False)


class HeldMessages:
    """Messages for sessions that are not logged on, kept in a file per session until it logs on.

    QuickFIX stores a message for a logged-off session under its next sequence number (files
    written and flushed per message) so that the counterparty gets it by ResendRequest. Most such
    messages are drop copies for sessions that are away, and that cost was more than the member's
    own report. Here they are appended to `<directory>/<CompID>` instead (length-prefixed records,
    one write per session per report batch) and handed to QuickFIX when the session logs on, before
    the venue answers its Logon: they take the next sequence numbers then, the Logon answer comes
    after them, and the counterparty recovers them by ResendRequest exactly as before (only
    SendingTime/OrigSendingTime tell when they were handed over; TransactTime is unchanged).

    A file being handed over is renamed `<CompID>.handing`; one left from a process that died
    meanwhile is handed over again first, every message flagged PossResend(97)=Y.
    """

    HANDING = ".handing"

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        self._pending: dict[str, list[bytes]] = {}

    def hold(self, comp_id: str, raw: str) -> None:
        data = raw.encode()
        self._pending.setdefault(comp_id, []).append(b"%d:%b" % (len(data), data))

    def flush(self) -> None:
        """Write what was held since the last flush (the report batch's end: before it counts as sent)."""
        while self._pending:
            comp_id, records = next(iter(self._pending.items()))
            with open(self.directory / comp_id, "ab") as f:  # a failure (disk full) keeps them for the next try
                f.write(b"".join(records))
            del self._pending[comp_id]

    def take(self, comp_id: str) -> list[tuple[str, bool]]:
        """Everything held for the session, oldest first, as (message, may have been sent before);
        the file is renamed until `handed` says QuickFIX has all of it."""
        self.flush()
        out: list[tuple[str, bool]] = []
        handing = self.directory / (comp_id + self.HANDING)
        if handing.exists():  # a hand-over that did not finish: perhaps partly stored already
            out += [(raw, True) for raw in self._read(handing)]
        path = self.directory / comp_id
        if path.exists():
            fresh = self._read(path)
            if handing.exists():
                with open(handing, "ab") as f:
                    f.write(path.read_bytes())
                path.unlink()
            else:
                os.replace(path, handing)
            out += [(raw, False) for raw in fresh]
        return out

    def handed(self, comp_id: str) -> None:
        (self.directory / (comp_id + self.HANDING)).unlink(missing_ok=True)

    def count(self, comp_id: str) -> int:
        """Messages held for the session (on disk and not yet flushed)."""
        n = len(self._pending.get(comp_id, ()))
        for suffix in ("", self.HANDING):
            path = self.directory / (comp_id + suffix)
            if path.exists():
                n += len(self._read(path))
        return n

    @staticmethod
    def _read(path: Path) -> list[str]:
        """The file's records; a last record cut short (the process died while writing) is left out:
        its report batch was never counted as sent, so the venue sends it again at start-up."""
        data = path.read_bytes()
        out, i = [], 0
        while i < len(data):
            colon = data.find(b":", i)
            if colon < 0 or not data[i:colon].isdigit():
                break
            end = colon + 1 + int(data[i:colon])
            if end > len(data):
                break
            out.append(data[colon + 1:end].decode())
            i = end
        return out


class VenueApplication(fix.Application):
    """QuickFIX application of the venue: parse, submit, answer."""

    def __init__(self, submit: Callable[[Command], None], authenticate: Callable[[str, str | None, str | None],
                 str | None], held_dir: Path | None = None) -> None:
        """`held_dir`: where messages for sessions that are not logged on wait (`HeldMessages`);
        without it they go to QuickFIX's store at once."""
        super().__init__()
        self._submit = submit
        self._authenticate = authenticate
        self._comp_ids: dict[str, str] = {}  # SessionID string -> counterparty CompID
        self._session_ids: dict[str, fix.SessionID] = {}
        self._logged_on: set[str] = set()
        self._held = HeldMessages(held_dir) if held_dir is not None else None
        self._held_lock = threading.Lock()
        self._live: set[str] = set()  # sessions whose messages go to QuickFIX at once (held ones handed over)
        self._hand_over_after_logon: set[str] = set()  # logging on with ResetSeqNumFlag=Y
        # Set from the session's data dictionary (`FixEngine`); until then messages are read and
        # messages with groups built field by field.
        self.structural_tags: frozenset[int] | None = None
        self.dictionary: fix.DataDictionary | None = None

    # ------------------------------------------------------------ session callbacks
    def onCreate(self, sessionID):  # noqa: N802, N803 - QuickFIX names
        try:
            comp_id = sessionID.getTargetCompID().getValue()
            self._comp_ids[sessionID.toString()] = comp_id
            self._session_ids[comp_id] = fix.SessionID(sessionID.getBeginString().getValue(),
                                                       sessionID.getSenderCompID().getValue(), comp_id)
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
            if message.getHeader().getField(Tag.MsgType) != "A":
                return
            comp_id = self._comp_ids.get(sessionID.toString(), "")
            username = message.getField(Tag.Username) if message.isSetField(Tag.Username) else None
            password = message.getField(Tag.Password) if message.isSetField(Tag.Password) else None
            reason = self._authenticate(comp_id, username, password)
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
        received = _now_us()
        comp_id = self._comp_ids.get(sessionID.toString(), "")
        msg_type = ""
        try:
            fields = self._fields(message)
            msg_type = fields.get(Tag.MsgType) or ""
            self._check_sizes(fields)
            if msg_type == "D":
                cmd: Command = self._new_order(fields, comp_id, received)
            elif msg_type == "F":
                cmd = self._cancel(fields, comp_id, received)
            elif msg_type == "G":
                cmd = self._replace(fields, comp_id, received)
            elif msg_type == "H":
                cmd = self._status(fields, comp_id, received)
            elif msg_type == "q":
                cmd = self._mass_cancel(fields, comp_id, received)
            elif msg_type == "V":
                cmd = self._market_data_request(message, fields, comp_id)
            elif msg_type == "x":
                cmd = SecurityListRequestCommand(comp_id, fields.get(Tag.SecurityReqID) or "",
                                                 fields.get(Tag.SecurityListRequestType) or "",
                                                 fields.get(Tag.Symbol))
            else:
                self._business_reject(message, sessionID, msg_type, BusinessRejectReason.UNSUPPORTED_MESSAGE_TYPE,
                                      f"Unsupported message type {msg_type}: the venue accepts "
                                      f"{', '.join(SUPPORTED_APP_MESSAGES)}")
                return
            self._submit(cmd)
        except MessageError as exc:
            self._safe_business_reject(message, sessionID, msg_type, BusinessRejectReason.OTHER, exc.text)
        except Exception as exc:  # noqa: BLE001
            log.error("fromApp failed on %s\n%s", message.toString().replace("\x01", "|"), traceback.format_exc())
            self._safe_business_reject(message, sessionID, msg_type, BusinessRejectReason.OTHER,
                                       f"Message could not be processed ({type(exc).__name__}); nothing was done")

    # ------------------------------------------------------------ FIX -> commands
    def _fields(self, message) -> dict[int, str] | _BodyFields:
        """The message's fields by tag (header and trailer included), read in one binding call.

        Only for a flat message: every tag once, no repeating-group count, no data field (its value
        may hold SOH). Anything else is read field by field from the message's body.
        """
        structural = self.structural_tags
        if structural is not None:
            chunks = message.toString().split(SOH)
            chunks.pop()  # after the last SOH
            try:
                fields = {int(tag): value for tag, _, value in (c.partition("=") for c in chunks)}
            except ValueError:
                fields = {}
            if len(fields) == len(chunks) and structural.isdisjoint(fields):
                return fields
        return _BodyFields(message)

    @staticmethod
    def _check_sizes(fields) -> None:
        """Values longer than the venue keeps, or holding a NUL byte (PostgreSQL text cannot hold
        one: the whole batch would fail to journal), are answered (35=j), never journaled. These are
        the free-text values the venue journals; the others are checked against the dictionary's
        enumerations or parsed as numbers."""
        for tag, (name, limit) in FIELD_LIMITS.items():
            value = fields.get(tag)
            if value is None:
                continue
            if len(value) > limit:
                raise MessageError(tag, f"{name}({tag}) is longer than {limit} characters")
            if "\x00" in value:
                raise MessageError(tag, f"{name}({tag}) holds a NUL byte (0x00), which the venue does not accept")

    @staticmethod
    def _str(fields, tag: int) -> str | None:
        return fields.get(tag)  # a dict from `_fields` or `_BodyFields`

    @staticmethod
    def _decimal(fields, tag: int, name: str) -> Decimal | None:
        raw = fields.get(tag)
        if raw is None:
            return None
        try:
            value = Decimal(raw)
        except InvalidOperation:
            raise MessageError(tag, f"{name}({tag}) is not a number: {raw!r}") from None
        if not value.is_finite():
            raise MessageError(tag, f"{name}({tag}) is not a finite number")
        return value

    @staticmethod
    def _timestamp(fields, tag: int, name: str) -> int | None:
        raw = fields.get(tag)
        if raw is None:
            return None
        try:
            return parse_utc_us(raw)
        except ValueError:
            raise MessageError(tag, f"{name}({tag}) is not a UTCTimestamp: {raw!r}") from None

    def _new_order(self, m, comp_id: str, received: int) -> NewOrderCommand:
        s = self._str
        return NewOrderCommand(
            comp_id=comp_id, cl_ord_id=s(m, Tag.ClOrdID) or "", symbol=s(m, Tag.Symbol) or "",
            side=s(m, Tag.Side) or "", ord_type=s(m, Tag.OrdType) or "",
            qty=self._decimal(m, Tag.OrderQty, "OrderQty"), price=self._decimal(m, Tag.Price, "Price"),
            tif=s(m, Tag.TimeInForce) or "0", account=s(m, Tag.Account),
            min_qty=self._decimal(m, Tag.MinQty, "MinQty"),
            expire_time_us=self._timestamp(m, Tag.ExpireTime, "ExpireTime"), expire_date=s(m, Tag.ExpireDate),
            smp=s(m, Tag.SelfMatchPreventionInstruction), received_us=received,
        )

    def _mass_cancel(self, m, comp_id: str, received: int) -> MassCancelCommand:
        s = self._str
        return MassCancelCommand(comp_id=comp_id, cl_ord_id=s(m, Tag.ClOrdID) or "",
                                 request_type=s(m, Tag.MassCancelRequestType) or "", symbol=s(m, Tag.Symbol),
                                 side=s(m, Tag.Side), received_us=received)

    def _market_data_request(self, message, m, comp_id: str) -> MarketDataRequestCommand:
        """`m`: the message's fields; its repeating groups are read from `message`."""
        s = self._str
        types: list[str] = []
        group = fix.Group(Tag.NoMDEntryTypes, Tag.MDEntryType)
        for i in range(1, int(s(m, Tag.NoMDEntryTypes) or 0) + 1):
            message.getGroup(i, group)
            types.append(group.getField(Tag.MDEntryType))
        symbols: list[str] = []
        group = fix.Group(Tag.NoRelatedSym, Tag.Symbol)
        for i in range(1, int(s(m, Tag.NoRelatedSym) or 0) + 1):
            message.getGroup(i, group)
            symbols.append(group.getField(Tag.Symbol) if group.isSetField(Tag.Symbol) else "")
        depth_text = s(m, Tag.MarketDepth)
        return MarketDataRequestCommand(
            comp_id=comp_id, req_id=s(m, Tag.MDReqID) or "", subscription_type=s(m, Tag.SubscriptionRequestType) or "",
            depth=int(depth_text) if depth_text and depth_text.lstrip("-").isdigit() else None,
            update_type=s(m, Tag.MDUpdateType), entry_types=tuple(types), symbols=tuple(symbols))

    def _cancel(self, m, comp_id: str, received: int) -> CancelCommand:
        s = self._str
        return CancelCommand(comp_id=comp_id, cl_ord_id=s(m, Tag.ClOrdID) or "", orig_cl_ord_id=s(m, Tag.OrigClOrdID),
                             order_id=s(m, Tag.OrderID), symbol=s(m, Tag.Symbol) or "", side=s(m, Tag.Side) or "",
                             received_us=received)

    def _replace(self, m, comp_id: str, received: int) -> ReplaceCommand:
        s = self._str
        return ReplaceCommand(
            comp_id=comp_id, cl_ord_id=s(m, Tag.ClOrdID) or "", orig_cl_ord_id=s(m, Tag.OrigClOrdID),
            order_id=s(m, Tag.OrderID), symbol=s(m, Tag.Symbol) or "", side=s(m, Tag.Side) or "",
            ord_type=s(m, Tag.OrdType) or "", qty=self._decimal(m, Tag.OrderQty, "OrderQty"),
            price=self._decimal(m, Tag.Price, "Price"), tif=s(m, Tag.TimeInForce), account=s(m, Tag.Account),
            received_us=received,
        )

    def _status(self, m, comp_id: str, received: int) -> StatusCommand:
        s = self._str
        return StatusCommand(comp_id=comp_id, cl_ord_id=s(m, Tag.ClOrdID), order_id=s(m, Tag.OrderID),
                             symbol=s(m, Tag.Symbol) or "", side=s(m, Tag.Side) or "", received_us=received)

    # ------------------------------------------------------------ reports -> FIX
    def send(self, report: Report) -> None:
        """Send a venue report to its session(s). Called from the sequencer's sender thread."""
        if isinstance(report, ExecutionReport):
            # One message for the member and its drop copies: each send sets the whole header again
            # (BeginString, SenderCompID, TargetCompID, MsgSeqNum, SendingTime).
            msg = self._execution_report(report)
            self._send_to(msg, report.to)
            for comp_id in report.copy_to:
                self._send_to(msg, comp_id)
        elif isinstance(report, OrderCancelReject):
            self._send_to(self._cancel_reject(report), report.to)
        elif isinstance(report, SecurityStatusReport):
            msg = self._security_status(report)  # one message for every session
            for comp_id in list(self._session_ids):
                self._send_to(msg, comp_id)
        elif isinstance(report, SettlementReport):
            msg = self._trade_capture_report(report)  # one message for the member and its drop copies
            for comp_id in (report.to, *report.copy_to):
                self._send_to(msg, comp_id)
        elif isinstance(report, (MarketDataSnapshot, MarketDataIncrement)):
            self._send_to(self._market_data(report), report.to)
        elif isinstance(report, MarketDataReject):
            m = fix.Message()
            m.getHeader().setField(Tag.MsgType, "Y")
            m.setField(Tag.MDReqID, report.req_id or "NONE")
            m.setField(Tag.MDReqRejReason, report.reason)
            m.setField(Tag.Text, report.text)
            self._send_to(m, report.to)
        elif isinstance(report, SecurityListReport):
            self._send_to(self._security_list(report), report.to)
        elif isinstance(report, MassCancelReport):
            self._send_to(self._mass_cancel_report(report), report.to)
        elif isinstance(report, TradingSessionStatusReport):
            msg = self._trading_session_status(report)
            for comp_id in list(self._session_ids):
                self._send_to(msg, comp_id)
        else:
            raise TypeError(f"cannot send {report!r}")

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
                    log.error("%s: a held message could not be handed over: %r\n%s", comp_id, raw,
                              traceback.format_exc())
            self._held.handed(comp_id)
            self._live.add(comp_id)
        if held:
            log.info("%s: %d messages held while it was away handed over for its resend", comp_id, len(held))

    @staticmethod
    def _execution_report(r: ExecutionReport):
        """ExecutionReport (35=8); PossResend(97) in the header when it is sent again.

        Tags are written as on the wire (their names: `Tag`); formatting `Tag.X` into each field
        would cost ~3 us per report.
        """
        f = ["35=8", "97=Y"] if r.poss_resend else ["35=8"]
        f += (f"37={r.order_id}", f"11={r.cl_ord_id or 'NONE'}", f"17={r.exec_id}", f"150={r.exec_type}",
              f"39={r.ord_status}", f"55={r.symbol or '[N/A]'}", f"54={r.side or '1'}", f"38={r.order_qty}",
              f"151={r.leaves_qty}", f"14={r.cum_qty}", f"6={r.avg_px:f}", f"60={format_utc_us(r.transact_time_us)}")
        if r.account:
            f.append(f"1={r.account}")
        if r.price is not None:
            f.append(f"44={r.price:f}")
        if r.ord_type:
            f.append(f"40={r.ord_type}")
        if r.tif:
            f.append(f"59={r.tif}")
        if r.orig_cl_ord_id:
            f.append(f"41={r.orig_cl_ord_id}")
        if r.last_qty is not None:
            f.append(f"32={r.last_qty}")
        if r.last_px is not None:
            f.append(f"31={r.last_px:f}")
        if r.trade_id:
            f.append(f"880={r.trade_id}")
        if r.ord_rej_reason is not None:
            f.append(f"103={r.ord_rej_reason}")
        if r.venue_reason:
            f.append(f"20001={r.venue_reason}")
        if r.text:
            f.append(f"58={r.text}")
        if r.expire_time_us is not None:
            f.append(f"126={format_utc_us(r.expire_time_us)}")
        if r.min_qty:
            f.append(f"110={r.min_qty}")
        if r.exec_ref_id:
            f.append(f"19={r.exec_ref_id}")
        return _message(f)

    def _trade_capture_report(self, r: SettlementReport):
        """A settled trade: TradeCaptureReport (35=AE) with the on-chain transaction, its side in the
        NoSides(552) group."""
        body = ["35=AE", f"571=S{r.trade_id}-{r.side}", "150=F", f"880={r.trade_id}", "570=N", f"55={r.symbol}",
                f"32={r.qty}", f"31={_dec(r.price)}", f"75={format_utc_us(r.executed_us)[:8]}",
                f"60={format_utc_us(r.transact_time_us)}", f"64={format_utc_us(r.transact_time_us)[:8]}",
                f"20010={r.tx_hash}"]
        if r.block_number is not None:
            body.append(f"20011={r.block_number}")
        body.append(f"20012={r.status}")
        side = [f"54={r.side}", f"37={r.order_id}"]
        if r.cl_ord_id:
            side.append(f"11={r.cl_ord_id}")
        if r.account:
            side.append(f"1={r.account}")
        return self._message_with_group(body, Tag.NoSides, [side], fix44.TradeCaptureReport.NoSides)

    def _message_with_group(self, body: list[str], count_tag: int, entries: list[list[str]], group_class):
        """A message of `body` fields (MsgType first) and one repeating group, parsed in one binding
        call with the session's data dictionary (`self.dictionary`, which knows the group), as the
        hot reports are: built field by field it took ~20 calls into the binding, each of which
        may wait for the GIL behind the session threads. The group goes right after MsgType:
        QuickFIX ends a group at the first field that is not one of its own, and drops a group that
        ends the string. Without a dictionary: field by field, `group_class` giving its order."""
        if self.dictionary is not None:
            return _message([body[0], f"{count_tag}={len(entries)}", *(f for entry in entries for f in entry),
                             *body[1:]], self.dictionary)
        m = fix.Message()
        m.getHeader().setField(Tag.MsgType, body[0].partition("=")[2])
        for part, fields in [(m, body[1:])] + [(group_class(), entry) for entry in entries]:
            for f in fields:
                tag, _, value = f.partition("=")
                part.setField(int(tag), value.replace(SOH, " "))
            if part is not m:
                m.addGroup(part)
        return m

    @staticmethod
    def _cancel_reject(r: OrderCancelReject):
        """OrderCancelReject (35=9)."""
        return _message(["35=9", f"37={r.order_id}", f"11={r.cl_ord_id or 'NONE'}",
                         f"41={r.orig_cl_ord_id or 'NONE'}", f"39={r.ord_status}", f"434={r.response_to}",
                         f"102={r.reason}", f"58={r.text}", f"60={format_utc_us(r.transact_time_us)}"])

    @staticmethod
    def _security_status(r: SecurityStatusReport):
        m = fix.Message()
        m.getHeader().setField(Tag.MsgType, "f")
        m.setField(Tag.Symbol, r.symbol)
        m.setField(Tag.SecurityTradingStatus, "2" if r.halted else "17")
        m.setField(Tag.Text, r.text)
        m.setField(Tag.TransactTime, format_utc_us(r.transact_time_us))
        return m

    @staticmethod
    def _market_data(r: MarketDataSnapshot | MarketDataIncrement):
        """35=W (snapshot) or 35=X (increments); RptSeq(83) numbers the subscription's messages."""
        snapshot = isinstance(r, MarketDataSnapshot)
        m = fix.Message()
        m.getHeader().setField(Tag.MsgType, "W" if snapshot else "X")
        m.setField(Tag.MDReqID, r.req_id)
        if snapshot:
            m.setField(Tag.Symbol, r.symbol)
            m.setField(Tag.RptSeq, str(r.seq))
            if not r.entries:
                m.setField(Tag.NoMDEntries, "0")
        for e in r.entries:
            g = (fix44.MarketDataSnapshotFullRefresh.NoMDEntries() if snapshot
                 else fix44.MarketDataIncrementalRefresh.NoMDEntries())
            if not snapshot:
                g.setField(Tag.MDUpdateAction, e.action)
            g.setField(Tag.MDEntryType, e.entry_type)
            if e.trade_id:
                g.setField(Tag.MDEntryID, e.trade_id)
            if not snapshot:
                g.setField(Tag.Symbol, r.symbol)
                g.setField(Tag.RptSeq, str(r.seq))
            g.setField(Tag.MDEntryPx, _dec(e.price))
            if e.action != "2":
                g.setField(Tag.MDEntrySize, str(e.size))
            m.addGroup(g)
        return m

    @staticmethod
    def _security_list(r: SecurityListReport):
        m = fix.Message()
        m.getHeader().setField(Tag.MsgType, "y")
        m.setField(Tag.SecurityReqID, r.req_id or "NONE")
        m.setField(Tag.SecurityResponseID, r.response_id or "NONE")
        m.setField(Tag.SecurityRequestResult, r.result)
        if r.text:
            m.setField(Tag.Text, r.text)
        for e in r.entries:
            g = fix44.SecurityList.NoRelatedSym()
            g.setField(Tag.Symbol, e.symbol)
            g.setField(Tag.SecurityDesc, e.name)
            g.setField(Tag.Currency, e.currency)
            g.setField(Tag.RoundLot, str(e.lot_size))
            g.setField(Tag.MinPriceIncrement, _dec(e.tick_size))
            g.setField(Tag.TradingSessionID, TRADING_SESSION_ID)
            sub_id = PHASE_CODES[e.phase][0]
            if sub_id:
                g.setField(Tag.TradingSessionSubID, sub_id)
            g.setField(Tag.Text, e.restrictions)
            if e.reference_price is not None:
                g.setField(Tag.VenueReferencePrice, _dec(e.reference_price))
            if e.band_bps is not None:
                g.setField(Tag.PriceBandBps, str(e.band_bps))
            m.addGroup(g)
        return m

    @staticmethod
    def _mass_cancel_report(r: MassCancelReport):
        m = fix.Message()
        m.getHeader().setField(Tag.MsgType, "r")
        m.setField(Tag.ClOrdID, r.cl_ord_id or "NONE")
        m.setField(Tag.OrderID, r.report_id)
        m.setField(Tag.MassCancelRequestType, r.request_type or "0")
        m.setField(Tag.MassCancelResponse, r.response)
        if r.reject_reason:
            m.setField(Tag.MassCancelRejectReason, r.reject_reason)
        m.setField(Tag.TotalAffectedOrders, str(len(r.affected)))
        for orig, order_id in r.affected:
            g = fix44.OrderMassCancelReport.NoAffectedOrders()
            g.setField(Tag.OrigClOrdID, orig)
            g.setField(Tag.AffectedOrderID, order_id)
            m.addGroup(g)
        if r.symbol:
            m.setField(Tag.Symbol, r.symbol)
        if r.side:
            m.setField(Tag.Side, r.side)
        m.setField(Tag.TransactTime, format_utc_us(r.transact_time_us))
        if r.text:
            m.setField(Tag.Text, r.text)
        return m

    @staticmethod
    def _trading_session_status(r: TradingSessionStatusReport):
        sub_id, status = PHASE_CODES[r.phase]
        m = fix.Message()
        m.getHeader().setField(Tag.MsgType, "h")
        m.setField(Tag.TradingSessionID, TRADING_SESSION_ID)
        if sub_id:
            m.setField(Tag.TradingSessionSubID, sub_id)
        m.setField(Tag.Symbol, r.symbol)
        m.setField(Tag.TradSesStatus, status)
        m.setField(Tag.TransactTime, format_utc_us(r.transact_time_us))
        m.setField(Tag.Text, f"{r.symbol} {r.phase.replace('_', ' ').lower()}: {r.text}")
        return m

    def _safe_business_reject(self, message, sessionID, msg_type: str, reason: str, text: str) -> None:
        try:
            self._business_reject(message, sessionID, msg_type, reason, text)
        except Exception:  # noqa: BLE001
            log.error("could not send BusinessMessageReject\n%s", traceback.format_exc())

    @staticmethod
    def _business_reject(message, sessionID, msg_type: str, reason: str, text: str) -> None:
        m = fix.Message()
        m.getHeader().setField(Tag.MsgType, "j")
        header = message.getHeader()
        if header.isSetField(Tag.MsgSeqNum):
            m.setField(Tag.RefSeqNum, header.getField(Tag.MsgSeqNum))
        m.setField(Tag.RefMsgType, msg_type or "?")
        m.setField(Tag.BusinessRejectReason, reason)
        if message.isSetField(Tag.ClOrdID):
            m.setField(Tag.BusinessRejectRefID, message.getField(Tag.ClOrdID))
        m.setField(Tag.Text, text)
        fix.Session.sendToTarget(m, sessionID)


# ---------------------------------------------------------------- settings and engine


def write_settings(path: Path, *, port: int, comp_ids: list[str], data_dir: Path, dictionary: Path,
                   venue_comp_id: str = "ATS", allowed_remote: str | None = None,
                   heartbeat_check: bool = True) -> Path:
    """Generate the QuickFIX settings file from the member registry (one session per CompID).

    Message store and logs live under `data_dir/fix`, so sequence numbers survive restarts.
    """
    store_dir = data_dir / "fix" / "store"
    log_dir = data_dir / "fix" / "log"
    store_dir.mkdir(parents=True, exist_ok=True)
    log_dir.mkdir(parents=True, exist_ok=True)
    lines = [
        "# Generated by the venue at start-up from the member registry. Do not edit: use `venue members`.",
        "[DEFAULT]",
        "ConnectionType=acceptor",
        f"SocketAcceptPort={port}",
        "SocketReuseAddress=Y",
        "SocketNodelay=Y",
        f"SenderCompID={venue_comp_id}",
        "NonStopSession=Y",
        "StartTime=00:00:00",
        "EndTime=00:00:00",
        "UseDataDictionary=Y",
        f"DataDictionary={dictionary}",
        "ValidateUserDefinedFields=Y",
        "AllowUnknownMsgFields=N",
        "ValidateFieldsOutOfOrder=N",
        "TimestampPrecision=6",
        "ResetOnLogon=N",
        "ResetOnLogout=N",
        "ResetOnDisconnect=N",
        "PersistMessages=Y",
        "CheckLatency=N",
        f"FileStorePath={store_dir}",
        f"FileLogPath={log_dir}",
    ]
    if allowed_remote:
        lines.append(f"AllowedRemoteAddresses={allowed_remote}")
    for comp_id in comp_ids:
        lines += ["", "[SESSION]", f"BeginString={BEGIN_STRING}", f"TargetCompID={comp_id}"]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    return path


class FixEngine:
    """The QuickFIX acceptor around a `VenueApplication`."""

    def __init__(self, app: VenueApplication, settings_path: Path, *, file_log: bool = True) -> None:
        self.app = app
        self.settings = fix.SessionSettings(str(settings_path))
        defaults = self.settings.get()
        if defaults.has("DataDictionary"):
            app.structural_tags = structural_tags(Path(defaults.getString("DataDictionary")))
            app.dictionary = fix.DataDictionary(defaults.getString("DataDictionary"))
        self.store_factory = fix.FileStoreFactory(self.settings)
        self.log_factory = fix.FileLogFactory(self.settings) if file_log else None
        if self.log_factory is not None:
            self.acceptor = fix.ThreadedSocketAcceptor(app, self.store_factory, self.settings, self.log_factory)
        else:
            self.acceptor = fix.ThreadedSocketAcceptor(app, self.store_factory, self.settings)

    def start(self) -> None:
        try:
            self.acceptor.start()
        except Exception as exc:  # noqa: BLE001 - the engine says "Unable to create, bind, or listen to port N"
            from venue.config import ConfigError
            raise ConfigError(f"cannot accept FIX sessions: {exc} (another process on that port? choose "
                              "another with --port or [fix] port)") from None

    def stop(self) -> None:
        self.acceptor.stop()
