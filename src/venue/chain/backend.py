"""Nodes and the JSON-RPC wire: connect to any node by URL, start a local one, call it raw.

Three ways to get a chain, all reached by URL through the same code:

* any JSON-RPC node: :func:`connect(url) <connect>`;
* the embedded node (eth-tester/py-evm in a child process): :func:`embedded_node`;
* anvil from ``node_modules`` (``npm ci`` installs it): :func:`anvil_node`.

:func:`rpc` is the raw call used on the hot path (web3's result formatting is skipped, reverts and
connection failures are normalised by :mod:`venue.chain.errors`, connection failures are retried
with exponential backoff).
"""

from __future__ import annotations

import contextlib
import os
import platform
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from web3 import HTTPProvider, Web3

from venue.chain.artifacts import find_node_modules
from venue.chain.errors import (
    ChainError,
    NodeUnavailable,
    normalise,
    revert_from_rpc_error,
)

DEFAULT_RETRIES = 5
DEFAULT_BACKOFF = 0.1  # seconds; doubles on each retry
SANDBOX_GAS_LIMIT = 60_000_000  # block gas limit of the local nodes this module starts

#: Private key of the first account of the development mnemonic that anvil and the embedded node
#: prefund. A well-known test key: never use it on a real network.
DEV_OPERATOR_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"


def connect(url: str, timeout: float = 60.0) -> Web3:
    """A Web3 for the JSON-RPC node at ``url`` (HTTP). Does not check that it answers."""
    return Web3(HTTPProvider(url, request_kwargs={"timeout": timeout}))


def rpc(
    w3: Web3,
    method: str,
    params: Sequence[Any] = (),
    *,
    retries: int = DEFAULT_RETRIES,
    backoff: float = DEFAULT_BACKOFF,
) -> Any:
    """Raw JSON-RPC call returning the ``result`` as the node sent it (hex strings).

    Connection failures are retried ``retries`` times with exponential backoff, then raise
    :class:`NodeUnavailable`; a JSON-RPC error raises :class:`RevertError` or :class:`NodeError`.
    """
    delay = backoff
    for attempt in range(retries + 1):
        try:
            response = w3.provider.make_request(method, list(params))  # type: ignore[arg-type]
            break
        except Exception as exc:
            error = normalise(exc)
            if not isinstance(error, NodeUnavailable) or attempt == retries:
                raise error from exc
            time.sleep(delay)
            delay *= 2
    if "error" in response:
        raise revert_from_rpc_error(response["error"])
    return response.get("result")


def rpc_batch(w3: Web3, calls: Sequence[tuple[str, Sequence[Any]]]) -> list[Any]:
    """One HTTP round trip for many calls; each item is a result or the :class:`ChainError` it raised."""
    if not calls:
        return []
    try:
        responses = w3.provider.make_batch_request([(m, list(p)) for m, p in calls])  # type: ignore[attr-defined]
    except Exception as exc:
        raise normalise(exc) from exc
    if isinstance(responses, dict):  # the node refused the whole batch
        raise revert_from_rpc_error(responses.get("error") or {"message": str(responses)})
    out: list[Any] = []
    for response in responses:
        out.append(revert_from_rpc_error(response["error"]) if "error" in response else response.get("result"))
    return out


def wait_until_ready(w3: Web3, timeout: float = 30.0) -> int:
    """Polls ``eth_chainId`` until the node answers; returns the chain id."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return int(rpc(w3, "eth_chainId", retries=0), 16)
        except ChainError:
            if time.monotonic() > deadline:
                raise NodeUnavailable(f"node at {w3.provider.endpoint_uri} did not answer in {timeout}s") from None  # type: ignore[attr-defined]
            time.sleep(0.05)


# ----- test-chain controls (anvil and the embedded node answer the same methods)


def chain_time(w3: Web3) -> int:
    """Timestamp of the latest block."""
    return int(rpc(w3, "eth_getBlockByNumber", ["latest", False])["timestamp"], 16)


def increase_time(w3: Web3, seconds: int) -> int:
    """Moves a test chain's clock forward and mines a block; returns the new latest timestamp."""
    rpc(w3, "evm_increaseTime", [seconds])
    rpc(w3, "evm_mine", [])
    return chain_time(w3)


def snapshot(w3: Web3) -> str:
    """Snapshot id of a test chain's current state (``evm_snapshot``)."""
    return rpc(w3, "evm_snapshot", [])


def revert_to(w3: Web3, snapshot_id: str) -> None:
    """Restores a test chain to a snapshot (``evm_revert``)."""
    if not rpc(w3, "evm_revert", [snapshot_id]):
        raise ChainError(f"evm_revert({snapshot_id}) refused")


# ----- local nodes


@dataclass
class LocalNode:
    """A node process this module started; ``url`` is its JSON-RPC endpoint."""

    kind: str
    url: str
    process: subprocess.Popen[bytes]

    def web3(self, timeout: float = 60.0) -> Web3:
        """A connected Web3 for this node."""
        return connect(self.url, timeout)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


