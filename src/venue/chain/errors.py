"""Errors of the chain layer, and the one place where node-specific failures become them.

Every backend reports a revert its own way: eth-tester raises ``TransactionFailed`` with the reason
already decoded (or the raw bytes' repr), HTTP nodes answer a JSON-RPC error (code 3, ``data`` the
revert bytes) that web3 raises as ``ContractLogicError``/``ContractCustomError``, and a mined
transaction that reverted is only a status-0 receipt. :func:`normalise` turns each of these into a
:class:`RevertError` carrying a readable reason; connection failures become :class:`NodeUnavailable`.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable
from typing import Any

from eth_abi import decode as abi_decode
from eth_utils import function_signature_to_4byte_selector

ERROR_STRING_SELECTOR = bytes.fromhex("08c379a0")  # Error(string)
PANIC_SELECTOR = bytes.fromhex("4e487b71")  # Panic(uint256)

PANIC_CODES = {
    0x01: "assertion failed",
    0x11: "arithmetic overflow or underflow",
    0x12: "division or modulo by zero",
    0x21: "invalid enum value",
    0x22: "invalid storage byte array",
    0x31: "pop on empty array",
    0x32: "array index out of bounds",
    0x41: "out of memory",
    0x51: "call to a zero-initialised internal function",
}


class ChainError(Exception):
    """Base class of every error raised by ``venue.chain``."""


class NodeUnavailable(ChainError):
    """The node did not answer (connection refused, reset, timed out) after the retries."""


class NodeError(ChainError):
    """The node answered a JSON-RPC error that is not a revert (bad nonce, fee too low, ...)."""

    def __init__(self, message: str, code: int | None = None):
        super().__init__(message)
        self.code = code


class RevertError(ChainError):
    """A call or transaction reverted; ``reason`` is decoded from the revert data when possible."""

    def __init__(self, reason: str, data: bytes | None = None, tx_hash: str | None = None):
        super().__init__(reason)
        self.reason = reason
        self.data = data
        self.tx_hash = tx_hash


class ConfirmationTimeout(ChainError):
    """A transaction was sent but its receipt (or its confirmations) did not arrive in time."""

    def __init__(self, tx_hash: str, message: str):
        super().__init__(message)
        self.tx_hash = tx_hash


# ----- revert data decoding

_custom_errors: dict[bytes, tuple[str, list[str], list[str]]] = {}


def register_error_abis(abi: Iterable[dict[str, Any]]) -> None:
    """Makes the custom errors of a contract ABI decodable by :func:`decode_revert`."""
    for item in abi:
        if item.get("type") != "error":
            continue
        types = [_abi_type(i) for i in item.get("inputs", [])]
        names = [i.get("name", "") for i in item.get("inputs", [])]
        selector = function_signature_to_4byte_selector(f"{item['name']}({','.join(types)})")
        _custom_errors[selector] = (item["name"], types, names)


def _abi_type(param: dict[str, Any]) -> str:
    if param["type"].startswith("tuple"):
        inner = ",".join(_abi_type(c) for c in param["components"])
        return f"({inner}){param['type'][5:]}"
    return param["type"]


def decode_revert(data: bytes | None) -> str:
    """Human-readable reason of revert data: ``Error(string)``, ``Panic(uint256)`` or a custom error."""
    if not data:
        return "reverted without reason"
    selector, body = data[:4], data[4:]
    try:
        if selector == ERROR_STRING_SELECTOR:
            return abi_decode(["string"], body)[0]
        if selector == PANIC_SELECTOR:
            code = abi_decode(["uint256"], body)[0]
            return f"panic 0x{code:02x}: {PANIC_CODES.get(code, 'unknown')}"
        if selector in _custom_errors:
            name, types, names = _custom_errors[selector]
            values = abi_decode(types, body)
            args = ", ".join(f"{n}={_fmt(v)}" if n else _fmt(v) for n, v in zip(names, values, strict=True))
            return f"{name}({args})"
    except Exception:  # noqa: BLE001 - malformed revert data: fall through to the hex form
        pass
    return f"custom error 0x{data.hex()}"


def _fmt(value: Any) -> str:
    if isinstance(value, bytes):
        return "0x" + value.hex()
    return str(value)


def _hex_to_bytes(value: Any) -> bytes | None:
    if isinstance(value, (bytes, bytearray)):
        return bytes(value)
    if isinstance(value, str) and re.fullmatch(r"0x([0-9a-fA-F]{2})*", value):
        return bytes.fromhex(value[2:])
    return None


def revert_from_rpc_error(error: dict[str, Any], tx_hash: str | None = None) -> ChainError:
    """Maps a JSON-RPC ``error`` object to :class:`RevertError` (when it is one) or :class:`NodeError`."""
    message = str(error.get("message", ""))
    data = error.get("data")
    if isinstance(data, dict):  # some nodes nest it: {"data": {"data": "0x..."}}
        data = data.get("data") or data.get("result")
    raw = _hex_to_bytes(data)
    if raw is not None or error.get("code") == 3 or "revert" in message.lower():
        reason = decode_revert(raw) if raw else message.removeprefix("execution reverted: ")
        return RevertError(reason or message, raw, tx_hash)
    return NodeError(message, error.get("code"))


_CONNECTION_ERRORS: tuple[type[BaseException], ...] = (ConnectionError, TimeoutError)
try:  # requests is what web3's HTTPProvider speaks through
    import requests

    _CONNECTION_ERRORS += (requests.exceptions.ConnectionError, requests.exceptions.Timeout)
except ImportError:  # pragma: no cover
    pass


def is_connection_error(exc: BaseException) -> bool:
    """True for failures to reach the node at all, which are worth a retry."""
    while exc is not None:
        if isinstance(exc, _CONNECTION_ERRORS):
            return True
        exc = exc.__cause__ or exc.__context__  # type: ignore[assignment]
    return False


def normalise(exc: BaseException, tx_hash: str | None = None) -> ChainError:
    """Turns any backend's exception into a :class:`ChainError` subclass (the one place that knows)."""
    if isinstance(exc, ChainError):
        return exc
    if is_connection_error(exc):
        return NodeUnavailable(str(exc) or type(exc).__name__)
    name = type(exc).__name__
    if name in ("ContractLogicError", "ContractCustomError", "ContractPanicError", "OffchainLookup"):
        raw = _hex_to_bytes(getattr(exc, "data", None))
        reason = decode_revert(raw) if raw else str(getattr(exc, "message", None) or exc)
        return RevertError(reason.removeprefix("execution reverted: "), raw, tx_hash)
    if name == "TransactionFailed":  # eth-tester in process
        message = str(exc.args[0]) if exc.args else ""
        raw: bytes | None = None
        if message.startswith(("b'", 'b"')):
            try:
                raw = ast.literal_eval(message)
            except (SyntaxError, ValueError):
                raw = None
        return RevertError(decode_revert(raw) if raw is not None else message, raw, tx_hash)
    if name == "Web3RPCError" and isinstance(getattr(exc, "rpc_response", None), dict):
        error = exc.rpc_response.get("error")  # type: ignore[attr-defined]
        if isinstance(error, dict):
            return revert_from_rpc_error(error, tx_hash)
    return NodeError(f"{name}: {exc}")
