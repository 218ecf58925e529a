"""Helpers for the consultation, programme and scheduler tests: people, events and what they were sent."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.app import App
from handlers.types import replies_from_json
from storage.consultations import NewConsultation
from tests.support import Chat

# The default FakeClock says Monday 30 November 2026, 09.00 WIB. The consultation is on Thursday.
STARTS = datetime(2026, 12, 3, 2, 0, tzinfo=UTC)      # Kamis, 3 Desember 2026 pukul 09.00 WIB
ENDS = STARTS + timedelta(hours=3)
JOGOTIRTO = "34.04.08.2004"
BERBAH = "34.04.08"


async def citizen(app: App, name: str, desa: str = "Jogotirto", language: str = "Bahasa Indonesia") -> Chat:
    chat = Chat(app.engine, user=name)
    await chat.onboard(desa=desa, language=language)
    return chat


async def official(app: App, name: str = "petugas", kecamatan: str | None = None) -> Chat:
    """An onboarded official; limited to one kecamatan when `kecamatan` is given."""
    chat = await citizen(app, name)
    user = await app.store.users.find("console", name)
    assert user is not None
    await app.store.users.set_role(user.id, "official", kecamatan)
    await chat.send("menu")
    return chat


async def user_id(app: App, name: str) -> int:
    user = await app.store.users.find("console", name)
    assert user is not None
    return user.id


async def add_consultation(app: App, title: str = "Musrenbang Desa Jogotirto 2027", level: str = "desa",
                           kecamatan_code: str | None = BERBAH, desa_code: str | None = JOGOTIRTO,
                           starts_at: datetime = STARTS, ends_at: datetime | None = None,
                           capacity: int | None = None) -> int:
    """A consultation as an official would have created it (the creation flow has its own test)."""
    ends_at = ends_at or starts_at + timedelta(hours=3)
    new = NewConsultation(title, "Membahas usulan pembangunan desa.", level, kecamatan_code, desa_code,
                          "Balai Desa Jogotirto", None, None, None, starts_at, ends_at, capacity, None, None)
    return await app.store.consultations.create(new, app.clock())


async def sent_to(app: App, name: str) -> list[str]:
    """The texts of every outbox message queued for this person, oldest first."""
    messages = await app.store.outbox.for_user(await user_id(app, name))
    return ["\n".join(reply.text for reply in replies_from_json(m.body)) for m in messages]


async def options_sent_to(app: App, name: str) -> list[list[str]]:
    messages = await app.store.outbox.for_user(await user_id(app, name))
    return [[o.payload for reply in replies_from_json(m.body) for o in reply.options] for m in messages]
