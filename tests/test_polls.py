"""Jajak pendapat through the real engine: create and push, answer by tap or by typed number after the
outbox delivers it, change until close, "sudah ditutup" after, results with bars and per area, CSV, and
each respondent's village results beside the district's."""

from __future__ import annotations

import asyncio
import csv
import io
from pathlib import Path

import pytest

from bot import cli
from bot.app import App
from bot.channels.console import ConsoleSender
from bot.config import Settings
from bot.flood import FloodGate
from bot.outbox_worker import OutboxWorker, Pacing
from handlers.polls import due_polls
from handlers.types import Incoming, replies_from_json
from storage.audience import Audience
from storage.db import Store, open_store
from storage.polls import Poll
from tests.people import add_people, official_chat
from tests.support import Chat, FakeClock

DEPOK = "34.04.07"


@pytest.fixture
async def admin(app: App) -> Chat:
    return await official_chat(app)


async def citizens(app: App, *names_and_desa: tuple[str, str]) -> list[Chat]:
    chats = []
    for name, desa in names_and_desa:
        chat = Chat(app.engine, name)
        await chat.onboard(desa)
        chats.append(chat)
    return chats


async def deliver(app: App) -> None:
    worker = OutboxWorker(app.store, ConsoleSender(io.StringIO()), clock=app.clock, pacing=Pacing(rate=1000))
    while await worker.drain_once():
        pass


async def create_poll(admin: Chat, *, closing: str = "3 hari lagi", public: str = "Ya, tunjukkan hasilnya",
                      audience: tuple[str, ...] = ("Semua warga",)) -> None:
    await admin.click("Menu petugas")
    await admin.click("Buat jajak pendapat")
    await admin.send("Setuju jalan desa diaspal tahun depan?")
    await admin.send("Hanya satu")
    assert "Mohon tulis 2 sampai 10 jawaban" in admin.text
    await admin.send("1. Setuju\n2) Tidak setuju\n- Belum tahu\nsetuju")
    for step in audience:
        if step in admin.labels:
            await admin.click(step)
        else:
            await admin.send(step)
    await admin.click(closing)
    await admin.click(public)


async def test_official_creates_a_poll_sees_it_as_citizens_will_and_pushes_it(app: App, admin: Chat) -> None:
    (warga,) = await citizens(app, ("warga", "Jogotirto"))
    await create_poll(admin)
    assert "Penerima: 2 (semua warga)" in admin.text
    assert "Ditutup: Kamis, 3 Desember 2026 pukul 09.00 WIB. Hasil bisa dilihat warga yang menjawab: ya." in admin.text
    preview = next(r for r in admin.replies if r.text.startswith("Jajak pendapat dari"))
    assert [o.label for o in preview.options] == ["Setuju", "Tidak setuju", "Belum tahu"]
    await admin.click("Kirim jajak pendapat")
    assert "Jajak pendapat #1 sedang dikirim ke 2 orang." in admin.text
    assert "Menu petugas. Apa yang ingin dikerjakan?" in admin.text

    row = await app.store.db.fetchone("SELECT * FROM outbox WHERE external_id = 'warga'")
    assert row is not None and (row["kind"], row["group_id"]) == ("poll", "poll:1")
    (pushed,) = replies_from_json(row["body"])
    assert pushed.text == preview.text, "citizens get exactly the preview"
    assert [(o.label, o.payload) for o in pushed.options] == [
        ("Setuju", "poll:1:1"), ("Tidak setuju", "poll:1:2"), ("Belum tahu", "poll:1:3")]
    audit = (await app.store.audit.recent(1))[0]
    assert audit["action"] == "poll.create" and '"recipients": 2' in audit["detail"]


