"""Access to the venue (Reg ATS 301(b)(5)) and to subscribers' trading information (301(b)(10)).

- The written access standards: objective criteria, each with an id, read from the `[access]`
  section of the venue TOML (or the defaults below, which spec/fair-access.md publishes):

      [access]
      admission = ["AS-1", "AS-2", "AS-3"]   # what a new member must meet (default: every standard)

      [access.standards]
      AS-1 = "Registered broker-dealer and FINRA member in good standing"
      AS-2 = "Signed subscriber agreement"

- Entitlements: which securities a member may trade (`entitled`); rows in the store, "*" = all.
- Every grant, denial, limitation, restoration and revocation is recorded with its reason and the
  standard applied (`venue.store.access.record_access`).
- Operators: who runs a `venue` command and with which role (`Role`), from the `[operators]`
  section of the venue TOML (spec/fair-access.md section 5):

      [operators]
      users = { alice = "admin", bob = "compliance" }          # OS user name -> role
      tokens = { "sha256:<hex of sha256(token)>" = "carol:ops" }   # token hash -> "name:role"

  The identity is the token's name when $VENUE_OPERATOR_TOKEN is set (a token not listed is
  refused, never replaced by the OS user), else the real OS user of the process (its uid, not
  $USER).
- Reads of a member's confidential trading information are recorded with the operator and the
  reason before anything is shown (`venue.store.access.record_data_access`).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import pwd
import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from venue.config import ConfigError, read_config

log = logging.getLogger("venue.access")

ALL_SECURITIES = "*"
VENUE_SCOPE = "venue"
TOKEN_ENV = "VENUE_OPERATOR_TOKEN"

_STANDARD_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$")


class AccessAction(str, Enum):
    """What an access-log record says happened."""

    GRANT = "grant"  # access given: admission to the venue, or an entitlement to a security
    DENY = "deny"  # an application for access refused
    LIMIT = "limit"  # access suspended or restricted (suspension, kill switch)
    RESTORE = "restore"  # a limitation lifted
    REVOKE = "revoke"  # an entitlement to a security withdrawn

    @property
    def widens(self) -> bool:
        return self in (AccessAction.GRANT, AccessAction.RESTORE)


@dataclass(frozen=True, slots=True)
class AccessStandard:
    """One written, objective criterion for access."""

    id: str
    text: str


@dataclass(frozen=True, slots=True)
class AccessStandards:
    """The venue's written access standards."""

    standards: tuple[AccessStandard, ...]
    admission: tuple[str, ...]  # ids a new member must meet; the standard of an ordinary grant

    def ids(self) -> tuple[str, ...]:
        return tuple(s.id for s in self.standards)

    def text(self, standard_id: str) -> str:
        for s in self.standards:
            if s.id == standard_id:
                return s.text
        raise KeyError(standard_id)

    def check(self, value: str) -> str:
        """Comma-separated standard ids -> the same, normalised ("AS-1,AS-2"); ValueError naming the
        unknown ones."""
        ids = [part.strip() for part in value.split(",") if part.strip()]
        if not ids:
            raise ValueError("name at least one standard")
        unknown = [i for i in ids if i not in self.ids()]
        if unknown:
            raise ValueError(
                f"unknown standard {', '.join(unknown)}; the written standards are {', '.join(self.ids())}"
            )
        return ",".join(dict.fromkeys(ids))


DEFAULT_STANDARDS = AccessStandards(
    standards=(
        AccessStandard(
            "AS-1", "Registered broker-dealer under Exchange Act section 15 and FINRA member in good standing"
        ),
        AccessStandard("AS-2", "Signed subscriber agreement accepting the venue's rules and rules of engagement"),
        AccessStandard("AS-3", "Passed the venue's connectivity certification in the sandbox"),
        AccessStandard(
            "AS-4",
            "Continues to meet AS-1 to AS-3 and complies with the subscriber agreement "
            "and the venue's rules; a documented failure is the only ground to limit "
            "or suspend access under this standard",
        ),
        AccessStandard(
            "AS-5",
            "Risk controls: trading may be limited at once (kill switch, credit or "
            "error-trade controls) to protect the market; each limit is recorded and "
            "reviewed",
        ),
        AccessStandard(
            "AS-6",
            "Security-specific terms: entitlement to a security may be withdrawn at the "
            "member's own request or where the security's transfer restrictions "
            "require it",
        ),
    ),
    admission=("AS-1", "AS-2", "AS-3"),
)


