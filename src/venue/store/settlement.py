"""The store side of settlement: trade statuses, settlement events and the holders-of-record ledger.

The settlement worker (``venue.chain.worker``, its own process) is the only writer of the settlement
columns of ``trades``, of ``settlement_events`` (it inserts; the sequencer marks them processed) and,
after the initial positions, of ``holdings`` and ``lots``. A trade moves

    pending -> submitted -> confirmed -> final         or  -> failed

and every change is guarded by the status it is expected to have (``UPDATE ... WHERE
settlement_status IN (...)``), so a transition applies at most once even if two workers raced.
Reaching ``final`` or ``failed`` inserts exactly one ``settlement_events`` row in the same
transaction; reaching ``final`` also updates ``holdings`` and ``lots`` in that transaction.

Failed is terminal: there is no retry. The failure is reported to both members as a trade bust
(the sequencer reads the event), so settling the trade afterwards would move assets for a trade its
parties were told was broken. Fix the cause (KYC, cash, wallet) and let the members trade again.
Node outages never fail a trade: the worker keeps it pending or submitted and retries.
"""

from __future__ import annotations

import bisect
import enum
from collections import defaultdict
from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import bindparam, delete, func, insert, select, update
from sqlalchemy.engine import Connection

from venue.clock import now_us
from venue.model import IssuerRole
from venue.resale import buyer_lots
from venue.store import schema as t
from venue.store.repository import Store, StoreError, record_change

CASH_ASSET = "USD"
FINAL_CHUNK = 25  # trades per transaction in SettlementStore.mark_final


class SettlementState(str, enum.Enum):
    """``trades.settlement_status``."""

    PENDING = "pending"  # matched, not yet sent to the chain
    SUBMITTED = "submitted"  # in a transaction sent to the node (tx_hash), outcome not yet read
    CONFIRMED = "confirmed"  # settled in block_number, waiting for the confirmations policy
    FINAL = "final"  # settled and past the finality policy; the ledger shows it
    FAILED = "failed"  # the chain refused it (settlement_error says why); nothing moved

    @property
    def is_terminal(self) -> bool:
        """True for final and failed: nothing changes the trade any more."""
        return self in (SettlementState.FINAL, SettlementState.FAILED)

    @property
    def is_in_flight(self) -> bool:
        """True for submitted and confirmed: the chain knows more than the store."""
        return self in (SettlementState.SUBMITTED, SettlementState.CONFIRMED)


class EventOutcome(str, enum.Enum):
    """``settlement_events.outcome``."""

    FINAL = "final"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class TradeToSettle:
    """A trade as the worker needs it."""

    trade_id: int
    symbol: str
    price: Decimal  # quote currency (USD) per token
    qty: int
    buy_account: str
    sell_account: str
    executed_us: int
    status: SettlementState
    tx_hash: str | None
    block_number: int | None
    attempts: int
    updated_us: int | None = None
    seller_role: IssuerRole | None = None  # issuer or affiliate: the buyer's lot tacks from the trade

    @property
    def cash_amount(self) -> Decimal:
        """What the buyer pays the seller, in USD."""
        return self.price * self.qty


@dataclass(frozen=True, slots=True)
class Settled:
    """A trade the chain settled: ``tx_hash`` moved the legs in ``block_number``."""

    trade_id: int
    tx_hash: str | None
    block_number: int


@dataclass(frozen=True, slots=True)
class Failure:
    """A trade the chain refused, with a reason a person can act on."""

    trade_id: int
    reason: str
    tx_hash: str | None = None
    block_number: int | None = None


@dataclass(slots=True)
class _Lot:
    id: int | None  # None: created in this transaction
    quantity: int
    acquired_us: int
    trade_id: int | None
    original: int = 0
    tacking_us: int = 0


