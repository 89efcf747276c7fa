"""FIX 4.4 ⇄ venue: reading order messages into commands, writing reports as FIX messages.

One way to build each outbound message: a list of `tag=value` fields, parsed by the engine in one
binding call (`Codec.build`). Every call into the binding releases the GIL and the sender thread
then waits for the sequencer to hand it back, so a report built field by field (~20 calls) cost
far more than its ~1 µs per field. Repeating groups go right after MsgType, their fields in the
data dictionary's order (QuickFIX ends a group at the first field not its own), and are parsed
with the dictionary. The engine sorts body fields by tag, so the wire message is the same.

Incoming messages are read with one `toString()` call into a dict when they are a flat list of
fields (no repeating group, no data field), field by field otherwise (`BodyFields`). Tags are
named by `Tag`; `P.<name>` is the `"tag="` prefix of a field, for the string-built messages.
Nothing is defaulted silently: a value the venue does not have is left out, never invented.
"""

from __future__ import annotations

import functools
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path

import quickfix as fix

from venue.market_data import MarketDataIncrement, MarketDataReject, MarketDataSnapshot
from venue.messages import (
    CancelCommand,
    Command,
    ExecutionReport,
    MarketDataRequestCommand,
    MassCancelCommand,
    MassCancelReport,
    NewOrderCommand,
    OrderCancelReject,
    ReplaceCommand,
    Report,
    SecurityListReport,
    SecurityListRequestCommand,
    SecurityStatusReport,
    SettlementReport,
    StatusCommand,
    TradingSessionStatusReport,
)

BEGIN_STRING = "FIX.4.4"
SOH = "\x01"
FIX_DICTIONARY = Path(__file__).resolve().parents[2] / "fix_config" / "FIX44.xml"


def fix_dictionary() -> Path:
    """The venue's FIX 4.4 data dictionary (fix_config/FIX44.xml, or as installed)."""
    if FIX_DICTIONARY.exists():
        return FIX_DICTIONARY
    import sys

    return Path(sys.prefix) / "share" / "venue" / "FIX44.xml"


class Tag:
    """FIX tag numbers the venue reads or writes."""

    Account = 1
    AvgPx = 6
    ClOrdID = 11
    Currency = 15
    CumQty = 14
    ExecID = 17
    ExecRefID = 19
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
    SettlDate = 64
    TradeDate = 75
    RptSeq = 83
    PossResend = 97
    CxlRejReason = 102
    OrdRejReason = 103
    SecurityDesc = 107
    MinQty = 110
    ExpireTime = 126
    ResetSeqNumFlag = 141
    NoRelatedSym = 146
    ExecType = 150
    LeavesQty = 151
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
    SecurityReqID = 320
    SecurityResponseID = 322
    SecurityTradingStatus = 326
    TradingSessionID = 336
    TradSesStatus = 340
    RefMsgType = 372
    BusinessRejectRefID = 379
    BusinessRejectReason = 380
    ExpireDate = 432
    CxlRejResponseTo = 434
    OrderCapacity = 528
    MassCancelRequestType = 530
    MassCancelResponse = 531
    MassCancelRejectReason = 532
    TotalAffectedOrders = 533
    NoAffectedOrders = 534
    AffectedOrderID = 535
    NoSides = 552
    Username = 553
    Password = 554
    SecurityListRequestType = 559
    SecurityRequestResult = 560
    RoundLot = 561
    PreviouslyReported = 570
    TradeReportID = 571
    TradingSessionSubID = 625
    TrdMatchID = 880
    MinPriceIncrement = 969
    SelfMatchPreventionInstruction = 2964
    VenueRejectCode = 20001
    SettlementTxHash = 20010
    SettlementBlockNumber = 20011
    SettlementStatus = 20012
    VenueReferencePrice = 20020
    PriceBandBps = 20021


# P.OrderID == "37=": the prefix of a field in a string-built message.
P = type("P", (), {name: f"{tag}=" for name, tag in vars(Tag).items() if not name.startswith("_")})


