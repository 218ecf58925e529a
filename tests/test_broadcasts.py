"""Pengumuman through the real engine: compose, audience count, preview exactly as citizens see it, send
now or at a time, progress with a refresh that edits the message, cancel; fan-out written whole."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest

from bot import cli
from bot.app import App
from bot.channels.console import ConsoleSender
from bot.config import Settings
from bot.outbox_worker import OutboxWorker, Pacing
from handlers.broadcasts import due_broadcasts
from handlers.types import Media, replies_from_json
from storage.audience import Audience
from storage.outbox import PRIORITY_BULK
from tests.people import add_people, official_chat
from tests.support import Chat, FakeClock

BERBAH = "34.04.08"
CONDONGCATUR = "34.04.07.2003"


@pytest.fixture
async def admin(app: App) -> Chat:
    return await official_chat(app)


def console_worker(app: App, batch_size: int = 50) -> OutboxWorker:
    return OutboxWorker(app.store, ConsoleSender(io.StringIO()), clock=app.clock, batch_size=batch_size,
                        pacing=Pacing(rate=1000))


async def compose_to_berbah(admin: Chat, text: str = "Kerja bakti Minggu pagi di balai desa.",
                            english: str | None = "Community clean-up on Sunday morning.") -> None:
    await admin.click("Menu petugas")
    await admin.click("Kirim pengumuman")
    await admin.send(text)
    if english:
        await admin.send(english)
    else:
        await admin.click("Lewati")
    await admin.click("Tanpa foto")
    await admin.click("Satu kecamatan")
    await admin.send("berbah")


async def test_official_sees_the_count_and_the_exact_message_then_sends_it(app: App, admin: Chat,
                                                                          clock: FakeClock) -> None:
    now = clock()
    await add_people(app.store, 3, now, prefix="b")                                  # Berbah, Indonesian
    await add_people(app.store, 1, now, prefix="e", locale="en")                     # Berbah, English
    await add_people(app.store, 2, now, prefix="d", desa_code=CONDONGCATUR)          # Depok: not in the audience
    await add_people(app.store, 1, now, prefix="s", opted_out=True)                  # said BERHENTI
    await add_people(app.store, 1, now, prefix="u", unreachable=True)                # blocked the bot
    await add_people(app.store, 2, now, channel="whatsapp", prefix="+62812", last_inbound_ago=timedelta(days=2))

    await compose_to_berbah(admin)
    review = admin.text
    assert "Penerima: 7 (semua warga Kecamatan Berbah)." in review  # 3 + 1 + 2 WhatsApp + the admin
    assert "Tidak dikirim ke 1 orang yang sudah ketik BERHENTI dan 1 orang yang tidak bisa dihubungi." in review
    assert "Dari penerima, 2 orang memakai WhatsApp" in review
    previews = [r for r in admin.replies if r.text.startswith(("Pengumuman dari", "Announcement from"))]
    assert [r.text for r in previews] == [
        "Pengumuman dari Kabupaten Sleman:\n\nKerja bakti Minggu pagi di balai desa.\n\n"
        "Untuk berhenti menerima pengumuman, balas BERHENTI.",
        "Announcement from Kabupaten Sleman:\n\nCommunity clean-up on Sunday morning.\n\n"
        "To stop receiving announcements, reply BERHENTI.",
    ]
    assert admin.labels == ["Kirim sekarang", "Jadwalkan", "Ganti penerima", "Batal"]

    await admin.click("Kirim sekarang")
    assert "Pengumuman #1 untuk semua warga Kecamatan Berbah" in admin.text
    assert "Menunggu: 7" in admin.text and "Sisa waktu sedang diperkirakan." in admin.text
    assert admin.labels == ["Perbarui", "Batalkan pengiriman", "Menu petugas"]
    rows = await app.store.db.fetchall("SELECT * FROM outbox ORDER BY id")
    assert len(rows) == 7
    assert {(r["kind"], r["group_id"], r["priority"], r["state"]) for r in rows} == {
        ("broadcast", "broadcast:1", PRIORITY_BULK, "pending")}
    by_person = {r["external_id"]: r for r in rows}
    assert replies_from_json(by_person["b0"]["body"]) == [previews[0]], "citizens get exactly the preview"
    assert replies_from_json(by_person["e0"]["body"]) == [previews[1]]
    assert by_person["+628120"]["template_vars"] == (
        '{"1": "Kabupaten Sleman", "2": "Kerja bakti Minggu pagi di balai desa."}')
    assert not {"d0", "s0", "u0"} & set(by_person)
    audit = (await app.store.audit.recent(1))[0]
    assert audit["action"] == "broadcast.send" and audit["allowed"] == 1 and '"recipients": 7' in audit["detail"]


async def test_without_english_everyone_gets_the_indonesian_text_and_a_photo_goes_along(
        app: App, admin: Chat, clock: FakeClock, tmp_path) -> None:  # type: ignore[no-untyped-def]
    await add_people(app.store, 1, clock(), prefix="e", locale="en")
    await admin.click("Menu petugas")
    await admin.click("Kirim pengumuman")
    await admin.send("a" * 2001)
    assert "Teksnya 2.001 karakter, batasnya 2.000" in admin.text
    await admin.send("Vaksinasi gratis di puskesmas.")
    await admin.click("Lewati")
    await admin.send("ini bukan foto")
    assert "Silakan kirim foto" in admin.text
    photo = tmp_path / "poster.jpg"
    photo.write_bytes(b"\xff\xd8\xff")
    await admin.send(media=(Media("photo", str(photo), "image/jpeg", 3),))
    await admin.click("Semua warga")
    assert sum(r.text.startswith("Pengumuman dari") for r in admin.replies) == 1, "one preview: no English text"
    await admin.click("Kirim sekarang")
    row = await app.store.db.fetchone("SELECT body FROM outbox WHERE external_id = 'e0'")
    assert row is not None
    (reply,) = replies_from_json(row["body"])
    assert reply.text.startswith("Announcement from Kabupaten Sleman:\n\nVaksinasi gratis di puskesmas.")
    assert reply.media == (str(photo),)


async def test_progress_refresh_edits_the_message_and_estimates_the_time_left(
        app: App, admin: Chat, clock: FakeClock) -> None:
    await add_people(app.store, 4, clock(), prefix="b")
    await compose_to_berbah(admin)
    await admin.click("Kirim sekarang")
    worker = console_worker(app, batch_size=2)
    clock.advance(seconds=10)
    await worker.drain_once()
    await admin.click("Perbarui")
    (progress,) = admin.replies
    assert progress.edit, "Refresh replaces the progress message"
    assert "Terkirim: 2\nGagal: 0\nMenunggu: 3\nPerlu template WhatsApp: 0" in progress.text
    assert "Kira-kira 15 detik lagi." in progress.text  # 2 sent in 10 s, 3 waiting
    await worker.drain_once()
    await worker.drain_once()
    await admin.click("Perbarui")
    assert "Selesai." in admin.text and "Terkirim: 5" in admin.text
    assert admin.labels == ["Perbarui", "Menu petugas"], "nothing left to cancel"


async def test_cancel_stops_what_has_not_gone_out(app: App, admin: Chat, clock: FakeClock) -> None:
    await add_people(app.store, 5, clock(), prefix="b")
    await compose_to_berbah(admin)
    await admin.click("Kirim sekarang")
    worker = console_worker(app, batch_size=2)
    await worker.drain_once()
    await admin.click("Batalkan pengiriman")
    assert "Pengumuman #1 dibatalkan. 4 pesan yang belum terkirim tidak akan dikirim." in admin.text
    assert "Dibatalkan Senin, 30 November 2026 pukul 09.00 WIB." in admin.text
    assert "Dihentikan karena dibatalkan: 4" in admin.text
    while await worker.drain_once():
        pass
    assert await app.store.outbox.counts("broadcast:1") == {"sent": 2, "cancelled": 4}
    assert (await app.store.audit.recent(1))[0]["action"] == "broadcast.cancel"
    await admin.send(payload="broadcast:cancel:1")
    assert "sudah dibatalkan sebelumnya" in admin.text


async def test_scheduled_broadcast_goes_out_once_when_due_to_whoever_is_in_the_audience_then(
        app: App, admin: Chat, clock: FakeClock) -> None:
    await add_people(app.store, 2, clock(), prefix="b")
    await compose_to_berbah(admin, english=None)
    await admin.click("Jadwalkan")
    await admin.send("kemarin")
    assert "tidak bisa saya baca" in admin.text
    await admin.send("hari ini 08.00")
    assert "waktu yang akan datang" in admin.text
    await admin.send("besok 07.30")
    assert "Sudah dijadwalkan. Pengumuman #1 dikirim Selasa, 1 Desember 2026 pukul 07.30 WIB." in admin.text
    assert "Menu petugas. Apa yang ingin dikerjakan?" in admin.text
    assert await app.store.outbox.counts() == {}
    assert (await app.store.audit.recent(1))[0]["action"] == "broadcast.schedule"

    await add_people(app.store, 1, clock(), prefix="late")  # joins before the time comes
    assert await due_broadcasts(app.store, clock.advance(hours=22)) == []
    assert await due_broadcasts(app.store, clock.advance(minutes=30, seconds=1)) == [1]
    assert await due_broadcasts(app.store, clock.advance(minutes=1)) == [], "never twice"
    recipients = {r[0] for r in await app.store.db.fetchall(
        "SELECT external_id FROM outbox WHERE group_id = 'broadcast:1'")}
    assert recipients == {"b0", "b1", "late0", "admin"}
    author = await app.store.users.find("console", "admin")
    assert author is not None
    told = [m for m in await app.store.outbox.for_user(author.id) if m.kind == "broadcast_started"]
    assert len(told) == 1 and "Pengumuman terjadwal #1 sekarang sedang dikirim ke 4 orang." in told[0].body


async def test_a_cancelled_scheduled_broadcast_never_starts(app: App, admin: Chat, clock: FakeClock) -> None:
    await compose_to_berbah(admin, english=None)
    await admin.click("Jadwalkan")
    await admin.click(admin.labels[0])  # the offered "tomorrow 08.00"
    assert "Selasa, 1 Desember 2026 pukul 08.00 WIB" in admin.text
    await admin.click("Daftar pengumuman")
    await admin.click("#1 Kerja bakti Minggu pagi di ba…")
    assert "Dijadwalkan Selasa, 1 Desember 2026 pukul 08.00 WIB." in admin.text
    await admin.click("Batalkan pengiriman")
    assert await due_broadcasts(app.store, clock.advance(days=2)) == []
    assert await app.store.outbox.counts() == {}


def test_sinergi_broadcasts_show_prints_the_progress(settings: Settings, monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    import asyncio

    from handlers.broadcasts import start
    from storage.clock import utc_now
    from storage.db import open_store

    async def prepare() -> None:
        store = await open_store(settings.database_path)
        try:
            await add_people(store, 3, utc_now(), prefix="b")
            broadcast = await store.broadcasts.create(None, "Jalan ditutup", None, None, Audience("kecamatan", BERBAH),
                                                      utc_now())
            await start(store, broadcast, utc_now(), "id")
        finally:
            await store.close()

    asyncio.run(prepare())
    monkeypatch.setenv("DATABASE_PATH", str(settings.database_path))
    assert cli.main(["broadcasts", "show", "1"]) == 0
    out = capsys.readouterr().out
    assert "Pengumuman #1 untuk semua warga Kecamatan Berbah" in out and "Menunggu: 3" in out
    assert cli.main(["broadcasts", "list"]) == 0
    assert "#1\tsending\t3\tJalan ditutup" in capsys.readouterr().out
    assert cli.main(["broadcasts", "show", "99"]) == 1


@pytest.mark.parametrize(("state", "payload", "expected"), [
    ("broadcast.review", "bc:now", "Pengumuman baru."),
    ("broadcast.schedule", "bc:at:2026-12-01T08:00:00+07:00", "Pengumuman baru."),
    ("poll_new.review", "pn:send", "Jajak pendapat baru."),
    ("officials.kecamatan", "offkec:all", "Petugas dan admin (1)"),
])
async def test_a_step_whose_draft_is_missing_starts_its_flow_again(
        app: App, admin: Chat, state: str, payload: str, expected: str) -> None:
    """A conversation saved by an older version (or forged) must not crash a step that reads the draft."""
    from storage.conversations import Conversation

    user = await app.store.users.find("console", "admin")
    assert user is not None
    stale = {"draft": {"audience": {"kind": "planet"}}, "options": [["x", payload]]}
    await app.store.conversations.save(user.id, Conversation(state, stale), app.clock())
    await admin.send(payload=payload)
    assert expected in admin.text
    assert await app.store.broadcasts.recent() == [] and await app.store.polls.recent() == []
