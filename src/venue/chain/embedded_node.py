"""An embedded EVM node: eth-tester's py-evm chain behind a small JSON-RPC HTTP server.

Run ``python -m venue.chain.embedded_node --port N`` (``--port 0`` picks a free port; the first line
printed is ``listening on http://127.0.0.1:PORT``). Every other venue process then talks to it by URL
exactly as to a real node. It auto-mines one block per transaction, prefunds the ten accounts of
the well-known development mnemonic (the same ones anvil prefunds), answers the standard ``eth_*``
methods the venue uses, and the anvil/hardhat test methods ``evm_increaseTime``, ``evm_mine``,
``evm_snapshot`` and ``evm_revert``. Reverted ``eth_call``/``eth_estimateGas`` answer like geth:
error code 3, message ``execution reverted: <reason>``, ``data`` the revert bytes.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from eth_abi import encode as abi_encode

from venue.chain.errors import ERROR_STRING_SELECTOR, RevertError, normalise

DEV_MNEMONIC = "test test test test test test test test test test test junk"
DEV_HD_PATH = "m/44'/60'/0'/0"
DEFAULT_GAS_LIMIT = 60_000_000
CLIENT_VERSION = "venue-embedded/eth-tester"


class RPCError(Exception):
    """A JSON-RPC error answer."""

    def __init__(self, code: int, message: str, data: str | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.data = data

    def as_json(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.data is not None:
            error["data"] = self.data
        return error


_CAMEL = re.compile(r"_([a-z])")
_RENAMES = {"coinbase": "miner", "data": "input"}
_BYTES_FIELDS = {"logs_bloom": 256}


def _camel(key: str) -> str:
    return _CAMEL.sub(lambda m: m.group(1).upper(), key)


def _to_rpc(value: Any, rename_data: bool = False) -> Any:
    """eth-tester's normalised output (snake_case keys, ints, tuples) -> JSON-RPC (camelCase, hex)."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return hex(value)
    if isinstance(value, (bytes, bytearray)):
        return "0x" + bytes(value).hex()
    if isinstance(value, (list, tuple)):
        return [_to_rpc(v, rename_data) for v in value]
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            if key in _BYTES_FIELDS and isinstance(item, int):
                out[_camel(key)] = "0x" + item.to_bytes(_BYTES_FIELDS[key], "big").hex()
                continue
            name = _RENAMES.get(key, key) if (rename_data or key != "data") else key
            out[_camel(name)] = _to_rpc(item, rename_data)
        return out
    return value


def _tx_to_rpc(tx: dict[str, Any]) -> dict[str, Any]:
    return _to_rpc(tx, rename_data=True)


def _log_to_rpc(log: dict[str, Any]) -> dict[str, Any]:
    out = _to_rpc({k: v for k, v in log.items() if k != "type"})
    out["removed"] = False
    return out


def _receipt_to_rpc(receipt: dict[str, Any]) -> dict[str, Any]:
    out = _to_rpc({k: v for k, v in receipt.items() if k != "logs"})
    out["logs"] = [_log_to_rpc(log) for log in receipt["logs"]]
    out["logsBloom"] = "0x" + "00" * 256
    return out


def _quantity(value: Any, default: int = 0) -> int:
    if value is None:
        return default
    if isinstance(value, int):
        return value
    return int(value, 16)


def _block_id(value: Any) -> int | str:
    if value is None:
        return "latest"
    if isinstance(value, dict):  # EIP-1898 {"blockNumber": ...}
        value = value.get("blockNumber", "latest")
    if isinstance(value, str) and value.startswith("0x"):
        return int(value, 16)
    return value


