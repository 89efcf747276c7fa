"""Drop copy, market data, reference data, mass cancel and cancel-on-disconnect over real FIX sessions."""

from __future__ import annotations

import json
import socket
import time

from fixclient import FixClient

REPORT_TAGS = {17, 11, 150, 39}


def _cross(brka, brkb, tag: str) -> tuple[set[str], set[str]]:
    """BRKA sells 10 ACME, BRKB buys 10: return the ExecIDs each member received."""
    brka.new_order(f"S{tag}", "ACME", "2", 10, "10.00", account="A-ALICE")
    a = {brka.exec_report(f"S{tag}", "0")[17]}
    brkb.new_order(f"B{tag}", "ACME", "1", 10, "10.00", account="B-BOB")
    b = {brkb.exec_report(f"B{tag}", "0")[17], brkb.exec_report(f"B{tag}", "F")[17]}
    a.add(brka.exec_report(f"S{tag}", "F")[17])
    return a, b


def _exec_ids(client: FixClient, expected: set[str], timeout: float = 10.0) -> set[str]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        seen = {m[17] for m in client.received if m.type == "8"}
        if expected <= seen:
            return seen
        client.drain(0.2)
    return {m[17] for m in client.received if m.type == "8"}


def test_drop_copies_venue_wide_and_per_member(venue, connect):
    ops, brkadc = connect("OPSDC"), connect("BRKADC")
    brka, brkb = connect("BRKA"), connect("BRKB")
    a_ids, b_ids = _cross(brka, brkb, "1")
    assert len(a_ids) == 2 and len(b_ids) == 2, "ack and fill on each side"
    assert a_ids | b_ids <= _exec_ids(ops, a_ids | b_ids), "OPSDC sees every report of both members"
    seen_by_brka_dc = _exec_ids(brkadc, a_ids)
    assert a_ids <= seen_by_brka_dc and not (b_ids & seen_by_brka_dc), "BRKADC sees BRKA's reports only"
    ops.new_order("X1", "ACME", "1", 1, "10.00", account="A-ALICE")
    assert ops.exec_report("X1", "8")[20001] == "S100", "an order on drop copy is refused"


def _away_while_members_trade(venue, connect, tag: str) -> tuple[FixClient, int, set[str], list[FixClient]]:
    """OPSDC logs on and off, then BRKA and BRKB cross twice. Returns the logged-off OPSDC client,
    the first sequence number it has not seen, the ExecIDs it missed, and the member clients."""
    ops = FixClient(venue.port, "OPSDC")
    assert ops.logon().type == "A"
    ops.drain(0.3)
    expected_in = max(int(m[34]) for m in ops.received) + 1
    ops.logout()
    brka, brkb = connect("BRKA"), connect("BRKB")
    a_ids, b_ids = _cross(brka, brkb, f"{tag}1")
    a2, b2 = _cross(brka, brkb, f"{tag}2")
    return ops, expected_in, a_ids | b_ids | a2 | b2, [brka, brkb]


def test_drop_copy_offline_catches_up_on_reconnect(venue, connect):
    ops, expected_in, missed, _ = _away_while_members_trade(venue, connect, "O")
    ops2 = FixClient(venue.port, "OPSDC", seq=ops.out_seq)
    logon = ops2.logon()
    assert int(logon[34]) > expected_in, "the venue went on numbering while OPSDC was away"
    ops2.send("2", [(7, str(expected_in)), (16, "0")])  # ResendRequest for everything missed
    replayed = _exec_ids(ops2, missed)
    assert missed <= replayed, f"missing after reconnect: {missed - replayed}"
    assert all(m.get(43) == "Y" for m in ops2.received if m.type == "8" and m[17] in missed), "PossDupFlag set"


