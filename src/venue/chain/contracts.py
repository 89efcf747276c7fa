"""Typed access to deployed contracts: calldata encoding and read-only calls with normalised errors."""

from __future__ import annotations

from typing import Any

from eth_utils import to_checksum_address
from web3 import Web3
from web3.contract import Contract

from venue.chain import artifacts
from venue.chain.errors import normalise


def contract(w3: Web3, name: str, address: str) -> Contract:
    """A web3 contract object for artifact ``name`` at ``address``."""
    return w3.eth.contract(address=to_checksum_address(address), abi=artifacts.load(name).abi)


def calldata(c: Contract, fn: str, *args: Any) -> str:
    """ABI-encoded call of ``fn(*args)`` on ``c``."""
    return c.encode_abi(fn, args=list(args))


def read(c: Contract, fn: str, *args: Any, block: int | str = "latest", caller: str | None = None) -> Any:
    """``eth_call`` of ``fn(*args)`` (as ``caller`` if given); reverts and node failures raise
    :class:`ChainError`."""
    tx = {"from": to_checksum_address(caller)} if caller else {}
    try:
        return getattr(c.functions, fn)(*args).call(tx, block_identifier=block)
    except Exception as exc:
        raise normalise(exc) from exc


def creation_code(w3: Web3, name: str, *args: Any) -> str:
    """Creation bytecode of artifact ``name`` with its constructor arguments appended."""
    artifact = artifacts.load(name)
    factory = w3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode)
    return factory.constructor(*args).data_in_transaction
