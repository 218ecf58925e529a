"""Local holidays a district declares (beyond national holidays and cuti bersama), used for working days."""

from __future__ import annotations

from datetime import date

from storage.db import Database


class LocalHolidays:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def all(self) -> dict[date, str]:
        rows = await self.db.fetchall("SELECT day, name FROM local_holidays ORDER BY day")
        return {date.fromisoformat(row["day"]): row["name"] for row in rows}

    async def add(self, day: date, name: str) -> None:
        await self.db.execute(
            "INSERT INTO local_holidays (day, name) VALUES (?, ?) ON CONFLICT (day) DO UPDATE SET name = excluded.name",
            (day.isoformat(), name),
        )

    async def remove(self, day: date) -> bool:
        cursor = await self.db.execute("DELETE FROM local_holidays WHERE day = ?", (day.isoformat(),))
        return cursor.rowcount == 1