class _LotBook:
    """One account's lots in one symbol, inside a settlement transaction: the stored lots read
    earliest tacking date first (then id) a page at a time, as far as sales reach, and the lots
    this transaction adds (after stored lots with the same tacking date, in the order added).
    Lots are written at the end of the transaction (`SettlementStore._apply_to_lots`), so the pages
    read are one consistent prefix. The order is the ledger's (`venue.ledger.Lots`)."""

    PAGE = 32

    def __init__(self, conn: Connection, account_id: str, symbol: str, for_update: bool) -> None:
        self.conn, self.account_id, self.symbol, self.for_update = conn, account_id, symbol, for_update
        self.stored: list[_Lot] = []
        self.all_read = False
        self.added: list[_Lot] = []

    def _read_page(self) -> None:
        q = (
            select(t.lots)
            .where(t.lots.c.account_id == self.account_id, t.lots.c.symbol == self.symbol)
            .order_by(t.lots.c.tacking_us, t.lots.c.id)
            .limit(self.PAGE)
            .offset(len(self.stored))
        )
        if self.for_update:
            q = q.with_for_update()
        rows = [
            _Lot(r.id, r.quantity, r.acquired_us, r.trade_id, r.quantity, r.tacking_us) for r in self.conn.execute(q)
        ]
        self.stored += rows
        self.all_read = len(rows) < self.PAGE

    def consume(self, qty: int) -> list[tuple[int, int]]:
        """Take `qty` from the front; returns the pieces taken, (tacking_us, qty) each (less than
        `qty` in all when the lots fall short)."""
        pieces: list[tuple[int, int]] = []
        i = j = 0
        while qty:
            if i == len(self.stored) and not self.all_read:
                self._read_page()
                continue
            stored = self.stored[i] if i < len(self.stored) else None
            added = self.added[j] if j < len(self.added) else None
            if stored is None and added is None:
                break
            if added is None or (stored is not None and stored.tacking_us <= added.tacking_us):
                lot, i = stored, i + 1
            else:
                lot, j = added, j + 1
            take = min(lot.quantity, qty)
            if take:
                pieces.append((lot.tacking_us, take))
            lot.quantity -= take
            qty -= take
        return pieces

    def add(self, lot: _Lot) -> None:
        bisect.insort_right(self.added, lot, key=lambda x: x.tacking_us)


@dataclass(frozen=True, slots=True)
class Holder:
    """One line of a cap table: an account holding a security, from holdings and lots."""

    account_id: str
    member_id: str | None
    name: str | None
    jurisdiction: str | None
    accredited: bool | None
    quantity: int
    lots: int
    first_acquired_us: int | None
    last_acquired_us: int | None


@dataclass(frozen=True, slots=True)
class CapTable:
    """Holders of record of a security (accounts with a positive quantity)."""

    symbol: str
    holders: list[Holder]
    outstanding: int

    @property
    def holder_count(self) -> int:
        """Number of holders of record."""
        return len(self.holders)


@dataclass(slots=True)
class LedgerDeltas:
    """What a set of trades changes in ``holdings``: (account, asset) -> signed quantity."""

    changes: dict[tuple[str, str], Decimal] = field(default_factory=lambda: defaultdict(Decimal))

    def add(self, trade: TradeToSettle) -> None:
        """Adds one trade's four movements."""
        self.changes[(trade.sell_account, trade.symbol)] -= trade.qty
        self.changes[(trade.buy_account, trade.symbol)] += trade.qty
        self.changes[(trade.buy_account, CASH_ASSET)] -= trade.cash_amount
        self.changes[(trade.sell_account, CASH_ASSET)] += trade.cash_amount


@dataclass(frozen=True, slots=True)
class LedgerSnapshot:
    """The ledger as one database snapshot saw it (:meth:`SettlementStore.ledger_snapshot`)."""

    positions: dict[tuple[str, str], Decimal]
    lot_totals: dict[tuple[str, str], int]
    unsettled: list[TradeToSettle]  # pending, submitted, confirmed
    final_after_block: list[TradeToSettle]  # final, settled after the chain block asked about


def _text(quantity: Decimal) -> str:
    """Decimal text without exponent (holdings are exact text on every backend)."""
    return format(quantity, "f")


def _trade(row) -> TradeToSettle:
    return TradeToSettle(
        trade_id=row.trade_id,
        symbol=row.symbol,
        price=Decimal(row.price),
        qty=row.qty,
        buy_account=row.buy_account,
        sell_account=row.sell_account,
        executed_us=row.executed_us,
        status=SettlementState(row.settlement_status),
        tx_hash=row.tx_hash,
        block_number=row.block_number,
        attempts=row.settlement_attempts or 0,
        updated_us=row.settlement_updated_us,
        seller_role=IssuerRole(row.seller_role) if row.seller_role else None,
    )


