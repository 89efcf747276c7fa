"""The FIX acceptor's fast message paths against the field-by-field ones they replaced.

cec1587 formats ExecutionReport (35=8) and OrderCancelReject (35=9) as one FIX string parsed in one
binding call; ca892d2 reads a flat incoming message with one `toString()` into a dict. Here:
the string-built reports equal a reference built with `setField` per tag (field names resolved in
fix_config/FIX44.xml); the dict and `BodyFields` read the same value for every tag on generated
D/F/G/H/q/x messages, and commands and rejects from `fromApp` are the same on both paths; the
dictionary walk shows no tag the venue reads sits in a repeating group of a fast-path message and
`structural_tags` holds every group count and data length.
"""

from __future__ import annotations

import dataclasses
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import cache

import pytest
import quickfix as fix
from hypothesis import given, settings
from hypothesis import strategies as st

from venue.fix_acceptor import VenueApplication
from venue.fix_codec import SOH, SUPPORTED_APP_MESSAGES, BodyFields, Codec, Tag, fix_dictionary, structural_tags
from venue.messages import ExecutionReport, OrderCancelReject, SettlementReport

PROPERTY = settings(max_examples=300, deadline=None, database=None)
SESSION = fix.SessionID("FIX.4.4", "ATS", "M1")


# ---------------------------------------------------------------- the data dictionary


@dataclasses.dataclass(frozen=True)
class Layout:
    """Where a message's fields sit: top level (components flattened) or inside a repeating group."""

    top: frozenset[int]
    grouped: frozenset[int]
    groups: tuple[tuple[int, int], ...]  # top-level groups: (count tag, first field of an entry)
    data: tuple[tuple[int, int], ...]  # top-level data fields: (length tag, data tag)
    always_grouped: bool  # a valid message of this type always carries a repeating group


class Fix44:
    """fix_config/FIX44.xml, read with ElementTree (independently of the venue's own reading)."""

    def __init__(self) -> None:
        root = ET.parse(fix_dictionary()).getroot()
        self.numbers = {f.get("name"): int(f.get("number")) for f in root.find("fields")}
        self.types = {int(f.get("number")): f.get("type") for f in root.find("fields")}
        self.components = {c.get("name"): c for c in root.find("components")}
        self.messages = {m.get("msgtype"): m for m in root.find("messages")}
        self.header = frozenset(self.numbers[f.get("name")] for f in root.find("header").iter("field"))
        self.trailer = frozenset(self.numbers[f.get("name")] for f in root.find("trailer").iter("field"))
        self.groups_anywhere = frozenset(self.numbers[g.get("name")] for g in root.iter("group"))

    def data_length(self, data_tag: int) -> int:
        """The length field of a data field, as QuickFIX reads it: the tag before, Signature(89) aside."""
        return self.numbers["SignatureLength"] if data_tag == self.numbers["Signature"] else data_tag - 1

    def _first_field(self, node) -> int:
        child = node[0]
        if child.tag == "component":
            return self._first_field(self.components[child.get("name")])
        return self.numbers[child.get("name")]

    def _always_grouped(self, node) -> bool:
        for child in node:
            if child.get("required") != "Y":
                continue
            if child.tag == "group":
                return True
            if child.tag == "component" and self._always_grouped(self.components[child.get("name")]):
                return True
        return False

    @cache  # noqa: B019 - one instance for the whole run
    def layout(self, msg_type: str) -> Layout:
        top: set[int] = set()
        grouped: set[int] = set()
        groups: list[tuple[int, int]] = []

        def walk(node, in_group: bool) -> None:
            for child in node:
                if child.tag == "component":
                    walk(self.components[child.get("name")], in_group)
                    continue
                tag = self.numbers[child.get("name")]
                (grouped if in_group else top).add(tag)
                if child.tag == "group":
                    if not in_group:
                        groups.append((tag, self._first_field(child)))
                    walk(child, True)

        message = self.messages[msg_type]
        walk(message, False)
        data = tuple(
            (self.data_length(t), t) for t in sorted(top) if self.types[t] == "DATA" and self.data_length(t) in top
        )
        return Layout(frozenset(top), frozenset(grouped), tuple(groups), data, self._always_grouped(message))


@cache
def spec() -> Fix44:
    return Fix44()


@cache
def structural() -> frozenset[int]:
    return structural_tags(fix_dictionary())


@cache
def codec() -> Codec:
    return Codec()


@cache
def data_dictionary():
    return fix.DataDictionary(str(fix_dictionary()))


def header_of(message) -> dict[int, str]:
    """The header fields set on `message` (the fields the dictionary puts in the header)."""
    header = message.getHeader()
    return {tag: header.getField(tag) for tag in sorted(spec().header) if header.isSetField(tag)}


