"""What the process needs from a channel adapter, and what every channel does alike."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
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


async def defer_replies(app: App, channel: str, external_id: str, replies: Sequence[Reply],
                        retry_after: float | None = None, after: datetime | None = None) -> None:
    """Direct replies the platform refused for now (429, 5xx, a timeout) go to the outbox, first in line.

    They go once `retry_after` (a 429's) has passed, and the whole channel waits that long too; then before
    any broadcast. Nothing the bot answered is lost, and a reply goes even to someone who opted out since,
    because they wrote to us. Until it has gone, that chat's next replies queue behind it (`waiting_reply_due`),
    due no earlier than it (`after`), so they cannot overtake it.
    """
    user = await app.store.users.find(channel, external_id)
    now = app.clock()
    not_before = after
    if retry_after:
        resumes = now + timedelta(seconds=retry_after)
        not_before = max(resumes, after) if after else resumes
    async with app.store.transaction():
        await app.store.outbox.enqueue([NewMessage(user.id if user else None, channel, external_id, KIND_REPLY,
                                                   replies_to_json(list(replies)), PRIORITY_REPLY,
                                                   not_before=not_before)], now)
    app.deferred_chats.add((channel, external_id))
    if retry_after:
        app.pause_channel(channel, retry_after)
    app.wake_outbox()


async def waiting_reply_due(app: App, channel: str, external_id: str) -> datetime | None:
    """When an earlier reply to this chat, still waiting in the outbox, may go; None if none waits. A new reply
    then goes there too, behind it, so the person reads the answers in the order they asked. One query, only
    for chats with a deferred reply."""
    key = (channel, external_id)
    if key not in app.deferred_chats:
        return None
    due = await app.store.outbox.waiting_reply_due(channel, external_id)
    if due is None:
        app.deferred_chats.discard(key)
    return due
