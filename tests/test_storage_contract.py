"""Storage contracts: written against the store fixture so another backend can pass the same tests."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from storage.areas import AreaFileError
from storage.conversations import Conversation
from storage.db import Database, Store, open_store
from storage.outbox import NewMessage

NOW = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)


async def test_migrations_from_empty_then_rerun_is_a_no_op(tmp_path: Path) -> None:
    path = tmp_path / "fresh" / "db.sqlite3"
    db = await Database.open(path)
    applied = await db.migrate()
    assert applied and applied[0] == "0001_foundation"
    assert await db.migrate() == []
    names = [r[0] for r in await db.fetchall("SELECT name FROM migrations ORDER BY name")]
    assert names == sorted(applied)
    assert await db.fetchval("PRAGMA journal_mode") == "wal"
    assert await db.fetchval("PRAGMA foreign_keys") == 1
    assert await db.fetchval("PRAGMA busy_timeout") == 5000
    await db.close()
    store = await open_store(path)  # reopening applies nothing and keeps the seeded areas
    assert len(await store.areas.kecamatan_list()) == 17
    await store.close()


async def test_users_one_row_per_person_per_channel(store: Store) -> None:
    a = await store.users.touch_or_create("telegram", "100", "Sri", NOW)
    b = await store.users.touch_or_create("telegram", "100", None, NOW + timedelta(hours=1))
    c = await store.users.touch_or_create("whatsapp", "100", "Sri", NOW)
    assert a.id == b.id != c.id
    assert b.display_name == "Sri", "a missing name does not erase the stored one"
    assert b.last_seen_at > a.last_seen_at
    assert a.role == "citizen"
    admin = await store.users.touch_or_create("telegram", "100", "Sri", NOW, role="admin")
    assert admin.role == "admin"
    again = await store.users.touch_or_create("telegram", "100", "Sri", NOW)
    assert again.role == "admin", "bootstrap never lowers a stored role"


async def test_user_update_accepts_only_known_fields(store: Store) -> None:
    user = await store.users.touch_or_create("console", "x", "X", NOW)
    with pytest.raises(ValueError):
        await store.users.update(user.id, **{"role = 'admin' --": 1})
    await store.users.update(user.id, locale="en", desa_code="34.04.08.2004")
    updated = await store.users.get(user.id)
    assert updated is not None and updated.locale == "en" and updated.desa_code == "34.04.08.2004"


async def test_conversation_state_round_trips_and_purges(store: Store) -> None:
    user = await store.users.touch_or_create("console", "x", "X", NOW)
    assert (await store.conversations.load(user.id)).state is None
    await store.conversations.save(user.id, Conversation("report.describe", {"draft": {"k": "jalan rusak"}}), NOW)
    loaded = await store.conversations.load(user.id)
    assert loaded.state == "report.describe" and loaded.data["draft"]["k"] == "jalan rusak"
    assert loaded.updated_at == NOW
    assert await store.conversations.purge_idle(NOW + timedelta(days=31)) == 1
    assert (await store.conversations.load(user.id)).state is None


async def test_inbound_ids_are_claimed_once(store: Store) -> None:
    assert await store.inbound.claim("telegram", "1", NOW)
    assert not await store.inbound.claim("telegram", "1", NOW)
    assert await store.inbound.claim("whatsapp", "1", NOW)
    assert await store.inbound.seen("telegram", "1")
    assert await store.inbound.purge(NOW + timedelta(days=1)) == 2


async def test_areas_are_seeded_with_kemendagri_codes_and_match_typos(store: Store) -> None:
    assert await store.areas.district_name() == "Kabupaten Sleman"
    kecamatan = await store.areas.kecamatan_list()
    assert len(kecamatan) == 17
    assert len(await store.areas.desa_list()) == 86
    assert [d.code for d in await store.areas.match_desa("jogotirto")] == ["34.04.08.2004"]
    assert [d.code for d in await store.areas.match_desa("Jogo Tirto")] == ["34.04.08.2004"]
    assert (await store.areas.match_desa("jogotrito"))[0].name == "Jogotirto"
    assert (await store.areas.match_kecamatan("ngaglk"))[0].name == "Ngaglik"
    assert await store.areas.match_desa("zzzzqqq") == []


async def test_areas_import_adds_another_district_and_rejects_bad_files(store: Store, tmp_path: Path) -> None:
    good = tmp_path / "bantul.csv"
    good.write_text("kecamatan_code,kecamatan_name,desa_code,desa_name\n34.02.01,Srandakan,34.02.01.2001,Poncosari\n")
    assert await store.areas.import_csv(good, "Kabupaten Bantul") == 1
    assert await store.areas.district_name() == "Kabupaten Bantul"
    assert (await store.areas.match_desa("ponco sari"))[0].code == "34.02.01.2001"
    bad = tmp_path / "bad.csv"
    bad.write_text("kecamatan_code,kecamatan_name,desa_code,desa_name\n34.02.01,Srandakan,34.09.01.2001,X\n")
    with pytest.raises(AreaFileError, match="line 2"):
        await store.areas.import_csv(bad)
    assert len(await store.areas.desa_list()) == 87, "a bad file changes nothing"


async def test_outbox_claims_due_rows_by_priority_and_recovers_in_flight(store: Store) -> None:
    user = await store.users.touch_or_create("console", "x", "X", NOW)
    await store.outbox.enqueue([
        NewMessage(user.id, "console", "x", "broadcast", "[]", priority=9),
        NewMessage(user.id, "console", "x", "report_status", "[]", priority=5),
        NewMessage(user.id, "console", "x", "later", "[]", not_before=NOW + timedelta(hours=1)),
        NewMessage(user.id, "telegram", "1", "other", "[]"),
    ], NOW)
    claimed = await store.outbox.claim("console", 10, NOW)
    assert [m.kind for m in claimed] == ["report_status", "broadcast"]
    assert all(m.attempts == 1 and m.state == "sending" for m in claimed)
    assert await store.outbox.claim("console", 10, NOW) == []
    assert await store.outbox.recover_in_flight() == 2
    again = await store.outbox.claim("console", 10, NOW + timedelta(hours=2))
    assert {m.kind for m in again} == {"report_status", "broadcast", "later"}
    await store.outbox.mark_sent(again[0].id, NOW, "p-1")
    await store.outbox.retry_later(again[1].id, NOW + timedelta(minutes=1), "429")
    await store.outbox.finish(again[2].id, "failed", "blocked")
    assert await store.outbox.counts() == {"sent": 1, "pending": 2, "failed": 1}


async def test_write_transactions_are_serialised_between_tasks(store: Store) -> None:
    """A task's half-done write must not be committed by another task's commit."""
    user = await store.users.touch_or_create("console", "x", "X", NOW)
    started = asyncio.Event()

    async def slow_writer() -> None:
        try:
            async with store.transaction():
                await store.users.update(user.id, display_name="half")
                started.set()
                await asyncio.sleep(0.05)
                raise RuntimeError("abort")
        except RuntimeError:
            pass

    async def other_writer() -> None:
        await started.wait()
        await store.users.update(user.id, locale="en")

    await asyncio.gather(slow_writer(), other_writer())
    final = await store.users.get(user.id)
    assert final is not None and final.display_name == "X" and final.locale == "en"
