"""The records' reads and writes: the only module of `venue.reports` that speaks SQL.

Reads select by time windows [start_us, end_us) on the journal tables; writes go to the tables of
migrations 0005_records and 0012_regulatory_records (trade_reports, member_affiliations,
clock_sync) and, for the retention purge, delete from the journal tables (the store's triggers
refuse rows younger than 3 years).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    and_,
    case,
    delete,
    func,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.exc import IntegrityError

from venue.store import schema as t
from venue.store.repository import Store, record_change

records_metadata = MetaData()

# Migrations 0005_records and 0012_regulatory_records: one row per (trade, action), append-only.
trade_reports = Table(
    "trade_reports",
    records_metadata,
    Column("trade_id", BigInteger, primary_key=True, autoincrement=False),
    Column("action", String(8), primary_key=True),  # new | cancel
    Column("report_id", String(40), nullable=False, unique=True),
    Column("ref_report_id", String(40), nullable=True),
    Column("ats_id", String(32), nullable=True),
    Column("symbol", String(32), nullable=False),
    Column("qty", BigInteger, nullable=False),
    Column("price", String(40), nullable=False),
    Column("buy_member", String(32), nullable=False),
    Column("sell_member", String(32), nullable=False),
    Column("reporting_member", String(32), nullable=True),
    Column("reporting_side", String(1), nullable=True),
    Column("reporting_capacity", String(1), nullable=True),
    Column("contra_member", String(32), nullable=True),
    Column("contra_side", String(1), nullable=True),
    Column("contra_capacity", String(1), nullable=True),
    Column("modifier", String(2), nullable=True),
    Column("executed_us", BigInteger, nullable=False),
    Column("bust_us", BigInteger, nullable=True),
    Column("reported_us", BigInteger, nullable=False),
    Column("delay_us", BigInteger, nullable=False),
    Column("late", Boolean, nullable=False),
)

# Migration 0012_regulatory_records: the host clock's synchronization state, one row per reading.
clock_sync = Table(
    "clock_sync",
    records_metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at_us", BigInteger, nullable=False),
    Column("synchronized", Boolean, nullable=False),
    Column("est_error_us", BigInteger, nullable=True),
    Column("max_error_us", BigInteger, nullable=True),
    Column("offset_us", BigInteger, nullable=True),
    Column("status", Integer, nullable=True),
    Column("source", Text, nullable=False),
)

member_affiliations = Table(
    "member_affiliations",
    records_metadata,
    Column("member_id", String(32), primary_key=True),
    Column("affiliated", Boolean, nullable=False),
    Column("relationship", Text, nullable=False),
    Column("updated_us", BigInteger, nullable=False),
)

STATUS_REQUEST = "I"  # ExecType ORDER_STATUS: an answer to a status request, not an order event
TRADE_CANCEL = "H"  # ExecType TRADE_CANCEL: the venue busted a trade
BUSTED = "failed"  # settlement status of a busted trade
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
    busted: dict[int, dict] = field(default_factory=dict)  # trades busted (ExecType H) in the window, by id


def order_events(store: Store, start_us: int, end_us: int) -> OrderEvents:
    """Executions (less status answers), gate decisions, cancel rejects and trades in the window,
    the trades busted in it, the orders they all refer to, and each FIX session's member."""
    ex = t.executions
    with store.engine.connect() as conn:
        executions = _rows(
            conn.execute(
                select(ex)
                .where(
                    (ex.c.transact_us >= start_us) & (ex.c.transact_us < end_us) & (ex.c.exec_type != STATUS_REQUEST)
                )
                .order_by(ex.c.transact_us, ex.c.exec_id)
            )
        )
        gd = t.gate_decisions
        gates = _rows(
            conn.execute(
                select(gd).where((gd.c.at_us >= start_us) & (gd.c.at_us < end_us)).order_by(gd.c.at_us, gd.c.id)
            )
        )
        cr = t.cancel_rejects
        rejects = _rows(
            conn.execute(
                select(cr)
                .where((cr.c.transact_us >= start_us) & (cr.c.transact_us < end_us))
                .order_by(cr.c.transact_us, cr.c.id)
            )
        )
        trades = _trades(conn, start_us, end_us)
        bust_ids = sorted({e["trade_id"] for e in executions if e["exec_type"] == TRADE_CANCEL and e["trade_id"]})
        busted: dict[int, dict] = {}
        for i in range(0, len(bust_ids), _CHUNK):
            chunk = bust_ids[i : i + _CHUNK]
            busted.update(
                (r["trade_id"], r) for r in _rows(conn.execute(select(t.trades).where(t.trades.c.trade_id.in_(chunk))))
            )
        ids = sorted(
            {r["order_id"] for r in (*executions, *gates, *rejects) if r["order_id"] is not None}
            | {tr["buy_order_id"] for tr in (*trades, *busted.values())}
            | {tr["sell_order_id"] for tr in (*trades, *busted.values())}
        )
        orders: dict[int, dict] = {}
        for i in range(0, len(ids), _CHUNK):
            for r in conn.execute(select(t.orders).where(t.orders.c.order_id.in_(ids[i : i + _CHUNK]))):
                orders[r.order_id] = dict(r._mapping)
        sessions = {
            r.comp_id: r.member_id for r in conn.execute(select(t.fix_sessions.c.comp_id, t.fix_sessions.c.member_id))
        }
    return OrderEvents(orders, executions, gates, rejects, trades, sessions, busted)


