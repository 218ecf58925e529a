"""The Telegram channel end to end: the real PTB Application polling a fake Bot API over real HTTP."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import aiohttp
import pytest

from bot.app import serve
from bot.channels import telegram as telegram_channel
from bot.outbox_worker import OutboxWorker
from storage.clock import from_db
from storage.outbox import PRIORITY_REPLY
from tests.fake_telegram import BOT_USER, FakeTelegram, processed
from tests.support import FakeClock
from tests.telegram_support import JPEG, MAIN_MENU, Stack, onboarded, running_bot, telegram_settings


async def test_onboarding_with_buttons(bot: Stack) -> None:
    budi = bot.user()
    await budi.send("/start")
    assert "Halo! Saya Sinergi" in budi.text
    assert budi.labels == ["Bahasa Indonesia", "English"]
    greeting = budi.received[-1]
    assert greeting.params["parse_mode"] == "HTML"
    assert [b["callback_data"] for b in greeting.buttons] == ["lang:id", "lang:en"]

    await budi.click("Bahasa Indonesia")
    assert "UU PDP No. 27/2022" in budi.text
    answered = bot.fake.of("answerCallbackQuery")
    assert len(answered) == 1
    edits = bot.fake.of("editMessageReplyMarkup", budi.id)
    assert [e.params["message_id"] for e in edits] == [greeting.result["message_id"]]
    assert "reply_markup" not in bot.fake.message(budi.id, greeting.result["message_id"])

    await budi.click("Saya setuju")
    assert "Kecamatan" in budi.text or "kecamatan" in budi.text
    assert "Berbah" in budi.labels
    await budi.click("Berbah")
    await budi.click("Jogotirto")
    assert "terdaftar di Desa Jogotirto, Kecamatan Berbah" in budi.text
    assert budi.labels == MAIN_MENU
    assert len(bot.fake.of("answerCallbackQuery")) == 4

    user = await bot.app.store.users.find("telegram", str(budi.id))
    assert user is not None and user.onboarded
    assert user.display_name == "Budi Santoso" and user.locale == "id"
    assert BOT_USER["username"] == bot.channel.health()["bot"]


async def test_commands_are_passed_to_the_engine(bot: Stack) -> None:
    budi = await onboarded(bot)
    await budi.send("/bantuan")
    assert "BERHENTI" in budi.text
    await budi.send("/menu")
    assert budi.labels == MAIN_MENU
    await budi.send("/menu@SinergiTestBot")
    assert budi.labels == MAIN_MENU
    await budi.send("/entahlah")
    assert "perintah /entahlah tidak saya kenal" in budi.text


async def test_start_deep_link_opens_what_it_names(bot: Stack) -> None:
    async def open_thing(ctx, args: str) -> None:  # type: ignore[no-untyped-def]
        ctx.finish(f"thing number {args}")

    bot.app.engine.registry.add_action("thing", open_thing)
    budi = await onboarded(bot)
    await budi.send("/start thing_12")
    assert "thing number 12" in budi.text
    await budi.send("/start poll_999")  # the polls flow's own deep link: no such poll, a kind answer
    assert budi.text and "Traceback" not in budi.text


async def test_long_payload_travels_as_a_short_key_and_text_is_escaped(bot: Stack) -> None:
    budi = await onboarded(bot)
    await budi.send("/long")
    keyboard = budi.received[-1]
    assert keyboard.params["text"] == "Pick &lt;one&gt; &amp; see"
    assert keyboard.text == "Pick <one> & see"
    data = [button["callback_data"] for button in keyboard.buttons]
    assert all(len(d.encode()) <= 64 for d in data)
    assert data[0].startswith("~") and data[1] == "probe:picked:short"
    assert await bot.app.store.telegram_keys.payload(data[0]) == "probe:picked:" + "x" * 120
    await budi.click("Long one")
    assert f"picked {'x' * 20} (120 chars)" in budi.text


async def test_a_reply_marked_edit_replaces_the_pressed_message(bot: Stack) -> None:
    budi = await onboarded(bot)
    await budi.send("/count")
    counter = budi.received[0].result
    await budi.click("+1")
    await budi.click("+1")
    assert [c.method for c in budi.received] == ["editMessageText"]
    assert budi.received[0].params["message_id"] == counter["message_id"]
    assert bot.fake.message(budi.id, counter["message_id"])["text"] == "count 2"
    assert budi.labels == ["+1"]


async def test_pressing_an_outdated_button_is_answered_kindly(bot: Stack) -> None:
    budi = bot.user()
    await budi.send("halo")
    await budi.click("Bahasa Indonesia")
    await budi.click("Saya setuju")
    kecamatan_message = budi.received[-1].result
    await budi.send("jogotirto")  # typed instead of tapped: the kecamatan keyboard is still on screen
    assert budi.labels == MAIN_MENU
    await budi.press("kec:34.04.08", kecamatan_message)
    assert "Tombol itu dari pesan lama" in budi.text
    assert budi.labels == MAIN_MENU
    assert "reply_markup" not in bot.fake.message(budi.id, kecamatan_message["message_id"])
    assert len(bot.fake.of("answerCallbackQuery")) == 3


async def test_a_forgotten_key_is_treated_as_outdated(bot: Stack) -> None:
    budi = await onboarded(bot)
    menu_message = budi.received[-1].result
    await budi.press("~bm90LWEta25vd24ta2V5", menu_message)
    assert "Tombol itu dari pesan lama" in budi.text


async def test_location_then_photo_as_a_report_will_ask(bot: Stack) -> None:
    budi = await onboarded(bot)
    await budi.send("/probe")
    ask = budi.received[-1]
    assert ask.text == "Where is the problem? Share the location."
    assert ask.markup["one_time_keyboard"] is True
    assert ask.buttons[0] == {"text": "Kirim lokasi", "request_location": True}
    assert budi.labels == ["Kirim lokasi", "Skip"]

    await budi.share_location(-7.7956, 110.3695)
    assert budi.texts[0] == "Location -7.7956,110.3695"
    assert budi.received[0].markup == {"remove_keyboard": True}  # the location keyboard goes away
    assert budi.texts[-1] == "Now send a photo."

    await budi.send_photo(JPEG, caption="Jalan <berlubang>")
    full_size = budi.received and bot.fake.of("getFile")
    assert [c.params["file_id"] for c in full_size] == ["FILE000002"]  # the largest size, not the thumbnail
    assert f"Photo image/jpeg {len(JPEG)} bytes, caption 'Jalan <berlubang>'" in budi.text
    stored = budi.text.split(" at ")[1].split("\n")[0]
    assert Path(stored).parent == bot.app.settings.media_dir
    assert await asyncio.to_thread(Path(stored).read_bytes) == JPEG


async def test_skip_by_tapping_the_plain_keyboard_button(bot: Stack) -> None:
    budi = await onboarded(bot)
    await budi.send("/probe")
    await budi.tap("Skip")
    assert budi.texts == ["Now send a photo."]


async def test_photos_are_checked_for_size_and_type(bot: Stack) -> None:
    budi = await onboarded(bot)
    await budi.send("/probe")
    await budi.tap("Skip")
    await budi.send_document(JPEG, "image/jpeg", "besar.jpg", file_size=25 * 1024 * 1024)
    assert "Foto itu terlalu besar (paling besar 10 MB)" in budi.text
    assert bot.fake.of("getFile") == []  # refused before downloading anything
    await budi.send_photo(JPEG, file_size=25 * 1024 * 1024)  # too large in full: a smaller size will do
    assert [c.params["file_id"] for c in bot.fake.of("getFile")] == ["FILE000002"]
    assert "Photo image/jpeg" in budi.text
    await budi.send("/probe")
    await budi.tap("Skip")
    await budi.send_document(b"%PDF-1.7 not a photo", "application/pdf", "surat.pdf")
    assert "belum bisa membaca pesan suara, stiker, video, atau berkas" in budi.text
    await budi.send_document(b"GIF89a pretending", "image/jpeg", "foto.jpg")  # a name and type that lie
    assert "belum bisa membaca" in budi.text
    await budi.send_document(JPEG, "image/jpeg", "foto.jpg")  # a photo sent as a file is a photo
    assert "Photo image/jpeg" in budi.text
    assert len(list(bot.app.settings.media_dir.iterdir())) == 2


@pytest.mark.parametrize("kind", [
    {"voice": {"file_id": "v1", "file_unique_id": "v1", "duration": 3}},
    {"sticker": {"file_id": "s1", "file_unique_id": "s1", "type": "regular", "width": 512, "height": 512,
                 "is_animated": False, "is_video": False}},
    {"video": {"file_id": "m1", "file_unique_id": "m1", "width": 640, "height": 480, "duration": 5}},
])
async def test_what_we_cannot_read_gets_a_short_kind_answer(bot: Stack, kind: dict) -> None:  # type: ignore[type-arg]
    budi = bot.user(language_code="en")
    await budi.deliver(budi.message_update(**kind))
    assert budi.texts == ["Sorry, I cannot read voice notes, stickers, videos or files. Please type your message; "
                          "I can also take photos and locations."]
    assert await bot.app.store.users.count() == 0  # nothing reached the engine


async def test_edited_messages_are_ignored_politely(bot: Stack) -> None:
    budi = await onboarded(bot)
    conversation = await bot.app.store.conversations.load((await bot.app.store.users.find("telegram", "7001")).id)
    message = budi.message_update(text="jalan rusak")["message"]
    await budi.deliver({"edited_message": {**message, "edit_date": message["date"] + 5}})
    assert budi.texts == ["Saya hanya membaca pesan baru, jadi perubahan pesan Bapak/Ibu tidak terbaca. "
                          "Silakan kirim lagi sebagai pesan baru."]
    after = await bot.app.store.conversations.load((await bot.app.store.users.find("telegram", "7001")).id)
    assert after.state == conversation.state


async def test_groups_are_ignored_unless_the_bot_is_addressed(bot: Stack) -> None:
    budi = bot.user()
    group = {"id": -100500, "type": "supergroup", "title": "Warga Jogotirto"}

    async def in_group(text: str, **extra: object) -> list:  # type: ignore[type-arg]
        update = budi.message_update(text=text, **extra)
        update["message"]["chat"] = group
        await budi.deliver(update)
        return bot.fake.of("sendMessage", group["id"])

    assert await in_group("halo semua") == []
    assert await in_group("/start@OtherBot", entities=[{"type": "bot_command", "offset": 0, "length": 15}]) == []
    pointed = await in_group("@SinergiTestBot tolong", entities=[{"type": "mention", "offset": 0, "length": 15}])
    assert len(pointed) == 1 and "@SinergiTestBot" in pointed[0].text and "obrolan pribadi" in pointed[0].text
    bot_message = pointed[0].result
    assert len(await in_group("jalan rusak", reply_to_message=bot_message)) == 2
    assert len(await in_group("/lapor@SinergiTestBot",
                              entities=[{"type": "bot_command", "offset": 0, "length": 21}])) == 3
    assert await bot.app.store.users.count() == 0


async def test_own_contact_gives_the_phone_number(bot: Stack) -> None:
    budi = await onboarded(bot)
    await budi.send("/phone")
    assert budi.received[-1].buttons[0] == {"text": "Bagikan nomor telepon", "request_contact": True}
    await budi.share_contact("6281234567890", own=False)  # someone else's card: not collected
    assert budi.received == []
    await budi.share_contact("62812³⁴⁵⁶⁷⁸")  # digits to str.isdigit, but no phone number
    assert budi.received == []
    await budi.share_contact("6281234567890")
    assert "phone +6281234567890" in budi.text


async def test_long_text_is_split_at_paragraphs(bot: Stack) -> None:
    budi = await onboarded(bot)
    await budi.send("/essay")
    *essay, menu = [c for c in budi.received if c.method == "sendMessage"]
    assert len(essay) >= 2
    assert all(len(piece.text) <= 4096 and piece.text.startswith("Paragraph") for piece in essay)
    assert "\n\n".join(piece.text for piece in essay) == "\n\n".join(
        f"Paragraph {n} <b>{'kata ' * 150}</b>" for n in range(8))
    assert "&lt;b&gt;" in essay[0].params["text"]
    assert not any(piece.buttons for piece in essay) and menu.buttons


async def test_an_update_is_handled_once_even_after_a_restart(fake: FakeTelegram, tmp_path: Path,
                                                              clock: FakeClock) -> None:
    settings = telegram_settings(tmp_path, fake)
    async with running_bot(settings, fake, clock) as first:
        budi = first.user()
        update = budi.message_update(text="halo")
        await budi.deliver(update)
        assert "Halo! Saya Sinergi" in budi.text
    async with running_bot(settings, fake, clock) as second:
        budi = second.user()
        await budi.deliver({**update, "update_id": update["update_id"]})  # Telegram sends it again
        assert budi.received == []
        await budi.send("halo lagi")
        assert budi.labels == ["Bahasa Indonesia", "English"]


async def test_each_chat_in_order_while_chats_run_together(bot: Stack) -> None:
    people = [bot.user(8000 + n, first_name=f"Warga{n}") for n in range(6)]
    steps = ["halo", "1", "1", "berbah", "jogotirto", "/bantuan"]
    before = bot.channel.processor.processed
    for step in steps:  # interleaved, all queued before the bot polls them
        for person in people:
            bot.fake.queue_update(person.message_update(text=step))
    await processed(bot.channel.processor, before + len(steps) * len(people))
    for person in people:
        texts = [c.text for c in bot.fake.of("sendMessage", person.id)]
        assert "Halo! Saya Sinergi" in texts[0]
        assert "terdaftar di Desa Jogotirto" in texts[-4] and "BERHENTI" in texts[-2]
        user = await bot.app.store.users.find("telegram", str(person.id))
        assert user is not None and user.onboarded


async def test_a_slow_photo_is_not_overtaken_by_the_next_message(bot: Stack) -> None:
    people = [await onboarded(bot, 8100 + n) for n in range(3)]
    for person in people:
        await person.send("/probe")
        await person.tap("Skip")
    before = bot.channel.processor.processed
    for person in people:  # the photo needs getFile and a download before the engine sees it
        file_id = bot.fake.add_file(JPEG)
        bot.fake.queue_update(person.message_update(photo=[{"file_id": file_id, "file_unique_id": file_id,
                                                            "width": 800, "height": 600}]))
        bot.fake.queue_update(person.message_update(text="/bantuan"))
    await processed(bot.channel.processor, before + 2 * len(people))
    for person in people:
        texts = [c.text for c in bot.fake.of("sendMessage", person.id)][-4:]
        assert texts[0].startswith("Photo image/jpeg") and "BERHENTI" in texts[2]


async def test_command_menus_in_both_languages_and_for_officials(fake: FakeTelegram, tmp_path: Path,
                                                                 clock: FakeClock) -> None:
    settings = telegram_settings(tmp_path, fake, OFFICIAL_TELEGRAM_IDS="7001")
    async with running_bot(settings, fake, clock):
        calls = fake.of("setMyCommands")
    by_scope = {(c.params.get("language_code"), (c.params.get("scope") or {}).get("chat_id")): c for c in calls}
    citizen_id = {cmd["command"]: cmd["description"] for cmd in by_scope[(None, None)].params["commands"]}
    citizen_en = {cmd["command"]: cmd["description"] for cmd in by_scope[("en", None)].params["commands"]}
    official = {cmd["command"]: cmd["description"] for cmd in by_scope[(None, 7001)].params["commands"]}
    assert citizen_id["menu"] == "Menu utama" and citizen_en["menu"] == "Main menu"
    assert citizen_id["start"] == "Mulai atau mulai ulang"
    assert "petugas" not in citizen_id and official["petugas"] == "Menu petugas"
    assert set(citizen_id) < set(official)


async def test_official_menus_follow_role_changes_while_running(fake: FakeTelegram, tmp_path: Path, clock: FakeClock,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """Someone made an official by the CLI (another process) gets the official menu within the refresh interval;
    a demoted official gets the citizens' menu back."""
    monkeypatch.setattr(telegram_channel, "OFFICIAL_MENU_EVERY", 0.05)
    async with running_bot(telegram_settings(tmp_path, fake), fake, clock) as stack:
        siti = await onboarded(stack, 7301)
        assert not [c for c in fake.of("setMyCommands") if (c.params.get("scope") or {}).get("chat_id") == siti.id]
        await stack.app.store.users.grant_role("telegram", str(siti.id), "official", None, clock())
        await until(lambda: any((c.params.get("scope") or {}).get("chat_id") == siti.id
                                for c in fake.of("setMyCommands")))
        given = [c for c in fake.of("setMyCommands") if (c.params.get("scope") or {}).get("chat_id") == siti.id]
        assert len(given) == 1 and "petugas" in {cmd["command"] for cmd in given[0].params["commands"]}
        user = await stack.app.store.users.find("telegram", str(siti.id))
        assert user is not None
        await stack.app.store.users.set_role(user.id, "citizen")
        await until(lambda: any((c.params.get("scope") or {}).get("chat_id") == siti.id
                                for c in fake.of("deleteMyCommands")))
        await asyncio.sleep(0.2)  # later refreshes send nothing more: nothing changed
        assert len([c for c in fake.of("setMyCommands") if (c.params.get("scope") or {}).get("chat_id")
                    == siti.id]) == 1


