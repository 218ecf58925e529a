"""Webhook mode: Telegram POSTs updates to our aiohttp server, which checks the secret token first."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from bot.channels.telegram_outbound import inline_keyboard
from bot.config import Settings, SettingsError
from bot.web import build_web_app
from handlers.types import Option
from storage.audience import Audience
from tests.fake_telegram import FakeTelegram
from tests.support import FakeClock
from tests.telegram_support import Stack, onboarded, running_bot, send_full_report, telegram_settings

SECRET = "s3cret_Token-for-tests"
PUBLIC = "https://sinergi.example.go.id"


@pytest.fixture
async def served(fake: FakeTelegram, tmp_path: Path, clock: FakeClock) -> AsyncIterator[tuple[Stack, str]]:
    """The bot in webhook mode behind our real web server (on a port the OS picks); yields its local URL."""
    settings = telegram_settings(tmp_path, fake, TELEGRAM_MODE="webhook", TELEGRAM_WEBHOOK_SECRET=SECRET,
                                 PUBLIC_BASE_URL=PUBLIC)
    async with running_bot(settings, fake, clock) as stack:
        runner = web.AppRunner(build_web_app(stack.app, [stack.channel]), access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        try:
            yield stack, f"http://127.0.0.1:{runner.addresses[0][1]}"
        finally:
            await runner.cleanup()


async def test_webhook_is_registered_with_the_secret_and_updates_flow(served: tuple[Stack, str]) -> None:
    stack, local = served
    assert stack.fake.webhook is not None
    assert stack.fake.webhook["url"] == f"{PUBLIC}/webhooks/telegram"
    assert stack.fake.webhook["secret_token"] == SECRET
    assert "callback_query" in stack.fake.webhook["allowed_updates"]
    assert stack.fake.of("getUpdates") == []

    budi = stack.user(webhook_url=local + "/webhooks/telegram")
    await budi.send("halo")
    await budi.click("Bahasa Indonesia")
    await budi.click("Saya setuju")
    await budi.send("jogotirto")
    assert "terdaftar di Desa Jogotirto" in budi.text
    assert len(stack.fake.of("answerCallbackQuery")) == 2


async def test_a_full_report_through_the_webhook(served: tuple[Stack, str]) -> None:
    stack, local = served
    budi = await onboarded(stack, webhook_url=local + "/webhooks/telegram")
    report = await send_full_report(stack, budi, latitude=-7.7712, longitude=110.4311)
    assert report.number == "LPR-2026-000001"
    assert stack.fake.of("getUpdates") == []  # every update came through our web server


@pytest.mark.parametrize("secret", [None, "", "wrong-secret", SECRET + "x"])
async def test_a_wrong_or_missing_secret_is_refused_and_nothing_is_processed(served: tuple[Stack, str],
                                                                              secret: str | None) -> None:
    stack, local = served
    budi = stack.user()
    sent_before = len(stack.fake.calls)
    status = await stack.fake.post_webhook(budi.message_update(text="halo"), local + "/webhooks/telegram", secret)
    assert status == 403
    assert stack.channel.processor.processed == 0
    assert len(stack.fake.calls) == sent_before
    assert await stack.app.store.users.count() == 0


async def test_a_redelivered_webhook_update_is_handled_once(served: tuple[Stack, str]) -> None:
    stack, local = served
    budi = stack.user(webhook_url=local + "/webhooks/telegram")
    update = budi.message_update(text="halo")
    await budi.deliver(update)
    assert "Halo! Saya Sinergi" in budi.text
    await budi.deliver(update)  # Telegram did not see our 200 and sends it again
    assert budi.received == []


async def test_a_poll_vote_through_the_webhook_is_answered_on_the_button(served: tuple[Stack, str]) -> None:
    stack, local = served
    budi = await onboarded(stack, webhook_url=local + "/webhooks/telegram")
    poll = await stack.app.store.polls.create(None, "Setuju?", ["Ya", "Tidak"], Audience(), True, None,
                                              stack.app.clock())
    message = stack.fake.add_message(budi.id, "Setuju?", inline_keyboard(
        [Option("Ya", f"poll:{poll.id}:1"), Option("Tidak", f"poll:{poll.id}:2")]))
    await budi.press(f"poll:{poll.id}:2", message)
    assert budi.toast == "Terima kasih! Jawaban Bapak/Ibu: Tidak." and budi.received == []
    assert (await stack.app.store.polls.tally(poll)).counts == (0, 1)


async def test_malformed_bodies_are_refused(served: tuple[Stack, str]) -> None:
    stack, local = served
    headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
    async with aiohttp.ClientSession() as session:
        for body in (b"not json", b"[1, 2]"):
            async with session.post(local + "/webhooks/telegram", data=body, headers=headers) as answer:
                assert answer.status == 400
        async with session.get(local + "/healthz") as answer:
            health = await answer.json()
    assert health["channels"]["telegram"]["mode"] == "webhook"
    assert stack.channel.processor.processed == 0


async def test_polling_mode_serves_no_webhook(fake: FakeTelegram, tmp_path: Path, clock: FakeClock) -> None:
    async with running_bot(telegram_settings(tmp_path, fake), fake, clock) as stack:
        assert stack.channel.web_routes() == []
        assert [c.method for c in fake.of(("deleteWebhook", "setWebhook"))] == ["deleteWebhook"]


@pytest.mark.parametrize(("env", "complaint"), [
    ({"TELEGRAM_MODE": "webhook", "PUBLIC_BASE_URL": PUBLIC}, "TELEGRAM_WEBHOOK_SECRET is required"),
    ({"TELEGRAM_MODE": "webhook", "TELEGRAM_WEBHOOK_SECRET": "has spaces!"}, "TELEGRAM_WEBHOOK_SECRET must be"),
    ({"TELEGRAM_MODE": "webhook", "TELEGRAM_WEBHOOK_SECRET": SECRET}, "PUBLIC_BASE_URL is required"),
])
def test_webhook_settings_fail_fast(env: dict[str, str], complaint: str) -> None:
    with pytest.raises(SettingsError, match=complaint):
        Settings.from_mapping({"TELEGRAM_BOT_TOKEN": "1:x", **env})