class EmbeddedChain:
    """A py-evm chain answering JSON-RPC request objects; thread-safe (one lock)."""

    def __init__(self, accounts: int = 10, gas_limit: int = DEFAULT_GAS_LIMIT):
        from eth.vm.forks import CancunVM
        from eth_tester import EthereumTester, PyEVMBackend

        # Cancun, the evmVersion the venue's contracts are compiled for and anvil is started with.
        backend = PyEVMBackend.from_mnemonic(
            DEV_MNEMONIC,
            num_accounts=accounts,
            hd_path=DEV_HD_PATH,
            genesis_parameters=PyEVMBackend.generate_genesis_params({"gas_limit": gas_limit}),
            vm_configuration=((0, CancunVM),),
        )
        self.tester = EthereumTester(backend)
        self.chain_id = backend.chain.chain_id
        self._lock = threading.Lock()
        self._methods = {
            "web3_clientVersion": lambda: CLIENT_VERSION,
            "net_version": lambda: str(self.chain_id),
            "net_listening": lambda: True,
            "eth_chainId": lambda: hex(self.chain_id),
            "eth_syncing": lambda: False,
            "eth_accounts": lambda: list(self.tester.get_accounts()),
            "eth_blockNumber": self._block_number,
            "eth_gasPrice": self._gas_price,
            "eth_maxPriorityFeePerGas": lambda: hex(10**9),
            "eth_getBalance": lambda a, b="latest": hex(self.tester.get_balance(a, _block_id(b))),
            "eth_getTransactionCount": lambda a, b="latest": hex(self.tester.get_nonce(a, _block_id(b))),
            "eth_getCode": lambda a, b="latest": self.tester.get_code(a, _block_id(b)),
            "eth_getStorageAt": lambda a, s, b="latest": self.tester.get_storage_at(a, _quantity(s), _block_id(b)),
            "eth_call": self._call,
            "eth_estimateGas": self._estimate_gas,
            "eth_sendRawTransaction": self._send_raw_transaction,
            "eth_getTransactionReceipt": self._receipt,
            "eth_getTransactionByHash": self._transaction,
            "eth_getBlockByNumber": self._block_by_number,
            "eth_getBlockByHash": self._block_by_hash,
            "eth_getLogs": self._logs,
            "evm_mine": self._mine,
            "evm_increaseTime": self._increase_time,
            "evm_snapshot": lambda: hex(self.tester.take_snapshot()),
            "evm_revert": self._evm_revert,
        }

    # ----- dispatch

    def handle(self, request: Any) -> Any:
        """Answers one JSON-RPC request object, or a batch (list) of them."""
        if isinstance(request, list):
            return [self._handle_one(r) for r in request]
        return self._handle_one(request)

    def _handle_one(self, request: dict[str, Any]) -> dict[str, Any]:
        rid = request.get("id")
        method = request.get("method")
        params = request.get("params") or []
        fn = self._methods.get(method)
        try:
            if fn is None:
                raise RPCError(-32601, f"method not found: {method}")
            with self._lock:
                result = fn(*params)
            return {"jsonrpc": "2.0", "id": rid, "result": result}
        except RPCError as e:
            return {"jsonrpc": "2.0", "id": rid, "error": e.as_json()}
        except TypeError as e:
            return {"jsonrpc": "2.0", "id": rid, "error": {"code": -32602, "message": f"invalid params: {e}"}}
        except Exception as e:  # noqa: BLE001 - the node answers every error; it never dies on one request
            return {
                "jsonrpc": "2.0",
                "id": rid,
                "error": {"code": -32000, "message": f"{type(e).__name__}: {e}"},
            }

    # ----- methods

    def _latest(self) -> dict[str, Any]:
        return self.tester.get_block_by_number("latest")

    def _block_number(self) -> str:
        return hex(self._latest()["number"])

    def _gas_price(self) -> str:
        return hex(self._latest()["base_fee_per_gas"] + 10**9)

    def _call_tx(self, tx: dict[str, Any]) -> dict[str, Any]:
        # eth-tester charges calls like transactions: a call without "from" runs as a funded account
        out: dict[str, Any] = {"from": tx.get("from") or self.tester.get_accounts()[0]}
        if tx.get("to"):
            out["to"] = tx["to"]
        data = tx.get("input") or tx.get("data")
        if data:
            out["data"] = data
        if "gas" in tx:
            out["gas"] = _quantity(tx["gas"])
        out["value"] = _quantity(tx.get("value"))
        return out

    @staticmethod
    def _revert_error(exc: BaseException) -> RPCError:
        err = normalise(exc)
        if isinstance(err, RevertError):
            data = err.data
            if data is None:  # eth-tester decoded an Error(string) for us: re-encode it
                data = ERROR_STRING_SELECTOR + abi_encode(["string"], [err.reason])
            return RPCError(3, f"execution reverted: {err.reason}", "0x" + data.hex())
        return RPCError(-32000, str(err))

    def _call(self, tx: dict[str, Any], block: Any = "latest") -> str:
        from eth_tester.exceptions import TransactionFailed

        try:
            return self.tester.call(self._call_tx(tx), _block_id(block))
        except TransactionFailed as e:
            raise self._revert_error(e) from None

    def _estimate_gas(self, tx: dict[str, Any], block: Any = "latest") -> str:
        from eth_tester.exceptions import TransactionFailed

        call_tx = self._call_tx(tx)
        call_tx.pop("gas", None)
        try:
            return hex(self.tester.estimate_gas(call_tx, _block_id(block)))
        except TransactionFailed as e:
            raise self._revert_error(e) from None

    def _send_raw_transaction(self, raw: str) -> str:
        from eth_tester.exceptions import TransactionFailed

        try:
            return self.tester.send_raw_transaction(raw)
        except TransactionFailed as e:  # revert in the tx: real nodes mine it (status 0) instead
            raise self._revert_error(e) from None
        except Exception as e:  # noqa: BLE001 - nonce, balance, fee validation: the node refuses the tx
            raise RPCError(-32000, str(e)) from None

    def _receipt(self, tx_hash: str) -> dict[str, Any] | None:
        from eth_tester.exceptions import TransactionNotFound

        try:
            return _receipt_to_rpc(self.tester.get_transaction_receipt(tx_hash))
        except TransactionNotFound:
            return None

    def _transaction(self, tx_hash: str) -> dict[str, Any] | None:
        from eth_tester.exceptions import TransactionNotFound

        try:
            return _tx_to_rpc(self.tester.get_transaction_by_hash(tx_hash))
        except TransactionNotFound:
            return None

    def _block(self, block: dict[str, Any], full: bool) -> dict[str, Any]:
        out = _to_rpc({k: v for k, v in block.items() if k != "transactions"})
        txs = block["transactions"]
        out["transactions"] = [_tx_to_rpc(t) for t in txs] if full else list(txs)
        return out

    def _block_by_number(self, number: Any, full: bool = False) -> dict[str, Any] | None:
        from eth_tester.exceptions import BlockNotFound

        try:
            return self._block(self.tester.get_block_by_number(_block_id(number), full), full)
        except BlockNotFound:
            return None

    def _block_by_hash(self, block_hash: str, full: bool = False) -> dict[str, Any] | None:
        from eth_tester.exceptions import BlockNotFound

        try:
            return self._block(self.tester.get_block_by_hash(block_hash, full), full)
        except BlockNotFound:
            return None

    def _logs(self, query: dict[str, Any]) -> list[dict[str, Any]]:
        logs = self.tester.get_logs(
            from_block=_block_id(query.get("fromBlock", "latest")),
            to_block=_block_id(query.get("toBlock", "latest")),
            address=query.get("address"),
            topics=query.get("topics"),
        )
        return [_log_to_rpc(log) for log in logs]

    def _mine(self, *_ignored: Any) -> str:
        self.tester.mine_blocks(1)
        return "0x0"

    def _increase_time(self, seconds: Any) -> str:
        seconds = _quantity(seconds)
        # eth-tester mines the travel block one second before the target it is given
        self.tester.time_travel(self._latest()["timestamp"] + seconds + 1)
        return hex(seconds)

    def _evm_revert(self, snapshot_id: Any) -> bool:
        self.tester.revert_to_snapshot(_quantity(snapshot_id))
        return True