async def test_a_pushed_poll_is_answered_by_typing_its_number_and_the_answer_can_change(app: App, admin: Chat) -> None:
    """WhatsApp shows a pushed poll as a numbered list: '2' must answer it, not the main menu."""
    (warga,) = await citizens(app, ("warga", "Jogotirto"))
    await create_poll(admin)
    await admin.click("Kirim jajak pendapat")
    await deliver(app)

    await warga.send("2")
    assert "Terima kasih! Jawaban Bapak/Ibu: Tidak setuju." in warga.text
    assert warga.labels == ["Ubah jawaban", "Lihat hasil sementara", "Kembali ke menu utama"]
    await warga.click("Ubah jawaban")
    assert "Jawaban Bapak/Ibu sekarang: Tidak setuju." in warga.text
    await warga.send("1")
    assert "Sudah diubah. Jawaban Bapak/Ibu sekarang: Setuju." in warga.text
    await warga.send(payload="poll:1:1")  # a tap on the pushed message, still there above
    assert "Jawaban Bapak/Ibu memang sudah: Setuju." in warga.text
    rows = await app.store.db.fetchall("SELECT user_id, position, changed_at FROM poll_votes")
    assert len(rows) == 1 and rows[0]["position"] == 1 and rows[0]["changed_at"] is not None
    await warga.click("Lihat hasil sementara")
    assert "Jawaban: 1\nSetuju: ██████████ 100% (1)" in warga.text


async def test_a_person_in_the_middle_of_a_flow_keeps_their_step_but_can_still_tap(app: App, admin: Chat) -> None:
    (warga,) = await citizens(app, ("warga", "Jogotirto"))
    await warga.click("Pengaturan")
    await create_poll(admin)
    await admin.click("Kirim jajak pendapat")
    await deliver(app)
    await warga.send("1")
    assert "Pilih bahasa" in warga.text or "Choose your language" in warga.text, "'1' still means Ganti bahasa"
    await warga.send("menu")
    await warga.click("Pengaturan")
    await warga.send(payload="poll:1:3")
    assert "Terima kasih! Jawaban Bapak/Ibu: Belum tahu." in warga.text
    assert "Pengaturan Bapak/Ibu" in warga.text or "Ganti bahasa" in warga.labels, "their question is asked again"


async def test_a_tap_on_a_poll_long_after_leaving_a_flow_half_done_still_counts(
        app: App, admin: Chat, clock: FakeClock) -> None:
    (warga,) = await citizens(app, ("warga", "Jogotirto"))
    await create_poll(admin)
    await admin.click("Kirim jajak pendapat")
    await warga.click("Pengaturan")
    await warga.click("Ganti desa")
    clock.advance(hours=2)
    await warga.send(payload="poll:1:2")
    assert "Terima kasih! Jawaban Bapak/Ibu: Tidak setuju." in warga.text
    assert "kita mulai lagi dari menu" not in warga.text
    user = await app.store.users.find("console", "warga")
    assert user is not None and (await app.store.conversations.load(user.id)).state is None, "stale flow dropped"


async def test_a_poll_delivered_to_someone_who_left_a_flow_long_ago_is_answered_by_number(
        app: App, admin: Chat, clock: FakeClock) -> None:
    (warga,) = await citizens(app, ("warga", "Jogotirto"))
    await warga.click("Pengaturan")
    clock.advance(hours=2)
    await create_poll(admin)
    await admin.click("Kirim jajak pendapat")
    await deliver(app)
    clock.advance(hours=5)
    await warga.send("3")
    assert "Terima kasih! Jawaban Bapak/Ibu: Belum tahu." in warga.text


async def test_after_closing_an_answer_gets_a_kind_sudah_ditutup_and_the_results_if_public(
        app: App, admin: Chat) -> None:
    warga, tetangga = await citizens(app, ("warga", "Jogotirto"), ("tetangga", "Jogotirto"))
    await create_poll(admin, closing="Saya tutup sendiri")
    await admin.click("Kirim jajak pendapat")
    await warga.send(payload="poll:1:1")
    await admin.send(payload="polladm:close:1")
    assert "Jajak pendapat #1 sudah ditutup." in admin.text
    assert (await app.store.audit.recent(1))[0]["action"] == "poll.close"

    await tetangga.send(payload="poll:1:2")
    assert "Maaf, jajak pendapat ini sudah ditutup" in tetangga.text
    assert "Seluruh kabupaten:\nJawaban: 1\nSetuju: ██████████ 100% (1)" in tetangga.text
    await warga.send(payload="poll:1:2")
    assert await app.store.polls.vote_of(1, (await app.store.users.find("console", "warga")).id) == 1  # type: ignore[union-attr]


