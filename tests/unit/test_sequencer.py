"""The sequencer over a real store: group commit, ack after commit, a failed commit.

The store is the real one (SQLite and PostgreSQL). Only its `commit` is wrapped, to hold a commit
in flight until the test lets it through, and in one test to fail it: a moment that cannot be
chosen otherwise (a database taken away at that instant is what tests/chaos does, without the
control over which batch it hits).
"""

from __future__ import annotations

import queue
import threading
import time
from decimal import Decimal

import pytest
from venuetest import wait_for

from venue import sandbox as sb
from venue.config import load_config
from venue.market_data import TRADE, MarketDataIncrement, MDEntry
from venue.messages import ExecutionReport, NewOrderCommand, SettlementReport
from venue.sequencer import Sequencer, send_reports
from venue.server import build_core
from venue.store import Store

OLD_LOTS_US = time.time_ns() // 1000 - 730 * 86_400_000_000
OPS_SETTLE_S = 0.6  # more than two polls: an outcome read twice would be reported by now


class HeldCommits:
    """The real store; each commit waits for a permit, and the batches are shown to the test."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.batches: queue.SimpleQueue = queue.SimpleQueue()
        self.permits = threading.Semaphore(0)
        self.fail_next: BaseException | None = None

    def commit(self, batch) -> None:
        self.batches.put(batch)
        assert self.permits.acquire(timeout=30), "the test never let this commit through"
        if self.fail_next is not None:
            exc, self.fail_next = self.fail_next, None
            raise exc
        self.store.commit(batch)

    def __getattr__(self, name):
        return getattr(self.store, name)

    def let_start_through(self) -> None:
        """Commit what the sequencer does by itself at start (the opening of the books)."""
        while True:
            try:
                self.batches.get(timeout=0.5)
            except queue.Empty:
                return
            self.permits.release()


@pytest.fixture
def venue_store(store_url, tmp_path):
    cfg = load_config(sb.prepare(tmp_path / "sandbox", 9878, database_url=store_url, fresh=True, chain="none"))
    store = Store(cfg.database_url)
    for account in ("A-ALICE", "B-BOB"):  # old lots: no holding period in the way
        store.set_holding(account, "ACME", Decimal(100_000))
        store.add_lot(
            account, "ACME", 100_000 - int(sum(lot["quantity"] for lot in store.lots(account, "ACME"))), OLD_LOTS_US
        )
    yield store, cfg
    store.dispose()


def order(comp_id: str, cl: str, side: str, price: str = "10.00") -> NewOrderCommand:
    account = {"BRKA": "A-ALICE", "BRKB": "B-BOB"}[comp_id]
    return NewOrderCommand(comp_id, cl, "ACME", side, "2", Decimal(1), Decimal(price), "1", account, capacity="A")


def answers(sent: list, cl_ord_id: str) -> list[str]:
    return [r.exec_type for r in list(sent) if isinstance(r, ExecutionReport) and r.cl_ord_id == cl_ord_id]


def test_orders_arriving_during_a_commit_are_the_next_batch_and_answered_after_its_commit(venue_store):
    store, cfg = venue_store
    held = HeldCommits(store)
    sent: list = []
    seq = Sequencer(build_core(store, cfg), held, send=sent.append)
    seq.start()
    held.let_start_through()
    try:
        seq.submit(order("BRKA", "A1", "1"))
        first = held.batches.get(timeout=10)  # A1's batch is committing (held)
        assert [row["cl_ord_id"] for row in first.cl_ord_ids] == ["A1"] and not answers(sent, "A1")
        seq.submit(order("BRKB", "B1", "2"))  # crosses A1
        seq.submit(order("BRKB", "B2", "2", "10.50"))
        time.sleep(0.2)
        assert not any(answers(sent, cl) for cl in ("A1", "B1", "B2")), "nothing is answered before its commit"
        assert held.batches.empty(), "one batch in flight at a time"

        held.permits.release()  # A1's commit returns: its ack goes out, then B1 and B2 go together
        second = held.batches.get(timeout=10)
        wait_for(lambda: answers(sent, "A1") == ["0"], "A1's ack (sent after its commit)")
        assert answers(sent, "B1") == [] and answers(sent, "B2") == []
        cl_ord_ids = {row["cl_ord_id"] for row in second.cl_ord_ids}
        assert cl_ord_ids == {"B1", "B2"}, "what arrived during the commit is the next batch"
        assert second.trades, "B1's fill of A1 is in the second batch"

        held.permits.release()
        wait_for(lambda: answers(sent, "B2") and answers(sent, "A1") == ["0", "F"], "the second batch's reports")
        assert answers(sent, "B1") == ["0", "F"] and answers(sent, "B2") == ["0"]
    finally:
        held.permits.release(10)
        seq.stop()
    rows = {o.cl_ord_id: o for o in store.orders(status=None, limit=100)}
    assert (rows["A1"].status.value, rows["A1"].cum) == ("2", 1)
    assert (rows["B1"].status.value, rows["B2"].status.value) == ("2", "0")


def test_a_failed_commit_refuses_its_batch_and_what_came_meanwhile_then_recovers(venue_store):
    store, cfg = venue_store
    held = HeldCommits(store)
    sent: list = []
    seq = Sequencer(build_core(store, cfg), held, send=sent.append, rebuild=lambda: build_core(store, cfg))
    seq.start()
    held.let_start_through()
    try:
        seq.submit(order("BRKA", "A1", "1"))
        held.batches.get(timeout=10)
        held.permits.release()
        wait_for(lambda: answers(sent, "A1"), "A1's ack")

        seq.submit(order("BRKB", "B1", "2"))  # would fill A1; its commit will fail
        held.batches.get(timeout=10)
        seq.submit(order("BRKB", "B2", "2", "10.50"))  # arrives while B1's batch commits
        time.sleep(0.2)
        held.fail_next = ConnectionError("the database went away")
        held.permits.release()
        wait_for(lambda: answers(sent, "B2"), "B2's answer")
        assert answers(sent, "B1") == ["8"] and answers(sent, "B2") == ["8"], "refused, not acknowledged"
        assert all(
            r.venue_reason == "X910" for r in sent if isinstance(r, ExecutionReport) and r.cl_ord_id in ("B1", "B2")
        )
        assert answers(sent, "A1") == ["0"], "A1's fill by B1 was never journaled, nor reported"

        held.permits.release(10)  # the store answers: the core is rebuilt from it, orders accepted again
        wait_for(lambda: not seq.degraded, "the rebuilt core", timeout=15)
        seq.submit(order("BRKB", "B3", "2"))
        wait_for(lambda: answers(sent, "A1") == ["0", "F"], "B3's fill of A1")
        assert answers(sent, "B3") == ["0", "F"]
    finally:
        held.permits.release(10)
        seq.stop()
    rows = {o.cl_ord_id: o for o in store.orders(status=None, limit=100)}
    assert set(rows) == {"A1", "B3"}


def _fill(to: str, exec_id: str, copy_to: tuple[str, ...] = ("DC",)) -> ExecutionReport:
    return ExecutionReport(
        to=to,
        order_id="1",
        cl_ord_id=f"c{exec_id}",
        exec_id=exec_id,
        exec_type="F",
        ord_status="2",
        symbol="ACME",
        side="1",
        order_qty=1,
        leaves_qty=0,
        cum_qty=1,
        avg_px=Decimal(10),
        transact_time_us=1,
        copy_to=copy_to,
    )


class Transport:
    """Records (session, report) as the FIX application sends them: the answer at once, the drop
    copies when the call it returns is made (VenueApplication.answer)."""

    def __init__(self, refuse: str | None = None) -> None:
        self.wire: list[tuple[str, object]] = []
        self.refuse = refuse

    def answer(self, report):
        if self.refuse is not None and getattr(report, "exec_id", None) == self.refuse:
            raise OSError("the session's store is full")
        self.wire.append((report.to, report))
        copy_to = getattr(report, "copy_to", ())
        return (lambda: self.wire.extend((c, report) for c in copy_to)) if copy_to else None


def test_answers_go_before_drop_copies_market_data_and_trade_capture_reports_in_order_per_session():
    tcr = SettlementReport(
        "BRKB", "T1", "ACME", "1", 1, Decimal(10), "9", "b1", "B-BOB", "0xabc", 7, "final", 1, 1, copy_to=("DC",)
    )
    md = MarketDataIncrement("MM1", "md1", "ACME", 3, (MDEntry(TRADE, Decimal(10), 1),))
    batch = [tcr, _fill("BRKA", "11"), md, _fill("BRKB", "12"), _fill("BRKA", "13", copy_to=())]
    transport = Transport()
    assert send_reports(batch, transport.answer, 10) == 13
    order = [(to, getattr(r, "exec_id", type(r).__name__)) for to, r in transport.wire]
    assert order == [
        ("BRKA", "11"),
        ("BRKB", "12"),
        ("BRKA", "13"),  # every answer first, in the venue's order
        ("DC", "11"),
        ("DC", "12"),  # then the drop copies, in the same order
        ("BRKB", "SettlementReport"),
        ("DC", "SettlementReport"),  # then what informs, in the venue's order, each with its copies
        ("MM1", "MarketDataIncrement"),
    ]


def test_a_refused_answer_is_not_counted_sent_and_the_rest_still_go():
    transport = Transport(refuse="12")
    sent = send_reports([_fill("BRKA", "11"), _fill("BRKB", "12"), _fill("BRKA", "13")], transport.answer, 10)
    assert sent == 13, "the watermark is the highest ExecID sent"
    assert [(to, r.exec_id) for to, r in transport.wire] == [("BRKA", "11"), ("BRKA", "13"), ("DC", "11"), ("DC", "13")]


def test_an_order_waits_for_one_slice_of_settlement_outcomes_not_for_the_backlog(venue_store):
    """400 trades settle at once. The sequencer reports the outcomes a slice at a time; an order that
    comes in after the first slice is answered before the rest, and each outcome is reported once
    to each side."""
    from venue.sequencer import POLLED_SLICE
    from venue.store.settlement import Settled, SettlementStore

    store, cfg = venue_store
    sent: list = []
    seq = Sequencer(build_core(store, cfg), store, send=sent.append)
    seq.start()
    try:
        trades = 400
        for i in range(trades):  # each pair makes a trade
            seq.submit(order("BRKA", f"S{i}", "2"))
            seq.submit(order("BRKB", f"B{i}", "1"))
        wait_for(lambda: len(answers(sent, f"B{trades - 1}")) == 2, "the last trade", timeout=60)
        trade_ids = [t["trade_id"] for t in store.trades()]
        assert len(trade_ids) == trades

        late: list[int] = []  # where in `sent` the order that comes after the first slice was answered

        def send(report) -> None:
            sent.append(report)
            if isinstance(report, SettlementReport) and not late:
                late.append(-1)
                seq.submit(order("BRKA", "LATE", "2", "12.00"))
            if isinstance(report, ExecutionReport) and report.cl_ord_id == "LATE":
                late[0] = len(sent) - 1

        seq.send = send
        SettlementStore(store).mark_final([Settled(t, "0x" + "ab" * 32, 7) for t in trade_ids])
        wait_for(lambda: sum(isinstance(r, SettlementReport) for r in sent) >= 2 * trades, "every outcome", 60)
        time.sleep(OPS_SETTLE_S)
    finally:
        seq.stop()
    reports = [r for r in sent if isinstance(r, SettlementReport)]
    assert sorted((r.trade_id, r.side) for r in reports) == sorted(
        (str(t), side) for t in trade_ids for side in ("1", "2")
    ), "each outcome reported once to each side"
    after = sum(isinstance(r, SettlementReport) for r in sent[late[0] :])
    assert late[0] > 0 and after >= 2 * trades - 2 * 3 * POLLED_SLICE, (
        f"the order was answered after {2 * trades - after} of {2 * trades} trade capture reports"
    )


def test_outcomes_of_a_slice_whose_commit_failed_are_reported_once_after_the_recovery(venue_store):
    """The commit of the first slice of outcomes fails: nothing of it is reported; once the core is
    rebuilt from the store, every outcome is read again and reported once to each side."""
    from venue.store.settlement import Settled, SettlementStore

    store, cfg = venue_store
    held = HeldCommits(store)
    held.permits.release(10_000)
    sent: list = []
    seq = Sequencer(build_core(store, cfg), held, send=sent.append, rebuild=lambda: build_core(store, cfg))
    seq.start()
    try:
        trades = 40
        for i in range(trades):
            seq.submit(order("BRKA", f"S{i}", "2"))
            seq.submit(order("BRKB", f"B{i}", "1"))
        wait_for(lambda: len(answers(sent, f"B{trades - 1}")) == 2, "the last trade", timeout=30)
        trade_ids = [t["trade_id"] for t in store.trades()]
        held.fail_next = ConnectionError("the database went away")
        SettlementStore(store).mark_final([Settled(t, "0x" + "cd" * 32, 9) for t in trade_ids])
        wait_for(lambda: seq.degraded, "the failed commit of the first slice")
        wait_for(lambda: not seq.degraded, "the rebuilt core", timeout=15)
        wait_for(lambda: sum(isinstance(r, SettlementReport) for r in sent) >= 2 * trades, "every outcome", 30)
        time.sleep(OPS_SETTLE_S)
    finally:
        seq.stop()
    reports = [(r.trade_id, r.side) for r in sent if isinstance(r, SettlementReport)]
    assert sorted(reports) == sorted((str(t), side) for t in trade_ids for side in ("1", "2"))
    assert store.pending_settlement_events() == []
