"""The venue's rules: member risk limits and kill switch, investor compliance status, security
trading and compliance rules (`venue members|accounts|securities set`, `venue kill|unkill`), and
what they act on (`venue positions`, `venue gates`).

Every change is written to the store together with its record in the registry change audit
(operator, time, before -> after, reason) and the ops `reload` (or `kill`/`unkill`) that tells the
running venue, in one transaction; the command then waits for the venue to apply it (and prints how
many resting orders it canceled). It exits 3 when no running venue confirmed the change in time
(`--offline`: the venue is meant to be stopped, exit 0).
"""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import click

from venue import operations
from venue.book.types import SelfMatchPrevention
from venue.cli.common import (
    CHANGE_REASON,
    JSON,
    OFFLINE,
    WAIT_APPLY,
    await_ops,
    open_store,
    operator_name,
    out,
    positive_decimal,
    print_answer,
)
from venue.clock import iso_utc
from venue.model import IssuerRole


def _day(value: str | None, name: str) -> date | None:
    if value is None or value == "none":
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date: use YYYY-MM-DD (or 'none')", param_hint=name) from None


def _money(value: str | None, name: str) -> Decimal | None:
    return None if value is None or value == "none" else positive_decimal(value, name)


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


def _apply(
    ctx: click.Context,
    entity: str,
    key: str,
    changes: dict,
    wait: float,
    reason: str | None,
    offline: bool,
    notify: str = "reload",
) -> None:
    """Store one audited registry change (`venue.operations.change`) and print the running venue's
    answer."""
    if not changes:
        raise click.UsageError("nothing to change: give at least one option (see --help)")
    store = open_store(ctx)
    answer = operations.change(
        store, operator_name(ctx), entity, key, changes, reason or "", 0 if offline else wait, notify=notify
    )
    shown = ", ".join(f"{k}={v.isoformat() if isinstance(v, date) else v}" for k, v in changes.items())
    click.echo(f"{key}: {shown}")
    print_answer(answer, f"{notify} {key}", wait, offline)


@click.command("set")
@click.argument("member_id")
@click.option(
    "--smp",
    type=click.Choice([v.value for v in SelfMatchPrevention]),
    help="Default self-match prevention (2964): 1 cancel incoming, 2 cancel resting, 3 both.",
)
@click.option("--max-order-qty", type=click.IntRange(min=0), help="Max quantity per order (0: no limit).")
@click.option("--max-notional", help="Max notional per order in the quote currency ('none': no limit).")
@click.option("--collar-bps", type=click.IntRange(min=0), help="Price collar around the reference (0: none).")
@click.option(
    "--max-msgs-per-s", type=click.IntRange(min=0), help="Order messages per second per session (0: no limit)."
)
@WAIT_APPLY
@CHANGE_REASON
@OFFLINE
@click.pass_context
def members_set(ctx, member_id, smp, max_order_qty, max_notional, collar_bps, max_msgs_per_s, wait, reason, offline):
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
    _apply(ctx, "member", member_id, changes, wait, reason, offline)


