"""What the matching process knows of the chain: the gates ask the token itself before accepting an
order, without waiting for the node.

A background thread takes a *snapshot* every `refresh_s` seconds, every read at one block number:

- each investor wallet's standing in the identity registry (`isVerified`);
- per security: the token's `paused()`, each wallet's `isFrozen`, `balanceOf - getFrozenTokens`
  capped by the wallet's allowance to the DvP contract (what a settlement could take);
- each wallet's stablecoin balance, capped by its allowance to the DvP contract;
- per security and ordered pair of wallets (seller, buyer): what the token's modular compliance
  answers to `canTransfer(seller, buyer, qty)`.

`canTransfer` depends on the quantity. The compliance modules in use (holding period, maximum
balance, country rules, transfer limits) refuse larger transfers whenever they refuse smaller ones,
so each pair keeps the largest quantity known to pass and the smallest known to be refused; the
refresher probes each pair at the seller's free balance (and narrows by bisection when that is
refused). A quantity between the two bounds is asked of the node by `eth_call` on the spot, with a
short timeout, and remembered until the next snapshot.

The gates use a snapshot's balances for an account only when the snapshot is at least as new as
the block of every trade of that account the venue has finalised (the ledger records that block):
otherwise the venue's own settlement would look like a missing balance. An account the snapshot does
not cover, or a node that does not answer, gives "unknown" and those gates pass on the ledger alone:
the settlement worker checks every leg again (`transferFrom` runs the token's own compliance) and a
leg that fails busts the trade. The view narrows the window in which a trade can be busted; it
cannot close it.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from decimal import Decimal

from web3 import HTTPProvider, Web3

from venue.chain import backend
from venue.chain.deploy import Deployment

log = logging.getLogger("venue.chain.view")

PROBE_STEPS = 24


def _selector(signature: str) -> str:
    return bytes(Web3.keccak(text=signature)[:4]).hex()


def _addr(address: str) -> str:
    """An address as one ABI word (hex, no prefix)."""
    return address.lower().removeprefix("0x").rjust(64, "0")


# The calls a snapshot makes, ABI-encoded by hand: the same few calls many times a second.
_IS_VERIFIED = _selector("isVerified(address)")
_BALANCE_OF = _selector("balanceOf(address)")
_ALLOWANCE = _selector("allowance(address,address)")
_PAUSED = _selector("paused()")
_IS_FROZEN = _selector("isFrozen(address)")
_FROZEN_TOKENS = _selector("getFrozenTokens(address)")
_CAN_TRANSFER = _selector(
    "canTransfer(address,address,uint256)"
)  # bisection steps per refused pair and snapshot (enough for 16M tokens to the unit)


@dataclass(slots=True)
class TransferBounds:
    """What `canTransfer(seller, buyer, qty)` answered: every qty <= ok passes, every qty >= refused
    is refused (None: not known)."""

    ok: int = 0
    refused: int | None = None

    def answer(self, qty: int) -> bool | None:
        if qty <= self.ok:
            return True
        if self.refused is not None and qty >= self.refused:
            return False
        return None

    def learn(self, qty: int, passed: bool) -> None:
        if passed:
            self.ok = max(self.ok, qty)
        elif self.refused is None or qty < self.refused:
            self.refused = qty


@dataclass(slots=True)
class Snapshot:
    """The chain at one block, as the venue's gates need it."""

    block: int
    taken_at: float
    verified: dict[str, bool] = field(default_factory=dict)  # account -> identity registry standing
    paused: dict[str, bool] = field(default_factory=dict)  # symbol -> token paused
    frozen: dict[tuple[str, str], bool] = field(default_factory=dict)  # (account, symbol) -> wallet frozen
    tokens: dict[tuple[str, str], int] = field(default_factory=dict)  # (account, symbol) -> deliverable
    cash: dict[str, Decimal] = field(default_factory=dict)  # account -> stablecoin a settlement can take
    transfers: dict[tuple[str, str, str], TransferBounds] = field(default_factory=dict)  # (symbol, seller, buyer)


