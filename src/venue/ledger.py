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

import bisect
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from operator import itemgetter

from venue.model import IssuerRole
from venue.resale import buyer_lots, buyer_tacks, release_us

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
    seller_role: IssuerRole | None = None  # the seller's relationship to the issuer at the trade

    @property
    def buyer_tacks(self) -> bool:
        """The buyer's lots keep the seller's tacking dates (venue.resale.buyer_tacks)."""
        return buyer_tacks(self.seller_role)


class Lots:
    """One account's acquisition lots in one symbol, ordered by tacking date (the instant each lot's
    Rule 144 holding period runs from, `venue.resale`), with the unlocked prefix counted
    incrementally: a lot that tacks earlier is released no later, so the unlocked lots are a prefix
    that only grows as time passes (a holding-period check costs O(1) amortised, not O(lots)).
    Sales deliver from the front: the lots whose holding period started first."""

    __slots__ = ("_lots", "_head", "_months", "_now", "_unlocked_n", "_unlocked_qty")

    def __init__(self) -> None:
        self._lots: list[list[int]] = []  # [tacking_us, qty]; live from _head on
        self._head = 0
        self._reset()

    def _reset(self) -> None:
        self._months: int | None = None
        self._now = 0
        self._unlocked_n = 0  # live lots (from _head) known to be past the holding period
        self._unlocked_qty = 0

    def __iter__(self):
        return (tuple(lot) for lot in self._lots[self._head :])

    def add(self, tacking_us: int, qty: int) -> None:
        """A lot whose holding period runs from `tacking_us`; after lots with the same tacking date."""
        lots = self._lots
        if self._head == len(lots) or tacking_us >= lots[-1][0]:
            lots.append([tacking_us, qty])
            return
        i = bisect.bisect_right(lots, tacking_us, lo=self._head, key=_TACKING)
        lots.insert(i, [tacking_us, qty])
        if i < self._head + self._unlocked_n:  # before an unlocked lot: released no later than it
            self._unlocked_n += 1
            self._unlocked_qty += qty

    def consume(self, qty: int) -> list[tuple[int, int]]:
        """A sale delivers `qty` from the front; returns the pieces taken, (tacking_us, qty) each
        (less than `qty` in all when the lots fall short)."""
        lots = self._lots
        pieces = []
        while qty and self._head < len(lots):
            lot = lots[self._head]
            take = min(qty, lot[1])
            pieces.append((lot[0], take))
            lot[1] -= take
            qty -= take
            if self._unlocked_n:
                self._unlocked_qty -= take
            if not lot[1]:
                self._head += 1
                if self._unlocked_n:
                    self._unlocked_n -= 1
        if self._head > 1024 and self._head * 2 > len(lots):
            del lots[: self._head]
            self._head = 0
        return pieces

    def unlocked(self, now_us: int, months: int) -> int:
        """Quantity in lots whose holding period of `months` calendar months is over at `now_us`."""
        if months != self._months or now_us < self._now:
            self._reset()
            self._months = months
        self._now = now_us
        lots, head = self._lots, self._head
        while head + self._unlocked_n < len(lots) and release_us(lots[head + self._unlocked_n][0], months) <= now_us:
            self._unlocked_qty += lots[head + self._unlocked_n][1]
            self._unlocked_n += 1
        return self._unlocked_qty


_TACKING = itemgetter(0)


