"""The DvP client: settles matched trades on chain and reads balances and eligibility.

A trade is a :class:`SettlementInstruction`. Its ``trade_id`` (the venue's own id, any string) is
hashed to the on-chain ``bytes32`` key with keccak256, so a trade id settles at most once whatever
is resent. :meth:`DvPClient.settle_batch` packs instructions into ``settleBatch`` transactions (one
``settle`` per transaction when ``batch_size`` is 1), pipelines them from the operator's single
:class:`~venue.chain.transactions.TxSender`, waits for the receipts (and the configured
confirmations) and returns one :class:`SettlementResult` per instruction, in order.

If the node becomes unreachable mid-way the call raises :class:`~venue.chain.errors.NodeUnavailable`;
resubmitting the same instructions is safe: those that did settle come back ``already_settled``.
"""

from __future__ import annotations

import enum
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any

from eth_abi import decode as abi_decode
from eth_abi import encode as abi_encode
from eth_utils import (
    event_signature_to_log_topic,
    function_signature_to_4byte_selector,
    keccak,
)
from web3 import Web3

from venue.chain.backend import rpc
from venue.chain.contracts import contract, read
from venue.chain.deploy import Deployment
from venue.chain.errors import ChainError, RevertError, decode_revert
from venue.chain.transactions import Receipt, TxSender

_TRADE_FIELDS = ["bytes32", "address", "address", "address", "uint256", "address", "uint256"]
_TRADE = "(" + ",".join(_TRADE_FIELDS) + ")"
_SETTLE = function_signature_to_4byte_selector(f"settle{_TRADE}")
_SETTLE_BATCH = function_signature_to_4byte_selector(f"settleBatch({_TRADE}[])")
_TOPIC_SETTLED = (
    "0x" + event_signature_to_log_topic("Settled(bytes32,address,address,address,uint256,address,uint256)").hex()
)
_TOPIC_ALREADY = "0x" + event_signature_to_log_topic("AlreadySettled(bytes32,uint256)").hex()
_TOPIC_FAILED = "0x" + event_signature_to_log_topic("SettlementFailed(bytes32,bytes)").hex()

#: Gas budgets. Unused gas is not charged; a budget too small makes a trade of a batch fail for
#: lack of gas (its self-call runs out), so they are generous. Measured (bench/settle_bench.py):
#: ~90k gas per trade in a batch between T-REX tokens with the holding-period module bound, up to
#: ~230k for a lone trade touching cold accounts. A batch's limit is capped at 95% of the block's.
BATCH_BASE_GAS = 100_000
GAS_PER_TRADE = 300_000
SINGLE_TRADE_GAS = 500_000
DEFAULT_MAX_BATCH = 100
TREX_TRANSFER_REFUSED = "Transfer not possible"
#: T-REX's transferFrom subtracts the amount from the allowance unchecked by a require: a spender
#: beyond its allowance reverts with Solidity's underflow panic.
TREX_ALLOWANCE_PANIC = "panic 0x11: arithmetic overflow or underflow"
EXPLAINED_REASONS = (TREX_TRANSFER_REFUSED, TREX_ALLOWANCE_PANIC)


def trade_key(trade_id: str) -> bytes:
    """The on-chain ``bytes32`` key of a venue trade id: keccak256 of its UTF-8 bytes."""
    return keccak(trade_id.encode())


class SettlementStatus(enum.Enum):
    """Outcome of one instruction."""

    SETTLED = "settled"
    ALREADY_SETTLED = "already_settled"
    FAILED = "failed"

    @property
    def is_settled(self) -> bool:
        """True when the trade's legs have moved (now or earlier)."""
        return self is not SettlementStatus.FAILED


@dataclass(frozen=True, slots=True)
class SettlementInstruction:
    """One matched trade to settle: ``qty`` tokens seller -> buyer, ``cash_amount`` stablecoin base
    units (6 decimals) buyer -> seller."""

    trade_id: str
    symbol: str
    seller_account: str
    buyer_account: str
    qty: int
    cash_amount: int


@dataclass(frozen=True, slots=True)
class SettlementResult:
    """What happened to one instruction; ``tx_hash``/``block_number`` are None if nothing was sent."""

    trade_id: str
    status: SettlementStatus
    tx_hash: str | None
    block_number: int | None
    reason: str | None = None
    gas_used: int | None = None  # of the whole transaction, shared by the trades of a batch