class ChainView:
    """Snapshots of the chain for the gates, refreshed by a background thread."""

    def __init__(
        self,
        url: str,
        deployment: Deployment,
        operator_key: str | None = None,
        refresh_s: float = 2.0,
        call_timeout_s: float = 0.5,
    ) -> None:
        self._url, self._deployment = url, deployment
        self._refresh_s = refresh_s
        self._call_timeout_s = call_timeout_s
        self._snapshot: Snapshot | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="chain-view", daemon=True)
        self._w3 = None  # the refresher's connection
        self._gate_w3 = None  # the sequencer thread's own connection (short timeout, no retries)
        self._ask_after = 0.0  # monotonic time before which a node that failed is not asked again
        self.calls_on_demand = 0  # canTransfer asked while an order waited (cache misses)

    # ------------------------------------------------------------ what the gates ask
    def snapshot(self) -> Snapshot | None:
        """The newest snapshot, or None before the first one."""
        return self._snapshot

    def verified(self, account_id: str) -> bool | None:
        """True/False from the last snapshot; None when unknown (no answer yet, or not on-chain)."""
        snap = self._snapshot
        return None if snap is None else snap.verified.get(account_id)

    def can_transfer(self, symbol: str, seller: str, buyer: str, qty: int) -> bool | None:
        """Would the token's compliance let `qty` move from seller to buyer? From the snapshot's
        bounds, else one `eth_call` now; None when it cannot be known (no wallet, node down)."""
        snap = self._snapshot
        if (
            snap is None
            or seller not in self._deployment.investors
            or buyer not in self._deployment.investors
            or symbol not in self._deployment.securities
        ):
            return None
        bounds = snap.transfers.setdefault((symbol, seller, buyer), TransferBounds())
        known = bounds.answer(qty)
        if known is not None or time.monotonic() < self._ask_after:
            return known
        try:
            if self._gate_w3 is None:
                self._gate_w3 = Web3(
                    HTTPProvider(
                        self._url, request_kwargs={"timeout": self._call_timeout_s}, exception_retry_configuration=None
                    )
                )
            passed = self._can_transfer(self._gate_w3, symbol, seller, buyer, qty, "latest")
        except Exception as exc:  # noqa: BLE001 - an unanswered question is "unknown", never an error
            self._ask_after = time.monotonic() + max(self._refresh_s, 5.0)  # orders must not wait on a dead node
            log.warning(
                "canTransfer(%s, %s -> %s, %d) not answered (%s): settlement will check; not asking "
                "the node on the spot again for %.0f s",
                symbol,
                seller,
                buyer,
                qty,
                exc,
                max(self._refresh_s, 5.0),
            )
            return None
        self.calls_on_demand += 1
        bounds.learn(qty, passed)
        return passed

    # ------------------------------------------------------------ refreshing
    def start(self) -> ChainView:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)

    def refresh(self) -> Snapshot:
        """Take one snapshot and publish it: every fact read by `eth_call` at one block, in a few
        JSON-RPC batches (facts, canTransfer at each seller's balance, then one batch per bisection
        step of the pairs refused at it)."""
        w3 = self._w3 or backend.connect(self._url, timeout=30)
        self._w3 = w3
        d = self._deployment
        block = int(backend.rpc(w3, "eth_blockNumber"), 16)
        at = hex(block)
        snap = Snapshot(block=block, taken_at=time.time())
        accounts = list(d.investors)
        calls: list[tuple[str, str]] = []  # (to, data)
        for account in accounts:
            wallet = _addr(d.wallet(account).address)
            calls += [
                (d.identity_registry, _IS_VERIFIED + wallet),
                (d.cash_token, _BALANCE_OF + wallet),
                (d.cash_token, _ALLOWANCE + wallet + _addr(d.dvp)),
            ]
        for sec in d.securities.values():
            calls.append((sec.token, _PAUSED))
            for account in accounts:
                wallet = _addr(d.wallet(account).address)
                calls += [
                    (sec.token, _IS_FROZEN + wallet),
                    (sec.token, _BALANCE_OF + wallet),
                    (sec.token, _FROZEN_TOKENS + wallet),
                    (sec.token, _ALLOWANCE + wallet + _addr(d.dvp)),
                ]
        words = iter(self._call_all(w3, calls, at))
        scale = Decimal(10) ** d.cash_decimals
        for account in accounts:
            snap.verified[account] = bool(next(words))
            snap.cash[account] = Decimal(min(next(words), next(words))) / scale
        for symbol in d.securities:
            snap.paused[symbol] = bool(next(words))
            for account in accounts:
                frozen, balance, frozen_tokens, allowance = next(words), next(words), next(words), next(words)
                snap.frozen[(account, symbol)] = bool(frozen)
                snap.tokens[(account, symbol)] = max(0, min(balance - frozen_tokens, allowance))
        pairs = [
            (symbol, seller, buyer)
            for symbol in d.securities
            for seller in accounts
            for buyer in accounts
            if buyer != seller and snap.tokens[(seller, symbol)] > 0
        ]
        for pair, bounds in zip(
            pairs, self._probe_all(w3, pairs, [snap.tokens[(p[1], p[0])] for p in pairs], at), strict=True
        ):
            snap.transfers[pair] = bounds
        old, self._snapshot = self._snapshot, snap  # one reference swap: readers see the old or the new
        if old is not None:
            changed = sorted(a for a, ok in snap.verified.items() if old.verified.get(a) not in (None, ok))
            if changed:
                log.info("identity registry changed for %s", ", ".join(changed))
        return snap

    def _probe_all(self, w3, pairs: list[tuple[str, str, str]], have: list[int], at: str) -> list[TransferBounds]:
        """Bounds of canTransfer per pair: at the seller's whole deliverable balance; the pairs refused
        there are bisected between 0 and it, all pairs a step at a time (one batch per step)."""
        bounds = [TransferBounds() for _ in pairs]
        passed = self._call_all(
            w3, [self._can_transfer_call(p, q) for p, q in zip(pairs, have, strict=True)], at, refused=0
        )
        search = {}  # pair index -> [low passes, high refused]
        for i, ok in enumerate(passed):
            bounds[i].learn(have[i], bool(ok))
            if not ok:
                search[i] = [0, have[i]]
        for _ in range(PROBE_STEPS):
            todo = [(i, (low + high) // 2) for i, (low, high) in search.items() if high - low > 1]
            if not todo:
                break
            answers = self._call_all(w3, [self._can_transfer_call(pairs[i], mid) for i, mid in todo], at, refused=0)
            for (i, mid), ok in zip(todo, answers, strict=True):
                search[i][0 if ok else 1] = mid
        for i, (low, high) in search.items():
            bounds[i].learn(low, True)
            bounds[i].learn(high, False)
        return bounds

    def _can_transfer_call(self, pair: tuple[str, str, str], qty: int) -> tuple[str, str]:
        symbol, seller, buyer = pair
        d = self._deployment
        return (
            d.security(symbol).compliance,
            _CAN_TRANSFER + _addr(d.wallet(seller).address) + _addr(d.wallet(buyer).address) + f"{qty:064x}",
        )

    def _can_transfer(self, w3, symbol: str, seller: str, buyer: str, qty: int, block) -> bool:
        (answer,) = self._call_all(w3, [self._can_transfer_call((symbol, seller, buyer), qty)], block, refused=0)
        return bool(answer)

    @staticmethod
    def _call_all(w3, calls: list[tuple[str, str]], block: str, refused: int | None = None) -> list[int]:
        """`eth_call` each (to, calldata) at `block` in one batch; each answer as an integer (the
        first 32-byte word). A call that reverts gives `refused`, or raises when that is None."""
        if not calls:
            return []
        out = []
        for answer in backend.rpc_batch(
            w3, [("eth_call", [{"to": to, "data": "0x" + data}, block]) for to, data in calls]
        ):
            if isinstance(answer, Exception):
                if refused is None:
                    raise answer
                out.append(refused)
            else:
                out.append(int(answer[2:66] or "0", 16))
        return out

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.refresh()
            except Exception as exc:  # noqa: BLE001 - a node outage must not stop the venue
                log.warning("chain view not refreshed (%s): gates fall back to the ledger, settlement checks", exc)
            self._stop.wait(self._refresh_s)
