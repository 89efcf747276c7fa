"""Chaos tests: the venue killed under load, its chain node and its database taken away."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))


def pytest_configure(config) -> None:
    config.addinivalue_line("markers", "chaos: kills processes or takes services away under load (slow-ish)")