async def until(condition: Callable[[], bool], seconds: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + seconds
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "not within the time"
        await asyncio.sleep(0.02)


async def test_blocked_users_are_marked_unreachable(bot: Stack) -> None:
    budi = await onboarded(bot)
    bot.fake.fail("sendMessage", 403, chat_id=budi.id)
    await budi.send("menu")
    user = await bot.app.store.users.find("telegram", str(budi.id))
    assert user is not None and user.unreachable
    await budi.send("menu")  # writing again makes them reachable
    user = await bot.app.store.users.find("telegram", str(budi.id))
    assert user is not None and not user.unreachable
    await budi.deliver({"my_chat_member": {
        "chat": budi.chat, "from": budi.user, "date": 1,
        "old_chat_member": {"status": "member", "user": BOT_USER},
        "new_chat_member": {"status": "kicked", "user": BOT_USER, "until_date": 0},
    }})
    user = await bot.app.store.users.find("telegram", str(budi.id))
    assert user is not None and user.unreachable


async def deliver_outbox(bot: Stack) -> None:
    await OutboxWorker(bot.app.store, bot.channel.sender, clock=bot.app.clock).drain_once()


@pytest.mark.parametrize(("status", "retry_after"), [(429, 1), (502, None)])
async def test_a_reply_telegram_refuses_for_now_waits_in_the_outbox_whole_and_in_order(
        bot: Stack, clock: FakeClock, status: int, retry_after: int | None) -> None:
    budi = bot.user()
    await budi.send("halo")
    await budi.click("Bahasa Indonesia")
    await budi.click("Saya setuju")
    bot.fake.fail("sendMessage", status, retry_after=retry_after, chat_id=budi.id)
    await budi.send("jogotirto")                 # answered with two replies: a welcome, then the main menu
    [refused] = budi.received                    # the first reply, refused; no apology, nothing more
    assert refused.result is None and "Jogotirto" in refused.text
    user = await bot.app.store.users.find("telegram", str(budi.id))
    assert user is not None and user.desa_code is not None   # their answer itself was taken
    [row] = await bot.app.store.outbox.for_user(user.id)
    assert (row.kind, row.priority, row.state) == ("reply", PRIORITY_REPLY, "pending")
    if retry_after:                              # not before Telegram said it would take it again
        not_before = await bot.app.store.db.fetchval("SELECT not_before FROM outbox WHERE id = ?", (row.id,))
        assert from_db(not_before) >= clock() + timedelta(seconds=retry_after)

    await budi.send("bantuan")                   # Telegram works again, but this answer queues behind the first
    assert budi.received == []
    await deliver_outbox(bot)                    # after a 429, neither may go yet: the later must not overtake
    for _turn in range(2):                       # one message per chat at a time
        clock.advance(seconds=2)
        await deliver_outbox(bot)
    sent = bot.fake.of("sendMessage", budi.id)[-4:]   # the first answer (2 messages), then help (2)
    assert "Jogotirto" in sent[0].text and sent[0].result is not None
    assert [b["text"] for b in sent[1].buttons] == MAIN_MENU
    assert "BERHENTI" in sent[2].text, "the later answer came last"
    assert {m.state for m in await bot.app.store.outbox.for_user(user.id)} == {"sent"}
    await budi.send("menu")                      # nothing waits any more: straight back
    assert budi.labels == MAIN_MENU and budi.received[0].result is not None


async def test_a_press_whose_keyboard_telegram_cannot_take_off_still_gets_its_answer(bot: Stack) -> None:
    budi = await onboarded(bot)
    bot.fake.fail("editMessageReplyMarkup", 502, chat_id=budi.id)
    await budi.click("Bantuan")
    assert [c.method for c in budi.received if c.result is None] == ["editMessageReplyMarkup"]
    assert "BERHENTI" in budi.text and "Maaf, ada gangguan" not in budi.text


async def test_a_failure_is_logged_and_the_user_hears_something_kind(bot: Stack,
                                                                      caplog: pytest.LogCaptureFixture) -> None:
    budi = await onboarded(bot)
    await budi.send("/probe")
    await budi.tap("Skip")
    bot.fake.fail("getFile", 500)
    await budi.send_photo(JPEG)
    assert budi.texts == ["Maaf, ada gangguan di sistem kami. Silakan coba lagi sebentar lagi, atau ketik MENU."]
    assert "telegram update failed" in caplog.text
    await budi.send_photo(JPEG)  # the step is still waiting for the photo
    assert "Photo image/jpeg" in budi.text


async def test_health_reports_the_channel(bot: Stack) -> None:
    budi = bot.user()
    await budi.send("halo")
    health = bot.channel.health()
    assert health["mode"] == "polling" and health["running"] is True and health["transport"] == "aiohttp"
    assert health["updates_processed"] == 1


async def test_the_httpx_transport_works_too(fake: FakeTelegram, tmp_path: Path, clock: FakeClock) -> None:
    async with running_bot(telegram_settings(tmp_path, fake), fake, clock, transport="httpx") as stack:
        assert type(stack.channel.application.bot.request).__name__ == "HTTPXRequest"
        budi = await onboarded(stack, language="English")
        await budi.send("/probe")
        assert budi.labels == ["Send location", "Skip"]
        await budi.share_location(-7.8, 110.4)
        await budi.send_photo(JPEG)
        assert "Photo image/jpeg" in budi.text


async def test_sinergi_run_serves_the_telegram_channel(fake: FakeTelegram, tmp_path: Path) -> None:
    """The code path of `make run`: settings -> build_channels -> start -> web server -> clean shutdown."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    running = asyncio.create_task(serve(telegram_settings(tmp_path, fake, HTTP_PORT=str(port))))
    await fake.wait_for("getUpdates")
    person = {"id": 9001, "is_bot": False, "first_name": "Sari", "language_code": "id"}
    update = fake.queue_update({"message": {"message_id": 1, "date": 0, "chat": {"id": 9001, "type": "private"},
                                            "from": person, "text": "halo"}})
    await fake.wait_for("sendMessage", 9001)
    assert "Halo! Saya Sinergi" in fake.of("sendMessage", 9001)[0].text
    async with aiohttp.ClientSession() as session, session.get(f"http://127.0.0.1:{port}/healthz") as answer:
        health = await answer.json()
    assert health["channels"]["telegram"]["running"] is True
    running.cancel()
    with pytest.raises(asyncio.CancelledError):
        await running
    last = fake.calls[-1]  # the last poll confirms what was taken, so a restart does not fetch it again
    assert last.method == "getUpdates" and last.params["offset"] == update["update_id"] + 1
