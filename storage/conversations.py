"""Conversation state: the named step a user is at and the draft they are filling, as JSON."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from storage.clock import from_db, to_db
from storage.db import Database

# one encoder for every save (json.dumps with options builds a new one per call); compact, as nobody reads it
_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


@dataclass
class Conversation:
    state: str | None = None
    data: dict[str, Any] = field(default_factory=dict)
    updated_at: datetime | None = None


class Conversations:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def load(self, user_id: int) -> Conversation:
        row = await self.db.fetchone("SELECT state, data, updated_at FROM conversations WHERE user_id = ?", (user_id,))
        if row is None:
            return Conversation()
        try:
            data = json.loads(row["data"])
        except ValueError:
            data = {}
        return Conversation(row["state"], data if isinstance(data, dict) else {}, from_db(row["updated_at"]))

    async def save(self, user_id: int, conversation: Conversation, now: datetime) -> None:
        await self.db.execute(
            """INSERT INTO conversations (user_id, state, data, updated_at) VALUES (?, ?, ?, ?)
               ON CONFLICT (user_id) DO UPDATE SET state = excluded.state, data = excluded.data,
               updated_at = excluded.updated_at""",
            (user_id, conversation.state, _encode(conversation.data), to_db(now)),
        )

    async def export_for_user(self, user_id: int) -> dict[str, object]:
        conversation = await self.load(user_id)
        return {"state": conversation.state, "draft": conversation.data.get("draft", {})}

    async def offer_options(self, offers: Sequence[tuple[int, list[list[str]]]], now: datetime,
                            idle_states: Sequence[str], stale_before: datetime) -> None:
        """A pushed message with options reached these people: let a typed number choose from it.

        `offers` holds (user_id, [[label, payload], …]). On WhatsApp a poll arrives as a numbered list, so
        "2" must mean its second option. Only people at the menu (`idle_states`) or whose conversation went
        quiet before `stale_before` are changed; someone in the middle of a flow keeps their step.
        """
        marks = ", ".join("?" for _ in idle_states) or "NULL"
        stamp = to_db(now)
        await self.db.executemany(
            f"""INSERT INTO conversations (user_id, state, data, updated_at) VALUES (?, NULL, ?, ?)
                ON CONFLICT (user_id) DO UPDATE SET
                    state = NULL, data = excluded.data, updated_at = excluded.updated_at
                WHERE conversations.state IS NULL OR conversations.state IN ({marks})
                   OR conversations.updated_at < ?""",
            [(user_id, json.dumps({"options": options}, ensure_ascii=False), stamp, *idle_states, to_db(stale_before))
             for user_id, options in offers],
        )

    async def purge_idle(self, older_than: datetime) -> int:
        """Drop drafts nobody touched since `older_than` (retention)."""
        cursor = await self.db.execute(
            "DELETE FROM conversations WHERE updated_at < ? AND state IS NOT NULL", (to_db(older_than),)
        )
        return cursor.rowcount
