"""Processed inbound message ids, so a platform's redelivery is handled once."""

from __future__ import annotations

from datetime import datetime

from storage.clock import to_db
from storage.db import Database


class InboundLog:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def claim(self, channel: str, message_id: str, now: datetime) -> bool:
        """True the first time a message id is seen; call inside the transaction that handles it."""
        cursor = await self.db.execute(
            "INSERT OR IGNORE INTO inbound_messages (channel, message_id, received_at) VALUES (?, ?, ?)",
            (channel, message_id, to_db(now)),
        )
        return cursor.rowcount == 1

    async def seen(self, channel: str, message_id: str) -> bool:
        return await self.db.fetchone(
            "SELECT 1 FROM inbound_messages WHERE channel = ? AND message_id = ?", (channel, message_id)
        ) is not None

    async def purge(self, older_than: datetime) -> int:
        cursor = await self.db.execute("DELETE FROM inbound_messages WHERE received_at < ?", (to_db(older_than),))
        return cursor.rowcount
