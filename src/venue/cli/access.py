"""`venue` commands for fair access (Reg ATS 301(b)(5)) and confidential trading information
(301(b)(10)); see spec/fair-access.md. The fair-access report is `venue report fair-access`
(cli/reports.py).

    venue members add MEMBER --name ...      admission, with the access granted
    venue members suspend|activate MEMBER --reason ... --standard ...
    venue members entitle MEMBER SYMBOL|*
    venue members revoke MEMBER SYMBOL|*
    venue access import-volume FILE.csv      columns symbol,date,quantity
    venue access log [--member M]            grants, denials, limitations, with reasons
    venue access deny APPLICANT --reason ... --standard ...
    venue access standards                   the written access standards
    venue access reads [--since D] [--operator NAME]   recorded reads of confidential information

Who may run each command, and which take --reason because they show members' confidential
trading information, is in `venue.cli.ROLES`.
"""

from __future__ import annotations

from pathlib import Path

import click

from venue import fair_access as fa
from venue.access import ALL_SECURITIES, AccessStandards, load_standards
from venue.cli.common import JSON, NotConfirmed, open_store, operator_name, out, send_ops, since_us, venue_config
from venue.clock import iso_utc
from venue.config import ConfigError
from venue.store import access as sa

GRANT_REASON = "meets the written access standards"


# ---------------------------------------------------------------- shared
def standards(ctx: click.Context) -> AccessStandards:
    """The venue's written access standards."""
    try:
        return load_standards(venue_config(ctx))
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None


