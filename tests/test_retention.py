"""Retention: the scheduler's daily task forgets idle drafts, old message ids, finished outbox rows and export
files, each after the age its setting gives (DRAFT_/INBOUND_ID_/OUTBOX_RETENTION_DAYS)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.app import App, build_app
from bot.config import Settings, SettingsError
from bot.flood import FloodGate
from bot.scheduler import build_scheduler
from storage.outbox import NewMessage
from tests.support import Chat, FakeClock


@pytest.fixture
async def short_app(tmp_path: Path, clock: FakeClock) -> AsyncIterator[App]:
    settings = Settings.from_mapping({
        "DATABASE_PATH": str(tmp_path / "db.sqlite3"), "MEDIA_DIR": str(tmp_path / "media"),
        "DRAFT_RETENTION_DAYS": "5", "INBOUND_ID_RETENTION_DAYS": "2", "OUTBOX_RETENTION_DAYS": "10",
    })
    app = await build_app(settings, clock=clock)
    app.engine.config.flood = FloodGate(limit=10_000)
    yield app
    await app.close()


async def test_each_kind_of_data_goes_after_its_configured_age(short_app: App, clock: FakeClock) -> None:
    app, store = short_app, short_app.store
    scheduler = build_scheduler(app)
    early = Chat(app.engine, user="early")
    await early.send("halo", message_id="first-early")
    assert "setelah 5 hari" in (await early.click("Bahasa Indonesia"))[0].text, "the notice quotes the setting"
    early_id = (await store.users.find("console", "early")).id  # type: ignore[union-attr]
    async with store.transaction():
        await store.outbox.enqueue([NewMessage(early_id, "console", "early", "sent_long_ago", "[]"),
                                    NewMessage(early_id, "console", "early", "still_waiting", "[]"),
                                    NewMessage(early_id, "console", "early", "template_wait", "[]")], clock.now)
    [sent, waiting, held] = await store.outbox.for_user(early_id)
    await store.outbox.mark_sent(sent.id, clock.now)
    await store.outbox.finish(held.id, "needs_template")
    exports = app.settings.media_dir / "exports"
    exports.mkdir(parents=True)
    old_file, new_file = exports / "data-saya-old.json", exports / "data-saya-new.json"
    old_file.write_text("{}")
    os.utime(old_file, (clock.now.timestamp(), clock.now.timestamp()))

    clock.advance(days=3)
    late = Chat(app.engine, user="late")
    await late.send("halo", message_id="first-late")

    clock.advance(days=3, hours=1)                       # early: 6 days idle, late: 3 days
    new_file.write_text("{}")                            # an export made an hour ago stays for the day
    os.utime(new_file, (clock.now.timestamp() - 3600, clock.now.timestamp() - 3600))
    assert await scheduler.run_daily("retention", clock.now)
    assert (await store.conversations.load(early_id)).state is None, "a draft idle past 5 days goes"
    late_id = (await store.users.find("console", "late")).id  # type: ignore[union-attr]
    assert (await store.conversations.load(late_id)).state == "onboarding.language"
    assert not await store.inbound.seen("console", "first-early")
    assert not await store.inbound.seen("console", "first-late")
    assert [m.kind for m in await store.outbox.for_user(early_id)] == ["sent_long_ago", "still_waiting",
                                                                       "template_wait"], "10 days not reached"
    assert not old_file.exists() and new_file.exists()

    clock.advance(days=5)
    assert await scheduler.run_daily("retention", clock.now)
    assert [m.kind for m in await store.outbox.for_user(early_id)] == ["still_waiting", "template_wait"], \
        "a finished message goes after 10 days; one still to be sent never does"


async def test_inbound_ids_stay_as_long_as_their_setting_says(short_app: App, clock: FakeClock) -> None:
    chat = Chat(short_app.engine, user="budi")
    await chat.send("halo", message_id="first-m")
    clock.advance(days=1, hours=23)
    assert await build_scheduler(short_app).run_daily("retention", clock.now)
    await chat.send("halo", message_id="first-m")                 # a redelivery within two days is still recognised
    assert chat.replies == []


def test_retention_settings_are_checked() -> None:
    assert Settings.from_mapping({}).draft_retention_days == 30
    with pytest.raises(SettingsError, match="DRAFT_RETENTION_DAYS"):
        Settings.from_mapping({"DRAFT_RETENTION_DAYS": "0"})
    with pytest.raises(SettingsError, match="OUTBOX_RETENTION_DAYS"):
        Settings.from_mapping({"OUTBOX_RETENTION_DAYS": "lama"})
