"""`venue report ...` commands for the regulatory records (spec/records.md). They attach to the
`report` group of venue.cli_access through `register(report)`:

    venue report audit-trail --day YYYY-MM-DD     order audit trail (Rule 302) and daily summary
    venue report ats-r --quarter 2026Q4           Form ATS-R content
    venue report finra-4552 --week 2026-W47       FINRA Rule 4552 weekly volume
    venue report trades [--late]                  trade reports (reports unreported trades first)
    venue report cat --day YYYY-MM-DD             CAT-style order events
    venue report affiliation MEMBER --affiliated|--not-affiliated --relationship TEXT

Each report takes --format csv|json (default csv) and --out FILE (default: standard output). Days,
weeks and quarters are those of the venue's time zone (the default trading calendar's, from
--config / $VENUE_CONFIG / the sandbox's config; UTC without one). Reads across members are
recorded with the operator's identity before anything is shown (301(b)(10)).
"""

from __future__ import annotations

from pathlib import Path

import click

from venue.access import audit_read
from venue.calendar import TradingCalendar
from venue.config import ConfigError, load_config
from venue.reports import build
from venue.reports import store as rs
from venue.reports.trade_reporting import report_trades
from venue.reports.writers import Report, to_csv, to_json, write
from venue.store import Store
from venue.store.repository import StoreError, now_us


def _store(ctx: click.Context) -> Store:
    from venue.cli import _store as open_store  # the CLI's own lookup: --db-url, --config, the sandbox's
    return open_store(ctx)


def _calendar(ctx: click.Context) -> TradingCalendar:
    """The venue's default trading calendar (its time zone and holidays)."""
    from venue.cli_access import _config_path
    path = _config_path(ctx)
    if path is None or not path.exists():
        return TradingCalendar()
    try:
        return load_config(path).calendar_for("default")
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None


def _emit(report: Report, fmt: str, out: Path | None) -> None:
    if out is None:
        click.echo(to_json(report) if fmt == "json" else to_csv(report), nl=False)
        return
    try:
        files = write(report, out, fmt)
    except OSError as exc:
        raise click.ClickException(f"cannot write {out}: {exc.strerror or exc}") from None
    click.echo(f"wrote {report.name}: " + ", ".join(str(f) for f in files))


def _period(parse, value: str, hint: str):
    try:
        return parse(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint=hint) from None


def output_options(fn):
    fn = click.option("--out", type=click.Path(dir_okay=False, path_type=Path),
                      help="Write to FILE (CSV: other sections beside it as FILE-<section>.csv).")(fn)
    return click.option("--format", "fmt", type=click.Choice(["csv", "json"]), default="csv", show_default=True,
                        help="Output format.")(fn)


@click.command("audit-trail")
@click.option("--day", required=True, help="Trading day YYYY-MM-DD (venue time zone).")
@output_options
@click.pass_context
def audit_trail(ctx: click.Context, day: str, fmt: str, out: Path | None) -> None:
    """Order audit trail (Rule 302): every order event of the day with its gate decisions, and the
    day's summary per security (trades, quantity, dollar value)."""
    from venue.reports.periods import day_period
    cal = _calendar(ctx)
    period = _period(lambda v: day_period(v, cal.timezone), day, "--day")
    store = _store(ctx)
    audit_read(store, "report audit-trail", f"day={period.label}")
    _emit(build.audit_trail(store, period.first, cal.timezone, now_us()), fmt, out)


@click.command("ats-r")
@click.option("--quarter", required=True, help="Calendar quarter YYYYQn, e.g. 2026Q4.")
@output_options
@click.pass_context
def ats_r(ctx: click.Context, quarter: str, fmt: str, out: Path | None) -> None:
    """Form ATS-R content: volume by security category, securities traded, subscribers and their
    affiliation, the quarter's grants, denials and limitations of access; the due date."""
    from venue.reports.periods import quarter_period
    cal = _calendar(ctx)
    q = _period(lambda v: quarter_period(v, cal.timezone), quarter, "--quarter")
    store = _store(ctx)
    audit_read(store, "report ats-r", f"quarter={q.label}")
    report = build.ats_r(store, q.label, cal.timezone, now_us())
    _emit(report, fmt, out)
    if report.facts["subscribers_without_affiliation"]:
        click.echo(f"warning: {report.facts['subscribers_without_affiliation']} subscriber(s) without a recorded "
                   "affiliation: see `venue report affiliation`", err=True)


@click.command("finra-4552")
@click.option("--week", required=True, help="ISO week YYYY-Www, e.g. 2026-W47.")
@output_options
@click.pass_context
def finra_4552(ctx: click.Context, week: str, fmt: str, out: Path | None) -> None:
    """FINRA Rule 4552 weekly volume per security (a cross counts as one trade) and its due date."""
    from venue.reports.periods import week_period
    cal = _calendar(ctx)
    w = _period(lambda v: week_period(v, cal.timezone), week, "--week")
    store = _store(ctx)
    audit_read(store, "report finra-4552", f"week={w.label}")
    _emit(build.finra_4552(store, w.label, cal, now_us()), fmt, out)


@click.command("trades")
@click.option("--late", is_flag=True, help="Only reports made more than 10 s after execution.")
@output_options
@click.pass_context
def trades(ctx: click.Context, late: bool, fmt: str, out: Path | None) -> None:
    """Trade reports (FINRA 6610-style). Reports every trade that has none yet, then lists them."""
    store = _store(ctx)
    audit_read(store, "report trades", "late" if late else "all")
    made = report_trades(store, now_us())
    if made:
        click.echo(f"reported {len(made)} trade(s), {sum(1 for r in made if r['late'])} late", err=True)
    _emit(build.trade_reports(store, now_us(), late_only=late), fmt, out)


@click.command("cat")
@click.option("--day", required=True, help="Trading day YYYY-MM-DD (venue time zone).")
@output_options
@click.pass_context
def cat(ctx: click.Context, day: str, fmt: str, out: Path | None) -> None:
    """CAT-style order events of a day: new, modify, cancel, trade (µs timestamps, UTC)."""
    from venue.reports.periods import day_period
    cal = _calendar(ctx)
    period = _period(lambda v: day_period(v, cal.timezone), day, "--day")
    store = _store(ctx)
    audit_read(store, "report cat", f"day={period.label}")
    _emit(build.cat_export(store, period.first, cal.timezone, now_us()), fmt, out)


@click.command("affiliation")
@click.argument("member")
@click.option("--affiliated/--not-affiliated", required=True,
              help="Whether the subscriber is affiliated with the ATS operator.")
@click.option("--relationship", default="", help="How (required with --affiliated), e.g. 'owned by the parent'.")
@click.pass_context
def affiliation(ctx: click.Context, member: str, affiliated: bool, relationship: str) -> None:
    """Record a subscriber's affiliation with the ATS operator (Form ATS-R subscriber list)."""
    relationship = " ".join(relationship.split())
    if affiliated and not relationship:
        raise click.UsageError("--affiliated needs --relationship: say how the subscriber is affiliated")
    store = _store(ctx)
    if member not in {m["member_id"] for m in rs.members(store)}:
        raise click.ClickException(f"no member {member}; see `venue members list`")
    try:
        rs.set_affiliation(store, member, affiliated, relationship or "none", now_us())
    except StoreError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"{member}: {'affiliated (' + relationship + ')' if affiliated else 'not affiliated'}")


COMMANDS = (audit_trail, ats_r, finra_4552, trades, cat, affiliation)


def register(report_group: click.Group) -> None:
    """Attach the records commands to the `report` group."""
    for command in COMMANDS:
        report_group.add_command(command)
