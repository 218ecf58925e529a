"""Delivers the outbox: one worker per channel claims due rows, paces them to what the platform allows,
and records each outcome.

A channel's sender turns a platform answer into a `SendResult`; the worker alone decides what happens to
the row, so every channel behaves alike:
- sent: recorded; a pushed message with options (a poll) becomes what a typed number answers for a
  person at the menu (`Conversations.offer_options`), so "2" on WhatsApp picks its second option.
- retry with `retry_after` (429): the whole channel pauses that long, then the same message goes again in
  its place, so nothing is lost or reordered.
- retry without it (5xx, network error, a sender that raised): back to the queue with exponential backoff
  and jitter; after `max_attempts`, `failed` with the reason. The first failures of a message while the channel
  is otherwise healthy (at most 5% of its last 200 sends failed) are blips, not an outage: they are tried again
  after 0.1, 0.2 and 0.4 s instead of 2, 4 and 8, so the last blips of a broadcast (a message meeting two of
  them is a few in 100,000 at 1% of 5xx) do not leave it idling seconds at the end.
- final (403 blocked, chat not found, 63016, unsubscribed): finished in the given state; `unreachable`
  marks the person unreachable on that channel so no later send is tried.

Pacing: a token bucket for the channel's overall rate (capped by a sliding window, so a platform counting
in a sliding second never sees more than the rate), a second one for messages with media (WhatsApp allows
fewer), at most one message per chat queued or in flight (so one person's messages keep their order) and
a minimum interval between two messages that reach one chat (Telegram: 1 s).

`run` overlaps the three stages so sending never waits on SQLite: it claims about half a second of
sending ahead, most urgent first (a reply queued behind a broadcast waits about that long), and records
outcomes every `record_seconds` in one transaction. With nothing due it sleeps until the rows it put back
itself (retries, held chats) come due, or `idle_seconds`, or a `wake`. A claimed row has its attempt counted
before it is sent; a crash leaves the claimed-but-unrecorded rows in `sending`, and the next start sends them
again: duplicates can only come from those, and nothing is ever lost.
Before sending, the worker looks at the recipients again: someone who opted out or became unreachable
after the row was queued gets nothing (the row ends `cancelled`), except a direct reply a channel deferred.
A cancelled broadcast stops at once: after a cancel, the rows the worker holds are looked at again the moment
before each send, so only the sends already on the wire go.
"""

from __future__ import annotations

import asyncio
import heapq
import logging
import math
import random
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Literal, Protocol

from handlers import menu
from handlers.types import replies_from_json
from storage.clock import utc_now
from storage.db import Store
from storage.outbox import KIND_REPLY, OutboxMessage, backoff

if TYPE_CHECKING:
    from bot.config import Settings

log = logging.getLogger("sinergi.outbox")

Outcome = Literal["sent", "retry", "final"]

# Where a person is "at the menu", so a pushed message's options may become what their typed number means.
IDLE_STATES = (menu.MAIN, menu.OFFICIAL)
ROUND_TRIP_SECONDS = 0.05     # the platform round trip the sends in flight cover by default (see Pacing)
HEALTH_WINDOW = 200           # the last sends a channel's health is judged on …
HEALTHY_FAILURE_SHARE = 0.05  # … healthy while at most this share of them failed (5xx, network)
BLIP_RETRY_SECONDS = 0.1      # when a first failure on a healthy channel is tried again (AWS's, Google's SDKs) …
BLIP_ATTEMPTS = 3             # … doubling for each of a message's first failures; then the usual backoff
DUE_MARGIN = 0.005            # an idle feeder looks again this long after a put-back row comes due


@dataclass(frozen=True)
class SendResult:
    outcome: Outcome
    provider_message_id: str | None = None
    retry_after: float | None = None      # seconds the platform asked us to wait (429)
    error: str | None = None
    unreachable: bool = False             # blocked / deactivated / chat not found: stop sending to them
    state: str = "failed"                 # final state: failed | needs_template | cancelled

    @classmethod
    def sent(cls, provider_message_id: str | None = None) -> SendResult:
        return cls("sent", provider_message_id=provider_message_id)


