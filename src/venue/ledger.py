"""Investor positions and pre-funding reservations, in memory, owned by the venue core.

T+0 delivery-versus-payment needs both legs ready when a trade settles, so every open order and
every unsettled trade holds what it will need:

- a sell holds tokens: its leaves while open, its traded quantity until the trade settles;
- a buy holds cash: leaves x limit price while open (market orders: x the collar price), the
  traded value until the trade settles.

Settled balances and acquisition lots come from the store (the holders-of-record ledger the
settlement worker keeps); holds are derived from open orders and unsettled trades, so after a
restart they are rebuilt exactly from what the store holds. No I/O, no clock.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

Key = tuple[str, str]  # (account, symbol)


@dataclass(frozen=True, slots=True)
class Hold:
    """What one open order holds: tokens of `symbol` (sell) or `cash` plus `buy_qty` (buy)."""

    account: str
    symbol: str
    tokens: int = 0
    cash: Decimal = Decimal(0)
    buy_qty: int = 0


@dataclass(frozen=True, slots=True)
class Unsettled:
    """A trade waiting for settlement and what it holds on both sides."""

    trade_id: int
    symbol: str
    buy_account: str
    sell_account: str
    qty: int
    cash: Decimal
    executed_us: int


class Ledger:
    """Balances, lots and holds of every investor account."""

    def __init__(self) -> None:
        self.tokens: dict[Key, int] = defaultdict(int)
        self.cash: dict[str, Decimal] = defaultdict(Decimal)
        self.lots: dict[Key, list[list[int]]] = defaultdict(list)  # [acquired_us, qty], oldest first
        self.held_tokens: dict[Key, int] = defaultdict(int)
        self.held_cash: dict[str, Decimal] = defaultdict(Decimal)
        self.open_buys: dict[Key, int] = defaultdict(int)
        self.incoming: dict[Key, int] = defaultdict(int)
        self._orders: dict[int, Hold] = {}
        self.unsettled: dict[int, Unsettled] = {}

    # ------------------------------------------------------------ loading
    def set_balance(self, account: str, asset: str, quantity: Decimal, cash_asset: bool) -> None:
        if cash_asset:
            self.cash[account] = Decimal(quantity)
        else:
            self.tokens[(account, asset)] = int(quantity)

    def add_lot(self, account: str, symbol: str, acquired_us: int, qty: int) -> None:
        lots = self.lots[(account, symbol)]
        lots.append([acquired_us, qty])
        lots.sort(key=lambda lot: lot[0])

    # ------------------------------------------------------------ holds
    def hold(self, order_id: int, hold: Hold | None) -> None:
        """Set what an order holds (None: nothing, e.g. once it is closed)."""
        old = self._orders.pop(order_id, None)
        if old is not None:
            self._apply(old, -1)
        if hold is not None:
            self._orders[order_id] = hold
            self._apply(hold, 1)

    def order_hold(self, order_id: int) -> Hold | None:
        return self._orders.get(order_id)

    def _apply(self, h: Hold, sign: int) -> None:
        key = (h.account, h.symbol)
        if h.tokens:
            self.held_tokens[key] += sign * h.tokens
        if h.cash:
            self.held_cash[h.account] += sign * h.cash
        if h.buy_qty:
            self.open_buys[key] += sign * h.buy_qty

    def add_unsettled(self, t: Unsettled) -> None:
        self.unsettled[t.trade_id] = t
        self.held_tokens[(t.sell_account, t.symbol)] += t.qty
        self.held_cash[t.buy_account] += t.cash
        self.incoming[(t.buy_account, t.symbol)] += t.qty

    def _release(self, t: Unsettled) -> None:
        self.held_tokens[(t.sell_account, t.symbol)] -= t.qty
        self.held_cash[t.buy_account] -= t.cash
        self.incoming[(t.buy_account, t.symbol)] -= t.qty

    def settle(self, trade_id: int) -> Unsettled | None:
        """The trade settled: move tokens and cash, consume the seller's oldest lots, give the buyer
        a lot acquired at execution. None when the trade was not waiting (already applied)."""
        t = self.unsettled.pop(trade_id, None)
        if t is None:
            return None
        self._release(t)
        self.tokens[(t.sell_account, t.symbol)] -= t.qty
        self.tokens[(t.buy_account, t.symbol)] += t.qty
        self.cash[t.buy_account] -= t.cash
        self.cash[t.sell_account] += t.cash
        left = t.qty
        lots = self.lots[(t.sell_account, t.symbol)]
        while left and lots:
            take = min(left, lots[0][1])
            lots[0][1] -= take
            left -= take
            if not lots[0][1]:
                lots.pop(0)
        self.add_lot(t.buy_account, t.symbol, t.executed_us, t.qty)
        return t

    def bust(self, trade_id: int) -> Unsettled | None:
        """The trade will never settle: release what it held. None when it was not waiting."""
        t = self.unsettled.pop(trade_id, None)
        if t is not None:
            self._release(t)
        return t

    # ------------------------------------------------------------ what the gates ask
    def available_tokens(self, account: str, symbol: str) -> int:
        """Settled tokens not held by open sells or unsettled sales."""
        return self.tokens[(account, symbol)] - self.held_tokens[(account, symbol)]

    def unlocked_tokens(self, account: str, symbol: str, now_us: int, holding_period_us: int) -> int:
        """Tokens from lots past their holding period, less what sells already hold (sales use the
        oldest lots first, so held quantity comes out of unlocked lots first)."""
        free = sum(qty for acquired, qty in self.lots[(account, symbol)] if acquired + holding_period_us <= now_us)
        return free - self.held_tokens[(account, symbol)]

    def available_cash(self, account: str) -> Decimal:
        return self.cash[account] - self.held_cash[account]

    def prospective_position(self, account: str, symbol: str) -> int:
        """Settled tokens plus unsettled purchases plus open buy orders."""
        key = (account, symbol)
        return self.tokens[key] + self.incoming[key] + self.open_buys[key]

    def holders(self, symbol: str) -> set[str]:
        """Accounts holding the token or on their way to: a settled balance, an unsettled purchase or
        an open buy order (so concurrent first buys by new investors cannot overshoot a holder cap)."""
        held = {acct for (acct, sym), qty in self.tokens.items() if sym == symbol and qty > 0}
        held |= {acct for (acct, sym), qty in self.incoming.items() if sym == symbol and qty > 0}
        held |= {acct for (acct, sym), qty in self.open_buys.items() if sym == symbol and qty > 0}
        return held
