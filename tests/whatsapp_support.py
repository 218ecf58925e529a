"""Drive the WhatsApp channel as Twilio and a citizen would: signed webhooks into the real aiohttp app,
replies read back from the fake Twilio REST server they were sent to.

    async with whatsapp_harness(tmp_path, clock) as wa:
        budi = wa.user("+6281234567890", "Budi")
        await budi.send("halo")
        await budi.send("1")
        assert "UU PDP" in budi.text
        await budi.send_photo()
        await budi.send_location(-7.78, 110.36)
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Mapping
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from twilio.request_validator import RequestValidator

from bot.app import App, build_app
from bot.channels.whatsapp import INBOUND_PATH, STATUS_PATH, WhatsAppChannel
from bot.config import Settings
from bot.outbox_worker import OutboxWorker
from bot.web import build_web_app
from handlers.flow import Flow
from tests.fake_twilio import JPEG, FakeTwilio, new_sid
from tests.support import FakeClock

ACCOUNT_SID = "AC" + "5e" * 16
AUTH_TOKEN = "f2c4a1b09d8e7f6a5b4c3d2e1f0a9b8c"
BOT_NUMBER = "whatsapp:+14155238886"
PUBLIC_BASE_URL = "https://sinergi.example.go.id"   # what Twilio calls; the proxy forwards it to 127.0.0.1

_sids = itertools.count(1)


def whatsapp_env(tmp_path: Path, fake_url: str, **extra: str) -> dict[str, str]:
    return {
        "DATABASE_PATH": str(tmp_path / "data" / "sinergi.sqlite3"),
        "MEDIA_DIR": str(tmp_path / "media"),
        "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
        "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "TWILIO_WHATSAPP_FROM": BOT_NUMBER,
        "TWILIO_API_BASE_URL": fake_url,
        "PUBLIC_BASE_URL": PUBLIC_BASE_URL,
        **extra,
    }


class WhatsAppHarness:
    def __init__(self, app: App, channel: WhatsAppChannel, fake: FakeTwilio, server_url: str,
                 http: aiohttp.ClientSession) -> None:
        self.app = app
        self.channel = channel
        self.fake = fake
        self.server_url = server_url
        self.http = http
        self.worker = OutboxWorker(app.store, channel.sender, clock=app.clock)
        self.signer = RequestValidator(AUTH_TOKEN)

    def user(self, number: str = "+6281234567890", name: str = "Budi") -> WhatsAppUser:
        return WhatsAppUser(self, number, name)

    def sign(self, path: str, params: Mapping[str, str]) -> str:
        return self.signer.compute_signature(PUBLIC_BASE_URL + path, dict(params))

    async def post(self, path: str, params: Mapping[str, str], signature: str | None = "sign",
                   ) -> tuple[int, str]:
        """POST a form as Twilio would; `signature="sign"` signs it correctly, None sends none."""
        headers = {}
        if signature == "sign":
            headers["X-Twilio-Signature"] = self.sign(path, params)
        elif signature is not None:
            headers["X-Twilio-Signature"] = signature
        async with self.http.post(self.server_url + path, data=dict(params), headers=headers) as response:
            return response.status, await response.text()

    async def status(self, message_sid: str, status: str, error_code: str | None = None) -> int:
        """A signed delivery status callback for a message the bot sent."""
        params = {"MessageSid": message_sid, "SmsSid": message_sid, "MessageStatus": status, "SmsStatus": status,
                  "AccountSid": ACCOUNT_SID, "From": BOT_NUMBER, "ApiVersion": "2010-04-01",
                  "ChannelPrefix": "whatsapp"}
        if error_code:
            params["ErrorCode"] = error_code
        code, _body = await self.post(STATUS_PATH, params)
        return code

    async def deliver_outbox(self) -> int:
        """One round of the real outbox worker over the WhatsApp channel's sender."""
        return await self.worker.drain_once()


