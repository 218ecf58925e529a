"""A real process that drains one channel's outbox through the real worker, then exits: the crash test
kills it with SIGKILL half way and starts it again.

    python -m tests.outbox_drain DB_PATH PLATFORM_URL [--channel fake] [--rate 200]
           [--sender tests.fake_platform:PlatformSender]

`--sender` names a factory `(url, channel) -> Sender`, so the real channel fakes can take the place of
tests/fake_platform.py. It runs the worker's production loop (`run`) and stops it, exiting 0, once
nothing is pending or in flight.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
from pathlib import Path

from bot.outbox_worker import OutboxWorker, Pacing
from storage.db import Store, open_store


async def run_until_drained(worker: OutboxWorker, store: Store) -> None:
    """The worker's production loop (`run`), stopped once nothing is pending or in flight."""
    async def stop_when_drained() -> None:
        while True:
            counts = await store.outbox.counts()
            if not counts.get("pending") and not counts.get("sending"):
                worker.stop()
                return
            await asyncio.sleep(0.02)

    await asyncio.gather(worker.run(), stop_when_drained())


async def drain(db_path: Path, url: str, channel: str, rate: float, sender_path: str) -> None:
    module_name, _sep, factory_name = sender_path.partition(":")
    sender = getattr(importlib.import_module(module_name), factory_name)(url, channel)
    store = await open_store(db_path)
    worker = OutboxWorker(store, sender, pacing=Pacing(rate=rate), idle_seconds=0.05)
    try:
        await run_until_drained(worker, store)
    finally:
        await sender.close()
        await store.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("db", type=Path)
    parser.add_argument("url")
    parser.add_argument("--channel", default="fake")
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--sender", default="tests.fake_platform:PlatformSender")
    args = parser.parse_args()
    asyncio.run(drain(args.db, args.url, args.channel, args.rate, args.sender))


if __name__ == "__main__":
    main()
