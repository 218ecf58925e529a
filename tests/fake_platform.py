"""A stand-in messaging platform for outbox tests: a real aiohttp server on 127.0.0.1 and the sender that
talks to it over real HTTP.

The server records every message it accepts (with the time it arrived) and, like Telegram or Twilio,
can refuse: 429 with `retry_after` past an allowed rate, 403 for blocked chats, 5xx a set number of
times for chosen messages, and added latency. The sender maps those answers to `SendResult`s the way a
channel's sender does. When the real channel fakes land (tests/fake_telegram.py, tests/fake_twilio.py),
a test may swap this pair for theirs: the crash test takes the sender as `module:factory` for that reason.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from dataclasses import dataclass, field

from aiohttp import ClientError, ClientSession, ClientTimeout, web

from bot.outbox_worker import SendResult
from storage.outbox import OutboxMessage


@dataclass(frozen=True)
class Received:
    outbox_id: int
    chat: str
    body: str
    at: float                            # time.monotonic() when accepted


@dataclass
class FakePlatform:
    allowed_rate: float | None = None    # accepted messages per second (sliding 1 s window); None = no limit
    retry_after: float = 0.2             # seconds, in the 429 answer
    latency: float = 0.0                 # seconds before answering
    blocked: set[str] = field(default_factory=set)            # chats answered 403
    fail_times: dict[int, int] = field(default_factory=dict)  # outbox id -> how many times to answer 502
    received: list[Received] = field(default_factory=list)
    refused_429: list[float] = field(default_factory=list)    # monotonic times of each 429
    attempts: dict[int, int] = field(default_factory=dict)    # outbox id -> requests seen
    _window: deque[float] = field(default_factory=deque)
    _arrived: asyncio.Event = field(default_factory=asyncio.Event)
    _runner: web.AppRunner | None = None
    url: str = ""

    async def start(self) -> str:
        app = web.Application()
        app.router.add_post("/send", self._send)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}"
        return self.url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def ids(self) -> list[int]:
        return [r.outbox_id for r in self.received]

    async def wait_received(self, count: int) -> None:
        while len(self.received) < count:
            self._arrived.clear()
            await self._arrived.wait()

    async def _send(self, request: web.Request) -> web.Response:
        data = await request.json()
        outbox_id, chat = int(data["outbox_id"]), str(data["chat"])
        self.attempts[outbox_id] = self.attempts.get(outbox_id, 0) + 1
        if self.latency:
            await asyncio.sleep(self.latency)
        if chat in self.blocked:
            return web.json_response({"ok": False, "error_code": 403,
                                      "description": "Forbidden: bot was blocked by the user"}, status=403)
        if self.fail_times.get(outbox_id, 0) > 0:
            self.fail_times[outbox_id] -= 1
            return web.json_response({"ok": False, "error_code": 502, "description": "Bad Gateway"}, status=502)
        now = time.monotonic()
        if self.allowed_rate is not None:
            while self._window and now - self._window[0] >= 1.0:
                self._window.popleft()
            if len(self._window) >= self.allowed_rate:
                self.refused_429.append(now)
                return web.json_response({"ok": False, "error_code": 429, "description": "Too Many Requests",
                                          "parameters": {"retry_after": self.retry_after}}, status=429)
            self._window.append(now)
        self.received.append(Received(outbox_id, chat, str(data.get("body", "")), now))
        self._arrived.set()
        return web.json_response({"ok": True, "result": {"message_id": f"fake-{len(self.received)}"}})


class PlatformSender:
    """Sends outbox rows to a `FakePlatform` and turns its answers into outcomes, as a channel sender does."""

    def __init__(self, base_url: str, channel: str = "fake") -> None:
        self.base_url = base_url
        self.channel = channel
        self._session: ClientSession | None = None

    async def send(self, message: OutboxMessage) -> SendResult:
        if self._session is None:
            self._session = ClientSession(timeout=ClientTimeout(total=5))
        payload = {"outbox_id": message.id, "chat": message.external_id, "body": message.body}
        try:
            async with self._session.post(f"{self.base_url}/send", json=payload) as response:
                data = await response.json()
        except (ClientError, TimeoutError) as error:
            return SendResult("retry", error=type(error).__name__)
        if response.status == 200:
            return SendResult.sent(data["result"]["message_id"])
        if response.status == 429:
            return SendResult("retry", retry_after=float(data["parameters"]["retry_after"]), error="429")
        if response.status == 403:
            return SendResult("final", error=data["description"], unreachable=True)
        if response.status >= 500:
            return SendResult("retry", error=f"HTTP {response.status}")
        return SendResult("final", error=f"HTTP {response.status}: {data.get('description')}")

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
