"""The webhook server under load: 200 requests at once (signed Twilio webhooks and Telegram webhook updates)
into the real aiohttp app on 127.0.0.1, both channels behind it, as `sinergi run` serves them."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import aiohttp
from aiohttp import web
from twilio.request_validator import RequestValidator

from bot.app import build_app
from bot.channels.telegram import TelegramChannel
from bot.channels.whatsapp import INBOUND_PATH, WhatsAppChannel
from bot.config import Settings
from bot.web import MAX_BODY_BYTES, build_web_app
from tests.fake_telegram import FakeTelegram
from tests.fake_twilio import FakeTwilio, new_sid
from tests.support import FakeClock
from tests.whatsapp_support import ACCOUNT_SID, AUTH_TOKEN, BOT_NUMBER, PUBLIC_BASE_URL, whatsapp_env

SECRET = "load-test_secret"
PEOPLE = 100          # per channel: 200 requests in all
TIME_BOUND = 15.0     # seconds for all 200 to be answered; on a laptop it takes well under one


async def test_200_concurrent_webhooks_are_all_answered_fast_and_handled(tmp_path: Path, clock: FakeClock) -> None:
    telegram, twilio = FakeTelegram(), FakeTwilio(ACCOUNT_SID, AUTH_TOKEN)
    await telegram.start()
    await twilio.start()
    settings = Settings.from_mapping({
        **whatsapp_env(tmp_path, twilio.url),
        "TELEGRAM_BOT_TOKEN": telegram.token, "TELEGRAM_API_BASE_URL": telegram.base_url,
        "TELEGRAM_FILE_BASE_URL": telegram.file_base_url, "TELEGRAM_MODE": "webhook",
        "TELEGRAM_WEBHOOK_SECRET": SECRET,
    })
    app = await build_app(settings, clock=clock)
    whatsapp, tg = WhatsAppChannel(app), TelegramChannel(app)
    runner = web.AppRunner(build_web_app(app, [whatsapp, tg]), access_log=None)
    try:
        await whatsapp.start()
        await tg.start()
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        base = f"http://127.0.0.1:{runner.addresses[0][1]}"
        signer = RequestValidator(AUTH_TOKEN)
        numbers = [f"+62812{i:07d}" for i in range(PEOPLE)]
        chat_ids = [880_000 + i for i in range(PEOPLE)]

        async def twilio_post(session: aiohttp.ClientSession, number: str) -> int:
            sid = new_sid("SM")
            form = {"MessageSid": sid, "SmsMessageSid": sid, "AccountSid": ACCOUNT_SID, "From": f"whatsapp:{number}",
                    "To": BOT_NUMBER, "Body": "halo", "NumMedia": "0", "ProfileName": "Warga"}
            headers = {"X-Twilio-Signature": signer.compute_signature(PUBLIC_BASE_URL + INBOUND_PATH, form)}
            async with session.post(base + INBOUND_PATH, data=form, headers=headers) as answer:
                return answer.status

        async def telegram_post(session: aiohttp.ClientSession, chat_id: int, update_id: int) -> int:
            person = {"id": chat_id, "is_bot": False, "first_name": "Warga", "language_code": "id"}
            update = {"update_id": update_id, "message": {
                "message_id": 1, "date": int(time.time()), "text": "halo", "from": person,
                "chat": {"id": chat_id, "type": "private", "first_name": "Warga"}}}
            headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
            async with session.post(base + "/webhooks/telegram", json=update, headers=headers) as answer:
                return answer.status

        connector = aiohttp.TCPConnector(limit=0)  # really 200 connections at once
        async with aiohttp.ClientSession(connector=connector) as session:
            started = time.perf_counter()
            statuses = await asyncio.gather(
                *(twilio_post(session, number) for number in numbers),
                *(telegram_post(session, chat_id, 1000 + i) for i, chat_id in enumerate(chat_ids)))
            answered_in = time.perf_counter() - started
            async with session.post(base + INBOUND_PATH, data=b"x" * (MAX_BODY_BYTES + 1),
                                    headers={"Content-Type": "application/x-www-form-urlencoded"}) as answer:
                assert answer.status == 413, "an oversized body is refused"

        assert len(statuses) == 2 * PEOPLE
        assert all(status == 200 for status in statuses), sorted(set(statuses))
        assert answered_in < TIME_BOUND, f"200 webhooks took {answered_in:.1f} s"

        await asyncio.wait_for(asyncio.gather(whatsapp.drain(), tg.processor.wait_processed(PEOPLE)), 60)
        assert all(any("Halo! Saya Sinergi" in m.get("Body", "") for m in twilio.to(n)) for n in numbers)
        greeted = {call.chat_id for call in telegram.of("sendMessage") if "Halo! Saya Sinergi" in call.text}
        assert greeted == set(chat_ids)
        assert await app.store.users.count() == 2 * PEOPLE
    finally:
        await tg.stop()
        await whatsapp.stop()
        await runner.cleanup()
        await app.close()
        await twilio.close()
        await telegram.close()
