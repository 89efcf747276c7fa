"""The FIX trading day: at `[fix] session_start` every session is logged out, both sides'
sequence numbers restart at 1 and QuickFIX's message store is emptied; messages held for a session
that was away are dropped with the day they were held on. The day is made to start 20 seconds
after the venue does, over real sessions (SQLite and PostgreSQL)."""

from __future__ import annotations

import time

import pytest
from fixclient import FixClient
from venuetest import VenueProcess, free_port

pytestmark = pytest.mark.slow

LEAD_S = 20


def _utc(ts: float) -> str:
    return time.strftime("%H:%M:%S", time.gmtime(ts))


def test_a_new_fix_day_resets_sequence_numbers_and_drops_what_was_held(store_url, tmp_path):
    url = None if store_url.startswith("sqlite") else store_url
    start = time.time() + LEAD_S
    if time.gmtime(start).tm_mday != time.gmtime(time.time()).tm_mday:
        pytest.skip("the day would start across UTC midnight")
    venue = VenueProcess(tmp_path / "sandbox", free_port(), url).start_sandbox(session_start=_utc(start))
    try:
        brka = FixClient(venue.port, "BRKA")
        assert brka.logon().type == "A"
        brka.new_order("D1", "ACME", "2", 10, "11.00", account="A-ALICE")
        assert brka.exec_report("D1", "0")[39] == "0"  # OPSDC is away: its drop copy is held
        assert brka.out_seq > 2
        before = max(int(m[34]) for m in brka.received)
        assert before > 1

        logout = brka.wait_for(lambda m: m.type == "5", timeout=LEAD_S + 15, admin=True)
        assert logout  # QuickFIX ends the session at the new day's start
        brka.close()
        time.sleep(max(0.0, start - time.time()) + 0.5)  # logons in that second are refused

        again = FixClient(venue.port, "BRKA")  # sequence numbers from 1, no ResetSeqNumFlag
        answer = again.logon()
        assert answer.type == "A" and int(answer[34]) < before, answer  # what was held today comes first
        again.new_order("D2", "ACME", "2", 10, "11.00", account="A-ALICE")
        assert again.exec_report("D2", "0")[39] == "0"
        again.logout()

        ops = FixClient(venue.port, "OPSDC")
        assert ops.logon().type == "A"
        ops.send("2", [(7, "1"), (16, "0")])  # ResendRequest: what was held took numbers before the Logon
        ops.drain(1.5)
        copies = [m.get(11) for m in ops.received if m.type == "8"]
        assert "D1" not in copies, "the drop copy held on the day before is dropped"
        assert "D2" in copies, "today's drop copy is handed over"
        ops.logout()
    finally:
        venue.stop()
