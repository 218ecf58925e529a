"""The only place with SQL: one module per aggregate over one aiosqlite connection."""

from storage.db import Database, Store, open_store

__all__ = ["Database", "Store", "open_store"]