def tag_sequence(message) -> list[int]:
    """The tags of `message` on the wire, in order."""
    return [int(chunk.partition("=")[0]) for chunk in message.toString().split(SOH)[:-1]]


# ---------------------------------------------------------------- 1. reports from one string


def utc_us(us: int) -> str:
    """UTCTimestamp with microseconds (TimestampPrecision=6), written out without the venue's cache."""
    return (datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=us)).strftime("%Y%m%d-%H:%M:%S.%f")


def reference_message(msg_type: str, poss_resend: bool = False):
    """An empty message of `msg_type`, and `put(name, value)` setting one body field by its FIX 4.4 name.

    A value holding SOH is set with a space in its place: what `_message` promises for the wire.
    """
    numbers = spec().numbers
    message = fix.Message()
    message.getHeader().setField(numbers["MsgType"], msg_type)
    if poss_resend:
        message.getHeader().setField(numbers["PossResend"], "Y")

    def put(name: str, value: str) -> None:
        message.setField(numbers[name], value.replace(SOH, " "))

    return message, put


def reference_execution_report(r: ExecutionReport):
    """ExecutionReport (35=8) field by field, as the builder before cec1587 wrote it."""
    m, put = reference_message("8", r.poss_resend)
    put("OrderID", r.order_id)
    put("ClOrdID", r.cl_ord_id or "NONE")
    put("ExecID", r.exec_id)
    put("ExecType", r.exec_type)
    put("OrdStatus", r.ord_status)
    put("Symbol", r.symbol or "[N/A]")
    put("OrderQty", str(r.order_qty))
    put("LeavesQty", str(r.leaves_qty))
    put("CumQty", str(r.cum_qty))
    put("AvgPx", format(r.avg_px, "f"))
    put("TransactTime", utc_us(r.transact_time_us))
    if r.side:  # never defaulted: a report without a side says so
        put("Side", r.side)
    if r.account:
        put("Account", r.account)
    if r.price is not None:
        put("Price", format(r.price, "f"))
    if r.ord_type:
        put("OrdType", r.ord_type)
    if r.tif:
        put("TimeInForce", r.tif)
    if r.orig_cl_ord_id:
        put("OrigClOrdID", r.orig_cl_ord_id)
    if r.last_qty is not None:
        put("LastQty", str(r.last_qty))
    if r.last_px is not None:
        put("LastPx", format(r.last_px, "f"))
    if r.trade_id:
        put("TrdMatchID", r.trade_id)
    if r.ord_rej_reason is not None:
        put("OrdRejReason", str(r.ord_rej_reason))
    if r.venue_reason:
        put("VenueRejectCode", r.venue_reason)
    if r.text:
        put("Text", r.text)
    if r.expire_time_us is not None:
        put("ExpireTime", utc_us(r.expire_time_us))
    if r.min_qty:
        put("MinQty", str(r.min_qty))
    if r.exec_ref_id:
        put("ExecRefID", r.exec_ref_id)
    return m


def reference_cancel_reject(r: OrderCancelReject):
    """OrderCancelReject (35=9) field by field, as the builder before cec1587 wrote it."""
    m, put = reference_message("9")
    put("OrderID", r.order_id)
    put("ClOrdID", r.cl_ord_id or "NONE")
    put("OrigClOrdID", r.orig_cl_ord_id or "NONE")
    put("OrdStatus", r.ord_status)
    put("CxlRejResponseTo", r.response_to)
    put("CxlRejReason", str(r.reason))
    put("Text", r.text)
    put("TransactTime", utc_us(r.transact_time_us))
    if r.venue_reason:
        put("VenueRejectCode", r.venue_reason)
    return m


ODD = st.sampled_from(
    [
        "=",
        "==",
        SOH,
        "|",
        "10=",
        "58=",
        "\x00",
        " ",
        "\t",
        "\r\n",
        "\x7f",
        "é",
        "€",
        "ß",
        "日本",
        "🚀",
        "\u200b",
        "\ufeff",
        "\\",
        "'",
        '"',
    ]
)
# Any text a report may carry: odd pieces among arbitrary code points (no lone surrogates: not UTF-8).
TEXT = st.lists(st.one_of(ODD, st.text(st.characters(blacklist_categories=("Cs",)), max_size=6)), max_size=6).map(
    "".join
)
ID = st.one_of(st.text("0123456789", min_size=1, max_size=12), TEXT)
CODE = st.one_of(st.sampled_from(list("0123456789ABCDEFGHI")), TEXT)
QTY = st.integers(0, 10**15)
# Decimals with their exponent from 1E-18 to 1E+8, zeros and negative zero included.
PRICE = st.one_of(
    st.builds(lambda digits, exp: Decimal(digits).scaleb(exp), st.integers(-(10**15), 10**15), st.integers(-18, 8)),
    st.sampled_from([Decimal("0"), Decimal("-0"), Decimal("0E-8"), Decimal("1E+3"), Decimal("100.2500")]),
)
TIME_US = st.integers(0, 4_102_444_799_999_999)  # up to 2099-12-31


