"""The write-ahead log is copied into the database file by a thread of its own, not inside a chat's COMMIT."""

from __future__ import annotations

import asyncio
import os
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from storage.db import Database, open_store

PAGE = 4096


async def _write_pages(db: Database, pages: int) -> None:
    """About `pages` pages of new rows, one small transaction each, as chat turns write them."""
    await db.execute("CREATE TABLE IF NOT EXISTS notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL)")
    for n in range(pages):
        async with db.transaction() as conn:
            await conn.execute("INSERT INTO notes (body) VALUES (?)", (f"{n:06d}" + "x" * 3500,))


async def _until(condition, seconds: float = 5.0) -> bool:  # type: ignore[no-untyped-def]
    for _ in range(int(seconds / 0.02)):
        if condition():
            return True
        await asyncio.sleep(0.02)
    return condition()


async def test_commits_are_copied_into_the_database_file_before_the_log_reaches_its_mark(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    db = await Database.open(path)
    size_before = os.path.getsize(path)
    await _write_pages(db, 300)  # without the thread the file would not grow before 1,000 pages, SQLite's mark
    assert await _until(lambda: os.path.getsize(path) >= size_before + 250 * PAGE)
    assert db.checkpointer is not None and db.checkpointer.checkpoints > 0
    await db.close()
    reopened = await open_store(path)
    assert await reopened.db.fetchval("SELECT COUNT(*) FROM notes") == 300, "every committed row is there"
    await reopened.close()


async def test_the_log_stays_bounded_under_writes_without_a_pause_and_the_thread_stops_with_the_database(
        tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    db = await Database.open(path)
    assert await db.fetchval("PRAGMA wal_autocheckpoint") == 0, "no checkpoint inside a chat's COMMIT"
    assert db.checkpointer is not None
    db.checkpointer.restart_pages, db.checkpointer.pause_seconds = 300, 0.01
    await _write_pages(db, 6000)  # never yields to the loop: commits follow each other without a gap
    wal_pages = os.path.getsize(f"{path}-wal") // (PAGE + 24)
    assert wal_pages < 6000, f"the log started over, it did not take a page for every row: {wal_pages}"
    assert await db.fetchval("SELECT COUNT(*) FROM notes") == 6000
    checkpointer = db.checkpointer
    assert checkpointer is not None and checkpointer.running
    await db.close()
    assert not checkpointer.running


async def test_an_in_memory_database_has_no_checkpointer() -> None:
    db = await Database.open(":memory:")
    assert db.checkpointer is None
    await db.close()


async def test_a_failing_checkpoint_after_a_commit_leaves_the_commit_standing(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    db = await Database.open(tmp_path / "db.sqlite3")
    await db.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL)")
    real = db.conn.execute_fetchall

    async def refusing(sql: str, parameters: Any = ()) -> Any:
        if sql.startswith("PRAGMA wal_checkpoint"):
            raise sqlite3.OperationalError("disk I/O error")
        return await real(sql, parameters)

    monkeypatch.setattr(db.conn, "execute_fetchall", refusing)
    assert db.checkpointer is not None
    db.checkpointer.restart_pages = 0  # the thread's own passes keep saying "behind" too
    db.checkpointer.behind = True
    async with db.transaction() as conn:
        await conn.execute("INSERT INTO notes (body) VALUES ('kept')")
    assert await db.fetchval("SELECT body FROM notes") == "kept"
    assert db.checkpointer.behind, "the next commit tries again"
    assert "checkpoint after commit failed" in caplog.text
    await db.close()
