"""Lapor masalah and Laporan saya, driven as a citizen would, on the real engine and a real SQLite file."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from bot.app import App, build_app
from bot.config import Settings
from handlers.types import Location, Media
from storage.reports import NewReport
from tests.reports_support import (
    BERBAH,
    JOGOTIRTO,
    NEAR_SD,
    add_report,
    citizen,
    send_report,
    user_of,
)
from tests.support import Chat, FakeClock


async def test_full_report_with_photos_and_a_location_pin(app: App, tmp_path: Path) -> None:
    chat = await citizen(app)
    await chat.click("Lapor masalah")
    assert "Jalan & jembatan" in chat.labels and len(chat.labels) == 10
    await chat.click("Jalan & jembatan")
    await chat.send("rusak")
    assert "sedikit lebih lengkap" in chat.text
    await chat.send("Jalan berlubang besar di depan sekolah, sudah dua minggu")
    assert chat.replies[-1].request == "photo" and chat.labels == ["Lewati"]
    await chat.send(media=(Media("photo", str(tmp_path / "a.jpg")),))
    assert "Foto 1 dari 3" in chat.text and chat.labels == ["Selesai"]
    await chat.send(media=(Media("photo", str(tmp_path / "b.jpg")),))
    await chat.click("Selesai")
    assert chat.replies[-1].request == "location"
    assert "Desa Jogotirto, Kecamatan Berbah" in chat.text
    await chat.send(location=NEAR_SD)
    await chat.click("Biasa")
    assert "Mohon periksa laporan" in chat.text
    assert "Foto: 2" in chat.text and "openstreetmap.org/?mlat=-7.800000&mlon=110.450000" in chat.text
    await chat.click("Kirim laporan")
    assert "Nomor laporan: LPR-2026-000001" in chat.text
    assert "paling lambat Kamis, 3 Desember 2026" in chat.text  # sent Monday: 3 working days
    assert "status LPR-2026-000001" in chat.text
    assert chat.labels[0] == "Lapor masalah"

    user = await user_of(app, chat)
    report = await app.store.reports.by_number("LPR-2026-000001")
    assert report is not None
    assert report.reporter_user_id == user.id and report.privacy == "biasa" and report.status == "baru"
    assert (report.latitude, report.longitude) == (-7.8, 110.45)
    assert report.desa_code == JOGOTIRTO and report.kecamatan_code == BERBAH
    assert report.unit_code == "DPUPKP"  # the category's default unit
    assert report.verify_due_at == datetime(2026, 12, 3, 17, 0, tzinfo=UTC)  # midnight WIB after Thursday
    assert await app.store.reports.photos(report.id) == [str(tmp_path / "a.jpg"), str(tmp_path / "b.jpg")]
    assert [h.event for h in await app.store.reports.history(report.id)] == ["created"]


async def test_skip_photo_and_a_landmark_in_another_desa(app: App) -> None:
    chat = await citizen(app)
    await chat.click("Lapor masalah")
    await chat.click("Sampah & kebersihan")
    await chat.send("Sampah menumpuk di pinggir jalan dan berbau")
    await chat.click("Lewati")
    await chat.click("Desa lain")
    assert "kecamatan mana" in chat.text
    await chat.send("Ngaglik")
    await chat.send("sardonoharjo")
    assert "Desa Sardonoharjo, Kecamatan Ngaglik" in chat.text
    await chat.send("x")
    assert "3 sampai 200 huruf" in chat.text
    await chat.send("depan pasar Rejodani")
    await chat.click("Rahasia")
    assert "Foto: 0" in chat.text and "Sardonoharjo" in chat.text and "depan pasar Rejodani" in chat.text
    await chat.click("Kirim laporan")
    report = await app.store.reports.by_number("LPR-2026-000001")
    assert report is not None and report.privacy == "rahasia" and report.landmark == "depan pasar Rejodani"
    assert report.latitude is None and report.unit_code == "DLH"
    desa = await app.store.areas.desa(report.desa_code)
    assert desa is not None and desa.name == "Sardonoharjo" and report.kecamatan_code == desa.kecamatan_code
    assert await app.store.reports.photos(report.id) == []


async def test_edit_one_field_before_confirming(app: App, tmp_path: Path) -> None:
    chat = await citizen(app)
    await chat.click("Lapor masalah")
    await chat.click("Jalan & jembatan")
    await chat.send("Jembatan bambu di dusun retak parah")
    await chat.send(media=(Media("photo", str(tmp_path / "a.jpg")),))
    await chat.click("Selesai")
    await chat.send("dekat makam dusun")
    await chat.click("Biasa")
    await chat.click("Ubah uraian")
    await chat.send("Jembatan bambu di dusun retak dan miring, berbahaya untuk anak sekolah")
    assert "Mohon periksa laporan" in chat.text  # straight back to the summary, not to the photos
    assert "retak dan miring" in chat.text and "Foto: 1" in chat.text
    await chat.click("Ubah kategori")
    await chat.click("Bencana")
    assert "Kategori: Bencana" in chat.text
    await chat.click("Ubah foto")
    await chat.click("Lewati")
    assert "Foto: 0" in chat.text
    await chat.click("Ubah privasi")
    await chat.click("Anonim")
    await chat.click("Kirim laporan")
    report = await app.store.reports.by_number("LPR-2026-000001")
    assert report is not None
    assert report.category_code == "bencana" and "miring" in report.description and report.privacy == "anonim"
    assert await app.store.reports.photos(report.id) == []


async def test_cancel_midway_sends_nothing(app: App) -> None:
    chat = await citizen(app)
    await chat.click("Lapor masalah")
    await chat.click("Air bersih")
    await chat.send("Air PAM tidak mengalir tiga hari")
    await chat.send("batal")
    assert "dibatalkan" in chat.text and chat.labels[0] == "Lapor masalah"
    await chat.click("Lapor masalah")
    await chat.click("Air bersih")
    await chat.send("Air PAM tidak mengalir tiga hari")
    await chat.click("Lewati")
    await chat.send("depan masjid")
    await chat.click("Biasa")
    await chat.click("Batal")
    assert "Tidak ada yang terkirim" in chat.text
    assert await app.store.reports.count_for_user((await user_of(app, chat)).id) == 0


async def test_restart_midway_continues_with_the_draft(settings: Settings, clock: FakeClock, tmp_path: Path) -> None:
    first = await build_app(settings, clock=clock)
    chat = await citizen(first)
    await chat.click("Lapor masalah")
    await chat.click("Listrik & penerangan jalan")
    await chat.send("Lampu jalan mati sepanjang 100 meter")
    await chat.send(media=(Media("photo", str(tmp_path / "a.jpg")),))
    await first.close()

    second = await build_app(settings, clock=clock)
    try:
        chat = Chat(second.engine)
        await chat.send("1")  # "Selesai", offered before the restart
        assert second.store and chat.replies[-1].request == "location"
        await chat.send(location=Location(-7.79, 110.44))
        await chat.click("Biasa")
        assert "Lampu jalan mati sepanjang 100 meter" in chat.text and "Foto: 1" in chat.text
        await chat.click("Kirim laporan")
        report = await second.store.reports.by_number("LPR-2026-000001")
        assert report is not None and report.category_code == "listrik"
        assert await second.store.reports.photos(report.id) == [str(tmp_path / "a.jpg")]
    finally:
        await second.close()


async def test_description_and_photo_bounds(app: App, tmp_path: Path) -> None:
    chat = await citizen(app)
    await chat.click("Lapor masalah")
    await chat.click("Lainnya")
    await chat.send("kata " * 250)
    assert "tidak lebih dari 1000 huruf" in chat.text
    await chat.send(media=(Media("photo", str(tmp_path / "x.jpg")),))
    assert "pesan teks" in chat.text
    await chat.send("Ada pohon tumbang menutup jalan dusun")
    await chat.send(media=(Media("voice", str(tmp_path / "v.ogg")),))
    assert "kirim foto, atau pilih Lewati" in chat.text
    photos = tuple(Media("photo", str(tmp_path / f"{n}.jpg")) for n in range(4))
    await chat.send(media=photos[:2])
    await chat.send(media=photos[2:])
    assert "hanya bisa memuat 3 foto" in chat.text
    assert chat.replies[-1].request == "location"  # the third photo moved on by itself
    await chat.send(location=Location(float("nan"), 110.0))
    assert "tidak terbaca" in chat.text


async def test_ticket_numbers_follow_a_per_year_counter(app: App, clock: FakeClock) -> None:
    first = await add_report(app.store, None, clock.now, privacy="anonim")
    second = await add_report(app.store, None, clock.now, privacy="anonim")
    next_year = datetime(2027, 1, 4, 2, 0, tzinfo=UTC)
    third = await add_report(app.store, None, next_year, privacy="anonim")
    assert [first.number, second.number, third.number] == ["LPR-2026-000001", "LPR-2026-000002", "LPR-2027-000001"]
    try:
        async with app.store.transaction():
            await add_report(app.store, None, clock.now, privacy="anonim")
            raise RuntimeError("roll back")
    except RuntimeError:
        pass
    fourth = await add_report(app.store, None, clock.now, privacy="anonim")
    assert fourth.number == "LPR-2026-000003"  # a rolled-back report leaves no gap and no duplicate


async def test_duplicate_hint_within_200_metres_offers_support(app: App) -> None:
    first = await citizen(app, "ani")
    await send_report(first, location=NEAR_SD)
    second = await citizen(app, "budi")
    text = await send_report(second, location=Location(-7.8010, 110.4505), support_duplicate=True)  # ~120 m
    assert "Bapak/Ibu sekarang mendukung laporan LPR-2026-000001" in text
    report = await app.store.reports.by_number("LPR-2026-000001")
    assert report is not None
    supporters = await app.store.reports.supporters(report.id)
    assert [u.external_id for u in supporters] == ["budi"]
    assert await app.store.reports.count_for_user((await user_of(app, second)).id) == 1  # the one supported

    far = await citizen(app, "citra")
    await send_report(far, location=Location(-7.8040, 110.4500))  # ~440 m: no hint
    other_category = await citizen(app, "dodi")
    await send_report(other_category, category="Sampah & kebersihan", location=NEAR_SD)
    assert await app.store.reports.by_number("LPR-2026-000003") is not None


async def test_duplicate_hint_same_desa_and_very_similar_text(app: App) -> None:
    first = await citizen(app, "ani")
    await send_report(first, description="Jalan berlubang besar di depan SD Negeri 2 Jogotirto")
    second = await citizen(app, "budi")
    await second.send("menu")
    await second.click("Lapor masalah")
    await second.click("Jalan & jembatan")
    await second.send("jalan berlubang besar depan SD Negeri 2")
    await second.click("Lewati")
    await second.send("depan SD N 2")
    await second.click("Biasa")
    assert "Sudah ada laporan serupa" in second.text and "LPR-2026-000001" in second.text
    assert second.labels == ["Dukung laporan ini", "Tetap kirim laporan saya"]
    await second.click("Tetap kirim laporan saya")
    await second.click("Ubah privasi")
    await second.click("Rahasia")
    assert "Mohon periksa laporan" in second.text  # not asked again: nothing the check looks at changed
    await second.click("Kirim laporan")
    assert "LPR-2026-000002" in second.text

    unrelated = await citizen(app, "citra")
    await send_report(unrelated, description="Jembatan gantung di sungai Opak mulai lapuk")
    assert "LPR-2026-000003" in unrelated.text


async def test_anonymous_report_keeps_no_user_link(app: App) -> None:
    chat = await citizen(app)
    text = await send_report(chat, privacy="Anonim")
    assert "tidak menyimpan nama" in text
    code = text.split("status LPR-2026-000001 ")[1].split()[0]
    report = await app.store.reports.by_number("LPR-2026-000001")
    assert report is not None and report.reporter_user_id is None and report.privacy == "anonim"
    assert report.access_code_hash and code not in report.access_code_hash
    assert all(h.actor_user_id is None for h in await app.store.reports.history(report.id))
    assert await app.store.reports.supporters(report.id) == []
    user = await user_of(app, chat)
    assert await app.store.reports.count_for_user(user.id) == 0
    conversation = await app.store.conversations.load(user.id)
    assert conversation.data.get("draft") == {}  # the draft that held the report is gone
    rows = await app.store.db.fetchall("SELECT * FROM reports")
    assert all(user.id != row["reporter_user_id"] for row in rows)

    await chat.send("status LPR-2026-000001")
    assert "tidak ada di daftar laporan" in chat.text
    stranger = await citizen(app, "orang_lain")
    await stranger.send(f"status LPR-2026-000001 {code.lower()}")
    assert "Riwayat:" in stranger.text and "Laporan diterima" in stranger.text
    await stranger.send("status LPR-2026-000001 AAAAAA")
    assert "tidak ada di daftar laporan" in stranger.text


async def test_my_reports_lists_own_and_supported_newest_first_with_paging(app: App, clock: FakeClock) -> None:
    chat = await citizen(app)
    user = await user_of(app, chat)
    neighbour = await citizen(app, "tetangga")
    for n in range(6):
        clock.advance(minutes=10)
        await add_report(app.store, user.id, clock.now, description=f"Laporan nomor {n} tentang jalan")
    clock.advance(minutes=10)
    theirs = await add_report(app.store, (await user_of(app, neighbour)).id, clock.now)
    clock.advance(minutes=10)
    hidden = await add_report(app.store, (await user_of(app, neighbour)).id, clock.now)
    await app.store.reports.add_supporter(theirs.id, user.id, clock.now)

    await chat.click("Laporan saya")
    assert "(1-5 dari 7)" in chat.text
    assert chat.labels[:5] == ["LPR-2026-000007", "LPR-2026-000006", "LPR-2026-000005", "LPR-2026-000004",
                               "LPR-2026-000003"]
    assert "(Bapak/Ibu dukung)" in chat.text and hidden.number not in chat.text
    await chat.click("Halaman berikutnya")
    assert "(6-7 dari 7)" in chat.text and chat.labels[:2] == ["LPR-2026-000002", "LPR-2026-000001"]
    await chat.click("LPR-2026-000001")
    assert "Laporan nomor 0" in chat.text and "Riwayat:" in chat.text
    assert "Perkiraan ditanggapi paling lambat" in chat.text
    await chat.click("Kembali ke laporan saya")
    assert "(6-7 dari 7)" in chat.text

    await chat.send(f"status {hidden.number}")
    assert "tidak ada di daftar laporan" in chat.text


async def test_status_intent_works_in_the_middle_of_a_flow(app: App, clock: FakeClock) -> None:
    chat = await citizen(app)
    report = await add_report(app.store, (await user_of(app, chat)).id, clock.now)
    await chat.click("Lapor masalah")
    await chat.click("Kesehatan")
    await chat.send(f"LPR-2026-{report.number[-6:]}")
    assert "Riwayat:" in chat.text and report.number in chat.text
    assert "ceritakan masalahnya" in chat.text  # and the flow goes on where it was
    await chat.send("Puskesmas pembantu tutup terus sejak bulan lalu")
    assert chat.labels == ["Lewati"]
    await chat.send("menu")
    await chat.send("status lpr 2026 1")
    assert f"{report.number} · Jalan & jembatan" in chat.text and "Kembali ke laporan saya" in chat.labels


async def test_no_reports_yet_says_so(chat: Chat) -> None:
    await chat.onboard()
    await chat.click("Laporan saya")
    assert "belum punya laporan" in chat.text and chat.labels[0] == "Lapor masalah"


async def test_english_speaker_reports_in_english(app: App) -> None:
    chat = await citizen(app, "tourist", language="English")
    await chat.click("Report a problem")
    await chat.click("Safety & public order")
    await chat.send("Street dogs chasing children near the school")
    await chat.click("Skip")
    await chat.send("near the primary school")
    await chat.click("Confidential")
    await chat.click("Send report")
    assert "Ticket number: LPR-2026-000001" in chat.text
    assert "Thursday, December 3, 2026" in chat.text


async def test_storage_rejects_an_anonymous_report_with_a_user_link(app: App, clock: FakeClock) -> None:
    chat = await citizen(app)
    user = await user_of(app, chat)
    try:
        await app.store.reports.create(
            NewReport(reporter_user_id=user.id, privacy="anonim", category_code="jalan", description="uji coba saja",
                      kecamatan_code=BERBAH, desa_code=JOGOTIRTO, verify_due_at=clock.now), year=2026, now=clock.now)
    except Exception as error:  # the CHECK constraint: anonymous means no user link, whatever the caller does
        assert "CHECK" in str(error)
    else:
        raise AssertionError("an anonymous report with a user link was stored")
