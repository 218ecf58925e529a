"""Administrative areas (kecamatan, desa) with Kemendagri codes, and fuzzy lookup of typed names."""

from __future__ import annotations

import asyncio
import csv
import io
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from rapidfuzz import fuzz, process, utils

from storage.db import Database

DEFAULT_DATASET = "kab_sleman_3404.csv"
DEFAULT_DISTRICT_NAME = "Kabupaten Sleman"
_COLUMNS = ("kecamatan_code", "kecamatan_name", "desa_code", "desa_name")


@dataclass(frozen=True)
class Kecamatan:
    code: str
    name: str


@dataclass(frozen=True)
class Desa:
    code: str
    name: str
    kecamatan_code: str
    kecamatan_name: str


class AreaFileError(ValueError):
    """An areas CSV is malformed; the message names the line."""


class Areas:
    def __init__(self, db: Database) -> None:
        self.db = db
        self._desa_cache: list[Desa] | None = None

    async def seed_default(self) -> None:
        if await self.db.fetchval("SELECT COUNT(*) FROM kecamatan"):
            return
        text = (resources.files("storage.areas") / DEFAULT_DATASET).read_text("utf-8")
        await self.import_rows(_parse(text), DEFAULT_DISTRICT_NAME)

    async def import_csv(self, path: Path, district_name: str | None = None) -> int:
        text = await asyncio.to_thread(path.read_text, "utf-8-sig")
        return await self.import_rows(_parse(text), district_name)

    async def import_rows(self, rows: list[dict[str, str]], district_name: str | None) -> int:
        """Add or rename areas; never deletes, since users and reports point at them."""
        async with self.db.transaction() as conn:
            kecamatan = {(r["kecamatan_code"], r["kecamatan_name"]) for r in rows}
            await conn.executemany(
                "INSERT INTO kecamatan (code, name) VALUES (?, ?)"
                " ON CONFLICT (code) DO UPDATE SET name = excluded.name",
                sorted(kecamatan),
            )
            await conn.executemany(
                """INSERT INTO desa (code, kecamatan_code, name) VALUES (?, ?, ?)
                   ON CONFLICT (code) DO UPDATE SET name = excluded.name, kecamatan_code = excluded.kecamatan_code""",
                [(r["desa_code"], r["kecamatan_code"], r["desa_name"]) for r in rows],
            )
            if district_name:
                await conn.execute(
                    "INSERT INTO settings_kv (key, value) VALUES ('district_name', ?)"
                    " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                    (district_name,),
                )
        self._desa_cache = None
        return len(rows)

    async def district_name(self) -> str:
        return await self.db.fetchval("SELECT value FROM settings_kv WHERE key = 'district_name'") or ""

    async def kecamatan_list(self) -> list[Kecamatan]:
        rows = await self.db.fetchall("SELECT code, name FROM kecamatan ORDER BY name")
        return [Kecamatan(r["code"], r["name"]) for r in rows]

    async def kecamatan(self, code: str) -> Kecamatan | None:
        row = await self.db.fetchone("SELECT code, name FROM kecamatan WHERE code = ?", (code,))
        return Kecamatan(row["code"], row["name"]) if row else None

    async def desa_list(self, kecamatan_code: str | None = None) -> list[Desa]:
        desa = await self._all_desa()
        if kecamatan_code is None:
            return desa
        return [d for d in desa if d.kecamatan_code == kecamatan_code]

    async def desa(self, code: str | None) -> Desa | None:
        if not code:
            return None
        return next((d for d in await self._all_desa() if d.code == code), None)

    async def match_kecamatan(self, text: str, limit: int = 3) -> list[Kecamatan]:
        """Exact name first; else the closest few names by fuzzy score (typos, spacing)."""
        options = await self.kecamatan_list()
        return _best(text, options, lambda k: k.name, limit)

    async def match_desa(self, text: str, kecamatan_code: str | None = None, limit: int = 3) -> list[Desa]:
        options = await self.desa_list(kecamatan_code)
        return _best(text, options, lambda d: d.name, limit)

    async def _all_desa(self) -> list[Desa]:
        if self._desa_cache is None:
            rows = await self.db.fetchall(
                """SELECT d.code, d.name, d.kecamatan_code, k.name AS kecamatan_name
                   FROM desa d JOIN kecamatan k ON k.code = d.kecamatan_code ORDER BY d.name"""
            )
            self._desa_cache = [Desa(r["code"], r["name"], r["kecamatan_code"], r["kecamatan_name"]) for r in rows]
        return self._desa_cache


def _squash(text: str) -> str:
    return utils.default_process(text).replace(" ", "")


def _best(text, options, name_of, limit):  # type: ignore[no-untyped-def]
    wanted = _squash(text)
    if not wanted:
        return []
    exact = [o for o in options if _squash(name_of(o)) == wanted]
    if exact:
        return exact[:limit]
    names = {i: _squash(name_of(o)) for i, o in enumerate(options)}
    found = process.extract(wanted, names, scorer=fuzz.WRatio, processor=None, limit=limit, score_cutoff=70)
    return [options[index] for _name, _score, index in found]


def _parse(text: str) -> list[dict[str, str]]:
    reader = csv.DictReader(io.StringIO(text))
    if reader.fieldnames is None or any(c not in reader.fieldnames for c in _COLUMNS):
        raise AreaFileError(f"the header must name the columns {', '.join(_COLUMNS)}")
    rows = []
    for line_no, row in enumerate(reader, start=2):
        cleaned = {c: (row.get(c) or "").strip() for c in _COLUMNS}
        missing = [c for c in _COLUMNS if not cleaned[c]]
        if missing:
            raise AreaFileError(f"line {line_no}: empty {', '.join(missing)}")
        if not cleaned["desa_code"].startswith(cleaned["kecamatan_code"]):
            raise AreaFileError(
                f"line {line_no}: desa code {cleaned['desa_code']} is not inside {cleaned['kecamatan_code']}")
        rows.append(cleaned)
    if not rows:
        raise AreaFileError("the file has no areas")
    return rows