SETTLEMENT_NICE = 10  # where idle scheduling is not available


def settlement_child() -> None:
    """Popen preexec_fn of the settlement worker and the embedded node: dies with the venue, and runs
    only on CPU the venue's FIX and engine processes leave (Linux SCHED_IDLE; elsewhere nice 10).

    Settlement is behind a durable queue, so matching never waits for the chain: under load the
    cores go to the order flow and the chain catches up when it eases. At nice 10 the embedded
    node (a whole EVM in Python) still took a fifth of both cores from a saturated venue
    (bench/README.md); at idle priority it takes what is left. A venue saturated for long settles
    late, not wrongly: every trade waits in the durable queue until the worker gets to it."""
    die_with_parent()
    try:
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
    except (AttributeError, OSError):
        os.nice(SETTLEMENT_NICE)


def priority_ceiling() -> tuple[Callable[[], None], Callable[[], None]] | None:
    """For the settlement worker, which runs at idle priority (`settlement_child`): the calls that
    raise it to normal priority and lower it to idle again, to wrap each of its database
    transactions (`Store.around_transactions`). There it may hold SQLite's single write lock, which
    every journal commit (every ack) needs, and an idle-priority holder is preempted by everything
    else on the cores while it keeps the lock (priority inversion: acks waited up to ~60 ms behind
    it, bench/README.md). None when the process is not at idle priority. Where it may not leave
    idle scheduling and come back (an unprivileged process with RLIMIT_NICE 0), it is put at normal
    priority for good, the lesser harm, and None is returned."""
    if sys.platform != "linux" or os.sched_getscheduler(0) != os.SCHED_IDLE:
        return None
    normal, idle = (os.SCHED_OTHER, os.sched_param(0)), (os.SCHED_IDLE, os.sched_param(0))
    try:
        os.sched_setscheduler(0, *normal)
        os.sched_setscheduler(0, *idle)
    except OSError:
        with contextlib.suppress(OSError):
            os.sched_setscheduler(0, *normal)
        return None
    return (lambda: os.sched_setscheduler(0, *normal)), (lambda: os.sched_setscheduler(0, *idle))


def die_with_parent() -> None:
    """Popen preexec_fn (Linux): the child gets SIGTERM when the process that started it dies, even by
    SIGKILL, so a crashed venue leaves no node or worker behind. Elsewhere it does nothing."""
    if sys.platform != "linux":
        return
    import ctypes
    import signal

    pr_set_pdeathsig = 1
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM, 0, 0, 0)


@contextlib.contextmanager
def embedded_node(
    port: int = 0, gas_limit: int = SANDBOX_GAS_LIMIT, startup_timeout: float = 60.0
) -> Iterator[LocalNode]:
    """Starts ``python -m venue.chain.embedded_node`` and yields it once it answers; stops it after."""
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "venue.chain.embedded_node",
            "--port",
            str(port),
            "--gas-limit",
            str(gas_limit),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        preexec_fn=settlement_child,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline().decode().strip()
        if not line.startswith("listening on "):
            raise NodeUnavailable(f"embedded node failed to start (exit {process.poll()}): {line!r}")
        node = LocalNode("embedded", line.removeprefix("listening on "), process)
        wait_until_ready(node.web3(), startup_timeout)
        yield node
    finally:
        _stop(process)


def find_anvil() -> Path | None:
    """The anvil binary that ``npm ci`` put under node_modules (``@foundry-rs/anvil``), or None."""
    node_modules = find_node_modules()
    if node_modules is None:
        return None
    arch = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}.get(platform.machine().lower())
    system = {"linux": "linux", "darwin": "darwin"}.get(sys.platform)
    candidates = []
    if arch and system:
        candidates.append(node_modules / "@foundry-rs" / f"anvil-{system}-{arch}" / "bin" / "anvil")
    candidates.append(node_modules / ".bin" / "anvil")
    for candidate in candidates:
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    return None


@contextlib.contextmanager
def anvil_node(
    port: int | None = None,
    gas_limit: int = SANDBOX_GAS_LIMIT,
    extra_args: Sequence[str] = (),
    startup_timeout: float = 30.0,
) -> Iterator[LocalNode]:
    """Starts node_modules' anvil on a free port (auto-mining, cancun) and yields it once it answers."""
    binary = find_anvil()
    if binary is None:
        raise FileNotFoundError("anvil not found under node_modules/@foundry-rs; run `npm ci`")
    port = port or free_port()
    process = subprocess.Popen(
        [
            str(binary),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--hardfork",
            "cancun",
            "--gas-limit",
            str(gas_limit),
            "--silent",
            *extra_args,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        node = LocalNode("anvil", f"http://127.0.0.1:{port}", process)
        try:
            wait_until_ready(node.web3(), startup_timeout)
        except NodeUnavailable:
            raise NodeUnavailable(f"anvil did not start (exit {process.poll()})") from None
        yield node
    finally:
        _stop(process)