@st.composite
def execution_reports(draw) -> ExecutionReport:
    def maybe(strategy):
        return draw(st.one_of(st.none(), strategy))

    return ExecutionReport(
        to="M1",
        order_id=draw(ID),
        cl_ord_id=draw(st.one_of(st.just(""), ID)),
        exec_id=draw(ID),
        exec_type=draw(CODE),
        ord_status=draw(CODE),
        symbol=draw(st.one_of(st.just(""), TEXT)),
        side=draw(st.one_of(st.just(""), CODE)),
        order_qty=draw(QTY),
        leaves_qty=draw(QTY),
        cum_qty=draw(QTY),
        avg_px=draw(PRICE),
        transact_time_us=draw(TIME_US),
        account=maybe(TEXT),
        price=maybe(PRICE),
        ord_type=maybe(CODE),
        tif=maybe(CODE),
        orig_cl_ord_id=maybe(ID),
        last_qty=maybe(QTY),
        last_px=maybe(PRICE),
        trade_id=maybe(ID),
        ord_rej_reason=maybe(st.integers(0, 99)),
        venue_reason=maybe(TEXT),
        text=maybe(TEXT),
        expire_time_us=maybe(TIME_US),
        min_qty=maybe(QTY),
        exec_ref_id=maybe(ID),
        copy_to=draw(st.sampled_from([(), ("DC1",)])),
        poss_resend=draw(st.booleans()),
    )


cancel_rejects = st.builds(
    OrderCancelReject,
    to=st.just("M1"),
    order_id=ID,
    cl_ord_id=st.one_of(st.just(""), ID),
    orig_cl_ord_id=st.one_of(st.none(), st.just(""), ID),
    ord_status=CODE,
    response_to=st.sampled_from(["1", "2"]),
    reason=st.integers(0, 99),
    text=TEXT,
    transact_time_us=TIME_US,
    venue_reason=st.one_of(st.none(), CODE),
)


@PROPERTY
@given(execution_reports())
def test_execution_report_equals_the_field_by_field_reference(report):
    built = Codec.execution_report(report)
    reference = reference_execution_report(report)
    assert built.toString() == reference.toString()
    assert header_of(built) == header_of(reference)


@PROPERTY
@given(cancel_rejects)
def test_cancel_reject_equals_the_field_by_field_reference(reject):
    built = codec().cancel_reject(reject)
    reference = reference_cancel_reject(reject)
    assert built.toString() == reference.toString()
    assert header_of(built) == header_of(reference)


def reference_trade_capture_report(r: SettlementReport):
    """TradeCaptureReport (35=AE) field by field, its side in a NoSides group, as the builder before
    this test's change wrote it."""
    import quickfix44 as fix44

    m, put = reference_message("AE")
    put("TradeReportID", f"S{r.trade_id}-{r.side}")
    put("ExecType", "F")
    put("TrdMatchID", r.trade_id)
    put("PreviouslyReported", "N")
    put("Symbol", r.symbol)
    put("LastQty", str(r.qty))
    put("LastPx", format(r.price, "f"))
    put("TradeDate", utc_us(r.executed_us)[:8])
    put("TransactTime", utc_us(r.transact_time_us))
    put("SettlDate", utc_us(r.transact_time_us)[:8])
    put("SettlementTxHash", r.tx_hash)
    if r.block_number is not None:
        put("SettlementBlockNumber", str(r.block_number))
    put("SettlementStatus", r.status)
    numbers = spec().numbers
    side = fix44.TradeCaptureReport.NoSides()
    for name, value in (("Side", r.side), ("OrderID", r.order_id), ("ClOrdID", r.cl_ord_id), ("Account", r.account)):
        if value or name in ("Side", "OrderID"):
            side.setField(numbers[name], value.replace(SOH, " "))
    m.addGroup(side)
    return m


