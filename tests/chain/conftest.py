"""Chain fixtures: one node and one venue deployment per backend per session, a snapshot per test.

``chain_backend`` is parametrised over the embedded node (eth-tester in a child process) and anvil
from node_modules; the anvil cases skip, saying why, when ``npm ci`` has not installed it. Each test
runs between ``evm_snapshot`` and ``evm_revert``, so tests share the (slow) deployment but not state.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from venue.chain import backend
from venue.chain.deploy import Deployment, deploy_venue_chain
from venue.chain.settlement import DvPClient

sys.path.insert(0, str(Path(__file__).resolve().parent))

from chain_world import DAY, HOLDING_PERIOD, INITIAL_CASH, INITIAL_TOKENS, INVESTORS, OPERATOR_KEY, SECURITIES  # noqa: F401


@dataclass
class Chain:
    """A running node with the venue deployed on it."""

    kind: str
    w3: Any  # web3.Web3: only venue.chain imports web3
    deployment: Deployment
    operator_key: str = OPERATOR_KEY

    def client(self, **kwargs) -> DvPClient:
        """A fresh DvP client (fresh nonce cache: tests revert the chain under it)."""
        return DvPClient(self.w3, self.deployment, self.operator_key, **kwargs)


def _start(kind: str):
    if kind == "anvil":
        if backend.find_anvil() is None:
            pytest.skip("anvil not installed: node_modules/@foundry-rs/anvil missing (run `npm ci`)")
        return backend.anvil_node()
    return backend.embedded_node()


@pytest.fixture(scope="session", params=["embedded", "anvil"])
def chain_session(request) -> Iterator[Chain]:
    with _start(request.param) as node:
        w3 = node.web3()
        deployment = deploy_venue_chain(
            w3,
            OPERATOR_KEY,
            investors=INVESTORS,
            securities=SECURITIES,
            initial_tokens=INITIAL_TOKENS,
            initial_cash=INITIAL_CASH,
        )
        yield Chain(request.param, w3, deployment)


@pytest.fixture
def chain(chain_session: Chain) -> Iterator[Chain]:
    snap = backend.snapshot(chain_session.w3)
    try:
        yield chain_session
    finally:
        backend.revert_to(chain_session.w3, snap)
