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
- Reads across members through the CLI are recorded with the operator's identity (`audit_read`).
"""

from __future__ import annotations

import getpass
import json
import logging
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING

from venue import fair_access as fa
from venue.config import ConfigError

log = logging.getLogger("venue.access")

if TYPE_CHECKING:
    from venue.store import Store

ALL_SECURITIES = "*"
VENUE_SCOPE = "venue"
OPERATOR_ENV = "VENUE_OPERATOR"

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
            raise ValueError(f"unknown standard {', '.join(unknown)}; the written standards are "
                             f"{', '.join(self.ids())}")
        return ",".join(dict.fromkeys(ids))


DEFAULT_STANDARDS = AccessStandards(
    standards=(
        AccessStandard("AS-1", "Registered broker-dealer under Exchange Act section 15 and FINRA member "
                               "in good standing"),
        AccessStandard("AS-2", "Signed subscriber agreement accepting the venue's rules and rules of "
                               "engagement"),
        AccessStandard("AS-3", "Passed the venue's connectivity certification in the sandbox"),
        AccessStandard("AS-4", "Continues to meet AS-1 to AS-3 and complies with the subscriber agreement "
                               "and the venue's rules; a documented failure is the only ground to limit "
                               "or suspend access under this standard"),
        AccessStandard("AS-5", "Risk controls: trading may be limited at once (kill switch, credit or "
                               "error-trade controls) to protect the market; each limit is recorded and "
                               "reviewed"),
        AccessStandard("AS-6", "Security-specific terms: entitlement to a security may be withdrawn at the "
                               "member's own request or where the security's transfer restrictions "
                               "require it"),
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
    try:
        raw = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None
    section = raw.get("access")
    if section is not None and not isinstance(section, Mapping):
        raise ConfigError(f"[access] in {path} must be a table")
    return parse_standards(section)


def entitled(entitlements: Mapping[str, frozenset[str]], member_id: str, symbol: str) -> bool:
    """May `member_id` trade `symbol`? Only with an entitlement to it or to every security ("*");
    a member without entitlements may trade nothing."""
    held = entitlements.get(member_id)
    return bool(held) and (symbol in held or ALL_SECURITIES in held)


def operator() -> str:
    """Who is running this command: $VENUE_OPERATOR, else the OS user name (self-declared: an audit
    trail, not authentication; see spec/fair-access.md section 5)."""
    name = os.environ.get(OPERATOR_ENV, "").strip()
    if name:
        return name[:64]
    try:
        return getpass.getuser()[:64] or "unknown"
    except Exception:  # noqa: BLE001 - no user name in this environment
        return "unknown"


def audit_read(store: Store, command: str, scope: str) -> int:
    """Record a read across members' trading information (301(b)(10)) by the current operator;
    returns the record's id. Call it before showing the data."""
    from venue.store.access import record_data_access
    return record_data_access(store, operator(), command, scope)


def monthly_assessment(store: Store, month: fa.Month, out_dir: Path) -> Path:
    """The scheduler's monthly fair-access run: for every security, the closed month's volumes and
    share and whether the security is under the fair-access regime in the month that follows;
    written as JSON into `out_dir` and logged."""
    from venue.store import access as sa
    venue, market = sa.venue_daily_volume(store), sa.market_daily_volume(store)
    symbols = sorted(set(store.load_world().securities) | set(venue) | set(market))
    rows = []
    for symbol in symbols:
        (volume, _), (_, next_regime) = fa.assess(venue.get(symbol, {}), market.get(symbol, {}),
                                                  [month, month.shift(1)])
        rows.append({"symbol": symbol, "month": str(month), "venue_volume": volume.venue_volume,
                     "market_volume": volume.market_volume, "trading_days": volume.trading_days,
                     "share": None if volume.share is None else str(volume.share), "qualifies": volume.qualifies,
                     "regime_next_month": next_regime.fair_access,
                     "qualifying_months": [str(m) for m in next_regime.qualifying]})
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"fair-access-{month}.json"
    path.write_text(json.dumps(rows, indent=2) + "\n")
    under = [r["symbol"] for r in rows if r["regime_next_month"]]
    log.info("fair access %s: %s under the regime next month; written to %s", month, ", ".join(under) or "none", path)
    return path