_TRADE_COLUMNS = (
    t.trades.c.trade_id,
    t.trades.c.symbol,
    t.trades.c.price,
    t.trades.c.qty,
    t.trades.c.buy_account,
    t.trades.c.sell_account,
    t.trades.c.executed_us,
    t.trades.c.settlement_status,
    t.trades.c.tx_hash,
    t.trades.c.block_number,
    t.trades.c.settlement_attempts,
    t.trades.c.settlement_updated_us,
    t.trades.c.seller_role,
)


class SettlementStore:
    """Settlement queries and transitions over a :class:`~venue.store.Store`."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.engine = store.engine
        self._for_update = not store.is_sqlite  # SQLite locks the whole file on write anyway

    # ------------------------------------------------------------ reads for the worker
    def pending(self, limit: int) -> list[TradeToSettle]:
        """Up to ``limit`` pending trades, oldest trade id first."""
        return self._by_status([SettlementState.PENDING], limit)

    def in_flight(self) -> list[TradeToSettle]:
        """Every submitted or confirmed trade, oldest trade id first."""
        return self._by_status([SettlementState.SUBMITTED, SettlementState.CONFIRMED], None)

    def confirmed(self) -> list[TradeToSettle]:
        """Every confirmed trade, oldest trade id first."""
        return self._by_status([SettlementState.CONFIRMED], None)

    def _by_status(
        self, states: Sequence[SettlementState], limit: int | None, conn: Connection | None = None
    ) -> list[TradeToSettle]:
        q = (
            select(*_TRADE_COLUMNS)
            .where(t.trades.c.settlement_status.in_([s.value for s in states]))
            .order_by(t.trades.c.trade_id)
        )
        if limit is not None:
            q = q.limit(limit)
        with self._reading(conn) as c:
            return [_trade(r) for r in c.execute(q)]

    def _reading(self, conn: Connection | None) -> AbstractContextManager[Connection]:
        """``conn`` as it is (a caller's snapshot), or a connection of its own."""
        return nullcontext(conn) if conn is not None else self.engine.connect()

    def trade(self, trade_id: int) -> TradeToSettle | None:
        """One trade's settlement view, or None."""
        with self.engine.connect() as conn:
            row = conn.execute(select(*_TRADE_COLUMNS).where(t.trades.c.trade_id == trade_id)).first()
            return _trade(row) if row else None

    # ------------------------------------------------------------ transitions
    def mark_submitted(self, trade_ids: Iterable[int], tx_hash: str, at_us: int | None = None) -> int:
        """pending (or submitted, when re-sent) -> submitted in ``tx_hash``; counts an attempt.
        Returns how many trades changed."""
        ids = list(trade_ids)
        if not ids:
            return 0
        at = at_us or now_us()
        with self.engine.begin() as conn:
            res = conn.execute(
                update(t.trades)
                .where(
                    t.trades.c.trade_id.in_(ids),
                    t.trades.c.settlement_status.in_([SettlementState.PENDING.value, SettlementState.SUBMITTED.value]),
                )
                .values(
                    settlement_status=SettlementState.SUBMITTED.value,
                    tx_hash=tx_hash,
                    block_number=None,
                    settlement_attempts=t.trades.c.settlement_attempts + 1,
                    settlement_updated_us=at,
                )
            )
            return res.rowcount

    def mark_confirmed(self, settled: Iterable[Settled], at_us: int | None = None) -> int:
        """submitted/confirmed -> confirmed in a block (not yet final). Returns how many changed."""
        moves: dict[int, dict] = {}
        for s in settled:
            moves.setdefault(
                s.trade_id, {"tx_hash": s.tx_hash, "block_number": s.block_number, "settlement_error": None}
            )
        with self.engine.begin() as conn:
            return len(
                self._move(
                    conn,
                    moves,
                    (SettlementState.SUBMITTED, SettlementState.CONFIRMED),
                    SettlementState.CONFIRMED,
                    at_us or now_us(),
                )
            )

    def return_to_pending(self, trade_ids: Iterable[int], note: str, at_us: int | None = None) -> int:
        """submitted/confirmed -> pending (the chain does not show them settled); ``note`` says why."""
        moves = {trade_id: {"block_number": None, "settlement_error": note} for trade_id in trade_ids}
        with self.engine.begin() as conn:
            return len(
                self._move(
                    conn,
                    moves,
                    (SettlementState.SUBMITTED, SettlementState.CONFIRMED),
                    SettlementState.PENDING,
                    at_us or now_us(),
                )
            )

    def note_error(self, trade_ids: Iterable[int], note: str, at_us: int | None = None) -> None:
        """Records why a non-terminal trade is waiting (node down, whole transaction refused)."""
        ids = list(trade_ids)
        if not ids:
            return
        with self.engine.begin() as conn:
            conn.execute(
                update(t.trades)
                .where(
                    t.trades.c.trade_id.in_(ids),
                    t.trades.c.settlement_status.in_([SettlementState.PENDING.value, SettlementState.SUBMITTED.value]),
                )
                .values(settlement_error=note[:2000], settlement_updated_us=at_us or now_us())
            )

    def mark_failed(self, failures: Iterable[Failure], at_us: int | None = None) -> list[int]:
        """pending/submitted/confirmed -> failed, with a ``failed`` event each; nothing in the ledger
        changes. Returns the trade ids that changed."""
        at = at_us or now_us()
        first: dict[int, Failure] = {}
        for f in failures:
            first.setdefault(f.trade_id, f)  # a trade named twice: its first failure
        moves = {
            i: {"tx_hash": f.tx_hash, "block_number": f.block_number, "settlement_error": f.reason[:2000]}
            for i, f in first.items()
        }
        with self.engine.begin() as conn:
            moved = self._move(
                conn,
                moves,
                (SettlementState.PENDING, SettlementState.SUBMITTED, SettlementState.CONFIRMED),
                SettlementState.FAILED,
                at,
            )
            done = [i for i in first if i in moved]
            if done:
                conn.execute(
                    insert(t.settlement_events),
                    [
                        {
                            "trade_id": i,
                            "outcome": EventOutcome.FAILED.value,
                            "tx_hash": first[i].tx_hash,
                            "block_number": first[i].block_number,
                            "reason": first[i].reason[:2000],
                            "created_us": at,
                        }
                        for i in done
                    ],
                )
        return done

    def mark_final(self, settled: Iterable[Settled], at_us: int | None = None) -> list[int]:
        """pending/submitted/confirmed -> final, each with a ``final`` event, and the holders-of-record
        ledger updated in the same transaction. Returns the trade ids that changed (a trade already
        final is skipped: the ledger moves once per trade).

        A long list is written FINAL_CHUNK trades per transaction: on SQLite the worker holds the
        single write lock while it writes, and the venue's journal (every ack) waits for it, so no
        one transaction grows with the batch (a 100-trade batch is 4 transactions). Each trade is
        final, with its event and its ledger move, in exactly one transaction."""
        at = at_us or now_us()
        first: dict[int, Settled] = {}
        for s in sorted(settled, key=lambda s: s.trade_id):
            first.setdefault(s.trade_id, s)
        items = list(first.items())
        done: list[int] = []
        for i in range(0, len(items), FINAL_CHUNK):
            done += self._mark_final(dict(items[i : i + FINAL_CHUNK]), at)
        return done

    def _mark_final(self, first: dict[int, Settled], at: int) -> list[int]:
        with self.engine.begin() as conn:
            rows = {
                r.trade_id: r for r in conn.execute(select(*_TRADE_COLUMNS).where(t.trades.c.trade_id.in_(list(first))))
            }
            moves = {
                i: {"tx_hash": s.tx_hash, "block_number": s.block_number, "settlement_error": None}
                for i, s in first.items()
                if i in rows
            }
            moved = self._move(
                conn,
                moves,
                (SettlementState.PENDING, SettlementState.SUBMITTED, SettlementState.CONFIRMED),
                SettlementState.FINAL,
                at,
            )
            done = [_trade(rows[i]) for i in first if i in moved]
            if done:
                conn.execute(
                    insert(t.settlement_events),
                    [
                        {
                            "trade_id": d.trade_id,
                            "outcome": EventOutcome.FINAL.value,
                            "tx_hash": first[d.trade_id].tx_hash,
                            "block_number": first[d.trade_id].block_number,
                            "reason": None,
                            "created_us": at,
                        }
                        for d in done
                    ],
                )
                self._apply_to_ledger(conn, done)
        return [d.trade_id for d in done]

    @staticmethod
    def _move(
        conn: Connection, moves: dict[int, dict], expected: Sequence[SettlementState], to: SettlementState, at: int
    ) -> set[int]:
        """Trades (trade id -> the columns to set) that are in an `expected` state move to `to`; returns
        those that moved. One guarded UPDATE per distinct set of values (a batch's trades share their
        transaction and block), not one per trade: the worker holds SQLite's write lock, which the
        venue's journal waits for, while it writes."""
        groups: dict[tuple, list[int]] = defaultdict(list)
        for trade_id, values in moves.items():
            groups[tuple(sorted(values.items()))].append(trade_id)
        moved: set[int] = set()
        for values, ids in groups.items():
            for i in range(0, len(ids), 500):
                res = conn.execute(
                    update(t.trades)
                    .where(
                        t.trades.c.trade_id.in_(ids[i : i + 500]),
                        t.trades.c.settlement_status.in_([s.value for s in expected]),
                    )
                    .values(settlement_status=to.value, settlement_updated_us=at, **dict(values))
                    .returning(t.trades.c.trade_id)
                )
                moved.update(r[0] for r in res)
        return moved

    # ------------------------------------------------------------ the ledger
    def _apply_to_ledger(self, conn: Connection, trades: Sequence[TradeToSettle]) -> None:
        deltas = LedgerDeltas()
        for trade in trades:
            deltas.add(trade)
        changes = [(key, delta) for key, delta in sorted(deltas.changes.items()) if delta != 0]
        if changes:
            h = t.holdings.c
            q = select(h.account_id, h.asset, h.quantity).where(h.account_id.in_(sorted({a for (a, _), _ in changes})))
            if self._for_update:
                q = q.with_for_update()
            current = {(r.account_id, r.asset): r.quantity for r in conn.execute(q)}
            inserts = [
                {"account_id": a, "asset": asset, "quantity": _text(delta)}
                for (a, asset), delta in changes
                if (a, asset) not in current
            ]
            updates = [
                {"b_account": a, "b_asset": asset, "quantity": _text(Decimal(current[a, asset]) + delta)}
                for (a, asset), delta in changes
                if (a, asset) in current
            ]
            if inserts:
                conn.execute(insert(t.holdings), inserts)
            if updates:
                conn.execute(
                    update(t.holdings).where(h.account_id == bindparam("b_account"), h.asset == bindparam("b_asset")),
                    updates,
                )
        self._apply_to_lots(conn, trades)

    def _apply_to_lots(self, conn: Connection, trades: Sequence[TradeToSettle]) -> None:
        """Sellers' lots consumed earliest tacking date first (the last one split); the buyer gets
        the same pieces with their tacking dates, or one lot from the execution when the seller
        was the issuer or an affiliate (venue.resale.buyer_lots).

        Only the lots a sale reaches are read: an account that buys all day holds a lot per
        purchase, and reading them all for every settlement made each one slower than the last
        (and, on SQLite, held the write lock that the venue's journal waits for)."""
        books: dict[tuple[str, str], _LotBook] = {}

        def book(account_id: str, symbol: str) -> _LotBook:
            key = (account_id, symbol)
            if key not in books:
                books[key] = _LotBook(conn, account_id, symbol, self._for_update)
            return books[key]

        for trade in sorted(trades, key=lambda x: x.trade_id):
            # a shortfall: the ledger had fewer lots than the chain had tokens; `venue ta reconcile`
            # reports the account's lots not adding up to its holding.
            pieces = book(trade.sell_account, trade.symbol).consume(trade.qty)
            buyer = book(trade.buy_account, trade.symbol)
            for tacking_us, qty in buyer_lots(pieces, trade.qty, trade.executed_us, trade.seller_role):
                buyer.add(_Lot(None, qty, trade.executed_us, trade.trade_id, 0, tacking_us))
        gone: list[int] = []
        changed: list[dict] = []
        new: list[dict] = []
        for lot_book in books.values():
            gone += [lot.id for lot in lot_book.stored if lot.quantity == 0]
            changed += [
                {"b_id": lot.id, "quantity": lot.quantity}
                for lot in lot_book.stored
                if lot.quantity and lot.quantity != lot.original
            ]
            new += [
                {
                    "account_id": lot_book.account_id,
                    "symbol": lot_book.symbol,
                    "quantity": lot.quantity,
                    "acquired_us": lot.acquired_us,
                    "trade_id": lot.trade_id,
                    "tacking_us": lot.tacking_us,
                }
                for lot in lot_book.added
                if lot.quantity > 0
            ]
        if gone:
            conn.execute(delete(t.lots).where(t.lots.c.id.in_(gone)))
        if changed:
            conn.execute(update(t.lots).where(t.lots.c.id == bindparam("b_id")), changed)
        if new:
            conn.execute(insert(t.lots), new)

    def ensure_opening_lots(self, symbols: Iterable[str], at_us: int | None = None) -> int:
        """Gives every security holding without (enough) lots an opening lot for the difference,
        acquired at ``at_us`` (default now), so lots add up to holdings. Returns lots created."""
        at = at_us or now_us()
        symbols = list(symbols)
        created = 0
        with self.engine.begin() as conn:
            held = conn.execute(select(t.holdings).where(t.holdings.c.asset.in_(symbols))).all()
            sums = {
                (r.account_id, r.symbol): int(r.total or 0)
                for r in conn.execute(
                    select(t.lots.c.account_id, t.lots.c.symbol, func.sum(t.lots.c.quantity).label("total")).group_by(
                        t.lots.c.account_id, t.lots.c.symbol
                    )
                )
            }
            for h in held:
                missing = int(Decimal(h.quantity)) - sums.get((h.account_id, h.asset), 0)
                if missing > 0:
                    conn.execute(
                        insert(t.lots).values(
                            account_id=h.account_id,
                            symbol=h.asset,
                            quantity=missing,
                            acquired_us=at,
                            trade_id=None,
                            tacking_us=at,
                        )
                    )
                    created += 1
        return created

    def record_attach(
        self,
        symbol: str,
        change: tuple[dict, dict, str, str],
        quantities: dict[str, int] | None = None,
        lots: dict[str, list[tuple[int, int]]] | None = None,
        at_us: int | None = None,
    ) -> None:
        """A security's token attached (`venue securities attach`), in one transaction: the registry
        change ``change`` = (before, after, operator, reason) and, with ``quantities``, the positions
        taken from the chain: each account's holding and its lots. ``lots`` (account ->
        [(tacking_us, qty)], e.g. the on-chain holding-period module's) are used for an account when
        they add up to its quantity; otherwise it gets one opening lot tacking from ``at_us``
        (default now). Every lot is acquired at ``at_us``. Refuses (StoreError) to import positions
        when the ledger already has holdings or lots of it."""
        at = at_us or now_us()
        with self.engine.begin() as conn:
            before, after, operator, reason = change
            record_change(conn, "security", symbol, before, after, operator, reason)
            if quantities is None:
                return
            if conn.execute(select(t.holdings.c.account_id).where(t.holdings.c.asset == symbol).limit(1)).first():
                raise StoreError(f"the ledger already holds {symbol}")
            if conn.execute(select(t.lots.c.id).where(t.lots.c.symbol == symbol).limit(1)).first():
                raise StoreError(f"the ledger already has lots of {symbol}")
            for account_id, qty in sorted(quantities.items()):
                if qty <= 0:
                    continue
                conn.execute(insert(t.holdings).values(account_id=account_id, asset=symbol, quantity=str(qty)))
                pieces = (lots or {}).get(account_id) or []
                if sum(q for _, q in pieces) != qty:
                    pieces = [(at, qty)]
                for tacking, piece in pieces:
                    conn.execute(
                        insert(t.lots).values(
                            account_id=account_id,
                            symbol=symbol,
                            quantity=piece,
                            acquired_us=at,
                            trade_id=None,
                            tacking_us=tacking,
                        )
                    )

    # ------------------------------------------------------------ reads for ops
    def list_trades(
        self, status: SettlementState | None = None, symbol: str | None = None, limit: int = 200
    ) -> list[dict]:
        """Trades with their settlement columns, newest first."""
        q = select(t.trades).order_by(t.trades.c.trade_id.desc()).limit(limit)
        if status is not None:
            q = q.where(t.trades.c.settlement_status == status.value)
        if symbol:
            q = q.where(t.trades.c.symbol == symbol)
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(q)]

    def trade_row(self, trade_id: int) -> dict | None:
        """Every column of one trade, or None."""
        with self.engine.connect() as conn:
            r = conn.execute(select(t.trades).where(t.trades.c.trade_id == trade_id)).first()
            return dict(r._mapping) if r else None

    def events(self, trade_id: int | None = None) -> list[dict]:
        """Settlement events (of one trade), oldest first."""
        q = select(t.settlement_events).order_by(t.settlement_events.c.id)
        if trade_id is not None:
            q = q.where(t.settlement_events.c.trade_id == trade_id)
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(q)]

    def status_counts(self) -> dict[str, int]:
        """Number of trades per settlement status."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(t.trades.c.settlement_status, func.count()).group_by(t.trades.c.settlement_status)
            )
            return {status: n for status, n in rows}

    def positions(self, asset: str | None = None, conn: Connection | None = None) -> dict[tuple[str, str], Decimal]:
        """``holdings`` as (account, asset) -> quantity."""
        q = select(t.holdings)
        if asset:
            q = q.where(t.holdings.c.asset == asset)
        with self._reading(conn) as c:
            return {(r.account_id, r.asset): Decimal(r.quantity) for r in c.execute(q)}

    def lot_totals(self, symbol: str | None = None, conn: Connection | None = None) -> dict[tuple[str, str], int]:
        """Sum of lots as (account, symbol) -> quantity."""
        q = select(t.lots.c.account_id, t.lots.c.symbol, func.sum(t.lots.c.quantity).label("total")).group_by(
            t.lots.c.account_id, t.lots.c.symbol
        )
        if symbol:
            q = q.where(t.lots.c.symbol == symbol)
        with self._reading(conn) as c:
            return {(r.account_id, r.symbol): int(r.total) for r in c.execute(q)}

    def ledger_snapshot(self, chain_block: int) -> LedgerSnapshot:
        """What a reconciliation against the chain at ``chain_block`` needs, read in one snapshot of
        the database taken after that block was mined: holdings, lot totals, the trades not final
        yet, and the final trades settled in a later block (in the holdings, not yet on chain at
        ``chain_block``). A trade the worker settles or finalises meanwhile is seen in all of them
        or in none."""
        with self.store.snapshot() as conn:
            return LedgerSnapshot(
                self.positions(conn=conn),
                self.lot_totals(conn=conn),
                self.unsettled(conn),
                [
                    _trade(r)
                    for r in conn.execute(
                        select(*_TRADE_COLUMNS)
                        .where(
                            t.trades.c.settlement_status == SettlementState.FINAL.value,
                            t.trades.c.block_number > chain_block,
                        )
                        .order_by(t.trades.c.trade_id)
                    )
                ],
            )

    def unsettled(self, conn: Connection | None = None) -> list[TradeToSettle]:
        """Every trade neither final nor failed (pending, submitted, confirmed)."""
        return self._by_status(
            [SettlementState.PENDING, SettlementState.SUBMITTED, SettlementState.CONFIRMED], None, conn
        )

    def cap_table(self, symbol: str) -> CapTable:
        """Holders of record of ``symbol`` from holdings, with their lots and account details."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(
                    t.holdings.c.account_id,
                    t.holdings.c.quantity,
                    t.accounts.c.member_id,
                    t.accounts.c.name,
                    t.accounts.c.jurisdiction,
                    t.accounts.c.accredited,
                )
                .select_from(t.holdings.outerjoin(t.accounts, t.accounts.c.account_id == t.holdings.c.account_id))
                .where(t.holdings.c.asset == symbol)
            ).all()
            lot_rows = conn.execute(
                select(
                    t.lots.c.account_id,
                    func.count().label("n"),
                    func.min(t.lots.c.acquired_us).label("first"),
                    func.max(t.lots.c.acquired_us).label("last"),
                )
                .where(t.lots.c.symbol == symbol, t.lots.c.quantity > 0)
                .group_by(t.lots.c.account_id)
            ).all()
        lots = {r.account_id: r for r in lot_rows}
        holders = []
        for r in rows:
            qty = Decimal(r.quantity)
            if qty <= 0:
                continue
            lot = lots.get(r.account_id)
            holders.append(
                Holder(
                    r.account_id,
                    r.member_id,
                    r.name,
                    r.jurisdiction,
                    None if r.accredited is None else bool(r.accredited),
                    int(qty),
                    lot.n if lot else 0,
                    lot.first if lot else None,
                    lot.last if lot else None,
                )
            )
        holders.sort(key=lambda h: (-h.quantity, h.account_id))
        return CapTable(symbol, holders, sum(h.quantity for h in holders))

    def securities(self) -> list[str]:
        """Symbols of every listed security."""
        with self.engine.connect() as conn:
            return [r.symbol for r in conn.execute(select(t.securities.c.symbol).order_by(t.securities.c.symbol))]

    def accounts(self) -> list[dict]:
        """Every account (id, member, jurisdiction, accredited)."""
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(select(t.accounts).order_by(t.accounts.c.account_id))]

    def security_rows(self) -> list[dict]:
        """Every security row."""
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(select(t.securities).order_by(t.securities.c.symbol))]
