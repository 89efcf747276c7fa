"""`venue` commands for fair access (Reg ATS 301(b)(5)) and confidential trading information
(301(b)(10)); see spec/fair-access.md.

    venue report fair-access [--symbol S] [--month YYYY-MM] [--json | --csv FILE]
    venue access import-volume FILE.csv      columns symbol,date,quantity
    venue access log [--member M]            grants, denials, limitations, with reasons
    venue access deny APPLICANT --reason ... --standard ...
    venue access standards                   the written access standards
    venue access reads                       recorded reads across members
    venue members entitle MEMBER SYMBOL|*    (attached to the `members` group in venue.cli)
    venue members revoke MEMBER SYMBOL|*

Reads across members (the report, the access log) are recorded with the operator's identity
($VENUE_OPERATOR, else the OS user name) before anything is shown.
"""

from __future__ import annotations

import csv
import json
import os
from datetime import datetime, timezone
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, Decimal
from pathlib import Path

import click

from venue import fair_access as fa
from venue.access import ALL_SECURITIES, AccessStandards, audit_read, load_standards, operator
from venue.config import ConfigError
from venue.store import Store
from venue.store import access as sa

GRANT_REASON = "meets the written access standards"


# ---------------------------------------------------------------- shared
def _open(ctx: click.Context) -> Store:
    from venue.cli import _store  # the CLI's own lookup: --db-url, --config, VENUE_CONFIG, the sandbox's
    return _store(ctx)


def _config_path(ctx: click.Context) -> Path | None:
    """The venue config whose [access] standards apply: --config, VENUE_CONFIG, or (without --db-url)
    the sandbox's; None when only --db-url was given (the default standards apply then)."""
    opts = ctx.find_root().obj or {}
    config = opts.get("config") or os.environ.get("VENUE_CONFIG")
    if config:
        return Path(config)
    if opts.get("db_url"):
        return None
    from venue.cli import DEFAULT_SANDBOX_DIR
    return DEFAULT_SANDBOX_DIR / "venue.toml"


def standards(ctx: click.Context) -> AccessStandards:
    """The venue's written access standards."""
    try:
        return load_standards(_config_path(ctx))
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None


def _standard(ctx: click.Context, value: str | None, *, grant: bool = False) -> str:
    """--standard, checked against the written standards; a grant defaults to the admission ones."""
    written = standards(ctx)
    if value is None:
        if grant:
            return ",".join(written.admission)
        raise click.BadParameter("name the written standard applied (see `venue access standards`)",
                                 param_hint="--standard")
    try:
        return written.check(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--standard") from None


def _reason(value: str | None) -> str:
    if value is None or not value.strip():
        raise click.BadParameter("say why (it is kept in the access log)", param_hint="--reason")
    return value.strip()


def _print(rows: list[dict]) -> None:
    if not rows:
        click.echo("(none)")
        return
    cols = list(rows[0])
    text = [{c: _cell(r[c]) for c in cols} for r in rows]
    widths = {c: max(len(c), *(len(r[c]) for r in text)) for c in cols}
    click.echo("  ".join(c.ljust(widths[c]) for c in cols).rstrip())
    for r in text:
        click.echo("  ".join(r[c].ljust(widths[c]) for c in cols).rstrip())


def _cell(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (list, tuple)):
        return " ".join(str(v) for v in value) or "-"
    return str(value)


def _write_csv(path: Path, rows: list[dict], columns: list[str]) -> None:
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=columns)
        writer.writeheader()
        for r in rows:
            writer.writerow({c: _cell(r[c]) for c in columns})


# ---------------------------------------------------------------- members add / suspend / activate
def admit(ctx: click.Context, member_id: str, name: str, kind: str, reason: str | None,
          standard: str | None) -> None:
    """`members add`: the member, its access to every security, and the grants, recorded together."""
    checked, why = _standard(ctx, standard, grant=True), _reason(reason)
    sa.admit_member(_open(ctx), member_id, name, kind, why, checked, operator())


def suspend(ctx: click.Context, member_id: str, reason: str | None, standard: str | None) -> int:
    """`members suspend`: suspend and record the limitation; returns the access-log id."""
    checked, why = _standard(ctx, standard), _reason(reason)
    record = sa.limit_member(_open(ctx), member_id, why, checked, operator())
    _tell_venue(ctx, member_id)
    return record


def activate(ctx: click.Context, member_id: str, reason: str | None, standard: str | None) -> int:
    """`members activate`: re-activate and record the restoration; returns the access-log id."""
    checked, why = _standard(ctx, standard), _reason(reason)
    record = sa.restore_member(_open(ctx), member_id, why, checked, operator())
    _tell_venue(ctx, member_id)
    return record


def _tell_venue(ctx: click.Context, member_id: str) -> None:
    """A running venue reloads the registry, so the change applies to the member's next order."""
    from venue.cli import send_ops
    send_ops(_open(ctx), "reload", member_id, 1.0)


