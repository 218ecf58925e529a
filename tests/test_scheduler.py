"""The scheduler: reminder rows are the truth, APScheduler the clock. Driven with a fake clock (calling the
due-processing with a chosen time), plus one short run of the real APScheduler."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.app import App, build_app
from bot.config import Settings
from bot.scheduler import Scheduler, build_scheduler
from handlers.flow import Services
from handlers.notify import notify
from handlers.types import Reply
from storage.audience import Audience
from storage.db import Store
from storage.reminders import Reminder
from tests.helpers_civic import STARTS, add_consultation, citizen, sent_to, user_id
from tests.people import add_people
from tests.support import Chat, FakeClock

DAY_BEFORE = datetime(2026, 12, 2, 2, 0, tzinfo=UTC)           # Rabu 09.00 WIB, the day before STARTS
TWO_HOURS = STARTS - timedelta(hours=2)


@pytest.fixture
async def scheduler(app: App) -> AsyncIterator[Scheduler]:
    built = build_scheduler(app)
    yield built
    await built.shutdown()


async def registered(app: App, name: str, consultation_id: int) -> int:
    """Register `name` through the chat; returns the registration id."""
    person = await citizen(app, name)
    await person.send(payload=f"cons:register:{consultation_id}")
    registration = await app.store.consultations.registration(consultation_id, await user_id(app, name))
    assert registration is not None and registration.state == "registered"
    return registration.id


async def test_a_due_reminder_is_sent_once_however_often_it_is_processed(
    app: App, clock: FakeClock, scheduler: Scheduler
) -> None:
    consultation_id = await add_consultation(app)
    registration_id = await registered(app, "budi", consultation_id)
    assert await scheduler.process_due(clock.now) == {}            # nothing is due yet
    clock.set(DAY_BEFORE)
    reminder = await app.store.reminders.find("consultation_h1", str(registration_id))
    outcomes = await asyncio.gather(*(scheduler.run_one(reminder.id, clock.now) for _ in range(3)),
                                    scheduler.process_due(clock.now))
    assert list(outcomes[:3]).count("sent") + outcomes[3].get("sent", 0) == 1
    assert await scheduler.process_due(clock.now + timedelta(minutes=5)) == {}
    [message] = await sent_to(app, "budi")
    assert message.startswith("Pengingat: besok ada Musrenbang Desa Jogotirto 2027")
    assert "Kamis, 3 Desember 2026 pukul 09.00 WIB" in message and "HADIR" in message
    assert (await app.store.reminders.get(reminder.id)).state == "sent"


async def test_late_reminders_are_sent_within_their_grace_and_skipped_after(
    app: App, clock: FakeClock, scheduler: Scheduler
) -> None:
    consultation_id = await add_consultation(app)
    early, late = [await registered(app, name, consultation_id) for name in ("ani", "budi")]
    clock.set(DAY_BEFORE + timedelta(hours=11))                    # 20.00 WIB: tomorrow's reminder still helps
    assert await scheduler.process_due(clock.now) == {"sent": 2}
    clock.set(TWO_HOURS + timedelta(minutes=60))                   # an hour late: still before the start
    assert await scheduler.run_one((await app.store.reminders.find("consultation_2h", str(early))).id,
                                   clock.now) == "sent"
    clock.set(TWO_HOURS + timedelta(minutes=100))                  # 20 minutes before the start: useless now
    assert await scheduler.process_due(clock.now) == {"skipped": 1}
    skipped = await app.store.reminders.find("consultation_2h", str(late))
    assert skipped.state == "skipped" and skipped.note == "too late"
    assert len(await sent_to(app, "ani")) == 2 and len(await sent_to(app, "budi")) == 1


async def test_a_cancelled_registration_gets_no_reminder(app: App, clock: FakeClock, scheduler: Scheduler) -> None:
    consultation_id = await add_consultation(app)
    registration_id = await registered(app, "budi", consultation_id)
    await Chat(app.engine, user="budi").send(payload=f"cons:cancel:{consultation_id}")
    clock.set(TWO_HOURS)
    assert await scheduler.process_due(clock.now) == {}
    assert (await app.store.reminders.find("consultation_2h", str(registration_id))).state == "cancelled"
    assert await sent_to(app, "budi") == []


async def test_a_reminder_whose_reason_went_away_is_skipped_unsent(
    app: App, clock: FakeClock, scheduler: Scheduler
) -> None:
    consultation_id = await add_consultation(app)
    registration_id = await registered(app, "budi", consultation_id)
    await app.store.consultations.set_registration_state(registration_id, "cancelled", clock.now)  # not via chat
    clock.set(DAY_BEFORE)
    assert await scheduler.process_due(clock.now) == {"skipped": 1}
    assert (await app.store.reminders.find("consultation_h1", str(registration_id))).note == "nothing to send"


async def test_restart_arms_a_job_per_pending_reminder_and_catches_up_once(
    settings: Settings, clock: FakeClock
) -> None:
    first = await build_app(settings, clock=clock)
    consultation_id = await add_consultation(first)
    ids = [await registered(first, name, consultation_id) for name in ("ani", "budi")]
    late_start = await add_consultation(first, "Forum Konsultasi", "kabupaten", None, None,
                                        starts_at=STARTS + timedelta(days=1))
    ids.append(await registered(first, "citra", late_start))
    await first.close()                                            # down from Monday till Wednesday 10.00 WIB

    clock.set(DAY_BEFORE + timedelta(hours=1))
    second = await build_app(settings, clock=clock)
    try:
        scheduler = build_scheduler(second)
        await scheduler.start(paused=True)
        assert [len(await sent_to(second, name)) for name in ("ani", "budi", "citra")] == [1, 1, 0]
        pending = await second.store.reminders.pending()
        jobs = {job.id: job for job in scheduler.aps.get_jobs()}
        assert {f"reminder:{r.id}" for r in pending} == {j for j in jobs if j.startswith("reminder:")}
        assert len(pending) == 4                                   # two 2-hour ones, citra's H-1 and 2-hour
        for reminder in pending:
            assert jobs[f"reminder:{reminder.id}"].next_run_time == reminder.due_at
        assert {"daily:retention", "sweep"} <= set(jobs)
        await scheduler.shutdown()
    finally:
        await second.close()

    third = await build_app(settings, clock=clock)                 # a second restart sends nothing again
    try:
        scheduler = build_scheduler(third)
        await scheduler.start(paused=True)
        assert [len(await sent_to(third, name)) for name in ("ani", "budi")] == [1, 1]
        await scheduler.shutdown()
    finally:
        await third.close()


async def test_reminders_that_came_due_long_ago_are_skipped_at_start(settings: Settings, clock: FakeClock) -> None:
    first = await build_app(settings, clock=clock)
    consultation_id = await add_consultation(first)
    await registered(first, "budi", consultation_id)
    await first.close()
    clock.set(STARTS - timedelta(minutes=10))                      # down through both reminders
    second = await build_app(settings, clock=clock)
    try:
        scheduler = build_scheduler(second)
        await scheduler.start(paused=True)
        assert await sent_to(second, "budi") == []
        assert (await second.store.reminders.counts()) == {"skipped": 2}
        await scheduler.shutdown()
    finally:
        await second.close()


async def test_a_failing_kind_rolls_back_and_an_unknown_kind_waits(
    app: App, clock: FakeClock, scheduler: Scheduler
) -> None:
    await citizen(app, "budi")

    async def queues_then_breaks(store: Store, services: Services, reminder: Reminder, now: datetime) -> bool:
        user = await store.users.get(int(reminder.target))
        await notify(store, [user], "test", lambda: [Reply("half done")], now)
        raise RuntimeError("boom")

    app.engine.registry.add_reminder_kind("breaks", queues_then_breaks, timedelta(hours=1))
    target = str(await user_id(app, "budi"))
    broken = await app.store.reminders.schedule("breaks", target, clock.now, clock.now)
    stranger = await app.store.reminders.schedule("from_a_newer_version", target, clock.now, clock.now)
    assert await scheduler.process_due(clock.now) == {"failed": 1, "unknown_kind": 1}
    assert await sent_to(app, "budi") == []                        # the half-queued message went with the rollback
    assert (await app.store.reminders.get(broken)).state == "failed"
    assert (await app.store.reminders.get(stranger)).state == "pending"


@pytest.mark.parametrize(("zone", "name", "utc_hour"), [
    ("Asia/Jakarta", "WIB", 2), ("Asia/Makassar", "WITA", 1), ("Asia/Jayapura", "WIT", 0),
])
async def test_times_follow_the_district_time_zone(tmp_path: Path, zone: str, name: str, utc_hour: int) -> None:
    settings = Settings.from_mapping({"DATABASE_PATH": str(tmp_path / "z.sqlite3"), "BOT_TIMEZONE": zone})
    clock = FakeClock(datetime(2026, 11, 29, 0, 0, tzinfo=UTC))
    app = await build_app(settings, clock=clock)
    try:
        off = await citizen(app, "petugas")
        await app.store.users.set_role(await user_id(app, "petugas"), "official")
        await off.send(payload="go:consultation_admin")
        for typed in ("new", "Musrenbang Desa Jogotirto 2027", "skip", "level:kabupaten", "Pendopo Kabupaten", "skip",
                      "skip", "03-12-2026 09.00", "12.00", "none", "save"):
            if typed in {o.payload for o in off.options}:
                await off.send(payload=typed)
            else:
                await off.send(typed)
        assert f"Mulai: Kamis, 3 Desember 2026 pukul 09.00 {name}" in off.text
        [consultation] = await app.store.consultations.for_officials(None, clock.now)
        assert consultation.starts_at == datetime(2026, 12, 3, utc_hour, 0, tzinfo=UTC)

        registration_id = await registered(app, "budi", consultation.id)
        day_before = await app.store.reminders.find("consultation_h1", str(registration_id))
        assert day_before.due_at == datetime(2026, 12, 2, utc_hour, 0, tzinfo=UTC)      # 09.00 local time
        assert day_before.due_at.astimezone(ZoneInfo(zone)).hour == 9

        scheduler = build_scheduler(app)
        await scheduler.start(paused=True)
        job = scheduler.aps.get_job(f"reminder:{day_before.id}")
        assert job.next_run_time.astimezone(ZoneInfo(zone)).replace(tzinfo=None) == datetime(2026, 12, 2, 9, 0)
        clock.set(day_before.due_at)
        assert await scheduler.process_due(clock.now) == {"sent": 1}
        [message] = await sent_to(app, "budi")
        assert f"pukul 09.00 {name}" in message
        await scheduler.shutdown()
    finally:
        await app.close()


async def test_daily_tasks_run_at_eight_on_working_days_only(settings: Settings, tmp_path: Path) -> None:
    settings = Settings.from_mapping({"DATABASE_PATH": str(tmp_path / "d.sqlite3"), "BOT_TIMEZONE": "Asia/Jayapura"})
    app = await build_app(settings, clock=FakeClock())
    ran: list[datetime] = []

    async def overdue_reports(store: Store, now: datetime) -> None:
        ran.append(now)

    try:
        scheduler = build_scheduler(app)
        scheduler.add_daily("overdue_reports", 8, 0, overdue_reports)
        tz = ZoneInfo("Asia/Jayapura")
        at_eight = [datetime(2026, 12, day, 8, 0, tzinfo=tz) for day in (4, 5, 25, 28)]  # Fri, Sat, Christmas, Mon
        assert [await scheduler.run_daily("overdue_reports", moment) for moment in at_eight] == [
            True, False, False, True]
        assert ran == [at_eight[0], at_eight[3]]

        await scheduler.start(paused=True)
        trigger = scheduler.aps.get_job("daily:overdue_reports").trigger
        after_friday_eight = datetime(2026, 12, 4, 8, 30, tzinfo=tz)
        assert trigger.get_next_fire_time(None, after_friday_eight) == datetime(2026, 12, 7, 8, 0, tzinfo=tz)
        await scheduler.shutdown()
    finally:
        await app.close()


def test_indonesian_working_days_skip_weekends_and_national_holidays() -> None:
    from handlers.workdays import is_working_day as working

    assert working(date(2026, 11, 30)) and not working(date(2026, 11, 29))           # Monday / Sunday
    assert not working(date(2026, 8, 17)) and not working(date(2026, 12, 24))        # Merdeka / cuti bersama


async def test_retention_forgets_idle_drafts(app: App, clock: FakeClock, scheduler: Scheduler) -> None:
    budi = await citizen(app, "budi")
    await budi.click("Konsultasi publik")
    budi_id = await user_id(app, "budi")
    assert (await app.store.conversations.load(budi_id)).state == "consultation.list"
    clock.advance(days=31)
    assert await scheduler.run_daily("retention", clock.now)
    assert (await app.store.conversations.load(budi_id)).state is None


async def test_the_real_apscheduler_fires_a_reminder_armed_while_running(settings: Settings) -> None:
    app = await build_app(settings)                                # the real clock this time
    try:
        scheduler = await app.start_scheduler()
        now = app.clock()
        consultation_id = await add_consultation(app, starts_at=now + timedelta(hours=2, seconds=1))
        registration_id = await registered(app, "budi", consultation_id)
        reminder = await app.store.reminders.find("consultation_2h", str(registration_id))
        assert scheduler.aps.get_job(f"reminder:{reminder.id}") is not None          # armed as it was written
        for _tick in range(60):
            if (await app.store.reminders.get(reminder.id)).state != "pending":
                break
            await asyncio.sleep(0.05)
        assert (await app.store.reminders.get(reminder.id)).state == "sent"
        [message] = await sent_to(app, "budi")
        assert "sebentar lagi dimulai" in message
    finally:
        await app.close()


async def test_the_console_chat_runs_the_scheduler_so_reminders_fire_offline(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    import bot.channels.console
    from bot.cli import _chat

    setup = await build_app(settings)
    now = setup.clock()
    consultation_id = await add_consultation(setup, starts_at=now + timedelta(hours=2, seconds=1))
    await registered(setup, "budi", consultation_id)
    await setup.close()
    delivered: list[str] = []

    async def chatting(engine, persona: str, media_dir: Path) -> None:  # type: ignore[no-untyped-def]
        """Stands in for the person typing: waits while the reminder comes due and is delivered."""
        for _tick in range(80):
            user = await engine.store.users.find("console", "budi")
            messages = await engine.store.outbox.for_user(user.id)
            if messages and messages[0].state == "sent":
                delivered.append(messages[0].kind)
                return
            await asyncio.sleep(0.05)

    monkeypatch.setattr(bot.channels.console, "run_console", chatting)
    await _chat(settings, "warga", as_official=False)
    assert delivered == ["consultation_reminder"]


async def test_the_real_apscheduler_starts_a_scheduled_broadcast_and_closes_a_poll_on_the_app_clock(
    app: App, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    import bot.scheduler

    monkeypatch.setattr(bot.scheduler, "DUE_SWEEP_SECONDS", 0.02)  # the real interval job, ticking fast
    await add_people(app.store, 3, clock(), prefix="w")
    broadcast = await app.store.broadcasts.create(None, "Kerja bakti Minggu pagi", None, None, Audience(), clock(),
                                                  scheduled_at=clock() + timedelta(hours=1))
    poll = await app.store.polls.create(None, "Jalan desa diaspal?", ["Setuju", "Tidak"], Audience(), True,
                                        clock() + timedelta(hours=2), clock())

    async def states() -> tuple[str, str]:
        sent, closed = await app.store.broadcasts.get(broadcast.id), await app.store.polls.get(poll.id)
        assert sent is not None and closed is not None
        return sent.state, closed.state

    async def settled(expected: tuple[str, str]) -> tuple[str, str]:
        for _tick in range(100):
            if await states() == expected:
                break
            await asyncio.sleep(0.01)
        return await states()

    scheduler = build_scheduler(app)
    await scheduler.start()
    try:
        await asyncio.sleep(0.1)                                   # several ticks, nothing due yet
        assert await states() == ("scheduled", "open")
        clock.advance(hours=1)
        assert await settled(("sending", "open")) == ("sending", "open")
        await asyncio.sleep(0.1)                                   # more ticks at the same moment: started once
        assert await app.store.outbox.counts(broadcast.group_id) == {"pending": 3}
        clock.advance(hours=1)
        assert await settled(("sending", "closed")) == ("sending", "closed")
    finally:
        await scheduler.shutdown()
