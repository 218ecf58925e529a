"""The audit log: who tried which official action, when, and whether it was allowed."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from storage.clock import to_db
from storage.db import Database


class AuditLog:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def record(self, user_id: int | None, action: str, allowed: bool, now: datetime, **detail: Any) -> None:
        await self.db.execute(
            "INSERT INTO audit_log (at, user_id, action, allowed, detail) VALUES (?, ?, ?, ?, ?)",
            (to_db(now), user_id, action, int(allowed), json.dumps(detail, ensure_ascii=False, default=str)),
        )

    async def forget_user(self, user_id: int) -> None:
        """Keep the record of what happened, not who it was."""
        await self.db.execute("UPDATE audit_log SET user_id = NULL WHERE user_id = ?", (user_id,))

    async def recent(self, limit: int = 50) -> list[dict[str, Any]]:
        rows = await self.db.fetchall("SELECT * FROM audit_log ORDER BY id DESC LIMIT ?", (limit,))
        return [dict(row) for row in rows]
