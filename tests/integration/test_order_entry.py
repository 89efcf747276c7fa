"""Order entry over real FIX 4.4 sessions on loopback, against a sandbox venue process.

Every test runs twice: on SQLite and on PostgreSQL (the `venue` fixture is parametrised).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fixclient import FixClient


def _expire_in(seconds: float) -> str:
    t = datetime.now(UTC) + timedelta(seconds=seconds)
    return t.strftime("%Y%m%d-%H:%M:%S.") + f"{t.microsecond:06d}"


# ---------------------------------------------------------------- the first trade


def test_rest_then_cross_gives_both_sides_fills_with_one_trade_id(venue, connect):
    brka, brkb, ops = connect("BRKA"), connect("BRKB"), connect("OPSDC")
    brka.new_order("S1", "ACME", "2", 100, "10.00", account="A-ALICE")
    ack = brka.exec_report("S1", "0")
    assert ack[39] == "0" and ack[151] == "100" and ack[14] == "0" and ack[1] == "A-ALICE" and ack[37] != "NONE"

    brkb.new_order("B1", "ACME", "1", 60, "10.05", account="B-BOB")
    assert brkb.exec_report("B1", "0")[151] == "60"
    buy_fill = brkb.exec_report("B1", "F")
    sell_fill = brka.exec_report("S1", "F")

    assert buy_fill[880] == sell_fill[880], "both fills carry the same TrdMatchID"
    assert buy_fill[17] != sell_fill[17], "ExecIDs are unique"
    assert (buy_fill[32], buy_fill[31]) == ("60", "10.00"), "trades at the resting order's price"
    assert (sell_fill[32], sell_fill[31]) == ("60", "10.00")
    assert (buy_fill[39], buy_fill[151], buy_fill[14], buy_fill[6]) == ("2", "0", "60", "10")
    assert (sell_fill[39], sell_fill[151], sell_fill[14], sell_fill[6]) == ("1", "40", "60", "10")
    assert len(buy_fill[60].split(".")[1]) == 6, "TransactTime in microseconds"
    # The venue-wide drop copy sees both fills with the same ExecIDs.
    copies = {ops.exec_report(exec_type="F")[17], ops.exec_report(exec_type="F")[17]}
    assert copies == {buy_fill[17], sell_fill[17]}


def test_market_order_sweeps_levels_and_never_rests(venue, connect):
    brka, brkb = connect("BRKA"), connect("BRKB")
    brka.new_order("S1", "ACME", "2", 10, "10.00", account="A-ALICE")
    brka.new_order("S2", "ACME", "2", 10, "10.10", account="A-ALICE")
    brka.exec_report("S2", "0")
    brkb.new_order("M1", "ACME", "1", 25, account="B-BOB")
    brkb.exec_report("M1", "0")
    first, second = brkb.exec_report("M1", "F"), brkb.exec_report("M1", "F")
    assert (first[31], first[32], second[31], second[32]) == ("10.00", "10", "10.10", "10")
    assert second[6] == "10.05"
    rest = brkb.exec_report("M1", "4")
    assert (rest[39], rest[151], rest[14]) == ("4", "0", "20")
    assert "no more liquidity" in rest[58]


def test_ioc_fok_and_min_qty(venue, connect):
    brka, brkb = connect("BRKA"), connect("BRKB")
    brka.new_order("S1", "ACME", "2", 30, "10.00", account="A-ALICE")
    brka.exec_report("S1", "0")
    # IOC: fills what it can, remainder canceled.
    brkb.new_order("I1", "ACME", "1", 50, "10.00", account="B-BOB", tif="3")
    assert brkb.exec_report("I1", "F")[32] == "30"
    ioc_rest = brkb.exec_report("I1", "4")
    assert (ioc_rest[14], ioc_rest[151]) == ("30", "0") and "IOC" in ioc_rest[58]
    # FOK larger than the book: canceled without any trade.
    brka.new_order("S2", "ACME", "2", 20, "10.00", account="A-ALICE")
    brka.exec_report("S2", "0")
    brkb.new_order("F1", "ACME", "1", 25, "10.00", account="B-BOB", tif="4")
    fok = brkb.exec_report("F1", "4")
    assert fok[14] == "0" and "FOK" in fok[58]
    # MinQty above what is available: nothing trades; a MinQty that fits trades.
    brkb.new_order("Q1", "ACME", "1", 50, "10.00", account="B-BOB", extra=[(110, "25")])
    assert "MinQty" in brkb.exec_report("Q1", "4")[58]
    brkb.new_order("Q2", "ACME", "1", 50, "10.00", account="B-BOB", extra=[(110, "20")])
    assert brkb.exec_report("Q2", "F")[32] == "20"
    brkb.new_order("F2", "ACME", "1", 5, "10.00", account="B-BOB", tif="4")
    assert brkb.exec_report("F2", "4")[14] == "0", "book empty on the sell side now"


def test_gtc_rests_and_gtd_expires_at_its_time(venue, connect):
    brka = connect("BRKA")
    brka.new_order("G1", "ACME", "2", 10, "11.00", account="A-ALICE", tif="1")
    assert brka.exec_report("G1", "0")[59] == "1"
    brka.new_order("D1", "ACME", "2", 10, "11.00", account="A-ALICE", tif="6", extra=[(126, _expire_in(1.5))])
    ack = brka.exec_report("D1", "0")
    assert 126 in ack
    expired = brka.exec_report("D1", "C", timeout=10)
    assert (expired[39], expired[151]) == ("C", "0")
    brka.new_order(
        "D2",
        "ACME",
        "2",
        10,
        "11.00",
        account="A-ALICE",
        tif="6",
        extra=[(432, (datetime.now(UTC) + timedelta(days=3)).strftime("%Y%m%d"))],
    )
    assert brka.exec_report("D2", "0")[39] == "0"
    brka.new_order("D3", "ACME", "2", 10, "11.00", account="A-ALICE", tif="6")
    assert "ExpireTime" in brka.exec_report("D3", "8")[58]


# ---------------------------------------------------------------- rejects


def test_new_order_rejects_say_why(venue, connect):
    brka = connect("BRKA")
    cases = [
        (dict(symbol="NOPE", qty=10, price="10.00"), "1", "Unknown symbol"),
        (dict(symbol="ACME", qty=0, price="10.00"), "13", "positive whole number"),
        (dict(symbol="ACME", qty="1.5", price="10.00"), "13", "positive whole number"),
        (dict(symbol="BETA", qty=15, price="10.00"), "13", "lot size 10"),
        (dict(symbol="ACME", qty=10, price="0"), "99", "greater than zero"),
        (dict(symbol="ACME", qty=10, price="10.001"), "99", "tick size"),
        (dict(symbol="ACME", qty=10, price=None, ord_type="2"), "99", "required on a limit order"),
        (dict(symbol="ACME", qty=10, price="10.00", account="B-BOB"), "15", "not an account of this member"),
        (dict(symbol="ACME", qty=10, price="10.00", account=None), "15", "Account(1) is required"),
    ]
    for i, (kw, reason, text) in enumerate(cases):
        kw.setdefault("account", "A-ALICE")
        brka.new_order(f"R{i}", kw.pop("symbol"), "1", kw.pop("qty"), kw.pop("price"), **kw)
        rej = brka.exec_report(f"R{i}")
        assert (rej[150], rej[39], rej[103]) == ("8", "8", reason), rej
        assert text in rej[58], rej
        assert rej.get(20001), "venue reason code present"
    # Duplicate ClOrdID: the second use is refused, the first order is untouched.
    brka.new_order("DUP", "ACME", "1", 10, "9.00", account="A-ALICE")
    brka.exec_report("DUP", "0")
    brka.new_order("DUP", "ACME", "1", 10, "9.00", account="A-ALICE")
    dup = brka.exec_report("DUP")
    assert (dup[150], dup[103]) == ("8", "6")


def test_cancel_replace_status_of_unknown_or_foreign_orders(venue, connect):
    brka, brkb = connect("BRKA"), connect("BRKB")
    brka.cancel("C1", "NOSUCH", "ACME", "1")
    rej = brka.wait_for(lambda m: m.type == "9" and m[11] == "C1")
    assert (rej[102], rej[434]) == ("1", "1") and rej[58] == "Unknown order"
    brka.replace("C2", "NOSUCH", "ACME", "1", 10, "10.00")
    rej = brka.wait_for(lambda m: m.type == "9" and m[11] == "C2")
    assert (rej[102], rej[434]) == ("1", "2")
    brka.status("NOSUCH", "ACME", "1")
    st = brka.exec_report("NOSUCH", "I")
    assert st[39] == "8" and st[58] == "Unknown order"
    # BRKB's order is invisible to BRKA, even by OrderID.
    brkb.new_order("BB1", "ACME", "1", 10, "9.00", account="B-BOB")
    order_id = brkb.exec_report("BB1", "0")[37]
    brka.cancel("C3", "BB1", "ACME", "1", order_id=order_id)
    rej = brka.wait_for(lambda m: m.type == "9" and m[11] == "C3")
    assert rej[102] == "1" and rej[58] == "Unknown order"
    brka.status("X", "ACME", "1", order_id=order_id)
    assert brka.exec_report("X", "I")[39] == "8"
    brkb.status("BB1", "ACME", "1")
    assert brkb.exec_report("BB1", "I")[39] == "0", "the order is still there for its owner"


def test_unsupported_message_gets_business_reject_and_malformed_gets_session_reject(venue, connect):
    brka = connect("BRKA")
    brka.send("Q", [(37, "1"), (17, "1"), (127, "A"), (55, "ACME"), (54, "1")])  # DontKnowTrade
    j = brka.wait_for(lambda m: m.type == "j")
    assert (j[372], j[380]) == ("Q", "3") and "Unsupported" in j[58]
    brka.send(
        "D",
        [(11, "BAD1"), (55, "ACME"), (60, "20260101-00:00:00"), (38, "10"), (40, "2"), (44, "10.00"), (1, "A-ALICE")],
    )  # no Side(54)
    reject = brka.wait_for(lambda m: m.type == "3", admin=True)
    assert reject[373] == "1" and reject[371] == "54"
    brka.send(
        "D",
        [
            (11, "BAD2"),
            (55, "ACME"),
            (54, "1"),
            (60, "20260101-00:00:00"),
            (38, "ten"),
            (40, "2"),
            (44, "10.00"),
            (1, "A-ALICE"),
        ],
    )
    reject = brka.wait_for(lambda m: m.type == "3", admin=True)
    assert reject[373] == "6" and reject[371] == "38"
    # The session is still alive and trades normally.
    brka.new_order("OK1", "ACME", "1", 10, "9.00", account="A-ALICE")
    assert brka.exec_report("OK1", "0")[39] == "0"


# ---------------------------------------------------------------- cancel and replace


def test_cancel_and_status(venue, connect):
    brka = connect("BRKA")
    brka.new_order("O1", "ACME", "1", 10, "9.00", account="A-ALICE")
    order_id = brka.exec_report("O1", "0")[37]
    brka.status("O1", "ACME", "1")
    st = brka.exec_report("O1", "I")
    assert (st[37], st[39], st[151]) == (order_id, "0", "10")
    brka.cancel("O1-C", "O1", "ACME", "1")
    c = brka.exec_report("O1-C", "4")
    assert (c[41], c[37], c[39], c[151]) == ("O1", order_id, "4", "0")
    brka.cancel("O1-C2", "O1-C", "ACME", "1")
    late = brka.wait_for(lambda m: m.type == "9" and m[11] == "O1-C2")
    assert late[102] == "0" and "Too late" in late[58]


def test_replace_priority_rules(venue, connect):
    brka, brkb = connect("BRKA"), connect("BRKB")
    for cl in ("P1", "P2", "P3"):
        brka.new_order(cl, "ACME", "2", 10, "10.00", account="A-ALICE")
        brka.exec_report(cl, "0")
    # P1 shrinks: keeps its place. P2 grows: goes behind P3.
    brka.replace("P1a", "P1", "ACME", "2", 5, "10.00", account="A-ALICE")
    r = brka.exec_report("P1a", "5")
    assert (r[41], r[38], r[151], r[39]) == ("P1", "5", "5", "0")
    brka.replace("P2a", "P2", "ACME", "2", 15, "10.00", account="A-ALICE")
    brka.exec_report("P2a", "5")
    brkb.new_order("T1", "ACME", "1", 20, "10.00", account="B-BOB")
    fills = [brka.exec_report(exec_type="F") for _ in range(3)]
    assert [(f[11], f[32]) for f in fills] == [("P1a", "5"), ("P3", "10"), ("P2a", "5")]
    # A replace that crosses trades at once.
    brkb.new_order("B9", "ACME", "1", 10, "9.50", account="B-BOB")
    brkb.exec_report("B9", "0")
    brka.replace("P2b", "P2a", "ACME", "2", 15, "9.50", account="A-ALICE")
    assert brka.exec_report("P2b", "5")[44] == "9.50"
    f = brka.exec_report("P2b", "F")
    assert (f[32], f[31], f[39]) == ("10", "9.50", "2")
    # Replacing to a quantity not above what has been filled is refused with a reason.
    brka.new_order("P4", "ACME", "2", 10, "10.00", account="A-ALICE")
    brka.exec_report("P4", "0")
    brkb.new_order("T2", "ACME", "1", 6, "10.00", account="B-BOB")
    brka.exec_report("P4", "F")
    brka.replace("P4a", "P4", "ACME", "2", 6, "10.00", account="A-ALICE")
    rej = brka.wait_for(lambda m: m.type == "9" and m[11] == "P4a")
    assert rej[434] == "2" and "CumQty" in rej[58]


# ---------------------------------------------------------------- logon


def test_logon_refusals_are_answered_and_recorded(venue):
    bad = FixClient(venue.port, "BRKA", password="wrong")
    answer = bad.logon()
    assert answer.type == "5" and "Invalid username or password" in answer.get(58, "")
    bad.close()
    nopw = FixClient(venue.port, "BRKB", password=None)
    answer = nopw.logon()
    assert answer.type == "5" and "Password(554)" in answer.get(58, "")
    nopw.close()
    stranger = FixClient(venue.port, "EVIL", password="sandbox")
    try:
        answer = stranger.logon(timeout=5)
        assert answer.type == "5", answer
    except ConnectionError:
        pass  # unknown CompID: the engine drops the connection without a session
    stranger.close()
    events = venue.cli("logons", "--json").stdout
    assert '"comp_id": "BRKA"' in events and "Invalid username or password" in events


def test_halt_and_resume_from_the_cli_take_effect_in_the_running_venue(venue, connect):
    brka = connect("BRKA")
    assert "ACME halted" in venue.cli("halt", "ACME").stdout
    status = brka.wait_for(lambda m: m.type == "f")
    assert (status[55], status[326]) == ("ACME", "2")
    # Start-up statuses may still be queued for the session; the halt is the one with 340=1.
    phase = brka.wait_for(lambda m: m.type == "h" and m.get(55) == "ACME" and m.get(340) == "1")
    assert phase[336] == "DAY", "TradingSessionStatus: halted"
    for earlier in brka.received[: brka.received.index(phase)]:
        earlier["_used"] = "1"  # statuses from before the halt are not the resume's
    brka.new_order("H1", "ACME", "1", 10, "9.00", account="A-ALICE")
    rej = brka.exec_report("H1", "8")
    assert rej[103] == "2" and "halted" in rej[58]
    brka.new_order("H2", "BETA", "1", 10, "25.00", account="A-ALICE")
    assert brka.exec_report("H2", "0")[39] == "0", "other securities keep trading"
    assert "ACME open" in venue.cli("resume", "ACME").stdout
    # The resume runs a call auction first: 35=h opening auction (625=2), then continuous (625=3).
    auction = brka.wait_for(lambda m: m.type == "h" and m.get(55) == "ACME" and m.get(625) == "2")
    continuous = brka.wait_for(lambda m: m.type == "h" and m.get(55) == "ACME" and m.get(625) == "3")
    assert (auction[340], continuous[340]) == ("4", "2")
    brka.new_order("H3", "ACME", "1", 10, "9.00", account="A-ALICE")
    assert brka.exec_report("H3", "0")[39] == "0"
    bad = venue.cli("halt", "NOPE", check=False)
    assert bad.returncode != 0 and "unknown symbol NOPE" in bad.stderr


def test_drop_copy_session_cannot_enter_orders(venue, connect):
    ops = connect("OPSDC")
    ops.new_order("X1", "ACME", "1", 10, "9.00", account="A-ALICE")
    rej = ops.exec_report("X1", "8")
    assert "may not enter or change orders" in rej[58]