def make_server(chain: EmbeddedChain, host: str = "127.0.0.1", port: int = 0) -> ThreadingHTTPServer:
    """An HTTP/1.1 JSON-RPC server (keep-alive, one thread per connection) over ``chain``."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # headers and body go out in separate writes: without TCP_NODELAY, Nagle's algorithm and the
        # client's delayed ACK add ~40 ms to every request on a keep-alive connection
        disable_nagle_algorithm = True

        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            length = int(self.headers.get("Content-Length") or 0)
            try:
                request = json.loads(self.rfile.read(length))
                body = json.dumps(chain.handle(request)).encode()
            except json.JSONDecodeError:
                body = json.dumps(
                    {"jsonrpc": "2.0", "id": None, "error": {"code": -32700, "message": "parse error"}}
                ).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet
            pass

    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    return server


def main(argv: list[str] | None = None) -> int:
    """Runs the embedded node until interrupted."""
    parser = argparse.ArgumentParser(prog="python -m venue.chain.embedded_node", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8545, help="0 picks a free port")
    parser.add_argument("--accounts", type=int, default=10)
    parser.add_argument("--gas-limit", type=int, default=DEFAULT_GAS_LIMIT)
    args = parser.parse_args(argv)
    chain = EmbeddedChain(accounts=args.accounts, gas_limit=args.gas_limit)
    server = make_server(chain, args.host, args.port)
    host, port = server.server_address[:2]
    print(f"listening on http://{host}:{port}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