def parse_standards(section: Mapping | None) -> AccessStandards:
    """The `[access]` section of the venue TOML -> AccessStandards (defaults when absent)."""
    if not section or "standards" not in section:
        if section and "admission" in section:
            raise ConfigError("[access] admission needs [access.standards] to name the standards")
        return DEFAULT_STANDARDS
    raw = section["standards"]
    if not isinstance(raw, Mapping) or not raw:
        raise ConfigError('[access.standards] must map ids to texts, e.g. AS-1 = "Registered broker-dealer"')
    standards = []
    for sid, text in raw.items():
        if not _STANDARD_ID.match(sid):
            raise ConfigError(f"[access.standards] id {sid!r}: use letters, digits, '-', '_' or '.'")
        if not isinstance(text, str) or not text.strip():
            raise ConfigError(f"[access.standards] {sid} needs a non-empty text")
        standards.append(AccessStandard(sid, " ".join(text.split())))
    ids = [s.id for s in standards]
    admission = section.get("admission", ids)
    if not isinstance(admission, list) or not admission or not all(isinstance(a, str) for a in admission):
        raise ConfigError('[access] admission must be a list of standard ids, e.g. ["AS-1", "AS-2"]')
    unknown = [a for a in admission if a not in ids]
    if unknown:
        raise ConfigError(f"[access] admission names unknown standard(s) {', '.join(unknown)}")
    return AccessStandards(tuple(standards), tuple(admission))


def load_standards(path: Path | None) -> AccessStandards:
    """The written access standards of the venue configured in `path` (defaults without a file)."""
    if path is None or not path.exists():
        return DEFAULT_STANDARDS
    section = read_config(path).get("access")  # every section's keys checked, [access] among them
    if section is not None and not isinstance(section, Mapping):
        raise ConfigError(f"[access] in {path} must be a table")
    return parse_standards(section)


def entitled(entitlements: Mapping[str, frozenset[str]], member_id: str, symbol: str) -> bool:
    """May `member_id` trade `symbol`? Only with an entitlement to it or to every security ("*");
    a member without entitlements may trade nothing."""
    held = entitlements.get(member_id)
    return bool(held) and (symbol in held or ALL_SECURITIES in held)


# ---------------------------------------------------------------- operators and roles
class Role(str, Enum):
    """What an operator of the venue may do (spec/fair-access.md section 5)."""

    ADMIN = "admin"  # every command, and the only role for a command no other role is named for
    OPS = "ops"  # runs the venue and trading operations: serve, halts, kill switches, sessions
    COMPLIANCE = "compliance"  # investors' and members' compliance state, access decisions, reports
    READ_ONLY = "read-only"  # lists the registry; no member's confidential trading information

    def may(self, roles: frozenset[Role]) -> bool:
        """May an operator with this role run a command open to `roles`? Admin may run every one."""
        return self is Role.ADMIN or self in roles


@dataclass(frozen=True, slots=True)
class Operator:
    """Who runs this command: a name, its role, and how it was established ("OS user" or "token")."""

    name: str
    role: Role
    via: str

    def __str__(self) -> str:
        return f"{self.via} {self.name} ({self.role.value})"


@dataclass(frozen=True, slots=True)
class Operators:
    """The `[operators]` section: OS user name -> role, and token hash ("sha256:<hex>") -> (name, role)."""

    users: Mapping[str, Role]
    tokens: Mapping[str, tuple[str, Role]]


class NotAnOperator(Exception):
    """The person running the command has no role; the message says who and how to grant one."""


_OPERATOR_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._@-]{0,63}$")
_TOKEN_HASH = re.compile(r"^sha256:[0-9a-f]{64}$")
_ROLES = ", ".join(r.value for r in Role)


def _role(value, where: str) -> Role:
    try:
        return Role(value)
    except ValueError:
        raise ConfigError(f"{where}: unknown role {value!r}; the roles are {_ROLES}") from None


