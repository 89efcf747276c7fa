"""The committed contract artifacts are exactly what the pinned compiler makes of the sources."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from venue.chain import artifacts

pytestmark = pytest.mark.chain

CHAIN_DIR = Path(artifacts.__file__).resolve().parent
REPO = CHAIN_DIR.parents[2]


def test_committed_artifacts_are_pinned():
    package = json.loads((REPO / "package.json").read_text())
    solc_pin = package["dependencies"]["solc"]
    assert solc_pin[0].isdigit(), "npm versions are pinned exactly"
    for name in artifacts.OWN_ARTIFACTS:
        raw = json.loads((artifacts.ARTIFACTS_DIR / f"{name}.json").read_text())
        assert raw["compiler"]["version"].startswith(solc_pin + "+")
        assert raw["compiler"]["settings"]["evmVersion"] == "cancun"
        assert raw["compiler"]["settings"]["optimizer"]["enabled"] is True
        assert raw["bytecode"].startswith("0x60") and raw["abi"]


def test_recompiling_gives_the_committed_bytecode(tmp_path):
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    if artifacts.find_node_modules() is None or not (artifacts.find_node_modules() / "solc").is_dir():
        pytest.skip("node_modules/solc missing (run `npm ci`)")
    out = subprocess.run(
        [node, str(CHAIN_DIR / "compile.mjs"), "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr
    fresh = sorted(p.name for p in tmp_path.glob("*.json"))
    assert fresh == sorted(f"{n}.json" for n in artifacts.OWN_ARTIFACTS)
    for name in fresh:
        committed = json.loads((artifacts.ARTIFACTS_DIR / name).read_text())
        rebuilt = json.loads((tmp_path / name).read_text())
        assert rebuilt["bytecode"] == committed["bytecode"], f"{name}: stale, run `npm run compile`"
        assert rebuilt["deployedBytecode"] == committed["deployedBytecode"]
        assert rebuilt["abi"] == committed["abi"]
        assert (tmp_path / name).read_text() == (artifacts.ARTIFACTS_DIR / name).read_text()
