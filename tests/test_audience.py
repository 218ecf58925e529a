"""Audience rules as storage contracts: who each kind picks, who is excluded, who needs a WhatsApp
template, the area an audience covers, and the programme filter plugging in once its table exists."""

from __future__ import annotations

from datetime import timedelta

import pytest

from storage.audience import Audience
from storage.db import Store
from tests.people import add_people
from tests.support import FakeClock

JOGOTIRTO, KALITIRTO, CATURTUNGGAL = "34.04.08.2004", "34.04.08.2003", "34.04.07.2001"


@pytest.fixture
async def people(store: Store, clock: FakeClock) -> Store:
    now = clock()
    await add_people(store, 3, now, prefix="jo")                                        # Berbah, Jogotirto
    await add_people(store, 2, now, prefix="ka", desa_code=KALITIRTO, locale="en")      # Berbah, Kalitirto
    await add_people(store, 4, now, prefix="ca", desa_code=CATURTUNGGAL, channel="telegram")  # Depok
    await add_people(store, 1, now, prefix="out", opted_out=True)
    await add_people(store, 1, now, prefix="gone", unreachable=True, channel="telegram")
    await add_people(store, 2, now, prefix="+62811", channel="whatsapp", last_inbound_ago=timedelta(hours=30))
    await add_people(store, 1, now, prefix="+62822", channel="whatsapp", last_inbound_ago=timedelta(hours=2))
    await store.users.touch_or_create("console", "not-onboarded", None, now)
    return store


@pytest.mark.parametrize(("audience", "members", "opted_out", "unreachable", "outside_window"), [
    (Audience(), 14, 1, 1, 2),
    (Audience("kecamatan", "34.04.08"), 10, 1, 1, 2),
    (Audience("desa", KALITIRTO), 2, 0, 0, 0),
    (Audience("channel", "telegram"), 5, 0, 1, 0),
    (Audience("channel", "whatsapp"), 3, 0, 0, 2),
    (Audience("language", "en"), 2, 0, 0, 0),
    (Audience("kecamatan", "99.99.99"), 0, 0, 0, 0),
])
async def test_counts_exclude_opted_out_and_unreachable_and_split_out_the_whatsapp_window(
        people: Store, clock: FakeClock, audience: Audience, members: int, opted_out: int, unreachable: int,
        outside_window: int) -> None:
    count = await people.audiences.count(audience, clock())
    assert (count.members, count.opted_out, count.unreachable, count.outside_window) == (
        members, opted_out, unreachable, outside_window)
    queued = await people.outbox.enqueue_audience(audience, "poll", {}, clock(), no_locale=("[]", None),
                                                  other_locale=("[]", None), group_id="poll:1")
    rows = await people.db.fetchall("SELECT DISTINCT user_id FROM outbox WHERE group_id = 'poll:1'")
    assert queued == count.reachable == len(rows), "one message for each reachable member"


async def test_membership_ignores_deliverability(people: Store) -> None:
    """An opted-out person may still answer a poll meant for their desa; a Depok person may not."""
    ids = {row[0]: row[1] for row in await people.db.fetchall("SELECT external_id, id FROM users")}
    berbah = Audience("kecamatan", "34.04.08")
    assert await people.audiences.includes(berbah, ids["out0"])
    assert await people.audiences.includes(berbah, ids["jo1"])
    assert not await people.audiences.includes(berbah, ids["ca0"])
    assert not await people.audiences.includes(Audience(), ids["not-onboarded"])


async def test_scope_is_the_area_an_audience_covers(store: Store) -> None:
    assert await store.audiences.scope(Audience("desa", JOGOTIRTO)) == JOGOTIRTO
    assert await store.audiences.scope(Audience("kecamatan", "34.04.08")) == "34.04.08"
    assert await store.audiences.scope(Audience()) == "34.04", "district-wide: the district's own code"
    assert await store.audiences.scope(Audience("language", "en")) == "34.04"


async def test_programme_followers_are_an_audience(people: Store, clock: FakeClock) -> None:
    from storage.programmes import NewProgramme

    assert await people.audiences.programmes() == []
    posyandu = await people.programmes.create(NewProgramme("Posyandu", "", "kesehatan", None, None, None), clock())
    await people.programmes.create(NewProgramme("Sekolah Sehat", "", "pendidikan", None, None, None), clock())
    ids = {row[0]: row[1] for row in await people.db.fetchall("SELECT external_id, id FROM users")}
    for person in ("jo0", "ca1", "out0"):
        await people.programmes.subscribe(posyandu, ids[person], clock())
    assert "programme" in await people.audiences.kinds()
    assert await people.audiences.programmes() == [(str(posyandu), "Posyandu"), (str(posyandu + 1), "Sekolah Sehat")]
    count = await people.audiences.count(Audience("programme", str(posyandu)), clock())
    assert (count.members, count.reachable) == (3, 2)


def test_an_audience_needs_a_known_kind_and_a_value_where_it_takes_one() -> None:
    with pytest.raises(ValueError):
        Audience("planet", "mars")
    with pytest.raises(ValueError):
        Audience("desa")
    with pytest.raises(ValueError):
        Audience("everyone", "x")
    assert Audience.from_json(Audience("desa", JOGOTIRTO).to_json()) == Audience("desa", JOGOTIRTO)