class Ledger:
    """Balances, lots and holds of every investor account."""

    def __init__(self) -> None:
        self.tokens: dict[Key, int] = defaultdict(int)
        self.cash: dict[str, Decimal] = defaultdict(Decimal)
        self.lots: dict[Key, Lots] = defaultdict(Lots)
        self.held_tokens: dict[Key, int] = defaultdict(int)
        self.held_cash: dict[str, Decimal] = defaultdict(Decimal)
        self.open_buys: dict[Key, int] = defaultdict(int)
        self.incoming: dict[Key, int] = defaultdict(int)
        self.outgoing: dict[Key, int] = defaultdict(int)  # unsettled sales
        self.paying: dict[str, Decimal] = defaultdict(Decimal)  # unsettled purchases' value
        # Rule 144(e): sales by issuers and affiliates, (account, symbol) -> {trade_id: (executed_us, qty)}
        self.affiliate_sales: dict[Key, dict[int, tuple[int, int]]] = defaultdict(dict)
        self._orders: dict[int, Hold] = {}
        self.unsettled: dict[int, Unsettled] = {}
        # The chain as of block B shows every settlement the venue finalised if B >= this account's
        # value here (the block its last finalised trade was mined in); min_chain_block applies to all
        # (set when the ledger is loaded, so a snapshot older than the load is not trusted).
        self.settled_block: dict[str, int] = {}
        self.min_chain_block = 0

    # ------------------------------------------------------------ loading
    def set_balance(self, account: str, asset: str, quantity: Decimal, cash_asset: bool) -> None:
        if cash_asset:
            self.cash[account] = Decimal(quantity)
        else:
            self.tokens[(account, asset)] = int(quantity)

    def add_lot(self, account: str, symbol: str, tacking_us: int, qty: int) -> None:
        """A lot whose holding period runs from `tacking_us` (venue.resale)."""
        self.lots[(account, symbol)].add(tacking_us, qty)

    def note_sale(self, trade_id: int, account: str, symbol: str, executed_us: int, qty: int) -> None:
        """A sale by an issuer or affiliate that counts against its Rule 144(e) volume limit
        (loading: the final ones of the last three months; trading: `add_unsettled`)."""
        self.affiliate_sales[(account, symbol)][trade_id] = (executed_us, qty)

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
        self.outgoing[(t.sell_account, t.symbol)] += t.qty
        self.paying[t.buy_account] += t.cash
        if t.seller_role is not None:
            self.note_sale(t.trade_id, t.sell_account, t.symbol, t.executed_us, t.qty)

    def _release(self, t: Unsettled) -> None:
        self.held_tokens[(t.sell_account, t.symbol)] -= t.qty
        self.held_cash[t.buy_account] -= t.cash
        self.incoming[(t.buy_account, t.symbol)] -= t.qty
        self.outgoing[(t.sell_account, t.symbol)] -= t.qty
        self.paying[t.buy_account] -= t.cash

    def settle(self, trade_id: int, block: int | None = None) -> Unsettled | None:
        """The trade settled (mined in `block`): move tokens and cash, consume the seller's lots
        from the front, and give the buyer the same pieces with their tacking dates when the seller
        was neither the issuer nor an affiliate, else one lot tacking from the execution (Rule
        144(d)). None when the trade was not waiting (already applied)."""
        t = self.unsettled.pop(trade_id, None)
        if t is None:
            return None
        self._release(t)
        if block is not None:
            for account in (t.buy_account, t.sell_account):
                self.settled_block[account] = max(block, self.settled_block.get(account, 0))
        self.tokens[(t.sell_account, t.symbol)] -= t.qty
        self.tokens[(t.buy_account, t.symbol)] += t.qty
        self.cash[t.buy_account] -= t.cash
        self.cash[t.sell_account] += t.cash
        pieces = self.lots[(t.sell_account, t.symbol)].consume(t.qty)
        for tacking_us, qty in buyer_lots(pieces, t.qty, t.executed_us, t.seller_role):
            self.add_lot(t.buy_account, t.symbol, tacking_us, qty)
        return t

    def bust(self, trade_id: int) -> Unsettled | None:
        """The trade will never settle: release what it held. None when it was not waiting."""
        t = self.unsettled.pop(trade_id, None)
        if t is not None:
            self._release(t)
            self.affiliate_sales.get((t.sell_account, t.symbol), {}).pop(trade_id, None)
        return t

    # ------------------------------------------------------------ what the gates ask
    def available_tokens(self, account: str, symbol: str) -> int:
        """Settled tokens not held by open sells or unsettled sales."""
        return self.tokens[(account, symbol)] - self.held_tokens[(account, symbol)]

    def unlocked_tokens(self, account: str, symbol: str, now_us: int, months: int) -> int:
        """Tokens from lots past a holding period of `months` calendar months, less what sells
        already hold (sales deliver the earliest-tacking lots first, so held quantity comes out of
        unlocked lots first)."""
        free = self.lots[(account, symbol)].unlocked(now_us, months)
        return free - self.held_tokens[(account, symbol)]

    def sold_since(self, account: str, symbol: str, since_us: int) -> int:
        """Sales by an issuer or affiliate executed at or after `since_us` (Rule 144(e)); older
        ones are forgotten."""
        sales = self.affiliate_sales.get((account, symbol))
        if not sales:
            return 0
        for trade_id in [i for i, (at, _) in sales.items() if at < since_us]:
            del sales[trade_id]
        return sum(qty for _, qty in sales.values())

    def available_cash(self, account: str) -> Decimal:
        return self.cash[account] - self.held_cash[account]

    def open_sell_tokens(self, account: str, symbol: str) -> int:
        """Tokens held by open sell orders only (not by unsettled sales)."""
        return self.held_tokens[(account, symbol)] - self.outgoing[(account, symbol)]

    def open_buy_cash(self, account: str) -> Decimal:
        """Cash held by open buy orders only (not by unsettled purchases)."""
        return self.held_cash[account] - self.paying[account]

    def chain_current(self, account: str, block: int) -> bool:
        """Does the chain at `block` show every settlement of `account` the venue has finalised?"""
        return block >= self.min_chain_block and block >= self.settled_block.get(account, 0)

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
