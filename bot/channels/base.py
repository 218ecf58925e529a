"""What the process needs from a channel adapter, and what every channel does alike."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol

from aiohttp import web

from bot.outbox_worker import Sender
from handlers.types import Reply, replies_to_json
from storage.outbox import KIND_REPLY, PRIORITY_REPLY, NewMessage

if TYPE_CHECKING:
    from bot.app import App


class Channel(Protocol):
    name: str
    sender: Sender

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    def web_routes(self) -> list[web.RouteDef]: ...

    def health(self) -> dict[str, Any]: ...


async def defer_replies(app: App, channel: str, external_id: str, replies: Sequence[Reply]) -> None:
    """Direct replies the platform refused for now (429, 5xx, a timeout) go to the outbox, first in line.

    The worker then waits as long as the platform asks and sends them before any broadcast, so nothing the
    bot answered is lost; a reply goes even to someone who opted out since, because they wrote to us.
    """
    user = await app.store.users.find(channel, external_id)
    async with app.store.transaction():
        await app.store.outbox.enqueue([NewMessage(user.id if user else None, channel, external_id, KIND_REPLY,
                                                   replies_to_json(replies), PRIORITY_REPLY)], app.clock())
    app.wake_outbox()
