"""Programmes citizens follow: subscriptions, the updates officials publish, and feedback on each update."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from storage.clock import from_db, to_db
from storage.db import Database, Row


@dataclass(frozen=True)
class Programme:
    id: int
    name: str
    description: str
    topic: str
    kecamatan_code: str | None
    desa_code: str | None
    active: bool

    @classmethod
    def from_row(cls, row: Row) -> Programme:
        return cls(row["id"], row["name"], row["description"], row["topic"], row["kecamatan_code"],
                   row["desa_code"], bool(row["active"]))


@dataclass(frozen=True)
class NewProgramme:
    name: str
    description: str
    topic: str
    kecamatan_code: str | None
    desa_code: str | None
    created_by: int | None


@dataclass(frozen=True)
class ProgrammeUpdate:
    id: int
    programme_id: int
    text_id: str
    text_en: str | None
    photo_path: str | None
    link: str | None
    recipients: int
    feedback_count: int
    created_at: datetime

    def text_for(self, locale: str) -> str:
        """The reader's language where the official wrote it, else the text as written."""
        return self.text_en if locale == "en" and self.text_en else self.text_id

    @classmethod
    def from_row(cls, row: Row) -> ProgrammeUpdate:
        created = from_db(row["created_at"])
        assert created is not None
        return cls(row["id"], row["programme_id"], row["text_id"], row["text_en"], row["photo_path"], row["link"],
                   row["recipients"], row["feedback_count"], created)


@dataclass(frozen=True)
class NewUpdate:
    programme_id: int
    text_id: str
    text_en: str | None
    photo_path: str | None
    link: str | None
    official_id: int | None


@dataclass(frozen=True)
class Feedback:
    id: int
    text: str
    display_name: str | None
    desa_code: str | None
    created_at: datetime


_UPDATE_SELECT = """SELECT u.*, (SELECT COUNT(*) FROM programme_feedback f WHERE f.update_id = u.id)
                    AS feedback_count FROM programme_updates u"""


