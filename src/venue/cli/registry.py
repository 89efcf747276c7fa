"""`venue members|accounts|securities ...`: the registry of members, their FIX sessions, investor
accounts and securities (access decisions: cli/access.py; rules and limits: cli/rules.py).

Every change is written with its record in the registry change audit."""

from __future__ import annotations

import re

import click

from venue.cli.common import (
    JSON,
    OFFLINE,
    REASON,
    WAIT_VENUE,
    NotConfirmed,
    await_ops,
    open_store,
    operator_name,
    out,
    positive_decimal,
    send_ops,
)
from venue.model import Account, Offering, Security, SessionRole

# ---------------------------------------------------------------- members
COMP_ID = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]{0,31}")


@click.command("add-session")
@click.argument("comp_id")
@click.option("--member", "member_id", help="Owning member; omit for a venue-wide ops drop copy.")
@click.option(
    "--role",
    type=click.Choice([r.value for r in SessionRole]),
    default=SessionRole.ORDER_ENTRY.value,
    show_default=True,
)
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@click.option("--cancel-on-disconnect", is_flag=True, help="Cancel the session's open orders when it disconnects.")
@click.option("--keep-gtc", is_flag=True, help="With --cancel-on-disconnect: spare GTC orders.")
@click.pass_context
def members_add_session(
    ctx: click.Context,
    comp_id: str,
    member_id: str | None,
    role: str,
    password: str,
    cancel_on_disconnect: bool,
    keep_gtc: bool,
) -> None:
    """Add a FIX session (takes effect at the venue's next start)."""
    from venue.passwords import hash_password

    if not COMP_ID.fullmatch(comp_id):
        raise click.BadParameter(
            "use 1-32 letters, digits, '.', '_' or '-', not starting with '.' (a CompID names the session's files)",
            param_hint="COMP_ID",
        )
    store = open_store(ctx)
    if member_id is None and role == SessionRole.ORDER_ENTRY.value:
        raise click.UsageError("an order-entry session needs --member")
    if member_id is not None and member_id not in store.load_world().members:
        raise click.ClickException(f"no member {member_id}: add it first with `venue members add`")
    if len(password) < 6:
        raise click.BadParameter("use at least 6 characters", param_hint="--password")
    if keep_gtc and not cancel_on_disconnect:
        raise click.UsageError("--keep-gtc only applies with --cancel-on-disconnect")
    store.add_session(comp_id, member_id, SessionRole(role), hash_password(password), cancel_on_disconnect, keep_gtc)
    store.record_change(
        "session",
        comp_id,
        {},
        {
            "member_id": member_id,
            "role": role,
            "enabled": True,
            "cancel_on_disconnect": cancel_on_disconnect,
            "cod_keep_gtc": keep_gtc,
        },
        operator_name(ctx),
        "session added",
    )
    click.echo(f"session {comp_id} added ({role}); restart the venue to accept it")


def _session_enabled(ctx: click.Context, comp_id: str, enabled: bool, reason: str, wait: float, offline: bool) -> None:
    store = open_store(ctx)
    command_id = store.change("session", comp_id, {"enabled": enabled}, operator=operator_name(ctx), reason=reason)
    click.echo(f"session {comp_id} {'enabled' if enabled else 'disabled'}")
    await_ops(store, command_id, f"reload {comp_id}", wait, offline)


@click.command("disable-session")
@click.argument("comp_id")
@REASON
@WAIT_VENUE
@OFFLINE
@click.pass_context
def members_disable_session(ctx: click.Context, comp_id: str, reason: str, wait: float, offline: bool) -> None:
    """Disable a FIX session: its logons are refused, its resting orders canceled, its messages refused."""
    _session_enabled(ctx, comp_id, False, reason, wait, offline)


@click.command("enable-session")
@click.argument("comp_id")
@REASON
@WAIT_VENUE
@OFFLINE
@click.pass_context
def members_enable_session(ctx: click.Context, comp_id: str, reason: str, wait: float, offline: bool) -> None:
    """Enable a disabled FIX session again."""
    _session_enabled(ctx, comp_id, True, reason, wait, offline)


@click.command("list")
@JSON
@click.pass_context
def members_list(ctx: click.Context, as_json: bool) -> None:
    """List members and their sessions."""
    world = open_store(ctx).load_world()
    rows = [
        {
            "comp_id": s.comp_id,
            "member": s.member_id or "(venue)",
            "role": s.role.value,
            "member_status": world.members[s.member_id].status.value if s.member_id in world.members else "-",
            "cancel_on_disconnect": s.cancel_on_disconnect,
            "transport": s.transport.value,
            "allowed_addresses": ",".join(s.allowed_addresses) or "any",
            "certificate": s.cert_sha256[:16] + "..." if s.cert_sha256 else "-",
        }
        for s in sorted(world.sessions.values(), key=lambda s: s.comp_id)
    ]
    out(rows, as_json)


