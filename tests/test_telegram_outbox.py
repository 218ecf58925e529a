"""The outbox on Telegram: what each Telegram answer means for a queued message, through the real worker."""

from __future__ import annotations

import time

import pytest

from bot.outbox_worker import OutboxWorker
from handlers.notify import notify
from handlers.types import Option, Reply, replies_to_json
from storage.clock import from_db
from storage.outbox import KIND_REPLY, PRIORITY_REPLY, NewMessage, OutboxMessage
from storage.users import User
from tests.support import FakeClock
from tests.telegram_support import JPEG, Stack


async def citizen(stack: Stack, chat_id: int = 7001, locale: str = "id") -> User:
    user = await stack.app.store.users.touch_or_create("telegram", str(chat_id), "Budi", stack.app.clock())
    await stack.app.store.users.update(user.id, locale=locale)
    return user


async def queue(stack: Stack, user: User, *replies: Reply) -> OutboxMessage:
    async with stack.app.store.transaction():
        await notify(stack.app.store, [user], "report_status", lambda: list(replies), stack.app.clock())
    return (await stack.app.store.outbox.for_user(user.id))[-1]


async def deliver(stack: Stack, clock: FakeClock) -> list[OutboxMessage]:
    await OutboxWorker(stack.app.store, stack.channel.sender, clock=clock).drain_once()
    return await stack.app.store.outbox.for_user((await stack.app.store.users.find("telegram", "7001")).id)


async def test_a_notification_is_sent_with_its_keyboard(bot: Stack, clock: FakeClock) -> None:
    user = await citizen(bot)
    await queue(bot, user, Reply("Laporan LPR-2026-000123 selesai <3", (Option("Lihat", "report:123"),)))
    [message] = await deliver(bot, clock)
    [sent] = bot.fake.of("sendMessage", 7001)
    assert sent.text == "Laporan LPR-2026-000123 selesai <3"
    assert sent.buttons == [{"text": "Lihat", "callback_data": "report:123"}]
    assert message.state == "sent"
    row = await bot.app.store.db.fetchone("SELECT provider_message_id FROM outbox WHERE id = ?", (message.id,))
    assert row["provider_message_id"] == str(sent.result["message_id"])


async def test_429_pauses_the_channel_as_long_as_telegram_asks_then_sends_in_place(
        bot: Stack, clock: FakeClock) -> None:
    user = await citizen(bot)
    await queue(bot, user, Reply("Pengumuman"))
    bot.fake.fail("sendMessage", 429, retry_after=1)
    started = time.monotonic()
    [message] = await deliver(bot, clock)
    assert time.monotonic() - started >= 0.95, "waited the retry_after Telegram gave"
    assert message.state == "sent" and message.attempts == 1, "the same claim, sent again in its place"
    assert [c.text for c in bot.fake.of("sendMessage", 7001)][-1] == "Pengumuman"


@pytest.mark.parametrize("description", ["Forbidden: bot was blocked by the user", "Forbidden: user is deactivated"])
async def test_403_stops_sending_to_that_user(bot: Stack, clock: FakeClock, description: str) -> None:
    user = await citizen(bot)
    await queue(bot, user, Reply("Pengumuman"))
    bot.fake.fail("sendMessage", 403, description)
    [message] = await deliver(bot, clock)
    assert message.state == "failed" and "Forbidden" in (message.last_error or "")
    assert (await bot.app.store.users.get(user.id)).unreachable  # type: ignore[union-attr]
    async with bot.app.store.transaction():  # nothing more is queued for them
        queued = await notify(bot.app.store, [await bot.app.store.users.get(user.id)], "broadcast",  # type: ignore[list-item]
                              lambda: [Reply("Lagi")], clock())
    assert queued == 0


async def test_400_chat_not_found_is_final_and_unreachable(bot: Stack, clock: FakeClock) -> None:
    user = await citizen(bot)
    await queue(bot, user, Reply("Pengumuman"))
    bot.fake.fail("sendMessage", 400, "Bad Request: chat not found")
    [message] = await deliver(bot, clock)
    assert message.state == "failed"
    assert (await bot.app.store.users.get(user.id)).unreachable  # type: ignore[union-attr]


async def test_other_400_is_final_but_the_user_stays_reachable(bot: Stack, clock: FakeClock) -> None:
    user = await citizen(bot)
    await queue(bot, user, Reply("Pengumuman"))
    bot.fake.fail("sendMessage", 400, "Bad Request: can't parse entities")
    [message] = await deliver(bot, clock)
    assert message.state == "failed" and "can't parse entities" in (message.last_error or "").lower()
    assert not (await bot.app.store.users.get(user.id)).unreachable  # type: ignore[union-attr]


