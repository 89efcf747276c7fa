"""No session acts for, or sees, another member.

Choices: BRKB rests an order; BRKA then tries everything it could do to it, by OrderID and by
ClOrdID, and must get the answer an unknown order gets (the venue never reveals that the order
exists), while `venue orders` shows BRKB's order untouched and BRKB receives nothing. Report
isolation is checked by ExecID and by content: no message on BRKA or BRKADC names BRKB's orders,
ClOrdIDs or accounts, and market data carries prices and sizes only. Drop-copy sessions are read
only: every order message on OPSDC and BRKADC is refused and changes nothing.
"""

from __future__ import annotations

import json

from fixclient import FixClient, _ts

# Tags that would identify a member, an account or an order in a message.
IDENTITY_TAGS = {1, 11, 37, 41, 448, 452, 109, 115, 116, 128, 129, 50, 57, 142, 143, 1691}


def _orders(venue, member: str) -> list[dict]:
    return json.loads(venue.cli("orders", "--member", member, "--status", "all", "--json").stdout)


def _rest_brkb_order(brkb: FixClient) -> str:
    brkb.new_order("BOB-1", "ACME", "2", 50, "10.50", account="B-BOB")
    return brkb.exec_report("BOB-1", "0")[37]


def test_order_for_another_members_account_is_refused(venue, connect):
    brka = connect("BRKA")
    for i, account in enumerate(("B-BOB", "B-CAROL", "M-MAKER")):
        brka.new_order(f"X{i}", "ACME", "1", 5, "10.00", account=account)
        rej = brka.exec_report(f"X{i}", "8")
        assert (rej[39], rej[103], rej[20001], rej[37]) == ("8", "15", "A100", "NONE"), rej
    assert _orders(venue, "BRKA") == [], "no order was created"


VOLATILE = {9, 10, 17, 34, 52, 60}


def _shape(m, own: dict[str, str]) -> dict:
    """A message without its volatile fields, with the identifiers the requester chose masked."""
    return {t: ("<id>" if t in (11, 37, 41) and v in own else v) for t, v in m.pairs if t not in VOLATILE}


def test_another_members_order_is_unknown_by_order_id_and_cl_ord_id(venue, connect):
    """Every request about BRKB's order gets exactly the answer a request about no order gets."""
    brka, brkb = connect("BRKA"), connect("BRKB")
    order_id = _rest_brkb_order(brkb)
    before = _orders(venue, "BRKB")
    nowhere = str(int(order_id) + 10_000)
    refs = [("BOB-1", None), ("BOB-1", order_id), ("mine", order_id)]
    for i, (orig, oid) in enumerate(refs):
        ghost = ("GHOST-1" if orig == "BOB-1" else orig, None if oid is None else nowhere)
        answers = []
        for j, (o, x) in enumerate(((orig, oid), ghost)):
            cl = f"c{i}{j}"
            brka.cancel(cl, o, "ACME", "2", order_id=x)
            cxl = brka.wait_for(lambda m, cl=cl: m.type == "9" and m.get(11) == cl)
            fields = [
                (11, f"r{i}{j}"),
                (41, o),
                (55, "ACME"),
                (54, "2"),
                (60, _ts()),
                (38, "60"),
                (40, "2"),
                (44, "9.00"),
            ] + ([(37, x)] if x else [])
            brka.send("G", fields)
            rep = brka.wait_for(lambda m, cl=f"r{i}{j}": m.type == "9" and m.get(11) == cl)
            brka.status(o, "ACME", "2", order_id=x)
            st = brka.exec_report(o, "I")
            own = {cl, f"r{i}{j}", o, x or "-"}
            answers.append([_shape(cxl, own), _shape(rep, own), _shape(st, own)])
        assert answers[0] == answers[1], f"BRKB's order {orig}/{oid} is answered unlike an unknown one"
        cxl, rep, st = answers[0]
        assert (cxl[102], cxl[58], cxl[39], cxl[434]) == ("1", "Unknown order", "8", "1"), cxl
        assert (rep[102], rep[58], rep[39], rep[434]) == ("1", "Unknown order", "8", "2"), rep
        assert (st[39], st[103], st[58], st[151], st[14]) == ("8", "5", "Unknown order", "0", "0"), st
        assert "B-BOB" not in st.values() and 1 not in st, "nothing about the order is revealed"
    assert _orders(venue, "BRKB") == before, "BRKB's order is untouched"
    assert brkb.drain(0.5) == [], "BRKB got no report from BRKA's attempts"
    brkb.cancel("BOB-1c", "BOB-1", "ACME", "2")
    assert brkb.exec_report("BOB-1c", "4")[151] == "0", "its owner still controls it"