settlement_reports = st.builds(
    SettlementReport,
    to=st.just("M1"),
    trade_id=ID,
    symbol=TEXT,
    side=st.sampled_from(["1", "2"]),
    qty=QTY,
    price=PRICE,
    order_id=ID,
    cl_ord_id=st.one_of(st.just(""), ID),
    account=st.one_of(st.just(""), TEXT),
    tx_hash=st.one_of(st.just(""), st.text("0123456789abcdef", min_size=64, max_size=64).map("0x".__add__)),
    block_number=st.one_of(st.none(), st.integers(0, 10**12)),
    status=st.sampled_from(["final", "failed"]),
    executed_us=TIME_US,
    transact_time_us=TIME_US,
)


@PROPERTY
@given(settlement_reports)
def test_trade_capture_report_equals_the_field_by_field_reference(report):
    """Parsed from one string with the session's dictionary: the same message as field by field,
    its side readable as a NoSides entry."""
    import quickfix44 as fix44

    built = codec().trade_capture_report(report)
    assert built.toString() == reference_trade_capture_report(report).toString()
    side = fix44.TradeCaptureReport.NoSides()
    built.getGroup(1, side)
    assert (side.getField(54), side.getField(37)) == (report.side, report.order_id.replace(SOH, " "))
    assert built.getField(552) == "1" and not built.hasGroup(2, side)


def _report(**changes) -> ExecutionReport:
    base = ExecutionReport(
        to="M1",
        order_id="7",
        cl_ord_id="c1",
        exec_id="E7",
        exec_type="8",
        ord_status="8",
        symbol="ACME",
        side="1",
        order_qty=10,
        leaves_qty=0,
        cum_qty=0,
        avg_px=Decimal("0"),
        transact_time_us=1_767_260_000_123_456,
        ord_rej_reason=99,
    )
    return dataclasses.replace(base, **changes)


def test_text_holding_soh_is_sent_with_a_space():
    report = _report(text="gate 20\x01refused\x0110=000\x0158=x=y", account="ACC\x01T")
    built = Codec.execution_report(report)
    assert built.getField(58) == "gate 20 refused 10=000 58=x=y"
    assert built.getField(1) == "ACC T"
    # No stray field: the tags on the wire are the report's own, once each, CheckSum last.
    assert tag_sequence(built) == [9, 35, 1, 6, 11, 14, 17, 37, 38, 39, 54, 55, 58, 60, 103, 150, 151, 10]
    assert built.toString() == reference_execution_report(report).toString()


def test_cancel_reject_text_holding_soh_is_sent_with_a_space():
    reject = OrderCancelReject(
        to="M1",
        order_id="NONE",
        cl_ord_id="c2",
        orig_cl_ord_id=None,
        ord_status="8",
        response_to="1",
        reason=1,
        text="Unknown order\x01c1",
        transact_time_us=0,
    )
    built = codec().cancel_reject(reject)
    assert built.getField(58) == "Unknown order c1"
    assert built.getField(41) == "NONE"
    assert tag_sequence(built) == [9, 35, 11, 37, 39, 41, 58, 60, 102, 434, 10]
    assert built.getField(60) == "19700101-00:00:00.000000"


def test_poss_resend_is_in_the_header():
    resent = Codec.execution_report(_report(poss_resend=True))
    assert resent.getHeader().getField(97) == "Y" and not resent.isSetField(97)
    assert not Codec.execution_report(_report()).getHeader().isSetField(97)


def test_reference_fields_belong_to_their_fix44_messages():
    """The reference's field names are fields of 35=8 / 35=9 in the venue's dictionary."""
    names = {
        "8": [
            "OrderID",
            "ClOrdID",
            "ExecID",
            "ExecType",
            "OrdStatus",
            "Symbol",
            "Side",
            "OrderQty",
            "LeavesQty",
            "CumQty",
            "AvgPx",
            "TransactTime",
            "Account",
            "Price",
            "OrdType",
            "TimeInForce",
            "OrigClOrdID",
            "LastQty",
            "LastPx",
            "TrdMatchID",
            "OrdRejReason",
            "VenueRejectCode",
            "Text",
            "ExpireTime",
            "MinQty",
            "ExecRefID",
        ],
        "9": [
            "OrderID",
            "ClOrdID",
            "OrigClOrdID",
            "OrdStatus",
            "CxlRejResponseTo",
            "CxlRejReason",
            "Text",
            "TransactTime",
        ],
    }
    for msg_type, fields in names.items():
        top = spec().layout(msg_type).top
        assert [n for n in fields if spec().numbers[n] not in top] == []


# ---------------------------------------------------------------- 2. incoming: dict and field by field


