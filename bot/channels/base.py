"""What the process needs from a channel adapter."""

from __future__ import annotations

from typing import Any, Protocol

from aiohttp import web

from bot.outbox_worker import Sender


class Channel(Protocol):
    name: str
    sender: Sender

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    def web_routes(self) -> list[web.RouteDef]: ...

    def health(self) -> dict[str, Any]: ...
