"""Citizen reports (Laporan): reports with photos, history, supporters and ratings; categories and units.

Ticket numbers come from a per-year counter bumped inside the same transaction as the insert, so two
reports never share a number and a rolled-back report leaves no gap. Deadlines are stored as computed
UTC times (the date promised to the citizen does not move when a holiday is added later), which makes
"what is overdue at time T" a plain comparison.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from storage.clock import from_db, to_db
from storage.db import Database, Row
from storage.users import User

STATUSES = ("baru", "diverifikasi", "diproses", "selesai", "ditolak", "bukan_kewenangan", "ditutup")
OPEN_STATUSES = ("baru", "diverifikasi", "diproses")
PRIVACY_LEVELS = ("biasa", "rahasia", "anonim")
_UPDATABLE = frozenset(
    {"status", "unit_code", "reopen_count", "verified_at", "followup_due_at", "followed_up_at", "resolved_at",
     "autoclose_at", "closed_at"}
)
# A report is overdue when it waits for verification, or for its first follow-up, past the due time.
_OVERDUE_SQL = """((r.status = 'baru' AND r.verify_due_at <= :overdue_at)
    OR (r.status = 'diverifikasi' AND r.followed_up_at IS NULL AND r.followup_due_at <= :overdue_at))"""


def number_for(year: int, sequence: int) -> str:
    return f"LPR-{year}-{sequence:06d}"


@dataclass(frozen=True)
class Unit:
    code: str
    name_id: str
    name_en: str
    position: int
    active: bool

    def name(self, locale: str) -> str:
        return self.name_en if locale == "en" else self.name_id


@dataclass(frozen=True)
class Category:
    code: str
    name_id: str
    name_en: str
    default_unit_code: str | None
    position: int
    active: bool

    def name(self, locale: str) -> str:
        return self.name_en if locale == "en" else self.name_id


@dataclass(frozen=True)
class Report:
    id: int
    number: str
    reporter_user_id: int | None
    privacy: str
    access_code_hash: str | None
    category_code: str
    description: str
    kecamatan_code: str
    desa_code: str
    landmark: str | None
    latitude: float | None
    longitude: float | None
    status: str
    unit_code: str | None
    reopen_count: int
    created_at: datetime
    updated_at: datetime
    verify_due_at: datetime
    verified_at: datetime | None
    followup_due_at: datetime | None
    followed_up_at: datetime | None
    resolved_at: datetime | None
    autoclose_at: datetime | None
    closed_at: datetime | None

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    def due_at(self) -> datetime | None:
        """The deadline the report is waiting on now, if any (verification, then first follow-up)."""
        if self.status == "baru":
            return self.verify_due_at
        if self.status == "diverifikasi" and self.followed_up_at is None:
            return self.followup_due_at
        return None

    def is_overdue(self, at: datetime) -> bool:
        due = self.due_at()
        return due is not None and at >= due

    @classmethod
    def from_row(cls, row: Row) -> Report:
        def moment(key: str) -> datetime | None:
            return from_db(row[key])

        created, updated, verify_due = moment("created_at"), moment("updated_at"), moment("verify_due_at")
        assert created is not None and updated is not None and verify_due is not None
        return cls(
            id=row["id"], number=row["number"], reporter_user_id=row["reporter_user_id"], privacy=row["privacy"],
            access_code_hash=row["access_code_hash"], category_code=row["category_code"],
            description=row["description"], kecamatan_code=row["kecamatan_code"], desa_code=row["desa_code"],
            landmark=row["landmark"], latitude=row["latitude"], longitude=row["longitude"], status=row["status"],
            unit_code=row["unit_code"], reopen_count=row["reopen_count"], created_at=created, updated_at=updated,
            verify_due_at=verify_due, verified_at=moment("verified_at"), followup_due_at=moment("followup_due_at"),
            followed_up_at=moment("followed_up_at"), resolved_at=moment("resolved_at"),
            autoclose_at=moment("autoclose_at"), closed_at=moment("closed_at"),
        )


@dataclass(frozen=True)
class NewReport:
    reporter_user_id: int | None
    privacy: str
    category_code: str
    description: str
    kecamatan_code: str
    desa_code: str
    verify_due_at: datetime
    landmark: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    unit_code: str | None = None
    photos: tuple[str, ...] = ()
    access_code_hash: str | None = None


@dataclass(frozen=True)
class HistoryEntry:
    at: datetime
    actor_user_id: int | None
    event: str
    status: str | None
    unit_code: str | None
    note: str | None


@dataclass(frozen=True)
class ReportFilter:
    """What an official's list or an export asks for; empty fields mean 'any'."""

    statuses: tuple[str, ...] = ()
    category_code: str | None = None
    kecamatan_code: str | None = None
    desa_code: str | None = None
    overdue_at: datetime | None = None
    since: datetime | None = None
    until: datetime | None = None


