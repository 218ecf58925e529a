"""Backups and integrity checks, with SQLite's online backup API (safe while the bot runs).

The work is blocking file I/O, so each public coroutine runs it on a worker thread.
"""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path


def _copy(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    src = sqlite3.connect(source, timeout=30)
    dst = sqlite3.connect(target, timeout=30)
    try:
        src.backup(dst, pages=1024)
    finally:
        dst.close()
        src.close()


def _integrity(path: Path) -> str:
    conn = sqlite3.connect(path, timeout=30)
    try:
        return str(conn.execute("PRAGMA integrity_check").fetchone()[0])
    finally:
        conn.close()


def _backup(source: Path, target: Path) -> str:
    if target.exists():
        raise FileExistsError(f"{target} exists; choose a new file name")
    if not source.is_file():
        raise FileNotFoundError(f"no database at {source}")
    _copy(source, target)
    return _integrity(target)


def _restore(backup_file: Path, target: Path) -> str:
    if not backup_file.is_file():
        raise FileNotFoundError(f"no backup at {backup_file}")
    verdict = _integrity(backup_file)
    if verdict != "ok":
        raise ValueError(f"the backup failed its integrity check: {verdict}")
    _copy(backup_file, target)
    return _integrity(target)


async def backup(source: Path, target: Path) -> str:
    """A consistent copy of `source` at `target`; returns the copy's integrity_check verdict ('ok')."""
    return await asyncio.to_thread(_backup, source, target)


async def restore(backup_file: Path, target: Path) -> str:
    """Copy a checked backup over the live file (stop the bot first); returns the integrity verdict."""
    return await asyncio.to_thread(_restore, backup_file, target)


async def integrity(path: Path) -> str:
    return await asyncio.to_thread(_integrity, path)
