"""Fixtures of the records tests: a migrated store on SQLite and PostgreSQL, with or without the
constructed history of records_history.py."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from venue.store import Store  # noqa: E402


@pytest.fixture
def store(store_url) -> Iterator[Store]:
    """An empty migrated store."""
    s = Store(store_url)
    s.migrate()
    try:
        yield s
    finally:
        s.dispose()


@pytest.fixture
def history(store) -> Store:
    """The store holding the constructed history of records_history.py."""
    import records_history as h

    h.write(store)
    return store
