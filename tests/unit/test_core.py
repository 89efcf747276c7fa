"""The venue core driven directly with an injected clock: Day and GTD expiry, restart, internal errors."""

from __future__ import annotations

from datetime import datetime, time
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from venue.book.fast import FastBook
from venue.calendar import TradingCalendar
from venue.core import IdCounters, VenueCore
from venue.messages import ExecutionReport, NewOrderCommand
from venue.model import Account, FixSession, Member, Security, SessionRole, World
from venue.orders import OrdStatus

NY = ZoneInfo("America/New_York")
CAL = TradingCalendar(timezone="America/New_York", open=time(9, 30), close=time(16, 0), weekdays=frozenset(range(5)))


def at(y, m, d, hh, mm) -> int:
    return int(datetime(y, m, d, hh, mm, tzinfo=NY).timestamp()) * 1_000_000


def world() -> World:
    return World(
        members={"BRKA": Member("BRKA", "A", "broker_dealer")},
        sessions={
            "BRKA": FixSession("BRKA", "BRKA", SessionRole.ORDER_ENTRY, "x"),
            "OPS": FixSession("OPS", None, SessionRole.DROP_COPY, "x"),
        },
        accounts={"A-1": Account("A-1", "BRKA", "a", "US", True, kyc_status="verified")},
        securities={"ACME": Security("ACME", "Acme", Decimal("0.01"), 1)},
    )


def funded(c: VenueCore) -> VenueCore:
    """Give the test account cash and tokens, so pre-funding gates pass."""
    c.load_positions(
        [
            {"account_id": "A-1", "asset": "USD", "quantity": "1000000"},
            {"account_id": "A-1", "asset": "ACME", "quantity": "100000"},
        ],
        [{"account_id": "A-1", "symbol": "ACME", "quantity": 100000, "acquired_us": 0}],
        [],
    )
    return c


def core(**kw) -> VenueCore:
    return funded(VenueCore(world(), lambda _s: CAL, lambda cfg: FastBook(cfg), IdCounters(), **kw))


def order(cl: str, tif: str = "0", **kw) -> NewOrderCommand:
    base = dict(
        comp_id="BRKA",
        cl_ord_id=cl,
        symbol="ACME",
        side="1",
        ord_type="2",
        qty=Decimal(10),
        price=Decimal("9.50"),
        tif=tif,
        account="A-1",
        capacity="A",
    )
    base.update(kw)
    return NewOrderCommand(**base)


def reports(c: VenueCore) -> list[ExecutionReport]:
    return [r for r in c.take()[1] if isinstance(r, ExecutionReport)]


def test_day_order_expires_at_the_close_and_not_before():
    c = core()
    c.handle(order("D1"), at(2026, 11, 24, 10, 0))
    assert [r.exec_type for r in reports(c)] == ["0"]
    c.run_timers(at(2026, 11, 24, 15, 59))
    assert reports(c) == []
    c.run_timers(at(2026, 11, 24, 16, 0))
    (expired,) = reports(c)
    assert (expired.exec_type, expired.ord_status, expired.leaves_qty, expired.copy_to) == ("C", "C", 0, ("OPS",))


def test_gtd_expires_at_its_time_and_gtc_stays():
    c = core()
    c.handle(order("G1", "6", expire_time_us=at(2026, 11, 24, 11, 0)), at(2026, 11, 24, 10, 0))
    c.handle(order("G2", "1"), at(2026, 11, 24, 10, 0))
    reports(c)
    c.run_timers(at(2026, 11, 24, 11, 0))
    assert [(r.cl_ord_id, r.exec_type) for r in reports(c)] == [("G1", "C")]
    c.run_timers(at(2026, 11, 30, 11, 0))
    assert reports(c) == []


def test_orders_outside_the_session_are_refused():
    c = core()
    c.handle(order("N1"), at(2026, 11, 24, 8, 0))
    (rej,) = reports(c)
    assert (rej.exec_type, rej.ord_rej_reason) == ("8", 2) and "outside its trading session" in rej.text


def test_restart_expires_day_orders_left_from_a_previous_day():
    first = core()
    first.handle(order("D1"), at(2026, 11, 24, 10, 0))
    first.handle(order("G1", "1"), at(2026, 11, 24, 10, 0))
    batch, _ = first.take()
    saved = [o for o in batch.orders.values() if o.status.is_open]
    second = core()
    second.restore(saved)
    second.run_timers(at(2026, 11, 25, 9, 0))
    assert [(r.cl_ord_id, r.exec_type) for r in reports(second)] == [("D1", "C")]
    assert [o.cl_ord_id for o in second.orders.values() if o.status is OrdStatus.NEW] == ["G1"]


class ExplodingBook(FastBook):
    """A fault we cannot cause through the real book: its submit raises."""

    def submit(self, order):  # noqa: D102
        raise RuntimeError("broken invariant")


def test_an_exception_in_the_book_halts_the_security_and_answers_the_member():
    c = funded(VenueCore(world(), lambda _s: CAL, lambda cfg: ExplodingBook(cfg), IdCounters()))
    cmd = order("X1")
    with pytest.raises(RuntimeError):
        c.handle(cmd, at(2026, 11, 24, 10, 0))
    c.internal_error(cmd, RuntimeError("broken invariant"))
    batch, out = c.take()
    assert batch.security_status == {"ACME": "halted"}
    rej = [r for r in out if isinstance(r, ExecutionReport) and r.exec_type == "8"]
    assert len(rej) == 1 and "Internal error" in rej[0].text and rej[0].order_id != "NONE"
    (journaled,) = batch.orders.values()
    assert journaled.status is OrdStatus.REJECTED, "no order is left half-entered"


def test_a_clordid_is_taken_for_its_day_and_while_its_order_is_open():
    """ClOrdIDs are unique per session per UTC day: from the next day the ClOrdIDs of closed orders
    may be used again; an open GTC order keeps its own, and can still be cancelled by it."""
    from venue.messages import CancelCommand

    c = core()
    c.handle(order("D1"), at(2026, 11, 24, 10, 0))  # Day: expires at the close
    c.handle(order("G1", "1"), at(2026, 11, 24, 10, 0))  # GTC: stays open
    reports(c)
    c.run_timers(at(2026, 11, 24, 16, 0))
    assert [(r.cl_ord_id, r.exec_type) for r in reports(c)] == [("D1", "C")]
    c.handle(order("D1"), at(2026, 11, 24, 17, 0))  # the same day (UTC 22:00): still taken
    (dup,) = reports(c)
    assert (dup.exec_type, dup.ord_rej_reason) == ("8", 6), dup

    c.handle(order("D1"), at(2026, 11, 25, 10, 0))  # the next UTC day: free again
    batch, out = c.take()
    (again,) = [r for r in out if isinstance(r, ExecutionReport)]
    assert again.exec_type == "0" and again.order_id != dup.order_id
    assert [(row["cl_ord_id"], row["day"]) for row in batch.cl_ord_ids] == [("D1", "2026-11-25")]
    c.handle(order("G1", "1"), at(2026, 11, 25, 10, 1))  # the open GTC order's: still taken
    (gtc_dup,) = reports(c)
    assert (gtc_dup.exec_type, gtc_dup.ord_rej_reason) == ("8", 6), gtc_dup
    c.handle(CancelCommand("BRKA", "G1-C", "G1", None, "ACME", "1"), at(2026, 11, 25, 10, 2))
    (canceled,) = reports(c)
    assert (canceled.cl_ord_id, canceled.orig_cl_ord_id, canceled.exec_type) == ("G1-C", "G1", "4")
