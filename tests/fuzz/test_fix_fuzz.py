"""Hypothesis-generated and mutated FIX messages over real sessions of a running venue.

Choices: one sandbox venue per test function (SQLite and PostgreSQL), one BRKA session reused by
every example, logged on again with ResetSeqNumFlag(141=Y) when the venue drops it. Each example
is one valid message (D, F, G, H, V or q) with one defect, and the answer its kind must get,
as measured on the QuickFIX engine the venue runs:

* framing breaches (bad CheckSum, BodyLength too short, garbage bytes, a tag that is not a
  number, a field without '=', no MsgType): discarded without an answer and without using up the
  sequence number: a TestRequest with the same MsgSeqNum is answered next.
* BodyLength too long: the engine waits for the missing bytes and swallows what follows; nothing
  is answered until the member reconnects (the test logs on again and trades).
* dictionary breaches (missing required tag, unknown tag, tag not in the message type, wrong data
  type, value outside the dictionary's enum, duplicate tag, empty value, NumInGroup not matching
  the group): a session Reject (35=3) naming the sequence number, SessionRejectReason(373) and
  RefTagID(371); nothing else. CompID mismatches get 35=3 373=9 and a Logout.
* well-formed nonsense (unknown symbols, other members' accounts, odd quantities and prices, huge
  strings and numbers the venue can store, unsupported enum values): D gets one ExecutionReport,
  rejected (150=8 with 103, 58 and 20001) whenever a rule is broken; F/G on no order get 35=9
  102=1; H gets 150=I 39=8; unsupported message types get 35=j 380=3.

After each run: the process is alive, no order is in an impossible state, and a fresh crossing pair
trades. Values the journal cannot hold are kept out of the generators and pinned by
test_values_the_journal_cannot_hold (values longer than the venue keeps are refused with 35=j, quantities
above 10^12 with Q100; they once broke the journal).
VENUE_FUZZ_EXAMPLES sets the examples per test (CI default 60).
"""

from __future__ import annotations

import string

import pytest
from fixclient import FixClient, _ts
from fuzzfix import EXAMPLES, Session, assert_book_sound_and_trading, dictionary, templates
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
SOH = b"\x01"
MSG_TYPES = st.sampled_from(["D", "F", "G", "H", "V", "q"])
NUMERIC_TYPES = {
    "INT",
    "QTY",
    "PRICE",
    "FLOAT",
    "AMT",
    "PRICEOFFSET",
    "PERCENTAGE",
    "SEQNUM",
    "UTCTIMESTAMP",
    "LENGTH",
    "NUMINGROUP",
    "UTCDATEONLY",
    "UTCTIMEONLY",
    "LOCALMKTDATE",
    "MONTHYEAR",
}


def frame(pairs: list[tuple[bytes, bytes]]) -> bytes:
    """A message with a correct BodyLength and CheckSum around `pairs` (MsgType onwards)."""
    body = b"".join(t + b"=" + v + SOH for t, v in pairs)
    msg = b"8=FIX.4.4" + SOH + b"9=" + str(len(body)).encode() + SOH + body
    return msg + b"10=%03d" % (sum(msg) % 256) + SOH


def pairs_of(raw: bytes) -> list[tuple[bytes, bytes]]:
    """The fields of an encoded message between BodyLength and CheckSum."""
    fields = [f.split(b"=", 1) for f in raw.split(SOH) if f]
    return [(t, v) for t, v in fields if t not in (b"8", b"9", b"10")]


def set_field(raw: bytes, tag: bytes, value: bytes) -> bytes:
    start = raw.index(SOH + tag + b"=") + len(tag) + 2
    return raw[:start] + value + raw[raw.index(SOH, start) :]


@pytest.fixture
def brka(venue):
    session = Session(venue.port, "BRKA")
    yield session
    session.client.close()


# ---------------------------------------------------------------- framing