async def test_a_private_poll_shows_no_results_to_citizens(app: App, admin: Chat) -> None:
    (warga,) = await citizens(app, ("warga", "Jogotirto"))
    await create_poll(admin, closing="Saya tutup sendiri", public="Tidak, hanya petugas")
    await admin.click("Kirim jajak pendapat")
    await warga.send(payload="poll:1:1")
    assert warga.labels == ["Ubah jawaban", "Kembali ke menu utama"]
    await warga.send(payload="poll:1:results")
    assert "tidak dibuka untuk umum" in warga.text
    await admin.send(payload="polladm:close:1")
    assert "Kirim hasil desa ke tiap penjawab" not in admin.labels
    await warga.send(payload="poll:1:2")
    assert "sudah ditutup" in warga.text and "Jawaban:" not in warga.text


async def test_the_closing_time_counts_before_the_scheduler_runs_and_due_polls_closes_once(
        app: App, admin: Chat, clock: FakeClock) -> None:
    (warga,) = await citizens(app, ("warga", "Jogotirto"))
    await create_poll(admin, closing="1 hari lagi")
    await admin.click("Kirim jajak pendapat")
    assert await due_polls(app.store, clock.advance(hours=23)) == []
    clock.advance(hours=1)
    await warga.send(payload="poll:1:1")
    assert "sudah ditutup" in warga.text
    assert await due_polls(app.store, clock()) == [1]
    assert await due_polls(app.store, clock.advance(minutes=1)) == []
    poll = await app.store.polls.get(1)
    assert poll is not None and poll.state == "closed"
    author = await app.store.users.find("console", "admin")
    told = [m for m in await app.store.outbox.for_user(author.id) if m.kind == "poll_closed"]  # type: ignore[union-attr]
    assert len(told) == 1 and "Jajak pendapat #1 sudah ditutup dengan 0 jawaban." in told[0].body


async def test_a_typed_closing_time_is_read_in_district_time(app: App, admin: Chat) -> None:
    await create_poll(admin, closing="3 hari lagi")
    poll_draft_texts = admin.text
    assert "Ditutup: Kamis, 3 Desember 2026 pukul 09.00 WIB" in poll_draft_texts
    await admin.click("Batal")
    await admin.click("Menu petugas")
    await admin.click("Buat jajak pendapat")
    await admin.send("Pertanyaan?")
    await admin.send("Ya\nTidak")
    await admin.click("Semua warga")
    await admin.send("09.05")
    assert "paling cepat 10 menit" in admin.text
    await admin.send("25/12 17.00")
    await admin.click("Ya, tunjukkan hasilnya")
    assert "Ditutup: Jumat, 25 Desember 2026 pukul 17.00 WIB." in admin.text


async def test_results_with_bars_per_kecamatan_per_desa_and_csv(app: App, admin: Chat) -> None:
    voters = await citizens(app, ("a", "Jogotirto"), ("b", "Jogotirto"), ("c", "Kalitirto"), ("d", "Caturtunggal"))
    await create_poll(admin)
    await admin.click("Kirim jajak pendapat")
    for chat, choice in zip(voters, ("poll:1:1", "poll:1:1", "poll:1:2", "poll:1:2"), strict=True):
        await chat.send(payload=choice)
    await admin.click("Hasil jajak pendapat")
    await admin.click("#1 Setuju jalan desa diaspal tahun depan?")
    assert ("Jawaban: 4\nSetuju: █████░░░░░ 50% (2)\nTidak setuju: █████░░░░░ 50% (2)\n"
            "Belum tahu: ░░░░░░░░░░ 0% (0)") in admin.text
    assert "Untuk semua warga; dikirim ke 5 orang. Terbuka sampai Kamis" in admin.text
    await admin.click("Per kecamatan")
    assert admin.text.splitlines()[1:] == [
        "Berbah (3): Setuju 67% · Tidak setuju 33% · Belum tahu 0%",
        "Depok (1): Setuju 0% · Tidak setuju 100% · Belum tahu 0%",
    ]
    await admin.click("Kembali ke hasil")
    await admin.click("Per desa")
    assert "Jogotirto, Berbah (2): Setuju 100% · Tidak setuju 0% · Belum tahu 0%" in admin.text
    assert "Kalitirto, Berbah (1): Setuju 0% · Tidak setuju 100%" in admin.text
    await admin.click("Kembali ke hasil")
    await admin.click("Unduh CSV")
    (export,) = admin.replies
    content = await asyncio.to_thread(Path(export.files[0]).read_text, "utf-8")
    assert content.startswith("\ufeffpoll_id,question,kecamatan,desa_code,desa,answer_number,answer,votes")
    rows = list(csv.DictReader(io.StringIO(content.lstrip("\ufeff"))))
    assert len(rows) == 3 * 3
    assert {"kecamatan": "Berbah", "desa": "Jogotirto", "answer": "Setuju", "votes": "2"}.items() <= rows[1].items() \
        or any(r["desa"] == "Jogotirto" and r["answer"] == "Setuju" and r["votes"] == "2" for r in rows)
    assert sum(int(r["votes"]) for r in rows) == 4
    assert (await app.store.audit.recent(1))[0]["action"] == "poll.export"


