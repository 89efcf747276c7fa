"""`venue halt|suspend|resume SYMBOL` (trading control, applied by the running venue) and what the
venue recorded: `venue orders`, `venue logons`, `venue audit changes`."""

from __future__ import annotations

import json

import click

from venue import operations
from venue.cli.common import JSON, OFFLINE, REASON, WAIT_VENUE, open_store, operator_name, out, print_answer, since_us
from venue.clock import iso_utc


def _ops(ctx: click.Context, command: str, symbol: str, wait: float, reason: str, offline: bool) -> None:
    """Halt, suspend or resume a security (`venue.operations.trading_status`) and print the running
    venue's answer."""
    store = open_store(ctx)
    try:
        answer = operations.trading_status(store, operator_name(ctx), command, symbol, reason, 0 if offline else wait)
    except operations.Unknown:
        raise click.ClickException(f"unknown symbol {symbol}; see `venue securities list`") from None
    print_answer(answer, f"{command} {symbol}", wait, offline)


@click.command()
@click.argument("symbol")
@WAIT_VENUE
@click.option("--reason", default="venue operations", show_default=True, help="Why (kept in the audit).")
@OFFLINE
@click.pass_context
def halt(ctx: click.Context, symbol: str, wait: float, reason: str, offline: bool) -> None:
    """Halt trading in SYMBOL: new orders and replaces are refused, resting orders stay (cancels are
    accepted) until `venue resume SYMBOL`."""
    _ops(ctx, "halt", symbol, wait, reason, offline)


@click.command()
@click.argument("symbol")
@WAIT_VENUE
@REASON
@OFFLINE
@click.pass_context
def suspend(ctx: click.Context, symbol: str, wait: float, reason: str, offline: bool) -> None:
    """Suspend SYMBOL: every resting order is canceled and nothing is accepted until `venue resume`."""
    _ops(ctx, "suspend", symbol, wait, reason, offline)


@click.command()
@click.argument("symbol")
@WAIT_VENUE
@click.option("--reason", default="venue operations", show_default=True, help="Why (kept in the audit).")
@OFFLINE
@click.pass_context
def resume(ctx: click.Context, symbol: str, wait: float, reason: str, offline: bool) -> None:
    """Resume trading in SYMBOL (halted or suspended), through an opening auction."""
    _ops(ctx, "resume", symbol, wait, reason, offline)


@click.command()
@click.option("--member")
@click.option("--symbol")
@click.option("--account")
@click.option(
    "--status",
    type=click.Choice(["open", "all", "filled", "canceled", "expired", "rejected"]),
    default="open",
    show_default=True,
)
@click.option("--limit", type=click.IntRange(min=1), default=200, show_default=True)
@JSON
@click.pass_context
def orders(
    ctx: click.Context,
    member: str | None,
    symbol: str | None,
    account: str | None,
    status: str,
    limit: int,
    as_json: bool,
) -> None:
    """List orders (newest first)."""
    codes = {"open": ["0", "1"], "filled": ["2"], "canceled": ["4"], "expired": ["C"], "rejected": ["8"], "all": None}[
        status
    ]
    store = open_store(ctx)
    world = store.load_world()
    rows = []
    for o in store.orders(member=member, symbol=symbol, status=codes, account=account, limit=limit):
        sec = world.securities.get(o.symbol)
        price = sec.to_price(o.price) if (sec and o.price is not None) else "MKT"
        rows.append(
            {
                "order_id": o.order_id,
                "member": o.member_id,
                "cl_ord_id": o.cl_ord_id,
                "account": o.account,
                "symbol": o.symbol,
                "side": o.side.name,
                "type": o.ord_type.name,
                "price": price,
                "qty": o.qty,
                "cum": o.cum,
                "leaves": o.leaves,
                "tif": o.tif.name,
                "status": o.status.name,
            }
        )
    out(rows, as_json)


@click.command("changes")
@click.option("--since", help="From this UTC date or time (YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS).")
@click.option("--account", help="Only changes to this investor account.")
@click.option("--limit", type=click.IntRange(min=1), default=1000, show_default=True)
@JSON
@click.pass_context
def audit_changes(ctx: click.Context, since: str | None, account: str | None, limit: int, as_json: bool) -> None:
    """Every change to investors, members, sessions, entitlements, limits, securities, halts and kill
    switches: operator, time, before -> after, reason (oldest first)."""
    rows = []
    for c in open_store(ctx).registry_changes(since_us=since_us(since), account=account, limit=limit):
        at = iso_utc(c["at_us"], "milliseconds")
        before, after = json.loads(c["before"]), json.loads(c["after"])
        rows.append(
            {
                "id": c["id"],
                "at": at,
                "operator": c["operator"],
                "entity": c["entity"],
                "key": c["key"],
                "before": before if as_json else _compact(before),
                "after": after if as_json else _compact(after),
                "reason": c["reason"],
            }
        )
    out(rows, as_json)


def _compact(values: dict) -> str:
    return ", ".join(f"{k}={v}" for k, v in values.items()) or "-"


@click.command()
@click.option("--comp-id")
@JSON
@click.pass_context
def logons(ctx: click.Context, comp_id: str | None, as_json: bool) -> None:
    """Logon attempts, accepted and refused, oldest first."""
    rows = [
        {
            "at": iso_utc(e["at_us"], "milliseconds"),
            "comp_id": e["comp_id"],
            "outcome": e["outcome"],
            "reason": e["reason"],
        }
        for e in open_store(ctx).auth_events(comp_id)
    ]
    out(rows, as_json)