class MsgType:
    """MsgType(35) values the venue reads or writes."""

    LOGON = "A"
    NEW_ORDER = "D"
    CANCEL = "F"
    REPLACE = "G"
    STATUS = "H"
    MASS_CANCEL = "q"
    MARKET_DATA_REQUEST = "V"
    SECURITY_LIST_REQUEST = "x"
    EXECUTION_REPORT = "8"
    CANCEL_REJECT = "9"
    BUSINESS_REJECT = "j"
    SECURITY_STATUS = "f"
    TRADING_SESSION_STATUS = "h"
    MARKET_DATA_SNAPSHOT = "W"
    MARKET_DATA_INCREMENT = "X"
    MARKET_DATA_REJECT = "Y"
    SECURITY_LIST = "y"
    MASS_CANCEL_REPORT = "r"
    TRADE_CAPTURE_REPORT = "AE"


class BusinessRejectReason:
    OTHER = "0"
    UNSUPPORTED_MESSAGE_TYPE = "3"
    APPLICATION_NOT_AVAILABLE = "4"


SUPPORTED_APP_MESSAGES = {
    MsgType.NEW_ORDER: "NewOrderSingle",
    MsgType.CANCEL: "OrderCancelRequest",
    MsgType.REPLACE: "OrderCancelReplaceRequest",
    MsgType.STATUS: "OrderStatusRequest",
    MsgType.MASS_CANCEL: "OrderMassCancelRequest",
    MsgType.MARKET_DATA_REQUEST: "MarketDataRequest",
    MsgType.SECURITY_LIST_REQUEST: "SecurityListRequest",
}

# TradingSessionStatus (35=h), one per security and phase change: TradingSessionSubID(625) as in
# FIX 5.0 (1 pre-trading, 2 opening auction, 3 continuous, 5 post-trading, 6 intraday auction) and
# TradSesStatus(340) (1 halted, 2 open, 3 closed, 4 pre-open).
TRADING_SESSION_ID = "DAY"
PHASE_CODES = {
    "PRE_OPEN": ("1", "4"),
    "OPENING_AUCTION": ("2", "4"),
    "CONTINUOUS": ("3", "2"),
    "PERIODIC_AUCTION": ("6", "2"),
    "CLOSED": ("5", "3"),
    "HALTED": ("", "1"),
}
# SecurityTradingStatus(326): 2 trading halt (halted or suspended), 17 ready to trade.
HALTED, READY_TO_TRADE = "2", "17"

# The longest value the venue accepts per field (its journal's column widths; numbers: digits).
FIELD_LIMITS = {
    Tag.ClOrdID: ("ClOrdID", 64),
    Tag.OrigClOrdID: ("OrigClOrdID", 64),
    Tag.Account: ("Account", 64),
    Tag.Symbol: ("Symbol", 32),
    Tag.OrderID: ("OrderID", 32),
    Tag.MDReqID: ("MDReqID", 64),
    Tag.SecurityReqID: ("SecurityReqID", 64),
    Tag.OrderQty: ("OrderQty", 24),
    Tag.MinQty: ("MinQty", 24),
    Tag.Price: ("Price", 24),
}


class MessageError(Exception):
    """A field the venue cannot read; answered with a reject that names the field."""

    def __init__(self, tag: int, text: str) -> None:
        super().__init__(text)
        self.tag = tag
        self.text = text


# ---------------------------------------------------------------- time and numbers


@functools.lru_cache(maxsize=64)
def _utc_second(seconds: int) -> str:
    return datetime.fromtimestamp(seconds, tz=UTC).strftime("%Y%m%d-%H:%M:%S")


def format_utc_us(us: int) -> str:
    """UTCTimestamp with microseconds: YYYYMMDD-HH:MM:SS.ffffff."""
    return f"{_utc_second(us // 1_000_000)}.{us % 1_000_000:06d}"


def parse_utc_us(text: str) -> int:
    """Parse a FIX UTCTimestamp (seconds, milli-, micro- or nanoseconds) into epoch microseconds."""
    base, _, frac = text.partition(".")
    dt = datetime.strptime(base, "%Y%m%d-%H:%M:%S").replace(tzinfo=UTC)
    micros = int((frac + "000000")[:6]) if frac else 0
    return int(dt.timestamp()) * 1_000_000 + micros


def _dec(value: Decimal) -> str:
    return format(value, "f")


# ---------------------------------------------------------------- the data dictionary


def structural_tags(dictionary: Path) -> frozenset[int]:
    """Tags of a FIX data dictionary after which a message is no flat list of fields: repeating-group
    counts (NUMINGROUP) and the lengths of data fields (LENGTH), whose values may hold SOH.
    BodyLength(9), typed LENGTH too, is in every message and precedes no data field."""
    tags = {
        int(f.get("number"))
        for f in ET.parse(dictionary).getroot().iter("field")
        if f.get("type") in ("NUMINGROUP", "LENGTH")
    }
    return frozenset(tags - {9})