@dataclass(frozen=True)
class ExportRow:
    report: Report
    reporter_name: str | None
    supporters: int
    rating: int | None


class Reports:
    def __init__(self, db: Database) -> None:
        self.db = db
        self.categories = ReportCategories(db)
        self.units = ReportUnits(db)

    async def create(self, new: NewReport, year: int, now: datetime) -> Report:
        """Insert a report with its photos and first history row; the ticket number is taken here."""
        if new.privacy not in PRIVACY_LEVELS:
            raise ValueError(f"unknown privacy {new.privacy!r}")
        stamp = to_db(now)
        async with self.db.transaction() as conn:
            async with conn.execute(
                """INSERT INTO report_counters (year, last) VALUES (?, 1)
                   ON CONFLICT (year) DO UPDATE SET last = last + 1 RETURNING last""",
                (year,),
            ) as cursor:
                counter = await cursor.fetchone()
            assert counter is not None
            async with conn.execute(
                """INSERT INTO reports (number, reporter_user_id, privacy, access_code_hash, category_code,
                       description, kecamatan_code, desa_code, landmark, latitude, longitude, unit_code,
                       created_at, updated_at, verify_due_at)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING *""",
                (number_for(year, counter[0]), new.reporter_user_id, new.privacy, new.access_code_hash,
                 new.category_code, new.description, new.kecamatan_code, new.desa_code, new.landmark,
                 new.latitude, new.longitude, new.unit_code, stamp, stamp, to_db(new.verify_due_at)),
            ) as cursor:
                inserted = await cursor.fetchone()
            assert inserted is not None
            report = Report.from_row(inserted)  # the row as stored, without reading it back
            if new.photos:
                await conn.executemany("INSERT INTO report_photos (report_id, path) VALUES (?, ?)",
                                       [(report.id, p) for p in new.photos])
            await conn.execute(
                """INSERT INTO report_history (report_id, at, actor_user_id, event, status, unit_code)
                   VALUES (?, ?, ?, 'created', 'baru', ?)""",
                (report.id, stamp, new.reporter_user_id, new.unit_code),
            )
        return report

    async def get(self, report_id: int) -> Report | None:
        row = await self.db.fetchone("SELECT * FROM reports WHERE id = ?", (report_id,))
        return Report.from_row(row) if row else None

    async def by_number(self, number: str) -> Report | None:
        row = await self.db.fetchone("SELECT * FROM reports WHERE number = ?", (number,))
        return Report.from_row(row) if row else None

    async def update(self, report_id: int, now: datetime, **fields: Any) -> None:
        unknown = set(fields) - _UPDATABLE
        if unknown:
            raise ValueError(f"not updatable: {sorted(unknown)}")
        if "status" in fields and fields["status"] not in STATUSES:
            raise ValueError(f"unknown status {fields['status']!r}")
        values = [to_db(v) if isinstance(v, datetime) else v for v in fields.values()]
        assignments = "".join(f", {name} = ?" for name in fields)  # names come from the whitelist above
        await self.db.execute(
            f"UPDATE reports SET updated_at = ?{assignments} WHERE id = ?", (to_db(now), *values, report_id)
        )

    async def add_history(self, report_id: int, now: datetime, event: str, actor_user_id: int | None = None,
                          status: str | None = None, unit_code: str | None = None, note: str | None = None) -> None:
        await self.db.execute(
            """INSERT INTO report_history (report_id, at, actor_user_id, event, status, unit_code, note)
               VALUES (?, ?, ?, ?, ?, ?, ?)""",
            (report_id, to_db(now), actor_user_id, event, status, unit_code, note),
        )

    async def history(self, report_id: int, limit: int = 50) -> list[HistoryEntry]:
        """The latest `limit` events, oldest first."""
        rows = await self.db.fetchall(
            """SELECT * FROM (SELECT * FROM report_history WHERE report_id = ? ORDER BY id DESC LIMIT ?)
               ORDER BY id""",
            (report_id, limit),
        )
        return [HistoryEntry(_moment(r["at"]), r["actor_user_id"], r["event"], r["status"], r["unit_code"],
                             r["note"]) for r in rows]

    async def photos(self, report_id: int) -> list[str]:
        rows = await self.db.fetchall("SELECT path FROM report_photos WHERE report_id = ? ORDER BY id", (report_id,))
        return [row["path"] for row in rows]

    async def add_supporter(self, report_id: int, user_id: int, now: datetime) -> bool:
        """True when the user was not a supporter yet."""
        cursor = await self.db.execute(
            "INSERT INTO report_supporters (report_id, user_id, created_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
            (report_id, user_id, to_db(now)),
        )
        return cursor.rowcount == 1

    async def supporters(self, report_id: int) -> list[User]:
        rows = await self.db.fetchall(
            """SELECT u.* FROM report_supporters s JOIN users u ON u.id = s.user_id
               WHERE s.report_id = ? ORDER BY s.created_at, u.id""",
            (report_id,),
        )
        return [User.from_row(row) for row in rows]

    async def supporter_count(self, report_id: int) -> int:
        return int(await self.db.fetchval("SELECT COUNT(*) FROM report_supporters WHERE report_id = ?", (report_id,)))

    async def is_supporter(self, report_id: int, user_id: int) -> bool:
        return bool(await self.db.fetchval(
            "SELECT 1 FROM report_supporters WHERE report_id = ? AND user_id = ?", (report_id, user_id)))

    async def for_user(self, user_id: int, limit: int, offset: int = 0) -> list[tuple[Report, bool]]:
        """The user's own reports and those they support (flagged True), newest update first."""
        rows = await self.db.fetchall(
            """SELECT r.*, r.reporter_user_id IS NOT ? AS supported FROM reports r
               WHERE r.reporter_user_id = ?
                  OR r.id IN (SELECT report_id FROM report_supporters WHERE user_id = ?)
               ORDER BY r.updated_at DESC, r.id DESC LIMIT ? OFFSET ?""",
            (user_id, user_id, user_id, limit, offset),
        )
        return [(Report.from_row(row), bool(row["supported"])) for row in rows]

    async def count_for_user(self, user_id: int) -> int:
        return int(await self.db.fetchval(
            """SELECT COUNT(*) FROM reports WHERE reporter_user_id = ?
               OR id IN (SELECT report_id FROM report_supporters WHERE user_id = ?)""",
            (user_id, user_id),
        ))

    async def search(self, wanted: ReportFilter, limit: int, offset: int = 0) -> list[Report]:
        where, params = _where(wanted)
        rows = await self.db.fetchall(
            f"""SELECT r.* FROM reports r WHERE {where}
                ORDER BY r.created_at DESC, r.id DESC LIMIT :limit OFFSET :offset""",
            {**params, "limit": limit, "offset": offset},
        )
        return [Report.from_row(row) for row in rows]

    async def count(self, wanted: ReportFilter) -> int:
        where, params = _where(wanted)
        return int(await self.db.fetchval(f"SELECT COUNT(*) FROM reports r WHERE {where}", params))

    async def due_for_autoclose(self, at: datetime) -> list[Report]:
        rows = await self.db.fetchall(
            "SELECT * FROM reports WHERE status = 'selesai' AND autoclose_at <= ? ORDER BY id", (to_db(at),)
        )
        return [Report.from_row(row) for row in rows]

    async def open_near(self, category_code: str, desa_code: str, box: tuple[float, float, float, float] | None,
                        exclude_user_id: int, limit: int = 50) -> list[Report]:
        """Open reports of one category in a desa or inside a (south, north, west, east) box, not the user's own."""
        south, north, west, east = box if box else (1.0, -1.0, 1.0, -1.0)  # an empty box matches nothing
        statuses = ", ".join("?" * len(OPEN_STATUSES))
        # a UNION, not an OR, so each half uses its own index (0009_report_lookup)
        rows = await self.db.fetchall(
            f"""SELECT * FROM reports WHERE id IN (
                    SELECT id FROM reports WHERE category_code = ? AND desa_code = ? AND status IN ({statuses})
                    UNION
                    SELECT id FROM reports WHERE category_code = ? AND latitude BETWEEN ? AND ?
                       AND longitude BETWEEN ? AND ? AND status IN ({statuses}))
                 AND reporter_user_id IS NOT ?
               ORDER BY id DESC LIMIT ?""",
            (category_code, desa_code, *OPEN_STATUSES, category_code, south, north, west, east, *OPEN_STATUSES,
             exclude_user_id, limit),
        )
        return [Report.from_row(row) for row in rows]

    async def rate(self, report_id: int, round_: int, rating: int, now: datetime) -> None:
        await self.db.execute(
            """INSERT INTO report_ratings (report_id, round, rating, rated_at) VALUES (?, ?, ?, ?)
               ON CONFLICT (report_id, round) DO UPDATE SET rating = excluded.rating, rated_at = excluded.rated_at""",
            (report_id, round_, rating, to_db(now)),
        )

    async def rating(self, report_id: int, round_: int) -> int | None:
        return await self.db.fetchval(
            "SELECT rating FROM report_ratings WHERE report_id = ? AND round = ?", (report_id, round_)
        )

    async def handler_ids(self, report: Report) -> set[int]:
        """Officials handling a report: members of its unit and officials who changed or assigned it."""
        rows = await self.db.fetchall(
            """SELECT h.actor_user_id AS id FROM report_history h JOIN users u ON u.id = h.actor_user_id
               WHERE h.report_id = ? AND h.event IN ('status', 'assigned') AND u.role IN ('official', 'admin')
               UNION
               SELECT m.user_id FROM report_unit_members m JOIN users u ON u.id = m.user_id
               WHERE m.unit_code = ? AND u.role IN ('official', 'admin')""",
            (report.id, report.unit_code),
        )
        return {row["id"] for row in rows}

    async def export_for_user(self, user_id: int) -> dict[str, list[dict[str, Any]]]:
        """A citizen's own reports (with their ratings) and the reports they support (UU PDP access right)."""
        own = await self.db.fetchall(
            """SELECT r.number, r.category_code, r.status, r.privacy, r.description, r.desa_code, r.landmark,
                      r.latitude, r.longitude, r.created_at, r.updated_at,
                      (SELECT COUNT(*) FROM report_photos p WHERE p.report_id = r.id) AS photos,
                      (SELECT json_group_array(g.rating) FROM report_ratings g WHERE g.report_id = r.id) AS ratings
               FROM reports r WHERE r.reporter_user_id = ? ORDER BY r.id""",
            (user_id,),
        )
        supported = await self.db.fetchall(
            """SELECT r.number, r.status, s.created_at AS supported_at FROM report_supporters s
               JOIN reports r ON r.id = s.report_id WHERE s.user_id = ? ORDER BY r.id""",
            (user_id,),
        )
        return {"own": [dict(row) for row in own], "supported": [dict(row) for row in supported]}

    async def forget_user(self, user_id: int) -> None:
        """Reports stay for the public record as anonymous ones; supports and unit membership go.

        Ratings hold no link to a person, so they stay as they are.
        """
        await self.db.execute("DELETE FROM report_supporters WHERE user_id = ?", (user_id,))
        await self.db.execute(
            """UPDATE reports SET reporter_user_id = NULL, privacy = 'anonim'
               WHERE reporter_user_id = ?""",
            (user_id,),
        )
        await self.db.execute("UPDATE report_history SET actor_user_id = NULL WHERE actor_user_id = ?", (user_id,))
        await self.db.execute("DELETE FROM report_unit_members WHERE user_id = ?", (user_id,))

    async def export_rows(self, wanted: ReportFilter, limit: int) -> list[ExportRow]:
        """Reports with what an export shows beside them; the reporter's name only for 'biasa' reports."""
        where, params = _where(wanted)
        rows = await self.db.fetchall(
            f"""SELECT r.*,
                   CASE WHEN r.privacy = 'biasa' THEN u.display_name END AS reporter_name,
                   (SELECT COUNT(*) FROM report_supporters s WHERE s.report_id = r.id) AS supporters,
                   (SELECT rating FROM report_ratings g WHERE g.report_id = r.id
                    ORDER BY g.round DESC LIMIT 1) AS rating
               FROM reports r LEFT JOIN users u ON u.id = r.reporter_user_id
               WHERE {where} ORDER BY r.created_at, r.id LIMIT :limit""",
            {**params, "limit": limit},
        )
        return [ExportRow(Report.from_row(row), row["reporter_name"], row["supporters"], row["rating"])
                for row in rows]


