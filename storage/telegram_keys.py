"""Short keys for long Telegram button payloads (callback_data holds at most 64 bytes)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from storage.clock import to_db
from storage.db import Database


class TelegramCallbackKeys:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def remember(self, pairs: Iterable[tuple[str, str]], now: datetime) -> None:
        """Store (key, payload) pairs; a key seen again only has its last-used time refreshed."""
        await self.db.executemany(
            """INSERT INTO telegram_callback_keys (key, payload, last_used_at) VALUES (?, ?, ?)
               ON CONFLICT (key) DO UPDATE SET last_used_at = excluded.last_used_at""",
            [(key, payload, to_db(now)) for key, payload in pairs],
        )

    async def payload(self, key: str) -> str | None:
        return await self.db.fetchval("SELECT payload FROM telegram_callback_keys WHERE key = ?", (key,))

    async def purge(self, unused_since: datetime) -> int:
        """Forget keys no message has offered since `unused_since`; pressing such an old button is outdated."""
        cursor = await self.db.execute(
            "DELETE FROM telegram_callback_keys WHERE last_used_at < ?", (to_db(unused_since),)
        )
        return cursor.rowcount