def _trades(conn, start_us: int, end_us: int) -> list[dict]:
    tr = t.trades
    return _rows(
        conn.execute(
            select(tr)
            .where((tr.c.executed_us >= start_us) & (tr.c.executed_us < end_us))
            .order_by(tr.c.executed_us, tr.c.trade_id)
        )
    )


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


def set_affiliation(
    store: Store, member_id: str, affiliated: bool, relationship: str, now_us: int, *, operator: str
) -> None:
    """Record whether a subscriber is affiliated with the ATS operator, and how, with its record in
    the registry change audit (who, before -> after), in one transaction."""
    ma = member_affiliations
    with store.engine.begin() as conn:
        row = conn.execute(select(ma.c.affiliated, ma.c.relationship).where(ma.c.member_id == member_id)).first()
        values = {"affiliated": affiliated, "relationship": relationship, "updated_us": now_us}
        if conn.execute(update(ma).where(ma.c.member_id == member_id).values(**values)).rowcount == 0:
            conn.execute(insert(ma).values(member_id=member_id, **values))
        before = {} if row is None else {"affiliated": bool(row.affiliated), "relationship": row.relationship}
        after = {"affiliated": affiliated, "relationship": relationship}
        record_change(conn, "affiliation", member_id, before, after, operator, "subscriber affiliation (Form ATS-R)")


def access_log_between(store: Store, start_us: int, end_us: int) -> list[dict]:
    al = t.access_log
    with store.engine.connect() as conn:
        return _rows(
            conn.execute(
                select(al).where((al.c.at_us >= start_us) & (al.c.at_us < end_us)).order_by(al.c.at_us, al.c.id)
            )
        )


# ---------------------------------------------------------------- trade reports


def unreported_trades(store: Store) -> list[dict]:
    """Trades without a trade report, oldest first, each with its orders' OrderCapacity
    (`buy_capacity`, `sell_capacity`). Trades are reported in trade-id order, all at once, so the
    unreported ones are those after the last report: an index seek, not a scan of every trade
    (this runs every second)."""
    tr = t.trades
    buy, sell = t.orders.alias("buy_order"), t.orders.alias("sell_order")
    last = select(func.coalesce(func.max(trade_reports.c.trade_id), 0)).scalar_subquery()
    q = (
        select(tr, buy.c.capacity.label("buy_capacity"), sell.c.capacity.label("sell_capacity"))
        .outerjoin(buy, buy.c.order_id == tr.c.buy_order_id)
        .outerjoin(sell, sell.c.order_id == tr.c.sell_order_id)
        .where(tr.c.trade_id > last)
        .order_by(tr.c.trade_id)
    )
    with store.engine.connect() as conn:
        return _rows(conn.execute(q))