def test_drop_copy_away_across_a_sigkill_gets_every_copy_by_resend(venue, connect):
    """Copies for a drop copy that is away wait in the venue's held-messages file (not QuickFIX's
    store); they must survive a SIGKILL of the venue and reach the drop copy by the usual resend."""
    ops, expected_in, missed, members = _away_while_members_trade(venue, connect, "K")
    held_dir = venue.data_dir / "fix" / "held"  # a folder per FIX day
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        files = list(held_dir.glob("*/OPSDC"))
        if files and files[0].read_bytes().count(b"\x0117=") >= len(missed):
            break
        time.sleep(0.1)
    assert files, "the copies for the absent drop copy are held in the venue's file"
    held = files[0]
    for client in members:
        client.close()
    venue.kill()
    venue.restart()
    ops2 = FixClient(venue.port, "OPSDC", seq=ops.out_seq)
    logon = ops2.logon()
    assert int(logon[34]) >= expected_in + len(missed), "the held copies took sequence numbers before the Logon"
    ops2.send("2", [(7, str(expected_in)), (16, "0")])
    replayed = _exec_ids(ops2, missed)
    assert missed <= replayed, f"missing after the restart: {missed - replayed}"
    copies = [m for m in ops2.received if m.type == "8" and m[17] in missed]
    for exec_id in {m[17] for m in copies}:  # a report the venue sends again after a crash says so
        same = [m for m in copies if m[17] == exec_id]
        assert len(same) == 1 or sum(m.get(97) == "Y" for m in same) >= len(same) - 1, same
    assert all(m.get(43) == "Y" for m in copies), "PossDupFlag set on the resend"
    assert not held.exists(), "handed over: nothing is held any more"


def test_drop_copy_logging_on_with_a_sequence_reset_gets_what_was_held_after_its_logon(venue, connect):
    """A Logon with ResetSeqNumFlag=Y restarts both sides at 1: nothing may be stored before the
    venue's Logon answer, so what was held for the session is sent right after it."""
    ops = FixClient(venue.port, "OPSDC")
    assert ops.logon().type == "A"
    ops.logout()
    brka, brkb = connect("BRKA"), connect("BRKB")
    missed = set().union(*_cross(brka, brkb, "R1"))
    ops2 = FixClient(venue.port, "OPSDC", seq=1)
    logon = ops2.logon(reset=True)
    assert logon.type == "A" and logon[34] == "1" and logon.get(141) == "Y", logon
    seen = _exec_ids(ops2, missed)
    assert missed <= seen, f"missing after the reset logon: {missed - seen}"
    copies = [m for m in ops2.received if m.type == "8" and m[17] in missed]
    assert [int(m[34]) for m in copies] == list(range(2, 2 + len(copies))), "sent right after the Logon, in order"
    assert not any(m.get(43) == "Y" for m in copies), "new messages, not resends"


def _apply(book: dict, entries: list[dict]) -> None:
    for e in entries:
        side = {"0": "bid", "1": "offer"}.get(e[269])
        if side is None:
            continue
        levels = book[side]
        if e[279] == "2":
            del levels[e[270]]
        else:
            levels[e[270]] = int(e[271])


def test_market_data_snapshot_then_increments_equal_the_book(venue, connect):
    mm, brka, brkb = connect("MM1"), connect("BRKA"), connect("BRKB")
    brka.new_order("A1", "ACME", "2", 100, "10.10", account="A-ALICE")
    brka.exec_report("A1", "0")
    mm.send(
        "V",
        [
            (262, "md1"),
            (263, "1"),
            (264, "5"),
            (265, "1"),
            (267, "3"),
            (269, "0"),
            (269, "1"),
            (269, "2"),
            (146, "1"),
            (55, "ACME"),
        ],
    )
    snap = mm.wait_for(lambda m: m.type == "W")
    assert (snap[262], snap[55], snap[83]) == ("md1", "ACME", "1")
    book = {"bid": {}, "offer": {}}
    for e in snap.group(269, {269, 270, 271}):
        book["bid" if e[269] == "0" else "offer"][e[270]] = int(e[271])
    assert book == {"bid": {}, "offer": {"10.10": 100}}
    # Changes: new levels, a partial fill, a cancel, a replace.
    brka.new_order("A2", "ACME", "2", 50, "10.20", account="A-ALICE")
    brkb.new_order("B1", "ACME", "1", 30, "10.00", account="B-BOB")
    brkb.new_order("B2", "ACME", "1", 40, "10.10", account="B-BOB")  # trades 40 at 10.10
    brkb.exec_report("B2", "F")
    brka.cancel("A2C", "A2", "ACME", "2")
    brka.exec_report("A2C", "4")
    brkb.replace("B1R", "B1", "ACME", "1", 35, "10.05", account="B-BOB")
    brkb.exec_report("B1R", "5")
    time.sleep(0.5)
    increments = [m for m in mm.drain(0.5) if m.type == "X"]
    trades = []
    for n, m in enumerate(increments, start=2):
        entries = m.group(279, {279, 269, 270, 271, 83, 55})
        assert {e[83] for e in entries} == {str(n)}, "RptSeq numbers the subscription's messages without gaps"
        _apply(book, entries)
        trades += [(e[270], e[271]) for e in entries if e[269] == "2"]
    assert book == {"bid": {"10.05": 35}, "offer": {"10.10": 60}}
    assert trades == [("10.10", "40")]
    mm.send("V", [(262, "md2"), (263, "1"), (264, "5"), (267, "1"), (269, "0"), (146, "1"), (55, "NOPE")])
    rej = mm.wait_for(lambda m: m.type == "Y")
    assert (rej[262], rej[281]) == ("md2", "0") and "Unknown symbol NOPE" in rej[58]


