"""`venue`: the operator's command line.

Every command that reads or writes the registry finds the store from, in order: --db-url,
--config, the VENUE_CONFIG environment variable, or the sandbox's config (var/sandbox/venue.toml).
"""

from __future__ import annotations

import json
import os
import re
import sys
import time
from decimal import Decimal, InvalidOperation
from pathlib import Path

import click
from sqlalchemy.exc import InterfaceError, OperationalError

from venue.config import ConfigError, load_config
from venue.model import Account, MemberStatus, Offering, Security, SessionRole
from venue.store import Store, StoreError

DEFAULT_SANDBOX_DIR = Path("var/sandbox")


def _store(ctx: click.Context) -> Store:
    opts = ctx.find_root().obj or {}
    url = opts.get("db_url")
    config = opts.get("config") or os.environ.get("VENUE_CONFIG")
    if not url:
        path = Path(config) if config else DEFAULT_SANDBOX_DIR / "venue.toml"
        if not path.exists():
            raise click.ClickException(
                f"no store to use: {path} does not exist. Pass --db-url URL or --config FILE "
                "(or start `venue sandbox` first).")
        try:
            url = load_config(path).database_url
        except ConfigError as exc:
            raise click.ClickException(str(exc)) from None
    store = Store(url)
    shown = store.engine.url.render_as_string(hide_password=True)
    try:
        store.migrate()
    except (OperationalError, InterfaceError) as exc:
        raise click.ClickException(_unreachable(exc, shown)) from None
    except Exception as exc:  # noqa: BLE001 - explain, don't dump a traceback
        raise click.ClickException(f"cannot open the store at {shown}: {exc}") from None
    return store


def _unreachable(exc, url: str | None = None) -> str:
    """One line for a database that does not answer (the driver's own reason, without SQLAlchemy's
    background link)."""
    reason = " ".join(str(getattr(exc, "orig", None) or exc).split())
    where = f" at {url}" if url else ""
    return f"cannot reach the store{where}: {reason} (check --db-url, or database_url in the config)"


def _decimal(value: str, name: str) -> Decimal:
    try:
        result = Decimal(value)
    except InvalidOperation:
        raise click.BadParameter(f"{value!r} is not a number", param_hint=name) from None
    if not result.is_finite() or result <= 0:
        raise click.BadParameter(f"{value!r} must be greater than zero", param_hint=name)
    return result


def _out(rows: list[dict], as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(rows, indent=2, default=str))
        return
    if not rows:
        click.echo("(none)")
        return
    cols = list(rows[0])
    widths = {c: max(len(c), *(len(str(r[c])) for r in rows)) for c in cols}
    click.echo("  ".join(c.ljust(widths[c]) for c in cols))
    for r in rows:
        click.echo("  ".join(str(r[c]).ljust(widths[c]) for c in cols))


class _Group(click.Group):
    """Turns store errors, an unreachable database and an engine that cannot start into one clear
    line instead of a traceback."""

    def invoke(self, ctx: click.Context):
        from venue.engine_process import EngineGone
        try:
            return super().invoke(ctx)
        except StoreError as exc:
            raise click.ClickException(str(exc)) from None
        except (OperationalError, InterfaceError) as exc:
            raise click.ClickException(_unreachable(exc)) from None
        except EngineGone as exc:
            raise click.ClickException(f"{exc} (details in the venue's log)") from None


@click.group(cls=_Group)
@click.option("--db-url", help="Store URL (sqlite:///path or postgresql://...).")
@click.option("--config", type=click.Path(dir_okay=False), help="Venue config file (TOML).")
@click.pass_context
def main(ctx: click.Context, db_url: str | None, config: str | None) -> None:
    """Operate the venue: run it, manage its registry, halt and resume trading."""
    ctx.obj = {"db_url": db_url, "config": config}


# ---------------------------------------------------------------- running
@main.command()
@click.pass_context
def init(ctx: click.Context) -> None:
    """Create or upgrade the store's schema (Alembic migrations)."""
    store = _store(ctx)
    click.echo(f"store ready: {store.engine.url.render_as_string(hide_password=True)}")


