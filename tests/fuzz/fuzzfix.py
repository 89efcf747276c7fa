"""Helpers for the FIX fuzz tests: the venue's data dictionary, a session that survives being
disconnected, and the book checks run after a fuzz run."""

from __future__ import annotations

import json
import os
import xml.etree.ElementTree as ET
from collections import Counter
from dataclasses import dataclass, field
from functools import cache

from fixclient import FixClient, Msg, _ts
from venuetest import ROOT

# Short in CI; VENUE_FUZZ_EXAMPLES=2000 for a long run.
EXAMPLES = int(os.environ.get("VENUE_FUZZ_EXAMPLES", "60"))


@dataclass(frozen=True)
class Dictionary:
    """What fix_config/FIX44.xml says: field types and enums, and the fields of each message."""

    types: dict[int, str]
    enums: dict[int, frozenset[str]]
    message_fields: dict[str, frozenset[int]]
    required: dict[str, frozenset[int]]
    header: frozenset[int] = field(default_factory=frozenset)


@cache
def dictionary() -> Dictionary:
    root = ET.parse(ROOT / "fix_config" / "FIX44.xml").getroot()
    numbers = {f.get("name"): int(f.get("number")) for f in root.find("fields")}
    types = {int(f.get("number")): f.get("type") for f in root.find("fields")}
    enums = {
        int(f.get("number")): frozenset(v.get("enum") for v in f.findall("value"))
        for f in root.find("fields")
        if f.findall("value")
    }
    components = {c.get("name"): c for c in root.find("components")}

    def walk(node, top: bool) -> tuple[set[int], set[int]]:
        fields: set[int] = set()
        required: set[int] = set()
        for child in node:
            req = child.get("required") == "Y"
            if child.tag == "field":
                fields.add(numbers[child.get("name")])
                if req and top:
                    required.add(numbers[child.get("name")])
            elif child.tag == "group":
                fields.add(numbers[child.get("name")])
                fields |= walk(child, False)[0]
                if req and top:
                    required.add(numbers[child.get("name")])
            elif child.tag == "component":
                sub, sub_req = walk(components[child.get("name")], top and req)
                fields |= sub
                required |= sub_req
        return fields, required

    message_fields, required = {}, {}
    for m in root.find("messages"):
        f, r = walk(m, True)
        message_fields[m.get("msgtype")], required[m.get("msgtype")] = frozenset(f), frozenset(r)
    header = frozenset(walk(root.find("header"), False)[0] | walk(root.find("trailer"), False)[0])
    return Dictionary(types, enums, message_fields, required, header)


def templates(cl: str) -> dict[str, list[tuple[int, str]]]:
    """One valid message of each type the fuzz tests mutate (BRKA's view)."""
    return {
        "D": [
            (11, cl),
            (1, "A-ALICE"),
            (55, "ACME"),
            (54, "1"),
            (60, _ts()),
            (38, "10"),
            (40, "2"),
            (44, "5.00"),
            (59, "0"),
            (528, "A"),
        ],
        "F": [(11, cl), (41, "nope-" + cl), (55, "ACME"), (54, "1"), (60, _ts())],
        "G": [(11, cl), (41, "nope-" + cl), (55, "ACME"), (54, "1"), (60, _ts()), (38, "10"), (40, "2"), (44, "5.00")],
        "H": [(11, cl), (55, "ACME"), (54, "1")],
        "V": [(262, cl), (263, "0"), (264, "1"), (267, "2"), (269, "0"), (269, "1"), (146, "1"), (55, "ACME")],
        "q": [(11, cl), (530, "1"), (55, "BETA"), (60, _ts())],
    }


# What the fuzz run sent and what came back, for the run's summary (tests/fuzz/conftest.py).
TALLY: Counter = Counter()