# ---------------------------------------------------------------- accounts
@click.command("add")
@click.argument("account_id")
@click.option("--member", "member_id", required=True)
@click.option("--name", required=True)
@click.option("--jurisdiction", default="US", show_default=True, help="ISO 3166 country code.")
@click.option("--accredited/--not-accredited", default=False, show_default=True)
@click.option("--investor-type", default="individual", show_default=True)
@click.pass_context
def accounts_add(
    ctx: click.Context,
    account_id: str,
    member_id: str,
    name: str,
    jurisdiction: str,
    accredited: bool,
    investor_type: str,
) -> None:
    """Open an investor account at a member."""
    store = open_store(ctx)
    if member_id not in store.load_world().members:
        raise click.ClickException(f"no member {member_id}: add it first with `venue members add`")
    if len(jurisdiction) != 2 or not jurisdiction.isalpha():
        raise click.BadParameter("use a two-letter country code such as US", param_hint="--jurisdiction")
    account = Account(account_id, member_id, name, jurisdiction.upper(), accredited, investor_type)
    store.add_account(account)
    store.record_change(
        "investor",
        account_id,
        {},
        {
            "member_id": member_id,
            "name": name,
            "jurisdiction": account.jurisdiction,
            "accredited": accredited,
            "investor_type": investor_type,
            "kyc_status": account.kyc_status,
        },
        operator_name(ctx),
        "account opened",
        account=account_id,
    )
    click.echo(
        f"account {account_id} added at {member_id}; KYC {account.kyc_status}: it trades once an operator "
        f"verifies it (venue accounts set {account_id} --kyc verified --reason ...)"
    )


@click.command("list")
@click.option("--member", "member_id")
@JSON
@click.pass_context
def accounts_list(ctx: click.Context, member_id: str | None, as_json: bool) -> None:
    """List investor accounts."""
    world = open_store(ctx).load_world()
    rows = [
        {
            "account": a.account_id,
            "member": a.member_id,
            "name": a.name,
            "jurisdiction": a.jurisdiction,
            "accredited": a.accredited,
            "type": a.investor_type,
        }
        for a in sorted(world.accounts.values(), key=lambda a: a.account_id)
        if member_id is None or a.member_id == member_id
    ]
    out(rows, as_json)


# ---------------------------------------------------------------- securities
@click.command("add")
@click.argument("symbol")
@click.option("--name", required=True)
@click.option("--tick", default="0.01", show_default=True, help="Tick size in the quote currency.")
@click.option("--lot", type=click.IntRange(min=1), default=1, show_default=True, help="Lot size in token units.")
@click.option(
    "--offering", type=click.Choice([o.value for o in Offering]), default=Offering.REGISTERED.value, show_default=True
)
@click.option("--reference-price", help="Reference price for price bands before the first trade.")
@click.option("--band-bps", type=click.IntRange(min=1), help="Price band around the reference, basis points.")
@click.option(
    "--periodic-auction",
    type=click.IntRange(min=1),
    help="Trade in call auctions every N seconds instead of continuously.",
)
@click.option(
    "--holding-period-days",
    type=click.IntRange(min=1),
    help="Rule 144 / Reg CF holding period per lot (183 reporting issuer, 365 otherwise).",
)
@click.option(
    "--wait", type=float, default=1.0, show_default=True, help="Seconds to wait for a running venue to open the book."
)
@click.pass_context
def securities_add(
    ctx: click.Context,
    symbol: str,
    name: str,
    tick: str,
    lot: int,
    offering: str,
    reference_price: str | None,
    band_bps: int | None,
    periodic_auction: int | None,
    holding_period_days: int | None,
    wait: float,
) -> None:
    """List a security; a running venue opens its book at once (see `venue securities set` for its
    compliance rules)."""
    tick_size = positive_decimal(tick, "--tick")
    ref = positive_decimal(reference_price, "--reference-price") if reference_price else None
    if ref is not None and ref % tick_size:
        raise click.BadParameter(f"{ref} is not a multiple of the tick {tick_size}", param_hint="--reference-price")
    store = open_store(ctx)
    store.add_security(
        Security(
            symbol,
            name,
            tick_size,
            lot,
            Offering(offering),
            reference_price=ref,
            band_bps=band_bps,
            auction_interval_s=periodic_auction,
            holding_period_days=holding_period_days,
        )
    )
    store.record_change(
        "security",
        symbol,
        {},
        {
            "name": name,
            "tick_size": str(tick_size),
            "lot_size": lot,
            "offering": offering,
            "reference_price": ref,
            "band_bps": band_bps,
            "auction_interval_s": periodic_auction,
            "holding_period_days": holding_period_days,
        },
        operator_name(ctx),
        "security listed",
    )
    click.echo(f"security {symbol} added")
    try:
        send_ops(store, "reload", symbol, wait)
    except NotConfirmed as exc:  # listing is complete; a venue started later opens the book itself
        click.echo(exc.message)


@click.command("list")
@JSON
@click.pass_context
def securities_list(ctx: click.Context, as_json: bool) -> None:
    """List securities and their trading status."""
    world = open_store(ctx).load_world()
    rows = [
        {
            "symbol": s.symbol,
            "name": s.name,
            "tick": str(s.tick_size),
            "lot": s.lot_size,
            "offering": s.offering.value,
            "status": s.trading_status.value,
        }
        for s in sorted(world.securities.values(), key=lambda s: s.symbol)
    ]
    out(rows, as_json)
