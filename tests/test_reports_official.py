"""The officials' side of Laporan: list, filters, status changes with notes, units, export, role checks."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.app import App
from handlers.reports_official import REPORTS_ADMIN_FLOW, UNIT_FLOW
from storage.conversations import Conversation
from tests.reports_support import (
    add_report,
    citizen,
    exported_csv,
    official,
    options,
    outbox_of,
    send_report,
    texts,
    user_of,
)
from tests.support import Chat, FakeClock

SARDONOHARJO = "34.04.12.2005"  # Kecamatan Ngaglik
REFUSED = "hanya petugas Pemkab"


async def _open_list(chat: Chat) -> None:
    await chat.send("menu")
    await chat.click("Menu petugas")
    await chat.click("Laporan warga")


async def test_list_with_filters_and_paging(app: App, clock: FakeClock) -> None:
    for n in range(6):
        await add_report(app.store, None, clock.now, privacy="anonim", description=f"Jalan rusak nomor {n}")
    await add_report(app.store, None, clock.now, privacy="anonim", category="sampah", desa=SARDONOHARJO)
    rejected = await add_report(app.store, None, clock.now, privacy="anonim")
    await app.store.reports.update(rejected.id, clock.now, status="ditolak")
    chat = await official(app)
    await _open_list(chat)
    assert "7 laporan, halaman 1 dari 2" in chat.text
    assert chat.labels[:5] == [f"LPR-2026-00000{n}" for n in (7, 6, 5, 4, 3)]
    await chat.click("Halaman berikutnya")
    assert "halaman 2 dari 2" in chat.text and chat.labels[:2] == ["LPR-2026-000002", "LPR-2026-000001"]

    await chat.click("Saring kategori")
    await chat.click("Sampah & kebersihan")
    assert "1 laporan" in chat.text and chat.labels[0] == "LPR-2026-000007"
    await chat.click("Hapus saringan")
    await chat.click("Saring wilayah")
    await chat.send("Ngaglik")
    await chat.click("Seluruh Kecamatan Ngaglik")
    assert "Kecamatan Ngaglik" in chat.text and "1 laporan" in chat.text
    await chat.click("Saring wilayah")
    await chat.send("jogotirto")
    assert "Desa Jogotirto" in chat.text and "6 laporan" in chat.text
    await chat.click("Hapus saringan")
    await chat.click("Saring status")
    await chat.click("Ditolak")
    assert "1 laporan" in chat.text and chat.labels[0] == rejected.number

    await chat.click("Hapus saringan")
    await chat.click("Hanya yang terlambat")
    assert "Tidak ada laporan yang cocok" in chat.text
    clock.advance(days=3)  # add_report made the verification due three days after sending
    await chat.send("menu")
    await chat.click("Menu petugas")
    await chat.click("Laporan terlambat")
    assert "7 laporan" in chat.text and "TERLAMBAT" in chat.text


async def test_status_changes_reach_reporter_and_supporters_in_their_language(app: App, clock: FakeClock) -> None:
    reporter = await citizen(app, "ani")
    await send_report(reporter)
    supporter = await citizen(app, "tourist", language="English")
    report = await app.store.reports.by_number("LPR-2026-000001")
    assert report is not None
    await app.store.reports.add_supporter(report.id, (await user_of(app, supporter)).id, clock.now)

    chat = await official(app)
    await _open_list(chat)
    await chat.click(report.number)
    assert "Pelapor: ani" in chat.text and "Batas verifikasi: Kamis, 3 Desember 2026" in chat.text
    await chat.click("Ubah status")
    assert chat.labels == ["Diverifikasi", "Ditolak", "Bukan kewenangan", "Kembali"]
    await chat.click("Diverifikasi")
    await chat.click("Tanpa catatan")
    assert "Pelapor dan pendukung sudah dikabari" in chat.text
    assert "Batas tindak lanjut pertama: Senin, 7 Desember 2026" in chat.text

    await chat.click("Ubah status")
    await chat.click("Selesai")
    assert "wajib" in chat.text and "Tanpa catatan" not in chat.labels
    await chat.send("ok")
    assert "3 sampai 1000 huruf" in chat.text
    await chat.send("Lubang sudah ditambal oleh DPUPKP")

    reporter_user = await user_of(app, reporter)
    to_reporter = await outbox_of(app.store, reporter_user, "report_status")
    assert len(to_reporter) == 2
    assert "statusnya sekarang \"Diverifikasi\"" in texts(to_reporter[0])
    assert "Catatan petugas: Lubang sudah ditambal oleh DPUPKP" in texts(to_reporter[1])
    assert "beri nilai" in texts(to_reporter[1])
    assert [f"report:rate:{report.id}:{n}" for n in range(1, 6)] == [p for _label, p in options(to_reporter[1])][:5]
    assert ["Buka lagi", f"report:reopen:{report.id}"] in options(to_reporter[1])
    to_supporter = await outbox_of(app.store, await user_of(app, supporter), "report_status")
    assert "that you support: it is now \"Resolved\"" in texts(to_supporter[1])
    assert "Note from the officer: Lubang" in texts(to_supporter[1]) and not options(to_supporter[1])
    assert not await outbox_of(app.store, await user_of(app, chat))  # the official is not told of their own act

    await reporter.send(payload=f"report:rate:{report.id}:4")
    assert "penilaiannya (4 dari 5)" in reporter.text
    assert await app.store.reports.rating(report.id, 0) == 4
    await chat.click("Kembali ke daftar")
    await chat.click("Saring status")
    await chat.click("Semua status")
    await chat.click(report.number)
    assert "Nilai: 4 dari 5" in chat.text and "Selesai: Lubang sudah ditambal" in chat.text
    assert "Ubah status" not in chat.labels


async def test_reopen_within_14_days_returns_to_the_queue_and_tells_the_handler(app: App, clock: FakeClock) -> None:
    reporter = await citizen(app)
    await send_report(reporter)
    report = await app.store.reports.by_number("LPR-2026-000001")
    assert report is not None
    chat = await official(app)
    await chat.send("status LPR-2026-000001")
    await chat.click("Ubah status")
    await chat.click("Diverifikasi")
    await chat.click("Tanpa catatan")
    await chat.click("Ubah status")
    await chat.click("Selesai")
    await chat.send("Sudah diperbaiki")

    clock.advance(days=13)
    await reporter.send(payload=f"report:reopen:{report.id}")
    assert "Apa yang masih bermasalah" in reporter.text
    await reporter.send("Lubangnya muncul lagi setelah hujan")
    assert "dibuka lagi" in reporter.text
    reopened = await app.store.reports.get(report.id)
    assert reopened is not None and reopened.status == "diverifikasi" and reopened.reopen_count == 1
    assert reopened.followup_due_at is not None and reopened.followup_due_at > clock.now
    told = await outbox_of(app.store, await user_of(app, chat), "report_reopened")
    assert len(told) == 1 and "Lubangnya muncul lagi" in texts(told[0])
    assert options(told[0]) == [["Buka laporan", f"radm:open:{report.id}"]]

    await chat.send(payload=f"radm:open:{report.id}")  # the notification's button, 13 days later
    assert "Dibuka lagi oleh pelapor: Lubangnya muncul lagi" in chat.text
    await chat.click("Ubah status")
    await chat.click("Selesai")
    await chat.send("Sudah ditambal ulang dengan aspal")
    clock.advance(days=15)
    await reporter.send(payload=f"report:reopen:{report.id}")
    assert "sudah tidak bisa dibuka lagi" in reporter.text
    stranger = await citizen(app, "orang_lain")
    await stranger.send(payload=f"report:rate:{report.id}:1")
    assert "belum bisa dinilai" in stranger.text


async def test_notifications_are_written_in_the_same_transaction_as_the_status_change(
    app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    reporter = await citizen(app)
    await send_report(reporter)
    chat = await official(app)
    await chat.send("status LPR-2026-000001")
    await chat.click("Ubah status")
    await chat.click("Ditolak")

    async def broken_enqueue(*_args: object, **_kwargs: object) -> int:
        raise RuntimeError("outbox is full")

    monkeypatch.setattr(app.store.outbox, "enqueue", broken_enqueue)
    await chat.send("Lokasi di luar wilayah kabupaten")
    assert "ada gangguan" in chat.text
    report = await app.store.reports.by_number("LPR-2026-000001")
    assert report is not None and report.status == "baru"  # the status change rolled back with the outbox write
    assert [h.event for h in await app.store.reports.history(report.id)] == ["created"]

    monkeypatch.undo()
    await chat.send("Lokasi di luar wilayah kabupaten")
    report = await app.store.reports.by_number("LPR-2026-000001")
    assert report is not None and report.status == "ditolak" and report.closed_at is not None
    sent = await outbox_of(app.store, await user_of(app, reporter), "report_status")
    assert len(sent) == 1 and "Lokasi di luar wilayah" in texts(sent[0])


async def test_assign_to_a_unit_tells_its_officials(app: App, clock: FakeClock) -> None:
    report = await add_report(app.store, None, clock.now, privacy="anonim", unit="DPUPKP")
    member = await official(app, "dlh")
    await member.send("menu")
    await member.click("Menu petugas")
    await member.click("Unit kerja saya")
    assert "Sekarang: belum ada unit" in member.text
    await member.click("Dinas Lingkungan Hidup")
    assert "masuk Dinas Lingkungan Hidup" in member.text
    assert await app.store.reports.units.unit_of((await user_of(app, member)).id) == "DLH"

    chat = await official(app)
    await chat.send(f"status {report.number}")
    assert "Unit: Dinas Pekerjaan Umum" in chat.text
    await chat.click("Tugaskan ke unit")
    await chat.click("Dinas Lingkungan Hidup")
    assert "ditugaskan ke Dinas Lingkungan Hidup" in chat.text and "Ditugaskan ke Dinas Lingkungan Hidup" in chat.text
    told = await outbox_of(app.store, await user_of(app, member), "report_assigned")
    assert len(told) == 1 and report.number in texts(told[0])
    await member.send(payload=f"radm:open:{report.id}")
    assert "Unit: Dinas Lingkungan Hidup" in member.text


async def test_confidential_name_only_for_its_handlers_and_never_in_exports(app: App, tmp_path: Path) -> None:
    secret = Chat(app.engine, user="siti", display_name="Siti Rahmawati")
    await secret.onboard()
    await send_report(secret, privacy="Rahasia")
    open_person = Chat(app.engine, user="joko", display_name="Joko Susilo")
    await open_person.onboard()
    await send_report(open_person, category="Kesehatan", description="Posyandu kekurangan timbangan bayi")

    handler = await official(app, "handler")
    bystander = await official(app, "bystander")
    await handler.send("status LPR-2026-000001")
    assert "Rahasia: nama hanya terlihat oleh petugas yang menangani" in handler.text
    assert "Siti" not in handler.text
    await handler.click("Ubah status")
    await handler.click("Diverifikasi")
    await handler.click("Tanpa catatan")
    assert "Pelapor: Siti Rahmawati (rahasia)" in handler.text
    await bystander.send("status LPR-2026-000001")
    assert "Siti" not in bystander.text

    await handler.click("Kembali ke daftar")
    await handler.click("Ekspor CSV")
    assert "Ekspor siap: 2 laporan" in handler.text
    assert Path(handler.replies[0].files[0]).is_relative_to(tmp_path / "media" / "exports")
    content = exported_csv(handler)
    assert content.splitlines()[0].startswith("Nomor,Dikirim,Kategori,Status")
    assert "Siti" not in content and "(rahasia)" in content and "Joko Susilo" in content
    audit = await app.store.audit.recent()
    assert any(row["action"] == "report.export" and row["allowed"] for row in audit)


async def test_export_quotes_text_a_spreadsheet_would_run(app: App, clock: FakeClock) -> None:
    await add_report(app.store, None, clock.now, privacy="anonim", description="=HYPERLINK(\"http://x\") jalan")
    chat = await official(app)
    await chat.send(payload="report:export")
    content = exported_csv(chat)
    assert "'=HYPERLINK" in content and ",=HYPERLINK" not in content


@pytest.mark.parametrize("attempt", [
    "go:reports_admin", "go:report_unit", "radm:open:1", "radm:overdue", "report:export",
    "/kelola_laporan", "/ekspor_laporan",
])
async def test_a_citizen_cannot_use_official_actions(app: App, clock: FakeClock, attempt: str) -> None:
    await add_report(app.store, None, clock.now, privacy="anonim")
    chat = await citizen(app)
    if attempt.startswith("/"):
        await chat.send(attempt)
    else:
        await chat.send(payload=attempt)
    assert REFUSED in chat.text
    refused = [row for row in await app.store.audit.recent() if not row["allowed"]]
    assert refused and refused[0]["user_id"] == (await user_of(app, chat)).id
    assert not (Path(app.settings.media_dir) / "exports").exists()


# What a citizen would send at each official step if they forged their way there.
FORGED_INPUT = {
    "reports_admin.list": "filter:clear",
    "reports_admin.filter_status": "fstatus:all",
    "reports_admin.filter_category": "fcat:jalan",
    "reports_admin.filter_kecamatan": "farea:all",
    "reports_admin.filter_desa": "farea:kec",
    "reports_admin.view": "radm:status",
    "reports_admin.status": "to:diverifikasi",
    "reports_admin.note": "note:none",
    "reports_admin.assign": "unit:DLH",
    "report_unit.choose": "myunit:DLH",
}


@pytest.mark.parametrize("state", sorted({*REPORTS_ADMIN_FLOW.steps, *UNIT_FLOW.steps}))
async def test_a_citizen_forced_into_an_official_step_is_refused(app: App, clock: FakeClock, state: str) -> None:
    report = await add_report(app.store, None, clock.now, privacy="anonim", unit="DPUPKP")
    chat = await citizen(app)
    user = await user_of(app, chat)
    draft = {"report_id": report.id, "new_status": "diverifikasi", "kecamatan_code": "34.04.08"}
    await app.store.conversations.save(user.id, Conversation(state, {"draft": draft, "options": []}), clock.now)
    await chat.send(payload=FORGED_INPUT[state])
    assert REFUSED in chat.text
    after = await app.store.reports.get(report.id)
    assert after is not None and after.status == "baru" and after.unit_code == "DPUPKP"
    assert await app.store.reports.units.unit_of(user.id) is None
    assert [h.event for h in await app.store.reports.history(report.id)] == ["created"]


async def test_an_official_limited_to_one_kecamatan_stays_in_it(app: App, clock: FakeClock) -> None:
    berbah = await add_report(app.store, None, clock.now, privacy="anonim")
    ngaglik = await add_report(app.store, None, clock.now, privacy="anonim", desa=SARDONOHARJO)
    chat = await official(app, "camat", kecamatan="34.04.12")
    await _open_list(chat)
    assert "1 laporan" in chat.text and chat.labels[0] == ngaglik.number
    await chat.click("Saring wilayah")
    assert "Desa mana di Ngaglik" in chat.text and "Kecamatan lain" not in chat.labels
    await chat.send(payload=f"radm:open:{berbah.id}")
    assert REFUSED in chat.text
    await chat.send(f"status {berbah.number}")
    assert REFUSED in chat.text
    await chat.send(payload="report:export")
    content = exported_csv(chat)
    assert ngaglik.number in content and berbah.number not in content
