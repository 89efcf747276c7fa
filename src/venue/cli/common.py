"""What every `venue` command shares: the store and config it works on, who runs it and with
which role, its output (tables, `--json`, report `--format`), its options, waiting for the running
venue, and its errors.

The store is found from, in order: --db-url, --config, the VENUE_CONFIG environment variable, or
the sandbox's config (var/sandbox/venue.toml). The operators and their roles come from the
`[operators]` section of the venue config (--config, VENUE_CONFIG, or without --db-url the
sandbox's); `guard` makes a command check them before it runs (spec/fair-access.md section 5).
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path

import click
from sqlalchemy.exc import InterfaceError, OperationalError

from venue import operations
from venue.access import NotAnOperator, Operator, Role, identify, load_operators, os_user
from venue.config import ConfigError, load_config
from venue.store import Store, StoreError
from venue.store.access import record_data_access

DEFAULT_SANDBOX_DIR = Path("var/sandbox")


# ---------------------------------------------------------------- store and config
def open_store(ctx: click.Context, *, migrate: bool = False) -> Store:
    """The store the command works on. Only `venue init` migrates (`migrate=True`): any other
    command on a store that is empty or at an older schema says so and changes nothing."""
    opts = ctx.find_root().obj or {}
    url = opts.get("db_url")
    config = opts.get("config") or os.environ.get("VENUE_CONFIG")
    if not url:
        path = Path(config) if config else DEFAULT_SANDBOX_DIR / "venue.toml"
        if not path.exists():
            raise click.ClickException(
                f"no store to use: {path} does not exist. Pass --db-url URL or --config FILE "
                "(or start `venue sandbox` first)."
            )
        try:
            url = load_config(path).database_url
        except ConfigError as exc:
            raise click.ClickException(str(exc)) from None
    store = Store(url)
    shown = store.engine.url.render_as_string(hide_password=True)
    try:
        if migrate:
            store.migrate()
        elif not store.schema_current():
            raise click.ClickException(
                f"the store at {shown} is not initialised or has an older schema: run `venue init` first"
            )
    except (OperationalError, InterfaceError) as exc:
        raise click.ClickException(unreachable(exc, shown)) from None
    except click.ClickException:
        raise
    except Exception as exc:  # noqa: BLE001 - explain, don't dump a traceback
        raise click.ClickException(f"cannot open the store at {shown}: {exc}") from None
    return store


def venue_config(ctx: click.Context) -> Path | None:
    """The venue config whose settings apply (access standards, trading calendar): --config,
    VENUE_CONFIG, or (without --db-url) the sandbox's; None when only --db-url was given. The file
    may not exist."""
    opts = ctx.find_root().obj or {}
    config = opts.get("config") or os.environ.get("VENUE_CONFIG")
    if config:
        return Path(config)
    if opts.get("db_url"):
        return None
    return DEFAULT_SANDBOX_DIR / "venue.toml"


def given_config(ctx: click.Context) -> Path | None:
    """The config file named by --config or VENUE_CONFIG (None: neither was given)."""
    config = (ctx.find_root().obj or {}).get("config") or os.environ.get("VENUE_CONFIG")
    return Path(config) if config else None


def unreachable(exc, url: str | None = None) -> str:
    """One line for a database that does not answer (the driver's own reason, without SQLAlchemy's
    background link)."""
    reason = " ".join(str(getattr(exc, "orig", None) or exc).split())
    where = f" at {url}" if url else ""
    return f"cannot reach the store{where}: {reason} (check --db-url, or database_url in the config)"


# ---------------------------------------------------------------- errors
class VenueGroup(click.Group):
    """Turns store errors, an unreachable database and an engine that cannot start into one clear
    line instead of a traceback."""

    def invoke(self, ctx: click.Context):
        from venue.engine_process import EngineGone

        try:
            return super().invoke(ctx)
        except StoreError as exc:
            raise click.ClickException(str(exc)) from None
        except (OperationalError, InterfaceError) as exc:
            raise click.ClickException(unreachable(exc)) from None
        except EngineGone as exc:
            raise click.ClickException(f"{exc} (details in the venue's log)") from None


class NotConfirmed(click.ClickException):
    """The change is stored but no running venue confirmed it (exit code 3)."""

    exit_code = 3


class NotPermitted(click.ClickException):
    """The operator has no role that may run the command; nothing was touched (exit code 4)."""

    exit_code = 4


# ---------------------------------------------------------------- operators and roles
READ_REASON_ENV = "VENUE_READ_REASON"


@dataclass(frozen=True, slots=True)
class Needs:
    """Who may run a command: admin, and the `roles` named. `confidential`: the command shows
    members' confidential trading information, so it takes --reason and records the read first."""

    roles: frozenset[Role]
    confidential: bool = False
    checked: bool = True  # False: runs without a role (`venue sandbox`: a fresh venue of its own)
    bootstrap: bool = False  # runs without a role while the config names no operators (`venue init`)

    def names(self) -> str:
        """The roles that may run the command, in words: "ops, compliance or admin"."""
        roles = [r.value for r in Role if r in self.roles]
        return f"{', '.join(roles)} or admin" if roles else "admin"


