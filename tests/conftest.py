from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.app import App, build_app
from bot.config import Settings
from bot.flood import FloodGate
from storage.db import Store, open_store
from tests.fake_telegram import FakeTelegram
from tests.support import Chat, FakeClock
from tests.telegram_support import Stack, running_bot, telegram_settings


@pytest.fixture(autouse=True)
def _no_internet(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests may talk to 127.0.0.1 only; anything else is a bug in the test or the code."""
    real_connect = socket.socket.connect

    def guarded(self: socket.socket, address: object) -> object:
        if self.family in (socket.AF_INET, socket.AF_INET6) and isinstance(address, tuple):
            host = str(address[0])
            if not (host.startswith("127.") or host in ("::1", "localhost")):
                raise RuntimeError(f"test tried to reach the network: {address!r}")
        return real_connect(self, address)  # type: ignore[arg-type]

    monkeypatch.setattr(socket.socket, "connect", guarded)


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "sinergi.sqlite3"


@pytest.fixture
def settings(db_path: Path, tmp_path: Path) -> Settings:
    return Settings.from_mapping({"DATABASE_PATH": str(db_path), "MEDIA_DIR": str(tmp_path / "media")})


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def store(db_path: Path) -> AsyncIterator[Store]:
    opened = await open_store(db_path)
    yield opened
    await opened.close()


@pytest.fixture
async def app(settings: Settings, clock: FakeClock) -> AsyncIterator[App]:
    built = await build_app(settings, clock=clock)
    # scripted users type far faster than people; tests/test_flood.py checks the real limit
    built.engine.config.flood = FloodGate(limit=10_000)
    yield built
    await built.close()


@pytest.fixture
def chat(app: App) -> Chat:
    return Chat(app.engine)


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    """The fake Bot API on 127.0.0.1 (tests/fake_telegram.py)."""
    server = await FakeTelegram().start()
    yield server
    await server.close()


@pytest.fixture
async def bot(fake: FakeTelegram, tmp_path: Path, clock: FakeClock) -> AsyncIterator[Stack]:
    """Sinergi's Telegram channel polling the fake, on a fresh SQLite file."""
    async with running_bot(telegram_settings(tmp_path, fake), fake, clock) as stack:
        yield stack
