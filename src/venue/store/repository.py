"""Reading and writing the venue's store.

`Store.commit()` writes one `JournalBatch` in one transaction; the sequencer calls it before any
report in the batch is sent, so an acknowledged order is always a committed order.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import date
from decimal import Decimal
from enum import Enum
from pathlib import Path

from sqlalchemy import (
    bindparam,
    create_engine,
    delete,
    event,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DisconnectionError, IntegrityError, SQLAlchemyError

from venue.book.types import OrdType, SelfMatchPrevention, Side, TimeInForce
from venue.clock import now_us
from venue.journal import JournalBatch
from venue.model import (
    Account,
    FixSession,
    IssuerRole,
    Member,
    MemberStatus,
    Offering,
    Security,
    SessionRole,
    TradingStatus,
    Transport,
    World,
)
from venue.orders import OrderCapacity, OrderRecord, OrdStatus
from venue.resale import volume_window_start_us
from venue.store import schema as t
from venue.store.journal_pg import PgJournal
from venue.store.journal_sqlite import SqliteJournal


class StoreError(Exception):
    """A store operation failed in a way the caller can explain to a person."""


def normalise_url(url: str) -> str:
    """Accept plain `postgresql://` URLs and use the psycopg 3 driver for them."""
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


def _order_row(o: OrderRecord) -> dict:
    return {
        "order_id": o.order_id,
        "comp_id": o.comp_id,
        "member_id": o.member_id,
        "cl_ord_id": o.cl_ord_id,
        "orig_cl_ord_id": o.orig_cl_ord_id,
        "account": o.account,
        "symbol": o.symbol,
        "side": o.side.value,
        "ord_type": o.ord_type.value,
        "price_ticks": o.price,
        "qty": o.qty,
        "min_qty": o.min_qty,
        "tif": o.tif.value,
        "expire_at_us": o.expire_at_us,
        "trading_day": o.trading_day,
        "smp": o.smp.value,
        "status": o.status.value,
        "leaves": o.leaves,
        "cum": o.cum,
        "notional_ticks": o.notional,
        "priority": o.priority,
        "text": o.text,
        "created_us": o.created_us,
        "updated_us": o.updated_us,
        "capacity": o.capacity.value if o.capacity is not None else None,
    }


def _order_from_row(r) -> OrderRecord:
    return OrderRecord(
        order_id=r.order_id,
        comp_id=r.comp_id,
        member_id=r.member_id,
        cl_ord_id=r.cl_ord_id,
        orig_cl_ord_id=r.orig_cl_ord_id,
        account=r.account,
        symbol=r.symbol,
        side=Side(r.side),
        ord_type=OrdType(r.ord_type),
        price=r.price_ticks,
        qty=r.qty,
        min_qty=r.min_qty,
        tif=TimeInForce(r.tif),
        expire_at_us=r.expire_at_us,
        trading_day=r.trading_day,
        smp=SelfMatchPrevention(r.smp),
        status=OrdStatus(r.status),
        leaves=r.leaves,
        cum=r.cum,
        notional=r.notional_ticks,
        priority=r.priority,
        text=r.text,
        created_us=r.created_us,
        updated_us=r.updated_us,
        capacity=OrderCapacity(r.capacity) if r.capacity else None,
    )


# The statuses of journaled orders that are still open (PENDING_NEW never reaches the journal).
_OPEN_CODES = (OrdStatus.NEW.value, OrdStatus.PARTIALLY_FILLED.value)

_UPDATABLE = (
    "cl_ord_id",
    "orig_cl_ord_id",
    "price_ticks",
    "qty",
    "status",
    "leaves",
    "cum",
    "notional_ticks",
    "priority",
    "text",
    "updated_us",
    "expire_at_us",
)


class Store:
    """A connection to the venue's database (SQLite file or PostgreSQL URL)."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = normalise_url(url)
        self.is_sqlite = self.url.startswith("sqlite")
        kwargs: dict = {"echo": echo, "future": True}
        if self.is_sqlite:
            kwargs["connect_args"] = {"timeout": 30, "check_same_thread": False}
        self.engine: Engine = create_engine(self.url, **kwargs)
        if self.is_sqlite:
            event.listen(self.engine, "connect", _sqlite_pragmas)
        else:
            _ping_when_idle(self.engine)
        self._journal_conn: Connection | None = None  # SQLite: the journal's own (_commit_sqlite)
        self._journal_lock = threading.Lock()
        # The hot path: each table of a batch in one statement on the driver (generic path: None).
        self._bulk_journal = SqliteJournal() if self.is_sqlite else PgJournal()
        self._order_update = (
            update(t.orders)
            .where(t.orders.c.order_id == bindparam("b_order_id"))
            .values({c: bindparam(c) for c in _UPDATABLE})
        )

    # ------------------------------------------------------------ schema
    def migrate(self) -> None:
        """Bring the schema to the newest Alembic revision."""
        from venue.store.migrate import upgrade

        upgrade(self.engine)

    def dispose(self) -> None:
        with self._journal_lock:
            self._close_journal()
        self.engine.dispose()

    def around_transactions(self, enter: Callable[[], None], leave: Callable[[], None]) -> None:
        """Call `enter` when a transaction of this store begins and `leave` when it ends (commit,
        rollback, or its connection going back to the pool), on the thread that runs it."""
        event.listen(self.engine, "begin", lambda _conn: enter())
        event.listen(self.engine, "commit", lambda _conn: leave())
        event.listen(self.engine, "rollback", lambda _conn: leave())
        event.listen(self.engine.pool, "checkin", lambda _dbapi, _record: leave())

    # ------------------------------------------------------------ journal
    def commit(self, batch: JournalBatch) -> None:
        """Write a batch in one transaction. Raises on failure; nothing of the batch is kept then."""
        if self.is_sqlite and self._bulk_journal is not None:
            with self._journal_lock:
                self._commit_sqlite(batch)
            return
        with self.engine.begin() as conn:
            order_rows = {i: _order_row(o) for i, o in batch.orders.items()}
            if self._bulk_journal is not None:
                self._bulk_journal.write(conn.connection.driver_connection, batch, order_rows, _UPDATABLE)
                self._commit_rest(conn, batch, bulk_done=True)
                return
            if batch.new_orders:
                conn.execute(insert(t.orders), [order_rows[i] for i in sorted(batch.new_orders)])
            changed = [row for i, row in order_rows.items() if i not in batch.new_orders]
            if changed:
                rows = []
                for row in changed:
                    params = {c: row[c] for c in _UPDATABLE}
                    params["b_order_id"] = row["order_id"]
                    rows.append(params)
                conn.execute(self._order_update, rows)
            for name, rows in batch.appended():
                if rows:
                    conn.execute(insert(t.metadata.tables[name]), rows)
            self._commit_rest(conn, batch)

    def _commit_sqlite(self, batch: JournalBatch) -> None:
        """The journal on SQLite, on a connection of its own kept from one batch to the next: no
        pool check-out and check-in per batch, and its busy timeout stays 0 (`_begin_immediate`
        asks for the write lock itself) instead of being set and reset around every BEGIN. A
        connection that failed is closed, never reused; the next batch opens another.

        Its commits checkpoint the WAL into the database at JOURNAL_CHECKPOINT_PAGES, not at
        SQLite's 1,000: a checkpoint (copying the pages and syncing the database file, 2-4 ms here)
        runs inside the COMMIT that crosses the mark, so it comes 4x less often on the order path.
        The other processes' connections keep the default and take most checkpoints while they
        write (settlement)."""
        conn = self._journal_conn
        if conn is None:
            conn = self.engine.connect()
            db = conn.connection.driver_connection
            db.execute("PRAGMA busy_timeout=0")
            db.execute(f"PRAGMA wal_autocheckpoint={JOURNAL_CHECKPOINT_PAGES}")
            self._journal_conn = conn
        try:
            with conn.begin():
                db = conn.connection.driver_connection
                _begin_immediate(db)
                order_rows = {i: _order_row(o) for i, o in batch.orders.items()}
                self._bulk_journal.write(db, batch, order_rows, _UPDATABLE)
                self._commit_rest(conn, batch, bulk_done=True)
        except BaseException:
            self._close_journal()
            raise

    def _close_journal(self) -> None:
        conn, self._journal_conn = self._journal_conn, None
        if conn is not None:
            try:
                conn.invalidate()  # its busy timeout is 0: never handed to anyone else by the pool
                conn.close()
            except Exception:  # noqa: BLE001 - it is being dropped anyway
                pass

    @staticmethod
    def _commit_rest(conn, batch: JournalBatch, *, bulk_done: bool = False) -> None:
        """The batch's few-row changes: status changes and ops commands done, and (unless the bulk
        path wrote them) the report watermark and the settlement outcomes taken."""
        if not bulk_done:
            if batch.sent_exec_id is not None:
                if (
                    conn.execute(
                        update(t.report_watermark)
                        .where(t.report_watermark.c.id == 1)
                        .values(exec_id=batch.sent_exec_id)
                    ).rowcount
                    == 0
                ):
                    conn.execute(insert(t.report_watermark).values(id=1, exec_id=batch.sent_exec_id))
            for done in batch.settlement_done:
                conn.execute(
                    update(t.settlement_events)
                    .where(t.settlement_events.c.id == done["id"])
                    .values(processed_us=done["processed_us"])
                )
        for symbol, status in batch.security_status.items():
            conn.execute(update(t.securities).where(t.securities.c.symbol == symbol).values(trading_status=status))
        for done in batch.ops_done:
            conn.execute(
                update(t.ops_commands)
                .where(t.ops_commands.c.id == done["id"])
                .values(status=done["status"], result=done["result"], done_us=done["done_us"])
            )

    # ------------------------------------------------------------ start-up
    def load_world(self) -> World:
        with self.engine.connect() as conn:
            members = {r.member_id: _member_from_row(r) for r in conn.execute(select(t.members))}
            sessions = {r.comp_id: _session_from_row(r) for r in conn.execute(select(t.fix_sessions))}
            accounts = {r.account_id: _account_from_row(r) for r in conn.execute(select(t.accounts))}
            securities = {r.symbol: _security_from_row(r) for r in conn.execute(select(t.securities))}
            affiliations = {
                (r.account_id, r.symbol): IssuerRole(r.role) for r in conn.execute(select(t.issuer_affiliations))
            }
            family: dict[str, set[str]] = {}
            for r in conn.execute(select(t.family_links)):
                family.setdefault(r.account_id, set()).add(r.family_account_id)
                family.setdefault(r.family_account_id, set()).add(r.account_id)
        return World(
            members,
            sessions,
            accounts,
            securities,
            affiliations,
            {account: frozenset(linked) for account, linked in family.items()},
        )

    def session_with_member(self, comp_id: str) -> tuple[FixSession | None, Member | None]:
        """One session and its member (None for either that does not exist): what a logon needs."""
        with self.engine.connect() as conn:
            s = conn.execute(select(t.fix_sessions).where(t.fix_sessions.c.comp_id == comp_id)).first()
            if s is None:
                return None, None
            session = _session_from_row(s)
            if s.member_id is None:
                return session, None
            m = conn.execute(select(t.members).where(t.members.c.member_id == s.member_id)).first()
            return session, (_member_from_row(m) if m else None)

    @contextmanager
    def snapshot(self) -> Iterator[Connection]:
        """A connection whose reads all see one state of the database, whatever commits meanwhile:
        REPEATABLE READ on PostgreSQL; on SQLite an explicit BEGIN, as the driver starts no
        transaction for a SELECT (each SELECT alone would see the latest commit)."""
        with self.engine.connect() as conn:
            if self.is_sqlite:
                with conn.begin():
                    conn.exec_driver_sql("BEGIN")
                    yield conn
            else:
                conn = conn.execution_options(isolation_level="REPEATABLE READ")
                with conn.begin():
                    yield conn

    def load_positions(self, now: int | None = None) -> tuple[list[dict], list[dict], list[dict]]:
        """Holdings, lots and trades, read in one snapshot so a settlement the worker commits
        meanwhile is seen in all three or in none. The trades are those not settled yet (neither
        final nor failed) and, for Rule 144(e), the final sales by an issuer or affiliate since the
        start of the three months before `now` (default: the clock); `settlement_status` tells them
        apart."""
        since = volume_window_start_us(now if now is not None else now_us())
        c = t.trades.c
        with self.snapshot() as conn:
            holdings = [dict(r._mapping) for r in conn.execute(select(t.holdings))]
            lots = [dict(r._mapping) for r in conn.execute(select(t.lots).order_by(t.lots.c.tacking_us, t.lots.c.id))]
            trades = [
                dict(r._mapping)
                for r in conn.execute(
                    select(t.trades)
                    .where(
                        c.settlement_status.notin_(("final", "failed"))
                        | ((c.settlement_status == "final") & c.seller_role.is_not(None) & (c.executed_us >= since))
                    )
                    .order_by(c.trade_id)
                )
            ]
        return holdings, lots, trades

    def pending_settlement_events(
        self, limit: int = 500, after_id: int = 0
    ) -> list[tuple[dict, dict | None, list[dict]]]:
        """Settlement outcomes the sequencer has not reported yet (with an id above `after_id`),
        oldest first: (event, trade, the trade's two fill executions). Three queries, whatever the
        number of events."""
        with self.engine.connect() as conn:
            events = [
                dict(r._mapping)
                for r in conn.execute(
                    select(t.settlement_events)
                    .where(t.settlement_events.c.processed_us.is_(None) & (t.settlement_events.c.id > after_id))
                    .order_by(t.settlement_events.c.id)
                    .limit(limit)
                )
            ]
            if not events:
                return []
            ids = sorted({ev["trade_id"] for ev in events})
            trades = {
                r.trade_id: dict(r._mapping) for r in conn.execute(select(t.trades).where(t.trades.c.trade_id.in_(ids)))
            }
            fills: dict[int, list[dict]] = {}
            for r in conn.execute(
                select(t.executions)
                .where(t.executions.c.trade_id.in_(ids) & (t.executions.c.exec_type == "F"))
                .order_by(t.executions.c.exec_id)
            ):
                fills.setdefault(r.trade_id, []).append(dict(r._mapping))
        return [(ev, trades.get(ev["trade_id"]), fills.get(ev["trade_id"], [])) for ev in events]

    def unsent_executions(self) -> list[dict]:
        """Executions journaled after the report watermark: perhaps never sent (a crash between
        commit and send), oldest first."""
        with self.engine.connect() as conn:
            mark = conn.execute(select(t.report_watermark.c.exec_id).where(t.report_watermark.c.id == 1)).scalar()
            q = select(t.executions).order_by(t.executions.c.exec_id)
            if mark is not None:
                q = q.where(t.executions.c.exec_id > mark)
            return [dict(r._mapping) for r in conn.execute(q)]

    def gate_decisions(self, *, limit: int = 1000, outcome: str | None = None) -> list[dict]:
        q = select(t.gate_decisions).order_by(t.gate_decisions.c.id.desc()).limit(limit)
        if outcome:
            q = q.where(t.gate_decisions.c.outcome == outcome)
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(q)]

    def load_open_orders(self) -> list[OrderRecord]:
        """Every open order, in time priority (the order to restore them into books)."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(t.orders)
                .where(t.orders.c.status.in_(_OPEN_CODES))
                .order_by(t.orders.c.priority, t.orders.c.order_id)
            )
            return [_order_from_row(r) for r in rows]

    def load_order(self, order_id: int) -> OrderRecord | None:
        with self.engine.connect() as conn:
            r = conn.execute(select(t.orders).where(t.orders.c.order_id == order_id)).first()
            return _order_from_row(r) if r else None

    def load_cl_ord_ids(self, day: str) -> dict[tuple[str, str], int | None]:
        """The ClOrdIDs still taken on `day` (YYYY-MM-DD, UTC): those used that day or later, and
        those of orders still open (a GTC order keeps its ClOrdIDs across days)."""
        open_ids = select(t.orders.c.order_id).where(t.orders.c.status.in_(_OPEN_CODES))
        q = (
            select(t.cl_ord_ids.c.comp_id, t.cl_ord_ids.c.cl_ord_id, t.cl_ord_ids.c.order_id)
            .where(or_(t.cl_ord_ids.c.day >= day, t.cl_ord_ids.c.order_id.in_(open_ids)))
            .order_by(t.cl_ord_ids.c.day)
        )  # a ClOrdID used on several days: the latest use
        with self.engine.connect() as conn:
            return {(r.comp_id, r.cl_ord_id): r.order_id for r in conn.execute(q)}

    def max_ids(self) -> dict[str, int]:
        """Highest ids used so far, so numbering continues after a restart."""
        with self.engine.connect() as conn:

            def mx(col) -> int:
                return conn.execute(select(func.max(col))).scalar() or 0

            return {
                "order": mx(t.orders.c.order_id),
                "exec": mx(t.executions.c.exec_id),
                "trade": mx(t.trades.c.trade_id),
                "cancel_reject": mx(t.cancel_rejects.c.id),
                "priority": mx(t.orders.c.priority),
                "settled_block": mx(t.settlement_events.c.block_number),
            }

    def last_trade_prices(self) -> dict[str, int]:
        """Last traded price (ticks) per symbol: the reference price after a restart."""
        with self.engine.connect() as conn:
            last = (
                select(t.trades.c.symbol, func.max(t.trades.c.trade_id).label("tid"))
                .group_by(t.trades.c.symbol)
                .subquery()
            )
            rows = conn.execute(
                select(t.trades.c.symbol, t.trades.c.price_ticks).join(last, t.trades.c.trade_id == last.c.tid)
            )
            return {r.symbol: r.price_ticks for r in rows}

    # ------------------------------------------------------------ reads for ops
    def orders(
        self,
        *,
        member: str | None = None,
        symbol: str | None = None,
        status: Iterable[str] | None = None,
        account: str | None = None,
        limit: int = 200,
    ) -> list[OrderRecord]:
        q = select(t.orders)
        if member:
            q = q.where(t.orders.c.member_id == member)
        if symbol:
            q = q.where(t.orders.c.symbol == symbol)
        if account:
            q = q.where(t.orders.c.account == account)
        if status:
            q = q.where(t.orders.c.status.in_(list(status)))
        q = q.order_by(t.orders.c.order_id.desc()).limit(limit)
        with self.engine.connect() as conn:
            return [_order_from_row(r) for r in conn.execute(q)]

    def executions_for(self, order_id: int) -> list[dict]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(t.executions).where(t.executions.c.order_id == order_id).order_by(t.executions.c.exec_id)
            )
            return [dict(r._mapping) for r in rows]

    def trades(self, symbol: str | None = None) -> list[dict]:
        q = select(t.trades).order_by(t.trades.c.trade_id)
        if symbol:
            q = q.where(t.trades.c.symbol == symbol)
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(q)]

    def auth_events(self, comp_id: str | None = None) -> list[dict]:
        q = select(t.auth_events).order_by(t.auth_events.c.id)
        if comp_id:
            q = q.where(t.auth_events.c.comp_id == comp_id)
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(q)]

    def record_auth_event(self, comp_id: str, outcome: str, reason: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                insert(t.auth_events).values(comp_id=comp_id[:64], outcome=outcome, reason=reason, at_us=now_us())
            )

    # ------------------------------------------------------------ ops queue
    def enqueue_ops_command(self, command: str, argument: str, requested_by: str = "cli") -> int:
        with self.engine.begin() as conn:
            return _enqueue(conn, command, argument, requested_by)

    def pending_ops_commands(self, after_id: int = 0) -> list[dict]:
        """Ops instructions not done yet (with an id above `after_id`), oldest first."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(t.ops_commands)
                .where((t.ops_commands.c.status == "pending") & (t.ops_commands.c.id > after_id))
                .order_by(t.ops_commands.c.id)
            )
            return [dict(r._mapping) for r in rows]

    def ops_command(self, command_id: int) -> dict | None:
        with self.engine.connect() as conn:
            r = conn.execute(select(t.ops_commands).where(t.ops_commands.c.id == command_id)).first()
            return dict(r._mapping) if r else None

    # ------------------------------------------------------------ registry (CLI)
    def add_member(self, member_id: str, name: str, kind: str) -> None:
        self._insert(
            t.members,
            f"member {member_id} already exists",
            member_id=member_id,
            name=name,
            kind=kind,
            status=MemberStatus.ACTIVE.value,
            created_us=now_us(),
        )

    def set_member_status(self, member_id: str, status: MemberStatus) -> None:
        self._update_one(t.members, t.members.c.member_id == member_id, f"no member {member_id}", status=status.value)

    def add_session(
        self,
        comp_id: str,
        member_id: str | None,
        role: SessionRole,
        password_hash: str,
        cancel_on_disconnect: bool = False,
        cod_keep_gtc: bool = False,
        transport: Transport = Transport.PLAIN,
    ) -> None:
        created = now_us()
        self._insert(
            t.fix_sessions,
            f"session {comp_id} already exists",
            comp_id=comp_id,
            member_id=member_id,
            role=role.value,
            password_hash=password_hash,
            cancel_on_disconnect=cancel_on_disconnect,
            cod_keep_gtc=cod_keep_gtc,
            created_us=created,
            transport=transport.value,
            password_changed_us=created,
        )

    def schema_current(self) -> bool:
        """Whether the store's schema is at the newest revision (read-only commands never migrate)."""
        from venue.store.migrate import is_current

        return is_current(self.engine)

    def session_password_changed(self, comp_id: str) -> int | None:
        """When `comp_id`'s password was last set (µs), None if unknown."""
        with self.engine.connect() as conn:
            return conn.execute(
                select(t.fix_sessions.c.password_changed_us).where(t.fix_sessions.c.comp_id == comp_id)
            ).scalar()

    def add_account(self, account: Account) -> None:
        self._insert(
            t.accounts,
            f"account {account.account_id} already exists",
            account_id=account.account_id,
            member_id=account.member_id,
            name=account.name,
            jurisdiction=account.jurisdiction,
            accredited=account.accredited,
            investor_type=account.investor_type,
            created_us=now_us(),
            kyc_status=account.kyc_status,
            kyc_expires=_iso(account.kyc_expires),
            aml_flag=account.aml_flag,
            accreditation_expires=_iso(account.accreditation_expires),
        )

    def set_holding(self, account_id: str, asset: str, quantity: Decimal) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                t.holdings.delete().where((t.holdings.c.account_id == account_id) & (t.holdings.c.asset == asset))
            )
            conn.execute(insert(t.holdings).values(account_id=account_id, asset=asset, quantity=str(quantity)))

    def holdings(self, account_id: str | None = None) -> list[dict]:
        q = select(t.holdings).order_by(t.holdings.c.account_id, t.holdings.c.asset)
        if account_id:
            q = q.where(t.holdings.c.account_id == account_id)
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(q)]

    def add_security(self, s: Security) -> None:
        self._insert(
            t.securities,
            f"security {s.symbol} already exists",
            symbol=s.symbol,
            name=s.name,
            tick_size=str(s.tick_size),
            lot_size=s.lot_size,
            offering=s.offering.value,
            trading_status=s.trading_status.value,
            reference_price=None if s.reference_price is None else str(s.reference_price),
            band_bps=s.band_bps,
            currency=s.currency,
            created_us=now_us(),
            auction_interval_s=s.auction_interval_s,
            allowed_jurisdictions=_codes(s.allowed_jurisdictions),
            denied_jurisdictions=_codes(s.denied_jurisdictions) or None,
            us_buyers_from=_iso(s.us_buyers_from),
            max_holders=s.max_holders,
            max_non_accredited_holders=s.max_non_accredited_holders,
            min_holding=s.min_holding,
            max_holding=s.max_holding,
            restricted=s.restricted,
            issuer_reporting=s.issuer_reporting,
            issue_date=_iso(s.issue_date),
            reg_s_category=s.reg_s_category,
            debt=s.debt,
            outstanding=s.outstanding,
        )

    def update_member(self, member_id: str, **values) -> None:
        """Change member settings (default_smp, risk limits, killed) without an audit record: for the
        sandbox's seeding and the benches; operators change members through `change`."""
        self._update_one(t.members, t.members.c.member_id == member_id, f"no member {member_id}", **_stored(values))

    def lots(self, account_id: str | None = None, symbol: str | None = None) -> list[dict]:
        q = select(t.lots).order_by(t.lots.c.account_id, t.lots.c.symbol, t.lots.c.acquired_us, t.lots.c.id)
        if account_id:
            q = q.where(t.lots.c.account_id == account_id)
        if symbol:
            q = q.where(t.lots.c.symbol == symbol)
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(q)]

    def add_lot(
        self, account_id: str, symbol: str, quantity: int, acquired_us: int, tacking_us: int | None = None
    ) -> None:
        """A starting lot (sandbox, benches); its holding period runs from `tacking_us` (default: its
        acquisition)."""
        with self.engine.begin() as conn:
            conn.execute(
                insert(t.lots).values(
                    account_id=account_id,
                    symbol=symbol,
                    quantity=quantity,
                    acquired_us=acquired_us,
                    tacking_us=acquired_us if tacking_us is None else tacking_us,
                )
            )

    # ------------------------------------------------------------ resale rules: affiliates, family
    def set_issuer_role(
        self, account_id: str, symbol: str, role: IssuerRole | None, *, operator: str, reason: str
    ) -> int:
        """Record (None: remove) an account's relationship to the issuer of `symbol` (Rule
        144(a)(1)), audited, and queue the `reload` that tells a running venue, in one transaction.
        Returns the ops command's id."""
        a = t.issuer_affiliations
        with self.engine.begin() as conn:
            self._require(conn, t.accounts, t.accounts.c.account_id == account_id, f"no account {account_id}")
            self._require(conn, t.securities, t.securities.c.symbol == symbol, f"no security {symbol}")
            where = (a.c.account_id == account_id) & (a.c.symbol == symbol)
            before = conn.execute(select(a.c.role).where(where)).scalar()
            conn.execute(delete(a).where(where))
            if role is not None:
                conn.execute(
                    insert(a).values(account_id=account_id, symbol=symbol, role=role.value, created_us=now_us())
                )
            record_change(
                conn,
                "issuer_role",
                f"{account_id}/{symbol}",
                {"role": before},
                {"role": role.value if role else None},
                operator,
                reason,
                account=account_id,
            )
            return _enqueue(conn, "reload", account_id, operator)

    def set_family_link(
        self, account_id: str, other_id: str, relationship: str | None, *, operator: str, reason: str
    ) -> int:
        """Declare two accounts members of one family (Reg CF 227.501(c)); `relationship` None
        removes the link. Audited, with the `reload` for a running venue, in one transaction."""
        if account_id == other_id:
            raise StoreError("an account is not a member of its own family")
        low, high = sorted((account_id, other_id))
        f = t.family_links
        with self.engine.begin() as conn:
            for acct in (low, high):
                self._require(conn, t.accounts, t.accounts.c.account_id == acct, f"no account {acct}")
            where = (f.c.account_id == low) & (f.c.family_account_id == high)
            before = conn.execute(select(f.c.relationship).where(where)).scalar()
            conn.execute(delete(f).where(where))
            if relationship is not None:
                conn.execute(
                    insert(f).values(
                        account_id=low, family_account_id=high, relationship=relationship, created_us=now_us()
                    )
                )
            record_change(
                conn,
                "family",
                f"{low}/{high}",
                {"relationship": before},
                {"relationship": relationship},
                operator,
                reason,
                account=account_id,
            )
            return _enqueue(conn, "reload", account_id, operator)

    @staticmethod
    def _require(conn: Connection, table, where, missing_message: str) -> None:
        if conn.execute(select(func.count()).select_from(table).where(where)).scalar() == 0:
            raise StoreError(missing_message)

    # ------------------------------------------------------------ audited registry changes
    def change(
        self, entity: str, key: str, values: dict, *, operator: str, reason: str, notify: str | None = "reload"
    ) -> int | None:
        """Change one registry row (`entity`: investor, member, session or security), record the
        values before and after in registry_changes, and queue the ops command that tells a running
        venue (`notify`), all in one transaction. Returns the ops command's id (None: no notice)."""
        table, column = _REGISTRY[entity]
        stored = _stored(values)
        with self.engine.begin() as conn:
            row = conn.execute(select(*(table.c[k] for k in stored)).where(table.c[column] == key)).first()
            if row is None:
                raise StoreError(f"no {_NOUN[entity]} {key}")
            before = dict(row._mapping)
            conn.execute(update(table).where(table.c[column] == key).values(**stored))
            record_change(
                conn,
                entity,
                key,
                _redacted(before),
                _redacted(stored),
                operator,
                reason,
                account=key if entity == "investor" else None,
            )
            if notify is None:
                return None
            return _enqueue(conn, notify, key, operator)

    def record_change(
        self, entity: str, key: str, before: dict, after: dict, operator: str, reason: str, account: str | None = None
    ) -> None:
        """Record a registry change made elsewhere (an addition, a halt, a kill switch)."""
        with self.engine.begin() as conn:
            record_change(conn, entity, key, before, after, operator, reason, account)

    def registry_changes(
        self, *, since_us: int | None = None, account: str | None = None, limit: int = 1000
    ) -> list[dict]:
        """Registry changes, oldest first (the newest `limit`)."""
        q = select(t.registry_changes).order_by(t.registry_changes.c.id.desc()).limit(limit)
        if since_us is not None:
            q = q.where(t.registry_changes.c.at_us >= since_us)
        if account is not None:
            q = q.where(t.registry_changes.c.account == account)
        with self.engine.connect() as conn:
            rows = [dict(r._mapping) for r in conn.execute(q)]
        return rows[::-1]

    def _insert(self, table, duplicate_message: str, **values) -> None:
        try:
            with self.engine.begin() as conn:
                conn.execute(insert(table).values(**values))
        except IntegrityError as exc:
            text = str(exc.orig).lower()
            if "unique" in text or "duplicate" in text or "primary" in text:
                raise StoreError(duplicate_message) from None
            raise StoreError(f"refused by the store: {exc.orig}") from None

    def _update_one(self, table, where, missing_message: str, **values) -> None:
        with self.engine.begin() as conn:
            if conn.execute(update(table).where(where).values(**values)).rowcount != 1:
                raise StoreError(missing_message)