def raw_message(msg_type: str, body: list[tuple[int, str]], header: tuple[tuple[int, str], ...] = ()) -> str:
    """A FIX 4.4 message as on the wire, BodyLength and CheckSum right (counted in UTF-8 bytes)."""
    fields = [(35, msg_type), (34, "12"), (49, "M1"), (52, "20260102-09:30:00.000000"), (56, "ATS"), *header, *body]
    payload = "".join(f"{tag}={value}{SOH}" for tag, value in fields)
    head = f"8=FIX.4.4{SOH}9={len(payload.encode())}{SOH}{payload}"
    return f"{head}10={sum(head.encode()) % 256:03d}{SOH}"


def parse(raw: str):
    return fix.Message(raw, data_dictionary(), False)


class _Reads:
    """Stands in for a message's fields and records every tag a handler asks for."""

    def __init__(self, msg_type: str) -> None:
        self.msg_type = msg_type
        self.tags: set[int] = set()

    def get(self, tag: int) -> str | None:
        self.tags.add(tag)
        return self.msg_type if tag == Tag.MsgType else None


@cache
def venue_reads() -> dict[str, frozenset[int]]:
    """Per supported MsgType, the tags `fromApp` reads through its fields (found by running it)."""
    reads = {}
    for msg_type in SUPPORTED_APP_MESSAGES:
        submitted: list = []
        app = VenueApplication(submitted.append, lambda *a: None)
        recorder = _Reads(msg_type)
        app.codec.fields = lambda message, recorder=recorder: recorder  # the handlers see the recorder
        app.fromApp(fix.Message(), SESSION)
        assert len(submitted) == 1, f"{msg_type}: the handler did not run to its command"
        reads[msg_type] = frozenset(recorder.tags)
    return reads


class _App(VenueApplication):
    """The venue's application with its answers kept: commands submitted and business rejects."""

    def __init__(self, structural: frozenset[int] | None) -> None:
        commands: list = []
        super().__init__(commands.append, lambda *a: None)
        self.commands = commands
        self.rejects: list[tuple[str, str, str]] = []
        self.codec.structural_tags = structural

    def _business_reject(self, message, sessionID, msg_type, reason, text):  # noqa: N803
        self.rejects.append((msg_type, reason, text))

    def answers(self) -> tuple[list, list]:
        commands = [dataclasses.replace(c, received_us=0) if hasattr(c, "received_us") else c for c in self.commands]
        return commands, self.rejects


# The supported types a valid message of which may carry no repeating group: read in one call when flat.
FAST_PATH_TYPES = tuple(sorted(t for t in SUPPORTED_APP_MESSAGES if not spec().layout(t).always_grouped))
VENUE_TAGS = sorted({v for k, v in vars(Tag).items() if not k.startswith("_") and isinstance(v, int)})

NUMBERS = st.sampled_from(
    [
        "0",
        "1",
        "10",
        "100.25",
        "-3",
        "1E+3",
        "0.000001",
        "1e400",
        "NaN",
        "Infinity",
        "07",
        " 5",
        "1,5",
        "12345678901234567890123",
    ]
)
TIMESTAMPS = st.sampled_from(
    [
        "20260102-15:00:00",
        "20260102-15:00:00.123",
        "20260102-15:00:00.123456789",
        "2026-01-02T15:00:00",
        "20261302-15:00:00",
    ]
)
VALUE = st.one_of(
    NUMBERS, TIMESTAMPS, st.sampled_from(list("0123456789ABCDEFG")), TEXT.map(lambda s: s.replace(SOH, ""))
)  # no SOH: it cannot be in a value on the wire


@st.composite
def incoming(draw) -> tuple[str, list[tuple[int, str]]]:
    """A message type the fast path serves and a flat body for it: the tags the venue reads (each
    likely present) and other top-level fields of that message, in any order."""
    msg_type = draw(st.sampled_from(FAST_PATH_TYPES))
    layout = spec().layout(msg_type)
    usable = sorted(t for t in layout.top if t not in structural() and spec().types[t] != "DATA")
    read = [t for t in usable if t in venue_reads()[msg_type]]
    others = [t for t in usable if t not in venue_reads()[msg_type]]
    tags = [t for t in read if draw(st.integers(0, 3))]
    tags += draw(st.lists(st.sampled_from(others), unique=True, max_size=6))
    tags = draw(st.permutations(tags))
    return msg_type, [(t, draw(VALUE)) for t in tags]


@PROPERTY
@given(incoming())
def test_flat_message_reads_the_same_on_both_paths(case):
    msg_type, body = case
    message = parse(raw_message(msg_type, body))
    fast = _App(structural()).codec.fields(message)
    slow = BodyFields(message)
    assert isinstance(fast, dict), "a flat message must take the one-call path"
    sent = dict(body)
    for tag in VENUE_TAGS:
        if tag in spec().header or tag in spec().trailer:
            continue  # header fields: see test_header_fields_read_alike_on_both_paths
        assert fast.get(tag) == slow.get(tag) == sent.get(tag), tag
    assert fast.get(Tag.MsgType) == slow.get(Tag.MsgType) == msg_type


