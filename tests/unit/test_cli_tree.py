"""The shape of the `venue` command line: one output switch per kind of command, command modules
that share only `venue.cli.common`, and a declared role for every command."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

import venue.cli
from venue.access import Role, token_hash
from venue.cli import ROLES, main
from venue.cli.common import ADMIN, ANY_ROLE, BOOTSTRAP, NO_ROLE, Needs, guard, leaf_commands

CLI_DIR = Path(venue.cli.__file__).resolve().parent
SPEC = CLI_DIR.parents[2] / "spec" / "fair-access.md"

LISTINGS = [
    "members list",
    "accounts list",
    "securities list",
    "orders",
    "logons",
    "positions",
    "gates",
    "audit changes",
    "access log",
    "access standards",
    "access reads",
    "settlement list",
    "settlement show",
    "ta cap-table",
    "ta reconcile",
]
NOT_REPORTS = {"affiliation"}  # records a subscriber's affiliation; prints one line


def command(path: str) -> click.Command:
    cmd: click.Command = main
    for name in path.split():
        assert isinstance(cmd, click.Group), path
        cmd = cmd.commands[name]
    return cmd


def options(cmd: click.Command) -> dict[str, click.Parameter]:
    return {opt: p for p in cmd.params for opt in p.opts}


def test_every_listing_takes_json():
    missing = [path for path in LISTINGS if "--json" not in options(command(path))]
    assert missing == []


def test_every_report_takes_format_csv_json_text():
    report = command("report")
    assert isinstance(report, click.Group)
    for name, cmd in report.commands.items():
        if name in NOT_REPORTS:
            continue
        fmt = options(cmd).get("--format")
        assert fmt is not None and "--out" in options(cmd), name
        assert sorted(fmt.type.choices) == ["csv", "json", "text"], name


def test_command_modules_share_only_common():
    modules = {p.stem for p in CLI_DIR.glob("*.py")} - {"__init__", "__main__"}
    for module in modules - {"common"}:
        tree = ast.parse((CLI_DIR / f"{module}.py").read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("venue.cli"):
                assert node.module == "venue.cli.common", (module, node.module)
                private = [a.name for a in node.names if a.name.startswith("_")]
                assert private == [], (module, private)
            if isinstance(node, ast.ImportFrom) and node.module == "venue":
                assert "cli" not in {a.name for a in node.names}, module


# ---------------------------------------------------------------- roles (spec/fair-access.md section 5)
def test_every_command_has_a_declared_role_and_every_declared_role_a_command():
    """A new command cannot be added without saying who may run it (it would be admin's only)."""
    paths = {path for path, _ in leaf_commands(main)}
    assert len(paths) > 40
    assert sorted(paths - set(ROLES)) == [], "commands without a role in venue.cli.ROLES"
    assert sorted(set(ROLES) - paths) == [], "roles of commands that do not exist"


def test_reads_of_confidential_information_take_a_reason_and_nothing_else_does():
    for path, cmd in leaf_commands(main):
        reason = [p for p in cmd.params if "--reason" in p.opts]
        if ROLES[path].confidential:
            assert [p.name for p in reason] == ["read_reason"], path
            assert reason[0].envvar == "VENUE_READ_REASON" and not reason[0].required, path
            assert Role.READ_ONLY not in ROLES[path].roles, f"read-only reads no confidential information: {path}"
        else:
            assert [p.name for p in reason] in ([], ["reason"]), path  # a change's own --reason
    assert not ANY_ROLE.confidential


def _needs_in_words(needs: Needs) -> str:
    if needs is NO_ROLE:
        return "none"
    if needs is BOOTSTRAP:
        return "none while no operators are named; then admin only"
    roles = [r.value for r in Role if r in needs.roles]
    return ", ".join(roles) or "admin only"


def test_the_spec_lists_every_command_with_its_roles_and_whether_it_takes_a_reason():
    rows = re.findall(r"^\| `venue ([a-z0-9 -]+)` \| ([^|]+) \| (yes|no) \|$", SPEC.read_text(), re.M)
    documented = {path: (roles.strip(), reason == "yes") for path, roles, reason in rows}
    assert documented == {path: (_needs_in_words(n), n.confidential) for path, n in ROLES.items()}


def _probe(tmp_path, needs: Needs | None) -> click.Group:
    """A one-command CLI `probe` guarded with `needs`, on a config naming a read-only and an admin token."""
    config = tmp_path / "venue.toml"
    config.write_text(
        f'[operators]\ntokens = {{ "{token_hash("rt")}" = "rea:read-only", "{token_hash("at")}" = "ada:admin" }}\n'
    )

    @click.group()
    @click.pass_context
    def root(ctx):
        ctx.obj = {"config": str(config), "db_url": None}

    @root.command()
    def probe():
        click.echo("ran")

    guard(probe, "probe", needs)
    return root


@pytest.mark.parametrize("needs", [None, ADMIN])
def test_a_command_with_no_declared_role_is_admin_s_only(tmp_path, needs):
    root = _probe(tmp_path, needs)
    runner = CliRunner()
    refused = runner.invoke(root, ["probe"], env={"VENUE_OPERATOR_TOKEN": "rt"})
    assert refused.exit_code == 4 and "ran" not in refused.output
    assert "`venue probe` needs the role admin; token rea (read-only) may not run it" in refused.output
    assert runner.invoke(root, ["probe"], env={"VENUE_OPERATOR_TOKEN": "at"}).output == "ran\n"


def test_help_needs_no_role(tmp_path):
    root = _probe(tmp_path, ADMIN)
    res = CliRunner().invoke(root, ["probe", "--help"], env={"VENUE_OPERATOR_TOKEN": "not listed"})
    assert res.exit_code == 0 and "Usage:" in res.output
    res = CliRunner().invoke(main, ["--help"], env={"VENUE_OPERATOR_TOKEN": "not listed"})
    assert res.exit_code == 0 and "Operate the venue" in res.output