_REGISTRY = {
    "investor": (t.accounts, "account_id"),
    "member": (t.members, "member_id"),
    "session": (t.fix_sessions, "comp_id"),
    "security": (t.securities, "symbol"),
}
_NOUN = {"investor": "account", "member": "member", "session": "session", "security": "security"}


# Columns whose values the registry change audit never shows (it says that they changed).
_SECRET = frozenset({"password_hash"})


def _redacted(values: dict) -> dict:
    return {k: ("(secret)" if k in _SECRET else v) for k, v in values.items()}


def _stored(values: dict) -> dict:
    """Registry values as their columns hold them (dates ISO, money text, code lists joined)."""
    out = {}
    for k, v in values.items():
        if k in ("allowed_jurisdictions", "denied_jurisdictions"):
            v = _codes(v) if (v or k == "allowed_jurisdictions") else None
        elif k == "allowed_addresses":
            v = ",".join(v) or None
        elif isinstance(v, Enum):
            v = v.value
        elif isinstance(v, date):
            v = v.isoformat()
        elif isinstance(v, Decimal):
            v = str(v)
        out[k] = v
    return out


def record_change(
    conn: Connection,
    entity: str,
    key: str,
    before: dict,
    after: dict,
    operator: str,
    reason: str,
    account: str | None = None,
) -> None:
    """Append one registry change inside the caller's transaction."""
    conn.execute(
        insert(t.registry_changes).values(
            at_us=now_us(),
            operator=operator[:64],
            entity=entity,
            key=key,
            account=account,
            before=json.dumps(before, sort_keys=True, default=str),
            after=json.dumps(after, sort_keys=True, default=str),
            reason=reason or "(no reason given)",
        )
    )