@pytest.mark.parametrize("status", [500, 502, 503])
async def test_server_errors_are_retried_with_backoff(bot: Stack, clock: FakeClock, status: int) -> None:
    user = await citizen(bot)
    await queue(bot, user, Reply("Pengumuman"))
    bot.fake.fail("sendMessage", status)
    [message] = await deliver(bot, clock)
    assert message.state == "pending" and "NetworkError" in (message.last_error or "")
    row = await bot.app.store.db.fetchone("SELECT not_before FROM outbox WHERE id = ?", (message.id,))
    assert from_db(row["not_before"]) > clock()
    clock.advance(minutes=1)
    [message] = await deliver(bot, clock)
    assert message.state == "sent"


async def test_an_unreachable_server_is_retried(bot: Stack, clock: FakeClock) -> None:
    user = await citizen(bot)
    await queue(bot, user, Reply("Pengumuman"))
    await bot.fake.close()  # connection refused from now on
    [message] = await deliver(bot, clock)
    assert message.state == "pending" and "NetworkError" in (message.last_error or "")


async def test_photos_upload_and_our_button_words_follow_the_recipient(bot: Stack, clock: FakeClock) -> None:
    user = await citizen(bot, locale="en")
    media_dir = bot.app.settings.media_dir
    media_dir.mkdir(parents=True, exist_ok=True)
    (media_dir / "proof.jpg").write_bytes(JPEG)
    outside = media_dir.parent / "secret.jpg"
    outside.write_bytes(JPEG)
    await queue(bot, user, Reply("Before and after", media=(str(media_dir / "proof.jpg"), str(outside))),
                Reply("Where exactly?", request="location"))
    [message] = await deliver(bot, clock)
    assert message.state == "sent"
    [photo] = bot.fake.of("sendPhoto", 7001)  # the file outside the media folder was not sent
    assert photo.files["photo"] == JPEG
    asked = bot.fake.of("sendMessage", 7001)[-1]
    assert asked.buttons[0] == {"text": "Send location", "request_location": True}


async def test_documents_upload_only_from_the_media_folder(bot: Stack, clock: FakeClock) -> None:
    user = await citizen(bot)
    exports = bot.app.settings.media_dir / "exports"
    exports.mkdir(parents=True)
    (exports / "laporan.csv").write_bytes(b"\xef\xbb\xbfNomor\r\nLPR-2026-000001\r\n")
    outside = bot.app.settings.media_dir.parent / "sinergi.env"
    outside.write_text("TELEGRAM_BOT_TOKEN=secret")
    await queue(bot, user, Reply("Ekspor siap", files=(str(exports / "laporan.csv"), str(outside),
                                                      str(exports / "gone.csv"))))
    [message] = await deliver(bot, clock)
    assert message.state == "sent"
    [document] = bot.fake.of("sendDocument", 7001)
    assert document.filenames["document"] == "laporan.csv"
    assert document.files["document"].endswith(b"LPR-2026-000001\r\n")
    assert [c.method for c in bot.fake.calls if c.chat_id == 7001] == ["sendMessage", "sendDocument"]


@pytest.mark.parametrize("change", [{"opted_out": 1}, {"unreachable": 1}])
async def test_who_opted_out_or_became_unreachable_after_queueing_gets_only_deferred_replies(
        bot: Stack, clock: FakeClock, change: dict[str, int]) -> None:
    user = await citizen(bot)
    await queue(bot, user, Reply("Pengumuman kerja bakti"))
    async with bot.app.store.transaction():  # a direct answer the channel could not send at once
        await bot.app.store.outbox.enqueue([NewMessage(user.id, "telegram", "7001", KIND_REPLY,
                                                       replies_to_json([Reply("Jawaban Bapak/Ibu")]),
                                                       PRIORITY_REPLY)], clock())
    await bot.app.store.users.update(user.id, **change)
    await deliver(bot, clock)  # one message per chat at a time: the reply first
    clock.advance(seconds=2)
    reply, notification = sorted(await deliver(bot, clock), key=lambda m: m.kind)
    assert (notification.kind, notification.state, notification.attempts) == ("report_status", "cancelled", 1)
    assert notification.last_error in ("recipient opted out", "recipient unreachable")
    assert reply.state == "sent"
    assert [c.text for c in bot.fake.of("sendMessage", 7001)] == ["Jawaban Bapak/Ibu"]


async def test_an_unreadable_outbox_row_is_finished_not_retried(bot: Stack, clock: FakeClock) -> None:
    user = await citizen(bot)
    message = await queue(bot, user, Reply("x"))
    await bot.app.store.db.execute("UPDATE outbox SET body = ? WHERE id = ?", ("{not json", message.id))
    [message] = await deliver(bot, clock)
    assert message.state == "failed" and "unreadable" in (message.last_error or "")
