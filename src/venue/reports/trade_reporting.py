"""Trade reporting (FINRA Rule 6610-style): a report per trade, and a cancel report per busted trade.

Every trade is reported once (`action` "new"): the ATS identifier, the reporting side (the sell
side's member, as FINRA Rule 6622(b)(2) has the sell side report a trade between two members) and
the contra side (the buy side), each side's OrderCapacity(528), the execution time in
microseconds, and the trade modifier (FINRA trade modifier 3):

| executed                                   | reported within 10 s | reported later |
|--------------------------------------------|----------------------|----------------|
| in the security's regular session          | (none)               | `Z`            |
| outside it (the calendar's phase not open) | `T`                  | `U`            |

A report made more than 10 seconds after the execution is late (10 s exactly is on time). A trade
the venue busted (settlement failed, ExecType H sent) gets a second row, `action` "cancel", that
references the first (`ref_report_id`) and carries the time of the bust (`bust_us`); its lateness is
counted from the bust. Rows are never changed (the store refuses an UPDATE): a cancel is a new row.

`report_trades` makes every report still due; the scheduler runs it every second and `venue report
trades` runs it before listing. Two reporters racing cannot both write a report: (trade id, action)
is the report's key.
"""

from __future__ import annotations

from collections.abc import Callable

from venue.calendar import SessionPhase, TradingCalendar
from venue.reports import store as rs
from venue.reports.periods import utc_text
from venue.reports.writers import Report, Section
from venue.store.repository import Store

LATE_AFTER_US = 10_000_000
NEW, CANCEL = "new", "cancel"
SELL, BUY = "S", "B"  # sides as FINRA trade reports write them
TRADE_REPORT_COLUMNS = (
    "report_id",
    "action",
    "ref_report_id",
    "ats_id",
    "trade_id",
    "symbol",
    "qty",
    "price",
    "reporting_member",
    "reporting_side",
    "reporting_capacity",
    "contra_member",
    "contra_side",
    "contra_capacity",
    "buy_member",
    "sell_member",
    "executed_us",
    "executed_utc",
    "modifier",
    "bust_us",
    "bust_utc",
    "reported_us",
    "reported_utc",
    "delay_us",
    "late",
    "settlement_status",
)
_ATTEMPTS = 5


def is_late(delay_us: int) -> bool:
    """More than 10 seconds: exactly 10 s is on time."""
    return delay_us > LATE_AFTER_US


def outside_regular_hours(calendar: TradingCalendar, executed_us: int) -> bool:
    """The security's calendar was not in its open session at the execution."""
    return calendar.phase_at(executed_us)[0] is not SessionPhase.OPEN


def modifier(late: bool, outside_hours: bool) -> str:
    """FINRA trade modifier 3: T (outside regular hours), U (outside and late), Z (late); "" none."""
    if outside_hours:
        return "U" if late else "T"
    return "Z" if late else ""


def report_id(trade_id: int, action: str) -> str:
    return f"T{trade_id}" if action == NEW else f"T{trade_id}-C"


def trade_report(trade: dict, reported_us: int, ats_id: str, calendar: TradingCalendar) -> dict:
    """The report of `trade` (a trades row with `buy_capacity` and `sell_capacity`) made at
    `reported_us`."""
    delay = reported_us - trade["executed_us"]
    late = is_late(delay)
    return {
        "trade_id": trade["trade_id"],
        "action": NEW,
        "report_id": report_id(trade["trade_id"], NEW),
        "ref_report_id": None,
        "ats_id": ats_id,
        "symbol": trade["symbol"],
        "qty": trade["qty"],
        "price": trade["price"],
        "buy_member": trade["buy_member"],
        "sell_member": trade["sell_member"],
        "reporting_member": trade["sell_member"],
        "reporting_side": SELL,
        "reporting_capacity": trade.get("sell_capacity"),
        "contra_member": trade["buy_member"],
        "contra_side": BUY,
        "contra_capacity": trade.get("buy_capacity"),
        "modifier": modifier(late, outside_regular_hours(calendar, trade["executed_us"])),
        "executed_us": trade["executed_us"],
        "bust_us": None,
        "reported_us": reported_us,
        "delay_us": delay,
        "late": late,
    }


def cancel_report(original: dict, bust_us: int, reported_us: int) -> dict:
    """The cancel of the report `original` (a trade_reports row) for a bust at `bust_us`, made at
    `reported_us`: the original's fields, a report id of its own, and the time of the bust."""
    delay = reported_us - bust_us
    return {
        **{c.name: original.get(c.name) for c in rs.trade_reports.c},
        "action": CANCEL,
        "report_id": report_id(original["trade_id"], CANCEL),
        "ref_report_id": original["report_id"],
        "bust_us": bust_us,
        "reported_us": reported_us,
        "delay_us": delay,
        "late": is_late(delay),
    }


def report_trades(
    store: Store, now_us: int, *, ats_id: str, calendar_for: Callable[[str], TradingCalendar]
) -> list[dict]:
    """Report every unreported trade at `now_us`, then cancel the reports of busted trades; returns
    the reports made (late ones flagged). `ats_id`: the venue's identifier on the reports;
    `calendar_for`: a security's trading calendar (its regular hours)."""
    made = _insert(
        store,
        lambda: [trade_report(tr, now_us, ats_id, calendar_for(tr["symbol"])) for tr in rs.unreported_trades(store)],
    )
    return made + _insert(store, lambda: [cancel_report(r, r["bust_us"], now_us) for r in rs.busts_to_report(store)])


def _insert(store: Store, due: Callable[[], list[dict]]) -> list[dict]:
    for _ in range(_ATTEMPTS):
        reports = due()
        if rs.insert_trade_reports(store, reports):
            return reports
    raise RuntimeError("trade reports: another reporter kept winning the same trades")


def trade_reports_report(rows: list[dict], generated_us: int, late_only: bool) -> Report:
    out = [
        {
            **r,
            "executed_utc": utc_text(r["executed_us"]),
            "bust_utc": utc_text(r["bust_us"]),
            "reported_utc": utc_text(r["reported_us"]),
        }
        for r in rows
    ]
    return Report(
        "trade-reports",
        {
            "late_after_us": LATE_AFTER_US,
            "late_only": late_only,
            "reports": len(out),
            "cancels": sum(1 for r in out if r["action"] == CANCEL),
            "late": sum(1 for r in out if r["late"]),
            "generated_us": generated_us,
            "generated_utc": utc_text(generated_us),
        },
        {"reports": Section(TRADE_REPORT_COLUMNS, tuple(out))},
    )