@click.command("set")
@click.argument("account_id")
@click.option("--kyc", "kyc_status", type=click.Choice(["verified", "pending", "rejected"]))
@click.option("--kyc-expires", help="YYYY-MM-DD, or 'none'.")
@click.option("--aml-hold/--no-aml-hold", "aml_flag", default=None, help="AML/sanctions hold: no trading.")
@click.option("--accredited/--not-accredited", default=None)
@click.option("--accreditation-expires", help="YYYY-MM-DD, or 'none'.")
@click.option("--jurisdiction", help="Two-letter country code.")
@click.option(
    "--issuer-of",
    "issuer_of",
    multiple=True,
    metavar="SYMBOL",
    help="The account is the issuer's own account for SYMBOL (its sales are primary sales).",
)
@click.option(
    "--affiliate-of",
    "affiliate_of",
    multiple=True,
    metavar="SYMBOL",
    help="The account is an affiliate of SYMBOL's issuer (Rule 144(a)(1)): Rule 144(e) volume limit; its "
    "buyers start a new holding period.",
)
@click.option(
    "--no-issuer-role", "no_role", multiple=True, metavar="SYMBOL", help="Neither issuer nor affiliate of SYMBOL."
)
@click.option(
    "--family-of",
    "family_of",
    metavar="ACCOUNT",
    help="Declare ACCOUNT a member of this investor's family (Reg CF 227.501(c)); needs --relationship.",
)
@click.option("--relationship", help="How --family-of is related, e.g. spouse, child, trust for the family.")
@click.option("--not-family-of", "not_family_of", metavar="ACCOUNT", help="Remove a declared family link.")
@WAIT_APPLY
@CHANGE_REASON
@OFFLINE
@click.pass_context
def accounts_set(
    ctx,
    account_id,
    kyc_status,
    kyc_expires,
    aml_flag,
    accredited,
    accreditation_expires,
    jurisdiction,
    issuer_of,
    affiliate_of,
    no_role,
    family_of,
    relationship,
    not_family_of,
    wait,
    reason,
    offline,
):
    """Change an investor's KYC, AML, accreditation or jurisdiction, its relationship to issuers
    (Rule 144) and its declared family (Reg CF). The running venue applies it at once: the
    investor's resting orders that no longer pass the gates are canceled."""
    if bool(family_of) != bool(relationship):
        raise click.UsageError("--family-of and --relationship go together")
    store, command_id = None, None  # relationships: each change audited and queued; one wait below
    for symbols, role in ((issuer_of, IssuerRole.ISSUER), (affiliate_of, IssuerRole.AFFILIATE), (no_role, None)):
        for symbol in symbols:
            store = store or open_store(ctx)
            command_id = store.set_issuer_role(
                account_id, symbol, role, operator=operator_name(ctx), reason=reason or ""
            )
            click.echo(f"{account_id}: {role.value if role else 'neither issuer nor affiliate'} of {symbol}")
    for other, linked in ((family_of, relationship), (not_family_of, None)):
        if other:
            store = store or open_store(ctx)
            command_id = store.set_family_link(
                account_id, other, linked, operator=operator_name(ctx), reason=reason or ""
            )
            click.echo(f"{account_id} and {other}: {linked or 'no family link'}")
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
    if changes or store is None:  # a reload applies every change stored before it
        _apply(ctx, "investor", account_id, changes, wait, reason, offline)
    else:
        await_ops(store, command_id, f"reload {account_id}", wait, offline)


@click.command("set")
@click.argument("symbol")
@click.option(
    "--periodic-auction",
    "auction_interval_s",
    type=click.IntRange(min=0),
    help="Trade in call auctions every N seconds instead of continuously (0: continuous).",
)
@click.option(
    "--restricted/--not-restricted",
    default=None,
    help="Rule 144 restricted securities: each lot waits 6 months (reporting issuer) or 12 from its tacking date.",
)
@click.option(
    "--issuer-reporting/--issuer-not-reporting",
    default=None,
    help="The issuer has been an Exchange Act reporting company for at least 90 days (Rule 144(d)(1)(i)).",
)
@click.option("--issue-date", help="The offering's closing: Reg CF's year and Reg S's period run from it ('none').")
@click.option("--reg-s-category", type=click.IntRange(min=0, max=3), help="Rule 903(b) category 1-3 (0: none).")
@click.option("--debt/--equity", default=None, help="Debt or equity (Reg S category 3: 40 days for debt).")
@click.option(
    "--outstanding", type=click.IntRange(min=0), help="Units of the class outstanding, Rule 144(e) (0: unknown)."
)
@click.option("--allow", "allowed", help="Buyer jurisdictions allowed, e.g. US,GB ('none': any).")
@click.option("--deny", "denied", help="Buyer jurisdictions refused, e.g. KP,IR ('none': none).")
@click.option("--us-buyers-from", help="Reg S: US buyers refused before this date at least (YYYY-MM-DD or 'none').")
@click.option("--max-holders", type=click.IntRange(min=0), help="Holder-of-record cap (0: none).")
@click.option("--max-non-accredited-holders", type=click.IntRange(min=0), help="Cap on non-accredited holders.")
@click.option("--min-holding", type=click.IntRange(min=0), help="Minimum position a sale may leave (0: none).")
@click.option("--max-holding", type=click.IntRange(min=0), help="Maximum position per investor (0: none).")
@WAIT_APPLY
@CHANGE_REASON
@OFFLINE
@click.pass_context
def securities_set(
    ctx,
    symbol,
    auction_interval_s,
    restricted,
    issuer_reporting,
    issue_date,
    reg_s_category,
    debt,
    outstanding,
    allowed,
    denied,
    us_buyers_from,
    max_holders,
    max_non_accredited_holders,
    min_holding,
    max_holding,
    wait,
    reason,
    offline,
):
    """Change a security's trading mode and compliance rules (applies to the next order; a change of
    trading mode at the next phase change)."""
    changes: dict = {}
    for key, value in (
        ("auction_interval_s", auction_interval_s),
        ("reg_s_category", reg_s_category),
        ("outstanding", outstanding),
        ("max_holders", max_holders),
        ("max_non_accredited_holders", max_non_accredited_holders),
        ("min_holding", min_holding),
        ("max_holding", max_holding),
    ):
        if value is not None:
            changes[key] = _limit(value)
    if allowed is not None:
        changes["allowed_jurisdictions"] = _codes(allowed, "--allow")
    if denied is not None:
        changes["denied_jurisdictions"] = _codes(denied, "--deny") or frozenset()
    if us_buyers_from is not None:
        changes["us_buyers_from"] = _day(us_buyers_from, "--us-buyers-from")
    for key, flag in (("restricted", restricted), ("issuer_reporting", issuer_reporting), ("debt", debt)):
        if flag is not None:
            changes[key] = flag
    if issue_date is not None:
        changes["issue_date"] = _day(issue_date, "--issue-date")
    _apply(ctx, "security", symbol, changes, wait, reason, offline)


