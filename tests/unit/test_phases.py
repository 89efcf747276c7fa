"""Trading phases driven by the calendar and by ops, periodic auctions, member SMP defaults and price
bands, through the venue core with an injected clock (no sleeps)."""

from __future__ import annotations

from datetime import UTC, datetime, time
from decimal import Decimal
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from venue.book.fast import FastBook
from venue.book.types import Phase, Side
from venue.calendar import TradingCalendar
from venue.core import IdCounters, VenueCore
from venue.messages import ExecutionReport, NewOrderCommand, OpsCommand, TradingSessionStatusReport
from venue.model import Account, FixSession, Member, Security, SessionRole, World

NY = ZoneInfo("America/New_York")
CAL = TradingCalendar(
    timezone="America/New_York", pre_open=time(9, 0), open=time(9, 30), close=time(16, 0), weekdays=frozenset(range(5))
)


def at(hh: int, mm: int, ss: int = 0, day: int = 24) -> int:
    return int(datetime(2026, 11, day, hh, mm, ss, tzinfo=NY).timestamp()) * 1_000_000


def world(security: Security | None = None, brka: Member | None = None) -> World:
    return World(
        members={"BRKA": brka or Member("BRKA", "A", "broker_dealer"), "BRKB": Member("BRKB", "B", "broker_dealer")},
        sessions={
            "BRKA": FixSession("BRKA", "BRKA", SessionRole.ORDER_ENTRY, "x"),
            "BRKB": FixSession("BRKB", "BRKB", SessionRole.ORDER_ENTRY, "x"),
            "OPS": FixSession("OPS", None, SessionRole.DROP_COPY, "x"),
        },
        accounts={
            "A-1": Account("A-1", "BRKA", "a", "US", True, kyc_status="verified"),
            "B-1": Account("B-1", "BRKB", "b", "US", True, kyc_status="verified"),
        },
        securities={"ACME": security or Security("ACME", "Acme", Decimal("0.01"), 1)},
    )


def core(w: World | None = None, cal: TradingCalendar = CAL, **kw) -> VenueCore:
    c = VenueCore(w or world(), lambda _s: cal, lambda cfg: FastBook(cfg), IdCounters(), **kw)
    c.load_positions(
        [{"account_id": a, "asset": asset, "quantity": "1000000"} for a in ("A-1", "B-1") for asset in ("USD", "ACME")],
        [{"account_id": a, "symbol": "ACME", "quantity": 1000000, "acquired_us": 0} for a in ("A-1", "B-1")],
        [],
    )
    return c


def order(cl: str, side: str, qty: int, price: str | None, comp: str = "BRKA", **kw) -> NewOrderCommand:
    base = dict(
        comp_id=comp,
        cl_ord_id=cl,
        symbol="ACME",
        side=side,
        ord_type="2" if price else "1",
        qty=Decimal(qty),
        price=Decimal(price) if price else None,
        tif="0",
        account="A-1" if comp == "BRKA" else "B-1",
        capacity="A",
    )
    base.update(kw)
    return NewOrderCommand(**base)


def take(c: VenueCore) -> tuple[list[ExecutionReport], list[TradingSessionStatusReport]]:
    _, out = c.take()
    return (
        [r for r in out if isinstance(r, ExecutionReport)],
        [r for r in out if isinstance(r, TradingSessionStatusReport)],
    )


def fills(reports: list[ExecutionReport]) -> list[tuple[str, int, Decimal]]:
    return [(r.cl_ord_id, r.last_qty, r.last_px) for r in reports if r.exec_type == "F"]


def test_a_trading_day_runs_closed_pre_open_opening_auction_continuous_closed():
    c = core()
    c.run_timers(at(8, 0))
    assert c.phase("ACME") is Phase.CLOSED
    c.handle(order("EARLY", "1", 10, "10.00"), at(8, 30))
    (rej,), _ = take(c)
    assert rej.exec_type == "8" and "outside its trading session" in rej.text

    c.run_timers(at(9, 0))
    _, status = take(c)
    assert [s.phase for s in status] == ["PRE_OPEN"]
    # Pre-open: orders rest, nothing matches even when the book crosses.
    for cmd in (
        order("B1", "1", 100, "10.05"),
        order("B2", "1", 100, "10.00"),
        order("B3", "1", 50, "9.95"),
        order("S1", "2", 80, "9.90", "BRKB"),
        order("S2", "2", 100, "10.00", "BRKB"),
        order("S3", "2", 100, "10.10", "BRKB"),
    ):
        c.handle(cmd, at(9, 10))
    execs, _ = take(c)
    assert [r.exec_type for r in execs] == ["0"] * 6
    c.run_timers(at(9, 29, 59))
    assert take(c) == ([], [])

    # 09:30: the opening auction. Executable volume by price: 9.90 -> 80, 9.95 -> 80, 10.00 -> 180,
    # 10.05 -> 100, 10.10 -> 0, so one price, 10.00, for 180; buys by price then time, sells likewise.
    c.run_timers(at(9, 30))
    execs, status = take(c)
    assert [s.phase for s in status] == ["OPENING_AUCTION", "CONTINUOUS"]
    px = Decimal("10.00")
    assert sorted(fills(execs)) == sorted(
        [("B1", 80, px), ("S1", 80, px), ("B1", 20, px), ("S2", 20, px), ("B2", 80, px), ("S2", 80, px)]
    )
    assert c.phase("ACME") is Phase.CONTINUOUS
    book = c.books["ACME"]
    book.validate_internal_state()
    assert [(lv.price, lv.qty) for lv in book.depth(Side.BUY, 2)] == [(1000, 20), (995, 50)]

    # Continuous trading matches on arrival; IOC is allowed again.
    c.handle(order("S4", "2", 20, "10.00", "BRKB", tif="3"), at(10, 0))
    execs, _ = take(c)
    assert fills(execs) == [("B2", 20, px), ("S4", 20, px)]

    c.run_timers(at(16, 0))
    execs, status = take(c)
    assert [s.phase for s in status] == ["CLOSED"]
    assert sorted(r.cl_ord_id for r in execs if r.exec_type == "C") == ["B3", "S3"]