async def test_a_limited_official_sees_only_their_kecamatan_in_the_breakdown(app: App, admin: Chat) -> None:
    voters = await citizens(app, ("a", "Jogotirto"), ("d", "Caturtunggal"))
    await create_poll(admin)
    await admin.click("Kirim jajak pendapat")
    for chat in voters:
        await chat.send(payload="poll:1:1")
    camat = await official_chat(app, "camat", admin=False, kecamatan=DEPOK, desa="Caturtunggal")
    await camat.send(payload="polladm:desa:1")
    assert "Caturtunggal, Depok (1)" in camat.text and "Jogotirto" not in camat.text


async def test_each_respondent_gets_their_desa_results_beside_the_district_once(app: App, admin: Chat) -> None:
    a, b, d, e = await citizens(app, ("a", "Jogotirto"), ("b", "Jogotirto"), ("d", "Caturtunggal"),
                                ("e", "Caturtunggal"))
    await create_poll(admin, closing="Saya tutup sendiri")
    await admin.click("Kirim jajak pendapat")
    await a.send(payload="poll:1:1")
    await b.send(payload="poll:1:2")
    await d.send(payload="poll:1:2")
    await e.send(payload="poll:1:1")
    await e.send("BERHENTI")                      # counted in the results, but wants no more messages
    await admin.send(payload="polladm:close:1")
    await admin.click("Kirim hasil desa ke tiap penjawab")
    assert "Hasil sedang dikirim ke 3 penjawab" in admin.text
    bodies = {row[0]: replies_from_json(row[1])[0].text for row in await app.store.db.fetchall(
        "SELECT external_id, body FROM outbox WHERE kind = 'poll_results'")}
    assert set(bodies) == {"a", "b", "d"}
    assert "Desa Jogotirto:\nJawaban: 2\nSetuju: █████░░░░░ 50% (1)" in bodies["a"]
    assert "Seluruh kabupaten:\nJawaban: 4\nSetuju: █████░░░░░ 50% (2)" in bodies["a"]
    assert "Desa Caturtunggal:\nJawaban: 2\nSetuju: █████░░░░░ 50% (1)" in bodies["d"]
    await admin.send(payload="polladm:share:1")
    assert "sudah pernah dikirim" in admin.text
    assert len(bodies) == await app.store.db.fetchval("SELECT COUNT(*) FROM outbox WHERE kind = 'poll_results'")


async def test_citizens_see_only_the_open_polls_meant_for_them(app: App, admin: Chat) -> None:
    berbah, depok = await citizens(app, ("berbah", "Jogotirto"), ("depok", "Caturtunggal"))
    await create_poll(admin, audience=("Satu kecamatan", "Depok"))
    assert "Penerima: 1 (semua warga Kecamatan Depok)" in admin.text
    await admin.click("Kirim jajak pendapat")
    await berbah.click("Jajak pendapat")
    assert "belum ada jajak pendapat yang terbuka" in berbah.text
    await berbah.send(payload="poll:1:1")
    assert "untuk wilayah atau kelompok lain" in berbah.text
    await depok.send("/jajak")
    assert depok.labels == ["Setuju jalan desa diaspal tahun depan?", "Kembali ke menu utama"]
    await depok.send("1")
    await depok.send("3")
    await depok.send("/jajak")
    assert depok.labels[0] == "✓ Setuju jalan desa diaspal tahun depan?"
    await depok.send("/start poll_1")
    assert "Jawaban Bapak/Ibu sekarang: Belum tahu." in depok.text
    await depok.send(payload="poll:99:1")
    assert "tidak saya temukan" in depok.text
    await depok.send(payload="poll:1:11")
    assert "bukan salah satu pilihan" in depok.text


