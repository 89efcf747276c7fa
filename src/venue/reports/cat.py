"""CAT-style order event export for a trading day: a pure function of journal rows.

One row per event, in the order the venue processed them:
- `new`    (CAT MEOA, order accepted): the venue accepted an order (ExecType 0);
- `modify` (MEOM): a cancel/replace took effect (ExecType 5), with the new price and quantity;
- `cancel` (MEOC): an order was canceled (ExecType 4) or expired (ExecType C, cancel_reason
  "expired"), its remaining quantity gone;
- `trade`  (MEOT): one row per trade (a cross of a buy and a sell order), both sides on the row;
- `trade_bust` (MEOT canceled): the venue busted a trade (settlement failed, ExecType H to both
  sides), at the time of the bust, with the trade's fields and its execution time.
Route events (MEOR) do not apply: the venue matches every order itself and routes none out.
Refused orders were never accepted and are not order events here (they are in the audit trail).

Identifiers: `member` (and `buy_member`, `sell_member`) is the member's id, used as its Industry
Member ID (the registry keeps no CRD number or separate IMID); `fdid` (`buy_fdid`, `sell_fdid`) is
the investor account's id, used as the Firm Designated ID; `order_capacity` (`buy_capacity`,
`sell_capacity`) is OrderCapacity(528) as the member sent it (empty for orders journaled before it
was captured). The header names the reporter (`ats_id`) and carries the day's recorded clock
synchronization state (`clock_sync`: "recorded" or "not recorded"). This is CAT-style, not a CAT
submission file.
"""

from __future__ import annotations

from collections.abc import Mapping

from venue.reports.audit import BUSTED
from venue.reports.periods import Period, utc_text
from venue.reports.writers import Report, Section

CAT_COLUMNS = (
    "record_seq",
    "event_type",
    "cat_event",
    "event_timestamp",
    "event_timestamp_us",
    "order_id",
    "cl_ord_id",
    "orig_cl_ord_id",
    "member",
    "fdid",
    "order_capacity",
    "symbol",
    "side",
    "ord_type",
    "price",
    "quantity",
    "leaves_qty",
    "tif",
    "expire_timestamp",
    "received_timestamp",
    "cancel_reason",
    "trade_id",
    "trade_timestamp",
    "trade_qty",
    "trade_price",
    "buy_order_id",
    "sell_order_id",
    "buy_member",
    "sell_member",
    "buy_fdid",
    "sell_fdid",
    "buy_capacity",
    "sell_capacity",
    "busted",
)
CLOCK_SYNC_FACTS = (
    "clock_sync",
    "clock_sync_readings",
    "clock_sync_at_utc",
    "clock_synchronized",
    "clock_est_error_us",
    "clock_max_error_us",
    "clock_sync_source",
    "clock_unsynchronized_readings",
)
_ORDER_EVENTS = {"0": ("new", "MEOA"), "5": ("modify", "MEOM"), "4": ("cancel", "MEOC"), "C": ("cancel", "MEOC")}
_TRADE_CANCEL = "H"


def _sides(trade: dict, orders: Mapping[int, dict]) -> dict:
    """A trade's fields, both sides, as a trade or trade_bust row shows them."""
    buy, sell = orders.get(trade["buy_order_id"], {}), orders.get(trade["sell_order_id"], {})
    return {
        "symbol": trade["symbol"],
        "trade_id": trade["trade_id"],
        "trade_timestamp": utc_text(trade["executed_us"]),
        "trade_qty": trade["qty"],
        "trade_price": trade["price"],
        "buy_order_id": trade["buy_order_id"],
        "sell_order_id": trade["sell_order_id"],
        "buy_member": trade["buy_member"],
        "sell_member": trade["sell_member"],
        "buy_fdid": trade["buy_account"],
        "sell_fdid": trade["sell_account"],
        "buy_capacity": buy.get("capacity"),
        "sell_capacity": sell.get("capacity"),
        "busted": trade["settlement_status"] == BUSTED,
    }


