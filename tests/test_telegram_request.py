"""The aiohttp transport for python-telegram-bot: same answers as httpx, PTB's errors for timeouts and failures."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from telegram import InputFile
from telegram.error import NetworkError, TimedOut
from telegram.request import RequestData
from telegram.request._requestparameter import RequestParameter

from bot.channels.telegram_request import AiohttpRequest, Transport, make_request


@pytest.fixture
async def server() -> AsyncIterator[str]:
    """Echoes what it received; `/slow` answers after half a second."""

    async def echo(request: web.Request) -> web.Response:
        """The Bot API reads form fields and JSON bodies alike; so does this."""
        form = await request.json() if request.content_type == "application/json" else await request.post()
        fields = {key: (value.file.read().hex() if isinstance(value, web.FileField) else value)
                  for key, value in form.items()}
        return web.json_response({"ok": True, "result": {"method": request.method, "fields": fields,
                                                         "agent": request.headers.get("User-Agent", ""),
                                                         "type": request.content_type}})

    async def slow(_request: web.Request) -> web.Response:
        await asyncio.sleep(0.5)
        return web.json_response({"ok": True, "result": True})

    async def file(_request: web.Request) -> web.Response:
        return web.Response(body=b"\x00\x01binary")

    app = web.Application()
    app.router.add_route("*", "/echo", echo)
    app.router.add_get("/slow", slow)
    app.router.add_get("/file", file)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    await runner.cleanup()


def form(**values: object) -> RequestData:
    return RequestData([RequestParameter.from_input(key, value) for key, value in values.items()])


@pytest.mark.parametrize("transport", ["aiohttp", "httpx"])
async def test_both_transports_send_the_same_request(server: str, transport: Transport) -> None:
    async with make_request(transport, connection_pool_size=4) as request:
        answer = await request.post(server + "/echo", form(chat_id=7001, text="halo <b>", reply_markup={"a": [1]}))
        photo = InputFile(b"\xff\xd8\xffdata", filename="p.jpg")
        upload = await request.post(server + "/echo", form(chat_id=7001, photo=photo))
        content = await request.retrieve(server + "/file")
    assert answer["method"] == "POST"
    assert answer["fields"] == {"chat_id": "7001", "text": "halo <b>", "reply_markup": '{"a": [1]}'}
    assert answer["agent"].startswith("python-telegram-bot")
    assert upload["fields"]["chat_id"] == "7001" and upload["fields"]["photo"] == "ffd8ff64617461"
    assert upload["type"] == "multipart/form-data"
    if transport == "aiohttp":  # JSON costs less to build than form quoting; files still go as multipart
        assert answer["type"] == "application/json"
    assert content == b"\x00\x01binary"


async def test_a_slow_answer_is_a_timeout(server: str) -> None:
    async with AiohttpRequest(read_timeout=0.1) as request:
        with pytest.raises(TimedOut):
            await request.retrieve(server + "/slow")
        assert await request.retrieve(server + "/slow", read_timeout=2) == b'{"ok": true, "result": true}'


async def test_a_full_pool_times_out_without_sending(server: str) -> None:
    async with AiohttpRequest(connection_pool_size=1) as request:
        busy = asyncio.create_task(request.retrieve(server + "/slow"))
        await asyncio.sleep(0.05)
        with pytest.raises(TimedOut, match="not sent"):
            await request.retrieve(server + "/file", pool_timeout=0.05, connect_timeout=0.05)
        await busy


async def test_a_refused_connection_is_a_network_error() -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    async with AiohttpRequest() as request:
        with pytest.raises(NetworkError, match="aiohttp.ClientConnectorError"):
            await request.post(f"http://127.0.0.1:{port}/echo", form(chat_id=1))


async def test_used_before_initialize_is_refused(server: str) -> None:
    request = AiohttpRequest()
    with pytest.raises(NetworkError, match="not initialized"):
        await request.retrieve(server + "/file")
    await request.initialize()
    await request.shutdown()
    await request.initialize()  # PTB may start a bot again after shutting it down
    assert await request.retrieve(server + "/file") == b"\x00\x01binary"
    await request.shutdown()