@PROPERTY
@given(incoming())
def test_flat_message_gives_the_same_command_or_reject_on_both_paths(case):
    msg_type, body = case
    message = parse(raw_message(msg_type, body))
    fast, slow = _App(structural()), _App(None)  # no dictionary known: field by field
    fast.fromApp(message, SESSION)
    slow.fromApp(message, SESSION)
    assert len(fast.commands) + len(fast.rejects) == 1
    assert fast.answers() == slow.answers()


@st.composite
def structured(draw) -> tuple[str, list[tuple[int, str]], dict[int, str]]:
    """A flat body plus one repeating group or one data field (holding SOH and `tag=value` text)."""
    msg_type, body = draw(incoming())
    layout = spec().layout(msg_type)
    extras = [("group", g) for g in layout.groups if spec().types[g[1]] not in ("NUMINGROUP", "LENGTH", "DATA")]
    extras += [("data", d) for d in layout.data]
    kind, (first, second) = draw(st.sampled_from(extras))
    if kind == "group":
        tail = [(first, "1"), (second, draw(VALUE))]
    else:
        value = draw(st.sampled_from([f"{SOH}55=EVIL{SOH}11=X", "a=b", f"x{SOH}"])) + draw(TEXT)
        tail = [(first, str(len(value.encode()))), (second, value)]
    return msg_type, body + tail, dict(body)


@PROPERTY
@given(structured())
def test_message_with_a_group_or_data_field_is_read_field_by_field(case):
    msg_type, body, flat = case
    message = parse(raw_message(msg_type, body))
    fields = _App(structural()).codec.fields(message)
    assert isinstance(fields, BodyFields)
    for tag in venue_reads()[msg_type] - {Tag.MsgType}:
        assert fields.get(tag) == flat.get(tag), tag


@pytest.mark.parametrize("text", [f"{SOH}1=EVIL{SOH}59=6", f"note{SOH}55=EVIL{SOH}38=999"])
def test_fields_inside_a_data_field_do_not_reach_the_order(text):
    """EncodedText(355) may hold SOH: what follows one is no field (here Account, TimeInForce)."""
    body = [
        (11, "c1"),
        (55, "ACME"),
        (54, "1"),
        (38, "10"),
        (40, "2"),
        (44, "1.5"),
        (60, "20260102-15:00:00"),
        (354, str(len(text.encode()))),
        (355, text),
    ]
    app = _App(structural())
    app.fromApp(parse(raw_message("D", body)), SESSION)
    [order] = app.commands
    assert (order.symbol, order.qty, order.price, order.account, order.tif) == (
        "ACME",
        Decimal("10"),
        Decimal("1.5"),
        None,
        "0",
    )


def test_repeated_tag_is_read_field_by_field():
    """The session rejects a repeated tag (the dictionary's check); should one come through, the dict
    (last value wins) is not used."""
    message = parse(raw_message("D", [(11, "c1"), (55, "ACME"), (55, "EVIL"), (54, "1")]))
    fields = _App(structural()).codec.fields(message)
    assert isinstance(fields, BodyFields)
    assert fields.get(Tag.Symbol) == "ACME"


def test_handlers_read_no_header_field_but_msg_type():
    """`BodyFields` reads the body only (MsgType aside); the handlers must not need more."""
    for msg_type, tags in venue_reads().items():
        assert tags & (spec().header | spec().trailer) == {Tag.MsgType}, msg_type


def test_header_fields_read_alike_on_both_paths():
    message = parse(raw_message("D", [(11, "c1"), (55, "ACME")], header=[(97, "Y")]))
    fast = _App(structural()).codec.fields(message)
    assert isinstance(fast, dict)
    slow = BodyFields(message)
    for tag in (Tag.MsgSeqNum, Tag.PossResend, 52):
        assert fast.get(tag) == slow.get(tag), tag


# ---------------------------------------------------------------- 3. the dictionary walk


def test_fast_path_types_are_the_supported_ones_without_a_required_group():
    assert {"D", "F", "G", "H", "q", "x"} <= set(FAST_PATH_TYPES)
    for msg_type in set(SUPPORTED_APP_MESSAGES) - set(FAST_PATH_TYPES):  # V: its groups are required
        assert {count for count, _ in spec().layout(msg_type).groups} <= structural()


