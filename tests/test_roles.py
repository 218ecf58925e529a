"""Roles: admins grant and revoke the official role (chat, step by step, CLI); every official command
and action refuses a citizen politely and logs the attempt; an official limited to one kecamatan acts
only there."""

from __future__ import annotations

import asyncio

import pytest

from bot import cli
from bot.app import App
from bot.config import Settings
from storage.audience import Audience
from storage.conversations import Conversation
from storage.db import open_store
from tests.people import official_chat
from tests.support import Chat

REFUSED = "hanya petugas Pemkab"
BERBAH, DEPOK = "34.04.08", "34.04.07"

# Every official entry point: menu payloads, actions and commands. A citizen must be refused at each.
OFFICIAL_PAYLOADS = [
    "go:menu_official", "go:broadcast", "broadcast:list", "broadcast:progress:1", "broadcast:cancel:1",
    "go:poll_new", "polladm:list", "polladm:results:1", "polladm:kecamatan:1", "polladm:desa:1", "polladm:csv:1",
    "polladm:close:1", "polladm:share:1", "go:officials", "officials", "officials:command",
]
OFFICIAL_COMMANDS = [
    "/pengumuman", "/jajakbaru", "/pejabat", "/pejabat tambah console warga Depok", "/pejabat hapus console x",
    "/pejabat daftar", "/officials list",
]


@pytest.fixture
async def citizen(app: App) -> Chat:
    chat = Chat(app.engine, "warga")
    await chat.onboard()
    return chat


async def _seed_broadcast_and_poll(app: App) -> None:
    now = app.clock()
    await app.store.broadcasts.create(None, "Kerja bakti", None, None, Audience(), now)
    await app.store.polls.create(None, "Setuju?", ["Ya", "Tidak"], Audience(), True, None, now)


async def _refused(app: App, chat: Chat, action_prefix: str) -> None:
    assert REFUSED in chat.text
    rows = await app.store.audit.recent(5)
    assert rows[0]["allowed"] == 0 and rows[0]["action"].startswith(action_prefix)
    user = await app.store.users.find("console", chat.user)
    assert user is not None and rows[0]["user_id"] == user.id


async def _nothing_changed(app: App) -> None:
    broadcast = await app.store.broadcasts.get(1)
    poll = await app.store.polls.get(1)
    assert broadcast is not None and broadcast.state == "scheduled"
    assert poll is not None and poll.state == "open" and poll.results_shared_at is None
    assert await app.store.outbox.counts() == {}
    assert [u.external_id for u in await app.store.users.officials()] == []


@pytest.mark.parametrize("payload", OFFICIAL_PAYLOADS)
async def test_a_citizen_cannot_use_an_official_action(app: App, citizen: Chat, payload: str) -> None:
    await _seed_broadcast_and_poll(app)
    await citizen.send(payload=payload)
    await _refused(app, citizen, "")
    await _nothing_changed(app)


@pytest.mark.parametrize("command", OFFICIAL_COMMANDS)
async def test_a_citizen_cannot_run_an_official_command(app: App, citizen: Chat, command: str) -> None:
    await _seed_broadcast_and_poll(app)
    await citizen.send(command)
    await _refused(app, citizen, "")
    await _nothing_changed(app)


@pytest.mark.parametrize(("state", "payload"), [
    ("broadcast.review", "bc:now"), ("broadcast.schedule", "besok 08.00"), ("poll_new.review", "pn:send"),
    ("officials.kecamatan", "offkec:all"),
])
async def test_a_citizen_with_a_forged_official_step_is_refused_there(
        app: App, citizen: Chat, state: str, payload: str) -> None:
    """The step itself checks the role, whatever state a conversation claims to be in."""
    user = await app.store.users.find("console", "warga")
    assert user is not None
    draft = {"text_id": "x", "question": "q", "options": ["a", "b"], "audience": {"kind": "everyone", "value": None},
             "channel": "console", "external_id": "warga"}
    offered = [["x", payload]]
    await app.store.conversations.save(user.id, Conversation(state, {"draft": draft, "options": offered}), app.clock())
    if payload.startswith(("bc:", "pn:", "offkec:")):
        await citizen.send(payload=payload)
    else:
        await citizen.send(payload)
    await _refused(app, citizen, "flow:")
    assert await app.store.outbox.counts() == {}
    assert await app.store.broadcasts.recent() == [] and await app.store.polls.recent() == []
    refreshed = await app.store.users.find("console", "warga")
    assert refreshed is not None and refreshed.role == "citizen"


