"""Order audit trail (Reg ATS Rule 302) and the daily trading summary: pure functions of journal rows.

The trail lists every order event of the period in time order: each gate decision on a new order
(pass or reject, with the values the gates used), and each execution report the venue sent (new,
replaced, canceled, expired, rejected, trade, trade cancel), and each refused cancel or replace.
Answers to order status requests (ExecType I) are not order events and are left out.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from venue.reports.periods import Period, utc_text
from venue.reports.writers import Report, Section

EVENT_OF_EXEC_TYPE = {
    "0": "new",
    "4": "canceled",
    "5": "replaced",
    "8": "rejected",
    "C": "expired",
    "F": "trade",
    "H": "trade_cancel",
}
BUSTED = "failed"  # settlement status of a busted trade

AUDIT_COLUMNS = (
    "event_time_us",
    "event_time_utc",
    "event",
    "order_id",
    "cl_ord_id",
    "orig_cl_ord_id",
    "comp_id",
    "member",
    "account",
    "symbol",
    "side",
    "ord_type",
    "order_capacity",
    "limit_price",
    "order_qty",
    "tif",
    "expire_at_us",
    "received_us",
    "last_qty",
    "last_px",
    "leaves",
    "cum",
    "trade_id",
    "exec_id",
    "reason_code",
    "text",
    "gate_inputs",
)
SUMMARY_COLUMNS = ("day", "symbol", "currency", "trades", "quantity", "dollar_value", "busted_trades")


def _order_fields(order: dict | None) -> dict:
    if order is None:
        return {"ord_type": None, "tif": None, "expire_at_us": None, "received_us": None, "order_capacity": None}
    return {
        "ord_type": order["ord_type"],
        "tif": order["tif"],
        "expire_at_us": order["expire_at_us"],
        "received_us": order["created_us"],
        "order_capacity": order.get("capacity"),
    }


def audit_trail(
    orders: Mapping[int, dict],
    executions: list[dict],
    gate_decisions: list[dict],
    cancel_rejects: list[dict],
    session_members: Mapping[str, str | None],
) -> list[dict]:
    """Every order event, oldest first; at the same microsecond a gate decision comes before the
    reports it led to, and reports in ExecID order."""
    keyed: list[tuple[tuple, dict]] = []
    for g in gate_decisions:
        order = orders.get(g["order_id"]) if g["order_id"] is not None else None
        keyed.append(
            (
                (g["at_us"], 0, g["id"]),
                {
                    "event_time_us": g["at_us"],
                    "event": f"gate_{g['outcome']}",
                    "order_id": g["order_id"],
                    "cl_ord_id": g["cl_ord_id"],
                    "orig_cl_ord_id": None,
                    "comp_id": g["comp_id"],
                    "member": order["member_id"] if order else session_members.get(g["comp_id"]),
                    "account": g["account"],
                    "symbol": g["symbol"],
                    "side": g["side"],
                    **_order_fields(order),
                    "limit_price": g["price"],
                    "order_qty": g["qty"],
                    "last_qty": None,
                    "last_px": None,
                    "leaves": None,
                    "cum": None,
                    "trade_id": None,
                    "exec_id": None,
                    "reason_code": g["gate"],
                    "text": g["text"],
                    "gate_inputs": g["inputs"],
                },
            )
        )
    for e in executions:
        order = orders.get(e["order_id"]) if e["order_id"] is not None else None
        keyed.append(
            (
                (e["transact_us"], 1, e["exec_id"]),
                {
                    "event_time_us": e["transact_us"],
                    "event": EVENT_OF_EXEC_TYPE.get(e["exec_type"], e["exec_type"]),
                    "order_id": e["order_id"],
                    "cl_ord_id": e["cl_ord_id"],
                    "orig_cl_ord_id": e["orig_cl_ord_id"],
                    "comp_id": e["comp_id"],
                    "member": order["member_id"] if order else session_members.get(e["comp_id"]),
                    "account": e["account"],
                    "symbol": e["symbol"],
                    "side": e["side"],
                    **_order_fields(order),
                    "limit_price": e["price"],
                    "order_qty": e["order_qty"],
                    "last_qty": e["last_qty"],
                    "last_px": e["last_px"],
                    "leaves": e["leaves"],
                    "cum": e["cum"],
                    "trade_id": e["trade_id"],
                    "exec_id": e["exec_id"],
                    "reason_code": e["venue_reason"],
                    "text": e["text"],
                    "gate_inputs": None,
                },
            )
        )
    for c in cancel_rejects:
        order = orders.get(c["order_id"]) if c["order_id"] is not None else None
        keyed.append(
            (
                (c["transact_us"], 2, c["id"]),
                {
                    "event_time_us": c["transact_us"],
                    "event": "replace_refused" if c["response_to"] == "2" else "cancel_refused",
                    "order_id": c["order_id"],
                    "cl_ord_id": c["cl_ord_id"],
                    "orig_cl_ord_id": c["orig_cl_ord_id"],
                    "comp_id": c["comp_id"],
                    "member": order["member_id"] if order else session_members.get(c["comp_id"]),
                    "account": order["account"] if order else None,
                    "symbol": order["symbol"] if order else None,
                    "side": order["side"] if order else None,
                    **_order_fields(order),
                    "limit_price": None,
                    "order_qty": None,
                    "last_qty": None,
                    "last_px": None,
                    "leaves": None,
                    "cum": None,
                    "trade_id": None,
                    "exec_id": None,
                    "reason_code": str(c["reason"]),
                    "text": c["text"],
                    "gate_inputs": None,
                },
            )
        )
    keyed.sort(key=lambda kv: kv[0])
    return [{**row, "event_time_utc": utc_text(row["event_time_us"])} for _, row in keyed]


def dollar_value(trade: dict) -> Decimal:
    """Price (decimal text) x quantity, exact."""
    return Decimal(trade["price"]) * trade["qty"]


def daily_summary(day: str, trades: list[dict], securities: Mapping[str, dict]) -> list[dict]:
    """Per security traded: number of trades, quantity and dollar value (in the security's
    currency), busted trades left out and counted apart."""
    out: dict[str, dict] = {}
    for tr in trades:
        row = out.setdefault(
            tr["symbol"],
            {
                "day": day,
                "symbol": tr["symbol"],
                "currency": securities.get(tr["symbol"], {}).get("currency"),
                "trades": 0,
                "quantity": 0,
                "dollar_value": Decimal(0),
                "busted_trades": 0,
            },
        )
        if tr["settlement_status"] == BUSTED:
            row["busted_trades"] += 1
            continue
        row["trades"] += 1
        row["quantity"] += tr["qty"]
        row["dollar_value"] += dollar_value(tr)
    return [{**r, "dollar_value": str(r["dollar_value"])} for _, r in sorted(out.items())]


def audit_report(period: Period, events, securities: Mapping[str, dict], generated_us: int) -> Report:
    """The order audit trail and the daily summary of `period` (a `store.OrderEvents`)."""
    rows = audit_trail(
        events.orders, events.executions, events.gate_decisions, events.cancel_rejects, events.session_members
    )
    summary = daily_summary(period.label, events.trades, securities)
    return Report(
        "order-audit-trail",
        {
            "day": period.label,
            "time_zone": period.tz,
            "period_start_us": period.start_us,
            "period_end_us": period.end_us,
            "generated_us": generated_us,
            "generated_utc": utc_text(generated_us),
            "events": len(rows),
        },
        {"events": Section(AUDIT_COLUMNS, tuple(rows)), "summary": Section(SUMMARY_COLUMNS, tuple(summary))},
    )
