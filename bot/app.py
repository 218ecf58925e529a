"""Builds the whole process from settings (never at import time) and runs it until a signal."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from bot.config import Settings
from bot.engine import Engine, EngineConfig
from bot.outbox_worker import OutboxWorker, pacing_for
from bot.scheduler import Scheduler, build_scheduler
from handlers.flow import Services
from handlers.i18n import SUPPORTED, format_datetime, set_timezone, use_locale
from handlers.workdays import is_working_day
from storage.clock import utc_now
from storage.db import Store, open_store

log = logging.getLogger("sinergi")

GC_YOUNG_THRESHOLD = 10_000   # allocations between two collections of the youngest generation (see settle_gc)


@dataclass
class App:
    settings: Settings
    store: Store
    engine: Engine
    clock: Callable[[], datetime] = utc_now
    workers: dict[str, OutboxWorker] = field(default_factory=dict)
    scheduler: Scheduler | None = None
    # (channel, external id) of chats with a direct reply deferred to the outbox: their next replies queue behind
    # it (`bot.channels.base.waiting_reply_due`); a chat leaves once the outbox holds no reply for it
    deferred_chats: set[tuple[str, str]] = field(default_factory=set)

    async def start_scheduler(self) -> Scheduler:
        """Reminders and daily tasks run from here on (`sinergi run` and the console chat)."""
        self.scheduler = build_scheduler(self)
        await self.scheduler.start()
        return self.scheduler

    async def close(self) -> None:
        if self.scheduler is not None:
            await self.scheduler.shutdown()
        for worker in self.workers.values():
            worker.stop()
        await self.store.close()

    def wake_outbox(self) -> None:
        for worker in self.workers.values():
            worker.wake()

    def pause_channel(self, channel: str, seconds: float) -> None:
        """The platform answered a direct reply with 429: the outbox waits as long as it asked, too."""
        worker = self.workers.get(channel)
        if worker is not None:
            worker.bucket.pause(seconds)

    def count_direct_send(self, channel: str, media: bool = False) -> None:
        """A channel sent a direct reply: its outbox worker's pacing makes room for it (the platform counts both)."""
        worker = self.workers.get(channel)
        if worker is not None:
            worker.bucket.spend()
            if media and worker.media_bucket is not None:
                worker.media_bucket.spend()


def services_from(settings: Settings) -> Services:
    return Services(
        timezone=settings.tz,
        default_locale=settings.default_locale,
        media_dir=settings.media_dir,
        conversation_timeout_minutes=settings.conversation_timeout_minutes,
        draft_retention_days=settings.draft_retention_days,
    )


def warm_up() -> None:
    """Load now what the first messages would load while every other chat waits: the translation catalogs,
    Babel's date data and the holiday calendar (together about 200 ms, once per process)."""
    monday = datetime(2026, 1, 5, 2, 0, tzinfo=UTC)
    for locale in SUPPORTED:
        with use_locale(locale):
            format_datetime(monday)
    is_working_day(monday.date())


def settle_gc() -> None:
    """Tune the garbage collector once the process has started (`sinergi run`, and the benchmarks as it does).

    What start-up loaded (catalogs, Babel's data, PTB, aiohttp) lives as long as the process: frozen, a full
    collection no longer walks it (about 60 ms with every chat waiting, once a second in a burst of poll votes).
    A turn or a send makes thousands of short-lived containers: collecting the youngest generation every 700
    allocations (Python's default) took 3-4% of a broadcast's CPU here, in pauses of up to 12 ms; every 10,000,
    about 0.3% (benchmarks/RESULTS.md, section 3).
    """
    gc.freeze()
    gc.set_threshold(GC_YOUNG_THRESHOLD, *gc.get_threshold()[1:])


async def build_app(settings: Settings, clock: Callable[[], datetime] = utc_now) -> App:
    store = await open_store(settings.database_path)
    set_timezone(settings.tz)
    warm_up()
    officials = {
        "telegram": settings.official_telegram_ids,
        "whatsapp": settings.official_whatsapp_numbers,
    }
    engine = Engine(store, EngineConfig(services_from(settings), officials), clock=clock)
    return App(settings, store, engine, clock)


async def serve(settings: Settings) -> None:
    """`sinergi run` with at least one network channel configured."""
    from bot.channels import build_channels
    from bot.channels.base import Channel
    from bot.web import start_web

    app = await build_app(settings)
    channels: list[Channel] = []
    tasks: list[asyncio.Task[None]] = []
    runner = None
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    try:
        channels = build_channels(app)  # may refuse its settings; `finally` still closes the store
        for channel in channels:
            await channel.start()
            worker = OutboxWorker(app.store, channel.sender, clock=app.clock, pacing=pacing_for(channel.name, settings),
                                  conversation_timeout=timedelta(minutes=settings.conversation_timeout_minutes))
            app.workers[channel.name] = worker
            tasks.append(asyncio.create_task(worker.run(), name=f"outbox-{channel.name}"))
        await app.start_scheduler()
        runner = await start_web(app, channels)
        log.info("running channels=%s http=%s:%s", ",".join(c.name for c in channels),
                 settings.http_host, settings.http_port)
        settle_gc()
        await stop.wait()
    finally:
        log.info("shutting down")
        for channel in channels:
            with contextlib.suppress(Exception):
                await channel.stop()
        if runner is not None:
            await runner.cleanup()
        for worker in app.workers.values():
            worker.stop()  # a worker records what it sent before the database closes
        if tasks:
            await asyncio.wait(tasks, timeout=10)
        await app.close()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