@main.command()
@click.option("--port", type=int, help="FIX port (overrides the config file).")
@click.option("--data-dir", type=click.Path(file_okay=False), help="Data directory (overrides the config).")
@click.option("-v", "--verbose", is_flag=True)
@click.pass_context
def serve(ctx: click.Context, port: int | None, data_dir: str | None, verbose: bool) -> None:
    """Run the venue (production entry point): --config FILE, optionally --db-url and --data-dir."""
    opts = ctx.find_root().obj
    config = opts.get("config") or os.environ.get("VENUE_CONFIG")
    if not config:
        raise click.ClickException("serve needs a config file: venue --config venue.toml serve")
    try:
        cfg = load_config(Path(config), database_url=opts.get("db_url"),
                          data_dir=Path(data_dir) if data_dir else None, port=port)
        chain = _chain_config(Path(config))
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    from venue.server import serve as run
    try:
        code = run(cfg, verbose, chain=chain)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    sys.exit(code)


def _chain_config(path: Path):
    """The config's [chain] section (None: no settlement)."""
    from venue.chain.service import load_chain_config
    return load_chain_config(path)


@main.command()
@click.option("--port", type=int, default=9878, show_default=True, help="FIX port on 127.0.0.1.")
@click.option("--data-dir", type=click.Path(file_okay=False), default=str(DEFAULT_SANDBOX_DIR), show_default=True)
@click.option("--resume", is_flag=True, help="Keep the existing sandbox state instead of starting fresh.")
@click.option("--chain", default="embedded", show_default=True,
              help="Where trades settle: 'embedded' (an in-process EVM node started with the venue), a JSON-RPC "
                   "URL (the sandbox contracts are deployed there), or 'none' (no settlement).")
@click.option("-v", "--verbose", is_flag=True)
@click.option("--with-market-maker", is_flag=True,
              help="Also run examples/market_maker.py as MM1, quoting every sandbox security.")
@click.pass_context
def sandbox(ctx: click.Context, port: int, data_dir: str, resume: bool, chain: str, verbose: bool,
            with_market_maker: bool) -> None:
    """Start a fresh certification sandbox venue (see spec/sandbox.md)."""
    from venue import sandbox as sb
    from venue.server import serve as run
    if chain not in ("embedded", "none") and not chain.startswith(("http://", "https://")):
        raise click.BadParameter("use 'embedded', 'none' or an http(s):// JSON-RPC URL", param_hint="--chain")
    opts = ctx.find_root().obj
    config = sb.prepare(Path(data_dir), port, database_url=opts.get("db_url"), fresh=not resume, chain=chain)
    try:
        cfg = load_config(config, port=port)
        chain_cfg = _chain_config(config)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"sandbox: sessions BRKA, BRKB, MM1 (order entry), OPSDC, BRKADC (drop copy); password "
               f"'{sb.SANDBOX_PASSWORD}'; venue CompID ATS; FIX 4.4 on 127.0.0.1:{port}; settlement: "
               f"{chain_cfg.url if chain_cfg else 'none'}")
    if not with_market_maker:
        try:
            code = run(cfg, verbose, chain=chain_cfg)
        except ConfigError as exc:
            raise click.ClickException(str(exc)) from None
        sys.exit(code)
    import signal
    import socket
    import subprocess
    import threading
    script = Path(__file__).resolve().parents[2] / "examples" / "market_maker.py"
    if not script.exists():
        raise click.ClickException(f"--with-market-maker needs {script} (a source checkout)")
    maker_cmd = [sys.executable, str(script), "--port", str(port), "--state-dir", str(Path(data_dir) / "market_maker")]
    for security in sb.SECURITIES:
        maker_cmd += ["--symbol", security.symbol, "--ref", f"{security.symbol}={security.reference_price}"]
    makers: list[subprocess.Popen] = []
    venue_exited = threading.Event()

    def start_market_maker() -> None:
        """Start the market maker once the FIX port accepts connections (run() below blocks)."""
        while not venue_exited.is_set():
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
            except OSError:
                time.sleep(0.2)
                continue
            makers.append(subprocess.Popen(maker_cmd))
            return

    threading.Thread(target=start_market_maker, name="market-maker-start", daemon=True).start()
    try:
        code = run(cfg, verbose, chain=chain_cfg)
    finally:
        venue_exited.set()
        for maker in makers:
            maker.send_signal(signal.SIGTERM)
            try:
                maker.wait(15)
            except subprocess.TimeoutExpired:
                maker.kill()
                maker.wait(5)
    sys.exit(code)


# ---------------------------------------------------------------- registry
@main.group()
def members() -> None:
    """Member broker-dealers and their FIX sessions."""