async def test_an_official_who_is_not_an_admin_cannot_manage_officials(app: App) -> None:
    official = await official_chat(app, "petugas", admin=False)
    await official.send("/pejabat tambah console someone")
    assert REFUSED in official.text
    await official.send(payload="go:officials")
    assert REFUSED in official.text
    assert await app.store.users.find("console", "someone") is None


async def test_admin_grants_and_revokes_with_one_line_and_the_person_is_told(app: App, citizen: Chat) -> None:
    admin = await official_chat(app)
    await admin.send("/pejabat tambah console warga depok")
    assert "Selesai. warga (Console warga): petugas untuk Kecamatan Depok" in admin.text
    user = await app.store.users.find("console", "warga")
    assert user is not None and user.role == "official" and user.official_kecamatan_code == DEPOK
    told = await app.store.outbox.for_user(user.id)
    assert told[-1].kind == "role_changed" and "petugas Pemkab di Sinergi untuk Kecamatan Depok" in told[-1].body
    grant = (await app.store.audit.recent(1))[0]
    assert grant["action"] == "officials.grant" and grant["allowed"] == 1
    assert f'"target_user": {user.id}' in grant["detail"]

    await citizen.send("menu")
    assert "Menu petugas" in citizen.labels

    await admin.send("/pejabat daftar")
    assert "warga (Console warga): petugas untuk Kecamatan Depok" in admin.text
    assert "admin (Console admin): admin" in admin.text

    await admin.send("/pejabat hapus console warga")
    assert "Selesai. Console warga bukan petugas lagi." in admin.text
    user = await app.store.users.find("console", "warga")
    assert user is not None and user.role == "citizen"
    assert (await app.store.audit.recent(1))[0]["action"] == "officials.revoke"


async def test_admin_grants_someone_who_has_not_written_yet_and_they_keep_it(app: App) -> None:
    admin = await official_chat(app)
    await admin.send("/pejabat tambah whatsapp 081234567890")
    assert "petugas untuk seluruh kabupaten" in admin.text
    user = await app.store.users.find("whatsapp", "+6281234567890")
    assert user is not None and user.role == "official" and user.official_kecamatan_code is None
    later = await app.store.users.touch_or_create("whatsapp", "+6281234567890", "Sri", app.clock())
    assert later.role == "official", "writing for the first time keeps the granted role"


async def test_bad_lines_get_the_usage_and_admins_are_not_revoked(app: App) -> None:
    admin = await official_chat(app)
    await admin.send("/pejabat tambah telegram bukan-angka")
    assert "Cara pakai" in admin.text
    await admin.send("/pejabat tambah console budi Atlantis")
    assert 'Kecamatan "Atlantis" tidak saya temukan' in admin.text
    await admin.send("/pejabat hapus console admin")
    assert "bukan petugas (admin diatur di pengaturan server)" in admin.text
    assert (await app.store.users.find("console", "admin")).role == "admin"  # type: ignore[union-attr]


async def test_admin_grants_and_revokes_step_by_step_from_the_officials_menu(app: App, citizen: Chat) -> None:
    admin = await official_chat(app)
    await admin.click("Menu petugas")
    await admin.click("Kelola petugas (admin)")
    assert "Petugas dan admin (1)" in admin.text
    await admin.click("Tambah petugas")
    await admin.click("Console")
    await admin.send("   ")
    await admin.send("warga")
    assert "Batasi ke satu kecamatan?" in admin.text
    await admin.send("Berbah")
    assert "petugas untuk Kecamatan Berbah" in admin.text
    assert "Petugas dan admin (2)" in admin.text, "back at the officials' list"
    user = await app.store.users.find("console", "warga")
    assert user is not None and user.official_kecamatan_code == BERBAH

    await admin.click("Hapus petugas")
    await admin.click("warga (Console warga)")
    assert "Console warga bukan petugas lagi" in admin.text
    user = await app.store.users.find("console", "warga")
    assert user is not None and user.role == "citizen"
    actions = [row["action"] for row in await app.store.audit.recent(2)]
    assert actions == ["officials.revoke", "officials.grant"]


