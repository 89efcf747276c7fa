"""`venue` commands for settlement and the transfer agent's books.

    venue settle                         run the settlement worker in the foreground
    venue settlement list [--status S]   trades and their settlement status
    venue settlement show TRADE_ID       one trade's settlement and its events
    venue ta cap-table SYMBOL            holders of record (from holdings and lots)
    venue ta reconcile [SYMBOL]          on-chain balances against holdings; exit 1 on breaks
    venue keystore create --out FILE     encrypt the operator's key into a keystore ([chain] operator_keystore)
    venue securities attach SYMBOL --token ADDR   settle SYMBOL in an issuer's own ERC-3643 token
    venue accounts set-wallet ACCOUNT --address ADDR   the investor's own wallet, by address

The store is found as for every `venue` command (--db-url, --config, VENUE_CONFIG, the sandbox's
config); the chain from the `[chain]` section of the config file (spec/settlement.md).
"""

from __future__ import annotations

import csv
import logging
import os
import sys
from pathlib import Path

import click

from venue.cli.common import DEFAULT_SANDBOX_DIR, JSON, REASON, open_store, operator_name, out, out_json, table
from venue.clock import iso_utc
from venue.config import ConfigError
from venue.store.settlement import SettlementState, SettlementStore


def _config_path(ctx: click.Context) -> Path:
    """The config file with the [chain] section: --config, VENUE_CONFIG or the sandbox's (even with --db-url)."""
    opts = ctx.find_root().obj or {}
    config = opts.get("config") or os.environ.get("VENUE_CONFIG")
    path = Path(config) if config else DEFAULT_SANDBOX_DIR / "venue.toml"
    if not path.exists():
        raise click.ClickException(
            f"no config file: {path} does not exist. Pass --config FILE (with a [chain] "
            "section) or start `venue sandbox` first."
        )
    return path


def _chain_config(ctx: click.Context):
    from venue.chain.service import load_chain_config

    path = _config_path(ctx)
    try:
        cfg = load_chain_config(path)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    if cfg is None:
        raise click.ClickException(
            f"{path} has no [chain] section: add one (url, deployment, operator_key; "
            "see spec/settlement.md) to settle on chain"
        )
    return cfg


def _time(us: int | None) -> str:
    if us is None:
        return "-"
    return iso_utc(us, "milliseconds")


# ---------------------------------------------------------------- the worker
@click.command()
@click.option("--url", help='Node URL (overrides [chain] url; needed when it says "embedded").')
@click.option("-v", "--verbose", is_flag=True)
@click.pass_context
def settle(ctx: click.Context, url: str | None, verbose: bool) -> None:
    """Run the settlement worker in the foreground until Ctrl-C (one worker per operator key)."""
    from venue.chain.service import run_worker

    cfg = _chain_config(ctx)
    open_store(ctx).dispose()  # migrates the store if needed, as every command does
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
    code = run_worker(cfg.config_path, url=url, install_signals=True)
    if code:
        raise click.ClickException("the settlement worker could not start: see the messages above")


# ---------------------------------------------------------------- settlement status
@click.command("list")
@click.option("--status", type=click.Choice([s.value for s in SettlementState]), help="Only this status.")
@click.option("--symbol")
@click.option("--limit", type=click.IntRange(min=1), default=200, show_default=True)
@JSON
@click.pass_context
def settlement_list(ctx: click.Context, status: str | None, symbol: str | None, limit: int, as_json: bool) -> None:
    """List trades and their settlement, newest first, with a count per status."""
    store = SettlementStore(open_store(ctx))
    trades = store.list_trades(SettlementState(status) if status else None, symbol, limit)
    rows = [
        {
            "trade_id": r["trade_id"],
            "symbol": r["symbol"],
            "qty": r["qty"],
            "price": r["price"],
            "seller": r["sell_account"],
            "buyer": r["buy_account"],
            "status": r["settlement_status"],
            "attempts": r["settlement_attempts"],
            "block": r["block_number"] or "-",
            "tx_hash": r["tx_hash"] or "-",
            "error": r["settlement_error"] or "",
        }
        for r in trades
    ]
    out(rows, as_json)
    if as_json:
        return
    counts = store.status_counts()
    click.echo("  ".join(f"{s.value}: {counts.get(s.value, 0)}" for s in SettlementState))


