"""Quick polls (jajak pendapat): the question, its options, and one vote per person (changeable until close).

A vote is an upsert on UNIQUE(poll_id, user_id), stored as it arrives; it keeps the voter's desa so
results can be shown per kecamatan and desa, and stays as a count if the person later deletes their data.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from storage.audience import Audience, Selection, member_filter
from storage.clock import from_db, to_db
from storage.db import Database, Row
from storage.users import User

MIN_OPTIONS = 2
MAX_OPTIONS = 10


@dataclass(frozen=True)
class Poll:
    id: int
    created_by: int | None
    question: str
    options: tuple[str, ...]        # position n is options[n - 1]
    audience: Audience
    results_public: bool
    closes_at: datetime | None
    state: str                      # open | closed
    recipients: int
    created_at: datetime
    closed_at: datetime | None
    results_shared_at: datetime | None

    @property
    def group_id(self) -> str:
        return f"poll:{self.id}"

    def is_open(self, now: datetime) -> bool:
        """Open until closed by hand or until its closing time, even before the scheduler notices."""
        return self.state == "open" and (self.closes_at is None or now < self.closes_at)


@dataclass(frozen=True)
class Tally:
    counts: tuple[int, ...]         # votes per position, in option order

    @property
    def total(self) -> int:
        return sum(self.counts)


@dataclass(frozen=True)
class AreaTally:
    code: str
    name: str
    kecamatan: str                  # the kecamatan's name (the area's own name at kecamatan level)
    tally: Tally


class Polls:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def create(self, created_by: int | None, question: str, options: list[str], audience: Audience,
                     results_public: bool, closes_at: datetime | None, now: datetime) -> Poll:
        if not MIN_OPTIONS <= len(options) <= MAX_OPTIONS:
            raise ValueError(f"a poll needs {MIN_OPTIONS} to {MAX_OPTIONS} options")
        async with self.db.transaction() as conn:
            row = await self.db.write_returning(
                """INSERT INTO polls (created_by, question, audience, results_public, closes_at, created_at)
                   VALUES (?, ?, ?, ?, ?, ?) RETURNING id""",
                (created_by, question, audience.to_json(), int(results_public),
                 to_db(closes_at) if closes_at else None, to_db(now)),
            )
            assert row is not None
            await conn.executemany(
                "INSERT INTO poll_options (poll_id, position, label) VALUES (?, ?, ?)",
                [(row["id"], position, label) for position, label in enumerate(options, start=1)],
            )
        poll = await self.get(row["id"])
        assert poll is not None
        return poll

    async def get(self, poll_id: int) -> Poll | None:
        rows = await self.db.fetchall(f"{_WITH_OPTIONS} WHERE p.id = ?", (poll_id,))
        return _poll(rows[0]) if rows else None

    async def recent(self, limit: int = 10) -> list[Poll]:
        rows = await self.db.fetchall(f"{_WITH_OPTIONS} ORDER BY p.id DESC LIMIT ?", (limit,))
        return [_poll(row) for row in rows]

    async def open_polls(self, now: datetime, limit: int = 20) -> list[Poll]:
        rows = await self.db.fetchall(
            f"""{_WITH_OPTIONS} WHERE p.state = 'open' AND (p.closes_at IS NULL OR p.closes_at > ?)
                ORDER BY p.id DESC LIMIT ?""",
            (to_db(now), limit),
        )
        return [_poll(row) for row in rows]

    async def due(self, now: datetime) -> list[Poll]:
        """Open polls whose closing time has passed (the scheduler closes them)."""
        rows = await self.db.fetchall(
            f"{_WITH_OPTIONS} WHERE p.state = 'open' AND p.closes_at <= ? ORDER BY p.closes_at, p.id", (to_db(now),)
        )
        return [_poll(row) for row in rows]

    async def set_recipients(self, poll_id: int, recipients: int) -> None:
        await self.db.execute("UPDATE polls SET recipients = ? WHERE id = ?", (recipients, poll_id))

    async def close(self, poll_id: int, now: datetime) -> bool:
        """Close an open poll; False if it was already closed."""
        cursor = await self.db.execute(
            "UPDATE polls SET state = 'closed', closed_at = ? WHERE id = ? AND state = 'open'", (to_db(now), poll_id)
        )
        return cursor.rowcount == 1

    async def mark_results_shared(self, poll_id: int, now: datetime) -> bool:
        """Remember that respondents got their results; False if that already happened (never twice)."""
        cursor = await self.db.execute(
            "UPDATE polls SET results_shared_at = ? WHERE id = ? AND results_shared_at IS NULL",
            (to_db(now), poll_id),
        )
        return cursor.rowcount == 1

    async def vote(self, poll: Poll, user_id: int, position: int, now: datetime) -> tuple[bool, int | None]:
        """Record or change a vote if the person is in the poll's audience: (counted, their previous answer).

        One statement, so a burst of votes costs little: an upsert that writes only for a member of the
        audience, keeps the voter's desa for the results, and returns the answer it replaced. The caller
        checks that the poll is open and the position is one of its options.
        """
        where, params = member_filter(poll.audience)
        row = await self.db.write_returning(
            f"""INSERT INTO poll_votes (poll_id, user_id, position, desa_code, voted_at)
                SELECT ?, u.id, ?, u.desa_code, ? FROM users u WHERE u.id = ? AND {where}
                ON CONFLICT (poll_id, user_id) DO UPDATE SET
                    previous_position = poll_votes.position, position = excluded.position,
                    desa_code = excluded.desa_code, changed_at = excluded.voted_at
                RETURNING previous_position""",
            (poll.id, position, to_db(now), user_id, *params),
        )
        return (False, None) if row is None else (True, row["previous_position"])

    async def members_among(self, poll: Poll, user_ids: Sequence[int]) -> set[int]:
        """Which of these people (a batch of at most a few hundred) are in the poll's audience."""
        if not user_ids:
            return set()
        where, params = member_filter(poll.audience)
        rows = await self.db.fetchall(
            f"SELECT u.id FROM users u WHERE u.id IN ({', '.join('?' * len(user_ids))}) AND {where}",
            (*user_ids, *params),
        )
        return {row[0] for row in rows}

    async def vote_all(self, poll: Poll, votes: Sequence[tuple[User, int]], now: datetime) -> list[int | None]:
        """Record or change many votes with one statement (a burst); returns each voter's previous answer.

        The caller, in the same transaction, checked what `vote` checks: the poll is open, each position is one
        of its options, each voter is in its audience (`members_among`). The rows are what `vote` writes.
        """
        if not votes:
            return []
        rows = await self.db.fetchall(
            f"""SELECT user_id, position FROM poll_votes
                WHERE poll_id = ? AND user_id IN ({', '.join('?' * len(votes))})""",
            (poll.id, *(user.id for user, _position in votes)),
        )
        current: dict[int, int] = {row["user_id"]: row["position"] for row in rows}
        previous = []
        for user, position in votes:  # one person twice in a batch: the second changes the first
            previous.append(current.get(user.id))
            current[user.id] = position
        stamp = to_db(now)
        await self.db.executemany(
            """INSERT INTO poll_votes (poll_id, user_id, position, desa_code, voted_at) VALUES (?, ?, ?, ?, ?)
               ON CONFLICT (poll_id, user_id) DO UPDATE SET
                   previous_position = poll_votes.position, position = excluded.position,
                   desa_code = excluded.desa_code, changed_at = excluded.voted_at""",
            [(poll.id, user.id, position, user.desa_code, stamp) for user, position in votes],
        )
        return previous

    async def vote_of(self, poll_id: int, user_id: int) -> int | None:
        return await self.db.fetchval(
            "SELECT position FROM poll_votes WHERE poll_id = ? AND user_id = ?", (poll_id, user_id)
        )

    async def answered(self, user_id: int, poll_ids: list[int]) -> set[int]:
        if not poll_ids:
            return set()
        marks = ", ".join("?" for _ in poll_ids)
        rows = await self.db.fetchall(
            f"SELECT poll_id FROM poll_votes WHERE user_id = ? AND poll_id IN ({marks})", (user_id, *poll_ids)
        )
        return {row[0] for row in rows}

    async def tally(self, poll: Poll, desa_code: str | None = None, kecamatan_code: str | None = None) -> Tally:
        """Votes per option, for the district or one desa or kecamatan."""
        rows = await self.db.fetchall(
            """SELECT v.position, COUNT(*) AS n FROM poll_votes v LEFT JOIN desa d ON d.code = v.desa_code
               WHERE v.poll_id = ? AND (? IS NULL OR v.desa_code = ?) AND (? IS NULL OR d.kecamatan_code = ?)
               GROUP BY v.position""",
            (poll.id, desa_code, desa_code, kecamatan_code, kecamatan_code),
        )
        return _tally(poll, {row["position"]: row["n"] for row in rows})

    async def tally_by_area(self, poll: Poll, level: str, within: str | None = None) -> list[AreaTally]:
        """Votes per option for each kecamatan or desa that has votes, optionally only inside one kecamatan."""
        if level not in ("kecamatan", "desa"):
            raise ValueError(f"unknown level {level!r}")
        area = "k" if level == "kecamatan" else "d"
        rows = await self.db.fetchall(
            f"""SELECT {area}.code AS code, {area}.name AS name, k.name AS kecamatan, v.position, COUNT(*) AS n
                FROM poll_votes v JOIN desa d ON d.code = v.desa_code JOIN kecamatan k ON k.code = d.kecamatan_code
                WHERE v.poll_id = ? AND (? IS NULL OR k.code = ?)
                GROUP BY 1, 4 ORDER BY k.name, {area}.name""",
            (poll.id, within, within),
        )
        areas: dict[str, tuple[str, str, dict[int, int]]] = {}
        for row in rows:
            areas.setdefault(row["code"], (row["name"], row["kecamatan"], {}))[2][row["position"]] = row["n"]
        return [AreaTally(code, name, kecamatan, _tally(poll, counts))
                for code, (name, kecamatan, counts) in areas.items()]

    async def respondent_desa(self, poll_id: int) -> list[str | None]:
        """The desa its respondents live in now (None for someone without one), in the order of their first
        respondent, as results shared per desa are queued."""
        rows = await self.db.fetchall(
            """SELECT u.desa_code FROM poll_votes v JOIN users u ON u.id = v.user_id WHERE v.poll_id = ?
               GROUP BY u.desa_code ORDER BY MIN(u.id)""",
            (poll_id,),
        )
        return [row[0] for row in rows]

    @staticmethod
    def respondents_in(poll_id: int, desa_code: str | None) -> Selection:
        """A poll's respondents who live in one desa now, for queueing a message to them in one statement."""
        return Selection("u.id IN (SELECT user_id FROM poll_votes WHERE poll_id = ?) AND u.desa_code IS ?",
                         (poll_id, desa_code))

    async def export_for_user(self, user_id: int) -> list[dict[str, object]]:
        rows = await self.db.fetchall(
            """SELECT p.question, o.label AS answer, v.voted_at, v.changed_at FROM poll_votes v
               JOIN polls p ON p.id = v.poll_id
               JOIN poll_options o ON o.poll_id = v.poll_id AND o.position = v.position
               WHERE v.user_id = ? ORDER BY v.voted_at""",
            (user_id,),
        )
        return [dict(row) for row in rows]

    async def forget_user(self, user_id: int) -> None:
        """Votes stay only as counts (with the desa, for results per area)."""
        await self.db.execute("UPDATE poll_votes SET user_id = NULL WHERE user_id = ?", (user_id,))


# A poll with its option labels in order, in one query (a vote reads its poll this way).
_WITH_OPTIONS = """SELECT p.*, (SELECT json_group_array(label) FROM
                       (SELECT label FROM poll_options o WHERE o.poll_id = p.id ORDER BY o.position)) AS labels
                   FROM polls p"""


def _poll(row: Row) -> Poll:
    created_at = from_db(row["created_at"])
    assert created_at is not None
    return Poll(
        id=row["id"], created_by=row["created_by"], question=row["question"], options=tuple(json.loads(row["labels"])),
        audience=Audience.from_json(row["audience"]), results_public=bool(row["results_public"]),
        closes_at=from_db(row["closes_at"]), state=row["state"], recipients=row["recipients"],
        created_at=created_at, closed_at=from_db(row["closed_at"]), results_shared_at=from_db(row["results_shared_at"]),
    )


def _tally(poll: Poll, counts: dict[int, int]) -> Tally:
    return Tally(tuple(counts.get(position, 0) for position in range(1, len(poll.options) + 1)))