NO_ROLE = Needs(frozenset(), checked=False)
BOOTSTRAP = Needs(frozenset(), bootstrap=True)
ADMIN = Needs(frozenset())
OPS = Needs(frozenset({Role.OPS}))
COMPLIANCE = Needs(frozenset({Role.COMPLIANCE}))
ANY_ROLE = Needs(frozenset({Role.OPS, Role.COMPLIANCE, Role.READ_ONLY}))
STAFF_READ = Needs(frozenset({Role.OPS, Role.COMPLIANCE}), confidential=True)
COMPLIANCE_READ = Needs(frozenset({Role.COMPLIANCE}), confidential=True)

# Parameters that say how a read is shown, not what was read: left out of its recorded scope.
_NOT_SCOPE = frozenset({"as_json", "fmt", "out", "csv_file", "limit", "read_reason"})


def leaf_commands(group: click.Group, prefix: str = "") -> Iterator[tuple[str, click.Command]]:
    """Every command under `group` that is not itself a group, with its path ("members add")."""
    for name, command in group.commands.items():
        path = f"{prefix}{name}"
        if isinstance(command, click.Group):
            yield from leaf_commands(command, f"{path} ")
        else:
            yield path, command


def guard(command: click.Command, path: str, needs: Needs | None) -> None:
    """Make `command` check its operator's role before it runs (a command without `needs`: admin
    only), and, when it shows confidential trading information, take --reason (or
    $VENUE_READ_REASON) and record the read in the read log before anything is shown."""
    needs = needs or ADMIN
    if needs.confidential:
        if any("--reason" in p.opts for p in command.params):
            raise RuntimeError(f"venue {path} has its own --reason; a confidential read's is added here")
        command.params.append(
            click.Option(
                ["--reason", "read_reason"],
                envvar=READ_REASON_ENV,
                help="Why you read this confidential trading information (kept with your name in the read "
                f"log, `venue access reads`; or ${READ_REASON_ENV}).",
            )
        )
    callback = command.callback
    assert callback is not None, path

    @functools.wraps(callback)
    def run(*args, **kwargs):
        ctx = click.get_current_context()
        reason = kwargs.pop("read_reason", None)
        operator = authorize(ctx, path, needs)
        if needs.confidential:
            assert operator is not None
            record_read(ctx, operator, path, reason)
        return callback(*args, **kwargs)

    command.callback = run


