"""Public consultations: the events, registrations (short codes, waiting list, attendance), proposals with
their stages and supporters, and the outcome an official posts afterwards."""

from __future__ import annotations

import secrets
import sqlite3
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from storage.clock import from_db, to_db
from storage.db import Database, Row
from storage.users import User

LEVELS = ("desa", "kecamatan", "kabupaten")
# Musrenbang stages in order; the last two are final.
STAGES = ("proposed", "desa", "kecamatan", "kabupaten", "planned", "not_prioritised")
FINAL_STAGES = ("planned", "not_prioritised")
CODE_ALPHABET = "ACDEFHJKLMNPRTUVWXY34679"  # no look-alikes (0/O, 1/I/L, 2/Z, 5/S, 8/B)
CODE_LENGTH = 6


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


@dataclass(frozen=True)
class Consultation:
    id: int
    title: str
    description: str
    level: str
    kecamatan_code: str | None
    desa_code: str | None
    place: str | None
    latitude: float | None
    longitude: float | None
    online_url: str | None
    starts_at: datetime
    ends_at: datetime
    capacity: int | None
    programme_id: int | None
    proposals_open: bool
    outcome: str | None
    outcome_at: datetime | None
    created_by: int | None

    @classmethod
    def from_row(cls, row: Row) -> Consultation:
        starts, ends = from_db(row["starts_at"]), from_db(row["ends_at"])
        assert starts is not None and ends is not None
        return cls(
            id=row["id"], title=row["title"], description=row["description"], level=row["level"],
            kecamatan_code=row["kecamatan_code"], desa_code=row["desa_code"], place=row["place"],
            latitude=row["latitude"], longitude=row["longitude"], online_url=row["online_url"],
            starts_at=starts, ends_at=ends, capacity=row["capacity"], programme_id=row["programme_id"],
            proposals_open=bool(row["proposals_open"]), outcome=row["outcome"],
            outcome_at=from_db(row["outcome_at"]), created_by=row["created_by"],
        )


@dataclass(frozen=True)
class NewConsultation:
    title: str
    description: str
    level: str
    kecamatan_code: str | None
    desa_code: str | None
    place: str | None
    latitude: float | None
    longitude: float | None
    online_url: str | None
    starts_at: datetime
    ends_at: datetime
    capacity: int | None
    programme_id: int | None
    created_by: int | None


@dataclass(frozen=True)
class Registration:
    id: int
    consultation_id: int
    user_id: int
    code: str
    state: str
    queued_at: datetime
    attended_at: datetime | None

    @classmethod
    def from_row(cls, row: Row) -> Registration:
        queued = from_db(row["queued_at"])
        assert queued is not None
        return cls(row["id"], row["consultation_id"], row["user_id"], row["code"], row["state"], queued,
                   from_db(row["attended_at"]))


@dataclass(frozen=True)
class Registrant:
    registration: Registration
    display_name: str | None


@dataclass(frozen=True)
class Proposal:
    id: int
    consultation_id: int
    user_id: int | None
    title: str
    description: str
    location: str
    latitude: float | None
    longitude: float | None
    category: str
    stage: str
    supporters: int
    created_at: datetime

    @property
    def final(self) -> bool:
        return self.stage in FINAL_STAGES

    @classmethod
    def from_row(cls, row: Row) -> Proposal:
        created = from_db(row["created_at"])
        assert created is not None
        return cls(row["id"], row["consultation_id"], row["user_id"], row["title"], row["description"],
                   row["location"], row["latitude"], row["longitude"], row["category"], row["stage"],
                   row["supporters"], created)


@dataclass(frozen=True)
class NewProposal:
    consultation_id: int
    user_id: int
    title: str
    description: str
    location: str
    latitude: float | None
    longitude: float | None
    category: str


@dataclass(frozen=True)
class StageChange:
    stage: str
    note: str | None
    at: datetime


_PROPOSAL_SELECT = """SELECT p.*, (SELECT COUNT(*) FROM proposal_supporters s WHERE s.proposal_id = p.id)
                      AS supporters FROM proposals p"""


