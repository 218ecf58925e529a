"""`sinergi reports …` on a real database file: CSV export with BOM, and editing lists without code."""

from __future__ import annotations

import asyncio
from datetime import date

import pytest

from bot.app import build_app
from bot.cli import build_parser
from bot.config import Settings
from storage.db import open_store
from tests.reports_support import add_report, citizen, send_report, wib
from tests.support import FakeClock


def _run(settings: Settings, *argv: str) -> int:
    args = build_parser().parse_args(list(argv))
    return int(args.func(args, settings))


def test_export_writes_utf8_with_bom_and_never_a_confidential_name(
    settings: Settings, capfdbinary: pytest.CaptureFixture[bytes]
) -> None:
    async def prepare() -> None:
        app = await build_app(settings, clock=FakeClock())
        try:
            await send_report(await citizen(app, "joko"), description="Saluran air tersumbat di Dusun Kalitirto")
            secret = await citizen(app, "siti")
            await send_report(secret, privacy="Rahasia", category="Kesehatan",
                              description="Bidan desa jarang hadir di polindes")
            await add_report(app.store, None, wib(2026, 11, 1, 9), privacy="anonim",
                             description="Laporan lama bulan lalu")
        finally:
            await app.close()

    asyncio.run(prepare())
    assert _run(settings, "reports", "export", "--since", "2026-11-30") == 0
    out, err = capfdbinary.readouterr()
    assert out.startswith(b"\xef\xbb\xbf")
    lines = out.decode("utf-8-sig").splitlines()
    assert lines[0].startswith("Nomor,Dikirim,Kategori,Status,Unit,Kecamatan,Desa")
    assert len(lines) == 3 and "Laporan lama" not in out.decode("utf-8")
    body = "\n".join(lines)
    assert "joko" in body and "siti" not in body and "(rahasia)" in body
    assert "Saluran air tersumbat" in body and "2026-11-30 09:00" in body
    assert b"exported 2 reports" in err

    assert _run(settings, "reports", "export", "--until", "2026-11-29") == 0
    out, _err = capfdbinary.readouterr()
    assert "Laporan lama bulan lalu" in out.decode("utf-8-sig") and len(out.decode("utf-8-sig").splitlines()) == 2


def test_categories_units_and_holidays_change_without_code(
    settings: Settings, capfdbinary: pytest.CaptureFixture[bytes]
) -> None:
    assert _run(settings, "reports", "units", "DISPERTARU", "--id", "Dinas Pertanahan dan Tata Ruang",
                "--en", "Land and Spatial Planning Office") == 0
    assert _run(settings, "reports", "categories", "tata_ruang", "--id", "Tata ruang & bangunan",
                "--en", "Zoning & buildings", "--unit", "DISPERTARU") == 0
    assert _run(settings, "reports", "categories", "lainnya", "--hide") == 0
    assert _run(settings, "reports", "categories", "bogus", "--id", "Tanpa unit", "--en", "No unit",
                "--unit", "NOPE") == 2
    assert _run(settings, "reports", "holidays", "--add", "2026-12-31", "Cuti akhir tahun (contoh)") == 0
    assert _run(settings, "reports", "holidays", "--add", "31-12-2026", "salah") == 2
    capfdbinary.readouterr()
    assert _run(settings, "reports", "categories") == 0
    listed = capfdbinary.readouterr().out.decode()
    assert "tata_ruang\tTata ruang & bangunan\tZoning & buildings\tDISPERTARU" in listed
    assert "lainnya\tLainnya\tOther\t-\thidden" in listed and "bogus" not in listed
    assert _run(settings, "reports", "holidays", "--year", "2026") == 0
    calendar = capfdbinary.readouterr().out.decode()
    assert "2026-12-24\tCuti Bersama Hari Raya Natal" in calendar
    assert "2026-12-31\tCuti akhir tahun (contoh) (local)" in calendar

    async def check() -> None:
        store = await open_store(settings.database_path)
        try:
            assert date(2026, 12, 31) in await store.holidays.all()
        finally:
            await store.close()
        app = await build_app(settings, clock=FakeClock())
        try:
            chat = await citizen(app)
            await chat.click("Lapor masalah")
            assert "Tata ruang & bangunan" in chat.labels and "Lainnya" not in chat.labels
            await chat.click("Tata ruang & bangunan")
            await chat.send("Bangunan liar berdiri di sempadan sungai")
            await chat.click("Lewati")
            await chat.send("tepi sungai Gajahwong")
            await chat.click("Biasa")
            await chat.click("Kirim laporan")
            report = await app.store.reports.by_number("LPR-2026-000001")
            assert report is not None and report.unit_code == "DISPERTARU"
        finally:
            await app.close()

    asyncio.run(check())
