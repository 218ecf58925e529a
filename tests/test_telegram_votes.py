"""Poll votes on Telegram through the press lane: the real Application polling the fake Bot API, real SQLite.

A tap on a poll's answer is stored together with the other taps that arrived with it, in one transaction, and
answered on the button (a toast) once it is committed; the poll message keeps its buttons, so another tap
changes the vote. Whatever the lane cannot take gets the usual turn and the usual answer.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bot.channels.telegram_outbound import inline_keyboard
from handlers.i18n import use_locale
from handlers.polls import poll_replies
from storage.audience import Audience
from storage.polls import Poll
from tests.fake_telegram import SENDING, FakeTelegram, TelegramUser, processed
from tests.people import add_people
from tests.support import FakeClock
from tests.telegram_support import Stack, onboarded, running_bot, telegram_settings

ANSWERS = ["Setuju", "Tidak setuju", "Belum tahu"]
THANKS = "Terima kasih! Jawaban Bapak/Ibu: {}."


async def voters(bot: Stack, count: int) -> list[TelegramUser]:
    """Registered citizens (onboarded a month ago, last wrote an hour ago), chat ids 770, 771, …"""
    await add_people(bot.app.store, count, bot.app.clock(), channel="telegram", prefix="77")
    return [bot.user(int(f"77{n}")) for n in range(count)]


async def open_poll(bot: Stack, audience: Audience | None = None) -> Poll:
    return await bot.app.store.polls.create(None, "Setuju jalan desa diaspal?", ANSWERS, audience or Audience(), True,
                                            None, bot.app.clock())


def pushed(bot: Stack, person: TelegramUser, poll: Poll) -> dict[str, Any]:
    """The poll message in the person's chat, as the channel renders and Telegram keeps it."""
    with use_locale("id"):
        (reply,) = poll_replies(poll.id, poll.question, poll.options, poll.closes_at, "Kabupaten Sleman")
    return bot.fake.add_message(person.id, reply.text, inline_keyboard(reply.options))


def answer_of(message: dict[str, Any], label: str) -> str:
    """The callback_data of the button `label` on a message."""
    buttons = [button for row in message["reply_markup"]["inline_keyboard"] for button in row]
    return next(button["callback_data"] for button in buttons if button["text"] == label)


def toasts(bot: Stack, query_id: str | None) -> list[str | None]:
    """The texts of every answer to one press (None: an answer without text)."""
    answers = bot.fake.of("answerCallbackQuery")
    return [call.params.get("text") for call in answers if call.params["callback_query_id"] == query_id]


async def test_a_burst_of_votes_is_stored_once_each_and_answered_on_the_button(bot: Stack) -> None:
    people = await voters(bot, 40)
    await bot.app.store.users.mark_unreachable("telegram", str(people[0].id))
    poll = await open_poll(bot)
    messages = {person.id: pushed(bot, person, poll) for person in people}
    before = bot.channel.processor.processed
    presses = [person.press_update(answer_of(messages[person.id], ANSWERS[n % 3]), messages[person.id])
               for n, person in enumerate(people)]
    for update in presses:  # all arrive together, as after a push
        bot.fake.queue_update(update)
    bot.fake.queue_update(dict(presses[1]))  # and Telegram sends one again
    await processed(bot.channel.processor, before + len(presses) + 1)

    tally = await bot.app.store.polls.tally(poll)
    assert tally.counts == (14, 13, 13)
    for n, (person, update) in enumerate(zip(people, presses, strict=True)):
        shown = toasts(bot, update["callback_query"]["id"])
        assert THANKS.format(ANSWERS[n % 3]) in shown, shown
        assert bot.fake.of(SENDING, person.id) == [], "no message in the chat: the answer is on the button"
        assert bot.fake.message(person.id, messages[person.id]["message_id"])["reply_markup"], "buttons stay"
    assert sorted(toasts(bot, presses[1]["callback_query"]["id"]), key=str) == [None, THANKS.format(ANSWERS[1])]
    claimed = await bot.app.store.inbound.seen_among("telegram", [str(u["update_id"]) for u in presses])
    assert len(claimed) == len(presses)
    first = await bot.app.store.users.find("telegram", str(people[0].id))
    assert first is not None and not first.unreachable and first.last_inbound_at == "2026-11-30T02:00:00.000Z"


async def test_a_vote_changes_with_another_tap_and_the_answer_says_so(bot: Stack) -> None:
    (warga,) = await voters(bot, 1)
    poll = await open_poll(bot)
    message = pushed(bot, warga, poll)
    await warga.press(answer_of(message, "Setuju"), message)
    assert warga.toast == THANKS.format("Setuju") and warga.received == []
    await warga.press(answer_of(message, "Belum tahu"), message)
    assert warga.toast == "Sudah diubah. Jawaban Bapak/Ibu sekarang: Belum tahu."
    await warga.press(answer_of(message, "Belum tahu"), message)
    assert warga.toast == "Jawaban Bapak/Ibu memang sudah: Belum tahu."
    assert (await bot.app.store.polls.tally(poll)).counts == (0, 0, 1)