class Consultations:
    def __init__(self, db: Database) -> None:
        self.db = db

    # --- the events -------------------------------------------------------------------------------

    async def create(self, new: NewConsultation, now: datetime) -> int:
        if new.level not in LEVELS:
            raise ValueError(f"unknown level {new.level!r}")
        cursor = await self.db.execute(
            """INSERT INTO consultations (title, description, level, kecamatan_code, desa_code, place, latitude,
                   longitude, online_url, starts_at, ends_at, capacity, programme_id, created_by, created_at)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
            (new.title, new.description, new.level, new.kecamatan_code, new.desa_code, new.place, new.latitude,
             new.longitude, new.online_url, to_db(new.starts_at), to_db(new.ends_at), new.capacity,
             new.programme_id, new.created_by, to_db(now)),
        )
        assert cursor.lastrowid is not None
        return cursor.lastrowid

    async def get(self, consultation_id: int) -> Consultation | None:
        row = await self.db.fetchone("SELECT * FROM consultations WHERE id = ?", (consultation_id,))
        return Consultation.from_row(row) if row else None

    async def upcoming_for_area(self, desa_code: str | None, kecamatan_code: str | None, now: datetime,
                                limit: int = 20) -> list[Consultation]:
        """Not yet ended, for the kabupaten, this kecamatan or this desa; soonest first."""
        rows = await self.db.fetchall(
            """SELECT * FROM consultations WHERE ends_at > ? AND (
                   level = 'kabupaten'
                   OR (level = 'kecamatan' AND kecamatan_code = ?)
                   OR (level = 'desa' AND desa_code = ?))
               ORDER BY starts_at, id LIMIT ?""",
            (to_db(now), kecamatan_code, desa_code, limit),
        )
        return [Consultation.from_row(row) for row in rows]

    async def for_officials(self, kecamatan_code: str | None, ended_after: datetime,
                            limit: int = 20) -> list[Consultation]:
        """Those an official manages: all, or one kecamatan's; not ended before `ended_after`; soonest first."""
        rows = await self.db.fetchall(
            """SELECT * FROM consultations WHERE ends_at > ? AND (? IS NULL OR kecamatan_code = ?)
               ORDER BY starts_at, id LIMIT ?""",
            (to_db(ended_after), kecamatan_code, kecamatan_code, limit),
        )
        return [Consultation.from_row(row) for row in rows]

    async def set_proposals_open(self, consultation_id: int, is_open: bool) -> None:
        await self.db.execute("UPDATE consultations SET proposals_open = ? WHERE id = ?",
                              (int(is_open), consultation_id))

    async def set_outcome(self, consultation_id: int, text: str, now: datetime) -> None:
        await self.db.execute("UPDATE consultations SET outcome = ?, outcome_at = ? WHERE id = ?",
                              (text, to_db(now), consultation_id))

    # --- registrations ----------------------------------------------------------------------------

    async def register(self, consultation_id: int, user_id: int, state: str, now: datetime) -> Registration:
        """Register or queue a user; a cancelled registration comes back with its old code."""
        if state not in ("registered", "waiting"):
            raise ValueError(f"cannot register as {state!r}")
        for _attempt in range(5):
            try:
                async with self.db.transaction() as conn:
                    async with conn.execute(
                        """INSERT INTO consultation_registrations
                               (consultation_id, user_id, code, state, queued_at, created_at)
                           VALUES (?, ?, ?, ?, ?, ?)
                           ON CONFLICT (consultation_id, user_id) DO UPDATE SET
                               state = excluded.state, queued_at = excluded.queued_at
                           RETURNING *""",
                        (consultation_id, user_id, new_code(), state, to_db(now), to_db(now)),
                    ) as cursor:
                        row = await cursor.fetchone()
            except sqlite3.IntegrityError as error:
                if "code" not in str(error):
                    raise
                continue  # a code collision: draw another
            assert row is not None
            return Registration.from_row(row)
        raise RuntimeError("could not draw a free registration code")

    async def registration(self, consultation_id: int, user_id: int) -> Registration | None:
        row = await self.db.fetchone(
            "SELECT * FROM consultation_registrations WHERE consultation_id = ? AND user_id = ?",
            (consultation_id, user_id),
        )
        return Registration.from_row(row) if row else None

    async def registration_by_id(self, registration_id: int) -> Registration | None:
        row = await self.db.fetchone("SELECT * FROM consultation_registrations WHERE id = ?", (registration_id,))
        return Registration.from_row(row) if row else None

    async def registration_by_code(self, code: str) -> Registration | None:
        row = await self.db.fetchone("SELECT * FROM consultation_registrations WHERE code = ?",
                                     (code.strip().upper()[:CODE_LENGTH * 2],))
        return Registration.from_row(row) if row else None

    async def set_registration_state(self, registration_id: int, state: str, now: datetime) -> None:
        """Cancel, or promote from the waiting list (which restarts `queued_at`)."""
        if state not in ("registered", "cancelled"):
            raise ValueError(f"cannot move a registration to {state!r}")
        await self.db.execute("UPDATE consultation_registrations SET state = ?, queued_at = ? WHERE id = ?",
                              (state, to_db(now), registration_id))

    async def mark_attended(self, registration_id: int, now: datetime) -> bool:
        """True the first time; a second check-in changes nothing."""
        cursor = await self.db.execute(
            "UPDATE consultation_registrations SET attended_at = ? "
            "WHERE id = ? AND state = 'registered' AND attended_at IS NULL",
            (to_db(now), registration_id),
        )
        return cursor.rowcount == 1

    async def counts(self, consultation_id: int) -> dict[str, int]:
        """How many registered, waiting, cancelled, and attended."""
        rows = await self.db.fetchall(
            "SELECT state, COUNT(*) AS n, COUNT(attended_at) AS came FROM consultation_registrations "
            "WHERE consultation_id = ? GROUP BY state",
            (consultation_id,),
        )
        counts = {"registered": 0, "waiting": 0, "cancelled": 0, "attended": 0}
        for row in rows:
            counts[row["state"]] = row["n"]
            counts["attended"] += row["came"]
        return counts

    async def first_waiting(self, consultation_id: int) -> Registration | None:
        row = await self.db.fetchone(
            "SELECT * FROM consultation_registrations WHERE consultation_id = ? AND state = 'waiting' "
            "ORDER BY queued_at, id LIMIT 1",
            (consultation_id,),
        )
        return Registration.from_row(row) if row else None

    async def waiting_position(self, registration: Registration) -> int:
        ahead = await self.db.fetchval(
            "SELECT COUNT(*) FROM consultation_registrations WHERE consultation_id = ? AND state = 'waiting' "
            "AND (queued_at < ? OR (queued_at = ? AND id < ?))",
            (registration.consultation_id, to_db(registration.queued_at), to_db(registration.queued_at),
             registration.id),
        )
        return int(ahead) + 1

    async def registrants(self, consultation_id: int, limit: int = 200) -> list[Registrant]:
        """Registered and waiting people in queue order, with the name they chat under."""
        rows = await self.db.fetchall(
            """SELECT r.*, u.display_name FROM consultation_registrations r JOIN users u ON u.id = r.user_id
               WHERE r.consultation_id = ? AND r.state IN ('registered', 'waiting')
               ORDER BY r.state = 'waiting', r.queued_at, r.id LIMIT ?""",
            (consultation_id, limit),
        )
        return [Registrant(Registration.from_row(row), row["display_name"]) for row in rows]

    async def outcome_audience(self, consultation_id: int) -> list[User]:
        """Everyone registered, plus anyone who attended (even if they cancelled afterwards)."""
        rows = await self.db.fetchall(
            """SELECT u.* FROM consultation_registrations r JOIN users u ON u.id = r.user_id
               WHERE r.consultation_id = ? AND (r.state = 'registered' OR r.attended_at IS NOT NULL)
               ORDER BY r.id""",
            (consultation_id,),
        )
        return [User.from_row(row) for row in rows]

    async def active_registrations(self, user_id: int, now: datetime,
                                   limit: int = 20) -> list[tuple[Registration, Consultation]]:
        """The user's registrations and waiting-list places for consultations that have not ended."""
        rows = await self.db.fetchall(
            """SELECT r.id AS registration_id, r.consultation_id, r.user_id, r.code, r.state, r.queued_at,
                      r.attended_at, c.*
               FROM consultation_registrations r JOIN consultations c ON c.id = r.consultation_id
               WHERE r.user_id = ? AND r.state IN ('registered', 'waiting') AND c.ends_at > ?
               ORDER BY c.starts_at, c.id LIMIT ?""",
            (user_id, to_db(now), limit),
        )
        pairs = []
        for row in rows:
            queued = from_db(row["queued_at"])
            assert queued is not None
            registration = Registration(row["registration_id"], row["consultation_id"], row["user_id"], row["code"],
                                        row["state"], queued, from_db(row["attended_at"]))
            pairs.append((registration, Consultation.from_row(row)))
        return pairs

    # --- proposals --------------------------------------------------------------------------------

    async def add_proposal(self, new: NewProposal, now: datetime) -> int:
        async with self.db.transaction() as conn:
            cursor = await conn.execute(
                """INSERT INTO proposals (consultation_id, user_id, title, description, location, latitude,
                       longitude, category, created_at, updated_at)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                (new.consultation_id, new.user_id, new.title, new.description, new.location, new.latitude,
                 new.longitude, new.category, to_db(now), to_db(now)),
            )
            proposal_id = cursor.lastrowid
            assert proposal_id is not None
            await conn.execute(
                "INSERT INTO proposal_stages (proposal_id, stage, official_id, at) VALUES (?, 'proposed', NULL, ?)",
                (proposal_id, to_db(now)),
            )
        return proposal_id

    async def proposal(self, proposal_id: int) -> Proposal | None:
        row = await self.db.fetchone(f"{_PROPOSAL_SELECT} WHERE p.id = ?", (proposal_id,))
        return Proposal.from_row(row) if row else None

    async def proposals(self, consultation_id: int, limit: int = 50) -> list[Proposal]:
        """A consultation's proposals, most supported first (then oldest first)."""
        rows = await self.db.fetchall(
            f"{_PROPOSAL_SELECT} WHERE p.consultation_id = ? ORDER BY supporters DESC, p.id LIMIT ?",
            (consultation_id, limit),
        )
        return [Proposal.from_row(row) for row in rows]

    async def count_proposals(self, consultation_id: int) -> int:
        return int(await self.db.fetchval("SELECT COUNT(*) FROM proposals WHERE consultation_id = ?",
                                          (consultation_id,)))

    async def support(self, proposal_id: int, user_id: int, now: datetime) -> bool:
        """True if this is the user's first support for the proposal."""
        cursor = await self.db.execute(
            "INSERT OR IGNORE INTO proposal_supporters (proposal_id, user_id, created_at) VALUES (?, ?, ?)",
            (proposal_id, user_id, to_db(now)),
        )
        return cursor.rowcount == 1

    async def supports(self, proposal_id: int, user_id: int) -> bool:
        return await self.db.fetchone(
            "SELECT 1 FROM proposal_supporters WHERE proposal_id = ? AND user_id = ?", (proposal_id, user_id)
        ) is not None

    async def set_stage(self, proposal_id: int, stage: str, note: str | None, official_id: int | None,
                        now: datetime) -> None:
        if stage not in STAGES:
            raise ValueError(f"unknown stage {stage!r}")
        async with self.db.transaction() as conn:
            await conn.execute("UPDATE proposals SET stage = ?, updated_at = ? WHERE id = ?",
                               (stage, to_db(now), proposal_id))
            await conn.execute(
                "INSERT INTO proposal_stages (proposal_id, stage, note, official_id, at) VALUES (?, ?, ?, ?, ?)",
                (proposal_id, stage, note, official_id, to_db(now)),
            )

    async def stage_history(self, proposal_id: int) -> list[StageChange]:
        rows = await self.db.fetchall(
            "SELECT stage, note, at FROM proposal_stages WHERE proposal_id = ? ORDER BY id", (proposal_id,)
        )
        return [StageChange(row["stage"], row["note"], from_db(row["at"])) for row in rows]  # type: ignore[arg-type]

    # --- a person's own data (UU PDP) --------------------------------------------------------------

    async def export_for_user(self, user_id: int) -> dict[str, list[dict[str, Any]]]:
        """Registrations (with attendance), own proposals and supported proposals."""
        registrations = await self.db.fetchall(
            """SELECT c.title, c.starts_at, r.code, r.state, r.attended_at, r.created_at
               FROM consultation_registrations r JOIN consultations c ON c.id = r.consultation_id
               WHERE r.user_id = ? ORDER BY r.id""",
            (user_id,),
        )
        proposals = await self.db.fetchall(
            """SELECT c.title AS consultation, p.title, p.description, p.location, p.latitude, p.longitude,
                      p.category, p.stage, p.created_at
               FROM proposals p JOIN consultations c ON c.id = p.consultation_id WHERE p.user_id = ? ORDER BY p.id""",
            (user_id,),
        )
        supported = await self.db.fetchall(
            """SELECT p.title, s.created_at AS supported_at FROM proposal_supporters s
               JOIN proposals p ON p.id = s.proposal_id WHERE s.user_id = ? ORDER BY p.id""",
            (user_id,),
        )
        return {"registrations": [dict(row) for row in registrations], "proposals": [dict(row) for row in proposals],
                "supported_proposals": [dict(row) for row in supported]}

    async def forget_user(self, user_id: int) -> None:
        """Registrations and supports go; proposals stay for the public record without their author.

        Cancel upcoming registrations first (handlers/consultations.py), so a freed place goes to the waiting list.
        """
        await self.db.execute("DELETE FROM consultation_registrations WHERE user_id = ?", (user_id,))
        await self.db.execute("DELETE FROM proposal_supporters WHERE user_id = ?", (user_id,))
        await self.db.execute("UPDATE proposals SET user_id = NULL WHERE user_id = ?", (user_id,))
        await self.db.execute("UPDATE proposal_stages SET official_id = NULL WHERE official_id = ?", (user_id,))
        await self.db.execute("UPDATE consultations SET created_by = NULL WHERE created_by = ?", (user_id,))

    async def proposal_audience(self, proposal_id: int) -> list[User]:
        """The proposer and every supporter."""
        rows = await self.db.fetchall(
            """SELECT u.* FROM users u WHERE u.id = (SELECT user_id FROM proposals WHERE id = ?)
               UNION
               SELECT u.* FROM users u JOIN proposal_supporters s ON s.user_id = u.id WHERE s.proposal_id = ?""",
            (proposal_id, proposal_id),
        )
        return [User.from_row(row) for row in rows]