def parse_operators(section: Mapping, path: Path) -> Operators:
    """The `[operators]` section of the venue TOML -> Operators; ConfigError naming a bad name,
    token hash or role."""
    users, tokens = section.get("users", {}), section.get("tokens", {})
    for key, value in (("users", users), ("tokens", tokens)):
        if not isinstance(value, Mapping):
            raise ConfigError(f"{path}: [operators] {key} must be a table, e.g. {key} = {{ ... }}")
    parsed_users: dict[str, Role] = {}
    for name, role in users.items():
        if not _OPERATOR_NAME.match(name):
            raise ConfigError(f"{path}: [operators] users: {name!r} is not an OS user name")
        parsed_users[name] = _role(role, f"{path}: [operators] users {name}")
    parsed_tokens: dict[str, tuple[str, Role]] = {}
    for digest, value in tokens.items():
        if not _TOKEN_HASH.match(digest.lower()):
            raise ConfigError(
                f'{path}: [operators] tokens: {digest!r} must be "sha256:" and the 64 hex digits of the '
                "token's SHA-256 (the token itself is never written in the config)"
            )
        name, _, role = value.partition(":") if isinstance(value, str) else ("", "", "")
        if not _OPERATOR_NAME.match(name) or not role:
            raise ConfigError(f'{path}: [operators] tokens: {value!r} must be "name:role", e.g. "carol:ops"')
        parsed_tokens[digest.lower()] = (name, _role(role, f"{path}: [operators] tokens {name}"))
    return Operators(parsed_users, parsed_tokens)


def load_operators(path: Path) -> Operators | None:
    """The operators of the venue configured in `path`; None when the file has no `[operators]`
    section (nobody has a role). ConfigError when anyone but its owner could grant themselves a
    role: a config file that every OS user may write is refused."""
    raw = read_config(path)  # every section's keys checked, [operators] among them
    section = raw.get("operators")
    if section is None:
        return None
    if not isinstance(section, Mapping):
        raise ConfigError(f"{path}: [operators] must be a table")
    if path.stat().st_mode & 0o002:
        raise ConfigError(
            f"{path}: every OS user may write this file, and so grant themselves any role; make it "
            f"writable by the venue's admins only (chmod o-w {path})"
        )
    return parse_operators(section, path)


def token_hash(token: str) -> str:
    """How an operator token is listed in `[operators] tokens`: "sha256:" and its hex SHA-256."""
    return "sha256:" + hashlib.sha256(token.encode()).hexdigest()


def os_user(uid: int | None = None) -> str | None:
    """The name of the real user of this process (from its uid; $USER and $LOGNAME are not asked:
    anyone can set them). None when the uid has no name."""
    try:
        return pwd.getpwuid(os.getuid() if uid is None else uid).pw_name
    except KeyError:
        return None


def identify(operators: Operators, path: Path, env: Mapping[str, str] | None = None) -> Operator:
    """Who runs this command, with the role `operators` gives them: the token's name when
    $VENUE_OPERATOR_TOKEN is set, else the OS user. NotAnOperator when the token is not listed
    (never falling back to the OS user) or the user has no role."""
    env = os.environ if env is None else env
    token = env.get(TOKEN_ENV)
    if token is not None:
        if not token.strip():
            raise NotAnOperator(f"${TOKEN_ENV} is set but empty: unset it, or set it to your operator token")
        listed = operators.tokens.get(token_hash(token.strip()))
        if listed is None:
            raise NotAnOperator(
                f"the operator token in ${TOKEN_ENV} is not listed in [operators] tokens of {path}: "
                "an admin lists its SHA-256 there (see spec/fair-access.md section 5)"
            )
        return Operator(listed[0], listed[1], "token")
    name = os_user()
    if name is None:
        raise NotAnOperator(
            f"this process's uid {os.getuid()} has no OS user name: use an operator token (${TOKEN_ENV})"
        )
    role = operators.users.get(name)
    if role is None:
        raise NotAnOperator(
            f"OS user {name} has no operator role in {path}: an admin grants one by adding it to "
            f'[operators] users, e.g. users = {{ {name} = "read-only" }} (roles: {_ROLES})'
        )
    return Operator(name, role, "OS user")


def operators_toml(users: Mapping[str, Role]) -> str:
    """An `[operators]` section naming `users` (what `venue init` and `venue sandbox` write)."""
    entries = ", ".join(f"{json.dumps(name)} = {json.dumps(role.value)}" for name, role in users.items())
    return (
        "\n# Who may run `venue` commands, and with which role (spec/fair-access.md section 5):\n"
        '# users = OS user name -> role; tokens = "sha256:<hex>" -> "name:role" ($VENUE_OPERATOR_TOKEN).\n'
        f"[operators]\nusers = {{ {entries} }}\n"
    )
