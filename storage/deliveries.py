"""Delivery reports for sent outbox rows (WhatsApp status callbacks) and the rows held for a template.

A provider reports a message's progress asynchronously and not always in order; callers read the
row's last status with `find`, decide, and `record` inside one transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from storage.clock import to_db
from storage.db import Database
from storage.outbox import FINAL_STATES


@dataclass(frozen=True)
class Delivery:
    outbox_id: int
    channel: str
    external_id: str
    state: str
    delivery_status: str | None
    error_code: str | None


class Deliveries:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def find(self, provider_message_id: str) -> Delivery | None:
        row = await self.db.fetchone(
            """SELECT id, channel, external_id, state, delivery_status, error_code FROM outbox
               WHERE provider_message_id = ? ORDER BY id DESC LIMIT 1""",
            (provider_message_id,),
        )
        if row is None:
            return None
        return Delivery(row["id"], row["channel"], row["external_id"], row["state"], row["delivery_status"],
                        row["error_code"])

    async def record(self, outbox_id: int, delivery_status: str, error_code: str | None, state: str,
                     now: datetime) -> None:
        """Store the provider's status and the row state it implies (sent, delivered, read, failed, …)."""
        if state not in FINAL_STATES:
            raise ValueError(f"not a final state: {state}")
        await self.db.execute(
            """UPDATE outbox SET delivery_status = ?, error_code = ?, state = ?, delivery_updated_at = ?
               WHERE id = ?""",
            (delivery_status, error_code, state, to_db(now), outbox_id),
        )

    async def needs_template_by_group(self) -> dict[str, int]:
        """Recipients per group (e.g. 'broadcast:12') whose message waits for an approved template."""
        rows = await self.db.fetchall(
            """SELECT group_id, COUNT(*) AS n FROM outbox WHERE state = 'needs_template' AND group_id IS NOT NULL
               GROUP BY group_id ORDER BY group_id"""
        )
        return {row["group_id"]: row["n"] for row in rows}
