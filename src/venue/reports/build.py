"""Each report made from the store for its period: what the CLI and the scheduler call.

`tz` is the venue's time zone (the default trading calendar's): periods are its local days,
weeks and quarters. `ats_id` is the venue's identifier on the reports: its FIX CompID (the config
has no separate MPID).
"""

from __future__ import annotations

from datetime import date

from venue.calendar import TradingCalendar
from venue.reports import store as rs
from venue.reports.audit import audit_report
from venue.reports.cat import cat_report
from venue.reports.periods import (
    ats_r_due,
    day_period,
    finra_4552_due,
    quarter_period,
    week_period,
)
from venue.reports.regulatory import ats_r_report, finra_4552_report
from venue.reports.trade_reporting import trade_reports_report
from venue.reports.writers import Report
from venue.store.repository import Store


def audit_trail(store: Store, day: date | str, tz: str, now_us: int) -> Report:
    """Rule 302 order audit trail and daily summary of a local day."""
    period = day_period(day, tz)
    return audit_report(period, rs.order_events(store, period.start_us, period.end_us), rs.securities(store), now_us)


def cat_export(store: Store, day: date | str, tz: str, now_us: int, *, ats_id: str) -> Report:
    """CAT-style order events of a local day, with the day's recorded clock-sync state; `ats_id`
    names the reporter (the venue's CompID)."""
    period = day_period(day, tz)
    return cat_report(
        period,
        rs.order_events(store, period.start_us, period.end_us),
        rs.clock_sync_between(store, period.start_us, period.end_us),
        ats_id,
        now_us,
    )


def ats_r(store: Store, quarter: str, tz: str, now_us: int) -> Report:
    """Form ATS-R content of a quarter `YYYYQn`."""
    q = quarter_period(quarter, tz)
    return ats_r_report(
        q,
        ats_r_due(q),
        rs.trades_between(store, q.start_us, q.end_us),
        rs.securities(store),
        rs.members(store),
        rs.affiliations(store),
        rs.access_log_between(store, q.start_us, q.end_us),
        now_us,
    )


def finra_4552(store: Store, week: str, calendar: TradingCalendar, now_us: int) -> Report:
    """FINRA Rule 4552 weekly volume of an ISO week `YYYY-Www`."""
    w = week_period(week, calendar.timezone)
    return finra_4552_report(w, finra_4552_due(w, calendar), rs.trades_between(store, w.start_us, w.end_us), now_us)


def trade_reports(store: Store, now_us: int, late_only: bool = False) -> Report:
    """The trade reports made so far (optionally only the late ones)."""
    return trade_reports_report(rs.trade_report_rows(store, late_only=late_only), now_us, late_only)
