"""CLI for the venue's rules: member risk limits and kill switch, investor compliance status,
security trading and compliance rules, positions and the gate audit.

Every change is written to the store and then announced to the running venue with an ops
`reload` (or `kill`/`unkill`), so it applies to the next order without a restart.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timezone
from decimal import Decimal

import click

from venue.access import operator
from venue.book.types import SelfMatchPrevention
from venue.store.access import record_access

WAIT = click.option("--wait", type=float, default=1.0, show_default=True,
                    help="Seconds to wait for a running venue to apply the change.")


def _cli():
    from venue import cli  # the main module: its store lookup and output helpers
    return cli


def _day(value: str | None, name: str) -> date | None:
    if value is None or value == "none":
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date: use YYYY-MM-DD (or 'none')", param_hint=name) from None


def _money(value: str | None, name: str) -> Decimal | None:
    return None if value is None or value == "none" else _cli()._decimal(value, name)


def _codes(value: str | None, name: str) -> frozenset[str] | None:
    if value is None or value == "none":
        return None
    codes = frozenset(c.strip().upper() for c in value.split(",") if c.strip())
    bad = sorted(c for c in codes if len(c) != 2 or not c.isalpha())
    if bad:
        raise click.BadParameter(f"{', '.join(bad)}: use two-letter country codes such as US,GB", param_hint=name)
    return codes


def _limit(value: int | None) -> int | None:
    """0 on the command line clears a limit."""
    return None if value == 0 else value


def _apply(ctx: click.Context, update, key: str, changes: dict, wait: float) -> None:
    if not changes:
        raise click.UsageError("nothing to change: give at least one option (see --help)")
    cli = _cli()
    store = cli._store(ctx)
    update(store)(key, **changes)
    shown = ", ".join(f"{k}={v.isoformat() if isinstance(v, date) else v}" for k, v in changes.items())
    click.echo(f"{key}: {shown}")
    cli.send_ops(store, "reload", key, wait)


def register(members: click.Group, accounts: click.Group, securities: click.Group, main: click.Group) -> None:
    """Attach the rule commands to the CLI's groups."""

    @members.command("set")
    @click.argument("member_id")
    @click.option("--smp", type=click.Choice([v.value for v in SelfMatchPrevention]),
                  help="Default self-match prevention (2964): 1 cancel incoming, 2 cancel resting, 3 both.")
    @click.option("--max-order-qty", type=click.IntRange(min=0), help="Max quantity per order (0: no limit).")
    @click.option("--max-notional", help="Max notional per order in the quote currency ('none': no limit).")
    @click.option("--collar-bps", type=click.IntRange(min=0), help="Price collar around the reference (0: none).")
    @click.option("--max-msgs-per-s", type=click.IntRange(min=0), help="Order messages per second per session "
                                                                       "(0: no limit).")
    @WAIT
    @click.pass_context
    def members_set(ctx, member_id, smp, max_order_qty, max_notional, collar_bps, max_msgs_per_s, wait):
        """Change a member's SMP default and risk limits (applies to its next order)."""
        changes: dict = {}
        if smp is not None:
            changes["default_smp"] = smp
        if max_order_qty is not None:
            changes["max_order_qty"] = _limit(max_order_qty)
        if max_notional is not None:
            changes["max_notional"] = _money(max_notional, "--max-notional")
        if collar_bps is not None:
            changes["collar_bps"] = _limit(collar_bps)
        if max_msgs_per_s is not None:
            changes["max_msgs_per_s"] = _limit(max_msgs_per_s)
        _apply(ctx, lambda s: s.update_member, member_id, changes, wait)

    @accounts.command("set")
    @click.argument("account_id")
    @click.option("--kyc", "kyc_status", type=click.Choice(["verified", "pending", "rejected"]))
    @click.option("--kyc-expires", help="YYYY-MM-DD, or 'none'.")
    @click.option("--aml-hold/--no-aml-hold", "aml_flag", default=None, help="AML/sanctions hold: no trading.")
    @click.option("--accredited/--not-accredited", default=None)
    @click.option("--accreditation-expires", help="YYYY-MM-DD, or 'none'.")
    @click.option("--jurisdiction", help="Two-letter country code.")
    @WAIT
    @click.pass_context
    def accounts_set(ctx, account_id, kyc_status, kyc_expires, aml_flag, accredited, accreditation_expires,
                     jurisdiction, wait):
        """Change an investor's KYC, AML, accreditation or jurisdiction (applies to the next order)."""
        changes: dict = {}
        if kyc_status is not None:
            changes["kyc_status"] = kyc_status
        if kyc_expires is not None:
            changes["kyc_expires"] = _day(kyc_expires, "--kyc-expires")
        if aml_flag is not None:
            changes["aml_flag"] = aml_flag
        if accredited is not None:
            changes["accredited"] = accredited
        if accreditation_expires is not None:
            changes["accreditation_expires"] = _day(accreditation_expires, "--accreditation-expires")
        if jurisdiction is not None:
            (code,) = _codes(jurisdiction, "--jurisdiction") or {""}
            changes["jurisdiction"] = code
        _apply(ctx, lambda s: s.update_account, account_id, changes, wait)

    @securities.command("set")
    @click.argument("symbol")
    @click.option("--periodic-auction", "auction_interval_s", type=click.IntRange(min=0),
                  help="Trade in call auctions every N seconds instead of continuously (0: continuous).")
    @click.option("--holding-period-days", type=click.IntRange(min=0),
                  help="Rule 144 / Reg CF holding period per lot (183 reporting issuer, 365 otherwise; 0: none).")
    @click.option("--allow", "allowed", help="Buyer jurisdictions allowed, e.g. US,GB ('none': any).")
    @click.option("--deny", "denied", help="Buyer jurisdictions refused, e.g. KP,IR ('none': none).")
    @click.option("--us-buyers-from", help="Reg S: US buyers refused before this date (YYYY-MM-DD or 'none').")
    @click.option("--max-holders", type=click.IntRange(min=0), help="Holder-of-record cap (0: none).")
    @click.option("--max-non-accredited-holders", type=click.IntRange(min=0), help="Cap on non-accredited holders.")
    @click.option("--min-holding", type=click.IntRange(min=0), help="Minimum position a sale may leave (0: none).")
    @click.option("--max-holding", type=click.IntRange(min=0), help="Maximum position per investor (0: none).")
    @WAIT
    @click.pass_context
    def securities_set(ctx, symbol, auction_interval_s, holding_period_days, allowed, denied, us_buyers_from,
                       max_holders, max_non_accredited_holders, min_holding, max_holding, wait):
        """Change a security's trading mode and compliance rules (applies to the next order; a change of
        trading mode at the next phase change)."""
        changes: dict = {}
        for key, value in (("auction_interval_s", auction_interval_s), ("holding_period_days", holding_period_days),
                           ("max_holders", max_holders), ("max_non_accredited_holders", max_non_accredited_holders),
                           ("min_holding", min_holding), ("max_holding", max_holding)):
            if value is not None:
                changes[key] = _limit(value)
        if allowed is not None:
            changes["allowed_jurisdictions"] = _codes(allowed, "--allow")
        if denied is not None:
            changes["denied_jurisdictions"] = _codes(denied, "--deny") or frozenset()
        if us_buyers_from is not None:
            changes["us_buyers_from"] = _day(us_buyers_from, "--us-buyers-from")
        _apply(ctx, lambda s: s.update_security, symbol, changes, wait)

    @main.command()
    @click.argument("member_id")
    @click.option("--reason", required=True, help="Why (kept in the access log).")
    @click.option("--wait", type=float, default=5.0, show_default=True, help="Seconds to wait for the venue.")
    @click.pass_context
    def kill(ctx, member_id, reason, wait):
        """Kill switch: cancel every open order of MEMBER_ID and refuse its new orders until `venue unkill`."""
        _switch(ctx, member_id, True, reason, wait)

    @main.command()
    @click.argument("member_id")
    @click.option("--reason", required=True, help="Why (kept in the access log).")
    @WAIT
    @click.pass_context
    def unkill(ctx, member_id, reason, wait):
        """Release a member's kill switch: new orders are accepted again."""
        _switch(ctx, member_id, False, reason, wait)

    @main.command()
    @click.option("--account")
    @click.option("--json", "as_json", is_flag=True)
    @click.pass_context
    def positions(ctx, account, as_json):
        """Settled balances of investor accounts, with what open orders and unsettled trades hold."""
        cli = _cli()
        store = cli._store(ctx)
        holdings, _lots, unsettled = store.load_positions()
        open_orders = store.load_open_orders()
        world = store.load_world()
        rows = []
        for h in holdings:
            if account and h["account_id"] != account:
                continue
            acct, asset = h["account_id"], h["asset"]
            if asset in world.securities:
                held = sum(o.leaves for o in open_orders if o.account == acct and o.symbol == asset
                           and o.side.value == "2") + sum(t["qty"] for t in unsettled
                                                          if t["sell_account"] == acct and t["symbol"] == asset)
            else:
                held = sum(world.securities[o.symbol].tick_size * (o.price or 0) * o.leaves for o in open_orders
                           if o.account == acct and o.side.value == "1") \
                    + sum(Decimal(t["price"]) * t["qty"] for t in unsettled if t["buy_account"] == acct)
            rows.append({"account": acct, "asset": asset, "balance": h["quantity"], "held": str(held),
                         "available": str(Decimal(h["quantity"]) - held)})
        cli._out(rows, as_json)

    @main.command()
    @click.option("--outcome", type=click.Choice(["pass", "reject"]))
    @click.option("--limit", type=click.IntRange(min=1), default=50, show_default=True)
    @click.option("--json", "as_json", is_flag=True)
    @click.pass_context
    def gates(ctx, outcome, limit, as_json):
        """The gate decisions on recent orders (newest first), with what the gates looked at."""
        cli = _cli()
        rows = [{"at": datetime.fromtimestamp(d["at_us"] / 1e6, tz=timezone.utc).isoformat(timespec="milliseconds"),
                 "comp_id": d["comp_id"], "cl_ord_id": d["cl_ord_id"], "order_id": d["order_id"],
                 "symbol": d["symbol"], "account": d["account"], "side": d["side"], "qty": d["qty"],
                 "price": d["price"], "outcome": d["outcome"], "gate": d["gate"] or "",
                 "text": d["text"] or "", "inputs": json.loads(d["inputs"]) if as_json else d["inputs"]}
                for d in cli._store(ctx).gate_decisions(limit=limit, outcome=outcome)]
        cli._out(rows, as_json)


def _switch(ctx: click.Context, member_id: str, on: bool, reason: str, wait: float) -> None:
    cli = _cli()
    store = cli._store(ctx)
    if member_id not in store.load_world().members:
        raise click.ClickException(f"no member {member_id}; see `venue members list`")
    store.update_member(member_id, killed=on)
    record_access(store, member_id, "limit" if on else "restore", "venue",
                  f"kill switch {'on' if on else 'off'}: {reason}", "AS-5", operator())
    cli.send_ops(store, "kill" if on else "unkill", member_id, wait)