async def test_an_official_limited_to_one_kecamatan_is_offered_only_it(app: App) -> None:
    official = await official_chat(app, "camat", admin=False, kecamatan=DEPOK)
    await official.send(payload="go:broadcast")
    await official.send("Posyandu besok")
    await official.click("bc:skip")
    await official.click("bc:nophoto")
    assert official.labels == ["Semua warga Kecamatan Depok", "Satu desa di Kecamatan Depok"]
    await official.click("Satu desa di Kecamatan Depok")
    assert "Desa mana di Kecamatan Depok?" in official.text
    await official.send("Jogotirto")  # a desa of Berbah: not matched inside Depok
    assert "tidak saya temukan" in official.text
    await official.click("Caturtunggal")
    await official.click("Kirim sekarang")
    broadcast = await app.store.broadcasts.get(1)
    assert broadcast is not None and broadcast.audience == Audience("desa", "34.04.07.2001")


async def test_a_limited_official_cannot_reach_beyond_their_kecamatan(app: App) -> None:
    official = await official_chat(app, "camat", admin=False, kecamatan=DEPOK)
    now = app.clock()
    elsewhere = await app.store.broadcasts.create(None, "Berbah saja", None, None, Audience("kecamatan", BERBAH), now)
    district = await app.store.polls.create(None, "Setuju?", ["Ya", "Tidak"], Audience(), True, None, now)
    await official.send(payload=f"broadcast:cancel:{elsewhere.id}")
    assert REFUSED in official.text
    await official.send(payload=f"polladm:close:{district.id}")
    assert REFUSED in official.text
    user = await app.store.users.find("console", "camat")
    assert user is not None
    forged = {"text_id": "x", "audience": {"kind": "everyone", "value": None}}
    offered = [["Kirim sekarang", "bc:now"]]
    await app.store.conversations.save(user.id, Conversation("broadcast.review", {"draft": forged, "options": offered}),
                                       now)
    await official.send(payload="bc:now")
    assert REFUSED in official.text
    assert (await app.store.broadcasts.get(elsewhere.id)).state == "scheduled"  # type: ignore[union-attr]
    assert (await app.store.polls.get(district.id)).state == "open"  # type: ignore[union-attr]
    assert len(await app.store.broadcasts.recent()) == 1
    refusals = [row for row in await app.store.audit.recent(3) if not row["allowed"]]
    assert [row["action"] for row in refusals] == ["broadcast.send", "poll.close", "broadcast.cancel"]


def test_officials_cli_adds_lists_and_removes(settings: Settings, monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("DATABASE_PATH", str(settings.database_path))
    assert cli.main(["officials", "add", "telegram", "123456789", "--kecamatan", "ngaglik"]) == 0
    assert "petugas untuk Kecamatan Ngaglik" in capsys.readouterr().out
    assert cli.main(["officials", "list"]) == 0
    assert "(Telegram 123456789): petugas untuk Kecamatan Ngaglik" in capsys.readouterr().out
    assert cli.main(["officials", "add", "whatsapp", "nomor"]) == 2
    assert cli.main(["officials", "add", "telegram", "1", "--kecamatan", "Atlantis"]) == 2
    granted = asyncio.run(_user_and_audit(settings, "telegram", "123456789"))
    assert granted[0] == ("official", "34.04.12")
    assert cli.main(["officials", "remove", "telegram", "123456789"]) == 0
    assert cli.main(["officials", "remove", "telegram", "123456789"]) == 1
    (role, _kecamatan), audit = asyncio.run(_user_and_audit(settings, "telegram", "123456789"))
    assert role == "citizen"
    assert [(r["action"], r["user_id"]) for r in audit[:2]] == [("officials.revoke", None), ("officials.grant", None)]
    assert '"source": "cli"' in audit[0]["detail"]


async def _user_and_audit(settings: Settings, channel: str, external_id: str) -> tuple[tuple[str, str | None],
                                                                                      list[dict[str, object]]]:
    store = await open_store(settings.database_path)
    try:
        user = await store.users.find(channel, external_id)
        assert user is not None
        return (user.role, user.official_kecamatan_code), await store.audit.recent(5)
    finally:
        await store.close()


async def test_refusals_are_logged_with_the_time_and_the_step(app: App, citizen: Chat) -> None:
    app.clock.advance(minutes=5)  # type: ignore[attr-defined]
    await citizen.send(payload="go:broadcast")
    row = (await app.store.audit.recent(1))[0]
    assert row["action"] == "flow:broadcast" and row["allowed"] == 0
    assert row["at"] == "2026-11-30T02:05:00.000Z"
