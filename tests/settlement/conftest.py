"""Settlement fixtures: a seeded store on SQLite and PostgreSQL (`store_url` from tests/conftest.py),
and one node per backend (embedded, anvil) with the sandbox world deployed, reverted after each test."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from settle_world import deploy_world, seed, start_node  # noqa: E402

from venue.chain import backend  # noqa: E402
from venue.chain.deploy import Deployment  # noqa: E402
from venue.chain.settlement import DvPClient  # noqa: E402
from venue.store import Store  # noqa: E402


@pytest.fixture
def store(store_url) -> Iterator[Store]:
    """A migrated store holding the sandbox world (accounts, securities, holdings, opening lots)."""
    s = Store(store_url)
    s.migrate()
    seed(s)
    try:
        yield s
    finally:
        s.dispose()


@dataclass
class Chain:
    kind: str
    node: Any  # backend.LocalNode
    w3: Any
    deployment: Deployment
    deployment_path: Path

    @property
    def url(self) -> str:
        return self.node.url

    def client(self) -> DvPClient:
        return DvPClient(self.w3, self.deployment, backend.DEV_OPERATOR_KEY)


@pytest.fixture(scope="session", params=["embedded", "anvil"])
def chain_session(request, tmp_path_factory) -> Iterator[Chain]:
    with start_node(request.param) as node:
        deployment, path = deploy_world(node, tmp_path_factory.mktemp(f"chain-{request.param}"))
        yield Chain(request.param, node, node.web3(), deployment, path)


@pytest.fixture
def chain(chain_session: Chain) -> Iterator[Chain]:
    snap = backend.snapshot(chain_session.w3)
    try:
        yield chain_session
    finally:
        backend.revert_to(chain_session.w3, snap)
