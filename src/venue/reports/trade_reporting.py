"""Trade reporting (FINRA Rule 6610-style): one trade report per trade, with its report time.

A report made more than 10 seconds after the trade's execution is flagged late (10 s exactly is on
time). `report_trades` reports every trade that has none yet; the scheduler runs it every second
and `venue report trades` runs it before listing. A trade has one report, whoever makes it: two
reporters racing on the same trade cannot both write (the trade id is the report's key).
"""

from __future__ import annotations

from venue.reports import store as rs
from venue.reports.periods import utc_text
from venue.reports.writers import Report, Section
from venue.store.repository import Store

LATE_AFTER_US = 10_000_000
TRADE_REPORT_COLUMNS = ("trade_id", "symbol", "qty", "price", "buy_member", "sell_member", "executed_us",
                        "executed_utc", "reported_us", "reported_utc", "delay_us", "late", "settlement_status")
_ATTEMPTS = 5


def trade_report(trade: dict, reported_us: int) -> dict:
    """The report of `trade` made at `reported_us`."""
    delay = reported_us - trade["executed_us"]
    return {"trade_id": trade["trade_id"], "symbol": trade["symbol"], "qty": trade["qty"], "price": trade["price"],
            "buy_member": trade["buy_member"], "sell_member": trade["sell_member"],
            "executed_us": trade["executed_us"], "reported_us": reported_us, "delay_us": delay,
            "late": delay > LATE_AFTER_US}


def report_trades(store: Store, now_us: int) -> list[dict]:
    """Report every unreported trade at `now_us`; returns the reports made (late ones flagged)."""
    for _ in range(_ATTEMPTS):
        reports = [trade_report(tr, now_us) for tr in rs.unreported_trades(store)]
        if rs.insert_trade_reports(store, reports):
            return reports
    raise RuntimeError("trade reports: another reporter kept winning the same trades")


def trade_reports_report(rows: list[dict], generated_us: int, late_only: bool) -> Report:
    out = [{**r, "executed_utc": utc_text(r["executed_us"]), "reported_utc": utc_text(r["reported_us"])}
           for r in rows]
    return Report("trade-reports", {
        "late_after_us": LATE_AFTER_US, "late_only": late_only, "reports": len(out),
        "late": sum(1 for r in out if r["late"]), "generated_us": generated_us,
        "generated_utc": utc_text(generated_us)},
        {"reports": Section(TRADE_REPORT_COLUMNS, tuple(out))})