def test_mass_cancel_touches_only_own_orders(venue, connect):
    brka, brkb = connect("BRKA"), connect("BRKB")
    _rest_brkb_order(brkb)
    brka.new_order("A-1", "ACME", "1", 10, "9.50", account="A-ALICE")
    brka.exec_report("A-1", "0")
    brka.send("q", [(11, "MC1"), (530, "7"), (60, _ts())])
    a1 = next(m[37] for m in brka.received if m.type == "8" and m.get(11) == "A-1")
    report = brka.wait_for(lambda m: m.type == "r")
    assert report[533] == "1" and [g[535] for g in report.group(41)] == [a1]
    brka.exec_report("A-1", "4")
    assert [o["status"] for o in _orders(venue, "BRKB")] == ["NEW"]
    assert brkb.drain(0.5) == []


def test_reports_never_reach_another_member_or_its_drop_copy(venue, connect):
    brkadc, brka, brkb, mm = connect("BRKADC"), connect("BRKA"), connect("BRKB"), connect("MM1")
    md = brka
    md.send(
        "V",
        [
            (262, "md1"),
            (263, "1"),
            (264, "5"),
            (267, "3"),
            (269, "0"),
            (269, "1"),
            (269, "2"),
            (146, "1"),
            (55, "ACME"),
        ],
    )
    md.wait_for(lambda m: m.type == "W")
    # BRKB trades with MM1, rests, replaces, cancels and gets a reject: every kind of report
    brkb.new_order("B1", "ACME", "1", 30, "10.00", account="B-BOB")
    brkb.exec_report("B1", "0")
    mm.new_order("M1", "ACME", "2", 20, "10.00", account="M-MAKER")
    mm.exec_report("M1", "F")
    brkb.exec_report("B1", "F")
    brkb.replace("B2", "B1", "ACME", "1", 40, "9.90")
    brkb.exec_report("B2", "5")
    brkb.cancel("B3", "B2", "ACME", "1")
    brkb.exec_report("B3", "4")
    brkb.new_order("B4", "ACME", "1", 5, "10.00", account="B-CAROL")
    brkb.exec_report("B4", "8")
    brkb.status("B1", "ACME", "1")
    brkb.exec_report("B3", "I")
    b_exec_ids = {m[17] for m in brkb.received if m.type == "8"}
    b_words = {"B1", "B2", "B3", "B4", "B-BOB", "B-CAROL", "M1", "M-MAKER"}
    for who in (brka, brkadc):
        got = who.drain(1.0) + [m for m in who.received if m.type == "8"]
        for m in got:
            assert m.type not in ("8", "9", "AE", "r"), f"{who.comp_id} received {m}"
        leaked = [m for m in who.received if any(v in b_words for t, v in m.pairs if t not in (35,))]
        assert leaked == [], f"{who.comp_id} saw another member's identifiers: {leaked}"
        assert not ({m.get(17) for m in who.received} & b_exec_ids)
    market_data = [m for m in brka.received if m.type in ("W", "X")]
    assert any(m.type == "X" for m in market_data), "the trade and book changes were published"
    for m in market_data:
        tags = {t for t, _ in m.pairs}
        assert not (tags & IDENTITY_TAGS), f"market data carries identity tags {tags & IDENTITY_TAGS}: {m}"


def test_drop_copy_sessions_cannot_enter_or_change_orders(venue, connect):
    brka = connect("BRKA")
    brka.new_order("A1", "ACME", "2", 10, "10.20", account="A-ALICE")
    order_id = brka.exec_report("A1", "0")[37]
    before = _orders(venue, "BRKA")
    for comp_id in ("OPSDC", "BRKADC"):
        dc = connect(comp_id)
        dc.new_order(f"{comp_id}-D", "ACME", "1", 10, "10.20", account="A-ALICE")
        rej = dc.exec_report(f"{comp_id}-D", "8")
        assert (rej[20001], rej[103], rej[37]) == ("S100", "99", "NONE"), rej
        dc.cancel(f"{comp_id}-F", "A1", "ACME", "2", order_id=order_id)
        assert dc.wait_for(lambda m, c=comp_id: m.type == "9" and m.get(11) == f"{c}-F")[434] == "1"
        dc.replace(f"{comp_id}-G", "A1", "ACME", "2", 5, "10.30")
        assert dc.wait_for(lambda m, c=comp_id: m.type == "9" and m.get(11) == f"{c}-G")[434] == "2"
        dc.send("q", [(11, f"{comp_id}-q"), (530, "7"), (60, _ts())])
        mass = dc.wait_for(lambda m, c=comp_id: m.type == "r" and m.get(11) == f"{c}-q")
        assert mass[531] == "0" and mass[533] == "0", f"mass cancel on drop copy refused: {mass}"
    assert _orders(venue, "BRKA") == before, "BRKA's order is untouched"
    brka.drain(0.3)
    assert not [m for m in brka.received if m.type == "8" and m.get(150) != "0"], "BRKA saw no change"
