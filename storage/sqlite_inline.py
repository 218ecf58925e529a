"""An aiosqlite-compatible connection that runs each statement on the event loop's own thread.

Why: aiosqlite hands every statement to its worker thread and back. On our 2-core machines that trip
costs 60–170 µs, while the statements themselves (indexed lookups, small writes in WAL mode with
synchronous=NORMAL) take 1–20 µs; a chat turn makes 5–10 of them, so the trips, not SQLite, set the
engine's ceiling (benchmarks/RESULTS.md). Running them inline keeps the same `await` API, so every
storage module works with either connection; `Database.open(..., executor="thread")` still gives
plain aiosqlite. Long jobs (exports, large fan-outs) should work in chunks so they never hold the
loop for long.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Generator, Iterable, Sequence
from typing import Any


class InlineCursor:
    """Awaitable and usable as `async with`, like the cursor aiosqlite returns."""

    __slots__ = ("_cursor",)

    def __init__(self, cursor: sqlite3.Cursor) -> None:
        self._cursor = cursor

    def __await__(self) -> Generator[Any, None, InlineCursor]:
        return self
        yield  # pragma: no cover - makes this a generator, so `await cursor` returns the cursor at once

    async def __aenter__(self) -> InlineCursor:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._cursor.close()

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    @property
    def description(self) -> Any:
        return self._cursor.description

    async def fetchone(self) -> Any:
        return self._cursor.fetchone()

    async def fetchall(self) -> list[Any]:
        return self._cursor.fetchall()

    async def fetchmany(self, size: int = 100) -> list[Any]:
        return self._cursor.fetchmany(size)

    async def close(self) -> None:
        self._cursor.close()


class InlineConnection:
    def __init__(self, path: str) -> None:
        self._conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)

    @property
    def row_factory(self) -> Any:
        return self._conn.row_factory

    @row_factory.setter
    def row_factory(self, factory: Any) -> None:
        self._conn.row_factory = factory

    @property
    def in_transaction(self) -> bool:
        return self._conn.in_transaction

    @property
    def total_changes(self) -> int:
        return self._conn.total_changes

    def execute(self, sql: str, parameters: Sequence[Any] | dict[str, Any] = ()) -> InlineCursor:
        return InlineCursor(self._conn.execute(sql, parameters))

    async def execute_fetchall(self, sql: str, parameters: Sequence[Any] | dict[str, Any] = ()) -> list[Any]:
        return self._conn.execute(sql, parameters).fetchall()

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> InlineCursor:
        return InlineCursor(self._conn.executemany(sql, rows))

    async def executescript(self, script: str) -> InlineCursor:
        return InlineCursor(self._conn.executescript(script))

    async def commit(self) -> None:
        self._conn.commit()

    async def rollback(self) -> None:
        self._conn.rollback()

    async def close(self) -> None:
        self._conn.close()