def test_market_data_request_is_read_field_by_field():
    body = [(262, "md1"), (263, "1"), (264, "0"), (267, "2"), (269, "0"), (269, "1"), (146, "1"), (55, "ACME")]
    message = parse(raw_message("V", body))
    assert isinstance(_App(structural()).codec.fields(message), BodyFields)
    app = _App(structural())
    app.fromApp(message, SESSION)
    [request] = app.commands
    assert (request.req_id, request.entry_types, request.symbols) == ("md1", ("0", "1"), ("ACME",))


@pytest.mark.parametrize("msg_type", FAST_PATH_TYPES)
def test_no_tag_the_venue_reads_sits_in_a_repeating_group(msg_type):
    layout = spec().layout(msg_type)
    assert venue_reads()[msg_type] & layout.grouped == set()


def test_structural_tags_are_every_group_count_and_data_length():
    d = spec()
    by_type = {t for t, kind in d.types.items() if kind in ("NUMINGROUP", "LENGTH")}
    assert structural() == by_type - {9}
    assert 9 not in structural()
    assert d.groups_anywhere <= structural()  # every group's count, whatever its declared type
    data = [t for t, kind in d.types.items() if kind == "DATA"]
    assert data and {d.data_length(t) for t in data} <= structural()


# ---------------------------------------------------------------- 4. every outbound message, one way
# Each report the venue sends is built from one list of fields (`Codec.build`); here each equals the
# message built field by field with the binding's group classes, as the venue once built them.

from venue.market_data import MarketDataIncrement, MarketDataReject, MarketDataSnapshot  # noqa: E402
from venue.messages import (  # noqa: E402
    MassCancelReport,
    SecurityListEntry,
    SecurityListReport,
    SecurityStatusReport,
    TradingSessionStatusReport,
)


def _md_entry(**kw):
    from venue.market_data import MDEntry

    base = dict(action="0", entry_type="0", price=Decimal("10.25"), size=300, trade_id=None)
    base.update(kw)
    return MDEntry(**base)


def reference_market_data(r):
    import quickfix44 as fix44

    snapshot = isinstance(r, MarketDataSnapshot)
    m, put = reference_message("W" if snapshot else "X")
    put("MDReqID", r.req_id)
    if snapshot:
        put("Symbol", r.symbol)
        put("RptSeq", str(r.seq))
        if not r.entries:
            put("NoMDEntries", "0")
    for e in r.entries:
        g = (
            fix44.MarketDataSnapshotFullRefresh.NoMDEntries()
            if snapshot
            else fix44.MarketDataIncrementalRefresh.NoMDEntries()
        )
        if not snapshot:
            g.setField(279, e.action)
        g.setField(269, e.entry_type)
        if e.trade_id:
            g.setField(278, e.trade_id)
        if not snapshot:
            g.setField(55, r.symbol)
            g.setField(83, str(r.seq))
        g.setField(270, format(e.price, "f"))
        if e.action != "2":
            g.setField(271, str(e.size))
        m.addGroup(g)
    return m


def reference_security_list(r: SecurityListReport):
    import quickfix44 as fix44

    m, put = reference_message("y")
    put("SecurityReqID", r.req_id or "NONE")
    put("SecurityResponseID", r.response_id or "NONE")
    put("SecurityRequestResult", r.result)
    if r.text:
        put("Text", r.text)
    for e in r.entries:
        g = fix44.SecurityList.NoRelatedSym()
        for tag, value in (
            (55, e.symbol),
            (107, e.name),
            (15, e.currency),
            (561, str(e.lot_size)),
            (969, format(e.tick_size, "f")),
            (336, "DAY"),
        ):
            g.setField(tag, value)
        sub_id = {"CONTINUOUS": "3", "HALTED": ""}[e.phase]
        if sub_id:
            g.setField(625, sub_id)
        g.setField(58, e.restrictions)
        if e.reference_price is not None:
            g.setField(20020, format(e.reference_price, "f"))
        if e.band_bps is not None:
            g.setField(20021, str(e.band_bps))
        m.addGroup(g)
    return m


def reference_mass_cancel_report(r: MassCancelReport):
    import quickfix44 as fix44

    m, put = reference_message("r")
    put("ClOrdID", r.cl_ord_id or "NONE")
    put("OrderID", r.report_id)
    put("MassCancelRequestType", r.request_type or "0")
    put("MassCancelResponse", r.response)
    if r.reject_reason:
        put("MassCancelRejectReason", r.reject_reason)
    put("TotalAffectedOrders", str(len(r.affected)))
    for orig, order_id in r.affected:
        g = fix44.OrderMassCancelReport.NoAffectedOrders()
        g.setField(41, orig)
        g.setField(535, order_id)
        m.addGroup(g)
    if r.symbol:
        put("Symbol", r.symbol)
    if r.side:
        put("Side", r.side)
    put("TransactTime", utc_us(r.transact_time_us))
    if r.text:
        put("Text", r.text)
    return m