class WhatsAppUser:
    """A citizen on WhatsApp: each `send` is one signed webhook; `replies` is what the bot sent back to it."""

    def __init__(self, harness: WhatsAppHarness, number: str, name: str) -> None:
        self.harness = harness
        self.number = number
        self.name = name
        self.replies: list[dict[str, Any]] = []

    def webhook(self, body: str = "", **fields: str) -> dict[str, str]:
        sid = new_sid("SM")
        return {
            "SmsMessageSid": sid, "MessageSid": sid, "SmsSid": sid, "AccountSid": ACCOUNT_SID,
            "From": f"whatsapp:{self.number}", "To": BOT_NUMBER, "WaId": self.number.lstrip("+"),
            "ProfileName": self.name, "Body": body, "NumMedia": "0", "NumSegments": "1", "MessageType": "text",
            "SmsStatus": "received", "ReferralNumMedia": "0", "ApiVersion": "2010-04-01", **fields,
        }

    async def deliver(self, params: Mapping[str, str]) -> list[dict[str, Any]]:
        """Post a prepared webhook, wait until it is handled, and collect the replies it caused."""
        before = len(self.harness.fake.to(self.number))
        status, body = await self.harness.post(INBOUND_PATH, params)
        assert status == 200, (status, body)
        assert body.endswith("<Response />"), body
        await self.harness.channel.drain()
        self.replies = self.harness.fake.to(self.number)[before:]
        return self.replies

    async def send(self, text: str = "", **fields: str) -> list[dict[str, Any]]:
        return await self.deliver(self.webhook(text, **fields))

    async def press(self, payload: str, text: str) -> list[dict[str, Any]]:
        """Tap a quick-reply button of a template message."""
        return await self.send(text, ButtonPayload=payload, ButtonText=text, MessageType="button")

    async def send_photo(self, caption: str = "", data: bytes = JPEG, content_type: str = "image/jpeg",
                         url: str | None = None) -> list[dict[str, Any]]:
        media_url = url or self.harness.fake.add_media(data, content_type)
        return await self.send(caption, NumMedia="1", MediaUrl0=media_url, MediaContentType0=content_type,
                               MessageType="image")

    async def send_location(self, latitude: float, longitude: float, address: str | None = None,
                            label: str | None = None) -> list[dict[str, Any]]:
        fields = {"Latitude": str(latitude), "Longitude": str(longitude), "MessageType": "location"}
        if address:
            fields["Address"] = address
        if label:
            fields["Label"] = label
        return await self.send("", **fields)

    @property
    def texts(self) -> list[str]:
        return [reply.get("Body", "") for reply in self.replies]

    @property
    def text(self) -> str:
        return "\n".join(self.texts)


async def onboard(user: WhatsAppUser) -> None:
    """Onboarding by typed numbers and names, as most WhatsApp users answer a numbered menu."""
    for text in ("halo", "1", "1", "Berbah", "Jogotirto"):
        await user.send(text)
    assert "terdaftar di Desa Jogotirto" in user.text


@asynccontextmanager
async def whatsapp_harness(tmp_path: Path, clock: FakeClock, flows: tuple[Flow, ...] = (),
                           **env: str) -> AsyncIterator[WhatsAppHarness]:
    """The real App, WhatsApp channel and web server on 127.0.0.1, wired to a fresh fake Twilio.

    `flows` adds flows to the engine's registry (e.g. a test flow); `env` adds or overrides settings
    (e.g. TWILIO_TEMPLATE_REPORT_STATUS).
    """
    async with AsyncExitStack() as stack:
        fake = FakeTwilio(ACCOUNT_SID, AUTH_TOKEN)
        stack.push_async_callback(fake.close)
        await fake.start()
        app = await build_app(Settings.from_mapping(whatsapp_env(tmp_path, fake.url, **env)), clock=clock)
        stack.push_async_callback(app.close)
        for flow in flows:
            app.engine.registry.add_flow(flow)
        channel = WhatsAppChannel(app)
        channel.rest.retry_wait = 0.01
        stack.push_async_callback(channel.stop)
        await channel.start()
        runner = web.AppRunner(build_web_app(app, [channel]), access_log=None)
        stack.push_async_callback(runner.cleanup)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        host, port = runner.addresses[0][:2]
        http = await stack.enter_async_context(aiohttp.ClientSession())
        harness = WhatsAppHarness(app, channel, fake, f"http://{host}:{port}", http)
        app.workers[channel.name] = harness.worker
        yield harness
