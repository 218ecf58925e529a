"""Test helpers: a controllable clock and a chat driver that talks to the real engine like a user.

Drive flows the way aiogram_dialog's tests do: `await chat.send("halo")`, `await chat.click("Setuju")`,
then read what was replied (`chat.texts`, `chat.options`).
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

from bot.engine import Engine
from handlers.types import Incoming, Location, Media, Option, Reply

_ids = itertools.count(1)


class FakeClock:
    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2026, 11, 30, 2, 0, tzinfo=UTC)  # Monday 09.00 WIB

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now

    def set(self, moment: datetime) -> None:
        self.now = moment


class Chat:
    def __init__(self, engine: Engine, user: str = "warga", channel: str = "console",
                 language_hint: str | None = None, display_name: str | None = None) -> None:
        self.engine = engine
        self.user = user
        self.channel = channel
        self.language_hint = language_hint
        self.display_name = display_name or user
        self.replies: list[Reply] = []

    async def send(self, text: str = "", *, payload: str | None = None, location: Location | None = None,
                   media: tuple[Media, ...] = (), message_id: str | None = None) -> list[Reply]:
        msg = Incoming(
            channel=self.channel, external_id=self.user, text=text, payload=payload,
            display_name=self.display_name, language_hint=self.language_hint, location=location, media=media,
            message_id=message_id or f"{self.user}-{next(_ids)}",
        )
        self.replies = await self.engine.handle(msg)
        return self.replies

    async def click(self, choice: str) -> list[Reply]:
        """Press the button whose label (or payload) is `choice`, as a Telegram user would."""
        for option in self.options:
            if choice in (option.label, option.payload):
                return await self.send(payload=option.payload)
        raise AssertionError(f"no option {choice!r} in {[o.label for o in self.options]}")

    async def onboard(self, desa: str = "Jogotirto", language: str = "Bahasa Indonesia") -> list[Reply]:
        await self.send("halo")
        await self.click(language)
        await self.click("consent:yes")
        return await self.send(desa)

    @property
    def options(self) -> list[Option]:
        for reply in reversed(self.replies):
            if reply.options:
                return list(reply.options)
        return []

    @property
    def labels(self) -> list[str]:
        return [option.label for option in self.options]

    @property
    def text(self) -> str:
        return "\n".join(reply.text for reply in self.replies)