# ---------------------------------------------------------------- members entitle / revoke
@click.command("entitle")
@click.argument("member_id")
@click.argument("symbol")
@click.option("--reason", default=GRANT_REASON, show_default=True, help="Why (kept in the access log).")
@click.option("--standard", help="Written standard id(s) met, comma-separated (default: the admission ones).")
@click.pass_context
def members_entitle(ctx: click.Context, member_id: str, symbol: str, reason: str, standard: str | None) -> None:
    """Entitle a member to trade SYMBOL (* = every security); recorded in the access log."""
    checked, why = _standard(ctx, standard, grant=True), _reason(reason)
    record = sa.grant_entitlement(_open(ctx), member_id, symbol, why, checked, operator())
    what = "every security" if symbol == ALL_SECURITIES else symbol
    click.echo(f"{member_id} entitled to {what} (access log #{record})")
    _tell_venue(ctx, member_id)


@click.command("revoke")
@click.argument("member_id")
@click.argument("symbol")
@click.option("--reason", required=True, help="Why (kept in the access log).")
@click.option("--standard", required=True, help="Written standard id(s) applied, e.g. AS-6.")
@click.pass_context
def members_revoke(ctx: click.Context, member_id: str, symbol: str, reason: str, standard: str) -> None:
    """Withdraw a member's entitlement to SYMBOL (* = the entitlement to every security)."""
    checked, why = _standard(ctx, standard), _reason(reason)
    record = sa.revoke_entitlement(_open(ctx), member_id, symbol, why, checked, operator())
    what = "every security (*)" if symbol == ALL_SECURITIES else symbol
    click.echo(f"{member_id} no longer entitled to {what} (access log #{record})")
    _tell_venue(ctx, member_id)


# ---------------------------------------------------------------- access
@click.group("access")
def access() -> None:
    """Fair access: written standards, the access log, imported market volume."""


@access.command("standards")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def access_standards(ctx: click.Context, as_json: bool) -> None:
    """The venue's written access standards."""
    written = standards(ctx)
    rows = [{"id": s.id, "admission": s.id in written.admission, "text": s.text} for s in written.standards]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
    else:
        _print(rows)


@access.command("import-volume")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.pass_context
def access_import_volume(ctx: click.Context, file: Path) -> None:
    """Import daily market volume from a CSV file (columns symbol,date,quantity): all rows or none.
    A day already imported for a symbol is replaced."""
    store = _open(ctx)
    try:
        with file.open(newline="", encoding="utf-8-sig") as f:
            rows = fa.parse_market_volume(f, known_symbols=store.load_world().securities)
    except UnicodeDecodeError:
        raise click.ClickException(f"{file}: not a UTF-8 text file; nothing imported") from None
    except fa.VolumeFileError as exc:
        shown = exc.errors[:50]
        more = f"\n... and {len(exc.errors) - len(shown)} more" if len(exc.errors) > len(shown) else ""
        raise click.ClickException(f"{file}: {len(exc.errors)} bad row(s), nothing imported:\n"
                                   + "\n".join(shown) + more) from None
    if not rows:
        raise click.ClickException(f"{file}: no rows after the header; nothing imported")
    written, replaced = sa.import_market_volume(store, rows)
    symbols = sorted({r.symbol for r in rows})
    days = sorted(r.day for r in rows)
    click.echo(f"imported {written} day(s) of market volume for {', '.join(symbols)}, {days[0]} to {days[-1]}"
               + (f" ({replaced} replaced)" if replaced else ""))