@members.command("add")
@click.argument("member_id")
@click.option("--name", required=True)
@click.option("--kind", type=click.Choice(["broker_dealer", "market_maker"]), default="broker_dealer",
              show_default=True)
@click.option("--reason", default="meets the written access standards", show_default=True,
              help="Why access is granted (kept in the access log).")
@click.option("--standard", help="Written access standard id(s) met, comma-separated (default: the admission "
                                 "standards; see `venue access standards`).")
@click.pass_context
def members_add(ctx: click.Context, member_id: str, name: str, kind: str, reason: str, standard: str | None) -> None:
    """Onboard a member: access to the venue and to every security, recorded in the access log."""
    from venue.cli_access import admit
    admit(ctx, member_id, name, kind, reason, standard)
    click.echo(f"member {member_id} added, entitled to every security")


COMP_ID = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]{0,31}")


@members.command("add-session")
@click.argument("comp_id")
@click.option("--member", "member_id", help="Owning member; omit for a venue-wide ops drop copy.")
@click.option("--role", type=click.Choice([r.value for r in SessionRole]), default=SessionRole.ORDER_ENTRY.value,
              show_default=True)
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@click.option("--cancel-on-disconnect", is_flag=True, help="Cancel the session's open orders when it disconnects.")
@click.option("--keep-gtc", is_flag=True, help="With --cancel-on-disconnect: spare GTC orders.")
@click.pass_context
def members_add_session(ctx: click.Context, comp_id: str, member_id: str | None, role: str, password: str,
                        cancel_on_disconnect: bool, keep_gtc: bool) -> None:
    """Add a FIX session (takes effect at the venue's next start)."""
    from venue.passwords import hash_password
    if not COMP_ID.fullmatch(comp_id):
        raise click.BadParameter("use 1-32 letters, digits, '.', '_' or '-', not starting with '.' (a CompID "
                                 "names the session's files)", param_hint="COMP_ID")
    store = _store(ctx)
    if member_id is None and role == SessionRole.ORDER_ENTRY.value:
        raise click.UsageError("an order-entry session needs --member")
    if member_id is not None and member_id not in store.load_world().members:
        raise click.ClickException(f"no member {member_id}: add it first with `venue members add`")
    if len(password) < 6:
        raise click.BadParameter("use at least 6 characters", param_hint="--password")
    if keep_gtc and not cancel_on_disconnect:
        raise click.UsageError("--keep-gtc only applies with --cancel-on-disconnect")
    store.add_session(comp_id, member_id, SessionRole(role), hash_password(password), cancel_on_disconnect, keep_gtc)
    click.echo(f"session {comp_id} added ({role}); restart the venue to accept it")


@members.command("set-password")
@click.argument("comp_id")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@click.pass_context
def members_set_password(ctx: click.Context, comp_id: str, password: str) -> None:
    """Change a session's logon password (applies at its next logon)."""
    from venue.passwords import hash_password
    _store(ctx).set_session_password(comp_id, hash_password(password))
    click.echo(f"password of {comp_id} changed")


@members.command("suspend")
@click.argument("member_id")
@click.option("--reason", required=True, help="Why access is limited (kept in the access log).")
@click.option("--standard", required=True, help="Written access standard id(s) applied, e.g. AS-4.")
@click.pass_context
def members_suspend(ctx: click.Context, member_id: str, reason: str, standard: str) -> None:
    """Suspend a member: its sessions can no longer log on. Recorded as a limitation of access."""
    from venue.cli_access import suspend
    record = suspend(ctx, member_id, reason, standard)
    click.echo(f"member {member_id} suspended (access log #{record})")


@members.command("activate")
@click.argument("member_id")
@click.option("--reason", required=True, help="Why access is restored (kept in the access log).")
@click.option("--standard", required=True, help="Written access standard id(s) met again, e.g. AS-4.")
@click.pass_context
def members_activate(ctx: click.Context, member_id: str, reason: str, standard: str) -> None:
    """Re-activate a suspended member. Recorded as a restoration of access."""
    from venue.cli_access import activate
    record = activate(ctx, member_id, reason, standard)
    click.echo(f"member {member_id} active (access log #{record})")


@members.command("list")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def members_list(ctx: click.Context, as_json: bool) -> None:
    """List members and their sessions."""
    world = _store(ctx).load_world()
    rows = [{"comp_id": s.comp_id, "member": s.member_id or "(venue)", "role": s.role.value,
             "member_status": world.members[s.member_id].status.value if s.member_id in world.members else "-",
             "cancel_on_disconnect": s.cancel_on_disconnect}
            for s in sorted(world.sessions.values(), key=lambda s: s.comp_id)]
    _out(rows, as_json)


