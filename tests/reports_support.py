"""Helpers for the Laporan tests: people in chat, a report sent the way a citizen sends it, and outbox reads."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.app import App
from handlers.types import Location, Media
from storage.db import Store
from storage.outbox import OutboxMessage
from storage.reports import NewReport, Report
from storage.users import User
from tests.support import Chat

JOGOTIRTO = "34.04.08.2004"          # Desa Jogotirto, Kecamatan Berbah
BERBAH = "34.04.08"
NEAR_SD = Location(-7.8000, 110.4500)


async def citizen(app: App, name: str = "warga", desa: str = "Jogotirto", language: str = "Bahasa Indonesia") -> Chat:
    chat = Chat(app.engine, user=name)
    await chat.onboard(desa=desa, language=language)
    return chat


async def official(app: App, name: str = "petugas", kecamatan: str | None = None) -> Chat:
    chat = Chat(app.engine, user=name, display_name=f"Petugas {name}")
    await chat.onboard()
    await app.store.users.set_role((await user_of(app, chat)).id, "official", kecamatan)
    return chat


async def user_of(app: App, chat: Chat) -> User:
    user = await app.store.users.find(chat.channel, chat.user)
    assert user is not None
    return user


async def send_report(chat: Chat, *, category: str = "Jalan & jembatan",
                      description: str = "Jalan berlubang besar di depan sekolah, sudah dua minggu",
                      location: Location | None = None, landmark: str = "depan SD Negeri 2",
                      privacy: str = "Biasa", photos: tuple[str, ...] = (), support_duplicate: bool = False) -> str:
    """Drive 'Lapor masalah' to the end; returns the whole confirmation text."""
    await chat.send("menu")
    await chat.click("Lapor masalah")
    await chat.click(category)
    await chat.send(description)
    for path in photos:
        await chat.send(media=(Media("photo", path),))
    await chat.click("Selesai" if photos else "Lewati")
    if location is not None:
        await chat.send(location=location)
    else:
        await chat.send(landmark)
    await chat.click(privacy)
    if "Dukung laporan ini" in chat.labels:
        await chat.click("Dukung laporan ini" if support_duplicate else "Tetap kirim laporan saya")
        if support_duplicate:
            return chat.text
    assert "Mohon periksa laporan" in chat.text, chat.text
    await chat.click("Kirim laporan")
    return chat.text


async def add_report(store: Store, reporter_id: int | None, now: datetime, *, category: str = "jalan",
                     desa: str = JOGOTIRTO, privacy: str = "biasa", description: str = "Lampu jalan mati total",
                     latitude: float | None = None, longitude: float | None = None, unit: str | None = None,
                     due: datetime | None = None) -> Report:
    """A report written straight to storage, for tests about what happens after it was sent."""
    return await store.reports.create(
        NewReport(reporter_user_id=reporter_id, privacy=privacy, category_code=category, description=description,
                  kecamatan_code=desa.rsplit(".", 1)[0], desa_code=desa,
                  verify_due_at=due or now + timedelta(days=3),
                  latitude=latitude, longitude=longitude, unit_code=unit, landmark="dekat balai desa"),
        year=now.year, now=now,
    )


async def outbox_of(store: Store, user: User, kind: str | None = None) -> list[OutboxMessage]:
    return [m for m in await store.outbox.for_user(user.id) if kind is None or m.kind == kind]


def texts(message: OutboxMessage) -> str:
    return "\n".join(reply["text"] for reply in json.loads(message.body))


def options(message: OutboxMessage) -> list[list[str]]:
    return [option for reply in json.loads(message.body) for option in reply["options"]]


def wib(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    """A district (WIB) wall-clock time as an aware UTC datetime."""
    return datetime(year, month, day, hour, minute, tzinfo=ZoneInfo("Asia/Jakarta")).astimezone(UTC)


def exported_csv(chat: Chat) -> str:
    """The CSV file the last reply carried, checked to start with a UTF-8 BOM, as text."""
    data = Path(chat.replies[0].files[0]).read_bytes()
    assert data.startswith(b"\xef\xbb\xbf"), "CSV must start with a UTF-8 BOM"
    return data.decode("utf-8-sig")