@st.composite
def framing_breach(draw, session: Session):
    kind = draw(
        st.sampled_from(["checksum", "short_body", "garbage", "bad_tag", "no_equals", "no_msgtype", "long_body"])
    )
    msg_type = draw(MSG_TYPES)
    raw = session.client.encode(msg_type, templates(f"FR{session.seq}")[msg_type])
    if kind == "checksum":
        # draws never depend on the message (its timestamp and sequence number vary between runs)
        bad = (int(raw[-4:-1]) + draw(st.integers(1, 999))) % 1000
        return kind, raw[:-4] + b"%03d" % bad + SOH
    length = int(raw.split(SOH)[1][2:])
    if kind == "short_body":
        return kind, set_field(raw, b"9", str(1 + draw(st.integers(0, 10**6)) % (length - 1)).encode())
    if kind == "long_body":
        return kind, set_field(raw, b"9", str(length + draw(st.integers(1, 5000))).encode())
    if kind == "garbage":
        junk = draw(st.binary(min_size=1, max_size=300).filter(lambda b: b"8=" not in b and b"10=" not in b))
        return kind, junk
    pairs = pairs_of(raw)
    at = draw(st.integers(1, len(pairs)))
    if kind == "bad_tag":
        tag = draw(st.text(string.ascii_letters + "-+. ", min_size=1, max_size=5)).encode()
        return kind, frame(pairs[:at] + [(tag, b"1")] + pairs[at:])
    if kind == "no_equals":
        word = draw(st.text(string.ascii_letters, min_size=1, max_size=8)).encode()
        body = (
            b"".join(t + b"=" + v + SOH for t, v in pairs[:at])
            + word
            + SOH
            + b"".join(t + b"=" + v + SOH for t, v in pairs[at:])
        )
        msg = b"8=FIX.4.4" + SOH + b"9=" + str(len(body)).encode() + SOH + body
        return kind, msg + b"10=%03d" % (sum(msg) % 256) + SOH
    return kind, frame([(t, v) for t, v in pairs if t != b"35"])


def test_framing_breaches_are_discarded_and_the_session_survives(venue, brka):
    kinds: dict[str, int] = {}

    @FUZZ
    @given(data=st.data())
    def run(data):
        brka.forget()
        kind, raw = data.draw(framing_breach(brka))
        kinds[kind] = kinds.get(kind, 0) + 1
        brka.send_raw(raw, consumes_seq=False)
        got, dropped = brka.answers(0.15)
        assert got == [] and not dropped, f"{kind}: {got}"
        if kind == "long_body":
            assert not brka.alive(0.5), "the engine waits for the promised bytes"
            brka.reconnect()
        assert brka.alive(), f"{kind}: the next message with the same MsgSeqNum is not processed"
        brka.forget()

    run()
    assert_book_sound_and_trading(venue, brka)


# ---------------------------------------------------------------- dictionary breaches


def _valid_value(tag: int, d) -> str:
    if tag in d.enums:
        return sorted(d.enums[tag])[0]
    return {
        "UTCTIMESTAMP": _ts(),
        "UTCDATEONLY": "20250101",
        "LOCALMKTDATE": "20250101",
        "UTCTIMEONLY": "12:00:00",
        "BOOLEAN": "Y",
        "CHAR": "A",
        "MONTHYEAR": "202501",
    }.get(d.types[tag], "1")


