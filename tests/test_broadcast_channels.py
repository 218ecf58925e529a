"""Broadcasts and polls through the real channel senders, against the fake Bot API and the fake Twilio at
once: one process serving Telegram and WhatsApp people, the platforms refusing, throttling and failing as
they do, the production worker loop pacing both. Counts are exact: every recipient gets the message once,
except those a platform refuses for good; nothing is lost, nothing doubled.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest

from bot.channels.telegram import TelegramChannel
from bot.outbox_worker import OutboxWorker, pacing_for
from handlers import broadcasts, polls
from storage.audience import Audience
from storage.broadcasts import Broadcast
from tests.fake_telegram import FakeTelegram, TelegramUser
from tests.people import add_people, official_chat
from tests.support import FakeClock
from tests.whatsapp_support import WhatsAppHarness, whatsapp_harness

BROADCAST_TEMPLATE = "HX" + "b7" * 16
RATE = 20.0           # messages/s per channel where pacing is the point
FAST = "500"          # where it is not


@dataclass
class Mixed:
    """One Sinergi process with both channels, each wired to its fake platform."""

    wa: WhatsAppHarness
    telegram: TelegramChannel
    fake_telegram: FakeTelegram
    clock: FakeClock

    @property
    def store(self):  # type: ignore[no-untyped-def]
        return self.wa.app.store

    def telegram_user(self, chat_id: int) -> TelegramUser:
        return TelegramUser(self.fake_telegram, self.telegram.processor, chat_id)  # type: ignore[arg-type]

    async def deliver(self, within: float = 15.0) -> None:
        """Run both channels' production worker loops until nothing is left to send on either.

        The app clock runs fast meanwhile (a second every 20 ms), so rows put back after a 5xx come due
        at once; pacing and 429 pauses are measured on the real monotonic clock, as in production.
        """
        settings = self.wa.app.settings
        workers = [OutboxWorker(self.store, sender, clock=self.clock, idle_seconds=0.02,
                                pacing=pacing_for(sender.channel, settings))
                   for sender in (self.telegram.sender, self.wa.channel.sender)]
        for worker in workers:
            self.wa.app.workers[worker.sender.channel] = worker   # as `sinergi run` does

        async def stop_when_done() -> None:
            while await self.unfinished():
                self.clock.advance(seconds=1)
                await asyncio.sleep(0.02)
            for worker in workers:
                worker.stop()

        async with asyncio.timeout(within):
            await asyncio.gather(*(worker.run() for worker in workers), stop_when_done())

    async def unfinished(self) -> int:
        return await self.store.db.fetchval(
            "SELECT COUNT(*) FROM outbox WHERE channel IN ('telegram', 'whatsapp') AND state IN ('pending', 'sending')")

    async def unreachable(self, channel: str) -> set[str]:
        rows = await self.store.db.fetchall(
            "SELECT external_id FROM users WHERE channel = ? AND unreachable = 1", (channel,))
        return {row["external_id"] for row in rows}


@asynccontextmanager
async def mixed(tmp_path: Path, clock: FakeClock, rate: str = FAST, **env: str) -> AsyncIterator[Mixed]:
    fake_telegram = await FakeTelegram().start()
    try:
        async with whatsapp_harness(
            tmp_path, clock, TELEGRAM_BOT_TOKEN=fake_telegram.token, TELEGRAM_API_BASE_URL=fake_telegram.base_url,
            TELEGRAM_FILE_BASE_URL=fake_telegram.file_base_url, TELEGRAM_SEND_RATE=rate, WHATSAPP_SEND_RATE=rate,
            **env,
        ) as wa:
            telegram = TelegramChannel(wa.app, poll_timeout=1)
            await telegram.start()
            try:
                yield Mixed(wa, telegram, fake_telegram, clock)
            finally:
                await telegram.stop()
    finally:
        await fake_telegram.close()


async def add_audience(stack: Mixed, telegram: int, whatsapp: int, silent_whatsapp: int = 0) -> None:
    """Telegram chats 800…839; WhatsApp numbers +62811000…, the silent ones outside the 24-hour window."""
    now = stack.clock()
    await add_people(stack.store, telegram, now, channel="telegram", prefix="80")
    await add_people(stack.store, whatsapp, now, channel="whatsapp", prefix="+62811000")
    await add_people(stack.store, silent_whatsapp, now, channel="whatsapp", prefix="+62822000",
                     last_inbound_ago=timedelta(days=2))


async def start_broadcast(stack: Mixed, text: str = "Kerja bakti Minggu pagi di balai desa.") -> Broadcast:
    created = await stack.store.broadcasts.create(None, text, None, None, Audience(), stack.clock())
    assert await broadcasts.start(stack.store, created, stack.clock(), "id") is not None
    started = await stack.store.broadcasts.get(created.id)
    assert started is not None
    return started


def delivered_telegram(fake: FakeTelegram) -> list[int]:
    """Chat ids of every sendMessage Telegram accepted."""
    return [call.chat_id for call in fake.of("sendMessage") if call.result is not None]  # type: ignore[misc]


def busiest_second(arrivals: Sequence[float]) -> int:
    """The most requests the platform saw in any one second (a sliding window, as platforms count)."""
    times = sorted(arrivals)
    start, most = 0, 0
    for end, moment in enumerate(times):
        while moment - times[start] >= 1.0:
            start += 1
        most = max(most, end - start + 1)
    return most


def achieved_rate(arrivals: Sequence[float]) -> float:
    times = sorted(arrivals)
    return (len(times) - 1) / (times[-1] - times[0])


async def test_a_broadcast_to_a_mixed_audience_survives_throttling_errors_and_refusals_at_the_configured_pace(
        tmp_path: Path, clock: FakeClock) -> None:
    async with mixed(tmp_path, clock, rate=str(RATE)) as stack:
        tg, wa = stack.fake_telegram, stack.wa.fake
        tg.latency = wa.latency = 0.02
        await add_audience(stack, telegram=40, whatsapp=24, silent_whatsapp=6)
        broadcast = await start_broadcast(stack)
        assert broadcast.recipients == 70

        tg.fail("sendMessage", 403, chat_id=805)                                    # blocked the bot
        tg.fail("sendMessage", 403, "Forbidden: user is deactivated", chat_id=806)
        tg.fail("sendMessage", 429, retry_after=1)                                  # the whole bot waits 1 s
        tg.fail("sendMessage", 502, times=2)                                        # retried with backoff
        wa.fail_next(429, 20429, retry_after="1", after=3)
        wa.fail_next(503, 20500, after=2)
        wa.fail_next(400, 21610, after=2)                                           # unsubscribed: final
        wa.fail_next(400, 63016, after=2)                                           # outside the window after all
        await stack.deliver()

        telegram_ok = delivered_telegram(tg)
        assert sorted(telegram_ok) == sorted(set(telegram_ok)), "nobody twice"
        assert set(telegram_ok) == {int(f"80{n}") for n in range(40)} - {805, 806}
        assert await stack.unreachable("telegram") == {"805", "806"}

        refused = {m["To"].removeprefix("whatsapp:"): m["error"] for m in wa.refused}
        unsubscribed = {number for number, code in refused.items() if code == 21610}
        closed_window = {number for number, code in refused.items() if code == 63016}
        assert len(unsubscribed) == len(closed_window) == 1
        whatsapp_ok = [m["To"].removeprefix("whatsapp:") for m in wa.messages]
        in_window = {f"+62811000{n}" for n in range(24)}
        assert sorted(whatsapp_ok) == sorted(in_window - unsubscribed - closed_window), "each once, none silent"
        assert all("Kerja bakti Minggu pagi" in m["Body"] for m in wa.messages)
        assert await stack.unreachable("whatsapp") == unsubscribed

        assert await stack.store.outbox.counts(broadcast.group_id) == {
            "sent": 38 + 22, "failed": 2 + 1, "needs_template": 1 + 6}
        held = await stack.store.db.fetchall(
            "SELECT external_id FROM outbox WHERE group_id = ? AND state = 'needs_template'", (broadcast.group_id,))
        assert {row["external_id"] for row in held} == closed_window | {f"+62822000{n}" for n in range(6)}

        for arrivals in ([call.at for call in tg.of("sendMessage")], wa.arrivals):
            # +2: the fake counts arrivals, which network jitter can bunch a little
            assert busiest_second(arrivals) <= RATE + 2, busiest_second(arrivals)
            assert achieved_rate(arrivals) <= RATE * 1.05, achieved_rate(arrivals)


@pytest.mark.parametrize("channel", ["telegram", "whatsapp"])
async def test_direct_replies_during_a_broadcast_count_against_the_rate_and_the_broadcast_makes_room(
        tmp_path: Path, clock: FakeClock, channel: str) -> None:
    async with mixed(tmp_path, clock, rate=str(RATE)) as stack:
        on_telegram = channel == "telegram"
        await add_audience(stack, telegram=60 if on_telegram else 0, whatsapp=0 if on_telegram else 60)
        await start_broadcast(stack)
        someone = stack.telegram_user(9001) if on_telegram else stack.wa.user("+6281299990001")

        async def chat() -> float:                # more than half of the rate in replies
            await asyncio.sleep(0.5)
            started = time.monotonic()
            for _message in range(12):
                await someone.send("halo")        # returns once the reply is out
                await asyncio.sleep(0.15)
            return time.monotonic() - started

        _delivered, chatted = await asyncio.gather(stack.deliver(), chat())
        if on_telegram:
            replies = len(stack.fake_telegram.of("sendMessage", 9001))
            everything = [call.at for call in stack.fake_telegram.of("sendMessage")]
            assert len(set(delivered_telegram(stack.fake_telegram))) == 61
        else:
            replies = len(stack.wa.fake.to("+6281299990001"))
            everything = stack.wa.fake.arrivals
            assert len(stack.wa.fake.messages) == replies + 60
        assert replies >= 12
        assert chatted < 12 * 0.15 + 2.0, "the replies did not wait in line behind the broadcast (~10 s if they had)"
        assert busiest_second(everything) <= RATE + 2, "the platform never saw more than the rate"


async def test_whatsapp_people_outside_the_window_get_the_broadcast_template_when_one_is_configured(
        tmp_path: Path, clock: FakeClock) -> None:
    async with mixed(tmp_path, clock, TWILIO_TEMPLATE_BROADCAST=BROADCAST_TEMPLATE) as stack:
        await add_audience(stack, telegram=1, whatsapp=2, silent_whatsapp=3)
        broadcast = await start_broadcast(stack)
        await stack.deliver()
        assert await stack.store.outbox.counts(broadcast.group_id) == {"sent": 6}
        district = await stack.store.areas.district_name()
        by_number = {m["To"].removeprefix("whatsapp:"): m for m in stack.wa.fake.messages}
        assert sorted(by_number) == sorted([f"+62811000{n}" for n in range(2)] + [f"+62822000{n}" for n in range(3)])
        for number, message in by_number.items():
            if number.startswith("+62822"):
                assert message["ContentSid"] == BROADCAST_TEMPLATE and "Body" not in message
                assert json.loads(message["ContentVariables"]) == {
                    "1": district, "2": "Kerja bakti Minggu pagi di balai desa."}
            else:
                assert "ContentSid" not in message and "Kerja bakti Minggu pagi" in message["Body"]
        assert delivered_telegram(stack.fake_telegram) == [800]


async def test_cancel_mid_run_leaves_the_rest_unsent_on_both_channels(tmp_path: Path, clock: FakeClock) -> None:
    async with mixed(tmp_path, clock, rate=str(RATE)) as stack:
        admin = await official_chat(stack.wa.app)
        await add_audience(stack, telegram=40, whatsapp=40)
        broadcast = await start_broadcast(stack)
        assert broadcast.recipients == 81                                           # the admin's console too
        delivering = asyncio.create_task(stack.deliver())
        async with asyncio.timeout(5):
            while len(delivered_telegram(stack.fake_telegram)) + len(stack.wa.fake.messages) < 10:
                await asyncio.sleep(0.01)
        at_cancel = len(delivered_telegram(stack.fake_telegram)) + len(stack.wa.fake.messages)
        await admin.send(payload=f"broadcast:cancel:{broadcast.id}")
        assert "dibatalkan" in admin.text
        await delivering
        sent_before = len(delivered_telegram(stack.fake_telegram)) + len(stack.wa.fake.messages)
        await asyncio.sleep(0.2)
        sent = len(delivered_telegram(stack.fake_telegram)) + len(stack.wa.fake.messages)
        assert sent == sent_before, "nothing goes out after the run"
        counts = await stack.store.outbox.counts(broadcast.group_id)
        assert counts == {"sent": sent, "cancelled": 81 - sent}, counts
        # what a worker had already claimed (about half a second of sending per channel) still goes out
        assert sent <= at_cancel + 2 * RATE, (at_cancel, sent)
        assert len(set(delivered_telegram(stack.fake_telegram))) == len(delivered_telegram(stack.fake_telegram))


async def test_a_poll_is_tapped_on_telegram_and_answered_by_number_on_whatsapp_then_closed_with_results(
        tmp_path: Path, clock: FakeClock) -> None:
    async with mixed(tmp_path, clock) as stack:
        admin = await official_chat(stack.wa.app)
        await add_audience(stack, telegram=2, whatsapp=2)
        poll = await stack.store.polls.create(None, "Setuju jalan desa diaspal tahun depan?",
                                              ["Setuju", "Tidak setuju"], Audience(), True, None, clock())
        async with stack.store.transaction():
            assert await polls.push(stack.store, poll, clock(), "id") == 5
        await stack.deliver()

        [pushed] = stack.fake_telegram.of("sendMessage", 800)
        assert "Setuju jalan desa diaspal tahun depan?" in pushed.text
        assert [button["text"] for button in pushed.buttons][:2] == ["Setuju", "Tidak setuju"]
        tini = stack.telegram_user(800)
        await tini.click("Setuju")  # answered on the button; the poll keeps its buttons
        assert tini.toast == "Terima kasih! Jawaban Bapak/Ibu: Setuju." and tini.received == []
        await tini.click("Tidak setuju")
        assert tini.toast == "Sudah diubah. Jawaban Bapak/Ibu sekarang: Tidak setuju."

        [numbered] = stack.wa.fake.to("+628110000")
        assert "1. Setuju" in numbered["Body"] and "2. Tidak setuju" in numbered["Body"]
        sari, joko = stack.wa.user("+628110000", "Sari"), stack.wa.user("+628110001", "Joko")
        await sari.send("1")
        assert "Terima kasih! Jawaban Bapak/Ibu: Setuju." in sari.text
        await joko.send("2")
        assert "Terima kasih! Jawaban Bapak/Ibu: Tidak setuju." in joko.text

        await admin.send(payload=f"polladm:close:{poll.id}")
        assert f"Jajak pendapat #{poll.id} sudah ditutup" in admin.text
        late = stack.telegram_user(801)
        await late.click("Setuju")
        assert "sudah ditutup" in late.text and "Jawaban: 3" in late.text
        closed = await stack.store.polls.get(poll.id)
        assert closed is not None and (await stack.store.polls.tally(closed)).counts == (1, 2)
        await admin.send(payload=f"polladm:results:{poll.id}")
        assert "Jawaban: 3" in admin.text and "Setuju: " in admin.text and "33%" in admin.text