T = 1_767_260_000_123_456
ENTRY = SecurityListEntry(
    "ACME",
    "Acme Robotics",
    "USD",
    Decimal("0.01"),
    1,
    "CONTINUOUS",
    "Reg D 506(c); accredited buyers only",
    Decimal("10.00"),
    5000,
)


@pytest.mark.parametrize(
    "report, reference",
    [
        (MarketDataSnapshot("M1", "R1", "ACME", 1, ()), reference_market_data),
        (
            MarketDataSnapshot("M1", "R1", "ACME", 1, (_md_entry(), _md_entry(entry_type="1", price=Decimal("10.5")))),
            reference_market_data,
        ),
        (
            MarketDataIncrement(
                "M1",
                "R1",
                "ACME",
                9,
                (
                    _md_entry(action="1"),
                    _md_entry(action="2", entry_type="1"),
                    _md_entry(entry_type="2", trade_id="78"),
                ),
            ),
            reference_market_data,
        ),
        (
            SecurityListReport(
                "M1",
                "Q1",
                "Q1",
                "0",
                (ENTRY, dataclasses.replace(ENTRY, symbol="BETA", phase="HALTED", reference_price=None, band_bps=None)),
                None,
            ),
            reference_security_list,
        ),
        (SecurityListReport("M1", "Q2", "Q2", "2", (), "Unknown symbol NOPE"), reference_security_list),
        (
            MassCancelReport(
                "M1", "MC", "MC1", "7", "7", (("A", "1"), ("B", "2")), None, None, T, text="2 orders canceled"
            ),
            reference_mass_cancel_report,
        ),
        (
            MassCancelReport("M1", "MC", "MC2", "1", "0", (), "ACME", "2", T, "99", "refused"),
            reference_mass_cancel_report,
        ),
    ],
)
def test_every_grouped_report_equals_the_field_by_field_reference(report, reference):
    """The same fields and group entries; within an entry the codec keeps the data dictionary's
    order (the binding's compiled group classes may order some fields otherwise)."""
    built, expected = codec().encode(report), reference(report)
    assert _shape(built) == _shape(expected)
    assert built.toString().split(SOH)[:2] == expected.toString().split(SOH)[:2]  # BodyLength, MsgType


def _shape(message) -> tuple[dict[int, str], list[dict[int, str]]]:
    """A message's top-level fields and the entries of its one repeating group, as dicts."""
    from venue.fix_codec import group_orders

    pairs = [(int(t), v) for t, _, v in (f.partition("=") for f in message.toString().split(SOH)[:-1])]
    msg_type = dict(pairs)[35]
    groups = {count: members for (mt, count), members in group_orders(fix_dictionary()).items() if mt == msg_type}
    top: dict[int, str] = {}
    entries: list[dict[int, str]] = []
    members: dict[int, int] | None = None
    for tag, value in pairs:
        if tag in groups and tag not in (9, 10):
            top[tag] = value
            members = groups[tag]
            continue
        if members is not None and tag in members:
            if min(members, key=members.get) == tag or not entries:
                entries.append({})
            entries[-1][tag] = value
            continue
        members = None
        top[tag] = value
    top.pop(10, None)  # the checksum follows the field order
    return top, entries


def test_the_flat_reports_carry_their_fields():
    status = codec().encode(SecurityStatusReport("ACME", True, "halt by venue operations", T))
    assert [status.getHeader().getField(35), status.getField(55), status.getField(326)] == ["f", "ACME", "2"]
    phase = codec().encode(TradingSessionStatusReport("ACME", "CONTINUOUS", "trading calendar", T))
    assert [phase.getField(t) for t in (336, 625, 340, 55)] == ["DAY", "3", "2", "ACME"]
    assert phase.getField(58) == "ACME continuous: trading calendar"
    halted = codec().encode(TradingSessionStatusReport("ACME", "HALTED", "halt", T))
    assert not halted.isSetField(625) and halted.getField(340) == "1"
    reject = codec().encode(MarketDataReject("M1", "", "0", "Unknown symbol X"))
    assert [reject.getField(t) for t in (262, 281, 58)] == ["NONE", "0", "Unknown symbol X"]
    answer = codec().business_reject("12", "Z", "C1", "3", "Unsupported message type Z")
    assert [answer.getField(t) for t in (45, 372, 379, 380)] == ["12", "Z", "C1", "3"]