def _enqueue(conn: Connection, command: str, argument: str, requested_by: str) -> int:
    res = conn.execute(
        insert(t.ops_commands).values(
            command=command, argument=argument, requested_by=requested_by[:64], status="pending", created_us=now_us()
        )
    )
    return int(res.inserted_primary_key[0])


def _iso(d: date | None) -> str | None:
    return None if d is None else d.isoformat()


def _date(text: str | None) -> date | None:
    return None if not text else date.fromisoformat(text)


def _codes(codes: frozenset[str] | None) -> str | None:
    return None if codes is None else ",".join(sorted(codes))


def _code_set(text: str | None) -> frozenset[str]:
    return frozenset(c.strip().upper() for c in (text or "").split(",") if c.strip())


def _session_from_row(r) -> FixSession:
    return FixSession(
        r.comp_id,
        r.member_id,
        SessionRole(r.role),
        r.password_hash,
        bool(r.cancel_on_disconnect),
        bool(r.cod_keep_gtc),
        enabled=bool(r.enabled),
        transport=Transport(r.transport),
        allowed_addresses=tuple(a for a in (r.allowed_addresses or "").split(",") if a),
        cert_sha256=r.cert_sha256,
    )


def _member_from_row(r) -> Member:
    return Member(
        r.member_id,
        r.name,
        r.kind,
        MemberStatus(r.status),
        default_smp=r.default_smp,
        max_order_qty=r.max_order_qty,
        max_notional=None if r.max_notional is None else Decimal(r.max_notional),
        collar_bps=r.collar_bps,
        max_msgs_per_s=r.max_msgs_per_s,
        killed=bool(r.killed),
    )