def _where(wanted: ReportFilter) -> tuple[str, dict[str, Any]]:
    clauses = ["1 = 1"]
    params: dict[str, Any] = {}
    if wanted.statuses:
        names = [f":status{i}" for i in range(len(wanted.statuses))]
        clauses.append(f"r.status IN ({', '.join(names)})")
        params.update({name[1:]: status for name, status in zip(names, wanted.statuses, strict=True)})
    if wanted.category_code:
        clauses.append("r.category_code = :category")
        params["category"] = wanted.category_code
    if wanted.kecamatan_code:
        clauses.append("r.kecamatan_code = :kecamatan")
        params["kecamatan"] = wanted.kecamatan_code
    if wanted.desa_code:
        clauses.append("r.desa_code = :desa")
        params["desa"] = wanted.desa_code
    if wanted.overdue_at:
        clauses.append(_OVERDUE_SQL)
        params["overdue_at"] = to_db(wanted.overdue_at)
    if wanted.since:
        clauses.append("r.created_at >= :since")
        params["since"] = to_db(wanted.since)
    if wanted.until:
        clauses.append("r.created_at < :until")
        params["until"] = to_db(wanted.until)
    return " AND ".join(clauses), params


class ReportCategories:
    """The category list citizens choose from; officials edit it (`sinergi reports categories`)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def list(self, include_inactive: bool = False) -> list[Category]:
        rows = await self.db.fetchall(
            "SELECT * FROM report_categories WHERE active = 1 OR ? ORDER BY position, code", (int(include_inactive),)
        )
        return [_category(row) for row in rows]

    async def get(self, code: str) -> Category | None:
        row = await self.db.fetchone("SELECT * FROM report_categories WHERE code = ?", (code,))
        return _category(row) if row else None

    async def save(self, code: str, name_id: str, name_en: str, default_unit_code: str | None = None,
                   position: int | None = None, active: bool = True) -> None:
        await self.db.execute(
            """INSERT INTO report_categories (code, name_id, name_en, default_unit_code, position, active)
               VALUES (?, ?, ?, ?, COALESCE(?, (SELECT COALESCE(MAX(position), 0) + 1 FROM report_categories)), ?)
               ON CONFLICT (code) DO UPDATE SET name_id = excluded.name_id, name_en = excluded.name_en,
                   default_unit_code = excluded.default_unit_code, active = excluded.active,
                   position = COALESCE(?, report_categories.position)""",
            (code, name_id, name_en, default_unit_code, position, int(active), position),
        )


class ReportUnits:
    """OPD/dinas a report can be assigned to, and which official works in which unit."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def list(self, include_inactive: bool = False) -> list[Unit]:
        rows = await self.db.fetchall(
            "SELECT * FROM report_units WHERE active = 1 OR ? ORDER BY position, code", (int(include_inactive),)
        )
        return [_unit(row) for row in rows]

    async def get(self, code: str | None) -> Unit | None:
        if not code:
            return None
        row = await self.db.fetchone("SELECT * FROM report_units WHERE code = ?", (code,))
        return _unit(row) if row else None

    async def save(self, code: str, name_id: str, name_en: str, position: int | None = None,
                   active: bool = True) -> None:
        await self.db.execute(
            """INSERT INTO report_units (code, name_id, name_en, position, active)
               VALUES (?, ?, ?, COALESCE(?, (SELECT COALESCE(MAX(position), 0) + 1 FROM report_units)), ?)
               ON CONFLICT (code) DO UPDATE SET name_id = excluded.name_id, name_en = excluded.name_en,
                   active = excluded.active, position = COALESCE(?, report_units.position)""",
            (code, name_id, name_en, position, int(active), position),
        )

    async def unit_of(self, user_id: int) -> str | None:
        return await self.db.fetchval("SELECT unit_code FROM report_unit_members WHERE user_id = ?", (user_id,))

    async def set_member(self, user_id: int, unit_code: str | None) -> None:
        if unit_code is None:
            await self.db.execute("DELETE FROM report_unit_members WHERE user_id = ?", (user_id,))
            return
        await self.db.execute(
            """INSERT INTO report_unit_members (user_id, unit_code) VALUES (?, ?)
               ON CONFLICT (user_id) DO UPDATE SET unit_code = excluded.unit_code""",
            (user_id, unit_code),
        )

    async def members(self, unit_code: str) -> list[User]:
        """Officials working in a unit (a member who lost the role is left out)."""
        rows = await self.db.fetchall(
            """SELECT u.* FROM report_unit_members m JOIN users u ON u.id = m.user_id
               WHERE m.unit_code = ? AND u.role IN ('official', 'admin') ORDER BY u.id""",
            (unit_code,),
        )
        return [User.from_row(row) for row in rows]


def _moment(text: str) -> datetime:
    moment = from_db(text)
    assert moment is not None
    return moment


def _category(row: Row) -> Category:
    return Category(row["code"], row["name_id"], row["name_en"], row["default_unit_code"], row["position"],
                    bool(row["active"]))


def _unit(row: Row) -> Unit:
    return Unit(row["code"], row["name_id"], row["name_en"], row["position"], bool(row["active"]))

