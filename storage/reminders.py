"""Reminders: one row per timed job (what, for whom, when, state); SQLite is the truth, the scheduler the clock.

A row moves once from `pending` to `sent`, `skipped` (came due too late, or nothing left to say),
`cancelled` (its cause went away) or `failed` (its handler raised). `claim` makes that move inside the
caller's transaction, so the outbox messages the handler queues commit with it, or neither does.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from storage.clock import from_db, to_db
from storage.db import Database, Row

DONE_STATES = ("sent", "skipped", "cancelled", "failed")


@dataclass(frozen=True)
class Reminder:
    id: int
    kind: str
    target: str
    due_at: datetime
    state: str
    note: str | None

    @classmethod
    def from_row(cls, row: Row) -> Reminder:
        due = from_db(row["due_at"])
        assert due is not None
        return cls(row["id"], row["kind"], row["target"], due, row["state"], row["note"])


class Reminders:
    def __init__(self, db: Database) -> None:
        self.db = db
        # Called with (reminder id, due time) whenever a row becomes pending; the scheduler arms a job.
        self.listeners: list[Callable[[int, datetime], None]] = []

    async def schedule(self, kind: str, target: str, due_at: datetime, now: datetime) -> int | None:
        """Add (or re-arm a cancelled) reminder; returns its id, or None if it already ran for this target."""
        async with self.db.transaction() as conn:
            async with conn.execute(
                """INSERT INTO reminders (kind, target, due_at, state, created_at) VALUES (?, ?, ?, 'pending', ?)
                   ON CONFLICT (kind, target) DO UPDATE SET
                       due_at = excluded.due_at, state = 'pending', done_at = NULL, note = NULL
                   WHERE reminders.state IN ('pending', 'cancelled')
                   RETURNING id""",
                (kind[:40], target[:100], to_db(due_at), to_db(now)),
            ) as cursor:
                row = await cursor.fetchone()
        if row is None:
            return None
        for listener in self.listeners:
            listener(row["id"], due_at)
        return int(row["id"])

    async def cancel(self, kind: str, target: str, now: datetime, note: str | None = None) -> int:
        cursor = await self.db.execute(
            "UPDATE reminders SET state = 'cancelled', done_at = ?, note = ? "
            "WHERE kind = ? AND target = ? AND state = 'pending'",
            (to_db(now), note, kind, target),
        )
        return cursor.rowcount

    async def claim(self, reminder_id: int, state: str, now: datetime, note: str | None = None) -> Reminder | None:
        """Move a pending row to `state`; None if it was no longer pending (someone else took it)."""
        if state not in DONE_STATES:
            raise ValueError(f"not a final state: {state}")
        async with self.db.transaction() as conn:
            async with conn.execute(
                "UPDATE reminders SET state = ?, done_at = ?, note = ? WHERE id = ? AND state = 'pending' RETURNING *",
                (state, to_db(now), note[:300] if note else None, reminder_id),
            ) as cursor:
                row = await cursor.fetchone()
        return Reminder.from_row(row) if row else None

    async def finish(self, reminder_id: int, state: str, note: str | None = None) -> None:
        """Correct the final state of a row this transaction just claimed (sent -> skipped)."""
        if state not in DONE_STATES:
            raise ValueError(f"not a final state: {state}")
        await self.db.execute(
            "UPDATE reminders SET state = ?, note = ? WHERE id = ?", (state, note[:300] if note else None, reminder_id)
        )

    async def get(self, reminder_id: int) -> Reminder | None:
        row = await self.db.fetchone("SELECT * FROM reminders WHERE id = ?", (reminder_id,))
        return Reminder.from_row(row) if row else None

    async def find(self, kind: str, target: str) -> Reminder | None:
        row = await self.db.fetchone("SELECT * FROM reminders WHERE kind = ? AND target = ?", (kind, target))
        return Reminder.from_row(row) if row else None

    async def pending(self, due_before: datetime | None = None, limit: int = 10_000) -> list[Reminder]:
        """Pending rows, earliest first; only those due by `due_before` when given."""
        if due_before is None:
            rows = await self.db.fetchall(
                "SELECT * FROM reminders WHERE state = 'pending' ORDER BY due_at, id LIMIT ?", (limit,)
            )
        else:
            rows = await self.db.fetchall(
                "SELECT * FROM reminders WHERE state = 'pending' AND due_at <= ? ORDER BY due_at, id LIMIT ?",
                (to_db(due_before), limit),
            )
        return [Reminder.from_row(row) for row in rows]

    async def counts(self) -> dict[str, int]:
        rows = await self.db.fetchall("SELECT state, COUNT(*) AS n FROM reminders GROUP BY state")
        return {row["state"]: row["n"] for row in rows}
