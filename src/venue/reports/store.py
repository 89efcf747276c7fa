"""The records' reads and writes: the only module of `venue.reports` that speaks SQL.

Reads select by time windows [start_us, end_us) on the journal tables; writes go to the tables of
migration 0005_records (trade_reports, member_affiliations) and, for the retention purge, delete
from the journal tables (the store's triggers refuse rows younger than 3 years).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import (BigInteger, Boolean, Column, MetaData, String, Table, Text, and_, delete, func, insert,
                        select, text, update)
from sqlalchemy.exc import IntegrityError

from venue.store import schema as t
from venue.store.repository import Store

records_metadata = MetaData()

# Migration 0005_records.
trade_reports = Table(
    "trade_reports", records_metadata,
    Column("trade_id", BigInteger, primary_key=True, autoincrement=False),
    Column("symbol", String(32), nullable=False),
    Column("qty", BigInteger, nullable=False),
    Column("price", String(40), nullable=False),
    Column("buy_member", String(32), nullable=False),
    Column("sell_member", String(32), nullable=False),
    Column("executed_us", BigInteger, nullable=False),
    Column("reported_us", BigInteger, nullable=False),
    Column("delay_us", BigInteger, nullable=False),
    Column("late", Boolean, nullable=False),
)

member_affiliations = Table(
    "member_affiliations", records_metadata,
    Column("member_id", String(32), primary_key=True),
    Column("affiliated", Boolean, nullable=False),
    Column("relationship", Text, nullable=False),
    Column("updated_us", BigInteger, nullable=False),
)

STATUS_REQUEST = "I"  # ExecType ORDER_STATUS: an answer to a status request, not an order event
_CHUNK = 500


def _rows(result) -> list[dict]:
    return [dict(r._mapping) for r in result]


@dataclass(frozen=True, slots=True)
class OrderEvents:
    """What the journal holds about orders in a window."""

    orders: dict[int, dict]
    executions: list[dict]
    gate_decisions: list[dict]
    cancel_rejects: list[dict]
    trades: list[dict]
    session_members: dict[str, str | None]


def order_events(store: Store, start_us: int, end_us: int) -> OrderEvents:
    """Executions (less status answers), gate decisions, cancel rejects and trades in the window,
    the orders they refer to, and each FIX session's member."""
    ex = t.executions
    with store.engine.connect() as conn:
        executions = _rows(conn.execute(select(ex).where(
            (ex.c.transact_us >= start_us) & (ex.c.transact_us < end_us) & (ex.c.exec_type != STATUS_REQUEST))
            .order_by(ex.c.transact_us, ex.c.exec_id)))
        gd = t.gate_decisions
        gates = _rows(conn.execute(select(gd).where((gd.c.at_us >= start_us) & (gd.c.at_us < end_us))
                                   .order_by(gd.c.at_us, gd.c.id)))
        cr = t.cancel_rejects
        rejects = _rows(conn.execute(select(cr).where((cr.c.transact_us >= start_us) & (cr.c.transact_us < end_us))
                                     .order_by(cr.c.transact_us, cr.c.id)))
        trades = _trades(conn, start_us, end_us)
        ids = sorted({r["order_id"] for r in (*executions, *gates, *rejects) if r["order_id"] is not None}
                     | {tr["buy_order_id"] for tr in trades} | {tr["sell_order_id"] for tr in trades})
        orders: dict[int, dict] = {}
        for i in range(0, len(ids), _CHUNK):
            for r in conn.execute(select(t.orders).where(t.orders.c.order_id.in_(ids[i:i + _CHUNK]))):
                orders[r.order_id] = dict(r._mapping)
        sessions = {r.comp_id: r.member_id for r in conn.execute(select(t.fix_sessions.c.comp_id,
                                                                        t.fix_sessions.c.member_id))}
    return OrderEvents(orders, executions, gates, rejects, trades, sessions)


def _trades(conn, start_us: int, end_us: int) -> list[dict]:
    tr = t.trades
    return _rows(conn.execute(select(tr).where((tr.c.executed_us >= start_us) & (tr.c.executed_us < end_us))
                              .order_by(tr.c.executed_us, tr.c.trade_id)))


def trades_between(store: Store, start_us: int, end_us: int) -> list[dict]:
    """Every trade executed in the window (busted ones too: settlement_status "failed")."""
    with store.engine.connect() as conn:
        return _trades(conn, start_us, end_us)


def securities(store: Store) -> dict[str, dict]:
    with store.engine.connect() as conn:
        return {r.symbol: dict(r._mapping) for r in conn.execute(select(t.securities))}


def members(store: Store) -> list[dict]:
    with store.engine.connect() as conn:
        return _rows(conn.execute(select(t.members).order_by(t.members.c.member_id)))


def affiliations(store: Store) -> dict[str, dict]:
    with store.engine.connect() as conn:
        return {r.member_id: dict(r._mapping) for r in conn.execute(select(member_affiliations))}