@click.command("show")
@click.argument("trade_id", type=int)
@JSON
@click.pass_context
def settlement_show(ctx: click.Context, trade_id: int, as_json: bool) -> None:
    """One trade's settlement columns and its settlement events."""
    store = SettlementStore(open_store(ctx))
    row = store.trade_row(trade_id)
    if row is None:
        raise click.ClickException(f"no trade {trade_id}; see `venue settlement list`")
    events = store.events(trade_id)
    if as_json:
        out_json({"trade": row, "events": events})
        return
    for key in (
        "trade_id",
        "symbol",
        "qty",
        "price",
        "sell_account",
        "buy_account",
        "executed_us",
        "settlement_status",
        "settlement_attempts",
        "tx_hash",
        "block_number",
        "settlement_error",
        "settlement_updated_us",
    ):
        value = row[key]
        if key.endswith("_us"):
            value = _time(value)
        click.echo(f"{key:22} {value if value is not None else '-'}")
    click.echo("events:")
    table(
        [
            {
                "id": e["id"],
                "outcome": e["outcome"],
                "block": e["block_number"] or "-",
                "created": _time(e["created_us"]),
                "reported": _time(e["processed_us"]),
                "reason": e["reason"] or "",
            }
            for e in events
        ]
    )


# ---------------------------------------------------------------- transfer agent
@click.command("cap-table")
@click.argument("symbol")
@click.option("--csv", "csv_file", type=click.Path(dir_okay=False, writable=True), help="Write it as CSV.")
@JSON
@click.pass_context
def ta_cap_table(ctx: click.Context, symbol: str, csv_file: str | None, as_json: bool) -> None:
    """Holders of record of SYMBOL from holdings and lots (final settlements only)."""
    store = SettlementStore(open_store(ctx))
    if symbol not in store.securities():
        raise click.ClickException(f"unknown symbol {symbol}; see `venue securities list`")
    cap = store.cap_table(symbol)
    rows = [
        {
            "account": h.account_id,
            "member": h.member_id or "-",
            "name": h.name or "-",
            "jurisdiction": h.jurisdiction or "-",
            "accredited": h.accredited,
            "quantity": h.quantity,
            "percent": f"{100 * h.quantity / cap.outstanding:.4f}" if cap.outstanding else "0",
            "lots": h.lots,
            "first_acquired": _time(h.first_acquired_us),
            "last_acquired": _time(h.last_acquired_us),
        }
        for h in cap.holders
    ]
    if as_json:
        out_json(
            {"symbol": symbol, "holders": cap.holder_count, "outstanding": cap.outstanding, "holders_of_record": rows}
        )
        return
    if csv_file:
        with open(csv_file, "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=list(rows[0]) if rows else ["account", "quantity"])
            writer.writeheader()
            writer.writerows(rows)
        click.echo(
            f"{symbol}: {cap.holder_count} holders of record, {cap.outstanding} outstanding; written to {csv_file}"
        )
        return
    table(rows)
    click.echo(f"{symbol}: {cap.holder_count} holders of record, {cap.outstanding} outstanding")


@click.command("reconcile")
@click.argument("symbol", required=False)
@click.option("--url", help='Node URL (overrides [chain] url; needed when it says "embedded").')
@JSON
@click.pass_context
def ta_reconcile(ctx: click.Context, symbol: str | None, url: str | None, as_json: bool) -> None:
    """Compare on-chain balances with holdings (SYMBOL, USD for cash, or everything); print every
    break; exit 1 when there are breaks."""
    from venue.chain.errors import ChainError
    from venue.chain.service import reconcile_config

    cfg = _chain_config(ctx)
    store = open_store(ctx)
    try:
        result = reconcile_config(cfg, store, symbol, url)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    except ChainError as exc:
        raise click.ClickException(f"cannot read the chain: {exc}") from None
    finally:
        store.dispose()
    rows = [
        {
            "kind": b.kind,
            "asset": b.asset,
            "account": b.account_id or "-",
            "chain": "-" if b.chain is None else str(b.chain),
            "ledger": "-" if b.ledger is None else str(b.ledger),
            "difference": "-" if b.difference is None else str(b.difference),
            "note": b.note,
        }
        for b in result.breaks
    ]
    if as_json:
        out_json(
            {
                "assets": result.assets,
                "accounts": result.accounts_checked,
                "in_flight_settled": result.in_flight_settled,
                "breaks": rows,
            }
        )
    else:
        if rows:
            table(rows)
        extra = (
            f"; {len(result.in_flight_settled)} trades settled on chain but not final yet were counted in"
            if result.in_flight_settled
            else ""
        )
        click.echo(
            f"reconciled {', '.join(result.assets)} over {result.accounts_checked} accounts: "
            f"{len(result.breaks)} break{'' if len(result.breaks) == 1 else 's'}{extra}"
        )
    if result.breaks:
        ctx.exit(1)


@click.command("attach")
@click.argument("symbol")
@click.option("--token", "token", required=True, help="Address of the issuer's ERC-3643 (T-REX) token.")
@click.option("--url", help='Node URL (overrides [chain] url; needed when it says "embedded").')
@REASON
@click.pass_context
def securities_attach(ctx: click.Context, symbol: str, token: str, url: str | None, reason: str) -> None:
    """Settle SYMBOL in an issuer's own ERC-3643 token at --token, which the venue did not deploy.

    Checks the token (identity registry, compliance bound to it, decimals 0, not paused, venue
    wallets verified in its registry, allowances to the DvP contract for every balance) and
    refuses, saying why, when one fails. Then records the token in the deployment file (and the
    registry change audit) and, if the ledger holds none of SYMBOL, each venue wallet's on-chain
    balance as its holding, with its lots (the venue's holding-period module's when it is bound,
    else one opening lot). The venue and its settlement worker read the deployment when they start:
    restart them."""
    from venue.chain.errors import ChainError
    from venue.chain.service import attach_token
    from venue.store.repository import StoreError

    cfg = _chain_config(ctx)
    store = open_store(ctx)
    try:
        result = attach_token(cfg, store, symbol, token, operator=operator_name(ctx), reason=reason, url=url)
        for w in result.wallets:
            click.echo(
                f"  {w.account_id:12} {w.address}  verified={'yes' if w.verified else 'no'}"
                f"{'  FROZEN' if w.frozen else ''}  balance={w.balance}  allowance to DvP="
                f"{'unlimited' if w.allowance >= 2**255 else w.allowance}"
            )
        for note in result.notes:
            click.echo(f"note: {note}")
        if result.refusals:
            raise click.ClickException(
                f"{symbol} not attached to {token}:\n" + "\n".join(f"  - {r}" for r in result.refusals)
            )
        sec = result.security
    except (ConfigError, StoreError) as exc:
        raise click.ClickException(str(exc)) from None
    except ChainError as exc:
        raise click.ClickException(f"cannot read the chain: {exc}") from None
    finally:
        store.dispose()
    if result.token_symbol != symbol:
        click.echo(f"note: the token calls itself {result.token_symbol!r}")
    click.echo(
        f"{symbol} attached to token {sec.token} (identity registry {sec.identity_registry}, compliance "
        f"{sec.compliance}); restart the venue and its settlement worker to trade it"
    )


@click.command("set-wallet")
@click.argument("account_id")
@click.option("--address", required=True, help="The investor's own wallet address (its key stays with the investor).")
@click.option("--url", help='Node URL (overrides [chain] url; needed when it says "embedded").')
@REASON
@click.pass_context
def accounts_set_wallet(ctx: click.Context, account_id: str, address: str, url: str | None, reason: str) -> None:
    """Settle ACCOUNT_ID's trades from and to the wallet at --address (an address only: the venue
    never holds an investor's key). The wallet itself approves the DvP contract for each token it
    sells and for the cash token. Restart the venue and its settlement worker to use it."""
    from venue.chain.errors import ChainError
    from venue.chain.service import bind_wallet

    cfg = _chain_config(ctx)
    store = open_store(ctx)
    try:
        wallet, notes = bind_wallet(
            cfg, store, account_id, address, operator=operator_name(ctx), reason=reason, url=url
        )
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    except ChainError as exc:
        raise click.ClickException(f"cannot read the chain: {exc}") from None
    finally:
        store.dispose()
    for note in notes:
        click.echo(f"note: {note}")
    click.echo(
        f"{account_id} settles from wallet {wallet.address} (identity {wallet.identity or 'none'}, country "
        f"{wallet.country}); restart the venue and its settlement worker to use it"
    )


@click.command("create")
@click.option(
    "--out", "out_path", required=True, type=click.Path(dir_okay=False, path_type=Path), help="Keystore file to write."
)
@click.option("--generate", is_flag=True, help="Make a new key instead of asking for one.")
@click.option(
    "--password-file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Read the password from this file (mode 0600), as [chain] operator_keystore_password_file will.",
)
def keystore_create(out_path: Path, generate: bool, password_file: Path | None) -> None:
    """Encrypt a private key into a keystore (Web3 Secret Storage v3, scrypt), mode 0600.

    The key is asked for (hidden) unless --generate; the password is asked for twice unless
    --password-file. Name the file in [chain] operator_keystore, with operator_keystore_password_env
    or operator_keystore_password_file (spec/settlement.md)."""
    import json
    import secrets

    from eth_account import Account

    from venue.chain.service import private_file_problem

    if out_path.exists():
        raise click.ClickException(f"{out_path} exists: choose another --out (a keystore is never overwritten)")
    if password_file is not None:
        problem = private_file_problem(password_file)
        if problem:
            raise click.ClickException(problem)
        password = password_file.read_text().rstrip("\n")
    else:
        password = click.prompt("Keystore password", hide_input=True, confirmation_prompt=True)
    if len(password) < 12:
        raise click.BadParameter("use a password of at least 12 characters", param_hint="password")
    if generate:
        key = "0x" + secrets.token_hex(32)
    else:
        key = click.prompt("Private key (hex)", hide_input=True).strip()
    try:
        account = Account.from_key(key)
    except (ValueError, TypeError):
        raise click.BadParameter("not a 32-byte hex private key", param_hint="private key") from None
    encrypted = Account.encrypt(account.key, password)
    fd = os.open(out_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(encrypted, f)
    click.echo(f"keystore {out_path} written for {account.address}")