@st.composite
def dictionary_breach(draw, seq: int):
    """(msg_type, fields, expected 373, expected 371) for one defect the dictionary forbids."""
    d = dictionary()
    msg_type = draw(MSG_TYPES)
    fields = templates(f"DB{seq}")[msg_type]
    tags = [t for t, _ in fields]
    # V's repeating groups sit at the end: a field inserted among them ends the group early and the
    # engine then names the orphaned group member instead, so defects stay outside the groups.
    groups = {267, 269, 146, 55} if msg_type == "V" else set()
    singles = [t for t in tags if t not in groups]
    kind = draw(
        st.sampled_from(
            ["missing", "unknown_tag", "foreign_tag", "wrong_type", "bad_enum", "duplicate", "empty", "group_count"]
            if msg_type == "V"
            else ["missing", "unknown_tag", "foreign_tag", "wrong_type", "bad_enum", "duplicate", "empty"]
        )
    )
    at = draw(st.integers(0, len(singles)))
    applicable = {
        "missing": [t for t in d.required[msg_type] if t in singles],
        "wrong_type": [t for t in singles if d.types.get(t) in NUMERIC_TYPES],
        "bad_enum": [t for t in singles if t in d.enums and d.types[t] == "CHAR"],
    }
    if kind in applicable and not applicable[kind]:
        kind = "unknown_tag"  # this message type has no field of that kind
    if kind == "missing":
        tag = draw(st.sampled_from(sorted(applicable["missing"])))
        return msg_type, [f for f in fields if f[0] != tag], "1", str(tag)
    if kind == "unknown_tag":
        tag = draw(st.integers(0, 40000).filter(lambda t: t not in d.types))
        return msg_type, fields[:at] + [(tag, "x")] + fields[at:], "0", str(tag)
    if kind == "foreign_tag":
        pool = sorted(
            t
            for t, ty in d.types.items()
            if t not in d.message_fields[msg_type]
            and t not in d.header
            and ty not in ("DATA", "LENGTH", "NUMINGROUP")
            and t < 10000
        )
        tag = draw(st.sampled_from(pool))
        return msg_type, fields[:at] + [(tag, _valid_value(tag, d))] + fields[at:], "2", str(tag)
    if kind == "wrong_type":
        tag = draw(st.sampled_from(applicable["wrong_type"]))
        value = draw(st.from_regex(r"[0-9.]{0,4}[a-zA-Z!#%&*@][0-9a-zA-Z.]{0,6}", fullmatch=True))
        return msg_type, [(t, value if t == tag else v) for t, v in fields], "6", str(tag)
    if kind == "bad_enum":
        tag = draw(st.sampled_from(applicable["bad_enum"]))
        value = draw(st.sampled_from([c for c in string.printable[:94] if c != "=" and c not in d.enums[tag]]))
        index = tags.index(tag)
        return msg_type, [(t, value) if i == index else (t, v) for i, (t, v) in enumerate(fields)], "5", str(tag)
    if kind == "duplicate":
        tag = draw(st.sampled_from(singles))
        value = dict(fields)[tag]
        return msg_type, fields[:at] + [(tag, value)] + fields[at:], "13", str(tag)
    if kind == "empty":
        tag = draw(st.sampled_from(singles))
        return msg_type, [(t, "" if t == tag else v) for t, v in fields], "4", str(tag)
    count_tag = draw(st.sampled_from([267, 146]))
    actual = 2 if count_tag == 267 else 1
    n = draw(st.integers(-99, 99).filter(lambda n: n != actual))
    return msg_type, [(t, str(n) if t == count_tag else v) for t, v in fields], "16", str(count_tag)


def _encode_empty_ok(client: FixClient, msg_type: str, fields: list[tuple[int, str]]) -> bytes:
    """Like FixClient.encode, but keeps fields with an empty value (simplefix would too; be explicit)."""
    raw = client.encode(msg_type, [(t, v if v != "" else "\x00EMPTY") for t, v in fields])
    return raw if b"\x00EMPTY" not in raw else frame([(t, b"" if v == b"\x00EMPTY" else v) for t, v in pairs_of(raw)])


def test_dictionary_breaches_get_a_session_reject(venue, brka):
    seen: dict[str, int] = {}

    @FUZZ
    @given(data=st.data())
    def run(data):
        brka.forget()
        seq = brka.seq
        msg_type, fields, reason, ref_tag = data.draw(dictionary_breach(seq))
        seen[reason] = seen.get(reason, 0) + 1
        brka.send_raw(_encode_empty_ok(brka.client, msg_type, fields), consumes_seq=True)
        got, dropped = brka.answers(3.0, until=lambda g: any(m.get(45) == str(seq) for m in g))
        assert not dropped, f"{msg_type} {fields}: disconnected"
        mine = [m for m in got if m.get(45) == str(seq) or m.get(11) == f"DB{seq}" or m.get(262) == f"DB{seq}"]
        rejects = [m for m in mine if m.type == "3"]
        assert len(rejects) == 1 and len(mine) == 1, f"{fields}: {mine}"
        r = rejects[0]
        assert (r.get(45), r.get(372), r.get(373), r.get(371)) == (str(seq), msg_type, reason, ref_tag), (
            f"{msg_type} {fields}: {r}"
        )
        brka.forget()
        assert brka.alive()
        brka.forget()

    run()
    assert_book_sound_and_trading(venue, brka)


# ---------------------------------------------------------------- well-formed nonsense

SYMBOLS = st.one_of(
    st.sampled_from(["ACME", "BETA"]), st.text(string.ascii_uppercase + string.digits, min_size=1, max_size=32)
)
ACCOUNTS = st.one_of(
    st.sampled_from(["A-ALICE", "B-BOB", "B-CAROL", "M-MAKER", None]),
    st.text(string.ascii_letters + "-", min_size=1, max_size=64),
)
QTYS = st.one_of(
    st.integers(-5, 20_000).map(str),
    st.integers(1, 10**15).map(str),
    st.decimals(-100, 100_000, places=3, allow_nan=False).map(lambda d: format(d, "f")),
    st.none(),
)
PRICES = st.one_of(
    st.decimals("0.001", "40", places=2, allow_nan=False).map(lambda d: format(d, "f")),
    st.decimals("-5", "40", places=4, allow_nan=False).map(lambda d: format(d, "f")),
    st.integers(1, 10**15).map(str),
    st.just("0"),
    st.none(),
)
TEXT = st.text(string.ascii_letters + string.digits + "-_./ ", min_size=1, max_size=40)