def set_affiliation(store: Store, member_id: str, affiliated: bool, relationship: str, now_us: int) -> None:
    """Record whether a subscriber is affiliated with the ATS operator, and how."""
    with store.engine.begin() as conn:
        values = {"affiliated": affiliated, "relationship": relationship, "updated_us": now_us}
        if conn.execute(update(member_affiliations).where(member_affiliations.c.member_id == member_id)
                        .values(**values)).rowcount == 0:
            conn.execute(insert(member_affiliations).values(member_id=member_id, **values))


def access_log_between(store: Store, start_us: int, end_us: int) -> list[dict]:
    al = t.access_log
    with store.engine.connect() as conn:
        return _rows(conn.execute(select(al).where((al.c.at_us >= start_us) & (al.c.at_us < end_us))
                                  .order_by(al.c.at_us, al.c.id)))


# ---------------------------------------------------------------- trade reports
def unreported_trades(store: Store) -> list[dict]:
    """Trades without a trade report, oldest first. Trades are reported in trade-id order, all at
    once, so the unreported ones are those after the last report: an index seek, not a scan of
    every trade (this runs every second)."""
    tr = t.trades
    last = select(func.coalesce(func.max(trade_reports.c.trade_id), 0)).scalar_subquery()
    q = select(tr).where(tr.c.trade_id > last).order_by(tr.c.trade_id)
    with store.engine.connect() as conn:
        return _rows(conn.execute(q))


def insert_trade_reports(store: Store, reports: list[dict]) -> bool:
    """Insert reports in one transaction; False (nothing kept) when another reporter got to one of
    these trades first."""
    if not reports:
        return True
    try:
        with store.engine.begin() as conn:
            conn.execute(insert(trade_reports), reports)
    except IntegrityError:
        return False
    return True


def trade_report_rows(store: Store, *, late_only: bool = False, start_us: int | None = None,
                      end_us: int | None = None) -> list[dict]:
    """Trade reports (with the trade's current settlement status), in trade order."""
    q = (select(trade_reports, t.trades.c.settlement_status)
         .outerjoin(t.trades, t.trades.c.trade_id == trade_reports.c.trade_id)
         .order_by(trade_reports.c.trade_id))
    if late_only:
        q = q.where(trade_reports.c.late.is_(True))
    if start_us is not None:
        q = q.where(trade_reports.c.executed_us >= start_us)
    if end_us is not None:
        q = q.where(trade_reports.c.executed_us < end_us)
    with store.engine.connect() as conn:
        return [{**r, "late": bool(r["late"])} for r in _rows(conn.execute(q))]


# ---------------------------------------------------------------- retention
RETAINED_TABLES = ("orders", "executions", "trades", "gate_decisions", "trade_reports")
OPEN_STATUSES = ("A", "0", "1")  # pending new, new, partially filled: an open order is never purged


def _older_than(table_name: str, before_us: int):
    if table_name == "orders":
        c = t.orders.c
        return and_(c.updated_us < before_us, c.status.notin_(OPEN_STATUSES))
    if table_name == "executions":
        return t.executions.c.transact_us < before_us
    if table_name == "trades":
        c = t.trades.c
        return and_(c.executed_us < before_us,
                    func.coalesce(c.settlement_updated_us, c.executed_us) < before_us)
    if table_name == "gate_decisions":
        return t.gate_decisions.c.at_us < before_us
    if table_name == "trade_reports":
        return trade_reports.c.reported_us < before_us
    raise ValueError(table_name)


def _table(name: str) -> Table:
    return trade_reports if name == "trade_reports" else t.metadata.tables[name]


def count_older(store: Store, before_us: int) -> dict[str, tuple[int, int]]:
    """table -> (rows, rows older than `before_us`)."""
    out = {}
    with store.engine.connect() as conn:
        for name in RETAINED_TABLES:
            table = _table(name)
            total = conn.execute(select(func.count()).select_from(table)).scalar() or 0
            old = conn.execute(select(func.count()).select_from(table).where(_older_than(name, before_us))).scalar()
            out[name] = (int(total), int(old or 0))
    return out


def delete_older(store: Store, before_us: int) -> dict[str, int]:
    """Delete rows older than `before_us` from every retained table, in one transaction."""
    out = {}
    with store.engine.begin() as conn:
        for name in RETAINED_TABLES:
            out[name] = conn.execute(delete(_table(name)).where(_older_than(name, before_us))).rowcount
    return out


def retention_triggers(store: Store) -> set[str]:
    """Names of the retention triggers the database holds."""
    with store.engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            rows = conn.execute(text("SELECT tgname FROM pg_trigger WHERE tgname LIKE 'retain_%'"))
        else:
            rows = conn.execute(text("SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'retain_%'"))
        return {r[0] for r in rows}