def authorize(ctx: click.Context, path: str, needs: Needs) -> Operator | None:
    """The operator running `venue <path>`, who must have a role `needs` names; NotPermitted (exit
    4) otherwise, before anything is touched. None for a command that runs without a role."""
    if not needs.checked:
        return None
    config = venue_config(ctx)
    me = os_user() or f"uid {os.getuid()}"
    if config is None or not config.exists():
        if needs.bootstrap:
            return None
        where = "pass --config FILE (or set VENUE_CONFIG)" if config is None else f"{config} does not exist"
        raise NotPermitted(
            f"`venue {path}` needs an operator role, and roles are kept in the venue config's [operators] "
            f"section: {where}. `venue --config FILE init` writes one naming you (OS user {me}) as admin."
        )
    try:
        operators = load_operators(config)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    if operators is None:
        if needs.bootstrap:
            return None
        raise NotPermitted(
            f"`venue {path}` needs an operator role, and {config} names no operators (no [operators] "
            f"section): `venue --config {config} init` adds one naming you (OS user {me}) as admin."
        )
    try:
        operator = identify(operators, config)
    except NotAnOperator as exc:
        raise NotPermitted(str(exc)) from None
    if not operator.role.may(needs.roles):
        raise NotPermitted(
            f"`venue {path}` needs the role {needs.names()}; {operator} may not run it "
            f"(an admin changes roles in [operators] of {config})"
        )
    ctx.find_root().obj["operator"] = operator
    return operator


def operator_name(ctx: click.Context | None = None) -> str:
    """The name of the authenticated operator running this command (recorded with every change)."""
    ctx = ctx or click.get_current_context()
    operator = (ctx.find_root().obj or {}).get("operator")
    if operator is None:
        raise RuntimeError("no authenticated operator: this command runs without a role and records nothing")
    return operator.name


def record_read(ctx: click.Context, operator: Operator, path: str, reason: str | None) -> None:
    """Record a read of confidential trading information (Reg ATS 301(b)(10)): the operator, the
    time, the command, its scope (the options given; * = every one) and why, before it runs.
    Refused (exit 2) without a reason."""
    if reason is None or not reason.strip():
        raise click.UsageError(
            f"`venue {path}` shows members' confidential trading information: say why with --reason "
            f'"..." (or ${READ_REASON_ENV}); it is kept with your name in the read log (Reg ATS '
            "301(b)(10), `venue access reads`)"
        )
    scope = " ".join(
        f"{_scope_name(p)}={_scope_value(ctx.params.get(p.name))}"
        for p in ctx.command.params
        if p.name not in _NOT_SCOPE
    )
    store = open_store(ctx)
    try:
        record_data_access(store, operator.name, path, scope or "*", reason)
    finally:
        store.dispose()


def _scope_name(param: click.Parameter) -> str:
    """How the operator typed it: an option's long name ("month" for --month), an argument's name."""
    if isinstance(param, click.Option):
        return max(param.opts, key=len).lstrip("-")
    return param.name or "?"


def _scope_value(value) -> str:
    if value is None:
        return "*"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def since_us(value: str | None, param_hint: str = "--since") -> int | None:
    """--since YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS (UTC unless it says otherwise) -> µs."""
    if value is None:
        return None
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(
            f"{value!r} is not a date or time: use YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS", param_hint=param_hint
        ) from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return int(when.timestamp() * 1_000_000)


# ---------------------------------------------------------------- arguments
def positive_decimal(value: str, name: str) -> Decimal:
    """A price or amount typed by the operator: a finite number greater than zero."""
    try:
        result = Decimal(value)
    except InvalidOperation:
        raise click.BadParameter(f"{value!r} is not a number", param_hint=name) from None
    if not result.is_finite() or result <= 0:
        raise click.BadParameter(f"{value!r} must be greater than zero", param_hint=name)
    return result


# ---------------------------------------------------------------- options
JSON = click.option("--json", "as_json", is_flag=True, help="JSON on standard output.")
OFFLINE = click.option(
    "--offline",
    is_flag=True,
    help="The venue is stopped: store the change without waiting for a running venue (exit 0).",
)
REASON = click.option("--reason", required=True, help="Why (kept in the registry change audit).")
CHANGE_REASON = click.option("--reason", help="Why (kept in the registry change audit).")
WAIT_VENUE = click.option("--wait", type=float, default=5.0, show_default=True, help="Seconds to wait for the venue.")
WAIT_APPLY = click.option(
    "--wait",
    type=float,
    default=5.0,
    show_default=True,
    help="Seconds to wait for a running venue to apply the change.",
)
REPORT_FORMATS = ("csv", "json", "text")