@main.group()
def accounts() -> None:
    """Investor accounts held at members."""


@accounts.command("add")
@click.argument("account_id")
@click.option("--member", "member_id", required=True)
@click.option("--name", required=True)
@click.option("--jurisdiction", default="US", show_default=True, help="ISO 3166 country code.")
@click.option("--accredited/--not-accredited", default=False, show_default=True)
@click.option("--investor-type", default="individual", show_default=True)
@click.pass_context
def accounts_add(ctx: click.Context, account_id: str, member_id: str, name: str, jurisdiction: str,
                 accredited: bool, investor_type: str) -> None:
    """Open an investor account at a member."""
    store = _store(ctx)
    if member_id not in store.load_world().members:
        raise click.ClickException(f"no member {member_id}: add it first with `venue members add`")
    if len(jurisdiction) != 2 or not jurisdiction.isalpha():
        raise click.BadParameter("use a two-letter country code such as US", param_hint="--jurisdiction")
    store.add_account(Account(account_id, member_id, name, jurisdiction.upper(), accredited, investor_type))
    click.echo(f"account {account_id} added at {member_id}")


@accounts.command("list")
@click.option("--member", "member_id")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def accounts_list(ctx: click.Context, member_id: str | None, as_json: bool) -> None:
    """List investor accounts."""
    world = _store(ctx).load_world()
    rows = [{"account": a.account_id, "member": a.member_id, "name": a.name, "jurisdiction": a.jurisdiction,
             "accredited": a.accredited, "type": a.investor_type}
            for a in sorted(world.accounts.values(), key=lambda a: a.account_id)
            if member_id is None or a.member_id == member_id]
    _out(rows, as_json)


@main.group()
def securities() -> None:
    """Securities listed on the venue."""


@securities.command("add")
@click.argument("symbol")
@click.option("--name", required=True)
@click.option("--tick", default="0.01", show_default=True, help="Tick size in the quote currency.")
@click.option("--lot", type=click.IntRange(min=1), default=1, show_default=True, help="Lot size in token units.")
@click.option("--offering", type=click.Choice([o.value for o in Offering]), default=Offering.REGISTERED.value,
              show_default=True)
@click.option("--reference-price", help="Reference price for price bands before the first trade.")
@click.option("--band-bps", type=click.IntRange(min=1), help="Price band around the reference, basis points.")
@click.option("--periodic-auction", type=click.IntRange(min=1),
              help="Trade in call auctions every N seconds instead of continuously.")
@click.option("--holding-period-days", type=click.IntRange(min=1),
              help="Rule 144 / Reg CF holding period per lot (183 reporting issuer, 365 otherwise).")
@click.option("--wait", type=float, default=1.0, show_default=True,
              help="Seconds to wait for a running venue to open the book.")
@click.pass_context
def securities_add(ctx: click.Context, symbol: str, name: str, tick: str, lot: int, offering: str,
                   reference_price: str | None, band_bps: int | None, periodic_auction: int | None,
                   holding_period_days: int | None, wait: float) -> None:
    """List a security; a running venue opens its book at once (see `venue securities set` for its
    compliance rules)."""
    tick_size = _decimal(tick, "--tick")
    ref = _decimal(reference_price, "--reference-price") if reference_price else None
    if ref is not None and ref % tick_size:
        raise click.BadParameter(f"{ref} is not a multiple of the tick {tick_size}", param_hint="--reference-price")
    store = _store(ctx)
    store.add_security(Security(symbol, name, tick_size, lot, Offering(offering), reference_price=ref,
                                band_bps=band_bps, auction_interval_s=periodic_auction,
                                holding_period_days=holding_period_days))
    click.echo(f"security {symbol} added")
    send_ops(store, "reload", symbol, wait)


@securities.command("list")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def securities_list(ctx: click.Context, as_json: bool) -> None:
    """List securities and their trading status."""
    world = _store(ctx).load_world()
    rows = [{"symbol": s.symbol, "name": s.name, "tick": str(s.tick_size), "lot": s.lot_size,
             "offering": s.offering.value, "status": s.trading_status.value}
            for s in sorted(world.securities.values(), key=lambda s: s.symbol)]
    _out(rows, as_json)