@st.composite
def nonsense(draw, seq: int):
    d = dictionary()
    kind = draw(st.sampled_from(["D", "D", "D", "F", "G", "H", "unsupported"]))
    cl = f"N{seq}-{draw(st.text(string.ascii_letters + string.digits, max_size=20))}"
    if kind == "unsupported":
        # application messages the venue does not support, whose required fields are plain fields
        msg_type = draw(
            st.sampled_from(
                sorted(
                    t
                    for t in d.message_fields
                    if t not in {"D", "F", "G", "H", "q", "V", "x", "0", "1", "2", "3", "4", "5", "A"}
                    and all(d.types[r] not in ("NUMINGROUP", "LENGTH", "DATA") for r in d.required[t])
                )
            )
        )
        fields = [
            (t, _valid_value(t, d))
            for t in sorted(d.required[msg_type])
            if d.types[t] not in ("NUMINGROUP", "LENGTH", "DATA")
        ]
        return msg_type, fields, cl, None
    if kind == "D":
        sym, acct, qty, px = draw(SYMBOLS), draw(ACCOUNTS), draw(QTYS), draw(PRICES)
        side = draw(st.sampled_from(sorted(d.enums[54])))
        ord_type = draw(st.sampled_from(["1", "2", "2", "2"] + sorted(d.enums[40])))
        tif = draw(st.sampled_from(["0", "1", "0"] + sorted(d.enums[59])))
        capacity = draw(st.sampled_from(["A", "P", "A", None]))
        fields = [(11, cl), (55, sym), (54, side), (60, _ts()), (40, ord_type), (59, tif)]
        fields += [(t, v) for t, v in ((1, acct), (38, qty), (44, px), (528, capacity)) if v is not None]
        must_reject = (
            capacity is None
            or acct != "A-ALICE"
            or sym not in ("ACME", "BETA")
            or side not in ("1", "2")
            or ord_type not in ("1", "2")
            or tif not in ("0", "1", "3", "4", "6")
            or qty is None
            or "." in qty.rstrip("0").rstrip(".")
            or int(float(qty)) <= 0
            or (sym == "BETA" and int(float(qty)) % 10 != 0)
            or (ord_type == "2" and (px is None or float(px) <= 0))
            or (ord_type == "1" and px is not None)
        )
        return "D", fields, cl, must_reject
    ref = draw(st.one_of(TEXT, st.integers(-(10**30), 10**30).map(str), st.just("NONE")))
    oid = draw(st.one_of(st.none(), st.integers(-(10**30), 10**30).map(str), TEXT))
    fields = {
        "F": [(11, cl), (41, ref), (55, draw(SYMBOLS)), (54, "1"), (60, _ts())],
        "G": [
            (11, cl),
            (41, ref),
            (55, draw(SYMBOLS)),
            (54, "2"),
            (60, _ts()),
            (38, draw(QTYS) or "1"),
            (40, "2"),
            (44, draw(PRICES) or "10.00"),
        ],
        "H": [(11, cl), (55, draw(SYMBOLS)), (54, "1")],
    }[kind]
    if oid is not None:
        fields.append((37, oid))
    return kind, fields, cl, None


def test_well_formed_nonsense_gets_business_answers(venue, brka):
    @FUZZ
    @given(data=st.data())
    def run(data):
        brka.forget()
        seq = brka.seq
        msg_type, fields, cl, must_reject = data.draw(nonsense(seq))
        brka.send(msg_type, fields)

        def answered(got):
            return any(m.get(11) == cl or m.get(45) == str(seq) for m in got)

        got, dropped = brka.answers(5.0, until=answered)
        assert not dropped, f"{msg_type} {fields}: disconnected"
        mine = [m for m in got if m.get(11) == cl or m.get(45) == str(seq)]
        assert mine, f"{msg_type} {fields}: no answer; got {got}"
        m = mine[0]
        if msg_type == "D":
            assert m.type == "8", f"{fields}: {m}"
            if m[150] == "8":
                assert (m[39], m[37]) == ("8", "NONE") and m.get(103) and m.get(58) and m.get(20001), m
            else:
                assert not must_reject, f"accepted an order that breaks a rule: {fields} -> {m}"
                assert m[150] in ("0", "F", "4"), m
                assert int(m[151]) + int(m[14]) == int(m[38]) or m[39] in ("4", "2"), m
        elif msg_type in ("F", "G"):
            assert m.type == "9" and (m[102], m[58], m[39]) == ("1", "Unknown order", "8"), f"{fields}: {m}"
        elif msg_type == "H":
            assert m.type == "8" and (m[150], m[39], m[103]) == ("I", "8", "5"), f"{fields}: {m}"
        else:
            assert (m.type, m[380], m[372]) == ("j", "3", msg_type), f"{fields}: {m}"
        brka.forget()

    run()
    assert_book_sound_and_trading(venue, brka)


