"""Sending transactions: local signing, one nonce sequence per key, explicit gas, receipts, retries.

A :class:`TxSender` is the single writer for one key. It signs EIP-1559 transactions locally, takes
nonces from its :class:`NonceManager` (resynchronised from the node after any refused send), always
sends an explicit gas limit (no estimation on the hot path), and may pipeline: ``send`` several
transactions, then ``wait`` for their receipts. Receipts are read raw (``eth_getTransactionReceipt``
through :func:`venue.chain.backend.rpc`), skipping web3's log formatting.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

import rlp
from eth_account import Account
from eth_utils import keccak, to_checksum_address
from web3 import Web3

from venue.chain.backend import DEFAULT_BACKOFF, DEFAULT_RETRIES, rpc
from venue.chain.errors import (
    ChainError,
    ConfirmationTimeout,
    NodeError,
    NodeUnavailable,
    RevertError,
)

DEFAULT_PRIORITY_FEE = 10**9  # 1 gwei
FEE_REFRESH_SECONDS = 2.0


def create_address(sender: str, nonce: int) -> str:
    """Address of the contract that ``sender`` creates with transaction ``nonce`` (CREATE)."""
    raw = keccak(rlp.encode([bytes.fromhex(sender[2:]), nonce]))[12:]
    return to_checksum_address(raw)


@dataclass(frozen=True, slots=True)
class Receipt:
    """The fields of a mined transaction's receipt the venue uses; ``logs`` are raw JSON-RPC logs."""

    tx_hash: str
    block_number: int
    block_hash: str
    status: int
    gas_used: int
    contract_address: str | None
    logs: tuple[dict[str, Any], ...] = field(repr=False)

    @classmethod
    def from_rpc(cls, raw: dict[str, Any]) -> Receipt:
        """Builds a receipt from a raw ``eth_getTransactionReceipt`` result."""
        return cls(
            tx_hash=raw["transactionHash"],
            block_number=int(raw["blockNumber"], 16),
            block_hash=raw["blockHash"],
            status=int(raw["status"], 16),
            gas_used=int(raw["gasUsed"], 16),
            contract_address=to_checksum_address(raw["contractAddress"]) if raw.get("contractAddress") else None,
            logs=tuple(raw.get("logs") or ()),
        )


class NonceManager:
    """Next nonce of one account, kept locally and resynchronised from the node on demand."""

    def __init__(self, w3: Web3, address: str):
        self._w3 = w3
        self.address = address
        self._next: int | None = None
        self._lock = threading.Lock()

    def reserve(self) -> int:
        """The nonce for the next transaction (fetched from the node the first time)."""
        with self._lock:
            if self._next is None:
                self._next = self._fetch()
            nonce = self._next
            self._next += 1
            return nonce

    def resync(self) -> int:
        """Forgets the local count and reads the account's pending nonce from the node."""
        with self._lock:
            self._next = self._fetch()
            return self._next

    def _fetch(self) -> int:
        return int(rpc(self._w3, "eth_getTransactionCount", [self.address, "pending"]), 16)


@dataclass(slots=True)
class _Sent:
    to: str | None
    data: str
    gas: int
    value: int
    nonce: int = -1