def cat_events(
    orders: Mapping[int, dict], executions: list[dict], trades: list[dict], busted: Mapping[int, dict] | None = None
) -> list[dict]:
    """The day's new/modify/cancel/trade/trade_bust events, numbered from 1. `busted`: the trades
    the day's ExecType H reports bust, by trade id."""
    busted = busted or {}
    keyed: list[tuple[tuple, dict]] = []
    first_fill: dict[int, int] = {}
    busts: dict[int, tuple[int, int]] = {}  # trade id -> (time, ExecID) of its first H report
    for e in executions:
        if e["exec_type"] == "F" and e["trade_id"] is not None:
            first_fill[e["trade_id"]] = min(first_fill.get(e["trade_id"], e["exec_id"]), e["exec_id"])
        if e["exec_type"] == _TRADE_CANCEL and e["trade_id"] is not None:
            busts[e["trade_id"]] = min(
                busts.get(e["trade_id"], (e["transact_us"], e["exec_id"])), (e["transact_us"], e["exec_id"])
            )
        if e["exec_type"] not in _ORDER_EVENTS or e["order_id"] is None:
            continue
        kind, code = _ORDER_EVENTS[e["exec_type"]]
        order = orders.get(e["order_id"], {})
        keyed.append(
            (
                (e["transact_us"], e["exec_id"]),
                {
                    "event_type": kind,
                    "cat_event": code,
                    "event_timestamp_us": e["transact_us"],
                    "order_id": e["order_id"],
                    "cl_ord_id": e["cl_ord_id"],
                    "orig_cl_ord_id": e["orig_cl_ord_id"],
                    "member": order.get("member_id"),
                    "fdid": e["account"],
                    "order_capacity": order.get("capacity"),
                    "symbol": e["symbol"],
                    "side": e["side"],
                    "ord_type": order.get("ord_type"),
                    "price": e["price"],
                    "quantity": e["order_qty"],
                    "leaves_qty": e["leaves"],
                    "tif": order.get("tif"),
                    "expire_timestamp": utc_text(order.get("expire_at_us")),
                    "received_timestamp": utc_text(order.get("created_us")),
                    "cancel_reason": ("expired" if e["exec_type"] == "C" else e["text"]) if kind == "cancel" else None,
                },
            )
        )
    for tr in trades:
        keyed.append(
            (
                (tr["executed_us"], first_fill.get(tr["trade_id"], 1 << 62)),
                {
                    "event_type": "trade",
                    "cat_event": "MEOT",
                    "event_timestamp_us": tr["executed_us"],
                    **_sides(tr, orders),
                },
            )
        )
    for trade_id, (at_us, exec_id) in busts.items():
        tr = busted.get(trade_id)
        if tr is None:  # the trade is no longer in the store (purged): nothing to describe it with
            continue
        keyed.append(
            (
                (at_us, exec_id),
                {"event_type": "trade_bust", "cat_event": "MEOT", "event_timestamp_us": at_us, **_sides(tr, orders)},
            )
        )
    keyed.sort(key=lambda kv: kv[0])
    return [
        {c: row.get(c) for c in CAT_COLUMNS} | {"record_seq": i, "event_timestamp": utc_text(row["event_timestamp_us"])}
        for i, (_, row) in enumerate(keyed, start=1)
    ]


def clock_sync_facts(readings: list[dict]) -> dict:
    """The header's clock-synchronization facts from the day's readings (oldest first): the latest
    reading, how many there were and how many found the clock unsynchronized; "not recorded" with
    none."""
    if not readings:
        return dict.fromkeys(CLOCK_SYNC_FACTS) | {"clock_sync": "not recorded", "clock_sync_readings": 0}
    last = readings[-1]
    return {
        "clock_sync": "recorded",
        "clock_sync_readings": len(readings),
        "clock_sync_at_utc": utc_text(last["at_us"]),
        "clock_synchronized": last["synchronized"],
        "clock_est_error_us": last["est_error_us"],
        "clock_max_error_us": last["max_error_us"],
        "clock_sync_source": last["source"],
        "clock_unsynchronized_readings": sum(1 for r in readings if not r["synchronized"]),
    }


def cat_report(period: Period, events, clock_readings: list[dict], ats_id: str, generated_us: int) -> Report:
    """The CAT-style export of `period` (a `store.OrderEvents`), with the period's clock-sync
    readings in its header."""
    rows = cat_events(events.orders, events.executions, events.trades, events.busted)
    return Report(
        "cat-order-events",
        {
            "day": period.label,
            "time_zone": period.tz,
            "ats_id": ats_id,
            "timestamps": "UTC, microseconds",
            "generated_us": generated_us,
            "generated_utc": utc_text(generated_us),
            "events": len(rows),
            **clock_sync_facts(clock_readings),
        },
        {"events": Section(CAT_COLUMNS, tuple(rows))},
    )
