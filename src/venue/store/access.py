"""The store side of access: entitlements, the access log, imported market volume and the log of
staff reads of members' confidential trading information (spec/fair-access.md). Every change of
access and its access-log record are written in one transaction: there is no grant, limit or
revocation without its record.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from sqlalchemy import (
    BigInteger,
    bindparam,
    delete,
    func,
    insert,
    literal_column,
    select,
    tuple_,
    update,
)
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from venue.access import ALL_SECURITIES, VENUE_SCOPE, AccessAction
from venue.clock import DAY_US, iso_utc, now_us
from venue.fair_access import DailyVolume
from venue.model import MemberStatus
from venue.store import schema as t
from venue.store.repository import Store, StoreError, record_change

BUSTED = "failed"  # settlement status of a trade that was busted: not part of the venue's volume


@dataclass(frozen=True, slots=True)
class AccessRecord:
    """One line of the access log."""

    id: int
    at_us: int
    member_id: str
    action: AccessAction
    scope: str
    reason: str
    standard: str
    actor: str

    @property
    def at(self) -> str:
        return iso_utc(self.at_us, "seconds")

    def as_row(self) -> dict:
        return {
            "id": self.id,
            "at": self.at,
            "member": self.member_id,
            "action": self.action.value,
            "scope": self.scope,
            "standard": self.standard,
            "reason": self.reason,
            "actor": self.actor,
        }


# ---------------------------------------------------------------- access log
def _log(
    conn: Connection, member_id: str, action: AccessAction | str, scope: str, reason: str, standard: str, actor: str
) -> int:
    try:
        action = AccessAction(action)
    except ValueError:
        raise StoreError(
            f"unknown access action {action!r}: use one of {', '.join(a.value for a in AccessAction)}"
        ) from None
    reason, standard, scope = " ".join((reason or "").split()), (standard or "").strip(), (scope or "").strip()
    if not reason:
        raise StoreError(f"a {action.value} of access needs a reason")
    if not standard:
        raise StoreError(f"a {action.value} of access needs the standard applied")
    if not member_id or len(member_id) > 32:
        raise StoreError(f"member id {member_id!r} must be 1 to 32 characters")
    if not scope or len(scope) > 32:
        raise StoreError(f"scope {scope!r} must be 1 to 32 characters")
    if len(standard) > 200:
        raise StoreError("the standard ids are longer than 200 characters")
    res = conn.execute(
        insert(t.access_log).values(
            at_us=now_us(),
            member_id=member_id,
            action=action.value,
            scope=scope,
            reason=reason,
            standard=standard,
            actor=(actor or "unknown")[:64],
        )
    )
    return int(res.inserted_primary_key[0])


def record_access(
    store: Store, member_id: str, action: AccessAction | str, scope: str, reason: str, standard: str, actor: str
) -> int:
    """Write one access-log record (e.g. a kill-switch limit: action "limit", scope "venue" or a
    symbol, standard "AS-5"); returns its id. StoreError on an unknown action or a missing reason."""
    with store.engine.begin() as conn:
        return _log(conn, member_id, action, scope, reason, standard, actor)


def access_log(store: Store, member_id: str | None = None) -> list[AccessRecord]:
    """The access log, oldest first (one member's, or everyone's)."""
    q = select(t.access_log).order_by(t.access_log.c.id)
    if member_id:
        q = q.where(t.access_log.c.member_id == member_id)
    with store.engine.connect() as conn:
        return [
            AccessRecord(r.id, r.at_us, r.member_id, AccessAction(r.action), r.scope, r.reason, r.standard, r.actor)
            for r in conn.execute(q)
        ]


def last_access_id(store: Store) -> int:
    """Id of the newest access-log record (0 if none): it changes whenever access changes, so a
    running venue can poll it to know when to reload entitlements."""
    with store.engine.connect() as conn:
        return conn.execute(select(func.max(t.access_log.c.id))).scalar() or 0


# ---------------------------------------------------------------- members and entitlements
def load_entitlements(store: Store) -> dict[str, frozenset[str]]:
    """member id -> the symbols it may trade ("*": every security). Members without any are absent."""
    held: dict[str, set[str]] = {}
    with store.engine.connect() as conn:
        for r in conn.execute(select(t.entitlements.c.member_id, t.entitlements.c.symbol)):
            held.setdefault(r.member_id, set()).add(r.symbol)
    return {m: frozenset(s) for m, s in held.items()}


def _member_status(conn: Connection, member_id: str) -> str:
    status = conn.execute(select(t.members.c.status).where(t.members.c.member_id == member_id)).scalar()
    if status is None:
        raise StoreError(f"no member {member_id}")
    return status


def _held(conn: Connection, member_id: str) -> set[str]:
    return set(conn.execute(select(t.entitlements.c.symbol).where(t.entitlements.c.member_id == member_id)).scalars())


def admit_member(store: Store, member_id: str, name: str, kind: str, reason: str, standard: str, actor: str) -> None:
    """Onboard a member: the member (active), its entitlement to every security, and the two grants
    (scope "venue" and "*") in the access log, in one transaction."""
    try:
        with store.engine.begin() as conn:
            now = now_us()
            conn.execute(
                insert(t.members).values(
                    member_id=member_id, name=name, kind=kind, status=MemberStatus.ACTIVE.value, created_us=now
                )
            )
            conn.execute(insert(t.entitlements).values(member_id=member_id, symbol=ALL_SECURITIES, created_us=now))
            _log(conn, member_id, AccessAction.GRANT, VENUE_SCOPE, reason, standard, actor)
            _log(conn, member_id, AccessAction.GRANT, ALL_SECURITIES, reason, standard, actor)
            record_change(
                conn,
                "member",
                member_id,
                {},
                {"name": name, "kind": kind, "status": "active", "entitlements": [ALL_SECURITIES]},
                actor,
                reason,
            )
    except IntegrityError:
        raise StoreError(f"member {member_id} already exists") from None


def limit_member(store: Store, member_id: str, reason: str, standard: str, actor: str) -> int:
    """Suspend a member (its sessions can no longer log on) and record the limitation."""
    return _set_status(store, member_id, MemberStatus.SUSPENDED, AccessAction.LIMIT, reason, standard, actor)


def restore_member(store: Store, member_id: str, reason: str, standard: str, actor: str) -> int:
    """Re-activate a suspended member and record the restoration."""
    return _set_status(store, member_id, MemberStatus.ACTIVE, AccessAction.RESTORE, reason, standard, actor)


def _set_status(
    store: Store, member_id: str, status: MemberStatus, action: AccessAction, reason: str, standard: str, actor: str
) -> int:
    with store.engine.begin() as conn:
        changed = conn.execute(
            update(t.members)
            .where((t.members.c.member_id == member_id) & (t.members.c.status != status.value))
            .values(status=status.value)
        ).rowcount
        if changed != 1:
            _member_status(conn, member_id)  # raises for an unknown member
            raise StoreError(f"member {member_id} is already {status.value}")
        other = MemberStatus.ACTIVE if status is MemberStatus.SUSPENDED else MemberStatus.SUSPENDED
        record_change(conn, "member", member_id, {"status": other.value}, {"status": status.value}, actor, reason)
        return _log(conn, member_id, action, VENUE_SCOPE, reason, standard, actor)


def grant_entitlement(store: Store, member_id: str, symbol: str, reason: str, standard: str, actor: str) -> int:
    """Entitle a member to trade `symbol` ("*": every security) and record the grant."""
    with store.engine.begin() as conn:
        _member_status(conn, member_id)
        if (
            symbol != ALL_SECURITIES
            and conn.execute(select(t.securities.c.symbol).where(t.securities.c.symbol == symbol)).first() is None
        ):
            raise StoreError(f"unknown symbol {symbol}; see `venue securities list`")
        held = _held(conn, member_id)
        if symbol in held:
            raise StoreError(f"{member_id} is already entitled to {symbol}")
        if ALL_SECURITIES in held:
            raise StoreError(f"{member_id} is already entitled to every security (*)")
        conn.execute(insert(t.entitlements).values(member_id=member_id, symbol=symbol, created_us=now_us()))
        record_change(
            conn,
            "entitlement",
            member_id,
            {"entitlements": sorted(held)},
            {"entitlements": sorted(held | {symbol})},
            actor,
            reason,
        )
        return _log(conn, member_id, AccessAction.GRANT, symbol, reason, standard, actor)


def revoke_entitlement(store: Store, member_id: str, symbol: str, reason: str, standard: str, actor: str) -> int:
    """Withdraw a member's entitlement to `symbol` ("*": the entitlement to every security) and record
    the revocation."""
    with store.engine.begin() as conn:
        _member_status(conn, member_id)
        held = _held(conn, member_id)
        removed = conn.execute(
            delete(t.entitlements).where(
                (t.entitlements.c.member_id == member_id) & (t.entitlements.c.symbol == symbol)
            )
        ).rowcount
        if removed != 1:
            if ALL_SECURITIES in _held(conn, member_id):
                raise StoreError(
                    f"{member_id} is entitled to every security (*): revoke * and entitle it to the securities it keeps"
                )
            raise StoreError(f"{member_id} is not entitled to {symbol}")
        record_change(
            conn,
            "entitlement",
            member_id,
            {"entitlements": sorted(held)},
            {"entitlements": sorted(held - {symbol})},
            actor,
            reason,
        )
        return _log(conn, member_id, AccessAction.REVOKE, symbol, reason, standard, actor)


# ---------------------------------------------------------------- volumes
def import_market_volume(store: Store, rows: Iterable[DailyVolume], *, operator: str) -> tuple[int, int]:
    """Write daily market volumes in one transaction, with their record in the registry change audit
    (who imported what); a day already imported for a symbol is replaced. Returns (rows written, of
    which replaced)."""
    rows = list(rows)
    if not rows:
        return 0, 0
    keys = [(r.symbol, r.day.isoformat()) for r in rows]
    with store.engine.begin() as conn:
        existing = set()
        for start in range(0, len(keys), 500):
            chunk = keys[start : start + 500]
            existing |= {
                (r.symbol, r.day)
                for r in conn.execute(
                    select(t.market_volume.c.symbol, t.market_volume.c.day).where(
                        tuple_(t.market_volume.c.symbol, t.market_volume.c.day).in_(chunk)
                    )
                )
            }
        if existing:
            conn.execute(
                delete(t.market_volume).where(
                    (t.market_volume.c.symbol == bindparam("k_symbol")) & (t.market_volume.c.day == bindparam("k_day"))
                ),
                [{"k_symbol": s, "k_day": d} for s, d in sorted(existing)],
            )
        conn.execute(
            insert(t.market_volume),
            [{"symbol": r.symbol, "day": r.day.isoformat(), "quantity": r.quantity} for r in rows],
        )
        symbols = sorted({r.symbol for r in rows})
        days = sorted(r.day for r in rows)
        record_change(
            conn,
            "market_volume",
            ",".join(symbols)[:64],
            {},
            {"days": len(rows), "replaced": len(existing), "from": days[0], "to": days[-1]},
            operator,
            "market volume imported",
        )
    return len(rows), len(existing)


def market_daily_volume(store: Store, symbol: str | None = None) -> dict[str, dict[date, int]]:
    """Imported market volume: symbol -> day -> quantity."""
    q = select(t.market_volume)
    if symbol:
        q = q.where(t.market_volume.c.symbol == symbol)
    out: dict[str, dict[date, int]] = {}
    with store.engine.connect() as conn:
        for r in conn.execute(q):
            out.setdefault(r.symbol, {})[date.fromisoformat(r.day)] = int(r.quantity)
    return out


def venue_daily_volume(store: Store, symbol: str | None = None) -> dict[str, dict[date, int]]:
    """The venue's volume: symbol -> UTC day -> sum of trade quantities (busted trades excluded)."""
    # Integer division, the divisor inline: both backends group by the same whole UTC day.
    day = (t.trades.c.executed_us // literal_column(str(DAY_US), BigInteger)).label("day")
    q = (
        select(t.trades.c.symbol, day, func.sum(t.trades.c.qty).label("qty"))
        .where(t.trades.c.settlement_status != BUSTED)
        .group_by(t.trades.c.symbol, day)
    )
    if symbol:
        q = q.where(t.trades.c.symbol == symbol)
    out: dict[str, dict[date, int]] = {}
    epoch = date(1970, 1, 1).toordinal()
    with store.engine.connect() as conn:
        for r in conn.execute(q):
            out.setdefault(r.symbol, {})[date.fromordinal(epoch + int(r.day))] = int(r.qty)
    return out


# ---------------------------------------------------------------- reads of confidential information (301(b)(10))
def record_data_access(store: Store, actor: str, command: str, scope: str, reason: str) -> int:
    """Record that `actor` read members' confidential trading information with `command` (its
    scope: the member, account, symbol... asked for) and why; returns the record's id. Write it
    before showing the data. StoreError without a reason."""
    reason = " ".join((reason or "").split())
    if not reason:
        raise StoreError("a read of confidential trading information needs a reason")
    if not actor:
        raise StoreError("a read of confidential trading information needs the operator")
    with store.engine.begin() as conn:
        res = conn.execute(
            insert(t.data_access_log).values(
                at_us=now_us(), actor=actor[:64], command=command[:64], scope=scope[:200], reason=reason
            )
        )
        return int(res.inserted_primary_key[0])


def data_access_log(store: Store, *, since_us: int | None = None, actor: str | None = None) -> list[dict]:
    """Recorded reads of confidential trading information, oldest first (from `since_us`, by `actor`)."""
    q = select(t.data_access_log).order_by(t.data_access_log.c.id)
    if since_us is not None:
        q = q.where(t.data_access_log.c.at_us >= since_us)
    if actor is not None:
        q = q.where(t.data_access_log.c.actor == actor)
    with store.engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(q)]
