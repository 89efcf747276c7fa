"""CAT-style order event export for a trading day: a pure function of journal rows.

One row per event, in the order the venue processed them:
- `new`    (CAT MEOA, order accepted): the venue accepted an order (ExecType 0);
- `modify` (MEOM): a cancel/replace took effect (ExecType 5), with the new price and quantity;
- `cancel` (MEOC): an order was canceled (ExecType 4) or expired (ExecType C, cancel_reason
  "expired"), its remaining quantity gone;
- `trade`  (MEOT): one row per trade (a cross of a buy and a sell order), both sides on the row.
Route events (MEOR) do not apply: the venue matches every order itself and routes none out.
Refused orders were never accepted and are not order events here (they are in the audit trail). A
trade later busted (settlement failed) keeps its trade row, with `busted` true; the bust itself
(ExecType H) is in the audit trail. This is CAT-style, not a CAT submission file.
"""

from __future__ import annotations

from collections.abc import Mapping

from venue.reports.audit import BUSTED
from venue.reports.periods import Period, utc_text
from venue.reports.writers import Report, Section

CAT_COLUMNS = ("record_seq", "event_type", "cat_event", "event_timestamp", "event_timestamp_us", "order_id",
               "cl_ord_id", "orig_cl_ord_id", "member", "account", "symbol", "side", "ord_type", "price",
               "quantity", "leaves_qty", "tif", "expire_timestamp", "received_timestamp", "cancel_reason",
               "trade_id", "trade_qty", "trade_price", "buy_order_id", "sell_order_id", "buy_member",
               "sell_member", "busted")
_ORDER_EVENTS = {"0": ("new", "MEOA"), "5": ("modify", "MEOM"), "4": ("cancel", "MEOC"), "C": ("cancel", "MEOC")}


def cat_events(orders: Mapping[int, dict], executions: list[dict], trades: list[dict]) -> list[dict]:
    """The day's new/modify/cancel/trade events, numbered from 1."""
    keyed: list[tuple[tuple, dict]] = []
    first_fill: dict[int, int] = {}
    for e in executions:
        if e["exec_type"] == "F" and e["trade_id"] is not None:
            first_fill[e["trade_id"]] = min(first_fill.get(e["trade_id"], e["exec_id"]), e["exec_id"])
        if e["exec_type"] not in _ORDER_EVENTS or e["order_id"] is None:
            continue
        kind, code = _ORDER_EVENTS[e["exec_type"]]
        order = orders.get(e["order_id"], {})
        keyed.append(((e["transact_us"], e["exec_id"]), {
            "event_type": kind, "cat_event": code, "event_timestamp_us": e["transact_us"],
            "order_id": e["order_id"], "cl_ord_id": e["cl_ord_id"], "orig_cl_ord_id": e["orig_cl_ord_id"],
            "member": order.get("member_id"), "account": e["account"], "symbol": e["symbol"], "side": e["side"],
            "ord_type": order.get("ord_type"), "price": e["price"], "quantity": e["order_qty"],
            "leaves_qty": e["leaves"], "tif": order.get("tif"),
            "expire_timestamp": utc_text(order.get("expire_at_us")),
            "received_timestamp": utc_text(order.get("created_us")),
            "cancel_reason": ("expired" if e["exec_type"] == "C" else e["text"]) if kind == "cancel" else None}))
    for tr in trades:
        keyed.append(((tr["executed_us"], first_fill.get(tr["trade_id"], 1 << 62)), {
            "event_type": "trade", "cat_event": "MEOT", "event_timestamp_us": tr["executed_us"],
            "symbol": tr["symbol"], "trade_id": tr["trade_id"], "trade_qty": tr["qty"], "trade_price": tr["price"],
            "buy_order_id": tr["buy_order_id"], "sell_order_id": tr["sell_order_id"],
            "buy_member": tr["buy_member"], "sell_member": tr["sell_member"],
            "busted": tr["settlement_status"] == BUSTED}))
    keyed.sort(key=lambda kv: kv[0])
    return [{c: row.get(c) for c in CAT_COLUMNS} | {"record_seq": i,
                                                    "event_timestamp": utc_text(row["event_timestamp_us"])}
            for i, (_, row) in enumerate(keyed, start=1)]


def cat_report(period: Period, events, generated_us: int) -> Report:
    """The CAT-style export of `period` (a `store.OrderEvents`)."""
    rows = cat_events(events.orders, events.executions, events.trades)
    return Report("cat-order-events", {
        "day": period.label, "time_zone": period.tz, "timestamps": "UTC, microseconds",
        "generated_us": generated_us, "generated_utc": utc_text(generated_us), "events": len(rows)},
        {"events": Section(CAT_COLUMNS, tuple(rows))})