def group_orders(dictionary: Path) -> dict[tuple[str, int], dict[int, int]]:
    """(MsgType, group count tag) -> each member tag's position in the group (top-level groups of
    every message, components flattened): the order a group's fields must have on the wire."""
    root = ET.parse(dictionary).getroot()
    numbers = {f.get("name"): int(f.get("number")) for f in root.find("fields")}
    components = {c.get("name"): c for c in root.find("components")}

    def members(node, out: list[int]) -> list[int]:
        for child in node:
            if child.tag == "component":
                members(components[child.get("name")], out)
            else:
                out.append(numbers[child.get("name")])
        return out

    def groups(node, msg_type: str, out: dict) -> None:
        for child in node:
            if child.tag == "component":
                groups(components[child.get("name")], msg_type, out)
            elif child.tag == "group":
                out[(msg_type, numbers[child.get("name")])] = {t: i for i, t in enumerate(members(child, []))}
        return None

    orders: dict[tuple[str, int], dict[int, int]] = {}
    for message in root.find("messages"):
        groups(message, message.get("msgtype"), orders)
    return orders


@functools.lru_cache(maxsize=4)
def _read_dictionary(path: Path) -> tuple[frozenset[int], fix.DataDictionary, dict]:
    """What a codec needs of a data dictionary, read once per file (the engine only reads it)."""
    return structural_tags(path), fix.DataDictionary(str(path)), group_orders(path)


class BodyFields:
    """A received message read field by field through the binding: for messages a flat dict cannot
    hold (repeating groups, data fields). Same `get` as the dict `Codec.fields` returns."""

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