class DvPClient:
    """Settles trades through the DvP contract as the venue operator, and reads chain state."""

    def __init__(
        self,
        w3: Web3,
        deployment: Deployment,
        operator_key: str,
        *,
        max_batch: int = DEFAULT_MAX_BATCH,
        gas_per_trade: int = GAS_PER_TRADE,
        confirmations: int = 1,
        sender: TxSender | None = None,
    ):
        self.w3 = w3
        self.deployment = deployment
        self.sender = sender or TxSender(w3, operator_key, chain_id=deployment.chain_id)
        self.max_batch = max_batch
        self.gas_per_trade = gas_per_trade
        self.confirmations = confirmations
        self._block_gas_limit: int | None = None
        self._dvp = contract(w3, "DvP", deployment.dvp)
        self._cash = contract(w3, "SandboxStablecoin", deployment.cash_token)
        self._ir = contract(w3, "IdentityRegistry", deployment.identity_registry)

    # ----- settlement

    def settle(self, trade: SettlementInstruction) -> SettlementResult:
        """Settles one trade in its own ``settle`` transaction."""
        return self.settle_batch([trade], batch_size=1)[0]

    def settle_batch(
        self, trades: Sequence[SettlementInstruction], batch_size: int | None = None
    ) -> list[SettlementResult]:
        """Settles ``trades`` in transactions of up to ``batch_size`` trades (default ``max_batch``;
        1 uses the single-trade ``settle``), pipelined, and returns one result per trade, in order."""
        size = batch_size or self.max_batch
        results: list[SettlementResult | None] = [None] * len(trades)
        encoded: list[tuple[int, tuple[Any, ...]]] = []
        for i, trade in enumerate(trades):
            try:
                encoded.append((i, self._encode(trade)))
            except (KeyError, ValueError) as e:
                results[i] = SettlementResult(
                    trade.trade_id, SettlementStatus.FAILED, None, None, f"invalid instruction: {e}"
                )
        chunks = [encoded[k : k + size] for k in range(0, len(encoded), size)]
        sent: list[tuple[list[tuple[int, tuple[Any, ...]]], str]] = []
        for chunk in chunks:
            if size == 1:
                data = "0x" + (_SETTLE + abi_encode(_TRADE_FIELDS, chunk[0][1])).hex()
                gas = SINGLE_TRADE_GAS
            else:
                data = "0x" + (_SETTLE_BATCH + abi_encode([f"{_TRADE}[]"], [[t for _, t in chunk]])).hex()
                gas = min(BATCH_BASE_GAS + self.gas_per_trade * len(chunk), self._gas_cap())
            sent.append((chunk, self.sender.send(self.deployment.dvp, data, gas)))
        for chunk, tx_hash in sent:
            receipt = self.sender.wait(tx_hash, self.confirmations)
            for i, result in self._results(chunk, trades, receipt):
                results[i] = self._explain(trades[i], result)
        return results  # type: ignore[return-value]

    def _explain(self, trade: SettlementInstruction, result: SettlementResult) -> SettlementResult:
        """T-REX refuses every ineligible transfer with the same "Transfer not possible", and a
        ``transferFrom`` beyond the allowance with an arithmetic panic: add which check fails now
        (read after the fact, so a hint, not the chain's word)."""
        if result.status is not SettlementStatus.FAILED or result.reason not in EXPLAINED_REASONS:
            return result
        try:
            hint = self.transfer_refusal(trade.symbol, trade.seller_account, trade.buyer_account, trade.qty)
        except ChainError:
            hint = None
        if hint is None:
            return result
        return replace(result, reason=f"{result.reason}: {hint}")

    def _encode(self, t: SettlementInstruction) -> tuple[Any, ...]:
        if t.qty <= 0 or t.cash_amount <= 0:
            raise ValueError("qty and cash_amount must be positive")
        return (
            trade_key(t.trade_id),
            self.deployment.security(t.symbol).token,
            self.deployment.wallet(t.seller_account).address,
            self.deployment.wallet(t.buyer_account).address,
            t.qty,
            self.deployment.cash_token,
            t.cash_amount,
        )

    def _gas_cap(self) -> int:
        if self._block_gas_limit is None:
            self._block_gas_limit = int(rpc(self.w3, "eth_getBlockByNumber", ["latest", False])["gasLimit"], 16)
        return self._block_gas_limit * 95 // 100

    def _results(
        self,
        chunk: list[tuple[int, tuple[Any, ...]]],
        trades: Sequence[SettlementInstruction],
        receipt: Receipt,
    ) -> Iterator[tuple[int, SettlementResult]]:
        if receipt.status != 1:
            try:
                reason = self.sender.revert_reason(receipt)
            except ChainError as e:
                reason = f"reverted ({e})"
            for i, _ in chunk:
                yield (
                    i,
                    SettlementResult(
                        trades[i].trade_id,
                        SettlementStatus.FAILED,
                        receipt.tx_hash,
                        receipt.block_number,
                        reason,
                        receipt.gas_used,
                    ),
                )
            return
        events: dict[bytes, list[tuple[SettlementStatus, str | None]]] = defaultdict(list)
        dvp = self.deployment.dvp.lower()
        for log in receipt.logs:
            if log["address"].lower() != dvp:
                continue
            topic = log["topics"][0]
            key = bytes.fromhex(log["topics"][1][2:])
            if topic == _TOPIC_SETTLED:
                events[key].append((SettlementStatus.SETTLED, None))
            elif topic == _TOPIC_ALREADY:
                (block,) = abi_decode(["uint256"], bytes.fromhex(log["data"][2:]))
                events[key].append((SettlementStatus.ALREADY_SETTLED, f"settled in block {block}"))
            elif topic == _TOPIC_FAILED:
                (raw,) = abi_decode(["bytes"], bytes.fromhex(log["data"][2:]))
                events[key].append(
                    (
                        SettlementStatus.FAILED,
                        decode_revert(raw) if raw else "reverted without reason (or out of gas)",
                    )
                )
        for i, encoded in chunk:
            queue = events.get(encoded[0])
            if queue:
                status, reason = queue.pop(0)
            else:  # cannot happen with this DvP contract; reported rather than assumed
                status, reason = SettlementStatus.FAILED, "no settlement event for this trade"
            yield (
                i,
                SettlementResult(
                    trades[i].trade_id,
                    status,
                    receipt.tx_hash,
                    receipt.block_number,
                    reason,
                    receipt.gas_used,
                ),
            )

    # ----- reads

    def is_settled(self, trade_id: str, block: int | str = "latest") -> bool:
        """True if the trade id has settled on chain (by ``block``)."""
        return bool(read(self._dvp, "isSettled", trade_key(trade_id), block=block))

    def settled_in_block(self, trade_id: str) -> int | None:
        """Block number in which the trade id settled, or None."""
        block = read(self._dvp, "settledInBlock", trade_key(trade_id))
        return block or None

    def token_balance(self, account_id: str, symbol: str, block: int | str = "latest") -> int:
        """Security tokens held by an account's wallet (at ``block``)."""
        token = contract(self.w3, "Token", self.deployment.security(symbol).token)
        return read(token, "balanceOf", self.deployment.wallet(account_id).address, block=block)

    def cash_balance(self, account_id: str, block: int | str = "latest") -> int:
        """Stablecoin base units (6 decimals) held by an account's wallet (at ``block``)."""
        return read(self._cash, "balanceOf", self.deployment.wallet(account_id).address, block=block)

    def is_verified(self, account_id: str, symbol: str | None = None) -> bool:
        """True if the account's wallet is in the identity registry (the venue's, or ``symbol``'s
        token's own) with a valid KYC claim."""
        registry = self._ir if symbol is None else self._registry(symbol)
        return bool(read(registry, "isVerified", self.deployment.wallet(account_id).address))

    def _registry(self, symbol: str):
        return contract(self.w3, "IdentityRegistry", self.deployment.security(symbol).identity_registry)

    def unlocked_balance(self, account_id: str, symbol: str) -> int:
        """Tokens of an account that are past their holding period."""
        security = self.deployment.security(symbol)
        module = contract(self.w3, "HoldingPeriodModule", self.deployment.holding_period_module)
        return read(module, "unlockedBalance", security.compliance, self.deployment.wallet(account_id).address)

    def transfer_refusal(self, symbol: str, seller_account: str, buyer_account: str, qty: int) -> str | None:
        """Why the T-REX token would refuse to move ``qty`` from seller to buyer now, or None if it
        would not: the same checks as ``Token.transferFrom`` (paused, frozen wallets, free balance,
        buyer verified, compliance modules), each an ``eth_call``."""
        security = self.deployment.security(symbol)
        token = contract(self.w3, "Token", security.token)
        seller = self.deployment.wallet(seller_account).address
        buyer = self.deployment.wallet(buyer_account).address
        try:
            if read(token, "paused"):
                return "token paused"
            if read(token, "isFrozen", seller) or read(token, "isFrozen", buyer):
                return "wallet is frozen"
            if qty > read(token, "balanceOf", seller) - read(token, "getFrozenTokens", seller):
                return "insufficient balance"
            registry = contract(self.w3, "IdentityRegistry", security.identity_registry)  # the token's own
            if not read(registry, "isVerified", buyer):
                return "buyer identity not verified"
            compliance = contract(self.w3, "ModularCompliance", security.compliance)
            if not read(compliance, "canTransfer", seller, buyer, qty):
                if read(compliance, "isModuleBound", self.deployment.holding_period_module):
                    unlocked = self.unlocked_balance(seller_account, symbol)
                    if unlocked < qty:
                        return f"holding period: {unlocked} of the seller's tokens are past their holding period"
                return "compliance refuses the transfer"
            dvp = self.deployment.dvp
            if read(token, "allowance", seller, dvp) < qty:
                return "the seller's wallet has not allowed the DvP contract to move these tokens"
        except RevertError as e:
            return f"check reverted: {e.reason}"
        return None

    def can_transfer(self, symbol: str, seller_account: str, buyer_account: str, qty: int) -> bool:
        """True if the token would let ``qty`` move from seller to buyer now (see :meth:`transfer_refusal`)."""
        return self.transfer_refusal(symbol, seller_account, buyer_account, qty) is None