def test_immediate_orders_are_refused_in_pre_open():
    c = core()
    c.run_timers(at(9, 5))
    c.handle(order("I1", "1", 10, "10.00", tif="3"), at(9, 6))
    (rej,), _ = take(c)
    assert rej.exec_type == "8" and "trading phase" in rej.text


def test_restart_during_pre_open_with_a_crossed_book_opens_through_the_auction():
    first = core()
    first.run_timers(at(9, 5))
    first.handle(order("B1", "1", 10, "10.10"), at(9, 6))
    first.handle(order("S1", "2", 10, "10.00", "BRKB"), at(9, 6))
    batch, _ = first.take()
    saved = sorted((o for o in batch.orders.values() if o.status.is_open), key=lambda o: o.priority)
    second = core()
    second.restore(saved)
    second.run_timers(at(9, 45))  # restarted after the open
    execs, status = take(second)
    assert [s.phase for s in status] == ["OPENING_AUCTION", "CONTINUOUS"]
    assert [f[1] for f in fills(execs)] == [10, 10]
    second.books["ACME"].validate_internal_state()


def test_halt_from_any_phase_and_resume_through_a_call_auction():
    c = core()
    c.run_timers(at(10, 0))
    take(c)
    c.handle(OpsCommand(1, "halt", "ACME"), at(10, 1))
    _, status = take(c)
    assert [s.phase for s in status] == ["HALTED"]
    c.handle(order("B1", "1", 10, "10.10"), at(10, 2))
    (rej,), _ = take(c)
    assert rej.ord_rej_reason == 2 and "halted" in rej.text
    c.handle(OpsCommand(2, "resume", "ACME"), at(10, 3))
    _, status = take(c)
    assert [s.phase for s in status] == ["OPENING_AUCTION", "CONTINUOUS"]
    # A halt that lasts past the close resumes into the closed phase, not into trading.
    c.handle(OpsCommand(3, "halt", "ACME"), at(15, 0))
    c.run_timers(at(16, 30))
    c.handle(OpsCommand(4, "resume", "ACME"), at(16, 31))
    _, status = take(c)
    assert [s.phase for s in status] == ["HALTED", "CLOSED"]


def test_periodic_auctions_match_only_at_each_interval():
    sec = Security("ACME", "Acme", Decimal("0.01"), 1, auction_interval_s=10)
    c = core(world(sec))
    c.run_timers(at(10, 0, 1))
    _, status = take(c)
    assert [s.phase for s in status] == ["OPENING_AUCTION", "PERIODIC_AUCTION"]
    c.handle(order("B1", "1", 10, "10.10"), at(10, 0, 2))
    c.handle(order("S1", "2", 4, "10.00", "BRKB"), at(10, 0, 3))
    c.handle(order("S2", "2", 4, "10.05", "BRKB"), at(10, 0, 4))
    execs, _ = take(c)
    assert fills(execs) == [], "nothing trades between auctions"
    assert c.next_timer_us() == at(10, 0, 10)
    c.run_timers(at(10, 0, 9))
    assert take(c) == ([], [])
    c.run_timers(at(10, 0, 10))
    execs, status = take(c)
    assert status == [], "the phase does not change at each auction"
    # Demand at 10.00 and 10.05 is 10, supply 4 and 8: most volume (8) at 10.05.
    assert sorted(fills(execs)) == sorted(
        [
            ("B1", 4, Decimal("10.05")),
            ("S1", 4, Decimal("10.05")),
            ("B1", 4, Decimal("10.05")),
            ("S2", 4, Decimal("10.05")),
        ]
    )
    c.run_timers(at(10, 0, 20))
    execs, _ = take(c)
    assert execs == []
    assert c.next_timer_us() == at(10, 0, 30)


