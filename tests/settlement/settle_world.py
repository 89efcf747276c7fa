"""The settlement tests' world: the sandbox's members, accounts, securities and holdings, and a
stand-in for the sequencer that inserts matched trades as `pending`."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import insert, select

from venue import sandbox
from venue.chain import backend
from venue.chain.deploy import Deployment
from venue.chain.service import deploy_sandbox_chain
from venue.chain.worker import SettlementWorker, WorkerSettings
from venue.store import Store
from venue.store import schema as t
from venue.store.settlement import SettlementStore

OPENING_US = 1_700_000_000_000_000  # opening lots' acquisition time


@dataclass(frozen=True, slots=True)
class Trade:
    trade_id: int
    symbol: str
    seller: str
    buyer: str
    qty: int
    price: str  # USD per token, decimal text
    executed_us: int = OPENING_US + 1_000_000
    seller_role: str | None = None  # issuer | affiliate: the buyer's lot starts a new holding period

    @property
    def cash(self) -> Decimal:
        return Decimal(self.price) * self.qty


def seed(store: Store) -> None:
    """The sandbox world without FIX sessions, with an opening lot for every security holding."""
    for member_id, name, kind in sandbox.MEMBERS:
        store.add_member(member_id, name, kind)
    for security in sandbox.SECURITIES:
        store.add_security(security)
    for account in sandbox.ACCOUNTS:
        store.add_account(account)
    for account_id, positions in sandbox.HOLDINGS.items():
        for asset, qty in positions.items():
            store.set_holding(account_id, asset, Decimal(qty))
    SettlementStore(store).ensure_opening_lots([s.symbol for s in sandbox.SECURITIES], OPENING_US)


def insert_trades(store: Store, trades: list[Trade]) -> None:
    """What the sequencer does: one `pending` row per matched trade."""
    rows = []
    for tr in trades:
        member = {a.account_id: a.member_id for a in sandbox.ACCOUNTS}
        rows.append(
            {
                "trade_id": tr.trade_id,
                "symbol": tr.symbol,
                "price_ticks": int(Decimal(tr.price) * 100),
                "price": tr.price,
                "qty": tr.qty,
                "buy_order_id": 10 * tr.trade_id,
                "sell_order_id": 10 * tr.trade_id + 1,
                "buy_account": tr.buyer,
                "sell_account": tr.seller,
                "buy_member": member[tr.buyer],
                "sell_member": member[tr.seller],
                "aggressor": "1",
                "executed_us": tr.executed_us,
                "settlement_status": "pending",
                "seller_role": tr.seller_role,
            }
        )
    with store.engine.begin() as conn:
        conn.execute(insert(t.trades), rows)


def expected_positions(start: dict, trades: list[Trade]) -> dict[tuple[str, str], Decimal]:
    """Holdings after `trades` settle, from `start` ((account, asset) -> quantity)."""
    out: Counter = Counter({k: Decimal(v) for k, v in start.items()})
    for tr in trades:
        out[(tr.seller, tr.symbol)] -= tr.qty
        out[(tr.buyer, tr.symbol)] += tr.qty
        out[(tr.buyer, "USD")] -= tr.cash
        out[(tr.seller, "USD")] += tr.cash
    return dict(out)


def statuses(store: Store) -> dict[int, str]:
    with store.engine.connect() as conn:
        return {
            r.trade_id: r.settlement_status
            for r in conn.execute(select(t.trades.c.trade_id, t.trades.c.settlement_status))
        }


def lots(store: Store, account_id: str, symbol: str) -> list[tuple[int, int, int | None]]:
    """(quantity, acquired_us, trade_id) oldest first."""
    with store.engine.connect() as conn:
        rows = conn.execute(
            select(t.lots)
            .where(t.lots.c.account_id == account_id, t.lots.c.symbol == symbol)
            .order_by(t.lots.c.acquired_us, t.lots.c.id)
        )
        return [(r.quantity, r.acquired_us, r.trade_id) for r in rows]


def tacked(store: Store, account_id: str, symbol: str) -> list[tuple[int, int]]:
    """(quantity, tacking_us) in the order sales take them: earliest tacking date, then id."""
    with store.engine.connect() as conn:
        rows = conn.execute(
            select(t.lots)
            .where(t.lots.c.account_id == account_id, t.lots.c.symbol == symbol)
            .order_by(t.lots.c.tacking_us, t.lots.c.id)
        )
        return [(r.quantity, r.tacking_us) for r in rows]


def start_node(kind: str, **kwargs):
    if kind == "anvil":
        if backend.find_anvil() is None:
            pytest.skip("anvil not installed: node_modules/@foundry-rs/anvil missing (run `npm ci`)")
        return backend.anvil_node(**kwargs)
    return backend.embedded_node()


def deploy_world(node, directory: Path) -> tuple[Deployment, Path]:
    """The sandbox world deployed on `node` through deploy_sandbox_chain (from a seeded store)."""
    template = Store(f"sqlite:///{directory / 'template.db'}")
    template.migrate()
    seed(template)
    try:
        chain = deploy_sandbox_chain(template, directory, url=node.url)
    finally:
        template.dispose()
    return chain.deployment, chain.deployment_path


ACCOUNTS = ("A-ALICE", "B-BOB", "B-CAROL", "M-MAKER")
SYMBOLS = ("ACME", "BETA")


def chain_positions(client) -> dict[tuple[str, str], Decimal]:
    out = {(a, s): Decimal(client.token_balance(a, s)) for a in ACCOUNTS for s in SYMBOLS}
    out.update({(a, "USD"): Decimal(client.cash_balance(a)) / 10**6 for a in ACCOUNTS})
    return out


def drain(worker: SettlementWorker, steps: int = 20) -> list:
    """Steps until a step finds nothing to do; returns the reports."""
    reports = []
    for _ in range(steps):
        report = worker.run_once()
        reports.append(report)
        assert report.error is None, report.error
        if report.idle:
            return reports
    raise AssertionError(f"worker still busy after {steps} steps: {reports[-1]}")


def make_worker(store, chain, **settings) -> SettlementWorker:
    return SettlementWorker(
        SettlementStore(store),
        chain.w3,
        chain.deployment,
        backend.DEV_OPERATOR_KEY,
        WorkerSettings(**{"poll_interval": 0.01, **settings}),
    )
