"""Queueing a bulk message for an audience in one INSERT … SELECT: the rows are the ones the per-person
`notify` path writes for the same people (language by language, in the same order), and a failure anywhere
leaves none."""

from __future__ import annotations

import sqlite3
from typing import Any

import pytest

from handlers.i18n import current_locale
from handlers.notify import notify, notify_audience
from handlers.types import Reply, replies_from_json
from storage.audience import Audience
from storage.db import Store
from storage.outbox import PRIORITY_BULK
from storage.users import User
from tests.people import add_people
from tests.support import FakeClock

BERBAH = "34.04.08"
CATURTUNGGAL = "34.04.07.2001"   # Kecamatan Depok
ROW = """SELECT user_id, channel, external_id, kind, priority, body, template_vars, state, attempts, not_before,
                created_at, last_error, provider_message_id, sent_at FROM outbox WHERE group_id = ? ORDER BY id"""


def compose() -> list[Reply]:
    return [Reply(f"Halo dalam bahasa {current_locale()}")]


def template_vars() -> dict[str, Any]:
    return {"1": current_locale()}


@pytest.fixture
async def mixed(store: Store, clock: FakeClock) -> list[User]:
    """Everyone in the database: Berbah people in each kind of language, the excluded, and Depok people."""
    now = clock()
    await add_people(store, 3, now, prefix="id")
    await add_people(store, 2, now, prefix="en", locale="en")
    await add_people(store, 2, now, prefix="none", locale=None)
    await add_people(store, 1, now, prefix="blank", locale="")
    await add_people(store, 1, now, prefix="fr", locale="fr")
    await add_people(store, 2, now, prefix="tg", channel="telegram", locale="en")
    await add_people(store, 2, now, prefix="+62811", channel="whatsapp", locale=None)
    await add_people(store, 1, now, prefix="out", opted_out=True)
    await add_people(store, 1, now, prefix="gone", unreachable=True, locale="en")
    await add_people(store, 2, now, prefix="depok", desa_code=CATURTUNGGAL, locale="en")
    await add_people(store, 1, now, prefix="depok-none", desa_code=CATURTUNGGAL, locale=None)
    await store.users.touch_or_create("console", "not-onboarded", None, now)
    await add_people(store, 2, now, prefix="id-late")  # ids after the others: rows must still come in id order
    ids = [row[0] for row in await store.db.fetchall("SELECT id FROM users ORDER BY id")]
    return [user for user in [await store.users.get(i) for i in ids] if user is not None]


def expected_language(locale: str | None, default_locale: str) -> str:
    """No locale: the bot's default; a locale we do not speak: Indonesian, the default UI language."""
    if not locale:
        return default_locale
    return locale if locale in ("id", "en") else "id"


@pytest.mark.parametrize("default_locale", ["id", "en"])
@pytest.mark.parametrize("audience", [Audience(), Audience("kecamatan", BERBAH), Audience("language", "en")])
async def test_audience_rows_are_the_rows_notify_writes_person_by_person(
        store: Store, clock: FakeClock, mixed: list[User], audience: Audience, default_locale: str) -> None:
    members = [u for u in mixed if u.consent_at and u.desa_code and (
        audience.kind == "everyone"
        or audience.kind == "kecamatan" and u.desa_code.startswith(f"{audience.value}.")
        or audience.kind == "language" and u.locale == audience.value)]
    reachable = [u for u in members if not u.opted_out and not u.unreachable]

    queued = await notify_audience(store, audience, "broadcast", compose, clock(), group_id="broadcast:new",
                                   template_vars=template_vars, default_locale=default_locale)
    assert queued == len(reachable)
    assert queued == await notify(store, members, "broadcast", compose, clock(), priority=PRIORITY_BULK,
                                  group_id="broadcast:old", template_vars=template_vars, default_locale=default_locale)

    rows = [tuple(row) for row in await store.db.fetchall(ROW, ("broadcast:new",))]
    assert rows == [tuple(row) for row in await store.db.fetchall(ROW, ("broadcast:old",))]
    stamp = rows[0][9]
    assert [(user_id, external_id, kind, priority, state, attempts, not_before, created_at)
            for user_id, _ch, external_id, kind, priority, _b, _v, state, attempts, not_before, created_at, *_ in rows
            ] == [(u.id, u.external_id, "broadcast", PRIORITY_BULK, "pending", 0, stamp, stamp) for u in reachable]
    languages = {external_id: (replies_from_json(body)[0].text, variables)
                 for _u, _c, external_id, _k, _p, body, variables, *_ in rows}
    assert languages == {
        u.external_id: (f"Halo dalam bahasa {expected_language(u.locale, default_locale)}",
                        f'{{"1": "{expected_language(u.locale, default_locale)}"}}')
        for u in reachable}


async def test_only_the_audience_is_written(store: Store, clock: FakeClock, mixed: list[User]) -> None:
    queued = await notify_audience(store, Audience("desa", CATURTUNGGAL), "poll", compose, clock(), group_id="poll:1")
    assert queued == 3
    rows = await store.outbox.counts("poll:1")
    assert rows == {"pending": 3} and await store.outbox.counts() == rows
    assert await notify_audience(store, Audience("kecamatan", "99.99.99"), "poll", compose, clock(),
                                 group_id="poll:2") == 0


async def test_a_broadcast_is_queued_whole_or_not_at_all(store: Store, clock: FakeClock) -> None:
    await add_people(store, 2500, clock())
    assert await notify_audience(store, Audience(), "broadcast", compose, clock(), group_id="broadcast:9") == 2500
    assert await store.outbox.counts("broadcast:9") == {"pending": 2500}

    # the disk fills up at the 1,001st row of the next broadcast
    await store.db.execute(
        """CREATE TEMP TRIGGER disk_full BEFORE INSERT ON outbox
           WHEN NEW.group_id = 'broadcast:10' AND (SELECT COUNT(*) FROM outbox WHERE group_id = 'broadcast:10') >= 1000
           BEGIN SELECT RAISE(ABORT, 'disk full'); END""")
    with pytest.raises(sqlite3.DatabaseError, match="disk full"):
        async with store.transaction():
            await store.audit.record(None, "broadcast.start", True, clock(), broadcast_id=10)
            await notify_audience(store, Audience(), "broadcast", compose, clock(), group_id="broadcast:10")
    assert await store.outbox.counts("broadcast:10") == {}, "the first 1,000 rows were rolled back with the rest"
    assert await store.audit.recent() == [], "and so was the act that started the broadcast"

    # the caller's act fails after the rows were written: they go with it
    with pytest.raises(RuntimeError):
        async with store.transaction():
            assert await notify_audience(store, Audience(), "broadcast", compose, clock(),
                                         group_id="broadcast:11") == 2500
            raise RuntimeError("the broadcast's state could not be saved")
    assert await store.outbox.counts("broadcast:11") == {}
    assert await store.outbox.counts() == {"pending": 2500}