def test_security_list(venue, connect):
    brka = connect("BRKA")
    brka.send("x", [(320, "sl1"), (559, "4")])
    answer = brka.wait_for(lambda m: m.type == "y")
    assert (answer[320], answer[560]) == ("sl1", "0")
    rows = {e[55]: e for e in answer.group(55, {55, 561, 969, 625, 58, 20020, 20021})}
    assert set(rows) == {"ACME", "BETA"}
    assert (rows["ACME"][969], rows["ACME"][561], rows["ACME"][625]) == ("0.01", "1", "3")
    assert (rows["ACME"][20020], rows["ACME"][20021], rows["BETA"][20020]) == ("10.00", "5000", "25.00")
    assert "accredited buyers only" in rows["ACME"][58] and "Rule 144 holding period 12 months" in rows["ACME"][58]
    assert rows["BETA"][561] == "10"


def _mm_quotes(mm) -> list[str]:
    cls = []
    for i, (symbol, side, price) in enumerate([("ACME", "1", "9.90"), ("ACME", "2", "10.10"), ("BETA", "1", "24.90")]):
        mm.new_order(f"Q{i}", symbol, side, 100 if symbol == "ACME" else 100, price, account="M-MAKER", tif="1")
        mm.exec_report(f"Q{i}", "0")
        cls.append(f"Q{i}")
    return cls


def _open_orders(venue, member: str) -> list[dict]:
    return json.loads(venue.cli("orders", "--member", member, "--json").stdout)


def test_mass_cancel_leaves_no_open_orders_and_reports_each(venue, connect):
    mm = connect("MM1")
    cls = _mm_quotes(mm)
    mm.send("q", [(11, "MC1"), (530, "1"), (55, "ACME"), (54, "1"), (60, "20260101-00:00:00")])
    report = mm.wait_for(lambda m: m.type == "r")
    assert (report[11], report[531], report[533]) == ("MC1", "1", "1"), "ACME bids only"
    assert mm.exec_report("Q0", "4")[58] == "Canceled by mass cancel request"
    mm.send("q", [(11, "MC2"), (530, "7"), (60, "20260101-00:00:00")])
    report = mm.wait_for(lambda m: m.type == "r")
    assert (report[531], report[533]) == ("7", "2")
    assert sorted(e[41] for e in report.group(41, {41, 535})) == ["Q1", "Q2"]
    for cl in cls[1:]:
        mm.exec_report(cl, "4")
    assert _open_orders(venue, "MM1") == []
    mm.send("q", [(11, "MC3"), (530, "3"), (60, "20260101-00:00:00")])
    bad = mm.wait_for(lambda m: m.type == "r")
    assert bad[531] == "0" and "not supported" in bad[58]


def test_cancel_on_disconnect(venue, connect):
    ops = connect("OPSDC")
    mm = FixClient(venue.port, "MM1")
    assert mm.logon().type == "A"
    _mm_quotes(mm)
    mm.sock.shutdown(socket.SHUT_RDWR)  # the connection drops without a Logout
    mm.close()
    canceled = set()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and len(canceled) < 3:
        canceled |= {
            m[11]
            for m in ops.drain(0.2)
            if m.type == "8" and m.get(150) == "4" and "Canceled on disconnect" in m.get(58, "")
        }
    assert canceled == {"Q0", "Q1", "Q2"}, "each cancel reported to drop copy"
    assert _open_orders(venue, "MM1") == []