class Session:
    """A fuzzing member session: it tracks its sequence numbers and logs on again (resetting them
    with ResetSeqNumFlag) whenever the venue drops it or stops answering."""

    def __init__(self, port: int, comp_id: str = "BRKA") -> None:
        self.port, self.comp_id = port, comp_id
        self.client: FixClient | None = None
        self.reconnects = 0
        self._probes = 0
        self.reconnect()

    def reconnect(self) -> None:
        if self.client is not None:
            self._tally()
            self.client.close()
            self.reconnects += 1
            TALLY["reconnects after a logout or disconnect"] += 1
        self.client = FixClient(self.port, self.comp_id, seq=1)
        answer = self.client.logon(reset=True)
        assert answer.type == "A", f"{self.comp_id} cannot log on again: {answer}"
        self.client.drain(0.2)
        self.forget()

    def _tally(self) -> None:
        for m in self.client.received:
            if m.type not in ("0", "1", "2", "4", "A") and not m.get("_tallied"):
                m["_tallied"] = "1"
                TALLY[f"answers 35={m.type}"] += 1

    def forget(self) -> None:
        self._tally()
        self.client.received.clear()
        self.client._cursor = 0

    @property
    def seq(self) -> int:
        return self.client.out_seq

    def send(self, msg_type: str, fields: list[tuple[int, str]]) -> None:
        TALLY["messages sent"] += 1
        self.client.send(msg_type, fields)

    def send_raw(self, raw: bytes, consumes_seq: bool) -> None:
        TALLY["messages sent"] += 1
        self.client.send_raw(raw)
        if consumes_seq:
            self.client.out_seq += 1

    def answers(self, seconds: float, until=None) -> tuple[list[Msg], bool]:
        """Messages received within `seconds` (or until `until(messages)` holds), and whether the
        venue disconnected."""
        import time

        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                self.client._read(min(0.05, max(0.0, deadline - time.monotonic())))
            except (ConnectionError, OSError):
                return [m for m in self.client.received if m.type not in ("0", "1", "A")], True
            got = [m for m in self.client.received if m.type not in ("0", "1", "A")]
            if until is not None and until(got):
                return got, False
        return [m for m in self.client.received if m.type not in ("0", "1", "A")], False

    def alive(self, timeout: float = 2.0) -> bool:
        """A TestRequest at the next sequence number is answered by its Heartbeat."""
        self._probes += 1
        token = f"PROBE{self._probes}"
        try:
            self.client.send("1", [(112, token)])
            self.client.wait_for(lambda m: m.type == "0" and m.get(112) == token, timeout, admin=True)
            return True
        except (TimeoutError, ConnectionError, OSError, AssertionError):
            return False


def orders(venue, member: str) -> list[dict]:
    return json.loads(venue.cli("orders", "--member", member, "--status", "all", "--limit", "100000", "--json").stdout)


def impossible_orders(venue, members=("BRKA", "BRKB", "MM1")) -> list[dict]:
    """Orders in a state no lifecycle can reach."""
    bad = []
    for member in members:
        for o in orders(venue, member):
            qty, cum, leaves, status = o["qty"], o["cum"], o["leaves"], o["status"]
            ok = qty > 0 and 0 <= cum <= qty and leaves >= 0
            if status in ("NEW", "PARTIALLY_FILLED"):
                ok = ok and leaves > 0 and leaves + cum == qty and (cum > 0) == (status == "PARTIALLY_FILLED")
            elif status == "FILLED":
                ok = ok and leaves == 0 and cum == qty
            else:
                ok = ok and leaves == 0 and cum < qty
            if not ok:
                bad.append(o)
    return bad


def assert_book_sound_and_trading(venue, fuzzer: Session | None = None) -> None:
    """After a fuzz run: no impossible order; BRKA's leftovers can be mass-canceled; a fresh crossing
    pair between BRKB and MM1 trades exactly as it should."""
    if fuzzer is not None:
        fuzzer.client.logout(timeout=2)  # one logged-on session per CompID
    assert venue.proc.poll() is None, "the venue process is alive"
    assert impossible_orders(venue) == []
    brka = FixClient(venue.port, "BRKA", seq=1)
    assert brka.logon(reset=True).type == "A"
    brka.send("q", [(11, "FUZZ-END"), (530, "7"), (60, _ts())])
    assert brka.wait_for(lambda m: m.type == "r" and m.get(11) == "FUZZ-END")[531] == "7"
    brka.logout()
    assert [o for o in orders(venue, "BRKA") if o["status"] in ("NEW", "PARTIALLY_FILLED")] == []
    sell, buy = FixClient(venue.port, "BRKB"), FixClient(venue.port, "MM1")
    for c in (sell, buy):
        assert c.logon(reset=True).type == "A"
    sell.new_order("CROSS-S", "ACME", "2", 7, "10.00", account="B-BOB")
    assert sell.exec_report("CROSS-S", "0")[151] == "7"
    buy.new_order("CROSS-B", "ACME", "1", 7, "10.05", account="M-MAKER")
    b = buy.exec_report("CROSS-B", "F")
    s = sell.exec_report("CROSS-S", "F")
    assert (b[32], b[31], b[151], b[39]) == ("7", "10.00", "0", "2"), b
    assert (s[32], s[31], s[151], s[39]) == ("7", "10.00", "0", "2"), s
    assert b[880] == s[880], "one trade, both sides"
    for c in (sell, buy):
        c.logout()
    assert impossible_orders(venue) == []