def _account_from_row(r) -> Account:
    return Account(
        r.account_id,
        r.member_id,
        r.name,
        r.jurisdiction,
        bool(r.accredited),
        r.investor_type,
        kyc_status=r.kyc_status,
        kyc_expires=_date(r.kyc_expires),
        aml_flag=bool(r.aml_flag),
        accreditation_expires=_date(r.accreditation_expires),
    )


def _security_from_row(r) -> Security:
    return Security(
        symbol=r.symbol,
        name=r.name,
        tick_size=Decimal(r.tick_size),
        lot_size=r.lot_size,
        offering=Offering(r.offering),
        trading_status=TradingStatus(r.trading_status),
        reference_price=None if r.reference_price is None else Decimal(r.reference_price),
        band_bps=r.band_bps,
        currency=r.currency,
        auction_interval_s=r.auction_interval_s,
        allowed_jurisdictions=None if r.allowed_jurisdictions is None else _code_set(r.allowed_jurisdictions),
        denied_jurisdictions=_code_set(r.denied_jurisdictions),
        us_buyers_from=_date(r.us_buyers_from),
        max_holders=r.max_holders,
        max_non_accredited_holders=r.max_non_accredited_holders,
        min_holding=r.min_holding,
        max_holding=r.max_holding,
        restricted=bool(r.restricted),
        issuer_reporting=bool(r.issuer_reporting),
        issue_date=_date(r.issue_date),
        reg_s_category=r.reg_s_category,
        debt=bool(r.debt),
        outstanding=r.outstanding,
    )


