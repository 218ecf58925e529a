"""Laporan on WhatsApp end to end: signed webhooks into the real aiohttp app, numbered menus out through the
real twilio client to the fake Twilio REST server; the reporter hears of status changes from the outbox
worker as free-form text inside the 24-hour window and as the approved template outside it."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.fake_twilio import JPEG
from tests.reports_support import add_report
from tests.support import FakeClock
from tests.whatsapp_support import WhatsAppHarness, WhatsAppUser, onboard, whatsapp_harness

NUMBER = "+6281234567890"
OFFICIAL_NUMBER = "+6285700000009"
REPORT_STATUS_TEMPLATE = "HX" + "a1" * 16
NO_FILES_ON_WHATSAPP = "Berkas tidak bisa dikirim lewat WhatsApp"


@pytest.fixture
async def wa(tmp_path: Path, clock: FakeClock) -> AsyncIterator[WhatsAppHarness]:
    async with whatsapp_harness(tmp_path, clock, TWILIO_TEMPLATE_REPORT_STATUS=REPORT_STATUS_TEMPLATE) as harness:
        yield harness


async def official(wa: WhatsAppHarness) -> WhatsAppUser:
    """A second WhatsApp user, onboarded, then made an official by an admin."""
    petugas = wa.user(OFFICIAL_NUMBER, "Sari")
    await onboard(petugas)
    user = await wa.app.store.users.find("whatsapp", OFFICIAL_NUMBER)
    assert user is not None
    await wa.app.store.users.set_role(user.id, "official")
    return petugas


async def change_status(petugas: WhatsAppUser, number: str, to: str, note: str) -> None:
    """The official opens the report by its number and moves it on, all by typed numbers."""
    await petugas.send(f"status {number}")
    assert f"{number} · Jalan & jembatan" in petugas.text and "1. Ubah status" in petugas.text
    await petugas.send("1")
    assert f"1. {to}" in petugas.text
    await petugas.send("1")
    assert "1. Tanpa catatan\n2. Kembali" in petugas.text
    await petugas.send(note)
    assert f'{number} sekarang "{to}"' in petugas.text


async def test_a_full_report_then_its_status_notifications(wa: WhatsAppHarness, clock: FakeClock) -> None:
    budi = wa.user(NUMBER, "Budi")
    await onboard(budi)
    await budi.send("1")
    assert "Masalahnya tentang apa?" in budi.text and "1. Jalan & jembatan\n2. Sampah & kebersihan" in budi.text
    assert budi.text.endswith("Balas dengan angka, misalnya *1*.")
    await budi.send("1")
    assert "ceritakan masalahnya" in budi.text
    await budi.send("Jalan berlubang besar di depan SD Negeri 2, sudah dua minggu")
    assert "1. Lewati" in budi.text and "ikon kamera" in budi.text
    await budi.send_photo()
    assert "Foto 1 dari 3 sudah kami terima" in budi.text and "1. Selesai" in budi.text
    await budi.send("1")
    assert "Di mana tepatnya masalahnya?" in budi.text and "1. Desa lain" in budi.text
    assert "pilih *Lokasi*" in budi.text  # how to share a location in WhatsApp
    await budi.send_location(-7.7956, 110.4512, address="Jl. Wonosari KM 10", label="SD Negeri 2")
    assert "1. Biasa\n2. Rahasia\n3. Anonim" in budi.text
    await budi.send("1")
    assert "Mohon periksa laporan" in budi.text and "Foto: 1" in budi.text and "1. Kirim laporan" in budi.text
    await budi.send("1")
    assert "Nomor laporan: LPR-2026-000001" in budi.text and "1. Lapor masalah" in budi.text
    assert all(len(reply["Body"]) <= 1600 and not reply["MediaUrl"] for reply in wa.fake.to(NUMBER))

    report = await wa.app.store.reports.by_number("LPR-2026-000001")
    reporter = await wa.app.store.users.find("whatsapp", NUMBER)
    assert report is not None and reporter is not None and report.reporter_user_id == reporter.id
    assert (report.latitude, report.longitude, report.desa_code) == (-7.7956, 110.4512, "34.04.08.2004")
    [photo] = await wa.app.store.reports.photos(report.id)
    assert Path(photo).parent == wa.app.settings.media_dir and Path(photo).read_bytes() == JPEG
    assert len(wa.fake.media_downloads) == 1 and wa.fake.unauthorised == 0

    petugas = await official(wa)
    await change_status(petugas, report.number, "Diverifikasi", "Petugas akan cek lokasi besok pagi")
    before = len(wa.fake.to(NUMBER))
    assert await wa.deliver_outbox() == 1
    [inside] = wa.fake.to(NUMBER)[before:]
    assert "LPR-2026-000001" in inside["Body"] and '"Diverifikasi"' in inside["Body"]
    assert "Petugas akan cek lokasi besok pagi" in inside["Body"] and "ContentSid" not in inside

    clock.advance(hours=25)  # Budi has not written since: his window is closed
    await change_status(petugas, report.number, "Diproses", "Perbaikan\ndijadwalkan minggu depan")
    assert await wa.deliver_outbox() == 1
    outside = wa.fake.to(NUMBER)[-1]
    assert outside["ContentSid"] == REPORT_STATUS_TEMPLATE and "Body" not in outside
    assert json.loads(outside["ContentVariables"]) == {
        "1": "LPR-2026-000001", "2": "Diproses", "3": "Perbaikan dijadwalkan minggu depan"}
    rows = await wa.app.store.outbox.for_user(reporter.id)
    assert [(row.kind, row.state) for row in rows] == [("report_status", "sent")] * 2


async def test_my_data_on_whatsapp_is_its_summary_and_where_to_get_the_file(wa: WhatsAppHarness) -> None:
    budi = wa.user(NUMBER, "Budi")
    await onboard(budi)
    await budi.send("7")
    await budi.send("Data saya")
    await budi.send("Kirim sebagai file")
    [reply] = budi.replies
    assert "Ini seluruh data Bapak/Ibu dalam bentuk file" in reply["Body"]
    assert "Desa: Jogotirto" in reply["Body"] and f"whatsapp ({NUMBER})" in reply["Body"]
    assert NO_FILES_ON_WHATSAPP in reply["Body"] and "Telegram" in reply["Body"]
    assert "data-saya" not in reply["Body"] and not reply["MediaUrl"]  # no server path leaks out
    assert "1. Lapor masalah" in reply["Body"]


async def test_an_officials_csv_export_on_whatsapp_says_where_to_get_it(wa: WhatsAppHarness,
                                                                        clock: FakeClock) -> None:
    await add_report(wa.app.store, None, clock())
    petugas = await official(wa)
    await petugas.send("/ekspor_laporan")
    [reply] = petugas.replies
    assert "Ekspor siap: 1 laporan" in reply["Body"] and NO_FILES_ON_WHATSAPP in reply["Body"]
    assert ".csv" not in reply["Body"] and not reply["MediaUrl"]
