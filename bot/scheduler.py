"""The clock for everything timed: APScheduler 3 (`AsyncIOScheduler`, district time zone); SQLite is the truth.

Reminders are rows (`storage/reminders.py`); what a row of each kind does is registered by the flow modules
(`Registry.add_reminder_kind`). At start-up the rows that came due while the process was down are handled
first: sent if still within their kind's grace window, skipped otherwise. Then one `DateTrigger` job is
armed per pending row, and rows added later arm their job as they are written. A job claims its row in the
same transaction that queues its outbox messages, so no reminder goes out twice, even when a job and the
sweep (every few minutes, for rows other processes wrote) race for it.

Daily tasks (`add_daily`) are cron jobs in district time; on working days only when asked, which skips
weekends and Indonesian national holidays and cuti bersama. Frequent tasks (`add_every`) run every few
seconds for times kept on their own rows rather than as reminders (a broadcast's send time, a poll's closing
time); each must be safe to run twice for the same moment.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger

from handlers import broadcasts, polls, report_lifecycle, workdays
from handlers.flow import Registry, Services
from handlers.i18n import set_timezone
from storage.clock import utc_now
from storage.db import Store

if TYPE_CHECKING:
    from bot.app import App
    from bot.config import Settings

log = logging.getLogger("sinergi.scheduler")

DailyFn = Callable[[Store, datetime], Awaitable[object]]
SWEEP_MINUTES = 5
DUE_SWEEP_SECONDS = 30  # scheduled broadcasts start and polls close at most this late
EXPORT_FILE_RETENTION = timedelta(days=1)  # "Data saya" files and CSV exports: fetched at once, then gone


@dataclass(frozen=True)
class DailyTask:
    name: str
    hour: int
    minute: int
    fn: DailyFn
    working_days_only: bool


@dataclass(frozen=True)
class FrequentTask:
    name: str
    seconds: float
    fn: DailyFn


class Scheduler:
    def __init__(self, store: Store, registry: Registry, services: Services,
                 clock: Callable[[], datetime] = utc_now, on_queued: Callable[[], None] | None = None,
                 is_working_day: Callable[[date], bool] | None = None) -> None:
        self.store = store
        self.registry = registry
        self.services = services
        self.clock = clock
        self.on_queued = on_queued
        self.is_working_day = is_working_day or workdays.is_working_day
        self.daily: dict[str, DailyTask] = {}
        self.frequent: dict[str, FrequentTask] = {}
        self.aps = AsyncIOScheduler(timezone=services.timezone)
        self._running: set[asyncio.Task[object]] = set()

    # --- set-up -----------------------------------------------------------------------------------

    def add_daily(self, name: str, hour: int, minute: int, fn: DailyFn, working_days_only: bool = True) -> None:
        """Run `fn(store, now)` every day (or working day) at hour:minute district time."""
        if name in self.daily:
            raise ValueError(f"daily task {name!r} added twice")
        task = DailyTask(name, hour, minute, fn, working_days_only)
        self.daily[name] = task
        if self.aps.running:
            self._add_daily_job(task)

    def add_every(self, name: str, seconds: float, fn: DailyFn) -> None:
        """Run `fn(store, now)` every `seconds`; for work that is idempotent for a given moment."""
        if name in self.frequent:
            raise ValueError(f"frequent task {name!r} added twice")
        task = FrequentTask(name, seconds, fn)
        self.frequent[name] = task
        if self.aps.running:
            self._add_frequent_job(task)

    async def start(self, paused: bool = False) -> None:
        """Catch up on what came due while down, arm a job per pending row, start the clock."""
        outcomes = await self.process_due(self.clock())
        if outcomes:
            log.info("caught up on reminders due while down: %s", outcomes)
        armed = 0
        for reminder in await self.store.reminders.pending():
            if reminder.kind in self.registry.reminder_kinds:
                self.arm(reminder.id, reminder.due_at)
                armed += 1
        self.store.reminders.listeners.append(self.arm)
        for task in self.daily.values():
            self._add_daily_job(task)
        for frequent in self.frequent.values():
            self._add_frequent_job(frequent)
        self.aps.add_job(self._sweep, IntervalTrigger(minutes=SWEEP_MINUTES, timezone=self.services.timezone),
                         id="sweep", replace_existing=True, coalesce=True, max_instances=1)
        self.aps.start(paused=paused)
        log.info("scheduler started timezone=%s reminders_armed=%d daily=%s", self.services.timezone, armed,
                 ",".join(self.daily) or "-")

    async def shutdown(self) -> None:
        """Stop the clock, let a reminder in progress finish its transaction, then let go."""
        if self.arm in self.store.reminders.listeners:
            self.store.reminders.listeners.remove(self.arm)
        if not self.aps.running:
            return
        self.aps.pause()
        if self._running:
            await asyncio.gather(*self._running, return_exceptions=True)
        self.aps.shutdown(wait=False)
        await asyncio.sleep(0)  # AsyncIOScheduler finishes its shutdown on the next loop turn

    def arm(self, reminder_id: int, due_at: datetime) -> None:
        self.aps.add_job(self._fire, DateTrigger(run_date=due_at, timezone=self.services.timezone),
                         args=[reminder_id], id=f"reminder:{reminder_id}", replace_existing=True,
                         misfire_grace_time=None, coalesce=True)

    def _add_daily_job(self, task: DailyTask) -> None:
        trigger = CronTrigger(hour=task.hour, minute=task.minute,
                              day_of_week="mon-fri" if task.working_days_only else "*",
                              timezone=self.services.timezone)
        self.aps.add_job(self._run_daily_now, trigger, args=[task.name], id=f"daily:{task.name}",
                         replace_existing=True, coalesce=True, max_instances=1, misfire_grace_time=3600)

    def _add_frequent_job(self, task: FrequentTask) -> None:
        self.aps.add_job(self._run_frequent_now, IntervalTrigger(seconds=task.seconds, timezone=self.services.timezone),
                         args=[task.name], id=f"every:{task.name}", replace_existing=True, coalesce=True,
                         max_instances=1)

    # --- what the jobs do (call these with a chosen `now` to test them) -----------------------------

    async def process_due(self, now: datetime) -> dict[str, int]:
        """Handle every pending row due by `now`; returns how many ended in each outcome."""
        outcomes: dict[str, int] = {}
        for reminder in await self.store.reminders.pending(due_before=now):
            outcome = await self.run_one(reminder.id, now)
            outcomes[outcome] = outcomes.get(outcome, 0) + 1
        return outcomes

    async def run_one(self, reminder_id: int, now: datetime) -> str:
        """Claim one due row and do what its kind says: 'sent', 'skipped', 'failed', or why nothing happened."""
        reminder = await self.store.reminders.get(reminder_id)
        if reminder is None or reminder.state != "pending":
            return "gone"
        if reminder.due_at > now:
            return "not_due"
        kind = self.registry.reminder_kinds.get(reminder.kind)
        if kind is None:  # a kind from a module not loaded in this version: keep the row for one that knows it
            log.warning("reminder id=%s has unknown kind %r; left pending", reminder.id, reminder.kind)
            return "unknown_kind"
        set_timezone(self.services.timezone)
        late = now - reminder.due_at > kind.grace
        try:
            async with self.store.transaction():
                claimed = await self.store.reminders.claim(
                    reminder.id, "skipped" if late else "sent", now, note="too late" if late else None)
                if claimed is None:
                    return "gone"
                if late:
                    log.info("reminder id=%s kind=%s skipped: %s late", reminder.id, reminder.kind,
                             now - reminder.due_at)
                    return "skipped"
                if not await kind.fire(self.store, self.services, claimed, now):
                    await self.store.reminders.finish(reminder.id, "skipped", "nothing to send")
                    return "skipped"
        except Exception as error:
            log.exception("reminder id=%s kind=%s failed", reminder.id, reminder.kind)
            await self.store.reminders.claim(reminder.id, "failed", now, note=type(error).__name__)
            return "failed"
        log.info("reminder id=%s kind=%s sent", reminder.id, reminder.kind)
        if self.on_queued:
            self.on_queued()
        return "sent"

    async def run_daily(self, name: str, now: datetime) -> bool:
        """Run one daily task as of `now`; False when today is not a working day and it wants one."""
        task = self.daily[name]
        today = now.astimezone(self.services.timezone).date()
        if task.working_days_only and not self.is_working_day(today):
            log.info("daily task %s skipped: %s is not a working day", name, today)
            return False
        set_timezone(self.services.timezone)
        await task.fn(self.store, now)
        if self.on_queued:
            self.on_queued()
        return True

    async def run_frequent(self, name: str, now: datetime) -> None:
        """Run one frequent task as of `now`."""
        set_timezone(self.services.timezone)
        await self.frequent[name].fn(self.store, now)
        if self.on_queued:
            self.on_queued()

    async def _fire(self, reminder_id: int) -> None:
        outcome = await self._tracked(self.run_one(reminder_id, self.clock()))
        if outcome == "not_due":  # our clock is behind the scheduler's: look again when it says so
            reminder = await self.store.reminders.get(reminder_id)
            if reminder is not None:
                self.arm(reminder.id, reminder.due_at + timedelta(seconds=1))

    async def _run_daily_now(self, name: str) -> None:
        try:
            await self._tracked(self.run_daily(name, self.clock()))
        except Exception:
            log.exception("daily task %s failed", name)

    async def _run_frequent_now(self, name: str) -> None:
        try:
            await self._tracked(self.run_frequent(name, self.clock()))
        except Exception:
            log.exception("frequent task %s failed", name)

    async def _sweep(self) -> None:
        """Catch rows other processes wrote (or a job that was lost): handle the due, arm the rest."""
        await self._tracked(self.process_due(self.clock()))
        for reminder in await self.store.reminders.pending():
            if reminder.kind in self.registry.reminder_kinds and self.aps.get_job(f"reminder:{reminder.id}") is None:
                self.arm(reminder.id, reminder.due_at)

    async def _tracked(self, work: Awaitable[object]) -> object:
        task = asyncio.current_task()
        assert task is not None
        self._running.add(task)
        try:
            return await work
        finally:
            self._running.discard(task)


@dataclass(frozen=True)
class Retention:
    """How long what is only kept for a while is kept (settings DRAFT_/INBOUND_ID_/OUTBOX_RETENTION_DAYS)."""

    drafts: timedelta
    inbound_ids: timedelta
    outbox: timedelta
    export_files: timedelta = EXPORT_FILE_RETENTION

    @classmethod
    def from_settings(cls, settings: Settings) -> Retention:
        return cls(timedelta(days=settings.draft_retention_days), timedelta(days=settings.inbound_id_retention_days),
                   timedelta(days=settings.outbox_retention_days))


def retention_task(retention: Retention, exports_dir: Path) -> DailyFn:
    """The daily purge: idle drafts, old redelivery ids, finished outbox rows, and export files."""

    async def purge_old_data(store: Store, now: datetime) -> None:
        async with store.transaction():
            drafts = await store.conversations.purge_idle(now - retention.drafts)
            ids = await store.inbound.purge(now - retention.inbound_ids)
            messages = await store.outbox.purge_finished(now - retention.outbox)
        files = await asyncio.to_thread(_remove_files_older_than, exports_dir, now - retention.export_files)
        log.info("retention purged drafts=%d inbound_ids=%d outbox=%d export_files=%d", drafts, ids, messages, files)

    return purge_old_data


def _remove_files_older_than(folder: Path, moment: datetime) -> int:
    if not folder.is_dir():
        return 0
    removed = 0
    for path in folder.iterdir():
        if path.is_file() and path.stat().st_mtime < moment.timestamp():
            path.unlink(missing_ok=True)
            removed += 1
    return removed


def build_scheduler(app: App) -> Scheduler:
    """The process's scheduler with its daily tasks; other features add theirs with `add_daily`."""
    scheduler = Scheduler(app.store, app.engine.registry, app.engine.config.services, clock=app.clock,
                          on_queued=app.wake_outbox)
    retention = Retention.from_settings(app.settings)
    scheduler.add_daily("retention", 3, 0, retention_task(retention, app.settings.media_dir / "exports"),
                        working_days_only=False)
    services = app.engine.config.services

    async def overdue_reports(store: Store, now: datetime) -> None:
        await report_lifecycle.queue_overdue_reminders(store, now, services.timezone, services.default_locale)

    async def close_answered_reports(store: Store, now: datetime) -> None:
        await report_lifecycle.auto_close(store, now, services.timezone, services.default_locale)

    # LAPOR! clock: reminders to the handling unit each working day at 08.00; answered reports close by themselves
    scheduler.add_daily("report_overdue", 8, 0, overdue_reports)
    scheduler.add_daily("report_autoclose", 7, 30, close_answered_reports)

    async def start_due_broadcasts(store: Store, now: datetime) -> None:
        await broadcasts.due_broadcasts(store, now, services.default_locale)

    async def close_due_polls(store: Store, now: datetime) -> None:
        await polls.due_polls(store, now, services.default_locale)

    # times kept on their own rows (scheduled send, closing time): both calls do nothing twice for one moment
    scheduler.add_every("broadcasts_due", DUE_SWEEP_SECONDS, start_due_broadcasts)
    scheduler.add_every("polls_due", DUE_SWEEP_SECONDS, close_due_polls)
    return scheduler
