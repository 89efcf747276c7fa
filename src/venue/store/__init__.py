"""The venue's store: the only package that writes SQL (SQLAlchemy 2; SQLite WAL or PostgreSQL)."""

from venue.store.repository import Store, StoreError

__all__ = ["Store", "StoreError"]
