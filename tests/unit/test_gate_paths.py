"""Every gate refuses on every path the gate table says it applies to, through the venue core.

`venue.gates.GATES` names, per gate, the paths it applies to: a new order (D), a replace (G), a
cancel (F), a mass cancel (q) and a resting order re-checked when the state it reads changes
(resting). This file has one case per (gate, path) pair of the table, and a test that the cases
and the table agree, so a gate added to a path without a case here, or a case for a path the
table does not name, fails.

A case drives the real core (real books, ledger, gates) with an injected clock:
- D: the new order is refused (150=8) with the gate's code in VenueRejectCode;
- G: a resting order is replaced; the replace is refused (35=9, 434=2) with the gate's code, and
  the order is left exactly as it was. The state a standing gate reads is set on the core
  directly, without the reload that would first cancel the resting order (the resting case
  below): this checks the replace path's own gate, not the sweep;
- F / q: the cancel is refused (35=9, 434=1) / the mass cancel is rejected (35=r 531=0);
- resting: a resting order, then the change as the running venue takes it (a registry reload or
  an ops command); the order is canceled (150=4) with the gate's code, nothing trades.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from venue.book.fast import FastBook
from venue.calendar import parse_calendar
from venue.chain.view import Snapshot
from venue.core import IdCounters, VenueCore
from venue.gates import GATES, OrderPath
from venue.messages import (
    CancelCommand,
    ExecutionReport,
    MassCancelCommand,
    MassCancelReport,
    NewOrderCommand,
    OpsCommand,
    OrderCancelReject,
    ReplaceCommand,
)
from venue.model import Account, FixSession, Member, MemberStatus, Offering, Security, SessionRole, TradingStatus, World
from venue.orders import OrderCapacity

UTC_ALL_DAY = parse_calendar({"timezone": "UTC", "open": "00:00", "close": "00:00"})
T0 = int(datetime(2026, 12, 1, 15, 0, tzinfo=UTC).timestamp()) * 1_000_000
D, G, F, Q, R = OrderPath.NEW, OrderPath.REPLACE, OrderPath.CANCEL, OrderPath.MASS_CANCEL, OrderPath.RESTING


def base_world() -> World:
    return World(
        members={"BRKA": Member("BRKA", "A", "broker_dealer"), "BRKB": Member("BRKB", "B", "broker_dealer")},
        sessions={
            "BRKA": FixSession("BRKA", "BRKA", SessionRole.ORDER_ENTRY, "x"),
            "BRKB": FixSession("BRKB", "BRKB", SessionRole.ORDER_ENTRY, "x"),
            "BDC": FixSession("BDC", "BRKA", SessionRole.DROP_COPY, "x"),
        },
        accounts={
            "A-1": Account("A-1", "BRKA", "a", "US", True, kyc_status="verified"),
            "B-1": Account("B-1", "BRKB", "b", "US", True, kyc_status="verified"),
        },
        securities={"ACME": Security("ACME", "Acme", Decimal("0.01"), 1, Offering.REG_D_506C)},
    )


def new_core() -> VenueCore:
    c = VenueCore(base_world(), lambda _s: UTC_ALL_DAY, FastBook, IdCounters())
    c.load_positions(
        [
            {"account_id": a, "asset": asset, "quantity": q}
            for a in ("A-1", "B-1")
            for asset, q in (("USD", "1000000"), ("ACME", "100000"))
        ],
        [{"account_id": a, "symbol": "ACME", "quantity": 100000, "acquired_us": 0} for a in ("A-1", "B-1")],
        [],
    )
    c.run_timers(T0)  # opens the book (opening auction, then continuous)
    c.take()
    return c


def order(cl: str, **kw) -> NewOrderCommand:
    base = dict(
        comp_id="BRKA",
        cl_ord_id=cl,
        symbol="ACME",
        side="1",
        ord_type="2",
        qty=Decimal(10),
        price=Decimal("9.50"),
        tif="1",
        account="A-1",
        capacity="A",
    )
    base.update(kw)
    return NewOrderCommand(**base)


def replace_of(cl: str, orig: str, **kw) -> ReplaceCommand:
    base = dict(
        comp_id="BRKA",
        cl_ord_id=cl,
        orig_cl_ord_id=orig,
        order_id=None,
        symbol="ACME",
        side="1",
        ord_type="2",
        qty=Decimal(10),
        price=Decimal("9.50"),
        tif=None,
        account=None,
    )
    base.update(kw)
    return ReplaceCommand(**base)


# ---------------------------------------------------------------- changes of state


def member(**kw) -> Callable[[World], World]:
    return lambda w: replace(w, members={**w.members, "BRKA": replace(w.members["BRKA"], **kw)})


def investor(**kw) -> Callable[[World], World]:
    return lambda w: replace(w, accounts={**w.accounts, "A-1": replace(w.accounts["A-1"], **kw)})


def session(**kw) -> Callable[[World], World]:
    return lambda w: replace(w, sessions={**w.sessions, "BRKA": replace(w.sessions["BRKA"], **kw)})


def security(**kw) -> Callable[[World], World]:
    return lambda w: replace(w, securities={"ACME": replace(w.securities["ACME"], **kw)})


class PausedToken:
    """The chain view's answer for a paused token (the gate reads a snapshot; the chain itself is
    exercised in tests/integration/test_chain_gates_fix.py)."""

    def snapshot(self) -> Snapshot:
        return Snapshot(block=1, taken_at=0.0, paused={"ACME": True})

    def can_transfer(self, symbol, seller, buyer, qty):
        return None


def set_state(c: VenueCore, world: Callable[[World], World] | None, entitlements, extra) -> None:
    """Change what the gates read directly on the core (no reload: no resting sweep)."""
    if world is not None:
        c.world = world(c.world)
        c.securities.update(
            {s: replace(sec, trading_status=c.securities[s].trading_status) for s, sec in c.world.securities.items()}
        )
        if c.world.securities["ACME"].trading_status is not TradingStatus.OPEN:
            c.securities["ACME"] = c.world.securities["ACME"]
    if entitlements is not None:
        c.entitlements = entitlements
    if extra is not None:
        extra(c)


@dataclass(frozen=True)
class Case:
    gate: str  # the table's gate
    path: OrderPath
    code: str  # the code the refusal carries
    world: Callable[[World], World] | None = None
    entitlements: dict | None = None
    extra: Callable[[VenueCore], None] | None = None  # any other set-up (chain view, throttle, ops)
    order: dict = field(default_factory=dict)  # D: the new order; G/F/resting: the resting order
    change: dict = field(default_factory=dict)  # G: the replace's fields
    session: str = "BRKA"  # who sends the refused message
    dup: bool = False  # the refused message reuses the resting order's ClOrdID

    @property
    def id(self) -> str:
        return f"{self.gate}-{self.path.name.lower()}-{self.code}"


def throttle(c: VenueCore) -> None:
    c.world = member(max_msgs_per_s=1)(c.world)


def throttled(c: VenueCore) -> None:
    """One order message already sent in this second, the limit being one."""
    throttle(c)
    c.handle(order("FIRST", qty=Decimal(1)), T0 + 1)
    c.take()


def paused(c: VenueCore) -> None:
    c.chain = PausedToken()


def reg_cf_stranger(w: World) -> World:
    """ACME a Reg CF security issued six months ago; A-1 not accredited (227.501(a))."""
    cf = security(offering=Offering.REG_CF, issue_date=date(2026, 6, 1))
    return investor(accredited=False)(cf(w))


NOT_ENTITLED = {"BRKA": frozenset({"BETA"}), "BRKB": frozenset({"*"})}
A1_AT_BRKB = lambda w: replace(w, accounts={**w.accounts, "A-1": replace(w.accounts["A-1"], member_id="BRKB")})  # noqa: E731

CASES = [
    Case("S100", D, "S100", session="BDC"),
    Case("S100", G, "S100", session="BDC"),
    Case("S100", F, "S100", session="BDC"),
    Case("S100", Q, "S100", session="BDC"),
    Case("S100", R, "S110", world=session(enabled=False)),
    Case("R200", D, "R200", extra=throttled),
    Case("R200", G, "R200", extra=throttle),
    Case("M100", D, "M100", world=member(status=MemberStatus.SUSPENDED)),
    Case("M100", G, "M100", world=member(status=MemberStatus.SUSPENDED)),
    Case("M100", R, "M100", world=member(status=MemberStatus.SUSPENDED)),
    Case("M110", D, "M110", world=member(killed=True)),
    Case("M110", G, "M110", world=member(killed=True)),
    Case("M110", R, "M110", world=member(killed=True)),
    Case("O100", D, "O100", dup=True),
    Case("O100", G, "O100", dup=True),
    Case("O100", F, "O100", dup=True),
    Case("Y100", D, "Y100", order=dict(symbol="NOPE")),
    Case("M120", D, "M120", entitlements=NOT_ENTITLED),
    Case("M120", G, "M120", entitlements=NOT_ENTITLED),
    Case("M120", R, "M120", entitlements=NOT_ENTITLED),
    Case("O200", D, "O200", order=dict(ord_type="3")),
    Case("A100", D, "A100", order=dict(account="B-1")),
    Case("A100", G, "A100", world=A1_AT_BRKB),
    Case("A110", D, "A110", world=investor(kyc_status="pending")),
    Case("A110", G, "A130", world=investor(aml_flag=True)),
    Case("A110", R, "A130", world=investor(aml_flag=True)),
    Case("Y200", D, "Y200", world=security(trading_status=TradingStatus.HALTED)),
    Case("Y200", G, "Y200", world=security(trading_status=TradingStatus.HALTED)),
    Case("Y200", R, "Y230", extra=lambda c: c.handle(OpsCommand(1, "suspend", "ACME"), T0 + 2)),
    Case("O300", D, "O300", order=dict(tif="9")),
    Case("Q100", D, "Q100", order=dict(qty=Decimal(0))),
    Case("Q100", G, "Q100", change=dict(qty=Decimal("10.5"))),
    Case("P100", D, "P130", order=dict(price=Decimal("9.505"))),
    Case("P100", G, "P130", change=dict(price=Decimal("9.505"))),
    Case("R100", D, "R100", world=member(max_order_qty=20), order=dict(qty=Decimal(30))),
    Case("R100", G, "R100", world=member(max_order_qty=20), change=dict(qty=Decimal(30))),
    Case("A140", D, "A140", world=investor(accredited=False)),
    Case("A140", G, "A140", world=investor(accredited=False)),
    Case("A140", R, "A140", world=investor(accredited=False)),
    Case("C100", D, "F100", order=dict(side="2", qty=Decimal(100_001))),
    Case("C100", G, "F100", order=dict(side="2"), change=dict(side="2", qty=Decimal(100_001))),
    Case("C170", D, "C170", world=reg_cf_stranger),
    Case("C170", G, "C170", world=reg_cf_stranger),
    Case("C170", R, "C170", world=reg_cf_stranger),
    Case("C110", D, "C130", world=security(max_holding=100_005)),
    Case("C110", G, "C130", world=security(max_holding=100_015), change=dict(qty=Decimal(20))),
    Case("F110", D, "F110", order=dict(qty=Decimal(200_000))),
    Case("F110", G, "F110", change=dict(qty=Decimal(200_000))),
    Case("T100", D, "T100", extra=paused),
    Case("T100", G, "T100", extra=paused),
]


def test_the_cases_are_the_table():
    """One case per (gate, path) the table names, and none for a path it does not."""
    assert {(c.gate, c.path) for c in CASES} == {(g.code, p) for g in GATES for p in g.applies}
    assert len({(c.gate, c.path) for c in CASES}) == len(CASES)


def _refused_new(c: VenueCore, case: Case) -> None:
    set_state(c, case.world, case.entitlements, case.extra)
    if case.dup:
        c.handle(order("DUP"), T0 + 1)
        c.take()
    c.handle(order("DUP" if case.dup else "N1", comp_id=case.session, **case.order), T0 + 1)
    reports = [r for r in c.take()[1] if isinstance(r, ExecutionReport)]
    assert [(r.exec_type, r.ord_status, r.venue_reason) for r in reports] == [("8", "8", case.code)], reports
    assert all(o.cl_ord_id in ("DUP", "FIRST") for o in c.orders.values()), "no order was created"


def _resting(c: VenueCore, case: Case):
    c.handle(order("REST", **case.order), T0 + 1)
    (ack,) = [r for r in c.take()[1] if isinstance(r, ExecutionReport)]
    assert ack.exec_type == "0", ack
    (rec,) = c.orders.values()
    return rec


def _refused_change(c: VenueCore, case: Case) -> None:
    rec = _resting(c, case)
    before = (rec.qty, rec.price, rec.leaves, rec.cl_ord_id, rec.status)
    set_state(c, case.world, case.entitlements, case.extra)
    cl = "REST" if case.dup else "CHG"
    if case.path is G:
        c.handle(replace_of(cl, "REST", comp_id=case.session, **case.change), T0 + 3)
    else:
        c.handle(CancelCommand(case.session, cl, "REST", None, "ACME", rec.side.value), T0 + 3)
    out = c.take()[1]
    (rej,) = out
    assert isinstance(rej, OrderCancelReject), out
    assert (rej.response_to, rej.venue_reason) == ("2" if case.path is G else "1", case.code), rej
    assert (rec.qty, rec.price, rec.leaves, rec.cl_ord_id, rec.status) == before, "the order is left as it was"
    assert c.orders[rec.order_id] is rec


def _refused_mass_cancel(c: VenueCore, case: Case) -> None:
    rec = _resting(c, case)
    c.handle(MassCancelCommand(case.session, "MC1", "7", None, None), T0 + 3)
    (report,) = c.take()[1]
    assert isinstance(report, MassCancelReport) and report.response == "0" and "may not" in report.text, report
    assert rec.status.is_open


def _canceled_at_rest(c: VenueCore, case: Case) -> None:
    rec = _resting(c, case)
    if case.world is not None or case.entitlements is not None:
        world = case.world(c.world) if case.world else c.world
        c.handle(OpsCommand(1, "reload", "", (world, case.entitlements)), T0 + 2)
    if case.extra is not None:
        case.extra(c)
    reports = [r for r in c.take()[1] if isinstance(r, ExecutionReport)]
    (canceled,) = [r for r in reports if r.cl_ord_id == "REST"]
    assert (canceled.exec_type, canceled.ord_status, canceled.venue_reason) == ("4", "4", case.code), canceled
    assert canceled.text.startswith("Canceled by venue: no longer eligible: "), canceled.text
    assert not rec.status.is_open and rec.order_id not in c.orders
    # Nothing of it trades: an order that would have crossed it does not trade.
    c.handle(order("CROSS", comp_id="BRKB", account="B-1", side="2", price=Decimal("9.50")), T0 + 4)
    assert [r.exec_type for r in c.take()[1] if isinstance(r, ExecutionReport)] in (["0"], ["8"])


RUN = {D: _refused_new, G: _refused_change, F: _refused_change, Q: _refused_mass_cancel, R: _canceled_at_rest}


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_each_gate_refuses_on_each_path_it_applies_to(case: Case):
    RUN[case.path](new_core(), case)


@pytest.mark.parametrize(
    "change",
    [dict(qty=Decimal(5)), dict(qty=Decimal(15)), dict(price=Decimal("9.40"))],
    ids=["smaller", "within-limits", "new-price"],
)
def test_a_replace_within_every_gate_is_accepted(change):
    """The refusals above come from the gates, not from replaces being refused in general."""
    c = new_core()
    c.world = member(max_order_qty=20)(c.world)
    _resting(c, Case("-", G, "-"))
    c.handle(replace_of("CHG", "REST", **change), T0 + 3)
    (ack,) = c.take()[1]
    assert isinstance(ack, ExecutionReport) and ack.exec_type == "5", ack


def test_a_replace_counts_only_what_it_needs_beyond_its_own_hold():
    """Cash 1,000,000: a buy of 100,000 at 9.50 (950,000) replaced to 105,000 needs 997,500 in all,
    not 950,000 + 997,500; one at 106,000 (1,007,000) is refused."""
    c = new_core()
    _resting(c, Case("-", G, "-", order=dict(qty=Decimal(100_000))))
    c.handle(replace_of("OK", "REST", qty=Decimal(105_000)), T0 + 3)
    assert c.take()[1][0].exec_type == "5"
    c.handle(replace_of("TOO-BIG", "OK", qty=Decimal(106_000)), T0 + 4)
    (rej,) = c.take()[1]
    assert isinstance(rej, OrderCancelReject) and rej.venue_reason == "F110", rej


def test_order_capacity_is_required_kept_on_the_order_and_carried_through_replaces():
    """OrderCapacity(528): a new order without one is refused (O230); the order keeps the one it was
    sent with through replaces that repeat it or leave it out, and a replace naming another one is
    refused with the order left as it was."""
    c = new_core()
    c.handle(order("NONE", capacity=None), T0 + 1)
    (rej,) = c.take()[1]
    assert (rej.exec_type, rej.venue_reason, rej.order_id) == ("8", "O230", "NONE")
    assert "OrderCapacity(528) is required" in rej.text
    c.handle(order("P1", capacity="P"), T0 + 2)
    batch, (ack,) = c.take()
    (rec,) = batch.orders.values()
    assert ack.exec_type == "0" and rec.capacity is OrderCapacity.PRINCIPAL
    c.handle(replace_of("P2", "P1", qty=Decimal(12)), T0 + 3)
    c.handle(replace_of("P3", "P2", qty=Decimal(14), capacity="P"), T0 + 4)
    assert [r.exec_type for r in c.take()[1]] == ["5", "5"]
    c.handle(replace_of("A4", "P3", qty=Decimal(16), capacity="A"), T0 + 5)
    (refused,) = c.take()[1]
    assert (
        isinstance(refused, OrderCancelReject) and refused.text == "OrderCapacity(528) cannot be changed by a replace"
    )
    (live,) = c.orders.values()
    assert (live.cl_ord_id, live.qty, live.capacity) == ("P3", 14, OrderCapacity.PRINCIPAL)


def test_cancels_pass_where_every_order_gate_refuses():
    """A killed, suspended member whose investor is under an AML hold can still cancel."""
    c = new_core()
    _resting(c, Case("-", F, "-"))
    set_state(
        c,
        lambda w: investor(aml_flag=True)(member(killed=True, status=MemberStatus.SUSPENDED)(w)),
        NOT_ENTITLED,
        lambda c: throttle(c),
    )
    for i in range(3):  # beyond the one-message throttle, too
        c.handle(order(f"N{i}"), T0 + 3)
    c.handle(CancelCommand("BRKA", "CXL", "REST", None, "ACME", "1"), T0 + 3)
    canceled = [r for r in c.take()[1] if isinstance(r, ExecutionReport) and r.exec_type == "4"]
    assert [r.cl_ord_id for r in canceled] == ["CXL"]


MIDNIGHT = int(datetime(2026, 12, 2, tzinfo=UTC).timestamp()) * 1_000_000  # the day after T0


@pytest.mark.parametrize(
    "expiry, code",
    [
        (dict(kyc_expires=datetime(2026, 12, 1).date()), "A120"),
        (dict(accreditation_expires=datetime(2026, 12, 1).date()), "A150"),
    ],
    ids=["kyc", "accreditation"],
)
def test_an_expiry_date_cancels_resting_orders_at_the_instant_it_ends(expiry, code):
    """Valid through 2026-12-01 (UTC): the order rests until 23:59:59.999999 and is canceled at
    2026-12-02T00:00:00Z exactly, the instant the venue's timer is due."""
    c = new_core()
    c.world = investor(**expiry)(c.world)
    rec = _resting(c, Case("-", R, "-"))
    assert c.next_timer_us() <= MIDNIGHT
    c.run_timers(MIDNIGHT - 1)
    assert c.take()[1] == [] and rec.status.is_open
    assert c.next_timer_us() == MIDNIGHT
    c.run_timers(MIDNIGHT)
    (canceled,) = c.take()[1]
    assert (canceled.cl_ord_id, canceled.exec_type, canceled.venue_reason) == ("REST", "4", code), canceled
    assert "expired on 2026-12-01" in canceled.text
    assert canceled.copy_to == ("BDC",), "drop copies see it too"


def test_cancel_on_restart_cancels_the_resting_orders_of_cancel_on_disconnect_sessions():
    """At start-up a cancel-on-disconnect session is not connected: its resting orders go (GTC kept
    where the session says so), other sessions' stay."""
    c = new_core()
    c.world = replace(
        c.world, sessions={**c.world.sessions, "BRKA": replace(c.world.sessions["BRKA"], cancel_on_disconnect=True)}
    )
    c.handle(order("DAY", tif="0"), T0 + 1)
    c.handle(order("B", comp_id="BRKB", account="B-1", price=Decimal("9.00")), T0 + 1)
    c.take()
    assert c.cancel_on_restart(T0 + 2) == 1
    (canceled,) = c.take()[1]
    assert (canceled.to, canceled.cl_ord_id, canceled.exec_type) == ("BRKA", "DAY", "4")
    assert "start-up" in canceled.text and canceled.copy_to == ("BDC",)
    assert [o.cl_ord_id for o in c.orders.values()] == ["B"]