async def test_a_burst_of_votes_is_stored_one_per_person(app: App, clock: FakeClock) -> None:
    await add_people(app.store, 300, clock())
    poll = await app.store.polls.create(None, "Setuju?", ["Ya", "Tidak"], Audience(), True, None, clock())
    voters = [Chat(app.engine, f"p{n}") for n in range(300)]
    await asyncio.gather(*(chat.send(payload=f"poll:{poll.id}:{1 + n % 2}") for n, chat in enumerate(voters)))
    await asyncio.gather(*(chat.send(payload=f"poll:{poll.id}:1") for chat in voters[:50]))
    tally = await app.store.polls.tally(await _poll(app, poll.id))
    assert tally.counts == (150 + 25, 150 - 25)


async def _poll(app: App, poll_id: int) -> Poll:
    poll = await app.store.polls.get(poll_id)
    assert poll is not None
    return poll


def test_sinergi_polls_results_and_export(settings: Settings, monkeypatch: pytest.MonkeyPatch,
                                          capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    async def prepare() -> None:
        from storage.clock import utc_now

        store = await open_store(settings.database_path)
        try:
            user = await store.users.touch_or_create("console", "x", "X", utc_now())
            await store.users.update(user.id, desa_code="34.04.08.2004", consent_at="2026-11-01T00:00:00.000Z")
            poll = await store.polls.create(None, "Setuju?", ["Ya", "Tidak"], Audience(), True, None, utc_now())
            assert await store.polls.vote(poll, user.id, 2, utc_now()) == (True, None)
        finally:
            await store.close()

    asyncio.run(prepare())
    monkeypatch.setenv("DATABASE_PATH", str(settings.database_path))
    assert cli.main(["polls", "results", "1"]) == 0
    out = capsys.readouterr().out
    assert "Tidak: ██████████ 100% (1)" in out and "\nBerbah\n" in out
    target = tmp_path / "hasil.csv"
    assert cli.main(["polls", "export", "1", "--output", str(target)]) == 0
    assert "1,Setuju?,Berbah,34.04.08.2004,Jogotirto,2,Tidak,1" in target.read_text("utf-8")
    assert cli.main(["polls", "results", "7"]) == 1


async def test_votes_are_one_per_person_change_in_place_and_stay_as_counts_after_the_voter_goes(
        store: Store, clock: FakeClock) -> None:
    """Storage contract for votes, independent of the flows."""
    now = clock()
    await add_people(store, 2, now, prefix="b")
    await add_people(store, 1, now, prefix="d", desa_code="34.04.07.2001")
    ids = {row[0]: row[1] for row in await store.db.fetchall("SELECT external_id, id FROM users")}
    poll = await store.polls.create(None, "Setuju?", ["Ya", "Tidak"], Audience("kecamatan", "34.04.08"), True,
                                    None, now)
    assert poll.options == ("Ya", "Tidak") and poll.is_open(now)
    assert await store.polls.vote(poll, ids["b0"], 1, now) == (True, None)
    assert await store.polls.vote(poll, ids["b0"], 2, now) == (True, 1)
    assert await store.polls.vote(poll, ids["b0"], 2, now) == (True, 2)
    assert await store.polls.vote(poll, ids["d0"], 1, now) == (False, None), "outside the audience: not counted"
    assert await store.polls.vote(poll, ids["b1"], 1, now) == (True, None)
    assert (await store.polls.tally(poll)).counts == (1, 1)
    assert await store.polls.members_among(poll, [ids["b0"], ids["d0"], ids["b1"]]) == {ids["b0"], ids["b1"]}
    b1 = await store.users.get(ids["b1"])
    assert b1 is not None
    async with store.transaction():  # many at once, as the bulk path writes them: each gets its previous answer
        assert await store.polls.vote_all(poll, [(b1, 2), (b1, 1)], now) == [1, 2]
    assert (await store.polls.tally(poll)).counts == (1, 1) and await store.polls.vote_of(poll.id, ids["b1"]) == 1
    assert await store.polls.answered(ids["b0"], [poll.id, 99]) == {poll.id}
    (mine,) = await store.polls.export_for_user(ids["b0"])
    assert (mine["question"], mine["answer"]) == ("Setuju?", "Tidak")

    await store.polls.forget_user(ids["b0"])
    await store.db.execute("DELETE FROM users WHERE id = ?", (ids["b0"],))
    assert (await store.polls.tally(poll)).counts == (1, 1), "the vote stays as a count"
    (jogotirto,) = await store.polls.tally_by_area(poll, "desa")
    assert (jogotirto.name, jogotirto.tally.total) == ("Jogotirto", 2)
    assert await store.polls.export_for_user(ids["b0"]) == []
    assert await store.polls.close(poll.id, now) and not await store.polls.close(poll.id, now)
    assert await store.polls.mark_results_shared(poll.id, now)
    assert not await store.polls.mark_results_shared(poll.id, now), "results go out once"


async def test_votes_in_bulk_count_what_a_usual_turn_would_and_leave_the_rest_to_it(app: App, admin: Chat,
                                                                                   clock: FakeClock) -> None:
    """`Engine.handle_many`, as the Telegram press lane calls it: one transaction for many poll taps."""
    await add_people(app.store, 3, clock())
    poll = await app.store.polls.create(None, "Setuju?", ["Ya", "Tidak"], Audience(), True, None, clock())
    closed = await app.store.polls.create(None, "Lama?", ["Ya", "Tidak"], Audience(), True, None, clock())
    await app.store.polls.close(closed.id, clock())

    def tap(person: str, payload: str, message_id: str) -> Incoming:
        return Incoming("console", person, payload=payload, message_id=message_id)

    taps = [tap("p0", f"poll:{poll.id}:1", "m1"), tap("p1", f"poll:{poll.id}:2", "m2"),
            tap("p1", f"poll:{poll.id}:2", "m2"),            # the same message twice
            tap("p2", f"poll:{closed.id}:1", "m3"),          # a closed poll
            tap("p2", f"poll:{poll.id}:3", "m4"),            # no such answer
            tap("nobody", f"poll:{poll.id}:1", "m5"),        # not registered
            tap("admin", f"poll:{poll.id}:1", "m6"),         # an official named in the settings
            tap("p2", "go:polls", "m7")]                     # not a vote
    results = await app.engine.handle_many(taps)
    assert [[r.text for r in result] if result is not None else None for result in results] == [
        ["Terima kasih! Jawaban Bapak/Ibu: Ya."], ["Terima kasih! Jawaban Bapak/Ibu: Tidak."], [],
        None, None, None, None, None]
    assert (await app.store.polls.tally(poll)).counts == (1, 1)
    assert await app.engine.handle_many([tap("p0", f"poll:{poll.id}:2", "m1")]) == [[]], "handled once"
    assert not await app.store.inbound.seen("console", "m3"), "what was left is not claimed: its turn comes"
    assert "sudah ditutup" in (await app.engine.handle(taps[3]))[0].text
    again = await app.engine.handle_many([tap("p0", f"poll:{poll.id}:2", "m8"), tap("p1", f"poll:{poll.id}:2", "m9")])
    assert [r[0].text for r in again if r] == ["Sudah diubah. Jawaban Bapak/Ibu sekarang: Tidak.",
                                               "Jawaban Bapak/Ibu memang sudah: Tidak."]
    assert (await app.store.polls.tally(poll)).counts == (0, 2)

    twice = await app.engine.handle_many([tap("p2", f"poll:{poll.id}:1", "t1"), tap("p2", f"poll:{poll.id}:2", "t2")])
    assert twice[0] is not None and twice[1] is None, "a second tap of one person waits for its own turn"

    app.engine.config.flood = FloodGate(limit=2)
    assert (await app.engine.handle_many([tap("p0", f"poll:{poll.id}:1", "f1")]))[0] is not None
    assert (await app.engine.handle_many([tap("p0", f"poll:{poll.id}:2", "f2")]))[0] is not None
    assert await app.engine.handle_many([tap("p0", f"poll:{poll.id}:1", "f3")]) == [None], "flooding: usual way"
    assert "sangat cepat" in (await app.engine.handle(tap("p0", f"poll:{poll.id}:1", "f3")))[0].text
