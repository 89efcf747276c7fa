"""Who runs a `venue` command: the `[operators]` section, the identity (token or OS user, never a
declared name) and the roles (spec/fair-access.md section 5)."""

from __future__ import annotations

import os
import pwd

import pytest

from venue.access import (
    NotAnOperator,
    Operator,
    Operators,
    Role,
    identify,
    load_operators,
    os_user,
    parse_operators,
    token_hash,
)
from venue.config import ConfigError

ME = pwd.getpwuid(os.getuid()).pw_name
CAROL = "carol's long random token"
OPERATORS = Operators(
    users={ME: Role.ADMIN, "bob": Role.COMPLIANCE},
    tokens={token_hash(CAROL): ("carol", Role.OPS)},
)


def test_the_os_user_is_the_uid_s_name_not_a_variable_anyone_can_set(monkeypatch):
    for name in ("USER", "LOGNAME", "USERNAME"):
        monkeypatch.setenv(name, "bob")
    assert os_user() == ME
    assert identify(OPERATORS, "venue.toml", env={"VENUE_OPERATOR": "bob", "USER": "bob"}) == Operator(
        ME, Role.ADMIN, "OS user"
    )


def test_a_listed_token_names_the_operator_and_its_role():
    assert identify(OPERATORS, "venue.toml", env={"VENUE_OPERATOR_TOKEN": CAROL}) == Operator(
        "carol", Role.OPS, "token"
    )
    assert identify(OPERATORS, "venue.toml", env={"VENUE_OPERATOR_TOKEN": f"  {CAROL}\n"}).name == "carol"


@pytest.mark.parametrize(
    "token, says", [("a guess", r"is not listed in \[operators\] tokens"), ("  ", "set but empty")]
)
def test_a_bad_token_is_refused_and_never_falls_back_to_the_os_user(token, says):
    assert OPERATORS.users[ME] is Role.ADMIN  # the OS user would be admin
    with pytest.raises(NotAnOperator, match=says):
        identify(OPERATORS, "venue.toml", env={"VENUE_OPERATOR_TOKEN": token})


def test_an_os_user_without_a_role_is_refused_saying_how_to_grant_one():
    with pytest.raises(NotAnOperator) as err:
        identify(Operators(users={"bob": Role.ADMIN}, tokens={}), "etc/venue.toml", env={})
    assert str(err.value) == (
        f"OS user {ME} has no operator role in etc/venue.toml: an admin grants one by adding it to "
        f'[operators] users, e.g. users = {{ {ME} = "read-only" }} (roles: admin, ops, compliance, read-only)'
    )


def test_admin_may_run_everything_other_roles_what_names_them():
    ops_only = frozenset({Role.OPS})
    assert Role.ADMIN.may(frozenset()) and Role.ADMIN.may(ops_only)
    assert Role.OPS.may(ops_only) and not Role.COMPLIANCE.may(ops_only) and not Role.READ_ONLY.may(ops_only)
    assert not Role.OPS.may(frozenset()), "a command no role is named for is admin's only"


def test_the_section_is_parsed_and_hashes_are_compared_in_lower_case(tmp_path):
    digest = token_hash(CAROL)
    section = {
        "users": {"alice": "admin", "bob": "read-only"},
        "tokens": {digest.upper().replace("SHA256", "sha256"): "carol:ops"},
    }
    parsed = parse_operators(section, tmp_path / "venue.toml")
    assert parsed.users == {"alice": Role.ADMIN, "bob": Role.READ_ONLY}
    assert parsed.tokens == {digest: ("carol", Role.OPS)}
    assert parse_operators({}, tmp_path / "venue.toml") == Operators({}, {})


@pytest.mark.parametrize(
    "section, message",
    [
        (
            {"users": {"alice": "root"}},
            r"\[operators\] users alice: unknown role 'root'; the roles are admin, ops, compliance, read-only",
        ),
        ({"tokens": {token_hash("t"): "carol:superuser"}}, r"\[operators\] tokens carol: unknown role 'superuser'"),
        ({"tokens": {token_hash("t"): "carol"}}, r'must be "name:role", e.g. "carol:ops"'),
        (
            {"tokens": {"carols-token": "carol:ops"}},
            r"must be \"sha256:\" and the 64 hex digits .* never written in the config",
        ),
        ({"users": {"al ice": "admin"}}, r"'al ice' is not an OS user name"),
        ({"users": "alice"}, r"\[operators\] users must be a table"),
    ],
)
def test_a_bad_section_is_a_config_error_naming_what_is_wrong(tmp_path, section, message):
    with pytest.raises(ConfigError, match=message):
        parse_operators(section, tmp_path / "venue.toml")


def test_a_config_without_operators_names_nobody_and_one_anyone_may_write_is_refused(tmp_path):
    path = tmp_path / "venue.toml"
    path.write_text('[venue]\ncomp_id = "ATS"\n')
    assert load_operators(path) is None
    path.write_text('[operators]\nusers = { alice = "admin" }\n')
    path.chmod(0o644)
    assert load_operators(path).users == {"alice": Role.ADMIN}
    path.chmod(0o646)
    with pytest.raises(ConfigError, match="every OS user may write this file, and so grant themselves any role"):
        load_operators(path)
