"""The console's roles are the CLI's: each page and action needs the roles (and the reason) of the
`venue` command it is the console's form of (venue.cli.ROLES, spec/fair-access.md section 5)."""

from __future__ import annotations

from venue.access import Role
from venue.cli import ROLES
from venue.console.web import NEEDS


def test_each_page_and_action_has_the_roles_of_its_venue_command():
    for key, needs in NEEDS.items():
        if needs.command is None:
            continue
        cli = ROLES[needs.command]
        assert (needs.roles, needs.confidential) == (cli.roles, cli.confidential), key


def test_read_only_sees_the_overview_only():
    assert [key for key, needs in NEEDS.items() if Role.READ_ONLY in needs.roles] == ["overview"]


def test_pages_without_a_command_show_no_confidential_information_and_are_staff_s():
    for key in ("book", "actions"):
        assert NEEDS[key].command is None and not NEEDS[key].confidential
        assert NEEDS[key].roles == frozenset({Role.OPS, Role.COMPLIANCE})