class Codec:
    """Reads FIX messages into venue commands; writes venue reports as FIX messages."""

    def __init__(self, dictionary: Path | None = None) -> None:
        structural, self.dictionary, self._group_orders = _read_dictionary(dictionary or fix_dictionary())
        # None: every incoming message is read field by field (no one-call path).
        self.structural_tags: frozenset[int] | None = structural
        self._encoders = {
            ExecutionReport: self.execution_report,
            OrderCancelReject: self.cancel_reject,
            SecurityStatusReport: self.security_status,
            SettlementReport: self.trade_capture_report,
            MarketDataSnapshot: self.market_data,
            MarketDataIncrement: self.market_data,
            MarketDataReject: self.market_data_reject,
            SecurityListReport: self.security_list,
            MassCancelReport: self.mass_cancel_report,
            TradingSessionStatusReport: self.trading_session_status,
        }

    # ------------------------------------------------------------ FIX -> commands
    def fields(self, message) -> dict[int, str] | BodyFields:
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
        return BodyFields(message)

    def command(self, message, fields, comp_id: str, received_us: int) -> Command | None:
        """The venue command a supported message asks for (None: not a message the venue takes).
        Raises MessageError for a field it cannot read."""
        check_sizes(fields)
        msg_type = fields.get(Tag.MsgType) or ""
        if msg_type == MsgType.NEW_ORDER:
            return new_order(fields, comp_id, received_us)
        if msg_type == MsgType.CANCEL:
            return cancel(fields, comp_id, received_us)
        if msg_type == MsgType.REPLACE:
            return replace_order(fields, comp_id, received_us)
        if msg_type == MsgType.STATUS:
            return status(fields, comp_id, received_us)
        if msg_type == MsgType.MASS_CANCEL:
            return mass_cancel(fields, comp_id, received_us)
        if msg_type == MsgType.MARKET_DATA_REQUEST:
            return market_data_request(message, fields, comp_id)
        if msg_type == MsgType.SECURITY_LIST_REQUEST:
            return SecurityListRequestCommand(
                comp_id,
                fields.get(Tag.SecurityReqID) or "",
                fields.get(Tag.SecurityListRequestType) or "",
                fields.get(Tag.Symbol),
            )
        return None

    # ------------------------------------------------------------ reports -> FIX
    def encode(self, report: Report):
        """The FIX message of a venue report."""
        encoder = self._encoders.get(type(report))
        if encoder is None:
            raise TypeError(f"cannot encode {report!r}")
        return encoder(report)

    def build(self, msg_type: str, body: list[str], group: tuple[int, list[dict[int, str]]] | None = None):
        """A message from its body fields (`tag=value`) and at most one repeating group: (count tag,
        entries as {tag: value}), written right after MsgType in the dictionary's field order."""
        fields = [f"{P.MsgType}{msg_type}"]
        if group is None:
            return _message(fields + body)
        count_tag, entries = group
        order = self._group_orders[(msg_type, count_tag)]
        # A body field that is also a group member (Text in a SecurityList) goes before the group,
        # where it cannot be read as part of the last entry; the group may not end the message.
        inside = [f for f in body if int(f.partition("=")[0]) in order]
        after = [f for f in body if int(f.partition("=")[0]) not in order]
        if not after:
            raise ValueError(f"{msg_type}: a repeating group may not end the message")
        fields += inside
        fields.append(f"{count_tag}={len(entries)}")
        for entry in entries:
            if not order.keys() >= entry.keys():
                raise ValueError(f"{msg_type}: tags {sorted(entry.keys() - order.keys())} are not in group {count_tag}")
            fields += (f"{tag}={value}" for tag, value in sorted(entry.items(), key=lambda item: order[item[0]]))
        return _message(fields + after, self.dictionary)

    @staticmethod
    def execution_report(r: ExecutionReport):
        """ExecutionReport (35=8); PossResend(97) in the header when it is sent again. The hot path:
        formatted in one pass, the fields as on the wire."""
        f = [f"{P.MsgType}8", f"{P.PossResend}Y"] if r.poss_resend else [f"{P.MsgType}8"]
        f += (
            f"{P.OrderID}{r.order_id}",
            f"{P.ClOrdID}{r.cl_ord_id or 'NONE'}",
            f"{P.ExecID}{r.exec_id}",
            f"{P.ExecType}{r.exec_type}",
            f"{P.OrdStatus}{r.ord_status}",
            f"{P.Symbol}{r.symbol or '[N/A]'}",  # FIX's placeholder for a required Symbol the order lacked
            f"{P.OrderQty}{r.order_qty}",
            f"{P.LeavesQty}{r.leaves_qty}",
            f"{P.CumQty}{r.cum_qty}",
            f"{P.AvgPx}{r.avg_px:f}",
            f"{P.TransactTime}{format_utc_us(r.transact_time_us)}",
        )
        if r.side:
            f.append(f"{P.Side}{r.side}")
        if r.account:
            f.append(f"{P.Account}{r.account}")
        if r.price is not None:
            f.append(f"{P.Price}{r.price:f}")
        if r.ord_type:
            f.append(f"{P.OrdType}{r.ord_type}")
        if r.tif:
            f.append(f"{P.TimeInForce}{r.tif}")
        if r.orig_cl_ord_id:
            f.append(f"{P.OrigClOrdID}{r.orig_cl_ord_id}")
        if r.last_qty is not None:
            f.append(f"{P.LastQty}{r.last_qty}")
        if r.last_px is not None:
            f.append(f"{P.LastPx}{r.last_px:f}")
        if r.trade_id:
            f.append(f"{P.TrdMatchID}{r.trade_id}")
        if r.ord_rej_reason is not None:
            f.append(f"{P.OrdRejReason}{r.ord_rej_reason}")
        if r.venue_reason:
            f.append(f"{P.VenueRejectCode}{r.venue_reason}")
        if r.text:
            f.append(f"{P.Text}{r.text}")
        if r.expire_time_us is not None:
            f.append(f"{P.ExpireTime}{format_utc_us(r.expire_time_us)}")
        if r.min_qty:
            f.append(f"{P.MinQty}{r.min_qty}")
        if r.exec_ref_id:
            f.append(f"{P.ExecRefID}{r.exec_ref_id}")
        return _message(f)

    def cancel_reject(self, r: OrderCancelReject):
        """OrderCancelReject (35=9)."""
        body = [
            f"{P.OrderID}{r.order_id}",
            f"{P.ClOrdID}{r.cl_ord_id or 'NONE'}",
            f"{P.OrigClOrdID}{r.orig_cl_ord_id or 'NONE'}",
            f"{P.OrdStatus}{r.ord_status}",
            f"{P.CxlRejResponseTo}{r.response_to}",
            f"{P.CxlRejReason}{r.reason}",
            f"{P.Text}{r.text}",
            f"{P.TransactTime}{format_utc_us(r.transact_time_us)}",
        ]
        if r.venue_reason:
            body.append(f"{P.VenueRejectCode}{r.venue_reason}")
        return self.build(MsgType.CANCEL_REJECT, body)

    def trade_capture_report(self, r: SettlementReport):
        """A settled trade: TradeCaptureReport (35=AE) with the on-chain transaction, its side in the
        NoSides(552) group."""
        body = [
            f"{P.TradeReportID}S{r.trade_id}-{r.side}",
            f"{P.ExecType}F",
            f"{P.TrdMatchID}{r.trade_id}",
            f"{P.PreviouslyReported}N",
            f"{P.Symbol}{r.symbol}",
            f"{P.LastQty}{r.qty}",
            f"{P.LastPx}{_dec(r.price)}",
            f"{P.TradeDate}{format_utc_us(r.executed_us)[:8]}",
            f"{P.TransactTime}{format_utc_us(r.transact_time_us)}",
            f"{P.SettlDate}{format_utc_us(r.transact_time_us)[:8]}",
            f"{P.SettlementTxHash}{r.tx_hash}",
        ]
        if r.block_number is not None:
            body.append(f"{P.SettlementBlockNumber}{r.block_number}")
        body.append(f"{P.SettlementStatus}{r.status}")
        side = {Tag.Side: r.side, Tag.OrderID: r.order_id}
        if r.cl_ord_id:
            side[Tag.ClOrdID] = r.cl_ord_id
        if r.account:
            side[Tag.Account] = r.account
        return self.build(MsgType.TRADE_CAPTURE_REPORT, body, (Tag.NoSides, [side]))

    def security_status(self, r: SecurityStatusReport):
        """SecurityStatus (35=f): halted (or suspended) or ready to trade."""
        return self.build(
            MsgType.SECURITY_STATUS,
            [
                f"{P.Symbol}{r.symbol}",
                f"{P.SecurityTradingStatus}{HALTED if r.halted else READY_TO_TRADE}",
                f"{P.Text}{r.text}",
                f"{P.TransactTime}{format_utc_us(r.transact_time_us)}",
            ],
        )

    def market_data(self, r: MarketDataSnapshot | MarketDataIncrement):
        """35=W (snapshot) or 35=X (increments); RptSeq(83) numbers the subscription's messages."""
        snapshot = isinstance(r, MarketDataSnapshot)
        body = [f"{P.MDReqID}{r.req_id}"]
        if snapshot:
            body += [f"{P.Symbol}{r.symbol}", f"{P.RptSeq}{r.seq}"]
        entries = []
        for e in r.entries:
            entry = {Tag.MDEntryType: e.entry_type, Tag.MDEntryPx: _dec(e.price)}
            if not snapshot:
                entry.update({Tag.MDUpdateAction: e.action, Tag.Symbol: r.symbol, Tag.RptSeq: str(r.seq)})
            if e.trade_id:
                entry[Tag.MDEntryID] = e.trade_id
            if e.action != "2":
                entry[Tag.MDEntrySize] = str(e.size)
            entries.append(entry)
        msg_type = MsgType.MARKET_DATA_SNAPSHOT if snapshot else MsgType.MARKET_DATA_INCREMENT
        if not entries:
            return self.build(msg_type, body + [f"{P.NoMDEntries}0"])
        return self.build(msg_type, body, (Tag.NoMDEntries, entries))

    def market_data_reject(self, r: MarketDataReject):
        """MarketDataRequestReject (35=Y)."""
        return self.build(
            MsgType.MARKET_DATA_REJECT,
            [f"{P.MDReqID}{r.req_id or 'NONE'}", f"{P.MDReqRejReason}{r.reason}", f"{P.Text}{r.text}"],
        )

    def security_list(self, r: SecurityListReport):
        """SecurityList (35=y), one NoRelatedSym(146) entry per security."""
        body = [
            f"{P.SecurityReqID}{r.req_id or 'NONE'}",
            f"{P.SecurityResponseID}{r.response_id or 'NONE'}",
            f"{P.SecurityRequestResult}{r.result}",
        ]
        if r.text:
            body.append(f"{P.Text}{r.text}")
        entries = []
        for e in r.entries:
            entry = {
                Tag.Symbol: e.symbol,
                Tag.SecurityDesc: e.name,
                Tag.Currency: e.currency,
                Tag.RoundLot: str(e.lot_size),
                Tag.MinPriceIncrement: _dec(e.tick_size),
                Tag.TradingSessionID: TRADING_SESSION_ID,
                Tag.Text: e.restrictions,
            }
            sub_id = PHASE_CODES[e.phase][0]
            if sub_id:
                entry[Tag.TradingSessionSubID] = sub_id
            if e.reference_price is not None:
                entry[Tag.VenueReferencePrice] = _dec(e.reference_price)
            if e.band_bps is not None:
                entry[Tag.PriceBandBps] = str(e.band_bps)
            entries.append(entry)
        return self.build(MsgType.SECURITY_LIST, body, (Tag.NoRelatedSym, entries) if entries else None)

    def mass_cancel_report(self, r: MassCancelReport):
        """OrderMassCancelReport (35=r), the canceled orders in NoAffectedOrders(534)."""
        body = [
            f"{P.ClOrdID}{r.cl_ord_id or 'NONE'}",
            f"{P.OrderID}{r.report_id}",
            f"{P.MassCancelRequestType}{r.request_type or '0'}",
            f"{P.MassCancelResponse}{r.response}",
            f"{P.TotalAffectedOrders}{len(r.affected)}",
            f"{P.TransactTime}{format_utc_us(r.transact_time_us)}",
        ]
        if r.reject_reason:
            body.append(f"{P.MassCancelRejectReason}{r.reject_reason}")
        if r.symbol:
            body.append(f"{P.Symbol}{r.symbol}")
        if r.side:
            body.append(f"{P.Side}{r.side}")
        if r.text:
            body.append(f"{P.Text}{r.text}")
        entries = [{Tag.OrigClOrdID: orig, Tag.AffectedOrderID: order_id} for orig, order_id in r.affected]
        return self.build(MsgType.MASS_CANCEL_REPORT, body, (Tag.NoAffectedOrders, entries) if entries else None)

    def trading_session_status(self, r: TradingSessionStatusReport):
        """TradingSessionStatus (35=h) of one security's phase."""
        sub_id, status = PHASE_CODES[r.phase]
        body = [
            f"{P.TradingSessionID}{TRADING_SESSION_ID}",
            f"{P.Symbol}{r.symbol}",
            f"{P.TradSesStatus}{status}",
            f"{P.TransactTime}{format_utc_us(r.transact_time_us)}",
            f"{P.Text}{r.symbol} {r.phase.replace('_', ' ').lower()}: {r.text}",
        ]
        if sub_id:
            body.append(f"{P.TradingSessionSubID}{sub_id}")
        return self.build(MsgType.TRADING_SESSION_STATUS, body)

    def business_reject(self, ref_seq_num: str | None, ref_msg_type: str, ref_id: str | None, reason: str, text: str):
        """BusinessMessageReject (35=j) of a received message."""
        body = [f"{P.RefMsgType}{ref_msg_type or '?'}", f"{P.BusinessRejectReason}{reason}", f"{P.Text}{text}"]
        if ref_seq_num:
            body.append(f"{P.RefSeqNum}{ref_seq_num}")
        if ref_id:
            body.append(f"{P.BusinessRejectRefID}{ref_id}")
        return self.build(MsgType.BUSINESS_REJECT, body)


