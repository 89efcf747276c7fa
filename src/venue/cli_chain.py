"""`venue` commands for settlement and the transfer agent's books (registered on `venue.cli.main`).

    venue settle                         run the settlement worker in the foreground
    venue settlement list [--status S]   trades and their settlement status
    venue settlement show TRADE_ID       one trade's settlement and its events
    venue ta cap-table SYMBOL            holders of record (from holdings and lots)
    venue ta reconcile [SYMBOL]          on-chain balances against holdings; exit 1 on breaks

The store is found as for every `venue` command (--db-url, --config, VENUE_CONFIG, the sandbox's
config); the chain from the `[chain]` section of the config file (spec/settlement.md).
"""

from __future__ import annotations

import csv
import json
import logging
import os
import sys
from datetime import datetime, timezone
from pathlib import Path

import click

from venue.config import ConfigError
from venue.store.settlement import SettlementState, SettlementStore

# venue.cli registers these commands at its end; importing its helpers lazily keeps
# `python -m venue.cli` (where venue.cli is __main__) free of an import cycle.


def _store(ctx: click.Context):
    from venue.cli import _store as store_of
    return store_of(ctx)


def _out(rows: list[dict], as_json: bool) -> None:
    from venue.cli import _out as out
    out(rows, as_json)


def _config_path(ctx: click.Context) -> Path:
    opts = ctx.find_root().obj or {}
    config = opts.get("config") or os.environ.get("VENUE_CONFIG")
    from venue.cli import DEFAULT_SANDBOX_DIR
    path = Path(config) if config else DEFAULT_SANDBOX_DIR / "venue.toml"
    if not path.exists():
        raise click.ClickException(f"no config file: {path} does not exist. Pass --config FILE (with a [chain] "
                                   "section) or start `venue sandbox` first.")
    return path


def _chain_config(ctx: click.Context):
    from venue.chain.service import load_chain_config
    path = _config_path(ctx)
    try:
        cfg = load_chain_config(path)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    if cfg is None:
        raise click.ClickException(f"{path} has no [chain] section: add one (url, deployment, operator_key; "
                                   "see spec/settlement.md) to settle on chain")
    return cfg


def _time(us: int | None) -> str:
    if us is None:
        return "-"
    return datetime.fromtimestamp(us / 1e6, tz=timezone.utc).isoformat(timespec="milliseconds")


# ---------------------------------------------------------------- the worker
@click.command()
@click.option("--url", help="Node URL (overrides [chain] url; needed when it says \"embedded\").")
@click.option("-v", "--verbose", is_flag=True)
@click.pass_context
def settle(ctx: click.Context, url: str | None, verbose: bool) -> None:
    """Run the settlement worker in the foreground until Ctrl-C (one worker per operator key)."""
    from venue.chain.service import run_worker
    cfg = _chain_config(ctx)
    _store(ctx).dispose()  # migrates the store if needed, as every command does
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s %(message)s")
    code = run_worker(cfg.config_path, url=url, install_signals=True)
    if code:
        raise click.ClickException("the settlement worker could not start: see the messages above")


# ---------------------------------------------------------------- settlement status
@click.group()
def settlement() -> None:
    """Settlement status of trades (pending, submitted, confirmed, final, failed)."""


@settlement.command("list")
@click.option("--status", type=click.Choice([s.value for s in SettlementState]), help="Only this status.")
@click.option("--symbol")
@click.option("--limit", type=click.IntRange(min=1), default=200, show_default=True)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def settlement_list(ctx: click.Context, status: str | None, symbol: str | None, limit: int, as_json: bool) -> None:
    """List trades and their settlement, newest first, with a count per status."""
    store = SettlementStore(_store(ctx))
    trades = store.list_trades(SettlementState(status) if status else None, symbol, limit)
    rows = [{"trade_id": r["trade_id"], "symbol": r["symbol"], "qty": r["qty"], "price": r["price"],
             "seller": r["sell_account"], "buyer": r["buy_account"], "status": r["settlement_status"],
             "attempts": r["settlement_attempts"], "block": r["block_number"] or "-",
             "tx_hash": r["tx_hash"] or "-", "error": r["settlement_error"] or ""} for r in trades]
    if as_json:
        _out(rows, True)
        return
    _out(rows, False)
    counts = store.status_counts()
    click.echo("  ".join(f"{s.value}: {counts.get(s.value, 0)}" for s in SettlementState))