def busts_to_report(store: Store) -> list[dict]:
    """The `new` reports of trades the venue has busted (settlement failed and the ExecType H
    reports sent) and not yet reported canceled, oldest trade first, each with `bust_us`: when the
    venue sent the bust. Failed trades are found through the settlement-status index; a trade
    whose bust the venue has not sent yet waits for it."""
    tr, ex = t.trades, t.executions
    new, cancel = trade_reports.alias("new_report"), trade_reports.alias("cancel_report")
    bust_us = (
        select(func.min(ex.c.transact_us))
        .where((ex.c.trade_id == tr.c.trade_id) & (ex.c.exec_type == TRADE_CANCEL))
        .scalar_subquery()
    )
    canceled = select(cancel.c.trade_id).where((cancel.c.trade_id == tr.c.trade_id) & (cancel.c.action == "cancel"))
    q = (
        select(*(c for c in new.c if c.name != "bust_us"), bust_us.label("bust_us"))
        .select_from(tr.join(new, (new.c.trade_id == tr.c.trade_id) & (new.c.action == "new")))
        .where((tr.c.settlement_status == BUSTED) & ~canceled.exists())
        .order_by(tr.c.trade_id)
    )
    with store.engine.connect() as conn:
        return [r for r in _rows(conn.execute(q)) if r["bust_us"] is not None]


def insert_trade_reports(store: Store, reports: list[dict]) -> bool:
    """Insert reports in one transaction; False (nothing kept) when another reporter got to one of
    these reports first (a trade has one report of each action)."""
    if not reports:
        return True
    try:
        with store.engine.begin() as conn:
            conn.execute(insert(trade_reports), reports)
    except IntegrityError:
        return False
    return True


def trade_report_rows(
    store: Store, *, late_only: bool = False, start_us: int | None = None, end_us: int | None = None
) -> list[dict]:
    """Trade reports (with the trade's current settlement status) in the order they were made; at
    the same instant a trade's report comes before its cancel."""
    tr = trade_reports
    q = (
        select(tr, t.trades.c.settlement_status)
        .outerjoin(t.trades, t.trades.c.trade_id == tr.c.trade_id)
        .order_by(tr.c.reported_us, tr.c.trade_id, case((tr.c.action == "new", 0), else_=1))
    )
    if late_only:
        q = q.where(tr.c.late.is_(True))
    if start_us is not None:
        q = q.where(tr.c.executed_us >= start_us)
    if end_us is not None:
        q = q.where(tr.c.executed_us < end_us)
    with store.engine.connect() as conn:
        return [{**r, "late": bool(r["late"])} for r in _rows(conn.execute(q))]


# ---------------------------------------------------------------- clock synchronization
def record_clock_sync(store: Store, reading: dict) -> None:
    """Keep one reading of the host clock's synchronization state (`venue.clock_sync`)."""
    with store.engine.begin() as conn:
        conn.execute(insert(clock_sync).values(**reading))


def clock_sync_between(store: Store, start_us: int, end_us: int) -> list[dict]:
    """The readings taken in the window, oldest first."""
    cs = clock_sync
    with store.engine.connect() as conn:
        rows = conn.execute(
            select(cs).where((cs.c.at_us >= start_us) & (cs.c.at_us < end_us)).order_by(cs.c.at_us, cs.c.id)
        )
        return [{**r, "synchronized": bool(r["synchronized"])} for r in _rows(rows)]


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
        return and_(c.executed_us < before_us, func.coalesce(c.settlement_updated_us, c.executed_us) < before_us)
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