def test_member_default_self_match_prevention_applies_when_the_order_says_nothing():
    brka = Member("BRKA", "A", "broker_dealer", default_smp="2")  # cancel resting
    c = core(world(brka=brka))
    c.run_timers(at(10, 0))
    c.handle(order("S1", "2", 10, "10.00"), at(10, 1))
    c.handle(order("B1", "1", 10, "10.00"), at(10, 2))
    execs, _ = take(c)
    canceled = [r for r in execs if r.exec_type == "4"]
    assert [(r.cl_ord_id, r.text) for r in canceled] == [
        ("S1", "Self-match prevented: same investor account on both sides")
    ]
    assert canceled[0].copy_to == ("OPS",), "a prevented match reaches drop copy too"
    assert [r.cl_ord_id for r in execs if r.exec_type == "0"] == ["S1", "B1"]
    # An explicit 2964=1 overrides the member default: the incoming order is canceled instead.
    c.handle(order("B2", "2", 10, "10.00", smp="1"), at(10, 3))
    execs, _ = take(c)
    assert [(r.cl_ord_id, r.exec_type) for r in execs] == [("B2", "0"), ("B2", "4")]


def test_an_unknown_smp_instruction_is_refused():
    c = core()
    c.run_timers(at(10, 0))
    c.handle(order("X1", "1", 10, "10.00", smp="9"), at(10, 1))
    (rej,), _ = take(c)
    assert rej.exec_type == "8" and rej.venue_reason == "O220" and "2964" in rej.text


def test_price_band_around_the_reference_price_refuses_outliers():
    sec = Security("ACME", "Acme", Decimal("0.01"), 1, reference_price=Decimal("10.00"), band_bps=1000)
    c = core(world(sec))
    c.run_timers(at(10, 0))
    c.handle(order("IN", "1", 10, "11.00"), at(10, 1))
    c.handle(order("OUT", "1", 10, "11.01"), at(10, 1))
    c.handle(order("LOW", "2", 10, "8.99", "BRKB"), at(10, 1))
    execs, _ = take(c)
    assert [(r.cl_ord_id, r.exec_type, r.venue_reason) for r in execs] == [
        ("IN", "0", None),
        ("OUT", "8", "B100"),
        ("LOW", "8", "B100"),
    ]
    assert execs[1].text == "Order price outside the price band"


def test_switching_between_continuous_and_periodic_auctions_keeps_the_book_uncrossed():
    c = core()
    c.run_timers(at(10, 0))
    take(c)
    periodic = World(
        c.world.members,
        c.world.sessions,
        c.world.accounts,
        {"ACME": Security("ACME", "Acme", Decimal("0.01"), 1, auction_interval_s=5)},
    )
    c.handle(OpsCommand(1, "reload", "ACME", (periodic, None)), at(10, 1))
    _, status = take(c)
    assert [s.phase for s in status] == ["PERIODIC_AUCTION"]
    c.handle(order("B1", "1", 10, "10.10"), at(10, 2))
    c.handle(order("S1", "2", 10, "10.00", "BRKB"), at(10, 3))
    assert fills(take(c)[0]) == []
    continuous = World(
        c.world.members, c.world.sessions, c.world.accounts, {"ACME": Security("ACME", "Acme", Decimal("0.01"), 1)}
    )
    c.handle(OpsCommand(2, "reload", "ACME", (continuous, None)), at(10, 4))
    execs, status = take(c)
    assert [s.phase for s in status] == ["CONTINUOUS"]
    assert len(fills(execs)) == 2, "the crossed orders trade in a last auction before continuous trading"
    c.books["ACME"].validate_internal_state()


@settings(max_examples=400, deadline=None)
@given(
    st.sampled_from(
        [
            "UTC",
            "America/New_York",
            "Europe/London",
            "Asia/Kolkata",
            "Asia/Kathmandu",
            "Australia/Lord_Howe",
            "Pacific/Chatham",
        ]
    ),
    st.integers(min_value=1_577_836_800_000_000, max_value=2_524_608_000_000_000),
)  # 2020-2050
def test_trading_day_is_the_local_date_at_every_instant(tz, now_us):
    """The per-minute lookup gives the zone's own date, across DST changes and zones off UTC by
    half and quarter hours."""
    cal = TradingCalendar(timezone=tz)
    expected = datetime.fromtimestamp(now_us / 1_000_000, tz=UTC).astimezone(ZoneInfo(tz)).date()
    assert cal.trading_day(now_us) == expected
    # the last microsecond before and the first after a local midnight
    midnight = int(datetime.combine(expected, datetime.min.time(), tzinfo=ZoneInfo(tz)).timestamp()) * 1_000_000
    assert cal.trading_day(midnight) == expected and cal.trading_day(midnight - 1) < expected
