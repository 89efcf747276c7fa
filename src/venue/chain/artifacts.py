"""Compiled contracts: the venue's own (committed under ``artifacts/``) and the ERC-3643 suite.

The T-REX (ERC-3643) and ONCHAINID contracts are deployed from the compiled artifacts their npm
packages ship (``@tokenysolutions/t-rex``, ``@onchain-id/solidity``), read from ``node_modules`` at
run time: they are GPL-3.0 and are not copied into this repository. ``node_modules`` is found from
``$VENUE_NODE_MODULES``, else by walking up from the working directory and from this file.
"""

from __future__ import annotations

import functools
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from venue.chain.errors import ChainError, register_error_abis

ARTIFACTS_DIR = Path(__file__).resolve().parent / "artifacts"
CONTRACTS_DIR = Path(__file__).resolve().parent / "contracts"

#: Artifacts shipped by npm packages: name -> path inside node_modules.
NPM_ARTIFACTS = {
    "Token": "@tokenysolutions/t-rex/artifacts/contracts/token/Token.sol/Token.json",
    "IdentityRegistry": "@tokenysolutions/t-rex/artifacts/contracts/registry/implementation/"
    "IdentityRegistry.sol/IdentityRegistry.json",
    "IdentityRegistryStorage": "@tokenysolutions/t-rex/artifacts/contracts/registry/implementation/"
    "IdentityRegistryStorage.sol/IdentityRegistryStorage.json",
    "ClaimTopicsRegistry": "@tokenysolutions/t-rex/artifacts/contracts/registry/implementation/"
    "ClaimTopicsRegistry.sol/ClaimTopicsRegistry.json",
    "TrustedIssuersRegistry": "@tokenysolutions/t-rex/artifacts/contracts/registry/implementation/"
    "TrustedIssuersRegistry.sol/TrustedIssuersRegistry.json",
    "ModularCompliance": "@tokenysolutions/t-rex/artifacts/contracts/compliance/modular/"
    "ModularCompliance.sol/ModularCompliance.json",
    "IModule": "@tokenysolutions/t-rex/artifacts/contracts/compliance/modular/modules/IModule.sol/IModule.json",
    "Identity": "@onchain-id/solidity/artifacts/contracts/Identity.sol/Identity.json",
    "ClaimIssuer": "@onchain-id/solidity/artifacts/contracts/ClaimIssuer.sol/ClaimIssuer.json",
}

#: The venue's own contracts, compiled by ``compile.mjs``.
OWN_ARTIFACTS = ("DvP", "HoldingPeriodModule", "SandboxStablecoin")


class ArtifactNotFound(ChainError):
    """A compiled contract is missing (``npm ci`` not run, or artifacts not compiled)."""


@dataclass(frozen=True, slots=True)
class Artifact:
    """ABI and creation bytecode of one contract."""

    name: str
    abi: list[dict[str, Any]]
    bytecode: str
    deployed_bytecode: str


def find_node_modules() -> Path | None:
    """The ``node_modules`` holding the T-REX package, or None."""
    env = os.environ.get("VENUE_NODE_MODULES")
    if env:
        return Path(env)
    marker = Path("@tokenysolutions") / "t-rex" / "package.json"
    for start in (Path.cwd(), Path(__file__).resolve().parent):
        for directory in (start, *start.parents):
            candidate = directory / "node_modules"
            if (candidate / marker).is_file():
                return candidate
    return None


@functools.cache
def load(name: str) -> Artifact:
    """Loads an artifact by contract name (own or npm) and registers its custom errors."""
    if name in OWN_ARTIFACTS:
        path = ARTIFACTS_DIR / f"{name}.json"
    elif name in NPM_ARTIFACTS:
        node_modules = find_node_modules()
        if node_modules is None:
            raise ArtifactNotFound(f"{name}: node_modules not found; run `npm ci` in the repository root")
        path = node_modules / NPM_ARTIFACTS[name]
    else:
        raise ArtifactNotFound(f"unknown contract {name!r}")
    if not path.is_file():
        raise ArtifactNotFound(f"{name}: {path.name} missing")
    raw = json.loads(path.read_text())
    artifact = Artifact(name, raw["abi"], raw["bytecode"], raw["deployedBytecode"])
    register_error_abis(artifact.abi)
    return artifact


def load_all() -> dict[str, Artifact]:
    """Every artifact the venue deploys or calls."""
    return {name: load(name) for name in (*OWN_ARTIFACTS, *NPM_ARTIFACTS)}
