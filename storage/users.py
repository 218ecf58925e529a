"""Users: one row per person per channel."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from storage.clock import to_db
from storage.db import Database, Row

ROLES = ("citizen", "official", "admin")
_TOUCH_EVERY = timedelta(minutes=1)  # last-seen precision; the WhatsApp 24-hour window needs no finer
_UPDATABLE = frozenset(
    {"display_name", "locale", "desa_code", "consent_at", "opted_out", "unreachable", "role",
     "official_kecamatan_code", "last_inbound_at", "last_seen_at"}
)


@dataclass(frozen=True)
class User:
    id: int
    channel: str
    external_id: str
    display_name: str | None
    locale: str | None
    desa_code: str | None
    consent_at: str | None
    opted_out: bool
    unreachable: bool
    role: str
    official_kecamatan_code: str | None
    last_inbound_at: str | None
    created_at: str
    last_seen_at: str

    @property
    def is_official(self) -> bool:
        return self.role in ("official", "admin")

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @property
    def onboarded(self) -> bool:
        return self.consent_at is not None and self.desa_code is not None

    @classmethod
    def from_row(cls, row: Row) -> User:
        return cls(
            id=row["id"], channel=row["channel"], external_id=row["external_id"],
            display_name=row["display_name"], locale=row["locale"], desa_code=row["desa_code"],
            consent_at=row["consent_at"], opted_out=bool(row["opted_out"]),
            unreachable=bool(row["unreachable"]), role=row["role"],
            official_kecamatan_code=row["official_kecamatan_code"],
            last_inbound_at=row["last_inbound_at"], created_at=row["created_at"],
            last_seen_at=row["last_seen_at"],
        )


def _needs_touch(user: User, display_name: str | None, now: datetime) -> bool:
    """Whether a message from `user` must be written down: not seen within the last minute, unreachable until now,
    or writing under a new name."""
    fresh = user.last_inbound_at is not None and user.last_inbound_at >= to_db(now - _TOUCH_EVERY)
    return not fresh or user.unreachable or (display_name is not None and display_name != user.display_name)


def normalise_external_id(raw: str, channel: str | None = None) -> str:
    """One spelling per person: WhatsApp numbers as `+62…` (also from `whatsapp:+62…`, `62…` or `08…`)."""
    external_id = raw.strip().removeprefix("whatsapp:")
    if channel == "whatsapp" and external_id.isdigit():
        external_id = "+62" + external_id[1:] if external_id.startswith("0") else "+" + external_id
    return external_id


class Users:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def get(self, user_id: int) -> User | None:
        row = await self.db.fetchone("SELECT * FROM users WHERE id = ?", (user_id,))
        return User.from_row(row) if row else None

    async def find(self, channel: str, external_id: str) -> User | None:
        row = await self.db.fetchone(
            "SELECT * FROM users WHERE channel = ? AND external_id = ?", (channel, external_id)
        )
        return User.from_row(row) if row else None

    async def find_many(self, channel: str, external_ids: Collection[str]) -> dict[str, User]:
        """`find` for a batch at once (an outbox batch, a burst of votes): those who have a row, by external id."""
        if not external_ids:
            return {}
        ids = list(external_ids)
        rows = await self.db.fetchall(
            f"SELECT * FROM users WHERE channel = ? AND external_id IN ({', '.join('?' * len(ids))})", (channel, *ids)
        )
        return {row["external_id"]: User.from_row(row) for row in rows}

    async def touch_or_create(
        self, channel: str, external_id: str, display_name: str | None, now: datetime, role: str | None = None
    ) -> User:
        """The person who just wrote: create on first contact, else refresh name and last-seen times.

        `role`, when given, is the bootstrap role from settings and never lowers a stored one.
        """
        stamp = to_db(now)
        row = await self.db.fetchone(
            "SELECT * FROM users WHERE channel = ? AND external_id = ?", (channel, external_id)
        )
        if row is not None:
            user = User.from_row(row)
            if not _needs_touch(user, display_name, now) and (role != "admin" or user.role == "admin"):
                return user  # seen within the last minute: skip a write on every message of a conversation
        row = await self.db.write_returning(
            """INSERT INTO users
                   (channel, external_id, display_name, created_at, last_seen_at, last_inbound_at, role)
               VALUES (?, ?, ?, ?, ?, ?, ?)
               ON CONFLICT (channel, external_id) DO UPDATE SET
                   display_name = COALESCE(excluded.display_name, users.display_name),
                   last_seen_at = excluded.last_seen_at,
                   last_inbound_at = excluded.last_inbound_at,
                   unreachable = 0,
                   role = CASE WHEN excluded.role = 'admin' THEN 'admin' ELSE users.role END
               RETURNING *""",
            (channel, external_id, display_name, stamp, stamp, stamp, role or "citizen"),
        )
        assert row is not None
        return User.from_row(row)

    async def touch_all(self, seen: Sequence[tuple[User, str | None]], now: datetime) -> None:
        """What `touch_or_create` does for people who already have a row (their last-seen times, a new name,
        reachable again), for a batch in one statement; those seen within the last minute need no write."""
        stamp = to_db(now)
        rows = [(display_name, stamp, stamp, user.id) for user, display_name in seen
                if _needs_touch(user, display_name, now)]
        if rows:
            await self.db.executemany(
                """UPDATE users SET display_name = COALESCE(?, display_name), last_seen_at = ?, last_inbound_at = ?,
                   unreachable = 0 WHERE id = ?""",
                rows,
            )

    async def update(self, user_id: int, **fields: object) -> None:
        unknown = set(fields) - _UPDATABLE
        if unknown:
            raise ValueError(f"not updatable: {sorted(unknown)}")
        if not fields:
            return
        assignments = ", ".join(f"{name} = ?" for name in fields)  # names come from the whitelist above
        await self.db.execute(f"UPDATE users SET {assignments} WHERE id = ?", (*fields.values(), user_id))

    async def set_role(self, user_id: int, role: str, kecamatan_code: str | None = None) -> None:
        if role not in ROLES:
            raise ValueError(f"unknown role {role!r}")
        await self.update(user_id, role=role, official_kecamatan_code=kecamatan_code)

    async def grant_role(self, channel: str, external_id: str, role: str, kecamatan_code: str | None,
                         now: datetime) -> User:
        """Give someone a role, creating their row if they have not written yet (they keep it when they do)."""
        if role not in ROLES:
            raise ValueError(f"unknown role {role!r}")
        stamp = to_db(now)
        row = await self.db.write_returning(
            """INSERT INTO users (channel, external_id, role, official_kecamatan_code, created_at, last_seen_at)
               VALUES (?, ?, ?, ?, ?, ?)
               ON CONFLICT (channel, external_id) DO UPDATE SET
                   role = excluded.role, official_kecamatan_code = excluded.official_kecamatan_code
               RETURNING *""",
            (channel, external_id, role, kecamatan_code, stamp, stamp),
        )
        assert row is not None
        return User.from_row(row)

    async def mark_unreachable(self, channel: str, external_id: str) -> None:
        await self.db.execute(
            "UPDATE users SET unreachable = 1 WHERE channel = ? AND external_id = ?", (channel, external_id)
        )

    async def unwilling(self, channel: str, external_ids: set[str]) -> dict[str, str]:
        """Which of these people must get no more messages we start, and why."""
        marks = ", ".join("?" for _ in external_ids)
        rows = await self.db.fetchall(
            f"""SELECT external_id, opted_out FROM users WHERE channel = ? AND external_id IN ({marks})
                AND (opted_out = 1 OR unreachable = 1)""",
            (channel, *external_ids),
        )
        return {r["external_id"]: "recipient opted out" if r["opted_out"] else "recipient unreachable" for r in rows}

    async def officials(self, kecamatan_code: str | None = None) -> list[User]:
        """Officials responsible for a kecamatan: those limited to it and those with no limit."""
        rows = await self.db.fetchall(
            """SELECT * FROM users WHERE role IN ('official', 'admin')
               AND (official_kecamatan_code IS NULL OR ? IS NULL OR official_kecamatan_code = ?)
               ORDER BY id""",
            (kecamatan_code, kecamatan_code),
        )
        return [User.from_row(row) for row in rows]

    async def export_for_user(self, user_id: int) -> dict[str, object]:
        row = await self.db.fetchone(
            """SELECT u.channel, u.external_id, u.display_name, u.locale, u.desa_code, d.name AS desa,
                      u.consent_at, u.opted_out, u.role, u.created_at, u.last_seen_at
               FROM users u LEFT JOIN desa d ON d.code = u.desa_code WHERE u.id = ?""",
            (user_id,),
        )
        return dict(row) if row else {}

    async def forget_user(self, user_id: int) -> None:
        """The row goes; conversation and queued messages go with it (ON DELETE CASCADE)."""
        await self.db.execute("DELETE FROM users WHERE id = ?", (user_id,))

    async def count(self) -> int:
        return int(await self.db.fetchval("SELECT COUNT(*) FROM users"))
