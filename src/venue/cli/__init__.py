"""`venue`: the operator's command line.

The command modules define their commands; this module puts the tree together in one place
(`TREE`: every group and the commands under it) and says who may run each command (`ROLES`,
enforced by `venue.cli.common.guard` on every command as the tree is built). Shared helpers (store
lookup, operators, output, options, waiting for the running venue, errors) are in
`venue.cli.common`.

Every command that reads or writes the registry finds the store from, in order: --db-url,
--config, the VENUE_CONFIG environment variable, or the sandbox's config (var/sandbox/venue.toml).
"""

from __future__ import annotations

import click

from venue.cli import access, chain, registry, reports, rules, running, sessions, trading
from venue.cli.common import (
    ANY_ROLE,
    BOOTSTRAP,
    COMPLIANCE,
    COMPLIANCE_READ,
    NO_ROLE,
    OPS,
    STAFF_READ,
    Needs,
    VenueGroup,
    guard,
    leaf_commands,
)


@click.group(cls=VenueGroup)
@click.option("--db-url", help="Store URL (sqlite:///path or postgresql://...).")
@click.option("--config", type=click.Path(dir_okay=False), help="Venue config file (TOML).")
@click.pass_context
def main(ctx: click.Context, db_url: str | None, config: str | None) -> None:
    """Operate the venue: run it, manage its registry, halt and resume trading."""
    ctx.obj = {"db_url": db_url, "config": config}


@click.group()
def members() -> None:
    """Member broker-dealers and their FIX sessions."""


@click.group()
def accounts() -> None:
    """Investor accounts held at members."""


@click.group()
def securities() -> None:
    """Securities listed on the venue."""


@click.group()
def audit() -> None:
    """Audit trails of the venue's own staff: registry changes."""


@click.group("access")
def access_group() -> None:
    """Fair access: written standards, the access log, imported market volume."""


@click.group()
def report() -> None:
    """Regulatory reports."""


@click.group()
def settlement() -> None:
    """Settlement status of trades (pending, submitted, confirmed, final, failed)."""


@click.group()
def keystore() -> None:
    """Encrypted keystores for the settlement operator's key."""


@click.group()
def ta() -> None:
    """Transfer-agent books: holders of record, and reconciliation with the chain."""


# Every group and the commands under it (`venue --help` lists them by name).
TREE: dict[click.Group, list[click.Command]] = {
    main: [
        running.init,
        running.serve,
        running.sandbox,
        members,
        accounts,
        securities,
        trading.halt,
        trading.suspend,
        trading.resume,
        rules.kill,
        rules.unkill,
        trading.orders,
        rules.positions,
        rules.gates,
        trading.logons,
        audit,
        access_group,
        report,
        chain.settle,
        settlement,
        ta,
        keystore,
    ],
    members: [
        access.members_add,
        registry.members_add_session,
        registry.members_disable_session,
        registry.members_enable_session,
        sessions.set_password,
        sessions.set_transport,
        sessions.allow_addresses,
        sessions.bind_certificate,
        access.members_suspend,
        access.members_activate,
        access.members_entitle,
        access.members_revoke,
        rules.members_set,
        registry.members_list,
    ],
    accounts: [registry.accounts_add, rules.accounts_set, registry.accounts_list, chain.accounts_set_wallet],
    securities: [registry.securities_add, rules.securities_set, registry.securities_list, chain.securities_attach],
    audit: [trading.audit_changes],
    access_group: [
        access.access_standards,
        access.access_import_volume,
        access.access_log,
        access.access_deny,
        access.access_reads,
    ],
    report: [
        reports.audit_trail,
        reports.ats_r,
        reports.finra_4552,
        reports.trades,
        reports.cat,
        reports.report_fair_access,
        reports.affiliation,
    ],
    settlement: [chain.settlement_list, chain.settlement_show],
    ta: [chain.ta_cap_table, chain.ta_reconcile],
    keystore: [chain.keystore_create],
}


# Who may run each command, besides admin, who may run every one (spec/fair-access.md section 5).
# A command missing here may be run by admin only; tests/unit/test_cli_tree.py fails on it.
#   NO_ROLE          no role: `venue sandbox` creates a venue of its own, with you as its admin;
#                    `venue keystore create` writes a file and reads no venue data
#   BOOTSTRAP        no role while the config names no operators (it writes you in as admin); then admin
#   ANY_ROLE         read-only, ops, compliance: lists that show no member's confidential information
#   OPS              ops: runs the venue and trading operations
#   COMPLIANCE       compliance: investors' and members' compliance state, access decisions
#   STAFF_READ       ops, compliance: shows members' confidential trading information; --reason, read log
#   COMPLIANCE_READ  compliance: the same, for compliance's reports and audit listings
ROLES: dict[str, Needs] = {
    "init": BOOTSTRAP,
    "sandbox": NO_ROLE,
    "keystore create": NO_ROLE,
    "serve": OPS,
    "settle": OPS,
    "halt": OPS,
    "suspend": OPS,
    "resume": OPS,
    "kill": OPS,
    "unkill": OPS,
    "members add-session": OPS,
    "members disable-session": OPS,
    "members enable-session": OPS,
    "members set-password": OPS,
    "members set-transport": OPS,
    "members allow-addresses": OPS,
    "members bind-certificate": OPS,
    "members set": OPS,
    "securities add": OPS,
    "securities attach": OPS,
    "members add": COMPLIANCE,
    "members suspend": COMPLIANCE,
    "members activate": COMPLIANCE,
    "members entitle": COMPLIANCE,
    "members revoke": COMPLIANCE,
    "accounts add": COMPLIANCE,
    "accounts set": COMPLIANCE,
    "accounts set-wallet": COMPLIANCE,
    "securities set": COMPLIANCE,
    "access deny": COMPLIANCE,
    "access import-volume": COMPLIANCE,
    "access reads": COMPLIANCE,
    "report affiliation": COMPLIANCE,
    "members list": ANY_ROLE,
    "securities list": ANY_ROLE,
    "access standards": ANY_ROLE,
    "logons": ANY_ROLE,
    "orders": STAFF_READ,
    "positions": STAFF_READ,
    "gates": STAFF_READ,
    "accounts list": STAFF_READ,
    "access log": STAFF_READ,
    "settlement list": STAFF_READ,
    "settlement show": STAFF_READ,
    "ta cap-table": STAFF_READ,
    "ta reconcile": STAFF_READ,
    "audit changes": COMPLIANCE_READ,
    "report audit-trail": COMPLIANCE_READ,
    "report ats-r": COMPLIANCE_READ,
    "report finra-4552": COMPLIANCE_READ,
    "report trades": COMPLIANCE_READ,
    "report cat": COMPLIANCE_READ,
    "report fair-access": COMPLIANCE_READ,
}


def _build(tree: dict[click.Group, list[click.Command]], roles: dict[str, Needs]) -> None:
    for group, commands in tree.items():
        for command in commands:
            group.add_command(command)
    for path, command in leaf_commands(main):
        guard(command, path, roles.get(path))


_build(TREE, ROLES)

__all__ = ["main"]
