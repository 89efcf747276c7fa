"""The venue's store: the only package that writes SQL (SQLAlchemy 2; SQLite WAL or PostgreSQL)."""

from venue.store.repository import JournalBatch, Store, StoreError

__all__ = ["JournalBatch", "Store", "StoreError"]
