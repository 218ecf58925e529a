"""Broadcasts (pengumuman): what an official wrote, for whom, and when it went out.

Delivery itself lives in the outbox (group `broadcast:<id>`); a broadcast's progress is the outbox's
counts for that group, so there is one truth about what was sent.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from storage.audience import Audience
from storage.clock import from_db, to_db
from storage.db import Database, Row


@dataclass(frozen=True)
class Broadcast:
    id: int
    created_by: int | None
    text_id: str
    text_en: str | None
    photo_path: str | None
    audience: Audience
    state: str                      # scheduled | sending | cancelled
    scheduled_at: datetime | None
    started_at: datetime | None
    cancelled_at: datetime | None
    recipients: int
    created_at: datetime

    @property
    def group_id(self) -> str:
        return f"broadcast:{self.id}"

    @classmethod
    def from_row(cls, row: Row) -> Broadcast:
        created_at = from_db(row["created_at"])
        assert created_at is not None
        return cls(
            id=row["id"], created_by=row["created_by"], text_id=row["text_id"], text_en=row["text_en"],
            photo_path=row["photo_path"], audience=Audience.from_json(row["audience"]), state=row["state"],
            scheduled_at=from_db(row["scheduled_at"]), started_at=from_db(row["started_at"]),
            cancelled_at=from_db(row["cancelled_at"]), recipients=row["recipients"], created_at=created_at,
        )


class Broadcasts:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def create(self, created_by: int | None, text_id: str, text_en: str | None, photo_path: str | None,
                     audience: Audience, now: datetime, scheduled_at: datetime | None = None) -> Broadcast:
        row = await self.db.write_returning(
            """INSERT INTO broadcasts (created_by, text_id, text_en, photo_path, audience, scheduled_at, created_at)
               VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING *""",
            (created_by, text_id, text_en, photo_path, audience.to_json(),
             to_db(scheduled_at) if scheduled_at else None, to_db(now)),
        )
        assert row is not None
        return Broadcast.from_row(row)

    async def get(self, broadcast_id: int) -> Broadcast | None:
        row = await self.db.fetchone("SELECT * FROM broadcasts WHERE id = ?", (broadcast_id,))
        return Broadcast.from_row(row) if row else None

    async def recent(self, limit: int = 10) -> list[Broadcast]:
        rows = await self.db.fetchall("SELECT * FROM broadcasts ORDER BY id DESC LIMIT ?", (limit,))
        return [Broadcast.from_row(row) for row in rows]

    async def due(self, now: datetime) -> list[Broadcast]:
        """Scheduled broadcasts whose time has come (the scheduler starts them)."""
        rows = await self.db.fetchall(
            "SELECT * FROM broadcasts WHERE state = 'scheduled' AND scheduled_at <= ? ORDER BY scheduled_at, id",
            (to_db(now),),
        )
        return [Broadcast.from_row(row) for row in rows]

    async def start(self, broadcast_id: int, now: datetime) -> bool:
        """Move a scheduled broadcast to sending; False if someone else started or cancelled it first."""
        cursor = await self.db.execute(
            "UPDATE broadcasts SET state = 'sending', started_at = ? WHERE id = ? AND state = 'scheduled'",
            (to_db(now), broadcast_id),
        )
        return cursor.rowcount == 1

    async def set_recipients(self, broadcast_id: int, recipients: int) -> None:
        await self.db.execute("UPDATE broadcasts SET recipients = ? WHERE id = ?", (recipients, broadcast_id))

    async def cancel(self, broadcast_id: int, now: datetime) -> bool:
        cursor = await self.db.execute(
            "UPDATE broadcasts SET state = 'cancelled', cancelled_at = ? WHERE id = ? AND state != 'cancelled'",
            (to_db(now), broadcast_id),
        )
        return cursor.rowcount == 1
