"""`venue report ...`: the regulatory reports (spec/records.md, spec/fair-access.md).

    venue report audit-trail --day YYYY-MM-DD     order audit trail (Rule 302) and daily summary
    venue report ats-r --quarter 2026Q4           Form ATS-R content
    venue report finra-4552 --week 2026-W47       FINRA Rule 4552 weekly volume
    venue report trades [--late]                  trade reports and cancels (makes the ones due first)
    venue report cat --day YYYY-MM-DD             CAT-style order events, the day's clock-sync state
    venue report fair-access [--symbol S] [--month YYYY-MM]   Reg ATS 301(b)(5) volume test, access log
    venue report affiliation MEMBER --affiliated|--not-affiliated --relationship TEXT

Every report takes --format csv|json|text (default csv; fair-access: text) and --out FILE (default:
standard output). Days, weeks and quarters are those of the venue's time zone (the default trading
calendar's, from --config / $VENUE_CONFIG / the sandbox's config; UTC without one). Every report
takes --reason: it is recorded with the operator in the read log before anything is shown
(301(b)(10); `venue.cli.common.guard`).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from dataclasses import fields
from datetime import UTC, datetime
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, Decimal
from pathlib import Path

import click
from click.core import ParameterSource

from venue import fair_access as fa
from venue.calendar import TradingCalendar
from venue.cli.common import (
    open_store,
    operator_name,
    readable_cell,
    report_output,
    table_text,
    venue_config,
    write_text,
)
from venue.clock import now_us
from venue.config import ConfigError, VenueConfig, load_config
from venue.reports import build
from venue.reports import store as rs
from venue.reports.trade_reporting import report_trades
from venue.reports.writers import Report, to_csv, to_json, write
from venue.store import StoreError
from venue.store import access as sa


# ---------------------------------------------------------------- shared
def _calendar(ctx: click.Context) -> TradingCalendar:
    """The venue's default trading calendar (its time zone and holidays)."""
    path = venue_config(ctx)
    if path is None or not path.exists():
        return TradingCalendar()
    try:
        return load_config(path).calendar_for("default")
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None


def _venue(ctx: click.Context) -> tuple[str, Callable[[str], TradingCalendar]]:
    """The venue's identifier on its reports (its CompID; the config has no separate MPID) and each
    security's trading calendar (its regular hours), from the config; the defaults without one."""
    path = venue_config(ctx)
    if path is None or not path.exists():
        default = next(f.default for f in fields(VenueConfig) if f.name == "comp_id")
        return default, lambda _symbol: TradingCalendar()
    try:
        config = load_config(path)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    return config.comp_id, config.calendar_for


def _period(parse, value: str, hint: str):
    try:
        return parse(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint=hint) from None


def report_text(report: Report) -> str:
    """A report as tables for reading: its facts, then each section after a `# <section>` line (the
    layout of the CSV on standard output)."""
    about = [{"key": k, "value": v} for k, v in {"report": report.name, **report.facts}.items()]
    parts = ["# about\n" + table_text(about, readable=True)]
    parts += [
        f"# {name}\n" + table_text([{c: row.get(c) for c in s.columns} for row in s.rows], readable=True)
        for name, s in report.sections.items()
    ]
    return "\n".join(parts)


def _emit(report: Report, fmt: str, out: Path | None) -> None:
    if fmt == "text":
        if out is None:
            click.echo(report_text(report), nl=False)
            return
        write_text(out, report_text(report))
        click.echo(f"wrote {report.name}: {out}")
        return
    if out is None:
        click.echo(to_json(report) if fmt == "json" else to_csv(report), nl=False)
        return
    try:
        files = write(report, out, fmt)
    except OSError as exc:
        raise click.ClickException(f"cannot write {out}: {exc.strerror or exc}") from None
    click.echo(f"wrote {report.name}: " + ", ".join(str(f) for f in files))


# ---------------------------------------------------------------- records (spec/records.md)
@click.command("audit-trail")
@click.option("--day", required=True, help="Trading day YYYY-MM-DD (venue time zone).")
@report_output(default="csv")
@click.pass_context
def audit_trail(ctx: click.Context, day: str, fmt: str, out: Path | None) -> None:
    """Order audit trail (Rule 302): every order event of the day with its gate decisions, and the
    day's summary per security (trades, quantity, dollar value)."""
    from venue.reports.periods import day_period

    cal = _calendar(ctx)
    period = _period(lambda v: day_period(v, cal.timezone), day, "--day")
    store = open_store(ctx)
    _emit(build.audit_trail(store, period.first, cal.timezone, now_us()), fmt, out)


