"""The SQLite connection, its write lock and the migration runner.

One aiosqlite connection shares one transaction among every task that uses it, so every write goes
through `Database.transaction()`: an asyncio lock held for the whole BEGIN IMMEDIATE … COMMIT. A task
that is already inside a transaction joins it (a ContextVar remembers), so a flow can call several
storage functions and have them commit together with the conversation state.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import aiosqlite

from storage.checkpoint import WalCheckpointer
from storage.sqlite_inline import InlineConnection

log = logging.getLogger(__name__)

_in_transaction: contextvars.ContextVar[Database | None] = contextvars.ContextVar("in_transaction", default=None)

Row = sqlite3.Row


class Database:
    def __init__(self, conn: aiosqlite.Connection, path: Path, checkpointer: WalCheckpointer | None = None) -> None:
        self.conn = conn
        self.path = path
        self.checkpointer = checkpointer
        self._write_lock = asyncio.Lock()

    @classmethod
    async def open(cls, path: str | Path, executor: str = "inline") -> Database:
        """`executor`: "inline" runs statements on the loop's thread (see storage/sqlite_inline.py for why),
        "thread" uses aiosqlite's worker thread."""
        path = Path(path)
        if str(path) != ":memory:":
            path.parent.mkdir(parents=True, exist_ok=True)
        if executor == "inline":
            conn: Any = InlineConnection(str(path))
        elif executor == "thread":
            conn = await aiosqlite.connect(str(path), isolation_level=None)
        else:
            raise ValueError(f"unknown SQLite executor {executor!r}")
        conn.row_factory = sqlite3.Row
        await conn.execute("PRAGMA journal_mode=WAL")
        await conn.execute("PRAGMA synchronous=NORMAL")
        await conn.execute("PRAGMA busy_timeout=5000")
        await conn.execute("PRAGMA foreign_keys=ON")
        checkpointer = None
        if str(path) != ":memory:":
            await conn.execute("PRAGMA wal_autocheckpoint=0")  # the checkpointer's thread copies the log instead
            checkpointer = WalCheckpointer(path)
            checkpointer.start()
        return cls(conn, path, checkpointer)

    async def close(self) -> None:
        if self.checkpointer is not None:
            self.checkpointer.stop()
        await self.conn.close()

    def transaction(self) -> _Transaction:
        """Serialised write transaction; nested use by the same task joins the outer one."""
        return _Transaction(self)

    @property
    def in_transaction(self) -> bool:
        return _in_transaction.get() is self

    async def execute(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> aiosqlite.Cursor:
        """A single write statement, in its own transaction unless one is open."""
        if _in_transaction.get() is self:
            return await self.conn.execute(sql, params)
        async with self.transaction() as conn:
            return await conn.execute(sql, params)

    async def write_returning(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> Row | None:
        """A write with RETURNING, in one trip, inside the write transaction."""
        async with self.transaction() as conn:
            rows = await conn.execute_fetchall(sql, params)  # type: ignore[arg-type]
        return next(iter(rows), None)

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        async with self.transaction() as conn:
            await conn.executemany(sql, rows)

    async def fetchone(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> Row | None:
        rows = await self.fetchall(sql, params)
        return rows[0] if rows else None

    async def fetchall(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> list[Row]:
        """One trip to the connection's thread (execute, fetch and close together)."""
        return list(await self.conn.execute_fetchall(sql, params))  # type: ignore[arg-type]

    async def fetchval(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> Any:
        row = await self.fetchone(sql, params)
        return None if row is None else row[0]

    async def ping(self) -> bool:
        """Whether the database answers (for /healthz)."""
        try:
            return await self.fetchval("SELECT 1") == 1
        except (sqlite3.Error, ValueError):
            return False

    async def migrate(self) -> list[str]:
        """Apply pending migrations in name order, each atomically with its row in `migrations`."""
        await self.conn.execute(
            "CREATE TABLE IF NOT EXISTS migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)"
        )
        done = {row[0] for row in await self.fetchall("SELECT name FROM migrations")}
        applied = []
        for name, sql in _migration_scripts():
            if name in done:
                continue
            async with self.transaction() as conn:
                for statement in _split_statements(sql):
                    await conn.execute(statement)
                await conn.execute(
                    "INSERT INTO migrations (name, applied_at) VALUES (?, strftime('%Y-%m-%dT%H:%M:%fZ','now'))",
                    (name,),
                )
            log.info("migration applied: %s", name)
            applied.append(name)
        return applied


class _Transaction:
    """`async with db.transaction() as conn`: BEGIN IMMEDIATE under the write lock, COMMIT, or ROLLBACK on error.

    A class rather than an @asynccontextmanager generator: every message opens one, and the generator's
    machinery cost about 7 µs of Python per transaction, the class about 4 (benchmarks/RESULTS.md).
    """

    __slots__ = ("db", "token")

    def __init__(self, db: Database) -> None:
        self.db = db
        self.token: contextvars.Token[Database | None] | None = None

    async def __aenter__(self) -> aiosqlite.Connection:
        db = self.db
        if _in_transaction.get() is db:
            return db.conn  # joins the task's open transaction
        await db._write_lock.acquire()
        self.token = _in_transaction.set(db)
        try:
            await db.conn.execute("BEGIN IMMEDIATE")
        except BaseException:
            self._leave()
            raise
        return db.conn

    async def __aexit__(self, exc_type: type[BaseException] | None, *_exc: object) -> None:
        if self.token is None:
            return
        db = self.db
        try:
            await db.conn.execute("COMMIT" if exc_type is None else "ROLLBACK")
            checkpointer = db.checkpointer
            if exc_type is None and checkpointer is not None:
                if checkpointer.behind:  # writes without a pause: copy the rest now so the log starts over
                    await _checkpoint_after_commit(db, checkpointer)
                checkpointer.committed()
        finally:
            self._leave()

    def _leave(self) -> None:
        assert self.token is not None
        _in_transaction.reset(self.token)
        self.token = None
        self.db._write_lock.release()


async def _checkpoint_after_commit(db: Database, checkpointer: WalCheckpointer) -> None:
    """What was committed stays committed: a checkpoint that fails here is only logged (the next commit retries)."""
    try:
        busy, pages, copied = (await db.conn.execute_fetchall("PRAGMA wal_checkpoint(PASSIVE)"))[0]
    except sqlite3.Error:
        log.exception("checkpoint after commit failed")
        return
    checkpointer.behind = bool(busy) or copied < pages  # busy: the thread is copying; the next commit tries again


def _migration_scripts() -> list[tuple[str, str]]:
    folder = resources.files("storage") / "migrations"
    scripts = [(entry.name.removesuffix(".sql"), entry.read_text("utf-8"))
               for entry in folder.iterdir() if entry.name.endswith(".sql")]
    return sorted(scripts)


def _split_statements(script: str) -> list[str]:
    """Split a migration into statements with sqlite3.complete_statement, so triggers stay whole."""
    statements, current = [], ""
    for line in script.splitlines(keepends=True):
        if line.strip().startswith("--") and not current.strip():
            continue
        current += line
        if sqlite3.complete_statement(current):
            if current.strip():
                statements.append(current.strip())
            current = ""
    if current.strip():
        statements.append(current.strip())
    return statements


@dataclass
class Store:
    """Every aggregate's repository over one database; passed to flows and workers as one typed object."""

    db: Database

    def __post_init__(self) -> None:
        from storage.areas import Areas
        from storage.audience import Audiences
        from storage.audit import AuditLog
        from storage.broadcasts import Broadcasts
        from storage.consultations import Consultations
        from storage.conversations import Conversations
        from storage.deliveries import Deliveries
        from storage.holidays import LocalHolidays
        from storage.inbound import InboundLog
        from storage.outbox import Outbox
        from storage.polls import Polls
        from storage.programmes import Programmes
        from storage.reminders import Reminders
        from storage.reports import Reports
        from storage.telegram_keys import TelegramCallbackKeys
        from storage.users import Users

        self.users = Users(self.db)
        self.conversations = Conversations(self.db)
        self.inbound = InboundLog(self.db)
        self.areas = Areas(self.db)
        self.outbox = Outbox(self.db)
        self.audit = AuditLog(self.db)
        self.consultations = Consultations(self.db)
        self.deliveries = Deliveries(self.db)
        self.holidays = LocalHolidays(self.db)
        self.programmes = Programmes(self.db)
        self.reminders = Reminders(self.db)
        self.reports = Reports(self.db)
        self.telegram_keys = TelegramCallbackKeys(self.db)
        self.audiences = Audiences(self.db)
        self.broadcasts = Broadcasts(self.db)
        self.polls = Polls(self.db)

    def transaction(self):  # type: ignore[no-untyped-def]
        return self.db.transaction()

    def _aggregates(self) -> list[tuple[str, Any]]:
        return [(name, repo) for name, repo in vars(self).items() if name != "db"]

    async def personal_data(self, user_id: int) -> dict[str, Any]:
        """Everything held about one person, per aggregate (each may define `export_for_user`)."""
        data: dict[str, Any] = {}
        for name, repo in self._aggregates():
            export = getattr(repo, "export_for_user", None)
            if export is not None:
                data[name] = await export(user_id)
        return data

    async def forget_user(self, user_id: int) -> None:
        """Delete a person (UU PDP): each aggregate unlinks or deletes its rows (`forget_user`), then the user.

        What must stay for the public record (reports, vote counts) stays without any link to them.
        """
        async with self.transaction():
            for _name, repo in self._aggregates():
                forget = getattr(repo, "forget_user", None)
                if forget is not None and repo is not self.users:
                    await forget(user_id)
            await self.users.forget_user(user_id)

    async def close(self) -> None:
        await self.db.close()


async def open_store(path: str | Path, executor: str = "inline") -> Store:
    db = await Database.open(path, executor)
    await db.migrate()
    store = Store(db)
    await store.areas.seed_default()
    return store
