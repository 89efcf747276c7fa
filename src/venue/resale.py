"""Resale restrictions as the rules write them: Rule 144 holding periods with tacking, the Rule
144(e) volume limit for affiliates, Reg CF's one-year transfer restriction (17 CFR 227.501) and
Reg S distribution compliance periods (Rule 903). Pure functions of dates and reference data; the
gates (`venue.gates`) and the ledger (`venue.ledger`) call them, and `spec/compliance.md` cites the
rule text next to each.

Calendar convention (one for every period in this module): a period of N calendar months that
runs from a date D is complete at the start (00:00 UTC) of the day N months after D, the
day-of-month clamped to the last day of that month. Aug 31 + 6 months -> Feb 28 (Feb 29 in a leap
year); Feb 29 + 12 months -> Feb 28. A period of N days from D is complete at the start of D + N
days. Dates are UTC dates, as everywhere in the venue.
"""

from __future__ import annotations

import calendar
from datetime import date, timedelta

from venue.clock import day_start_us, utc_date
from venue.model import Account, IssuerRole, Offering, Security

US_PERIOD_DAYS_REG_S = 40  # Rule 903(b)(2), (b)(3)(iii)(B) debt: 40-day distribution compliance period
REPORTING_MONTHS = 6  # Rule 144(d)(1)(i): issuer reporting for at least 90 days
NON_REPORTING_MONTHS = 12  # Rule 144(d)(1)(ii)
REG_CF_MONTHS = 12  # 227.501(a): one year from issuance
VOLUME_WINDOW_MONTHS = 3  # Rule 144(e)(1): "within the preceding three months"


# ---------------------------------------------------------------- the calendar


def add_months(d: date, months: int) -> date:
    """`d` moved by whole calendar months, the day clamped to the end of the target month."""
    years, month0 = divmod(d.month - 1 + months, 12)
    year, month = d.year + years, month0 + 1
    return date(year, month, min(d.day, calendar.monthrange(year, month)[1]))


def months_after(start_us: int, months: int) -> int:
    """When a period of `months` calendar months that runs from the instant `start_us` is complete."""
    return day_start_us(add_months(utc_date(start_us), months))


# ---------------------------------------------------------------- Rule 144(d): holding period


def holding_period_months(sec: Security) -> int | None:
    """Rule 144(d)(1): 6 months for a reporting issuer's restricted securities, 12 otherwise; None
    when the security is not a restricted security."""
    if not sec.restricted:
        return None
    return REPORTING_MONTHS if sec.issuer_reporting else NON_REPORTING_MONTHS


def release_us(tacking_us: int, months: int) -> int:
    """When a lot whose holding period runs from `tacking_us` may be resold (Rule 144(d))."""
    return months_after(tacking_us, months)


def buyer_tacks(seller_role: IssuerRole | None) -> bool:
    """Does the buyer's lot keep the seller's tacking date? Rule 144(d)(1) runs the period from
    "the later of the date of the acquisition of the securities from the issuer, or from an
    affiliate of the issuer" to a resale "for the account of either the acquiror or any subsequent
    holder": a purchase from any other holder keeps the seller's date (tacking); one from the
    issuer or an affiliate starts a new period at the trade."""
    return seller_role is None


def buyer_lots(
    pieces: list[tuple[int, int]], qty: int, executed_us: int, seller_role: IssuerRole | None
) -> list[tuple[int, int]]:
    """The lots a settled purchase of `qty` gives the buyer, (tacking_us, qty) each: the pieces of
    the seller's lots it delivered, with their tacking dates, when the buyer tacks; else one lot
    tacking from the execution. What the seller's lots did not cover (a ledger short of the chain)
    tacks from the execution too."""
    if not buyer_tacks(seller_role):
        return [(executed_us, qty)]
    short = qty - sum(q for _, q in pieces)
    return [*pieces, (executed_us, short)] if short > 0 else list(pieces)


# ---------------------------------------------------------------- Rule 144(e): volume limit


def affiliate_volume_limit(sec: Security) -> int | None:
    """The most an affiliate may sell in three months (Rule 144(e)(1)(i)): 1% of the units of the
    class outstanding. The alternative measures (average weekly volume on exchanges or reported
    through a registered association's system, 144(e)(1)(ii)-(iii)) do not exist for a security
    traded only on this ATS, so the limit is 1% of outstanding. None: outstanding not known."""
    if sec.outstanding is None:
        return None
    return sec.outstanding // 100


def volume_window_start_us(now_us: int) -> int:
    """The start of the three months a Rule 144(e) sale counts against: 00:00 UTC of the day three
    calendar months before today (today's sales and those of the preceding three months count)."""
    return day_start_us(add_months(utc_date(now_us), -VOLUME_WINDOW_MONTHS))


# ---------------------------------------------------------------- Reg CF: 227.501


def reg_cf_restricted_until(sec: Security) -> date | None:
    """The first day a Reg CF security may be transferred to anyone (227.501(a): one year from
    issuance); None if the security is not a Reg CF security. An unknown issue date restricts
    indefinitely (the venue cannot tell when the year ends)."""
    if sec.offering is not Offering.REG_CF:
        return None
    if sec.issue_date is None:
        return date.max
    return add_months(sec.issue_date, REG_CF_MONTHS)


def reg_cf_transferee(
    buyer: Account, seller_id: str | None, today: date, role: IssuerRole | None, family: frozenset[str]
) -> str | None:
    """Which exception of 227.501(a) lets `buyer` take Reg CF securities from `seller_id` (None: the
    seller is not known yet), or None when none does: (1) the issuer; (2) an accredited investor
    (current accreditation); (4) a member of the purchaser's family (a declared family link,
    `family` being the buyer's linked accounts). (3), a registered offering, never happens on the
    venue."""
    if role is IssuerRole.ISSUER:
        return "issuer"
    if buyer.accredited and (buyer.accreditation_expires is None or buyer.accreditation_expires >= today):
        return "accredited investor"
    if seller_id is not None and seller_id in family:
        return "family of the purchaser"
    return None


# ---------------------------------------------------------------- Reg S: Rule 903


def reg_s_period_end(sec: Security) -> date | None:
    """The first day a Reg S security may be offered or sold to a US person: the end of its
    distribution compliance period (Rule 903(b)), counted from the closing (`issue_date`, Rule
    902(f)), or `us_buyers_from` when that is later. Category 1: none; 2: 40 days; 3: 40 days for
    debt, 6 months (reporting issuer) or 1 year (non-reporting) for equity. A category 2 or 3
    security without an issue date is closed to US persons (the period cannot be known)."""
    ends = [sec.us_buyers_from] if sec.us_buyers_from is not None else []
    category = sec.reg_s_category if sec.offering is Offering.REG_S else None
    if category in (2, 3):
        if sec.issue_date is None:
            return date.max
        if category == 2 or sec.debt:
            ends.append(sec.issue_date + timedelta(days=US_PERIOD_DAYS_REG_S))
        else:
            months = REPORTING_MONTHS if sec.issuer_reporting else NON_REPORTING_MONTHS
            ends.append(add_months(sec.issue_date, months))
    return max(ends) if ends else None