# ---------------------------------------------------------------- FIX -> commands


def check_sizes(fields) -> None:
    """Values longer than the venue keeps, or holding a NUL byte (PostgreSQL text cannot hold one:
    the whole batch would fail to journal), are answered (35=j), never journaled. These are the
    free-text values the venue journals; the others are checked against the dictionary's
    enumerations or parsed as numbers."""
    for tag, (name, limit) in FIELD_LIMITS.items():
        value = fields.get(tag)
        if value is None:
            continue
        if len(value) > limit:
            raise MessageError(tag, f"{name}({tag}) is longer than {limit} characters")
        if "\x00" in value:
            raise MessageError(tag, f"{name}({tag}) holds a NUL byte (0x00), which the venue does not accept")


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


def _timestamp(fields, tag: int, name: str) -> int | None:
    raw = fields.get(tag)
    if raw is None:
        return None
    try:
        return parse_utc_us(raw)
    except ValueError:
        raise MessageError(tag, f"{name}({tag}) is not a UTCTimestamp: {raw!r}") from None


def new_order(m, comp_id: str, received: int) -> NewOrderCommand:
    """NewOrderSingle (35=D). A missing TimeInForce(59) is Day, as FIX defines it; a missing field
    the gates need stays empty and is refused there, with its name."""
    return NewOrderCommand(
        comp_id=comp_id,
        cl_ord_id=m.get(Tag.ClOrdID) or "",
        symbol=m.get(Tag.Symbol) or "",
        side=m.get(Tag.Side) or "",
        ord_type=m.get(Tag.OrdType) or "",
        qty=_decimal(m, Tag.OrderQty, "OrderQty"),
        price=_decimal(m, Tag.Price, "Price"),
        tif=m.get(Tag.TimeInForce) or "0",
        account=m.get(Tag.Account),
        min_qty=_decimal(m, Tag.MinQty, "MinQty"),
        expire_time_us=_timestamp(m, Tag.ExpireTime, "ExpireTime"),
        expire_date=m.get(Tag.ExpireDate),
        smp=m.get(Tag.SelfMatchPreventionInstruction),
        received_us=received,
        capacity=m.get(Tag.OrderCapacity),
    )


