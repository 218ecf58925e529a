"""Who a broadcast or poll is for: an audience rule, turned into one parameterised filter over `users`.

Membership (who the rule picks among people who finished onboarding) is kept apart from deliverability
(not opted out, not unreachable), so a poll can check "is this voter in the audience" with the same rule
that chose whom to push it to.

Filters plug in by kind in `FILTERS`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from storage.clock import to_db
from storage.db import Database

WHATSAPP_WINDOW = timedelta(hours=24)

_ONBOARDED = "u.consent_at IS NOT NULL AND u.desa_code IS NOT NULL"
_REACHABLE = "u.opted_out = 0 AND u.unreachable = 0"


@dataclass(frozen=True)
class Filter:
    sql: str                      # a condition on `users u` with one `?` for the audience's value (or none)


FILTERS: dict[str, Filter] = {
    "everyone": Filter("1"),
    "kecamatan": Filter("u.desa_code IN (SELECT code FROM desa WHERE kecamatan_code = ?)"),
    "desa": Filter("u.desa_code = ?"),
    "channel": Filter("u.channel = ?"),
    "language": Filter("u.locale = ?"),
    "programme": Filter("u.id IN (SELECT user_id FROM programme_subscriptions WHERE programme_id = ?)"),
}


@dataclass(frozen=True)
class Audience:
    kind: str = "everyone"
    value: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in FILTERS:
            raise ValueError(f"unknown audience kind {self.kind!r}")
        if (self.kind == "everyone") != (self.value is None):
            raise ValueError(f"audience {self.kind!r} needs {'no' if self.kind == 'everyone' else 'a'} value")

    def to_json(self) -> str:
        return json.dumps({"kind": self.kind, "value": self.value})

    @classmethod
    def from_json(cls, text: str) -> Audience:
        data = json.loads(text)
        return cls(str(data["kind"]), None if data.get("value") is None else str(data["value"]))

    def to_draft(self) -> dict[str, Any]:
        return {"kind": self.kind, "value": self.value}

    @classmethod
    def from_draft(cls, data: dict[str, Any]) -> Audience:
        return cls(str(data["kind"]), None if data.get("value") is None else str(data["value"]))


@dataclass(frozen=True)
class AudienceCount:
    members: int            # onboarded people the rule picks
    opted_out: int          # of them, who said BERHENTI
    unreachable: int        # of them, who blocked the bot or cannot be reached on their channel
    outside_window: int     # of the reachable, WhatsApp users silent for 24 h: only a template reaches them

    @property
    def reachable(self) -> int:
        return self.members - self.opted_out - self.unreachable


class Audiences:
    """Queries over an audience. The SQL fragments are the constants above; every value is bound."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def kinds(self) -> list[str]:
        """The audience kinds, in the order officials see them."""
        return list(FILTERS)

    async def count(self, audience: Audience, now: datetime) -> AudienceCount:
        where, params = self._where(audience)
        row = await self.db.fetchone(
            f"""SELECT COUNT(*) AS members,
                       COALESCE(SUM(u.opted_out = 1), 0) AS opted_out,
                       COALESCE(SUM(u.opted_out = 0 AND u.unreachable = 1), 0) AS unreachable,
                       COALESCE(SUM({_REACHABLE} AND u.channel = 'whatsapp'
                                    AND (u.last_inbound_at IS NULL OR u.last_inbound_at < ?)), 0) AS outside_window
                FROM users u WHERE {where}""",
            (to_db(now - WHATSAPP_WINDOW), *params),
        )
        assert row is not None
        return AudienceCount(row["members"], row["opted_out"], row["unreachable"], row["outside_window"])

    async def includes(self, audience: Audience, user_id: int) -> bool:
        where, params = self._where(audience)
        return await self.db.fetchone(
            f"SELECT 1 FROM users u WHERE {where} AND u.id = ?", (*params, user_id)
        ) is not None

    async def scope(self, audience: Audience) -> str:
        """The area code an audience covers: a desa, a kecamatan, or the whole district's code.

        `Context.require_official(action, kecamatan_code=scope)` then lets an official limited to one
        kecamatan reach only their own kecamatan and its desa.
        """
        if audience.kind in ("kecamatan", "desa") and audience.value:
            return audience.value
        code = await self.db.fetchval("SELECT code FROM kecamatan ORDER BY code LIMIT 1")
        return str(code).rsplit(".", 1)[0] if code else ""

    async def channels(self) -> list[str]:
        rows = await self.db.fetchall(f"SELECT DISTINCT channel FROM users u WHERE {_ONBOARDED} ORDER BY channel")
        return [row[0] for row in rows]

    async def programmes(self) -> list[tuple[str, str]]:
        """(id, name) of the active programmes people follow, for choosing their followers as an audience."""
        rows = await self.db.fetchall("SELECT id, name FROM programmes WHERE active = 1 ORDER BY name LIMIT 50")
        return [(str(row["id"]), row["name"]) for row in rows]

    @staticmethod
    def _where(audience: Audience) -> tuple[str, tuple[Any, ...]]:
        return member_filter(audience)


def member_filter(audience: Audience) -> tuple[str, tuple[Any, ...]]:
    """The condition on `users u` that picks the audience's members, and its parameters."""
    rule = FILTERS[audience.kind]
    params = () if audience.value is None else (audience.value,)
    return f"{_ONBOARDED} AND ({rule.sql})", params


@dataclass(frozen=True)
class Selection:
    """People picked by a condition on `users u` written in storage, where no audience rule an official chose
    says who (a poll's respondents in one desa, say)."""

    where: str
    params: tuple[Any, ...] = ()


def recipient_filter(audience: Audience | Selection) -> tuple[str, tuple[Any, ...]]:
    """The condition on `users u` that picks whom a bulk message goes to: the reachable among those picked."""
    if isinstance(audience, Selection):
        return f"({audience.where}) AND {_REACHABLE}", audience.params
    where, params = member_filter(audience)
    return f"{where} AND {_REACHABLE}", params
