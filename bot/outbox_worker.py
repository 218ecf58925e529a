"""Delivers the outbox: one worker per channel claims due rows and records each outcome.

A channel's sender turns a platform answer into a `SendResult`; the worker alone decides what
happens to the row (sent, retried later, or finished with a reason), so every channel behaves alike.
Before sending, the worker looks at the recipient again: someone who opted out or became unreachable
after the row was queued gets nothing (the row ends `cancelled`), except a direct reply a channel deferred.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal, Protocol

from storage.clock import utc_now
from storage.db import Store
from storage.outbox import KIND_REPLY, OutboxMessage, backoff

log = logging.getLogger("sinergi.outbox")

Outcome = Literal["sent", "retry", "final"]


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
    channel: str

    async def send(self, message: OutboxMessage) -> SendResult: ...


class OutboxWorker:
    def __init__(self, store: Store, sender: Sender, batch_size: int = 50, max_attempts: int = 6,
                 idle_seconds: float = 1.0, clock: Callable[[], datetime] = utc_now) -> None:
        self.store = store
        self.sender = sender
        self.batch_size = batch_size
        self.max_attempts = max_attempts
        self.idle_seconds = idle_seconds
        self.clock = clock
        self._wake = asyncio.Event()
        self._stopped = False

    def wake(self) -> None:
        """Something was just queued: look now instead of at the next idle tick."""
        self._wake.set()

    def stop(self) -> None:
        self._stopped = True
        self._wake.set()

    async def run(self) -> None:
        await self.store.outbox.recover_in_flight()
        while not self._stopped:
            try:
                done = await self.drain_once()
            except Exception:
                log.exception("outbox worker %s failed a round", self.sender.channel)
                done = 0
            if done == 0:
                self._wake.clear()
                try:
                    await asyncio.wait_for(self._wake.wait(), timeout=self.idle_seconds)
                except TimeoutError:
                    pass

    async def drain_once(self) -> int:
        """Claim one batch and deliver it; returns how many rows were handled."""
        batch = await self.store.outbox.claim(self.sender.channel, self.batch_size, self.clock())
        for message in batch:
            await self.deliver(message)
        return len(batch)

    async def deliver(self, message: OutboxMessage) -> None:
        refusal = await self._recipient_refusal(message)
        if refusal is not None:
            await self.record(message, SendResult("final", error=refusal, state="cancelled"))
            return
        try:
            result = await self.sender.send(message)
        except Exception as error:  # a bug or an unexpected transport error: retry, never lose the row
            log.exception("sender %s raised on outbox id=%s", self.sender.channel, message.id)
            result = SendResult("retry", error=type(error).__name__)
        await self.record(message, result)

    async def _recipient_refusal(self, message: OutboxMessage) -> str | None:
        """Why the recipient must not get this row now (it was queued before they opted out or blocked us)."""
        if message.kind == KIND_REPLY:  # they wrote to us and wait for this answer
            return None
        user = await self.store.users.find(message.channel, message.external_id)
        if user is None:
            return None
        if user.opted_out:
            return "recipient opted out"
        if user.unreachable:
            return "recipient unreachable"
        return None

    async def record(self, message: OutboxMessage, result: SendResult) -> None:
        now = self.clock()
        outbox = self.store.outbox
        if result.outcome == "sent":
            await outbox.mark_sent(message.id, now, result.provider_message_id)
            log.info("outbox sent id=%s channel=%s kind=%s", message.id, message.channel, message.kind)
        elif result.outcome == "retry" and message.attempts < self.max_attempts:
            wait = (timedelta(seconds=result.retry_after) if result.retry_after is not None
                    else backoff(message.attempts) * random.uniform(0.8, 1.2))
            await outbox.retry_later(message.id, now + wait, result.error or "retry")
            log.info("outbox retry id=%s in %.1fs error=%s", message.id, wait.total_seconds(), result.error)
        else:
            state = result.state if result.outcome == "final" else "failed"
            async with self.store.transaction():
                await outbox.finish(message.id, state, result.error or "gave up")
                if result.unreachable:
                    await self.store.users.mark_unreachable(message.channel, message.external_id)
            log.warning("outbox %s id=%s error=%s", state, message.id, result.error)