class Sender(Protocol):
    """A channel's delivery. It may also have `async def prepare(messages)`: called with each claimed batch
    before its messages are sent, to read what the sends need in one query instead of one each."""

    channel: str

    async def send(self, message: OutboxMessage) -> SendResult: ...


@dataclass(frozen=True)
class Pacing:
    """How fast one channel may send."""

    rate: float = 25.0                    # messages per second, overall
    media_rate: float | None = None       # messages per second for those carrying a photo (WhatsApp: 1.5)
    chat_interval: float = 0.0            # seconds between two messages to one chat (Telegram: 1.0)
    concurrency: int = 0                  # sends in flight, so the platform's round trip does not cap the rate;
                                          # 0: enough for a 50 ms round trip at `rate`, at least 16
    burst: float | None = None            # sends saved up to make up for delays; default 50 ms' worth
    batch_seconds: float = 0.5            # how much sending one claimed batch holds
    record_seconds: float = 0.2           # how often outcomes are written (one transaction each time)

    def __post_init__(self) -> None:
        if self.concurrency <= 0:  # 16 in flight capped 1,000/s at a 16 ms round trip (benchmarks/RESULTS.md)
            object.__setattr__(self, "concurrency", max(16, math.ceil(self.rate * ROUND_TRIP_SECONDS)))

    @property
    def batch_size(self) -> int:
        return max(1, math.ceil(self.rate * self.batch_seconds))


def pacing_for(channel: str, settings: Settings) -> Pacing:
    """The configured limits of a channel (TELEGRAM_SEND_RATE, WHATSAPP_SEND_RATE, …)."""
    if channel == "telegram":
        return Pacing(rate=settings.telegram_send_rate, chat_interval=1.0 / settings.telegram_chat_send_rate)
    if channel == "whatsapp":
        return Pacing(rate=settings.whatsapp_send_rate, media_rate=settings.whatsapp_media_send_rate)
    return Pacing()