# ---------------------------------------------------------------- values the journal cannot hold

L = "L" * 10_000
UNJOURNALABLE = {
    "OrderQty 10^30": (
        "D",
        [(11, "F1"), (1, "A-ALICE"), (55, "ACME"), (54, "1"), (38, "1" + "0" * 30), (40, "2"), (44, "9.00")],
        "both",
    ),
    "OrderQty 2^63": (
        "D",
        [(11, "F2"), (1, "A-ALICE"), (55, "ACME"), (54, "1"), (38, str(2**63)), (40, "2"), (44, "9.00")],
        "both",
    ),
    "ClOrdID of 10,000 characters": (
        "D",
        [(11, L), (1, "A-ALICE"), (55, "ACME"), (54, "1"), (38, "10"), (40, "2"), (44, "9.00")],
        "postgres",
    ),
    "Account of 10,000 characters": (
        "D",
        [(11, "F4"), (1, L), (55, "ACME"), (54, "1"), (38, "10"), (40, "2"), (44, "9.00")],
        "postgres",
    ),
    "Symbol of 10,000 characters": (
        "D",
        [(11, "F5"), (1, "A-ALICE"), (55, L), (54, "1"), (38, "10"), (40, "2"), (44, "9.00")],
        "postgres",
    ),
    "Price with 60 decimals": (
        "D",
        [(11, "F6"), (1, "A-ALICE"), (55, "ACME"), (54, "1"), (38, "10"), (40, "2"), (44, "9." + "0" * 60)],
        "postgres",
    ),
    "cancel with a 10,000-character ClOrdID": ("F", [(11, L), (41, L), (55, "ACME"), (54, "1")], "none"),
    "status with a 10,000-character ClOrdID": ("H", [(11, L), (55, "ACME"), (54, "1")], "postgres"),
    # PostgreSQL text cannot hold NUL (0x00): the whole batch, other members' orders with it, was refused
    "ClOrdID with a NUL byte": (
        "D",
        [(11, "F9\x00x"), (1, "A-ALICE"), (55, "ACME"), (54, "1"), (38, "10"), (40, "2"), (44, "9.00")],
        "postgres",
    ),
    "Account with a NUL byte": (
        "D",
        [(11, "F10"), (1, "A-AL\x00ICE"), (55, "ACME"), (54, "1"), (38, "10"), (40, "2"), (44, "9.00")],
        "postgres",
    ),
    "cancel with a NUL byte in ClOrdID": ("F", [(11, "F11\x00"), (41, "F0"), (55, "ACME"), (54, "1")], "postgres"),
}
EXPECTED_KIND = {"D": "8", "F": "9", "H": "8"}


@pytest.mark.parametrize("case", sorted(UNJOURNALABLE))
def test_values_the_journal_cannot_hold(venue, brka, case):
    """A value too big for the journal gets a rule answer (not "store unavailable") and is not a
    journal outage: no core rebuild, no trading phases announced again, trading goes on."""
    msg_type, fields, _once_broke_on = UNJOURNALABLE[case]
    brka.forget()
    # 528 on a new order, so the order reaches the gates the value is for
    brka.send(msg_type, fields + ([(60, _ts())] if msg_type != "H" else []) + ([(528, "A")] if msg_type == "D" else []))
    got, dropped = brka.answers(3.0, until=lambda g: any(m.type in ("3", "8", "9", "j") for m in g))
    got += brka.answers(0.5)[0]
    answers = [m for m in got if m.type in ("3", "8", "9", "j")]
    assert not dropped and answers, f"no answer: {got}"
    assert answers[0].type in (EXPECTED_KIND[msg_type], "3", "j"), answers[0]
    assert answers[0].get(20001) != "X910", f"refused as a store outage: {answers[0]}"
    assert not [m for m in got if m.type == "h"], "trading phases were announced again (core rebuilt)"
    assert_book_sound_and_trading(venue, brka)