@click.command("ats-r")
@click.option("--quarter", required=True, help="Calendar quarter YYYYQn, e.g. 2026Q4.")
@report_output(default="csv")
@click.pass_context
def ats_r(ctx: click.Context, quarter: str, fmt: str, out: Path | None) -> None:
    """Form ATS-R content: volume by security category, securities traded, subscribers and their
    affiliation, the quarter's grants, denials and limitations of access; the due date."""
    from venue.reports.periods import quarter_period

    cal = _calendar(ctx)
    q = _period(lambda v: quarter_period(v, cal.timezone), quarter, "--quarter")
    store = open_store(ctx)
    report = build.ats_r(store, q.label, cal.timezone, now_us())
    _emit(report, fmt, out)
    if report.facts["subscribers_without_affiliation"]:
        click.echo(
            f"warning: {report.facts['subscribers_without_affiliation']} subscriber(s) without a recorded "
            "affiliation: see `venue report affiliation`",
            err=True,
        )


@click.command("finra-4552")
@click.option("--week", required=True, help="ISO week YYYY-Www, e.g. 2026-W47.")
@report_output(default="csv")
@click.pass_context
def finra_4552(ctx: click.Context, week: str, fmt: str, out: Path | None) -> None:
    """FINRA Rule 4552 weekly volume per security (a cross counts as one trade) and its due date."""
    from venue.reports.periods import week_period

    cal = _calendar(ctx)
    w = _period(lambda v: week_period(v, cal.timezone), week, "--week")
    store = open_store(ctx)
    _emit(build.finra_4552(store, w.label, cal, now_us()), fmt, out)


@click.command("trades")
@click.option(
    "--late", is_flag=True, help="Only reports made more than 10 s after execution (a cancel: after the bust)."
)
@report_output(default="csv")
@click.pass_context
def trades(ctx: click.Context, late: bool, fmt: str, out: Path | None) -> None:
    """Trade reports (FINRA 6610-style). Reports every trade that has none yet and cancels the reports
    of busted trades, then lists them."""
    ats_id, calendar_for = _venue(ctx)
    store = open_store(ctx)
    made = report_trades(store, now_us(), ats_id=ats_id, calendar_for=calendar_for)
    if made:
        cancels = sum(1 for r in made if r["action"] == "cancel")
        late = sum(1 for r in made if r["late"])
        click.echo(f"reported {len(made) - cancels} trade(s) and {cancels} cancel(s), {late} late", err=True)
    _emit(build.trade_reports(store, now_us(), late_only=late), fmt, out)


@click.command("cat")
@click.option("--day", required=True, help="Trading day YYYY-MM-DD (venue time zone).")
@report_output(default="csv")
@click.pass_context
def cat(ctx: click.Context, day: str, fmt: str, out: Path | None) -> None:
    """CAT-style order events of a day: new, modify, cancel, trade, trade_bust (µs timestamps, UTC),
    with the day's recorded clock-sync state in the header."""
    from venue.reports.periods import day_period

    cal = _calendar(ctx)
    ats_id, _ = _venue(ctx)
    period = _period(lambda v: day_period(v, cal.timezone), day, "--day")
    store = open_store(ctx)
    _emit(build.cat_export(store, period.first, cal.timezone, now_us(), ats_id=ats_id), fmt, out)


@click.command("affiliation")
@click.argument("member")
@click.option(
    "--affiliated/--not-affiliated", required=True, help="Whether the subscriber is affiliated with the ATS operator."
)
@click.option("--relationship", default="", help="How (required with --affiliated), e.g. 'owned by the parent'.")
@click.pass_context
def affiliation(ctx: click.Context, member: str, affiliated: bool, relationship: str) -> None:
    """Record a subscriber's affiliation with the ATS operator (Form ATS-R subscriber list)."""
    relationship = " ".join(relationship.split())
    if affiliated and not relationship:
        raise click.UsageError("--affiliated needs --relationship: say how the subscriber is affiliated")
    store = open_store(ctx)
    if member not in {m["member_id"] for m in rs.members(store)}:
        raise click.ClickException(f"no member {member}; see `venue members list`")
    try:
        rs.set_affiliation(store, member, affiliated, relationship or "none", now_us(), operator=operator_name(ctx))
    except StoreError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"{member}: {'affiliated (' + relationship + ')' if affiliated else 'not affiliated'}")


# ---------------------------------------------------------------- fair access (spec/fair-access.md)
_PCT = Decimal("0.0001")
_ADV = Decimal("0.01")
REPORT_COLUMNS = [
    "symbol",
    "month",
    "venue_volume",
    "market_volume",
    "trading_days",
    "venue_adv",
    "market_adv",
    "share_pct",
    "at_least_5pct",
    "fair_access",
    "qualifying_months",
    "note",
]
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
        "symbol": symbol,
        "month": str(v.month),
        "venue_volume": v.venue_volume,
        "market_volume": v.market_volume,
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


