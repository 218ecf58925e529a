"""A Sinergi process for the kill -9 test (tests/test_crash_restart.py), run as `python -m tests.crash_driver`.

It is the real thing minus the network: the real App (engine, store, migrations) on a real SQLite file and
the real outbox worker, whose sender appends each delivered outbox id to a log file (as a phone would show
the message). Messages come in as JSON lines on stdin, `{"id", "user", "text", "payload"}`, many users at
once; each answer goes out as a JSON line `{"id", "texts", "options"}` once the engine has committed it.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

from bot.app import build_app
from bot.config import Settings
from bot.flood import FloodGate
from bot.outbox_worker import OutboxWorker, SendResult
from handlers.types import Incoming
from storage.outbox import OutboxMessage

OFFICIAL = "petugas"


class LoggingSender:
    """Delivers an outbox row by appending its id to a file; an O_APPEND write survives a SIGKILL."""

    channel = "console"

    def __init__(self, path: Path) -> None:
        self.fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)

    async def send(self, message: OutboxMessage) -> SendResult:
        await asyncio.sleep(0.005)  # a network round trip: a kill may land while a message is on its way
        os.write(self.fd, f"{message.id}\n".encode())
        return SendResult.sent(f"log-{message.id}")


async def main(database: str, sent_log: str) -> None:
    settings = Settings.from_mapping({"DATABASE_PATH": database, "MEDIA_DIR": str(Path(database).parent / "m")})
    app = await build_app(settings)
    app.engine.config.flood = FloodGate(limit=10**6)
    app.engine.config.officials = {"console": frozenset({OFFICIAL})}
    worker = OutboxWorker(app.store, LoggingSender(Path(sent_log)), idle_seconds=0.02)
    app.workers["console"] = worker
    delivering = asyncio.create_task(worker.run())
    loop = asyncio.get_running_loop()
    turns: set[asyncio.Task[None]] = set()

    async def turn(line: str) -> None:
        message = json.loads(line)
        replies = await app.engine.handle(Incoming(
            "console", message["user"], text=message.get("text", ""), payload=message.get("payload"),
            display_name=message["user"], message_id=message["id"]))
        answer = {"id": message["id"], "texts": [r.text for r in replies],
                  "options": [[o.label, o.payload] for r in replies for o in r.options]}
        sys.stdout.write(json.dumps(answer, ensure_ascii=False) + "\n")
        sys.stdout.flush()
        app.wake_outbox()

    print("READY", flush=True)
    while line := await loop.run_in_executor(None, sys.stdin.readline):
        task = asyncio.create_task(turn(line))
        turns.add(task)
        task.add_done_callback(turns.discard)
    await asyncio.gather(*turns)
    for _wait in range(250):  # up to 5 s for the outbox to empty; what is left then, the test reports
        if not await app.store.db.fetchval("SELECT COUNT(*) FROM outbox WHERE state IN ('pending', 'sending')"):
            break
        await asyncio.sleep(0.02)
    worker.stop()
    await delivering
    await app.close()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