async def test_what_the_lane_cannot_take_gets_the_usual_turn(bot: Stack) -> None:
    (warga, tetangga) = await voters(bot, 2)
    poll = await open_poll(bot)
    elsewhere = await open_poll(bot, Audience("kecamatan", "34.04.07"))
    stranger = bot.user(5555, first_name="Orang", last_name="Baru")
    message = pushed(bot, stranger, poll)
    await stranger.press(answer_of(message, "Setuju"), message)
    assert "Halo! Saya Sinergi" in stranger.text, "someone not registered starts onboarding, as before"
    message = pushed(bot, warga, elsewhere)
    await warga.press(answer_of(message, "Setuju"), message)
    assert "untuk wilayah atau kelompok lain" in warga.text and warga.toast is None
    await bot.app.store.polls.close(poll.id, bot.app.clock())
    message = pushed(bot, tetangga, poll)
    await tetangga.press(answer_of(message, "Setuju"), message)
    assert "sudah ditutup" in tetangga.text
    assert "reply_markup" not in bot.fake.message(tetangga.id, message["message_id"]), "usual: buttons taken off"
    for nobody_counted in (poll, elsewhere):
        assert (await bot.app.store.polls.tally(nobody_counted)).total == 0


async def test_a_message_sent_right_after_a_vote_waits_until_the_vote_is_stored(bot: Stack) -> None:
    warga = await onboarded(bot)
    poll = await open_poll(bot)
    message = pushed(bot, warga, poll)
    before = bot.channel.processor.processed
    bot.fake.queue_update(warga.press_update(answer_of(message, "Tidak setuju"), message))
    bot.fake.queue_update(warga.message_update(text="/jajak"))
    await processed(bot.channel.processor, before + 2)
    (listed,) = bot.fake.of("sendMessage", warga.id)[-1:]
    assert [button["text"] for button in listed.buttons][0] == "✓ Setuju jalan desa diaspal?"


async def test_a_vote_sent_right_after_a_message_waits_for_it(bot: Stack) -> None:
    warga = await onboarded(bot)
    poll = await open_poll(bot)
    message = pushed(bot, warga, poll)
    before, calls = bot.channel.processor.processed, len(bot.fake.calls)
    bot.fake.queue_update(warga.message_update(text="/jajak"))
    bot.fake.queue_update(warga.press_update(answer_of(message, "Tidak setuju"), message))
    await processed(bot.channel.processor, before + 2)
    listed, thanked = [c for c in bot.fake.calls[calls:] if c.method == "sendMessage"]
    assert [button["text"] for button in listed.buttons][0] == "Setuju jalan desa diaspal?", "not answered yet"
    assert THANKS.format("Tidak setuju") in thanked.text, "the vote took its turn behind the message"


async def test_someone_in_the_middle_of_a_report_votes_and_carries_on(bot: Stack) -> None:
    warga = await onboarded(bot)
    await warga.click("Lapor masalah")
    await warga.click("Jalan & jembatan")
    assert "ceritakan masalahnya" in warga.text
    poll = await open_poll(bot)
    message = pushed(bot, warga, poll)
    await warga.press(answer_of(message, "Setuju"), message)
    assert warga.toast == THANKS.format("Setuju") and warga.received == []
    await warga.send("Jembatan bambu di dusun kami patah, anak sekolah memutar jauh")
    assert "sampai 3 foto" in warga.text, "still at the report's step"


async def test_a_vote_sent_again_after_a_restart_counts_once(fake: FakeTelegram, tmp_path: Path,
                                                             clock: FakeClock) -> None:
    settings = telegram_settings(tmp_path, fake)
    async with running_bot(settings, fake, clock) as first:
        (warga,) = await voters(first, 1)
        poll = await open_poll(first)
        message = pushed(first, warga, poll)
        update = warga.press_update(answer_of(message, "Setuju"), message)
        await warga.deliver(update)
        assert warga.toast == THANKS.format("Setuju")
    async with running_bot(settings, fake, clock) as second:
        warga = second.user(warga.id)
        await warga.deliver(dict(update))  # Telegram had not heard that it was taken
        assert toasts(second, update["callback_query"]["id"]) == [THANKS.format("Setuju"), None]
        assert (await second.app.store.polls.tally(poll)).counts == (1, 0, 0)


async def test_if_storing_a_batch_fails_each_vote_still_gets_its_usual_turn(bot: Stack,
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    (warga,) = await voters(bot, 1)
    poll = await open_poll(bot)
    message = pushed(bot, warga, poll)

    async def broken(*_args: object) -> list[int | None]:
        raise OSError("disk I/O error")

    monkeypatch.setattr(bot.app.store.polls, "vote_all", broken)
    await warga.press(answer_of(message, "Belum tahu"), message)
    assert THANKS.format("Belum tahu") in warga.text
    assert (await bot.app.store.polls.tally(poll)).counts == (0, 0, 1)
