"""`venue init`, `venue serve` and `venue sandbox`: create the store, run the venue."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import click

from venue.access import Role, load_operators, operators_toml, os_user
from venue.cli.common import DEFAULT_SANDBOX_DIR, given_config, open_store, venue_config
from venue.config import ConfigError, load_config


@click.command()
@click.pass_context
def init(ctx: click.Context) -> None:
    """Create or upgrade the store's schema (Alembic migrations). With --config FILE: write FILE if
    it does not exist, and name you (your OS user) admin in it if it names no operators yet."""
    config = venue_config(ctx)
    if config is not None and (config.exists() or given_config(ctx) is not None):
        _first_admin(config, ctx.find_root().obj.get("db_url"))
    store = open_store(ctx, migrate=True)
    click.echo(f"store ready: {store.engine.url.render_as_string(hide_password=True)}")
    if config is None:
        click.echo(
            "no venue config: every command but init and sandbox needs one naming its operators; "
            "`venue --db-url URL --config FILE init` writes one naming you admin",
            err=True,
        )


def _first_admin(config: Path, db_url: str | None) -> None:
    """Write `config` (when missing) and its `[operators]` section naming the invoking OS user admin
    (when it names no operators): the one time a role is given without an admin."""
    if config.exists():
        try:
            if load_operators(config) is not None:
                return
        except ConfigError as exc:
            raise click.ClickException(str(exc)) from None
    me = os_user()
    if me is None:
        raise click.ClickException(
            f"this process's uid {os.getuid()} has no OS user name to write into [operators] of {config} as admin"
        )
    try:
        if config.exists():
            text = config.read_text()
            config.write_text(
                text + ("" if text.endswith("\n") or not text else "\n") + operators_toml({me: Role.ADMIN})
            )
        else:
            url = db_url or "sqlite:///venue.db"
            config.parent.mkdir(parents=True, exist_ok=True)
            config.write_text(
                "# Venue configuration (written by `venue init`; keys: src/venue/config.py).\n"
                f"[venue]\ndatabase_url = {json.dumps(url)}\n" + operators_toml({me: Role.ADMIN})
            )
    except OSError as exc:
        raise click.ClickException(f"cannot write {config}: {exc.strerror or exc}") from None
    click.echo(f"{config}: OS user {me} is the venue's admin ([operators]); an admin grants other roles there")


@click.command()
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
        cfg = load_config(
            Path(config), database_url=opts.get("db_url"), data_dir=Path(data_dir) if data_dir else None, port=port
        )
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


@click.command()
@click.option("--port", type=int, default=9878, show_default=True, help="Plaintext FIX port (from 127.0.0.1 only).")
@click.option("--tls-port", type=int, help="TLS FIX port (mutual TLS).  [default: --port + 1]")
@click.option(
    "--session-start",
    default="00:00:00",
    show_default=True,
    help='When the FIX day starts, UTC HH:MM:SS (sequence numbers reset to 1), or "none".',
)
@click.option("--data-dir", type=click.Path(file_okay=False), default=str(DEFAULT_SANDBOX_DIR), show_default=True)
@click.option("--resume", is_flag=True, help="Keep the existing sandbox state instead of starting fresh.")
@click.option(
    "--chain",
    default="anvil",
    show_default=True,
    help="Where trades settle: 'anvil' (a local node from the npm packages, started with the venue), "
    "'embedded' (py-evm in a child process: no npm packages needed, slower), a JSON-RPC URL (the "
    "sandbox contracts are deployed there), or 'none' (no settlement).",
)
@click.option("-v", "--verbose", is_flag=True)
@click.option(
    "--with-market-maker",
    is_flag=True,
    help="Also run examples/market_maker.py as MM1, quoting every sandbox security.",
)
@click.pass_context
def sandbox(
    ctx: click.Context,
    port: int,
    tls_port: int | None,
    session_start: str,
    data_dir: str,
    resume: bool,
    chain: str,
    verbose: bool,
    with_market_maker: bool,
) -> None:
    """Start a fresh certification sandbox venue (see spec/sandbox.md)."""
    from venue import sandbox as sb
    from venue.server import serve as run

    if chain not in ("anvil", "embedded", "none") and not chain.startswith(("http://", "https://")):
        raise click.BadParameter("use 'anvil', 'embedded', 'none' or an http(s):// JSON-RPC URL", param_hint="--chain")
    if chain == "anvil":
        from venue.chain.backend import find_anvil

        if find_anvil() is None:
            raise click.ClickException(
                "anvil is not installed (node_modules/@foundry-rs/anvil): run `npm ci`, or use --chain embedded"
            )
    opts = ctx.find_root().obj
    config = sb.prepare(
        Path(data_dir),
        port,
        database_url=opts.get("db_url"),
        fresh=not resume,
        chain=chain,
        tls_port=tls_port,
        session_start=session_start,
    )
    try:
        cfg = load_config(config, port=port)
        chain_cfg = _chain_config(config)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    tls_names = ", ".join(comp_id for comp_id, *_ in sb.TLS_SESSIONS)
    click.echo(
        f"sandbox: sessions BRKA, BRKB, MM1 (order entry), OPSDC, BRKADC (drop copy); password "
        f"'{sb.SANDBOX_PASSWORD}'; venue CompID ATS; FIX 4.4 on 127.0.0.1:{port}; settlement: "
        f"{chain_cfg.url if chain_cfg else 'none'}\n"
        f"sandbox: over mutual TLS on port {cfg.tls.port if cfg.tls else '-'}: {tls_names}, client "
        f"certificates in {Path(data_dir) / 'tls' / 'clients'}, CA {Path(data_dir) / 'tls' / 'ca.pem'}"
    )
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

    script = Path(__file__).resolve().parents[3] / "examples" / "market_maker.py"
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