def _standard(ctx: click.Context, value: str | None, *, grant: bool = False) -> str:
    """--standard, checked against the written standards; a grant defaults to the admission ones."""
    written = standards(ctx)
    if value is None:
        if grant:
            return ",".join(written.admission)
        raise click.BadParameter(
            "name the written standard applied (see `venue access standards`)", param_hint="--standard"
        )
    try:
        return written.check(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--standard") from None


def _reason(value: str | None) -> str:
    if value is None or not value.strip():
        raise click.BadParameter("say why (it is kept in the access log)", param_hint="--reason")
    return value.strip()


def _tell_venue(ctx: click.Context, member_id: str) -> None:
    """A running venue reloads the registry, so the change applies to the member's next order."""
    try:
        send_ops(open_store(ctx), "reload", member_id, 1.0)
    except NotConfirmed as exc:  # an access decision stands on its own; say the venue has not applied it yet
        click.echo(exc.message)


# ---------------------------------------------------------------- members add / suspend / activate
@click.command("add")
@click.argument("member_id")
@click.option("--name", required=True)
@click.option(
    "--kind", type=click.Choice(["broker_dealer", "market_maker"]), default="broker_dealer", show_default=True
)
@click.option(
    "--reason", default=GRANT_REASON, show_default=True, help="Why access is granted (kept in the access log)."
)
@click.option(
    "--standard",
    help="Written access standard id(s) met, comma-separated (default: the admission "
    "standards; see `venue access standards`).",
)
@click.pass_context
def members_add(ctx: click.Context, member_id: str, name: str, kind: str, reason: str, standard: str | None) -> None:
    """Onboard a member: access to the venue and to every security, recorded in the access log."""
    checked, why = _standard(ctx, standard, grant=True), _reason(reason)
    sa.admit_member(open_store(ctx), member_id, name, kind, why, checked, operator_name(ctx))
    click.echo(f"member {member_id} added, entitled to every security")


@click.command("suspend")
@click.argument("member_id")
@click.option("--reason", required=True, help="Why access is limited (kept in the access log).")
@click.option("--standard", required=True, help="Written access standard id(s) applied, e.g. AS-4.")
@click.pass_context
def members_suspend(ctx: click.Context, member_id: str, reason: str, standard: str) -> None:
    """Suspend a member: its sessions can no longer log on. Recorded as a limitation of access."""
    checked, why = _standard(ctx, standard), _reason(reason)
    record = sa.limit_member(open_store(ctx), member_id, why, checked, operator_name(ctx))
    _tell_venue(ctx, member_id)
    click.echo(f"member {member_id} suspended (access log #{record})")


@click.command("activate")
@click.argument("member_id")
@click.option("--reason", required=True, help="Why access is restored (kept in the access log).")
@click.option("--standard", required=True, help="Written access standard id(s) met again, e.g. AS-4.")
@click.pass_context
def members_activate(ctx: click.Context, member_id: str, reason: str, standard: str) -> None:
    """Re-activate a suspended member. Recorded as a restoration of access."""
    checked, why = _standard(ctx, standard), _reason(reason)
    record = sa.restore_member(open_store(ctx), member_id, why, checked, operator_name(ctx))
    _tell_venue(ctx, member_id)
    click.echo(f"member {member_id} active (access log #{record})")


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
    record = sa.grant_entitlement(open_store(ctx), member_id, symbol, why, checked, operator_name(ctx))
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
    record = sa.revoke_entitlement(open_store(ctx), member_id, symbol, why, checked, operator_name(ctx))
    what = "every security (*)" if symbol == ALL_SECURITIES else symbol
    click.echo(f"{member_id} no longer entitled to {what} (access log #{record})")
    _tell_venue(ctx, member_id)


# ---------------------------------------------------------------- access
@click.command("standards")
@JSON
@click.pass_context
def access_standards(ctx: click.Context, as_json: bool) -> None:
    """The venue's written access standards."""
    written = standards(ctx)
    rows = [{"id": s.id, "admission": s.id in written.admission, "text": s.text} for s in written.standards]
    out(rows, as_json, readable=True)


@click.command("import-volume")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.pass_context
def access_import_volume(ctx: click.Context, file: Path) -> None:
    """Import daily market volume from a CSV file (columns symbol,date,quantity): all rows or none.
    A day already imported for a symbol is replaced."""
    store = open_store(ctx)
    try:
        with file.open(newline="", encoding="utf-8-sig") as f:
            rows = fa.parse_market_volume(f, known_symbols=store.load_world().securities)
    except UnicodeDecodeError:
        raise click.ClickException(f"{file}: not a UTF-8 text file; nothing imported") from None
    except fa.VolumeFileError as exc:
        shown = exc.errors[:50]
        more = f"\n... and {len(exc.errors) - len(shown)} more" if len(exc.errors) > len(shown) else ""
        raise click.ClickException(
            f"{file}: {len(exc.errors)} bad row(s), nothing imported:\n" + "\n".join(shown) + more
        ) from None
    if not rows:
        raise click.ClickException(f"{file}: no rows after the header; nothing imported")
    written, replaced = sa.import_market_volume(store, rows, operator=operator_name(ctx))
    symbols = sorted({r.symbol for r in rows})
    days = sorted(r.day for r in rows)
    click.echo(
        f"imported {written} day(s) of market volume for {', '.join(symbols)}, {days[0]} to {days[-1]}"
        + (f" ({replaced} replaced)" if replaced else "")
    )


@click.command("log")
@click.option("--member", "member_id", help="Only this member's (or applicant's) records.")
@JSON
@click.pass_context
def access_log(ctx: click.Context, member_id: str | None, as_json: bool) -> None:
    """Every grant, denial, limitation, restoration and revocation of access, oldest first."""
    out([r.as_row() for r in sa.access_log(open_store(ctx), member_id)], as_json, readable=True)


@click.command("deny")
@click.argument("applicant")
@click.option("--reason", required=True, help="Why (kept in the access log).")
@click.option("--standard", required=True, help="Written standard id(s) not met, e.g. AS-1.")
@click.option("--scope", default="venue", show_default=True, help="What was applied for: venue, or a symbol.")
@click.pass_context
def access_deny(ctx: click.Context, applicant: str, reason: str, standard: str, scope: str) -> None:
    """Record a refused application for access (the applicant need not be a member)."""
    checked, why = _standard(ctx, standard), _reason(reason)
    record = sa.record_access(open_store(ctx), applicant, "deny", scope, why, checked, operator_name(ctx))
    click.echo(f"denial of {applicant} recorded (access log #{record})")


@click.command("reads")
@click.option("--since", help="From this UTC date or time (YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS).")
@click.option("--operator", "actor", help="Only this operator's reads.")
@JSON
@click.pass_context
def access_reads(ctx: click.Context, since: str | None, actor: str | None, as_json: bool) -> None:
    """Recorded reads of members' confidential trading information by the venue's staff: when, who,
    which command and scope, and why (oldest first)."""
    rows = [
        {
            "id": r["id"],
            "at": iso_utc(r["at_us"], "seconds"),
            "operator": r["actor"],
            "command": r["command"],
            "scope": r["scope"],
            "reason": r["reason"],
        }
        for r in sa.data_access_log(open_store(ctx), since_us=since_us(since), actor=actor)
    ]
    out(rows, as_json, readable=True)
