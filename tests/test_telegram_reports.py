"""Laporan on Telegram end to end: the real PTB Application polling the fake Bot API, the real engine and
SQLite; a whole report with a photo and a location pin, and the exports that arrive as documents."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.fake_telegram import FakeTelegram
from tests.reports_support import add_report
from tests.support import FakeClock
from tests.telegram_support import Stack, onboarded, running_bot, send_full_report, telegram_settings

OFFICIAL_ID = 7002


@pytest.fixture
async def bot(fake: FakeTelegram, tmp_path: Path, clock: FakeClock) -> AsyncIterator[Stack]:
    settings = telegram_settings(tmp_path, fake, OFFICIAL_TELEGRAM_IDS=str(OFFICIAL_ID))
    async with running_bot(settings, fake, clock) as stack:
        yield stack


async def test_onboarding_then_a_full_report_with_photo_and_location(bot: Stack) -> None:
    budi = await onboarded(bot)
    report = await send_full_report(bot, budi)
    assert report.number == "LPR-2026-000001" and report.status == "baru"
    ticket = next(c for c in bot.fake.of("sendMessage", budi.id) if "Nomor laporan" in c.text)
    assert "paling lambat Kamis, 3 Desember 2026" in ticket.text
    assert ticket.markup == {"remove_keyboard": True}  # the location keyboard is gone once the report is in
    [full_size] = bot.fake.of("getFile")
    assert full_size.params["file_id"] == "FILE000002"  # the largest size, not the thumbnail
    # every press answered: 2 in onboarding, 5 in the report
    assert len(bot.fake.of("answerCallbackQuery")) == 7


async def test_my_data_arrives_as_a_document_after_its_summary(bot: Stack) -> None:
    budi = await onboarded(bot)
    await budi.click("Pengaturan")
    await budi.click("Data saya")
    await budi.click("Kirim sebagai file")
    methods = [c.method for c in budi.received if c.method != "editMessageReplyMarkup"]
    assert methods == ["sendMessage", "sendDocument", "sendMessage"]  # summary, file, then the menu again
    summary, document, _menu = (c for c in budi.received if c.method != "editMessageReplyMarkup")
    assert "Ini seluruh data Bapak/Ibu dalam bentuk file" in summary.text and "Desa: Jogotirto" in summary.text
    assert document.filenames["document"].startswith("data-saya-") and document.filenames["document"].endswith(
        ".json")
    exported = json.loads(document.files["document"])
    assert exported["users"]["desa_code"] == "34.04.08.2004" and exported["users"]["external_id"] == str(budi.id)
    assert document.result["document"]["file_size"] == len(document.files["document"])


async def test_an_officials_csv_export_arrives_as_a_document(bot: Stack, clock: FakeClock) -> None:
    budi = await onboarded(bot)
    user = await bot.app.store.users.find("telegram", str(budi.id))
    assert user is not None
    await add_report(bot.app.store, user.id, clock(), description="Lampu jalan mati di depan balai desa")
    petugas = await onboarded(bot, OFFICIAL_ID, first_name="Sari")
    await petugas.send("/ekspor_laporan")
    [document] = [c for c in petugas.received if c.method == "sendDocument"]
    assert "Ekspor siap: 1 laporan" in petugas.texts[0]
    assert document.filenames["document"].startswith("laporan-") and document.filenames["document"].endswith(".csv")
    content = document.files["document"]
    assert content.startswith(b"\xef\xbb\xbf")  # UTF-8 with BOM, so spreadsheet programs read it right
    assert "LPR-2026-000001" in content.decode("utf-8-sig") and "Lampu jalan mati" in content.decode("utf-8-sig")
    await budi.send("/ekspor_laporan")  # a citizen gets the polite refusal and no file
    assert "hanya petugas" in budi.text.lower()
    assert bot.fake.of("sendDocument", budi.id) == []