@access.command("log")
@click.option("--member", "member_id", help="Only this member's (or applicant's) records.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def access_log(ctx: click.Context, member_id: str | None, as_json: bool) -> None:
    """Every grant, denial, limitation, restoration and revocation of access, oldest first."""
    store = _open(ctx)
    audit_read(store, "access log", f"member={member_id or 'all'}")
    rows = [r.as_row() for r in sa.access_log(store, member_id)]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
    else:
        _print(rows)


@access.command("deny")
@click.argument("applicant")
@click.option("--reason", required=True, help="Why (kept in the access log).")
@click.option("--standard", required=True, help="Written standard id(s) not met, e.g. AS-1.")
@click.option("--scope", default="venue", show_default=True, help="What was applied for: venue, or a symbol.")
@click.pass_context
def access_deny(ctx: click.Context, applicant: str, reason: str, standard: str, scope: str) -> None:
    """Record a refused application for access (the applicant need not be a member)."""
    checked, why = _standard(ctx, standard), _reason(reason)
    record = sa.record_access(_open(ctx), applicant, "deny", scope, why, checked, operator())
    click.echo(f"denial of {applicant} recorded (access log #{record})")


@access.command("reads")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def access_reads(ctx: click.Context, as_json: bool) -> None:
    """Recorded reads across members' trading information (who, which command, when)."""
    rows = [{"id": r["id"], "at": _utc(r["at_us"]), "operator": r["actor"], "command": r["command"],
             "scope": r["scope"]} for r in sa.data_access_log(_open(ctx))]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
    else:
        _print(rows)


def _utc(at_us: int) -> str:
    return datetime.fromtimestamp(at_us / 1e6, tz=timezone.utc).isoformat(timespec="seconds")


# ---------------------------------------------------------------- report fair-access
@click.group("report")
def report() -> None:
    """Regulatory reports."""


_PCT = Decimal("0.0001")
_ADV = Decimal("0.01")
REPORT_COLUMNS = ["symbol", "month", "venue_volume", "market_volume", "trading_days", "venue_adv", "market_adv",
                  "share_pct", "at_least_5pct", "fair_access", "qualifying_months", "note"]
LOG_COLUMNS = ["id", "at", "member", "action", "scope", "standard", "reason", "actor"]


def _month_row(symbol: str, v: fa.MonthVolume, r: fa.Regime) -> dict:
    share = v.share
    notes = []
    if v.presumed:
        notes.append("no market data: presumed 5% or more")
    elif not v.has_market_data:
        notes.append("no market data")
    if r.presumed:
        notes.append(f"regime counts {len(r.presumed)} presumed month(s)")
    return {
        "symbol": symbol, "month": str(v.month), "venue_volume": v.venue_volume, "market_volume": v.market_volume,
        "trading_days": v.trading_days,
        "venue_adv": None if v.venue_adv is None else str(v.venue_adv.quantize(_ADV, ROUND_HALF_EVEN)),
        "market_adv": None if v.market_adv is None else str(v.market_adv.quantize(_ADV, ROUND_HALF_EVEN)),
        # Shown rounded down, so 4.99999% never reads 5.0000%; the test itself is exact.
        "share_pct": None if share is None else str((share * 100).quantize(_PCT, ROUND_DOWN)),
        "at_least_5pct": v.qualifies,
        "fair_access": r.fair_access,
        "qualifying_months": f"{len(r.qualifying)}/{len(r.lookback)}",
        "note": "; ".join(notes) or None,
        "_qualifying": [str(m) for m in r.qualifying],
        "_presumed": [str(m) for m in r.presumed],
    }


@report.command("fair-access")
@click.option("--symbol", help="One security (default: every security with data or listed).")
@click.option("--month", "month_text", help="Report month YYYY-MM: shows it and the 6 months before it.")
@click.option("--json", "as_json", is_flag=True, help="JSON on standard output.")
@click.option("--csv", "csv_file", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the months to FILE and the access log to FILE-access-log.csv.")
@click.pass_context
def report_fair_access(ctx: click.Context, symbol: str | None, month_text: str | None, as_json: bool,
                       csv_file: Path | None) -> None:
    """Per security and month: the venue's volume, the market's, the venue's share of average daily
    volume, and whether the security is under the fair-access regime (5% or more in at least 4 of the
    6 preceding months); then the access log."""
    if as_json and csv_file:
        raise click.UsageError("use --json or --csv, not both")
    try:
        month = fa.Month.parse(month_text) if month_text else None
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--month") from None
    store = _open(ctx)
    audit_read(store, "report fair-access", f"symbol={symbol or 'all'} month={month_text or 'all'}")
    venue = sa.venue_daily_volume(store, symbol)
    market = sa.market_daily_volume(store, symbol)
    listed = set(store.load_world().securities)
    symbols = sorted({symbol} if symbol else listed | set(venue) | set(market))
    if symbol and symbol not in listed | set(venue) | set(market):
        raise click.ClickException(f"no security {symbol} and no volume for it; see `venue securities list`")
    if month is not None:
        months = month.shift(-fa.LOOKBACK_MONTHS).through(month)
    else:
        current = fa.Month.of(datetime.now(timezone.utc).date())
        span = fa.data_months(*venue.values(), *market.values())
        months = (span[0] if span else current).through(max(span[1], current) if span else current)
    rows = [_month_row(s, v, r) for s in symbols
            for v, r in fa.assess(venue.get(s, {}), market.get(s, {}), months)]
    log = [r.as_row() for r in sa.access_log(store)]
    if as_json:
        for r in rows:
            r["qualifying_months"], r["presumed_months"] = r.pop("_qualifying"), r.pop("_presumed")
        click.echo(json.dumps({"threshold_pct": str(fa.THRESHOLD * 100), "lookback_months": fa.LOOKBACK_MONTHS,
                               "months_required": fa.MONTHS_REQUIRED, "months": rows, "access_log": log},
                              indent=2))
        return
    if csv_file:
        log_file = csv_file.with_name(f"{csv_file.stem}-access-log.csv")
        _write_csv(csv_file, rows, REPORT_COLUMNS)
        _write_csv(log_file, log, LOG_COLUMNS)
        click.echo(f"wrote {len(rows)} month row(s) to {csv_file} and {len(log)} access-log record(s) to {log_file}")
        return
    click.echo(f"Fair access (Reg ATS 301(b)(5)): a security is under the regime in a month when the venue's "
               f"share of its average daily volume was {fa.THRESHOLD * 100}% or more in at least "
               f"{fa.MONTHS_REQUIRED} of the {fa.LOOKBACK_MONTHS} calendar months before it.\n")
    _print([{c: r[c] for c in REPORT_COLUMNS} for r in rows])
    click.echo("\nAccess log")
    _print(log)
