"""The wire: the embedded node's JSON-RPC answers, revert normalisation, nonces and retries."""

from __future__ import annotations

import time

import pytest
from eth_abi import encode as abi_encode

from venue.chain import backend
from venue.chain.contracts import calldata, contract, read
from venue.chain.embedded_node import EmbeddedChain
from venue.chain.errors import (
    ERROR_STRING_SELECTOR,
    PANIC_SELECTOR,
    NodeError,
    NodeUnavailable,
    RevertError,
    decode_revert,
    normalise,
    register_error_abis,
)
from venue.chain.transactions import TxSender, create_address

pytestmark = pytest.mark.chain


# ----- revert decoding (no node)


def test_decode_error_string_panic_and_custom_errors():
    assert decode_revert(ERROR_STRING_SELECTOR + abi_encode(["string"], ["wallet is frozen"])) == "wallet is frozen"
    assert (
        decode_revert(PANIC_SELECTOR + abi_encode(["uint256"], [0x11]))
        == "panic 0x11: arithmetic overflow or underflow"
    )
    register_error_abis(
        [
            {
                "type": "error",
                "name": "Nope",
                "inputs": [{"name": "who", "type": "address"}, {"name": "n", "type": "uint256"}],
            }
        ]
    )
    from eth_utils import function_signature_to_4byte_selector

    data = function_signature_to_4byte_selector("Nope(address,uint256)") + abi_encode(
        ["address", "uint256"], ["0x" + "ab" * 20, 7]
    )
    assert decode_revert(data) == "Nope(who=0x" + "ab" * 20 + ", n=7)"
    assert decode_revert(b"") == "reverted without reason"
    assert decode_revert(bytes.fromhex("deadbeef")) == "custom error 0xdeadbeef"


def test_normalise_eth_tester_and_web3_errors():
    from eth_tester.exceptions import TransactionFailed
    from web3.exceptions import ContractLogicError  # the normaliser's input, by design

    assert normalise(TransactionFailed("Insufficient Balance")).reason == "Insufficient Balance"
    raw = ERROR_STRING_SELECTOR + abi_encode(["string"], ["boom"])
    assert normalise(TransactionFailed(str(raw))).reason == "boom"
    err = normalise(ContractLogicError("execution reverted: boom", data="0x" + raw.hex()))
    assert isinstance(err, RevertError) and err.reason == "boom" and err.data == raw
    assert isinstance(normalise(ConnectionRefusedError()), NodeUnavailable)
    assert isinstance(normalise(ValueError("x")), NodeError)


# ----- the embedded node in process (fast: no HTTP)


@pytest.fixture(scope="module")
def embedded():
    return EmbeddedChain(accounts=2)