@settlement.command("show")
@click.argument("trade_id", type=int)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def settlement_show(ctx: click.Context, trade_id: int, as_json: bool) -> None:
    """One trade's settlement columns and its settlement events."""
    store = SettlementStore(_store(ctx))
    row = store.trade_row(trade_id)
    if row is None:
        raise click.ClickException(f"no trade {trade_id}; see `venue settlement list`")
    events = store.events(trade_id)
    if as_json:
        click.echo(json.dumps({"trade": row, "events": events}, indent=2, default=str))
        return
    for key in ("trade_id", "symbol", "qty", "price", "sell_account", "buy_account", "executed_us",
                "settlement_status", "settlement_attempts", "tx_hash", "block_number", "settlement_error",
                "settlement_updated_us"):
        value = row[key]
        if key.endswith("_us"):
            value = _time(value)
        click.echo(f"{key:22} {value if value is not None else '-'}")
    click.echo("events:")
    _out([{"id": e["id"], "outcome": e["outcome"], "block": e["block_number"] or "-",
           "created": _time(e["created_us"]), "reported": _time(e["processed_us"]), "reason": e["reason"] or ""}
          for e in events], False)


# ---------------------------------------------------------------- transfer agent
@click.group()
def ta() -> None:
    """Transfer-agent books: holders of record, and reconciliation with the chain."""


@ta.command("cap-table")
@click.argument("symbol")
@click.option("--csv", "csv_file", type=click.Path(dir_okay=False, writable=True), help="Write it as CSV.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def ta_cap_table(ctx: click.Context, symbol: str, csv_file: str | None, as_json: bool) -> None:
    """Holders of record of SYMBOL from holdings and lots (final settlements only)."""
    store = SettlementStore(_store(ctx))
    if symbol not in store.securities():
        raise click.ClickException(f"unknown symbol {symbol}; see `venue securities list`")
    table = store.cap_table(symbol)
    rows = [{"account": h.account_id, "member": h.member_id or "-", "name": h.name or "-",
             "jurisdiction": h.jurisdiction or "-", "accredited": h.accredited, "quantity": h.quantity,
             "percent": f"{100 * h.quantity / table.outstanding:.4f}" if table.outstanding else "0",
             "lots": h.lots, "first_acquired": _time(h.first_acquired_us),
             "last_acquired": _time(h.last_acquired_us)} for h in table.holders]
    if as_json:
        click.echo(json.dumps({"symbol": symbol, "holders": table.holder_count, "outstanding": table.outstanding,
                               "holders_of_record": rows}, indent=2))
        return
    if csv_file:
        with open(csv_file, "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=list(rows[0]) if rows else ["account", "quantity"])
            writer.writeheader()
            writer.writerows(rows)
        click.echo(f"{symbol}: {table.holder_count} holders of record, {table.outstanding} outstanding; "
                   f"written to {csv_file}")
        return
    _out(rows, False)
    click.echo(f"{symbol}: {table.holder_count} holders of record, {table.outstanding} outstanding")


@ta.command("reconcile")
@click.argument("symbol", required=False)
@click.option("--url", help="Node URL (overrides [chain] url; needed when it says \"embedded\").")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def ta_reconcile(ctx: click.Context, symbol: str | None, url: str | None, as_json: bool) -> None:
    """Compare on-chain balances with holdings (SYMBOL, USD for cash, or everything); print every
    break; exit 1 when there are breaks."""
    from venue.chain.errors import ChainError
    from venue.chain.service import reconcile_config
    cfg = _chain_config(ctx)
    store = _store(ctx)
    try:
        result = reconcile_config(cfg, store, symbol, url)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    except ChainError as exc:
        raise click.ClickException(f"cannot read the chain: {exc}") from None
    finally:
        store.dispose()
    rows = [{"kind": b.kind, "asset": b.asset, "account": b.account_id or "-",
             "chain": "-" if b.chain is None else str(b.chain), "ledger": "-" if b.ledger is None else str(b.ledger),
             "difference": "-" if b.difference is None else str(b.difference), "note": b.note}
            for b in result.breaks]
    if as_json:
        click.echo(json.dumps({"assets": result.assets, "accounts": result.accounts_checked,
                               "in_flight_settled": result.in_flight_settled, "breaks": rows}, indent=2))
    else:
        if rows:
            _out(rows, False)
        extra = (f"; {len(result.in_flight_settled)} trades settled on chain but not final yet were counted in"
                 if result.in_flight_settled else "")
        click.echo(f"reconciled {', '.join(result.assets)} over {result.accounts_checked} accounts: "
                   f"{len(result.breaks)} break{'' if len(result.breaks) == 1 else 's'}{extra}")
    if result.breaks:
        ctx.exit(1)


COMMANDS = [settle, settlement, ta]