def report_output(default: str):
    """`--format csv|json|text` (default `default`) and `--out FILE`, the output switch of every
    `venue report ...`."""

    def decorate(fn):
        fn = click.option(
            "--out",
            type=click.Path(dir_okay=False, path_type=Path),
            help="Write to FILE (CSV: other sections beside it as FILE-<section>.csv).",
        )(fn)
        return click.option(
            "--format",
            "fmt",
            type=click.Choice(REPORT_FORMATS),
            default=default,
            show_default=True,
            help="Output format.",
        )(fn)

    return decorate


# ---------------------------------------------------------------- output
def out(rows: list[dict], as_json: bool, *, readable: bool = False) -> None:
    """Rows as JSON (`--json`) or as a table with a header line; `(none)` for no rows. With
    `readable`, cells read as words (`-` for nothing, yes/no, lists joined) and lines carry no
    trailing blanks."""
    if as_json:
        out_json(rows)
    else:
        table(rows, readable=readable)


def out_json(doc) -> None:
    """One JSON document on standard output."""
    click.echo(json.dumps(doc, indent=2, default=str))


def table(rows: list[dict], *, readable: bool = False) -> None:
    """Rows as aligned columns under a header line; `(none)` for no rows."""
    click.echo(table_text(rows, readable=readable), nl=False)


def table_text(rows: list[dict], *, readable: bool = False) -> str:
    """The text `table` prints."""
    if not rows:
        return "(none)\n"
    cols = list(rows[0])
    cell = readable_cell if readable else str
    text = [{c: cell(r[c]) for c in cols} for r in rows]
    widths = {c: max(len(c), *(len(r[c]) for r in text)) for c in cols}
    lines = ["  ".join(c.ljust(widths[c]) for c in cols)]
    lines += ["  ".join(r[c].ljust(widths[c]) for c in cols) for r in text]
    if readable:
        lines = [line.rstrip() for line in lines]
    return "".join(f"{line}\n" for line in lines)


def readable_cell(value) -> str:
    """A cell as words: `-` for nothing, yes/no, lists joined with spaces."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (list, tuple)):
        return " ".join(str(v) for v in value) or "-"
    return str(value)


def write_text(path: Path, text: str) -> None:
    """Write a report's text to `path` (creating its folder), or say why it could not be written."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise click.ClickException(f"cannot write {path}: {exc.strerror or exc}") from None


# ---------------------------------------------------------------- the running venue
def send_ops(store: Store, command: str, argument: str, wait: float, offline: bool = False) -> None:
    """Queue an instruction for the running venue and wait for its answer."""
    await_ops(
        store,
        store.enqueue_ops_command(command, argument, requested_by=operator_name()),
        f"{command} {argument}",
        wait,
        offline,
    )


def await_ops(store: Store, command_id: int, what: str, wait: float, offline: bool = False) -> None:
    """Wait for the running venue to take a queued ops command and print its answer (see
    `print_answer`); with `offline` (the venue is known to be stopped) it does not wait."""
    print_answer(operations.answer(store, command_id, 0 if offline else wait), what, wait, offline)


def print_answer(answer: operations.Answer, what: str, wait: float, offline: bool = False) -> None:
    """Print the running venue's answer to an ops command. Exits 1 if it failed, 3 if no running
    venue confirmed it within `wait` seconds (it stays queued and applies when the venue starts);
    with `offline` an unconfirmed command is only reported as stored."""
    if answer.status == "failed":
        raise click.ClickException(f"{what} failed: {answer.result}")
    if answer.status != "pending":
        click.echo(answer.result)
        return
    if offline:
        click.echo(f"{what} stored (#{answer.command_id}); it applies when the venue starts")
        return
    raise NotConfirmed(
        f"{what} stored (#{answer.command_id}) but no running venue confirmed it within {wait:g}s; it "
        "applies when the venue starts (use --offline when the venue is meant to be stopped)"
    )