def call(chain, method, *params):
    return chain.handle({"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)})


def test_embedded_answers_standard_methods(embedded):
    assert call(embedded, "eth_chainId")["result"] == hex(embedded.chain_id)
    assert call(embedded, "eth_getBalance", "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266", "latest")["result"] != "0x0"
    block = call(embedded, "eth_getBlockByNumber", "latest", False)["result"]
    assert block["number"].startswith("0x") and "baseFeePerGas" in block and "miner" in block
    assert call(embedded, "eth_nope")["error"]["code"] == -32601
    batch = embedded.handle([{"jsonrpc": "2.0", "id": i, "method": "eth_blockNumber", "params": []} for i in range(3)])
    assert [r["id"] for r in batch] == [0, 1, 2]


def test_embedded_time_travel_and_snapshots(embedded):
    t0 = int(call(embedded, "eth_getBlockByNumber", "latest", False)["result"]["timestamp"], 16)
    snap = call(embedded, "evm_snapshot")["result"]
    call(embedded, "evm_increaseTime", 3600)
    t1 = int(call(embedded, "eth_getBlockByNumber", "latest", False)["result"]["timestamp"], 16)
    assert t1 >= t0 + 3600
    assert call(embedded, "evm_revert", snap)["result"] is True
    assert int(call(embedded, "eth_getBlockByNumber", "latest", False)["result"]["timestamp"], 16) == t0


# ----- against a node over HTTP (each backend)


def test_reverted_call_is_a_revert_error_with_reason(chain):
    bob = chain.deployment.wallet("BOB").address
    token = contract(chain.w3, "Token", chain.deployment.security("ACME").token)
    with pytest.raises(RevertError, match="AgentRole: caller does not have the Agent role"):
        read(token, "mint", bob, 1, caller=bob)
    cash = contract(chain.w3, "SandboxStablecoin", chain.deployment.cash_token)
    with pytest.raises(RevertError, match=r"^AccessControlUnauthorizedAccount\(account=0x"):
        read(cash, "mint", bob, 1, caller=bob)


def test_status_zero_receipt_is_a_revert_error(chain):
    op = TxSender(chain.w3, chain.operator_key)
    cash = contract(chain.w3, "SandboxStablecoin", chain.deployment.cash_token)
    data = calldata(cash, "transferFrom", chain.deployment.wallet("BOB").address, op.address, 1)
    with pytest.raises(RevertError, match=r"^ERC20InsufficientAllowance\(") as info:
        op.transact(chain.deployment.cash_token, data, 200_000)
    assert info.value.tx_hash


def test_out_of_gas_is_reported(chain):
    op = TxSender(chain.w3, chain.operator_key)
    cash = contract(chain.w3, "SandboxStablecoin", chain.deployment.cash_token)
    data = calldata(cash, "mint", op.address, 1)
    with pytest.raises(RevertError, match="out of gas"):
        op.transact(chain.deployment.cash_token, data, 30_000)


def test_nonce_manager_resyncs_after_another_writer(chain):
    a = TxSender(chain.w3, chain.operator_key)
    b = TxSender(chain.w3, chain.operator_key)
    a.transact(a.address, "0x", 21_000)  # a and b both cached the same next nonce
    b.transact(b.address, "0x", 21_000)
    a.transact(a.address, "0x", 21_000)  # a's cache is stale now: refused, resynchronised, resent
    assert a.nonces.resync() == b.nonces.resync()


def test_pipelined_deploy_addresses_are_predicted(chain):
    op = TxSender(chain.w3, chain.operator_key)
    from venue.chain.contracts import creation_code

    code = creation_code(chain.w3, "SandboxStablecoin", "X", "X", op.address)
    sent = [op.deploy(code, 3_000_000) for _ in range(3)]
    for tx_hash, address in sent:
        assert op.wait(tx_hash).contract_address == address
    nonce = op.nonces.resync()
    assert create_address(op.address, nonce - 1) == sent[-1][1]


def test_connection_refused_is_retried_then_node_unavailable():
    w3 = backend.connect(f"http://127.0.0.1:{backend.free_port()}", timeout=1)
    started = time.monotonic()
    with pytest.raises(NodeUnavailable):
        backend.rpc(w3, "eth_chainId", retries=2, backoff=0.05)
    assert time.monotonic() - started >= 0.15  # 0.05 + 0.1 of backoff


class FlakyProvider:
    """Wraps a provider: the first ``fail`` calls of ``method`` raise ConnectionError, either before
    reaching the node or (``after=True``) after it, as when the node took the request but the
    answer was lost."""

    def __init__(self, w3, method, fail, after=False):
        self.w3, self.method, self.fail, self.after = w3, method, fail, after
        self.inner = w3.provider.make_request
        self.calls = 0

    def __enter__(self):
        def make_request(method, params):
            if method == self.method and self.calls < self.fail:
                self.calls += 1
                if self.after:
                    self.inner(method, params)
                raise ConnectionError("connection reset by peer")
            return self.inner(method, params)

        self.w3.provider.make_request = make_request
        return self

    def __exit__(self, *exc):
        del self.w3.provider.make_request


@pytest.mark.parametrize("after", [False, True], ids=["refused", "answer-lost"])
def test_send_retries_through_connection_errors(chain, after):
    from venue.chain.settlement import SettlementInstruction, SettlementStatus

    client = chain.client()
    client.sender.backoff = 0.01
    bob = client.token_balance("BOB", "ACME")
    with FlakyProvider(chain.w3, "eth_sendRawTransaction", fail=2, after=after) as flaky:
        result = client.settle(SettlementInstruction("R-1", "ACME", "ALICE", "BOB", 3, 300))
    assert flaky.calls == 2
    assert result.status is SettlementStatus.SETTLED
    assert client.token_balance("BOB", "ACME") == bob + 3
    # the nonce sequence is intact: the next trade goes through at once
    assert (
        client.settle(SettlementInstruction("R-2", "ACME", "ALICE", "BOB", 1, 100)).status is SettlementStatus.SETTLED
    )


def test_resubmitting_after_an_outage_settles_nothing_twice(chain):
    """A batch that raised NodeUnavailable is resubmitted whole: what settled is not settled twice."""
    from venue.chain.settlement import SettlementInstruction, SettlementStatus

    client = chain.client()
    client.sender.retries = 1
    client.sender.backoff = 0.01
    trades = [SettlementInstruction(f"O-{i}", "ACME", "ALICE", "BOB", 1, 100) for i in range(3)]
    bob = client.token_balance("BOB", "ACME")
    client.settle_batch(trades[:2], batch_size=1)
    with FlakyProvider(chain.w3, "eth_sendRawTransaction", fail=10), pytest.raises(NodeUnavailable):
        client.settle_batch(trades[2:], batch_size=1)
    again = chain.client().settle_batch(trades, batch_size=10)
    assert [r.status for r in again] == [SettlementStatus.ALREADY_SETTLED] * 2 + [SettlementStatus.SETTLED]
    assert client.token_balance("BOB", "ACME") == bob + 3


def test_web3_object_works_against_the_node(chain):
    w3 = chain.w3
    assert w3.eth.chain_id == chain.deployment.chain_id
    assert w3.eth.get_code(chain.deployment.dvp) != b""


def test_confirmations_wait_for_later_blocks(chain):
    """With confirmations=3 the result comes back only once two more blocks sit on the trade's block."""
    import threading

    from venue.chain.settlement import SettlementInstruction, SettlementStatus

    client = chain.client(confirmations=3)
    stop = threading.Event()
    mined = []

    def miner():
        w3 = backend.connect(chain.w3.provider.endpoint_uri)
        while not stop.wait(0.2):
            backend.rpc(w3, "evm_mine", [])
            mined.append(int(backend.rpc(w3, "eth_blockNumber"), 16))

    thread = threading.Thread(target=miner, daemon=True)
    thread.start()
    try:
        result = client.settle(SettlementInstruction("CONF-1", "ACME", "ALICE", "BOB", 1, 100))
    finally:
        stop.set()
        thread.join()
    assert result.status is SettlementStatus.SETTLED
    assert max(mined) >= result.block_number + 2
