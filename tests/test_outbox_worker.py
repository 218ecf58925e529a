"""The outbox worker against a real HTTP platform on 127.0.0.1: exact delivery counts under 429s, 5xx,
403s and latency; pacing within the configured rates; priority; cancel; and a real `kill -9`."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from bot.outbox_worker import OutboxWorker, Pacing, SendResult, TokenBucket
from storage.audience import Audience
from storage.clock import from_db, utc_now
from storage.db import Store, open_store
from storage.outbox import PRIORITY_BULK, PRIORITY_REPLY, NewMessage
from tests.fake_platform import FakePlatform, PlatformSender
from tests.outbox_drain import run_until_drained
from tests.people import add_people
from tests.support import FakeClock

ROOT = Path(__file__).resolve().parent.parent
TEXT = json.dumps([{"text": "Pengumuman", "options": [], "request": None, "media": []}])
PHOTO = json.dumps([{"text": "Foto", "options": [], "request": None, "media": ["/tmp/x.jpg"]}])


@pytest.fixture
async def platform() -> AsyncIterator[FakePlatform]:
    fake = FakePlatform()
    await fake.start()
    yield fake
    await fake.stop()


@pytest.fixture
async def sender(platform: FakePlatform) -> AsyncIterator[PlatformSender]:
    client = PlatformSender(platform.url)
    yield client
    await client.close()


async def queue(store: Store, clock: Callable[[], datetime], chats: list[str], *, priority: int = PRIORITY_BULK,
                body: str = TEXT, group_id: str | None = None) -> list[int]:
    """One message per chat, in order; returns their outbox ids."""
    before = await store.db.fetchval("SELECT COALESCE(MAX(id), 0) FROM outbox")
    await store.outbox.enqueue([NewMessage(None, "fake", chat, "broadcast", body, priority, group_id=group_id)
                                for chat in chats], clock())
    rows = await store.db.fetchall("SELECT id FROM outbox WHERE id > ? ORDER BY id", (before,))
    return [row[0] for row in rows]


async def drain(worker: OutboxWorker, store: Store, clock: FakeClock | None = None, limit: float = 30.0) -> None:
    """Run the worker until nothing is pending or in flight; with a fake clock, jump over backoff waits."""
    async def run() -> None:
        while True:
            if await worker.drain_once() == 0:
                counts = await store.outbox.counts()
                if not counts.get("pending") and not counts.get("sending"):
                    return
                if clock is not None:
                    clock.advance(minutes=15)
                else:
                    await asyncio.sleep(0.02)

    await asyncio.wait_for(run(), limit)


def busiest_second(times: list[float]) -> int:
    """The most arrivals in any one-second window."""
    ordered = sorted(times)
    best, start = 0, 0
    for end, moment in enumerate(ordered):
        while moment - ordered[start] >= 1.0:
            start += 1
        best = max(best, end - start + 1)
    return best


async def test_every_message_is_delivered_exactly_once_through_429s_5xx_403s_and_latency(
        store: Store, clock: FakeClock, platform: FakePlatform, sender: PlatformSender) -> None:
    await add_people(store, 240, clock(), channel="fake", prefix="c")
    users = await store.db.fetchall("SELECT id, external_id FROM users WHERE channel = 'fake' ORDER BY id")
    await store.outbox.enqueue([NewMessage(row[0], "fake", row[1], "broadcast", TEXT, PRIORITY_BULK)
                                for row in users], clock())
    ids = [row[0] for row in await store.db.fetchall("SELECT id FROM outbox ORDER BY id")]
    platform.allowed_rate, platform.retry_after, platform.latency = 120, 0.1, 0.002
    platform.blocked = {"c5", "c17", "c199"}
    platform.fail_times = {ids[10]: 1, ids[50]: 2, ids[200]: 1}
    worker = OutboxWorker(store, sender, clock=clock, pacing=Pacing(rate=200))  # faster than allowed: 429s come

    await drain(worker, store, clock)

    delivered = Counter(platform.ids())
    blocked_ids = {row[0] for row in await store.db.fetchall(
        "SELECT id FROM outbox WHERE external_id IN ('c5', 'c17', 'c199')")}
    assert platform.refused_429, "the platform's rate limit was reached, so the 429 path ran"
    assert set(delivered) == set(ids) - blocked_ids, "nothing lost"
    assert max(delivered.values()) == 1, "nothing doubled"
    assert await store.outbox.counts() == {"sent": 237, "failed": 3}
    assert platform.attempts[ids[50]] == 3 and platform.attempts[ids[10]] == 2
    assert all(platform.attempts[i] == 1 for i in blocked_ids), "a blocked chat is never tried again"
    unreachable = {row[0] for row in await store.db.fetchall("SELECT external_id FROM users WHERE unreachable = 1")}
    assert unreachable == {"c5", "c17", "c199"}
    count = await store.audiences.count(Audience("channel", "fake"), clock())
    assert (count.reachable, count.unreachable) == (237, 3)


async def test_pacing_keeps_to_the_configured_rate_and_reaches_it(
        store: Store, clock: FakeClock, platform: FakePlatform, sender: PlatformSender) -> None:
    await queue(store, clock, [f"c{n}" for n in range(100)])
    pacing = Pacing(rate=50)
    worker = OutboxWorker(store, sender, clock=clock, pacing=pacing, idle_seconds=0.05)
    await asyncio.wait_for(run_until_drained(worker, store), 30)
    times = [r.at for r in platform.received]
    assert len(times) == 100
    assert busiest_second(times) <= pacing.rate + 1  # one for the jitter between sending and arriving
    achieved = (len(times) - 1) / (max(times) - min(times))
    assert pacing.rate * 0.8 <= achieved <= pacing.rate * 1.02


async def test_a_429_pauses_the_channel_for_retry_after_then_resumes_in_order(
        store: Store, clock: FakeClock, platform: FakePlatform, sender: PlatformSender) -> None:
    ids = await queue(store, clock, [f"c{n}" for n in range(30)])
    platform.allowed_rate, platform.retry_after = 15, 0.25
    worker = OutboxWorker(store, sender, clock=clock, pacing=Pacing(rate=60, concurrency=1))
    await drain(worker, store)
    assert platform.ids() == ids, "every message once, in the order queued"
    assert platform.refused_429
    accepted = [r.at for r in platform.received]
    for refused_at in platform.refused_429:
        following = [t for t in accepted if t > refused_at]
        assert not following or following[0] - refused_at >= 0.25 - 0.01, "nothing sent during the pause"
    rows = await store.db.fetchall("SELECT attempts FROM outbox")
    assert {row[0] for row in rows} == {1}, "waiting out a 429 is not a failed attempt"


async def test_5xx_is_retried_with_backoff_and_jitter_then_failed_with_the_reason(
        store: Store, clock: FakeClock, platform: FakePlatform, sender: PlatformSender) -> None:
    flaky, broken, fine = await queue(store, clock, ["a", "b", "c"])
    platform.fail_times = {flaky: 2, broken: 99}
    worker = OutboxWorker(store, sender, clock=clock, max_attempts=4)
    started = clock()
    await worker.drain_once()
    waits = {row[0]: from_db(row[1]) - started for row in await store.db.fetchall(
        "SELECT id, not_before FROM outbox WHERE state = 'pending'")}
    assert set(waits) == {flaky, broken}
    assert all(timedelta(seconds=1.6) <= wait <= timedelta(seconds=2.4) for wait in waits.values())
    await drain(worker, store, clock)
    rows = {row[0]: row for row in await store.db.fetchall("SELECT id, state, attempts, last_error FROM outbox")}
    assert rows[flaky]["state"] == "sent" and rows[flaky]["attempts"] == 3 and rows[flaky]["last_error"] is None
    assert rows[broken]["state"] == "failed" and rows[broken]["attempts"] == 4
    assert rows[broken]["last_error"] == "HTTP 502"
    assert rows[fine]["state"] == "sent" and rows[fine]["attempts"] == 1
    assert Counter(platform.ids()) == Counter({flaky: 1, fine: 1})


async def test_blips_on_a_healthy_channel_are_retried_within_a_second_and_an_outage_backs_off(
        store: Store, clock: FakeClock, platform: FakePlatform, sender: PlatformSender) -> None:
    healthy = await queue(store, clock, [f"h{n}" for n in range(100)])
    platform.fail_times = {healthy[70]: 4}  # one message meets four blips in a row
    worker = OutboxWorker(store, sender, clock=clock, pacing=Pacing(rate=1000))  # one batch of 100
    for attempt, (low, high) in enumerate([(0.08, 0.12), (0.16, 0.24), (0.32, 0.48), (12.8, 19.2)], start=1):
        started = clock()
        await worker.drain_once()
        row = await store.db.fetchone("SELECT state, attempts, not_before FROM outbox WHERE id = ?", (healthy[70],))
        assert row["state"] == "pending" and row["attempts"] == attempt
        assert timedelta(seconds=low) <= from_db(row["not_before"]) - started <= timedelta(seconds=high), attempt
        if attempt < 4:
            clock.advance(seconds=high)
    clock.advance(seconds=19.2)
    await worker.drain_once()
    assert Counter(platform.ids())[healthy[70]] == 1, "delivered on the fifth attempt, once"
    started = clock()

    outage = await queue(store, clock, [f"o{n}" for n in range(100)])
    platform.fail_times = {message_id: 1 for message_id in outage[:20]}  # a fifth fail: not a blip
    await worker.drain_once()
    waits = [from_db(row[0]) - started for row in await store.db.fetchall(
        "SELECT not_before FROM outbox WHERE state = 'pending' AND external_id LIKE 'o%'")]
    assert len(waits) == 20
    assert all(timedelta(seconds=1.6) <= wait <= timedelta(seconds=2.4) for wait in waits)


async def test_an_idle_worker_sends_a_retry_when_it_comes_due_and_a_refusal_does_not_hold_the_chat(
        store: Store, platform: FakePlatform, sender: PlatformSender) -> None:
    """The production loop with nothing else to send: the blip's retry goes about 0.1 s after the refusal
    (plus at most one record interval), not after the idle tick, and a 502 starts no per-chat interval."""
    ids = await queue(store, utc_now, [f"c{n}" for n in range(80)])
    platform.fail_times = {ids[-1]: 1}
    worker = OutboxWorker(store, sender, pacing=Pacing(rate=400, chat_interval=1.0), idle_seconds=1.0)
    await asyncio.wait_for(run_until_drained(worker, store), 30)
    assert sorted(platform.ids()) == ids, "each once"
    *others, retried = platform.received
    assert retried.outbox_id == ids[-1]
    assert retried.at - max(r.at for r in others) < 0.5


async def test_a_message_sent_outside_the_line_uses_the_rate_and_the_line_makes_room() -> None:
    bucket = TokenBucket(40)
    started = time.monotonic()
    for _reply in range(20):                   # direct replies: counted, never kept waiting
        bucket.spend()
    assert time.monotonic() - started < 0.01
    taken = []
    for _message in range(40):
        await bucket.take()
        taken.append(time.monotonic())
    assert sum(1 for moment in taken if moment - started < 1.0) <= 20 + 1, "the rate held 20 for the replies"
    assert taken[-1] - started < 2.2


async def test_replies_far_above_the_rate_hold_the_line_for_at_most_a_second_after_them() -> None:
    bucket = TokenBucket(30)
    for _reply in range(300):                  # ten seconds' worth of replies at once (a burst of button presses)
        bucket.spend()
    started = time.monotonic()
    await bucket.take()
    assert time.monotonic() - started < 1.2, "the platform counts the last second, not the last ten"


def test_sends_in_flight_cover_a_50_ms_round_trip_at_the_configured_rate() -> None:
    assert Pacing(rate=1000).concurrency == 50
    assert Pacing(rate=25).concurrency == 16, "at least 16"
    assert Pacing(rate=1000, concurrency=4).concurrency == 4, "as configured"


async def test_a_network_error_is_retried_not_lost(store: Store, clock: FakeClock) -> None:
    (message_id,) = await queue(store, clock, ["a"])
    dead = PlatformSender("http://127.0.0.1:9")  # nothing listens on the discard port
    worker = OutboxWorker(store, dead, clock=clock)
    try:
        await worker.drain_once()
    finally:
        await dead.close()
    row = await store.db.fetchone("SELECT state, attempts, last_error FROM outbox WHERE id = ?", (message_id,))
    assert row is not None and row["state"] == "pending" and row["attempts"] == 1
    assert row["last_error"] == "ClientConnectorError"


async def test_replies_go_ahead_of_a_running_broadcast(
        store: Store, clock: FakeClock, platform: FakePlatform, sender: PlatformSender) -> None:
    bulk = await queue(store, clock, [f"c{n}" for n in range(30)])
    worker = OutboxWorker(store, sender, clock=clock, pacing=Pacing(rate=20))  # batches of 10
    await worker.drain_once()
    (reply,) = await queue(store, clock, ["talking"], priority=PRIORITY_REPLY)
    await worker.drain_once()
    assert platform.ids()[:11] == bulk[:10] + [reply]


async def test_a_claim_takes_the_most_urgent_then_the_oldest_queued_whatever_their_retry_times(
        store: Store, clock: FakeClock) -> None:
    first, second, third = await queue(store, clock, ["a", "b", "c"])
    (reply,) = await queue(store, clock, ["talking"], priority=PRIORITY_REPLY)
    assert [m.id for m in await store.outbox.claim("fake", 1, clock())] == [reply]
    assert [m.id for m in await store.outbox.claim("fake", 1, clock())] == [first]
    await store.outbox.retry_later(first, clock() + timedelta(minutes=1), "HTTP 502")
    clock.advance(minutes=2)
    assert [m.id for m in await store.outbox.claim("fake", 10, clock())] == [first, second, third], (
        "a retried row keeps its place in the queue once due")


async def test_one_chat_gets_one_message_at_a_time_and_no_faster_than_its_interval(
        store: Store, clock: FakeClock, platform: FakePlatform, sender: PlatformSender) -> None:
    ids = await queue(store, utc_now, ["same", "x", "same", "y", "same"])
    worker = OutboxWorker(store, sender, pacing=Pacing(rate=100, chat_interval=0.3))  # real clock: held rows wait
    await drain(worker, store)
    same = [r for r in platform.received if r.chat == "same"]
    assert [r.outbox_id for r in same] == [ids[0], ids[2], ids[4]], "one chat's messages keep their order"
    assert all(later.at - earlier.at >= 0.3 - 0.02 for earlier, later in zip(same, same[1:], strict=False))
    assert sorted(platform.ids()) == ids
    attempts = {row[0] for row in await store.db.fetchall("SELECT attempts FROM outbox")}
    assert attempts == {1}, "being held for the chat's interval is not an attempt"


async def test_messages_with_a_photo_keep_to_the_media_rate(
        store: Store, clock: FakeClock, platform: FakePlatform, sender: PlatformSender) -> None:
    await queue(store, clock, [f"p{n}" for n in range(7)], body=PHOTO)
    await queue(store, clock, [f"t{n}" for n in range(7)])
    worker = OutboxWorker(store, sender, clock=clock, pacing=Pacing(rate=100, media_rate=5))
    await drain(worker, store)
    photos = sorted(r.at for r in platform.received if r.chat.startswith("p"))
    assert len(photos) == 7
    assert busiest_second(photos) <= 5 + 1
    assert photos[-1] - photos[0] >= (7 - 1 - worker.media_bucket.capacity) / 5 * 0.95  # type: ignore[union-attr]
    texts = sorted(r.at for r in platform.received if r.chat.startswith("t"))
    assert texts[-1] - texts[0] < 0.2, "text messages are not held back by the media rate"


async def test_cancel_stops_what_has_not_gone_out_and_a_failed_in_flight_row_stays_cancelled(
        store: Store, clock: FakeClock, platform: FakePlatform, sender: PlatformSender) -> None:
    await queue(store, clock, [f"c{n}" for n in range(30)], group_id="broadcast:1")
    worker = OutboxWorker(store, sender, clock=clock, pacing=Pacing(rate=20))
    await worker.drain_once()
    in_flight = await store.outbox.claim("fake", 1, clock())
    assert await store.outbox.cancel_group("broadcast:1") == 20
    await worker.record(in_flight[0], SendResult("retry", error="HTTP 503"))
    await drain(worker, store, clock)
    assert len(platform.received) == 10
    assert await store.outbox.counts("broadcast:1") == {"sent": 10, "cancelled": 20}


async def test_a_cancel_stops_the_rows_the_running_worker_already_claimed(
        store: Store, platform: FakePlatform, sender: PlatformSender) -> None:
    """The worker holds up to a second of claimed rows ahead; a cancel must stop them too, not only the queue."""
    ids = await queue(store, utc_now, [f"c{n}" for n in range(600)], group_id="broadcast:1")
    worker = OutboxWorker(store, sender, pacing=Pacing(rate=200))   # claims 100 at a time, 16 sends in flight
    running = asyncio.create_task(worker.run())
    async with asyncio.timeout(10):
        while len(platform.received) < 40:
            await asyncio.sleep(0.005)
    claimed = await store.db.fetchval("SELECT COUNT(*) FROM outbox WHERE state = 'sending'")
    async with store.transaction():                                 # as the official's turn does
        stopped = await store.outbox.cancel_group("broadcast:1")
        reached = len(platform.received)
    await asyncio.sleep(0.3)
    worker.stop()
    await asyncio.wait_for(running, 5)

    assert claimed >= 60, "the worker had rows claimed ahead when the cancel came"
    assert len(platform.received) - reached <= worker.pacing.concurrency, "only sends already on the wire went"
    counts = await store.outbox.counts("broadcast:1")
    assert counts == {"sent": len(platform.received), "cancelled": 600 - len(platform.received)}
    assert stopped >= 600 - len(platform.received)
    assert sorted(platform.ids()) == ids[:len(platform.received)]     # in order, none twice


async def test_recovery_after_a_crash_requeues_only_its_own_channel(store: Store, clock: FakeClock) -> None:
    await store.outbox.enqueue([NewMessage(None, "fake", "a", "k", TEXT), NewMessage(None, "other", "b", "k", TEXT)],
                               clock())
    await store.outbox.claim("fake", 10, clock())
    await store.outbox.claim("other", 10, clock())
    assert await store.outbox.recover_in_flight("fake") == 1
    assert await store.outbox.counts() == {"pending": 1, "sending": 1}


async def test_kill_9_mid_drain_loses_nothing_and_repeats_only_the_batch_in_flight(
        tmp_path: Path, platform: FakePlatform) -> None:
    """A real process drains the outbox over HTTP; SIGKILL it half way, start it again, count."""
    db_path = tmp_path / "crash.sqlite3"
    store = await open_store(db_path)
    ids = await queue(store, utc_now, [f"c{n}" for n in range(400)])
    await store.close()
    platform.latency = 0.002
    command = [sys.executable, "-m", "tests.outbox_drain", str(db_path), platform.url, "--rate", "200"]

    first = await asyncio.create_subprocess_exec(*command, cwd=ROOT)
    try:
        await asyncio.wait_for(platform.wait_received(150), 20)
    finally:
        os.kill(first.pid, signal.SIGKILL)
    assert await first.wait() == -signal.SIGKILL
    received_before_crash = len(platform.received)

    store = await open_store(db_path)
    in_flight = {row[0] for row in await store.db.fetchall("SELECT id FROM outbox WHERE state = 'sending'")}
    await store.close()
    pacing = Pacing(rate=200)
    at_most = 2 * pacing.batch_size + pacing.concurrency + pacing.rate * pacing.record_seconds
    assert 0 < len(in_flight) <= at_most, "only what was claimed ahead, in flight, or not yet recorded"

    second = await asyncio.create_subprocess_exec(*command, cwd=ROOT)
    try:
        assert await asyncio.wait_for(second.wait(), 30) == 0
    finally:
        if second.returncode is None:
            second.kill()

    delivered = Counter(platform.ids())
    assert set(delivered) == set(ids), "nothing lost"
    doubled = {message_id for message_id, times in delivered.items() if times > 1}
    assert doubled <= in_flight, "only messages in flight at the crash may go twice"
    assert max(delivered.values()) <= 2
    assert received_before_crash < len(ids)
    store = await open_store(db_path)
    try:
        assert await store.outbox.counts() == {"sent": 400}
        assert await store.db.fetchval("PRAGMA integrity_check") == "ok"
    finally:
        await store.close()
