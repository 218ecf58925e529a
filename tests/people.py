"""Many onboarded people at once, written straight into SQLite, for audience, fan-out and pacing tests."""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.app import App
from storage.clock import to_db
from storage.db import Store
from tests.support import Chat

JOGOTIRTO = "34.04.08.2004"   # Desa Jogotirto, Kecamatan Berbah (34.04.08)


async def add_people(store: Store, count: int, now: datetime, *, channel: str = "console", prefix: str = "p",
                     desa_code: str = JOGOTIRTO, locale: str | None = "id",
                     last_inbound_ago: timedelta = timedelta(hours=1), opted_out: bool = False,
                     unreachable: bool = False) -> None:
    """`count` people who finished onboarding, named `<prefix><n>` on `channel`."""
    consent = to_db(now - timedelta(days=30))
    inbound = to_db(now - last_inbound_ago)
    await store.db.executemany(
        """INSERT INTO users (channel, external_id, display_name, locale, desa_code, consent_at, opted_out,
                              unreachable, last_inbound_at, created_at, last_seen_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
        [(channel, f"{prefix}{n}", f"{prefix}{n}", locale, desa_code, consent, int(opted_out), int(unreachable),
          inbound, consent, inbound) for n in range(count)],
    )


async def official_chat(app: App, name: str = "admin", *, admin: bool = True, kecamatan: str | None = None,
                        desa: str = "Jogotirto") -> Chat:
    """An onboarded console person who is an admin (from the settings) or an official (granted)."""
    if admin:
        app.engine.config.officials = {**app.engine.config.officials, "console": frozenset({name})}
    chat = Chat(app.engine, name)
    await chat.onboard(desa)
    if not admin:
        await app.store.users.grant_role("console", name, "official", kecamatan, app.clock())
    return chat
