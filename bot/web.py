"""The aiohttp web server: webhooks of the channels that want them, and /healthz."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

from aiohttp import web

if TYPE_CHECKING:
    from bot.app import App
    from bot.channels.base import Channel

log = logging.getLogger("sinergi.web")

MAX_BODY_BYTES = 256 * 1024


def build_web_app(app: App, channels: Sequence[Channel]) -> web.Application:
    web_app = web.Application(client_max_size=MAX_BODY_BYTES)

    async def healthz(_request: web.Request) -> web.Response:
        database = "ok" if await app.store.db.ping() else "unreachable"
        body = {"database": database, "channels": {c.name: c.health() for c in channels}}
        return web.json_response(body, status=200 if database == "ok" else 503)

    web_app.router.add_get("/healthz", healthz)
    for channel in channels:
        web_app.add_routes(channel.web_routes())
    return web_app


async def start_web(app: App, channels: Sequence[Channel]) -> web.AppRunner:
    runner = web.AppRunner(build_web_app(app, channels), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, app.settings.http_host, app.settings.http_port)
    await site.start()
    return runner
