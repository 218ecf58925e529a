"""The durable outbox: every message that is not a direct reply is a row here before it is sent.

Rows are written in the same transaction as the act that causes them; delivery workers claim them
in batches (state `sending`, attempt counted before the send), then record the outcome.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import chain

from storage.audience import Audience, Selection, recipient_filter
from storage.clock import from_db, to_db
from storage.db import Database, Row

PRIORITY_REPLY = 0
PRIORITY_NOTIFICATION = 5
PRIORITY_BULK = 9
KIND_REPLY = "reply"   # a direct answer a channel could not send at once; it goes even to opted-out users

FINAL_STATES = ("sent", "delivered", "read", "failed", "needs_template", "cancelled")
_PURGEABLE = ("sent", "delivered", "read", "failed", "cancelled")  # needs_template still waits for a template

Body = tuple[str, str | None]  # a message in one language: the replies as JSON, the WhatsApp template's variables


@dataclass(frozen=True)
class OutboxMessage:
    id: int
    user_id: int | None
    channel: str
    external_id: str
    kind: str
    priority: int
    body: str
    template_vars: str | None
    group_id: str | None
    state: str
    attempts: int
    last_error: str | None

    @classmethod
    def from_row(cls, row: Row) -> OutboxMessage:
        return cls(
            id=row["id"], user_id=row["user_id"], channel=row["channel"], external_id=row["external_id"],
            kind=row["kind"], priority=row["priority"], body=row["body"], template_vars=row["template_vars"],
            group_id=row["group_id"], state=row["state"], attempts=row["attempts"], last_error=row["last_error"],
        )


@dataclass(frozen=True)
class NewMessage:
    user_id: int | None
    channel: str
    external_id: str
    kind: str
    body: str
    priority: int = PRIORITY_NOTIFICATION
    template_vars: str | None = None
    group_id: str | None = None
    not_before: datetime | None = None


class Outbox:
    def __init__(self, db: Database) -> None:
        self.db = db
        # Counts `cancel_group` calls in this process: a worker holding claimed rows looks at them again when it
        # changes (`cancelled_among`), so a cancelled broadcast stops at once, not after what it claimed ahead.
        self.cancels = 0

    async def enqueue(self, messages: Sequence[NewMessage], now: datetime) -> int:
        """Add messages; joins the caller's transaction so they commit with the act that caused them."""
        stamp = to_db(now)
        await self.db.executemany(
            """INSERT INTO outbox (user_id, channel, external_id, kind, priority, body, template_vars, group_id,
                                   not_before, created_at)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
            [
                (m.user_id, m.channel, m.external_id, m.kind, m.priority, m.body, m.template_vars, m.group_id,
                 to_db(m.not_before) if m.not_before else stamp, stamp)
                for m in messages
            ],
        )
        return len(messages)

    async def enqueue_audience(self, audience: Audience | Selection, kind: str, bodies: Mapping[str, Body],
                               now: datetime, *, no_locale: Body, other_locale: Body, group_id: str,
                               priority: int = PRIORITY_BULK) -> int:
        """Queue a message for every reachable member of an audience; returns how many rows were written.

        One INSERT … SELECT, so SQLite builds the rows and no person passes through Python: 100,000 of them
        would hold the event loop for seconds. One statement is whole or nothing, and it joins the caller's
        transaction. A person gets `bodies[their locale]`, `no_locale` if they have none (NULL or empty),
        `other_locale` if theirs is not a key. Rows come in user id order, as the per-person path wrote them.
        """
        by_locale = "WHEN u.locale = ? THEN ? " * len(bodies)
        pick = f"CASE WHEN u.locale IS NULL OR u.locale = '' THEN ? {by_locale}ELSE ? END"

        def choices(part: int) -> list[str | None]:
            return [no_locale[part], *chain.from_iterable((locale, body[part]) for locale, body in bodies.items()),
                    other_locale[part]]

        where, params = recipient_filter(audience)
        stamp = to_db(now)
        cursor = await self.db.execute(
            f"""INSERT INTO outbox (user_id, channel, external_id, kind, priority, body, template_vars, group_id,
                                    not_before, created_at)
                SELECT u.id, u.channel, u.external_id, ?, ?, {pick}, {pick}, ?, ?, ? FROM users u
                WHERE {where} ORDER BY u.id""",
            (kind, priority, *choices(0), *choices(1), group_id, stamp, stamp, *params),
        )
        return cursor.rowcount

    async def claim(self, channel: str, limit: int, now: datetime) -> list[OutboxMessage]:
        """Take up to `limit` due messages, most urgent first, and count the attempt before sending."""
        async with self.db.transaction() as conn:
            async with conn.execute(
                """UPDATE outbox SET state = 'sending', attempts = attempts + 1
                   WHERE id IN (SELECT id FROM outbox WHERE channel = ? AND state = 'pending' AND not_before <= ?
                                ORDER BY priority, id LIMIT ?)
                   RETURNING *""",
                (channel, to_db(now), limit),
            ) as cursor:
                rows = await cursor.fetchall()
        return sorted((OutboxMessage.from_row(r) for r in rows), key=lambda m: (m.priority, m.id))

    async def mark_sent(self, message_id: int, now: datetime, provider_message_id: str | None = None) -> None:
        await self.mark_sent_many([(message_id, provider_message_id)], now)

    async def mark_sent_many(self, sent: Sequence[tuple[int, str | None]], now: datetime) -> None:
        """Record a batch of deliveries (id, provider message id) in one statement."""
        stamp = to_db(now)
        await self.db.executemany(
            "UPDATE outbox SET state = 'sent', sent_at = ?, provider_message_id = ?, last_error = NULL WHERE id = ?",
            [(stamp, provider_message_id, message_id) for message_id, provider_message_id in sent],
        )

    async def retry_later(self, message_id: int, when: datetime, error: str) -> None:
        """Back to the queue after a failed attempt; a row cancelled meanwhile stays cancelled."""
        await self.db.execute(
            "UPDATE outbox SET state = 'pending', not_before = ?, last_error = ? WHERE id = ? AND state = 'sending'",
            (to_db(when), error[:500], message_id),
        )

    async def release(self, held: Sequence[tuple[int, datetime]]) -> None:
        """Give claimed rows back unsent until a time (id, when): pacing held them, so no attempt is counted."""
        await self.db.executemany(
            """UPDATE outbox SET state = 'pending', not_before = ?, attempts = attempts - 1
               WHERE id = ? AND state = 'sending'""",
            [(to_db(when), message_id) for message_id, when in held],
        )

    async def finish(self, message_id: int, state: str, error: str | None = None) -> None:
        if state not in FINAL_STATES:
            raise ValueError(f"not a final state: {state}")
        await self.db.execute(
            "UPDATE outbox SET state = ?, last_error = ? WHERE id = ?",
            (state, error[:500] if error else None, message_id),
        )

    async def recover_in_flight(self, channel: str | None = None) -> int:
        """After a crash, rows left in `sending` go back to the queue (they may go twice: the crash window).

        Give the channel when several workers share the table, so one worker's start-up does not
        requeue what another has in flight.
        """
        cursor = await self.db.execute(
            "UPDATE outbox SET state = 'pending' WHERE state = 'sending' AND (? IS NULL OR channel = ?)",
            (channel, channel),
        )
        return cursor.rowcount

    async def cancel_group(self, group_id: str) -> int:
        """Stop what has not gone out. Rows a worker holds in flight are marked too: if their send
        succeeds it is recorded as sent (the truth), and a failed one is not retried."""
        cursor = await self.db.execute(
            "UPDATE outbox SET state = 'cancelled' WHERE group_id = ? AND state IN ('pending', 'sending')", (group_id,)
        )
        if cursor.rowcount:
            self.cancels += 1
        return cursor.rowcount

    async def waiting_reply_due(self, channel: str, external_id: str) -> datetime | None:
        """When the last direct reply still waiting for this chat may go (deferred after the platform refused
        it); None if none waits."""
        due = await self.db.fetchval(
            """SELECT MAX(not_before) FROM outbox WHERE channel = ? AND state IN ('pending', 'sending')
               AND priority = ? AND kind = ? AND external_id = ?""",
            (channel, PRIORITY_REPLY, KIND_REPLY, external_id))
        return from_db(due) if due else None

    async def cancelled_among(self, ids: Sequence[int]) -> set[int]:
        """Which of these rows are cancelled, as committed: read inside the write lock, so a cancel whose
        transaction is still open (and may roll back) is not seen."""
        found: set[int] = set()
        async with self.db.transaction() as conn:
            for start in range(0, len(ids), 500):
                chunk = ids[start:start + 500]
                rows = await conn.execute_fetchall(
                    f"SELECT id FROM outbox WHERE state = 'cancelled' AND id IN ({', '.join('?' * len(chunk))})",
                    chunk)
                found.update(row[0] for row in rows)
        return found

    async def counts(self, group_id: str | None = None) -> dict[str, int]:
        if group_id is None:
            rows = await self.db.fetchall("SELECT state, COUNT(*) AS n FROM outbox GROUP BY state")
        else:
            rows = await self.db.fetchall(
                "SELECT state, COUNT(*) AS n FROM outbox WHERE group_id = ? GROUP BY state", (group_id,)
            )
        return {row["state"]: row["n"] for row in rows}

    async def next_due(self, channel: str) -> str | None:
        """When the earliest pending message for a channel may go (UTC text), so a worker can sleep till then."""
        return await self.db.fetchval(
            "SELECT MIN(not_before) FROM outbox WHERE channel = ? AND state = 'pending'", (channel,)
        )

    async def export_for_user(self, user_id: int) -> list[dict[str, object]]:
        rows = await self.db.fetchall(
            "SELECT kind, state, created_at, sent_at FROM outbox WHERE user_id = ? ORDER BY id", (user_id,)
        )
        return [dict(row) for row in rows]

    async def forget_user(self, user_id: int) -> None:
        """Messages to the person go with them, sent or not (their bodies are about them)."""
        await self.db.execute("DELETE FROM outbox WHERE user_id = ?", (user_id,))

    async def purge_finished(self, older_than: datetime) -> int:
        """Retention: forget messages that reached a final state before `older_than` (bodies hold personal data)."""
        cursor = await self.db.execute(
            f"""DELETE FROM outbox WHERE state IN ({", ".join("?" * len(_PURGEABLE))}) AND created_at < ?""",
            (*_PURGEABLE, to_db(older_than)),
        )
        return cursor.rowcount

    async def for_user(self, user_id: int) -> list[OutboxMessage]:
        rows = await self.db.fetchall("SELECT * FROM outbox WHERE user_id = ? ORDER BY id", (user_id,))
        return [OutboxMessage.from_row(r) for r in rows]


def backoff(attempts: int, base_seconds: float = 2.0, cap_seconds: float = 600.0) -> timedelta:
    """Exponential backoff without jitter; callers add jitter where many rows fail together."""
    return timedelta(seconds=min(cap_seconds, base_seconds * (2 ** max(0, attempts - 1))))
