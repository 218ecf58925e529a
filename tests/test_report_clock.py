"""The LAPOR! deadline clock: what is overdue at time T, the daily reminder, and the automatic closing."""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

from bot.app import App
from handlers.report_lifecycle import auto_close, change_status, overdue, queue_overdue_reminders
from storage.reports import Report
from tests.reports_support import (
    BERBAH,
    add_report,
    citizen,
    official,
    options,
    outbox_of,
    send_report,
    texts,
    user_of,
    wib,
)
from tests.support import FakeClock

WIB = ZoneInfo("Asia/Jakarta")
NGAGLIK = "34.04.12"
SARDONOHARJO = "34.04.12.2005"


async def _sent_by_chat(app: App) -> Report:
    chat = await citizen(app)
    await send_report(chat)
    report = await app.store.reports.by_number("LPR-2026-000001")
    assert report is not None
    return report


async def test_overdue_at_time_t_follows_the_working_day_deadlines(app: App, clock: FakeClock) -> None:
    report = await _sent_by_chat(app)  # Monday 30 November, 09.00 WIB
    assert await overdue(app.store, wib(2026, 12, 3, 23, 59)) == []
    assert [r.number for r in await overdue(app.store, wib(2026, 12, 4))] == [report.number]

    verified = await change_status(app.store, report, "diverifikasi", wib(2026, 12, 1, 10), WIB)
    assert verified.followup_due_at == wib(2026, 12, 9)  # 5 working days: 2, 3, 4, 7, 8 December
    assert await overdue(app.store, wib(2026, 12, 8, 23, 59)) == []
    assert [r.id for r in await overdue(app.store, wib(2026, 12, 9))] == [report.id]

    in_progress = await change_status(app.store, verified, "diproses", wib(2026, 12, 10), WIB)
    assert in_progress.followed_up_at == wib(2026, 12, 10)
    assert await overdue(app.store, wib(2026, 12, 31)) == []  # followed up: the clock has nothing more to say


async def test_deadlines_skip_christmas_cuti_bersama_and_local_holidays(app: App, clock: FakeClock) -> None:
    clock.set(wib(2026, 12, 23, 10))  # Wednesday; 24 Dec cuti bersama, 25 Dec Natal, then a weekend
    chat = await citizen(app)
    text = await send_report(chat)
    assert "paling lambat Rabu, 30 Desember 2026" in text
    await app.store.holidays.add(date(2026, 12, 30), "Hari jadi kabupaten (contoh)")
    text = await send_report(chat, category="Bencana", description="Tanah longsor kecil menutup jalan dusun")
    assert "paling lambat Kamis, 31 Desember 2026" in text
    assert await app.store.holidays.remove(date(2026, 12, 30))


async def test_daily_overdue_reminder_goes_once_to_the_unit_else_the_kecamatan(app: App, clock: FakeClock) -> None:
    assigned = await add_report(app.store, None, clock.now, privacy="anonim", unit="DPUPKP",
                                due=wib(2026, 12, 4))
    unassigned = await add_report(app.store, None, clock.now, privacy="anonim", desa=SARDONOHARJO,
                                  due=wib(2026, 12, 4))
    on_time = await add_report(app.store, None, clock.now, privacy="anonim", unit="DPUPKP", due=wib(2026, 12, 9))
    dpu = await official(app, "dpu")                                   # DPUPKP, the whole district
    dpu_ngaglik = await official(app, "dpu_ngaglik", kecamatan=NGAGLIK)  # DPUPKP, only Ngaglik
    camat = await official(app, "camat", kecamatan=NGAGLIK)
    lurah = await official(app, "lurah", kecamatan=BERBAH)             # Berbah, but the Berbah report has a unit
    for chat in (dpu, dpu_ngaglik):
        await app.store.reports.units.set_member((await user_of(app, chat)).id, "DPUPKP")

    assert await queue_overdue_reminders(app.store, wib(2026, 12, 3, 8), WIB) == 0   # nothing late yet
    assert await queue_overdue_reminders(app.store, wib(2026, 12, 4, 8), WIB) == 3
    reminders = {chat.user: await outbox_of(app.store, await user_of(app, chat), "report_overdue")
                 for chat in (dpu, dpu_ngaglik, camat, lurah)}
    assert len(reminders["dpu"]) == 1 and "Pengingat: 2 laporan" in texts(reminders["dpu"][0])
    assert assigned.number in texts(reminders["dpu"][0]) and on_time.number not in texts(reminders["dpu"][0])
    assert "batas Kamis, 3 Desember 2026" in texts(reminders["dpu"][0])
    assert options(reminders["dpu"][0]) == [["Lihat laporan terlambat", "radm:overdue"]]
    assert len(reminders["camat"]) == 1 and unassigned.number in texts(reminders["camat"][0])
    assert assigned.number not in texts(reminders["camat"][0])
    # A unit member limited to another kecamatan hears only of what lies in theirs.
    assert len(reminders["dpu_ngaglik"]) == 1 and assigned.number not in texts(reminders["dpu_ngaglik"][0])
    assert reminders["lurah"] == []

    assert await queue_overdue_reminders(app.store, wib(2026, 12, 4, 8, 5), WIB) == 0   # once a day
    assert await queue_overdue_reminders(app.store, wib(2026, 12, 5, 8), WIB) == 0      # Saturday
    await app.store.holidays.add(date(2026, 12, 7), "Libur daerah (contoh)")
    assert await queue_overdue_reminders(app.store, wib(2026, 12, 7, 8), WIB) == 0      # a local holiday
    assert await queue_overdue_reminders(app.store, wib(2026, 12, 8, 8), WIB) == 3      # the next working day

    clock.set(wib(2026, 12, 8, 8, 1))
    await dpu.send(payload="radm:overdue")
    assert "hanya yang terlambat" in dpu.text
    assert assigned.number in dpu.labels and unassigned.number in dpu.labels and on_time.number not in dpu.labels