class TxSender:
    """The one writer for one private key."""

    def __init__(
        self,
        w3: Web3,
        private_key: str | bytes,
        *,
        chain_id: int | None = None,
        priority_fee: int = DEFAULT_PRIORITY_FEE,
        retries: int = DEFAULT_RETRIES,
        backoff: float = DEFAULT_BACKOFF,
        receipt_timeout: float = 120.0,
        poll_interval: float = 0.005,
    ):
        self.w3 = w3
        self.account = Account.from_key(private_key)
        self.address: str = self.account.address
        self.chain_id = chain_id if chain_id is not None else int(rpc(w3, "eth_chainId"), 16)
        self.nonces = NonceManager(w3, self.address)
        self.priority_fee = priority_fee
        self.retries = retries
        self.backoff = backoff
        self.receipt_timeout = receipt_timeout
        self.poll_interval = poll_interval
        self._max_fee: int | None = None
        self._fee_at = 0.0
        self._sent: dict[str, _Sent] = {}

    # ----- fees

    def _fee(self, refresh: bool = False) -> int:
        now = time.monotonic()
        if refresh or self._max_fee is None or now - self._fee_at > FEE_REFRESH_SECONDS:
            latest = rpc(self.w3, "eth_getBlockByNumber", ["latest", False])
            base = int(latest.get("baseFeePerGas") or "0x0", 16)
            self._max_fee = 2 * base + self.priority_fee
            self._fee_at = now
        return self._max_fee

    # ----- sending

    def _sign(
        self, to: str | None, data: str, gas: int, value: int, nonce: int, refresh_fee: bool = False
    ) -> tuple[str, str]:
        tx: dict[str, Any] = {
            "type": 2,
            "chainId": self.chain_id,
            "nonce": nonce,
            "gas": gas,
            "maxFeePerGas": self._fee(refresh_fee),
            "maxPriorityFeePerGas": self.priority_fee,
            "value": value,
            "data": data,
        }
        if to is not None:
            tx["to"] = to
        signed = self.account.sign_transaction(tx)
        return signed.raw_transaction.to_0x_hex(), signed.hash.to_0x_hex()

    def _known(self, tx_hash: str) -> bool:
        try:
            return rpc(self.w3, "eth_getTransactionByHash", [tx_hash], retries=0) is not None
        except ChainError:
            return False

    def send(self, to: str | None, data: str, gas: int, value: int = 0) -> str:
        """Signs and sends one transaction with an explicit gas limit; returns its hash.

        A connection failure is retried with backoff, resending the same signed bytes (so at most
        one of them can be mined). A refused send (nonce or fee out of date) resynchronises the nonce,
        refreshes the fee, re-signs and retries. Gives up with the last error after ``retries``.
        """
        nonce = self.nonces.reserve()
        raw, tx_hash = self._sign(to, data, gas, value, nonce)
        delay = self.backoff
        last: ChainError | None = None
        for attempt in range(self.retries + 1):
            try:
                rpc(self.w3, "eth_sendRawTransaction", [raw], retries=0)
                self._sent[tx_hash] = _Sent(to, data, gas, value, nonce)
                return tx_hash
            except NodeUnavailable as e:
                last = e
            except NodeError as e:
                last = e
                if self._known(tx_hash):  # an earlier attempt did arrive ("already known", "nonce too low")
                    self._sent[tx_hash] = _Sent(to, data, gas, value, nonce)
                    return tx_hash
                self.nonces.resync()
                nonce = self.nonces.reserve()
                raw, tx_hash = self._sign(to, data, gas, value, nonce, refresh_fee=True)
            except RevertError:  # a node that executes on submission refused it: nonce not consumed
                self.nonces.resync()
                raise
            if attempt < self.retries:
                time.sleep(delay)
                delay *= 2
        self.nonces.resync()
        assert last is not None
        raise last

    def wait(self, tx_hash: str, confirmations: int = 1, timeout: float | None = None) -> Receipt:
        """Polls for the receipt, then for ``confirmations`` blocks on top of (and including) its block.

        With more than one confirmation the receipt is read again at the end and must still be in the
        same block (a reorg that dropped or moved it restarts the wait).
        """
        deadline = time.monotonic() + (timeout if timeout is not None else self.receipt_timeout)
        while True:
            raw = self._poll(tx_hash, deadline)
            receipt = Receipt.from_rpc(raw)
            if confirmations <= 1:
                break
            target = receipt.block_number + confirmations - 1
            while int(rpc(self.w3, "eth_blockNumber"), 16) < target:
                if time.monotonic() > deadline:
                    raise ConfirmationTimeout(tx_hash, f"{tx_hash}: fewer than {confirmations} confirmations in time")
                time.sleep(max(self.poll_interval, 0.05))
            again = rpc(self.w3, "eth_getTransactionReceipt", [tx_hash])
            if again is not None and again["blockHash"] == receipt.block_hash:
                break
        self._sent.pop(tx_hash, None)
        return receipt

    def _poll(self, tx_hash: str, deadline: float) -> dict[str, Any]:
        delay = self.poll_interval
        while True:
            try:
                raw = rpc(self.w3, "eth_getTransactionReceipt", [tx_hash], retries=0)
            except NodeUnavailable:
                raw = None
                delay = max(delay, self.backoff)
            if raw is not None and raw.get("blockNumber"):
                return raw
            if time.monotonic() > deadline:
                raise ConfirmationTimeout(tx_hash, f"no receipt for {tx_hash} in time")
            time.sleep(delay)
            delay = min(delay * 2, 0.5)

    def transact(self, to: str | None, data: str, gas: int, value: int = 0, confirmations: int = 1) -> Receipt:
        """Sends, waits, and raises :class:`RevertError` (with the reason) if the transaction reverted."""
        tx_hash = self.send(to, data, gas, value)
        sent = self._sent[tx_hash]
        return self.check(tx_hash, self.wait(tx_hash, confirmations), sent)

    def check(self, tx_hash: str, receipt: Receipt, sent: _Sent | None = None) -> Receipt:
        """Returns ``receipt`` if it succeeded, else raises :class:`RevertError` with the replayed reason."""
        if receipt.status == 1:
            return receipt
        raise RevertError(self.revert_reason(receipt, sent), tx_hash=tx_hash)

    def revert_reason(self, receipt: Receipt, sent: _Sent | None = None) -> str:
        """Why a mined transaction reverted: replays it with ``eth_call`` on the parent block's state."""
        if sent is None:
            tx = rpc(self.w3, "eth_getTransactionByHash", [receipt.tx_hash])
            sent = _Sent(
                tx.get("to"),
                tx.get("input") or tx.get("data") or "0x",
                int(tx["gas"], 16),
                int(tx["value"], 16),
            )
        if receipt.gas_used >= sent.gas:
            return f"out of gas (limit {sent.gas})"
        call: dict[str, Any] = {
            "from": self.address,
            "data": sent.data,
            "gas": hex(sent.gas),
            "value": hex(sent.value),
        }
        if sent.to:
            call["to"] = sent.to
        try:
            rpc(self.w3, "eth_call", [call, hex(receipt.block_number - 1)])
        except RevertError as e:
            return e.reason
        return "reverted (the replay on the parent block succeeded: reason unavailable)"

    def deploy(self, bytecode: str, gas: int) -> tuple[str, str]:
        """Sends a contract creation; returns (tx hash, the address the contract will have)."""
        tx_hash = self.send(None, bytecode, gas)
        return tx_hash, create_address(self.address, self._sent[tx_hash].nonce)