def mass_cancel(m, comp_id: str, received: int) -> MassCancelCommand:
    """OrderMassCancelRequest (35=q)."""
    return MassCancelCommand(
        comp_id=comp_id,
        cl_ord_id=m.get(Tag.ClOrdID) or "",
        request_type=m.get(Tag.MassCancelRequestType) or "",
        symbol=m.get(Tag.Symbol),
        side=m.get(Tag.Side),
        received_us=received,
    )


def market_data_request(message, m, comp_id: str) -> MarketDataRequestCommand:
    """MarketDataRequest (35=V). `m`: the message's fields; its repeating groups are read from `message`."""
    types: list[str] = []
    group = fix.Group(Tag.NoMDEntryTypes, Tag.MDEntryType)
    for i in range(1, int(m.get(Tag.NoMDEntryTypes) or 0) + 1):
        message.getGroup(i, group)
        types.append(group.getField(Tag.MDEntryType))
    symbols: list[str] = []
    group = fix.Group(Tag.NoRelatedSym, Tag.Symbol)
    for i in range(1, int(m.get(Tag.NoRelatedSym) or 0) + 1):
        message.getGroup(i, group)
        symbols.append(group.getField(Tag.Symbol) if group.isSetField(Tag.Symbol) else "")
    depth_text = m.get(Tag.MarketDepth)
    return MarketDataRequestCommand(
        comp_id=comp_id,
        req_id=m.get(Tag.MDReqID) or "",
        subscription_type=m.get(Tag.SubscriptionRequestType) or "",
        depth=int(depth_text) if depth_text and depth_text.lstrip("-").isdigit() else None,
        update_type=m.get(Tag.MDUpdateType),
        entry_types=tuple(types),
        symbols=tuple(symbols),
    )


