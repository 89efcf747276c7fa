"""The resale rules of `venue.resale`, table by table, at every boundary: calendar months at month
ends and leap days, the instant a lot is released, tacking through a chain of resales, purchases
from the issuer or an affiliate restarting the period, the Rule 144(e) window and limit, Reg CF
transferees and Reg S distribution compliance periods."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from venue.clock import DAY_US
from venue.ledger import Ledger, Unsettled
from venue.model import Account, IssuerRole, Offering, Security
from venue.resale import (
    add_months,
    affiliate_volume_limit,
    buyer_lots,
    buyer_tacks,
    holding_period_months,
    months_after,
    reg_cf_restricted_until,
    reg_cf_transferee,
    reg_s_period_end,
    release_us,
    volume_window_start_us,
)

SECURITY = Security("ACME", "Acme", Decimal("0.01"), 1)
ISSUER, AFFILIATE = IssuerRole.ISSUER, IssuerRole.AFFILIATE


def us(*ymd_hms: int) -> int:
    """An instant (UTC) in µs."""
    return int(datetime(*ymd_hms, tzinfo=UTC).timestamp()) * 1_000_000


# ---------------------------------------------------------------- the calendar


@pytest.mark.parametrize(
    "start, months, end",
    [
        (date(2025, 1, 31), 1, date(2025, 2, 28)),  # Jan 31 + 1 month: clamped to Feb's end
        (date(2024, 1, 31), 1, date(2024, 2, 29)),  # ... in a leap year: Feb 29
        (date(2025, 8, 31), 6, date(2026, 2, 28)),  # Aug 31 + 6 months
        (date(2023, 8, 31), 6, date(2024, 2, 29)),  # Aug 31 + 6 months into a leap February
        (date(2024, 2, 29), 12, date(2025, 2, 28)),  # Feb 29 + 12 months: no Feb 29 in 2025
        (date(2024, 2, 29), 48, date(2028, 2, 29)),  # ... four years on there is one again
        (date(2024, 2, 29), 6, date(2024, 8, 29)),
        (date(2023, 2, 28), 12, date(2024, 2, 28)),  # non-leap Feb 28 + 12 months: Feb 28, not 29
        (date(2024, 2, 28), 12, date(2025, 2, 28)),
        (date(2025, 3, 31), 6, date(2025, 9, 30)),  # 31 -> a 30-day month
        (date(2025, 12, 31), 2, date(2026, 2, 28)),  # across a year end
        (date(2025, 11, 30), 3, date(2026, 2, 28)),
        (date(2025, 1, 15), 6, date(2025, 7, 15)),  # mid-month: the same day
        (date(2025, 5, 31), -3, date(2025, 2, 28)),  # backwards (the Rule 144(e) window)
        (date(2025, 1, 31), -1, date(2024, 12, 31)),
        (date(2024, 5, 29), -3, date(2024, 2, 29)),
    ],
)
def test_calendar_months(start, months, end):
    assert add_months(start, months) == end


@pytest.mark.parametrize(
    "tacking, months, free_at",
    [
        (us(2025, 8, 31, 23, 59, 59), 6, us(2026, 2, 28)),  # the time of day does not matter
        (us(2025, 8, 31), 6, us(2026, 2, 28)),
        (us(2023, 8, 31, 12), 6, us(2024, 2, 29)),
        (us(2024, 2, 29, 15), 12, us(2025, 2, 28)),
        (us(2023, 2, 28, 15), 12, us(2024, 2, 28)),
        (us(2025, 1, 31, 9), 1, us(2025, 2, 28)),
        (us(2025, 3, 10, 15), 6, us(2025, 9, 10)),
    ],
)
def test_a_lot_is_released_at_the_first_microsecond_of_its_day(tacking, months, free_at):
    assert release_us(tacking, months) == free_at
    led = Ledger()
    led.set_balance("A", "ACME", Decimal(100), False)
    led.add_lot("A", "ACME", tacking, 100)
    assert led.unlocked_tokens("A", "ACME", free_at - 1, months) == 0  # one µs before: locked
    assert led.unlocked_tokens("A", "ACME", free_at, months) == 100  # at the release: free


@pytest.mark.parametrize(
    "acquired, days, months, by_days, by_months",
    [
        # 365 days release a day early after a leap day: twelve months end on Mar 1
        (date(2023, 3, 1), 365, 12, date(2024, 2, 29), date(2024, 3, 1)),
        # 183 days release before six months end around month ends: Jan 31 + 6 months = Jul 31
        (date(2025, 1, 31), 183, 6, date(2025, 8, 2), date(2025, 7, 31)),
        (date(2025, 8, 31), 183, 6, date(2026, 3, 2), date(2026, 2, 28)),
        (date(2025, 9, 1), 183, 6, date(2026, 3, 3), date(2026, 3, 1)),
    ],
)
def test_day_counts_are_not_calendar_months(acquired, days, months, by_days, by_months):
    assert acquired + timedelta(days=days) == by_days
    assert add_months(acquired, months) == by_months
    assert by_days != by_months


@pytest.mark.parametrize(
    "changes, months",
    [
        ({}, None),  # registered: not a restricted security
        ({"restricted": True}, 12),  # non-reporting issuer: one year
        ({"restricted": True, "issuer_reporting": True}, 6),  # reporting for at least 90 days: six months
        ({"issuer_reporting": True}, None),
    ],
)
def test_rule_144_period_by_issuer_status(changes, months):
    sec = Security("ACME", "Acme", Decimal("0.01"), 1, **changes)
    assert holding_period_months(sec) == months


@pytest.mark.parametrize(
    "days, restricted, reporting", [(None, False, False), (0, False, False), (183, True, True), (365, True, False)]
)
def test_the_old_day_count_reads_as_the_rule_it_stood_for(days, restricted, reporting):
    sec = Security("ACME", "Acme", Decimal("0.01"), 1, holding_period_days=days)
    assert (sec.restricted, sec.issuer_reporting) == (restricted, reporting)


# ---------------------------------------------------------------- tacking


@pytest.mark.parametrize("seller_role, tacks", [(None, True), (AFFILIATE, False), (ISSUER, False)])
def test_who_the_buyer_buys_from_decides_whether_it_tacks(seller_role, tacks):
    assert buyer_tacks(seller_role) is tacks


@pytest.mark.parametrize(
    "pieces, qty, role, lots",
    [
        ([(10, 300), (20, 100)], 400, None, [(10, 300), (20, 100)]),  # the seller's pieces, their dates
        ([(10, 300), (20, 100)], 400, AFFILIATE, [(99, 400)]),  # from an affiliate: new, at the trade
        ([(10, 300), (20, 100)], 400, ISSUER, [(99, 400)]),
        ([(10, 300)], 400, None, [(10, 300), (99, 100)]),  # the seller's lots fell short: the rest anew
        ([], 5, None, [(99, 5)]),
    ],
)
def test_the_lots_a_purchase_gives_the_buyer(pieces, qty, role, lots):
    assert buyer_lots(pieces, qty, 99, role) == lots


class Trades:
    """Trades settled through one ledger, in order."""

    def __init__(self) -> None:
        self.ledger, self.n = Ledger(), 0

    def trade(self, seller: str, buyer: str, qty: int, at_us: int, role: IssuerRole | None = None) -> None:
        self.n += 1
        led = self.ledger
        led.add_unsettled(Unsettled(self.n, "ACME", buyer, seller, qty, Decimal(qty), at_us, role))
        led.settle(self.n)

    def lots(self, account: str) -> list[tuple[int, int]]:
        return list(self.ledger.lots[(account, "ACME")])

    def unlocked(self, account: str, at_us: int, months: int = 6) -> int:
        return self.ledger.unlocked_tokens(account, "ACME", at_us, months)


ISSUED = us(2024, 8, 31, 10)  # bought from the issuer on Aug 31, 2024: free on Feb 28, 2025 (6 months)
FREE = us(2025, 2, 28)


def test_tacking_through_a_chain_of_resales_between_holders():
    t = Trades()
    t.trade("ISSUER", "A", 1000, ISSUED, ISSUER)  # the primary sale: A's period starts
    t.trade("A", "B", 600, us(2025, 1, 2))  # a resale: B tacks A's date
    t.trade("B", "C", 400, us(2025, 2, 27, 23, 59))  # and C tacks it again, the day before release
    t.trade("C", "D", 400, us(2025, 2, 27, 23, 59, 59))
    for holder, qty in (("A", 400), ("B", 200), ("D", 400)):
        assert t.lots(holder) == [(ISSUED, qty)]
        assert t.unlocked(holder, FREE - 1) == 0
        assert t.unlocked(holder, FREE) == qty  # no new lock-up for any of them
    assert t.lots("C") == []


def test_a_purchase_from_an_affiliate_restarts_the_period():
    t = Trades()
    t.ledger.add_lot("AFF", "ACME", ISSUED, 500)
    t.trade("AFF", "E", 500, us(2025, 1, 31, 15), AFFILIATE)
    assert t.lots("E") == [(us(2025, 1, 31, 15), 500)]
    assert t.unlocked("E", FREE) == 0
    assert t.unlocked("E", us(2025, 7, 31) - 1) == 0  # Jan 31 + 6 months = Jul 31
    assert t.unlocked("E", us(2025, 7, 31)) == 500
    # ... and E's own buyer then tacks E's date, not the affiliate's original one
    t.trade("E", "F", 500, us(2025, 3, 1))
    assert t.lots("F") == [(us(2025, 1, 31, 15), 500)]


def test_a_tacked_lot_goes_before_the_buyers_later_lots_and_is_sold_first():
    t = Trades()
    t.ledger.add_lot("B", "ACME", us(2025, 1, 10), 100)  # B's own purchase from the issuer, locked
    t.ledger.add_lot("A", "ACME", ISSUED, 300)
    t.ledger.add_lot("A", "ACME", us(2024, 10, 1), 200)
    assert t.unlocked("B", FREE) == 0  # prime the unlocked count before the earlier lot arrives
    t.trade("A", "B", 400, us(2025, 2, 1))  # A delivers its earliest lots: 300 + 100 of the second
    assert t.lots("A") == [(us(2024, 10, 1), 100)]
    assert t.lots("B") == [(ISSUED, 300), (us(2024, 10, 1), 100), (us(2025, 1, 10), 100)]
    assert t.unlocked("B", FREE) == 300
    assert t.unlocked("B", us(2025, 4, 1)) == 400
    assert t.unlocked("B", us(2025, 7, 10)) == 500
    t.trade("B", "C", 350, us(2025, 7, 11))  # B sells the earliest tacking dates first
    assert t.lots("C") == [(ISSUED, 300), (us(2024, 10, 1), 50)]


# ---------------------------------------------------------------- Rule 144(e)


@pytest.mark.parametrize(
    "outstanding, limit",
    [(None, None), (99, 0), (100, 1), (1_000_000, 10_000), (1_000_099, 10_000), (1_000_100, 10_001)],
)
def test_the_affiliate_limit_is_one_percent_of_outstanding(outstanding, limit):
    assert affiliate_volume_limit(Security("ACME", "Acme", Decimal("0.01"), 1, outstanding=outstanding)) == limit


@pytest.mark.parametrize(
    "now, start",
    [
        (us(2026, 3, 10, 15), us(2025, 12, 10)),
        (us(2026, 5, 31, 12), us(2026, 2, 28)),  # May 31 - 3 months: Feb 28
        (us(2024, 5, 31), us(2024, 2, 29)),  # ... in a leap year Feb 29
        (us(2026, 1, 1), us(2025, 10, 1)),
    ],
)
def test_the_three_months_window(now, start):
    assert volume_window_start_us(now) == start


def test_affiliate_sales_count_until_they_leave_the_window_and_busted_ones_never():
    led = Ledger()
    led.add_unsettled(Unsettled(1, "ACME", "B", "AFF", 300, Decimal(300), us(2026, 1, 5), AFFILIATE))
    led.add_unsettled(Unsettled(2, "ACME", "B", "AFF", 200, Decimal(200), us(2026, 2, 5), AFFILIATE))
    led.add_unsettled(Unsettled(3, "ACME", "B", "X", 900, Decimal(900), us(2026, 2, 5)))  # not an affiliate
    assert led.sold_since("AFF", "ACME", volume_window_start_us(us(2026, 4, 5))) == 500
    assert led.sold_since("AFF", "ACME", volume_window_start_us(us(2026, 4, 6))) == 200  # the first left
    led.bust(2)
    assert led.sold_since("AFF", "ACME", volume_window_start_us(us(2026, 4, 6))) == 0
    assert led.sold_since("X", "ACME", 0) == 0


# ---------------------------------------------------------------- Reg CF 227.501

CF = Security("CROWD", "Crowd", Decimal("0.01"), 1, Offering.REG_CF, issue_date=date(2025, 3, 11))
ACCREDITED = Account("ACC", "BRKA", "Accredited", "US", True)
STRANGER = Account("NEW", "BRKA", "Stranger", "US", False)
TODAY = date(2026, 3, 10)


@pytest.mark.parametrize(
    "buyer, seller, role, family, exception",
    [
        (ACCREDITED, "H-1", None, frozenset(), "accredited investor"),
        (
            Account("EXP", "BRKA", "Lapsed", "US", True, accreditation_expires=date(2026, 3, 9)),
            "H-1",
            None,
            frozenset(),
            None,
        ),
        (
            Account("CUR", "BRKA", "Current", "US", True, accreditation_expires=TODAY),
            "H-1",
            None,
            frozenset(),
            "accredited investor",
        ),
        (STRANGER, "H-1", ISSUER, frozenset(), "issuer"),
        (STRANGER, "H-1", AFFILIATE, frozenset(), None),  # an affiliate is not the issuer
        (STRANGER, "H-1", None, frozenset({"H-1"}), "family of the purchaser"),
        (STRANGER, "H-1", None, frozenset({"H-2"}), None),  # family of someone else
        (STRANGER, None, None, frozenset({"H-1"}), None),  # seller not known yet
        (STRANGER, "H-1", None, frozenset(), None),  # a non-accredited stranger
    ],
)
def test_reg_cf_transferees(buyer, seller, role, family, exception):
    assert reg_cf_transferee(buyer, seller, TODAY, role, family) == exception


@pytest.mark.parametrize(
    "sec, until",
    [
        (CF, date(2026, 3, 11)),  # one year from issuance, not from each purchase
        (Security("C", "C", Decimal("0.01"), 1, Offering.REG_CF, issue_date=date(2024, 2, 29)), date(2025, 2, 28)),
        (Security("C", "C", Decimal("0.01"), 1, Offering.REG_CF), date.max),  # issue date unknown
        (SECURITY, None),  # not Reg CF
    ],
)
def test_reg_cf_year(sec, until):
    assert reg_cf_restricted_until(sec) == until


# ---------------------------------------------------------------- Reg S Rule 903


def reg_s(**kw) -> Security:
    return Security("RS", "Reg S", Decimal("0.01"), 1, Offering.REG_S, **kw)


CLOSING = date(2025, 8, 31)


@pytest.mark.parametrize(
    "sec, us_from",
    [
        (reg_s(reg_s_category=1, issue_date=CLOSING), None),
        (reg_s(reg_s_category=2, issue_date=CLOSING), date(2025, 10, 10)),  # 40 days
        (reg_s(reg_s_category=3, debt=True, issue_date=CLOSING), date(2025, 10, 10)),
        (reg_s(reg_s_category=3, issuer_reporting=True, issue_date=CLOSING), date(2026, 2, 28)),  # 6 months
        (reg_s(reg_s_category=3, issue_date=CLOSING), date(2026, 8, 31)),  # one year
        (reg_s(reg_s_category=3, issue_date=date(2024, 2, 29)), date(2025, 2, 28)),
        (reg_s(reg_s_category=3), date.max),  # no closing on record
        (reg_s(reg_s_category=2, issue_date=CLOSING, us_buyers_from=date(2026, 1, 1)), date(2026, 1, 1)),
        (reg_s(us_buyers_from=date(2026, 1, 1)), date(2026, 1, 1)),  # the explicit date alone
        (Security("X", "X", Decimal("0.01"), 1, reg_s_category=3, issue_date=CLOSING), None),  # not Reg S
    ],
)
def test_reg_s_distribution_compliance_period(sec, us_from):
    assert reg_s_period_end(sec) == us_from


def test_months_after_is_the_day_start_of_the_clamped_date():
    assert months_after(us(2023, 8, 31, 23, 59, 59), 6) == us(2024, 2, 29)
    assert months_after(us(2023, 8, 31), 6) - us(2023, 8, 31) == 182 * DAY_US


def test_the_core_loads_an_affiliates_final_sales_and_its_unsettled_ones():
    from venue.book.fast import FastBook
    from venue.calendar import parse_calendar
    from venue.core import IdCounters, VenueCore
    from venue.model import World

    world = World({}, {}, {}, {"ACME": SECURITY})
    core = VenueCore(world, lambda _s: parse_calendar({"timezone": "UTC"}), FastBook, IdCounters())
    row = dict(symbol="ACME", buy_account="B", sell_account="AFF", price="10.00", seller_role="affiliate")
    core.load_positions(
        [],
        [{"account_id": "B", "symbol": "ACME", "quantity": 5, "acquired_us": 7, "tacking_us": 3}],
        [
            dict(row, trade_id=1, qty=100, executed_us=us(2026, 1, 5), settlement_status="final"),
            dict(row, trade_id=2, qty=50, executed_us=us(2026, 2, 5), settlement_status="pending"),
        ],
    )
    assert core.ledger.sold_since("AFF", "ACME", us(2026, 1, 1)) == 150
    assert list(core.ledger.unsettled) == [2]  # the final one holds nothing
    assert core.ledger.unsettled[2].seller_role is AFFILIATE and not core.ledger.unsettled[2].buyer_tacks
    assert list(core.ledger.lots[("B", "ACME")]) == [(3, 5)]  # lots load by their tacking date