IDLE_PING_SECONDS = 1.0


def _ping_when_idle(engine: Engine) -> None:
    """Ping a pooled connection before use when it has been idle for a second or more; a dead one
    is replaced (the pool tries a new connection). A connection used within the last second is
    handed out as it is: the sequencer commits many times a second and a ping per commit would be
    one more round trip each. If the database went away within that second, the commit fails and
    the sequencer answers as for any journal outage (see venue.sequencer)."""

    @event.listens_for(engine, "checkin")
    def _checkin(_dbapi_conn, record) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checkout(dbapi_conn, record, _proxy) -> None:
        since = record.info.get("idle_since")
        if since is not None and time.monotonic() - since < IDLE_PING_SECONDS:
            return
        try:
            alive = engine.dialect.do_ping(dbapi_conn)
        except Exception as exc:  # noqa: BLE001 - any failure means: do not use this connection
            raise DisconnectionError(f"stale connection: {exc}") from exc
        if not alive:
            raise DisconnectionError("stale connection")


BUSY_TIMEOUT_MS = 30_000
JOURNAL_CHECKPOINT_PAGES = 4000  # 16 MiB of WAL at SQLite's 4 KiB pages
WRITE_LOCK_POLL_S = 0.0002


def _begin_immediate(db) -> None:
    """Start the journal's transaction holding SQLite's write lock, asking for it every 0.2 ms while
    another process (the settlement worker, an ops command) holds it. `db` is the journal's own
    connection, whose busy timeout is 0 (`Store._commit_sqlite`).

    SQLite's own busy handler sleeps 1, 2, 5, 10, 15, 20, 25 ... 100 ms between tries, so a lock
    held for 3 ms could cost the venue's commit, and every ack of its batch, 8 ms or more; under
    settlement it was the order flow's p99 (bench/README.md, soak). Gives up like the busy timeout,
    after BUSY_TIMEOUT_MS, with SQLite's own error."""
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            db.execute("BEGIN IMMEDIATE")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
        time.sleep(WRITE_LOCK_POLL_S)


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=FULL")
    cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


__all__ = ["Store", "StoreError", "SQLAlchemyError", "sqlite_url"]