def cancel(m, comp_id: str, received: int) -> CancelCommand:
    """OrderCancelRequest (35=F)."""
    return CancelCommand(
        comp_id=comp_id,
        cl_ord_id=m.get(Tag.ClOrdID) or "",
        orig_cl_ord_id=m.get(Tag.OrigClOrdID),
        order_id=m.get(Tag.OrderID),
        symbol=m.get(Tag.Symbol) or "",
        side=m.get(Tag.Side) or "",
        received_us=received,
    )


def replace_order(m, comp_id: str, received: int) -> ReplaceCommand:
    """OrderCancelReplaceRequest (35=G)."""
    return ReplaceCommand(
        comp_id=comp_id,
        cl_ord_id=m.get(Tag.ClOrdID) or "",
        orig_cl_ord_id=m.get(Tag.OrigClOrdID),
        order_id=m.get(Tag.OrderID),
        symbol=m.get(Tag.Symbol) or "",
        side=m.get(Tag.Side) or "",
        ord_type=m.get(Tag.OrdType) or "",
        qty=_decimal(m, Tag.OrderQty, "OrderQty"),
        price=_decimal(m, Tag.Price, "Price"),
        tif=m.get(Tag.TimeInForce),
        account=m.get(Tag.Account),
        received_us=received,
        capacity=m.get(Tag.OrderCapacity),
    )


def status(m, comp_id: str, received: int) -> StatusCommand:
    """OrderStatusRequest (35=H)."""
    return StatusCommand(
        comp_id=comp_id,
        cl_ord_id=m.get(Tag.ClOrdID),
        order_id=m.get(Tag.OrderID),
        symbol=m.get(Tag.Symbol) or "",
        side=m.get(Tag.Side) or "",
        received_us=received,
    )