class Programmes:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def create(self, new: NewProgramme, now: datetime) -> int:
        cursor = await self.db.execute(
            """INSERT INTO programmes (name, description, topic, kecamatan_code, desa_code, created_by, created_at)
               VALUES (?, ?, ?, ?, ?, ?, ?)""",
            (new.name, new.description, new.topic, new.kecamatan_code, new.desa_code, new.created_by, to_db(now)),
        )
        assert cursor.lastrowid is not None
        return cursor.lastrowid

    async def get(self, programme_id: int) -> Programme | None:
        row = await self.db.fetchone("SELECT * FROM programmes WHERE id = ?", (programme_id,))
        return Programme.from_row(row) if row else None

    async def for_area(self, desa_code: str | None, kecamatan_code: str | None, limit: int = 30) -> list[Programme]:
        """Active programmes for the whole kabupaten, this kecamatan, or this desa; by topic and name."""
        rows = await self.db.fetchall(
            """SELECT * FROM programmes WHERE active = 1 AND (
                   kecamatan_code IS NULL
                   OR (kecamatan_code = ? AND (desa_code IS NULL OR desa_code = ?)))
               ORDER BY topic, name, id LIMIT ?""",
            (kecamatan_code, desa_code, limit),
        )
        return [Programme.from_row(row) for row in rows]

    async def for_officials(self, kecamatan_code: str | None, limit: int = 50) -> list[Programme]:
        """All programmes, or one kecamatan's; active first."""
        rows = await self.db.fetchall(
            """SELECT * FROM programmes WHERE (? IS NULL OR kecamatan_code = ?)
               ORDER BY active DESC, topic, name, id LIMIT ?""",
            (kecamatan_code, kecamatan_code, limit),
        )
        return [Programme.from_row(row) for row in rows]

    async def set_active(self, programme_id: int, active: bool) -> None:
        await self.db.execute("UPDATE programmes SET active = ? WHERE id = ?", (int(active), programme_id))

    # --- subscriptions ----------------------------------------------------------------------------

    async def subscribe(self, programme_id: int, user_id: int, now: datetime) -> bool:
        cursor = await self.db.execute(
            "INSERT OR IGNORE INTO programme_subscriptions (programme_id, user_id, created_at) VALUES (?, ?, ?)",
            (programme_id, user_id, to_db(now)),
        )
        return cursor.rowcount == 1

    async def unsubscribe(self, programme_id: int, user_id: int) -> bool:
        cursor = await self.db.execute(
            "DELETE FROM programme_subscriptions WHERE programme_id = ? AND user_id = ?", (programme_id, user_id)
        )
        return cursor.rowcount == 1

    async def subscribed_ids(self, user_id: int) -> set[int]:
        rows = await self.db.fetchall("SELECT programme_id FROM programme_subscriptions WHERE user_id = ?",
                                      (user_id,))
        return {row[0] for row in rows}

    async def subscriptions(self, user_id: int, limit: int = 50) -> list[Programme]:
        rows = await self.db.fetchall(
            """SELECT p.* FROM programmes p JOIN programme_subscriptions s ON s.programme_id = p.id
               WHERE s.user_id = ? ORDER BY p.topic, p.name, p.id LIMIT ?""",
            (user_id, limit),
        )
        return [Programme.from_row(row) for row in rows]

    async def count_subscribers(self, programme_id: int) -> int:
        return int(await self.db.fetchval("SELECT COUNT(*) FROM programme_subscriptions WHERE programme_id = ?",
                                          (programme_id,)))

    async def export_for_user(self, user_id: int) -> dict[str, list[dict[str, Any]]]:
        """Programmes followed and feedback given."""
        subscriptions = await self.db.fetchall(
            """SELECT p.name, p.topic, s.created_at FROM programme_subscriptions s
               JOIN programmes p ON p.id = s.programme_id WHERE s.user_id = ? ORDER BY p.id""",
            (user_id,),
        )
        feedback = await self.db.fetchall(
            """SELECT p.name AS programme, f.text, f.created_at FROM programme_feedback f
               JOIN programme_updates u ON u.id = f.update_id JOIN programmes p ON p.id = u.programme_id
               WHERE f.user_id = ? ORDER BY f.id""",
            (user_id,),
        )
        return {"subscriptions": [dict(row) for row in subscriptions], "feedback": [dict(row) for row in feedback]}

    async def forget_user(self, user_id: int) -> None:
        """Subscriptions go; feedback stays with the update it answers, without its author."""
        await self.db.execute("DELETE FROM programme_subscriptions WHERE user_id = ?", (user_id,))
        await self.db.execute("UPDATE programme_feedback SET user_id = NULL WHERE user_id = ?", (user_id,))
        await self.db.execute("UPDATE programme_updates SET official_id = NULL WHERE official_id = ?", (user_id,))
        await self.db.execute("UPDATE programmes SET created_by = NULL WHERE created_by = ?", (user_id,))

    # --- updates and feedback ---------------------------------------------------------------------

    async def add_update(self, new: NewUpdate, now: datetime) -> int:
        cursor = await self.db.execute(
            """INSERT INTO programme_updates (programme_id, text_id, text_en, photo_path, link, official_id,
                   created_at) VALUES (?, ?, ?, ?, ?, ?, ?)""",
            (new.programme_id, new.text_id, new.text_en, new.photo_path, new.link, new.official_id, to_db(now)),
        )
        assert cursor.lastrowid is not None
        return cursor.lastrowid

    async def set_recipients(self, update_id: int, recipients: int) -> None:
        await self.db.execute("UPDATE programme_updates SET recipients = ? WHERE id = ?", (recipients, update_id))

    async def update(self, update_id: int) -> ProgrammeUpdate | None:
        row = await self.db.fetchone(f"{_UPDATE_SELECT} WHERE u.id = ?", (update_id,))
        return ProgrammeUpdate.from_row(row) if row else None

    async def updates(self, programme_id: int, limit: int = 10) -> list[ProgrammeUpdate]:
        """The latest updates first."""
        rows = await self.db.fetchall(f"{_UPDATE_SELECT} WHERE u.programme_id = ? ORDER BY u.id DESC LIMIT ?",
                                      (programme_id, limit))
        return [ProgrammeUpdate.from_row(row) for row in rows]

    async def add_feedback(self, update_id: int, user_id: int, text: str, now: datetime) -> int:
        cursor = await self.db.execute(
            "INSERT INTO programme_feedback (update_id, user_id, text, created_at) VALUES (?, ?, ?, ?)",
            (update_id, user_id, text, to_db(now)),
        )
        assert cursor.lastrowid is not None
        return cursor.lastrowid

    async def feedback(self, update_id: int, limit: int = 30) -> list[Feedback]:
        """The latest feedback first, with the name and desa of who wrote it."""
        rows = await self.db.fetchall(
            """SELECT f.id, f.text, f.created_at, u.display_name, u.desa_code FROM programme_feedback f
               LEFT JOIN users u ON u.id = f.user_id WHERE f.update_id = ? ORDER BY f.id DESC LIMIT ?""",
            (update_id, limit),
        )
        return [Feedback(row["id"], row["text"], row["display_name"], row["desa_code"],
                         from_db(row["created_at"])) for row in rows]  # type: ignore[arg-type]