class TokenBucket:
    """`rate` takes a second on average; `pause` stops every taker for a while (a 429).

    Two rules together: a token bucket that saves up to `capacity` takes (50 ms' worth, at least 2), so a
    send delayed by a busy CPU is made up for at once, but never in a burst that a platform would see as
    one; and a sliding window that never allows more than `rate` takes in any second (a platform counts
    like that), so the rate can be set close to the platform's limit.
    Takers are served in arrival order (an asyncio.Lock is fair), so pacing never reorders sends.
    """

    def __init__(self, rate: float, capacity: float | None = None,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = rate
        self.capacity = capacity if capacity is not None else max(2.0, rate / 20)
        self.window_takes = max(2, math.floor(rate))       # at most this many takes …
        self.window_seconds = self.window_takes / rate     # … in any window this long (1 s from 2/s up)
        self._monotonic = monotonic
        self._tokens = 0.0                # no burst at start: the platform may still count our last run
        self._updated = monotonic()
        self._recent: deque[float] = deque()
        self._paused_until = 0.0
        self._lock = asyncio.Lock()

    async def take(self) -> None:
        async with self._lock:
            while True:
                now = self._monotonic()
                if now < self._paused_until:
                    await asyncio.sleep(self._paused_until - now)
                    continue
                self._tokens = min(self.capacity, self._tokens + (now - self._updated) * self.rate)
                self._updated = now
                while self._recent and now - self._recent[0] >= self.window_seconds:
                    self._recent.popleft()
                window_full = len(self._recent) >= self.window_takes
                if self._tokens >= 1 and not window_full:
                    self._tokens -= 1
                    self._recent.append(now)
                    return
                wait_token = (1 - self._tokens) / self.rate if self._tokens < 1 else 0.0
                wait_window = self._recent[0] + self.window_seconds - now if window_full else 0.0
                await asyncio.sleep(max(wait_token, wait_window))

    def spend(self) -> None:
        """Count a message sent without waiting in line (a direct reply: someone is waiting for it). It uses the
        rate all the same, so the takers in line leave room for it instead of the platform answering 429.

        The debt is capped at one window's worth: the platform counts the last second, so replies above the rate
        for a while must not hold the line for longer than that once they stop.
        """
        now = self._monotonic()
        tokens = min(self.capacity, self._tokens + max(0.0, now - self._updated) * self.rate) - 1
        self._tokens = max(-float(self.window_takes), tokens)
        self._updated = max(self._updated, now)
        recent = self._recent
        while recent and now - recent[0] >= self.window_seconds:
            recent.popleft()
        recent.append(now)

    def pause(self, seconds: float) -> None:
        """Send nothing for `seconds`, then start again from an empty bucket (no burst right after a 429)."""
        until = self._monotonic() + max(0.0, seconds)
        if until > self._paused_until:
            self._paused_until = until
            self._tokens = 0.0
            self._updated = until


class OutboxWorker:
    def __init__(self, store: Store, sender: Sender, batch_size: int | None = None, max_attempts: int = 6,
                 idle_seconds: float = 1.0, clock: Callable[[], datetime] = utc_now,
                 pacing: Pacing | None = None, conversation_timeout: timedelta = timedelta(minutes=30),
                 max_pauses: int = 5) -> None:
        self.store = store
        self.sender = sender
        self.pacing = pacing or Pacing()
        self.batch_size = batch_size or self.pacing.batch_size
        self.max_attempts = max_attempts
        self.idle_seconds = idle_seconds
        self.clock = clock
        self.conversation_timeout = conversation_timeout
        self.max_pauses = max_pauses
        self.bucket = TokenBucket(self.pacing.rate, self.pacing.burst)
        self.media_bucket = TokenBucket(self.pacing.media_rate) if self.pacing.media_rate else None
        self._chat_free_at: dict[str, float] = {}   # external id -> monotonic time its next message may go
        self._busy_chats: set[str] = set()          # chats with a message queued or in flight
        self._recent_failures: deque[bool] = deque(maxlen=HEALTH_WINDOW)  # per send: did it fail (5xx, network)?
        self._put_back: list[float] = []            # heap: monotonic times rows this worker put back come due
        self._claimed: set[int] = set()             # ids admitted and not yet sent (queued, or waiting to send)
        self._cancelled: set[int] = set()           # of them, rows a cancel reached: dropped before sending
        self._cancels_seen = store.outbox.cancels
        self._cancel_check: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._stopped = False

    def wake(self) -> None:
        """Something was just queued: look now instead of at the next idle tick."""
        self._wake.set()

    def stop(self) -> None:
        self._stopped = True
        self._wake.set()

    async def run(self) -> None:
        """Deliver until stopped. Claiming, sending and recording overlap, so sending never waits on SQLite:
        a feeder keeps about one batch queued ahead, `concurrency` senders take from the queue in order
        (each waiting for the channel's bucket), and outcomes are written every `record_seconds`.
        """
        await self.store.outbox.recover_in_flight(self.sender.channel)
        queue: asyncio.Queue[OutboxMessage] = asyncio.Queue()
        done: list[tuple[OutboxMessage, SendResult]] = []
        senders = [asyncio.create_task(self._send_from(queue, done)) for _ in range(self.pacing.concurrency)]
        recorder = asyncio.create_task(self._record_every(done))
        try:
            await self._feed(queue)
            await queue.join()
        finally:
            for task in (*senders, recorder):
                task.cancel()
            await asyncio.gather(*senders, recorder, return_exceptions=True)
            await self._flush(done)

    async def _feed(self, queue: asyncio.Queue[OutboxMessage]) -> None:
        while not self._stopped:
            if queue.qsize() >= self.batch_size:
                await asyncio.sleep(self.pacing.batch_seconds / 2)
                continue
            try:
                batch = await self.store.outbox.claim(self.sender.channel, self.batch_size, self.clock())
                for message in await self._admit(batch):
                    queue.put_nowait(message)
            except Exception:
                log.exception("outbox worker %s failed to claim", self.sender.channel)
                batch = []
            if not batch:
                self._wake.clear()
                try:
                    await asyncio.wait_for(self._wake.wait(), timeout=self._idle_wait())
                except TimeoutError:
                    pass

    def _idle_wait(self) -> float:
        """Until the next row this worker put back comes due (a little after, so the app's clock agrees), at
        most `idle_seconds`. Rows due before the claim that just came back empty were in it: forgotten."""
        now = time.monotonic()
        while self._put_back and self._put_back[0] < now - DUE_MARGIN:
            heapq.heappop(self._put_back)
        if not self._put_back:
            return self.idle_seconds
        return min(self.idle_seconds, max(0.0, self._put_back[0] - now) + DUE_MARGIN)

    def _put_back_until(self, seconds: float) -> None:
        """A row this worker put back comes due in `seconds`: an idle feeder wakes up then, not later."""
        now = time.monotonic()
        if len(self._put_back) > 10 * self.batch_size:  # a busy feeder never idles to forget them
            self._put_back = [due for due in self._put_back if due > now]
            heapq.heapify(self._put_back)
        due = now + seconds
        heapq.heappush(self._put_back, due)
        if self._put_back[0] == due:
            self._wake.set()  # an idle feeder computes its wait again

    async def _send_from(self, queue: asyncio.Queue[OutboxMessage], done: list[tuple[OutboxMessage, SendResult]]
                         ) -> None:
        while True:
            message = await queue.get()
            try:
                done.append((message, await self.send(message)))
            finally:
                queue.task_done()

    async def _record_every(self, done: list[tuple[OutboxMessage, SendResult]]) -> None:
        while True:
            await asyncio.sleep(self.pacing.record_seconds)
            await self._flush(done)

    async def _flush(self, done: list[tuple[OutboxMessage, SendResult]]) -> None:
        """Record what was sent so far; if SQLite refuses, keep it for the next try (never drop an outcome).

        Shielded: a worker stopped in the middle of recording still finishes that transaction.
        """
        if not done:
            return
        batch = done[:]
        del done[:len(batch)]
        try:
            await asyncio.shield(self.record_all(batch))
        except Exception:
            log.exception("outbox worker %s failed to record %d outcomes", self.sender.channel, len(batch))
            done[:0] = batch

    async def drain_once(self) -> int:
        """Claim one batch, send it at the channel's pace, record every outcome; returns how many were claimed."""
        batch = await self.store.outbox.claim(self.sender.channel, self.batch_size, self.clock())
        if not batch:
            return 0
        ready = await self._admit(batch)
        semaphore = asyncio.Semaphore(self.pacing.concurrency)

        async def paced(message: OutboxMessage) -> tuple[OutboxMessage, SendResult]:
            async with semaphore:
                return message, await self.send(message)

        results = await asyncio.gather(*(paced(message) for message in ready))
        await self.record_all(list(results))
        return len(batch)

    async def send(self, message: OutboxMessage) -> SendResult:
        """Send at the channel's pace; a 429 pauses the channel and the same message goes again after it."""
        try:
            return await self._send_paced(message)
        finally:
            self._busy_chats.discard(message.external_id)
            self._claimed.discard(message.id)
            self._cancelled.discard(message.id)

    async def _was_cancelled(self, message: OutboxMessage) -> bool:
        """Whether a cancel (a broadcast stopped by an official) reached this row since it was claimed.

        Looked at the moment before sending: the worker holds up to a second of claimed rows, and a cancel
        should stop them too. One query over every row held, only after a cancel in this process; the sends
        already on the wire go (the cancel said so: they are recorded as sent).
        """
        while True:
            cancels = self.store.outbox.cancels
            if cancels != self._cancels_seen:  # (again, if another cancel came while we waited)
                self._cancels_seen = cancels
                self._cancel_check = asyncio.create_task(self._look_for_cancelled(sorted(self._claimed)))
            check = self._cancel_check
            if check is None or check.done():
                return message.id in self._cancelled
            await asyncio.shield(check)  # every sender waits for the answer, not only the first

    async def _look_for_cancelled(self, ids: list[int]) -> None:
        try:
            found = await self.store.outbox.cancelled_among(ids)
        except Exception:  # only a shortcut: the rows still go, as they would have without it
            log.exception("outbox worker %s could not look for cancelled rows", self.sender.channel)
            return
        self._cancelled |= found & self._claimed  # rows sent meanwhile are done with: an id is never kept

    async def _send_paced(self, message: OutboxMessage) -> SendResult:
        for pauses in range(self.max_pauses + 1):
            if await self._was_cancelled(message):  # before the wait for a token: a dropped row takes none …
                return _CANCELLED
            await self.bucket.take()
            if self.media_bucket is not None and _has_media(message):
                await self.media_bucket.take()
            if await self._was_cancelled(message):  # … and after it, the last moment before sending
                return _CANCELLED
            result = await self._send_once(message)
            self._recent_failures.append(result.outcome == "retry" and result.retry_after is None)
            if result.outcome != "retry" or result.retry_after is None or pauses == self.max_pauses:
                break
            log.info("outbox %s rate limited: pausing %.2fs", self.sender.channel, result.retry_after)
            self.bucket.pause(result.retry_after)
            if self.media_bucket is not None:
                self.media_bucket.pause(result.retry_after)
        if self.pacing.chat_interval and result.outcome == "sent":  # a refused message did not reach the chat
            self._chat_free_at[message.external_id] = time.monotonic() + self.pacing.chat_interval
        return result

    async def _send_once(self, message: OutboxMessage) -> SendResult:
        try:
            return await self.sender.send(message)
        except Exception as error:  # a bug or an unexpected transport error: retry, never lose the row
            log.exception("sender %s raised on outbox id=%s", self.sender.channel, message.id)
            return SendResult("retry", error=type(error).__name__)

    async def _admit(self, batch: list[OutboxMessage]) -> list[OutboxMessage]:
        """One message per chat queued or in flight, and the per-chat interval; the rest go back to wait."""
        if not batch:
            return []
        now, mono = self.clock(), time.monotonic()
        if len(self._chat_free_at) > 10 * self.batch_size:
            self._chat_free_at = {chat: t for chat, t in self._chat_free_at.items() if t > mono}
        ready, held = [], []
        for message in batch:
            chat = message.external_id
            free_at = self._chat_free_at.get(chat, 0.0)
            if chat in self._busy_chats:
                held.append((message.id, max(self.pacing.batch_seconds, free_at - mono)))
            elif free_at > mono:
                held.append((message.id, free_at - mono))
            else:
                self._busy_chats.add(chat)
                self._claimed.add(message.id)
                ready.append(message)
        if held:
            await self.store.outbox.release([(message_id, now + timedelta(seconds=wait)) for message_id, wait in held])
            self._put_back_until(min(wait for _id, wait in held))
        ready = await self._refuse_unwilling(ready)
        prepare = getattr(self.sender, "prepare", None)
        if ready and prepare is not None:
            try:
                await prepare(ready)
            except Exception:  # only a shortcut: the sends still work without it, and the rows are claimed
                log.exception("sender %s could not prepare a batch", self.sender.channel)
        return ready

    async def _refuse_unwilling(self, ready: list[OutboxMessage]) -> list[OutboxMessage]:
        """Cancel rows for people who opted out or became unreachable after they were queued (one query a
        batch); a direct reply a channel deferred still goes, since they wrote to us and wait for it."""
        ids = {m.external_id for m in ready if m.kind != KIND_REPLY}
        unwilling = await self.store.users.unwilling(self.sender.channel, ids) if ids else {}
        if not unwilling:
            return ready
        refused = [m for m in ready if m.kind != KIND_REPLY and m.external_id in unwilling]
        for message in refused:
            self._busy_chats.discard(message.external_id)
            self._claimed.discard(message.id)
        await self.record_all([(m, SendResult("final", error=unwilling[m.external_id], state="cancelled"))
                               for m in refused])
        return [m for m in ready if m not in refused]

    async def record(self, message: OutboxMessage, result: SendResult) -> None:
        await self.record_all([(message, result)])

    async def record_all(self, results: list[tuple[OutboxMessage, SendResult]]) -> None:
        """Every outcome of a batch in one transaction."""
        now = self.clock()
        sent = [(m.id, r.provider_message_id) for m, r in results if r.outcome == "sent"]
        offers = [(m.user_id, options) for m, r in results
                  if r.outcome == "sent" and m.user_id is not None and (options := _options_of(m))]
        async with self.store.transaction():
            if sent:
                await self.store.outbox.mark_sent_many(sent, now)
            if offers:
                await self.store.conversations.offer_options(offers, now, IDLE_STATES, now - self.conversation_timeout)
            for message, result in results:
                if result.outcome != "sent":
                    await self._record_unsent(message, result, now)
        if sent:
            log.info("outbox %s sent=%d of batch=%d", self.sender.channel, len(sent), len(results))

    async def _record_unsent(self, message: OutboxMessage, result: SendResult, now: datetime) -> None:
        outbox = self.store.outbox
        if result.outcome == "retry" and message.attempts < self.max_attempts:
            if result.retry_after is not None:
                wait = timedelta(seconds=result.retry_after)
            elif message.attempts <= BLIP_ATTEMPTS and self._healthy():
                wait = timedelta(seconds=BLIP_RETRY_SECONDS * 2 ** (message.attempts - 1)) * random.uniform(0.8, 1.2)
            else:
                wait = backoff(message.attempts) * random.uniform(0.8, 1.2)
            await outbox.retry_later(message.id, now + wait, result.error or "retry")
            self._put_back_until(wait.total_seconds())
            log.info("outbox retry id=%s in %.1fs error=%s", message.id, wait.total_seconds(), result.error)
            return
        state = result.state if result.outcome == "final" else "failed"
        await outbox.finish(message.id, state, result.error or "gave up")
        if result.unreachable:
            await self.store.users.mark_unreachable(message.channel, message.external_id)
        log.log(logging.INFO if state == "cancelled" else logging.WARNING,  # a stopped broadcast: thousands
                "outbox %s id=%s error=%s", state, message.id, result.error)

    def _healthy(self) -> bool:
        """Most recent sends went through: a failure now is a blip of the platform, not an outage."""
        failures = self._recent_failures
        return len(failures) >= HEALTH_WINDOW // 4 and sum(failures) <= HEALTHY_FAILURE_SHARE * len(failures)


_CANCELLED = SendResult("final", error="cancelled before sending", state="cancelled")


def _has_media(message: OutboxMessage) -> bool:
    return any(reply.media for reply in replies_from_json(message.body))


def _options_of(message: OutboxMessage) -> list[list[str]] | None:
    """The options of a pushed message's last reply that has any (a poll), as [[label, payload], …]."""
    if '"options": [[' not in message.body:  # cheap test first: most bulk messages (broadcasts) have none
        return None
    for reply in reversed(replies_from_json(message.body)):
        if reply.options:
            return [[option.label, option.payload] for option in reply.options]
    return None