# ---------------------------------------------------------------- trading control
def _ops(ctx: click.Context, command: str, symbol: str, wait: float) -> None:
    store = _store(ctx)
    if symbol not in store.load_world().securities:
        raise click.ClickException(f"unknown symbol {symbol}; see `venue securities list`")
    send_ops(store, command, symbol, wait)


def send_ops(store: Store, command: str, argument: str, wait: float) -> None:
    """Queue an instruction for the running venue and wait for its answer."""
    command_id = store.enqueue_ops_command(command, argument, requested_by=os.environ.get("USER", "cli"))
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        row = store.ops_command(command_id)
        if row and row["status"] != "pending":
            if row["status"] == "failed":
                raise click.ClickException(f"{command} {argument} failed: {row['result']}")
            click.echo(f"{row['result']}")
            return
        time.sleep(0.1)
    click.echo(f"{command} {argument} queued (#{command_id}); no running venue took it within {wait:g}s, "
               "it applies when the venue starts")


@main.command()
@click.argument("symbol")
@click.option("--wait", type=float, default=5.0, show_default=True, help="Seconds to wait for the venue.")
@click.pass_context
def halt(ctx: click.Context, symbol: str, wait: float) -> None:
    """Halt trading in SYMBOL: new orders are rejected until `venue resume SYMBOL`."""
    _ops(ctx, "halt", symbol, wait)


@main.command()
@click.argument("symbol")
@click.option("--wait", type=float, default=5.0, show_default=True, help="Seconds to wait for the venue.")
@click.pass_context
def resume(ctx: click.Context, symbol: str, wait: float) -> None:
    """Resume trading in SYMBOL."""
    _ops(ctx, "resume", symbol, wait)


@main.command()
@click.option("--member")
@click.option("--symbol")
@click.option("--account")
@click.option("--status", type=click.Choice(["open", "all", "filled", "canceled", "expired", "rejected"]),
              default="open", show_default=True)
@click.option("--limit", type=click.IntRange(min=1), default=200, show_default=True)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def orders(ctx: click.Context, member: str | None, symbol: str | None, account: str | None, status: str,
           limit: int, as_json: bool) -> None:
    """List orders (newest first)."""
    codes = {"open": ["0", "1"], "filled": ["2"], "canceled": ["4"], "expired": ["C"], "rejected": ["8"],
             "all": None}[status]
    store = _store(ctx)
    if member is None:
        from venue.access import audit_read
        audit_read(store, "orders", f"member=all symbol={symbol or 'all'} account={account or 'all'} status={status}")
    world = store.load_world()
    rows = []
    for o in store.orders(member=member, symbol=symbol, status=codes, account=account, limit=limit):
        sec = world.securities.get(o.symbol)
        price = sec.to_price(o.price) if (sec and o.price is not None) else "MKT"
        rows.append({"order_id": o.order_id, "member": o.member_id, "cl_ord_id": o.cl_ord_id,
                     "account": o.account, "symbol": o.symbol, "side": o.side.name, "type": o.ord_type.name,
                     "price": price, "qty": o.qty, "cum": o.cum, "leaves": o.leaves, "tif": o.tif.name,
                     "status": o.status.name})
    _out(rows, as_json)


@main.command()
@click.option("--comp-id")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def logons(ctx: click.Context, comp_id: str | None, as_json: bool) -> None:
    """Logon attempts, accepted and refused, oldest first."""
    from datetime import datetime, timezone
    rows = [{"at": datetime.fromtimestamp(e["at_us"] / 1e6, tz=timezone.utc).isoformat(timespec="milliseconds"),
             "comp_id": e["comp_id"], "outcome": e["outcome"], "reason": e["reason"]}
            for e in _store(ctx).auth_events(comp_id)]
    _out(rows, as_json)


from venue import cli_rules  # noqa: E402 - the rule commands attach to the groups above
from venue.cli_access import access, members_entitle, members_revoke, report  # noqa: E402

from venue.cli_chain import COMMANDS as _CHAIN_COMMANDS  # noqa: E402

cli_rules.register(members, accounts, securities, main)
for _command in _CHAIN_COMMANDS:
    main.add_command(_command)
members.add_command(members_entitle)
members.add_command(members_revoke)
main.add_command(access)
main.add_command(report)
from venue.cli_reports import register as register_reports  # noqa: E402

register_reports(report)

if __name__ == "__main__":
    main()