@click.command()
@click.argument("member_id")
@click.option("--reason", required=True, help="Why (kept in the access log).")
@WAIT_APPLY
@OFFLINE
@click.pass_context
def kill(ctx, member_id, reason, wait, offline):
    """Kill switch: cancel every open order of MEMBER_ID and refuse its new orders until `venue unkill`."""
    _switch(ctx, member_id, True, reason, wait, offline)


@click.command()
@click.argument("member_id")
@click.option("--reason", required=True, help="Why (kept in the access log).")
@WAIT_APPLY
@OFFLINE
@click.pass_context
def unkill(ctx, member_id, reason, wait, offline):
    """Release a member's kill switch: new orders are accepted again."""
    _switch(ctx, member_id, False, reason, wait, offline)


@click.command()
@click.option("--account")
@JSON
@click.pass_context
def positions(ctx, account, as_json):
    """Settled balances of investor accounts, with what open orders and unsettled trades hold."""
    store = open_store(ctx)
    holdings, _lots, trades = store.load_positions()
    unsettled = [t for t in trades if t["settlement_status"] != "final"]  # final ones: affiliates' recent sales
    open_orders = store.load_open_orders()
    world = store.load_world()
    rows = []
    for h in holdings:
        if account and h["account_id"] != account:
            continue
        acct, asset = h["account_id"], h["asset"]
        if asset in world.securities:
            held = sum(
                o.leaves for o in open_orders if o.account == acct and o.symbol == asset and o.side.value == "2"
            ) + sum(t["qty"] for t in unsettled if t["sell_account"] == acct and t["symbol"] == asset)
        else:
            held = sum(
                world.securities[o.symbol].tick_size * (o.price or 0) * o.leaves
                for o in open_orders
                if o.account == acct and o.side.value == "1"
            ) + sum(Decimal(t["price"]) * t["qty"] for t in unsettled if t["buy_account"] == acct)
        rows.append(
            {
                "account": acct,
                "asset": asset,
                "balance": h["quantity"],
                "held": str(held),
                "available": str(Decimal(h["quantity"]) - held),
            }
        )
    out(rows, as_json)


@click.command()
@click.option("--outcome", type=click.Choice(["pass", "reject"]))
@click.option("--limit", type=click.IntRange(min=1), default=50, show_default=True)
@JSON
@click.pass_context
def gates(ctx, outcome, limit, as_json):
    """The gate decisions on recent orders (newest first), with what the gates looked at."""
    rows = [
        {
            "at": iso_utc(d["at_us"], "milliseconds"),
            "comp_id": d["comp_id"],
            "cl_ord_id": d["cl_ord_id"],
            "order_id": d["order_id"],
            "symbol": d["symbol"],
            "account": d["account"],
            "side": d["side"],
            "qty": d["qty"],
            "price": d["price"],
            "outcome": d["outcome"],
            "gate": d["gate"] or "",
            "text": d["text"] or "",
            "inputs": json.loads(d["inputs"]) if as_json else d["inputs"],
        }
        for d in open_store(ctx).gate_decisions(limit=limit, outcome=outcome)
    ]
    out(rows, as_json)


def _switch(ctx: click.Context, member_id: str, on: bool, reason: str, wait: float, offline: bool) -> None:
    """A member's kill switch on or off (`venue.operations.kill_switch`); the running venue's answer."""
    store = open_store(ctx)
    try:
        answer = operations.kill_switch(store, operator_name(ctx), member_id, on, reason, 0 if offline else wait)
    except operations.Unknown:
        raise click.ClickException(f"no member {member_id}; see `venue members list`") from None
    print_answer(answer, f"{'kill' if on else 'unkill'} {member_id}", wait, offline)