def _csv_text(rows: list[dict], columns: list[str], lineterminator: str = "\r\n") -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns, lineterminator=lineterminator)
    writer.writeheader()
    for r in rows:
        writer.writerow({c: readable_cell(r[c]) for c in columns})
    return buf.getvalue()


def _write_csv(path: Path, rows: list[dict], columns: list[str]) -> None:
    write_text(path, _csv_text(rows, columns))


@click.command("fair-access")
@click.option("--symbol", help="One security (default: every security with data or listed).")
@click.option("--month", "month_text", help="Report month YYYY-MM: shows it and the 6 months before it.")
@click.option("--json", "as_json", is_flag=True, help="JSON on standard output (the same as --format json).")
@click.option(
    "--csv",
    "csv_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the months to FILE and the access log to FILE-access-log.csv (the same as --format csv --out FILE).",
)
@report_output(default="text")
@click.pass_context
def report_fair_access(
    ctx: click.Context,
    symbol: str | None,
    month_text: str | None,
    as_json: bool,
    csv_file: Path | None,
    fmt: str,
    out: Path | None,
) -> None:
    """Per security and month: the venue's volume, the market's, the venue's share of average daily
    volume, and whether the security is under the fair-access regime (5% or more in at least 4 of the
    6 preceding months); then the access log."""
    if as_json and csv_file:
        raise click.UsageError("use --json or --csv, not both")
    if as_json or csv_file:
        implied, flag = ("json", "--json") if as_json else ("csv", "--csv")
        if ctx.get_parameter_source("fmt") is not ParameterSource.DEFAULT and fmt != implied:
            raise click.UsageError(f"{flag} is --format {implied}: use one of them")
        if csv_file and out:
            raise click.UsageError("use --csv FILE or --out FILE, not both")
        fmt, out = implied, out or csv_file
    try:
        month = fa.Month.parse(month_text) if month_text else None
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--month") from None
    store = open_store(ctx)
    venue = sa.venue_daily_volume(store, symbol)
    market = sa.market_daily_volume(store, symbol)
    listed = set(store.load_world().securities)
    symbols = sorted({symbol} if symbol else listed | set(venue) | set(market))
    if symbol and symbol not in listed | set(venue) | set(market):
        raise click.ClickException(f"no security {symbol} and no volume for it; see `venue securities list`")
    if month is not None:
        months = month.shift(-fa.LOOKBACK_MONTHS).through(month)
    else:
        current = fa.Month.of(datetime.now(UTC).date())
        span = fa.data_months(*venue.values(), *market.values())
        months = (span[0] if span else current).through(max(span[1], current) if span else current)
    rows = [_month_row(s, v, r) for s in symbols for v, r in fa.assess(venue.get(s, {}), market.get(s, {}), months)]
    log = [r.as_row() for r in sa.access_log(store)]
    if fmt == "csv" and out is not None:
        log_file = out.with_name(f"{out.stem}-access-log.csv")
        _write_csv(out, rows, REPORT_COLUMNS)
        _write_csv(log_file, log, LOG_COLUMNS)
        click.echo(f"wrote {len(rows)} month row(s) to {out} and {len(log)} access-log record(s) to {log_file}")
        return
    if fmt == "json":
        for r in rows:
            r["qualifying_months"], r["presumed_months"] = r.pop("_qualifying"), r.pop("_presumed")
        text = (
            json.dumps(
                {
                    "threshold_pct": str(fa.THRESHOLD * 100),
                    "lookback_months": fa.LOOKBACK_MONTHS,
                    "months_required": fa.MONTHS_REQUIRED,
                    "months": rows,
                    "access_log": log,
                },
                indent=2,
            )
            + "\n"
        )
    elif fmt == "csv":
        text = (
            "# months\n"
            + _csv_text(rows, REPORT_COLUMNS, "\n")
            + "\n# access-log\n"
            + _csv_text(log, LOG_COLUMNS, "\n")
        )
    else:
        text = (
            f"Fair access (Reg ATS 301(b)(5)): a security is under the regime in a month when the venue's "
            f"share of its average daily volume was {fa.THRESHOLD * 100}% or more in at least "
            f"{fa.MONTHS_REQUIRED} of the {fa.LOOKBACK_MONTHS} calendar months before it.\n\n"
            + table_text([{c: r[c] for c in REPORT_COLUMNS} for r in rows], readable=True)
            + "\nAccess log\n"
            + table_text(log, readable=True)
        )
    if out is None:
        click.echo(text, nl=False)
        return
    write_text(out, text)
    click.echo(f"wrote fair-access: {out}")
