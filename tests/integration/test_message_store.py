"""The FIX message store over a long day: QuickFIX's FileStore as the venue builds it keeps one index
mark per 256 stored messages, not an entry per message (scripts/quickfix/filestore-sparse-index.patch),
so the FIX process does not grow with every message sent. It must still answer every
ResendRequest with each message exactly as first sent, before and after a SIGKILL and a restart
that rebuilds the marks from the header file.

The message store is the same whatever the venue's database: these run on SQLite only.
"""

from __future__ import annotations

import pytest
from fixclient import FixClient

N = 700  # answers: the range below crosses two marks and starts and ends between them


def _answers(client: FixClient, n: int, prefix: str) -> dict[int, dict]:
    for i in range(n):
        client.status(f"{prefix}{i}", "ACME", "1")
    answers = {}
    for i in range(n):
        m = client.exec_report(f"{prefix}{i}", timeout=30)
        answers[int(m[34])] = m
    return answers


def _resent(client: FixClient, begin: int, end: int) -> dict[int, dict]:
    """Ask for begin..end again; the messages that came back (PossDupFlag=Y), by MsgSeqNum."""
    client.send("2", [(7, str(begin)), (16, str(end))])
    got: dict[int, dict] = {}

    def done(m) -> bool:
        if m.get(43) == "Y" and begin <= int(m[34]) <= end:
            got[int(m[34])] = m
        return int(m[34]) >= end and m.get(43) == "Y" or (m.type == "4" and int(m.get(36, "0")) > end)

    client.wait_for(done, timeout=30, admin=True)
    return got


def _same(original: dict, resent: dict) -> None:
    for tag in (35, 11, 17, 150, 39, 37):
        assert resent.get(tag) == original.get(tag), (tag, original, resent)


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_resend_request_across_index_marks_returns_each_message_as_first_sent(venue, connect):
    brka = connect("BRKA")
    answers = _answers(brka, N, "Q")
    seqs = sorted(answers)
    begin, end = seqs[100], seqs[650]
    resent = _resent(brka, begin, end)
    missing = [s for s in seqs if begin <= s <= end and s not in resent]
    assert not missing, f"messages not resent: {missing[:10]}"
    for s in range(begin, end + 1):
        if s in answers:
            _same(answers[s], resent[s])
    # One message, at a mark's edge and inside a mark's span.
    for s in (seqs[255], seqs[256], seqs[257], seqs[-1]):
        one = _resent(brka, s, s)
        _same(answers[s], one[s])


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_a_restarted_venue_rebuilds_the_marks_and_resends_the_day(venue, connect):
    brka = connect("BRKA")
    answers = _answers(brka, 600, "R")
    seqs = sorted(answers)
    brka.logout()
    venue.kill()  # no clean shutdown: the marks come from the header file alone
    venue.restart()
    again = FixClient(venue.port, "BRKA", seq=brka.out_seq)
    assert again.logon(timeout=30).type == "A"
    # More messages after the restart: the marks continue from those read at start-up.
    later = _answers(again, 300, "T")
    seqs += sorted(later)
    answers.update(later)
    begin, end = seqs[200], seqs[-1]
    resent = _resent(again, begin, end)
    missing = [s for s in seqs if begin <= s <= end and s not in resent]
    assert not missing, f"messages not resent after the restart: {missing[:10]}"
    for s in seqs:
        if begin <= s <= end:
            _same(answers[s], resent[s])
    again.logout()