async def test_resolved_report_closes_itself_after_10_working_days(app: App, clock: FakeClock) -> None:
    report = await _sent_by_chat(app)
    verified = await change_status(app.store, report, "diverifikasi", clock.now, WIB)
    resolved = await change_status(app.store, verified, "selesai", clock.now, WIB, note="Sudah diperbaiki")
    assert resolved.autoclose_at == wib(2026, 12, 15)  # 10 working days after Monday 30 November
    other = await add_report(app.store, None, clock.now, privacy="anonim")
    await change_status(app.store, other, "selesai", clock.now, WIB, note="Selesai")
    reopened = await app.store.reports.get(other.id)
    assert reopened is not None
    reporter = await app.store.users.find("console", "warga")  # who sent the first report
    assert reporter is not None
    await change_status(app.store, reopened, "diverifikasi", clock.now, WIB, actor=reporter, event="reopened",
                        note="Belum beres")

    assert await auto_close(app.store, wib(2026, 12, 14, 23, 59), WIB) == []
    assert await auto_close(app.store, wib(2026, 12, 15), WIB) == [report.number]
    closed = await app.store.reports.get(report.id)
    assert closed is not None and closed.status == "ditutup" and closed.closed_at == wib(2026, 12, 15)
    assert (await app.store.reports.history(report.id))[-1].event == "closed"
    told = await outbox_of(app.store, reporter, "report_status")
    assert "sekarang ditutup" in texts(told[-1])
    assert await auto_close(app.store, wib(2026, 12, 16), WIB) == []
    still_open = await app.store.reports.get(other.id)
    assert still_open is not None and still_open.status == "diverifikasi"


async def test_the_scheduler_runs_the_report_clock_each_working_day(app: App, clock: FakeClock) -> None:
    """The daily tasks `report_overdue` (08.00) and `report_autoclose` are wired into the real scheduler."""
    from bot.scheduler import build_scheduler

    report = await _sent_by_chat(app)
    handler = await official(app)
    scheduler = build_scheduler(app)
    assert {"report_overdue", "report_autoclose"} <= set(scheduler.daily)
    assert not await scheduler.run_daily("report_overdue", wib(2026, 12, 5, 8))  # Saturday: not a working day
    assert await outbox_of(app.store, await user_of(app, handler), "report_overdue") == []
    assert await scheduler.run_daily("report_overdue", wib(2026, 12, 7, 8))  # Monday: verification is overdue
    reminders = await outbox_of(app.store, await user_of(app, handler), "report_overdue")
    assert len(reminders) == 1 and report.number in texts(reminders[0])
    await scheduler.run_daily("report_overdue", wib(2026, 12, 7, 8, 1))
    assert len(await outbox_of(app.store, await user_of(app, handler), "report_overdue")) == 1, "once a day"
