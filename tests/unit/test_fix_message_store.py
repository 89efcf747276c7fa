"""QuickFIX's FileStore as the venue builds it (scripts/quickfix/filestore-sparse-index.patch): one
index mark per 256 stored messages instead of a map entry per message. What a session asks of its
store must not change: every message back as last stored, after a refresh from the files, with
repeated or out-of-order sequence numbers. And the store's memory must not grow with the day.
"""

from __future__ import annotations

import quickfix as fix


def _store(path):
    settings = fix.SessionSettings()
    session = fix.SessionID("FIX.4.4", "ATS", "BRKA")
    section = fix.Dictionary()
    section.setString("ConnectionType", "acceptor")
    section.setString("FileStorePath", str(path))
    settings.set(session, section)
    return fix.FileStoreFactory(settings).create(fix.UtcTimeStamp(), session)


def _get(store, begin: int, end: int) -> list[str]:
    out = fix.VectorString()
    store.get(begin, end, out)
    return list(out)


def _rss_mib() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096 / 2**20


def test_every_range_comes_back_around_and_across_the_marks(tmp_path):
    store = _store(tmp_path)
    for seq in range(1, 2001):
        store.set(seq, f"m{seq}")
    for begin, end in ((1, 1), (255, 258), (256, 256), (257, 257), (500, 1300), (1990, 2000), (1, 2000)):
        assert _get(store, begin, end) == [f"m{s}" for s in range(begin, end + 1)], (begin, end)
    assert _get(store, 1995, 9999) == [f"m{s}" for s in range(1995, 2001)], "a range past the end stops there"
    assert _get(store, 2001, 2010) == []
    assert _get(store, 10, 5) == []


def test_the_files_alone_rebuild_the_index(tmp_path):
    store = _store(tmp_path)
    for seq in range(1, 1001):
        store.set(seq, f"m{seq}")
    store.refresh()  # what a restart does: the index read back from the header file
    assert _get(store, 250, 780) == [f"m{s}" for s in range(250, 781)]
    for seq in range(1001, 1301):  # and it goes on from there
        store.set(seq, f"m{seq}")
    assert _get(store, 990, 1300) == [f"m{s}" for s in range(990, 1301)]
    again = _store(tmp_path)  # a new process on the same files
    assert _get(again, 1, 1300) == [f"m{s}" for s in range(1, 1301)]


def test_a_number_stored_again_answers_with_its_last_message(tmp_path):
    store = _store(tmp_path)
    for seq in range(1, 601):
        store.set(seq, f"m{seq}")
    store.set(600, "again600")  # the same number again, in order
    assert _get(store, 599, 600) == ["m599", "again600"]
    store.set(300, "again300")  # an earlier number: the store no longer trusts the order
    assert _get(store, 299, 301) == ["m299", "again300", "m301"]
    assert _get(store, 600, 600) == ["again600"]
    store.refresh()
    assert _get(store, 299, 301) == ["m299", "again300", "m301"]


def test_a_reset_starts_an_empty_day(tmp_path):
    store = _store(tmp_path)
    for seq in range(1, 600):
        store.set(seq, f"old{seq}")
    store.reset(fix.UtcTimeStamp())
    assert _get(store, 1, 600) == []
    for seq in range(1, 300):
        store.set(seq, f"new{seq}")
    assert _get(store, 1, 299) == [f"new{s}" for s in range(1, 300)]


def test_memory_does_not_grow_with_every_message(tmp_path):
    """A map entry per message cost ~64 bytes: 200,000 messages grew the process by ~12 MiB."""
    store = _store(tmp_path)
    body = "8=FIX.4.4\x019=100\x0135=8\x01" + "x" * 150
    store.set(1, body)
    before = _rss_mib()
    for seq in range(2, 200_001):
        store.set(seq, body)
    grown = _rss_mib() - before
    assert grown < 3.0, f"the store grew the process by {grown:.1f} MiB for 200,000 messages"
    assert _get(store, 199_999, 200_000) == [body, body]
