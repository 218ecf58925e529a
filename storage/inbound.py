"""Processed inbound message ids, so a platform's redelivery is handled once."""

from __future__ import annotations

from collections.abc import Sequence
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

    async def seen_among(self, channel: str, message_ids: Sequence[str]) -> set[str]:
        """Which of these ids (a batch of at most a few hundred) were claimed before."""
        if not message_ids:
            return set()
        rows = await self.db.fetchall(
            f"""SELECT message_id FROM inbound_messages
                WHERE channel = ? AND message_id IN ({", ".join("?" * len(message_ids))})""",
            (channel, *message_ids),
        )
        return {row[0] for row in rows}

    async def claim_all(self, channel: str, message_ids: Sequence[str], now: datetime) -> None:
        """Claim ids known to be new (`seen_among` in the same transaction), with one statement for all."""
        stamp = to_db(now)
        await self.db.executemany(
            "INSERT INTO inbound_messages (channel, message_id, received_at) VALUES (?, ?, ?)",
            [(channel, message_id, stamp) for message_id in message_ids],
        )

    async def seen(self, channel: str, message_id: str) -> bool:
        return await self.db.fetchone(
            "SELECT 1 FROM inbound_messages WHERE channel = ? AND message_id = ?", (channel, message_id)
        ) is not None

    async def purge(self, older_than: datetime) -> int:
        cursor = await self.db.execute("DELETE FROM inbound_messages WHERE received_at < ?", (to_db(older_than),))
        return cursor.rowcount

